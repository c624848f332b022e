/**
 * Forward mode: `jvp(f, primals, tangents)` pushes tangents through `f`
 * alongside the values, with each primitive's jvp rule.
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import { fmtShape, mismatchError, ShapeError } from "../core/errors.ts";
import { sameShape } from "../core/shape.ts";
import { type Tensor, Tensor as TensorClass } from "../core/tensor.ts";
import { zerosLikeTensor } from "../ops/creation.ts";
import { cast } from "../ops/elementwise.ts";
import { broadcastTo } from "../ops/movement.ts";
import {
  type Aval,
  dispatch,
  makeTracer,
  type Primitive,
  type Transformation,
} from "../ops/primitive.ts";
import { checkFunction, describe } from "../ops/convert.ts";
import { assertSameStructure, flattenWithPath, unflatten } from "../tree/tree.ts";
import { nextLevel, withTrace } from "./trace.ts";
import { flattenDiffArgs, unflattenArgs } from "./vjp.ts";

/** @internal */
export class JvpTrace implements Transformation {
  readonly level: number;
  done = false;

  constructor(level: number) {
    this.level = level;
  }

  process<P>(prim: Primitive<P>, inputs: readonly Tensor[], params: P, out: Aval): Tensor {
    const primals: Tensor[] = new Array(inputs.length);
    const tangents: (Tensor | null)[] = new Array(inputs.length);
    let any = false;
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i];
      if (x._trace === this) {
        primals[i] = x._primal!;
        tangents[i] = x._tangent;
        if (x._tangent !== null) any = true;
      } else {
        primals[i] = x;
        tangents[i] = null;
      }
    }
    const value = dispatch(prim, primals, params, out);
    if (!any || prim.jvp === null || !isFloat(out.dtype)) return value;
    let t = prim.jvp(tangents, primals, value, params);
    if (t === null) return value;
    if (t.dtype !== out.dtype) t = cast(t, out.dtype);
    if (!sameShape(t.shape, out.shape)) t = broadcastTo(t, out.shape);
    return makeTracer(this, value, t, -1);
  }
}

/**
 * Forward-mode Jacobian-vector product: evaluates `f(...primals)` and the
 * directional derivative `∂f/∂primals · tangents` in one pass. `primals`
 * and `tangents` are arrays with one entry per argument of `f`; each tangent
 * mirrors its primal's pytree structure, shapes and dtypes.
 *
 * @param f A function of tensors (or pytrees of tensors) returning tensors.
 * @param primals The arguments (float tensors at every leaf).
 * @param tangents The direction, one per argument.
 * @returns `[out, tangentOut]`, both with the structure of `f`'s output.
 * @example
 * ```ts
 * import { jvp, sin, tensor } from "@gradus/core";
 * const [y, dy] = jvp((x) => sin(x), [tensor([0, 1])], [tensor([1, 1])]);
 * console.log(y.arraySync(), dy.arraySync()); // [0, 0.8414…] [1, 0.5403…] (cos x)
 * ```
 */
// deno-lint-ignore no-explicit-any
export function jvp<A extends any[], R>(
  f: (...args: A) => R,
  primals: A,
  tangents: A,
): [R, R] {
  checkFunction("jvp()", f, "differentiate");
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new TypeError(
      "jvp(): primals and tangents must be arrays with one entry per argument of f, e.g. jvp(f, [x], [v])",
    );
  }
  if (primals.length !== tangents.length) {
    throw new ShapeError(
      `jvp(): got ${primals.length} primals but ${tangents.length} tangents; give one tangent per argument`,
    );
  }
  const diff = flattenDiffArgs("jvp()", primals, "primals");
  primals.forEach((p, i) =>
    assertSameStructure(p, tangents[i], { op: "jvp()", root: `tangents[${i}]` })
  );
  const tLeaves: Tensor[] = [];
  tangents.forEach((t, i) => {
    for (const [path, leaf] of flattenWithPath(t, `tangents[${i}]`)[0]) {
      const p = diff.leaves[tLeaves.length];
      if (!(leaf instanceof TensorClass)) {
        throw new TypeError(`jvp(): ${path} must be a tensor, got ${describe(leaf)}`);
      }
      if (!sameShape(leaf.shape, p.shape) || leaf.dtype !== p.dtype) {
        throw mismatchError(
          leaf,
          p,
          `jvp(): ${path} has shape ${
            fmtShape(leaf.shape)
          } and dtype ${leaf.dtype}, but its primal ` +
            `has shape ${fmtShape(p.shape)} and dtype ${p.dtype}`,
        );
      }
      tLeaves.push(leaf);
    }
  });
  const trace = new JvpTrace(nextLevel());
  const [pairs, def] = withTrace(trace, () => {
    const tracers = diff.leaves.map((x, i) => makeTracer(trace, x, tLeaves[i], -1));
    const result = f(...(unflattenArgs(diff, tracers) as A));
    return flattenWithPath(result, "output");
  });
  const outs: Tensor[] = [];
  const tans: Tensor[] = [];
  for (const [path, leaf] of pairs) {
    if (!(leaf instanceof TensorClass)) {
      throw new TypeError(
        `jvp(): the function must return tensors (or a pytree of them), but ${path} is ${
          describe(leaf)
        }`,
      );
    }
    if (leaf._trace === trace) {
      outs.push(leaf._primal!);
      tans.push(leaf._tangent ?? zerosLikeTensor(leaf._primal!));
    } else {
      outs.push(leaf);
      tans.push(zerosLikeTensor(leaf));
    }
  }
  return [unflatten(def, outs) as R, unflatten(def, tans) as R];
}
