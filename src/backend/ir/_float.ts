/**
 * Float32 building blocks shared by the IR's math graphs (`math.ts`,
 * `trig.ts`, `erf.ts`): tests on the bits (never `x != x`: WGSL lets
 * compilers assume floats are never NaN), sign handling, `2ⁿ` from the
 * exponent field, and Horner evaluation with multiply-adds.
 *
 * @module
 */

import { constant, type Expr, select } from "./expr.ts";

/** A float32 constant. @internal */
export const f32 = (v: number): Expr => constant(v, "f32");

/** Float32 NaN. @internal */
export const NAN: Expr = f32(NaN);
/** Float32 +∞. @internal */
export const INF: Expr = f32(Infinity);

/** The bits of a float32 as u32. @internal */
export const bits = (x: Expr): Expr => x.bitcast("u32");

/** `x` is NaN (from the bits). @internal */
export const isNan = (x: Expr): Expr => bits(x).bitAnd(0x7fffffff).gt(0x7f800000);

/** `x` is ±∞. @internal */
export const isInf = (x: Expr): Expr => bits(x).bitAnd(0x7fffffff).eq(0x7f800000);

/** `x` is finite. @internal */
export const isFinite = (x: Expr): Expr => bits(x).bitAnd(0x7fffffff).lt(0x7f800000);

/** `x` is ±0. @internal */
export const isZero = (x: Expr): Expr => bits(x).bitAnd(0x7fffffff).eq(0);

/** The sign bit of `x` is set (−0 and negative NaNs included). @internal */
export const signBit = (x: Expr): Expr => bits(x).bitAnd(0x80000000).ne(0);

/** `|mag|` with the sign of `sign` (bits only). @internal */
export function copySign(mag: Expr, sign: Expr): Expr {
  return bits(mag).bitAnd(0x7fffffff).bitOr(bits(sign).bitAnd(0x80000000)).bitcast("f32");
}

/** `v` with its sign flipped where `flip` (bool) holds. @internal */
export function flipSign(v: Expr, flip: Expr): Expr {
  return bits(v).bitXor(select(flip, constant(0x80000000, "u32"), 0)).bitcast("f32");
}

/** `2ⁿ` for an i32 `n` in [−126, 127] (built in the exponent field). @internal */
export function pow2i(n: Expr): Expr {
  return n.add(127).shl(23).bitcast("f32");
}

/** `x` where `x` is ±0 (its sign), else `r`. @internal */
export function keepZero(x: Expr, r: Expr): Expr {
  return select(isZero(x), x, r);
}

/** `Σ coeffs[k]·tᵏ` by Horner with multiply-adds (`coeffs[0]` is the constant term). @internal */
export function horner(coeffs: readonly number[], t: Expr): Expr {
  let p = f32(coeffs[coeffs.length - 1]);
  for (let k = coeffs.length - 2; k >= 0; k--) p = p.fma(t, coeffs[k]);
  return p;
}

/** Throws unless `x` is float32 (the IR's math is written for float32). @internal */
export function requireF32(name: string, x: Expr): void {
  if (x.type !== "f32") {
    throw new TypeError(
      `${name}(): the kernel IR's ${name} is written for f32, got ${x.type}; ` +
        `compute float64 on the cpu backend`,
    );
  }
}
