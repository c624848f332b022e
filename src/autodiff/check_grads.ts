/**
 * Numerical differentiation: the book's `numerical_gradient` (central
 * differences element by element) and JAX's `check_grads` (autodiff vs
 * central differences along random directions).
 *
 * Both read values back to the host (they are testing tools); they need a
 * backend with synchronous reads (the CPU). Use float64 inputs for tight
 * tolerances.
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import { fmtShape } from "../core/errors.ts";
import { makeTensor, Tensor } from "../core/tensor.ts";
import { backendOf, describe } from "../ops/convert.ts";
import { add, mul } from "../ops/elementwise.ts";
import { zerosLikeTensor } from "../ops/creation.ts";
import { key as makeKey, normal, type PRNGKey, split } from "../random/random.ts";
import { flatten, flattenWithPath, unflatten } from "../tree/tree.ts";
import { jvp } from "./jvp.ts";
import { tidy } from "./tidy.ts";
import { vjp } from "./vjp.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * Options of `numericalGradient`.
 *
 * @example
 * ```ts
 * import {
 *   numericalGradient,
 *   type NumericalGradientOptions,
 *   square,
 *   sum,
 *   type Tensor,
 *   tensor,
 * } from "@gradus/core";
 *
 * const f = (x: Tensor) => sum(square(x));
 * const options: NumericalGradientOptions = { h: 1e-6 };
 * const g = numericalGradient(f, tensor([1, -2], { dtype: "float64" }), options);
 * console.log(g.arraySync()); // ≈ [2, -4]
 * ```
 */
export interface NumericalGradientOptions {
  /** Step `h` of the central difference (default 1e-4, as in the book). */
  readonly h?: number;
}

function hostValues(op: string, t: Tensor): Float64Array {
  const b = backendOf(t);
  if (!b.canReadSync) {
    throw new Error(
      `${op}: needs synchronous reads, which the ${b.name} backend does not offer; run it on the CPU (setBackend("cpu"))`,
    );
  }
  return Float64Array.from(t.dataSync());
}

function scalarOf(op: string, v: Tensor | number): number {
  if (typeof v === "number") return v;
  if (!(v instanceof Tensor) || v.size !== 1) {
    throw new TypeError(
      `${op}: f must return a scalar (a number or a one-element tensor), got ${
        v instanceof Tensor ? `shape ${fmtShape(v.shape)}` : describe(v)
      }`,
    );
  }
  return hostValues(op, v)[0];
}

const NUMERICAL_GRADIENT_KEYS: OptionKeys<NumericalGradientOptions> = { h: true };

/**
 * The gradient of a scalar function by central differences, element by
 * element: `(f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h` — the book's
 * `numerical_gradient`. Slow (2 evaluations per element) and approximate;
 * use it to check `grad`.
 *
 * `x` is a tensor or, like `grad`'s arguments, a pytree of float tensors
 * (`{ w1, b1, w2, b2 }`, an `nn.mlp`'s params array…; `null` entries have
 * no leaves): the result has the same structure, one gradient per leaf, so
 * the book's gradient check is one call. Each evaluation of `f` runs in
 * `tidy`, so its temporaries are freed at once.
 *
 * Near a kink of `f` (ReLU at 0, `max`, `abs`…) the two evaluations can
 * straddle it and the estimate is off; use points away from kinks.
 *
 * @typeParam T The type of `x`: a tensor or a pytree of them.
 * @param f A function of `x` returning a scalar (tensor or number).
 * @param x The point: a float tensor or a pytree of float tensors (not changed).
 * @param opts `h` (default 1e-4).
 * @returns The gradient, with the structure of `x` and each leaf's shape and dtype.
 * @throws {TypeError} When a leaf of `x` is not a float tensor (naming its
 * key path), or `f` does not return a scalar.
 * @example
 * ```ts
 * import { numericalGradient, square, sum, type Tensor, tensor } from "@gradus/core";
 * const f = (x: Tensor) => sum(square(x)); // the book's function_2
 * console.log(numericalGradient(f, tensor([3, 4], { dtype: "float64" })).arraySync()); // ≈ [6, 8]
 * ```
 * @example The book's gradient check: numerical vs backprop, for every parameter
 * ```ts
 * import { grad, matmul, numericalGradient, random, sum, tanh, type Tensor } from "@gradus/core";
 *
 * type Params = { w: Tensor; b: Tensor };
 * const [kw, kb, kx] = random.split(random.key(0), 3);
 * const f64 = { dtype: "float64" } as const;
 * const params = { w: random.normal(kw, [3, 2], f64), b: random.normal(kb, [2], f64) };
 * const x = random.normal(kx, [4, 3], f64);
 * const loss = (p: Params) => sum(tanh(matmul(x, p.w).add(p.b)));
 * const numeric = numericalGradient(loss, params);
 * const backprop = grad(loss)(params);
 * for (const key of ["w", "b"] as const) {
 *   const diff = backprop[key].sub(numeric[key]).abs().mean().itemSync();
 *   console.log(key, diff < 1e-8); // true
 * }
 * ```
 */
export function numericalGradient<T>(
  f: (x: T) => Tensor | number,
  x: T,
  opts: NumericalGradientOptions = {},
): T {
  const op = "numericalGradient()";
  checkOptions("numericalGradient", opts, NUMERICAL_GRADIENT_KEYS, "{ h: 1e-6 }");
  if (typeof f !== "function") {
    throw new TypeError(`${op}: f must be a function of x returning a scalar, got ${describe(f)}`);
  }
  const h = opts.h ?? 1e-4;
  if (!(h > 0) || !Number.isFinite(h)) {
    throw new RangeError(`${op}: h must be a finite number > 0, got ${h}`);
  }
  const [pairs, def] = flattenWithPath(x, "x");
  const leaves = pairs.map(([path, l]) => {
    if (!(l instanceof Tensor) || !isFloat(l.dtype)) {
      throw new TypeError(
        `${op}: ${path} must be a float tensor, got ${
          l instanceof Tensor ? `a tensor of dtype ${l.dtype}` : describe(l)
        }; pass the values to differentiate as float tensors and close over the rest`,
      );
    }
    return l;
  });
  const grads = leaves.map((leaf, k) => {
    const base = hostValues(op, leaf);
    const b = backendOf(leaf);
    const grad = new Float64Array(base.length);
    const at = (i: number, v: number): T => {
      const a = leaf.dtype === "float64" ? Float64Array.from(base) : Float32Array.from(base);
      a[i] = v;
      const moved = makeTensor(b, b.upload(a, leaf.dtype), leaf.shape, leaf.dtype);
      return unflatten(def, leaves.map((l, j) => (j === k ? moved : l))) as T;
    };
    for (let i = 0; i < base.length; i++) {
      const fp = tidy(() => scalarOf(op, f(at(i, base[i] + h))));
      const fm = tidy(() => scalarOf(op, f(at(i, base[i] - h))));
      grad[i] = (fp - fm) / (2 * h);
    }
    const out = leaf.dtype === "float64" ? grad : Float32Array.from(grad);
    return makeTensor(b, b.upload(out, leaf.dtype), leaf.shape, leaf.dtype);
  });
  return unflatten(def, grads) as T;
}

/**
 * Options of `checkGrads`.
 *
 * @example
 * ```ts
 * import {
 *   checkGrads,
 *   type CheckGradsOptions,
 *   mul,
 *   random,
 *   sin,
 *   sum,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * const f = (x: Tensor) => sum(mul(sin(x), x));
 * const x = random.normal(random.key(0), [3], { dtype: "float64" });
 * const options: CheckGradsOptions = { order: 2, modes: ["rev"], atol: 1e-6, rtol: 1e-6 };
 * checkGrads(f, [x], options); // throws if a derivative disagrees with central differences
 * console.log("ok"); // ok
 * ```
 */
export interface CheckGradsOptions {
  /** Check derivatives up to this order (default 1; 2 also checks derivatives of derivatives). */
  readonly order?: 1 | 2;
  /** Which modes to check (default both). */
  readonly modes?: readonly ("fwd" | "rev")[];
  /** Central-difference step (default 1e-6 for float64 inputs, 1e-3 for float32). */
  readonly eps?: number;
  /** Absolute tolerance (default 1e-5 for float64, 2e-2 for float32). */
  readonly atol?: number;
  /** Relative tolerance (default 1e-5 for float64, 2e-2 for float32). */
  readonly rtol?: number;
  /** Key for the random directions (default `random.key(0)`). */
  readonly key?: PRNGKey;
}

type Fn = (...args: unknown[]) => unknown;

interface Tol {
  eps: number;
  atol: number;
  rtol: number;
}

function floatLeaves(op: string, tree: unknown, root: string): Tensor[] {
  return flattenWithPath(tree, root)[0].map(([path, l]) => {
    if (!(l instanceof Tensor) || !isFloat(l.dtype)) {
      throw new TypeError(`${op}: ${path} must be a float tensor, got ${describe(l)}`);
    }
    return l;
  });
}

function randomLike(k: PRNGKey, tree: unknown): [unknown, PRNGKey] {
  const [leaves, def] = flatten(tree);
  const keys = split(k, leaves.length + 1);
  const dirs = (leaves as Tensor[]).map((l, i) => normal(keys[i + 1], l.shape, { dtype: l.dtype }));
  return [unflatten(def, dirs), keys[0]];
}

function outputLeaves(op: string, out: unknown): Tensor[] {
  return flattenWithPath(out, "output")[0].map(([path, l]) => {
    if (!(l instanceof Tensor)) {
      throw new TypeError(`${op}: f must return tensors, but ${path} is ${describe(l)}`);
    }
    return l;
  });
}

function axpy(args: readonly unknown[], dirs: readonly unknown[], s: number): unknown[] {
  return args.map((a, i) => {
    const [leaves, def] = flatten(a);
    const ds = flatten(dirs[i])[0] as Tensor[];
    return unflatten(def, (leaves as Tensor[]).map((l, j) => add(l, mul(ds[j], s))));
  });
}

/** Central differences of all output leaves along `dirs`. */
function numericJvp(
  op: string,
  f: Fn,
  args: readonly unknown[],
  dirs: readonly unknown[],
  eps: number,
) {
  const plus = outputLeaves(op, f(...axpy(args, dirs, eps)));
  const minus = outputLeaves(op, f(...axpy(args, dirs, -eps)));
  return plus.map((p, i) => {
    const a = hostValues(op, p);
    const m = hostValues(op, minus[i]);
    return a.map((v, j) => (v - m[j]) / (2 * eps));
  });
}

function compare(
  op: string,
  what: string,
  got: Float64Array,
  want: Float64Array,
  tol: Tol,
): void {
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < got.length; i++) {
    const diff = Math.abs(got[i] - want[i]);
    const excess = diff - (tol.atol + tol.rtol * Math.abs(want[i]));
    if (Number.isNaN(diff) || excess > worstExcess) {
      worst = i;
      worstExcess = Number.isNaN(diff) ? Infinity : excess;
      if (Number.isNaN(diff)) break;
    }
  }
  if (worst >= 0) {
    const g = got[worst];
    const w = want[worst];
    throw new Error(
      `${op}: ${what} differs from central differences at flat index ${worst}: ` +
        `autodiff ${g}, numerical ${w}, |diff| ${
          Math.abs(g - w)
        } > atol ${tol.atol} + rtol ${tol.rtol}·|numerical|. ` +
        `A likely cause when f has kinks (relu, leakyRelu, abs, max/min, maximum/minimum, clip, ` +
        `round, sort…): a point within eps = ${tol.eps} of a kink, where the central difference ` +
        `straddles it; check at points away from kinks (e.g. nudge inputs off 0 for relu) ` +
        `before suspecting the derivative`,
    );
  }
}

function dotAll(a: readonly Tensor[], b: readonly Tensor[], op: string): number {
  let s = 0;
  a.forEach((t, i) => {
    const x = hostValues(op, t);
    const y = hostValues(op, b[i]);
    for (let j = 0; j < x.length; j++) s += x[j] * y[j];
  });
  return s;
}

function checkJvp(
  op: string,
  f: Fn,
  args: readonly unknown[],
  k: PRNGKey,
  tol: Tol,
  order: number,
) {
  const dirs: unknown[] = [];
  let kk = k;
  for (const a of args) {
    const [d, next] = randomLike(kk, a);
    dirs.push(d);
    kk = next;
  }
  const [, tOut] = jvp(f, [...args], dirs);
  const got = outputLeaves(op, tOut);
  const want = numericJvp(op, f, args, dirs, tol.eps);
  got.forEach((g, i) => {
    if (isFloat(g.dtype)) {
      compare(op, `jvp (order ${order}) of output leaf ${i}`, hostValues(op, g), want[i], tol);
    }
  });
  return { dirs, key: kk };
}

function checkVjp(
  op: string,
  f: Fn,
  args: readonly unknown[],
  k: PRNGKey,
  tol: Tol,
  order: number,
) {
  const dirs: unknown[] = [];
  let kk = k;
  for (const a of args) {
    const [d, next] = randomLike(kk, a);
    dirs.push(d);
    kk = next;
  }
  const [out, pullback] = vjp(f, ...args);
  const outs = outputLeaves(op, out);
  const [, outDef] = flatten(out);
  const [ctKey, rest] = split(kk);
  const cts = outs.map((o, i) =>
    isFloat(o.dtype)
      ? normal(split(ctKey, outs.length)[i], o.shape, { dtype: o.dtype })
      : zerosLikeTensor(o)
  );
  const ct = unflatten(outDef, cts);
  const inCts = pullback(ct);
  const lhs = dotAll(
    args.flatMap((_, i) => floatLeaves(op, inCts[i], `cotangent[${i}]`)),
    args.flatMap((_, i) => floatLeaves(op, dirs[i], `direction[${i}]`)),
    op,
  );
  const num = numericJvp(op, f, args, dirs, tol.eps);
  let rhs = 0;
  outs.forEach((o, i) => {
    if (!isFloat(o.dtype)) return;
    const u = hostValues(op, cts[i]);
    for (let j = 0; j < u.length; j++) rhs += u[j] * num[i][j];
  });
  compare(
    op,
    `vjp (order ${order}): <pullback(u), v> vs <u, numerical jvp(v)>`,
    new Float64Array([lhs]),
    new Float64Array([rhs]),
    tol,
  );
  return { ct, key: rest };
}

const CHECK_GRADS_KEYS: OptionKeys<CheckGradsOptions> = {
  order: true,
  modes: true,
  eps: true,
  atol: true,
  rtol: true,
  key: true,
};

/**
 * Checks `f`'s derivatives against central differences, like JAX's
 * `check_grads`: forward mode compares `jvp(f, args, v)` with
 * `(f(args + ε v) − f(args − ε v)) / 2ε` for a random direction `v`;
 * reverse mode compares `⟨pullback(u), v⟩` with `⟨u, numerical jvp(v)⟩`
 * for a random cotangent `u`. With `order: 2` it also checks the
 * derivatives of the derivative functions. Throws an error naming the worst
 * element when a check fails. The usual false alarm is a kink (ReLU at 0,
 * `max`, `abs`…) within `eps` of the point, where central differences
 * straddle it; the error says so, and points away from kinks avoid it.
 *
 * @param f A function of tensors (pytrees allowed) returning tensors.
 * @param args The arguments (float tensors; float64 for tight tolerances).
 * @param opts `order`, `modes`, `eps`, `atol`, `rtol`, `key`.
 * @example
 * ```ts
 * import { checkGrads, mul, sin, type Tensor, tensor } from "@gradus/core";
 * const x = tensor([0.3, -1.2, 2], { dtype: "float64" });
 * checkGrads((x: Tensor) => mul(sin(x), x), [x], { order: 2 }); // throws if wrong
 * ```
 */
export function checkGrads(
  // deno-lint-ignore no-explicit-any
  f: (...args: any[]) => unknown,
  args: readonly unknown[],
  opts: CheckGradsOptions = {},
): void {
  const op = "checkGrads()";
  checkOptions("checkGrads", opts, CHECK_GRADS_KEYS, '{ order: 2, modes: ["rev"] }');
  if (!Array.isArray(args)) {
    throw new TypeError(`${op}: args must be an array with one entry per argument of f`);
  }
  const leaves = args.flatMap((a, i) => floatLeaves(op, a, `args[${i}]`));
  const f64 = leaves.every((l) => l.dtype === "float64");
  const tol: Tol = {
    eps: opts.eps ?? (f64 ? 1e-6 : 1e-3),
    atol: opts.atol ?? (f64 ? 1e-5 : 2e-2),
    rtol: opts.rtol ?? (f64 ? 1e-5 : 2e-2),
  };
  const modes = opts.modes ?? ["fwd", "rev"];
  const order = opts.order ?? 1;
  // A check that checks nothing must not pass: a typo ("reverse") or an empty list is an error.
  if (
    !Array.isArray(modes) || modes.length === 0 ||
    !modes.every((m: unknown) => m === "fwd" || m === "rev")
  ) {
    throw new TypeError(
      `${op}: modes must be a non-empty array of "fwd" and "rev", got ${JSON.stringify(modes)}`,
    );
  }
  if (order !== 1 && order !== 2) {
    throw new RangeError(`${op}: order must be 1 or 2, got ${order}`);
  }
  checkOrder(op, f as Fn, args, opts.key ?? makeKey(0), tol, modes, order, 1);
}

function checkOrder(
  op: string,
  f: Fn,
  args: readonly unknown[],
  k: PRNGKey,
  tol: Tol,
  modes: readonly string[],
  order: number,
  level: number,
): void {
  let kk = k;
  if (modes.includes("fwd")) {
    const { dirs, key } = checkJvp(op, f, args, kk, tol, level);
    kk = key;
    if (order > 1) {
      const df: Fn = (...a) => jvp(f, a, dirs)[1];
      checkOrder(op, df, args, kk, tol, modes, order - 1, level + 1);
    }
  }
  if (modes.includes("rev")) {
    const { ct, key } = checkVjp(op, f, args, kk, tol, level);
    kk = key;
    if (order > 1) {
      const df: Fn = (...a) => vjp(f, ...a)[1](ct);
      checkOrder(op, df, args, kk, tol, modes, order - 1, level + 1);
    }
  }
}
