/**
 * User-defined derivatives, JAX's `jax.custom_vjp` and `jax.custom_jvp`:
 * `customVjp(f, { fwd, bwd })` makes reverse mode use `bwd` instead of
 * differentiating `f`; `customJvp(f, rule)` makes forward mode use `rule`,
 * and reverse mode its transpose (the rule is linear in the tangents, so
 * the pullback of `t ↦ rule(primals, t)` is the vjp).
 *
 * A call looks at the innermost transformation among its arguments: none,
 * `jit` or `vmap` without a derivative below — `f` itself; `vjp`/`grad` or
 * `jvp` — the user's rule at that level; `vmap` over a derivative
 * (`grad(vmap(g))` with `g` custom) — `g` batched with its rules batched,
 * one level down, so the derivative still sees the rule (an argument shared
 * by the examples gets the sum of their cotangents); a body being traced
 * (`lax.scan`, `cond`, `checkpoint`…), which a derivative may differentiate
 * later — one `custom_call` node of the body's program, whose rules call
 * the custom function again (`_custom_call.ts`).
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import { fmtShape, mismatchError, ShapeError } from "../core/errors.ts";
import { sameShape } from "../core/shape.ts";
import { collectMade, Tensor } from "../core/tensor.ts";
import { zerosLikeTensor } from "../ops/creation.ts";
import { checkFunction, describe } from "../ops/convert.ts";
import { makeBatchTracer, makeTracer } from "../ops/primitive.ts";
import { sum } from "../ops/reduce.ts";
import { flattenWithPath, type TreeDef, unflatten } from "../tree/tree.ts";
import { JitTrace } from "../jit/trace.ts";
import { customCall } from "./_custom_call.ts";
import { JvpTrace } from "./jvp.ts";
import { innermostTrace } from "./trace.ts";
import { vjpCore, VjpTrace } from "./vjp.ts";
import { outputTensors } from "./_outputs.ts";
import { BatchTrace, vmap, type VmapAxes } from "./vmap.ts";

/** Whether a trace `is` some leaf's below its innermost transformation. */
function traceBelow(leaves: readonly unknown[], is: (t: unknown) => boolean): boolean {
  for (const l of leaves) {
    if (!(l instanceof Tensor)) continue;
    for (let t: Tensor | null = l._primal; t !== null; t = t._primal) {
      if (is(t._trace)) return true;
    }
  }
  return false;
}

const isDerivative = (t: unknown): boolean => t instanceof VjpTrace || t instanceof JvpTrace;

/** A trace recording a body (`lax.scan`, `cond`, `checkpoint`…) that a derivative may see later. */
const isBody = (t: unknown): boolean => t instanceof JitTrace && t.capturing;

/** Whether a derivative (`vjp`/`jvp`) traces some leaf below its innermost transformation. */
function derivativeBelow(leaves: readonly unknown[]): boolean {
  return traceBelow(leaves, isDerivative);
}

/** The arguments flattened, with their paths. */
interface Flat {
  readonly leaves: unknown[];
  readonly paths: string[];
  readonly def: TreeDef;
}

function flat(args: readonly unknown[]): Flat {
  const [pairs, def] = flattenWithPath(args, "args");
  return { leaves: pairs.map(([, l]) => l), paths: pairs.map(([p]) => p), def };
}

/** Checks a jvp rule returned `[out, tangentOut]`. */
function ruleResult<R>(op: string, r: unknown): [R, R] {
  if (!Array.isArray(r) || r.length !== 2) {
    throw new TypeError(
      `${op}: the rule must return [out, tangentOut] (the output and its tangent), got ` +
        `${describe(r)}`,
    );
  }
  return r as [R, R];
}

/** Checks `got` has `want`'s shape and dtype; the error names `path`. */
function checkLike(op: string, path: string, got: unknown, want: Tensor): Tensor {
  if (!(got instanceof Tensor)) {
    throw new TypeError(
      `${op}: ${path} must be a tensor like ${describeTensor(want)}, got ${describe(got)}`,
    );
  }
  if (!sameShape(got.shape, want.shape) || got.dtype !== want.dtype) {
    throw mismatchError(
      got,
      want,
      `${op}: ${path} has shape ${fmtShape(got.shape)} and dtype ${got.dtype}, but it must ` +
        `match its primal: ${describeTensor(want)}`,
    );
  }
  return got;
}

function describeTensor(t: Tensor): string {
  return `shape ${fmtShape(t.shape)}, ${t.dtype}`;
}

/**
 * `bwd`'s result as one cotangent per argument leaf: an array with one entry
 * per argument, each with that argument's structure (null: zero for the
 * whole argument); errors name the path (`bwd output[1].w`).
 */
function cotangentLeaves(op: string, got: unknown, args: readonly unknown[]): (Tensor | null)[] {
  if (!Array.isArray(got) || got.length !== args.length) {
    throw new TypeError(
      `${op}: bwd must return an array with one cotangent per argument (${args.length}), got ${
        describe(got)
      }`,
    );
  }
  return args.flatMap((arg, i) => {
    const [want] = flattenWithPath(arg, `bwd output[${i}]`);
    if (got[i] === null) return want.map(() => null);
    const [have] = flattenWithPath(got[i], `bwd output[${i}]`);
    if (have.length !== want.length || have.some(([p], j) => p !== want[j][0])) {
      throw new ShapeError(
        `${op}: bwd output[${i}] must have the structure of argument ${i} (leaves ${
          want.map(([p]) => p).join(", ") || "none"
        }), got leaves ${have.map(([p]) => p).join(", ") || "none"}`,
      );
    }
    return have.map(([path, c], j) => {
      const primal = want[j][1];
      if (!(primal instanceof Tensor)) return null;
      return c === null ? null : checkLike(op, path, c, primal);
    });
  });
}

function notUnder(op: string): Error {
  return new Error(
    `${op}: this call's arguments are traced by a transformation above a grad/jvp that cannot ` +
      `carry the custom rule down to it; call the function outside that transformation`,
  );
}

/**
 * The custom function batched: `vmap` of `f` and of its rules, with `axes`
 * the in axes per argument (a pytree of 0 or null per leaf, `leafAxes`
 * flat).
 */
type MakeBatched = (
  axes: unknown,
  leafAxes: readonly (0 | null)[],
) => (...args: unknown[]) => unknown;

/**
 * A custom function called with `vmap`'s tracers over a derivative: the
 * batched custom function (`make` builds it from the leaves' in axes: 0 for
 * mapped leaves, null for the others) runs one level down on the batched
 * values, so the derivative below still sees the rule; its outputs become
 * `vmap`'s tracers again.
 */
function viaBatch(top: BatchTrace, a: Flat, make: MakeBatched): unknown {
  const mapped = a.leaves.map((l) => l instanceof Tensor && l._trace === top);
  const values = a.leaves.map((l, i) => (mapped[i] ? (l as Tensor)._primal! : l));
  const leafAxes = mapped.map((m) => (m ? 0 : null));
  const out = make(unflatten(a.def, leafAxes), leafAxes)(
    ...(unflatten(a.def, values) as unknown[]),
  );
  const [pairs, def] = flattenWithPath(out, "output");
  return unflatten(
    def,
    pairs.map(([, v]) => {
      const t = v as Tensor;
      return makeBatchTracer(top, t, { shape: t.shape.slice(1), dtype: t.dtype });
    }),
  );
}

/**
 * A custom function called in a body being traced (`lax.scan`, `cond`,
 * `checkpoint`…; see `_custom_call.ts`): one call node whose program is
 * `f`, and which re-enters `custom` (or its batched form) when a
 * transformation differentiates or batches the body.
 */
function viaCall(
  op: string,
  a: Flat,
  f: (...args: never[]) => unknown,
  custom: (...args: never[]) => unknown,
  make: MakeBatched,
): unknown {
  const at = a.leaves.flatMap((l, i) => (l instanceof Tensor ? [i] : []));
  const on = (fn: (...args: never[]) => unknown) => (xs: readonly Tensor[]) => {
    const leaves = a.leaves.slice();
    at.forEach((i, k) => (leaves[i] = xs[k]));
    return outputTensors(
      op,
      (fn as (...args: unknown[]) => unknown)(...(unflatten(a.def, leaves) as unknown[])),
    );
  };
  let outDef: TreeDef | undefined;
  const outs = customCall(
    op,
    at.map((i) => a.leaves[i] as Tensor),
    (xs) => {
      const out = on(f)(xs);
      outDef = out.def;
      return out.leaves;
    },
    (xs) => on(custom)(xs).leaves,
    (mapped) => {
      const leafAxes = a.leaves.map((): 0 | null => null);
      at.forEach((i, k) => (leafAxes[i] = mapped[k] ? 0 : null));
      const batched = make(unflatten(a.def, leafAxes), leafAxes);
      return (xs) => on(batched)(xs).leaves;
    },
  );
  return unflatten(outDef!, outs);
}

/**
 * What {@linkcode customVjp} takes: the forward pass with residuals, and the backward pass.
 *
 * @example
 * ```ts
 * import { type CustomVjpRules, customVjp, grad, type Tensor, tensor } from "@gradus/core";
 *
 * // x³ with its derivative 3x², from a residual saved by fwd.
 * const rules: CustomVjpRules<[Tensor], Tensor, Tensor> = {
 *   fwd: (x) => [x.mul(x).mul(x), x.square()],
 *   bwd: (x2, g) => [g.mul(x2).mul(3)],
 * };
 * const cube = customVjp((x: Tensor) => x.mul(x).mul(x), rules);
 * console.log(grad(cube)(tensor(2)).arraySync()); // 12
 * ```
 */
// deno-lint-ignore no-explicit-any
export interface CustomVjpRules<A extends any[], R, Res> {
  /** `f`'s value and the residuals `bwd` needs. */
  readonly fwd: (...args: A) => [R, Res];
  /**
   * Given the residuals and a cotangent with the output's structure, one
   * cotangent per argument, each with that argument's structure (null: zero).
   */
  // deno-lint-ignore no-explicit-any
  readonly bwd: (res: Res, ct: R) => any[];
}

/**
 * A function with a user-defined vjp, JAX's `jax.custom_vjp`: reverse mode
 * (`grad`, `valueAndGrad`, `vjp`, also under `jit` or `vmap(grad(…))`)
 * calls `fwd` for the value and the residuals, and `bwd(res, ct)` for the
 * cotangents of the arguments, also inside `lax.scan`/`cond`/`checkpoint`
 * bodies; everywhere else the function is `f`.
 * Forward mode (`jvp`) of it is an error (as in JAX: give a `customJvp`).
 *
 * @param f The function (pytrees of tensors in and out).
 * @param rules `fwd` and `bwd`.
 * @returns `f` with the custom vjp.
 * @example
 * ```ts
 * import { clip, customVjp, grad, sum, tensor, type Tensor } from "@gradus/core";
 *
 * // The identity whose gradient is clipped to [-1, 1] (gradient clipping inside a model).
 * const clipGrad = customVjp((x: Tensor) => x, {
 *   fwd: (x: Tensor) => [x, null],
 *   bwd: (_res: null, g: Tensor) => [clip(g, -1, 1)],
 * });
 * console.log(grad((x: Tensor) => sum(clipGrad(x).mul(3)))(tensor([1, 2])).arraySync()); // [1, 1]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function customVjp<A extends any[], R, Res>(
  f: (...args: A) => R,
  rules: CustomVjpRules<A, R, Res>,
): (...args: A) => R {
  const op = "customVjp()";
  checkFunction(op, f, "give a custom vjp");
  // vmap of the function and of its rules, one level down.
  const batched: MakeBatched = (axes, leafAxes) =>
    customVjp(vmap(f, { inAxes: axes as VmapAxes }) as (...xs: unknown[]) => unknown, {
      fwd: vmap(rules.fwd, { inAxes: axes as VmapAxes }) as (...xs: unknown[]) => [
        unknown,
        unknown,
      ],
      bwd: (res: unknown, ct: unknown) => {
        const cts = vmap(rules.bwd as (r: unknown, c: unknown) => unknown[])(res, ct);
        // An argument shared by the examples gets the sum of their cotangents.
        let leaf = 0;
        return (axes as unknown[]).map((argAxes, i) => {
          const [pairs] = flattenWithPath(argAxes, "");
          const from = leaf;
          leaf += pairs.length;
          if (cts[i] === null) return null;
          const [cPairs, cDef] = flattenWithPath(cts[i], "");
          return unflatten(
            cDef,
            cPairs.map(([, c], j) =>
              leafAxes[from + j] === null && c instanceof Tensor ? sum(c, 0) : c
            ),
          );
        });
      },
    }) as (...xs: unknown[]) => unknown;
  const custom = (...args: A): R => {
    const a = flat(args);
    const top = innermostTrace(a.leaves);
    if (top instanceof JvpTrace) {
      throw new Error(
        `${op}: jvp (forward mode) of a function with a custom vjp is not defined; give it a ` +
          `forward rule with customJvp, or differentiate it in reverse mode`,
      );
    }
    if (top instanceof BatchTrace && traceBelow(a.leaves, (t) => isDerivative(t) || isBody(t))) {
      // vmap over grad (or in a body a derivative may see): batched, one level down.
      return viaBatch(top, a, batched) as R;
    }
    if (isBody(top)) return viaCall(op, a, f, custom, batched) as R;
    if (!(top instanceof VjpTrace)) {
      if (top !== null && derivativeBelow(a.leaves)) throw notUnder(op);
      return f(...args);
    }
    const primalOf = (l: unknown) => (l instanceof Tensor && l._trace === top ? l._primal! : l);
    const primalArgs = unflatten(a.def, a.leaves.map(primalOf)) as A;
    const made: Tensor[] = [];
    const [out, res] = collectMade(made, () => rules.fwd(...primalArgs));
    top.own(made); // residuals included: freed with the trace's values, after the backward pass
    const { leaves: outs, def: outDef } = outputTensors(op, out);
    const at = a.leaves.flatMap((l, i) => (l instanceof Tensor && l._trace === top ? [i] : []));
    const inputs = at.map((i) => a.leaves[i] as Tensor);
    // One node for all the outputs: bwd runs once, on the whole cotangent (as JAX's), which
    // matters when it is not linear in it (clipping or normalising across outputs).
    const traced = top.recordMany(inputs, outs, (cts) => {
      const ct = unflatten(outDef, outs.map((o, j) => cts[j] ?? zerosLikeTensor(o)));
      const all = cotangentLeaves(op, rules.bwd(res, ct as R), primalArgs);
      return at.map((i) => all[i]);
    });
    return unflatten(outDef, traced) as R;
  };
  return custom;
}

/**
 * A function with a user-defined jvp, JAX's `jax.custom_jvp`:
 * `rule(primals, tangents)` returns `[out, tangentOut]` (`primals` and
 * `tangents` are arrays with one entry per argument). Forward mode uses
 * it; reverse mode uses its transpose (the rule must be linear in the
 * tangents, as a derivative is); everywhere else the function is `f`.
 *
 * @param f The function (pytrees of tensors in and out).
 * @param rule The jvp rule.
 * @returns `f` with the custom jvp.
 * @example
 * ```ts
 * import { customJvp, grad, round, tensor, type Tensor } from "@gradus/core";
 *
 * // A straight-through estimator: rounds forward, passes the gradient through unchanged.
 * const ste = customJvp((x: Tensor) => round(x), ([x]: Tensor[], [t]: Tensor[]) => [round(x), t]);
 * console.log(grad((x: Tensor) => ste(x).mul(2).sum())(tensor([0.3, 1.7])).arraySync()); // [2, 2]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function customJvp<A extends any[], R>(
  f: (...args: A) => R,
  rule: (primals: A, tangents: A) => [R, R],
): (...args: A) => R {
  const op = "customJvp()";
  checkFunction(op, f, "give a custom jvp");
  // vmap of the function and of its rule, one level down.
  const batched: MakeBatched = (axes) =>
    customJvp(
      vmap(f, { inAxes: axes as VmapAxes }) as (...xs: unknown[]) => unknown,
      (p: unknown[], t: unknown[]) =>
        vmap((pp: unknown[], tt: unknown[]) => rule(pp as A, tt as A), {
          inAxes: [axes as VmapAxes, axes as VmapAxes],
        })(p, t) as [unknown, unknown],
    ) as (...xs: unknown[]) => unknown;
  const custom = (...args: A): R => {
    const a = flat(args);
    const top = innermostTrace(a.leaves);
    if (top instanceof BatchTrace && traceBelow(a.leaves, (t) => isDerivative(t) || isBody(t))) {
      // vmap over a derivative (or in a body a derivative may see): batched, one level down.
      return viaBatch(top, a, batched) as R;
    }
    if (isBody(top)) return viaCall(op, a, f, custom, batched) as R;
    if (!(top instanceof JvpTrace) && !(top instanceof VjpTrace)) {
      if (top !== null && derivativeBelow(a.leaves)) throw notUnder(op);
      return f(...args);
    }
    const mine = (l: unknown) => l instanceof Tensor && l._trace === top;
    const primalLeaves = a.leaves.map((l) => (mine(l) ? (l as Tensor)._primal! : l));
    const primals = unflatten(a.def, primalLeaves) as A;
    const zero = (l: unknown) => (l instanceof Tensor ? zerosLikeTensor(l) : l);
    if (top instanceof JvpTrace) {
      const tangentLeaves = a.leaves.map((l, i) =>
        mine(l) ? ((l as Tensor)._tangent ?? zero(primalLeaves[i])) : zero(l)
      );
      const [out, tOut] = ruleResult(op, rule(primals, unflatten(a.def, tangentLeaves) as A));
      const { leaves: outs, def } = outputTensors(op, out);
      const [tPairs] = flattenWithPath(tOut, "tangent output");
      if (tPairs.length !== outs.length) {
        throw new ShapeError(
          `${op}: the rule's tangent output has ${tPairs.length} leaves, its output ${outs.length}`,
        );
      }
      const traced = outs.map((o, k) => {
        const t = checkLike(op, tPairs[k][0], tPairs[k][1], o);
        return makeTracer(top, o, t, -1);
      });
      return unflatten(def, traced) as R;
    }
    // Reverse mode: the value from f, the pullback the transpose of the (linear) tangent map.
    const made: Tensor[] = [];
    const out = collectMade(made, () => f(...primals));
    top.own(made);
    const { leaves: outs, def: outDef } = outputTensors(op, out);
    const at = a.leaves.flatMap((l, i) => (mine(l) ? [i] : []));
    const inputs = at.map((i) => a.leaves[i] as Tensor);
    // One node for all the outputs: the rule's tangent map is transposed once, for every
    // float output's cotangent together.
    const floats = outs.flatMap((o, k) => (isFloat(o.dtype) ? [k] : []));
    const traced = top.recordMany(inputs, outs, (cts) => {
      const tangentMap = (...ts: unknown[]): unknown => {
        const leaves = a.leaves.map((l) =>
          zero(l instanceof Tensor && mine(l) ? (l as Tensor)._primal : l)
        );
        at.forEach((i, j) => (leaves[i] = ts[j]));
        const [, tOut] = ruleResult(op, rule(primals, unflatten(a.def, leaves) as A));
        const tLeaves = flattenWithPath(tOut, "tangent output")[0];
        return floats.map((k) => tLeaves[k][1]);
      };
      const { pullback, release } = vjpCore(
        op,
        tangentMap,
        at.map((i) => zerosLikeTensor(primalLeaves[i] as Tensor)),
        "tangents",
      );
      const grads = pullback(floats.map((k) => cts[k] ?? zerosLikeTensor(outs[k]))) as Tensor[];
      release(grads);
      return grads;
    });
    return unflatten(outDef, traced) as R;
  };
  return custom;
}
