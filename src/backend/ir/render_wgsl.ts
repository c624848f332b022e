/**
 * The WGSL renderer of the kernel IR: a graph becomes a WGSL function
 * `fn <name>(x0: T0, x1: T1, …) -> T` (one `let` per node, in topological
 * order) plus the helper functions and module-scope values it needs. Kernels
 * (`webgpu/kernels_*.ts`) call it with the operands they load and store its
 * result; they own the bindings, uniforms and segment accessors.
 *
 * What the renderer writes out instead of trusting WGSL (which leaves these
 * open or lets adapters get them wrong — llvmpipe's `max` drops NaN, `x / 0`
 * can be 0): IEEE division by zero, NaN-propagating `min`/`max` with
 * `−0 < +0`, `sqrt` of negatives, float → int conversions (XLA's saturating
 * rule, NaN found from the bits, since WGSL lets compilers assume floats are
 * never NaN), and int → float conversions rounded to nearest (two exact
 * halves and one rounding add; WGSL lets `f32(i)` round either way). Float
 * constants that WGSL cannot write as literals without a const-expression
 * error (NaN, ±∞, subnormals, −0) are module-scope `var<private>` bit
 * patterns. Sub-graphs without loads are folded to constants on the host
 * (by the JS renderer, with the same semantics), so no const-expression
 * ever divides by zero or overflows.
 *
 * Guards (`guard` in expr.ts) render as their full arm.
 *
 * `f32` division and `sqrt` inherit the adapter's accuracy (WGSL grants 2.5
 * ulp; llvmpipe rounds correctly). `fma` renders as `fma()` when the kernel
 * option `contractFma` is set, else as `a * b + c` (which a compiler may
 * still contract). `f64` has no WGSL form: such graphs are rejected.
 *
 * @module
 */

import { type Expr, operandTypes, type ScalarType, topoOrder, withoutGuards } from "./expr.ts";
import { compileJsScalar } from "./render_js.ts";

/** Options of the WGSL renderer. @internal */
export interface WgslRenderOptions {
  /** Render `fma` with WGSL's `fma()` (default false: `a * b + c`). */
  readonly contractFma?: boolean;
}

/** A rendered graph: the function and what must precede it in the module. @internal */
export interface WgslFunction {
  /** Helper functions and `var<private>` constants (deduplicate by line when combining). */
  readonly prelude: string;
  /** The function `fn <name>(…) -> T { … }`. */
  readonly fn: string;
  /** The WGSL types of its parameters (`x0, x1, …`). */
  readonly params: readonly string[];
  /** The WGSL type it returns. */
  readonly result: string;
}

/**
 * Helpers by name; a helper's text may call earlier ones. NaN results are
 * made from a run-time value (`… & 0u`), so that no const-expression is NaN.
 */
const HELPERS: Readonly<Record<string, string>> = {
  ir_isnan: `fn ir_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }`,
  ir_div: `fn ir_div(a: f32, b: f32) -> f32 {
  if (b != 0.0) { return a / b; }
  if (a == 0.0 || ir_isnan(a)) { return bitcast<f32>(0x7fc00000u ^ (bitcast<u32>(b) & 0u)); }
  return bitcast<f32>(((bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u) | 0x7f800000u);
}`,
  ir_max: `fn ir_max(a: f32, b: f32) -> f32 {
  if (ir_isnan(a)) { return a; }
  if (ir_isnan(b)) { return b; }
  if (a == b) { return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)); }
  return select(b, a, a > b);
}`,
  ir_min: `fn ir_min(a: f32, b: f32) -> f32 {
  if (ir_isnan(a)) { return a; }
  if (ir_isnan(b)) { return b; }
  if (a == b) { return bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b)); }
  return select(b, a, a < b);
}`,
  ir_ord: `fn ir_ord(a: f32, b: f32) -> bool { return !(ir_isnan(a) || ir_isnan(b)); }`,
  ir_sqrt: `fn ir_sqrt(a: f32) -> f32 {
  let u = bitcast<u32>(a);
  if (u > 0x80000000u) { return bitcast<f32>(0x7fc00000u | (u & 0u)); }
  if ((u & 0x7fffffffu) >= 0x7f800000u) { return a; }
  return sqrt(a);
}`,
  ir_f2i: `fn ir_f2i(a: f32) -> i32 {
  let u = bitcast<u32>(a);
  if ((u & 0x7fffffffu) > 0x7f800000u) { return 0; }
  if (abs(a) < 2147483648.0) { return i32(a); }
  return select(2147483647, -2147483647 - 1, (u & 0x80000000u) != 0u);
}`,
  ir_f2u: `fn ir_f2u(a: f32) -> u32 {
  let u = bitcast<u32>(a);
  if ((u & 0x7fffffffu) > 0x7f800000u || (u & 0x80000000u) != 0u) { return 0u; }
  if (a < 4294967296.0) { return u32(a); }
  return 0xffffffffu;
}`,
  ir_i2f: `fn ir_i2f(a: i32) -> f32 { return f32(a >> 16u) * 65536.0 + f32(a & 0xffff); }`,
  ir_u2f: `fn ir_u2f(a: u32) -> f32 { return f32(a >> 16u) * 65536.0 + f32(a & 0xffffu); }`,
};

/** Helpers each helper calls. */
const HELPER_DEPS: Readonly<Record<string, readonly string[]>> = {
  ir_div: ["ir_isnan"],
  ir_max: ["ir_isnan"],
  ir_min: ["ir_isnan"],
  ir_ord: ["ir_isnan"],
};

/** The WGSL type of a scalar type. @internal */
export function wgslScalar(type: ScalarType): string {
  if (type === "f64") throw new TypeError(`webgpu: the kernel IR has no WGSL form for f64`);
  return type;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Renders graphs to WGSL functions; one instance per module being written. */
class WgslWriter {
  readonly helpers = new Set<string>();
  readonly privates = new Map<number, string>();
  readonly #opts: WgslRenderOptions;
  readonly #constant = new Map<Expr, boolean>();

  constructor(opts: WgslRenderOptions) {
    this.#opts = opts;
  }

  /** Whether `n` depends on no load (folded on the host). */
  isConstant(n: Expr): boolean {
    let c = this.#constant.get(n);
    if (c === undefined) {
      c = n.op !== "load" && n.args.every((a) => this.isConstant(a));
      this.#constant.set(n, c);
    }
    return c;
  }

  need(name: string): string {
    for (const dep of HELPER_DEPS[name] ?? []) this.need(dep);
    this.helpers.add(name);
    return name;
  }

  /** The WGSL text of a constant value of `type`. */
  literal(value: number, type: ScalarType): string {
    switch (type) {
      case "bool":
        return value ? "true" : "false";
      case "u32":
        return `${value >>> 0}u`;
      case "i32":
        return value === -2147483648 ? "i32(-2147483647 - 1)" : `${value | 0}i`;
      default: {
        f32Scratch[0] = value;
        const b = u32Scratch[0];
        const normalOrZero = b === 0 || ((b >>> 23) & 0xff) !== 0 && ((b >>> 23) & 0xff) !== 0xff;
        if (normalOrZero && b !== 0x80000000) return `${String(f32Scratch[0])}f`;
        let name = this.privates.get(b);
        if (name === undefined) {
          name = `ir_k${b.toString(16)}`;
          this.privates.set(b, name);
        }
        return `bitcast<f32>(${name})`;
      }
    }
  }

  /** The WGSL expression of one (non-constant) node over its arguments' names. */
  node(n: Expr, a: readonly string[]): string {
    const t = n.type;
    const from = n.args[0]?.type;
    const infix = (op: string) => `(${a[0]} ${op} ${a[1]})`;
    // Float comparisons also say whether the operands are ordered (from the bits): a shader
    // compiler that takes floats to be numbers inverts `x <= 0` into `!(x > 0)` where a select
    // uses it, which is true for NaN (a fused relu gave 0 for NaN).
    const compare = (op: string) =>
      from === "f32"
        ? op === "!="
          ? `(${infix(op)} || !${this.need("ir_ord")}(${a[0]}, ${a[1]}))`
          : `(${infix(op)} && ${this.need("ir_ord")}(${a[0]}, ${a[1]}))`
        : infix(op);
    // WGSL orders no bools: compare them as 0/1
    const ordered = (op: string) =>
      from === "bool" ? `(select(0u, 1u, ${a[0]}) ${op} select(0u, 1u, ${a[1]}))` : compare(op);
    switch (n.op) {
      case "const":
        return this.literal(n.value, t);
      case "load":
        return `x${n.value}`;
      case "add":
        return infix("+");
      case "sub":
        return infix("-");
      case "mul":
        return infix("*");
      case "div":
        return `${this.need("ir_div")}(${a[0]}, ${a[1]})`;
      case "fma":
        return this.#opts.contractFma
          ? `fma(${a[0]}, ${a[1]}, ${a[2]})`
          : `(${a[0]} * ${a[1]} + ${a[2]})`;
      case "neg":
        return `(-${a[0]})`;
      case "abs":
        return `abs(${a[0]})`;
      case "min":
      case "max":
        return t === "f32"
          ? `${this.need(`ir_${n.op}`)}(${a[0]}, ${a[1]})`
          : `${n.op}(${a[0]}, ${a[1]})`;
      case "sqrt":
        return `${this.need("ir_sqrt")}(${a[0]})`;
      case "floor":
      case "ceil":
      case "trunc":
        return `${n.op}(${a[0]})`;
      case "roundEven":
        return `round(${a[0]})`; // WGSL's round is half to even
      case "eq":
        return compare("==");
      case "ne":
        return compare("!=");
      case "lt":
        return ordered("<");
      case "le":
        return ordered("<=");
      case "gt":
        return ordered(">");
      case "ge":
        return ordered(">=");
      case "select":
        return `select(${a[2]}, ${a[1]}, ${a[0]})`;
      case "guard": // `fn` renders graphs without guards; a guard means its full arm
        return a[2];
      case "and":
        return infix("&&");
      case "or":
        return infix("||");
      case "not":
        return `(!${a[0]})`;
      case "bitAnd":
        return infix("&");
      case "bitOr":
        return infix("|");
      case "bitXor":
        return infix("^");
      case "bitNot":
        return `(~${a[0]})`;
      case "shl":
      case "shr": {
        const amount = t === "u32" ? a[1] : `bitcast<u32>(${a[1]})`;
        return `(${a[0]} ${n.op === "shl" ? "<<" : ">>"} ${amount})`;
      }
      case "bitcast":
        return `bitcast<${t}>(${a[0]})`;
      case "convert":
        return this.convert(from!, t, a[0]);
    }
  }

  /** A conversion (see expr.ts for the rules). */
  convert(from: ScalarType, to: ScalarType, x: string): string {
    wgslScalar(from);
    wgslScalar(to);
    if (to === "bool") {
      return from === "f32" ? `(${x} != 0.0)` : `(${x} != ${this.literal(0, from)})`;
    }
    if (from === "bool") return `select(${this.literal(0, to)}, ${this.literal(1, to)}, ${x})`;
    if (from === "f32") return `${this.need(to === "i32" ? "ir_f2i" : "ir_f2u")}(${x})`;
    if (to === "f32") return `${this.need(from === "i32" ? "ir_i2f" : "ir_u2f")}(${x})`;
    return `bitcast<${to}>(${x})`; // i32 ↔ u32
  }

  /** `fn name(x0: …) -> T { … }` for `root`. */
  fn(name: string, guarded: Expr, params: readonly ScalarType[]): string {
    const root = withoutGuards(guarded); // one arm per element: the full one
    const names = new Map<Expr, string>();
    const lines: string[] = [];
    for (const n of topoOrder([root])) {
      if (this.isConstant(n)) {
        names.set(n, this.literal(n.op === "const" ? n.value : compileJsScalar(n)(), n.type));
        continue;
      }
      const args = n.args.map((x) => names.get(x)!);
      if (n.op === "load") {
        names.set(n, `x${n.value}`);
        continue;
      }
      const v = `v${lines.length}`;
      lines.push(`  let ${v} = ${this.node(n, args)};`);
      names.set(n, v);
    }
    const ps = params.map((t, i) => `x${i}: ${wgslScalar(t)}`).join(", ");
    return `fn ${name}(${ps}) -> ${wgslScalar(root.type)} {
${lines.join("\n")}
  return ${names.get(root)!};
}`;
  }

  /** The helpers and private constants used so far. */
  prelude(): string {
    const order = Object.keys(HELPERS).filter((h) => this.helpers.has(h));
    const privates = [...this.privates].map(([b, name]) => `var<private> ${name}: u32 = ${b}u;`);
    return [...privates, ...order.map((h) => HELPERS[h])].join("\n");
  }
}

/**
 * Renders `root` as a WGSL function `fn name(x0: T0, …) -> T`, operand `i`
 * being parameter `xi` (its type from the graph's loads, or `params[i]`
 * where given, so unused operands keep their place).
 *
 * @param name The function's name.
 * @param root The graph.
 * @param opts Renderer options.
 * @param params The operands' types (default: from the graph's loads).
 * @returns The function, the prelude it needs and its signature.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { renderWgsl } from "./render_wgsl.ts";
 *
 * const x = load(0, "f32");
 * const w = renderWgsl("f", x.mul(2).add(1));
 * console.log(w.fn);
 * // fn f(x0: f32) -> f32 {
 * //   let v0 = (x0 * 2f);
 * //   let v1 = (v0 + 1f);
 * //   return v1;
 * // }
 * ```
 * @internal
 */
export function renderWgsl(
  name: string,
  root: Expr,
  opts: WgslRenderOptions = {},
  params?: readonly ScalarType[],
): WgslFunction {
  const types = params ?? operandTypes([root]).map((t) => t ?? "u32");
  const w = new WgslWriter(opts);
  const fn = w.fn(name, root, types);
  return { prelude: w.prelude(), fn, params: types.map(wgslScalar), result: wgslScalar(root.type) };
}

/**
 * Joins preludes of several rendered functions into one (each helper and
 * constant once).
 *
 * @param preludes The preludes.
 * @returns The merged prelude.
 * @internal
 */
export function mergePreludes(preludes: readonly string[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const p of preludes) {
    // helpers span several lines: split on top-level declarations
    for (const decl of p.split(/\n(?=fn |var<private>)/)) {
      if (decl !== "" && !seen.has(decl)) {
        seen.add(decl);
        out.push(decl);
      }
    }
  }
  return out.join("\n");
}
