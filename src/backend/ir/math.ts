/**
 * Transcendental functions as float32 expression graphs of the kernel IR —
 * written once here, rendered to every target (WGSL, WASM SIMD, JS), so every
 * backend that uses them computes the same bits. `sin`/`cos` are in
 * `trig.ts`, `erf`/`erfc` in `erf.ts`.
 *
 * Algorithms (float32 arithmetic throughout; every multiply-add is accurate
 * whether a renderer fuses it or not, since the reductions' products are
 * exact):
 *
 * - `exp`: Cody–Waite reduction `x = n·ln2 + r`, `|r| ≤ ln2/2` (`ln2` split so
 *   that `n·ln2_hi` is exact), `e^r ≈ 1 + r + r²·q(r)` with a degree-4 minimax
 *   `q`, scaled by `2ⁿ` in two factors so subnormal results round once. The
 *   input is clamped to [−104, 89] first: beyond, the result is 0 or +∞.
 *   A guard (see `guard` in expr.ts) gives `|x| ≤ 86` a fast arm with the
 *   same bits: no clamp, `n` read from the low bits of `x·log2e + 1.5·2²³`
 *   (the same round-half-even), and `2ⁿ` applied by adding `n` to the
 *   exponent field (exact: `e^r·2ⁿ` is normal there).
 * - `log`: subnormals scaled by 2²³; `x = 2ᵏ·m`, `m ∈ [√½, √2)`, `f = m − 1`,
 *   `log(1 + f) = f − f²/2 + f³·P(f)` (degree-7 minimax), plus `k·ln2` in
 *   two parts. 0 → −∞, negatives and NaN → NaN, +∞ → +∞. Positive normal
 *   finite inputs have a guarded fast arm without the fix-ups.
 * - `log1p(a)`: `a` itself is `f` for `a ∈ (√½ − 1, √2 − 1)`; elsewhere
 *   `log(u) + (a − t)/u` with `t` the multiple of `g = ulp(1 + a)` below `a`
 *   and `u = 1 + t` (both exact: no rounding of `1 + a` reaches the result,
 *   and no `(1 + a) − 1`, which WGSL compilers fold to `a`). −1 → −∞, below
 *   −1 → NaN, ±0 kept.
 * - `expm1`: the reduction of `exp`, `e^r − 1 = r + r²·q(r)` (the same `q`),
 *   then `(e^r − 1 + (1 − 2⁻ⁿ))·2ⁿ`, one rounding for the combination; the
 *   input is clamped to [−30, 89] (beyond, −1 or +∞). ±0 kept. For
 *   `x ∈ [−30, 86]` a guarded fast arm reduces and scales as `exp`'s does.
 * - `tanh`: `x + x³·P(x²)` (degree-4 minimax) for `|x| < 0.55`, else
 *   `1 − 2/(e^{2|x|} + 1)` with the sign restored (`|x|` clamped at 10, where
 *   the result is ±1). ±0 kept.
 * - `pow`: C99's (NumPy's, XLA's) semantics (`pow(x, ±0) = 1` even for NaN
 *   `x`, `pow(1, y) = 1` even for NaN `y`, otherwise NaN in → NaN out;
 *   negative bases with integer exponents; `|x| = 1` with an infinite
 *   exponent → 1, where `Math.pow` gives NaN); integer exponents with `|b| ≤ 4`, and with
 *   `|b| ≤ 64` where `|log|a|| ≥ 0.35`, by repeated squaring (about `|b|/2`
 *   ulp at worst), others as `exp(b·log|a|)` (about `1.5·(1 + |b·log|a||)`
 *   ulp): the error stays within a few ulp times `1 + |b·ln|a||`. `powInt` is the exact int32 power
 *   modulo 2³² (negative exponents: `trunc(1/aⁿ)`).
 *
 * Measured errors, against float64 `Math.*` rounded to float32, are in the
 * ulp table of `tests/backend/ir_ulp_test.ts`.
 *
 * @module
 */

import { constant, type Expr, guard, select } from "./expr.ts";
import {
  f32,
  flipSign,
  horner,
  INF,
  isInf,
  isNan,
  isZero,
  keepZero,
  NAN,
  pow2i,
  requireF32,
  signBit,
} from "./_float.ts";

/** log2(e). */
const LOG2E = 1.4426950408889634;
/** High part of ln 2 with 9 significant bits, so `n·LN2_HI` is exact for |n| < 2¹⁵. */
const LN2_HI = 0.693359375;
/** `ln 2 − LN2_HI`. */
const LN2_LO = -2.12194440e-4;
/** `q` of `e^r ≈ 1 + r + r²·q(r)`, minimax (relative error of `e^r`, 3e-9) on |r| ≤ ln2/2. */
const EXP_Q = [
  0.4999999403953552,
  0.1666652113199234,
  0.04166838899254799,
  0.008368710055947304,
  0.001381461275741458,
];
/** `P` of `log(1+f) = f − f²/2 + f³·P(f)`, minimax (relative) on [√½ − 1, √2 − 1]; 6e-9. */
const LOG_P = [
  0.3333333134651184,
  -0.2500081956386566,
  0.20001226663589478,
  -0.16623356938362122,
  0.14201757311820984,
  -0.13160184025764465,
  0.1276158094406128,
  -0.07634498924016953,
];
/** `P` of `tanh(x) = x + x³·P(x²)`, minimax (relative) on |x| ≤ 0.55; 1e-9. */
const TANH_P = [
  -0.33333316445350647,
  0.13332585990428925,
  -0.05385230854153633,
  0.021071678027510643,
  -0.0062742386944592,
];
/** The smallest positive normal float32, 2⁻¹²⁶. */
const MIN_NORMAL = 1.1754943508222875e-38;
/** Bits of √½ in float32: `bits(x) − SQRT_HALF_BITS >> 23` is the exponent `k` with `x/2ᵏ ∈ [√½, √2)`. */
const SQRT_HALF_BITS = 0x3f3504f3;

/** `x − nf·ln2` for the f32 integer `nf` (Cody–Waite: `nf·LN2_HI` is exact). */
function reduceBy(x: Expr, nf: Expr): Expr {
  return nf.fma(-LN2_LO, nf.fma(-LN2_HI, x));
}

/** `n` (i32) and `r` with `x = n·ln2 + r`, `|r| ≤ ln2/2` (Cody–Waite). */
function reduceLn2(x: Expr): { n: Expr; r: Expr } {
  const nf = x.mul(LOG2E).roundEven();
  return { n: nf.convert("i32"), r: reduceBy(x, nf) };
}

/** The bits of 86 in float32 (`|x| ≤ 86` is `bits(x) & 0x7fffffff ≤ BITS_86`). */
const BITS_86 = 0x42ac0000;
/** The float32 nearest −150·ln2: below it eˣ < 2⁻¹⁵⁰, half the smallest subnormal, and rounds to 0. */
const EXP_ZERO_BELOW = Math.fround(-150 * Math.LN2);

/** 1.5·2²³: adding it rounds a float32 of magnitude below 2²² to an integer, half to even. */
const MAGIC = 12582912;

/**
 * `reduceLn2` for `|x·log2e| < 2²²` without a float rounding op: `t = x·log2e +
 * MAGIC` (two roundings: the second is `roundEven` of the first, as in
 * `reduceLn2`), whose bits are `bits(MAGIC) + n`, so `shift = bits(t) << 23`
 * is `n << 23` (the low 9 bits of `bits(MAGIC)` are zero), and `r` is
 * reduced by `n` as f32, as in `reduceLn2`. With `fused`, `t` is one fused
 * multiply-add where the renderer contracts it (then `n` may differ from
 * `reduceLn2`'s where `x·log2e` lies within half an ulp of a half-integer;
 * `r` stays within the polynomial's range).
 */
function reduceLn2Fast(x: Expr, fused = false): { n: Expr; shift: Expr; r: Expr } {
  const t = fused ? x.fma(LOG2E, MAGIC) : x.mul(LOG2E).add(MAGIC);
  const n = t.bitcast("i32").sub(constant(MAGIC, "f32").bitcast("i32"));
  // nf from the bits, not t − MAGIC: a WGSL compiler may fold (x·log2e + M) − M to x·log2e
  return { n, shift: t.bitcast("i32").shl(23), r: reduceBy(x, n.convert("f32")) };
}

/** `m·2ⁿ` by adding `shift = n << 23` to the exponent field: exact where `m` and `m·2ⁿ` are normal, or `n = 0`. */
function addExponent(m: Expr, shift: Expr): Expr {
  return m.bitcast("i32").add(shift).bitcast("f32");
}

/** `m·2ⁿ` for i32 `n` in [−252, 254], in two factors (one rounding for subnormal results). */
function scale2(m: Expr, n: Expr): Expr {
  const n1 = n.shr(1);
  return m.mul(pow2i(n1)).mul(pow2i(n.sub(n1)));
}

/**
 * `eˣ` in float32 (see the module doc).
 *
 * @param x An f32 node.
 * @returns The f32 node of `eˣ`.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { exp } from "./math.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * console.log(compileJsScalar(exp(load(0, "f32")))(1)); // 2.7182817459106445
 * ```
 */
export function exp(x: Expr): Expr {
  requireF32("exp", x);
  // Both arms round x·log2e + 1.5·2²³ with one fused multiply-add where the
  // renderer contracts it (relaxed SIMD), so they agree bit for bit on the
  // fast domain either way; |x·log2e| ≤ 150 after the clamp.
  const { n, r } = reduceLn2Fast(x.max(-104).min(89), true); // min/max keep NaN
  // Below −150·ln2 the result rounds to 0: written as 0, since a compiler that fuses what follows
  // (WebGPU) may reassociate scale2's product with it and never underflow (eˣ·1e30 gave 6.8e-16).
  const full = select(x.lt(EXP_ZERO_BELOW), 0, scale2(horner([1, 1, ...EXP_Q], r), n));
  // |x| ≤ 86: no clamp, and e^r ∈ [0.7, 1.42] times 2ⁿ, |n| ≤ 124, is normal
  const fast = reduceLn2Fast(x, true);
  const small = x.bitcast("i32").bitAnd(0x7fffffff).le(BITS_86); // |x| ≤ 86 (not NaN)
  return guard(small, addExponent(horner([1, 1, ...EXP_Q], fast.r), fast.shift), full);
}

/** `log(2ᵏ·(1 + f))` with `kf` = k as f32, `extra` added to the small terms. */
function logCore(f: Expr, kf: Expr, extra?: Expr): Expr {
  const f2 = f.mul(f);
  let y = f2.mul(f).mul(horner(LOG_P, f));
  y = kf.fma(LN2_LO, y);
  if (extra !== undefined) y = y.add(extra);
  y = f.add(f2.fma(-0.5, y));
  return kf.fma(LN2_HI, y);
}

/** `k` (i32) and `f = m − 1` with `x = 2ᵏ·m`, `m ∈ [√½, √2)`, for a positive normal `x`. */
function splitExponent(x: Expr): { k: Expr; f: Expr } {
  const b = x.bitcast("i32");
  const k = b.sub(SQRT_HALF_BITS).shr(23);
  return { k, f: b.sub(k.shl(23)).bitcast("f32").sub(1) };
}

/**
 * `log x` in float32 (see the module doc).
 *
 * @param x An f32 node.
 * @returns The f32 node of `log x`.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { log } from "./math.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * const f = compileJsScalar(log(load(0, "f32")));
 * console.log(f(Math.E), f(0), f(-1)); // 1 -Infinity NaN
 * ```
 */
export function log(x: Expr): Expr {
  requireF32("log", x);
  const sub = x.lt(MIN_NORMAL);
  const { k, f } = splitExponent(select(sub, x.mul(2 ** 23), x));
  const y = logCore(f, k.convert("f32").add(select(sub, f32(-23), 0)));
  const b = x.bitcast("u32");
  const special = select(isZero(x), INF.neg(), select(b.eq(0x7f800000), INF, NAN));
  const full = select(b.sub(1).lt(0x7f7fffff), y, special); // positive finite: bits in [1, 0x7f7fffff]
  // positive normal finite (bits in [0x00800000, 0x7f7fffff]): no scaling, no fix-ups
  const normal = splitExponent(x);
  return guard(b.sub(0x00800000).lt(0x7f000000), logCore(normal.f, normal.k.convert("f32")), full);
}

/**
 * `log(1 + x)` in float32, accurate near 0 (see the module doc).
 *
 * @param x An f32 node.
 * @returns The f32 node of `log(1 + x)`.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { log1p } from "./math.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * console.log(compileJsScalar(log1p(load(0, "f32")))(1e-10)); // 1.000000013351432e-10
 * ```
 */
export function log1p(x: Expr): Expr {
  requireF32("log1p", x);
  // u = 1 + t exactly, t = x truncated to the ulp g of 1 + x; the rest, x − t,
  // is exact too and adds (x − t)/u. No (1 + x) − 1 pattern, which WGSL
  // compilers may fold to x.
  const e = x.add(1).bitcast("u32").bitAnd(0x7f800000);
  const g = e.sub(23 << 23).bitcast("f32"); // 2^(E − 23)
  const invG = constant(277 << 23, "u32").sub(e).bitcast("f32"); // 2^(23 − E)
  const t = x.mul(invG).floor().mul(g);
  const u = t.add(1);
  const core = x.gt(-0.29289321881345254).and(x.lt(0.41421356237309503));
  const { k, f } = splitExponent(u);
  const y = logCore(
    select(core, x, f),
    select(core, f32(0), k.convert("f32")),
    select(core, f32(0), x.sub(t).div(u)),
  );
  const special = select(x.eq(-1), INF.neg(), select(x.eq(Infinity), INF, NAN));
  return keepZero(x, select(x.gt(-1).and(x.lt(Infinity)), y, special));
}

/**
 * `eˣ − 1` in float32, accurate near 0 (see the module doc).
 *
 * @param x An f32 node.
 * @returns The f32 node of `eˣ − 1`.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { expm1 } from "./math.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * console.log(compileJsScalar(expm1(load(0, "f32")))(1e-10)); // 1.000000013351432e-10
 * ```
 */
export function expm1(x: Expr): Expr {
  requireF32("expm1", x);
  const { n, r } = reduceLn2(x.max(-30).min(89));
  /** `e^r − 1 + (1 − 2⁻ⁿ)` (the last term 1 for n ≥ 25). */
  const core = (n: Expr, r: Expr): Expr =>
    r.mul(r).fma(horner(EXP_Q, r), r).add(f32(1).sub(pow2i(n.min(25).neg())));
  const full = scale2(core(n, r), n);
  // x ∈ [−30, 86]: no clamp; the core is normal (|core| ≥ 0.2) or n = 0, and so is the result
  const fast = reduceLn2Fast(x);
  const scaled = guard(
    x.ge(-30).and(x.le(86)),
    addExponent(core(fast.n, fast.r), fast.shift),
    full,
  );
  return keepZero(x, scaled);
}

/**
 * `tanh x` in float32 (see the module doc).
 *
 * @param x An f32 node.
 * @returns The f32 node of `tanh x`.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { tanh } from "./math.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * const f = compileJsScalar(tanh(load(0, "f32")));
 * console.log(f(0.5), f(-20)); // 0.46211716532707214 -1
 * ```
 */
export function tanh(x: Expr): Expr {
  requireF32("tanh", x);
  const u = x.mul(x);
  const small = x.mul(u).fma(horner(TANH_P, u), x);
  const a = x.abs().min(10);
  const large = f32(1).sub(f32(2).div(exp(a.add(a)).add(1)));
  return keepZero(x, select(x.abs().lt(0.55), small, flipSign(large, signBit(x))));
}

/** `|b| ≤ 64` integer powers by repeated squaring (7 unrolled steps); `m ≥ 0`. */
function smallIntPow(m: Expr, b: Expr): Expr {
  const e = b.abs().convert("u32");
  let r = f32(1), base = m;
  for (let k = 0; k < 7; k++) {
    r = select(e.bitAnd(1 << k).ne(0), r.mul(base), r);
    if (k < 6) base = base.mul(base);
  }
  return select(b.lt(0), f32(1).div(r), r);
}

/**
 * `aᵇ` in float32 with C99's special cases (see the module doc).
 *
 * @param a The base (f32).
 * @param b The exponent (f32).
 * @returns The f32 node of `aᵇ`.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { pow } from "./math.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * const f = compileJsScalar(pow(load(0, "f32"), load(1, "f32")));
 * console.log(f(-2, 3), f(-2, 0.5), f(NaN, 0)); // -8 NaN 1
 * ```
 */
export function pow(a: Expr, b: Expr): Expr {
  requireF32("pow", a);
  requireF32("pow", b);
  const m = a.abs();
  const isInt = b.eq(b.floor());
  // Repeated squaring loses about |b|/2 ulp, exp(b·log m) about 1.5·(1 + |b·log m|):
  // squaring for |b| ≤ 4 (small powers come out exact or within a rounding or
  // two) and for bases far enough from 1 that it is the more accurate one.
  const lm = log(m);
  const squaring = isInt.and(b.abs().le(64)).and(b.abs().le(4).or(lm.abs().ge(0.35)));
  let r = select(squaring, smallIntPow(m, b), exp(b.mul(lm)));
  r = select(isZero(m), select(b.lt(0), INF, 0), r);
  r = select(isInf(m), select(b.gt(0), INF, 0), r);
  // negative bases: NaN for a fractional exponent (finite nonzero bases), −r for an odd one
  const neg = signBit(a);
  r = select(neg.and(isInt.not()).and(isZero(m).or(isInf(m)).not()), NAN, r);
  const half = b.mul(0.5);
  r = flipSign(r, neg.and(isInt).and(half.ne(half.floor())));
  const infExp = select(m.eq(1), f32(1), select(m.gt(1).eq(b.gt(0)), INF, 0));
  r = select(isInf(b), infExp, r);
  r = select(isNan(a).or(isNan(b)), NAN, r);
  return select(b.eq(0).or(a.eq(1)), f32(1), r);
}

/**
 * The exact int32 power `aᵇ` modulo 2³² (31 unrolled squaring steps); a
 * negative exponent gives `trunc(1/aⁿ)`: 1 for `a = 1`, ±1 for `a = −1`, else 0.
 *
 * @param a The base (i32).
 * @param b The exponent (i32).
 * @returns The i32 node.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { powInt } from "./math.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * const f = compileJsScalar(powInt(load(0, "i32"), load(1, "i32")));
 * console.log(f(3, 4), f(2, 31), f(-1, -3)); // 81 -2147483648 -1
 * ```
 */
export function powInt(a: Expr, b: Expr): Expr {
  if (a.type !== "i32" || b.type !== "i32") {
    throw new TypeError(`powInt(): needs i32 operands, got ${a.type} and ${b.type}`);
  }
  let r = constant(1, "i32"), base = a;
  for (let k = 0; k < 31; k++) {
    r = select(b.bitAnd(1 << k).ne(0), r.mul(base), r);
    if (k < 30) base = base.mul(base);
  }
  const odd = b.bitAnd(1).ne(0);
  const negative = select(
    a.eq(1),
    constant(1, "i32"),
    select(a.eq(-1), select(odd, constant(-1, "i32"), 1), 0),
  );
  return select(b.lt(0), negative, r);
}
