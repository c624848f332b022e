/**
 * WebGPU gather and scatter-add along the middle axis of `[outer, n, inner]`,
 * and the gather that unpacks `CompactImages`' bytes.
 *
 * Index convention (both kernels): a negative index counts from the end
 * (`j + n`). A GPU kernel cannot throw, so an index still outside `[0, n)`
 * follows JAX's `mode="fill"`: the gathered element is a fill value — NaN
 * for float32, −2³¹ for int32, `true` for bool — and `scatterAdd` drops the
 * update, so it stays the exact transpose of `gather`. (The backend throws a
 * RangeError before dispatching when it knows the indices on the host.)
 *
 * `scatterAdd` uses no atomics (WebGPU has no float atomics, and atomics
 * would make the summation order nondeterministic). It runs three passes:
 *
 * 1. **sort**: one invocation per index `c` computes the stable rank of
 *    `(wrap(indices[c]), c)` by counting the smaller pairs — `O(count²)`
 *    comparisons in total, fully parallel — and writes `(c, wrap(c))` to
 *    slot `rank` (ranks are a permutation, so no two invocations collide);
 *    an out-of-range index wraps to `n`, after every valid one;
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
import { type GpuContext, groups1d, linearIndex, type Operand, type Store } from "./context.ts";
import {
  FALLBACK_MAX_STEPS,
  tooManySteps,
  unrolledLoop,
  type WgslScalar,
  wgslType,
} from "./kernels_util.ts";

/** Workgroup size of every kernel in this module. */
const WG = 64;

/** WGSL of `fn wrap(v: i32, n: u32) -> u32`: negative from the end; out of range → `n`. */
const WRAP = `fn wrap(v: i32, n: u32) -> u32 {
  let m = i32(n);
  let k = select(v, v + m, v < 0);
  return select(n, u32(k), k >= 0 && k < m);
}`;

/** The bits gathered for an out-of-range index: NaN, −2³¹ or `true` (JAX's fill values). */
const FILL_BITS: Readonly<Record<WgslScalar, number>> = {
  f32: 0x7fc00000,
  i32: 0x80000000,
  u32: 1,
};

/** WGSL of the gather kernel (element bits are copied as `u32`, whatever the dtype). */
function gatherSource(decls: string): string {
  return `struct U { size: u32, base: u32, n: u32, inner: u32, count: u32, fill: u32 }
@group(0) @binding(0) var<uniform> u: U;
${decls}
${WRAP}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = ${linearIndex(WG)};
  if (j >= u.size) { return; }
  let id = u.base + j;
  let i = id % u.inner;
  let oc = id / u.inner;
  let c = oc % u.count;
  let o = oc / u.count;
  let k = wrap(ld_indices(c), u.n);
  if (k == u.n) {
    st_out(j, u.fill);
  } else {
    st_out(j, ld_x((o * u.n + k) * u.inner + i));
  }
}
`;
}

/**
 * `out[o, c, i] = x[o, indices[c], i]`: `x` is `[outer, n, inner]`,
 * `indices` int32 `[count]`, the result new `[outer, count, inner]`
 * storage. Negative indices count from the end; an index still outside
 * `[0, n)` gathers the fill value (NaN, −2³¹ or `true`; see the module
 * notes).
 *
 * @param ctx The GPU context.
 * @param x The source (`outer·n·inner` elements).
 * @param indices int32 `[count]`.
 * @param outer Size of the leading axes.
 * @param n Size of the gathered axis.
 * @param inner Size of the trailing axes.
 * @param count Number of indices.
 * @param dtype The element dtype (float32, int32 or bool; bits are copied).
 * @returns New storage of `outer·count·inner` elements.
 */
export function gatherKernel(
  ctx: GpuContext,
  x: Store,
  indices: Store,
  outer: number,
  n: number,
  inner: number,
  count: number,
  dtype: DType,
): Store {
  const t = wgslType(dtype, "take()");
  const out = ctx.allocStore("take()", outer * count * inner);
  ctx.runWindows(
    "take()",
    gatherSource,
    Uint32Array.of(0, 0, n, inner, count, FILL_BITS[t]),
    1,
    { type: "u32", store: out },
    [
      { name: "x", type: "u32", store: x, window: false },
      { name: "indices", type: "i32", store: indices, window: false },
    ],
    (size) => groups1d(size, WG),
  );
  return out;
}

/** The float32 bits of `float32(b / 255)` for every byte `b`: a table, so no rounding is left to the GPU. */
const UNIT_BITS = Array.from({ length: 256 }, (_, b) => {
  const bits = new Uint32Array(new Float32Array([b / 255]).buffer)[0];
  return `${bits}u`;
}).join(", ");

/** WGSL of the byte-unpacking kernel (see {@linkcode unpackBytesKernel}). */
function unpackSource(decls: string): string {
  return `struct U { size: u32, base: u32, n: u32, w: u32, k: u32, count: u32, unit: u32, fill: u32 }
@group(0) @binding(0) var<uniform> u: U;
${decls}
${WRAP}
var<private> UNIT: array<u32, 256> = array<u32, 256>(${UNIT_BITS});
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = ${linearIndex(WG)};
  if (j >= u.size) { return; }
  let id = u.base + j;
  let i = id % u.w;
  let cp = id / u.w;
  let plane = cp % u.k;
  let c = cp / u.k;
  let r = wrap(ld_indices(c), u.n);
  if (r == u.n) {
    st_out(j, u.fill);
    return;
  }
  let v = u32(bitcast<f32>(ld_x(r * u.w + i)));
  let b = (v >> (8u * plane)) & 255u;
  st_out(j, select(bitcast<u32>(f32(b)), UNIT[b], u.unit != 0u));
}
`;
}

/**
 * Rows `indices` of 8-bit values packed `k` per float32 (`x` is `[n, w]`,
 * value `b₀ + 256·b₁ + 65536·b₂`), widened to float32 `[count, k, w]`:
 * plane `j` holds byte `j`, as `float32(b / 255)` (from a table of the
 * exact values) or as `b`. An index outside `[-n, n)` gives NaN rows.
 *
 * @param ctx The GPU context.
 * @param x The packed values.
 * @param indices int32 `[count]`.
 * @param n Rows of `x`.
 * @param w Values per row.
 * @param k Bytes per value (1 to 3).
 * @param count Number of indices.
 * @param unit Whether bytes become `b / 255` (else `b`).
 * @returns New float32 storage of `count·k·w` elements.
 */
export function unpackBytesKernel(
  ctx: GpuContext,
  x: Store,
  indices: Store,
  n: number,
  w: number,
  k: number,
  count: number,
  unit: boolean,
): Store {
  const out = ctx.allocStore("CompactImages", count * k * w);
  ctx.runWindows(
    "CompactImages",
    unpackSource,
    Uint32Array.of(0, 0, n, w, k, count, unit ? 1 : 0, FILL_BITS.f32),
    1,
    { type: "u32", store: out },
    [
      { name: "x", type: "u32", store: x, window: false },
      { name: "indices", type: "i32", store: indices, window: false },
    ],
    (size) => groups1d(size, WG),
  );
  return out;
}

/** Pass 1: stable sort of `(wrap(indices[c]), c)` by rank counting into `(c, j)` pairs. */
function sortSource(decls: string): string {
  return `struct U { count: u32, n: u32, p2: u32, p3: u32 }
@group(0) @binding(0) var<uniform> u: U;
${decls}
${WRAP}
fn before(jd: u32, d: u32, j: u32, c: u32) -> u32 { return select(0u, 1u, jd < j || (jd == j && d < c)); }
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = ${linearIndex(WG)};
  if (c >= u.count) { return; }
  let j = wrap(ld_indices(c), u.n);
  var rank = 0u;
  ${
    unrolledLoop("d", "0u", "u.count", (d) =>
      `rank += before(wrap(ld_indices(${d}), u.n), ${d}, j, c);`)
  }
  st_sorted(2u * rank, c);
  st_sorted(2u * rank + 1u, j);
}
`;
}

/** Pass 2: `starts[j]` = first sorted slot whose index is `≥ j`, for `j ∈ [0, n]`. */
function startsSource(decls: string): string {
  return `struct U { count: u32, n: u32, p2: u32, p3: u32 }
@group(0) @binding(0) var<uniform> u: U;
${decls}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = ${linearIndex(WG)};
  if (j > u.n) { return; }
  var lo = 0u;
  var hi = u.count;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (ld_sorted(2u * mid + 1u) < j) { lo = mid + 1u; } else { hi = mid; }
  }
  st_starts(j, lo);
}
`;
}

/** Pass 3: each output sums its run of sorted slots (in increasing `c`). */
function sumSource(t: WgslScalar, decls: string): string {
  const add = t === "u32" ? "a | select(0u, 1u, v != 0u)" : "a + v";
  return `struct U { size: u32, base: u32, n: u32, inner: u32, count: u32 }
@group(0) @binding(0) var<uniform> u: U;
${decls}
fn add(a: ${t}, v: ${t}) -> ${t} { return ${add}; }
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let jj = ${linearIndex(WG)};
  if (jj >= u.size) { return; }
  let id = u.base + jj;
  let i = id % u.inner;
  let oj = id / u.inner;
  let j = oj % u.n;
  let o = oj / u.n;
  let s1 = ld_starts(j + 1u);
  var acc = ${t}(0);
  ${
    unrolledLoop("s", "ld_starts(j)", "s1", (s) =>
      `acc = add(acc, ld_g((o * u.count + ld_sorted(2u * ${s})) * u.inner + i));`)
  }
  st_out(jj, acc);
}
`;
}

/**
 * The transpose of {@linkcode gatherKernel}: `g` is `[outer, count,
 * inner]`, the result new `[outer, n, inner]` storage with
 * `out[o, j, i] = Σ g[o, c, i]` over every `c` with `indices[c] ≡ j`
 * (negative indices count from the end, out-of-range ones are dropped), in
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
 * @returns New storage of `outer·n·inner` elements.
 */
export function scatterAddKernel(
  ctx: GpuContext,
  g: Store,
  indices: Store,
  outer: number,
  n: number,
  inner: number,
  count: number,
  dtype: DType,
): Store {
  const op = "scatterAdd()";
  const t = wgslType(dtype, op);
  const total = outer * n * inner;
  if (total === 0) return ctx.allocStore(op, 0);
  if (count === 0) return ctx.zeros(op, total);
  if (ctx.isFallback && count > FALLBACK_MAX_STEPS) throw tooManySteps(op, `${count} indices`);
  const sorted = ctx.allocStore(op, count * 2);
  const starts = ctx.allocStore(op, n + 1);
  const u = Uint32Array.of(count, n, 0, 0);
  const sortOps: Operand[] = [
    { name: "indices", type: "i32", store: indices },
    { name: "sorted", type: "u32", store: sorted, write: true },
  ];
  ctx.run(op, sortSource(ctx.declare(sortOps)), u, sortOps, groups1d(count, WG));
  const startOps: Operand[] = [
    { name: "sorted", type: "u32", store: sorted },
    { name: "starts", type: "u32", store: starts, write: true },
  ];
  ctx.run(op, startsSource(ctx.declare(startOps)), u, startOps, groups1d(n + 1, WG));
  const out = ctx.allocStore(op, total);
  ctx.runWindows(
    op,
    (decls) => sumSource(t, decls),
    Uint32Array.of(0, 0, n, inner, count),
    1,
    { type: t, store: out },
    [
      { name: "g", type: t, store: g, window: false },
      { name: "sorted", type: "u32", store: sorted, window: false },
      { name: "starts", type: "u32", store: starts, window: false },
    ],
    (size) => groups1d(size, WG),
  );
  ctx.release(sorted); // safe: the queue runs the passes before any later reuse
  ctx.release(starts);
  return out;
}
