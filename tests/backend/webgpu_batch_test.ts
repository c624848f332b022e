/**
 * `Backend.batch` on webgpu: the kernels of a batch are recorded into one
 * command encoder and submitted once, with the same results as one submit
 * per kernel; the queue-order hazards of deferred submission (a buffer
 * released inside a batch and then reused by an upload, or destroyed
 * because the pool is full) cannot corrupt or invalidate pending work; a
 * read inside a batch submits first; an exception leaves the device usable;
 * `jit` (which runs a call as one batch: one submit) equals eager bit for
 * bit; and in the steady state a jitted training step creates no GPU
 * buffer. Skipped where no WebGPU adapter exists.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  add,
  concat,
  exp,
  greater,
  jit,
  matmul,
  mul,
  optim,
  slice,
  sum,
  type Tensor,
  tensor,
  tree,
  valueAndGrad,
  where,
} from "../../mod.ts";
import type { DataHandle } from "../../src/backend/backend.ts";
import { currentBackend } from "../../src/backend/registry.ts";
import { WebGpuBackend } from "../../src/backend/webgpu/mod.ts";
import { type MlpParams, mlpProblem } from "../jit/_helpers.ts";
import { assertSame, gpuTest as onGpu, hasGpu } from "./_webgpu.ts";

/** The registered webgpu backend (after `setBackend("webgpu")`). */
function gpu(): WebGpuBackend {
  return currentBackend() as WebGpuBackend;
}

/** A test on the registered webgpu backend (ignored without an adapter). */
function gpuTest(name: string, fn: () => Promise<void>): void {
  onGpu(`webgpu batch: ${name}`, fn);
}

/** A test on a backend of its own (a separate device), for raw handles. */
function ownDeviceTest(
  name: string,
  fn: (b: WebGpuBackend) => Promise<void>,
  opts: { poolBytes?: number } = {},
): void {
  Deno.test({
    name: `webgpu batch: ${name}`,
    ignore: !hasGpu,
    fn: async () => {
      const b = await WebGpuBackend.create(opts);
      assert.ok(b !== null);
      try {
        await fn(b);
      } finally {
        b.ctx.device.destroy();
      }
    },
  });
}

const f32 = (b: WebGpuBackend, xs: number[]): DataHandle =>
  b.upload(Float32Array.from(xs), "float32");

const read = async (b: WebGpuBackend, h: DataHandle, n: number): Promise<number[]> =>
  Array.from(await b.read(h, "float32", n));

/**
 * Ops whose kernels use every kind of command: a matmul (its offset
 * table), elementwise kernels, a reduction, a slice (a buffer copy), its
 * gradient (a cleared buffer, then a scatter), concat and where.
 */
function mixed(x: Tensor, w: Tensor): Tensor[] {
  const e = exp(mul(add(matmul(x, w), 0.5), -0.01));
  const s = sum(e, 0).reshape([1, 3]);
  const [, g] = valueAndGrad((v: Tensor) => sum(mul(slice(v, [1, 0], [4, 3]), 2)))(e);
  const c = concat([s, slice(e, [1, 0], [4, 3])], 0);
  return [where(greater(c, 0.9), c, mul(c, 3)), sum(g, 1)];
}

gpuTest("a batch of ops is one submit and gives the unbatched results bit for bit", async () => {
  const x = tensor(Array.from({ length: 700 * 40 }, (_, i) => ((i * 37) % 101) / 50 - 1))
    .reshape([700, 40]);
  const w = tensor(Array.from({ length: 40 * 3 }, (_, i) => ((i * 11) % 23) / 10 - 1))
    .reshape([40, 3]);
  const ctx = gpu().ctx;
  const s0 = ctx.submits;
  const want = mixed(x, w);
  const unbatched = ctx.submits - s0;
  const s1 = ctx.submits;
  const got = gpu().batch(() => mixed(x, w));
  assert.equal(ctx.submits - s1, 1, "one submit for the whole batch");
  assert.ok(unbatched > 5, `one submit per kernel without a batch (${unbatched})`);
  await assertSame(got, want, "mixed ops");
});

gpuTest("nested batches join the outer one", async () => {
  const ctx = gpu().ctx;
  const x = tensor([1, 2, 3]);
  const s0 = ctx.submits;
  const [a, b] = gpu().batch(() => {
    const a = gpu().batch(() => exp(x));
    assert.equal(ctx.submits, s0, "the inner batch does not submit");
    return [a, gpu().batch(() => add(a, x))];
  });
  assert.equal(ctx.submits - s0, 1);
  await assertSame([a, b], [exp(x), add(exp(x), x)], "nested");
});

ownDeviceTest(
  "a buffer released inside a batch is not overwritten by a later upload",
  async (b) => {
    const x = f32(b, [1, 2, 3, 4]);
    const y = b.batch(() => {
      const y = b.unary({ op: "neg", x, size: 4, dtype: "float32" }); // pending: reads x
      b.dispose(x); // x's buffer goes back to the pool while the neg is not yet submitted
      const z = f32(b, [100, 200, 300, 400]); // an upload writes before pending commands run
      const w = b.binary({
        op: "add",
        a: y,
        aStrides: [1],
        b: z,
        bStrides: [1],
        outShape: [4],
        dtype: "float32",
      });
      return { y, w };
    });
    assert.deepEqual(await read(b, y.y, 4), [-1, -2, -3, -4]);
    assert.deepEqual(await read(b, y.w, 4), [99, 198, 297, 396]);
  },
);

ownDeviceTest(
  "a buffer released inside a batch with a full pool is destroyed after the submit",
  async (b) => {
    const x = f32(b, [1, 4, 9, 16]);
    const y = b.batch(() => {
      const y = b.unary({ op: "sqrt", x, size: 4, dtype: "float32" });
      b.dispose(x); // the pool keeps nothing: x's buffer is destroyed, but only after the submit
      return b.unary({ op: "neg", x: y, size: 4, dtype: "float32" });
    });
    const got = await read(b, y, 4); // a destroyed buffer in the submit would throw here
    assert.deepEqual(got, [-1, -2, -3, -4]);
  },
  { poolBytes: 0 },
);

ownDeviceTest(
  "a buffer released in the batch serves a later kernel of the same batch",
  async (b) => {
    const x = f32(b, [1, 2, 3, 4]);
    // Makes the uniform buffer and leaves one pooled buffer of this size.
    b.dispose(b.unary({ op: "neg", x, size: 4, dtype: "float32" }));
    const created = b.ctx.buffersCreated;
    const out = b.batch(() => {
      const y = b.unary({ op: "neg", x, size: 4, dtype: "float32" });
      const z = b.unary({ op: "abs", x: y, size: 4, dtype: "float32" });
      b.dispose(y); // pending commands read y; a kernel output may still take its buffer
      return b.unary({ op: "sqrt", x: z, size: 4, dtype: "float32" });
    });
    assert.equal(
      b.ctx.buffersCreated - created,
      1,
      "y takes the pooled buffer, z a new one, the output y's",
    );
    assert.deepEqual(await read(b, out, 4), [1, 2, 3, 4].map((v) => Math.fround(Math.sqrt(v))));
  },
);

ownDeviceTest("a read inside a batch submits what is pending first", async (b) => {
  const x = f32(b, [0, 1, 2]);
  const s0 = b.ctx.submits;
  let pending!: Promise<Float32Array>;
  const z = b.batch(() => {
    const y = b.unary({ op: "exp", x, size: 3, dtype: "float32" });
    pending = b.read(y, "float32", 3) as Promise<Float32Array>;
    return b.unary({ op: "neg", x: y, size: 3, dtype: "float32" });
  });
  assert.equal(b.ctx.submits - s0, 2, "the read's submit, then the rest at the end");
  const ey = [0, 1, 2].map((v) => Math.fround(Math.exp(v)));
  assert.deepEqual(Array.from(await pending), ey);
  assert.deepEqual(await read(b, z, 3), ey.map((v) => -v));
});

ownDeviceTest(
  "an exception inside a batch submits what was recorded; the device stays usable",
  async (b) => {
    const x = f32(b, [1, 4, 9]);
    let y!: DataHandle;
    assert.throws(
      () =>
        b.batch(() => {
          y = b.unary({ op: "sqrt", x, size: 3, dtype: "float32" });
          b.batch(() => {
            throw new Error("boom");
          });
        }),
      /boom/,
    );
    assert.deepEqual(await read(b, y, 3), [1, 2, 3], "work recorded before the throw ran");
    const s0 = b.ctx.submits;
    const z = b.unary({ op: "neg", x: y, size: 3, dtype: "float32" });
    assert.equal(b.ctx.submits - s0, 1, "outside a batch again: one submit per kernel");
    assert.deepEqual(await read(b, z, 3), [-1, -2, -3]);
    assert.deepEqual(b.batch(() => 7), 7, "an empty batch submits nothing and returns the value");
  },
);

/** The jitted SGD step of the 8-16-3 MLP (loss and new parameters). */
function sgdStep(loss: ReturnType<typeof mlpProblem>["loss"]) {
  const opt = optim.sgd(0.1);
  return (p: MlpParams, xb: Tensor, yb: Tensor) => {
    const [l, g] = valueAndGrad((q: MlpParams) => loss(q, xb, yb))(p);
    const [u] = opt.update(g, opt.init(p), p);
    return { loss: l, params: optim.applyUpdates(p, u) as MlpParams };
  };
}

gpuTest("jit: one submit per call, bit for bit the eager step", async () => {
  const { params, x, labels, loss } = mlpProblem(3);
  const step = sgdStep(loss);
  const fast = jit(step);
  let pe = params, pj = params;
  const ctx = gpu().ctx;
  for (let i = 0; i < 4; i++) {
    const e = step(pe, x, labels);
    const s0 = ctx.submits;
    const j = fast(pj, x, labels); // jit runs the program inside the backend's batch
    // The first call traces (constants made while tracing are kernels of their own).
    if (i > 0) assert.equal(ctx.submits - s0, 1, `step ${i}: one submit`);
    await assertSame(j, e, `step ${i}`);
    pe = e.params;
    pj = j.params;
  }
});

gpuTest("steady state: a jitted training step creates no GPU buffer", async () => {
  const { params, x, labels, loss } = mlpProblem(4);
  const fast = jit(sgdStep(loss));
  const ctx = gpu().ctx;
  let p = params;
  const created: number[] = [];
  for (let i = 0; i < 6; i++) {
    const before = ctx.buffersCreated;
    const r = fast(p, x, labels);
    await r.loss.data();
    if (i > 0) tree.leaves(p).forEach((t) => (t as Tensor).dispose()); // the old parameters
    r.loss.dispose();
    p = r.params;
    created.push(ctx.buffersCreated - before);
  }
  // (the first calls fill the pools, unless earlier tests of the same shapes did)
  assert.deepEqual(created.slice(2), [0, 0, 0, 0], `buffers created per call: ${created}`);
});
