/**
 * Convolution and pooling layers (nn.layers.conv2d, maxPool2d, avgPool2d,
 * globalAvgPool2d): param and output shapes, init statistics, values
 * against a direct float64 loop written here (not the op under test),
 * equality with the functional ops, shape inference through `sequential`,
 * gradients (float64 central differences, both modes), `jit` against
 * eager, errors and purity.
 */

import assert from "node:assert/strict";
import {
  checkGrads,
  jit,
  nn,
  ones,
  random,
  ShapeError,
  type Tensor,
  tensor,
  transpose,
  tree,
  valueAndGrad,
} from "../../mod.ts";
import { assertClose, randn } from "../_helpers.ts";
import { assertThrowsMatch } from "../ops/_helpers.ts";

const { avgPool2d, conv2d, dense, flatten, globalAvgPool2d, maxPool2d, relu, sequential } =
  nn.layers;

/** All leaves of a pytree as plain arrays, for before/after comparisons. */
function snapshot(t: unknown): number[][] {
  return tree.leaves(t).map((l) => [...(l as Tensor).dataSync()]);
}

/**
 * A direct-loop NCHW convolution in float64 (cross-correlation, as PyTorch
 * and the book): weights OIHW, symmetric zero padding, stride, dilation,
 * groups, plus a bias per output channel.
 */
function directConv(
  x: Float64Array,
  [n, c, h, w]: number[],
  k: Float64Array,
  [o, ig, kh, kw]: number[],
  b: Float64Array | null,
  { stride = 1, pad = 0, dil = 1, groups = 1 } = {},
): { data: Float64Array; shape: number[] } {
  const oh = Math.floor((h + 2 * pad - dil * (kh - 1) - 1) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - dil * (kw - 1) - 1) / stride) + 1;
  const out = new Float64Array(n * o * oh * ow);
  const og = o / groups;
  for (let ni = 0; ni < n; ni++) {
    for (let oc = 0; oc < o; oc++) {
      const g = Math.floor(oc / og);
      for (let y = 0; y < oh; y++) {
        for (let xx = 0; xx < ow; xx++) {
          let s = b === null ? 0 : b[oc];
          for (let ic = 0; ic < ig; ic++) {
            const cin = g * ig + ic;
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const yy = y * stride - pad + i * dil, xj = xx * stride - pad + j * dil;
                if (yy < 0 || yy >= h || xj < 0 || xj >= w) continue;
                s += x[((ni * c + cin) * h + yy) * w + xj] * k[((oc * ig + ic) * kh + i) * kw + j];
              }
            }
          }
          out[((ni * o + oc) * oh + y) * ow + xx] = s;
        }
      }
    }
  }
  assert.equal(c, ig * groups);
  return { data: out, shape: [n, o, oh, ow] };
}

// ---------------------------------------------------------------- conv2d

Deno.test("conv2d layer: param shapes, output shapes and the name", () => {
  const cases: Array<[nn.Conv2dLayerOptions, number[], number[], number[]]> = [
    // options, input shape, w shape, output shape
    [{ outChannels: 30, kernelSize: 5 }, [1, 28, 28], [30, 1, 5, 5], [30, 24, 24]],
    [{ outChannels: 8, kernelSize: 3, padding: 1 }, [3, 32, 32], [8, 3, 3, 3], [8, 32, 32]],
    [{ outChannels: 8, kernelSize: 3, padding: "same" }, [3, 7, 9], [8, 3, 3, 3], [8, 7, 9]],
    [{ outChannels: 4, kernelSize: [3, 2], stride: 2 }, [2, 9, 8], [4, 2, 3, 2], [4, 4, 4]],
    [{ outChannels: 4, kernelSize: 3, dilation: 2 }, [2, 9, 9], [4, 2, 3, 3], [4, 5, 5]],
    [{ outChannels: 6, kernelSize: 3, groups: 3 }, [6, 5, 5], [6, 2, 3, 3], [6, 3, 3]],
    [{ outChannels: 6, kernelSize: 3, layout: "NHWC" }, [5, 5, 2], [3, 3, 2, 6], [3, 3, 6]],
    [
      { outChannels: 4, kernelSize: 3, stride: [2, 1], padding: [1, 0], layout: "NHWC" },
      [8, 8, 3],
      [3, 3, 3, 4],
      [4, 6, 4],
    ],
  ];
  for (const [opts, inShape, wShape, outShape] of cases) {
    const layer = conv2d(opts);
    const { params, state, outputShape } = layer.init(random.key(0), inShape);
    const what = JSON.stringify(opts);
    assert.deepEqual([...params.w.shape], wShape, what);
    assert.deepEqual([...params.b!.shape], [opts.outChannels], what);
    assert.equal(state, null);
    assert.deepEqual(outputShape, outShape, what);
    const x = random.normal(random.key(1), [2, ...inShape]);
    const [y] = layer.apply(params, state, x);
    assert.deepEqual([...y.shape], [2, ...outShape], `apply: ${what}`);
  }
  assert.equal(conv2d({ outChannels: 30, kernelSize: 5 }).name, "conv2d(30, 5×5)");
  const noBias = conv2d({ outChannels: 2, kernelSize: 1, bias: false }).init(random.key(0), [
    1,
    2,
    2,
  ]);
  assert.equal(noBias.params.b, null);
});

Deno.test("conv2d layer: values equal a direct float64 loop (stride, padding, dilation, groups)", () => {
  const settings = [
    { stride: 1, pad: 0, dil: 1, groups: 1 },
    { stride: 2, pad: 1, dil: 1, groups: 1 },
    { stride: 1, pad: 2, dil: 2, groups: 2 },
    { stride: 2, pad: 0, dil: 1, groups: 4 },
  ];
  for (const s of settings) {
    const layer = conv2d({
      outChannels: 4,
      kernelSize: [3, 2],
      stride: s.stride,
      padding: s.pad,
      dilation: s.dil,
      groups: s.groups,
      biasInit: 0.5, // a random bias, so that it is checked too
      dtype: "float64",
    });
    const { params, outputShape } = layer.init(random.key(3), [4, 7, 6]);
    const x = randn(4, [2, 4, 7, 6]);
    const [y] = layer.apply(params, null, x);
    const want = directConv(
      x.dataSync() as Float64Array,
      [2, 4, 7, 6],
      params.w.dataSync() as Float64Array,
      [...params.w.shape],
      params.b!.dataSync() as Float64Array,
      s,
    );
    assert.deepEqual([...y.shape], want.shape, JSON.stringify(s));
    assert.deepEqual(outputShape, want.shape.slice(1), JSON.stringify(s));
    assertClose(y, want.data, { atol: 1e-12, rtol: 1e-12 });
  }
});

Deno.test("conv2d layer: a closed form: ones through ones filters give C·kH·kW + b", () => {
  const layer = conv2d({ outChannels: 2, kernelSize: 2, init: nn.init.ones });
  const { params } = layer.init(random.key(0), [3, 3, 3]);
  const [y] = layer.apply({ w: params.w, b: tensor([0.5, -1]) }, null, ones([1, 3, 3, 3]));
  assert.deepEqual(y.arraySync(), [[[[12.5, 12.5], [12.5, 12.5]], [[11, 11], [11, 11]]]]);
});

Deno.test("conv2d layer: equals nn.conv2d plus the bias; NHWC is NCHW transposed", () => {
  const opts = { outChannels: 6, kernelSize: 3, stride: 2, padding: 1, groups: 2 } as const;
  const nchw = conv2d({ ...opts, biasInit: 1, dtype: "float64" });
  const nhwc = conv2d({ ...opts, biasInit: 1, dtype: "float64", layout: "NHWC" });
  const a = nchw.init(random.key(5), [4, 9, 8]);
  const b = nhwc.init(random.key(5), [9, 8, 4]);
  // Same key, same numbers: the HWIO weights are the OIHW ones transposed.
  assert.deepEqual(b.params.w.dataSync(), transpose(a.params.w, [2, 3, 1, 0]).dataSync());
  assert.deepEqual(b.params.b!.dataSync(), a.params.b!.dataSync());
  const x = randn(6, [3, 4, 9, 8]);
  const [y] = nchw.apply(a.params, null, x);
  const fn = nn.conv2d(x, a.params.w, { stride: 2, padding: 1, groups: 2 })
    .add(a.params.b!.reshape([6, 1, 1]));
  assert.deepEqual(y.dataSync(), fn.dataSync());
  const [yt] = nhwc.apply(b.params, null, transpose(x, [0, 2, 3, 1]));
  assertClose(transpose(yt, [0, 3, 1, 2]), y.dataSync(), { atol: 1e-12, rtol: 1e-12 });
});

Deno.test("conv2d layer: init statistics (He by default, std √(2/fanIn); a number is a std)", () => {
  const stats = (t: Tensor) => {
    const d = [...t.dataSync()] as number[];
    const mean = d.reduce((a, v) => a + v, 0) / d.length;
    const std = Math.sqrt(d.reduce((a, v) => a + (v - mean) ** 2, 0) / d.length);
    return { mean, std };
  };
  // fanIn = 16/2 · 5 · 5 = 200 → std 0.1; 64·8·25 = 12 800 samples: the std is within ~1%.
  const he = conv2d({ outChannels: 64, kernelSize: 5, groups: 2 }).init(random.key(7), [16, 9, 9]);
  const s = stats(he.params.w);
  assert.ok(Math.abs(s.std - 0.1) < 0.004, `std ${s.std}`);
  assert.ok(Math.abs(s.mean) < 0.003, `mean ${s.mean}`);
  assert.ok(he.params.b!.dataSync().every((v) => v === 0));
  const book = conv2d({ outChannels: 64, kernelSize: 5, init: 0.01, layout: "NHWC" })
    .init(random.key(8), [9, 9, 8]);
  assert.ok(Math.abs(stats(book.params.w).std - 0.01) < 0.0004);
  // Same key → same numbers; another key → others.
  const again = conv2d({ outChannels: 64, kernelSize: 5, groups: 2 }).init(random.key(7), [
    16,
    9,
    9,
  ]);
  assert.deepEqual(again.params.w.dataSync(), he.params.w.dataSync());
  const other = conv2d({ outChannels: 64, kernelSize: 5, groups: 2 }).init(random.key(9), [
    16,
    9,
    9,
  ]);
  assert.notDeepEqual(other.params.w.dataSync(), he.params.w.dataSync());
});

Deno.test("conv2d layer: errors name the layer, the shapes and the fix", () => {
  // avgPool2d's countIncludePad given to maxPool2d: refused when the layer is made, not at init.
  assertThrowsMatch(
    () => maxPool2d({ window: 2, countIncludePad: false } as never),
    TypeError,
    /^maxPool2d\(\): unknown option "countIncludePad"/,
  );
  assertThrowsMatch(
    () => conv2d({ outChannels: 0, kernelSize: 3 }),
    RangeError,
    /conv2d\(\): outChannels must be a positive integer, got 0/,
  );
  assertThrowsMatch(
    () => conv2d({ outChannels: 2, kernelSize: [3, 0] }),
    RangeError,
    /kernelSize must be a positive integer or a pair \[kH, kW\] of them, got \[3,0\]/,
  );
  assertThrowsMatch(
    () => conv2d({ outChannels: 3, kernelSize: 3, groups: 2 }),
    RangeError,
    /outChannels 3 must be divisible by groups 2/,
  );
  const layer = conv2d({ outChannels: 4, kernelSize: 5 });
  assertThrowsMatch(
    () => layer.init(random.key(0), [784]),
    ShapeError,
    /conv2d\(4, 5×5\)\.init\(\): inputShape must be \[C, H, W\].*got \[784\]/,
  );
  assertThrowsMatch(
    () => conv2d({ outChannels: 4, kernelSize: 3, groups: 2 }).init(random.key(0), [3, 8, 8]),
    ShapeError,
    /the input's 3 channels .* not divisible by groups 2/,
  );
  // The op's own error, raised at init, before any training.
  assertThrowsMatch(
    () => layer.init(random.key(0), [1, 4, 4]),
    ShapeError,
    /conv2d\(4, 5×5\)\.init\(\): for inputShape \[1,4,4\].*larger than the padded input/,
  );
  assertThrowsMatch(
    () =>
      conv2d({ outChannels: 4, kernelSize: 3, stride: 2, padding: "same" }).init(random.key(0), [
        1,
        8,
        8,
      ]),
    ShapeError,
    /padding "same" needs stride 1/,
  );
  const { params } = layer.init(random.key(0), [1, 8, 8]);
  assertThrowsMatch(
    () => layer.apply(params, null, ones([1, 8, 8])),
    ShapeError,
    /expected a batch of images \[N, C, H, W\], got \[1,8,8\]/,
  );
  assertThrowsMatch(
    () => layer.apply(params, null, ones([2, 3, 8, 8])),
    ShapeError,
    /conv2d\(4, 5×5\)\.apply\(\): the input \[2,3,8,8\] has 3 channels but the layer takes 1/,
  );
  assertThrowsMatch(
    () => layer.apply({ w: params.w } as nn.Conv2dParams, null, ones([2, 1, 8, 8])),
    TypeError,
    /params must be \{w, b\} from init/,
  );
});

// ---------------------------------------------------------------- pooling

Deno.test("pooling layers: output shapes, no params, the functional ops' values", () => {
  const x = randn(10, [2, 3, 9, 8]);
  const cases: Array<[nn.Layer<null, null>, (x: Tensor) => Tensor, number[]]> = [
    [maxPool2d({ window: 2 }), (x) => nn.maxPool2d(x, { window: 2 }), [3, 4, 4]],
    [
      maxPool2d({ window: 3, stride: 2, padding: 1 }),
      (x) => nn.maxPool2d(x, { window: 3, stride: 2, padding: 1 }),
      [3, 5, 4],
    ],
    [
      avgPool2d({ window: [3, 2], padding: "SAME" }),
      (x) => nn.avgPool2d(x, { window: [3, 2], padding: "SAME" }),
      [3, 3, 4],
    ],
    [
      avgPool2d({ window: 2, stride: 1, padding: 1, countIncludePad: false }),
      (x) => nn.avgPool2d(x, { window: 2, stride: 1, padding: 1, countIncludePad: false }),
      [3, 10, 9],
    ],
    [globalAvgPool2d(), (x) => nn.globalAvgPool2d(x), [3]],
    [globalAvgPool2d({ keepdims: true }), (x) => nn.globalAvgPool2d(x, { keepdims: true }), [
      3,
      1,
      1,
    ]],
  ];
  for (const [layer, f, outShape] of cases) {
    const r = layer.init(random.key(0), [3, 9, 8]);
    assert.deepEqual(r, { params: null, state: null, outputShape: outShape }, layer.name);
    const [y, s] = layer.apply(null, null, x);
    assert.equal(s, null);
    assert.deepEqual([...y.shape], [2, ...outShape], layer.name);
    assert.deepEqual(y.dataSync(), f(x).dataSync(), layer.name);
  }
  // A closed form: 2×2 max pooling of 0..15 keeps the bottom-right of each block.
  const [y] = maxPool2d({ window: 2 }).apply(
    null,
    null,
    tensor([...Array(16).keys()]).reshape([1, 1, 4, 4]),
  );
  assert.deepEqual(y.arraySync(), [[[[5, 7], [13, 15]]]]);
  // NHWC
  const nhwc = maxPool2d({ window: 2, layout: "NHWC" });
  assert.deepEqual(nhwc.init(random.key(0), [9, 8, 3]).outputShape, [4, 4, 3]);
  const [yt] = nhwc.apply(null, null, transpose(x, [0, 2, 3, 1]));
  assert.deepEqual(
    transpose(yt, [0, 3, 1, 2]).dataSync(),
    nn.maxPool2d(x, { window: 2 }).dataSync(),
  );
  assert.deepEqual(
    globalAvgPool2d({ layout: "NHWC" }).init(random.key(0), [9, 8, 3]).outputShape,
    [3],
  );
  assert.equal(maxPool2d({ window: 2 }).name, "maxPool2d(2)");
});

Deno.test("pooling layers: errors", () => {
  assertThrowsMatch(
    () => maxPool2d(undefined as unknown as nn.Pool2dOptions),
    TypeError,
    /maxPool2d\(\): needs options with a window, e.g. \{ window: 2 \}/,
  );
  assertThrowsMatch(
    () => maxPool2d({ window: 5 }).init(random.key(0), [1, 4, 4]),
    ShapeError,
    /maxPool2d\(5\)\.init\(\): for inputShape \[1,4,4\].*larger than the padded input/,
  );
  assertThrowsMatch(
    () => avgPool2d({ window: 2 }).init(random.key(0), [100]),
    ShapeError,
    /avgPool2d\(2\)\.init\(\): inputShape must be \[C, H, W\]/,
  );
  assertThrowsMatch(
    () => globalAvgPool2d().apply(null, null, ones([3, 4])),
    ShapeError,
    /globalAvgPool2d\.apply\(\): expected a batch of images \[N, C, H, W\], got \[3,4\]/,
  );
});

// ---------------------------------------------------------------- in sequential

/** The book's SimpleConvNet on [1, 28, 28]. */
const simpleConvNet = () =>
  sequential(
    conv2d({ outChannels: 30, kernelSize: 5, init: 0.01 }),
    relu,
    maxPool2d({ window: 2 }),
    flatten,
    dense(100, { init: 0.01 }),
    relu,
    dense(10, { init: 0.01 }),
  );

Deno.test("sequential: shapes flow through conv, pool, flatten and dense (the book's SimpleConvNet)", () => {
  const net = simpleConvNet();
  const { params, state, outputShape } = net.init(random.key(0), [1, 28, 28]);
  assert.deepEqual(outputShape, [10]);
  assert.deepEqual([...params[0].w.shape], [30, 1, 5, 5]);
  assert.deepEqual([...params[4].w.shape], [30 * 12 * 12, 100]);
  assert.deepEqual([...params[6].w.shape], [100, 10]);
  assert.deepEqual(state, [null, null, null, null, null, null, null]);
  const [logits] = net.apply(params, state, random.uniform(random.key(1), [3, 1, 28, 28]));
  assert.deepEqual([...logits.shape], [3, 10]);
  // The flattening order is NCHW's (the book's x.reshape(N, -1)).
  const convOut = nn.maxPool2d(
    nn.relu(
      nn.conv2d(ones([1, 1, 28, 28]), params[0].w).add(params[0].b!.reshape([30, 1, 1])),
    ),
    { window: 2 },
  );
  const head = sequential(
    conv2d({ outChannels: 30, kernelSize: 5 }),
    relu,
    maxPool2d({ window: 2 }),
    flatten,
  );
  const [flat] = head.apply(
    [params[0], null, null, null],
    [null, null, null, null],
    ones([1, 1, 28, 28]),
  );
  assert.deepEqual(flat.dataSync(), convOut.reshape([1, 4320]).dataSync());
  // globalAvgPool2d feeds dense without flatten.
  const gap = sequential(
    conv2d({ outChannels: 8, kernelSize: 3 }),
    relu,
    globalAvgPool2d(),
    dense(5),
  );
  const r = gap.init(random.key(2), [3, 10, 10]);
  assert.deepEqual([...r.params[3].w.shape], [8, 5]);
  assert.deepEqual(r.outputShape, [5]);
});

/** A small CNN in float64 for gradient checks. */
function smallCnn(layout: "NCHW" | "NHWC") {
  return sequential(
    conv2d({ outChannels: 4, kernelSize: 3, padding: 1, layout, dtype: "float64", biasInit: 0.1 }),
    relu,
    maxPool2d({ window: 2, layout }),
    conv2d({ outChannels: 4, kernelSize: 2, stride: 1, groups: 2, layout, dtype: "float64" }),
    avgPool2d({ window: 2, layout }),
    flatten,
    dense(3, { dtype: "float64" }),
  );
}

Deno.test("sequential CNN: gradients w.r.t. every param and the input match central differences", () => {
  for (const layout of ["NCHW", "NHWC"] as const) {
    const net = smallCnn(layout);
    const inShape = layout === "NCHW" ? [2, 6, 6] : [6, 6, 2];
    const { params, state } = net.init(random.key(11), inShape);
    const x = randn(12, [2, ...inShape]);
    checkGrads(
      (p: typeof params, x: Tensor) => net.apply(p, state, x)[0],
      [params, x],
      { order: 1 },
    );
  }
});

Deno.test("sequential CNN: jit(valueAndGrad) equals eager; nothing is mutated", async () => {
  const net = simpleConvNet();
  const { params, state } = net.init(random.key(0), [1, 28, 28]);
  type P = typeof params;
  const x = random.uniform(random.key(1), [4, 1, 28, 28]);
  const y = tensor([1, 7, 3, 0], { dtype: "int32" });
  const loss = (p: P, x: Tensor, y: Tensor) => nn.softmaxCrossEntropy(net.apply(p, state, x)[0], y);
  const before = snapshot([params, x]);
  const [l, g] = valueAndGrad(loss)(params, x, y);
  const [lj, gj] = jit(valueAndGrad(loss))(params, x, y);
  assertClose(lj, await l.data(), { atol: 1e-6, rtol: 1e-6 });
  const [a, b] = [tree.leaves(g) as Tensor[], tree.leaves(gj) as Tensor[]];
  assert.equal(a.length, b.length);
  a.forEach((t, i) => assertClose(b[i], t.dataSync(), { atol: 1e-6, rtol: 1e-4 }));
  assert.deepEqual(snapshot([params, x]), before);
  // Every param got a gradient of its own shape, not all zero.
  a.forEach((t, i) => {
    assert.deepEqual([...t.shape], [...(tree.leaves(params)[i] as Tensor).shape]);
    assert.ok(t.dataSync().some((v) => v !== 0), `gradient ${i} is all zero`);
  });
});

Deno.test("conv layers: init and apply leave the options and inputs alone", () => {
  const opts = {
    outChannels: 2,
    kernelSize: [3, 3] as [number, number],
    padding: [1, 1] as [number, number],
  };
  const copy = JSON.stringify(opts);
  const layer = conv2d(opts);
  const shape = [1, 5, 5];
  const { params } = layer.init(random.key(0), shape);
  const x = random.normal(random.key(1), [1, 1, 5, 5]);
  const before = snapshot([params, x]);
  layer.apply(params, null, x);
  maxPool2d({ window: 2 }).apply(null, null, x);
  assert.equal(JSON.stringify(opts), copy);
  assert.deepEqual(shape, [1, 5, 5]);
  assert.deepEqual(snapshot([params, x]), before);
});

Deno.test("conv layers: init works under jit and gives the eager params", () => {
  const net = sequential(
    conv2d({ outChannels: 4, kernelSize: 3, padding: "same" }),
    relu,
    maxPool2d({ window: 2 }),
    flatten,
    dense(3),
  );
  const eager = net.init(random.key(0), [2, 8, 8]);
  const traced = jit((key: Tensor) => net.init(key, [2, 8, 8]).params)(random.key(0));
  assert.deepEqual(snapshot(traced), snapshot(eager.params));
  assert.deepEqual(eager.outputShape, [3]);
});
