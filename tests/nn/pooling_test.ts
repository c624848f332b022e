/**
 * `nn.maxPool2d`, `nn.avgPool2d`, `nn.globalAvgPool2d` against a direct
 * NCHW loop written here in float64 JS (max: the first maximum of each
 * window in row-major order gets the gradient; padding never wins; avg:
 * padding counts as zeros unless `countIncludePad: false`): the book's
 * 2×2 stride-2 pooling of [100, 30, 24, 24], overlapping and padded windows,
 * SAME, NHWC, unbatched inputs, the tie rule, central differences
 * (`checkGrads`, float64), `jit`, and the errors.
 */

import assert from "node:assert/strict";
import {
  checkGrads,
  DTypeError,
  grad,
  jit,
  mul,
  nn,
  ShapeError,
  sum,
  type Tensor,
  tensor,
  transpose,
} from "../../mod.ts";
import { lcg } from "../_helpers.ts";
import { assertTensor, assertThrowsMatch } from "../ops/_helpers.ts";

interface Spec {
  kind: "max" | "avg";
  window: [number, number];
  stride: [number, number];
  /** [[top, bottom], [left, right]] */
  pads: [[number, number], [number, number]];
  countIncludePad?: boolean;
}

/** Direct loop over [N, C, H, W]: values and, per output, the input index its gradient goes to (max). */
function reference(x: ArrayLike<number>, shape: number[], s: Spec) {
  const [n, c, h, w] = shape;
  const oh = Math.floor((h + s.pads[0][0] + s.pads[0][1] - s.window[0]) / s.stride[0]) + 1;
  const ow = Math.floor((w + s.pads[1][0] + s.pads[1][1] - s.window[1]) / s.stride[1]) + 1;
  const out: number[] = [], src: number[] = [];
  for (let b = 0; b < n * c; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let best = -Infinity, at = -1, total = 0, count = 0;
        for (let di = 0; di < s.window[0]; di++) {
          for (let dj = 0; dj < s.window[1]; dj++) {
            const r = i * s.stride[0] + di - s.pads[0][0];
            const q = j * s.stride[1] + dj - s.pads[1][0];
            if (r < 0 || r >= h || q < 0 || q >= w) continue;
            const k = (b * h + r) * w + q;
            if (x[k] > best) [best, at] = [x[k], k];
            total += x[k];
            count++;
          }
        }
        const all = s.window[0] * s.window[1];
        out.push(s.kind === "max" ? best : total / ((s.countIncludePad ?? true) ? all : count));
        src.push(at);
      }
    }
  }
  return { out, src, shape: [n, c, oh, ow] };
}

function data(seed: number, size: number, ties = false): Float64Array {
  const r = lcg(seed);
  return Float64Array.from({ length: size }, () => ties ? Math.floor(r() * 3) : r() * 8 - 4);
}

const pool = (s: Spec, layout: "NCHW" | "NHWC" = "NCHW") => (x: Tensor): Tensor => {
  const opts = { window: s.window, stride: s.stride, padding: s.pads, layout };
  return s.kind === "max"
    ? nn.maxPool2d(x, opts)
    : nn.avgPool2d(x, { ...opts, countIncludePad: s.countIncludePad });
};

const SPECS: Spec[] = [
  { kind: "max", window: [2, 2], stride: [2, 2], pads: [[0, 0], [0, 0]] },
  { kind: "max", window: [3, 3], stride: [2, 2], pads: [[1, 1], [1, 1]] },
  { kind: "max", window: [2, 3], stride: [1, 2], pads: [[0, 1], [2, 0]] },
  { kind: "avg", window: [2, 2], stride: [2, 2], pads: [[0, 0], [0, 0]] },
  { kind: "avg", window: [3, 3], stride: [2, 2], pads: [[1, 1], [1, 1]] },
  { kind: "avg", window: [3, 2], stride: [2, 1], pads: [[1, 1], [1, 0]], countIncludePad: false },
];

Deno.test("maxPool2d: the book's 2×2 stride-2 pooling of [100, 30, 24, 24]", () => {
  const shape = [100, 30, 24, 24];
  const xv = Float32Array.from(data(1, 100 * 30 * 24 * 24));
  const y = nn.maxPool2d(tensor(xv, { shape }), { window: 2, stride: 2 });
  const ref = reference(xv, shape, SPECS[0]);
  assert.deepEqual(y.shape, [100, 30, 12, 12]);
  assertTensor(y, ref.out, "float32", { shape: ref.shape });
  // gradient on a small batch with many ties: each window's first maximum gets it
  const small = [2, 30, 24, 24];
  const tv = data(2, 2 * 30 * 24 * 24, true);
  const sr = reference(tv, small, SPECS[0]);
  const want = new Array<number>(tv.length).fill(0);
  sr.src.forEach((k, o) => (want[k] += o % 7));
  const u = tensor(sr.out.map((_, o) => o % 7), { shape: sr.shape, dtype: "float64" });
  const f = (x: Tensor) => sum(mul(nn.maxPool2d(x, { window: 2 }), u));
  assertTensor(grad(f)(tensor(tv, { shape: small, dtype: "float64" })), want, "float64", {
    shape: small,
  });
});

Deno.test("maxPool2d, avgPool2d: values and gradients match the direct loop (NCHW, NHWC, unbatched)", () => {
  const shape = [2, 3, 7, 6];
  SPECS.forEach((s, i) => {
    for (const ties of [false, true]) {
      const xv = data(10 + i, 2 * 3 * 7 * 6, ties);
      const ref = reference(xv, shape, s);
      const x = tensor(xv, { shape, dtype: "float64" });
      assertTensor(pool(s)(x), ref.out, "float64", { shape: ref.shape, atol: 1e-12 });
      const nhwc = pool(s, "NHWC")(transpose(x, [0, 2, 3, 1]));
      assertTensor(transpose(nhwc, [0, 3, 1, 2]), ref.out, "float64", {
        shape: ref.shape,
        atol: 1e-12,
      });
      const unbatched = pool(s)(
        tensor(xv.slice(0, 3 * 7 * 6), { shape: [3, 7, 6], dtype: "float64" }),
      );
      assertTensor(unbatched, ref.out.slice(0, ref.out.length / 2), "float64", {
        shape: ref.shape.slice(1),
        atol: 1e-12,
      });
      // gradient of sum(pool(x) * u)
      const uv = data(20 + i, ref.out.length);
      const want = new Array<number>(xv.length).fill(0);
      if (s.kind === "max") ref.src.forEach((k, o) => (want[k] += uv[o]));
      else {
        // each output spreads u / divisor over the input elements of its window
        const [, , oh, ow] = ref.shape;
        for (let o = 0; o < uv.length; o++) {
          const b = Math.floor(o / (oh * ow)), i0 = Math.floor(o / ow) % oh, j0 = o % ow;
          let count = 0;
          const cells: number[] = [];
          for (let di = 0; di < s.window[0]; di++) {
            for (let dj = 0; dj < s.window[1]; dj++) {
              const r = i0 * s.stride[0] + di - s.pads[0][0];
              const q = j0 * s.stride[1] + dj - s.pads[1][0];
              if (r >= 0 && r < 7 && q >= 0 && q < 6) cells.push((b * 7 + r) * 6 + q), count++;
            }
          }
          const div = (s.countIncludePad ?? true) ? s.window[0] * s.window[1] : count;
          for (const k of cells) want[k] += uv[o] / div;
        }
      }
      const u = tensor(uv, { shape: ref.shape, dtype: "float64" });
      const g = grad((x: Tensor) => sum(mul(pool(s)(x), u)))(x);
      assertTensor(g, want, "float64", { shape, atol: 1e-12 });
    }
  });
});

Deno.test("maxPool2d: a window's gradient goes to its first maximum (ties), overlaps add up", () => {
  const ones = tensor(new Float64Array(16).fill(1), { shape: [1, 1, 4, 4], dtype: "float64" });
  const g = grad((x: Tensor) => sum(nn.maxPool2d(x, { window: 2 })))(ones);
  assertTensor(g, [[[[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]]], "float64");
  // 3×3 windows, stride 1, padding 1 over a constant: padding never wins, and each
  // window's first real element (row-major) collects one gradient per window
  const g3 = grad((x: Tensor) => sum(nn.maxPool2d(x, { window: 3, stride: 1, padding: 1 })))(ones);
  assertTensor(g3, [[[[4, 2, 2, 0], [2, 1, 1, 0], [2, 1, 1, 0], [0, 0, 0, 0]]]], "float64");
});

Deno.test("pooling: SAME padding, countIncludePad, globalAvgPool2d", () => {
  const x = tensor([[[[1, 2, 5], [3, 4, 7], [0, 1, 2]]]]); // [1, 1, 3, 3]
  // SAME with window 2 stride 2: 2 outputs, padding (0, 1) at the end
  assertTensor(nn.maxPool2d(x, { window: 2, padding: "SAME" }), [[[[4, 7], [1, 2]]]], "float32");
  assertTensor(
    nn.avgPool2d(x, { window: 2, padding: "SAME" }),
    [[[[2.5, 3], [0.25, 0.5]]]],
    "float32",
  );
  assertTensor(
    nn.avgPool2d(x, { window: 2, padding: "SAME", countIncludePad: false }),
    [[[[2.5, 6], [0.5, 2]]]],
    "float32",
  );
  assertTensor(
    nn.maxPool2d(x, { window: 2, stride: 1, padding: "VALID" }),
    [[[[4, 7], [4, 7]]]],
    "float32",
  );
  const y = tensor([[[[1, 2], [3, 4]], [[0, 0], [0, 8]]], [[[2, 2], [2, 2]], [[-1, 1], [3, 1]]]]);
  assertTensor(nn.globalAvgPool2d(y), [[2.5, 2], [2, 1]], "float32");
  assertTensor(
    nn.globalAvgPool2d(y, { keepdims: true }),
    [[[[2.5]], [[2]]], [[[2]], [[1]]]],
    "float32",
  );
  const nhwc = nn.globalAvgPool2d(transpose(y, [0, 2, 3, 1]), { layout: "NHWC" });
  assertTensor(nhwc, [[2.5, 2], [2, 1]], "float32");
  assert.deepEqual(nn.globalAvgPool2d(y, { layout: "NHWC", keepdims: true }).shape, [2, 1, 1, 2]);
});

Deno.test("pooling: central differences (float64) and jit", () => {
  const x = tensor(data(5, 2 * 2 * 5 * 6), { shape: [2, 2, 5, 6], dtype: "float64" });
  for (const s of [SPECS[1], SPECS[2], SPECS[4], SPECS[5]]) {
    checkGrads(pool(s), [x]);
    const loss = (x: Tensor) => sum(mul(pool(s)(x), pool(s)(x)));
    assert.deepEqual(jit(pool(s))(x).arraySync(), pool(s)(x).arraySync());
    assert.deepEqual(jit(grad(loss))(x).arraySync(), grad(loss)(x).arraySync());
  }
  checkGrads((x: Tensor) => nn.globalAvgPool2d(x), [x], { order: 2 });
});

Deno.test("pooling: the input is not changed", () => {
  const x = tensor([[[[1, 2], [3, 4]]]]);
  nn.maxPool2d(x, { window: 2, padding: 1 });
  nn.avgPool2d(x, { window: 2, padding: 1, countIncludePad: false });
  nn.globalAvgPool2d(x);
  assert.deepEqual(x.arraySync(), [[[[1, 2], [3, 4]]]]);
});

Deno.test("pooling: errors name the function, the shapes and the fix", () => {
  const x = tensor([[[[1, 2], [3, 4]]]]);
  assertThrowsMatch(
    () => nn.maxPool2d(tensor([[1, 2]]), { window: 2 }),
    ShapeError,
    /maxPool2d\(\): expects a NCHW input of rank 4 \(or 3 without the batch axis\), got shape \[1,2\]/,
  );
  assertThrowsMatch(
    () => nn.maxPool2d(x, { window: 3 }),
    ShapeError,
    /reduceWindow\(\): the window \[1,1,3,3\].*larger than the padded input \[1,1,2,2\]/,
  );
  assertThrowsMatch(
    () => nn.avgPool2d(x, { window: 2, layout: "CHWN" as "NCHW" }),
    ShapeError,
    /avgPool2d\(\): layout must be "NCHW" or "NHWC", got "CHWN"/,
  );
  assertThrowsMatch(
    () => nn.maxPool2d(x, {} as nn.Pool2dOptions),
    ShapeError,
    /maxPool2d\(\): needs options with a window, e.g. \{ window: 2 \}/,
  );
  assertThrowsMatch(() => nn.maxPool2d(x, { window: 0 }), ShapeError, /window must be positive/);
  assertThrowsMatch(
    () => nn.maxPool2d(x, { window: 2, stride: [1, 0] }),
    ShapeError,
    /maxPool2d\(\): stride must be positive, got \[1,0\]/,
  );
  assertThrowsMatch(
    () => nn.maxPool2d(x, { window: 2, padding: -1 }),
    ShapeError,
    /padding must be a non-negative integer or a pair \[h, w\] of them, got -1/,
  );
  assertThrowsMatch(
    () => nn.avgPool2d(x, { window: 2, padding: [[2, 0], [0, 0]], countIncludePad: false }),
    ShapeError,
    /avgPool2d\(\): with countIncludePad: false a window covering only padding has no average/,
  );
  assertThrowsMatch(
    () => nn.maxPool2d(tensor([[[[1]]]], { dtype: "int32" }), { window: 1 }),
    DTypeError,
    /maxPool2d\(\): expects a float32 or float64 tensor, got int32/,
  );
});
