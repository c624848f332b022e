/**
 * Vectorising map: `vmap(f)` runs `f` once on a whole batch, as if it ran
 * on each example. Inside, each mapped argument is a tracer with the shape
 * of one example whose value one level down is the whole batch (the batch
 * as axis 0); every primitive applied to one runs its batching rule
 * (`Primitive.batch`) on the batched values. Like `vjp` and `jvp` it is a
 * trace level, so it composes with them, with `jit` (which runs `f` inline
 * when given tracers) and with itself.
 *
 * @module
 */

import { fmtShape, ShapeError } from "../core/errors.ts";
import { normAxis } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import type { DType } from "../core/dtype.ts";
import { broadcastTo } from "../ops/movement.ts";
import {
  type Aval,
  bind,
  dispatch,
  makeBatchTracer,
  type Primitive,
  type Transformation,
} from "../ops/primitive.ts";
import { moveAxis } from "../ops/_batching.ts";
import { checkFunction, describe } from "../ops/convert.ts";
import { flattenWithPath, unflatten } from "../tree/tree.ts";
import { nextLevel, withTrace } from "./trace.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/** @internal */
export class BatchTrace implements Transformation {
  readonly level: number;
  done = false;
  readonly opaque = true;
  readonly size: number;

  constructor(level: number, size: number) {
    this.level = level;
    this.size = size;
  }

  process<P>(prim: Primitive<P>, inputs: readonly Tensor[], params: P, out: Aval): Tensor {
    const values: Tensor[] = new Array(inputs.length);
    const batched: boolean[] = new Array(inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i];
      batched[i] = x._trace === this;
      values[i] = batched[i] ? x._primal! : x;
    }
    if (!batched.includes(true)) return dispatch(prim, values, params, out);
    const self = (xs: readonly Tensor[], p: P): Tensor => bind(prim, xs, p);
    const value = prim.batch({ inputs: values, batched, params, out, size: this.size, self });
    const want = [this.size, ...out.shape];
    if (value.ndim !== want.length || value.shape.some((d, i) => d !== want[i])) {
      throw new Error(
        `vmap: the batching rule of ${prim.name} returned shape ${fmtShape(value.shape)}, ` +
          `expected ${fmtShape(want)} (a bug in gradus: please report it)`,
      );
    }
    return makeBatchTracer(this, value, out);
  }

  abstractError(op: string, shape: readonly number[], dtype: DType): Error {
    if (this.done) {
      return new Error(
        `${op}(): a ${dtype} tensor of shape ${fmtShape(shape)} escaped vmap: it was one ` +
          `example inside the mapped function, kept outside it (in a variable or a closure) and ` +
          `used after vmap returned; return it from the function instead (vmap stacks it)`,
      );
    }
    return new Error(
      `${op}(): this ${dtype} tensor of shape ${fmtShape(shape)} is one example inside vmap; ` +
        `its value differs per example, so it cannot be read here. Compute with it (use where ` +
        `instead of an if), or return it from the mapped function and read the batch after vmap`,
    );
  }
}

/**
 * Where the batch is (or goes) for one argument or output: an axis, or null
 * (not mapped).
 *
 * @example
 * ```ts
 * import { tensor, type VmapAxis, vmap } from "@gradus/core";
 *
 * const axis: VmapAxis = 1; // the examples are the columns
 * console.log(vmap((c) => c.sum(), { inAxes: axis })(tensor([[1, 2], [3, 4]])).arraySync()); // [4, 6]
 * ```
 */
export type VmapAxis = number | null;

/**
 * `inAxes`/`outAxes` of {@linkcode vmap}: one axis for everything, or a
 * pytree prefix of the arguments (an array with one entry per argument) or
 * of the output, whose leaves say the axis of every tensor below them.
 *
 * @example
 * ```ts
 * import { tensor, type VmapAxes, vmap } from "@gradus/core";
 *
 * // params shared by every example, the batch's x mapped over axis 0
 * const inAxes: VmapAxes = [null, { x: 0 }];
 * const f = (p: { w: ReturnType<typeof tensor> }, d: { x: ReturnType<typeof tensor> }) => p.w.mul(d.x).sum();
 * const y = vmap(f, { inAxes })({ w: tensor([1, 2]) }, { x: tensor([[1, 1], [2, 0]]) });
 * console.log(y.arraySync()); // [3, 2]
 * ```
 */
// deno-lint-ignore no-explicit-any
export type VmapAxes = VmapAxis | readonly any[] | { readonly [key: string]: any };

/**
 * Options of {@linkcode vmap}.
 *
 * @example
 * ```ts
 * import { type VmapOptions } from "@gradus/core";
 *
 * // Map over axis 0 of the first argument; the second is shared by every example.
 * const options: VmapOptions = { inAxes: [0, null] };
 * console.log(options.inAxes); // [0, null]
 * ```
 */
export interface VmapOptions {
  /**
   * The batch axis of each argument (default 0 for every tensor): a number
   * or null for all, or an array with one entry per argument, each a
   * number, null (not mapped: shared by every example) or a pytree prefix
   * of that argument. Negative axes count from the end.
   */
  readonly inAxes?: VmapAxes;
  /** Where the batch axis goes in each output (default 0): a number, or a pytree prefix of the output. */
  readonly outAxes?: VmapAxes;
  /** The batch size, needed when no argument is mapped; checked against them otherwise. */
  readonly axisSize?: number;
}

/** The axis of every leaf of `tree` under the prefix `axes` (leaf paths for errors). */
function leafAxes(
  op: string,
  axes: VmapAxes,
  tree: unknown,
  root: string,
): { path: string; leaf: unknown; axis: VmapAxis }[] {
  if (axes === null || typeof axes === "number") {
    return flattenWithPath(tree, root)[0].map(([path, leaf]) => ({ path, leaf, axis: axes }));
  }
  if (Array.isArray(axes)) {
    if (!Array.isArray(tree) || tree.length !== axes.length) {
      throw new ShapeError(
        `${op}: the axes at ${root} are an array of ${axes.length}, but ${root} is ${
          Array.isArray(tree) ? `an array of ${tree.length}` : describe(tree)
        }; give one axis per entry (or one number for all)`,
      );
    }
    return axes.flatMap((a, i) => leafAxes(op, a, tree[i], `${root}[${i}]`));
  }
  if (typeof axes === "object") {
    const t = tree as Record<string, unknown> | null;
    if (t === null || typeof t !== "object" || Array.isArray(t)) {
      throw new ShapeError(
        `${op}: the axes at ${root} are an object, but ${root} is ${describe(tree)}`,
      );
    }
    const keys = Object.keys(t).sort();
    const given = Object.keys(axes).sort();
    if (keys.join("\0") !== given.join("\0")) {
      throw new ShapeError(
        `${op}: the axes at ${root} have keys [${given.join(", ")}], ${root} has [${
          keys.join(", ")
        }]`,
      );
    }
    return keys.flatMap((k) =>
      leafAxes(op, (axes as Record<string, VmapAxes>)[k], t[k], `${root}.${k}`)
    );
  }
  throw new TypeError(`${op}: an axis must be a number or null, got ${describe(axes)} at ${root}`);
}

const VMAP_KEYS: OptionKeys<VmapOptions> = { inAxes: true, outAxes: true, axisSize: true };

/**
 * Vectorises `f` over a batch axis: `vmap(f)(xs)` equals stacking `f(x)` for
 * every example `x` of `xs`, computed in one pass (each primitive runs once
 * on the whole batch through its batching rule). Arguments are pytrees of
 * tensors; `inAxes` says which axis of each holds the batch (null: the
 * argument is shared by every example), `outAxes` where the batch goes in
 * the results. Composes with `grad` (`vmap(grad(loss))`: per-example
 * gradients), `jvp`, `jit` and itself. Inside, a mapped tensor has the shape
 * of one example; reading its values is an error (they differ per example).
 *
 * @param f A function of tensors (or pytrees of tensors) returning tensors.
 * @param opts `inAxes`, `outAxes`, `axisSize` (see {@linkcode VmapOptions}).
 * @returns The batched function.
 * @example
 * ```ts
 * import { grad, sum, tensor, vmap } from "@gradus/core";
 *
 * // Per-example gradients of a per-example loss, in one pass.
 * const loss = (w: ReturnType<typeof tensor>, x: ReturnType<typeof tensor>) => sum(w.mul(x).square());
 * const w = tensor([1, 2]);
 * const xs = tensor([[1, 0], [0, 1], [1, 1]]);
 * const g = vmap(grad(loss), { inAxes: [null, 0] })(w, xs);
 * console.log(g.arraySync()); // [[2, 0], [0, 4], [2, 4]]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function vmap<A extends any[], R>(
  f: (...args: A) => R,
  opts: VmapOptions = {},
): (...args: A) => R {
  const op = "vmap()";
  checkFunction(op, f, "map");
  checkOptions("vmap", opts, VMAP_KEYS, "{ inAxes: [0, null], outAxes: 1 }");
  return (...args: A): R => {
    const ins = leafAxes(op, opts.inAxes === undefined ? 0 : opts.inAxes, args, "args");
    let size = opts.axisSize;
    if (size !== undefined && (!Number.isInteger(size) || size < 0)) {
      throw new RangeError(`${op}: axisSize must be a non-negative integer, got ${size}`);
    }
    let sizeFrom = size === undefined ? "" : `axisSize ${size}`;
    const mapped = ins.map(({ path, leaf, axis }) => {
      if (axis === null) return null;
      if (!(leaf instanceof Tensor)) {
        throw new TypeError(
          `${op}: ${path} is ${describe(leaf)}, but its in axis is ${axis}; only tensors are ` +
            `mapped (give it the in axis null)`,
        );
      }
      if (leaf.ndim === 0) {
        throw new ShapeError(`${op}: ${path} is a scalar and cannot be mapped over axis ${axis}`);
      }
      const a = normAxis(op.slice(0, -2), axis, leaf.ndim);
      const n = leaf.shape[a];
      if (size === undefined) {
        size = n;
        sizeFrom = `${path} has size ${n} along axis ${a}`;
      } else if (n !== size) {
        throw new ShapeError(
          `${op}: mapped axes have different sizes: ${sizeFrom}, but ${path} has size ${n} ` +
            `along axis ${a}; every mapped axis must have the batch size`,
        );
      }
      return a;
    });
    if (size === undefined) {
      throw new ShapeError(
        `${op}: no argument is mapped (every in axis is null), so the batch size is unknown; ` +
          `give axisSize`,
      );
    }
    const trace = new BatchTrace(nextLevel(), size);
    const [leaves, outs] = withTrace(trace, () => {
      const tracers = ins.map(({ leaf }, i) => {
        const a = mapped[i];
        if (a === null) return leaf;
        const x = moveAxis(leaf as Tensor, a, 0);
        return makeBatchTracer(trace, x, { shape: x.shape.slice(1), dtype: x.dtype });
      });
      const [, argsDef] = flattenWithPath(args, "args");
      const result = f(...(unflatten(argsDef, tracers) as A));
      return [flattenWithPath(result, "output"), result] as const;
    });
    const [pairs, def] = leaves;
    const outAxes = leafAxes(op, opts.outAxes === undefined ? 0 : opts.outAxes, outs, "output");
    const results = pairs.map(([path, leaf], i) => {
      if (!(leaf instanceof Tensor)) {
        throw new TypeError(
          `${op}: the function must return tensors (or a pytree of them), but ${path} is ${
            describe(leaf)
          }`,
        );
      }
      const axis = outAxes[i].axis;
      const batched = leaf._trace === trace;
      if (axis === null) {
        if (batched) {
          throw new ShapeError(
            `${op}: ${path} differs per example, but its out axis is null; give it an axis`,
          );
        }
        return leaf;
      }
      const value = batched ? leaf._primal! : broadcastTo(leaf, [size!, ...leaf.shape]);
      return moveAxis(value, 0, normAxis(op.slice(0, -2), axis, value.ndim));
    });
    return unflatten(def, results) as R;
  };
}
