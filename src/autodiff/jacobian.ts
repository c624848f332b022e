/**
 * Jacobians and Hessians built on `vmap`, as in JAX: `jacrev` maps the
 * pullback of one `vjp` over the rows of an identity (one reverse pass per
 * output element, all in one batched pass), `jacfwd` maps `jvp` over the
 * columns (one forward pass per input element), and `hessian` is
 * `jacfwd(jacrev(f))`; `linearize` keeps the jvp at a point as a `jit`
 * program of its tangent part.
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import type { Tensor } from "../core/tensor.ts";
import { eye, zerosLikeTensor } from "../ops/creation.ts";
import { reshape } from "../ops/movement.ts";
import { checkFunction } from "../ops/convert.ts";
import { moveAxis } from "../ops/_batching.ts";
import { flattenWithPath, type TreeDef, unflatten } from "../tree/tree.ts";
import { jvp } from "./jvp.ts";
import { flattenDiffArgs, vjpCore } from "./vjp.ts";
import { vmap } from "./vmap.ts";
import { argnumList } from "./grad.ts";
import { outputTensors } from "./_outputs.ts";
import { jit } from "../jit/jit.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * Options of {@linkcode jacrev}, {@linkcode jacfwd} and {@linkcode hessian}.
 *
 * @example
 * ```ts
 * import { type JacobianOptions } from "@gradus/core";
 *
 * const options: JacobianOptions = { argnums: [0, 1] }; // with respect to both arguments
 * console.log(options.argnums); // [0, 1]
 * ```
 */
export interface JacobianOptions {
  /**
   * Which positional arguments to differentiate (default 0). A number gives,
   * per output leaf, a pytree shaped like that argument; an array gives a
   * tuple of them, one per entry.
   */
  readonly argnums?: number | readonly number[];
}

/** `f` as a function of the differentiated arguments only (the others fixed). */
function ofDiffArgs(
  f: (...args: unknown[]) => unknown,
  args: readonly unknown[],
  at: readonly number[],
): (...diff: unknown[]) => unknown {
  return (...diff: unknown[]) => {
    const full = [...args];
    at.forEach((a, i) => (full[a] = diff[i]));
    return f(...full);
  };
}

/** The output's leaves (float tensors), with their paths for errors. */
function outputLeaves(op: string, out: unknown): { leaves: Tensor[]; def: TreeDef } {
  const { leaves, def } = outputTensors(op, out);
  leaves.forEach((leaf, i) => {
    if (!isFloat(leaf.dtype)) {
      throw new TypeError(
        `${op}: output ${i} has dtype ${leaf.dtype}; only float outputs have a Jacobian`,
      );
    }
  });
  return { leaves, def };
}

/** Identity rows shaped `[n, ...shape]` (`n` the size of `shape`), in `like`'s dtype. */
function basis(like: Tensor): Tensor {
  return reshape(eye(like.size, like.size, { dtype: like.dtype }), [like.size, ...like.shape]);
}

/**
 * The result pytree: per output leaf `i`, the blocks `block(i, leaf)` for
 * every leaf of the differentiated arguments, arranged like the argument
 * (a tuple of arguments when `argnums` is an array: `order` gives, for
 * each place of it, which differentiated argument fills it).
 */
function assemble(
  outDef: TreeDef,
  nOut: number,
  argDefs: readonly TreeDef[],
  counts: readonly number[],
  many: boolean,
  order: readonly number[],
  block: (i: number, leaf: number) => Tensor,
): unknown {
  const perOutput = Array.from({ length: nOut }, (_, i) => {
    let leaf = 0;
    const perArg = argDefs.map((def, a) => {
      const blocks = Array.from({ length: counts[a] }, () => block(i, leaf++));
      return unflatten(def, blocks);
    });
    return many ? order.map((k) => perArg[k]) : perArg[0];
  });
  return unflatten(outDef, perOutput);
}

const JACOBIAN_KEYS: OptionKeys<JacobianOptions> = { argnums: true };

/**
 * Reverse-mode Jacobian, JAX's `jax.jacrev`: `jacrev(f)(x)` has shape
 * `f(x).shape + x.shape`, its rows the gradients of each output element,
 * computed as one `vjp` whose pullback is mapped (`vmap`) over the rows of
 * an identity. Pytrees in and out: per output leaf, a pytree shaped like
 * the argument (a tuple of them when `argnums` is an array). Efficient when
 * outputs are fewer than inputs.
 *
 * @param f A function of tensors (or pytrees of them) returning float tensors.
 * @param opts `argnums` (default 0).
 * @returns The function computing the Jacobian.
 * @example
 * ```ts
 * import { jacrev, tensor } from "@gradus/core";
 *
 * const f = (x: ReturnType<typeof tensor>) => x.square().mul(tensor([1, 10]));
 * console.log(jacrev(f)(tensor([1, 2])).arraySync()); // [[2, 0], [0, 40]]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function jacrev<A extends any[]>(
  f: (...args: A) => unknown,
  opts: JacobianOptions = {},
  // deno-lint-ignore no-explicit-any
): (...args: A) => any {
  const op = "jacrev()";
  checkFunction(op, f, "differentiate");
  checkOptions("jacrev", opts, JACOBIAN_KEYS, "{ argnums: [0, 1] }");
  return (...args: A) => {
    // A repeated position is differentiated once; each place asking for it gets that block.
    const asked = argnumList(op, opts.argnums ?? 0, args.length);
    const at = [...new Set(asked)];
    const diff = flattenDiffArgs(op, at.map((a) => args[a]), at.map((a) => `args[${a}]`));
    const g = ofDiffArgs(f as (...a: unknown[]) => unknown, args, at);
    const { out, pullback } = vjpCore(op, g, at.map((a) => args[a]), "primals");
    const { leaves: outs, def: outDef } = outputLeaves(op, out);
    const zeros = outs.map((y) => zerosLikeTensor(y));
    // One batched pullback per output leaf: its identity rows mapped, the other cotangents zero.
    const rows = outs.map((y, i) => {
      const cts = (e: Tensor) => unflatten(outDef, zeros.map((z, k) => (k === i ? e : z)));
      const inAxes = [0];
      const grads = vmap((e: Tensor) => pullback(cts(e) as never), { inAxes })(basis(y));
      return flattenWithPath(grads, "grads")[0].map(([, t]) => t as Tensor);
    });
    return assemble(
      outDef,
      outs.length,
      diff.defs,
      diff.counts,
      typeof opts.argnums === "object",
      asked.map((a) => at.indexOf(a)),
      (i, leaf) => {
        const y = outs[i], x = diff.leaves[leaf];
        return reshape(rows[i][leaf], [...y.shape, ...x.shape]);
      },
    );
  };
}

/**
 * Forward-mode Jacobian, JAX's `jax.jacfwd`: `jacfwd(f)(x)` has shape
 * `f(x).shape + x.shape`, computed as `jvp` mapped (`vmap`) over the columns
 * of an identity, one batched forward pass. The same pytree layout as
 * {@linkcode jacrev}; efficient when inputs are fewer than outputs.
 *
 * @param f A function of tensors (or pytrees of them) returning float tensors.
 * @param opts `argnums` (default 0).
 * @returns The function computing the Jacobian.
 * @example
 * ```ts
 * import { jacfwd, tensor } from "@gradus/core";
 *
 * const f = (x: ReturnType<typeof tensor>) => x.square().mul(tensor([1, 10]));
 * console.log(jacfwd(f)(tensor([1, 2])).arraySync()); // [[2, 0], [0, 40]]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function jacfwd<A extends any[]>(
  f: (...args: A) => unknown,
  opts: JacobianOptions = {},
  // deno-lint-ignore no-explicit-any
): (...args: A) => any {
  const op = "jacfwd()";
  checkFunction(op, f, "differentiate");
  checkOptions("jacfwd", opts, JACOBIAN_KEYS, "{ argnums: [0, 1] }");
  return (...args: A) => {
    // A repeated position is differentiated once; each place asking for it gets that block.
    const asked = argnumList(op, opts.argnums ?? 0, args.length);
    const at = [...new Set(asked)];
    const primals = at.map((a) => args[a]);
    const diff = flattenDiffArgs(op, primals, at.map((a) => `args[${a}]`));
    const g = ofDiffArgs(f as (...a: unknown[]) => unknown, args, at);
    const zeros = diff.leaves.map((x) => zerosLikeTensor(x));
    // Per input leaf: jvp mapped over its identity columns (the other tangents zero).
    const structure: { leaves: Tensor[]; def: TreeDef }[] = [];
    const cols = diff.leaves.map((x, j) => {
      const tangents = (e: Tensor): unknown[] => {
        const leaves = zeros.map((z, k) => (k === j ? e : z));
        let start = 0;
        return diff.defs.map((def, a) => {
          const part = leaves.slice(start, start + diff.counts[a]);
          start += diff.counts[a];
          return unflatten(def, part);
        });
      };
      const columns = outputLeaves(
        op,
        vmap((e: Tensor) => jvp(g, primals, tangents(e))[1])(basis(x)),
      );
      structure.push(columns);
      return columns.leaves; // each [x.size, ...y.shape]
    });
    // With no input leaves, the output's structure from one call (every block is then empty).
    const { leaves: outs, def } = structure[0] ?? outputLeaves(op, g(...primals));
    return assemble(
      def,
      outs.length,
      diff.defs,
      diff.counts,
      typeof opts.argnums === "object",
      asked.map((a) => at.indexOf(a)),
      (i, leaf) => {
        const x = diff.leaves[leaf], t = cols[leaf][i];
        return reshape(moveAxis(t, 0, t.ndim - 1), [...t.shape.slice(1), ...x.shape]);
      },
    );
  };
}

/**
 * The Hessian, JAX's `jax.hessian`: `jacfwd(jacrev(f))`, forward over
 * reverse. For a scalar `f` of `x`, shape `x.shape + x.shape`.
 *
 * @param f A function returning a scalar float tensor (or any float output:
 * the result then has shape `out.shape + x.shape + x.shape`).
 * @param opts `argnums` (default 0).
 * @returns The function computing the Hessian.
 * @example
 * ```ts
 * import { hessian, sum, tensor } from "@gradus/core";
 *
 * // The book's f(x0, x1) = x0² + x1²: its Hessian is 2·I everywhere.
 * const f = (x: ReturnType<typeof tensor>) => sum(x.square());
 * console.log(hessian(f)(tensor([3, 4])).arraySync()); // [[2, 0], [0, 2]]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function hessian<A extends any[]>(
  f: (...args: A) => unknown,
  opts: JacobianOptions = {},
  // deno-lint-ignore no-explicit-any
): (...args: A) => any {
  checkFunction("hessian()", f, "differentiate");
  checkOptions("hessian", opts, JACOBIAN_KEYS, "{ argnums: [0, 1] }");
  const h = jacfwd(jacrev(f, opts), opts);
  return (...args: A) => {
    argnumList("hessian()", opts.argnums ?? 0, args.length); // errors name hessian, not jacfwd
    return h(...args);
  };
}

/**
 * Linearises `f` at `primals`, JAX's `jax.linearize`: returns `f(...primals)`
 * and a function of tangents computing the jvp there. `f` runs once: its
 * primal values are computed now and kept as constants, and the returned
 * function is a `jit` program of the tangent computation only (so calling
 * it many times costs only the linear part).
 *
 * @param f A function of tensors (or pytrees of them) returning tensors.
 * @param primals The point (float tensors at every leaf).
 * @returns `[out, fJvp]`, `fJvp(...tangents)` with one tangent per primal.
 * @example
 * ```ts
 * import { linearize, tensor, type Tensor } from "@gradus/core";
 *
 * const [y, fJvp] = linearize((x: Tensor) => x.exp(), tensor([0, 1]));
 * console.log(y.arraySync(), fJvp(tensor([1, 1])).arraySync()); // [1, 2.718…] [1, 2.718…]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function linearize<A extends any[], R>(
  f: (...args: A) => R,
  ...primals: A
): [R, (...tangents: A) => R] {
  checkFunction("linearize()", f, "differentiate");
  let out: R | undefined;
  const tangentMap = jit((...tangents: A): R => {
    const [o, t] = jvp(f, primals, tangents);
    out = o;
    return t;
  });
  // Tracing once with zero tangents computes the primal values (now, concretely) and the program.
  const zeros = flattenDiffArgs("linearize()", primals, "primals");
  let at = 0;
  const zeroArgs = zeros.defs.map((def, i) => {
    const leaves = zeros.leaves.slice(at, at + zeros.counts[i]).map((x) => zerosLikeTensor(x));
    at += zeros.counts[i];
    return unflatten(def, leaves);
  }) as A;
  tangentMap(...zeroArgs);
  return [out as R, tangentMap];
}
