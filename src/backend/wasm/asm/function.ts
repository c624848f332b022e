/**
 * One function of a {@link ./module.ts WasmModule}: named parameters and
 * locals, a type stack checked at every instruction, structured control
 * flow taking callbacks, hoisted `v128` constants. Indices (of locals, of
 * called functions, of multi-value block types) are resolved when the
 * module is built, never kept by hand.
 *
 * Every instruction method checks its operands against the stack as the
 * WebAssembly validation algorithm does (core specification, appendix
 * "Validation Algorithm") and throws an {@link AsmError} at the emitting
 * line when they do not match:
 * `asm: pack_a: f32x4.add needs [v128, v128], stack has [… i32, v128]`.
 *
 * @module
 */

import { sleb, sleb64 } from "./binary.ts";
import {
  F32,
  F64,
  I32,
  I64,
  I8X16_SHUFFLE,
  laneBytes,
  laneMemBytes,
  type LaneOp,
  memBytes,
  type MemOp,
  PLAIN_OPS,
  type PlainOp,
  splat32Lanes,
  V128,
  V128_CONST,
  type ValType,
} from "./opcodes.ts";
import { FunctionBody } from "./body.ts";
import { laneSignature, memType, numericSignature, type Signature } from "./signatures.ts";
import {
  AsmError,
  floatText,
  type FuncRef,
  type FunctionOwner,
  type Instr,
  type Label,
  Local,
  NAME,
} from "./types.ts";

/**
 * A function being assembled: its parameters and locals as {@link Local}
 * handles, its instructions, and the type stack they leave. Made by
 * `WasmModule.func`; the function is itself the handle that `call` takes.
 *
 * @example
 * ```ts
 * import { F32, I32, WasmModule } from "./mod.ts";
 *
 * const mod = new WasmModule();
 * const scale = mod.func("scale", { params: { x: F32, n: I32 }, results: [F32], export: true });
 * const { x, n } = scale.args;
 * scale.get(x).get(n).op("f32.convert_i32_s").op("f32.mul");
 * const { exports } = new WebAssembly.Instance(mod.compile());
 * if ((exports.scale as (x: number, n: number) => number)(1.5, 4) !== 6) throw new Error("scale");
 * ```
 */
/** Scratch for a float32's bits (`hoistF32x4`'s key). */
const F32_BITS = new Float32Array(1);
const U32_BITS = new Uint32Array(F32_BITS.buffer);

/** Numeric instructions' signatures by name, derived once each. */
const SIGNATURES = new Map<string, Signature>();

/** The signatures of `local.get`, `local.set` and `local.tee` by the local's type. */
const LOCAL_SIGNATURES = {} as Record<ValType, { get: Signature; set: Signature; tee: Signature }>;
for (const t of [0x7f, 0x7e, 0x7d, 0x7c, 0x7b] as const) {
  LOCAL_SIGNATURES[t] = {
    get: { pops: [], pushes: [t] },
    set: { pops: [t], pushes: [] },
    tee: { pops: [t], pushes: [t] },
  };
}

export class WasmFunction<P extends Record<string, ValType> = Record<string, ValType>>
  extends FunctionBody
  implements FuncRef {
  /** The parameters by name, in declaration order. */
  readonly args: { readonly [K in keyof P]: Local };
  readonly #params: Local[] = [];
  readonly #locals: Local[] = [];
  /** Each param's and local's position in `#params` or `#locals` (lookups at build are O(1)). */
  readonly #position = new Map<Local, number>();
  readonly #names = new Set<string>();
  readonly #prologue: Instr[] = [];
  readonly #consts = new Map<string, Local>();
  /** Splatted constants by `f<bits>` or `i<value>` (see `hoistF32x4`). */
  readonly #lanes = new Map<string, Local>();

  /**
   * Use `WasmModule.func`, which makes functions.
   *
   * @param name The function's name (a plain name: letters, digits, `_`, `.`).
   * @param params Parameter names → types, in order.
   * @param results Result types.
   * @param exportName The export name, if exported.
   * @param owner The module.
   */
  constructor(
    name: string,
    params: P,
    results: readonly ValType[],
    /** The export name, if exported. */
    readonly exportName: string | undefined,
    /** The module it belongs to. */
    readonly owner: FunctionOwner,
  ) {
    if (!NAME.test(name)) throw new AsmError(`asm: function name "${name}" is not a plain name`);
    super(name, results);
    const args: Record<string, Local> = {};
    for (const [k, t] of Object.entries(params)) args[k] = this.param(k, t);
    this.args = args as { readonly [K in keyof P]: Local };
  }

  /** The parameter types, in order. */
  get params(): readonly ValType[] {
    return this.#params.map((p) => p.type);
  }

  /**
   * Adds a parameter; possible until the signature is used (by a `call` of
   * this function, or the build).
   *
   * @param name Its name, unique in the function.
   * @param type Its value type.
   * @returns The handle.
   */
  param(name: string, type: ValType): Local {
    if (this.sealed) {
      throw new AsmError(
        `asm: ${this.name}: param "${name}" comes after the signature was used (by a call or the build); declare params first`,
      );
    }
    const p = this.#declare(name, type);
    this.#position.set(p, this.#params.length);
    this.#params.push(p);
    return p;
  }

  /**
   * Adds a local (zero-initialized).
   *
   * @param name Its name, unique in the function.
   * @param type Its value type.
   * @returns The handle.
   */
  local(name: string, type: ValType): Local {
    const l = this.#declare(name, type);
    this.#position.set(l, this.#locals.length);
    this.#locals.push(l);
    return l;
  }

  /**
   * Adds several locals, in the order of `decl`'s keys.
   *
   * @param decl Name → type.
   * @returns The handles by name.
   */
  locals<L extends Record<string, ValType>>(decl: L): { readonly [K in keyof L]: Local } {
    const out: Record<string, Local> = {};
    for (const [k, t] of Object.entries(decl)) out[k] = this.local(k, t);
    return out as { readonly [K in keyof L]: Local };
  }

  #declare(name: string, type: ValType): Local {
    if (!NAME.test(name)) {
      throw new AsmError(`asm: ${this.name}: local name "${name}" is not a plain name`);
    }
    if (this.#names.has(name)) {
      throw new AsmError(`asm: ${this.name}: a local "${name}" exists already`);
    }
    this.#names.add(name);
    return new Local(name, type, this);
  }

  // ---- the type stack -------------------------------------------------------

  // ---- locals and constants ---------------------------------------------------

  #own(l: Local, op: string): Local {
    if (l.owner !== this) {
      throw new AsmError(
        `asm: ${this.name}: ${op} $${l.name}: that local belongs to ${l.owner.name}`,
      );
    }
    return l;
  }

  /** `local.get`: pushes the local's value. */
  get(l: Local): this {
    this.#own(l, "local.get");
    return this.emit("local.get", l.codes[0], l.text, LOCAL_SIGNATURES[l.type].get);
  }

  /** `local.set`: pops a value of the local's type into it. */
  set(l: Local): this {
    this.#own(l, "local.set");
    return this.emit("local.set", l.codes[1], l.text, LOCAL_SIGNATURES[l.type].set);
  }

  /** `local.tee`: stores the top value into the local and keeps it. */
  tee(l: Local): this {
    this.#own(l, "local.tee");
    return this.emit("local.tee", l.codes[2], l.text, LOCAL_SIGNATURES[l.type].tee);
  }

  /** `i32.const` (values up to 2³² − 1 are taken as their two's-complement i32). */
  i32(value: number): this {
    return this.emit("i32.const", [0x41, ...sleb(value)], String(value | 0), {
      pops: [],
      pushes: [I32],
    });
  }

  /** `i64.const`. */
  i64(value: bigint): this {
    const v = BigInt.asIntN(64, value);
    return this.emit("i64.const", [0x42, ...sleb64(value)], String(v), {
      pops: [],
      pushes: [I64],
    });
  }

  /** `f32.const` (the value rounded to float32). */
  f32(value: number): this {
    const b = new Uint8Array(new Float32Array([value]).buffer);
    return this.emit("f32.const", [0x43, ...b], floatText(Math.fround(value)), {
      pops: [],
      pushes: [F32],
    });
  }

  /** `f64.const`. */
  f64(value: number): this {
    const b = new Uint8Array(new Float64Array([value]).buffer);
    return this.emit("f64.const", [0x44, ...b], floatText(value), { pops: [], pushes: [F64] });
  }

  /** `v128.const` of 16 bytes (`text`: how the text format shows it; default `i8x16 …`). */
  v128Const(bytes: ArrayLike<number>, text?: string): this {
    if (bytes.length !== 16) {
      throw new AsmError(`asm: ${this.name}: v128.const needs 16 bytes, got ${bytes.length}`);
    }
    const b = Array.from(bytes, (x) => x & 0xff);
    return this.emit("v128.const", [...V128_CONST, ...b], text ?? `i8x16 ${b.join(" ")}`, {
      pops: [],
      pushes: [V128],
    });
  }

  /** `v128.const` with four f32 lanes. */
  v128ConstF32(lanes: readonly [number, number, number, number]): this {
    const b = new Uint8Array(new Float32Array(lanes).buffer);
    return this.v128Const(b, `f32x4 ${lanes.map((v) => floatText(Math.fround(v))).join(" ")}`);
  }

  /** `v128.const` with four i32 lanes. */
  v128ConstI32(lanes: readonly [number, number, number, number]): this {
    return this.v128Const(new Uint8Array(new Int32Array(lanes).buffer), `i32x4 ${lanes.join(" ")}`);
  }

  /** `v128.const` with two f64 lanes. */
  v128ConstF64(lanes: readonly [number, number]): this {
    const b = new Uint8Array(new Float64Array(lanes).buffer);
    return this.v128Const(b, `f64x2 ${lanes.map(floatText).join(" ")}`);
  }

  /**
   * A `v128` local set once, before the body, to the constant `bytes`; the
   * same bytes give the same local (constants hoisted out of loops).
   *
   * @param bytes The 16 bytes.
   * @param text How the text format shows the constant (default `i8x16 …`).
   * @returns The local holding it.
   */
  hoist(bytes: ArrayLike<number>, text?: string): Local {
    const b = Array.from(bytes, (x) => x & 0xff);
    const key = b.join(",");
    let l = this.#consts.get(key);
    if (l === undefined) {
      if (b.length !== 16) throw new AsmError(`asm: ${this.name}: a v128 constant needs 16 bytes`);
      l = this.local(`const${this.#consts.size}`, V128);
      this.#prologue.push(
        {
          op: "v128.const",
          code: [...V128_CONST, ...b],
          text: text ?? `i8x16 ${b.join(" ")}`,
        },
        { op: "local.set", code: [0x21, l], text: `$${l.name}` },
      );
      this.#consts.set(key, l);
    }
    return l;
  }

  /** A hoisted `v128` local of four f32 lanes `v` (see {@link WasmFunction.hoist}). */
  hoistF32x4(v: number): Local {
    F32_BITS[0] = v;
    const key = `f${U32_BITS[0]}`; // the float32's bits: −0 and NaN payloads stay apart
    return this.#lanes.get(key) ?? this.#hoistLanes(key, () =>
      this.hoist(
        new Uint8Array(new Float32Array([v, v, v, v]).buffer),
        `f32x4 ${floatText(Math.fround(v))} ×4`,
      ));
  }

  /** A hoisted `v128` local of four i32 lanes `v`. */
  hoistI32x4(v: number): Local {
    const key = `i${v | 0}`;
    return this.#lanes.get(key) ??
      this.#hoistLanes(
        key,
        () => this.hoist(new Uint8Array(new Int32Array([v, v, v, v]).buffer), `i32x4 ${v | 0} ×4`),
      );
  }

  /** `hoist` of a splatted constant, remembered by `key` (emitters ask for the same ones often). */
  #hoistLanes(key: string, hoist: () => Local): Local {
    const l = hoist();
    this.#lanes.set(key, l);
    return l;
  }

  /** A hoisted `v128` local of two f64 lanes `v`. */
  hoistF64x2(v: number): Local {
    return this.hoist(new Uint8Array(new Float64Array([v, v]).buffer), `f64x2 ${floatText(v)} ×2`);
  }

  /** A hoisted `v128` local of two i64 lanes `v`. */
  hoistI64x2(v: bigint): Local {
    return this.hoist(new Uint8Array(new BigInt64Array([v, v]).buffer), `i64x2 ${v} ×2`);
  }

  // ---- numeric, parametric and memory instructions ------------------------------

  /**
   * An instruction without immediates, by its text-format name; its operand
   * types follow from the name (`f32x4.add: [v128 v128] → [v128]`).
   */
  op(name: PlainOp): this {
    switch (name) {
      case "drop":
        return this.drop();
      case "select":
        return this.select();
      case "unreachable":
        return this.unreachable();
      case "return":
        return this.return();
      case "nop":
        return this.emit("nop", PLAIN_OPS.nop);
    }
    let sig = SIGNATURES.get(name);
    if (sig === undefined) SIGNATURES.set(name, sig = numericSignature(name));
    return this.emit(name, PLAIN_OPS[name], "", sig);
  }

  /** `call f`: pops `f`'s params, pushes its results (its signature is fixed from now on). */
  call(f: WasmFunction): this {
    if (f.owner !== this.owner) {
      throw new AsmError(`asm: ${this.name}: call $${f.name}: that function is in another module`);
    }
    (f as WasmFunction).sealed = true;
    return this.emit("call", [0x10, f], `$${f.name}`, { pops: f.params, pushes: f.results });
  }

  /** Checks that `op` has a memory to address and a valid `offset`. */
  #checkMem(op: string, offset: number): void {
    if (!this.owner.hasMemory) {
      throw new AsmError(`asm: ${this.name}: ${op} needs a memory (the module imports none)`);
    }
    if (!Number.isInteger(offset) || offset < 0 || offset > 0xffffffff) {
      throw new AsmError(
        `asm: ${this.name}: ${op} offset=${offset}: expected an integer in 0 … 2³² − 1`,
      );
    }
  }

  /**
   * A load or store without lane immediate, with a constant byte `offset`
   * and the natural alignment hint (unaligned addresses stay legal).
   */
  mem(op: MemOp, offset = 0): this {
    this.#checkMem(op, offset);
    const { type, store } = memType(op);
    const sig = store ? { pops: [I32, type], pushes: [] } : { pops: [I32], pushes: [type] };
    return this.emit(op, memBytes(op, offset), offset === 0 ? "" : `offset=${offset}`, sig);
  }

  #laneIndex(op: string, lane: number, lanes: number): number {
    if (!Number.isInteger(lane) || lane < 0 || lane >= lanes) {
      throw new AsmError(`asm: ${this.name}: ${op} lane ${lane}: expected 0 … ${lanes - 1}`);
    }
    return lane;
  }

  /** `v128.loadN_lane offset=… lane`: `[i32 v128] → [v128]`, one lane replaced from memory. */
  v128LoadLane(bits: 8 | 16 | 32 | 64, offset: number, lane: number): this {
    return this.#laneMem(bits, false, offset, lane);
  }

  /** `v128.storeN_lane offset=… lane`: `[i32 v128] → []`, one lane to memory. */
  v128StoreLane(bits: 8 | 16 | 32 | 64, offset: number, lane: number): this {
    return this.#laneMem(bits, true, offset, lane);
  }

  #laneMem(bits: 8 | 16 | 32 | 64, store: boolean, offset: number, lane: number): this {
    const op = `v128.${store ? "store" : "load"}${bits}_lane`;
    this.#checkMem(op, offset);
    const l = this.#laneIndex(op, lane, 128 / bits);
    const text = `${offset === 0 ? "" : `offset=${offset} `}${l}`;
    const sig = { pops: [I32, V128], pushes: store ? [] : [V128] };
    return this.emit(op, laneMemBytes(bits, store, offset, l), text, sig);
  }

  /** A lane extract or replace (`f32x4.extract_lane 2`, …). */
  lane(op: LaneOp, lane: number): this {
    const sig = laneSignature(op);
    const l = this.#laneIndex(op, lane, sig.lanes);
    return this.emit(op, laneBytes(op, l), String(l), sig);
  }

  /** `i8x16.shuffle` with 16 byte-lane indices (0 … 31) into the concatenation of its operands. */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) {
      throw new AsmError(
        `asm: ${this.name}: i8x16.shuffle needs 16 lane indices in 0 … 31, got [${lanes}]`,
      );
    }
    return this.emit("i8x16.shuffle", [...I8X16_SHUFFLE, ...lanes], lanes.join(" "), {
      pops: [V128, V128],
      pushes: [V128],
    });
  }

  /** `i8x16.shuffle` that broadcasts 32-bit lane `lane` of the top operand (pushed twice). */
  splatLane32(lane: number): this {
    return this.shuffle(splat32Lanes(this.#laneIndex("splatLane32", lane, 4)));
  }

  /** `memory.size`: `[] → [i32]`, the memory's size in pages. */
  memorySize(): this {
    this.#checkMem("memory.size", 0);
    return this.emit("memory.size", [0x3f, 0x00], "", { pops: [], pushes: [I32] });
  }

  /** `memory.grow`: `[i32] → [i32]`, the old size in pages or −1. */
  memoryGrow(): this {
    this.#checkMem("memory.grow", 0);
    return this.emit("memory.grow", [0x40, 0x00], "", { pops: [I32], pushes: [I32] });
  }

  /**
   * `for (i = from; i < to; i += step) body` on an `i32` local, compared
   * unsigned unless `signed`: `from` omitted leaves `i` as it is (a fresh
   * local is 0); `to` and `step` are constants or locals read at each
   * iteration (a local step must be positive: the loop exits on `i ≥ to`).
   *
   * @param i The counter (an `i32` local).
   * @param range `from`, `to`, `step` (positive, default 1), `signed` (default false).
   * @param body Emits one iteration; `done` leaves the loop.
   * @returns This function.
   */
  forLoop(
    i: Local,
    range: { from?: number | Local; to: number | Local; step?: number | Local; signed?: boolean },
    body: (done: Label) => void,
  ): this {
    const { from, to, step = 1, signed = false } = range;
    if (i.type !== I32) {
      throw new AsmError(`asm: ${this.name}: forLoop counter $${i.name} must be an i32`);
    }
    if (typeof step === "number" && (!Number.isInteger(step) || step <= 0)) {
      throw new AsmError(
        `asm: ${this.name}: forLoop step ${step}: expected a positive integer (count down with loopUntil)`,
      );
    }
    const push = (v: number | Local): this => (typeof v === "number" ? this.i32(v) : this.get(v));
    if (from !== undefined) push(from).set(i);
    const exit = (): void => {
      this.get(i);
      push(to).op(signed ? "i32.ge_s" : "i32.ge_u");
    };
    return this.loopUntil(exit, (done) => {
      body(done);
      this.get(i);
      push(step).op("i32.add").set(i);
    });
  }

  /**
   * What the module needs to encode and print this function: parameters,
   * locals (hoisted constants included), and the instructions (the
   * constants' prologue first).
   *
   * @returns The function's parts.
   */
  listing(): {
    params: readonly Local[];
    locals: readonly Local[];
    body: readonly Instr[];
  } {
    return {
      params: this.#params,
      locals: this.#locals,
      body: [...this.#prologue, ...this.instrs],
    };
  }

  /**
   * The index of `l` in this function (params first, then locals).
   *
   * @param l A local of this function.
   * @returns Its index.
   */
  indexOf(l: Local): number {
    const at = this.#position.get(l);
    if (at === undefined) return -1;
    return this.#params[at] === l ? at : this.#params.length + at;
  }
}
