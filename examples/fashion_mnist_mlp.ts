/**
 * An MLP on Fashion-MNIST: hidden layers [500, 300, 100] with LeakyReLU, Adam (lr 1e-3, batch
 * 128), an 80/20 train/validation split and early stopping on validation
 * accuracy; prints the test confusion matrix with class names.
 *
 * The data is loaded with `data.fashionMnist()`; where it cannot be had (no
 * network access to its mirrors), the example stops with the loader's
 * message, which says exactly how to get the files.
 *
 * Writes `out/fashion_mnist_mlp_{accuracy,loss,confusion}.svg`.
 *
 * Run: `deno task example:fashion`.
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

/**
 * Trains and evaluates the network.
 *
 * @param opts `dataset` to use instead of Fashion-MNIST, `epochs` (default 30), `outDir`, `log`.
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
    name: "fashion_mnist_mlp",
    title: "Fashion-MNIST MLP",
    dataset: opts.dataset ?? (await data.fashionMnist()),
    hiddenSizes: [500, 300, 100],
    classNames: data.FASHION_MNIST_CLASSES,
    epochs: opts.epochs ?? 30,
    outDir: opts.outDir,
    log: opts.log,
  });
}

if (import.meta.main) {
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  await runWhenAvailable(data.fashionMnist, (dataset) => main({ dataset }));
}
