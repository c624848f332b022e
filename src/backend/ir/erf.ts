/**
 * `erf` and `erfc` as float32 expression graphs of the kernel IR, with the
 * structure of fdlibm's `s_erff.c` (piecewise approximations, `exp(−x²)`
 * split so that the tails keep their relative accuracy) and coefficients
 * fitted here (below).
 *
 * - `|x| < 0.84375`: `erf x = x + x·y(x²)`, `y` a degree-6 polynomial of
 *   `erf(x)/x − 1`; `erfc x = 1 − erf x` for `|x| < ¼`, else
 *   `½ − (x·y + (x − ½))` (`x − ½` is exact, so nothing cancels).
 * - `0.84375 ≤ |x| < 1.25`: with `s = |x| − 1` (exact) and `c = erf(1)`
 *   rounded to float32, `erf|x| = c + D(s)`, `D` a degree-8 polynomial of
 *   `erf(1 + s) − c`; `erfc x = (1 − c) − D(s)` (`1 − c` exact) for `x > 0`,
 *   `1 + (c + D)` below.
 * - `|x| ≥ 1.25`: `erfc|x| = exp(−z² − 0.5625)·exp((z − |x|)(z + |x|) +
 *   L(1/x²))/|x|`, `z` being `|x|` with its 13 low significand bits cleared
 *   (so `z²` and `−z² − 0.5625` are exact and the rounding of `x²` never
 *   reaches the exponential) and `L ≈ log(|x|·erfc|x|·e^{x²}) + 0.5625` a
 *   polynomial in `1/x²` (degree 8 on [1.25, 1/0.35), degree 6 on
 *   [1/0.35, 10.1]); `erf = ±(1 − erfc|x|)`, `erfc x = 2 − erfc|x|` for
 *   `x < 0`. `|x|` is clamped at 10.1, where `erfc` has underflowed to 0.
 *
 * Special values: `erf(±0) = ±0`, `erf(±∞) = ±1`, `erfc(+∞) = 0`,
 * `erfc(−∞) = 2`, NaN → NaN. Subnormal `x`: `erf x = x + x·y` rounds once in
 * the subnormal range. `erfc` results below 2⁻¹²⁶ (`x > 9.2`) are subnormal
 * and carry the absolute error of the subnormal `exp(−z² − 0.5625)`.
 *
 * Coefficients: weighted least squares on 4000 Chebyshev nodes against
 * Python's `math.erf`/`math.erfc` (float64), each coefficient rounded to
 * float32 in turn (constant term first) and the remaining ones refitted to
 * absorb its rounding. Fit errors, evaluated in float32: `y` 0.47·2⁻²⁴
 * (absolute), `D` 2.9·2⁻²⁸, `L` 0.83·2⁻²⁴ and 0.16·2⁻²⁴ (absolute: relative
 * in `erfc`).
 *
 * @module
 */

import type { Expr } from "./expr.ts";
import { select } from "./expr.ts";
import { bits, copySign, f32, horner, requireF32, signBit } from "./_float.ts";
import { exp } from "./math.ts";

/** `erf(x)/x − 1 ≈ y(x²)` on |x| < 0.84375. */
const SMALL = [
  0.12837916612625122,
  -0.37612634897232056,
  0.11283732205629349,
  -0.026861993595957756,
  0.005208558402955532,
  -0.000823960464913398,
  8.829222497297451e-05,
];
/** erf(1) rounded to float32. */
const ERF1 = 0.8427007794380188;
/** `erf(1 + s) − ERF1 ≈ D(s)` on s ∈ [−0.15625, 0.25]. */
const MID = [
  1.3508899776581984e-08,
  0.41510748863220215,
  -0.41510751843452454,
  0.13837093114852905,
  0.06918490678071976,
  -0.06929104775190353,
  0.004778923466801643,
  0.017144912853837013,
  -0.010648881085216999,
];
/** `log(x·erfc(x)·e^{x²}) + 0.5625 ≈ L(1/x²)` on [1.25, 1/0.35). */
const TAIL_A = [
  -0.009935705922544003,
  -0.49734795093536377,
  0.5801414847373962,
  -1.0741852521896362,
  1.9721767902374268,
  -2.877227306365967,
  2.910076856613159,
  -1.7678282260894775,
  0.4806141257286072,
];
/** The same on [1/0.35, 10.1]. */
const TAIL_B = [
  -0.009864997118711472,
  -0.4999881088733673,
  0.624024510383606,
  -1.5017476081848145,
  4.591189861297607,
  -12.36434555053711,
  18.123607635498047,
];

/** `erf x` and `erfc x` (both from one graph; each caller keeps what it needs). */
function erfBoth(x: Expr): { erf: Expr; erfc: Expr } {
  const ax = x.abs();
  const positive = signBit(x).not();
  // |x| < 0.84375
  const y = horner(SMALL, x.mul(x));
  const xy = x.mul(y);
  const erfS = x.add(xy);
  const erfcS = select(ax.lt(0.25), f32(1).sub(erfS), f32(0.5).sub(xy.add(x.sub(0.5))));
  // 0.84375 ≤ |x| < 1.25
  const d = horner(MID, ax.sub(1));
  const erfM = f32(ERF1).add(d);
  const erfcM = select(positive, f32(1 - ERF1).sub(d), f32(1).add(erfM));
  // |x| ≥ 1.25
  const a = ax.min(10.1); // NaN stays NaN
  const z = bits(a).bitAnd(0xffffe000).bitcast("f32");
  const t = f32(1).div(a.mul(a));
  const tail = select(a.lt(1 / 0.35), horner(TAIL_A, t), horner(TAIL_B, t));
  const e1 = exp(z.mul(z).neg().sub(0.5625));
  const e2 = exp(z.sub(a).fma(z.add(a), tail));
  const erfcT = e1.mul(e2).div(a);
  const erfT = f32(1).sub(erfcT);
  const small = ax.lt(0.84375), mid = ax.lt(1.25);
  const erfAbs = select(mid, erfM, erfT);
  return {
    erf: select(small, erfS, copySign(erfAbs, x)),
    erfc: select(small, erfcS, select(mid, erfcM, select(positive, erfcT, f32(2).sub(erfcT)))),
  };
}

/**
 * The error function `erf x = 2/√π ∫₀ˣ e^{−t²} dt` in float32 (see the module doc).
 *
 * @param x An f32 node.
 * @returns The f32 node of `erf x`.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { erf } from "./erf.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * const f = compileJsScalar(erf(load(0, "f32")));
 * console.log(f(0.5), f(-3)); // 0.5204998850822449 -0.9999778866767883
 * ```
 */
export function erf(x: Expr): Expr {
  requireF32("erf", x);
  return erfBoth(x).erf;
}

/**
 * The complementary error function `erfc x = 1 − erf x` in float32,
 * accurate relative to its own value in the right tail (see the module doc).
 *
 * @param x An f32 node.
 * @returns The f32 node of `erfc x`.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { erfc } from "./erf.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * const f = compileJsScalar(erfc(load(0, "f32")));
 * console.log(f(5)); // 1.5374597211667562e-12 (float64: 1.5374597944280349e-12)
 * ```
 */
export function erfc(x: Expr): Expr {
  requireF32("erfc", x);
  return erfBoth(x).erfc;
}
