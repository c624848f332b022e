/**
 * Gradient descent on f(x0, x1) = x0² + x1², the example of chapter 4 of
 * *Deep Learning from Scratch*: start at (-3, 4), take 100 steps with
 * learning rate 0.1, and end next to the minimum at (0, 0).
 *
 * The gradient comes from `grad(f)` instead of numerical differentiation.
 * Each step multiplies x by 1 - 2·lr = 0.8, so after 100 steps
 * x = (-3, 4) · 0.8¹⁰⁰ ≈ (-6.1e-10, 8.1e-10).
 *
 * Runs in float64 so the path matches the book's NumPy output digit for
 * digit (float32 reaches the same point to about 7 significant digits).
 *
 * Run: `deno run examples/gradient_descent.ts` (or `deno task example:gd`).
 *
 * @module
 */

import { grad, sum, type Tensor, tensor } from "@gradus/core";
import { commandFlags } from "./_flags.ts";

/** What {@linkcode main} returns: the points visited and the final point. */
export interface GradientDescentResult {
  /** `[step, x0, x1]` at step 0, every 10 steps, and the final step. */
  readonly path: [step: number, x0: number, x1: number][];
  /** The point after the last step. */
  readonly final: [x0: number, x1: number];
}

/** f(x) = x0² + x1²: the sum of squares of a two-element tensor. */
function f(x: Tensor): Tensor {
  return sum(x.square());
}

/**
 * Runs gradient descent on {@linkcode f} and returns the path.
 *
 * @param opts `stepNum` (default 100), `lr` (default 0.1) and `log`
 * (default false: print each recorded point).
 * @returns The recorded points and the final point.
 */
export function main(
  opts: { stepNum?: number; lr?: number; log?: boolean } = {},
): GradientDescentResult {
  const { stepNum = 100, lr = 0.1, log = false } = opts;
  const df = grad(f); // df(x) = (2·x0, 2·x1)

  let x = tensor([-3, 4], { dtype: "float64" });
  const path: [number, number, number][] = [];
  const record = (step: number) => {
    const [x0, x1] = x.dataSync();
    path.push([step, x0, x1]);
    if (log) console.log(`step ${String(step).padStart(3)}: x = (${fmt(x0)}, ${fmt(x1)})`);
  };

  record(0);
  for (let step = 1; step <= stepNum; step++) {
    x = x.sub(df(x).mul(lr)); // x ← x - lr·∇f(x); tensors are immutable, so x is rebound
    if (step % 10 === 0 || step === stepNum) record(step);
  }
  const [x0, x1] = x.dataSync();
  if (log) console.log(`f(x) = ${f(x).itemSync().toExponential(8)}`);
  return { path, final: [x0, x1] };
}

function fmt(v: number): string {
  return v.toExponential(8).padStart(16);
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  main({ log: true });
}
