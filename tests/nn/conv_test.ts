/**
 * `nn.conv2d` and `nn.convTranspose2d` against direct-loop float64
 * references (`../lax/_conv_ref.ts`: the convolution by definition on
 * explicitly padded arrays; the transposed convolution by scattering each
 * input element times the kernel, PyTorch's definition), PyTorch's padding
 * rules, the transposed convolution as the vjp of `conv2d`, gradients and jvp
 * against central differences in float64, the book's SimpleConvNet shapes,
 * and `jit(valueAndGrad(...))` of a tiny conv net against eager.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  checkGrads,
  grad,
  jit,
  lax,
  matmul,
  nn,
  random,
  reshape,
  ShapeError,
  slice,
  stack,
  sum,
  type Tensor,
  tensor,
  transpose,
  tree,
  valueAndGrad,
  vjp,
  vmap,
} from "../../mod.ts";
import { assertClose, randn } from "../_helpers.ts";
import { assertThrowsMatch } from "../ops/_helpers.ts";
import { convRef, convTransposeRef, type Nd } from "../lax/_conv_ref.ts";

const nd = (t: Tensor): Nd => ({ shape: t.shape, data: Float64Array.from(t.dataSync()) });
const TIGHT = { atol: 1e-12, rtol: 1e-12 };

const CONV_CASES: {
  x: number[];
  w: number[];
  opts: nn.Conv2dOptions;
  pads: [number, number][];
  out: number[];
}[] = [
  { x: [2, 3, 7, 6], w: [4, 3, 3, 3], opts: {}, pads: [[0, 0], [0, 0]], out: [2, 4, 5, 4] },
  {
    x: [2, 3, 7, 6],
    w: [4, 3, 3, 2],
    opts: { stride: [2, 1], padding: [1, 2] },
    pads: [[1, 1], [2, 2]],
    out: [2, 4, 4, 9],
  },
  // "same", even kernel width: total 1 -> [0, 1] (the extra zero at the end, as in PyTorch)
  {
    x: [1, 4, 5, 6],
    w: [2, 4, 3, 2],
    opts: { padding: "same" },
    pads: [[1, 1], [0, 1]],
    out: [1, 2, 5, 6],
  },
  // "same" with dilation 2: total 2·(3 - 1) = 4 -> [2, 2]
  {
    x: [1, 2, 6, 6],
    w: [2, 2, 3, 3],
    opts: { padding: "same", dilation: 2 },
    pads: [[2, 2], [2, 2]],
    out: [1, 2, 6, 6],
  },
  {
    x: [2, 4, 7, 7],
    w: [6, 2, 3, 3],
    opts: { stride: 2, padding: 1, dilation: [1, 2], groups: 2 },
    pads: [[1, 1], [1, 1]],
    out: [2, 6, 4, 3],
  },
];

for (const [i, c] of CONV_CASES.entries()) {
  Deno.test(`conv2d ${JSON.stringify(c.opts)} matches the direct loop, gradients and jvp`, () => {
    const x = randn(i, c.x), w = randn(100 + i, c.w);
    const o = c.opts;
    const pair = (v: number | readonly number[] | undefined) =>
      typeof v === "number" ? [v, v] : v === undefined ? [1, 1] : [...v];
    const y = nn.conv2d(x, w, o);
    assert.deepEqual(y.shape, c.out);
    const want = convRef(nd(x), nd(w), {
      strides: pair(o.stride),
      pads: c.pads,
      rhsDilation: pair(o.dilation),
      groups: o.groups,
    });
    assertClose(y, want.data, TIGHT);
    // NHWC input with HWIO weights: the same numbers, channels last
    const yNhwc = nn.conv2d(transpose(x, [0, 2, 3, 1]), transpose(w, [2, 3, 1, 0]), {
      ...o,
      layout: "NHWC",
    });
    assertClose(yNhwc, transpose(y, [0, 2, 3, 1]).dataSync(), TIGHT);
    checkGrads((a: Tensor, b: Tensor) => nn.conv2d(a, b, o), [x, w]);
  });
}

Deno.test("conv2d: stride, padding, dilation and groups match SciPy's correlate", () => {
  // Computed once with NumPy 2.4.6 / SciPy 1.17.1 (scipy.signal.correlate on the zero-padded
  // channels with the kernel dilated by hand, summed over each group's channels, then strided):
  //   x = (np.arange(100) % 7 - 3).reshape(1, 4, 5, 5); w = (np.arange(72) % 5 - 2).reshape(4, 2, 3, 3)
  //   stride (2, 1), padding (1, 2), dilation (1, 2), groups 2
  //   xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)))
  //   for o in range(4): g = o // 2; k = np.zeros((3, 5)); acc = 0
  //     for ci in range(2): k[::1, ::2] = w[o, ci]; acc += correlate(xp[0, 2 * g + ci], k, "valid")
  //     out.append(acc[::2, ::1])
  const x = tensor(Array.from({ length: 100 }, (_, i) => (i % 7) - 3), { shape: [1, 4, 5, 5] });
  const w = tensor(Array.from({ length: 72 }, (_, i) => (i % 5) - 2), { shape: [4, 2, 3, 3] });
  const y = nn.conv2d(x, w, { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 });
  assert.deepEqual(y.arraySync(), [[
    [[1, -10, -10, -10, -3], [-12, -13, 6, -4, 7], [15, 0, 10, 9, -11]],
    [[-7, -10, 5, 15, 0], [30, 30, 1, -1, -12], [-10, -7, -16, -3, 4]],
    [[15, 9, -13, -7, -11], [-12, -4, -9, 14, 20], [1, 19, 6, -1, -2]],
    [[-10, -3, -4, 1, 19], [-4, 7, 34, -5, -19], [9, -11, -10, -11, -8]],
  ]]);
});

Deno.test("conv2d: an unbatched [C, H, W] input gives [O, H', W']", () => {
  const x = randn(7, [3, 5, 5]), w = randn(8, [2, 3, 3, 3]);
  const y = nn.conv2d(x, w, { padding: 1 });
  assert.deepEqual(y.shape, [2, 5, 5]);
  assertClose(y, nn.conv2d(reshape(x, [1, 3, 5, 5]), w, { padding: 1 }).dataSync(), TIGHT);
});

Deno.test("conv2d: the book's SimpleConvNet layer (4×1×28×28, 30 filters 5×5): values and gradients", () => {
  const x = randn(11, [4, 1, 28, 28]), w = randn(12, [30, 1, 5, 5]);
  const y = nn.conv2d(x, w);
  assert.deepEqual(y.shape, [4, 30, 24, 24]);
  assertClose(y, convRef(nd(x), nd(w)).data, TIGHT);
  checkGrads((a: Tensor, b: Tensor) => nn.conv2d(a, b), [x, w]);
  // float32 (the default dtype) agrees with the float64 reference to float32 precision
  const y32 = nn.conv2d(x.cast("float32"), w.cast("float32"));
  assertClose(y32, convRef(nd(x), nd(w)).data, { atol: 1e-4, rtol: 1e-4 });
});

const TRANSPOSE_CASES: nn.ConvTranspose2dOptions[] = [
  {},
  { stride: 2 },
  { stride: 2, padding: 1, outputPadding: 1 },
  { stride: [3, 2], padding: [2, 0], dilation: [1, 2], outputPadding: [2, 1] },
  // padding larger than dilation·(k − 1): the lowered convolution crops (negative padding)
  { stride: 2, padding: 3 },
  { stride: 2, padding: 1, groups: 2 },
];

for (const [i, o] of TRANSPOSE_CASES.entries()) {
  Deno.test(`convTranspose2d ${JSON.stringify(o)} matches the direct loop, gradients and jvp`, () => {
    const groups = o.groups ?? 1;
    const x = randn(200 + i, [2, 4, 4, 5]), w = randn(300 + i, [4, 3, 3, 3]);
    const pair = (v: number | readonly number[] | undefined, d: number) =>
      typeof v === "number" ? [v, v] : v === undefined ? [d, d] : [...v];
    const y = nn.convTranspose2d(x, w, o);
    const want = convTransposeRef(nd(x), nd(w), {
      stride: pair(o.stride, 1),
      padding: pair(o.padding, 0),
      outputPadding: pair(o.outputPadding, 0),
      dilation: pair(o.dilation, 1),
      groups,
    });
    assert.deepEqual(y.shape, want.shape);
    assert.equal(y.shape[1], 3 * groups);
    assertClose(y, want.data, TIGHT);
    checkGrads((a: Tensor, b: Tensor) => nn.convTranspose2d(a, b, o), [x, w]);
  });
}

Deno.test("convTranspose2d is the vjp of conv2d with respect to its input", () => {
  for (
    const o of [
      { stride: 1, padding: 1 },
      { stride: 2, padding: 1 },
      { stride: 2, padding: 0, dilation: 2 },
      { stride: 3, padding: 2, groups: 2 }, // 9 -> 4 -> 8 + outputPadding 1
    ]
  ) {
    const x = randn(400, [2, 4, 9, 9]), w = randn(401, [6, 4 / (o.groups ?? 1), 3, 3]);
    const [y, pullback] = vjp((a: Tensor) => nn.conv2d(a, w, o), x);
    const g = randn(402, y.shape);
    const [dx] = pullback(g);
    // the rows the strided convolution never reached come back as outputPadding
    const d = o.dilation ?? 1;
    const outputPadding = 9 - ((y.shape[2] - 1) * o.stride - 2 * o.padding + d * 2 + 1);
    assert.equal(outputPadding, o.stride === 3 ? 1 : 0);
    const t = nn.convTranspose2d(g, w, { ...o, outputPadding });
    assert.deepEqual(t.shape, x.shape, JSON.stringify(o));
    assertClose(t, dx.dataSync(), TIGHT);
  }
});

Deno.test("jit(valueAndGrad) of a tiny conv net equals eager", () => {
  type P = { w1: Tensor; b1: Tensor; w2: Tensor; d: Tensor };
  const params: P = {
    w1: randn(500, [4, 2, 3, 3]).mul(0.3),
    b1: randn(501, [4]).mul(0.1),
    w2: randn(502, [6, 2, 3, 3]).mul(0.3),
    d: randn(503, [6 * 3 * 3, 3]).mul(0.3),
  };
  const x = randn(504, [5, 2, 8, 8]);
  const labels = tensor([0, 2, 1, 1, 0], { dtype: "int32" });
  const loss = (p: P, xb: Tensor, t: Tensor) => {
    const h = nn.relu(nn.conv2d(xb, p.w1, { padding: "same" }).add(reshape(p.b1, [1, -1, 1, 1])));
    const h2 = nn.relu(nn.conv2d(h, p.w2, { stride: 2, groups: 2 }));
    const logits = matmul(reshape(h2, [h2.shape[0], -1]), p.d);
    return nn.softmaxCrossEntropy(logits, t);
  };
  for (const dtype of ["float64", "float32"] as const) {
    const p = tree.map((l: Tensor) => l.cast(dtype), params);
    const xb = x.cast(dtype);
    const [v, g] = valueAndGrad(loss)(p, xb, labels);
    const step = jit(valueAndGrad(loss));
    for (let call = 0; call < 2; call++) {
      const [vj, gj] = step(p, xb, labels);
      const tol = dtype === "float64" ? TIGHT : { atol: 1e-5, rtol: 1e-5 };
      assertClose(vj, v.dataSync(), tol);
      for (const k of ["w1", "b1", "w2", "d"] as const) assertClose(gj[k], g[k].dataSync(), tol);
    }
  }
});

Deno.test("conv2d, convTranspose2d: errors name the op, the shapes and the fix", () => {
  const x = randn(600, [1, 4, 6, 6]), w = randn(601, [2, 4, 3, 3]);
  const throws = (fn: () => unknown, re: RegExp) => assertThrowsMatch(fn, ShapeError, re);
  throws(
    () => nn.conv2d(x, w, { padding: "same", stride: 2 }),
    /conv2d\(\): padding "same" needs stride 1/,
  );
  // deno-lint-ignore no-explicit-any
  throws(() => nn.conv2d(x, w, { padding: "full" as any }), /conv2d\(\): padding must be a number/);
  throws(
    // deno-lint-ignore no-explicit-any
    () => nn.conv2d(x, w, { padding: "SAME" as any }),
    /got "SAME" \(PyTorch's lowercase forms here; JAX's "SAME" is lax\.convGeneralDilated's and pooling's\)/,
  );
  // An unknown option's hint shows a valid call.
  assert.throws(
    () => nn.conv2d(x, w, { strides: 2 } as never),
    /e\.g\. \{ stride: 2, padding: 1 \}/,
  );
  throws(() => nn.conv2d(x, w, { padding: -1 }), /conv2d\(\): padding must be an integer ≥ 0/);
  throws(() => nn.conv2d(x, w, { stride: [1, 0] }), /conv2d\(\): stride must be an integer ≥ 1/);
  throws(
    () => nn.conv2d(x, randn(602, [2, 3, 3, 3])),
    /the input \[1,4,6,6\] has 4 features but the kernel \[2,3,3,3\] expects 3/,
  );
  throws(() => nn.conv2d(x, w, { groups: 3 }), /featureGroupCount 3 must divide/);
  throws(
    () => nn.conv2d(x, randn(603, [2, 4, 7, 3])),
    /window \[7,3\].*larger than the padded input/,
  );
  throws(() => nn.conv2d(randn(604, [4, 6]), w), /conv2d\(\): the input must be \[N, C, H, W\]/);
  // deno-lint-ignore no-explicit-any
  throws(() => nn.conv2d(x, w, { layout: "CHWN" as any }), /layout must be "NCHW" or "NHWC"/);
  throws(
    () => nn.convTranspose2d(x, randn(605, [3, 2, 3, 3])),
    /convTranspose2d\(\): the input \[1,4,6,6\] has 4 channels but the weights \[3,2,3,3\] expect 3/,
  );
  throws(
    () => nn.convTranspose2d(x, w.reshape([4, 2, 3, 3]), { stride: 2, outputPadding: 2 }),
    /outputPadding 2 must be smaller than the stride or the dilation/,
  );
  throws(
    () => nn.convTranspose2d(x, w.reshape([4, 2, 3, 3]), { groups: 3 }),
    /groups 3 must be a positive integer dividing the weights' input channels \(4/,
  );
});

Deno.test("conv2d, convTranspose2d, pooling under vmap: the loop over examples, and per-example kernel gradients", () => {
  const xs = randn(41, [3, 2, 2, 7, 7]); // 3 examples of a [2, 2, 7, 7] batch
  const w = randn(42, [4, 1, 3, 3]);
  const row = (t: Tensor, b: number) => reshape(slice(t, [b], [b + 1]), t.shape.slice(1));
  const f = (x: Tensor, k: Tensor) =>
    nn.avgPool2d(
      nn.maxPool2d(nn.conv2d(x, k, { padding: 1, stride: 2, groups: 2 }).tanh(), {
        window: 2,
        stride: 1,
      }),
      { window: 2, padding: 1 },
    );
  const got = vmap(f, { inAxes: [0, null] })(xs, w);
  const want = stack([0, 1, 2].map((b) => f(row(xs, b), w)));
  assertClose(got, want.dataSync(), { atol: 1e-12, rtol: 1e-12 });
  const loss = (k: Tensor, x: Tensor) => sum(f(x, k).square());
  const perExample = vmap(grad(loss), { inAxes: [null, 0] })(w, xs);
  const loop = stack([0, 1, 2].map((b) => grad(loss)(w, row(xs, b))));
  assertClose(perExample, loop.dataSync(), { atol: 1e-12, rtol: 1e-12 });
  const wt = randn(43, [2, 3, 2, 2]);
  const t = (x: Tensor) => nn.convTranspose2d(x, wt, { stride: 2 });
  assertClose(vmap(t)(xs), stack([0, 1, 2].map((b) => t(row(xs, b)))).dataSync(), {
    atol: 1e-12,
    rtol: 1e-12,
  });
});

Deno.test("conv2d and pooling give the same result on every call of a shape with 16 384+ window indices", () => {
  // The cached window indices were handed to the backend, which frees arrays of 64 KiB and more
  // it is given: the second call read an emptied array ("detached ArrayBuffer").
  const x = tensor(Array.from({ length: 64 * 64 }, (_, i) => (i % 7) - 3)).reshape([1, 1, 64, 64]);
  const w = tensor([[[[1, 2, 1], [0, 1, 0], [-1, 0, 1]]]]);
  const first = nn.conv2d(x, w, { padding: 1 }).dataSync().slice();
  const pool = nn.maxPool2d(x, { window: 3, stride: 1, padding: 1 }).dataSync().slice();
  for (let call = 0; call < 2; call++) {
    assert.deepEqual(nn.conv2d(x, w, { padding: 1 }).dataSync(), first);
    assert.deepEqual(nn.maxPool2d(x, { window: 3, stride: 1, padding: 1 }).dataSync(), pool);
  }
});

Deno.test("negative padding that crops a whole axis leaves its padding (zeros), as XLA does", () => {
  const ones = (shape: number[]) =>
    tensor(new Array(shape.reduce((a, b) => a * b, 1)).fill(1)).reshape(shape);
  // 1 - 1 + 1 = 1 element left: the padding.
  assert.deepEqual(
    lax.convGeneralDilated(ones([1, 1, 1]), ones([1, 1, 1]), { padding: [[-1, 1]] }).arraySync(),
    [[[0]]],
  );
  assert.deepEqual(
    lax.convGeneralDilated(ones([1, 1, 2]), ones([1, 1, 1]), { padding: [[-2, 3]] }).arraySync(),
    [[[0, 0, 0]]],
  );
  assertThrowsMatch(
    () => lax.convGeneralDilated(ones([1, 1, 2]), ones([1, 1, 1]), { padding: [[-2, -1]] }),
    ShapeError,
    /padding \[-2,-1\] crops more than all of spatial axis 0 \(size 2, dilation 1: -1 elements left\)/,
  );
  // PyTorch: (2 − 1)·2 − 2·1 + 0 + 1 = 1 row; the transposed conv crops the dilated input whole.
  assert.deepEqual(
    nn.convTranspose2d(ones([1, 1, 2, 2]), ones([1, 1, 1, 1]), { stride: 2, padding: 1 })
      .arraySync(),
    [[[[0]]]],
  );
  assertThrowsMatch(
    () => nn.convTranspose2d(ones([1, 1, 2, 2]), ones([1, 1, 3, 3]), { padding: 3 }),
    ShapeError,
    /^convTranspose2d\(\): the output would have -2 rows on spatial axis 0 /,
  );
});

Deno.test("pooling and reduceWindow of an empty batch give empty results; batchNorm keeps its statistics", () => {
  const empty = tensor([]).reshape([0, 3, 8, 8]);
  assert.deepEqual(nn.maxPool2d(empty, { window: 3, stride: 2 }).shape, [0, 3, 3, 3]);
  assert.deepEqual(nn.avgPool2d(empty, { window: 2, padding: 1 }).shape, [0, 3, 5, 5]);
  assert.deepEqual(lax.reduceWindow(tensor([]).reshape([0, 4]), 0, "sum", [1, 2]).shape, [0, 3]);
  const bn = nn.layers.batchNorm({ axis: [0, 2, 3] });
  const { params, state } = bn.init(random.key(0), [3, 8, 8]);
  const [y, next] = bn.apply(params, state, empty, { training: true });
  assert.deepEqual(y.shape, [0, 3, 8, 8]);
  // It set them to NaN (the mean of nothing), and every later evaluation gave NaN.
  assert.deepEqual(next.mean.dataSync(), state.mean.dataSync());
  assert.deepEqual(next.var.dataSync(), state.var.dataSync());
});
