/**
 * Elementwise fusion: maximal chains of elementwise equations (unary and
 * binary opcodes, `where`, `cast`) become one `fused` equation holding an IR
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
 * eager in the last bit.) Dead equations are dropped.
 *
 * Not fused yet: reductions, matmul and movement ops (a chain ends at them),
 * float64 and the ops a backend runs on its CPU loop.
 *
 * @module
 */

import { BINARY_OPS, type BinaryOp, UNARY_OPS, type UnaryOp } from "../backend/backend.ts";
import type { Backend, DataHandle, FusibleOp } from "../backend/backend.ts";
import type { DType } from "../core/dtype.ts";
import { broadcastStrides, sizeOf } from "../core/shape.ts";
import { type Expr, load } from "../backend/ir/expr.ts";
import { type ElementwiseKernel, elementwiseKernel } from "../backend/ir/kernel.ts";
import { BINARY_EXPR, castExpr, scalarType, UNARY_EXPR, whereExpr } from "../backend/ir/ops.ts";
import { type Equation, type PrimitiveRef, Program, type Var } from "./program.ts";

/** The primitive of a fused equation (it prints as `fused[ops=[…]]`). @internal */
export const FUSED: PrimitiveRef = Object.freeze({ name: "fused" });

/** What the interpreter needs of a fused equation. @internal */
export interface FusedInfo {
  /** The kernel: operand `k` is the equation's input `k`. */
  readonly kernel: ElementwiseKernel;
  /** Per input, its strides over the output's shape. */
  readonly strides: readonly (readonly number[])[];
  /** The equations it replaces, in order (the last defines its output). */
  readonly body: readonly Equation[];
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
  if (info === undefined || backend.fused === undefined) return null;
  const { shape, dtype } = eq.out.aval;
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

/** The op as the backend is asked about it, or null when the equation is not elementwise. */
function fusibleOp(eq: Equation): FusibleOp | null {
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

/** The equation's expression over its operands' expressions. */
function exprOf(op: FusibleOp, args: readonly Expr[]): Expr {
  if (op.op === "where") return whereExpr(args[0], args[1], args[2]);
  if (op.op === "cast") return castExpr(args[0], scalarType(op.to!));
  if (UNARY.has(op.op)) return UNARY_EXPR[op.op as UnaryOp](args[0]);
  return BINARY_EXPR[op.op as BinaryOp](args[0], args[1]);
}

/**
 * Fuses chains of elementwise equations for `backend` (see the module
 * documentation); the program itself when the backend has no `fused` hook
 * or nothing fuses.
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
  const ops = eqs.map((e, i) => {
    const op = live[i] ? fusibleOp(e) : null;
    return op !== null && backend.fusible!(op) ? op : null;
  });
  const limit = backend.maxFusedInputs ?? Infinity;
  const groupOf = eqs.map(() => -1);
  const fused = new Map<number, Equation>();
  for (let root = eqs.length - 1; root >= 0; root--) {
    if (ops[root] === null || groupOf[root] !== -1) continue;
    groupOf[root] = root;
    const size = sizeOf(eqs[root].out.aval.shape);
    const members = [root];
    const inside = new Map<Var, number>();
    // The variables the group loads (at most `limit`).
    const loaded = new Set(eqs[root].inputs);
    for (let s = 0; s < members.length; s++) {
      for (const v of eqs[members[s]].inputs) {
        const n = (inside.get(v) ?? 0) + 1;
        inside.set(v, n);
        const d = defining.get(v);
        if (d === undefined || ops[d] === null || groupOf[d] !== -1 || outputs.has(v)) continue;
        if (n !== uses.get(v) || sizeOf(v.aval.shape) !== size) continue;
        const added = new Set(eqs[d].inputs.filter((u) => !loaded.has(u)));
        if (loaded.size - 1 + added.size > limit) continue;
        loaded.delete(v);
        for (const u of added) loaded.add(u);
        groupOf[d] = root;
        members.push(d);
      }
    }
    if (members.length < 2) continue;
    members.sort((a, b) => a - b);
    const eq = fusedEquation(members.map((m) => eqs[m]), members.map((m) => ops[m]!));
    if (eq !== null) fused.set(root, eq); // else its equations stay as they are
  }
  const equations: Equation[] = [];
  eqs.forEach((eq, i) => {
    if (!live[i]) return;
    const f = fused.get(i);
    if (f !== undefined) equations.push(f);
    else if (!fused.has(groupOf[i])) equations.push(eq);
  });
  if (equations.length === eqs.length) return program;
  return new Program(
    program.constVars,
    program.consts,
    program.inputs,
    equations,
    program.outputs,
  );
}

/** One fused equation for `body` (in program order; the last is the root), or null if the IR cannot build it. */
function fusedEquation(body: readonly Equation[], ops: readonly FusibleOp[]): Equation | null {
  const root = body[body.length - 1];
  const inputs: Var[] = [];
  const loads = new Map<Var, Expr>();
  const values = new Map<Var, Expr>();
  const exprFor = (v: Var): Expr => {
    let e = values.get(v) ?? loads.get(v);
    if (e === undefined) {
      e = load(inputs.length, scalarType(v.aval.dtype));
      loads.set(v, e);
      inputs.push(v);
    }
    return e;
  };
  let kernel: ElementwiseKernel;
  try {
    body.forEach((eq, i) => values.set(eq.out, exprOf(ops[i], eq.inputs.map(exprFor))));
    const out = values.get(root.out)!;
    if (out.type !== scalarType(root.out.aval.dtype)) return null;
    kernel = elementwiseKernel(out, inputs.map((v) => scalarType(v.aval.dtype)));
  } catch {
    return null; // an op the IR does not cover for this dtype: keep the ops
  }
  const params = Object.freeze({ ops: body.map((e) => e.prim.name) });
  infos.set(params, {
    kernel,
    strides: inputs.map((v) => broadcastStrides(v.aval.shape, root.out.aval.shape)),
    body: Object.freeze(body.slice()),
  });
  return { prim: FUSED, inputs, params, out: root.out };
}
