/**
 * Scales with "nice" ticks (1, 2 or 5 × 10^k; decades or 1-2-5 on log
 * scales), their labels, and the axes, gridlines and plot-area layout of the
 * x–y charts.
 *
 * @module
 */

import {
  AXIS,
  el,
  FONT_SIZE,
  GRID,
  GRID_MINOR,
  INK,
  INK_SOFT,
  LABEL_SIZE,
  n2,
  text,
  textWidth,
} from "./_svg.ts";

/** A scale: its domain, where the ticks go and how they read. */
export interface Scale {
  /** Domain start (maps to the left or bottom edge of the plot area). */
  readonly lo: number;
  /** Domain end. */
  readonly hi: number;
  /** Logarithmic (base 10). */
  readonly log: boolean;
  /** Labelled tick positions, ascending, inside `[lo, hi]`. */
  readonly ticks: readonly number[];
  /** The tick labels, one per tick. */
  readonly labels: readonly string[];
  /** Unlabelled positions of light gridlines (log scales). */
  readonly minor: readonly number[];
}

/** The smallest of 1, 2, 5, 10 × 10^k that is ≥ `raw` (> 0). */
export function niceStep(raw: number): number {
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const m = f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10;
  return clean(m * mag);
}

/** Removes floating-point noise (`0.30000000000000004` → `0.3`). */
function clean(v: number): number {
  const r = Number(v.toPrecision(12));
  return Object.is(r, -0) ? 0 : r;
}

/**
 * A number for a label: plain for moderate magnitudes, `1.5e-7` / `2e6`
 * otherwise, never `-0`.
 */
export function fmtNumber(v: number): string {
  if (v === 0) return "0";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "-∞";
  const a = Math.abs(v);
  const c = Number(v.toPrecision(6));
  if (a >= 1e-4 && a < 1e6) return String(c);
  return c.toExponential().replace("e+", "e");
}

/**
 * A tick label on a linear scale with tick spacing `step` whose largest
 * tick magnitude is `maxAbs`: the fewest decimals that tell the ticks apart
 * (`0`, `0.2`, …, `1`); exponent form (`5e5`, `1e6`, `1.5e6`) for a whole
 * axis of very small or very large numbers, so one axis never mixes forms.
 */
export function fmtTick(v: number, step: number, maxAbs: number = Math.abs(v)): string {
  if (Math.abs(v) < step * 1e-6) return "0";
  if (step >= 1e-3 && maxAbs < 1e6) {
    const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    return String(Number(v.toFixed(decimals)));
  }
  return Number(v.toPrecision(6)).toExponential().replace("e+", "e");
}

/**
 * A linear scale with about `target` nice ticks. The ends not fixed by
 * `fixedLo`/`fixedHi` are widened to whole steps; an empty or single-value
 * extent is widened so that it has a length.
 */
export function linearScale(
  dataLo: number,
  dataHi: number,
  target: number,
  fixedLo?: number,
  fixedHi?: number,
): Scale {
  let lo = fixedLo ?? dataLo;
  let hi = fixedHi ?? dataHi;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = fixedLo ?? (Number.isFinite(hi) ? hi - 1 : 0);
    hi = fixedHi ?? lo + 1;
  }
  // Data ends closer than the 12 digits the ticks keep (1 and 1 + 1e-13)
  // would make no scale: drawn as a single value, a flat line.
  if (
    lo < hi && (fixedLo === undefined || fixedHi === undefined) &&
    hi - lo <= Math.max(Math.abs(lo), Math.abs(hi)) * 1e-10
  ) {
    if (fixedHi !== undefined) lo = hi;
    else hi = lo;
  }
  if (!(lo < hi)) {
    const d = Math.abs(lo) * 0.1 || 1;
    if (fixedLo === undefined) lo -= d;
    if (fixedHi === undefined) hi = Math.max(hi, lo) + d;
    if (!(lo < hi)) hi = lo + d;
  }
  const t = Math.max(1, target);
  // Halves where the span is not a finite number (±1e308).
  const step = niceStep(Number.isFinite(hi - lo) ? (hi - lo) / t : (hi / 2 - lo / 2) / t * 2);
  const wideLo = clean(Math.floor(lo / step + 1e-9) * step);
  const wideHi = clean(Math.ceil(hi / step - 1e-9) * step);
  if (fixedLo === undefined && Number.isFinite(wideLo)) lo = wideLo;
  if (fixedHi === undefined && Number.isFinite(wideHi)) hi = wideHi;
  const k0 = Math.ceil(lo / step - 1e-9);
  const k1 = Math.floor(hi / step + 1e-9);
  const ends = Math.max(Math.abs(lo), Math.abs(hi));
  if (
    !(step > ends * 1e-11 && k1 - k0 <= 100 && Math.abs(k0) < 2 ** 52 && Math.abs(k1) < 2 ** 52)
  ) {
    // Fixed ends too close for nice ticks (steps below the ends' precision,
    // or subnormal): label the ends.
    return { lo, hi, log: false, ticks: [lo, hi], labels: [String(lo), String(hi)], minor: [] };
  }
  const ticks: number[] = [];
  for (let k = k0; k <= k1; k++) ticks.push(clean(k * step));
  const maxAbs = ticks.reduce((m, t) => Math.max(m, Math.abs(t)), 0);
  const labels = ticks.map((t) => fmtTick(t, step, maxAbs));
  return { lo, hi, log: false, ticks, labels, minor: [] };
}

/**
 * A log10 scale over positive values. Spans of 2.5 decades or more get
 * ticks at powers of ten (every k-th decade when there are many) and minor
 * gridlines at 2…9 × 10^k; shorter spans get ticks at 1, 2, 5 × 10^k.
 * Unfixed ends are widened to the next tick.
 */
export function logScale(
  dataLo: number,
  dataHi: number,
  target: number,
  fixedLo?: number,
  fixedHi?: number,
): Scale {
  let lo = fixedLo ?? dataLo;
  let hi = fixedHi ?? dataHi;
  if (!(lo > 0) || !Number.isFinite(lo)) {
    lo = fixedLo ?? (hi > 0 && Number.isFinite(hi) ? hi / 10 : 1);
  }
  if (!(hi > 0) || !Number.isFinite(hi)) hi = fixedHi ?? lo * 10;
  if (!(lo < hi)) {
    if (fixedLo === undefined) lo /= 2;
    if (fixedHi === undefined) hi = Math.max(hi, lo) * 2;
    if (!(lo < hi)) hi = lo * 10;
  }
  const span = Math.log10(hi / lo);
  const ticks: number[] = [];
  const minor: number[] = [];
  const inside = (v: number): boolean => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9);
  if (span >= 2.5) {
    const e0 = Math.floor(Math.log10(lo) + 1e-9);
    const e1 = Math.ceil(Math.log10(hi) - 1e-9);
    if (fixedLo === undefined) lo = clean(10 ** e0);
    if (fixedHi === undefined) hi = clean(10 ** e1);
    const k = Math.max(1, Math.ceil((e1 - e0) / Math.max(1, target)));
    for (let e = e0; e <= e1; e++) {
      const v = clean(10 ** e);
      if (((e % k) + k) % k === 0 && inside(v)) ticks.push(v);
      if (k === 1 && e1 - e0 <= 8) {
        for (let m = 2; m <= 9; m++) if (inside(clean(m * 10 ** e))) minor.push(clean(m * 10 ** e));
      } else if (k > 1 && inside(v) && ((e % k) + k) % k !== 0) minor.push(v);
    }
  } else {
    const e0 = Math.floor(Math.log10(lo)) - 1;
    const e1 = Math.ceil(Math.log10(hi)) + 1;
    const cands: { v: number; m: number }[] = [];
    for (let e = e0; e <= e1; e++) {
      for (const m of [1, 2, 5]) cands.push({ v: clean(m * 10 ** e), m });
    }
    if (fixedLo === undefined) lo = cands.filter((c) => c.v <= lo * (1 + 1e-9)).pop()?.v ?? lo;
    if (fixedHi === undefined) hi = cands.find((c) => c.v >= hi * (1 - 1e-9))?.v ?? hi;
    let chosen = cands.filter((c) => inside(c.v));
    const ones = chosen.filter((c) => c.m === 1);
    if (chosen.length > target + 2 && ones.length >= 2) chosen = ones;
    ticks.push(...chosen.map((c) => c.v));
    for (let e = e0; e <= e1; e++) {
      for (let m = 2; m <= 9; m++) {
        const v = clean(m * 10 ** e);
        if (inside(v) && !ticks.includes(v)) minor.push(v);
      }
    }
  }
  return { lo, hi, log: true, ticks, labels: ticks.map(fmtNumber), minor };
}

/** The plot area, in pixels. */
export interface PlotRect {
  /** Left edge. */
  readonly x: number;
  /** Top edge. */
  readonly y: number;
  /** Width. */
  readonly w: number;
  /** Height. */
  readonly h: number;
}

/** The fraction (0 at `lo`, 1 at `hi`) of the way along a scale. */
export function frac(s: Scale, v: number): number {
  return s.log
    ? (Math.log10(v) - Math.log10(s.lo)) / (Math.log10(s.hi) - Math.log10(s.lo))
    : Number.isFinite(s.hi - s.lo)
    ? (v - s.lo) / (s.hi - s.lo)
    : (v / 2 - s.lo / 2) / (s.hi / 2 - s.lo / 2);
}

/** The x pixel of `v`. */
export function px(s: Scale, v: number, r: PlotRect): number {
  return r.x + frac(s, v) * r.w;
}

/** The y pixel of `v` (up is larger). */
export function py(s: Scale, v: number, r: PlotRect): number {
  return r.y + r.h - frac(s, v) * r.h;
}

/** The (unfilled) rectangle of the plot area, tagged for styling. */
export function plotAreaSvg(r: PlotRect): string {
  return el("rect", { class: "plot-area", x: r.x, y: r.y, width: r.w, height: r.h, fill: "none" });
}

/** Gridlines (minor, then major) of both scales inside the plot area. */
export function gridSvg(r: PlotRect, xs: Scale | undefined, ys: Scale | undefined): string {
  let minor = "";
  let major = "";
  if (xs) {
    for (const v of xs.minor) minor += `M${n2(px(xs, v, r))} ${n2(r.y)}V${n2(r.y + r.h)}`;
    for (const v of xs.ticks) major += `M${n2(px(xs, v, r))} ${n2(r.y)}V${n2(r.y + r.h)}`;
  }
  if (ys) {
    for (const v of ys.minor) minor += `M${n2(r.x)} ${n2(py(ys, v, r))}H${n2(r.x + r.w)}`;
    for (const v of ys.ticks) major += `M${n2(r.x)} ${n2(py(ys, v, r))}H${n2(r.x + r.w)}`;
  }
  return el(
    "g",
    { class: "grid", fill: "none", "shape-rendering": "crispEdges" },
    (minor ? el("path", { d: minor, stroke: GRID_MINOR }) : "") +
      (major ? el("path", { d: major, stroke: GRID }) : ""),
  );
}

/** How {@linkcode axesSvg} draws. */
export interface AxesStyle {
  /** The x-axis label, under the tick labels. */
  readonly xLabel?: string;
  /** The y-axis label, rotated, left of the tick labels. */
  readonly yLabel?: string;
  /** The x pixel of the y-axis label's centre line. */
  readonly yLabelX?: number;
  /** Draw x tick labels (default true). */
  readonly xTickLabels?: boolean;
  /** Draw y tick labels (default true). */
  readonly yTickLabels?: boolean;
}

/** Axis lines, tick marks, tick labels and axis labels around the plot area. */
export function axesSvg(
  r: PlotRect,
  xs: Scale | undefined,
  ys: Scale | undefined,
  style: AxesStyle = {},
): string {
  let ticks = "";
  let labels = "";
  const bottom = r.y + r.h;
  if (xs) {
    for (let i = 0; i < xs.ticks.length; i++) {
      const x = px(xs, xs.ticks[i], r);
      ticks += `M${n2(x)} ${n2(bottom)}v5`;
      if (style.xTickLabels !== false) {
        labels += text(x, bottom + 8, xs.labels[i], { "text-anchor": "middle", dy: "0.71em" });
      }
    }
  }
  if (ys) {
    for (let i = 0; i < ys.ticks.length; i++) {
      const y = py(ys, ys.ticks[i], r);
      ticks += `M${n2(r.x)} ${n2(y)}h-5`;
      if (style.yTickLabels !== false) {
        labels += text(r.x - 8, y, ys.labels[i], { "text-anchor": "end", dy: "0.35em" });
      }
    }
  }
  let svg = el("path", {
    d: `M${n2(r.x)} ${n2(r.y)}V${n2(bottom)}H${n2(r.x + r.w)}` + ticks,
    stroke: AXIS,
    fill: "none",
    "shape-rendering": "crispEdges",
  });
  svg += el("g", { class: "tick-labels", fill: INK_SOFT, "font-size": FONT_SIZE }, labels);
  if (style.xLabel) {
    svg += text(r.x + r.w / 2, bottom + 8 + FONT_SIZE + 10, style.xLabel, {
      "text-anchor": "middle",
      dy: "0.71em",
      "font-size": LABEL_SIZE,
      fill: INK,
      class: "x-label",
    });
  }
  if (style.yLabel) {
    const x = style.yLabelX ?? r.x - 50;
    const y = r.y + r.h / 2;
    svg += text(x, y, style.yLabel, {
      "text-anchor": "middle",
      dy: "0.35em",
      transform: `rotate(-90 ${n2(x)} ${n2(y)})`,
      "font-size": LABEL_SIZE,
      fill: INK,
      class: "y-label",
    });
  }
  return el("g", { class: "axes" }, svg);
}

/** The widest tick label of a scale, in pixels. */
export function maxLabelWidth(s: Scale): number {
  return s.labels.reduce((m, l) => Math.max(m, textWidth(l)), 0);
}

/**
 * Builds an x scale whose tick labels do not collide: starts from one tick
 * per ~80 px and asks for fewer until the labels fit side by side.
 */
export function fitXScale(make: (target: number) => Scale, widthPx: number): Scale {
  let target = Math.max(2, Math.floor(widthPx / 80));
  for (;;) {
    const s = make(target);
    if (target <= 2 || s.ticks.length < 2) return s;
    let ok = true;
    for (let i = 1; i < s.ticks.length && ok; i++) {
      const gap = (frac(s, s.ticks[i]) - frac(s, s.ticks[i - 1])) * widthPx;
      const need = (textWidth(s.labels[i]) + textWidth(s.labels[i - 1])) / 2 + 10;
      if (gap < need) ok = false;
    }
    if (ok) return s;
    target--;
  }
}

/** The result of {@linkcode layoutXY}. */
export interface XYLayout {
  /** The plot area. */
  readonly rect: PlotRect;
  /** The x scale. */
  readonly xs: Scale;
  /** The y scale. */
  readonly ys: Scale;
  /** Where the y-axis label's centre line goes. */
  readonly yLabelX: number;
}

/**
 * Lays out an x–y chart in the box `[0, width] × [top, height]`: the bottom
 * margin holds x tick labels and the x label, the left margin is as wide as
 * the widest y tick label plus the y label.
 */
export function layoutXY(
  op: string,
  box: {
    readonly left: number;
    readonly top: number;
    readonly width: number;
    readonly height: number;
    readonly xLabel?: string;
    readonly yLabel?: string;
    readonly yTickLabels?: boolean;
    readonly rightPad?: number;
  },
  makeX: (target: number) => Scale,
  makeY: (target: number) => Scale,
): XYLayout {
  const bottom = 8 + FONT_SIZE + (box.xLabel ? 10 + LABEL_SIZE + 6 : 6);
  const plotH = box.height - box.top - bottom;
  if (plotH < 30) {
    throw new RangeError(`${op}: the chart is too small: ${plotH.toFixed(0)} px left for the plot`);
  }
  const ys = makeY(Math.max(2, Math.floor(plotH / 45)));
  const yLabW = box.yTickLabels === false ? 0 : maxLabelWidth(ys);
  const yLabelX = box.left + 6 + LABEL_SIZE / 2 + 2;
  const left = box.left + 6 + (box.yLabel ? LABEL_SIZE + 10 : 0) + yLabW + 12;
  const right = box.rightPad ?? 22;
  const plotW = box.width - left - right;
  if (plotW < 30) {
    throw new RangeError(`${op}: the chart is too small: ${plotW.toFixed(0)} px left for the plot`);
  }
  const xs = fitXScale(makeX, plotW);
  return { rect: { x: left, y: box.top, w: plotW, h: plotH }, xs, ys, yLabelX };
}
