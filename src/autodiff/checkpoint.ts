/**
 * Rematerialisation, JAX's `jax.checkpoint` (`jax.remat`): under reverse
 * mode, a checkpointed function keeps only its inputs for the backward
 * pass; its intermediates are freed as soon as it returns and recomputed
 * when the gradient needs them.
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import { collectMade, Tensor } from "../core/tensor.ts";
import { zerosLikeTensor } from "../ops/creation.ts";
import { flattenWithPath, unflatten } from "../tree/tree.ts";
import { disposeAllBut } from "./tidy.ts";
import { innermostTrace } from "./trace.ts";
import { outputTensors } from "./_outputs.ts";
import { vjpCore, VjpTrace } from "./vjp.ts";

/**
 * Marks `f` for rematerialisation, JAX's `jax.checkpoint`: inside
 * `grad`/`valueAndGrad`/`vjp`, a call of the returned function stores only
 * its arguments for the backward pass; the values `f` computes inside are
 * freed when it returns and recomputed (one more forward pass of `f`) when
 * the gradient reaches them. Gradients are the same; peak memory drops
 * from every intermediate of every call to the calls' inputs plus one
 * call's intermediates. Outside reverse mode it is `f` itself. (A call whose
 * arguments are `vmap` or `jit` tracers above the gradient's runs `f` as it is.)
 *
 * @param f A function of tensors (or pytrees of them) returning tensors.
 * @returns `f`, checkpointed.
 * @example
 * ```ts
 * import { checkpoint, grad, sum, tensor } from "@gradus/core";
 *
 * const block = checkpoint((x: ReturnType<typeof tensor>) => x.tanh().mul(3).exp());
 * const loss = (x: ReturnType<typeof tensor>) => sum(block(block(x)));
 * console.log(grad(loss)(tensor([0.1, -0.2])).shape); // [2]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function checkpoint<A extends any[], R>(f: (...args: A) => R): (...args: A) => R {
  const op = "checkpoint()";
  return (...args: A): R => {
    const [argPairs, argDef] = flattenWithPath(args, "args");
    const argLeaves = argPairs.map(([, l]) => l);
    const trace = innermostTrace(argLeaves);
    if (!(trace instanceof VjpTrace)) return f(...args);
    // The inputs this trace differentiates, and f of them with the rest fixed.
    const diffAt = argLeaves.flatMap((
      l,
      i,
    ) => (l instanceof Tensor && l._trace === trace ? [i] : []));
    const primalOf = (l: unknown) => (l instanceof Tensor && l._trace === trace ? l._primal! : l);
    const call = (diff: readonly unknown[]): unknown => {
      const leaves = argLeaves.map(primalOf);
      diffAt.forEach((at, k) => (leaves[at] = diff[k]));
      return f(...(unflatten(argDef, leaves) as A));
    };
    const primals = diffAt.map((i) => primalOf(argLeaves[i]) as Tensor);
    // Forward, one level down (nothing recorded here); its intermediates freed at once.
    const made: Tensor[] = [];
    const out = collectMade(made, () => call(primals));
    const { leaves: outs, def: outDef } = outputTensors(op, out);
    // Concrete values only (inside jit they are the program's, which plans their memory).
    if (trace.level === 1) disposeAllBut(made, [outs, primals]);
    trace.own(outs.filter((o) => made.includes(o)));
    const inputs = diffAt.map((i) => argLeaves[i] as Tensor);
    // Each output's pullback: f's vjp recomputed at the saved inputs, this output's cotangent seeded.
    const traced = outs.map((value, k) =>
      trace.record(inputs, value, (ct) => {
        const { pullback, release } = vjpCore(
          op,
          (...d: unknown[]) => call(d),
          primals,
          "inputs",
        );
        const cts = unflatten(
          outDef,
          outs.map((o, j) => (j === k ? ct : isFloat(o.dtype) ? zerosLikeTensor(o) : o)),
        );
        const grads = pullback(cts) as Tensor[];
        release(grads);
        return grads;
      })
    );
    return unflatten(outDef, traced) as R;
  };
}
