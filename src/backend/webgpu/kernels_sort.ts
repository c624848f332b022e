/**
 * WebGPU stable ascending argsort of each row, by rank counting.
 *
 * Each element becomes an order key (`u32`; for float32 `−0` equals `+0`
 * and every NaN is the largest key, so NaN sorts last, ties by index —
 * exactly the CPU's comparator). One invocation per element `j` counts the
 * elements that sort before it, `#{j' : (key', j') < (key, j)}`, which is
 * its final position, and writes `out[row, rank] = j`; the ranks of a row
 * are a permutation, so no two invocations write the same slot.
 *
 * Cost: `O(n²)` comparisons per row, all in parallel (`outer·n`
 * invocations, each streaming its row through shared memory in tiles of
 * up to 256 keys; rows shorter than 256 share a workgroup). Fine for rows
 * up to a few thousand elements (a row of 4096 is 16 M comparisons); a
 * bitonic or radix sort would be the next step for long rows.
 *
 * @module
 */

import type { DType } from "../../core/dtype.ts";
import type { GpuContext, Operand, Store } from "./context.ts";
import {
  FALLBACK_MAX_STEPS,
  nextPow2,
  orderKeyFunction,
  splitGroups,
  tooManySteps,
  unrolledLoop,
  type WgslScalar,
  wgslType,
} from "./kernels_util.ts";

/** Workgroup size. */
const WG = 256;

/**
 * WGSL of the rank-counting argsort for one element kind. A workgroup
 * holds `256 / w` row segments of `w = 2^wShift` lanes (`w = min(256,
 * nextPow2(n))`, so short rows share a workgroup); each segment streams
 * its row through its slice of shared memory, `w` keys at a time.
 */
function source(elem: WgslScalar, decls: string): string {
  return `struct U { outer: u32, n: u32, wShift: u32, blocks: u32, rowGroups: u32, p5: u32, p6: u32, p7: u32 }
@group(0) @binding(0) var<uniform> u: U;
${decls}
var<workgroup> tile: array<u32, ${WG}>;
${orderKeyFunction(elem)}
fn before(kq: u32, kj: u32, q: u32, j: u32) -> u32 { return select(0u, 1u, kq < kj || (kq == kj && q < j)); }
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = wid.x + wid.y * 65535u;
  if (g >= u.rowGroups * u.blocks) { return; }
  let t = lid.x;
  let w = 1u << u.wShift;
  let lane = t & (w - 1u);
  let slot = t >> u.wShift;
  let row = (g / u.blocks) * (${WG}u >> u.wShift) + slot;
  let j = (g % u.blocks) * w + lane;
  let rowLive = row < u.outer;
  let live = rowLive && j < u.n;
  let base = row * u.n;
  var kj = 0u;
  if (live) { kj = key(ld_x(base + j)); }
  var rank = 0u;
  let seg = slot << u.wShift;
  for (var t0 = 0u; t0 < u.n; t0 += w) {
    let jt = t0 + lane;
    var kt = 0u;
    if (rowLive && jt < u.n) { kt = key(ld_x(base + jt)); }
    tile[t] = kt;
    workgroupBarrier();
    let len = min(w, u.n - t0);
    ${unrolledLoop("q", "0u", "len", (q) => `rank += before(tile[seg + ${q}], kj, t0 + ${q}, j);`)}
    workgroupBarrier();
  }
  if (live) { st_out(base + rank, i32(j)); }
}
`;
}

/**
 * Stable ascending argsort of each row of `x` viewed as `[outer, n]`, NaN
 * last: new int32 `[outer, n]` storage, exactly the CPU backend's
 * `argsort`. `O(n²)` work per row (see the module notes).
 *
 * @param ctx The GPU context.
 * @param x The rows (`outer·n` elements of `dtype`).
 * @param outer Number of rows.
 * @param n Row length.
 * @param dtype float32, int32 or bool.
 * @returns New int32 storage of `outer·n` elements.
 */
export function argsortKernel(
  ctx: GpuContext,
  x: Store,
  outer: number,
  n: number,
  dtype: DType,
): Store {
  const elem = wgslType(dtype, "argsort()");
  if (ctx.isFallback && n > FALLBACK_MAX_STEPS) throw tooManySteps("argsort()", `rows of ${n}`);
  const out = ctx.allocStore("argsort()", outer * n);
  if (outer * n === 0) return out;
  const ops: Operand[] = [
    { name: "x", type: "u32", store: x },
    { name: "out", type: "i32", store: out, write: true },
  ];
  const w = Math.min(WG, nextPow2(n));
  const blocks = Math.ceil(n / w);
  const rowGroups = Math.ceil(outer / (WG / w));
  ctx.run(
    "argsort()",
    source(elem, ctx.declare(ops)),
    Uint32Array.of(outer, n, Math.log2(w), blocks, rowGroups, 0, 0, 0),
    ops,
    splitGroups(rowGroups * blocks),
  );
  return out;
}
