/**
 * A deep MLP on MNIST: 784-500-400-300-200-100-50-10 with LeakyReLU, He
 * initialisation and Adam (lr 1e-3 with cosine decay over 15 epochs, batch 128), trained on 80% of the
 * training set with the other 20% for validation; early stopping on
 * validation accuracy restores the best epoch's parameters. Prints the test
 * confusion matrix; test accuracy ≥ 0.98.
 *
 * Writes `out/mnist_mlp_adam_{accuracy,loss,confusion}.svg`.
 *
 * Run: `deno task example:mnist-adam`.
 *
 * @module
 */

import { data, setBackend } from "@gradus/core";
import { fitClassifier, type FitClassifierResult, type Split } from "./_common.ts";
import { commandFlags } from "./_flags.ts";

/**
 * Trains and evaluates the network.
 *
 * @param opts `dataset` to use instead of MNIST, `epochs` (default 15), `hiddenSizes`, `outDir`, `log`.
 * @returns Test accuracy and training details.
 */
export async function main(
  opts: {
    dataset?: { train: Split; test: Split };
    epochs?: number;
    hiddenSizes?: number[];
    outDir?: string | null;
    log?: boolean;
  } = {},
): Promise<FitClassifierResult> {
  return await fitClassifier({
    name: "mnist_mlp_adam",
    title: "MNIST, 784-500-400-300-200-100-50-10 LeakyReLU MLP, Adam",
    dataset: opts.dataset ?? (await data.mnist()),
    hiddenSizes: opts.hiddenSizes ?? [500, 400, 300, 200, 100, 50],
    epochs: opts.epochs ?? 15,
    outDir: opts.outDir,
    log: opts.log,
  });
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  await main();
}
