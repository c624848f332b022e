/**
 * Runs a program op by op on concrete tensors through the backend kernels
 * (`dispatch`), exactly as eager execution would: results are bit-identical
 * to eager ones. Each intermediate is disposed right after its last use
 * (buffers shared with a later value, like a reshape's, stay alive through
 * the backend's owner counting), so a call holds no more memory than it
 * needs. (Fusion and memory planning replace this on wasm/webgpu later;
 * cpu keeps it as the reference.)
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { dispatch, type Primitive } from "../ops/primitive.ts";
import type { Program, Var } from "./program.ts";

/** Per equation: the intermediates whose last use it is (made once per program). */
const freePlans = new WeakMap<Program, Var[][]>();

function freePlan(program: Program): Var[][] {
  let plan = freePlans.get(program);
  if (plan !== undefined) return plan;
  const last = new Map<Var, number>();
  program.equations.forEach((eq, i) => {
    for (const v of eq.inputs) last.set(v, i);
  });
  const outputs = new Set(program.outputs);
  plan = program.equations.map(() => []);
  program.equations.forEach((eq, i) => {
    if (!outputs.has(eq.out)) plan![last.get(eq.out) ?? i].push(eq.out);
  });
  freePlans.set(program, plan);
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
  const plan = freePlan(program);
  program.equations.forEach((eq, i) => {
    const args = eq.inputs.map((v) => env.get(v)!);
    // Sound: equations are only made by JitTrace.process, from primitives.
    const prim = eq.prim as Primitive<unknown>;
    env.set(eq.out, dispatch(prim, args, eq.params, eq.out.aval));
    for (const v of plan[i]) {
      env.get(v)!.dispose();
      env.delete(v);
    }
  });
  return program.outputs.map((v) => env.get(v)!);
}
