/**
 * The `wasm` backend: tensors live in one WebAssembly memory (see
 * `memory.ts` and `arena.ts`) and the hot kernels run there in WebAssembly
 * SIMD, with no copies between JS and WebAssembly.
 *
 * It extends the CPU backend: a handle is a `WasmBuf`, whose `view` is a
 * typed array over the block in the memory, so every kernel of the CPU
 * backend works unchanged on it. The kernels that matter for speed are
 * overridden with WebAssembly ones: float32 matrix products (the packed
 * GEMM of `gemm/`, on two threads for big products; float32 and float64
 * products go to a native BLAS through FFI instead where `blas.ts` finds
 * one); elementwise ops,
 * comparisons, `where`, casts, sum/max/min reductions and log-sum-exp,
 * whose kernels come from the kernel IR (`../ir/ops.ts`) rendered to
 * WebAssembly SIMD with the broadcasting patterns that matter (contiguous,
 * scalar, row and column broadcasts; see `kernels/`); and row gathers and
 * their scatter-add gradient (`kernels/indexing.ts`). The opcode tables
 * below say, per opcode and dtype, whether the IR kernel runs; a
 * `"fallback"` row — and every dtype without a column — runs the CPU
 * backend's JS loop on the same memory: float64 throughout (the IR's math
 * is float32), int32 transcendentals, `floor`/`ceil`/`round` of int32 (the
 * identity), int32 `div` (the IR has no integer division), comparisons of
 * bools and `logicalNot`; so do argmax/argmin, int32 and bool reductions,
 * operands whose innermost stride is neither 0 nor 1 (a transposed view),
 * strided copies, sorting and randomness. `fused` runs the chains of
 * elementwise ops `jit` fuses as one IR kernel, and `fusedReduce` a float32
 * reduction with the elementwise ops fused before and after it (`fusible`
 * says which ops run as IR kernels here, so fusing them keeps results bit
 * for bit); they share `#elementwise` and the reduce renderer with the
 * per-op kernels, which is why the class stays one file of about 700 lines.
 *
 * Where tensors live and when their memory comes back (finalizers, the
 * garbage-collector budget, JS memory past it) is `memory.ts`'s business;
 * results never depend on it.
 *
 * @module
 */

import { simplifyStrides } from "../_geometry.ts";
import { detachLarge, normalizeIndices } from "../_host.ts";
import {
  type BinaryOp,
  type BinarySpec,
  type CastSpec,
  COMPARISONS,
  type DataHandle,
  type FusedReduceSpec,
  type FusedSpec,
  type FusibleOp,
  type GatherSpec,
  type KernelLaunch,
  type LogsumexpSpec,
  type MatmulSpec,
  type ReduceSpec,
  type Reservation,
  type ScatterAddSpec,
  UNARY_OPS,
  type UnaryOp,
  type UnarySpec,
  type UnpackBytesSpec,
  type WhereSpec,
} from "../backend.ts";
import { CpuBackend } from "../cpu/cpu_backend.ts";
import type { DType, TypedArray } from "../../core/dtype.ts";
import { sizeOf } from "../../core/shape.ts";
import { type Arena, ARENA_MAX_PAGES } from "./arena.ts";
import { type GemmOnMemory, gemmOnMemory, WASM_GEMM_MIN_WORK } from "./gemm/mod.ts";
import { type NativeGemm, nativeGemm } from "./blas.ts";
import { type KernelVariant, type ReduceCall, WasmKernels } from "./kernels/module.ts";
import {
  binaryOpKernel,
  castOpKernel,
  logsumexpKernel,
  reduceOpKernel,
  unaryOpKernel,
  whereOpKernel,
} from "../ir/ops.ts";
import type { ElementwiseKernel, ReduceKernel } from "../ir/kernel.ts";
import { reduceLayout, reducePart } from "./kernels/reduce.ts";
import { elementBytes, MAX_OPERANDS } from "../ir/render_wasm.ts";
import { live, type WasmBuf } from "./buffer.ts";
import { type WasmKernelCall, WasmMemory, type WasmMemoryStats } from "./memory.ts";

export { WasmBuf } from "./buffer.ts";
export type { WasmMemoryStats } from "./memory.ts";

/**
 * A row of an opcode table: `"ir"`, the opcode's kernel-IR graph
 * (`../ir/ops.ts`) compiled to WebAssembly SIMD, or `"fallback"`: the CPU
 * backend's JS loop on the same memory.
 * @internal
 */
export type WasmKernel = "ir" | "fallback";

/**
 * Per unary opcode, the kernel for float32 and for int32 inputs (float64
 * and bool inputs always run the CPU loop). Total: an opcode without a row
 * fails `deno check`.
 * @internal
 */
export const UNARY: Record<UnaryOp, readonly [f32: WasmKernel, i32: WasmKernel]> = {
  neg: ["ir", "ir"],
  exp: ["ir", "fallback"], // the IR's math is float32
  log: ["ir", "fallback"],
  log1p: ["ir", "fallback"],
  expm1: ["ir", "fallback"],
  sqrt: ["ir", "fallback"],
  sin: ["ir", "fallback"],
  cos: ["ir", "fallback"],
  tanh: ["ir", "fallback"],
  sigmoid: ["ir", "fallback"],
  erf: ["ir", "fallback"],
  erfc: ["ir", "fallback"],
  abs: ["ir", "ir"],
  sign: ["ir", "ir"],
  square: ["ir", "ir"],
  floor: ["ir", "fallback"], // int32: the identity, on the CPU loop
  ceil: ["ir", "fallback"],
  round: ["ir", "fallback"],
  logicalNot: ["fallback", "fallback"], // bool only (no column)
};

/**
 * Per binary opcode, the kernel for float32, int32 and bool inputs (float64
 * inputs always run the CPU loop). Total, as `UNARY`.
 * @internal
 */
export const BINARY: Record<
  BinaryOp,
  readonly [f32: WasmKernel, i32: WasmKernel, bool: WasmKernel]
> = {
  add: ["ir", "ir", "fallback"],
  sub: ["ir", "ir", "fallback"],
  mul: ["ir", "ir", "fallback"],
  div: ["ir", "fallback", "fallback"], // the IR has no integer division
  pow: ["ir", "ir", "fallback"],
  maximum: ["ir", "ir", "fallback"],
  minimum: ["ir", "ir", "fallback"],
  equal: ["ir", "ir", "fallback"],
  notEqual: ["ir", "ir", "fallback"],
  greater: ["ir", "ir", "fallback"],
  greaterEqual: ["ir", "ir", "fallback"],
  less: ["ir", "ir", "fallback"],
  lessEqual: ["ir", "ir", "fallback"],
  logicalAnd: ["fallback", "fallback", "ir"],
  logicalOr: ["fallback", "fallback", "ir"],
};

/** The kernel of a table row for `dtype` (`columns` lists the row's dtypes in order). */
function kernelFor(
  row: readonly WasmKernel[],
  columns: readonly DType[],
  dtype: DType,
): WasmKernel {
  const i = columns.indexOf(dtype);
  return i < 0 ? "fallback" : row[i];
}

/** The dtypes of the columns of `UNARY`. */
const UNARY_COLUMNS: readonly DType[] = ["float32", "int32"];
/** The dtypes of the columns of `BINARY`. */
const BINARY_COLUMNS: readonly DType[] = ["float32", "int32", "bool"];

/** No scratch blocks. */
const NO_SCRATCH: readonly number[] = [];

/**
 * Kernel specs by opcode (or kind) and dtype: the IR memoises them too, under
 * a string it builds per call; per-op dispatch here is two lookups of
 * interned strings.
 */
const specs = {
  unary: new Map<string, Map<string, ElementwiseKernel>>(),
  binary: new Map<string, Map<string, ElementwiseKernel>>(),
  where: new Map<string, Map<string, ElementwiseKernel>>(),
  cast: new Map<string, Map<string, ElementwiseKernel>>(),
};

/** The spec of `a`/`b` (e.g. opcode and dtype) in `table`, made once by `make`. */
function specFor(
  table: keyof typeof specs,
  a: string,
  b: string,
  make: () => ElementwiseKernel,
): ElementwiseKernel {
  const rows = specs[table];
  let row = rows.get(a);
  if (row === undefined) rows.set(a, row = new Map());
  let k = row.get(b);
  if (k === undefined) row.set(b, k = make());
  return k;
}

/** Whether an operand read with `strides` over `shape` is contiguous (size-1 axes ignored). */
function isContiguous(strides: readonly number[], shape: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** How many 2-D plans a backend keeps (all are dropped when it is full). */
const MAX_PLANS = 4096;

/** A compiled elementwise kernel and the bytes per element of its operands and output. */
interface Compiled {
  readonly f: (...args: number[]) => void;
  readonly bytes: readonly number[];
}

/**
 * An elementwise loop cut into 2-D kernel calls: `outer` lists, per call,
 * each operand's element offset; every call covers `rows × cols` outputs
 * with the operands' `rowStrides` and `colStrides` (0 or 1).
 */
interface Plan2d {
  readonly rows: number;
  readonly cols: number;
  readonly rowStrides: readonly number[];
  readonly colStrides: readonly number[];
  /** Per call, per operand, the element offset (calls in output order). */
  readonly offsets: readonly (readonly number[])[];
}

/**
 * How a broadcast elementwise op over `shape` runs as 2-D kernel calls, or
 * null when an operand's innermost stride is neither 0 nor 1 (a transposed
 * operand: the JS loop handles it).
 */
function plan2d(shape: readonly number[], strides: readonly (readonly number[])[]): Plan2d | null {
  const s = simplifyStrides(shape, strides);
  const r = s.shape.length;
  const ops = strides.length;
  if (r === 0) {
    return {
      rows: 1,
      cols: 1,
      rowStrides: Array(ops).fill(0),
      colStrides: Array(ops).fill(1),
      offsets: [Array(ops).fill(0)],
    };
  }
  const colStrides = s.strides.map((st) => st[r - 1]);
  if (colStrides.some((c) => c !== 0 && c !== 1)) return null;
  const cols = s.shape[r - 1];
  const rows = r >= 2 ? s.shape[r - 2] : 1;
  const rowStrides = s.strides.map((st) => (r >= 2 ? st[r - 2] : 0));
  // The odometer over the axes before the last two.
  const lead = s.shape.slice(0, Math.max(0, r - 2));
  const calls = sizeOf(lead);
  const offsets: number[][] = [];
  const idx = new Array<number>(lead.length).fill(0);
  const at = new Array<number>(ops).fill(0);
  for (let c = 0; c < calls; c++) {
    offsets.push([...at]);
    for (let d = lead.length - 1; d >= 0; d--) {
      for (let k = 0; k < ops; k++) at[k] += s.strides[k][d];
      if (++idx[d] < lead[d]) break;
      idx[d] = 0;
      for (let k = 0; k < ops; k++) at[k] -= s.strides[k][d] * lead[d];
    }
  }
  return { rows, cols, rowStrides, colStrides, offsets };
}

/**
 * Options of {@link WasmBackend}.
 *
 * @example
 * ```ts
 * import { WasmBackend, type WasmBackendOptions } from "./wasm_backend.ts";
 *
 * // A small memory, one thread, and a tight garbage-collector budget.
 * const options: WasmBackendOptions = { memoryLimit: 2 ** 26, threads: false, gcBudget: 2 ** 24 };
 * const backend = new WasmBackend(options);
 * console.log(backend.memoryStats().limitBytes); // 67108864
 * ```
 */
export interface WasmBackendOptions {
  /**
   * The most memory (bytes) tensors may take in WebAssembly memory before new
   * ones go to JS memory. Default 1 GiB; at most 2 GiB.
   */
  readonly memoryLimit?: number;
  /** Whether big matrix products may use a second thread. Default `true`. */
  readonly threads?: boolean;
  /**
   * Whether matrix products may run in a native BLAS found through FFI
   * (`--allow-ffi`; see {@linkcode blasInfo}). Default `true`; `false` keeps
   * them in the WebAssembly GEMM.
   */
  readonly blas?: boolean;
  /**
   * How many bytes of tensors may wait for the garbage collector in
   * WebAssembly memory: allocated since its finalizers last ran and not
   * freed explicitly (`dispose`, `tidy`, `valueAndGrad`). Past it, the memory
   * stops growing: new tensors take blocks freed explicitly, and otherwise
   * live in ordinary JS memory, which the garbage collector frees without
   * waiting for the event loop; the same kernels compute them (see
   * `memory.ts`). Default 64 MiB.
   */
  readonly gcBudget?: number;
}

/**
 * The WebAssembly SIMD backend (see the module documentation).
 * @internal
 */
export class WasmBackend extends CpuBackend {
  /** Always `"wasm"`. */
  override readonly name: string = "wasm";
  /** The memory and its allocator. */
  readonly arena: Arena;
  /** Where the buffers live (see `memory.ts`). */
  readonly #mem: WasmMemory;
  /** The GEMM on the arena's memory (null where WebAssembly SIMD is missing). */
  readonly #gemm: GemmOnMemory | null;
  /** The IR kernels and the index kernels (null where WebAssembly SIMD is missing). */
  readonly #k: WasmKernels | null;
  /** Which kernel variant runs: relaxed SIMD (fused multiply-adds) or plain SIMD. */
  readonly kernelVariant: KernelVariant | null;
  /** 1 to keep products on one thread; undefined lets big ones use two. */
  readonly #threads: number | undefined;
  /** Whether products may use a native BLAS; the library once looked up (null: none). */
  readonly #blasAllowed: boolean;
  #blas: NativeGemm | null | undefined;
  /** Compiled elementwise kernels by spec. */
  readonly #compiled = new WeakMap<ElementwiseKernel, Map<number, Compiled>>();
  /** Fused kernels that failed to compile (their ops run one by one). */
  readonly #unfusable = new WeakSet<ElementwiseKernel | ReduceKernel>();
  /** 2-D plans by output shape and strides (`shape|strides₀|strides₁…`), at most `MAX_PLANS`. */
  readonly #plans = new Map<string, Plan2d | null>();
  /** Plans of fused kernels, by their strides array (the same one every call). */
  readonly #planOf = new WeakMap<object, Plan2d | null>();
  /** float32 reductions by opcode (`"lse"`: the fused log-sum-exp), compiled on first use. */
  readonly #reductions = new Map<string, ReduceCall>();

  /**
   * A backend with its own memory.
   *
   * @param options Memory limit, threads and garbage-collector budget.
   */
  constructor(options: WasmBackendOptions = {}) {
    super();
    this.#mem = new WasmMemory(options);
    this.arena = this.#mem.arena;
    this.#gemm = gemmOnMemory(this.arena.memory, { shared: true });
    this.#k = WasmKernels.create(this.arena.memory, { shared: true, maxPages: ARENA_MAX_PAGES });
    this.kernelVariant = this.#k?.variant ?? null;
    this.#threads = options.threads === false ? 1 : undefined;
    this.#blasAllowed = options.blas !== false;
    // Looked up with the rest of the backend's start-up (once per process: `blas.ts`).
    if (this.#blasAllowed) this.#blas = nativeGemm();
  }

  /** The native BLAS products run in, or null (looked up on the first product). */
  get nativeBlas(): NativeGemm | null {
    return this.#blas ??= this.#blasAllowed ? nativeGemm() : null;
  }

  /** Memory counters (for tests and benchmarks). */
  memoryStats(): WasmMemoryStats {
    return this.#mem.stats();
  }

  /** The WebAssembly memory's limit and use, for out-of-memory errors. */
  memoryInfo(): string {
    return this.#mem.info();
  }

  // ------------------------------------------------------------ buffers

  /** A block of the arena viewed as `dtype`, or a JS array when the arena is full. */
  protected override alloc(dtype: DType, size: number, zeroed = true): TypedArray {
    return this.#mem.alloc(dtype, size, zeroed);
  }

  /** The view behind a handle. */
  protected override arr(x: DataHandle): TypedArray {
    return live(x).view;
  }

  /** Wraps an array `alloc` returned. */
  protected override wrap(out: TypedArray): DataHandle {
    return this.#mem.wrap(out);
  }

  /**
   * Resolves to a fresh copy of the buffer. Once per 32 MiB allocated
   * while no finalizer ran, it first lets the event loop turn (see
   * `memory.ts`), so a training loop that reads its loss every step frees
   * the blocks of collected tensors as it goes.
   */
  override async read(x: DataHandle, dtype: DType, size: number): Promise<TypedArray> {
    const turn = this.#mem.turnBeforeRead();
    if (turn !== null) await turn;
    return this.readSync(x, dtype, size);
  }

  /** Copies `values` into the arena, then frees a large `values` at once (the backend owns it). */
  override upload(values: TypedArray, dtype: DType): DataHandle {
    const h = this.#mem.upload(values, dtype);
    detachLarge(values);
    return h;
  }

  /**
   * Records `owner` (a tensor) as an owner of `handle`: the block goes back
   * to the arena once every owner was disposed or garbage-collected.
   */
  track(owner: object, handle: DataHandle): void {
    this.#mem.track(owner, handle as WasmBuf);
  }

  /**
   * Gives up `owner`'s share of the buffer (freeing it when no owner is
   * left). Without an owner, frees a buffer no tensor owns (one owned by
   * tensors is left to them).
   */
  override dispose(x: DataHandle, owner?: object): void {
    this.#mem.dispose(x as WasmBuf, owner);
  }

  // ------------------------------------------------------------ kernels

  /**
   * The kernels when a WebAssembly kernel may run: they exist and the
   * output has elements; else null (the caller runs the CPU kernel).
   */
  #kernels(size: number): WasmKernels | null {
    return size > 0 ? this.#k : null;
  }

  /**
   * Runs a WebAssembly kernel on the arena (see `WasmMemory.run`); null
   * when the arena cannot hold its transient blocks, and the caller then
   * runs the CPU backend's kernel: `this.#run(…) ?? super.op(spec)`.
   */
  #run(
    inputs: readonly (WasmBuf | Int32Array)[],
    dtype: DType,
    size: number,
    scratch: readonly number[],
    kernel: WasmKernelCall,
    replayable = true,
  ): DataHandle | null {
    return this.#mem.run(inputs, dtype, size, scratch, kernel, replayable);
  }

  /**
   * Runs an IR elementwise kernel over `outShape` (operand `k` read with
   * `strides[k]`) as 2-D calls; null when an operand's innermost stride is
   * neither 0 nor 1 or the arena is full (the caller runs the CPU loop).
   */
  #elementwise(
    kernel: ElementwiseKernel,
    inputs: readonly DataHandle[],
    strides: readonly (readonly number[])[],
    outShape: readonly number[],
    outDtype: DType,
    constantStrides = false,
  ): DataHandle | null {
    const size = sizeOf(outShape), k = this.#kernels(size);
    if (k === null) return null;
    const bufs = inputs.map(live);
    if (strides.every((st) => isContiguous(st, outShape))) {
      // the common case, one flat row: no plan
      const { f } = this.#compiledFor(k, kernel, (1 << inputs.length) - 1);
      if (inputs.length === 1) {
        return this.#run(bufs, outDtype, size, NO_SCRATCH, ([x], o) => f(x, 0, 1, o, 1, size));
      }
      if (inputs.length === 2) {
        return this.#run(bufs, outDtype, size, NO_SCRATCH, ([x, y], o) => {
          f(x, 0, 1, y, 0, 1, o, 1, size);
        });
      }
      // Operand `i` at `3i`, row stride 0, column stride 1; then the output.
      const flat = new Array<number>(3 * inputs.length + 3).fill(1);
      for (let i = 0; i < inputs.length; i++) flat[3 * i + 1] = 0;
      flat[flat.length - 1] = size;
      return this.#run(bufs, outDtype, size, NO_SCRATCH, (ptrs, o) => {
        for (let i = 0; i < ptrs.length; i++) flat[3 * i] = ptrs[i];
        flat[3 * ptrs.length] = o;
        f(...flat);
      });
    }
    // Ops recompute their strides on every call: plans are found by their
    // text; a fused kernel's strides (the same array every call, for one
    // output shape) by identity.
    let plan = constantStrides ? this.#planOf.get(strides) : undefined;
    if (plan === undefined) {
      const key = `${outShape}|${strides.join("|")}`;
      plan = this.#plans.get(key);
      if (plan === undefined) {
        if (this.#plans.size >= MAX_PLANS) this.#plans.clear();
        plan = plan2d(outShape, strides);
        this.#plans.set(key, plan);
      }
      if (constantStrides) this.#planOf.set(strides, plan);
    }
    if (plan === null) return null;
    const { rows, cols, rowStrides, colStrides } = plan;
    const { f, bytes } = this.#compiledFor(
      k,
      kernel,
      colStrides.reduce((m, c, i) => m | c << i, 0),
    );
    const outW = bytes[inputs.length];
    const args = new Array<number>(3 * inputs.length + 3);
    return this.#run(bufs, outDtype, size, NO_SCRATCH, (ptrs, o) => {
      for (const offsets of plan.offsets) {
        ptrs.forEach((p, i) => {
          args[3 * i] = p + offsets[i] * bytes[i];
          args[3 * i + 1] = rowStrides[i];
          args[3 * i + 2] = colStrides[i];
        });
        args[3 * ptrs.length] = o;
        args[3 * ptrs.length + 1] = rows;
        args[3 * ptrs.length + 2] = cols;
        f(...args);
        o += rows * cols * outW;
      }
    });
  }

  /**
   * The compiled kernel for operands read with these column strides (bit
   * `i` of `columns` set: `cᵢ = 1`). Kernels of up to two operands have
   * one function for every stride; larger ones (`where`, fused chains) one
   * per combination used, instead of `2^k` loop nests in one function.
   */
  #compiledFor(k: WasmKernels, kernel: ElementwiseKernel, columns: number): Compiled {
    const key = kernel.inputs.length > 2 ? columns : -1;
    let byColumns = this.#compiled.get(kernel);
    let c = byColumns?.get(key);
    if (c === undefined) {
      c = {
        f: k.elementwise(kernel, key < 0 ? undefined : columns),
        bytes: elementBytes(kernel),
      };
      if (byColumns === undefined) this.#compiled.set(kernel, byColumns = new Map());
      byColumns.set(key, c);
    }
    return c;
  }

  /** `out[i] = op(x[i])`: float32 and int32 in WebAssembly SIMD where `UNARY` has a kernel. */
  override unary(spec: UnarySpec): DataHandle {
    const { op, x, size, dtype } = spec;
    if (kernelFor(UNARY[op], UNARY_COLUMNS, dtype) === "fallback") return super.unary(spec);
    const kernel = specFor("unary", op, dtype, () => unaryOpKernel(op, dtype));
    return this.#elementwise(kernel, [x], [[1]], [size], dtype) ??
      super.unary(spec);
  }

  /** Broadcast binary ops: float32, int32 and bool in WebAssembly SIMD where `BINARY` has a kernel. */
  override binary(spec: BinarySpec): DataHandle {
    const { op, a, aStrides, b, bStrides, outShape, dtype } = spec;
    if (kernelFor(BINARY[op], BINARY_COLUMNS, dtype) === "fallback") return super.binary(spec);
    const outDtype = COMPARISONS.has(op) ? "bool" : dtype;
    const kernel = specFor("binary", op, dtype, () => binaryOpKernel(op, dtype));
    return this.#elementwise(kernel, [a, b], [aStrides, bStrides], outShape, outDtype) ??
      super.binary(spec);
  }

  /** `cond ? a : b` with broadcasting: float32, int32 and bool in WebAssembly SIMD. */
  override where(spec: WhereSpec): DataHandle {
    const { cond, condStrides, a, aStrides, b, bStrides, outShape, dtype } = spec;
    if (dtype === "float64") return super.where(spec);
    const strides = [condStrides, aStrides, bStrides];
    const kernel = specFor("where", dtype, "", () => whereOpKernel(dtype));
    return this.#elementwise(kernel, [cond, a, b], strides, outShape, dtype) ??
      super.where(spec);
  }

  /** Casts between float32, int32 and bool in WebAssembly SIMD (float64 on the CPU loop). */
  override cast(spec: CastSpec): DataHandle {
    const { x, size, from, to } = spec;
    if (from === "float64" || to === "float64") return super.cast(spec);
    const kernel = specFor("cast", from, to, () => castOpKernel(from, to));
    return this.#elementwise(kernel, [x], [[1]], [size], to) ?? super.cast(spec);
  }

  /** The most operands of a fused kernel (the renderer's limit). */
  readonly maxFusedInputs: number = MAX_OPERANDS;

  /** Whether `op` runs as its IR kernel here (so it fuses bit-identically). */
  fusible({ op, dtype, to }: FusibleOp): boolean {
    if (this.#k === null || dtype === "float64") return false;
    if (op === "sum" || op === "max" || op === "min") return dtype === "float32";
    if (op === "where" || op === "cast") return to !== "float64";
    const unary = (UNARY_OPS as readonly string[]).includes(op);
    return (unary
      ? kernelFor(UNARY[op as UnaryOp], UNARY_COLUMNS, dtype)
      : kernelFor(BINARY[op as BinaryOp], BINARY_COLUMNS, dtype)) === "ir";
  }

  /** Runs a kernel `jit` fused; null where `#elementwise` declines or it does not compile. */
  fused({ kernel, inputs, strides, outShape, dtype }: FusedSpec): DataHandle | null {
    if (this.#unfusable.has(kernel)) return null;
    try {
      return this.#elementwise(kernel, inputs, strides, outShape, dtype, true);
    } catch (e) {
      if (this.#compiled.has(kernel)) throw e; // it compiled: a failure while running
      this.#unfusable.add(kernel); // e.g. more locals than the engine takes
      return null;
    }
  }

  /** Reserves arena memory for a program's intermediates (see `WasmMemory.reserve`). */
  reserve(bytes: number): Reservation | null {
    return this.#mem.reserve(bytes);
  }

  /** Runs `body` so that its kernel's output is `out` where it fits (see `WasmMemory.into`). */
  writeInto<T>(out: DataHandle, body: () => T): T {
    return this.#mem.into(live(out), body);
  }

  /**
   * Runs `body`, recording its WebAssembly kernels for `jit` to run again
   * (see `Backend.record`). Gathers and scatters are not replayable: their
   * indices are checked on the host first.
   */
  record<T>(body: () => T): { value: T; launches: readonly KernelLaunch[] | null } {
    return this.#mem.record(body);
  }

  /** The dtypes a fused reduction loads (the reduce renderer reads 32-bit lanes; no bools). */
  readonly fusedReduceLoads: readonly DType[] = ["float32", "int32"];

  /**
   * Runs a float32 reduction `jit` fused with its producers, as `reduce`
   * runs its own kernel; null for other layouts, an empty output or a
   * kernel that does not compile.
   */
  fusedReduce(
    { kernel, inputs, strides, outer, n, inner, dtype }: FusedReduceSpec,
  ): DataHandle | null {
    const k = this.#kernels(n > 0 ? outer * inner : 0);
    const layouts = strides.map((st) => reduceLayout(st, outer, n, inner));
    if (k === null || dtype !== "float32" || this.#unfusable.has(kernel)) return null;
    if (!layouts.every((l) => l !== null)) return null;
    let f: ReduceCall;
    try {
      f = k.reduce(kernel, layouts, reducePart(inner));
    } catch {
      this.#unfusable.add(kernel); // e.g. more locals than the engine takes
      return null;
    }
    return this.#run(inputs.map(live), "float32", outer * inner, NO_SCRATCH, (ptrs, o) => {
      f(...ptrs, o, outer, n, inner);
    });
  }

  /** The float32 reduction `op` (`"lse"`: log Σ exp(x − m) + m, `m` along the axis). */
  #reduction(k: WasmKernels, op: "sum" | "max" | "min" | "lse", inner: number): ReduceCall {
    const part = reducePart(inner), key = `${op} ${part}`;
    let f = this.#reductions.get(key);
    if (f === undefined) {
      f = op === "lse"
        ? k.reduce(logsumexpKernel("float32"), ["full", "axis"], part)
        : k.reduce(reduceOpKernel(op, "float32"), ["full"], part);
      this.#reductions.set(key, f);
    }
    return f;
  }

  /** Sum, max and min of float32 in WebAssembly SIMD (sums accumulate in float64). */
  override reduce(spec: ReduceSpec): DataHandle {
    const { op, x, outer, n, inner, dtype } = spec;
    const k = this.#kernels(n > 0 ? outer * inner : 0);
    if (k === null || dtype !== "float32" || (op !== "sum" && op !== "max" && op !== "min")) {
      return super.reduce(spec);
    }
    const f = this.#reduction(k, op, inner);
    return this.#run([live(x)], "float32", outer * inner, NO_SCRATCH, ([xp], o) => {
      f(xp, o, outer, n, inner);
    }) ?? super.reduce(spec);
  }

  /**
   * The indices of a gather or scatter, checked: the buffer itself when
   * none needs a change, else a copy with negative ones wrapped (throws on
   * out-of-range ones).
   */
  #indices(op: string, indices: DataHandle, count: number, n: number): WasmBuf | Int32Array {
    const h = live(indices), idx = h.view as Int32Array;
    for (let c = 0; c < count; c++) {
      if (idx[c] < 0 || idx[c] >= n) return normalizeIndices(op, idx, count, n);
    }
    return h;
  }

  /** Row gathers of 4-byte dtypes in WebAssembly (v128 row copies); the rest as on the CPU backend. */
  override gather(spec: GatherSpec): DataHandle {
    const { x, indices, outer, n, inner, count, dtype } = spec;
    const size = outer * count * inner, k = this.#kernels(size);
    if (k === null || (dtype !== "float32" && dtype !== "int32")) return super.gather(spec);
    // A source in JS memory (past the arena's budget) would be copied in whole for a few rows.
    if (live(x).ptr < 0) return super.gather(spec);
    const idx = this.#indices("take()", indices, count, n);
    return this.#run([live(x), idx], dtype, size, NO_SCRATCH, ([xp, ip], o) => {
      k.index.gather32(xp, ip, o, outer, n, inner, count);
    }, false) ?? super.gather(spec);
  }

  /** Rows of packed bytes widened to float32 in WebAssembly SIMD (see `Backend.unpackBytes`). */
  override unpackBytes(spec: UnpackBytesSpec): DataHandle {
    const { x, indices, n, w, k, count, divisor } = spec;
    const size = count * k * w, kernels = this.#kernels(size);
    if (kernels === null || live(x).ptr < 0) return super.unpackBytes(spec); // (as in `gather`)
    const idx = this.#indices("CompactImages.take()", indices, count, n);
    const unpack = kernels.index[`unpack8_k${k}`];
    return this.#run([live(x), idx], "float32", size, NO_SCRATCH, ([xp, ip], o) => {
      unpack(xp, ip, o, count, w, divisor);
    }, false) ?? super.unpackBytes(spec);
  }

  /**
   * The gradient of a float32 gather in WebAssembly: sums in float64 in the
   * CPU backend's order, so results match it bit for bit; the rest as there.
   */
  override scatterAdd(spec: ScatterAddSpec): DataHandle {
    const { g, indices, outer, n, inner, count, dtype } = spec;
    const size = outer * n * inner, k = this.#kernels(size);
    if (k === null || dtype !== "float32") return super.scatterAdd(spec);
    const idx = this.#indices("scatterAdd()", indices, count, n);
    return this.#run([live(g), idx], "float32", size, [8 * size], ([gp, ip], o, [acc]) => {
      k.index.scatter_add_f32(gp, ip, acc, o, outer, n, inner, count);
    }, false) ?? super.scatterAdd(spec);
  }

  /**
   * `log Σ exp` of float32 in WebAssembly SIMD: the maxima along the axis,
   * then the IR's fused `log Σ exp(x − m) + m` (sums in float64); the rest
   * as on the CPU backend.
   */
  override logsumexp(spec: LogsumexpSpec): DataHandle {
    const { x, outer, n, inner, dtype } = spec;
    const k = this.#kernels(n > 0 ? outer * inner : 0);
    if (k === null || dtype !== "float32") return super.logsumexp(spec);
    const max = this.#reduction(k, "max", inner), lse = this.#reduction(k, "lse", inner);
    const size = outer * inner;
    return this.#run([live(x)], "float32", size, [4 * size], ([xp], o, [m]) => {
      max(xp, m, outer, n, inner);
      lse(xp, m, o, outer, n, inner);
    }) ?? super.logsumexp(spec);
  }

  /**
   * Batched matrix product: float32 and float64 in a native BLAS where one
   * was found (`blas.ts`, every size), else float32 in the WebAssembly GEMM
   * from `WASM_GEMM_MIN_WORK` multiply-adds on, straight from and to the
   * arena (on two threads for big products); the rest as on the CPU backend.
   */
  override matmul(a: DataHandle, b: DataHandle, spec: MatmulSpec, dtype: DType): DataHandle {
    const A = live(a), B = live(b), { m, k, n } = spec;
    const size = sizeOf(spec.batchShape) * m * n;
    // Every size in the native library (its small-matrix paths beat the JS loops).
    if (m * k * n > 0 && (dtype === "float32" || dtype === "float64")) {
      const blas = this.nativeBlas;
      if (blas !== null && (dtype === "float32" || blas.info.float64)) {
        return this.#run([A, B], dtype, size, NO_SCRATCH, ([ap, bp], o) => {
          blas.matmul(this.arena.memory, dtype, ap, bp, o, spec, this.#threads);
        }) ?? super.matmul(a, b, spec, dtype); // the arena is full
      }
    }
    const gemm = this.#gemm;
    if (dtype !== "float32" || gemm === null || m * k * n < WASM_GEMM_MIN_WORK) {
      return super.matmul(a, b, spec, dtype);
    }
    const scratch = [gemm.scratchBytes(spec, this.#threads)];
    return this.#run([A, B], "float32", size, scratch, ([ap, bp], o, [s]) => {
      gemm.matmul(ap, bp, o, spec, s, this.#threads);
    }) ?? super.matmul(a, b, spec, dtype); // the arena is full
  }
}
