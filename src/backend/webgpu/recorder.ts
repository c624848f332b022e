/**
 * How a {@linkcode GpuContext} hands commands to the device: every command
 * (dispatch, clear, copy) is recorded into one open command encoder —
 * dispatches into one compute pass — and submitted at once outside a batch
 * (one submit per kernel, as eager ops need), or once when the outermost
 * {@linkcode Recorder.batch} returns or throws, or earlier when a host read
 * needs the results. Uniform blocks are placed in a few persistent buffers
 * and written with one `writeBuffer` per buffer just before each submit
 * (queue order then guarantees every earlier submit has read its own).
 *
 * @module
 */

/** Bytes per persistent uniform buffer (the WebGPU default `maxUniformBufferBindingSize`). */
const UNIFORM_CHUNK = 65536;

/** Records commands for one device and submits them. @internal */
export class Recorder {
  readonly #device: GPUDevice;
  /** Called after each submit (the context's pool bookkeeping). */
  readonly #submitted: () => void;
  /** Makes (and counts) a buffer. */
  readonly #create: (size: number, usage: GPUBufferUsageFlags) => GPUBuffer;
  /** The encoder commands are recorded into (null: nothing pending). */
  #encoder: GPUCommandEncoder | null = null;
  /** The open compute pass of `#encoder`, if any. */
  #pass: GPUComputePassEncoder | null = null;
  /** How many `batch` calls are running (nested ones join the outermost). */
  #depth = 0;
  /** Persistent uniform buffers, their host copies, and how many bytes of each are in use. */
  readonly #uniformBufs: GPUBuffer[] = [];
  readonly #uniformHost: Uint32Array<ArrayBuffer>[] = [];
  readonly #uniformEnd: number[] = [];
  /** The uniform buffer being filled. */
  #uniformChunk = 0;
  /** Uniform blocks start at multiples of this many bytes. */
  readonly #uniformAlign: number;
  #submits = 0;

  /**
   * A recorder for `device`.
   *
   * @param device The device.
   * @param create Makes a buffer (the context counts them).
   * @param submitted Called after each submit.
   */
  constructor(
    device: GPUDevice,
    create: (size: number, usage: GPUBufferUsageFlags) => GPUBuffer,
    submitted: () => void,
  ) {
    this.#device = device;
    this.#create = create;
    this.#submitted = submitted;
    this.#uniformAlign = Math.max(256, device.limits.minUniformBufferOffsetAlignment ?? 256);
  }

  /** Whether commands are recorded but not yet submitted. */
  get pending(): boolean {
    return this.#encoder !== null;
  }

  /** How many command buffers were submitted. */
  get submits(): number {
    return this.#submits;
  }

  /** See {@linkcode GpuContext.batch}. */
  batch<T>(body: () => T): T {
    this.#depth++;
    try {
      return body();
    } finally {
      this.#depth--;
      if (this.#depth === 0) this.flush();
    }
  }

  /** Submits the recorded commands now (with their uniform blocks), if any. */
  flush(): void {
    const enc = this.#encoder;
    if (enc === null) return;
    const pass = this.#pass;
    this.#encoder = null;
    this.#pass = null;
    try {
      pass?.end();
      for (let c = 0; c <= this.#uniformChunk && c < this.#uniformBufs.length; c++) {
        const end = this.#uniformEnd[c];
        if (end === 0) continue;
        this.#device.queue.writeBuffer(this.#uniformBufs[c], 0, this.#uniformHost[c], 0, end / 4);
      }
      this.#device.queue.submit([enc.finish()]);
      this.#submits++;
    } finally {
      this.#uniformEnd.fill(0);
      this.#uniformChunk = 0;
      this.#submitted();
    }
  }

  /** The encoder to record a non-pass command into (ends an open compute pass). */
  commands(): GPUCommandEncoder {
    if (this.#pass !== null) {
      this.#pass.end();
      this.#pass = null;
    }
    return this.#encoder ??= this.#device.createCommandEncoder();
  }

  /** The open compute pass to record a dispatch into. */
  computePass(): GPUComputePassEncoder {
    return this.#pass ??= this.commands().beginComputePass();
  }

  /** Outside a batch, submits what was just recorded. */
  submitUnlessBatched(): void {
    if (this.#depth === 0) this.flush();
  }

  /** Places a uniform block (a multiple of 16 bytes) for the next submit; returns its binding. */
  uniformSlot(u: Uint32Array): GPUBufferBinding {
    const size = u.byteLength;
    if (size > UNIFORM_CHUNK) {
      throw new RangeError(`webgpu: a uniform block of ${size} bytes exceeds ${UNIFORM_CHUNK}`);
    }
    let c = this.#uniformChunk;
    if (c < this.#uniformBufs.length && this.#uniformEnd[c] + size > UNIFORM_CHUNK) {
      c = ++this.#uniformChunk;
    }
    if (c === this.#uniformBufs.length) {
      this.#uniformBufs.push(
        this.#create(UNIFORM_CHUNK, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
      );
      this.#uniformHost.push(new Uint32Array(UNIFORM_CHUNK / 4));
      this.#uniformEnd.push(0);
    }
    const offset = this.#uniformEnd[c];
    this.#uniformHost[c].set(u, offset / 4);
    this.#uniformEnd[c] = offset + Math.ceil(size / this.#uniformAlign) * this.#uniformAlign;
    return { buffer: this.#uniformBufs[c], offset, size };
  }
}
