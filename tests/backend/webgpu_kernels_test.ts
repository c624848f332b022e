/**
 * The WebGPU kernels (`src/backend/webgpu/kernels_*.ts`) against the CPU
 * backend on seeded random data: exact for integer, bool, index, random and
 * max/min results; within stated float32 bounds for sums and products.
 * Skipped where no WebGPU adapter exists.
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../../src/backend/cpu/cpu_backend.ts";
import type { MatmulSpec, ReduceOp } from "../../src/backend/backend.ts";
import { allocArray, type DType, type TypedArray } from "../../src/core/dtype.ts";
import { GpuContext, type Store } from "../../src/backend/webgpu/context.ts";
import { reduceKernel } from "../../src/backend/webgpu/kernels_reduce.ts";
import { matmulKernel, type MatmulVariant } from "../../src/backend/webgpu/kernels_matmul.ts";
import { gatherKernel, scatterAddKernel } from "../../src/backend/webgpu/kernels_index.ts";
import { randomBitsKernel, randomUniformKernel } from "../../src/backend/webgpu/kernels_random.ts";
import { argsortKernel } from "../../src/backend/webgpu/kernels_sort.ts";
import { lcg, randomArray } from "../_helpers.ts";

const cpu = new CpuBackend();
const ctx: GpuContext | null = await GpuContext.create().catch(() => null);
const ignore = ctx === null;

/** The context, asserting it exists (tests are ignored otherwise). */
function gpu(): GpuContext {
  assert(ctx !== null);
  return ctx;
}

/** float32 data drawn from NaN, ±0, ±∞ and a few values (ties and NaN everywhere). */
function specialArray(size: number, rng: () => number): Float32Array {
  const pool = [NaN, 0, -0, Infinity, -Infinity, 1, -1, 2.5];
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = pool[Math.floor(rng() * pool.length)];
  return out;
}

/** float32 data in [-4, 4) with about 1 % NaN. */
function sparseNaN(size: number, rng: () => number): Float32Array {
  const out = randomArray("float32", size, rng) as Float32Array;
  for (let i = 0; i < size; i++) if (rng() < 0.01) out[i] = NaN;
  return out;
}

/** Uploads host data in the GPU storage convention (bool as u32). */
function up(values: TypedArray, dtype: DType): Store {
  return gpu().upload("test", dtype === "bool" ? Uint32Array.from(values) : values);
}

/** Reads `size` elements of `dtype` back (bool from u32). */
async function down(buf: Store, dtype: DType, size: number): Promise<TypedArray> {
  const bytes = await gpu().read(buf, size * 4);
  if (dtype === "float32") return new Float32Array(bytes);
  if (dtype === "int32") return new Int32Array(bytes);
  return Uint8Array.from(new Uint32Array(bytes));
}

/** Exact equality, element by element (`Object.is`: NaN equals NaN, −0 differs from +0). */
function assertExact(got: TypedArray, want: TypedArray, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) {
      assert.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
    }
  }
}

/** `|got − want| ≤ tol[i]`, with NaN and ±∞ required to match exactly. */
function assertClose(got: TypedArray, want: TypedArray, tol: (i: number) => number, what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (!Number.isFinite(w)) {
      if (!Object.is(g, w)) assert.fail(`${what}: element ${i} is ${g}, expected ${w}`);
    } else if (!(Math.abs(g - w) <= tol(i))) {
      assert.fail(`${what}: element ${i} is ${g}, expected ${w} (tolerance ${tol(i)})`);
    }
  }
}

const EPS32 = 2 ** -24;

/**
 * A test that needs the GPU (ignored without an adapter); any WebGPU
 * validation error raised while it runs (e.g. a WGSL compile error, which
 * would otherwise only leave an output unwritten) fails it.
 */
function gpuTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore,
    async fn() {
      const device = gpu().device;
      device.pushErrorScope("validation");
      device.pushErrorScope("internal");
      try {
        await fn();
      } finally {
        const internal = await device.popErrorScope();
        const validation = await device.popErrorScope();
        assert.equal(internal?.message, undefined, "internal WebGPU error");
        assert.equal(validation?.message, undefined, "WebGPU validation error");
      }
    },
  });
}

// ---------------------------------------------------------------- reduce

const REDUCE_OPS: readonly ReduceOp[] = ["sum", "max", "min", "argmax", "argmin"];

/** `[outer, n, inner]` shapes: tiny, row, column, wide inner, and long axes that take two passes. */
const REDUCE_SHAPES: readonly [number, number, number][] = [
  [1, 1, 1],
  [3, 7, 1],
  [2, 5, 3],
  [4, 33, 70],
  [6, 300, 1],
  [1, 10000, 1], // chunked: two passes
  [1, 3000, 5], // chunked with inner > 1
  [2, 2, 2],
];

/** Runs one reduction on both backends and compares. */
async function checkReduce(
  op: ReduceOp,
  x: TypedArray,
  shape: readonly [number, number, number],
  dtype: DType,
  what: string,
): Promise<void> {
  const [outer, n, inner] = shape;
  const want = cpu.reduce({ op, x: x.slice(), outer, n, inner, dtype }) as TypedArray;
  const outDtype = op === "argmax" || op === "argmin" || (op === "sum" && dtype === "bool")
    ? "int32"
    : dtype;
  const xb = up(x, dtype);
  const out = reduceKernel(gpu(), op, xb, outer, n, inner, dtype);
  const got = await down(out, outDtype, outer * inner);
  const label = `${what} ${op} ${dtype} [${shape}]`;
  if (op === "sum" && dtype === "float32") {
    // Bound from the module notes: (⌈n/4⌉ + 20)·2⁻²⁴·Σ|x| per output.
    const absSum = new Float64Array(outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < inner; i++) {
          absSum[o * inner + i] += Math.abs(x[(o * n + j) * inner + i]);
        }
      }
    }
    assertClose(got, want, (i) => (Math.ceil(n / 4) + 20) * EPS32 * absSum[i], label);
  } else {
    assertExact(got, want, label);
  }
  // The input is untouched.
  assertExact(await down(xb, dtype, x.length), x, `${label} input`);
}

gpuTest(
  "webgpu reduce: every op, dtype and shape matches the CPU (tree and serial plans)",
  async () => {
    const rng = lcg(1);
    const initial = gpu().serialReductions;
    try {
      for (const serial of [false, true]) {
        gpu().serialReductions = serial;
        for (const shape of REDUCE_SHAPES) {
          const size = shape[0] * shape[1] * shape[2];
          for (const dtype of ["float32", "int32", "bool"] as const) {
            const x = randomArray(dtype, size, rng);
            const what = serial ? "random, serial" : "random, tree";
            for (const op of REDUCE_OPS) await checkReduce(op, x, shape, dtype, what);
          }
        }
      }
    } finally {
      gpu().serialReductions = initial;
    }
  },
);

gpuTest(
  "webgpu reduce: NaN, ±0 and ±∞ (max/min propagate NaN, arg ops take the first NaN)",
  async () => {
    const rng = lcg(2);
    for (const shape of REDUCE_SHAPES) {
      const size = shape[0] * shape[1] * shape[2];
      const special = specialArray(size, rng);
      const sparse = sparseNaN(size, rng);
      for (const op of REDUCE_OPS) {
        await checkReduce(op, special, shape, "float32", "special");
        await checkReduce(op, sparse, shape, "float32", "sparse NaN");
      }
    }
    // Zeros of both signs only: max/min return the first of the tied zeros.
    const zeros = Float32Array.of(-0, 0, 0, -0, -0, 0);
    for (const op of REDUCE_OPS) {
      await checkReduce(op, zeros, [1, 6, 1], "float32", "zeros");
      await checkReduce(op, zeros, [2, 3, 1], "float32", "zeros");
      await checkReduce(op, zeros, [1, 3, 2], "float32", "zeros");
    }
  },
);

gpuTest("webgpu reduce: int32 sums wrap; empty axes and outputs", async () => {
  const rng = lcg(3);
  const big = new Int32Array(3 * 9000);
  for (let i = 0; i < big.length; i++) big[i] = (rng() * 4294967296) | 0;
  await checkReduce("sum", big, [3, 9000, 1], "int32", "wrapping");
  await checkReduce("sum", big, [1, 9000, 3], "int32", "wrapping");
  for (const dtype of ["float32", "int32", "bool"] as const) {
    const out = reduceKernel(gpu(), "sum", up(allocArray(dtype, 0), dtype), 2, 0, 3, dtype);
    assertExact(
      await down(out, dtype === "bool" ? "int32" : dtype, 6),
      allocArray(dtype === "bool" ? "int32" : dtype, 6),
      `sum over n = 0 ${dtype}`,
    );
  }
  reduceKernel(gpu(), "max", up(new Float32Array(0), "float32"), 0, 4, 2, "float32");
  assert.throws(() =>
    reduceKernel(gpu(), "sum", up(new Float32Array(1), "float32"), 1, 1, 1, "float64")
  );
});

// ---------------------------------------------------------------- matmul

/** Runs one matmul on both backends and compares. */
async function checkMatmul(
  spec: MatmulSpec,
  aBatch: number,
  bBatch: number,
  dtype: "float32" | "int32",
  variant: MatmulVariant,
  rng: () => number,
): Promise<void> {
  const { m, k, n } = spec;
  const aSize = aBatch * m * k, bSize = bBatch * k * n;
  let a: TypedArray, b: TypedArray;
  if (dtype === "int32") {
    // Full-range values: products and sums wrap.
    a = Int32Array.from({ length: aSize }, () => (rng() * 4294967296) | 0);
    b = Int32Array.from({ length: bSize }, () => (rng() * 4294967296) | 0);
  } else {
    a = randomArray(dtype, aSize, rng);
    b = randomArray(dtype, bSize, rng);
  }
  const want = cpu.matmul(a.slice(), b.slice(), spec, dtype) as TypedArray;
  const out = matmulKernel(gpu(), up(a, dtype), up(b, dtype), spec, dtype, variant);
  const got = await down(out, dtype, want.length);
  const label = `matmul ${dtype} ${variant} m=${m} k=${k} n=${n} batch=[${spec.batchShape}]${
    spec.transA ? " transA" : ""
  }${spec.transB ? " transB" : ""}`;
  if (dtype === "int32") {
    assertExact(got, want, label);
  } else {
    // |gpu − cpu| ≤ k·2⁻²³·Σ_p |a_ip·b_pj| (+ a hair for the CPU's own rounding).
    const absA = a.map(Math.abs), absB = b.map(Math.abs);
    const bound = cpu.matmul(absA, absB, spec, dtype) as Float32Array;
    assertClose(got, want, (i) => (k + 2) * 2 * EPS32 * bound[i] + 1e-30, label);
  }
}

/** A spec without batch axes. */
function plain(m: number, k: number, n: number): MatmulSpec {
  return { batchShape: [], aBatchStrides: [], bBatchStrides: [], m, k, n };
}

gpuTest("webgpu matmul: shapes, edges, both kernels", async () => {
  const rng = lcg(4);
  for (const variant of ["auto", "tiled", "blocked", "simple"] as const) {
    await checkMatmul(plain(1, 1, 1), 1, 1, "float32", variant, rng);
    await checkMatmul(plain(37, 53, 29), 1, 1, "float32", variant, rng);
    await checkMatmul(plain(70, 45, 66), 1, 1, "float32", variant, rng);
    await checkMatmul(plain(3, 17, 130), 1, 1, "float32", variant, rng);
  }
  for (const variant of ["tiled", "blocked", "simple"] as const) {
    for (const [transA, transB] of [[true, false], [false, true], [true, true]]) {
      await checkMatmul({ ...plain(70, 45, 66), transA, transB }, 1, 1, "float32", variant, rng);
      await checkMatmul({ ...plain(3, 17, 5), transA, transB }, 1, 1, "float32", variant, rng);
    }
  }
  await checkMatmul(plain(130, 17, 65), 1, 1, "float32", "auto", rng);
  await checkMatmul(plain(64, 64, 64), 1, 1, "float32", "auto", rng);
});

gpuTest("webgpu matmul: k beyond llvmpipe's 65535 loop iterations (float32)", async () => {
  // llvmpipe ends a shader loop after 65535 iterations without an error;
  // auto must pick a kernel whose loops stay below that (exact: sums of ones).
  const k = 70000;
  for (const [m, n] of [[1, 1], [2, 40], [40, 40]]) {
    const spec = plain(m, k, n);
    const a = up(new Float32Array(m * k).fill(1), "float32");
    const b = up(new Float32Array(k * n).fill(1), "float32");
    const got = await down(matmulKernel(gpu(), a, b, spec, "float32", "auto"), "float32", m * n);
    assertExact(got, new Float32Array(m * n).fill(k), `matmul ${m}x${k}x${n}`);
  }
});

gpuTest("webgpu matmul: broadcast batches, int32 wraparound, k = 0", async () => {
  const rng = lcg(5);
  // a: [2, 1, m, k], b: [1, 3, k, n] → [2, 3, m, n].
  const bcast = (m: number, k: number, n: number): MatmulSpec => ({
    batchShape: [2, 3],
    aBatchStrides: [1, 0],
    bBatchStrides: [0, 1],
    m,
    k,
    n,
  });
  await checkMatmul(bcast(5, 7, 9), 2, 3, "float32", "auto", rng);
  await checkMatmul(bcast(40, 20, 36), 2, 3, "float32", "tiled", rng);
  await checkMatmul(bcast(40, 20, 36), 2, 3, "float32", "blocked", rng);
  await checkMatmul(bcast(5, 7, 9), 2, 3, "int32", "auto", rng);
  await checkMatmul({ ...bcast(5, 7, 9), transA: true, transB: true }, 2, 3, "int32", "auto", rng);
  await checkMatmul({ ...bcast(40, 20, 36), transA: true }, 2, 3, "float32", "blocked", rng);
  // b shared by every batch of a: [4, m, k] @ [k, n].
  const shared: MatmulSpec = {
    batchShape: [4],
    aBatchStrides: [1],
    bBatchStrides: [0],
    m: 33,
    k: 10,
    n: 34,
  };
  await checkMatmul(shared, 4, 1, "float32", "auto", rng);
  await checkMatmul(plain(37, 53, 29), 1, 1, "int32", "auto", rng);
  await checkMatmul(plain(1, 1, 1), 1, 1, "int32", "auto", rng);
  // k = 0 → zeros (from a pooled, possibly dirty buffer).
  for (const dtype of ["float32", "int32"] as const) {
    const out = matmulKernel(
      gpu(),
      up(allocArray(dtype, 0), dtype),
      up(allocArray(dtype, 0), dtype),
      plain(3, 0, 5),
      dtype,
    );
    assertExact(await down(out, dtype, 15), allocArray(dtype, 15), `k = 0 ${dtype}`);
  }
  assert.throws(() =>
    matmulKernel(
      gpu(),
      up(new Uint8Array(1), "bool"),
      up(new Uint8Array(1), "bool"),
      plain(1, 1, 1),
      "bool",
    )
  );
});

// ---------------------------------------------------------------- gather / scatterAdd

/** Runs gather and scatterAdd on both backends and compares. */
async function checkIndex(
  indices: Int32Array,
  outer: number,
  n: number,
  inner: number,
  dtype: DType,
  rng: () => number,
): Promise<void> {
  const count = indices.length;
  const label = `${dtype} outer=${outer} n=${n} inner=${inner} indices=[${indices}]`;
  const x = randomArray(dtype, outer * n * inner, rng);
  const idx = up(indices, "int32");
  const geometry = { indices: indices.slice(), outer, n, inner, count, dtype };
  const wantG = cpu.gather({ ...geometry, x: x.slice() }) as TypedArray;
  const gotG = await down(
    gatherKernel(gpu(), up(x, dtype), idx, outer, n, inner, count, dtype),
    dtype,
    wantG.length,
  );
  assertExact(gotG, wantG, `gather ${label}`);

  const g = randomArray(dtype, outer * count * inner, rng);
  const wantS = cpu.scatterAdd({ ...geometry, g: g.slice() }) as TypedArray;
  const gotS = await down(
    scatterAddKernel(gpu(), up(g, dtype), idx, outer, n, inner, count, dtype),
    dtype,
    wantS.length,
  );
  if (dtype === "float32") {
    // Repeated indices sum in float32 (the CPU in float64): ≤ count·2⁻²⁴·Σ|g| per output.
    let absSum = 0;
    for (let i = 0; i < g.length; i++) absSum += Math.abs(g[i]);
    assertClose(gotS, wantS, () => count * EPS32 * absSum, `scatterAdd ${label}`);
    // And exactly the float32 sum in increasing c (the CPU's order).
    assertExact(
      gotS,
      scatterAddF32InOrder(g, indices, outer, n, inner),
      `scatterAdd order ${label}`,
    );
  } else {
    assertExact(gotS, wantS, `scatterAdd ${label}`);
  }
}

/** float32 scatter-add summed on the host in increasing `c`, rounding after every addition. */
function scatterAddF32InOrder(
  g: TypedArray,
  indices: Int32Array,
  outer: number,
  n: number,
  inner: number,
): Float32Array {
  const count = indices.length;
  const out = new Float32Array(outer * n * inner);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < count; c++) {
      const j = indices[c] < 0 ? indices[c] + n : indices[c];
      for (let i = 0; i < inner; i++) {
        const at = (o * n + j) * inner + i;
        out[at] = Math.fround(out[at] + g[(o * count + c) * inner + i]);
      }
    }
  }
  return out;
}

gpuTest("webgpu gather/scatterAdd: repeated and negative indices", async () => {
  const rng = lcg(6);
  const fixed = Int32Array.of(0, -1, 3, 3, 6, -7, 2, 3, 0);
  const many = Int32Array.from({ length: 50 }, () => Math.floor(rng() * 26) - 13);
  for (const dtype of ["float32", "int32", "bool"] as const) {
    await checkIndex(fixed, 3, 7, 4, dtype, rng);
    await checkIndex(fixed, 1, 7, 1, dtype, rng);
    await checkIndex(many, 2, 13, 3, dtype, rng);
    await checkIndex(Int32Array.of(4), 2, 5, 1, dtype, rng);
  }
  // float32 scatterAdd with distinct indices is exact.
  const g = randomArray("float32", 2 * 5 * 3, rng);
  const perm = Int32Array.of(4, 0, -2, 1, 2);
  const want = cpu.scatterAdd({
    g: g.slice(),
    indices: perm,
    outer: 2,
    n: 5,
    inner: 3,
    count: 5,
    dtype: "float32",
  }) as TypedArray;
  const got = await down(
    scatterAddKernel(gpu(), up(g, "float32"), up(perm, "int32"), 2, 5, 3, 5, "float32"),
    "float32",
    30,
  );
  assertExact(got, want, "scatterAdd distinct");
});

gpuTest("webgpu gather/scatterAdd: out-of-range indices fill and drop; empty counts", async () => {
  const x = Float32Array.of(10, 11, 12, 13);
  // -4 and 3 are in range; -100, 100, 4, -5 and 2³¹−1 are not.
  const idx = up(Int32Array.of(-100, 100, -4, 3, 4, -5, 2147483647), "int32");
  const got = await down(
    gatherKernel(gpu(), up(x, "float32"), idx, 1, 4, 1, 7, "float32"),
    "float32",
    7,
  );
  assertExact(got, Float32Array.of(NaN, NaN, 10, 13, NaN, NaN, NaN), "gather fills NaN");
  const gotI = await down(
    gatherKernel(gpu(), up(Int32Array.of(1, 2, 3, 4), "int32"), idx, 1, 4, 1, 7, "int32"),
    "int32",
    7,
  );
  const MIN = -2147483648;
  assertExact(gotI, Int32Array.of(MIN, MIN, 1, 4, MIN, MIN, MIN), "gather fills -2^31");
  const gotB = await down(
    gatherKernel(gpu(), up(Uint8Array.of(0, 0, 0, 0), "bool"), idx, 1, 4, 1, 7, "bool"),
    "bool",
    7,
  );
  assertExact(gotB, Uint8Array.of(1, 1, 0, 0, 1, 1, 1), "gather fills true");
  // The transpose drops the out-of-range updates.
  const s = scatterAddKernel(
    gpu(),
    up(Float32Array.of(1, 2, 4, 8, 16, 32, 64), "float32"),
    idx,
    1,
    4,
    1,
    7,
    "float32",
  );
  assertExact(await down(s, "float32", 4), Float32Array.of(4, 0, 0, 8), "scatterAdd drops");
  // count = 0: gather gives nothing, scatterAdd gives zeros.
  const none = up(new Int32Array(0), "int32");
  const z = scatterAddKernel(
    gpu(),
    up(new Float32Array(0), "float32"),
    none,
    2,
    3,
    2,
    0,
    "float32",
  );
  assertExact(await down(z, "float32", 12), new Float32Array(12), "scatterAdd count = 0");
  gatherKernel(gpu(), up(x, "float32"), none, 1, 4, 1, 0, "float32");
});

// ---------------------------------------------------------------- random

const KEYS: readonly [number, number][] = [[0, 0], [1, 2], [-1, 12345], [0x7fffffff, -0x80000000]];

gpuTest("webgpu randomBits/randomUniform: bit-exact with the CPU", async () => {
  for (const [k0, k1] of KEYS) {
    const key = Int32Array.of(k0, k1);
    const kb = up(key, "int32");
    for (const count of [1, 2, 7, 1001]) {
      const wantBits = cpu.randomBits(key.slice(), count) as Int32Array;
      const gotBits = await down(randomBitsKernel(gpu(), kb, count), "int32", count);
      assertExact(gotBits, wantBits, `randomBits key=[${key}] count=${count}`);
      const wantU = cpu.randomUniform({
        key: key.slice(),
        count,
        dtype: "float32",
      }) as Float32Array;
      const gotU = await down(randomUniformKernel(gpu(), kb, count, "float32"), "float32", count);
      assertExact(gotU, wantU, `randomUniform key=[${key}] count=${count}`);
    }
  }
  // Known answer: threefry2x32(0, 0, 0, 0) = [0x6b200159, 0x99ba4efe].
  const bits = await down(
    randomBitsKernel(gpu(), up(Int32Array.of(0, 0), "int32"), 2),
    "int32",
    2,
  );
  assertExact(bits, Int32Array.of(0x6b200159, 0x99ba4efe | 0), "known answer");
  assert.throws(
    () => randomUniformKernel(gpu(), up(Int32Array.of(0, 0), "int32"), 4, "float64"),
    TypeError,
  );
  randomBitsKernel(gpu(), up(Int32Array.of(0, 0), "int32"), 0);
});

// ---------------------------------------------------------------- argsort

gpuTest("webgpu argsort: stable, NaN last, ties by index", async () => {
  const rng = lcg(7);
  const cases: [TypedArray, number, number, DType][] = [
    [randomArray("int32", 5 * 40, rng), 5, 40, "int32"],
    [randomArray("float32", 3 * 300, rng), 3, 300, "float32"],
    [specialArray(4 * 37, rng), 4, 37, "float32"],
    [sparseNaN(2 * 513, rng), 2, 513, "float32"],
    [randomArray("bool", 3 * 20, rng), 3, 20, "bool"],
    [Float32Array.of(NaN, -0, 0, -Infinity, NaN, Infinity, -0), 1, 7, "float32"],
    [Int32Array.of(2147483647, -2147483648, 0, -1, 2147483647), 1, 5, "int32"],
    [Float32Array.of(3), 1, 1, "float32"],
  ];
  for (const [x, outer, n, dtype] of cases) {
    const want = cpu.argsort({ x: x.slice(), outer, n, dtype }) as Int32Array;
    const got = await down(
      argsortKernel(gpu(), up(x, dtype), outer, n, dtype),
      "int32",
      outer * n,
    );
    assertExact(got, want, `argsort ${dtype} [${outer}, ${n}]`);
  }
  argsortKernel(gpu(), up(new Float32Array(0), "float32"), 0, 3, "float32");
});

// ---------------------------------------------------------------- loops past 65 535 steps

gpuTest(
  "webgpu kernels: rows and index runs longer than llvmpipe's 65 535 loop steps",
  async () => {
    // llvmpipe ends an invocation's loops after 65 535 iterations in all: a
    // row of 66 000 keys was ranked against its first ~65 000 only, and a
    // gradient summed at most 65 535 repeats of an index.
    const n = 70_000;
    const rng = lcg(21);
    const keys = randomArray("float32", n, rng);
    keys[n - 1] = -5; // the last key sorts first: a truncated rank misses it
    const want = cpu.argsort({ x: keys.slice(), outer: 1, n, dtype: "float32" }) as Int32Array;
    assertExact(
      await down(argsortKernel(gpu(), up(keys, "float32"), 1, n, "float32"), "int32", n),
      want,
      "argsort of 66 000",
    );
    // scatterAdd of 66 000 values onto index 0: its sort ranks 66 000 ties, then one long run.
    const g = Float32Array.from({ length: n }, (_, i) => (i % 3) + 1);
    const idx = new Int32Array(n);
    const wantS = cpu.scatterAdd({
      g: g.slice(),
      indices: idx,
      outer: 1,
      n: 3,
      inner: 1,
      count: n,
      dtype: "float32",
    });
    const got = await down(
      scatterAddKernel(gpu(), up(g, "float32"), up(idx, "int32"), 1, 3, 1, n, "float32"),
      "float32",
      3,
    );
    assertExact(got, wantS as TypedArray, "scatterAdd of 66 000 onto one index");
    // Past what the unrolled loops cover on a software adapter: an error, not a wrong result.
    if (gpu().isFallback) {
      assert.throws(
        () => argsortKernel(gpu(), up(new Float32Array(1), "float32"), 1, 2_000_000, "float32"),
        /argsort\(\): rows of 2000000 are more than this software WebGPU adapter \(llvmpipe\)/,
      );
    }
  },
);

// ---------------------------------------------------------------- large dispatches

gpuTest("webgpu kernels: dispatches past 65535 workgroups and many short rows", async () => {
  // gather of 4·1.1 M elements: more than 65535 × 64 invocations, so a 2-D grid.
  const inner = 1_100_000;
  const x = Int32Array.from({ length: 2 * inner }, (_, i) => i);
  const picks = [1, 0, -1, 0];
  const out = gatherKernel(
    gpu(),
    up(x, "int32"),
    up(Int32Array.from(picks), "int32"),
    1,
    2,
    inner,
    4,
    "int32",
  );
  const got = await down(out, "int32", 4 * inner);
  for (let c = 0; c < 4; c++) {
    const row = picks[c] < 0 ? picks[c] + 2 : picks[c];
    for (let i = 0; i < inner; i += 997) assert.equal(got[c * inner + i], row * inner + i);
    assert.equal(got[c * inner + inner - 1], row * inner + inner - 1);
  }
  // argsort of 3000 rows of 3 (85 rows per workgroup) and a reduce of 5000 rows of 3.
  const rng = lcg(8);
  const y = randomArray("int32", 3000 * 3, rng);
  const want = cpu.argsort({ x: y.slice(), outer: 3000, n: 3, dtype: "int32" }) as Int32Array;
  assertExact(
    await down(argsortKernel(gpu(), up(y, "int32"), 3000, 3, "int32"), "int32", 9000),
    want,
    "argsort short rows",
  );
  const z = randomArray("int32", 5000 * 3, rng);
  for (const op of ["sum", "argmin"] as const) {
    const w = cpu.reduce({
      op,
      x: z.slice(),
      outer: 5000,
      n: 3,
      inner: 1,
      dtype: "int32",
    }) as Int32Array;
    assertExact(
      await down(reduceKernel(gpu(), op, up(z, "int32"), 5000, 3, 1, "int32"), "int32", 5000),
      w,
      `${op} short rows`,
    );
  }
});
