/**
 * The kernel expression IR: typed scalar expression graphs that describe what
 * one element of a kernel computes, written once and rendered to each target
 * (JS in `render_js.ts`, WGSL in `render_wgsl.ts`).
 *
 * A node ({@linkcode Expr}) has an opcode, a scalar type and arguments.
 * Nodes are hash-consed: building the same operation on the same arguments
 * twice returns the same node, so a graph is a DAG whose shared
 * sub-expressions renderers emit once, and {@linkcode canonicalKey} gives a
 * string that identifies a graph independently of the order it was built in
 * (the key of a compiled-kernel cache). The intern table lives as long as
 * the process: eager kernels are memoised per opcode and dtype (`ops.ts`),
 * so it holds about a thousand nodes.
 *
 * Leaves are constants and operand loads (`load(i, type)`: operand `i` of the
 * kernel at the current element). Semantics, the same for every renderer:
 *
 * - Floats (`f32`, `f64`) follow IEEE 754 with round-to-nearest-even: `add`,
 *   `sub`, `mul`, `div` and `sqrt` are correctly rounded (`x/0` is ±∞ or NaN,
 *   `sqrt` of a negative is NaN). `fma(a, b, c)` is `a·b + c`; a renderer
 *   rounds it once where the kernel option `contractFma` allows and the target
 *   has a fused multiply-add, and otherwise twice — math written on the IR
 *   must be accurate both ways. `min`/`max` propagate NaN and order `−0 < +0`
 *   (like `Math.min`/`Math.max` and WebAssembly's `f32x4.min`/`max`).
 *   `roundEven` rounds half to even. Subnormals are kept (adapters that flush
 *   them to zero are outside what the IR promises).
 * - `i32` and `u32` arithmetic wraps modulo 2³²; shift amounts are taken
 *   modulo 32; `shr` is arithmetic for `i32` and logical for `u32`. There is
 *   no integer division.
 * - Comparisons give `bool`; every comparison with NaN is false except `ne`;
 *   bools order `false < true`.
 * - `guard(cond, fast, full)` is `select(cond, fast, full)` with a promise
 *   from whoever builds it: `fast` equals `full` bit for bit wherever `cond`
 *   holds. A renderer may therefore compute `full` alone, `select`, or —
 *   the WASM renderer — `fast` for a whole vector whose lanes all satisfy
 *   `cond` and `full` otherwise (see {@linkcode guard}).
 * - `convert` changes the type by value: float → `i32`/`u32` truncates
 *   toward zero, NaN → 0, and saturates at the bounds (±∞ included: XLA's
 *   rule, see `Backend.cast`); `i32`/`u32` → float and `f64` → `f32` round to
 *   nearest; `i32` ↔ `u32` keeps the bits; anything → `bool` is `x != 0`
 *   (NaN → true); `bool` → number is 0 or 1. `bitcast` reinterprets the 32
 *   bits of `f32`, `i32` and `u32`.
 *
 * @module
 */

/** The scalar types of the IR. @internal */
export type ScalarType = "f32" | "f64" | "i32" | "u32" | "bool";

/** Node opcodes: leaves, then operations (see the module doc for semantics). @internal */
export type NodeOp =
  | "const"
  | "load"
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "fma"
  | "neg"
  | "abs"
  | "min"
  | "max"
  | "sqrt"
  | "floor"
  | "ceil"
  | "roundEven"
  | "trunc"
  | "eq"
  | "ne"
  | "lt"
  | "le"
  | "gt"
  | "ge"
  | "select"
  | "guard"
  | "and"
  | "or"
  | "not"
  | "bitAnd"
  | "bitOr"
  | "bitXor"
  | "bitNot"
  | "shl"
  | "shr"
  | "bitcast"
  | "convert";

/** An operand of a builder method: a node, or a number made a constant of the receiver's type. */
export type ExprLike = Expr | number;

const FLOATS: ReadonlySet<ScalarType> = new Set<ScalarType>(["f32", "f64"]);
const INTS: ReadonlySet<ScalarType> = new Set<ScalarType>(["i32", "u32"]);

/** Whether `type` is a float type. @internal */
export function isFloatType(type: ScalarType): boolean {
  return FLOATS.has(type);
}

/** Whether `type` is an integer type. @internal */
export function isIntType(type: ScalarType): boolean {
  return INTS.has(type);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
const f64Scratch = new Float64Array(1);
const u32x2Scratch = new Uint32Array(f64Scratch.buffer);

/** A constant's value normalised to its type (f32 rounded, integers wrapped, bool 0/1). */
function normalise(value: number, type: ScalarType): number {
  switch (type) {
    case "f32":
      return Math.fround(value);
    case "f64":
      return value;
    case "i32":
      return value | 0;
    case "u32":
      return value >>> 0;
    case "bool":
      return value ? 1 : 0;
  }
}

/** The exact text of a constant for keys: bit patterns for floats (−0 and NaN stay distinct). */
function constText(value: number, type: ScalarType): string {
  if (type === "f32") {
    f32Scratch[0] = value;
    return u32Scratch[0].toString(16);
  }
  if (type === "f64") {
    f64Scratch[0] = value;
    return u32x2Scratch[1].toString(16) + ":" + u32x2Scratch[0].toString(16);
  }
  return String(value);
}

/**
 * The live nodes by key, held weakly: a node no kernel refers to any more is
 * collected and its entry dropped (constants vary: a learning rate baked
 * into a kernel makes new nodes every step).
 */
const interned = new Map<string, WeakRef<Expr>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (interned.get(key)?.deref() === undefined) interned.delete(key);
});
let nextId = 0;

/**
 * One node of an expression graph. Build nodes with {@linkcode constant},
 * {@linkcode load}, {@linkcode select} and the methods (`x.add(y)`,
 * `x.lt(0)`, `x.convert("i32")`, …); never with `new`. Nodes are immutable
 * and hash-consed: equal operations on equal arguments are the same object.
 *
 * @example
 * ```ts
 * import { constant, load } from "./expr.ts";
 *
 * const x = load(0, "f32");
 * const y = x.mul(x).add(1); // x² + 1
 * console.log(y === x.mul(x).add(constant(1, "f32"))); // true: hash-consed
 * console.log(y.type, y.op); // "f32" "add"
 * ```
 */
export class Expr {
  /** A process-wide identity (creation order; not part of canonical keys). */
  readonly id: number;
  /** The opcode. */
  readonly op: NodeOp;
  /** The result type. */
  readonly type: ScalarType;
  /** The arguments. */
  readonly args: readonly Expr[];
  /** A constant's value (normalised to `type`), a load's operand index, else 0. */
  readonly value: number;

  private constructor(op: NodeOp, type: ScalarType, args: readonly Expr[], value: number) {
    this.id = nextId++;
    this.op = op;
    this.type = type;
    this.args = Object.freeze(args.slice());
    this.value = value;
    Object.freeze(this);
  }

  /**
   * The interned node for `(op, type, args, value)`.
   *
   * @param op The opcode.
   * @param type The result type.
   * @param args The arguments.
   * @param value A constant's value or a load's operand index (0 otherwise).
   * @returns The node (an existing one when equal).
   */
  static make(op: NodeOp, type: ScalarType, args: readonly Expr[], value = 0): Expr {
    const v = op === "const" ? normalise(value, type) : value;
    const key = `${op} ${type} ${op === "const" ? constText(v, type) : v} ${
      args.map((a) => a.id).join(",")
    }`;
    let node = interned.get(key)?.deref();
    if (node === undefined) {
      node = new Expr(op, type, args, v);
      interned.set(key, new WeakRef(node));
      forget.register(node, key);
    }
    return node;
  }

  /** `y` as a node of this node's type (numbers become constants). */
  #lift(y: ExprLike): Expr {
    return typeof y === "number" ? constant(y, this.type) : y;
  }

  /** A binary node with both operands of this node's type. */
  #same(op: NodeOp, y: ExprLike, allowed: (t: ScalarType) => boolean, out?: ScalarType): Expr {
    const b = this.#lift(y);
    if (b.type !== this.type) {
      throw new TypeError(`ir ${op}(): operand types differ (${this.type} and ${b.type})`);
    }
    if (!allowed(this.type)) throw new TypeError(`ir ${op}(): not defined for ${this.type}`);
    return Expr.make(op, out ?? this.type, [this, b]);
  }

  /** A unary node on this node's type. */
  #unary(op: NodeOp, allowed: (t: ScalarType) => boolean): Expr {
    if (!allowed(this.type)) throw new TypeError(`ir ${op}(): not defined for ${this.type}`);
    return Expr.make(op, this.type, [this]);
  }

  /** `this + y` (integers wrap). */
  add(y: ExprLike): Expr {
    return this.#same("add", y, numeric);
  }
  /** `this − y` (integers wrap). */
  sub(y: ExprLike): Expr {
    return this.#same("sub", y, numeric);
  }
  /** `this · y` (integers wrap). */
  mul(y: ExprLike): Expr {
    return this.#same("mul", y, numeric);
  }
  /** `this / y` (floats only, IEEE). */
  div(y: ExprLike): Expr {
    return this.#same("div", y, isFloatType);
  }
  /** `this · y + z` (floats only; fused or not per the kernel's `contractFma`). */
  fma(y: ExprLike, z: ExprLike): Expr {
    const b = this.#lift(y), c = this.#lift(z);
    if (b.type !== this.type || c.type !== this.type || !isFloatType(this.type)) {
      throw new TypeError(`ir fma(): needs three operands of one float type`);
    }
    return Expr.make("fma", this.type, [this, b, c]);
  }
  /** `−this` (floats flip the sign, integers wrap). */
  neg(): Expr {
    return this.#unary("neg", (t) => t !== "bool" && t !== "u32");
  }
  /** `|this|` (int32's −2³¹ stays −2³¹). */
  abs(): Expr {
    return this.#unary("abs", (t) => t !== "bool" && t !== "u32");
  }
  /** The smaller of `this` and `y` (NaN propagates; `−0 < +0`). */
  min(y: ExprLike): Expr {
    return this.#same("min", y, numeric);
  }
  /** The larger of `this` and `y` (NaN propagates; `−0 < +0`). */
  max(y: ExprLike): Expr {
    return this.#same("max", y, numeric);
  }
  /** `√this` (NaN below 0, `−0` for `−0`). */
  sqrt(): Expr {
    return this.#unary("sqrt", isFloatType);
  }
  /** Rounds toward −∞. */
  floor(): Expr {
    return this.#unary("floor", isFloatType);
  }
  /** Rounds toward +∞. */
  ceil(): Expr {
    return this.#unary("ceil", isFloatType);
  }
  /** Rounds to the nearest integer, half to even. */
  roundEven(): Expr {
    return this.#unary("roundEven", isFloatType);
  }
  /** Rounds toward zero. */
  trunc(): Expr {
    return this.#unary("trunc", isFloatType);
  }
  /** `this == y` (bool). */
  eq(y: ExprLike): Expr {
    return this.#same("eq", y, any, "bool");
  }
  /** `this != y` (bool; true when either is NaN). */
  ne(y: ExprLike): Expr {
    return this.#same("ne", y, any, "bool");
  }
  /** `this < y` (bool; bools order `false < true`). */
  lt(y: ExprLike): Expr {
    return this.#same("lt", y, any, "bool");
  }
  /** `this ≤ y` (bool). */
  le(y: ExprLike): Expr {
    return this.#same("le", y, any, "bool");
  }
  /** `this > y` (bool). */
  gt(y: ExprLike): Expr {
    return this.#same("gt", y, any, "bool");
  }
  /** `this ≥ y` (bool). */
  ge(y: ExprLike): Expr {
    return this.#same("ge", y, any, "bool");
  }
  /** Logical and of two bools. */
  and(y: ExprLike): Expr {
    return this.#same("and", y, isBool);
  }
  /** Logical or of two bools. */
  or(y: ExprLike): Expr {
    return this.#same("or", y, isBool);
  }
  /** Logical not of a bool. */
  not(): Expr {
    return this.#unary("not", isBool);
  }
  /** Bitwise and (i32, u32). */
  bitAnd(y: ExprLike): Expr {
    return this.#same("bitAnd", y, isIntType);
  }
  /** Bitwise or (i32, u32). */
  bitOr(y: ExprLike): Expr {
    return this.#same("bitOr", y, isIntType);
  }
  /** Bitwise exclusive or (i32, u32). */
  bitXor(y: ExprLike): Expr {
    return this.#same("bitXor", y, isIntType);
  }
  /** Bitwise complement (i32, u32). */
  bitNot(): Expr {
    return this.#unary("bitNot", isIntType);
  }
  /** `this << (y mod 32)` (i32, u32; `y` of the same type). */
  shl(y: ExprLike): Expr {
    return this.#same("shl", y, isIntType);
  }
  /** `this >> (y mod 32)`: arithmetic for i32, logical for u32. */
  shr(y: ExprLike): Expr {
    return this.#same("shr", y, isIntType);
  }
  /** The same 32 bits read as `type` (f32, i32, u32). */
  bitcast(type: ScalarType): Expr {
    if (type === this.type) return this;
    if (!BITS32.has(type) || !BITS32.has(this.type)) {
      throw new TypeError(`ir bitcast(): ${this.type} → ${type} (only f32, i32 and u32)`);
    }
    return Expr.make("bitcast", type, [this]);
  }
  /** The value converted to `type` (see the module doc for the rules). */
  convert(type: ScalarType): Expr {
    return type === this.type ? this : Expr.make("convert", type, [this]);
  }
}

const BITS32: ReadonlySet<ScalarType> = new Set<ScalarType>(["f32", "i32", "u32"]);
const any = (): boolean => true;
const numeric = (t: ScalarType): boolean => t !== "bool";
const isBool = (t: ScalarType): boolean => t === "bool";

/**
 * A constant node (`value` rounded to float32 for `f32`, wrapped for
 * integers, 0/1 for bool).
 *
 * @param value The value.
 * @param type The type.
 * @returns The node.
 *
 * @example
 * ```ts
 * import { constant } from "./expr.ts";
 *
 * console.log(constant(0.1, "f32").value); // 0.10000000149011612
 * console.log(constant(-1, "u32").value); // 4294967295
 * ```
 */
export function constant(value: number, type: ScalarType): Expr {
  return Expr.make("const", type, [], value);
}

/**
 * Operand `index` of the kernel at the current element, as `type`.
 *
 * @param index The operand's position in the kernel's inputs.
 * @param type The operand's element type.
 * @returns The node.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 *
 * const a = load(0, "f32"), b = load(1, "f32");
 * console.log(a.add(b).args.length); // 2
 * ```
 */
export function load(index: number, type: ScalarType): Expr {
  if (!Number.isInteger(index) || index < 0) {
    throw new RangeError(`ir load(): operand index must be a non-negative integer, got ${index}`);
  }
  return Expr.make("load", type, [], index);
}

/**
 * `cond ? ifTrue : ifFalse` (both branches are computed; no side effects).
 *
 * @param cond A bool node.
 * @param ifTrue The value where `cond` holds.
 * @param ifFalse The value elsewhere (numbers take `ifTrue`'s type, or the other way).
 * @returns The node.
 *
 * @example
 * ```ts
 * import { load, select } from "./expr.ts";
 *
 * const x = load(0, "f32");
 * const relu = select(x.gt(0), x, 0);
 * console.log(relu.op, relu.type); // "select" "f32"
 * ```
 */
export function select(cond: Expr, ifTrue: ExprLike, ifFalse: ExprLike): Expr {
  if (cond.type !== "bool") throw new TypeError(`ir select(): condition is ${cond.type}, not bool`);
  if (typeof ifTrue === "number" && typeof ifFalse === "number") {
    throw new TypeError(`ir select(): give at least one branch as a node (for its type)`);
  }
  const t = typeof ifTrue === "number" ? constant(ifTrue, (ifFalse as Expr).type) : ifTrue;
  const f = typeof ifFalse === "number" ? constant(ifFalse, t.type) : ifFalse;
  if (t.type !== f.type) {
    throw new TypeError(`ir select(): branch types differ (${t.type} and ${f.type})`);
  }
  if (t === f) return t;
  return Expr.make("select", t.type, [cond, t, f]);
}

/**
 * `select(cond, fast, full)`, with the promise that `fast` equals `full` bit
 * for bit wherever `cond` holds: a cheap arm for a common domain beside the
 * arm correct everywhere. Renderers that evaluate lane by lane compute it as
 * a select (JS) or as `full` alone (WGSL); the WASM renderer computes `fast`
 * for a whole vector when `cond` holds in every lane and `full` otherwise,
 * so `fast` need only be right where `cond` holds. Tests hold the promise
 * (the JS renderer's select against WASM vectors of mixed lanes).
 *
 * @param cond A bool node: where `fast` is exact.
 * @param fast The cheap arm.
 * @param full The arm right for every input (numbers take the other's type).
 * @returns The node (`full` itself when the arms are one node).
 *
 * @example
 * ```ts
 * import { guard, load } from "./expr.ts";
 *
 * const x = load(0, "f32");
 * // where x > 0, |x| is x itself: vectors of positive lanes skip the abs
 * const g = guard(x.gt(0), x, x.abs());
 * console.log(g.op, g.args.length); // "guard" 3
 * ```
 */
export function guard(cond: Expr, fast: ExprLike, full: ExprLike): Expr {
  const s = select(cond, fast, full);
  return s.op === "select" ? Expr.make("guard", s.type, s.args) : s;
}

/**
 * The graph of `root` with every guard replaced by its full arm: what a
 * guarded graph computes, without the fast arms (renderers that gain
 * nothing from them use it; tests compare against it).
 *
 * @param root The graph's output.
 * @returns The graph without guards (`root` itself when it has none).
 *
 * @example
 * ```ts
 * import { guard, load, withoutGuards } from "./expr.ts";
 *
 * const x = load(0, "f32");
 * console.log(withoutGuards(guard(x.gt(0), x, x.abs()).mul(2)) === x.abs().mul(2)); // true
 * ```
 */
export function withoutGuards(root: Expr): Expr {
  const map = new Map<Expr, Expr>();
  for (const n of topoOrder([root])) {
    if (n.op === "guard") {
      map.set(n, map.get(n.args[2])!);
      continue;
    }
    const args = n.args.map((a) => map.get(a)!);
    const same = args.every((a, i) => a === n.args[i]);
    map.set(n, same ? n : Expr.make(n.op, n.type, args, n.value));
  }
  return map.get(root)!;
}

/**
 * Every node reachable from `roots`, each after its arguments (a
 * topological order; roots' shared sub-expressions appear once). A
 * renderer that branches on guards walks with `children` giving a guard's
 * condition alone: the nodes it evaluates unconditionally.
 *
 * @param roots The graph's outputs.
 * @param children The arguments to walk into (default: all of them).
 * @returns The nodes in evaluation order.
 *
 * @example
 * ```ts
 * import { load, topoOrder } from "./expr.ts";
 *
 * const x = load(0, "f32");
 * const y = x.mul(x).add(x);
 * console.log(topoOrder([y]).map((n) => n.op)); // [ "load", "mul", "add" ]
 * ```
 */
export function topoOrder(
  roots: readonly Expr[],
  children: (n: Expr) => readonly Expr[] = (n) => n.args,
): Expr[] {
  const order: Expr[] = [];
  const seen = new Set<Expr>();
  const stack: [Expr, number][] = [];
  for (const root of roots) {
    if (seen.has(root)) continue;
    seen.add(root);
    stack.push([root, 0]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [node, k] = top;
      const args = children(node);
      if (k < args.length) {
        top[1] = k + 1;
        const arg = args[k];
        if (!seen.has(arg)) {
          seen.add(arg);
          stack.push([arg, 0]);
        }
      } else {
        stack.pop();
        order.push(node);
      }
    }
  }
  return order;
}

/**
 * A string that identifies the graph of `roots` by structure alone (the
 * same for equal graphs however and whenever they were built): one entry
 * per node in topological order, arguments named by their position.
 *
 * @param roots The graph's outputs.
 * @returns The key.
 *
 * @example
 * ```ts
 * import { canonicalKey, load } from "./expr.ts";
 *
 * const x = load(0, "f32");
 * console.log(canonicalKey([x.mul(2)])); // "f32 load 0;f32 const 40000000;f32 mul 0,1|2"
 * ```
 */
export function canonicalKey(roots: readonly Expr[]): string {
  const order = topoOrder(roots);
  const pos = new Map<Expr, number>();
  const parts = order.map((n, i) => {
    pos.set(n, i);
    const v = n.op === "const"
      ? ` ${constText(n.value, n.type)}`
      : n.op === "load"
      ? ` ${n.value}`
      : "";
    const args = n.args.length > 0 ? ` ${n.args.map((a) => pos.get(a)).join(",")}` : "";
    return `${n.type} ${n.op}${v}${args}`;
  });
  return `${parts.join(";")}|${roots.map((r) => pos.get(r)).join(",")}`;
}

/**
 * The operand loads of a graph: for each operand index, its type (an
 * operand loaded with two types is an error).
 *
 * @param roots The graph's outputs.
 * @returns `types[i]` is operand `i`'s type (`undefined` where unused).
 *
 * @example
 * ```ts
 * import { load, operandTypes } from "./expr.ts";
 *
 * console.log(operandTypes([load(1, "i32").convert("f32")])); // [ undefined, "i32" ]
 * ```
 */
export function operandTypes(roots: readonly Expr[]): (ScalarType | undefined)[] {
  const types: (ScalarType | undefined)[] = [];
  for (const n of topoOrder(roots)) {
    if (n.op !== "load") continue;
    const prev = types[n.value];
    if (prev !== undefined && prev !== n.type) {
      throw new TypeError(`ir: operand ${n.value} is loaded as both ${prev} and ${n.type}`);
    }
    types[n.value] = n.type;
  }
  return Array.from(types); // dense: unused operands are undefined, not holes
}
