/**
 * `convGeneralDilated`: JAX's `lax.conv_general_dilated` — an N-d
 * convolution (cross-correlation, as in every deep-learning library) with
 * strides, padding, input ("lhs", transposed-convolution) dilation, kernel
 * ("rhs", atrous) dilation, feature groups and any layout.
 *
 * A composite: the windows are gathered with `take` (im2col, see
 * `_windows.ts`) and contracted with the kernel by one batched `matmul`, so
 * gradients of every order, `jvp`, `jit` and every backend come from those
 * primitives. The input's gradient is `take`'s vjp, `scatterAdd`, which
 * accumulates over overlapping windows.
 *
 * @module
 */

import { DTypeError, fmtShape, ShapeError } from "../core/errors.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensor } from "../ops/convert.ts";
import { matmul } from "../ops/matmul.ts";
import { reshape, slice, transpose } from "../ops/movement.ts";
import { gatherWindows, windowGeometry } from "./_windows.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * Layouts of a convolution's input, kernel and output as JAX's strings: the
 * input's and output's name the batch `N`, the features `C` and the spatial
 * axes; the kernel's the output features `O`, input features `I` and the same
 * spatial letters. Spatial axes are ordered as in the kernel's string, e.g.
 * `["NCHW", "OIHW", "NCHW"]` (the default), `["NHWC", "HWIO", "NHWC"]`,
 * `["NCH", "OIH", "NCH"]`, `["NDHWC", "DHWIO", "NDHWC"]`.
 *
 * @example
 * ```ts
 * import { lax, ones } from "@gradus/core";
 *
 * const dn: lax.ConvDimensionNumbers = ["NHWC", "HWIO", "NHWC"];
 * const y = lax.convGeneralDilated(ones([1, 5, 5, 3]), ones([3, 3, 3, 8]), { dimensionNumbers: dn });
 * console.log(y.shape); // [1, 3, 3, 8]
 * ```
 */
export type ConvDimensionNumbers = readonly [lhs: string, rhs: string, out: string];

/**
 * Options of {@linkcode convGeneralDilated}. Per-axis values are one number
 * per spatial axis, in the kernel string's order of spatial letters.
 *
 * @example
 * ```ts
 * import { lax, ones } from "@gradus/core";
 *
 * const options: lax.ConvGeneralDilatedOptions = { windowStrides: [2, 2], padding: "SAME" };
 * console.log(lax.convGeneralDilated(ones([1, 1, 5, 5]), ones([4, 1, 3, 3]), options).shape);
 * // [1, 4, 3, 3]
 * ```
 */
export interface ConvGeneralDilatedOptions {
  /** Steps between windows (default 1 on every axis). */
  readonly windowStrides?: readonly number[];
  /**
   * `"SAME"` (output `ceil(in / stride)`, XLA's split: lo = total // 2),
   * `"VALID"` (the default: no padding) or one `[lo, hi]` pair per spatial
   * axis, in units of the dilated input (negative values crop).
   */
  readonly padding?: "SAME" | "VALID" | readonly (readonly [number, number])[];
  /** Input dilation: `d - 1` zeros between input elements, a transposed convolution (default 1). */
  readonly lhsDilation?: readonly number[];
  /** Kernel dilation (atrous): `d - 1` skipped input elements between kernel taps (default 1). */
  readonly rhsDilation?: readonly number[];
  /** Layouts (default `["NCHW", "OIHW", "NCHW"]` and its 1-D/3-D analogues). */
  readonly dimensionNumbers?: ConvDimensionNumbers;
  /**
   * Feature groups (default 1): the input features split into this many
   * groups, each convolved with its own `O / groups` kernels of `I = C /
   * groups` input features; `C` for a depthwise convolution.
   */
  readonly featureGroupCount?: number;
}

const DEFAULT_SPATIAL = ["W", "HW", "DHW"];

/** Permutations that bring each operand to `[N, C, ...spatial]` / `[O, I, ...spatial]`. */
function permutations(
  op: string,
  dn: ConvDimensionNumbers | undefined,
  rank: number,
): { lhs: number[]; rhs: number[]; out: number[]; names: string[] } {
  const nsp = rank - 2;
  // JAX's default: NC + spatial / OI + spatial; past 3 spatial axes they are named by digits
  const sp = DEFAULT_SPATIAL[nsp - 1] ?? Array.from({ length: nsp }, (_, a) => `${a}`).join("");
  const [l, r, o] = dn ?? [`NC${sp}`, `OI${sp}`, `NC${sp}`];
  const bad = (why: string) =>
    new ShapeError(
      `${op}(): dimensionNumbers ${JSON.stringify(dn ?? [l, r, o])} ${why}; ` +
        `use strings like ["NCHW", "OIHW", "NCHW"] or ["NHWC", "HWIO", "NHWC"]`,
    );
  if (!Array.isArray(dn ?? [l, r, o]) || [l, r, o].some((s) => typeof s !== "string")) {
    throw bad("must be three strings");
  }
  for (const [s, what] of [[l, "input"], [r, "kernel"], [o, "output"]] as const) {
    if (s.length !== rank) {
      throw bad(`do not match the operands' rank ${rank} (the ${what} string has ${s.length})`);
    }
    if (new Set(s).size !== s.length) throw bad(`repeat a letter in the ${what} string`);
  }
  const perm = (s: string, a: string, b: string, what: string): number[] => {
    const ia = s.indexOf(a), ib = s.indexOf(b);
    if (ia < 0 || ib < 0) throw bad(`lack ${a} or ${b} in the ${what} string "${s}"`);
    const spatial = [...s].map((_, i) => i).filter((i) => i !== ia && i !== ib);
    return [ia, ib, ...spatial];
  };
  const rp = perm(r, "O", "I", "kernel");
  const names = rp.slice(2).map((i) => r[i]);
  const bySpatial = (s: string, what: string): number[] => {
    const p = perm(s, "N", "C", what);
    const rest = p.slice(2);
    const letters = rest.map((i) => s[i]);
    if (names.some((c) => !letters.includes(c))) {
      throw bad(
        `name spatial axes "${letters.join("")}" in the ${what} string, not the kernel's "${
          names.join("")
        }"`,
      );
    }
    return [p[0], p[1], ...names.map((c) => s.indexOf(c))];
  };
  return { lhs: bySpatial(l, "input"), rhs: rp, out: bySpatial(o, "output"), names };
}

const CONV_GENERAL_KEYS: OptionKeys<ConvGeneralDilatedOptions> = {
  windowStrides: true,
  padding: true,
  lhsDilation: true,
  rhsDilation: true,
  dimensionNumbers: true,
  featureGroupCount: true,
};

/**
 * A general dilated convolution, JAX's `lax.conv_general_dilated`: for each
 * output position the sum over input features and kernel taps of
 * `lhs · rhs` (a cross-correlation: the kernel is not flipped), over 1, 2, 3
 * (or more) spatial axes.
 *
 * Output size per spatial axis:
 * `floor((lo + (in - 1) * lhsDilation + 1 + hi - ((k - 1) * rhsDilation + 1)) / stride) + 1`.
 * `"SAME"` padding is computed from the undilated input, as in JAX. A
 * transposed convolution is `lhsDilation` = its stride with the kernel
 * flipped (see `nn.convTranspose2d`).
 *
 * Implemented as im2col: the input is moved channels-last and the kernel to
 * `[...window, I, O]` (no copies for NHWC/HWIO operands), one `take` with a
 * cached index array gathers every window's taps × features (padding and
 * dilation holes read an appended zero), and one `matmul` (batched over the
 * groups) contracts them with the kernel, so it differentiates to any order,
 * runs under `jit` and on every backend.
 *
 * @param lhs The input, `[N, C, ...spatial]` in the default layout.
 * @param rhs The kernel, `[O, C / featureGroupCount, ...window]` in the default layout.
 * @param options `windowStrides`, `padding` (default `"VALID"`), `lhsDilation`,
 *   `rhsDilation`, `dimensionNumbers`, `featureGroupCount`.
 * @returns The output, `[N, O, ...outSpatial]` in the default layout.
 * @example
 * ```ts
 * import { lax, tensor } from "@gradus/core";
 *
 * const x = tensor([[[1, 2, 3, 4, 5]]]); // [N=1, C=1, W=5]
 * const k = tensor([[[1, 0, -1]]]); // [O=1, I=1, W=3]
 * console.log(lax.convGeneralDilated(x, k).arraySync()); // [[[-2, -2, -2]]]
 * console.log(lax.convGeneralDilated(x, k, { padding: "SAME" }).arraySync());
 * // [[[-2, -2, -2, -2, 4]]]
 * console.log(lax.convGeneralDilated(x, k, { rhsDilation: [2] }).arraySync()); // [[[-4]]]
 * ```
 */
export function convGeneralDilated(
  lhs: TensorLike,
  rhs: TensorLike,
  options: ConvGeneralDilatedOptions = {},
): Tensor {
  checkOptions(
    "convGeneralDilated",
    options,
    CONV_GENERAL_KEYS,
    '{ windowStrides: [2, 2], padding: "SAME" }',
  );
  const op = "convGeneralDilated";
  const x0 = asTensor(op, lhs), w0 = asTensor(op, rhs);
  if (x0.ndim !== w0.ndim || x0.ndim < 3) {
    throw new ShapeError(
      `${op}(): the input ${fmtShape(x0.shape)} and kernel ${fmtShape(w0.shape)} must have the ` +
        `same rank, 2 + the number of spatial axes (at least 3: [N, C, W] and [O, I, W])`,
    );
  }
  if (x0.dtype !== w0.dtype) {
    throw new DTypeError(
      `${op}(): the input is ${x0.dtype} but the kernel is ${w0.dtype}; cast one to the other`,
    );
  }
  if (x0.dtype === "bool") {
    throw new DTypeError(`${op}(): bool tensors are not supported; cast them to a float type`);
  }
  const perms = permutations(op, options.dimensionNumbers, x0.ndim);
  const nsp = x0.ndim - 2;
  const [n, c] = perms.lhs.slice(0, 2).map((a) => x0.shape[a]);
  const [o, i] = perms.rhs.slice(0, 2).map((a) => w0.shape[a]);
  const window = perms.rhs.slice(2).map((a) => w0.shape[a]);
  const groups = options.featureGroupCount ?? 1;
  const names = `(${perms.names.join("")})`;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new ShapeError(`${op}(): featureGroupCount must be a positive integer, got ${groups}`);
  }
  if (c % groups !== 0 || o % groups !== 0) {
    throw new ShapeError(
      `${op}(): featureGroupCount ${groups} must divide the input features (${c}) and the ` +
        `kernel's output features (${o}); pick a divisor of both`,
    );
  }
  if (i * groups !== c) {
    throw new ShapeError(
      `${op}(): the input ${fmtShape(x0.shape)} has ${c} features but the kernel ${
        fmtShape(w0.shape)
      } expects ${i} per group × ${groups} group(s) = ${i * groups}; ` +
        `the kernel's I axis must be C / featureGroupCount`,
    );
  }
  const strides = perAxis(op, `windowStrides ${names}`, options.windowStrides, nsp);
  const baseDilation = perAxis(op, `lhsDilation ${names}`, options.lhsDilation, nsp);
  const windowDilation = perAxis(op, `rhsDilation ${names}`, options.rhsDilation, nsp);
  const identity = (p: readonly number[]) => p.every((v, j) => v === j);
  if (identity(perms.lhs) && identity(perms.out)) {
    // NC… in and out: gather [N, C, K, P] and multiply the kernel in from the left, per batch
    // element (no transposes of the input or the output)
    const xc = cropNegativePadding(op, x0, options.padding ?? "VALID", baseDilation, 2);
    const g = windowGeometry(op, xc[0].shape.slice(2), window, {
      strides,
      padding: xc[1],
      baseDilation,
      windowDilation,
    });
    const taps = window.reduce((a, b) => a * b, 1);
    const positions = g.outSizes.reduce((a, b) => a * b, 1);
    const cols = reshape(gatherWindows(xc[0], 2, g, 0, true), [n, groups, i * taps, positions]);
    const wk = reshape(permute(w0, perms.rhs), [groups, o / groups, i * taps]);
    // [G, O/G, I·K] @ [N, G, I·K, P] -> [N, G, O/G, P]
    const y = matmul(
      groups === 1 ? reshape(wk, [o, i * taps]) : wk,
      groups === 1 ? reshape(cols, [n, i * taps, positions]) : cols,
    );
    return reshape(y, [n, o, ...g.outSizes]);
  }
  // Channels last for the gather: each window's taps × features are one contiguous run.
  let xs = permute(x0, [perms.lhs[0], ...perms.lhs.slice(2), perms.lhs[1]]);
  const [cropped, pads] = cropNegativePadding(op, xs, options.padding ?? "VALID", baseDilation, 1);
  xs = cropped;
  const g = windowGeometry(op, xs.shape.slice(1, -1), window, {
    strides,
    padding: pads,
    baseDilation,
    windowDilation,
  });
  // [N, ...out, K, C] with K = ∏ window, P = ∏ out
  const windows = gatherWindows(xs, 1, g, 0);
  const taps = window.reduce((a, b) => a * b, 1);
  const positions = g.outSizes.reduce((a, b) => a * b, 1);
  // kernel -> [...window, I, O]
  const wk = permute(w0, [...perms.rhs.slice(2), perms.rhs[1], perms.rhs[0]]);
  let y: Tensor;
  if (groups === 1) {
    // [N·P, K·C] @ [K·C, O]
    y = matmul(reshape(windows, [n * positions, taps * c]), reshape(wk, [taps * i, o]));
  } else {
    // [N·P, K, G, I] -> [G, N·P, K·I] @ [G, K·I, O/G] -> [G, N·P, O/G] -> [N·P, G, O/G]
    const wins = transpose(reshape(windows, [n * positions, taps, groups, i]), [2, 0, 1, 3]);
    const wg = transpose(reshape(wk, [taps * i, groups, o / groups]), [1, 0, 2]);
    const yg = matmul(reshape(wins, [groups, n * positions, taps * i]), wg);
    y = transpose(yg, [1, 0, 2]);
  }
  // [N, ...out, O] in the output's layout
  y = reshape(y, [n, ...g.outSizes, o]);
  const internal = [perms.out[0], ...perms.out.slice(2), perms.out[1]];
  const inverse = new Array<number>(internal.length);
  internal.forEach((axis, j) => (inverse[axis] = j));
  return permute(y, inverse);
}

/** `transpose(x, perm)`, or `x` itself for the identity. */
function permute(x: Tensor, perm: readonly number[]): Tensor {
  return perm.every((v, i) => v === i) ? x : transpose(x, perm);
}

/** One positive integer per spatial axis (default 1). */
function perAxis(
  op: string,
  name: string,
  value: readonly number[] | undefined,
  n: number,
): number[] {
  const list = value === undefined ? new Array<number>(n).fill(1) : [...value];
  if (list.length !== n || !list.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new ShapeError(
      `${op}(): ${name} must be ${n} positive integer(s), one per spatial axis, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return list;
}

/**
 * Negative padding crops the (base-dilated) input, as in XLA: a crop of `q`
 * dilated elements drops `ceil(q / d)` input elements and pads back the
 * `ceil(q / d)·d − q` holes that remain. The spatial axes of `x` start at
 * `first` (`[N, ...spatial, C]`: 1; `[N, C, ...spatial]`: 2). Padding strings
 * pass through.
 */
function cropNegativePadding(
  op: string,
  x: Tensor,
  pads: Exclude<ConvGeneralDilatedOptions["padding"], undefined>,
  dilation: readonly number[],
  first: number,
): [Tensor, "SAME" | "VALID" | [number, number][]] {
  if (typeof pads === "string") return [x, pads];
  const nsp = x.ndim - 2;
  if (
    !Array.isArray(pads) || pads.length !== nsp ||
    !pads.every((p) => Array.isArray(p) && p.length === 2 && p.every(Number.isInteger))
  ) {
    throw new ShapeError(
      `${op}(): padding must be "SAME", "VALID" or ${nsp} [lo, hi] pair(s) of integers, one per ` +
        `spatial axis, got ${JSON.stringify(pads)}`,
    );
  }
  if (pads.every(([lo, hi]) => lo >= 0 && hi >= 0)) return [x, pads.map(([l, h]) => [l, h])];
  const starts = new Array<number>(first).fill(0);
  const stops = new Array<number | null>(first).fill(null);
  const out = pads.map(([lo, hi], a): [number, number] => {
    const d = dilation[a], size = x.shape[a + first];
    const dropLo = lo < 0 ? Math.ceil(-lo / d) : 0, dropHi = hi < 0 ? Math.ceil(-hi / d) : 0;
    if (dropLo + dropHi >= size) {
      // Every element cropped: what is left is padding (zeros), as XLA has it, when the
      // padded length is not negative.
      const left = size === 0 ? lo + hi : (size - 1) * d + 1 + lo + hi;
      if (left < 0) {
        throw new ShapeError(
          `${op}(): padding ${JSON.stringify(pads[a])} crops more than all of spatial axis ${a} ` +
            `(size ${size}, dilation ${d}: ${left} elements left); crop less`,
        );
      }
      starts.push(0);
      stops.push(0);
      return [left, 0];
    }
    starts.push(dropLo);
    stops.push(size - dropHi);
    return [lo < 0 ? dropLo * d + lo : lo, hi < 0 ? dropHi * d + hi : hi];
  });
  return [slice(x, starts, stops), out];
}
