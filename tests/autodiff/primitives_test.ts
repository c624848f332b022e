/**
 * Every primitive's vjp and jvp, first and second order, against central
 * differences in float64 (`checkGrads` compares jvp along a random direction
 * and ⟨pullback(u), v⟩ with ⟨u, numerical jvp(v)⟩). The cases come from the
 * shared table in tests/_op_cases.ts, typed over all primitive names, so
 * adding a primitive without cases fails `deno check` (shown below).
 */

import assert from "node:assert/strict";
import {
  checkGrads,
  equal,
  grad,
  greater,
  greaterEqual,
  jvp,
  less,
  lessEqual,
  logicalAnd,
  logicalNot,
  logicalOr,
  notEqual,
  ones,
  random,
  sum,
  type Tensor,
} from "../../mod.ts";
import { type PrimitiveName, PRIMITIVES } from "../../src/ops/registry.ts";
import { BINARY_OPS, UNARY_OPS } from "../../src/backend/backend.ts";
import { type GradCase, OP_CASES, type OpCaseTable } from "../_op_cases.ts";
import { randn } from "../_helpers.ts";
import { collectMade } from "../../src/core/tensor.ts";
import { logsumexpPrim } from "../../src/ops/reduce.ts";

// A primitive missing from the table is a type error:
const { erf: _erfCases, ...withoutErf } = OP_CASES;
// @ts-expect-error Property 'erf' is missing in type … but required in type OpCaseTable
const _incomplete: OpCaseTable = withoutErf;

for (const name of Object.keys(OP_CASES) as PrimitiveName[]) {
  OP_CASES[name].grad.forEach((c: GradCase, i) => {
    Deno.test(`${name} #${i}: ${c.kind === "diff" ? "vjp and jvp (orders 1, 2)" : "zero derivative"}`, () => {
      if (c.kind === "diff") {
        checkGrads(c.f, c.args(), { order: 2, ...c.tol });
        return;
      }
      const prim = PRIMITIVES[name];
      assert.equal(prim.vjp, null, `${name} has a vjp rule but is listed as zero-derivative`);
      assert.equal(prim.jvp, null, `${name} has a jvp rule but is listed as zero-derivative`);
      if (c.f && c.args) {
        const args = c.args();
        const g = grad((...a: Tensor[]) => sum(c.f!(...a)))(...args) as Tensor;
        assert.deepEqual([...g.dataSync()], new Array(g.size).fill(0));
        const [, t] = jvp(c.f, args, args.map((a) => ones(a.shape, { dtype: a.dtype })));
        assert.deepEqual([...t.dataSync()], new Array(t.size).fill(0));
      }
    });
  });
}

Deno.test("comparison and logical primitives produce bool and never carry tangents", () => {
  const a = randn(40, [3]);
  const b = randn(41, [3]);
  for (const f of [equal, notEqual, greater, greaterEqual, less, lessEqual]) {
    const [out, t] = jvp((x: Tensor) => f(x, b), [a], [ones([3], { dtype: "float64" })]);
    assert.equal(out.dtype, "bool");
    assert.equal(t.dtype, "bool");
  }
  const m = greater(a, 0);
  assert.equal(logicalAnd(m, logicalNot(m)).dataSync().every((v) => v === 0), true);
  assert.equal(logicalOr(m, logicalNot(m)).dataSync().every((v) => v === 1), true);
  assert.equal(random.bits(random.key(0), [3]).dtype, "int32");
});

Deno.test("every primitive is named by its key (the name is the backend opcode) and has a check", () => {
  for (const [key, prim] of Object.entries(PRIMITIVES)) {
    assert.equal(prim.name, key);
    assert.ok(OP_CASES[key as PrimitiveName].grad.length > 0, `${key} has no derivative check`);
  }
  for (const op of [...UNARY_OPS, ...BINARY_OPS]) assert.ok(op in PRIMITIVES, `opcode ${op}`);
});

Deno.test("logsumexp's impl runs kernels only: it binds no op and makes no tensor", () => {
  // Axes 0 and 2 are not one run, so every backend composes it from kernels.
  const x = randn(46, [2, 3, 4]);
  const params = { axes: [0, 2], keepdims: false };
  const made: Tensor[] = [];
  const data = collectMade(
    made,
    () => logsumexpPrim.impl(x._backend!, [x], params, logsumexpPrim.abstract([x], params)),
  );
  assert.equal(made.length, 0);
  const got = [...x._backend!.readSync(data, "float64", 3)];
  const v = x.dataSync(); // log Σ exp over [i, ·, k] for each middle index
  const want = [0, 1, 2].map((j) => {
    let s = 0;
    for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) s += Math.exp(v[i * 12 + j * 4 + k]);
    return Math.log(s);
  });
  got.forEach((g, j) =>
    assert.ok(Math.abs(g - want[j]) <= 1e-14 * Math.abs(want[j]), `${g} vs ${want[j]}`)
  );
});
