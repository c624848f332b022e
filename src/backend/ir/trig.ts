/**
 * `sin` and `cos` as float32 expression graphs of the kernel IR, correct for
 * every float32 input (no builtin takes over for large arguments).
 *
 * Range reduction to `x = k·π/2 + r`, `|r| ≤ π/4`: `r = x`, `k = 0` for
 * `|x| < ½`, and Payne–Hanek in 32-bit integer arithmetic above, for every
 * finite input (so no cancellation near multiples of π/2 loses accuracy).
 * With `x = M·2ˢ` (`M` the 24-bit significand), `x·2/π mod 4` only needs the
 * bits of `2/π` from weight `2^(1−s)` on: a 96-bit window `G` of them
 * (chosen by the exponent from eight 32-bit words, computed at load time from
 * π by Machin's formula in BigInt) gives `M·G mod 2⁹⁶`, a fixed-point number
 * with 2 integer bits (the quadrant) and 94 fraction bits, from which the
 * nearest quadrant is removed; the signed remainder, converted to float32
 * from its three words, times `π·2⁻⁶³` is `r`. The bits of `2/π` beyond the
 * window change the product by less than 2⁻⁷⁰ of a quadrant, and no float32
 * lies closer than about 2⁻³⁰ quadrants to a multiple of π/2, so `r` keeps
 * its 24 bits.
 *
 * Then `sin r = r + r³·S(r²)` and `cos r = 1 − r²/2 + r⁴·C(r²)` (Cephes'
 * float32 polynomials) picked and signed by the quadrant. NaN and ±∞ give
 * NaN; `sin(±0) = ±0`.
 *
 * @module
 */

import { constant, type Expr, select } from "./expr.ts";
import { flipSign, horner, isFinite, NAN, requireF32, signBit } from "./_float.ts";

/** `sin r = r + r³·S(r²)` on [−π/4, π/4]. */
const SIN_S = [-1.6666654611e-1, 8.3321608736e-3, -1.9515295891e-4];
/** `cos r = 1 − r²/2 + r⁴·C(r²)` on [−π/4, π/4]. */
const COS_C = [4.166664568298827e-2, -1.388731625493765e-3, 2.443315711809948e-5];

/** π to `bits` fraction bits (fixed point), by Machin's formula. */
function piFixed(bits: bigint): bigint {
  const one = 1n << bits;
  const atanInv = (x: bigint): bigint => {
    let sum = 0n, term = one / x, n = 1n, sign = 1n;
    while (term !== 0n) {
      sum += sign * (term / n);
      term /= x * x;
      n += 2n;
      sign = -sign;
    }
    return sum;
  };
  return 16n * atanInv(5n) - 4n * atanInv(239n);
}

/**
 * Bits of `2/π`, 32 per word: bit `p` of the sequence (most significant
 * first) is the fraction bit of weight `2^(32−p)` — a first word of zeros
 * (the integer part and 31 bits above it), so that every window the
 * reduction reads starts inside the table.
 */
const TWO_OVER_PI: readonly number[] = (() => {
  const prec = 320n;
  const twoOverPi = (2n << (2n * prec)) / piFixed(prec); // 2/π · 2^prec
  return Array.from({ length: 8 }, (_, j) => {
    const last = BigInt(32 * j - 1); // the word's last bit has weight 2^(1−32j)
    return Number((twoOverPi >> (prec - last)) & 0xffffffffn);
  });
})();

const u32 = (v: number): Expr => constant(v, "u32");

/** The high and low words of the 64-bit product of two u32 values (16-bit halves). */
function mulWide(a: Expr, b: Expr): { hi: Expr; lo: Expr } {
  const al = a.bitAnd(0xffff), ah = a.shr(16), bl = b.bitAnd(0xffff), bh = b.shr(16);
  const ll = al.mul(bl), lh = al.mul(bh), hl = ah.mul(bl), hh = ah.mul(bh);
  const mid = ll.shr(16).add(lh.bitAnd(0xffff)).add(hl.bitAnd(0xffff));
  return {
    hi: hh.add(lh.shr(16)).add(hl.shr(16)).add(mid.shr(16)),
    lo: mid.shl(16).bitOr(ll.bitAnd(0xffff)),
  };
}

/** Payne–Hanek: quadrant `k` (u32, mod 4) and `r` for `|x| ≥ ½` (see the module doc). */
function reduce(ax: Expr): { k: Expr; r: Expr } {
  const b = ax.bitcast("u32");
  const m = b.bitAnd(0x7fffff).bitOr(0x800000);
  const p0 = b.shr(23).sub(127 - 8); // first window bit: exponent + 8 (∈ [7, 136] here)
  const t0 = p0.shr(5), sh = p0.bitAnd(31);
  const word = (j: number): Expr => {
    let w = u32(TWO_OVER_PI[j]);
    for (let t = 1; t <= 4; t++) w = select(t0.eq(t), u32(TWO_OVER_PI[t + j]), w);
    return w;
  };
  const w = [word(0), word(1), word(2), word(3)];
  // bits sh… of (hi, lo); `(lo >> 1) >> (31 − sh)` stays right for sh = 0
  const funnel = (hi: Expr, lo: Expr) => hi.shl(sh).bitOr(lo.shr(1).shr(u32(31).sub(sh)));
  const g0 = funnel(w[0], w[1]), g1 = funnel(w[1], w[2]), g2 = funnel(w[2], w[3]);
  // (r0, r1, r2) = M·G mod 2⁹⁶
  const p2 = mulWide(m, g2), p1 = mulWide(m, g1);
  const r1 = p2.hi.add(p1.lo);
  const r0 = p1.hi.add(m.mul(g0)).add(select(r1.lt(p1.lo), u32(1), 0));
  const r2 = p2.lo;
  // nearest quadrant; the remainder (f0, r1, r2) is signed, |f0| ≤ 2²⁹
  const k = r0.add(0x20000000).shr(30);
  const f0 = r0.sub(k.shl(30)).bitcast("i32");
  const negative = f0.lt(0);
  const n2 = r2.bitNot().add(1);
  const c2 = select(r2.eq(0), u32(1), 0);
  const n1 = r1.bitNot().add(c2);
  const c1 = select(r2.eq(0).and(r1.eq(0)), u32(1), 0);
  const n0 = f0.bitcast("u32").bitNot().add(c1);
  const a0 = select(negative, n0, f0.bitcast("u32"));
  const a1 = select(negative, n1, r1);
  const a2 = select(negative, n2, r2);
  const s = a0.convert("f32").mul(2 ** 32).add(
    a1.convert("f32").add(a2.convert("f32").mul(2 ** -32)),
  );
  const r = s.mul(Math.PI * 2 ** -63);
  return { k: k.bitAnd(3), r: select(negative, r.neg(), r) };
}

/** sin (`cosine` false) or cos of an f32 node. */
function trig(x: Expr, cosine: boolean): Expr {
  const ax = x.abs();
  const small = ax.lt(0.5);
  const red = reduce(ax);
  const q = select(small, u32(0), red.k).add(cosine ? 1 : 0);
  const r = select(small, ax, red.r);
  const z = r.mul(r);
  const sinR = r.mul(z).fma(horner(SIN_S, z), r);
  const cosR = z.mul(z).mul(horner(COS_C, z)).sub(z.mul(0.5)).add(1);
  const v = select(q.bitAnd(1).ne(0), cosR, sinR);
  let flip = q.bitAnd(2).ne(0);
  if (!cosine) flip = flip.ne(signBit(x)); // sin is odd
  return select(isFinite(x), flipSign(v, flip), NAN);
}

/**
 * `sin x` in float32 for every float32 `x` (see the module doc).
 *
 * @param x An f32 node.
 * @returns The f32 node of `sin x`.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { sin } from "./trig.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * const f = compileJsScalar(sin(load(0, "f32")));
 * console.log(f(1), f(1e30)); // 0.8414709568023682 -0.791163444519043
 * ```
 */
export function sin(x: Expr): Expr {
  requireF32("sin", x);
  return trig(x, false);
}

/**
 * `cos x` in float32 for every float32 `x` (see the module doc).
 *
 * @param x An f32 node.
 * @returns The f32 node of `cos x`.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { cos } from "./trig.ts";
 * import { compileJsScalar } from "./render_js.ts";
 *
 * console.log(compileJsScalar(cos(load(0, "f32")))(0)); // 1
 * ```
 */
export function cos(x: Expr): Expr {
  requireF32("cos", x);
  return trig(x, true);
}

/** For tests: the 2/π words. @internal */
export const _TWO_OVER_PI: readonly number[] = TWO_OVER_PI;
