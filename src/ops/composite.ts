/**
 * Ops composed from primitives, with no gradient rules of their own.
 *
 * @module
 */

import { type DType, isDType } from "../core/dtype.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { DTypeError, guardAlloc, int32RangeError, ShapeError } from "../core/errors.ts";
import { asTensors, backendOf, sameDType } from "./convert.ts";
import { cast, equal, maximum, minimum } from "./elementwise.ts";
import { expandDims } from "./movement.ts";
import { indexTensor } from "./take.ts";
import { arange } from "./creation.ts";
import { getDefaultDType } from "./default_dtype.ts";
import { currentBackend } from "../backend/registry.ts";
import { Tensor as TensorClass } from "../core/tensor.ts";
import { checkOptions, type OptionKeys } from "./_options.ts";

/**
 * Limits values to `[lo, hi]`: `minimum(maximum(x, lo), hi)`. The gradient
 * is 1 strictly inside the interval, 0 outside, and ½ on a bound (where
 * `maximum`/`minimum` split a tie, as in JAX).
 *
 * @param x A numeric tensor.
 * @param lo Lower bound (a number or tensor; `-Infinity` for none).
 * @param hi Upper bound (a number or tensor; `Infinity` for none).
 * @returns The clipped tensor.
 * @example
 * ```ts
 * import { clip, tensor } from "@gradus/core";
 * console.log(clip(tensor([-2, 0.5, 3]), 0, 1).arraySync()); // [0, 0.5, 1]
 * ```
 */
export function clip(x: TensorLike, lo: TensorLike, hi: TensorLike): Tensor {
  // Converted and checked here, so that errors name clip (not maximum or minimum).
  const [t, l, h] = asTensors("clip", [x, lo, hi]);
  sameDType("clip", [t.dtype, l.dtype, h.dtype]);
  return minimum(maximum(t, l), h);
}

/**
 * Options of `oneHot`.
 *
 * @example
 * ```ts
 * import { oneHot, type OneHotOptions } from "@gradus/core";
 *
 * const options: OneHotOptions = { dtype: "int32" };
 * const y = oneHot([2, 0], 3, options);
 * console.log(y.dtype, y.arraySync()); // "int32" [[0, 0, 1], [1, 0, 0]]
 * ```
 */
export interface OneHotOptions {
  /** Element type of the result (default: the default dtype, float32 unless `setDefaultDType` changed it). */
  readonly dtype?: DType;
}

const ONE_HOT_KEYS: OptionKeys<OneHotOptions> = { dtype: true };

/**
 * One-hot encoding: a new last axis of size `depth` with 1 at each index and
 * 0 elsewhere (an out-of-range index gives an all-zero row, as in JAX).
 *
 * @param indices int32 class indices (a tensor or a number array).
 * @param depth The number of classes.
 * @param opts `dtype` (default: the default dtype, see `setDefaultDType`).
 * @returns A tensor of shape `[...indices.shape, depth]`.
 * @example
 * ```ts
 * import { oneHot } from "@gradus/core";
 * console.log(oneHot([2, 0], 3).arraySync()); // [[0, 0, 1], [1, 0, 0]]
 * ```
 */
export function oneHot(
  indices: Tensor | readonly number[],
  depth: number,
  opts: OneHotOptions = {},
): Tensor {
  checkOptions("oneHot", opts, ONE_HOT_KEYS, '{ dtype: "int32" }');
  if (opts.dtype !== undefined && !isDType(opts.dtype)) {
    throw new DTypeError(
      `oneHot(): unknown dtype ${JSON.stringify(opts.dtype)}; use float32, float64, int32 or bool`,
    );
  }
  if (!Number.isInteger(depth) || depth < 0) {
    throw new ShapeError(`oneHot(): depth must be a non-negative integer, got ${depth}`);
  }
  if (depth > 2147483647) throw int32RangeError("oneHot", depth, " (depth; indices are int32)");
  const backend = indices instanceof TensorClass ? backendOf(indices) : currentBackend();
  const idx = indexTensor("oneHot", indices, backend);
  const dtype = opts.dtype ?? getDefaultDType();
  return guardAlloc("oneHot", [...idx.shape, depth], dtype, backend, () => {
    const hot = equal(expandDims(idx, -1), arange(depth));
    return cast(hot, dtype);
  });
}
