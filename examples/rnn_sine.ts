/**
 * A small recurrent network learns to continue sine waves: given the
 * samples of a wave up to time t, predict the sample at t + 1, over 100
 * time steps. An Elman RNN (1 input, 32 hidden units, tanh, a linear
 * read-out) trained with Adam on batches of 32 fresh waves of random
 * frequency and phase.
 *
 * The recurrence is `lax.scan`: the step function is traced once and the
 * loop is one primitive, so the jitted training step (forward scan,
 * backward scan, Adam update) is one program whatever the number of time
 * steps. `main({ mode: "unrolled" })` runs the same network as a JS loop
 * over time steps, eagerly: the losses are the same; the time per step is
 * not (see the README).
 *
 * Writes `out/rnn_sine_loss.svg`.
 *
 * Run: `deno task example:rnn`.
 *
 * @module
 */

import {
  add,
  arange,
  jit,
  lax,
  matmul,
  mean,
  mul,
  optim,
  plot,
  random,
  reshape,
  setBackend,
  sin,
  slice,
  square,
  sub,
  tanh,
  type Tensor,
  tidy,
  tree,
  valueAndGrad,
  zeros,
} from "@gradus/core";
import { commandFlags } from "./_flags.ts";

/** The RNN's parameters. */
export type Params = { Wx: Tensor; Wh: Tensor; b: Tensor; Wy: Tensor; by: Tensor };

/** Glorot-scaled normal weights, zero biases. */
export function initParams(key: ReturnType<typeof random.key>, hidden = 32): Params {
  const [k1, k2, k3] = random.split(key, 3);
  return {
    Wx: random.normal(k1, [1, hidden], { std: 1 }),
    Wh: random.normal(k2, [hidden, hidden], { std: 1 / Math.sqrt(hidden) }),
    b: zeros([hidden]),
    Wy: random.normal(k3, [hidden, 1], { std: 1 / Math.sqrt(hidden) }),
    by: zeros([1]),
  };
}

/**
 * A batch of `batch` sine waves of `steps + 1` samples, time-major:
 * inputs `[steps, batch, 1]` and next-sample targets of the same shape.
 */
export function sineBatch(
  key: ReturnType<typeof random.key>,
  batch = 32,
  steps = 100,
): { xs: Tensor; ys: Tensor } {
  return tidy(() => {
    const [kf, kp] = random.split(key);
    const freq = random.uniform(kf, [1, batch, 1], { min: 0.05, max: 0.25 });
    const phase = random.uniform(kp, [1, batch, 1], { min: 0, max: 2 * Math.PI });
    const t = reshape(arange(0, steps + 1, 1, { dtype: "float32" }), [steps + 1, 1, 1]);
    const wave = sin(add(mul(t, freq), phase));
    return {
      xs: slice(wave, [0], [steps]),
      ys: slice(wave, [1], [steps + 1]),
    };
  });
}

/** One step of the recurrence: the new hidden state. */
function cell(p: Params, h: Tensor, x: Tensor): Tensor {
  return tanh(add(add(matmul(x, p.Wx), matmul(h, p.Wh)), p.b));
}

/** Mean squared error of the next-sample predictions, the recurrence as `lax.scan`. */
export function lossScan(p: Params, xs: Tensor, ys: Tensor): Tensor {
  const h0 = zeros([xs.shape[1], p.Wh.shape[0]]);
  const [, hs] = lax.scan(
    (h: Tensor, x: Tensor) => {
      const n = cell(p, h, x);
      return [n, n];
    },
    h0,
    xs,
  );
  return mean(square(sub(add(matmul(hs, p.Wy), p.by), ys)));
}

/** The same loss with the recurrence as a JS loop over time steps (unrolled). */
export function lossUnrolled(p: Params, xs: Tensor, ys: Tensor): Tensor {
  const [steps, batch] = xs.shape;
  let h = zeros([batch, p.Wh.shape[0]]);
  let total: Tensor | null = null;
  for (let t = 0; t < steps; t++) {
    h = cell(p, h, reshape(slice(xs, [t], [t + 1]), [batch, 1]));
    const y = reshape(slice(ys, [t], [t + 1]), [batch, 1]);
    const e = mean(square(sub(add(matmul(h, p.Wy), p.by), y)));
    total = total === null ? e : add(total, e);
  }
  return mul(total!, 1 / steps);
}

/** Options of {@linkcode main}. */
export interface RnnSineOptions {
  /** `"scan"` (default): `lax.scan` under `jit`; `"unrolled"`: a JS loop over time steps, eager. */
  readonly mode?: "scan" | "unrolled";
  /** Training steps (default 300). */
  readonly steps?: number;
  /** Time steps per sequence (default 100). */
  readonly timeSteps?: number;
  /** Hidden units (default 32). */
  readonly hidden?: number;
  /** Seed (default 0). */
  readonly seed?: number;
  /** Where to write the plot (default "out"; null: none). */
  readonly outDir?: string | null;
  /** Print progress (default true). */
  readonly log?: boolean;
}

/** What {@linkcode main} returns. */
export interface RnnSineResult {
  /** The loss of every training step. */
  readonly losses: number[];
  /** Milliseconds per training step, the first (tracing) step excluded. */
  readonly msPerStep: number;
}

/**
 * Trains the RNN and writes the loss curve.
 *
 * @param opts See {@linkcode RnnSineOptions}.
 * @returns The losses and the time per step.
 */
export async function main(opts: RnnSineOptions = {}): Promise<RnnSineResult> {
  const { mode = "scan", steps = 300, timeSteps = 100, hidden = 32, outDir = "out", log = true } =
    opts;
  const [kInit, kData] = random.split(random.key(opts.seed ?? 0));
  let params = initParams(kInit, hidden);
  const opt = optim.adam(0.01);
  let state = opt.init(params);
  const loss = mode === "scan" ? lossScan : lossUnrolled;
  const trainStep = (p: Params, s: typeof state, xs: Tensor, ys: Tensor) => {
    const [l, g] = valueAndGrad(loss)(p, xs, ys);
    const [updates, s2] = opt.update(g, s, p);
    return { params: optim.applyUpdates(p, updates), state: s2, loss: l };
  };
  // Traced once; the parameters and the optimizer state are updated in place.
  const step = mode === "scan"
    ? jit(trainStep, { donateArgnums: [0, 1] })
    : (p: Params, s: typeof state, xs: Tensor, ys: Tensor) => tidy(() => trainStep(p, s, xs, ys));
  const keys = random.split(kData, steps);
  const losses: number[] = [];
  let t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    if (i === 1) t0 = performance.now(); // the first step traces and compiles
    const { xs, ys } = sineBatch(keys[i], 32, timeSteps);
    const out = step(params, state, xs, ys);
    if (mode !== "scan") tree.dispose([params, state]);
    tree.dispose([xs, ys]);
    [params, state] = [out.params, out.state];
    losses.push(await out.loss.item());
    out.loss.dispose();
    if (log && (i % 50 === 0 || i === steps - 1)) {
      console.log(`step ${String(i).padStart(4)}: loss ${losses[i].toFixed(5)}`);
    }
  }
  const msPerStep = steps > 1 ? (performance.now() - t0) / (steps - 1) : NaN;
  if (log) console.log(`${mode}: ${msPerStep.toFixed(2)} ms per training step`);
  if (outDir !== null) {
    await plot.save(
      `${outDir}/rnn_sine_loss.svg`,
      plot.lineChart({
        title: `RNN on sine waves (${timeSteps} time steps, lax.scan under jit): training loss`,
        xLabel: "step",
        yLabel: "mean squared error",
        series: [{ name: "loss", y: losses }],
      }),
    );
    if (log) console.log(`plot written to ${outDir}/rnn_sine_loss.svg`);
  }
  return { losses, msPerStep };
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  await main();
}
