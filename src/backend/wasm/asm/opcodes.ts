/**
 * The instruction set's encodings, by text-format name: value types, the
 * numeric instructions without immediates (scalar, fixed-width SIMD with
 * prefix `0xFD`, relaxed SIMD, saturating truncation with prefix `0xFC`),
 * loads and stores, and lane instructions. Each instruction's stack
 * signature follows from its name by the rules of `signatures.ts`.
 *
 * Reference: the WebAssembly core specification (binary format, §5.4), the
 * fixed-width SIMD and relaxed-SIMD proposals (opcodes such as
 * `f32x4.relaxed_madd` = `0xFD 0x105`).
 *
 * @module
 */

import { uleb } from "./binary.ts";

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

/** Text-format names of the value types. */
const VAL_NAMES: Readonly<Record<ValType, string>> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
};

/**
 * The text-format name of a value type.
 *
 * @example
 * ```ts
 * import { F32, valTypeName } from "./opcodes.ts";
 *
 * if (valTypeName(F32) !== "f32") throw new Error("name");
 * ```
 *
 * @param t A value type.
 * @returns `"i32"`, `"i64"`, `"f32"`, `"f64"` or `"v128"`.
 */
export function valTypeName(t: ValType): string {
  return VAL_NAMES[t];
}

/**
 * The value type of a text-format name (`"f32"` → {@link F32}).
 *
 * @param name `"i32"`, `"i64"`, `"f32"`, `"f64"` or `"v128"`.
 * @returns The value type, or undefined for another name.
 */
export function valTypeOf(name: string): ValType | undefined {
  const found = Object.entries(VAL_NAMES).find(([, n]) => n === name);
  return found === undefined ? undefined : Number(found[0]) as ValType;
}

/** A SIMD instruction: the `0xFD` prefix and the opcode as an unsigned LEB128. */
function simd(opcode: number): number[] {
  return [0xfd, ...uleb(opcode)];
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
  "i64.load8_s": [false, 0x30, 0],
  "i64.load8_u": [false, 0x31, 0],
  "i64.load16_s": [false, 0x32, 1],
  "i64.load16_u": [false, 0x33, 1],
  "i64.load32_s": [false, 0x34, 2],
  "i64.load32_u": [false, 0x35, 2],
  "i32.store": [false, 0x36, 2],
  "i64.store": [false, 0x37, 3],
  "f32.store": [false, 0x38, 2],
  "f64.store": [false, 0x39, 3],
  "i32.store8": [false, 0x3a, 0],
  "i32.store16": [false, 0x3b, 1],
  "i64.store8": [false, 0x3c, 0],
  "i64.store16": [false, 0x3d, 1],
  "i64.store32": [false, 0x3e, 2],
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

/**
 * `v128.loadN_lane` opcode and natural alignment by N; `v128.storeN_lane`
 * is the opcode + 4.
 */
export const LANE_MEM = { 8: [0x54, 0], 16: [0x55, 1], 32: [0x56, 2], 64: [0x57, 3] } as const;

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

/**
 * The encoding of a load or store without lane immediate: opcode, natural
 * alignment, constant byte `offset`.
 *
 * @param op The instruction.
 * @param offset The byte offset (an integer in `0 … 2³² − 1`).
 * @returns The bytes.
 */
export function memBytes(op: MemOp, offset: number): number[] {
  const [prefix, code, align] = MEM_OPS[op];
  return [...(prefix ? simd(code) : [code]), ...uleb(align), ...uleb(offset)];
}

/**
 * The encoding of `v128.loadN_lane` / `v128.storeN_lane offset=… lane`.
 *
 * @param bits N: 8, 16, 32 or 64.
 * @param store Whether it is the store.
 * @param offset The byte offset.
 * @param lane The lane index.
 * @returns The bytes.
 */
export function laneMemBytes(
  bits: 8 | 16 | 32 | 64,
  store: boolean,
  offset: number,
  lane: number,
): number[] {
  const [code, align] = LANE_MEM[bits];
  return [...simd(store ? code + 4 : code), ...uleb(align), ...uleb(offset), lane];
}

/**
 * The encoding of a lane extract or replace.
 *
 * @param op The instruction.
 * @param lane The lane index.
 * @returns The bytes.
 */
export function laneBytes(op: LaneOp, lane: number): number[] {
  return [...simd(LANE_OPS[op]), lane];
}

/**
 * The byte lanes of an `i8x16.shuffle` that broadcasts 32-bit lane `lane`
 * of its (first) operand.
 *
 * @param lane 0 … 3.
 * @returns 16 byte-lane indices.
 */
export function splat32Lanes(lane: number): number[] {
  const b = [0, 1, 2, 3].map((i) => lane * 4 + i);
  return [...b, ...b, ...b, ...b];
}

/** `v128.const` (16 immediate bytes follow). */
export const V128_CONST: readonly number[] = simd(0x0c);
/** `i8x16.shuffle` (16 lane bytes follow). */
export const I8X16_SHUFFLE: readonly number[] = simd(0x0d);

/**
 * Instructions without immediates: text-format name → encoding. The
 * control instructions among them (`unreachable`, `return`, …) and
 * `drop`/`select` are typed by the function builder itself.
 */
export const PLAIN_OPS = {
  "unreachable": [0x00],
  "nop": [0x01],
  "return": [0x0f],
  "drop": [0x1a],
  "select": [0x1b],
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
  "i64.eqz": [0x50],
  "i64.eq": [0x51],
  "i64.ne": [0x52],
  "i64.lt_s": [0x53],
  "i64.lt_u": [0x54],
  "i64.gt_s": [0x55],
  "i64.gt_u": [0x56],
  "i64.le_s": [0x57],
  "i64.le_u": [0x58],
  "i64.ge_s": [0x59],
  "i64.ge_u": [0x5a],
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
  "i64.clz": [0x79],
  "i64.ctz": [0x7a],
  "i64.popcnt": [0x7b],
  "i64.add": [0x7c],
  "i64.sub": [0x7d],
  "i64.mul": [0x7e],
  "i64.div_s": [0x7f],
  "i64.div_u": [0x80],
  "i64.rem_s": [0x81],
  "i64.rem_u": [0x82],
  "i64.and": [0x83],
  "i64.or": [0x84],
  "i64.xor": [0x85],
  "i64.shl": [0x86],
  "i64.shr_s": [0x87],
  "i64.shr_u": [0x88],
  "i64.rotl": [0x89],
  "i64.rotr": [0x8a],
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
  "i32.wrap_i64": [0xa7],
  "i32.trunc_f32_s": [0xa8],
  "i32.trunc_f32_u": [0xa9],
  "i32.trunc_f64_s": [0xaa],
  "i32.trunc_f64_u": [0xab],
  "i64.extend_i32_s": [0xac],
  "i64.extend_i32_u": [0xad],
  "i64.trunc_f32_s": [0xae],
  "i64.trunc_f32_u": [0xaf],
  "i64.trunc_f64_s": [0xb0],
  "i64.trunc_f64_u": [0xb1],
  "f32.convert_i32_s": [0xb2],
  "f32.convert_i32_u": [0xb3],
  "f32.convert_i64_s": [0xb4],
  "f32.convert_i64_u": [0xb5],
  "f32.demote_f64": [0xb6],
  "f64.convert_i32_s": [0xb7],
  "f64.convert_i32_u": [0xb8],
  "f64.convert_i64_s": [0xb9],
  "f64.convert_i64_u": [0xba],
  "f64.promote_f32": [0xbb],
  "i32.reinterpret_f32": [0xbc],
  "i64.reinterpret_f64": [0xbd],
  "f32.reinterpret_i32": [0xbe],
  "f64.reinterpret_i64": [0xbf],
  "i32.extend8_s": [0xc0],
  "i32.extend16_s": [0xc1],
  "i64.extend8_s": [0xc2],
  "i64.extend16_s": [0xc3],
  "i64.extend32_s": [0xc4],
  "i32.trunc_sat_f32_s": [0xfc, 0],
  "i32.trunc_sat_f32_u": [0xfc, 1],
  "i32.trunc_sat_f64_s": [0xfc, 2],
  "i32.trunc_sat_f64_u": [0xfc, 3],
  "i64.trunc_sat_f32_s": [0xfc, 4],
  "i64.trunc_sat_f32_u": [0xfc, 5],
  "i64.trunc_sat_f64_s": [0xfc, 6],
  "i64.trunc_sat_f64_u": [0xfc, 7],
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
  "i16x8.extmul_low_i8x16_s": simd(0x9c),
  "i16x8.extmul_high_i8x16_s": simd(0x9d),
  "i16x8.extmul_low_i8x16_u": simd(0x9e),
  "i16x8.extmul_high_i8x16_u": simd(0x9f),
  "i32x4.extmul_low_i16x8_s": simd(0xbc),
  "i32x4.extmul_high_i16x8_s": simd(0xbd),
  "i32x4.extmul_low_i16x8_u": simd(0xbe),
  "i32x4.extmul_high_i16x8_u": simd(0xbf),
  "i64x2.extmul_low_i32x4_s": simd(0xdc),
  "i64x2.extmul_high_i32x4_s": simd(0xdd),
  "i64x2.extmul_low_i32x4_u": simd(0xde),
  "i64x2.extmul_high_i32x4_u": simd(0xdf),
  "i16x8.relaxed_q15mulr_s": simd(0x111),
  "i16x8.relaxed_dot_i8x16_i7x16_s": simd(0x112),
  "i32x4.relaxed_dot_i8x16_i7x16_add_s": simd(0x113),
} as const satisfies Record<string, readonly number[]>;

/** The text-format name of an instruction without immediates. */
export type PlainOp = keyof typeof PLAIN_OPS;
