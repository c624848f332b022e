/**
 * A float32 GEMM in WebAssembly SIMD, emitted at run time by `emit.ts`.
 *
 * Structure (the usual packed, cache-blocked GEMM): both operands are copied
 * into one linear memory ({@link wasmMatmulF32}), or already live in one
 * ({@link gemmOnMemory}), and are packed; A into panels of `MR` rows (`kc × MR`,
 * element `(p, r)` at `p·MR + r`), B into panels of `NR` columns (`kc × NR`),
 * zero-padded at the edges. An operand stored transposed (`MatmulSpec.transA`:
 * A as `k × m`; `transB`: B as `n × k`) is packed straight from that layout
 * into the same panels, so the product is bitwise that of the materialised
 * transpose: a panel's `MR` values of A at one depth are then contiguous
 * (one `v128` per step of `k`), B's `NR` are `k` floats apart. The
 * micro-kernel keeps an `MR × NR` tile of C in `v128` locals, and per step
 * of `k` loads `MR` splatted values of A and `NR / 4` vectors of B and does
 * `MR · NR / 4` multiply-adds. The k axis is split into equal blocks of at
 * most `KC` and the rows into blocks of `MC`, so a block of packed A stays
 * in L2 and a micro-panel of B in L1. C is written to a padded
 * `mPad × nPad` scratch matrix and copied out (or, with {@link gemmOnMemory},
 * straight into the output when it needs no padding). A broadcast operand
 * (batch stride 0) is copied and packed once.
 *
 * Memory. {@link wasmMatmulF32} owns a module-level linear memory that it
 * grows as products need and drops after a product above 64 MiB (a shared
 * one once idle for a second). {@link gemmOnMemory} binds the same modules,
 * job loop and (own) worker to a memory the caller owns, e.g. a backend's
 * arena: A and B are packed from where they lie, nothing is copied through
 * JavaScript, the memory is never grown nor released. Every address
 * computed in the module is an unsigned `i32` (offsets are counted in
 * floats, below 2³⁰, and turned into bytes only in the module), so any
 * address of a 32-bit memory works.
 *
 * Tuning, measured with Deno 2.9 on one core (AMD EPYC, 1024³, relaxed):
 * the 4×8 tile with A splatted by lane shuffles from one `v128` load gives
 * ~47 GFLOP/s; splat loads per row 42, 6×8 45, 5×8 43, 4×12 26 (it spills);
 * unrolling k by 1–8 and `MC` from 32 to 128 change < 3%; equal k blocks
 * instead of 256 + 256 + 272 lift `[128,784]@[784,500]` from 42 to 46.
 *
 * Two variants are built from the same emitter: `"relaxed"` uses
 * `f32x4.relaxed_madd` (a fused multiply-add where the hardware has one) and
 * `"simd"` uses `f32x4.mul` + `f32x4.add`. The relaxed one is chosen when
 * `WebAssembly.validate` accepts it.
 *
 * Two threads. Where the runtime has `node:worker_threads` (reached through
 * `process.getBuiltinModule`: Deno 2, Node ≥ 22.3, Bun), shared WebAssembly
 * memory and a calling thread that may block in `Atomics.wait`, big products
 * share the work with one worker: a module worker from a `data:` URL (no
 * file, no permission; it works when the library is imported from JSR or
 * https) that instantiates the same module on the same shared memory and
 * waits on an `Int32Array` control block. The worker is unref'd, so it
 * never keeps the process alive, and started lazily. Each product is cut
 * into tasks (pack parts of A and of B, then compute strips of C: columns
 * in whole cache lines, or rows when C is narrow) that the threads claim
 * with compare-and-swap, the calling thread from the front and the worker
 * from the back; the calling thread never waits for the worker to wake, only
 * for a task the worker has claimed. Every tile of C goes through the same
 * micro-kernel calls in the same order however the strips are shared, so
 * results are bitwise identical to one thread. Measured on 2 vCPUs (AMD
 * EPYC, Zen 4, KVM): 1024³ ~95 GFLOP/s against ~49 on one thread, the MLP
 * products ~80–86 against ~47; products below 128³ stay on one thread.
 *
 * @module
 */

import { batchMatrices } from "../_geometry.ts";
import type { MatmulSpec } from "../backend.ts";
import { buildModule, Code, F32, type FuncDef, I32, V128, type ValType } from "./emit.ts";

/** Which instruction does the multiply-adds: relaxed-SIMD FMA or plain SIMD mul + add. */
export type WasmGemmVariant = "relaxed" | "simd";

/** Rows of the register tile (the A panel width). */
const MR = 4;
/** Columns of the register tile (the B panel width), a multiple of 4. */
const NR = 8;
/** Steps of `k` per iteration of the micro-kernel's main loop. */
const UNROLL = 4;
/** Largest block of `k` (rows of a packed B panel); `k` is split into equal blocks up to this. */
const KC = 512;
/** Block of rows of A per call of the macro-kernel, a multiple of `MR`. */
const MC = 64;
/**
 * How the micro-kernel broadcasts A: one `v128` load + lane shuffles (needs
 * `MR = 4`), or a splat load per row.
 */
const SPLAT: "shuffle" | "load" = "shuffle";

const NV = NR / 4;
const WASM_PAGE = 65536;
/** Linear memory larger than this is not attempted (the caller falls back to its own kernel). */
const MAX_BYTES = 2 ** 31;

/**
 * `kernel(ap, bp, c, ldc, kc, first)`: the `MR × NR` tile at `c` (row stride
 * `ldc` bytes) becomes (`first`) or gets added `Σ_p A[p, :] ⊗ B[p, :]` over
 * the packed panels at `ap` and `bp`.
 */
function kernel(fma: boolean): FuncDef {
  const [ap, bp, c, ldc, kc, first] = [0, 1, 2, 3, 4, 5];
  const acc = (r: number, v: number): number => 6 + r * NV + v;
  const a = 6 + MR * NV, b = (v: number): number => a + 1 + v, tmp = a + 1 + NV;
  const crow = tmp + 1;
  const locals: ValType[] = [...Array(MR * NV + NV + 2).fill(V128), I32];
  const code = new Code();
  /** One step of k at `u` steps past the pointers. */
  const step = (u: number): void => {
    for (let v = 0; v < NV; v++) code.get(bp).v128Load((u * NR + v * 4) * 4).set(b(v));
    if (SPLAT === "shuffle") code.get(ap).v128Load(u * MR * 4).set(a);
    for (let r = 0; r < MR; r++) {
      if (SPLAT === "shuffle") code.get(a).get(a).splatLane32(r).set(tmp);
      else code.get(ap).v128Load32Splat((u * MR + r) * 4).set(tmp);
      for (let v = 0; v < NV; v++) {
        if (fma) code.get(tmp).get(b(v)).get(acc(r, v)).op("f32x4.relaxed_madd");
        else code.get(acc(r, v)).get(tmp).get(b(v)).op("f32x4.mul").op("f32x4.add");
        code.set(acc(r, v));
      }
    }
  };
  const advance = (steps: number): void => {
    code.get(ap).i32(steps * MR * 4).op("i32.add").set(ap);
    code.get(bp).i32(steps * NR * 4).op("i32.add").set(bp);
    code.get(kc).i32(steps).op("i32.sub").set(kc);
  };
  // while (kc >= UNROLL) { UNROLL steps }
  code.block().loop();
  code.get(kc).i32(UNROLL).op("i32.lt_u").brIf(1);
  for (let u = 0; u < UNROLL; u++) step(u);
  advance(UNROLL);
  code.br(0).end().end();
  // while (kc > 0) { one step }
  code.block().loop();
  code.get(kc).op("i32.eqz").brIf(1);
  step(0);
  advance(1);
  code.br(0).end().end();
  // Store (first block of k) or accumulate into C.
  const storeTile = (add: boolean): void => {
    code.get(c).set(crow);
    for (let r = 0; r < MR; r++) {
      for (let v = 0; v < NV; v++) {
        code.get(crow);
        if (add) code.get(crow).v128Load(v * 16).get(acc(r, v)).op("f32x4.add");
        else code.get(acc(r, v));
        code.v128Store(v * 16);
      }
      if (r < MR - 1) code.get(crow).get(ldc).op("i32.add").set(crow);
    }
  };
  code.get(first).if();
  storeTile(false);
  code.else();
  storeTile(true);
  code.end();
  return { params: [I32, I32, I32, I32, I32, I32], results: [], locals, body: code };
}

/**
 * `macro(ap, bp, c, ldc, mc, np, kc, first)`: `C[0:mc, 0:np] (=|+=) Ap · Bp`
 * for a block of packed A (`mc / MR` panels) and of packed B (`np / NR`
 * panels), each panel `kc` deep. Calls function 0 (the micro-kernel).
 */
function macro(): FuncDef {
  const [ap, bp, c, ldc, mc, np, kc, first] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [j, i, api, ci, cj] = [8, 9, 10, 11, 12];
  const code = new Code();
  code.get(c).set(cj);
  code.block().loop(); // for (j = 0; j < np; j += NR)
  code.get(j).get(np).op("i32.ge_u").brIf(1);
  code.i32(0).set(i).get(ap).set(api).get(cj).set(ci);
  code.block().loop(); // for (i = 0; i < mc; i += MR)
  code.get(i).get(mc).op("i32.ge_u").brIf(1);
  code.get(api).get(bp).get(ci).get(ldc).get(kc).get(first).call(0);
  code.get(api).get(kc).i32(MR * 4).op("i32.mul").op("i32.add").set(api);
  code.get(ci).get(ldc).i32(MR).op("i32.mul").op("i32.add").set(ci);
  code.get(i).i32(MR).op("i32.add").set(i);
  code.br(0).end().end();
  code.get(bp).get(kc).i32(NR * 4).op("i32.mul").op("i32.add").set(bp);
  code.get(cj).i32(NR * 4).op("i32.add").set(cj);
  code.get(j).i32(NR).op("i32.add").set(j);
  code.br(0).end().end();
  return {
    params: Array(8).fill(I32),
    results: [],
    locals: Array(5).fill(I32),
    body: code,
  };
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
function packRows(w: number): FuncDef {
  const [src, ld, m, mPad, kc, dst] = [0, 1, 2, 3, 4, 5];
  const [row, p, s, d] = [6, 7, 8, 9];
  const code = new Code();
  code.block().loop(); // for (row = 0; row < mPad; row++)
  code.get(row).get(mPad).op("i32.ge_u").brIf(1);
  // d = dst + ((row / w) · w · kc + row % w) · 4
  code.get(dst)
    .get(row).i32(w).op("i32.div_u").get(kc).op("i32.mul").i32(w).op("i32.mul")
    .get(row).i32(w).op("i32.rem_u").op("i32.add")
    .i32(4).op("i32.mul").op("i32.add").set(d);
  code.get(src).get(row).get(ld).op("i32.mul").op("i32.add").set(s);
  code.get(kc).set(p);
  code.get(row).get(m).op("i32.lt_u").if();
  code.block().loop(); // for (p = kc; p > 0; p--) *d = *s
  code.get(p).op("i32.eqz").brIf(1);
  code.get(d).get(s).f32Load().f32Store();
  code.get(s).i32(4).op("i32.add").set(s);
  code.get(d).i32(w * 4).op("i32.add").set(d);
  code.get(p).i32(1).op("i32.sub").set(p);
  code.br(0).end().end();
  code.else();
  code.block().loop(); // for (p = kc; p > 0; p--) *d = 0
  code.get(p).op("i32.eqz").brIf(1);
  code.get(d).f32(0).f32Store();
  code.get(d).i32(w * 4).op("i32.add").set(d);
  code.get(p).i32(1).op("i32.sub").set(p);
  code.br(0).end().end();
  code.end();
  code.get(row).i32(1).op("i32.add").set(row);
  code.br(0).end().end();
  return {
    params: Array(6).fill(I32),
    results: [],
    locals: Array(4).fill(I32),
    body: code,
  };
}

/** Byte lanes of `i8x16.shuffle` picking 32-bit lanes `i` of the top two operands (`i ≥ 4`: the second). */
function lanes32(...i: number[]): number[] {
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
function packA4(): FuncDef {
  const [src, ld, m, mPad, kc, dst] = [0, 1, 2, 3, 4, 5];
  const [full, row, p, s0, s1, s2, s3, d] = [6, 7, 8, 9, 10, 11, 12, 13];
  const [t0, t1, t2, t3] = [14, 15, 16, 17];
  const rows = [s0, s1, s2, s3];
  const code = new Code();
  // full = min(m - m % MR, mPad)
  code.get(m).get(m).i32(MR).op("i32.rem_u").op("i32.sub").set(full);
  pushMin(code, full, mPad).set(full);
  code.block().loop(); // for (row = 0; row < full; row += MR)
  code.get(row).get(full).op("i32.ge_u").brIf(1);
  code.get(src).get(row).get(ld).op("i32.mul").op("i32.add").set(s0);
  for (let r = 1; r < MR; r++) code.get(rows[r - 1]).get(ld).op("i32.add").set(rows[r]);
  code.get(dst).get(row).get(kc).op("i32.mul").i32(4).op("i32.mul").op("i32.add").set(d);
  code.get(kc).set(p);
  code.block().loop(); // for (; p >= 4; p -= 4): a 4 × 4 block
  code.get(p).i32(4).op("i32.lt_u").brIf(1);
  // t0 = a0 b0 a1 b1, t1 = a2 b2 a3 b3 (rows 0, 1); t2, t3 likewise of rows 2, 3
  code.get(s0).v128Load().get(s1).v128Load().shuffle(lanes32(0, 4, 1, 5)).set(t0);
  code.get(s0).v128Load().get(s1).v128Load().shuffle(lanes32(2, 6, 3, 7)).set(t1);
  code.get(s2).v128Load().get(s3).v128Load().shuffle(lanes32(0, 4, 1, 5)).set(t2);
  code.get(s2).v128Load().get(s3).v128Load().shuffle(lanes32(2, 6, 3, 7)).set(t3);
  code.get(d).get(t0).get(t2).shuffle(lanes32(0, 1, 4, 5)).v128Store(0);
  code.get(d).get(t0).get(t2).shuffle(lanes32(2, 3, 6, 7)).v128Store(16);
  code.get(d).get(t1).get(t3).shuffle(lanes32(0, 1, 4, 5)).v128Store(32);
  code.get(d).get(t1).get(t3).shuffle(lanes32(2, 3, 6, 7)).v128Store(48);
  for (const r of rows) code.get(r).i32(16).op("i32.add").set(r);
  code.get(d).i32(64).op("i32.add").set(d);
  code.get(p).i32(4).op("i32.sub").set(p);
  code.br(0).end().end();
  code.block().loop(); // for (; p > 0; p--): one column
  code.get(p).op("i32.eqz").brIf(1);
  rows.forEach((r, i) => code.get(d).get(r).f32Load().f32Store(4 * i));
  for (const r of rows) code.get(r).i32(4).op("i32.add").set(r);
  code.get(d).i32(16).op("i32.add").set(d);
  code.get(p).i32(1).op("i32.sub").set(p);
  code.br(0).end().end();
  code.get(row).i32(MR).op("i32.add").set(row);
  code.br(0).end().end();
  code.get(full).get(mPad).op("i32.lt_u").if(); // the rest, one row at a time
  code.get(src).get(full).get(ld).op("i32.mul").op("i32.add");
  code.get(ld);
  code.get(m).get(full).op("i32.sub");
  code.get(mPad).get(full).op("i32.sub");
  code.get(kc);
  code.get(dst).get(full).get(kc).op("i32.mul").i32(4).op("i32.mul").op("i32.add");
  code.call(PACK_A);
  code.end();
  return {
    params: Array(6).fill(I32),
    results: [],
    locals: [...Array(8).fill(I32), ...Array(4).fill(V128)],
    body: code,
  };
}

/**
 * `copyRows(src, srcStride, dst, dstStride, rows, cols)`: copies `rows`
 * rows of `cols` floats (strides in floats, addresses in floats): how C
 * leaves the padded scratch for the output, four floats per `v128`.
 */
function copyRows(): FuncDef {
  const [src, ls, dst, ld, rows, cols] = [0, 1, 2, 3, 4, 5];
  const [r, j, s, d, c4] = [6, 7, 8, 9, 10];
  const code = new Code();
  code.get(cols).get(cols).i32(3).op("i32.and").op("i32.sub").set(c4);
  code.block().loop(); // for (r = 0; r < rows; r++)
  code.get(r).get(rows).op("i32.ge_u").brIf(1);
  code.get(src).get(r).get(ls).op("i32.mul").op("i32.add").i32(4).op("i32.mul").set(s);
  code.get(dst).get(r).get(ld).op("i32.mul").op("i32.add").i32(4).op("i32.mul").set(d);
  code.i32(0).set(j);
  code.block().loop(); // for (j = 0; j < c4; j += 4): four floats
  code.get(j).get(c4).op("i32.ge_u").brIf(1);
  code.get(d).get(s).v128Load().v128Store();
  code.get(s).i32(16).op("i32.add").set(s);
  code.get(d).i32(16).op("i32.add").set(d);
  code.get(j).i32(4).op("i32.add").set(j);
  code.br(0).end().end();
  code.block().loop(); // the rest, one float at a time
  code.get(j).get(cols).op("i32.ge_u").brIf(1);
  code.get(d).get(s).f32Load().f32Store();
  code.get(s).i32(4).op("i32.add").set(s);
  code.get(d).i32(4).op("i32.add").set(d);
  code.get(j).i32(1).op("i32.add").set(j);
  code.br(0).end().end();
  code.get(r).i32(1).op("i32.add").set(r);
  code.br(0).end().end();
  return {
    params: Array(6).fill(I32),
    results: [],
    locals: Array(5).fill(I32),
    body: code,
    export: "copyRows",
  };
}

/**
 * `packB(src, ldb, n, kc, dst)`: packs rows `0 … kc - 1` of the row-major
 * `kc × n` matrix at `src` (row stride `ldb` bytes) into `⌈n / NR⌉` panels of
 * `kc × NR` at `dst`, the last one zero-padded.
 */
function packB(): FuncDef {
  const [src, ldb, n, kc, dst] = [0, 1, 2, 3, 4];
  const [p, j, s, d, nFull, stride] = [5, 6, 7, 8, 9, 10];
  const code = new Code();
  code.get(n).get(n).i32(NR).op("i32.rem_u").op("i32.sub").set(nFull);
  code.get(kc).i32(NR * 4).op("i32.mul").set(stride); // bytes between panels
  code.block().loop(); // for (p = 0; p < kc; p++)
  code.get(p).get(kc).op("i32.ge_u").brIf(1);
  code.get(src).get(p).get(ldb).op("i32.mul").op("i32.add").set(s);
  code.get(dst).get(p).i32(NR * 4).op("i32.mul").op("i32.add").set(d);
  code.i32(0).set(j);
  code.block().loop(); // for (j = 0; j < nFull; j += NR): copy NR floats
  code.get(j).get(nFull).op("i32.ge_u").brIf(1);
  for (let v = 0; v < NV; v++) code.get(d).get(s).v128Load(v * 16).v128Store(v * 16);
  code.get(s).i32(NR * 4).op("i32.add").set(s);
  code.get(d).get(stride).op("i32.add").set(d);
  code.get(j).i32(NR).op("i32.add").set(j);
  code.br(0).end().end();
  code.get(j).get(n).op("i32.lt_u").if(); // the last, partial panel
  for (let col = 0; col < NR; col++) {
    // *(d + col) = j + col < n ? *(s + col) : 0
    code.get(d);
    code.get(j).i32(col).op("i32.add").get(n).op("i32.lt_u").if(F32);
    code.get(s).f32Load(col * 4).else().f32(0).end();
    code.f32Store(col * 4);
  }
  code.end();
  code.get(p).i32(1).op("i32.add").set(p);
  code.br(0).end().end();
  return {
    params: Array(5).fill(I32),
    results: [],
    locals: Array(6).fill(I32),
    body: code,
  };
}

/**
 * `packAT(src, lda, m, kc, dst)`: packs the A of a product whose A is stored
 * transposed: rows `0 … kc - 1` of the row-major `kc × m` matrix at `src`
 * (row stride `lda` bytes; row `p` holds `A[0 … m - 1, p]`) into
 * `⌈m / MR⌉` panels of `kc × MR` at `dst`, the last one zero-padded: the
 * same panels as {@link packRows} makes from the `m × kc` transpose. With
 * `MR = 4` a panel's `MR` values at one depth are contiguous in both, so a
 * full panel is copied one `v128` per step of `k`; the panels are filled one
 * after the other, so the writes are sequential.
 */
function packAT(): FuncDef {
  const [src, lda, m, kc, dst] = [0, 1, 2, 3, 4];
  const [row, p, s, d] = [5, 6, 7, 8];
  const code = new Code();
  code.get(dst).set(d); // panel after panel: d only moves on
  code.block().loop(); // for (row = 0; row < m; row += MR)
  code.get(row).get(m).op("i32.ge_u").brIf(1);
  code.get(src).get(row).i32(4).op("i32.mul").op("i32.add").set(s);
  code.get(kc).set(p);
  code.get(m).get(row).op("i32.sub").i32(MR).op("i32.ge_u").if(); // a full panel
  code.block().loop(); // for (p = kc; p > 0; p--): copy MR floats
  code.get(p).op("i32.eqz").brIf(1);
  code.get(d).get(s).v128Load().v128Store();
  code.get(s).get(lda).op("i32.add").set(s);
  code.get(d).i32(MR * 4).op("i32.add").set(d);
  code.get(p).i32(1).op("i32.sub").set(p);
  code.br(0).end().end();
  code.else(); // the last, partial panel: read only the rows below m
  code.block().loop(); // for (p = kc; p > 0; p--)
  code.get(p).op("i32.eqz").brIf(1);
  for (let r = 0; r < MR; r++) {
    // *(d + r) = row + r < m ? *(s + r) : 0
    code.get(d);
    code.get(row).i32(r).op("i32.add").get(m).op("i32.lt_u").if(F32);
    code.get(s).f32Load(r * 4).else().f32(0).end();
    code.f32Store(r * 4);
  }
  code.get(s).get(lda).op("i32.add").set(s);
  code.get(d).i32(MR * 4).op("i32.add").set(d);
  code.get(p).i32(1).op("i32.sub").set(p);
  code.br(0).end().end();
  code.end();
  code.get(row).i32(MR).op("i32.add").set(row);
  code.br(0).end().end();
  return {
    params: Array(5).fill(I32),
    results: [],
    locals: Array(4).fill(I32),
    body: code,
  };
}

/**
 * Indices of the functions above in the module (`call` operands): A is
 * packed by `packRows(MR)` (`PACK_A`) or, stored transposed, `packAT`; B by
 * `packB` or, stored transposed, `packRows(NR)` (`PACK_BT`).
 */
const MACRO = 1, PACK_A = 2, PACK_B = 3, PACK_AT = 4, PACK_BT = 5, PACK_A4 = 9;

/** Pushes `min(x, y)` (unsigned) of locals `x` and `y`. */
function pushMin(code: Code, x: number, y: number): Code {
  return code.get(x).get(y).get(x).get(y).op("i32.lt_u").op("select");
}

/** Sets local `kc` to `min(kb, k - pc)`, the depth of the block of `k` that starts at `pc`. */
function blockDepth(code: Code, kc: number, kb: number, k: number, pc: number): void {
  code.get(k).get(pc).op("i32.sub").set(kc);
  pushMin(code, kb, kc).set(kc);
}

/** Pushes `(x + y·z + u·v) · 4` for locals `x`, `y`, `z`, `u`, `v`: a float offset in bytes. */
function pushOffset(code: Code, x: number, y: number, z: number, u: number, v: number): Code {
  code.get(x).get(y).get(z).op("i32.mul").op("i32.add");
  return code.get(u).get(v).op("i32.mul").op("i32.add").i32(4).op("i32.mul");
}

/*
 * The three "part" functions below are what the driver (one thread, or two
 * sharing the work) calls. Offsets are in floats. The k axis is cut into
 * blocks of `kb` rows (the last one the rest); packed A holds block `pc` at
 * `aPack + pc·mPad`, row panel `r` (a multiple of `MR`) of it `r·kc` further;
 * packed B holds block `pc` at `bPack + pc·nPad`, column panel `j` (a
 * multiple of `NR`) `j·kc` further. A part covers a range of row panels
 * and/or column panels, so threads can split any of them.
 */

/**
 * `packAPart(aRaw, aPack, m, k, mPad, kb, r0, r1, transA)`: packs rows
 * `r0 … r1 - 1` (multiples of `MR`; rows from `m` on become zeros) of A,
 * every block of `k`. A is the row-major `m × k` matrix at `aRaw` (row `r`
 * of block `pc` from `aRaw + r·k + pc`), or with `transA` (non-zero) the
 * transpose of the row-major `k × m` matrix there (its row `pc` holds
 * column `pc` of A from `aRaw + pc·m`); the packed panels are the same.
 */
function packAPart(): FuncDef {
  return packPart("packAPart", true, PACK_A4, PACK_AT);
}

/**
 * `packBPart(bRaw, bPack, n, k, nPad, kb, c0, c1, transB)`: packs columns
 * `c0 … c1 - 1` (multiples of `NR`; columns from `n` on become zeros) of B,
 * every block of `k`. B is the row-major `k × n` matrix at `bRaw` (row `pc`
 * from `bRaw + pc·n`), or with `transB` (non-zero) the transpose of the
 * row-major `n × k` matrix there (its row `c` holds column `c` of B, block
 * `pc` of it from `bRaw + c·k + pc`); the packed panels are the same.
 */
function packBPart(): FuncDef {
  return packPart("packBPart", false, PACK_BT, PACK_B);
}

/**
 * The body of both part functions, `(raw, pack, size, k, pad, kb, lo, hi,
 * trans)`: for each block of `k`, packs panels `lo … hi - 1` of an operand
 * whose panels run along `size` (A's rows, B's columns). Stored so that a
 * panel's elements are a row's run (`lo` of it from `raw + lo·k + pc`, row
 * stride `k`), the operand goes to `byRows(src, ld, real, span, kc, dst)`;
 * stored so that they are a depth row's run (from `raw + pc·size + lo`, row
 * stride `size`), to `byDepth(src, ld, real, kc, dst)`. A is stored the
 * first way (`rowsWhenPlain`) unless transposed; B the other way round.
 */
function packPart(name: string, rowsWhenPlain: boolean, byRows: number, byDepth: number): FuncDef {
  const [raw, pack, size, k, pad, kb, lo, hi, trans] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [pc, kc, real] = [9, 10, 11];
  const code = new Code();
  const rows = (): void => {
    code.get(raw).get(lo).get(k).op("i32.mul").op("i32.add").get(pc).op("i32.add");
    code.i32(4).op("i32.mul");
    code.get(k).i32(4).op("i32.mul");
    code.get(real);
    code.get(hi).get(lo).op("i32.sub");
    code.get(kc);
    pushOffset(code, pack, pc, pad, lo, kc);
    code.call(byRows);
  };
  const depth = (): void => {
    code.get(raw).get(pc).get(size).op("i32.mul").op("i32.add").get(lo).op("i32.add");
    code.i32(4).op("i32.mul");
    code.get(size).i32(4).op("i32.mul");
    code.get(real);
    code.get(kc);
    pushOffset(code, pack, pc, pad, lo, kc);
    code.call(byDepth);
  };
  pushMin(code, size, hi).get(lo).op("i32.sub").set(real);
  code.block().loop(); // for (pc = 0; pc < k; pc += kb)
  code.get(pc).get(k).op("i32.ge_u").brIf(1);
  blockDepth(code, kc, kb, k, pc);
  code.get(trans).if();
  (rowsWhenPlain ? depth : rows)();
  code.else();
  (rowsWhenPlain ? rows : depth)();
  code.end();
  code.get(pc).get(kb).op("i32.add").set(pc);
  code.br(0).end().end();
  return {
    params: Array(9).fill(I32),
    results: [],
    locals: Array(3).fill(I32),
    body: code,
    export: name,
  };
}

/**
 * `computePart(aPack, bPack, cOff, ldc, k, mPad, nPad, kb, r0, r1, c0, c1)`:
 * rows `r0 … r1 - 1` and columns `c0 … c1 - 1` of the `mPad × nPad` C at
 * `cOff` (row stride `ldc` floats) become the product of the packed operands: for each block of `k` in
 * order (the first stores, the rest add), the macro-kernel over blocks of
 * `MC` rows. Every `MR × NR` tile of C sees the same micro-kernel calls in
 * the same order whatever the ranges, so any split is bitwise identical to
 * one call over everything.
 */
function computePart(): FuncDef {
  const [aPack, bPack, cOff, ldc, k, mPad, nPad, kb] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r0, r1, c0, c1] = [8, 9, 10, 11];
  const [pc, kc, ic, mc] = [12, 13, 14, 15];
  const code = new Code();
  code.block().loop(); // for (pc = 0; pc < k; pc += kb)
  code.get(pc).get(k).op("i32.ge_u").brIf(1);
  blockDepth(code, kc, kb, k, pc);
  code.get(r0).set(ic);
  code.block().loop(); // for (ic = r0; ic < r1; ic += MC)
  code.get(ic).get(r1).op("i32.ge_u").brIf(1);
  code.get(r1).get(ic).op("i32.sub").set(mc);
  code.i32(MC).get(mc).i32(MC).get(mc).op("i32.lt_u").op("select").set(mc);
  // macro(ap, bp, c, ldc, mc, np, kc, first)
  pushOffset(code, aPack, pc, mPad, ic, kc);
  pushOffset(code, bPack, pc, nPad, c0, kc);
  code.get(cOff).get(ic).get(ldc).op("i32.mul").op("i32.add").get(c0).op("i32.add");
  code.i32(4).op("i32.mul");
  code.get(ldc).i32(4).op("i32.mul");
  code.get(mc);
  code.get(c1).get(c0).op("i32.sub");
  code.get(kc);
  code.get(pc).op("i32.eqz");
  code.call(MACRO);
  code.get(ic).i32(MC).op("i32.add").set(ic);
  code.br(0).end().end();
  code.get(pc).get(kb).op("i32.add").set(pc);
  code.br(0).end().end();
  return {
    params: Array(12).fill(I32),
    results: [],
    locals: Array(4).fill(I32),
    body: code,
    export: "computePart",
  };
}

/** The module's exports, typed (offsets and sizes in floats). */
interface GemmExports {
  packAPart(
    aRaw: number,
    aPack: number,
    m: number,
    k: number,
    mPad: number,
    kb: number,
    r0: number,
    r1: number,
    transA: number,
  ): void;
  packBPart(
    bRaw: number,
    bPack: number,
    n: number,
    k: number,
    nPad: number,
    kb: number,
    c0: number,
    c1: number,
    transB: number,
  ): void;
  computePart(
    aPack: number,
    bPack: number,
    cOff: number,
    ldc: number,
    k: number,
    mPad: number,
    nPad: number,
    kb: number,
    r0: number,
    r1: number,
    c0: number,
    c1: number,
  ): void;
  copyRows(
    src: number,
    srcStride: number,
    dst: number,
    dstStride: number,
    rows: number,
    cols: number,
  ): void;
}

/** The most pages the linear memory may have: the declared maximum of the shared memory. */
const MAX_PAGES = MAX_BYTES / WASM_PAGE;

/**
 * The binary of one variant's module (it imports `env.memory`).
 *
 * @param variant `"relaxed"` (FMA) or `"simd"` (mul + add).
 * @param shared Whether the imported memory is a shared one (threads
 *   proposal: limits flags `0x03`, maximum 2 GiB), as the two-thread path
 *   uses; default `false`.
 * @returns The module bytes.
 */
export function gemmModuleBytes(
  variant: WasmGemmVariant,
  shared = false,
): Uint8Array<ArrayBuffer> {
  const funcs = [
    kernel(variant === "relaxed"),
    macro(),
    packRows(MR),
    packB(),
    packAT(),
    packRows(NR),
    packAPart(),
    packBPart(),
    computePart(),
    packA4(),
    copyRows(),
  ];
  return buildModule(funcs, {
    memoryImport: shared
      ? { module: "env", field: "memory", minPages: 1, maxPages: MAX_PAGES, shared: true }
      : { module: "env", field: "memory", minPages: 1 },
  });
}

/**
 * Products with at least this many multiply-adds (`m·k·n`) go to WebAssembly
 * in the CPU backend. Measured (Deno 2.9, one thread): the copies in and out
 * are paid for from about 8³ on for cubes (1.15× faster than the JS kernel at
 * 8³, 2× at 16³, 7× at 64³), but a matrix-vector product with `n = 1` (which
 * pads B to 8 columns) only breaks even around `64·64·1`. 16³ keeps every
 * measured shape at or above break-even.
 */
export const WASM_GEMM_MIN_WORK = 4096;

/**
 * Products (per matrix of a batch) with at least this many multiply-adds
 * share the work with a second thread, where threads are available.
 */
export const WASM_GEMM_THREADS_MIN_WORK: number = 128 ** 3;

/**
 * The worker is started once products that would use it have added up to
 * this many multiply-adds (some 45 ms of work on one thread, about what
 * starting it costs: ~20 ms for Deno's Node globals on first use, ~30 ms
 * blocked in the `Worker` constructor), or at once when a call asks for
 * two threads.
 */
const THREADS_START_WORK = 2 ** 30;

/** Linear memory larger than this is released after the call that needed it (shared: once idle). */
const RETAIN_BYTES = 64 * 2 ** 20;
/** A shared memory above `RETAIN_BYTES` (and its worker) is released after this long unused. */
const RELEASE_IDLE_MS = 1000;

/*
 * The control block of the two-thread path: an Int32Array over a
 * SharedArrayBuffer, shared by the main thread and the worker. A job (one
 * matrix product) is a list of tasks: first packing tasks (a range of A's
 * row panels, or of B's column panels), then computing tasks (a strip of C's
 * columns, or of its rows), each claimed by one thread with a
 * compare-and-swap. Packing tasks are claimed in order by both threads;
 * computing tasks from both ends, the main thread from the front and the
 * worker from the back, so each thread's strips are contiguous and the two
 * share at most one boundary (which C's layout keeps on a cache-line
 * boundary). The main thread publishes a job and runs tasks itself, so it
 * never depends on the worker being awake: a late or busy worker just claims
 * fewer tasks. `runTasks` spells these indices as literals (it runs in the
 * worker from its source text).
 */
/** Job number (1 … 32767, then 1 again), changed to publish a job; the worker waits on it. */
const JOB = 0;
/** Packing claims: `job << 8 | index of the next unclaimed packing task`. */
const NEXT_PACK = 1;
/** Tasks finished in the current job. */
const DONE = 2;
/** Packing tasks finished in the current job (computing tasks wait for all of them). */
const PACKED = 3;
/** Tasks in the current job. */
const NTASKS = 4;
/** Packing tasks in the current job (they come first). */
const NPACK = 5;
/** Index in `VARIANTS` of the module the job runs. */
const VARIANT = 6;
/** Set to 1 to make the worker leave its loop (and end). */
const QUIT = 7;
/** 0 while the worker starts, 1 once it waits for jobs, 2 if it could not instantiate. */
const READY = 8;
/** Set by the worker when a task threw; the main thread then throws too. */
const FAILED = 9;
/** Tasks the worker has run, in all (statistics). */
const WORKER_TASKS = 10;
/**
 * Computing claims: `job << 16 | lo << 8 | hi`, the unclaimed computing tasks
 * being `lo … hi - 1` (counted from the first computing task).
 */
const COMPUTE_RANGE = 11;
/** 1 while the worker is blocked until notified (see `WORKER_IDLE_MS`). */
const ASLEEP = 12;
/**
 * Job parameters: aRaw, bRaw, aPack, bPack, cOff, m, k, n, mPad, nPad, kb,
 * ldc (floats), then transA, transB (0 or 1: how A and B are stored).
 */
const PARAMS = 16;
/** Tasks, 5 ints each: kind (0 pack A, 1 pack B, 2 compute), r0, r1, c0, c1. */
const TASKS = 32;
/** At most this many tasks of each sort per job (claims keep indices in 8 bits). */
const MAX_TASKS = 255;
const CTRL_INTS = TASKS + 5 * 2 * MAX_TASKS;
/** Packing of each operand is cut into at most this many tasks. */
const PACK_TASKS = 4;
/** The product is cut into at most this many tasks. */
const COMPUTE_TASKS = 8;
/*
 * Waiting. Waking a thread blocked in `Atomics.wait` with `Atomics.notify`
 * costs the notifying thread 10–30 µs here (a 2-vCPU VM), the woken one
 * starts 50–150 µs later, and now and then the kernel runs it on the
 * notifier's CPU, stalling the notifier for up to a millisecond. So threads
 * wait for each other by polling (`Atomics.load` + `Atomics.pause`) and then
 * in short timed naps (`Atomics.wait` with a timeout, woken by their own
 * timer), and `Atomics.notify` is used only to wake a worker that has been
 * idle long enough to block for good, and only for a product big enough
 * to pay for it.
 */
/**
 * How long (ms) a thread that waits for the other one's task polls before
 * it naps (the wait is for one task at most, an eighth of a product).
 */
const POLL_MS = 2;
/** How long (ms) the idle worker polls for the next job before it naps. */
const WORKER_POLL_MS = 1;
/** Length (ms) of one nap (the kernel may add some 50 µs). */
const NAP_MS = 0.1;
/** How long (ms) the idle worker keeps polling and napping before it blocks until notified. */
const WORKER_IDLE_MS = 20;
/**
 * A worker that has been idle long enough to block until notified is woken
 * (`Atomics.notify`) for products (per matrix) of at least this many
 * multiply-adds; smaller ones then run on the calling thread alone. Waking
 * costs the caller 10–30 µs and the worker joins 50–150 µs later, which
 * pays from about 192³ (measured: 192³ 190–230 µs on two threads against
 * 305–325 µs on one; 128³ gains nothing).
 */
export const WASM_GEMM_WAKE_MIN_WORK: number = 2 ** 22;
/** Variants by index, as the worker receives its modules. */
const VARIANTS: readonly WasmGemmVariant[] = ["relaxed", "simd"];

/**
 * Claims and runs tasks of job `job` from the control block `c` until none
 * is left, taking computing tasks from the back if `back` (the worker) or
 * from the front and then waiting for the job's last task (the main thread);
 * returns how many it ran. Both threads run it: the worker gets it as
 * source text (`runTasks.toString()`; tried under `deno bundle --minify`
 * and Node 20 too), so it uses nothing from outside itself but globals, and spells the control-block indices as literals
 * (NEXT_PACK 1, DONE 2, PACKED 3, NTASKS 4, NPACK 5, FAILED 9,
 * COMPUTE_RANGE 11, PARAMS 16 … 29, TASKS 32). It waits for the other thread by
 * polling for `pollMs`, then napping `napMs` at a time.
 */
function runTasks(
  c: Int32Array,
  ex: GemmExports,
  job: number,
  back: boolean,
  pollMs: number,
  napMs: number,
): number {
  let ran = 0;
  /** Waits until `c[i] >= target`. */
  const waitFor = (i: number, target: number): void => {
    const pause = typeof Atomics.pause === "function" ? Atomics.pause : () => {};
    const until = performance.now() + pollMs;
    for (let v = Atomics.load(c, i), s = 0; v < target; v = Atomics.load(c, i), s++) {
      if (c[9] !== 0) throw new Error("wasm gemm: the helper thread failed");
      if ((s & 63) !== 63 || performance.now() < until) pause();
      else Atomics.wait(c, i, v, napMs);
    }
  };
  for (;;) {
    const v = Atomics.load(c, 1), i = v & 255;
    if (v >>> 8 !== job || i >= c[5]) break;
    if (Atomics.compareExchange(c, 1, v, v + 1) !== v) continue;
    // Task i is ours: the job cannot end, nor its parameters change, before we count it done.
    const t = 32 + 5 * i;
    if (c[t] === 0) {
      ex.packAPart(c[16], c[18], c[21], c[22], c[24], c[26], c[t + 1], c[t + 2], c[28]);
    } else ex.packBPart(c[17], c[19], c[23], c[22], c[25], c[26], c[t + 3], c[t + 4], c[29]);
    Atomics.add(c, 3, 1);
    Atomics.add(c, 2, 1);
    ran++;
  }
  for (;;) {
    const v = Atomics.load(c, 11), lo = (v >>> 8) & 255, hi = v & 255;
    if (v >>> 16 !== job || lo >= hi) break;
    if (Atomics.compareExchange(c, 11, v, back ? v - 1 : v + 256) !== v) continue;
    const t = 32 + 5 * (c[5] + (back ? hi - 1 : lo));
    waitFor(3, c[5]); // every packing task done
    ex.computePart(
      c[18],
      c[19],
      c[20],
      c[27],
      c[22],
      c[24],
      c[25],
      c[26],
      c[t + 1],
      c[t + 2],
      c[t + 3],
      c[t + 4],
    );
    Atomics.add(c, 2, 1);
    ran++;
  }
  if (!back) waitFor(2, c[4]); // the other thread's last task
  return ran;
}

/**
 * The worker: a module (run from a `data:` URL, so it needs no file and no
 * permission) that instantiates the variants' modules on the shared memory,
 * then waits for jobs on the control block, polling a while after each job
 * before it blocks in `Atomics.wait`.
 */
const WORKER_SOURCE = `import { workerData } from "node:worker_threads";
const { ctrl, memory, modules } = workerData;
const c = new Int32Array(ctrl);
const runTasks = (${runTasks.toString()});
let ex = null;
try {
  ex = modules.map((m) => m === null ? null : new WebAssembly.Instance(m, { env: { memory } }).exports);
} catch {
  ex = null;
}
Atomics.store(c, ${READY}, ex === null ? 2 : 1);
let seen = -1, last = performance.now();
const pause = typeof Atomics.pause === "function" ? Atomics.pause : () => {};
while (ex !== null) {
  let job = Atomics.load(c, ${JOB});
  if (job === seen) {
    // Idle: poll, then nap, then block until notified.
    const idle = performance.now() - last;
    if (idle < ${WORKER_POLL_MS}) {
      for (let s = 0; s < 64 && job === seen; s++, pause()) job = Atomics.load(c, ${JOB});
    } else if (idle < ${WORKER_IDLE_MS}) {
      Atomics.wait(c, ${JOB}, seen, ${NAP_MS});
    } else {
      Atomics.store(c, ${ASLEEP}, 1);
      if (Atomics.load(c, ${JOB}) === seen) Atomics.wait(c, ${JOB}, seen);
      Atomics.store(c, ${ASLEEP}, 0);
    }
    continue;
  }
  seen = job;
  if (Atomics.load(c, ${QUIT}) !== 0) break;
  try {
    Atomics.add(c, ${WORKER_TASKS}, runTasks(c, ex[c[${VARIANT}]], job, true, ${POLL_MS}, ${NAP_MS}));
  } catch {
    Atomics.store(c, ${FAILED}, 1);
    break;
  }
  last = performance.now();
}
`;

/** The part of `node:worker_threads` used here. */
interface WorkerThreadsApi {
  readonly Worker: new (url: URL, options: { workerData: unknown }) => ThreadWorker;
}

/** The part of a `node:worker_threads` `Worker` used here. */
interface ThreadWorker {
  unref(): void;
  on(event: "error" | "exit", listener: () => void): unknown;
}

/** The second thread of the two-thread path, with its control block. */
interface Helper {
  readonly ctrl: Int32Array;
  readonly worker: ThreadWorker;
  /** The last job number published. */
  job: number;
}

/**
 * What outlives one context: the module-level contexts (which come and go)
 * share one set, each memory of {@link gemmOnMemory} has its own.
 */
interface Counters {
  /**
   * Multiply-adds of the products that wanted two threads and are big
   * enough to wake a blocked worker (`WASM_GEMM_WAKE_MIN_WORK`), in all. The
   * worker is started once this reaches `THREADS_START_WORK`, so a script
   * with a few mid-sized products does not pay for it.
   */
  wantedWork: number;
  /** Jobs published to the worker, in all (statistics). */
  jobs: number;
  /** Workers started and not yet ended (statistics). */
  workers: number;
}

/** A linear memory, the instances over it, and (shared memory only) the worker. */
interface Context {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  readonly instances: Map<WasmGemmVariant, GemmExports>;
  /** Not created yet (undefined), unavailable (null), or the worker. */
  helper: Helper | null | undefined;
  /** `performance.now()` at the end of the last call. */
  lastUse: number;
  /** Whether an idle-release timer is pending. */
  releasing: boolean;
  readonly counters: Counters;
}

const modules = new Map<string, WebAssembly.Module | null>();
/** The module-level context of {@link wasmMatmulF32} (its memory is ours: grown, released). */
let ctx: Context | undefined;
/** The counters of every module-level context. */
const moduleCounters: Counters = { wantedWork: 0, jobs: 0, workers: 0 };
let best: WasmGemmVariant | null | undefined;
let threadsApi: WorkerThreadsApi | null | undefined;
/** Set when a shared memory could not be created. */
let sharedFailed = false;

/** A variant's compiled module, on first use; null where the runtime rejects it. */
function compiled(variant: WasmGemmVariant, shared = false): WebAssembly.Module | null {
  const key = `${variant}:${shared}`;
  let mod = modules.get(key);
  if (mod === undefined) {
    mod = null;
    if (typeof WebAssembly === "object") {
      const bytes = gemmModuleBytes(variant, shared);
      if (WebAssembly.validate(bytes)) mod = new WebAssembly.Module(bytes);
    }
    modules.set(key, mod);
  }
  return mod;
}

/**
 * `node:worker_threads`, where this thread may block in `Atomics.wait` and
 * the runtime offers it synchronously (`process.getBuiltinModule`: Deno 2,
 * Node ≥ 22.3, Bun); else null (browsers, older runtimes).
 */
function workerThreads(): WorkerThreadsApi | null {
  if (threadsApi === undefined) {
    threadsApi = null;
    try {
      if (typeof SharedArrayBuffer === "function" && typeof Atomics === "object") {
        // Throws where this thread may not block (a browser's main thread).
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
        const proc = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } })
          .process;
        const api = proc?.getBuiltinModule?.("node:worker_threads") as
          | WorkerThreadsApi
          | undefined;
        if (typeof api?.Worker === "function") threadsApi = api;
      }
    } catch {
      threadsApi = null;
    }
  }
  return threadsApi;
}

/**
 * Whether the two-thread path can run here: `node:worker_threads` (see
 * {@link workerThreads}), a shared memory and the shared module of `variant`.
 * The first call costs some 20 ms in Deno (its Node globals start lazily),
 * so it is only made once two threads are wanted.
 */
function threadsAvailable(variant: WasmGemmVariant): boolean {
  return !sharedFailed && workerThreads() !== null && compiled(variant, true) !== null;
}

/**
 * A new context of at least `pages` pages: a shared memory (maximum 2 GiB)
 * if `shared` and it can be had, else an ordinary one.
 */
function newContext(pages: number, shared: boolean): Context {
  const initial = Math.max(1, pages);
  let memory: WebAssembly.Memory | undefined;
  if (shared) {
    try {
      memory = new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true });
    } catch {
      sharedFailed = true;
    }
  }
  return {
    memory: memory ?? new WebAssembly.Memory({ initial }),
    shared: memory !== undefined,
    instances: new Map(),
    helper: undefined,
    lastUse: 0,
    releasing: false,
    counters: moduleCounters,
  };
}

/**
 * The context with a memory of at least `bytes` bytes and the instance of
 * `variant` over it, or null when that memory cannot be had. With `shared`,
 * an ordinary memory is replaced by a shared one (kept from then on).
 */
function instance(
  variant: WasmGemmVariant,
  bytes: number,
  shared: boolean,
): [Context, GemmExports] | null {
  if (bytes > MAX_BYTES) return null;
  const pages = Math.ceil(bytes / WASM_PAGE);
  if (ctx !== undefined && shared && !ctx.shared) release(ctx);
  try {
    if (ctx === undefined) ctx = newContext(pages, shared);
    else if (ctx.memory.buffer.byteLength < bytes) {
      ctx.memory.grow(pages - ctx.memory.buffer.byteLength / WASM_PAGE);
    }
  } catch {
    return null; // out of memory: let the caller use its own kernel
  }
  let inst = ctx.instances.get(variant);
  if (inst === undefined) {
    const mod = compiled(variant, ctx.shared);
    if (mod === null) return null;
    const imports = { env: { memory: ctx.memory } };
    inst = new WebAssembly.Instance(mod, imports).exports as unknown as GemmExports;
    ctx.instances.set(variant, inst);
  }
  return [ctx, inst];
}

/**
 * The worker of a shared-memory context, started on first use (the
 * `Worker` constructor takes some 30 ms); null where it cannot be started.
 * The worker is unref'd: it never keeps the process alive.
 */
function helper(c: Context): Helper | null {
  if (c.helper === undefined) {
    c.helper = null;
    const api = workerThreads();
    if (c.shared && api !== null) {
      try {
        const ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_INTS));
        const mods = VARIANTS.map((v) => compiled(v, true));
        const url = new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`);
        const worker = new api.Worker(url, {
          workerData: { ctrl: ctrl.buffer, memory: c.memory, modules: mods },
        });
        worker.unref();
        worker.on("error", () => Atomics.store(ctrl, READY, 2));
        worker.on("exit", () => {
          Atomics.store(ctrl, READY, 2);
          c.counters.workers--;
        });
        c.counters.workers++;
        c.helper = { ctrl, worker, job: 0 };
      } catch {
        c.helper = null;
      }
    }
  }
  const h = c.helper;
  return h !== null && Atomics.load(h.ctrl, READY) !== 2 && Atomics.load(h.ctrl, FAILED) === 0
    ? h
    : null;
}

/** Drops the context (its memory is collected once the worker, told to quit, has ended). */
function release(c: Context): void {
  const h = c.helper;
  if (h) {
    // A job number the worker has not seen (it may have seen none, or job 0
    // of the fresh control block) makes it look, and find QUIT set.
    Atomics.store(h.ctrl, QUIT, 1);
    Atomics.store(h.ctrl, JOB, h.job = (h.job % 32767) + 1);
    Atomics.notify(h.ctrl, JOB);
  }
  if (ctx === c) ctx = undefined;
}

/** After a call: drops a memory above `RETAIN_BYTES`, a shared one only once idle for a while. */
function retainOrRelease(c: Context): void {
  c.lastUse = performance.now();
  if (c.memory.buffer.byteLength <= RETAIN_BYTES || c.releasing) return;
  if (!c.shared) {
    release(c); // let a one-off huge product's memory be collected
    return;
  }
  // A shared memory comes with a worker that costs some 30 ms to start, so
  // keep both while products keep coming; release them after an idle second.
  c.releasing = true;
  const check = (): void => {
    const idle = performance.now() - c.lastUse;
    if (ctx !== c) return;
    if (idle >= RELEASE_IDLE_MS) release(c);
    else unrefTimer(setTimeout(check, RELEASE_IDLE_MS - idle));
  };
  unrefTimer(setTimeout(check, RELEASE_IDLE_MS));
}

/** Lets a timer not keep the process alive (Deno: `Deno.unrefTimer`; Node, Bun: `.unref()`). */
function unrefTimer(id: unknown): void {
  if (typeof id === "number") {
    (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno?.unrefTimer?.(id);
  } else (id as { unref?(): void } | undefined)?.unref?.();
}

/**
 * The variant the CPU backend uses: `"relaxed"` where the runtime accepts
 * relaxed SIMD, else `"simd"`, else null (no WebAssembly SIMD at all).
 * Decided once, on the first call, which also compiles the module.
 *
 * @returns The best available variant, or null.
 */
export function wasmGemmVariant(): WasmGemmVariant | null {
  if (best === undefined) {
    best = compiled("relaxed") !== null ? "relaxed" : compiled("simd") !== null ? "simd" : null;
  }
  return best;
}

/**
 * Counters of the two-thread path (for tests and benchmarks), of the
 * module-level context of {@link wasmMatmulF32} ({@link wasmGemmThreadStats})
 * or of one memory ({@link GemmOnMemory.stats}).
 */
export interface WasmGemmThreadStats {
  /** Whether this runtime can run the two-thread path (shared memory, workers, `Atomics.wait`). */
  readonly available: boolean;
  /** Whether the worker is started and waiting for jobs. */
  readonly ready: boolean;
  /**
   * Jobs (one per matrix of a batch) published to the worker since the
   * module loaded (module-level) or since the {@link GemmOnMemory} was made.
   */
  readonly jobs: number;
  /** Tasks the current worker has run. */
  readonly workerTasks: number;
  /** Workers started and not yet ended (0 or 1, briefly 2 while one that was told to quit ends). */
  readonly workers: number;
  /** Size of the current linear memory in bytes (0 when there is none). */
  readonly memoryBytes: number;
  /** Whether the current linear memory is a shared one. */
  readonly shared: boolean;
}

/** The stats of context `c` (undefined: none at the moment) with the counters `counters`. */
function statsOf(c: Context | undefined, counters: Counters): WasmGemmThreadStats {
  const h = c?.helper;
  return {
    available: workerThreads() !== null,
    ready: h != null && Atomics.load(h.ctrl, READY) === 1,
    jobs: counters.jobs,
    workerTasks: h != null ? Atomics.load(h.ctrl, WORKER_TASKS) : 0,
    workers: counters.workers,
    memoryBytes: c?.memory.buffer.byteLength ?? 0,
    shared: c?.shared ?? false,
  };
}

/**
 * The state and counters of the two-thread path of {@link wasmMatmulF32}
 * (the module-level memory and its worker).
 *
 * @returns Availability, readiness and counters.
 */
export function wasmGemmThreadStats(): WasmGemmThreadStats {
  return statsOf(ctx, moduleCounters);
}

/** Resolves once the worker `h` waits for jobs (true) or cannot (false; also for null). */
async function ready(h: Helper | null): Promise<boolean> {
  if (h === null) return false;
  for (let i = 0; i < 10_000 && Atomics.load(h.ctrl, READY) === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return Atomics.load(h.ctrl, READY) === 1;
}

/**
 * Starts the worker of the two-thread path (if it is not running) and
 * resolves once it waits for jobs. Products do not need this: the worker
 * joins whenever it is ready, and until then the calling thread does all
 * the work. Benchmarks and tests use it to measure a warm worker.
 *
 * @returns Whether the worker is ready (false where threads are unavailable).
 */
export function wasmGemmThreadsReady(): Promise<boolean> {
  const variant = wasmGemmVariant();
  if (variant === null || !threadsAvailable(variant)) return Promise.resolve(false);
  const got = instance(variant, WASM_PAGE, true);
  return ready(got === null ? null : helper(got[0]));
}

/**
 * Whether {@link wasmMatmulF32} (or {@link GemmOnMemory.matmul}) runs an
 * `m × k` by `k × n` product on two threads (where threads are available
 * and the worker started): never when
 * C is too small to cut (one `4 × 16` block); else as `threads` asks (1 or
 * 2) or, by default, from {@link WASM_GEMM_THREADS_MIN_WORK} multiply-adds
 * up, and from {@link WASM_GEMM_WAKE_MIN_WORK} up when the worker has been
 * idle long enough to block.
 *
 * @param m Rows of A and C.
 * @param k Columns of A, rows of B.
 * @param n Columns of B and C.
 * @param threads 1 or 2 to force; undefined for the default.
 * @param workerBlocked Whether the worker is blocked until notified.
 * @returns True for two threads.
 */
export function wasmGemmUsesTwoThreads(
  m: number,
  k: number,
  n: number,
  threads?: number,
  workerBlocked = false,
): boolean {
  if (splitOf(m, n, roundUp(m, MR), roundUp(n, NR)) === null) return false;
  if (threads !== undefined) return threads >= 2;
  const work = m * k * n;
  return work >= WASM_GEMM_THREADS_MIN_WORK && (!workerBlocked || work >= WASM_GEMM_WAKE_MIN_WORK);
}

/** Rounds `x` up to a multiple of `m`. */
function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}

/**
 * Appends up to `maxParts` tasks of `kind` that cut `0 … size - 1` into
 * near-equal ranges of whole `unit`s, as rows (`r0, r1`, columns
 * `0 … full - 1`) or as columns (`c0, c1`, rows `0 … full - 1`).
 */
function pushRanges(
  tasks: number[],
  kind: number,
  size: number,
  unit: number,
  maxParts: number,
  rows: boolean,
  full: number,
): void {
  const units = Math.ceil(size / unit), parts = Math.min(maxParts, units);
  for (let i = 0; i < parts; i++) {
    const lo = Math.min(size, Math.floor((i * units) / parts) * unit);
    const hi = Math.min(size, Math.floor(((i + 1) * units) / parts) * unit);
    if (rows) tasks.push(kind, lo, hi, 0, full);
    else tasks.push(kind, 0, full, lo, hi);
  }
}

/** Floats per cache line: C's rows and the column strips of the two threads start on one. */
const LINE = 16;

/**
 * How C is cut among threads: `"columns"`, `"rows"`, or null where it is too
 * small to cut (one `MR × LINE` block).
 */
function splitOf(m: number, n: number, mPad: number, nPad: number): "columns" | "rows" | null {
  if (nPad > LINE && (n >= m || mPad <= MR)) return "columns";
  return mPad > MR ? "rows" : null;
}

/**
 * Runs one matrix product on two threads: publishes the tasks (pack the
 * operands that changed, then compute C in strips of columns, or of rows
 * when C is narrow) and works through them alongside the worker, then
 * waits for the worker's last task.
 */
function runShared(
  h: Helper,
  ex: GemmExports,
  variant: WasmGemmVariant,
  params: readonly number[],
  split: "columns" | "rows",
  packA: boolean,
  packB: boolean,
  counters: Counters,
): void {
  const mPad = params[8], nPad = params[9];
  const tasks: number[] = [];
  if (packA) pushRanges(tasks, 0, mPad, MR, PACK_TASKS, true, nPad);
  if (packB) pushRanges(tasks, 1, nPad, NR, PACK_TASKS, false, mPad);
  const npack = tasks.length / 5;
  if (split === "columns") pushRanges(tasks, 2, nPad, LINE, COMPUTE_TASKS, false, mPad);
  else pushRanges(tasks, 2, mPad, MR, COMPUTE_TASKS, true, nPad);
  const c = h.ctrl, ntasks = tasks.length / 5;
  for (let i = 0; i < params.length; i++) c[PARAMS + i] = params[i];
  c.set(tasks, TASKS);
  c[NTASKS] = ntasks;
  c[NPACK] = npack;
  c[VARIANT] = VARIANTS.indexOf(variant);
  Atomics.store(c, DONE, 0);
  Atomics.store(c, PACKED, 0);
  const job = h.job = (h.job % 32767) + 1;
  Atomics.store(c, NEXT_PACK, job << 8);
  Atomics.store(c, COMPUTE_RANGE, (job << 16) | (ntasks - npack));
  Atomics.store(c, JOB, job);
  // The worker may have blocked just before it could see the job: then wake it.
  if (Atomics.load(c, ASLEEP) !== 0) Atomics.notify(c, JOB);
  counters.jobs++;
  runTasks(c, ex, job, false, POLL_MS, NAP_MS);
}

/** The sizes of one product, padded, and the depth of its blocks of `k`. */
interface Geometry {
  readonly m: number;
  readonly k: number;
  readonly n: number;
  /** `m` rounded up to whole row panels (`MR`). */
  readonly mPad: number;
  /** `n` rounded up to whole column panels (`NR`). */
  readonly nPad: number;
  /** Row stride of C (floats) when two threads cut it in columns: each row starts a cache line. */
  readonly ldcMax: number;
  /** Rows of every block of `k` but the last. */
  readonly kb: number;
  /** 1 where A's matrices are stored transposed (`k × m`), else 0 (as the module takes it). */
  readonly transA: number;
  /** 1 where B's matrices are stored transposed (`n × k`), else 0. */
  readonly transB: number;
}

/** The {@link Geometry} of the `m × k` by `k × n` products of `spec`. */
function geometry(spec: MatmulSpec): Geometry {
  const { m, k, n } = spec;
  const mPad = roundUp(m, MR), nPad = roundUp(n, NR);
  return {
    m,
    k,
    n,
    mPad,
    nPad,
    ldcMax: roundUp(nPad, LINE),
    kb: Math.ceil(k / Math.ceil(k / KC)),
    transA: spec.transA ? 1 : 0,
    transB: spec.transB ? 1 : 0,
  };
}

/**
 * The scratch of a product from float offset `scratch` on: packed A
 * (`mPad · k` floats), packed B (`k · nPad`), then C (`mPad` rows of `ldc`
 * floats) from the next cache line.
 */
function scratchLayout(
  scratch: number,
  g: Geometry,
): { aPack: number; bPack: number; cOff: number } {
  const aPack = scratch, bPack = aPack + g.mPad * g.k;
  return { aPack, bPack, cOff: roundUp(bPack + g.k * g.nPad, LINE) };
}

/** Matrices in a batch of shape `batchShape`. */
function batchSize(spec: MatmulSpec): number {
  let batch = 1;
  for (const d of spec.batchShape) batch *= d;
  return batch;
}

/**
 * Whether a product (of `work` multiply-adds per matrix, `batch` matrices)
 * that could be cut goes to the worker of a context whose worker is now
 * `h`: always once one was started; else the work is counted and the
 * worker wanted when `threads` asks for it or enough work has asked, and
 * `available()` (called only then: its first call may cost some 20 ms).
 */
function wantsWorker(
  h: Helper | null | undefined,
  counters: Counters,
  work: number,
  batch: number,
  threads: number | undefined,
  available: () => boolean,
): boolean {
  if (h) return true;
  if (work >= WASM_GEMM_WAKE_MIN_WORK) counters.wantedWork += batch * work;
  return (threads !== undefined || counters.wantedWork >= THREADS_START_WORK) && available();
}

/** Where {@link runBatch} finds the operands of each product of a batch and what it does with C. */
interface Placement {
  /** Float offset of A's matrix `aMat` (the copying path copies it there first). */
  a(aMat: number): number;
  /** Float offset of B's matrix `bMat` (the copying path copies it there first). */
  b(bMat: number): number;
  /**
   * Float offset of the output's matrix `t`, where C may be computed in
   * place (when it needs no padding), or null to always go through the scratch.
   */
  readonly out: ((t: number) => number) | null;
  /** Takes matrix `t` of the output from the scratch C at `cOff` (row stride `ldc` floats). */
  take(t: number, cOff: number, ldc: number): void;
}

/**
 * The job loop of both paths: `out[t] = A[mats[2t]] · B[mats[2t + 1]]` in
 * context `c` (instance `ex`), with the scratch (see {@link scratchLayout})
 * from float offset `scratch`, on two threads where `split` is set, the
 * worker is up and (see {@link wasmGemmUsesTwoThreads}) worth it. An
 * operand equal to the previous product's (a broadcast one) is packed once.
 */
function runBatch(
  c: Context,
  ex: GemmExports,
  variant: WasmGemmVariant,
  g: Geometry,
  mats: Int32Array,
  split: "columns" | "rows" | null,
  threads: number | undefined,
  scratch: number,
  place: Placement,
): void {
  const { m, k, n, mPad, nPad, kb, transA, transB } = g;
  let h = split !== null ? helper(c) : null;
  if (h !== null && !wasmGemmUsesTwoThreads(m, k, n, threads, Atomics.load(h.ctrl, ASLEEP) !== 0)) {
    h = null; // a blocked worker is not worth waking for this product
  }
  // Strips of columns shared by two threads start on cache lines in every
  // row; otherwise rows are packed (n = ldc copies out in one piece).
  const ldc = h !== null && split === "columns" ? g.ldcMax : nPad;
  const direct = place.out !== null && m === mPad && n === ldc ? place.out : null;
  const { aPack, bPack, cOff } = scratchLayout(scratch, g);
  const params = [0, 0, aPack, bPack, cOff, m, k, n, mPad, nPad, kb, ldc, transA, transB];
  let aLoaded = -1, bLoaded = -1;
  for (let t = 0; t < mats.length / 2; t++) {
    const aMat = mats[2 * t], bMat = mats[2 * t + 1];
    const newA = aMat !== aLoaded, newB = bMat !== bLoaded; // a broadcast operand is packed once
    if (newA) params[0] = place.a(aMat);
    if (newB) params[1] = place.b(bMat);
    aLoaded = aMat;
    bLoaded = bMat;
    const cAt = params[4] = direct !== null ? direct(t) : cOff;
    if (h !== null && split !== null) {
      runShared(h, ex, variant, params, split, newA, newB, c.counters);
    } else {
      if (newA) ex.packAPart(params[0], aPack, m, k, mPad, kb, 0, mPad, transA);
      if (newB) ex.packBPart(params[1], bPack, n, k, nPad, kb, 0, nPad, transB);
      ex.computePart(aPack, bPack, cAt, ldc, k, mPad, nPad, kb, 0, mPad, 0, nPad);
    }
    if (direct === null) place.take(t, cOff, ldc);
  }
}

/**
 * Batched float32 matrix product in WebAssembly SIMD, with the geometry of
 * `Backend.matmul`: `out[t] = a[aMat(t)] · b[bMat(t)]`, batch strides counted
 * in whole matrices. On success `out` (`batch · m · n` elements) is fully
 * written; `a` and `b` are only read. Results differ from a sequential sum
 * by rounding only (fused multiply-adds in `"relaxed"`, blocked summation),
 * and do not depend on the number of threads (each element of C is summed
 * in the same order either way).
 *
 * Products of at least {@link WASM_GEMM_THREADS_MIN_WORK} multiply-adds per
 * matrix use two threads where the runtime allows (shared WebAssembly
 * memory, `node:worker_threads`, and `Atomics.wait` on the calling thread:
 * Deno 2, Node ≥ 22.3, Bun): a worker started on first use, on the same
 * memory, takes tasks of each product alongside the calling thread.
 *
 * @param a The left operands, row-major `m × k` matrices (`k × m` with
 *   `spec.transA`: their transposes are used).
 * @param b The right operands, row-major `k × n` matrices (`n × k` with
 *   `spec.transB`).
 * @param out Receives the row-major `m × n` products.
 * @param spec Batch shape, batch strides (in whole matrices), sizes, and
 *   whether `a` or `b` is stored transposed.
 * @param variant Which module to use; defaults to {@link wasmGemmVariant}.
 * @param threads 1 or 2 to force one thread or two (where available); by
 *   default two from {@link WASM_GEMM_THREADS_MIN_WORK} up.
 * @returns False, with `out` untouched, when the variant is unavailable or
 *   the linear memory the sizes need cannot be had (more than 2 GiB, or a
 *   failed grow); the caller then computes the product itself.
 */
export function wasmMatmulF32(
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  spec: MatmulSpec,
  variant: WasmGemmVariant | null = wasmGemmVariant(),
  threads?: number,
): boolean {
  if (variant === null || compiled(variant) === null) return false;
  const { m, k, n } = spec;
  const batch = batchSize(spec);
  if (batch * m * n === 0 || k === 0) {
    out.fill(0, 0, batch * m * n);
    return true;
  }
  const g = geometry(spec);
  // Layout (float offsets): raw A, raw B, then the scratch: packed A, packed
  // B, C (mPad × nPad from a cache-line boundary, row stride ldc ≤ ldcMax).
  const aRaw = 0, bRaw = aRaw + m * k, scratch = bRaw + k * n;
  const { cOff } = scratchLayout(scratch, g);
  let split = wasmGemmUsesTwoThreads(m, k, n, threads) ? splitOf(m, n, g.mPad, g.nPad) : null;
  const available = (): boolean => threadsAvailable(variant);
  const shared = split !== null &&
    wantsWorker(ctx?.helper, moduleCounters, m * k * n, batch, threads, available);
  const got = instance(variant, 4 * (cOff + g.mPad * g.ldcMax), shared);
  if (got === null) return false;
  const [c, ex] = got;
  if (!shared || !c.shared) split = null;
  const heap = new Float32Array(c.memory.buffer);
  runBatch(c, ex, variant, g, batchMatrices(spec), split, threads, scratch, {
    a: (aMat) => {
      heap.set(a.subarray(aMat * m * k, (aMat + 1) * m * k), aRaw);
      return aRaw;
    },
    b: (bMat) => {
      heap.set(b.subarray(bMat * k * n, (bMat + 1) * k * n), bRaw);
      return bRaw;
    },
    out: null,
    take: (t, cAt, ldc) => {
      const o = t * m * n;
      if (n === ldc) out.set(heap.subarray(cAt, cAt + m * n), o);
      else {
        for (let r = 0; r < m; r++) {
          out.set(heap.subarray(cAt + r * ldc, cAt + r * ldc + n), o + r * n);
        }
      }
    },
  });
  retainOrRelease(c);
  return true;
}

/** A GEMM bound to an existing linear memory (shared or not), with its own worker when shared. */
export interface GemmOnMemory {
  /** The variant in use. */
  readonly variant: WasmGemmVariant;
  /**
   * Bytes of scratch {@link GemmOnMemory.matmul} needs for `spec`: packed A,
   * packed B and, unless C can be computed straight into `out` (`m` a
   * multiple of 4 and `n` of the padded row length), a padded C.
   *
   * @param spec Batch shape, batch strides and sizes, as for `matmul`.
   * @param threads The `threads` that `matmul` will be given: 1 needs no
   *   more than one thread does; undefined or 2 covers either.
   * @returns A byte count (0 for an empty product or `k = 0`).
   */
  scratchBytes(spec: MatmulSpec, threads?: number): number;
  /**
   * `out[t] = A[aMat(t)] · B[bMat(t)]` for the batch geometry of `spec`
   * (batch strides in whole matrices, as `Backend.matmul`), in place: A and
   * B are packed straight from where they lie, C is computed into `out`
   * when it needs no padding, else into the scratch and copied into `out`
   * within the memory. Bitwise identical to {@link wasmMatmulF32} with the
   * same variant, on one thread or two. Writes nothing outside `out` and
   * the scratch; `out` must not overlap `a`, `b` or the scratch.
   *
   * @param a Byte address of A's matrices (row-major `m × k`, or `k × m`
   *   with `spec.transA`; contiguous).
   * @param b Byte address of B's matrices (row-major `k × n`, or `n × k`
   *   with `spec.transB`; contiguous).
   * @param out Byte address that receives the `batch · m · n` floats of the products.
   * @param spec Batch shape, batch strides (in whole matrices), sizes, and
   *   whether `a` or `b` is stored transposed.
   * @param scratch Byte address of `scratchBytes(spec, threads)` free bytes.
   * @param threads 1 or 2 to force one thread or two (where available); by
   *   default as {@link wasmMatmulF32} (two from {@link WASM_GEMM_THREADS_MIN_WORK}
   *   up, the worker started once enough work asked for it).
   *   Addresses are multiples of 4 (16 is fastest); all lie in the memory's
   *   current buffer (else a `RangeError`; the memory is never grown).
   */
  matmul(
    a: number,
    b: number,
    out: number,
    spec: MatmulSpec,
    scratch: number,
    threads?: number,
  ): void;
  /**
   * Starts the worker (if the memory is shared and threads are available)
   * and resolves once it waits for jobs.
   *
   * @returns Whether the worker is ready.
   */
  threadsReady(): Promise<boolean>;
  /**
   * The counters of this memory's two-thread path.
   *
   * @returns Availability, readiness and counters.
   */
  stats(): WasmGemmThreadStats;
}

/** Tells the worker of a collected {@link GemmOnMemory} to end, so its memory can be collected. */
const orphans = new FinalizationRegistry<Context>((c) => release(c));

/** Floats of scratch a product of geometry `g` needs (see {@link GemmOnMemory.scratchBytes}). */
function scratchFloats(g: Geometry, threads: number | undefined): number {
  /** C's floats with row stride `ldc`: none when it is computed into `out`. */
  const cFloats = (ldc: number): number =>
    g.m === g.mPad && g.n === ldc ? 0 : LINE - 1 + g.mPad * ldc;
  let cf = cFloats(g.nPad);
  if (threads !== 1 && splitOf(g.m, g.n, g.mPad, g.nPad) === "columns") {
    cf = Math.max(cf, cFloats(g.ldcMax));
  }
  return g.mPad * g.k + g.k * g.nPad + cf;
}

/**
 * A GEMM over an existing linear memory whose operands already live there
 * (e.g. a backend's arena): products read A and B in place and write C
 * into the memory, with no copies through JavaScript. The memory stays the
 * caller's: it is never grown nor released, and its buffer is re-read on
 * every call (so the caller may grow it between calls). On a shared memory
 * a worker of its own (unref'd: it never keeps the process alive; told to
 * end once the returned object is collected) joins big products, started
 * lazily as for {@link wasmMatmulF32}.
 *
 * @example
 * ```ts
 * import { gemmOnMemory } from "./gemm.ts";
 *
 * const memory = new WebAssembly.Memory({ initial: 1, maximum: 32768, shared: true });
 * const gemm = gemmOnMemory(memory, { shared: true });
 * if (gemm !== null) {
 *   const spec = { batchShape: [], aBatchStrides: [], bBatchStrides: [], m: 2, k: 2, n: 2 };
 *   const heap = new Float32Array(memory.buffer);
 *   heap.set([1, 2, 3, 4], 0); // A at byte 0
 *   heap.set([5, 6, 7, 8], 4); // B at byte 16
 *   gemm.matmul(0, 16, 32, spec, 48); // C at byte 32, scratch from byte 48
 *   const c = new Float32Array(memory.buffer, 32, 4);
 *   if (c.join() !== "19,22,43,50") throw new Error(`got ${c}`);
 * }
 * ```
 *
 * @param memory The linear memory (at most 2 GiB when shared: a declared
 *   maximum of at most 32768 pages).
 * @param opts `shared`: whether `memory` is a shared one (it must match);
 *   `variant`: the module to use, by default {@link wasmGemmVariant}.
 * @returns The GEMM, or null where the variant is unavailable or the
 *   module cannot be instantiated on `memory` (`shared` does not match, or
 *   a shared memory's maximum is above 2 GiB).
 */
export function gemmOnMemory(
  memory: WebAssembly.Memory,
  opts: { shared: boolean; variant?: WasmGemmVariant },
): GemmOnMemory | null {
  const variant = opts.variant ?? wasmGemmVariant();
  if (variant === null) return null;
  const isShared = typeof SharedArrayBuffer === "function" &&
    memory.buffer instanceof SharedArrayBuffer;
  if (isShared !== opts.shared) return null;
  const mod = compiled(variant, opts.shared);
  if (mod === null) return null;
  let ex: GemmExports;
  try {
    ex = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as GemmExports;
  } catch {
    return null; // e.g. a shared memory with a maximum above 2 GiB
  }
  const c: Context = {
    memory,
    shared: opts.shared,
    instances: new Map([[variant, ex]]),
    helper: undefined,
    lastUse: 0,
    releasing: false,
    counters: { wantedWork: 0, jobs: 0, workers: 0 },
  };
  const scratchBytes = (spec: MatmulSpec, threads?: number): number => {
    const { m, k, n } = spec;
    if (batchSize(spec) * m * n === 0 || k === 0) return 0;
    return 4 * scratchFloats(geometry(spec), threads);
  };
  const matmul = (
    a: number,
    b: number,
    out: number,
    spec: MatmulSpec,
    scratch: number,
    threads?: number,
  ): void => {
    const { m, k, n } = spec;
    const batch = batchSize(spec), limit = memory.buffer.byteLength;
    const check = (what: string, at: number, bytes: number): void => {
      const where = `gemmOnMemory().matmul(): ${what} at byte ${at}`;
      if (!Number.isInteger(at) || at < 0 || at % 4 !== 0) {
        throw new RangeError(`${where}: expected a non-negative multiple of 4`);
      }
      if (at + bytes > limit) {
        throw new RangeError(
          `${where}: its ${bytes} bytes end past the memory's ${limit} (grow the memory first)`,
        );
      }
    };
    check("out", out, 4 * batch * m * n);
    if (batch * m * n === 0 || k === 0) {
      new Float32Array(memory.buffer, out, batch * m * n).fill(0);
      return;
    }
    const mats = batchMatrices(spec);
    let aMats = 0, bMats = 0;
    for (let t = 0; t < batch; t++) {
      aMats = Math.max(aMats, mats[2 * t] + 1);
      bMats = Math.max(bMats, mats[2 * t + 1] + 1);
    }
    // A transposed matrix has the same size: m·k (k·n) floats, as stored.
    check("a", a, 4 * aMats * m * k);
    check("b", b, 4 * bMats * k * n);
    check("scratch", scratch, scratchBytes(spec, threads));
    const g = geometry(spec);
    const cut = wasmGemmUsesTwoThreads(m, k, n, threads) ? splitOf(m, n, g.mPad, g.nPad) : null;
    const available = (): boolean => workerThreads() !== null;
    const split = cut !== null && c.shared &&
        wantsWorker(c.helper, c.counters, m * k * n, batch, threads, available)
      ? cut
      : null;
    runBatch(c, ex, variant, g, mats, split, threads, scratch / 4, {
      a: (aMat) => a / 4 + aMat * m * k,
      b: (bMat) => b / 4 + bMat * k * n,
      out: (t) => out / 4 + t * m * n,
      take: (t, cAt, ldc) => ex.copyRows(cAt, ldc, out / 4 + t * m * n, n, m, n),
    });
  };
  const gemm: GemmOnMemory = {
    variant,
    scratchBytes,
    matmul,
    threadsReady: (): Promise<boolean> =>
      Promise.resolve(c.shared && workerThreads() !== null ? ready(helper(c)) : false),
    stats: (): WasmGemmThreadStats => statsOf(c, c.counters),
  };
  orphans.register(gemm, c);
  return gemm;
}
