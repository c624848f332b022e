/**
 * The buffers of a {@linkcode GpuContext}: storage buffers pooled by size
 * class (a power of two of at least 256 bytes) for reuse, mappable staging
 * buffers for reads, and a count of every buffer created (the steady state
 * of a repeated computation creates none).
 *
 * Released buffers are reused at once by later kernels: commands run in
 * queue order, so a kernel recorded later writes a buffer only after every
 * earlier command read it. Queue operations that are not commands —
 * `writeBuffer` and `destroy` — take effect before commands recorded but
 * not yet submitted (see `recorder.ts`), so a buffer released while such
 * commands are pending is marked until the submit: an upload never reuses
 * it, and one that does not fit the pool is destroyed only after the
 * submit.
 *
 * @module
 */

/** Mappable staging buffers kept for reads, per size. */
const STAGING_KEEP = 4;
/** Staging buffers above this many bytes are not kept. */
const STAGING_MAX = 1 << 20;

/** Size classes round up to a power of two (at least 256 bytes) so buffers can be reused. */
function sizeClass(bytes: number): number {
  let s = 256;
  while (s < bytes) s *= 2;
  return s;
}

/** Pooled GPU buffers of one device. @internal */
export class BufferPool {
  readonly #device: GPUDevice;
  /** Most bytes kept for reuse. */
  readonly #limit: number;
  readonly #free = new Map<number, GPUBuffer[]>();
  #pooledBytes = 0;
  /** Pooled buffers released while commands were pending (they may read them): no upload reuses them. */
  readonly #dirty = new Set<GPUBuffer>();
  /** Buffers to destroy once the pending commands are submitted. */
  #doomed: GPUBuffer[] = [];
  /** Mappable staging buffers for reads, by size. */
  readonly #staging = new Map<number, GPUBuffer[]>();
  #created = 0;

  /**
   * A pool on `device` keeping at most `limit` bytes of released buffers.
   *
   * @param device The device.
   * @param limit Most bytes kept for reuse.
   */
  constructor(device: GPUDevice, limit: number) {
    this.#device = device;
    this.#limit = limit;
  }

  /** How many buffers were created (storage, uniform and staging). */
  get created(): number {
    return this.#created;
  }

  /** Creates a buffer (counted in `created`). */
  create(size: number, usage: GPUBufferUsageFlags): GPUBuffer {
    this.#created++;
    return this.#device.createBuffer({ size, usage });
  }

  /**
   * A storage buffer of at least `bytes` bytes, from the pool when possible.
   * `forWrite`: the caller fills it with `queue.writeBuffer`, so a buffer
   * pending commands may still read is not eligible.
   */
  alloc(bytes: number, forWrite: boolean): GPUBuffer {
    const size = sizeClass(Math.max(bytes, 4));
    const free = this.#free.get(size);
    if (free !== undefined && free.length > 0) {
      let i = free.length - 1;
      if (forWrite) { while (i >= 0 && this.#dirty.has(free[i])) i--; }
      if (i >= 0) {
        const b = free[i];
        free[i] = free[free.length - 1];
        free.pop();
        this.#dirty.delete(b);
        this.#pooledBytes -= size;
        return b;
      }
    }
    return this.create(
      size,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    );
  }

  /**
   * Takes a buffer back (destroying it when the pool is full). `pending`:
   * commands recorded but not submitted may still use it.
   */
  release(b: GPUBuffer, pending: boolean): void {
    const size = b.size;
    if (this.#pooledBytes + size > this.#limit) {
      if (pending) this.#doomed.push(b);
      else b.destroy();
      return;
    }
    const list = this.#free.get(size) ?? [];
    list.push(b);
    this.#free.set(size, list);
    this.#pooledBytes += size;
    if (pending) this.#dirty.add(b);
  }

  /** After a submit: released buffers are safe to overwrite, doomed ones are destroyed. */
  submitted(): void {
    this.#dirty.clear();
    const doomed = this.#doomed;
    this.#doomed = [];
    for (const b of doomed) b.destroy();
  }

  /** A mappable buffer of exactly `size` bytes to copy into (kept ones first). */
  staging(size: number): GPUBuffer {
    return this.#staging.get(size)?.pop() ??
      this.create(size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
  }

  /** Keeps an unmapped staging buffer for the next read of its size (a few per size). */
  keepStaging(b: GPUBuffer): void {
    const list = this.#staging.get(b.size) ?? [];
    if (list.length >= STAGING_KEEP || b.size > STAGING_MAX) {
      b.destroy();
      return;
    }
    list.push(b);
    this.#staging.set(b.size, list);
  }
}
