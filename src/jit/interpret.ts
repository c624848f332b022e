/**
 * Runs a program op by op on concrete tensors through the backend kernels
 * (`dispatch`), exactly as eager execution would: results are bit-identical
 * to eager ones. (Fusion and memory planning replace this on wasm/webgpu
 * later; cpu keeps it as the reference.)
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { dispatch, type Primitive } from "../ops/primitive.ts";
import type { Program, Var } from "./program.ts";

/**
 * Evaluates `program` on `inputs` (one concrete tensor per program input).
 * @internal
 */
export function interpret(program: Program, inputs: readonly Tensor[]): Tensor[] {
  const env = new Map<Var, Tensor>();
  program.constVars.forEach((v, i) => env.set(v, program.consts[i]));
  program.inputs.forEach((v, i) => env.set(v, inputs[i]));
  for (const eq of program.equations) {
    const args = eq.inputs.map((v) => env.get(v)!);
    // Sound: equations are only made by JitTrace.process, from primitives.
    const prim = eq.prim as Primitive<unknown>;
    env.set(eq.out, dispatch(prim, args, eq.params, eq.out.aval));
  }
  return program.outputs.map((v) => env.get(v)!);
}
