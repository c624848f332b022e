/**
 * The PRNG primitives (no derivatives): raw 32-bit words and uniform floats
 * from a key, computed by the backend so every backend gives the same bits.
 *
 * @module
 */

import type { DType } from "../core/dtype.ts";
import { definePrimitive, type Primitive } from "../ops/primitive.ts";

/** Random 32-bit words from a key. @internal */
export const randomBitsPrim: Primitive<{ count: number }> = definePrimitive<{ count: number }>({
  name: "randomBits",
  abstract: (_k, { count }) => ({ shape: [count], dtype: "int32" }),
  impl: (be, [k], { count }) => be.randomBits(k._data, count),
  vjp: null,
  jvp: null,
});

/** Uniform floats in [0, 1) from a key. @internal */
export const randomUniformPrim: Primitive<{ count: number; dtype: DType }> = definePrimitive<
  { count: number; dtype: DType }
>({
  name: "randomUniform",
  abstract: (_k, { count, dtype }) => ({ shape: [count], dtype }),
  impl: (be, [k], { count, dtype }) => be.randomUniform({ key: k._data, count, dtype }),
  vjp: null,
  jvp: null,
});
