/**
 * The options objects of the ops that `Tensor`'s methods take (`x.sum(axis,
 * opts)`, `x.var(axis, opts)`, `x.cumsum(axis, opts)`). They live in the core
 * layer so that `core/tensor.ts` can type those methods without importing
 * the ops; the ops re-export them.
 *
 * @module
 */

/**
 * Options of reductions.
 *
 * @example
 * ```ts
 * import { sub, sum, tensor, type ReduceOptions } from "@gradus/core";
 *
 * const x = tensor([[1, 2], [3, 4]]);
 * const options: ReduceOptions = { keepdims: true };
 * const rowSums = sum(x, 1, options); // [2, 1]: broadcasts against x
 * console.log(rowSums.shape, sub(x, rowSums).arraySync()); // [2, 1] [[-2, -1], [-4, -3]]
 * ```
 */
export interface ReduceOptions {
  /** Keep reduced axes with size 1 (default false), so the result broadcasts against the input. */
  readonly keepdims?: boolean;
}

/**
 * Options of `variance` and `std`.
 *
 * @example
 * ```ts
 * import { tensor, variance, type VarianceOptions } from "@gradus/core";
 *
 * const x = tensor([1, 2, 3, 4], { dtype: "float64" });
 * const sample: VarianceOptions = { ddof: 1 };
 * console.log(variance(x).arraySync()); // 1.25 (divided by N)
 * console.log(variance(x, 0, sample).arraySync()); // 1.6666666666666667 (by N − 1)
 * ```
 */
export interface VarianceOptions extends ReduceOptions {
  /**
   * "Delta degrees of freedom" (default 0, as in NumPy and JAX): the sum of
   * squared deviations is divided by `N - ddof`, where `N` is the number of
   * elements reduced. `ddof: 1` gives the unbiased sample variance (what
   * PyTorch's `var` does by default). A divisor `N - ddof ≤ 0` gives
   * `Infinity` (or NaN where the deviations are all 0), as in JAX.
   */
  readonly ddof?: number;
}

/**
 * Options of `cumsum`.
 *
 * @example
 * ```ts
 * import { cumsum, type CumsumOptions, tensor } from "@gradus/core";
 *
 * const x = tensor([1, 2, 3, 4]);
 * const options: CumsumOptions = { exclusive: true, reverse: true };
 * console.log(cumsum(x).arraySync()); // [1, 3, 6, 10]
 * console.log(cumsum(x, 0, options).arraySync()); // [9, 7, 4, 0]
 * ```
 */
export interface CumsumOptions {
  /** Sum from the end of the axis towards its start (default false). */
  readonly reverse?: boolean;
  /**
   * Leave each element out of its own sum (default false): the first output
   * is 0 and output `i` is the sum of inputs `0 … i-1` (`i+1 … n-1` when
   * reversed), as in TF.js's `cumsum(x, axis, exclusive)`.
   */
  readonly exclusive?: boolean;
}
