/**
 * Sequences of small kernels under `jit` on `webgpu` (`src/jit/fuse_sequence.ts`,
 * `src/backend/webgpu/kernels_sequence.ts`): consecutive small kernels of a
 * program run as one dispatch. Each stage computes what its own kernel
 * computes, and reductions follow the serial plan the eager kernels use on a
 * software adapter, so on this adapter (llvmpipe, `serialReductions`)
 * results equal eager execution bit for bit. Where a backend declines a
 * sequence, its equations run one by one. Skipped where no WebGPU adapter
 * exists (the op-by-op fallback test runs everywhere).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  add,
  cast,
  exp,
  greater,
  jit,
  logsumexp,
  makeJaxpr,
  max,
  min,
  mul,
  neg,
  nn,
  optim,
  random,
  reshape,
  sub,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
  where,
} from "../../mod.ts";
import type { FusedSequenceSpec } from "../../src/backend/backend.ts";
import { WasmBackend } from "../../src/backend/wasm/wasm_backend.ts";
import { WebGpuBackend } from "../../src/backend/webgpu/webgpu_backend.ts";
import { kernelLaunches } from "../../src/jit/interpret.ts";
import { SEQUENCE_LIMITS } from "../../src/jit/fuse_sequence.ts";
import { multiInfo } from "../../src/jit/program.ts";
import { assertSameTree } from "../jit/_helpers.ts";
import { onBackend } from "../_helpers.ts";
import { assertSame, gpuTest, hasGpu, values } from "./_webgpu.ts";

/** A test on the webgpu backend (ignored without an adapter). */
const test = (name: string, fn: () => Promise<void>) => gpuTest(`webgpu sequence: ${name}`, fn);

/** Kernels a jitted call of `f` launches (after a first call), and its result. */
function launchesOf<T>(f: (...a: Tensor[]) => T, ...args: Tensor[]): [T, number] {
  const j = jit(f);
  j(...args);
  const before = kernelLaunches();
  const out = j(...args);
  return [out, kernelLaunches() - before];
}

/** The sequence nodes of `f`'s optimized program: per node, its inputs and outputs. */
function sequences(f: (...a: Tensor[]) => unknown, ...args: Tensor[]): number[][] {
  const eqs = makeJaxpr(f, { optimized: true })(...args).equations;
  return eqs.filter((e) => e.prim.name === "sequence" && multiInfo(e)!.index === 0)
    .map((e) => [e.inputs.length, multiInfo(e)!.call.outs.length]);
}

/**
 * Every kind of stage in one run: broadcasting elementwise ops, `max` (NaN,
 * ±0 and infinities in the rows), `min` over the leading axis, `logsumexp`,
 * a reshape of an input (the labels as a column), int32 and bool values, a
 * sum of bools, and results read back through reshapes.
 */
function everyKind(x: Tensor, r: Tensor, c: Tensor, n: Tensor) {
  const a = add(mul(x, r), c);
  const m = max(a, 1, { keepdims: true });
  const z = sub(a, where(greater(m, -Infinity), m, 0));
  const mask = greater(reshape(n, [12, 1]), 3);
  const w = where(mask, exp(neg(z)), z);
  return {
    lse: logsumexp(z, 1),
    lowest: min(a, 0),
    m: reshape(m, [3, 4]),
    total: reshape(sum(w, 0), [2, 5]),
    count: sum(cast(mask, "int32")),
  };
}

test("stages of every kind: one dispatch, bit for bit eager", async () => {
  const x = values(1, [12, 10]), r = values(2, [12, 1], false), c = values(3, [10], false);
  const n = tensor(Array.from({ length: 12 }, (_, i) => (i * 5) % 9 - 2), { dtype: "int32" });
  const eqs = makeJaxpr(everyKind, { optimized: true })(x, r, c, n).equations;
  const steps = eqs.filter((e) => (multiInfo(e)?.index ?? 0) === 0);
  assert.deepEqual(
    steps.map((e) => e.prim.name),
    ["sequence", "reshape", "reshape"],
    "one sequence; then views of two of its results (no kernel)",
  );
  const [got, launches] = launchesOf(everyKind, x, r, c, n);
  assert.equal(launches, steps.length);
  await assertSame(got, everyKind(x, r, c, n), "every kind");
});

test("the 784-100-10 MLP SGD step: 7 dispatches, bit for bit eager", async () => {
  const net = nn.mlp({ inputSize: 784, hiddenSizes: [100], outputSize: 10, activation: "sigmoid" });
  const init = net.init(random.key(0), [784]);
  const x = random.uniform(random.key(1), [100, 784]);
  const y = random.randint(random.key(2), [100], 0, 10);
  const opt = optim.sgd(0.1);
  type P = typeof init.params;
  const step = (p: P, xb: Tensor, yb: Tensor) => {
    const [l, g] = valueAndGrad((q: P) =>
      nn.softmaxCrossEntropy(net.apply(q, init.state, xb)[0] as Tensor, yb)
    )(p);
    const [u] = opt.update(g, opt.init(p), p);
    return { loss: l, params: optim.applyUpdates(p, u) };
  };
  const printed = makeJaxpr(step, { optimized: true })(init.params, x, y).toString();
  assert.match(printed, /= sequence\[ops=\[[a-zA-Z,]*logsumexp[a-zA-Z,]*\]\]/);
  const jitted = jit(step);
  await assertSame(jitted(init.params, x, y), step(init.params, x, y), "first call");
  const before = kernelLaunches();
  const again = jitted(init.params, x, y);
  // two products; the sequence (with the output bias's update, moved up into it: it only
  // reads the logits' gradient); the three gradient products and the hidden bias's update
  assert.equal(kernelLaunches() - before, 7);
  await assertSame(again, step(init.params, x, y), "a later call");
});

test("softmax cross entropy and its gradient for a real batch: one launch", async () => {
  const logits = values(4, [100, 10], false);
  const y = tensor(Array.from({ length: 100 }, (_, i) => (i * 7) % 10), { dtype: "int32" });
  const f = (z: Tensor, t: Tensor) => valueAndGrad(nn.softmaxCrossEntropy)(z, t);
  const [got, launches] = launchesOf(f, logits, y);
  assert.equal(launches, 1);
  await assertSame(got, f(logits, y), "value and gradient");
});

test("kernels past the size limits stay their own dispatches", async () => {
  const f = (x: Tensor) => sub(x, max(x, 1, { keepdims: true })).exp();
  const rows = Math.ceil((SEQUENCE_LIMITS.elements + 1) / 10);
  const big = values(5, [rows, 10], false);
  assert.deepEqual(sequences(f, big), [], "over the element limit");
  const small = values(5, [8, 10], false);
  assert.equal(sequences(f, small).length, 1, "within it");
  await assertSame(jit(f)(big), f(big), "big");
  await assertSame(jit(f)(small), f(small), "small");
});

test("a run keeps each invocation within llvmpipe's 65 535 loop steps", async () => {
  // 24 reductions over rows of 4096 (4096 steps each for one invocation),
  // summed: as one run (the sums in scratch, so few bindings), llvmpipe
  // cut its last loops short and the result was off by hundreds.
  const f = (x: Tensor) => {
    let acc = max(x, 1);
    for (let k = 2; k <= 24; k++) acc = add(acc, max(mul(x, k), 1));
    return acc;
  };
  const x = values(6, [16, 4096], false);
  assert.ok(sequences(f, x).length >= 2, "split into runs");
  const [got, want] = [await jit(f)(x).data(), await f(x).data()];
  // The runs' sums may round the last bit differently from the eager adds.
  got.forEach((v, i) =>
    assert.ok(Math.abs(v - want[i]) <= 1e-6 * Math.abs(want[i]), `${v} vs ${want[i]}`)
  );
  assert.equal(SEQUENCE_LIMITS.steps, 60_000);
});

Deno.test({
  name: "webgpu sequence: a device with few bindings gets shorter runs, the same values",
  ignore: !hasGpu,
  async fn() {
    const few = await WebGpuBackend.create({ maxBindings: 4 });
    assert.ok(few !== null);
    const x = values(1, [12, 10]), r = values(2, [12, 1], false), c = values(3, [10], false);
    const n = tensor(Array.from({ length: 12 }, (_, i) => (i * 5) % 9 - 2), { dtype: "int32" });
    await onBackend("webgpu-few-bindings", few, async (be) => {
      const move = (t: Tensor) => tensor(t.dataSync(), { shape: t.shape, dtype: t.dtype });
      const args = [x, r, c, n].map(move) as [Tensor, Tensor, Tensor, Tensor];
      const nodes = sequences(everyKind, ...args);
      assert.ok(nodes.length >= 2, `split into several runs: ${JSON.stringify(nodes)}`);
      for (const [ins, outs] of nodes) {
        assert.ok(ins + outs <= be.sequenceBindings, `within 4 bindings: ${ins} + ${outs}`);
      }
      await assertSame(jit(everyKind)(...args), everyKind(...args), "few bindings");
    });
  },
});

/** A wasm backend that offers sequences and then declines every one. */
class Declining extends WasmBackend {
  readonly sequenceBindings: number = 8;
  asked = 0;
  fusedSequence(_spec: FusedSequenceSpec): null {
    this.asked++;
    return null;
  }
}

Deno.test("sequence: where the backend declines, the equations run one by one", async () => {
  const x = values(1, [12, 10]), r = values(2, [12, 1], false), c = values(3, [10], false);
  const n = tensor(Array.from({ length: 12 }, (_, i) => (i * 5) % 9 - 2), { dtype: "int32" });
  const plain = await onBackend("wasm-plain", new WasmBackend(), () => {
    const move = (t: Tensor) => tensor(t.dataSync(), { shape: t.shape, dtype: t.dtype });
    const args = [x, r, c, n].map(move) as [Tensor, Tensor, Tensor, Tensor];
    return { eager: everyKind(...args), jitted: jit(everyKind)(...args) };
  });
  const be = new Declining();
  await onBackend("wasm-declining", be, () => {
    const move = (t: Tensor) => tensor(t.dataSync(), { shape: t.shape, dtype: t.dtype });
    const args = [x, r, c, n].map(move) as [Tensor, Tensor, Tensor, Tensor];
    assert.ok(sequences(everyKind, ...args).length >= 1, "sequences were formed");
    const got = jit(everyKind)(...args);
    assert.ok(be.asked > 0, "and offered to the backend");
    assertSameTree(got, plain.jitted, "declined: as jit without sequences");
    assertSameTree(got, plain.eager, "declined: as eager");
  });
});

Deno.test("sequence: wasm and cpu have no fusedSequence: no sequence nodes", () => {
  const x = random.normal(random.key(0), [12, 10]);
  const f = (x: Tensor) => sub(x, max(x, 1, { keepdims: true })).exp();
  assert.deepEqual(sequences(f, x), []);
});

Deno.test({
  name: "webgpu sequence: as on a hardware adapter (tree reductions eager, 256 invocations)",
  ignore: !hasGpu,
  async fn() {
    // Eager sums are trees there, a sequence's are serial: the same terms in another order.
    const hw = await WebGpuBackend.create({ serialReductions: false });
    assert.ok(hw !== null);
    const logits = values(7, [100, 10], false);
    const y = tensor(Array.from({ length: 100 }, (_, i) => (i * 3) % 10), { dtype: "int32" });
    const f = (z: Tensor, t: Tensor) => valueAndGrad(nn.softmaxCrossEntropy)(z, t);
    await onBackend("webgpu-tree-reductions", hw, async () => {
      const move = (t: Tensor) => tensor(t.dataSync(), { shape: t.shape, dtype: t.dtype });
      const [z, t] = [move(logits), move(y)];
      assert.equal(sequences(f, z, t).length, 1);
      const [gl, gg] = jit(f)(z, t), [el, eg] = f(z, t);
      const [a, b] = [await gl.data(), await el.data()];
      // the bound of `kernels_reduce.ts` for the loss's sum of n = 1000 positive terms:
      // (⌈n/4⌉ + 20)·2⁻²⁴ of their sum, twice (either order may err)
      const bound = 2 * (250 + 20) * 2 ** -24 * Math.abs(b[0]);
      assert.ok(Math.abs(a[0] - b[0]) <= bound, `loss ${a[0]} vs ${b[0]}`);
      const [ga, ea] = [await gg.data(), await eg.data()];
      // each gradient is (softmax − one-hot) / 100: rows of 10 exps summed, |g| ≤ 0.01
      for (let i = 0; i < ea.length; i++) {
        const rowBound = 2 * (3 + 20) * 2 ** -24 * 0.01 + 2 ** -24 * Math.abs(ea[i]);
        assert.ok(Math.abs(ga[i] - ea[i]) <= rowBound, `grad[${i}]: ${ga[i]} vs ${ea[i]}`);
      }
    });
  },
});
