/**
 * einsum against NumPy: explicit and implicit outputs, ellipsis with
 * broadcasting, diagonals and traces, sums, outer products, batched and
 * transposed matrix products, three operands; the lowering (one matmul per
 * pair, operands read transposed rather than copied, the greedy order);
 * the error messages; and gradients in float64 to second order.
 *
 * Operand k of case c is `data(shape, c + k)` with data(shape, s)[i] =
 * ((7i + 3s) mod 11 − 5) / 4 (quarter-integers, exact in float32 and
 * float64). Expected values were computed with NumPy 2.4:
 *   dat = lambda shape, s: (((np.arange(prod(shape)) * 7 + s * 3) % 11 - 5) / 4).reshape(shape)
 *   np.einsum(subscripts, *[dat(sh, c + k) for k, sh in enumerate(shapes)]).tolist()
 */

import assert from "node:assert/strict";
import {
  checkGrads,
  CpuBackend,
  type DataHandle,
  type DType,
  DTypeError,
  einsum,
  grad,
  type MatmulSpec,
  ones,
  ShapeError,
  type StridedSpec,
  sum,
  type Tensor,
  tensor,
} from "../../mod.ts";
import { onBackend, randn } from "../_helpers.ts";
import { assertTensor, assertThrowsMatch, type Want } from "./_helpers.ts";

function data(shape: readonly number[], s: number, dtype: DType = "float64"): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, (_, i) => (((i * 7 + s * 3) % 11) - 5) / 4);
  return tensor(v, { shape, dtype });
}

// [subscripts, operand shapes, np.einsum(...).tolist()]
const CASES: [string, number[][], Want][] = [
  ["ij,jk->ik", [[2, 3], [3, 4]], [[1.25, -0.9375, -1.0625, 1.5625], [
    -0.1875,
    2.5,
    -0.3125,
    -0.375,
  ]]],
  ["ij,jk", [[2, 3], [3, 4]], [[-1.25, 1.1875, -0.5, -1.5], [-1.1875, 1.3125, -1.0, -1.25]]],
  ["ij,kj->ik", [[2, 3], [4, 3]], [[-0.75, -0.875, 1.75, 1.625], [-0.75, -0.6875, 1.4375, 1.5]]],
  ["ji,jk->ik", [[3, 2], [3, 4]], [[-1.3125, 1.0, -1.5, -1.25], [1.3125, -1.625, 0.9375, 1.4375]]],
  ["bij,bjk->bik", [[2, 2, 3], [2, 3, 2]], [[[0.3125, 0.8125], [-0.0625, 1.1875]], [
    [-1.5, 1.1875],
    [-1.5, 1.25],
  ]]],
  ["ii->", [[3, 3]], 1.0],
  ["ii", [[3, 3]], 0.5],
  ["ii->i", [[3, 3]], [1.25, 0.0, -1.25]],
  ["iii->i", [[2, 2, 2]], [-0.75, 0.5]],
  ["iij->ji", [[2, 2, 3]], [[0.0, -0.75], [-1.0, 1.0], [0.75, 0.0]]],
  ["ij->", [[2, 3]], 0.5],
  ["ij->j", [[2, 3]], [0.0, 0.75, -1.25]],
  ["ij->ji", [[2, 3]], [[-0.5, -0.75], [1.25, 1.0], [0.25, 0.0]]],
  ["ba", [[2, 3]], [[0.25, 0.0], [-0.75, -1.0], [1.0, 0.75]]],
  ["i,j->ij", [[2], [3]], [[-1.0, 0.75, -0.25], [0.0, 0.0, 0.0]]],
  ["i,i->", [[4], [4]], -0.1875],
  ["ij,ij->i", [[2, 3], [2, 3]], [1.125, -0.8125]],
  ["ij,ij->ij", [[2, 3], [2, 3]], [[0.625, -0.125, -0.9375], [0.25, 0.0, -1.0]]],
  ["...ij,...jk->...ik", [[2, 1, 2, 3], [4, 3, 2]], [[
    [[-1.5, 1.1875], [-1.5, 1.25]],
    [[-1.875, 1.5], [-1.5, 1.25]],
    [[1.1875, 1.125], [1.25, 1.25]],
    [[1.5, -1.3125], [1.25, -1.5]],
  ], [[[-1.5, 1.3125], [0.5625, 0.6875]], [[-1.125, 1.0], [-0.0625, -1.3125]], [[1.3125, 1.375], [
    0.6875,
    -1.9375,
  ]], [[1.0, -1.6875], [-1.3125, 0.875]]]]],
  ["...ii->...i", [[2, 3, 3]], [[-0.75, 0.75, -0.5], [1.25, 0.0, -1.25]]],
  ["...ij->...ji", [[2, 2, 3]], [[[0.0, -0.25], [-1.0, -1.25], [0.75, 0.5]], [[-0.5, -0.75], [
    1.25,
    1.0,
  ], [0.25, 0.0]]]],
  ["ij...->...", [[2, 3, 2]], [-0.75, 1.5]],
  ["ij,jk,kl->il", [[2, 3], [3, 4], [4, 2]], [[0.046875, -3.6875], [2.859375, 0.375]]],
  ["ij,jk,k->i", [[2, 3], [3, 4], [4]], [-1.875, -1.125]],
  ["i,i,i->", [[5], [5], [5]], 0.125],
  [",i->i", [[], [3]], [-1.0, 0.75, -0.25]],
  ["Ab,bC", [[2, 3], [3, 2]], [[0.3125, 0.8125], [-0.0625, 1.1875]]],
  ["bij,jk->bik", [[2, 2, 3], [3, 2]], [[[-2.0625, 0.3125], [1.125, 0.8125]], [[0.875, 0.625], [
    0.625,
    0.4375,
  ]]]],
  ["ijk,jil->kl", [[2, 3, 2], [3, 2, 2]], [[2.75, -3.25], [-1.5625, -0.1875]]],
  ["ab,cd->abcd", [[2, 1], [1, 2]], [[[[-0.9375, 1.25]]], [[[-0.1875, 0.25]]]]],
];

for (const dtype of ["float64", "float32"] as const) {
  Deno.test(`einsum matches NumPy (${dtype}, ${CASES.length} subscripts)`, () => {
    CASES.forEach(([subs, shapes, want], c) => {
      const ops = shapes.map((sh, k) => data(sh, c + k, dtype));
      const got = einsum(subs, ...ops);
      try {
        assertTensor(got, want, dtype, { atol: dtype === "float32" ? 1e-6 : 1e-12 });
      } catch (e) {
        throw new Error(`einsum("${subs}"): ${(e as Error).message}`);
      }
    });
  });
}

Deno.test("einsum ignores spaces and leaves int32 operands int32", () => {
  const a = tensor([[1, 2], [3, 4]], { dtype: "int32" });
  assertTensor(einsum(" ij , jk -> ik ", a, a), [[7, 10], [15, 22]], "int32");
  assertTensor(einsum("ii", a), 5, "int32");
});

/** The CPU kernels, recording every matmul's geometry and every strided copy. */
class CountingBackend extends CpuBackend {
  override readonly name = "counting";
  readonly matmuls: string[] = [];
  copies = 0;
  override matmul(a: DataHandle, b: DataHandle, spec: MatmulSpec, dtype: DType): DataHandle {
    const t = `${spec.transA ? "T" : ""}${spec.transB ? "T" : ""}`;
    this.matmuls.push(`[${spec.batchShape}] ${spec.m}x${spec.k}x${spec.n}${t ? " " + t : ""}`);
    return super.matmul(a, b, spec, dtype);
  }
  override strided(spec: StridedSpec): DataHandle {
    this.copies++;
    return super.strided(spec);
  }
}

Deno.test("einsum lowers a pair to one matmul, reading transposed operands in place", async () => {
  await onBackend("counting", new CountingBackend(), (be) => {
    const run = (subs: string, ...shapes: number[][]) => {
      const ops = shapes.map((sh, k) => data(sh, k, "float32"));
      be.matmuls.length = 0;
      be.copies = 0;
      einsum(subs, ...ops);
      return { matmuls: [...be.matmuls], copies: be.copies };
    };
    // batched matmul: one call, batch axis kept, nothing copied
    assert.deepEqual(run("bij,bjk->bik", [5, 2, 3], [5, 3, 4]), {
      matmuls: ["[5] 2x3x4"],
      copies: 0,
    });
    // operands stored transposed are read so (no transpose copy)
    assert.deepEqual(run("ij,kj->ik", [2, 3], [4, 3]), { matmuls: ["[] 2x3x4 T"], copies: 0 });
    assert.deepEqual(run("ji,jk->ik", [3, 2], [3, 4]), { matmuls: ["[] 2x3x4 T"], copies: 0 });
    assert.deepEqual(run("ji,kj->ik", [3, 2], [4, 3]), { matmuls: ["[] 2x3x4 TT"], copies: 0 });
    // a chain: two matmuls, left to right when sizes tie
    assert.deepEqual(run("ij,jk,kl->il", [2, 3], [3, 3], [3, 2]).matmuls, [
      "[] 2x3x3",
      "[] 2x3x2",
    ]);
    // greedy order: j,k·k first (a j-vector), never the i×k outer-product-sized pair
    assert.deepEqual(run("ij,jk,k->i", [2, 3], [3, 4], [4]).matmuls, ["[] 3x4x1", "[] 2x3x1"]);
    // elementwise products and row-wise dots use mul and sum, not 1×1 matmuls
    assert.deepEqual(run("ij,ij->i", [50, 3], [50, 3]).matmuls, []);
    assert.deepEqual(run("i,j->ij", [2], [3]).matmuls, []);
  });
});

Deno.test("einsum broadcasts a lettered axis of size 1, as NumPy does", () => {
  // np.einsum('ij,j->i', np.ones((2, 1)), [1., 2, 3]) and
  // np.einsum('ij,ij->i', [[1.], [2]], [[1., 2, 3], [4, 5, 6]])
  assert.deepEqual(einsum("ij,j->i", ones([2, 1]), tensor([1, 2, 3])).arraySync(), [6, 6]);
  assert.deepEqual(
    einsum("ij,ij->i", tensor([[1], [2]]), tensor([[1, 2, 3], [4, 5, 6]])).arraySync(),
    [6, 30],
  );
  // The gradient of the broadcast axis sums over it.
  const g = grad((a: Tensor) => sum(einsum("ij,j->i", a, tensor([1, 2, 3]))))(ones([2, 1]));
  assert.deepEqual(g.arraySync(), [[6], [6]]);
});

Deno.test("einsum errors name the subscripts and what is wrong", () => {
  const a = data([2, 3], 0), b = data([3, 4], 1);
  const cases: [() => unknown, RegExp][] = [
    [() => einsum("ij,jk->ik", a), /einsum\("ij,jk->ik"\): names 2 operands but 1 was given/],
    [() => einsum("ij", a, b), /einsum\("ij"\): names 1 operand but 2 were given/],
    [() => einsum("i1,jk", a, b), /invalid character "1" in the subscripts of operand 0 "i1"/],
    [() => einsum("ij,jk->i.k", a, b), /invalid character "\." in the output subscripts "i\.k"/],
    [() => einsum("ij->i->j", a), /more than one "->"/],
    [() => einsum("...i...", a), /operand 0 "\.\.\.i\.\.\." has more than one "\.\.\."/],
    [() => einsum("ijk", a), /operand 0 has 2 axes \(shape \[2,3\]\) but "ijk" names 3/],
    [() => einsum("i", a), /operand 0 has 2 axes \(shape \[2,3\]\) but "i" names 1; use "\.\.\."/],
    [
      () => einsum("ij,jk->ik", a, data([4, 4], 1)),
      /label "j" has size 3 in operand 0 \(axis 1\) but 4 in operand 1 \(axis 0\)/,
    ],
    [() => einsum("ij->k", a), /output label "k" does not appear in any operand/],
    [() => einsum("ij->ii", a), /output label "i" appears more than once/],
    [
      () => einsum("...i,...i->...", data([2, 3], 0), data([4, 3], 1)),
      /the "\.\.\." axes do not broadcast: operand 0 \(axis 0\) vs operand 1 \(axis 0\) \(2 vs 4\)/,
    ],
    [() => einsum("...ij->ij", data([4, 2, 3], 0)), /add "\.\.\." to the output/],
    [() => einsum("ij->...", a), /the output has "\.\.\." but no operand does/],
  ];
  for (const [f, re] of cases) assertThrowsMatch(f, ShapeError, re);
  assertThrowsMatch(
    () => einsum("i,i", tensor([true]), tensor([false])),
    DTypeError,
    /einsum\("i,i"\): bool operands are not supported/,
  );
  assertThrowsMatch(
    () => einsum("i,i", tensor([1]), tensor([1], { dtype: "float64" })),
    DTypeError,
    /einsum\("i,i"\).*dtype mismatch: float32 and float64/,
  );
});

Deno.test("einsum gradients: vjp and jvp to second order (float64)", () => {
  const cases: [string, number[][]][] = [
    ["ij,jk->ik", [[2, 3], [3, 4]]],
    ["ij,kj->ik", [[2, 3], [4, 3]]],
    ["bij,bjk->bik", [[2, 2, 3], [2, 3, 2]]],
    ["...ij,...jk->...ik", [[2, 1, 2, 3], [3, 3, 2]]],
    ["ii->i", [[3, 3]]],
    ["ii", [[3, 3]]],
    ["iij->ji", [[2, 2, 3]]],
    ["ij->j", [[2, 3]]],
    ["i,j->ij", [[2], [3]]],
    ["ij,ij->i", [[2, 3], [2, 3]]],
    ["ij,jk,k->i", [[2, 3], [3, 4], [4]]],
    ["ijk,jil->kl", [[2, 3, 2], [3, 2, 2]]],
  ];
  cases.forEach(([subs, shapes], c) => {
    const args = shapes.map((sh, k) => randn(100 + 10 * c + k, sh));
    checkGrads((...xs: Tensor[]) => einsum(subs, ...xs), args, { order: 2 });
  });
});
