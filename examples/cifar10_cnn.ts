/**
 * A small CNN on CIFAR-10 (`[N, 3, 32, 32]`): two blocks of two 3×3
 * convolutions ("same" padding, ReLU) and a 2×2 max pool (32 then 64
 * filters), then dense 256 → ReLU → dense 10; He initialisation, Adam
 * (lr 0.001, batch 100); test accuracy after every epoch and the test
 * confusion matrix with class names.
 *
 * The data is loaded with `data.cifar10({ flatten: false })`; where it
 * cannot be had (no network access to its mirrors), the example stops with
 * the loader's message, which says exactly how to get the files.
 *
 * Writes `out/cifar10_cnn_{accuracy,confusion}.svg`.
 *
 * Run: `deno task example:cifar-cnn` (`-- --epochs=5` for fewer epochs).
 *
 * @module
 */

import { data, nn, setBackend } from "@gradus/core";
import { runWhenAvailable } from "./_common.ts";
import { type CnnExampleOptions, trainCnn, type TrainCnnResult } from "./simple_convnet.ts";
import { commandFlags, positiveInt } from "./_flags.ts";

/**
 * The network: [conv 3×3 → ReLU] × 2 → max pool 2×2, twice (32, then 64
 * filters), then dense 256 → ReLU → dense 10.
 *
 * @param width Filters of the first block (default 32; the second has twice as many).
 * @returns The network.
 */
export function cifarCnn(width = 32): nn.Layer<unknown, unknown> {
  const { conv2d, dense, flatten, maxPool2d, relu, sequential } = nn.layers;
  const block = (filters: number) =>
    [
      conv2d({ outChannels: filters, kernelSize: 3, padding: "same" }),
      relu,
      conv2d({ outChannels: filters, kernelSize: 3, padding: "same" }),
      relu,
      maxPool2d({ window: 2 }),
    ] as const;
  return sequential(...block(width), ...block(2 * width), flatten, dense(256), relu, dense(10));
}

/**
 * Trains and evaluates the network.
 *
 * @param opts `dataset` to use instead of CIFAR-10 (`[N, 3, H, W]`), `epochs`
 * (default 20), `width` (default 32), `outDir`, `log`.
 * @returns Accuracies and timings.
 */
export async function main(
  opts: CnnExampleOptions & { readonly width?: number } = {},
): Promise<TrainCnnResult> {
  return await trainCnn({
    name: "cifar10_cnn",
    title: "CIFAR-10 CNN",
    model: cifarCnn(opts.width),
    dataset: opts.dataset ?? (await data.cifar10({ flatten: false })),
    epochs: opts.epochs ?? 20,
    classNames: data.CIFAR10_CLASSES,
    outDir: opts.outDir,
    log: opts.log,
  });
}

if (import.meta.main) {
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  const epochs = positiveInt(commandFlags(["epochs"]).epochs, "epochs", 20);
  await runWhenAvailable(
    () => data.cifar10({ flatten: false }),
    (dataset) => main({ dataset, epochs }),
  );
}
