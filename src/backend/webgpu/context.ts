/**
 * The WebGPU plumbing shared by every kernel: the device, a pipeline cache
 * keyed by WGSL source, pooled storage buffers, and `run`, which binds
 * buffers plus one uniform block and dispatches a compute shader.
 *
 * Binding convention for every kernel: `@group(0) @binding(0)` is the
 * uniform block (`var<uniform> u: U;`, the `uniforms` words given to
 * `run`), and bindings `1…n` are the storage buffers in the order given
 * (the last one is the output, `read_write`; the others `read`). Entry
 * point: `main`, workgroup size chosen by the kernel.
 *
 * @module
 */

/** The largest number of workgroups per dimension WebGPU guarantees. */
export const MAX_GROUPS = 65535;

/** Size classes round up to a power of two (at least 256 bytes) so buffers can be reused. */
function sizeClass(bytes: number): number {
  let s = 256;
  while (s < bytes) s *= 2;
  return s;
}

/** A device plus pipeline cache and buffer pool. @internal */
export class GpuContext {
  /** The WebGPU device. */
  readonly device: GPUDevice;
  /** Whether the adapter is a software fallback (e.g. llvmpipe). */
  readonly isFallback: boolean;
  /** The adapter's description, for messages. */
  readonly description: string;
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  readonly #pool = new Map<number, GPUBuffer[]>();
  #pooledBytes = 0;
  /** Most bytes kept in the pool for reuse. */
  static readonly POOL_LIMIT = 256 * 1024 * 1024;

  constructor(device: GPUDevice, isFallback: boolean, description: string) {
    this.device = device;
    this.isFallback = isFallback;
    this.description = description;
  }

  /** Requests an adapter and device; null when WebGPU is unavailable. */
  static async create(): Promise<GpuContext | null> {
    const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
    if (!gpu) return null;
    const adapter = await gpu.requestAdapter();
    if (!adapter) return null;
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    return new GpuContext(device, info.isFallbackAdapter ?? false, info.description || info.vendor);
  }

  /** A storage buffer of at least `bytes` bytes (from the pool when possible). */
  alloc(bytes: number): GPUBuffer {
    const size = sizeClass(Math.max(bytes, 4));
    const free = this.#pool.get(size);
    if (free !== undefined && free.length > 0) {
      this.#pooledBytes -= size;
      return free.pop()!;
    }
    return this.device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  /** Returns a buffer to the pool (or destroys it when the pool is full). */
  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    if (this.#pooledBytes + size > GpuContext.POOL_LIMIT) {
      buffer.destroy();
      return;
    }
    const list = this.#pool.get(size) ?? [];
    list.push(buffer);
    this.#pool.set(size, list);
    this.#pooledBytes += size;
  }

  /** Copies host data into a new buffer. */
  upload(data: ArrayBufferView): GPUBuffer {
    const buf = this.alloc(data.byteLength);
    if (data.byteLength > 0) {
      // writeBuffer needs a multiple of 4 bytes.
      const padded = data.byteLength % 4 === 0 ? data : (() => {
        const p = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
        p.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        return p;
      })();
      this.device.queue.writeBuffer(
        buf,
        0,
        padded.buffer as ArrayBuffer,
        padded.byteOffset,
        padded.byteLength,
      );
    }
    return buf;
  }

  /** Reads `bytes` bytes of a buffer back to the host. */
  async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const size = Math.ceil(Math.max(bytes, 4) / 4) * 4;
    const staging = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, 0, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    return out;
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
   * Dispatches `wgsl` with the uniform words at binding 0 and `buffers` at
   * bindings 1…n. `groups` is the workgroup count (x, y, z).
   */
  run(
    wgsl: string,
    uniforms: Uint32Array | Int32Array | Float32Array,
    buffers: readonly GPUBuffer[],
    groups: readonly [number, number?, number?],
  ): void {
    const pipeline = this.pipeline(wgsl);
    const words = Math.max(4, Math.ceil(uniforms.length / 4) * 4); // 16-byte multiple
    const u = new Uint32Array(words);
    u.set(new Uint32Array(uniforms.buffer, uniforms.byteOffset, uniforms.length));
    const ubuf = this.device.createBuffer({
      size: u.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.device.queue.writeBuffer(ubuf, 0, u);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: ubuf } }];
    buffers.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b } }));
    const bind = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    const [x, y = 1, z = 1] = groups;
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    pass.end();
    this.device.queue.submit([enc.finish()]);
    ubuf.destroy();
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
