/**
 * The padding argument of `lax`'s windowed ops (`convGeneralDilated`,
 * `reduceWindow`), after JAX's: `"SAME"`, `"VALID"` or explicit pairs.
 *
 * @module
 */

/**
 * Padding of the spatial axes: `"SAME"`, `"VALID"`, or one `[lo, hi]` pair per axis.
 *
 * @example
 * ```ts
 * import { lax, tensor } from "@gradus/core";
 *
 * const padding: lax.Padding = [[1, 1]]; // one element of padding on each side
 * const y = lax.reduceWindow(tensor([1, 5, 2]), 0, "sum", [2], [1], padding);
 * console.log(y.arraySync()); // [1, 6, 7, 2]
 * ```
 */
export type Padding = "SAME" | "VALID" | readonly (readonly [number, number])[];
