/**
 * One table of op cases, keyed by primitive name, that feeds every suite
 * checking all primitives:
 *
 * - `grad`: float64 derivative checks, both modes, to second order, against
 *   central differences (tests/autodiff/primitives_test.ts);
 * - `backends`: the same function on `cpu`, `wasm` and `webgpu` from the same
 *   host inputs, forward, vjp and jvp (tests/backend/cross_backend_test.ts);
 * - `immutable`: the public functions that run the primitive, called on
 *   watched inputs that must come back unchanged, keyed by exported name
 *   (tests/ops/immutability_test.ts).
 *
 * The table is a `Record<PrimitiveName, OpCases>`: a primitive without an
 * entry fails `deno check` (tests/autodiff/primitives_test.ts shows it with
 * a `@ts-expect-error`). Composite ops (mean, logSoftmax, oneHot, …) ride
 * along under the primitive they mostly exercise.
 *
 * @module
 */

import {
  abs,
  add,
  argmax,
  argmin,
  argsort,
  broadcastTo,
  cast,
  ceil,
  concat,
  cos,
  cumsum,
  div,
  equal,
  erf,
  erfc,
  exp,
  expandDims,
  expm1,
  floor,
  greater,
  greaterEqual,
  lax,
  less,
  lessEqual,
  log,
  log1p,
  logicalAnd,
  logicalNot,
  logicalOr,
  logsumexp,
  matmul,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  neg,
  nn,
  notEqual,
  oneHot,
  pad,
  pow,
  random,
  reshape,
  round,
  sign,
  sin,
  slice,
  sqrt,
  square,
  stack,
  stopGradient,
  sub,
  sum,
  take,
  tanh,
  type Tensor,
  tensor,
  transpose,
  where,
} from "../mod.ts";
import type { PrimitiveName } from "../src/ops/registry.ts";
import { bind } from "../src/ops/primitive.ts";
import { unslicePrim } from "../src/ops/movement.ts";
import { scatterAddPrim } from "../src/ops/take.ts";
import { lcg, randn, randu } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
export type Fn = (...args: any[]) => Tensor;

// ---------------------------------------------------------------- gradient checks

/** A differentiable case: checked to second order in both modes, in float64. */
export interface Diff {
  readonly kind: "diff";
  readonly f: Fn;
  readonly args: () => Tensor[];
  readonly tol?: { eps?: number; atol?: number; rtol?: number };
}

/** A primitive whose derivative is zero wherever it exists (or whose output is not float). */
export interface Zero {
  readonly kind: "zero";
  /** For float-valued ones: a function whose gradient must be exactly zero. */
  readonly f?: Fn;
  readonly args?: () => Tensor[];
}

/** One derivative check. */
export type GradCase = Diff | Zero;

const d = (f: Fn, args: () => Tensor[], tol?: Diff["tol"]): Diff => ({
  kind: "diff",
  f,
  args,
  tol,
});
const z = (f?: Fn, args?: () => Tensor[]): Zero => ({ kind: "zero", f, args });

const x34 = () => [randn(1, [3, 4])];
const pos34 = () => [randu(2, [3, 4], 0.5, 2)];
const pair = () => [randn(3, [3, 4]), randn(4, [4])]; // broadcasting [3,4] with [4]
const cross = () => [randn(5, [3, 1]), randn(6, [1, 4])]; // broadcasting both ways
const mask = () => greater(randn(7, [3, 4]), 0);

// ---------------------------------------------------------------- cross-backend

/** A host-side input: values, shape, dtype (made into a tensor on each backend in turn). */
export type Input = { values: number[]; shape: number[]; dtype: "float32" | "int32" | "bool" };

/** Seeded float32 values in [lo, hi). */
export const f32 = (seed: number, shape: number[], lo = -2, hi = 2): Input => {
  const r = lcg(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { values: Array.from({ length: n }, () => lo + (hi - lo) * r()), shape, dtype: "float32" };
};

/** int32 values (1-D unless a shape is given). */
export const i32 = (values: number[], shape = [values.length]): Input => ({
  values,
  shape,
  dtype: "int32",
});

/** The tensor of a host input, on the current backend. */
export const make = (x: Input): Tensor => tensor(x.values, { shape: x.shape, dtype: x.dtype });

/** A function run on every backend from the same host inputs. */
export interface BackendCase {
  /** The function of float32 tensors under test (extra constant inputs are closed over). */
  readonly f: (...xs: Tensor[]) => Tensor;
  /** Its differentiable float32 inputs. */
  readonly args: Input[];
  /** Forward only (non-differentiable outputs). */
  readonly forwardOnly?: boolean;
}

const A = f32(1, [3, 4]);
const B = f32(2, [4]);
const C = f32(3, [3, 1]);
const POS = f32(4, [3, 4], 0.5, 2);

// ---------------------------------------------------------------- immutability

/** Watches an input: records a snapshot of it and returns it unchanged. */
export interface Watcher {
  in<T>(value: T): T;
}

/** Calls a public function on watched inputs. */
export type ImmutableCase = (w: Watcher) => unknown;

/** Fresh inputs for every immutability case: negatives, fractions, zeros, no NaN. */
export const FRESH = {
  F: (): Tensor => tensor([[1.5, -2, 0.25], [3, 0, -0.5]]),
  /** Positive. */
  P: (): Tensor => tensor([[1.5, 2, 0.25], [3, 0.5, 4]]),
  ROW: (): Tensor => tensor([2, -1, 0.5]),
  F64: (): Tensor => tensor([[0.3, -1.2, 2], [0.7, 0.1, -0.4]], { dtype: "float64" }),
  I32: (): Tensor => tensor([[3, -1, 0], [2, 7, -4]], { dtype: "int32" }),
  BOOL: (): Tensor => tensor([[true, false, true], [false, false, true]]),
  IDX: (): Tensor => tensor([1, 0, 1], { dtype: "int32" }),
  KEY: (): Tensor => random.key(7),
};
const { F, P, ROW, F64, I32, BOOL, IDX, KEY } = FRESH;

// ---------------------------------------------------------------- the table

/** Everything the suites check about one primitive. */
export interface OpCases {
  /** Derivative checks in float64 (at least one). */
  readonly grad: readonly GradCase[];
  /** cpu vs wasm and webgpu, by test name (unique across the table). */
  readonly backends: Readonly<Record<string, BackendCase>>;
  /**
   * Public functions that run the primitive, by exported name (`random.bits`
   * for namespaced ones; internal primitives are bound directly, under a
   * name that is not an identifier).
   */
  readonly immutable: Readonly<Record<string, ImmutableCase>>;
}

/** The type of the table: one entry per primitive. */
export type OpCaseTable = Record<PrimitiveName, OpCases>;

const unsliceParams = { starts: [1, 3], steps: [1, -2], shape: [2, 2], full: [3, 4] };

/** Every primitive's cases. */
export const OP_CASES: OpCaseTable = {
  // ------------------------------------------------------------ unary
  neg: {
    grad: [d(neg, x34)],
    backends: { neg: { f: neg, args: [A] } },
    immutable: { neg: (w) => neg(w.in(I32())) },
  },
  exp: {
    grad: [d(exp, x34)],
    backends: { exp: { f: exp, args: [A] } },
    immutable: { exp: (w) => exp(w.in(F())) },
  },
  log: {
    grad: [d(log, pos34)],
    backends: { log: { f: log, args: [POS] } },
    immutable: { log: (w) => log(w.in(P())) },
  },
  log1p: {
    grad: [d(log1p, () => [randu(8, [3, 4], -0.5, 2)])],
    backends: { log1p: { f: log1p, args: [POS] } },
    immutable: { log1p: (w) => log1p(w.in(P())) },
  },
  expm1: {
    grad: [d(expm1, x34)],
    backends: { expm1: { f: expm1, args: [A] } },
    immutable: { expm1: (w) => expm1(w.in(F64())) },
  },
  sqrt: {
    grad: [d(sqrt, pos34)],
    backends: { sqrt: { f: sqrt, args: [POS] } },
    immutable: { sqrt: (w) => sqrt(w.in(P())) },
  },
  sin: {
    grad: [d(sin, x34)],
    backends: { sin: { f: sin, args: [A] } },
    immutable: { sin: (w) => sin(w.in(F())) },
  },
  cos: {
    grad: [d(cos, x34)],
    backends: { cos: { f: cos, args: [A] } },
    immutable: { cos: (w) => cos(w.in(F64())) },
  },
  tanh: {
    grad: [d(tanh, x34)],
    backends: { tanh: { f: tanh, args: [A] } },
    immutable: { tanh: (w) => tanh(w.in(F())) },
  },
  sigmoid: {
    // Both branches (x ≥ 0 and below) and the tails, where σ′ = σ(1 − σ) is small.
    grad: [d(nn.sigmoid, x34), d(nn.sigmoid, () => [randu(48, [3, 4], -12, 12)])],
    backends: { sigmoid: { f: nn.sigmoid, args: [f32(22, [3, 4], -12, 12)] } },
    immutable: { "nn.sigmoid": (w) => nn.sigmoid(w.in(F())) },
  },
  erf: {
    grad: [d(erf, x34), d(erf, () => [randu(46, [3, 4], -4, 4)])],
    backends: { erf: { f: erf, args: [f32(20, [3, 4], -4, 4)] } },
    immutable: { erf: (w) => erf(w.in(F())) },
  },
  erfc: {
    grad: [d(erfc, x34), d(erfc, () => [randu(47, [3, 4], 1, 6)])],
    backends: { erfc: { f: erfc, args: [f32(21, [3, 4], -3, 9)] } },
    immutable: { erfc: (w) => erfc(w.in(F64())) },
  },
  abs: {
    grad: [d(abs, () => [mul(randu(9, [3, 4], 0.5, 2), sign(randn(10, [3, 4])))])],
    backends: { abs: { f: abs, args: [A] } },
    immutable: { abs: (w) => abs(w.in(F())) },
  },
  square: {
    grad: [d(square, x34)],
    backends: { square: { f: square, args: [A] } },
    immutable: { square: (w) => square(w.in(F())) },
  },
  sign: {
    grad: [z(sign, x34)],
    backends: {
      "sign, floor, round": {
        f: (x) => add(add(sign(x), floor(x)), round(mul(x, 3))),
        args: [A],
        forwardOnly: true,
      },
    },
    immutable: { sign: (w) => sign(w.in(F())) },
  },
  floor: {
    grad: [z(floor, x34)],
    backends: { floor: { f: floor, args: [A], forwardOnly: true } },
    immutable: { floor: (w) => floor(w.in(F())) },
  },
  ceil: {
    grad: [z(ceil, x34)],
    backends: {
      "ceil, logical ops, greaterEqual, lessEqual": {
        f: (a, b) =>
          add(
            ceil(a),
            cast(
              logicalOr(logicalAnd(greaterEqual(a, b), logicalNot(lessEqual(b, 0))), equal(a, 0)),
              "float32",
            ),
          ),
        args: [A, B],
        forwardOnly: true,
      },
    },
    immutable: { ceil: (w) => ceil(w.in(F())) },
  },
  round: {
    grad: [z(round, x34)],
    backends: { round: { f: (x) => round(mul(x, 3)), args: [A], forwardOnly: true } },
    immutable: { round: (w) => round(w.in(F())) },
  },
  logicalNot: {
    grad: [z()],
    backends: {
      logicalNot: { f: (a) => logicalNot(greater(a, 0)), args: [A], forwardOnly: true },
    },
    immutable: { logicalNot: (w) => logicalNot(w.in(BOOL())) },
  },
  // ------------------------------------------------------------ binary, with broadcasting
  add: {
    grad: [d(add, pair), d(add, cross)],
    backends: { "add (broadcast)": { f: add, args: [A, B] } },
    immutable: { add: (w) => [add(w.in(F()), w.in(ROW())), add(w.in(I32()), 1)] },
  },
  sub: {
    grad: [d(sub, pair), d(sub, cross)],
    backends: { "sub (broadcast both)": { f: sub, args: [C, B] } },
    immutable: { sub: (w) => sub(1, w.in(F())) },
  },
  mul: {
    grad: [d(mul, pair), d(mul, cross)],
    backends: { "mul (broadcast)": { f: mul, args: [A, C] } },
    immutable: { mul: (w) => mul(w.in(F()), w.in(ROW())) },
  },
  div: {
    grad: [
      d(div, () => [randn(11, [3, 4]), randu(12, [4], 0.5, 2)]),
      d(div, () => [randn(13, [3, 1]), randu(14, [1, 4], 0.5, 2)]),
    ],
    backends: { "div (broadcast)": { f: div, args: [A, f32(5, [4], 0.5, 2)] } },
    immutable: { div: (w) => div(w.in(P()), w.in(ROW())) },
  },
  pow: {
    grad: [d(pow, () => [randu(15, [3, 4], 0.5, 2), randn(16, [4])])],
    backends: {
      pow: { f: pow, args: [POS, f32(6, [4], -1, 2)] },
      "int32 pow, exact modulo 2³²": {
        // np.array([3, 3, -3, 7, 2, -1, 1], np.int32) ** np.array([21, 40, 33, 12, 31, 7, 9], np.int32)
        // = [1870418611, 689956897, 1504003197, 956385313, -2147483648, -1, 1]
        f: () => pow(make(i32([3, 3, -3, 7, 2, -1, 1])), make(i32([21, 40, 33, 12, 31, 7, 9]))),
        args: [],
        forwardOnly: true,
      },
    },
    immutable: { pow: (w) => pow(w.in(P()), w.in(ROW())) },
  },
  maximum: {
    grad: [d(maximum, pair), d(maximum, cross)],
    backends: { maximum: { f: maximum, args: [A, B] } },
    immutable: { maximum: (w) => maximum(w.in(F()), w.in(ROW())) },
  },
  minimum: {
    grad: [d(minimum, pair), d(minimum, cross)],
    backends: { minimum: { f: minimum, args: [C, A] } },
    immutable: { minimum: (w) => minimum(w.in(I32()), 0) },
  },
  equal: {
    grad: [z()],
    backends: {
      equal: { f: (a, b) => equal(floor(a), floor(b)), args: [A, B], forwardOnly: true },
      oneHot: { f: (x) => mul(x, oneHot(make(i32([0, 3, 1])), 4)), args: [A] },
    },
    immutable: { equal: (w) => equal(w.in(F()), w.in(ROW())) },
  },
  notEqual: {
    grad: [z()],
    backends: { notEqual: { f: (a, b) => notEqual(a, b), args: [A, B], forwardOnly: true } },
    immutable: { notEqual: (w) => notEqual(w.in(BOOL()), w.in(BOOL())) },
  },
  greater: {
    grad: [z()],
    backends: {
      comparisons: {
        f: (a, b) =>
          add(cast(greater(a, b), "float32"), cast(notEqual(less(a, 0), equal(b, b)), "float32")),
        args: [A, B],
        forwardOnly: true,
      },
    },
    immutable: { greater: (w) => greater(w.in(F()), 0) },
  },
  greaterEqual: {
    grad: [z()],
    backends: {
      greaterEqual: { f: (a, b) => greaterEqual(a, b), args: [A, B], forwardOnly: true },
    },
    immutable: { greaterEqual: (w) => greaterEqual(w.in(I32()), w.in(I32())) },
  },
  less: {
    grad: [z()],
    backends: { less: { f: (a, b) => less(a, b), args: [C, A], forwardOnly: true } },
    immutable: { less: (w) => less(w.in(F()), w.in(ROW())) },
  },
  lessEqual: {
    grad: [z()],
    backends: { lessEqual: { f: (a) => lessEqual(a, 0.5), args: [A], forwardOnly: true } },
    immutable: { lessEqual: (w) => lessEqual(w.in(F64()), 0) },
  },
  logicalAnd: {
    grad: [z()],
    backends: {
      logicalAnd: {
        f: (a, b) => logicalAnd(greater(a, 0), less(b, 0.5)),
        args: [A, B],
        forwardOnly: true,
      },
    },
    immutable: {
      logicalAnd: (w) => logicalAnd(w.in(BOOL()), w.in(tensor([true, false, false]))),
    },
  },
  logicalOr: {
    grad: [z()],
    backends: {
      logicalOr: {
        f: (a, b) => logicalOr(greater(a, 0), less(b, 0.5)),
        args: [A, B],
        forwardOnly: true,
      },
    },
    immutable: { logicalOr: (w) => logicalOr(w.in(BOOL()), true) },
  },
  where: {
    grad: [
      d((a: Tensor, b: Tensor) => where(mask(), a, b), pair),
      d((a: Tensor, b: Tensor) => where(mask(), a, b), () => [randn(17, [3, 1]), randn(18, [])]),
    ],
    backends: { where: { f: (a, b) => where(greater(a, 0), a, b), args: [A, B] } },
    immutable: { where: (w) => where(w.in(BOOL()), w.in(F()), w.in(ROW())) },
  },
  cast: {
    // float64 -> float32 -> float64 rounds: a wider step keeps the rounding
    // error of the central difference (~6e-8·|x|/eps) below the tolerance.
    grad: [
      d((x: Tensor) => cast(cast(x, "float32"), "float64"), x34, {
        eps: 1e-2,
        atol: 1e-4,
        rtol: 1e-4,
      }),
    ],
    backends: {
      "cast float32 → int32 → float32": {
        f: (x) => cast(cast(mul(x, 10), "int32"), "float32"),
        args: [A],
        forwardOnly: true,
      },
      "cast float32 → int32 at the int32 edges (XLA's rule: NaN → 0, saturate, truncate)": {
        f: (x) => cast(x, "int32"),
        args: [{
          // float32 inputs: 2147483647.5 rounds to 2³¹, 2147483520 is the largest below it
          values: [
            2 ** 31,
            -(2 ** 31),
            2147483647.5,
            2147483520,
            -2147483904,
            3e9,
            -3e9,
            1e20,
            -1e20,
            NaN,
            Infinity,
            -Infinity,
            -0.5,
            0.5,
            -1.5,
            16777217,
          ],
          shape: [16],
          dtype: "float32",
        }],
        forwardOnly: true,
      },
    },
    immutable: {
      cast: (
        w,
      ) => [cast(w.in(F()), "int32"), cast(w.in(BOOL()), "float32"), cast(w.in(F64()), "bool")],
    },
  },
  // ------------------------------------------------------------ reductions
  sum: {
    grad: [
      d((x: Tensor) => sum(x), x34),
      d((x: Tensor) => sum(x, 1), x34),
      d((x: Tensor) => sum(x, [0, 2], { keepdims: true }), () => [randn(19, [2, 3, 4])]),
    ],
    backends: {
      "sum over axes": { f: (x) => sum(x, [0, 2], { keepdims: true }), args: [f32(7, [2, 3, 4])] },
      "sum all": { f: (x) => sum(x), args: [f32(8, [5, 7])] },
      mean: { f: (x) => mean(x, 0), args: [A] },
    },
    immutable: { sum: (w) => [sum(w.in(F()), w.in([0, 1])), sum(w.in(BOOL()), 0)] },
  },
  logsumexp: {
    grad: [
      d((x: Tensor) => logsumexp(x), x34),
      d((x: Tensor) => logsumexp(x, -1, { keepdims: true }), x34),
      d((x: Tensor) => logsumexp(x, 0), x34),
      d((x: Tensor) => logsumexp(x, [1, 2]), () => [randn(43, [2, 3, 4])]),
      d((x: Tensor) => logsumexp(x, [0, 2]), () => [randn(44, [2, 3, 4])]), // not contiguous
    ],
    backends: {
      logsumexp: { f: (x) => logsumexp(x, -1), args: [f32(9, [3, 5], -50, 50)] },
      "logsumexp (axis 0)": { f: (x) => logsumexp(x, 0), args: [f32(18, [4, 3], -50, 50)] },
      "logsumexp (axes 0 and 2: not contiguous, composed from kernels)": {
        f: (x) => logsumexp(x, [0, 2]),
        args: [f32(24, [2, 3, 4], -50, 50)],
      },
      "logSoftmax, wide rows": { f: (x) => nn.logSoftmax(x), args: [f32(19, [3, 37], -30, 30)] },
      "softmax cross entropy": {
        f: (logits) => nn.softmaxCrossEntropy(logits, make(i32([1, 0, 3]))),
        args: [A],
      },
    },
    immutable: { logsumexp: (w) => logsumexp(w.in(F()), 1) },
  },
  max: {
    grad: [
      d((x: Tensor) => max(x), x34),
      d((x: Tensor) => max(x, -1, { keepdims: true }), x34),
      d((x: Tensor) => max(x, [0, 2]), () => [randn(20, [2, 3, 4])]),
    ],
    backends: { "max, min": { f: (x) => add(max(x, 1), min(x, 1)), args: [A] } },
    immutable: { max: (w) => max(w.in(F()), w.in([-1])) },
  },
  min: {
    grad: [
      d((x: Tensor) => min(x, 0), x34),
      d((x: Tensor) => min(x, [1, 2]), () => [randn(21, [2, 3, 4])]),
    ],
    backends: { min: { f: (x) => min(x, [0, 2]), args: [f32(25, [2, 3, 4])] } },
    immutable: { min: (w) => min(w.in(I32())) },
  },
  argmax: {
    grad: [z((x: Tensor) => cast(argmax(x, 1), "float64"), x34)],
    backends: {
      "argmax, argmin": {
        f: (x) => add(cast(argmax(x, -1), "float32"), cast(argmin(x, 0), "float32").sum()),
        args: [A],
        forwardOnly: true,
      },
    },
    immutable: { argmax: (w) => argmax(w.in(F()), 1) },
  },
  argmin: {
    grad: [z((x: Tensor) => cast(argmin(x, 1), "float64"), x34)],
    backends: { argmin: { f: (x) => argmin(x, 1), args: [A], forwardOnly: true } },
    immutable: { argmin: (w) => argmin(w.in(F())) },
  },
  // ------------------------------------------------------------ movement
  reshape: {
    grad: [d((x: Tensor) => reshape(x, [2, -1]), x34)],
    backends: {
      "reshape, transpose": { f: (x) => transpose(reshape(x, [2, 2, 3]), [2, 0, 1]), args: [A] },
    },
    immutable: { reshape: (w) => reshape(w.in(F()), w.in([3, -1])) },
  },
  transpose: {
    grad: [
      d((x: Tensor) => transpose(x), x34),
      d((x: Tensor) => transpose(x, [1, 2, 0]), () => [randn(22, [2, 3, 4])]),
    ],
    backends: { transpose: { f: (x) => transpose(x), args: [A] } },
    immutable: { transpose: (w) => transpose(w.in(F()), w.in([1, 0])) },
  },
  broadcastTo: {
    grad: [d((x: Tensor) => broadcastTo(x, [2, 3, 4]), () => [randn(23, [3, 1])])],
    backends: { broadcastTo: { f: (x) => broadcastTo(x, [2, 3, 4]), args: [C] } },
    immutable: { broadcastTo: (w) => broadcastTo(w.in(ROW()), w.in([4, 3])) },
  },
  slice: {
    grad: [
      d((x: Tensor) => slice(x, [1, -1], [3, null], [1, -2]), x34),
      d((x: Tensor) => slice(x, [0, 1], [2, 3]), x34),
    ],
    backends: {
      "slice (negative step)": { f: (x) => slice(x, [2, -1], [0, null], [-1, -2]), args: [A] },
    },
    immutable: {
      slice: (w) => slice(w.in(F()), w.in([null, -1]), w.in([null, 0]), w.in([-1, -1])),
    },
  },
  unslice: {
    grad: [
      d((g: Tensor) => bind(unslicePrim, [g], unsliceParams), () => [randn(24, [2, 2])]),
      d((x: Tensor) => pad(x, [[1, 0], [2, 1]], { value: 2 }), x34),
    ],
    backends: {
      "unslice (the transpose of slice)": {
        f: (g) => bind(unslicePrim, [g], unsliceParams),
        args: [f32(26, [2, 2])],
      },
      "pad (constant, with a value)": {
        f: (x) => pad(x, [[1, 0], [2, 1]], { value: -1.5 }),
        args: [f32(28, [2, 3])],
      },
    },
    immutable: {
      "bind(unslicePrim)": (w) =>
        bind(unslicePrim, [w.in(tensor([[1, -2], [0.5, 3]]))], unsliceParams),
      pad: (w) => [pad(w.in(F()), w.in([[1, 0], [2, 1]])), pad(w.in(F()), 1, { value: -1 })],
    },
  },
  concat: {
    grad: [
      d(
        (a: Tensor, b: Tensor, c: Tensor) => concat([a, b, c], 1),
        () => [randn(25, [2, 1]), randn(26, [2, 3]), randn(27, [2, 2])],
      ),
    ],
    backends: {
      "concat, stack, expandDims": {
        f: (a, c) => stack([concat([a, c], 1), concat([c, a], 1)], 1).add(expandDims(c, 1)),
        args: [A, C],
      },
    },
    immutable: { concat: (w) => concat(w.in([F(), F()]), 1) },
  },
  take: {
    grad: [
      // repeated and negative indices: the gradient must accumulate
      d((x: Tensor) => take(x, [2, 0, 2, -1]), x34),
      d((x: Tensor) => take(x, tensor([[1, 1], [3, 0]], { dtype: "int32" }), 1), x34),
      // gathers with host-built indices: pad's copying modes, overlapping pooling windows
      d((x: Tensor) => pad(x, [[2, 1], [3, 4]], { mode: "reflect" }), x34),
      d((x: Tensor) => lax.reduceWindow(x, -Infinity, "max", [2, 3], [1, 1], "SAME"), x34),
      d((x: Tensor) => lax.reduceWindow(x, 0, "sum", [2, 2], [1, 2], [[1, 0], [1, 1]]), x34),
    ],
    backends: {
      "take (repeated, negative)": { f: (x) => take(x, make(i32([2, 0, 2, -1])), 0), args: [A] },
      "take along axis 1": { f: (x) => take(x, make(i32([3, 3, 0, 1], [2, 2])), 1), args: [A] },
      "pad (edge, symmetric, wrap)": {
        f: (x) =>
          pad(x, [[1, 2], [0, 3]], { mode: "edge" })
            .add(pad(x, [[2, 1], [1, 2]], { mode: "symmetric" }))
            .add(pad(x, [[3, 0], [2, 1]], { mode: "wrap" })),
        args: [A],
      },
      "reduceWindow max 3x3 stride 2 SAME, sum with init": {
        f: (x) =>
          lax.reduceWindow(x, -Infinity, "max", [3, 3], [2, 2], "SAME")
            .add(lax.reduceWindow(x, 1, "sum", [2, 3], [2, 2], "SAME")),
        args: [A],
      },
      // ties everywhere: each window's first maximum gets the gradient, on every backend
      "maxPool2d with ties (first maximum)": {
        f: (x) => nn.maxPool2d(x, { window: 2, stride: 1, padding: 1 }),
        args: [{
          values: [1, 2, 2, 0, 2, 1, 2, 2, 0, 1, 2, 2, 1, 1, 0, 2, 2, 1, 0, 2],
          shape: [1, 2, 2, 5],
          dtype: "float32",
        }],
      },
      // non-overlapping windows (stride = window) take the transpose path; ties again
      "maxPool2d 2×2 stride 2 and avgPool2d 2×3, non-overlapping, with ties": {
        f: (x) =>
          nn.maxPool2d(x, { window: 2 }).sum().add(nn.avgPool2d(x, { window: [2, 3] }).sum()),
        args: [{
          values: [1, 2, 2, 0, 2, 1, 2, 2, 0, 1, 2, 2, 1, 1, 0, 2, 2, 1, 0, 2, 1, 2, 0, 2],
          shape: [1, 2, 2, 6],
          dtype: "float32",
        }],
      },
    },
    immutable: {
      take: (w) => [take(w.in(F()), w.in(IDX()), 1), take(w.in(F()), w.in([1, -1]))],
      "lax.reduceWindow": (w) =>
        lax.reduceWindow(w.in(F()), 0, "max", w.in([2, 2]), w.in([1, 1]), w.in([[1, 0], [0, 1]])),
    },
  },
  scatterAdd: {
    grad: [
      d(
        (g: Tensor) =>
          bind(scatterAddPrim, [g, tensor([2, 0, 2], { dtype: "int32" })], {
            axis: 0,
            size: 4,
            indexRank: 1,
          }),
        () => [randn(28, [3, 5])],
      ),
    ],
    backends: {
      "scatterAdd (the transpose of take; repeated indices)": {
        f: (g) =>
          bind(scatterAddPrim, [g, make(i32([2, 0, 2]))], { axis: 0, size: 4, indexRank: 1 }),
        args: [f32(27, [3, 5])],
      },
    },
    immutable: {
      "bind(scatterAddPrim)": (w) =>
        bind(scatterAddPrim, [w.in(F()), w.in(IDX())], { axis: 1, size: 2, indexRank: 1 }),
    },
  },
  // ------------------------------------------------------------ linear algebra
  matmul: {
    grad: [
      d(matmul, () => [randn(29, [3, 4]), randn(30, [4, 2])]),
      d(matmul, () => [randn(31, [2, 3, 4]), randn(32, [4, 5])]), // broadcast batch
      d(matmul, () => [randn(33, [3, 4]), randn(34, [2, 1, 4, 2])]),
      d(matmul, () => [randn(35, [4]), randn(36, [4, 3])]), // 1-D left
      // operands read transposed (the rules swap which operand is transposed)
      d((a, b) => matmul(a, b, { transposeA: true }), () => [randn(37, [4, 3]), randn(38, [4, 2])]),
      d((a, b) => matmul(a, b, { transposeB: true }), () => [randn(39, [3, 4]), randn(40, [2, 4])]),
      d(
        (a, b) => matmul(a, b, { transposeA: true, transposeB: true }),
        () => [randn(41, [2, 4, 3]), randn(42, [1, 5, 4])],
      ),
      // convolutions: im2col gathers contracted by (batched) products
      d(
        (x, w) =>
          lax.convGeneralDilated(x, w, {
            windowStrides: [2, 1],
            padding: "SAME",
            lhsDilation: [1, 2],
            rhsDilation: [2, 1],
            featureGroupCount: 2,
          }),
        () => [randn(43, [1, 4, 5, 3]), randn(44, [2, 2, 2, 2])],
      ),
      d(
        (x, w) => nn.convTranspose2d(x, w, { stride: 2, padding: 1, outputPadding: 1 }),
        () => [randn(45, [1, 2, 3, 3]), randn(46, [2, 3, 3, 3])],
      ),
    ],
    backends: {
      "matmul (batched broadcast)": {
        f: (a, b) => matmul(a, b),
        args: [f32(10, [2, 3, 5]), f32(11, [5, 4])],
      },
      "matmul (odd sizes)": {
        f: (a, b) => matmul(a, b),
        args: [f32(12, [17, 33]), f32(13, [33, 9])],
      },
      "matmul (transposed operands)": {
        f: (a, b) =>
          add(
            matmul(a, b, { transposeA: true }),
            matmul(b, transpose(a, [0, 2, 1]), { transposeA: true, transposeB: true }),
          ),
        args: [f32(14, [2, 33, 17]), f32(15, [33, 17])],
      },
      "matmul (transposed, big enough for the GEMM)": {
        f: (a, b) => matmul(a, b, { transposeA: true }),
        args: [f32(16, [100, 78]), f32(17, [100, 50])],
      },
      "conv2d (stride 2, padding 1, dilation, 2 groups)": {
        f: (x, w) => nn.conv2d(x, w, { stride: 2, padding: 1, dilation: [1, 2], groups: 2 }),
        args: [f32(18, [2, 4, 7, 6]), f32(19, [6, 2, 3, 3])],
      },
      // small enough that float32 sums of the weights' gradient stay within the tolerance
      "conv2d (NHWC, 5×5 kernels)": {
        f: (x, w) => nn.conv2d(x, w, { layout: "NHWC" }),
        args: [f32(20, [2, 10, 9, 1]), f32(21, [5, 5, 1, 6])],
      },
      "convTranspose2d (stride 2, padding 1, outputPadding 1)": {
        f: (x, w) => nn.convTranspose2d(x, w, { stride: 2, padding: 1, outputPadding: 1 }),
        args: [f32(22, [2, 3, 4, 4]), f32(23, [3, 2, 3, 3])],
      },
    },
    immutable: {
      matmul: (w) => matmul(w.in(F()), w.in(F().T)),
      "lax.convGeneralDilated": (w) =>
        lax.convGeneralDilated(w.in(F().reshape([1, 1, 2, 3])), w.in(P().reshape([1, 1, 3, 2])), {
          windowStrides: w.in([1, 1]),
          padding: w.in([[1, 1], [0, 1]]),
          lhsDilation: w.in([1, 2]),
        }),
      "nn.conv2d": (w) =>
        nn.conv2d(w.in(F().reshape([1, 1, 2, 3])), w.in(P().reshape([1, 1, 2, 3]))),
      "nn.convTranspose2d": (w) =>
        nn.convTranspose2d(w.in(F().reshape([1, 1, 2, 3])), w.in(P().reshape([1, 1, 2, 3])), {
          stride: w.in([2, 1]),
        }),
    },
  },
  // ------------------------------------------------------------ others
  argsort: {
    grad: [z((x: Tensor) => cast(argsort(x), "float64"), x34)],
    backends: { argsort: { f: (x) => argsort(x, 0), args: [A], forwardOnly: true } },
    immutable: { argsort: (w) => argsort(w.in(F()), 0) },
  },
  cumsum: {
    grad: [
      d((x: Tensor) => cumsum(x, 1), x34),
      d((x: Tensor) => cumsum(x, 0, { reverse: true, exclusive: true }), x34),
      d((x: Tensor) => cumsum(x, 1, { exclusive: true }), () => [randn(45, [2, 9, 3])]),
    ],
    backends: {
      cumsum: { f: (x) => cumsum(x, 1), args: [A] },
      "cumsum (reverse, exclusive)": {
        f: (x) => cumsum(x, 0, { reverse: true, exclusive: true }),
        args: [A],
      },
    },
    immutable: {
      cumsum: (w) => [
        cumsum(w.in(F()), 1, w.in({ reverse: true })),
        cumsum(w.in(I32())),
        cumsum(w.in(BOOL())),
      ],
    },
  },
  stopGradient: {
    grad: [z((x: Tensor) => stopGradient(x), x34)],
    backends: { stopGradient: { f: (x) => mul(x, stopGradient(x)), args: [A] } },
    immutable: { stopGradient: (w) => stopGradient(w.in({ x: F(), y: [I32()] })) },
  },
  randomBits: {
    grad: [z()],
    backends: {
      "random.bits": { f: () => random.bits(random.key(7), [9]), args: [], forwardOnly: true },
    },
    immutable: { "random.bits": (w) => random.bits(w.in(KEY()), w.in([2, 2])) },
  },
  randomUniform: {
    grad: [z()],
    backends: {
      "random.uniform": {
        f: () => random.uniform(random.key(7), [9]),
        args: [],
        forwardOnly: true,
      },
    },
    immutable: { "random.uniform": (w) => random.uniform(w.in(KEY()), w.in([3])) },
  },
};
