/**
 * The memory of the `wasm` backend: one shared `WebAssembly.Memory` that
 * holds every tensor, carved up by a small allocator written for the way tensor programs allocate.
 *
 * A training loop allocates the same few sizes over and over, so freed
 * blocks go onto an exact-size free list and the next request of that size
 * takes one back in O(1). New sizes come from the top of the heap (a bump
 * pointer) while the memory has room. When neither works, the free lists
 * are merged into runs of adjacent blocks (the run at the top lowers the
 * top) and the request is served first-fit from those runs, splitting a
 * larger run, or from the top again; only then does the memory grow, so it
 * stays near the most ever in use however many sizes come and go (it
 * cannot shrink). Only when growing fails too does `alloc` return -1, and
 * the backend keeps that tensor in ordinary JS memory instead.
 *
 * Blocks are multiples of 16 bytes and start on 16-byte boundaries, so SIMD
 * kernels see aligned buffers. Address 0 is never handed out.
 *
 * @module
 */

/** Bytes in a WebAssembly page. */
export const WASM_PAGE = 65536;
/** Largest memory the arena (and the modules built for it) may reach: 2 GiB. */
export const ARENA_MAX_PAGES = 32768;

/** Rounds a byte count up to whole 16-byte units (at least one). */
export function blockBytes(bytes: number): number {
  return bytes <= 16 ? 16 : (bytes + 15) & ~15;
}

/** Counters of an {@link Arena}, for tests and benchmarks. */
export interface ArenaStats {
  /** Bytes of the linear memory. */
  readonly memoryBytes: number;
  /** Bytes in blocks handed out and not yet freed. */
  readonly usedBytes: number;
  /** The most `usedBytes` has been since the arena was made or `resetPeak` was called. */
  readonly peakUsedBytes: number;
  /** Bytes in freed blocks waiting for reuse (below the top). */
  readonly freeBytes: number;
  /** The most bytes the memory may grow to. */
  readonly limitBytes: number;
  /** Requests that could not be served (the caller fell back to JS memory). */
  readonly failed: number;
}

/** Options of {@link Arena}. */
export interface ArenaOptions {
  /** Initial size in bytes (rounded up to pages). Default 16 MiB. */
  readonly initialBytes?: number;
  /** Largest size in bytes (rounded down to pages, at most 2 GiB). Default 1 GiB. */
  readonly limitBytes?: number;
}

/**
 * A linear memory with an allocator.
 * @internal
 */
export class Arena {
  /** The memory every tensor of the backend lives in. */
  readonly memory: WebAssembly.Memory;
  /** The most pages the memory may have (its declared maximum may be larger). */
  readonly limitPages: number;
  /** Free blocks by size: size in bytes → stack of addresses. */
  readonly #free = new Map<number, number[]>();
  /** Blocks on the free lists (freed since the last merge). */
  #listed = 0;
  /** Merged free runs `[address, bytes]` sorted by address (see `#coalesce`). */
  #runs: [number, number][] = [];
  /** First byte above every block ever handed out and not given back to the top. */
  #top = 16;
  #used = 0;
  #peak = 0;
  #freeBytes = 0;
  #failed = 0;
  #buffer: ArrayBufferLike;

  /**
   * Creates the memory. It is a shared memory, whose buffer never detaches
   * when it grows, so views of live blocks stay valid; this throws where
   * shared WebAssembly memory is unavailable.
   *
   * @param opts Initial size and limit.
   */
  constructor(opts: ArenaOptions = {}) {
    const limit = Math.min(opts.limitBytes ?? 2 ** 30, ARENA_MAX_PAGES * WASM_PAGE);
    this.limitPages = Math.max(1, Math.floor(limit / WASM_PAGE));
    const initial = Math.min(
      this.limitPages,
      Math.max(1, Math.ceil((opts.initialBytes ?? 16 * 2 ** 20) / WASM_PAGE)),
    );
    this.memory = new WebAssembly.Memory({ initial, maximum: this.limitPages, shared: true });
    this.#buffer = this.memory.buffer;
  }

  /** The memory's current buffer (a new object after each growth; older views stay valid). */
  get buffer(): ArrayBufferLike {
    return this.#buffer;
  }

  /**
   * A block of at least `bytes` bytes (16-byte aligned; the contents are
   * whatever was there before), or -1 when the limit is reached.
   *
   * @param bytes The size wanted.
   * @returns The block's address, or -1.
   */
  alloc(bytes: number): number {
    return this.#alloc(bytes, true);
  }

  /**
   * Like `alloc`, but only a block freed before: one of the same size or
   * part of a merged free run, never room at the top (nor growth); else -1
   * (not counted as a failure). The top is left to blocks given back at
   * once, which lower it again.
   *
   * @param bytes The size wanted.
   * @returns The block's address, or -1.
   */
  reuse(bytes: number): number {
    return this.#alloc(bytes, false);
  }

  /** `alloc` (`fresh`: also from the top, growing the memory and merging free blocks if needed) and `reuse`. */
  #alloc(bytes: number, fresh: boolean): number {
    if (!(bytes <= this.limitPages * WASM_PAGE - 16)) {
      // Can never fit (the first 16 bytes are not handed out); from 2³¹ - 16
      // on, blockBytes' 32-bit arithmetic would also wrap.
      this.#failed++;
      return -1;
    }
    const size = blockBytes(bytes);
    const list = this.#free.get(size);
    if (list !== undefined && list.length > 0) {
      this.#freeBytes -= size;
      this.#listed--;
      this.#used += size;
      if (this.#used > this.#peak) this.#peak = this.#used;
      return list.pop()!;
    }
    let p = this.#runs.length > 0 ? this.#fromRuns(size) : -1;
    if (p < 0 && !fresh) return -1;
    if (p < 0) p = this.#bump(size, false);
    if (p < 0 && this.#listed > 0) {
      // Merge the free blocks before growing: else every new size (a batch of
      // another size, a layer of another width) grew the memory, which never
      // shrinks, up to its limit while little of it was in use.
      this.#coalesce();
      p = this.#fromRuns(size);
      if (p < 0) p = this.#bump(size, false);
    }
    if (p < 0) p = this.#bump(size, true);
    if (p < 0) {
      this.#failed++;
      return -1;
    }
    this.#used += size;
    if (this.#used > this.#peak) this.#peak = this.#used;
    return p;
  }

  /** Starts measuring `peakUsedBytes` again from the bytes in use now. */
  resetPeak(): void {
    this.#peak = this.#used;
  }

  /**
   * Gives a block back.
   *
   * @param ptr Its address, as `alloc` returned it.
   * @param bytes The size asked for when it was allocated.
   */
  free(ptr: number, bytes: number): void {
    const size = blockBytes(bytes);
    this.#used -= size;
    if (ptr + size === this.#top) {
      this.#top = ptr; // the topmost block goes straight back to the top
      return;
    }
    this.#freeBytes += size;
    this.#listed++;
    const list = this.#free.get(size);
    if (list === undefined) this.#free.set(size, [ptr]);
    else list.push(ptr);
  }

  /** The counters. */
  stats(): ArenaStats {
    return {
      memoryBytes: this.#buffer.byteLength,
      usedBytes: this.#used,
      peakUsedBytes: this.#peak,
      freeBytes: this.#freeBytes,
      limitBytes: this.limitPages * WASM_PAGE,
      failed: this.#failed,
    };
  }

  /** A block from the top of the heap, growing the memory if needed and `grow`; else -1. */
  #bump(size: number, grow: boolean): number {
    const p = this.#top, end = p + size;
    if (end > this.#buffer.byteLength) {
      if (!grow) return -1;
      const pages = Math.ceil(end / WASM_PAGE);
      if (pages > this.limitPages) return -1;
      // Grow by at least a quarter, so a growing program pays for few grows.
      const have = this.#buffer.byteLength / WASM_PAGE;
      const want = Math.min(this.limitPages, Math.max(pages, Math.ceil(have * 1.25)));
      try {
        this.memory.grow(want - have);
      } catch {
        try {
          this.memory.grow(pages - have);
        } catch {
          return -1;
        }
      }
      this.#buffer = this.memory.buffer;
    }
    this.#top = end;
    return p;
  }

  /**
   * Moves every free block into `#runs`, merging neighbours; a run that ends
   * at the top is given back to the top.
   */
  #coalesce(): void {
    const blocks: [number, number][] = [...this.#runs];
    for (const [size, list] of this.#free) for (const p of list) blocks.push([p, size]);
    this.#free.clear();
    this.#listed = 0;
    blocks.sort((a, b) => a[0] - b[0]);
    const runs: [number, number][] = [];
    for (const [p, size] of blocks) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[0] + last[1] === p) last[1] += size;
      else runs.push([p, size]);
    }
    const last = runs[runs.length - 1];
    if (last !== undefined && last[0] + last[1] === this.#top) {
      this.#top = last[0];
      this.#freeBytes -= last[1];
      runs.pop();
    }
    this.#runs = runs;
  }

  /** First fit from the merged runs (splitting a larger run); -1 when none is large enough. */
  #fromRuns(size: number): number {
    for (let i = 0; i < this.#runs.length; i++) {
      const run = this.#runs[i];
      if (run[1] < size) continue;
      const p = run[0];
      if (run[1] === size) this.#runs.splice(i, 1);
      else {
        run[0] += size;
        run[1] -= size;
      }
      this.#freeBytes -= size;
      return p;
    }
    return -1;
  }
}
