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

/** How many steps {@linkcode unrolledLoop} does per iteration. @internal */
export const UNROLL = 16;

/**
 * WGSL of a loop of `v` over `[from, to)` (u32 expressions) with `UNROLL`
 * steps per iteration, then at most `UNROLL − 1` single steps; `body(e)`
 * is one step's statements with `e` the step's index expression. Mesa's
 * llvmpipe ends every loop of an invocation once the invocation has made
 * 65 535 iterations in all, silently: a row of 70 000 keys or indices,
 * stepped one at a time, lost its last ones. Unrolled, an invocation gets
 * through about a million steps under that limit.
 * @internal
 */
export function unrolledLoop(
  v: string,
  from: string,
  to: string,
  body: (e: string) => string,
): string {
  const steps = Array.from({ length: UNROLL }, (_, k) => body(k === 0 ? v : `(${v} + ${k}u)`));
  return `var ${v} = ${from};
  for (; ${v} + ${UNROLL - 1}u < ${to}; ${v} += ${UNROLL}u) {
    ${steps.join("\n    ")}
  }
  for (; ${v} < ${to}; ${v}++) {
    ${body(v)}
  }`;
}

/**
 * The most steps an {@linkcode unrolledLoop} may take in one invocation on
 * a software adapter (llvmpipe: 65 535 loop iterations in all, with
 * headroom for the kernel's other loops). @internal
 */
export const FALLBACK_MAX_STEPS = UNROLL * 60000;

/**
 * The error of a kernel whose loops would pass llvmpipe's limit (see
 * {@linkcode unrolledLoop}): an error, never a silently wrong result.
 * @internal
 */
export function tooManySteps(op: string, what: string): Error {
  return new RangeError(
    `${op}: ${what} are more than this software WebGPU adapter (llvmpipe) computes correctly ` +
      `(${FALLBACK_MAX_STEPS}: it ends a kernel's loops after 65535 iterations); ` +
      `run this op on "wasm" or "cpu" (setBackend), or on a hardware GPU`,
  );
}

/**
 * WGSL of `fn key(b: u32) -> u32`: from the bits `b` of an element of
 * `elem`, an order key whose unsigned order is the ascending order of the
 * elements, XORed with the WGSL expression `flip` when given (`~0`
 * reverses the order). `−0` equals `+0` (below it with `signedZero`,
 * as the max/min reductions order them), and every NaN maps to
 * `0xffffffff` — above every other key whatever `flip` is. NaN is detected
 * from the bits, never with `v != v` (WGSL lets compilers assume floats are
 * never NaN).
 * @internal
 */
export function orderKeyFunction(elem: WgslScalar, flip?: string, signedZero = false): string {
  const x = flip === undefined ? "" : ` ^ ${flip}`;
  if (elem === "f32") {
    // signedZero: −0 below +0 (max/min reductions, as `maximum`/`minimum`); else equal (sorts).
    return `fn key(bits: u32) -> u32 {
  if ((bits & 0x7fffffffu) > 0x7f800000u) { return 0xffffffffu; }
  let b = ${signedZero ? "bits" : "select(bits, 0u, bits == 0x80000000u)"};
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
