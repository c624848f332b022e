/**
 * Line charts: loss per iteration, accuracy per epoch, several series with a
 * legend.
 *
 * @module
 */

import { axesSvg, gridSvg, layoutXY, linearScale, logScale, plotAreaSvg, px, py } from "./_axes.ts";
import type { Tensor } from "../core/tensor.ts";
import { readNumbers } from "./_data.ts";
import {
  checkSize,
  DEFAULT_HEIGHT,
  DEFAULT_WIDTH,
  el,
  legendBlock,
  type LegendItem,
  marker,
  n1,
  paletteColor,
  shapeFor,
  SVG_CLOSE,
  svgOpen,
  titleBlock,
  uid,
} from "./_svg.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

const LINE_KEYS: OptionKeys<LineChartOptions> = {
  series: true,
  title: true,
  xLabel: true,
  yLabel: true,
  yLog: "boolean",
  xMin: true,
  xMax: true,
  yMin: true,
  yMax: true,
  width: true,
  height: true,
  markers: "boolean",
};
const SERIES_KEYS: OptionKeys<LineSeries> = {
  name: true,
  x: true,
  y: true,
  dashed: "boolean",
  color: true,
  markers: "boolean",
};

/**
 * One line of a {@linkcode lineChart}.
 *
 * @example
 * ```ts
 * import { plot, tensor } from "@gradus/core";
 *
 * const train: plot.LineSeries = { name: "train", y: [0.9, 0.5, 0.3] };
 * const test: plot.LineSeries = { name: "test", y: tensor([0.95, 0.6, 0.45]), dashed: true };
 * const svg = await plot.lineChart({ series: [train, test], yLabel: "loss" });
 * console.log(svg.includes("train") && svg.includes("test")); // true: a legend with both
 * ```
 */
export interface LineSeries {
  /** The name shown in the legend (default `series 1`, `series 2`, …). */
  readonly name?: string;
  /** The x values (default `0, 1, 2, …`): numbers or a tensor, as many as `y`. */
  readonly x?: ArrayLike<number> | Tensor;
  /**
   * The y values: numbers or a tensor (read with `await t.data()`). NaN and
   * ±Infinity (and values ≤ 0 on a log scale) leave a gap.
   */
  readonly y: ArrayLike<number> | Tensor;
  /** Draw the line dashed (default false). */
  readonly dashed?: boolean;
  /** The colour, any SVG colour (default: the next palette colour). */
  readonly color?: string;
  /** Draw a marker at each point of this series (default: the chart's `markers`). */
  readonly markers?: boolean;
}

/**
 * Options of {@linkcode lineChart}.
 *
 * @example
 * ```ts
 * import { plot } from "@gradus/core";
 *
 * const options: plot.LineChartOptions = {
 *   title: "Loss",
 *   xLabel: "iteration",
 *   yLabel: "loss",
 *   yLog: true,
 *   series: [{ x: [0, 100, 200, 300], y: [2.3, 0.5, 0.2, 0.1] }],
 *   width: 480,
 *   height: 300,
 * };
 * const svg = await plot.lineChart(options);
 * console.log(svg.startsWith("<svg"), svg.includes('width="480"')); // true true
 * ```
 */
export interface LineChartOptions {
  /** The lines to draw; a legend appears when there are two or more. */
  readonly series: readonly LineSeries[];
  /** The title at the top. */
  readonly title?: string;
  /** The x-axis label. */
  readonly xLabel?: string;
  /** The y-axis label. */
  readonly yLabel?: string;
  /** A logarithmic y axis (default false). */
  readonly yLog?: boolean;
  /** The x-axis start (default: the data's, rounded down to a tick). */
  readonly xMin?: number;
  /** The x-axis end (default: the data's, rounded up to a tick). */
  readonly xMax?: number;
  /** The y-axis start (default: the data's, rounded down to a tick). */
  readonly yMin?: number;
  /** The y-axis end (default: the data's, rounded up to a tick). */
  readonly yMax?: number;
  /** Width in pixels (default 640). */
  readonly width?: number;
  /** Height in pixels (default 400). */
  readonly height?: number;
  /**
   * Draw a marker at every point (default: when no series has more than 50
   * points). Markers differ in shape as well as colour between series.
   */
  readonly markers?: boolean;
}

const OP = "lineChart()";

/** A series whose values have been read. */
interface PlainSeries extends Omit<LineSeries, "x" | "y"> {
  readonly x?: ArrayLike<number>;
  readonly y: ArrayLike<number>;
}

function checkOptional(name: string, v: number | undefined): number | undefined {
  if (v !== undefined && !Number.isFinite(v)) {
    throw new RangeError(`${OP}: ${name} must be a finite number, got ${v}`);
  }
  return v;
}

/**
 * A line chart as a standalone SVG document. Each series is one `<path>` with
 * coordinates rounded to 0.1 px; a long series whose x values increase
 * (loss per iteration) is thinned to the first, last, lowest and highest
 * point of every pixel column, which keeps the file small and every spike
 * visible. NaN and ±Infinity values break the line. Ticks fall on nice
 * numbers (1, 2, 5 × 10^k; decades on a log scale).
 *
 * The values may be arrays, typed arrays or tensors; tensors are read with
 * `await t.data()`, which is why the chart is async (it works on every
 * backend, WebGPU included). `plot.save` takes the promise as it is.
 *
 * @param opts The series and the look (see {@linkcode LineChartOptions}).
 * @returns A promise of the SVG document.
 * @throws {RangeError} When there is no series, `x` and `y` differ in
 * length, an axis limit is not finite or `yMin ≥ yMax`, or a log axis has a
 * non-positive limit.
 * @example
 * ```ts
 * import { plot } from "@gradus/core";
 *
 * const loss = Array.from({ length: 1000 }, (_, i) => 2.3 * Math.exp(-i / 200) + 0.1);
 * const svg = await plot.lineChart({
 *   title: "Training loss",
 *   xLabel: "iteration",
 *   yLabel: "loss",
 *   series: [{ name: "train", y: loss }],
 * });
 * console.log(svg.startsWith("<svg")); // true
 * ```
 * @example Accuracy per epoch, two series with markers
 * ```ts
 * import { plot } from "@gradus/core";
 *
 * const epochs = [1, 2, 3, 4, 5];
 * const svg = plot.lineChart({
 *   title: "Accuracy",
 *   xLabel: "epoch",
 *   yLabel: "accuracy",
 *   yMax: 1,
 *   series: [
 *     { name: "train", x: epochs, y: [0.90, 0.93, 0.94, 0.95, 0.96] },
 *     { name: "test", x: epochs, y: [0.91, 0.92, 0.94, 0.94, 0.95], dashed: true },
 *   ],
 * });
 * const dir = await Deno.makeTempDir();
 * await plot.save(`${dir}/accuracy.svg`, svg);
 * ```
 * @example A loss curve straight from tensors
 * ```ts
 * import { linspace, plot } from "@gradus/core";
 *
 * const steps = linspace(0, 99, 100);
 * const svg = await plot.lineChart({ series: [{ x: steps, y: steps.neg().div(30).exp() }] });
 * console.log(svg.includes("<path")); // true
 * ```
 */
export async function lineChart(opts: LineChartOptions): Promise<string> {
  checkOptions("lineChart", opts, LINE_KEYS, "{ series: [{ name, y }], yLog: true }", true);
  const series = opts.series;
  if (!series || series.length === 0) {
    throw new RangeError(`${OP}: no series; pass series: [{ name, y }]`);
  }
  const plain: PlainSeries[] = [];
  for (const [i, s] of series.entries()) {
    checkOptions("lineChart", s, SERIES_KEYS, `series[${i}] such as { name: "train", y }`, true);
    plain.push({
      ...s,
      x: s.x === undefined ? undefined : await readNumbers(OP, `series[${i}].x`, s.x),
      y: await readNumbers(OP, `series[${i}].y`, s.y),
    });
  }
  return render(opts, plain);
}

function render(opts: LineChartOptions, series: readonly PlainSeries[]): string {
  const width = checkSize(OP, "width", opts.width ?? DEFAULT_WIDTH, 120);
  const height = checkSize(OP, "height", opts.height ?? DEFAULT_HEIGHT, 100);
  const xMin = checkOptional("xMin", opts.xMin);
  const xMax = checkOptional("xMax", opts.xMax);
  const yMin = checkOptional("yMin", opts.yMin);
  const yMax = checkOptional("yMax", opts.yMax);
  const yLog = opts.yLog ?? false;
  if (xMin !== undefined && xMax !== undefined && !(xMin < xMax)) {
    throw new RangeError(`${OP}: xMin must be less than xMax, got ${xMin} and ${xMax}`);
  }
  if (yMin !== undefined && yMax !== undefined && !(yMin < yMax)) {
    throw new RangeError(`${OP}: yMin must be less than yMax, got ${yMin} and ${yMax}`);
  }
  if (yLog && ((yMin !== undefined && yMin <= 0) || (yMax !== undefined && yMax <= 0))) {
    throw new RangeError(
      `${OP}: a log y axis needs positive limits, got yMin ${yMin}, yMax ${yMax}`,
    );
  }

  // Resolve the data and its extent.
  const data = series.map((s, i) => {
    const y = s.y;
    if (s.x !== undefined && s.x.length !== y.length) {
      throw new RangeError(
        `${OP}: series[${i}] has ${s.x.length} x values and ${y.length} y values; they must match`,
      );
    }
    const xs = s.x;
    const xAt = xs ? (j: number): number => Number(xs[j]) : (j: number): number => j;
    return { s, y, xAt, n: y.length, name: s.name ?? `series ${i + 1}` };
  });
  const valid = (xv: number, yv: number): boolean =>
    Number.isFinite(xv) && Number.isFinite(yv) && (!yLog || yv > 0);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  let maxLen = 0;
  for (const d of data) {
    maxLen = Math.max(maxLen, d.n);
    for (let j = 0; j < d.n; j++) {
      const xv = d.xAt(j);
      const yv = Number(d.y[j]);
      if (!valid(xv, yv)) continue;
      if (xv < x0) x0 = xv;
      if (xv > x1) x1 = xv;
      // The y extent counts only points inside the requested x range.
      if ((xMin !== undefined && xv < xMin) || (xMax !== undefined && xv > xMax)) continue;
      if (yv < y0) y0 = yv;
      if (yv > y1) y1 = yv;
    }
  }
  const markers = opts.markers ?? maxLen <= 50;
  const markersAll = markers;

  const title = titleBlock(opts.title, width);
  const legendItems: LegendItem[] = data.length > 1
    ? data.map((d, i) => ({
      name: d.name,
      color: d.s.color ?? paletteColor(i),
      kind: "line",
      dashed: d.s.dashed,
      shape: (d.s.markers ?? markers) ? shapeFor(i) : undefined,
    }))
    : [];
  const legend = legendBlock(legendItems, title.height, width);
  const top = title.height + legend.height + 10;

  const layout = layoutXY(
    OP,
    { left: 0, top, width, height, xLabel: opts.xLabel, yLabel: opts.yLabel },
    // x: tight to the data (no rounding out to a tick); y: rounded out to ticks.
    (t) =>
      x1 > x0
        ? linearScale(x0, x1, t, xMin ?? Math.min(x0, xMax ?? x0), xMax ?? Math.max(x1, xMin ?? x1))
        : linearScale(x0, x1, t, xMin, xMax),
    (t) => (yLog ? logScale(y0, y1, t, yMin, yMax) : linearScale(y0, y1, t, yMin, yMax)),
  );
  const { rect, xs, ys } = layout;

  // Draw each series.
  let lines = "";
  let dots = "";
  data.forEach((d, i) => {
    const color = d.s.color ?? paletteColor(i);
    const markers = d.s.markers ?? markersAll;
    const segments: number[][] = [];
    let cur: number[] = [];
    for (let j = 0; j < d.n; j++) {
      const xv = d.xAt(j);
      const yv = Number(d.y[j]);
      if (!valid(xv, yv)) {
        if (cur.length) segments.push(cur);
        cur = [];
        continue;
      }
      cur.push(px(xs, xv, rect), py(ys, yv, rect));
    }
    if (cur.length) segments.push(cur);
    let dPath = "";
    let many = false;
    for (const seg of segments) {
      if (seg.length === 2) {
        // A lone point: a dot (or just its marker).
        if (!markers) dots += el("circle", { cx: seg[0], cy: seg[1], r: 2, fill: color });
        continue;
      }
      const pts = thin(seg, rect.w);
      if (pts.length / 2 > rect.w / 2) many = true;
      dPath += "M" + n1(pts[0]) + " " + n1(pts[1]);
      if (pts.length > 2) dPath += "L";
      for (let k = 2; k < pts.length; k += 2) {
        dPath += (k > 2 ? " " : "") + n1(pts[k]) + " " + n1(pts[k + 1]);
      }
    }
    if (dPath) {
      lines += el("path", {
        d: dPath,
        fill: "none",
        stroke: color,
        "stroke-width": many ? 1.25 : 2,
        "stroke-linejoin": "round",
        "stroke-linecap": "round",
        "stroke-dasharray": d.s.dashed ? "6 4" : undefined,
        class: "series",
      });
    }
    if (markers) {
      const shape = shapeFor(i);
      for (const seg of segments) {
        for (let k = 0; k < seg.length; k += 2) {
          dots += marker(shape, seg[k], seg[k + 1], 3.5, color, "#ffffff");
        }
      }
    }
  });

  const clip = uid(
    "clip",
    `${opts.title}|${width}|${height}|${lines.length}|${lines.slice(0, 200)}`,
  );
  const pad = 4; // markers and thick lines at the edges stay visible
  return svgOpen(width, height, opts.title) +
    title.svg + legend.svg +
    el(
      "defs",
      {},
      el(
        "clipPath",
        { id: clip },
        el("rect", {
          x: rect.x - pad,
          y: rect.y - pad,
          width: rect.w + 2 * pad,
          height: rect.h + 2 * pad,
        }),
      ),
    ) +
    plotAreaSvg(rect) +
    gridSvg(rect, xs, ys) +
    el("g", { "clip-path": `url(#${clip})` }, lines + dots) +
    axesSvg(rect, xs, ys, { xLabel: opts.xLabel, yLabel: opts.yLabel, yLabelX: layout.yLabelX }) +
    SVG_CLOSE;
}

/**
 * Thins a run of pixel points `[x0, y0, x1, y1, …]`. When x never
 * decreases and there are more than two points per pixel column, keeps the
 * first, last, lowest and highest point of each column (in order);
 * otherwise drops points closer than 0.25 px to the last one kept.
 */
function thin(seg: number[], widthPx: number): number[] {
  const n = seg.length / 2;
  let monotone = true;
  for (let k = 2; k < seg.length && monotone; k += 2) if (seg[k] < seg[k - 2]) monotone = false;
  if (monotone && n > 2 * widthPx) {
    const out: number[] = [];
    let k = 0;
    while (k < n) {
      const col = Math.floor(seg[2 * k]);
      const first = k;
      let last = k, lo = k, hi = k;
      while (k < n && Math.floor(seg[2 * k]) === col) {
        if (seg[2 * k + 1] < seg[2 * lo + 1]) lo = k;
        if (seg[2 * k + 1] > seg[2 * hi + 1]) hi = k;
        last = k;
        k++;
      }
      const keep = [...new Set([first, lo, hi, last])].sort((a, b) => a - b);
      for (const j of keep) out.push(seg[2 * j], seg[2 * j + 1]);
    }
    return out;
  }
  const out = [seg[0], seg[1]];
  for (let k = 2; k < seg.length; k += 2) {
    const dx = seg[k] - out[out.length - 2];
    const dy = seg[k + 1] - out[out.length - 1];
    if (dx * dx + dy * dy >= 0.0625 || k === seg.length - 2) out.push(seg[k], seg[k + 1]);
  }
  return out;
}
