/**
 * float32 matrix products on the CPU backend: the JS kernel (baseline) vs
 * the WebAssembly SIMD kernel, relaxed-SIMD FMA (what the `wasm` backend uses where
 * the runtime has it) and plain SIMD mul + add (the fallback). Square sizes
 * and the products of one training step of a 784-500-400 MLP with batch 128
 * (forward, and the two backward products with transposed operands, which
 * the ops layer materialises, so every call sees row-major A and B).
 *
 * The WebAssembly kernel uses two threads (a worker on a shared memory)
 * for products of at least 128³ multiply-adds, as the `wasm` backend does by
 * default; the "1 vs 2 threads" groups compare the two directly (the worker
 * is started and warm before they run; the results are bitwise equal).
 *
 * Times include copying the operands in and the product out. GFLOP/s =
 * 2·m·k·n / time. Run with `deno bench bench/matmul_bench.ts`.
 *
 * @module
 */

import type { MatmulSpec } from "../src/backend/backend.ts";
import { CpuBackend } from "../src/backend/cpu/cpu_backend.ts";
import { wasmGemmThreadsReady, wasmMatmulF32 } from "../src/backend/wasm/gemm/mod.ts";

const js = new CpuBackend();

/** float32 values uniform in [-1, 1) from a seeded LCG. */
function random(size: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

const SHAPES: readonly [string, number, number, number][] = [
  ["128³", 128, 128, 128],
  ["256³", 256, 256, 256],
  ["512³", 512, 512, 512],
  ["1024³", 1024, 1024, 1024],
  ["[128,784]@[784,500] forward", 128, 784, 500],
  ["[128,500]@[500,784] backward dX = g·Wᵀ", 128, 500, 784],
  ["[784,128]@[128,500] backward dW = xᵀ·g", 784, 128, 500],
  ["[128,500]@[500,400]", 128, 500, 400],
];

for (const [label, m, k, n] of SHAPES) {
  const a = random(m * k, 1), b = random(k * n, 2);
  const spec: MatmulSpec = { batchShape: [], aBatchStrides: [], bBatchStrides: [], m, k, n };
  const group = `matmul f32 ${label} (${((2 * m * k * n) / 1e6).toFixed(0)} MFLOP)`;
  const big = m * k * n >= 2 ** 27;
  // The big JS runs take long enough per call that a few suffice.
  const few = big ? { n: m * k * n >= 2 ** 30 ? 3 : 10, warmup: 2 } : {};
  Deno.bench({
    name: `JS kernel ${label}`,
    group,
    baseline: true,
    ...few,
    fn() {
      js.matmul(a, b, spec, "float32");
    },
  });
  Deno.bench({
    name: `wasm relaxed-SIMD FMA ${label}`,
    group,
    fn() {
      const out = new Float32Array(m * n);
      if (!wasmMatmulF32(a, b, out, spec, "relaxed")) throw new Error("no relaxed SIMD");
    },
  });
  Deno.bench({
    name: `wasm plain SIMD ${label}`,
    group,
    fn() {
      const out = new Float32Array(m * n);
      if (!wasmMatmulF32(a, b, out, spec, "simd")) throw new Error("no WebAssembly SIMD");
    },
  });
}

// One thread against two, on a warm worker.
const threadsReady = await wasmGemmThreadsReady();
const THREAD_SHAPES: readonly [string, number, number, number][] = [
  ["256³", 256, 256, 256],
  ["512³", 512, 512, 512],
  ["1024³", 1024, 1024, 1024],
  ["[128,784]@[784,500] forward", 128, 784, 500],
  ["[128,500]@[500,784] backward dX = g·Wᵀ", 128, 500, 784],
  ["[784,128]@[128,500] backward dW = xᵀ·g", 784, 128, 500],
  ["[128,500]@[500,400]", 128, 500, 400],
];
for (const [label, m, k, n] of THREAD_SHAPES) {
  const a = random(m * k, 3), b = random(k * n, 4), out = new Float32Array(m * n);
  const spec: MatmulSpec = { batchShape: [], aBatchStrides: [], bBatchStrides: [], m, k, n };
  const group = `wasm f32 1 vs 2 threads ${label} (${((2 * m * k * n) / 1e6).toFixed(0)} MFLOP)`;
  Deno.bench({
    name: `1 thread ${label}`,
    group,
    baseline: true,
    fn() {
      if (!wasmMatmulF32(a, b, out, spec, undefined, 1)) throw new Error("no WebAssembly SIMD");
    },
  });
  Deno.bench({
    name: `2 threads ${label}`,
    group,
    ignore: !threadsReady,
    fn() {
      if (!wasmMatmulF32(a, b, out, spec, undefined, 2)) throw new Error("no WebAssembly SIMD");
    },
  });
}
