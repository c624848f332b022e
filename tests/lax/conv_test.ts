/**
 * `lax.convGeneralDilated` against a direct-loop float64 reference
 * (`_conv_ref.ts`: explicit dilation and padding arrays, then a strided
 * loop), over 1-, 2- and 3-D cases with strides, SAME/VALID/explicit and
 * negative padding, input and kernel dilation and feature groups; gradients
 * with respect to both operands and jvp against central differences in
 * float64 (`checkGrads`); layouts; `jit` against eager; errors.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  checkGrads,
  DTypeError,
  grad,
  jit,
  lax,
  ShapeError,
  type Tensor,
  tensor,
  transpose,
} from "../../mod.ts";
import { assertClose, randn } from "../_helpers.ts";
import { assertThrowsMatch } from "../ops/_helpers.ts";
import { convRef, type ConvRefOptions, type Nd } from "./_conv_ref.ts";

const nd = (t: Tensor): Nd => ({ shape: t.shape, data: Float64Array.from(t.dataSync()) });

interface Case {
  name: string;
  x: number[];
  w: number[];
  opts: lax.ConvGeneralDilatedOptions;
  /** `"SAME"` resolved to pairs by hand, for the reference (default: the explicit padding). */
  pads?: [number, number][];
  out: number[];
}

/** The reference's options for a case. */
const refOf = ({ opts, pads }: Case): ConvRefOptions => ({
  strides: opts.windowStrides,
  pads: pads ?? (typeof opts.padding === "object" ? opts.padding : undefined),
  lhsDilation: opts.lhsDilation,
  rhsDilation: opts.rhsDilation,
  groups: opts.featureGroupCount,
});

const CASES: Case[] = [
  {
    name: "1-D, stride 2, explicit padding",
    x: [2, 3, 7],
    w: [4, 3, 3],
    opts: { windowStrides: [2], padding: [[1, 2]] },
    out: [2, 4, 4],
  },
  {
    name: "2-D, SAME, strides [2, 1], kernel dilation, 2 groups",
    x: [2, 4, 6, 5],
    w: [6, 2, 3, 2],
    // SAME: H: out 3, total (3-1)·2 + 3 - 6 = 1 -> [0, 1]; W: span 3, out 5, total 2 -> [1, 1]
    opts: { windowStrides: [2, 1], padding: "SAME", rhsDilation: [1, 2], featureGroupCount: 2 },
    pads: [[0, 1], [1, 1]],
    out: [2, 6, 3, 5],
  },
  {
    name: "2-D, input dilation, negative padding",
    x: [1, 2, 4, 5],
    w: [3, 2, 2, 3],
    opts: { windowStrides: [1, 2], padding: [[2, 1], [0, -1]], lhsDilation: [2, 3] },
    // H: 2 + 7 + 1 - 2 + 1 = 9; W: floor((13 - 1 - 3) / 2) + 1 = 5
    out: [1, 3, 9, 5],
  },
  {
    name: "2-D depthwise, VALID",
    x: [2, 3, 5, 5],
    w: [3, 1, 3, 3],
    opts: { featureGroupCount: 3 },
    out: [2, 3, 3, 3],
  },
  {
    name: "2-D, both dilations, strides, 2 groups with 2 kernels each",
    x: [1, 4, 5, 4],
    w: [4, 2, 2, 2],
    opts: {
      windowStrides: [2, 2],
      padding: [[1, 0], [2, 2]],
      lhsDilation: [2, 1],
      rhsDilation: [2, 3],
      featureGroupCount: 2,
    },
    out: [1, 4, 4, 3],
  },
  {
    name: "3-D, strides, padding, kernel dilation",
    x: [1, 2, 4, 5, 3],
    w: [3, 2, 2, 3, 2],
    opts: { windowStrides: [1, 2, 1], padding: [[1, 0], [0, 1], [1, 1]], rhsDilation: [2, 1, 1] },
    out: [1, 3, 3, 2, 4],
  },
  {
    name: "4-D (default layout NC0123 / OI0123), strides",
    x: [1, 2, 3, 4, 2, 3],
    w: [2, 2, 2, 2, 1, 2],
    opts: { windowStrides: [1, 2, 1, 1], padding: [[0, 0], [1, 0], [0, 0], [0, 1]] },
    out: [1, 2, 2, 2, 2, 3],
  },
];

for (const [i, c] of CASES.entries()) {
  Deno.test(`convGeneralDilated: ${c.name} matches the direct loop`, () => {
    const x = randn(10 + i, c.x), w = randn(20 + i, c.w);
    const before = [x.dataSync().slice(), w.dataSync().slice()];
    const y = lax.convGeneralDilated(x, w, c.opts);
    const want = convRef(nd(x), nd(w), refOf(c));
    assert.deepEqual(y.shape, c.out);
    assert.deepEqual(want.shape, c.out);
    assert.equal(y.dtype, "float64");
    assertClose(y, want.data, { atol: 1e-12, rtol: 1e-12 });
    // nothing passed in changes
    assert.deepEqual(x.dataSync(), before[0]);
    assert.deepEqual(w.dataSync(), before[1]);
  });

  Deno.test(`convGeneralDilated: ${c.name}: gradients and jvp match central differences`, () => {
    const x = randn(30 + i, c.x), w = randn(40 + i, c.w);
    checkGrads((a: Tensor, b: Tensor) => lax.convGeneralDilated(a, b, c.opts), [x, w]);
  });

  Deno.test(`convGeneralDilated: ${c.name}: jit equals eager`, () => {
    const x = randn(50 + i, c.x), w = randn(60 + i, c.w);
    const f = (a: Tensor, b: Tensor) => lax.convGeneralDilated(a, b, c.opts);
    const fx = jit(f);
    assertClose(fx(x, w), f(x, w).dataSync(), { atol: 1e-12, rtol: 1e-12 });
    // float32 too (the default dtype); the same numbers on a second, cached call
    const x32 = x.cast("float32"), w32 = w.cast("float32");
    assertClose(fx(x32, w32), f(x32, w32).dataSync(), { atol: 1e-5, rtol: 1e-5 });
    assertClose(fx(x32, w32), f(x32, w32).dataSync(), { atol: 1e-5, rtol: 1e-5 });
  });
}

Deno.test("convGeneralDilated: second derivatives match central differences", () => {
  const x = randn(70, [1, 2, 5, 4]), w = randn(71, [2, 1, 2, 3]);
  const f = (a: Tensor, b: Tensor) =>
    lax.convGeneralDilated(a, b, {
      windowStrides: [2, 1],
      padding: "SAME",
      lhsDilation: [1, 2],
      featureGroupCount: 2,
    }).square();
  checkGrads(f, [x, w], { order: 2 });
});

Deno.test("convGeneralDilated: a hand-computed 2-D case", () => {
  // x = 0..15 as 4×4, kernel [[1, 2], [3, 4]], stride 2:
  // y[0,0] = 0·1 + 1·2 + 4·3 + 5·4 = 34; y[0,1] = 2 + 6 + 18 + 28 = 54;
  // y[1,0] = 8 + 18 + 36 + 52 = 114; y[1,1] = 10 + 22 + 42 + 60 = 134.
  const x = tensor([[[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]]]);
  const w = tensor([[[[1, 2], [3, 4]]]]);
  const y = lax.convGeneralDilated(x, w, { windowStrides: [2, 2] });
  assert.deepEqual(y.arraySync(), [[[[34, 54], [114, 134]]]]);
});

Deno.test("convGeneralDilated: SAME pads as XLA (lo = total // 2) from the undilated input", () => {
  const x = randn(80, [1, 1, 6, 5]), w = randn(81, [1, 1, 3, 3]);
  // H: in 6, stride 2 -> out 3, total 1 -> [0, 1]; W: in 5, dilation 2 (span 5) -> total 4 -> [2, 2]
  const same = lax.convGeneralDilated(x, w, {
    windowStrides: [2, 1],
    padding: "SAME",
    rhsDilation: [1, 2],
  });
  const explicit = lax.convGeneralDilated(x, w, {
    windowStrides: [2, 1],
    padding: [[0, 1], [2, 2]],
    rhsDilation: [1, 2],
  });
  assert.deepEqual(same.shape, [1, 1, 3, 5]);
  assertClose(same, explicit.dataSync(), { atol: 0, rtol: 0 });
  // with input dilation, SAME still reads the undilated size (as jax.lax does):
  // in 4 -> total (4 - 1) + 3 - 4 = 2 -> [1, 1]; dilated 7 + 2 - 3 + 1 = 7 outputs
  const x4 = randn(82, [1, 1, 4]), w3 = randn(83, [1, 1, 3]);
  const y = lax.convGeneralDilated(x4, w3, { padding: "SAME", lhsDilation: [2] });
  const yRef = lax.convGeneralDilated(x4, w3, { padding: [[1, 1]], lhsDilation: [2] });
  assert.deepEqual(y.shape, [1, 1, 7]);
  assertClose(y, yRef.dataSync(), { atol: 0, rtol: 0 });
});

Deno.test("convGeneralDilated: layouts permute the operands; spatial order follows the kernel's", () => {
  const x = randn(90, [2, 3, 6, 5]), w = randn(91, [4, 3, 3, 2]);
  const opts = { windowStrides: [2, 1], padding: [[1, 0], [0, 1]] as [number, number][] };
  const base = lax.convGeneralDilated(x, w, opts);
  const nhwc = lax.convGeneralDilated(transpose(x, [0, 2, 3, 1]), transpose(w, [2, 3, 1, 0]), {
    ...opts,
    dimensionNumbers: ["NHWC", "HWIO", "NHWC"],
  });
  assertClose(nhwc, transpose(base, [0, 2, 3, 1]).dataSync(), { atol: 1e-12, rtol: 1e-12 });
  // the kernel names W before H: per-axis options are given as [W, H]
  const wh = lax.convGeneralDilated(x, transpose(w, [0, 1, 3, 2]), {
    windowStrides: [1, 2],
    padding: [[0, 1], [1, 0]],
    dimensionNumbers: ["NCHW", "OIWH", "CNHW"],
  });
  assertClose(wh, transpose(base, [1, 0, 2, 3]).dataSync(), { atol: 1e-12, rtol: 1e-12 });
  // 1-D and 3-D channels-last analogues
  const x1 = randn(92, [2, 7, 3]), w1 = randn(93, [3, 3, 4]);
  const y1 = lax.convGeneralDilated(x1, w1, { dimensionNumbers: ["NWC", "WIO", "NWC"] });
  const y1Ref = lax.convGeneralDilated(transpose(x1, [0, 2, 1]), transpose(w1, [2, 1, 0]));
  assertClose(y1, transpose(y1Ref, [0, 2, 1]).dataSync(), { atol: 1e-12, rtol: 1e-12 });
  const x3 = randn(94, [1, 3, 4, 4, 2]), w3 = randn(95, [2, 2, 2, 2, 3]);
  const y3 = lax.convGeneralDilated(x3, w3, { dimensionNumbers: ["NDHWC", "DHWIO", "NDHWC"] });
  const y3Ref = lax.convGeneralDilated(
    transpose(x3, [0, 4, 1, 2, 3]),
    transpose(w3, [4, 3, 0, 1, 2]),
  );
  assertClose(y3, transpose(y3Ref, [0, 2, 3, 4, 1]).dataSync(), { atol: 1e-12, rtol: 1e-12 });
});

Deno.test("convGeneralDilated: the input's gradient accumulates over overlapping windows", () => {
  // 1×1×3×3 ones, 2×2 ones kernel, stride 1: each input element is in as many windows as it
  // touches: corners 1, edges 2, centre 4.
  const x = tensor([[[[1, 1, 1], [1, 1, 1], [1, 1, 1]]]]);
  const w = tensor([[[[1, 1], [1, 1]]]]);
  const f = (a: Tensor) => lax.convGeneralDilated(a, w).sum();
  const want = [[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]];
  assert.deepEqual(grad(f)(x).arraySync(), want);
  assert.deepEqual(jit(grad(f))(x).arraySync(), want);
  // with padding 1 and stride 2 (windows overlap in no element), each element is read once
  const f2 = (a: Tensor) =>
    lax.convGeneralDilated(a, w, { windowStrides: [2, 2], padding: [[1, 0], [1, 0]] }).sum();
  assert.deepEqual(grad(f2)(x).arraySync(), [[[[1, 1, 1], [1, 1, 1], [1, 1, 1]]]]);
});

Deno.test("convGeneralDilated: errors name the op, the shapes and the fix", () => {
  const x = randn(100, [1, 4, 5, 5]), w = randn(101, [2, 4, 3, 3]);
  assertThrowsMatch(
    () => lax.convGeneralDilated(x, randn(102, [2, 3, 3, 3])),
    ShapeError,
    /convGeneralDilated\(\): the input \[1,4,5,5\] has 4 features but the kernel \[2,3,3,3\] expects 3/,
  );
  assertThrowsMatch(
    () => lax.convGeneralDilated(x, randn(103, [3, 2, 3, 3]), { featureGroupCount: 2 }),
    ShapeError,
    /featureGroupCount 2 must divide .* output features \(3\)/,
  );
  assertThrowsMatch(
    () => lax.convGeneralDilated(x, randn(104, [2, 4, 7, 3])),
    ShapeError,
    /convGeneralDilated\(\): the window \[7,3\].*larger than the padded input/,
  );
  assertThrowsMatch(
    // deno-lint-ignore no-explicit-any
    () => lax.convGeneralDilated(x, w, { padding: "same" as any }),
    ShapeError,
    /padding must be "SAME", "VALID"/,
  );
  assertThrowsMatch(
    () => lax.convGeneralDilated(x, w, { padding: [[1, 1]] }),
    ShapeError,
    /padding must be "SAME", "VALID" or 2 \[lo, hi\] pair/,
  );
  assertThrowsMatch(
    () => lax.convGeneralDilated(randn(105, [4, 5, 5]), w),
    ShapeError,
    /the input \[4,5,5\] and kernel \[2,4,3,3\] must have the same rank/,
  );
  assertThrowsMatch(
    () => lax.convGeneralDilated(x, w, { windowStrides: [1] }),
    ShapeError,
    /windowStrides \(HW\) must be 2 positive integer/,
  );
  assertThrowsMatch(
    () => lax.convGeneralDilated(x, w.cast("float32")),
    DTypeError,
    /the input is float64 but the kernel is float32/,
  );
  assertThrowsMatch(
    () => lax.convGeneralDilated(x, w, { dimensionNumbers: ["NHWX", "OIHW", "NCHW"] }),
    ShapeError,
    /dimensionNumbers .* lack N or C in the input string "NHWX"; use strings like/,
  );
  assertThrowsMatch(
    () => lax.convGeneralDilated(x, w, { dimensionNumbers: ["NCHW", "OIHW", "NCXY"] }),
    ShapeError,
    /name spatial axes "XY" in the output string, not the kernel's "HW"/,
  );
  assertThrowsMatch(
    () => lax.convGeneralDilated(x, w, { padding: [[-3, -3], [0, 0]] }),
    ShapeError,
    /padding \[-3,-3\] crops more than all of spatial axis 0 \(size 5, dilation 1: -1 elements left\)/,
  );
});
