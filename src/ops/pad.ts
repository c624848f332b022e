/**
 * `pad`: NumPy's `np.pad` for the modes `constant`, `edge`, `reflect`,
 * `symmetric` and `wrap`, composed from existing primitives: constant
 * padding places the input into a larger tensor (`unslice`, whose vjp is
 * `slice`); the other modes gather along each padded axis with `take` at
 * indices computed on the host, whose vjp (`scatterAdd`) accumulates the
 * gradient of every copy of an edge element.
 *
 * @module
 */

import { DTypeError, fmtShape, int32RangeError, ShapeError } from "../core/errors.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensor, backendOf, describe } from "./convert.ts";
import { where } from "./elementwise.ts";
import { broadcastTo, unslicePrim } from "./movement.ts";
import { take } from "./take.ts";
import { bind } from "./primitive.ts";
import { checkOptions, type OptionKeys } from "./_options.ts";

const PAD_KEYS: OptionKeys<PadOptions> = { mode: true, value: true };

/**
 * How `pad` fills the new elements (see {@linkcode PadOptions}).
 *
 * @example
 * ```ts
 * import { pad, type PadMode, tensor } from "@gradus/core";
 * const mode: PadMode = "wrap";
 * console.log(pad(tensor([1, 2, 3]), 2, { mode }).arraySync()); // [2, 3, 1, 2, 3, 1, 2]
 * ```
 */
export type PadMode = "constant" | "edge" | "reflect" | "symmetric" | "wrap";

/**
 * Pad widths, in NumPy's forms: one number for every side of every axis,
 * one `[lo, hi]` pair for every axis, or one pair per axis.
 *
 * @example
 * ```ts
 * import { pad, type PadWidths, zeros } from "@gradus/core";
 * const widths: PadWidths = [[1, 0], [2, 3]]; // axis 0: 1 before; axis 1: 2 before, 3 after
 * console.log(pad(zeros([2, 2]), widths).shape); // [3, 7]
 * ```
 */
export type PadWidths = number | readonly number[] | readonly (readonly number[])[];

/**
 * Options of `pad`.
 *
 * @example
 * ```ts
 * import { pad, type PadOptions, tensor } from "@gradus/core";
 * const opts: PadOptions = { value: -1 };
 * console.log(pad(tensor([1, 2]), 1, opts).arraySync()); // [-1, 1, 2, -1]
 * ```
 */
export interface PadOptions {
  /**
   * `"constant"` (default): `value`; `"edge"`: the edge element repeated;
   * `"reflect"`: mirrored without repeating the edge (`[3, 2 | 1, 2, 3 | 2, 1]`,
   * NumPy's default for reflection); `"symmetric"`: mirrored with the edge
   * (`[2, 1 | 1, 2, 3 | 3, 2]`); `"wrap"`: periodic (`[2, 3 | 1, 2, 3 | 1, 2]`).
   * Widths beyond the axis keep reflecting or wrapping, as NumPy's do.
   */
  readonly mode?: PadMode;
  /** The fill value of `"constant"` mode (default 0). */
  readonly value?: number;
}

const MODES: readonly PadMode[] = ["constant", "edge", "reflect", "symmetric", "wrap"];

/** Normalises NumPy's pad-width forms to one `[lo, hi]` pair per axis. */
function padPairs(widths: PadWidths, shape: readonly number[]): [number, number][] {
  const bad = (why: string): never => {
    throw new ShapeError(
      `pad(): ${why} (widths ${JSON.stringify(widths)}, shape ${
        fmtShape(shape)
      }); pass a number, ` +
        `one [lo, hi] pair, or ${shape.length} pairs (one per axis)`,
    );
  };
  let pairs: (readonly number[])[];
  if (typeof widths === "number") pairs = [[widths, widths]];
  else if (!Array.isArray(widths)) return bad("widths must be a number or arrays of numbers");
  else if (widths.every((w) => typeof w === "number")) pairs = [widths as readonly number[]];
  else if (widths.every((w) => Array.isArray(w))) pairs = widths as (readonly number[])[];
  else return bad("widths mix numbers and pairs");
  if (pairs.length !== 1 && pairs.length !== shape.length) {
    bad(`got ${pairs.length} pairs for ${shape.length} axes`);
  }
  const out = shape.map((_, i) => {
    const p = pairs.length === 1 ? pairs[0] : pairs[i];
    if (p.length !== 1 && p.length !== 2) bad(`axis ${i} needs [lo, hi] or [n]`);
    const lo = p[0], hi = p.length === 2 ? p[1] : p[0];
    for (const w of [lo, hi]) {
      if (!Number.isInteger(w)) bad(`widths must be integers (axis ${i}: ${w})`);
      if (w < 0) {
        throw new ShapeError(
          `pad(): width ${w} on axis ${i} is negative; pad only adds elements: crop with ` +
            `slice(x, starts, stops) instead`,
        );
      }
    }
    return [lo, hi] as [number, number];
  });
  return out;
}

/** Source index along an axis of size `n` for padded position `j` (may lie outside `[0, n)`). */
function sourceIndex(mode: Exclude<PadMode, "constant">, j: number, n: number): number {
  const mod = (a: number, m: number) => ((a % m) + m) % m;
  switch (mode) {
    case "edge":
      return Math.min(Math.max(j, 0), n - 1);
    case "wrap":
      return mod(j, n);
    case "symmetric": {
      const m = mod(j, 2 * n);
      return m < n ? m : 2 * n - 1 - m;
    }
    case "reflect": {
      if (n === 1) return 0; // NumPy repeats a single element
      const m = mod(j, 2 * (n - 1));
      return m < n ? m : 2 * (n - 1) - m;
    }
  }
}

/**
 * Pads a tensor, as NumPy's `np.pad` (and `jnp.pad`): `widths` gives how
 * many elements to add before and after each axis. The gradient sums the
 * cotangent of each output element into the input element it copies
 * (constant padding: the gradient is the central slice).
 *
 * Widths must be non-negative (crop with `slice`). Padding an empty axis is
 * an error in every mode but `"constant"` (NumPy's rule: there is nothing
 * to copy).
 *
 * @param x A tensor.
 * @param widths A number (every side of every axis), one `[lo, hi]` pair
 *   (every axis), or one pair per axis; `[n]` stands for `[n, n]`.
 * @param opts `mode` (default `"constant"`) and `value` (default 0).
 * @returns The padded tensor, of shape `lo + x.shape[i] + hi` on axis `i`.
 * @example
 * ```ts
 * import { pad, tensor } from "@gradus/core";
 * const x = tensor([1, 2, 3]);
 * console.log(pad(x, [2, 1]).arraySync()); // [0, 0, 1, 2, 3, 0]
 * console.log(pad(x, 2, { mode: "reflect" }).arraySync()); // [3, 2, 1, 2, 3, 2, 1]
 * console.log(pad(x, [[1, 2]], { mode: "edge" }).arraySync()); // [1, 1, 2, 3, 3, 3]
 * console.log(pad(tensor([[1, 2]]), 1, { value: -1 }).arraySync());
 * // [[-1, -1, -1, -1], [-1, 1, 2, -1], [-1, -1, -1, -1]]
 * ```
 */
export function pad(x: TensorLike, widths: PadWidths, opts: PadOptions = {}): Tensor {
  checkOptions("pad", opts, PAD_KEYS, '{ mode: "reflect" } or { value: -1 }');
  const t = asTensor("pad", x);
  const mode = opts.mode ?? "constant";
  if (!MODES.includes(mode)) {
    throw new ShapeError(`pad(): unknown mode "${mode}"; use one of ${MODES.join(", ")}`);
  }
  const value = opts.value ?? 0;
  if (typeof value !== "number") {
    throw new TypeError(`pad(): value must be a number, got ${describe(value)}`);
  }
  if (mode !== "constant" && opts.value !== undefined) {
    throw new ShapeError(`pad(): value is for mode "constant"; mode "${mode}" copies elements`);
  }
  if (t.dtype === "int32" && !Number.isInteger(value)) {
    throw new DTypeError(
      `pad(): value ${value} is not an integer, but the tensor is int32; pass an integer ` +
        `value, or cast the tensor first, e.g. cast(x, "float32")`,
    );
  }
  if (t.dtype === "int32" && (value < -2147483648 || value > 2147483647)) {
    throw int32RangeError("pad", value, " (the value option)");
  }
  const pairs = padPairs(widths, t.shape);
  if (pairs.every(([lo, hi]) => lo === 0 && hi === 0)) return t;
  if (mode === "constant") {
    const full = t.shape.map((n, i) => pairs[i][0] + n + pairs[i][1]);
    const params = {
      starts: pairs.map(([lo]) => lo),
      steps: t.shape.map(() => 1),
      shape: t.shape,
      full,
    };
    const placed = bind(unslicePrim, [t], params);
    if (value === 0 && !Object.is(value, -0)) return placed;
    const inside = bind(
      unslicePrim,
      [broadcastTo(asTensor("pad", true, "bool", backendOf(t)), t.shape)],
      params,
    );
    return where(inside, placed, value);
  }
  let out = t;
  pairs.forEach(([lo, hi], axis) => {
    if (lo === 0 && hi === 0) return;
    const n = t.shape[axis];
    if (n === 0) {
      throw new ShapeError(
        `pad(): cannot pad the empty axis ${axis} of shape ${fmtShape(t.shape)} in mode ` +
          `"${mode}" (nothing to copy); use mode "constant"`,
      );
    }
    const idx = Array.from({ length: lo + n + hi }, (_, j) => sourceIndex(mode, j - lo, n));
    out = take(out, idx, axis);
  });
  return out;
}
