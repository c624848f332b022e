/**
 * `stopGradient`: the identity whose derivative is zero.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { Tensor as TensorClass } from "../core/tensor.ts";
import { bind, definePrimitive, type Primitive } from "../ops/primitive.ts";
import { elementwiseBatch } from "../ops/_batching.ts";
import { map } from "../tree/tree.ts";

/** Identity forward, zero derivative. @internal */
export const stopGradientPrim: Primitive<null> = definePrimitive<null>({
  name: "stopGradient",
  abstract: ([x]) => x,
  impl: (_b, [x]) => x._data,
  vjp: null,
  jvp: null,
  batch: elementwiseBatch,
});

/**
 * Returns its input unchanged, but transformations treat the result as a
 * constant: no gradient flows through it. Works on a tensor or a pytree of
 * tensors (other leaves pass through).
 *
 * @param x A tensor or a pytree of tensors.
 * @returns The same values, cut off from differentiation.
 * @example
 * ```ts
 * import { grad, mul, stopGradient, tensor } from "@gradus/core";
 * // d/dx [x · stop(x)] = stop(x) = 3, not 2x = 6
 * const g = grad((x) => mul(x, stopGradient(x)))(tensor(3));
 * console.log(g.itemSync()); // 3
 * ```
 */
export function stopGradient<T>(x: T): T {
  if (x instanceof TensorClass) return stop(x) as T;
  return map((leaf) => (leaf instanceof TensorClass ? stop(leaf) : leaf), x);
}

function stop(x: Tensor): Tensor {
  if (x._trace === null) return x;
  return bind(stopGradientPrim, [x], null);
}
