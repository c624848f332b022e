/**
 * WebGPU Threefry-2x32 random bits and uniform floats, bit-for-bit the CPU
 * backend's stream (`../cpu/threefry.ts`): word `i` is word `i % 2` of
 * `threefry2x32(key, [0, floor(i / 2)])`. One invocation computes one
 * block (two words) in `u32` arithmetic (WGSL `u32` addition wraps), with
 * the 20 rounds and 5 key injections unrolled and the rotations written as
 * `(x << r) | (x >> (32 − r))`.
 *
 * @module
 */

import type { DType } from "../../core/dtype.ts";
import { type GpuContext, groups1d, linearIndex, type Operand, type Store } from "./context.ts";

/** Workgroup size of both kernels. */
const WG = 64;

/** Rotation amounts per round within a group of four (even groups use the first four). */
const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];

/** WGSL statements of the 20 rounds on `a`, `b` with the extended key `ks0…ks2`. */
function rounds(): string {
  const ks = ["ks0", "ks1", "ks2"];
  let s = "";
  for (let g = 0; g < 5; g++) {
    const r = (g & 1) * 4;
    for (let i = 0; i < 4; i++) {
      const rot = ROTATIONS[r + i];
      s += `  a = a + b;\n  b = ((b << ${rot}u) | (b >> ${32 - rot}u)) ^ a;\n`;
    }
    s += `  a = a + ${ks[(g + 1) % 3]};\n  b = b + ${ks[(g + 2) % 3]} + ${g + 1}u;\n`;
  }
  return s;
}

/** WGSL of a kernel writing `emit(word)` for both words of each block. */
function source(emit: (w: string) => string, decls: string): string {
  return `struct U { count: u32, blocks: u32, offset: u32, p3: u32 }
@group(0) @binding(0) var<uniform> u: U;
${decls}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blk = ${linearIndex(WG)};
  if (blk >= u.blocks) { return; }
  let ks0 = bitcast<u32>(ld_key(0u));
  let ks1 = bitcast<u32>(ld_key(1u));
  let ks2 = ks0 ^ ks1 ^ 0x1bd11bdau;
  var a = ks0;
  var b = blk + u.offset + ks1;
${rounds()}  let i = 2u * blk;
  st_out(i, ${emit("a")});
  if (i + 1u < u.count) { st_out(i + 1u, ${emit("b")}); }
}
`;
}

/** The word as it is stored, per output type: int32 bits, or a float32 `(word >> 8) · 2⁻²⁴` (exact). */
const EMIT = {
  i32: (w: string) => `bitcast<i32>(${w})`,
  f32: (w: string) => `f32(${w} >> 8u) * 5.9604644775390625e-8`,
} as const;

/** Dispatches one of the kernels over `ceil(count / 2)` blocks. */
function generate(
  ctx: GpuContext,
  op: string,
  outType: "i32" | "f32",
  key: Store,
  count: number,
  offset = 0,
): Store {
  const out = ctx.allocStore(op, count);
  if (count === 0) return out;
  const blocks = Math.ceil(count / 2);
  const ops: Operand[] = [
    { name: "key", type: "i32", store: key },
    { name: "out", type: outType, store: out, write: true },
  ];
  const wgsl = source(EMIT[outType], ctx.declare(ops));
  ctx.run(op, wgsl, Uint32Array.of(count, blocks, offset, 0), ops, groups1d(blocks, WG));
  return out;
}

/**
 * `count` pseudo-random 32-bit words, stored as int32 bit patterns, from
 * the Threefry-2x32 key `key` (int32 `[2]`): exactly the CPU backend's
 * `randomBits`.
 *
 * @param ctx The GPU context.
 * @param key int32 `[2]`, the key words.
 * @param count Number of words.
 * @param offset The first block of the stream (default 0).
 * @returns New int32 storage of `count` elements.
 */
export function randomBitsKernel(
  ctx: GpuContext,
  key: Store,
  count: number,
  offset = 0,
): Store {
  return generate(ctx, "randomBits()", "i32", key, count, offset);
}

/**
 * `count` uniform floats in `[0, 1)` from the `randomBits` stream: element
 * `i` is `(word_i >>> 8) · 2⁻²⁴`, bit-for-bit the CPU backend's float32
 * `randomUniform`. Only float32 (WebGPU has no float64).
 *
 * @param ctx The GPU context.
 * @param key int32 `[2]`, the key words.
 * @param count Number of floats.
 * @param dtype Must be float32.
 * @returns New float32 storage of `count` elements.
 */
export function randomUniformKernel(
  ctx: GpuContext,
  key: Store,
  count: number,
  dtype: DType,
): Store {
  if (dtype !== "float32") {
    throw new TypeError(
      `randomUniform(): dtype ${dtype} is not supported on WebGPU (float32 only)`,
    );
  }
  return generate(ctx, "randomUniform()", "f32", key, count);
}
