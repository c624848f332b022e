/**
 * A float32 GEMM in WebAssembly SIMD, assembled at run time on the typed
 * assembler (`../asm/mod.ts`): the usual packed, cache-blocked GEMM with a
 * 4 × 8 register tile, relaxed-SIMD FMA where the runtime has it, and a
 * second thread (a worker on a shared memory) for big products.
 *
 * Files: `module.ts` (the WebAssembly functions: kernel, macro, parts),
 * `pack.ts` (packing and copying functions), `tiling.ts` (tile and block
 * sizes), `layout.ts` (the control block's named slots, shared by the
 * driver and the generated worker source), `threads.ts` (the worker, the
 * task runner), `geometry.ts` (sizes, scratch, how a product is cut),
 * `driver.ts` ({@link wasmMatmulF32}: operands copied into a module-level
 * memory), `on_memory.ts` ({@link gemmOnMemory}: operands already in the
 * caller's memory, e.g. the `wasm` backend's arena).
 *
 * Results differ from a sequential sum by rounding only (fused
 * multiply-adds in `"relaxed"`, blocked summation), and do not depend on
 * the number of threads.
 *
 * @example
 * ```ts
 * import { wasmMatmulF32 } from "./mod.ts";
 *
 * const spec = { batchShape: [], aBatchStrides: [], bBatchStrides: [], m: 2, k: 2, n: 2 };
 * const out = new Float32Array(4);
 * if (wasmMatmulF32(new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), out, spec)) {
 *   if (out.join() !== "19,22,43,50") throw new Error(`got ${out}`);
 * }
 * ```
 *
 * @module
 */

export {
  WASM_GEMM_MIN_WORK,
  wasmGemmThreadsReady,
  type WasmGemmThreadStats,
  wasmGemmThreadStats,
  wasmMatmulF32,
} from "./driver.ts";
export {
  WASM_GEMM_THREADS_MIN_WORK,
  WASM_GEMM_WAKE_MIN_WORK,
  wasmGemmUsesTwoThreads,
} from "./geometry.ts";
export { type GemmExports, gemmModule, gemmModuleBytes, wasmGemmVariant } from "./module.ts";
export { type GemmOnMemory, gemmOnMemory } from "./on_memory.ts";
export type { WasmGemmVariant } from "./tiling.ts";
