/**
 * The WebGPU backend: buffers live on the GPU, kernels are WGSL compute
 * shaders queued on the device; nothing comes back to the host until
 * `read` (`await t.data()`).
 *
 * Storage: float32 → `array<f32>`, int32 → `array<i32>`, bool →
 * `array<u32>` holding 0/1 (4 bytes per element). float64 is not supported.
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

import type { Backend, BinaryOp, DataHandle, MatmulSpec, ReduceOp, UnaryOp } from "../backend.ts";
import type { DType, TypedArray } from "../../core/dtype.ts";
import { GpuContext } from "./context.ts";
import {
  binaryKernel,
  castKernel,
  concatKernel,
  fillKernel,
  scatterStridedKernel,
  stridedKernel,
  unaryKernel,
  whereKernel,
} from "./kernels_elementwise.ts";
import { gatherKernel, scatterAddKernel } from "./kernels_index.ts";
import { matmulKernel } from "./kernels_matmul.ts";
import { randomBitsKernel, randomUniformKernel } from "./kernels_random.ts";
import { reduceKernel } from "./kernels_reduce.ts";
import { argsortKernel } from "./kernels_sort.ts";

/** A GPU buffer plus the number of tensors that own it. @internal */
export interface GpuHandle {
  /** The storage buffer (4 bytes per element; may be larger than needed: pooled size classes). */
  readonly buffer: GPUBuffer;
  /** The bytes in use. */
  readonly bytes: number;
  /** How many live tensors own this handle (see `track`). */
  refs: number;
  /** Set once the buffer went back to the pool; the handle must not be used afterwards. */
  released: boolean;
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
export class WebGpuBackend implements Backend {
  /** Always `"webgpu"`. */
  readonly name: string = "webgpu";
  /** float32, int32 and bool (no float64 on WebGPU). */
  readonly dtypes: readonly DType[] = ["float32", "int32", "bool"];
  /** Always `false`: reads are asynchronous. */
  readonly canReadSync: boolean = false;
  /** The device, pipeline cache and buffer pool. */
  readonly ctx: GpuContext;
  /** Releases a handle when the last tensor owning it is collected. */
  readonly #owners: FinalizationRegistry<GpuHandle>;
  /** Releases a handle no tensor owns when the handle itself is collected. */
  readonly #orphans: FinalizationRegistry<GPUBuffer>;

  /**
   * A backend on an existing context (use {@linkcode WebGpuBackend.create}).
   *
   * @param ctx The GPU context to run on.
   */
  constructor(ctx: GpuContext) {
    this.ctx = ctx;
    this.#owners = new FinalizationRegistry((h) => this.#drop(h));
    this.#orphans = new FinalizationRegistry((buffer) => ctx.release(buffer));
  }

  /**
   * Requests a device and makes the backend.
   *
   * @returns The backend, or null when `navigator.gpu` or an adapter is unavailable.
   */
  static async create(): Promise<WebGpuBackend | null> {
    const ctx = await GpuContext.create();
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

  /** Wraps a fresh buffer holding `size` elements as a handle nobody owns yet. */
  #wrap(buffer: GPUBuffer, size: number): GpuHandle {
    const h: GpuHandle = { buffer, bytes: size * 4, refs: 0, released: false };
    this.#orphans.register(h, buffer, h);
    return h;
  }

  /** The buffer of a live handle. */
  #buf(x: DataHandle, op: string): GPUBuffer {
    const h = x as GpuHandle;
    if (h.released) {
      throw new Error(`${op}: the tensor's webgpu buffer was already disposed`);
    }
    return h.buffer;
  }

  /** One owner less; releases the buffer when none is left. */
  #drop(h: GpuHandle): void {
    h.refs--;
    if (h.refs <= 0) this.#release(h);
  }

  /** Returns the buffer to the pool (once). */
  #release(h: GpuHandle): void {
    if (h.released) return;
    h.released = true;
    this.#orphans.unregister(h);
    this.ctx.release(h.buffer);
  }

  /**
   * Records `owner` (a tensor) as an owner of `handle`: the buffer is
   * released once every owner was disposed or garbage-collected.
   */
  track(owner: object, handle: DataHandle): void {
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
  dispose(x: DataHandle, owner?: object): void {
    const h = x as GpuHandle;
    if (owner !== undefined && this.#owners.unregister(owner)) this.#drop(h);
    else if (h.refs <= 0) this.#release(h);
  }

  /** Copies `values` to a new GPU buffer (bool bytes widen to u32 words). */
  upload(values: TypedArray, dtype: DType): DataHandle {
    let data: ArrayBufferView;
    if (dtype === "bool") data = Uint32Array.from(values as Uint8Array);
    else if (dtype === "float32" || dtype === "int32") data = values;
    else throw new TypeError(`upload(): dtype ${dtype} is not supported on WebGPU`);
    return this.#wrap(this.ctx.upload(data), values.length);
  }

  /** Copies a buffer back to the host (bool words narrow to bytes). */
  async read(x: DataHandle, dtype: DType, size: number): Promise<TypedArray> {
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

  /** Always throws: the GPU can only be read asynchronously. */
  readSync(_x: DataHandle, _dtype: DType, _size: number): TypedArray {
    throw new Error(
      "readSync(): the webgpu backend cannot read synchronously; use await t.data()",
    );
  }

  // ---------------------------------------------------------------- kernels

  /** `size` copies of `value` cast to `dtype`. */
  fill(size: number, value: number, dtype: DType): DataHandle {
    return this.#wrap(fillKernel(this.ctx, size, fillBits(value, dtype)), size);
  }

  /** `out[i] = op(x[i])`. */
  unary(op: UnaryOp, x: DataHandle, size: number, dtype: DType): DataHandle {
    const buf = unaryKernel(this.ctx, op, this.#buf(x, `${op}()`), size, dtype);
    return this.#wrap(buf, size);
  }

  /** `out[idx] = op(a[Σ idx·aStrides], b[Σ idx·bStrides])`. */
  binary(
    op: BinaryOp,
    a: DataHandle,
    aStrides: readonly number[],
    b: DataHandle,
    bStrides: readonly number[],
    outShape: readonly number[],
    dtype: DType,
  ): DataHandle {
    const name = `${op}()`;
    const buf = binaryKernel(
      this.ctx,
      op,
      this.#buf(a, name),
      aStrides,
      this.#buf(b, name),
      bStrides,
      outShape,
      dtype,
    );
    return this.#wrap(buf, sizeOf(outShape));
  }

  /** `out[idx] = cond[…] ? a[…] : b[…]`. */
  where(
    cond: DataHandle,
    condStrides: readonly number[],
    a: DataHandle,
    aStrides: readonly number[],
    b: DataHandle,
    bStrides: readonly number[],
    outShape: readonly number[],
    _dtype: DType,
  ): DataHandle {
    const buf = whereKernel(
      this.ctx,
      this.#buf(cond, "where()"),
      condStrides,
      this.#buf(a, "where()"),
      aStrides,
      this.#buf(b, "where()"),
      bStrides,
      outShape,
    );
    return this.#wrap(buf, sizeOf(outShape));
  }

  /** Converts dtypes with the CPU's rules (float → int32 truncates and wraps; → bool is `x != 0`). */
  cast(x: DataHandle, size: number, from: DType, to: DType): DataHandle {
    return this.#wrap(castKernel(this.ctx, this.#buf(x, "cast()"), size, from, to), size);
  }

  /** Reduces the middle axis of `[outer, n, inner]`. */
  reduce(
    op: ReduceOp,
    x: DataHandle,
    outer: number,
    n: number,
    inner: number,
    dtype: DType,
  ): DataHandle {
    const buf = reduceKernel(this.ctx, op, this.#buf(x, `${op}()`), outer, n, inner, dtype);
    return this.#wrap(buf, outer * inner);
  }

  /** Batched matrix product. */
  matmul(a: DataHandle, b: DataHandle, spec: MatmulSpec, dtype: DType): DataHandle {
    const buf = matmulKernel(
      this.ctx,
      this.#buf(a, "matmul()"),
      this.#buf(b, "matmul()"),
      spec,
      dtype,
    );
    return this.#wrap(buf, sizeOf(spec.batchShape) * spec.m * spec.n);
  }

  /** `out[idx] = x[offset + Σ idx_d·strides_d]`. */
  strided(
    x: DataHandle,
    offset: number,
    strides: readonly number[],
    outShape: readonly number[],
    _dtype: DType,
  ): DataHandle {
    const buf = stridedKernel(this.ctx, this.#buf(x, "strided()"), offset, strides, outShape);
    return this.#wrap(buf, sizeOf(outShape));
  }

  /** A zero buffer with `out[offset + Σ idx_d·strides_d] = x[idx]`. */
  scatterStrided(
    x: DataHandle,
    xShape: readonly number[],
    offset: number,
    strides: readonly number[],
    outSize: number,
    _dtype: DType,
  ): DataHandle {
    const src = this.#buf(x, "scatterStrided()");
    return this.#wrap(
      scatterStridedKernel(this.ctx, src, xShape, offset, strides, outSize),
      outSize,
    );
  }

  /** Concatenates `[outer, cols[i]]` inputs along the columns. */
  concat(
    xs: readonly DataHandle[],
    cols: readonly number[],
    outer: number,
    _dtype: DType,
  ): DataHandle {
    const bufs = xs.map((x) => this.#buf(x, "concat()"));
    let total = 0;
    for (const c of cols) total += c;
    return this.#wrap(concatKernel(this.ctx, bufs, cols, outer), outer * total);
  }

  /** `out[o, c, i] = x[o, indices[c], i]`. */
  gather(
    x: DataHandle,
    indices: DataHandle,
    outer: number,
    n: number,
    inner: number,
    count: number,
    dtype: DType,
  ): DataHandle {
    const buf = gatherKernel(
      this.ctx,
      this.#buf(x, "take()"),
      this.#buf(indices, "take()"),
      outer,
      n,
      inner,
      count,
      dtype,
    );
    return this.#wrap(buf, outer * count * inner);
  }

  /** Zeros `[outer, n, inner]` with `out[o, indices[c], i] += g[o, c, i]`. */
  scatterAdd(
    g: DataHandle,
    indices: DataHandle,
    outer: number,
    n: number,
    inner: number,
    count: number,
    dtype: DType,
  ): DataHandle {
    const buf = scatterAddKernel(
      this.ctx,
      this.#buf(g, "scatterAdd()"),
      this.#buf(indices, "scatterAdd()"),
      outer,
      n,
      inner,
      count,
      dtype,
    );
    return this.#wrap(buf, outer * n * inner);
  }

  /** `count` Threefry-2x32 words from the int32 `[2]` key. */
  randomBits(key: DataHandle, count: number): DataHandle {
    return this.#wrap(randomBitsKernel(this.ctx, this.#buf(key, "randomBits()"), count), count);
  }

  /** `count` uniform floats in `[0, 1)` from the `randomBits` stream. */
  randomUniform(key: DataHandle, count: number, dtype: DType): DataHandle {
    const buf = randomUniformKernel(this.ctx, this.#buf(key, "randomUniform()"), count, dtype);
    return this.#wrap(buf, count);
  }

  /** Stable ascending argsort of each row of `[outer, n]`, NaN last. */
  argsort(x: DataHandle, outer: number, n: number, dtype: DType): DataHandle {
    return this.#wrap(
      argsortKernel(this.ctx, this.#buf(x, "argsort()"), outer, n, dtype),
      outer * n,
    );
  }
}

/** Product of a shape's sizes. */
function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}
