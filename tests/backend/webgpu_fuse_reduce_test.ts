/**
 * Reductions fused with their elementwise producers under `jit` on the
 * `webgpu` backend (its `fusedReduce` hook runs the IR reduction kernel,
 * prologue included, through the eager reductions' `irReduce`): results
 * equal the eager kernels bit for bit on this adapter (llvmpipe here; WGSL
 * lets a shader compiler contract a multiply and an add, so another GPU may
 * differ in the last bit), and fewer kernels run. Skipped where no WebGPU
 * adapter exists.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  exp,
  makeJaxpr,
  max,
  mean,
  min,
  mul,
  neg,
  nn,
  square,
  sub,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
} from "../../mod.ts";
import { assertSame, gpuTest, values } from "./_webgpu.ts";
import { jitted } from "../jit/_helpers.ts";
import { optimizeFor } from "../../src/jit/jit.ts";
import { currentBackend } from "../../src/backend/registry.ts";

/** A test on the webgpu backend (ignored without an adapter). */
const test = (name: string, fn: () => Promise<void>) =>
  gpuTest(`webgpu reduce fusion: ${name}`, fn);

test("rows, columns, several axes and a long axis: one kernel each, bit for bit", async () => {
  const cases: [string, (x: Tensor, m: Tensor) => Tensor, number[], number[]][] = [
    ["rows", (x, m) => sum(exp(sub(x, m)), 1, { keepdims: true }), [13, 37], [13, 1]],
    ["columns", (x, m) => max(mul(neg(x), m), 0), [11, 37], [1, 37]],
    ["axes [1,2]", (x, m) => min(mul(x, m), [1, 2]), [4, 5, 6], [4, 1, 1]],
    ["all axes, a scalar", (x, m) => sum(mul(square(x), m)), [8, 9], []],
    ["a long axis (two passes)", (x, m) => sum(mul(sub(x, m), 0.5), 1), [2, 50000], [2, 1]],
    // extremes with an epilogue: the winner's prologue value goes through it
    ["max, then ops", (x, m) => neg(max(mul(x, m), 1, { keepdims: true })), [13, 37], [13, 1]],
    [
      "min, a long axis, then ops",
      (x, m) => {
        return sub(min(mul(x, 2), 1, { keepdims: true }), m);
      },
      [2, 50000],
      [2, 1],
    ],
  ];
  for (const [name, f, xs, ms] of cases) {
    const x = values(2, xs, !name.includes("long")), m = values(3, ms, false);
    const [got, runs] = jitted(f, x, m);
    await assertSame(got, f(x, m), name);
    assert.equal(runs, 1, name);
  }
});

test(
  "int32 and bool reductions fuse too (a count of a comparison, a sum of casts)",
  async () => {
    const count = (x: Tensor) => sum(mul(x, x).greater(1), 1); // bool sum: int32 counts
    const isum = (x: Tensor) => sum(neg(x.cast("int32")), 0);
    const x = values(4, [7, 9]);
    for (const [name, f] of [["count", count], ["int32 sum", isum]] as const) {
      const p = makeJaxpr(f, { optimized: true })(x).toString();
      assert.match(p, /= fused\[ops=\[[a-z,]+,sum\]( consts=\[[^\]]*\])? axes=/, name);
      const [got, runs] = jitted(f, x);
      await assertSame(got, f(x), name);
      assert.equal(runs, 1, name);
    }
  },
);

test(
  "mean of a square and softmax cross entropy (value and gradient), bit for bit",
  async () => {
    const ms = (x: Tensor) => mean(square(x), 1);
    const x = values(5, [9, 37], false);
    const [got, runs] = jitted(ms, x);
    await assertSame(got, ms(x), "mean(x²)");
    assert.equal(runs, 1); // the division by the count is the reduction's epilogue
    const logits = values(6, [16, 10], false);
    const y = tensor(Array.from({ length: 16 }, (_, i) => (i * 3) % 10), { dtype: "int32" });
    const step = (z: Tensor, t: Tensor) => valueAndGrad(nn.softmaxCrossEntropy)(z, t);
    // the fusion pass alone (before small kernels are grouped into one sequence)
    const traced = makeJaxpr(step)(logits, y);
    const p = optimizeFor(traced, currentBackend(), { sequences: false }).toString();
    assert.match(
      p,
      // the label-weighted log-softmax (0 where the label is 0), summed, negated and divided
      /= fused\[ops=\[mul,where,sum,neg,div\] consts=\[0,\d+\] axes=\[0,1\] keepdims=false\]/,
    );
    const [both, launches] = jitted(step, logits, y);
    await assertSame(both, step(logits, y), "softmax cross entropy");
    assert.equal(launches, 1, "value and gradient: one sequence of small kernels");
  },
);
