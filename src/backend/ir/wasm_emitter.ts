/**
 * Emits kernel-IR graphs as WebAssembly SIMD code on a function of the typed
 * assembler (`../wasm/asm/`): each node into a fresh `v128` local, four
 * lanes per vector (`f32x4`/`i32x4`; bools as lane masks), for one vector or
 * for a group of vectors at once (an unrolled loop's). Used by the
 * elementwise renderer (`render_wasm.ts`, whose module doc lists how IR
 * semantics map onto instructions) and the `wasm` backend's reductions
 * (`../wasm/kernels/reduce.ts`).
 *
 * A `guard(cond, fast, full)` branches once per group: when `cond` holds in
 * every lane of every vector of the group the group computes `fast`, else
 * `full` — the nodes of each arm are evaluated inside its branch only.
 * Where `cond` is a comparison with an exact inverse (integer ones, float
 * `eq`/`ne`) the group tests the inverse instead (`v128.or` of the masks,
 * then `v128.any_true`: a lane that fails), as hand-written kernels do —
 * on x86 `i32x4.gt_s` and `any_true` are single instructions where `le_s`
 * and `all_true` take several; otherwise `v128.and` and `i32x4.all_true`.
 * An integer comparison against a constant (`a ≤ c`) compares once per
 * group: the group's largest (smallest) `a` with `c`.
 * Nodes outside guards' arms are evaluated before, in topological order.
 *
 * @module
 */

import { Expr, type ScalarType, topoOrder } from "./expr.ts";
import { type Local, type PlainOp, V128, type WasmFunction } from "../wasm/asm/mod.ts";

/** Options of the WASM renderer. @internal */
export interface WasmRenderOptions {
  /** Multiply-adds with `f32x4.relaxed_madd` (needs relaxed SIMD; default false). */
  readonly contractFma?: boolean;
}

/** The instruction prefix of a type's lanes. */
const lanes = (t: ScalarType): "f32x4" | "i32x4" => (t === "f32" ? "f32x4" : "i32x4");

/** Plain SIMD instructions of the binary nodes, by operand type. */
function binaryOp(op: string, t: ScalarType): PlainOp | null {
  const f = t === "f32", u = t === "u32", b = t === "bool";
  switch (op) {
    case "add":
    case "sub":
    case "mul":
      return `${lanes(t)}.${op}` as PlainOp;
    case "div":
      return f ? "f32x4.div" : null;
    case "min":
    case "max":
      return (f ? `f32x4.${op}` : `i32x4.${op}_${u ? "u" : "s"}`) as PlainOp;
    case "eq":
    case "ne":
      return `${lanes(t)}.${op}` as PlainOp;
    case "lt":
    case "le":
    case "gt":
    case "ge":
      // bool masks: false = 0 < true = all ones, unsigned
      return (f ? `f32x4.${op}` : `i32x4.${op}_${u || b ? "u" : "s"}`) as PlainOp;
    case "and":
    case "bitAnd":
      return "v128.and";
    case "or":
    case "bitOr":
      return "v128.or";
    case "bitXor":
      return "v128.xor";
  }
  return null;
}

/** Comparisons and their exact inverses (floats: only `eq`/`ne`, since NaN fails the others). */
const INVERSE: Readonly<Record<string, "lt" | "le" | "gt" | "ge" | "eq" | "ne">> = {
  lt: "ge",
  le: "gt",
  gt: "le",
  ge: "lt",
  eq: "ne",
  ne: "eq",
};

/**
 * How a guard's branch tests its group: `fails` (a lane fails the
 * condition: the exact inverse comparison, `v128.or`, `any_true`) or not
 * (`v128.and`, `all_true`) of the masks of `test`; or, for an integer
 * `a < c`-like condition against a constant, `reduce` (`min`/`max`) of the
 * `a`s of the group first and then one inverse comparison with `c`.
 */
interface GuardTest {
  readonly test: Expr;
  readonly fails: boolean;
  readonly reduce?: { readonly op: PlainOp; readonly compare: PlainOp; readonly against: Expr };
}

/** The test of guard `g` (see {@linkcode GuardTest}). */
function guardTest(g: Expr): GuardTest {
  const cond = g.args[0];
  const inv = INVERSE[cond.op];
  const [a, c] = cond.args;
  const t = a?.type;
  if (inv === undefined || (t === "f32" && inv !== "eq" && inv !== "ne")) {
    return { test: cond, fails: false };
  }
  if ((t === "i32" || t === "u32") && c.op === "const" && inv !== "eq" && inv !== "ne") {
    // a lane fails a > c (or ≥) iff the group's largest a does; a < c (or ≤): the smallest
    const m = inv === "gt" || inv === "ge" ? "max" : "min";
    return {
      test: a,
      fails: true,
      reduce: { op: binaryOp(m, t)!, compare: binaryOp(inv, t)!, against: c },
    };
  }
  return { test: Expr.make(inv, "bool", cond.args), fails: true };
}

/** A guard's test node alone for a walk that does not enter guards' arms. */
const guardChildren = (n: Expr): readonly Expr[] => n.op === "guard" ? [guardTest(n).test] : n.args;

/** Locals made by emitters so far, per function (their names stay unique). */
const emitted = new WeakMap<WasmFunction, number>();

/** A fresh `v128` local of `fn`. */
function freshLocal(fn: WasmFunction, prefix: string): Local {
  const count = emitted.get(fn) ?? 0;
  emitted.set(fn, count + 1);
  return fn.local(`${prefix}${count}`, V128);
}

/**
 * Emits the nodes of one graph on a function for a group of vectors, each
 * node of each vector into a fresh `v128` local: bind the loads' vectors,
 * then emit the root (see the module doc for guards). One emitter per
 * evaluation.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { WasmEmitter } from "./wasm_emitter.ts";
 * import { I32, V128, WasmModule } from "../wasm/asm/mod.ts";
 *
 * const mod = new WasmModule({ memoryImport: { module: "env", field: "memory", minPages: 1 } });
 * mod.func("twice", { params: { p: I32 }, export: true }, (fn) => {
 *   const p = (fn.args as { p: ReturnType<typeof fn.local> }).p;
 *   const x = [fn.local("x0", V128), fn.local("x1", V128)];
 *   fn.get(p).v128Load().set(x[0]).get(p).v128Load(16).set(x[1]);
 *   const y = load(0, "f32");
 *   const [r0, r1] = new WasmEmitter(fn, {}, 2).runGroup(y.add(y), [[x[0]], [x[1]]]);
 *   fn.get(p).get(r0).v128Store().get(p).get(r1).v128Store(16);
 * });
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const inst = new WebAssembly.Instance(mod.compile(), { env: { memory } });
 * const f = new Float32Array(memory.buffer);
 * f.set([1, 2, 3, 4, 5, 6, 7, 8]);
 * (inst.exports.twice as (p: number) => void)(0);
 * console.log(f.slice(0, 8)); // Float32Array(8) [ 2, 4, 6, 8, 10, 12, 14, 16 ]
 * ```
 * @internal
 */
export class WasmEmitter {
  readonly #fn: WasmFunction;
  readonly #opts: WasmRenderOptions;
  /** Per vector of the group, the local of each evaluated node. */
  readonly #values: Map<Expr, Local>[];
  /** The nodes evaluated inside the guard arm being emitted (forgotten when it ends). */
  #scope: Expr[] | null = null;

  /**
   * @param fn The function to emit on.
   * @param opts Renderer options.
   * @param vectors How many vectors the group has (default 1).
   */
  constructor(fn: WasmFunction, opts: WasmRenderOptions, vectors = 1) {
    this.#fn = fn;
    this.#opts = opts;
    this.#values = Array.from({ length: vectors }, () => new Map<Expr, Local>());
  }

  /** Binds a load's operand, for vector `q` of the group, to a local holding its vector. */
  bind(n: Expr, v: Local, q = 0): void {
    this.#values[q].set(n, v);
  }

  /** One vector: binds every load of `root` to its operand's local in `vecs`; returns the root's local. */
  run(root: Expr, vecs: readonly Local[]): Local {
    return this.runGroup(root, [vecs])[0];
  }

  /**
   * The group: binds the loads of vector `q` to the locals in `vecs[q]`,
   * emits `root`; returns its local per vector.
   */
  runGroup(root: Expr, vecs: readonly (readonly Local[])[]): Local[] {
    for (const n of topoOrder([root])) {
      if (n.op === "load") vecs.forEach((v, q) => this.bind(n, v[n.value], q));
    }
    this.#emit(root);
    return this.#values.map((m) => m.get(root)!);
  }

  /** Pushes the value of an evaluated node in vector `q`. */
  get(n: Expr, q = 0): void {
    this.#fn.get(this.#values[q].get(n)!);
  }

  /** A vector constant (hoisted: set once before the loop). */
  #constant(value: number, t: ScalarType): Local {
    if (t === "f32") return this.#fn.hoistF32x4(value);
    if (t === "bool") return this.#fn.hoistI32x4(value ? -1 : 0);
    return this.#fn.hoistI32x4(value | 0);
  }

  /** Records the locals of node `n`, one per vector. */
  #record(n: Expr, locals: readonly Local[]): void {
    locals.forEach((v, q) => this.#values[q].set(n, v));
    this.#scope?.push(n);
  }

  /**
   * Emits every node of `root` not yet evaluated (guards' arms in their
   * branches). Between guards, one vector's nodes and then the next one's:
   * the engine's register allocator sees one vector's values live at a
   * time (interleaving them node by node measured slower).
   */
  #emit(root: Expr): void {
    const fn = this.#fn;
    let run: Expr[] = [];
    const flush = (): void => {
      this.#values.forEach((values, q) => {
        for (const n of run) {
          this.#node(n, q);
          const v = freshLocal(fn, "v");
          fn.set(v);
          values.set(n, v);
        }
      });
      for (const n of run) this.#scope?.push(n);
      run = [];
    };
    for (const n of topoOrder([root], guardChildren)) {
      if (this.#values[0].has(n)) continue;
      if (n.op === "const") {
        const c = this.#constant(n.value, n.type); // hoisted: valid in every branch
        this.#values.forEach((m) => m.set(n, c));
      } else if (n.op === "load") {
        throw new Error(`render_wasm: operand ${n.value} is not bound`);
      } else if (n.op === "guard") {
        flush();
        this.#guard(n);
      } else run.push(n);
    }
    flush();
  }

  /** A guard (its test evaluated): `fast` for the group where `cond` holds in every lane. */
  #guard(n: Expr): void {
    const fn = this.#fn;
    const [, fast, full] = n.args;
    const { test, fails, reduce } = guardTest(n);
    const outs = this.#values.map(() => freshLocal(fn, "g"));
    this.#values.forEach((_, q) => {
      this.get(test, q);
      if (q > 0) fn.op(reduce?.op ?? (fails ? "v128.or" : "v128.and"));
    });
    if (reduce !== undefined) {
      const c = reduce.against;
      fn.get(this.#constant(c.value, c.type)).op(reduce.compare);
    }
    const fastArm = () => this.#arm(fast, outs), fullArm = () => this.#arm(full, outs);
    // the fast arm first (the fall-through code of the loop): `eqz` folds into the branch
    if (fails) fn.op("v128.any_true").op("i32.eqz").if(fastArm, fullArm);
    else fn.op("i32x4.all_true").if(fastArm, fullArm);
    this.#record(n, outs);
  }

  /** Emits one arm of a guard into `outs`, then forgets the nodes only it evaluated. */
  #arm(root: Expr, outs: readonly Local[]): void {
    const outer = this.#scope;
    const scope: Expr[] = this.#scope = [];
    this.#emit(root);
    outs.forEach((v, q) => this.#fn.get(this.#values[q].get(root)!).set(v));
    for (const m of scope) for (const values of this.#values) values.delete(m);
    this.#scope = outer;
  }

  /** Pushes one node's value in vector `q` (its arguments are evaluated). */
  #node(n: Expr, q: number): void {
    const fn = this.#fn;
    const [a, b, c] = n.args;
    const t = a.type;
    const unsupported = () => new TypeError(`render_wasm: ${n.op} on ${t} has no SIMD form here`);
    if (n.type === "f64" || t === "f64") throw unsupported();
    switch (n.op) {
      case "fma":
        this.get(a, q);
        this.get(b, q);
        if (this.#opts.contractFma) {
          this.get(c, q);
          fn.op("f32x4.relaxed_madd");
        } else {
          fn.op("f32x4.mul");
          this.get(c, q);
          fn.op("f32x4.add");
        }
        return;
      case "neg":
      case "abs":
        this.get(a, q);
        fn.op(`${lanes(t)}.${n.op}` as PlainOp);
        return;
      case "sqrt":
      case "floor":
      case "ceil":
      case "trunc":
        this.get(a, q);
        fn.op(`f32x4.${n.op}` as PlainOp);
        return;
      case "roundEven":
        this.get(a, q);
        fn.op("f32x4.nearest");
        return;
      case "not":
      case "bitNot":
        this.get(a, q);
        fn.op("v128.not");
        return;
      case "select":
        this.get(b, q);
        this.get(c, q);
        this.get(a, q);
        fn.op("v128.bitselect");
        return;
      case "shl":
      case "shr":
        return this.#shift(n, q);
      case "bitcast":
        this.get(a, q);
        return;
      case "convert":
        return this.#convert(a, n.type, q);
    }
    if ((n.op === "min" || n.op === "max") && t === "f32" && b.op === "const" && b.value !== 0) {
      // pmin/pmax (one instruction) agree with min/max against a constant that is neither
      // ±0 (no sign order to keep) nor NaN (a NaN `a` falls through to `a`)
      if (!Number.isNaN(b.value)) {
        this.get(a, q);
        this.get(b, q);
        fn.op(n.op === "min" ? "f32x4.pmin" : "f32x4.pmax");
        return;
      }
    }
    const op = binaryOp(n.op, t);
    if (op === null) throw unsupported();
    this.get(a, q);
    this.get(b, q);
    fn.op(op);
  }

  /** A shift: one instruction for a constant amount, lane by lane otherwise. */
  #shift(n: Expr, q: number): void {
    const fn = this.#fn;
    const [x, k] = n.args;
    const vector = n.op === "shl" ? "i32x4.shl" : n.type === "u32" ? "i32x4.shr_u" : "i32x4.shr_s";
    if (k.op === "const") {
      this.get(x, q);
      fn.i32(k.value & 31).op(vector);
      return;
    }
    const scalar = n.op === "shl" ? "i32.shl" : n.type === "u32" ? "i32.shr_u" : "i32.shr_s";
    this.get(x, q);
    for (let lane = 0; lane < 4; lane++) {
      this.get(x, q);
      fn.lane("i32x4.extract_lane", lane);
      this.get(k, q);
      fn.lane("i32x4.extract_lane", lane).op(scalar).lane("i32x4.replace_lane", lane);
    }
  }

  /** A conversion (the rules of expr.ts). */
  #convert(a: Expr, to: ScalarType, q: number): void {
    const fn = this.#fn;
    const from = a.type;
    this.get(a, q);
    if (to === "bool") {
      if (from === "bool") return;
      fn.get(this.#constant(0, from)).op(from === "f32" ? "f32x4.ne" : "i32x4.ne");
      return;
    }
    if (from === "bool") {
      fn.get(this.#constant(1, to)).op("v128.and");
      return;
    }
    if (from === "f32" && to !== "f32") {
      fn.op(to === "i32" ? "i32x4.trunc_sat_f32x4_s" : "i32x4.trunc_sat_f32x4_u");
    } else if (to === "f32" && from !== "f32") {
      fn.op(from === "i32" ? "f32x4.convert_i32x4_s" : "f32x4.convert_i32x4_u");
    } // i32 ↔ u32: the same bits
  }
}
