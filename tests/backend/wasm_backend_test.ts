/**
 * The `wasm` backend's memory: the arena allocator, buffers shared by
 * reshapes, `dispose`, blocks coming back after garbage collection, and the
 * fall-back to JS memory at the limit (still correct results). Kernel
 * results are compared with the `cpu` backend in cross_backend_test.ts and
 * wasm_kernels_test.ts.
 */

import assert from "node:assert/strict";
import { Arena, WASM_PAGE } from "../../src/backend/wasm/arena.ts";
import { WasmBackend, type WasmBuf } from "../../src/backend/wasm/wasm_backend.ts";
import { onBackend } from "../_helpers.ts";
import {
  add,
  cast,
  CpuBackend,
  exp,
  getBackend,
  logsumexp,
  matmul,
  mul,
  onesLike,
  random,
  reshape,
  setBackend,
  sum,
  take,
  tanh,
  type Tensor,
  tensor,
  tidy,
  tree,
  valueAndGrad,
  vjp,
  zeros,
} from "../../mod.ts";

Deno.test("arena: aligned blocks, exact-size reuse, top given back", () => {
  const arena = new Arena({ initialBytes: WASM_PAGE, limitBytes: 4 * WASM_PAGE });
  const a = arena.alloc(10), b = arena.alloc(100), c = arena.alloc(10);
  for (const p of [a, b, c]) {
    assert.ok(p > 0);
    assert.equal(p % 16, 0);
  }
  assert.equal(b - a, 16);
  assert.equal(c - b, 112);
  arena.free(a, 10);
  assert.equal(arena.stats().freeBytes, 16);
  assert.equal(arena.alloc(16), a); // same size class: the freed block
  arena.free(c, 10); // the topmost block lowers the top
  assert.equal(arena.alloc(10), c);
  assert.equal(arena.stats().usedBytes, 16 + 112 + 16);
});

Deno.test("arena: grows to its limit, merges free neighbours, then reports -1", () => {
  const arena = new Arena({ initialBytes: WASM_PAGE, limitBytes: 4 * WASM_PAGE });
  const blocks = Array.from({ length: 8 }, () => arena.alloc(WASM_PAGE / 2 - 16));
  assert.ok(blocks.every((p) => p > 0));
  assert.equal(arena.stats().memoryBytes, 4 * WASM_PAGE);
  assert.equal(arena.alloc(WASM_PAGE), -1);
  assert.equal(arena.stats().failed, 1);
  // Two neighbours freed make room for a block twice their size.
  arena.free(blocks[2], WASM_PAGE / 2 - 16);
  arena.free(blocks[3], WASM_PAGE / 2 - 16);
  const big = arena.alloc(WASM_PAGE - 32);
  assert.equal(big, blocks[2]);
});

Deno.test("arena: many sizes coming and going stay near the most in use (free blocks merge before the memory grows)", () => {
  // A new size each step with at most two blocks alive (batches or layer widths that vary):
  // with the free blocks merged only at the limit, every size grew the memory up to it.
  const arena = new Arena({ initialBytes: 16 * WASM_PAGE, limitBytes: 1024 * WASM_PAGE });
  let prev = -1, prevBytes = 0;
  for (let i = 0; i < 1000; i++) {
    const bytes = 4096 * (1 + (i * 7919) % 997); // 4 KiB … 4 MiB, each size once
    const p = arena.alloc(bytes);
    assert.ok(p > 0, `alloc ${i}`);
    if (prev > 0) arena.free(prev, prevBytes);
    [prev, prevBytes] = [p, bytes];
  }
  const s = arena.stats();
  assert.ok(s.peakUsedBytes <= 2 * 4096 * 997 + 32);
  // It was the whole 64 MiB limit; now within a few times the peak in use (8 MiB).
  assert.ok(
    s.memoryBytes <= 4 * s.peakUsedBytes,
    `memory ${s.memoryBytes} for peak ${s.peakUsedBytes}`,
  );
  assert.equal(s.failed, 0);
});

Deno.test("arena: a request it can never hold is -1, not a wrapped size", () => {
  // blockBytes rounds with 32-bit arithmetic: 2³² + 16 bytes would become a 16-byte block.
  const arena = new Arena({ initialBytes: WASM_PAGE, limitBytes: 4 * WASM_PAGE });
  for (const bytes of [2 ** 32 + 16, 2 ** 31, 2 ** 31 - 8, 4 * WASM_PAGE, 1e15, NaN]) {
    assert.equal(arena.alloc(bytes), -1, `alloc(${bytes})`);
  }
  assert.equal(arena.stats().usedBytes, 0);
  assert.equal(arena.stats().failed, 6);
  assert.ok(arena.alloc(4 * WASM_PAGE - 16) > 0, "the largest block that fits");
});

/** `text` as a regular expression that matches it literally. */
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

Deno.test("wasm: a tensor neither its memory nor JS memory can hold names the op, shape, bytes and limit", async () => {
  await onBackend("wasm-tiny", new WasmBackend({ memoryLimit: 2 * WASM_PAGE }), () => {
    const x = random.uniform(random.key(1), [100]);
    const head = (op: string, shape: string) =>
      literally(
        `${op}(): out of memory for a float32 tensor of shape [${shape}] (1000000000000000 ` +
          "elements, 4000000000000000 bytes (3.55 PiB)) on the wasm backend " +
          "(WebAssembly memory limit 131072 bytes (128 KiB), ",
      ) + "\\d+" + literally(
        " bytes in use; larger tensors go to JS memory; new WasmBackend({ memoryLimit }) " +
          "raises the limit up to 2 GiB): ",
      );
    const cases: [() => unknown, RegExp][] = [
      [
        () => zeros([1e6, 1e9]),
        new RegExp(
          "^" + head("zeros", "1000000,1000000000") +
            literally("it does not fit the WebAssembly memory, and JS memory refused it too (") +
            ".+" + literally("); use a smaller shape or process the data in batches"),
        ),
      ],
      [
        () => random.uniform(random.key(2), [1e15]),
        new RegExp("^" + head("random.uniform", "1000000000000000")),
      ],
    ];
    for (const [f, re] of cases) {
      assert.throws(f, (e: unknown) => e instanceof RangeError && re.test(e.message), String(re));
    }
    assert.equal(sum(mul(x, 0)).itemSync(), 0); // the backend still works
  });
});

/** The buffer behind a tensor of the wasm backend. */
const buf = (t: Tensor): WasmBuf => t._data as WasmBuf;

Deno.test("wasm is the default backend; tensors live in its memory", async () => {
  const before = getBackend(); // "cpu" when the suite runs with tests/_on_cpu.ts
  assert.ok(before === "wasm" || before === "cpu");
  await setBackend("wasm");
  try {
    const t = tensor([1, 2, 3]);
    assert.ok(buf(t).ptr > 0);
    assert.equal(buf(t).view.buffer instanceof SharedArrayBuffer, true);
    assert.deepEqual([...add(t, 1).dataSync()], [2, 3, 4]);
  } finally {
    await setBackend(before);
  }
});

Deno.test("wasm: dispose frees a block only when no reshape of it remains", async () => {
  await onBackend("wasm-dispose", new WasmBackend(), (be) => {
    const used0 = be.memoryStats().usedBytes;
    const x = tensor([1, 2, 3, 4]);
    const y = reshape(x, [2, 2]);
    assert.equal(buf(y), buf(x));
    x.dispose();
    assert.ok(be.memoryStats().usedBytes > used0);
    assert.deepEqual(y.arraySync(), [[1, 2], [3, 4]]);
    y.dispose();
    assert.equal(be.memoryStats().usedBytes, used0);
    assert.throws(() => y.dataSync(), /disposed/);
  });
});

Deno.test("wasm: valueAndGrad, vjp pullbacks and tidy free their intermediates at once", async () => {
  await onBackend("wasm-free", new WasmBackend(), (be) => {
    const [kx, kw] = random.split(random.key(0));
    const x = random.normal(kx, [64, 128]), w = random.normal(kw, [128, 32]);
    const loss = (w: Tensor) =>
      sum(tanh(matmul(x, w)).mul(logsumexp(matmul(x, w), -1, { keepdims: true })));
    const used = () => be.memoryStats().usedBytes;
    const base = used();
    const [value, g] = valueAndGrad(loss)(w);
    // only the value (a scalar block) and the gradient (128×32 floats) remain
    assert.equal(used() - base, 16 + 128 * 32 * 4);
    tree.dispose([value, g]);
    assert.equal(used(), base);
    const [y, pullback] = vjp((w: Tensor) => tanh(matmul(x, w)), w);
    const afterForward = used();
    for (let i = 0; i < 3; i++) pullback(onesLike(y))[0].dispose();
    assert.equal(used(), afterForward + 64 * 32 * 4 * 3); // the cotangents passed in
    const kept = tidy(() => add(exp(w), exp(w)));
    assert.equal(used(), afterForward + 64 * 32 * 4 * 3 + 128 * 32 * 4);
    kept.dispose();
    y.dispose();
  });
});

Deno.test("wasm: blocks of collected tensors come back once the event loop turns", async () => {
  await onBackend("wasm-gc", new WasmBackend(), async (be) => {
    const x = random.normal(random.key(0), [256, 256]);
    const baseline = be.memoryStats().usedBytes;
    for (let i = 0; i < 50; i++) exp(x); // 50 results of 256 KiB, dropped at once
    assert.ok(be.memoryStats().usedBytes >= baseline + 50 * 256 * 1024);
    // Garbage collection is not under the test's control: make garbage and
    // let the event loop turn until the finalizers have run.
    for (let round = 0; round < 200 && be.memoryStats().usedBytes > baseline; round++) {
      for (let j = 0; j < 2000; j++) new Array(64).fill(j);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.ok(be.memoryStats().usedBytes <= baseline);
    // The freed blocks are reused rather than the memory growing.
    const size = be.memoryStats().memoryBytes;
    for (let i = 0; i < 20; i++) exp(x);
    assert.equal(be.memoryStats().memoryBytes, size);
  });
});

Deno.test("wasm: take and its gradient match the cpu backend bit for bit", async () => {
  const run = () => {
    // values made in JS: random.normal goes through each backend's own exp/log
    const values = (n: number, seed: number) =>
      Float32Array.from({ length: n }, (_, i) => Math.sin(seed + i * 1.7) * 3);
    const x = tensor(values(6 * 37, 1), { shape: [6, 37] });
    const ints = cast(mul(x, 100), "int32");
    const idx = tensor([5, -1, 0, 2, 2, -6], { dtype: "int32" });
    const rows = take(x, idx, 0), cols = take(x, idx, 1), intRows = take(ints, idx, 0);
    // the gradients are scatter-adds of the cotangents (repeated indices add up)
    const [, back0] = vjp((x: Tensor) => take(x, idx, 0), x);
    const [, back1] = vjp((x: Tensor) => take(x, idx, 1), x);
    const [g0] = back0(tensor(values(6 * 37, 2), { shape: [6, 37] }));
    const [g1] = back1(tensor(values(6 * 6, 3), { shape: [6, 6] }));
    // 70 indices: rows go in blocks of 32 (cache lines loaded first), here two full blocks and a
    // partial one, along a middle axis (3 slices of 9 rows of 20) and of the 37-wide rows
    const cube = tensor(values(3 * 9 * 20, 4), { shape: [3, 9, 20] });
    const many = tensor(
      Int32Array.from({ length: 70 }, (_, i) => (i * 4) % 9 - (i % 3 === 0 ? 9 : 0)),
    );
    const blocks = [
      take(cube, many, 1),
      take(x, tensor(Int32Array.from({ length: 70 }, (_, i) => i % 6)), 0),
    ];
    return [rows, cols, intRows, g0, g1, ...blocks].map((t) => [...t.dataSync()]);
  };
  const onWasm = await onBackend("wasm-take", new WasmBackend(), run);
  const onCpu = await onBackend("cpu-take", new CpuBackend(), run);
  assert.deepEqual(onWasm, onCpu);
  assert.throws(() => take(tensor([1, 2, 3]), tensor([3], { dtype: "int32" })), /out of bounds/);
});

Deno.test("wasm: at its memory limit, new tensors go to JS memory and stay correct", async () => {
  await onBackend("wasm-tiny", new WasmBackend({ memoryLimit: 2 * WASM_PAGE }), (be) => {
    const a = random.uniform(random.key(1), [64, 100]); // 25.6 KB: fits
    const b = random.uniform(random.key(2), [100, 400]); // 160 KB: more than the limit
    const c = matmul(a, b);
    assert.ok(buf(a).ptr > 0);
    assert.equal(buf(b).ptr, -1);
    assert.ok(be.memoryStats().failed > 0);
    const a64 = a.arraySync() as number[][], b64 = b.arraySync() as number[][];
    const got = c.arraySync() as number[][];
    for (const [i, j] of [[0, 0], [63, 399], [17, 242]]) {
      let s = 0;
      for (let p = 0; p < 100; p++) s += a64[i][p] * b64[p][j];
      assert.ok(Math.abs(got[i][j] - s) < 1e-4, `c[${i}][${j}] ${got[i][j]} vs ${s}`);
    }
    // Mixed operands: one in the arena, one in JS memory.
    const total = sum(add(reshape(c, [-1]), 1)).itemSync();
    assert.ok(Math.abs(total - (sum(c).itemSync() + 64 * 400)) < 1);
  });
});
