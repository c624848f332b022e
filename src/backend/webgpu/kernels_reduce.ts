/**
 * WebGPU reductions over the middle axis of an `[outer, n, inner]` view,
 * generated from reduction kernels of the IR (`../ir/kernel.ts`): the value
 * reduced is the kernel's prologue (an expression graph over operands, each
 * read at `o·s₀ + j·s₁ + i·s₂` with its own strides from the uniform block)
 * and the output its epilogue of the reduced value (e.g. the fused
 * log-sum-exp, {@linkcode logsumexpKernel}: `log Σ exp(x − m) + m` in one
 * dispatch after the maximum). Plain reductions have the element itself as
 * prologue and no epilogue.
 *
 * Layout: the `outer·inner` outputs are flattened to `p = o·inner + i`. A
 * workgroup is 256 invocations split as `li × ln` (powers of two): `li`
 * consecutive outputs (coalesced reads when `inner > 1`), each reduced by
 * `ln` lanes that stride over the axis (`j = lane, lane + ln, …`) and then
 * combine in a shared-memory tree. The split travels in the uniform block,
 * and so do the direction (max/min) and the output kind (index, element or
 * partial), so few pipelines serve every reduction of every shape: per
 * kernel graph one first pass, one last pass of partial sums, and one
 * dtype-independent pass over partial extremes. Few shader compilations
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
import { operandTypes } from "../ir/expr.ts";
import { KernelCache, type ReduceKernel } from "../ir/kernel.ts";
import { logsumexpKernel as lseSpec, reduceOpKernel } from "../ir/ops.ts";
import { mergePreludes, renderWgsl, type WgslFunction } from "../ir/render_wgsl.ts";
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

/** Axes longer than this are chunked by the serial plan. */
const SERIAL_WHOLE = 4096;
/** Invocations per workgroup of the serial plan (one per output, no shared memory). */
const SERIAL_WG = 64;
/** llvmpipe ends an invocation's loops once it has made this many iterations in all (see `unrolledLoop`). */
const LOOP_LIMIT = 65535;

/**
 * Chooses the workgroup split and the chunking of one pass. `serial`
 * (`GpuContext.serialReductions`, software adapters, which run every
 * workgroup barrier as a switch between all invocations' coroutines, and
 * pay about 0.1–0.2 ms for every dispatch): workgroups of 64 invocations,
 * one per output, with no shared memory and no barrier (see
 * {@linkcode serialSum}); an axis of up to 4096 elements is reduced whole
 * in one pass (a sum in four interleaved accumulators, so its chain is
 * `⌈n/4⌉ + 2` additions), a longer one split into chunks of
 * `max(⌈√n⌉, ⌈n/256⌉)` elements (at most 65535: llvmpipe silently ends
 * longer shader loops), so a sum's chain stays within the bound above
 * and a long axis still spreads over workgroups.
 */
function plan(outputs: number, n: number, inner: number, serial: boolean): Plan {
  if (serial) {
    const chunkLen = n > SERIAL_WHOLE
      ? Math.min(LOOP_LIMIT, Math.max(Math.ceil(Math.sqrt(n)), Math.ceil(n / 256)))
      : Math.max(n, 1);
    const pBlocks = Math.ceil(outputs / SERIAL_WG);
    return {
      li: SERIAL_WG,
      ln: 1,
      pBlocks,
      chunks: Math.max(1, Math.ceil(n / chunkLen)),
      chunkLen,
    };
  }
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

/** The uniform block of a reduction with `k` operand stride vectors. */
function uniformBlock(k: number): string {
  return `struct U {
  P: u32, n: u32, inner: u32, chunkLen: u32,
  chunks: u32, pBlocks: u32, nOrig: u32, liShift: u32,
  ln: u32, flip: u32, mode: u32, p11: u32,${k > 0 ? `\n  st: array<vec4<u32>, ${k}>,` : ""}
}
@group(0) @binding(0) var<uniform> u: U;`;
}

/** Word index of `flip` in the uniform block. */
const FLIP = 9;
/** Word index of `mode` in the uniform block. */
const MODE_WORD = 10;
/** Word index of the first operand's strides. */
const STRIDES = 12;

/** An operand of a reduction: its storage and strides over `(outer, axis, inner)`. @internal */
export interface ReduceOperand {
  /** The storage (bool as u32 words). */
  readonly store: Store;
  /** Steps in elements along the outer, reduced and inner axes. */
  readonly strides: readonly [number, number, number];
}

/** The uniform words of one pass (`flip` and `mode` zero), then the operands' strides. */
function uniforms(
  outputs: number,
  n: number,
  inner: number,
  p: Plan,
  nOrig: number,
  operands: readonly ReduceOperand[],
): Uint32Array {
  const u = new Uint32Array(STRIDES + 4 * operands.length);
  u.set([outputs, n, inner, p.chunkLen, p.chunks, p.pBlocks, nOrig, Math.log2(p.li), p.ln]);
  operands.forEach((o, k) => u.set(o.strides, STRIDES + 4 * k));
  return u;
}

/**
 * The prologue every pass shares: invocation `t` is lane `ly` of output
 * slot `lx` (`t = ly·li + lx`); group → (chunk `c`, outputs); then `live`,
 * `o`, `i`, `j0`, `j1`, `base`. Serial passes have workgroups of
 * {@linkcode SERIAL_WG} (`li` = 64, `ly` = 0).
 */
const prologue = (serial: boolean): string =>
  `@compute @workgroup_size(${serial ? SERIAL_WG : WG})
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

/** The storage type of an IR value type (bool as u32). */
function storage(t: string): WgslScalar {
  return t === "f32" ? "f32" : t === "i32" ? "i32" : "u32";
}

/** Rendered prologue and epilogue functions by kernel key. */
const rendered = new KernelCache<{ pro: WgslFunction; epi: WgslFunction | null }>();

/** A kernel's WGSL functions `ir_pro(x0, …)` and `ir_epi(acc, x0, …)`. */
function functions(k: ReduceKernel): { pro: WgslFunction; epi: WgslFunction | null } {
  return rendered.get(k, () => ({
    pro: renderWgsl("ir_pro", k.prologue, {}, k.inputs),
    epi: k.epilogue === null
      ? null
      : renderWgsl("ir_epi", k.epilogue, {}, [accType(k), ...k.inputs]),
  }));
}

/** The helpers both functions need, each once (the epilogue's only when it is emitted). */
function preludes(
  f: { pro: WgslFunction; epi: WgslFunction | null },
  withEpilogue: boolean,
): string {
  return f.epi !== null && withEpilogue
    ? mergePreludes([f.pro.prelude, f.epi.prelude])
    : f.pro.prelude;
}

/** The type the reduction produces before the epilogue. */
function accType(k: ReduceKernel): "f32" | "i32" | "u32" | "bool" | "f64" {
  return k.combine === "argmax" || k.combine === "argmin" ? "i32" : k.prologue.type;
}

/**
 * Which operands the prologue (`"prologue"`) or the epilogue reads: only
 * those are bound (`layout: "auto"` drops unused bindings).
 */
function used(k: ReduceKernel, part: "prologue" | "epilogue"): boolean[] {
  if (part === "prologue") {
    return k.inputs.map((_, idx) => operandTypes([k.prologue])[idx] !== undefined);
  }
  const types = k.epilogue === null ? [] : operandTypes([k.epilogue]);
  return k.inputs.map((_, idx) => types[idx + 1] !== undefined);
}

/** Element-wise or of two masks. */
const either = (a: readonly boolean[], b: readonly boolean[]) => a.map((x, i) => x || b[i]);

/** WGSL reading operand `k` at `(o, j, i)`, as the kernel's type (bool from its word). */
function loadAt(k: ReduceKernel, idx: number, j: string): string {
  const v = `ld_x${idx}(o * u.st[${idx}].x + ${j} * u.st[${idx}].y + i * u.st[${idx}].z)`;
  return k.inputs[idx] === "bool" ? `(${v} != 0u)` : v;
}

/** Arguments for `ir_pro` at axis position `j` (unbound operands get a zero). */
function proArgs(k: ReduceKernel, bound: readonly boolean[], j: string): string {
  return k.inputs.map((t, idx) => bound[idx] ? loadAt(k, idx, j) : zero(t)).join(", ");
}

/** A zero of an IR type in WGSL. */
function zero(t: string): string {
  return t === "f32" ? "0.0" : t === "i32" ? "0i" : t === "bool" ? "false" : "0u";
}

/** WGSL storing the final value `v` (of the accumulator's type) at output `p` through the epilogue. */
function finish(k: ReduceKernel, bound: readonly boolean[], v: string): string {
  if (k.epilogue === null) {
    const t = accType(k);
    return `st_out(p, ${t === "bool" ? `select(0u, 1u, ${v})` : v});`;
  }
  const args = [v, ...k.inputs.map((t, idx) => bound[idx] ? loadAt(k, idx, "0u") : zero(t))];
  const call = `ir_epi(${args.join(", ")})`;
  return `st_out(p, ${k.epilogue.type === "bool" ? `select(0u, 1u, ${call})` : call});`;
}

/** The declarations of the operands a pass binds, plus extras. */
function bindings(
  k: ReduceKernel,
  operands: readonly ReduceOperand[],
  bound: readonly boolean[],
): Operand[] {
  const ops: Operand[] = [];
  operands.forEach((o, idx) => {
    if (bound[idx]) ops.push({ name: `x${idx}`, type: storage(k.inputs[idx]), store: o.store });
  });
  return ops;
}

/**
 * WGSL of a sum pass: the first pass reduces `ir_pro` of the operands, a
 * later one (`partials`) the partial sums in `pin`; the last pass applies
 * the epilogue.
 */
function sumSource(
  k: ReduceKernel,
  partials: boolean,
  last: boolean,
  bound: readonly boolean[],
  decls: string,
  serial: boolean,
): string {
  const acc = storage(k.prologue.type);
  const f = functions(k);
  const elem = (j: string) =>
    partials ? `ld_pin(base + ${j} * u.inner)` : `ir_pro(${proArgs(k, bound, j)})`;
  const total = serial ? "acc" : "s[t]";
  const out = last
    ? finish(k, bound, total)
    : `st_out((o * u.chunks + c) * u.inner + i, ${total});`;
  const body = serial ? serialSum(acc, elem) : `  var acc = ${acc}(0);
  if (live) {
    for (var j = j0 + ly; j < j1; j += u.ln) {
      acc += ${elem("j")};
    }
  }
  s[t] = acc;
${tree("s[t] = s[t] + s[t2];")}`;
  return `${uniformBlock(k.inputs.length)}
${decls}
${preludes(f, last)}
${partials ? "" : f.pro.fn}
${last && f.epi !== null ? f.epi.fn : ""}
${serial ? "" : `var<workgroup> s: array<${acc}, ${WG}>;`}
${prologue(serial)}
${body}
  if (ly == 0u && live) {
    ${out}
  }
}
`;
}

/**
 * A serial pass's sum of its chunk `j0 … j1 - 1` into `acc`: four
 * accumulators take every fourth element (`a0` the first, …), then
 * `acc = (a0 + a1) + (a2 + a3)` — a chain of `⌈len/4⌉ + 2` additions, the
 * same for every dispatch of the same shape.
 */
function serialSum(acc: string, elem: (j: string) => string): string {
  return `  var a0 = ${acc}(0);
  var a1 = ${acc}(0);
  var a2 = ${acc}(0);
  var a3 = ${acc}(0);
  if (live) {
    var j = j0;
    for (; j + 3u < j1; j += 4u) {
      a0 += ${elem("j")};
      a1 += ${elem("(j + 1u)")};
      a2 += ${elem("(j + 2u)")};
      a3 += ${elem("(j + 3u)")};
    }
    for (; j < j1; j += 1u) {
      a0 += ${elem("j")};
    }
  }
  let acc = (a0 + a1) + (a2 + a3);`;
}

/** Where an extreme pass reads from: the elements, or `(key, index)` pairs of a previous pass. */
type ExtremeIn = "raw" | "pairs";
/** What an extreme pass writes (the `mode` uniform): pairs for the next pass, the index, or the element. */
const MODE = { pairs: 0, index: 1, value: 2 } as const;
type ExtremeOut = keyof typeof MODE;

/**
 * WGSL of a max/min/argmax/argmin pass. Compile-time: the kernel and the
 * input kind; everything else is uniform — `flip` (`0` for max, `~0` for
 * min: the key is XORed with it, NaN excepted) and `mode` (write pairs, the
 * winning index, or the winning value). The value reduced is `ir_pro` of
 * the operands, compared by its order key.
 */
function extremeSource(
  k: ReduceKernel,
  input: ExtremeIn,
  bound: readonly boolean[],
  outType: WgslScalar,
  decls: string,
  serial: boolean,
): string {
  // the winner's key and index: the shared slots after the tree, or the invocation's own
  const K = serial ? "k" : "sk[t]", I = serial ? "ix" : "si[t]";
  const f = functions(k);
  const elemType = storage(k.prologue.type);
  const value = (j: string) => `bitcast<u32>(ir_pro(${proArgs(k, bound, j)}))`;
  const load = input === "raw"
    ? `let kj = key(${value("j")});
      let jj = j;`
    : `let q = (base + j * u.inner) * 2u;
      let kj = ld_pin(q);
      let jj = ld_pin(q + 1u);`;
  // the out variable's type is fixed per pass: store what this pass's mode writes; every
  // mode is compiled (it is a uniform), so the modes a pass never runs store words that
  // type-check (with an epilogue, `out` has the epilogue's type)
  const word = (v: string) => (outType === "u32" ? v : `bitcast<${outType}>(${v})`);
  const arg = k.combine === "argmax" || k.combine === "argmin";
  /** The epilogue of `acc` where `out` has its type (the last pass), else the word `alt`. */
  const epilogue = (acc: string, alt: string) =>
    k.epilogue !== null && storage(k.epilogue.type) === outType
      ? finish(k, bound, acc)
      : `st_out(p, ${word(alt)});`;
  const index = k.epilogue === null || !arg ? `st_out(p, ${word(I)});` : epilogue(`i32(${I})`, I);
  const winner = k.epilogue === null
    ? `st_out(p, bitcast<${outType}>(${value(I)}));`
    : epilogue(arg ? `i32(${I})` : `ir_pro(${proArgs(k, bound, I)})`, K);
  return `${uniformBlock(k.inputs.length)}
${decls}
${preludes(f, true)}
${f.pro.fn}
${f.epi !== null ? f.epi.fn : ""}
${input === "pairs" ? "" : orderKeyFunction(elemType, "u.flip", !arg)}
${
    serial ? "" : `var<workgroup> sk: array<u32, ${WG}>;
var<workgroup> si: array<u32, ${WG}>;`
  }
${prologue(serial)}
  var k = 0u;
  var ix = 0xffffffffu;
  if (live) {
    for (var j = j0 + ly; j < j1; j += u.ln) {
      ${load}
      if (kj > k || (kj == k && jj < ix)) { k = kj; ix = jj; }
    }
  }
${
    serial ? "" : `  sk[t] = k;
  si[t] = ix;
` + tree(
        `let k2 = sk[t2];
      let i2 = si[t2];
      let k1 = sk[t];
      if (k2 > k1 || (k2 == k1 && i2 < si[t])) { sk[t] = k2; si[t] = i2; }`,
      )
  }
  if (ly == 0u && live) {
    if (u.mode == ${MODE.pairs}u) {
      let q = ((o * u.chunks + c) * u.inner + i) * 2u;
      st_out(q, ${word(K)});
      st_out(q + 1u, ${word(I)});
    } else if (u.mode == ${MODE.index}u) {
      ${index}
    } else {
      ${winner}
    }
  }
}
`;
}

/** The output's storage type of a kernel. */
function outStorage(k: ReduceKernel, raw: boolean): WgslScalar {
  if (k.epilogue !== null) return storage(k.epilogue.type);
  return raw ? "u32" : storage(accType(k));
}

/** Sum over the axis, in as many passes as `plan` asks for. */
function reduceSum(
  ctx: GpuContext,
  op: string,
  k: ReduceKernel,
  operands: readonly ReduceOperand[],
  partials: Store | null,
  outer: number,
  n: number,
  inner: number,
): Store {
  const acc = storage(k.prologue.type);
  const outputs = outer * inner;
  const p = plan(outputs, n, inner, ctx.serialReductions);
  const last = p.chunks === 1;
  const none = k.inputs.map(() => false);
  const bound = either(
    partials === null ? used(k, "prologue") : none,
    last ? used(k, "epilogue") : none,
  );
  const out = ctx.allocStore(op, outer * p.chunks * inner);
  const ops = bindings(k, operands, bound);
  if (partials !== null) ops.push({ name: "pin", type: acc, store: partials });
  ops.push({ name: "out", type: last ? outStorage(k, false) : acc, store: out, write: true });
  ctx.run(
    op,
    sumSource(k, partials !== null, last, bound, ctx.declare(ops), ctx.serialReductions),
    uniforms(outputs, n, inner, p, n, operands),
    ops,
    splitGroups(p.pBlocks * p.chunks),
  );
  if (partials !== null) ctx.release(partials); // safe: the queue runs the passes in order
  if (last) return out;
  return reduceSum(ctx, op, k, operands, out, outer, p.chunks, inner);
}

/** max/min/argmax/argmin over the axis, in as many passes as `plan` asks for. */
function reduceExtreme(
  ctx: GpuContext,
  op: string,
  k: ReduceKernel,
  operands: readonly ReduceOperand[],
  outer: number,
  n: number,
  inner: number,
): Store {
  const isMax = k.combine === "max" || k.combine === "argmax";
  const arg = k.combine === "argmax" || k.combine === "argmin";
  const final: ExtremeOut = arg ? "index" : "value";
  const none = k.inputs.map(() => false);
  const outputs = outer * inner;
  let input: ExtremeIn = "raw";
  let pairs: Store | null = null;
  let len = n;
  for (;;) {
    const p = plan(outputs, len, inner, ctx.serialReductions);
    const output: ExtremeOut = p.chunks === 1 ? final : "pairs";
    const words = outer * p.chunks * inner * (output === "pairs" ? 2 : 1);
    const out = ctx.allocStore(op, words);
    const u = uniforms(outputs, len, inner, p, n, operands);
    u[FLIP] = isMax ? 0 : 0xffffffff;
    u[MODE_WORD] = MODE[output];
    const outType = output === "pairs" || (k.epilogue === null && output === "index")
      ? "u32"
      : outStorage(k, true);
    // the operands this pass reads (only those may be bound): the prologue's for the
    // elements or the winner's value, the epilogue's where it runs (see `extremeSource`)
    const finishes = k.epilogue !== null && storage(k.epilogue.type) === outType;
    const pro = input === "raw" || k.epilogue === null || (finishes && !arg);
    const bound = either(pro ? used(k, "prologue") : none, finishes ? used(k, "epilogue") : none);
    const ops = bindings(k, operands, bound);
    if (pairs !== null) ops.push({ name: "pin", type: "u32", store: pairs });
    ops.push({ name: "out", type: outType, store: out, write: true });
    ctx.run(
      op,
      extremeSource(k, input, bound, outType, ctx.declare(ops), ctx.serialReductions),
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
 * Runs a reduction kernel of the IR over the middle axis of an
 * `[outer, n, inner]` view, giving new `[outer, inner]` storage of the
 * output's type (the epilogue's, else the reduced value's; int32 indices
 * for `argmax`/`argmin`; bool as u32). `n ≥ 1` except for `sum`, where
 * `n = 0` gives zeros (the epilogue is not applied then).
 *
 * @param ctx The GPU context.
 * @param op The op's name, for messages.
 * @param kernel The reduction kernel.
 * @param operands The operands (storage and strides), in the kernel's order.
 * @param outer Size of the leading axes.
 * @param n Size of the reduced axis.
 * @param inner Size of the trailing axes.
 * @returns New storage of `outer·inner` elements.
 * @internal
 */
export function irReduce(
  ctx: GpuContext,
  op: string,
  kernel: ReduceKernel,
  operands: readonly ReduceOperand[],
  outer: number,
  n: number,
  inner: number,
): Store {
  if (operands.length !== kernel.inputs.length) {
    throw new TypeError(
      `${op}: the kernel takes ${kernel.inputs.length} operands, got ${operands.length}`,
    );
  }
  const outputs = outer * inner;
  if (outputs === 0) return ctx.allocStore(op, 0);
  if (n === 0) return ctx.zeros(op, outputs);
  return kernel.combine === "sum"
    ? reduceSum(ctx, op, kernel, operands, null, outer, n, inner)
    : reduceExtreme(ctx, op, kernel, operands, outer, n, inner);
}

/** The strides of a dense `[outer, n, inner]` operand. */
const dense = (n: number, inner: number): [number, number, number] => [n * inner, inner, 1];

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
  wgslType(dtype, `reduce(${op})`);
  const operands = [{ store: x, strides: dense(n, inner) }];
  return irReduce(ctx, `${op}()`, reduceOpKernel(op, dtype), operands, outer, n, inner);
}

/**
 * The fused `log Σ exp` over the middle axis of float32 `x` viewed as
 * `[outer, n, inner]` (`n ≥ 1`): the maximum `m` (one reduction), then one
 * reduction of `exp(x − m)` whose epilogue gives `log(Σ) + m` (a
 * non-finite `m` replaced by 0, as `Backend.logsumexp` documents).
 *
 * @param ctx The GPU context.
 * @param x The input.
 * @param outer Size of the leading axes.
 * @param n Size of the reduced axis.
 * @param inner Size of the trailing axes.
 * @param dtype The dtype (float32).
 * @returns New storage of `outer·inner` elements.
 */
export function logsumexpKernel(
  ctx: GpuContext,
  x: Store,
  outer: number,
  n: number,
  inner: number,
  dtype: DType,
): Store {
  wgslType(dtype, "logsumexp()");
  const m = reduceKernel(ctx, "max", x, outer, n, inner, dtype);
  // m broadcast along the axis: strides (inner, 0, 1)
  const operands: ReduceOperand[] = [
    { store: x, strides: dense(n, inner) },
    { store: m, strides: [inner, 0, 1] },
  ];
  const out = irReduce(ctx, "logsumexp()", lseSpec(dtype), operands, outer, n, inner);
  ctx.release(m); // safe: the queue runs the passes in order
  return out;
}
