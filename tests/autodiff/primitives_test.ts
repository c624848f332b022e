/**
 * Every primitive's vjp and jvp, first and second order, against central
 * differences in float64 (`checkGrads` compares jvp along a random direction
 * and ⟨pullback(u), v⟩ with ⟨u, numerical jvp(v)⟩). The table is typed over
 * all primitive names, so adding a primitive without a case here fails
 * `deno check`.
 */

import assert from "node:assert/strict";
import {
  abs,
  add,
  argmax,
  argmin,
  argsort,
  broadcastTo,
  cast,
  ceil,
  checkGrads,
  concat,
  cos,
  cumsum,
  div,
  equal,
  exp,
  expm1,
  floor,
  grad,
  greater,
  greaterEqual,
  jvp,
  less,
  lessEqual,
  log,
  log1p,
  logicalAnd,
  logicalNot,
  logicalOr,
  logsumexp,
  matmul,
  max,
  maximum,
  min,
  minimum,
  mul,
  neg,
  notEqual,
  ones,
  pow,
  random,
  reshape,
  round,
  sign,
  sin,
  slice,
  sqrt,
  square,
  stopGradient,
  sub,
  sum,
  take,
  tanh,
  type Tensor,
  tensor,
  transpose,
  where,
} from "../../mod.ts";
import { type PrimitiveName, PRIMITIVES } from "../../src/ops/registry.ts";
import { bind } from "../../src/ops/primitive.ts";
import { scatterAddPrim, unslicePrim } from "../../src/ops/movement.ts";
import { randn, randu } from "../_helpers.ts";

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => Tensor;

/** A differentiable case: checked to second order in both modes. */
interface Diff {
  readonly kind: "diff";
  readonly f: Fn;
  readonly args: () => Tensor[];
  readonly tol?: { eps?: number; atol?: number; rtol?: number };
}

/** A primitive whose derivative is zero wherever it exists (or whose output is not float). */
interface Zero {
  readonly kind: "zero";
  /** For float-valued ones: a function whose gradient must be exactly zero. */
  readonly f?: Fn;
  readonly args?: () => Tensor[];
}

type Case = Diff | Zero;

const d = (f: Fn, args: () => Tensor[], tol?: Diff["tol"]): Diff => ({
  kind: "diff",
  f,
  args,
  tol,
});
const z = (f?: Fn, args?: () => Tensor[]): Zero => ({ kind: "zero", f, args });

const x34 = () => [randn(1, [3, 4])];
const pos34 = () => [randu(2, [3, 4], 0.5, 2)];
const pair = () => [randn(3, [3, 4]), randn(4, [4])]; // broadcasting [3,4] with [4]
const cross = () => [randn(5, [3, 1]), randn(6, [1, 4])]; // broadcasting both ways
const mask = () => greater(randn(7, [3, 4]), 0);

const cases: Record<PrimitiveName, Case[]> = {
  // unary
  neg: [d(neg, x34)],
  exp: [d(exp, x34)],
  log: [d(log, pos34)],
  log1p: [d(log1p, () => [randu(8, [3, 4], -0.5, 2)])],
  expm1: [d(expm1, x34)],
  sqrt: [d(sqrt, pos34)],
  sin: [d(sin, x34)],
  cos: [d(cos, x34)],
  tanh: [d(tanh, x34)],
  abs: [d(abs, () => [mul(randu(9, [3, 4], 0.5, 2), sign(randn(10, [3, 4])))])],
  square: [d(square, x34)],
  sign: [z(sign, x34)],
  floor: [z(floor, x34)],
  ceil: [z(ceil, x34)],
  round: [z(round, x34)],
  logicalNot: [z()],
  // binary, with broadcasting
  add: [d(add, pair), d(add, cross)],
  sub: [d(sub, pair), d(sub, cross)],
  mul: [d(mul, pair), d(mul, cross)],
  div: [
    d(div, () => [randn(11, [3, 4]), randu(12, [4], 0.5, 2)]),
    d(div, () => [
      randn(13, [3, 1]),
      randu(14, [1, 4], 0.5, 2),
    ]),
  ],
  pow: [d(pow, () => [randu(15, [3, 4], 0.5, 2), randn(16, [4])])],
  maximum: [d(maximum, pair), d(maximum, cross)],
  minimum: [d(minimum, pair), d(minimum, cross)],
  equal: [z()],
  notEqual: [z()],
  greater: [z()],
  greaterEqual: [z()],
  less: [z()],
  lessEqual: [z()],
  logicalAnd: [z()],
  logicalOr: [z()],
  where: [
    d((a: Tensor, b: Tensor) => where(mask(), a, b), pair),
    d((a: Tensor, b: Tensor) => where(mask(), a, b), () => [randn(17, [3, 1]), randn(18, [])]),
  ],
  // float64 -> float32 -> float64 rounds: a wider step keeps the rounding
  // error of the central difference (~6e-8·|x|/eps) below the tolerance.
  cast: [
    d((x: Tensor) => cast(cast(x, "float32"), "float64"), x34, {
      eps: 1e-2,
      atol: 1e-4,
      rtol: 1e-4,
    }),
  ],
  // reductions
  sum: [
    d((x: Tensor) => sum(x), x34),
    d((x: Tensor) => sum(x, 1), x34),
    d((x: Tensor) => sum(x, [0, 2], { keepdims: true }), () => [randn(19, [2, 3, 4])]),
  ],
  logsumexp: [
    d((x: Tensor) => logsumexp(x), x34),
    d((x: Tensor) => logsumexp(x, -1, { keepdims: true }), x34),
    d((x: Tensor) => logsumexp(x, 0), x34),
    d((x: Tensor) => logsumexp(x, [1, 2]), () => [randn(43, [2, 3, 4])]),
    d((x: Tensor) => logsumexp(x, [0, 2]), () => [randn(44, [2, 3, 4])]), // not contiguous
  ],
  max: [
    d((x: Tensor) => max(x), x34),
    d((x: Tensor) => max(x, -1, { keepdims: true }), x34),
    d((x: Tensor) => max(x, [0, 2]), () => [randn(20, [2, 3, 4])]),
  ],
  min: [
    d((x: Tensor) => min(x, 0), x34),
    d((x: Tensor) => min(x, [1, 2]), () => [
      randn(21, [2, 3, 4]),
    ]),
  ],
  argmax: [z((x: Tensor) => cast(argmax(x, 1), "float64"), x34)],
  argmin: [z((x: Tensor) => cast(argmin(x, 1), "float64"), x34)],
  // movement
  reshape: [d((x: Tensor) => reshape(x, [2, -1]), x34)],
  transpose: [
    d((x: Tensor) => transpose(x), x34),
    d((x: Tensor) => transpose(x, [1, 2, 0]), () => [randn(22, [2, 3, 4])]),
  ],
  broadcastTo: [
    d((x: Tensor) => broadcastTo(x, [2, 3, 4]), () => [randn(23, [3, 1])]),
  ],
  slice: [
    d((x: Tensor) => slice(x, [1, -1], [3, null], [1, -2]), x34),
    d((x: Tensor) => slice(x, [0, 1], [2, 3]), x34),
  ],
  unslice: [
    d(
      (g: Tensor) =>
        bind(unslicePrim, [g], { starts: [1, 3], steps: [1, -2], shape: [2, 2], full: [3, 4] }),
      () => [randn(24, [2, 2])],
    ),
  ],
  concat: [
    d(
      (a: Tensor, b: Tensor, c: Tensor) => concat([a, b, c], 1),
      () => [randn(25, [2, 1]), randn(26, [2, 3]), randn(27, [2, 2])],
    ),
  ],
  take: [
    // repeated and negative indices: the gradient must accumulate
    d((x: Tensor) => take(x, [2, 0, 2, -1]), x34),
    d((x: Tensor) => take(x, tensor([[1, 1], [3, 0]], { dtype: "int32" }), 1), x34),
  ],
  scatterAdd: [
    d(
      (g: Tensor) =>
        bind(scatterAddPrim, [g, tensor([2, 0, 2], { dtype: "int32" })], {
          axis: 0,
          size: 4,
          indexRank: 1,
        }),
      () => [randn(28, [3, 5])],
    ),
  ],
  matmul: [
    d(matmul, () => [randn(29, [3, 4]), randn(30, [4, 2])]),
    d(matmul, () => [randn(31, [2, 3, 4]), randn(32, [4, 5])]), // broadcast batch
    d(matmul, () => [randn(33, [3, 4]), randn(34, [2, 1, 4, 2])]),
    d(matmul, () => [randn(35, [4]), randn(36, [4, 3])]), // 1-D left
    // operands read transposed (the rules swap which operand is transposed)
    d((a, b) => matmul(a, b, { transposeA: true }), () => [randn(37, [4, 3]), randn(38, [4, 2])]),
    d((a, b) => matmul(a, b, { transposeB: true }), () => [randn(39, [3, 4]), randn(40, [2, 4])]),
    d(
      (a, b) => matmul(a, b, { transposeA: true, transposeB: true }),
      () => [randn(41, [2, 4, 3]), randn(42, [1, 5, 4])],
    ),
  ],
  argsort: [z((x: Tensor) => cast(argsort(x), "float64"), x34)],
  cumsum: [
    d((x: Tensor) => cumsum(x, 1), x34),
    d((x: Tensor) => cumsum(x, 0, { reverse: true, exclusive: true }), x34),
    d((x: Tensor) => cumsum(x, 1, { exclusive: true }), () => [randn(45, [2, 9, 3])]),
  ],
  stopGradient: [z((x: Tensor) => stopGradient(x), x34)],
  randomBits: [z()],
  randomUniform: [z()],
};

for (const [name, list] of Object.entries(cases) as [PrimitiveName, Case[]][]) {
  list.forEach((c, i) => {
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
