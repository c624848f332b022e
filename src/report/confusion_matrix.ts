/**
 * Confusion-matrix heat maps.
 *
 * @module
 */

import { Tensor } from "../core/tensor.ts";
import { fmtNumber, linearScale } from "./_axes.ts";
import {
  AXIS,
  checkSize,
  el,
  esc,
  fitText,
  FONT_SIZE,
  INK,
  INK_SOFT,
  LABEL_SIZE,
  luminance,
  maxOf,
  n2,
  parseHex,
  SVG_CLOSE,
  svgOpen,
  text,
  textWidth,
  titleBlock,
  toHex,
  uid,
} from "./_svg.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

const CM_PLOT_KEYS: OptionKeys<ConfusionMatrixPlotOptions> = {
  matrix: true,
  labels: true,
  title: true,
  normalize: true,
  width: true,
  height: true,
};

/**
 * Options of {@linkcode confusionMatrix}.
 *
 * @example
 * ```ts
 * import { metrics, plot, tensor } from "@gradus/core";
 *
 * const logits = tensor([[2, 1], [0, 3], [1, 0], [0, 1]]);
 * const labels = tensor([0, 1, 1, 1], { dtype: "int32" });
 * const options: plot.ConfusionMatrixPlotOptions = {
 *   matrix: metrics.confusionMatrix(logits, labels),
 *   labels: ["cat", "dog"],
 *   normalize: "true",
 *   title: "Validation",
 * };
 * console.log((await plot.confusionMatrix(options)).includes("dog")); // true
 * ```
 */
export interface ConfusionMatrixPlotOptions {
  /**
   * The `C×C` matrix: rows are true classes, columns predicted classes, as
   * `metrics.confusionMatrix` builds it — that tensor itself, or nested
   * arrays.
   */
  readonly matrix: ArrayLike<ArrayLike<number>> | Tensor;
  /** Class names for the rows and columns (default `0`, `1`, …). */
  readonly labels?: readonly string[];
  /** The title at the top. */
  readonly title?: string;
  /**
   * `"true"`: divide each row by its sum, so cells read as the fraction of
   * each true class (the diagonal is the recall); `"none"` (default): raw counts.
   */
  readonly normalize?: "true" | "none";
  /** Width in pixels (default: sized to the matrix). */
  readonly width?: number;
  /** Height in pixels (default: sized to the matrix). */
  readonly height?: number;
}

/** The rows of a matrix given as nested arrays or as a 2-D tensor. */
async function readMatrix(
  op: string,
  m: ArrayLike<ArrayLike<number>> | Tensor,
): Promise<ArrayLike<ArrayLike<number>>> {
  if (!(m instanceof Tensor)) return m;
  if (m.ndim !== 2) {
    throw new RangeError(`${op}: the matrix must be a 2-D tensor [C, C], got shape [${m.shape}]`);
  }
  const values = await m.data();
  const cols = m.shape[1];
  return Array.from({ length: m.shape[0] }, (_, i) => values.subarray(i * cols, (i + 1) * cols));
}

/** ColorBrewer "Blues", light to dark: a sequential scale that prints and reads well. */
const BLUES = [
  "#f7fbff",
  "#deebf7",
  "#c6dbef",
  "#9ecae1",
  "#6baed6",
  "#4292c6",
  "#2171b5",
  "#08519c",
  "#08306b",
];

/** The colour of `t` in [0, 1] on the Blues scale (linear in RGB between the stops). */
function blues(t: number): string {
  const s = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (BLUES.length - 1);
  const i = Math.min(BLUES.length - 2, Math.floor(s));
  const f = s - i;
  const a = parseHex(BLUES[i]);
  const b = parseHex(BLUES[i + 1]);
  return toHex(a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f);
}

/**
 * A confusion matrix as a heat map, a standalone SVG string: true classes
 * down the rows, predicted classes along the columns, each cell shaded on a
 * sequential blue scale and labelled with its count (or row fraction with
 * `normalize: "true"`; white text on dark cells), and a colour bar. Hover
 * a cell for its details. Long class names on the columns are set at an
 * angle. Async, like every chart: a tensor is read with `await t.data()`,
 * so it works on every backend.
 *
 * @param opts The matrix and the look (see {@linkcode ConfusionMatrixPlotOptions}).
 * @returns A promise of the SVG document.
 * @throws {RangeError} When the matrix is empty or not square, or `labels`
 * has the wrong length.
 * @example
 * ```ts
 * import { metrics, plot, tensor } from "@gradus/core";
 *
 * const predicted = tensor([0, 2, 1, 1, 0, 2], { dtype: "int32" });
 * const labels = tensor([0, 1, 1, 2, 0, 2], { dtype: "int32" });
 * const cm = metrics.confusionMatrix(predicted, labels, { numClasses: 3 });
 * const svg = await plot.confusionMatrix({
 *   title: "Confusion matrix",
 *   matrix: cm,
 *   labels: ["cat", "dog", "bird"],
 * });
 * console.log(svg.includes("predicted")); // true
 * ```
 */
export async function confusionMatrix(opts: ConfusionMatrixPlotOptions): Promise<string> {
  const op = "confusionMatrix()";
  checkOptions("confusionMatrix", opts, CM_PLOT_KEYS, '{ matrix, normalize: "true" }', true);
  const m = await readMatrix(op, opts.matrix);
  const n = m?.length ?? 0;
  if (n === 0) throw new RangeError(`${op}: the matrix is empty; pass matrix: number[][] (C×C)`);
  for (let i = 0; i < n; i++) {
    if (!m[i] || m[i].length !== n) {
      throw new RangeError(
        `${op}: the matrix must be square (C×C); row ${i} has ${
          m[i]?.length
        } entries for ${n} rows`,
      );
    }
  }
  const names = opts.labels ?? Array.from({ length: n }, (_, i) => String(i));
  if (names.length !== n) {
    throw new RangeError(`${op}: ${names.length} labels for a ${n}×${n} matrix`);
  }
  const normalize = opts.normalize ?? "none";
  if (normalize !== "true" && normalize !== "none") {
    throw new RangeError(
      `${op}: normalize must be "true" or "none", got ${JSON.stringify(normalize)}`,
    );
  }

  // Values.
  const counts: number[][] = [];
  const values: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from(m[i], Number);
    counts.push(row);
    const s = row.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
    values.push(normalize === "true" ? row.map((v) => (s > 0 ? v / s : 0)) : row);
  }
  let vmax = 0;
  for (const row of values) for (const v of row) if (Number.isFinite(v) && v > vmax) vmax = v;
  if (normalize === "true") vmax = 1;
  if (vmax <= 0) vmax = 1;
  const fmt = (v: number): string => {
    if (!Number.isFinite(v)) return fmtNumber(v);
    if (normalize === "true") return v.toFixed(2);
    return Number.isInteger(v) ? String(v) : fmtNumber(Number(v.toPrecision(3)));
  };

  // Layout.
  const titleH = titleBlock(opts.title, 640).height;
  const rowLabelW = maxOf(names.map((s) => textWidth(s)), 0);
  const colLabelW = maxOf(names.map((s) => textWidth(s)), 0);
  const maxCell = maxOf(values.flat().map((v) => textWidth(fmt(v), FONT_SIZE)), 0);
  let cell = Math.max(16, Math.min(60, Math.floor(440 / n)));
  // Room for the counts in small matrices (larger ones drop the text instead).
  if (n <= 12 && maxCell + 10 > cell) cell = Math.min(80, Math.ceil(maxCell + 10));
  const left0 = 6 + LABEL_SIZE + 10 + Math.min(rowLabelW, 140) + 10;
  const barW = 14;
  const barTicks = linearScale(0, vmax, 5, 0, vmax);
  const barLabW = maxOf(barTicks.labels.map((l) => textWidth(l)), 0);
  const right = 24 + barW + 8 + barLabW + 12;
  if (opts.width !== undefined) {
    checkSize(op, "width", opts.width, 120);
    cell = Math.max(4, (opts.width - left0 - right) / n);
  }
  let rotate = colLabelW > cell - 4;
  let bottomLabels = rotate ? Math.min(colLabelW, 140) * 0.72 + FONT_SIZE + 10 : FONT_SIZE + 12;
  const bottom = bottomLabels + LABEL_SIZE + 12;
  if (opts.height !== undefined) {
    checkSize(op, "height", opts.height, 100);
    cell = Math.max(4, Math.min(cell, (opts.height - titleH - 10 - bottom) / n));
    rotate = colLabelW > cell - 4;
    bottomLabels = rotate ? Math.min(colLabelW, 140) * 0.72 + FONT_SIZE + 10 : FONT_SIZE + 12;
  }
  const gridW = cell * n;
  const width = opts.width ??
    Math.max(left0 + gridW + right, opts.title ? textWidth(opts.title, 16, true) + 24 : 0);
  const x0 = left0 + Math.max(0, (width - left0 - gridW - right) / 2);
  const title = titleBlock(opts.title, width);
  const y0 = titleH + 10;
  const height = opts.height ?? y0 + gridW + bottom + 6;
  const fontSize = Math.min(FONT_SIZE, Math.max(8, cell * 0.3));
  const showText = cell >= 16 && maxCell * (fontSize / FONT_SIZE) <= cell - 2;

  let cells = "";
  let texts = "";
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = values[i][j];
      const color = blues(v / vmax);
      const tip = `true ${names[i]}, predicted ${names[j]}: ${fmt(counts[i][j])}` +
        (normalize === "true" ? ` (${(v * 100).toFixed(1)} % of ${names[i]})` : "");
      cells += el(
        "rect",
        { x: x0 + j * cell, y: y0 + i * cell, width: cell, height: cell, fill: color },
        el("title", {}, esc(tip)),
      );
      if (showText) {
        texts += text(x0 + (j + 0.5) * cell, y0 + (i + 0.5) * cell, fmt(v), {
          "text-anchor": "middle",
          dy: "0.35em",
          fill: luminance(color) < 0.35 ? "#ffffff" : INK,
        });
      }
    }
  }

  let labelsSvg = "";
  for (let i = 0; i < n; i++) {
    labelsSvg += text(x0 - 8, y0 + (i + 0.5) * cell, fitText(names[i], 140), {
      "text-anchor": "end",
      dy: "0.35em",
    });
    const cx = x0 + (i + 0.5) * cell;
    const ty = y0 + gridW + 8;
    labelsSvg += rotate
      ? text(cx, ty, fitText(names[i], 140), {
        "text-anchor": "end",
        dy: "0.71em",
        transform: `rotate(-45 ${n2(cx)} ${n2(ty)})`,
      })
      : text(cx, ty, names[i], { "text-anchor": "middle", dy: "0.71em" });
  }
  const xl = x0 + gridW / 2;
  const xly = y0 + gridW + bottomLabels + 6;
  const ylx = 6 + LABEL_SIZE / 2 + 2;
  const yly = y0 + gridW / 2;
  const axisLabels = text(xl, xly, "predicted", {
    "text-anchor": "middle",
    dy: "0.71em",
    "font-size": LABEL_SIZE,
    class: "x-label",
  }) +
    text(ylx, yly, "true", {
      "text-anchor": "middle",
      dy: "0.35em",
      transform: `rotate(-90 ${n2(ylx)} ${n2(yly)})`,
      "font-size": LABEL_SIZE,
      class: "y-label",
    });

  // The colour bar.
  const gid = uid("blues", `${opts.title}|${n}|${vmax}|${cells.length}`);
  const bx = x0 + gridW + 24;
  const stops = BLUES.map((c, i) =>
    el("stop", { offset: `${n2((i / (BLUES.length - 1)) * 100)}%`, "stop-color": c })
  ).join("");
  let bar = el("defs", {}, el("linearGradient", { id: gid, x1: 0, y1: 1, x2: 0, y2: 0 }, stops)) +
    el("rect", {
      x: bx,
      y: y0,
      width: barW,
      height: gridW,
      fill: `url(#${gid})`,
      stroke: AXIS,
      "stroke-width": 0.5,
    });
  for (let k = 0; k < barTicks.ticks.length; k++) {
    const y = y0 + gridW - (barTicks.ticks[k] / vmax) * gridW;
    bar += el("path", { d: `M${n2(bx + barW)} ${n2(y)}h4`, stroke: AXIS });
    bar += text(bx + barW + 7, y, barTicks.labels[k], { dy: "0.35em", fill: INK_SOFT });
  }

  return svgOpen(width, height, opts.title) + title.svg +
    el("g", { class: "cells", "shape-rendering": "crispEdges" }, cells) +
    el("g", { class: "values", "font-size": n2(fontSize) }, texts) +
    el("rect", {
      x: x0,
      y: y0,
      width: gridW,
      height: gridW,
      fill: "none",
      stroke: AXIS,
      "stroke-width": 0.5,
    }) +
    el("g", { class: "class-labels", fill: INK }, labelsSvg) + axisLabels +
    el("g", { class: "colorbar" }, bar) +
    SVG_CLOSE;
}
