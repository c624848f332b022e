/**
 * Histograms: one distribution, or several side by side over the same range
 * (the activation distributions of a network's layers).
 *
 * @module
 */

import {
  axesSvg,
  fitXScale,
  gridSvg,
  layoutXY,
  linearScale,
  maxLabelWidth,
  plotAreaSvg,
  type PlotRect,
  px,
  py,
  type Scale,
} from "./_axes.ts";
import {
  checkPositiveInt,
  checkRange,
  checkSize,
  DEFAULT_HEIGHT,
  DEFAULT_WIDTH,
  el,
  esc,
  fitText,
  FONT_SIZE,
  INK,
  INK_SOFT,
  LABEL_SIZE,
  maxOf,
  n2,
  paletteColor,
  SVG_CLOSE,
  svgOpen,
  text,
  textWidth,
  titleBlock,
} from "./_svg.ts";
import { fmtNumber } from "./_axes.ts";
import type { Tensor } from "../core/tensor.ts";
import { readNumbers } from "./_data.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

const HISTOGRAM_KEYS: OptionKeys<HistogramOptions> = {
  values: true,
  title: true,
  bins: true,
  range: true,
  xLabel: true,
  yLabel: true,
  color: true,
  width: true,
  height: true,
};
const HISTOGRAMS_KEYS: OptionKeys<HistogramsOptions> = {
  panels: true,
  title: true,
  bins: true,
  range: true,
  columns: true,
  sharedY: "boolean",
  xLabel: true,
  yLabel: true,
  width: true,
  height: true,
};
const PANEL_KEYS: OptionKeys<HistogramPanel> = {
  title: true,
  values: true,
};

/**
 * Options of {@linkcode histogramBins}.
 *
 * @example
 * ```ts
 * import { plot } from "@gradus/core";
 *
 * const options: plot.HistogramBinsOptions = { bins: 4, range: [0, 1] };
 * const { counts, outside } = plot.histogramBins([0.1, 0.2, 0.6, 0.9, 1, 3], options);
 * console.log(counts, outside); // [2, 0, 1, 2] 1 (1 is in the last bin, 3 is outside)
 * ```
 */
export interface HistogramBinsOptions {
  /** The number of equal-width bins (default 30). */
  readonly bins?: number;
  /** The range `[lo, hi]` the bins cover (default: the finite values' min and max). */
  readonly range?: readonly [number, number];
}

/**
 * Bin edges and counts, as {@linkcode histogramBins} returns them.
 *
 * @example
 * ```ts
 * import { plot } from "@gradus/core";
 *
 * const bins: plot.HistogramBins = plot.histogramBins([1, 2, 2, 3, NaN], { bins: 2 });
 * console.log(bins.edges, bins.counts, bins.nonFinite); // [1, 2, 3] [1, 3] 1
 * ```
 */
export interface HistogramBins {
  /** `bins + 1` ascending edges; bin `i` is `[edges[i], edges[i + 1])`, the last one closed. */
  readonly edges: number[];
  /** How many values fall in each bin. */
  readonly counts: number[];
  /** Finite values outside the range (not counted). */
  readonly outside: number;
  /** NaN and ±Infinity values (not counted). */
  readonly nonFinite: number;
}

/**
 * Counts values into equal-width bins, like NumPy's `histogram`: bin `i`
 * holds `edges[i] ≤ v < edges[i + 1]`, the last bin also holds `v = hi`.
 * Values outside the range and non-finite values are not counted (their
 * numbers are returned). Without values and range the range is `[0, 1]`;
 * a single-valued extent `v` becomes `[v - 0.5, v + 0.5]` (wider where
 * 0.5 is below `v`'s precision).
 *
 * @param values The values, as host numbers (this helper is synchronous:
 * read a tensor with `await t.data()` first, or pass it to `histogram`).
 * @param opts `bins` (default 30) and `range` (default: the data's extent).
 * @returns The edges, the counts, and how many values were left out.
 * @throws {RangeError} When `bins` is not a positive integer or `range` is
 * not `[lo, hi]` with finite `lo < hi`.
 * @example
 * ```ts
 * import { plot } from "@gradus/core";
 *
 * const { edges, counts } = plot.histogramBins([0, 0.1, 0.5, 0.9, 1], { bins: 2 });
 * console.log(edges, counts); // [0, 0.5, 1] [2, 3]
 * ```
 */
export function histogramBins(
  values: ArrayLike<number>,
  opts: HistogramBinsOptions = {},
): HistogramBins {
  const op = "histogramBins()";
  const bins = checkPositiveInt(op, "bins", opts.bins ?? 30);
  let range = checkRange(op, "range", opts.range);
  let nonFinite = 0;
  if (range === undefined) {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = Number(values[i]);
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo > hi) range = [0, 1];
    else if (lo === hi) range = widen(lo);
    else range = [lo, hi];
  }
  const [lo, hi] = range;
  // Halves where the width is not a finite number (the range ±1e308).
  const wide = !Number.isFinite(hi - lo);
  const edges = Array.from(
    { length: bins + 1 },
    (_, i) =>
      i === bins
        ? hi
        : wide
        ? lo * ((bins - i) / bins) + hi * (i / bins)
        : lo + (hi - lo) * i / bins,
  );
  const counts = new Array<number>(bins).fill(0);
  let outside = 0;
  const scale = wide ? bins / (hi / 2 - lo / 2) / 2 : bins / (hi - lo);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    if (v < lo || v > hi) {
      outside++;
      continue;
    }
    let b = Math.floor((wide ? v / 2 - lo / 2 : v - lo) * scale);
    if (!(b >= 0)) b = 0; // NaN where the width underflows to an infinite scale
    if (b >= bins) b = bins - 1;
    // Rounding can put a value next to an edge in a neighbouring bin.
    while (b > 0 && v < edges[b]) b--;
    while (b < bins - 1 && v >= edges[b + 1]) b++;
    counts[b]++;
  }
  return { edges, counts, outside, nonFinite };
}

/**
 * The range of a single-valued extent `v`: `[v - 0.5, v + 0.5]`, wider
 * where 0.5 is below `v`'s precision (1e20 ± 0.5 is 1e20).
 */
function widen(v: number): [number, number] {
  const d = Math.max(0.5, Math.abs(v) * 1e-9);
  return [v - d, v + d];
}

/** Bars of one histogram, each with a tooltip. */
function barsSvg(h: HistogramBins, xs: Scale, ys: Scale, r: PlotRect, color: string): string {
  let svg = "";
  const nb = h.counts.length;
  for (let i = 0; i < nb; i++) {
    const c = h.counts[i];
    if (c === 0) continue;
    const xa = px(xs, h.edges[i], r);
    const xb = px(xs, h.edges[i + 1], r);
    const gap = xb - xa >= 4 ? 0.5 : 0;
    const y = py(ys, c, r);
    const tip = `[${fmtNumber(h.edges[i])}, ${fmtNumber(h.edges[i + 1])}${
      i === nb - 1 ? "]" : ")"
    }: ${c}`;
    svg += el(
      "rect",
      {
        x: xa + gap,
        y,
        width: Math.max(0.5, xb - xa - 2 * gap),
        height: r.y + r.h - y,
        "data-count": c,
      },
      el("title", {}, esc(tip)),
    );
  }
  return el("g", { class: "bars", fill: color }, svg);
}

/** What was left out of a histogram (`12 outside range, 1 NaN/∞`), or "". */
function leftOutText(h: HistogramBins): string {
  const parts: string[] = [];
  if (h.outside > 0) parts.push(`${h.outside} outside range`);
  if (h.nonFinite > 0) parts.push(`${h.nonFinite} NaN/∞`);
  return parts.join(", ");
}

/** Room to reserve above a plot for the left-out note. */
const NOTE_H = 14;

/** The left-out note, small and grey, right-aligned just above the plot area. */
function leftOutNote(h: HistogramBins, r: PlotRect, size: number): string {
  const note = leftOutText(h);
  if (!note) return "";
  return text(r.x + r.w, r.y - 5, fitText(note, r.w, size), {
    "text-anchor": "end",
    "font-size": size,
    fill: INK_SOFT,
    class: "note",
  });
}

/**
 * Options of {@linkcode histogram}.
 *
 * @example
 * ```ts
 * import { plot, random } from "@gradus/core";
 *
 * const options: plot.HistogramOptions = {
 *   values: random.normal(random.key(0), [1000]),
 *   title: "Weights",
 *   bins: 20,
 *   range: [-4, 4],
 *   xLabel: "value",
 * };
 * console.log((await plot.histogram(options)).startsWith("<svg")); // true
 * ```
 */
export interface HistogramOptions {
  /**
   * The values: numbers or a tensor of any shape (read with `await
   * t.data()`). NaN and ±Infinity are left out and noted on the chart.
   */
  readonly values: ArrayLike<number> | Tensor;
  /** The title at the top. */
  readonly title?: string;
  /** The number of equal-width bins (default 30). */
  readonly bins?: number;
  /** The range `[lo, hi]` of the bins and the x axis (default: the data's extent); values outside are noted. */
  readonly range?: readonly [number, number];
  /** The x-axis label. */
  readonly xLabel?: string;
  /** The y-axis label (default `count`). */
  readonly yLabel?: string;
  /** Bar colour (default: the first palette colour). */
  readonly color?: string;
  /** Width in pixels (default 640). */
  readonly width?: number;
  /** Height in pixels (default 400). */
  readonly height?: number;
}

/**
 * A histogram as a standalone SVG document: equal-width bins counted as
 * {@linkcode histogramBins} does, one bar per non-empty bin (hover a bar for
 * its interval and count). Values left out (outside `range`, NaN, ±Infinity)
 * are counted in a note in the corner. Async, like every chart: a tensor's
 * values are read with `await t.data()`, so it works on every backend.
 *
 * @param opts The values and the look (see {@linkcode HistogramOptions}).
 * @returns A promise of the SVG document.
 * @throws {RangeError} When `bins` is not a positive integer or `range` is invalid.
 * @example
 * ```ts
 * import { plot } from "@gradus/core";
 *
 * const values = Array.from({ length: 1000 }, (_, i) => Math.sin(i) * Math.cos(3 * i));
 * const svg = await plot.histogram({ title: "Activations", values, bins: 20, xLabel: "value" });
 * console.log(svg.includes("Activations")); // true
 * ```
 * @example The weights of a layer, straight from the tensor
 * ```ts
 * import { plot, random } from "@gradus/core";
 *
 * const w = random.normal(random.key(0), [100, 50], { std: 0.1 });
 * const svg = await plot.histogram({ title: "w", values: w, bins: 30 });
 * console.log(svg.includes("<rect")); // true
 * ```
 */
export async function histogram(opts: HistogramOptions): Promise<string> {
  const op = "histogram()";
  checkOptions("histogram", opts, HISTOGRAM_KEYS, "{ values, bins: 30 }", true);
  const values = await readNumbers(op, "values", opts.values);
  const width = checkSize(op, "width", opts.width ?? DEFAULT_WIDTH, 120);
  const height = checkSize(op, "height", opts.height ?? DEFAULT_HEIGHT, 100);
  const h = histogramBins(values, {
    bins: opts.bins,
    range: checkRange(op, "range", opts.range),
  });
  const lo = h.edges[0];
  const hi = h.edges[h.edges.length - 1];
  const maxCount = maxOf(h.counts, 0);
  const yLabel = opts.yLabel ?? "count";
  const title = titleBlock(opts.title, width);
  const { rect, xs, ys, yLabelX } = layoutXY(
    op,
    {
      left: 0,
      top: title.height + 10 + (leftOutText(h) ? NOTE_H : 0),
      width,
      height,
      xLabel: opts.xLabel,
      yLabel,
    },
    (t) => linearScale(lo, hi, t, lo, hi),
    (t) => linearScale(0, Math.max(1, maxCount), t, 0),
  );
  return svgOpen(width, height, opts.title) + title.svg +
    plotAreaSvg(rect) +
    gridSvg(rect, undefined, ys) +
    barsSvg(h, xs, ys, rect, opts.color ?? paletteColor(0)) +
    leftOutNote(h, rect, FONT_SIZE - 1) +
    axesSvg(rect, xs, ys, { xLabel: opts.xLabel, yLabel, yLabelX }) +
    SVG_CLOSE;
}

/**
 * One panel of {@linkcode histograms}.
 *
 * @example
 * ```ts
 * import { nn, plot, random } from "@gradus/core";
 *
 * const x = random.normal(random.key(0), [100, 50]);
 * const panels: plot.HistogramPanel[] = [
 *   { title: "sigmoid", values: nn.sigmoid(x) },
 *   { title: "tanh", values: nn.tanh(x) },
 * ];
 * const svg = await plot.histograms({ panels, range: [-1, 1] });
 * console.log(svg.includes("sigmoid") && svg.includes("tanh")); // true
 * ```
 */
export interface HistogramPanel {
  /** The panel's title (`Layer 1`, …). */
  readonly title?: string;
  /** The values: numbers or a tensor of any shape (e.g. one layer's activations). */
  readonly values: ArrayLike<number> | Tensor;
}

/**
 * Options of {@linkcode histograms}.
 *
 * @example
 * ```ts
 * import { plot } from "@gradus/core";
 *
 * const options: plot.HistogramsOptions = {
 *   title: "Activations per layer",
 *   panels: [1, 2, 3, 4].map((i) => ({ title: `Layer ${i}`, values: [0.1 * i, 0.5, 0.9] })),
 *   bins: 10,
 *   range: [0, 1],
 *   columns: 2,
 *   sharedY: true,
 * };
 * console.log((await plot.histograms(options)).includes("Layer 4")); // true
 * ```
 */
export interface HistogramsOptions {
  /** The panels, drawn left to right, then in rows. */
  readonly panels: readonly HistogramPanel[];
  /** The title at the top. */
  readonly title?: string;
  /** The number of equal-width bins of every panel (default 30). */
  readonly bins?: number;
  /** The range of every panel (default: the extent of all finite values of all panels). */
  readonly range?: readonly [number, number];
  /** Panels per row (default: all in one row, at most 5). */
  readonly columns?: number;
  /** One y scale for all panels, labelled on the first column only (default true). */
  readonly sharedY?: boolean;
  /** The x-axis label, once under the panels. */
  readonly xLabel?: string;
  /** The y-axis label, once left of the panels (default `count`). */
  readonly yLabel?: string;
  /** Width in pixels (default: 640, or more for more than 3 columns). */
  readonly width?: number;
  /** Height in pixels (default: 300 for one row, plus 220 per further row). */
  readonly height?: number;
}

/**
 * Several histograms side by side, all over the same bins — the
 * distributions of activations layer by layer, comparable at a glance. By
 * default they also share one y scale. Async, like every chart: tensors are
 * read with `await t.data()`.
 *
 * @param opts The panels and the look (see {@linkcode HistogramsOptions}).
 * @returns A promise of the SVG document.
 * @throws {RangeError} When there are no panels, or `bins`, `columns` or
 * `range` is invalid.
 * @example
 * ```ts
 * import { plot } from "@gradus/core";
 *
 * const layer = (k: number) => Array.from({ length: 500 }, (_, i) => 1 / (1 + Math.exp(-Math.sin(i * k))));
 * const svg = await plot.histograms({
 *   title: "Sigmoid activations",
 *   panels: [1, 2, 3, 4, 5].map((k) => ({ title: `Layer ${k}`, values: layer(k) })),
 *   range: [0, 1],
 * });
 * console.log(svg.includes("Layer 5")); // true
 * ```
 */
export async function histograms(opts: HistogramsOptions): Promise<string> {
  const op = "histograms()";
  checkOptions("histograms", opts, HISTOGRAMS_KEYS, "{ panels: [{ title, values }] }", true);
  for (const [i, p] of (Array.isArray(opts.panels) ? opts.panels : []).entries()) {
    checkOptions("histograms", p, PANEL_KEYS, `panels[${i}] such as { title, values }`, true);
  }
  if (!opts.panels || opts.panels.length === 0) {
    throw new RangeError(`${op}: no panels; pass panels: [{ title, values }]`);
  }
  const panels: { title?: string; values: ArrayLike<number> }[] = [];
  for (const [i, p] of opts.panels.entries()) {
    panels.push({ title: p.title, values: await readNumbers(op, `panels[${i}].values`, p.values) });
  }
  const bins = checkPositiveInt(op, "bins", opts.bins ?? 30);
  const columns = checkPositiveInt(op, "columns", opts.columns ?? Math.min(panels.length, 5));
  const rows = Math.ceil(panels.length / columns);
  const width = checkSize(
    op,
    "width",
    opts.width ?? Math.max(DEFAULT_WIDTH, 160 * columns + 80),
    120,
  );
  const height = checkSize(op, "height", opts.height ?? 300 + 220 * (rows - 1), 100);
  const sharedY = opts.sharedY ?? true;
  const yLabel = opts.yLabel ?? "count";

  let range = checkRange(op, "range", opts.range);
  if (range === undefined) {
    let lo = Infinity, hi = -Infinity;
    for (const p of panels) {
      for (let i = 0; i < p.values.length; i++) {
        const v = Number(p.values[i]);
        if (!Number.isFinite(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    range = lo > hi ? [0, 1] : lo === hi ? widen(lo) : [lo, hi];
  }
  const hs = panels.map((p) => histogramBins(p.values, { bins, range }));
  const [lo, hi] = range;

  const title = titleBlock(opts.title, width);
  const top = title.height + 6;
  const PANEL_TITLE = 22 + (hs.some((h) => leftOutText(h) !== "") ? NOTE_H : 0);
  const XTICKS = 8 + FONT_SIZE + 6;
  const bottom = opts.xLabel ? 10 + LABEL_SIZE + 8 : 4;
  const rowH = (height - top - bottom) / rows;
  const plotH = rowH - PANEL_TITLE - XTICKS;
  if (plotH < 30) {
    throw new RangeError(`${op}: the chart is too small for ${rows} row(s) of panels`);
  }
  const yTarget = Math.max(2, Math.floor(plotH / 40));
  const globalMax = maxOf(hs.map((h) => maxOf(h.counts, 0)), 1);
  const yScales = hs.map((h) =>
    linearScale(0, sharedY ? globalMax : maxOf(h.counts, 1), yTarget, 0)
  );
  const tickW = maxOf(yScales.map(maxLabelWidth), 0);
  const left = 6 + (yLabel ? LABEL_SIZE + 10 : 0) + tickW + 12;
  const right = 18;
  // The gap between panels leaves room for the y tick labels (when not
  // shared) and for the x tick labels at the panels' edges.
  const edgeLabels = (s: Scale): number =>
    (textWidth(s.labels[0] ?? "") + textWidth(s.labels[s.labels.length - 1] ?? "")) / 2;
  const guess = fitXScale(
    (t) => linearScale(lo, hi, t, lo, hi),
    (width - left - right - 24 * (columns - 1)) / columns,
  );
  const gapX = Math.max(sharedY ? 18 : tickW + 24, edgeLabels(guess) + 12);
  const plotW = (width - left - right - gapX * (columns - 1)) / columns;
  if (plotW < 30) throw new RangeError(`${op}: the chart is too small for ${columns} columns`);
  const xs = fitXScale((t) => linearScale(lo, hi, t, lo, hi), plotW);

  let body = "";
  hs.forEach((h, i) => {
    const row = Math.floor(i / columns);
    const col = i % columns;
    const rect: PlotRect = {
      x: left + col * (plotW + gapX),
      y: top + row * rowH + PANEL_TITLE,
      w: plotW,
      h: plotH,
    };
    const ys = yScales[i];
    const panelTitle = panels[i].title;
    body += el(
      "g",
      { class: "panel" },
      (panelTitle
        ? text(
          rect.x + rect.w / 2,
          rect.y - PANEL_TITLE + 14,
          fitText(panelTitle, plotW, LABEL_SIZE),
          {
            "text-anchor": "middle",
            "font-size": LABEL_SIZE,
            "font-weight": 600,
            fill: INK,
          },
        )
        : "") +
        plotAreaSvg(rect) +
        gridSvg(rect, undefined, ys) +
        barsSvg(h, xs, ys, rect, paletteColor(0)) +
        leftOutNote(h, rect, FONT_SIZE - 2) +
        axesSvg(rect, xs, ys, { yTickLabels: !sharedY || col === 0 }),
    );
  });
  const plotsLeft = left;
  const plotsRight = width - right;
  if (opts.xLabel) {
    body += text((plotsLeft + plotsRight) / 2, height - bottom + 10, opts.xLabel, {
      "text-anchor": "middle",
      dy: "0.71em",
      "font-size": LABEL_SIZE,
      class: "x-label",
    });
  }
  if (yLabel) {
    const x = 6 + LABEL_SIZE / 2 + 2;
    const y = top + (height - top - bottom) / 2;
    body += text(x, y, yLabel, {
      "text-anchor": "middle",
      dy: "0.35em",
      transform: `rotate(-90 ${n2(x)} ${n2(y)})`,
      "font-size": LABEL_SIZE,
      class: "y-label",
    });
  }
  return svgOpen(width, height, opts.title) + title.svg + body + SVG_CLOSE;
}
