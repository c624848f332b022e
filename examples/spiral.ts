/**
 * The spiral dataset (three interleaved arms, 100 points each) learned by a
 * 2-10-3 network with a sigmoid hidden layer: SGD with learning rate 1.0,
 * 300 epochs of shuffled minibatches of 30, as in the book's spiral
 * experiment. A linear model cannot separate the arms; the small network
 * can. Uses `fit`.
 *
 * Writes `out/spiral_loss.svg` and `out/spiral_decision_boundary.svg`.
 *
 * Run: `deno run --allow-write examples/spiral.ts` (or `deno task example:spiral`).
 *
 * @module
 */

import { data, fit, metrics, nn, optim, plot, random, setBackend, type Tensor } from "@gradus/core";
import { commandFlags } from "./_flags.ts";

/** What {@linkcode main} returns. */
export interface SpiralResult {
  /** Mean training loss per epoch. */
  readonly epochLoss: number[];
  /** Accuracy on the training points after training. */
  readonly accuracy: number;
  /** Seconds the training took. */
  readonly seconds: number;
}

/**
 * Trains the network on the spiral and writes the plots.
 *
 * @param opts `epochs` (default 300), `seed` (default 0), `outDir` (default "out"; null: no plots), `log` (default true).
 * @returns Losses and the final accuracy.
 */
export async function main(
  opts: { epochs?: number; seed?: number; outDir?: string | null; log?: boolean } = {},
): Promise<SpiralResult> {
  const { epochs = 300, seed = 0, outDir = "out", log = true } = opts;
  const [kData, kInit, kFit] = random.split(random.key(seed), 3);
  const spiral = data.spiral({ pointsPerClass: 100, classes: 3, key: kData });

  // The book's TwoLayerNet: Affine(2→10) → Sigmoid → Affine(10→3), weights ~ N(0, 0.01²).
  const net = nn.mlp({
    inputSize: 2,
    hiddenSizes: [10],
    outputSize: 3,
    activation: "sigmoid",
    init: nn.init.normal(0.01),
  });
  const { params, state } = net.init(kInit, [2]);
  type Batch = { x: Tensor; y: Tensor };
  const logits = (p: typeof params, x: Tensor) => net.apply(p, state, x)[0];

  const t0 = performance.now();
  const result = await fit({
    params,
    optimizer: optim.sgd(1.0),
    loss: (p, b: Batch) => nn.softmaxCrossEntropy(logits(p, b.x), b.y),
    data: spiral,
    epochs,
    batchSize: 30,
    key: kFit,
    quiet: true,
    onEpoch: (e) => {
      if (log && (e.epoch % 30 === 0 || e.epoch === 1)) {
        console.log(`epoch ${String(e.epoch).padStart(3)}: loss ${e.loss.toFixed(4)}`);
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const accuracy = await metrics.accuracy(logits(result.params, spiral.x), spiral.y).item();
  const epochLoss = result.history.epochs.map((e) => e.loss);
  if (log) {
    console.log(
      `train accuracy ${accuracy.toFixed(4)} after ${epochs} epochs (${seconds.toFixed(1)} s)`,
    );
  }

  if (outDir !== null) {
    await plot.save(
      `${outDir}/spiral_loss.svg`,
      plot.lineChart({
        title: "Spiral: training loss (2-10-3 net, SGD lr 1.0, batch 30)",
        xLabel: "epoch",
        yLabel: "mean loss",
        series: [{ name: "loss", x: epochLoss.map((_, i) => i + 1), y: epochLoss }],
      }),
    );
    await plot.save(
      `${outDir}/spiral_decision_boundary.svg`,
      await plot.decisionBoundary({
        title: `Spiral: decision boundary (train accuracy ${(accuracy * 100).toFixed(1)}%)`,
        predict: (grid) => logits(result.params, grid),
        points: { x: (await spiral.x.array()) as number[][], y: [...(await spiral.y.data())] },
      }),
    );
    if (log) console.log(`plots written to ${outDir}/spiral_{loss,decision_boundary}.svg`);
  }
  return { epochLoss, accuracy, seconds };
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  await main();
}
