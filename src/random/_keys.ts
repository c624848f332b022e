/**
 * Keys on any backend. A key is two int32 words in a tensor on some backend;
 * the keys `random.key` and `random.split` make also keep their words on the
 * host (they are derived there with the same Threefry code the backends
 * run), so a key made before `setBackend` works after it: it is uploaded to
 * the current backend where it is used, without a device read (WebGPU
 * cannot read synchronously). Same key, same numbers, on every backend.
 *
 * @module
 */

import { currentBackend } from "../backend/registry.ts";
import { randomBitsInto } from "../backend/cpu/threefry.ts";
import { DTypeError } from "../core/errors.ts";
import type { Tensor } from "../core/tensor.ts";
import { tensor } from "../ops/creation.ts";

/** The host copy of the words of every key made here (and of its uploads). */
const hostWords = new WeakMap<Tensor, Int32Array>();

/**
 * A key on the current backend holding the words `w0`, `w1` (int32), with
 * its words kept on the host.
 * @internal
 */
export function keyFromWords(w0: number, w1: number): Tensor {
  const k = tensor(Int32Array.of(w0, w1));
  hostWords.set(k, Int32Array.of(w0, w1));
  return k;
}

/**
 * A key's two words when the host has them without waiting for a device:
 * kept from `keyFromWords`, or read synchronously where the key's backend
 * allows it; null otherwise (a key computed on WebGPU).
 * @internal
 */
export function keyWords(k: Tensor): Int32Array | null {
  const w = hostWords.get(k);
  if (w !== undefined) return w;
  const b = k._backend;
  if (k._trace !== null || b === null || !b.canReadSync || k._disposed) return null;
  return b.readSync(k._data, "int32", 2) as Int32Array;
}

/**
 * `t` on the current backend when it is a key made by `random.key` or
 * `random.split` (its words kept on the host) that lives elsewhere (made
 * before `setBackend`), else `t`: `jit` passes its arguments through this,
 * as the random functions move such keys eagerly.
 * @internal
 */
export function hostKeyOnCurrentBackend(t: Tensor): Tensor {
  const w = hostWords.get(t);
  if (w === undefined || t._disposed || t._backend === currentBackend()) return t;
  return keyFromWords(w[0], w[1]);
}

/**
 * `k` on the current backend: `k` itself when it lives there (or is being
 * traced), else a copy made from its words.
 * @internal
 */
export function keyOnCurrentBackend(op: string, k: Tensor): Tensor {
  const here = currentBackend();
  if (k._trace !== null || k._backend === here || k._disposed) return k;
  const w = keyWords(k);
  if (w === null) {
    throw new DTypeError(
      `random.${op}(): the key lives on the ${k._backend!.name} backend, which cannot read it ` +
        `synchronously, and the current backend is ${here.name}; use keys made by random.key ` +
        `or random.split (those work on every backend), or make this key after ` +
        `setBackend("${here.name}")`,
    );
  }
  return keyFromWords(w[0], w[1]);
}

/**
 * `split(k, n)` on the host, when `k`'s words are known there: the pairs of
 * words `0 … 2n-1` of its stream, each a key on the current backend with its
 * words kept; null when the words are not known on the host.
 * @internal
 */
export function splitOnHost(k: Tensor, n: number): Tensor[] | null {
  const w = keyWords(k);
  if (w === null) return null;
  const bits = new Int32Array(2 * n);
  randomBitsInto(bits, w[0], w[1]);
  const keys: Tensor[] = new Array(n);
  for (let i = 0; i < n; i++) keys[i] = keyFromWords(bits[2 * i], bits[2 * i + 1]);
  return keys;
}

/**
 * `randint(k, [count], low, high)` computed on the host, when `k`'s words
 * are known there: the same numbers, bit for bit (sample `i` is
 * `low + floor((a·2²⁴ + b) · range / 2⁴⁸)` with `a`, `b` the top 24 bits
 * of words `2i`, `2i + 1` of the stream, exact in float64 here); null when
 * the words are not known on the host or `k` is being traced. For small
 * draws (a minibatch's indices) this saves the device path's kernels and a
 * read back.
 * @internal
 */
export function randintOnHost(
  k: Tensor,
  count: number,
  low: number,
  high: number,
): Int32Array | null {
  if (k._trace !== null) return null;
  const w = keyWords(k);
  if (w === null) return null;
  const range = high - low;
  const words = new Int32Array(2 * count);
  randomBitsInto(words, w[0] >>> 0, w[1] >>> 0);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    // (a·2²⁴ + b)·range / 2⁴⁸ = (a·range)/2²⁴ + (b·range)/2⁴⁸; both products are below 2⁴⁸.
    const ar = (words[2 * i] >>> 8) * range, br = (words[2 * i + 1] >>> 8) * range;
    const q = Math.floor(ar / 2 ** 24);
    out[i] = q + Math.floor(((ar - q * 2 ** 24) * 2 ** 24 + br) / 2 ** 48) + low;
  }
  return out;
}
