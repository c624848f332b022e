/**
 * Small helpers shared by the WebGPU kernel modules (`kernels_*.ts`): WGSL
 * element types per dtype, 1-D/2-D workgroup-count splitting and order keys.
 *
 * @module
 */

import type { DType } from "../../core/dtype.ts";
import type { ScalarType } from "../ir/expr.ts";
import { MAX_GROUPS, type WgslScalar } from "./context.ts";

export type { WgslScalar } from "./context.ts";

/**
 * The WGSL element type that stores `dtype` on the GPU: float32 → `f32`,
 * int32 → `i32`, bool → `u32` (0 or 1). Throws for float64.
 * @internal
 */
export function wgslType(dtype: DType, opName: string): WgslScalar {
  switch (dtype) {
    case "float32":
      return "f32";
    case "int32":
      return "i32";
    case "bool":
      return "u32";
    default:
      throw new TypeError(`${opName}: dtype ${dtype} is not supported on WebGPU`);
  }
}

/**
 * Splits a count of workgroups into `(x, y)` with `x ≤ 65535`; a kernel
 * recovers the linear group id as `wid.x + wid.y * 65535u`.
 * @internal
 */
export function splitGroups(count: number): [number, number] {
  if (count <= MAX_GROUPS) return [count, 1];
  return [MAX_GROUPS, Math.ceil(count / MAX_GROUPS)];
}

/** The smallest power of two `≥ x` (1 for `x ≤ 1`). @internal */
export function nextPow2(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

/**
 * WGSL of `fn key(b: u32) -> u32`: from the bits `b` of an element of
 * `elem`, an order key whose unsigned order is the ascending order of the
 * elements, XORed with the WGSL expression `flip` when given (`~0`
 * reverses the order). `−0` equals `+0`, and every NaN maps to
 * `0xffffffff` — above every other key whatever `flip` is. NaN is detected
 * from the bits, never with `v != v` (WGSL lets compilers assume floats are
 * never NaN).
 * @internal
 */
export function orderKeyFunction(elem: WgslScalar, flip?: string): string {
  const x = flip === undefined ? "" : ` ^ ${flip}`;
  if (elem === "f32") {
    return `fn key(bits: u32) -> u32 {
  if ((bits & 0x7fffffffu) > 0x7f800000u) { return 0xffffffffu; }
  let b = select(bits, 0u, bits == 0x80000000u);
  return select(b ^ 0x80000000u, ~b, (b & 0x80000000u) != 0u)${x};
}`;
  }
  if (elem === "i32") return `fn key(b: u32) -> u32 { return (b ^ 0x80000000u)${x}; }`;
  return `fn key(b: u32) -> u32 { return b${x}; }`;
}

/**
 * The storage type of an IR scalar type (bool as u32 words).
 *
 * @param t The IR type.
 * @returns Its WGSL storage type; float64 throws (WebGPU has none).
 * @internal
 */
export function storageOf(t: ScalarType): WgslScalar {
  if (t === "f64") throw new TypeError(`webgpu: float64 is not supported on WebGPU`);
  return t === "bool" ? "u32" : t;
}
