/**
 * Window geometry and the im2col gather shared by the windowed ops
 * (`lax.reduceWindow`, pooling, convolutions).
 *
 * Windows are gathered with one `take` on the input with its spatial axes
 * flattened and one extra slot holding a fill value (the padding, and the
 * holes of a base dilation, read that slot). The index array is computed on
 * the host once per geometry (a small LRU keeps the last few) and uploaded
 * as an int32 tensor on the input's backend. The gradient is `take`'s vjp,
 * `scatterAdd`, which accumulates where windows overlap; the fill slot's
 * gradient is dropped with the constant it came from.
 *
 * Shapes follow XLA / JAX: a window of size `w` dilated by `d` spans
 * `(w − 1)·d + 1` elements; an axis of size `n` dilated by `b` is
 * `(n − 1)·b + 1` long before padding; the output size is
 * `⌊(padded − span) / stride⌋ + 1`. `"SAME"` gives `⌈n / stride⌉` outputs
 * with the total padding split `lo = total // 2` (XLA's rule: the extra
 * element goes to the end), `"VALID"` none.
 *
 * @module
 */

import { fmtShape, ShapeError } from "../core/errors.ts";
import { sizeOf } from "../core/shape.ts";
import { makeTensor, type Tensor } from "../core/tensor.ts";
import { asTensor, backendOf } from "../ops/convert.ts";
import { broadcastTo, concat, reshape } from "../ops/movement.ts";
import { take } from "../ops/take.ts";
import type { Padding } from "./padding.ts";

/** The resolved geometry of a windowed op over `n` spatial axes. */
export interface WindowGeometry {
  /** Sizes of the spatial axes of the input. */
  readonly inSizes: readonly number[];
  /** Window size per axis. */
  readonly window: readonly number[];
  /** Step between windows per axis. */
  readonly strides: readonly number[];
  /** `[lo, hi]` padding per axis (non-negative). */
  readonly pads: readonly (readonly [number, number])[];
  /** Input (base, "lhs") dilation per axis. */
  readonly baseDilation: readonly number[];
  /** Window ("rhs") dilation per axis. */
  readonly windowDilation: readonly number[];
  /** Output size per axis. */
  readonly outSizes: readonly number[];
}

/** Optional parts of a geometry; each list has one entry per spatial axis (default all 1). */
export interface GeometryOptions {
  /** Step between windows (default 1). */
  readonly strides?: readonly number[];
  /** Padding (default `"VALID"`). */
  readonly padding?: Padding;
  /** Input dilation (default 1). */
  readonly baseDilation?: readonly number[];
  /** Window dilation (default 1). */
  readonly windowDilation?: readonly number[];
}

function positiveInts(op: string, name: string, v: readonly number[] | undefined, n: number) {
  if (v === undefined) return new Array<number>(n).fill(1);
  if (!Array.isArray(v) || v.length !== n) {
    throw new ShapeError(
      `${op}(): ${name} needs ${n} entries (one per windowed axis), got ${JSON.stringify(v)}`,
    );
  }
  for (const s of v) {
    if (!Number.isInteger(s) || s < 1) {
      throw new ShapeError(`${op}(): ${name} must be positive integers, got ${JSON.stringify(v)}`);
    }
  }
  return [...v];
}

/**
 * XLA's `"SAME"` padding (`lo = total // 2`) for one axis.
 * @internal
 */
function samePads(n: number, span: number, stride: number): [number, number] {
  const out = Math.ceil(n / stride);
  const total = Math.max(0, (out - 1) * stride + span - n);
  const lo = Math.floor(total / 2);
  return [lo, total - lo];
}

/**
 * Checks and resolves a window geometry; errors name `op`, the shapes and
 * the fix. `"SAME"` pads the undilated input for the dilated window (as
 * `jax.lax.reduce_window` and `conv_general_dilated` with no input
 * dilation do).
 *
 * @param op The op name for errors.
 * @param inSizes Sizes of the spatial axes.
 * @param window Window size per spatial axis.
 * @param opts Strides, padding and dilations.
 * @returns The geometry, output sizes included.
 * @internal
 */
export function windowGeometry(
  op: string,
  inSizes: readonly number[],
  window: readonly number[],
  opts: GeometryOptions = {},
): WindowGeometry {
  const n = inSizes.length;
  const win = positiveInts(op, "the window dimensions", window, n);
  const strides = positiveInts(op, "the strides", opts.strides, n);
  const baseDilation = positiveInts(op, "the base dilation", opts.baseDilation, n);
  const windowDilation = positiveInts(op, "the window dilation", opts.windowDilation, n);
  const span = win.map((w, i) => (w - 1) * windowDilation[i] + 1);
  const padding = opts.padding ?? "VALID";
  let pads: [number, number][];
  if (padding === "VALID") pads = inSizes.map(() => [0, 0]);
  else if (padding === "SAME") pads = inSizes.map((s, i) => samePads(s, span[i], strides[i]));
  else if (typeof padding === "string") {
    throw new ShapeError(
      `${op}(): padding must be "SAME", "VALID" or [lo, hi] pairs, got "${padding}"`,
    );
  } else {
    const ok = Array.isArray(padding) && padding.length === n &&
      padding.every((p) =>
        Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v) && v >= 0)
      );
    if (!ok) {
      throw new ShapeError(
        `${op}(): padding needs ${n} [lo, hi] pairs of non-negative integers (one per windowed ` +
          `axis), got ${JSON.stringify(padding)}`,
      );
    }
    pads = padding.map(([lo, hi]) => [lo, hi]);
  }
  const outSizes = inSizes.map((s, i) => {
    const padded = (s === 0 ? 0 : (s - 1) * baseDilation[i] + 1) + pads[i][0] + pads[i][1];
    // An empty axis (an empty batch under a window of 1) has no windows, as in JAX.
    if (s === 0 && padded < span[i]) return 0;
    if (padded < span[i]) {
      throw new ShapeError(
        `${op}(): the window ${fmtShape(win)} (span ${span[i]} on axis ${i}) is larger than the ` +
          `padded input ${fmtShape(inSizes)} (${padded} on axis ${i}); use a smaller window or ` +
          `more padding`,
      );
    }
    return Math.floor((padded - span[i]) / strides[i]) + 1;
  });
  return {
    inSizes: [...inSizes],
    window: win,
    strides,
    pads,
    baseDilation,
    windowDilation,
    outSizes,
  };
}

interface Indices {
  /**
   * Flat input index per (output position, window offset), row-major — or per
   * (window offset, output position) for `offsetsFirst`; `fill` reads the extra slot.
   */
  readonly data: Int32Array;
  /** Whether some index reads the fill slot. */
  readonly usesFill: boolean;
}

const CACHE_SIZE = 32;
const cache = new Map<string, Indices>();

/**
 * The gather indices of a geometry: for each output position and window
 * offset (both row-major), the flat index into the spatial axes, or
 * `sizeOf(inSizes)` (the fill slot) for padding and dilation holes.
 * Cached (LRU of 32 geometries).
 *
 * @param g The geometry.
 * @param offsetsFirst Order the indices window offset first, output position second.
 * @returns The indices and whether the fill slot is read.
 * @internal
 */
export function windowIndices(g: WindowGeometry, offsetsFirst = false): Indices {
  const key = JSON.stringify(g) + (offsetsFirst ? "T" : "");
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const n = g.inSizes.length;
  const fill = sizeOf(g.inSizes);
  const outCount = sizeOf(g.outSizes);
  const k = sizeOf(g.window);
  // Per axis: the input coordinate (or -1) of output position o and window offset w.
  const axisIdx = g.inSizes.map((size, d) => {
    const o = g.outSizes[d], w = g.window[d], b = g.baseDilation[d];
    const table = new Int32Array(o * w);
    for (let i = 0; i < o; i++) {
      for (let j = 0; j < w; j++) {
        const p = i * g.strides[d] + j * g.windowDilation[d] - g.pads[d][0];
        table[i * w + j] = p >= 0 && p % b === 0 && p / b < size ? p / b : -1;
      }
    }
    return table;
  });
  const inStride = new Array<number>(n).fill(1);
  for (let d = n - 2; d >= 0; d--) inStride[d] = inStride[d + 1] * g.inSizes[d + 1];
  const data = new Int32Array(outCount * k);
  const oi = new Array<number>(n).fill(0);
  const wi = new Array<number>(n).fill(0);
  let usesFill = false;
  for (let pos = 0, at = 0; pos < outCount; pos++) {
    for (let off = 0; off < k; off++, at++) {
      let flat = 0;
      for (let d = 0; d < n; d++) {
        const c = axisIdx[d][oi[d] * g.window[d] + wi[d]];
        if (c < 0) {
          flat = -1;
          break;
        }
        flat += c * inStride[d];
      }
      if (flat < 0) {
        usesFill = true;
        flat = fill;
      }
      data[at] = flat;
      for (let d = n - 1; d >= 0 && ++wi[d] === g.window[d]; d--) wi[d] = 0;
    }
    for (let d = n - 1; d >= 0 && ++oi[d] === g.outSizes[d]; d--) oi[d] = 0;
  }
  let entry = { data, usesFill };
  if (offsetsFirst) {
    const t = new Int32Array(data.length);
    for (let pos = 0; pos < outCount; pos++) {
      for (let off = 0; off < k; off++) t[off * outCount + pos] = data[pos * k + off];
    }
    entry = { data: t, usesFill };
  }
  cache.set(key, entry);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return entry;
}

/**
 * Gathers the windows of the spatial axes `x.shape[first .. first + n)`:
 * the result has shape `[...x.shape[:first], ...outSizes, k,
 * ...x.shape[first + n:]]` with `k = ∏ window` (offsets row-major), and
 * padding/dilation holes read `fill`. Differentiable in `x` (the gradient
 * accumulates over overlapping windows). With `offsetsFirst` the window
 * offsets come before the output positions: `[..., k, ...outSizes, ...]`.
 *
 * @param x The input.
 * @param first The first spatial axis.
 * @param g The geometry of the spatial axes.
 * @param fill The value of padding and holes (in `x`'s dtype).
 * @param offsetsFirst Put the window-offset axis before the output positions.
 * @returns The windows.
 * @internal
 */
export function gatherWindows(
  x: Tensor,
  first: number,
  g: WindowGeometry,
  fill: number,
  offsetsFirst = false,
): Tensor {
  const n = g.inSizes.length;
  const lead = x.shape.slice(0, first);
  const trail = x.shape.slice(first + n);
  const outer = sizeOf(lead), inner = sizeOf(trail), mid = sizeOf(g.inSizes);
  const { data, usesFill } = windowIndices(g, offsetsFirst);
  let flat = reshape(x, [outer, mid, inner]);
  if (usesFill) {
    const be = backendOf(x);
    const slot = broadcastTo(reshape(asTensor("gatherWindows", fill, x.dtype, be), [1, 1, 1]), [
      outer,
      1,
      inner,
    ]);
    flat = concat([flat, slot], 1);
  }
  const be = backendOf(x);
  const k = sizeOf(g.window);
  const positions = sizeOf(g.outSizes);
  const idx = makeTensor(
    be,
    // A copy: the backend owns (and frees) what it is given, and `data` stays in the cache.
    be.upload(data.slice(), "int32"),
    offsetsFirst ? [k, positions] : [positions, k],
    "int32",
  );
  const windows = take(flat, idx, 1);
  return reshape(
    windows,
    offsetsFirst ? [...lead, k, ...g.outSizes, ...trail] : [...lead, ...g.outSizes, k, ...trail],
  );
}
