/**
 * Shorthands for the commonest loads and stores, shared by the typed
 * assembler's functions and the legacy `Code` writer: each class provides
 * `mem(op, offset)`, and gets `f32Load(offset)`, `v128Store(offset)`, …
 *
 * @module
 */

import type { MemOp } from "./opcodes.ts";

/** `f32Load`, `f32Store`, `v128Load`, `v128Load32Splat`, `v128Store` on top of `mem`. */
export abstract class MemShortcuts {
  /**
   * A load or store without lane immediate, with a constant byte offset.
   *
   * @param op The instruction.
   * @param offset The byte offset (default 0).
   * @returns This writer.
   */
  abstract mem(op: MemOp, offset?: number): this;

  /** `f32.load offset=…`. */
  f32Load(offset = 0): this {
    return this.mem("f32.load", offset);
  }

  /** `f32.store offset=…`. */
  f32Store(offset = 0): this {
    return this.mem("f32.store", offset);
  }

  /** `v128.load offset=…`. */
  v128Load(offset = 0): this {
    return this.mem("v128.load", offset);
  }

  /** `v128.load32_splat offset=…`: one 32-bit value from memory into every lane. */
  v128Load32Splat(offset = 0): this {
    return this.mem("v128.load32_splat", offset);
  }

  /** `v128.store offset=…`. */
  v128Store(offset = 0): this {
    return this.mem("v128.store", offset);
  }
}
