/**
 * Reverse mode: `vjp(f, ...primals)` runs `f` once, recording a tape of the
 * primitives applied to the primals' tracers, and returns the output with a
 * pullback that walks the tape backwards through each primitive's vjp rule.
 * The rules are ordinary ops, so an outer transformation records them too:
 * `grad(grad(f))` and `jvp(grad(f))` work.
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import { DTypeError, fmtShape, mismatchError } from "../core/errors.ts";
import { sameShape, type Shape } from "../core/shape.ts";
import { collectMade, type Tensor, Tensor as TensorClass } from "../core/tensor.ts";
import { zerosLikeTensor } from "../ops/creation.ts";
import { add } from "../ops/elementwise.ts";
import { reshape } from "../ops/movement.ts";
import {
  type Aval,
  dispatch,
  makeTracer,
  type Primitive,
  type Transformation,
} from "../ops/primitive.ts";
import { sum } from "../ops/reduce.ts";
import { checkFunction, describe } from "../ops/convert.ts";
import {
  assertSameStructure,
  flattenWithPath,
  map,
  type TreeDef,
  unflatten,
} from "../tree/tree.ts";
import { disposeAllBut } from "./tidy.ts";
import { nextLevel, withTrace } from "./trace.ts";

interface TapeNode {
  /** The primitive's vjp rule applied to this node's inputs, output and params. */
  readonly pullback: (ct: Tensor, needs: readonly boolean[]) => (Tensor | null)[];
  /** Primal inputs (values one level down). */
  readonly inputs: readonly Tensor[];
  /** Tape slot of each input, or -1 for inputs that are constants here. */
  readonly ids: readonly number[];
  readonly id: number;
  /**
   * A node with several outputs (`recordMany`): their tape slots and the
   * pullback taking all their cotangents at once (then `pullback` and `id`
   * are unused).
   */
  readonly many?: {
    readonly ids: readonly number[];
    readonly pullback: (
      cts: readonly (Tensor | null)[],
      needs: readonly boolean[],
    ) => (Tensor | null)[];
  };
}

/** @internal */
export class VjpTrace implements Transformation {
  readonly level: number;
  done = false;
  readonly nodes: TapeNode[] = [];
  slots = 0;
  /**
   * At the top level (no transformation around this one), every value this
   * trace computed, so `valueAndGrad` can free them once it has the
   * gradients; null inside another transformation, whose tape owns them.
   */
  readonly owned: Tensor[] | null;

  constructor(level: number) {
    this.level = level;
    this.owned = level === 1 ? [] : null;
  }

  input(primal: Tensor): Tensor {
    return makeTracer(this, primal, null, this.slots++);
  }

  process<P>(prim: Primitive<P>, inputs: readonly Tensor[], params: P, out: Aval): Tensor {
    const primals: Tensor[] = new Array(inputs.length);
    const ids: number[] = new Array(inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i];
      if (x._trace === this) {
        primals[i] = x._primal!;
        ids[i] = x._id;
      } else {
        primals[i] = x;
        ids[i] = -1;
      }
    }
    const value = dispatch(prim, primals, params, out);
    this.owned?.push(value);
    return this.#node(prim, primals, ids, params, value);
  }

  /**
   * Records `prim` applied to `inputs` whose value is already known (a
   * control-flow body's intermediate saved by its forward pass): the tape
   * gets the primitive's node, no kernel runs. `value` is not this trace's
   * to free.
   */
  processKnown<P>(prim: Primitive<P>, inputs: readonly Tensor[], params: P, value: Tensor): Tensor {
    const primals = inputs.map((x) => (x._trace === this ? x._primal! : x));
    const ids = inputs.map((x) => (x._trace === this ? x._id : -1));
    return this.#node(prim, primals, ids, params, value);
  }

  #node<P>(
    prim: Primitive<P>,
    primals: Tensor[],
    ids: number[],
    params: P,
    value: Tensor,
  ): Tensor {
    const rule = prim.vjp;
    if (rule === null || !isFloat(value.dtype) || !ids.some((id) => id >= 0)) return value;
    const id = this.slots++;
    const pullback = (ct: Tensor, needs: readonly boolean[]) =>
      rule(ct, primals, value, params, needs);
    this.nodes.push({ pullback, inputs: primals, ids, id });
    return makeTracer(this, value, null, id);
  }

  /**
   * Records a value computed one level down from `inputs` (tracers of this
   * trace or constants) with its own pullback (`checkpoint`, `customVjp`,
   * `customJvp`); returns its tracer. The caller gives the tensors it made
   * to {@link VjpTrace.own} (the value may be an argument, which is not
   * this trace's to free).
   */
  record(
    inputs: readonly Tensor[],
    value: Tensor,
    pullback: (ct: Tensor, needs: readonly boolean[]) => (Tensor | null)[],
  ): Tensor {
    if (!isFloat(value.dtype)) return value;
    const primals = inputs.map((x) => (x._trace === this ? x._primal! : x));
    const ids = inputs.map((x) => (x._trace === this ? x._id : -1));
    const id = this.slots++;
    this.nodes.push({ pullback, inputs: primals, ids, id });
    return makeTracer(this, value, null, id);
  }

  /**
   * Records values computed one level down together from `inputs` (a
   * control-flow primitive's outputs) with one pullback for all of them:
   * it gets one cotangent per value (null: zero or not reached) and runs
   * once, when the backward pass reaches the first of them. Returns the
   * tracers (non-float values as they are).
   */
  recordMany(
    inputs: readonly Tensor[],
    values: readonly Tensor[],
    pullback: (cts: readonly (Tensor | null)[], needs: readonly boolean[]) => (Tensor | null)[],
  ): Tensor[] {
    const primals = inputs.map((x) => (x._trace === this ? x._primal! : x));
    const ids = inputs.map((x) => (x._trace === this ? x._id : -1));
    const outIds = values.map((v) => (isFloat(v.dtype) ? this.slots++ : -1));
    const unused = () => [];
    this.nodes.push({
      pullback: unused,
      inputs: primals,
      ids,
      id: -1,
      many: { ids: outIds, pullback },
    });
    return values.map((v, k) => (outIds[k] < 0 ? v : makeTracer(this, v, null, outIds[k])));
  }

  /** Frees `made` with this trace's other values (at the top level; else the outer tape owns them). */
  own(made: readonly Tensor[]): void {
    this.owned?.push(...made);
  }
}

/** Sums a cotangent of a broadcast shape back down to `shape`. @internal */
export function unbroadcast(ct: Tensor, shape: Shape): Tensor {
  if (sameShape(ct.shape, shape)) return ct;
  const lead = ct.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < ct.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && ct.shape[i] !== 1)) axes.push(i);
  }
  const s = axes.length ? sum(ct, axes, { keepdims: true }) : ct;
  return reshape(s, shape);
}

/** Runs the tape backwards from output cotangents; returns one cotangent (or null) per input slot. @internal */
export function backward(
  trace: VjpTrace,
  numInputs: number,
  seeds: readonly [slot: number, ct: Tensor][],
): (Tensor | null)[] {
  const cts: (Tensor | null)[] = new Array(trace.slots).fill(null);
  const accumulate = (slot: number, ct: Tensor) => {
    const prev = cts[slot];
    cts[slot] = prev === null ? ct : add(prev, ct);
  };
  for (const [slot, ct] of seeds) accumulate(slot, ct);
  for (let n = trace.nodes.length - 1; n >= 0; n--) {
    const node = trace.nodes[n];
    let ins: (Tensor | null)[];
    const needs = node.ids.map((id) => id >= 0);
    if (node.many !== undefined) {
      const outCts = node.many.ids.map((id) => (id < 0 ? null : cts[id]));
      if (outCts.every((c) => c === null)) continue;
      for (const id of node.many.ids) if (id >= 0) cts[id] = null;
      ins = node.many.pullback(outCts, needs);
    } else {
      const ct = cts[node.id];
      if (ct === null) continue;
      cts[node.id] = null;
      ins = node.pullback(ct, needs);
    }
    for (let i = 0; i < node.ids.length; i++) {
      const c = ins[i];
      if (!needs[i] || c === null || c === undefined) continue;
      accumulate(node.ids[i], unbroadcast(c, node.inputs[i].shape));
    }
  }
  return cts.slice(0, numInputs);
}

/** Flattened, checked differentiable arguments. @internal */
export interface DiffArgs {
  readonly leaves: Tensor[];
  readonly defs: TreeDef[];
  readonly counts: number[];
}

/**
 * Flattens pytrees of arguments and checks that every leaf is a float
 * tensor; errors name the key path (`args[0].layers[1].b`).
 * @internal
 */
export function flattenDiffArgs(
  op: string,
  args: readonly unknown[],
  root: string | readonly string[],
): DiffArgs {
  const leaves: Tensor[] = [];
  const defs: TreeDef[] = [];
  const counts: number[] = [];
  args.forEach((arg, i) => {
    const [pairs, def] = flattenWithPath(arg, typeof root === "string" ? `${root}[${i}]` : root[i]);
    for (const [path, leaf] of pairs) {
      if (!(leaf instanceof TensorClass)) {
        throw new TypeError(
          `${op}: cannot differentiate with respect to ${path}: it is ${
            describe(leaf)
          }, not a tensor; ` +
            `make it a tensor with tensor(...) or pass it through an argument that is not differentiated`,
        );
      }
      if (!isFloat(leaf.dtype)) {
        throw new DTypeError(
          `${op}: cannot differentiate with respect to ${path}: it has dtype ${leaf.dtype} ` +
            `(only float32/float64 tensors are differentiable); pass it through an argument that is ` +
            `not differentiated (see argnums), or cast it with cast(x, "float32")`,
        );
      }
      leaves.push(leaf);
    }
    defs.push(def);
    counts.push(pairs.length);
  });
  return { leaves, defs, counts };
}

/** Rebuilds per-argument pytrees from a flat list of leaves. @internal */
export function unflattenArgs(d: DiffArgs, leaves: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  let at = 0;
  d.defs.forEach((def, i) => {
    out.push(unflatten(def, leaves.slice(at, at + d.counts[i])));
    at += d.counts[i];
  });
  return out;
}

/** What `vjpCore` returns. @internal */
export interface VjpResult {
  /** `f`'s output, with tracers replaced by their values. */
  readonly out: unknown;
  /** With `hasAux`: the aux value, with this trace's tracers replaced by their values. */
  readonly aux: unknown;
  /** Cotangent tree for the output → one cotangent tree per primal. */
  readonly pullback: (ct: unknown) => unknown[];
  /**
   * Frees the values `f` computed (the tape's residuals) except the tensors
   * in `keep` (pytrees): call it once the pullback is no longer needed.
   * A no-op inside another transformation.
   */
  readonly release: (...keep: unknown[]) => void;
}

/** Whether `v` (a pytree leaf: a Map, Set or class instance) holds a tensor, at any depth. */
function holdsTensor(v: unknown, seen: Set<object>): boolean {
  if (v instanceof TensorClass) return true;
  if (typeof v !== "object" || v === null || seen.has(v)) return false;
  seen.add(v);
  const inner = v instanceof Map || v instanceof Set ? [...v.values()] : Object.values(v);
  return inner.some((x) => holdsTensor(x, seen));
}

/**
 * An aux leaf that holds tensors (a Map, a class instance) cannot have them
 * unwrapped and kept: they would be freed with the function's
 * intermediates. JAX refuses such an aux too.
 */
function checkAuxLeaves(op: string, aux: unknown): void {
  for (const [path, leaf] of flattenWithPath(aux, "aux")[0]) {
    if (leaf instanceof TensorClass || !holdsTensor(leaf, new Set())) continue;
    const name = (leaf as object).constructor?.name ?? "object";
    throw new TypeError(
      `${op}: ${path} is a ${name} holding tensors; the aux value is a pytree (plain objects ` +
        `and arrays), whose other leaves are kept as they are, so these tensors would be freed ` +
        `with the function's intermediates. Return them in a plain object or array`,
    );
  }
}

/**
 * The shared machinery of `vjp`, `grad` and `valueAndGrad`. With
 * `hasAux`, `f` returns `[output, aux]` and only `output` is differentiated.
 * @internal
 */
export function vjpCore(
  op: string,
  f: (...args: unknown[]) => unknown,
  primals: readonly unknown[],
  root: string | readonly string[],
  hasAux = false,
): VjpResult {
  const diff = flattenDiffArgs(op, primals, root);
  const trace = new VjpTrace(nextLevel());
  let auxOut: unknown = undefined;
  const [outLeaves, outDef] = withTrace(trace, () => {
    const tracers = diff.leaves.map((x) => trace.input(x));
    let result = f(...unflattenArgs(diff, tracers));
    if (hasAux) {
      const pair = result as [unknown, unknown];
      result = pair[0];
      checkAuxLeaves(op, pair[1]);
      auxOut = map(
        (l) => (l instanceof TensorClass && l._trace === trace ? l._primal : l),
        pair[1],
      );
    }
    const [pairs, def] = flattenWithPath(result, "output");
    for (const [path, leaf] of pairs) {
      if (!(leaf instanceof TensorClass)) {
        throw new TypeError(
          `${op}: the function must return tensors (or a pytree of them), but ${path} is ${
            describe(leaf)
          }`,
        );
      }
    }
    return [pairs.map(([, l]) => l as Tensor), def] as const;
  });
  const values = outLeaves.map((l) => (l._trace === trace ? l._primal! : l));
  const out = unflatten(outDef, values);
  const numInputs = diff.leaves.length;
  const pullback = (ct: unknown): unknown[] => {
    assertSameStructure(out, ct, { op: `${op} pullback`, root: "cotangent" });
    const [ctPairs] = flattenWithPath(ct, "cotangent");
    const seeds: [number, Tensor][] = [];
    ctPairs.forEach(([path, c], i) => {
      const o = outLeaves[i];
      if (!(c instanceof TensorClass)) {
        throw new TypeError(`${op} pullback: ${path} must be a tensor, got ${describe(c)}`);
      }
      if (!sameShape(c.shape, o.shape) || c.dtype !== o.dtype) {
        throw mismatchError(
          c,
          o,
          `${op} pullback: ${path} has shape ${fmtShape(c.shape)} and dtype ${c.dtype}, ` +
            `but the output has shape ${fmtShape(o.shape)} and dtype ${o.dtype}`,
        );
      }
      if (o._trace === trace) seeds.push([o._id, c]);
    });
    const grads = () => {
      const cts = backward(trace, numInputs, seeds);
      return cts.map((c, i) => c ?? zerosLikeTensor(diff.leaves[i]));
    };
    // At the top level the backward pass's temporaries are freed at once;
    // inside another transformation that transformation's tape owns them.
    if (nextLevel() !== 1) return unflattenArgs(diff, grads());
    const temporaries: Tensor[] = [];
    const result = collectMade(temporaries, grads);
    disposeAllBut(temporaries, result);
    return unflattenArgs(diff, result);
  };
  const release = (...keep: unknown[]) => {
    if (trace.owned !== null) disposeAllBut(trace.owned.splice(0), [out, auxOut, ...keep]);
  };
  return { out, aux: auxOut, pullback, release };
}

/**
 * Reverse-mode vector-Jacobian product. Runs `f(...primals)` and returns its
 * output together with a pullback: given a cotangent with the output's
 * structure, shapes and dtypes, the pullback returns one cotangent per
 * primal, each mirroring that primal's pytree structure (`ct · ∂f/∂primal`).
 * The pullback may be called many times.
 *
 * @param f A function of tensors (or pytrees of tensors) returning tensors.
 * @param primals The arguments; every leaf must be a float tensor.
 * @returns `[out, pullback]`.
 * @example
 * ```ts
 * import { mul, ones, tensor, vjp } from "@gradus/core";
 * const [y, pullback] = vjp((x) => mul(x, x), tensor([1, 2, 3]));
 * const [dx] = pullback(ones([3]));
 * console.log(y.arraySync(), dx.arraySync()); // [1, 4, 9] [2, 4, 6]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function vjp<A extends any[], R>(
  f: (...args: A) => R,
  ...primals: A
): [R, (cotangent: R) => A] {
  checkFunction("vjp()", f, "differentiate");
  const { out, pullback } = vjpCore("vjp()", f as (...a: unknown[]) => unknown, primals, "primals");
  return [out as R, pullback as (ct: R) => A];
}
