/**
 * 2-D pooling: `maxPool2d`, `avgPool2d` and `globalAvgPool2d`, on
 * `lax.reduceWindow` (so gradients of any order, `jvp`, `jit` and every
 * backend come with it). Layout NCHW by default (PyTorch's and the book's),
 * NHWC with `layout: "NHWC"`; the batch axis is optional (`[C, H, W]`).
 *
 * Non-overlapping windows (stride = window, no padding: the common 2×2
 * pooling) take a faster path than the general window gather: one
 * transpose brings each window's taps to a leading axis (`[K, M]`), and
 * max pooling keeps PyTorch's and JAX's first-maximum gradient with
 * elementwise ops and reductions along that axis (no scatter in the
 * gradient: a transpose's transpose).
 *
 * @module
 */

import { fmtShape, ShapeError } from "../core/errors.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { backendOf } from "../ops/convert.ts";
import { makeTensor } from "../core/tensor.ts";
import { div, mul, where } from "../ops/elementwise.ts";
import { equal, logicalOr, notEqual } from "../ops/compare.ts";
import { arange } from "../ops/creation.ts";
import { reshape, slice, transpose } from "../ops/movement.ts";
import { max, mean, min, sum } from "../ops/reduce.ts";
import { windowGeometry } from "../lax/_windows.ts";
import type { Padding } from "../lax/padding.ts";
import { reduceWindow } from "../lax/reduce_window.ts";
import { floatInput } from "./_util.ts";
import { checkOptions } from "../ops/_options.ts";
import { AVG_POOL_KEYS, GLOBAL_POOL_KEYS, POOL_KEYS } from "./_option_keys.ts";

/**
 * Where the channels are: `"NCHW"` (default) or `"NHWC"`.
 *
 * @example
 * ```ts
 * import { nn, ones } from "@gradus/core";
 * const layout: nn.PoolLayout = "NHWC";
 * console.log(nn.maxPool2d(ones([1, 4, 4, 3]), { window: 2, layout }).shape); // [1, 2, 2, 3]
 * ```
 */
export type PoolLayout = "NCHW" | "NHWC";

/**
 * A pair of per-axis values (height, width), or one number for both.
 *
 * @example
 * ```ts
 * import { nn, ones } from "@gradus/core";
 * const window: nn.Pair = [2, 3];
 * console.log(nn.avgPool2d(ones([1, 1, 4, 6]), { window }).shape); // [1, 1, 2, 2]
 * ```
 */
export type Pair = number | readonly [number, number];

/**
 * Padding of a 2-D pooling: a number or `[ph, pw]` (both sides),
 * `[[top, bottom], [left, right]]`, `"VALID"` or `"SAME"` (JAX's; `conv2d`'s
 * lowercase `"valid"` and `"same"` mean the same here).
 *
 * @example
 * ```ts
 * import { nn, ones } from "@gradus/core";
 * const padding: nn.PoolPadding = [[0, 1], [1, 1]];
 * console.log(nn.maxPool2d(ones([1, 1, 3, 4]), { window: 2, padding }).shape); // [1, 1, 2, 3]
 * ```
 */
export type PoolPadding =
  | Pair
  | "SAME"
  | "VALID"
  | "same"
  | "valid"
  | readonly [readonly [number, number], readonly [number, number]];

/**
 * Options of `maxPool2d` and `avgPool2d`.
 *
 * @example
 * ```ts
 * import { nn, ones } from "@gradus/core";
 * const opts: nn.Pool2dOptions = { window: 3, stride: 2, padding: 1 };
 * console.log(nn.maxPool2d(ones([1, 1, 7, 7]), opts).shape); // [1, 1, 4, 4]
 * ```
 */
export interface Pool2dOptions {
  /** Window height and width (one number for both). */
  readonly window: Pair;
  /** Step between windows (default: the window, as PyTorch). */
  readonly stride?: Pair;
  /**
   * Padding: a number or `[ph, pw]` added on both sides (default 0),
   * `[[top, bottom], [left, right]]`, `"VALID"` (none) or `"SAME"`
   * (`⌈size / stride⌉` outputs, the extra element at the end, as XLA).
   * Max pooling pads with −∞ (padding never wins); average pooling with 0.
   */
  readonly padding?: PoolPadding;
  /** `"NCHW"` (default) or `"NHWC"`. */
  readonly layout?: PoolLayout;
}

/**
 * Options of `avgPool2d`.
 *
 * @example
 * ```ts
 * import { nn, ones } from "@gradus/core";
 * const opts: nn.AvgPool2dOptions = { window: 2, padding: 1, countIncludePad: false };
 * console.log(nn.avgPool2d(ones([1, 1, 2, 2]), opts).arraySync()); // [[[[1, 1], [1, 1]]]]
 * ```
 */
export interface AvgPool2dOptions extends Pool2dOptions {
  /**
   * Whether padding elements count in the average (default true, PyTorch's
   * `count_include_pad` and Flax's default: every window divides by
   * `window height × width`); false divides by the input elements each
   * window covers (TF's `SAME` average pooling).
   */
  readonly countIncludePad?: boolean;
}

/**
 * Options of `globalAvgPool2d`.
 *
 * @example
 * ```ts
 * import { nn, ones } from "@gradus/core";
 * const opts: nn.GlobalPool2dOptions = { keepdims: true };
 * console.log(nn.globalAvgPool2d(ones([2, 3, 4, 4]), opts).shape); // [2, 3, 1, 1]
 * ```
 */
export interface GlobalPool2dOptions {
  /** `"NCHW"` (default) or `"NHWC"`. */
  readonly layout?: PoolLayout;
  /** Keep H and W as axes of size 1 (default false: `[N, C]`). */
  readonly keepdims?: boolean;
}

function pair(op: string, name: string, v: Pair): [number, number] {
  const p = typeof v === "number" ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((n) => Number.isInteger(n) && n >= 0)) {
    throw new ShapeError(
      `${op}(): ${name} must be a non-negative integer or a pair [h, w] of them, got ${
        JSON.stringify(v)
      }`,
    );
  }
  return [p[0], p[1]];
}

/** The spatial axes (H, W) of a rank-3 or rank-4 input in `layout`. */
function spatialAxes(op: string, x: Tensor, layout: PoolLayout): [number, number] {
  if (layout !== "NCHW" && layout !== "NHWC") {
    throw new ShapeError(`${op}(): layout must be "NCHW" or "NHWC", got ${JSON.stringify(layout)}`);
  }
  if (x.ndim !== 3 && x.ndim !== 4) {
    throw new ShapeError(
      `${op}(): expects a ${layout} input of rank 4 (or 3 without the batch axis), got shape ` +
        `${fmtShape(x.shape)}`,
    );
  }
  return layout === "NCHW" ? [x.ndim - 2, x.ndim - 1] : [x.ndim - 3, x.ndim - 2];
}

/** The reduceWindow arguments of a 2-D pooling over `x`. */
function poolArgs(op: string, x: Tensor, opts: Pool2dOptions) {
  if (opts === null || typeof opts !== "object" || opts.window === undefined) {
    throw new ShapeError(`${op}(): needs options with a window, e.g. { window: 2 }`);
  }
  const [h, w] = spatialAxes(op, x, opts.layout ?? "NCHW");
  const win = pair(op, "window", opts.window);
  if (win[0] < 1 || win[1] < 1) {
    throw new ShapeError(`${op}(): window must be positive, got ${JSON.stringify(opts.window)}`);
  }
  const stride = pair(op, "stride", opts.stride ?? win);
  if (stride[0] < 1 || stride[1] < 1) {
    throw new ShapeError(`${op}(): stride must be positive, got ${JSON.stringify(opts.stride)}`);
  }
  const given = opts.padding ?? 0;
  const p = given === "same" ? "SAME" : given === "valid" ? "VALID" : given;
  if (typeof p === "string" && p !== "SAME" && p !== "VALID") {
    throw new ShapeError(
      `${op}(): padding must be a number, [ph, pw], [[top, bottom], [left, right]], "SAME" or ` +
        `"VALID", got ${JSON.stringify(p)}`,
    );
  }
  const spatial: Padding = typeof p === "string"
    ? p
    : Array.isArray(p) && Array.isArray(p[0])
    ? p as Padding
    : pair(op, "padding", p as Pair).map((v) => [v, v] as const);
  const dims = x.shape.map(() => 1), strides = x.shape.map(() => 1);
  [dims[h], dims[w]] = win;
  [strides[h], strides[w]] = stride;
  let padding: Padding = spatial;
  if (typeof spatial !== "string") {
    if (!Array.isArray(spatial) || spatial.length !== 2) {
      throw new ShapeError(
        `${op}(): padding must be a number, [ph, pw], [[top, bottom], [left, right]], "SAME" or ` +
          `"VALID", got ${JSON.stringify(p)}`,
      );
    }
    const pads = x.shape.map((): readonly [number, number] => [0, 0]);
    [pads[h], pads[w]] = spatial;
    padding = pads;
  }
  return { dims, strides, padding, h, w };
}

/**
 * 2-D max pooling: the maximum of each `window` (height × width) of the
 * spatial axes, as PyTorch's `max_pool2d` / Flax's `max_pool`. The gradient
 * of each window goes to its first maximum (row-major in the window) — the
 * rule of PyTorch and JAX — on every backend; overlapping windows add up.
 *
 * @param x A float tensor `[N, C, H, W]` (or `[N, H, W, C]` with
 *   `layout: "NHWC"`; the batch axis may be left out).
 * @param opts `window`, `stride` (default: the window), `padding` (default 0), `layout`.
 * @returns The pooled tensor, `[N, C, OH, OW]` with
 *   `OH = ⌊(H + top + bottom − window) / stride⌋ + 1`.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * const x = tensor([[[[1, 2, 5, 6], [3, 4, 7, 8], [0, 1, 2, 3], [1, 9, 4, 5]]]]);
 * console.log(nn.maxPool2d(x, { window: 2 }).arraySync()); // [[[[4, 8], [9, 5]]]]
 * ```
 */
export function maxPool2d(x: TensorLike, opts: Pool2dOptions): Tensor {
  checkOptions("maxPool2d", opts, POOL_KEYS, "{ window: 2, stride: 1 }");
  const t = floatInput("maxPool2d", x);
  const args = poolArgs("maxPool2d", t, opts);
  const tiled = tiles(t, args);
  if (tiled === null) {
    return reduceWindow(t, -Infinity, "max", args.dims, args.strides, args.padding);
  }
  // [K, M]: the first maximum of each column (NaN counts as the maximum, so it propagates)
  const { taps: w, shape } = tiled;
  const k = w.shape[0];
  const top = max(w, 0, { keepdims: true });
  const hit = logicalOr(equal(w, top), notEqual(w, w));
  const code = where(hit, reshape(arange(0, k, 1, { dtype: t.dtype }), [k, 1]), k);
  const first = equal(code, min(code, 0, { keepdims: true }));
  return reshape(sum(where(first, w, 0), 0), shape);
}

/**
 * The windows of a non-overlapping pooling (stride = window, no padding, no
 * window larger than its axis), taps first: `[K, M]` with `K = kh·kw` and `M`
 * the output's size, and the output's shape; `null` for other poolings. The
 * last rows/columns that fill no window are dropped (as the general path does).
 */
function tiles(
  t: Tensor,
  a: ReturnType<typeof poolArgs>,
): { taps: Tensor; shape: number[] } | null {
  const { dims, strides, padding, h, w } = a;
  const kh = dims[h], kw = dims[w];
  if (strides[h] !== kh || strides[w] !== kw) return null;
  if (typeof padding === "string" ? padding !== "VALID" : padding.some(([lo, hi]) => lo || hi)) {
    return null;
  }
  const oh = Math.floor(t.shape[h] / kh), ow = Math.floor(t.shape[w] / kw);
  if (oh === 0 || ow === 0) return null; // the general path names the error
  const lead = t.shape.slice(0, h), trail = t.shape.slice(w + 1); // NHWC: trail = [C]
  let x = t;
  if (oh * kh !== t.shape[h] || ow * kw !== t.shape[w]) {
    x = slice(
      x,
      t.shape.map(() => 0),
      t.shape.map((n, i) => i === h ? oh * kh : i === w ? ow * kw : n),
    );
  }
  const l = lead.reduce((p, q) => p * q, 1), c = trail.reduce((p, q) => p * q, 1);
  // [L, OH, kh, OW, kw, C] -> [kh, kw, L, OH, OW, C]
  const taps = c === 1 // NCHW: no channel axis after W (fewer axes for the strided copies)
    ? transpose(reshape(x, [l, oh, kh, ow, kw]), [2, 4, 0, 1, 3])
    : transpose(reshape(x, [l, oh, kh, ow, kw, c]), [2, 4, 0, 1, 3, 5]);
  return { taps: reshape(taps, [kh * kw, l * oh * ow * c]), shape: [...lead, oh, ow, ...trail] };
}

/**
 * 2-D average pooling: the mean of each `window` of the spatial axes, as
 * PyTorch's `avg_pool2d`. Padding counts as zeros in the average unless
 * `countIncludePad: false`.
 *
 * @param x A float tensor `[N, C, H, W]` (or NHWC with `layout: "NHWC"`).
 * @param opts `window`, `stride` (default: the window), `padding` (default
 *   0), `layout`, `countIncludePad` (default true).
 * @returns The pooled tensor.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * const x = tensor([[[[1, 2, 5, 6], [3, 4, 7, 8]]]]);
 * console.log(nn.avgPool2d(x, { window: 2 }).arraySync()); // [[[[2.5, 6.5]]]]
 * console.log(nn.avgPool2d(x, { window: 2, stride: 1, padding: "SAME" }).arraySync());
 * // [[[[2.5, 4.5, 6.5, 3.5], [1.75, 2.75, 3.75, 2]]]]
 * ```
 */
export function avgPool2d(x: TensorLike, opts: AvgPool2dOptions): Tensor {
  checkOptions("avgPool2d", opts, AVG_POOL_KEYS, "{ window: 3, stride: 1, padding: 1 }");
  const op = "avgPool2d";
  const t = floatInput(op, x);
  const args = poolArgs(op, t, opts);
  const { dims, strides, padding, h, w } = args;
  const tiled = tiles(t, args);
  if (tiled !== null) return reshape(mean(tiled.taps, 0), tiled.shape);
  const sums = reduceWindow(t, 0, "sum", dims, strides, padding);
  if (opts.countIncludePad ?? true) return div(sums, dims[h] * dims[w]);
  // 1 / (input elements per window), from the geometry on the host: [OH, OW] (+ C for NHWC)
  const g = windowGeometry(op, [t.shape[h], t.shape[w]], [dims[h], dims[w]], {
    strides: [strides[h], strides[w]],
    padding: typeof padding === "string" ? padding : [padding[h], padding[w]],
  });
  const covered = (d: number) =>
    Array.from({ length: g.outSizes[d] }, (_, i) => {
      const lo = i * g.strides[d] - g.pads[d][0];
      return Math.min(lo + g.window[d], g.inSizes[d]) - Math.max(lo, 0);
    });
  const [ch, cw] = [covered(0), covered(1)];
  const inv = new Float64Array(ch.length * cw.length);
  if ([...ch, ...cw].some((c) => c <= 0)) {
    throw new ShapeError(
      `${op}(): with countIncludePad: false a window covering only padding has no average ` +
        `(input ${fmtShape(t.shape)}, window [${dims[h]}, ${dims[w]}], padding ` +
        `${JSON.stringify(opts.padding)}); pad less than the window`,
    );
  }
  ch.forEach((a, i) => cw.forEach((b, j) => (inv[i * cw.length + j] = 1 / (a * b))));
  const be = backendOf(t);
  const data = t.dtype === "float64" ? inv : Float32Array.from(inv);
  const scale = makeTensor(be, be.upload(data, t.dtype), [ch.length, cw.length], t.dtype);
  return mul(sums, h === t.ndim - 2 ? scale : reshape(scale, [ch.length, cw.length, 1]));
}

/**
 * Global average pooling: the mean over the spatial axes (H, W), one value
 * per channel — Keras' `GlobalAveragePooling2D`, PyTorch's
 * `adaptive_avg_pool2d(x, 1)` flattened.
 *
 * @param x A float tensor `[N, C, H, W]` (or NHWC with `layout: "NHWC"`).
 * @param opts `layout` (default `"NCHW"`), `keepdims` (default false).
 * @returns `[N, C]` (or `[N, C, 1, 1]` / `[N, 1, 1, C]` with `keepdims`).
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * const x = tensor([[[[1, 2], [3, 4]], [[0, 0], [0, 8]]]]); // [1, 2, 2, 2]
 * console.log(nn.globalAvgPool2d(x).arraySync()); // [[2.5, 2]]
 * ```
 */
export function globalAvgPool2d(x: TensorLike, opts: GlobalPool2dOptions = {}): Tensor {
  checkOptions("globalAvgPool2d", opts, GLOBAL_POOL_KEYS, "{ keepdims: true }");
  const t = floatInput("globalAvgPool2d", x);
  const [h, w] = spatialAxes("globalAvgPool2d", t, opts.layout ?? "NCHW");
  return mean(t, [h, w], { keepdims: opts.keepdims ?? false });
}
