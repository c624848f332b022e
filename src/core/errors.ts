/**
 * The library's error types. Every message names the op, shows the values it
 * saw and, where there is one, says the fix:
 * `add(): cannot broadcast shapes [2,3] and [4] (axis -1: 3 vs 4)`.
 *
 * @module
 */

/**
 * A shape does not fit an op (broadcasting, matmul inner sizes, reshape
 * sizes, out-of-range axes).
 *
 * @example
 * ```ts
 * import { add, ones, ShapeError } from "@gradus/core";
 * try {
 *   add(ones([2, 3]), ones([4]));
 * } catch (e) {
 *   console.log(e instanceof ShapeError); // true
 * }
 * ```
 */
export class ShapeError extends Error {
  /**
   * Makes the error.
   *
   * @param message The full message, starting with the op name.
   */
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

/**
 * A dtype does not fit an op (mixing dtypes without a cast, float ops on
 * integers, float64 on a backend without it, differentiating an int input).
 *
 * @example
 * ```ts
 * import { add, DTypeError, ones } from "@gradus/core";
 * try {
 *   add(ones([2]), ones([2], { dtype: "int32" }));
 * } catch (e) {
 *   console.log(e instanceof DTypeError); // true
 * }
 * ```
 */
export class DTypeError extends Error {
  /**
   * Makes the error.
   *
   * @param message The full message, starting with the op name.
   */
  constructor(message: string) {
    super(message);
    this.name = "DTypeError";
  }
}

/** Formats a shape the way error messages show it: `[2,3]`. @internal */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}
