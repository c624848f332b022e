/**
 * A tiny WebAssembly binary writer: just enough of the module format and the
 * instruction set (integer and float arithmetic, structured control flow,
 * memory access, most fixed-width SIMD opcodes and a few relaxed-SIMD ones)
 * to build small numeric kernels in TypeScript at run time, with no
 * committed binary and no build step.
 *
 * Reference: the WebAssembly core specification, binary format (§5), the
 * fixed-width SIMD proposal (prefix `0xFD`), the relaxed-SIMD proposal
 * (`f32x4.relaxed_madd` is `0xFD 0x105`) and the threads proposal (a shared
 * memory's limits carry flags `0x03`: a maximum is present, and shared; a
 * shared memory must declare a maximum).
 *
 * @module
 */

/** A value type byte: `i32`, `i64`, `f32`, `f64` or `v128`. */
export type ValType = 0x7f | 0x7e | 0x7d | 0x7c | 0x7b;

/** `i32` value type. */
export const I32: ValType = 0x7f;
/** `i64` value type. */
export const I64: ValType = 0x7e;
/** `f32` value type. */
export const F32: ValType = 0x7d;
/** `f64` value type. */
export const F64: ValType = 0x7c;
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

  /** `call f`. */
  call(f: number): this {
    return this.raw(0x10, ...uleb(f));
  }

  /**
   * A load or store without lane immediate, by its text-format name, with a
   * constant byte `offset` and the natural alignment hint (unaligned
   * addresses stay legal: the hint is only a hint).
   */
  mem(op: MemOp, offset = 0): this {
    const [prefix, code, align] = MEM_OPS[op];
    return prefix
      ? this.raw(...simd(code), ...memarg(align, offset))
      : this.raw(code, ...memarg(align, offset));
  }

  /** `f32.load offset=…` (natural alignment). */
  f32Load(offset = 0): this {
    return this.mem("f32.load", offset);
  }

  /** `f32.store offset=…` (natural alignment). */
  f32Store(offset = 0): this {
    return this.mem("f32.store", offset);
  }

  /** `v128.load offset=…`. */
  v128Load(offset = 0): this {
    return this.mem("v128.load", offset);
  }

  /** `v128.load32_splat offset=…`: one f32 from memory into every lane. */
  v128Load32Splat(offset = 0): this {
    return this.mem("v128.load32_splat", offset);
  }

  /** `v128.store offset=…`. */
  v128Store(offset = 0): this {
    return this.mem("v128.store", offset);
  }

  /**
   * `v128.loadN_lane offset=… lane` (`bits` = N): replaces one lane of the
   * vector on top of the stack (pushed after the address) with memory.
   */
  v128LoadLane(bits: 8 | 16 | 32 | 64, offset: number, lane: number): this {
    const [code, align] = LANE_MEM[bits];
    return this.raw(...simd(code), ...memarg(align, offset), lane);
  }

  /** `v128.storeN_lane offset=… lane` (`bits` = N): stores one lane of the vector on top. */
  v128StoreLane(bits: 8 | 16 | 32 | 64, offset: number, lane: number): this {
    const [code, align] = LANE_MEM[bits];
    return this.raw(...simd(code + 4), ...memarg(align, offset), lane);
  }

  /** A lane extract or replace (`i32x4.extract_lane 2` …), by its text-format name. */
  lane(op: LaneOp, lane: number): this {
    return this.raw(...simd(LANE_OPS[op]), lane);
  }

  /** `v128.const` with 16 byte lanes. */
  v128Const(bytes: ArrayLike<number>): this {
    if (bytes.length !== 16) throw new RangeError(`v128.const: need 16 bytes, got ${bytes.length}`);
    return this.raw(...simd(0x0c), ...Array.from(bytes, (b) => b & 0xff));
  }

  /** `v128.const` with four f32 lanes. */
  v128ConstF32(lanes: readonly [number, number, number, number]): this {
    return this.v128Const(new Uint8Array(new Float32Array(lanes).buffer));
  }

  /** `v128.const` with four i32 lanes. */
  v128ConstI32(lanes: readonly [number, number, number, number]): this {
    return this.v128Const(new Uint8Array(new Int32Array(lanes).buffer));
  }

  /** `v128.const` with two f64 lanes. */
  v128ConstF64(lanes: readonly [number, number]): this {
    return this.v128Const(new Uint8Array(new Float64Array(lanes).buffer));
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

/**
 * Loads and stores with a `memarg` and no lane: name → [SIMD prefix?,
 * opcode, natural alignment exponent].
 */
export const MEM_OPS = {
  "i32.load": [false, 0x28, 2],
  "i64.load": [false, 0x29, 3],
  "f32.load": [false, 0x2a, 2],
  "f64.load": [false, 0x2b, 3],
  "i32.load8_s": [false, 0x2c, 0],
  "i32.load8_u": [false, 0x2d, 0],
  "i32.load16_s": [false, 0x2e, 1],
  "i32.load16_u": [false, 0x2f, 1],
  "i32.store": [false, 0x36, 2],
  "i64.store": [false, 0x37, 3],
  "f32.store": [false, 0x38, 2],
  "f64.store": [false, 0x39, 3],
  "i32.store8": [false, 0x3a, 0],
  "i32.store16": [false, 0x3b, 1],
  "v128.load": [true, 0x00, 4],
  "v128.load8x8_s": [true, 0x01, 3],
  "v128.load8x8_u": [true, 0x02, 3],
  "v128.load16x4_s": [true, 0x03, 3],
  "v128.load16x4_u": [true, 0x04, 3],
  "v128.load32x2_s": [true, 0x05, 3],
  "v128.load32x2_u": [true, 0x06, 3],
  "v128.load8_splat": [true, 0x07, 0],
  "v128.load16_splat": [true, 0x08, 1],
  "v128.load32_splat": [true, 0x09, 2],
  "v128.load64_splat": [true, 0x0a, 3],
  "v128.store": [true, 0x0b, 4],
  "v128.load32_zero": [true, 0x5c, 2],
  "v128.load64_zero": [true, 0x5d, 3],
} as const satisfies Record<string, readonly [boolean, number, number]>;

/** The text-format name of a load or store without lane immediate. */
export type MemOp = keyof typeof MEM_OPS;

/** `v128.loadN_lane` opcode and alignment by N; `v128.storeN_lane` is the opcode + 4. */
const LANE_MEM = { 8: [0x54, 0], 16: [0x55, 1], 32: [0x56, 2], 64: [0x57, 3] } as const;

/** Lane extracts and replaces: name → SIMD opcode (a lane index byte follows). */
export const LANE_OPS = {
  "i8x16.extract_lane_s": 0x15,
  "i8x16.extract_lane_u": 0x16,
  "i8x16.replace_lane": 0x17,
  "i16x8.extract_lane_s": 0x18,
  "i16x8.extract_lane_u": 0x19,
  "i16x8.replace_lane": 0x1a,
  "i32x4.extract_lane": 0x1b,
  "i32x4.replace_lane": 0x1c,
  "i64x2.extract_lane": 0x1d,
  "i64x2.replace_lane": 0x1e,
  "f32x4.extract_lane": 0x1f,
  "f32x4.replace_lane": 0x20,
  "f64x2.extract_lane": 0x21,
  "f64x2.replace_lane": 0x22,
} as const satisfies Record<string, number>;

/** The text-format name of a lane extract or replace. */
export type LaneOp = keyof typeof LANE_OPS;

/** Instructions without immediates: text-format name → encoding. */
export const PLAIN_OPS = {
  "unreachable": [0x00],
  "nop": [0x01],
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
  "i32.le_s": [0x4c],
  "i32.le_u": [0x4d],
  "i32.ge_s": [0x4e],
  "i32.ge_u": [0x4f],
  "f32.eq": [0x5b],
  "f32.ne": [0x5c],
  "f32.lt": [0x5d],
  "f32.gt": [0x5e],
  "f32.le": [0x5f],
  "f32.ge": [0x60],
  "f64.eq": [0x61],
  "f64.ne": [0x62],
  "f64.lt": [0x63],
  "f64.gt": [0x64],
  "f64.le": [0x65],
  "f64.ge": [0x66],
  "i32.clz": [0x67],
  "i32.ctz": [0x68],
  "i32.popcnt": [0x69],
  "i32.add": [0x6a],
  "i32.sub": [0x6b],
  "i32.mul": [0x6c],
  "i32.div_s": [0x6d],
  "i32.div_u": [0x6e],
  "i32.rem_s": [0x6f],
  "i32.rem_u": [0x70],
  "i32.and": [0x71],
  "i32.or": [0x72],
  "i32.xor": [0x73],
  "i32.shl": [0x74],
  "i32.shr_s": [0x75],
  "i32.shr_u": [0x76],
  "i32.rotl": [0x77],
  "i32.rotr": [0x78],
  "f32.abs": [0x8b],
  "f32.neg": [0x8c],
  "f32.ceil": [0x8d],
  "f32.floor": [0x8e],
  "f32.trunc": [0x8f],
  "f32.nearest": [0x90],
  "f32.sqrt": [0x91],
  "f32.add": [0x92],
  "f32.sub": [0x93],
  "f32.mul": [0x94],
  "f32.div": [0x95],
  "f32.min": [0x96],
  "f32.max": [0x97],
  "f32.copysign": [0x98],
  "f64.abs": [0x99],
  "f64.neg": [0x9a],
  "f64.ceil": [0x9b],
  "f64.floor": [0x9c],
  "f64.trunc": [0x9d],
  "f64.nearest": [0x9e],
  "f64.sqrt": [0x9f],
  "f64.add": [0xa0],
  "f64.sub": [0xa1],
  "f64.mul": [0xa2],
  "f64.div": [0xa3],
  "f64.min": [0xa4],
  "f64.max": [0xa5],
  "f64.copysign": [0xa6],
  "i32.trunc_f32_s": [0xa8],
  "i32.trunc_f64_s": [0xaa],
  "f32.convert_i32_s": [0xb2],
  "f32.demote_f64": [0xb6],
  "f64.convert_i32_s": [0xb7],
  "f64.promote_f32": [0xbb],
  "i32.reinterpret_f32": [0xbc],
  "f32.reinterpret_i32": [0xbe],
  "i8x16.swizzle": simd(0x0e),
  "i8x16.splat": simd(0x0f),
  "i16x8.splat": simd(0x10),
  "i32x4.splat": simd(0x11),
  "i64x2.splat": simd(0x12),
  "f32x4.splat": simd(0x13),
  "f64x2.splat": simd(0x14),
  "i8x16.eq": simd(0x23),
  "i8x16.ne": simd(0x24),
  "i8x16.lt_s": simd(0x25),
  "i8x16.lt_u": simd(0x26),
  "i8x16.gt_s": simd(0x27),
  "i8x16.gt_u": simd(0x28),
  "i8x16.le_s": simd(0x29),
  "i8x16.le_u": simd(0x2a),
  "i8x16.ge_s": simd(0x2b),
  "i8x16.ge_u": simd(0x2c),
  "i16x8.eq": simd(0x2d),
  "i16x8.ne": simd(0x2e),
  "i16x8.lt_s": simd(0x2f),
  "i16x8.lt_u": simd(0x30),
  "i16x8.gt_s": simd(0x31),
  "i16x8.gt_u": simd(0x32),
  "i16x8.le_s": simd(0x33),
  "i16x8.le_u": simd(0x34),
  "i16x8.ge_s": simd(0x35),
  "i16x8.ge_u": simd(0x36),
  "i32x4.eq": simd(0x37),
  "i32x4.ne": simd(0x38),
  "i32x4.lt_s": simd(0x39),
  "i32x4.lt_u": simd(0x3a),
  "i32x4.gt_s": simd(0x3b),
  "i32x4.gt_u": simd(0x3c),
  "i32x4.le_s": simd(0x3d),
  "i32x4.le_u": simd(0x3e),
  "i32x4.ge_s": simd(0x3f),
  "i32x4.ge_u": simd(0x40),
  "f32x4.eq": simd(0x41),
  "f32x4.ne": simd(0x42),
  "f32x4.lt": simd(0x43),
  "f32x4.gt": simd(0x44),
  "f32x4.le": simd(0x45),
  "f32x4.ge": simd(0x46),
  "f64x2.eq": simd(0x47),
  "f64x2.ne": simd(0x48),
  "f64x2.lt": simd(0x49),
  "f64x2.gt": simd(0x4a),
  "f64x2.le": simd(0x4b),
  "f64x2.ge": simd(0x4c),
  "v128.not": simd(0x4d),
  "v128.and": simd(0x4e),
  "v128.andnot": simd(0x4f),
  "v128.or": simd(0x50),
  "v128.xor": simd(0x51),
  "v128.bitselect": simd(0x52),
  "v128.any_true": simd(0x53),
  "f32x4.demote_f64x2_zero": simd(0x5e),
  "f64x2.promote_low_f32x4": simd(0x5f),
  "i8x16.abs": simd(0x60),
  "i8x16.neg": simd(0x61),
  "i8x16.popcnt": simd(0x62),
  "i8x16.all_true": simd(0x63),
  "i8x16.bitmask": simd(0x64),
  "i8x16.narrow_i16x8_s": simd(0x65),
  "i8x16.narrow_i16x8_u": simd(0x66),
  "f32x4.ceil": simd(0x67),
  "f32x4.floor": simd(0x68),
  "f32x4.trunc": simd(0x69),
  "f32x4.nearest": simd(0x6a),
  "i8x16.shl": simd(0x6b),
  "i8x16.shr_s": simd(0x6c),
  "i8x16.shr_u": simd(0x6d),
  "i8x16.add": simd(0x6e),
  "i8x16.add_sat_s": simd(0x6f),
  "i8x16.add_sat_u": simd(0x70),
  "i8x16.sub": simd(0x71),
  "i8x16.sub_sat_s": simd(0x72),
  "i8x16.sub_sat_u": simd(0x73),
  "f64x2.ceil": simd(0x74),
  "f64x2.floor": simd(0x75),
  "i8x16.min_s": simd(0x76),
  "i8x16.min_u": simd(0x77),
  "i8x16.max_s": simd(0x78),
  "i8x16.max_u": simd(0x79),
  "f64x2.trunc": simd(0x7a),
  "i8x16.avgr_u": simd(0x7b),
  "i16x8.extadd_pairwise_i8x16_s": simd(0x7c),
  "i16x8.extadd_pairwise_i8x16_u": simd(0x7d),
  "i32x4.extadd_pairwise_i16x8_s": simd(0x7e),
  "i32x4.extadd_pairwise_i16x8_u": simd(0x7f),
  "i16x8.abs": simd(0x80),
  "i16x8.neg": simd(0x81),
  "i16x8.q15mulr_sat_s": simd(0x82),
  "i16x8.all_true": simd(0x83),
  "i16x8.bitmask": simd(0x84),
  "i16x8.narrow_i32x4_s": simd(0x85),
  "i16x8.narrow_i32x4_u": simd(0x86),
  "i16x8.extend_low_i8x16_s": simd(0x87),
  "i16x8.extend_high_i8x16_s": simd(0x88),
  "i16x8.extend_low_i8x16_u": simd(0x89),
  "i16x8.extend_high_i8x16_u": simd(0x8a),
  "i16x8.shl": simd(0x8b),
  "i16x8.shr_s": simd(0x8c),
  "i16x8.shr_u": simd(0x8d),
  "i16x8.add": simd(0x8e),
  "i16x8.add_sat_s": simd(0x8f),
  "i16x8.add_sat_u": simd(0x90),
  "i16x8.sub": simd(0x91),
  "i16x8.sub_sat_s": simd(0x92),
  "i16x8.sub_sat_u": simd(0x93),
  "f64x2.nearest": simd(0x94),
  "i16x8.mul": simd(0x95),
  "i16x8.min_s": simd(0x96),
  "i16x8.min_u": simd(0x97),
  "i16x8.max_s": simd(0x98),
  "i16x8.max_u": simd(0x99),
  "i16x8.avgr_u": simd(0x9b),
  "i32x4.abs": simd(0xa0),
  "i32x4.neg": simd(0xa1),
  "i32x4.all_true": simd(0xa3),
  "i32x4.bitmask": simd(0xa4),
  "i32x4.extend_low_i16x8_s": simd(0xa7),
  "i32x4.extend_high_i16x8_s": simd(0xa8),
  "i32x4.extend_low_i16x8_u": simd(0xa9),
  "i32x4.extend_high_i16x8_u": simd(0xaa),
  "i32x4.shl": simd(0xab),
  "i32x4.shr_s": simd(0xac),
  "i32x4.shr_u": simd(0xad),
  "i32x4.add": simd(0xae),
  "i32x4.sub": simd(0xb1),
  "i32x4.mul": simd(0xb5),
  "i32x4.min_s": simd(0xb6),
  "i32x4.min_u": simd(0xb7),
  "i32x4.max_s": simd(0xb8),
  "i32x4.max_u": simd(0xb9),
  "i32x4.dot_i16x8_s": simd(0xba),
  "i64x2.abs": simd(0xc0),
  "i64x2.neg": simd(0xc1),
  "i64x2.all_true": simd(0xc3),
  "i64x2.bitmask": simd(0xc4),
  "i64x2.extend_low_i32x4_s": simd(0xc7),
  "i64x2.extend_high_i32x4_s": simd(0xc8),
  "i64x2.extend_low_i32x4_u": simd(0xc9),
  "i64x2.extend_high_i32x4_u": simd(0xca),
  "i64x2.shl": simd(0xcb),
  "i64x2.shr_s": simd(0xcc),
  "i64x2.shr_u": simd(0xcd),
  "i64x2.add": simd(0xce),
  "i64x2.sub": simd(0xd1),
  "i64x2.mul": simd(0xd5),
  "i64x2.eq": simd(0xd6),
  "i64x2.ne": simd(0xd7),
  "i64x2.lt_s": simd(0xd8),
  "i64x2.gt_s": simd(0xd9),
  "i64x2.le_s": simd(0xda),
  "i64x2.ge_s": simd(0xdb),
  "f32x4.abs": simd(0xe0),
  "f32x4.neg": simd(0xe1),
  "f32x4.sqrt": simd(0xe3),
  "f32x4.add": simd(0xe4),
  "f32x4.sub": simd(0xe5),
  "f32x4.mul": simd(0xe6),
  "f32x4.div": simd(0xe7),
  "f32x4.min": simd(0xe8),
  "f32x4.max": simd(0xe9),
  "f32x4.pmin": simd(0xea),
  "f32x4.pmax": simd(0xeb),
  "f64x2.abs": simd(0xec),
  "f64x2.neg": simd(0xed),
  "f64x2.sqrt": simd(0xef),
  "f64x2.add": simd(0xf0),
  "f64x2.sub": simd(0xf1),
  "f64x2.mul": simd(0xf2),
  "f64x2.div": simd(0xf3),
  "f64x2.min": simd(0xf4),
  "f64x2.max": simd(0xf5),
  "f64x2.pmin": simd(0xf6),
  "f64x2.pmax": simd(0xf7),
  "i32x4.trunc_sat_f32x4_s": simd(0xf8),
  "i32x4.trunc_sat_f32x4_u": simd(0xf9),
  "f32x4.convert_i32x4_s": simd(0xfa),
  "f32x4.convert_i32x4_u": simd(0xfb),
  "i32x4.trunc_sat_f64x2_s_zero": simd(0xfc),
  "i32x4.trunc_sat_f64x2_u_zero": simd(0xfd),
  "f64x2.convert_low_i32x4_s": simd(0xfe),
  "f64x2.convert_low_i32x4_u": simd(0xff),
  "i8x16.relaxed_swizzle": simd(0x100),
  "i32x4.relaxed_trunc_f32x4_s": simd(0x101),
  "i32x4.relaxed_trunc_f32x4_u": simd(0x102),
  "f32x4.relaxed_madd": simd(0x105),
  "f32x4.relaxed_nmadd": simd(0x106),
  "f64x2.relaxed_madd": simd(0x107),
  "f64x2.relaxed_nmadd": simd(0x108),
  "i8x16.relaxed_laneselect": simd(0x109),
  "i16x8.relaxed_laneselect": simd(0x10a),
  "i32x4.relaxed_laneselect": simd(0x10b),
  "i64x2.relaxed_laneselect": simd(0x10c),
  "f32x4.relaxed_min": simd(0x10d),
  "f32x4.relaxed_max": simd(0x10e),
  "f64x2.relaxed_min": simd(0x10f),
  "f64x2.relaxed_max": simd(0x110),
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
