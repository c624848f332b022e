/**
 * Kernel specs of the IR and the cache of compiled kernels.
 *
 * - {@linkcode ElementwiseKernel}: one output element per index of an output
 *   shape, `out[idx] = expr(operand₀[Σ idx·strides₀], operand₁[…], …)` —
 *   broadcasting by strides (0 repeats an axis); the strides are run-time
 *   arguments, not part of the kernel.
 * - {@linkcode ReduceKernel}: over the middle axis of an `[outer, n, inner]`
 *   view, `acc = op_j prologue(operands at (o, j, i))`, then
 *   `out[o, i] = epilogue(acc, operands at (o, 0, i))`; every operand has
 *   its own three strides (so one may be broadcast along the axis, like the
 *   row maximum a log-sum-exp subtracts).
 *
 * A kernel is identified by its {@linkcode ElementwiseKernel.key}, the
 * canonical key of its graphs plus its operand types: equal graphs built at
 * different times get one compiled kernel from a {@linkcode KernelCache}.
 *
 * @module
 */

import { LruMap } from "../_lru.ts";
import { canonicalKey, type Expr, operandTypes, type ScalarType } from "./expr.ts";

/**
 * An elementwise kernel: `output` over operand loads `load(i, inputs[i])`.
 * @internal
 */
export interface ElementwiseKernel {
  /** The kind. */
  readonly kind: "elementwise";
  /** Operand `i`'s element type. */
  readonly inputs: readonly ScalarType[];
  /** The value of one output element. */
  readonly output: Expr;
  /** Identifies the kernel (canonical graph key and operand types). */
  readonly key: string;
}

/** How a reduction combines: `sum`, or the extreme (NaN wins; ties to the lowest index). @internal */
export type ReduceCombine = "sum" | "max" | "min" | "argmax" | "argmin";

/**
 * A reduction with an elementwise prologue and epilogue.
 * @internal
 */
export interface ReduceKernel {
  /** The kind. */
  readonly kind: "reduce";
  /** How elements combine. */
  readonly combine: ReduceCombine;
  /** Operand `i`'s element type. */
  readonly inputs: readonly ScalarType[];
  /** The value reduced, per element of the axis (loads the operands). */
  readonly prologue: Expr;
  /**
   * The output from the reduced value — `load(0)`, of the prologue's type
   * (int32 for `argmax`/`argmin`) — and operand `k` at `(o, 0, i)` as
   * `load(k + 1)`; null for the reduced value itself.
   */
  readonly epilogue: Expr | null;
  /** Identifies the kernel. */
  readonly key: string;
}

/** The operand types of `roots`, checked against `declared` (`inputs` of the spec). */
function checkOperands(
  what: string,
  roots: readonly Expr[],
  declared: readonly ScalarType[],
): void {
  operandTypes(roots).forEach((t, i) => {
    if (t !== undefined && declared[i] !== t) {
      throw new TypeError(
        `${what}: operand ${i} is loaded as ${t} but declared ${declared[i] ?? "(missing)"}`,
      );
    }
  });
}

/**
 * An elementwise kernel computing `output` (operand types from its loads
 * unless given: give them when an operand is unused).
 *
 * @param output The value of one output element.
 * @param inputs The operands' element types (default: from the loads).
 * @returns The kernel spec.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { elementwiseKernel } from "./kernel.ts";
 *
 * const a = load(0, "f32"), b = load(1, "f32"), c = load(2, "f32");
 * const k = elementwiseKernel(a.mul(b).add(c)); // one fused kernel for a·b + c
 * console.log(k.inputs, k.key === elementwiseKernel(a.mul(b).add(c)).key); // [ "f32", "f32", "f32" ] true
 * ```
 * @internal
 */
export function elementwiseKernel(
  output: Expr,
  inputs?: readonly ScalarType[],
): ElementwiseKernel {
  const types = inputs ?? Array.from(operandTypes([output]), (t, i) => {
    if (t === undefined) {
      throw new TypeError(`elementwiseKernel(): operand ${i} is never loaded; give its type`);
    }
    return t;
  });
  checkOperands("elementwiseKernel()", [output], types);
  return Object.freeze({
    kind: "elementwise",
    inputs: Object.freeze(types.slice()),
    output,
    key: `ew ${types.join(",")}|${canonicalKey([output])}`,
  });
}

/**
 * A reduction kernel (see {@linkcode ReduceKernel}).
 *
 * @param combine How elements combine.
 * @param prologue The value reduced per element.
 * @param inputs The operands' element types.
 * @param epilogue The output from `load(0)` (the reduced value) and `load(k + 1)` (operand `k`).
 * @returns The kernel spec.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { exp, log } from "./math.ts";
 * import { reduceKernel } from "./kernel.ts";
 *
 * // log Σ exp(x − m), m broadcast along the axis: a fused log-sum-exp
 * const x = load(0, "f32"), m = load(1, "f32");
 * const k = reduceKernel("sum", exp(x.sub(m)), ["f32", "f32"], log(load(0, "f32")).add(load(2, "f32")));
 * console.log(k.combine, k.inputs.length); // "sum" 2
 * ```
 * @internal
 */
export function reduceKernel(
  combine: ReduceCombine,
  prologue: Expr,
  inputs: readonly ScalarType[],
  epilogue: Expr | null = null,
): ReduceKernel {
  checkOperands("reduceKernel()", [prologue], inputs);
  if (epilogue !== null) {
    const accType = combine === "argmax" || combine === "argmin" ? "i32" : prologue.type;
    checkOperands("reduceKernel() epilogue", [epilogue], [accType, ...inputs]);
  }
  const key = `red ${combine} ${inputs.join(",")}|${canonicalKey([prologue])}|${
    epilogue === null ? "-" : canonicalKey([epilogue])
  }`;
  return Object.freeze({
    kind: "reduce",
    combine,
    inputs: Object.freeze(inputs.slice()),
    prologue,
    epilogue,
    key,
  });
}

/**
 * Compiled kernels by kernel key: `get(kernel, compile)` compiles once per
 * distinct key (graphs built separately but equal share an entry).
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { elementwiseKernel, KernelCache } from "./kernel.ts";
 *
 * const cache = new KernelCache<string>();
 * let compiles = 0;
 * const k = () => elementwiseKernel(load(0, "f32").neg());
 * cache.get(k(), () => `compiled ${++compiles}`);
 * console.log(cache.get(k(), () => `compiled ${++compiles}`), cache.size); // "compiled 1" 1
 * ```
 * @internal
 */
export class KernelCache<T> {
  /** The 1 024 most recently used (constants are part of a kernel's key: they vary). */
  readonly #entries = new LruMap<string, T>(1024);

  /** How many kernels are compiled. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The compiled form of `kernel`, compiling it on first use.
   *
   * @param kernel The kernel (its key is the cache key).
   * @param compile Compiles it.
   * @returns The compiled kernel.
   */
  get<K extends { readonly key: string }>(kernel: K, compile: (kernel: K) => T): T {
    let entry = this.#entries.get(kernel.key);
    if (entry === undefined) {
      entry = compile(kernel);
      this.#entries.set(kernel.key, entry);
    }
    return entry;
  }
}
