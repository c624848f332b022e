/**
 * Overfitting and two remedies (chapter 6.4 of the book): a 7-layer ReLU net
 * (6 hidden layers of 100) trained on only 300 MNIST images with SGD (lr
 * 0.01, batch 100): without regularization it fits the training set
 * perfectly while test accuracy stalls; weight decay (λ = 0.1) and dropout
 * (rate 0.2) narrow the gap between training and test accuracy.
 *
 * Writes `out/overfitting_<variant>.svg` (train and test accuracy per epoch)
 * and `out/overfitting_gap.svg` (train − test accuracy per epoch).
 *
 * Training is one `fit` call per variant; its `onEpoch` callback gets the
 * current parameters, so both accuracies are measured after every epoch
 * without a hand-written loop.
 *
 * Run: `deno task example:overfitting`.
 *
 * @module
 */

import { add, data, fit, nn, optim, plot, random, setBackend } from "@gradus/core";
import { accuracy, type Split, subset } from "./_common.ts";
import { commandFlags } from "./_flags.ts";

/** Options of {@linkcode main}. */
export interface OverfittingOptions {
  /** Epochs (default 200). */
  readonly epochs?: number;
  /** Data to use instead of MNIST. */
  readonly dataset?: { train: Split; test: Split };
  /** Test examples used for the test accuracy (default 10 000). */
  readonly testSize?: number;
  /** Where plots go (default "out"; null: none). */
  readonly outDir?: string | null;
  /** Print progress (default true). */
  readonly log?: boolean;
}

/** Train and test accuracy per epoch, per variant. */
export type OverfittingResult = Record<string, { train: number[]; test: number[] }>;

/**
 * Trains the three variants and writes the plots.
 *
 * @param opts See {@linkcode OverfittingOptions}.
 * @returns Accuracy curves per variant.
 */
export async function main(opts: OverfittingOptions = {}): Promise<OverfittingResult> {
  const { epochs = 200, outDir = "out", log = true } = opts;
  const dataset = opts.dataset ?? (await data.mnist());
  const trainSet = subset(dataset.train, 300);
  const testSet = subset(dataset.test, Math.min(opts.testSize ?? 10000, dataset.test.x.shape[0]));
  const inputSize = trainSet.x.shape[1];
  const variants: [string, { weightDecay?: number; dropout?: number }][] = [
    ["no regularization", {}],
    ["weight decay 0.1", { weightDecay: 0.1 }],
    ["dropout 0.2", { dropout: 0.2 }],
  ];
  const result: OverfittingResult = {};
  for (const [name, v] of variants) {
    const t0 = performance.now();
    const model = nn.mlp({
      inputSize,
      hiddenSizes: [100, 100, 100, 100, 100, 100],
      outputSize: 10,
      dropout: v.dropout ?? 0,
    });
    const { params, state } = model.init(random.key(0), [inputSize]);
    const curves = { train: [] as number[], test: [] as number[] };
    await fit({
      params,
      optimizer: optim.sgd(0.01),
      // softmax cross entropy, plus the book's weight decay ½λΣW² on the weight matrices
      loss: (p, batch: Split, ctx) => {
        const [logits] = model.apply(p, state, batch.x, ctx); // dropout in training steps only
        const loss = nn.softmaxCrossEntropy(logits, batch.y);
        if (v.weightDecay === undefined) return loss;
        const decay = nn.l2Penalty(p, { filter: (path) => path.endsWith(".w") });
        return add(loss, decay.mul(v.weightDecay));
      },
      data: trainSet,
      epochs,
      batchSize: 100, // 3 steps per epoch
      key: random.key(1),
      quiet: true,
      onEpoch: async (_entry, current) => {
        curves.train.push(await accuracy(model, current.params, state, trainSet));
        curves.test.push(await accuracy(model, current.params, state, testSet));
      },
    });
    result[name] = curves;
    if (log) {
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(
        `${name.padEnd(18)} train ${curves.train.at(-1)!.toFixed(3)}  test ${
          curves.test.at(-1)!.toFixed(3)
        }  gap ${(curves.train.at(-1)! - curves.test.at(-1)!).toFixed(3)}  (${s} s)`,
      );
    }
  }
  if (outDir !== null) {
    for (const [name, c] of Object.entries(result)) {
      const x = c.train.map((_, i) => i + 1);
      await plot.save(
        `${outDir}/overfitting_${name.split(" ")[0]}.svg`,
        plot.lineChart({
          title: `300 training images, 7-layer net: ${name}`,
          xLabel: "epoch",
          yLabel: "accuracy",
          yMin: 0,
          yMax: 1,
          series: [{ name: "train", x, y: c.train }, { name: "test", x, y: c.test, dashed: true }],
        }),
      );
    }
    await plot.save(
      `${outDir}/overfitting_gap.svg`,
      plot.lineChart({
        title: "Train − test accuracy per epoch",
        xLabel: "epoch",
        yLabel: "accuracy gap",
        series: Object.entries(result).map(([name, c]) => ({
          name,
          x: c.train.map((_, i) => i + 1),
          y: c.train.map((t, i) => t - c.test[i]),
        })),
      }),
    );
    if (log) console.log(`plots written to ${outDir}/overfitting_*.svg`);
  }
  return result;
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  await main();
}
