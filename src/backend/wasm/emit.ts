/**
 * The untyped instruction writer that `kernels.ts` is written on: `Code`
 * appends encoded instructions with hand-kept local and function indices,
 * and `buildModule` wraps bodies into a module. New code should use the
 * typed assembler in `./asm/mod.ts` (named locals, function handles, a type
 * stack that throws at the emitting line); this file shares its encodings
 * and stays until the kernels move onto it.
 *
 * @module
 */

import { MemShortcuts } from "./asm/shortcuts.ts";
import { encodeModule, type MemoryImport, sleb, TypeTable, uleb } from "./asm/binary.ts";
import {
  I8X16_SHUFFLE,
  laneBytes,
  laneMemBytes,
  type LaneOp,
  memBytes,
  type MemOp,
  PLAIN_OPS,
  type PlainOp,
  splat32Lanes,
  V128_CONST,
  type ValType,
} from "./asm/opcodes.ts";

export { F32, F64, I32, type PlainOp, V128, type ValType } from "./asm/opcodes.ts";

/**
 * An instruction stream for one function body. Each method appends one
 * instruction and returns `this`, so bodies read like the text format:
 * `code.get(0).i32(4).op("i32.add").set(0)`.
 */
export class Code extends MemShortcuts {
  /** The encoded instructions so far (without the final `end`). */
  readonly bytes: number[] = [];

  /** Appends raw bytes. */
  raw(...bytes: number[]): this {
    for (const b of bytes) this.bytes.push(b);
    return this;
  }

  /** Appends an instruction without immediates, by its text-format name. */
  op(mnemonic: PlainOp): this {
    return this.raw(...PLAIN_OPS[mnemonic]);
  }

  /** `local.get i`. */
  get(i: number): this {
    return this.raw(0x20, ...uleb(i));
  }

  /** `local.set i`. */
  set(i: number): this {
    return this.raw(0x21, ...uleb(i));
  }

  /** `local.tee i`. */
  tee(i: number): this {
    return this.raw(0x22, ...uleb(i));
  }

  /** `i32.const value`. */
  i32(value: number): this {
    return this.raw(0x41, ...sleb(value));
  }

  /** `f32.const value`. */
  f32(value: number): this {
    const b = new Uint8Array(new Float32Array([value]).buffer);
    return this.raw(0x43, ...b);
  }

  /** `f64.const value`. */
  f64(value: number): this {
    const b = new Uint8Array(new Float64Array([value]).buffer);
    return this.raw(0x44, ...b);
  }

  /** `block`, with an empty block type or one result of type `result`. */
  block(result?: ValType): this {
    return this.raw(0x02, result ?? 0x40);
  }

  /** `loop`, with an empty block type or one result of type `result`. */
  loop(result?: ValType): this {
    return this.raw(0x03, result ?? 0x40);
  }

  /** `if`, with an empty block type or one result of type `result`. */
  if(result?: ValType): this {
    return this.raw(0x04, result ?? 0x40);
  }

  /** `else`. */
  else(): this {
    return this.raw(0x05);
  }

  /** `end` of a block, loop or if. */
  end(): this {
    return this.raw(0x0b);
  }

  /** `br depth`. */
  br(depth: number): this {
    return this.raw(0x0c, ...uleb(depth));
  }

  /** `br_if depth`. */
  brIf(depth: number): this {
    return this.raw(0x0d, ...uleb(depth));
  }

  /**
   * A load or store without lane immediate, by its text-format name, with a
   * constant byte `offset` and the natural alignment hint (unaligned
   * addresses stay legal: the hint is only a hint).
   */
  mem(op: MemOp, offset = 0): this {
    return this.raw(...memBytes(op, offset));
  }

  /**
   * `v128.loadN_lane offset=… lane` (`bits` = N): replaces one lane of the
   * vector on top of the stack (pushed after the address) with memory.
   */
  v128LoadLane(bits: 8 | 16 | 32 | 64, offset: number, lane: number): this {
    return this.raw(...laneMemBytes(bits, false, offset, lane));
  }

  /** `v128.storeN_lane offset=… lane` (`bits` = N): stores one lane of the vector on top. */
  v128StoreLane(bits: 8 | 16 | 32 | 64, offset: number, lane: number): this {
    return this.raw(...laneMemBytes(bits, true, offset, lane));
  }

  /** A lane extract or replace (`i32x4.extract_lane 2` …), by its text-format name. */
  lane(op: LaneOp, lane: number): this {
    return this.raw(...laneBytes(op, lane));
  }

  /** `v128.const` with 16 byte lanes. */
  v128Const(bytes: ArrayLike<number>): this {
    if (bytes.length !== 16) throw new RangeError(`v128.const: need 16 bytes, got ${bytes.length}`);
    return this.raw(...V128_CONST, ...Array.from(bytes, (b) => b & 0xff));
  }

  /** `i8x16.shuffle` with 16 byte-lane indices into the concatenation of its two operands. */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new RangeError(`shuffle: need 16 lanes, got ${lanes.length}`);
    return this.raw(...I8X16_SHUFFLE, ...lanes);
  }

  /** `i8x16.shuffle` that broadcasts 32-bit lane `lane` of the top operand (pushed twice). */
  splatLane32(lane: number): this {
    return this.shuffle(splat32Lanes(lane));
  }
}

/** One function of a module: its signature, extra locals, body, and export name (if any). */
export interface FuncDef {
  /** Parameter types (locals `0 … params.length - 1`). */
  readonly params: readonly ValType[];
  /** Result types. */
  readonly results: readonly ValType[];
  /** Types of the further locals, numbered after the parameters (zero-initialized). */
  readonly locals: readonly ValType[];
  /** The body, without the final `end`. */
  readonly body: Code;
  /** Export name; unexported when absent. */
  readonly export?: string;
}

/** Options of {@link buildModule}. */
export interface ModuleOptions {
  /**
   * Imports a memory as `module.field` with at least `minPages` 64 KiB
   * pages, at most `maxPages` where given, and shared between threads where
   * `shared` (which needs `maxPages`).
   */
  readonly memoryImport: MemoryImport;
}

/**
 * Encodes a module of `funcs` (function `i` has index `i`, so `call i`
 * refers to `funcs[i]`) that imports one linear memory.
 *
 * @param funcs The functions, in index order.
 * @param options The memory import.
 * @returns The module's binary encoding, ready for `new WebAssembly.Module`.
 */
export function buildModule(
  funcs: readonly FuncDef[],
  options: ModuleOptions,
): Uint8Array<ArrayBuffer> {
  const types = new TypeTable();
  return encodeModule(
    funcs.map((f) => ({
      typeIndex: types.index(f.params, f.results),
      locals: f.locals,
      body: f.body.bytes,
      export: f.export,
    })),
    types,
    { memory: options.memoryImport },
  );
}
