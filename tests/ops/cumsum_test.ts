/**
 * cumsum against NumPy (axes, flattening, reverse, exclusive, int32 and
 * bool), its accuracy on a float32 axis of 10⁶ against float64 sums and the
 * documented error bound, and gradients in float64 to second order.
 *
 * X = data([2, 3, 4], 1) with data(shape, s)[i] = ((7i + 3s) mod 11 − 5) / 4
 * (quarter-integers, so every partial sum is exact in float32 and float64).
 * Expected values were computed with NumPy 2.4 and pasted in:
 *   X = (((np.arange(24) * 7 + 3) % 11 - 5) / 4).reshape(2, 3, 4)
 * reverse:   np.flip(np.cumsum(np.flip(X, a), axis=a), a)
 * exclusive: (the inclusive sums) - X
 */

import assert from "node:assert/strict";
import {
  checkGrads,
  cumsum,
  type DType,
  ShapeError,
  type Tensor,
  tensor,
  zeros,
} from "../../mod.ts";
import { randn } from "../_helpers.ts";
import { assertTensor, assertThrowsMatch } from "./_helpers.ts";

function data(shape: readonly number[], s: number, dtype: DType = "float32"): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, (_, i) => (((i * 7 + s * 3) % 11) - 5) / 4);
  return tensor(v, { shape, dtype });
}

Deno.test("cumsum matches NumPy along each axis, flattened, reversed and exclusive", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const x = data([2, 3, 4], 1, dtype);
    // np.cumsum(X, axis=1)
    assertTensor(cumsum(x, 1), [
      [[-0.5, 1.25, 0.25, -0.75], [0.5, 1.25, -0.75, 0.0], [0.25, 0.0, -0.25, -0.5]],
      [[1.25, 0.25, -0.75, 1.0], [1.25, -0.75, 0.0, 0.75], [0.0, -0.25, -0.5, 2.0]],
    ], dtype);
    // np.cumsum(X) (flattened)
    assertTensor(
      cumsum(x),
      [
        -0.5,
        0.75,
        1.0,
        0.25,
        1.25,
        1.25,
        0.25,
        1.0,
        0.75,
        -0.5,
        0.0,
        -0.5,
        0.75,
        1.0,
        0.25,
        1.25,
        1.25,
        0.25,
        1.0,
        0.75,
        -0.5,
        0.0,
        -0.5,
        0.75,
      ],
      dtype,
    );
    // reverse along the last axis
    assertTensor(x.cumsum(-1, { reverse: true }), [
      [[0.25, 0.75, -0.5, -0.75], [0.75, -0.25, -0.25, 0.75], [-1.5, -1.25, 0.0, -0.5]],
      [[1.75, 0.5, 0.25, 1.0], [-0.5, -0.5, 0.5, -0.25], [0.0, 1.25, 0.75, 1.25]],
    ], dtype);
    // exclusive along axis 0
    assertTensor(cumsum(x, 0, { exclusive: true }), [
      [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
      [[-0.5, 1.25, 0.25, -0.75], [1.0, 0.0, -1.0, 0.75], [-0.25, -1.25, 0.5, -0.5]],
    ], dtype);
    // reverse and exclusive along axis 1
    assertTensor(cumsum(x, 1, { reverse: true, exclusive: true }), [
      [[0.75, -1.25, -0.5, 0.25], [-0.25, -1.25, 0.5, -0.5], [0, 0, 0, 0]],
      [[-1.25, -0.5, 0.25, 1.0], [-1.25, 0.5, -0.5, 1.25], [0, 0, 0, 0]],
    ], dtype);
  }
});

Deno.test("cumsum of int32 stays int32, bool counts, and edge sizes", () => {
  // np.cumsum(np.array([[3, -1, 4], [1, -5, 9]], np.int32), axis=1)
  const i = tensor([[3, -1, 4], [1, -5, 9]], { dtype: "int32" });
  assertTensor(cumsum(i, 1), [[3, 2, 6], [1, -4, 5]], "int32");
  assertTensor(cumsum(tensor([true, false, true, true])), [1, 1, 2, 3], "int32");
  assertTensor(cumsum(tensor(2.5)), [2.5], "float32"); // a scalar flattens to [1], as in NumPy
  assertTensor(cumsum(tensor([7])), [7], "float32");
  assertTensor(cumsum(tensor([7]), 0, { exclusive: true }), [0], "float32");
  assertTensor(cumsum(zeros([2, 0]), 1), [[], []], "float32", { shape: [2, 0] });
  // lengths around powers of two (the scan's step boundaries), against a plain loop
  for (const n of [2, 3, 7, 8, 9, 31, 33]) {
    const v = Array.from({ length: n }, (_, k) => (k % 5) - 2);
    let acc = 0;
    const want = v.map((e) => (acc += e));
    assertTensor(cumsum(tensor(v, { dtype: "int32" })), want, "int32");
    acc = 0;
    const rev = [...v].reverse().map((e) => (acc += e)).reverse().map((e, k) => e - v[k]);
    assertTensor(cumsum(tensor(v), 0, { reverse: true, exclusive: true }), rev, "float32");
  }
});

Deno.test("cumsum errors name the op and the axis", () => {
  assertThrowsMatch(() => cumsum(tensor([[1, 2]]), 2), ShapeError, /cumsum\(\).*axis 2/);
  assertThrowsMatch(() => cumsum(tensor(1), 0), ShapeError, /cumsum\(\): axis 0 .* scalar/);
});

Deno.test("cumsum of 10⁶ float32 values: balanced-tree accuracy, not a sequential loop's", () => {
  // x_i = (s_i >>> 8)·2⁻²⁴, s_{i+1} = 1664525·s_i + 1013904223 mod 2³², s_0 = 12345
  const n = 1_000_000;
  const x = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(1664525, s) + 1013904223) >>> 0;
    x[i] = (s >>> 8) / 2 ** 24;
  }
  const got = cumsum(tensor(x)).dataSync();
  // Float64 sums of the same float32 values; NumPy agrees:
  // np.cumsum(x.astype(np.float64))[[499999, 999999]] = 249713.63487756252, 499921.15303480625
  let ref = 0, worst = 0;
  for (let i = 0; i < n; i++) {
    ref += x[i]; // all x ≥ 0, so the running sum is also Σ|x|
    worst = Math.max(worst, Math.abs(got[i] - ref) / ref);
    if (i === 499999) assert.ok(Math.abs(ref - 249713.63487756252) < 1e-9);
  }
  assert.ok(Math.abs(ref - 499921.15303480625) < 1e-9);
  // The documented bound ⌈log₂ n⌉·2⁻²⁴ = 1.19e-6 holds, and the measured error (NumPy's
  // simulation of the same scan: 1.53e-7) is far below NumPy's sequential float32 cumsum
  // (max |np.cumsum(x) − ref| / ref = 3.5e-5).
  assert.ok(worst <= Math.ceil(Math.log2(n)) * 2 ** -24, `max relative error ${worst}`);
  assert.ok(worst < 2e-7, `max relative error ${worst}`);
  // Bit for bit as the scan computed in NumPy float32:
  //   y = x.copy(); s = 1
  //   while s < n: z = y.copy(); z[s:] = y[s:] + y[:-s]; y = z; s *= 2
  //   y[[0, 1, 2, 499999, 999999]]
  assert.deepEqual(
    [0, 1, 2, 499999, 999999].map((i) => got[i]),
    [0.02040266990661621, 0.03695046901702881, 0.580106258392334, 249713.625, 499921.15625],
  );
});

Deno.test("cumsum gradients: vjp and jvp to second order (float64)", () => {
  const x = randn(1, [3, 5, 4]);
  for (
    const opts of [{}, { reverse: true }, { exclusive: true }, { reverse: true, exclusive: true }]
  ) {
    for (const axis of [0, 1, -1, null]) {
      checkGrads((t: Tensor) => cumsum(t, axis, opts), [x], { order: 2 });
    }
  }
  // the gradient of sum(w·cumsum(x)) is the reversed cumsum of w
  const w = tensor([1, 10, 100, 1000], { dtype: "float64" });
  checkGrads((t: Tensor) => cumsum(t).mul(w).sum(), [randn(2, [4])], { order: 2 });
});
