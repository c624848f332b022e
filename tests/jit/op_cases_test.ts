/**
 * Every primitive jitted against eager, from the shared op-case table
 * (tests/_op_cases.ts): the forward value, the vjp (a pullback of a fixed
 * cotangent) and the jvp, each traced into one program and run by `jit`.
 * The program runs the same kernels in the same order as eager execution,
 * so results must be bit-identical (NaN and -0 included).
 *
 * @module
 */

import assert from "node:assert/strict";
import { getBackend, jit, jvp, makeJaxpr, type Tensor, vjp } from "../../mod.ts";
import { type BackendCase, f32, make, OP_CASES } from "../_op_cases.ts";

const cases: [string, BackendCase][] = [];
for (const entry of Object.values(OP_CASES)) cases.push(...Object.entries(entry.backends));

function assertSame(name: string, got: Tensor, want: Tensor): void {
  assert.deepEqual(got.shape, want.shape, `${name}: shape`);
  assert.equal(got.dtype, want.dtype, `${name}: dtype`);
  const g = got.dataSync();
  const w = want.dataSync();
  for (let i = 0; i < w.length; i++) {
    if (!Object.is(g[i], w[i])) {
      assert.fail(`${name}: element ${i} is ${g[i]} under jit, ${w[i]} eager (${getBackend()})`);
    }
  }
}

for (const [name, c] of cases) {
  Deno.test(`jit matches eager bit for bit: ${name}`, () => {
    const xs = c.args.map(make);
    const n = xs.length;
    // Traced, not run inline: the program has equations. (A case whose inputs
    // are all closed over computes them while tracing: a constant program.)
    if (n > 0) assert.ok(makeJaxpr(c.f)(...xs).equations.length > 0, `${name}: empty program`);
    assertSame(`${name} forward`, jit(c.f)(...xs), c.f(...xs));
    if (c.forwardOnly) return;
    const out = c.f(...xs);
    const ct = make(f32(99, [...out.shape]));
    const pull = (...args: Tensor[]) => vjp(c.f, ...args.slice(0, n))[1](args[n]);
    const eagerCts = pull(...xs, ct);
    const jitCts = jit(pull)(...xs, ct);
    eagerCts.forEach((w, i) => assertSame(`${name} vjp #${i}`, jitCts[i], w));
    const tangents = c.args.map((a, i) => make(f32(200 + i, a.shape)));
    const push = (p: Tensor[], t: Tensor[]) => jvp(c.f, p, t)[1];
    assertSame(`${name} jvp`, jit(push)(xs, tangents), push(xs, tangents));
  });
}
