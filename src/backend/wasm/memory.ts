/**
 * Where the `wasm` backend's tensors live, and when their memory comes back:
 * blocks of the arena (`arena.ts`) while the garbage collector keeps up,
 * ordinary JS memory past a budget or the arena's limit, and the transient
 * blocks a kernel's operands are copied into when they are not in the arena.
 *
 * The core calls `track` for every tensor made around a handle, and a
 * `FinalizationRegistry` gives the block back once every tensor owning it
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

import { allocArray, BYTES, type DType, dtypeOfArray, type TypedArray } from "../../core/dtype.ts";
import { AllocationError, fmtBytes } from "../../core/errors.ts";
import type { KernelLaunch } from "../backend.ts";
import { Arena, type ArenaStats } from "./arena.ts";
import { inArena, viewOf, WasmBuf, type WasmReservation } from "./buffer.ts";

/** Bytes of the ArrayBuffer that nudges the garbage collector (see `alloc`). */
const NUDGE_BYTES = 64 * 2 ** 20;

/** Allocated bytes after which `read` lets the event loop turn (so finalizers can run). */
const READ_YIELD_BYTES = 32 * 2 ** 20;

/** Default of {@link WasmMemoryOptions.gcBudget}: 64 MiB. */
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

/**
 * Options of {@link WasmMemory} (see `WasmBackendOptions`, which documents them).
 * @internal
 */
export interface WasmMemoryOptions {
  /** The arena's limit in bytes. Default 1 GiB; at most 2 GiB. */
  readonly memoryLimit?: number;
  /** Bytes of arena tensors that may wait for the garbage collector. Default 64 MiB. */
  readonly gcBudget?: number;
}

/** Memory counters of the `wasm` backend: the arena's, and how the garbage collector keeps up. */
export interface WasmMemoryStats extends ArenaStats {
  /**
   * Bytes of tensors allocated in the arena since finalizers last ran and
   * not freed explicitly (they wait for the garbage collector).
   */
  readonly awaitingGcBytes: number;
  /** Buffers put in JS memory because the `gcBudget` was reached. */
  readonly spilledBuffers: number;
  /** Tensor buffers allocated so far (in the arena or JS memory; not kernels' transient blocks). */
  readonly buffers: number;
}

/**
 * A kernel run by {@linkcode WasmMemory.run}: given the arena addresses of
 * its inputs, of its output and of its scratch blocks.
 * @internal
 */
export type WasmKernelCall = (
  at: readonly number[],
  out: number,
  scratch: readonly number[],
) => void;

/**
 * The `wasm` backend's buffers: allocation in the arena or JS memory, owners
 * and finalizers, the budget of bytes waiting for the garbage collector,
 * the pool of freed JS memory, and the transient blocks kernels run on (see
 * the module documentation).
 * @internal
 */
export class WasmMemory {
  /** The memory and its allocator. */
  readonly arena: Arena;
  /**
   * Gives a block back once the last tensor owning it is collected; `null`
   * marks the sentinel (see `#allocOverBudget`).
   */
  readonly #owners: FinalizationRegistry<WasmBuf | null>;
  /** Bytes allocated, less those freed, since a finalizer last ran (see `alloc`, `read`). */
  #sinceFinalizer = 0;
  /** Bytes uploaded since a finalizer last ran (for the nudges only; see `upload`). */
  #uploaded = 0;
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
  /** The reservation's buffer `alloc` handed out, until `wrap` wraps its view. */
  #handed: WasmBuf | null = null;
  /** Tensor buffers allocated so far (see `stats`). */
  #buffers = 0;
  /** Where the next output of `run` goes (see `into`), or null. */
  #place: WasmBuf | null = null;
  /** The kernels `run` ran inside `record`, or null outside it. */
  #recording: KernelLaunch[] | null = null;
  /** Whether every kernel run inside `record` so far was replayable. */
  #recordedAll = true;
  /** `#sinceFinalizer` at which to nudge the garbage collector next. */
  #nextNudge = NUDGE_BYTES;
  /** `#sinceFinalizer` at which `read` lets the event loop turn next. */
  #nextYield = READ_YIELD_BYTES;

  /**
   * A new arena with its bookkeeping.
   *
   * @param options Memory limit and garbage-collector budget.
   */
  constructor(options: WasmMemoryOptions = {}) {
    this.arena = new Arena({ limitBytes: options.memoryLimit });
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
      this.#uploaded = 0;
      this.#nextNudge = NUDGE_BYTES;
      this.#nextYield = READ_YIELD_BYTES;
      this.#spilledBytes = 0;
      if (h === null) this.#sentinel = false;
      else this.#drop(h);
    });
  }

  /**
   * Memory counters (for tests and benchmarks).
   *
   * @returns The arena's counters and the garbage collector's backlog.
   */
  stats(): WasmMemoryStats {
    return {
      ...this.arena.stats(),
      awaitingGcBytes: this.#sinceFinalizer,
      spilledBuffers: this.#spilled,
      buffers: this.#buffers,
    };
  }

  /**
   * The WebAssembly memory's limit and use, for out-of-memory errors.
   *
   * @returns A sentence for the error message.
   */
  info(): string {
    const s = this.arena.stats();
    return `WebAssembly memory limit ${fmtBytes(s.limitBytes)}, ${s.usedBytes} bytes in use; ` +
      `larger tensors go to JS memory; new WasmBackend({ memoryLimit }) raises the limit up to 2 GiB`;
  }

  /**
   * A block of the arena viewed as `dtype`, or a JS array when the arena is
   * full or the budget spent.
   *
   * @param dtype The elements' dtype.
   * @param size How many elements.
   * @param zeroed Whether the elements must be zero (else the caller writes them all).
   * @returns The elements.
   */
  alloc(dtype: DType, size: number, zeroed: boolean): TypedArray {
    return this.#allocCounted(dtype, size, zeroed, true);
  }

  /**
   * A buffer holding a copy of host data (a tensor made from JS values, a
   * dataset, loaded weights). Its bytes are not counted toward the budget
   * of bytes waiting for the garbage collector: such tensors are made
   * deliberately and mostly kept (a dataset of hundreds of MiB loaded at
   * start would otherwise send every later buffer to JS memory until the
   * collector happened to run). They still count toward the nudges.
   *
   * @param values The data.
   * @param dtype Its dtype.
   * @returns The buffer.
   */
  upload(values: TypedArray, dtype: DType): WasmBuf {
    const out = this.#allocCounted(dtype, values.length, false, false);
    out.set(values);
    const h = this.wrap(out);
    h.uploaded = h.ptr >= 0;
    return h;
  }

  #allocCounted(dtype: DType, size: number, zeroed: boolean, counted: boolean): TypedArray {
    const p = this.#place;
    if (p !== null && p.pinned && this.#takePlacement(dtype, size) !== null) {
      // A reservation's buffer for a kernel of the CPU backend (see `into`).
      this.#handed = p;
      if (zeroed) p.view.fill(0);
      return p.view;
    }
    this.#buffers++;
    const bytes = size * BYTES[dtype];
    const ptr = this.#sinceFinalizer < this.#gcBudget
      ? this.arena.alloc(bytes)
      : this.#allocOverBudget(bytes);
    if (ptr < 0) return this.#jsAlloc(dtype, size, zeroed);
    if (counted) this.#sinceFinalizer += bytes;
    else this.#uploaded += bytes;
    if (this.#sinceFinalizer + this.#uploaded >= this.#nextNudge) {
      // The garbage collector cannot see this memory: the tensors owning it
      // are small JS objects. Make it look: a large, untouched ArrayBuffer
      // (an mmap, some 30 µs) counts as external memory and brings the next
      // full collection forward, after which the finalizers give blocks back.
      new ArrayBuffer(NUDGE_BYTES);
      this.#nextNudge = this.#sinceFinalizer + this.#uploaded + NUDGE_BYTES;
    }
    const view = viewOf(dtype, this.arena.buffer, size, ptr);
    if (zeroed) view.fill(0);
    return view;
  }

  /**
   * A JS array for a buffer the arena cannot hold; when JS memory refuses it
   * too, the error says so with the arena's limit and use.
   */
  #jsAlloc(dtype: DType, size: number, zeroed: boolean): TypedArray {
    const bytes = size * BYTES[dtype];
    const pooled = this.#jsPool.get(bytes)?.pop();
    if (pooled !== undefined) {
      this.#jsPoolBytes -= bytes;
      const view = viewOf(dtype, pooled, size);
      if (zeroed) view.fill(0);
      return view;
    }
    try {
      return allocArray(dtype, size);
    } catch (e) {
      if (!(e instanceof AllocationError)) throw e;
      const why =
        `it does not fit the WebAssembly memory, and JS memory refused it too (${e.detail})`;
      throw new AllocationError(`cannot allocate ${size} ${dtype} elements: ${why}`, why);
    }
  }

  /**
   * A block when the budget of bytes waiting for the garbage collector is
   * spent: only a block freed before (never the top, which `run`'s
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
   * Wraps an array `alloc` returned.
   *
   * @param out The array.
   * @returns The handle.
   */
  wrap(out: TypedArray): WasmBuf {
    const h = this.#handed;
    if (h !== null && h.view === out) {
      this.#handed = null;
      return h;
    }
    return new WasmBuf(out, inArena(out) ? out.byteOffset : -1);
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
   * and go back there at once.
   *
   * @param inputs The operands (handles, or host arrays such as checked indices).
   * @param dtype The output's dtype.
   * @param size The output's elements.
   * @param scratch Bytes of each scratch block the kernel needs.
   * @param kernel The kernel call.
   * @param replayable Whether the kernel depends on nothing but its
   *   operands' addresses and the shapes it was made for, so that `record`
   *   may hand it out to run again (false: e.g. it reads indices checked on
   *   the host before it ran).
   * @param into The buffer to write, where it fits (as `into` places it);
   *   null: where `into` says, else a new buffer.
   * @returns The output, or null when the arena cannot hold the transient
   *   blocks (its limit): the caller then runs the CPU backend's kernel.
   */
  run(
    inputs: readonly (WasmBuf | Int32Array)[],
    dtype: DType,
    size: number,
    scratch: readonly number[],
    kernel: WasmKernelCall,
    replayable = true,
    into: WasmBuf | null = null,
  ): WasmBuf | null {
    const placed = into === null
      ? this.#takePlacement(dtype, size)
      : this.#fits(into, dtype, size)
      ? into
      : null;
    const out = placed?.view ?? this.alloc(dtype, size, false);
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
    if (o < 0) {
      if (placed === null && !spilled) this.#unalloc(out);
      return null;
    }
    const result = placed ?? this.wrap(out);
    const log = this.#recording;
    if (log !== null) {
      if (!replayable || !inputs.every((x) => x instanceof WasmBuf)) this.#recordedAll = false;
      else {
        const at = new Array<number>(inputs.length); // the operands' addresses, call after call
        log.push({
          reads: inputs as readonly WasmBuf[],
          wrote: result,
          again: (reads, into) => {
            const bufs = reads as readonly WasmBuf[], out = into as WasmBuf | null;
            // The common case without `run`'s bookkeeping: operands in the
            // arena, no scratch, the output where it was asked to go.
            if (scratch.length === 0 && out !== null && this.#fits(out, dtype, size)) {
              let i = 0;
              for (; i < bufs.length && bufs[i].ptr >= 0; i++) at[i] = bufs[i].ptr;
              if (i === bufs.length) {
                kernel(at, out.ptr, scratch);
                return out;
              }
            }
            return this.run(bufs, dtype, size, scratch, kernel, true, out);
          },
        });
      }
    }
    return result;
  }

  /**
   * Runs `body` and records the kernels `run` ran in it (see
   * `Backend.record`); `launches` is null when one of them was not
   * replayable.
   *
   * @param body One primitive's kernels.
   * @returns What `body` returns, and the launches.
   */
  record<T>(body: () => T): { value: T; launches: KernelLaunch[] | null } {
    const outer = this.#recording, outerAll = this.#recordedAll;
    const log: KernelLaunch[] = [];
    this.#recording = log;
    this.#recordedAll = true;
    try {
      const value = body();
      return { value, launches: this.#recordedAll ? log : null };
    } finally {
      this.#recording = outer;
      this.#recordedAll = outerAll;
    }
  }

  /**
   * Runs `body` so that the next output `run` makes, if it has `out`'s
   * dtype and size, is `out` itself: a buffer of a reservation, or a
   * buffer only one tensor owns (a donated argument, which the kernel may
   * read while writing it: elementwise kernels read each element before
   * writing it). Anything else is left to a new buffer. A reservation's
   * buffer also serves the next `alloc` of that dtype and size (a kernel
   * of the CPU backend); a donated one does not, since a CPU kernel may
   * allocate a temporary before its output.
   *
   * @param out The buffer to write.
   * @param body One primitive's kernels.
   * @returns What `body` returns.
   */
  into<T>(out: WasmBuf, body: () => T): T {
    this.#place = out;
    try {
      return body();
    } finally {
      this.#place = null;
      this.#handed = null;
    }
  }

  /** The buffer `into` asked for, once, when it fits a `size`-element `dtype` output. */
  #takePlacement(dtype: DType, size: number): WasmBuf | null {
    const p = this.#place;
    if (p === null) return null;
    this.#place = null;
    return this.#fits(p, dtype, size) ? p : null;
  }

  /** Whether a kernel may write its `size`-element `dtype` output over `p` (see `into`). */
  #fits(p: WasmBuf, dtype: DType, size: number): boolean {
    return p.ptr >= 0 && !p.released && (p.pinned || p.refs === 1) &&
      p.view.length === size && dtypeOfArray(p.view) === dtype;
  }

  /**
   * Reserves `bytes` of the arena for one program's intermediates (see
   * `Backend.reserve`); null when the arena cannot hold them.
   *
   * @param bytes How many bytes.
   * @returns The reservation, or null.
   */
  reserve(bytes: number): WasmReservation | null {
    const base = this.arena.alloc(Math.max(bytes, 1));
    if (base < 0) return null;
    let freed = false;
    return {
      bytes,
      view: (offset: number, dtype: DType, size: number): WasmBuf => {
        if (freed) throw new Error("wasm backend: the reservation was already freed");
        const ptr = base + offset;
        return new WasmBuf(viewOf(dtype, this.arena.buffer, size, ptr), ptr, true);
      },
      free: (): void => {
        if (freed) return;
        freed = true;
        this.arena.free(base, Math.max(bytes, 1));
      },
    };
  }

  /** Gives back a block `alloc` returned that never became a tensor's. */
  #unalloc(out: TypedArray): void {
    this.arena.free(out.byteOffset, out.byteLength);
    this.#sinceFinalizer = Math.max(0, this.#sinceFinalizer - out.byteLength);
  }

  /**
   * Once per 32 MiB allocated (in the arena or, over the budget, in JS
   * memory) while no finalizer ran, a promise that resolves after the event
   * loop turned (some 30 µs), so a training loop that reads its loss every
   * step frees the blocks of collected tensors as it goes; else null.
   *
   * @returns A promise to await before reading, or null.
   */
  turnBeforeRead(): Promise<void> | null {
    const made = this.#sinceFinalizer + this.#spilledBytes;
    if (made < this.#nextYield) return null;
    // Not a reset of `#sinceFinalizer`: only finalizers that run say the
    // bytes came back (else the budget and the nudges would never engage).
    this.#nextYield = made + READ_YIELD_BYTES;
    return nextTask();
  }

  /**
   * Records `owner` (a tensor) as an owner of `h`: the block goes back to
   * the arena once every owner was disposed or garbage-collected.
   *
   * @param owner The tensor.
   * @param h Its buffer.
   */
  track(owner: object, h: WasmBuf): void {
    if (h.pinned) return;
    h.refs++;
    if (h.ptr >= 0) this.#owners.register(owner, h, owner);
  }

  /**
   * Gives up `owner`'s share of the buffer (freeing it when no owner is
   * left). Without an owner, frees a buffer no tensor owns (one owned by
   * tensors is left to them).
   *
   * @param h The buffer.
   * @param owner The tensor giving it up, if any.
   */
  dispose(h: WasmBuf, owner?: object): void {
    if (h.pinned) return;
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
    if (!h.uploaded) {
      this.#sinceFinalizer = Math.max(0, this.#sinceFinalizer - h.view.byteLength);
    }
  }
}
