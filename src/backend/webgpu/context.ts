/**
 * The WebGPU plumbing shared by every kernel: the device and its limits,
 * segmented storage, a pipeline cache keyed by WGSL source, pooled buffers,
 * and `run`, which binds storage plus one uniform block and dispatches a
 * compute shader.
 *
 * **Segmented storage.** An adapter binds at most
 * `maxStorageBufferBindingSize` bytes of a buffer to one shader variable
 * (128 MiB on llvmpipe, 2–4 GiB on most discrete GPUs), so a tensor is
 * stored as a {@linkcode Store}: one or more buffers ("segments") of
 * `segWords` 4-byte words each (a power of two: the largest that fits the
 * binding limit and `maxBufferSize`), the last one possibly shorter. Almost
 * every tensor has one segment. A kernel declares each storage operand with
 * {@linkcode GpuContext.declare}, which binds every segment and defines
 * accessors `ld_<name>(i: u32)` and `st_<name>(i: u32, v)` that pick the
 * segment from the high bits of `i`; kernels never index storage arrays
 * directly. Elementwise kernels dispatch once per output segment and bind
 * only the matching segment of inputs laid out like the output
 * ({@linkcode Window}), so their size is bounded only by memory; other
 * kernels bind whole operands, and a dispatch that would need more
 * bindings than `maxStorageBuffersPerShaderStage` is a RangeError naming the
 * op, the operands and the limit — never a skipped dispatch.
 *
 * **Limits and errors.** The device is requested with the adapter's own
 * limits. A tensor may hold at most {@linkcode GpuContext.maxWords} elements
 * (fewer than 2³¹, and few enough segments that a kernel with one such input
 * and one output can bind it); a larger one is a RangeError naming the op,
 * the bytes and the limits. Device errors arrive asynchronously; the first
 * one is kept and thrown by the next read (once), so a failed kernel never
 * returns stale or zero values silently.
 *
 * **One submit per batch.** Commands go through a {@linkcode Recorder}
 * (`recorder.ts`): submitted per kernel outside {@linkcode GpuContext.batch},
 * once per batch inside. Buffers come from a {@linkcode BufferPool}
 * (`pool.ts`), which keeps uploads and destruction from racing commands
 * that are recorded but not yet submitted.
 *
 * Binding convention for every kernel: `@group(0) @binding(0)` is the
 * uniform block (`var<uniform> u: U;`, the `uniforms` words given to
 * `run`), then the storage operands' segments in the order declared. Entry
 * point: `main`, workgroup size chosen by the kernel.
 *
 * @module
 */

import { AllocationError } from "../../core/errors.ts";
import { BufferPool } from "./pool.ts";
import { LruMap } from "../_lru.ts";
import { Recorder } from "./recorder.ts";

/** The largest number of workgroups per dimension WebGPU guarantees (`maxComputeWorkgroupsPerDimension` ≥ this). */
export const MAX_GROUPS = 65535;

/** The WGSL scalar type of a storage element. */
export type WgslScalar = "f32" | "i32" | "u32";

/**
 * Storage on the GPU: `words` 4-byte words in segments of `segWords` words
 * (the last may be shorter). Always at least one segment, even when empty.
 * @internal
 */
export interface Store {
  /** The segment buffers, in order. */
  readonly segs: readonly GPUBuffer[];
  /** The number of 4-byte words in use. */
  readonly words: number;
}

/**
 * A storage operand of a kernel: bound under `name` with accessors
 * `ld_<name>` (and `st_<name>` when `write`).
 * @internal
 */
export interface Operand {
  /** The WGSL name (accessors are `ld_<name>` and `st_<name>`). */
  readonly name: string;
  /** The element type the kernel sees. */
  readonly type: WgslScalar;
  /** The storage (or, for a windowed operand, the one segment bound in this dispatch). */
  readonly store: Store;
  /** Bound `read_write` (default: `read`). */
  readonly write?: boolean;
}

/**
 * An operand of a per-segment dispatch (see {@linkcode GpuContext.runWindows}):
 * `window` operands are laid out like the output, so only the segment
 * being written is bound and they are indexed by the local index; the others
 * are bound whole.
 * @internal
 */
export interface WindowOperand {
  /** The WGSL name. */
  readonly name: string;
  /** The element type the kernel sees. */
  readonly type: WgslScalar;
  /** The whole storage. */
  readonly store: Store;
  /** Whether the operand is indexed like the output (same words, same order). */
  readonly window: boolean;
}

/** Options of {@linkcode GpuContext.create}. */
export interface GpuContextOptions {
  /**
   * Bind at most this many bytes per storage variable (default and maximum:
   * the adapter's `maxStorageBufferBindingSize`, further capped by
   * `maxBufferSize`). Smaller values make every tensor above it segmented —
   * tests use this to run the segmented paths on small data.
   */
  readonly maxBindingBytes?: number;
  /** Bind at most this many storage buffers per kernel (default: the adapter's `maxStorageBuffersPerShaderStage`). */
  readonly maxBindings?: number;
  /** Keep at most this many bytes of released buffers for reuse (default {@linkcode GpuContext.POOL_LIMIT}). */
  readonly poolBytes?: number;
  /**
   * Reduce each output in one invocation instead of a shared-memory tree
   * (default: on software adapters, whose workgroup barriers are costly;
   * see `kernels_reduce.ts`).
   */
  readonly serialReductions?: boolean;
}

/** Small constant stores kept by {@linkcode GpuContext.constant}: at most this many words each… */
const CONSTANT_WORDS = 64;
/** …and this many stores. */
const CONSTANT_ENTRIES = 1024;

/** `bytes` for messages: `188160000 bytes (179.4 MiB)`. @internal */
export function showBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes, u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} bytes` : `${bytes} bytes (${v.toFixed(v < 10 ? 2 : 1)} ${units[u]})`;
}

/** A device plus its limits, pipeline cache and buffer pool. @internal */
export class GpuContext {
  /** The WebGPU device. */
  readonly device: GPUDevice;
  /** Whether the adapter is a software fallback (e.g. llvmpipe). */
  readonly isFallback: boolean;
  /** The adapter's description, for messages. */
  readonly description: string;
  /** Words per segment (a power of two). */
  readonly segWords: number;
  /** `log2(segWords)`. */
  readonly segShift: number;
  /** The most storage buffers one kernel may bind. */
  readonly maxBindings: number;
  /** The most elements one tensor may hold. */
  readonly maxWords: number;
  /**
   * Whether reductions run one invocation per output
   * (`GpuContextOptions.serialReductions`); may change between kernels
   * (tests run both plans on one device).
   */
  serialReductions: boolean;
  /** Pipelines by WGSL source: the 1 024 most recently used (constants vary). */
  readonly #pipelines = new LruMap<string, GPUComputePipeline>(1024);
  #error: string | null = null;
  /** Small constant stores by content (see `constant`). */
  readonly #constants = new Map<string, Store>();
  /** Records commands and submits them. */
  readonly #rec: Recorder;
  /** Storage and staging buffers. */
  readonly #pool: BufferPool;
  /** Most bytes kept in the pool for reuse. */
  static readonly POOL_LIMIT = 256 * 1024 * 1024;

  /**
   * A context on a device (use {@linkcode GpuContext.create}).
   *
   * @param device The device.
   * @param isFallback Whether the adapter is a software fallback.
   * @param description The adapter's description.
   * @param opts Lower binding limits (tests).
   */
  constructor(
    device: GPUDevice,
    isFallback: boolean,
    description: string,
    opts: GpuContextOptions = {},
  ) {
    this.device = device;
    this.isFallback = isFallback;
    this.description = description;
    const lim = device.limits;
    const bindBytes = Math.min(
      lim.maxStorageBufferBindingSize,
      lim.maxBufferSize,
      opts.maxBindingBytes ?? Infinity,
    );
    this.segShift = Math.floor(Math.log2(Math.max(bindBytes, 256) / 4));
    this.segWords = 2 ** this.segShift;
    this.maxBindings = Math.min(lim.maxStorageBuffersPerShaderStage, opts.maxBindings ?? Infinity);
    // One input and one output of maxWords must fit in one kernel's bindings.
    const segsPerTensor = Math.max(1, Math.floor(this.maxBindings / 2));
    this.maxWords = Math.min(2 ** 31 - 1, segsPerTensor * this.segWords);
    this.serialReductions = opts.serialReductions ?? isFallback;
    const pool = new BufferPool(device, opts.poolBytes ?? GpuContext.POOL_LIMIT);
    this.#pool = pool;
    this.#rec = new Recorder(
      device,
      (size, usage) => pool.create(size, usage),
      () => pool.submitted(),
    );
    device.addEventListener("uncapturederror", (e) => {
      this.#error ??= (e as GPUUncapturedErrorEvent).error.message;
    });
  }

  /**
   * Requests an adapter and a device with the adapter's limits.
   *
   * @param opts Lower binding limits (tests).
   * @returns The context, or null when WebGPU or an adapter is unavailable.
   */
  static async create(opts: GpuContextOptions = {}): Promise<GpuContext | null> {
    const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
    if (!gpu) return null;
    const adapter = await gpu.requestAdapter();
    if (!adapter) return null;
    const l = adapter.limits;
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      },
    });
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    return new GpuContext(
      device,
      info.isFallbackAdapter ?? false,
      info.description || info.vendor,
      opts,
    );
  }

  // ---------------------------------------------------------------- buffers

  /**
   * How many GPU buffers this context has created (storage, uniform and
   * staging): in the steady state of a repeated computation the pools serve
   * every request and this stops growing.
   */
  get buffersCreated(): number {
    return this.#pool.created;
  }

  /** How many command buffers this context has submitted. */
  get submits(): number {
    return this.#rec.submits;
  }

  /**
   * A buffer of at least `bytes` bytes (from the pool when possible); at
   * most one segment. `forWrite`: the caller will fill it with
   * `queue.writeBuffer`, which runs before pending commands, so a buffer
   * they may still read is not eligible.
   */
  alloc(bytes: number, forWrite = false): GPUBuffer {
    return this.#pool.alloc(bytes, forWrite);
  }

  /**
   * Checks that a tensor of `words` elements can live on this device; an
   * `AllocationError` (a RangeError the ops layer completes with the op's
   * name, shape and bytes) when it cannot.
   *
   * @param op The op, for the message (`"zeros()"`).
   * @param words The element count.
   */
  checkSize(op: string, words: number): void {
    if (words <= this.maxWords) return;
    const why = words >= 2 ** 31
      ? "webgpu kernels index elements with 32-bit integers (at most 2147483647 elements)"
      : `this webgpu device (${this.description}) binds at most ${this.maxBindings} storage ` +
        `buffers per kernel (maxStorageBuffersPerShaderStage) of at most ` +
        `${showBytes(this.segWords * 4)} each (maxStorageBufferBindingSize), so a tensor ` +
        `may hold at most ${showBytes(this.maxWords * 4)}`;
    throw new AllocationError(
      `${op}: a tensor of ${words} elements, ${showBytes(words * 4)}, does not fit: ${why}`,
      why,
    );
  }

  /**
   * Storage for `words` 4-byte words (uninitialised), checked against the
   * size limit. `forWrite`: see {@linkcode GpuContext.alloc}.
   */
  allocStore(op: string, words: number, forWrite = false): Store {
    this.checkSize(op, words);
    const n = Math.max(1, Math.ceil(words / this.segWords));
    const segs: GPUBuffer[] = [];
    for (let s = 0; s < n; s++) {
      segs.push(this.alloc(Math.min(this.segWords, words - s * this.segWords) * 4, forWrite));
    }
    return { segs, words };
  }

  /**
   * Returns a buffer, or every segment of a store, to the pool (destroying
   * what does not fit — after the pending commands are submitted).
   */
  release(x: GPUBuffer | Store): void {
    if ("segs" in x) {
      for (const b of x.segs) this.release(b);
      return;
    }
    this.#pool.release(x, this.#rec.pending);
  }

  /**
   * A store holding `data` (at most 64 words), made once per distinct
   * content and kept for the context's lifetime (kernels' small index
   * tables). The caller must not release it. Larger or too many distinct
   * contents get a fresh upload, which `owned` tells the caller to release.
   */
  constant(op: string, data: Uint32Array): { store: Store; owned: boolean } {
    if (data.length > CONSTANT_WORDS) return { store: this.upload(op, data), owned: true };
    const key = data.join(",");
    const hit = this.#constants.get(key);
    if (hit !== undefined) return { store: hit, owned: false };
    const store = this.upload(op, data);
    if (this.#constants.size >= CONSTANT_ENTRIES) return { store, owned: true };
    this.#constants.set(key, store);
    return { store, owned: false };
  }

  /** Storage of `words` words, all zero. */
  zeros(op: string, words: number): Store {
    const st = this.allocStore(op, words);
    const enc = this.#rec.commands();
    for (const b of st.segs) enc.clearBuffer(b);
    this.#rec.submitUnlessBatched();
    return st;
  }

  /** Copies host data (a whole number of 4-byte words) into new storage. */
  upload(op: string, data: ArrayBufferView): Store {
    const words = Math.ceil(data.byteLength / 4);
    const st = this.allocStore(op, words, true);
    if (data.byteLength === 0) return st;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const segBytes = this.segWords * 4;
    st.segs.forEach((buf, s) => {
      const start = s * segBytes;
      const end = Math.min(start + segBytes, bytes.byteLength);
      let part = bytes.subarray(start, end);
      if (part.byteLength % 4 !== 0) { // writeBuffer needs a multiple of 4 bytes
        const p = new Uint8Array(Math.ceil(part.byteLength / 4) * 4);
        p.set(part);
        part = p;
      }
      this.device.queue.writeBuffer(
        buf,
        0,
        part.buffer as ArrayBuffer,
        part.byteOffset,
        part.byteLength,
      );
    });
    return st;
  }

  /**
   * New storage holding words `[offset, offset + words)` of `src` (queue
   * copies, split at segment boundaries).
   */
  copy(op: string, src: Store, offset: number, words: number): Store {
    const out = this.allocStore(op, words);
    if (words === 0) return out;
    const enc = this.#rec.commands();
    const W = this.segWords;
    for (let done = 0; done < words;) {
      const from = offset + done;
      const len = Math.min(words - done, W - (from % W), W - (done % W));
      enc.copyBufferToBuffer(
        src.segs[Math.floor(from / W)],
        (from % W) * 4,
        out.segs[Math.floor(done / W)],
        (done % W) * 4,
        len * 4,
      );
      done += len;
    }
    this.#rec.submitUnlessBatched();
    return out;
  }

  /**
   * Reads the first `bytes` bytes of a store back to the host. Throws the
   * first device error seen since the context was made, if any.
   */
  async read(src: Store, bytes: number): Promise<ArrayBuffer> {
    this.#throwDeviceError();
    const out = new Uint8Array(bytes);
    const segBytes = this.segWords * 4;
    const stagings: [GPUBuffer, number, number][] = [];
    const enc = this.#rec.commands(); // after whatever is pending: one submit
    const n = Math.max(1, Math.ceil(bytes / segBytes));
    for (let s = 0; s < n; s++) {
      const len = Math.min(segBytes, bytes - s * segBytes);
      const size = Math.ceil(Math.max(len, 4) / 4) * 4;
      const staging = this.#pool.staging(size);
      enc.copyBufferToBuffer(src.segs[s], 0, staging, 0, size);
      stagings.push([staging, s * segBytes, len]);
    }
    this.#rec.flush();
    try {
      await Promise.all(stagings.map(([b]) => b.mapAsync(GPUMapMode.READ)));
      for (const [b, at, len] of stagings) {
        if (len > 0) out.set(new Uint8Array(b.getMappedRange(), 0, len), at);
        b.unmap();
      }
    } catch (e) {
      for (const [b] of stagings) b.destroy();
      throw e;
    }
    for (const [b] of stagings) this.#pool.keepStaging(b);
    this.#throwDeviceError();
    return out.buffer;
  }

  // ---------------------------------------------------------------- batches

  /**
   * Runs `body` as one unit of GPU work: every command it records (kernel
   * dispatches, clears, copies) goes into one command encoder, submitted
   * once when `body` returns or throws (after a throw, what was recorded
   * is still submitted, so tensors made before the error stay valid, and
   * the context is ready for the next call). A read inside submits what is
   * pending first. Nested batches join the outermost one. `body` runs
   * synchronously: for an async function only the part before its first
   * `await` is batched.
   *
   * @param body The kernel calls.
   * @returns What `body` returns.
   */
  batch<T>(body: () => T): T {
    return this.#rec.batch(body);
  }

  /**
   * Submits the recorded commands now (with their uniform blocks), if any.
   * Afterwards buffers released meanwhile are safe to overwrite and those
   * waiting for destruction are destroyed.
   */
  flush(): void {
    this.#rec.flush();
  }

  /** Throws (once) the device error recorded since the last read, if any. */
  #throwDeviceError(): void {
    const error = this.#error;
    if (error === null) return;
    this.#error = null;
    throw new Error(
      `webgpu: the device reported an error, so results computed since the previous read ` +
        `are not reliable: ${error}`,
    );
  }

  // ---------------------------------------------------------------- kernels

  /**
   * WGSL declarations for storage operands (bindings 1, 2, … in order, one
   * per segment) and their accessors: `fn ld_<name>(i: u32) -> T` and, for
   * `write` operands, `fn st_<name>(i: u32, v: T)`. One-segment operands
   * index their array directly; others pick the segment from `i`'s high bits.
   */
  declare(operands: readonly Operand[]): string {
    const out: string[] = [];
    let binding = 1;
    const mask = `${this.segWords - 1}u`;
    const shift = `${this.segShift}u`;
    for (const { name, type, store, write } of operands) {
      const mode = write ? "read_write" : "read";
      const n = store.segs.length;
      const vars = n === 1 ? [name] : store.segs.map((_, s) => `${name}_${s}`);
      for (const v of vars) {
        out.push(`@group(0) @binding(${binding++}) var<storage, ${mode}> ${v}: array<${type}>;`);
      }
      if (n === 1) {
        out.push(`fn ld_${name}(i: u32) -> ${type} { return ${name}[i]; }`);
        if (write) out.push(`fn st_${name}(i: u32, v: ${type}) { ${name}[i] = v; }`);
        continue;
      }
      const cases = (stmt: (v: string) => string) =>
        vars.map((v, s) => `    ${s === n - 1 ? "default" : `case ${s}u`}: { ${stmt(v)} }`)
          .join("\n");
      out.push(`fn ld_${name}(i: u32) -> ${type} {
  let j = i & ${mask};
  switch (i >> ${shift}) {
${cases((v) => `return ${v}[j];`)}
  }
}`);
      if (write) {
        out.push(`fn st_${name}(i: u32, v: ${type}) {
  let j = i & ${mask};
  switch (i >> ${shift}) {
${cases((v) => `${v}[j] = v;`)}
  }
}`);
      }
    }
    return out.join("\n");
  }

  /** The compute pipeline for a WGSL source (compiled once). */
  pipeline(wgsl: string): GPUComputePipeline {
    let p = this.#pipelines.get(wgsl);
    if (p === undefined) {
      const module = this.device.createShaderModule({ code: wgsl });
      p = this.device.createComputePipeline({
        layout: "auto",
        compute: { module, entryPoint: "main" },
      });
      this.#pipelines.set(wgsl, p);
    }
    return p;
  }

  /**
   * Dispatches `wgsl` with the uniform words at binding 0 and the operands'
   * segments at bindings 1…n (the order of `declare`). `groups` is the
   * workgroup count (x, y, z). Throws a RangeError naming `op` when the
   * operands need more bindings than the device allows.
   */
  run(
    op: string,
    wgsl: string,
    uniforms: Uint32Array | Int32Array | Float32Array,
    operands: readonly Operand[],
    groups: readonly [number, number?, number?],
  ): void {
    const buffers = this.#bindings(op, operands);
    const pipeline = this.pipeline(wgsl);
    const words = Math.max(4, Math.ceil(uniforms.length / 4) * 4); // 16-byte multiple
    const u = new Uint32Array(words);
    u.set(new Uint32Array(uniforms.buffer, uniforms.byteOffset, uniforms.length));
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: this.#rec.uniformSlot(u) }];
    buffers.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b } }));
    const bind = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.#rec.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    const [x, y = 1, z = 1] = groups;
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    this.#rec.submitUnlessBatched();
  }

  /**
   * Runs an elementwise kernel once per segment of the output `out` (named
   * `out`, written with `st_out(j, v)` at the local index `j`). `source`
   * builds the WGSL from the declarations of one dispatch; `uniforms` gets
   * the local size at word 0 and the segment's first global index at word
   * `baseWord` before each dispatch. Window operands bind only the matching
   * segment (indexed by `j`); the others are bound whole (indexed globally).
   */
  runWindows(
    op: string,
    source: (decls: string) => string,
    uniforms: Uint32Array | Int32Array,
    baseWord: number,
    out: { readonly type: WgslScalar; readonly store: Store },
    inputs: readonly WindowOperand[],
    groupsFor: (size: number) => readonly [number, number?, number?],
  ): void {
    const total = out.store.words;
    const W = this.segWords;
    for (let s = 0; s * W < total; s++) {
      const size = Math.min(W, total - s * W);
      const seg = (st: Store): Store => ({ segs: [st.segs[s]], words: size });
      const ops: Operand[] = inputs.map((x) => ({
        name: x.name,
        type: x.type,
        store: x.window ? seg(x.store) : x.store,
      }));
      ops.push({ name: "out", type: out.type, store: seg(out.store), write: true });
      uniforms[0] = size;
      uniforms[baseWord] = s * W;
      this.run(op, source(this.declare(ops)), uniforms, ops, groupsFor(size));
    }
  }

  /** The segments of `operands`, in binding order, checked against the binding limit. */
  #bindings(op: string, operands: readonly Operand[]): GPUBuffer[] {
    const buffers: GPUBuffer[] = [];
    for (const o of operands) buffers.push(...o.store.segs);
    if (buffers.length > this.maxBindings) {
      const list = operands.map((o) =>
        `${o.name}: ${showBytes(o.store.words * 4)} in ${o.store.segs.length} binding(s)`
      ).join(", ");
      throw new RangeError(
        `${op}: this kernel needs ${buffers.length} storage bindings (${list}; at most ` +
          `${showBytes(this.segWords * 4)} each, maxStorageBufferBindingSize), but this webgpu ` +
          `device (${this.description}) allows ${this.maxBindings} ` +
          `(maxStorageBuffersPerShaderStage). Work on smaller tensors (e.g. batches) or use the ` +
          `wasm backend`,
      );
    }
    return buffers;
  }
}

/** Splits a 1-D count of workgroups into (x, y) within the per-dimension limit. @internal */
export function groups1d(count: number, workgroupSize = 64): [number, number] {
  const g = Math.ceil(count / workgroupSize);
  if (g <= MAX_GROUPS) return [g, 1];
  return [MAX_GROUPS, Math.ceil(g / MAX_GROUPS)];
}

/**
 * WGSL for the global linear invocation index of a kernel dispatched with
 * {@linkcode groups1d}: `let i = gid.x + gid.y * (65535u * WG);`.
 * @internal
 */
export function linearIndex(workgroupSize = 64): string {
  return `gid.x + gid.y * ${MAX_GROUPS * workgroupSize}u`;
}
