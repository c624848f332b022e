/**
 * `lax` control flow on the `webgpu` backend: a jitted RNN `scan` and its
 * gradient, `switch`/`cond` (WebGPU cannot read the index synchronously, so
 * every branch runs and the result is selected), and `whileLoop`'s error
 * (it must read its condition every step). Results against the same
 * computation on `cpu` within float32 rounding. Skipped where no WebGPU
 * adapter exists.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  add,
  grad,
  greater,
  jit,
  lax,
  less,
  matmul,
  mul,
  setBackend,
  sum,
  tanh,
  type Tensor,
  tensor,
} from "../../mod.ts";
import { gpuTest } from "./_webgpu.ts";

const W = [[0.5, -0.2, 0.1], [0.3, 0.4, -0.6], [-0.1, 0.2, 0.3]];
const XS = [[0.1, 0.2, 0.3], [-0.4, 0.5, 0.6], [0.7, -0.8, 0.9], [0.2, 0.1, -0.3]];

const loss = (w: Tensor, xs: Tensor) => {
  const [h, hs] = lax.scan(
    (h: Tensor, x: Tensor) => {
      const n = tanh(add(matmul(h, w), x));
      return [n, n];
    },
    tensor([[0, 0, 0]]),
    xs,
  );
  return add(sum(mul(hs, hs)), sum(h));
};
const branchy = (x: Tensor) =>
  lax.cond(greater(sum(x), 0), (v: Tensor) => mul(v, 3), (v: Tensor) => v.neg(), x);

/** The values of `f` on cpu. */
async function onCpu(f: () => Tensor): Promise<number[]> {
  await setBackend("cpu");
  try {
    return [...f().dataSync()];
  } finally {
    await setBackend("webgpu");
  }
}

async function assertNear(got: Tensor, want: number[], what: string): Promise<void> {
  const g = await got.data();
  assert.equal(g.length, want.length, what);
  want.forEach((w, i) =>
    assert.ok(Math.abs(g[i] - w) <= 1e-5 + 1e-5 * Math.abs(w), `${what}[${i}]: ${g[i]} vs ${w}`)
  );
}

gpuTest("webgpu: a jitted scan and its gradient equal cpu's", async () => {
  const xs = tensor(XS).reshape([4, 1, 3]);
  const w = tensor(W);
  const want = await onCpu(() => jit(grad(loss))(tensor(W), tensor(XS).reshape([4, 1, 3])));
  const wantV = await onCpu(() => loss(tensor(W), tensor(XS).reshape([4, 1, 3])));
  await assertNear(jit(loss)(w, xs), wantV, "value");
  await assertNear(jit(grad(loss))(w, xs), want, "grad");
  await assertNear(grad(loss)(w, xs), want, "eager grad");
});

gpuTest("webgpu: scan and map over a length-1 axis leave the caller's xs alive", async () => {
  const xs = tensor([5]);
  const step = (c: Tensor, x: Tensor): [Tensor, Tensor] => [add(c, x), mul(x, 2)];
  const [c, ys] = lax.scan(step, tensor(0), xs);
  assert.deepEqual([await c.array(), await ys.array()], [5, [10]]);
  assert.deepEqual(await lax.map((x: Tensor) => mul(x, 3), xs).array(), [15]);
  const f = jit((v: Tensor) => lax.scan(step, tensor(0), v)[0]);
  assert.equal(await f(xs).item(), 5);
  assert.equal(await f(xs).item(), 5);
  assert.deepEqual(await xs.array(), [5]);
});

gpuTest("webgpu: cond selects without reading the predicate; whileLoop explains", async () => {
  const f = jit(branchy);
  await assertNear(f(tensor([1, 2])), [3, 6], "true branch");
  await assertNear(f(tensor([-1, -2])), [1, 2], "false branch");
  await assertNear(grad((x: Tensor) => sum(branchy(x)))(tensor([-1, -2])), [-1, -1], "grad");
  const i = lax.foriLoop(0, 3, (_i: Tensor, c: Tensor) => mul(c, 2), tensor(1));
  await assertNear(i, [8], "foriLoop (a scan)");
  assert.throws(
    () => lax.whileLoop((v: Tensor) => less(v, 3), (v: Tensor) => add(v, 1), tensor(0)),
    /the webgpu backend cannot read the loop condition/,
  );
});
