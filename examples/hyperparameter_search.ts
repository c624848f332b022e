/**
 * Hyperparameter search (chapter 6.5 of the book): random search of the
 * learning rate (10^U(−6, −2)) and weight decay (10^U(−8, −4)) for a 7-layer
 * ReLU net trained on 500 MNIST images, scored by accuracy on a 20%
 * validation split (never the test set), 50 epochs per trial. Lists the best
 * trials; good learning rates cluster around 10⁻³–10⁻².
 *
 * Writes `out/hyperparameter_search.svg` (validation accuracy per epoch of
 * the best trials) and `out/hyperparameter_search_scatter.svg` (score
 * against learning rate).
 *
 * Run: `deno task example:hyperparameter-search` (`--trials N`, default 50).
 *
 * @module
 */

import {
  data,
  logUniform,
  nn,
  optim,
  plot,
  random,
  randomSearch,
  setBackend,
  trainValidSplit,
} from "@gradus/core";
import { accuracy, type Split, subset, train } from "./_common.ts";
import { commandFlags, positiveInt } from "./_flags.ts";

/** Options of {@linkcode main}. */
export interface SearchOptions {
  /** Trials (default 50; the book runs 100). */
  readonly trials?: number;
  /** Epochs per trial (default 50). */
  readonly epochs?: number;
  /** Data to use instead of MNIST. */
  readonly dataset?: { train: Split; test: Split };
  /** Where plots go (default "out"; null: none). */
  readonly outDir?: string | null;
  /** Print progress (default true). */
  readonly log?: boolean;
}

/** One finished trial. */
export interface SearchTrial {
  readonly lr: number;
  readonly weightDecay: number;
  /** Final validation accuracy. */
  readonly score: number;
  /** Validation accuracy per epoch. */
  readonly curve: number[];
}

/**
 * Runs the search and writes the plots.
 *
 * @param opts See {@linkcode SearchOptions}.
 * @returns Trials sorted best first.
 */
export async function main(opts: SearchOptions = {}): Promise<SearchTrial[]> {
  const { trials = 50, epochs = 50, outDir = "out", log = true } = opts;
  const dataset = opts.dataset ?? (await data.mnist());
  const [trainSet, validSet] = trainValidSplit(subset(dataset.train, 500), {
    validFraction: 0.2,
    key: random.key(0),
  });
  const inputSize = trainSet.x.shape[1];
  const model = nn.mlp({ inputSize, hiddenSizes: [100, 100, 100, 100, 100, 100], outputSize: 10 });
  const batchSize = 100;
  const itersPerEpoch = Math.max(1, Math.floor(trainSet.x.shape[0] / batchSize));
  const curves = new Map<number, number[]>();
  const t0 = performance.now();
  const results = await randomSearch({
    space: { lr: logUniform(1e-6, 1e-2), weightDecay: logUniform(1e-8, 1e-4) },
    trials,
    key: random.key(1),
    mode: "max",
    objective: async ({ lr, weightDecay }, key) => {
      const [kInit, kTrain] = random.split(key);
      const init = model.init(kInit, [inputSize]);
      const curve: number[] = [];
      await train({
        model,
        params: init.params,
        state: init.state,
        optimizer: optim.sgd(lr),
        train: trainSet,
        iters: itersPerEpoch * epochs,
        batchSize,
        key: kTrain,
        weightDecay,
        onStep: async (i, params, state) => {
          if ((i + 1) % itersPerEpoch === 0) {
            curve.push(await accuracy(model, params, state, validSet));
          }
        },
      });
      curves.set(lr, curve);
      return curve.at(-1)!;
    },
    onTrial: (t) => {
      if (log) {
        console.log(
          `trial ${String(t.index + 1).padStart(3)}: val acc ${t.score.toFixed(3)}  lr ${
            t.params.lr.toExponential(2)
          }  weight decay ${t.params.weightDecay.toExponential(2)}`,
        );
      }
    },
  });
  const sorted: SearchTrial[] = results.map((t) => ({
    lr: t.params.lr,
    weightDecay: t.params.weightDecay,
    score: t.score,
    curve: curves.get(t.params.lr) ?? [],
  }));
  if (log) {
    console.log(
      `\n=========== best ${Math.min(5, sorted.length)} of ${trials} trials (${
        ((performance.now() - t0) / 1000).toFixed(0)
      } s) ===========`,
    );
    sorted.slice(0, 5).forEach((t, i) => {
      console.log(
        `best-${i + 1} (val acc ${t.score.toFixed(3)}) | lr ${
          t.lr.toExponential(3)
        }, weight decay ${t.weightDecay.toExponential(3)}`,
      );
    });
  }
  if (outDir !== null) {
    await plot.save(
      `${outDir}/hyperparameter_search.svg`,
      plot.lineChart({
        title: `Validation accuracy per epoch, best ${
          Math.min(8, sorted.length)
        } of ${trials} trials`,
        xLabel: "epoch",
        yLabel: "validation accuracy",
        yMin: 0,
        yMax: 1,
        series: sorted.slice(0, 8).map((t, i) => ({
          name: `#${i + 1} lr ${t.lr.toExponential(1)}, wd ${t.weightDecay.toExponential(1)}`,
          x: t.curve.map((_, e) => e + 1),
          y: t.curve,
        })),
      }),
    );
    await plot.save(
      `${outDir}/hyperparameter_search_scatter.svg`,
      plot.lineChart({
        title: "Final validation accuracy against learning rate (one point per trial)",
        xLabel: "log10(learning rate)",
        yLabel: "validation accuracy",
        yMin: 0,
        yMax: 1,
        markers: true,
        series: [{
          name: "trials",
          x: [...sorted].sort((a, b) => a.lr - b.lr).map((t) => Math.log10(t.lr)),
          y: [...sorted].sort((a, b) => a.lr - b.lr).map((t) => t.score),
          dashed: true,
        }],
      }),
    );
    if (log) console.log(`plots written to ${outDir}/hyperparameter_search{,_scatter}.svg`);
  }
  return sorted;
}

if (import.meta.main) {
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  const { trials } = commandFlags(["trials"]);
  await main({ trials: trials === undefined ? undefined : positiveInt(trials, "trials", 0) });
}
