/**
 * Element types of tensors and their typed-array storage.
 *
 * - `float32`: the default; every backend supports it.
 * - `float64`: CPU only; meant for gradient checks and numerical references.
 * - `int32`: labels, indices and counts.
 * - `bool`: masks, the result of comparisons (stored one byte per element).
 *
 * @module
 */

import { AllocationError } from "./errors.ts";

/**
 * The element type of a tensor.
 *
 * @example
 * ```ts
 * import { cast, type DType, tensor } from "@gradus/core";
 *
 * const dtype: DType = "int32";
 * const x = cast(tensor([1.7, -2.5]), dtype);
 * console.log(x.dtype, x.arraySync()); // "int32" [1, -2] (toward zero)
 * ```
 */
export type DType = "float32" | "float64" | "int32" | "bool";

/**
 * Every dtype, in a fixed order (useful for validation and tests).
 *
 * @example
 * ```ts
 * import { DTYPES, isDType } from "@gradus/core";
 *
 * console.log(DTYPES); // [ "float32", "float64", "int32", "bool" ]
 * console.log(DTYPES.every(isDType), isDType("float16")); // true false
 * ```
 */
export const DTYPES: readonly DType[] = ["float32", "float64", "int32", "bool"];

/**
 * The typed array that stores a tensor of each dtype.
 *
 * @example
 * ```ts
 * import { tensor, type TypedArray } from "@gradus/core";
 *
 * const values: TypedArray = await tensor([[1, 2], [3, 4]], { dtype: "int32" }).data();
 * console.log(values); // Int32Array(4) [ 1, 2, 3, 4 ]
 * ```
 */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/**
 * Maps a dtype to the typed array that stores it.
 *
 * @example
 * ```ts
 * import type { DTypeArrayMap } from "@gradus/core";
 *
 * // The typed array of each dtype, by type: DTypeArrayMap["bool"] is Uint8Array.
 * const masks: DTypeArrayMap["bool"] = new Uint8Array([1, 0, 1]);
 * const weights: DTypeArrayMap["float64"] = new Float64Array([0.5, 0.25]);
 * console.log(masks.length, weights[1]); // 3 0.25
 * ```
 */
export interface DTypeArrayMap {
  /** float32 → Float32Array */
  float32: Float32Array;
  /** float64 → Float64Array */
  float64: Float64Array;
  /** int32 → Int32Array */
  int32: Int32Array;
  /** bool → Uint8Array (0 or 1) */
  bool: Uint8Array;
}

/**
 * Whether `x` is one of the dtype names.
 *
 * @param x Any value.
 * @returns `true` for `"float32"`, `"float64"`, `"int32"` and `"bool"`.
 * @example
 * ```ts
 * import { isDType } from "@gradus/core";
 * console.log(isDType("float32"), isDType("float16")); // true false
 * ```
 */
export function isDType(x: unknown): x is DType {
  return x === "float32" || x === "float64" || x === "int32" || x === "bool";
}

/**
 * Whether a dtype is a floating-point type (and so differentiable).
 *
 * @param dtype A dtype.
 * @returns `true` for `float32` and `float64`.
 * @example
 * ```ts
 * import { isFloat } from "@gradus/core";
 * console.log(isFloat("float64"), isFloat("int32")); // true false
 * ```
 */
export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/** Bytes per element of each dtype. @internal */
export const BYTES: Readonly<Record<DType, number>> = Object.freeze({
  float32: 4,
  float64: 8,
  int32: 4,
  bool: 1,
});

/**
 * Allocates a zero-filled typed array for `size` elements of `dtype`; when
 * the engine cannot make it, throws an `AllocationError` (a RangeError) that
 * the ops layer turns into one naming the op, the shape and the bytes.
 * @internal
 */
export function allocArray<D extends DType>(
  dtype: D,
  size: number,
): DTypeArrayMap[D] {
  try {
    switch (dtype) {
      case "float32":
        return new Float32Array(size) as DTypeArrayMap[D];
      case "float64":
        return new Float64Array(size) as DTypeArrayMap[D];
      case "int32":
        return new Int32Array(size) as DTypeArrayMap[D];
      case "bool":
        return new Uint8Array(size) as DTypeArrayMap[D];
    }
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new AllocationError(`cannot allocate ${size} ${dtype} elements: ${e.message}`, e.message);
  }
  throw new TypeError(`unknown dtype ${String(dtype)}`);
}

/**
 * A number converted to int32 by XLA's rule, the one `cast` uses on every
 * backend: NaN → 0, values beyond the int32 range saturate to -2147483648 or
 * 2147483647, everything else truncates toward zero.
 * @internal
 */
export function toInt32Saturating(x: number): number {
  if (x !== x) return 0;
  if (x >= 2147483647) return 2147483647;
  if (x <= -2147483648) return -2147483648;
  return x | 0;
}

/** The dtype a typed array stores, or `null` when it has no dtype of its own. @internal */
export function dtypeOfArray(a: ArrayBufferView): DType | null {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Uint8Array) return "bool";
  return null;
}

/** The largest float32 (else float64) value strictly below `x`. @internal */
export function largestBelow(x: number, dtype: DType): number {
  if (dtype === "float32") {
    const f = Math.fround(x);
    if (f < x) return f;
    const bits = new Int32Array(new Float32Array([f]).buffer);
    bits[0] += f > 0 ? -1 : f < 0 ? 1 : -0x80000000 + 1; // 0 → the negative smallest subnormal
    return new Float32Array(bits.buffer)[0];
  }
  const bits = new BigInt64Array(new Float64Array([x]).buffer);
  bits[0] += x > 0 ? -1n : x < 0 ? 1n : -0x8000000000000000n + 1n;
  return new Float64Array(bits.buffer)[0];
}
