/**
 * Reductions: `sum`, `max`, `min` over one axis or several, `argmax`,
 * `argmin`, `logsumexp`, and the composites `mean`, `variance` and `std`.
 *
 * @module
 */

import type { Backend, DataHandle, ReduceOp } from "../backend/backend.ts";
import { DTypeError, ShapeError } from "../core/errors.ts";
import { broadcastStrides, normAxes, normAxis, type Shape, sizeOf } from "../core/shape.ts";
import type { ReduceOptions, VarianceOptions } from "../core/op_options.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensor, requireFloat } from "./convert.ts";
import { cast, div, equal, exp, mul, sqrt, square, sub } from "./elementwise.ts";
import { broadcastTo, reshape } from "./movement.ts";
import { bind, definePrimitive, type Primitive } from "./primitive.ts";
import { axesBatch, axisBatch } from "./_batching.ts";
import { checkOptions, type OptionKeys } from "./_options.ts";

const REDUCE_KEYS: OptionKeys<ReduceOptions> = { keepdims: "boolean" };
const VARIANCE_KEYS: OptionKeys<VarianceOptions> = { keepdims: "boolean", ddof: true };

/** `keepdims` of a reduction's options, checked (see `checkOptions`). */
function keepdimsOf(op: string, opts: ReduceOptions | undefined): boolean {
  checkOptions(op, opts, REDUCE_KEYS, "{ keepdims: true }");
  return opts?.keepdims ?? false;
}

export type { ReduceOptions, VarianceOptions } from "../core/op_options.ts";

interface ReduceParams {
  readonly axes: readonly number[];
  readonly keepdims: boolean;
}

function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (axes.includes(i)) {
      if (keepdims) out.push(1);
    } else out.push(shape[i]);
  }
  return out;
}

/**
 * Reduces `axes` (sorted, distinct) of a dense buffer: contiguous runs of
 * axes go to the backend in one call, others one run at a time from the last.
 */
function reduceAxes(
  be: Backend,
  op: ReduceOp,
  data: DataHandle,
  shape: Shape,
  axes: readonly number[],
  dtype: Tensor["dtype"],
): DataHandle {
  let cur = data;
  let curShape = [...shape];
  let curDtype = dtype;
  let i = axes.length - 1;
  while (i >= 0) {
    let j = i;
    while (j > 0 && axes[j - 1] === axes[j] - 1) j--;
    const lo = axes[j];
    const hi = axes[i];
    const outer = sizeOf(curShape.slice(0, lo));
    const n = sizeOf(curShape.slice(lo, hi + 1));
    const inner = sizeOf(curShape.slice(hi + 1));
    const next = be.reduce({ op, x: cur, outer, n, inner, dtype: curDtype });
    if (cur !== data) be.dispose(cur); // an intermediate no tensor owns
    cur = next;
    curShape = [...curShape.slice(0, lo), ...curShape.slice(hi + 1)];
    if (op === "sum" && curDtype === "bool") curDtype = "int32";
    i = j - 1;
  }
  // With no axes to reduce, a bool sum still has to come back as int32 counts.
  if (op === "sum" && curDtype === "bool") {
    const counts = be.cast({ x: cur, size: sizeOf(shape), from: "bool", to: "int32" });
    if (cur !== data) be.dispose(cur);
    cur = counts;
  }
  return cur;
}

function reducePrim(
  op: "sum" | "max" | "min",
  vjp: Primitive<ReduceParams>["vjp"],
  jvp: Primitive<ReduceParams>["jvp"],
): Primitive<ReduceParams> {
  return definePrimitive<ReduceParams>({
    name: op,
    abstract: ([x], { axes, keepdims }) => {
      if (op !== "sum" && x.dtype === "bool") {
        throw new DTypeError(`${op}(): expects a numeric tensor, got bool; cast it first`);
      }
      if (op !== "sum") {
        for (const a of axes) {
          if (x.shape[a] === 0) {
            throw new ShapeError(
              `${op}(): cannot reduce the empty axis ${a} of shape [${
                x.shape.join(",")
              }] (no identity)`,
            );
          }
        }
      }
      const dtype = op === "sum" && x.dtype === "bool" ? "int32" : x.dtype;
      return { shape: reducedShape(x.shape, axes, keepdims), dtype };
    },
    impl: (be, [x], { axes }) => {
      const out = reduceAxes(be, op, x._data, x.shape, axes, x.dtype);
      // Over no axes it is x: copied, since only reshape and stopGradient
      // share their input's buffer (jit's memory plan reuses x's bytes after its last read).
      return out === x._data
        ? be.cast({ x: out, size: sizeOf(x.shape), from: x.dtype, to: x.dtype })
        : out;
    },
    vjp,
    jvp,
    batch: axesBatch,
  });
}

/** Reshapes a reduced tensor back to keepdims form so it broadcasts against the input. */
function keep(g: Tensor, inShape: Shape, p: ReduceParams): Tensor {
  return p.keepdims ? g : reshape(g, reducedShape(inShape, p.axes, true));
}

/** Where `x` attains the reduced extreme, weighted 1/(number of ties). */
function extremeWeights(x: Tensor, out: Tensor, p: ReduceParams): Tensor {
  const hit = cast(equal(x, keep(out, x.shape, p)), x.dtype);
  const count = bind(reducePrims.sum, [hit], { axes: p.axes, keepdims: true });
  return div(hit, count);
}

/**
 * The sum, max and min primitives. Not elementwise, so each states its vjp
 * and its jvp: they map between the input's shape and the reduced one in
 * opposite directions (sum's vjp broadcasts where its jvp sums; max and min
 * weight the places where the extreme is attained).
 * @internal
 */
export const reducePrims: Record<"sum" | "max" | "min", Primitive<ReduceParams>> = {
  sum: reducePrim(
    "sum",
    (g, [x], _o, p) => [broadcastTo(keep(g, x.shape, p), x.shape)],
    ([t], _x, _o, p) => bind(reducePrims.sum, [t!], p),
  ),
  max: reducePrim(
    "max",
    (g, [x], out, p) => [mul(keep(g, x.shape, p), extremeWeights(x, out, p))],
    ([t], [x], out, p) => bind(reducePrims.sum, [mul(t!, extremeWeights(x, out, p))], p),
  ),
  min: reducePrim(
    "min",
    (g, [x], out, p) => [mul(keep(g, x.shape, p), extremeWeights(x, out, p))],
    ([t], [x], out, p) => bind(reducePrims.sum, [mul(t!, extremeWeights(x, out, p))], p),
  ),
};

interface ArgParams {
  readonly axis: number;
  readonly keepdims: boolean;
}

function argPrim(op: "argmax" | "argmin"): Primitive<ArgParams> {
  return definePrimitive<ArgParams>({
    name: op,
    abstract: ([x], { axis, keepdims }) => {
      if (x.shape[axis] === 0) {
        throw new ShapeError(`${op}(): axis ${axis} of shape [${x.shape.join(",")}] is empty`);
      }
      return { shape: reducedShape(x.shape, [axis], keepdims), dtype: "int32" };
    },
    impl: (be, [x], { axis }) =>
      be.reduce({
        op,
        x: x._data,
        outer: sizeOf(x.shape.slice(0, axis)),
        n: x.shape[axis],
        inner: sizeOf(x.shape.slice(axis + 1)),
        dtype: x.dtype,
      }),
    vjp: null,
    jvp: null,
    batch: axisBatch,
  });
}

/** The argmax and argmin primitives. @internal */
export const argPrims = { argmax: argPrim("argmax"), argmin: argPrim("argmin") };

function reduce(
  prim: Primitive<ReduceParams>,
  x: TensorLike,
  axis: number | readonly number[] | null | undefined,
  opts: ReduceOptions | undefined,
): Tensor {
  const t = asTensor(prim.name, x);
  const axes = normAxes(prim.name, axis, t.ndim);
  return bind(prim, [t], { axes, keepdims: keepdimsOf(prim.name, opts) });
}

/**
 * Sum over one axis, a list of axes, or all axes (the default). Summing a
 * bool tensor counts the `true` values (int32). int32 sums wrap modulo 2³²
 * like JAX's (NumPy would widen to int64); cast to float64 first for sums
 * beyond the int32 range.
 *
 * @param x A tensor.
 * @param axis Axis or axes to reduce (negative counts from the end); all when omitted.
 * @param opts `keepdims` (default false).
 * @returns The sum.
 * @example
 * ```ts
 * import { sum, tensor } from "@gradus/core";
 * const x = tensor([[1, 2], [3, 4]]);
 * console.log(sum(x).arraySync(), sum(x, 0).arraySync(), sum(x, -1, { keepdims: true }).arraySync());
 * // 10 [4, 6] [[3], [7]]
 * ```
 */
export function sum(
  x: TensorLike,
  axis?: number | readonly number[] | null,
  opts?: ReduceOptions,
): Tensor {
  return reduce(reducePrims.sum, x, axis, opts);
}

/**
 * Maximum over axes (NaN propagates). The gradient is shared equally among
 * tied maxima.
 *
 * @param x A numeric tensor.
 * @param axis Axis or axes to reduce; all when omitted.
 * @param opts `keepdims` (default false).
 * @returns The maximum.
 * @example
 * ```ts
 * import { max, tensor } from "@gradus/core";
 * console.log(max(tensor([[1, 5], [3, 2]]), 1).arraySync()); // [5, 3]
 * ```
 */
export function max(
  x: TensorLike,
  axis?: number | readonly number[] | null,
  opts?: ReduceOptions,
): Tensor {
  return reduce(reducePrims.max, x, axis, opts);
}

/**
 * Minimum over axes (NaN propagates). The gradient is shared equally among
 * tied minima.
 *
 * @param x A numeric tensor.
 * @param axis Axis or axes to reduce; all when omitted.
 * @param opts `keepdims` (default false).
 * @returns The minimum.
 * @example
 * ```ts
 * import { min, tensor } from "@gradus/core";
 * console.log(min(tensor([[1, 5], [3, 2]]), 1).arraySync()); // [1, 2]
 * ```
 */
export function min(
  x: TensorLike,
  axis?: number | readonly number[] | null,
  opts?: ReduceOptions,
): Tensor {
  return reduce(reducePrims.min, x, axis, opts);
}

function argReduce(
  prim: Primitive<ArgParams>,
  x: TensorLike,
  axis: number | null | undefined,
  opts: ReduceOptions | undefined,
): Tensor {
  const keepdims = keepdimsOf(prim.name, opts);
  let t = asTensor(prim.name, x);
  if (t.dtype === "bool") t = cast(t, "int32");
  if (axis === undefined || axis === null) {
    const flat = reshape(t, [t.size]);
    const r = bind(prim, [flat], { axis: 0, keepdims: false });
    return keepdims ? reshape(r, t.shape.map(() => 1)) : r;
  }
  const ax = normAxis(prim.name, axis, t.ndim);
  return bind(prim, [t], { axis: ax, keepdims });
}

/**
 * Index of the maximum along an axis (the first one on ties; NaN counts as
 * the maximum, like NumPy). Without an axis, the index into the flattened
 * tensor.
 *
 * @param x A tensor.
 * @param axis The axis; omitted or null for the flattened tensor.
 * @param opts `keepdims` (default false).
 * @returns int32 indices.
 * @example
 * ```ts
 * import { argmax, tensor } from "@gradus/core";
 * console.log(argmax(tensor([[0.1, 0.8, 0.1], [0.7, 0.2, 0.1]]), -1).arraySync()); // [1, 0]
 * ```
 */
export function argmax(x: TensorLike, axis?: number | null, opts?: ReduceOptions): Tensor {
  return argReduce(argPrims.argmax, x, axis, opts);
}

/**
 * Index of the minimum along an axis (the first one on ties).
 *
 * @param x A tensor.
 * @param axis The axis; omitted or null for the flattened tensor.
 * @param opts `keepdims` (default false).
 * @returns int32 indices.
 * @example
 * ```ts
 * import { argmin, tensor } from "@gradus/core";
 * console.log(argmin(tensor([3, 1, 2])).arraySync()); // 1
 * ```
 */
export function argmin(x: TensorLike, axis?: number | null, opts?: ReduceOptions): Tensor {
  return argReduce(argPrims.argmin, x, axis, opts);
}

/**
 * Arithmetic mean over axes (float tensors; cast integers first).
 *
 * @param x A float tensor.
 * @param axis Axis or axes; all when omitted.
 * @param opts `keepdims` (default false).
 * @returns The mean.
 * @example
 * ```ts
 * import { mean, tensor } from "@gradus/core";
 * console.log(mean(tensor([[1, 2], [3, 4]]), 0).arraySync()); // [2, 3]
 * ```
 */
export function mean(
  x: TensorLike,
  axis?: number | readonly number[] | null,
  opts?: ReduceOptions,
): Tensor {
  const t = asTensor("mean", x);
  requireFloat("mean", t.dtype);
  const axes = normAxes("mean", axis, t.ndim);
  let count = 1;
  for (const a of axes) count *= t.shape[a];
  return div(bind(reducePrims.sum, [t], { axes, keepdims: keepdimsOf("mean", opts) }), count);
}

/**
 * The variance over axes: the mean of squared deviations from the mean,
 * `Σ (x − mean(x))² / (N − ddof)`. Two passes (the mean first, then the
 * squared deviations), so a large common offset costs no precision, unlike
 * `mean(x²) − mean(x)²`. Differentiable to any order (it is composed of
 * differentiable ops): `d var / dx = 2 (x − mean) / (N − ddof)`.
 *
 * Named `variance` because `var` is a reserved word in JavaScript: a module
 * can export the name, but `import { var } from …` is a syntax error, so no
 * user could import it under that name. As a method the name works, so
 * tensors have `x.var()` (NumPy's `x.var()`), and `x.std()` to match.
 *
 * @param x A float tensor.
 * @param axis Axis or axes to reduce (negative counts from the end); all when omitted.
 * @param opts `keepdims` (default false), `ddof` (default 0).
 * @returns The variance.
 * @example
 * ```ts
 * import { tensor, variance } from "@gradus/core";
 * const x = tensor([[1, 2], [3, 5]]);
 * console.log(variance(x).arraySync()); // 2.1875
 * console.log(variance(x, 0, { ddof: 1 }).arraySync()); // [2, 4.5]
 * console.log(x.var(-1, { keepdims: true }).arraySync()); // [[0.25], [1]]
 * ```
 */
export function variance(
  x: TensorLike,
  axis?: number | readonly number[] | null,
  opts: VarianceOptions = {},
): Tensor {
  return varianceOf("variance", x, axis, opts);
}

/**
 * The standard deviation over axes: `sqrt(variance(x, axis, opts))` (see
 * {@linkcode variance} for `ddof` and the two-pass computation). Its
 * gradient is `(x − mean) / ((N − ddof)·std)`: NaN (0/0) where the standard
 * deviation is 0 (all values equal), as in JAX and PyTorch.
 *
 * @param x A float tensor.
 * @param axis Axis or axes to reduce; all when omitted.
 * @param opts `keepdims` (default false), `ddof` (default 0).
 * @returns The standard deviation.
 * @example
 * ```ts
 * import { std, tensor } from "@gradus/core";
 * console.log(std(tensor([2, 4, 4, 4, 5, 5, 7, 9])).arraySync()); // 2
 * console.log(tensor([[1, 3], [2, 2]]).std(1).arraySync()); // [1, 0]
 * ```
 */
export function std(
  x: TensorLike,
  axis?: number | readonly number[] | null,
  opts: VarianceOptions = {},
): Tensor {
  return sqrt(varianceOf("std", x, axis, opts));
}

function varianceOf(
  op: string,
  x: TensorLike,
  axis: number | readonly number[] | null | undefined,
  opts: VarianceOptions,
): Tensor {
  checkOptions(op, opts, VARIANCE_KEYS, "{ ddof: 1, keepdims: true }");
  const t = asTensor(op, x);
  requireFloat(op, t.dtype);
  const axes = normAxes(op, axis, t.ndim);
  const ddof = opts.ddof ?? 0;
  if (typeof ddof !== "number" || !Number.isFinite(ddof)) {
    throw new TypeError(`${op}(): ddof must be a finite number, got ${String(ddof)}`);
  }
  let count = 1;
  for (const a of axes) count *= t.shape[a];
  const m = div(bind(reducePrims.sum, [t], { axes, keepdims: true }), count);
  const ss = bind(reducePrims.sum, [square(sub(t, m))], {
    axes,
    keepdims: opts.keepdims ?? false,
  });
  return div(ss, Math.max(count - ddof, 0));
}

/**
 * `log(sum(exp(x)))` over axes, computed stably by subtracting the maximum
 * first; its gradient is the softmax. Rows that are all `-Infinity` give
 * `-Infinity` (not NaN), and so does an empty axis (the log of an empty
 * sum, as in JAX and SciPy).
 *
 * @param x A float tensor.
 * @param axis Axis or axes; all when omitted.
 * @param opts `keepdims` (default false).
 * @returns The log-sum-exp.
 * @example
 * ```ts
 * import { logsumexp, tensor } from "@gradus/core";
 * console.log(logsumexp(tensor([1000, 1000])).arraySync()); // 1000.6931762695312
 * ```
 */
export function logsumexp(
  x: TensorLike,
  axis?: number | readonly number[] | null,
  opts?: ReduceOptions,
): Tensor {
  const t = asTensor("logsumexp", x);
  requireFloat("logsumexp", t.dtype);
  const axes = normAxes("logsumexp", axis, t.ndim);
  return bind(logsumexpPrim, [t], { axes, keepdims: keepdimsOf("logsumexp", opts) });
}

/**
 * logsumexp from other kernels, for backends without a fused one (or axes
 * that are not one contiguous run): `log Σ exp(x − m) + m` with `m` the
 * maximum, a non-finite maximum replaced by 0 (an all −∞ row gives −∞, not
 * NaN). Kernel calls only, like every `impl` (no op is bound again, so no
 * transformation or tensor bookkeeping sees the steps); the intermediates
 * are freed before it returns.
 */
function logsumexpKernels(be: Backend, x: Tensor, axes: readonly number[]): DataHandle {
  const { shape, dtype } = x;
  const kept = reducedShape(shape, axes, true);
  const n = sizeOf(shape), k = sizeOf(kept);
  const flat = [1], scalar = [0];
  const temps = new Set<DataHandle>();
  const tmp = (h: DataHandle): DataHandle => (temps.add(h), h);
  try {
    const m = tmp(reduceAxes(be, "max", x._data, shape, axes, dtype));
    const absM = tmp(be.unary({ op: "abs", x: m, size: k, dtype }));
    const inf = tmp(be.fill(1, Infinity, dtype));
    const finite = tmp(
      be.binary({
        op: "less",
        a: absM,
        aStrides: flat,
        b: inf,
        bStrides: scalar,
        outShape: [k],
        dtype,
      }),
    );
    const zero = tmp(be.fill(1, 0, dtype));
    const safeM = tmp(be.where({
      cond: finite,
      condStrides: flat,
      a: m,
      aStrides: flat,
      b: zero,
      bStrides: scalar,
      outShape: [k],
      dtype,
    }));
    const shifted = tmp(be.binary({
      op: "sub",
      a: x._data,
      aStrides: broadcastStrides(shape, shape),
      b: safeM,
      bStrides: broadcastStrides(kept, shape),
      outShape: shape,
      dtype,
    }));
    const e = tmp(be.unary({ op: "exp", x: shifted, size: n, dtype }));
    const s = tmp(reduceAxes(be, "sum", e, shape, axes, dtype));
    const l = tmp(be.unary({ op: "log", x: s, size: k, dtype }));
    return be.binary({
      op: "add",
      a: l,
      aStrides: flat,
      b: safeM,
      bStrides: flat,
      outShape: [k],
      dtype,
    });
  } finally {
    temps.delete(x._data); // a reduction over no axes hands back its input
    for (const h of temps) be.dispose(h);
  }
}

/** `exp(x − lse)` (the softmax over the reduced axes), `out` being logsumexp's output. */
function softmaxOf(x: Tensor, out: Tensor, p: ReduceParams): Tensor {
  return exp(sub(x, keep(out, x.shape, p)));
}

/**
 * The logsumexp primitive (see {@linkcode logsumexp}). A primitive rather
 * than a composite for speed: one fused kernel where the backend has one
 * (`Backend.logsumexp`), and a backward pass of three ops, `g·exp(x − lse)`,
 * instead of some eleven. Its derivative is the softmax over the reduced
 * axes, applied with a broadcast in the vjp and a sum in the jvp, so it
 * states both rules.
 * @internal
 */
export const logsumexpPrim: Primitive<ReduceParams> = definePrimitive<ReduceParams>({
  name: "logsumexp",
  abstract: ([x], { axes, keepdims }) => ({
    shape: reducedShape(x.shape, axes, keepdims),
    dtype: x.dtype,
  }),
  impl: (be, [x], { axes }) => {
    // The log of an empty sum: −∞ (as jax.nn.logsumexp and SciPy give).
    if (axes.some((a) => x.shape[a] === 0)) {
      return be.fill(sizeOf(reducedShape(x.shape, axes, false)), -Infinity, x.dtype);
    }
    const contiguous = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
    if (be.logsumexp !== undefined && axes.length > 0 && contiguous) {
      const lo = axes[0], hi = axes[axes.length - 1];
      const outer = sizeOf(x.shape.slice(0, lo)), inner = sizeOf(x.shape.slice(hi + 1));
      const n = sizeOf(x.shape.slice(lo, hi + 1));
      return be.logsumexp({ x: x._data, outer, n, inner, dtype: x.dtype });
    }
    return logsumexpKernels(be, x, axes);
  },
  vjp: (g, [x], out, p) => [mul(keep(g, x.shape, p), softmaxOf(x, out, p))],
  jvp: ([t], [x], out, p) => bind(reducePrims.sum, [mul(t!, softmaxOf(x, out, p))], p),
  batch: axesBatch,
});
