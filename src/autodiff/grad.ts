/**
 * `grad` and `valueAndGrad`: thin layers over `vjp` for scalar-valued
 * functions.
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import { DTypeError, fmtShape, ShapeError } from "../core/errors.ts";
import { Tensor } from "../core/tensor.ts";
import { onesLike } from "../ops/creation.ts";
import { checkFunction, describe } from "../ops/convert.ts";
import { disposeAllBut } from "./tidy.ts";
import { nextLevel } from "./trace.ts";
import { vjpCore } from "./vjp.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * Options of `grad` and `valueAndGrad`.
 *
 * @example
 * ```ts
 * import { grad, type GradOptions, mul, sum, type Tensor, tensor } from "@gradus/core";
 *
 * const f = (w: Tensor, x: Tensor) => sum(mul(w, x));
 * const options: GradOptions = { argnums: [0, 1] };
 * const [dw, dx] = grad(f, options)(tensor([1, 2]), tensor([3, 4]));
 * console.log(dw.arraySync(), dx.arraySync()); // [3, 4] [1, 2]
 * ```
 */
export interface GradOptions {
  /**
   * Which positional argument(s) to differentiate (default 0; negative
   * positions count from the end). With an
   * array, gradients come back as an array in the same order; a repeated
   * index gets the same gradient in each of its places (as in JAX).
   */
  readonly argnums?: number | readonly number[];
  /** `f` returns `[value, aux]`; `aux` is passed through undifferentiated (default false). */
  readonly hasAux?: boolean;
}

/**
 * The type of a gradient with respect to an argument of type `T`: the same
 * type, except that an argument typed as a plain number (`TensorLike`)
 * has a tensor gradient.
 *
 * @example
 * ```ts
 * import { grad, type GradOf, square, sum, type TensorLike, tensor } from "@gradus/core";
 *
 * // An argument typed TensorLike (a tensor or a number) has a tensor gradient.
 * const f = (x: TensorLike) => sum(square(x));
 * const dx: GradOf<TensorLike> = grad(f)(tensor(3));
 * console.log(dx.arraySync()); // 6
 * ```
 */
export type GradOf<T> = T extends number | boolean ? Tensor : T;

/**
 * `GradOptions` for one argument, without aux.
 *
 * @example
 * ```ts
 * import { grad, type GradOptionsN, mul, sum, type Tensor, tensor } from "@gradus/core";
 *
 * const f = (w: Tensor, x: Tensor) => sum(mul(w, x));
 * const options: GradOptionsN<1> = { argnums: 1 }; // differentiate with respect to x
 * console.log(grad(f, options)(tensor([1, 2]), tensor([3, 4])).arraySync()); // [1, 2]
 * ```
 */
export interface GradOptionsN<N extends number> {
  /** Which positional argument to differentiate (default 0). */
  readonly argnums?: N;
  /** No aux output. */
  readonly hasAux?: false;
}

/**
 * `GradOptions` for one argument, with aux.
 *
 * @example
 * ```ts
 * import { grad, type GradOptionsAux, mul, sum, type Tensor, tensor } from "@gradus/core";
 *
 * // f returns [loss, aux]: aux (here the predictions) comes back next to the gradient.
 * const f = (w: Tensor): [Tensor, Tensor] => {
 *   const pred = mul(w, 2);
 *   return [sum(pred), pred];
 * };
 * const options: GradOptionsAux<0> = { hasAux: true };
 * const [g, pred] = grad(f, options)(tensor([1, 5]));
 * console.log(g.arraySync(), pred.arraySync()); // [2, 2] [2, 10]
 * ```
 */
export interface GradOptionsAux<N extends number> {
  /** Which positional argument to differentiate (default 0). */
  readonly argnums?: N;
  /** `f` returns `[value, aux]`. */
  readonly hasAux: true;
}

const GRAD_KEYS: OptionKeys<GradOptions> = { argnums: true, hasAux: "boolean" };

/** The positions `argnums` names, checked against a call with `nargs` arguments. @internal */
export function argnumList(
  op: string,
  argnums: number | readonly number[],
  nargs: number,
): number[] {
  const list = typeof argnums === "number" ? [argnums] : [...argnums];
  for (const a of list) {
    if (typeof a !== "number" || !Number.isInteger(a)) {
      throw new TypeError(
        `${op}: argnums must be an integer or an array of integers, got ${
          JSON.stringify(argnums) ?? String(argnums)
        }`,
      );
    }
    if (a < -nargs || a >= nargs) {
      throw new RangeError(
        `${op}: argnums ${
          JSON.stringify(argnums)
        } is out of range: the function was called with ${nargs} argument(s)`,
      );
    }
  }
  // Negative positions count from the end, as in JAX (and jit's staticArgnums).
  return list.map((a) => (a < 0 ? a + nargs : a));
}

function checkScalar(op: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) {
    throw new TypeError(
      `${op}: the function must return a scalar tensor, got ${describe(value)}` +
        `; with hasAux: true it must return [scalar, aux]`,
    );
  }
  if (value.ndim !== 0) {
    throw new ShapeError(
      `${op}: the function must return a scalar, got shape ${fmtShape(value.shape)}; ` +
        `reduce it first (sum() or mean()), or use vjp() for non-scalar outputs`,
    );
  }
  if (!isFloat(value.dtype)) {
    throw new DTypeError(`${op}: the function must return a float scalar, got ${value.dtype}`);
  }
  return value;
}

function valueAndGradImpl(
  op: string,
  f: (...args: unknown[]) => unknown,
  opts: GradOptions,
): (...args: unknown[]) => [unknown, unknown] {
  checkFunction(op, f, "differentiate");
  checkOptions(op.slice(0, -2), opts, GRAD_KEYS, "{ argnums: 1, hasAux: true }");
  const argnums = opts.argnums ?? 0;
  const hasAux = opts.hasAux ?? false;
  return (...args: unknown[]) => {
    const asked = argnumList(op, argnums, args.length);
    // A repeated argnum (JAX allows [0, 0]) is differentiated once; each
    // place that asked for it gets that gradient.
    const nums = [...new Set(asked)];
    const wrapped = (...diffArgs: unknown[]) => {
      const full = [...args];
      nums.forEach((n, i) => (full[n] = diffArgs[i]));
      const r = f(...full);
      if (!hasAux) return checkScalar(op, r);
      if (!Array.isArray(r) || r.length !== 2) {
        throw new TypeError(`${op}: with hasAux: true the function must return [value, aux]`);
      }
      return [checkScalar(op, r[0]), r[1]];
    };
    const { out, aux, pullback, release } = vjpCore(
      op,
      wrapped,
      nums.map((n) => args[n]),
      nums.map((n) => `args[${n}]`),
      hasAux,
    );
    const value = out as Tensor;
    const seed = onesLike(value);
    const grads = pullback(seed);
    release(grads);
    // At the top level the seed is a temporary (f = x => x returns it as the
    // gradient); inside another transformation that one's tape may use it.
    if (nextLevel() === 1) disposeAllBut([seed], [grads]);
    const g = typeof argnums === "number" ? grads[0] : asked.map((n) => grads[nums.indexOf(n)]);
    return [hasAux ? [value, aux] : value, g];
  };
}

/**
 * Makes a function that returns both `f`'s value and its gradient with
 * respect to argument `argnums` (default 0). `f` must return a float scalar
 * tensor (or `[scalar, aux]` with `hasAux`). Arguments may be pytrees of
 * tensors: the gradient mirrors the structure (and the type) exactly. With
 * an array `argnums`, the gradients come back as an array.
 *
 * @param f A scalar-valued function.
 * @param opts `argnums` (number or array) and `hasAux`.
 * @returns A function returning `[value, grads]` (with aux: `[[value, aux], grads]`).
 * @example
 * ```ts
 * import { sum, square, type Tensor, tensor, valueAndGrad } from "@gradus/core";
 * const loss = (p: { w: Tensor }) => sum(square(p.w));
 * const [value, grads] = valueAndGrad(loss)({ w: tensor([1, 2]) });
 * console.log(value.itemSync(), grads.w.arraySync()); // 5 [2, 4]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function valueAndGrad<A extends any[], N extends number = 0>(
  f: (...args: A) => Tensor,
  opts?: GradOptionsN<N>,
): (...args: A) => [Tensor, GradOf<A[N]>];
/**
 * `valueAndGrad` with `hasAux: true`: `f` returns `[value, aux]`.
 *
 * @param f A function returning `[scalar, aux]`.
 * @param opts `hasAux: true` and optionally `argnums`.
 * @returns A function returning `[[value, aux], grads]`.
 * @example
 * ```ts
 * import { sum, type Tensor, tensor, valueAndGrad } from "@gradus/core";
 * const f = (x: Tensor): [Tensor, string] => [sum(x), "aux"];
 * const [[v, aux], g] = valueAndGrad(f, { hasAux: true })(tensor([1, 2]));
 * console.log(v.itemSync(), aux, g.arraySync()); // 3 "aux" [1, 1]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function valueAndGrad<A extends any[], X, N extends number = 0>(
  f: (...args: A) => [Tensor, X],
  opts: GradOptionsAux<N>,
): (...args: A) => [[Tensor, X], GradOf<A[N]>];
/**
 * `valueAndGrad` with general options (e.g. several `argnums`).
 *
 * @param f A scalar-valued function.
 * @param opts Options.
 * @returns A function returning `[value, grads]`.
 * @example
 * ```ts
 * import { mul, tensor, valueAndGrad } from "@gradus/core";
 * const [v, [ga, gb]] = valueAndGrad(mul, { argnums: [0, 1] })(tensor(2), tensor(3));
 * console.log(v.itemSync(), ga.itemSync(), gb.itemSync()); // 6 3 2
 * ```
 */
// deno-lint-ignore no-explicit-any
export function valueAndGrad<A extends any[]>(
  f: (...args: A) => unknown,
  opts: GradOptions,
  // deno-lint-ignore no-explicit-any
): (...args: A) => [any, any];
// deno-lint-ignore no-explicit-any
export function valueAndGrad<A extends any[]>(
  f: (...args: A) => unknown,
  opts: GradOptions = {},
  // deno-lint-ignore no-explicit-any
): (...args: A) => [any, any] {
  return valueAndGradImpl("valueAndGrad()", f as (...a: unknown[]) => unknown, opts);
}

/**
 * Makes a function that returns the gradient of the scalar-valued `f` with
 * respect to argument `argnums` (default 0), with the same pytree structure
 * as that argument. Any order works: `grad(grad(f))`.
 *
 * @param f A scalar-valued function.
 * @param opts `argnums` (default 0).
 * @returns The gradient function.
 * @example
 * ```ts
 * import { grad, tanh, tensor } from "@gradus/core";
 * const d2 = grad(grad(tanh));
 * console.log(d2(tensor(0.5)).itemSync()); // -0.72686… = -2 tanh(x)(1 - tanh²(x))
 * ```
 */
// deno-lint-ignore no-explicit-any
export function grad<A extends any[], N extends number = 0>(
  f: (...args: A) => Tensor,
  opts?: GradOptionsN<N>,
): (...args: A) => GradOf<A[N]>;
/**
 * `grad` with `hasAux: true`: `f` returns `[value, aux]`; the gradient
 * function returns `[grads, aux]`.
 *
 * @param f A function returning `[scalar, aux]`.
 * @param opts `hasAux: true` and optionally `argnums`.
 * @returns The gradient function.
 * @example
 * ```ts
 * import { grad, sum, type Tensor, tensor } from "@gradus/core";
 * const [g, aux] = grad((x: Tensor): [Tensor, number] => [sum(x), 42], { hasAux: true })(tensor([1]));
 * console.log(g.arraySync(), aux); // [1] 42
 * ```
 */
// deno-lint-ignore no-explicit-any
export function grad<A extends any[], X, N extends number = 0>(
  f: (...args: A) => [Tensor, X],
  opts: GradOptionsAux<N>,
): (...args: A) => [GradOf<A[N]>, X];
/**
 * `grad` with general options (e.g. several `argnums`: the gradients come
 * back as an array).
 *
 * @param f A scalar-valued function.
 * @param opts Options.
 * @returns The gradient function.
 * @example
 * ```ts
 * import { grad, mul, tensor } from "@gradus/core";
 * const [ga, gb] = grad(mul, { argnums: [0, 1] })(tensor(2), tensor(3));
 * console.log(ga.itemSync(), gb.itemSync()); // 3 2
 * ```
 */
// deno-lint-ignore no-explicit-any
export function grad<A extends any[]>(
  f: (...args: A) => unknown,
  opts: GradOptions,
  // deno-lint-ignore no-explicit-any
): (...args: A) => any;
// deno-lint-ignore no-explicit-any
export function grad<A extends any[]>(
  f: (...args: A) => unknown,
  opts: GradOptions = {},
  // deno-lint-ignore no-explicit-any
): (...args: A) => any {
  const vg = valueAndGradImpl("grad()", f as (...a: unknown[]) => unknown, opts);
  return (...args: A) => {
    const [v, g] = vg(...args);
    return opts.hasAux ? [g, (v as [unknown, unknown])[1]] : g;
  };
}
