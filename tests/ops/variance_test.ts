/**
 * variance and std against NumPy (axes, keepdims, ddof), the two-pass
 * computation's accuracy under a large offset, ddof at and past the count,
 * the methods `x.var()` / `x.std()`, and gradients in float64 to second
 * order.
 *
 * Y = data([3, 4], 2) and Z = data([2, 3, 4], 3) with
 * data(shape, s)[i] = ((3i² + 5s) mod 13 − 6) / 4. Expected values were
 * computed with NumPy 2.4 and pasted in:
 *   data = lambda shape, s: (((np.arange(prod(shape))**2 * 3 + s * 5) % 13 - 6) / 4).reshape(shape)
 */

import assert from "node:assert/strict";
import { checkGrads, DTypeError, grad, std, type Tensor, tensor, variance } from "../../mod.ts";
import { randn } from "../_helpers.ts";
import { assertTensor, assertThrowsMatch, F32, F64 } from "./_helpers.ts";

function data(shape: readonly number[], s: number, dtype: "float32" | "float64"): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, (_, i) => (((i * i * 3 + s * 5) % 13) - 6) / 4);
  return tensor(v, { shape, dtype });
}

Deno.test("variance and std match NumPy over axes, with keepdims and ddof", () => {
  for (const dtype of ["float64", "float32"] as const) {
    const tol = dtype === "float64" ? F64 : F32;
    const y = data([3, 4], 2, dtype), z = data([2, 3, 4], 3, dtype);
    assertTensor(variance(y), 0.8802083333333334, dtype, tol); // np.var(Y)
    // np.var(Y, axis=0, ddof=1)
    assertTensor(
      variance(y, 0, { ddof: 1 }),
      [0.2708333333333333, 0.8958333333333333, 1.75, 1.75],
      dtype,
      tol,
    );
    // np.var(Y, axis=1, keepdims=True)
    assertTensor(
      y.var(1, { keepdims: true }),
      [[1.203125], [0.48046875], [0.23046875]],
      dtype,
      tol,
    );
    // np.var(Z, axis=(0, 2))
    assertTensor(variance(z, [0, -1]), [0.171875, 0.6708984375, 1.1708984375], dtype, tol);
    assertTensor(std(y), 0.9381941874331419, dtype, tol); // np.std(Y)
    // np.std(Y, axis=1, ddof=1)
    assertTensor(
      y.std(1, { ddof: 1 }),
      [1.2665570127975554, 0.8003905296791061, 0.5543389456520863],
      dtype,
      tol,
    );
    // np.std(Z, axis=(0, 2), keepdims=True)
    assertTensor(
      std(z, [0, 2], { keepdims: true }),
      [[[0.414578098794425], [0.8190839013800723], [1.082080605823799]]],
      dtype,
      tol,
    );
  }
});

Deno.test("variance is two-pass: a large offset costs no precision in float32", () => {
  // np.var(np.float32([10001, 10002, 10003, 10004])) = 1.25 (exactly); the one-pass
  // formula np.mean(f*f) - np.mean(f)**2 gives -8.0 in float32.
  const f = tensor([10001, 10002, 10003, 10004]);
  assertTensor(variance(f), 1.25, "float32");
  assertTensor(std(f), Math.sqrt(1.25), "float32", F32);
  assertTensor(variance(tensor([1e8 + 1, 1e8 + 3], { dtype: "float64" })), 1, "float64");
});

Deno.test("variance with N − ddof ≤ 0 is Infinity (NaN for equal values), as in JAX", () => {
  assertTensor(variance(tensor([1, 2]), null, { ddof: 2 }), Infinity, "float32");
  assertTensor(variance(tensor([3, 3]), null, { ddof: 3 }), NaN, "float32");
  assertTensor(variance(tensor([1]), 0), 0, "float32");
});

Deno.test("variance and std errors name the op and the fix", () => {
  assertThrowsMatch(
    () => variance(tensor([1, 2], { dtype: "int32" })),
    DTypeError,
    /variance\(\): expects a float32 or float64 tensor, got int32; cast it first/,
  );
  assertThrowsMatch(
    () => std(tensor([1, 2]), 0, { ddof: NaN }),
    TypeError,
    /std\(\): ddof must be a finite number, got NaN/,
  );
  assert.throws(() => variance(tensor([1, 2]), 1), /variance\(\).*axis 1/);
});

Deno.test("variance and std gradients: vjp and jvp to second order (float64)", () => {
  const x = randn(3, [3, 4]);
  checkGrads((t: Tensor) => variance(t), [x], { order: 2 });
  checkGrads((t: Tensor) => variance(t, 0, { ddof: 1 }), [x], { order: 2 });
  checkGrads((t: Tensor) => t.var([0, 2], { keepdims: true }), [randn(4, [2, 3, 4])], { order: 2 });
  checkGrads((t: Tensor) => std(t, 1), [x], { order: 2 });
  checkGrads((t: Tensor) => t.std(null, { ddof: 1 }), [x], { order: 2 });
  // d var / dx = 2(x − mean)/(N − ddof), in closed form
  // x = [1, 2, 6]: mean 3, ddof 1 → [2·(−2)/2, 2·(−1)/2, 2·3/2] = [−2, −1, 3]
  const v = tensor([1, 2, 6], { dtype: "float64" });
  assertTensor(grad((t: Tensor) => variance(t, 0, { ddof: 1 }))(v), [-2, -1, 3], "float64", F64);
  // std = √7 there: d std = d var / (2 std)
  const s7 = 2 * Math.sqrt(7);
  assertTensor(
    grad((t: Tensor) => std(t, 0, { ddof: 1 }))(v),
    [-2 / s7, -1 / s7, 3 / s7],
    "float64",
    F64,
  );
});
