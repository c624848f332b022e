/**
 * The non-overlapping path of `nn.maxPool2d` / `nn.avgPool2d` (stride =
 * window, no padding: one transpose to `[taps, outputs]` instead of the
 * window gather) against `lax.reduceWindow` (the general gather path) and a
 * direct float64 loop written here: NaN propagation and which element gets
 * the gradient when a window holds NaN, -Infinity windows, 3×3 and 2×3
 * windows over sizes they do not divide (the rest is dropped), NCHW and NHWC,
 * float32 and float64, `jvp` and `jit`.
 */

import assert from "node:assert/strict";
import { grad, jit, jvp, lax, mul, nn, sum, type Tensor, tensor, transpose } from "../../mod.ts";
import { lcg } from "../_helpers.ts";
import { assertTensor } from "../ops/_helpers.ts";

/** Direct loop: max pooling of a [N, C, H, W] array with window = stride = [kh, kw]; first max (NaN wins). */
function direct(x: ArrayLike<number>, [n, c, h, w]: number[], kh: number, kw: number) {
  const oh = Math.floor(h / kh), ow = Math.floor(w / kw);
  const out: number[] = [], src: number[] = [];
  for (let b = 0; b < n * c; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let best = -Infinity, at = -1;
        for (let di = 0; di < kh; di++) {
          for (let dj = 0; dj < kw; dj++) {
            const k = (b * h + i * kh + di) * w + j * kw + dj;
            const v = x[k];
            if (at < 0 || (!Number.isNaN(best) && (v > best || Number.isNaN(v)))) best = v, at = k;
          }
        }
        out.push(best);
        src.push(at);
      }
    }
  }
  return { out, src, shape: [n, c, oh, ow] };
}

Deno.test("maxPool2d non-overlapping: NaN propagates and gets the gradient; -Infinity windows", () => {
  const nan = NaN, inf = Infinity;
  // [1, 1, 2, 6]: windows 2×2 → [[1, nan, 5]] then -inf
  const xv = [1, nan, 3, 4, -inf, -inf, 0, 1, nan, 2, -inf, -inf];
  for (const dtype of ["float32", "float64"] as const) {
    const x = tensor(xv, { shape: [1, 1, 2, 6], dtype });
    const y = nn.maxPool2d(x, { window: 2 });
    assertTensor(y, [[[[nan, nan, -inf]]]], dtype);
    const g = grad((t: Tensor) =>
      sum(mul(nn.maxPool2d(t, { window: 2 }), tensor([[[[2, 3, 5]]]], { dtype })))
    )(x);
    // the first NaN of each NaN window, the first element of the all -inf window
    assertTensor(g, [[[[0, 2, 0, 0, 5, 0], [0, 0, 3, 0, 0, 0]]]], dtype);
  }
});

Deno.test("maxPool2d, avgPool2d non-overlapping: equal reduceWindow and the direct loop", () => {
  const cases: [number[], number, number][] = [
    [[2, 3, 7, 8], 3, 3], // 7×8 by 3×3: the last row and the last two columns are dropped
    [[1, 2, 5, 7], 2, 3],
    [[3, 1, 6, 6], 2, 2],
  ];
  for (const [shape, kh, kw] of cases) {
    const r = lcg(shape[2] * 10 + kw);
    const size = shape.reduce((a, b) => a * b, 1);
    // many ties: values in {0, 1, 2}
    const xv = Float64Array.from({ length: size }, () => Math.floor(r() * 3));
    const ref = direct(xv, shape, kh, kw);
    const x = tensor(xv, { shape, dtype: "float64" });
    const opts = { window: [kh, kw] as [number, number] };
    const viaWindows = (t: Tensor) =>
      lax.reduceWindow(t, -Infinity, "max", [1, 1, kh, kw], [1, 1, kh, kw], "VALID");
    assertTensor(nn.maxPool2d(x, opts), ref.out, "float64", { shape: ref.shape });
    assertTensor(nn.maxPool2d(x, opts), viaWindows(x).arraySync() as number[], "float64");
    const nhwc = nn.maxPool2d(transpose(x, [0, 2, 3, 1]), { ...opts, layout: "NHWC" });
    assertTensor(transpose(nhwc, [0, 3, 1, 2]), ref.out, "float64", { shape: ref.shape });
    // gradient of sum(pool(x) * u): u at each window's first maximum
    const uv = Array.from({ length: ref.out.length }, (_, i) => (i % 5) + 1);
    const u = tensor(uv, { shape: ref.shape, dtype: "float64" });
    const want = new Array<number>(size).fill(0);
    ref.src.forEach((k, o) => (want[k] += uv[o]));
    const f = (t: Tensor) => sum(mul(nn.maxPool2d(t, opts), u));
    assertTensor(grad(f)(x), want, "float64", { shape });
    assertTensor(jit(grad(f))(x), want, "float64", { shape });
    // jvp: the tangent of each window's first maximum
    const tv = Float64Array.from({ length: size }, (_, i) => (i % 7) - 3);
    const [, dy] = jvp((t: Tensor) => nn.maxPool2d(t, opts), [x], [
      tensor(tv, { shape, dtype: "float64" }),
    ]);
    assertTensor(dy, ref.src.map((k) => tv[k]), "float64", { shape: ref.shape });
    // float32 (wasm's kernels on the default backend)
    const y32 = nn.maxPool2d(tensor(Float32Array.from(xv), { shape }), opts);
    assertTensor(y32, ref.out, "float32", { shape: ref.shape });
    // average: the mean of each window
    const avg = nn.avgPool2d(x, opts);
    const sums = lax.reduceWindow(x, 0, "sum", [1, 1, kh, kw], [1, 1, kh, kw], "VALID");
    assertTensor(
      avg,
      (sums.arraySync() as number[][][][]).flat(3).map((v) => v / (kh * kw)),
      "float64",
      {
        shape: ref.shape,
        atol: 1e-12,
      },
    );
  }
});

Deno.test("maxPool2d non-overlapping: the input is not changed", () => {
  const xv = [3, 1, 2, 4, 0, 5, 1, 1];
  const x = tensor(xv, { shape: [1, 1, 2, 4] });
  nn.maxPool2d(x, { window: 2 });
  grad((t: Tensor) => sum(nn.maxPool2d(t, { window: 2 })))(x);
  assert.deepEqual(Array.from(x.dataSync()), xv);
});
