/**
 * Stack signatures of instructions, derived from their text-format names by
 * the rules the specification's naming follows, so no table of types is kept
 * by hand:
 *
 * - `T.op` for a scalar `T`: comparisons and `eqz` give `i32`; a name
 *   naming a source type (`i32.trunc_f64_s`, `f32.convert_i32_s`,
 *   `i64.extend_i32_u`) converts `[src] → [T]`; the unary ops
 *   (`abs`, `neg`, `sqrt`, `clz`, `extend8_s`, …) are `[T] → [T]`; the rest
 *   binary `[T T] → [T]`.
 * - A vector shape (`i8x16`, `i16x8`, `i32x4`, `i64x2`, `f32x4`, `f64x2`,
 *   `v128`): `splat` takes the lane's scalar type; `all_true`, `bitmask`,
 *   `any_true` give `i32`; shifts take `[v128 i32]`; `bitselect`,
 *   relaxed `madd`/`nmadd`/`laneselect` and `relaxed_dot…_add` are ternary;
 *   `abs`, `neg`, `sqrt`, `not`, rounding, `popcnt` and the conversions
 *   (`extend_`, `convert_`, `trunc_sat_`, `demote_`, `promote_`,
 *   `extadd_pairwise_`, `relaxed_trunc_`) unary; the rest binary.
 * - Loads `[i32] → [T]` and stores `[i32 T] → []`, `T` the name's prefix;
 *   `extract_lane` `[v128] → [lane]`, `replace_lane` `[v128 lane] → [v128]`.
 *
 * @module
 */

import { F32, F64, I32, I64, type LaneOp, type MemOp, V128, type ValType } from "./opcodes.ts";

/** What an instruction pops (bottom to top) and pushes. */
export interface Signature {
  /** Popped operand types, deepest first. */
  readonly pops: readonly ValType[];
  /** Pushed result types. */
  readonly pushes: readonly ValType[];
}

/** Scalar type names. */
const SCALARS: Readonly<Record<string, ValType>> = { i32: I32, i64: I64, f32: F32, f64: F64 };

/** The scalar type of one lane of each vector shape (`v128` has none). */
const LANE_TYPES: Readonly<Record<string, ValType>> = {
  i8x16: I32,
  i16x8: I32,
  i32x4: I32,
  i64x2: I64,
  f32x4: F32,
  f64x2: F64,
};

const COMPARISONS = /^(eqz|eq|ne|lt|gt|le|ge)(_[su])?$/;
const SCALAR_UNARY = /^(clz|ctz|popcnt|abs|neg|ceil|floor|trunc|nearest|sqrt|extend(8|16|32)_s)$/;
const VECTOR_UNARY =
  /^(abs|neg|sqrt|not|ceil|floor|trunc|nearest|popcnt)$|^(extend|convert|trunc_sat|demote|promote|extadd_pairwise|relaxed_trunc)_/;
const VECTOR_TERNARY =
  /^(bitselect|relaxed_madd|relaxed_nmadd|relaxed_laneselect|relaxed_dot_i8x16_i7x16_add_s)$/;

/** Splits `"f32x4.add"` into `["f32x4", "add"]`. */
function split(name: string): [string, string] {
  const dot = name.indexOf(".");
  return [name.slice(0, dot), name.slice(dot + 1)];
}

/**
 * The signature of a numeric instruction without immediates (a
 * {@link PlainOp} other than the control instructions, `drop` and `select`,
 * which the function builder types itself).
 *
 * @example
 * ```ts
 * import { numericSignature } from "./signatures.ts";
 * import { I32, V128 } from "./opcodes.ts";
 *
 * const s = numericSignature("i32x4.shl");
 * if (s.pops.join() !== [V128, I32].join() || s.pushes.join() !== [V128].join()) {
 *   throw new Error("shl");
 * }
 * ```
 *
 * @param name The instruction's text-format name, e.g. `"f32x4.add"`.
 * @returns Its pops and pushes.
 */
export function numericSignature(name: string): Signature {
  const [shape, op] = split(name);
  const scalar = SCALARS[shape];
  if (scalar !== undefined) {
    if (COMPARISONS.test(op)) {
      return { pops: op === "eqz" ? [scalar] : [scalar, scalar], pushes: [I32] };
    }
    const src = /_(i32|i64|f32|f64)(_[su])?$/.exec(op);
    if (src !== null) return { pops: [SCALARS[src[1]]], pushes: [scalar] };
    if (SCALAR_UNARY.test(op)) return { pops: [scalar], pushes: [scalar] };
    return { pops: [scalar, scalar], pushes: [scalar] };
  }
  if (shape !== "v128" && LANE_TYPES[shape] === undefined) {
    throw new Error(`asm: no signature rule for "${name}"`);
  }
  if (op === "splat") return { pops: [LANE_TYPES[shape]], pushes: [V128] };
  if (/^(all_true|bitmask|any_true)$/.test(op)) return { pops: [V128], pushes: [I32] };
  if (/^(shl|shr_s|shr_u)$/.test(op)) return { pops: [V128, I32], pushes: [V128] };
  if (VECTOR_TERNARY.test(op)) return { pops: [V128, V128, V128], pushes: [V128] };
  if (VECTOR_UNARY.test(op)) return { pops: [V128], pushes: [V128] };
  return { pops: [V128, V128], pushes: [V128] };
}

/**
 * The value type a load or store moves (`"i32.load8_u"` → `i32`,
 * `"v128.load32_splat"` → `v128`) and whether it is a store.
 *
 * @param name A {@link MemOp}.
 * @returns The type and `store`.
 */
export function memType(name: MemOp): { type: ValType; store: boolean } {
  const [shape, op] = split(name);
  return { type: shape === "v128" ? V128 : SCALARS[shape], store: op.startsWith("store") };
}

/**
 * The signature of a lane extract or replace, and its number of lanes.
 *
 * @param name A {@link LaneOp}, e.g. `"f32x4.extract_lane"`.
 * @returns Pops, pushes and the lane count (the immediate must be below it).
 */
export function laneSignature(name: LaneOp): Signature & { lanes: number } {
  const [shape, op] = split(name);
  const lane = LANE_TYPES[shape];
  const lanes = Number(shape.slice(shape.indexOf("x") + 1));
  return op.startsWith("extract")
    ? { pops: [V128], pushes: [lane], lanes }
    : { pops: [V128, lane], pushes: [V128], lanes };
}
