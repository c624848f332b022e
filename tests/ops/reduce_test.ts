/**
 * Reductions against NumPy: sum/mean/max/min over no, one, several and
 * negative axes with keepdims; bool counts; argmax/argmin; a stable
 * logsumexp; and the axis error messages.
 *
 * Expected values were computed with NumPy 2.4 and pasted in; each constant
 * shows the expression that produced it.
 */

import assert from "node:assert/strict";
import {
  argmax,
  argmin,
  DTypeError,
  grad,
  logsumexp,
  max,
  mean,
  min,
  ones,
  type ReduceOptions,
  ShapeError,
  sum,
  type Tensor,
  tensor,
  type TensorLike,
  zeros,
} from "../../mod.ts";
import { assertTensor, assertThrowsMatch, F32, F64, type Want } from "./_helpers.ts";

// X = np.array([[[3, -1, 4, 1.5], [5, 9, -2, 6]], [[5, 3, -5, 8], [9, 7, 9, -3.25]],
//               [[2, 0.5, 4, 6], [-4, 3, 3, 1]]])   # shape (3, 2, 4); also as float32
const X = [
  [[3, -1, 4, 1.5], [5, 9, -2, 6]],
  [[5, 3, -5, 8], [9, 7, 9, -3.25]],
  [[2, 0.5, 4, 6], [-4, 3, 3, 1]],
];

type Reduce = (
  x: TensorLike,
  axis?: number | readonly number[] | null,
  opts?: ReduceOptions,
) => Tensor;
const OPS: Record<string, Reduce> = { sum, mean, max, min };

/** [op, axis, keepdims, np.<op>(X.astype(np.float32), axis, keepdims=…), np.<op>(X, axis, keepdims=…)] */
const TABLE: [string, number | number[] | null, boolean, Want, Want][] = [
  ["sum", null, false, 73.75, 73.75], // np.sum(X, axis=None, keepdims=False)
  ["sum", null, true, [[[73.75]]], [[[73.75]]]], // np.sum(X, axis=None, keepdims=True)
  ["sum", 0, false, [[10, 2.5, 3, 15.5], [10, 19, 10, 3.75]], [[10, 2.5, 3, 15.5], [
    10,
    19,
    10,
    3.75,
  ]]], // np.sum(X, axis=0, keepdims=False)
  ["sum", 0, true, [[[10, 2.5, 3, 15.5], [10, 19, 10, 3.75]]], [[[10, 2.5, 3, 15.5], [
    10,
    19,
    10,
    3.75,
  ]]]], // np.sum(X, axis=0, keepdims=True)
  ["sum", 1, false, [[8, 8, 2, 7.5], [14, 10, 4, 4.75], [-2, 3.5, 7, 7]], [[8, 8, 2, 7.5], [
    14,
    10,
    4,
    4.75,
  ], [-2, 3.5, 7, 7]]], // np.sum(X, axis=1, keepdims=False)
  ["sum", 1, true, [[[8, 8, 2, 7.5]], [[14, 10, 4, 4.75]], [[-2, 3.5, 7, 7]]], [[[8, 8, 2, 7.5]], [[
    14,
    10,
    4,
    4.75,
  ]], [[-2, 3.5, 7, 7]]]], // np.sum(X, axis=1, keepdims=True)
  ["sum", -1, false, [[7.5, 18], [11, 21.75], [12.5, 3]], [[7.5, 18], [11, 21.75], [12.5, 3]]], // np.sum(X, axis=-1, keepdims=False)
  ["sum", -1, true, [[[7.5], [18]], [[11], [21.75]], [[12.5], [3]]], [[[7.5], [18]], [[11], [
    21.75,
  ]], [[12.5], [3]]]], // np.sum(X, axis=-1, keepdims=True)
  ["sum", [0, 2], false, [31, 42.75], [31, 42.75]], // np.sum(X, axis=(0, 2), keepdims=False)
  ["sum", [0, 2], true, [[[31], [42.75]]], [[[31], [42.75]]]], // np.sum(X, axis=(0, 2), keepdims=True)
  ["sum", [-1, 0], false, [31, 42.75], [31, 42.75]], // np.sum(X, axis=(-1, 0), keepdims=False)
  ["sum", [-1, 0], true, [[[31], [42.75]]], [[[31], [42.75]]]], // np.sum(X, axis=(-1, 0), keepdims=True)
  ["sum", [0, 1, 2], false, 73.75, 73.75], // np.sum(X, axis=(0, 1, 2), keepdims=False)
  ["sum", [0, 1, 2], true, [[[73.75]]], [[[73.75]]]], // np.sum(X, axis=(0, 1, 2), keepdims=True)
  ["mean", null, false, 3.0729167, 3.0729166666666665], // np.mean(X, axis=None, keepdims=False)
  ["mean", null, true, [[[3.0729167]]], [[[3.0729166666666665]]]], // np.mean(X, axis=None, keepdims=True)
  ["mean", 0, false, [[3.3333333, 0.8333333, 1, 5.1666665], [
    3.3333333,
    6.3333335,
    3.3333333,
    1.25,
  ]], [[3.3333333333333335, 0.8333333333333334, 1, 5.166666666666667], [
    3.3333333333333335,
    6.333333333333333,
    3.3333333333333335,
    1.25,
  ]]], // np.mean(X, axis=0, keepdims=False)
  ["mean", 0, true, [[[3.3333333, 0.8333333, 1, 5.1666665], [
    3.3333333,
    6.3333335,
    3.3333333,
    1.25,
  ]]], [[[3.3333333333333335, 0.8333333333333334, 1, 5.166666666666667], [
    3.3333333333333335,
    6.333333333333333,
    3.3333333333333335,
    1.25,
  ]]]], // np.mean(X, axis=0, keepdims=True)
  ["mean", 1, false, [[4, 4, 1, 3.75], [7, 5, 2, 2.375], [-1, 1.75, 3.5, 3.5]], [[4, 4, 1, 3.75], [
    7,
    5,
    2,
    2.375,
  ], [-1, 1.75, 3.5, 3.5]]], // np.mean(X, axis=1, keepdims=False)
  ["mean", 1, true, [[[4, 4, 1, 3.75]], [[7, 5, 2, 2.375]], [[-1, 1.75, 3.5, 3.5]]], [
    [[4, 4, 1, 3.75]],
    [[7, 5, 2, 2.375]],
    [[-1, 1.75, 3.5, 3.5]],
  ]], // np.mean(X, axis=1, keepdims=True)
  ["mean", -1, false, [[1.875, 4.5], [2.75, 5.4375], [3.125, 0.75]], [
    [1.875, 4.5],
    [2.75, 5.4375],
    [3.125, 0.75],
  ]], // np.mean(X, axis=-1, keepdims=False)
  ["mean", -1, true, [[[1.875], [4.5]], [[2.75], [5.4375]], [[3.125], [0.75]]], [[[1.875], [4.5]], [
    [2.75],
    [5.4375],
  ], [[3.125], [0.75]]]], // np.mean(X, axis=-1, keepdims=True)
  ["mean", [0, 2], false, [2.5833333, 3.5625], [2.5833333333333335, 3.5625]], // np.mean(X, axis=(0, 2), keepdims=False)
  ["mean", [0, 2], true, [[[2.5833333], [3.5625]]], [[[2.5833333333333335], [3.5625]]]], // np.mean(X, axis=(0, 2), keepdims=True)
  ["mean", [-1, 0], false, [2.5833333, 3.5625], [2.5833333333333335, 3.5625]], // np.mean(X, axis=(-1, 0), keepdims=False)
  ["mean", [-1, 0], true, [[[2.5833333], [3.5625]]], [[[2.5833333333333335], [3.5625]]]], // np.mean(X, axis=(-1, 0), keepdims=True)
  ["mean", [0, 1, 2], false, 3.0729167, 3.0729166666666665], // np.mean(X, axis=(0, 1, 2), keepdims=False)
  ["mean", [0, 1, 2], true, [[[3.0729167]]], [[[3.0729166666666665]]]], // np.mean(X, axis=(0, 1, 2), keepdims=True)
  ["max", null, false, 9, 9], // np.max(X, axis=None, keepdims=False)
  ["max", null, true, [[[9]]], [[[9]]]], // np.max(X, axis=None, keepdims=True)
  ["max", 0, false, [[5, 3, 4, 8], [9, 9, 9, 6]], [[5, 3, 4, 8], [9, 9, 9, 6]]], // np.max(X, axis=0, keepdims=False)
  ["max", 0, true, [[[5, 3, 4, 8], [9, 9, 9, 6]]], [[[5, 3, 4, 8], [9, 9, 9, 6]]]], // np.max(X, axis=0, keepdims=True)
  ["max", 1, false, [[5, 9, 4, 6], [9, 7, 9, 8], [2, 3, 4, 6]], [[5, 9, 4, 6], [9, 7, 9, 8], [
    2,
    3,
    4,
    6,
  ]]], // np.max(X, axis=1, keepdims=False)
  ["max", 1, true, [[[5, 9, 4, 6]], [[9, 7, 9, 8]], [[2, 3, 4, 6]]], [[[5, 9, 4, 6]], [[
    9,
    7,
    9,
    8,
  ]], [[2, 3, 4, 6]]]], // np.max(X, axis=1, keepdims=True)
  ["max", -1, false, [[4, 9], [8, 9], [6, 3]], [[4, 9], [8, 9], [6, 3]]], // np.max(X, axis=-1, keepdims=False)
  ["max", -1, true, [[[4], [9]], [[8], [9]], [[6], [3]]], [[[4], [9]], [[8], [9]], [[6], [3]]]], // np.max(X, axis=-1, keepdims=True)
  ["max", [0, 2], false, [8, 9], [8, 9]], // np.max(X, axis=(0, 2), keepdims=False)
  ["max", [0, 2], true, [[[8], [9]]], [[[8], [9]]]], // np.max(X, axis=(0, 2), keepdims=True)
  ["max", [-1, 0], false, [8, 9], [8, 9]], // np.max(X, axis=(-1, 0), keepdims=False)
  ["max", [-1, 0], true, [[[8], [9]]], [[[8], [9]]]], // np.max(X, axis=(-1, 0), keepdims=True)
  ["max", [0, 1, 2], false, 9, 9], // np.max(X, axis=(0, 1, 2), keepdims=False)
  ["max", [0, 1, 2], true, [[[9]]], [[[9]]]], // np.max(X, axis=(0, 1, 2), keepdims=True)
  ["min", null, false, -5, -5], // np.min(X, axis=None, keepdims=False)
  ["min", null, true, [[[-5]]], [[[-5]]]], // np.min(X, axis=None, keepdims=True)
  ["min", 0, false, [[2, -1, -5, 1.5], [-4, 3, -2, -3.25]], [[2, -1, -5, 1.5], [-4, 3, -2, -3.25]]], // np.min(X, axis=0, keepdims=False)
  ["min", 0, true, [[[2, -1, -5, 1.5], [-4, 3, -2, -3.25]]], [[[2, -1, -5, 1.5], [
    -4,
    3,
    -2,
    -3.25,
  ]]]], // np.min(X, axis=0, keepdims=True)
  ["min", 1, false, [[3, -1, -2, 1.5], [5, 3, -5, -3.25], [-4, 0.5, 3, 1]], [[3, -1, -2, 1.5], [
    5,
    3,
    -5,
    -3.25,
  ], [-4, 0.5, 3, 1]]], // np.min(X, axis=1, keepdims=False)
  ["min", 1, true, [[[3, -1, -2, 1.5]], [[5, 3, -5, -3.25]], [[-4, 0.5, 3, 1]]], [
    [[3, -1, -2, 1.5]],
    [[5, 3, -5, -3.25]],
    [[-4, 0.5, 3, 1]],
  ]], // np.min(X, axis=1, keepdims=True)
  ["min", -1, false, [[-1, -2], [-5, -3.25], [0.5, -4]], [[-1, -2], [-5, -3.25], [0.5, -4]]], // np.min(X, axis=-1, keepdims=False)
  ["min", -1, true, [[[-1], [-2]], [[-5], [-3.25]], [[0.5], [-4]]], [
    [[-1], [-2]],
    [[-5], [-3.25]],
    [[0.5], [-4]],
  ]], // np.min(X, axis=-1, keepdims=True)
  ["min", [0, 2], false, [-5, -4], [-5, -4]], // np.min(X, axis=(0, 2), keepdims=False)
  ["min", [0, 2], true, [[[-5], [-4]]], [[[-5], [-4]]]], // np.min(X, axis=(0, 2), keepdims=True)
  ["min", [-1, 0], false, [-5, -4], [-5, -4]], // np.min(X, axis=(-1, 0), keepdims=False)
  ["min", [-1, 0], true, [[[-5], [-4]]], [[[-5], [-4]]]], // np.min(X, axis=(-1, 0), keepdims=True)
  ["min", [0, 1, 2], false, -5, -5], // np.min(X, axis=(0, 1, 2), keepdims=False)
  ["min", [0, 1, 2], true, [[[-5]]], [[[-5]]]], // np.min(X, axis=(0, 1, 2), keepdims=True)
];

for (const [name, axis, keepdims, want32, want64] of TABLE) {
  Deno.test(`${name}(X, ${JSON.stringify(axis)}, {keepdims: ${keepdims}}) matches NumPy`, () => {
    const op = OPS[name];
    for (const [dtype, want] of [["float32", want32], ["float64", want64]] as const) {
      const x = tensor(X, { dtype });
      // mean divides in the tensor's dtype; allow for summation order
      const tol = name === "mean" ? (dtype === "float32" ? F32 : F64) : {};
      assertTensor(op(x, axis, { keepdims }), want, dtype, tol);
      if (!keepdims) {
        // keepdims: false is the default
        assertTensor(op(x, axis), want, dtype, tol);
      }
    }
  });
}

Deno.test("reductions as methods: x.sum(0), x.max(-1, {keepdims}), x.mean()", () => {
  const x = tensor([[1, 2], [3, 4]]);
  assertTensor(x.sum(0), [4, 6], "float32"); // np.sum([[1, 2], [3, 4]], axis=0)
  assertTensor(x.max(-1, { keepdims: true }), [[2], [4]], "float32");
  assertTensor(x.min(), 1, "float32");
  assertTensor(x.mean(), 2.5, "float32");
  assertTensor(x.sum([0, 1], { keepdims: true }), [[10]], "float32");
});

Deno.test("int32 reductions stay int32", () => {
  // XI = np.array([[3, -7, 2], [8, 0, -1]], np.int32)  (NumPy's sum would give int64)
  const xi = tensor([[3, -7, 2], [8, 0, -1]], { dtype: "int32" });
  assertTensor(sum(xi), 5, "int32"); // np.sum(XI)
  assertTensor(sum(xi, 0), [11, -7, 1], "int32"); // np.sum(XI, 0)
  assertTensor(max(xi, 1), [3, 8], "int32"); // np.max(XI, 1)
  assertTensor(min(xi), -7, "int32"); // np.min(XI)
  assertThrowsMatch(
    () => mean(xi),
    DTypeError,
    /^mean\(\): expects a float32 or float64 tensor, got int32; cast it first/,
  );
});

Deno.test("sum of a bool tensor counts the true values as int32", () => {
  // B = np.array([[True, False, True], [True, True, False]])
  const b = tensor([[true, false, true], [true, true, false]]);
  assertTensor(sum(b), 4, "int32"); // np.sum(B)
  assertTensor(sum(b, 0), [2, 1, 1], "int32"); // np.sum(B, 0)
  assertTensor(sum(b, 1, { keepdims: true }), [[2], [2]], "int32"); // np.sum(B, 1, keepdims=True)
  assertTensor(sum(b, [0, 1]), 4, "int32");
  // no axes to reduce still gives counts: np.sum(B, axis=()) and np.sum(np.array(True))
  assertTensor(sum(b, []), [[1, 0, 1], [1, 1, 0]], "int32");
  assertTensor(sum(tensor(true)), 1, "int32");
  // ... stored as int32 too (they used to come back as a Uint8Array)
  assert.ok(sum(b, []).dataSync() instanceof Int32Array);
  assert.ok(sum(tensor(true)).dataSync() instanceof Int32Array);
  assertThrowsMatch(() => max(b), DTypeError, /^max\(\): expects a numeric tensor, got bool/);
  assertThrowsMatch(() => min(b, 0), DTypeError, /^min\(\): expects a numeric tensor, got bool/);
});

Deno.test("reductions of scalars, of no axes and of empty axes", () => {
  assertTensor(sum(tensor(5)), 5, "float32");
  assertTensor(max(tensor(-2, { dtype: "float64" })), -2, "float64");
  assertTensor(mean(tensor(3)), 3, "float32");
  // np.sum(x, axis=()) is x
  assertTensor(sum(tensor([[1, 2]]), []), [[1, 2]], "float32");
  // np.sum(np.zeros((2, 0)), axis=1) -> [0., 0.]; np.sum(np.zeros(0)) -> 0.0
  assertTensor(sum(zeros([2, 0]), 1), [0, 0], "float32");
  assertTensor(sum(zeros([0])), 0, "float32");
  assertTensor(sum(zeros([0, 3]), 0), [0, 0, 0], "float32");
  // np.mean(np.zeros(0)) -> nan (with a RuntimeWarning)
  assertTensor(mean(zeros([0])), NaN, "float32");
  // reducing a non-empty axis of a tensor with an empty one is fine: np.max(np.zeros((2, 0)), 0)
  assertTensor(max(zeros([2, 0]), 0), [], "float32");
});

Deno.test("max/min propagate NaN like np.max/np.min", () => {
  // N = np.array([1, nan, 5, nan], np.float32): np.max(N), np.min(N) -> nan
  const n = tensor([1, NaN, 5, NaN]);
  assertTensor(max(n), NaN, "float32");
  assertTensor(min(n), NaN, "float32");
  // np.max([[nan, 1], [2, 3]], axis=1) -> [nan, 3]; axis=0 -> [nan, 3]
  const m = tensor([[NaN, 1], [2, 3]], { dtype: "float64" });
  assertTensor(max(m, 1), [NaN, 3], "float64");
  assertTensor(max(m, 0), [NaN, 3], "float64");
  assertTensor(min(tensor([3, NaN]), 0), NaN, "float32");
});

// ---------------------------------------------------------------- argmax / argmin

// AM = np.array([[1, 3, 3, 0], [2, 2, 1, 2], [0, 5, 5, 5]], np.float32)
const AM = [[1, 3, 3, 0], [2, 2, 1, 2], [0, 5, 5, 5]];

Deno.test("argmax: first index on ties, flattened by default, keepdims", () => {
  const a = tensor(AM);
  assertTensor(argmax(a), 9, "int32"); // np.argmax(AM)
  assertTensor(argmax(a, 0), [1, 2, 2, 2], "int32"); // np.argmax(AM, 0)
  assertTensor(argmax(a, 1), [1, 0, 1], "int32"); // np.argmax(AM, 1)
  assertTensor(argmax(a, -1, { keepdims: true }), [[1], [0], [1]], "int32"); // keepdims=True
  assertTensor(argmax(a, null, { keepdims: true }), [[9]], "int32"); // np.argmax(AM, keepdims=True)
  assertTensor(a.argmax(1), [1, 0, 1], "int32");
  // float64 and int32 inputs
  assertTensor(argmax(tensor(AM, { dtype: "float64" }), 1), [1, 0, 1], "int32");
  assertTensor(argmax(tensor(AM, { dtype: "int32" }), 0), [1, 2, 2, 2], "int32");
});

Deno.test("argmin: first index on ties, flattened by default, keepdims", () => {
  const a = tensor(AM);
  assertTensor(argmin(a), 3, "int32"); // np.argmin(AM)
  assertTensor(argmin(a, 0), [2, 1, 1, 0], "int32"); // np.argmin(AM, 0)
  assertTensor(argmin(a, 1), [3, 2, 0], "int32"); // np.argmin(AM, 1)
  assertTensor(argmin(a, 0, { keepdims: true }), [[2, 1, 1, 0]], "int32"); // keepdims=True
  assertTensor(argmin(a, undefined, { keepdims: true }), [[3]], "int32"); // np.argmin(AM, keepdims=True)
  assertTensor(argmin(a, -2), [2, 1, 1, 0], "int32");
});

Deno.test("argmax/argmin: NaN counts as the extreme (first NaN), bools, scalars", () => {
  // np.argmax(N), np.argmin(N) with N = [1, nan, 5, nan] -> 1, 1
  const n = tensor([1, NaN, 5, NaN]);
  assertTensor(argmax(n), 1, "int32");
  assertTensor(argmin(n), 1, "int32");
  // np.argmax([False, True, True]) -> 1; np.argmin([True, False, False]) -> 1
  assertTensor(argmax(tensor([false, true, true])), 1, "int32");
  assertTensor(argmin(tensor([true, false, false])), 1, "int32");
  // np.argmax(np.array(7.0)) -> 0
  assertTensor(argmax(tensor(7)), 0, "int32");
});

// ---------------------------------------------------------------- logsumexp

// def lse(x, axis=None, keepdims=False):        # the reference formula
//     m = np.max(x, axis=axis, keepdims=True); m = np.where(np.isfinite(m), m, 0)
//     r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
//     return r if keepdims else r.squeeze(axis)
// L = np.array([[1000, 1000], [-1000, -1000], [-inf, -inf], [-inf, 0], [1, 2]])
const L = [[1000, 1000], [-1000, -1000], [-Infinity, -Infinity], [-Infinity, 0], [1, 2]];

Deno.test("logsumexp is stable at ±1000 and gives -Infinity (not NaN) for all -Infinity rows", () => {
  // lse(L, 1)
  const want64 = [1000.6931471805599, -999.3068528194401, -Infinity, 0, 2.313261687518223];
  assertTensor(logsumexp(tensor(L, { dtype: "float64" }), 1), want64, "float64", F64);
  // lse(L.astype(np.float32), 1)
  const want32 = [1000.6932, -999.3068, -Infinity, 0, 2.3132617];
  assertTensor(logsumexp(tensor(L), 1), want32, "float32", F32);
  assertTensor(
    logsumexp(tensor(L), -1, { keepdims: true }),
    want32.map((v) => [v]),
    "float32",
    F32,
  );
  // an all -Infinity input reduces to -Infinity; +Infinity gives +Infinity; NaN stays NaN
  assertTensor(logsumexp(tensor([-Infinity, -Infinity, -Infinity])), -Infinity, "float32");
  assertTensor(logsumexp(tensor([Infinity, 0])), Infinity, "float32");
  assertTensor(logsumexp(tensor([NaN, 0])), NaN, "float32");
});

Deno.test("logsumexp over all axes, one axis and keepdims matches NumPy", () => {
  // Y = np.array([[0.5, -1.25, 3], [2, 0, -0.75]])
  const y = tensor([[0.5, -1.25, 3], [2, 0, -0.75]], { dtype: "float64" });
  assertTensor(logsumexp(y), 3.430179501227656, "float64", F64); // lse(Y)
  // lse(Y, 0)
  assertTensor(
    logsumexp(y, 0),
    [2.2014132779827524, 0.25192908134537295, 3.023245464372425],
    "float64",
    F64,
  );
  assertTensor(logsumexp(y, [0, 1], { keepdims: true }), [[3.430179501227656]], "float64", F64);
  assertTensor(logsumexp(y.cast("float32")), 3.4301794, "float32", F32); // lse(Y.astype(float32))
  assertThrowsMatch(
    () => logsumexp(tensor([1], { dtype: "int32" })),
    DTypeError,
    /^logsumexp\(\): expects a float32 or float64 tensor, got int32/,
  );
});

// ---------------------------------------------------------------- axis errors

Deno.test("out-of-range axes name the op, the axis and the valid range", () => {
  const x = ones([2, 3]);
  const ops: [string, (x: Tensor, axis: number) => Tensor][] = [
    ["sum", (x, a) => sum(x, a)],
    ["mean", (x, a) => mean(x, a)],
    ["max", (x, a) => max(x, a)],
    ["min", (x, a) => min(x, a)],
    ["argmax", (x, a) => argmax(x, a)],
    ["argmin", (x, a) => argmin(x, a)],
    ["logsumexp", (x, a) => logsumexp(x, a)],
  ];
  for (const [name, op] of ops) {
    assertThrowsMatch(
      () => op(x, 2),
      ShapeError,
      new RegExp(`^${name}\\(\\): axis 2 is out of range for rank 2 \\(valid: -2\\.\\.1\\)$`),
    );
    assertThrowsMatch(
      () => op(x, -3),
      ShapeError,
      new RegExp(`^${name}\\(\\): axis -3 is out of range`),
    );
  }
  // one bad axis in a list
  assertThrowsMatch(
    () => sum(x, [0, 5]),
    ShapeError,
    /^sum\(\): axis 5 is out of range for rank 2/,
  );
  // a scalar has no axes
  assertThrowsMatch(
    () => sum(tensor(1), 0),
    ShapeError,
    /^sum\(\): axis 0 is out of range for rank 0 \(valid: none: the input is a scalar\)$/,
  );
  assertThrowsMatch(() => max(x, 0.5), ShapeError, /^max\(\): axis must be an integer, got 0\.5$/);
});

Deno.test("repeated axes are an error", () => {
  const x = ones([2, 3]);
  assertThrowsMatch(() => sum(x, [0, -2]), ShapeError, /^sum\(\): repeated axis in \[0,-2\]$/);
  assertThrowsMatch(() => mean(x, [1, 1]), ShapeError, /^mean\(\): repeated axis in \[1,1\]$/);
  assertThrowsMatch(() => max(x, [-1, 1]), ShapeError, /^max\(\): repeated axis/);
});

Deno.test("max/min/argmax of an empty axis are errors (there is no identity)", () => {
  assertThrowsMatch(
    () => max(zeros([2, 0]), 1),
    ShapeError,
    /^max\(\): cannot reduce the empty axis 1 of shape \[2,0\] \(no identity\)$/,
  );
  assertThrowsMatch(() => min(zeros([0])), ShapeError, /^min\(\): cannot reduce the empty axis 0/);
  assertThrowsMatch(
    () => argmax(zeros([0])),
    ShapeError,
    /^argmax\(\): axis 0 of shape \[0\] is empty$/,
  );
  assertThrowsMatch(
    () => argmin(zeros([3, 0]), 1),
    ShapeError,
    /^argmin\(\): axis 1 of shape \[3,0\]/,
  );
  assert.throws(() => max(zeros([0, 2])), ShapeError);
  assertThrowsMatch(
    () => argmax(zeros([2, 2]), [0, 1] as never),
    ShapeError,
    /^argmax\(\): axis must be one integer, got the array \[0,1\]$/,
  );
});

Deno.test("logsumexp of an empty axis is −∞ (scipy.special.logsumexp(np.zeros((2, 0)), 1))", () => {
  assert.deepEqual(logsumexp(zeros([2, 0]), 1).arraySync(), [-Infinity, -Infinity]);
  assert.deepEqual(logsumexp(zeros([2, 0]), 1, { keepdims: true }).shape, [2, 1]);
  assert.equal(logsumexp(zeros([0])).itemSync(), -Infinity);
  assert.deepEqual(logsumexp(zeros([3, 0]), 0).shape, [0]);
  // Its gradient is the (empty) softmax.
  assert.deepEqual(grad((x: Tensor) => sum(logsumexp(x, 1)))(zeros([2, 0])).shape, [2, 0]);
});

Deno.test("max/min reductions order −0 below +0, as maximum/minimum do (on every CPU backend)", () => {
  const sign = (t: Tensor) => [...t.dataSync()].map((v) => (Object.is(v, -0) ? "-0" : String(v)));
  // cpu kept the first of ±0 (min [0, −0, 1] was 0) while wasm and minimum(0, −0) give −0.
  assert.deepEqual(sign(min(tensor([0, -0, 1]))), ["-0"]);
  assert.deepEqual(sign(max(tensor([-0, 0, -1]))), ["0"]);
  assert.deepEqual(sign(min(tensor([[0, -0], [-0, 0]]), 0)), ["-0", "-0"]);
  assert.deepEqual(sign(max(tensor([[0, -0], [-0, 0]]), 0)), ["0", "0"]);
  assert.deepEqual(sign(min(tensor([NaN, -0, 0]))), ["NaN"]);
});
