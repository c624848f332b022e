/**
 * The `wasm` backend: tensors live in one WebAssembly memory (see
 * `arena.ts`) and the hot kernels run there in WebAssembly SIMD, with no
 * copies between JS and WebAssembly.
 *
 * It extends the CPU backend: a handle is a {@link WasmBuf}, whose `view` is
 * a typed array over the block in the memory, so every kernel of the CPU
 * backend works unchanged on it. The kernels that matter for speed are
 * overridden with WebAssembly ones: float32 matrix products (the packed
 * GEMM of `gemm.ts`, on two threads for big products), float32
 * elementwise ops with the broadcasting patterns that matter (contiguous,
 * scalar, row and column broadcasts), comparisons, `where`, and sum, max
 * and min reductions (`kernels.ts`). Everything else (float64, strided
 * copies, gathers, sorting, randomness) runs the CPU backend's JS loops on
 * the same memory.
 *
 * Memory. The core calls `track` for every tensor made around a handle, and
 * a `FinalizationRegistry` gives the block back once every tensor owning it
 * was garbage-collected (or `dispose`d); freed blocks are reused by size.
 * Two things keep that prompt: the garbage collector cannot see WebAssembly
 * memory, so after every 64 MiB allocated without a finalizer running the
 * backend makes an untouched 64 MiB `ArrayBuffer` (which it does see), and
 * finalizers only run between tasks of the event loop, so `read` (every
 * `await t.data()` / `item()`) lets the loop turn once per 32 MiB allocated
 * while none ran.
 *
 * A loop that never lets the event loop turn gets nothing back from the
 * collector until it ends, and no synchronous way exists to change that:
 * finalization callbacks run only as tasks of their own, and a `WeakRef`
 * made in the running task keeps its target alive until the task ends (the
 * language makes collection unobservable inside a task; even an explicit
 * `gc()` under `--expose-gc` frees no block before the task ends). What it
 * leaves to the collector therefore costs memory until then, and the
 * backend bounds it: once `gcBudget` bytes (64 MiB by default) of arena
 * tensors wait for the collector — allocated since finalizers last ran and
 * not freed by `dispose`, `tidy` or `valueAndGrad` — the memory stops
 * growing. New tensors then take blocks freed explicitly, else live in
 * ordinary JS memory, which the collector does free inside the task. Ops
 * on them still run the WebAssembly kernels: operands in JS memory are
 * copied into transient blocks at the top of the heap (given back at once)
 * and results copied out, so values never depend on where a tensor lives,
 * nor on when the collector ran. The budget is renewed when finalizers run
 * again; a sentinel object registered with them makes sure they do once
 * the loop turns and a collection happened, even when every arena tensor
 * stays alive. At the memory's limit (1 GiB by default) new buffers go to
 * JS memory too, and ops whose transient blocks do not fit run the CPU
 * backend's kernels.
 *
 * @module
 */

import { simplifyStrides } from "../_geometry.ts";
import {
  type BinaryOp,
  type BinarySpec,
  COMPARISONS,
  type DataHandle,
  type GatherSpec,
  type LogsumexpSpec,
  type MatmulSpec,
  type ReduceSpec,
  type ScatterAddSpec,
  type UnaryOp,
  type UnarySpec,
  type WhereSpec,
} from "../backend.ts";
import { CpuBackend, normalizeIndices } from "../cpu/cpu_backend.ts";
import { type GemmOnMemory, gemmOnMemory, WASM_GEMM_MIN_WORK } from "./gemm.ts";
import type { DType, TypedArray } from "../../core/dtype.ts";
import { sizeOf } from "../../core/shape.ts";
import { AllocationError, fmtBytes } from "../../core/errors.ts";
import { Arena, ARENA_MAX_PAGES, type ArenaStats } from "./arena.ts";
import {
  type BinaryKernel,
  instantiateKernels,
  type KernelExports,
  type KernelVariant,
} from "./kernels.ts";

/** Bytes per element of each dtype. */
const BYTES: { readonly [D in DType]: number } = { float32: 4, float64: 8, int32: 4, bool: 1 };

/**
 * A buffer of the `wasm` backend: a typed-array view of a block of the
 * arena (`ptr ≥ 0`), or an ordinary JS array (`ptr = -1`) when the arena
 * was full.
 * @internal
 */
export class WasmBuf {
  /** The elements. */
  readonly view: TypedArray;
  /** Byte address in the arena, or -1 for JS memory. */
  readonly ptr: number;
  /** How many live tensors own this buffer (see `track`). */
  refs = 0;
  /** Set once the block went back to the arena. */
  released = false;

  /**
   * Wraps a view.
   *
   * @param view The elements.
   * @param ptr Byte address in the arena, or -1.
   */
  constructor(view: TypedArray, ptr: number) {
    this.view = view;
    this.ptr = ptr;
  }
}

/** The buffer behind a handle, checked not to be freed (its block may hold another tensor now). */
function live(x: DataHandle): WasmBuf {
  const h = x as WasmBuf;
  if (h.released) throw new Error("wasm backend: the tensor's buffer was already disposed");
  return h;
}

/** Unary float32 ops with a WebAssembly kernel (sin and cos use the JS loop). */
const UNARY_F32: Partial<Record<UnaryOp, keyof KernelExports>> = {
  neg: "neg",
  abs: "abs",
  square: "square",
  sqrt: "sqrt",
  floor: "floor",
  ceil: "ceil",
  round: "round",
  sign: "sign",
  exp: "exp",
  log: "log",
  tanh: "tanh",
  expm1: "expm1",
  log1p: "log1p",
};

/** Unary int32 ops with a WebAssembly kernel. */
const UNARY_I32: Partial<Record<UnaryOp, keyof KernelExports>> = {
  neg: "neg_i32",
  abs: "abs_i32",
  square: "square_i32",
};

/** Binary ops with a WebAssembly kernel, per input dtype (pow uses the JS loop). */
const BINARY: { readonly [D in DType]?: Partial<Record<BinaryOp, keyof KernelExports>> } = {
  float32: {
    add: "add",
    sub: "sub",
    mul: "mul",
    div: "div",
    maximum: "maximum",
    minimum: "minimum",
    equal: "equal",
    notEqual: "notEqual",
    greater: "greater",
    greaterEqual: "greaterEqual",
    less: "less",
    lessEqual: "lessEqual",
  },
  int32: {
    add: "add_i32",
    sub: "sub_i32",
    mul: "mul_i32",
    maximum: "maximum_i32",
    minimum: "minimum_i32",
    equal: "equal_i32",
    notEqual: "notEqual_i32",
    greater: "greater_i32",
    greaterEqual: "greaterEqual_i32",
    less: "less_i32",
    lessEqual: "lessEqual_i32",
  },
  bool: { logicalAnd: "and_u8", logicalOr: "or_u8" },
};

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
  let calls = 1;
  for (const d of lead) calls *= d;
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
 * Frees the memory of an array of 64 KiB or more that the caller gave up
 * (see `Backend.upload`) instead of leaving it to the garbage collector;
 * smaller ones are not worth the call. Only a whole, non-shared buffer.
 * @internal
 */
export function detachLarge(a: ArrayBufferView): void {
  const buf = a.buffer;
  if (
    a.byteLength >= 65536 && buf instanceof ArrayBuffer && a.byteOffset === 0 &&
    a.byteLength === buf.byteLength && typeof buf.transfer === "function"
  ) buf.transfer(0);
}

/** `size` elements of `dtype` at the start of `buffer`. */
function viewOf(dtype: DType, buffer: ArrayBuffer, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer, 0, size);
    case "float64":
      return new Float64Array(buffer, 0, size);
    case "int32":
      return new Int32Array(buffer, 0, size);
    default:
      return new Uint8Array(buffer, 0, size);
  }
}

/** Whether an array `alloc` returned lies in the arena (not in JS memory). */
function inArena(out: TypedArray): boolean {
  return out.buffer instanceof SharedArrayBuffer;
}

/** Bytes of the ArrayBuffer that nudges the garbage collector (see `alloc`). */
const NUDGE_BYTES = 64 * 2 ** 20;

/** Allocated bytes after which `read` lets the event loop turn (so finalizers can run). */
const READ_YIELD_BYTES = 32 * 2 ** 20;

/** Default of {@link WasmBackendOptions.gcBudget}: 64 MiB. */
const GC_BUDGET = 64 * 2 ** 20;

/** Most bytes of JS memory kept for reuse from explicitly freed tensors (see `#jsAlloc`). */
const JS_POOL_BYTES = 64 * 2 ** 20;

/**
 * Resolves in a later task of the event loop (not a microtask), after
 * pending finalizers ran: `setImmediate` where the runtime has it (Deno,
 * Node, Bun; some 5 µs), else a fresh `MessageChannel`. (In Deno a message
 * turn does not run finalizers while a worker thread exists; `setImmediate`
 * does, and `setTimeout(0)` waits a millisecond or more.)
 */
function nextTask(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  if (typeof immediate === "function") return new Promise((resolve) => immediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(0);
  });
}

/** Options of {@link WasmBackend}. */
export interface WasmBackendOptions {
  /**
   * The most memory (bytes) tensors may take in WebAssembly memory before new
   * ones go to JS memory. Default 1 GiB; at most 2 GiB.
   */
  readonly memoryLimit?: number;
  /** Whether big matrix products may use a second thread. Default `true`. */
  readonly threads?: boolean;
  /**
   * How many bytes of tensors may wait for the garbage collector in
   * WebAssembly memory: allocated since its finalizers last ran and not
   * freed explicitly (`dispose`, `tidy`, `valueAndGrad`). Past it, the memory
   * stops growing: new tensors take blocks freed explicitly, and otherwise
   * live in ordinary JS memory, which the garbage collector frees without
   * waiting for the event loop; the same kernels compute them (see the
   * module documentation). Default 64 MiB.
   */
  readonly gcBudget?: number;
}

/** Memory counters of a {@link WasmBackend}: the arena's, and how the garbage collector keeps up. */
export interface WasmMemoryStats extends ArenaStats {
  /**
   * Bytes of tensors allocated in the arena since finalizers last ran and
   * not freed explicitly (they wait for the garbage collector).
   */
  readonly awaitingGcBytes: number;
  /** Buffers put in JS memory because {@link WasmBackendOptions.gcBudget} was reached. */
  readonly spilledBuffers: number;
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
  /**
   * Gives a block back once the last tensor owning it is collected; `null`
   * marks the sentinel (see `#allocOverBudget`).
   */
  readonly #owners: FinalizationRegistry<WasmBuf | null>;
  /** Bytes allocated, less those freed, since a finalizer last ran (see `alloc`, `read`). */
  #sinceFinalizer = 0;
  /** `#sinceFinalizer` past which the arena stops growing. */
  readonly #gcBudget: number;
  /** Whether a sentinel waits for the garbage collector. */
  #sentinel = false;
  /** Buffers put in JS memory over the budget. */
  #spilled = 0;
  /** Bytes put in JS memory over the budget since a finalizer last ran. */
  #spilledBytes = 0;
  /**
   * JS memory of tensors in JS memory that were freed explicitly, by byte
   * length: the next tensor of that size takes it instead of fresh memory
   * (which the engine must map and zero).
   */
  readonly #jsPool = new Map<number, ArrayBuffer[]>();
  /** Bytes in `#jsPool`. */
  #jsPoolBytes = 0;
  /** `#sinceFinalizer` at which to nudge the garbage collector next. */
  #nextNudge = NUDGE_BYTES;
  /** `#sinceFinalizer` at which `read` lets the event loop turn next. */
  #nextYield = READ_YIELD_BYTES;
  /** The GEMM on the arena's memory (null where WebAssembly SIMD is missing). */
  readonly #gemm: GemmOnMemory | null;
  /** The elementwise and reduction kernels (null where WebAssembly SIMD is missing). */
  readonly #k: KernelExports | null;
  /** Which kernel variant runs: relaxed SIMD (fused multiply-adds) or plain SIMD. */
  readonly kernelVariant: KernelVariant | null;
  /** 1 to keep products on one thread; undefined lets big ones use two. */
  readonly #threads: number | undefined;

  /**
   * A backend with its own memory.
   *
   * @param options Memory limit and threads.
   */
  constructor(options: WasmBackendOptions = {}) {
    super();
    this.arena = new Arena({ limitBytes: options.memoryLimit });
    this.#gemm = gemmOnMemory(this.arena.memory, { shared: true });
    const kernels = instantiateKernels(this.arena.memory, {
      shared: true,
      maxPages: ARENA_MAX_PAGES,
    });
    this.#k = kernels?.exports ?? null;
    this.kernelVariant = kernels?.variant ?? null;
    this.#threads = options.threads === false ? 1 : undefined;
    const budget = options.gcBudget ?? GC_BUDGET;
    if (!(budget >= 0)) {
      throw new RangeError(
        `WasmBackend(): gcBudget must be a number of bytes ≥ 0, got ${budget}; ` +
          `leave it out for the default (64 MiB)`,
      );
    }
    this.#gcBudget = budget;
    this.#owners = new FinalizationRegistry((h) => {
      this.#sinceFinalizer = 0;
      this.#nextNudge = NUDGE_BYTES;
      this.#nextYield = READ_YIELD_BYTES;
      this.#spilledBytes = 0;
      if (h === null) this.#sentinel = false;
      else this.#drop(h);
    });
  }

  /** Memory counters (for tests and benchmarks). */
  memoryStats(): WasmMemoryStats {
    return {
      ...this.arena.stats(),
      awaitingGcBytes: this.#sinceFinalizer,
      spilledBuffers: this.#spilled,
    };
  }

  // ------------------------------------------------------------ buffers

  /** A block of the arena viewed as `dtype`, or a JS array when the arena is full. */
  protected override alloc(dtype: DType, size: number, zeroed = true): TypedArray {
    const bytes = size * BYTES[dtype];
    const ptr = this.#sinceFinalizer < this.#gcBudget
      ? this.arena.alloc(bytes)
      : this.#allocOverBudget(bytes);
    if (ptr < 0) return this.#jsAlloc(dtype, size, zeroed);
    this.#sinceFinalizer += bytes;
    if (this.#sinceFinalizer >= this.#nextNudge) {
      // The garbage collector cannot see this memory: the tensors owning it
      // are small JS objects. Make it look: a large, untouched ArrayBuffer
      // (an mmap, some 30 µs) counts as external memory and brings the next
      // full collection forward, after which the finalizers give blocks back.
      new ArrayBuffer(NUDGE_BYTES);
      this.#nextNudge = this.#sinceFinalizer + NUDGE_BYTES;
    }
    const buffer = this.arena.buffer;
    let view: TypedArray;
    switch (dtype) {
      case "float32":
        view = new Float32Array(buffer, ptr, size);
        break;
      case "float64":
        view = new Float64Array(buffer, ptr, size);
        break;
      case "int32":
        view = new Int32Array(buffer, ptr, size);
        break;
      default:
        view = new Uint8Array(buffer, ptr, size);
    }
    if (zeroed) view.fill(0);
    return view;
  }

  /**
   * A JS array for a buffer the arena cannot hold; when JS memory refuses it
   * too, the error says so with the arena's limit and use.
   */
  #jsAlloc(dtype: DType, size: number, zeroed = true): TypedArray {
    const bytes = size * BYTES[dtype];
    const pooled = this.#jsPool.get(bytes)?.pop();
    if (pooled !== undefined) {
      this.#jsPoolBytes -= bytes;
      const view = viewOf(dtype, pooled, size);
      if (zeroed) view.fill(0);
      return view;
    }
    try {
      return super.alloc(dtype, size);
    } catch (e) {
      if (!(e instanceof AllocationError)) throw e;
      const why =
        `it does not fit the WebAssembly memory, and JS memory refused it too (${e.detail})`;
      throw new AllocationError(`cannot allocate ${size} ${dtype} elements: ${why}`, why);
    }
  }

  /** The WebAssembly memory's limit and use, for out-of-memory errors. */
  memoryInfo(): string {
    const s = this.arena.stats();
    return `WebAssembly memory limit ${fmtBytes(s.limitBytes)}, ${s.usedBytes} bytes in use; ` +
      `larger tensors go to JS memory; new WasmBackend({ memoryLimit }) raises the limit up to 2 GiB`;
  }

  /**
   * A block when the budget of bytes waiting for the garbage collector is
   * spent: only a block freed before (never the top, which `#run`'s
   * transient blocks take and give back); else -1 (the buffer goes to JS
   * memory). A program that runs without ever letting the
   * event loop turn gets here, and nothing it leaves for the collector
   * comes back before the loop turns: finalizers run only in a task of their
   * own. So that the budget is renewed once they can run, even when every
   * tensor in the arena stays alive, a sentinel object no one holds is
   * registered with them: its finalizer runs after the next collection.
   */
  #allocOverBudget(bytes: number): number {
    if (!this.#sentinel) {
      this.#sentinel = true;
      this.#owners.register({}, null);
    }
    const ptr = this.arena.reuse(bytes);
    if (ptr < 0) {
      this.#spilled++;
      this.#spilledBytes += bytes;
    }
    return ptr;
  }

  /**
   * Runs a WebAssembly kernel that reads `inputs` and writes a new buffer of
   * `size` `dtype` elements, given the arena addresses of the inputs, of the
   * output and of `scratch` blocks of the given sizes (freed afterwards).
   * Inputs in JS memory (and plain arrays) are first copied into transient
   * blocks, and an output that had to go to JS memory is written to a
   * transient block and copied there: the same kernel runs wherever the
   * operands live, so a tensor's values never depend on it (nor on when the
   * garbage collector ran). Transient blocks come from the top of the heap
   * and go back there at once. Returns null when the arena cannot hold them
   * (its limit); the caller then runs the CPU backend's kernel.
   */
  #run(
    inputs: readonly (WasmBuf | Int32Array)[],
    dtype: DType,
    size: number,
    scratch: readonly number[],
    kernel: (at: readonly number[], out: number, scratch: readonly number[]) => void,
  ): DataHandle | null {
    const out = this.alloc(dtype, size, false);
    const temps: number[] = []; // address, bytes, … in the order taken
    const take = (bytes: number): number => {
      const p = this.arena.alloc(bytes);
      if (p >= 0) temps.push(p, bytes);
      return p;
    };
    const at: number[] = [];
    let ok = true;
    for (const x of inputs) {
      if (x instanceof WasmBuf && x.ptr >= 0) {
        at.push(x.ptr);
        continue;
      }
      const v = x instanceof WasmBuf ? x.view : x;
      const p = take(v.byteLength);
      if (p < 0) {
        ok = false;
        break;
      }
      new Uint8Array(this.arena.buffer, p, v.byteLength)
        .set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      at.push(p);
    }
    const scr: number[] = [];
    for (let i = 0; ok && i < scratch.length; i++) {
      const p = take(scratch[i]);
      if (p < 0) ok = false;
      else scr.push(p);
    }
    const spilled = !inArena(out);
    const o = !ok ? -1 : spilled ? take(out.byteLength) : out.byteOffset;
    if (o >= 0) {
      kernel(at, o, scr);
      if (spilled) {
        new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
          .set(new Uint8Array(this.arena.buffer, o, out.byteLength));
      }
    }
    // In reverse, so blocks taken from the top lower it again.
    for (let i = temps.length - 2; i >= 0; i -= 2) this.arena.free(temps[i], temps[i + 1]);
    if (o >= 0) return this.wrap(out);
    if (!spilled) this.#unalloc(out);
    return null;
  }

  /** Gives back a block `alloc` returned that never became a tensor's. */
  #unalloc(out: TypedArray): void {
    this.arena.free(out.byteOffset, out.byteLength);
    this.#sinceFinalizer = Math.max(0, this.#sinceFinalizer - out.byteLength);
  }

  /** The view behind a handle. */
  protected override arr(x: DataHandle): TypedArray {
    return live(x).view;
  }

  /** Wraps an array `alloc` returned. */
  protected override wrap(out: TypedArray): DataHandle {
    return new WasmBuf(out, out.buffer instanceof SharedArrayBuffer ? out.byteOffset : -1);
  }

  /**
   * Resolves to a fresh copy of the buffer. Once per 32 MiB allocated
   * (in the arena or, over the budget, in JS memory) while no finalizer
   * ran, it first lets the event loop turn (some 30 µs), so a training loop
   * that reads its loss every step frees the blocks of collected tensors
   * as it goes.
   */
  override async read(x: DataHandle, dtype: DType, size: number): Promise<TypedArray> {
    const made = this.#sinceFinalizer + this.#spilledBytes;
    if (made >= this.#nextYield) {
      // Not a reset of `#sinceFinalizer`: only finalizers that run say the
      // bytes came back (else the budget and the nudges would never engage).
      this.#nextYield = made + READ_YIELD_BYTES;
      await nextTask();
    }
    return this.readSync(x, dtype, size);
  }

  /** `out[i] = op(x[i])`: float32 and int32 in WebAssembly SIMD (but sin, cos). */
  override unary(spec: UnarySpec): DataHandle {
    const { op, x, size, dtype } = spec;
    const X = live(x), k = this.#k;
    const name = dtype === "float32"
      ? UNARY_F32[op]
      : dtype === "int32"
      ? UNARY_I32[op]
      : undefined;
    if (name !== undefined && k !== null && size > 0) {
      const f = k[name] as (x: number, out: number, n: number) => void;
      const r = this.#run([X], dtype, size, [], ([xp], o) => f(xp, o, size));
      if (r !== null) return r;
    }
    return super.unary(spec);
  }

  /** Broadcast binary ops: float32, int32 and bool in WebAssembly SIMD where a kernel exists. */
  override binary(spec: BinarySpec): DataHandle {
    const { op, a, aStrides, b, bStrides, outShape, dtype } = spec;
    const A = live(a), B = live(b), k = this.#k;
    const name = BINARY[dtype]?.[op];
    const size = sizeOf(outShape);
    if (name !== undefined && k !== null && size > 0) {
      const plan = plan2d(outShape, [aStrides, bStrides]);
      if (plan !== null) {
        const f = k[name] as BinaryKernel, w = dtype === "bool" ? 1 : 4;
        const outW = COMPARISONS.has(op) || dtype === "bool" ? 1 : 4;
        const { rows, cols, rowStrides: rs, colStrides: cs } = plan;
        const r = this.#run(
          [A, B],
          COMPARISONS.has(op) ? "bool" : dtype,
          size,
          [],
          ([ap, bp], o) => {
            for (const [ao, bo] of plan.offsets) {
              f(ap + ao * w, rs[0], cs[0], bp + bo * w, rs[1], cs[1], o, rows, cols);
              o += rows * cols * outW;
            }
          },
        );
        if (r !== null) return r;
      }
    }
    return super.binary(spec);
  }

  /** `cond ? a : b` with broadcasting: 32-bit dtypes in WebAssembly SIMD. */
  override where(spec: WhereSpec): DataHandle {
    const { cond, condStrides, a, aStrides, b, bStrides, outShape, dtype } = spec;
    const C = live(cond), A = live(a), B = live(b), k = this.#k;
    const size = sizeOf(outShape);
    if ((dtype === "float32" || dtype === "int32") && k !== null && size > 0) {
      const plan = plan2d(outShape, [condStrides, aStrides, bStrides]);
      if (plan !== null) {
        const { rows, cols, rowStrides: rs, colStrides: cs } = plan;
        const r = this.#run([C, A, B], dtype, size, [], ([cp, ap, bp], o) => {
          for (const [co, ao, bo] of plan.offsets) {
            k.where_f32(
              cp + co,
              rs[0],
              cs[0],
              ap + ao * 4,
              rs[1],
              cs[1],
              bp + bo * 4,
              rs[2],
              cs[2],
              o,
              rows,
              cols,
            );
            o += rows * cols * 4;
          }
        });
        if (r !== null) return r;
      }
    }
    return super.where(spec);
  }

  /** Sum, max and min of float32 in WebAssembly SIMD (sums accumulate in float64). */
  override reduce(spec: ReduceSpec): DataHandle {
    const { op, x, outer, n, inner, dtype } = spec;
    const X = live(x), k = this.#k;
    if (
      dtype === "float32" && (op === "sum" || op === "max" || op === "min") && k !== null &&
      n > 0 && outer * inner > 0
    ) {
      const r = this.#run([X], "float32", outer * inner, [], ([xp], o) => {
        if (inner === 1) k[`${op}_rows`](xp, o, outer, n);
        else k[`${op}_cols`](xp, o, outer, n, inner);
      });
      if (r !== null) return r;
    }
    return super.reduce(spec);
  }

  /**
   * The indices of a gather or scatter, checked: the buffer itself when
   * none needs a change, else a copy with negative ones wrapped (throws on
   * out-of-range ones).
   */
  #indices(op: string, indices: WasmBuf, count: number, n: number): WasmBuf | Int32Array {
    const idx = indices.view as Int32Array;
    for (let c = 0; c < count; c++) {
      if (idx[c] < 0 || idx[c] >= n) return normalizeIndices(op, idx, count, n);
    }
    return indices;
  }

  /** Row gathers of 4-byte dtypes in WebAssembly (v128 row copies); the rest as on the CPU backend. */
  override gather(spec: GatherSpec): DataHandle {
    const { x, indices, outer, n, inner, count, dtype } = spec;
    const X = live(x), I = live(indices), k = this.#k;
    if ((dtype === "float32" || dtype === "int32") && k !== null && outer * count * inner > 0) {
      const idx = this.#indices("take()", I, count, n);
      const r = this.#run([X, idx], dtype, outer * count * inner, [], ([xp, ip], o) => {
        k.gather32(xp, ip, o, outer, n, inner, count);
      });
      if (r !== null) return r;
    }
    return super.gather(spec);
  }

  /**
   * The gradient of a float32 gather in WebAssembly: sums in float64 in the
   * CPU backend's order, so results match it bit for bit; the rest as there.
   */
  override scatterAdd(spec: ScatterAddSpec): DataHandle {
    const { g, indices, outer, n, inner, count, dtype } = spec;
    const G = live(g), I = live(indices), k = this.#k, size = outer * n * inner;
    if (dtype === "float32" && k !== null && size > 0) {
      const idx = this.#indices("scatterAdd()", I, count, n);
      const r = this.#run([G, idx], "float32", size, [8 * size], ([gp, ip], o, [acc]) => {
        k.scatter_add_f32(gp, ip, acc, o, outer, n, inner, count);
      });
      if (r !== null) return r;
    }
    return super.scatterAdd(spec);
  }

  /**
   * `log Σ exp` of float32 rows (`inner` 1) in WebAssembly SIMD: the row
   * maxima, then the shifted sums of exponentials (accumulated in float64);
   * the rest as on the CPU backend.
   */
  override logsumexp(spec: LogsumexpSpec): DataHandle {
    const { x, outer, n, inner, dtype } = spec;
    const X = live(x), k = this.#k;
    if (dtype === "float32" && inner === 1 && k !== null && n > 0 && outer > 0) {
      const r = this.#run([X], "float32", outer, [4 * outer], ([xp], o, [sums]) => {
        k.max_rows(xp, o, outer, n);
        const shift = new Float32Array(this.arena.buffer, o, outer);
        for (let r = 0; r < outer; r++) if (shift[r] - shift[r] !== 0) shift[r] = 0; // ±∞, NaN
        k.sumexp_rows(xp, o, sums, outer, n);
        const s = new Float32Array(this.arena.buffer, sums, outer);
        for (let r = 0; r < outer; r++) shift[r] = Math.log(s[r]) + shift[r];
      });
      if (r !== null) return r;
    }
    return super.logsumexp(spec);
  }

  /**
   * Batched matrix product: float32 in the WebAssembly GEMM, straight from
   * and to the arena (on two threads for big products); the rest as on the
   * CPU backend.
   */
  override matmul(a: DataHandle, b: DataHandle, spec: MatmulSpec, dtype: DType): DataHandle {
    const A = live(a), B = live(b), { m, k, n } = spec;
    const gemm = this.#gemm;
    if (dtype !== "float32" || gemm === null || m * k * n < WASM_GEMM_MIN_WORK) {
      return super.matmul(a, b, spec, dtype);
    }
    let batch = 1;
    for (const d of spec.batchShape) batch *= d;
    const scratchBytes = gemm.scratchBytes(spec, this.#threads);
    const r = this.#run([A, B], "float32", batch * m * n, [scratchBytes], ([ap, bp], o, [s]) => {
      gemm.matmul(ap, bp, o, spec, s, this.#threads);
    });
    return r ?? super.matmul(a, b, spec, dtype); // the arena is full
  }

  /** Copies `values` into the arena, then frees a large `values` at once (the backend owns it). */
  override upload(values: TypedArray, dtype: DType): DataHandle {
    const out = this.alloc(dtype, values.length, false);
    out.set(values);
    detachLarge(values);
    return this.wrap(out);
  }

  /**
   * Records `owner` (a tensor) as an owner of `handle`: the block goes back
   * to the arena once every owner was disposed or garbage-collected.
   */
  track(owner: object, handle: DataHandle): void {
    const h = handle as WasmBuf;
    h.refs++;
    if (h.ptr >= 0) this.#owners.register(owner, h, owner);
  }

  /**
   * Gives up `owner`'s share of the buffer (freeing it when no owner is
   * left). Without an owner, frees a buffer no tensor owns (one owned by
   * tensors is left to them).
   */
  override dispose(x: DataHandle, owner?: object): void {
    const h = x as WasmBuf;
    if (owner !== undefined) {
      // Arena buffers' owners are registered with the finalizers; JS memory's are only counted.
      if (h.ptr < 0 ? !h.released : this.#owners.unregister(owner)) this.#drop(h);
    } else if (h.refs <= 0) this.#release(h);
  }

  /** One owner less; frees the block when none is left. */
  #drop(h: WasmBuf): void {
    if (--h.refs <= 0) this.#release(h);
  }

  /** Gives the block back (once); JS memory goes to the pool (see `#jsAlloc`). */
  #release(h: WasmBuf): void {
    if (h.released) return;
    if (h.ptr < 0) {
      h.released = true;
      const buf = h.view.buffer as ArrayBuffer, bytes = buf.byteLength;
      if (bytes === h.view.byteLength && bytes > 0 && this.#jsPoolBytes + bytes <= JS_POOL_BYTES) {
        const list = this.#jsPool.get(bytes);
        if (list === undefined) this.#jsPool.set(bytes, [buf]);
        else list.push(buf);
        this.#jsPoolBytes += bytes;
      }
      return;
    }
    h.released = true;
    this.arena.free(h.ptr, h.view.byteLength);
    // Freed bytes no longer wait for the garbage collector: a loop that
    // frees what it allocates (valueAndGrad, tidy, dispose) never nudges it.
    this.#sinceFinalizer = Math.max(0, this.#sinceFinalizer - h.view.byteLength);
  }
}
