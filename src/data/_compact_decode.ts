/**
 * The programs of `CompactImages`: the rows `idx` of packed images (8-bit
 * values, `k` per float32: value `c` of a row holds bytes `c`, `w + c`, …
 * with weights 1, 256, 65536) gathered and decoded to float32 in one
 * `jit` program each.
 *
 * @module
 */

import { type Tensor, withoutCollecting } from "../core/tensor.ts";
import { tensor } from "../ops/creation.ts";
import { jit } from "../jit/jit.ts";
import { cast, div, floor, mul, sub } from "../ops/elementwise.ts";
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

/** `float32(b / 255)` for every byte `b`, `[256]` (made on first use, on the current backend). */
let unitTable: Tensor | null = null;

/**
 * Pixels `float32(byte / 255)` looked up in a table of the exact values
 * (the gather of `take`: no arithmetic), where division is not correctly
 * rounded (WGSL's: 2.5 ulp). A Newton step after a multiply is not enough
 * there: a shader compiler may contract and reorder it inside one fused
 * kernel (llvmpipe did, 7 bytes off by one ulp).
 */
export const rowsUnitByTable: RowsDecoder = (packed, idx, hi, next) => {
  if (unitTable === null || unitTable._disposed || unitTable._backend !== packed._backend) {
    const values = Float32Array.from({ length: 256 }, (_, b) => b / 255);
    unitTable = withoutCollecting(() => tensor(values));
  }
  return lookup(packed, idx, hi, next, unitTable);
};

/** The rows `idx` as bytes, then each byte's entry of `table`. */
const lookup = jit((packed: Tensor, idx: Tensor, hi: Tensor, next: Tensor, table: Tensor) => {
  const b = unpack(take(packed, idx, 0), hi, next);
  return reshape(take(table, reshape(cast(b, "int32"), [-1]), 0), b.shape);
});
