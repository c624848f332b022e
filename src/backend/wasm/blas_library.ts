/**
 * Opening a host BLAS for `blas.ts`: the names tried per OS, the symbols
 * looked for (all optional: LP64 and ILP64 `cblas_?gemm`, and each vendor's
 * version and thread functions), identifying the vendor, and the two checks
 * a library passes before use: {@link correct} (small products in every
 * transpose combination against a float64 loop) and {@link speedCheck} (a
 * 192³ product against the WebAssembly GEMM, for libraries not trusted by
 * name).
 *
 * @module
 */

import type { MatmulSpec } from "../backend.ts";
import { gemmOnMemory } from "./gemm/mod.ts";

/** The side of the speed check's product. */
const PROBE = 192;

/** Who made a library, from the symbols it exports (`"other"`: a generic CBLAS). */
export type BlasVendor = "openblas" | "mkl" | "blis" | "accelerate" | "other";

/** `cblas_sgemm` / `cblas_dgemm` as Deno's FFI calls them. */
export type Gemm = (
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
export const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

/** The names tried, in order, where `GRADUS_BLAS` names none. */
export function candidates(os: string): string[] {
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

export type Lib = Deno.DynamicLibrary<typeof SYMBOLS>;

/** A library that has `cblas_sgemm`, identified. */
export interface Opened {
  readonly lib: Lib;
  readonly name: string;
  readonly vendor: BlasVendor;
  readonly version: string | null;
  readonly ilp64: boolean;
  readonly sgemm: Gemm;
  readonly dgemm: Gemm | null;
  /** Sets the library's thread count (null: the library chooses). */
  readonly setThreads: ((n: number) => void) | null;
  /** The library's thread count now (a process-wide setting), or null when it cannot say. */
  readonly getThreads: (() => number) | null;
  /** The library's own thread setting (0: unknown). */
  readonly ownThreads: number;
}

function cString(p: Deno.PointerValue): string | null {
  return p === null ? null : new Deno.UnsafePointerView(p).getCString();
}

/** Opens `name` and finds out what it is; a string says why it cannot be used. */
export function open(name: string): Opened | string {
  let lib: Lib;
  try {
    lib = Deno.dlopen(name, SYMBOLS);
  } catch (e) {
    const msg = (e instanceof Error ? e.message.split("\n")[0] : String(e))
      .replace(/^(Could not open library: )+/, "");
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
      getThreads: get === null ? null : () => get(),
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
      getThreads: mklGet === null ? null : () => mklGet(),
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
      getThreads: blisGet === null ? null : () => Number(blisGet()),
      ownThreads: own > 0 ? own : 0,
    };
  }
  const accelerate = name.includes("Accelerate");
  return {
    ...base,
    vendor: accelerate ? "accelerate" : "other",
    version: null,
    setThreads: null,
    getThreads: null,
    ownThreads: 0,
  };
}

/** The address of byte 0 of `buffer` (cached per buffer: a grown memory has a new one). */
const bases = new WeakMap<ArrayBufferLike, number>();
export function baseOf(memory: WebAssembly.Memory): number {
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
export function speedCheck(lib: Opened): { native: number; wasm: number | null; agrees: boolean } {
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

/**
 * Whether `lib`'s products are right: every transpose combination of a
 * 37 × 29 × 23 product (odd sizes reach the edge code), float32 and, where
 * it has one, float64, against a float64 loop, within the worst-case
 * rounding bound of a dot product (2·k·u·Σ|aᵢₚbₚⱼ|). A build that
 * misdetects the CPU returns wrong numbers, not errors: this is where it is
 * caught. About 0.1 ms.
 */
export function correct(lib: Opened): boolean {
  const [m, k, n] = [37, 29, 23];
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const base = baseOf(memory);
  for (const [gemm, bytes, u] of [[lib.sgemm, 4, 2 ** -24], [lib.dgemm, 8, 2 ** -53]] as const) {
    if (gemm === null) continue;
    const view = (at: number, len: number): Float32Array | Float64Array =>
      bytes === 4
        ? new Float32Array(memory.buffer, at, len)
        : new Float64Array(memory.buffer, at, len);
    const a = 0, b = bytes * m * k, c = b + bytes * k * n;
    const A = view(a, m * k), B = view(b, k * n), C = view(c, m * n);
    for (let i = 0; i < A.length; i++) A[i] = ((i * 37) % 17) / 8 - 1;
    for (let i = 0; i < B.length; i++) B[i] = ((i * 11) % 13) / 6 - 1;
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        C.fill(NaN);
        const lda = ta ? m : k, ldb = tb ? k : n;
        gemm(
          ROW_MAJOR,
          ta ? TRANS : NO_TRANS,
          tb ? TRANS : NO_TRANS,
          m,
          n,
          k,
          1,
          base + a,
          lda,
          base + b,
          ldb,
          0,
          base + c,
          n,
        );
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let ref = 0, abs = 0;
            for (let p = 0; p < k; p++) {
              const x = A[ta ? p * m + i : i * k + p] * B[tb ? j * k + p : p * n + j];
              ref += x;
              abs += Math.abs(x);
            }
            if (!(Math.abs(C[i * n + j] - ref) <= 2 * k * u * abs)) return false;
          }
        }
      }
    }
  }
  return true;
}
