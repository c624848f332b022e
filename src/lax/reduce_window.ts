/**
 * `reduceWindow`: JAX's `lax.reduce_window` for max, min and sum windows,
 * the op under pooling.
 *
 * A composite: the windows are gathered by `take` (see `_windows.ts`),
 * with padding elements equal to `init`, and reduced along a new window
 * axis. Max and min windows select the FIRST extreme of each window (in
 * row-major window order) with `argmax`/`argmin` and a mask, so the
 * gradient (and the tangent) of a window goes to that one element — the
 * rule of JAX's `select_and_scatter_add` and PyTorch's `max_pool2d` — the
 * same on every backend. Overlapping windows accumulate through `take`'s
 * vjp.
 *
 * @module
 */

import { DTypeError, fmtShape, ShapeError } from "../core/errors.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensor } from "../ops/convert.ts";
import { arange } from "../ops/creation.ts";
import { add, equal, greater, less, maximum, minimum, where } from "../ops/elementwise.ts";
import { reshape } from "../ops/movement.ts";
import { argmax, argmin, max, min, sum } from "../ops/reduce.ts";
import { gatherWindows, windowGeometry } from "./_windows.ts";
import type { Padding } from "./padding.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * The reduction of `reduceWindow`: a name, or the gradus function a JAX
 * user would pass as `lax.max`/`lax.min`/`lax.add` (`maximum`, `minimum`,
 * `add`; the reductions `max`, `min`, `sum` are accepted too).
 *
 * @example
 * ```ts
 * import { lax, maximum, tensor } from "@gradus/core";
 * const op: lax.WindowReducer = maximum; // the same as "max"
 * console.log(lax.reduceWindow(tensor([3, 1, 4, 1]), -Infinity, op, [2], [2]).arraySync()); // [3, 4]
 * ```
 */
export type WindowReducer =
  | "max"
  | "min"
  | "sum"
  | typeof maximum
  | typeof minimum
  | typeof add
  | typeof max
  | typeof min
  | typeof sum;

/**
 * Dilations of `reduceWindow`, one entry per axis of the input (default all 1).
 *
 * @example
 * ```ts
 * import { lax, tensor } from "@gradus/core";
 * const opts: lax.ReduceWindowOptions = { windowDilation: [2] }; // taps 2 apart
 * console.log(lax.reduceWindow(tensor([1, 2, 3, 4]), 0, "sum", [2], [1], "VALID", opts).arraySync());
 * // [4, 6]
 * ```
 */
export interface ReduceWindowOptions {
  /** Input dilation: `b − 1` holes (reading `init`) between input elements. */
  readonly baseDilation?: readonly number[];
  /** Window dilation: `d − 1` skipped elements between window taps. */
  readonly windowDilation?: readonly number[];
}

function reducerName(op: WindowReducer): "max" | "min" | "sum" {
  if (op === "max" || op === maximum || op === max) return "max";
  if (op === "min" || op === minimum || op === min) return "min";
  if (op === "sum" || op === add || op === sum) return "sum";
  const seen = typeof op === "function" ? `the function ${op.name || "(anonymous)"}` : String(op);
  throw new ShapeError(
    `reduceWindow(): op must be "max", "min", "sum" or one of the functions maximum, minimum, ` +
      `add; got ${seen}`,
  );
}

const REDUCE_WINDOW_KEYS: OptionKeys<ReduceWindowOptions> = {
  baseDilation: true,
  windowDilation: true,
};

/**
 * Reduces each window of `x`, as JAX's `lax.reduce_window`: the window
 * slides over every axis of `x` (give 1 for the axes not pooled), and each
 * output element is `op` folded over `init` and the window's elements.
 * Padded elements (and the holes of a base dilation) equal `init`: pass
 * `-Infinity` for max windows, `Infinity` for min, 0 for sums (for int32
 * inputs ±Infinity stand for the int32 extremes).
 *
 * Output size on each axis: `⌊(padded − span) / stride⌋ + 1` with
 * `span = (window − 1)·windowDilation + 1`; `"SAME"` gives `⌈n / stride⌉`
 * (total padding split `lo = total // 2`, as XLA), `"VALID"` none.
 *
 * Gradients: a sum window sends its cotangent to every element; a max or
 * min window to its first extreme in row-major window order (ties go to
 * the earliest element; an extreme that is a padding element, or `init`
 * when it beats every element, gets it and the input gets nothing; an
 * element equal to `init` keeps it) — JAX's and PyTorch's rule, on every
 * backend. NaN in a max/min window propagates.
 *
 * @param x A numeric tensor.
 * @param init The initial value of each window's reduction (a number).
 * @param op `"max"`, `"min"`, `"sum"` (or `maximum`, `minimum`, `add`).
 * @param windowDimensions Window size per axis of `x`.
 * @param windowStrides Step per axis (default 1 on every axis).
 * @param padding `"SAME"`, `"VALID"` (default) or one `[lo, hi]` pair per axis.
 * @param opts `baseDilation` and `windowDilation` per axis.
 * @returns The reduced windows.
 * @example
 * ```ts
 * import { lax, tensor } from "@gradus/core";
 *
 * const x = tensor([[1, 5, 2, 0], [3, 4, 8, 1]]).reshape([1, 1, 2, 4]); // NCHW
 * console.log(lax.reduceWindow(x, -Infinity, "max", [1, 1, 2, 2], [1, 1, 2, 2], "VALID").arraySync());
 * // [[[[5, 8]]]]
 * console.log(lax.reduceWindow(tensor([1, 2, 3, 4]), 0, "sum", [2], [1], "SAME").arraySync());
 * // [3, 5, 7, 4]
 * ```
 */
export function reduceWindow(
  x: TensorLike,
  init: number,
  op: WindowReducer,
  windowDimensions: readonly number[],
  windowStrides?: readonly number[],
  padding: Padding = "VALID",
  opts: ReduceWindowOptions = {},
): Tensor {
  checkOptions("reduceWindow", opts, REDUCE_WINDOW_KEYS, "{ windowDilation: [2] }");
  const name = "reduceWindow";
  const t = asTensor(name, x);
  const kind = reducerName(op);
  if (t.dtype === "bool") {
    throw new DTypeError(`${name}(): expects a numeric tensor, got bool; cast it first`);
  }
  if (!Array.isArray(windowDimensions) || windowDimensions.length !== t.ndim) {
    throw new ShapeError(
      `${name}(): windowDimensions needs one entry per axis of the input ${fmtShape(t.shape)} ` +
        `(${t.ndim}), got ${JSON.stringify(windowDimensions)}; give 1 for axes not pooled`,
    );
  }
  const fill = initValue(name, init, t.dtype);
  if (t.ndim === 0) return finish(kind, t, fill);
  const g = windowGeometry(name, t.shape, windowDimensions, {
    strides: windowStrides,
    padding,
    baseDilation: opts.baseDilation,
    windowDilation: opts.windowDilation,
  });
  // Gather over the smallest run of axes that actually have windows.
  const active = t.shape.map((n, i) =>
    g.window[i] !== 1 || g.strides[i] !== 1 || g.pads[i][0] !== 0 || g.pads[i][1] !== 0 ||
    g.baseDilation[i] !== 1 || g.outSizes[i] !== n
  );
  let a = active.indexOf(true), b = active.lastIndexOf(true);
  if (a < 0) a = b = t.ndim - 1;
  const pick = <T>(v: readonly T[]) => v.slice(a, b + 1);
  const sub = {
    inSizes: pick(g.inSizes),
    window: pick(g.window),
    strides: pick(g.strides),
    pads: pick(g.pads),
    baseDilation: pick(g.baseDilation),
    windowDilation: pick(g.windowDilation),
    outSizes: pick(g.outSizes),
  };
  const windows = gatherWindows(t, a, sub, fill); // [...lead, ...out, K, ...trail]
  const k = b + 1;
  let out: Tensor;
  if (kind === "sum") out = sum(windows, k);
  else {
    const taps = windows.shape[k];
    const at = (kind === "max" ? argmax : argmin)(windows, k, { keepdims: true });
    const offsets = reshape(arange(0, taps, 1, { dtype: "int32" }), [
      taps,
      ...windows.shape.slice(k + 1).map(() => 1),
    ]);
    out = sum(where(equal(at, offsets), windows, 0), k);
  }
  return finish(kind, out, fill);
}

/** The init value as a value of `dtype` (±Infinity → the int32 extremes). */
function initValue(op: string, init: number, dtype: Tensor["dtype"]): number {
  if (typeof init !== "number") {
    throw new DTypeError(`${op}(): init must be a number, got ${typeof init}`);
  }
  if (dtype !== "int32") return init;
  if (init === -Infinity) return -2147483648;
  if (init === Infinity) return 2147483647;
  if (!Number.isInteger(init) || init < -2147483648 || init > 2147483647) {
    throw new DTypeError(`${op}(): init ${init} is not an int32 value (the input is int32)`);
  }
  return init;
}

/** Folds `init` into the reduced windows (a no-op for the op's identity). */
function finish(kind: "max" | "min" | "sum", r: Tensor, init: number): Tensor {
  if (kind === "sum") return init === 0 ? r : add(r, init);
  const identity = kind === "max"
    ? init === -Infinity || (r.dtype === "int32" && init === -2147483648)
    : init === Infinity || (r.dtype === "int32" && init === 2147483647);
  if (identity) return r;
  // Ties keep the element (it came first); NaN stays NaN.
  return where(kind === "max" ? less(r, init) : greater(r, init), init, r);
}
