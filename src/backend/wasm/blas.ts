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
 * So each candidate other than OpenBLAS, MKL and Accelerate (which are
 * trusted by name: their symbols identify them) times one 192 × 192 × 192
 * float32 product on one thread against the WebAssembly GEMM on the same
 * shape (best of three) and is skipped when it is not faster.
 * {@link blasInfo} says what was tried and why each was skipped.
 *
 * **Threads.** A library may use at most as many threads as the machine has
 * cores (`navigator.hardwareConcurrency`) and as the library's own setting
 * allows (`OPENBLAS_NUM_THREADS`, `MKL_NUM_THREADS`, …); products under
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
import { gemmOnMemory } from "./gemm/mod.ts";

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

/** The side of the speed check's product. */
const PROBE = 192;

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

type Gemm = (
  order: number,
  transA: number,
  transB: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  beta: number,
  c: number,
  ldc: number,
) => void;

/** Row-major; no transpose; transpose (CBLAS's enum values). */
const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

/** The names tried, in order, where `GRADUS_BLAS` names none. */
function candidates(os: string): string[] {
  if (os === "darwin") {
    return [
      "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
      "/usr/local/opt/openblas/lib/libopenblas.dylib",
      "/System/Library/Frameworks/Accelerate.framework/Accelerate",
    ];
  }
  if (os === "windows") return ["libopenblas.dll", "openblas.dll", "mkl_rt.2.dll", "mkl_rt.dll"];
  return [
    "libopenblas.so.0",
    "libopenblas.so",
    "libopenblas64_.so.0",
    "libopenblas64_.so",
    "libmkl_rt.so.2",
    "libmkl_rt.so",
    "libblis.so.4",
    "libblis.so",
    "libblas.so.3",
    "libcblas.so.3",
  ];
}

function gemmSymbol(name: string, ilp64: boolean, float: "f32" | "f64"): Deno.ForeignFunction {
  const int = ilp64 ? "i64" : "i32";
  return {
    name,
    parameters: [
      "i32",
      "i32",
      "i32",
      int,
      int,
      int,
      float,
      "usize",
      int,
      "usize",
      int,
      float,
      "usize",
      int,
    ],
    result: "void",
    optional: true,
  };
}

/** Every symbol looked for; all optional (a missing one is null). */
const SYMBOLS = {
  sgemm: gemmSymbol("cblas_sgemm", false, "f32"),
  dgemm: gemmSymbol("cblas_dgemm", false, "f64"),
  sgemm64: gemmSymbol("cblas_sgemm64_", true, "f32"),
  dgemm64: gemmSymbol("cblas_dgemm64_", true, "f64"),
  openblasConfig: {
    name: "openblas_get_config",
    parameters: [],
    result: "pointer",
    optional: true,
  },
  openblasConfig64: {
    name: "openblas_get_config64_",
    parameters: [],
    result: "pointer",
    optional: true,
  },
  openblasGet: { name: "openblas_get_num_threads", parameters: [], result: "i32", optional: true },
  openblasGet64: {
    name: "openblas_get_num_threads64_",
    parameters: [],
    result: "i32",
    optional: true,
  },
  openblasSet: {
    name: "openblas_set_num_threads",
    parameters: ["i32"],
    result: "void",
    optional: true,
  },
  openblasSet64: {
    name: "openblas_set_num_threads64_",
    parameters: ["i32"],
    result: "void",
    optional: true,
  },
  mklVersion: {
    name: "MKL_Get_Version_String",
    parameters: ["buffer", "i32"],
    result: "void",
    optional: true,
  },
  mklGet: { name: "MKL_Get_Max_Threads", parameters: [], result: "i32", optional: true },
  mklSet: { name: "MKL_Set_Num_Threads", parameters: ["i32"], result: "void", optional: true },
  blisVersion: {
    name: "bli_info_get_version_str",
    parameters: [],
    result: "pointer",
    optional: true,
  },
  blisGet: { name: "bli_thread_get_num_threads", parameters: [], result: "i64", optional: true },
  blisSet: {
    name: "bli_thread_set_num_threads",
    parameters: ["i64"],
    result: "void",
    optional: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>;

/** A library that has `cblas_sgemm`, identified. */
interface Opened {
  readonly lib: Lib;
  readonly name: string;
  readonly vendor: NonNullable<BlasInfo["vendor"]>;
  readonly version: string | null;
  readonly ilp64: boolean;
  readonly sgemm: Gemm;
  readonly dgemm: Gemm | null;
  /** Sets the library's thread count (null: the library chooses). */
  readonly setThreads: ((n: number) => void) | null;
  /** The library's own thread setting (0: unknown). */
  readonly ownThreads: number;
}

function cString(p: Deno.PointerValue): string | null {
  return p === null ? null : new Deno.UnsafePointerView(p).getCString();
}

/** Opens `name` and finds out what it is; a string says why it cannot be used. */
function open(name: string): Opened | string {
  let lib: Lib;
  try {
    lib = Deno.dlopen(name, SYMBOLS);
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    return `${name}: cannot be opened (${msg})`;
  }
  const s = lib.symbols;
  const ilp64 = s.sgemm === null && s.sgemm64 !== null;
  const sgemm = (ilp64 ? s.sgemm64 : s.sgemm) as Gemm | null;
  if (sgemm === null) {
    lib.close();
    return `${name}: has no cblas_sgemm`;
  }
  const dgemm = (ilp64 ? s.dgemm64 : s.dgemm) as Gemm | null;
  const base = { lib, name, ilp64, sgemm, dgemm };
  const openblasConfig = s.openblasConfig ?? s.openblasConfig64;
  if (openblasConfig !== null) {
    const set = s.openblasSet ?? s.openblasSet64, get = s.openblasGet ?? s.openblasGet64;
    return {
      ...base,
      vendor: "openblas",
      version: cString(openblasConfig()),
      setThreads: set === null ? null : (n) => set(n),
      ownThreads: get === null ? 0 : get(),
    };
  }
  if (s.mklVersion !== null) {
    const buf = new Uint8Array(256);
    s.mklVersion(buf, buf.length);
    const end = buf.indexOf(0);
    const { mklSet, mklGet } = s;
    return {
      ...base,
      vendor: "mkl",
      version: new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end)).trim(),
      setThreads: mklSet === null ? null : (n) => mklSet(n),
      ownThreads: mklGet === null ? 0 : mklGet(),
    };
  }
  if (s.blisVersion !== null) {
    const { blisSet, blisGet } = s;
    const own = blisGet === null ? 0 : Number(blisGet());
    return {
      ...base,
      vendor: "blis",
      version: `BLIS ${cString(s.blisVersion())}`,
      setThreads: blisSet === null ? null : (n) => blisSet(BigInt(n)),
      ownThreads: own > 0 ? own : 0,
    };
  }
  const accelerate = name.includes("Accelerate");
  return {
    ...base,
    vendor: accelerate ? "accelerate" : "other",
    version: null,
    setThreads: null,
    ownThreads: 0,
  };
}

/** The address of byte 0 of `buffer` (cached per buffer: a grown memory has a new one). */
const bases = new WeakMap<ArrayBufferLike, number>();
function baseOf(memory: WebAssembly.Memory): number {
  const buffer = memory.buffer;
  let base = bases.get(buffer);
  if (base === undefined) {
    base = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(new Uint8Array(buffer))));
    bases.set(buffer, base);
  }
  return base;
}

/** Best of three timings of `f` (seconds), after one warm-up call. */
function bestOf3(f: () => void): number {
  f();
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    f();
    best = Math.min(best, performance.now() - t);
  }
  return best / 1000;
}

/**
 * Times `lib` and the WebAssembly GEMM on one `PROBE³` float32 product, one
 * thread each; returns GFLOP/s of both (the GEMM's null where WebAssembly
 * SIMD is missing) and whether the results agree.
 */
function speedCheck(lib: Opened): { native: number; wasm: number | null; agrees: boolean } {
  const n = PROBE, floats = n * n;
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true });
  const f32 = new Float32Array(memory.buffer);
  for (let i = 0; i < 2 * floats; i++) f32[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  const a = 0, b = 4 * floats, c1 = 8 * floats, c2 = 12 * floats;
  const spec: MatmulSpec = { batchShape: [], aBatchStrides: [], bBatchStrides: [], m: n, k: n, n };
  lib.setThreads?.(1);
  const base = baseOf(memory);
  const native = bestOf3(() =>
    lib.sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, 1, base + a, n, base + b, n, 0, base + c1, n)
  );
  const flops = 2 * n * n * n;
  const gemm = gemmOnMemory(memory, { shared: true });
  let wasm: number | null = null;
  let agrees = true;
  if (gemm !== null) {
    const scratch = 16 * floats;
    wasm = flops / bestOf3(() => gemm.matmul(a, b, c2, spec, scratch, 1)) / 1e9;
    const x = new Float32Array(memory.buffer, c1, floats);
    const y = new Float32Array(memory.buffer, c2, floats);
    for (let i = 0; i < floats && agrees; i++) {
      agrees = Math.abs(x[i] - y[i]) <= 1e-4 * (1 + Math.abs(y[i]));
    }
  }
  return { native: flops / native / 1e9, wasm, agrees };
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
    const threads = lib.setThreads === null
      ? cores
      : Math.max(1, Math.min(cores, lib.ownThreads > 0 ? lib.ownThreads : cores));
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
      const { m, k, n } = spec, bytes = dtype === "float32" ? 4 : 8;
      const many = m * k * n >= BLAS_THREADS_MIN_WORK && n >= BLAS_THREADS_MIN_COLUMNS;
      const want = threads === 1 || !many ? 1 : info.threads;
      if (want !== current && lib.setThreads !== null) {
        lib.setThreads(want);
        current = want;
      }
      const ta = spec.transA ? TRANS : NO_TRANS, tb = spec.transB ? TRANS : NO_TRANS;
      const lda = spec.transA ? m : k, ldb = spec.transB ? k : n;
      const base = baseOf(memory);
      if (spec.batchShape.length === 0) {
        gemm(ROW_MAJOR, ta, tb, m, n, k, 1, base + a, lda, base + b, ldb, 0, base + out, n);
        return;
      }
      const mats = batchMatrices(spec), aMat = bytes * m * k, bMat = bytes * k * n;
      for (let t = 0, o = base + out; 2 * t < mats.length; t++, o += bytes * m * n) {
        const ap = base + a + mats[2 * t] * aMat, bp = base + b + mats[2 * t + 1] * bMat;
        gemm(ROW_MAJOR, ta, tb, m, n, k, 1, ap, lda, bp, ldb, 0, o, n);
      }
    },
  };
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
