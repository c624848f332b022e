/**
 * Sorting: `argsort` (stable).
 *
 * @module
 */

import { ShapeError } from "../core/errors.ts";
import { normAxis, sizeOf } from "../core/shape.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensor } from "./convert.ts";
import { reshape, transpose } from "./movement.ts";
import { bind, definePrimitive, type Primitive } from "./primitive.ts";

/** Stable ascending argsort along the last axis. @internal */
export const argsortPrim: Primitive<null> = definePrimitive<null>({
  name: "argsort",
  abstract: ([x]) => ({ shape: x.shape, dtype: "int32" }),
  impl: (be, [x]) => {
    const n = x.ndim === 0 ? 1 : x.shape[x.ndim - 1];
    const outer = n === 0 ? 0 : sizeOf(x.shape) / n;
    return be.argsort({ x: x._data, outer, n, dtype: x.dtype });
  },
  vjp: null,
  jvp: null,
  // Sorts along the last axis: the batch axis in front is left alone (a scalar gets an axis of 1).
  batch: ({ inputs: [x], out, self }) =>
    out.shape.length > 0 ? self([x], null) : reshape(self([reshape(x, [x.shape[0], 1])], null), [
      x.shape[0],
    ]),
});

/**
 * Indices that sort `x` along an axis, ascending and stable (equal values
 * keep their order; NaN sorts last), like NumPy's `argsort(kind="stable")`.
 *
 * @param x A tensor.
 * @param axis The axis (default -1).
 * @returns int32 indices with the shape of `x`.
 * @example
 * ```ts
 * import { argsort, tensor } from "@gradus/core";
 * console.log(argsort(tensor([3, 1, 2])).arraySync()); // [1, 2, 0]
 * ```
 */
export function argsort(x: TensorLike, axis = -1): Tensor {
  const t = asTensor("argsort", x);
  if (t.ndim === 0) {
    throw new ShapeError("argsort(): cannot sort a scalar; reshape it to [1] first");
  }
  const ax = normAxis("argsort", axis, t.ndim);
  const last = t.ndim - 1;
  if (ax === last) return bind(argsortPrim, [t], null);
  const perm = t.shape.map((_, i) => i);
  [perm[ax], perm[last]] = [perm[last], perm[ax]];
  return transpose(bind(argsortPrim, [transpose(t, perm)], null), perm);
}
