/**
 * Activations: values against NumPy (float64), gradients against central
 * differences (`checkGrads`), stability at ±1000, derivatives at the kinks,
 * dtype rules and errors.
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
  ShapeError,
  sum,
  type Tensor,
  tensor,
} from "../../mod.ts";
import { assertClose, randn } from "../_helpers.ts";
import { assertTensor, assertThrowsMatch } from "../ops/_helpers.ts";

const f64 = { dtype: "float64" } as const;
// X = np.array([-3, -1.5, -0.5, 0.25, 1, 2.5])
const X = [-3, -1.5, -0.5, 0.25, 1, 2.5];
const x64 = (): Tensor => tensor(X, f64);

/** name → [f, expected values on X (float64), check second derivatives too?] */
const CASES: Record<string, [(x: Tensor) => Tensor, number[], boolean]> = {
  // 1 / (1 + np.exp(-X))
  sigmoid: [nn.sigmoid, [
    0.04742587317756678,
    0.18242552380635635,
    0.3775406687981454,
    0.5621765008857981,
    0.7310585786300049,
    0.9241418199787566,
  ], true],
  // np.tanh(X)
  tanh: [nn.tanh, X.map(Math.tanh), true],
  // np.maximum(X, 0)
  relu: [nn.relu, [0, 0, 0, 0.25, 1, 2.5], false],
  // np.where(X >= 0, X, 0.1 * X)
  leakyRelu: [(x) => nn.leakyRelu(x, 0.1), [
    -0.30000000000000004,
    -0.15000000000000002,
    -0.05,
    0.25,
    1,
    2.5,
  ], false],
  // np.where(X > 0, X, np.expm1(X))
  elu: [nn.elu, [-0.950212931632136, -0.7768698398515702, -0.3934693402873666, 0.25, 1, 2.5], true],
  // np.where(X > 0, X, 2 * np.expm1(X))
  elu2: [(x) => nn.elu(x, 2), [
    -1.900425863264272,
    -1.5537396797031404,
    -0.7869386805747332,
    0.25,
    1,
    2.5,
  ], true],
  // 0.5 * X * (1 + np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X**3)))
  gelu: [nn.gelu, [
    -0.0036373920817729943,
    -0.10042842301976707,
    -0.15428599017485606,
    0.149675350701685,
    0.8411919906082768,
    2.484915733910001,
  ], true],
  // np.logaddexp(0, X)
  softplus: [nn.softplus, [
    0.04858735157374206,
    0.2014132779827524,
    0.4740769841801067,
    0.8259394198788436,
    1.3132616875182228,
    2.5788897342925496,
  ], true],
};

for (const [name, [f, want, smooth]] of Object.entries(CASES)) {
  Deno.test(`${name}: values match NumPy in float64`, () => {
    assertTensor(f(x64()), want, "float64", { atol: 1e-15, rtol: 1e-14 });
  });
  Deno.test(`${name}: float32 keeps the dtype and is close to float64`, () => {
    assertTensor(f(tensor(X)), want, "float32", { atol: 1e-6, rtol: 1e-6 });
  });
  Deno.test(`${name}: gradients match central differences (order ${smooth ? 2 : 1})`, () => {
    checkGrads(f, [x64()], { order: smooth ? 2 : 1 });
  });
}

Deno.test("gelu exact: matches x·Φ(x) within 1e-15 relative (tests/ops/erf_test.ts: the tails)", () => {
  // mpmath at 50 digits: [float(x / 2 * mp.erfc(-x / mp.sqrt(2))) for x in map(mp.mpf, X)]
  const want = [
    -0.0040496940948902835,
    -0.1002108019032871,
    -0.15426876936299344,
    0.14967658142073093,
    0.8413447460685429,
    2.4844758366855597,
  ];
  assertTensor(nn.gelu(x64(), { approximate: false }), want, "float64", { rtol: 1e-15 });
  checkGrads((x: Tensor) => nn.gelu(x, { approximate: false }), [x64()], { order: 2 });
  // d/dx x·Φ(x) at 0 is Φ(0) = ½ (the |z| inside erfc must not lose it).
  const g = grad((x: Tensor) => sum(nn.gelu(x, { approximate: false })))(tensor([0], f64));
  assertClose(g, [0.5], { atol: 1e-7 });
});

Deno.test("softmax and logSoftmax: values along the last axis and along axis 0", () => {
  const m = tensor([[1, 2, 3], [-1, 0.5, 0]], f64);
  // e = np.exp(M - M.max(1, keepdims=True)); e / e.sum(1, keepdims=True)
  const rows = [
    0.09003057317038046,
    0.24472847105479764,
    0.6652409557748218,
    0.12195165230972885,
    0.5465493872661796,
    0.3314989604240915,
  ];
  assertTensor(nn.softmax(m), [rows.slice(0, 3), rows.slice(3)], "float64", { rtol: 1e-14 });
  assertTensor(
    nn.logSoftmax(m),
    [rows.slice(0, 3), rows.slice(3)].map((r) => r.map(Math.log)),
    "float64",
    {
      atol: 1e-15,
      rtol: 1e-14,
    },
  );
  // e = np.exp(M - M.max(0, keepdims=True)); e / e.sum(0, keepdims=True)
  const cols = [
    [0.8807970779778823, 0.8175744761936437, 0.9525741268224334],
    [0.11920292202211755, 0.18242552380635632, 0.04742587317756679],
  ];
  assertTensor(nn.softmax(m, 0), cols, "float64", { rtol: 1e-14 });
  assertClose(sum(nn.softmax(m, 0), 0), [1, 1, 1], { atol: 1e-15 });
  // Over an empty axis: an empty result (the max of nothing was an error naming max()).
  const empty = tensor([[], [], []]);
  assert.deepEqual([nn.softmax(empty).shape, nn.logSoftmax(empty).shape], [[3, 0], [3, 0]]);
  assert.deepEqual(grad((t) => sum(nn.softmax(t)))(empty).shape, [3, 0]);
});

Deno.test("softmax and logSoftmax: gradients match central differences (order 2, both axes)", () => {
  const m = randn(3, [3, 4]);
  checkGrads((x: Tensor) => nn.softmax(x), [m], { order: 2 });
  checkGrads((x: Tensor) => nn.logSoftmax(x), [m], { order: 2 });
  checkGrads((x: Tensor) => nn.softmax(x, 0), [m], { order: 2 });
  checkGrads((x: Tensor) => nn.logSoftmax(x, 0), [m], { order: 2 });
  checkGrads((x: Tensor) => nn.softmax(x), [tensor([0.3, -1, 2], f64)], { order: 2 });
});

Deno.test("step: 1 where x > 0, float output, zero gradient", () => {
  assertTensor(nn.step(tensor([-1, 0, 0.5, 3])), [0, 0, 1, 1], "float32");
  assertTensor(nn.step(tensor([-1, 2], f64)), [0, 1], "float64");
  assertTensor(nn.step(tensor([-1, 0, 2], { dtype: "int32" })), [0, 0, 1], "float32");
  assertTensor(nn.step(tensor([true, false])), [1, 0], "float32");
  checkGrads(nn.step, [tensor([-2, -0.5, 0.5, 2], f64)], { order: 1 });
  assertTensor(grad((x: Tensor) => sum(nn.step(x)))(tensor([-1, 1], f64)), [0, 0], "float64");
});

// ---------------------------------------------------------------- stability

const BIG = [-1000, -30, 0, 30, 1000];

/** Asserts every value of `t` is finite. */
function assertFinite(t: Tensor, what: string): void {
  for (const v of t.dataSync()) assert.ok(Number.isFinite(v), `${what}: ${[...t.dataSync()]}`);
}

const STABLE: Record<string, (x: Tensor) => Tensor> = {
  sigmoid: nn.sigmoid,
  tanh: nn.tanh,
  relu: nn.relu,
  leakyRelu: (x) => nn.leakyRelu(x),
  elu: (x) => nn.elu(x),
  gelu: (x) => nn.gelu(x),
  geluExact: (x) => nn.gelu(x, { approximate: false }),
  softplus: nn.softplus,
  softmax: (x) => nn.softmax(x),
  logSoftmax: (x) => nn.logSoftmax(x),
};

for (const [name, f] of Object.entries(STABLE)) {
  for (const dtype of ["float32", "float64"] as const) {
    Deno.test(`${name}: finite values and gradients at ±1000 (${dtype})`, () => {
      const x = tensor(BIG, { dtype });
      assertFinite(f(x), `${name} values`);
      // A random-ish weighting so that softmax's gradient is not identically 0.
      const w = tensor([0.3, -1.2, 0.7, 2, -0.5], { dtype });
      const g = grad((x: Tensor) => sum(f(x).mul(w)))(x);
      assertFinite(g, `${name} gradient`);
    });
  }
}

Deno.test("sigmoid and softplus: exact limits at ±1000 and full precision in the tails", () => {
  assertTensor(nn.sigmoid(tensor([-1000, 0, 1000])), [0, 0.5, 1], "float32");
  assertTensor(nn.softplus(tensor([-1000, 0, 1000])), [0, Math.LN2, 1000], "float32");
  // 1 / (1 + np.exp(50.0))
  assertClose(nn.sigmoid(tensor([-50], f64)), [1.928749847963918e-22], { atol: 0, rtol: 1e-14 });
  // np.log1p(np.exp(-50.0))
  assertClose(nn.softplus(tensor([-50], f64)), [1.9287498479639178e-22], { atol: 0, rtol: 1e-14 });
  const x = tensor([-1000, 1000], f64);
  // sigmoid'(x) = σ(1 − σ): 0 at both ends; softplus'(x) = σ(x)
  assertTensor(grad((x: Tensor) => sum(nn.sigmoid(x)))(x), [0, 0], "float64");
  assertTensor(grad((x: Tensor) => sum(nn.softplus(x)))(x), [0, 1], "float64");
});

Deno.test("softmax and logSoftmax: exact results for huge logits", () => {
  assertTensor(nn.softmax(tensor([1000, 1000])), [0.5, 0.5], "float32");
  assertTensor(nn.softmax(tensor([[1000, -1000, 0]])), [[1, 0, 0]], "float32");
  assertTensor(nn.logSoftmax(tensor([1000, -1000])), [0, -2000], "float32");
  assertTensor(nn.logSoftmax(tensor([-1000, -1000], f64)), [-Math.LN2, -Math.LN2], "float64", {
    rtol: 1e-15,
  });
  // d/dx Σ w·logSoftmax(x) = w − softmax(x)·Σw: here softmax = [1, 0]
  const g = grad((x: Tensor) => sum(nn.logSoftmax(x).mul(tensor([1, 2], f64))))(
    tensor([1000, -1000], f64),
  );
  assertTensor(g, [-2, 2], "float64");
});

Deno.test("derivatives at the kinks follow the documented conventions", () => {
  const zero = tensor([0], f64);
  const d = (f: (x: Tensor) => Tensor) => grad((x: Tensor) => sum(f(x)))(zero).dataSync()[0];
  assert.equal(d(nn.relu), 0); // like JAX and the book's Relu
  assert.equal(d((x) => nn.leakyRelu(x, 0.1)), 1); // x ≥ 0 branch
  assert.equal(d((x) => nn.elu(x)), 1); // alpha·e^0 = 1: continuous for alpha = 1
  assert.equal(d(nn.sigmoid), 0.25);
  assert.equal(d(nn.softplus), 0.5); // = σ(0)
  assert.equal(d((x) => nn.gelu(x)), 0.5);
});

Deno.test("NaN in, NaN out: relu and leakyRelu do not hide a NaN (jax.nn.relu, torch.relu)", () => {
  const x = tensor([NaN, -1, 2, -0], f64);
  assertTensor(nn.relu(x), [NaN, 0, 2, 0], "float64");
  assertTensor(nn.leakyRelu(x, 0.5), [NaN, -0.5, 2, -0], "float64");
  assert.ok(Number.isNaN(nn.elu(x).dataSync()[0]));
});

// ---------------------------------------------------------------- errors and purity

Deno.test("activations reject non-float inputs and bad axes with nn-named errors", () => {
  const i = tensor([1, 2], { dtype: "int32" });
  assertThrowsMatch(
    () => nn.sigmoid(i),
    DTypeError,
    /^nn\.sigmoid\(\): expects a float32 or float64 tensor, got int32/,
  );
  assertThrowsMatch(() => nn.relu(i), DTypeError, /^nn\.relu\(\)/);
  assertThrowsMatch(() => nn.softmax(i), DTypeError, /^nn\.softmax\(\)/);
  assertThrowsMatch(
    () => nn.softmax(tensor(1)),
    ShapeError,
    /^nn\.softmax\(\): needs at least one axis/,
  );
  assertThrowsMatch(
    () => nn.logSoftmax(tensor([1, 2]), 1),
    ShapeError,
    /^nn\.logSoftmax\(\): axis 1 is out of range for rank 1/,
  );
});

Deno.test("activations accept plain numbers and leave their input unchanged", () => {
  assertTensor(nn.sigmoid(0), 0.5, "float32");
  assertTensor(nn.relu(-3), 0, "float32");
  const x = x64();
  const before = [...x.dataSync()];
  for (const f of Object.values(STABLE)) f(x);
  assert.deepEqual([...x.dataSync()], before);
});
