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
import { type GpuContext, groups1d, linearIndex } from "./context.ts";

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
function source(outType: "i32" | "f32", emit: (w: string) => string): string {
  return `struct U { count: u32, blocks: u32, p2: u32, p3: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> key: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<${outType}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blk = ${linearIndex(WG)};
  if (blk >= u.blocks) { return; }
  let ks0 = bitcast<u32>(key[0]);
  let ks1 = bitcast<u32>(key[1]);
  let ks2 = ks0 ^ ks1 ^ 0x1bd11bdau;
  var a = ks0;
  var b = blk + ks1;
${rounds()}  let i = 2u * blk;
  out[i] = ${emit("a")};
  if (i + 1u < u.count) { out[i + 1u] = ${emit("b")}; }
}
`;
}

/** WGSL of `randomBits`: the words as int32 bit patterns. */
const BITS_SOURCE = source("i32", (w) => `bitcast<i32>(${w})`);
/** WGSL of float32 `randomUniform`: `(word >> 8) · 2⁻²⁴`, exact in float32. */
const UNIFORM_SOURCE = source("f32", (w) => `f32(${w} >> 8u) * 5.9604644775390625e-8`);

/** Dispatches one of the kernels over `ceil(count / 2)` blocks. */
function generate(ctx: GpuContext, wgsl: string, key: GPUBuffer, count: number): GPUBuffer {
  const out = ctx.alloc(count * 4);
  if (count === 0) return out;
  const blocks = Math.ceil(count / 2);
  ctx.run(wgsl, Uint32Array.of(count, blocks, 0, 0), [key, out], groups1d(blocks, WG));
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
 * @returns A new int32 buffer of `count` elements.
 */
export function randomBitsKernel(ctx: GpuContext, key: GPUBuffer, count: number): GPUBuffer {
  return generate(ctx, BITS_SOURCE, key, count);
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
 * @returns A new float32 buffer of `count` elements.
 */
export function randomUniformKernel(
  ctx: GpuContext,
  key: GPUBuffer,
  count: number,
  dtype: DType,
): GPUBuffer {
  if (dtype !== "float32") {
    throw new TypeError(
      `randomUniform(): dtype ${dtype} is not supported on WebGPU (float32 only)`,
    );
  }
  return generate(ctx, UNIFORM_SOURCE, key, count);
}
