/**
 * What every function under assembly has: the instruction list, the type
 * stack with its control frames (core specification, appendix "Validation
 * Algorithm"), the parametric instructions and structured control flow
 * (`block`, `loop`, `if`, branches, a counted loop). `WasmFunction`
 * (`function.ts`) adds locals, constants, numeric and memory instructions.
 *
 * @module
 */

import { uleb } from "./binary.ts";
import { I32, PLAIN_OPS, type ValType, valTypeName } from "./opcodes.ts";
import { MemShortcuts } from "./shortcuts.ts";
import type { Signature } from "./signatures.ts";
import {
  AsmError,
  BlockType,
  type Frame,
  type Instr,
  Label,
  type Operand,
  type Ref,
  types,
} from "./types.ts";

/**
 * The instruction list and type stack of one function (see
 * {@link ./function.ts WasmFunction}, which is what modules hand out).
 */
export abstract class FunctionBody extends MemShortcuts {
  /** The recorded instructions (without the hoisted constants' prologue). */
  protected readonly instrs: Instr[] = [];
  /** Operand types, deepest first. */
  protected readonly operands: Operand[] = [];
  /** The control stack; the function's own frame at the bottom. */
  protected readonly frames: Frame[] = [];
  /** Whether {@link FunctionBody.end} has run. */
  protected isEnded = false;
  /** Whether the signature is fixed (used by a call, or the function ended). */
  protected sealed = false;
  /** Labels made so far (for their names). */
  protected labelCount = 0;

  /**
   * Starts the function's own control frame.
   *
   * @param name The function's name (in messages and the text format).
   * @param results Its result types.
   */
  constructor(
    /** The function's name (the text format's `$name`, the name section's). */
    readonly name: string,
    /** The result types. */
    readonly results: readonly ValType[],
  ) {
    super();
    this.frames.push({
      kind: "function",
      results,
      height: 0,
      unreachable: false,
      label: new Label(name, results),
    });
  }

  /** Whether {@link FunctionBody.end} has run. */
  get ended(): boolean {
    return this.isEnded;
  }

  /** The operand types on the stack now, deepest first (for debugging and tests). */
  get stack(): readonly string[] {
    return this.operands.map((t) => (t === 0 ? "any" : valTypeName(t)));
  }

  protected frame(): Frame {
    return this.frames[this.frames.length - 1];
  }

  /** Throws the standard mismatch message for `what`. */
  protected mismatch(what: string, needs: readonly Operand[] | string): never {
    const f = this.frame();
    const mine = this.operands.slice(f.height);
    const n = typeof needs === "string" ? 3 : needs.length;
    const shown = mine.length > n ? `[… ${types(mine.slice(-n)).slice(1)}` : types(mine);
    const need = typeof needs === "string" ? needs : types(needs);
    throw new AsmError(`asm: ${this.name}: ${what} needs ${need}, stack has ${shown}`);
  }

  /** Pops `needs` (deepest first) or throws. */
  protected pop(what: string, needs: readonly ValType[]): void {
    const f = this.frame();
    const have = this.operands.length - f.height;
    for (let i = 1; i <= needs.length; i++) {
      if (i > have) {
        if (!f.unreachable) this.mismatch(what, needs);
        break;
      }
      const t = this.operands[this.operands.length - i];
      if (t !== 0 && t !== needs[needs.length - i]) this.mismatch(what, needs);
    }
    this.operands.length -= Math.min(have, needs.length);
  }

  /** Pops one operand of any type (`drop`, `select`); 0 when polymorphic. */
  protected popAny(what: string, needs: string): Operand {
    const f = this.frame();
    if (this.operands.length > f.height) return this.operands.pop() as Operand;
    if (!f.unreachable) this.mismatch(what, needs);
    return 0;
  }

  /** Marks the rest of the current block unreachable (its stack becomes polymorphic). */
  protected markUnreachable(): void {
    const f = this.frame();
    this.operands.length = f.height;
    f.unreachable = true;
  }

  /**
   * Records one instruction after checking `sig` against the stack.
   *
   * @param op The mnemonic (messages, the text format).
   * @param code Its encoding, references resolved at build.
   * @param text Its immediates in the text format.
   * @param sig Its operands and results (unchecked when absent).
   * @returns This function.
   */
  protected emit(op: string, code: readonly (number | Ref)[], text = "", sig?: Signature): this {
    if (this.isEnded) throw new AsmError(`asm: ${this.name}: ${op} after the function's end`);
    if (sig !== undefined) {
      this.pop(op, sig.pops);
      this.operands.push(...sig.pushes);
    }
    this.instrs.push({ op, code, text });
    return this;
  }

  // ---- parametric instructions -----------------------------------------------------

  /** `drop`: pops one value of any type. */
  drop(): this {
    this.popAny("drop", "[any]");
    return this.emit("drop", PLAIN_OPS.drop);
  }

  /** `select`: `[t t i32] → [t]`, the first operand when the condition is non-zero. */
  select(): this {
    const needs = "[t, t, i32] (two operands of one type)";
    this.pop("select", [I32]);
    const b = this.popAny("select", needs), a = this.popAny("select", needs);
    if (a !== 0 && b !== 0 && a !== b) {
      this.operands.push(a, b, I32); // restore, for the message
      this.mismatch("select", needs);
    }
    this.operands.push(a === 0 ? b : a);
    return this.emit("select", PLAIN_OPS.select);
  }

  /** `unreachable`: traps; the rest of the block is polymorphic. */
  unreachable(): this {
    this.emit("unreachable", PLAIN_OPS.unreachable);
    this.markUnreachable();
    return this;
  }

  /** `return`: pops the function's results and leaves it. */
  return(): this {
    this.pop("return", this.results);
    this.emit("return", PLAIN_OPS.return);
    this.markUnreachable();
    return this;
  }

  // ---- structured control flow ---------------------------------------------------

  protected blockType(results: readonly ValType[]): { code: (number | Ref)[]; text: string } {
    const text = results.length === 0 ? "" : `(result ${results.map(valTypeName).join(" ")})`;
    if (results.length <= 1) return { code: [results[0] ?? 0x40], text };
    return { code: [new BlockType(results)], text };
  }

  protected open(kind: Frame["kind"], results: readonly ValType[], hint: string): Label {
    const label = new Label(`${hint}${this.labelCount++}`, kind === "loop" ? [] : results);
    this.frames.push({ kind, results, height: this.operands.length, unreachable: false, label });
    return label;
  }

  /**
   * Whether the operands `mine` above a frame's base are its `results`
   * (after `unreachable`, a suffix of them: the rest are polymorphic).
   */
  protected fits(f: Frame, mine: readonly Operand[]): boolean {
    const r = f.results;
    if (f.unreachable ? mine.length > r.length : mine.length !== r.length) return false;
    return mine.every((t, i) => t === 0 || t === r[r.length - mine.length + i]);
  }

  /** Checks that the block on top ends with its results, then pops it. */
  protected close(): Frame {
    const f = this.frame();
    const mine = this.operands.slice(f.height);
    if (!this.fits(f, mine)) {
      throw new AsmError(
        `asm: ${this.name}: ${f.kind === "else" ? "if" : f.kind} $${f.label.name} ends with ${
          types(mine)
        }, expected ${types(f.results)}`,
      );
    }
    this.operands.length = f.height;
    this.frames.pop();
    return f;
  }

  protected structured(
    kind: "block" | "loop",
    a: readonly ValType[] | ((l: Label) => void),
    b?: (l: Label) => void,
  ): this {
    const [results, body] = typeof a === "function" ? [[], a] : [a, b as (l: Label) => void];
    const bt = this.blockType(results);
    const label = this.open(kind, results, kind === "block" ? "b" : "l");
    this.instrs.push({
      op: kind,
      code: [kind === "block" ? 0x02 : 0x03, ...bt.code],
      text: `$${label.name} ${bt.text}`.trim(),
    });
    body(label);
    this.close();
    this.instrs.push({ op: "end", code: [0x0b], text: "" });
    this.operands.push(...results);
    return this;
  }

  /**
   * `block … end`: `body` emits the block's instructions; a branch to its
   * label leaves the block (with the `results`, default none).
   */
  block(body: (exit: Label) => void): this;
  block(results: readonly ValType[], body: (exit: Label) => void): this;
  block(a: readonly ValType[] | ((l: Label) => void), b?: (l: Label) => void): this {
    return this.structured("block", a, b);
  }

  /** `loop … end`: a branch to its label goes back to the loop's start. */
  loop(body: (top: Label) => void): this;
  loop(results: readonly ValType[], body: (top: Label) => void): this;
  loop(a: readonly ValType[] | ((l: Label) => void), b?: (l: Label) => void): this {
    return this.structured("loop", a, b);
  }

  /**
   * `if … else … end`, popping the `i32` condition: `then` runs where it is
   * non-zero, `otherwise` (required when there are results) elsewhere.
   */
  if(then: (exit: Label) => void, otherwise?: (exit: Label) => void): this;
  if(
    results: readonly ValType[],
    then: (exit: Label) => void,
    otherwise?: (exit: Label) => void,
  ): this;
  if(
    a: readonly ValType[] | ((l: Label) => void),
    b?: (l: Label) => void,
    c?: (l: Label) => void,
  ): this {
    const [results, then, otherwise] = typeof a === "function"
      ? [[], a, b]
      : [a, b as (l: Label) => void, c];
    if (otherwise === undefined && results.length > 0) {
      throw new AsmError(
        `asm: ${this.name}: an if with results ${types(results)} needs an else branch`,
      );
    }
    this.pop("if", [I32]);
    const bt = this.blockType(results);
    const label = this.open("if", results, "if");
    this.instrs.push({
      op: "if",
      code: [0x04, ...bt.code],
      text: `$${label.name} ${bt.text}`.trim(),
    });
    then(label);
    if (otherwise !== undefined) {
      this.close();
      this.frames.push({
        kind: "else",
        results,
        height: this.operands.length,
        unreachable: false,
        label,
      });
      this.instrs.push({ op: "else", code: [0x05], text: "" });
      otherwise(label);
    }
    this.close();
    this.instrs.push({ op: "end", code: [0x0b], text: "" });
    this.operands.push(...results);
    return this;
  }

  protected depth(label: Label, op: string): number {
    const i = this.frames.findLastIndex((f) => f.label === label);
    if (i < 1) throw new AsmError(`asm: ${this.name}: ${op} $${label.name}: not inside that block`);
    return this.frames.length - 1 - i;
  }

  /** `br label`: leaves (block, if) or restarts (loop) the labelled construct. */
  br(label: Label): this {
    const depth = this.depth(label, "br");
    this.emit("br", [0x0c, ...uleb(depth)], `$${label.name}`, { pops: label.types, pushes: [] });
    this.markUnreachable();
    return this;
  }

  /** `br_if label`: pops an `i32` and branches where it is non-zero. */
  brIf(label: Label): this {
    const depth = this.depth(label, "br_if");
    return this.emit("br_if", [0x0d, ...uleb(depth)], `$${label.name}`, {
      pops: [...label.types, I32],
      pushes: label.types,
    });
  }

  /** `br_table`: pops an `i32` `i` and branches to `labels[i]`, or `fallback` past the end. */
  brTable(labels: readonly Label[], fallback: Label): this {
    const arity = fallback.types;
    const depths = [...labels, fallback].map((l) => {
      if (types(l.types) !== types(arity)) {
        throw new AsmError(
          `asm: ${this.name}: br_table $${l.name} carries ${types(l.types)}, the default ${
            types(arity)
          }`,
        );
      }
      return this.depth(l, "br_table");
    });
    const code = [0x0e, ...uleb(labels.length), ...depths.flatMap((d) => uleb(d))];
    const text = [...labels, fallback].map((l) => `$${l.name}`).join(" ");
    this.emit("br_table", code, text, { pops: [...arity, I32], pushes: [] });
    this.markUnreachable();
    return this;
  }

  /**
   * `block loop <exit> br_if … <body> br … end end`: repeats `body` until
   * `exit` (emitted before each iteration, pushing one `i32`) is non-zero.
   *
   * @param exit Emits the exit condition.
   * @param body Emits one iteration; `done` leaves the loop, `next` starts the next iteration.
   * @returns This function.
   */
  loopUntil(exit: () => void, body: (done: Label, next: Label) => void): this {
    return this.block((done) =>
      this.loop((next) => {
        exit();
        this.brIf(done);
        body(done, next);
        this.br(next);
      })
    );
  }

  /**
   * Ends the function: checks that the stack holds exactly its results.
   * Further instructions throw. The module ends unended functions when it
   * builds.
   *
   * @returns This function.
   */
  end(): this {
    if (this.isEnded) return this;
    if (this.frames.length !== 1) {
      throw new AsmError(`asm: ${this.name}: end inside an open ${this.frame().kind}`);
    }
    const f = this.frame();
    const mine = this.operands;
    if (!this.fits(f, mine)) {
      throw new AsmError(
        `asm: ${this.name}: the function ends with ${types(mine)}, expected its results ${
          types(f.results)
        }`,
      );
    }
    this.sealed = true;
    this.isEnded = true;
    return this;
  }
}
