/**
 * Safetensors element types: sizes, which gradus dtypes they load as, and
 * conversion between typed arrays and little-endian bytes.
 *
 * @module
 */

import type { DType, TypedArray } from "../core/dtype.ts";

/**
 * The safetensors dtypes gradus reads. It writes `F16`, `F32`, `F64`, `I32`
 * and `BOOL`; `BF16`, `I8`, `U8`, `I16` and `U16` are read as well (widened
 * losslessly to float32 or int32).
 *
 * @example
 * ```ts
 * import {
 *   readSafetensorsHeader,
 *   type SafetensorsDType,
 *   serializeSafetensors,
 *   tensor,
 * } from "@gradus/core";
 *
 * const params = { w: tensor([1.5]), n: tensor([2], { dtype: "int32" }) };
 * const bytes = await serializeSafetensors(params);
 * const { tensors } = readSafetensorsHeader(bytes);
 * const dtypes: SafetensorsDType[] = Object.values(tensors).map((t) => t.dtype);
 * console.log(dtypes); // [ "I32", "F32" ]
 * ```
 */
export type SafetensorsDType =
  | "F16"
  | "BF16"
  | "F32"
  | "F64"
  | "I8"
  | "U8"
  | "I16"
  | "U16"
  | "I32"
  | "BOOL";

interface StorageInfo {
  /** Bytes per element. */
  readonly size: number;
  /** What a template leaf of this storage may be. */
  readonly kind: "float" | "int" | "bool";
  /** The dtype it loads as without a template. */
  readonly dtype: DType;
}

/** Every readable safetensors dtype. */
export const STORAGE: Readonly<Record<SafetensorsDType, StorageInfo>> = {
  F16: { size: 2, kind: "float", dtype: "float32" },
  BF16: { size: 2, kind: "float", dtype: "float32" },
  F32: { size: 4, kind: "float", dtype: "float32" },
  F64: { size: 8, kind: "float", dtype: "float64" },
  I8: { size: 1, kind: "int", dtype: "int32" },
  U8: { size: 1, kind: "int", dtype: "int32" },
  I16: { size: 2, kind: "int", dtype: "int32" },
  U16: { size: 2, kind: "int", dtype: "int32" },
  I32: { size: 4, kind: "int", dtype: "int32" },
  BOOL: { size: 1, kind: "bool", dtype: "bool" },
};

/** Whether `x` names a readable safetensors dtype. */
export function isSafetensorsDType(x: unknown): x is SafetensorsDType {
  return typeof x === "string" && Object.hasOwn(STORAGE, x);
}

/** Whether a tensor of `storage` may fill a template leaf of `dtype` (or a number leaf). */
export function compatible(storage: SafetensorsDType, dtype: DType | "number"): boolean {
  const kind = STORAGE[storage].kind;
  switch (dtype) {
    case "float32":
    case "float64":
      return kind === "float";
    case "int32":
      return kind === "int";
    case "bool":
      return kind === "bool";
    case "number":
      return kind !== "bool";
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the bytes of every `width`-byte element, in place (big-endian hosts only). */
function swapBytes(u8: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i + width <= u8.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = u8[a];
      u8[a] = u8[b];
      u8[b] = t;
    }
  }
}

/** The little-endian bytes of `values` stored as `storage` (one of the dtypes gradus writes). */
export function encode(values: TypedArray, storage: SafetensorsDType): Uint8Array {
  let arr: ArrayBufferView;
  switch (storage) {
    case "F16":
      // Round to nearest, ties to even; from ±65520 on (the tie above 65504) ±Infinity.
      arr = Float16Array.from(values);
      break;
    case "F32":
      arr = values instanceof Float32Array ? values : Float32Array.from(values);
      break;
    case "F64":
      arr = values instanceof Float64Array ? values : Float64Array.from(values);
      break;
    case "I32":
      arr = values instanceof Int32Array ? values : Int32Array.from(values);
      break;
    case "BOOL":
      arr = values instanceof Uint8Array ? values : Uint8Array.from(values, (v) => (v ? 1 : 0));
      break;
    default:
      throw new Error(`internal: gradus does not write ${storage}`);
  }
  const u8 = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  if (LITTLE_ENDIAN) return u8;
  const copy = u8.slice();
  swapBytes(copy, STORAGE[storage].size);
  return copy;
}

/**
 * The values of little-endian `bytes` of `storage`, as a typed array of the
 * natural type (Float16Array for F16, Float32Array for BF16, Int8Array for
 * I8, …). The bytes are copied first, so any alignment works.
 */
export function decode(bytes: Uint8Array, storage: SafetensorsDType): ArrayLike<number> {
  const u8 = bytes.slice();
  if (!LITTLE_ENDIAN) swapBytes(u8, STORAGE[storage].size);
  const buf = u8.buffer;
  switch (storage) {
    case "F16":
      return new Float16Array(buf);
    case "BF16": {
      // bfloat16 is the upper half of a float32.
      const hi = new Uint16Array(buf);
      const bits = new Uint32Array(hi.length);
      for (let i = 0; i < hi.length; i++) bits[i] = hi[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case "F32":
      return new Float32Array(buf);
    case "F64":
      return new Float64Array(buf);
    case "I8":
      return new Int8Array(buf);
    case "U8":
      return u8;
    case "I16":
      return new Int16Array(buf);
    case "U16":
      return new Uint16Array(buf);
    case "I32":
      return new Int32Array(buf);
    case "BOOL":
      return u8;
  }
}
