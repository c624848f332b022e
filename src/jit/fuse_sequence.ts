/**
 * Sequences: where a launch costs more than small kernels' work (a backend
 * with `fusedSequence`: `webgpu`, whose software adapters pay some 0.15 ms
 * per dispatch), consecutive small kernels of a fused program run as one
 * launch. After the last product of a network, a softmax cross-entropy and
 * its gradient on `[batch, classes]` are ten kernels of a thousand
 * elements; here they are one dispatch.
 *
 * The pass runs last (after `fuseElementwise` and `fuseMatmulEpilogues`)
 * and walks the program in order. A *stage* is an equation that is one
 * small IR kernel: a fused elementwise or reduction equation, a plain
 * elementwise op, a plain `sum`/`max`/`min` over one contiguous run of
 * axes, or a float32 `logsumexp` (two stages: the maximum, then the fused
 * sum, as its own kernel computes it) — each within `SEQUENCE_LIMITS`.
 * `reshape` and `stopGradient` in between are views: they join without a
 * stage. A run of consecutive stages grows while what it binds (the values
 * it reads from before it, the values read after it, and one scratch buffer
 * for the rest) stays within `Backend.sequenceBindings`; a run of two or
 * more stages becomes one multi-output node (`sequence[ops=[…]]`, printed
 * on one line) whose outputs are the values read after it. A later stage
 * whose inputs all exist by then (values from before the run, or made in
 * it) joins the run too, moved up (the program is pure): the output bias's
 * update after the softmax cross-entropy's gradient. A view of a value from
 * before the run that is also read after it stays an equation of its own,
 * just before the node; a view of a run's value read after it, just after.
 *
 * Each stage computes what its equation's kernel computes (see
 * `kernels_sequence.ts` for the rounding); where the backend declines a
 * sequence, its equations run one by one.
 *
 * @module
 */

import type { Backend, DataHandle, SequenceRef, SequenceStage } from "../backend/backend.ts";
import { broadcastStrides, sizeOf } from "../core/shape.ts";
import { load } from "../backend/ir/expr.ts";
import {
  type ElementwiseKernel,
  elementwiseKernel,
  type ReduceKernel,
} from "../backend/ir/kernel.ts";
import { logsumexpKernel, reduceOpKernel, scalarType } from "../backend/ir/ops.ts";
import { makeTensor, type Tensor } from "../core/tensor.ts";
import {
  exprOf,
  fusedInfo,
  type FusedOp,
  fusibleOp,
  type ReduceView,
  reductionOf,
} from "./fuse.ts";
import { evaluateEquations } from "./interpret.ts";
import {
  type Equation,
  MultiCall,
  type MultiPrimitive,
  OutputOf,
  Program,
  type Var,
} from "./program.ts";

/**
 * How small a kernel must be to join a sequence: at most `elements` output
 * elements, and for a reduction an axis of at most `axis` elements (the
 * eager kernels' one-pass plan on software adapters) and at most `work`
 * elements read in all. One workgroup runs the whole sequence.
 * @internal
 */
export const SEQUENCE_LIMITS = {
  elements: 16_384,
  axis: 4096,
  work: 65_536,
  steps: 60_000,
} as const;

/**
 * The loop iterations one invocation makes for a stage, at the smallest
 * workgroup a sequence runs with (64, on software adapters): a sequence
 * stays within `SEQUENCE_LIMITS.steps` in all, as Mesa's llvmpipe
 * silently ends an invocation's loops after 65 535 iterations.
 */
function steps(outputs: number, n = 1): number {
  return Math.ceil(outputs / 64) * n;
}

/** A stage as the pass builds it: refs to variables, resolved to inputs and stages later. */
interface Planned {
  readonly stage: (refs: readonly SequenceRef[]) => SequenceStage;
  /** The variables its operands are, in order. */
  readonly reads: readonly Var[];
  /** The variable it defines (null: an inner stage of a `logsumexp`, read by the next one). */
  readonly defines: Var | null;
}

/** What the pass knows of an equation: its stages, a view of its input, or neither. */
type Kind = { readonly stages: readonly Planned[]; readonly steps: number } | "view" | null;

/** The stage of a reduction over `[outer, n, inner]` within the limits, else null. */
function fits(outer: number, n: number, inner: number): boolean {
  const L = SEQUENCE_LIMITS;
  return n >= 1 && n <= L.axis && outer * inner >= 1 && outer * inner <= L.elements &&
    outer * n * inner <= L.work;
}

/** The one elementwise stage of `eq`, `kernel` over its output with `strides` per input. */
function elementwise(
  eq: Equation,
  kernel: ElementwiseKernel,
  strides: readonly (readonly number[])[],
  reads: readonly Var[] = eq.inputs,
): Kind {
  const { shape: outShape, dtype } = eq.out.aval;
  if (sizeOf(outShape) > SEQUENCE_LIMITS.elements) return null;
  return {
    steps: steps(sizeOf(outShape)),
    stages: [{
      stage: (operands) => ({ kind: "elementwise", kernel, operands, strides, outShape, dtype }),
      reads,
      defines: eq.out,
    }],
  };
}

/** The one reduction stage of `eq`, `kernel` over `view` with `strides` per input. */
function reduction(
  eq: Equation,
  kernel: ReduceKernel,
  strides: readonly (readonly [number, number, number])[],
  view: ReduceView,
): Kind {
  const { outer, n, inner } = view, dtype = eq.out.aval.dtype;
  if (!fits(outer, n, inner)) return null;
  return {
    steps: steps(outer * inner, n),
    stages: [{
      stage: (operands) => ({ kind: "reduce", kernel, operands, strides, outer, n, inner, dtype }),
      reads: eq.inputs,
      defines: eq.out,
    }],
  };
}

/** What `eq` is to the pass on `backend`. */
function kindOf(eq: Equation, backend: Backend): Kind {
  const name = eq.prim.name;
  if ((name === "reshape" || name === "stopGradient") && eq.inputs.length === 1) return "view";
  const { shape, dtype } = eq.out.aval;
  if (dtype === "float64" || sizeOf(shape) === 0) return null;
  const info = fusedInfo(eq);
  if (info !== undefined) {
    if (info.kernel.kind === "elementwise") return elementwise(eq, info.kernel, info.strides);
    const strides = info.strides as readonly (readonly [number, number, number])[];
    return info.view === null ? null : reduction(eq, info.kernel, strides, info.view);
  }
  const op = fusibleOp(eq);
  if (op !== null) {
    if (!backend.fusible?.(op)) return null;
    // One load per variable: `sub(x, x)` must see one value (see BINARY_EXPR).
    const reads = [...new Set(eq.inputs)];
    let kernel;
    try {
      const args = eq.inputs.map((v) => load(reads.indexOf(v), scalarType(v.aval.dtype)));
      kernel = elementwiseKernel(exprOf(op as FusedOp, args));
    } catch {
      return null; // an op the IR does not cover for this dtype
    }
    if (kernel.output.type !== scalarType(dtype)) return null;
    const strides = reads.map((v) => broadcastStrides(v.aval.shape, shape));
    return elementwise(eq, kernel, strides, reads);
  }
  const r = backend.fusedReduce !== undefined ? reductionOf(eq, backend) : null;
  if (r !== null) {
    const { n, inner } = r.view;
    return reduction(
      eq,
      reduceOpKernel(r.op, eq.inputs[0].aval.dtype),
      [[n * inner, inner, 1]],
      r.view,
    );
  }
  if (name === "logsumexp" && eq.inputs.length === 1 && dtype === "float32") {
    const axes = (eq.params as { axes?: readonly number[] } | null)?.axes;
    const inShape = eq.inputs[0].aval.shape;
    if (axes === undefined || axes.length === 0) return null;
    if (!axes.every((a, i) => i === 0 || a === axes[i - 1] + 1)) return null;
    const lo = axes[0], hi = axes[axes.length - 1];
    const outer = sizeOf(inShape.slice(0, lo)), n = sizeOf(inShape.slice(lo, hi + 1));
    const inner = sizeOf(inShape.slice(hi + 1));
    if (!fits(outer, n, inner)) return null;
    const dense: [number, number, number] = [n * inner, inner, 1];
    const view = { outer, n, inner, dtype };
    return {
      steps: 2 * steps(outer * inner, n),
      stages: [
        {
          stage: (operands) => ({
            kind: "reduce",
            kernel: reduceOpKernel("max", "float32"),
            operands,
            strides: [dense],
            ...view,
          }),
          reads: eq.inputs,
          defines: null,
        },
        {
          // operand 1: the maximum, from the stage before (see `sequenceNode`)
          stage: (operands) => ({
            kind: "reduce",
            kernel: logsumexpKernel("float32"),
            operands,
            strides: [dense, [inner, 0, 1]],
            ...view,
          }),
          reads: eq.inputs,
          defines: eq.out,
        },
      ],
    };
  }
  return null;
}

/** The params of a sequence node. */
interface SequenceParams {
  /** The stages, with operands resolved. */
  readonly stages: readonly SequenceStage[];
  /** The stages whose results are the node's outputs, in output order. */
  readonly outputs: readonly number[];
  /** The equations it replaces, in order (run one by one where the backend declines). */
  readonly body: readonly Equation[];
  /** The node's inputs (values from before it, views resolved to what they view). */
  readonly inputs: readonly Var[];
  /** The node's outputs (the stages' values read after it). */
  readonly outs: readonly Var[];
  /** Views from before the node that `body` reads, with the input each views. */
  readonly views: readonly (readonly [Var, number])[];
}

/** The multi-output primitive of a sequence node. */
const SEQUENCE: MultiPrimitive<SequenceParams> = {
  name: "sequence",
  run(inputs: readonly Tensor[], p: SequenceParams): Tensor[] {
    const backend = inputs[0]?._backend;
    if (
      backend?.fusedSequence !== undefined &&
      inputs.every((t) => !t._disposed && t._backend === backend)
    ) {
      const data: DataHandle[] | null = backend.fusedSequence({
        inputs: inputs.map((t) => t._data),
        stages: p.stages,
        outputs: p.outputs,
      });
      if (data !== null) {
        return data.map((d, k) =>
          makeTensor(backend, d, p.outs[k].aval.shape, p.outs[k].aval.dtype)
        );
      }
    }
    const env = new Map<Var, Tensor>();
    p.inputs.forEach((v, k) => env.set(v, inputs[k]));
    for (const [v, k] of p.views) env.set(v, inputs[k].reshape(v.aval.shape));
    const outs = evaluateEquations(p.body, env, p.outs);
    for (const [v] of p.views) env.get(v)!.dispose();
    return outs;
  },
  bind(): Tensor[] {
    throw new Error("sequence: a program as jit runs it is not traced again (internal error)");
  },
  describe(p: SequenceParams) {
    const ops = p.body.flatMap((e) => {
      const inner = (e.params as { ops?: readonly string[] } | null)?.ops;
      return e.prim.name === "fused" && inner !== undefined ? inner : [e.prim.name];
    });
    return { plain: { ops }, programs: [] };
  },
};

/**
 * Groups consecutive small kernels of `program` into sequence nodes for
 * `backend` (see the module documentation); the program itself where the
 * backend has no `fusedSequence` or nothing groups.
 * @internal
 */
export function fuseSequences(program: Program, backend: Backend): Program {
  if (backend.fusedSequence === undefined) return program;
  const eqs = program.equations;
  const kinds = eqs.map((e) => kindOf(e, backend));
  const readers = new Map<Var, number[]>();
  eqs.forEach((e, i) => {
    for (const v of e.inputs) {
      const list = readers.get(v);
      if (list === undefined) readers.set(v, [i]);
      else if (list[list.length - 1] !== i) list.push(i);
    }
  });
  const defining = new Map<Var, number>();
  eqs.forEach((e, i) => defining.set(e.out, i));
  /** Every view of the program (a stage reads a view's source at the view's shape). */
  const views = new Map<Var, Var>();
  eqs.forEach((e, i) => kinds[i] === "view" && views.set(e.out, e.inputs[0]));
  const ctx: Context = {
    eqs,
    kinds,
    views,
    readers,
    defining,
    outputs: new Set(program.outputs),
    limit: backend.sequenceBindings ?? 8,
    taken: new Set(),
  };
  const result: Equation[] = [];
  let changed = false;
  for (let i = 0; i < eqs.length; i++) {
    if (ctx.taken.has(i)) continue; // joined an earlier sequence
    if (kinds[i] === null || kinds[i] === "view") {
      result.push(eqs[i]);
      continue;
    }
    const run = grow(ctx, i);
    const node = run.stages >= 2 ? sequenceNode(ctx, run) : null;
    if (node === null) {
      result.push(eqs[i]);
      continue;
    }
    result.push(...node);
    changed = true;
    for (const m of run.members) ctx.taken.add(m);
  }
  return changed
    ? new Program(program.constVars, program.consts, program.inputs, result, program.outputs)
    : program;
}

/** What the pass knows of the program while it groups. */
interface Context {
  readonly eqs: readonly Equation[];
  readonly kinds: readonly Kind[];
  readonly views: ReadonlyMap<Var, Var>;
  /** Per variable, the equations reading it, in order. */
  readonly readers: ReadonlyMap<Var, readonly number[]>;
  /** Per variable, the equation defining it (absent: an input or a constant). */
  readonly defining: ReadonlyMap<Var, number>;
  /** The program's outputs. */
  readonly outputs: ReadonlySet<Var>;
  /** The most buffers a sequence binds. */
  readonly limit: number;
  /** Equations already in a sequence. */
  readonly taken: Set<number>;
}

/**
 * A run: its equations (indices in program order: a stretch of the program,
 * then later stages that only read values available at its start or made
 * in it), with `stages` stages.
 */
interface Run {
  readonly members: readonly number[];
  readonly stages: number;
}

/** Where a view `v` comes from: the first variable, through views, that is not one. */
function sourceOf(v: Var, views: ReadonlyMap<Var, Var>): Var {
  for (let s = views.get(v); s !== undefined; s = views.get(v)) v = s;
  return v;
}

/** What a run reads and gives, and the views that stay equations around its node. */
interface Boundary {
  /** The values from before the run that its stages read (views resolved), in first-read order. */
  readonly inputs: Var[];
  /** The stages' values read after the run (directly or through views), in program order. */
  readonly outputs: Var[];
  /** Whether some stage's value is the run's own (it goes in the scratch buffer). */
  readonly internal: boolean;
  /** Views of values from before the run that are read after it (kept, before the node). */
  readonly before: Equation[];
  /** Views of the run's values that are read after it (kept, after the node). */
  readonly after: Equation[];
}

/** The boundary of the run of equations `members` (stages or views, in order). */
function boundaryOf(ctx: Context, members: readonly number[]): Boundary {
  const { eqs, kinds, views } = ctx;
  const memberSet = new Set(members);
  const defined = new Set<Var>();
  const inputs: Var[] = [];
  const stageVars = new Set<Var>();
  let internal = false;
  for (const m of members) {
    const eq = eqs[m], k = kinds[m]!;
    defined.add(eq.out);
    if (k === "view") continue;
    for (const st of k.stages) {
      for (const v of st.reads) {
        const src = sourceOf(v, views);
        if (!defined.has(src) && !inputs.includes(src)) inputs.push(src);
      }
      if (st.defines === null) internal = true;
      else stageVars.add(st.defines);
    }
  }
  // read by an equation outside the run (all of them come after its node), or an output
  const readAfter = (v: Var) =>
    ctx.outputs.has(v) || (ctx.readers.get(v) ?? []).some((r) => !memberSet.has(r));
  const before: Equation[] = [];
  const kept = new Set<Var>();
  const outputs = new Set<Var>();
  for (let i = members.length - 1; i >= 0; i--) {
    const eq = eqs[members[i]];
    if (!readAfter(eq.out) && !kept.has(eq.out)) continue;
    if (!views.has(eq.out)) {
      outputs.add(eq.out);
      continue;
    }
    if (!defined.has(sourceOf(eq.out, views))) before.unshift(eq);
    else kept.add(eq.out), kept.add(eq.inputs[0]); // the chain down to its stage
  }
  for (const v of stageVars) if (!outputs.has(v)) internal = true;
  const run = members.map((m) => eqs[m]);
  return {
    inputs,
    outputs: run.map((e) => e.out).filter((v) => outputs.has(v)),
    internal,
    before,
    after: run.filter((e) => views.has(e.out) && kept.has(e.out) && !before.includes(e)),
  };
}

/** Whether `members` bind no more buffers than a sequence may. */
function fitsBindings(ctx: Context, members: readonly number[]): boolean {
  const b = boundaryOf(ctx, members);
  return b.inputs.length + b.outputs.length + (b.internal ? 1 : 0) <= ctx.limit;
}

/**
 * The run from `start`: the longest stretch of stages and views whose
 * bindings fit, then each later stage whose inputs are all available at
 * the stretch's start or made in the run (moved up into it; a pure program
 * may run an equation as soon as its inputs exist), while they fit.
 */
function grow(ctx: Context, start: number): Run {
  const { eqs, kinds } = ctx;
  let members: number[] = [start];
  let stages = 0, work = 0;
  const tried: number[] = [];
  let j = start;
  for (; j < eqs.length; j++) {
    if (ctx.taken.has(j)) continue; // (already computed by an earlier sequence)
    const k = kinds[j];
    if (k === null) break;
    tried.push(j);
    if (k === "view") continue;
    if (!fitsBindings(ctx, tried) || work + k.steps > SEQUENCE_LIMITS.steps) break;
    members = tried.slice();
    stages += k.stages.length;
    work += k.steps;
  }
  const inRun = new Set(members);
  const available = (v: Var) => {
    const d = ctx.defining.get(v);
    return d === undefined || d < start || inRun.has(d) || ctx.taken.has(d);
  };
  for (let h = members[members.length - 1] + 1; h < eqs.length; h++) {
    const k = kinds[h];
    if (inRun.has(h) || ctx.taken.has(h) || k === null || k === "view") continue;
    if (!eqs[h].inputs.every(available)) continue;
    const more = [...members, h];
    if (!fitsBindings(ctx, more) || work + k.steps > SEQUENCE_LIMITS.steps) continue;
    members = more;
    inRun.add(h);
    stages += k.stages.length;
    work += k.steps;
  }
  return { members, stages };
}

/**
 * The equations replacing `run`: the views of values from before it that
 * are read after it, one equation per output of the sequence node, then
 * the views of its values read after it; null where it gives nothing.
 */
function sequenceNode(ctx: Context, run: Run): Equation[] | null {
  const { kinds, views } = ctx;
  const { inputs, outputs: outs, before, after } = boundaryOf(ctx, run.members);
  if (outs.length === 0) return null;
  const body = run.members.map((m) => ctx.eqs[m]);
  const planned: Planned[] = [];
  for (const m of run.members) {
    const k = kinds[m]!;
    if (k !== "view") planned.push(...k.stages);
  }
  const stageOf = new Map<Var, number>();
  const stages: SequenceStage[] = planned.map((p, s) => {
    const refs = p.reads.map((v): SequenceRef => {
      const src = sourceOf(v, views);
      const at = stageOf.get(src);
      return at !== undefined ? { stage: at } : { input: inputs.indexOf(src) };
    });
    // a logsumexp's second stage reads the maximum the stage before computed
    if (p.defines !== null && planned[s - 1]?.defines === null && refs.length === 1) {
      refs.push({ stage: s - 1 });
    }
    if (p.defines !== null) stageOf.set(p.defines, s);
    return p.stage(refs);
  });
  const outputs = outs.map((v) => stageOf.get(v)!);
  // run one by one (where the backend declines): without the views kept before the node, nor
  // views of values from before it that no stage reads (nothing reads them)
  const inRun = new Set(body.map((e) => e.out));
  const own = body.filter((e) => {
    if (before.includes(e) || !views.has(e.out)) return !before.includes(e);
    const src = sourceOf(e.out, views);
    return inRun.has(src) || inputs.includes(src);
  });
  const defined = new Set(own.map((e) => e.out));
  const read = [...new Set(own.flatMap((e) => e.inputs))];
  const viewed = read.filter((v) => !defined.has(v) && !inputs.includes(v));
  const params: SequenceParams = {
    stages,
    outputs,
    body: own,
    inputs,
    outs,
    views: viewed.map((v) => [v, inputs.indexOf(sourceOf(v, views))] as const),
  };
  const call = new MultiCall(SEQUENCE as MultiPrimitive<unknown>, params, outs);
  return [
    ...before,
    ...outs.map((v, k) => ({ prim: SEQUENCE, inputs, params: new OutputOf(call, k), out: v })),
    ...after,
  ];
}
