/**
 * Layers: dense, activation layers, flatten, dropout, batch norm and
 * sequential — shapes, param structure, training vs evaluation mode, keys,
 * gradients (float64 central differences) and purity.
 */

import assert from "node:assert/strict";
import {
  add,
  checkGrads,
  DTypeError,
  matmul,
  mean,
  nn,
  ones,
  random,
  ShapeError,
  sqrt,
  square,
  sub,
  sum,
  type Tensor,
  tensor,
  tree,
  valueAndGrad,
} from "../../mod.ts";
import { assertClose, randn } from "../_helpers.ts";
import { assertTensor, assertThrowsMatch } from "../ops/_helpers.ts";

const { activation, batchNorm, dense, dropout, flatten, relu, sequential } = nn.layers;
const f64 = { dtype: "float64" } as const;

/** All leaves of a pytree as plain arrays, for before/after comparisons. */
function snapshot(t: unknown): number[][] {
  return tree.leaves(t).map((l) => [...(l as Tensor).dataSync()]);
}

// ---------------------------------------------------------------- dense

Deno.test("dense: param structure, shapes, and y = x @ w + b", () => {
  const layer = dense(3);
  assert.equal(layer.name, "dense(3)");
  const { params, state, outputShape } = layer.init(random.key(0), [4]);
  assert.deepEqual(params.w.shape, [4, 3]);
  assert.deepEqual(params.b?.shape, [3]);
  assertTensor(params.b!, [0, 0, 0], "float32");
  assert.equal(state, null);
  assert.deepEqual(outputShape, [3]);
  const x = randn(1, [5, 4]);
  const p64 = { w: randn(2, [4, 3]), b: randn(3, [3]) };
  const [y, s] = layer.apply(p64, null, x);
  assert.equal(s, null);
  assertClose(y, [...add(matmul(x, p64.w), p64.b).dataSync()], { atol: 0 });
});

Deno.test("dense: without bias, custom init, dtype, higher-rank inputs", () => {
  const layer = dense(2, { bias: false, init: "zeros", dtype: "float64" });
  const { params, outputShape } = layer.init(random.key(0), [6, 4]);
  assert.equal(params.b, null);
  assertTensor(params.w, [[0, 0], [0, 0], [0, 0], [0, 0]], "float64");
  assert.deepEqual(outputShape, [6, 2]);
  const [y] = layer.apply(params, null, randn(1, [3, 6, 4]));
  assert.deepEqual(y.shape, [3, 6, 2]);
  // Default init is He: std √(2/fanIn).
  const w = dense(200).init(random.key(1), [400]).params.w;
  const v = w.dataSync();
  const std = Math.sqrt([...v].reduce((a, b) => a + b * b, 0) / v.length);
  assert.ok(Math.abs(std / Math.sqrt(2 / 400) - 1) < 0.03, `std ${std}`);
  // A number is a normal std; biasInit is used.
  const p = dense(3, { init: 0.01, biasInit: "ones" }).init(random.key(2), [2]).params;
  assertTensor(p.b!, [1, 1, 1], "float32");
});

Deno.test("dense: clear errors for wrong inputs and settings", () => {
  const layer = dense(3);
  const { params } = layer.init(random.key(0), [4]);
  assertThrowsMatch(
    () => layer.apply(params, null, ones([2, 5])),
    ShapeError,
    /^dense\(3\)\.apply\(\): expected inputs whose last axis has size 4 \(w is \[4,3\]\), got shape \[2,5\]$/,
  );
  assertThrowsMatch(() => layer.init(random.key(0), []), ShapeError, /at least 1 axis/);
  assertThrowsMatch(() => dense(0), RangeError, /units must be a positive integer, got 0/);
  assertThrowsMatch(
    () => dense(2, { init: "bogus" as nn.InitializerName }),
    TypeError,
    /unknown initializer/,
  );
});

Deno.test("dense: gradients w.r.t. x, w and b match central differences", () => {
  const layer = dense(3);
  checkGrads(
    (x: Tensor, p: nn.DenseParams) => layer.apply(p, null, x)[0],
    [randn(1, [2, 4]), { w: randn(2, [4, 3]), b: randn(3, [3]) }],
    { order: 2 },
  );
});

// ---------------------------------------------------------------- activation layers, flatten

Deno.test("activation layers: no params, shape kept, same values as the functions", () => {
  const x = randn(4, [3, 5]);
  const pairs: Array<[nn.Layer<null, null>, (x: Tensor) => Tensor]> = [
    [nn.layers.relu, nn.relu],
    [nn.layers.sigmoid, nn.sigmoid],
    [nn.layers.tanh, nn.tanh],
    [nn.layers.leakyRelu, (x) => nn.leakyRelu(x)],
    [nn.layers.elu, (x) => nn.elu(x)],
    [nn.layers.gelu, (x) => nn.gelu(x)],
    [nn.layers.softplus, nn.softplus],
    [nn.layers.softmax, (x) => nn.softmax(x)],
    [nn.layers.logSoftmax, (x) => nn.logSoftmax(x)],
  ];
  for (const [layer, f] of pairs) {
    const r = layer.init(random.key(0), [5]);
    assert.deepEqual(r, { params: null, state: null, outputShape: [5] }, layer.name);
    const [y, s] = layer.apply(null, null, x);
    assert.equal(s, null);
    assert.deepEqual([...y.dataSync()], [...f(x).dataSync()], layer.name);
  }
  const custom = activation((x: Tensor) => nn.leakyRelu(x, 0.2), "leaky(0.2)");
  assert.equal(custom.name, "leaky(0.2)");
  assertTensor(custom.apply(null, null, tensor([[-1, 2]], f64))[0], [[-0.2, 2]], "float64");
});

Deno.test("flatten: keeps the batch axis", () => {
  assert.deepEqual(flatten.init(random.key(0), [2, 3, 4]).outputShape, [24]);
  const [y] = flatten.apply(null, null, ones([5, 2, 3, 4]));
  assert.deepEqual(y.shape, [5, 24]);
  assert.deepEqual(flatten.apply(null, null, ones([5]))[0].shape, [5, 1]);
  assertThrowsMatch(() => flatten.apply(null, null, tensor(1)), ShapeError, /needs a batch axis/);
});

// ---------------------------------------------------------------- dropout

Deno.test("dropout: evaluation is the identity, with or without a key", () => {
  const layer = dropout(0.5);
  const x = randn(0, [4, 4]);
  assert.equal(layer.apply(null, null, x)[0], x);
  assert.equal(layer.apply(null, null, x, { training: false, key: random.key(0) })[0], x);
  assert.deepEqual(layer.init(random.key(0), [4]), { params: null, state: null, outputShape: [4] });
});

Deno.test("dropout: training mode without a key is an error that says how to call it", () => {
  for (const rate of [0.5, 0]) {
    assert.throws(
      () => dropout(rate).apply(null, null, ones([2, 2]), { training: true }),
      (e: unknown) =>
        e instanceof Error &&
        e.message ===
          "dropout(): training mode needs a key: apply(params, state, x, {training: true, key})",
    );
  }
  assertThrowsMatch(() => dropout(1), RangeError, /rate must be in \[0, 1\), got 1/);
  assertThrowsMatch(() => dropout(-0.1), RangeError, /rate must be in \[0, 1\)/);
});

Deno.test("dropout: kept fraction ≈ 1 − rate, kept values scaled by 1/(1 − rate), mean preserved", () => {
  const rate = 0.3;
  const n = 100_000;
  const x = ones([100, 1000]);
  const [y] = dropout(rate).apply(null, null, x, { training: true, key: random.key(4) });
  const v = y.dataSync();
  let kept = 0;
  for (const e of v) {
    if (e !== 0) {
      kept++;
      assert.equal(e, Math.fround(1 / (1 - rate)));
    }
  }
  // Binomial standard deviation of the kept fraction: √(0.7·0.3/1e5) ≈ 0.0014.
  assert.ok(Math.abs(kept / n - (1 - rate)) < 0.007, `kept ${kept / n}`);
  assert.ok(Math.abs(mean(y).itemSync() - 1) < 0.01, "inverted scaling preserves the mean");
});

Deno.test("dropout: deterministic for a key, different for another; gradient is the scaled mask", () => {
  const layer = dropout(0.5);
  const x = randn(1, [8, 8]);
  const run = (seed: number) =>
    layer.apply(null, null, x, { training: true, key: random.key(seed) })[0];
  assert.deepEqual([...run(3).dataSync()], [...run(3).dataSync()]);
  assert.notDeepEqual([...run(3).dataSync()], [...run(4).dataSync()]);
  const key = random.key(3);
  const [, g] = valueAndGrad((x: Tensor) =>
    sum(layer.apply(null, null, x, { training: true, key })[0])
  )(x);
  // d/dx of Σ mask·x/(1 − rate): 2 where kept, 0 where dropped.
  const y = run(3).dataSync();
  assert.deepEqual([...g.dataSync()], [...y].map((e) => (e === 0 ? 0 : 2)));
  checkGrads((x: Tensor) => layer.apply(null, null, x, { training: true, key })[0], [x]);
});

// ---------------------------------------------------------------- batch norm

Deno.test("batchNorm: params {gamma, beta}, state {mean, var}, initial values", () => {
  const bn = batchNorm();
  assert.equal(bn.name, "batchNorm");
  const { params, state, outputShape } = bn.init(random.key(0), [3]);
  assertTensor(params.gamma, [1, 1, 1], "float32");
  assertTensor(params.beta, [0, 0, 0], "float32");
  assertTensor(state.mean, [0, 0, 0], "float32");
  assertTensor(state.var, [1, 1, 1], "float32");
  assert.deepEqual(outputShape, [3]);
});

Deno.test("batchNorm: training normalizes per feature and updates the running stats by the formula", () => {
  const bn = batchNorm({ momentum: 0.8, dtype: "float64" });
  const { params, state } = bn.init(random.key(0), [3]);
  const x = random.normal(random.key(1), [256, 3], { mean: 5, std: 2, dtype: "float64" });
  const [y, s] = bn.apply(params, state, x, { training: true });
  assertClose(mean(y, 0), [0, 0, 0], { atol: 1e-12 });
  const varY = mean(square(y), 0);
  // The variance is v/(v + eps) with v ≈ 4: ≈ 1 − 2.5e-6.
  assertClose(varY, [1, 1, 1], { atol: 1e-5 });
  const mu = mean(x, 0);
  const v = mean(square(sub(x, mu)), 0);
  // running = momentum·running + (1 − momentum)·batch, from mean 0 and var 1
  assertClose(s.mean, [...mu.mul(0.2).dataSync()], { atol: 1e-14 });
  assertClose(s.var, [...v.mul(0.2).add(0.8).dataSync()], { atol: 1e-14 });
  // The input state is unchanged.
  assertTensor(state.mean, [0, 0, 0], "float64");
  // gamma and beta scale and shift.
  const [y2] = bn.apply(
    { gamma: tensor([2, 1, 1], f64), beta: tensor([0, 0, 3], f64) },
    state,
    x,
    { training: true },
  );
  assertClose(mean(y2, 0), [0, 0, 3], { atol: 1e-12 });
  assertClose(mean(square(y2), 0).sub(tensor([0, 0, 9], f64)), [4, 1, 1], { atol: 1e-4 });
});

Deno.test("batchNorm: evaluation uses the running stats and returns the state unchanged", () => {
  const bn = batchNorm({ eps: 1e-3, dtype: "float64" });
  const params = { gamma: tensor([2, 0.5], f64), beta: tensor([1, -1], f64) };
  const state = { mean: tensor([1, -2], f64), var: tensor([4, 0.25], f64) };
  const x = tensor([[3, -2], [1, 0]], f64);
  const [y, s] = bn.apply(params, state, x);
  assert.equal(s, state);
  // gamma·(x − mean)/√(var + eps) + beta
  const want = add(
    sub(x, state.mean).div(sqrt(state.var.add(1e-3))).mul(params.gamma),
    params.beta,
  );
  assertClose(y, [...want.dataSync()], { atol: 1e-15 });
  // Several training steps move the running stats toward the data's statistics.
  let st = bn.init(random.key(0), [2]).state;
  const data = random.normal(random.key(2), [512, 2], { mean: 3, std: 0.5, dtype: "float64" });
  for (let i = 0; i < 60; i++) st = bn.apply(params, st, data, { training: true })[1];
  assertClose(st.mean, [...mean(data, 0).dataSync()], { atol: 1e-2 });
});

Deno.test("batchNorm: gradients of the training-mode apply w.r.t. x, gamma and beta (float64)", () => {
  const bn = batchNorm({ dtype: "float64" });
  const { state } = bn.init(random.key(0), [3]);
  const x = randn(5, [6, 3]);
  const params = { gamma: randn(6, [3]), beta: randn(7, [3]) };
  const f = (x: Tensor, p: nn.BatchNormParams) => bn.apply(p, state, x, { training: true })[0];
  checkGrads(f, [x, params], { order: 2 });
  // Evaluation mode too.
  checkGrads((x: Tensor, p: nn.BatchNormParams) => bn.apply(p, state, x)[0], [x, params]);
});

Deno.test("batchNorm: statistics over several axes (per channel of [N, C, L])", () => {
  const bn = batchNorm({ axis: [0, 2], dtype: "float64" });
  const { params, state, outputShape } = bn.init(random.key(0), [2, 5]);
  assert.deepEqual(params.gamma.shape, [2, 1]);
  assert.deepEqual(state.var.shape, [2, 1]);
  assert.deepEqual(outputShape, [2, 5]);
  const x = random.normal(random.key(1), [8, 2, 5], { mean: -3, std: 3, dtype: "float64" });
  const [y, s] = bn.apply(params, state, x, { training: true });
  assertClose(mean(y, [0, 2]), [0, 0], { atol: 1e-12 });
  assert.deepEqual(s.mean.shape, [2, 1]);
  checkGrads(
    (x: Tensor) => bn.apply(params, state, x, { training: true })[0],
    [randn(3, [4, 2, 5])],
  );
  assertThrowsMatch(
    () => batchNorm({ axis: 1 }).init(random.key(0), [3]),
    ShapeError,
    /^batchNorm\.init\(\): axis must include the batch axis 0, got 1$/,
  );
  assertThrowsMatch(
    () => bn.apply(params, state, ones([4, 3, 5], f64)),
    ShapeError,
    /^batchNorm\.apply\(\): expected inputs of shape \[N, 2, any\] .*got \[4,3,5\]$/,
  );
  assertThrowsMatch(() => batchNorm({ momentum: 2 }), RangeError, /momentum must be in \[0, 1\]/);
  // One feature's statistics never spread over five (a size-1 axis that is not reduced).
  const one = batchNorm();
  const s1 = one.init(random.key(0), [1]);
  for (const training of [false, true]) {
    assertThrowsMatch(
      () => one.apply(s1.params, s1.state, ones([2, 5]), { training }),
      ShapeError,
      /^batchNorm\.apply\(\): expected inputs of shape \[N, 1\] \(as init was given\), got \[2,5\]$/,
    );
  }
  assertThrowsMatch(
    () => one.apply(null as never, s1.state, ones([2, 1])),
    TypeError,
    /^batchNorm\.apply\(\): params must be \{gamma, beta\} from init$/,
  );
  assertThrowsMatch(
    () => one.apply(s1.params, null as never, ones([2, 1])),
    TypeError,
    /^batchNorm\.apply\(\): state must be \{mean, var\} from init/,
  );
});

// ---------------------------------------------------------------- sequential

Deno.test("sequential: params and state arrays, shapes, name, per-layer init keys", () => {
  const net = sequential(dense(5), relu, dense(5), batchNorm(), dense(2, { bias: false }));
  assert.equal(net.name, "sequential(dense(5), relu, dense(5), batchNorm, dense(2))");
  const { params, state, outputShape } = net.init(random.key(0), [5]);
  assert.equal(params.length, 5);
  assert.deepEqual(params[0].w.shape, [5, 5]);
  assert.equal(params[1], null);
  assert.deepEqual(params[3].gamma.shape, [5]);
  assert.equal(params[4].b, null);
  assert.deepEqual(state.map((s) => s === null), [true, true, true, false, true]);
  assert.deepEqual(outputShape, [2]);
  // Each layer gets its own key: two identical layers get different weights.
  assert.notDeepEqual([...params[0].w.dataSync()], [...params[2].w.dataSync()]);
  // Deterministic for a key.
  assert.deepEqual(snapshot(net.init(random.key(0), [5]).params), snapshot(params));
  const [y, s] = net.apply(params, state, randn(1, [7, 5]).cast("float32"));
  assert.deepEqual(y.shape, [7, 2]);
  assert.equal(s.length, 5);
  assertThrowsMatch(
    () => net.apply(params.slice(1) as unknown as typeof params, state, ones([7, 5])),
    TypeError,
    /^sequential\.apply\(\): params must be an array with one entry per layer \(5\), got an array of 4$/,
  );
});

Deno.test("sequential: splits ctx.key per layer (two dropouts get different masks)", () => {
  const net = sequential(dropout(0.5), dropout(0.5));
  const x = ones([1, 64]);
  const { params, state } = net.init(random.key(0), [64]);
  const [y] = net.apply(params, state, x, { training: true, key: random.key(1) });
  const v = [...y.dataSync()];
  // With independent masks the result has values 0 and 4 (kept twice, scaled by 2 twice).
  assert.ok(v.every((e) => e === 0 || e === 4));
  const [y1] = dropout(0.5).apply(null, null, x, { training: true, key: random.key(1) });
  assert.notDeepEqual(v.map((e) => e !== 0), [...y1.dataSync()].map((e) => e !== 0));
  // Training without a key reaches the dropout layer's error.
  assert.throws(() => net.apply(params, state, x, { training: true }), /needs a key/);
  // An empty sequential is the identity.
  const id = sequential();
  assert.deepEqual(id.init(random.key(0), [3]), { params: [], state: [], outputShape: [3] });
  assert.equal(id.apply([], [], x)[0], x);
});

Deno.test("sequential: a training step with grad and hasAux returns new batch-norm state", () => {
  const net = sequential(
    dense(4, { dtype: "float64" }),
    batchNorm({ dtype: "float64" }),
    relu,
    dense(2, { dtype: "float64" }),
  );
  const { params, state } = net.init(random.key(0), [3]);
  const x = randn(1, [8, 3]);
  const labels = tensor([0, 1, 1, 0, 1, 0, 0, 1], { dtype: "int32" });
  const loss = (p: typeof params) => {
    const [logits, s] = net.apply(p, state, x, { training: true });
    return [nn.softmaxCrossEntropy(logits, labels), s] as [Tensor, typeof state];
  };
  const [[value, newState], grads] = valueAndGrad(loss, { hasAux: true })(params);
  assert.ok(Number.isFinite(value.itemSync()));
  assert.ok(tree.equalStructure(grads, params));
  assert.notDeepEqual(snapshot(newState), snapshot(state));
  // The new state holds concrete tensors (no tracers leak).
  for (const leaf of tree.leaves(newState)) {
    assert.ok(Number.isFinite((leaf as Tensor).dataSync()[0]));
  }
  checkGrads((p: typeof params) => loss(p)[0], [params]);
});

Deno.test("layers never change their params, state or input", () => {
  const net = sequential(dense(4), batchNorm(), relu, dropout(0.3), dense(2));
  const { params, state } = net.init(random.key(0), [3]);
  const x = random.normal(random.key(1), [5, 3]);
  const before = [snapshot(params), snapshot(state), [...x.dataSync()]];
  const paramsShape = tree.structure(params).toString();
  net.apply(params, state, x, { training: true, key: random.key(2) });
  net.apply(params, state, x);
  assert.deepEqual([snapshot(params), snapshot(state), [...x.dataSync()]], before);
  assert.equal(tree.structure(params).toString(), paramsShape);
});

Deno.test("layers: an input of another float dtype than the params names the layer and the cast", () => {
  const net = nn.mlp({ inputSize: 3, hiddenSizes: [4], outputSize: 2, dtype: "float64" });
  const model = net.init(random.key(0), [3]);
  assertThrowsMatch(
    () => net.apply(model.params, model.state, ones([2, 3])),
    DTypeError,
    /^dense\(4\)\.apply\(\): the input is float32 but the layer's params are float64; cast the input \(cast\(x, "float64"\)\)/,
  );
  const bn = batchNorm({ dtype: "float64" });
  const b = bn.init(random.key(0), [3]);
  assertThrowsMatch(
    () => bn.apply(b.params, b.state, ones([2, 3])),
    DTypeError,
    /^batchNorm\.apply\(\): the input is float32 but the layer's params are float64/,
  );
  const conv = nn.layers.conv2d({ outChannels: 2, kernelSize: 1, dtype: "float64" });
  const c = conv.init(random.key(0), [1, 4, 4]);
  assertThrowsMatch(
    () => conv.apply(c.params, c.state, ones([1, 1, 4, 4])),
    DTypeError,
    /^conv2d\(2, 1×1\)\.apply\(\): the input is float32 but the layer's params are float64/,
  );
});

Deno.test("apply contexts are checked (a misspelt training meant evaluation); sequential takes layers", () => {
  const x = ones([4, 2]);
  const net = sequential(dense(3), batchNorm(), dropout(0.5));
  const { params, state } = net.init(random.key(0), [2]);
  for (
    const [layer, apply] of [["dropout", dropout(0.5).apply], ["sequential", net.apply]] as const
  ) {
    const run = (ctx: unknown) =>
      (apply as (p: unknown, s: unknown, x: Tensor, c: unknown) => unknown)(
        layer === "dropout" ? null : params,
        layer === "dropout" ? null : state,
        x,
        ctx,
      );
    assertThrowsMatch(
      () => run({ trainig: true, key: random.key(1) }),
      TypeError,
      new RegExp(
        `^${layer}\\.apply\\(\\): unknown option "trainig" \\(did you mean "training"\\?\\)`,
      ),
    );
    assertThrowsMatch(
      () => run(true),
      TypeError,
      /expected an options object such as \{ training: true/,
    );
    assertThrowsMatch(
      () => run({ training: "true" }),
      TypeError,
      /option "training" must be true or false/,
    );
  }
  assertThrowsMatch(
    () =>
      batchNorm().apply(
        batchNorm().init(random.key(0), [2]).params,
        null as never,
        x,
        { train: true } as never,
      ),
    TypeError,
    /^batchNorm\.apply\(\): unknown option "train"/,
  );
  // A valid context runs, in both modes.
  assert.deepEqual(net.apply(params, state, x, { training: true, key: random.key(2) })[0].shape, [
    4,
    3,
  ]);
  assert.deepEqual(net.apply(params, state, x)[0].shape, [4, 3]);
  assertThrowsMatch(
    () => sequential([dense(3)] as never),
    TypeError,
    /^sequential\(\): argument 0 is not a layer .* got an array of length 1; pass the layers as arguments, sequential\(a, b\), not an array$/,
  );
  assertThrowsMatch(
    () => sequential(dense(3), nn.relu as never),
    TypeError,
    /^sequential\(\): argument 1 is not a layer .* got the function relu; for an activation use its layer, e\.g\. nn\.layers\.relu$/,
  );
});
