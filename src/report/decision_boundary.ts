/**
 * Decision-boundary plots of 2-D classifiers.
 *
 * @module
 */

import { Tensor } from "../core/tensor.ts";
import { ShapeError } from "../core/errors.ts";
import { tensor } from "../ops/creation.ts";
import { argmax } from "../ops/reduce.ts";
import { axesSvg, gridSvg, layoutXY, linearScale, plotAreaSvg, px, py } from "./_axes.ts";
import { readNumbers } from "./_data.ts";
import {
  checkPositiveInt,
  checkRange,
  checkSize,
  el,
  legendBlock,
  type LegendItem,
  marker,
  n2,
  paletteColor,
  shapeFor,
  SVG_CLOSE,
  svgOpen,
  tint,
  titleBlock,
  uid,
} from "./_svg.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

const BOUNDARY_KEYS: OptionKeys<DecisionBoundaryOptions> = {
  predict: true,
  points: true,
  title: true,
  xRange: true,
  yRange: true,
  resolution: true,
  classNames: true,
  xLabel: true,
  yLabel: true,
  width: true,
  height: true,
};

/**
 * The labelled points of a {@linkcode decisionBoundary} plot.
 *
 * @example
 * ```ts
 * import { data, greater, plot, random, sum, type Tensor } from "@gradus/core";
 *
 * // Tensors from a dataset, or plain arrays.
 * const { x, y } = data.spiral({ key: random.key(0) });
 * const spiral: plot.LabelledPoints = { x, y };
 * const handMade: plot.LabelledPoints = { x: [[-1, -1], [1, 1]], y: [0, 1] };
 * const predict = (grid: Tensor) => greater(sum(grid, 1), 0); // class 1 where x₁ + x₂ > 0
 * for (const points of [spiral, handMade]) {
 *   const svg = await plot.decisionBoundary({ predict, points, resolution: 20 });
 *   console.log(svg.startsWith("<svg")); // true
 * }
 * ```
 */
export interface LabelledPoints {
  /**
   * `N` points: rows `[x, y]` (`number[][]`), a flat `[x0, y0, x1, y1, …]`
   * array, or a tensor `[N, 2]`.
   */
  readonly x: ArrayLike<ArrayLike<number>> | ArrayLike<number> | Tensor;
  /** `N` class indices `0 … C-1`: numbers or an int tensor `[N]`. */
  readonly y: ArrayLike<number> | Tensor;
}

/**
 * Options of {@linkcode decisionBoundary}.
 *
 * @example
 * ```ts
 * import { greater, matmul, plot, reshape, type Tensor, tensor } from "@gradus/core";
 *
 * // A linear model: class 1 above the line x₂ = x₁.
 * const w = tensor([[-1], [1]]);
 * const options: plot.DecisionBoundaryOptions = {
 *   predict: (grid: Tensor) => greater(reshape(matmul(grid, w), [-1]), 0),
 *   points: { x: [[0, 1], [1, 0]], y: [1, 0] },
 *   xRange: [-1, 2],
 *   yRange: [-1, 2],
 *   resolution: 30,
 *   classNames: ["below", "above"],
 * };
 * console.log((await plot.decisionBoundary(options)).includes("above")); // true
 * ```
 */
export interface DecisionBoundaryOptions {
  /**
   * The model: takes a float32 grid of points `[M, 2]` and returns class
   * scores `[M, C]` (reduced with `argmax`) or class indices `[M]` (any
   * dtype; floats are rounded, so `[M]` probabilities of class 1 work too).
   * It may return a promise.
   */
  readonly predict: (grid: Tensor) => Tensor | Promise<Tensor>;
  /** The data points, drawn over the regions. */
  readonly points: LabelledPoints;
  /** The title at the top. */
  readonly title?: string;
  /** The x range `[lo, hi]` (default: the points' extent plus a 10 % margin, widened to ticks). */
  readonly xRange?: readonly [number, number];
  /** The y range `[lo, hi]` (default: the points' extent plus a 10 % margin, widened to ticks). */
  readonly yRange?: readonly [number, number];
  /** Grid cells per axis: `predict` sees `resolution²` points (default 100). */
  readonly resolution?: number;
  /** Names for the legend (default `class 0`, `class 1`, …). */
  readonly classNames?: readonly string[];
  /** The x-axis label (default `x₁`). */
  readonly xLabel?: string;
  /** The y-axis label (default `x₂`). */
  readonly yLabel?: string;
  /** Width in pixels (default 560). */
  readonly width?: number;
  /** Height in pixels (default 480). */
  readonly height?: number;
}

/**
 * A decision-boundary plot as a standalone SVG string: `predict` is
 * evaluated once, on a `resolution × resolution` grid of cell centres
 * covering the plotted ranges; each cell is coloured by its predicted class
 * in a light tint (cells of one class next to each other in a row merge into
 * one rectangle), and the points are drawn on top, coloured — and shaped —
 * by their true class, with a legend. The points are the only values the
 * plot needs besides the model's; the grid's predictions are read back with
 * one `await data()`.
 *
 * @param opts The model, the points and the look (see {@linkcode DecisionBoundaryOptions}).
 * @returns A promise of the SVG document.
 * @throws {RangeError} When the points' `x` and `y` differ in number, or
 * `resolution` or a range is invalid.
 * @throws {ShapeError} When `predict` returns neither `[M, C]` nor `[M]`.
 * @example
 * ```ts
 * import { plot, type Tensor } from "@gradus/core";
 *
 * // A linear classifier: class 1 where x + y > 0.
 * const predict = (g: Tensor) => g.sum(1).greater(0); // bool [M]: 0 or 1
 * const svg = await plot.decisionBoundary({
 *   title: "Linear classifier",
 *   predict,
 *   points: { x: [[-1, -1], [-0.5, -1], [1, 0.5], [0.5, 1]], y: [0, 0, 1, 1] },
 *   resolution: 40,
 *   classNames: ["negative", "positive"],
 * });
 * console.log(svg.includes("positive")); // true
 * ```
 */
export async function decisionBoundary(opts: DecisionBoundaryOptions): Promise<string> {
  const op = "decisionBoundary()";
  checkOptions("decisionBoundary", opts, BOUNDARY_KEYS, "{ predict, points }", true);
  const width = checkSize(op, "width", opts.width ?? 560, 120);
  const height = checkSize(op, "height", opts.height ?? 480, 100);
  const res = checkPositiveInt(op, "resolution", opts.resolution ?? 100);
  const xRange = checkRange(op, "xRange", opts.xRange);
  const yRange = checkRange(op, "yRange", opts.yRange);
  if (typeof opts.predict !== "function") {
    throw new TypeError(`${op}: predict must be a function (grid: Tensor) => Tensor`);
  }

  // The points, as flat coordinates.
  const { px: ptsX, py: ptsY, labels } = readPoints(op, await readPointData(op, opts.points));
  const n = labels.length;

  // Ranges: the extent plus 10 %, widened to nice ticks (unless given).
  const extent = (v: Float64Array): [number, number] => {
    let lo = Infinity, hi = -Infinity;
    for (const a of v) {
      if (!Number.isFinite(a)) continue;
      if (a < lo) lo = a;
      if (a > hi) hi = a;
    }
    if (lo > hi) return [-1, 1];
    const m = (hi - lo) * 0.1 || Math.abs(lo) * 0.1 || 1;
    return [lo - m, hi + m];
  };
  const [ex0, ex1] = extent(ptsX);
  const [ey0, ey1] = extent(ptsY);

  // Class names and count (points and predictions both count).
  let numClasses = opts.classNames?.length ?? 0;
  for (const c of labels) {
    if (Number.isInteger(c) && c >= 0) numClasses = Math.max(numClasses, c + 1);
  }

  const title = titleBlock(opts.title, width);
  const xLabel = opts.xLabel ?? "x₁";
  const yLabel = opts.yLabel ?? "x₂";
  const legendFor = (k: number) =>
    legendBlock(
      Array.from({ length: k }, (_, c): LegendItem => ({
        name: opts.classNames?.[c] ?? `class ${c}`,
        color: paletteColor(c),
        kind: "marker",
        shape: shapeFor(c),
      })),
      title.height,
      width,
    );
  const layoutFor = (legendH: number, domain?: readonly number[]) =>
    layoutXY(
      op,
      { left: 0, top: title.height + legendH + 10, width, height, xLabel, yLabel },
      (t) => linearScale(ex0, ex1, t, domain?.[0] ?? xRange?.[0], domain?.[1] ?? xRange?.[1]),
      (t) => linearScale(ey0, ey1, t, domain?.[2] ?? yRange?.[0], domain?.[3] ?? yRange?.[1]),
    );
  let legend = legendFor(numClasses);
  let layout = layoutFor(legend.height);
  const gx0 = layout.xs.lo, gx1 = layout.xs.hi, gy0 = layout.ys.lo, gy1 = layout.ys.hi;

  const m = res * res;
  const grid = new Float32Array(2 * m);
  for (let iy = 0; iy < res; iy++) {
    // Row 0 is the top of the plot.
    const yv = gy1 - (iy + 0.5) * (gy1 - gy0) / res;
    for (let ix = 0; ix < res; ix++) {
      grid[2 * (iy * res + ix)] = gx0 + (ix + 0.5) * (gx1 - gx0) / res;
      grid[2 * (iy * res + ix) + 1] = yv;
    }
  }
  let out = await opts.predict(tensor(grid, { shape: [m, 2] }));
  if (!out || typeof out.data !== "function" || !Array.isArray(out.shape)) {
    throw new TypeError(`${op}: predict must return a Tensor, got ${typeof out}`);
  }
  if (out.ndim === 2 && out.shape[0] === m && out.shape[1] === 1) {
    throw new ShapeError(
      `${op}: predict returned one score per point, shape [${m}, 1]; return class indices ` +
        `[${m}] instead, e.g. probs.reshape([-1]).greater(0.5) (or logits.reshape([-1]).greater(0))`,
    );
  }
  if (out.ndim === 2 && out.shape[0] === m && out.shape[1] > 1) {
    out = argmax(out, 1);
  } else if (!(out.ndim === 1 && out.shape[0] === m)) {
    throw new ShapeError(
      `${op}: predict returned shape [${out.shape.join(", ")}] for a grid of ${m} points; ` +
        `expected class scores [${m}, C] or class indices [${m}]`,
    );
  }
  const predicted = await out.data();
  const cls = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const c = Math.round(Number(predicted[i]));
    cls[i] = Number.isFinite(c) && c >= 0 ? c : -1;
    if (cls[i] >= numClasses) numClasses = cls[i] + 1;
  }

  // A model may predict classes no point has: they get a legend entry too.
  const grown = legendFor(numClasses);
  if (grown.height !== legend.height) layout = layoutFor(grown.height, [gx0, gx1, gy0, gy1]);
  legend = grown;
  const { rect, xs, ys } = layout;

  // Regions: one rectangle per run of equal classes in a row.
  const cw = rect.w / res;
  const ch = rect.h / res;
  const byClass = new Map<number, string>();
  for (let iy = 0; iy < res; iy++) {
    let ix = 0;
    while (ix < res) {
      const c = cls[iy * res + ix];
      let end = ix + 1;
      while (end < res && cls[iy * res + end] === c) end++;
      if (c >= 0) {
        const x = rect.x + ix * cw;
        const y = rect.y + iy * ch;
        const d = `M${n2(x)} ${n2(y)}h${n2((end - ix) * cw)}v${n2(ch)}h${n2(-(end - ix) * cw)}z`;
        byClass.set(c, (byClass.get(c) ?? "") + d);
      }
      ix = end;
    }
  }
  let regions = "";
  for (const [c, d] of [...byClass.entries()].sort((a, b) => a[0] - b[0])) {
    regions += el("path", { d, fill: tint(paletteColor(c), 0.28), "data-class": c });
  }

  let dots = "";
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!Number.isFinite(ptsX[i]) || !Number.isFinite(ptsY[i])) continue;
    const color = Number.isInteger(c) && c >= 0 ? paletteColor(c) : "#777777";
    dots += marker(
      Number.isInteger(c) && c >= 0 ? shapeFor(c) : "circle",
      px(xs, ptsX[i], rect),
      py(ys, ptsY[i], rect),
      3.5,
      color,
      "#ffffff",
    );
  }

  const clip = uid("clip", `${opts.title}|${width}|${height}|${n}|${regions.length}`);
  return svgOpen(width, height, opts.title) + title.svg + legend.svg +
    el(
      "defs",
      {},
      el(
        "clipPath",
        { id: clip },
        el("rect", { x: rect.x, y: rect.y, width: rect.w, height: rect.h }),
      ),
    ) +
    plotAreaSvg(rect) +
    el("g", { class: "regions", "shape-rendering": "crispEdges" }, regions) +
    gridSvg(rect, xs, ys).replace('class="grid"', 'class="grid" opacity="0.6"') +
    el("g", { class: "points", "clip-path": `url(#${clip})` }, dots) +
    axesSvg(rect, xs, ys, { xLabel, yLabel, yLabelX: layout.yLabelX }) +
    SVG_CLOSE;
}

/** Reads `points` into flat coordinate and label arrays. */
/** The points with tensors read back (a `[N, 2]` tensor becomes a flat array). */
async function readPointData(
  op: string,
  points: LabelledPoints,
): Promise<{ x: ArrayLike<ArrayLike<number>> | ArrayLike<number>; y: ArrayLike<number> }> {
  if (!points || !points.x || !points.y) {
    throw new TypeError(`${op}: points must be { x: number[][] (N×2), y: number[] (N) }`);
  }
  let x = points.x;
  if (x instanceof Tensor) {
    if (x.ndim !== 2 || x.shape[1] !== 2) {
      throw new RangeError(`${op}: points.x must be a tensor [N, 2], got shape [${x.shape}]`);
    }
    x = await x.data();
  }
  return { x, y: await readNumbers(op, "points.y", points.y) };
}

function readPoints(
  op: string,
  points: {
    readonly x: ArrayLike<ArrayLike<number>> | ArrayLike<number>;
    readonly y: ArrayLike<number>;
  },
): { px: Float64Array; py: Float64Array; labels: number[] } {
  if (!points || !points.x || !points.y) {
    throw new TypeError(`${op}: points must be { x: number[][] (N×2), y: number[] (N) }`);
  }
  const labels = Array.from(points.y, Number);
  const n = labels.length;
  const x = points.x;
  const ptsX = new Float64Array(n);
  const ptsY = new Float64Array(n);
  const flat = x.length > 0 && typeof x[0] === "number";
  if (flat) {
    const f = x as ArrayLike<number>;
    if (f.length !== 2 * n) {
      throw new RangeError(
        `${op}: points.x has ${f.length} numbers for ${n} labels; expected ${2 * n} (N×2)`,
      );
    }
    for (let i = 0; i < n; i++) {
      ptsX[i] = Number(f[2 * i]);
      ptsY[i] = Number(f[2 * i + 1]);
    }
  } else {
    const rows = x as ArrayLike<ArrayLike<number>>;
    if (rows.length !== n) {
      throw new RangeError(
        `${op}: points.x has ${rows.length} rows and points.y ${n} labels; they must match`,
      );
    }
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      if (!r || r.length < 2) {
        throw new RangeError(`${op}: points.x[${i}] must be [x, y], got ${JSON.stringify(r)}`);
      }
      ptsX[i] = Number(r[0]);
      ptsY[i] = Number(r[1]);
    }
  }
  return { px: ptsX, py: ptsY, labels };
}
