/**
 * The programs of `CompactImages`: the rows `idx` of packed images (8-bit
 * values, `k` per float32: value `c` of a row holds bytes `c`, `w + c`, …
 * with weights 1, 256, 65536) gathered and decoded to float32 in one
 * `jit` program each.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { jit } from "../jit/jit.ts";
import { add, div, floor, mul, sub } from "../ops/elementwise.ts";
import { reshape } from "../ops/movement.ts";
import { take } from "../ops/take.ts";

/**
 * Bytes `[n, k, w]` of packed `[n, w]`: plane `j` is
 * `floor(v·256⁻ʲ) − 256·floor(v·256⁻⁽ʲ⁺¹⁾)` (`hi` and `next` hold those
 * powers, `[k, 1]`), exact in float32: every step is an integer below 2²⁴
 * or a product by a power of two.
 */
function unpack(packed: Tensor, hi: Tensor, next: Tensor): Tensor {
  const [n, w] = packed.shape;
  const v = reshape(packed, [n, 1, w]);
  return sub(floor(mul(v, hi)), mul(floor(mul(v, next)), 256));
}

/** float32(1 / 255). */
const INV_255 = Math.fround(1 / 255);

/** A decoder: the rows `idx` of `packed` as float32 `[count, k, w]`. */
export type RowsDecoder = (packed: Tensor, idx: Tensor, hi: Tensor, next: Tensor) => Tensor;

/** Pixels 0..255. */
export const rowsRaw: RowsDecoder = jit((packed, idx, hi, next) =>
  unpack(take(packed, idx, 0), hi, next)
);

/**
 * Pixels `float32(byte / 255)` by float32 division, which is correctly
 * rounded on wasm and cpu.
 */
export const rowsUnitByDivision: RowsDecoder = jit((packed, idx, hi, next) =>
  div(unpack(take(packed, idx, 0), hi, next), 255)
);

/**
 * Pixels `float32(byte / 255)` without a division (WGSL's is not correctly
 * rounded: 2.5 ulp): `q = b·c` with `c = float32(1/255)`, then one Newton
 * step `q + (b − 255·q)·c`. Every byte gives exactly `float32(b / 255)`,
 * with or without fused multiply-adds (checked in float64 for all 256
 * values, and on each backend in the tests); only correctly rounded `+`,
 * `−` and `×` are needed, which WGSL guarantees.
 */
export const rowsUnitByNewton: RowsDecoder = jit((packed, idx, hi, next) => {
  const b = unpack(take(packed, idx, 0), hi, next);
  const q = mul(b, INV_255);
  return add(q, mul(sub(b, mul(q, 255)), INV_255));
});
