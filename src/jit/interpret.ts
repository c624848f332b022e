/**
 * Runs a program op by op on concrete tensors through the backend kernels
 * (`dispatch`), exactly as eager execution would: results are bit-identical
 * to eager ones. Equations whose results nothing uses are skipped (dead
 * code: the traced program is pure). Each intermediate is disposed right after its last use
 * (buffers shared with a later value, like a reshape's, stay alive through
 * the backend's owner counting), so a call holds no more memory than it
 * needs. A `fused` equation (see `fuse.ts`) runs as one kernel on a
 * backend with the `fused` hook, else (or when the hook declines) its ops
 * one by one. (Memory planning comes later; cpu keeps op by op as the
 * reference.)
 *
 * @module
 */

import { makeTensor, type Tensor } from "../core/tensor.ts";
import { dispatch, type Primitive } from "../ops/primitive.ts";
import { type FusedInfo, fusedInfo, runFused as runFusedKernel } from "./fuse.ts";
import type { Equation, Program, Var } from "./program.ts";

let launches = 0;

/**
 * How many kernels programs have run so far: one per equation run op by
 * op (through `dispatch`), one per fused equation run as one kernel.
 * @internal
 */
export function kernelLaunches(): number {
  return launches;
}

/** How a program runs: which equations, and what to free after each (made once per program). */
interface Plan {
  /** Whether equation i contributes to an output. */
  readonly live: readonly boolean[];
  /** Per equation: the intermediates whose last use it is. */
  readonly free: readonly (readonly Var[])[];
}

const plans = new WeakMap<Program, Plan>();

function planOf(program: Program): Plan {
  let plan = plans.get(program);
  if (plan !== undefined) return plan;
  const eqs = program.equations;
  const needed = new Set(program.outputs);
  const live = eqs.map(() => false);
  for (let i = eqs.length - 1; i >= 0; i--) {
    if (!needed.has(eqs[i].out)) continue;
    live[i] = true;
    for (const v of eqs[i].inputs) needed.add(v);
  }
  const last = new Map<Var, number>();
  eqs.forEach((eq, i) => {
    if (live[i]) { for (const v of eq.inputs) last.set(v, i); }
  });
  const outputs = new Set(program.outputs);
  const free: Var[][] = eqs.map(() => []);
  eqs.forEach((eq, i) => {
    if (live[i] && !outputs.has(eq.out)) free[last.get(eq.out)!].push(eq.out);
  });
  plan = { live, free };
  plans.set(program, plan);
  return plan;
}

/**
 * Evaluates `program` on `inputs` (one concrete tensor per program input).
 * @internal
 */
export function interpret(program: Program, inputs: readonly Tensor[]): Tensor[] {
  const env = new Map<Var, Tensor>();
  program.constVars.forEach((v, i) => env.set(v, program.consts[i]));
  program.inputs.forEach((v, i) => env.set(v, inputs[i]));
  const plan = planOf(program);
  program.equations.forEach((eq, i) => {
    if (!plan.live[i]) return;
    const args = eq.inputs.map((v) => env.get(v)!);
    const info = fusedInfo(eq);
    env.set(eq.out, info === undefined ? run(eq, args) : runFused(eq, info, args));
    for (const v of plan.free[i]) {
      env.get(v)!.dispose();
      env.delete(v);
    }
  });
  return program.outputs.map((v) => env.get(v)!);
}

function run(eq: Equation, args: readonly Tensor[]): Tensor {
  launches++;
  // Sound: equations are only made by JitTrace.process, from primitives.
  return dispatch(eq.prim as Primitive<unknown>, args, eq.params, eq.out.aval);
}

/** A fused equation: one kernel where the backend can, else its ops one by one. */
function runFused(eq: Equation, info: FusedInfo, args: readonly Tensor[]): Tensor {
  const backend = args[0]._backend!;
  const { shape, dtype } = eq.out.aval;
  if (args.every((t) => !t._disposed && t._backend === backend)) {
    const data = runFusedKernel(backend, eq, args.map((t) => t._data));
    if (data !== null) {
      launches++;
      return makeTensor(backend, data, shape, dtype);
    }
  }
  const env = new Map<Var, Tensor>();
  eq.inputs.forEach((v, i) => env.set(v, args[i]));
  let out!: Tensor;
  for (const e of info.body) {
    out = run(e, e.inputs.map((v) => env.get(v)!));
    env.set(e.out, out);
  }
  for (const e of info.body) if (e.out !== eq.out) env.get(e.out)!.dispose();
  return out;
}
