/**
 * An MLP on CIFAR-10: hidden layers [1000, 500, 200] with LeakyReLU, Adam (lr 1e-3, batch
 * 128), an 80/20 train/validation split and early stopping on validation
 * accuracy; prints the test confusion matrix with class names.
 *
 * The data is loaded with `data.cifar10()`; where it cannot be had (no
 * network access to its mirrors), the example stops with the loader's
 * message, which says exactly how to get the files.
 *
 * Writes `out/cifar10_mlp_{accuracy,loss,confusion}.svg`.
 *
 * Run: `deno task example:cifar`.
 *
 * @module
 */

import { data, setBackend } from "@gradus/core";
import {
  fitClassifier,
  type FitClassifierResult,
  runWhenAvailable,
  type Split,
} from "./_common.ts";
import { commandFlags } from "./_flags.ts";

/**
 * Trains and evaluates the network.
 *
 * @param opts `dataset` to use instead of CIFAR-10, `epochs` (default 30), `outDir`, `log`.
 * @returns Test accuracy and training details.
 */
export async function main(
  opts: {
    dataset?: { train: Split; test: Split };
    epochs?: number;
    outDir?: string | null;
    log?: boolean;
  } = {},
): Promise<FitClassifierResult> {
  return await fitClassifier({
    name: "cifar10_mlp",
    title: "CIFAR-10 MLP",
    dataset: opts.dataset ?? (await data.cifar10()),
    hiddenSizes: [1000, 500, 200],
    classNames: data.CIFAR10_CLASSES,
    epochs: opts.epochs ?? 30,
    outDir: opts.outDir,
    log: opts.log,
  });
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  await runWhenAvailable(data.cifar10, (dataset) => main({ dataset }));
}
