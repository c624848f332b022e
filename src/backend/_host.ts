/**
 * Host-side helpers the backends share: checking gather/scatter indices
 * that are on the host, and freeing the memory of an uploaded array the
 * backend copied.
 *
 * @module
 */

/**
 * The index `vmap`'s take puts where a batched index was out of bounds
 * (−2³¹: out of bounds for every axis). @internal
 */
export const OUT_OF_RANGE = -2147483648;

/**
 * Checks gather/scatter indices against an axis of `n` and wraps negative
 * ones into `[0, n)`.
 *
 * @param opName The op for the error message, e.g. `"take()"`.
 * @param indices The indices (at least `count`).
 * @param count How many to check.
 * @param n The length of the indexed axis.
 * @returns A new array of `count` indices in `[0, n)`.
 * @throws RangeError naming the first index outside `[-n, n)`.
 * @internal
 */
export function normalizeIndices(
  opName: string,
  indices: Int32Array,
  count: number,
  n: number,
): Int32Array {
  const idx = new Int32Array(count);
  for (let c = 0; c < count; c++) {
    const v = indices[c];
    if (v < -n || v >= n) {
      throw new RangeError(
        v === OUT_OF_RANGE
          ? `${opName}: an index is out of bounds for its axis (an index of a vmap'ed take ` +
            `under jit, whose value is not at hand here: run the vmap eagerly to see it)`
          : `${opName}: index ${v} is out of bounds for an axis of size ${n} (valid: -${n}..${
            n - 1
          })`,
      );
    }
    idx[c] = v < 0 ? v + n : v;
  }
  return idx;
}

/**
 * Frees the memory of an array of 64 KiB or more that the caller gave up
 * (see `Backend.upload`) instead of leaving it to the garbage collector;
 * smaller ones are not worth the call. Only a whole, non-shared buffer.
 *
 * @param a The array the backend copied and now owns.
 * @internal
 */
export function detachLarge(a: ArrayBufferView): void {
  const buf = a.buffer;
  if (
    a.byteLength >= 65536 && buf instanceof ArrayBuffer && a.byteOffset === 0 &&
    a.byteLength === buf.byteLength && typeof buf.transfer === "function"
  ) buf.transfer(0);
}
