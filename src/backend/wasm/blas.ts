/**
 * Native matrix products through Deno's FFI: the `wasm` backend's float32
 * and float64 products call `cblas_sgemm` / `cblas_dgemm` of a host BLAS
 * with pointers into its WebAssembly memory (no copies), and fall back to
 * the WebAssembly GEMM (`gemm/`) wherever no suitable library is found.
 *
 * **Finding a library, once per process, never prompting.** Nothing is
 * looked for unless the `ffi` permission is already granted (it is queried,
 * never requested; so is `env` for `GRADUS_BLAS`). `GRADUS_BLAS` selects a
 * library by path (only that one is tried) or turns the native path off
 * (`off`, `none`, `0`, `false`); otherwise the usual names are tried in
 * order: OpenBLAS (`libopenblas.so.0`, the ILP64 `libopenblas64_.so.0`, …),
 * MKL (`libmkl_rt.so.2`), BLIS (`libblis.so.4`), Apple's Accelerate, then
 * a generic `libblas.so.3` / `libcblas.so.3`. The first library that has
 * `cblas_sgemm` and passes the speed check is used.
 *
 * **The speed check.** The netlib reference BLAS (Debian's `libblas3`) is
 * about 10× slower than the WebAssembly GEMM, and a BLIS built without a
 * kernel for the CPU can be slower still; both pass every correctness test.
 * Every candidate first computes small products in every transpose
 * combination, float32 and float64, checked against a float64 loop (a
 * build that misdetects the CPU gives wrong numbers, not errors). Then
 * each candidate other than OpenBLAS, MKL and Accelerate (which are
 * trusted by name: their symbols identify them) times one 192 × 192 × 192
 * float32 product on one thread against the WebAssembly GEMM on the same
 * shape (best of three) and is skipped when it is not faster.
 * {@link blasInfo} says what was tried and why each was skipped.
 *
 * **Threads.** A library may use at most as many threads as the machine has
 * cores (`navigator.hardwareConcurrency`) and as the library's own setting
 * allows (`OPENBLAS_NUM_THREADS`, `MKL_NUM_THREADS`, …, read where the `env`
 * permission is granted; else the library's current setting); products under
 * {@link BLAS_THREADS_MIN_WORK} multiply-adds or with fewer than 200
 * columns run on one thread, where the others cost more than they save,
 * and so does every product of a backend made with `threads: false`.
 * Accelerate chooses its own.
 *
 * Results agree with the WebAssembly GEMM to float32 rounding (the order
 * of the sums differs); a library's own results do not depend on the call.
 *
 * @module
 */

import { batchMatrices } from "../_geometry.ts";
import type { MatmulSpec } from "../backend.ts";
import {
  baseOf,
  candidates,
  correct,
  NO_TRANS,
  open,
  type Opened,
  ROW_MAJOR,
  speedCheck,
  TRANS,
} from "./blas_library.ts";

/**
 * Which native BLAS the `wasm` backend's matrix products use, and why (see
 * {@linkcode blasInfo}).
 *
 * @example
 * ```ts
 * import { blasInfo, type BlasInfo } from "@gradus/core";
 *
 * const info: BlasInfo = blasInfo();
 * console.log(info.active ? `${info.vendor}: ${info.library}` : info.reason);
 * ```
 */
export interface BlasInfo {
  /** Whether products run in the native library (else in the WebAssembly GEMM). */
  readonly active: boolean;
  /** The library opened (a path or a name the loader resolved), or null. */
  readonly library: string | null;
  /** Who made it, from the symbols it exports (`"other"`: a generic CBLAS). */
  readonly vendor: "openblas" | "mkl" | "blis" | "accelerate" | "other" | null;
  /** The library's own description of itself where it has one (e.g. OpenBLAS's build config). */
  readonly version: string | null;
  /** Whether its integers are 64-bit (an ILP64 build such as `libopenblas64_`). */
  readonly ilp64: boolean;
  /** The most threads one product uses (0 when inactive). */
  readonly threads: number;
  /** Whether float64 products run natively too (the library has `cblas_dgemm`). */
  readonly float64: boolean;
  /** Why this path: the library and its measured speed, or why none is used. */
  readonly reason: string;
  /** Each library tried before, with why it was passed over. */
  readonly tried: readonly string[];
}

/**
 * Products under this many multiply-adds (`m·k·n` per matrix), or with
 * fewer than 200 columns, run on one of the library's threads; the others
 * on all of them. Measured on OpenBLAS 0.3.21 (2 cores, AVX-512): two
 * threads take 0.6–0.87× the time of one from 256³ on (1024³: 6.5 vs 10.7
 * ms), but 1.1–3× as long on the narrow products of training steps and
 * convolutions (100 × 784 × 100: 104 vs 92 µs; 57 600 × 25 × 30: 2.3 vs
 * 1.0 ms), where the library's threads split the work badly.
 *
 * @example
 * ```ts
 * import { BLAS_THREADS_MIN_WORK } from "@gradus/core";
 *
 * const [m, k, n] = [100, 784, 100]; // an MLP layer's product at batch 100
 * console.log(m * k * n < BLAS_THREADS_MIN_WORK ? "one thread" : "all of them");
 * ```
 */
export const BLAS_THREADS_MIN_WORK = 16 * 1024 * 1024;

/** See {@link BLAS_THREADS_MIN_WORK}. */
const BLAS_THREADS_MIN_COLUMNS = 200;

/** What a product in the native library needs. @internal */
export interface NativeGemm {
  /** What {@linkcode blasInfo} reports. */
  readonly info: BlasInfo;
  /**
   * `out = op(a) · op(b)` for every matrix of `spec`'s batch, all three given
   * as byte offsets into `memory`; `threads` 1 keeps it on one thread.
   */
  matmul(
    memory: WebAssembly.Memory,
    dtype: "float32" | "float64",
    a: number,
    b: number,
    out: number,
    spec: MatmulSpec,
    threads: number | undefined,
  ): void;
}

/** Whether the `ffi` (and, for `GRADUS_BLAS`, `env`) permission is granted; never prompts. */
function granted(desc: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(desc).state === "granted";
  } catch {
    return false;
  }
}

const OFF = new Set(["off", "none", "0", "false", "no"]);

function inactive(reason: string, tried: string[] = []): BlasInfo {
  return {
    active: false,
    library: null,
    vendor: null,
    version: null,
    ilp64: false,
    threads: 0,
    float64: false,
    reason,
    tried,
  };
}

/** Finds the library (see the module documentation). */
function detect(): { info: BlasInfo; lib: Opened | null } {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined || typeof deno.dlopen !== "function") {
    return { info: inactive("no FFI in this runtime (Deno.dlopen is missing)"), lib: null };
  }
  const env = granted({ name: "env", variable: "GRADUS_BLAS" })
    ? Deno.env.get("GRADUS_BLAS")?.trim()
    : undefined;
  if (env !== undefined && OFF.has(env.toLowerCase())) {
    return { info: inactive(`turned off by GRADUS_BLAS=${env}`), lib: null };
  }
  const names = env !== undefined && env !== "" && env.toLowerCase() !== "auto"
    ? [env]
    : candidates(Deno.build.os);
  if (!granted({ name: "ffi" }) && !(names.length === 1 && granted({ name: "ffi", path: env }))) {
    return {
      info: inactive(
        "the ffi permission is not granted: run with --allow-ffi to use a native BLAS " +
          "(products run in the WebAssembly GEMM)",
      ),
      lib: null,
    };
  }
  const tried: string[] = [];
  const cores = Math.max(1, navigator.hardwareConcurrency ?? 1);
  for (const name of names) {
    const lib = open(name);
    if (typeof lib === "string") {
      tried.push(lib);
      continue;
    }
    if (!correct(lib)) {
      tried.push(
        `${name} (${lib.vendor}): its products disagree with a float64 reference ` +
          "(a build that misdetects this CPU? OpenBLAS: try OPENBLAS_CORETYPE); skipped",
      );
      lib.lib.close();
      continue;
    }
    const known = lib.vendor === "openblas" || lib.vendor === "mkl" ||
      lib.vendor === "accelerate";
    const { native, wasm, agrees } = known
      ? { native: NaN, wasm: null, agrees: true }
      : speedCheck(lib);
    const speeds = known ? "an optimized BLAS" : `${native.toFixed(1)} GFLOP/s on one thread` +
      (wasm === null ? "" : ` (WebAssembly GEMM: ${wasm.toFixed(1)})`);
    if (!agrees) {
      tried.push(`${name}: its results differ from the WebAssembly GEMM's; skipped`);
      lib.lib.close();
      continue;
    }
    if (wasm !== null && native <= wasm) {
      tried.push(
        `${name} (${lib.vendor}): ${speeds}, not faster than WebAssembly` +
          (lib.vendor === "other" ? " (a reference BLAS?)" : "") + "; skipped",
      );
      lib.lib.close();
      continue;
    }
    // The library's own limit from its environment variables, as it read them at start-up: its
    // current setting may be what another Worker's one-thread product left (1 for good here).
    const own = envThreads(lib.vendor) ?? lib.ownThreads;
    const threads = lib.setThreads === null
      ? cores
      : Math.max(1, Math.min(cores, own > 0 ? own : cores));
    lib.setThreads?.(threads);
    return {
      info: {
        active: true,
        library: name,
        vendor: lib.vendor,
        version: lib.version,
        ilp64: lib.ilp64,
        threads,
        float64: lib.dgemm !== null,
        reason: `${name} (${lib.vendor}): ${speeds}`,
        tried,
      },
      lib,
    };
  }
  const what = env !== undefined && names.length === 1
    ? `the library GRADUS_BLAS names (${env}) cannot be used`
    : "no usable native BLAS was found";
  return {
    info: inactive(`${what}; products run in the WebAssembly GEMM (see tried)`, tried),
    lib: null,
  };
}

/** The variables a library reads its thread count from, first match wins. */
const THREAD_VARS: Readonly<Record<string, readonly string[]>> = {
  openblas: ["OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"],
  mkl: ["MKL_NUM_THREADS", "OMP_NUM_THREADS"],
  blis: ["BLIS_NUM_THREADS", "OMP_NUM_THREADS"],
};

/**
 * The thread count the environment gives `vendor`'s library: the first of
 * its variables that is a positive integer; 0 when none is (the library then
 * uses every core); null when the variables cannot be read (no `env`
 * permission, never prompted).
 */
function envThreads(vendor: string): number | null {
  const vars = THREAD_VARS[vendor];
  if (vars === undefined) return null;
  for (const name of vars) {
    if (!granted({ name: "env", variable: name })) return null;
    const v = Number.parseInt(Deno.env.get(name) ?? "", 10);
    if (Number.isInteger(v) && v > 0) return v;
  }
  return 0;
}

let found: NativeGemm | null | undefined;
let foundInfo: BlasInfo | undefined;

/**
 * The process's native BLAS, found on the first call (see the module
 * documentation), or null. @internal
 */
export function nativeGemm(): NativeGemm | null {
  if (found !== undefined) return found;
  const { info, lib } = detect();
  foundInfo = info;
  found = lib === null ? null : makeGemm(lib, info);
  return found;
}

function makeGemm(lib: Opened, info: BlasInfo): NativeGemm {
  let current = info.threads;
  return {
    info,
    matmul(memory, dtype, a, b, out, spec, threads) {
      const gemm = dtype === "float32" ? lib.sgemm : lib.dgemm;
      if (gemm === null) throw new Error(`matmul(): the native BLAS has no ${dtype} product`);
      const { k, n } = spec, bytes = dtype === "float32" ? 4 : 8;
      const mats = spec.batchShape.length === 0 ? null : batchMatrices(spec);
      // A stack of left matrices times one shared right matrix (`vmap` of a
      // layer): one product of all their rows.
      const fold = mats !== null && !spec.transA && foldable(mats);
      const m = fold ? spec.m * (mats!.length / 2) : spec.m;
      const many = m * k * n >= BLAS_THREADS_MIN_WORK && n >= BLAS_THREADS_MIN_COLUMNS;
      const want = threads === 1 || !many ? 1 : info.threads;
      // The setting is the process's: another Worker using the library may have changed it.
      if (lib.getThreads !== null) current = lib.getThreads();
      if (want !== current && lib.setThreads !== null) {
        lib.setThreads(want);
        current = want;
      }
      const ta = spec.transA ? TRANS : NO_TRANS, tb = spec.transB ? TRANS : NO_TRANS;
      const lda = spec.transA ? m : k, ldb = spec.transB ? k : n;
      const base = baseOf(memory);
      if (mats === null || fold) {
        gemm(ROW_MAJOR, ta, tb, m, n, k, 1, base + a, lda, base + b, ldb, 0, base + out, n);
        return;
      }
      const aMat = bytes * m * k, bMat = bytes * k * n;
      for (let t = 0, o = base + out; 2 * t < mats.length; t++, o += bytes * m * n) {
        const ap = base + a + mats[2 * t] * aMat, bp = base + b + mats[2 * t + 1] * bMat;
        gemm(ROW_MAJOR, ta, tb, m, n, k, 1, ap, lda, bp, ldb, 0, o, n);
      }
    },
  };
}

/** Whether batch `t` reads left matrix `t` and every batch the same right matrix. */
function foldable(mats: Int32Array): boolean {
  for (let t = 0; 2 * t < mats.length; t++) {
    if (mats[2 * t] !== t || mats[2 * t + 1] !== mats[1]) return false;
  }
  return true;
}

/**
 * Which native BLAS the `wasm` backend's matrix products use, and why.
 * The library is looked for on the first call (or the first product),
 * once per process, without ever prompting: it needs `--allow-ffi`;
 * `GRADUS_BLAS=/path/to/lib` picks one, `GRADUS_BLAS=off` turns the native
 * path off. Without one, products run in the WebAssembly GEMM and nothing
 * is printed.
 *
 * @returns What was found: the library, its vendor and threads, or why none is used.
 *
 * @example
 * ```ts
 * import { blasInfo } from "@gradus/core";
 *
 * const info = blasInfo();
 * // e.g. "libopenblas.so.0 (openblas): 171.3 GFLOP/s on one thread (WebAssembly GEMM: 41.2)"
 * // or "the ffi permission is not granted: run with --allow-ffi …"
 * console.log(info.reason);
 * ```
 */
export function blasInfo(): BlasInfo {
  nativeGemm();
  return foundInfo!;
}
