/**
 * {@link gemmOnMemory}: the GEMM bound to a linear memory the caller owns
 * (e.g. a backend's arena), with the same modules, job loop and (own)
 * worker as `wasmMatmulF32`: A and B are packed from where they lie,
 * nothing is copied through JavaScript, the memory is never grown nor
 * released.
 *
 * @module
 */

import { batchMatrices } from "../../_geometry.ts";
import type { MatmulSpec } from "../../backend.ts";
import {
  type Context,
  helper,
  release,
  runBatch,
  statsOf,
  wantsWorker,
  type WasmGemmThreadStats,
} from "./driver.ts";
import {
  batchSize,
  type Geometry,
  geometry,
  LINE,
  splitOf,
  wasmGemmUsesTwoThreads,
} from "./geometry.ts";
import { compiledGemm, type GemmExports, wasmGemmVariant } from "./module.ts";
import type { WasmGemmVariant } from "./tiling.ts";
import { helperStarted, threadsSupported } from "./threads.ts";

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
   * within the memory. Bitwise identical to `wasmMatmulF32` with the
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
   *   default as `wasmMatmulF32` (two from `WASM_GEMM_THREADS_MIN_WORK`
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
 * lazily as for `wasmMatmulF32`.
 *
 * @example
 * ```ts
 * import { gemmOnMemory } from "./on_memory.ts";
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
  const mod = compiledGemm(variant, opts.shared);
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
  const matmul: GemmOnMemory["matmul"] = (a, b, out, spec, scratch, threads) => {
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
    const available = (): boolean => threadsSupported();
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
      c.shared && threadsSupported() ? helperStarted(helper(c)) : Promise.resolve(false),
    stats: (): WasmGemmThreadStats => statsOf(c, c.counters),
  };
  orphans.register(gemm, c);
  return gemm;
}
