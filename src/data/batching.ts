/**
 * Minibatches from a dataset held as a pytree of tensors that share a
 * leading (example) axis, e.g. `{ x: [N, 784], y: [N] }`: shuffled
 * minibatches per epoch ({@linkcode batches}), the book's
 * `np.random.choice` sampling ({@linkcode randomBatch}) and a shuffled
 * train/validation split ({@linkcode trainValidSplit}).
 *
 * Everything stays on the backend: shuffling is `random.permutation(key, N)`
 * followed by `take` on each leaf, so no values are read back to the host.
 *
 * @example
 * ```ts
 * import { batches, random, tensor } from "@gradus/core";
 * const data = { x: tensor([[0], [1], [2], [3], [4]]), y: tensor([0, 1, 0, 1, 0]) };
 * for (const batch of batches(data, { batchSize: 2, key: random.key(0) })) {
 *   console.log(batch.x.shape, batch.y.shape); // [2, 1] [2], [2, 1] [2], then [1, 1] [1]
 * }
 * ```
 *
 * @module
 */

import { fmtShape, ShapeError } from "../core/errors.ts";
import { Tensor } from "../core/tensor.ts";
import { tidy } from "../autodiff/tidy.ts";
import { describe } from "../ops/convert.ts";
import { slice } from "../ops/movement.ts";
import { take } from "../ops/take.ts";
import { tensor } from "../ops/creation.ts";
import { choice, permutation, type PRNGKey } from "../random/random.ts";
import { randintOnHost } from "../random/_keys.ts";
import { flattenWithPath, map } from "../tree/tree.ts";
import { CompactImages } from "./compact_images.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * What a batch of `D` is: `D` with every {@linkcode CompactImages} leaf
 * replaced by the float32 tensor its rows become (a dataset of tensors
 * only gives batches of its own type).
 *
 * @typeParam D A dataset's type.
 * @example
 * ```ts
 * import { data, type Tensor } from "@gradus/core";
 *
 * type Split = { x: data.CompactImages; y: Tensor };
 * const useBatch = (batch: data.Batch<Split>): Tensor => batch.x; // a float32 tensor
 * console.log(typeof useBatch); // "function"
 * ```
 */
export type Batch<D> = D extends CompactImages ? Tensor
  : D extends Tensor ? D
  : D extends object ? { [K in keyof D]: Batch<D[K]> }
  : D;

/**
 * `true` when `D` has a {@linkcode CompactImages} leaf within four levels
 * (for the overloads of {@linkcode batches} and {@linkcode randomBatch};
 * the bound keeps recursive pytree types finite).
 *
 * @typeParam D A dataset's type.
 * @typeParam Depth The levels looked through so far.
 * @example
 * ```ts
 * import type { data, Tensor } from "@gradus/core";
 *
 * const yes: data.HasCompact<{ x: data.CompactImages; y: Tensor }> = true;
 * const no: data.HasCompact<{ x: Tensor }> = false;
 * console.log(yes, no); // true false
 * ```
 */
export type HasCompact<D, Depth extends unknown[] = []> = Depth["length"] extends 4 ? false
  : D extends CompactImages ? true
  : D extends Tensor ? false
  : D extends object
    ? true extends { [K in keyof D]-?: HasCompact<D[K], [...Depth, unknown]> }[keyof D] ? true
    : false
  : false;

/**
 * `unknown` for datasets known to hold {@linkcode CompactImages}, `never`
 * otherwise: the first overloads of {@linkcode batches} and
 * {@linkcode randomBatch} take `D & WithCompact<D>`, so only such datasets
 * match them (and get {@linkcode Batch} batches); a generic `D` (inside
 * another generic function) takes the overload returning `D`.
 *
 * @typeParam D A dataset's type.
 * @example
 * ```ts
 * import type { data } from "@gradus/core";
 *
 * const ok: data.WithCompact<{ x: data.CompactImages }> = "anything";
 * console.log(ok); // "anything"
 * ```
 */
export type WithCompact<D> = HasCompact<D> extends true ? unknown : never;

/**
 * Options of {@linkcode numExamples}.
 *
 * @example
 * ```ts
 * import { data, zeros } from "@gradus/core";
 *
 * const options: data.NumExamplesOptions = { op: "train()", root: "batch" };
 * console.log(data.numExamples({ x: zeros([32, 784]), y: zeros([32]) }, options)); // 32
 * try {
 *   data.numExamples({ x: zeros([32, 784]), y: zeros([30]) }, options);
 * } catch (e) {
 *   console.log((e as Error).message.startsWith("train()")); // true: the error names the caller
 * }
 * ```
 */
export interface NumExamplesOptions {
  /** The caller's name, at the start of error messages (default `"numExamples()"`). */
  readonly op?: string;
  /** The name of the root in key paths (default `"data"`). */
  readonly root?: string;
}

/**
 * The number of examples in `data`: the common size of the leading axis of
 * every leaf. Throws a clear error, naming the key paths, when a leaf is not
 * a tensor, is a scalar, or when two leaves disagree.
 *
 * @param data A pytree of tensors sharing a leading (example) axis.
 * @param options `op` (default `"numExamples()"`) starts error messages;
 * `root` (default `"data"`) names the root in key paths.
 * @returns The number of examples.
 * @throws {ShapeError} When the leading axes differ, e.g. `batches(): leading
 * (example) axes differ: data.x has 10 examples but data.y has 9 (shape [9]); …`.
 * @example
 * ```ts
 * import { numExamples, zeros } from "@gradus/core";
 * console.log(numExamples({ x: zeros([10, 3]), y: zeros([10]) })); // 10
 * ```
 */
export function numExamples(data: unknown, options: NumExamplesOptions = {}): number {
  const { op = "numExamples()", root = "data" } = options;
  const [pairs] = flattenWithPath(data, root);
  if (pairs.length === 0) {
    throw new TypeError(
      `${op}: data has no tensors; expected a pytree such as { x, y } of tensors`,
    );
  }
  let n = -1;
  let firstPath = "";
  for (const [path, leaf] of pairs) {
    if (!(leaf instanceof Tensor || leaf instanceof CompactImages)) {
      throw new TypeError(
        `${op}: ${path} must be a tensor or data.CompactImages, got ${describe(leaf)}`,
      );
    }
    if (leaf.shape.length === 0) {
      throw new ShapeError(
        `${op}: ${path} is a scalar; every leaf needs a leading (example) axis`,
      );
    }
    if (n < 0) {
      n = leaf.shape[0];
      firstPath = path;
    } else if (leaf.shape[0] !== n) {
      throw new ShapeError(
        `${op}: leading (example) axes differ: ${firstPath} has ${n} examples but ${path} has ${
          leaf.shape[0]
        } (shape ${fmtShape(leaf.shape)}); every leaf needs the same leading axis`,
      );
    }
  }
  return n;
}

function checkBatchSize(op: string, batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`${op}: batchSize must be a positive integer, got ${batchSize}`);
  }
}

/**
 * How many batches one pass over `n` examples gives.
 *
 * @param n The number of examples.
 * @param batchSize The batch size (a positive integer).
 * @param dropLast Whether a last, smaller batch is dropped (default false).
 * @returns `ceil(n / batchSize)`, or `floor(n / batchSize)` with `dropLast`.
 * @example
 * ```ts
 * import { numBatches } from "@gradus/core";
 * console.log(numBatches(10, 3), numBatches(10, 3, true)); // 4 3
 * ```
 */
export function numBatches(n: number, batchSize: number, dropLast = false): number {
  checkBatchSize("numBatches()", batchSize);
  if (typeof dropLast !== "boolean") {
    throw new TypeError(`numBatches(): dropLast must be true or false, got ${describe(dropLast)}`);
  }
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`numBatches(): n must be a non-negative integer, got ${n}`);
  }
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/**
 * Options of {@linkcode batches}.
 *
 * @example
 * ```ts
 * import { arange, data, random } from "@gradus/core";
 *
 * const x = arange(10);
 * const options: data.BatchOptions = { batchSize: 4, key: random.key(0), dropLast: true };
 * for (const batch of data.batches({ x }, options)) {
 *   console.log(batch.x.shape); // [4] twice: the last 2 examples are dropped
 * }
 * ```
 */
export interface BatchOptions {
  /** Examples per batch (a positive integer). */
  readonly batchSize: number;
  /** The key for shuffling; needed when `shuffle` is true. */
  readonly key?: PRNGKey;
  /** Shuffle the examples first (default: true when a `key` is given, false otherwise). */
  readonly shuffle?: boolean;
  /** Drop a last batch smaller than `batchSize` (default false). */
  readonly dropLast?: boolean;
}

/**
 * Takes the rows `indices` (or the range `[start, stop)`) of every leaf, as
 * tensors (compact images decoded to float32).
 */
function selectRows<D>(data: D, rows: Tensor | readonly [number, number]): Batch<D> {
  const batch = map((leaf: Tensor | CompactImages) => {
    if (rows instanceof Tensor) {
      return leaf instanceof Tensor ? take(leaf, rows, 0) : leaf.take(rows);
    }
    return leaf instanceof Tensor
      ? slice(leaf, [rows[0]], [rows[1]])
      : leaf.slice(rows[0], rows[1]);
  }, data);
  return batch as Batch<D>;
}

/** Takes the rows `indices` of every leaf, compact images staying compact. */
function subsetRows<D>(data: D, rows: Tensor): D {
  return map(
    (leaf: Tensor | CompactImages) =>
      leaf instanceof Tensor ? take(leaf, rows, 0) : leaf.subset(rows),
    data,
  );
}

const BATCH_KEYS: OptionKeys<BatchOptions> = {
  batchSize: true,
  key: true,
  shuffle: "boolean",
  dropLast: "boolean",
};

/**
 * Splits a dataset into minibatches for one epoch: every example appears in
 * exactly one batch (except those of a dropped last batch). With a `key` the
 * order is a random permutation (`random.permutation(key, N)`, the same for
 * the same key); use a new key each epoch (`random.split`). Batches are made
 * lazily, one per iteration step, so only one batch's copies are alive at a
 * time; `Array.from(batches(…))` gives an array.
 *
 * @typeParam D The dataset's type; each batch has the same type, with
 * {@linkcode CompactImages} leaves as float32 tensors ({@linkcode Batch}).
 * @param data A pytree of tensors (or {@linkcode CompactImages}) sharing a
 * leading (example) axis.
 * @param options `batchSize`, and optionally `key`, `shuffle` (default: true
 * when a key is given) and `dropLast` (default false).
 * @returns A single-use iterator over the batches; there are
 * `numBatches(N, batchSize, dropLast)` of them.
 * @throws {ShapeError} When the leaves' leading axes differ (the message names
 * the key paths and sizes).
 * @example
 * ```ts
 * import { arange, batches } from "@gradus/core";
 * const data = { x: arange(5) };
 * const sizes = [...batches(data, { batchSize: 2 })].map((b) => b.x.shape[0]);
 * console.log(sizes); // [2, 2, 1]
 * ```
 */
export function batches<D>(
  data: D & WithCompact<D>,
  options: BatchOptions,
): IterableIterator<Batch<D>>;
/**
 * {@linkcode batches} of a dataset of tensors only (or of a generic `D`):
 * each batch has the dataset's own type.
 *
 * @typeParam D The dataset's type.
 * @param data A pytree of tensors sharing a leading (example) axis.
 * @param options `batchSize`, `key`, `shuffle`, `dropLast`.
 * @returns A single-use iterator over the batches.
 * @example
 * ```ts
 * import { arange, batches } from "@gradus/core";
 * console.log([...batches({ x: arange(4) }, { batchSize: 3 })].length); // 2
 * ```
 */
export function batches<D>(data: D, options: BatchOptions): IterableIterator<D>;
export function batches<D>(data: D, options: BatchOptions): IterableIterator<Batch<D>> {
  const op = "batches()";
  checkOptions("batches", options, BATCH_KEYS, "{ batchSize: 100, key, dropLast: true }", true);
  const { batchSize, key, dropLast = false } = options;
  const shuffle = options.shuffle ?? key !== undefined;
  checkBatchSize(op, batchSize);
  const n = numExamples(data, { op });
  if (shuffle && key === undefined) {
    throw new TypeError(`${op}: shuffle needs a key; pass { key } or set shuffle: false`);
  }
  const count = numBatches(n, batchSize, dropLast);
  const perm = shuffle ? permutation(key!, n) : undefined;
  function* gen(): Generator<Batch<D>, undefined, undefined> {
    for (let i = 0; i < count; i++) {
      const start = i * batchSize;
      const stop = Math.min(start + batchSize, n);
      yield perm === undefined
        ? selectRows(data, [start, stop])
        : selectRows(data, slice(perm, [start], [stop]));
    }
    return undefined;
  }
  return gen();
}

/**
 * One random minibatch of `batchSize` examples picked uniformly **with
 * replacement** — the book's `np.random.choice(train_size, batch_size)`
 * (NumPy's default `replace=True`), so an example may appear twice in a
 * batch. For epochs that see every example once, use {@linkcode batches}.
 * The picks are `random.choice(key, N, batchSize)`'s, computed on the host
 * where the key's words are known there (keys from `random.key` and
 * `random.split`), so a draw is one index upload and one gather per leaf.
 * {@linkcode CompactImages} leaves give float32 rows.
 *
 * @typeParam D The dataset's type.
 * @param key The key for the picks.
 * @param data A pytree of tensors (or {@linkcode CompactImages}) sharing a
 * leading (example) axis.
 * @param batchSize How many examples to pick (a positive integer).
 * @returns A batch with the structure of `data` ({@linkcode Batch}: compact
 * images become float32 tensors).
 * @example
 * ```ts
 * import { random, randomBatch, zeros } from "@gradus/core";
 * const data = { x: zeros([60, 784]), t: zeros([60, 10]) };
 * const batch = randomBatch(random.key(0), data, 10);
 * console.log(batch.x.shape, batch.t.shape); // [10, 784] [10, 10]
 * ```
 */
export function randomBatch<D>(
  key: PRNGKey,
  data: D & WithCompact<D>,
  batchSize: number,
): Batch<D>;
/**
 * {@linkcode randomBatch} of a dataset of tensors only (or of a generic
 * `D`): the batch has the dataset's own type.
 *
 * @typeParam D The dataset's type.
 * @param key The key for the picks.
 * @param data A pytree of tensors sharing a leading (example) axis.
 * @param batchSize How many examples to pick.
 * @returns A batch with the structure of `data`.
 * @example
 * ```ts
 * import { random, randomBatch, zeros } from "@gradus/core";
 * console.log(randomBatch(random.key(1), { x: zeros([8, 2]) }, 3).x.shape); // [3, 2]
 * ```
 */
export function randomBatch<D>(key: PRNGKey, data: D, batchSize: number): D;
export function randomBatch<D>(key: PRNGKey, data: D, batchSize: number): Batch<D> {
  const op = "randomBatch()";
  checkBatchSize(op, batchSize);
  const n = numExamples(data, { op });
  if (n === 0) throw new ShapeError(`${op}: cannot sample from a dataset with 0 examples`);
  // Freed at once: the draw's intermediates (a training loop calls this every step).
  return tidy(() => {
    // choice(key, n, batchSize)'s numbers, computed on the host where the
    // key's words are known there (one upload instead of five kernels).
    const picks = n <= 2 ** 24 ? randintOnHost(key, batchSize, 0, n) : null;
    return selectRows(data, picks === null ? choice(key, n, batchSize) : tensor(picks));
  });
}

/**
 * Options of {@linkcode trainValidSplit}.
 *
 * @example
 * ```ts
 * import { arange, data, random } from "@gradus/core";
 *
 * const options: data.TrainValidSplitOptions = { validFraction: 0.2, key: random.key(0) };
 * const [train, valid] = data.trainValidSplit({ x: arange(10) }, options);
 * console.log(train.x.shape, valid.x.shape); // [8] [2]
 * ```
 */
export interface TrainValidSplitOptions {
  /** The share of examples for validation, strictly between 0 and 1. */
  readonly validFraction: number;
  /** The key for the shuffle. */
  readonly key: PRNGKey;
}

const SPLIT_KEYS: OptionKeys<TrainValidSplitOptions> = { validFraction: true, key: true };

/**
 * Shuffles a dataset with `key` and splits it in two: the book's
 * `shuffle_dataset` followed by slicing off `floor(N · validFraction)`
 * examples for validation. {@linkcode CompactImages} leaves stay compact.
 *
 * @typeParam D The dataset's type.
 * @param data A pytree of tensors (or {@linkcode CompactImages}) sharing a
 * leading (example) axis.
 * @param options `validFraction` in (0, 1) and the shuffling `key`.
 * @returns `[train, valid]`, disjoint, together holding every example once.
 * @throws {RangeError} When `validFraction` is not in (0, 1) or either part
 * would be empty.
 * @example
 * ```ts
 * import { random, trainValidSplit, zeros } from "@gradus/core";
 * const data = { x: zeros([10, 2]), y: zeros([10]) };
 * const [train, valid] = trainValidSplit(data, { validFraction: 0.2, key: random.key(0) });
 * console.log(train.x.shape, valid.y.shape); // [8, 2] [2]
 * ```
 */
export function trainValidSplit<D>(data: D, options: TrainValidSplitOptions): [D, D] {
  const op = "trainValidSplit()";
  checkOptions("trainValidSplit", options, SPLIT_KEYS, "{ validFraction: 0.2, key }");
  const { validFraction, key } = options;
  if (typeof validFraction !== "number" || !(validFraction > 0 && validFraction < 1)) {
    throw new RangeError(
      `${op}: validFraction must be a number strictly between 0 and 1, got ${validFraction}`,
    );
  }
  if (key === undefined) {
    throw new TypeError(
      `${op}: key is missing: the split is random, e.g. { validFraction: 0.2, key: random.key(0) }`,
    );
  }
  const n = numExamples(data, { op });
  const nValid = Math.floor(n * validFraction);
  if (nValid === 0 || nValid === n) {
    throw new RangeError(
      `${op}: validFraction ${validFraction} of ${n} examples leaves ${
        nValid === 0 ? "no validation" : "no training"
      } examples; use more data or another fraction`,
    );
  }
  const perm = permutation(key, n);
  const valid = subsetRows(data, slice(perm, [0], [nValid]));
  const train = subsetRows(data, slice(perm, [nValid], [n]));
  return [train, valid];
}
