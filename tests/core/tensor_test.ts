/**
 * The Tensor class: shape/dtype/ndim/size, reading values back (async and
 * sync, always fresh copies), item(), NumPy-identical printing, method
 * chaining and `.T`.
 *
 * Expected strings are NumPy 2.4's `str()` of the same array, pasted in with
 * the expression that produced them.
 */

import assert from "node:assert/strict";
import {
  add,
  arange,
  argmax,
  argmin,
  broadcastTo,
  cast,
  div,
  dot,
  equal,
  exp,
  expandDims,
  getBackend,
  grad,
  greater,
  less,
  log,
  matmul,
  max,
  mean,
  min,
  mul,
  ones,
  pow,
  random,
  reshape,
  squeeze,
  sub,
  sum,
  Tensor,
  tensor,
  transpose,
  zeros,
} from "../../mod.ts";
import { assertTensor } from "../ops/_helpers.ts";

// ---------------------------------------------------------------- metadata

Deno.test("shapes are frozen values that no other tensor or caller array shares", () => {
  const x = tensor([[1, 2, 3]]);
  const y = exp(x);
  assert.notEqual(y.shape, x.shape, "an op's result has a shape array of its own");
  assert.ok(Object.isFrozen(x.shape) && Object.isFrozen(y.shape));
  // Modules run in strict mode: writing to a frozen array throws.
  assert.throws(() => (y.shape as number[]).reverse(), TypeError);
  assert.throws(() => (y.shape as number[]).push(1), TypeError);
  assert.throws(() => ((x.shape as number[])[0] = 7), TypeError);
  assert.deepEqual([...x.shape], [1, 3]);
  assert.deepEqual([...y.shape], [1, 3]);
  assertTensor(x, [[1, 2, 3]], "float32");

  // Arrays a caller passes in are copied: changing them later changes no tensor.
  const s = [2, 3];
  const z = zeros(s);
  s.push(1);
  s[0] = 5;
  assert.deepEqual([...z.shape], [2, 3]);
  assert.equal(z.size, 6);
  const r = [3, 1];
  const xr = reshape(x, r);
  const b = [2, 3];
  const xb = broadcastTo(x.reshape([3]), b);
  const t = [3];
  const xt = tensor([1, 2, 3], { shape: t });
  const u = [2, 2];
  const xu = random.normal(random.key(0), u);
  r.reverse();
  b.push(4);
  t[0] = 1;
  u.pop();
  assert.deepEqual([[...xr.shape], [...xb.shape], [...xt.shape], [...xu.shape]], [
    [3, 1],
    [2, 3],
    [3],
    [2, 2],
  ]);
  for (const v of [z, xr, xb, xt, xu]) assert.ok(Object.isFrozen(v.shape));
  assert.deepEqual(xr.dataSync(), new Float32Array([1, 2, 3]));

  // Inside a transformation the traced values' shapes are frozen too.
  let traced: readonly number[] = [];
  grad((v: Tensor) => {
    traced = v.shape;
    return sum(v);
  })(x);
  assert.ok(Object.isFrozen(traced));
  assert.deepEqual([...traced], [1, 3]);
});

Deno.test("shape, dtype, ndim and size", () => {
  const s = tensor(3);
  assert.deepEqual(s.shape, []);
  assert.equal(s.ndim, 0);
  assert.equal(s.size, 1);
  assert.equal(s.dtype, "float32");

  const x = zeros([2, 3, 4], { dtype: "int32" });
  assert.deepEqual(x.shape, [2, 3, 4]);
  assert.equal(x.ndim, 3);
  assert.equal(x.size, 24);
  assert.equal(x.dtype, "int32");

  const e = zeros([3, 0]);
  assert.equal(e.ndim, 2);
  assert.equal(e.size, 0);

  assert.equal(tensor([true]).dtype, "bool");
  assert.equal(tensor([1], { dtype: "float64" }).dtype, "float64");
  assert.equal(x.backend, getBackend());
  assert.ok(x instanceof Tensor);
});

// ---------------------------------------------------------------- reading values

Deno.test("data() and dataSync() return fresh typed-array copies", async () => {
  const x = tensor([[1, 2], [3, 4]]);
  const a = await x.data();
  assert.ok(a instanceof Float32Array);
  assert.deepEqual([...a], [1, 2, 3, 4]);
  a[0] = 100;
  const b = x.dataSync();
  assert.ok(b instanceof Float32Array);
  assert.deepEqual([...b], [1, 2, 3, 4]);
  b[1] = 100;
  assert.deepEqual([...(await x.data())], [1, 2, 3, 4]);
  assert.notEqual(x.dataSync(), x.dataSync());
  // every dtype reads back as its own typed array
  assert.ok(tensor([1], { dtype: "float64" }).dataSync() instanceof Float64Array);
  assert.ok(tensor([1], { dtype: "int32" }).dataSync() instanceof Int32Array);
  assert.ok((await tensor([true]).data()) instanceof Uint8Array);
});

Deno.test("data() of a reshaped tensor is a copy too", () => {
  const x = arange(6);
  const r = reshape(x, [2, 3]);
  const d = r.dataSync();
  d.fill(-1);
  assertTensor(x, [0, 1, 2, 3, 4, 5], "int32");
  assertTensor(r, [[0, 1, 2], [3, 4, 5]], "int32");
});

Deno.test("array() and arraySync() return nested arrays (bool as 0/1), fresh each time", async () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]], { dtype: "int32" });
  const a = await x.array() as number[][];
  assert.deepEqual(a, [[1, 2, 3], [4, 5, 6]]);
  a[0][0] = 100;
  a.pop();
  assert.deepEqual(x.arraySync(), [[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(await tensor(2.5).array(), 2.5);
  assert.deepEqual(tensor([[true], [false]]).arraySync(), [[1], [0]]);
  assert.deepEqual(zeros([2, 0]).arraySync(), [[], []]);
  assert.deepEqual(reshape(arange(8), [2, 2, 2]).arraySync(), [[[0, 1], [2, 3]], [[4, 5], [6, 7]]]);
});

Deno.test("item() and itemSync() read one-element tensors", async () => {
  assert.equal(await tensor(2.5).item(), 2.5);
  assert.equal(tensor(2.5).itemSync(), 2.5);
  assert.equal(await sum(tensor([1, 2, 3])).item(), 6);
  assert.equal(tensor([[7]], { dtype: "int32" }).itemSync(), 7);
  assert.equal(tensor(true).itemSync(), 1);
  assert.equal(tensor(0.1).itemSync(), Math.fround(0.1));
  assert.equal(tensor(0.1, { dtype: "float64" }).itemSync(), 0.1);
});

Deno.test("item() on a non-scalar errors and suggests reducing it first", async () => {
  const x = ones([2, 3]);
  assert.throws(
    () => x.itemSync(),
    (e: unknown) =>
      e instanceof Error &&
      /^itemSync\(\): needs a tensor with exactly one element, got shape \[2,3\] \(6 elements\); use data\(\) or array\(\), or reduce it first \(sum, mean\)$/
        .test(e.message),
  );
  await assert.rejects(
    () => x.item(),
    (e: unknown) =>
      e instanceof Error && /^item\(\): .*\[2,3\].*reduce it first \(sum, mean\)/.test(e.message),
  );
  assert.throws(() => zeros([0]).itemSync(), /got shape \[0\] \(0 elements\)/);
});

Deno.test("a disposed tensor cannot be read; tensors made from it stay valid", () => {
  const x = tensor([1, 2]);
  const y = add(x, 1);
  x.dispose();
  x.dispose(); // twice is fine
  assert.throws(() => x.dataSync(), /^Error: dataSync\(\): this tensor was disposed/);
  assert.equal(x.toString(), "Tensor(disposed, shape=[2], dtype=float32)");
  assertTensor(y, [2, 3], "float32");
});

// ---------------------------------------------------------------- printing

/** [what, tensor, np.array(...) expression, str() of it] */
const PRINTS: [string, () => Tensor, string, string][] = [
  [
    "float32 needing scientific notation",
    () => tensor([0.1, 0.25, 1e-5]),
    "np.array([0.1, 0.25, 1e-5], np.float32)",
    "[1.0e-01 2.5e-01 1.0e-05]",
  ],
  [
    "float32 with whole numbers",
    () => tensor([0.5, 1, 2]),
    "np.array([0.5, 1, 2], np.float32)",
    "[0.5 1.  2. ]",
  ],
  [
    "2-D float32",
    () => tensor([[1, 2.5], [-3, 4]]),
    "np.array([[1, 2.5], [-3, 4]], np.float32)",
    "[[ 1.   2.5]\n [-3.   4. ]]",
  ],
  [
    "2-D scientific",
    () => tensor([[1e-5, 1], [100, -2.5]]),
    "np.array([[1e-5, 1], [100, -2.5]], np.float32)",
    "[[ 1.0e-05  1.0e+00]\n [ 1.0e+02 -2.5e+00]]",
  ],
  [
    "3-D int32",
    () => reshape(arange(24), [2, 3, 4]),
    "np.arange(24, dtype=np.int32).reshape(2, 3, 4)",
    "[[[ 0  1  2  3]\n  [ 4  5  6  7]\n  [ 8  9 10 11]]\n\n [[12 13 14 15]\n  [16 17 18 19]\n  [20 21 22 23]]]",
  ],
  [
    "3-D float64 at 8 digits",
    () => reshape(arange(24, undefined, 1, { dtype: "float64" }).div(7), [2, 3, 4]),
    "(np.arange(24.) / 7).reshape(2, 3, 4)",
    "[[[0.         0.14285714 0.28571429 0.42857143]\n  [0.57142857 0.71428571 0.85714286 1.        ]\n  [1.14285714 1.28571429 1.42857143 1.57142857]]\n\n [[1.71428571 1.85714286 2.         2.14285714]\n  [2.28571429 2.42857143 2.57142857 2.71428571]\n  [2.85714286 3.         3.14285714 3.28571429]]]",
  ],
  [
    "int32 with signs",
    () => tensor([1, -20, 300], { dtype: "int32" }),
    "np.array([1, -20, 300], np.int32)",
    "[  1 -20 300]",
  ],
  ["bool", () => tensor([true, false]), "np.array([True, False])", "[ True False]"],
  [
    "all-true bool",
    () => tensor([[true, true], [true, true]]),
    "np.array([[True, True], [True, True]])",
    "[[ True  True]\n [ True  True]]",
  ],
  [
    "a 2x1000 arange, summarised",
    () => reshape(arange(2000), [2, 1000]),
    "np.arange(2000, dtype=np.int32).reshape(2, 1000)",
    "[[   0    1    2 ...  997  998  999]\n [1000 1001 1002 ... 1997 1998 1999]]",
  ],
  [
    "a 2x1000 float32, summarised in scientific notation",
    () => reshape(arange(2000, undefined, 1, { dtype: "float32" }).mul(0.5), [2, 1000]),
    "(np.arange(2000, dtype=np.float32) * 0.5).reshape(2, 1000)",
    "[[0.000e+00 5.000e-01 1.000e+00 ... 4.985e+02 4.990e+02 4.995e+02]\n [5.000e+02 5.005e+02 5.010e+02 ... 9.985e+02 9.990e+02 9.995e+02]]",
  ],
  [
    "long rows wrap at 75 characters",
    () => reshape(arange(40, undefined, 1, { dtype: "float64" }).mul(1.5), [2, 20]),
    "(np.arange(40.) * 1.5).reshape(2, 20)",
    "[[ 0.   1.5  3.   4.5  6.   7.5  9.  10.5 12.  13.5 15.  16.5 18.  19.5\n  21.  22.5 24.  25.5 27.  28.5]\n [30.  31.5 33.  34.5 36.  37.5 39.  40.5 42.  43.5 45.  46.5 48.  49.5\n  51.  52.5 54.  55.5 57.  58.5]]",
  ],
  [
    "nan and inf",
    () => tensor([1.5, NaN, -Infinity]),
    "np.array([1.5, np.nan, -np.inf], np.float32)",
    "[ 1.5  nan -inf]",
  ],
  ["float64 scalar", () => tensor(3.14159, { dtype: "float64" }), "np.array(3.14159)", "3.14159"],
  ["whole float64 scalar", () => tensor(2, { dtype: "float64" }), "np.array(2.0)", "2.0"],
  ["small float64 scalar", () => tensor(1e-5, { dtype: "float64" }), "np.array(1e-5)", "1e-05"],
  [
    "float64 scalar with 16 digits",
    () => tensor(1 / 3, { dtype: "float64" }),
    "np.array(1/3)",
    "0.3333333333333333",
  ],
  [
    "float32 scalar",
    () => tensor(1 / 3),
    "np.array(1/3, np.float32)",
    "0.33333334",
  ],
  ["int32 scalar", () => tensor(-3, { dtype: "int32" }), "np.array(-3, np.int32)", "-3"],
  ["bool scalar", () => tensor(true), "np.array(True)", "True"],
  ["empty", () => tensor([]), "np.array([], np.float32)", "[]"],
  [
    "-0 in an array",
    () => tensor([-0, 0.5, 10]),
    "np.array([-0., .5, 10], np.float32)",
    "[-0.   0.5 10. ]",
  ],
  [
    "-0 in scientific notation",
    () => tensor([-0, 1e-9]),
    "np.array([-0., 1e-9], np.float32)",
    "[-0.e+00  1.e-09]",
  ],
];

for (const [what, make, expr, want] of PRINTS) {
  Deno.test(`toString() matches NumPy's str(): ${what}`, () => {
    assert.equal(make().toString(), want, `str(${expr})`);
  });
}

Deno.test("String() and Deno.inspect use the NumPy-style text", () => {
  const x = tensor([[1, 2], [3, 4]]);
  assert.equal(String(x), "[[1. 2.]\n [3. 4.]]");
  assert.equal(`${tensor([0.5, 1, 2])}`, "[0.5 1.  2. ]");
  assert.equal(Deno.inspect(tensor([1, 2])), "tensor([1. 2.], dtype=float32)");
  assert.equal(Deno.inspect(x), "tensor([[1. 2.]\n        [3. 4.]], dtype=float32)");
});

// ---------------------------------------------------------------- methods

Deno.test("Number(t), +t and t > x read a one-element tensor's value as itemSync(); printing stays text", () => {
  // The value, not the printed text (8 significant digits): 1/3 in float32, 123456789 → 123456792.
  assert.equal(Number(tensor(1 / 3)), Math.fround(1 / 3));
  assert.equal(+tensor(123456789), 123456792);
  assert.equal(Number(tensor(true)), 1);
  assert.equal(Number(tensor([[7]], { dtype: "int32" })), 7);
  // Plain JS compares tensors to numbers this way (TypeScript asks for Number(t) first).
  const loss = tensor(0.25) as unknown as number, best = 0.3;
  assert.equal(loss < best, true);
  assert.equal((tensor(true) as unknown as number) > 0, true);
  assert.equal(Number(tensor(-0)), -0);
  assert.ok(Number.isNaN(Number(tensor(NaN))));
  // Other conversions print (as Date's): concatenation and template strings.
  assert.equal("loss " + tensor(0.5), "loss 0.5");
  assert.equal(`${tensor([1, 2])}`, "[1. 2.]");
  assert.throws(
    () => Number(tensor([1, 2])),
    /^Error: Number\(\): needs a tensor with exactly one element, got shape \[2\] \(2 elements\); use data\(\)/,
  );
  const gone = tensor(1);
  gone.dispose();
  assert.throws(() => +gone, /^Error: Number\(\): this tensor was disposed/);
});

Deno.test("methods chain: x.mul(2).add(1).sum()", () => {
  const x = tensor([[1, 2], [3, 4]]);
  const y = x.mul(2).add(1);
  assertTensor(y, [[3, 5], [7, 9]], "float32");
  assertTensor(x.mul(2).add(1).sum(), 24, "float32");
  assertTensor(x.sub(1).div(2).pow(2).neg().mean(), -0.875, "float32");
  assertTensor(x.square().sqrt().log().exp(), [[1, 2], [3, 4]], "float32", {
    atol: 1e-6,
    rtol: 1e-6,
  });
  assertTensor(x.neg().abs().tanh().max(), Math.fround(Math.tanh(4)), "float32", { rtol: 1e-6 });
  assertTensor(
    x.reshape([-1]).expandDims(0).squeeze().broadcastTo([2, 4]).sum(0),
    [2, 4, 6, 8],
    "float32",
  );
});

Deno.test(".T reverses the axes like NumPy's .T", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  assertTensor(x.T, [[1, 4], [2, 5], [3, 6]], "float32");
  assertTensor(x.T.T, [[1, 2, 3], [4, 5, 6]], "float32");
  const y = reshape(arange(24), [2, 3, 4]);
  assert.deepEqual(y.T.shape, [4, 3, 2]);
  assertTensor(y.T, transpose(y).arraySync(), "int32");
  const v = tensor([1, 2]);
  assert.equal(v.T, v);
  assertTensor(x.matmul(x.T), [[14, 32], [32, 77]], "float32"); // A @ A.T
});

Deno.test("every method equals the function it names", () => {
  const x = tensor([[1, -2, 3], [0.5, 4, -1]]);
  const w = tensor([[1, 0], [2, 1], [-1, 3]]);
  const same = (a: Tensor, b: Tensor) => {
    assert.equal(a.dtype, b.dtype);
    assert.deepEqual(a.shape, b.shape);
    assert.deepEqual([...a.dataSync()], [...b.dataSync()]);
  };
  same(x.add(2), add(x, 2));
  same(x.sub(x), sub(x, x));
  same(x.mul(x), mul(x, x));
  same(x.div(4), div(x, 4));
  same(x.pow(2), pow(x, 2));
  same(x.abs().log(), log(x.abs()));
  same(x.exp(), exp(x));
  same(x.matmul(w), matmul(x, w));
  same(x.dot(w), dot(x, w));
  same(x.reshape([3, 2]), reshape(x, [3, 2]));
  same(x.transpose([1, 0]), transpose(x, [1, 0]));
  same(x.sum(1, { keepdims: true }), sum(x, 1, { keepdims: true }));
  same(x.mean(0), mean(x, 0));
  same(x.max(-1), max(x, -1));
  same(x.min(), min(x));
  same(x.argmax(1), argmax(x, 1));
  same(x.argmin(), argmin(x));
  same(x.cast("int32"), cast(x, "int32"));
  same(x.expandDims(1), expandDims(x, 1));
  same(x.expandDims(0).squeeze(0), squeeze(expandDims(x, 0), 0));
  same(x.sum(0).broadcastTo([2, 3]), broadcastTo(sum(x, 0), [2, 3]));
  same(x.equal(3), equal(x, 3));
  same(x.greater(0), greater(x, 0));
  same(x.less(0), less(x, 0));
});
