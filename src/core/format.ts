/**
 * NumPy-style printing of tensor values (`str(np.array(...))`): aligned
 * columns, floats with at most 8 fractional digits (`1.` for whole numbers),
 * scientific notation when magnitudes span a wide range, `...` summaries for
 * more than 1000 elements, lines wrapped at 75 characters.
 *
 * @module
 */

import type { DType, TypedArray } from "./dtype.ts";
import { range, type Shape } from "./shape.ts";

const THRESHOLD = 1000;
const EDGE = 3;
const LINE_WIDTH = 75;
const PRECISION = 8;

/** Formats values of a row-major tensor like NumPy's `str()`. @internal */
export function formatTensor(data: TypedArray, shape: Shape, dtype: DType): string {
  const size = data.length;
  const summarize = size > THRESHOLD;
  const shown = summarize ? shownIndices(shape) : null;
  const values: number[] = [];
  if (shown === null) {
    for (let i = 0; i < size; i++) values.push(data[i]);
  } else {
    for (const i of shown) values.push(data[i]);
  }
  if (shape.length === 0) return formatScalar(data[0], dtype);
  const fmt = makeFormatter(values, dtype);
  const strides: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i];
  }
  const render = (axis: number, offset: number, indent: string): string => {
    const n = shape[axis];
    const idx = summarize && n > 2 * EDGE
      ? [...range(0, EDGE), -1, ...range(n - EDGE, n)]
      : range(0, n);
    if (axis === shape.length - 1) {
      const items = idx.map((i) => (i < 0 ? "..." : fmt(data[offset + i])));
      return "[" + wrap(items, indent + " ") + "]";
    }
    const sep = "\n".repeat(shape.length - axis - 1) + indent + " ";
    const parts = idx.map((i) =>
      i < 0 ? "..." : render(axis + 1, offset + i * strides[axis], indent + " ")
    );
    return "[" + parts.join(sep) + "]";
  };
  return render(0, 0, "");
}

/**
 * A 0-d array prints like its NumPy scalar: `True`, `-3`, `2.0`, `0.1`, `1e-05`,
 * `0.3333333333333333` (shortest round-trip digits; scientific below 1e-4 and from 1e16, or
 * from 1e6 for float32, as NumPy does).
 */
function formatScalar(v: number, dtype: DType): string {
  if (dtype === "bool") return v !== 0 ? "True" : "False";
  if (dtype === "int32") return String(v);
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return Object.is(v, -0) ? "-0.0" : "0.0";
  const [m, e] = v.toExponential(sigDigits(v, dtype === "float32") - 1).split("e");
  const exp = Number(e);
  const a = Math.abs(v);
  if (a < 1e-4 || a >= (dtype === "float32" ? 1e6 : 1e16)) {
    return `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  const digits = m.replace("-", "").replace(".", "");
  let body: string;
  if (exp >= 0) {
    const int = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
    body = `${int}.${digits.slice(exp + 1) || "0"}`;
  } else {
    body = `0.${"0".repeat(-exp - 1)}${digits}`;
  }
  return (v < 0 ? "-" : "") + body;
}

function wrap(items: string[], indent: string): string {
  let line = "";
  const lines: string[] = [];
  for (const it of items) {
    const next = line === "" ? it : line + " " + it;
    if (line !== "" && indent.length + next.length + 1 > LINE_WIDTH) {
      lines.push(line);
      line = it;
    } else {
      line = next;
    }
  }
  lines.push(line);
  return lines.join("\n" + indent);
}

/** Flat indices of the elements a summarised print shows (edges of every axis). */
function shownIndices(shape: Shape): number[] {
  const out: number[] = [];
  const strides: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i];
  }
  const walk = (axis: number, offset: number) => {
    if (axis === shape.length) {
      out.push(offset);
      return;
    }
    const n = shape[axis];
    const idx = n > 2 * EDGE ? [...range(0, EDGE), ...range(n - EDGE, n)] : range(0, n);
    for (const i of idx) walk(axis + 1, offset + i * strides[axis]);
  };
  walk(0, 0);
  return out;
}

function makeFormatter(values: number[], dtype: DType): (v: number) => string {
  if (dtype === "bool") {
    // NumPy pads True to the width of False in every non-scalar array.
    return (v) => (v !== 0 ? " True" : "False");
  }
  if (dtype === "int32") {
    const w = Math.max(1, ...values.map((v) => String(v).length));
    return (v) => String(v).padStart(w);
  }
  const f32 = dtype === "float32";
  const finite = values.filter((v) => Number.isFinite(v)).map(Math.abs);
  const nonzero = finite.filter((v) => v !== 0);
  const maxAbs = finite.length ? Math.max(...finite) : 0;
  const minAbs = nonzero.length ? Math.min(...nonzero) : 0;
  const sci = maxAbs >= 1e8 || (minAbs > 0 && (minAbs < 1e-4 || maxAbs / minAbs > 1e3));
  if (sci) {
    // Pad every mantissa to the same number of digits, like NumPy.
    let digits = 0;
    for (const v of values) {
      if (Number.isFinite(v)) digits = Math.max(digits, Math.min(PRECISION, sigDigits(v, f32) - 1));
    }
    const strs = values.map((v) => fmtSci(v, digits));
    const w = Math.max(...strs.map((s) => s.length));
    return (v) => fmtSci(v, digits).padStart(w);
  }
  // Fixed: at most 8 fractional digits, as few as round-trip; align on the point.
  let fracDigits = 0;
  for (const v of values) {
    if (Number.isFinite(v)) fracDigits = Math.max(fracDigits, fractionDigits(v, f32));
  }
  const fixed = (v: number) => fmtFixed(v, Math.min(fracDigits, PRECISION), f32);
  let intW = 0;
  let fracW = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    const s = fixed(v);
    const dot = s.indexOf(".");
    intW = Math.max(intW, dot);
    fracW = Math.max(fracW, s.length - dot - 1);
  }
  // Like NumPy, "nan"/"inf"/"-inf" right-align in the width of the finite values, widening it only
  // as far as they need.
  if (values.some((v) => !Number.isFinite(v))) {
    const negInf = values.some((v) => v === -Infinity) ? 1 : 0;
    intW = Math.max(intW, 3 + negInf - (fracW + 1));
  }
  return (v) => {
    const s = fixed(v);
    const dot = s.indexOf(".");
    if (dot < 0) return s.padStart(intW + fracW + 1);
    return s.slice(0, dot).padStart(intW) + s.slice(dot).padEnd(fracW + 1);
  };
}

/** Fewest significant digits that read back as the same float32/float64 value. */
function sigDigits(v: number, f32: boolean): number {
  if (v === 0) return 1;
  for (let d = 1; d < 17; d++) {
    const r = Number(v.toPrecision(d));
    if ((f32 ? Math.fround(r) : r) === v) return d;
  }
  return 17;
}

/** Fractional digits of the shortest round-trip decimal of `v`. */
function fractionDigits(v: number, f32: boolean): number {
  for (let d = 0; d <= PRECISION; d++) {
    const r = Number(v.toFixed(d));
    if ((f32 ? Math.fround(r) : r) === v) return d;
  }
  return PRECISION;
}

function fmtFixed(v: number, digits: number, f32: boolean): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  // toFixed drops the sign of -0; NumPy prints it.
  if (Object.is(v, -0)) return "-" + fmtFixed(0, digits, f32);
  const d = Math.min(digits, fractionDigits(v, f32));
  const s = v.toFixed(d);
  return d === 0 ? s + "." : s;
}

function fmtSci(v: number, digits: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Object.is(v, -0)) return "-" + fmtSci(0, digits);
  const [m, e] = v.toExponential(digits).split("e");
  const exp = Number(e);
  const sign = exp < 0 ? "-" : "+";
  const mant = m.includes(".") ? m : m + ".";
  return `${mant}e${sign}${String(Math.abs(exp)).padStart(2, "0")}`;
}
