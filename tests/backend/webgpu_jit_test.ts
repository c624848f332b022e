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
import { jit, jvp, setBackend, type Tensor, vjp } from "../../mod.ts";
import { type BackendCase, f32, make, OP_CASES } from "../_op_cases.ts";

async function probe(): Promise<boolean> {
  try {
    if (!(await navigator.gpu?.requestAdapter())) return false;
    await setBackend("webgpu");
    return true;
  } catch {
    return false;
  } finally {
    await setBackend("cpu");
  }
}

const hasGpu = await probe();

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
  Deno.test({
    name: `webgpu: jit matches eager: ${name}`,
    ignore: !hasGpu,
    fn: async () => {
      await setBackend("webgpu");
      try {
        const xs = c.args.map(make);
        const n = xs.length;
        await assertClose(`${name} forward`, jit(c.f)(...xs), c.f(...xs));
        if (c.forwardOnly) return;
        const out = c.f(...xs);
        const ct = make(f32(99, [...out.shape]));
        const pull = (...args: Tensor[]) => vjp(c.f, ...args.slice(0, n))[1](args[n]);
        const eagerCts = pull(...xs, ct);
        const jitCts = jit(pull)(...xs, ct);
        for (let i = 0; i < eagerCts.length; i++) {
          await assertClose(`${name} vjp #${i}`, jitCts[i], eagerCts[i]);
        }
        const tangents = c.args.map((a, i) => make(f32(200 + i, a.shape)));
        const push = (p: Tensor[], t: Tensor[]) => jvp(c.f, p, t)[1];
        await assertClose(`${name} jvp`, jit(push)(xs, tangents), push(xs, tangents));
      } finally {
        await setBackend("cpu");
      }
    },
  });
}
