/**
 * `pad` against NumPy's `np.pad` (NumPy 2, float64; each constant shows the
 * call that produced it): every mode, widths wider than the axis, the
 * width forms, int32; gradients as NumPy's copy counts
 * (`np.bincount(np.pad(np.arange(n), widths, mode).ravel())`), against
 * central differences (`checkGrads`, float64) and under `jit`; errors.
 */

import assert from "node:assert/strict";
import {
  checkGrads,
  DTypeError,
  grad,
  jit,
  mul,
  pad,
  type PadMode,
  ShapeError,
  sum,
  type Tensor,
  tensor,
} from "../../mod.ts";
import { randn } from "../_helpers.ts";
import { assertTensor, assertThrowsMatch } from "./_helpers.ts";

const f64 = { dtype: "float64" } as const;
// X = np.array([[1.5, -2, 0.25], [3, 0, -0.5]]); W = ((1, 2), (3, 1))
const X = [[1.5, -2, 0.25], [3, 0, -0.5]];
const W: [number, number][] = [[1, 2], [3, 1]];

// np.pad(X, W, mode).tolist()
const PADDED: Record<PadMode, number[][]> = {
  constant: [
    [0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 1.5, -2, 0.25, 0],
    [0, 0, 0, 3, 0, -0.5, 0],
    [0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
  ],
  edge: [
    [1.5, 1.5, 1.5, 1.5, -2, 0.25, 0.25],
    [1.5, 1.5, 1.5, 1.5, -2, 0.25, 0.25],
    [3, 3, 3, 3, 0, -0.5, -0.5],
    [3, 3, 3, 3, 0, -0.5, -0.5],
    [3, 3, 3, 3, 0, -0.5, -0.5],
  ],
  reflect: [
    [0, -0.5, 0, 3, 0, -0.5, 0],
    [-2, 0.25, -2, 1.5, -2, 0.25, -2],
    [0, -0.5, 0, 3, 0, -0.5, 0],
    [-2, 0.25, -2, 1.5, -2, 0.25, -2],
    [0, -0.5, 0, 3, 0, -0.5, 0],
  ],
  symmetric: [
    [0.25, -2, 1.5, 1.5, -2, 0.25, 0.25],
    [0.25, -2, 1.5, 1.5, -2, 0.25, 0.25],
    [-0.5, 0, 3, 3, 0, -0.5, -0.5],
    [-0.5, 0, 3, 3, 0, -0.5, -0.5],
    [0.25, -2, 1.5, 1.5, -2, 0.25, 0.25],
  ],
  wrap: [
    [3, 0, -0.5, 3, 0, -0.5, 3],
    [1.5, -2, 0.25, 1.5, -2, 0.25, 1.5],
    [3, 0, -0.5, 3, 0, -0.5, 3],
    [1.5, -2, 0.25, 1.5, -2, 0.25, 1.5],
    [3, 0, -0.5, 3, 0, -0.5, 3],
  ],
};

// np.bincount(np.pad(np.arange(6).reshape(2, 3), W, mode).ravel(), minlength=6).reshape(2, 3)
const COUNTS: Record<PadMode, number[][]> = {
  constant: [[1, 1, 1], [1, 1, 1]],
  edge: [[8, 2, 4], [12, 3, 6]],
  reflect: [[2, 8, 4], [3, 12, 6]],
  symmetric: [[6, 6, 9], [4, 4, 6]],
  wrap: [[6, 4, 4], [9, 6, 6]],
};

const MODES = Object.keys(PADDED) as PadMode[];

Deno.test("pad: every mode matches np.pad, float32 and float64", () => {
  for (const mode of MODES) {
    assertTensor(pad(tensor(X, f64), W, { mode }), PADDED[mode], "float64");
    assertTensor(pad(tensor(X), W, { mode }), PADDED[mode], "float32");
  }
  // np.pad(X, ((0, 1), (2, 0)), constant_values=7)
  assertTensor(pad(tensor(X), [[0, 1], [2, 0]], { value: 7 }), [
    [7, 7, 1.5, -2, 0.25],
    [7, 7, 3, 0, -0.5],
    [7, 7, 7, 7, 7],
  ], "float32");
  assertTensor(
    pad(tensor([1, 2]), 1, { value: -Infinity }),
    [-Infinity, 1, 2, -Infinity],
    "float32",
  );
});

Deno.test("pad: widths wider than the axis keep reflecting/wrapping (np.pad(np.arange(1, 4), (7, 5), mode))", () => {
  const v = tensor([1, 2, 3], { dtype: "int32" });
  const want: Record<string, number[]> = {
    reflect: [2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2],
    symmetric: [1, 1, 2, 3, 3, 2, 1, 1, 2, 3, 3, 2, 1, 1, 2],
    wrap: [3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2],
    edge: [1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3],
  };
  for (const [mode, w] of Object.entries(want)) {
    assertTensor(pad(v, [7, 5], { mode: mode as PadMode }), w, "int32");
  }
  // a single element: np.pad(np.array([[5.]]), ((2, 1), (0, 0)), "reflect") repeats it
  assertTensor(
    pad(tensor([[5]]), [[2, 1], [0, 0]], { mode: "reflect" }),
    [[5], [5], [5], [5]],
    "float32",
  );
  assertTensor(pad(tensor([5]), [2, 3], { mode: "symmetric" }), [5, 5, 5, 5, 5, 5], "float32");
});

Deno.test("pad: NumPy's width forms, 3-D, zero widths", () => {
  const x = tensor([[1, 2], [3, 4]]);
  const all = [[0, 0, 0, 0], [0, 1, 2, 0], [0, 3, 4, 0], [0, 0, 0, 0]];
  assertTensor(pad(x, 1), all, "float32");
  assertTensor(pad(x, [1]), all, "float32");
  assertTensor(pad(x, [1, 1]), all, "float32");
  assertTensor(pad(x, [[1, 1]]), all, "float32");
  assertTensor(pad(x, [[1], [1]]), all, "float32");
  assertTensor(pad(x, [[0, 0], [1, 0]]), [[0, 1, 2], [0, 3, 4]], "float32");
  assert.strictEqual(pad(x, 0), x);
  // np.pad(np.arange(24).reshape(2, 3, 4), [[0, 0], [1, 1], [2, 0]], "reflect")[1]
  const x3 = tensor(Array.from({ length: 24 }, (_, i) => i), { shape: [2, 3, 4], dtype: "int32" });
  const p3 = pad(x3, [[0, 0], [1, 1], [2, 0]], { mode: "reflect" });
  assert.deepEqual(p3.shape, [2, 5, 6]);
  assert.deepEqual((p3.arraySync() as number[][][])[1], [
    [18, 17, 16, 17, 18, 19],
    [14, 13, 12, 13, 14, 15],
    [18, 17, 16, 17, 18, 19],
    [22, 21, 20, 21, 22, 23],
    [18, 17, 16, 17, 18, 19],
  ]);
  assert.deepEqual(pad(x3, [1, 2]).shape, [5, 6, 7]);
  // an empty axis pads in constant mode
  assertTensor(pad(tensor([], { shape: [0] }), [1, 2]), [0, 0, 0], "float32");
});

Deno.test("pad: gradients are NumPy's copy counts, check central differences, and jit agrees", () => {
  for (const mode of MODES) {
    const x = tensor(X, f64);
    assertTensor(grad((x: Tensor) => sum(pad(x, W, { mode })))(x), COUNTS[mode], "float64");
    const w = randn(3, [5, 7]);
    checkGrads((x: Tensor) => mul(pad(x, W, { mode }), w), [randn(4, [2, 3])], { order: 2 });
    const loss = (x: Tensor) => sum(mul(pad(x, W, { mode }), w));
    assert.deepEqual(jit(grad(loss))(x).arraySync(), grad(loss)(x).arraySync(), mode);
    assert.deepEqual(jit((x: Tensor) => pad(x, W, { mode }))(x).arraySync(), PADDED[mode], mode);
  }
  // np.bincount(np.pad(np.arange(3), (7, 5), mode), minlength=3)
  const wide: Record<string, number[]> = {
    reflect: [3, 8, 4],
    symmetric: [6, 5, 4],
    wrap: [5, 5, 5],
    edge: [8, 1, 6],
  };
  for (const [mode, w] of Object.entries(wide)) {
    const g = grad((x: Tensor) => sum(pad(x, [7, 5], { mode: mode as PadMode })));
    assertTensor(g(tensor([0.5, 1, 2], f64)), w, "float64");
  }
  // constant mode with a value: the padding is constant, the inside passes through
  checkGrads((x: Tensor) => mul(pad(x, W, { value: 2 }), randn(5, [5, 7])), [randn(6, [2, 3])]);
});

Deno.test("pad: the input is not changed", () => {
  const x = tensor(X);
  for (const mode of MODES) pad(x, W, { mode });
  assert.deepEqual(x.arraySync(), X);
});

Deno.test("pad: errors name pad, the widths and the fix", () => {
  const x = tensor([[1, 2], [3, 4]]);
  assertThrowsMatch(
    () => pad(tensor([1, 2], { dtype: "int32" }), 1, { value: 2.5 }),
    DTypeError,
    /^pad\(\): value 2\.5 is not an integer, but the tensor is int32; .* cast\(x, "float32"\)$/,
  );
  assertThrowsMatch(
    () => pad(tensor([1, 2], { dtype: "int32" }), 1, { value: 3e9 }),
    RangeError,
    /^pad\(\): the value 3000000000 \(the value option\) is out of range for int32/,
  );
  assertThrowsMatch(
    () => pad(x, [[0, 1], [-1, 0]]),
    ShapeError,
    /pad\(\): width -1 on axis 1 is negative.*crop with slice/,
  );
  assertThrowsMatch(
    () => pad(x, [[1, 1], [1, 1], [1, 1]]),
    ShapeError,
    /pad\(\): got 3 pairs for 2 axes \(widths \[\[1,1\],\[1,1\],\[1,1\]\], shape \[2,2\]\); pass a number, one \[lo, hi\] pair, or 2 pairs/,
  );
  assertThrowsMatch(() => pad(x, [1, 2, 3]), ShapeError, /axis 0 needs \[lo, hi\] or \[n\]/);
  assertThrowsMatch(() => pad(x, 1.5), ShapeError, /widths must be integers \(axis 0: 1.5\)/);
  assertThrowsMatch(
    () => pad(x, [1, [1, 1]] as unknown as number[]),
    ShapeError,
    /widths mix numbers and pairs/,
  );
  assertThrowsMatch(
    () => pad(x, 1, { mode: "mirror" as PadMode }),
    ShapeError,
    /unknown mode "mirror"; use one of constant, edge, reflect, symmetric, wrap/,
  );
  assertThrowsMatch(
    () => pad(x, 1, { mode: "edge", value: 3 }),
    ShapeError,
    /value is for mode "constant"/,
  );
  assertThrowsMatch(
    () => pad(tensor([], { shape: [0, 2] }), 1, { mode: "edge" }),
    ShapeError,
    /cannot pad the empty axis 0 of shape \[0,2\] in mode "edge".*use mode "constant"/,
  );
});
