/**
 * Elementwise and reduction kernels in WebAssembly SIMD, emitted at run time
 * by `emit.ts` (no committed binary, no build step).
 *
 * One module holds every kernel. All pointers are byte addresses into the
 * imported memory `env.memory`, all counts are element counts; outputs never
 * alias inputs; buffers start 16-byte aligned but rows inside them need not
 * (SIMD loads and stores at any address are legal in WebAssembly).
 *
 * - Unary float32 `name(x, out, n)`: `neg abs square sqrt floor ceil round
 *   sign exp log tanh expm1 log1p`, and int32 (wrapping) `neg_i32 abs_i32
 *   square_i32`. Four lanes per step; the last `n mod 4` elements go through
 *   the same vector code with lane loads and stores.
 * - Binary, with 2-D broadcasting, `name(a, aRow, aCol, b, bRow, bCol, out,
 *   rows, cols)`: element `(r, c)` of `a` is at `a + size·(r·aRow + c·aCol)`
 *   with `aCol ∈ {0, 1}`; `out` is contiguous `rows × cols`. The inner loop is
 *   chosen per `(aCol, bCol)` case outside the row loop; a row that is
 *   constant (`aCol = bCol = 0`) is computed once and filled; when every
 *   operand is contiguous or broadcast along the whole of it, the rows are
 *   fused into one. float32 `add sub mul div maximum minimum`; comparisons
 *   (float32 and `_i32`) write one byte (0 or 1) per element; int32
 *   `add_i32 sub_i32 mul_i32 maximum_i32 minimum_i32`; bool bytes `and_u8
 *   or_u8` (any nonzero byte is true). `where_f32(c, cRow, cCol, a, …, b, …,
 *   out, rows, cols)` takes bool bytes `c`.
 * - Reductions over the middle axis of `[outer, n, inner]`: `sum_rows(x, out,
 *   outer, n)` (inner = 1), `sum_cols(x, out, outer, n, inner)`, likewise
 *   `max_*` and `min_*`. Sums accumulate in float64 and round once; max/min
 *   propagate NaN and order `-0 < +0`, like `Math.max`/`Math.min`.
 * - Fused log-sum-exp rows: `sumexp_rows(x, shift, out, rows, n)` writes
 *   `out[r] = Σ_j e^(x[r·n + j] − shift[r])`, the exponentials by the `exp`
 *   code below (the tail's unused lanes masked out), summed in float64 and
 *   rounded once like `sum_rows`; the caller shifts by the row maximum and
 *   takes `log(out[r]) + shift[r]`.
 * - Gather and scatter along the middle axis of `[outer, n, inner]`, with
 *   `count` int32 indices at `idx` already in `[0, n)`: `gather32(x, idx,
 *   out, outer, n, inner, count)` copies the 4-byte rows `x[o, idx[c], :]` to
 *   `out[o, c, :]` (float32 or int32: bits only), 16 then 4 elements per
 *   step and a 2 + 1 tail, with a scalar loop for `inner = 1`;
 *   `scatter_add_f32(g, idx, acc, out, outer, n, inner, count)` zeroes the
 *   float64 scratch `acc` (`outer·n·inner` doubles), adds `g[o, c, i]` into
 *   `acc[o, idx[c], i]` in the order o, c, i (f64x2 lanes promoted from f32,
 *   which keeps each element's order of additions) and rounds `acc` into
 *   `out` once: bit-identical to a `Float64Array` loop.
 * - `fill32(out, n, bits)` fills 32-bit words.
 *
 * Transcendentals: `exp` reduces `x = n·ln2 + r` (Cody–Waite, `ln2` split so
 * that `n·ln2_hi` is exact; `n` read from the low bits of `x·log2e + 1.5·2²³`),
 * evaluates `e^r` as a degree-6 polynomial (`1 + r + r²·q(r)`, `q` minimax)
 * by Horner, and scales by `2^n` in two steps (`2^⌊n/2⌋ · 2^⌈n/2⌉`) so that
 * subnormal results round once and overflow gives +Inf; in the main loop a
 * pair of vectors whose lanes all have `|x| ≤ 86` instead adds `n` to the
 * exponent field. `log` scales subnormal inputs by 2²³, splits `x = 2^k·m`
 * with `m ∈ [√½, √2)` and evaluates `log(1 + f) = f − f²/2 + f³·P(f)`
 * (degree-7 minimax `P`), fixing up 0, negatives, +Inf and NaN only in
 * vectors that have one. `tanh` is `x + x³·P(x²)` for `|x| < 0.55` and
 * `1 − 2/(e^{2|x|} + 1)` (sign restored) above. `expm1` and `log1p` work in
 * float64, two lanes at a time, and round once. The `"relaxed"` variant does
 * the multiply-adds with `relaxed_madd`, `"simd"` with a multiply and an add;
 * every algorithm is accurate either way (the reductions' products are
 * exact). No `sin`/`cos` (their range reduction for huge arguments needs
 * Payne–Hanek): callers keep `Math.sin`/`Math.cos`.
 *
 * Accuracy against `Math.fround(Math.f(x))` (float64), both variants,
 * measured on every 1013th float32 bit pattern and on 4·10⁶ evenly spaced
 * patterns in each interesting range (exp [−104, 89], log (0, 10⁻³⁷] ∪
 * [0.3, 3e38], tanh [−12, 12], expm1 [−20, 89], log1p [−1, 3e38]): at most
 * 1 ulp (exp, log, tanh, expm1), 0 ulp seen for log1p; subnormal results of
 * exp within 1 subnormal ulp; specials exact. The tests assert ≤ 2 ulp.
 *
 * Speed, Deno 2.9, one thread, AMD EPYC (Zen 4) at 2.6 GHz, 10⁶ float32,
 * relaxed (simd) in ms: exp 0.47 (0.81), log 0.95 (1.30), tanh 1.7 (2.4),
 * expm1 2.2 (3.2), log1p 3.8 (4.5) — a JS `Math.*` loop takes 11–25;
 * contiguous add 0.20, broadcast add 0.20, less 0.14, where 0.34, neg 0.20,
 * sum_rows 0.14, sum_cols (1000 × 1000) 0.18, max_rows 0.23, fill32 0.08.
 * `sumexp_rows` costs about `exp` plus `sum_rows`: 1000 × 1000 took 1.03
 * (1.51) beside 0.76 (1.15) for `exp` of 10⁶ in the same run (a busier
 * moment of the same VM); 100 × 10 takes 2.1 µs (2.7). `gather32` of 100
 * random rows of 784 from 60000 (cache-warm) takes 11 µs, a JS
 * `out.set(src.subarray(…))` loop 13; `scatter_add_f32` (outer, n, inner,
 * count) = (1, 10, 1, 100) 0.13 µs beside 0.76 for the JS `Float64Array`
 * loop, (1, 1000, 64, 100) 28 µs beside 70–78 (mostly zeroing and rounding
 * the 64 000 sums); both variants alike.
 *
 * @module
 */

import {
  buildModule,
  Code,
  F32,
  F64,
  type FuncDef,
  I32,
  type PlainOp,
  V128,
  type ValType,
} from "./emit.ts";

/** Which instruction does the multiply-adds: relaxed-SIMD FMA or plain SIMD mul + add. */
export type KernelVariant = "relaxed" | "simd";

/** `name(x, out, n)`: `out[i] = f(x[i])` for `n` elements. */
export type UnaryKernel = (x: number, out: number, n: number) => void;

/**
 * `name(a, aRow, aCol, b, bRow, bCol, out, rows, cols)`: the contiguous
 * `rows × cols` result of an elementwise op on two broadcast 2-D views.
 */
export type BinaryKernel = (
  a: number,
  aRow: number,
  aCol: number,
  b: number,
  bRow: number,
  bCol: number,
  out: number,
  rows: number,
  cols: number,
) => void;

/** `where_f32(c, cRow, cCol, a, aRow, aCol, b, bRow, bCol, out, rows, cols)`. */
export type WhereKernel = (
  c: number,
  cRow: number,
  cCol: number,
  a: number,
  aRow: number,
  aCol: number,
  b: number,
  bRow: number,
  bCol: number,
  out: number,
  rows: number,
  cols: number,
) => void;

/** `name(x, out, outer, n)`: reduces each contiguous row of `n` elements. */
export type RowsKernel = (x: number, out: number, outer: number, n: number) => void;

/** `name(x, out, outer, n, inner)`: reduces the middle axis of `[outer, n, inner]`. */
export type ColsKernel = (x: number, out: number, outer: number, n: number, inner: number) => void;

/** `sumexp_rows(x, shift, out, rows, n)`: `out[r] = Σ_j e^(x[r·n + j] − shift[r])`. */
export type SumexpRowsKernel = (
  x: number,
  shift: number,
  out: number,
  rows: number,
  n: number,
) => void;

/**
 * `gather32(x, idx, out, outer, n, inner, count)`: `out[o, c, :] = x[o,
 * idx[c], :]` for 4-byte elements.
 */
export type Gather32Kernel = (
  x: number,
  idx: number,
  out: number,
  outer: number,
  n: number,
  inner: number,
  count: number,
) => void;

/**
 * `scatter_add_f32(g, idx, acc, out, outer, n, inner, count)`: `out[o, j, :]
 * = Σ_{c: idx[c] = j} g[o, c, :]`, accumulated in the float64 scratch `acc`.
 */
export type ScatterAddF32Kernel = (
  g: number,
  idx: number,
  acc: number,
  out: number,
  outer: number,
  n: number,
  inner: number,
  count: number,
) => void;

/** The exported functions of the kernel module (all arguments are i32; pointers are byte addresses). */
export interface KernelExports {
  /** `-x`. */
  readonly neg: UnaryKernel;
  /** `|x|`. */
  readonly abs: UnaryKernel;
  /** `x·x`. */
  readonly square: UnaryKernel;
  /** `√x`. */
  readonly sqrt: UnaryKernel;
  /** `⌊x⌋`. */
  readonly floor: UnaryKernel;
  /** `⌈x⌉`. */
  readonly ceil: UnaryKernel;
  /** Round half to even. */
  readonly round: UnaryKernel;
  /** `Math.sign` (NaN → NaN, ±0 → ±0). */
  readonly sign: UnaryKernel;
  /** `e^x` (≤ 2 ulp). */
  readonly exp: UnaryKernel;
  /** Natural log (≤ 2 ulp). */
  readonly log: UnaryKernel;
  /** Hyperbolic tangent (≤ 2 ulp). */
  readonly tanh: UnaryKernel;
  /** `e^x − 1` (≤ 2 ulp). */
  readonly expm1: UnaryKernel;
  /** `log(1 + x)` (≤ 2 ulp). */
  readonly log1p: UnaryKernel;
  /** int32 `-x`, wrapping. */
  readonly neg_i32: UnaryKernel;
  /** int32 `|x|`, wrapping (`|−2³¹| = −2³¹`). */
  readonly abs_i32: UnaryKernel;
  /** int32 `x·x`, wrapping. */
  readonly square_i32: UnaryKernel;
  /** float32 `a + b`. */
  readonly add: BinaryKernel;
  /** float32 `a − b`. */
  readonly sub: BinaryKernel;
  /** float32 `a · b`. */
  readonly mul: BinaryKernel;
  /** float32 `a / b`. */
  readonly div: BinaryKernel;
  /** float32 `Math.max(a, b)`. */
  readonly maximum: BinaryKernel;
  /** float32 `Math.min(a, b)`. */
  readonly minimum: BinaryKernel;
  /** float32 `a == b` as bytes. */
  readonly equal: BinaryKernel;
  /** float32 `a != b` as bytes. */
  readonly notEqual: BinaryKernel;
  /** float32 `a > b` as bytes. */
  readonly greater: BinaryKernel;
  /** float32 `a >= b` as bytes. */
  readonly greaterEqual: BinaryKernel;
  /** float32 `a < b` as bytes. */
  readonly less: BinaryKernel;
  /** float32 `a <= b` as bytes. */
  readonly lessEqual: BinaryKernel;
  /** int32 `a == b` as bytes. */
  readonly equal_i32: BinaryKernel;
  /** int32 `a != b` as bytes. */
  readonly notEqual_i32: BinaryKernel;
  /** int32 `a > b` as bytes. */
  readonly greater_i32: BinaryKernel;
  /** int32 `a >= b` as bytes. */
  readonly greaterEqual_i32: BinaryKernel;
  /** int32 `a < b` as bytes. */
  readonly less_i32: BinaryKernel;
  /** int32 `a <= b` as bytes. */
  readonly lessEqual_i32: BinaryKernel;
  /** int32 `a + b`, wrapping. */
  readonly add_i32: BinaryKernel;
  /** int32 `a − b`, wrapping. */
  readonly sub_i32: BinaryKernel;
  /** int32 `a · b`, wrapping. */
  readonly mul_i32: BinaryKernel;
  /** int32 `max(a, b)`. */
  readonly maximum_i32: BinaryKernel;
  /** int32 `min(a, b)`. */
  readonly minimum_i32: BinaryKernel;
  /** bool bytes `a && b` (0 or 1). */
  readonly and_u8: BinaryKernel;
  /** bool bytes `a || b` (0 or 1). */
  readonly or_u8: BinaryKernel;
  /** float32 `c ? a : b` with bool bytes `c` (bit-exact copies). */
  readonly where_f32: WhereKernel;
  /** Row sums of `[outer, n]`, float64 accumulation. */
  readonly sum_rows: RowsKernel;
  /** Sums over the middle axis of `[outer, n, inner]`, float64 accumulation. */
  readonly sum_cols: ColsKernel;
  /** Row maxima (`n ≥ 1`), NaN-propagating. */
  readonly max_rows: RowsKernel;
  /** Maxima over the middle axis (`n ≥ 1`), NaN-propagating. */
  readonly max_cols: ColsKernel;
  /** Row minima (`n ≥ 1`), NaN-propagating. */
  readonly min_rows: RowsKernel;
  /** Minima over the middle axis (`n ≥ 1`), NaN-propagating. */
  readonly min_cols: ColsKernel;
  /**
   * `sumexp_rows(x, shift, out, rows, n)`: `out[r] = Σ_j e^(x[r·n + j] −
   * shift[r])` for the row-major float32 `rows × n` matrix at `x`, `shift`
   * and `out` float32[rows]. The exponentials are the `exp` kernel's (≤ 2
   * ulp; e^−Inf = 0, NaN → NaN, overflow → +Inf) and are summed in float64
   * like `sum_rows`, rounded once. For log-sum-exp with `shift` the row
   * maximum: `log(out[r]) + shift[r]`.
   */
  readonly sumexp_rows: SumexpRowsKernel;
  /**
   * `gather32(x, idx, out, outer, n, inner, count)`: for the 4-byte elements
   * (float32 or int32; bits are copied) of `x` viewed as `[outer, n,
   * inner]`, writes `out[o, c, i] = x[o, idx[c], i]` into the contiguous
   * `[outer, count, inner]` at `out`, reading the `count` int32 indices at
   * `idx`, each already in `[0, n)`. Writes exactly `outer·count·inner`
   * elements; reads only the indexed rows.
   */
  readonly gather32: Gather32Kernel;
  /**
   * `scatter_add_f32(g, idx, acc, out, outer, n, inner, count)`: for the
   * float32 `g` viewed as `[outer, count, inner]` and the `count` int32
   * indices at `idx` (each in `[0, n)`), zeroes the float64 scratch `acc`
   * (`outer·n·inner` doubles, 8-byte aligned), adds `g[o, c, i]` (promoted)
   * into `acc[o, idx[c], i]` in the order o, then c, then i, and writes
   * `out[j] = f32(acc[j])` for every one of the `outer·n·inner` elements:
   * bit-identical to the same loop over a `Float64Array` (repeated indices
   * sum in index order). `out` and `acc` alias neither each other nor `g`.
   */
  readonly scatter_add_f32: ScatterAddF32Kernel;
  /** `fill32(out, n, bits)`: `n` 32-bit words of `bits`. */
  readonly fill32: (out: number, n: number, bits: number) => void;
}

// ---------------------------------------------------------------------------
// Function builder: locals, hoisted constants, multiply-add by variant.

/** Pushes one value. */
type Push = () => void;

/** One function under construction. */
class Fn {
  /** The body after the constants' prologue. */
  readonly code: Code = new Code();
  readonly #locals: ValType[] = [];
  readonly #prologue: Code = new Code();
  readonly #consts = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly params: readonly ValType[],
    readonly fused: boolean,
  ) {}

  /** A new local of type `t`. */
  local(t: ValType): number {
    this.#locals.push(t);
    return this.params.length + this.#locals.length - 1;
  }

  /** A `v128` local set once, before the body, to the 16 bytes `bytes`. */
  constLocal(bytes: Uint8Array): number {
    const key = bytes.join(",");
    let i = this.#consts.get(key);
    if (i === undefined) {
      i = this.local(V128);
      this.#prologue.v128Const(bytes).set(i);
      this.#consts.set(key, i);
    }
    return i;
  }

  /** Pushes four f32 lanes of `v` (from a hoisted local). */
  f32x4(v: number): Push {
    const i = this.constLocal(new Uint8Array(new Float32Array([v, v, v, v]).buffer));
    return () => this.code.get(i);
  }

  /** Pushes four i32 lanes of `v` (from a hoisted local). */
  i32x4(v: number): Push {
    const i = this.constLocal(new Uint8Array(new Int32Array([v, v, v, v]).buffer));
    return () => this.code.get(i);
  }

  /** Pushes two f64 lanes of `v` (from a hoisted local). */
  f64x2(v: number): Push {
    const i = this.constLocal(new Uint8Array(new Float64Array([v, v]).buffer));
    return () => this.code.get(i);
  }

  /** Pushes two i64 lanes of `v` (from a hoisted local). */
  i64x2(v: bigint): Push {
    const i = this.constLocal(new Uint8Array(new BigInt64Array([v, v]).buffer));
    return () => this.code.get(i);
  }

  /** Pushes local `i`. */
  get(i: number): Push {
    return () => this.code.get(i);
  }

  /** Pushes `a·b + c` in f32x4 (fused where the variant and the hardware allow). */
  madd(a: Push, b: Push, c: Push): void {
    a();
    b();
    if (this.fused) {
      c();
      this.code.op("f32x4.relaxed_madd");
    } else {
      this.code.op("f32x4.mul");
      c();
      this.code.op("f32x4.add");
    }
  }

  /** Pushes `a·b + c` in f64x2. */
  madd64(a: Push, b: Push, c: Push): void {
    a();
    b();
    if (this.fused) {
      c();
      this.code.op("f64x2.relaxed_madd");
    } else {
      this.code.op("f64x2.mul");
      c();
      this.code.op("f64x2.add");
    }
  }

  /** Pushes the f32x4 polynomial `Σ coeffs[k]·t^k` (Horner). */
  horner(coeffs: readonly number[], t: Push): void {
    const last = coeffs.length - 1;
    this.f32x4(coeffs[last])();
    for (let k = last - 1; k >= 0; k--) this.madd(() => {}, t, this.f32x4(coeffs[k]));
  }

  /** Pushes the f64x2 polynomial `Σ coeffs[k]·t^k` (Horner). */
  horner64(coeffs: readonly number[], t: Push): void {
    const last = coeffs.length - 1;
    this.f64x2(coeffs[last])();
    for (let k = last - 1; k >= 0; k--) this.madd64(() => {}, t, this.f64x2(coeffs[k]));
  }

  /** The finished function, exported as its name. */
  def(): FuncDef {
    const body = new Code().raw(...this.#prologue.bytes).raw(...this.code.bytes);
    return {
      params: this.params,
      results: [],
      locals: this.#locals,
      body,
      export: this.name,
    };
  }
}

// ---------------------------------------------------------------------------
// Transcendental cores: each pushes f(x) for the f32x4 in local `x`.

/** log2(e). */
const LOG2E = 1.4426950408889634;
/** 1.5·2²³: adding it rounds an f32 of magnitude < 2²² to an integer, readable from the low bits. */
const MAGIC = 12582912;
/** High part of ln 2 with 9 significant bits, so `n·LN2_HI` is exact for |n| < 2¹⁵. */
const LN2_HI = 0.693359375;
/** `ln 2 − LN2_HI`. */
const LN2_LO = -2.12194440e-4;
/**
 * `q` of `e^r ≈ 1 + r + r²·q(r)`, minimax (relative error of `e^r`, 3e-9)
 * on |r| ≤ ln2/2; evaluated by Horner as the degree-6 polynomial
 * `[1, 1, …q]`, one operation less than with `r²` and measured no less
 * accurate.
 */
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
/** Vectors per step of exp's main loop (one range check for the group). */
const EXP_UNROLL = 2;
/** Vectors per step of log's main loop. */
const LOG_UNROLL = 2;
/** Below this |x|, tanh uses its odd polynomial. */
const TANH_SMALL = 0.55;

/** Bits of an f32. */
function f32Bits(v: number): number {
  return new Int32Array(new Float32Array([v]).buffer)[0];
}

/**
 * The shared reduction of exp: pushes `e^r` where `src = n·ln2 + r`, for
 * `|src| ≤ 104`, and sets `t` to `MAGIC + n` (so `bits(t) << 23 = n << 23`)
 * and, unless null, `n` (i32 lanes).
 */
function expReduced(fn: Fn, src: number, t: number, n: number | null): void {
  const c = fn.code;
  const nf = fn.local(V128), r = fn.local(V128);
  fn.madd(fn.get(src), fn.f32x4(LOG2E), fn.f32x4(MAGIC));
  c.tee(t);
  fn.f32x4(MAGIC)();
  c.op("f32x4.sub").set(nf);
  if (n !== null) {
    c.get(t);
    fn.i32x4(f32Bits(MAGIC))();
    c.op("i32x4.sub").set(n);
  }
  fn.madd(fn.get(nf), fn.f32x4(-LN2_HI), fn.get(src));
  c.set(r);
  fn.madd(fn.get(nf), fn.f32x4(-LN2_LO), fn.get(r));
  c.set(r);
  fn.horner([1, 1, ...EXP_Q], fn.get(r));
}

/** Pushes `bits((n + 127) << 23) = 2^n` for i32 lanes `n` on the stack, −126 ≤ n ≤ 127. */
function pow2(fn: Fn): void {
  fn.i32x4(127)();
  fn.code.op("i32x4.add").i32(23).op("i32x4.shl");
}

/**
 * Sets each `outs[i]` to `f(xs[i])`: by `fast(x)` when `bad(x)` (pushes a
 * mask) is all zeros for every vector of the group, else by `slow(x)`.
 */
function fastOrSlow(
  fn: Fn,
  xs: readonly number[],
  outs: readonly number[],
  bad: (x: number) => void,
  fast: (x: number) => void,
  slow: (x: number) => void,
): void {
  const c = fn.code;
  c.block().block();
  xs.forEach((x, i) => {
    bad(x);
    if (i > 0) c.op("v128.or");
  });
  c.op("v128.any_true").brIf(0);
  xs.forEach((x, i) => {
    fast(x);
    c.set(outs[i]);
  });
  c.br(1).end();
  xs.forEach((x, i) => {
    slow(x);
    c.set(outs[i]);
  });
  c.end();
}

/** Sets `outs[i] = e^xs[i]`; with `fast`, vectors with all |x| ≤ 86 skip the clamp and the two-step scaling. */
function expGroup(fn: Fn, xs: readonly number[], outs: readonly number[], fast: boolean): void {
  const c = fn.code;
  if (!fast) return each(expF32)(fn, xs, outs, fast);
  const bad = (x: number): void => {
    c.get(x);
    fn.i32x4(0x7fffffff)();
    c.op("v128.and");
    fn.i32x4(f32Bits(86))();
    c.op("i32x4.gt_s");
  };
  const quick = (x: number): void => {
    const t = fn.local(V128);
    expReduced(fn, x, t, null);
    c.get(t).i32(23).op("i32x4.shl").op("i32x4.add");
  };
  fastOrSlow(fn, xs, outs, bad, quick, (x) => expF32(fn, x));
}

/** Pushes e^x for the f32x4 in local `x`, correct for every input. */
function expF32(fn: Fn, x: number): void {
  const c = fn.code;
  const n = fn.local(V128), p = fn.local(V128), xc = fn.local(V128), n1 = fn.local(V128);
  const t = fn.local(V128);
  // Clamp (pmax/pmin keep a NaN in x): below −104 the result rounds to 0, above 89 to +Inf.
  c.get(x);
  fn.f32x4(-104)();
  c.op("f32x4.pmax");
  fn.f32x4(89)();
  c.op("f32x4.pmin").set(xc);
  expReduced(fn, xc, t, n);
  c.set(p);
  // 2^n = 2^n1 · 2^(n − n1), n1 = n >> 1: both factors normal for −150 ≤ n ≤ 128.
  c.get(n).i32(1).op("i32x4.shr_s").set(n1);
  c.get(p).get(n1);
  pow2(fn);
  c.op("f32x4.mul").get(n).get(n1).op("i32x4.sub");
  pow2(fn);
  c.op("f32x4.mul");
}

/**
 * Pushes log of the positive normal finite lanes of local `src`, adding the
 * f32 lanes of local `adj` (unless null) to the exponent.
 */
function logCore(fn: Fn, src: number, adj: number | null): void {
  const c = fn.code;
  const k = fn.local(V128), f = fn.local(V128), f2 = fn.local(V128), kf = fn.local(V128);
  const y = fn.local(V128);
  // k = (bits − bits(√½)) >> 23; m = bits − (k << 23) ∈ [√½, √2); f = m − 1.
  c.get(src);
  fn.i32x4(0x3f3504f3)();
  c.op("i32x4.sub").i32(23).op("i32x4.shr_s").set(k);
  c.get(src).get(k).i32(23).op("i32x4.shl").op("i32x4.sub");
  fn.f32x4(1)();
  c.op("f32x4.sub").tee(f).get(f).op("f32x4.mul").set(f2);
  c.get(k).op("f32x4.convert_i32x4_s");
  if (adj !== null) c.get(adj).op("f32x4.add");
  c.set(kf);
  // y = f³·P(f) + k·ln2_lo − f²/2;  log = (f + y) + k·ln2_hi
  c.get(f2).get(f).op("f32x4.mul");
  fn.horner(LOG_P, fn.get(f));
  c.op("f32x4.mul").set(y);
  fn.madd(fn.get(kf), fn.f32x4(LN2_LO), fn.get(y));
  c.set(y);
  fn.madd(fn.get(f2), fn.f32x4(-0.5), fn.get(y));
  c.get(f).op("f32x4.add").set(y);
  fn.madd(fn.get(kf), fn.f32x4(LN2_HI), fn.get(y));
}

/**
 * Pushes log(x) for the f32x4 in local `x`, correct for every input (0 →
 * −Inf, negative → NaN, +Inf → +Inf, subnormals scaled by 2²³ first).
 */
function logF32(fn: Fn, x: number): void {
  const c = fn.code;
  const xs = fn.local(V128), adj = fn.local(V128), den = fn.local(V128);
  c.get(x);
  fn.f32x4(1.1754943508222875e-38)();
  c.op("f32x4.lt").set(den);
  c.get(x);
  fn.f32x4(8388608)();
  c.op("f32x4.mul").get(x).get(den).op("v128.bitselect").set(xs);
  fn.f32x4(-23)();
  c.get(den).op("v128.and").set(adj);
  logCore(fn, xs, adj);
  // Not in (0, +Inf): 0 → −Inf, else √x (NaN for x < 0 or NaN, +Inf for +Inf).
  fn.f32x4(-Infinity)();
  c.get(x).op("f32x4.sqrt").get(x);
  fn.f32x4(0)();
  c.op("f32x4.eq").op("v128.bitselect");
  c.get(x);
  fn.f32x4(0)();
  c.op("f32x4.gt").get(x);
  fn.f32x4(Infinity)();
  c.op("f32x4.lt").op("v128.and").op("v128.bitselect");
}

/** Sets `outs[i] = log(xs[i])`; with `fast`, vectors of positive normal finite lanes skip the fix-ups. */
function logGroup(fn: Fn, xs: readonly number[], outs: readonly number[], fast: boolean): void {
  const c = fn.code;
  if (!fast) return each(logF32)(fn, xs, outs, fast);
  // (bits − 0x00800000) as unsigned ≥ 0x7f000000: not a positive normal finite.
  const bad = (x: number): void => {
    c.get(x);
    fn.i32x4(0x00800000)();
    c.op("i32x4.sub");
    fn.i32x4(0x7f000000)();
    c.op("i32x4.ge_u");
  };
  fastOrSlow(fn, xs, outs, bad, (x) => logCore(fn, x, null), (x) => logF32(fn, x));
}

/** Pushes tanh(x) for the f32x4 in local `x`. */
function tanhF32(fn: Fn, x: number): void {
  const c = fn.code;
  const a = fn.local(V128), u = fn.local(V128), e2 = fn.local(V128), n = fn.local(V128);
  // Small: x + x³·P(x²) (keeps −0 and tiny x).
  c.get(x).get(x).op("f32x4.mul").set(u);
  fn.madd(() => c.get(x).get(u).op("f32x4.mul"), () => fn.horner(TANH_P, fn.get(u)), fn.get(x));
  // Large: 1 − 2/(e^{2a} + 1), a = min(|x|, 10) (NaN stays NaN); 2a ∈ [1.1, 20] so 2^n is normal.
  c.get(x).op("f32x4.abs");
  fn.f32x4(10)();
  c.op("f32x4.pmin").tee(a).get(a).op("f32x4.add").set(e2);
  expReduced(fn, e2, fn.local(V128), n);
  c.get(n);
  pow2(fn);
  c.op("f32x4.mul");
  fn.f32x4(1)();
  c.op("f32x4.add").set(e2);
  fn.f32x4(1)();
  fn.f32x4(2)();
  c.get(e2).op("f32x4.div").op("f32x4.sub");
  // restore the sign
  c.get(x);
  fn.i32x4(-0x80000000)();
  c.op("v128.and").op("v128.or");
  // select by |x| < 0.55 (false for NaN: the large branch, NaN)
  c.get(x).op("f32x4.abs");
  fn.f32x4(TANH_SMALL)();
  c.op("f32x4.lt").op("v128.bitselect");
  keepZero(fn, x);
}

/** Taylor coefficients 1/k! for k = 0 … 9. */
const INV_FACT = Array.from({ length: 10 }, (_, k) => {
  let f = 1;
  for (let i = 2; i <= k; i++) f *= i;
  return 1 / f;
});

/**
 * Pushes expm1 of the two f64 lanes in local `d` (inputs are float32
 * values, clamped to [−30, 89]): `2^n·(e^r − 1) + (2^n − 1)`, in float64.
 */
function expm1F64(fn: Fn, d: number): void {
  const c = fn.code;
  const t = fn.local(V128), nf = fn.local(V128), r = fn.local(V128), s = fn.local(V128);
  const xc = fn.local(V128);
  const magic = 6755399441055744; // 1.5·2^52
  c.get(d);
  fn.f64x2(-30)();
  c.op("f64x2.pmax");
  fn.f64x2(89)();
  c.op("f64x2.pmin").set(xc);
  fn.madd64(fn.get(xc), fn.f64x2(Math.LOG2E), fn.f64x2(magic));
  c.tee(t);
  fn.f64x2(magic)();
  c.op("f64x2.sub").set(nf);
  // 2^n: (n + 1023) << 52, n = bits(t) − bits(magic)
  c.get(t);
  fn.i64x2(0x4338000000000000n - 1023n)();
  c.op("i64x2.sub").i32(52).op("i64x2.shl").set(s);
  // r = x − n·ln2 (ln2 split in two parts: n·hi exact)
  fn.madd64(fn.get(nf), fn.f64x2(-0.6931471803691238), fn.get(xc));
  c.set(r);
  fn.madd64(fn.get(nf), fn.f64x2(-1.9082149292705877e-10), fn.get(r));
  c.set(r);
  // e^r − 1 = r + r²·(1/2 + r/6 + …)
  c.get(r).get(r).op("f64x2.mul");
  fn.horner64(INV_FACT.slice(2, 10), fn.get(r));
  c.op("f64x2.mul").get(r).op("f64x2.add");
  c.get(s).op("f64x2.mul").get(s);
  fn.f64x2(1)();
  c.op("f64x2.sub").op("f64x2.add");
}

/** Pushes expm1(x) for the f32x4 in local `x` (float64 inside, rounded once). */
function expm1F32(fn: Fn, x: number): void {
  const c = fn.code;
  const d = fn.local(V128), lo = fn.local(V128);
  c.get(x).op("f64x2.promote_low_f32x4").set(d);
  expm1F64(fn, d);
  c.op("f32x4.demote_f64x2_zero").set(lo);
  c.get(x).get(x).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
  c.op("f64x2.promote_low_f32x4").set(d);
  expm1F64(fn, d);
  c.op("f32x4.demote_f64x2_zero");
  // [lanes 0–1 of lo, lanes 0–1 of the high result]
  c.get(lo).shuffle([16, 17, 18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5, 6, 7]);
  keepZero(fn, x);
}

/** Keeps the lanes on top of the stack where `x ≠ 0`, takes `x` where it is ±0 (its sign). */
function keepZero(fn: Fn, x: number): void {
  fn.code.get(x).get(x);
  fn.f32x4(0)();
  fn.code.op("f32x4.ne").op("v128.bitselect");
}

/**
 * Pushes log1p of the two f64 lanes in local `d` (float32 values > −1,
 * finite): `log(u) + (d − (u − 1))/u` with `u = 1 + d` and
 * `log(u) = k·ln2 + 2·atanh(f/(2+f))`, in float64.
 */
function log1pF64(fn: Fn, d: number): void {
  const c = fn.code;
  const u = fn.local(V128), k = fn.local(V128), f = fn.local(V128), s = fn.local(V128);
  const z = fn.local(V128), kf = fn.local(V128);
  c.get(d);
  fn.f64x2(1)();
  c.op("f64x2.add").set(u);
  // k = (bits(u) − bits(√½)) >> 52 (arithmetic), m = bits(u) − (k << 52) ∈ [√½, √2)
  c.get(u);
  fn.i64x2(0x3fe6a09e667f3bcdn)();
  c.op("i64x2.sub").i32(52).op("i64x2.shr_s").set(k);
  c.get(u).get(k).i32(52).op("i64x2.shl").op("i64x2.sub");
  fn.f64x2(1)();
  c.op("f64x2.sub").set(f);
  // k as f64: lanes 0 and 2 of the i32 view, converted
  c.get(k).get(k).shuffle([0, 1, 2, 3, 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11]);
  c.op("f64x2.convert_low_i32x4_s").set(kf);
  // s = f/(2+f); log(m) = 2s + 2s·(z/3 + z²/5 + …), z = s²
  c.get(f).get(f);
  fn.f64x2(2)();
  c.op("f64x2.add").op("f64x2.div").tee(s).get(s).op("f64x2.mul").set(z);
  c.get(s).get(s).op("f64x2.add").tee(s);
  fn.horner64([1 / 3, 1 / 5, 1 / 7, 1 / 9, 1 / 11, 1 / 13, 1 / 15, 1 / 17], fn.get(z));
  c.get(z).op("f64x2.mul").op("f64x2.mul").get(s).op("f64x2.add").set(z);
  fn.madd64(fn.get(kf), fn.f64x2(Math.LN2), fn.get(z));
  // correction for the rounding of u: (d − (u − 1))/u
  c.get(d).get(u);
  fn.f64x2(1)();
  c.op("f64x2.sub").op("f64x2.sub").get(u).op("f64x2.div").op("f64x2.add");
}

/** Pushes log1p(x) for the f32x4 in local `x` (float64 inside, rounded once). */
function log1pF32(fn: Fn, x: number): void {
  const c = fn.code;
  const d = fn.local(V128), lo = fn.local(V128), res = fn.local(V128);
  c.get(x).op("f64x2.promote_low_f32x4").set(d);
  log1pF64(fn, d);
  c.op("f32x4.demote_f64x2_zero").set(lo);
  c.get(x).get(x).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
  c.op("f64x2.promote_low_f32x4").set(d);
  log1pF64(fn, d);
  c.op("f32x4.demote_f64x2_zero");
  c.get(lo).shuffle([16, 17, 18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5, 6, 7]).set(res);
  // Special inputs: x = −1 → −Inf; x < −1 or NaN → NaN (√(x + 1)); +Inf → +Inf.
  c.get(res);
  fn.f32x4(-Infinity)();
  c.get(x);
  fn.f32x4(1)();
  c.op("f32x4.add").op("f32x4.sqrt");
  c.get(x);
  fn.f32x4(-1)();
  c.op("f32x4.eq").op("v128.bitselect");
  c.get(x);
  fn.f32x4(-1)();
  c.op("f32x4.gt").get(x);
  fn.f32x4(Infinity)();
  c.op("f32x4.lt").op("v128.and").op("v128.bitselect");
  keepZero(fn, x);
}

// ---------------------------------------------------------------------------
// Unary kernels.

/**
 * Sets each local `outs[i]` to f of the vector in local `xs[i]`; `main` is
 * true in the main loop (where a fast path may branch), false for the tail.
 */
type GroupBody = (fn: Fn, xs: readonly number[], outs: readonly number[], main: boolean) => void;

/** Pushes f(x) for the vector in local `x`. */
type VecBody = (fn: Fn, x: number) => void;

/** The group body applying `body` to each vector in turn. */
function each(body: VecBody): GroupBody {
  return (fn, xs, outs) =>
    xs.forEach((x, i) => {
      body(fn, x);
      fn.code.set(outs[i]);
    });
}

/** Pushes `op(x)` for a single plain opcode. */
function plain(op: PlainOp): GroupBody {
  return each((fn, x) => void fn.code.get(x).op(op));
}

/**
 * `name(x, out, n)`: `unroll` vectors of four lanes per step, then single
 * vectors; the last `n mod 4` elements are loaded and stored lane by lane
 * around the same vector code.
 */
function unary(name: string, fused: boolean, body: GroupBody, unroll = 1): FuncDef {
  const fn = new Fn(name, [I32, I32, I32], fused);
  const c = fn.code;
  const [x, out, n] = [0, 1, 2];
  const v = Array.from({ length: unroll }, () => fn.local(V128));
  const res = Array.from({ length: unroll }, () => fn.local(V128));
  const loop = (u: number): void => {
    c.block().loop();
    c.get(n).i32(4 * u).op("i32.lt_u").brIf(1);
    for (let k = 0; k < u; k++) c.get(x).v128Load(16 * k).set(v[k]);
    body(fn, v.slice(0, u), res.slice(0, u), true);
    for (let k = 0; k < u; k++) c.get(out).get(res[k]).v128Store(16 * k);
    c.get(x).i32(16 * u).op("i32.add").set(x);
    c.get(out).i32(16 * u).op("i32.add").set(out);
    c.get(n).i32(4 * u).op("i32.sub").set(n);
    c.br(0).end().end();
  };
  loop(unroll);
  if (unroll > 1) loop(1);
  const [v0, r0] = [v[0], res[0]];
  c.get(n).if();
  c.get(x).mem("v128.load32_zero").set(v0);
  c.get(n).i32(1).op("i32.gt_u").if();
  c.get(x).get(v0).v128LoadLane(32, 4, 1).set(v0);
  c.get(n).i32(2).op("i32.gt_u").if();
  c.get(x).get(v0).v128LoadLane(32, 8, 2).set(v0);
  c.end().end();
  body(fn, [v0], [r0], false);
  c.get(out).get(r0).v128StoreLane(32, 0, 0);
  c.get(n).i32(1).op("i32.gt_u").if();
  c.get(out).get(r0).v128StoreLane(32, 4, 1);
  c.get(n).i32(2).op("i32.gt_u").if();
  c.get(out).get(r0).v128StoreLane(32, 8, 2);
  c.end().end();
  c.end();
  return fn.def();
}

/** Math.sign: ±1 with the sign of x where 0 < |x|, else x itself (±0, NaN). */
const signBody: GroupBody = each((fn, x) => {
  const c = fn.code;
  c.get(x);
  fn.i32x4(-0x80000000)();
  c.op("v128.and");
  fn.f32x4(1)();
  c.op("v128.or").get(x).get(x).op("f32x4.abs");
  fn.f32x4(0)();
  c.op("f32x4.gt").op("v128.bitselect");
});

/** The unary kernels: name → body and unroll. */
const UNARY: readonly (readonly [string, GroupBody, number?])[] = [
  ["neg", plain("f32x4.neg"), 2],
  ["abs", plain("f32x4.abs"), 2],
  ["square", each((fn, x) => void fn.code.get(x).get(x).op("f32x4.mul")), 2],
  ["sqrt", plain("f32x4.sqrt"), 2],
  ["floor", plain("f32x4.floor"), 2],
  ["ceil", plain("f32x4.ceil"), 2],
  ["round", plain("f32x4.nearest"), 2],
  ["sign", signBody, 2],
  ["exp", expGroup, EXP_UNROLL],
  ["log", logGroup, LOG_UNROLL],
  ["tanh", each(tanhF32), 2],
  ["expm1", each(expm1F32)],
  ["log1p", each(log1pF32)],
  ["neg_i32", plain("i32x4.neg"), 2],
  ["abs_i32", plain("i32x4.abs"), 2],
  ["square_i32", each((fn, x) => void fn.code.get(x).get(x).op("i32x4.mul")), 2],
];

// ---------------------------------------------------------------------------
// Elementwise kernels with 2-D broadcasting.

/** How one operand of an elementwise kernel is read. */
interface Operand {
  /** Bytes per element. */
  readonly size: 1 | 4;
  /** Pushes the vector at byte address `p + offset` (contiguous columns). */
  load(fn: Fn, p: number, offset: number): void;
  /** Pushes the vector broadcasting the element at `p` (a broadcast column). */
  splat(fn: Fn, p: number): void;
  /** Pushes the scalar element at `p` (the scalar tail). */
  scalar(fn: Fn, p: number): void;
}

/** float32 lanes (scalar: `f32`). */
const F32_OPERAND: Operand = {
  size: 4,
  load: (fn, p, o) => void fn.code.get(p).v128Load(o),
  splat: (fn, p) => void fn.code.get(p).v128Load32Splat(),
  scalar: (fn, p) => void fn.code.get(p).f32Load(),
};

/** int32 lanes (scalar: `i32`). */
const I32_OPERAND: Operand = {
  ...F32_OPERAND,
  scalar: (fn, p) => void fn.code.get(p).mem("i32.load"),
};

/** Bytes, 16 per vector (scalar: `i32.load8_u`). */
const U8_OPERAND: Operand = {
  size: 1,
  load: (fn, p, o) => void fn.code.get(p).v128Load(o),
  splat: (fn, p) => void fn.code.get(p).mem("v128.load8_splat"),
  scalar: (fn, p) => void fn.code.get(p).mem("i32.load8_u"),
};

/** Bool bytes read four at a time as an i32x4 mask (all ones where nonzero). */
const MASK_OPERAND: Operand = {
  size: 1,
  load: (fn, p, o) => {
    const c = fn.code;
    c.get(p).mem("v128.load32_zero", o);
    fn.i32x4(0)();
    c.op("i8x16.ne").op("i16x8.extend_low_i8x16_s").op("i32x4.extend_low_i16x8_s");
  },
  splat: (fn, p) => {
    fn.code.i32(0).get(p).mem("i32.load8_u").i32(0).op("i32.ne").op("i32.sub").op("i32x4.splat");
  },
  scalar: (fn, p) => void fn.code.get(p).mem("i32.load8_u"),
};

/** An elementwise kernel: its operands, how it computes a vector and a scalar, its output. */
interface Elementwise {
  readonly operands: readonly Operand[];
  /** Elements per vector step; each step writes 16 bytes. */
  readonly vl: 4 | 16;
  /** Bytes per output element. */
  readonly outSize: 1 | 4;
  /** Scalar store of the tail. */
  readonly store: "f32.store" | "i32.store" | "i32.store8";
  /** Vector steps per iteration of the main loop. */
  readonly unroll: number;
  /** Pushes the 16-byte result; `arg(i, s)` pushes the `s`-th 16 bytes of operand `i`. */
  vec(fn: Fn, arg: (i: number, s: number) => void): void;
  /** Pushes the scalar result; `arg(i)` pushes the element of operand `i`. */
  scalar(fn: Fn, arg: (i: number) => void): void;
}

/**
 * Emits `name(p0, row0, col0, …, out, rows, cols)` for `spec`. Column flags
 * are read as booleans; each combination gets its own loop nest.
 */
function elementwise(name: string, fused: boolean, spec: Elementwise): FuncDef {
  const k = spec.operands.length;
  const fn = new Fn(name, Array(3 * k + 3).fill(I32), fused);
  const c = fn.code;
  const out = 3 * k, rows = out + 1, cols = out + 2;
  const base = (i: number): number => 3 * i, row = (i: number): number => 3 * i + 1;
  const col = (i: number): number => 3 * i + 2;
  const ptr = spec.operands.map(() => fn.local(I32));
  const j = fn.local(I32), which = fn.local(I32);
  const splat = spec.operands.map(() => fn.local(V128));
  const res = fn.local(V128);
  for (let i = 0; i < k; i++) c.get(col(i)).i32(0).op("i32.ne").set(col(i));
  // Fuse the rows when each operand is contiguous (row = cols) or constant (row = 0) along all of them.
  c.get(rows).i32(1).op("i32.gt_u");
  for (let i = 0; i < k; i++) {
    c.get(row(i)).get(col(i)).if(I32).get(cols).else().i32(0).end().op("i32.eq").op("i32.and");
  }
  c.if().get(cols).get(rows).op("i32.mul").set(cols).i32(1).set(rows).end();
  for (let i = 0; i < k; i++) {
    const size = spec.operands[i].size;
    if (size > 1) c.get(row(i)).i32(size).op("i32.mul").set(row(i));
  }
  c.i32(0).set(which);
  for (let i = 0; i < k; i++) c.get(which).get(col(i)).i32(i).op("i32.shl").op("i32.or").set(which);

  for (let m = 0; m < 1 << k; m++) {
    const contiguous = (i: number): boolean => ((m >> i) & 1) === 1;
    c.get(which).i32(m).op("i32.eq").if();
    c.block().loop(); // rows
    c.get(rows).op("i32.eqz").brIf(1);
    for (let i = 0; i < k; i++) {
      if (contiguous(i)) c.get(base(i)).set(ptr[i]);
      else {
        spec.operands[i].splat(fn, base(i));
        c.set(splat[i]);
      }
    }
    const arg = (u: number) => (i: number, s: number): void => {
      const op = spec.operands[i];
      if (contiguous(i)) op.load(fn, ptr[i], u * spec.vl * op.size + s * 16);
      else c.get(splat[i]);
    };
    if (m === 0) {
      spec.vec(fn, arg(0));
      c.set(res);
    }
    c.get(cols).set(j);
    const vecLoop = (unroll: number): void => {
      c.block().loop();
      c.get(j).i32(unroll * spec.vl).op("i32.lt_u").brIf(1);
      for (let u = 0; u < unroll; u++) {
        c.get(out);
        if (m === 0) c.get(res);
        else spec.vec(fn, arg(u));
        c.v128Store(16 * u);
      }
      c.get(out).i32(16 * unroll).op("i32.add").set(out);
      for (let i = 0; i < k; i++) {
        if (!contiguous(i)) continue;
        c.get(ptr[i]).i32(unroll * spec.vl * spec.operands[i].size).op("i32.add").set(ptr[i]);
      }
      c.get(j).i32(unroll * spec.vl).op("i32.sub").set(j);
      c.br(0).end().end();
    };
    vecLoop(spec.unroll);
    if (spec.unroll > 1) vecLoop(1);
    // scalar tail
    c.block().loop();
    c.get(j).op("i32.eqz").brIf(1);
    c.get(out);
    spec.scalar(fn, (i) => spec.operands[i].scalar(fn, contiguous(i) ? ptr[i] : base(i)));
    c.mem(spec.store);
    c.get(out).i32(spec.outSize).op("i32.add").set(out);
    for (let i = 0; i < k; i++) {
      if (!contiguous(i)) continue;
      c.get(ptr[i]).i32(spec.operands[i].size).op("i32.add").set(ptr[i]);
    }
    c.get(j).i32(1).op("i32.sub").set(j);
    c.br(0).end().end();
    for (let i = 0; i < k; i++) c.get(base(i)).get(row(i)).op("i32.add").set(base(i));
    c.get(rows).i32(1).op("i32.sub").set(rows);
    c.br(0).end().end();
    c.op("return").end();
  }
  return fn.def();
}

/** A float32 or int32 binary op with a single vector and a single scalar opcode. */
function arith(
  vecOp: PlainOp,
  scalarOp: PlainOp,
  operand: Operand,
  store: "f32.store" | "i32.store",
): Elementwise {
  return {
    operands: [operand, operand],
    vl: 4,
    outSize: 4,
    store,
    unroll: 2,
    vec: (fn, arg) => {
      arg(0, 0);
      arg(1, 0);
      fn.code.op(vecOp);
    },
    scalar: (fn, arg) => {
      arg(0);
      arg(1);
      fn.code.op(scalarOp);
    },
  };
}

/** int32 min or max: the vector opcode, and `select` on `a < b` (min) or `a > b` (max). */
function minMaxI32(vecOp: PlainOp, cmp: PlainOp): Elementwise {
  return {
    ...arith(vecOp, "i32.add", I32_OPERAND, "i32.store"),
    scalar: (fn, arg) => {
      arg(0);
      arg(1);
      arg(0);
      arg(1);
      fn.code.op(cmp).op("select");
    },
  };
}

/** A comparison writing bytes: 16 elements per step, four masks narrowed to bytes of 0 or 1. */
function compare(vecOp: PlainOp, scalarOp: PlainOp, operand: Operand): Elementwise {
  return {
    operands: [operand, operand],
    vl: 16,
    outSize: 1,
    store: "i32.store8",
    unroll: 1,
    vec: (fn, arg) => {
      const c = fn.code;
      for (let s = 0; s < 4; s++) {
        arg(0, s);
        arg(1, s);
        c.op(vecOp);
        if (s % 2 === 1) c.op("i16x8.narrow_i32x4_s");
      }
      c.op("i8x16.narrow_i16x8_s").op("i8x16.neg");
    },
    scalar: (fn, arg) => {
      arg(0);
      arg(1);
      fn.code.op(scalarOp);
    },
  };
}

/** Bool bytes and/or: `min_u(min_u(a, b), 1)` / `min_u(max_u(a, b), 1)`. */
function logic(isAnd: boolean): Elementwise {
  return {
    operands: [U8_OPERAND, U8_OPERAND],
    vl: 16,
    outSize: 1,
    store: "i32.store8",
    unroll: 2,
    vec: (fn, arg) => {
      arg(0, 0);
      arg(1, 0);
      fn.code.op(isAnd ? "i8x16.min_u" : "i8x16.max_u");
      fn.i32x4(0x01010101)();
      fn.code.op("i8x16.min_u");
    },
    scalar: (fn, arg) => {
      const c = fn.code;
      if (isAnd) {
        arg(0);
        c.i32(0).op("i32.ne");
        arg(1);
        c.i32(0).op("i32.ne").op("i32.and");
      } else {
        arg(0);
        arg(1);
        c.op("i32.or").i32(0).op("i32.ne");
      }
    },
  };
}

/** `where_f32`: bit-exact select by bool bytes. */
const WHERE: Elementwise = {
  operands: [MASK_OPERAND, I32_OPERAND, I32_OPERAND],
  vl: 4,
  outSize: 4,
  store: "i32.store",
  unroll: 2,
  vec: (fn, arg) => {
    arg(1, 0);
    arg(2, 0);
    arg(0, 0);
    fn.code.op("v128.bitselect");
  },
  scalar: (fn, arg) => {
    arg(1);
    arg(2);
    arg(0);
    fn.code.op("select");
  },
};

/** The elementwise kernels by export name. */
const ELEMENTWISE: readonly (readonly [string, Elementwise])[] = [
  ["add", arith("f32x4.add", "f32.add", F32_OPERAND, "f32.store")],
  ["sub", arith("f32x4.sub", "f32.sub", F32_OPERAND, "f32.store")],
  ["mul", arith("f32x4.mul", "f32.mul", F32_OPERAND, "f32.store")],
  ["div", arith("f32x4.div", "f32.div", F32_OPERAND, "f32.store")],
  ["maximum", arith("f32x4.max", "f32.max", F32_OPERAND, "f32.store")],
  ["minimum", arith("f32x4.min", "f32.min", F32_OPERAND, "f32.store")],
  ["equal", compare("f32x4.eq", "f32.eq", F32_OPERAND)],
  ["notEqual", compare("f32x4.ne", "f32.ne", F32_OPERAND)],
  ["greater", compare("f32x4.gt", "f32.gt", F32_OPERAND)],
  ["greaterEqual", compare("f32x4.ge", "f32.ge", F32_OPERAND)],
  ["less", compare("f32x4.lt", "f32.lt", F32_OPERAND)],
  ["lessEqual", compare("f32x4.le", "f32.le", F32_OPERAND)],
  ["equal_i32", compare("i32x4.eq", "i32.eq", I32_OPERAND)],
  ["notEqual_i32", compare("i32x4.ne", "i32.ne", I32_OPERAND)],
  ["greater_i32", compare("i32x4.gt_s", "i32.gt_s", I32_OPERAND)],
  ["greaterEqual_i32", compare("i32x4.ge_s", "i32.ge_s", I32_OPERAND)],
  ["less_i32", compare("i32x4.lt_s", "i32.lt_s", I32_OPERAND)],
  ["lessEqual_i32", compare("i32x4.le_s", "i32.le_s", I32_OPERAND)],
  ["add_i32", arith("i32x4.add", "i32.add", I32_OPERAND, "i32.store")],
  ["sub_i32", arith("i32x4.sub", "i32.sub", I32_OPERAND, "i32.store")],
  ["mul_i32", arith("i32x4.mul", "i32.mul", I32_OPERAND, "i32.store")],
  ["maximum_i32", minMaxI32("i32x4.max_s", "i32.gt_s")],
  ["minimum_i32", minMaxI32("i32x4.min_s", "i32.lt_s")],
  ["and_u8", logic(true)],
  ["or_u8", logic(false)],
  ["where_f32", WHERE],
];

// ---------------------------------------------------------------------------
// Reductions.

/** What a reduction computes: sums accumulate in f64x2 pairs, max/min in f32x4. */
type ReduceKind = "sum" | "max" | "min";

/** `sum_rows(x, out, outer, n)`: float64 accumulation, four f64x2 accumulators. */
function sumRows(fused: boolean): FuncDef {
  const fn = new Fn("sum_rows", [I32, I32, I32, I32], fused);
  const c = fn.code;
  const [x, out, outer, n] = [0, 1, 2, 3];
  const p = fn.local(I32), kk = fn.local(I32);
  const acc = [0, 1, 2, 3].map(() => fn.local(V128));
  const total = fn.local(F64);
  c.block().loop();
  c.get(outer).op("i32.eqz").brIf(1);
  c.get(x).set(p).get(n).set(kk);
  for (const a of acc) c.i32(0).op("i32x4.splat").set(a);
  c.block().loop();
  c.get(kk).i32(8).op("i32.lt_u").brIf(1);
  for (let q = 0; q < 4; q++) {
    c.get(acc[q]).get(p).mem("v128.load64_zero", 8 * q).op("f64x2.promote_low_f32x4");
    c.op("f64x2.add").set(acc[q]);
  }
  c.get(p).i32(32).op("i32.add").set(p).get(kk).i32(8).op("i32.sub").set(kk);
  c.br(0).end().end();
  c.block().loop();
  c.get(kk).i32(2).op("i32.lt_u").brIf(1);
  c.get(acc[0]).get(p).mem("v128.load64_zero").op("f64x2.promote_low_f32x4");
  c.op("f64x2.add").set(acc[0]);
  c.get(p).i32(8).op("i32.add").set(p).get(kk).i32(2).op("i32.sub").set(kk);
  c.br(0).end().end();
  c.get(acc[0]).get(acc[1]).op("f64x2.add").get(acc[2]).get(acc[3]).op("f64x2.add");
  c.op("f64x2.add").tee(acc[0]).lane("f64x2.extract_lane", 0);
  c.get(acc[0]).lane("f64x2.extract_lane", 1).op("f64.add").set(total);
  c.get(kk).if();
  c.get(total).get(p).f32Load().op("f64.promote_f32").op("f64.add").set(total);
  c.end();
  c.get(out).get(total).op("f32.demote_f64").f32Store();
  c.get(out).i32(4).op("i32.add").set(out);
  c.get(x).get(n).i32(4).op("i32.mul").op("i32.add").set(x);
  c.get(outer).i32(1).op("i32.sub").set(outer);
  c.br(0).end().end();
  return fn.def();
}

/**
 * `sumexp_rows(x, shift, out, rows, n)`: `out[r] = Σ_j e^(x[r·n + j] −
 * shift[r])`. The differences go through the `exp` kernel's code (the main
 * loop's pairs of vectors with its `|d| ≤ 86` fast path, single vectors
 * likewise, the last `n mod 4` loaded lane by lane and computed in full with
 * the unused lanes masked to +0), and each vector of exponentials is
 * promoted to two f64x2 and added into float64 accumulators, as in
 * `sum_rows`; the row's total is rounded to float32 once. Reads exactly the
 * `rows·n` elements of `x` and `rows` of `shift`; writes `rows` floats.
 */
function sumexpRows(fused: boolean): FuncDef {
  const fn = new Fn("sumexp_rows", [I32, I32, I32, I32, I32], fused);
  const c = fn.code;
  const [x, shift, out, rows, n] = [0, 1, 2, 3, 4];
  const p = fn.local(I32), kk = fn.local(I32), total = fn.local(F64);
  const s = fn.local(V128);
  const v = Array.from({ length: EXP_UNROLL }, () => fn.local(V128));
  const e = Array.from({ length: EXP_UNROLL }, () => fn.local(V128));
  const acc = Array.from({ length: 2 * EXP_UNROLL }, () => fn.local(V128));
  const laneIndex = fn.constLocal(new Uint8Array(new Int32Array([0, 1, 2, 3]).buffer));
  const HIGH = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
  /** acc[2i] += lanes 0–1 of e[i], acc[2i + 1] += lanes 2–3, in float64. */
  const accumulate = (u: number): void => {
    for (let i = 0; i < u; i++) {
      c.get(acc[2 * i]).get(e[i]).op("f64x2.promote_low_f32x4").op("f64x2.add").set(acc[2 * i]);
      c.get(acc[2 * i + 1]).get(e[i]).get(e[i]).shuffle(HIGH).op("f64x2.promote_low_f32x4");
      c.op("f64x2.add").set(acc[2 * i + 1]);
    }
  };
  /** `u` vectors of four per step while at least `4u` elements are left. */
  const loop = (u: number): void => {
    c.block().loop();
    c.get(kk).i32(4 * u).op("i32.lt_u").brIf(1);
    for (let k = 0; k < u; k++) c.get(p).v128Load(16 * k).get(s).op("f32x4.sub").set(v[k]);
    expGroup(fn, v.slice(0, u), e.slice(0, u), true);
    accumulate(u);
    c.get(p).i32(16 * u).op("i32.add").set(p).get(kk).i32(4 * u).op("i32.sub").set(kk);
    c.br(0).end().end();
  };
  c.block().loop();
  c.get(rows).op("i32.eqz").brIf(1);
  c.get(shift).v128Load32Splat().set(s);
  c.get(x).set(p).get(n).set(kk);
  for (const a of acc) c.i32(0).op("i32x4.splat").set(a);
  loop(EXP_UNROLL);
  if (EXP_UNROLL > 1) loop(1);
  // the last kk < 4 elements: lanes ≥ kk are 0 − shift before exp, +0 after the mask
  c.get(kk).if();
  c.get(p).mem("v128.load32_zero").set(v[0]);
  c.get(kk).i32(1).op("i32.gt_u").if();
  c.get(p).get(v[0]).v128LoadLane(32, 4, 1).set(v[0]);
  c.get(kk).i32(2).op("i32.gt_u").if();
  c.get(p).get(v[0]).v128LoadLane(32, 8, 2).set(v[0]);
  c.end().end();
  c.get(v[0]).get(s).op("f32x4.sub").set(v[0]);
  expF32(fn, v[0]);
  c.get(laneIndex).get(kk).op("i32x4.splat").op("i32x4.lt_s").op("v128.and").set(e[0]);
  accumulate(1);
  c.end();
  // total = Σ of the accumulators' lanes, rounded once
  c.get(acc[0]);
  for (let a = 1; a < acc.length; a++) c.get(acc[a]).op("f64x2.add");
  c.tee(acc[0]).lane("f64x2.extract_lane", 0);
  c.get(acc[0]).lane("f64x2.extract_lane", 1).op("f64.add").set(total);
  c.get(out).get(total).op("f32.demote_f64").f32Store();
  c.get(out).i32(4).op("i32.add").set(out);
  c.get(shift).i32(4).op("i32.add").set(shift);
  c.get(x).get(n).i32(4).op("i32.mul").op("i32.add").set(x);
  c.get(rows).i32(1).op("i32.sub").set(rows);
  c.br(0).end().end();
  return fn.def();
}

/** `max_rows` / `min_rows`: four f32x4 accumulators starting at ∓Inf, then lanes, then a scalar tail. */
function extremeRows(kind: "max" | "min", fused: boolean): FuncDef {
  const fn = new Fn(`${kind}_rows`, [I32, I32, I32, I32], fused);
  const c = fn.code;
  const [x, out, outer, n] = [0, 1, 2, 3];
  const p = fn.local(I32), kk = fn.local(I32), s = fn.local(F32);
  const acc = [0, 1, 2, 3].map(() => fn.local(V128));
  const vop: PlainOp = kind === "max" ? "f32x4.max" : "f32x4.min";
  const sop: PlainOp = kind === "max" ? "f32.max" : "f32.min";
  const init = fn.f32x4(kind === "max" ? -Infinity : Infinity);
  c.block().loop();
  c.get(outer).op("i32.eqz").brIf(1);
  c.get(x).set(p).get(n).set(kk);
  for (const a of acc) {
    init();
    c.set(a);
  }
  c.block().loop();
  c.get(kk).i32(16).op("i32.lt_u").brIf(1);
  for (let q = 0; q < 4; q++) c.get(acc[q]).get(p).v128Load(16 * q).op(vop).set(acc[q]);
  c.get(p).i32(64).op("i32.add").set(p).get(kk).i32(16).op("i32.sub").set(kk);
  c.br(0).end().end();
  c.block().loop();
  c.get(kk).i32(4).op("i32.lt_u").brIf(1);
  c.get(acc[0]).get(p).v128Load().op(vop).set(acc[0]);
  c.get(p).i32(16).op("i32.add").set(p).get(kk).i32(4).op("i32.sub").set(kk);
  c.br(0).end().end();
  c.get(acc[0]).get(acc[1]).op(vop).get(acc[2]).get(acc[3]).op(vop).op(vop).set(acc[0]);
  c.get(acc[0]).get(acc[0]).get(acc[0]);
  c.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]);
  c.op(vop).tee(acc[0]).get(acc[0]).get(acc[0]).splatLane32(1).op(vop);
  c.lane("f32x4.extract_lane", 0).set(s);
  c.block().loop();
  c.get(kk).op("i32.eqz").brIf(1);
  c.get(s).get(p).f32Load().op(sop).set(s);
  c.get(p).i32(4).op("i32.add").set(p).get(kk).i32(1).op("i32.sub").set(kk);
  c.br(0).end().end();
  c.get(out).get(s).f32Store();
  c.get(out).i32(4).op("i32.add").set(out);
  c.get(x).get(n).i32(4).op("i32.mul").op("i32.add").set(x);
  c.get(outer).i32(1).op("i32.sub").set(outer);
  c.br(0).end().end();
  return fn.def();
}

/**
 * `sum_cols` / `max_cols` / `min_cols` (x, out, outer, n, inner): blocks of
 * 16 and then 4 columns, each walking the n rows with the block's
 * accumulators in registers; a last partial block of an `inner ≥ 4` is
 * redone overlapping the previous one (same values), and `inner < 4`
 * columns go one at a time.
 */
function reduceCols(kind: ReduceKind, fused: boolean): FuncDef {
  const fn = new Fn(`${kind}_cols`, [I32, I32, I32, I32, I32], fused);
  const c = fn.code;
  const [x, out, outer, n, inner] = [0, 1, 2, 3, 4];
  const stride = fn.local(I32), jj = fn.local(I32), p = fn.local(I32), kk = fn.local(I32);
  const acc = Array.from({ length: 8 }, () => fn.local(V128));
  const sAcc = fn.local(kind === "sum" ? F64 : F32);
  const isSum = kind === "sum";
  const vop: PlainOp = kind === "max" ? "f32x4.max" : "f32x4.min";
  const sop: PlainOp = kind === "max" ? "f32.max" : "f32.min";
  const init = fn.f32x4(kind === "max" ? -Infinity : Infinity);
  /** Reduces columns [jj, jj + width) of the slice at x into out (width 16 or 4). */
  const block = (width: number): void => {
    const nv = width / 4;
    const na = isSum ? 2 * nv : nv;
    for (let a = 0; a < na; a++) {
      if (isSum) c.i32(0).op("i32x4.splat");
      else init();
      c.set(acc[a]);
    }
    c.get(x).get(jj).i32(4).op("i32.mul").op("i32.add").set(p).get(n).set(kk);
    c.block().loop();
    c.get(kk).op("i32.eqz").brIf(1);
    for (let a = 0; a < na; a++) {
      if (isSum) {
        c.get(acc[a]).get(p).mem("v128.load64_zero", 8 * a).op("f64x2.promote_low_f32x4");
        c.op("f64x2.add").set(acc[a]);
      } else c.get(acc[a]).get(p).v128Load(16 * a).op(vop).set(acc[a]);
    }
    c.get(p).get(stride).op("i32.add").set(p).get(kk).i32(1).op("i32.sub").set(kk);
    c.br(0).end().end();
    c.get(out).get(jj).i32(4).op("i32.mul").op("i32.add").set(p);
    for (let a = 0; a < na; a++) {
      if (isSum) {
        c.get(p).get(acc[a]).op("f32x4.demote_f64x2_zero").v128StoreLane(64, 8 * a, 0);
      } else c.get(p).get(acc[a]).v128Store(16 * a);
    }
  };
  c.get(inner).i32(4).op("i32.mul").set(stride);
  c.block().loop();
  c.get(outer).op("i32.eqz").brIf(1);
  c.i32(0).set(jj);
  c.get(inner).i32(4).op("i32.ge_u").if();
  // 16-column blocks
  c.block().loop();
  c.get(jj).i32(16).op("i32.add").get(inner).op("i32.gt_u").brIf(1);
  block(16);
  c.get(jj).i32(16).op("i32.add").set(jj);
  c.br(0).end().end();
  // 4-column blocks, the last one overlapping when inner is not a multiple of 4
  c.block().loop();
  c.get(jj).get(inner).op("i32.ge_u").brIf(1);
  c.get(jj).i32(4).op("i32.add").get(inner).op("i32.gt_u").if();
  c.get(inner).i32(4).op("i32.sub").set(jj);
  c.end();
  block(4);
  c.get(jj).i32(4).op("i32.add").set(jj);
  c.br(0).end().end();
  c.else();
  // inner < 4: one column at a time
  c.block().loop();
  c.get(jj).get(inner).op("i32.ge_u").brIf(1);
  if (isSum) c.f64(0).set(sAcc);
  else c.f32(kind === "max" ? -Infinity : Infinity).set(sAcc);
  c.get(x).get(jj).i32(4).op("i32.mul").op("i32.add").set(p).get(n).set(kk);
  c.block().loop();
  c.get(kk).op("i32.eqz").brIf(1);
  c.get(sAcc).get(p).f32Load();
  c.op(isSum ? "f64.promote_f32" : sop);
  if (isSum) c.op("f64.add");
  c.set(sAcc);
  c.get(p).get(stride).op("i32.add").set(p).get(kk).i32(1).op("i32.sub").set(kk);
  c.br(0).end().end();
  c.get(out).get(jj).i32(4).op("i32.mul").op("i32.add").get(sAcc);
  if (isSum) c.op("f32.demote_f64");
  c.f32Store();
  c.get(jj).i32(1).op("i32.add").set(jj);
  c.br(0).end().end();
  c.end();
  // next outer slice
  c.get(x).get(n).get(stride).op("i32.mul").op("i32.add").set(x);
  c.get(out).get(stride).op("i32.add").set(out);
  c.get(outer).i32(1).op("i32.sub").set(outer);
  c.br(0).end().end();
  return fn.def();
}

// ---------------------------------------------------------------------------
// Gather and scatter-add along the middle axis.

/**
 * The loops of a gather or scatter over `outer` (counted down to 0) and the
 * `count` indices at `idx`: for each index, local `at` = `base + idx[c]·rowB`
 * (bytes) and `row()` runs; after each `o`, `base` advances by `sliceB`.
 * All arguments are local indices.
 */
function indexLoops(
  c: Code,
  l: {
    base: number;
    idx: number;
    count: number;
    outer: number;
    rowB: number;
    sliceB: number;
    ip: number;
    cc: number;
    at: number;
  },
  row: () => void,
): void {
  c.block().loop();
  c.get(l.outer).op("i32.eqz").brIf(1);
  c.get(l.idx).set(l.ip).get(l.count).set(l.cc);
  c.block().loop();
  c.get(l.cc).op("i32.eqz").brIf(1);
  c.get(l.base).get(l.ip).mem("i32.load").get(l.rowB).op("i32.mul").op("i32.add").set(l.at);
  row();
  c.get(l.ip).i32(4).op("i32.add").set(l.ip).get(l.cc).i32(1).op("i32.sub").set(l.cc);
  c.br(0).end().end();
  c.get(l.base).get(l.sliceB).op("i32.add").set(l.base).get(l.outer).i32(1).op("i32.sub")
    .set(l.outer);
  c.br(0).end().end();
}

/**
 * `gather32(x, idx, out, outer, n, inner, count)`: for `inner = 1` one
 * scalar load and store per index; otherwise each row is copied 16 elements
 * (four vectors) per step, then 4, then the last `inner mod 4` as an i64 and
 * an i32. The destination is written contiguously.
 */
function gather32(fused: boolean): FuncDef {
  const fn = new Fn("gather32", [I32, I32, I32, I32, I32, I32, I32], fused);
  const c = fn.code;
  const [x, idx, out, outer, n, inner, count] = [0, 1, 2, 3, 4, 5, 6];
  const rowB = fn.local(I32), sliceB = fn.local(I32), ip = fn.local(I32), cc = fn.local(I32);
  const src = fn.local(I32), kk = fn.local(I32);
  c.get(inner).op("i32.eqz").get(count).op("i32.eqz").op("i32.or").if().op("return").end();
  c.get(inner).i32(2).op("i32.shl").set(rowB);
  c.get(n).get(rowB).op("i32.mul").set(sliceB);
  /** The loops over o and c around `row` (which copies the row at `src` to `out`). */
  const nest = (row: () => void): void =>
    indexLoops(c, { base: x, idx, count, outer, rowB, sliceB, ip, cc, at: src }, row);
  c.get(inner).i32(1).op("i32.eq").if();
  nest(() => {
    c.get(out).get(src).mem("i32.load").mem("i32.store");
    c.get(out).i32(4).op("i32.add").set(out);
  });
  c.else();
  nest(() => {
    c.get(inner).set(kk);
    for (const step of [16, 4]) {
      c.block().loop();
      c.get(kk).i32(step).op("i32.lt_u").brIf(1);
      for (let q = 0; q < step / 4; q++) c.get(out).get(src).v128Load(16 * q).v128Store(16 * q);
      c.get(src).i32(4 * step).op("i32.add").set(src);
      c.get(out).i32(4 * step).op("i32.add").set(out);
      c.get(kk).i32(step).op("i32.sub").set(kk);
      c.br(0).end().end();
    }
    c.get(kk).i32(2).op("i32.and").if();
    c.get(out).get(src).mem("i64.load").mem("i64.store");
    c.get(src).i32(8).op("i32.add").set(src).get(out).i32(8).op("i32.add").set(out);
    c.end();
    c.get(kk).i32(1).op("i32.and").if();
    c.get(out).get(src).mem("i32.load").mem("i32.store");
    c.get(out).i32(4).op("i32.add").set(out);
    c.end();
  });
  c.end();
  return fn.def();
}

/**
 * `scatter_add_f32(g, idx, acc, out, outer, n, inner, count)`: zeroes
 * `acc`, adds each row of `g` into its indexed row of `acc` (four elements
 * as two promoted f64x2 per step, then two, then one; a scalar loop for
 * `inner = 1`), then demotes `acc` into `out` four at a time.
 */
function scatterAddF32(fused: boolean): FuncDef {
  const fn = new Fn("scatter_add_f32", [I32, I32, I32, I32, I32, I32, I32, I32], fused);
  const c = fn.code;
  const [g, idx, acc, out, outer, n, inner, count] = [0, 1, 2, 3, 4, 5, 6, 7];
  const total = fn.local(I32), p = fn.local(I32), kk = fn.local(I32), ip = fn.local(I32);
  const cc = fn.local(I32), rowB = fn.local(I32), sliceB = fn.local(I32), base = fn.local(I32);
  const v = fn.local(V128);
  const zero = fn.i32x4(0);
  const HIGH = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
  c.get(outer).get(n).op("i32.mul").get(inner).op("i32.mul").set(total);
  // acc = 0: eight doubles per step, then two, then one
  c.get(acc).set(p).get(total).set(kk);
  for (const step of [8, 2]) {
    c.block().loop();
    c.get(kk).i32(step).op("i32.lt_u").brIf(1);
    for (let q = 0; q < step / 2; q++) {
      c.get(p);
      zero();
      c.v128Store(16 * q);
    }
    c.get(p).i32(8 * step).op("i32.add").set(p).get(kk).i32(step).op("i32.sub").set(kk);
    c.br(0).end().end();
  }
  c.get(kk).if().get(p).f64(0).mem("f64.store").end();
  // accumulate: `base` advances by one [n, inner] slice of acc per o, g is read in order
  c.get(inner).i32(3).op("i32.shl").set(rowB);
  c.get(n).get(rowB).op("i32.mul").set(sliceB);
  const nest = (row: () => void): void =>
    indexLoops(c, { base, idx, count, outer, rowB, sliceB, ip, cc, at: p }, row);
  /** The double at `p` += the promoted float at `g`; advances `g` by 4 (`p` stays). */
  const scalarAdd = (): void => {
    c.get(p).get(p).mem("f64.load").get(g).f32Load().op("f64.promote_f32").op("f64.add");
    c.mem("f64.store");
    c.get(g).i32(4).op("i32.add").set(g);
  };
  c.get(acc).set(base);
  c.get(inner).i32(1).op("i32.eq").if();
  nest(scalarAdd);
  c.else();
  nest(() => {
    c.get(inner).set(kk);
    c.block().loop();
    c.get(kk).i32(4).op("i32.lt_u").brIf(1);
    c.get(g).v128Load().set(v);
    c.get(p).get(p).v128Load().get(v).op("f64x2.promote_low_f32x4").op("f64x2.add").v128Store();
    c.get(p).get(p).v128Load(16).get(v).get(v).shuffle(HIGH).op("f64x2.promote_low_f32x4");
    c.op("f64x2.add").v128Store(16);
    c.get(g).i32(16).op("i32.add").set(g).get(p).i32(32).op("i32.add").set(p);
    c.get(kk).i32(4).op("i32.sub").set(kk);
    c.br(0).end().end();
    c.get(kk).i32(2).op("i32.and").if();
    c.get(p).get(p).v128Load().get(g).mem("v128.load64_zero").op("f64x2.promote_low_f32x4");
    c.op("f64x2.add").v128Store();
    c.get(g).i32(8).op("i32.add").set(g).get(p).i32(16).op("i32.add").set(p);
    c.end();
    c.get(kk).i32(1).op("i32.and").if();
    scalarAdd();
    c.end();
  });
  c.end();
  // out = f32(acc): four per step (two demoted pairs joined), then two, then one
  c.get(acc).set(p).get(total).set(kk);
  c.block().loop();
  c.get(kk).i32(4).op("i32.lt_u").brIf(1);
  c.get(out).get(p).v128Load().op("f32x4.demote_f64x2_zero");
  c.get(p).v128Load(16).op("f32x4.demote_f64x2_zero");
  c.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]).v128Store();
  c.get(p).i32(32).op("i32.add").set(p).get(out).i32(16).op("i32.add").set(out);
  c.get(kk).i32(4).op("i32.sub").set(kk);
  c.br(0).end().end();
  c.get(kk).i32(2).op("i32.and").if();
  c.get(out).get(p).v128Load().op("f32x4.demote_f64x2_zero").v128StoreLane(64, 0, 0);
  c.get(p).i32(16).op("i32.add").set(p).get(out).i32(8).op("i32.add").set(out);
  c.end();
  c.get(kk).i32(1).op("i32.and").if();
  c.get(out).get(p).mem("f64.load").op("f32.demote_f64").f32Store();
  c.end();
  return fn.def();
}

/** `fill32(out, n, bits)`: 64 bytes per step, then 16, then words. */
function fill32(fused: boolean): FuncDef {
  const fn = new Fn("fill32", [I32, I32, I32], fused);
  const c = fn.code;
  const [out, n, bits] = [0, 1, 2];
  const v = fn.local(V128);
  c.get(bits).op("i32x4.splat").set(v);
  for (const step of [16, 4]) {
    c.block().loop();
    c.get(n).i32(step).op("i32.lt_u").brIf(1);
    for (let q = 0; q < step / 4; q++) c.get(out).get(v).v128Store(16 * q);
    c.get(out).i32(4 * step).op("i32.add").set(out).get(n).i32(step).op("i32.sub").set(n);
    c.br(0).end().end();
  }
  c.block().loop();
  c.get(n).op("i32.eqz").brIf(1);
  c.get(out).get(bits).mem("i32.store");
  c.get(out).i32(4).op("i32.add").set(out).get(n).i32(1).op("i32.sub").set(n);
  c.br(0).end().end();
  return fn.def();
}

// ---------------------------------------------------------------------------
// Module, compilation and instantiation.

/**
 * The binary of the kernel module.
 *
 * @param variant `"relaxed"` (multiply-adds with `relaxed_madd`) or `"simd"`.
 * @param opts `shared`: import a shared memory (limits flags `0x03`, maximum
 *   `maxPages`); otherwise the import declares no maximum, so any unshared
 *   memory links (`maxPages` is then unused).
 * @returns The module bytes; it imports `env.memory`.
 */
export function kernelModuleBytes(
  variant: KernelVariant,
  opts: { shared: boolean; maxPages: number },
): Uint8Array<ArrayBuffer> {
  const fused = variant === "relaxed";
  const funcs: FuncDef[] = [
    ...UNARY.map(([name, body, unroll]) => unary(name, fused, body, unroll)),
    ...ELEMENTWISE.map(([name, spec]) => elementwise(name, fused, spec)),
    sumRows(fused),
    reduceCols("sum", fused),
    extremeRows("max", fused),
    reduceCols("max", fused),
    extremeRows("min", fused),
    reduceCols("min", fused),
    sumexpRows(fused),
    gather32(fused),
    scatterAddF32(fused),
    fill32(fused),
  ];
  return buildModule(funcs, {
    memoryImport: opts.shared
      ? { module: "env", field: "memory", minPages: 0, maxPages: opts.maxPages, shared: true }
      : { module: "env", field: "memory", minPages: 0 },
  });
}

/** Compiled modules by `variant:shared:maxPages`; null where the runtime rejects one. */
const modules = new Map<string, WebAssembly.Module | null>();

/** A variant's compiled module, on first use; null where the runtime rejects it. */
function compiled(
  variant: KernelVariant,
  shared: boolean,
  maxPages: number,
): WebAssembly.Module | null {
  const key = `${variant}:${shared}:${shared ? maxPages : 0}`;
  let mod = modules.get(key);
  if (mod === undefined) {
    mod = null;
    if (typeof WebAssembly === "object") {
      const bytes = kernelModuleBytes(variant, { shared, maxPages });
      if (WebAssembly.validate(bytes)) mod = new WebAssembly.Module(bytes);
    }
    modules.set(key, mod);
  }
  return mod;
}

/**
 * Compiles (once per variant, sharedness and maximum) and instantiates the
 * kernel module on `memory`.
 *
 * @param memory The memory every pointer refers to; shared exactly when
 *   `opts.shared`, and then with maximum `opts.maxPages`.
 * @param opts `shared` and `maxPages` as for {@link kernelModuleBytes};
 *   `variant` forces one variant (default: `"relaxed"` where
 *   `WebAssembly.validate` accepts it, else `"simd"`).
 * @returns The variant and the typed exports, or null when the runtime has
 *   no WebAssembly SIMD (or rejects the forced variant).
 */
export function instantiateKernels(
  memory: WebAssembly.Memory,
  opts: { shared: boolean; maxPages: number; variant?: KernelVariant },
): { variant: KernelVariant; exports: KernelExports } | null {
  const order: readonly KernelVariant[] = opts.variant ? [opts.variant] : ["relaxed", "simd"];
  for (const variant of order) {
    const mod = compiled(variant, opts.shared, opts.maxPages);
    if (mod === null) continue;
    const inst = new WebAssembly.Instance(mod, { env: { memory } });
    return { variant, exports: inst.exports as unknown as KernelExports };
  }
  return null;
}
