/**
 * The wasm backend's kernels, built and cached: elementwise and reduction
 * kernels come from the kernel IR (`../../ir/`), rendered by
 * `../../ir/render_wasm.ts` and `reduce.ts` on the typed assembler, one
 * small module per kernel, compiled once per process and per kernel key
 * (equal graphs built separately share a module) and instantiated once per
 * memory; `indexing.ts`'s gather, scatter-add and fill are one more module.
 *
 * The variant is chosen by the feature probe only: `"relaxed"`
 * (multiply-adds by `f32x4.relaxed_madd`) where relaxed SIMD exists, else
 * `"simd"` (a multiply and an add: bit-identical to the IR's JS renderer).
 * Without WebAssembly SIMD there are no kernels (the backend runs its CPU
 * loops). A module that fails to build or validate throws ({@linkcode
 * AsmError}): never a silent fallback.
 *
 * @module
 */

import type { ElementwiseKernel, ReduceKernel } from "../../ir/kernel.ts";
import { renderWasm } from "../../ir/render_wasm.ts";
import { type MemoryImport, wasmFeatures, WasmModule } from "../asm/mod.ts";
import { addIndexKernels, type IndexKernels } from "./indexing.ts";
import { LruMap } from "../../_lru.ts";
import { type ReduceLayout, type ReducePart, renderReduce } from "./reduce.ts";

/** Which instruction does the multiply-adds: relaxed-SIMD FMA or plain SIMD mul + add. */
export type KernelVariant = "relaxed" | "simd";

/**
 * An elementwise kernel over a `rows × cols` output: `(p₀, r₀, c₀, …, out,
 * rows, cols)` (see `render_wasm.ts`); pointers are byte addresses, `rₖ`
 * the row stride in elements, `cₖ ∈ {0, 1}` the column stride.
 */
export type ElementwiseCall = (...args: number[]) => void;

/** A reduction `(p₀, …, out, outer, n, inner)` (see `reduce.ts`). */
export type ReduceCall = (...args: number[]) => void;

/** Options of {@linkcode WasmKernels.create}. */
export interface WasmKernelsOptions {
  /** Whether the memory is shared (then with maximum `maxPages`). */
  readonly shared: boolean;
  /** The shared memory's maximum, in pages (unused otherwise). */
  readonly maxPages: number;
  /** Forces a variant (default: the feature probe's). */
  readonly variant?: KernelVariant;
}

/**
 * The most kernels kept compiled (per process, and instantiated per
 * memory): the most recently used; one evicted is built again if it comes
 * back (callers holding its function keep it alive meanwhile).
 */
const KEPT_KERNELS = 1024;

/** Compiled modules by variant, memory import and kernel key. */
const modules = new LruMap<string, WebAssembly.Module>(KEPT_KERNELS);

/** How many compiled modules the process keeps (at most `KEPT_KERNELS`). @internal */
export function compiledModules(): number {
  return modules.size;
}

/**
 * The kernels on one memory (see the module doc).
 *
 * @example
 * ```ts
 * import { WasmKernels } from "./module.ts";
 * import { binaryOpKernel } from "../../ir/ops.ts";
 *
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const k = WasmKernels.create(memory, { shared: false, maxPages: 0 })!;
 * const f = new Float32Array(memory.buffer);
 * f.set([1, 2, 3], 0);
 * f[4] = 10;
 * // a + b with b a broadcast scalar: one row of 3
 * k.elementwise(binaryOpKernel("add", "float32"))(0, 0, 1, 16, 0, 0, 32, 1, 3);
 * console.log(f.slice(8, 11)); // Float32Array(3) [ 11, 12, 13 ]
 * ```
 * @internal
 */
export class WasmKernels {
  /** The variant running. */
  readonly variant: KernelVariant;
  /** Gather, scatter-add and fill. */
  readonly index: IndexKernels;
  readonly #memory: WebAssembly.Memory;
  readonly #import: MemoryImport;
  readonly #calls = new LruMap<string, (...args: number[]) => void>(KEPT_KERNELS);

  private constructor(
    memory: WebAssembly.Memory,
    opts: WasmKernelsOptions,
    variant: KernelVariant,
  ) {
    this.variant = variant;
    this.#memory = memory;
    this.#import = opts.shared
      ? { module: "env", field: "memory", minPages: 0, maxPages: opts.maxPages, shared: true }
      : { module: "env", field: "memory", minPages: 0 };
    this.index = this.#instance("index", (mod) => addIndexKernels(mod)) as unknown as IndexKernels;
  }

  /**
   * The kernels on `memory`, or null without WebAssembly SIMD (or with a
   * forced `"relaxed"` variant the runtime lacks).
   *
   * @param memory The memory every pointer refers to.
   * @param opts Sharedness, maximum and an optional forced variant.
   * @returns The kernels, or null.
   */
  static create(memory: WebAssembly.Memory, opts: WasmKernelsOptions): WasmKernels | null {
    const f = wasmFeatures();
    if (!f.simd) return null;
    const variant = opts.variant ?? (f.relaxedSimd ? "relaxed" : "simd");
    if (variant === "relaxed" && !f.relaxedSimd) return null;
    return new WasmKernels(memory, opts, variant);
  }

  /** The exports of the module `build` fills, compiled once per process under `key`. */
  #instance(key: string, build: (mod: WasmModule) => void): WebAssembly.Exports {
    const imp = this.#import;
    const full = `${this.variant}|${imp.shared ? imp.maxPages : "-"}|${key}`;
    let compiled = modules.get(full);
    if (compiled === undefined) {
      const mod = new WasmModule({ memoryImport: imp });
      build(mod);
      compiled = mod.compile();
      modules.set(full, compiled);
    }
    return new WebAssembly.Instance(compiled, { env: { memory: this.#memory } }).exports;
  }

  /** The function `kernel` of the module `build` fills, cached by `key`. */
  #call(key: string, build: (mod: WasmModule) => void): (...args: number[]) => void {
    let f = this.#calls.get(key);
    if (f === undefined) {
      f = this.#instance(key, build).kernel as (...args: number[]) => void;
      this.#calls.set(key, f);
    }
    return f;
  }

  /**
   * The compiled elementwise kernel (see {@linkcode ElementwiseCall}).
   *
   * @param kernel The kernel spec (its key is the cache key).
   * @param columns Only the loop nest for these column strides (see `renderWasm`).
   * @returns The call.
   */
  elementwise(kernel: ElementwiseKernel, columns?: number): ElementwiseCall {
    const contractFma = this.variant === "relaxed";
    return this.#call(
      columns === undefined ? kernel.key : `${kernel.key}|c${columns}`,
      (mod) => renderWasm(mod, "kernel", kernel, { contractFma }, columns),
    );
  }

  /**
   * The compiled reduction (see {@linkcode ReduceCall}).
   *
   * @param kernel The kernel spec.
   * @param layouts Per operand, its layout.
   * @param part Only the rows' or the columns' code (see `renderReduce`); default both.
   * @returns The call.
   */
  reduce(kernel: ReduceKernel, layouts: readonly ReduceLayout[], part?: ReducePart): ReduceCall {
    const contractFma = this.variant === "relaxed";
    return this.#call(
      `${kernel.key}|${layouts.join(",")}|${part ?? "both"}`,
      (mod) => renderReduce(mod, "kernel", kernel, layouts, { contractFma }, part),
    );
  }
}
