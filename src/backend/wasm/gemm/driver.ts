/**
 * The GEMM's drivers: {@link wasmMatmulF32} copies operands into a
 * module-level linear memory; the job loop ({@link runBatch}) that it and
 * `gemmOnMemory` (`on_memory.ts`) share runs each product of a batch on
 * one thread or, with the worker (`threads.ts`), two.
 *
 * Memory. {@link wasmMatmulF32} owns a module-level linear memory that it
 * grows as products need and drops after a product above 64 MiB (a shared
 * one once idle for a second). Products of at least
 * `WASM_GEMM_THREADS_MIN_WORK` multiply-adds per matrix use two threads
 * where the runtime allows. Measured on 2 vCPUs (AMD EPYC, Zen 4, KVM):
 * 1024³ ~95 GFLOP/s against ~49 on one thread, the MLP products ~80–86
 * against ~47; products below 128³ stay on one thread.
 *
 * @module
 */

import { batchMatrices } from "../../_geometry.ts";
import type { MatmulSpec } from "../../backend.ts";
import {
  batchSize,
  type Geometry,
  geometry,
  scratchLayout,
  splitOf,
  WASM_GEMM_WAKE_MIN_WORK,
  wasmGemmUsesTwoThreads,
} from "./geometry.ts";
import type { JobParams } from "./layout.ts";
import { compiledGemm, type GemmExports, wasmGemmVariant } from "./module.ts";
import { MAX_BYTES, MAX_PAGES, WASM_PAGE, type WasmGemmVariant } from "./tiling.ts";
import {
  type Helper,
  helperAlive,
  helperAsleep,
  helperReady,
  helperStarted,
  helperTasks,
  runShared,
  startHelper,
  stopHelper,
  threadsSupported,
} from "./threads.ts";

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

/**
 * What outlives one context: the module-level contexts (which come and go)
 * share one set, each memory of {@link gemmOnMemory} has its own.
 */
export interface Counters {
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
export interface Context {
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

/** The module-level context of {@link wasmMatmulF32} (its memory is ours: grown, released). */
let ctx: Context | undefined;
/** The counters of every module-level context. */
const moduleCounters: Counters = { wantedWork: 0, jobs: 0, workers: 0 };
/** Set when a shared memory could not be created. */
let sharedFailed = false;

/**
 * Whether the two-thread path can run here: `node:worker_threads` (see
 * `threadsSupported`), a shared memory and the shared module of `variant`.
 * The first call costs some 20 ms in Deno (its Node globals start lazily),
 * so it is only made once two threads are wanted.
 */
function threadsAvailable(variant: WasmGemmVariant): boolean {
  return !sharedFailed && threadsSupported() && compiledGemm(variant, true) !== null;
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
    const mod = compiledGemm(variant, ctx.shared);
    if (mod === null) return null;
    const imports = { env: { memory: ctx.memory } };
    inst = new WebAssembly.Instance(mod, imports).exports as unknown as GemmExports;
    ctx.instances.set(variant, inst);
  }
  return [ctx, inst];
}

/**
 * The worker of a shared-memory context, started on first use; null where
 * it cannot be started, or has ended or failed.
 */
export function helper(c: Context): Helper | null {
  if (c.helper === undefined) {
    c.helper = c.shared ? startHelper(c.memory, () => c.counters.workers--) : null;
    if (c.helper !== null) c.counters.workers++;
  }
  return c.helper !== null && helperAlive(c.helper) ? c.helper : null;
}

/** Drops the context (its memory is collected once the worker, told to quit, has ended). */
export function release(c: Context): void {
  if (c.helper) stopHelper(c.helper);
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
export function statsOf(c: Context | undefined, counters: Counters): WasmGemmThreadStats {
  const h = c?.helper;
  return {
    available: threadsSupported(),
    ready: h != null && helperReady(h),
    jobs: counters.jobs,
    workerTasks: h != null ? helperTasks(h) : 0,
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
  return helperStarted(got === null ? null : helper(got[0]));
}

/**
 * Whether a product (of `work` multiply-adds per matrix, `batch` matrices)
 * that could be cut goes to the worker of a context whose worker is now
 * `h`: always once one was started; else the work is counted and the
 * worker wanted when `threads` asks for it or enough work has asked, and
 * `available()` (called only then: its first call may cost some 20 ms).
 */
export function wantsWorker(
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
export interface Placement {
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
export function runBatch(
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
  if (h !== null && !wasmGemmUsesTwoThreads(m, k, n, threads, helperAsleep(h))) {
    h = null; // a blocked worker is not worth waking for this product
  }
  // Strips of columns shared by two threads start on cache lines in every
  // row; otherwise rows are packed (n = ldc copies out in one piece).
  const ldc = h !== null && split === "columns" ? g.ldcMax : nPad;
  const direct = place.out !== null && m === mPad && n === ldc ? place.out : null;
  const { aPack, bPack, cOff } = scratchLayout(scratch, g);
  const p: JobParams = {
    aRaw: 0,
    bRaw: 0,
    aPack,
    bPack,
    cOff,
    m,
    k,
    n,
    mPad,
    nPad,
    kb,
    ldc,
    transA,
    transB,
  };
  let aLoaded = -1, bLoaded = -1;
  for (let t = 0; t < mats.length / 2; t++) {
    const aMat = mats[2 * t], bMat = mats[2 * t + 1];
    const newA = aMat !== aLoaded, newB = bMat !== bLoaded; // a broadcast operand is packed once
    if (newA) p.aRaw = place.a(aMat);
    if (newB) p.bRaw = place.b(bMat);
    aLoaded = aMat;
    bLoaded = bMat;
    const cAt = p.cOff = direct !== null ? direct(t) : cOff;
    if (h !== null && split !== null) {
      runShared(h, ex, variant, p, split, newA, newB);
      c.counters.jobs++;
    } else {
      if (newA) ex.packAPart(p.aRaw, aPack, m, k, mPad, kb, 0, mPad, transA);
      if (newB) ex.packBPart(p.bRaw, bPack, n, k, nPad, kb, 0, nPad, transB);
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
  if (variant === null || compiledGemm(variant) === null) return false;
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
