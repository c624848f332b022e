/**
 * The sizes of a GEMM product and how it is laid out and cut: padded sizes,
 * blocks of `k`, the scratch (packed A, packed B, padded C), and whether and
 * how two threads share it.
 *
 * @module
 */

import type { MatmulSpec } from "../../backend.ts";
import { KC, MR, NR } from "./tiling.ts";

/**
 * Products (per matrix of a batch) with at least this many multiply-adds
 * share the work with a second thread, where threads are available.
 */
export const WASM_GEMM_THREADS_MIN_WORK: number = 128 ** 3;

/**
 * A worker that has been idle long enough to block until notified is woken
 * (`Atomics.notify`) for products (per matrix) of at least this many
 * multiply-adds; smaller ones then run on the calling thread alone. Waking
 * costs the caller 10–30 µs and the worker joins 50–150 µs later, which
 * pays from about 192³ (measured: 192³ 190–230 µs on two threads against
 * 305–325 µs on one; 128³ gains nothing).
 */
export const WASM_GEMM_WAKE_MIN_WORK: number = 2 ** 22;

/** Floats per cache line: C's rows and the column strips of the two threads start on one. */
export const LINE = 16;

/** Rounds `x` up to a multiple of `m`. */
export function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}

/**
 * How C is cut among threads: `"columns"`, `"rows"`, or null where it is too
 * small to cut (one `MR × LINE` block).
 */
export function splitOf(
  m: number,
  n: number,
  mPad: number,
  nPad: number,
): "columns" | "rows" | null {
  if (nPad > LINE && (n >= m || mPad <= MR)) return "columns";
  return mPad > MR ? "rows" : null;
}

/**
 * Whether `wasmMatmulF32` (or `GemmOnMemory.matmul`) runs an
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

/** The sizes of one product, padded, and the depth of its blocks of `k`. */
export interface Geometry {
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
export function geometry(spec: MatmulSpec): Geometry {
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
export function scratchLayout(
  scratch: number,
  g: Geometry,
): { aPack: number; bPack: number; cOff: number } {
  const aPack = scratch, bPack = aPack + g.mPad * g.k;
  return { aPack, bPack, cOff: roundUp(bPack + g.k * g.nPad, LINE) };
}

/** Matrices in a batch of shape `batchShape`. */
export function batchSize(spec: MatmulSpec): number {
  let batch = 1;
  for (const d of spec.batchShape) batch *= d;
  return batch;
}
