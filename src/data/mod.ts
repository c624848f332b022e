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
 * @example From this entry point (`@gradus/core/data`)
 * ```ts
 * import { batches, spiral } from "@gradus/core/data";
 * import { random } from "@gradus/core";
 *
 * const { x, y } = spiral({ pointsPerClass: 20, key: random.key(0) });
 * let n = 0;
 * for (const batch of batches({ x, y }, { batchSize: 16, key: random.key(1) })) {
 *   n += batch.x.shape[0];
 * }
 * console.log(x.shape, n); // [60, 2] 60
 * ```
 *
 * @module
 */

// Whole files are re-exported: `deno doc` (and so JSR) lists the members of
// the `export * as` namespaces in mod.ts only when they come through
// `export *`. What is not public lives in `_`-prefixed files.
import "../ops/tensor_methods.ts"; // installs Tensor's methods (x.add(y), x.sum(), …)

export * from "./batching.ts";
export * from "./datasets.ts";
export * from "./dataset_specs.ts";
export * from "./cifar.ts";
export * from "./compact_images.ts";
export * from "./errors.ts";
export * from "./gzip.ts";
export * from "./idx.ts";
export * from "./source_specs.ts";
export * from "./sources.ts";
export * from "./synthetic.ts";
export * from "./tar.ts";
