/**
 * Index geometry shared by the backends' kernels: merging axes before a
 * strided loop, and walking the broadcast batch axes of a matmul.
 *
 * @module
 */

import type { MatmulSpec } from "./backend.ts";

/**
 * Drops size-1 axes and merges adjacent axes that are contiguous for every
 * operand, so e.g. a contiguous N-d operation becomes a single 1-d loop.
 */
export function simplifyStrides(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const len = shape[d];
    if (len === 1) continue;
    const r = outShape.length;
    if (r > 0 && strides.every((st, k) => outStrides[k][r - 1] === st[d] * len)) {
      outShape[r - 1] *= len;
      strides.forEach((st, k) => outStrides[k][r - 1] = st[d]);
    } else {
      outShape.push(len);
      strides.forEach((st, k) => outStrides[k].push(st[d]));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * For each output batch `t` of a batched matmul, the matrix indices of its
 * operands: `[aMatrix₀, bMatrix₀, aMatrix₁, bMatrix₁, …]` (multiply by
 * `m·k` / `k·n` for element offsets). Broadcast batch axes have stride 0.
 */
export function batchMatrices(spec: MatmulSpec): Int32Array {
  const { batchShape, aBatchStrides, bBatchStrides } = spec;
  let batch = 1;
  for (const d of batchShape) batch *= d;
  const out = new Int32Array(2 * batch);
  const rank = batchShape.length;
  const idx = new Int32Array(rank);
  let aMat = 0, bMat = 0;
  for (let t = 0; t < batch; t++) {
    out[2 * t] = aMat;
    out[2 * t + 1] = bMat;
    for (let d = rank - 1; d >= 0; d--) {
      aMat += aBatchStrides[d];
      bMat += bBatchStrides[d];
      if (++idx[d] < batchShape[d]) break;
      idx[d] = 0;
      aMat -= aBatchStrides[d] * batchShape[d];
      bMat -= bBatchStrides[d] * batchShape[d];
    }
  }
  return out;
}
