/**
 * The book's optimizer comparison (chapter 6.1), in two parts.
 *
 * 1. Paths on f(x, y) = x²/20 + y² from (−7, 2): SGD (lr 0.95), Momentum
 *    (0.1), AdaGrad (1.5), RMSProp (0.1) and Adam (0.3), 30 steps each.
 *    SGD zig-zags along the steep y axis; the others head for the minimum.
 * 2. MNIST: a 5-layer ReLU net (4 hidden layers of 100, He init), batch 128,
 *    2000 iterations with each optimizer (SGD 0.01, Momentum 0.01,
 *    AdaGrad 0.01, RMSProp 0.001, Adam 0.001); the loss curves.
 *
 * Writes `out/optimizers_paths.svg` and `out/optimizers_mnist_loss.svg`.
 *
 * Run: `deno task example:optimizers` (part 2 needs MNIST; see README).
 *
 * @module
 */

import {
  data,
  grad,
  type GradientTransformation,
  mul,
  nn,
  optim,
  plot,
  random,
  setBackend,
  square,
  sum,
  type Tensor,
  tensor,
} from "@gradus/core";
import { smooth, type Split, train } from "./_common.ts";
import { commandFlags } from "./_flags.ts";

/** The optimizers compared, with the book's learning rates for f(x, y). */
export const PATH_OPTIMIZERS: Record<string, GradientTransformation<unknown>> = {
  SGD: optim.sgd(0.95),
  Momentum: optim.momentum(0.1),
  AdaGrad: optim.adagrad(1.5),
  RMSProp: optim.rmsprop(0.1),
  Adam: optim.adam(0.3),
};

/** f(x, y) = x²/20 + y², for a tensor `[x, y]`. */
export function f(p: Tensor): Tensor {
  return sum(mul(square(p), tensor([1 / 20, 1], { dtype: p.dtype })));
}

/** Runs each optimizer on f from (−7, 2); returns the visited points. */
export async function paths(steps = 30): Promise<Record<string, [number, number][]>> {
  const out: Record<string, [number, number][]> = {};
  const df = grad(f);
  for (const [name, opt] of Object.entries(PATH_OPTIMIZERS)) {
    let p = tensor([-7, 2]);
    let s = opt.init(p);
    const path: [number, number][] = [[-7, 2]];
    for (let i = 0; i < steps; i++) {
      const [u, next] = opt.update(df(p), s, p);
      p = optim.applyUpdates(p, u);
      s = next;
      const [x, y] = await p.data();
      path.push([x, y]);
    }
    out[name] = path;
  }
  return out;
}

/** Options of {@linkcode main}. */
export interface OptimizersOptions {
  /** MNIST iterations per optimizer (default 2000). */
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
 * @param opts See {@linkcode OptimizersOptions}.
 * @returns The paths and the final smoothed MNIST loss of each optimizer.
 */
export async function main(
  opts: OptimizersOptions = {},
): Promise<{ paths: Record<string, [number, number][]>; finalLoss: Record<string, number> }> {
  const { iters = 2000, outDir = "out", log = true } = opts;
  const visited = await paths();
  if (log) {
    for (const [name, path] of Object.entries(visited)) {
      const [x, y] = path.at(-1)!;
      console.log(
        `${name.padEnd(8)} after 30 steps: (${x.toFixed(4)}, ${y.toFixed(4)}), f = ${
          (x * x / 20 + y * y).toExponential(3)
        }`,
      );
    }
  }

  const { train: trainSet } = opts.dataset ?? (await data.mnist());
  const inputSize = trainSet.x.shape[1];
  const mnistOptimizers: Record<string, GradientTransformation<unknown>> = {
    SGD: optim.sgd(0.01),
    Momentum: optim.momentum(0.01),
    AdaGrad: optim.adagrad(0.01),
    RMSProp: optim.rmsprop(0.001),
    Adam: optim.adam(0.001),
  };
  const model = nn.mlp({ inputSize, hiddenSizes: [100, 100, 100, 100], outputSize: 10 });
  const init = model.init(random.key(0), [inputSize]);
  const curves: Record<string, number[]> = {};
  for (const [name, optimizer] of Object.entries(mnistOptimizers)) {
    const t0 = performance.now();
    const { losses } = await train({
      model,
      params: init.params,
      state: init.state,
      optimizer,
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
    // The contours f = 0.5, 2, 5, 10 as one grey dashed series (NaN separates the ellipses).
    const rings = [0.5, 2, 5, 10].map(ellipse);
    const contours = {
      name: "f = 0.5, 2, 5, 10",
      x: rings.flatMap((r) => [...r.x, NaN]),
      y: rings.flatMap((r) => [...r.y, NaN]),
      dashed: true,
      color: "#9e9e9e",
      markers: false,
    };
    await plot.save(
      `${outDir}/optimizers_paths.svg`,
      plot.lineChart({
        title: "Optimizer paths on f(x, y) = x²/20 + y² from (−7, 2), 30 steps",
        xLabel: "x",
        yLabel: "y",
        xMin: -10,
        xMax: 10,
        yMin: -5,
        yMax: 5,
        markers: true,
        series: [
          ...Object.entries(visited).map(([name, path]) => ({
            name,
            x: path.map((p) => p[0]),
            y: path.map((p) => p[1]),
          })),
          contours,
        ],
      }),
    );
    await plot.save(
      `${outDir}/optimizers_mnist_loss.svg`,
      plot.lineChart({
        title: `MNIST, 5-layer ReLU net: training loss (moving average of 50 iterations)`,
        xLabel: "iteration",
        yLabel: "loss",
        series: Object.entries(curves).map(([name, y]) => ({ name, y })),
      }),
    );
    if (log) console.log(`plots written to ${outDir}/optimizers_{paths,mnist_loss}.svg`);
  }
  const finalLoss = Object.fromEntries(Object.entries(curves).map(([k, v]) => [k, v.at(-1)!]));
  return { paths: visited, finalLoss };
}

/** Points on the contour f(x, y) = c. */
function ellipse(c: number): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i <= 100; i++) {
    const t = (2 * Math.PI * i) / 100;
    x.push(Math.sqrt(20 * c) * Math.cos(t));
    y.push(Math.sqrt(c) * Math.sin(t));
  }
  return { x, y };
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  await main();
}
