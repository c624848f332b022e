/**
 * The `wasm` backend's buffers: a typed-array view of a block of the arena,
 * or of JS memory when the arena was full (see `memory.ts` for where they
 * come from and when they go back), and a reservation's blocks for a
 * program's intermediates.
 *
 * @module
 */

import type { DType, TypedArray } from "../../core/dtype.ts";
import type { DataHandle } from "../backend.ts";

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
   * Host data copied in (`upload`): not counted as waiting for the garbage
   * collector (see `WasmMemory.upload`).
   */
  uploaded = false;
  /**
   * Part of a reservation (a program's memory plan, see `reserve`): no
   * owner counting, no finalizer; the reservation's `free` gives it back.
   */
  readonly pinned: boolean;

  /**
   * Wraps a view.
   *
   * @param view The elements.
   * @param ptr Byte address in the arena, or -1.
   * @param pinned Whether it belongs to a reservation.
   */
  constructor(view: TypedArray, ptr: number, pinned = false) {
    this.view = view;
    this.ptr = ptr;
    this.pinned = pinned;
  }
}

/**
 * A block reserved for one program's intermediates (see `WasmMemory.reserve`).
 * @internal
 */
export interface WasmReservation {
  /** Its size. */
  readonly bytes: number;
  /** A buffer of `size` `dtype` elements at byte `offset` of the block. */
  view(offset: number, dtype: DType, size: number): WasmBuf;
  /** Gives the block back (once). */
  free(): void;
}

/**
 * The buffer behind a handle, checked not to be freed (its block may hold
 * another tensor now).
 *
 * @param x A handle of the `wasm` backend.
 * @returns Its buffer.
 * @internal
 */
export function live(x: DataHandle): WasmBuf {
  const h = x as WasmBuf;
  if (h.released) throw new Error("wasm backend: the tensor's buffer was already disposed");
  return h;
}

/** `size` elements of `dtype` at the start of `buffer`. */
export function viewOf(dtype: DType, buffer: ArrayBufferLike, size: number, at = 0): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer, at, size);
    case "float64":
      return new Float64Array(buffer, at, size);
    case "int32":
      return new Int32Array(buffer, at, size);
    default:
      return new Uint8Array(buffer, at, size);
  }
}

/** Whether an array `alloc` returned lies in the arena (not in JS memory). */
export function inArena(out: TypedArray): boolean {
  return out.buffer instanceof SharedArrayBuffer;
}
