/**
 * Elementwise ops against NumPy: unary math, binary arithmetic with
 * broadcasting, comparisons, logical ops, `where` and `cast`, plus their
 * dtype rules and error messages.
 *
 * Expected values were computed with NumPy 2.4 (`np.seterr(all="ignore")`)
 * and pasted in; each constant shows the expression that produced it.
 */

import assert from "node:assert/strict";
import {
  abs,
  add,
  cast,
  ceil,
  cos,
  div,
  DTypeError,
  equal,
  exp,
  expm1,
  floor,
  greater,
  greaterEqual,
  jit,
  less,
  lessEqual,
  log,
  log1p,
  logicalAnd,
  logicalNot,
  logicalOr,
  maximum,
  minimum,
  mul,
  neg,
  notEqual,
  ones,
  pow,
  round,
  ShapeError,
  sign,
  sin,
  sqrt,
  square,
  sub,
  tanh,
  type Tensor,
  tensor,
  type TensorLike,
  where,
  zeros,
} from "../../mod.ts";
import { assertTensor, assertThrowsMatch, F32, F64, type Want } from "./_helpers.ts";

// ---------------------------------------------------------------- unary

// X = [-2.5, -1, -0.5, 0, 0.25, 1, 2.5, 3]
const X = [-2.5, -1, -0.5, 0, 0.25, 1, 2.5, 3];

/** name → [op, exact?, np.<f>(np.array(X, np.float32)), np.<f>(np.array(X, np.float64))] */
const UNARY: Record<string, [(x: TensorLike) => Tensor, boolean, Want, Want]> = {
  // np.negative(X)
  neg: [neg, true, [2.5, 1, 0.5, -0, -0.25, -1, -2.5, -3], [2.5, 1, 0.5, -0, -0.25, -1, -2.5, -3]],
  // np.exp(X)
  exp: [
    exp,
    false,
    [0.082085006, 0.36787942, 0.60653067, 1, 1.2840255, 2.718282, 12.182493, 20.085537],
    [
      0.0820849986238988,
      0.36787944117144233,
      0.6065306597126334,
      1,
      1.2840254166877414,
      2.718281828459045,
      12.182493960703473,
      20.085536923187668,
    ],
  ],
  // np.log(X)
  log: [
    log,
    false,
    [NaN, NaN, NaN, -Infinity, -1.3862944, 0, 0.91629076, 1.0986123],
    [NaN, NaN, NaN, -Infinity, -1.3862943611198906, 0, 0.9162907318741551, 1.0986122886681098],
  ],
  // np.log1p(X)
  log1p: [
    log1p,
    false,
    [NaN, -Infinity, -0.6931472, 0, 0.22314356, 0.6931472, 1.252763, 1.3862944],
    [
      NaN,
      -Infinity,
      -0.6931471805599453,
      0,
      0.22314355131420976,
      0.6931471805599453,
      1.252762968495368,
      1.3862943611198906,
    ],
  ],
  // np.expm1(X)
  expm1: [
    expm1,
    false,
    [-0.91791505, -0.63212055, -0.39346933, 0, 0.28402543, 1.7182819, 11.182494, 19.085537],
    [
      -0.9179150013761012,
      -0.6321205588285577,
      -0.3934693402873666,
      0,
      0.2840254166877415,
      1.7182818284590453,
      11.182493960703473,
      19.085536923187668,
    ],
  ],
  // np.sqrt(X)
  sqrt: [
    sqrt,
    true,
    [NaN, NaN, NaN, 0, 0.5, 1, 1.5811388, 1.7320508],
    [NaN, NaN, NaN, 0, 0.5, 1, 1.5811388300841898, 1.7320508075688772],
  ],
  // np.sin(X)
  sin: [
    sin,
    false,
    [-0.5984722, -0.841471, -0.47942555, 0, 0.24740396, 0.841471, 0.5984722, 0.14112],
    [
      -0.5984721441039565,
      -0.8414709848078965,
      -0.479425538604203,
      0,
      0.24740395925452294,
      0.8414709848078965,
      0.5984721441039565,
      0.1411200080598672,
    ],
  ],
  // np.cos(X)
  cos: [
    cos,
    false,
    [-0.8011436, 0.5403023, 0.87758255, 1, 0.9689124, 0.5403023, -0.8011436, -0.9899925],
    [
      -0.8011436155469337,
      0.5403023058681398,
      0.8775825618903728,
      1,
      0.9689124217106447,
      0.5403023058681398,
      -0.8011436155469337,
      -0.9899924966004454,
    ],
  ],
  // np.tanh(X)
  tanh: [
    tanh,
    false,
    [-0.9866143, -0.7615942, -0.4621172, 0, 0.24491866, 0.7615942, 0.9866143, 0.9950548],
    [
      -0.9866142981514303,
      -0.7615941559557649,
      -0.46211715726000974,
      0,
      0.24491866240370913,
      0.7615941559557649,
      0.9866142981514303,
      0.9950547536867305,
    ],
  ],
  // np.abs(X)
  abs: [abs, true, [2.5, 1, 0.5, 0, 0.25, 1, 2.5, 3], [2.5, 1, 0.5, 0, 0.25, 1, 2.5, 3]],
  // np.square(X)
  square: [square, true, [6.25, 1, 0.25, 0, 0.0625, 1, 6.25, 9], [
    6.25,
    1,
    0.25,
    0,
    0.0625,
    1,
    6.25,
    9,
  ]],
  // np.sign(X)
  sign: [sign, true, [-1, -1, -1, 0, 1, 1, 1, 1], [-1, -1, -1, 0, 1, 1, 1, 1]],
  // np.floor(X)
  floor: [floor, true, [-3, -1, -1, 0, 0, 1, 2, 3], [-3, -1, -1, 0, 0, 1, 2, 3]],
  // np.ceil(X)
  ceil: [ceil, true, [-2, -1, -0, 0, 1, 1, 3, 3], [-2, -1, -0, 0, 1, 1, 3, 3]],
  // np.round(X)
  round: [round, true, [-2, -1, -0, 0, 0, 1, 2, 3], [-2, -1, -0, 0, 0, 1, 2, 3]],
};

for (const [name, [op, exact, want32, want64]] of Object.entries(UNARY)) {
  Deno.test(`${name}() matches NumPy in float32 and float64`, () => {
    for (
      const [dtype, want, tol] of [
        ["float32", want32, exact ? {} : F32],
        ["float64", want64, exact ? {} : F64],
      ] as const
    ) {
      const y = op(tensor(X, { dtype }));
      assertTensor(y, want, dtype, tol);
      // the shape is kept, also for 2-D and 0-d inputs
      assert.deepEqual(op(tensor([X.slice(0, 4), X.slice(4)], { dtype })).shape, [2, 4]);
      assert.deepEqual(op(tensor(0.25, { dtype })).shape, []);
    }
  });
}

Deno.test("neg, abs, square and sign work on int32 like NumPy", () => {
  // XI = np.array([-3, -1, 0, 2, 7], np.int32)
  const xi = tensor([-3, -1, 0, 2, 7], { dtype: "int32" });
  assertTensor(neg(xi), [3, 1, 0, -2, -7], "int32"); // np.negative(XI)
  assertTensor(abs(xi), [3, 1, 0, 2, 7], "int32"); // np.abs(XI)
  assertTensor(square(xi), [9, 1, 0, 4, 49], "int32"); // np.square(XI)
  assertTensor(sign(xi), [-1, -1, 0, 1, 1], "int32"); // np.sign(XI)
});

Deno.test("float-only unary ops reject int32 and name the op and dtype", () => {
  const xi = tensor([1, 2], { dtype: "int32" });
  const floatOnly = { exp, log, log1p, expm1, sqrt, sin, cos, tanh, floor, ceil, round };
  for (const [name, op] of Object.entries(floatOnly)) {
    assertThrowsMatch(
      () => op(xi),
      DTypeError,
      new RegExp(`^${name}\\(\\): expects a float32 or float64 tensor, got int32; cast it first`),
    );
  }
  assertThrowsMatch(() => exp(xi), DTypeError, /cast\(x, "float32"\)/);
});

Deno.test("numeric unary ops reject bool; logicalNot rejects numbers", () => {
  const b = tensor([true, false]);
  for (const [name, op] of Object.entries({ neg, abs, square, sign })) {
    assertThrowsMatch(() => op(b), DTypeError, new RegExp(`^${name}\\(\\): .*got bool`));
  }
  for (const op of [exp, log, sqrt, sin, floor, round]) {
    assert.throws(() => op(b), DTypeError);
  }
  assertThrowsMatch(
    () => logicalNot(ones([2])),
    DTypeError,
    /^logicalNot\(\): expects a bool tensor, got float32/,
  );
});

Deno.test("round() rounds halves to even, like np.round", () => {
  const r = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 2.4, -2.6, 0.49999997];
  // np.round(np.array(R, np.float32)) and np.round(np.array(R, np.float64)) agree:
  const want = [-2, -2, -0, 0, 2, 2, 4, 2, -3, 0];
  for (const dtype of ["float32", "float64"] as const) {
    const y = round(tensor(r, { dtype }));
    assertTensor(y, want, dtype);
    // np.signbit(np.round(-0.5)) is True: the sign of zero is kept
    assert.ok(Object.is(y.dataSync()[2], -0), "round(-0.5) is -0");
    assert.ok(Object.is(y.dataSync()[3], 0), "round(0.5) is +0");
  }
});

Deno.test("unary ops accept plain numbers (float32 scalars)", () => {
  assertTensor(exp(0), 1, "float32");
  assertTensor(neg(2), -2, "float32");
  assertTensor(sqrt(2), Math.SQRT2, "float32");
});

// ---------------------------------------------------------------- binary

// A = np.array([[1.5, -2, 3], [0.25, 4, -0.5]]); ROW = np.array([2, -0.5, 4]);
// COL = np.array([[2], [-3]]); S = np.array(3.0)   (each also cast to float32)
const A = [[1.5, -2, 3], [0.25, 4, -0.5]];
const OPERANDS = { ROW: [2, -0.5, 4], COL: [[2], [-3]], S: 3 } as const;

type BinaryOp = (a: TensorLike, b: TensorLike) => Tensor;
/** [op, np name, operand, float32 result, float64 result, exact?] */
const BINARY: [BinaryOp, string, keyof typeof OPERANDS, Want, Want, boolean][] = [
  [add, "add", "ROW", [[3.5, -2.5, 7], [2.25, 3.5, 3.5]], [[3.5, -2.5, 7], [2.25, 3.5, 3.5]], true],
  [add, "add", "COL", [[3.5, 0, 5], [-2.75, 1, -3.5]], [[3.5, 0, 5], [-2.75, 1, -3.5]], true],
  [add, "add", "S", [[4.5, 1, 6], [3.25, 7, 2.5]], [[4.5, 1, 6], [3.25, 7, 2.5]], true],
  [sub, "subtract", "ROW", [[-0.5, -1.5, -1], [-1.75, 4.5, -4.5]], [[-0.5, -1.5, -1], [
    -1.75,
    4.5,
    -4.5,
  ]], true],
  [sub, "subtract", "COL", [[-0.5, -4, 1], [3.25, 7, 2.5]], [[-0.5, -4, 1], [3.25, 7, 2.5]], true],
  [
    sub,
    "subtract",
    "S",
    [[-1.5, -5, 0], [-2.75, 1, -3.5]],
    [[-1.5, -5, 0], [-2.75, 1, -3.5]],
    true,
  ],
  [mul, "multiply", "ROW", [[3, 1, 12], [0.5, -2, -2]], [[3, 1, 12], [0.5, -2, -2]], true],
  [mul, "multiply", "COL", [[3, -4, 6], [-0.75, -12, 1.5]], [[3, -4, 6], [-0.75, -12, 1.5]], true],
  [mul, "multiply", "S", [[4.5, -6, 9], [0.75, 12, -1.5]], [[4.5, -6, 9], [0.75, 12, -1.5]], true],
  [div, "divide", "ROW", [[0.75, 4, 0.75], [0.125, -8, -0.125]], [[0.75, 4, 0.75], [
    0.125,
    -8,
    -0.125,
  ]], true],
  [
    div,
    "divide",
    "COL",
    [[0.75, -1, 1.5], [-0.083333336, -1.3333334, 0.16666667]],
    [[0.75, -1, 1.5], [-0.08333333333333333, -1.3333333333333333, 0.16666666666666666]],
    true,
  ],
  [
    div,
    "divide",
    "S",
    [[0.5, -0.6666667, 1], [0.083333336, 1.3333334, -0.16666667]],
    [[0.5, -0.6666666666666666, 1], [
      0.08333333333333333,
      1.3333333333333333,
      -0.16666666666666666,
    ]],
    true,
  ],
  [pow, "power", "ROW", [[2.25, NaN, 81], [0.0625, 0.5, 0.0625]], [[2.25, NaN, 81], [
    0.0625,
    0.5,
    0.0625,
  ]], false],
  [
    pow,
    "power",
    "COL",
    [[2.25, 4, 9], [64, 0.015625, -8]],
    [[2.25, 4, 9], [64, 0.015625, -8]],
    false,
  ],
  [pow, "power", "S", [[3.375, -8, 27], [0.015625, 64, -0.125]], [[3.375, -8, 27], [
    0.015625,
    64,
    -0.125,
  ]], false],
  [maximum, "maximum", "ROW", [[2, -0.5, 4], [2, 4, 4]], [[2, -0.5, 4], [2, 4, 4]], true],
  [maximum, "maximum", "COL", [[2, 2, 3], [0.25, 4, -0.5]], [[2, 2, 3], [0.25, 4, -0.5]], true],
  [maximum, "maximum", "S", [[3, 3, 3], [3, 4, 3]], [[3, 3, 3], [3, 4, 3]], true],
  [minimum, "minimum", "ROW", [[1.5, -2, 3], [0.25, -0.5, -0.5]], [[1.5, -2, 3], [
    0.25,
    -0.5,
    -0.5,
  ]], true],
  [minimum, "minimum", "COL", [[1.5, -2, 2], [-3, -3, -3]], [[1.5, -2, 2], [-3, -3, -3]], true],
  [minimum, "minimum", "S", [[1.5, -2, 3], [0.25, 3, -0.5]], [[1.5, -2, 3], [0.25, 3, -0.5]], true],
];

for (const [op, npName, operand, want32, want64, exact] of BINARY) {
  Deno.test(`${op.name}(A, ${operand}) matches np.${npName} (float32, float64)`, () => {
    for (const [dtype, want] of [["float32", want32], ["float64", want64]] as const) {
      const a = tensor(A, { dtype });
      const b = tensor(OPERANDS[operand], { dtype });
      const tol = exact ? {} : dtype === "float32" ? F32 : F64;
      assertTensor(op(a, b), want, dtype, tol);
      // the broadcast is symmetric in shape: op(b, a) has the same shape
      assert.deepEqual(op(b, a).shape, [2, 3]);
    }
  });
}

Deno.test("int32 arithmetic matches NumPy, including wraparound", () => {
  // AI = np.array([[7, -3, 0], [2, 5, -8]], np.int32); BI = np.array([2, -3, 5], np.int32)
  const ai = tensor([[7, -3, 0], [2, 5, -8]], { dtype: "int32" });
  const bi = tensor([2, -3, 5], { dtype: "int32" });
  assertTensor(add(ai, bi), [[9, -6, 5], [4, 2, -3]], "int32"); // np.add(AI, BI)
  assertTensor(sub(ai, bi), [[5, 0, -5], [0, 8, -13]], "int32"); // np.subtract(AI, BI)
  assertTensor(mul(ai, bi), [[14, 9, 0], [4, -15, -40]], "int32"); // np.multiply(AI, BI)
  assertTensor(maximum(ai, bi), [[7, -3, 5], [2, 5, 5]], "int32"); // np.maximum(AI, BI)
  assertTensor(minimum(ai, bi), [[2, -3, 0], [2, -3, -8]], "int32"); // np.minimum(AI, BI)
  // np.power(AI, np.array([2, 3, 1], np.int32))
  const pi = tensor([2, 3, 1], { dtype: "int32" });
  assertTensor(pow(ai, pi), [[49, -27, 0], [4, 125, -8]], "int32");
  // np.array([2**31 - 1], np.int32) + np.array([1], np.int32) -> [-2147483648]
  const big = tensor([2 ** 31 - 1], { dtype: "int32" });
  assertTensor(add(big, 1), [-2147483648], "int32");
  // np.array([65536], np.int32) * np.array([65536], np.int32) -> [0]
  assertTensor(mul(tensor([65536], { dtype: "int32" }), 65536), [0], "int32");
  // np.array([-2**31], np.int32) - np.array([1], np.int32) -> [2147483647]
  assertTensor(sub(tensor([-(2 ** 31)], { dtype: "int32" }), 1), [2147483647], "int32");
});

Deno.test("broadcasting: 0-d with 0-d, 3-D with 2-D, and empty axes", () => {
  // np.array(2.0) * np.array(3.0) -> 6.0, shape ()
  assertTensor(mul(tensor(2), tensor(3)), 6, "float32");
  // np.arange(6).reshape(2, 1, 3) + np.array([[10], [20], [30], [40]]) -> shape (2, 4, 3)
  const x = tensor([[[0, 1, 2]], [[3, 4, 5]]]);
  const y = tensor([[10], [20], [30], [40]]);
  const want = [
    [[10, 11, 12], [20, 21, 22], [30, 31, 32], [40, 41, 42]],
    [[13, 14, 15], [23, 24, 25], [33, 34, 35], [43, 44, 45]],
  ];
  assertTensor(add(x, y), want, "float32");
  assertTensor(add(y, x), want, "float32");
  // np.zeros((0, 3)) + np.ones(3) -> shape (0, 3); np.ones(1) + np.zeros(0) -> shape (0,)
  assertTensor(add(zeros([0, 3]), ones([3])), [], "float32", { shape: [0, 3] });
  assertTensor(add(ones([1]), zeros([0])), [], "float32");
  // a 0-d tensor against a 2-D one keeps the 2-D shape
  assert.deepEqual(sub(tensor(1), ones([2, 3])).shape, [2, 3]);
});

Deno.test("pow: C99's special cases, as NumPy and XLA have them (Math.pow gives NaN for the first five)", () => {
  const a = [1, 1, 1, -1, -1, NaN, 2, -2, 0.5];
  const b = [NaN, Infinity, -Infinity, Infinity, -Infinity, 0, Infinity, -Infinity, NaN];
  // np.power(a, b) in float32 and float64
  const want = [1, 1, 1, 1, 1, 1, Infinity, 0, NaN];
  for (const dtype of ["float32", "float64"] as const) {
    const f = (x: Tensor, y: Tensor) => pow(x, y);
    const [x, y] = [tensor(a, { dtype }), tensor(b, { dtype })];
    assertTensor(f(x, y), want, dtype);
    assertTensor(jit(f)(x, y), want, dtype);
  }
});

Deno.test("plain JS numbers take the tensor's dtype (float32, float64, int32)", () => {
  // x64 = np.array([0.1, 1/3, -2.5])
  const x64 = tensor([0.1, 1 / 3, -2.5], { dtype: "float64" });
  assertTensor(add(x64, 0.1), [0.2, 0.43333333333333335, -2.4], "float64"); // x64 + 0.1
  assertTensor(add(0.1, x64), [0.2, 0.43333333333333335, -2.4], "float64"); // 0.1 + x64
  assertTensor(sub(1, x64), [0.9, 0.6666666666666667, 3.5], "float64"); // 1 - x64
  assertTensor(div(1, x64), [10, 3, -0.4], "float64"); // 1 / x64
  // 2 ** x64
  assertTensor(
    pow(2, x64),
    [1.0717734625362931, 1.2599210498948732, 0.1767766952966369],
    "float64",
    F64,
  );
  // x32 = np.array([0.1, 1/3, -2.5], np.float32); NumPy 2 keeps float32 with Python floats
  const x32 = tensor([0.1, 1 / 3, -2.5]);
  assertTensor(add(x32, 0.1), [0.2, 0.43333334, -2.4], "float32"); // x32 + 0.1
  assertTensor(sub(1, x32), [0.9, 0.6666666, 3.5], "float32"); // 1 - x32
  assertTensor(div(1, x32), [10, 3, -0.4], "float32"); // 1 / x32
  assertTensor(pow(2, x32), [1.0717734, 1.2599211, 0.17677669], "float32", F32); // 2 ** x32
  assertTensor(x32.mul(2).add(1), [1.2, 1.6666667, -4], "float32"); // x32 * 2 + 1
  // np.array([1, 2, 3], np.int32) + 1 and 3 - np.array([1, 2, 3], np.int32) stay int32
  const xi = tensor([1, 2, 3], { dtype: "int32" });
  assertTensor(add(xi, 1), [2, 3, 4], "int32");
  assertTensor(sub(3, xi), [2, 1, 0], "int32");
  assertTensor(maximum(xi, 2), [2, 2, 3], "int32");
  // two numbers give a float32 scalar
  assertTensor(add(1, 2), 3, "float32");
});

// ---------------------------------------------------------------- NaN / Inf

Deno.test("maximum/minimum propagate NaN; Inf behaves like NumPy", () => {
  const a = tensor([NaN, 1, NaN, Infinity, -Infinity]);
  const b = tensor([1, NaN, NaN, 5, 5]);
  // np.maximum(a, b), np.minimum(a, b)
  assertTensor(maximum(a, b), [NaN, NaN, NaN, Infinity, 5], "float32");
  assertTensor(minimum(a, b), [NaN, NaN, NaN, 5, -Infinity], "float32");
  assertTensor(maximum(tensor([NaN], { dtype: "float64" }), 0), [NaN], "float64");
  // np.float32(1) / np.float32([0, -0.0]) -> [inf, -inf]; 0/0 -> nan; inf - inf -> nan
  assertTensor(div(1, tensor([0, -0])), [Infinity, -Infinity], "float32");
  assertTensor(div(0, tensor([0])), [NaN], "float32");
  assertTensor(sub(tensor([Infinity]), Infinity), [NaN], "float32");
  assertTensor(mul(tensor([Infinity]), 0), [NaN], "float32");
  assertTensor(exp(tensor([-Infinity, Infinity, NaN])), [0, Infinity, NaN], "float32");
});

// ---------------------------------------------------------------- comparisons

// P = np.array([1, 2, nan, -inf, 3], np.float32); Q = np.array([1, 3, nan, -inf, nan], np.float32)
// CI = np.array([[1], [3]], np.int32); RI = np.array([1, 2, 3], np.int32)
const COMPARE: [BinaryOp, string, Want, Want][] = [
  [equal, "equal", [true, false, false, true, false], [[true, false, false], [false, false, true]]],
  [notEqual, "not_equal", [false, true, true, false, true], [[false, true, true], [
    true,
    true,
    false,
  ]]],
  [greater, "greater", [false, false, false, false, false], [[false, false, false], [
    true,
    true,
    false,
  ]]],
  [greaterEqual, "greater_equal", [true, false, false, true, false], [[true, false, false], [
    true,
    true,
    true,
  ]]],
  [less, "less", [false, true, false, false, false], [[false, true, true], [false, false, false]]],
  [lessEqual, "less_equal", [true, true, false, true, false], [[true, true, true], [
    false,
    false,
    true,
  ]]],
];

for (const [op, npName, wantF, wantI] of COMPARE) {
  Deno.test(`${op.name}() matches np.${npName} (NaN, -Inf, int32 broadcasting)`, () => {
    const p = tensor([1, 2, NaN, -Infinity, 3]);
    const q = tensor([1, 3, NaN, -Infinity, NaN]);
    assertTensor(op(p, q), wantF, "bool"); // np.<op>(P, Q)
    assertTensor(op(p.cast("float64"), q.cast("float64")), wantF, "bool");
    const ci = tensor([[1], [3]], { dtype: "int32" });
    const ri = tensor([1, 2, 3], { dtype: "int32" });
    assertTensor(op(ci, ri), wantI, "bool"); // np.<op>(CI, RI)
  });
}

Deno.test("comparisons with NaN are false except notEqual, which is true", () => {
  const nan = tensor([NaN, NaN], { dtype: "float64" });
  for (const op of [equal, greater, greaterEqual, less, lessEqual]) {
    assertTensor(op(nan, nan), [false, false], "bool");
    assertTensor(op(nan, 0), [false, false], "bool");
  }
  assertTensor(notEqual(nan, nan), [true, true], "bool");
  assertTensor(notEqual(0, nan), [true, true], "bool");
});

Deno.test("comparisons on bool tensors and with numbers", () => {
  // np.equal([True, False, True], [True, True, False])
  assertTensor(
    equal(tensor([true, false, true]), tensor([true, true, false])),
    [true, false, false],
    "bool",
  );
  assertTensor(greater(tensor([1, 3]), 2), [false, true], "bool");
  assertTensor(lessEqual(2, tensor([1, 3])), [false, true], "bool");
  assertTensor(tensor([0, 1]).equal(0), [true, false], "bool");
});

// ---------------------------------------------------------------- logical

Deno.test("logicalAnd / logicalOr / logicalNot match NumPy with broadcasting", () => {
  // BA = np.array([[True], [False]]); BB = np.array([True, False, True])
  const ba = tensor([[true], [false]]);
  const bb = tensor([true, false, true]);
  // np.logical_and(BA, BB)
  assertTensor(logicalAnd(ba, bb), [[true, false, true], [false, false, false]], "bool");
  // np.logical_or(BA, BB)
  assertTensor(logicalOr(ba, bb), [[true, true, true], [true, false, true]], "bool");
  assertTensor(logicalNot(bb), [false, true, false], "bool"); // np.logical_not(BB)
  assertTensor(logicalAnd(bb, true), [true, false, true], "bool");
  assertTensor(logicalOr(bb, false), [true, false, true], "bool");
});

Deno.test("logical ops reject non-bool tensors", () => {
  assertThrowsMatch(
    () => logicalAnd(ones([2]), ones([2])),
    DTypeError,
    /^logicalAnd\(\): expects bool tensors, got float32/,
  );
  assertThrowsMatch(
    () => logicalOr(tensor([1], { dtype: "int32" }), tensor([0], { dtype: "int32" })),
    DTypeError,
    /^logicalOr\(\): expects bool tensors, got int32/,
  );
});

// ---------------------------------------------------------------- where

Deno.test("where() picks with broadcasting of all three inputs", () => {
  // x = np.array([[1.5, -2, 3], [0.25, 4, -0.5]], np.float32); np.where(x > 0, x, 0)
  const x = tensor(A);
  assertTensor(where(greater(x, 0), x, 0), [[1.5, 0, 3], [0.25, 4, 0]], "float32");
  // np.where([True, False, True], np.array([[1], [2]]), np.array([10, 20, 30]))
  assertTensor(
    where(tensor([true, false, true]), tensor([[1], [2]]), tensor([10, 20, 30])),
    [[1, 20, 1], [2, 20, 2]],
    "float32",
  );
  // np.where(np.array([[True], [False]]), np.array([1.5, 2.5, 3.5]), np.array(-1.0))
  assertTensor(
    where(tensor([[true], [false]]), tensor([1.5, 2.5, 3.5], { dtype: "float64" }), -1),
    [[1.5, 2.5, 3.5], [-1, -1, -1]],
    "float64",
  );
  // numbers only: float32; an int32 branch makes the number int32
  assertTensor(where(tensor([true, false]), 1, 0), [1, 0], "float32");
  assertTensor(
    where(tensor([false, true]), tensor([5, 6], { dtype: "int32" }), 0),
    [0, 6],
    "int32",
  );
  // a plain boolean condition broadcasts
  assertTensor(where(true, tensor([1, 2]), 0), [1, 2], "float32");
});

Deno.test("where() errors: non-bool condition, mismatched branches, bad broadcast", () => {
  assertThrowsMatch(
    () => where(ones([2]), 1, 0),
    DTypeError,
    /^where\(\): the condition must be a bool tensor, got float32; compare first, e\.g\. greater\(x, 0\)/,
  );
  assertThrowsMatch(
    () => where(tensor([1, 0], { dtype: "int32" }), 1, 0),
    DTypeError,
    /got int32/,
  );
  assertThrowsMatch(
    () => where(tensor([true]), ones([2]), ones([2], { dtype: "int32" })),
    DTypeError,
    /^where\(\): dtype mismatch: float32 and int32/,
  );
  assertThrowsMatch(
    () => where(tensor([true, false, true]), ones([2]), 0),
    ShapeError,
    /^where\(\): cannot broadcast shapes \[3\] and \[2\] and \[\]/,
  );
});

// ---------------------------------------------------------------- cast

Deno.test("cast() float → int32 truncates toward zero, like astype", () => {
  // np.array([-1.7, -0.5, 0.5, 1.7, 2.9, -2.9, 1e9]).astype(np.int32) (also via float32)
  const v = [-1.7, -0.5, 0.5, 1.7, 2.9, -2.9, 1e9];
  const want = [-1, 0, 0, 1, 2, -2, 1000000000];
  assertTensor(cast(tensor(v, { dtype: "float64" }), "int32"), want, "int32");
  assertTensor(cast(tensor(v), "int32"), want, "int32");
  assertTensor(tensor(v).cast("int32"), want, "int32");
});

Deno.test("cast() → bool is x != 0 (NaN is true), bool → numbers is 0/1", () => {
  // np.array([0, -0.0, 0.1, nan, -2, inf]).astype(bool)
  const x = tensor([0, -0, 0.1, NaN, -2, Infinity], { dtype: "float64" });
  assertTensor(cast(x, "bool"), [false, false, true, true, true, true], "bool");
  // np.array([0, 3, -1], np.int32).astype(bool)
  assertTensor(cast(tensor([0, 3, -1], { dtype: "int32" }), "bool"), [false, true, true], "bool");
  // np.array([True, False]).astype(np.int32 / np.float32 / np.float64)
  const b = tensor([true, false]);
  assertTensor(cast(b, "int32"), [1, 0], "int32");
  assertTensor(cast(b, "float32"), [1, 0], "float32");
  assertTensor(cast(b, "float64"), [1, 0], "float64");
});

Deno.test("cast() between numeric dtypes rounds like NumPy", () => {
  // np.array([16777217, -3, 2**31 - 1], np.int32).astype(np.float32)
  assertTensor(
    cast(tensor([16777217, -3, 2 ** 31 - 1], { dtype: "int32" }), "float32"),
    [1.6777216e+07, -3, 2.1474836e+09],
    "float32",
  );
  // np.array([0.1, 1/3, 1e-50, 1e50]).astype(np.float32)
  const y = cast(tensor([0.1, 1 / 3, 1e-50, 1e50], { dtype: "float64" }), "float32");
  assertTensor(y, [0.1, 0.33333334, 0, Infinity], "float32");
  // float32 → float64 is exact
  assertTensor(cast(tensor([0.1]), "float64"), [Math.fround(0.1)], "float64");
  assertTensor(cast(tensor([7, -8], { dtype: "int32" }), "float64"), [7, -8], "float64");
});

Deno.test("cast() float → int32 uses XLA's rule: NaN → 0, saturate beyond the range, else truncate", () => {
  // The rule (jax.numpy's astype(int32), XLA's convert): NaN → 0; x ≥ 2³¹ - 1 → 2147483647;
  // x ≤ -2³¹ → -2147483648; otherwise trunc(x). NumPy leaves out-of-range casts undefined
  // (x86 gives -2147483648 for all of them), so the expected values are written from the rule.
  const f64 = [
    NaN,
    Infinity,
    -Infinity,
    3e9,
    -3e9,
    1e300,
    2147483648,
    2147483647.5,
    2147483647,
    2147483646.9,
    -2147483648,
    -2147483648.5,
    -2147483649,
    -0.5,
    0.5,
    -1.7,
    -0,
  ];
  const want = [
    0,
    2147483647,
    -2147483648,
    2147483647,
    -2147483648,
    2147483647,
    2147483647,
    2147483647,
    2147483647,
    2147483646,
    -2147483648,
    -2147483648,
    -2147483648,
    0,
    0,
    -1,
    0,
  ];
  assertTensor(cast(tensor(f64, { dtype: "float64" }), "int32"), want, "int32");
  // float32: 2147483647.5 and 2147483647 round to 2³¹ on input; 2147483520 is the largest float32
  // below 2³¹ and -2147483904 the next one below -2³¹.
  const f32 = [NaN, Infinity, -Infinity, 3e9, -3e9, 2147483647.5, 2147483520, -2147483904, -0.5];
  assertTensor(
    cast(tensor(f32), "int32"),
    [0, 2147483647, -2147483648, 2147483647, -2147483648, 2147483647, 2147483520, -2147483648, 0],
    "int32",
  );
  // The reported case: -3e9 no longer flips sign.
  assertTensor(cast(tensor([-3e9]), "int32"), [-2147483648], "int32");
});

Deno.test("pow() with int32: exact powers modulo 2³² like NumPy; negative exponents raise", () => {
  const b = tensor([3, 3, 3, 3, 3], { dtype: "int32" });
  const e = tensor([21, 40, 33, 0, 31], { dtype: "int32" });
  // np.array([3]*5, np.int32) ** np.array([21, 40, 33, 0, 31], np.int32)
  assertTensor(pow(b, e), [1870418611, 689956897, -1504003197, 1, 1264544299], "int32");
  // np.array([-3, 2, 7], np.int32) ** np.array([33, 31, 12], np.int32)
  assertTensor(
    pow(tensor([-3, 2, 7], { dtype: "int32" }), tensor([33, 31, 12], { dtype: "int32" })),
    [1504003197, -2147483648, 956385313],
    "int32",
  );
  // np.array([2], np.int32) ** -1 raises ValueError("Integers to negative integer powers are not allowed.")
  const two = tensor([2], { dtype: "int32" });
  assertThrowsMatch(
    () => pow(two, -1),
    RangeError,
    /^pow\(\): integers to negative integer powers are not allowed \(exponent -1, int32 base\); cast the base to float first, e\.g\. pow\(cast\(x, "float32"\), -1\)$/,
  );
  assertThrowsMatch(
    () => pow(tensor([2, 3], { dtype: "int32" }), tensor([1, -2], { dtype: "int32" })),
    RangeError,
    /exponent -2 at flat index 1, int32 base/,
  );
  assertThrowsMatch(() => two.pow(-3), RangeError, /negative integer powers/);
  assertThrowsMatch(
    () => pow(2, tensor([-1], { dtype: "int32" })),
    RangeError,
    /exponent -1 at flat index 0/,
  );
  // Exponents 0 and up, floats, and float bases with negative exponents are fine.
  assertTensor(pow(two, 0), [1], "int32");
  assertTensor(pow(tensor([-2], { dtype: "int32" }), 3), [-8], "int32");
  assertTensor(pow(tensor([2, 4]), -1), [0.5, 0.25], "float32");
  assertTensor(pow(cast(two, "float64"), -2), [0.25], "float64");
});

Deno.test("cast() to the same dtype returns the tensor; unknown dtypes error", () => {
  const x = tensor([1, 2]);
  assert.equal(cast(x, "float32"), x);
  assertThrowsMatch(
    () => cast(x, "float16" as never),
    DTypeError,
    /^cast\(\): unknown dtype "float16"; use float32, float64, int32 or bool/,
  );
  assertTensor(cast(3, "int32"), 3, "int32");
});

// ---------------------------------------------------------------- errors

Deno.test("broadcast mismatch names the op, both shapes and the axis", () => {
  for (
    const [op, name] of [[add, "add"], [mul, "mul"], [less, "less"], [maximum, "maximum"]] as const
  ) {
    assertThrowsMatch(
      () => op(ones([2, 3]), ones([4])),
      ShapeError,
      new RegExp(
        `^${name}\\(\\): cannot broadcast shapes \\[2,3\\] and \\[4\\] \\(axis -1: 3 vs 4\\)$`,
      ),
    );
  }
  assertThrowsMatch(
    () => sub(ones([2, 3, 4]), ones([5, 1, 4])),
    ShapeError,
    /^sub\(\): cannot broadcast shapes \[2,3,4\] and \[5,1,4\] \(axis -3: 2 vs 5\)$/,
  );
});

Deno.test("dtype mismatch names both dtypes and suggests cast", () => {
  assertThrowsMatch(
    () => add(ones([2]), ones([2], { dtype: "int32" })),
    DTypeError,
    /^add\(\): dtype mismatch: float32 and int32; cast one first, e\.g\. cast\(x, "float32"\)$/,
  );
  assertThrowsMatch(
    () => mul(ones([2], { dtype: "float64" }), ones([2])),
    DTypeError,
    /^mul\(\): dtype mismatch: float64 and float32; .*cast\(/,
  );
  assertThrowsMatch(
    () => equal(tensor([true]), ones([1])),
    DTypeError,
    /^equal\(\): dtype mismatch: bool and float32/,
  );
});

Deno.test("arithmetic on bool tensors is an error", () => {
  const b = tensor([true, false]);
  for (
    const [op, name] of [[add, "add"], [sub, "sub"], [mul, "mul"], [pow, "pow"], [
      maximum,
      "maximum",
    ], [div, "div"]] as const
  ) {
    assertThrowsMatch(
      () => op(b, b),
      DTypeError,
      new RegExp(`^${name}\\(\\): arithmetic on bool tensors is not defined; cast them first`),
    );
  }
  assert.throws(() => add(b, 1), DTypeError);
});

Deno.test("div on int32 is an error that suggests a cast", () => {
  const xi = tensor([4, 2], { dtype: "int32" });
  assertThrowsMatch(
    () => div(xi, xi),
    DTypeError,
    /^div\(\): expects float tensors, got int32; cast them first, e\.g\. cast\(x, "float32"\)$/,
  );
  assert.throws(() => div(xi, 2), DTypeError);
});

Deno.test("a non-integer number with an int32 tensor is an error", () => {
  const xi = tensor([1, 2], { dtype: "int32" });
  assertThrowsMatch(
    () => add(xi, 1.5),
    DTypeError,
    /^add\(\): cannot combine the non-integer 1\.5 with an int32 tensor; cast the tensor first/,
  );
  assertThrowsMatch(() => mul(0.5, xi), DTypeError, /^mul\(\): .*non-integer 0\.5/);
  assertThrowsMatch(() => where(tensor([true, false]), xi, 0.25), DTypeError, /^where\(\)/);
  // whole numbers are fine
  assertTensor(add(xi, 2.0), [3, 4], "int32");
});

Deno.test("non-tensor arguments are a TypeError that says how to wrap arrays", () => {
  assert.throws(
    () => add([1, 2] as unknown as Tensor, 1),
    (e: unknown) =>
      e instanceof TypeError &&
      /^add\(\): expected a Tensor or a number.*tensor\(\.\.\.\)/.test(e.message),
  );
});

Deno.test("numbers that an int32 or bool tensor cannot hold are errors, not silent wraps", () => {
  const xi = tensor([1, 2], { dtype: "int32" });
  // NumPy 2: np.array([1], np.int32) + 2**40 raises OverflowError
  assertThrowsMatch(
    () => add(xi, 2 ** 40),
    RangeError,
    /^add\(\): the number 1099511627776 is out of range for an int32 tensor \(-2147483648\.\.2147483647\); cast the tensor first/,
  );
  assertThrowsMatch(() => sub(xi, 2 ** 31), RangeError, /out of range for an int32 tensor/);
  // np.array([2], np.int32) + 3e9 raises OverflowError too
  assertThrowsMatch(() => add(xi, 3e9), RangeError, /^add\(\): the number 3000000000 is out/);
  assertTensor(add(xi, -(2 ** 31)), [-2147483647, -2147483646], "int32");
  // with bool tensors only true/false (or 0/1) make sense: np.array([False]) < 0.5 is True,
  // which a 0.5 stored as bool (0) would get wrong
  const b = tensor([true, false]);
  assertThrowsMatch(
    () => less(b, 0.5),
    DTypeError,
    /^less\(\): cannot combine the number 0\.5 with a bool tensor; use true\/false, or cast the tensor first/,
  );
  assertThrowsMatch(() => equal(b, 257), DTypeError, /the number 257 with a bool tensor/);
  assertThrowsMatch(() => where(2, 1, 0), DTypeError, /^where\(\): cannot combine the number 2/);
  assertTensor(equal(b, 1), [true, false], "bool");
  assertTensor(logicalOr(b, 0), [true, false], "bool");
});
