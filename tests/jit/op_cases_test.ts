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
import { getBackend, makeJaxpr, type Tensor } from "../../mod.ts";
import { type BackendCase, make, OP_CASES } from "../_op_cases.ts";
import { jitAndEager } from "./_helpers.ts";

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
    // Traced, not run inline: the program has equations. (A case whose inputs
    // are all closed over computes them while tracing: a constant program.)
    if (xs.length > 0) {
      assert.ok(makeJaxpr(c.f)(...xs).equations.length > 0, `${name}: empty program`);
    }
    for (const [what, got, want] of jitAndEager(name, c)) assertSame(what, got, want);
  });
}
