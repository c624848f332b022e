/**
 * Rematerialisation, JAX's `jax.checkpoint` (`jax.remat`): under reverse
 * mode, a checkpointed function keeps only its inputs (and what its
 * `policy` saves) for the backward pass; its other intermediates are freed
 * as soon as it returns and recomputed when the gradient needs them.
 *
 * A call traces `f` once into a program (abstract values), runs it one
 * level down keeping the values the policy names, and records one tape
 * node for all its outputs whose pullback differentiates the program
 * again with those values given (`VjpTrace.processKnown`): only the rest
 * is recomputed.
 *
 * @module
 */

import { collectMade, Tensor } from "../core/tensor.ts";
import { checkFunction, describe } from "../ops/convert.ts";
import { flattenWithPath, unflatten } from "../tree/tree.ts";
import type { Program } from "../jit/program.ts";
import { multiInfo } from "../jit/program.ts";
import { ALIASING } from "../jit/memory_plan.ts";
import { avalOf, backendOfAll, evalProgram, traceClosed, vjpOf } from "../lax/_control.ts";
import { disposeAllBut } from "./tidy.ts";
import { innermostTrace } from "./trace.ts";
import { outputTensors } from "./_outputs.ts";
import { VjpTrace } from "./vjp.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * Which intermediates a checkpointed function saves for the backward
 * pass (the rest is recomputed), after `jax.checkpoint_policies`:
 * `"nothingSaveable"` (the default: only the arguments), `"dotsSaveable"`
 * (products: `matmul`, and the convolutions built on it — the expensive
 * part; elementwise work is recomputed), `"everythingSaveable"` (nothing
 * recomputed: no memory saved), or a predicate on the primitive's name
 * (`matmul`, `tanh`, `sum`, …) saying which outputs to save.
 *
 * @example
 * ```ts
 * import { checkpoint, type CheckpointPolicy, type Tensor } from "@gradus/core";
 * const policy: CheckpointPolicy = "dotsSaveable";
 * const layer = checkpoint((h: Tensor, w: Tensor) => h.matmul(w).tanh(), { policy });
 * console.log(typeof layer); // "function"
 * ```
 */
export type CheckpointPolicy =
  | "nothingSaveable"
  | "dotsSaveable"
  | "everythingSaveable"
  | ((primitive: string) => boolean);

/**
 * Options of {@linkcode checkpoint}.
 *
 * @example
 * ```ts
 * import { type CheckpointOptions } from "@gradus/core";
 * const opts: CheckpointOptions = { policy: (name) => name === "matmul" || name === "sum" };
 * console.log(opts.policy !== undefined); // true
 * ```
 */
export interface CheckpointOptions {
  /** Which intermediates to save (default `"nothingSaveable"`). */
  readonly policy?: CheckpointPolicy;
}

const POLICIES: Record<string, (name: string) => boolean> = {
  nothingSaveable: () => false,
  dotsSaveable: (name) => name === "matmul",
  everythingSaveable: () => true,
};

const CHECKPOINT_KEYS: OptionKeys<CheckpointOptions> = { policy: true };

/**
 * Marks `f` for rematerialisation, JAX's `jax.checkpoint`: inside
 * `grad`/`valueAndGrad`/`vjp`, a call of the returned function stores only
 * its arguments (and the intermediates `policy` names) for the backward
 * pass; the other values `f` computes inside are freed when it returns and
 * recomputed (part of one more forward pass of `f`) when the gradient
 * reaches them. Gradients are the same; peak memory drops from every
 * intermediate of every call to the calls' inputs plus one call's
 * intermediates. Outside reverse mode it is `f` itself. `f` is traced with
 * abstract values (it must not read values, as under `jit`); values it
 * closes over are constants of the call (not differentiated through it).
 * (A call whose arguments are `vmap` or `jit` tracers above the gradient's
 * runs `f` as it is.)
 *
 * @param f A function of tensors (or pytrees of them) returning tensors.
 * @param opts `policy`: which intermediates to save (see {@linkcode CheckpointPolicy}).
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
export function checkpoint<A extends any[], R>(
  f: (...args: A) => R,
  opts: CheckpointOptions = {},
): (...args: A) => R {
  const op = "checkpoint()";
  checkFunction(op, f, "checkpoint");
  checkOptions("checkpoint", opts, CHECKPOINT_KEYS, '{ policy: (name) => name === "matmul" }');
  const policy = policyOf(op, opts.policy);
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
    const fixed = argLeaves.map(primalOf);
    const primals = diffAt.map((i) => fixed[i] as Tensor);
    let outDef = null as ReturnType<typeof outputTensors>["def"] | null;
    const closed = traceClosed(
      op,
      "f",
      (diff) => {
        const leaves = fixed.slice();
        diffAt.forEach((at, k) => (leaves[at] = diff[k]));
        const out = outputTensors(op, f(...(unflatten(argDef, leaves) as A)));
        outDef = out.def;
        return out.leaves;
      },
      primals.map(avalOf),
      backendOfAll(primals),
    );
    // A value f closes over from a transformation inside this one (a per-example value of a
    // vmap under grad) would be read by the pullback after that transformation returned:
    // f runs plainly there, as it does when an argument is such a value.
    if (closed.captured.some((t) => t._trace !== null && t._trace.level > trace.level)) {
      return f(...args);
    }
    const program = closed.program;
    // Values f closed over: their values one level down (constants of the call).
    const captured = closed.captured.map((t) => (t._trace === trace ? t._primal! : t));
    const savedAt = savedBy(program, policy);
    // Forward, one level down: the outputs and the saved values; the rest freed at once.
    const made: Tensor[] = [];
    const save = { at: savedAt, values: [] as Tensor[] };
    const outs = collectMade(
      made,
      () => evalProgram(program, [...primals, ...captured], undefined, save),
    );
    // Concrete values only (inside jit they are the program's, which plans their memory).
    if (trace.level === 1) disposeAllBut(made, [outs, primals, save.values, captured]);
    trace.own(made.filter((t) => !t._disposed));
    const known = new Map(savedAt.map((e, n) => [e, save.values[n]]));
    const inputs = diffAt.map((i) => argLeaves[i] as Tensor);
    // One pullback for every output: f's vjp at the saved inputs, the saved values given.
    const traced = trace.recordMany(inputs, outs, (cts) =>
      vjpOf(
        (d) => evalProgram(program, [...d, ...captured], known),
        primals,
        primals.map(() => true),
        cts,
      ));
    return unflatten(outDef!, traced) as R;
  };
}

function policyOf(op: string, p: CheckpointPolicy | undefined): (name: string) => boolean {
  if (p === undefined) return POLICIES.nothingSaveable;
  if (typeof p === "function") return p;
  const named = Object.hasOwn(POLICIES, p) ? POLICIES[p] : undefined;
  if (named === undefined) {
    throw new TypeError(
      `${op}: unknown policy ${
        typeof p === "string" ? JSON.stringify(p) : describe(p)
      }; use "nothingSaveable", "dotsSaveable", ` +
        `"everythingSaveable" or a function of the primitive's name`,
    );
  }
  return named;
}

/** The equations whose values `policy` saves (never aliases or nested control flow). */
function savedBy(program: Program, policy: (name: string) => boolean): number[] {
  return program.equations.flatMap((eq, i) =>
    multiInfo(eq) === undefined && !ALIASING.has(eq.prim.name) && policy(eq.prim.name) ? [i] : []
  );
}
