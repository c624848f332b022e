/**
 * The GEMM's WebAssembly module, written on the typed assembler
 * (`../asm/mod.ts`): the micro-kernel, the macro-kernel, the packing
 * functions and the three "part" functions the driver calls, with named
 * locals and calls by handle.
 *
 * Structure (the usual packed, cache-blocked GEMM): A is packed into panels
 * of `MR` rows (`kc × MR`, element `(p, r)` at `p·MR + r`), B into panels of
 * `NR` columns (`kc × NR`), zero-padded at the edges. An operand stored
 * transposed (A as `k × m`, B as `n × k`) is packed straight from that
 * layout into the same panels, so the product is bitwise that of the
 * materialised transpose. The micro-kernel keeps an `MR × NR` tile of C in
 * `v128` locals, and per step of `k` loads `MR` splatted values of A and
 * `NR / 4` vectors of B and does `MR · NR / 4` multiply-adds. The k axis is
 * split into equal blocks of at most `KC` and the rows into blocks of `MC`,
 * so a block of packed A stays in L2 and a micro-panel of B in L1.
 *
 * Two variants are built from the same code: `"relaxed"` uses
 * `f32x4.relaxed_madd` (a fused multiply-add where the hardware has one) and
 * `"simd"` uses `f32x4.mul` + `f32x4.add`. Which ones the runtime can run is
 * decided by the assembler's feature probe (`wasmFeatures`); a module that
 * then fails to validate is a bug and throws. Every address computed in the
 * module is an unsigned `i32` (offsets are counted in floats, below 2³⁰, and
 * turned into bytes only in the module), so any address of a 32-bit memory
 * works.
 *
 * @module
 */

import { I32, type Local, V128, wasmFeatures, type WasmFunction, WasmModule } from "../asm/mod.ts";
import {
  blockDepth,
  bump,
  copyRows,
  decl,
  packA4,
  packAT,
  packB,
  packRows,
  pushMin,
  pushOffset,
} from "./pack.ts";
import { MAX_PAGES, MC, MR, NR, NV, SPLAT, UNROLL, type WasmGemmVariant } from "./tiling.ts";

/** The module's functions, declared in index order (so the bytes do not depend on body order). */
interface Funcs {
  readonly kernel: WasmFunction;
  readonly macro: WasmFunction;
  readonly packA: WasmFunction;
  readonly packB: WasmFunction;
  readonly packAT: WasmFunction;
  readonly packBT: WasmFunction;
  readonly packAPart: WasmFunction;
  readonly packBPart: WasmFunction;
  readonly computePart: WasmFunction;
  readonly packA4: WasmFunction;
  readonly copyRows: WasmFunction;
}

/**
 * `kernel(ap, bp, c, ldc, kc, first)`: the `MR × NR` tile at `c` (row stride
 * `ldc` bytes) becomes (`first`) or gets added `Σ_p A[p, :] ⊗ B[p, :]` over
 * the packed panels at `ap` and `bp`.
 */
function kernel(f: WasmFunction, fma: boolean): void {
  const { ap, bp, c, ldc, kc, first } = f.args;
  const acc: Local[][] = [];
  for (let r = 0; r < MR; r++) {
    acc.push(Array.from({ length: NV }, (_, v) => f.local(`acc${r}_${v}`, V128)));
  }
  const a = f.local("a", V128);
  const b = Array.from({ length: NV }, (_, v) => f.local(`b${v}`, V128));
  const tmp = f.local("tmp", V128), crow = f.local("crow", I32);
  /** One step of k at `u` steps past the pointers. */
  const step = (u: number): void => {
    for (let v = 0; v < NV; v++) f.get(bp).v128Load((u * NR + v * 4) * 4).set(b[v]);
    if (SPLAT === "shuffle") f.get(ap).v128Load(u * MR * 4).set(a);
    for (let r = 0; r < MR; r++) {
      if (SPLAT === "shuffle") f.get(a).get(a).splatLane32(r).set(tmp);
      else f.get(ap).v128Load32Splat((u * MR + r) * 4).set(tmp);
      for (let v = 0; v < NV; v++) {
        if (fma) f.get(tmp).get(b[v]).get(acc[r][v]).op("f32x4.relaxed_madd");
        else f.get(acc[r][v]).get(tmp).get(b[v]).op("f32x4.mul").op("f32x4.add");
        f.set(acc[r][v]);
      }
    }
  };
  const advance = (steps: number): void => {
    bump(f, ap, steps * MR * 4);
    bump(f, bp, steps * NR * 4);
    f.get(kc).i32(steps).op("i32.sub").set(kc);
  };
  // while (kc >= UNROLL) { UNROLL steps }
  f.loopUntil(() => void f.get(kc).i32(UNROLL).op("i32.lt_u"), () => {
    for (let u = 0; u < UNROLL; u++) step(u);
    advance(UNROLL);
  });
  // while (kc > 0) { one step }
  f.loopUntil(() => void f.get(kc).op("i32.eqz"), () => {
    step(0);
    advance(1);
  });
  // Store (first block of k) or accumulate into C.
  const storeTile = (add: boolean): void => {
    f.get(c).set(crow);
    for (let r = 0; r < MR; r++) {
      for (let v = 0; v < NV; v++) {
        f.get(crow);
        if (add) f.get(crow).v128Load(v * 16).get(acc[r][v]).op("f32x4.add");
        else f.get(acc[r][v]);
        f.v128Store(v * 16);
      }
      if (r < MR - 1) f.get(crow).get(ldc).op("i32.add").set(crow);
    }
  };
  f.get(first).if(() => storeTile(false), () => storeTile(true));
}

/**
 * `macro(ap, bp, c, ldc, mc, np, kc, first)`: `C[0:mc, 0:np] (=|+=) Ap · Bp`
 * for a block of packed A (`mc / MR` panels) and of packed B (`np / NR`
 * panels), each panel `kc` deep, one micro-kernel call per tile.
 */
function macro(f: WasmFunction, fn: Funcs): void {
  const { ap, bp, c, ldc, mc, np, kc, first } = f.args;
  const { j, i, api, ci, cj } = f.locals(decl(["j", "i", "api", "ci", "cj"]));
  f.get(c).set(cj);
  f.forLoop(j, { to: np, step: NR }, () => {
    f.i32(0).set(i).get(ap).set(api).get(cj).set(ci);
    f.forLoop(i, { to: mc, step: MR }, () => {
      f.get(api).get(bp).get(ci).get(ldc).get(kc).get(first).call(fn.kernel);
      f.get(api).get(kc).i32(MR * 4).op("i32.mul").op("i32.add").set(api);
      f.get(ci).get(ldc).i32(MR).op("i32.mul").op("i32.add").set(ci);
    });
    f.get(bp).get(kc).i32(NR * 4).op("i32.mul").op("i32.add").set(bp);
    bump(f, cj, NR * 4);
  });
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
 * The body of both part functions, `(raw, pack, size, k, pad, kb, lo, hi,
 * trans)`: for each block of `k`, packs panels `lo … hi - 1` of an operand
 * whose panels run along `size` (A's rows, B's columns). Stored so that a
 * panel's elements are a row's run (`lo` of it from `raw + lo·k + pc`, row
 * stride `k`), the operand goes to `byRows(src, ld, real, span, kc, dst)`;
 * stored so that they are a depth row's run (from `raw + pc·size + lo`, row
 * stride `size`), to `byDepth(src, ld, real, kc, dst)`. A is stored the
 * first way (`rowsWhenPlain`) unless transposed; B the other way round.
 *
 * `packAPart(aRaw, aPack, m, k, mPad, kb, r0, r1, transA)` packs rows
 * `r0 … r1 - 1` of A (row-major `m × k`, or with `transA` the transpose of
 * the row-major `k × m` there); `packBPart(bRaw, bPack, n, k, nPad, kb, c0,
 * c1, transB)` columns `c0 … c1 - 1` of B (row-major `k × n`, or with
 * `transB` the transpose of the row-major `n × k`). The packed panels are
 * the same either way.
 */
function packPart(
  f: WasmFunction,
  rowsWhenPlain: boolean,
  byRows: WasmFunction,
  byDepth: WasmFunction,
): void {
  const { raw, pack, size, k, pad, kb, lo, hi, trans } = f.args;
  const { pc, kc, real } = f.locals(decl(["pc", "kc", "real"]));
  const rows = (): void => {
    f.get(raw).get(lo).get(k).op("i32.mul").op("i32.add").get(pc).op("i32.add");
    f.i32(4).op("i32.mul");
    f.get(k).i32(4).op("i32.mul");
    f.get(real);
    f.get(hi).get(lo).op("i32.sub");
    f.get(kc);
    pushOffset(f, pack, pc, pad, lo, kc);
    f.call(byRows);
  };
  const depth = (): void => {
    f.get(raw).get(pc).get(size).op("i32.mul").op("i32.add").get(lo).op("i32.add");
    f.i32(4).op("i32.mul");
    f.get(size).i32(4).op("i32.mul");
    f.get(real);
    f.get(kc);
    pushOffset(f, pack, pc, pad, lo, kc);
    f.call(byDepth);
  };
  pushMin(f, size, hi).get(lo).op("i32.sub").set(real);
  f.forLoop(pc, { to: k, step: kb }, () => {
    blockDepth(f, kc, kb, k, pc);
    f.get(trans).if(rowsWhenPlain ? depth : rows, rowsWhenPlain ? rows : depth);
  });
}

/**
 * `computePart(aPack, bPack, cOff, ldc, k, mPad, nPad, kb, r0, r1, c0, c1)`:
 * rows `r0 … r1 - 1` and columns `c0 … c1 - 1` of the `mPad × nPad` C at
 * `cOff` (row stride `ldc` floats) become the product of the packed
 * operands: for each block of `k` in order (the first stores, the rest add),
 * the macro-kernel over blocks of `MC` rows. Every `MR × NR` tile of C sees
 * the same micro-kernel calls in the same order whatever the ranges, so any
 * split is bitwise identical to one call over everything.
 */
function computePart(f: WasmFunction, fn: Funcs): void {
  const { aPack, bPack, cOff, ldc, k, mPad, nPad, kb, r0, r1, c0, c1 } = f.args;
  const { pc, kc, ic, mc } = f.locals(decl(["pc", "kc", "ic", "mc"]));
  f.forLoop(pc, { to: k, step: kb }, () => {
    blockDepth(f, kc, kb, k, pc);
    f.forLoop(ic, { from: r0, to: r1, step: MC }, () => {
      f.get(r1).get(ic).op("i32.sub").set(mc);
      f.i32(MC).get(mc).i32(MC).get(mc).op("i32.lt_u").op("select").set(mc);
      // macro(ap, bp, c, ldc, mc, np, kc, first)
      pushOffset(f, aPack, pc, mPad, ic, kc);
      pushOffset(f, bPack, pc, nPad, c0, kc);
      f.get(cOff).get(ic).get(ldc).op("i32.mul").op("i32.add").get(c0).op("i32.add");
      f.i32(4).op("i32.mul");
      f.get(ldc).i32(4).op("i32.mul");
      f.get(mc);
      f.get(c1).get(c0).op("i32.sub");
      f.get(kc);
      f.get(pc).op("i32.eqz");
      f.call(fn.macro);
    });
  });
}

/** The module's exports, typed (offsets and sizes in floats). */
export interface GemmExports {
  /** See {@link packPart}. */
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
  /** See {@link packPart}. */
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
  /** See {@link computePart}. */
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
  /** See {@link copyRows}. */
  copyRows(
    src: number,
    srcStride: number,
    dst: number,
    dstStride: number,
    rows: number,
    cols: number,
  ): void;
}

/**
 * The assembled module of one variant (it imports `env.memory`).
 *
 * @param variant `"relaxed"` (FMA) or `"simd"` (mul + add).
 * @param shared Whether the imported memory is a shared one (maximum 2 GiB).
 * @returns The module, ready to build, compile or print.
 */
export function gemmModule(variant: WasmGemmVariant, shared = false): WasmModule {
  const memoryImport = shared
    ? { module: "env", field: "memory", minPages: 1, maxPages: MAX_PAGES, shared: true }
    : { module: "env", field: "memory", minPages: 1 };
  const mod = new WasmModule({ memoryImport });
  const rows = decl(["src", "ld", "m", "mPad", "kc", "dst"]);
  const part = decl(["raw", "pack", "size", "k", "pad", "kb", "lo", "hi", "trans"]);
  // Declared in index order; the bodies below may call any of them.
  const fn: Funcs = {
    kernel: mod.func("kernel", { params: decl(["ap", "bp", "c", "ldc", "kc", "first"]) }),
    macro: mod.func("macro", {
      params: decl(["ap", "bp", "c", "ldc", "mc", "np", "kc", "first"]),
    }),
    packA: mod.func("packA", { params: rows }),
    packB: mod.func("packB", { params: decl(["src", "ldb", "n", "kc", "dst"]) }),
    packAT: mod.func("packAT", { params: decl(["src", "lda", "m", "kc", "dst"]) }),
    packBT: mod.func("packBT", { params: rows }),
    packAPart: mod.func("packAPart", { params: part, export: true }),
    packBPart: mod.func("packBPart", { params: part, export: true }),
    computePart: mod.func("computePart", {
      params: decl([
        "aPack",
        "bPack",
        "cOff",
        "ldc",
        "k",
        "mPad",
        "nPad",
        "kb",
        "r0",
        "r1",
        "c0",
        "c1",
      ]),
      export: true,
    }),
    packA4: mod.func("packA4", { params: rows }),
    copyRows: mod.func("copyRows", {
      params: decl(["src", "ls", "dst", "ld", "rows", "cols"]),
      export: true,
    }),
  };
  kernel(fn.kernel, variant === "relaxed");
  macro(fn.macro, fn);
  packRows(fn.packA, MR);
  packB(fn.packB);
  packAT(fn.packAT);
  packRows(fn.packBT, NR);
  // A: packA4 (packRows(MR) four rows at a time) unless stored transposed; B the other way.
  packPart(fn.packAPart, true, fn.packA4, fn.packAT);
  packPart(fn.packBPart, false, fn.packBT, fn.packB);
  computePart(fn.computePart, fn);
  packA4(fn.packA4, fn.packA);
  copyRows(fn.copyRows);
  return mod;
}

/**
 * The binary of one variant's module (it imports `env.memory`).
 *
 * @example
 * ```ts
 * import { gemmModuleBytes } from "./module.ts";
 *
 * if (!WebAssembly.validate(gemmModuleBytes("simd"))) throw new Error("invalid");
 * ```
 *
 * @param variant `"relaxed"` (FMA) or `"simd"` (mul + add).
 * @param shared Whether the imported memory is a shared one (threads
 *   proposal: limits flags `0x03`, maximum 2 GiB), as the two-thread path
 *   uses; default `false`.
 * @returns The module bytes.
 */
export function gemmModuleBytes(variant: WasmGemmVariant, shared = false): Uint8Array<ArrayBuffer> {
  return gemmModule(variant, shared).build();
}

const compiledModules = new Map<string, WebAssembly.Module | null>();

/**
 * A variant's compiled module, on first use; null where the runtime lacks a
 * feature it needs (SIMD, relaxed SIMD for `"relaxed"`, shared memory for
 * `shared`), as the assembler's probe finds. A module that fails to compile
 * otherwise throws (an `AsmError`): that is a bug, never a silent fallback.
 *
 * @param variant The variant.
 * @param shared Whether it imports a shared memory.
 * @returns The module, or null.
 */
export function compiledGemm(variant: WasmGemmVariant, shared = false): WebAssembly.Module | null {
  const key = `${variant}:${shared}`;
  let mod = compiledModules.get(key);
  if (mod === undefined) {
    const f = wasmFeatures();
    const runs = f.simd && (variant === "simd" || f.relaxedSimd) && (!shared || f.sharedMemory);
    mod = runs ? gemmModule(variant, shared).compile() : null;
    compiledModules.set(key, mod);
  }
  return mod;
}

let best: WasmGemmVariant | null | undefined;

/**
 * The variant the `wasm` backend uses: `"relaxed"` where the runtime has
 * relaxed SIMD, else `"simd"`, else null (no WebAssembly SIMD at all).
 * Decided once, on the first call, which also compiles the module.
 *
 * @returns The best available variant, or null.
 */
export function wasmGemmVariant(): WasmGemmVariant | null {
  if (best === undefined) {
    best = compiledGemm("relaxed") !== null
      ? "relaxed"
      : compiledGemm("simd") !== null
      ? "simd"
      : null;
  }
  return best;
}
