/**
 * WebGPU reductions over the middle axis of an `[outer, n, inner]` view.
 *
 * Layout: the `outer·inner` outputs are flattened to `p = o·inner + i`. A
 * workgroup is 256 invocations split as `li × ln` (powers of two): `li`
 * consecutive outputs (coalesced reads when `inner > 1`), each reduced by
 * `ln` lanes that stride over the axis (`j = lane, lane + ln, …`) and then
 * combine in a shared-memory tree. The split travels in the uniform block,
 * and so do the direction (max/min) and the output kind (index, element or
 * partial), so seven pipelines serve every reduction of every shape: `sum`
 * per input dtype (3), the first extreme pass per input dtype (3), and one
 * dtype-independent pass over partial results. Few shader compilations
 * matter on software adapters (about 1 s each on llvmpipe) and for
 * first-run latency everywhere. When the outputs fill fewer than 128
 * workgroups and the axis is long, the axis is split into up to 256
 * `chunks` and reduced in two passes: the first writes partial results
 * `[outer, chunks, inner]` (values for `sum`, `(key, index)` pairs
 * otherwise), the second reduces those.
 *
 * - `sum`: float32 accumulates in float32 (the CPU accumulates in float64);
 *   int32 wraps (exactly the CPU's result, as wrapping addition is
 *   associative); bool counts into int32. Each output is a sum tree whose
 *   longest chain has at most `⌈n/4⌉ + 20` float32 additions (in practice
 *   `≈ n/256 + 8` for `inner = 1`), so `|gpu − cpu| ≤ (⌈n/4⌉ + 20)·2⁻²⁴·Σ|x|`
 *   (the CPU's own float64 error is negligible); the typical error is far
 *   smaller, `~ √(n/256)·2⁻²⁴·‖x‖₂`.
 * - `max`, `min`, `argmax`, `argmin`: every element becomes an order key
 *   (a `u32` whose unsigned order is the wanted order, NaN highest, `−0`
 *   equal to `+0`); the winner is the largest key, ties to the lowest
 *   index. This gives exactly the CPU's result: the first index of the
 *   extreme, the first NaN when there is one. `max`/`min` then read the
 *   winning element itself, so the sign of a zero matches the CPU too.
 *   NaN is detected from the bits, never with `x != x` (WGSL lets
 *   compilers assume floats are never NaN).
 *
 * @module
 */

import type { ReduceOp } from "../backend.ts";
import type { DType } from "../../core/dtype.ts";
import type { GpuContext, Operand, Store } from "./context.ts";
import {
  nextPow2,
  orderKeyFunction,
  splitGroups,
  type WgslScalar,
  wgslType,
} from "./kernels_util.ts";

/** How one pass splits the work. */
interface Plan {
  /** Outputs per workgroup (a power of two). */
  readonly li: number;
  /** Lanes per output along the reduced axis (`256 / li`). */
  readonly ln: number;
  /** Workgroups along the flattened outputs. */
  readonly pBlocks: number;
  /** Chunks the axis is split into (1: this pass is the last). */
  readonly chunks: number;
  /** Axis elements per chunk. */
  readonly chunkLen: number;
}

/** Invocations per workgroup; split as `li × ln` by a uniform, so one pipeline serves every shape. */
const WG = 256;
/** Target number of workgroups below which a long axis is split into chunks. */
const MIN_GROUPS = 128;
/** Fewest elements each lane reduces in a chunked pass. */
const MIN_PER_LANE = 16;

/** Chooses the workgroup split and the chunking of one pass. */
function plan(outputs: number, n: number, inner: number): Plan {
  // inner > 1: up to 64 consecutive outputs per group for coalesced reads;
  // inner = 1: as many lanes along the axis as it has elements.
  const li = inner > 1
    ? Math.max(Math.min(64, nextPow2(inner)), WG / nextPow2(n))
    : Math.max(1, WG / nextPow2(n));
  const ln = WG / li;
  const pBlocks = Math.ceil(outputs / li);
  let chunks = 1;
  if (pBlocks < MIN_GROUPS) {
    chunks = Math.max(
      1,
      Math.min(Math.ceil((2 * MIN_GROUPS) / pBlocks), Math.floor(n / (ln * MIN_PER_LANE))),
    );
  }
  const chunkLen = Math.ceil(n / chunks);
  return { li, ln, pBlocks, chunks: Math.ceil(n / chunkLen), chunkLen };
}

/** The uniform block shared by every reduction kernel. */
const UNIFORMS = `struct U {
  P: u32, n: u32, inner: u32, chunkLen: u32,
  chunks: u32, pBlocks: u32, nOrig: u32, liShift: u32,
  ln: u32, flip: u32, mode: u32, p11: u32,
}
@group(0) @binding(0) var<uniform> u: U;`;

/** Word index of `flip` in the uniform block. */
const FLIP = 9;
/** Word index of `mode` in the uniform block. */
const MODE_WORD = 10;

/** The uniform words of one pass (`flip` and `mode` zero). */
function uniforms(outputs: number, n: number, inner: number, p: Plan, nOrig: number): Uint32Array {
  return Uint32Array.of(
    outputs,
    n,
    inner,
    p.chunkLen,
    p.chunks,
    p.pBlocks,
    nOrig,
    Math.log2(p.li),
    p.ln,
    0,
    0,
    0,
  );
}

/**
 * The prologue every pass shares: invocation `t` is lane `ly` of output
 * slot `lx` (`t = ly·li + lx`); group → (chunk `c`, outputs); then `live`,
 * `o`, `i`, `j0`, `j1`, `base`.
 */
const PROLOGUE = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = wid.x + wid.y * 65535u;
  if (g >= u.pBlocks * u.chunks) { return; }
  let t = lid.x;
  let lx = t & ((1u << u.liShift) - 1u);
  let ly = t >> u.liShift;
  let c = g / u.pBlocks;
  let p = ((g % u.pBlocks) << u.liShift) + lx;
  let live = p < u.P;
  let o = p / u.inner;
  let i = p % u.inner;
  let j0 = c * u.chunkLen;
  let j1 = min(j0 + u.chunkLen, u.n);
  let base = o * u.n * u.inner + i;`;

/** The shared-memory tree over the `ln` lanes; `combine` updates slot `t` from slot `t2`. */
function tree(combine: string): string {
  return `  workgroupBarrier();
  for (var h = u.ln >> 1u; h > 0u; h = h >> 1u) {
    if (ly < h) {
      let t2 = t + (h << u.liShift);
      ${combine}
    }
    workgroupBarrier();
  }`;
}

/** WGSL of a sum pass: `elem` input, `acc` accumulator and output. */
function sumSource(acc: WgslScalar, decls: string): string {
  return `${UNIFORMS}
${decls}
var<workgroup> s: array<${acc}, ${WG}>;
${PROLOGUE}
  var acc = ${acc}(0);
  if (live) {
    for (var j = j0 + ly; j < j1; j += u.ln) {
      acc += ${acc}(ld_x(base + j * u.inner));
    }
  }
  s[t] = acc;
${tree("s[t] = s[t] + s[t2];")}
  if (ly == 0u && live) {
    st_out((o * u.chunks + c) * u.inner + i, s[t]);
  }
}
`;
}

/** Where an extreme pass reads from: the elements, or `(key, index)` pairs of a previous pass. */
type ExtremeIn = "raw" | "pairs";
/** What an extreme pass writes (the `mode` uniform): pairs for the next pass, the index, or the element. */
const MODE = { pairs: 0, index: 1, value: 2 } as const;
type ExtremeOut = keyof typeof MODE;

/**
 * WGSL of a max/min/argmax/argmin pass. Compile-time: the element kind
 * (raw input only: it picks the order key) and the input kind; everything
 * else is uniform — `flip` (`0` for max, `~0` for min: the key is XORed
 * with it, NaN excepted) and `mode` (write pairs, the winning index, or the
 * winning element, copied as bits). So five pipelines serve every extreme
 * reduction. Elements are read as `u32` bits.
 */
function extremeSource(elem: WgslScalar, input: ExtremeIn, decls: string): string {
  const load = input === "raw"
    ? `let kj = key(ld_x(base + j * u.inner));
      let jj = j;`
    : `let q = (base + j * u.inner) * 2u;
      let kj = ld_pin(q);
      let jj = ld_pin(q + 1u);`;
  return `${UNIFORMS}
${decls}
${input === "pairs" ? "" : orderKeyFunction(elem, "u.flip")}
var<workgroup> sk: array<u32, ${WG}>;
var<workgroup> si: array<u32, ${WG}>;
${PROLOGUE}
  var k = 0u;
  var ix = 0xffffffffu;
  if (live) {
    for (var j = j0 + ly; j < j1; j += u.ln) {
      ${load}
      if (kj > k || (kj == k && jj < ix)) { k = kj; ix = jj; }
    }
  }
  sk[t] = k;
  si[t] = ix;
${
    tree(
      `let k2 = sk[t2];
      let i2 = si[t2];
      let k1 = sk[t];
      if (k2 > k1 || (k2 == k1 && i2 < si[t])) { sk[t] = k2; si[t] = i2; }`,
    )
  }
  if (ly == 0u && live) {
    if (u.mode == ${MODE.pairs}u) {
      let q = ((o * u.chunks + c) * u.inner + i) * 2u;
      st_out(q, sk[t]);
      st_out(q + 1u, si[t]);
    } else if (u.mode == ${MODE.index}u) {
      st_out(p, si[t]);
    } else {
      st_out(p, ld_x((o * u.nOrig + si[t]) * u.inner + i));
    }
  }
}
`;
}

/** Sum over the axis, in as many passes as `plan` asks for. */
function reduceSum(
  ctx: GpuContext,
  op: string,
  x: Store,
  outer: number,
  n: number,
  inner: number,
  elem: WgslScalar,
): Store {
  const acc: WgslScalar = elem === "f32" ? "f32" : "i32";
  const outputs = outer * inner;
  const p = plan(outputs, n, inner);
  const out = ctx.allocStore(op, outer * p.chunks * inner);
  const ops: Operand[] = [
    { name: "x", type: elem, store: x },
    { name: "out", type: acc, store: out, write: true },
  ];
  ctx.run(
    op,
    sumSource(acc, ctx.declare(ops)),
    uniforms(outputs, n, inner, p, n),
    ops,
    splitGroups(p.pBlocks * p.chunks),
  );
  if (p.chunks === 1) return out;
  const result = reduceSum(ctx, op, out, outer, p.chunks, inner, acc);
  ctx.release(out); // safe: the queue runs the passes in order
  return result;
}

/** max/min/argmax/argmin over the axis, in as many passes as `plan` asks for. */
function reduceExtreme(
  ctx: GpuContext,
  op: Exclude<ReduceOp, "sum">,
  x: Store,
  outer: number,
  n: number,
  inner: number,
  elem: WgslScalar,
): Store {
  const isMax = op === "max" || op === "argmax";
  const final: ExtremeOut = op === "argmax" || op === "argmin" ? "index" : "value";
  const outputs = outer * inner;
  let input: ExtremeIn = "raw";
  let pairs: Store | null = null;
  const name = `${op}()`;
  let len = n;
  for (;;) {
    const p = plan(outputs, len, inner);
    const output: ExtremeOut = p.chunks === 1 ? final : "pairs";
    const out = ctx.allocStore(name, outer * p.chunks * inner * (output === "pairs" ? 2 : 1));
    const u = uniforms(outputs, len, inner, p, n);
    u[FLIP] = isMax ? 0 : 0xffffffff;
    u[MODE_WORD] = MODE[output];
    const ops: Operand[] = [{ name: "x", type: "u32", store: x }];
    if (pairs !== null) ops.push({ name: "pin", type: "u32", store: pairs });
    ops.push({ name: "out", type: "u32", store: out, write: true });
    ctx.run(
      name,
      extremeSource(elem, input, ctx.declare(ops)),
      u,
      ops,
      splitGroups(p.pBlocks * p.chunks),
    );
    if (pairs !== null) ctx.release(pairs); // safe: the queue runs the passes in order
    if (output !== "pairs") return out;
    pairs = out;
    input = "pairs";
    len = p.chunks;
  }
}

/**
 * Reduces the middle axis of `x` viewed as `[outer, n, inner]`, giving a new
 * `[outer, inner]` storage. Output storage: `dtype` for `sum`/`max`/`min`
 * (int32 for `sum` of bool), int32 for `argmax`/`argmin`. `sum` over
 * `n = 0` gives zeros. Matches the CPU backend's `reduce` exactly except
 * float32 `sum`, which accumulates in float32 (see the module notes for the
 * error bound).
 *
 * @param ctx The GPU context.
 * @param op The reduction.
 * @param x The input (`outer·n·inner` elements of `dtype`).
 * @param outer Size of the leading axes.
 * @param n Size of the reduced axis.
 * @param inner Size of the trailing axes.
 * @param dtype The input dtype (float32, int32 or bool).
 * @returns New storage of `outer·inner` elements.
 */
export function reduceKernel(
  ctx: GpuContext,
  op: ReduceOp,
  x: Store,
  outer: number,
  n: number,
  inner: number,
  dtype: DType,
): Store {
  const elem = wgslType(dtype, `reduce(${op})`);
  const outputs = outer * inner;
  if (outputs === 0) return ctx.allocStore(`${op}()`, 0);
  if (n === 0) return ctx.zeros(`${op}()`, outputs);
  return op === "sum"
    ? reduceSum(ctx, "sum()", x, outer, n, inner, elem)
    : reduceExtreme(ctx, op, x, outer, n, inner, elem);
}
