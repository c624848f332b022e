/**
 * The JS renderer of the kernel IR: a graph becomes JavaScript source
 * compiled with `new Function`, with exactly the IR's semantics — float32
 * results rounded by `Math.fround` after every operation (correctly rounded:
 * float64 has more than twice float32's precision), integers wrapped with
 * `| 0`, `>>> 0` and `Math.imul`, bit casts through a shared typed-array
 * scratch. It is the reference evaluation of a graph (tests, ulp tables),
 * not a fast path.
 *
 * A fused multiply-add with `contractFma` computes `a·b` exactly in float64
 * and rounds `a·b + c` to float64 and then to float32: a double rounding
 * that can differ from a true fused result in the last bit, rarely. Without
 * it (the default) the product and the sum round separately.
 *
 * A guard (`guard` in expr.ts) is a select of its two arms, both computed:
 * where its condition holds the fast arm's value is taken, so comparing a
 * guarded graph with `withoutGuards` of it tests the guard's promise.
 *
 * @module
 */

import { type Expr, operandTypes, type ScalarType, topoOrder } from "./expr.ts";
import type { TypedArray } from "../../core/dtype.ts";

/** Options of the JS renderer. @internal */
export interface JsRenderOptions {
  /** Round `fma` once (in float64, see the module doc) instead of twice (default false). */
  readonly contractFma?: boolean;
}

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);
const u32 = new Uint32Array(f32.buffer);

/** Rounds half to even (exact for every float). */
function roundEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Float → int with truncation, NaN → 0 and saturation at `[lo, hi]`. */
function saturate(x: number, lo: number, hi: number): number {
  if (x !== x) return 0;
  return x <= lo ? lo : x >= hi ? hi : Math.trunc(x) + 0; // + 0: no −0
}

/** The runtime helpers every rendered function may call. */
const HELPERS = {
  roundEven,
  f2i: (x: number): number => saturate(x, -2147483648, 2147483647),
  f2u: (x: number): number => saturate(x, 0, 4294967295),
  bitsF: (x: number): number => (f32[0] = x, u32[0]),
  bitsI: (x: number): number => (f32[0] = x, i32[0]),
  fromI: (x: number): number => (i32[0] = x, f32[0]),
  fromU: (x: number): number => (u32[0] = x, f32[0]),
};

/** Wraps a JS number expression to the representation of `type`. */
function wrap(type: ScalarType, e: string): string {
  switch (type) {
    case "f32":
      return `F(${e})`;
    case "i32":
      return `(${e}) | 0`;
    case "u32":
      return `(${e}) >>> 0`;
    default:
      return e;
  }
}

/** The JS literal of a constant. */
function literal(value: number, type: ScalarType): string {
  if (type === "bool") return value ? "true" : "false";
  if (Object.is(value, -0)) return "-0";
  if (value !== value) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return String(value);
}

const INFIX: Partial<Record<string, string>> = {
  add: "+",
  sub: "-",
  mul: "*",
  div: "/",
  eq: "===",
  ne: "!==",
  lt: "<",
  le: "<=",
  gt: ">",
  ge: ">=",
  and: "&&",
  or: "||",
  bitAnd: "&",
  bitOr: "|",
  bitXor: "^",
  shl: "<<",
};

/** The JS expression of one node over its arguments' names. */
function nodeJs(n: Expr, a: readonly string[], opts: JsRenderOptions): string {
  const t = n.type;
  const from = n.args[0]?.type;
  switch (n.op) {
    case "const":
      return literal(n.value, t);
    case "load":
      return `x${n.value}`;
    case "mul":
      if (t === "i32") return `Math.imul(${a[0]}, ${a[1]})`;
      if (t === "u32") return `Math.imul(${a[0]}, ${a[1]}) >>> 0`;
      return wrap(t, `${a[0]} * ${a[1]}`);
    case "add":
    case "sub":
    case "div":
    case "bitAnd":
    case "bitOr":
    case "bitXor":
    case "shl":
      return wrap(t, `${a[0]} ${INFIX[n.op]} ${a[1]}`);
    case "eq":
    case "ne":
    case "lt":
    case "le":
    case "gt":
    case "ge":
    case "and":
    case "or":
      return `${a[0]} ${INFIX[n.op]} ${a[1]}`;
    case "fma":
      return opts.contractFma
        ? wrap(t, `${a[0]} * ${a[1]} + ${a[2]}`)
        : wrap(t, `${wrap(t, `${a[0]} * ${a[1]}`)} + ${a[2]}`);
    case "neg":
      return wrap(t, `-${a[0]}`);
    case "abs":
      return wrap(t, `Math.abs(${a[0]})`);
    case "min":
      return `Math.min(${a[0]}, ${a[1]})`;
    case "max":
      return `Math.max(${a[0]}, ${a[1]})`;
    case "sqrt":
      return wrap(t, `Math.sqrt(${a[0]})`);
    case "floor":
    case "ceil":
    case "trunc":
      return `Math.${n.op}(${a[0]})`;
    case "roundEven":
      return `roundEven(${a[0]})`;
    case "select":
    case "guard": // a select: both arms computed, so tests see where the fast arm is taken
      return `${a[0]} ? ${a[1]} : ${a[2]}`;
    case "not":
      return `!${a[0]}`;
    case "bitNot":
      return wrap(t, `~${a[0]}`);
    case "shr":
      return t === "u32" ? `${a[0]} >>> ${a[1]}` : `${a[0]} >> ${a[1]}`;
    case "bitcast":
      if (from === "f32") return t === "i32" ? `bitsI(${a[0]})` : `bitsF(${a[0]})`;
      if (t === "f32") return from === "i32" ? `fromI(${a[0]})` : `fromU(${a[0]})`;
      return wrap(t, a[0]);
    case "convert":
      return convertJs(from!, t, a[0]);
  }
}

/** The JS expression converting `x` from one type to another (see expr.ts for the rules). */
function convertJs(from: ScalarType, to: ScalarType, x: string): string {
  if (to === "bool") return from === "bool" ? x : `${x} !== 0`;
  if (from === "bool") return `${x} ? 1 : 0`;
  const fromFloat = from === "f32" || from === "f64";
  if (to === "i32") return fromFloat ? `f2i(${x})` : `${x} | 0`;
  if (to === "u32") return fromFloat ? `f2u(${x})` : `${x} >>> 0`;
  return to === "f32" ? `F(${x})` : x; // to float: exact or one rounding
}

/**
 * Renders `roots` as JS statements: one `const` per node in topological
 * order, operands read from variables `x0, x1, …`.
 *
 * @param roots The graph's outputs.
 * @param opts Renderer options.
 * @returns The statements and the names of the roots' values.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { renderJs } from "./render_js.ts";
 *
 * const x = load(0, "f32");
 * const { body, results } = renderJs([x.mul(x).add(1)]);
 * console.log(body.length, results); // 4 [ "v3" ]
 * ```
 * @internal
 */
export function renderJs(
  roots: readonly Expr[],
  opts: JsRenderOptions = {},
): { body: string[]; results: string[] } {
  const names = new Map<Expr, string>();
  const body: string[] = [];
  for (const n of topoOrder(roots)) {
    const name = `v${names.size}`;
    names.set(n, name);
    body.push(`const ${name} = ${nodeJs(n, n.args.map((a) => names.get(a)!), opts)};`);
  }
  return { body, results: roots.map((r) => names.get(r)!) };
}

/** Compiles a function body with the helpers in scope. */
function compile(params: string, source: string): unknown {
  const names = ["F", ...Object.keys(HELPERS)];
  return new Function(...names, `"use strict";\nreturn function (${params}) {\n${source}\n};`)(
    Math.fround,
    ...Object.values(HELPERS),
  );
}

/** A bool operand's JS form from its stored number. */
const readAs = (type: ScalarType | undefined, e: string): string =>
  type === "bool" ? `${e} !== 0` : e;

/** A value's stored form (bool as 0/1). */
const storeAs = (type: ScalarType, e: string): string => type === "bool" ? `${e} ? 1 : 0` : e;

/**
 * Compiles `root` to a scalar JS function of its operands (`x0, x1, …` as
 * numbers; bools as 0/1) giving a number (bool as 0/1).
 *
 * @param root The graph's output.
 * @param opts Renderer options.
 * @returns The function.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * const x = load(0, "f32");
 * console.log(compileJsScalar(x.mul(0.1))(3)); // 0.30000001192092896
 * ```
 * @internal
 */
export function compileJsScalar(
  root: Expr,
  opts: JsRenderOptions = {},
): (...operands: number[]) => number {
  const types = operandTypes([root]);
  const { body, results } = renderJs([root], opts);
  const params = types.map((_, i) => `x${i}_`).join(", ");
  const reads = types.map((t, i) => `const x${i} = ${readAs(t, `x${i}_`)};`);
  return compile(
    params,
    [...reads, ...body, `return ${storeAs(root.type, results[0])};`].join("\n"),
  ) as (
    ...operands: number[]
  ) => number;
}

/**
 * An elementwise loop over arrays: `out[idx] = root(ins[k][Σ idx·strides[k]])`
 * over every index of `shape` (`ins[k]` stored as its dtype's typed array;
 * bool as 0/1 bytes).
 * @internal
 */
export type JsElementwise = (
  out: TypedArray,
  ins: readonly TypedArray[],
  shape: readonly number[],
  strides: readonly (readonly number[])[],
) => void;

/**
 * Compiles `root` into an elementwise loop with broadcasting by strides
 * (an odometer over the axes; a stride of 0 repeats an operand).
 *
 * @param root The graph's output.
 * @param opts Renderer options.
 * @returns The loop.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { compileJsElementwise } from "./render_js.ts";
 *
 * const a = load(0, "f32"), b = load(1, "f32");
 * const run = compileJsElementwise(a.mul(b));
 * const out = new Float32Array(4);
 * // [2, 2]: a is a column (strides [1, 0]), b a row (strides [0, 1])
 * run(out, [new Float32Array([1, 2]), new Float32Array([10, 20])], [2, 2], [[1, 0], [0, 1]]);
 * console.log(out); // Float32Array(4) [ 10, 20, 20, 40 ]
 * ```
 * @internal
 */
export function compileJsElementwise(root: Expr, opts: JsRenderOptions = {}): JsElementwise {
  const types = operandTypes([root]);
  const { body, results } = renderJs([root], opts);
  const ks = types.map((_, k) => k);
  const src = `const rank = shape.length, size = out.length;
const idx = new Int32Array(rank);
${ks.map((k) => `const a${k} = ins[${k}], s${k} = strides[${k}]; let p${k} = 0;`).join("\n")}
for (let q = 0; q < size; q++) {
  ${ks.map((k) => `const x${k} = ${readAs(types[k], `a${k}[p${k}]`)};`).join("\n  ")}
  ${body.join("\n  ")}
  out[q] = ${storeAs(root.type, results[0])};
  for (let d = rank - 1; d >= 0; d--) {
    ${ks.map((k) => `p${k} += s${k}[d];`).join(" ")}
    if (++idx[d] < shape[d]) break;
    idx[d] = 0;
    ${ks.map((k) => `p${k} -= s${k}[d] * shape[d];`).join(" ")}
  }
}`;
  return compile("out, ins, shape, strides", src) as JsElementwise;
}

/**
 * Compiles `root` (one operand, `x0`) into a flat loop `out[i] = root(x[i])`
 * — the fast path for measuring a function over many inputs.
 *
 * @param root The graph's output (loads operand 0 only).
 * @param opts Renderer options.
 * @returns The loop.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { compileJsMap } from "./render_js.ts";
 *
 * const x = load(0, "f32");
 * const out = new Float32Array(2);
 * compileJsMap(x.sqrt())(new Float32Array([4, 2]), out);
 * console.log(out); // Float32Array(2) [ 2, 1.4142135381698608 ]
 * ```
 * @internal
 */
export function compileJsMap(
  root: Expr,
  opts: JsRenderOptions = {},
): (x: TypedArray, out: TypedArray) => void {
  const types = operandTypes([root]);
  if (types.length !== 1) throw new TypeError(`compileJsMap(): the graph must load operand 0 only`);
  const { body, results } = renderJs([root], opts);
  return compile(
    "x, out",
    `for (let i = 0, n = out.length; i < n; i++) {
  const x0 = ${readAs(types[0], "x[i]")};
  ${body.join("\n  ")}
  out[i] = ${storeAs(root.type, results[0])};
}`,
  ) as (x: TypedArray, out: TypedArray) => void;
}
