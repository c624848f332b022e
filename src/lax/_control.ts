/**
 * The machinery shared by `lax`'s control-flow primitives (`scan`,
 * `whileLoop`, `switch`), after JAX's design:
 *
 * - a body or branch is traced once, with abstract values, into a
 *   `Program` (`traceClosed`); tensors it closes over become constants, and
 *   tracers of live outer transformations it closes over become extra
 *   trailing inputs (closure conversion), so the primitive sees every value
 *   it depends on;
 * - a call goes through `bindMulti`, which hands it to the innermost live
 *   transformation among its inputs: `jit` records it as one program node
 *   (not unrolled), `jvp`/`vjp`/`vmap` apply the primitive's rule, which
 *   builds transformed bodies (`jvpOf`, `vjpOf`, `vmapOf` of the body
 *   program, traced again) and binds the primitive once more one level
 *   down; with no transformation left, the primitive runs on concrete
 *   tensors, each body through a cached `Executable` (fused kernels,
 *   planned memory).
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import { currentBackend } from "../backend/registry.ts";
import { isFloat } from "../core/dtype.ts";
import { fmtShape, mismatchError } from "../core/errors.ts";
import { sameShape } from "../core/shape.ts";
import { collectMade, Tensor, withoutCollecting } from "../core/tensor.ts";
import { castPrim } from "../ops/elementwise.ts";
import { describe } from "../ops/convert.ts";
import {
  type Aval,
  bind,
  live,
  makeBatchTracer,
  makeTracer,
  type Primitive,
} from "../ops/primitive.ts";
import { flattenWithPath, type TreeDef } from "../tree/tree.ts";
import { JvpTrace } from "../autodiff/jvp.ts";
import { innermostTrace, nextLevel, withTrace } from "../autodiff/trace.ts";
import { disposeAllBut } from "../autodiff/tidy.ts";
import { backward, VjpTrace } from "../autodiff/vjp.ts";
import { BatchTrace } from "../autodiff/vmap.ts";
import { Executable } from "../jit/interpret.ts";
import { optimizeFor } from "../jit/jit.ts";
import { ALIASING, ELEMENTWISE } from "../jit/memory_plan.ts";
import { type MultiCall, multiInfo, type MultiPrimitive, type Program } from "../jit/program.ts";
import { JitTrace } from "../jit/trace.ts";

/** A control-flow primitive: what a program needs, plus its transformation rules. */
export interface ControlPrimitive<P> extends MultiPrimitive<P> {
  /** The outputs' shapes and dtypes. */
  avals(inputs: readonly Aval[], params: P): Aval[];
  /** Forward mode: outputs and their tangents (null: zero), from the inputs' tangents (null: zero). */
  jvp(
    primals: readonly Tensor[],
    tangents: readonly (Tensor | null)[],
    params: P,
  ): { outs: Tensor[]; tangents: (Tensor | null)[] };
  /**
   * Reverse mode: the outputs, and a pullback from their cotangents (null:
   * zero) to one cotangent per input (only `needs[i]` ones are used).
   */
  vjp(
    primals: readonly Tensor[],
    needs: readonly boolean[],
    params: P,
  ): { outs: Tensor[]; pullback: (cts: readonly (Tensor | null)[]) => (Tensor | null)[] };
  /** `vmap`: batched inputs carry the batch as axis 0; says which outputs are batched (axis 0). */
  batch(
    values: readonly Tensor[],
    batched: readonly boolean[],
    size: number,
    params: P,
  ): { outs: Tensor[]; batched: boolean[] };
}

/**
 * Applies a control-flow primitive: the innermost live transformation
 * among `inputs` processes it (see the module documentation); with none,
 * it runs.
 */
export function bindMulti<P>(
  prim: ControlPrimitive<P>,
  inputs: readonly Tensor[],
  params: P,
): Tensor[] {
  // A tracer of a transformation that returned acts as its value (as in `bind`).
  const ins = inputs.map((x) => live(x, prim.name));
  const top = innermostTrace(ins);
  if (top === null) return prim.run(ins, params);
  if (top instanceof JitTrace) return top.processMulti(prim, ins, params, prim.avals(ins, params));
  if (top instanceof JvpTrace) {
    const primals = ins.map((x) => (x._trace === top ? x._primal! : x));
    const tangents = ins.map((x) => (x._trace === top ? x._tangent : null));
    if (tangents.every((t) => t === null)) return prim.bind(primals, params);
    const r = prim.jvp(primals, tangents, params);
    return r.outs.map((o, k) => {
      const t = r.tangents[k];
      return t === null || !isFloat(o.dtype) ? o : makeTracer(top, o, t, -1);
    });
  }
  if (top instanceof VjpTrace) {
    const needs = ins.map((x) => x._trace === top);
    const primals = ins.map((x) => (x._trace === top ? x._primal! : x));
    const made: Tensor[] = [];
    const r = collectMade(made, () => prim.vjp(primals, needs, params));
    top.own(made);
    return top.recordMany(ins, r.outs, (cts) => r.pullback(cts));
  }
  if (top instanceof BatchTrace) {
    const batched = ins.map((x) => x._trace === top);
    const values = ins.map((x) => (x._trace === top ? x._primal! : x));
    const r = prim.batch(values, batched, top.size, params);
    return r.outs.map((o, k) =>
      r.batched[k] ? makeBatchTracer(top, o, { shape: o.shape.slice(1), dtype: o.dtype }) : o
    );
  }
  throw new Error(`${prim.name}(): unknown transformation (a bug in gradus: please report it)`);
}

/** A traced body: inputs are the explicit ones, then `captured`. */
export interface Closed {
  /** The program. */
  readonly program: Program;
  /** Tracers of live outer transformations the function closed over (trailing inputs). */
  readonly captured: readonly Tensor[];
  /** The structure of the function's result. */
  readonly outDef: TreeDef;
}

/**
 * Traces `f` on abstract inputs with `avals` into a program (no kernel
 * runs); its result must be a pytree of tensors (errors name `op`, `what`
 * and the path).
 */
export function traceClosed(
  op: string,
  what: string,
  f: (inputs: Tensor[]) => unknown,
  avals: readonly Aval[],
  backend: Backend,
): Closed {
  const trace = new JitTrace(nextLevel(), backend, true);
  return withoutCollecting(() =>
    withTrace(trace, () => {
      const tracers = avals.map((a) => trace.input({ shape: a.shape.slice(), dtype: a.dtype }));
      const result = f(tracers);
      const [pairs, outDef] = flattenWithPath(result, "output");
      const outs = pairs.map(([path, leaf]) => {
        if (!(leaf instanceof Tensor)) {
          throw new TypeError(
            `${op}: ${what} must return tensors (or a pytree of them), but its ${path} is ${
              describe(leaf)
            }; wrap numbers with tensor(…)`,
          );
        }
        return trace.varOf(leaf);
      });
      return { program: trace.program(outs), captured: trace.captured.slice(), outDef };
    })
  );
}

/** `f` over flat lists, traced (helper for rules building transformed bodies). */
export function traceFlat(
  op: string,
  f: (inputs: Tensor[]) => Tensor[],
  avals: readonly Aval[],
  backend: Backend,
): Program {
  const closed = traceClosed(op, "the body", f, avals, backend);
  if (closed.captured.length > 0) {
    throw new Error(`${op}: a transformed body captured outer values (a bug in gradus)`);
  }
  return closed.program;
}

/**
 * Evaluates `program` on `inputs` op by op through `bind`, so that every
 * active transformation sees its ops (the body of a transformed body).
 * With `known`, the equations at those positions are not computed: their
 * values are given (saved by a forward pass), and a `vjp` trace among
 * their inputs records them as it would have (`VjpTrace.processKnown`).
 * With `save`, the values of the equations at those positions are pushed
 * there, in order.
 */
export function evalProgram(
  program: Program,
  inputs: readonly Tensor[],
  known?: ReadonlyMap<number, Tensor>,
  save?: { readonly at: readonly number[]; readonly values: Tensor[] },
): Tensor[] {
  const env = new Map<unknown, Tensor>();
  program.constVars.forEach((v, i) => env.set(v, program.consts[i]));
  program.inputs.forEach((v, i) => env.set(v, inputs[i]));
  const calls = new Map<MultiCall, Tensor[]>();
  program.equations.forEach((eq, i) => {
    const args = eq.inputs.map((v) => env.get(v)!);
    const multi = multiInfo(eq);
    const value = known?.get(i);
    if (value !== undefined) {
      const top = innermostTrace(args);
      const prim = eq.prim as Primitive<unknown>;
      env.set(
        eq.out,
        top instanceof VjpTrace ? top.processKnown(prim, args, eq.params, value) : value,
      );
    } else if (multi === undefined) {
      env.set(eq.out, bind(eq.prim as Primitive<unknown>, args, eq.params));
    } else {
      let outs = calls.get(multi.call);
      if (outs === undefined) {
        outs = multi.call.prim.bind(args, multi.call.params);
        calls.set(multi.call, outs);
      }
      env.set(eq.out, outs[multi.index]);
    }
  });
  if (save !== undefined) {
    for (const i of save.at) save.values.push(env.get(program.equations[i].out)!);
  }
  return program.outputs.map((v) => env.get(v)!);
}

/**
 * The equations of a loop body whose values its forward pass saves for the
 * backward pass (JAX's `checkpoint_dots` policy): those that depend on the
 * step's varying inputs (the first `varying` inputs: carry and x) and are
 * not elementwise, aliases (`reshape`) or nested control flow. Products,
 * reductions and gathers are saved; elementwise chains are recomputed
 * (fused into the backward kernels), as are loop invariants.
 */
export function savedEquations(program: Program, varying: number): number[] {
  const varies = new Set(program.inputs.slice(0, varying));
  const at: number[] = [];
  program.equations.forEach((eq, i) => {
    if (!eq.inputs.some((v) => varies.has(v))) return;
    varies.add(eq.out);
    const name = eq.prim.name;
    if (multiInfo(eq) === undefined && !ALIASING.has(name) && !ELEMENTWISE.has(name)) at.push(i);
  });
  return at;
}

/** The abstract values of a program's outputs. */
export function outAvals(program: Program): Aval[] {
  return program.outputs.map((v) => ({ shape: v.aval.shape, dtype: v.aval.dtype }));
}

const executables = new WeakMap<Program, Map<Backend, Executable>>();

/**
 * Runs a body program on concrete tensors (optimized and planned once per
 * backend); `outInto` as for `Executable.run`.
 */
export function runProgram(
  program: Program,
  inputs: readonly Tensor[],
  outInto?: readonly (Tensor | null)[],
): Tensor[] {
  const backend = inputs[0]?._backend ?? program.consts[0]?._backend ?? currentBackend();
  let byBackend = executables.get(program);
  if (byBackend === undefined) executables.set(program, byBackend = new Map());
  let exec = byBackend.get(backend);
  if (exec === undefined) {
    byBackend.set(backend, exec = new Executable(optimizeFor(program, backend)));
  }
  return exec.run(inputs, outInto);
}

/**
 * Gives back the memory of `program`'s executables (a body run eagerly:
 * its program is not run again).
 */
export function releaseProgram(program: Program): void {
  const byBackend = executables.get(program);
  if (byBackend === undefined) return;
  for (const exec of byBackend.values()) exec.free();
  executables.delete(program);
}

/** A new buffer with `x`'s values (a program's output must not be one of its inputs). */
export function copyOf(x: Tensor): Tensor {
  return bind(castPrim, [x], { dtype: x.dtype });
}

/**
 * The tensors of `outs` as new buffers: those in `kept` (inputs,
 * constants) or repeated are copied, so every output can be freed alone.
 */
export function freshOutputs(outs: readonly Tensor[], kept: ReadonlySet<Tensor>): Tensor[] {
  const seen = new Set<Tensor>();
  return outs.map((o) => {
    const copy = kept.has(o) || seen.has(o);
    seen.add(o);
    return copy ? copyOf(o) : o;
  });
}

/** The backend of the first tensor reachable among `xs` (tracers: their values), or the current one. */
export function backendOfAll(xs: readonly Tensor[]): Backend {
  for (let x of xs) {
    for (;;) {
      if (x._backend !== null) return x._backend;
      if (x._primal === null) break;
      x = x._primal;
    }
  }
  return currentBackend();
}

/** The abstract value of a tensor. */
export function avalOf(x: Tensor): Aval {
  return { shape: x.shape, dtype: x.dtype };
}

/**
 * `fn`'s outputs and their tangents (null: zero) at `primals` with
 * `tangents` (null: zero), one level up.
 */
export function jvpOf(
  fn: (xs: Tensor[]) => Tensor[],
  primals: readonly Tensor[],
  tangents: readonly (Tensor | null)[],
): { outs: Tensor[]; tangents: (Tensor | null)[] } {
  const trace = new JvpTrace(nextLevel());
  const outs = withTrace(trace, () =>
    fn(primals.map((p, i) => {
      const t = tangents[i];
      return t === null ? p : makeTracer(trace, p, t, -1);
    })));
  return {
    outs: outs.map((o) => (o._trace === trace ? o._primal! : o)),
    tangents: outs.map((o) => (o._trace === trace ? o._tangent : null)),
  };
}

/**
 * The cotangents of `fn`'s inputs marked in `diff` (null: zero) for output
 * cotangents `cts` (null: zero), one level up; `fn` runs forward again.
 */
export function vjpOf(
  fn: (xs: Tensor[]) => Tensor[],
  primals: readonly Tensor[],
  diff: readonly boolean[],
  cts: readonly (Tensor | null)[],
): (Tensor | null)[] {
  const trace = new VjpTrace(nextLevel());
  const slot: number[] = [];
  const outs = withTrace(trace, () =>
    fn(primals.map((p, i) => {
      if (!diff[i]) return p;
      slot[i] = trace.slots;
      return trace.input(p);
    })));
  const seeds: [number, Tensor][] = [];
  outs.forEach((o, k) => {
    const c = cts[k];
    if (c !== null && o._trace === trace) seeds.push([o._id, c]);
  });
  const grads = () => {
    const got = backward(trace, trace.slots, seeds);
    return primals.map((_, i) => (diff[i] ? got[slot[i]] : null));
  };
  // Inside another transformation its tape owns the values; at the top
  // level (concrete values) the forward's and the backward's are freed now.
  if (trace.owned === null) return grads();
  const temporaries: Tensor[] = [];
  const result = collectMade(temporaries, grads);
  disposeAllBut([...trace.owned.splice(0), ...temporaries], [result, primals, cts]);
  return result;
}

/**
 * `fn` mapped over axis 0 of the `batched` inputs (size `size`), one level
 * up: its outputs, batched ones with the batch as axis 0.
 */
export function vmapOf(
  fn: (xs: Tensor[]) => Tensor[],
  values: readonly Tensor[],
  batched: readonly boolean[],
  size: number,
): { outs: Tensor[]; batched: boolean[] } {
  const trace = new BatchTrace(nextLevel(), size);
  const outs = withTrace(
    trace,
    () =>
      fn(
        values.map((v, i) =>
          batched[i] ? makeBatchTracer(trace, v, { shape: v.shape.slice(1), dtype: v.dtype }) : v
        ),
      ),
  );
  return {
    outs: outs.map((o) => (o._trace === trace ? o._primal! : o)),
    batched: outs.map((o) => o._trace === trace),
  };
}

/**
 * Checks that a body's result leaves match `want` (the carry it received):
 * same count, shapes and dtypes; the error names `op`, `what` and the path.
 */
export function checkSameAvals(
  op: string,
  what: string,
  got: readonly Aval[],
  want: readonly Aval[],
  paths: readonly string[],
): void {
  got.forEach((g, i) => {
    const w = want[i];
    if (!sameShape(g.shape, w.shape) || g.dtype !== w.dtype) {
      throw mismatchError(
        g,
        w,
        `${op}: ${what} ${paths[i]} with shape ${fmtShape(g.shape)} and dtype ${g.dtype}, but ` +
          `it came in with shape ${fmtShape(w.shape)} and dtype ${w.dtype}; a loop carry must ` +
          `keep its shape and dtype (cast or reshape it in the body)`,
      );
    }
  });
}

/**
 * The tensor leaves of `tree` with their paths; a leaf that is not a
 * tensor is an error naming `op` and the path.
 */
export function tensorLeaves(
  op: string,
  tree: unknown,
  root: string,
): { leaves: Tensor[]; paths: string[]; def: TreeDef } {
  const [pairs, def] = flattenWithPath(tree, root);
  const leaves = pairs.map(([path, leaf]) => {
    if (!(leaf instanceof Tensor)) {
      throw new TypeError(
        `${op}: ${path} must be a tensor, got ${describe(leaf)}; wrap numbers with tensor(…)`,
      );
    }
    return leaf;
  });
  return { leaves, paths: pairs.map(([p]) => p), def };
}
