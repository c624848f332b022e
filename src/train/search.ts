/**
 * Random hyperparameter search, as in the book: sample each trial's
 * hyperparameters from a space of samplers (learning rate 10^U(−6, −2),
 * weight decay 10^U(−8, −4)), score each trial (e.g. validation accuracy)
 * and sort the trials best first.
 *
 * @module
 */

import { largestBelow } from "../core/dtype.ts";
import { bits, type PRNGKey, split } from "../random/random.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * Draws one hyperparameter value from a uniform number `u` in `[0, 1)`.
 * Made by {@linkcode logUniform}, {@linkcode uniformRange}, {@linkcode oneOf} and
 * {@linkcode intRange}; any object with a `sample(u)` method works.
 *
 * @typeParam T The value's type.
 *
 * @example
 * ```ts
 * import { random, randomSearch, type Sampler } from "@gradus/core";
 *
 * // A custom sampler: powers of two from 16 to 256.
 * const powerOfTwo: Sampler<number> = {
 *   description: "2^{4…8}",
 *   sample: (u) => 2 ** (4 + Math.min(Math.floor(u * 5), 4)),
 * };
 * const trials = await randomSearch({
 *   space: { batchSize: powerOfTwo },
 *   trials: 4,
 *   key: random.key(0),
 *   objective: ({ batchSize }) => -Math.abs(batchSize - 64),
 * });
 * console.log(trials.every((t) => [16, 32, 64, 128, 256].includes(t.params.batchSize))); // true
 * ```
 */
export interface Sampler<T> {
  /** A short description, e.g. `logUniform(1e-6, 1e-2)`. */
  readonly description: string;
  /** Maps `u`, uniform in `[0, 1)`, to a value. */
  sample(u: number): T;
}

/**
 * A search space: a sampler per hyperparameter name.
 *
 * @example
 * ```ts
 * import {
 *   intRange,
 *   logUniform,
 *   oneOf,
 *   random,
 *   randomSearch,
 *   type SearchSpace,
 * } from "@gradus/core";
 *
 * const space = {
 *   lr: logUniform(1e-4, 1e-1),
 *   layers: intRange(1, 3),
 *   activation: oneOf(["relu", "tanh"]),
 * } satisfies SearchSpace;
 * const [best] = await randomSearch({ space, trials: 3, key: random.key(0), objective: () => 0 });
 * console.log(Object.keys(best.params)); // [ "activation", "layers", "lr" ]
 * ```
 */
export type SearchSpace = Readonly<Record<string, Sampler<unknown>>>;

/**
 * The hyperparameters sampled from a space: the value type of each sampler.
 *
 * @example
 * ```ts
 * import { type HParams, intRange, logUniform } from "@gradus/core";
 *
 * const space = { lr: logUniform(1e-4, 1e-1), layers: intRange(1, 3) };
 * // { lr: number; layers: number }
 * const hparams: HParams<typeof space> = { lr: 0.01, layers: 2 };
 * console.log(hparams); // { lr: 0.01, layers: 2 }
 * ```
 */
export type HParams<Sp extends SearchSpace> = {
  -readonly [K in keyof Sp]: Sp[K] extends Sampler<infer T> ? T : never;
};

function checkRange(op: string, lo: number, hi: number): void {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
    throw new RangeError(`${op}: needs finite lo < hi, got lo ${lo} and hi ${hi}`);
  }
}

/**
 * Log-uniform samples in `[lo, hi)`: `10^U(log10 lo, log10 hi)`, so every
 * decade is equally likely — the book's learning rate `10^U(−6, −2)` is
 * `logUniform(1e-6, 1e-2)`.
 *
 * @param lo The smallest value (> 0).
 * @param hi The bound (> lo), not reached.
 * @returns A sampler of numbers.
 * @example
 * ```ts
 * import { logUniform } from "@gradus/core";
 * const lr = logUniform(1e-6, 1e-2);
 * console.log(lr.sample(0), lr.sample(0.5)); // ≈ 1e-6 ≈ 1e-4
 * ```
 */
export function logUniform(lo: number, hi: number): Sampler<number> {
  checkRange("logUniform()", lo, hi);
  if (!(lo > 0)) throw new RangeError(`logUniform(): needs lo > 0, got ${lo}`);
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  return {
    description: `logUniform(${lo}, ${hi})`,
    sample: (u) => within(10 ** (a + u * (b - a)), lo, hi),
  };
}

/** `x` kept in `[lo, hi)`: rounding can put `lo + u·(hi − lo)` (or its power) on either bound. */
function within(x: number, lo: number, hi: number): number {
  return Math.min(Math.max(x, lo), largestBelow(hi, "float64"));
}

/**
 * Uniform samples in `[lo, hi)`.
 *
 * @param lo The smallest value.
 * @param hi The bound (> lo), not reached.
 * @returns A sampler of numbers.
 * @example
 * ```ts
 * import { uniformRange } from "@gradus/core";
 * console.log(uniformRange(0, 0.5).sample(0.5)); // 0.25
 * ```
 */
export function uniformRange(lo: number, hi: number): Sampler<number> {
  checkRange("uniformRange()", lo, hi);
  return {
    description: `uniformRange(${lo}, ${hi})`,
    // lo·(1 − u) + hi·u: hi − lo overflows for bounds near ±1.8e308 (it gave NaN).
    sample: (u) => within(lo * (1 - u) + hi * u, lo, hi),
  };
}

/**
 * One of `values`, each equally likely.
 *
 * @typeParam T The values' type.
 * @param values The candidates (at least one).
 * @returns A sampler of the candidates.
 * @example
 * ```ts
 * import { oneOf } from "@gradus/core";
 * console.log(oneOf(["relu", "tanh"]).sample(0.7)); // "tanh"
 * ```
 */
export function oneOf<const T>(values: readonly T[]): Sampler<T> {
  if (!Array.isArray(values) || values.length === 0) {
    throw new RangeError(`oneOf(): needs a non-empty array of values`);
  }
  const copy = [...values];
  return {
    description: `oneOf(${JSON.stringify(copy)})`,
    sample: (u) => copy[Math.min(Math.floor(u * copy.length), copy.length - 1)],
  };
}

/**
 * Integers from `lo` to `hi`, **both included**, each equally likely
 * (`intRange(1, 3)` gives 1, 2 or 3).
 *
 * @param lo The smallest integer.
 * @param hi The largest integer (≥ lo), included.
 * @returns A sampler of integers.
 * @example
 * ```ts
 * import { intRange } from "@gradus/core";
 * const layers = intRange(1, 3);
 * console.log(layers.sample(0), layers.sample(0.99)); // 1 3
 * ```
 */
export function intRange(lo: number, hi: number): Sampler<number> {
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo) {
    throw new RangeError(`intRange(): needs integers lo ≤ hi, got lo ${lo} and hi ${hi}`);
  }
  const count = hi - lo + 1;
  return {
    description: `intRange(${lo}, ${hi})`,
    sample: (u) => lo + Math.min(Math.floor(u * count), count - 1),
  };
}

/**
 * One scored trial of {@linkcode randomSearch}.
 *
 * @example
 * ```ts
 * import { logUniform, random, randomSearch, type Trial } from "@gradus/core";
 *
 * const log: Trial<{ lr: number }>[] = [];
 * await randomSearch({
 *   space: { lr: logUniform(1e-4, 1e-1) },
 *   trials: 3,
 *   key: random.key(0),
 *   objective: ({ lr }) => lr,
 *   onTrial: (trial) => {
 *     log.push(trial);
 *   },
 * });
 * console.log(log.map((t) => t.index)); // [ 0, 1, 2 ]: in sampling order
 * ```
 */
export interface Trial<H> {
  /** The sampled hyperparameters. */
  readonly params: H;
  /** The objective's score. */
  readonly score: number;
  /** The trial's position in sampling order (from 0). */
  readonly index: number;
}

/**
 * Options of {@linkcode randomSearch}.
 *
 * @example
 * ```ts
 * import { logUniform, random, randomSearch, type RandomSearchOptions } from "@gradus/core";
 *
 * const space = { lr: logUniform(1e-4, 1e-1) };
 * const options: RandomSearchOptions<typeof space> = {
 *   space,
 *   trials: 5,
 *   key: random.key(0),
 *   mode: "min", // e.g. a validation loss
 *   objective: ({ lr }) => Math.abs(Math.log10(lr) + 2),
 * };
 * const trials = await randomSearch(options);
 * console.log(trials[0].score <= trials[4].score); // true: best (lowest) first
 * ```
 */
export interface RandomSearchOptions<Sp extends SearchSpace> {
  /** A sampler per hyperparameter, e.g. `{ lr: logUniform(1e-6, 1e-2) }`. */
  readonly space: Sp;
  /** How many trials (a positive integer). */
  readonly trials: number;
  /** The key: it fixes every trial's hyperparameters and the key passed to the objective. */
  readonly key: PRNGKey;
  /**
   * Scores one set of hyperparameters (e.g. trains briefly and returns the
   * validation accuracy); gets a fresh key per trial and the trial's index.
   */
  readonly objective: (
    hparams: HParams<Sp>,
    key: PRNGKey,
    index: number,
  ) => number | Promise<number>;
  /** `"max"` (default): higher scores are better; `"min"`: lower are. */
  readonly mode?: "max" | "min";
  /** Called after each trial, in sampling order. */
  readonly onTrial?: (trial: Trial<HParams<Sp>>) => void | Promise<void>;
}

const SEARCH_KEYS: OptionKeys<RandomSearchOptions<SearchSpace>> = {
  space: true,
  trials: true,
  key: true,
  objective: true,
  mode: true,
  onTrial: true,
};

/**
 * Random search: samples `trials` sets of hyperparameters from `space`,
 * scores each with `objective` (one after another), and returns the trials
 * sorted best first (NaN scores last; ties keep sampling order).
 *
 * Sampling is deterministic for a key: the uniform numbers are 32-bit words
 * of `random.bits` (one per trial and hyperparameter, hyperparameters in
 * sorted-name order) read back once, since hyperparameters are host
 * numbers; no global random state is used.
 *
 * @typeParam Sp The search space's type.
 * @param options `space`, `trials`, `key`, `objective`; optionally `mode`
 * (default `"max"`) and `onTrial`.
 * @returns The trials, best first.
 * @example
 * ```ts
 * import { logUniform, random, randomSearch } from "@gradus/core";
 * const trials = await randomSearch({
 *   space: { lr: logUniform(1e-6, 1e-2), weightDecay: logUniform(1e-8, 1e-4) },
 *   trials: 5,
 *   key: random.key(0),
 *   // A stand-in for "train, then return the validation accuracy".
 *   objective: ({ lr }) => -Math.abs(Math.log10(lr) + 3),
 * });
 * console.log(trials[0].params.lr); // the lr closest to 1e-3 of the five
 * ```
 */
export async function randomSearch<Sp extends SearchSpace>(
  options: RandomSearchOptions<Sp>,
): Promise<Trial<HParams<Sp>>[]> {
  const op = "randomSearch()";
  checkOptions<RandomSearchOptions<SearchSpace>>(
    "randomSearch",
    options as RandomSearchOptions<SearchSpace>,
    SEARCH_KEYS,
    "{ space, trials: 20, key, objective }",
    true,
  );
  const { space, trials, key, objective, mode = "max", onTrial } = options;
  if (!Number.isInteger(trials) || trials < 1) {
    throw new RangeError(`${op}: trials must be a positive integer, got ${trials}`);
  }
  if (mode !== "max" && mode !== "min") {
    throw new TypeError(`${op}: mode must be "max" or "min", got ${mode}`);
  }
  if (typeof objective !== "function") {
    throw new TypeError(`${op}: objective must be a function (hparams, key) => score`);
  }
  const names = Object.keys(space).sort();
  for (const name of names) {
    const s = space[name] as unknown;
    if (
      typeof s !== "object" || s === null || typeof (s as Sampler<unknown>).sample !== "function"
    ) {
      throw new TypeError(
        `${op}: space.${name} must be a sampler such as logUniform(lo, hi), uniformRange(lo, hi), oneOf([...]) or intRange(lo, hi)`,
      );
    }
  }
  const [sampleKey, objectiveKey] = split(key);
  const words = names.length === 0
    ? new Int32Array(0)
    : await bits(sampleKey, [trials, names.length]).data();
  const keys = split(objectiveKey, trials);
  const results: Trial<HParams<Sp>>[] = [];
  for (let t = 0; t < trials; t++) {
    const hparams: Record<string, unknown> = {};
    names.forEach((name, j) => {
      const u = (words[t * names.length + j] >>> 0) / 2 ** 32;
      hparams[name] = space[name].sample(u);
    });
    const params = hparams as HParams<Sp>;
    const score = await objective(params, keys[t], t);
    if (typeof score !== "number") {
      throw new TypeError(
        `${op}: the objective must return a number, got ${typeof score} (trial ${t}); read a tensor with await x.item()`,
      );
    }
    const trial: Trial<HParams<Sp>> = { params, score, index: t };
    results.push(trial);
    await onTrial?.(trial);
  }
  const sign = mode === "max" ? -1 : 1;
  return results.sort((a, b) => {
    const an = Number.isNaN(a.score);
    const bn = Number.isNaN(b.score);
    if (an || bn) return an === bn ? a.index - b.index : an ? 1 : -1;
    return sign * (a.score - b.score) || a.index - b.index;
  });
}
