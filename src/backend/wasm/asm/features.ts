/**
 * What this runtime's WebAssembly supports, found by validating tiny probe
 * modules once: fixed-width SIMD, relaxed SIMD, shared memory (threads).
 * Only these probes choose a module variant (e.g. the GEMM's `"simd"`
 * instead of `"relaxed"`); a full module that then fails to validate is an
 * assembler bug and throws.
 *
 * @module
 */

import { WasmModule } from "./module.ts";

/** The WebAssembly features that select a module variant. */
export interface WasmFeatures {
  /** `WebAssembly` exists at all. */
  readonly wasm: boolean;
  /** Fixed-width SIMD (`v128`, `f32x4.add`, …). */
  readonly simd: boolean;
  /** Relaxed SIMD (`f32x4.relaxed_madd`, …). */
  readonly relaxedSimd: boolean;
  /** Shared linear memory (the threads proposal). */
  readonly sharedMemory: boolean;
}

let cached: WasmFeatures | undefined;

/** Whether the module `build` makes validates (false if building itself throws). */
function validates(build: () => WasmModule): boolean {
  try {
    return WebAssembly.validate(build().build());
  } catch {
    return false;
  }
}

/**
 * The features of this runtime, probed once (each probe is a module of a
 * few bytes).
 *
 * @example
 * ```ts
 * import { wasmFeatures } from "./features.ts";
 *
 * const f = wasmFeatures();
 * if (f.relaxedSimd && !f.simd) throw new Error("relaxed SIMD builds on SIMD");
 * ```
 *
 * @returns The feature flags.
 */
export function wasmFeatures(): WasmFeatures {
  if (cached !== undefined) return cached;
  if (typeof WebAssembly !== "object") {
    return cached = { wasm: false, simd: false, relaxedSimd: false, sharedMemory: false };
  }
  const zero = new Uint8Array(16);
  const simd = validates(() => {
    const m = new WasmModule();
    m.func("probe", {}, (f) => f.v128Const(zero).v128Const(zero).op("f32x4.add").drop());
    return m;
  });
  const relaxedSimd = simd && validates(() => {
    const m = new WasmModule();
    m.func("probe", {}, (f) => {
      f.v128Const(zero).v128Const(zero).v128Const(zero).op("f32x4.relaxed_madd").drop();
    });
    return m;
  });
  const sharedMemory = validates(() => {
    const memoryImport = { module: "env", field: "memory", minPages: 1, maxPages: 1, shared: true };
    const m = new WasmModule({ memoryImport });
    m.func("probe", {}, (f) => f.i32(0).mem("i32.load").drop());
    return m;
  });
  return cached = { wasm: true, simd, relaxedSimd, sharedMemory };
}
