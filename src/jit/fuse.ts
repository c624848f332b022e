/**
 * Elementwise fusion: maximal chains of elementwise equations (unary and
 * binary opcodes, `where`, `cast`, and `stopGradient`, the identity once a
 * program is traced) become one `fused` equation holding an IR
 * elementwise kernel, which a backend with the `fused` hook runs as one
 * kernel instead of one kernel (and one intermediate buffer) per op.
 *
 * A group grows from its last equation (the root) backwards through the
 * inputs: an elementwise equation joins when every use of its result is
 * inside the group and its result is not a program output (an intermediate
 * that is an output, or that something outside the group reads, stays its
 * own equation, and the group loads it). Inputs may broadcast to the root's
 * shape (strides 0), but an equation whose result is smaller than the
 * root's stays out of the group (fused, it would be recomputed for every
 * output element: `exp` of a row added to a matrix is one `exp` per row
 * element, not one per matrix element). The kernel is built from the opcode tables
 * of `src/backend/ir/ops.ts`, the same expressions the backend's eager
 * kernels are made of, and only from ops the backend says run as those
 * kernels eagerly (`Backend.fusible`); mul and add stay a multiply and an
 * add (the renderers contract only explicit `fma` nodes, which the eager
 * kernels contain too), so fused results are bit-identical to eager ones.
 * (On `webgpu`, WGSL allows a shader compiler to contract a multiply and an
 * add inside one kernel, so another GPU than the tested one may differ from
 * eager in the last bit.) Dead equations are dropped. One-element float32
 * and int32 constants whose values the host knows are literals of the
 * kernel, not operands (`fused[ops=[neg,exp,add,div] consts=[1]] a`): they
 * take no binding and do not count towards `Backend.maxFusedInputs`.
 *
 * Recomputation (`Backend.fusionRecomputes`, webgpu, where each kernel is a
 * dispatch): after a group has taken in every equation whose uses are all
 * inside it, each elementwise value it still loads is recomputed in it
 * instead, together with the elementwise producers that value needs, down
 * to values that stay stored (a product's or a reduction's result, an
 * input) — when what that adds to load fits the operand limit. The
 * recomputed equations stay in the program for their other readers and go
 * once nothing reads them. A value read only by an elementwise op that is
 * a product's only reader is not recomputed (that op becomes the product's
 * epilogue), nor a value stored anyway (an output, or one an equation that
 * fuses nothing reads, such as a product's operand: loading it costs what
 * loading its inputs would). Recomputing repeats the same expressions, so
 * results are the same bit for bit.
 *
 * Reductions: a `sum`, `max` or `min` over one contiguous run of axes (one
 * `[outer, n, inner]` view, as its eager kernel sees it) grows the same way
 * through the elementwise equations only it reads, which become the
 * prologue of one IR reduction kernel (`Backend.fusedReduce`). The kernel
 * loads each operand whole (`[outer, n, inner]`), the same along the axis
 * (`[outer, 1, inner]`, like a row's maximum) or as a scalar, and only of
 * the dtypes `Backend.fusedReduceLoads` lists; a producer that would load
 * anything else stays out. An elementwise group that alone reads a
 * reduction's result, with as many elements and of its dtype, becomes its
 * epilogue when its other operands are one element per output or scalars:
 * `mean(x * x, 1)`
 * prints as `fused[ops=[mul,sum,div] axes=[1] keepdims=false] a 37.0:f32[]`
 * and runs as one kernel. The prologue and epilogue are the expressions of
 * the eager elementwise kernels and the reduction runs the eager
 * reduction's renderer and order (its value rounded to the dtype before the
 * epilogue, as eager stores it), so results are bit-identical to eager ones.
 *
 * Not fused yet: `logsumexp` and `argmax`/`argmin`, reductions over axes
 * that are not one contiguous run (eager reduces them in several calls),
 * matmul and movement ops (a chain ends at them), float64 and the ops a
 * backend runs on its CPU loop.
 *
 * @module
 */

import { BINARY_OPS, type BinaryOp, UNARY_OPS, type UnaryOp } from "../backend/backend.ts";
import type { Backend, DataHandle, FusibleOp } from "../backend/backend.ts";
import type { DType } from "../core/dtype.ts";
import type { Tensor } from "../core/tensor.ts";
import { broadcastStrides, sizeOf, stridesOf } from "../core/shape.ts";
import { constant, type Expr, load } from "../backend/ir/expr.ts";
import { knownValues } from "../ops/convert.ts";
import {
  type ElementwiseKernel,
  elementwiseKernel,
  type ReduceKernel,
  reduceKernel,
} from "../backend/ir/kernel.ts";
import { BINARY_EXPR, castExpr, scalarType, UNARY_EXPR, whereExpr } from "../backend/ir/ops.ts";
import { type Equation, type PrimitiveRef, Program, type Var } from "./program.ts";

/** The primitive of a fused equation (it prints as `fused[ops=[…]]`). @internal */
export const FUSED: PrimitiveRef = Object.freeze({ name: "fused" });

/** The `[outer, n, inner]` view a fused reduction reduces (over `n`). @internal */
export interface ReduceView {
  /** Product of the axes before the reduced ones. */
  readonly outer: number;
  /** Product of the reduced axes. */
  readonly n: number;
  /** Product of the axes after the reduced ones. */
  readonly inner: number;
}

/** What the interpreter needs of a fused equation. @internal */
export interface FusedInfo {
  /** The kernel: operand `k` is the equation's input `k`. */
  readonly kernel: ElementwiseKernel | ReduceKernel;
  /**
   * Per input, its strides over the output's shape (an elementwise
   * kernel), or its steps along `view`'s three axes (a reduction).
   */
  readonly strides: readonly (readonly number[])[];
  /** A reduction's view; null for an elementwise kernel. */
  readonly view: ReduceView | null;
  /** The equations it replaces, in order (the last defines its output). */
  readonly body: readonly Equation[];
  /** The constants the kernel has as literals, for running `body` op by op. */
  readonly constants: ReadonlyMap<Var, Tensor>;
}

/** Fused equations' infos by their params object. */
const infos = new WeakMap<object, FusedInfo>();

/**
 * The kernel and body of a fused equation, or undefined for any other.
 * @internal
 */
export function fusedInfo(eq: Equation): FusedInfo | undefined {
  return eq.prim === FUSED ? infos.get(eq.params as object) : undefined;
}

/**
 * Runs a fused equation as one kernel on `backend` (operand `k` is
 * `inputs[k]`, the data of the equation's input `k`); null when the backend
 * declines (the caller then runs `fusedInfo(eq).body` op by op).
 * @internal
 */
export function runFused(
  backend: Backend,
  eq: Equation,
  inputs: readonly DataHandle[],
): DataHandle | null {
  const info = fusedInfo(eq);
  if (info === undefined) return null;
  const { shape, dtype } = eq.out.aval;
  if (info.kernel.kind === "reduce") {
    if (backend.fusedReduce === undefined || info.view === null) return null;
    const strides = info.strides as readonly (readonly [number, number, number])[];
    return backend.fusedReduce({ kernel: info.kernel, inputs, strides, dtype, ...info.view });
  }
  if (backend.fused === undefined) return null;
  return backend.fused({
    kernel: info.kernel,
    inputs,
    strides: info.strides,
    outShape: shape,
    dtype,
  });
}

const UNARY = new Set<string>(UNARY_OPS);
const BINARY = new Set<string>(BINARY_OPS);

/** The op as the backend is asked about it, or null when the equation is not elementwise. @internal */
export function fusibleOp(eq: Equation): FusibleOp | null {
  const name = eq.prim.name, n = eq.inputs.length;
  if (eq.params === null && n === 1 && UNARY.has(name)) {
    return { op: name as UnaryOp, dtype: eq.inputs[0].aval.dtype };
  }
  if (eq.params === null && n === 2 && BINARY.has(name)) {
    return { op: name as BinaryOp, dtype: eq.inputs[0].aval.dtype };
  }
  if (eq.params === null && n === 3 && name === "where") {
    return { op: "where", dtype: eq.inputs[1].aval.dtype };
  }
  const to = (eq.params as { dtype?: DType } | null)?.dtype;
  if (name === "cast" && n === 1 && to !== undefined) {
    return { op: "cast", dtype: eq.inputs[0].aval.dtype, to };
  }
  return null;
}

/**
 * An op a fused kernel computes: an elementwise op the backend runs as its
 * IR kernel, or `"identity"` for `stopGradient` (the identity once a
 * program is traced: its derivative was taken while tracing).
 */
export type FusedOp = FusibleOp | "identity";

/** The equation's expression over its operands' expressions. @internal */
export function exprOf(op: FusedOp, args: readonly Expr[]): Expr {
  if (op === "identity") return args[0];
  if (op.op === "where") return whereExpr(args[0], args[1], args[2]);
  if (op.op === "cast") return castExpr(args[0], scalarType(op.to!));
  if (UNARY.has(op.op)) return UNARY_EXPR[op.op as UnaryOp](args[0]);
  return BINARY_EXPR[op.op as BinaryOp](args[0], args[1]);
}

/** A reduction the pass may fuse: its kind, axes and `[outer, n, inner]` view. @internal */
export interface Reduction {
  readonly op: "sum" | "max" | "min";
  /** The reduced axes: one contiguous run `lo … hi`. */
  readonly lo: number;
  readonly hi: number;
  readonly view: ReduceView;
}

/** Steps along a reduction view's outer, reduced and inner axes. */
type Steps = [number, number, number];

/** The reduction `eq` is when `backend` runs it as a fusible IR kernel in one view, else null. @internal */
export function reductionOf(eq: Equation, backend: Backend): Reduction | null {
  const op = eq.prim.name;
  if (op !== "sum" && op !== "max" && op !== "min") return null;
  const axes = (eq.params as { axes?: readonly number[] } | null)?.axes;
  if (eq.inputs.length !== 1 || axes === undefined || axes.length === 0) return null;
  if (!axes.every((a, i) => i === 0 || a === axes[i - 1] + 1)) return null; // reduced in several calls
  const { shape, dtype } = eq.inputs[0].aval;
  if (!backend.fusible!({ op, dtype })) return null;
  const lo = axes[0], hi = axes[axes.length - 1];
  const view = {
    outer: sizeOf(shape.slice(0, lo)),
    n: sizeOf(shape.slice(lo, hi + 1)),
    inner: sizeOf(shape.slice(hi + 1)),
  };
  return view.n > 0 && view.outer * view.inner > 0 ? { op, lo, hi, view } : null;
}

/** Whether `strides` (over `shape`) equal `want` on every axis longer than 1. */
function matches(shape: readonly number[], strides: readonly number[], want: readonly number[]) {
  return shape.every((d, a) => d === 1 || strides[a] === want[a]);
}

/**
 * The steps of `v` (broadcast to `shape`, the reduction's input) along the
 * view's outer, reduced and inner axes: whole, the same along the reduced
 * axes, or a scalar; null for any other broadcast.
 */
function stepsOf(v: Var, shape: readonly number[], r: Reduction): Steps | null {
  const { n, inner } = r.view;
  const b = broadcastStrides(v.aval.shape, shape);
  if (matches(shape, b, shape.map(() => 0))) return [0, 0, 0];
  if (matches(shape, b, stridesOf(shape))) return [n * inner, inner, 1];
  const kept = shape.map((d, a) => (a >= r.lo && a <= r.hi ? 1 : d));
  const along = stridesOf(kept).map((st, a) => (a >= r.lo && a <= r.hi ? 0 : st));
  return matches(shape, b, along) ? [inner, 0, 1] : null;
}

/**
 * The steps of an epilogue operand `v` (broadcast to `shape`, the
 * reduction's output): one element per output, or a scalar; else null.
 */
function epilogueStepsOf(v: Var, shape: readonly number[], r: Reduction): Steps | null {
  const b = broadcastStrides(v.aval.shape, shape);
  if (matches(shape, b, shape.map(() => 0))) return [0, 0, 0];
  return matches(shape, b, stridesOf(shape)) ? [r.view.inner, 0, 1] : null;
}

/** A grown group: its equations (indices, in program order) and the variables it loads. */
interface Group {
  readonly members: number[];
  readonly loaded: ReadonlySet<Var>;
}

/**
 * Fuses chains of elementwise equations for `backend`, and elementwise
 * producers and consumers into the reductions they alone feed or read (see
 * the module documentation); the program itself when the backend has no
 * `fused` hook or nothing fuses.
 * @internal
 */
export function fuseElementwise(program: Program, backend: Backend): Program {
  if (backend.fused === undefined || backend.fusible === undefined) return program;
  const eqs = program.equations;
  const outputs = new Set(program.outputs);
  // Live equations, and how many times live equations (and outputs) read each variable.
  const needed = new Set(program.outputs);
  const live = eqs.map(() => false);
  const uses = new Map<Var, number>();
  for (const v of program.outputs) uses.set(v, (uses.get(v) ?? 0) + 1);
  for (let i = eqs.length - 1; i >= 0; i--) {
    if (!needed.has(eqs[i].out)) continue;
    live[i] = true;
    for (const v of eqs[i].inputs) {
      needed.add(v);
      uses.set(v, (uses.get(v) ?? 0) + 1);
    }
  }
  const defining = new Map<Var, number>();
  eqs.forEach((e, i) => defining.set(e.out, i));
  const ops = eqs.map((e, i): FusedOp | null => {
    if (live[i] && e.prim.name === "stopGradient" && e.inputs.length === 1) return "identity";
    const op = live[i] ? fusibleOp(e) : null;
    return op !== null && backend.fusible!(op) ? op : null;
  });
  const reductions = eqs.map((e, i) =>
    live[i] && backend.fusedReduce !== undefined ? reductionOf(e, backend) : null
  );
  const loads = new Set(backend.fusedReduceLoads ?? ["float32", "float64", "int32", "bool"]);
  const limit = backend.maxFusedInputs ?? Infinity;
  const inlined = inlinedConstants(program);
  /** Whether a group loads `v` (else it is a literal of the kernel). */
  const counts = (v: Var) => !inlined.has(v);
  const recompute = backend.fusionRecomputes === true;
  const groupOf = eqs.map(() => -1);
  /** How many times the program reads each variable (`uses` before groups add reads). */
  const reads = new Map(uses);
  /** Whether `d` reads constants only (it stays a kernel of its own: a renderer would fold it on the host). */
  const constantsOnly = (d: number) => eqs[d].inputs.every((u) => inlined.has(u));
  /** Per variable, the live equations that read it. */
  const readers = new Map<Var, number[]>();
  eqs.forEach((e, i) => {
    if (!live[i]) return;
    for (const u of e.inputs) {
      const list = readers.get(u);
      if (list === undefined) readers.set(u, [i]);
      else list.push(i);
    }
  });
  /**
   * Whether `d`'s value is in memory whatever fusion does: an output, or
   * read by an equation that fuses nothing (a product's operand, a gather's
   * source…). Recomputing it elsewhere saves no store and no load, and keeps
   * what it is computed from alive.
   */
  const storedAnyway = (d: number) =>
    outputs.has(eqs[d].out) ||
    (readers.get(eqs[d].out) ?? []).some((r) => ops[r] === null && reductions[r] === null);
  /**
   * Whether `d` may be recomputed in a group of `size` elements: not a value
   * stored anyway, nor the only reader of a product's result (it becomes the
   * product's epilogue, computed with it, once `fuseMatmulEpilogues` runs).
   */
  const recomputable = (d: number, size: number) =>
    ops[d] !== null && groupOf[d] === -1 && sizeOf(eqs[d].out.aval.shape) === size &&
    !constantsOnly(d) && !storedAnyway(d) &&
    !eqs[d].inputs.some((u) =>
      reads.get(u) === 1 && eqs[defining.get(u) ?? -1]?.prim.name === "matmul"
    );
  /**
   * `d` and the producers it needs that may be recomputed too (not yet in
   * the group `inGroup`), in no particular order.
   */
  const recomputed = (d: number, size: number, inGroup: ReadonlySet<number>): number[] => {
    const found = [d];
    for (let k = 0; k < found.length; k++) {
      for (const u of eqs[found[k]].inputs) {
        const p = defining.get(u);
        if (p === undefined || inGroup.has(p) || found.includes(p) || !recomputable(p, size)) {
          continue;
        }
        found.push(p);
      }
    }
    return found;
  };
  /**
   * The group from `start` (marked as group `id`): it grows back through
   * the elementwise equations of `size` elements whose every use is inside
   * it, loading at most `cap` variables, each `loadable`; then, where the
   * backend recomputes, through the values it still loads (see the module
   * doc).
   */
  const grow = (
    start: number,
    size: number,
    loadable: (v: Var) => boolean,
    id = start,
    cap = limit,
    fits: (loads: readonly Var[]) => boolean = () => true,
  ): Group => {
    groupOf[start] = id;
    const members = [start];
    const inGroup = new Set(members);
    const computed = new Set([eqs[start].out]);
    const inside = new Map<Var, number>();
    const loaded = new Set(eqs[start].inputs.filter(counts));
    /** Whether `u` will be in memory: no other group computes it inside itself. */
    const stored = (u: Var) => {
      const p = defining.get(u);
      return p === undefined || groupOf[p] === -1 || groupOf[p] === p;
    };
    /**
     * Adds `joining` (equations computing `v`, which the group loads) when
     * what they load besides is `loadable` and `available`, within the cap.
     */
    const join = (
      joining: readonly number[],
      v: Var,
      loadable: (u: Var) => boolean,
      available: (u: Var) => boolean,
    ): boolean => {
      const outs = new Set(joining.map((m) => eqs[m].out));
      const added = new Set<Var>();
      for (const m of joining) {
        for (const u of eqs[m].inputs) {
          if (!loaded.has(u) && !computed.has(u) && !outs.has(u) && counts(u)) added.add(u);
        }
      }
      const kept = [...loaded].filter((u) => !outs.has(u));
      if (
        kept.length + added.size > cap || ![...added].every((u) => loadable(u) && available(u)) ||
        !fits([...kept, ...added])
      ) {
        return false;
      }
      loaded.delete(v);
      for (const m of joining) {
        loaded.delete(eqs[m].out);
        inGroup.add(m);
        computed.add(eqs[m].out);
        members.push(m);
      }
      for (const u of added) loaded.add(u);
      return true;
    };
    for (let s = 0; s < members.length; s++) {
      for (const v of eqs[members[s]].inputs) {
        const n = (inside.get(v) ?? 0) + 1;
        inside.set(v, n);
        const d = defining.get(v);
        if (d === undefined || ops[d] === null || groupOf[d] !== -1 || outputs.has(v)) continue;
        if (n !== uses.get(v) || sizeOf(v.aval.shape) !== size) continue;
        if (constantsOnly(d) || !join([d], v, loadable, () => true)) continue;
        groupOf[d] = id;
      }
    }
    // Then, where launches cost more than recomputation, the elementwise
    // values it still loads are recomputed in it (they stay in the program for
    // their other readers): each with the producers it needs, down to stored
    // values, so a chain recomputed whole loads only what it starts from.
    for (const v of recompute ? [...loaded] : []) {
      const d = defining.get(v);
      if (d === undefined || !loaded.has(v) || !recomputable(d, size)) continue;
      join(recomputed(d, size, inGroup), v, loadable, stored);
    }
    // A recomputed member's reads are new reads of what the group loads: no
    // later group may take those variables inside itself (they must stay stored).
    for (const m of members) {
      if (groupOf[m] === id) continue;
      for (const u of eqs[m].inputs) if (loaded.has(u)) uses.set(u, (uses.get(u) ?? 0) + 1);
    }
    return { members: members.sort((a, b) => a - b), loaded };
  };
  /**
   * The reduction at `red` with its prologue grown and `epilogue` (an
   * elementwise group, root `id`) after it, as group `id`; null (and its
   * prologue left free) when it does not fuse.
   */
  const reduction = (red: number, epilogue: Group | null, id: number): Equation | null => {
    const r = reductions[red]!;
    const shape = eqs[red].inputs[0].aval.shape;
    const out = epilogue === null ? null : eqs[id].out;
    // the epilogue's operands: one element per output, or scalars
    const fixed = new Map<Var, Steps>();
    for (const u of epilogue?.loaded ?? []) {
      if (u === eqs[red].out) continue; // (inlined constants are never loaded)
      const st = epilogueStepsOf(u, out!.aval.shape, r);
      if (st === null || !loads.has(u.aval.dtype)) return null;
      fixed.set(u, st);
    }
    const loadable = (u: Var) => {
      const st = stepsOf(u, shape, r), want = fixed.get(u);
      return loads.has(u.aval.dtype) && st !== null &&
        (want === undefined || st.every((x, a) => x === want[a]));
    };
    // What the kernel binds: its loads, the epilogue's operands and its output (WebGPU: every
    // segment of each).
    const fits = (loads: readonly Var[]) =>
      backend.fusedReduceFits?.(
        [...loads, ...fixed.keys()].map((u) => sizeOf(u.aval.shape)),
        sizeOf(eqs[red].out.aval.shape),
      ) ?? true;
    const pro = grow(red, sizeOf(shape), loadable, id, limit - fixed.size, fits).members;
    const tail = epilogue?.members ?? [];
    const eq = pro.length + tail.length < 2 ? null : fusedReduction(
      pro.slice(0, -1).map((m) => [eqs[m], ops[m]!]),
      eqs[red],
      r,
      tail.map((m) => [eqs[m], ops[m]!]),
      fixed,
      [...pro, ...tail].sort((a, b) => a - b).map((m) => eqs[m]),
      inlined,
    );
    if (eq === null) { for (const m of pro) groupOf[m] = -1; }
    return eq;
  };
  /** The reduction whose only reader is the elementwise `group` (root `root`), or -1. */
  const reductionRead = (root: number, group: Group): number => {
    const out = eqs[root].out;
    if (backend.fusedReduce === undefined) return -1;
    for (const v of group.loaded) {
      const d = defining.get(v);
      if (d === undefined || reductions[d] === null || groupOf[d] !== -1 || outputs.has(v)) {
        continue;
      }
      if (v.aval.dtype !== out.aval.dtype) continue; // the result keeps the reduction's dtype
      if (reductions[d]!.view.n === 1 || sizeOf(v.aval.shape) !== sizeOf(out.aval.shape)) continue;
      const reads = group.members.reduce(
        (k, m) => k + eqs[m].inputs.filter((u) => u === v).length,
        0,
      );
      if (reads === uses.get(v) && group.loaded.size <= limit) return d;
    }
    return -1;
  };
  const fused = new Map<number, Equation>();
  for (let root = eqs.length - 1; root >= 0; root--) {
    if (groupOf[root] !== -1) continue;
    let eq: Equation | null = null;
    if (reductions[root] !== null) {
      eq = reduction(root, null, root);
      groupOf[root] = root;
    } else if (ops[root] !== null) {
      const group = grow(root, sizeOf(eqs[root].out.aval.shape), () => true);
      const red = reductionRead(root, group);
      if (red !== -1) eq = reduction(red, group, root);
      if (eq === null && group.members.length > 1) {
        const body = group.members.map((m) => eqs[m]);
        eq = fusedEquation(body, group.members.map((m) => ops[m]!), inlined);
      }
    }
    if (eq !== null) fused.set(root, eq); // else its equations stay as they are
  }
  let equations: Equation[] = [];
  eqs.forEach((eq, i) => {
    if (!live[i]) return;
    const f = fused.get(i);
    if (f !== undefined) equations.push(f);
    else if (!fused.has(groupOf[i])) equations.push(eq);
  });
  if (fused.size === 0 && equations.length === eqs.length) return program;
  // recomputed everywhere it was read: an equation nothing reads any more goes
  if (recompute) equations = withoutUnread(equations, program.outputs);
  return new Program(
    program.constVars,
    program.consts,
    program.inputs,
    equations,
    program.outputs,
  );
}

/**
 * `equations` without the elementwise and fused ones whose results nothing
 * reads (after fusion recomputed them in every group that read them).
 */
function withoutUnread(equations: readonly Equation[], outputs: readonly Var[]): Equation[] {
  const read = new Set(outputs);
  const kept: Equation[] = [];
  for (let i = equations.length - 1; i >= 0; i--) {
    const eq = equations[i];
    const pure = eq.prim === FUSED || fusibleOp(eq) !== null || eq.prim.name === "stopGradient";
    if (pure && !read.has(eq.out)) continue;
    kept.push(eq);
    for (const v of eq.inputs) read.add(v);
  }
  return kept.reverse();
}

/**
 * The value of `v` given elementwise `body` (equations with their ops, in
 * program order) over `leaf(u)` for the variables it reads from outside.
 */
function valueOf(
  body: readonly (readonly [Equation, FusedOp])[],
  leaf: (u: Var) => Expr,
  v: Var,
): Expr {
  const values = new Map<Var, Expr>();
  const exprFor = (u: Var): Expr => {
    let e = values.get(u);
    if (e === undefined) values.set(u, e = leaf(u));
    return e;
  };
  for (const [eq, op] of body) values.set(eq.out, exprOf(op, eq.inputs.map(exprFor)));
  return exprFor(v);
}

/** What {@linkcode operands} gives. */
interface Operands {
  /** The variables loaded, in operand order. */
  readonly inputs: Var[];
  /** The values of the constants folded in as literals, in order of first use. */
  readonly literals: number[];
  /** Those constants' variables and tensors. */
  readonly constants: Map<Var, Tensor>;
  /** The expression of `v`: a literal, or the load of operand `index(v) + offset`. */
  readonly leaf: (v: Var, offset?: number) => Expr;
}

/**
 * Operand numbering: each variable gets the next number on first use
 * (`inputs` in that order), except the constants of `inlined`, which
 * become literals.
 */
function operands(inlined: ReadonlyMap<Var, Inlined>): Operands {
  const inputs: Var[] = [];
  const literals: number[] = [];
  const constants = new Map<Var, Tensor>();
  const numbers = new Map<Var, number>();
  const leaf = (v: Var, offset = 0): Expr => {
    const type = scalarType(v.aval.dtype);
    const c = inlined.get(v);
    if (c !== undefined) {
      if (!constants.has(v)) literals.push(c.value);
      constants.set(v, c.tensor);
      return constant(c.value, type);
    }
    let k = numbers.get(v);
    if (k === undefined) {
      numbers.set(v, k = inputs.length);
      inputs.push(v);
    }
    return load(k + offset, type);
  };
  return { inputs, literals, constants, leaf };
}

/** A fused equation's params: its ops, then the literals it folded in (when there are any). */
function fusedParams(
  body: readonly Equation[],
  literals: readonly number[],
  rest: Record<string, unknown> = {},
): Readonly<Record<string, unknown>> {
  const ops = body.map((e) => e.prim.name);
  return Object.freeze(literals.length > 0 ? { ops, consts: literals, ...rest } : { ops, ...rest });
}

/**
 * The one-element float32 and int32 constants of `program` whose values
 * the host knows: fused kernels take them as literals (no operand, no
 * binding), the same values the eager kernels load.
 */
function inlinedConstants(program: Program): Map<Var, Inlined> {
  const inlined = new Map<Var, Inlined>();
  program.constVars.forEach((v, i) => {
    const { shape, dtype } = v.aval;
    if (sizeOf(shape) !== 1 || (dtype !== "float32" && dtype !== "int32")) return;
    const tensor = program.consts[i];
    const known = knownValues(tensor);
    if (known !== null && known.length === 1) inlined.set(v, { value: Number(known[0]), tensor });
  });
  return inlined;
}

/** A constant a fused kernel has as a literal: its value and its tensor. */
interface Inlined {
  readonly value: number;
  readonly tensor: Tensor;
}

/** One fused equation for `body` (in program order; the last is the root), or null if the IR cannot build it. */
function fusedEquation(
  body: readonly Equation[],
  ops: readonly FusedOp[],
  inlined: ReadonlyMap<Var, Inlined>,
): Equation | null {
  const root = body[body.length - 1];
  const { inputs, literals, constants, leaf } = operands(inlined);
  let kernel: ElementwiseKernel;
  try {
    const pairs = body.map((eq, i) => [eq, ops[i]] as const);
    const out = valueOf(pairs, (v) => leaf(v), root.out);
    if (out.type !== scalarType(root.out.aval.dtype)) return null;
    kernel = elementwiseKernel(out, inputs.map((v) => scalarType(v.aval.dtype)));
  } catch {
    return null; // an op the IR does not cover for this dtype: keep the ops
  }
  const params = fusedParams(body, literals);
  infos.set(params, {
    kernel,
    strides: inputs.map((v) => broadcastStrides(v.aval.shape, root.out.aval.shape)),
    view: null,
    body: Object.freeze(body.slice()),
    constants,
  });
  return { prim: FUSED, inputs, params, out: root.out };
}

/**
 * One fused reduction: `red` (the reduction `r`) of the value `pro`
 * computes, then `epi` of its result (empty: the result itself), whose
 * operands other than that result have the `fixed` steps; `body` is every
 * equation in program order. Null if the IR cannot build it.
 */
function fusedReduction(
  pro: readonly (readonly [Equation, FusedOp])[],
  red: Equation,
  r: Reduction,
  epi: readonly (readonly [Equation, FusedOp])[],
  fixed: ReadonlyMap<Var, Steps>,
  body: readonly Equation[],
  inlined: ReadonlyMap<Var, Inlined>,
): Equation | null {
  const shape = red.inputs[0].aval.shape;
  const out = epi.length > 0 ? epi[epi.length - 1][0].out : red.out;
  const { inputs, literals, constants, leaf: operand } = operands(inlined);
  let kernel: ReduceKernel;
  try {
    const x = valueOf(pro, (v) => operand(v), red.inputs[0]);
    // as `reduceOpKernel`: a sum of bools counts them in int32 (max/min of bool are errors)
    const prologue = x.type === "bool" ? x.convert("i32") : x;
    if (prologue.type !== scalarType(red.out.aval.dtype)) return null;
    let epilogue: Expr | null = null;
    if (epi.length > 0) {
      const leaf = (v: Var) => v === red.out ? load(0, prologue.type) : operand(v, 1);
      epilogue = valueOf(epi, leaf, out);
      if (epilogue.type !== scalarType(out.aval.dtype)) return null;
    }
    kernel = reduceKernel(r.op, prologue, inputs.map((v) => scalarType(v.aval.dtype)), epilogue);
  } catch {
    return null; // an op the IR does not cover for this dtype: keep the ops
  }
  const { axes, keepdims } = red.params as { axes: readonly number[]; keepdims: boolean };
  const params = fusedParams(body, literals, { axes, keepdims });
  infos.set(params, {
    kernel,
    strides: inputs.map((v) => fixed.get(v) ?? stepsOf(v, shape, r)!),
    view: r.view,
    body: Object.freeze(body.slice()),
    constants,
  });
  return { prim: FUSED, inputs, params, out };
}
