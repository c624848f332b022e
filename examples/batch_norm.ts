/**
 * Batch normalization (chapter 6.3 of the book): a 6-layer ReLU net (5
 * hidden layers of 100) trained on 1000 MNIST images with SGD (lr 0.01,
 * batch 100) for 20 epochs, with and without batch norm, for 16 weight
 * scales from 1 down to 1e-4 (weights ~ N(0, scale²)). Without batch norm,
 * training only works in a narrow band of scales; with it, almost
 * everywhere, and faster.
 *
 * Writes `out/batch_norm_scales.svg` (final training accuracy against the
 * weight scale) and `out/batch_norm_curves.svg` (accuracy per epoch for four
 * scales).
 *
 * Run: `deno task example:batch-norm`.
 *
 * @module
 */

import { data, nn, optim, plot, random, setBackend } from "@gradus/core";
import { accuracy, type Split, subset, train } from "./_common.ts";
import { commandFlags } from "./_flags.ts";

/** Options of {@linkcode main}. */
export interface BatchNormOptions {
  /** Training examples (default 1000). */
  readonly n?: number;
  /** Epochs (default 20). */
  readonly epochs?: number;
  /** Weight scales (default: 16 values logarithmically spaced from 1 to 1e-4). */
  readonly scales?: number[];
  /** Data to use instead of MNIST. */
  readonly dataset?: { train: Split; test: Split };
  /** Where plots go (default "out"; null: none). */
  readonly outDir?: string | null;
  /** Print progress (default true). */
  readonly log?: boolean;
}

/** Accuracy per epoch with and without batch norm, per weight scale. */
export type BatchNormResult = { scale: number; plain: number[]; batchNorm: number[] }[];

/**
 * Runs the comparison and writes the plots.
 *
 * @param opts See {@linkcode BatchNormOptions}.
 * @returns Training accuracy per epoch for each scale, with and without batch norm.
 */
export async function main(opts: BatchNormOptions = {}): Promise<BatchNormResult> {
  const { n = 1000, epochs = 20, outDir = "out", log = true } = opts;
  const scales = opts.scales ?? Array.from({ length: 16 }, (_, i) => 10 ** (-4 * i / 15));
  const trainSet = subset((opts.dataset ?? (await data.mnist())).train, n);
  const inputSize = trainSet.x.shape[1];
  const batchSize = 100;
  const itersPerEpoch = Math.max(1, Math.floor(n / batchSize));
  const results: BatchNormResult = [];
  const t0 = performance.now();
  for (const scale of scales) {
    const row = { scale, plain: [] as number[], batchNorm: [] as number[] };
    for (const bn of [false, true]) {
      const model = nn.mlp({
        inputSize,
        hiddenSizes: [100, 100, 100, 100, 100],
        outputSize: 10,
        batchNorm: bn,
        init: nn.init.normal(scale),
      });
      const init = model.init(random.key(0), [inputSize]);
      const curve = bn ? row.batchNorm : row.plain;
      await train({
        model,
        params: init.params,
        state: init.state,
        optimizer: optim.sgd(0.01),
        train: trainSet,
        iters: itersPerEpoch * epochs,
        batchSize,
        key: random.key(1),
        onStep: async (i, params, state) => {
          if ((i + 1) % itersPerEpoch === 0) {
            curve.push(await accuracy(model, params, state, trainSet));
          }
        },
      });
    }
    results.push(row);
    if (log) {
      console.log(
        `weight scale ${scale.toExponential(2)}: final train accuracy without BN ${
          row.plain.at(-1)!.toFixed(3)
        }, with BN ${row.batchNorm.at(-1)!.toFixed(3)}`,
      );
    }
  }
  if (log) console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`);

  if (outDir !== null) {
    await plot.save(
      `${outDir}/batch_norm_scales.svg`,
      plot.lineChart({
        title: `Final training accuracy after ${epochs} epochs vs initial weight scale`,
        xLabel: "log10(weight scale)",
        yLabel: "training accuracy",
        yMin: 0,
        yMax: 1,
        markers: true,
        series: [
          {
            name: "with batch norm",
            x: results.map((r) => Math.log10(r.scale)),
            y: results.map((r) => r.batchNorm.at(-1)!),
          },
          {
            name: "without",
            x: results.map((r) => Math.log10(r.scale)),
            y: results.map((r) => r.plain.at(-1)!),
            dashed: true,
          },
        ],
      }),
    );
    const picks = [0, 5, 10, 15].filter((i) => i < results.length).map((i) => results[i]);
    await plot.save(
      `${outDir}/batch_norm_curves.svg`,
      plot.lineChart({
        title: "Training accuracy per epoch (solid: batch norm, dashed: without)",
        xLabel: "epoch",
        yLabel: "training accuracy",
        yMin: 0,
        yMax: 1,
        series: picks.flatMap((r) => [
          {
            name: `BN, scale ${r.scale.toPrecision(2)}`,
            y: r.batchNorm,
            x: r.batchNorm.map((_, i) => i + 1),
          },
          {
            name: `plain, scale ${r.scale.toPrecision(2)}`,
            y: r.plain,
            x: r.plain.map((_, i) => i + 1),
            dashed: true,
          },
        ]),
      }),
    );
    if (log) console.log(`plots written to ${outDir}/batch_norm_{scales,curves}.svg`);
  }
  return results;
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  await main();
}
