/**
 * WebGPU at and beyond the adapter's limits.
 *
 * 1. **Segmented storage on small data**: a backend whose bindings are
 *    capped at 1 KiB (256 elements), so every tensor here spans 2–8
 *    segments, runs every backend method against the CPU backend: exact
 *    for movement, integer and bool results, within the bounds of
 *    `webgpu_backend_test.ts`/`webgpu_kernels_test.ts` for float math.
 * 2. **Clear errors**: a kernel needing more storage bindings than the
 *    device allows, and a tensor larger than the device can bind, are
 *    RangeErrors naming the op, the bytes and the limit.
 * 3. **The real limits** (llvmpipe: 128 MiB per binding): tensors just
 *    above `maxStorageBufferBindingSize`, dispatches above
 *    `maxComputeWorkgroupsPerDimension` workgroups along x, and the
 *    reports that came with them (MNIST-sized gathers, stale sums, a 4 GB
 *    `zeros`).
 * 4. **`take` out of range**: an error when the indices are known on the
 *    host, NaN (and no gradient) when they were computed on the GPU.
 *
 * Skipped where no WebGPU adapter exists.
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../../src/backend/cpu/cpu_backend.ts";
import type { BinaryOp, DataHandle, MatmulSpec, ReduceOp } from "../../src/backend/backend.ts";
import { type GpuHandle, WebGpuBackend } from "../../src/backend/webgpu/webgpu_backend.ts";
import type { DType, TypedArray } from "../../src/core/dtype.ts";
import {
  add,
  cast,
  exp,
  grad,
  jit,
  max,
  mul,
  ones,
  reshape,
  sum,
  take,
  type Tensor,
  tensor,
  transpose,
  zeros,
} from "../../mod.ts";
import { lcg, onBackend, randomArray, withBackend } from "../_helpers.ts";
import { broadcastStrides, stridesOf } from "../../src/core/shape.ts";

const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
const hasGpu = adapter !== null && adapter !== undefined;
/** Bindings of at most 1 KiB: 256 elements per segment. */
const SEG = 256;
const seg = hasGpu ? await WebGpuBackend.create({ maxBindingBytes: SEG * 4 }) : null;
const cpu = new CpuBackend();

function gpuTest(name: string, fn: () => Promise<void> | void): void {
  Deno.test({
    name: `webgpu limits: ${name}`,
    ignore: !hasGpu,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

/** Random values of a dtype (see `randomArray`) from a seed. */
function rand(dtype: DType, size: number, seed: number): TypedArray {
  return randomArray(dtype, size, lcg(seed));
}

/** Uploads copies of `values` to the segmented GPU backend and the CPU. */
function both(values: TypedArray, dtype: DType): [DataHandle, DataHandle] {
  return [seg!.upload(values.slice(), dtype), cpu.upload(values.slice(), dtype)];
}

function segments(h: DataHandle): number {
  return (h as GpuHandle).segs.length;
}

/** Reads both and compares: exactly, or within `rel` relative error (floats). */
async function same(
  g: DataHandle,
  c: DataHandle,
  dtype: DType,
  size: number,
  what: string,
  rel = 0,
): Promise<void> {
  const got = await seg!.read(g, dtype, size);
  const want = cpu.readSync(c, dtype, size);
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < size; i++) {
    const a = got[i], b = want[i];
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
    if (rel > 0 && Math.abs(a - b) <= rel * Math.max(1, Math.abs(b))) continue;
    assert.fail(`${what}: element ${i} of ${size}: got ${a}, want ${b}`);
  }
}

// ---------------------------------------------------------------- 1. segmented storage

gpuTest("segmented: upload, read and fill round-trip every dtype", async () => {
  for (const dtype of ["float32", "int32", "bool"] as const) {
    const x = rand(dtype, 1000, 1);
    const [g, c] = both(x, dtype);
    assert.equal(segments(g), 4);
    await same(g, c, dtype, 1000, `round trip ${dtype}`);
    await same(seg!.fill(2000, -3, dtype), cpu.fill(2000, -3, dtype), dtype, 2000, `fill ${dtype}`);
  }
  // upload owns what it is given: a large array is freed once the queue copied it.
  const plain = await WebGpuBackend.create();
  const big = new Float32Array(20000).fill(2); // 80 KB
  const h = plain!.upload(big, "float32");
  assert.equal(big.buffer.byteLength, 0);
  assert.deepEqual(await plain!.read(h, "float32", 20000), new Float32Array(20000).fill(2));
});

gpuTest("segmented: unary, cast and binary (aligned, broadcast, transposed)", async () => {
  const x = rand("float32", 1500, 2), y = rand("float32", 1500, 3);
  const [gx, cx] = both(x, "float32"), [gy, cy] = both(y, "float32");
  await same(
    seg!.unary({ op: "exp", x: gx, size: 1500, dtype: "float32" }),
    cpu.unary({ op: "exp", x: cx, size: 1500, dtype: "float32" }),
    "float32",
    1500,
    "exp",
    1e-6,
  );
  const xi = rand("int32", 1500, 4);
  const [gi, ci] = both(xi, "int32");
  await same(
    seg!.unary({ op: "neg", x: gi, size: 1500, dtype: "int32" }),
    cpu.unary({ op: "neg", x: ci, size: 1500, dtype: "int32" }),
    "int32",
    1500,
    "neg",
  );
  await same(
    seg!.cast({ x: gx, size: 1500, from: "float32", to: "int32" }),
    cpu.cast({ x: cx, size: 1500, from: "float32", to: "int32" }),
    "int32",
    1500,
    "cast",
  );
  await same(
    seg!.cast({ x: gx, size: 1500, from: "float32", to: "float32" }),
    cpu.cast({ x: cx, size: 1500, from: "float32", to: "float32" }),
    "float32",
    1500,
    "copy",
  );
  const shape = [30, 50];
  const cases: [string, number[], number[]][] = [
    ["aligned", stridesOf(shape), stridesOf(shape)],
    ["row broadcast", stridesOf(shape), broadcastStrides([50], shape)],
    ["column broadcast", broadcastStrides([30, 1], shape), stridesOf(shape)],
    ["transposed", [1, 30], stridesOf(shape)],
    ["both transposed", [1, 30], [1, 30]],
  ];
  for (const op of ["add", "mul", "greater"] as BinaryOp[]) {
    for (const [what, as, bs] of cases) {
      const dt = op === "greater" ? "bool" : "float32";
      const spec = { op, aStrides: as, bStrides: bs, outShape: shape, dtype: "float32" } as const;
      await same(
        seg!.binary({ ...spec, a: gx, b: gy }),
        cpu.binary({ ...spec, a: cx, b: cy }),
        dt,
        1500,
        `${op} ${what}`,
      );
    }
  }
  const cond = rand("bool", 1500, 5);
  const [gc, cc] = both(cond, "bool");
  const geometry = {
    condStrides: [1, 30],
    aStrides: stridesOf(shape),
    bStrides: broadcastStrides([50], shape),
    outShape: shape,
    dtype: "float32",
  } as const;
  await same(
    seg!.where({ ...geometry, cond: gc, a: gx, b: gy }),
    cpu.where({ ...geometry, cond: cc, a: cx, b: cy }),
    "float32",
    1500,
    "where",
  );
});

gpuTest("segmented: strided, scatterStrided and concat cross segment boundaries", async () => {
  const x = rand("float32", 1800, 6);
  const [gx, cx] = both(x, "float32");
  // Transpose [30, 60] → [60, 30]; a reversed slice; a contiguous window at an odd offset.
  await same(
    seg!.strided({ x: gx, offset: 0, strides: [1, 60], outShape: [60, 30], dtype: "float32" }),
    cpu.strided({ x: cx, offset: 0, strides: [1, 60], outShape: [60, 30], dtype: "float32" }),
    "float32",
    1800,
    "transpose",
  );
  await same(
    seg!.strided({ x: gx, offset: 1799, strides: [-1], outShape: [900], dtype: "float32" }),
    cpu.strided({ x: cx, offset: 1799, strides: [-1], outShape: [900], dtype: "float32" }),
    "float32",
    900,
    "reversed",
  );
  await same(
    seg!.strided({ x: gx, offset: 301, strides: [1], outShape: [1100], dtype: "float32" }),
    cpu.strided({ x: cx, offset: 301, strides: [1], outShape: [1100], dtype: "float32" }),
    "float32",
    1100,
    "window copy",
  );
  const scatter = {
    xShape: [20, 30],
    offset: 7,
    strides: [60, 2],
    outSize: 1800,
    dtype: "float32",
  } as const;
  await same(
    seg!.scatterStrided({ ...scatter, x: gx }),
    cpu.scatterStrided({ ...scatter, x: cx }),
    "float32",
    1800,
    "scatterStrided",
  );
  const a = rand("int32", 30 * 20, 7), b = rand("int32", 30 * 25, 8);
  const [ga, ca] = both(a, "int32"), [gb, cb] = both(b, "int32");
  await same(
    seg!.concat({ xs: [ga, gb], cols: [20, 25], outer: 30, dtype: "int32" }),
    cpu.concat({ xs: [ca, cb], cols: [20, 25], outer: 30, dtype: "int32" }),
    "int32",
    1350,
    "concat",
  );
});

gpuTest("segmented: reductions, one and two passes", async () => {
  for (const [outer, n, inner] of [[1, 2000, 1], [20, 30, 3]]) {
    const size = outer * n * inner;
    for (const dtype of ["float32", "int32"] as const) {
      const [g, c] = both(rand(dtype, size, outer + n), dtype);
      const ops: ReduceOp[] = dtype === "float32" ? ["sum", "max", "argmin"] : ["sum"];
      for (const op of ops) {
        const dt = op === "argmin" ? "int32" : dtype;
        await same(
          seg!.reduce({ op, x: g, outer, n, inner, dtype }),
          cpu.reduce({ op, x: c, outer, n, inner, dtype }),
          dt,
          outer * inner,
          `${op} ${dtype} [${outer}, ${n}, ${inner}]`,
          op === "sum" && dtype === "float32" ? 1e-5 : 0,
        );
      }
    }
  }
});

gpuTest("segmented: matmul (tiled and simple), gather, scatterAdd, random, argsort", async () => {
  const spec = (m: number, k: number, n: number, batch: number[] = []): MatmulSpec => ({
    batchShape: batch,
    aBatchStrides: batch.map(() => 1),
    bBatchStrides: batch.map(() => 0),
    m,
    k,
    n,
  });
  for (
    const [s, aSize, bSize] of [
      [spec(33, 20, 36), 660, 720],
      [spec(10, 12, 9, [3]), 360, 108],
    ] as const
  ) {
    const [ga, ca] = both(rand("float32", aSize, 9), "float32");
    const [gb, cb] = both(rand("float32", bSize, 10), "float32");
    const size = s.m * s.n * (s.batchShape[0] ?? 1);
    await same(
      seg!.matmul(ga, gb, s, "float32"),
      cpu.matmul(ca, cb, s, "float32"),
      "float32",
      size,
      `matmul ${s.m}x${s.k}x${s.n}`,
      1e-5,
    );
  }
  const x = rand("float32", 300 * 4, 11);
  const [gx, cx] = both(x, "float32");
  const idx = Int32Array.from(rand("int32", 400, 12), (v, i) => (v * 37 + i) % 300);
  const [gi, ci] = both(idx, "int32");
  await same(
    seg!.gather({ x: gx, indices: gi, outer: 1, n: 300, inner: 4, count: 400, dtype: "float32" }),
    cpu.gather({ x: cx, indices: ci, outer: 1, n: 300, inner: 4, count: 400, dtype: "float32" }),
    "float32",
    1600,
    "gather",
  );
  const g = rand("float32", 1600, 13);
  const [gg, cg] = both(g, "float32");
  await same(
    seg!.scatterAdd({
      g: gg,
      indices: gi,
      outer: 1,
      n: 300,
      inner: 4,
      count: 400,
      dtype: "float32",
    }),
    cpu.scatterAdd({
      g: cg,
      indices: ci,
      outer: 1,
      n: 300,
      inner: 4,
      count: 400,
      dtype: "float32",
    }),
    "float32",
    1200,
    "scatterAdd",
    1e-6,
  );
  const [gk, ck] = both(Int32Array.of(7, -3), "int32");
  await same(seg!.randomBits(gk, 1501), cpu.randomBits(ck, 1501), "int32", 1501, "randomBits");
  await same(
    seg!.randomUniform({ key: gk, count: 1501, dtype: "float32" }),
    cpu.randomUniform({ key: ck, count: 1501, dtype: "float32" }),
    "float32",
    1501,
    "randomUniform",
  );
  const [gs, cs] = both(rand("float32", 5 * 300, 14), "float32");
  await same(
    seg!.argsort({ x: gs, outer: 5, n: 300, dtype: "float32" }),
    cpu.argsort({ x: cs, outer: 5, n: 300, dtype: "float32" }),
    "int32",
    1500,
    "argsort",
  );
});

// ---------------------------------------------------------------- 2. clear errors

gpuTest("a kernel needing more bindings than the device allows is a RangeError", async () => {
  const small = await WebGpuBackend.create({ maxBindingBytes: SEG * 4, maxBindings: 4 });
  // A tensor may hold at most 2 segments here (one input and one output must fit in 4 bindings).
  assert.throws(() => small!.fill(3 * SEG, 0, "float32"), (e: Error) => {
    assert.ok(e instanceof RangeError);
    assert.match(
      e.message,
      /^fill\(\): a tensor of 768 elements, 3072 bytes \(3\.00 KiB\), does not fit/,
    );
    assert.match(e.message, /maxStorageBuffersPerShaderStage/);
    assert.match(e.message, /maxStorageBufferBindingSize/);
    return true;
  });
  // Two transposed 2-segment inputs and a 2-segment output need 5 bindings.
  const a = small!.upload(rand("float32", 2 * SEG, 1), "float32");
  const b = small!.upload(rand("float32", 2 * SEG, 2), "float32");
  assert.throws(
    () =>
      small!.binary({
        op: "add",
        a,
        aStrides: [1, 16],
        b,
        bStrides: [1, 16],
        outShape: [32, 16],
        dtype: "float32",
      }),
    /^RangeError: add\(\): this kernel needs 5 storage bindings \(xa: 2048 bytes \(2\.00 KiB\) in 2 binding\(s\).*allows 4 \(maxStorageBuffersPerShaderStage\)/,
  );
  // Laid out like the output, the same operands bind one segment per dispatch.
  const c = small!.binary({
    op: "add",
    a,
    aStrides: stridesOf([32, 16]),
    b,
    bStrides: stridesOf([32, 16]),
    outShape: [32, 16],
    dtype: "float32",
  });
  const want = cpu.binary({
    op: "add",
    a: cpu.upload(rand("float32", 512, 1), "float32"),
    aStrides: stridesOf([512]),
    b: cpu.upload(rand("float32", 512, 2), "float32"),
    bStrides: stridesOf([512]),
    outShape: [512],
    dtype: "float32",
  });
  assert.deepEqual(await small!.read(c, "float32", 512), cpu.readSync(want, "float32", 512));
});

gpuTest(
  "jit: a fused reduction stays within the device's bindings (each segment binds)",
  async () => {
    // Eight bindings of 16 384 elements (larger values never join a sequence kernel): four
    // 2-segment operands and the output would need 9.
    const small = await WebGpuBackend.create({ maxBindingBytes: 65536, maxBindings: 8 });
    await onBackend("webgpu-8-bindings", small!, async () => {
      const xs = [1, 2, 3, 4].map((k) => tensor(rand("float32", 32768, k), { shape: [4, 8192] }));
      const f = (a: Tensor, b: Tensor, c: Tensor, d: Tensor) => sum(add(mul(a, b), mul(c, d)), 1);
      const want = await f(xs[0], xs[1], xs[2], xs[3]).data();
      const got = await jit(f)(xs[0], xs[1], xs[2], xs[3]).data();
      assert.deepEqual(got, want);
    });
  },
);

gpuTest("a device error is thrown by the next read instead of returning stale values", async () => {
  const b = await WebGpuBackend.create();
  const x = b!.upload(Float32Array.of(1, 2, 3), "float32");
  const out = b!.ctx.allocStore("broken()", 3);
  const ops = [{ name: "out", type: "f32" as const, store: out, write: true }];
  // Not valid WGSL: the pipeline fails on the device, asynchronously.
  b!.ctx.run("broken()", `${b!.ctx.declare(ops)}\nfn main( {`, new Uint32Array(4), ops, [1]);
  await assert.rejects(b!.read(x, "float32", 3), /webgpu: the device reported an error/);
  // Reported once: later reads work.
  assert.deepEqual(await b!.read(x, "float32", 3), Float32Array.of(1, 2, 3));
});

// ---------------------------------------------------------------- 3. the real limits

gpuTest("tensors above maxStorageBufferBindingSize are right (MNIST-sized)", async () => {
  await withBackend("webgpu", async () => {
    // The report: a 60000×784 float32 tensor (179 MiB) read through take gave zeros.
    const X = tensor(new Float32Array(60000 * 784).fill(1), { shape: [60000, 784] });
    assert.deepEqual(await sum(take(X, [5])).data(), Float32Array.of(784));
    assert.deepEqual(await sum(take(X, [59999])).data(), Float32Array.of(784));
    X.dispose();
    // …and sum(ones([3.4e7])) after sum(ones([3e7])) gave the first sum again.
    assert.deepEqual(await sum(ones([3e7])).data(), Float32Array.of(3e7));
    assert.deepEqual(await sum(ones([3.4e7])).data(), Float32Array.of(3.4e7));
  });
});

gpuTest("ops on tensors just above the binding limit", async () => {
  await withBackend("webgpu", async () => {
    const limit = adapter!.limits.maxStorageBufferBindingSize / 4;
    const n = limit + 2; // just over: two segments, the second of two elements
    const host = new Float32Array(n);
    for (let i = 0; i < n; i++) host[i] = i % 1000;
    host[n - 1] = 5000; // in the second segment
    const x = tensor(host);
    const back = await x.data() as Float32Array;
    assert.equal(back[n - 1], 5000);
    assert.equal(back[limit - 1], host[limit - 1]);
    const y = add(x, 1); // elementwise: one dispatch per segment
    const at = [n - 1, 0, limit - 1, limit];
    assert.deepEqual(await take(y, at).data(), Float32Array.from(at, (i) => host[i] + 1));
    y.dispose();
    assert.deepEqual(await max(x).data(), Float32Array.of(5000)); // the maximum is in segment 2
    const xi = cast(x, "int32");
    assert.deepEqual(await take(xi, at).data(), Int32Array.from(at, (i) => host[i]));
    xi.dispose();
    const e = exp(take(x, [n - 2]).sub(1000));
    assert.ok(Math.abs((await e.data())[0] - Math.exp(host[n - 2] - 1000)) < 1e-6);
    // Movement reads across both segments: [2, n/2] transposed to [n/2, 2].
    const t = transpose(reshape(x, [2, n / 2]));
    const rows = [0, n / 2 - 1, limit / 2];
    const want = rows.flatMap((r) => [host[r], host[n / 2 + r]]);
    assert.deepEqual(await take(t, rows).data(), Float32Array.from(want));
    t.dispose();
    x.dispose();
  });
});

gpuTest("a tensor the device cannot bind is a clear error, not a tensor", async () => {
  await withBackend("webgpu", () => {
    assert.throws(() => zeros([1e9]), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /^zeros\(\): .*shape \[1000000000\].*4000000000 bytes/);
      assert.match(
        e.message,
        /webgpu.*maxStorageBufferBindingSize.*so a tensor may hold at most \d+ bytes/,
      );
      return true;
    });
  });
});

// ---------------------------------------------------------------- 4. take out of range

gpuTest(
  "take: host-known out-of-range indices throw; GPU-computed ones give NaN and no gradient",
  async () => {
    await withBackend("webgpu", async () => {
      const x = tensor([10, 20, 30]);
      for (const bad of [[1000], [3], [-4]]) {
        assert.throws(
          () => take(x, bad),
          /take\(\): index -?\d+ is out of (bounds|range) for an axis of size 3/,
        );
      }
      assert.throws(() => take(x, tensor([0, 5], { dtype: "int32" })), RangeError);
      // Indices computed on the GPU cannot be checked without a read: NaN, and the gradient drops them.
      const computed = add(
        tensor([1, 2, 2], { dtype: "int32" }),
        tensor([0, 0, 998], { dtype: "int32" }),
      );
      assert.deepEqual(await take(x, computed).data(), Float32Array.of(20, 30, NaN));
      const g = grad((t: Tensor) => sum(take(t, computed)))(x);
      assert.deepEqual(await g.data(), Float32Array.of(0, 1, 1));
    });
  },
);
