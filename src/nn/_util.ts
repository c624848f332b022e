/**
 * Helpers shared by the nn files (private).
 *
 * @module
 */

import { fmtShape, ShapeError } from "../core/errors.ts";
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
