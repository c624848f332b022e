/**
 * The opcode tables of the kernel IR: every elementwise opcode of the
 * backend contract (`UnaryOp`, `BinaryOp` in `backend.ts`, plus `where` and
 * `cast`) as a function building its expression. The tables are total
 * `Record`s, so a new opcode fails `deno check` here until it has a row.
 *
 * A row receives operand nodes of the op's dtype (`f32`, `f64`, `i32` or
 * `bool`: see {@linkcode scalarType}) and throws a TypeError for a dtype the
 * op does not take (e.g. `exp` of int32, or any transcendental in float64,
 * which the IR's math does not cover). The eager kernel builders
 * ({@linkcode unaryOpKernel}, …) memoise one kernel spec per opcode and
 * dtypes, so backends pay for building a graph once.
 *
 * @module
 */

import type { BinaryOp, ReduceOp, UnaryOp } from "../backend.ts";
import type { DType } from "../../core/dtype.ts";
import { constant, type Expr, load, type ScalarType, select } from "./expr.ts";
import { exp, expm1, log, log1p, pow, powInt, tanh } from "./math.ts";
import { cos, sin } from "./trig.ts";
import { erf, erfc } from "./erf.ts";
import {
  type ElementwiseKernel,
  elementwiseKernel,
  type ReduceKernel,
  reduceKernel,
} from "./kernel.ts";
import { isFinite, isNan, isZero, NAN } from "./_float.ts";

/**
 * The IR type of a dtype's elements: float32 → `f32`, float64 → `f64`,
 * int32 → `i32`, bool → `bool`.
 *
 * @param dtype The dtype.
 * @returns The scalar type.
 *
 * @example
 * ```ts
 * import { scalarType } from "./ops.ts";
 *
 * console.log(scalarType("float32"), scalarType("bool")); // "f32" "bool"
 * ```
 */
export function scalarType(dtype: DType): ScalarType {
  switch (dtype) {
    case "float32":
      return "f32";
    case "float64":
      return "f64";
    case "int32":
      return "i32";
    case "bool":
      return "bool";
  }
}

/** Requires a float operand (any float type), for ops defined by IEEE basics. */
function requireFloat(op: string, a: Expr): Expr {
  if (a.type !== "f32" && a.type !== "f64") {
    throw new TypeError(`${op}(): needs a float operand, got ${a.type}`);
  }
  return a;
}

/** Math.sign: ±1, and ±0 or NaN unchanged; for i32 −1, 0 or 1. */
function sign(a: Expr): Expr {
  if (a.type === "i32") {
    return select(a.gt(0), constant(1, "i32"), select(a.lt(0), constant(-1, "i32"), 0));
  }
  const unit = select(a.gt(0), constant(1, a.type), -1);
  const keep = a.type === "f32" ? isNan(a).or(isZero(a)) : a.ne(a).or(a.eq(0));
  return select(keep, a, unit);
}

/**
 * The logistic function `1 / (1 + e⁻ᵃ)` as `nn.sigmoid` was computed op by
 * op (so the same bits): `e = exp(−|a|)`, which cannot overflow, then
 * `1 / (1 + e)` for `a ≥ 0` and `e / (1 + e)` below (full precision in the
 * lower tail); NaN stays NaN.
 */
function sigmoid(a: Expr): Expr {
  const pos = requireFloat("sigmoid", a).ge(0);
  const e = exp(select(pos, a.neg(), a));
  const d = e.add(1);
  return select(pos, constant(1, a.type).div(d), e.div(d));
}

/**
 * Unary opcode → its expression over operand node `a`.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { UNARY_EXPR } from "./ops.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * const f = compileJsScalar(UNARY_EXPR.round(load(0, "f32")));
 * console.log(f(2.5), f(3.5)); // 2 4
 * ```
 */
export const UNARY_EXPR: Readonly<Record<UnaryOp, (a: Expr) => Expr>> = Object.freeze({
  neg: (a: Expr) => a.neg(),
  exp,
  log,
  log1p,
  expm1,
  sqrt: (a: Expr) => a.sqrt(),
  sin,
  cos,
  tanh,
  sigmoid,
  erf,
  erfc,
  abs: (a: Expr) => a.abs(),
  sign,
  square: (a: Expr) => a.mul(a),
  floor: (a: Expr) => requireFloat("floor", a).floor(),
  ceil: (a: Expr) => requireFloat("ceil", a).ceil(),
  round: (a: Expr) => requireFloat("round", a).roundEven(),
  logicalNot: (a: Expr) => a.not(),
});

/**
 * Binary opcode → its expression over operand nodes `a`, `b` (of one type).
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { BINARY_EXPR } from "./ops.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * const f = compileJsScalar(BINARY_EXPR.maximum(load(0, "f32"), load(1, "f32")));
 * console.log(f(1, NaN), Object.is(f(-0, 0), 0)); // NaN true
 * ```
 */
export const BINARY_EXPR: Readonly<Record<BinaryOp, (a: Expr, b: Expr) => Expr>> = Object.freeze({
  add: (a: Expr, b: Expr) => a.add(b),
  // `x - x`, `x == x`, `x != x` of one float value from its bits: a shader
  // compiler may take floats to be finite and fold them to 0, true, false.
  sub: (
    a: Expr,
    b: Expr,
  ) => (a === b && a.type === "f32" ? select(isFinite(a), constant(0, "f32"), NAN) : a.sub(b)),
  mul: (a: Expr, b: Expr) => a.mul(b),
  div: (a: Expr, b: Expr) => a.div(b),
  pow: (a: Expr, b: Expr) => (a.type === "i32" ? powInt(a, b) : pow(a, b)),
  maximum: (a: Expr, b: Expr) => a.max(b),
  minimum: (a: Expr, b: Expr) => a.min(b),
  equal: (a: Expr, b: Expr) => (a === b && a.type === "f32" ? isNan(a).not() : a.eq(b)),
  notEqual: (a: Expr, b: Expr) => (a === b && a.type === "f32" ? isNan(a) : a.ne(b)),
  greater: (a: Expr, b: Expr) => a.gt(b),
  greaterEqual: (a: Expr, b: Expr) => a.ge(b),
  less: (a: Expr, b: Expr) => a.lt(b),
  lessEqual: (a: Expr, b: Expr) => a.le(b),
  logicalAnd: (a: Expr, b: Expr) => a.and(b),
  logicalOr: (a: Expr, b: Expr) => a.or(b),
});

/**
 * `where(cond, a, b)`: `a` where the bool `cond` holds, else `b`.
 *
 * @param cond The bool condition.
 * @param a The value where it holds.
 * @param b The value elsewhere.
 * @returns The node.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { whereExpr } from "./ops.ts";
 *
 * console.log(whereExpr(load(0, "bool"), load(1, "f32"), load(2, "f32")).op); // "select"
 * ```
 */
export function whereExpr(cond: Expr, a: Expr, b: Expr): Expr {
  return select(cond, a, b);
}

/**
 * `cast(a)` to `to`, with the rules of `Backend.cast` (float → int32
 * saturating, NaN → 0; → bool is `x != 0`; bool → 0 or 1).
 *
 * @param a The operand.
 * @param to The target type.
 * @returns The node.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { castExpr } from "./ops.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * const f = compileJsScalar(castExpr(load(0, "f32"), "i32"));
 * console.log(f(-2.7), f(NaN), f(1e10)); // -2 0 2147483647
 * ```
 */
export function castExpr(a: Expr, to: ScalarType): Expr {
  return a.convert(to);
}

/** Memoised kernel specs by a string key. */
const memo = new Map<string, ElementwiseKernel | ReduceKernel>();

/** The memoised value of `build()` under `key`, rethrowing build errors with the op's name. */
function memoised<K extends ElementwiseKernel | ReduceKernel>(
  key: string,
  op: string,
  dtype: DType,
  build: () => K,
): K {
  let k = memo.get(key) as K | undefined;
  if (k === undefined) {
    try {
      k = build();
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new TypeError(`${op}(): dtype ${dtype} is not supported by the kernel IR (${why})`);
    }
    memo.set(key, k);
  }
  return k;
}

/**
 * The kernel of a unary opcode on `dtype` (operand 0 of `dtype`).
 *
 * @param op The opcode.
 * @param dtype The operand's dtype.
 * @returns The kernel spec (memoised).
 *
 * @example
 * ```ts
 * import { unaryOpKernel } from "./ops.ts";
 *
 * console.log(unaryOpKernel("exp", "float32").output.type); // "f32"
 * ```
 */
export function unaryOpKernel(op: UnaryOp, dtype: DType): ElementwiseKernel {
  return memoised(`u ${op} ${dtype}`, op, dtype, () => {
    const t = scalarType(dtype);
    return elementwiseKernel(UNARY_EXPR[op](load(0, t)), [t]);
  });
}

/**
 * The kernel of a binary opcode on two operands of `dtype`.
 *
 * @param op The opcode.
 * @param dtype The operands' dtype.
 * @returns The kernel spec (memoised).
 *
 * @example
 * ```ts
 * import { binaryOpKernel } from "./ops.ts";
 *
 * console.log(binaryOpKernel("less", "int32").output.type); // "bool"
 * ```
 */
export function binaryOpKernel(op: BinaryOp, dtype: DType): ElementwiseKernel {
  return memoised(`b ${op} ${dtype}`, op, dtype, () => {
    const t = scalarType(dtype);
    return elementwiseKernel(BINARY_EXPR[op](load(0, t), load(1, t)), [t, t]);
  });
}

/**
 * The kernel of `where` on values of `dtype` (operands: bool condition, a, b).
 *
 * @param dtype The values' dtype.
 * @returns The kernel spec (memoised).
 *
 * @example
 * ```ts
 * import { whereOpKernel } from "./ops.ts";
 *
 * console.log(whereOpKernel("float32").inputs); // [ "bool", "f32", "f32" ]
 * ```
 */
export function whereOpKernel(dtype: DType): ElementwiseKernel {
  return memoised(`w ${dtype}`, "where", dtype, () => {
    const t = scalarType(dtype);
    return elementwiseKernel(whereExpr(load(0, "bool"), load(1, t), load(2, t)), ["bool", t, t]);
  });
}

/**
 * The kernel of `cast` from `from` to `to`.
 *
 * @param from The operand's dtype.
 * @param to The result's dtype.
 * @returns The kernel spec (memoised).
 *
 * @example
 * ```ts
 * import { castOpKernel } from "./ops.ts";
 *
 * console.log(castOpKernel("float32", "int32").output.op); // "convert"
 * ```
 */
export function castOpKernel(from: DType, to: DType): ElementwiseKernel {
  return memoised(`c ${from} ${to}`, "cast", from, () => {
    const t = scalarType(from);
    return elementwiseKernel(castExpr(load(0, t), scalarType(to)), [t]);
  });
}

/**
 * The kernel of a plain reduction on `dtype`: the elements themselves
 * (bool counted as int32 for `sum`, compared as 0/1 words otherwise), no
 * epilogue.
 *
 * @param op The reduction.
 * @param dtype The input's dtype.
 * @returns The kernel spec (memoised).
 *
 * @example
 * ```ts
 * import { reduceOpKernel } from "./ops.ts";
 *
 * console.log(reduceOpKernel("sum", "bool").prologue.type); // "i32"
 * ```
 */
export function reduceOpKernel(op: ReduceOp, dtype: DType): ReduceKernel {
  return memoised(`r ${op} ${dtype}`, op, dtype, () => {
    const t = scalarType(dtype);
    const x = load(0, t);
    const value = t !== "bool" ? x : x.convert(op === "sum" ? "i32" : "u32");
    return reduceKernel(op, value, [t]);
  });
}

/**
 * The fused log-sum-exp reduction on `dtype`: operand 0 is `x`, operand 1
 * the maximum `m` along the axis (broadcast along it); with `s = m` where
 * finite and 0 elsewhere (so `±∞` rows give `log Σ exp(x)` itself):
 * `log Σ exp(x − s) + s`.
 *
 * @param dtype The dtype (float32).
 * @returns The kernel spec (memoised).
 *
 * @example
 * ```ts
 * import { logsumexpKernel } from "./ops.ts";
 *
 * console.log(logsumexpKernel("float32").combine); // "sum"
 * ```
 */
export function logsumexpKernel(dtype: DType): ReduceKernel {
  return memoised(`lse ${dtype}`, "logsumexp", dtype, () => {
    const t = scalarType(dtype);
    if (t !== "f32") throw new TypeError(`the IR's log-sum-exp is written for f32, got ${t}`);
    const shift = (m: Expr) => select(isFinite(m), m, 0);
    const x = load(0, t);
    return reduceKernel(
      "sum",
      exp(x.sub(shift(load(1, t)))),
      [t, t],
      log(load(0, t)).add(shift(load(2, t))),
    );
  });
}
