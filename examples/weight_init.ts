/**
 * Weight initialisation (chapter 6.2 of the book), in two parts.
 *
 * 1. Activation distributions: 1000 random inputs through 5 layers of 100
 *    units, with sigmoid and with ReLU, for weights drawn with std 1, std
 *    0.01, Xavier (1/√n) and He (√(2/n)). With sigmoid, std 1 saturates at
 *    0 and 1 and std 0.01 collapses to 0.5; Xavier keeps them spread. With
 *    ReLU, He keeps every layer alive.
 * 2. MNIST: a 5-layer ReLU net (4 hidden layers of 100), SGD lr 0.01,
 *    batch 128, 2000 iterations with std 0.01, Xavier and He; std 0.01
 *    barely learns.
 *
 * Writes `out/weight_init_<activation>_<init>.svg` histograms and
 * `out/weight_init_mnist_loss.svg`.
 *
 * Run: `deno task example:weight-init` (part 2 needs MNIST; see README).
 *
 * @module
 */

import { data, matmul, nn, optim, plot, random, setBackend, type Tensor } from "@gradus/core";
import { smooth, type Split, train } from "./_common.ts";
import { commandFlags } from "./_flags.ts";

/** The initialisations compared: name → weight std for fan-in n. */
export const INITS: Record<string, (n: number) => number> = {
  "std 1": () => 1,
  "std 0.01": () => 0.01,
  Xavier: (n) => 1 / Math.sqrt(n),
  He: (n) => Math.sqrt(2 / n),
};

/** Activations of each of the 5 layers for one activation and init, as host arrays. */
export async function layerActivations(
  activation: (x: Tensor) => Tensor,
  std: number,
  seed = 0,
): Promise<Float32Array[]> {
  const keys = random.split(random.key(seed), 6);
  let x = random.normal(keys[0], [1000, 100]);
  const out: Float32Array[] = [];
  for (let layer = 0; layer < 5; layer++) {
    const w = random.normal(keys[layer + 1], [100, 100], { std });
    x = activation(matmul(x, w));
    out.push((await x.data()) as Float32Array);
  }
  return out;
}

/** Options of {@linkcode main}. */
export interface WeightInitOptions {
  /** MNIST iterations per initialisation (default 2000). */
  readonly iters?: number;
  /** Data to use instead of MNIST. */
  readonly dataset?: { train: Split; test: Split };
  /** Where plots go (default "out"; null: none). */
  readonly outDir?: string | null;
  /** Print progress (default true). */
  readonly log?: boolean;
}

/**
 * Runs both parts and writes the plots.
 *
 * @param opts See {@linkcode WeightInitOptions}.
 * @returns The fraction of saturated sigmoid outputs per init, and the final smoothed MNIST loss per init.
 */
export async function main(
  opts: WeightInitOptions = {},
): Promise<{ saturation: Record<string, number>; finalLoss: Record<string, number> }> {
  const { iters = 2000, outDir = "out", log = true } = opts;
  const saturation: Record<string, number> = {};
  const cases: [string, (x: Tensor) => Tensor, string[]][] = [
    ["sigmoid", nn.sigmoid, ["std 1", "std 0.01", "Xavier"]],
    ["relu", nn.relu, ["std 0.01", "Xavier", "He"]],
  ];
  for (const [actName, act, inits] of cases) {
    for (const init of inits) {
      const acts = await layerActivations(act, INITS[init](100));
      if (actName === "sigmoid") {
        const last = acts[4];
        saturation[init] = last.filter((v) => v < 0.05 || v > 0.95).length / last.length;
      }
      if (log) {
        const means = acts.map((a) => a.reduce((s, v) => s + v, 0) / a.length);
        console.log(
          `${actName.padEnd(7)} ${init.padEnd(8)} layer means: ${
            means.map((m) => m.toFixed(3)).join(" ")
          }`,
        );
      }
      if (outDir !== null) {
        const file = `${outDir}/weight_init_${actName}_${
          init.replace(/[ .]/g, "").toLowerCase()
        }.svg`;
        await plot.save(
          file,
          plot.histograms({
            title: `${actName} activations, weights ${init}${
              init.startsWith("std") ? "" : " init"
            }`,
            panels: acts.map((values, i) => ({ title: `layer ${i + 1}`, values })),
            bins: 30,
            range: [0, 1],
          }),
        );
      }
    }
  }

  const { train: trainSet } = opts.dataset ?? (await data.mnist());
  const inputSize = trainSet.x.shape[1];
  const curves: Record<string, number[]> = {};
  for (const name of ["std 0.01", "Xavier", "He"]) {
    const init = name === "std 0.01"
      ? nn.init.normal(0.01)
      : name === "Xavier"
      ? nn.init.xavier()
      : nn.init.he();
    const model = nn.mlp({ inputSize, hiddenSizes: [100, 100, 100, 100], outputSize: 10, init });
    const { params, state } = model.init(random.key(0), [inputSize]);
    const t0 = performance.now();
    const { losses } = await train({
      model,
      params,
      state,
      optimizer: optim.sgd(0.01),
      train: trainSet,
      iters,
      batchSize: 128,
      key: random.key(1),
    });
    curves[name] = smooth(losses, 50);
    if (log) {
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(
        `MNIST ${name.padEnd(8)} loss ${losses[0].toFixed(3)} → ${
          curves[name].at(-1)!.toFixed(4)
        } (${s} s)`,
      );
    }
  }
  if (outDir !== null) {
    await plot.save(
      `${outDir}/weight_init_mnist_loss.svg`,
      plot.lineChart({
        title: "MNIST, 5-layer ReLU net, SGD lr 0.01: loss by weight init (moving average of 50)",
        xLabel: "iteration",
        yLabel: "loss",
        series: Object.entries(curves).map(([name, y]) => ({ name, y })),
      }),
    );
    if (log) console.log(`plots written to ${outDir}/weight_init_*.svg`);
  }
  const finalLoss = Object.fromEntries(Object.entries(curves).map(([k, v]) => [k, v.at(-1)!]));
  return { saturation, finalLoss };
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  await main();
}
