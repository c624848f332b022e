/**
 * `mlp` (the book's MultiLayerNet / MultiLayerNetExtend) and the plain
 * functional style: a TwoLayerNet as a params object trained with `grad`
 * and a hand-written SGD loop.
 */

import assert from "node:assert/strict";
import {
  add,
  argmax,
  cast,
  concat,
  equal,
  grad,
  matmul,
  mean,
  nn,
  numericalGradient,
  random,
  type Tensor,
  tensor,
  tree,
  valueAndGrad,
} from "../../mod.ts";
import { assertClose } from "../_helpers.ts";
import { assertThrowsMatch } from "../ops/_helpers.ts";

/** Sample standard deviation around 0 (host read; tests only). */
function rms(t: Tensor): number {
  const v = t.dataSync();
  let q = 0;
  for (const x of v) q += x * x;
  return Math.sqrt(q / v.length);
}

/** Two Gaussian blobs in 2-D: class 0 around (−1.5, −1.5), class 1 around (1.5, 1.5). */
function blobs(n: number, dtype: "float32" | "float64" = "float32"): [Tensor, Tensor] {
  const [k0, k1] = random.split(random.key(42));
  const x0 = random.normal(k0, [n, 2], { mean: -1.5, dtype });
  const x1 = random.normal(k1, [n, 2], { mean: 1.5, dtype });
  const labels = concat([tensor(new Int32Array(n)), tensor(new Int32Array(n).fill(1))]);
  return [concat([x0, x1]), labels];
}

function accuracy(probsOrLogits: Tensor, labels: Tensor): number {
  return mean(cast(equal(argmax(probsOrLogits, -1), labels), "float32")).itemSync();
}

// ---------------------------------------------------------------- mlp

Deno.test("mlp: the book's MultiLayerNet(784, [100, 100], 10) param structure and forward shape", () => {
  const net = nn.mlp({ inputSize: 784, hiddenSizes: [100, 100], outputSize: 10 });
  assert.equal(net.name, "mlp(784-100-100-10)");
  const { params, state, outputShape } = net.init(random.key(0), [784]);
  assert.equal(params.length, 5); // dense, relu, dense, relu, dense
  const shapes = params.map((p) =>
    p === null ? null : "w" in p ? [p.w.shape, p.b?.shape] : "batchNorm"
  );
  assert.deepEqual(shapes, [
    [[784, 100], [100]],
    null,
    [[100, 100], [100]],
    null,
    [[100, 10], [10]],
  ]);
  assert.deepEqual(state, [null, null, null, null, null]);
  assert.deepEqual(outputShape, [10]);
  const [logits] = net.apply(params, state, random.normal(random.key(1), [16, 784]));
  assert.deepEqual(logits.shape, [16, 10]);
  // relu → He: std √(2/784) for the first weight, √(2/100) for the second.
  const w0 = params[0].w;
  const w2 = params[2].w;
  assert.ok(Math.abs(rms(w0) / Math.sqrt(2 / 784) - 1) < 0.03, `std ${rms(w0)}`);
  assert.ok(Math.abs(rms(w2) / Math.sqrt(2 / 100) - 1) < 0.03, `std ${rms(w2)}`);
});

Deno.test("mlp: params and state are typed per layer, so the obvious access needs no cast", () => {
  // These lines are checked by `deno check`: each access has the type on its left.
  const net = nn.mlp({ inputSize: 4, hiddenSizes: [8, 6], outputSize: 3 });
  const { params, state } = net.init(random.key(0), [4]);
  const layout: [nn.MlpDenseParams, null, nn.MlpDenseParams, null, nn.MlpDenseParams] = params;
  const w0: Tensor = params[0].w;
  const b2: Tensor = params[2].b; // mlp's dense layers always have a bias
  const b4: Tensor = params[4].b;
  // @ts-expect-error: params[1] is the ReLU, which has no params.
  assert.throws(() => params[1].b, TypeError);
  const noState: null[] = state;
  assert.deepEqual([w0.shape, b2.shape, b4.shape], [[4, 8], [6], [3]]);
  assert.equal(layout.length, 5);
  assert.equal(noState.length, 5);

  // With batch norm and dropout: dense, batchNorm, relu, dropout, …, dense.
  const ext = nn.mlp({
    inputSize: 4,
    hiddenSizes: [8],
    outputSize: 3,
    batchNorm: true,
    dropout: 0.5,
  });
  const e = ext.init(random.key(0), [4]);
  const gamma: Tensor = e.params[1].gamma;
  const beta: Tensor = e.params[1].beta;
  const runningMean: Tensor = e.state[1].mean;
  const runningVar: Tensor = e.state[1].var;
  const last: nn.MlpDenseParams = e.params[4];
  assert.deepEqual([gamma.shape, beta.shape, runningMean.shape, runningVar.shape], [[8], [8], [8], [
    8,
  ]]);
  assert.deepEqual(last.w.shape, [8, 3]);
  const [, s2] = ext.apply(e.params, e.state, random.normal(random.key(1), [5, 4]), {
    training: true,
    key: random.key(2),
  });
  const updatedMean: Tensor = s2[1].mean;
  assert.deepEqual(updatedMean.shape, [8]);

  // When the layout is not known from the types (sizes from a variable), the first
  // entry is still the first dense layer.
  const sizes: number[] = [8, 8];
  const loose = nn.mlp({ inputSize: 4, hiddenSizes: sizes, outputSize: 3 }).init(random.key(0), [
    4,
  ]);
  const firstW: Tensor = loose.params[0].w;
  assert.deepEqual(firstW.shape, [4, 8]);
  // the precise types still fit the general ones
  const general: nn.MlpParams = params;
  assert.equal(general.length, 5);
});

Deno.test("mlp: init follows the activation like the book (sigmoid → Xavier) unless given", () => {
  const sig = nn.mlp({ inputSize: 400, hiddenSizes: [300], outputSize: 10, activation: "sigmoid" });
  const w = sig.init(random.key(0), [400]).params[0].w;
  assert.ok(Math.abs(rms(w) * Math.sqrt(400) - 1) < 0.03, `std ${rms(w)}`);
  const small = nn.mlp({ inputSize: 400, hiddenSizes: [300], outputSize: 10, init: 0.01 });
  const w2 = small.init(random.key(0), [400]).params[0].w;
  assert.ok(Math.abs(rms(w2) / 0.01 - 1) < 0.03, `std ${rms(w2)}`);
});

Deno.test("mlp: batchNorm and dropout give the MultiLayerNetExtend structure", () => {
  const net = nn.mlp({
    inputSize: 6,
    hiddenSizes: [5, 4],
    outputSize: 3,
    batchNorm: true,
    dropout: 0.2,
    activation: "tanh",
  });
  const { params, state } = net.init(random.key(0), [6]);
  // dense, batchNorm, tanh, dropout, dense, batchNorm, tanh, dropout, dense
  assert.deepEqual(
    params.map((p) => (p === null ? "-" : "w" in p ? `w${p.w.shape}` : `bn${p.gamma.shape}`)),
    ["w6,5", "bn5", "-", "-", "w5,4", "bn4", "-", "-", "w4,3"],
  );
  assert.deepEqual(state.map((s) => (s === null ? "-" : `${s.mean.shape}`)), [
    "-",
    "5",
    "-",
    "-",
    "-",
    "4",
    "-",
    "-",
    "-",
  ]);
  const x = random.normal(random.key(1), [10, 6]);
  assert.throws(() => net.apply(params, state, x, { training: true }), /needs a key/);
  const [y, s] = net.apply(params, state, x, { training: true, key: random.key(2) });
  assert.deepEqual(y.shape, [10, 3]);
  assert.notDeepEqual([...s[1]!.mean.dataSync()], [...state[1]!.mean.dataSync()]);
  // Evaluation needs no key and keeps the state.
  const [, s2] = net.apply(params, state, x);
  assert.equal(s2[1], state[1]);
});

Deno.test("mlp: clear errors for bad settings and a wrong input shape", () => {
  const base = { inputSize: 4, hiddenSizes: [3], outputSize: 2 };
  assertThrowsMatch(
    () => nn.mlp(base).init(random.key(0), [5]),
    RangeError,
    /^mlp\(4-3-2\)\.init\(\): inputShape must be \[4\] \(inputSize\), got \[5\]$/,
  );
  assertThrowsMatch(
    () => nn.mlp({ ...base, activation: "swish" as nn.ActivationName }),
    TypeError,
    /^nn\.mlp\(\): unknown activation "swish"; use one of relu, sigmoid, tanh/,
  );
  assertThrowsMatch(() => nn.mlp({ ...base, hiddenSizes: [0] }), RangeError, /hiddenSizes/);
  assertThrowsMatch(() => nn.mlp({ ...base, dropout: 1 }), RangeError, /dropout must be a rate/);
  assertThrowsMatch(() => nn.mlp({ ...base, outputSize: 0 }), RangeError, /outputSize/);
});

Deno.test("mlp: trains on two blobs with softmaxCrossEntropy + l2Penalty and plain SGD", () => {
  const [x, labels] = blobs(50);
  const net = nn.mlp({
    inputSize: 2,
    hiddenSizes: [16],
    outputSize: 2,
    batchNorm: true,
    dropout: 0.1,
  });
  let { params, state } = net.init(random.key(0), [2]);
  type P = typeof params;
  type S = typeof state;
  const lossFn = (p: P, s: S, key: Tensor): [Tensor, S] => {
    const [logits, s2] = net.apply(p, s, x, { training: true, key });
    const decay = nn.l2Penalty(p, { filter: (path) => path.endsWith(".w") });
    return [add(nn.softmaxCrossEntropy(logits, labels), decay.mul(1e-4)), s2];
  };
  const losses: number[] = [];
  let key = random.key(1);
  for (let i = 0; i < 40; i++) {
    const [k, sub] = random.split(key);
    key = k;
    const [[loss, s2], g] = valueAndGrad(lossFn, { hasAux: true })(params, state, sub);
    params = tree.map((p: Tensor, d: Tensor) => p.sub(d.mul(0.3)), params, g);
    state = s2;
    losses.push(loss.itemSync());
  }
  assert.ok(losses[39] < 0.5 * losses[0], `loss ${losses[0]} → ${losses[39]}`);
  const [logits] = net.apply(params, state, x); // evaluation: running stats, no dropout
  assert.ok(accuracy(logits, labels) > 0.95);
});

// ---------------------------------------------------------------- the plain functional style

type TwoLayerParams = { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor };

/** The book's TwoLayerNet.predict: Affine → Sigmoid → Affine → Softmax. */
function predict(params: TwoLayerParams, x: Tensor): Tensor {
  const a1 = add(matmul(x, params.W1), params.b1);
  const z1 = nn.sigmoid(a1);
  const a2 = add(matmul(z1, params.W2), params.b2);
  return nn.softmax(a2);
}

/** The book's TwoLayerNet.loss: cross entropy of the predictions. */
function loss(params: TwoLayerParams, x: Tensor, t: Tensor): Tensor {
  return nn.crossEntropy(predict(params, x), t);
}

function initTwoLayer(
  inputSize: number,
  hiddenSize: number,
  outputSize: number,
  dtype: "float32" | "float64" = "float32",
): TwoLayerParams {
  const [k1, k2] = random.split(random.key(0));
  const std = nn.init.normal(0.01); // the book's weight_init_std
  return {
    W1: std(k1, [inputSize, hiddenSize], dtype),
    b1: nn.init.zeros(k1, [hiddenSize], dtype),
    W2: std(k2, [hiddenSize, outputSize], dtype),
    b2: nn.init.zeros(k2, [outputSize], dtype),
  };
}

Deno.test("TwoLayerNet as {W1, b1, W2, b2}: grad + tree.map SGD brings the loss down", () => {
  const [x, labels] = blobs(50);
  let params = initTwoLayer(2, 10, 2);
  const lossGrad = valueAndGrad(loss);
  const history: number[] = [];
  for (let step = 0; step < 100; step++) {
    const [value, grads] = lossGrad(params, x, labels);
    params = tree.map((p: Tensor, g: Tensor) => p.sub(g.mul(1)), params, grads);
    history.push(value.itemSync());
  }
  // From ln 2 (uniform predictions of tiny weights) to well below.
  assertClose(history[0], Math.LN2, { atol: 1e-3 });
  for (let i = 10; i < history.length; i += 10) {
    assert.ok(history[i] < history[i - 10], `loss went up: ${history[i - 10]} → ${history[i]}`);
  }
  assert.ok(history[99] < 0.1, `final loss ${history[99]}`);
  assert.ok(accuracy(predict(params, x), labels) > 0.95);
});

Deno.test("TwoLayerNet: backprop gradient equals the book's numerical gradient (gradient check)", () => {
  const [x, labels] = blobs(5, "float64");
  const params = tree.map(
    (p: Tensor) => p.mul(50), // larger weights, so that every gradient is well away from 0
    initTwoLayer(2, 4, 2, "float64"),
  );
  const g = grad(loss)(params, x, labels);
  for (const name of ["W1", "b1", "W2", "b2"] as const) {
    const numeric = numericalGradient(
      (w: Tensor) => loss({ ...params, [name]: w }, x, labels),
      params[name],
    );
    assertClose(g[name], [...numeric.dataSync()], { atol: 1e-8, rtol: 1e-6 });
  }
});
