/**
 * The WebGPU backend: buffers live on the GPU, kernels are WGSL compute
 * shaders queued on the device; nothing comes back to the host until
 * `read` (`await t.data()`).
 *
 * Storage: float32 → `array<f32>`, int32 → `array<i32>`, bool →
 * `array<u32>` holding 0/1 (4 bytes per element), in one or more segments
 * of at most the adapter's binding size (see `context.ts`). float64 is not
 * supported.
 *
 * Gather indices out of range: the backend keeps the host copy of small
 * int32 uploads, so `take` with such indices throws the CPU backend's
 * RangeError before dispatching; indices computed on the GPU cannot be
 * checked without a device read, so out-of-range ones gather a fill value
 * (NaN, −2³¹ or `true`) and their gradient is dropped (`kernels_index.ts`).
 *
 * Buffer lifetime: a handle ({@linkcode GpuHandle}) is refcounted by the
 * tensors that hold it (several tensors share one handle after `reshape` or
 * `stopGradient`). The core calls {@linkcode WebGpuBackend.track} for every
 * tensor made around a handle; the buffer goes back to the pool when every
 * owner was disposed or garbage-collected. A handle that no tensor ever
 * owned (an intermediate inside one op) is released when the handle itself
 * is collected.
 *
 * @module
 */

import type * as be from "../backend.ts";
import type { DType, TypedArray } from "../../core/dtype.ts";
import { GpuContext, type GpuContextOptions, type Store } from "./context.ts";
import { detachLarge, normalizeIndices } from "../_host.ts";
import {
  binaryKernel,
  castKernel,
  concatKernel,
  fillKernel,
  irKernel,
  scatterStridedKernel,
  stridedKernel,
  unaryKernel,
  whereKernel,
} from "./kernels_elementwise.ts";
import { gatherKernel, scatterAddKernel, unpackBytesKernel } from "./kernels_index.ts";
import { matmulEpilogueKernel, matmulKernel } from "./kernels_matmul.ts";
import { randomBitsKernel, randomUniformKernel } from "./kernels_random.ts";
import { irReduce, logsumexpKernel, reduceKernel } from "./kernels_reduce.ts";
import { sequenceKernel } from "./kernels_sequence.ts";
import { argsortKernel } from "./kernels_sort.ts";

/**
 * GPU storage (one buffer per segment; each may be larger than needed:
 * pooled size classes) plus the number of tensors that own it. @internal
 */
export interface GpuHandle extends Store {
  /** How many live tensors own this handle (see `track`). */
  refs: number;
  /** Set once the buffers went back to the pool; the handle must not be used afterwards. */
  released: boolean;
  /**
   * The values of a small int32 upload (indices, labels), so they can be
   * checked on the host, or of a scalar-sized upload or fill of any dtype
   * (the constants a traced program folds into its fused kernels).
   */
  readonly host: TypedArray | null;
}

/** int32 uploads up to this many elements keep their host copy (`GpuHandle.host`). */
const HOST_COPY_LIMIT = 1 << 20;
/** Uploads and fills of any dtype up to this many elements keep their values on the host too. */
const HOST_SMALL = 16;

/** The host copy of `size` copies of `value` as `dtype` (a small fill's `GpuHandle.host`). */
function filledHost(size: number, value: number, dtype: DType): TypedArray | null {
  if (size > HOST_SMALL) return null;
  if (dtype === "float32") return new Float32Array(size).fill(value);
  if (dtype === "int32") return new Int32Array(size).fill(fillBits(value, dtype) | 0);
  return dtype === "bool" ? new Uint8Array(size).fill(fillBits(value, dtype)) : null;
}

/** The 32-bit pattern of `value` stored as `dtype` (the CPU's conversion rules). */
function fillBits(value: number, dtype: DType): number {
  switch (dtype) {
    case "float32":
      return new Uint32Array(new Float32Array([value]).buffer)[0];
    case "int32": {
      // XLA's rule, as `cast` and the CPU's fill: NaN → 0, saturate, truncate.
      const i = value !== value
        ? 0
        : value >= 2147483647
        ? 2147483647
        : value <= -2147483648
        ? -2147483648
        : Math.trunc(value);
      return i >>> 0;
    }
    case "bool":
      return value !== 0 ? 1 : 0;
    default:
      throw new TypeError(`fill(): dtype ${dtype} is not supported on WebGPU`);
  }
}

/**
 * The WebGPU backend. Make one with `await WebGpuBackend.create()` (null
 * when WebGPU or an adapter is missing).
 * @internal
 */
export class WebGpuBackend implements be.Backend {
  /** Always `"webgpu"`. */
  readonly name: string = "webgpu";
  /** float32, int32 and bool (no float64 on WebGPU). */
  readonly dtypes: readonly DType[] = ["float32", "int32", "bool"];
  /** Always `false`: reads are asynchronous. */
  readonly canReadSync: boolean = false;
  /** `matmul` reads operands stored transposed (no transposed copy first). */
  readonly matmulTransposes: boolean = true;
  /** The device, pipeline cache and buffer pool. */
  readonly ctx: GpuContext;
  /** Releases a handle when the last tensor owning it is collected. */
  readonly #owners: FinalizationRegistry<GpuHandle>;
  /** Releases a handle no tensor owns when the handle itself is collected. */
  readonly #orphans: FinalizationRegistry<Store>;

  /**
   * A backend on an existing context (use {@linkcode WebGpuBackend.create}).
   *
   * @param ctx The GPU context to run on.
   */
  constructor(ctx: GpuContext) {
    this.ctx = ctx;
    this.#owners = new FinalizationRegistry((h) => this.#drop(h));
    this.#orphans = new FinalizationRegistry((store) => ctx.release(store));
  }

  /**
   * Requests a device and makes the backend.
   *
   * @param opts Lower binding limits than the adapter's (tests use them to
   *   exercise segmented storage on small tensors).
   * @returns The backend, or null when `navigator.gpu` or an adapter is unavailable.
   */
  static async create(opts: GpuContextOptions = {}): Promise<WebGpuBackend | null> {
    const ctx = await GpuContext.create(opts);
    return ctx === null ? null : new WebGpuBackend(ctx);
  }

  /** Whether the adapter is a software fallback (e.g. llvmpipe). */
  get isFallback(): boolean {
    return this.ctx.isFallback;
  }

  /** The adapter's description (e.g. `"llvmpipe (LLVM 15.0.6, 256 bits)"`). */
  get description(): string {
    return this.ctx.description;
  }

  // ---------------------------------------------------------------- handles

  /** Wraps fresh storage as a handle nobody owns yet. */
  #wrap(store: Store, host: TypedArray | null = null): GpuHandle {
    const h: GpuHandle = { segs: store.segs, words: store.words, refs: 0, released: false, host };
    this.#orphans.register(h, store, h);
    return h;
  }

  /** The storage of a live handle. */
  #buf(x: be.DataHandle, op: string): Store {
    const h = x as GpuHandle;
    if (h.released) {
      throw new Error(`${op}: the tensor's webgpu buffer was already disposed`);
    }
    return h;
  }

  /** One owner less; releases the buffer when none is left. */
  #drop(h: GpuHandle): void {
    h.refs--;
    if (h.refs <= 0) this.#release(h);
  }

  /** Returns the buffers to the pool (once). */
  #release(h: GpuHandle): void {
    if (h.released) return;
    h.released = true;
    this.#orphans.unregister(h);
    this.ctx.release(h);
  }

  /**
   * Records `owner` (a tensor) as an owner of `handle`: the buffer is
   * released once every owner was disposed or garbage-collected.
   */
  track(owner: object, handle: be.DataHandle): void {
    const h = handle as GpuHandle;
    if (h.released) {
      throw new Error("track(): the webgpu buffer was already disposed");
    }
    h.refs++;
    this.#owners.register(owner, h, owner);
  }

  /**
   * Gives up `owner`'s share of the buffer (releasing it when no owner is
   * left). Without a tracked owner, releases a handle no tensor owns (a
   * handle owned by tensors is left to them).
   */
  dispose(x: be.DataHandle, owner?: object): void {
    const h = x as GpuHandle;
    if (owner !== undefined && this.#owners.unregister(owner)) this.#drop(h);
    else if (h.refs <= 0) this.#release(h);
  }

  /** Copies `values` to new GPU storage (bool bytes widen to u32 words). */
  upload(values: TypedArray, dtype: DType): be.DataHandle {
    let data: ArrayBufferView;
    if (dtype === "bool") {
      this.ctx.checkSize("tensor()", values.length);
      data = Uint32Array.from(values as Uint8Array);
    } else if (dtype === "float32" || dtype === "int32") data = values;
    else throw new TypeError(`upload(): dtype ${dtype} is not supported on WebGPU`);
    const host = dtype === "int32" && values.length <= HOST_COPY_LIMIT
      ? Int32Array.from(values as Int32Array)
      : values.length <= HOST_SMALL
      ? (dtype === "float32" ? Float32Array.from(values) : Uint8Array.from(values))
      : null;
    const handle = this.#wrap(this.ctx.upload("tensor()", data), host);
    detachLarge(values); // the queue copied it; the backend owns it (see Backend.upload)
    return handle;
  }

  /** Copies storage back to the host (bool words narrow to bytes). */
  async read(x: be.DataHandle, dtype: DType, size: number): Promise<TypedArray> {
    const bytes = await this.ctx.read(this.#buf(x, "read()"), size * 4);
    switch (dtype) {
      case "float32":
        return new Float32Array(bytes);
      case "int32":
        return new Int32Array(bytes);
      case "bool":
        return Uint8Array.from(new Uint32Array(bytes));
      default:
        throw new TypeError(`read(): dtype ${dtype} is not supported on WebGPU`);
    }
  }

  /** The host copy of a small upload or fill (see {@linkcode GpuHandle.host}), or null. */
  hostValues(x: be.DataHandle, dtype: DType, size: number): TypedArray | null {
    const h = x as GpuHandle;
    const host = h.released ? null : h.host;
    const kind = dtype === "int32" ? Int32Array : dtype === "float32" ? Float32Array : Uint8Array;
    return host instanceof kind && host.length === size ? host : null;
  }

  /** Always throws: the GPU can only be read asynchronously. */
  readSync(_x: be.DataHandle, _dtype: DType, _size: number): TypedArray {
    throw new Error(
      "readSync(): the webgpu backend cannot read synchronously; use await t.data()",
    );
  }

  /**
   * Runs `body`'s kernel calls as one unit: every dispatch is recorded into
   * one command encoder, submitted once when `body` returns or throws (or
   * earlier, before a read). Nested calls join the outer one. See
   * {@linkcode be.Backend.batch}.
   *
   * @param body The kernel calls (synchronous).
   * @returns What `body` returns.
   */
  batch<T>(body: () => T): T {
    return this.ctx.batch(body);
  }

  // ---------------------------------------------------------------- kernels

  /** `size` copies of `value` cast to `dtype`. */
  fill(size: number, value: number, dtype: DType): be.DataHandle {
    const host = filledHost(size, value, dtype);
    return this.#wrap(fillKernel(this.ctx, "fill()", size, fillBits(value, dtype)), host);
  }

  /** `out[i] = op(x[i])`. */
  unary({ op, x, size, dtype }: be.UnarySpec): be.DataHandle {
    return this.#wrap(unaryKernel(this.ctx, op, this.#buf(x, `${op}()`), size, dtype));
  }

  /** `out[idx] = op(a[Σ idx·aStrides], b[Σ idx·bStrides])`. */
  binary({ op, a, aStrides, b, bStrides, outShape, dtype }: be.BinarySpec): be.DataHandle {
    const name = `${op}()`;
    const A = this.#buf(a, name), B = this.#buf(b, name);
    return this.#wrap(binaryKernel(this.ctx, op, A, aStrides, B, bStrides, outShape, dtype));
  }

  /** `out[idx] = cond[…] ? a[…] : b[…]`. */
  where({ cond, condStrides, a, aStrides, b, bStrides, outShape }: be.WhereSpec): be.DataHandle {
    const C = this.#buf(cond, "where()"), A = this.#buf(a, "where()"), B = this.#buf(b, "where()");
    return this.#wrap(
      whereKernel(this.ctx, C, condStrides, A, aStrides, B, bStrides, outShape),
    );
  }

  /**
   * The most operands of a fused kernel: 6, or fewer on a device that binds
   * fewer than 7 storage buffers (the output takes one).
   */
  get maxFusedInputs(): number {
    return Math.max(1, Math.min(6, this.ctx.maxBindings - 1));
  }

  /**
   * Whether a fused reduction binds its operands and output
   * (`Backend.fusedReduceFits`): each takes one binding per
   * `maxStorageBufferBindingSize` segment, within the device's storage bindings.
   */
  fusedReduceFits(operandSizes: readonly number[], outSize: number): boolean {
    const segments = (n: number) => Math.max(1, Math.ceil(n / this.ctx.segWords));
    return operandSizes.reduce((k, n) => k + segments(n), segments(outSize)) <=
      this.ctx.maxBindings;
  }

  /**
   * Fused kernels recompute the elementwise results they read rather than
   * load them (see `Backend.fusionRecomputes`): every kernel is a dispatch,
   * about 0.1–0.3 ms each on llvmpipe.
   */
  readonly fusionRecomputes: boolean = true;

  /** Every elementwise op and reduction runs as its IR kernel here (float64 is not supported). */
  fusible({ dtype, to }: be.FusibleOp): boolean {
    return dtype !== "float64" && to !== "float64";
  }

  /** Runs an IR kernel of ops `jit` fused, in one dispatch (null for an empty output). */
  fused({ kernel, inputs, strides, outShape }: be.FusedSpec): be.DataHandle | null {
    if (outShape.some((d) => d === 0)) return null;
    const operands = inputs.map((x, k) => ({
      store: this.#buf(x, "fused()"),
      strides: strides[k],
    }));
    return this.#wrap(irKernel(this.ctx, "fused()", kernel, operands, outShape));
  }

  /** Runs a reduction `jit` fused with its producers, as `reduce` runs its own kernel (null when empty). */
  fusedReduce(
    { kernel, inputs, strides, outer, n, inner }: be.FusedReduceSpec,
  ): be.DataHandle | null {
    if (outer * inner === 0 || n === 0) return null;
    const operands = inputs.map((x, k) => ({
      store: this.#buf(x, "fused()"),
      strides: strides[k],
    }));
    return this.#wrap(irReduce(this.ctx, "fused()", kernel, operands, outer, n, inner));
  }

  /** The most buffers a sequence binds (`Backend.sequenceBindings`): the device's storage bindings. */
  get sequenceBindings(): number {
    return this.ctx.maxBindings;
  }

  /** Runs small kernels `jit` found one after the other as one dispatch (see `kernels_sequence.ts`). */
  fusedSequence(spec: be.FusedSequenceSpec): be.DataHandle[] | null {
    const inputs = spec.inputs.map((x) => this.#buf(x, "sequence()"));
    return sequenceKernel(this.ctx, spec, inputs)?.map((s) => this.#wrap(s)) ?? null;
  }

  /** Converts dtypes with the CPU's rules (float → int32 saturates; → bool is `x != 0`). */
  cast({ x, size, from, to }: be.CastSpec): be.DataHandle {
    return this.#wrap(castKernel(this.ctx, this.#buf(x, "cast()"), size, from, to));
  }

  /** Reduces the middle axis of `[outer, n, inner]`. */
  reduce({ op, x, outer, n, inner, dtype }: be.ReduceSpec): be.DataHandle {
    return this.#wrap(reduceKernel(this.ctx, op, this.#buf(x, `${op}()`), outer, n, inner, dtype));
  }

  /** Fused `log Σ exp` over the middle axis: the maximum, then one reduction of `exp(x − max)`. */
  logsumexp({ x, outer, n, inner, dtype }: be.LogsumexpSpec): be.DataHandle {
    const buf = this.#buf(x, "logsumexp()");
    return this.#wrap(logsumexpKernel(this.ctx, buf, outer, n, inner, dtype));
  }

  /** Batched matrix product. */
  matmul(a: be.DataHandle, b: be.DataHandle, spec: be.MatmulSpec, dtype: DType): be.DataHandle {
    const buf = matmulKernel(
      this.ctx,
      this.#buf(a, "matmul()"),
      this.#buf(b, "matmul()"),
      spec,
      dtype,
    );
    return this.#wrap(buf);
  }

  /** A float32 product with the elementwise ops `jit` fused after it, in one kernel (see `matmulEpilogueKernel`). */
  matmulEpilogue(
    { a, b, matmul, kernel, inputs, strides }: be.MatmulEpilogueSpec,
  ): be.DataHandle | null {
    const operands = inputs.map((x, i) => ({
      store: this.#buf(x, "fused()"),
      strides: strides[i],
    }));
    const out = matmulEpilogueKernel(
      this.ctx,
      this.#buf(a, "fused()"),
      this.#buf(b, "fused()"),
      matmul,
      kernel,
      operands,
    );
    return out === null ? null : this.#wrap(out);
  }

  /** `out[idx] = x[offset + Σ idx_d·strides_d]`. */
  strided({ x, offset, strides, outShape }: be.StridedSpec): be.DataHandle {
    return this.#wrap(
      stridedKernel(this.ctx, this.#buf(x, "strided()"), offset, strides, outShape),
    );
  }

  /** A zero buffer with `out[offset + Σ idx_d·strides_d] = x[idx]`. */
  scatterStrided({ x, xShape, offset, strides, outSize }: be.ScatterStridedSpec): be.DataHandle {
    const src = this.#buf(x, "scatterStrided()");
    return this.#wrap(scatterStridedKernel(this.ctx, src, xShape, offset, strides, outSize));
  }

  /** Concatenates `[outer, cols[i]]` inputs along the columns. */
  concat({ xs, cols, outer }: be.ConcatSpec): be.DataHandle {
    const bufs = xs.map((x) => this.#buf(x, "concat()"));
    return this.#wrap(concatKernel(this.ctx, bufs, cols, outer));
  }

  /**
   * `out[o, c, i] = x[o, indices[c], i]`. Throws a RangeError for an
   * out-of-range index when the indices' values are on the host (small
   * int32 uploads); otherwise such an index gathers the fill value.
   */
  gather({ x, indices, outer, n, inner, count, dtype }: be.GatherSpec): be.DataHandle {
    const host = (indices as GpuHandle).host;
    if (host instanceof Int32Array) normalizeIndices("take()", host, count, n);
    const X = this.#buf(x, "take()"), I = this.#buf(indices, "take()");
    return this.#wrap(gatherKernel(this.ctx, X, I, outer, n, inner, count, dtype));
  }

  /**
   * Rows of packed bytes widened to float32 (see `Backend.unpackBytes`);
   * `float32(b / 255)` comes from a table of the exact values (WGSL's
   * division is not correctly rounded).
   */
  unpackBytes({ x, indices, n, w, k, count, divisor }: be.UnpackBytesSpec): be.DataHandle {
    const host = (indices as GpuHandle).host;
    if (host instanceof Int32Array) normalizeIndices("CompactImages.take()", host, count, n);
    const X = this.#buf(x, "CompactImages"), I = this.#buf(indices, "CompactImages");
    return this.#wrap(unpackBytesKernel(this.ctx, X, I, n, w, k, count, divisor === 255));
  }

  /** Zeros `[outer, n, inner]` with `out[o, indices[c], i] += g[o, c, i]`. */
  scatterAdd({ g, indices, outer, n, inner, count, dtype }: be.ScatterAddSpec): be.DataHandle {
    const G = this.#buf(g, "scatterAdd()"), I = this.#buf(indices, "scatterAdd()");
    return this.#wrap(scatterAddKernel(this.ctx, G, I, outer, n, inner, count, dtype));
  }

  /** `count` Threefry-2x32 words from the int32 `[2]` key. */
  randomBits(key: be.DataHandle, count: number, offset = 0): be.DataHandle {
    return this.#wrap(
      randomBitsKernel(this.ctx, this.#buf(key, "randomBits()"), count, offset),
    );
  }

  /** `count` uniform floats in `[0, 1)` from the `randomBits` stream. */
  randomUniform({ key, count, dtype }: be.RandomUniformSpec): be.DataHandle {
    const buf = randomUniformKernel(this.ctx, this.#buf(key, "randomUniform()"), count, dtype);
    return this.#wrap(buf);
  }

  /** Stable ascending argsort of each row of `[outer, n]`, NaN last. */
  argsort({ x, outer, n, dtype }: be.ArgsortSpec): be.DataHandle {
    return this.#wrap(argsortKernel(this.ctx, this.#buf(x, "argsort()"), outer, n, dtype));
  }
}
