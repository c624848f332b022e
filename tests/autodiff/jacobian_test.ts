/**
 * `jacrev`, `jacfwd` and `hessian` (built on `vmap`) against closed forms
 * and float64 central differences, over pytrees and `argnums`, under `jit`,
 * and Newton's method with the Hessian of a logistic regression.
 */

import assert from "node:assert/strict";
import {
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  linearize,
  matmul,
  mul,
  nn,
  reshape,
  sum,
  take,
  type Tensor,
  tensor,
  transpose,
} from "../../mod.ts";
import { assertClose, randn } from "../_helpers.ts";

const f64 = (v: number[] | number[][]) => tensor(v, { dtype: "float64" });

/** `H⁻¹·g` for a 2×2 `H` (Cramer's rule). */
function solve2(H: Tensor, g: Tensor): Tensor {
  const [a, b, c, d] = H.dataSync(), [e, f] = g.dataSync();
  const det = a * d - b * c;
  return f64([(d * e - b * f) / det, (a * f - c * e) / det]);
}

/** The Jacobian of `f` at `x` by central differences (float64), shape out + in. */
function numericJacobian(f: (x: Tensor) => Tensor, x: Tensor, eps = 1e-6): number[] {
  const base = [...x.dataSync()];
  const y0 = f(x);
  const cols: number[][] = base.map((_, j) => {
    const plus = base.slice(), minus = base.slice();
    plus[j] += eps;
    minus[j] -= eps;
    const yp = [...f(tensor(plus, { shape: x.shape, dtype: "float64" })).dataSync()];
    const ym = [...f(tensor(minus, { shape: x.shape, dtype: "float64" })).dataSync()];
    return yp.map((v, i) => (v - ym[i]) / (2 * eps));
  });
  const out: number[] = [];
  for (let i = 0; i < y0.size; i++) for (let j = 0; j < base.length; j++) out.push(cols[j][i]);
  return out;
}

Deno.test("jacrev, jacfwd: closed forms (linear map, elementwise square)", () => {
  const A = f64([[1, 2, 3], [4, 5, 6]]);
  const lin = (x: Tensor) => matmul(A, x);
  for (const jac of [jacrev, jacfwd]) {
    assert.deepEqual(jac(lin)(f64([1, 1, 1])).arraySync(), A.arraySync());
    const sq = (x: Tensor) => x.square();
    assertClose(jac(sq)(f64([1, -2, 3])), [2, 0, 0, 0, -4, 0, 0, 0, 6], { atol: 0, rtol: 0 });
  }
});

Deno.test("jacrev, jacfwd: a nonlinear map [2,2] → [3] against central differences in float64", () => {
  const W = randn(1, [3, 4]);
  const f = (x: Tensor) => nn.softmax(matmul(W, reshape(x, [4])).tanh()).mul(sum(x.exp()));
  const x = randn(2, [2, 2]);
  const want = numericJacobian(f, x);
  for (const jac of [jacrev, jacfwd]) {
    const J = jac(f)(x);
    assert.deepEqual(J.shape, [3, 2, 2]);
    assertClose(J, want, { atol: 1e-8, rtol: 1e-6 });
  }
  // Through a gather, a reduction and a product: both modes agree.
  const g = (x: Tensor) => matmul(take(x, [1, 0, 1], 0), transpose(x)).sum(1);
  assertClose(jacrev(g)(x), jacfwd(g)(x).dataSync(), { atol: 1e-12, rtol: 1e-12 });
});

Deno.test("hessian: the book's f(x0, x1) = x0² + x1², and a cubic against differences of the gradient", () => {
  const f = (x: Tensor) => sum(x.square());
  assert.deepEqual(hessian(f)(f64([3, 4])).arraySync(), [[2, 0], [0, 2]]);
  const c = (x: Tensor) => sum(x.mul(x).mul(x)).add(x.mul(take(x, [1, 2, 0], 0)).sum());
  const x = f64([0.5, -1, 2]);
  const grad = (y: Tensor) => jacrev(c)(y);
  assertClose(hessian(c)(x), numericJacobian(grad, x), { atol: 1e-7, rtol: 1e-6 });
});

Deno.test("jacobians over pytrees and argnums; under jit; errors", () => {
  const A = f64([[1, 2, 3], [4, 5, 6]]);
  const g = (p: { w: Tensor }, x: Tensor) => ({ y: matmul(A, x).tanh(), z: sum(p.w.mul(x)) });
  const p = { w: f64([1, 2, 3]) }, x = f64([0.1, 0.2, 0.3]);
  for (const jac of [jacrev, jacfwd]) {
    const J = jac(g, { argnums: [0, 1] })(p, x);
    assert.deepEqual(J.y[0].w.shape, [2, 3]); // y does not depend on w: zeros
    assert.deepEqual([...J.y[0].w.dataSync()], [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(J.y[1].shape, [2, 3]);
    assert.deepEqual(J.z[0].w.arraySync(), [0.1, 0.2, 0.3]);
    assert.deepEqual(J.z[1].arraySync(), [1, 2, 3]);
    const only = jac(g, { argnums: 1 })(p, x);
    assertClose(only.y, J.y[1].dataSync(), { atol: 0, rtol: 0 });
  }
  const h = (x: Tensor) => sum(matmul(A, x).tanh().square());
  assertClose(jit(hessian(h))(x), hessian(h)(x).dataSync(), { atol: 1e-12, rtol: 1e-12 });
  assert.throws(() => jacrev(g, { argnums: 2 })(p, x), /argnums 2 is out of range/);
  assert.throws(
    () => jacrev((v: Tensor) => [mul(v, 2), 3])(x),
    /^TypeError: jacrev\(\): the function must return tensors .* output\[1\] is number 3/,
  );
  assert.throws(
    () => jacfwd((i: Tensor) => i.mul(2))(tensor([1, 2], { dtype: "int32" })),
    /cannot differentiate with respect to args\[0\]: it has dtype int32/,
  );
});

Deno.test("Newton's method with hessian: a logistic regression converges in a few steps", () => {
  // Data that is not separable, so the optimum is finite.
  const X = f64([[1, 0.5], [1, -1], [1, 2], [1, 0], [1, 1.5], [1, -0.5]]);
  const t = f64([1, 0, 1, 0, 0, 1]);
  const loss = (w: Tensor) => {
    const z = matmul(X, w);
    // mean of log(1 + e^z) - t·z
    return z.exp().add(1).log().sub(t.mul(z)).mean();
  };
  let w = f64([0, 0]);
  // The closed form at w = 0 (every p = 1/2): H = Xᵀ·diag(p(1 − p))·X / n = XᵀX / (4n).
  const rows = X.arraySync() as number[][];
  const xtx = [0, 1].flatMap((i) =>
    [0, 1].map((j) => rows.reduce((acc, r) => acc + r[i] * r[j], 0) / (4 * rows.length))
  );
  assertClose(hessian(loss)(w), xtx, { atol: 1e-15, rtol: 1e-12 });
  const losses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const g = jacrev(loss)(w), H = hessian(loss)(w);
    w = w.sub(solve2(H, g));
    losses.push(loss(w).itemSync());
  }
  // Quadratic convergence: the gradient vanishes to rounding.
  assertClose(jacrev(loss)(w), [0, 0], { atol: 1e-12, rtol: 0 });
  assert.ok(losses[5] <= losses[0]);
});

Deno.test("linearize: the jvp at a point, f run once, the tangent map linear", () => {
  let calls = 0;
  const W = randn(3, [3, 4]);
  const f = (x: Tensor) => {
    calls++;
    return matmul(W, x).tanh().exp();
  };
  const x = randn(4, [4]);
  const [y, fJvp] = linearize(f, x);
  assertClose(y, f(x).dataSync(), { atol: 0, rtol: 0 });
  const before = calls;
  const t1 = randn(5, [4]), t2 = randn(6, [4]);
  for (const t of [t1, t2, t1.mul(2.5).add(t2)]) {
    assertClose(fJvp(t), jvp(f, [x], [t])[1].dataSync(), { atol: 1e-12, rtol: 1e-12 });
  }
  assert.equal(calls - before, 3, "only the three jvp references called f; fJvp never did");
  assertClose(
    fJvp(t1.mul(2.5).add(t2)),
    fJvp(t1).mul(2.5).add(fJvp(t2)).dataSync(),
    { atol: 1e-12, rtol: 1e-12 },
  );
});

Deno.test("jacrev/jacfwd/hessian with a repeated argnum: each place gets the same block (the first was zeros)", () => {
  // f(x, y) = x²·y elementwise: ∂f/∂x = diag(2xy) = diag([8, 20, 36]).
  const f = (x: Tensor, y: Tensor) => x.square().mul(y);
  const [x, y] = [tensor([1, 2, 3], { dtype: "float64" }), tensor([4, 5, 6], { dtype: "float64" })];
  const want = [[8, 0, 0], [0, 20, 0], [0, 0, 36]];
  for (const jac of [jacrev, jacfwd]) {
    const [a, b, c] = jac(f, { argnums: [0, 1, 0] })(x, y) as Tensor[];
    assert.deepEqual([a.arraySync(), c.arraySync()], [want, want]);
    assert.deepEqual(b.arraySync(), [[1, 0, 0], [0, 4, 0], [0, 0, 9]]); // diag(x²)
  }
  // sum(x²·y): ∂²/∂x² = diag(2y).
  const h = hessian((p: Tensor, q: Tensor) => sum(p.square().mul(q)), { argnums: [0, 0] })(
    x,
    y,
  ) as Tensor[][];
  const d = [[8, 0, 0], [0, 10, 0], [0, 0, 12]];
  assert.deepEqual(h.map((r) => r.map((t) => t.arraySync())), [[d, d], [d, d]]);
});
