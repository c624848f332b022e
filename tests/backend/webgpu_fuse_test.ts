/**
 * Elementwise fusion under `jit` on the `webgpu` backend (its `fused` hook
 * runs the fused IR kernel in one dispatch): results equal the eager
 * op-by-op kernels bit for bit on this adapter (llvmpipe here; WGSL lets a
 * shader compiler contract a multiply and an add, which no eager kernel
 * can meet, so another GPU may differ in the last bit), and fewer kernels
 * run. Skipped where no WebGPU adapter exists.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  add,
  cast,
  div,
  equal,
  exp,
  greater,
  jit,
  lessEqual,
  makeJaxpr,
  matmul,
  mul,
  neg,
  nn,
  notEqual,
  random,
  reshape,
  square,
  sub,
  sum,
  type Tensor,
  tensor,
  tree,
  valueAndGrad,
  where,
} from "../../mod.ts";
import { kernelLaunches } from "../../src/jit/interpret.ts";
import { type MlpParams, mlpProblem } from "../jit/_helpers.ts";
import { assertSame, gpuTest as test } from "./_webgpu.ts";

/** A test on the webgpu backend (ignored without an adapter). */
const gpuTest = (name: string, fn: () => Promise<void>) => test(`webgpu fusion: ${name}`, fn);

const EDGES = [0, -0, 1e-8, -0.5, 3, -3, 20, -20, 88, -88, 89, -89, 104, -104, Infinity, NaN];

gpuTest("sigmoid is one kernel, bit for bit the eager result", async () => {
  const sigmoid = (x: Tensor) => div(1, add(1, exp(neg(x))));
  const x = tensor([...EDGES, ...Array.from({ length: 500 }, (_, i) => (i - 250) * 0.0731)]);
  const f = jit(sigmoid);
  f(x);
  const before = kernelLaunches();
  const got = f(x);
  assert.equal(kernelLaunches() - before, 1);
  await assertSame(got, sigmoid(x), "sigmoid");
});

gpuTest(
  "exp of x below -150·ln2 is 0 when fused with a product after it (it came out e^-104·c)",
  async () => {
    const f = (x: Tensor) => mul(exp(x), 1e30);
    // Subnormal results (−103.97 < x < −87.3) may still keep more bits when fused (README).
    const x = tensor([-1e30, -1e4, -200, -104, -103.98, -87, -50, -10]);
    await assertSame(jit(f)(x), f(x), "exp(x)·1e30");
    const got = await jit(f)(x).data();
    assert.deepEqual([...got.slice(0, 5)], [0, 0, 0, 0, 0]);
  },
);

gpuTest("a*b+c with broadcasting; int32, where and cast; a chain split by operands", async () => {
  const fma = (a: Tensor, b: Tensor, c: Tensor) => add(mul(a, b), c);
  const k = random.split(random.key(3), 3);
  const a = random.normal(k[0], [2, 3, 5]), b = random.normal(k[1], [3, 1]);
  const c = random.normal(k[2], [5]);
  assert.deepEqual(makeJaxpr(fma, { optimized: true })(a, b, c).equations.length, 1);
  await assertSame(jit(fma)(a, b, c), fma(a, b, c), "a*b+c");

  const ints = (x: Tensor, n: Tensor) =>
    mul(add(cast(where(greater(x, 0), mul(x, 2), neg(x)), "int32"), n), 3);
  const x = tensor([1, 1e7, -2e9].flatMap((s) => EDGES.map((v) => v * s))).reshape([3, 16]);
  const n = tensor([3, -7, 2147483647], { dtype: "int32" }).reshape([3, 1]);
  await assertSame(jit(ints)(x, n), ints(x, n), "int32 chain");

  const chain = (...xs: Tensor[]) => xs.reduce((acc, v, i) => (i % 2 ? mul(acc, v) : add(acc, v)));
  const xs = Array.from({ length: 9 }, (_, i) => random.normal(random.key(i), [4, 3]));
  const p = makeJaxpr(chain, { optimized: true })(...xs);
  // fused kernels load at most `maxFusedInputs` operands (a sequence of them binds more)
  for (const e of p.equations) if (e.prim.name === "fused") assert.ok(e.inputs.length <= 6);
  await assertSame(jit(chain)(...xs), chain(...xs), "9-operand chain");
});

gpuTest("an MLP training step equals eager bit for bit", async () => {
  const { params, x, labels, loss } = mlpProblem(7);
  const step = (p: MlpParams, xb: Tensor, yb: Tensor) => {
    const [l, g] = valueAndGrad(loss)(p, xb, yb);
    return { params: tree.map((w: Tensor, gw: Tensor) => sub(w, mul(gw, 0.1)), p, g), loss: l };
  };
  const optimized = makeJaxpr(step, { optimized: true })(params, x, labels).equations;
  assert.ok(optimized.some((e) => e.prim.name === "fused"));
  const jitted = jit(step);
  let pe = params, pj = params;
  for (let i = 0; i < 2; i++) {
    const e = step(pe, x, labels), j = jitted(pj, x, labels);
    await assertSame(j, e, `step ${i}`);
    [pe, pj] = [e.params, j.params];
  }
});

test("webgpu fusion: x - x and x == x of one float stay NaN-aware (the outer-product norm's guards)", async () => {
  // jit rewrites Σ(a bᵀ)² as Σa²·Σb², guarded by `scale - scale` and
  // `d == d`; the shader compiler folded them (floats taken as finite), so
  // an infinite element gave NaN on webgpu, Inf eagerly.
  const sq = (a: Tensor, b: Tensor) => sum(square(matmul(a, b)), [1, 2]);
  const a = reshape(tensor([Infinity, ...Array(19).fill(1)]), [1, 20, 1]);
  const b = reshape(tensor(Array(20).fill(1)), [1, 1, 20]);
  assert.deepEqual(await jit(sq)(a, b).data(), Float32Array.of(Infinity));
  const self = (x: Tensor) => [sub(x, x), equal(x, x), notEqual(x, x)];
  const x = tensor([1, -Infinity, NaN, Infinity, -0]);
  const [d, eq, ne] = jit(self)(x);
  assert.deepEqual([...await d.data()], [0, NaN, NaN, NaN, 0]);
  assert.deepEqual([...await eq.data()], [1, 1, 0, 1, 1]);
  assert.deepEqual([...await ne.data()], [0, 0, 1, 0, 0]);
});

test("webgpu fusion: a comparison feeding a select keeps NaN (relu, where, elu of NaN)", async () => {
  // The shader compiler turned `select(x, 0, x <= 0)` into `x > 0 ? x : 0` (floats taken to be
  // numbers): a fused relu gave 0 for NaN, eager NaN.
  const x = tensor([NaN, -1, 2, -0, Infinity]);
  const fs = [
    (t: Tensor) => nn.relu(t),
    (t: Tensor) => where(lessEqual(t, 0), 0, t),
    (t: Tensor) => where(notEqual(t, 2), 1, t),
    (t: Tensor) => where(equal(t, 2), t, -1),
    (t: Tensor) => nn.elu(t),
  ];
  for (const f of fs) await assertSame(jit(f)(x), f(x), String(f));
});
