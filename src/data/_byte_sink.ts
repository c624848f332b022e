/**
 * The output buffer of the gzip decoder: growable, with a hard size cap, so
 * a corrupt or foreign file cannot fill the memory.
 *
 * @module
 */

import { release } from "./_util.ts";

/** Thrown by {@linkcode ByteSink} when the output would pass its cap. */
export class OverCapError extends Error {
  /**
   * @param needed The output size that was about to be reached.
   */
  constructor(readonly needed: number) {
    super(`output would reach ${needed} bytes`);
  }
}

/**
 * A growable output buffer with a cap: starts at a size hint, doubles when
 * full (never past the cap), and hands back an array of the exact length.
 */
export class ByteSink {
  /** The buffer; bytes `[0, n)` are the output so far. */
  buf: Uint8Array;
  /** Bytes written. */
  n = 0;
  /** The most bytes allowed. */
  readonly max: number;

  /**
   * @param hint Expected size (the first allocation; clamped to `[0, max]`).
   * @param max The cap (`Infinity` for none).
   */
  constructor(hint: number, max: number) {
    this.max = max;
    this.buf = new Uint8Array(Math.max(0, Math.min(hint, max)));
  }

  /** Makes room for `need` bytes in total, or throws {@linkcode OverCapError}. */
  grow(need: number): void {
    if (need <= this.buf.length) return;
    if (need > this.max) throw new OverCapError(need);
    const size = Math.min(Math.max(need, 2 * this.buf.length, 1 << 16), this.max);
    const bigger = new Uint8Array(size);
    bigger.set(this.buf.subarray(0, this.n));
    release(this.buf);
    this.buf = bigger;
  }

  /** Appends `chunk`. */
  push(chunk: Uint8Array): void {
    this.grow(this.n + chunk.length);
    this.buf.set(chunk, this.n);
    this.n += chunk.length;
  }

  /** The output, exactly `n` bytes long (the buffer is shrunk in place where possible). */
  finish(): Uint8Array {
    if (this.n === this.buf.length) return this.buf;
    const buf = this.buf.buffer as ArrayBuffer;
    if (typeof buf.transfer === "function") return new Uint8Array(buf.transfer(this.n));
    return this.buf.slice(0, this.n);
  }
}
