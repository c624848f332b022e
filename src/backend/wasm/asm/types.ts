/**
 * The assembler's shared vocabulary: handles of locals, labels and block
 * types, recorded instructions, control frames, its error type, and the
 * text forms used in messages and the WAT dump.
 *
 * @module
 */

import { type ValType, valTypeName } from "./opcodes.ts";

/**
 * An error in the code being assembled (a type mismatch, a label used
 * outside its block, …), thrown by the instruction that caused it.
 */
export class AsmError extends Error {
  override name = "AsmError";
}

/** A parameter or local of one function, by name and type. */
export class Local {
  /** `$name`, its immediate in the text format. */
  readonly text: string;
  /** The encodings of `local.get`, `local.set` and `local.tee` of it (made once, shared by every use). */
  readonly codes: readonly [
    get: readonly (number | Ref)[],
    set: readonly (number | Ref)[],
    tee: readonly (number | Ref)[],
  ];

  /** Made by `WasmFunction.param` and `WasmFunction.local`. */
  constructor(
    /** The name (the text format's `$name`). */
    readonly name: string,
    /** The value type. */
    readonly type: ValType,
    /** The function it belongs to. */
    readonly owner: { readonly name: string },
  ) {
    this.text = `$${name}`;
    this.codes = [[0x20, this], [0x21, this], [0x22, this]];
  }
}

/** A branch target: a block, loop or if that encloses the current instruction. */
export class Label {
  /** Made by `block`, `loop` and `if`, which hand it to their callbacks. */
  constructor(
    /** The name (the text format's `$name`). */
    readonly name: string,
    /** What a branch to it carries (a loop's: nothing). */
    readonly types: readonly ValType[],
  ) {}
}

/** A multi-value block type, resolved to a type index at build time. */
export class BlockType {
  /** Made by a block with several results. */
  constructor(
    /** The block's result types. */
    readonly results: readonly ValType[],
  ) {}
}

/** A function as a `call` names it: the module finds its index when it builds. */
export interface FuncRef {
  /** The function's name. */
  readonly name: string;
  /** Its parameter types. */
  readonly params: readonly ValType[];
  /** Its result types. */
  readonly results: readonly ValType[];
}

/** An index the module fills in when it builds: of a local, a function or a block type. */
export type Ref = Local | FuncRef | BlockType;

/** One recorded instruction: its encoding (references resolved at build) and text. */
export interface Instr {
  /** Text-format mnemonic (`local.get`, `f32x4.add`, `block`, …). */
  readonly op: string;
  /** Bytes, with references to resolve. */
  readonly code: readonly (number | Ref)[];
  /** Immediates in the text format (`$k`, `offset=16`, `(result f32)`), or "". */
  readonly text: string;
}

/** What the module tells its functions. */
export interface FunctionOwner {
  /** Whether the module imports a memory (loads and stores need one). */
  readonly hasMemory: boolean;
}

/** One entry of the control stack. */
export interface Frame {
  readonly kind: "function" | "block" | "loop" | "if" | "else";
  readonly results: readonly ValType[];
  readonly height: number;
  unreachable: boolean;
  readonly label: Label;
}

/** An operand's type; 0 stands for "any" (after `unreachable`, a `br`, …). */
export type Operand = ValType | 0;

/** Names usable as `$name` in the text format. */
export const NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** Operand types as messages show them: `[i32, v128]` (`any`: polymorphic). */
export function types(ts: readonly Operand[]): string {
  return `[${ts.map((t) => (t === 0 ? "any" : valTypeName(t))).join(", ")}]`;
}

/** A number as the text format writes floats. */
export function floatText(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  return Object.is(v, -0) ? "-0" : String(v);
}
