/**
 * The GEMM module's packing and copying functions (see `module.ts`), and
 * the small emitting helpers the module's functions share.
 *
 * @module
 */

import { F32, I32, type Local, V128, type ValType, type WasmFunction } from "../asm/mod.ts";
import { MR, NR, NV } from "./tiling.ts";

/** Parameters or locals of type `t` (default `i32`), named by `names`. */
export function decl(names: readonly string[], t: ValType = I32): Record<string, ValType> {
  return Object.fromEntries(names.map((n) => [n, t]));
}

/** Pushes `min(x, y)` (unsigned) of locals `x` and `y`. */
export function pushMin(f: WasmFunction, x: Local, y: Local): WasmFunction {
  return f.get(x).get(y).get(x).get(y).op("i32.lt_u").op("select");
}

/** Sets `kc` to `min(kb, k - pc)`, the depth of the block of `k` that starts at `pc`. */
export function blockDepth(f: WasmFunction, kc: Local, kb: Local, k: Local, pc: Local): void {
  f.get(k).get(pc).op("i32.sub").set(kc);
  pushMin(f, kb, kc).set(kc);
}

/** Pushes `(x + y·z + u·v) · 4`: a float offset in bytes. */
export function pushOffset(
  f: WasmFunction,
  x: Local,
  y: Local,
  z: Local,
  u: Local,
  v: Local,
): void {
  f.get(x).get(y).get(z).op("i32.mul").op("i32.add");
  f.get(u).get(v).op("i32.mul").op("i32.add").i32(4).op("i32.mul");
}

/** `p -= 1` on an i32 local. */
export function decrement(f: WasmFunction, p: Local): void {
  f.get(p).i32(1).op("i32.sub").set(p);
}

/** `x += by` on an i32 local, `by` a constant or a local. */
export function bump(f: WasmFunction, x: Local, by: number | Local): void {
  f.get(x);
  if (typeof by === "number") f.i32(by);
  else f.get(by);
  f.op("i32.add").set(x);
}

/**
 * `packRows(src, ld, m, mPad, kc, dst)`, for panels `w` wide (`MR` or
 * `NR`): packs rows `0 … mPad - 1` (rows from `m` on are zeros) and columns
 * `0 … kc - 1` of the row-major matrix at `src` (row stride `ld` bytes) into
 * `mPad / w` panels of `kc × w` at `dst`, row `r` becoming column `r % w`
 * of panel `r / w`. With `w = MR` this packs A; with `w = NR` a B stored
 * transposed (`n × k`), whose rows are the columns of op(B). One row at a
 * time: its `kc` floats are contiguous, their places `w` floats apart.
 */
export function packRows(f: WasmFunction, w: number): void {
  const { src, ld, m, mPad, kc, dst } = f.args;
  const { row, p, s, d } = f.locals(decl(["row", "p", "s", "d"]));
  f.forLoop(row, { to: mPad }, () => {
    // d = dst + ((row / w) · w · kc + row % w) · 4
    f.get(dst)
      .get(row).i32(w).op("i32.div_u").get(kc).op("i32.mul").i32(w).op("i32.mul")
      .get(row).i32(w).op("i32.rem_u").op("i32.add")
      .i32(4).op("i32.mul").op("i32.add").set(d);
    f.get(src).get(row).get(ld).op("i32.mul").op("i32.add").set(s);
    f.get(kc).set(p);
    const pEqz = (): void => void f.get(p).op("i32.eqz");
    f.get(row).get(m).op("i32.lt_u").if(
      () =>
        f.loopUntil(pEqz, () => { // for (p = kc; p > 0; p--) *d = *s
          f.get(d).get(s).f32Load().f32Store();
          bump(f, s, 4);
          bump(f, d, w * 4);
          decrement(f, p);
        }),
      () =>
        f.loopUntil(pEqz, () => { // for (p = kc; p > 0; p--) *d = 0
          f.get(d).f32(0).f32Store();
          bump(f, d, w * 4);
          decrement(f, p);
        }),
    );
  });
}

/** Byte lanes of `i8x16.shuffle` picking 32-bit lanes `i` of the top two operands (`i ≥ 4`: the second). */
export function lanes32(...i: number[]): number[] {
  return i.flatMap((l) => [0, 1, 2, 3].map((b) => 4 * l + b));
}

/**
 * `packA4(src, ld, m, mPad, kc, dst)`: what `packRows(MR)` does, four rows
 * at a time: for each whole panel of rows below `m`, four `v128` loads (one
 * per row, four columns each) become four panel rows by a 4 × 4 transpose
 * in registers (eight shuffles), some 3× faster than one float at a time;
 * the last columns (`kc mod 4`) go one by one. The rest (a partial panel,
 * zero rows up to `mPad`) is left to `packRows(MR)`.
 */
export function packA4(f: WasmFunction, packA: WasmFunction): void {
  const { src, ld, m, mPad, kc, dst } = f.args;
  const { full, row, p, s0, s1, s2, s3, d } = f.locals(
    decl(["full", "row", "p", "s0", "s1", "s2", "s3", "d"]),
  );
  const { t0, t1, t2, t3 } = f.locals(decl(["t0", "t1", "t2", "t3"], V128));
  const rows = [s0, s1, s2, s3];
  // full = min(m - m % MR, mPad)
  f.get(m).get(m).i32(MR).op("i32.rem_u").op("i32.sub").set(full);
  pushMin(f, full, mPad).set(full);
  f.forLoop(row, { to: full, step: MR }, () => {
    f.get(src).get(row).get(ld).op("i32.mul").op("i32.add").set(s0);
    for (let r = 1; r < MR; r++) f.get(rows[r - 1]).get(ld).op("i32.add").set(rows[r]);
    f.get(dst).get(row).get(kc).op("i32.mul").i32(4).op("i32.mul").op("i32.add").set(d);
    f.get(kc).set(p);
    f.loopUntil(() => void f.get(p).i32(4).op("i32.lt_u"), () => { // a 4 × 4 block
      // t0 = a0 b0 a1 b1, t1 = a2 b2 a3 b3 (rows 0, 1); t2, t3 likewise of rows 2, 3
      f.get(s0).v128Load().get(s1).v128Load().shuffle(lanes32(0, 4, 1, 5)).set(t0);
      f.get(s0).v128Load().get(s1).v128Load().shuffle(lanes32(2, 6, 3, 7)).set(t1);
      f.get(s2).v128Load().get(s3).v128Load().shuffle(lanes32(0, 4, 1, 5)).set(t2);
      f.get(s2).v128Load().get(s3).v128Load().shuffle(lanes32(2, 6, 3, 7)).set(t3);
      f.get(d).get(t0).get(t2).shuffle(lanes32(0, 1, 4, 5)).v128Store(0);
      f.get(d).get(t0).get(t2).shuffle(lanes32(2, 3, 6, 7)).v128Store(16);
      f.get(d).get(t1).get(t3).shuffle(lanes32(0, 1, 4, 5)).v128Store(32);
      f.get(d).get(t1).get(t3).shuffle(lanes32(2, 3, 6, 7)).v128Store(48);
      for (const r of rows) bump(f, r, 16);
      bump(f, d, 64);
      f.get(p).i32(4).op("i32.sub").set(p);
    });
    f.loopUntil(() => void f.get(p).op("i32.eqz"), () => { // one column
      rows.forEach((r, i) => f.get(d).get(r).f32Load().f32Store(4 * i));
      for (const r of rows) bump(f, r, 4);
      bump(f, d, 16);
      decrement(f, p);
    });
  });
  f.get(full).get(mPad).op("i32.lt_u").if(() => { // the rest, one row at a time
    f.get(src).get(full).get(ld).op("i32.mul").op("i32.add");
    f.get(ld);
    f.get(m).get(full).op("i32.sub");
    f.get(mPad).get(full).op("i32.sub");
    f.get(kc);
    f.get(dst).get(full).get(kc).op("i32.mul").i32(4).op("i32.mul").op("i32.add");
    f.call(packA);
  });
}

/**
 * `copyRows(src, srcStride, dst, dstStride, rows, cols)`: copies `rows`
 * rows of `cols` floats (strides in floats, addresses in floats): how C
 * leaves the padded scratch for the output, four floats per `v128`.
 */
export function copyRows(f: WasmFunction): void {
  const { src, ls, dst, ld, rows, cols } = f.args;
  const { r, j, s, d, c4 } = f.locals(decl(["r", "j", "s", "d", "c4"]));
  f.get(cols).get(cols).i32(3).op("i32.and").op("i32.sub").set(c4);
  f.forLoop(r, { to: rows }, () => {
    f.get(src).get(r).get(ls).op("i32.mul").op("i32.add").i32(4).op("i32.mul").set(s);
    f.get(dst).get(r).get(ld).op("i32.mul").op("i32.add").i32(4).op("i32.mul").set(d);
    f.forLoop(j, { from: 0, to: c4, step: 4 }, () => { // four floats
      f.get(d).get(s).v128Load().v128Store();
      bump(f, s, 16);
      bump(f, d, 16);
    });
    f.forLoop(j, { to: cols }, () => { // the rest, one float at a time
      f.get(d).get(s).f32Load().f32Store();
      bump(f, s, 4);
      bump(f, d, 4);
    });
  });
}

/**
 * `packB(src, ldb, n, kc, dst)`: packs rows `0 … kc - 1` of the row-major
 * `kc × n` matrix at `src` (row stride `ldb` bytes) into `⌈n / NR⌉` panels of
 * `kc × NR` at `dst`, the last one zero-padded.
 */
export function packB(f: WasmFunction): void {
  const { src, ldb, n, kc, dst } = f.args;
  const { p, j, s, d, nFull, stride } = f.locals(decl(["p", "j", "s", "d", "nFull", "stride"]));
  f.get(n).get(n).i32(NR).op("i32.rem_u").op("i32.sub").set(nFull);
  f.get(kc).i32(NR * 4).op("i32.mul").set(stride); // bytes between panels
  f.forLoop(p, { to: kc }, () => {
    f.get(src).get(p).get(ldb).op("i32.mul").op("i32.add").set(s);
    f.get(dst).get(p).i32(NR * 4).op("i32.mul").op("i32.add").set(d);
    f.forLoop(j, { from: 0, to: nFull, step: NR }, () => { // copy NR floats
      for (let v = 0; v < NV; v++) f.get(d).get(s).v128Load(v * 16).v128Store(v * 16);
      bump(f, s, NR * 4);
      bump(f, d, stride);
    });
    f.get(j).get(n).op("i32.lt_u").if(() => { // the last, partial panel
      for (let col = 0; col < NR; col++) {
        // *(d + col) = j + col < n ? *(s + col) : 0
        f.get(d);
        f.get(j).i32(col).op("i32.add").get(n).op("i32.lt_u");
        f.if([F32], () => void f.get(s).f32Load(col * 4), () => void f.f32(0));
        f.f32Store(col * 4);
      }
    });
  });
}

/**
 * `packAT(src, lda, m, kc, dst)`: packs the A of a product whose A is stored
 * transposed: rows `0 … kc - 1` of the row-major `kc × m` matrix at `src`
 * (row stride `lda` bytes; row `p` holds `A[0 … m - 1, p]`) into
 * `⌈m / MR⌉` panels of `kc × MR` at `dst`, the last one zero-padded: the
 * same panels as `packRows` makes from the `m × kc` transpose. With
 * `MR = 4` a panel's `MR` values at one depth are contiguous in both, so a
 * full panel is copied one `v128` per step of `k`; the panels are filled one
 * after the other, so the writes are sequential.
 */
export function packAT(f: WasmFunction): void {
  const { src, lda, m, kc, dst } = f.args;
  const { row, p, s, d } = f.locals(decl(["row", "p", "s", "d"]));
  const pEqz = (): void => void f.get(p).op("i32.eqz");
  const next = (): void => {
    bump(f, s, lda);
    bump(f, d, MR * 4);
    decrement(f, p);
  };
  f.get(dst).set(d); // panel after panel: d only moves on
  f.forLoop(row, { to: m, step: MR }, () => {
    f.get(src).get(row).i32(4).op("i32.mul").op("i32.add").set(s);
    f.get(kc).set(p);
    f.get(m).get(row).op("i32.sub").i32(MR).op("i32.ge_u").if(
      () =>
        f.loopUntil(pEqz, () => { // a full panel: copy MR floats per step
          f.get(d).get(s).v128Load().v128Store();
          next();
        }),
      () =>
        f.loopUntil(pEqz, () => { // the last, partial panel: read only the rows below m
          for (let r = 0; r < MR; r++) {
            // *(d + r) = row + r < m ? *(s + r) : 0
            f.get(d);
            f.get(row).i32(r).op("i32.add").get(m).op("i32.lt_u");
            f.if([F32], () => void f.get(s).f32Load(r * 4), () => void f.f32(0));
            f.f32Store(r * 4);
          }
          next();
        }),
    );
  });
}
