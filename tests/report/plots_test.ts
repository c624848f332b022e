import assert from "node:assert/strict";
import {
  CpuBackend,
  type DType,
  plot,
  ProgressBar,
  ShapeError,
  Tensor,
  tensor,
  type TypedArray,
} from "../../mod.ts";
import type { DataHandle } from "../../src/backend/backend.ts";
import { onBackend } from "../_helpers.ts";
import { linearScale, logScale } from "../../src/report/_axes.ts";
import { crc32 } from "../../src/report/_png.ts";
import { paletteColor, tint } from "../../src/report/_svg.ts";

// ---------------------------------------------------------------------------
// A minimal XML parser: enough to prove the output well formed (one root
// <svg>, balanced tags, quoted attributes, only the five predefined entities
// and character references) and to query it.

interface Node {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: (Node | string)[];
}

const ENTITY: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(s: string, where: string): string {
  return s.replace(/&([^;]*);?/g, (m, body: string) => {
    assert.ok(m.endsWith(";"), `unterminated entity ${JSON.stringify(m)} in ${where}`);
    if (body in ENTITY) return ENTITY[body];
    const num = /^#(\d+)$/.exec(body) ?? /^#x([0-9a-fA-F]+)$/.exec(body);
    assert.ok(num, `unknown entity &${body}; in ${where}`);
    return String.fromCodePoint(parseInt(num[1], body[1] === "x" ? 16 : 10));
  });
}

function parseXml(xml: string): Node {
  assert.ok(xml.startsWith("<svg "), "the document starts with <svg");
  const name = "[A-Za-z_][\\w.:-]*";
  const tagRe = new RegExp(`^<(/?)(${name})((?:\\s+${name}\\s*=\\s*"[^"<]*")*)\\s*(/?)>`);
  const attrRe = new RegExp(`(${name})\\s*=\\s*"([^"<]*)"`, "g");
  const stack: Node[] = [];
  let root: Node | undefined;
  let i = 0;
  while (i < xml.length) {
    if (xml[i] === "<") {
      const m = tagRe.exec(xml.slice(i, i + 200_000));
      assert.ok(m, `malformed tag at ${i}: ${JSON.stringify(xml.slice(i, i + 80))}`);
      const [all, close, tag, attrText, selfClose] = m;
      if (close) {
        assert.equal(attrText, "", `attributes on a closing tag </${tag}>`);
        const open = stack.pop();
        assert.ok(open, `</${tag}> closes nothing`);
        assert.equal(open.name, tag, `</${tag}> closes <${open.name}>`);
        if (stack.length === 0) root = open;
      } else {
        assert.ok(root === undefined, "content after the root element");
        const attrs: Record<string, string> = {};
        for (const a of attrText.matchAll(attrRe)) {
          assert.ok(!(a[1] in attrs), `duplicate attribute ${a[1]} on <${tag}>`);
          attrs[a[1]] = decode(a[2], `<${tag} ${a[1]}>`);
        }
        const node: Node = { name: tag, attrs, children: [] };
        if (stack.length > 0) stack[stack.length - 1].children.push(node);
        else assert.equal(tag, "svg", "the root element is <svg>");
        if (selfClose) {
          if (stack.length === 0) root = node;
        } else stack.push(node);
      }
      i += all.length;
    } else {
      const j = xml.indexOf("<", i);
      const end = j < 0 ? xml.length : j;
      const raw = xml.slice(i, end);
      assert.ok(!raw.includes(">"), `unescaped > in text ${JSON.stringify(raw.slice(0, 60))}`);
      if (stack.length === 0) assert.equal(raw.trim(), "", "text outside the root element");
      else stack[stack.length - 1].children.push(decode(raw, "text"));
      i = end;
    }
  }
  assert.equal(stack.length, 0, `unclosed <${stack[stack.length - 1]?.name}>`);
  assert.ok(root, "a root element");
  assert.equal(root.attrs.xmlns, "http://www.w3.org/2000/svg");
  assert.match(root.attrs.viewBox ?? "", /^0 0 [\d.]+ [\d.]+$/);
  return root;
}

function all(node: Node, pred: (n: Node) => boolean): Node[] {
  const out: Node[] = [];
  const walk = (n: Node): void => {
    if (pred(n)) out.push(n);
    for (const c of n.children) if (typeof c !== "string") walk(c);
  };
  walk(node);
  return out;
}

function textOf(n: Node): string {
  return n.children.map((c) => (typeof c === "string" ? c : textOf(c))).join("");
}

/** The text of every <text> element (a wrapped title joins its lines with a space). */
function texts(root: Node): string[] {
  return all(root, (n) => n.name === "text").map((t) =>
    t.children.every((c) => typeof c !== "string" && c.name === "tspan")
      ? t.children.map((c) => textOf(c as Node)).join(" ")
      : textOf(t)
  );
}

function byClass(root: Node, cls: string): Node[] {
  return all(root, (n) => (n.attrs.class ?? "").split(" ").includes(cls));
}

function tickLabels(root: Node): string[] {
  return byClass(root, "tick-labels").flatMap((g) => texts(g));
}

function plotArea(root: Node): { x: number; y: number; w: number; h: number } {
  const r = byClass(root, "plot-area")[0];
  return { x: +r.attrs.x, y: +r.attrs.y, w: +r.attrs.width, h: +r.attrs.height };
}

/** The coordinate pairs of a path made of M/L commands with absolute coordinates. */
function pathPoints(d: string): { subpaths: number; pts: [number, number][] } {
  const subpaths = (d.match(/M/g) ?? []).length;
  const nums = d.replace(/[ML]/g, " ").trim().split(/\s+/).map(Number);
  const pts: [number, number][] = [];
  for (let k = 0; k < nums.length; k += 2) pts.push([nums[k], nums[k + 1]]);
  return { subpaths, pts };
}

const NASTY = `Loss <&> "quoted" 'single'`;

// ---------------------------------------------------------------------------
// Nice ticks

Deno.test("plot ticks: linear scales land on 1, 2, 5 × 10^k with clean labels", () => {
  const unit = linearScale(0, 1, 5);
  assert.deepEqual(unit.ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(unit.labels, ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
  const wide = linearScale(-3.7, 12.1, 5);
  assert.deepEqual([wide.lo, wide.hi], [-5, 15]);
  assert.deepEqual(wide.labels, ["-5", "0", "5", "10", "15"]);
  const tenths = linearScale(0, 0.3, 3);
  assert.deepEqual(tenths.labels, ["0", "0.1", "0.2", "0.3"]);
  const big = linearScale(0, 9999, 5);
  assert.deepEqual(big.labels, ["0", "2000", "4000", "6000", "8000", "10000"]);
  const tiny = linearScale(1e-6, 4.2e-6, 4);
  assert.deepEqual(tiny.labels, ["1e-6", "2e-6", "3e-6", "4e-6", "5e-6"]);
  // Fixed ends are kept; ticks fall inside them.
  const fixed = linearScale(0.13, 0.91, 5, 0, 1);
  assert.deepEqual([fixed.lo, fixed.hi], [0, 1]);
  assert.deepEqual(fixed.ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  // A single value gets a range around it.
  const flat = linearScale(3, 3, 5);
  assert.ok(flat.lo < 3 && flat.hi > 3);
  for (const s of [unit, wide, tenths, big, tiny, fixed, flat]) {
    for (const l of s.labels) assert.doesNotMatch(l, /0000000|9999999|-0$/);
  }
});

Deno.test("plot ticks: log scales use decades over wide spans, 1-2-5 over short ones", () => {
  const wide = logScale(0.0013, 2.3, 6);
  assert.deepEqual([wide.lo, wide.hi], [0.001, 10]);
  assert.deepEqual(wide.labels, ["0.001", "0.01", "0.1", "1", "10"]);
  assert.ok(wide.minor.includes(0.002) && wide.minor.includes(5), "minor gridlines at 2…9 × 10^k");
  const short = logScale(0.05, 2.3, 8);
  assert.deepEqual(short.labels, ["0.05", "0.1", "0.2", "0.5", "1", "2", "5"]);
  const huge = logScale(1e-9, 1e3, 4);
  assert.ok(huge.ticks.length <= 5, `few ticks over 12 decades, got ${huge.labels}`);
  assert.ok(huge.ticks.every((v) => Number.isInteger(Math.log10(v))), huge.labels.join());
  assert.ok(huge.labels.includes("1e-9"), "exponent form for tiny values");
});

// ---------------------------------------------------------------------------
// lineChart

Deno.test("lineChart: well-formed SVG with title, axis labels, ticks and a legend", async () => {
  const svg = await plot.lineChart({
    title: "Accuracy per epoch",
    xLabel: "epoch",
    yLabel: "accuracy",
    yMin: 0,
    yMax: 1,
    series: [
      { name: "train", x: [1, 2, 3, 4], y: [0.8, 0.9, 0.93, 0.95] },
      { name: "test", x: [1, 2, 3, 4], y: [0.78, 0.88, 0.9, 0.91], dashed: true },
    ],
  });
  const root = parseXml(svg);
  assert.equal(root.attrs.width, "640");
  assert.equal(root.attrs.height, "400");
  assert.match(root.attrs["font-family"], /^system-ui/);
  const t = texts(root);
  for (const want of ["Accuracy per epoch", "epoch", "accuracy", "train", "test"]) {
    assert.ok(t.includes(want), `missing text ${want}: ${t.join(" | ")}`);
  }
  const labels = tickLabels(root);
  for (const l of ["0", "0.2", "0.4", "0.6", "0.8", "1"]) assert.ok(labels.includes(l), l);
  assert.equal(byClass(root, "legend").length, 1);
  const series = byClass(root, "series");
  assert.equal(series.length, 2);
  assert.equal(series[0].attrs.stroke, paletteColor(0));
  assert.equal(series[1].attrs.stroke, paletteColor(1));
  assert.ok(series[1].attrs["stroke-dasharray"], "the second series is dashed");
  // Markers by default for short series: 4 + 4.
  const markers = all(
    root,
    (n) =>
      (n.name === "circle" || n.name === "rect" || n.name === "path") &&
      n.attrs.stroke === "#ffffff",
  );
  assert.ok(markers.length >= 8, `markers: ${markers.length}`);
  // One series: no legend.
  const one = parseXml(await plot.lineChart({ series: [{ name: "loss", y: [3, 2, 1] }] }));
  assert.equal(byClass(one, "legend").length, 0);
});

Deno.test("lineChart: escapes text (title, labels, series names)", async () => {
  const svg = await plot.lineChart({
    title: NASTY,
    xLabel: "x < 1 & y > 2",
    yLabel: `"y"`,
    series: [{ name: "a<b", y: [1, 2] }, { name: "c&d", y: [2, 1] }],
  });
  assert.ok(!svg.includes("<&>"));
  assert.ok(svg.includes("Loss &lt;&amp;&gt; &quot;quoted&quot; &apos;single&apos;"));
  const t = texts(parseXml(svg));
  for (const want of [NASTY, "x < 1 & y > 2", `"y"`, "a<b", "c&d"]) {
    assert.ok(t.includes(want), want);
  }
  assert.equal(textOf(all(parseXml(svg), (n) => n.name === "title")[0]), NASTY);
});

Deno.test("lineChart: NaN and ±Infinity break the line; nothing non-finite reaches the SVG", async () => {
  const y = [1, 2, NaN, 3, 4, Infinity, 5, -Infinity, 6, 7];
  const svg = await plot.lineChart({ series: [{ y }], markers: false });
  assert.doesNotMatch(svg, /NaN|Infinity/);
  const root = parseXml(svg);
  const [path] = byClass(root, "series");
  const { subpaths, pts } = pathPoints(path.attrs.d);
  assert.equal(subpaths, 3, "segments [1, 2], [3, 4], [6, 7]");
  assert.equal(pts.length, 6);
  // The isolated point 5 is drawn as a dot.
  assert.equal(all(root, (n) => n.name === "circle").length, 1);
  // With markers, every finite point has one.
  const withMarkers = parseXml(await plot.lineChart({ series: [{ y }], markers: true }));
  assert.equal(all(withMarkers, (n) => n.name === "circle").length, 7);
  // All points non-finite: still a valid (empty) chart.
  parseXml(await plot.lineChart({ series: [{ y: [NaN, NaN] }] }));
});

Deno.test("lineChart: values a few ulp apart draw a flat line at once; ±1e308 stays finite", async () => {
  // 0.1 + 0.2 and 0.3 differ in the last bit: the tick step once underflowed
  // past the ticks' precision and the tick loop never ended.
  for (const y of [[0.1 + 0.2, 0.3], [1, 1 + 1e-13], [100, 100 + 1e-11], [1, 1 + 2 ** -52]]) {
    const t0 = performance.now();
    const svg = await plot.lineChart({ series: [{ y }] });
    assert.ok(performance.now() - t0 < 2000, `${y}: took ${performance.now() - t0} ms`);
    assert.doesNotMatch(svg, /NaN|Infinity/, String(y));
    const { pts } = pathPoints(byClass(parseXml(svg), "series")[0].attrs.d);
    assert.equal(pts.length, 2);
    assert.equal(pts[0][1], pts[1][1], `${y}: drawn flat`);
  }
  for (const y of [[1e308, -1e308], [1.7e308, -1.7e308], [5e-324, 0]]) {
    const svg = await plot.lineChart({ series: [{ y }] });
    assert.doesNotMatch(svg, /NaN|Infinity/, String(y));
    const { pts } = pathPoints(byClass(parseXml(svg), "series")[0].attrs.d);
    assert.ok(pts[0][1] !== pts[1][1], `${y}: the two values are apart`);
  }
  // Fixed ends too close for nice ticks: the ends are labelled.
  const fixed = await plot.lineChart({ yMin: 1, yMax: 1 + 1e-14, series: [{ y: [1, 1] }] });
  assert.doesNotMatch(fixed, /NaN|Infinity/);
  assert.deepEqual(linearScale(1, 1 + 1e-14, 5, 1, 1 + 1e-14).labels, ["1", "1.00000000000001"]);
});

Deno.test("charts: characters XML forbids (a terminal's colour codes) become U+FFFD", async () => {
  const title = "loss \u001b[32mgreen\u001b[0m \u0001\u000b\ufffe\ttab";
  const svg = await plot.lineChart({ title, series: [{ name: title, y: [1, 2] }] });
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(svg, /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/);
  const shown = "loss \ufffd[32mgreen\ufffd[0m \ufffd\ufffd\ufffd\ttab";
  assert.equal(textOf(all(parseXml(svg), (n) => n.name === "title")[0]), shown);
  const cm = await plot.confusionMatrix({ matrix: [[1, 0], [0, 1]], labels: ["a\u0002", "b"] });
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(cm, /[\u0000-\u0008]/);
});

Deno.test("lineChart: log y axis shows decade ticks and skips non-positive values", async () => {
  const y = [2.3, 1.1, 0.4, 0.05, 0.0013, 0, -1, 0.002];
  const root = parseXml(await plot.lineChart({ series: [{ y }], yLog: true, yLabel: "loss" }));
  const labels = tickLabels(root);
  for (const l of ["0.001", "0.01", "0.1", "1", "10"]) {
    assert.ok(labels.includes(l), `${l} in ${labels}`);
  }
  const { subpaths } = pathPoints(byClass(root, "series")[0].attrs.d);
  assert.equal(subpaths, 1, "the run before 0 is a line; the lone point after -1 a dot or marker");
  await assert.rejects(() => plot.lineChart({ series: [{ y }], yLog: true, yMin: 0 }), RangeError);
});

Deno.test("lineChart: 10 000 points become one small path that keeps the spikes", async () => {
  const n = 10_000;
  const y = Array.from({ length: n }, (_, i) => 2 * Math.exp(-i / 2000) + 0.1 * Math.sin(i * 1.7));
  y[6001] = 5; // a spike
  const svg = await plot.lineChart({ series: [{ y }], xLabel: "iteration", yLabel: "loss" });
  assert.ok(svg.length < 50_000, `${svg.length} bytes`);
  const root = parseXml(svg);
  const paths = byClass(root, "series");
  assert.equal(paths.length, 1);
  const { pts } = pathPoints(paths[0].attrs.d);
  const area = plotArea(root);
  assert.ok(pts.length <= 4 * Math.ceil(area.w) + 4, `${pts.length} points for ${area.w} px`);
  assert.ok(
    pts.every(([, v]) =>
      String(v).split(".")[1] === undefined || String(v).split(".")[1].length <= 1
    ),
  );
  // The spike reaches the top tick (5 on a 0…5 axis).
  const top = Math.min(...pts.map(([, v]) => v));
  assert.ok(Math.abs(top - area.y) < 0.11, `spike at ${top}, plot top ${area.y}`);
  assert.ok(tickLabels(root).includes("10000") || tickLabels(root).includes("8000"));
});

Deno.test("lineChart: clear errors for bad input", async () => {
  await assert.rejects(() => plot.lineChart({ series: [] }), /lineChart\(\): no series/);
  await assert.rejects(
    () => plot.lineChart({ series: [{ x: [1, 2, 3], y: [1, 2] }] }),
    /series\[0\] has 3 x values and 2 y values/,
  );
  await assert.rejects(
    () => plot.lineChart({ series: [{ y: [1] }], yMin: 2, yMax: 1 }),
    RangeError,
  );
});

// ---------------------------------------------------------------------------
// Histograms

Deno.test("histogramBins: NumPy semantics; counts sum to the finite values in range", () => {
  const { edges, counts } = plot.histogramBins([0, 0.1, 0.5, 0.9, 1], { bins: 2 });
  assert.deepEqual(edges, [0, 0.5, 1]);
  assert.deepEqual(counts, [2, 3], "the last bin holds hi");
  let s = 7;
  const rnd = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
  const values = Array.from({ length: 5000 }, () => (rnd() - 0.3) * 7);
  values.push(NaN, Infinity, -Infinity);
  const h = plot.histogramBins(values, { bins: 30 });
  assert.equal(h.counts.reduce((a, b) => a + b, 0), 5000);
  assert.equal(h.nonFinite, 3);
  assert.equal(h.outside, 0);
  // Against brute force, with a range.
  const r = plot.histogramBins(values, { bins: 7, range: [-1, 2] });
  const want = new Array(7).fill(0);
  let outside = 0;
  for (const v of values.slice(0, 5000)) {
    if (v < -1 || v > 2) outside++;
    else want[Math.min(6, Math.floor(((v + 1) / 3) * 7))]++;
  }
  assert.deepEqual(r.counts, want);
  assert.equal(r.outside, outside);
  assert.throws(() => plot.histogramBins([1], { bins: 0 }), RangeError);
  assert.throws(() => plot.histogramBins([1], { range: [1, 1] }), RangeError);
});

Deno.test("histogramBins: values ulp apart, single huge values and ±1e308 are binned, never NaN", async () => {
  // [1e20, 1e20]: 1e20 ± 0.5 is 1e20, so the range widens by 1e-9 of the value.
  const big = plot.histogramBins([1e20, 1e20], { bins: 3 });
  assert.deepEqual(big.counts, [0, 2, 0]);
  assert.ok(big.edges[0] < 1e20 && big.edges[3] > 1e20);
  assert.deepEqual(plot.histogramBins([3], { bins: 2 }).edges, [2.5, 3, 3.5]);
  // ±1e308: the width overflows; edges interpolate, both values counted.
  const wide = plot.histogramBins([1e308, -1e308], { bins: 30 });
  assert.ok(wide.edges.every(Number.isFinite), String(wide.edges));
  assert.deepEqual([wide.counts[0], wide.counts[29]], [1, 1]);
  assert.equal(wide.counts.reduce((a, b) => a + b), 2);
  const tiny = plot.histogramBins([5e-324, 0], { bins: 3 });
  assert.equal(tiny.counts.reduce((a, b) => a + b), 2);
  for (const values of [[0.1 + 0.2, 0.3], [1e308, -1e308], [1e20, 1e20]]) {
    const t0 = performance.now();
    const svg = await plot.histogram({ values });
    assert.ok(performance.now() - t0 < 2000, `${values}: took ${performance.now() - t0} ms`);
    assert.doesNotMatch(svg, /NaN|Infinity/, String(values));
    parseXml(svg);
  }
});

Deno.test("histogram: bars sum to the finite values, with title, labels and ticks", async () => {
  const values = Array.from({ length: 1000 }, (_, i) => Math.sin(i) * Math.cos(3 * i));
  const svg = await plot.histogram({
    title: NASTY,
    values: [...values, NaN],
    bins: 20,
    xLabel: "value",
  });
  const root = parseXml(svg);
  const t = texts(root);
  for (const want of [NASTY, "value", "count"]) assert.ok(t.includes(want), want);
  const bars = byClass(root, "bars")[0].children.filter((c): c is Node => typeof c !== "string");
  assert.equal(bars.reduce((a, b) => a + Number(b.attrs["data-count"]), 0), 1000);
  assert.ok(t.some((x) => x.includes("1 NaN/∞")), "the left-out value is noted");
  assert.ok(tickLabels(root).includes("0"));
  // Typed arrays work too.
  parseXml(await plot.histogram({ values: new Float32Array([1, 2, 2, 3]) }));
});

Deno.test("histograms: panels side by side over the same range, one shared y scale", async () => {
  const panels = [1, 2, 3, 4, 5].map((k) => ({
    title: `layer ${k}`,
    values: Array.from({ length: 400 }, (_, i) => (Math.sin(i * k) + 1) / 2),
  }));
  const svg = await plot.histograms({ title: "Activations", panels, bins: 10, range: [0, 1] });
  const root = parseXml(svg);
  const t = texts(root);
  for (const want of ["Activations", "layer 1", "layer 5", "count"]) {
    assert.ok(t.includes(want), want);
  }
  const groups = byClass(root, "panel");
  assert.equal(groups.length, 5);
  for (const g of groups) {
    const bars = byClass(g, "bars")[0].children.filter((c): c is Node => typeof c !== "string");
    assert.equal(bars.reduce((a, b) => a + Number(b.attrs["data-count"]), 0), 400);
  }
  // Shared y: only the first panel has y tick labels; all panels have x ticks 0 … 1.
  const yLabelled = groups.filter((g) => tickLabels(g).includes("0") && tickLabels(g).length > 3);
  assert.ok(yLabelled.length >= 1);
  for (const g of groups) assert.ok(tickLabels(g).includes("1"), "x ticks on every panel");
  await assert.rejects(() => plot.histograms({ panels: [] }), RangeError);
});

// ---------------------------------------------------------------------------
// decisionBoundary

Deno.test("decisionBoundary: evaluates predict once on the grid and colours both classes", async () => {
  let calls = 0;
  let seen: number[] = [];
  let firstPoint: number[] = [];
  // Scores [M, 2]: class 1 where x > 0.
  const predict = (grid: Tensor): Tensor => {
    calls++;
    seen = [...grid.shape];
    firstPoint = [...grid.dataSync().slice(0, 2)];
    return grid.matmul(tensor([[-1, 1], [0, 0]]));
  };
  const svg = await plot.decisionBoundary({
    title: "Linear <boundary>",
    predict,
    points: { x: [[-0.5, 0.2], [-0.8, -0.4], [0.6, 0.1], [0.3, -0.7]], y: [0, 0, 1, 1] },
    xRange: [-1, 1],
    yRange: [-1, 1],
    resolution: 20,
    classNames: ["left", "right"],
  });
  assert.equal(calls, 1);
  assert.deepEqual(seen, [400, 2]);
  // Cell centres, row 0 at the top.
  assert.ok(Math.abs(firstPoint[0] - -0.95) < 1e-6 && Math.abs(firstPoint[1] - 0.95) < 1e-6);
  const root = parseXml(svg);
  const t = texts(root);
  for (const want of ["Linear <boundary>", "left", "right", "x₁", "x₂"]) {
    assert.ok(t.includes(want), want);
  }
  const regions = byClass(root, "regions")[0].children as Node[];
  assert.deepEqual(regions.map((r) => r.attrs.fill), [
    tint(paletteColor(0), 0.28),
    tint(paletteColor(1), 0.28),
  ]);
  // Class 0 fills the left half, class 1 the right half: one run per row each.
  const area = plotArea(root);
  const mid = area.x + area.w / 2;
  for (const [k, r] of regions.entries()) {
    const xs = [...r.attrs.d.matchAll(/M([\d.]+) [\d.]+h([\d.]+)/g)];
    assert.equal(xs.length, 20, "one rectangle per row");
    for (const [, x, w] of xs) {
      const [a, b] = [Number(x), Number(x) + Number(w)];
      if (k === 0) assert.ok(Math.abs(a - area.x) < 0.01 && Math.abs(b - mid) < 0.02);
      else assert.ok(Math.abs(a - mid) < 0.02 && Math.abs(b - area.x - area.w) < 0.02);
    }
  }
  // Points coloured by class.
  const pts = byClass(root, "points")[0].children as Node[];
  assert.equal(pts.length, 4);
  assert.deepEqual(pts.map((p) => p.attrs.fill), [0, 0, 1, 1].map(paletteColor));
});

Deno.test("decisionBoundary: class indices [M], flat points, default ranges, bad shapes", async () => {
  const svg = await plot.decisionBoundary({
    predict: (g) => g.sum(1).greater(0), // bool [M]
    points: { x: new Float32Array([-1, -1, 1, 1, 2, 0.5]), y: [0, 1, 1] },
    resolution: 10,
  });
  const root = parseXml(svg);
  assert.equal((byClass(root, "regions")[0].children as Node[]).length, 2);
  assert.ok(texts(root).includes("class 1"));
  await assert.rejects(
    plot.decisionBoundary({
      predict: (g) => g.reshape([-1]),
      points: { x: [[0, 0]], y: [0] },
      resolution: 4,
    }),
    ShapeError,
  );
  await assert.rejects(
    plot.decisionBoundary({
      predict: (g) => g.sum(1, { keepdims: true }),
      points: { x: [[0, 0]], y: [0] },
      resolution: 4,
    }),
    /one score per point, shape \[16, 1\]; return class indices \[16\]/,
  );
  await assert.rejects(
    plot.decisionBoundary({ predict: (g) => g, points: { x: [[0, 0]], y: [0, 1] } }),
    RangeError,
  );
});

// ---------------------------------------------------------------------------
// imageGrid

interface Png {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  pixels: Uint8Array; // filtered rows
}

async function decodePng(bytes: Uint8Array): Promise<Png> {
  assert.deepEqual([...bytes.slice(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], "PNG signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 8;
  const types: string[] = [];
  let ihdr: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  while (off < bytes.length) {
    const len = view.getUint32(off);
    const type = String.fromCharCode(...bytes.slice(off + 4, off + 8));
    const data = bytes.slice(off + 8, off + 8 + len);
    const crc = view.getUint32(off + 8 + len);
    assert.equal(crc, crc32(bytes.slice(off + 4, off + 8 + len)), `CRC of ${type}`);
    types.push(type);
    if (type === "IHDR") ihdr = data;
    if (type === "IDAT") idat.push(data);
    off += 12 + len;
  }
  assert.equal(off, bytes.length);
  assert.equal(types[0], "IHDR");
  assert.equal(types[types.length - 1], "IEND");
  assert.ok(ihdr && ihdr.length === 13);
  const h = new DataView(ihdr.buffer, ihdr.byteOffset, 13);
  const zlib = new Uint8Array(idat.reduce((a, b) => a + b.length, 0));
  let k = 0;
  for (const d of idat) {
    zlib.set(d, k);
    k += d.length;
  }
  const stream = new Blob([zlib]).stream().pipeThrough(new DecompressionStream("deflate"));
  const pixels = new Uint8Array(await new Response(stream).arrayBuffer());
  assert.deepEqual([ihdr[10], ihdr[11], ihdr[12]], [0, 0, 0], "deflate, filter 0, no interlace");
  return {
    width: h.getUint32(0),
    height: h.getUint32(4),
    bitDepth: ihdr[8],
    colorType: ihdr[9],
    pixels,
  };
}

function pngsOf(root: Node): Promise<Png[]> {
  return Promise.all(
    all(root, (n) => n.name === "image").map((img) => {
      const m = /^data:image\/png;base64,(.+)$/.exec(img.attrs.href);
      assert.ok(m, "a PNG data URI");
      return decodePng(Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)));
    }),
  );
}

Deno.test("imageGrid: embeds N valid PNGs with the right pixels, wrong predictions in red", async () => {
  const n = 6, h = 4, w = 5, scale = 3;
  const images = new Float32Array(n * h * w).map((_, i) => ((i * 37) % 101) / 100);
  const labels = [0, 1, 2, 3, 4, 5];
  const predictions = [0, 1, 7, 3, 4, 9];
  const svg = await plot.imageGrid({
    title: NASTY,
    images,
    shape: [h, w],
    labels,
    predictions,
    columns: 4,
    scale,
  });
  const root = parseXml(svg);
  const pngs = await pngsOf(root);
  assert.equal(pngs.length, n);
  for (const [idx, png] of pngs.entries()) {
    assert.deepEqual([png.width, png.height, png.bitDepth, png.colorType], [
      w * scale,
      h * scale,
      8,
      0,
    ]);
    const stride = w * scale + 1;
    assert.equal(png.pixels.length, stride * h * scale);
    for (let y = 0; y < h * scale; y++) {
      assert.equal(png.pixels[y * stride], 0, "filter type 0");
      for (let x = 0; x < w * scale; x++) {
        const v = images[idx * h * w + Math.floor(y / scale) * w + Math.floor(x / scale)];
        assert.equal(png.pixels[y * stride + 1 + x], Math.round(v * 255));
      }
    }
  }
  const t = texts(root);
  assert.ok(t.includes(NASTY));
  assert.ok(t.includes("4 of 6 correct · wrong predictions in red"));
  assert.ok(t.includes("pred 7") && t.includes("true 2"));
  assert.equal(byClass(root, "wrong").length, 2);
  for (const g of byClass(root, "wrong")) {
    assert.ok(
      all(g, (x) => x.attrs.fill === "#c0172b" || x.attrs.stroke === "#c0172b").length >= 2,
    );
  }
});

Deno.test("imageGrid: RGB channels-first, 0..255 detection, count and class names", async () => {
  // Two 2×2 RGB images, CHW, values 0..255.
  const img = (
    r: number,
    g: number,
    b: number,
  ): number[] => [...Array(4).fill(r), ...Array(4).fill(g), ...Array(4).fill(b)];
  const images = [...img(255, 0, 10), ...img(0, 128, 255), ...img(1, 2, 3)];
  const svg = await plot.imageGrid({
    images,
    shape: [3, 2, 2],
    count: 2,
    scale: 1,
    labels: [0, 1, 2],
    classNames: ["red", "blue", "grey"],
  });
  const root = parseXml(svg);
  const pngs = await pngsOf(root);
  assert.equal(pngs.length, 2);
  assert.equal(pngs[0].colorType, 2);
  assert.deepEqual([...pngs[0].pixels.slice(0, 7)], [0, 255, 0, 10, 255, 0, 10]);
  assert.deepEqual([...pngs[1].pixels.slice(0, 4)], [0, 0, 128, 255]);
  const t = texts(root);
  assert.ok(t.includes("red") && t.includes("blue") && !t.includes("grey"));
  // Channels last works too, and a bad size is a clear error.
  const hwc = await pngsOf(
    parseXml(
      await plot.imageGrid({
        images: [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30],
        shape: [2, 2, 3],
        scale: 1,
      }),
    ),
  );
  assert.deepEqual([...hwc[0].pixels], [0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 10, 20, 30]);
  await assert.rejects(plot.imageGrid({ images: new Float32Array(10), shape: [3, 3] }), RangeError);
});

// ---------------------------------------------------------------------------
// confusionMatrix

Deno.test("confusionMatrix: one shaded cell per entry, counts in cells, white text on dark cells", async () => {
  const matrix = [[50, 2, 0], [5, 40, 5], [0, 10, 38]];
  const svg = await plot.confusionMatrix({
    title: NASTY,
    matrix,
    labels: ["cat", "dog", "<bird>"],
  });
  const root = parseXml(svg);
  const cells = byClass(root, "cells")[0].children as Node[];
  assert.equal(cells.length, 9);
  assert.equal(textOf(cells[1]), "true cat, predicted dog: 2");
  const values = texts(byClass(root, "values")[0]);
  assert.deepEqual(values, ["50", "2", "0", "5", "40", "5", "0", "10", "38"]);
  const valueNodes = byClass(root, "values")[0].children as Node[];
  assert.equal(valueNodes[0].attrs.fill, "#ffffff", "the darkest cell has white text");
  assert.notEqual(valueNodes[2].attrs.fill, "#ffffff", "an empty cell has dark text");
  // Darker for larger counts.
  const lum = (hex: string): number => parseInt(hex.slice(1), 16) & 255;
  assert.ok(lum(cells[0].attrs.fill) < lum(cells[1].attrs.fill));
  const t = texts(root);
  for (const want of [NASTY, "true", "predicted", "cat", "dog", "<bird>"]) {
    assert.ok(t.includes(want), `missing ${want}`);
  }
  assert.ok(byClass(root, "colorbar").length === 1);
});

Deno.test("confusionMatrix: normalize 'true' shows row fractions; errors on bad shapes", async () => {
  const root = parseXml(
    await plot.confusionMatrix({
      matrix: [[3, 1], [0, 0]],
      normalize: "true",
      title: "Normalized",
    }),
  );
  assert.deepEqual(texts(byClass(root, "values")[0]), ["0.75", "0.25", "0.00", "0.00"]);
  assert.ok(
    texts(root).includes("0") && texts(root).includes("1"),
    "class labels default to indices",
  );
  await assert.rejects(() => plot.confusionMatrix({ matrix: [[1, 2], [3]] }), /must be square/);
  await assert.rejects(() => plot.confusionMatrix({ matrix: [] }), RangeError);
  await assert.rejects(
    () => plot.confusionMatrix({ matrix: [[1]], labels: ["a", "b"] }),
    RangeError,
  );
});

// ---------------------------------------------------------------------------
// tensors, on a backend that reads only asynchronously (as WebGPU does)

/** The CPU kernels, but only async reads (like WebGPU); records the size of each read. */
class AsyncReadBackend extends CpuBackend {
  override readonly name = "async-read";
  override readonly canReadSync = false;
  readonly reads: number[] = [];
  override read(x: DataHandle, dtype: DType, size: number): Promise<TypedArray> {
    this.reads.push(size);
    return Promise.resolve(super.readSync(x, dtype, size));
  }
  override readSync(): never {
    throw new Error("synchronous read attempted");
  }
}

Deno.test("every chart takes tensors where it takes numbers, read with await t.data() (works without sync reads)", async () => {
  const y = [2.3, 1.1, 0.7, 0.52, 0.45];
  const values = Array.from({ length: 200 }, (_, i) => Math.sin(i) * 3);
  const cm = [[5, 1], [2, 7]];
  const pixels = Array.from({ length: 3 * 4 * 4 }, (_, i) => (i % 7) / 7);
  const logits = [[2, 1], [0, 3], [5, 1]];
  const points = [[-1, -0.5], [0.5, 1], [1, 0.2]];
  const predict = (g: Tensor) => g.sum(1).greater(0);
  type Data = {
    x: Tensor | number[];
    y: Tensor | number[];
    values: Tensor | number[];
    cm: Tensor | number[][];
    pts: Tensor | number[][];
    cls: Tensor | number[];
  };
  const charts = (d: Data) => [
    plot.lineChart({ series: [{ x: d.x, y: d.y }] }),
    plot.histogram({ values: d.values, bins: 12 }),
    plot.histograms({ panels: [{ title: "a", values: d.values }], bins: 8 }),
    plot.confusionMatrix({ matrix: d.cm }),
    plot.decisionBoundary({ predict, points: { x: d.pts, y: d.cls }, resolution: 8 }),
  ];
  // the arrays hold the float32 values the tensors hold, so the documents must be identical
  const f32 = (v: number[]): number[] => v.map(Math.fround);
  const fromArrays = await Promise.all(charts({
    x: [1, 2, 3, 4, 5],
    y: f32(y),
    values: f32(values),
    cm,
    pts: points.map(f32),
    cls: [0, 1, 1],
  }));
  const grid = (images: Tensor | number[], predictions: Tensor | number[]) =>
    plot.imageGrid({
      images,
      ...(images instanceof Tensor ? {} : { shape: [4, 4] as const }),
      labels: [0, 1, 1],
      predictions,
    });
  const gridFromArrays = await grid(f32(pixels), [0, 1, 0]);
  const backend = new AsyncReadBackend();
  const [fromTensors, gridFromTensors] = await onBackend("async-read", backend, async () => {
    const out = await Promise.all(charts({
      x: tensor([1, 2, 3, 4, 5]),
      y: tensor(y),
      values: tensor(values),
      cm: tensor(cm, { dtype: "int32" }),
      pts: tensor(points),
      cls: tensor([0, 1, 1], { dtype: "int32" }),
    }));
    // [N, H, W] images (the shape comes from the tensor) and [N, C] logits (argmax)
    const g = await grid(tensor(pixels).reshape([3, 4, 4]), tensor(logits));
    return [out, g] as const;
  });
  fromTensors.forEach((svg, i) => assert.equal(svg, fromArrays[i], `chart ${i}`));
  assert.equal(gridFromTensors, gridFromArrays);
  assert.ok(backend.reads.length > 0);

  // Only the images shown are read back: 4 of 1000.
  const shown = new AsyncReadBackend();
  await onBackend("async-read-2", shown, async () => {
    const many = tensor(new Float32Array(1000 * 16).fill(0.5)).reshape([1000, 4, 4]);
    const svg = await plot.imageGrid({ images: many, count: 4 });
    assert.equal(svg.match(/<image /g)?.length, 4);
  });
  assert.deepEqual(shown.reads, [4 * 16]);
  // Errors name the argument.
  await assert.rejects(
    () => plot.lineChart({ series: [{ y: "1,2" as unknown as number[] }] }),
    /^TypeError: lineChart\(\): series\[0\]\.y must be an array of numbers, a typed array or a tensor, got string 1,2$/,
  );
  await assert.rejects(
    () => plot.imageGrid({ images: tensor(new Float32Array(10 * 784)).reshape([10, 784]) }),
    /cannot tell the image shape of a tensor of shape \[10,784\]; pass shape, e\.g\. shape: \[28, 28\]/,
  );
  await assert.rejects(
    () => plot.confusionMatrix({ matrix: tensor([1, 2, 3]) }),
    /the matrix must be a 2-D tensor \[C, C\], got shape \[3\]/,
  );
});

Deno.test("save takes the promise a chart returns", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const chart = plot.lineChart({ series: [{ y: [3, 2, 1] }] });
    await plot.save(`${dir}/loss.svg`, chart);
    assert.equal(await Deno.readTextFile(`${dir}/loss.svg`), await chart);
    await assert.rejects(
      () => plot.save(`${dir}/x.svg`, 3 as unknown as string),
      /^TypeError: save\(\): svg must be a string \(or a promise of one/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// save, determinism

Deno.test("save: creates parent directories and writes the SVG", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const svg = await plot.lineChart({ title: "Loss", series: [{ y: [3, 2, 1] }] });
    const path = `${dir}/a/b/c/loss.svg`;
    await plot.save(path, svg);
    assert.equal(await Deno.readTextFile(path), svg);
    const url = new URL(`file://${dir}/d/e/acc.svg`);
    await plot.save(url, svg);
    assert.equal(await Deno.readTextFile(url), svg);
    // Overwrites.
    await plot.save(path, "<svg/>");
    assert.equal(await Deno.readTextFile(path), "<svg/>");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("save: a file's own write permission is enough in an existing folder; errors name save()", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/out`);
    const mod = new URL("../../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${dir}/run.ts`,
      `import { plot } from "${mod}";
      await plot.save(Deno.args[0], "<svg/>");
      try { await plot.save(Deno.args[1], "<svg/>"); } catch (e) {
        console.log(e instanceof Deno.errors.NotCapable, e.message);
      }`,
    );
    const file = `${dir}/out/loss.svg`, other = `${dir}/elsewhere/x.svg`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-check",
        `--allow-write=${file}`,
        "--allow-read",
        `${dir}/run.ts`,
        file,
        other,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.equal(await Deno.readTextFile(file), "<svg/>");
    assert.match(text, new RegExp(`^true save\\(\\): cannot write ${other}: no permission`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plots are deterministic: the same input gives the same bytes", async () => {
  const opts = { title: "t", series: [{ y: [1, 3, 2] }, { y: [2, 1, 3] }] };
  assert.equal(await plot.lineChart(opts), await plot.lineChart(opts));
  const img = { images: new Float32Array(2 * 9).fill(0.5), shape: [3, 3] as const };
  assert.equal(await plot.imageGrid(img), await plot.imageGrid(img));
});

Deno.test("plot functions and ProgressBar check their options (ylog, a series' label, normalise were ignored: a different chart)", async () => {
  const cases: [RegExp, () => unknown][] = [
    [
      /^lineChart\(\): unknown option "ylog" \(did you mean "yLog"\?\)/,
      () => plot.lineChart({ series: [{ y: [1, 2] }], ylog: true } as never),
    ],
    [
      /^lineChart\(\): unknown option "label"; .* e\.g\. series\[0\] such as \{ name: "train", y \}/,
      () => plot.lineChart({ series: [{ y: [1, 2], label: "train" } as never] }),
    ],
    [
      /^lineChart\(\): option "yLog" must be true or false, got string true/,
      () => plot.lineChart({ series: [{ y: [1, 2] }], yLog: "true" } as never),
    ],
    [
      /^histogram\(\): unknown option "bin" \(did you mean "bins"\?\)/,
      () => plot.histogram({ values: [1], bin: 2 } as never),
    ],
    [
      /^histograms\(\): unknown option "name"/,
      () => plot.histograms({ panels: [{ values: [1], name: "a" } as never] }),
    ],
    [
      /^confusionMatrix\(\): unknown option "normalise" \(did you mean "normalize"\?\)/,
      () => plot.confusionMatrix({ matrix: [[1]], normalise: "true" } as never),
    ],
    [
      /^imageGrid\(\): unknown option "cols"/,
      () => plot.imageGrid({ images: [0, 0, 0, 0], shape: [2, 2], cols: 1 } as never),
    ],
    [
      /^ProgressBar\(\): unknown option "quite" \(did you mean "quiet"\?\)/,
      () => new ProgressBar({ steps: 1, quite: true } as never),
    ],
  ];
  for (const [re, f] of cases) {
    await assert.rejects(
      async () => await f(),
      (e: unknown) => e instanceof TypeError && re.test(e.message),
      String(re),
    );
  }
});
