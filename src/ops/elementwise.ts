/**
 * Elementwise primitives: unary math, binary arithmetic with NumPy
 * broadcasting, `where` and `cast` (comparisons and logical ops live in
 * compare.ts and are re-exported here). Each primitive states its
 * derivative once, next to its kernel; the vjp and jvp rules follow from it.
 *
 * Over the usual ~600 lines on purpose: the derivatives of these ops are
 * written with each other (exp's with mul, pow's with log and where), so
 * splitting the family across files would make an import cycle.
 *
 * @module
 */

import type { BinaryOp, UnaryOp } from "../backend/backend.ts";
import { type DType, isDType, isFloat } from "../core/dtype.ts";
import { DTypeError } from "../core/errors.ts";
import { broadcastShapes, broadcastStrides, sizeOf } from "../core/shape.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import {
  asTensor,
  asTensors,
  backendOf,
  checkBackendDType,
  knownValues,
  sameDType,
} from "./convert.ts";
import { bind, definePrimitive, type Primitive } from "./primitive.ts";
import { elementwiseBatch } from "./_batching.ts";
import {
  type BinaryKind,
  binaryPrimitive,
  bindBinary,
  type Rules,
  type UnaryKind,
  unaryPrimitive,
} from "./_elementwise.ts";
import { comparePrims, equal, greater, less, logicalNotPrim } from "./compare.ts";

export {
  equal,
  greater,
  greaterEqual,
  less,
  lessEqual,
  logicalAnd,
  logicalNot,
  logicalOr,
  notEqual,
} from "./compare.ts";

// ---------------------------------------------------------------- derivatives

/**
 * The derivative of an elementwise op with respect to one input, applied to
 * `g`: `g·∂out/∂input`, written with ops (so it is differentiable again).
 * It is linear in `g`, and an elementwise derivative is a diagonal map, its
 * own transpose: the same function is the jvp (g = the input's tangent) and
 * the vjp (g = the output's cotangent, summed down to the input's shape by
 * the caller). So each elementwise primitive states its derivative once.
 */
type PartialDerivative = (g: Tensor, inputs: readonly Tensor[], out: Tensor) => Tensor;

/** The vjp and jvp rules that follow from one partial per input (null: no dependence). */
function fromPartials(partials: readonly (PartialDerivative | null)[]): NonNullable<Rules> {
  return {
    vjp: (ct, inputs, out, _p, needs) =>
      partials.map((d, i) => (d !== null && needs[i] ? d(ct, inputs, out) : null)),
    jvp: (tangents, inputs, out) => {
      let acc: Tensor | null = null;
      partials.forEach((d, i) => {
        const t = tangents[i];
        if (d === null || t === null) return;
        const term = d(t, inputs, out);
        acc = acc === null ? term : add(acc, term);
      });
      return acc;
    },
  };
}

// ---------------------------------------------------------------- unary

/** A unary primitive from its derivative `deriv(g, x, y) = g·f′(x)` (`y = f(x)`), or null for none. */
function unary(
  op: UnaryOp,
  kind: UnaryKind,
  deriv: ((g: Tensor, x: Tensor, y: Tensor) => Tensor) | null,
): Primitive<null> {
  return unaryPrimitive(op, kind, deriv && fromPartials([(g, [x], y) => deriv(g, x, y)]));
}

/** `2/√π·exp(−x²)`, the derivative of erf (and minus that of erfc). */
function erfDerivative(x: Tensor): Tensor {
  return mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI));
}

/**
 * Elementwise unary primitives, keyed by opcode: the `satisfies` clause
 * keeps this table and the backend's `UnaryOp` list in lock-step (a
 * primitive without an opcode, or an opcode without a primitive, fails
 * `deno check`).
 * @internal
 */
export const unaryPrims = {
  neg: unary("neg", "number", (g) => neg(g)),
  exp: unary("exp", "float", (g, _x, y) => mul(g, y)),
  log: unary("log", "float", (g, x) => div(g, x)),
  log1p: unary("log1p", "float", (g, x) => div(g, add(x, 1))),
  expm1: unary("expm1", "float", (g, _x, y) => mul(g, add(y, 1))),
  sqrt: unary("sqrt", "float", (g, _x, y) => div(mul(g, 0.5), y)),
  sin: unary("sin", "float", (g, x) => mul(g, cos(x))),
  cos: unary("cos", "float", (g, x) => neg(mul(g, sin(x)))),
  tanh: unary("tanh", "float", (g, _x, y) => mul(g, sub(1, square(y)))),
  // σ′ = σ(1 − σ), from the output alone (as JAX, PyTorch and TF.js): `jit` then fuses
  // σ into the op or product before it, whose output the backward pass no longer reads
  sigmoid: unary("sigmoid", "float", (g, _x, y) => mul(g, mul(y, sub(1, y)))),
  erf: unary("erf", "float", (g, x) => mul(g, erfDerivative(x))),
  erfc: unary("erfc", "float", (g, x) => neg(mul(g, erfDerivative(x)))),
  abs: unary("abs", "number", (g, x) => mul(g, sign(x))),
  square: unary("square", "number", (g, x) => mul(g, mul(x, 2))),
  sign: unary("sign", "number", null),
  floor: unary("floor", "float", null),
  ceil: unary("ceil", "float", null),
  round: unary("round", "float", null),
  logicalNot: logicalNotPrim,
} satisfies Record<UnaryOp, Primitive<null>>;

/** The logistic function (the `sigmoid` primitive; `nn.sigmoid` is its public face). @internal */
export function sigmoid(x: Tensor): Tensor {
  return bind(unaryPrims.sigmoid, [x], null);
}

/**
 * Elementwise negation `-x`.
 *
 * @param x A numeric tensor or number.
 * @returns `-x`, same shape and dtype.
 * @example
 * ```ts
 * import { neg, tensor } from "@gradus/core";
 * console.log(neg(tensor([1, -2])).arraySync()); // [-1, 2]
 * ```
 */
export function neg(x: TensorLike): Tensor {
  return bind(unaryPrims.neg, [asTensor("neg", x)], null);
}

/**
 * Elementwise natural exponential `e^x`.
 *
 * @param x A float tensor or number.
 * @returns `exp(x)`.
 * @example
 * ```ts
 * import { exp, tensor } from "@gradus/core";
 * console.log(exp(tensor([0, 1])).arraySync()); // [1, 2.7182817459106445]
 * ```
 */
export function exp(x: TensorLike): Tensor {
  return bind(unaryPrims.exp, [asTensor("exp", x)], null);
}

/**
 * Elementwise natural logarithm (`-Infinity` at 0, NaN below).
 *
 * @param x A float tensor or number.
 * @returns `ln(x)`.
 * @example
 * ```ts
 * import { log, tensor } from "@gradus/core";
 * console.log(log(tensor([1])).arraySync()); // [0]
 * ```
 */
export function log(x: TensorLike): Tensor {
  return bind(unaryPrims.log, [asTensor("log", x)], null);
}

/**
 * `log(1 + x)`, accurate for small `x` (a primitive for accuracy: `log(add(1, x))` loses digits near 0).
 *
 * @param x A float tensor or number.
 * @returns `ln(1 + x)`.
 * @example
 * ```ts
 * import { log1p, tensor } from "@gradus/core";
 * console.log(log1p(tensor([1e-10], { dtype: "float64" })).arraySync()); // [9.9999999995e-11]
 * ```
 */
export function log1p(x: TensorLike): Tensor {
  return bind(unaryPrims.log1p, [asTensor("log1p", x)], null);
}

/**
 * `exp(x) - 1`, accurate for small `x` (a primitive for accuracy).
 *
 * @param x A float tensor or number.
 * @returns `e^x - 1`.
 * @example
 * ```ts
 * import { expm1, tensor } from "@gradus/core";
 * console.log(expm1(tensor([0])).arraySync()); // [0]
 * ```
 */
export function expm1(x: TensorLike): Tensor {
  return bind(unaryPrims.expm1, [asTensor("expm1", x)], null);
}

/**
 * Elementwise square root.
 *
 * @param x A float tensor or number.
 * @returns `√x` (NaN for negative inputs).
 * @example
 * ```ts
 * import { sqrt, tensor } from "@gradus/core";
 * console.log(sqrt(tensor([4, 9])).arraySync()); // [2, 3]
 * ```
 */
export function sqrt(x: TensorLike): Tensor {
  return bind(unaryPrims.sqrt, [asTensor("sqrt", x)], null);
}

/**
 * Elementwise sine (radians).
 *
 * @param x A float tensor or number.
 * @returns `sin(x)`.
 * @example
 * ```ts
 * import { sin, tensor } from "@gradus/core";
 * console.log(sin(tensor([0])).arraySync()); // [0]
 * ```
 */
export function sin(x: TensorLike): Tensor {
  return bind(unaryPrims.sin, [asTensor("sin", x)], null);
}

/**
 * Elementwise cosine (radians).
 *
 * @param x A float tensor or number.
 * @returns `cos(x)`.
 * @example
 * ```ts
 * import { cos, tensor } from "@gradus/core";
 * console.log(cos(tensor([0])).arraySync()); // [1]
 * ```
 */
export function cos(x: TensorLike): Tensor {
  return bind(unaryPrims.cos, [asTensor("cos", x)], null);
}

/**
 * Elementwise hyperbolic tangent.
 *
 * @param x A float tensor or number.
 * @returns `tanh(x)`, in (-1, 1).
 * @example
 * ```ts
 * import { tanh, tensor } from "@gradus/core";
 * console.log(tanh(tensor([0])).arraySync()); // [0]
 * ```
 */
export function tanh(x: TensorLike): Tensor {
  return bind(unaryPrims.tanh, [asTensor("tanh", x)], null);
}

/**
 * The error function `erf(x) = 2/√π ∫₀ˣ e^(−t²) dt`, elementwise (JAX's
 * `lax.erf`). A primitive for accuracy: composed from `exp` and a fit it
 * would be good to about 1e-7 only; here every backend evaluates a rational
 * approximation (fdlibm's), within a few ulp in float32 and within 1e-15
 * relative in float64. Its derivative is `2/√π·e^(−x²)`.
 *
 * @param x A float tensor or number.
 * @returns `erf(x)`, in [−1, 1].
 * @example
 * ```ts
 * import { erf, tensor } from "@gradus/core";
 * console.log(erf(tensor([0, 0.5, 1], { dtype: "float64" })).arraySync());
 * // [0, 0.5204998778130465, 0.8427007929497149]
 * ```
 */
export function erf(x: TensorLike): Tensor {
  return bind(unaryPrims.erf, [asTensor("erf", x)], null);
}

/**
 * The complementary error function `erfc(x) = 1 − erf(x)`, elementwise
 * (JAX's `lax.erfc`). A primitive for accuracy: for large `x`, `1 − erf(x)`
 * cancels to 0 while `erfc` keeps full relative precision down to where it
 * underflows (x ≈ 10 in float32, ≈ 27 in float64). The normal CDF is
 * `Φ(x) = erfc(−x/√2)/2`, accurate in both tails. Its derivative is
 * `−2/√π·e^(−x²)`.
 *
 * @param x A float tensor or number.
 * @returns `erfc(x)`, in [0, 2].
 * @example
 * ```ts
 * import { erfc, tensor } from "@gradus/core";
 * console.log(erfc(tensor([0, 5, 10], { dtype: "float64" })).arraySync());
 * // [1, 1.5374597944280351e-12, 2.0884875837625446e-45]
 * ```
 */
export function erfc(x: TensorLike): Tensor {
  return bind(unaryPrims.erfc, [asTensor("erfc", x)], null);
}

/**
 * Elementwise absolute value. Its derivative at 0 is taken as 0.
 *
 * @param x A numeric tensor or number.
 * @returns `|x|`.
 * @example
 * ```ts
 * import { abs, tensor } from "@gradus/core";
 * console.log(abs(tensor([-1, 2])).arraySync()); // [1, 2]
 * ```
 */
export function abs(x: TensorLike): Tensor {
  return bind(unaryPrims.abs, [asTensor("abs", x)], null);
}

/**
 * Elementwise `x * x` (int32 squares wrap modulo 2³², like `mul`).
 *
 * @param x A numeric tensor or number.
 * @returns `x²`.
 * @example
 * ```ts
 * import { square, tensor } from "@gradus/core";
 * console.log(square(tensor([-3])).arraySync()); // [9]
 * ```
 */
export function square(x: TensorLike): Tensor {
  return bind(unaryPrims.square, [asTensor("square", x)], null);
}

/**
 * Elementwise sign: -1, 0 or 1 (NaN stays NaN). Zero gradient.
 *
 * @param x A numeric tensor or number.
 * @returns The sign, same dtype.
 * @example
 * ```ts
 * import { sign, tensor } from "@gradus/core";
 * console.log(sign(tensor([-2, 0, 3])).arraySync()); // [-1, 0, 1]
 * ```
 */
export function sign(x: TensorLike): Tensor {
  return bind(unaryPrims.sign, [asTensor("sign", x)], null);
}

/**
 * Elementwise floor. Zero gradient.
 *
 * @param x A float tensor or number.
 * @returns The largest integers ≤ x (as floats).
 * @example
 * ```ts
 * import { floor, tensor } from "@gradus/core";
 * console.log(floor(tensor([1.5, -1.5])).arraySync()); // [1, -2]
 * ```
 */
export function floor(x: TensorLike): Tensor {
  return bind(unaryPrims.floor, [asTensor("floor", x)], null);
}

/**
 * Elementwise ceiling. Zero gradient.
 *
 * @param x A float tensor or number.
 * @returns The smallest integers ≥ x (as floats).
 * @example
 * ```ts
 * import { ceil, tensor } from "@gradus/core";
 * console.log(ceil(tensor([1.5, -1.5])).arraySync()); // [2, -1]
 * ```
 */
export function ceil(x: TensorLike): Tensor {
  return bind(unaryPrims.ceil, [asTensor("ceil", x)], null);
}

/**
 * Elementwise rounding, half to even like NumPy. Zero gradient.
 *
 * @param x A float tensor or number.
 * @returns The nearest integers (as floats).
 * @example
 * ```ts
 * import { round, tensor } from "@gradus/core";
 * console.log(round(tensor([0.5, 1.5, 2.4])).arraySync()); // [0, 2, 2]
 * ```
 */
export function round(x: TensorLike): Tensor {
  return bind(unaryPrims.round, [asTensor("round", x)], null);
}

// ---------------------------------------------------------------- binary

/** A differentiable binary primitive from its two partials (see {@linkcode PartialDerivative}). */
function binary(
  op: BinaryOp,
  kind: BinaryKind,
  da: PartialDerivative,
  db: PartialDerivative,
): Primitive<null> {
  return binaryPrimitive(op, kind, fromPartials([da, db]));
}

/** Weight of `a` in the derivative of max/min: 1 where it wins, ½ on ties (like JAX), else 0. */
function winnerWeight(a: Tensor, b: Tensor, wins: (a: Tensor, b: Tensor) => Tensor): Tensor {
  const one = cast(wins(a, b), a.dtype);
  const tie = cast(equal(a, b), a.dtype);
  return add(one, mul(tie, 0.5));
}

/** d(x^y)/dx = y·x^(y-1), taken as 0 where y = 0 (so 0^0 has a finite derivative). */
function powBaseDerivative(x: Tensor, y: Tensor): Tensor {
  const d = mul(y, pow(x, sub(y, 1)));
  return where(equal(y, 0), 0, d);
}

/** d(x^y)/dy = ln(x)·x^y, taken as 0 where x = 0 (like JAX). */
function powExponentDerivative(x: Tensor, out: Tensor): Tensor {
  const safe = where(equal(x, 0), 1, x);
  return mul(log(safe), out);
}

/**
 * Elementwise binary primitives, keyed by opcode (in lock-step with the
 * backend's `BinaryOp` list, like {@linkcode unaryPrims}).
 * @internal
 */
export const binaryPrims = {
  add: binary("add", "arith", (g) => g, (g) => g),
  sub: binary("sub", "arith", (g) => g, (g) => neg(g)),
  mul: binary("mul", "arith", (g, [_a, b]) => mul(g, b), (g, [a]) => mul(g, a)),
  div: binary("div", "float", (g, [_a, b]) => div(g, b), (g, [_a, b], y) => neg(div(mul(g, y), b))),
  pow: binary(
    "pow",
    "arith",
    (g, [x, y]) => mul(g, powBaseDerivative(x, y)),
    (g, [x], out) => mul(g, powExponentDerivative(x, out)),
  ),
  maximum: binary(
    "maximum",
    "arith",
    (g, [a, b]) => mul(g, winnerWeight(a, b, greater)),
    (g, [a, b]) => mul(g, sub(1, winnerWeight(a, b, greater))),
  ),
  minimum: binary(
    "minimum",
    "arith",
    (g, [a, b]) => mul(g, winnerWeight(a, b, less)),
    (g, [a, b]) => mul(g, sub(1, winnerWeight(a, b, less))),
  ),
  ...comparePrims,
} satisfies Record<BinaryOp, Primitive<null>>;

/**
 * Elementwise `a + b` with NumPy broadcasting. Plain numbers take the
 * tensor's dtype (a number an int32 tensor cannot hold is a RangeError).
 * int32 sums wrap modulo 2³² like NumPy's and JAX's (`2147483647 + 1` is
 * `-2147483648`); cast to float64 first where that matters.
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns The broadcast sum.
 * @example
 * ```ts
 * import { add, tensor } from "@gradus/core";
 * console.log(add(tensor([[1], [2]]), tensor([10, 20])).arraySync()); // [[11, 21], [12, 22]]
 * console.log(add(tensor([1, 2]), 1).arraySync()); // [2, 3]
 * ```
 */
export function add(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(binaryPrims.add, a, b);
}

/**
 * Elementwise `a - b` with broadcasting. int32 differences wrap modulo
 * 2³² like NumPy's (`-2147483648 - 1` is `2147483647`).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns The broadcast difference.
 * @example
 * ```ts
 * import { sub, tensor } from "@gradus/core";
 * console.log(sub(tensor([3, 4]), 1).arraySync()); // [2, 3]
 * ```
 */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(binaryPrims.sub, a, b);
}

/**
 * Elementwise `a * b` with broadcasting. int32 products wrap modulo 2³²
 * like NumPy's (`65536 * 65536` is `0`).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns The broadcast product.
 * @example
 * ```ts
 * import { mul, tensor } from "@gradus/core";
 * console.log(mul(tensor([1, 2]), tensor([3, 4])).arraySync()); // [3, 8]
 * ```
 */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(binaryPrims.mul, a, b);
}

/**
 * Elementwise true division `a / b` with broadcasting (float dtypes only;
 * cast integers first).
 *
 * @param a A float tensor or number.
 * @param b A float tensor or number.
 * @returns The broadcast quotient.
 * @example
 * ```ts
 * import { div, tensor } from "@gradus/core";
 * console.log(div(tensor([1, 3]), 2).arraySync()); // [0.5, 1.5]
 * ```
 */
export function div(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(binaryPrims.div, a, b);
}

/**
 * Elementwise power `a ** b` with broadcasting.
 *
 * With int32 operands the result is the exact power modulo 2³² (it wraps
 * like NumPy's: `pow(3, 21)` in int32 is `1870418611`). A negative int32
 * exponent is a RangeError, as in NumPy ("integers to negative integer
 * powers are not allowed"), wherever its values can be seen without waiting
 * for a device: a number, a tensor on a backend with synchronous reads
 * (`cpu`, `wasm`), or a WebGPU tensor made from host values. Exponents
 * computed on a GPU are not read back to be checked: a negative one gives
 * `trunc(1 / aⁿ)` there (1 for a = 1, ±1 for a = -1, else 0). Cast the base
 * to float for negative powers.
 *
 * @param a The base.
 * @param b The exponent.
 * @returns `a ** b`.
 * @example
 * ```ts
 * import { cast, pow, tensor } from "@gradus/core";
 * console.log(pow(tensor([2, 3]), 2).arraySync()); // [4, 9]
 * const n = tensor([2, 4], { dtype: "int32" });
 * console.log(pow(cast(n, "float32"), -1).arraySync()); // [0.5, 0.25]
 * ```
 */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  const xs = asTensors("pow", [a, b]);
  if (xs[0].dtype === "int32" && xs[1].dtype === "int32") checkIntExponent(b, xs[1]);
  return bind(binaryPrims.pow, xs, null);
}

/** NumPy's rule: an int32 power with a negative exponent is an error (where the exponent is visible now). */
function checkIntExponent(b: TensorLike, y: Tensor): void {
  let bad: number | undefined, at = -1;
  if (typeof b === "number") {
    if (b < 0) bad = b;
  } else {
    const v = knownValues(y);
    if (v === null) return; // computed on a GPU: documented, not checked
    for (let i = 0; i < v.length; i++) {
      if (v[i] < 0) {
        bad = v[i];
        at = i;
        break;
      }
    }
  }
  if (bad === undefined) return;
  throw new RangeError(
    `pow(): integers to negative integer powers are not allowed (exponent ${bad}` +
      `${at >= 0 ? ` at flat index ${at}` : ""}, int32 base); ` +
      `cast the base to float first, e.g. pow(cast(x, "float32"), ${bad})`,
  );
}

/**
 * Elementwise maximum (NaN propagates). On ties the gradient is split ½/½.
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns The larger of each pair.
 * @example
 * ```ts
 * import { maximum, tensor } from "@gradus/core";
 * console.log(maximum(tensor([1, 5]), 3).arraySync()); // [3, 5]
 * ```
 */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(binaryPrims.maximum, a, b);
}

/**
 * Elementwise minimum (NaN propagates). On ties the gradient is split ½/½.
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns The smaller of each pair.
 * @example
 * ```ts
 * import { minimum, tensor } from "@gradus/core";
 * console.log(minimum(tensor([1, 5]), 3).arraySync()); // [1, 3]
 * ```
 */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return bindBinary(binaryPrims.minimum, a, b);
}

// ---------------------------------------------------------------- where, cast

/** `where(cond, a, b)`: picks from `a` where `cond` is true, else from `b`. @internal */
export const wherePrim: Primitive<null> = definePrimitive<null>({
  name: "where",
  abstract: ([c, a, b]) => {
    if (c.dtype !== "bool") {
      throw new DTypeError(
        `where(): the condition must be a bool tensor, got ${c.dtype}; compare first, e.g. greater(x, 0)`,
      );
    }
    const shape = broadcastShapes("where", c.shape, a.shape, b.shape);
    return { shape, dtype: sameDType("where", [a.dtype, b.dtype]) };
  },
  impl: (be, [c, a, b], _p, out) =>
    be.where({
      cond: c._data,
      condStrides: broadcastStrides(c.shape, out.shape),
      a: a._data,
      aStrides: broadcastStrides(a.shape, out.shape),
      b: b._data,
      bStrides: broadcastStrides(b.shape, out.shape),
      outShape: out.shape,
      dtype: out.dtype,
    }),
  // Elementwise in a and b (the condition only selects): a partial per input.
  ...fromPartials([null, (g, [c]) => where(c, g, 0), (g, [c]) => where(c, 0, g)]),
  batch: elementwiseBatch,
});

/**
 * Picks elementwise from `a` where `cond` is true and from `b` elsewhere,
 * with broadcasting of all three.
 *
 * @param cond A bool tensor.
 * @param a Values where `cond` is true.
 * @param b Values where `cond` is false.
 * @returns The broadcast selection.
 * @example
 * ```ts
 * import { greater, tensor, where } from "@gradus/core";
 * const x = tensor([-1, 2, -3]);
 * console.log(where(greater(x, 0), x, 0).arraySync()); // [0, 2, 0]
 * ```
 */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = asTensors("where", [a, b]);
  const c = asTensor("where", cond, "bool");
  return bind(wherePrim, [c, ta, tb], null);
}

/**
 * Dtype conversion. Linear, but not its own transpose (the jvp casts a
 * tangent to the output's dtype, the vjp a cotangent back to the input's),
 * so it states both rules rather than one derivative. @internal
 */
export const castPrim: Primitive<{ dtype: DType }> = definePrimitive<{ dtype: DType }>({
  name: "cast",
  abstract: ([x], { dtype }) => ({ shape: x.shape, dtype }),
  impl: (be, [x], { dtype }) =>
    be.cast({ x: x._data, size: sizeOf(x.shape), from: x.dtype, to: dtype }),
  vjp: (g, [x]) => [isFloat(x.dtype) && isFloat(g.dtype) ? cast(g, x.dtype) : null],
  jvp: ([t], _x, out) => (isFloat(out.dtype) ? cast(t!, out.dtype) : null),
  batch: elementwiseBatch,
});

/**
 * Converts to another dtype: float → int32 follows XLA's rule on every
 * backend (truncation toward zero; NaN → 0; values beyond the int32 range,
 * ±Infinity included, saturate to -2147483648 or 2147483647), anything →
 * bool is `x != 0`, bool → numbers gives 0/1, float64 → float32 rounds to
 * nearest. Differentiable between float dtypes.
 *
 * @param x A tensor.
 * @param dtype The target dtype.
 * @returns `x` as `dtype` (the same tensor when the dtype already matches).
 * @example
 * ```ts
 * import { cast, tensor } from "@gradus/core";
 * console.log(cast(tensor([1.7, -1.7]), "int32").arraySync()); // [1, -1]
 * console.log(cast(tensor([3e9, -3e9, NaN]), "int32").arraySync()); // [2147483647, -2147483648, 0]
 * ```
 */
export function cast(x: TensorLike, dtype: DType): Tensor {
  if (!isDType(dtype)) {
    throw new DTypeError(
      `cast(): unknown dtype ${JSON.stringify(dtype)}; use float32, float64, int32 or bool`,
    );
  }
  const t = asTensor("cast", x);
  if (t.dtype === dtype) return t;
  checkBackendDType("cast", dtype, backendOf(t));
  return bind(castPrim, [t], { dtype });
}
