/**
 * A float32 GEMM in WebAssembly SIMD, emitted at run time by `emit.ts`.
 *
 * Structure (the usual packed, cache-blocked GEMM): both operands are copied
 * into one linear memory and packed; A into panels of `MR` rows (`kc × MR`,
 * element `(p, r)` at `p·MR + r`), B into panels of `NR` columns (`kc × NR`),
 * zero-padded at the edges. The micro-kernel keeps an `MR × NR` tile of C in
 * `v128` locals, and per step of `k` loads `MR` splatted values of A and
 * `NR / 4` vectors of B and does `MR · NR / 4` multiply-adds. The k axis is
 * split into equal blocks of at most `KC` and the rows into blocks of `MC`,
 * so a block of packed A stays in L2 and a micro-panel of B in L1. C is
 * written to a padded `mPad × nPad` scratch matrix and copied out. A
 * broadcast operand (batch stride 0) is copied and packed once.
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
 * @module
 */

import { batchMatrices } from "../../_geometry.ts";
import type { MatmulSpec } from "../../backend.ts";
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
    export: "macro",
  };
}

/**
 * `packA(src, lda, m, mPad, kc, dst)`: packs rows `0 … mPad - 1` (rows from
 * `m` on are zeros) and columns `0 … kc - 1` of the row-major matrix at `src`
 * (row stride `lda` bytes) into `mPad / MR` panels of `kc × MR` at `dst`.
 */
function packA(): FuncDef {
  const [src, lda, m, mPad, kc, dst] = [0, 1, 2, 3, 4, 5];
  const [row, p, s, d] = [6, 7, 8, 9];
  const code = new Code();
  code.block().loop(); // for (row = 0; row < mPad; row++)
  code.get(row).get(mPad).op("i32.ge_u").brIf(1);
  // d = dst + ((row / MR) · MR · kc + row % MR) · 4
  code.get(dst)
    .get(row).i32(MR).op("i32.div_u").get(kc).op("i32.mul").i32(MR).op("i32.mul")
    .get(row).i32(MR).op("i32.rem_u").op("i32.add")
    .i32(4).op("i32.mul").op("i32.add").set(d);
  code.get(src).get(row).get(lda).op("i32.mul").op("i32.add").set(s);
  code.get(kc).set(p);
  code.get(row).get(m).op("i32.lt_u").if();
  code.block().loop(); // for (p = kc; p > 0; p--) *d = *s
  code.get(p).op("i32.eqz").brIf(1);
  code.get(d).get(s).f32Load().f32Store();
  code.get(s).i32(4).op("i32.add").set(s);
  code.get(d).i32(MR * 4).op("i32.add").set(d);
  code.get(p).i32(1).op("i32.sub").set(p);
  code.br(0).end().end();
  code.else();
  code.block().loop(); // for (p = kc; p > 0; p--) *d = 0
  code.get(p).op("i32.eqz").brIf(1);
  code.get(d).f32(0).f32Store();
  code.get(d).i32(MR * 4).op("i32.add").set(d);
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
    export: "packA",
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
    export: "packB",
  };
}

/** The module's exports, typed. */
interface GemmExports {
  macro(
    ap: number,
    bp: number,
    c: number,
    ldc: number,
    mc: number,
    np: number,
    kc: number,
    first: number,
  ): void;
  packA(src: number, lda: number, m: number, mPad: number, kc: number, dst: number): void;
  packB(src: number, ldb: number, n: number, kc: number, dst: number): void;
}

/**
 * The binary of one variant's module (it imports `env.memory`).
 *
 * @param variant `"relaxed"` (FMA) or `"simd"` (mul + add).
 * @returns The module bytes.
 */
export function gemmModuleBytes(variant: WasmGemmVariant): Uint8Array<ArrayBuffer> {
  return buildModule([kernel(variant === "relaxed"), macro(), packA(), packB()], {
    memoryImport: { module: "env", field: "memory", minPages: 1 },
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

/** Linear memory larger than this is released after the call that needed it. */
const RETAIN_BYTES = 64 * 2 ** 20;

const modules = new Map<WasmGemmVariant, WebAssembly.Module | null>();
/** The linear memory shared by the instances, grown as needed. */
let memory: WebAssembly.Memory | undefined;
/** Instances over the current `memory`. */
const instances = new Map<WasmGemmVariant, GemmExports>();
let best: WasmGemmVariant | null | undefined;

/** A variant's compiled module, on first use; null where the runtime rejects it. */
function compiled(variant: WasmGemmVariant): WebAssembly.Module | null {
  let mod = modules.get(variant);
  if (mod === undefined) {
    mod = null;
    if (typeof WebAssembly === "object") {
      const bytes = gemmModuleBytes(variant);
      if (WebAssembly.validate(bytes)) mod = new WebAssembly.Module(bytes);
    }
    modules.set(variant, mod);
  }
  return mod;
}

/**
 * The instance of a compiled variant over a memory of at least `bytes`
 * bytes, or null when that memory cannot be had.
 */
function instance(
  mod: WebAssembly.Module,
  variant: WasmGemmVariant,
  bytes: number,
): GemmExports | null {
  if (bytes > MAX_BYTES) return null;
  try {
    if (memory === undefined) {
      memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / WASM_PAGE)) });
      instances.clear();
    } else if (memory.buffer.byteLength < bytes) {
      memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / WASM_PAGE));
    }
  } catch {
    return null; // out of memory: let the caller use its own kernel
  }
  let inst = instances.get(variant);
  if (inst === undefined) {
    inst = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as GemmExports;
    instances.set(variant, inst);
  }
  return inst;
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

/** Rounds `x` up to a multiple of `m`. */
function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}

/**
 * Batched float32 matrix product in WebAssembly SIMD, with the geometry of
 * `Backend.matmul`: `out[t] = a[aMat(t)] · b[bMat(t)]`, batch strides counted
 * in whole matrices. On success `out` (`batch · m · n` elements) is fully
 * written; `a` and `b` are only read. Results differ from a sequential sum
 * by rounding only (fused multiply-adds in `"relaxed"`, blocked summation).
 *
 * @param a The left operands, row-major `m × k` matrices.
 * @param b The right operands, row-major `k × n` matrices.
 * @param out Receives the row-major `m × n` products.
 * @param spec Batch shape, batch strides (in whole matrices) and sizes.
 * @param variant Which module to use; defaults to {@link wasmGemmVariant}.
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
): boolean {
  const mod = variant === null ? null : compiled(variant);
  if (mod === null || variant === null) return false;
  const { batchShape, m, k, n } = spec;
  let batch = 1;
  for (const d of batchShape) batch *= d;
  if (batch * m * n === 0 || k === 0) {
    out.fill(0, 0, batch * m * n);
    return true;
  }
  const mPad = roundUp(m, MR), nPad = roundUp(n, NR);
  // Layout (float offsets): raw A, raw B, packed A, packed B, C (mPad × nPad).
  const aRaw = 0, bRaw = aRaw + m * k, aPack = bRaw + k * n;
  const bPack = aPack + mPad * k, cOff = bPack + k * nPad;
  const inst = instance(mod, variant, 4 * (cOff + mPad * nPad));
  if (inst === null || memory === undefined) return false;
  const heap = new Float32Array(memory.buffer);
  const { macro, packA, packB } = inst;
  const kb = Math.ceil(k / Math.ceil(k / KC)); // every block of k but the last has kb rows
  const mats = batchMatrices(spec);
  let aLoaded = -1, bLoaded = -1;
  for (let t = 0; t < batch; t++) {
    const aMat = mats[2 * t], bMat = mats[2 * t + 1];
    if (aMat !== aLoaded) { // a broadcast operand is packed once
      heap.set(a.subarray(aMat * m * k, (aMat + 1) * m * k), aRaw);
      for (let pc = 0; pc < k; pc += kb) {
        packA(4 * (aRaw + pc), 4 * k, m, mPad, Math.min(kb, k - pc), 4 * (aPack + pc * mPad));
      }
      aLoaded = aMat;
    }
    if (bMat !== bLoaded) {
      heap.set(b.subarray(bMat * k * n, (bMat + 1) * k * n), bRaw);
      for (let pc = 0; pc < k; pc += kb) {
        packB(4 * (bRaw + pc * n), 4 * n, n, Math.min(kb, k - pc), 4 * (bPack + pc * nPad));
      }
      bLoaded = bMat;
    }
    for (let pc = 0; pc < k; pc += kb) {
      const kc = Math.min(kb, k - pc);
      for (let ic = 0; ic < mPad; ic += MC) {
        macro(
          4 * (aPack + pc * mPad + ic * kc),
          4 * (bPack + pc * nPad),
          4 * (cOff + ic * nPad),
          4 * nPad,
          Math.min(MC, mPad - ic),
          nPad,
          kc,
          pc === 0 ? 1 : 0,
        );
      }
    }
    const o = t * m * n;
    if (n === nPad) out.set(heap.subarray(cOff, cOff + m * n), o);
    else {
      for (let r = 0; r < m; r++) {
        out.set(heap.subarray(cOff + r * nPad, cOff + r * nPad + n), o + r * n);
      }
    }
  }
  if (memory.buffer.byteLength > RETAIN_BYTES) {
    memory = undefined; // let a one-off huge product's memory be collected
    instances.clear();
  }
  return true;
}
