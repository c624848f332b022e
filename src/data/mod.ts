/**
 * Datasets: loaders for MNIST, Fashion-MNIST and CIFAR-10 (with the IDX,
 * CIFAR-10 binary, tar and gzip readers under them, and the rules for where
 * the files come from), small synthetic sets, and minibatching.
 *
 * @example
 * ```ts ignore
 * import { data } from "@gradus/core";
 * const { train, test } = await data.mnist(); // x: float32 [N, 784] in 0..1, y: int32 [N]
 * ```
 *
 * @example
 * ```ts
 * import { data, random } from "@gradus/core";
 * const { x, y } = data.spiral({ key: random.key(0) });
 * for (const batch of data.batches({ x, y }, { batchSize: 30, key: random.key(1) })) {
 *   console.log(batch.x.shape); // [30, 2] (10 times)
 * }
 * ```
 *
 * @module
 */

export * from "./batching.ts";
export {
  cifar10,
  CIFAR10_CLASSES,
  CIFAR10_SPEC,
  type Dataset,
  type DatasetOptions,
  type DatasetSplit,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_SPEC,
  fashionMnist,
  mnist,
  MNIST_SPEC,
} from "./datasets.ts";
export {
  CIFAR10_IMAGE_BYTES,
  CIFAR10_RECORD_BYTES,
  type Cifar10Batch,
  parseCifar10,
  type ParseCifar10Options,
} from "./cifar.ts";
export { DataFormatError, DatasetUnavailableError } from "./errors.ts";
export { gunzip, gzip, isGzip } from "./gzip.ts";
export {
  encodeIdx,
  type IdxArray,
  type IdxData,
  type IdxType,
  parseIdx,
  type ParseIdxOptions,
} from "./idx.ts";
export {
  type ArchiveSpec,
  cacheDirectory,
  type Checksums,
  type DataFileSpec,
  type DataSetSpec,
  ENV_VARS,
  type ResolvedFiles,
  resolveFiles,
  type ResolveOptions,
} from "./sources.ts";
export { spiral, type SpiralOptions, xor, type XY } from "./synthetic.ts";
export {
  createTar,
  readTar,
  readTarGz,
  type ReadTarOptions,
  type TarEntry,
  type TarInput,
} from "./tar.ts";
