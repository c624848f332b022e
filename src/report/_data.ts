/**
 * Reading the data the charts take: number arrays, typed arrays or tensors
 * (private). A tensor's values are read with `await t.data()`, so the
 * charts work on every backend, WebGPU included; that is why every chart
 * function is async.
 *
 * @module
 */

import { Tensor } from "../core/tensor.ts";
import { describe } from "../ops/convert.ts";

/** Numbers a chart takes: an array, a typed array, or a tensor (read in row-major order). */
export type NumberData = ArrayLike<number> | Tensor;

/**
 * The values of `x`: a tensor's, read with `await x.data()` (bool as 0/1),
 * or the array as it is.
 *
 * @param op The chart function, as errors name it.
 * @param what The argument, e.g. `series[0].y`.
 * @param x The data.
 */
export async function readNumbers(
  op: string,
  what: string,
  x: NumberData,
): Promise<ArrayLike<number>> {
  if (x instanceof Tensor) return await x.data();
  if (x === null || typeof x !== "object" || typeof x.length !== "number") {
    throw new TypeError(
      `${op}: ${what} must be an array of numbers, a typed array or a tensor, got ${describe(x)}`,
    );
  }
  return x;
}

/** {@linkcode readNumbers}, passing `undefined` through. */
export async function readOptional(
  op: string,
  what: string,
  x: NumberData | undefined,
): Promise<ArrayLike<number> | undefined> {
  return x === undefined ? undefined : await readNumbers(op, what, x);
}
