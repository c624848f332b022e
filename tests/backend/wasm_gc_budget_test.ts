/**
 * The `wasm` backend's memory in programs that never let the event loop
 * turn. Finalizers (which give the blocks of collected tensors back) run
 * only in a task of their own, so a synchronous loop that leaves its
 * tensors to the garbage collector gets nothing back until it ends: the
 * arena stops growing once `gcBudget` bytes wait for the collector, and new
 * tensors then take freed blocks or JS memory. These tests are
 * deterministic for that very reason: no finalizer can run inside them.
 */

import assert from "node:assert/strict";
import { Arena, WASM_PAGE } from "../../src/backend/wasm/arena.ts";
import { WasmBackend, type WasmBuf } from "../../src/backend/wasm/wasm_backend.ts";
import { onBackend } from "../_helpers.ts";
import {
  abs,
  data,
  exp,
  greater,
  matmul,
  max,
  nn,
  oneHot,
  optim,
  random,
  reshape,
  sqrt,
  sum,
  take,
  tanh,
  type Tensor,
  tensor,
  tree,
  valueAndGrad,
  where,
  zeros,
} from "../../mod.ts";

const MiB = 2 ** 20;

Deno.test("arena: reuse takes only freed blocks, never the top nor growth", () => {
  const arena = new Arena({ initialBytes: WASM_PAGE, limitBytes: 4 * WASM_PAGE });
  assert.equal(arena.reuse(64), -1); // nothing freed yet: the room at the top is not for reuse
  assert.equal(arena.stats().failed, 0); // not a failure: the caller goes elsewhere
  const a = arena.alloc(WASM_PAGE / 2), b = arena.alloc(WASM_PAGE / 2); // alloc grows
  assert.equal(arena.stats().memoryBytes, 2 * WASM_PAGE);
  const c = arena.alloc(64);
  arena.free(a, WASM_PAGE / 2);
  assert.equal(arena.reuse(WASM_PAGE / 4), -1); // no freed block of that size
  assert.equal(arena.reuse(WASM_PAGE / 2), a); // a freed block of the size
  assert.equal(arena.stats().usedBytes, 2 * (WASM_PAGE / 2) + 64);
  assert.equal(arena.stats().memoryBytes, 2 * WASM_PAGE);
  for (const [p, n] of [[c, 64], [b, WASM_PAGE / 2], [a, WASM_PAGE / 2]]) arena.free(p, n);
});

/**
 * A naive training loop: a 64-64-10 MLP, Adam, 300 steps on one batch of
 * 32, nothing disposed and no await. Returns the last loss and the params.
 */
function naiveLoop(steps: number): { loss: number; params: number[][] } {
  const net = nn.mlp({ inputSize: 64, hiddenSizes: [64], outputSize: 10 });
  let { params } = net.init(random.key(0), [64]);
  const { state } = net.init(random.key(0), [64]);
  const x = random.normal(random.key(1), [32, 64]);
  const t = oneHot(random.randint(random.key(2), [32], 0, 10), 10);
  const opt = optim.adam(1e-3);
  let optState = opt.init(params);
  const step = valueAndGrad((p: typeof params) =>
    nn.softmaxCrossEntropy(net.apply(p, state, x)[0], t)
  );
  let loss = NaN;
  for (let i = 0; i < steps; i++) {
    const [value, grads] = step(params);
    const [updates, next] = opt.update(grads, optState, params);
    params = optim.applyUpdates(params, updates);
    optState = next;
    if (i === steps - 1) loss = value.dataSync()[0];
  }
  return { loss, params: tree.leaves(params).map((p) => [...(p as Tensor).dataSync()]) };
}

Deno.test("wasm: a loop that never awaits stops growing the arena at its gcBudget", async () => {
  // Without a budget, everything the loop drops waits in the arena for
  // finalizers that cannot run before the loop ends (some 16 MiB here,
  // beyond the memory's initial 16 MiB).
  const unbounded = await onBackend(
    "wasm-no-budget",
    new WasmBackend({ gcBudget: Infinity }),
    (be) => {
      const result = naiveLoop(300);
      return { result, stats: be.memoryStats() };
    },
  );
  assert.ok(unbounded.stats.memoryBytes > 24 * MiB, `${unbounded.stats.memoryBytes}`);
  assert.ok(unbounded.stats.awaitingGcBytes > 12 * MiB, `${unbounded.stats.awaitingGcBytes}`);
  assert.equal(unbounded.stats.spilledBuffers, 0);

  const budget = 2 * MiB;
  const bounded = await onBackend("wasm-budget", new WasmBackend({ gcBudget: budget }), (be) => {
    const initial = be.memoryStats().memoryBytes;
    const result = naiveLoop(300);
    return { result, initial, stats: be.memoryStats() };
  });
  // The memory never grew past its initial 16 MiB: past 2 MiB waiting for
  // the collector, the loop's new tensors took freed blocks, the room left
  // in the memory, or JS memory (which the collector frees by itself).
  assert.equal(bounded.stats.memoryBytes, bounded.initial);
  assert.equal(bounded.stats.failed, 0);
  assert.ok(bounded.stats.spilledBuffers > 1000, `${bounded.stats.spilledBuffers}`);
  // The same training bit for bit: spilled tensors run the same WebAssembly
  // kernels (their operands copied in, their values copied out).
  assert.equal(bounded.result.loss, unbounded.result.loss);
  assert.deepEqual(bounded.result.params, unbounded.result.params);
});

Deno.test("wasm: with the default budget (64 MiB), a naive loop's arena stays under 83 MiB", async () => {
  // 1500 steps leave some 90 MiB to the collector: without the budget the
  // memory grows past 100 MiB; with it, growth stops once 64 MiB wait (the
  // last growth, by a quarter, happens just before).
  const stats = await onBackend("wasm-default-budget", new WasmBackend(), (be) => {
    naiveLoop(1500);
    return be.memoryStats();
  });
  assert.ok(stats.memoryBytes <= 1.25 * (64 + 2) * MiB, `${stats.memoryBytes}`);
  assert.ok(stats.awaitingGcBytes >= 64 * MiB, `${stats.awaitingGcBytes}`);
  assert.ok(stats.spilledBuffers > 10_000, `${stats.spilledBuffers}`);
});

Deno.test("wasm: values do not depend on whether tensors live in the arena or in JS memory", async () => {
  // Over the budget, tensors live in JS memory, but the same WebAssembly
  // kernels compute them (operands copied in, values copied out); with
  // gcBudget 0 every tensor does. Bit-identical results, so the numbers never
  // depend on when the garbage collector ran.
  const run = () => {
    const [k1, k2, k3] = random.split(random.key(7), 3);
    const x = random.normal(k1, [48, 96]), w = random.normal(k2, [96, 40]);
    const labels = random.randint(k3, [48], 0, 40);
    const idx = tensor([5, -1, 0, 2, 2, -6], { dtype: "int32" });
    const f = (w: Tensor) => {
      const h = tanh(matmul(x, w)).add(exp(x.mul(0.1)).sum(1, { keepdims: true }).log());
      const picked = take(h, idx, 0).max(0).sum();
      return nn.softmaxCrossEntropy(h, oneHot(labels, 40)).add(picked.mul(1e-3));
    };
    const [value, g] = valueAndGrad(f)(w);
    const outs = [x, value, g, where(greater(x, 0), x, sqrt(abs(x))), sum(x, 0), max(x, 1)];
    return outs.map((t) => {
      assert.equal((t._data as WasmBuf).ptr >= 0, be === "arena");
      return [...t.dataSync()];
    });
  };
  let be = "arena";
  const inArena = await onBackend("wasm-arena", new WasmBackend(), run);
  be = "js";
  const inJs = await onBackend("wasm-js", new WasmBackend({ gcBudget: 0 }), run);
  assert.deepEqual(inJs, inArena);
});

Deno.test("wasm: once the event loop turns, the budget is renewed and tensors return to the arena", async () => {
  await onBackend("wasm-renew", new WasmBackend({ gcBudget: MiB }), async (be) => {
    const x = random.normal(random.key(0), [256, 256]); // 256 KiB
    const initial = be.memoryStats().memoryBytes;
    // All alive, so nothing can be collected: past the 1 MiB budget new
    // tensors go to JS memory (no block was freed to reuse).
    const kept = [exp(x)];
    while ((kept[kept.length - 1]._data as WasmBuf).ptr >= 0 && kept.length < 200) {
      kept.push(exp(x));
    }
    assert.equal((kept[kept.length - 1]._data as WasmBuf).ptr, -1);
    assert.ok(kept.length <= 5);
    const stats = be.memoryStats();
    assert.equal(stats.memoryBytes, initial);
    assert.equal(stats.failed, 0); // not the limit (1 GiB): the budget
    const spilled = stats.spilledBuffers;
    assert.ok(spilled >= 1);
    // Every arena tensor is still alive, yet the budget comes back once the
    // collector ran and the loop turned (a sentinel no one holds signals it).
    for (let round = 0; round < 200 && be.memoryStats().awaitingGcBytes > 0; round++) {
      for (let j = 0; j < 2000; j++) new Array(64).fill(j);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.equal(be.memoryStats().awaitingGcBytes, 0);
    const back = exp(x);
    assert.ok((back._data as WasmBuf).ptr > 0);
    assert.equal(be.memoryStats().spilledBuffers, spilled);
    assert.ok(kept.length >= 1);
  });
});

Deno.test("wasm: reading a value does not count live tensors as collected", async () => {
  await onBackend("wasm-read", new WasmBackend(), async (be) => {
    const x = random.normal(random.key(0), [1024, 1024]); // 4 MiB
    const kept = Array.from({ length: 10 }, () => exp(x)); // 40 MiB, all alive
    const waiting = be.memoryStats().awaitingGcBytes;
    assert.ok(waiting >= 40 * MiB);
    // `read` lets the event loop turn (finalizers may run), but only a
    // finalizer says bytes came back: these cannot, they are alive.
    assert.equal((await tensor(1).data())[0], 1);
    assert.ok(be.memoryStats().awaitingGcBytes >= 40 * MiB);
    assert.equal(kept.length, 10);
  });
});

Deno.test("wasm: JS memory of tensors freed explicitly is reused, zeroed where it must be", async () => {
  await onBackend("wasm-js-pool", new WasmBackend({ gcBudget: 0 }), () => {
    const x = random.normal(random.key(0), [64, 64]);
    const y = exp(x);
    const yBuf = (y._data as WasmBuf).view.buffer;
    assert.equal((y._data as WasmBuf).ptr, -1); // gcBudget 0: every tensor is in JS memory
    const want = [...exp(x).dataSync()];
    y.dispose();
    assert.throws(() => y.dataSync(), /disposed/);
    const z = exp(x); // takes y's memory instead of fresh memory
    assert.equal((z._data as WasmBuf).view.buffer, yBuf);
    assert.deepEqual([...z.dataSync()], want);
    z.dispose();
    const zero = zeros([64, 64]); // reused memory is zeroed when the op needs zeros
    assert.equal((zero._data as WasmBuf).view.buffer, yBuf);
    assert.ok(zero.dataSync().every((v) => v === 0));
    // A buffer shared by a reshape goes back only when its last owner is disposed.
    const r = exp(x), view = reshape(r, [4096]);
    const rBuf = (r._data as WasmBuf).view.buffer;
    r.dispose();
    assert.notEqual((exp(x)._data as WasmBuf).view.buffer, rBuf);
    assert.deepEqual([...view.dataSync()], want);
  });
});

Deno.test("wasm: gcBudget must be a number of bytes", () => {
  assert.throws(
    () => new WasmBackend({ gcBudget: -1 }),
    /gcBudget must be a number of bytes ≥ 0, got -1/,
  );
  assert.throws(() => new WasmBackend({ gcBudget: NaN }), RangeError);
});

Deno.test("wasm: data copied in from the host (a dataset) does not use up the gcBudget", async () => {
  // 8 MiB of "dataset" against a 2 MiB budget: op results after it still
  // live in the arena (before, every one of them went to JS memory until
  // the collector ran). Results of ops still count.
  const stats = await onBackend("wasm-upload", new WasmBackend({ gcBudget: 2 * MiB }), (be) => {
    const data = tensor(new Float32Array(2 * MiB).fill(0.5), { shape: [2048, 1024] });
    const before = be.memoryStats();
    const rows = tanh(data);
    const after = be.memoryStats();
    rows.dispose();
    data.dispose();
    return { before, after, end: be.memoryStats() };
  });
  assert.equal(stats.before.awaitingGcBytes, 0, "the upload is not waiting for the collector");
  assert.equal(stats.after.spilledBuffers, stats.before.spilledBuffers, "op results in the arena");
  assert.ok(stats.after.awaitingGcBytes > 0, "op results count");
  assert.equal(stats.end.awaitingGcBytes, 0, "disposed: nothing waits");
});

Deno.test("wasm: a few rows of a tensor in JS memory are gathered without copying it all in", async () => {
  await onBackend("wasm-js-gather", new WasmBackend({ gcBudget: 0 }), (be) => {
    const n = 1 << 20; // 4 MiB of float32
    const x = tensor(Float32Array.from({ length: n }, (_, i) => i), { shape: [n / 64, 64] });
    assert.equal((x._data as WasmBuf).ptr, -1);
    const before = be.memoryStats().peakUsedBytes;
    const rows = take(x, tensor([3, 0, 16383], { dtype: "int32" }), 0);
    assert.deepEqual(Array.from(rows.dataSync().subarray(0, 2)), [192, 193]);
    assert.equal(rows.dataSync()[128], 16383 * 64);
    const grew = be.memoryStats().peakUsedBytes - before;
    assert.ok(grew < 4 * n / 4, `the arena's peak grew by ${grew} bytes`);
    // compact images past the budget too
    const images = data.CompactImages.fromBytes(new Uint8Array(4096 * 784).fill(51), [4096, 784]);
    const peak = be.memoryStats().peakUsedBytes;
    assert.deepEqual(
      Array.from(images.take([4095]).dataSync().subarray(0, 2)),
      [0.2, 0.2].map(Math.fround),
    );
    assert.ok(be.memoryStats().peakUsedBytes - peak < 4096 * 784 / 2, "images copied in");
  });
});
