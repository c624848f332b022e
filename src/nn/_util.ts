/**
 * Helpers shared by the nn files (private).
 *
 * @module
 */

import { DTypeError, fmtShape, ShapeError } from "../core/errors.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensor, requireFloat } from "../ops/convert.ts";

/** Converts `x` to a tensor and checks it is float, naming the nn function in errors. */
export function floatInput(op: string, x: TensorLike): Tensor {
  const t = asTensor(op, x);
  requireFloat(op, t.dtype);
  return t;
}

/** Throws a ShapeError naming `op` and both shapes unless `a` and `b` have the same shape. */
export function requireSameShape(
  op: string,
  a: Tensor,
  b: Tensor,
  names: readonly [string, string],
): void {
  const same = a.ndim === b.ndim && a.shape.every((d, i) => d === b.shape[i]);
  if (!same) {
    throw new ShapeError(
      `${op}(): ${names[0]} and ${names[1]} must have the same shape, got ${
        fmtShape(a.shape)
      } and ${fmtShape(b.shape)}`,
    );
  }
}

/**
 * Throws a DTypeError naming the layer `op` unless the input `x` has the
 * dtype of its params `p` (a float64 model on float32 data, or the reverse).
 */
export function requireParamsDType(op: string, x: Tensor, p: Tensor): void {
  if (x.dtype !== p.dtype) {
    throw new DTypeError(
      `${op}: the input is ${x.dtype} but the layer's params are ${p.dtype}; cast the input ` +
        `(cast(x, "${p.dtype}")) or init the model with dtype ${x.dtype}`,
    );
  }
}
