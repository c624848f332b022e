/**
 * The GEMM's tile and block sizes and memory limits.
 *
 * Tuning, measured with Deno 2.9 on one core (AMD EPYC, 1024³, relaxed):
 * the 4×8 tile with A splatted by lane shuffles from one `v128` load gives
 * ~47 GFLOP/s; splat loads per row 42, 6×8 45, 5×8 43, 4×12 26 (it spills);
 * unrolling k by 1–8 and `MC` from 32 to 128 change < 3%; equal k blocks
 * instead of 256 + 256 + 272 lift `[128,784]@[784,500]` from 42 to 46.
 *
 * @module
 */

/** Which instruction does the multiply-adds: relaxed-SIMD FMA or plain SIMD mul + add. */
export type WasmGemmVariant = "relaxed" | "simd";

/** Variants by index, as the worker receives its modules. */
export const VARIANTS: readonly WasmGemmVariant[] = ["relaxed", "simd"];

/** Rows of the register tile (the A panel width). */
export const MR = 4;
/** Columns of the register tile (the B panel width), a multiple of 4. */
export const NR = 8;
/** Steps of `k` per iteration of the micro-kernel's main loop. */
export const UNROLL = 4;
/** Largest block of `k` (rows of a packed B panel); `k` is split into equal blocks up to this. */
export const KC = 512;
/** Block of rows of A per call of the macro-kernel, a multiple of `MR`. */
export const MC = 64;
/**
 * How the micro-kernel broadcasts A: one `v128` load + lane shuffles (needs
 * `MR = 4`), or a splat load per row.
 */
export const SPLAT: "shuffle" | "load" = "shuffle";

/** `v128` vectors per row of the register tile. */
export const NV: number = NR / 4;
/** Bytes per WebAssembly page. */
export const WASM_PAGE = 65536;
/** Linear memory larger than this is not attempted (the caller falls back to its own kernel). */
export const MAX_BYTES = 2 ** 31;
/** The most pages the linear memory may have: the declared maximum of the shared memory. */
export const MAX_PAGES: number = MAX_BYTES / WASM_PAGE;
