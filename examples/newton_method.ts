/**
 * Newton's method with `hessian`: `x ← x − H(x)⁻¹ ∇f(x)`, on the book's
 * chapter 4 function f(x0, x1) = x0² + x1² (a quadratic: one step lands on
 * the minimum, where gradient descent with learning rate 0.1 needs about
 * 100 steps to get within 1e-9), and on a logistic regression (the
 * gradient falls to rounding within a few steps).
 *
 * The Hessian is `jacfwd(jacrev(f))` (`hessian`), the gradient `jacrev`;
 * the small linear solves are written out (Gaussian elimination).
 *
 * Float64 throughout (the gradient falls to 1e-17): it runs on `wasm` (the
 * default) and `cpu`; `webgpu` has no float64 and says so.
 *
 * Run: `deno run examples/newton_method.ts` (or `deno task example:newton`).
 *
 * @module
 */

import { hessian, jacrev, matmul, type Tensor, tensor } from "@gradus/core";
import { commandFlags } from "./_flags.ts";

/** `A⁻¹ b` by Gaussian elimination with partial pivoting (small dense systems). */
export function solve(A: Tensor, b: Tensor): Tensor {
  const n = b.size;
  const a = [...A.dataSync()], x = [...b.dataSync()];
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) p = r;
    for (let k = 0; k < n; k++) [a[c * n + k], a[p * n + k]] = [a[p * n + k], a[c * n + k]];
    [x[c], x[p]] = [x[p], x[c]];
    for (let r = c + 1; r < n; r++) {
      const m = a[r * n + c] / a[c * n + c];
      for (let k = c; k < n; k++) a[r * n + k] -= m * a[c * n + k];
      x[r] -= m * x[c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    for (let k = r + 1; k < n; k++) x[r] -= a[r * n + k] * x[k];
    x[r] /= a[r * n + r];
  }
  return tensor(x, { dtype: b.dtype });
}

/** Newton's method from `x0` for `steps` steps; returns the gradient norm after each step. */
export function newton(f: (x: Tensor) => Tensor, x0: Tensor, steps: number): {
  x: Tensor;
  gradNorms: number[];
} {
  let x = x0;
  const gradNorms: number[] = [];
  for (let i = 0; i < steps; i++) {
    x = x.sub(solve(hessian(f)(x), jacrev(f)(x)));
    gradNorms.push(Math.hypot(...jacrev(f)(x).dataSync()));
  }
  return { x, gradNorms };
}

/** What {@linkcode main} returns. */
export interface NewtonResult {
  /** The quadratic's point after one Newton step from (-3, 4). */
  readonly quadratic: number[];
  /** The logistic regression's weights after the steps. */
  readonly weights: number[];
  /** The logistic regression's gradient norm after each step. */
  readonly gradNorms: number[];
}

/**
 * Runs both problems.
 *
 * @param opts `log` (default false): print the iterations.
 * @returns The results.
 */
export function main(opts: { log?: boolean } = {}): NewtonResult {
  const log = opts.log ?? false;
  const f = (x: Tensor) => x.square().sum();
  const q = newton(f, tensor([-3, 4], { dtype: "float64" }), 1);
  if (log) console.log(`x0² + x1²: one Newton step from (-3, 4) lands on (${q.x.arraySync()})`);

  // A logistic regression on data that is not separable (so the optimum is finite).
  const X = tensor([[1, 0.5], [1, -1], [1, 2], [1, 0], [1, 1.5], [1, -0.5]], { dtype: "float64" });
  const t = tensor([1, 0, 1, 0, 0, 1], { dtype: "float64" });
  const loss = (w: Tensor) => {
    const z = matmul(X, w);
    return z.exp().add(1).log().sub(t.mul(z)).mean(); // mean of log(1 + eᶻ) − t·z
  };
  const r = newton(loss, tensor([0, 0], { dtype: "float64" }), 6);
  if (log) {
    r.gradNorms.forEach((g, i) =>
      console.log(`logistic regression, step ${i + 1}: |∇| = ${g.toExponential(2)}`)
    );
  }
  return {
    quadratic: [...q.x.dataSync()],
    weights: [...r.x.dataSync()],
    gradNorms: r.gradNorms,
  };
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  main({ log: true });
}
