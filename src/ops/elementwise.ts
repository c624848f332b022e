/**
 * Elementwise primitives: unary math, binary arithmetic with NumPy
 * broadcasting, comparisons, logical ops, `where` and `cast`. Each op's
 * forward and derivatives stand side by side.
 *
 * @module
 */

import type { BinaryOp, UnaryOp } from "../backend/backend.ts";
import { type DType, isDType, isFloat } from "../core/dtype.ts";
import { DTypeError } from "../core/errors.ts";
import { broadcastShapes, broadcastStrides, sizeOf } from "../core/shape.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensor, asTensors, backendOf, knownValues, requireFloat, sameDType } from "./convert.ts";
import {
  type Aval,
  bind,
  definePrimitive,
  type JvpRule,
  type Primitive,
  type VjpRule,
} from "./primitive.ts";

// ---------------------------------------------------------------- unary

type UnaryKind = "float" | "number" | "bool";

function unaryPrim(
  op: UnaryOp,
  name: string,
  kind: UnaryKind,
  vjp: ((g: Tensor, x: Tensor, out: Tensor) => Tensor) | null,
  jvp: ((t: Tensor, x: Tensor, out: Tensor) => Tensor) | null,
): Primitive<null> {
  return definePrimitive<null>({
    name,
    abstract: ([x]) => {
      if (kind === "float") requireFloat(name, x.dtype);
      else if (kind === "number" && x.dtype === "bool") {
        throw new DTypeError(
          `${name}(): expects a numeric tensor, got bool; cast it first, e.g. cast(x, "float32")`,
        );
      } else if (kind === "bool" && x.dtype !== "bool") {
        throw new DTypeError(`${name}(): expects a bool tensor, got ${x.dtype}`);
      }
      return x;
    },
    impl: (b, [x], _p, out) => b.unary({ op, x: x._data, size: sizeOf(out.shape), dtype: x.dtype }),
    vjp: vjp === null ? null : (g, [x], out) => [vjp(g, x, out)],
    jvp: jvp === null ? null : ([t], [x], out) => jvp(t!, x, out),
  });
}

/** Elementwise unary primitives. @internal */
export const unaryPrims = {
  neg: unaryPrim("neg", "neg", "number", (g) => neg(g), (t) => neg(t)),
  exp: unaryPrim("exp", "exp", "float", (g, _x, y) => mul(g, y), (t, _x, y) => mul(t, y)),
  log: unaryPrim("log", "log", "float", (g, x) => div(g, x), (t, x) => div(t, x)),
  log1p: unaryPrim(
    "log1p",
    "log1p",
    "float",
    (g, x) => div(g, add(x, 1)),
    (t, x) => div(t, add(x, 1)),
  ),
  expm1: unaryPrim(
    "expm1",
    "expm1",
    "float",
    (g, _x, y) => mul(g, add(y, 1)),
    (t, _x, y) => mul(t, add(y, 1)),
  ),
  sqrt: unaryPrim(
    "sqrt",
    "sqrt",
    "float",
    (g, _x, y) => div(mul(g, 0.5), y),
    (t, _x, y) => div(mul(t, 0.5), y),
  ),
  sin: unaryPrim("sin", "sin", "float", (g, x) => mul(g, cos(x)), (t, x) => mul(t, cos(x))),
  cos: unaryPrim(
    "cos",
    "cos",
    "float",
    (g, x) => neg(mul(g, sin(x))),
    (t, x) => neg(mul(t, sin(x))),
  ),
  tanh: unaryPrim(
    "tanh",
    "tanh",
    "float",
    (g, _x, y) => mul(g, sub(1, square(y))),
    (t, _x, y) => mul(t, sub(1, square(y))),
  ),
  abs: unaryPrim("abs", "abs", "number", (g, x) => mul(g, sign(x)), (t, x) => mul(t, sign(x))),
  square: unaryPrim(
    "square",
    "square",
    "number",
    (g, x) => mul(g, mul(x, 2)),
    (t, x) => mul(t, mul(x, 2)),
  ),
  sign: unaryPrim("sign", "sign", "number", null, null),
  floor: unaryPrim("floor", "floor", "float", null, null),
  ceil: unaryPrim("ceil", "ceil", "float", null, null),
  round: unaryPrim("round", "round", "float", null, null),
  logicalNot: unaryPrim("logicalNot", "logicalNot", "bool", null, null),
};

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

/**
 * Elementwise logical not of a bool tensor.
 *
 * @param x A bool tensor.
 * @returns `!x`.
 * @example
 * ```ts
 * import { logicalNot, tensor } from "@gradus/core";
 * console.log(logicalNot(tensor([true, false])).arraySync()); // [0, 1]
 * ```
 */
export function logicalNot(x: TensorLike): Tensor {
  return bind(unaryPrims.logicalNot, [asTensor("logicalNot", x)], null);
}

// ---------------------------------------------------------------- binary

type BinaryKind = "arith" | "float" | "compare" | "logic";

function binaryAbstract(name: string, kind: BinaryKind) {
  return ([a, b]: readonly Aval[]): Aval => {
    const shape = broadcastShapes(name, a.shape, b.shape);
    const dtype = sameDType(name, [a.dtype, b.dtype]);
    if ((kind === "arith" || kind === "float") && dtype === "bool") {
      throw new DTypeError(
        `${name}(): arithmetic on bool tensors is not defined; cast them first, e.g. cast(x, "float32")`,
      );
    }
    if (kind === "float" && !isFloat(dtype)) {
      throw new DTypeError(
        `${name}(): expects float tensors, got ${dtype}; cast them first, e.g. cast(x, "float32")`,
      );
    }
    if (kind === "logic" && dtype !== "bool") {
      throw new DTypeError(`${name}(): expects bool tensors, got ${dtype}`);
    }
    return { shape, dtype: kind === "compare" || kind === "logic" ? "bool" : dtype };
  };
}

function binaryPrim(
  op: BinaryOp,
  name: string,
  kind: BinaryKind,
  vjp: VjpRule<null> | null,
  jvp: JvpRule<null> | null,
): Primitive<null> {
  return definePrimitive<null>({
    name,
    abstract: binaryAbstract(name, kind),
    impl: (be, [a, b], _p, out) =>
      be.binary({
        op,
        a: a._data,
        aStrides: broadcastStrides(a.shape, out.shape),
        b: b._data,
        bStrides: broadcastStrides(b.shape, out.shape),
        outShape: out.shape,
        dtype: a.dtype,
      }),
    vjp,
    jvp,
  });
}

/** Adds two tangents where null means zero. */
function addT(a: Tensor | null, b: Tensor | null): Tensor | null {
  if (a === null) return b;
  if (b === null) return a;
  return add(a, b);
}

/** Weight of `a` in the derivative of max/min: 1 where it wins, ½ on ties (like JAX), else 0. */
function winnerWeight(a: Tensor, b: Tensor, wins: (a: Tensor, b: Tensor) => Tensor): Tensor {
  const one = cast(wins(a, b), a.dtype);
  const tie = cast(equal(a, b), a.dtype);
  return add(one, mul(tie, 0.5));
}

function minMaxRules(
  wins: (a: Tensor, b: Tensor) => Tensor,
): { vjp: VjpRule<null>; jvp: JvpRule<null> } {
  return {
    vjp: (g, [a, b], _o, _p, needs) => {
      const w = winnerWeight(a, b, wins);
      return [needs[0] ? mul(g, w) : null, needs[1] ? mul(g, sub(1, w)) : null];
    },
    jvp: ([ta, tb], [a, b]) => {
      const w = winnerWeight(a, b, wins);
      return addT(ta && mul(ta, w), tb && mul(tb, sub(1, w)));
    },
  };
}

/** Elementwise binary primitives. @internal */
export const binaryPrims = {
  add: binaryPrim("add", "add", "arith", (g) => [g, g], ([ta, tb]) => addT(ta, tb)),
  sub: binaryPrim(
    "sub",
    "sub",
    "arith",
    (g, _i, _o, _p, needs) => [g, needs[1] ? neg(g) : null],
    ([ta, tb]) => (tb === null ? ta : ta === null ? neg(tb) : sub(ta, tb)),
  ),
  mul: binaryPrim(
    "mul",
    "mul",
    "arith",
    (g, [a, b], _o, _p, needs) => [needs[0] ? mul(g, b) : null, needs[1] ? mul(g, a) : null],
    ([ta, tb], [a, b]) => addT(ta && mul(ta, b), tb && mul(a, tb)),
  ),
  div: binaryPrim(
    "div",
    "div",
    "float",
    (g, [_a, b], out, _p, needs) => [
      needs[0] ? div(g, b) : null,
      needs[1] ? neg(div(mul(g, out), b)) : null,
    ],
    ([ta, tb], [_a, b], out) => {
      const num = tb === null ? ta! : ta === null ? neg(mul(out, tb)) : sub(ta, mul(out, tb));
      return div(num, b);
    },
  ),
  pow: binaryPrim(
    "pow",
    "pow",
    "arith",
    (g, [x, y], out, _p, needs) => [
      needs[0] ? mul(g, powBaseDerivative(x, y)) : null,
      needs[1] ? mul(g, powExponentDerivative(x, out)) : null,
    ],
    ([tx, ty], [x, y], out) =>
      addT(
        tx && mul(tx, powBaseDerivative(x, y)),
        ty && mul(ty, powExponentDerivative(x, out)),
      ),
  ),
  maximum: binaryPrim("maximum", "maximum", "arith", ...rulePair(minMaxRules(greater))),
  minimum: binaryPrim("minimum", "minimum", "arith", ...rulePair(minMaxRules(less))),
  equal: binaryPrim("equal", "equal", "compare", null, null),
  notEqual: binaryPrim("notEqual", "notEqual", "compare", null, null),
  greater: binaryPrim("greater", "greater", "compare", null, null),
  greaterEqual: binaryPrim("greaterEqual", "greaterEqual", "compare", null, null),
  less: binaryPrim("less", "less", "compare", null, null),
  lessEqual: binaryPrim("lessEqual", "lessEqual", "compare", null, null),
  logicalAnd: binaryPrim("logicalAnd", "logicalAnd", "logic", null, null),
  logicalOr: binaryPrim("logicalOr", "logicalOr", "logic", null, null),
};

function rulePair(r: { vjp: VjpRule<null>; jvp: JvpRule<null> }): [VjpRule<null>, JvpRule<null>] {
  return [r.vjp, r.jvp];
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

function binary(prim: Primitive<null>, a: TensorLike, b: TensorLike): Tensor {
  return bind(prim, asTensors(prim.name, [a, b]), null);
}

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
  return binary(binaryPrims.add, a, b);
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
  return binary(binaryPrims.sub, a, b);
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
  return binary(binaryPrims.mul, a, b);
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
  return binary(binaryPrims.div, a, b);
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
  return binary(binaryPrims.maximum, a, b);
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
  return binary(binaryPrims.minimum, a, b);
}

/**
 * Elementwise `a == b` (bool result).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns A bool tensor.
 * @example
 * ```ts
 * import { equal, tensor } from "@gradus/core";
 * console.log(equal(tensor([1, 2]), 2).arraySync()); // [0, 1]
 * ```
 */
export function equal(a: TensorLike, b: TensorLike): Tensor {
  return binary(binaryPrims.equal, a, b);
}

/**
 * Elementwise `a != b` (bool result; NaN != NaN is true).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns A bool tensor.
 * @example
 * ```ts
 * import { notEqual, tensor } from "@gradus/core";
 * console.log(notEqual(tensor([1, 2]), 2).arraySync()); // [1, 0]
 * ```
 */
export function notEqual(a: TensorLike, b: TensorLike): Tensor {
  return binary(binaryPrims.notEqual, a, b);
}

/**
 * Elementwise `a > b` (bool result).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns A bool tensor.
 * @example
 * ```ts
 * import { greater, tensor } from "@gradus/core";
 * console.log(greater(tensor([1, 3]), 2).arraySync()); // [0, 1]
 * ```
 */
export function greater(a: TensorLike, b: TensorLike): Tensor {
  return binary(binaryPrims.greater, a, b);
}

/**
 * Elementwise `a >= b` (bool result).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns A bool tensor.
 * @example
 * ```ts
 * import { greaterEqual, tensor } from "@gradus/core";
 * console.log(greaterEqual(tensor([1, 2]), 2).arraySync()); // [0, 1]
 * ```
 */
export function greaterEqual(a: TensorLike, b: TensorLike): Tensor {
  return binary(binaryPrims.greaterEqual, a, b);
}

/**
 * Elementwise `a < b` (bool result).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns A bool tensor.
 * @example
 * ```ts
 * import { less, tensor } from "@gradus/core";
 * console.log(less(tensor([1, 3]), 2).arraySync()); // [1, 0]
 * ```
 */
export function less(a: TensorLike, b: TensorLike): Tensor {
  return binary(binaryPrims.less, a, b);
}

/**
 * Elementwise `a <= b` (bool result).
 *
 * @param a A tensor or number.
 * @param b A tensor or number.
 * @returns A bool tensor.
 * @example
 * ```ts
 * import { lessEqual, tensor } from "@gradus/core";
 * console.log(lessEqual(tensor([2, 3]), 2).arraySync()); // [1, 0]
 * ```
 */
export function lessEqual(a: TensorLike, b: TensorLike): Tensor {
  return binary(binaryPrims.lessEqual, a, b);
}

/**
 * Elementwise logical and of bool tensors.
 *
 * @param a A bool tensor.
 * @param b A bool tensor.
 * @returns `a && b`.
 * @example
 * ```ts
 * import { logicalAnd, tensor } from "@gradus/core";
 * console.log(logicalAnd(tensor([true, true]), tensor([true, false])).arraySync()); // [1, 0]
 * ```
 */
export function logicalAnd(a: TensorLike, b: TensorLike): Tensor {
  return binary(binaryPrims.logicalAnd, a, b);
}

/**
 * Elementwise logical or of bool tensors.
 *
 * @param a A bool tensor.
 * @param b A bool tensor.
 * @returns `a || b`.
 * @example
 * ```ts
 * import { logicalOr, tensor } from "@gradus/core";
 * console.log(logicalOr(tensor([false, true]), tensor([false, false])).arraySync()); // [0, 1]
 * ```
 */
export function logicalOr(a: TensorLike, b: TensorLike): Tensor {
  return binary(binaryPrims.logicalOr, a, b);
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
  vjp: (g, [c], _o, _p, needs) => [
    null,
    needs[1] ? where(c, g, 0) : null,
    needs[2] ? where(c, 0, g) : null,
  ],
  jvp: ([_tc, ta, tb], [c, a]) => where(c, ta ?? zerosOf(a), tb ?? zerosOf(a)),
});

function zerosOf(like: Tensor): Tensor {
  return asTensor("where", 0, like.dtype, backendOf(like));
}

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

/** Dtype conversion. @internal */
export const castPrim: Primitive<{ dtype: DType }> = definePrimitive<{ dtype: DType }>({
  name: "cast",
  abstract: ([x], { dtype }) => ({ shape: x.shape, dtype }),
  impl: (be, [x], { dtype }) =>
    be.cast({ x: x._data, size: sizeOf(x.shape), from: x.dtype, to: dtype }),
  vjp: (g, [x]) => [isFloat(x.dtype) && isFloat(g.dtype) ? cast(g, x.dtype) : null],
  jvp: ([t], _x, out) => (isFloat(out.dtype) ? cast(t!, out.dtype) : null),
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
  return bind(castPrim, [t], { dtype });
}
