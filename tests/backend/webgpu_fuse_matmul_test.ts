/**
 * Matrix-product epilogues under `jit` on `webgpu` (`src/jit/fuse_matmul.ts`):
 * a float32 product read only by an elementwise chain (bias add,
 * activation) runs as one kernel, bit for bit the eager result on this
 * adapter (llvmpipe), over plain, transposed and batched products and
 * broadcast epilogue operands; and where the pass must not fuse (the product
 * read twice, or a program output), it does not. On `wasm` the pass leaves
 * programs alone (no `matmulEpilogue` hook).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  add,
  greater,
  jit,
  makeJaxpr,
  matmul,
  mul,
  random,
  setBackend,
  tanh,
  type Tensor,
  tree,
  valueAndGrad,
} from "../../mod.ts";
import { kernelLaunches } from "../../src/jit/interpret.ts";
import { multiInfo } from "../../src/jit/program.ts";
import { assertSame, gpuTest } from "./_webgpu.ts";
import { type MlpParams, mlpProblem } from "../jit/_helpers.ts";

const keys = random.split(random.key(11), 6);

/** The names of the optimized program's equations, with a fused product as `matmul+…`. */
// deno-lint-ignore no-explicit-any
function ops<A extends any[]>(f: (...a: A) => unknown, ...args: A): string[] {
  // one name per kernel: a sequence (one launch) defines several outputs
  const eqs = makeJaxpr(f, { optimized: true })(...args).equations;
  return eqs.filter((e) => (multiInfo(e)?.index ?? 0) === 0).map((e) => {
    const p = e.params as { ops?: string[] } | null;
    return p?.ops === undefined ? e.prim.name : p.ops.join("+");
  });
}

gpuTest("webgpu matmul epilogue: bias + tanh is one kernel, bit for bit eager", async () => {
  const x = random.normal(keys[0], [37, 19]), w = random.normal(keys[1], [19, 23]);
  const b = random.normal(keys[2], [23]);
  const f = (x: Tensor, w: Tensor, b: Tensor) => tanh(add(matmul(x, w), b));
  assert.deepEqual(ops(f, x, w, b), ["matmul+add+tanh"]);
  const before = kernelLaunches();
  await assertSame(jit(f)(x, w, b), f(x, w, b), "tanh(x @ w + b)");
  // Two calls of one kernel each (the first also traces), against three eager kernels.
  jit(f)(x, w, b);
  assert.equal(kernelLaunches() - before, 2);
});

gpuTest(
  "webgpu matmul epilogue: transposed, batched, column-broadcast and bool epilogues",
  async () => {
    const a = random.normal(keys[3], [3, 8, 5]), w = random.normal(keys[4], [6, 5]);
    const col = random.normal(keys[5], [3, 8, 1]);
    // x @ wᵀ for a batch of 3, plus a per-row bias, times 0.5.
    const f = (a: Tensor, w: Tensor, c: Tensor) =>
      mul(add(matmul(a, w, { transposeB: true }), c), 0.5);
    assert.deepEqual(ops(f, a, w, col), ["matmul+add+mul"]);
    await assertSame(jit(f)(a, w, col), f(a, w, col), "batched, transposed, column bias");
    // aᵀ @ b with a broadcast batch, the product compared: a bool result.
    const g = (a: Tensor, b: Tensor) => greater(matmul(a, b, { transposeA: true }), 0);
    const at = random.normal(keys[0], [4, 7]), bb = random.normal(keys[1], [2, 4, 9]);
    assert.deepEqual(ops(g, at, bb), ["matmul+greater"]);
    await assertSame(jit(g)(at, bb), g(at, bb), "bool epilogue");
  },
);

gpuTest("webgpu matmul epilogue: a product read twice or returned is not fused", async () => {
  const x = random.normal(keys[2], [6, 4]), w = random.normal(keys[3], [4, 5]);
  // tanh(p) + p is one fused kernel reading p once: the product's epilogue.
  const once = (x: Tensor, w: Tensor) => {
    const p = matmul(x, w);
    return add(tanh(p), p);
  };
  assert.deepEqual(ops(once, x, w), ["matmul+tanh+add"]);
  await assertSame(jit(once)(x, w), once(x, w), "read once by a fused kernel");
  // Read by an elementwise op and by another product: kept.
  const twice = (x: Tensor, w: Tensor) => {
    const p = matmul(x, w);
    return [tanh(p), matmul(p, w, { transposeB: true })];
  };
  assert.ok(ops(twice, x, w).includes("matmul"), "read by two ops: kept");
  await assertSame(jit(twice)(x, w), twice(x, w), "read twice");
  const returned = (x: Tensor, w: Tensor) => {
    const p = matmul(x, w);
    return [p, tanh(p)];
  };
  assert.ok(ops(returned, x, w).includes("matmul"), "an output: kept");
  await assertSame(jit(returned)(x, w), returned(x, w), "returned");
});

gpuTest(
  "webgpu matmul epilogue: a jitted MLP training step equals eager with fewer kernels",
  async () => {
    const { params, x, labels, loss } = mlpProblem(4);
    const step = (p: MlpParams) => {
      const [value, g] = valueAndGrad(loss)(p, x, labels);
      return [value, tree.map((w: Tensor, d: Tensor) => w.sub(d.mul(0.1)), p, g)];
    };
    const names = ops(step, params);
    const fusedProducts = names.filter((n) => n.startsWith("matmul+")).length;
    assert.ok(fusedProducts >= 2, names.join(" "));
    const jitted = jit(step);
    await assertSame(jitted(params), step(params), "MLP step");
    // Every fused product ran as one kernel (none fell back to its ops).
    const before = kernelLaunches();
    jitted(params);
    assert.equal(kernelLaunches() - before, names.length);
  },
);

Deno.test("matmul epilogue: wasm and cpu have no matmulEpilogue, the products stay", async () => {
  const x = random.normal(keys[0], [9, 4]), w = random.normal(keys[1], [4, 3]);
  const f = (x: Tensor, w: Tensor) => tanh(matmul(x, w));
  for (const backend of ["wasm", "cpu"]) {
    await setBackend(backend);
    try {
      assert.ok(ops(f, x, w).includes("matmul"), backend);
    } finally {
      await setBackend("cpu");
    }
  }
});
