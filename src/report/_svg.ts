/**
 * SVG building blocks shared by the charts: escaping, number formatting,
 * text width estimates, the palette, the document frame, titles and legends.
 *
 * @module
 */

/** Default chart size in pixels. */
export const DEFAULT_WIDTH = 640;
/** Default chart size in pixels. */
export const DEFAULT_HEIGHT = 400;

/** The font stack: the platform's UI font, then common sans-serif fallbacks. */
export const FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif";

/** Base font size of tick labels and legends, in pixels. */
export const FONT_SIZE = 12;
/** Font size of the chart title. */
export const TITLE_SIZE = 16;
/** Font size of axis labels. */
export const LABEL_SIZE = 13;

/** Text colours. */
export const INK = "#222";
/** Secondary text (tick labels). */
export const INK_SOFT = "#555";
/** Axis lines and tick marks. */
export const AXIS = "#888";
/** Gridlines. */
export const GRID = "#e6e6e6";
/** Minor gridlines. */
export const GRID_MINOR = "#f2f2f2";
/** Mismatches (wrong predictions). */
export const RED = "#c0172b";

/**
 * The Okabe–Ito colour-blind-friendly palette, reordered so the first
 * colours contrast best on white (yellow last).
 */
export const PALETTE: readonly string[] = [
  "#0072B2", // blue
  "#E69F00", // orange
  "#009E73", // bluish green
  "#D55E00", // vermillion
  "#CC79A7", // reddish purple
  "#56B4E9", // sky blue
  "#000000", // black
  "#F0E442", // yellow
];

/** The palette colour for series or class `i` (cycling). */
export function paletteColor(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

/**
 * Escapes text for XML character data and attribute values. Characters XML
 * 1.0 forbids (C0 controls other than tab, newline and carriage return, as
 * in a terminal's colour codes, and U+FFFE/U+FFFF) become U+FFFD, so the
 * document stays well-formed.
 */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]).replace(NOT_XML, "\uFFFD");
}

// deno-lint-ignore no-control-regex
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/** A pixel coordinate with at most 2 decimals and no trailing zeros. */
export function n2(v: number): string {
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? "0" : String(r);
}

/** A pixel coordinate with at most 1 decimal (paths with many points). */
export function n1(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? "0" : String(r);
}

/** An attribute value: numbers get 2 decimals, strings are escaped. */
type AttrValue = string | number | undefined | null | false;

/**
 * An element: `el("rect", {x: 1, fill: "#fff"})` or with children
 * `el("g", {}, "…")`. Attributes that are undefined, null or false are left out.
 */
export function el(name: string, attrs: Record<string, AttrValue>, children?: string): string {
  let s = `<${name}`;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    s += ` ${k}="${typeof v === "number" ? n2(v) : esc(v)}"`;
  }
  return children === undefined ? `${s}/>` : `${s}>${children}</${name}>`;
}

/** A `<text>` element with escaped content. */
export function text(
  x: number,
  y: number,
  content: string,
  attrs: Record<string, AttrValue> = {},
): string {
  return el("text", { x, y, ...attrs }, esc(content));
}

// Approximate advance widths (in em), calibrated on DejaVu Sans, one of the
// widest common UI fallbacks (Segoe UI, San Francisco, Roboto are narrower),
// so that estimates err on the generous side.
const NARROW = new Set("il.,:;'|!()[]{}`Ijft -/".split(""));
const SEMI = new Set("rsczk".split(""));
const WIDE = new Set("mwMW@%—".split(""));

/**
 * Estimated rendered width of `s` at `size` px in the UI font (on the
 * generous side); `bold` for font-weight 600.
 */
export function textWidth(s: string, size: number = FONT_SIZE, bold = false): number {
  let w = 0;
  for (const ch of s) {
    if (NARROW.has(ch)) w += 0.34;
    else if (WIDE.has(ch)) w += 0.95;
    else if (SEMI.has(ch)) w += 0.54;
    else if (ch >= "0" && ch <= "9") w += 0.64;
    else if (ch >= "A" && ch <= "Z") w += 0.71;
    else w += 0.61;
  }
  return w * size * (bold ? 1.1 : 1);
}

/** Shortens `s` with an ellipsis so that it fits `maxWidth` px at `size`. */
export function fitText(
  s: string,
  maxWidth: number,
  size: number = FONT_SIZE,
  bold = false,
): string {
  if (textWidth(s, size, bold) <= maxWidth) return s;
  const chars = [...s];
  while (chars.length > 1 && textWidth(chars.join("") + "…", size, bold) > maxWidth) chars.pop();
  return chars.join("") + "…";
}

/** The opening of a chart: `<svg …>`, a white background and an accessible `<title>`. */
export function svgOpen(width: number, height: number, title: string | undefined): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${n2(width)}" height="${n2(height)}" ` +
    `viewBox="0 0 ${n2(width)} ${n2(height)}" font-family="${FONT}" font-size="${FONT_SIZE}" ` +
    `fill="${INK}">` +
    (title ? el("title", {}, esc(title)) : "") +
    el("rect", { width: "100%", height: "100%", fill: "#ffffff" });
}

/** The close of a chart. */
export const SVG_CLOSE = "</svg>";

/** The visible title, centred at the top; returns the SVG and the height it takes. */
export function titleBlock(
  title: string | undefined,
  width: number,
): { readonly svg: string; readonly height: number } {
  if (!title) return { svg: "", height: 12 };
  const room = width - 24;
  const attrs = { "text-anchor": "middle", "font-weight": 600 };
  // Fits: one line at 16 px, else one line at 14 px, else two lines at 14 px.
  for (const size of [TITLE_SIZE, TITLE_SIZE - 2]) {
    if (textWidth(title, size, true) <= room) {
      return { svg: text(width / 2, 26, title, { ...attrs, "font-size": size }), height: 40 };
    }
  }
  const size = TITLE_SIZE - 2;
  const words = title.split(" ");
  let first = "";
  let k = 0;
  while (k < words.length) {
    const next = first ? `${first} ${words[k]}` : words[k];
    if (first && textWidth(next, size, true) > room) break;
    first = next;
    k++;
  }
  const second = fitText(words.slice(k).join(" "), room, size, true);
  const one = fitText(first, room, size, true);
  if (!second) {
    return { svg: text(width / 2, 26, one, { ...attrs, "font-size": size }), height: 40 };
  }
  return {
    svg: el(
      "text",
      { ...attrs, "font-size": size },
      el("tspan", { x: width / 2, y: 22 }, esc(one)) +
        el("tspan", { x: width / 2, y: 22 + size + 3 }, esc(second)),
    ),
    height: 40 + size + 3,
  };
}

/** One legend entry. */
export interface LegendItem {
  /** The text. */
  readonly name: string;
  /** The colour of the swatch. */
  readonly color: string;
  /** `line` (optionally dashed, optionally with a marker), `box` (a filled square) or `marker` only. */
  readonly kind: "line" | "box" | "marker";
  /** Dashed line swatch. */
  readonly dashed?: boolean;
  /** The marker shape, for `marker` (and `line` with markers). */
  readonly shape?: MarkerShape;
}

/**
 * A legend laid out in rows under the title, centred, wrapping to as many
 * rows as the width needs. Returns the SVG and the height it takes.
 */
export function legendBlock(
  items: readonly LegendItem[],
  y: number,
  width: number,
): { readonly svg: string; readonly height: number } {
  if (items.length === 0) return { svg: "", height: 0 };
  const SWATCH = 20;
  const GAP = 18;
  const ROW = 20;
  const maxItem = width - 40;
  const entries = items.map((it) => {
    const name = fitText(it.name, maxItem - SWATCH - 6);
    return { it, name, w: SWATCH + 6 + textWidth(name) };
  });
  // Greedy rows.
  const rows: (typeof entries)[] = [[]];
  let used = 0;
  for (const e of entries) {
    const row = rows[rows.length - 1];
    if (row.length > 0 && used + GAP + e.w > width - 40) {
      rows.push([e]);
      used = e.w;
    } else {
      used += (row.length > 0 ? GAP : 0) + e.w;
      row.push(e);
    }
  }
  let svg = "";
  rows.forEach((row, r) => {
    const total = row.reduce((s, e) => s + e.w, 0) + GAP * (row.length - 1);
    let x = (width - total) / 2;
    const cy = y + r * ROW + ROW / 2;
    for (const { it, name, w } of row) {
      if (it.kind === "box") {
        svg += el("rect", {
          x: x + 5,
          y: cy - 5,
          width: 10,
          height: 10,
          fill: it.color,
          stroke: "#00000033",
        });
      } else {
        if (it.kind === "line") {
          svg += el("line", {
            x1: x,
            y1: cy,
            x2: x + SWATCH,
            y2: cy,
            stroke: it.color,
            "stroke-width": 2,
            "stroke-dasharray": it.dashed ? "5 3" : undefined,
          });
        }
        if (it.shape) svg += marker(it.shape, x + SWATCH / 2, cy, 4, it.color, "#ffffff");
      }
      svg += text(x + SWATCH + 6, cy, name, { dy: "0.35em" });
      x += w + GAP;
    }
  });
  return { svg: el("g", { class: "legend" }, svg), height: rows.length * ROW + 4 };
}

/** Point marker shapes, one per class (shape as well as colour tells classes apart). */
export type MarkerShape = "circle" | "square" | "triangle" | "diamond" | "down" | "cross";

const SHAPES: readonly MarkerShape[] = ["circle", "square", "triangle", "diamond", "down", "cross"];

/** The marker shape for class `i` (cycling). */
export function shapeFor(i: number): MarkerShape {
  return SHAPES[i % SHAPES.length];
}

/** A marker of radius `r` centred at (x, y). */
export function marker(
  shape: MarkerShape,
  x: number,
  y: number,
  r: number,
  fill: string,
  stroke: string,
): string {
  const common = { fill, stroke, "stroke-width": 0.8 };
  switch (shape) {
    case "circle":
      return el("circle", { cx: x, cy: y, r, ...common });
    case "square": {
      const s = r * 0.9;
      return el("rect", { x: x - s, y: y - s, width: 2 * s, height: 2 * s, ...common });
    }
    default:
      return el("path", { d: markerPath(shape, x, y, r), ...common });
  }
}

/** Path data of a non-circle, non-square marker. */
function markerPath(shape: MarkerShape, x: number, y: number, r: number): string {
  const p = (pts: [number, number][]): string =>
    "M" + pts.map(([a, b]) => `${n2(x + a)} ${n2(y + b)}`).join("L") + "Z";
  const R = r * 1.2;
  switch (shape) {
    case "triangle":
      return p([[0, -R], [R * 0.87, R * 0.5], [-R * 0.87, R * 0.5]]);
    case "down":
      return p([[0, R], [R * 0.87, -R * 0.5], [-R * 0.87, -R * 0.5]]);
    case "diamond":
      return p([[0, -R], [R, 0], [0, R], [-R, 0]]);
    default: {
      const a = r * 0.35;
      return p([
        [-a, -R],
        [a, -R],
        [a, -a],
        [R, -a],
        [R, a],
        [a, a],
        [a, R],
        [-a, R],
        [-a, a],
        [-R, a],
        [-R, -a],
        [-a, -a],
      ]);
    }
  }
}

/** Mixes colour `hex` (`#rrggbb`) with white: `t = 0` white, `t = 1` the colour. */
export function tint(hex: string, t: number): string {
  const [r, g, b] = parseHex(hex);
  const m = (c: number): number => Math.round(255 + (c - 255) * t);
  return toHex(m(r), m(g), m(b));
}

/** `#rrggbb` → [r, g, b] in 0..255. */
export function parseHex(hex: string): [number, number, number] {
  const v = parseInt(hex.slice(1, 7), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** [r, g, b] in 0..255 → `#rrggbb`. */
export function toHex(r: number, g: number, b: number): string {
  const h = (c: number): string =>
    Math.max(0, Math.min(255, Math.round(c))).toString(16).padStart(2, "0");
  return `#${h(r)}${h(g)}${h(b)}`;
}

/** WCAG relative luminance of `#rrggbb`, 0 (black) … 1 (white). */
export function luminance(hex: string): number {
  const lin = (c: number): number => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = parseHex(hex);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** A short deterministic id (FNV-1a of `s`) for clip paths and gradients. */
export function uid(prefix: string, s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `${prefix}-${(h >>> 0).toString(36)}`;
}

/** Checks a positive integer option. */
export function checkPositiveInt(op: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`${op}: ${name} must be a positive integer, got ${v}`);
  }
  return v;
}

/** Checks a chart dimension (finite, at least `min` px). */
export function checkSize(op: string, name: string, v: number, min: number): number {
  if (!Number.isFinite(v) || v < min) {
    throw new RangeError(`${op}: ${name} must be a number of pixels ≥ ${min}, got ${v}`);
  }
  return v;
}

/** Checks a `[lo, hi]` range option: finite, `lo < hi`. */
export function checkRange(
  op: string,
  name: string,
  r: readonly [number, number] | undefined,
): readonly [number, number] | undefined {
  if (r === undefined) return undefined;
  if (
    r.length !== 2 || !Number.isFinite(r[0]) || !Number.isFinite(r[1]) || !(r[0] < r[1])
  ) {
    throw new RangeError(`${op}: ${name} must be [lo, hi] with finite lo < hi, got [${r}]`);
  }
  return r;
}

/** The largest of `values` and `init` (no argument spreading, so any length works). */
export function maxOf(values: Iterable<number>, init = -Infinity): number {
  let m = init;
  for (const v of values) if (v > m) m = v;
  return m;
}
