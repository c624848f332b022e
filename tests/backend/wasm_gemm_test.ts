/**
 * The WebAssembly SIMD float32 GEMM (src/backend/wasm/gemm/mod.ts), both
 * variants, against a float64 reference.
 *
 * Tolerance: every element satisfies the worst-case bound for a float32 dot
 * product of length k in any summation order, with or without fused
 * multiply-adds (Higham, γ_k ≤ 2·k·u for k·u ≤ 1/2):
 *
 *   |c − ref| ≤ 2 · k · 2⁻²⁴ · Σₚ |aᵢₚ · bₚⱼ|
 *
 * where ref and Σ|a·b| are computed in float64 from the same float32 inputs.
 */

import assert from "node:assert/strict";
import type { MatmulSpec } from "../../src/backend/backend.ts";
import { CpuBackend } from "../../src/backend/cpu/cpu_backend.ts";
import { WasmBackend } from "../../src/backend/wasm/wasm_backend.ts";
import {
  gemmModuleBytes,
  type GemmOnMemory,
  gemmOnMemory,
  WASM_GEMM_THREADS_MIN_WORK,
  WASM_GEMM_WAKE_MIN_WORK,
  wasmGemmThreadsReady,
  wasmGemmThreadStats,
  wasmGemmUsesTwoThreads,
  type WasmGemmVariant,
  wasmGemmVariant,
  wasmMatmulF32,
} from "../../src/backend/wasm/gemm/mod.ts";
import { CTRL, JOB_PARAMS, TASK } from "../../src/backend/wasm/gemm/layout.ts";
import { workerSource } from "../../src/backend/wasm/gemm/threads.ts";
import { gemmModule } from "../../src/backend/wasm/gemm/module.ts";
import { lcg } from "../_helpers.ts";

/** float32 values uniform in [-2, 2). */
function randomF32(size: number, rng: () => number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng() * 4 - 2;
  return out;
}

const single = (m: number, k: number, n: number): MatmulSpec => ({
  batchShape: [],
  aBatchStrides: [],
  bBatchStrides: [],
  m,
  k,
  n,
});

/** Matrix index of each operand for every batch element, row-major over `batchShape`. */
function batchMatrices(spec: MatmulSpec): [number, number][] {
  const { batchShape, aBatchStrides, bBatchStrides } = spec;
  let out: [number, number][] = [[0, 0]];
  batchShape.forEach((len, d) => {
    const next: [number, number][] = [];
    for (const [a, b] of out) {
      for (let i = 0; i < len; i++) next.push([a + i * aBatchStrides[d], b + i * bBatchStrides[d]]);
    }
    out = next;
  });
  return out;
}

/** The float64 product and Σ|a·b| per output element. */
function reference(
  a: Float32Array,
  b: Float32Array,
  spec: MatmulSpec,
): [Float64Array, Float64Array] {
  const { m, k, n } = spec;
  const mats = batchMatrices(spec);
  const ref = new Float64Array(mats.length * m * n), mag = new Float64Array(ref.length);
  mats.forEach(([aMat, bMat], t) => {
    const aO = aMat * m * k, bO = bMat * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, g = 0;
        for (let p = 0; p < k; p++) {
          const x = a[aO + i * k + p] * b[bO + p * n + j];
          s += x;
          g += Math.abs(x);
        }
        ref[t * m * n + i * n + j] = s;
        mag[t * m * n + i * n + j] = g;
      }
    }
  });
  return [ref, mag];
}

/** Asserts `got` is within the k-scaled bound of the reference (NaN where the reference is NaN). */
function assertWithinBound(
  got: Float32Array,
  a: Float32Array,
  b: Float32Array,
  spec: MatmulSpec,
  label: string,
): void {
  const [ref, mag] = reference(a, b, spec);
  assert.equal(got.length, ref.length, `${label}: length`);
  const scale = 2 * spec.k * 2 ** -24;
  for (let i = 0; i < ref.length; i++) {
    const g = got[i], w = ref[i];
    if (Number.isNaN(w)) {
      assert.ok(Number.isNaN(g), `${label}: element ${i}: got ${g}, want NaN`);
      continue;
    }
    if (!Number.isFinite(w)) {
      assert.equal(g, w, `${label}: element ${i}`);
      continue;
    }
    const err = Math.abs(g - w), tol = scale * mag[i] + 1e-30;
    assert.ok(err <= tol, `${label}: element ${i}: got ${g}, want ${w} (|err| ${err} > ${tol})`);
  }
}

const relaxedOk = WebAssembly.validate(gemmModuleBytes("relaxed"));
const VARIANTS: WasmGemmVariant[] = relaxedOk ? ["relaxed", "simd"] : ["simd"];

/**
 * Runs the kernel of `variant` into a NaN-filled output (so unwritten
 * elements show), on 1 or 2 threads when `threads` says so.
 */
function run(
  a: Float32Array,
  b: Float32Array,
  spec: MatmulSpec,
  variant: WasmGemmVariant,
  threads?: number,
): Float32Array {
  let batch = 1;
  for (const d of spec.batchShape) batch *= d;
  const out = new Float32Array(batch * spec.m * spec.n).fill(NaN);
  assert.equal(wasmMatmulF32(a, b, out, spec, variant, threads), true, `${variant} is available`);
  return out;
}

/** Random operands for `spec`, `aMats` and `bMats` matrices. */
function operands(
  spec: MatmulSpec,
  aMats: number,
  bMats: number,
  rng: () => number,
): [Float32Array, Float32Array] {
  return [randomF32(aMats * spec.m * spec.k, rng), randomF32(bMats * spec.k * spec.n, rng)];
}

Deno.test("wasm gemm: both modules validate; the backend prefers relaxed SIMD", () => {
  assert.ok(WebAssembly.validate(gemmModuleBytes("simd")), "the plain SIMD module validates");
  assert.equal(wasmGemmVariant(), relaxedOk ? "relaxed" : "simd");
});

/** Hex SHA-256 of `bytes`. */
async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The digests below were computed once with the hand-numbered emitter of
 * commit 29fbd3e (`src/backend/wasm/gemm.ts` then): a worktree of that
 * commit, the same script importing its `gemmModuleBytes` and
 * `wasmMatmulF32`. The port to the typed assembler emits the same
 * instructions in the same order, so the module bytes, and with them every
 * product, are bit-identical. Products are pinned for `"simd"` only: the
 * `"relaxed"` module's `relaxed_madd` is fused or not depending on the
 * hardware, so its products may differ across machines (its bytes do not).
 */
const PINNED_MODULES: Record<string, string> = {
  "relaxed:false": "c54c22a99e99c283bccd7f532ff3d12cec4743b0311a29c8bf00b67a771e99a9",
  "relaxed:true": "a9b3ce24b1a154c151a8e8ab99c8623f08a9081a63dfe6e036579ad4437ae896",
  "simd:false": "534f71170cb0fc9966e4988246d1c30566a4b1a4c735a186b56ea3cf34795b61",
  "simd:true": "589549291e4591a7795532ef4af2dd5b7bf59b510485c00cc0a6b3cb6c61eef7",
};
const PINNED_SIMD_PRODUCTS = "31a2049c5d38579d3f2d1edce37d9c5e8f9d374e976a361eb861a5dea335b4bd";

Deno.test("wasm gemm: module bytes and products are bit-identical to commit 29fbd3e's", async () => {
  for (const variant of ["relaxed", "simd"] as const) {
    for (const shared of [false, true]) {
      const got = await sha256(gemmModuleBytes(variant, shared));
      assert.equal(got, PINNED_MODULES[`${variant}:${shared}`], `${variant} shared=${shared}`);
    }
  }
  // Batches of 2 (B broadcast in every other case), one thread, NaN-free inputs
  // uniform in [-2, 2) from lcg(100 + case); the digest of all outputs in order.
  const cases = [
    { m: 5, k: 7, n: 9 },
    { m: 64, k: 300, n: 72 },
    { m: 33, k: 70, n: 17, transA: true },
    { m: 17, k: 600, n: 41, transB: true },
    { m: 130, k: 1100, n: 9, transA: true, transB: true },
  ];
  const outs = cases.map((c, i) => {
    const rng = lcg(100 + i);
    const spec: MatmulSpec = {
      batchShape: [2],
      aBatchStrides: [1],
      bBatchStrides: [i % 2],
      ...c,
    };
    const a = Float32Array.from({ length: 2 * c.m * c.k }, () => rng() * 4 - 2);
    const b = Float32Array.from({ length: 2 * c.k * c.n }, () => rng() * 4 - 2);
    return run(a, b, spec, "simd", 1);
  });
  const all = new Uint8Array(outs.reduce((s, o) => s + o.byteLength, 0));
  outs.reduce((at, o) => (all.set(new Uint8Array(o.buffer), at), at + o.byteLength), 0);
  assert.equal(await sha256(all), PINNED_SIMD_PRODUCTS);
});

Deno.test("wasm gemm: the WAT dump names the functions, and the worker reads the layout by name", () => {
  const wat = gemmModule("simd").toWat();
  for (const want of ["(func $kernel (param $ap i32)", "(local $acc0_0 v128)", "call $macro"]) {
    assert.ok(wat.includes(want), want);
  }
  assert.ok(wat.includes('(func $computePart (export "computePart")'));
  // Slots are distinct; the job parameters lie between the counters and the tasks.
  const slots = Object.values(CTRL);
  assert.equal(new Set(slots).size, slots.length);
  const params = JOB_PARAMS.map((p) => CTRL[p]);
  assert.deepEqual(params, params.map((_, i) => CTRL.aRaw + i));
  assert.ok(CTRL.aRaw + JOB_PARAMS.length <= CTRL.tasks && TASK.size === 5);
  // The worker's source reads the control block through the embedded layout only.
  const src = workerSource();
  assert.ok(src.includes(JSON.stringify(CTRL)), "the layout is embedded");
  assert.equal(/\bc\[\d/.exec(src), null, "no control-block slot as a bare number");
});

Deno.test("wasm gemm: edge shapes match the float64 reference", () => {
  const rng = lcg(11);
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [1, 1, 9],
    [1, 9, 1],
    [9, 1, 1],
    [1, 300, 1],
    [3, 5, 7],
    [4, 8, 8],
    [4, 4, 4],
    [5, 9, 17],
    [7, 1, 13],
    [8, 3, 16],
    [1, 1000, 33],
    [33, 1000, 1],
    [64, 64, 64],
    [65, 63, 67],
    [13, 1025, 9], // three blocks of k
    [6, 2000, 10],
    [129, 17, 3],
    [2, 513, 2],
  ];
  for (const variant of VARIANTS) {
    for (const [m, k, n] of shapes) {
      const spec = single(m, k, n);
      const [a, b] = operands(spec, 1, 1, rng);
      assertWithinBound(run(a, b, spec, variant), a, b, spec, `${variant} ${m}×${k}×${n}`);
    }
  }
});

Deno.test("wasm gemm: random shapes match the float64 reference", () => {
  const rng = lcg(12);
  for (const variant of VARIANTS) {
    for (let trial = 0; trial < 25; trial++) {
      const m = 1 + Math.floor(rng() * 70), n = 1 + Math.floor(rng() * 70);
      const k = 1 + Math.floor(rng() * 700);
      const spec = single(m, k, n);
      const [a, b] = operands(spec, 1, 1, rng);
      assertWithinBound(run(a, b, spec, variant), a, b, spec, `${variant} ${m}×${k}×${n}`);
    }
  }
});

Deno.test("wasm gemm: an MLP-sized product [128,784]@[784,500]", () => {
  const rng = lcg(13);
  const spec = single(128, 784, 500);
  const [a, b] = operands(spec, 1, 1, rng);
  for (const variant of VARIANTS) {
    assertWithinBound(run(a, b, spec, variant), a, b, spec, `${variant} 128×784×500`);
  }
});

Deno.test("wasm gemm: batched with broadcast batch strides", () => {
  const rng = lcg(14);
  const cases: [MatmulSpec, number, number][] = [
    // a: [2, 3, m, k], b: [3, k, n] broadcast over the first axis.
    [{ batchShape: [2, 3], aBatchStrides: [3, 1], bBatchStrides: [0, 1], m: 5, k: 70, n: 9 }, 6, 3],
    // a: [1, m, k] broadcast against b: [4, k, n].
    [{ batchShape: [4], aBatchStrides: [0], bBatchStrides: [1], m: 17, k: 33, n: 12 }, 1, 4],
    // b shared by every batch element (packed once).
    [{ batchShape: [5], aBatchStrides: [1], bBatchStrides: [0], m: 6, k: 600, n: 20 }, 5, 1],
    // a changes every step, b every second step.
    [{ batchShape: [2, 2], aBatchStrides: [0, 1], bBatchStrides: [1, 0], m: 9, k: 11, n: 7 }, 2, 2],
    // both broadcast: one product repeated.
    [{ batchShape: [3], aBatchStrides: [0], bBatchStrides: [0], m: 4, k: 5, n: 8 }, 1, 1],
    // an empty batch.
    [{ batchShape: [0, 3], aBatchStrides: [3, 1], bBatchStrides: [0, 1], m: 4, k: 5, n: 8 }, 0, 3],
  ];
  for (const variant of VARIANTS) {
    for (const [spec, aMats, bMats] of cases) {
      const [a, b] = operands(spec, aMats, bMats, rng);
      assertWithinBound(run(a, b, spec, variant), a, b, spec, `${variant} ${JSON.stringify(spec)}`);
    }
  }
});

Deno.test("wasm gemm: inputs are left untouched and every output element is written", () => {
  const rng = lcg(15);
  const spec = { batchShape: [2], aBatchStrides: [1], bBatchStrides: [0], m: 19, k: 300, n: 21 };
  const [a, b] = operands(spec, 2, 1, rng);
  const a0 = a.slice(), b0 = b.slice();
  for (const variant of VARIANTS) {
    const out = run(a, b, spec, variant); // NaN-filled before the call
    assert.deepEqual(a, a0);
    assert.deepEqual(b, b0);
    assert.ok(out.every((x) => !Number.isNaN(x)), "no element left unwritten");
  }
});

Deno.test("wasm gemm: k = 0 gives zeros; empty outputs are fine", () => {
  for (const variant of VARIANTS) {
    const out = run(new Float32Array(0), new Float32Array(0), single(3, 0, 5), variant);
    assert.deepEqual(out, new Float32Array(15));
    assert.deepEqual(
      run(new Float32Array(0), new Float32Array(20), single(0, 4, 5), variant),
      new Float32Array(0),
    );
  }
  const cpu = new CpuBackend();
  assert.deepEqual(
    cpu.matmul(new Float32Array(0), new Float32Array(0), single(64, 0, 64), "float32"),
    new Float32Array(64 * 64),
  );
});

Deno.test("wasm gemm: Infinity and NaN propagate; zero padding does not leak", () => {
  const rng = lcg(16);
  const spec = single(6, 9, 10); // both m and n need padding
  const [a, b] = operands(spec, 1, 1, rng);
  a[1 * 9 + 2] = Infinity; // row 1 → ±Infinity (or NaN where b has a zero … none here)
  a[3 * 9 + 4] = NaN; // row 3 → NaN
  b[5 * 10 + 9] = -Infinity; // column 9 → ±Infinity, NaN in row 1 where signs clash
  for (const variant of VARIANTS) {
    assertWithinBound(run(a, b, spec, variant), a, b, spec, `${variant} inf/nan`);
  }
});

Deno.test("wasm gemm: a product needing more than the retained memory, then small ones", () => {
  const rng = lcg(17);
  const big = single(4, 800_000, 8); // about 77 MB of linear memory, released afterwards
  const [a, b] = operands(big, 1, 1, rng);
  const variant = VARIANTS[0];
  assertWithinBound(run(a, b, big, variant), a, b, big, "4×800000×8");
  for (const v of VARIANTS) {
    const spec = single(20, 30, 40);
    const [x, y] = operands(spec, 1, 1, rng);
    assertWithinBound(run(x, y, spec, v), x, y, spec, `${v} after release`);
  }
});

Deno.test("cpu backend: float32 products are the plain JS kernel at every size", () => {
  const rng = lcg(18);
  const cpu = new CpuBackend();
  // The JS kernel sums each dot product (k ≤ 256) in float64 and rounds once,
  // so results equal fround(float64 reference) bit for bit, below and above
  // the size where the wasm backend switches to the WebAssembly GEMM.
  for (const spec of [single(15, 13, 21), single(16, 16, 16), single(40, 64, 33)]) {
    const [a, b] = operands(spec, 1, 1, rng);
    assert.deepEqual(
      cpu.matmul(a, b, spec, "float32"),
      Float32Array.from(reference(a, b, spec)[0]),
    );
  }
});

Deno.test("cpu backend: small products (≤ 4096 multiply-adds) transposed and batched are fround(float64 reference)", () => {
  const rng = lcg(20);
  const cpu = new CpuBackend();
  const specs: [MatmulSpec, number, number][] = [
    [single(32, 1, 32), 1, 1], // an outer product (an RNN's input projection)
    [single(1, 32, 32), 1, 1],
    [single(7, 9, 5), 1, 1],
    [{ batchShape: [2, 3], aBatchStrides: [3, 1], bBatchStrides: [0, 1], m: 4, k: 6, n: 5 }, 6, 3],
  ];
  for (const [spec, aMats, bMats] of specs) {
    const [a, b] = operands(spec, aMats, bMats, rng);
    const want = Float32Array.from(reference(a, b, spec)[0]);
    for (const flags of [[false, false], ...FLAGS] as [boolean, boolean][]) {
      const [aT, bT, specT] = storedTransposed(a, b, spec, aMats, bMats, flags);
      assert.deepEqual(cpu.matmul(aT, bT, specT, "float32"), want, JSON.stringify(specT));
    }
  }
});

Deno.test("cpu backend: float64 and int32 products above the threshold stay on the JS kernel", () => {
  const rng = lcg(19);
  const cpu = new CpuBackend();
  const spec = single(40, 50, 30);
  const a = Float64Array.from(randomF32(40 * 50, rng)),
    b = Float64Array.from(randomF32(50 * 30, rng));
  const want = new Float64Array(40 * 30);
  for (let i = 0; i < 40; i++) {
    for (let j = 0; j < 30; j++) {
      let s = 0;
      for (let p = 0; p < 50; p++) s += a[i * 50 + p] * b[p * 30 + j];
      want[i * 30 + j] = s;
    }
  }
  assert.deepEqual(cpu.matmul(a, b, spec, "float64"), want);
  const ai = Int32Array.from(a, (x) => Math.round(x * 1000)),
    bi = Int32Array.from(b, (x) => Math.round(x * 1000));
  const wantI = new Int32Array(40 * 30);
  for (let i = 0; i < 40; i++) {
    for (let j = 0; j < 30; j++) {
      let s = 0;
      for (let p = 0; p < 50; p++) s = (s + Math.imul(ai[i * 50 + p], bi[p * 30 + j])) | 0;
      wantI[i * 30 + j] = s;
    }
  }
  assert.deepEqual(cpu.matmul(ai, bi, spec, "int32"), wantI);
});

// ---- Two threads ----

/** Asserts that two float32 arrays hold the same bits (NaN payloads included). */
function assertSameBits(got: Float32Array, want: Float32Array, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i]) {
      assert.fail(`${label}: element ${i}: ${got[i]} on two threads, ${want[i]} on one`);
    }
  }
}

/** Whether this runtime runs the two-thread path (Deno 2 does). */
const threaded = wasmGemmThreadStats().available;

/** Resolves after `ms` milliseconds. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("wasm gemm threads: the shared module imports a shared memory with a 2 GiB maximum", () => {
  // The import entry: "env" "memory", kind 0x02 (memory), limits flags 0x03
  // (maximum present, shared), min 1, max 32768 pages (LEB128 0x80 0x80 0x02).
  const tail = [0x02, 0x03, 0x01, 0x80, 0x80, 0x02].join(",");
  for (const variant of VARIANTS) {
    const bytes = gemmModuleBytes(variant, true);
    assert.ok([...bytes].join(",").includes(tail), `${variant}: shared limits in the import`);
    assert.ok(![...gemmModuleBytes(variant)].join(",").includes(tail), `${variant}: unshared`);
    const mod = new WebAssembly.Module(bytes);
    assert.deepEqual(WebAssembly.Module.imports(mod), [
      { module: "env", name: "memory", kind: "memory" },
    ]);
    const shared = (maximum: number) =>
      new WebAssembly.Memory({ initial: 1, maximum, shared: true });
    new WebAssembly.Instance(mod, { env: { memory: shared(32768) } });
    new WebAssembly.Instance(mod, { env: { memory: shared(100) } }); // a smaller maximum fits
    assert.throws(
      () =>
        new WebAssembly.Instance(mod, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } }),
      WebAssembly.LinkError,
    );
    assert.throws(
      () => new WebAssembly.Instance(mod, { env: { memory: shared(65536) } }),
      WebAssembly.LinkError,
    );
  }
});

Deno.test("wasm gemm threads: two threads from 128³ multiply-adds, 2²² to wake a blocked worker", () => {
  assert.equal(WASM_GEMM_THREADS_MIN_WORK, 128 ** 3);
  assert.equal(WASM_GEMM_WAKE_MIN_WORK, 2 ** 22);
  assert.equal(wasmGemmUsesTwoThreads(128, 128, 128), true);
  assert.equal(wasmGemmUsesTwoThreads(127, 128, 128), false);
  assert.equal(wasmGemmUsesTwoThreads(128, 64, 256), true);
  assert.equal(wasmGemmUsesTwoThreads(128, 64, 255), false);
  // A worker blocked after a long idle spell is only woken from 2²² up.
  assert.equal(wasmGemmUsesTwoThreads(128, 128, 128, undefined, true), false);
  assert.equal(wasmGemmUsesTwoThreads(128, 128, 255, undefined, true), false);
  assert.equal(wasmGemmUsesTwoThreads(128, 128, 256, undefined, true), true);
  // Asked for explicitly.
  assert.equal(wasmGemmUsesTwoThreads(5, 9, 17, 2, true), true);
  assert.equal(wasmGemmUsesTwoThreads(512, 512, 512, 1), false);
  // C must span more than one 4 × 16 block (columns are cut in whole cache lines).
  assert.equal(wasmGemmUsesTwoThreads(4, 1_000_000, 16, 2), false);
  assert.equal(wasmGemmUsesTwoThreads(4, 1_000_000, 17, 2), true);
  assert.equal(wasmGemmUsesTwoThreads(5, 1_000_000, 16, 2), true);
  assert.equal(wasmGemmUsesTwoThreads(3, 1_000_000, 1), false);
});

Deno.test({
  name: "wasm gemm threads: two threads give the one-thread result bit for bit",
  ignore: !threaded,
  async fn() {
    assert.ok(await wasmGemmThreadsReady(), "the worker starts");
    const rng = lcg(21);
    const before = wasmGemmThreadStats();
    let jobs = 0;
    /** Compares `threads: 2` with `threads: 1` and counts the jobs the worker is offered. */
    const check = (
      spec: MatmulSpec,
      a: Float32Array,
      b: Float32Array,
      variant: WasmGemmVariant,
    ) => {
      const label = `${variant} ${JSON.stringify(spec)}`;
      const one = run(a, b, spec, variant, 1);
      assertSameBits(run(a, b, spec, variant, 2), one, label);
      let batch = 1;
      for (const d of spec.batchShape) batch *= d;
      if (wasmGemmUsesTwoThreads(spec.m, spec.k, spec.n, 2)) jobs += batch;
    };
    // Odd sizes, narrow and wide C (cut in rows or in columns), several blocks
    // of k; sizes grow, so later products grow the shared memory under the
    // running worker.
    const shapes: [number, number, number][] = [
      [5, 9, 17],
      [4, 1000, 17],
      [1, 300, 1000],
      [1000, 300, 1],
      [33, 1000, 65],
      [65, 63, 67],
      [13, 1025, 9],
      [129, 17, 3],
      [200, 50, 8],
      [3, 700, 200],
      [128, 784, 500],
      [257, 1100, 129],
      [300, 520, 333],
    ];
    for (const variant of VARIANTS) {
      for (const [m, k, n] of shapes) {
        const spec = single(m, k, n);
        const [a, b] = operands(spec, 1, 1, rng);
        check(spec, a, b, variant);
      }
    }
    // Infinity and NaN travel the same way.
    const special = single(37, 70, 45);
    const [sa, sb] = operands(special, 1, 1, rng);
    sa[3 * 70 + 5] = Infinity;
    sa[20 * 70 + 1] = NaN;
    sb[9 * 45 + 44] = -Infinity;
    for (const variant of VARIANTS) check(special, sa, sb, variant);
    // Batches, with broadcast operands packed once.
    const batches: [MatmulSpec, number, number][] = [
      [
        { batchShape: [2, 3], aBatchStrides: [3, 1], bBatchStrides: [0, 1], m: 21, k: 70, n: 35 },
        6,
        3,
      ],
      [{ batchShape: [4], aBatchStrides: [0], bBatchStrides: [1], m: 67, k: 130, n: 19 }, 1, 4],
      [{ batchShape: [5], aBatchStrides: [1], bBatchStrides: [0], m: 6, k: 600, n: 90 }, 5, 1],
      [{ batchShape: [3], aBatchStrides: [0], bBatchStrides: [0], m: 40, k: 5, n: 48 }, 1, 1],
    ];
    for (const variant of VARIANTS) {
      for (const [spec, aMats, bMats] of batches) {
        const [a, b] = operands(spec, aMats, bMats, rng);
        check(spec, a, b, variant);
      }
    }
    const after = wasmGemmThreadStats();
    assert.ok(after.shared, "the products ran on the shared memory");
    assert.equal(after.jobs - before.jobs, jobs, "every product that could be cut was offered");
    // The worker takes part (a big product, repeated in case the OS kept it off a CPU).
    const big = single(256, 256, 256);
    const [a, b] = operands(big, 1, 1, rng);
    const one = run(a, b, big, VARIANTS[0], 1);
    const tasks0 = wasmGemmThreadStats().workerTasks;
    for (let i = 0; i < 200 && wasmGemmThreadStats().workerTasks === tasks0; i++) {
      assertSameBits(run(a, b, big, VARIANTS[0], 2), one, "256³");
    }
    assert.ok(wasmGemmThreadStats().workerTasks > tasks0, "the worker ran tasks");
    // The backend uses two threads unless told not to, with the same result.
    const spec = single(200, 300, 400);
    const [x, y] = operands(spec, 1, 1, rng);
    const product = (backend: WasmBackend) =>
      backend.readSync(
        backend.matmul(
          backend.upload(x.slice(), "float32"),
          backend.upload(y.slice(), "float32"),
          spec,
          "float32",
        ),
        "float32",
        spec.m * spec.n,
      ) as Float32Array;
    assertSameBits(
      // The WebAssembly GEMM's threads (a native BLAS, where found, has its own; see blas_test.ts).
      product(new WasmBackend({ blas: false })),
      product(new WasmBackend({ threads: false, blas: false })),
      "backend",
    );
  },
});

Deno.test({
  name: "wasm gemm threads: a shared memory over 64 MiB is released when idle; its worker ends",
  ignore: !threaded,
  async fn() {
    assert.ok(await wasmGemmThreadsReady());
    const variant = VARIANTS[0];
    const spec = single(16, 300_000, 16); // about 77 MB of linear memory; C is cut in rows
    const [a, b] = operands(spec, 1, 1, lcg(22));
    assertSameBits(run(a, b, spec, variant, 2), run(a, b, spec, variant, 1), "16×300000×16");
    assert.ok(wasmGemmThreadStats().memoryBytes > 64 * 2 ** 20);
    assert.equal(wasmGemmThreadStats().workers, 1);
    // An unref'd timer drops the memory after an idle second; the worker, told to quit, ends.
    for (let i = 0; i < 100; i++) {
      const s = wasmGemmThreadStats();
      if (s.memoryBytes === 0 && s.workers === 0) break;
      await delay(50);
    }
    assert.equal(wasmGemmThreadStats().memoryBytes, 0, "memory released");
    assert.equal(wasmGemmThreadStats().workers, 0, "worker ended");
    // The next product that asks for two threads starts a new worker.
    const small = single(40, 50, 60);
    const [x, y] = operands(small, 1, 1, lcg(23));
    assertSameBits(run(x, y, small, variant, 2), run(x, y, small, variant, 1), "after release");
    assert.equal(wasmGemmThreadStats().workers, 1);
  },
});

Deno.test({
  name: "wasm gemm threads: a script that used the worker exits at once (needs --allow-run)",
  ignore: !threaded || Deno.permissions.querySync({ name: "run" }).state !== "granted",
  async fn() {
    const url = new URL("../../src/backend/wasm/gemm/mod.ts", import.meta.url).href;
    const code = `import { wasmGemmThreadStats, wasmMatmulF32 } from ${JSON.stringify(url)};
const n = 512, a = new Float32Array(n * n).fill(1), out = new Float32Array(n * n);
const spec = { batchShape: [], aBatchStrides: [], bBatchStrides: [], m: n, k: n, n };
wasmMatmulF32(a, a, out, spec, undefined, 2);
const { workers, jobs } = wasmGemmThreadStats();
console.log(JSON.stringify({ value: out[0], workers, jobs }));`;
    const t0 = performance.now();
    const { code: rc, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "inherit",
      signal: AbortSignal.timeout(30_000), // a worker keeping the process alive would hang here
    }).output();
    const ms = performance.now() - t0;
    assert.equal(rc, 0, "the script exits by itself");
    assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), {
      value: 512,
      workers: 1,
      jobs: 1,
    });
    assert.ok(ms < 10_000, `exited after ${ms.toFixed(0)} ms`);
  },
});

// ---- In place, on a memory the caller owns ----

/** Bytes between the buffers of {@link onMemory}, filled with a canary pattern. */
const GUARD = 80;

/** Rounds `x` up to a multiple of 16. */
const align16 = (x: number): number => Math.ceil(x / 16) * 16;

/**
 * Places `a` and `b` in `memory` from byte `base` on (operands, output and
 * scratch separated by canaries, the memory grown as needed), runs
 * `gemm.matmul` and returns the output, after checking that nothing outside
 * the output and the scratch changed.
 */
function onMemory(
  gemm: GemmOnMemory,
  memory: WebAssembly.Memory,
  base: number,
  a: Float32Array,
  b: Float32Array,
  spec: MatmulSpec,
  threads?: number,
): Float32Array {
  let batch = 1;
  for (const d of spec.batchShape) batch *= d;
  const outBytes = 4 * batch * spec.m * spec.n, scratchBytes = gemm.scratchBytes(spec, threads);
  const aAt = base + GUARD, bAt = align16(aAt + 4 * a.length + GUARD);
  const outAt = align16(bAt + 4 * b.length + GUARD), scratchAt = align16(outAt + outBytes + GUARD);
  const end = scratchAt + scratchBytes + GUARD;
  if (memory.buffer.byteLength < end) {
    memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
  }
  // The canary: a pattern of NaNs and odd bit strings, everywhere from base to end.
  const words = new Uint32Array(memory.buffer, base, (end - base) / 4);
  for (let i = 0; i < words.length; i++) words[i] = 0x7fc00000 + ((i * 2654435761) >>> 12);
  const f32 = new Float32Array(memory.buffer);
  f32.set(a, aAt / 4);
  f32.set(b, bAt / 4);
  const before = words.slice();
  gemm.matmul(aAt, bAt, outAt, spec, scratchAt, threads);
  const after = new Uint32Array(memory.buffer, base, (end - base) / 4); // the buffer may be new
  const inOut = (i: number) => i >= (outAt - base) / 4 && i < (outAt - base + outBytes) / 4;
  const inScratch = (i: number) =>
    i >= (scratchAt - base) / 4 && i < (scratchAt - base + scratchBytes) / 4;
  for (let i = 0; i < before.length; i++) {
    if (after[i] !== before[i] && !inOut(i) && !inScratch(i)) {
      assert.fail(`byte ${base + 4 * i} changed outside out and scratch (${JSON.stringify(spec)})`);
    }
  }
  return new Float32Array(memory.buffer.slice(outAt, outAt + outBytes));
}

/** Shapes for the in-place tests: single products, then batches with broadcast operands. */
const IN_PLACE: [MatmulSpec, number, number][] = [
  ...([
    [1, 1, 1],
    [3, 5, 7],
    [4, 8, 16], // C needs no padding: computed straight into out
    [100, 784, 100],
    [129, 130, 131],
    [64, 300, 128], // no padding, and two threads cut columns
    [13, 1025, 9],
    [4, 1000, 17],
  ] as const).map(([m, k, n]): [MatmulSpec, number, number] => [single(m, k, n), 1, 1]),
  [{ batchShape: [2, 3], aBatchStrides: [3, 1], bBatchStrides: [0, 1], m: 5, k: 70, n: 9 }, 6, 3],
  [{ batchShape: [4], aBatchStrides: [0], bBatchStrides: [1], m: 17, k: 33, n: 12 }, 1, 4],
  [{ batchShape: [3], aBatchStrides: [1], bBatchStrides: [0], m: 8, k: 20, n: 16 }, 3, 1],
  [{ batchShape: [2], aBatchStrides: [1], bBatchStrides: [1], m: 129, k: 130, n: 131 }, 2, 2],
  [{ batchShape: [3], aBatchStrides: [0], bBatchStrides: [0], m: 40, k: 5, n: 48 }, 1, 1],
  [{ batchShape: [0, 3], aBatchStrides: [3, 1], bBatchStrides: [0, 1], m: 4, k: 5, n: 8 }, 0, 3],
  [single(3, 0, 5), 1, 1],
];

Deno.test({
  name: "wasm gemm in place: bitwise equal to wasmMatmulF32, on 1 and 2 threads; canaries intact",
  async fn() {
    const rng = lcg(31);
    for (const variant of VARIANTS) {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 32768, shared: true });
      const gemm = gemmOnMemory(memory, { shared: true, variant });
      assert.ok(gemm !== null, `${variant}: bound to a shared memory`);
      assert.equal(gemm.variant, variant);
      const two = threaded && await gemm.threadsReady();
      assert.equal(two, threaded, "the worker of the memory starts where threads are available");
      assert.equal(gemm.stats().ready, two);
      assert.equal(gemm.stats().shared, true);
      let base = 16; // a non-zero, 16-byte (not 64-byte) aligned start, moved along
      for (const [spec, aMats, bMats] of IN_PLACE) {
        const label = `${variant} ${JSON.stringify(spec)}`;
        const [a, b] = operands(spec, aMats, bMats, rng);
        const want = run(a, b, spec, variant);
        assertSameBits(onMemory(gemm, memory, base, a, b, spec), want, `${label} default`);
        assertSameBits(onMemory(gemm, memory, base, a, b, spec, 1), want, `${label} threads 1`);
        if (two) {
          const jobs: number = gemm.stats().jobs;
          assertSameBits(onMemory(gemm, memory, base, a, b, spec, 2), want, `${label} threads 2`);
          let batch = 1;
          for (const d of spec.batchShape) batch *= d;
          const cut = spec.k > 0 && wasmGemmUsesTwoThreads(spec.m, spec.k, spec.n, 2);
          assert.equal(gemm.stats().jobs - jobs, cut ? batch : 0, `${label}: jobs offered`);
        }
        base += 48;
      }
      if (two) {
        // The memory's own worker takes part.
        const big = single(256, 256, 256);
        const [a, b] = operands(big, 1, 1, rng);
        const want = run(a, b, big, variant, 1);
        const tasks0 = gemm.stats().workerTasks;
        for (let i = 0; i < 200 && gemm.stats().workerTasks === tasks0; i++) {
          assertSameBits(onMemory(gemm, memory, 4096, a, b, big, 2), want, "256³");
        }
        assert.ok(gemm.stats().workerTasks > tasks0, "the worker ran tasks");
        assert.equal(gemm.stats().workers, 1);
      }
      assert.equal(gemm.stats().memoryBytes, memory.buffer.byteLength);
    }
  },
});

Deno.test("wasm gemm in place: an ordinary memory; mismatched or oversized memories give null", () => {
  const rng = lcg(32);
  for (const variant of VARIANTS) {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const gemm = gemmOnMemory(memory, { shared: false, variant });
    assert.ok(gemm !== null);
    for (const [spec, aMats, bMats] of IN_PLACE.slice(0, 5)) {
      const [a, b] = operands(spec, aMats, bMats, rng);
      const want = run(a, b, spec, variant);
      assertSameBits(onMemory(gemm, memory, 32, a, b, spec, 2), want, `${variant} unshared`);
    }
    assert.equal(gemm.stats().jobs, 0, "no worker on an ordinary memory");
    assert.equal(gemm.stats().shared, false);
    const shared = new WebAssembly.Memory({ initial: 1, maximum: 32768, shared: true });
    assert.equal(gemmOnMemory(shared, { shared: false, variant }), null);
    assert.equal(gemmOnMemory(memory, { shared: true, variant }), null);
    const huge = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    assert.equal(gemmOnMemory(huge, { shared: true, variant }), null, "above 2 GiB");
  }
});

Deno.test("wasm gemm in place: scratch sizes; bad addresses are RangeErrors, nothing written", () => {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 32768, shared: true });
  const gemm = gemmOnMemory(memory, { shared: true })!;
  // Packed A (mPad·k), packed B (k·nPad), C (15 floats to reach a cache line + mPad·ldc).
  assert.equal(gemm.scratchBytes(single(3, 5, 7)), 4 * (4 * 5 + 5 * 8 + 15 + 4 * 8));
  // Two threads cut a wide C in columns: rows of whole cache lines (48 floats).
  assert.equal(gemm.scratchBytes(single(3, 5, 40), 1), 4 * (4 * 5 + 5 * 40 + 15 + 4 * 40));
  assert.equal(gemm.scratchBytes(single(3, 5, 40)), 4 * (4 * 5 + 5 * 40 + 15 + 4 * 48));
  assert.equal(gemm.scratchBytes(single(8, 5, 16)), 4 * (8 * 5 + 5 * 16), "C goes into out");
  assert.equal(gemm.scratchBytes(single(8, 5, 24), 1), 4 * (8 * 5 + 5 * 24));
  assert.equal(gemm.scratchBytes(single(8, 5, 24)), 4 * (8 * 5 + 5 * 24 + 15 + 8 * 32));
  assert.equal(gemm.scratchBytes(single(3, 0, 5)), 0);
  const spec = single(3, 5, 7), limit = memory.buffer.byteLength;
  const f32 = new Float32Array(memory.buffer);
  f32.fill(1.5);
  assert.throws(() => gemm.matmul(2, 256, 512, spec, 1024), RangeError);
  assert.throws(() => gemm.matmul(0, 256, 512, spec, limit - 64), RangeError);
  assert.throws(() => gemm.matmul(0, limit - 64, 512, spec, 1024), RangeError);
  assert.throws(() => gemm.matmul(0, 256, limit - 32, spec, 1024), RangeError);
  assert.throws(() => gemm.matmul(-16, 256, 512, spec, 1024), RangeError);
  assert.ok(f32.every((x) => x === 1.5), "nothing written");
  // After the caller grows the memory, the new bytes can be used.
  memory.grow(1);
  const wide = new Float32Array(memory.buffer);
  wide.fill(1, limit / 4, limit / 4 + 15); // A of ones
  wide.fill(1, limit / 4 + 40, limit / 4 + 40 + 35); // B of ones
  gemm.matmul(limit, limit + 160, limit + 320, spec, limit + 512);
  assert.deepEqual([...new Float32Array(memory.buffer, limit + 320, 21)], Array(21).fill(5));
});

Deno.test({
  name: "wasm gemm in place: operands, output and scratch near the top of a 2 GiB memory",
  ignore: Deno.build.os === "windows",
  async fn() {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 32768, shared: true });
    try {
      memory.grow(32767); // address space only: untouched pages cost nothing
    } catch {
      return; // the machine cannot reserve it
    }
    const variant = VARIANTS[0];
    const gemm = gemmOnMemory(memory, { shared: true, variant })!;
    const two = threaded && await gemm.threadsReady();
    const spec = {
      batchShape: [2],
      aBatchStrides: [1],
      bBatchStrides: [0],
      m: 129,
      k: 130,
      n: 131,
    };
    const [a, b] = operands(spec, 2, 1, lcg(33));
    const want = run(a, b, spec, variant);
    const base = 2 ** 31 - 1024 * 1024; // everything lies above 2³¹ − 1 MiB
    assertSameBits(onMemory(gemm, memory, base, a, b, spec, 1), want, "top, 1 thread");
    if (two) assertSameBits(onMemory(gemm, memory, base, a, b, spec, 2), want, "top, 2 threads");
  },
});

// ---- Operands stored transposed (MatmulSpec.transA, transB) ----

/** A copy of `x` with each of its `mats` row-major `rows × cols` matrices transposed. */
function transposed(x: Float32Array, mats: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length), size = rows * cols;
  for (let t = 0; t < mats; t++) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[t * size + c * rows + r] = x[t * size + r * cols + c];
    }
  }
  return out;
}

/** Which operands are stored transposed. */
const FLAGS: [boolean, boolean][] = [[true, false], [false, true], [true, true]];

/**
 * Products for the transposed layouts: edge sizes (m, n off the `4 × 8` tile,
 * m = 1, n = 1), several blocks of k, C computed straight into the output
 * (4 × 8 × 16, 64 × 300 × 128), the MLP's backward products (dW = Xᵀ·G with
 * X 100 × 784; G·W2ᵀ with W2 100 × 10), and batches with a broadcast operand.
 */
const TRANSPOSED: [MatmulSpec, number, number][] = [
  ...([
    [1, 1, 1],
    [3, 5, 7],
    [5, 9, 17],
    [4, 8, 16],
    [1, 300, 1000],
    [1000, 300, 1],
    [13, 1025, 9], // three blocks of k
    [33, 1000, 65],
    [784, 100, 100], // dW1 = Xᵀ·G
    [100, 10, 100], // G·W2ᵀ
    [129, 130, 131],
    [64, 300, 128],
  ] as const).map(([m, k, n]): [MatmulSpec, number, number] => [single(m, k, n), 1, 1]),
  [{ batchShape: [2, 3], aBatchStrides: [3, 1], bBatchStrides: [0, 1], m: 5, k: 70, n: 9 }, 6, 3],
  [{ batchShape: [4], aBatchStrides: [0], bBatchStrides: [1], m: 67, k: 130, n: 19 }, 1, 4],
  [{ batchShape: [5], aBatchStrides: [1], bBatchStrides: [0], m: 6, k: 600, n: 90 }, 5, 1],
];

/**
 * The operands of `spec` as stored for `transA`/`transB` (each matrix
 * transposed where its flag is set) and the spec that says so.
 */
function storedTransposed(
  a: Float32Array,
  b: Float32Array,
  spec: MatmulSpec,
  aMats: number,
  bMats: number,
  [transA, transB]: [boolean, boolean],
): [Float32Array, Float32Array, MatmulSpec] {
  const { m, k, n } = spec;
  return [
    transA ? transposed(a, aMats, m, k) : a,
    transB ? transposed(b, bMats, k, n) : b,
    { ...spec, transA, transB },
  ];
}

Deno.test({
  name: "wasm gemm transposed: bitwise equal to the materialised transpose, on 1 and 2 threads",
  async fn() {
    const two = threaded && await wasmGemmThreadsReady();
    assert.equal(two, threaded, "the worker starts where threads are available");
    const rng = lcg(41);
    const before = wasmGemmThreadStats();
    let jobs = 0;
    for (const variant of VARIANTS) {
      for (const [spec, aMats, bMats] of TRANSPOSED) {
        const [a, b] = operands(spec, aMats, bMats, rng);
        const want = run(a, b, spec, variant, 1);
        for (const flags of FLAGS) {
          const [aT, bT, specT] = storedTransposed(a, b, spec, aMats, bMats, flags);
          const aT0 = aT.slice(), bT0 = bT.slice();
          const label = `${variant} ${JSON.stringify(specT)}`;
          assertSameBits(run(aT, bT, specT, variant, 1), want, `${label} threads 1`);
          assertSameBits(run(aT, bT, specT, variant, 2), want, `${label} threads 2`);
          assert.deepEqual(aT, aT0, `${label}: a untouched`);
          assert.deepEqual(bT, bT0, `${label}: b untouched`);
          let batch = 1;
          for (const d of spec.batchShape) batch *= d;
          if (wasmGemmUsesTwoThreads(spec.m, spec.k, spec.n, 2)) jobs += batch;
        }
      }
    }
    if (two) {
      assert.equal(wasmGemmThreadStats().jobs - before.jobs, jobs, "the cut products were offered");
      // The worker takes part in a transposed product (repeated in case the OS kept it off a CPU).
      const spec = single(784, 100, 100);
      const [a, b] = operands(spec, 1, 1, rng);
      const want = run(a, b, spec, VARIANTS[0], 1);
      const [aT, bT, specT] = storedTransposed(a, b, spec, 1, 1, [true, true]);
      const tasks0 = wasmGemmThreadStats().workerTasks;
      for (let i = 0; i < 200 && wasmGemmThreadStats().workerTasks === tasks0; i++) {
        assertSameBits(run(aT, bT, specT, VARIANTS[0], 2), want, "784×100×100 transposed");
      }
      assert.ok(wasmGemmThreadStats().workerTasks > tasks0, "the worker ran tasks");
    }
  },
});

Deno.test("wasm gemm transposed: Infinity and NaN in the partial panels travel as stored", () => {
  const rng = lcg(42);
  const spec = single(7, 9, 11); // both the last A panel and the last B panel are partial
  const [a, b] = operands(spec, 1, 1, rng);
  a[6 * 9 + 2] = Infinity; // row 6, in A's partial panel
  a[5 * 9 + 8] = NaN;
  b[4 * 11 + 10] = -Infinity; // column 10, in B's partial panel
  for (const variant of VARIANTS) {
    const want = run(a, b, spec, variant);
    assertWithinBound(want, a, b, spec, `${variant} inf/nan`);
    for (const flags of FLAGS) {
      const [aT, bT, specT] = storedTransposed(a, b, spec, 1, 1, flags);
      assertSameBits(run(aT, bT, specT, variant), want, `${variant} ${flags} inf/nan`);
    }
  }
});

Deno.test({
  name: "wasm gemm transposed in place: bitwise equal on 1 and 2 threads; canaries intact",
  async fn() {
    const rng = lcg(43);
    for (const variant of VARIANTS) {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 32768, shared: true });
      const gemm = gemmOnMemory(memory, { shared: true, variant });
      assert.ok(gemm !== null, `${variant}: bound to a shared memory`);
      const two = threaded && await gemm.threadsReady();
      assert.equal(two, threaded, "the worker of the memory starts where threads are available");
      let base = 16;
      for (const [spec, aMats, bMats] of TRANSPOSED) {
        const [a, b] = operands(spec, aMats, bMats, rng);
        const want = run(a, b, spec, variant);
        for (const flags of FLAGS) {
          const [aT, bT, specT] = storedTransposed(a, b, spec, aMats, bMats, flags);
          const label = `${variant} ${JSON.stringify(specT)}`;
          assert.equal(gemm.scratchBytes(specT), gemm.scratchBytes(spec), `${label}: scratch`);
          assert.equal(
            gemm.scratchBytes(specT, 1),
            gemm.scratchBytes(spec, 1),
            `${label}: scratch`,
          );
          // onMemory checks that nothing outside out and scratch (so not a or b) changed.
          const got1 = onMemory(gemm, memory, base, aT, bT, specT, 1);
          assertSameBits(got1, want, `${label} threads 1`);
          if (two) {
            const jobs: number = gemm.stats().jobs;
            const got2 = onMemory(gemm, memory, base, aT, bT, specT, 2);
            assertSameBits(got2, want, `${label} threads 2`);
            let batch = 1;
            for (const d of spec.batchShape) batch *= d;
            const cut = wasmGemmUsesTwoThreads(spec.m, spec.k, spec.n, 2);
            assert.equal(gemm.stats().jobs - jobs, cut ? batch : 0, `${label}: jobs offered`);
          }
        }
        base += 48;
      }
      if (two) {
        // The memory's own worker takes part in dW = Xᵀ·G.
        const spec = single(784, 100, 100);
        const [a, b] = operands(spec, 1, 1, rng);
        const want = run(a, b, spec, variant, 1);
        const [aT, bT, specT] = storedTransposed(a, b, spec, 1, 1, [true, false]);
        const tasks0 = gemm.stats().workerTasks;
        for (let i = 0; i < 200 && gemm.stats().workerTasks === tasks0; i++) {
          assertSameBits(onMemory(gemm, memory, 4096, aT, bT, specT, 2), want, "dW = Xᵀ·G");
        }
        assert.ok(gemm.stats().workerTasks > tasks0, "the worker ran tasks");
      }
    }
  },
});

Deno.test("wasm gemm transposed in place: an ordinary memory; range checks use the stored sizes", () => {
  const rng = lcg(44);
  for (const variant of VARIANTS) {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const gemm = gemmOnMemory(memory, { shared: false, variant })!;
    for (const [spec, aMats, bMats] of TRANSPOSED.slice(0, 8)) {
      const [a, b] = operands(spec, aMats, bMats, rng);
      const want = run(a, b, spec, variant);
      for (const flags of FLAGS) {
        const [aT, bT, specT] = storedTransposed(a, b, spec, aMats, bMats, flags);
        const label = `${variant} unshared ${JSON.stringify(specT)}`;
        assertSameBits(onMemory(gemm, memory, 32, aT, bT, specT), want, label);
      }
    }
  }
  // A stored 9 × 3 (m·k floats) and B stored 7 × 9 (k·n floats): each may end
  // the memory exactly, and not one float further.
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 32768, shared: true });
  const gemm = gemmOnMemory(memory, { shared: true })!;
  const spec = { ...single(3, 9, 7), transA: true, transB: true };
  const limit = memory.buffer.byteLength;
  new Float32Array(memory.buffer).fill(1, (limit - 4 * (27 + 63)) / 4); // ones for A and B
  for (const aLast of [true, false]) {
    const aAt = aLast ? limit - 4 * 27 : limit - 4 * (27 + 63);
    const bAt = aLast ? limit - 4 * (27 + 63) : limit - 4 * 63;
    new Float32Array(memory.buffer, 0, 21).fill(NaN);
    gemm.matmul(aAt, bAt, 0, spec, 256, 1);
    assert.deepEqual([...new Float32Array(memory.buffer, 0, 21)], Array(21).fill(9));
    if (aLast) assert.throws(() => gemm.matmul(aAt + 4, bAt, 0, spec, 256), RangeError);
    else assert.throws(() => gemm.matmul(aAt, bAt + 4, 0, spec, 256), RangeError);
  }
});
