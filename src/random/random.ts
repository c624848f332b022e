/**
 * Pseudo-random numbers from explicit keys, as in JAX: a key is an int32
 * tensor of shape `[2]` (a Threefry-2x32 key). Functions never change a key
 * and never keep hidden state: the same key always gives the same numbers,
 * on every backend and whatever else ran before. Use `split` to make new
 * independent keys instead of reusing one.
 *
 * The generator is counter-based: word `i` of a key's stream is word `i % 2`
 * of `threefry2x32(key, [0, floor(i / 2)])`; `split(key, n)` returns the
 * pairs of words `0 … 2n-1` as keys, and `foldIn(key, d)` the pair `2d, 2d+1`.
 *
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 * const key = random.key(0);
 * const [k1, k2] = random.split(key);
 * const w = random.normal(k1, [784, 50], { std: 0.01 });
 * const idx = random.choice(k2, 60000, 100);
 * console.log(w.shape, idx.shape); // [784, 50] [100]
 * ```
 *
 * @example From this entry point (`@gradus/core/random`)
 * ```ts
 * import { key, normal, split } from "@gradus/core/random";
 *
 * const [k1, k2] = split(key(0));
 * console.log(normal(k1, [2, 3]).shape, normal(k2, [], { mean: 5 }).shape); // [2, 3] []
 * ```
 *
 * @module
 */

import { type DType, isFloat, largestBelow } from "../core/dtype.ts";
import { DTypeError, fmtShape, guardAlloc, ShapeError } from "../core/errors.ts";
import { checkShape, sizeOf } from "../core/shape.ts";
import { Tensor, type TensorLike } from "../core/tensor.ts";
import { threefry2x32 } from "../backend/cpu/threefry.ts";
import { asTensor, backendOf, checkBackendDType, describe } from "../ops/convert.ts";
import { getDefaultDType } from "../ops/default_dtype.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";
import { add, cast, cos, floor, less, log, minimum, mul, sqrt, sub } from "../ops/elementwise.ts";
import { reshape, slice, split as splitOp } from "../ops/movement.ts";
import { take } from "../ops/take.ts";
import { bind } from "../ops/primitive.ts";
import { randomBitsPrim, randomUniformPrim } from "./prims.ts";
import { keyFromWords, keyOnCurrentBackend, keyWords, splitOnHost } from "./_keys.ts";
import { argsort } from "../ops/sort.ts";
import "../ops/tensor_methods.ts"; // installs Tensor's methods (x.add(y), x.sum(), …)

/**
 * A PRNG key: an int32 tensor of shape `[2]` made by `random.key` or
 * `random.split`. Such keys work on every backend, whichever was current
 * when they were made (their two words are also kept on the host, so using
 * one after `setBackend` uploads it without a device read); results go to
 * the current backend.
 *
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 *
 * const key: random.PRNGKey = random.key(42);
 * const [a, b]: random.PRNGKey[] = random.split(key);
 * console.log(key.dtype, key.shape, a.shape); // "int32" [2] [2]
 * // The same key, the same numbers.
 * const [x, y] = [random.normal(b, [3]), random.normal(b, [3])];
 * console.log(x.arraySync().toString() === y.arraySync().toString()); // true
 * ```
 */
export type PRNGKey = Tensor;

function checkKey(op: string, key: unknown): Tensor {
  if (!(key instanceof Tensor) || key.dtype !== "int32" || key.ndim !== 1 || key.shape[0] !== 2) {
    const got = key instanceof Tensor
      ? `a ${key.dtype} tensor of shape ${fmtShape(key.shape)}`
      : typeof key;
    throw new TypeError(
      `random.${op}(): key must be an int32 tensor of shape [2] from random.key(seed) or random.split(key); got ${got}`,
    );
  }
  return keyOnCurrentBackend(op, key);
}

function floatDType(op: string, dtype: DType | undefined): DType {
  const d = dtype ?? getDefaultDType();
  if (!isFloat(d)) {
    throw new DTypeError(`random.${op}(): dtype must be float32 or float64, got ${d}`);
  }
  return d;
}

function unit(op: string, key: Tensor, shape: readonly number[], dtype: DType): Tensor {
  checkShape(`random.${op}`, shape);
  checkBackendDType(`random.${op}`, dtype, backendOf(key));
  return guardAlloc(`random.${op}`, shape, dtype, backendOf(key), () => {
    const u = bind(randomUniformPrim, [key], { count: sizeOf(shape), dtype });
    return reshape(u, shape);
  });
}

/**
 * Makes a key from an integer seed (any safe integer; negative seeds use
 * their 64-bit two's complement, like JAX's `PRNGKey`).
 *
 * @param seed An integer.
 * @returns A key: int32 `[2]` = the high and low 32 bits of the seed.
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 * console.log(random.key(42).arraySync()); // [0, 42]
 * ```
 */
export function key(seed: number): PRNGKey {
  if (!Number.isSafeInteger(seed)) {
    throw new TypeError(`random.key(): seed must be a safe integer, got ${seed}`);
  }
  const s = BigInt.asUintN(64, BigInt(seed));
  const hi = Number(s >> 32n) | 0;
  const lo = Number(s & 0xffffffffn) | 0;
  return keyFromWords(hi, lo);
}

/**
 * Splits a key into `n` new independent keys (the old key should not be
 * used again).
 *
 * @param k A key.
 * @param n How many keys (default 2).
 * @returns An array of `n` keys.
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 * const [a, b, c] = random.split(random.key(0), 3);
 * console.log(a.shape, b.dtype, c.size); // [2] "int32" 2
 * ```
 */
export function split(k: PRNGKey, n = 2): PRNGKey[] {
  const kk = checkKey("split", k);
  if (!Number.isInteger(n) || n < 1) {
    throw new ShapeError(`random.split(): n must be a positive integer, got ${n}`);
  }
  return guardAlloc("random.split", [n, 2], "int32", backendOf(kk), () => {
    const keys = splitOnHost(kk, n);
    if (keys !== null) return keys;
    const bits = bind(randomBitsPrim, [kk], { count: 2 * n });
    return n === 1 ? [bits] : splitOp(bits, n);
  });
}

/**
 * Folds an integer into a key, giving a new key (JAX's `random.fold_in`):
 * the same key and data always give the same key, and different data give
 * independent keys. Handy for a key per step or per example without
 * threading split keys around: `foldIn(key, step)`.
 *
 * Definition: the new key is the Threefry-2x32 block of the counter
 * `[0, data]` under `key`, i.e. `threefry2x32(key, [0, data >>> 0])` with
 * `data` taken as a uint32 (so `-1` and `2³² - 1` fold the same), exactly
 * JAX's `fold_in`. It is also key `data` of `split(key, n)` for any
 * `n > data` (the counters `split` uses), as with JAX's default
 * (partitionable) Threefry: fold in numbers from one range only, or split
 * first, to keep the two uses apart.
 *
 * The two words are computed on the host from the key's words (kept with
 * keys made by `key`, `split` and `foldIn`, or read synchronously where the
 * key's backend allows it), so the new key works on every backend like
 * theirs. A key traced by `jit` or `vmap`, or computed on a backend
 * without synchronous reads (WebGPU), has no words on the host: the block
 * is then computed where the key is (block `data` of its stream), at the
 * same cost for any `data`.
 *
 * @param k A key.
 * @param data An integer in `[-2³¹, 2³²)`.
 * @returns A new key (int32 `[2]`) on the current backend.
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 * const k = random.foldIn(random.key(0), 1);
 * console.log(k.arraySync()); // [928981903, -841280227]
 * const [, k1] = random.split(random.key(0));
 * console.log(k1.arraySync()); // [928981903, -841280227]
 * ```
 */
export function foldIn(k: PRNGKey, data: number): PRNGKey {
  const kk = checkKey("foldIn", k);
  if (!Number.isInteger(data) || data < -(2 ** 31) || data >= 2 ** 32) {
    throw new RangeError(
      `random.foldIn(): data must be an integer in [-2^31, 2^32) (it is folded in as a uint32), ` +
        `got ${data}; reduce it first, e.g. data % 2 ** 32`,
    );
  }
  const d = data >>> 0;
  const w = keyWords(kk);
  if (w !== null) {
    const [y0, y1] = threefry2x32(w[0] >>> 0, w[1] >>> 0, 0, d);
    return keyFromWords(y0 | 0, y1 | 0);
  }
  // Block d of the key's stream, computed where the key is.
  return bind(randomBitsPrim, [kk], { count: 2, offset: d });
}

/**
 * Random 32-bit words (as int32) in a shape.
 *
 * @param k A key.
 * @param shape The shape.
 * @returns int32 bits.
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 * console.log(random.bits(random.key(0), [4]).dtype); // "int32"
 * ```
 */
export function bits(k: PRNGKey, shape: readonly number[]): Tensor {
  const kk = checkKey("bits", k);
  checkShape("random.bits", shape);
  return guardAlloc("random.bits", shape, "int32", backendOf(kk), () => {
    return reshape(bind(randomBitsPrim, [kk], { count: sizeOf(shape) }), shape);
  });
}

/**
 * Options of `random.uniform`.
 *
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 *
 * const options: random.UniformOptions = { min: -1, max: 1, dtype: "float64" };
 * const u = random.uniform(random.key(0), [1000], options);
 * console.log(u.dtype); // "float64"
 * console.log((await u.min().item()) >= -1, (await u.max().item()) < 1); // true true
 * ```
 */
export interface UniformOptions {
  /** Lower bound, inclusive (default 0). */
  readonly min?: number;
  /** Upper bound, exclusive (default 1). */
  readonly max?: number;
  /** float32 or float64 (default: the default dtype, float32 unless `setDefaultDType` changed it). */
  readonly dtype?: DType;
}

const UNIFORM_KEYS: OptionKeys<UniformOptions> = { min: true, max: true, dtype: true };

/**
 * Uniform samples in `[min, max)`: never `max`, even where `u·(max − min)
 * + min` rounds up to it (samples there are the largest value below).
 *
 * @param k A key.
 * @param shape The shape (default scalar).
 * @param opts `min`, `max`, `dtype`.
 * @returns The samples.
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 * const u = random.uniform(random.key(1), [3], { min: -1, max: 1 });
 * console.log(u.shape); // [3]
 * ```
 */
export function uniform(
  k: PRNGKey,
  shape: readonly number[] = [],
  opts: UniformOptions = {},
): Tensor {
  const kk = checkKey("uniform", k);
  checkOptions("random.uniform", opts, UNIFORM_KEYS, "{ min: -1, max: 1 }");
  const dtype = floatDType("uniform", opts.dtype);
  const lo = opts.min ?? 0;
  const hi = opts.max ?? 1;
  if (!(hi > lo)) {
    throw new ShapeError(`random.uniform(): needs min < max, got min ${lo} and max ${hi}`);
  }
  const u = unit("uniform", kk, shape, dtype);
  if (lo === 0 && hi === 1) return u;
  // Clamped below max: rounding of u·(max-min)+min can reach max.
  return minimum(add(mul(u, hi - lo), lo), largestBelow(hi, dtype));
}

/**
 * Options of `random.normal`.
 *
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 *
 * const options: random.NormalOptions = { mean: 5, std: 0.1 };
 * const x = random.normal(random.key(0), [10000], options);
 * console.log(x.mean().arraySync()); // ≈ 5
 * ```
 */
export interface NormalOptions {
  /** Mean (default 0). */
  readonly mean?: number;
  /** Standard deviation (default 1). */
  readonly std?: number;
  /** float32 or float64 (default: the default dtype, float32 unless `setDefaultDType` changed it). */
  readonly dtype?: DType;
}

const NORMAL_KEYS: OptionKeys<NormalOptions> = { mean: true, std: true, dtype: true };

/**
 * Normal (Gaussian) samples, by the Box–Muller transform of two uniform
 * streams.
 *
 * @param k A key.
 * @param shape The shape (default scalar).
 * @param opts `mean`, `std`, `dtype`.
 * @returns The samples.
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 * const w = random.normal(random.key(0), [2, 3], { std: 0.01 });
 * console.log(w.shape, w.dtype); // [2, 3] "float32"
 * ```
 */
export function normal(
  k: PRNGKey,
  shape: readonly number[] = [],
  opts: NormalOptions = {},
): Tensor {
  const kk = checkKey("normal", k);
  checkOptions("random.normal", opts, NORMAL_KEYS, "{ mean: 0, std: 0.01 }");
  const dtype = floatDType("normal", opts.dtype);
  const [k1, k2] = split(kk);
  const u1 = unit("normal", k1, shape, dtype);
  const u2 = unit("normal", k2, shape, dtype);
  // 1 - u1 is in (0, 1], so the log is finite.
  const r = sqrt(mul(log(sub(1, u1)), -2));
  let z = mul(r, cos(mul(u2, 2 * Math.PI)));
  const std = opts.std ?? 1;
  const mean = opts.mean ?? 0;
  if (std !== 1) z = mul(z, std);
  if (mean !== 0) z = add(z, mean);
  return z;
}

/**
 * Bernoulli samples: `true` with probability `p`.
 *
 * @param k A key.
 * @param p Probability of `true` (a number or a float tensor broadcasting to `shape`).
 * @param shape The shape (default: the shape of `p`).
 * @returns A bool tensor.
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 * const mask = random.bernoulli(random.key(0), 0.5, [4]);
 * console.log(mask.dtype); // "bool"
 * ```
 */
export function bernoulli(k: PRNGKey, p: TensorLike = 0.5, shape?: readonly number[]): Tensor {
  const kk = checkKey("bernoulli", k);
  const pt = asTensor("random.bernoulli", p);
  if (!isFloat(pt.dtype)) {
    // As JAX: a probability is a float (less() would name itself in a dtype mismatch).
    throw new DTypeError(
      `random.bernoulli(): p must be a float tensor (a probability), got ${pt.dtype}; ` +
        `cast it first, e.g. cast(p, "float32")`,
    );
  }
  if (shape !== undefined) {
    const lead = shape.length - pt.ndim;
    const fits = lead >= 0 && pt.shape.every((d, i) => d === 1 || d === shape[lead + i]);
    if (!fits) {
      throw new ShapeError(
        `random.bernoulli(): p of shape ${fmtShape(pt.shape)} does not broadcast to the shape ` +
          `${fmtShape(shape)} asked for`,
      );
    }
  }
  return less(unit("bernoulli", kk, shape ?? pt.shape, pt.dtype), pt);
}

/**
 * Uniform random integers in `[low, high)` (int32). The range may be at
 * most 2²⁴ wide. Each sample is `low + floor(v · range / 2⁴⁸)` of 48
 * random bits `v` (words `2i` and `2i + 1` of the key's stream, 24 bits of
 * each), computed exactly: every value's probability is within `2⁻²⁴`
 * (relative) of `1/range`, the same on every backend.
 *
 * @param k A key.
 * @param shape The shape.
 * @param low Lowest value, inclusive (at least -2³¹: the samples are int32).
 * @param high Highest value, exclusive (at most 2³¹).
 * @returns int32 samples.
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 * const labels = random.randint(random.key(0), [5], 0, 10);
 * console.log(labels.dtype); // "int32"
 * ```
 */
export function randint(k: PRNGKey, shape: readonly number[], low: number, high: number): Tensor {
  const kk = checkKey("randint", k);
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new ShapeError(
      `random.randint(): needs integers low < high, got low ${low} and high ${high}`,
    );
  }
  if (low < -(2 ** 31) || high > 2 ** 31) {
    throw new RangeError(
      `random.randint(): the samples are int32, so low ≥ -2^31 and high ≤ 2^31 (exclusive); ` +
        `got low ${low} and high ${high}; shift the range, or floor random.uniform samples`,
    );
  }
  const range = high - low;
  if (range > 2 ** 24) {
    throw new ShapeError(
      `random.randint(): the range high - low = ${range} is wider than 2^24; split it into parts`,
    );
  }
  checkShape("random.randint", shape);
  const n = sizeOf(shape);
  // Two 24-bit integers per sample (words 2i and 2i + 1), exact in float32.
  const u = mul(unit("randint", kk, [n, 2], "float32"), 2 ** 24);
  const [hi, lo] = splitOp(u, 2, 1).map((c) => reshape(c, shape));
  const i = cast(scaledFloor(hi, lo, range), "int32");
  return low === 0 ? i : add(i, low);
}

/**
 * `floor((hi·2²⁴ + lo) · range / 2⁴⁸)` for 24-bit integers `hi`, `lo` held
 * in float32 and `range ≤ 2²⁴`, exactly: the product is taken in base 2¹²
 * digits (each digit product below 2²⁴, each column sum below 2¹⁵), so
 * every step is exact float32 arithmetic on every backend. Each value in
 * `[0, range)` gets `⌊2⁴⁸/range⌋` or `⌈2⁴⁸/range⌉` of the 2⁴⁸ inputs: a
 * relative bias below 2⁻²⁴ (`floor(u·range)` of one 24-bit `u` had up to 2:1).
 */
function scaledFloor(hi: Tensor, lo: Tensor, range: number): Tensor {
  const S = 4096;
  const high = (x: Tensor) => floor(mul(x, 1 / S)); // x's digits above the lowest
  const digits = (x: Tensor): [Tensor, Tensor] => {
    const h = high(x);
    return [h, sub(x, mul(h, S))];
  };
  // hi·2²⁴ + lo = v3·S³ + v2·S² + v1·S + v0; range = r1·S + r0.
  const [v3, v2] = digits(hi), [v1, v0] = digits(lo);
  const r1 = Math.floor(range / S), r0 = range - r1 * S;
  // Each digit product vᵢ·rⱼ = H·S + L adds L to column i + j and H to the next.
  const [h10, l10] = digits(mul(v1, r0)), [h01, l01] = digits(mul(v0, r1));
  const [h20, l20] = digits(mul(v2, r0)), [h11, l11] = digits(mul(v1, r1));
  const [h30, l30] = digits(mul(v3, r0)), [h21, l21] = digits(mul(v2, r1));
  const sum = (...xs: Tensor[]) => xs.reduce((a, b) => add(a, b));
  // Columns 1–3 with their carries (column 0 is below S: none).
  const c2 = high(sum(high(mul(v0, r0)), l10, l01));
  const c3 = high(sum(h10, h01, l20, l11, c2));
  const c4 = high(sum(h20, h11, l30, l21, c3));
  // Columns 4 and 5: what lies at S⁴ and above.
  return sum(mul(v3, r1), h30, h21, c4);
}

/**
 * A random permutation of `0 … n-1` (int32), or of the first axis of a
 * tensor.
 *
 * @param k A key.
 * @param n A count, or a tensor to shuffle along axis 0.
 * @returns The permutation (or the shuffled tensor).
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 * const p = random.permutation(random.key(0), 5);
 * console.log([...p.dataSync()].sort()); // [0, 1, 2, 3, 4]
 * ```
 */
export function permutation(k: PRNGKey, n: number | Tensor): Tensor {
  const kk = checkKey("permutation", k);
  if (n instanceof Tensor) {
    if (n.ndim === 0) throw new ShapeError("random.permutation(): cannot shuffle a scalar");
    return take(n, permutation(kk, n.shape[0]), 0);
  }
  if (!Number.isInteger(n) || n < 0) {
    throw new ShapeError(`random.permutation(): n must be a non-negative integer, got ${n}`);
  }
  return guardAlloc("random.permutation", [n], "int32", backendOf(kk), () => {
    return argsort(bind(randomBitsPrim, [kk], { count: n }));
  });
}

/**
 * Options of `random.choice`.
 *
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 *
 * // A permutation-like draw: 5 distinct indices from 0 … 9.
 * const options: random.ChoiceOptions = { replace: false };
 * const idx = random.choice(random.key(0), 10, 5, options).arraySync() as number[];
 * console.log(new Set(idx).size); // 5
 * ```
 */
export interface ChoiceOptions {
  /** Sample with replacement (default true, like NumPy and JAX). */
  readonly replace?: boolean;
}

const CHOICE_KEYS: OptionKeys<ChoiceOptions> = { replace: "boolean" };

/**
 * `size` random picks from `0 … n-1` (int32): with replacement by default,
 * like the book's `np.random.choice(train_size, batch_size)`.
 *
 * @param k A key.
 * @param n How many items to pick from.
 * @param size How many picks (a number or a shape).
 * @param opts `replace` (default true).
 * @returns int32 indices.
 * @example
 * ```ts
 * import { random } from "@gradus/core";
 * const batch = random.choice(random.key(0), 60000, 100);
 * console.log(batch.shape); // [100]
 * ```
 */
export function choice(
  k: PRNGKey,
  n: number,
  size: number | readonly number[],
  opts: ChoiceOptions = {},
): Tensor {
  const kk = checkKey("choice", k);
  checkOptions("random.choice", opts, CHOICE_KEYS, "{ replace: false }");
  if (typeof size !== "number" && !Array.isArray(size)) {
    throw new TypeError(
      `random.choice(): size must be a number or a shape array, got ${describe(size)}; ` +
        `e.g. random.choice(key, n, [5]) draws 5 of 0..n-1`,
    );
  }
  const shape = typeof size === "number" ? [size] : [...size];
  checkShape("random.choice", shape);
  const count = sizeOf(shape);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(
      `random.choice(): n (draws are from 0..n-1) must be a positive integer, got ${describe(n)}`,
    );
  }
  if (opts.replace ?? true) return randint(kk, shape, 0, n);
  if (count > n) {
    throw new ShapeError(
      `random.choice(): cannot take ${count} samples without replacement from ${n} items`,
    );
  }
  return reshape(slice(permutation(kk, n), [0], [count]), shape);
}
