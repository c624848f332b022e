/**
 * Every primitive jitted against eager on the `webgpu` backend, from the
 * shared op-case table (tests/_op_cases.ts): the forward value, the vjp (a
 * pullback of a fixed cotangent) and the jvp, each traced into one program
 * and run by `jit` (fused where the backend fuses). On this adapter
 * (llvmpipe) results are bit-identical to eager; WGSL lets a shader
 * compiler contract a multiply and an add inside one fused kernel, so
 * another GPU may differ in the last bits: the tolerance below (2 float32
 * ulps relative, 1e-6 absolute) is what such a contraction can change.
 * Skipped where no WebGPU adapter exists.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Tensor } from "../../mod.ts";
import { type BackendCase, OP_CASES } from "../_op_cases.ts";
import { jitAndEager } from "../jit/_helpers.ts";
import { gpuTest } from "./_webgpu.ts";

const cases: [string, BackendCase][] = [];
for (const entry of Object.values(OP_CASES)) cases.push(...Object.entries(entry.backends));

async function assertClose(name: string, got: Tensor, want: Tensor): Promise<void> {
  assert.deepEqual(got.shape, want.shape, `${name}: shape`);
  assert.equal(got.dtype, want.dtype, `${name}: dtype`);
  const [g, w] = [await got.data(), await want.data()];
  for (let i = 0; i < w.length; i++) {
    const ok = Object.is(g[i], w[i]) ||
      (want.dtype === "float32" && Math.abs(g[i] - w[i]) <= 1e-6 + 2 ** -22 * Math.abs(w[i]));
    assert.ok(ok, `${name}: element ${i} is ${g[i]} under jit, ${w[i]} eager (webgpu)`);
  }
}

for (const [name, c] of cases) {
  gpuTest(`webgpu: jit matches eager: ${name}`, async () => {
    for (const [what, got, want] of jitAndEager(name, c)) await assertClose(what, got, want);
  });
}
