/**
 * Losses and penalties: the book's numeric examples, values against NumPy
 * (float64), gradients against central differences, the closed-form
 * gradient of softmax cross entropy, stability at ±1000 and errors.
 *
 * Expected values were computed with NumPy 2 in float64 and pasted in; each
 * constant shows the expression that produced it.
 */

import assert from "node:assert/strict";
import {
  checkGrads,
  DTypeError,
  grad,
  nn,
  oneHot,
  ShapeError,
  type Tensor,
  tensor,
  valueAndGrad,
} from "../../mod.ts";
import { assertClose, onHostlessBackend, peek, randn, randu } from "../_helpers.ts";
import { assertTensor, assertThrowsMatch } from "../ops/_helpers.ts";

const f64 = { dtype: "float64" } as const;
const i32 = { dtype: "int32" } as const;

// The book's examples (chapter 4): t is one-hot at 2; y1 puts 0.6 on class 2, y2 on class 7.
const Y1 = [0.1, 0.05, 0.6, 0, 0.05, 0.1, 0, 0.1, 0, 0];
const Y2 = [0.1, 0.05, 0.1, 0, 0.05, 0.1, 0, 0.6, 0, 0];
const T = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0];

Deno.test("sumSquaredError: the book's mean_squared_error examples, 0.0975 and 0.5975", () => {
  // 0.5 * np.sum((y1 - t)**2), 0.5 * np.sum((y2 - t)**2)
  assertClose(nn.sumSquaredError(tensor(Y1, f64), tensor(T, f64)), 0.09750000000000003, {
    atol: 1e-16,
  });
  assertClose(nn.sumSquaredError(tensor(Y2, f64), tensor(T, f64)), 0.5975, { atol: 1e-16 });
  assertClose(nn.sumSquaredError(tensor(Y1), tensor(T)), 0.0975, { atol: 1e-7 });
  assertClose(nn.sumSquaredError(tensor(Y2), tensor(T)), 0.5975, { atol: 1e-7 });
});

Deno.test("crossEntropy: the book's examples 0.510825457 and 2.302584093, one-hot and int32 labels", () => {
  // -np.sum(t * np.log(y1 + 1e-7)), -np.sum(t * np.log(y2 + 1e-7))
  const want1 = 0.510825457099338;
  const want2 = 2.302584092994546;
  const label = tensor(2, i32);
  for (const [y, want] of [[Y1, want1], [Y2, want2]] as const) {
    assertClose(nn.crossEntropy(tensor(y, f64), tensor(T, f64)), want, { atol: 1e-15 });
    assertClose(nn.crossEntropy(tensor(y, f64), label), want, { atol: 1e-15 });
    assertClose(nn.crossEntropy(tensor(y), tensor(T)), want, { atol: 1e-6 });
    assertClose(nn.crossEntropy(tensor(y), label), want, { atol: 1e-6 });
  }
  // A batch of both, averaged over the batch:
  // -np.sum(np.log(np.stack([y1, y2])[np.arange(2), [2, 2]] + 1e-7)) / 2
  const batch = tensor([Y1, Y2], f64);
  assertClose(nn.crossEntropy(batch, tensor([2, 2], i32)), 1.406704775046942, { atol: 1e-15 });
  assertClose(nn.crossEntropy(batch, tensor([T, T], f64)), 1.406704775046942, { atol: 1e-15 });
  // A zero probability stays finite thanks to δ: -log(1e-7)
  assertClose(nn.crossEntropy(tensor(Y1, f64), tensor(3, i32)), -Math.log(1e-7), { rtol: 1e-14 });
});

Deno.test("meanSquaredError and meanAbsoluteError: means over all elements", () => {
  const y = tensor([[0.2, -1, 3], [0.5, 0.25, -2]], f64);
  const t = tensor([[1, 0, 2], [0, 0.5, -1.5]], f64);
  // np.mean((Y - T)**2), np.mean(np.abs(Y - T))
  assertClose(nn.meanSquaredError(y, t), 0.5337500000000001, { atol: 1e-15 });
  assertClose(nn.meanAbsoluteError(y, t), 0.6749999999999999, { atol: 1e-15 });
  // Int targets are cast to y's dtype.
  assertClose(nn.meanSquaredError(tensor([1, 2]), tensor([1, 4], i32)), 2);
});

// Logits L and labels for softmax cross entropy.
const L = [[2, 1, 0.1], [0.5, -1, 3], [0, 0, 0]];
const LABELS = [0, 2, 1];

Deno.test("softmaxCrossEntropy: value with int32 labels and one-hot targets", () => {
  // ls = log_softmax(L, axis=1); -ls[np.arange(3), labels].sum() / 3
  const want = 0.5371055447867752;
  assertClose(nn.softmaxCrossEntropy(tensor(L, f64), tensor(LABELS, i32)), want, { atol: 1e-15 });
  assertClose(
    nn.softmaxCrossEntropy(tensor(L, f64), oneHot(tensor(LABELS, i32), 3, f64)),
    want,
    { atol: 1e-15 },
  );
  // It equals crossEntropy(softmax(L)) up to the δ inside crossEntropy.
  assertClose(
    nn.crossEntropy(nn.softmax(tensor(L, f64)), tensor(LABELS, i32)),
    want,
    { atol: 1e-6 },
  );
  // A single row with a scalar label.
  assertClose(
    nn.softmaxCrossEntropy(tensor(L[0], f64), tensor(0, i32)),
    nn.softmaxCrossEntropy(tensor([L[0]], f64), tensor([0], i32)).itemSync(),
    { atol: 1e-15 },
  );
});

Deno.test("softmaxCrossEntropy: gradient is (softmax − onehot)/N", () => {
  // (softmax(L) - np.eye(3)[labels]) / 3
  const want = [
    [-0.1136662870380107, 0.08081099023490464, 0.03285529680310607],
    [0.024865185710738143, 0.005548172869757448, -0.03041335858049558],
    [0.1111111111111111, -0.22222222222222224, 0.1111111111111111],
  ];
  const labels = tensor(LABELS, i32);
  const g = grad((z: Tensor) => nn.softmaxCrossEntropy(z, labels))(tensor(L, f64));
  assertTensor(g, want, "float64", { atol: 1e-16, rtol: 1e-14 });
  // And in general, on random logits, against the closed form built from ops.
  const z = randn(5, [6, 4]);
  const t = oneHot(tensor([0, 3, 1, 1, 2, 0], i32), 4, f64);
  const g2 = grad((z: Tensor) => nn.softmaxCrossEntropy(z, t))(z);
  const closed = nn.softmax(z).sub(t).div(6);
  assertClose(g2, [...closed.dataSync()], { atol: 1e-16, rtol: 1e-13 });
});

Deno.test("softmaxCrossEntropy: a −∞ logit masks its class (finite loss, zero gradient there)", () => {
  const z = tensor([[2, -Infinity, 0.1], [0.5, -1, 3]], f64);
  const labels = tensor([0, 2], i32);
  // m = L.max(1, keepdims=True); ls = L - (m + np.log(np.exp(L - m).sum(1, keepdims=True)))
  // -ls[np.arange(2), labels].sum() / 2
  const want = 0.11753054384867134;
  assertClose(nn.softmaxCrossEntropy(z, labels), want, { atol: 1e-15 });
  assertClose(nn.softmaxCrossEntropy(z, oneHot(labels, 3, f64)), want, { atol: 1e-15 });
  // (np.exp(ls) - np.eye(3)[labels]) / 2
  const g = grad((z: Tensor) => nn.softmaxCrossEntropy(z, labels))(z);
  assertTensor(
    g,
    [
      [-0.06505423718149889, 0, 0.06505423718149894],
      [0.03729777856610721, 0.008322259304636172, -0.04562003787074337],
    ],
    "float64",
    { atol: 1e-16, rtol: 1e-14 },
  );
  // The label's own class masked: the loss is +∞, as in NumPy.
  assert.equal(nn.softmaxCrossEntropy(z, tensor([1, 2], i32)).itemSync(), Infinity);
});

Deno.test("binaryCrossEntropy and sigmoidBinaryCrossEntropy: values (means over all elements)", () => {
  // -np.mean(T*np.log(P + 1e-7) + (1 - T)*np.log(1 - P + 1e-7))
  assertClose(
    nn.binaryCrossEntropy(tensor([0.9, 0.2, 0.6, 0.01], f64), tensor([1, 0, 1, 0], f64)),
    0.21234488070092064,
    { atol: 1e-15 },
  );
  // Int targets work too.
  assertClose(
    nn.binaryCrossEntropy(tensor([0.9, 0.2, 0.6, 0.01], f64), tensor([1, 0, 1, 0], i32)),
    0.21234488070092064,
    { atol: 1e-15 },
  );
  const z = tensor([2, -1, 0.3, -4], f64);
  const t = tensor([1, 0, 0, 1], f64);
  // np.mean(np.maximum(Z, 0) - Z*T + np.log1p(np.exp(-np.abs(Z))))
  assertClose(nn.sigmoidBinaryCrossEntropy(z, t), 1.3281737177368829, { atol: 1e-15 });
  // (sigmoid(Z) - T) / 4
  assertTensor(
    grad((z: Tensor) => nn.sigmoidBinaryCrossEntropy(z, t))(z),
    [-0.02980073050552942, 0.06723535534249878, 0.14361062920291476, -0.2455034475094771],
    "float64",
    { atol: 1e-16, rtol: 1e-14 },
  );
  // The same as binaryCrossEntropy of sigmoid(z) with eps 0.
  assertClose(
    nn.binaryCrossEntropy(nn.sigmoid(z), t, { eps: 0 }),
    1.3281737177368829,
    { atol: 1e-15 },
  );
});

Deno.test("l1Penalty and l2Penalty: sums over all float leaves, ½ in L2, filter by path", () => {
  const params = [{ w: tensor([[1, -2], [0.5, 0]], f64), b: tensor([3, -1], f64) }, null, {
    w: tensor([[-4]], f64),
    b: null,
  }];
  // np.sum(np.abs(...)) over all leaves: 1 + 2 + 0.5 + 3 + 1 + 4
  assertClose(nn.l1Penalty(params), 11.5, { atol: 0 });
  // 0.5 * (1 + 4 + 0.25 + 9 + 1 + 16)
  assertClose(nn.l2Penalty(params), 15.625, { atol: 0 });
  const weights = { filter: (path: string) => path.endsWith(".w") };
  assertClose(nn.l1Penalty(params, weights), 7.5, { atol: 0 });
  assertClose(nn.l2Penalty(params, weights), 10.625, { atol: 0 });
  // Gradient of ½Σw² is w: the book's weight decay adds λ·W to the gradient.
  const g = grad((p: typeof params) => nn.l2Penalty(p))(params);
  assertTensor(g[0]!.w, [[1, -2], [0.5, 0]], "float64");
  assert.equal(g[1], null);
  // An empty tree gives float32 0.
  assertTensor(nn.l2Penalty({}), 0, "float32");
  assertThrowsMatch(
    () => nn.l2Penalty({ layers: [{ w: tensor([1]), n: 3 }] }),
    TypeError,
    /^nn\.l2Penalty\(\): every leaf must be a float tensor, but params\.layers\[0\]\.n is number$/,
  );
});

// ---------------------------------------------------------------- gradient checks

Deno.test("every loss: gradients match central differences (order 1 and 2, float64)", () => {
  const y = randn(11, [4, 3]);
  const t = randn(12, [4, 3]);
  const probs = nn.softmax(randn(13, [4, 3]));
  const onehot = oneHot(tensor([0, 2, 1, 2], i32), 3, f64);
  const labels = tensor([0, 2, 1, 2], i32);
  const p = randu(14, [5], 0.05, 0.95);
  const tb = randu(15, [5], 0, 1);
  const order = { order: 2 } as const;
  checkGrads(nn.sumSquaredError, [y, t], order);
  checkGrads(nn.meanSquaredError, [y, t], order);
  checkGrads(nn.meanAbsoluteError, [y, t], { order: 1 });
  checkGrads((q: Tensor) => nn.crossEntropy(q, onehot), [probs], order);
  checkGrads((q: Tensor) => nn.crossEntropy(q, labels), [probs], order);
  checkGrads((q: Tensor, s: Tensor) => nn.crossEntropy(q, s), [probs, nn.softmax(t)], order);
  checkGrads((z: Tensor) => nn.softmaxCrossEntropy(z, labels), [y], order);
  checkGrads((z: Tensor, s: Tensor) => nn.softmaxCrossEntropy(z, s), [y, nn.softmax(t)], order);
  checkGrads(nn.binaryCrossEntropy, [p, tb], order);
  checkGrads(nn.sigmoidBinaryCrossEntropy, [randn(16, [5]), tb], order);
  const params = { a: randn(17, [3, 2]), b: [randn(18, [2])] };
  checkGrads((q: typeof params) => nn.l2Penalty(q), [params], order);
  checkGrads((q: typeof params) => nn.l1Penalty(q), [params], { order: 1 });
});

// ---------------------------------------------------------------- stability

Deno.test("softmaxCrossEntropy and sigmoidBinaryCrossEntropy: finite at ±1000 with finite gradients", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const z = tensor([[1000, -1000, 0], [-1000, 1000, 1000]], { dtype });
    const labels = tensor([1, 0], i32);
    const [loss, g] = [
      nn.softmaxCrossEntropy(z, labels),
      grad((z: Tensor) => nn.softmaxCrossEntropy(z, labels))(z),
    ];
    // Row 0: true class has logit −1000 vs max 1000: loss 2000; row 1: −1000 − (1000 + log 2).
    assertClose(loss, (2000 + 2000 + Math.LN2) / 2, { rtol: 1e-6 });
    // (softmax − onehot)/2: row 0 [1, 0, 0] − e1; row 1 [0, ½, ½] − e0
    assertTensor(g, [[0.5, -0.5, 0], [-0.5, 0.25, 0.25]], dtype, { atol: 1e-7 });

    const x = tensor([1000, -1000, 1000, -1000], { dtype });
    const t = tensor([1, 0, 0, 1], { dtype });
    // np.mean([0, 0, 1000, 1000])
    assertClose(nn.sigmoidBinaryCrossEntropy(x, t), 500, { rtol: 1e-7 });
    // (sigmoid(x) - t) / 4
    assertTensor(
      grad((x: Tensor) => nn.sigmoidBinaryCrossEntropy(x, t))(x),
      [0, 0, 0.25, -0.25],
      dtype,
    );
    // binaryCrossEntropy of saturated probabilities stays finite through eps.
    const bce = nn.binaryCrossEntropy(tensor([1, 0], { dtype }), tensor([0, 1], { dtype }));
    assert.ok(Number.isFinite(bce.itemSync()));
  }
});

// ---------------------------------------------------------------- errors

Deno.test("losses name themselves and both shapes on a shape mismatch", () => {
  const y = tensor([[1, 2, 3]]);
  assertThrowsMatch(
    () => nn.meanSquaredError(y, tensor([1, 2, 3])),
    ShapeError,
    /^nn\.meanSquaredError\(\): y and t must have the same shape, got \[1,3\] and \[3\]$/,
  );
  assertThrowsMatch(
    () => nn.sumSquaredError(tensor([[1], [2]]), tensor([1, 2])),
    ShapeError,
    /^nn\.sumSquaredError\(\).*\[2,1\] and \[2\]/,
  );
  assertThrowsMatch(
    () => nn.meanAbsoluteError(y, tensor([1])),
    ShapeError,
    /^nn\.meanAbsoluteError\(\)/,
  );
  assertThrowsMatch(
    () => nn.binaryCrossEntropy(tensor([0.5, 0.5]), tensor([1, 0, 1])),
    ShapeError,
    /^nn\.binaryCrossEntropy\(\): p and t must have the same shape, got \[2\] and \[3\]$/,
  );
  assertThrowsMatch(
    () => nn.sigmoidBinaryCrossEntropy(tensor([0.5, 0.5]), tensor([[1, 0]])),
    ShapeError,
    /^nn\.sigmoidBinaryCrossEntropy\(\): logits and t must have the same shape/,
  );
  assertThrowsMatch(
    () => nn.crossEntropy(tensor([[0.5, 0.5]]), tensor([[1, 0, 0]])),
    ShapeError,
    /^nn\.crossEntropy\(\): probs and one-hot targets t must have the same shape, got \[1,2\] and \[1,3\]$/,
  );
  assertThrowsMatch(
    () => nn.softmaxCrossEntropy(tensor([[1, 2], [3, 4]]), tensor([[0], [1]], i32)),
    ShapeError,
    /^nn\.softmaxCrossEntropy\(\): int32 labels for logits of shape \[2,2\] must have shape \[2\] \(one label per row\), got \[2,1\]$/,
  );
  assertThrowsMatch(
    () => nn.crossEntropy(tensor([0.5, 0.5]), tensor([1, 0], i32)),
    ShapeError,
    /^nn\.crossEntropy\(\): int32 labels for probs of shape \[2\] must have shape \[\]/,
  );
  assertThrowsMatch(
    () => nn.softmaxCrossEntropy(tensor([1, 2]), tensor([true, false])),
    DTypeError,
    /^nn\.softmaxCrossEntropy\(\): t must be float one-hot targets or int32 class labels, got bool$/,
  );
  assertThrowsMatch(
    () => nn.meanSquaredError(tensor([1, 2], f64), tensor([1, 2])),
    DTypeError,
    /^nn\.meanSquaredError\(\): y is float64 but t is float32; cast one first/,
  );
  assertThrowsMatch(
    () => nn.crossEntropy(tensor([1, 2], i32), tensor([1, 0])),
    DTypeError,
    /^nn\.crossEntropy\(\): expects a float32 or float64 tensor, got int32/,
  );
  assertThrowsMatch(
    () => nn.softmaxCrossEntropy(tensor(1), tensor(0, i32)),
    ShapeError,
    /class axis/,
  );
});

Deno.test("cross entropies: out-of-range int labels are a RangeError, never a silent 0", () => {
  // The reported case: label 3 with 3 classes gave a loss of -0 and a zero gradient.
  const z = tensor([[1, 0, -1]]);
  assertThrowsMatch(
    () => nn.softmaxCrossEntropy(z, tensor([3], i32)),
    RangeError,
    /^nn\.softmaxCrossEntropy\(\): label 3 at index \[0\] is out of range for 3 classes \(valid: 0 … 2; 1 of 1 labels out of range\); class labels are 0-based: if yours start at 1, subtract 1/,
  );
  // Negative labels too, the first bad one named with its index.
  assertThrowsMatch(
    () => nn.softmaxCrossEntropy(tensor(L, f64), tensor([0, -1, 5], i32)),
    RangeError,
    /label -1 at index \[1\] is out of range for 3 classes \(valid: 0 … 2; 2 of 3 labels out of range\)/,
  );
  assertThrowsMatch(
    () => nn.crossEntropy(tensor(Y1), tensor(10, i32)),
    RangeError,
    /^nn\.crossEntropy\(\): label 10 at index \[\] is out of range for 10 classes/,
  );
  // Labels of a [N, T, C] batch: the index is [n, t].
  assertThrowsMatch(
    () => nn.softmaxCrossEntropy(randn(1, [2, 2, 3]), tensor([[0, 1], [3, 2]], i32)),
    RangeError,
    /label 3 at index \[1,0\]/,
  );
  // Inside grad the labels are concrete, so the check runs there too.
  const labels = tensor([3], i32);
  assertThrowsMatch(
    () => grad((x: Tensor) => nn.softmaxCrossEntropy(x, labels))(z),
    RangeError,
    /out of range for 3 classes/,
  );
  // The last valid class is fine: -log_softmax([1, 0, -1])[2] = 2.40760596444438
  assertClose(
    nn.softmaxCrossEntropy(tensor([[1, 0, -1]], f64), tensor([2], i32)),
    2.40760596444438,
    {
      rtol: 1e-14,
    },
  );
});

Deno.test("binary cross entropies: int32 targets other than 0/1 are a RangeError (NaN without sync reads)", async () => {
  for (const f of [nn.binaryCrossEntropy, nn.sigmoidBinaryCrossEntropy]) {
    assertThrowsMatch(
      () => f(tensor([0.3, 0.6, 0.9]), tensor([1, 2, 0], i32)),
      RangeError,
      /\(\): target 2 at index \[1\] is out of range for 2 classes \(valid: 0 … 1; 1 of 3 targets out of range\)/,
    );
  }
  // 0/1 int32 targets work as float ones: -(np.log(0.3 + 1e-7) + np.log(1 - 0.6 + 1e-7)) / 2
  assertClose(
    nn.binaryCrossEntropy(tensor([0.3, 0.6], f64), tensor([1, 0], i32)),
    1.0601314764334222,
    {
      rtol: 1e-12,
    },
  );
  const [bad, good] = await onHostlessBackend(() => [
    nn.sigmoidBinaryCrossEntropy(tensor([0.5, -1]), tensor([1, -1], i32)),
    nn.sigmoidBinaryCrossEntropy(tensor([0.5, -1]), tensor([1, 0], i32)),
  ]);
  assert.ok(Number.isNaN(peek(bad)[0]));
  // (softplus(0.5) − 0.5 + softplus(−1)) / 2 with softplus = np.log1p(np.exp(x))
  assertClose(peek(good), [0.39366933584916475], { rtol: 1e-6 });
});

Deno.test("cross entropies: float labels [N] get a hint to cast them to int32", () => {
  for (const f of [nn.softmaxCrossEntropy, nn.crossEntropy]) {
    assertThrowsMatch(
      () => f(tensor(L), tensor(LABELS)),
      ShapeError,
      /has shape \[3,3\] but t has shape \[3\] with dtype float32: class labels must be int32, e\.g\. cast\(t, "int32"\)/,
    );
  }
});

Deno.test("cross entropies on a backend without synchronous reads: out-of-range labels give NaN, loss and gradient", async () => {
  const [bad, good] = await onHostlessBackend(() => {
    const z = tensor(L, f64);
    const lossAndGrad = (labels: Tensor) =>
      valueAndGrad((x: Tensor) => nn.softmaxCrossEntropy(x, labels))(z);
    return [
      [
        ...lossAndGrad(tensor([0, 3, 1], i32)),
        nn.crossEntropy(nn.softmax(z), tensor([-1, 2, 1], i32)),
      ],
      lossAndGrad(tensor(LABELS, i32)),
    ];
  });
  assert.ok(Number.isNaN(peek(bad[0])[0]), `loss ${peek(bad[0])}`);
  // Row 1 (the bad label) has NaN gradients; the other rows keep theirs.
  const g = peek(bad[1]);
  assert.ok(g.slice(3, 6).every(Number.isNaN), `gradient row 1: ${g.slice(3, 6)}`);
  assertClose(g.slice(0, 3), [-0.1136662870380107, 0.08081099023490464, 0.03285529680310607], {
    atol: 1e-15,
  });
  assert.ok(Number.isNaN(peek(bad[2])[0]));
  // In-range labels: the same values as on the cpu (see the tests above).
  assertClose(peek(good[0]), [0.5371055447867752], { atol: 1e-15 });
});

Deno.test("losses leave their inputs unchanged", () => {
  const y = tensor([[0.2, 0.8], [0.6, 0.4]], f64);
  const t = tensor([[0, 1], [1, 0]], f64);
  const before = [...y.dataSync(), ...t.dataSync()];
  nn.crossEntropy(y, t);
  nn.softmaxCrossEntropy(y, t);
  nn.binaryCrossEntropy(y, t);
  nn.sigmoidBinaryCrossEntropy(y, t);
  nn.meanSquaredError(y, t);
  grad((q: Tensor) => nn.softmaxCrossEntropy(q, t))(y);
  assert.deepEqual([...y.dataSync(), ...t.dataSync()], before);
});
