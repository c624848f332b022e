/**
 * The PRNG primitives (no derivatives): raw 32-bit words and uniform floats
 * from a key, computed by the backend so every backend gives the same bits.
 *
 * @module
 */

import type { DType } from "../core/dtype.ts";
import { type BatchArgs, definePrimitive, type Primitive } from "../ops/primitive.ts";
import type { Tensor } from "../core/tensor.ts";
import { concat, reshape, slice } from "../ops/movement.ts";
import { zeros } from "../ops/creation.ts";

/** Random 32-bit words from a key. @internal */
export const randomBitsPrim: Primitive<{ count: number; offset?: number }> = definePrimitive<
  { count: number; offset?: number }
>({
  name: "randomBits",
  abstract: (_k, { count }) => ({ shape: [count], dtype: "int32" }),
  impl: (be, [k], { count, offset }) => be.randomBits(k._data, count, offset),
  vjp: null,
  jvp: null,
  batch: perKey,
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
  batch: perKey,
});

/** A batch of keys: each key's draw, stacked (the bits of a key depend on it alone). */
function perKey<P>({ inputs: [keys], out, size, self, params }: BatchArgs<P>): Tensor {
  if (size === 0) return zeros([0, ...out.shape], { dtype: out.dtype });
  const draws = Array.from({ length: size }, (_, b) => {
    const key = reshape(slice(keys, [b], [b + 1]), [2]);
    return reshape(self([key], params), [1, ...out.shape]);
  });
  return concat(draws, 0);
}
