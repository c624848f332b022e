/**
 * Comparisons (`equal`, `less`, …, with NumPy broadcasting and a bool
 * result) and logical ops on bool tensors. None of them has a derivative:
 * their outputs are not floats.
 *
 * @module
 */

import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensor } from "./convert.ts";
import { bind, type Primitive } from "./primitive.ts";
import { binaryPrimitive, bindBinary, unaryPrimitive } from "./_elementwise.ts";

/** Logical not of a bool tensor. @internal */
export const logicalNotPrim: Primitive<null> = unaryPrimitive("logicalNot", "bool", null);

/** Comparison and logical binary primitives. @internal */
export const comparePrims = {
  equal: binaryPrimitive("equal", "compare", null),
  notEqual: binaryPrimitive("notEqual", "compare", null),
  greater: binaryPrimitive("greater", "compare", null),
  greaterEqual: binaryPrimitive("greaterEqual", "compare", null),
  less: binaryPrimitive("less", "compare", null),
  lessEqual: binaryPrimitive("lessEqual", "compare", null),
  logicalAnd: binaryPrimitive("logicalAnd", "logic", null),
  logicalOr: binaryPrimitive("logicalOr", "logic", null),
};

/**
 * Elementwise logical not of a bool tensor.
 *
 * @param x A bool tensor.
 * @returns `!x`.
 * @example
 * ```ts
 * import { logicalNot, tensor } from "@gradus/core";
 * console.log(logicalNot(tensor([true, false])).arraySync()); // [0, 1]
 * ```
 */
export function logicalNot(x: TensorLike): Tensor {
  return bind(logicalNotPrim, [asTensor("logicalNot", x)], null);
}

/**
 * Elementwise `a == b` (bool result).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns A bool tensor.
 * @example
 * ```ts
 * import { equal, tensor } from "@gradus/core";
 * console.log(equal(tensor([1, 2]), 2).arraySync()); // [0, 1]
 * ```
 */
export function equal(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(comparePrims.equal, a, b);
}

/**
 * Elementwise `a != b` (bool result; NaN != NaN is true).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns A bool tensor.
 * @example
 * ```ts
 * import { notEqual, tensor } from "@gradus/core";
 * console.log(notEqual(tensor([1, 2]), 2).arraySync()); // [1, 0]
 * ```
 */
export function notEqual(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(comparePrims.notEqual, a, b);
}

/**
 * Elementwise `a > b` (bool result).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns A bool tensor.
 * @example
 * ```ts
 * import { greater, tensor } from "@gradus/core";
 * console.log(greater(tensor([1, 3]), 2).arraySync()); // [0, 1]
 * ```
 */
export function greater(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(comparePrims.greater, a, b);
}

/**
 * Elementwise `a >= b` (bool result).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns A bool tensor.
 * @example
 * ```ts
 * import { greaterEqual, tensor } from "@gradus/core";
 * console.log(greaterEqual(tensor([1, 2]), 2).arraySync()); // [0, 1]
 * ```
 */
export function greaterEqual(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(comparePrims.greaterEqual, a, b);
}

/**
 * Elementwise `a < b` (bool result).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns A bool tensor.
 * @example
 * ```ts
 * import { less, tensor } from "@gradus/core";
 * console.log(less(tensor([1, 3]), 2).arraySync()); // [1, 0]
 * ```
 */
export function less(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(comparePrims.less, a, b);
}

/**
 * Elementwise `a <= b` (bool result).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns A bool tensor.
 * @example
 * ```ts
 * import { lessEqual, tensor } from "@gradus/core";
 * console.log(lessEqual(tensor([2, 3]), 2).arraySync()); // [1, 0]
 * ```
 */
export function lessEqual(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(comparePrims.lessEqual, a, b);
}

/**
 * Elementwise logical and of bool tensors.
 *
 * @param a A bool tensor.
 * @param b A bool tensor.
 * @returns `a && b`.
 * @example
 * ```ts
 * import { logicalAnd, tensor } from "@gradus/core";
 * console.log(logicalAnd(tensor([true, true]), tensor([true, false])).arraySync()); // [1, 0]
 * ```
 */
export function logicalAnd(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(comparePrims.logicalAnd, a, b);
}

/**
 * Elementwise logical or of bool tensors.
 *
 * @param a A bool tensor.
 * @param b A bool tensor.
 * @returns `a || b`.
 * @example
 * ```ts
 * import { logicalOr, tensor } from "@gradus/core";
 * console.log(logicalOr(tensor([false, true]), tensor([false, false])).arraySync()); // [0, 1]
 * ```
 */
export function logicalOr(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(comparePrims.logicalOr, a, b);
}
