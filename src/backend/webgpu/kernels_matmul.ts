/**
 * WebGPU batched matrix products with broadcast batch strides.
 *
 * Two kernels:
 *
 * - **tiled** (float32, chosen when `m ≥ 32` and `n ≥ 32`): a 16×16
 *   workgroup computes a 64×64 block of C, each invocation a 4×4 register
 *   tile (four `vec4<f32>` accumulators). Per step of 16 along k the
 *   workgroup stages a 64×16 tile of A (stored k-major) and a 16×64 tile of
 *   B in shared memory (2 × 4 KiB), each invocation loading 4 + 4 elements
 *   with coalesced reads; edges are zero-padded, so any m, n, k works.
 *   Batches are the z dimension of the dispatch.
 * - **blocked** (float32 on a software adapter such as llvmpipe, which runs
 *   shaders on CPU threads): each invocation computes an 8×8 block of C
 *   from global memory — per step along k, 8 loads of A and 8 of B for 64
 *   multiply-adds — with no shared memory and no barriers, which a CPU
 *   implementation runs as costly coroutine switches (≈3× faster there
 *   than the tiled kernel on the 784-100-10 MLP's products; the 8×8 block
 *   ≈1.25× faster than 8×4 on them).
 * - **simple** (int32, small or skinny products): one invocation per output
 *   element, a dot product over k. int32 products and sums wrap exactly as
 *   the CPU's `Math.imul`/`| 0` (wrapping arithmetic is associative, so the
 *   result is bit-exact whatever the order).
 *
 * float32 accumulates in float32 along k in order (the CPU's JS kernel
 * accumulates in float64, its WebAssembly kernel in float32 with FMA), so
 * `|gpu − cpu| ≤ k·2⁻²³·Σ_p |a_ip·b_pj|` per element.
 *
 * The per-batch matrix offsets are computed on the host (the same walk as
 * the CPU backend) and bound as a small `u32` table `[aOffset, bOffset]` per
 * batch, so any batch rank and any broadcast works. Every kernel reads an
 * operand stored transposed (`MatmulSpec.transA`/`transB`) in place, so the
 * ops layer never copies a transpose first.
 *
 * @module
 */

import { batchMatrices } from "../_geometry.ts";
import type { MatmulSpec } from "../backend.ts";
import type { DType } from "../../core/dtype.ts";
import {
  type GpuContext,
  groups1d,
  linearIndex,
  MAX_GROUPS,
  type Operand,
  type Store,
} from "./context.ts";
import { type WgslScalar, wgslType } from "./kernels_util.ts";
import { type ElementwiseKernel, KernelCache } from "../ir/kernel.ts";
import { renderWgsl, type WgslFunction } from "../ir/render_wgsl.ts";

/** Which kernel `matmulKernel` uses: `auto` picks by shape, dtype and adapter. */
export type MatmulVariant = "auto" | "tiled" | "blocked" | "simple";

/** Whether each operand's matrices are stored transposed (`MatmulSpec.transA`/`transB`). */
interface Layout {
  readonly transA: boolean;
  readonly transB: boolean;
}

/** WGSL offset of `A[r, p]` within its matrix (`m × k`, or `k × m` stored transposed). */
const aAt = (l: Layout, r: string, p: string): string =>
  l.transA ? `${p} * u.m + ${r}` : `${r} * u.k + ${p}`;

/** WGSL offset of `B[p, c]` within its matrix (`k × n`, or `n × k` stored transposed). */
const bAt = (l: Layout, p: string, c: string): string =>
  l.transB ? `${c} * u.k + ${p}` : `${p} * u.n + ${c}`;

/**
 * A kernel's opening: the uniforms `m, n, k` and `last` (its fourth
 * field), the bindings, and the epilogue's function if there is one.
 */
const header = (last: string, decls: string, e: Epilogue | null): string =>
  `struct U { m: u32, n: u32, k: u32, ${last}: u32 }
@group(0) @binding(0) var<uniform> u: U;
${decls}
${e?.source ?? ""}`;

/** Side of the square block of C one tiled workgroup computes. */
const TILE = 64;
/** Workgroup size of the simple kernel. */
const WG = 64;

/** WGSL of the float32 register-tiled kernel. */
const tiledSource = (decls: string, l: Layout, e: Epilogue | null): string =>
  `${header("batchBase", decls, e)}
// As[kk*16 + r4] = A rows 4·r4 … 4·r4+3 at column k0+kk; Bs[kk*16 + c4] = B row k0+kk, cols 4·c4 … 4·c4+3.
var<workgroup> As: array<vec4<f32>, 256>;
var<workgroup> Bs: array<vec4<f32>, 256>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let batch = wid.z + u.batchBase;
  let aBase = ld_offs(2u * batch);
  let bBase = ld_offs(2u * batch + 1u);
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  let tid = lid.y * 16u + lid.x;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < u.k; k0 += 16u) {
    for (var l = 0u; l < 4u; l++) {
      let e = tid + l * 256u;
      let r = e >> 4u;
      let ka = k0 + (e & 15u);
      let gr = row0 + r;
      var va = 0.0;
      if (gr < u.m && ka < u.k) { va = ld_a(aBase + ${aAt(l, "gr", "ka")}); }
      As[(e & 15u) * 16u + (r >> 2u)][r & 3u] = va;
      let kb = e >> 6u;
      let cc = e & 63u;
      let gk = k0 + kb;
      let gc = col0 + cc;
      var vb = 0.0;
      if (gk < u.k && gc < u.n) { vb = ld_b(bBase + ${bAt(l, "gk", "gc")}); }
      Bs[kb * 16u + (cc >> 2u)][cc & 3u] = vb;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let av = As[kk * 16u + lid.y];
      let bv = Bs[kk * 16u + lid.x];
      acc0 += av.x * bv;
      acc1 += av.y * bv;
      acc2 += av.z * bv;
      acc3 += av.w * bv;
    }
    workgroupBarrier();
  }
  let cBase = batch * u.m * u.n;
  let col = col0 + lid.x * 4u;
  var accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var r = 0u; r < 4u; r++) {
    let row = row0 + lid.y * 4u + r;
    if (row < u.m) {
      let v = accs[r];
      for (var q = 0u; q < 4u; q++) {
        if (col + q < u.n) { ${store(e, "cBase + row * u.n + col + q", "row", "col + q", "v[q]")} }
      }
    }
  }
}
`;

/**
 * The blocked and simple kernels loop over k in one invocation; llvmpipe
 * silently ends a shader loop after this many iterations
 * (`LP_MAX_TGSI_LOOP_ITERATIONS`), so `auto` avoids them beyond it (the
 * tiled kernel loops k/16 times).
 */
const LOOP_LIMIT = 65535;

/** Rows of C per invocation of the blocked kernel. */
const BLOCK_ROWS = 8;

/** Columns of C per invocation of the blocked kernel (`BLOCK_COLS / 4` vec4s). */
const BLOCK_COLS = 8;

/** `f(0) … f(BLOCK_ROWS - 1)`, one WGSL line each. */
const perRow = (f: (r: number) => string, indent: string): string =>
  Array.from({ length: BLOCK_ROWS }, (_, r) => f(r)).join(`\n${indent}`);
/** `f(0) … f(BLOCK_COLS - 1)`. */
const perCol = (f: (c: number) => string, indent: string): string =>
  Array.from({ length: BLOCK_COLS }, (_, c) => f(c)).join(`\n${indent}`);
/** `f(0) … f(BLOCK_COLS / 4 - 1)`: one term per vec4 of a block's row. */
const perVec4 = (f: (h: number) => string, sep: string): string =>
  Array.from({ length: BLOCK_COLS / 4 }, (_, h) => f(h)).join(sep);

/**
 * WGSL of the float32 blocked kernel: invocation `idx` computes rows
 * `row0 … row0+7`, columns `col0 … col0+7` of one batch's C, loading A and B
 * at clamped indices (edges compute duplicates that are not stored).
 */
const blockedSource = (decls: string, l: Layout, e: Epilogue | null): string =>
  `${header("batches", decls, e)}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = ${linearIndex(WG)};
  let nb = (u.n + ${BLOCK_COLS - 1}u) / ${BLOCK_COLS}u;
  let per = ((u.m + ${BLOCK_ROWS - 1}u) / ${BLOCK_ROWS}u) * nb;
  if (idx >= per * u.batches) { return; }
  let batch = idx / per;
  let rem = idx % per;
  let row0 = (rem / nb) * ${BLOCK_ROWS}u;
  let col0 = (rem % nb) * ${BLOCK_COLS}u;
  let aBase = ld_offs(2u * batch);
  let bBase = ld_offs(2u * batch + 1u);
  let lastRow = u.m - 1u;
  let lastCol = u.n - 1u;
  ${perCol((c) => `let c${c} = min(col0 + ${c}u, lastCol);`, "  ")}
  ${perRow((r) => `let r${r} = min(row0 + ${r}u, lastRow);`, "  ")}
  ${perRow((r) => perVec4((h) => `var acc${r}_${h} = vec4<f32>(0.0);`, " "), "  ")}
  for (var p = 0u; p < u.k; p++) {
    ${
    perVec4((h) =>
      `let bv${h} = vec4<f32>(${
        [0, 1, 2, 3].map((q) =>
          `ld_b(bBase + ${bAt(l, "p", `c${4 * h + q}`)})`
        ).join(", ")
      });`, "\n    ")
  }
    ${
    perRow((r) =>
      `{ let a = ld_a(aBase + ${aAt(l, `r${r}`, "p")}); ${
        perVec4((h) =>
          `acc${r}_${h} += a * bv${h};`, " ")
      } }`, "\n    ")
  }
  }
  let cBase = batch * u.m * u.n;
  var accs = array<vec4<f32>, ${BLOCK_ROWS * BLOCK_COLS / 4}>(${
    Array.from({ length: BLOCK_ROWS }, (_, r) => perVec4((h) => `acc${r}_${h}`, ", ")).join(", ")
  });
  for (var r = 0u; r < ${BLOCK_ROWS}u; r++) {
    let row = row0 + r;
    if (row < u.m) {
      for (var q = 0u; q < ${BLOCK_COLS}u; q++) {
        if (col0 + q < u.n) {
          let v = accs[r * ${BLOCK_COLS / 4}u + q / 4u][q % 4u];
          ${store(e, "cBase + row * u.n + col0 + q", "row", "col0 + q", "v")}
        }
      }
    }
  }
}
`;

/** WGSL of the simple kernel: one invocation per output element. */
function simpleSource(t: WgslScalar, decls: string, l: Layout, e: Epilogue | null): string {
  return `${header("total", decls, e)}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = ${linearIndex(WG)};
  if (idx >= u.total) { return; }
  let mn = u.m * u.n;
  let batch = idx / mn;
  let rem = idx % mn;
  let row = rem / u.n;
  let col = rem % u.n;
  let aBase = ld_offs(2u * batch);
  let bBase = ld_offs(2u * batch + 1u);
  var acc = ${t}(0);
  for (var p = 0u; p < u.k; p++) {
    acc += ld_a(aBase + ${aAt(l, "row", "p")}) * ld_b(bBase + ${bAt(l, "p", "col")});
  }
  ${store(e, "idx", "row", "col", "acc")}
}
`;
}

/**
 * What a product's elements go through before they are stored (an IR
 * elementwise kernel `jit` fused after the product; see `matmulKernel`).
 */
export interface Epilogue {
  /** WGSL declaring `epilogue(c, x₁ …)`: its prelude and function. */
  readonly source: string;
  /** The operands after the product, each bound as `ep<k>`. */
  readonly operands: readonly EpilogueOperand[];
  /** The storage type of the result (bool as u32 words). */
  readonly out: WgslScalar;
}

/** An operand of an epilogue: where element (batch, row, col) of the product reads it. */
export interface EpilogueOperand {
  /** Its storage. */
  readonly store: Store;
  /** Its storage type. */
  readonly type: WgslScalar;
  /** Whether the kernel reads it as a bool (a u32 word, nonzero is true). */
  readonly bool: boolean;
  /** Its steps per batch (the flattened batch axes), per row and per column of the product. */
  readonly steps: readonly [batch: number, row: number, col: number];
}

/** The statement storing `value` (the product at `batch`, `row`, `col`) at `index` of `out`. */
function store(e: Epilogue | null, index: string, row: string, col: string, value: string): string {
  if (e === null) return `st_out(${index}, ${value});`;
  const args = e.operands.map((o, k) => {
    const [sb, sr, sc] = o.steps;
    const at = [[sb, "batch"], [sr, row], [sc, col]]
      .filter(([step]) => step !== 0)
      .map(([step, v]) => `(${v}) * ${step}u`);
    const v = `ld_ep${k}(${at.length === 0 ? "0u" : at.join(" + ")})`;
    return o.bool ? `(${v} != 0u)` : v;
  });
  const call = `epilogue(${[value, ...args].join(", ")})`;
  return `st_out(${index}, ${e.out === "u32" ? `select(0u, 1u, ${call})` : call});`;
}

/** `[aOffset, bOffset]` (in elements) of every batch, walking the broadcast batch shape. */
function batchOffsets(spec: MatmulSpec, batch: number): Uint32Array {
  const mats = batchMatrices(spec);
  const offs = new Uint32Array(2 * batch);
  for (let t = 0; t < batch; t++) {
    offs[2 * t] = mats[2 * t] * spec.m * spec.k;
    offs[2 * t + 1] = mats[2 * t + 1] * spec.k * spec.n;
  }
  return offs;
}

/**
 * Batched `a @ b` on the GPU: `a` is `[...aBatch, m, k]`, `b` is
 * `[...bBatch, k, n]` (batch axes broadcast through `spec`'s batch strides,
 * counted in whole matrices), giving new `[...batchShape, m, n]` storage.
 * `k = 0` gives zeros.
 *
 * @param ctx The GPU context.
 * @param a The left operand.
 * @param b The right operand.
 * @param spec The broadcast geometry and operand layouts (from the ops layer).
 * @param dtype float32 or int32.
 * @param variant Forces a kernel (for tests); `auto` uses, for float32,
 *   the blocked kernel on a software adapter (llvmpipe), else the tiled one
 *   when `m ≥ 32` and `n ≥ 32`; the simple one otherwise.
 * @param epilogue What each element of the product goes through before it
 *   is stored (the result then has the epilogue's type), or null.
 * @returns New storage of `batch·m·n` elements.
 */
export function matmulKernel(
  ctx: GpuContext,
  a: Store,
  b: Store,
  spec: MatmulSpec,
  dtype: DType,
  variant: MatmulVariant = "auto",
  epilogue: Epilogue | null = null,
): Store {
  if (dtype === "bool") {
    throw new TypeError("matmul(): dtype bool is not supported; cast to int32 or float32 first");
  }
  const t = wgslType(dtype, "matmul()");
  const { m, k, n } = spec;
  let batch = 1;
  for (const d of spec.batchShape) batch *= d;
  const total = batch * m * n;
  if (total === 0) return ctx.allocStore("matmul()", 0);
  if (k === 0) return ctx.zeros("matmul()", total);
  const tilesM = Math.ceil(m / TILE), tilesN = Math.ceil(n / TILE);
  const blocked = t === "f32" &&
    (variant === "blocked" || (variant === "auto" && ctx.isFallback && k <= LOOP_LIMIT));
  const tiled = !blocked && t === "f32" && tilesM <= MAX_GROUPS && tilesN <= MAX_GROUPS &&
    (variant === "tiled" ||
      (variant === "auto" && ((m >= 32 && n >= 32) || (ctx.isFallback && k > LOOP_LIMIT))));
  const { store: offs, owned } = ctx.constant("matmul()", batchOffsets(spec, batch));
  const out = ctx.allocStore("matmul()", total);
  const ops: Operand[] = [
    { name: "a", type: t, store: a },
    { name: "b", type: t, store: b },
    { name: "offs", type: "u32", store: offs },
    ...(epilogue?.operands ?? []).map((o, k) => ({ name: `ep${k}`, type: o.type, store: o.store })),
    { name: "out", type: epilogue?.out ?? t, store: out, write: true },
  ];
  const decls = ctx.declare(ops);
  const layout: Layout = { transA: spec.transA === true, transB: spec.transB === true };
  const kind = blocked ? "blocked" : tiled ? "tiled" : "simple";
  const source = sourceOf(kind, t, decls, layout, epilogue);
  if (blocked) {
    const u = Uint32Array.of(m, n, k, batch);
    const count = Math.ceil(m / BLOCK_ROWS) * Math.ceil(n / BLOCK_COLS) * batch;
    ctx.run("matmul()", source, u, ops, groups1d(count, WG));
  } else if (tiled) {
    for (let base = 0; base < batch; base += MAX_GROUPS) {
      const z = Math.min(MAX_GROUPS, batch - base);
      const u = Uint32Array.of(m, n, k, base);
      ctx.run("matmul()", source, u, ops, [tilesN, tilesM, z]);
    }
  } else {
    const u = Uint32Array.of(m, n, k, total);
    ctx.run("matmul()", source, u, ops, groups1d(total, WG));
  }
  if (owned) ctx.release(offs); // safe: an upload never reuses a buffer pending commands read
  return out;
}

/** Kernel sources by what they are made of (at most `SOURCES_KEPT`; then started afresh). */
const sources = new Map<string, string>();
/** See {@linkcode sources}. */
const SOURCES_KEPT = 512;

/**
 * The WGSL of kernel `kind` for these declarations, layout and epilogue
 * (built once: a program's products ask for the same source call after call).
 */
function sourceOf(
  kind: "blocked" | "tiled" | "simple",
  t: WgslScalar,
  decls: string,
  l: Layout,
  e: Epilogue | null,
): string {
  const ep = e === null
    ? "-"
    : `${e.out} ${
      e.operands.map((o) => `${o.type}${o.bool ? "b" : ""}${o.steps}`).join(";")
    }\n${e.source}`;
  const key = `${kind} ${t} ${l.transA} ${l.transB}\n${decls}\n${ep}`;
  let src = sources.get(key);
  if (src === undefined) {
    if (sources.size >= SOURCES_KEPT) sources.clear();
    src = kind === "blocked"
      ? blockedSource(decls, l, e)
      : kind === "tiled"
      ? tiledSource(decls, l, e)
      : simpleSource(t, decls, l, e);
    sources.set(key, src);
  }
  return src;
}

/** Rendered epilogue functions by kernel key. */
const epilogues = new KernelCache<WgslFunction>();

/** An operand of {@linkcode matmulEpilogueKernel}: its storage and, per output axis, its step. */
export interface EpilogueInput {
  /** The storage. */
  readonly store: Store;
  /** Per axis of the output `[...batchShape, m, n]`, the step in elements (0 broadcasts). */
  readonly strides: readonly number[];
}

/**
 * `a @ b` (float32, as `matmulKernel`) with every element `c` of the product
 * stored as `kernel(c, inputs…)` in one kernel; null where an input's steps
 * over the batch axes are not those of one flattened batch axis (the caller
 * then runs the product and the ops after it), or the product is empty or
 * has `k = 0`.
 *
 * @param ctx The GPU context.
 * @param a The left operand.
 * @param b The right operand.
 * @param spec The product's geometry.
 * @param kernel The epilogue (operand 0: the product's element).
 * @param inputs Its other operands.
 * @returns New storage of the kernel's output type, or null.
 */
export function matmulEpilogueKernel(
  ctx: GpuContext,
  a: Store,
  b: Store,
  spec: MatmulSpec,
  kernel: ElementwiseKernel,
  inputs: readonly EpilogueInput[],
): Store | null {
  const { batchShape, m, k, n } = spec;
  if (m * n === 0 || k === 0 || batchShape.some((d) => d === 0)) return null;
  if (kernel.inputs[0] !== "f32" || kernel.inputs.length !== inputs.length + 1) return null;
  const operands: EpilogueOperand[] = [];
  for (const [i, x] of inputs.entries()) {
    const batchStep = flatBatchStep(batchShape, x.strides.slice(0, -2));
    if (batchStep === null) return null;
    const t = kernel.inputs[i + 1];
    if (t === "f64") return null;
    const [row, col] = x.strides.slice(-2);
    operands.push({
      store: x.store,
      type: t === "bool" ? "u32" : t,
      bool: t === "bool",
      steps: [batchStep, row, col],
    });
  }
  const fn = epilogues.get(kernel, (kk) => renderWgsl("epilogue", kk.output, {}, kk.inputs));
  const outType = kernel.output.type;
  if (outType === "f64") return null;
  const epilogue: Epilogue = {
    source: `${fn.prelude}\n${fn.fn}`,
    operands,
    out: outType === "bool" ? "u32" : outType,
  };
  return matmulKernel(ctx, a, b, spec, "float32", "auto", epilogue);
}

/**
 * The step per flattened batch index of an operand with `strides` over the
 * batch axes `shape`, or null when it has none (its batch steps are not a
 * multiple of the contiguous ones).
 */
function flatBatchStep(shape: readonly number[], strides: readonly number[]): number | null {
  let step: number | null = null, inner = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1) {
      if (step === null) step = strides[i] / inner;
      if (strides[i] !== step * inner) return null;
    }
    inner *= shape[i];
  }
  return step ?? 0;
}
