/**
 * Kernels of the IR on WebGPU (`irKernel`, `irReduce`): fused kernels of
 * several ops — `a·b + c` with broadcasting and the sigmoid — as one
 * dispatch, checked against the CPU backend op by op, also on segmented
 * storage; a reduction with a prologue and per-operand strides; the fused
 * log-sum-exp against the CPU's. Skipped where no WebGPU adapter exists.
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../../src/backend/cpu/cpu_backend.ts";
import { constant, load } from "../../src/backend/ir/expr.ts";
import { elementwiseKernel, reduceKernel } from "../../src/backend/ir/kernel.ts";
import { exp } from "../../src/backend/ir/math.ts";
import { GpuContext, type Store } from "../../src/backend/webgpu/context.ts";
import { irKernel } from "../../src/backend/webgpu/kernels_elementwise.ts";
import { irReduce, logsumexpKernel } from "../../src/backend/webgpu/kernels_reduce.ts";
import { lcg, ulps32 } from "../_helpers.ts";

const cpu = new CpuBackend();
const ctx: GpuContext | null = await GpuContext.create().catch(() => null);
// 1 KiB segments: tensors above 256 elements are split across bindings
const small: GpuContext | null = ctx === null
  ? null
  : await GpuContext.create({ maxBindingBytes: 1024 }).catch(() => null);

/** A GPU test (ignored without an adapter); validation errors fail it. */
function gpuTest(name: string, fn: (gpu: GpuContext, seg: GpuContext) => Promise<void>): void {
  Deno.test({
    name,
    ignore: ctx === null || small === null,
    async fn() {
      for (const g of [ctx!, small!]) g.device.pushErrorScope("validation");
      try {
        await fn(ctx!, small!);
      } finally {
        for (const g of [ctx!, small!]) {
          assert.equal((await g.device.popErrorScope())?.message, undefined, "validation error");
        }
      }
    },
  });
}

/** float32 values in [lo, hi) from a seed. */
function floats(n: number, seed: number, lo = -4, hi = 4): Float32Array {
  const rng = lcg(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng());
}

/** Reads `n` float32 values back. */
async function down(gpu: GpuContext, s: Store, n: number): Promise<Float32Array> {
  return new Float32Array(await gpu.read(s, n * 4));
}

/** `cpu.binary` on float32 host arrays. */
function cpuBinary(
  op: "add" | "mul" | "div",
  a: Float32Array,
  aStrides: number[],
  b: Float32Array,
  bStrides: number[],
  outShape: number[],
): Float32Array {
  const h = cpu.binary({
    op,
    a: cpu.upload(a.slice(), "float32"),
    aStrides,
    b: cpu.upload(b.slice(), "float32"),
    bStrides,
    outShape,
    dtype: "float32",
  });
  return cpu.readSync(h, "float32", outShape.reduce((p, d) => p * d, 1)) as Float32Array;
}

/** Distance in float32 ulps from `b` rounded to float32. */
const ulps = (a: number, b: number): number => ulps32(a, Math.fround(b));

gpuTest(
  "webgpu IR: a·b + c with broadcasting is one kernel equal to mul then add",
  async (gpu, seg) => {
    // a [30, 40], b [40] (broadcast over rows), c [30, 1]: 1200 outputs, several segments on `seg`
    const a = floats(1200, 1), b = floats(40, 2), c = floats(30, 3);
    const shape = [30, 40];
    const want = cpuBinary("add", cpuBinary("mul", a, [40, 1], b, [0, 1], shape), [40, 1], c, [
      1,
      0,
    ], shape);
    const x = (i: number) => load(i, "f32");
    const fused = elementwiseKernel(x(0).mul(x(1)).add(x(2)));
    for (const g of [gpu, seg]) {
      const out = irKernel(g, "fma()", fused, [
        { store: g.upload("a", a), strides: [40, 1] },
        { store: g.upload("b", b), strides: [0, 1] },
        { store: g.upload("c", c), strides: [1, 0] },
      ], shape);
      assert.ok(out.segs.length === (g === seg ? 5 : 1));
      assert.deepEqual(
        await down(g, out, 1200),
        want,
        "a·b + c rounds twice, like the ops one by one",
      );
    }
  },
);

gpuTest(
  "webgpu IR: the sigmoid 1/(1 + e^−x) as one kernel, within 3 ulp of float64",
  async (gpu) => {
    const xs = floats(1000, 4, -30, 30);
    xs.set([0, -0, 88, -88, 80, -80, Infinity, -Infinity, NaN]); // (e^x overflows float32 past 88.7)
    const sig = elementwiseKernel(constant(1, "f32").div(exp(load(0, "f32").neg()).add(1)));
    const x = gpu.upload("x", xs);
    const got = await down(
      gpu,
      irKernel(gpu, "sigmoid()", sig, [{ store: x, strides: [1] }], [1000]),
      1000,
    );
    for (let i = 0; i < 1000; i++) {
      const want = Math.fround(1 / (1 + Math.exp(-xs[i]))); // float64, rounded once
      assert.ok(ulps(got[i], want) <= 3, `sigmoid(${xs[i]}): ${got[i]} vs ${want}`);
    }
  },
);

gpuTest(
  "webgpu IR: a reduction with a prologue reads each operand with its own strides",
  async (gpu, seg) => {
    // √Σ_j (x[o, j, i] − m[o, i])², m broadcast along j: over [3, 5000, 5] (two passes)
    // and, on 1 KiB segments, over [3, 300, 2]
    const d = load(0, "f32").sub(load(1, "f32"));
    const k = reduceKernel("sum", d.mul(d), ["f32", "f32"], load(0, "f32").sqrt());
    const cases: [GpuContext, number, number, number][] = [[gpu, 3, 5000, 5], [seg, 3, 300, 2]];
    for (const [g, outer, n, inner] of cases) {
      const xs = floats(outer * n * inner, 5), ms = floats(outer * inner, 6);
      const operands = [
        { store: g.upload("x", xs), strides: [n * inner, inner, 1] as [number, number, number] },
        { store: g.upload("m", ms), strides: [inner, 0, 1] as [number, number, number] },
      ];
      const got = await down(g, irReduce(g, "norm()", k, operands, outer, n, inner), outer * inner);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let s = 0;
          for (let j = 0; j < n; j++) {
            s += Math.fround(xs[(o * n + j) * inner + i] - ms[o * inner + i]) ** 2;
          }
          const want = Math.sqrt(s), p = o * inner + i;
          assert.ok(Math.abs(got[p] - want) <= 1e-5 * want, `(${o}, ${i}): ${got[p]} vs ${want}`);
        }
      }
    }
  },
);
gpuTest("webgpu IR: fused logsumexp matches the CPU's (rows with ±∞ and NaN too)", async (gpu) => {
  const [outer, n, inner] = [4, 300, 3];
  const xs = floats(outer * n * inner, 7, -50, 50);
  xs[(1 * n + 5) * inner] = Infinity; // row (1, 0): +∞
  for (let j = 0; j < n; j++) xs[(2 * n + j) * inner + 1] = -Infinity; // row (2, 1): all −∞
  xs[(3 * n + 9) * inner + 2] = NaN; // row (3, 2): NaN
  const got = await down(
    gpu,
    logsumexpKernel(gpu, gpu.upload("x", xs), outer, n, inner, "float32"),
    12,
  );
  const want = cpu.readSync(
    cpu.logsumexp({ x: cpu.upload(xs.slice(), "float32"), outer, n, inner, dtype: "float32" }),
    "float32",
    12,
  );
  for (let p = 0; p < 12; p++) {
    if (!Number.isFinite(want[p])) {
      assert.ok(Object.is(got[p], want[p]), `row ${p}: ${got[p]} vs ${want[p]}`);
    } else assert.ok(ulps(got[p], want[p]) <= 4, `row ${p}: ${got[p]} vs ${want[p]}`);
  }
});
