/**
 * WebGPU gather and scatter-add along the middle axis of `[outer, n, inner]`.
 *
 * Index convention (both kernels): a negative index counts from the end
 * (`j + n`). A GPU kernel cannot throw, so an index still outside `[0, n)`
 * is **clamped** to `[0, n − 1]` instead of raising the CPU's RangeError;
 * callers that need the error must check indices on the host. Clamping
 * both ways keeps `scatterAdd` the exact transpose of `gather`.
 *
 * `scatterAdd` uses no atomics (WebGPU has no float atomics, and atomics
 * would make the summation order nondeterministic). It runs three passes:
 *
 * 1. **sort**: one invocation per index `c` computes the stable rank of
 *    `(wrap(indices[c]), c)` by counting the smaller pairs — `O(count²)`
 *    comparisons in total, fully parallel — and writes `(c, wrap(c))` to
 *    slot `rank` (ranks are a permutation, so no two invocations collide);
 * 2. **starts**: one invocation per `j ∈ [0, n]` binary-searches the sorted
 *    indices for the first slot whose index is `≥ j` (`O(n·log count)`);
 * 3. **sum**: one invocation per output element `out[o, j, i]` sums
 *    `g[o, c, i]` over the slots `starts[j] … starts[j+1]`, i.e. over every
 *    `c` with `wrap(indices[c]) == j` in increasing `c` — the CPU's order.
 *
 * Work is `O(count² + n·log count + outer·inner·(n + count))`. float32 sums
 * in float32 (the CPU in float64, rounding once), so an output fed by `r`
 * repeated indices may differ by `≤ (r − 1)·2⁻²⁴·Σ|g|`; with distinct
 * indices the result is exact. int32 wraps (exact); bool is "any".
 *
 * @module
 */

import type { DType } from "../../core/dtype.ts";
import { type GpuContext, groups1d, linearIndex } from "./context.ts";
import { wgslType, zeros } from "./kernels_util.ts";

/** Workgroup size of every kernel in this module. */
const WG = 64;

/** WGSL of `fn wrap(v: i32, n: u32) -> u32`: negative from the end, then clamped. */
const WRAP = `fn wrap(v: i32, n: u32) -> u32 {
  let m = i32(n);
  return u32(clamp(select(v, v + m, v < 0), 0, m - 1));
}`;

/** WGSL of the gather kernel (element bits are copied as `u32`, whatever the dtype). */
const GATHER_SOURCE = `struct U { total: u32, n: u32, inner: u32, count: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
${WRAP}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let id = ${linearIndex(WG)};
  if (id >= u.total) { return; }
  let i = id % u.inner;
  let oc = id / u.inner;
  let c = oc % u.count;
  let o = oc / u.count;
  out[id] = x[(o * u.n + wrap(indices[c], u.n)) * u.inner + i];
}
`;

/**
 * `out[o, c, i] = x[o, indices[c], i]`: `x` is `[outer, n, inner]`,
 * `indices` int32 `[count]`, the result a new `[outer, count, inner]`
 * buffer. Negative indices count from the end; indices still outside
 * `[0, n)` are clamped (a GPU kernel cannot throw). With `n = 0` the
 * result is zeros.
 *
 * @param ctx The GPU context.
 * @param x The source (`outer·n·inner` elements).
 * @param indices int32 `[count]`.
 * @param outer Size of the leading axes.
 * @param n Size of the gathered axis.
 * @param inner Size of the trailing axes.
 * @param count Number of indices.
 * @param dtype The element dtype (float32, int32 or bool; bits are copied).
 * @returns A new buffer of `outer·count·inner` elements.
 */
export function gatherKernel(
  ctx: GpuContext,
  x: GPUBuffer,
  indices: GPUBuffer,
  outer: number,
  n: number,
  inner: number,
  count: number,
  dtype: DType,
): GPUBuffer {
  wgslType(dtype, "gather()");
  const total = outer * count * inner;
  if (total === 0) return ctx.alloc(0);
  if (n === 0) return zeros(ctx, total);
  const out = ctx.alloc(total * 4);
  ctx.run(
    GATHER_SOURCE,
    Uint32Array.of(total, n, inner, count),
    [x, indices, out],
    groups1d(total, WG),
  );
  return out;
}

/** Pass 1: stable sort of `(wrap(indices[c]), c)` by rank counting into `(c, j)` pairs. */
const SORT_SOURCE = `struct U { count: u32, n: u32, p2: u32, p3: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> indices: array<i32>;
@group(0) @binding(2) var<storage, read_write> sorted: array<u32>;
${WRAP}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = ${linearIndex(WG)};
  if (c >= u.count) { return; }
  let j = wrap(indices[c], u.n);
  var rank = 0u;
  for (var d = 0u; d < u.count; d++) {
    let jd = wrap(indices[d], u.n);
    rank += select(0u, 1u, jd < j || (jd == j && d < c));
  }
  sorted[2u * rank] = c;
  sorted[2u * rank + 1u] = j;
}
`;

/** Pass 2: `starts[j]` = first sorted slot whose index is `≥ j`, for `j ∈ [0, n]`. */
const STARTS_SOURCE = `struct U { count: u32, n: u32, p2: u32, p3: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> sorted: array<u32>;
@group(0) @binding(2) var<storage, read_write> starts: array<u32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = ${linearIndex(WG)};
  if (j > u.n) { return; }
  var lo = 0u;
  var hi = u.count;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (sorted[2u * mid + 1u] < j) { lo = mid + 1u; } else { hi = mid; }
  }
  starts[j] = lo;
}
`;

/** Pass 3: each output sums its run of sorted slots (in increasing `c`). */
function sumSource(t: "f32" | "i32" | "u32"): string {
  const update = t === "u32" ? "acc = acc | select(0u, 1u, v != 0u);" : "acc += v;";
  return `struct U { total: u32, n: u32, inner: u32, count: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> g: array<${t}>;
@group(0) @binding(2) var<storage, read> sorted: array<u32>;
@group(0) @binding(3) var<storage, read> starts: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<${t}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let id = ${linearIndex(WG)};
  if (id >= u.total) { return; }
  let i = id % u.inner;
  let oj = id / u.inner;
  let j = oj % u.n;
  let o = oj / u.n;
  let s1 = starts[j + 1u];
  var acc = ${t}(0);
  for (var s = starts[j]; s < s1; s++) {
    let v = g[(o * u.count + sorted[2u * s]) * u.inner + i];
    ${update}
  }
  out[id] = acc;
}
`;
}

/**
 * The transpose of {@linkcode gatherKernel}: `g` is `[outer, count,
 * inner]`, the result a new `[outer, n, inner]` buffer with
 * `out[o, j, i] = Σ g[o, c, i]` over every `c` with `indices[c] ≡ j`
 * (negative indices count from the end, out-of-range ones are clamped), in
 * increasing `c`. Deterministic and atomic-free; see the module notes for
 * the passes, their cost and the float32 tolerance.
 *
 * @param ctx The GPU context.
 * @param g The values to scatter (`outer·count·inner` elements).
 * @param indices int32 `[count]`.
 * @param outer Size of the leading axes.
 * @param n Size of the scattered-into axis.
 * @param inner Size of the trailing axes.
 * @param count Number of indices.
 * @param dtype float32, int32 (wrapping sums) or bool ("any").
 * @returns A new buffer of `outer·n·inner` elements.
 */
export function scatterAddKernel(
  ctx: GpuContext,
  g: GPUBuffer,
  indices: GPUBuffer,
  outer: number,
  n: number,
  inner: number,
  count: number,
  dtype: DType,
): GPUBuffer {
  const t = wgslType(dtype, "scatterAdd()");
  const total = outer * n * inner;
  if (total === 0) return ctx.alloc(0);
  if (count === 0) return zeros(ctx, total);
  const sorted = ctx.alloc(count * 8);
  const starts = ctx.alloc((n + 1) * 4);
  const u = Uint32Array.of(count, n, 0, 0);
  ctx.run(SORT_SOURCE, u, [indices, sorted], groups1d(count, WG));
  ctx.run(STARTS_SOURCE, u, [sorted, starts], groups1d(n + 1, WG));
  const out = ctx.alloc(total * 4);
  ctx.run(
    sumSource(t),
    Uint32Array.of(total, n, inner, count),
    [g, sorted, starts, out],
    groups1d(total, WG),
  );
  ctx.release(sorted); // safe: the queue runs the passes before any later reuse
  ctx.release(starts);
  return out;
}
