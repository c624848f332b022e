/**
 * Primitives and `bind`, the single door every op goes through.
 *
 * A primitive is everything about one operation in one place: its shape and
 * dtype rule, its backend implementation, and its vjp and jvp rules (written
 * with ordinary ops, so an outer transformation records them too: that is
 * what makes grad-of-grad work).
 *
 * `bind(prim, inputs, params)` checks shapes/dtypes once, then hands the call
 * to the innermost active transformation among the inputs' tracers, or runs
 * the kernel when there is none.
 *
 * @module
 */

import type { Backend, DataHandle } from "../backend/backend.ts";
import type { DType } from "../core/dtype.ts";
import { allocationError, DTypeError, isAllocationFailure } from "../core/errors.ts";
import type { Shape } from "../core/shape.ts";
import { concreteOf, donatedReason, makeTensor, Tensor, type Trace } from "../core/tensor.ts";

/** The abstract value of a tensor: what shape rules see. */
export interface Aval {
  /** The shape. */
  readonly shape: Shape;
  /** The dtype. */
  readonly dtype: DType;
}

/**
 * A vjp rule: given the output cotangent `ct`, the primal inputs and output,
 * return one cotangent per input (null for "zero" or "not needed"). Only
 * inputs with `needs[i]` must get one. A cotangent may have the broadcast
 * output shape: the caller un-broadcasts it (sums) to the input's shape.
 */
export type VjpRule<P> = (
  ct: Tensor,
  inputs: readonly Tensor[],
  out: Tensor,
  params: P,
  needs: readonly boolean[],
) => (Tensor | null)[];

/**
 * A jvp rule: given tangents of the inputs (null = zero; at least one is
 * not null) return the output tangent (null = zero). It may have a smaller
 * shape than the output: the caller broadcasts it.
 */
export type JvpRule<P> = (
  tangents: readonly (Tensor | null)[],
  inputs: readonly Tensor[],
  out: Tensor,
  params: P,
) => Tensor | null;

/**
 * What a batching rule gets: the inputs one level down (a batched one
 * carries the batch as its axis 0), which of them are batched (at least
 * one), the params, the per-example output, the batch size, and `self`,
 * which binds this primitive again (one level down) with other inputs or
 * params.
 */
export interface BatchArgs<P> {
  /** The inputs; batched ones have the batch as axis 0. */
  readonly inputs: readonly Tensor[];
  /** Which inputs are batched. */
  readonly batched: readonly boolean[];
  /** The primitive's params. */
  readonly params: P;
  /** The output of one example. */
  readonly out: Aval;
  /** The batch size. */
  readonly size: number;
  /** Binds this primitive with other inputs or params. */
  readonly self: (inputs: readonly Tensor[], params: P) => Tensor;
}

/**
 * A batching rule (`vmap`): the primitive applied to every example at once,
 * returning the batched output (batch as axis 0, then `out.shape`).
 */
export type BatchRule<P> = (args: BatchArgs<P>) => Tensor;

/** Everything about one primitive. */
export interface Primitive<P> {
  /** The op name used in errors. */
  readonly name: string;
  /** Shape and dtype rule; throws a ShapeError/DTypeError naming the op. */
  readonly abstract: (inputs: readonly Aval[], params: P) => Aval;
  /** Runs the kernel on concrete inputs (all on `backend`). */
  readonly impl: (backend: Backend, inputs: readonly Tensor[], params: P, out: Aval) => DataHandle;
  /** Reverse-mode rule, or null when the derivative is zero everywhere it exists (comparisons, floor, argmax…). */
  readonly vjp: VjpRule<P> | null;
  /** Forward-mode rule, or null when the derivative is zero everywhere. */
  readonly jvp: JvpRule<P> | null;
  /** Batching rule (`vmap`): every primitive has one. */
  readonly batch: BatchRule<P>;
}

/**
 * A transformation that intercepts ops on its tracers (`vjp`'s tape, `jvp`):
 * `dispatch` hands it every primitive applied to at least one of its
 * tracers. (A tensor only sees the `Trace` part, so the core layer does not
 * depend on primitives.)
 * @internal
 */
export interface Transformation extends Trace {
  /** Runs `prim` on `inputs`, at least one of which is a tracer of this transformation. */
  process<P>(prim: Primitive<P>, inputs: readonly Tensor[], params: P, out: Aval): Tensor;
}

/**
 * Makes a tracer of `trace` whose value one level down is `primal`. Every
 * tracer is made here, so a tensor's `_trace` is always a `Transformation`.
 * @internal
 */
export function makeTracer(
  trace: Transformation,
  primal: Tensor,
  tangent: Tensor | null,
  id: number,
): Tensor {
  return new Tensor(primal.shape, primal.dtype, null, null, trace, primal, tangent, id);
}

/**
 * Makes a tracer of `trace` with the aval `out` whose value one level down
 * is `value`, of another shape (`vmap`: the whole batch).
 * @internal
 */
export function makeBatchTracer(trace: Transformation, value: Tensor, out: Aval): Tensor {
  return new Tensor(out.shape, out.dtype, null, null, trace, value, null, 0);
}

/** The transformation tracing `x`, or null for a concrete tensor. */
function traceOf(x: Tensor): Transformation | null {
  // Sound: tracers are only made by makeTracer, which takes a Transformation.
  return x._trace as Transformation | null;
}

/** Identity helper that types a primitive definition. */
export function definePrimitive<P>(def: Primitive<P>): Primitive<P> {
  return def;
}

/**
 * Checks shapes and dtypes, then evaluates `prim` on `inputs`.
 */
export function bind<P>(prim: Primitive<P>, inputs: readonly Tensor[], params: P): Tensor {
  const out = prim.abstract(inputs, params);
  return dispatch(prim, inputs, params, out);
}

/**
 * Evaluates an already checked primitive: the innermost live transformation
 * among the inputs processes it; with none, the backend runs the kernel.
 */
export function dispatch<P>(
  prim: Primitive<P>,
  inputs: readonly Tensor[],
  params: P,
  out: Aval,
): Tensor {
  let top: Transformation | null = null;
  let leaked = false;
  for (let i = 0; i < inputs.length; i++) {
    const t = traceOf(inputs[i]);
    if (t === null) continue;
    if (t.done) {
      leaked = true;
      continue;
    }
    if (top === null || t.level > top.level) top = t;
  }
  if (leaked) return dispatch(prim, inputs.map((x) => live(x, prim.name)), params, out);
  if (top !== null) return top.process(prim, inputs, params, out);
  return applyConcrete(prim, inputs, params, out);
}

/**
 * Runs `prim`'s kernels on concrete `inputs` (no transformation among
 * them): the result is a new tensor, or `reuse` when the kernel wrote the
 * buffer `reuse` holds (a program's planned intermediate, see
 * `Backend.writeInto`: one tensor object for every call).
 * @internal
 */
export function applyConcrete<P>(
  prim: Primitive<P>,
  inputs: readonly Tensor[],
  params: P,
  out: Aval,
  reuse: Tensor | null = null,
): Tensor {
  const backend = commonBackend(prim.name, inputs);
  for (let i = 0; i < inputs.length; i++) {
    if (inputs[i]._disposed) disposedInput(prim.name, inputs, i);
  }
  if (running !== null) nestedBind(running, prim.name);
  let data: DataHandle;
  running = prim.name;
  try {
    data = prim.impl(backend, inputs, params, out);
  } catch (e) {
    throw isAllocationFailure(e) ? allocationError(prim.name, out.shape, out.dtype, backend, e) : e;
  } finally {
    running = null;
  }
  return reuse !== null && data === reuse._data
    ? reuse
    : makeTensor(backend, data, out.shape, out.dtype);
}

/** The primitive whose `impl` is running, or null: an impl calls kernels, never ops. */
let running: string | null = null;

function nestedBind(outer: string, inner: string): never {
  running = null;
  throw new Error(
    `${outer}(): its impl applied the op ${inner}(); an impl calls backend kernels only ` +
      `(compose with ops in a function around bind, or call the kernels directly)`,
  );
}

/**
 * A tracer whose transformation has returned acts as the value it traced; one
 * with no value (a `jit` tracer that escaped) is an error naming `op`.
 * @internal
 */
export function live(x: Tensor, op: string): Tensor {
  let t = x;
  while (t._trace !== null && t._trace.done) {
    if (t._primal === null || t._trace.opaque) concreteOf(t, op);
    t = t._primal!;
  }
  return t;
}

function disposedInput(op: string, inputs: readonly Tensor[], i: number): never {
  const x = inputs[i];
  const why = donatedReason(x);
  if (why !== null) throw new Error(`${op}(): input ${i}: ${why}`);
  throw new Error(
    `${op}(): input ${i} (shape [${x.shape.join(",")}], ${x.dtype}) was disposed. ` +
      `Keep a tensor only while it is in use; a value computed inside grad/valueAndGrad ` +
      `is freed when the transformation returns, so return it through hasAux instead of ` +
      `keeping it from inside the function`,
  );
}

function commonBackend(op: string, inputs: readonly Tensor[]): Backend {
  const b = inputs[0]._backend!;
  for (let i = 1; i < inputs.length; i++) {
    const bi = inputs[i]._backend!;
    if (bi !== b) {
      throw new DTypeError(
        `${op}(): inputs live on different backends (${b.name} and ${bi.name}); ` +
          `make them on one backend (setBackend before creating them)`,
      );
    }
  }
  return b;
}
