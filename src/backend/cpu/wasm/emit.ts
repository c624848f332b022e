/**
 * A tiny WebAssembly binary writer: just enough of the module format and the
 * instruction set (integer arithmetic, structured control flow, memory
 * access, a few SIMD and relaxed-SIMD opcodes) to build small numeric kernels
 * in TypeScript at run time, with no committed binary and no build step.
 *
 * Reference: the WebAssembly core specification, binary format (§5), the
 * fixed-width SIMD proposal (prefix `0xFD`), the relaxed-SIMD proposal
 * (`f32x4.relaxed_madd` is `0xFD 0x105`) and the threads proposal (a shared
 * memory's limits carry flags `0x03`: a maximum is present, and shared; a
 * shared memory must declare a maximum).
 *
 * @module
 */

/** A value type byte: `i32`, `f32` or `v128`. */
export type ValType = 0x7f | 0x7d | 0x7b;

/** `i32` value type. */
export const I32: ValType = 0x7f;
/** `f32` value type. */
export const F32: ValType = 0x7d;
/** `v128` value type. */
export const V128: ValType = 0x7b;

/** Unsigned LEB128 encoding of a non-negative integer below 2³². */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 encoding of a 32-bit integer. */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** The UTF-8 bytes of a name, preceded by their count. */
function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/** A vector: element count then the concatenated elements. */
function vec(items: readonly (readonly number[])[]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** One section: id, byte size, contents. */
function section(id: number, contents: readonly number[]): number[] {
  return contents.length === 0 ? [] : [id, ...uleb(contents.length), ...contents];
}

/** The `memarg` of a load or store: alignment exponent and constant byte offset. */
function memarg(alignLog2: number, offset: number): number[] {
  return [...uleb(alignLog2), ...uleb(offset)];
}

/** A SIMD instruction: the `0xFD` prefix and the opcode as an unsigned LEB128. */
function simd(opcode: number): number[] {
  return [0xfd, ...uleb(opcode)];
}

/**
 * An instruction stream for one function body. Each method appends one
 * instruction and returns `this`, so bodies read like the text format:
 * `code.get(0).i32(4).op("i32.add").set(0)`.
 */
export class Code {
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

  /** `block` with an empty block type. */
  block(): this {
    return this.raw(0x02, 0x40);
  }

  /** `loop` with an empty block type. */
  loop(): this {
    return this.raw(0x03, 0x40);
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

  /** `call f`. */
  call(f: number): this {
    return this.raw(0x10, ...uleb(f));
  }

  /** `f32.load offset=…` (natural alignment). */
  f32Load(offset = 0): this {
    return this.raw(0x2a, ...memarg(2, offset));
  }

  /** `f32.store offset=…` (natural alignment). */
  f32Store(offset = 0): this {
    return this.raw(0x38, ...memarg(2, offset));
  }

  /** `v128.load offset=…`. */
  v128Load(offset = 0): this {
    return this.raw(...simd(0x00), ...memarg(4, offset));
  }

  /** `v128.load32_splat offset=…`: one f32 from memory into every lane. */
  v128Load32Splat(offset = 0): this {
    return this.raw(...simd(0x09), ...memarg(2, offset));
  }

  /** `v128.store offset=…`. */
  v128Store(offset = 0): this {
    return this.raw(...simd(0x0b), ...memarg(4, offset));
  }

  /** `v128.const` with four f32 lanes. */
  v128ConstF32(lanes: readonly [number, number, number, number]): this {
    return this.raw(...simd(0x0c), ...new Uint8Array(new Float32Array(lanes).buffer));
  }

  /** `i8x16.shuffle` with 16 byte-lane indices into the concatenation of its two operands. */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new RangeError(`shuffle: need 16 lanes, got ${lanes.length}`);
    return this.raw(...simd(0x0d), ...lanes);
  }

  /** `i8x16.shuffle` that broadcasts 32-bit lane `lane` of the top operand (pushed twice). */
  splatLane32(lane: number): this {
    const b = [0, 1, 2, 3].map((i) => lane * 4 + i);
    return this.shuffle([...b, ...b, ...b, ...b]);
  }
}

/** Instructions without immediates: text-format name → encoding. */
export const PLAIN_OPS = {
  "drop": [0x1a],
  "select": [0x1b],
  "return": [0x0f],
  "i32.eqz": [0x45],
  "i32.eq": [0x46],
  "i32.ne": [0x47],
  "i32.lt_s": [0x48],
  "i32.lt_u": [0x49],
  "i32.gt_s": [0x4a],
  "i32.gt_u": [0x4b],
  "i32.le_u": [0x4d],
  "i32.ge_u": [0x4f],
  "i32.add": [0x6a],
  "i32.sub": [0x6b],
  "i32.mul": [0x6c],
  "i32.div_u": [0x6e],
  "i32.rem_u": [0x70],
  "i32.and": [0x71],
  "i32.shl": [0x74],
  "f32x4.splat": simd(0x13),
  "f32x4.add": simd(0xe4),
  "f32x4.mul": simd(0xe6),
  "f32x4.relaxed_madd": simd(0x105),
} as const satisfies Record<string, readonly number[]>;

/** The text-format name of an instruction without immediates. */
export type PlainOp = keyof typeof PLAIN_OPS;

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
  readonly memoryImport: {
    readonly module: string;
    readonly field: string;
    readonly minPages: number;
    readonly maxPages?: number;
    readonly shared?: boolean;
  };
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
  const sigs: string[] = [];
  const sigBytes: number[][] = [];
  const typeIndex = funcs.map((f) => {
    const bytes = [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))];
    const key = bytes.join(",");
    let i = sigs.indexOf(key);
    if (i < 0) {
      i = sigs.push(key) - 1;
      sigBytes.push(bytes);
    }
    return i;
  });
  const { module, field, minPages, maxPages, shared = false } = options.memoryImport;
  if (shared && maxPages === undefined) throw new RangeError("a shared memory needs maxPages");
  // limits: flags (bit 0: a maximum follows, bit 1: shared), min, max?
  const limits = maxPages === undefined
    ? [0x00, ...uleb(minPages)]
    : [shared ? 0x03 : 0x01, ...uleb(minPages), ...uleb(maxPages)];
  const imports = vec([[...name(module), ...name(field), 0x02, ...limits]]);
  const exports = vec(
    funcs.flatMap((f, i) => f.export === undefined ? [] : [[...name(f.export), 0x00, ...uleb(i)]]),
  );
  const bodies = vec(funcs.map((f) => {
    // Locals are declared as runs of equal types.
    const runs: number[][] = [];
    for (const t of f.locals) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    const body = [...vec(runs.map(([count, t]) => [...uleb(count), t])), ...f.body.bytes, 0x0b];
    return [...uleb(body.length), ...body];
  }));
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d, // magic "\0asm"
    0x01,
    0x00,
    0x00,
    0x00, // version 1
    ...section(1, vec(sigBytes)),
    ...section(2, imports),
    ...section(3, vec(typeIndex.map((i) => uleb(i)))),
    ...section(7, exports),
    ...section(10, bodies),
  ]);
}
