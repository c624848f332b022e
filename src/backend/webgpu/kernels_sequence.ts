/**
 * A sequence of small IR kernels as one dispatch (`Backend.fusedSequence`):
 * one workgroup runs the stages in order, a storage barrier between them,
 * each invocation taking every `WG`-th output element of a stage.
 *
 * On a software adapter such as llvmpipe every dispatch costs some
 * 0.15–0.2 ms, whatever its size (the driver wakes its threads for it), so
 * the ten or so small kernels after a network's last product (a softmax
 * cross-entropy and its gradient on `[batch, classes]`) cost more to launch
 * than to run. Here they are one launch.
 *
 * Every stage is computed as its own kernel computes it:
 *
 * - an elementwise stage is the IR kernel's expression at each index;
 * - a reduction is the serial plan of `kernels_reduce.ts` (one invocation
 *   per output): a sum in four interleaved accumulators, `max`/`min` by the
 *   order keys of `orderKeyFunction` (the first NaN wins, the first index on
 *   ties), then the epilogue;
 *
 * so on a context with `serialReductions` (software adapters) the results
 * are the eager kernels' bit for bit; on a hardware adapter, whose eager
 * reductions are trees, a sum is another order of the same additions
 * (within the bound the module notes of `kernels_reduce.ts` give).
 *
 * Results the program reads later get their own storage; the others share
 * one scratch buffer (32-bit words), so a sequence binds its inputs, its
 * outputs and one more buffer.
 *
 * @module
 */

import type { FusedSequenceSpec, SequenceRef, SequenceStage } from "../backend.ts";
import { sizeOf, stridesOf } from "../../core/shape.ts";
import type { ScalarType } from "../ir/expr.ts";
import { mergePreludes, renderWgsl } from "../ir/render_wgsl.ts";
import type { GpuContext, Operand, Store } from "./context.ts";
import { orderKeyFunction, storageOf, type WgslScalar } from "./kernels_util.ts";

/** Rendered sources by stage list (a program's, the same object call after call), then declarations. */
const sources = new WeakMap<readonly SequenceStage[], Map<string, string>>();

/** The IR type a stage's result has. */
function resultType(s: SequenceStage): ScalarType {
  if (s.kind === "elementwise") return s.kernel.output.type;
  const k = s.kernel;
  if (k.epilogue !== null) return k.epilogue.type;
  return k.combine === "argmax" || k.combine === "argmin" ? "i32" : k.prologue.type;
}

/** The number of elements a stage produces. */
function sizeOfStage(s: SequenceStage): number {
  return s.kind === "elementwise" ? sizeOf(s.outShape) : s.outer * s.inner;
}

/** `a + b` of WGSL terms, leaving out zeros. */
function sum(terms: string[]): string {
  const kept = terms.filter((t) => t !== "");
  return kept.length === 0 ? "0u" : kept.join(" + ");
}

/**
 * The WGSL position in an elementwise stage's operand of output index `j`
 * (over `shape`, the operand's `strides`).
 */
function position(shape: readonly number[], strides: readonly number[]): string {
  const dense = stridesOf(shape);
  if (shape.every((d, a) => d === 1 || strides[a] === dense[a])) return "j";
  const terms: string[] = [];
  shape.forEach((d, a) => {
    if (d === 1 || strides[a] === 0) return;
    const q = dense[a] === 1 ? "j" : `(j / ${dense[a]}u)`;
    const idx = a === 0 ? q : `(${q} % ${d}u)`;
    terms.push(strides[a] === 1 ? idx : `${idx} * ${strides[a]}u`);
  });
  return sum(terms);
}

/** `v * step` as WGSL (empty for a zero step). */
const times = (v: string, step: number): string =>
  step === 0 ? "" : step === 1 ? v : `${v} * ${step}u`;

/** Where each stage's result lives: its own storage (an output) or the scratch at a word offset. */
interface Place {
  readonly output: number;
  readonly offset: number;
}

/**
 * The WGSL of one sequence: `stages` over operands `x<k>` (the inputs, of
 * their first reader's types), results in `y<m>` (outputs) or `sc` (the scratch).
 */
function sequenceSource(
  spec: FusedSequenceSpec,
  places: readonly Place[],
  decls: string,
  wg: number,
): string {
  const preludes: string[] = [];
  const fns: string[] = [];
  const bodies: string[] = [];
  /** WGSL of the value of `ref` at word `at`, as IR type `t`. */
  const load = (ref: SequenceRef, at: string, t: ScalarType): string => {
    let v: string;
    if ("input" in ref) v = `ld_x${ref.input}(${at})`;
    else {
      const { output, offset } = places[ref.stage];
      v = output >= 0
        ? `ld_y${output}(${at})`
        : `bitcast<${storageOf(t)}>(ld_sc(${offset === 0 ? at : `${offset}u + ${at}`}))`;
    }
    return t === "bool" ? `(${v} != 0u)` : v;
  };
  /** WGSL storing `v` (IR type `t`) as stage `s`'s element `at`. */
  const store = (s: number, at: string, v: string, t: ScalarType): string => {
    const word = t === "bool" ? `select(0u, 1u, ${v})` : v;
    const { output, offset } = places[s];
    return output >= 0
      ? `st_y${output}(${at}, ${word});`
      : `st_sc(${offset === 0 ? at : `${offset}u + ${at}`}, bitcast<u32>(${word}));`;
  };
  spec.stages.forEach((st, s) => {
    const out = resultType(st);
    if (st.kind === "elementwise") {
      const f = renderWgsl(`s${s}_map`, st.kernel.output, {}, st.kernel.inputs);
      preludes.push(f.prelude);
      fns.push(f.fn);
      const args = st.operands.map((r, k) =>
        load(r, position(st.outShape, st.strides[k]), st.kernel.inputs[k])
      );
      bodies.push(`  for (var j = t; j < ${sizeOf(st.outShape)}u; j += ${wg}u) {
    ${store(s, "j", `s${s}_map(${args.join(", ")})`, out)}
  }`);
      return;
    }
    const k = st.kernel;
    const pro = renderWgsl(`s${s}_pro`, k.prologue, {}, k.inputs);
    preludes.push(pro.prelude);
    fns.push(pro.fn);
    const at = (idx: number, j: string): string => {
      const [s0, s1, s2] = st.strides[idx];
      return sum([times("o", s0), times(j, s1), times("i", s2)]);
    };
    const proAt = (j: string) =>
      `s${s}_pro(${st.operands.map((r, idx) => load(r, at(idx, j), k.inputs[idx])).join(", ")})`;
    let finish: (v: string) => string = (v) => store(s, "p", v, out);
    if (k.epilogue !== null) {
      const epi = renderWgsl(`s${s}_epi`, k.epilogue, {}, [k.prologue.type, ...k.inputs]);
      preludes.push(epi.prelude);
      fns.push(epi.fn);
      const rest = st.operands.map((r, idx) => load(r, at(idx, "0u"), k.inputs[idx]));
      finish = (v) => store(s, "p", `s${s}_epi(${[v, ...rest].join(", ")})`, out);
    }
    const head = `  for (var p = t; p < ${st.outer * st.inner}u; p += ${wg}u) {
    let o = p / ${st.inner}u;
    let i = p % ${st.inner}u;`;
    if (k.combine === "sum") {
      const acc = storageOf(k.prologue.type);
      bodies.push(`${head}
    var a0 = ${acc}(0);
    var a1 = ${acc}(0);
    var a2 = ${acc}(0);
    var a3 = ${acc}(0);
    var j = 0u;
    for (; j + 3u < ${st.n}u; j += 4u) {
      a0 += ${proAt("j")};
      a1 += ${proAt("(j + 1u)")};
      a2 += ${proAt("(j + 2u)")};
      a3 += ${proAt("(j + 3u)")};
    }
    for (; j < ${st.n}u; j += 1u) {
      a0 += ${proAt("j")};
    }
    ${finish("((a0 + a1) + (a2 + a3))")}
  }`);
      return;
    }
    if (k.combine !== "max" && k.combine !== "min") {
      throw new TypeError(`sequence(): a ${k.combine} stage is not supported`);
    }
    const flip = k.combine === "max" ? "0u" : "0xffffffffu";
    fns.push(
      orderKeyFunction(storageOf(k.prologue.type), flip, true).replace("fn key(", `fn key_s${s}(`),
    );
    bodies.push(`${head}
    var k = 0u;
    var ix = 0xffffffffu;
    for (var j = 0u; j < ${st.n}u; j += 1u) {
      let kj = key_s${s}(bitcast<u32>(${proAt("j")}));
      if (kj > k || (kj == k && j < ix)) { k = kj; ix = j; }
    }
    ${finish(proAt("ix"))}
  }`);
  });
  return `struct U { w0: u32, w1: u32, w2: u32, w3: u32 }
@group(0) @binding(0) var<uniform> u: U;
${decls}
${mergePreludes(preludes)}
${fns.join("\n")}
@compute @workgroup_size(${wg})
fn main(@builtin(local_invocation_index) t: u32) {
  _ = u.w0;
${bodies.join("\n  storageBarrier();\n")}
}
`;
}

/**
 * Runs `spec` as one dispatch of one workgroup (see the module
 * documentation); null when it would bind more buffers than the device
 * allows, or a stage is empty.
 *
 * @param ctx The GPU context.
 * @param spec The sequence.
 * @param inputs The inputs' storage.
 * @returns New storage for each of `spec.outputs`, or null.
 * @internal
 */
export function sequenceKernel(
  ctx: GpuContext,
  spec: FusedSequenceSpec,
  inputs: readonly Store[],
): Store[] | null {
  const { stages, outputs } = spec;
  if (stages.some((s) => sizeOfStage(s) === 0 || (s.kind === "reduce" && s.n === 0))) return null;
  // Each input's type as its first reader declares it (bool as u32 words).
  const inputTypes: (WgslScalar | undefined)[] = inputs.map(() => undefined);
  for (const st of stages) {
    st.operands.forEach((r, k) => {
      if ("input" in r) inputTypes[r.input] ??= storageOf(st.kernel.inputs[k]);
    });
  }
  let words = 0;
  const places: Place[] = stages.map((st, s) => {
    const output = outputs.indexOf(s);
    if (output >= 0) return { output, offset: 0 };
    const offset = words;
    words += sizeOfStage(st);
    return { output: -1, offset };
  });
  const bindings = inputs.length + outputs.length + (words > 0 ? 1 : 0);
  if (bindings > ctx.maxBindings || inputTypes.some((t) => t === undefined)) return null;
  const outs = outputs.map((s) => ctx.allocStore("sequence()", sizeOfStage(stages[s])));
  const scratch = words > 0 ? ctx.allocStore("sequence()", words) : null;
  const ops: Operand[] = [
    ...inputs.map((store, k) => ({ name: `x${k}`, type: inputTypes[k]!, store })),
    ...outs.map((store, m) => ({
      name: `y${m}`,
      type: storageOf(resultType(stages[outputs[m]])),
      store,
      write: true,
    })),
  ];
  if (scratch !== null) ops.push({ name: "sc", type: "u32", store: scratch, write: true });
  // Software adapters run a workgroup's invocations as coroutines switched at each barrier.
  const wg = ctx.serialReductions ? 64 : 256;
  const decls = ctx.declare(ops);
  // A program runs the same stages call after call: render them once per declarations.
  let byDecls = sources.get(stages);
  if (byDecls === undefined) sources.set(stages, byDecls = new Map());
  const key = `${wg} ${outputs.join(",")}\n${decls}`;
  let wgsl = byDecls.get(key);
  if (wgsl === undefined) byDecls.set(key, wgsl = sequenceSource(spec, places, decls, wg));
  ctx.run("sequence()", wgsl, new Uint32Array(4), ops, [1]);
  if (scratch !== null) ctx.release(scratch); // safe: the queue runs the dispatches in order
  return outs;
}
