/**
 * Shape arithmetic: sizes, strides, broadcasting and axis normalisation. The
 * only place shape errors are built.
 *
 * @module
 */

import { fmtShape, ShapeError } from "./errors.ts";

/**
 * A tensor's shape: one non-negative integer per axis; `[]` is a scalar.
 *
 * @example
 * ```ts
 * import { reshape, type Shape, zeros } from "@gradus/core";
 *
 * const shape: Shape = [2, 3];
 * const x = reshape(zeros(shape), [3, -1]);
 * console.log(x.shape); // [3, 2]
 * ```
 */
export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar; 0 with any axis of 0, even beside huge ones). @internal */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n === n ? n : 0; // NaN only from Infinity · 0: an axis of 0 beside overflowing ones
}

/** Row-major strides of a dense shape. @internal */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Whether two shapes are equal. @internal */
export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Validates a user-given shape. @internal */
export function checkShape(op: string, shape: unknown): Shape {
  if (!Array.isArray(shape)) {
    throw new ShapeError(`${op}(): shape must be an array of integers, got ${String(shape)}`);
  }
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      throw new ShapeError(
        `${op}(): shape [${
          shape.map((d) => (typeof d === "string" ? JSON.stringify(d) : String(d))).join(",")
        }] must contain non-negative integers`,
      );
    }
  }
  return shape as Shape;
}

/**
 * The NumPy broadcast of several shapes. Throws naming the op, both shapes
 * and the first axis (counted from the end) that disagrees.
 * @internal
 */
export function broadcastShapes(op: string, ...shapes: Shape[]): Shape {
  let rank = 0;
  for (const s of shapes) rank = Math.max(rank, s.length);
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 1; i <= s.length; i++) {
      const d = s[s.length - i];
      const o = out[rank - i];
      if (d === o || d === 1) continue;
      if (o === 1) {
        out[rank - i] = d;
        continue;
      }
      const all = shapes.map(fmtShape).join(" and ");
      throw new ShapeError(
        `${op}(): cannot broadcast shapes ${all} (axis -${i}: ${o} vs ${d})`,
      );
    }
  }
  return out;
}

/**
 * Strides to read an input of shape `inShape` as if broadcast to `outShape`
 * (0 on broadcast axes). Assumes `inShape` broadcasts to `outShape`.
 * @internal
 */
export function broadcastStrides(inShape: Shape, outShape: Shape): number[] {
  const st = stridesOf(inShape);
  const out = new Array<number>(outShape.length).fill(0);
  const off = outShape.length - inShape.length;
  for (let i = 0; i < inShape.length; i++) {
    out[off + i] = inShape[i] === 1 && outShape[off + i] !== 1 ? 0 : st[i];
  }
  return out;
}

/** Normalises a possibly negative axis; throws a clear error when out of range. @internal */
export function normAxis(op: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis)) {
    const got: unknown = axis;
    throw new ShapeError(
      Array.isArray(got)
        ? `${op}(): axis must be one integer, got the array [${got.join(",")}]`
        : `${op}(): axis must be an integer, got ${String(got)}`,
    );
  }
  if (axis < -ndim || axis >= ndim) {
    const range = ndim === 0 ? "none: the input is a scalar" : `${-ndim}..${ndim - 1}`;
    throw new ShapeError(
      `${op}(): axis ${axis} is out of range for rank ${ndim} (valid: ${range})`,
    );
  }
  return axis < 0 ? axis + ndim : axis;
}

/**
 * Normalises `axis` (one axis, a list, or `undefined`/`null` for all axes)
 * to a sorted list of distinct non-negative axes.
 * @internal
 */
export function normAxes(
  op: string,
  axis: number | readonly number[] | null | undefined,
  ndim: number,
): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: ndim }, (_, i) => i);
  if (typeof axis !== "number" && !Array.isArray(axis)) {
    // sum(x, { keepdims: true }): the options object where the axis goes.
    throw new TypeError(
      `${op}(): axis must be a number, an array of numbers or null (all axes), got ${
        typeof axis === "object" ? "an object" : `${typeof axis} ${String(axis)}`
      }; options come after it, e.g. ${op}(x, null, { keepdims: true })`,
    );
  }
  const list = typeof axis === "number" ? [axis] : [...axis];
  const out = list.map((a) => normAxis(op, a, ndim));
  const sorted = [...out].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) {
      throw new ShapeError(`${op}(): repeated axis in ${JSON.stringify(list)}`);
    }
  }
  return sorted;
}

/** Human-readable shape, for messages: `[2,3]`. @internal */
export const showShape = fmtShape;

/** `lo, lo + 1, …, hi - 1` (empty when `hi <= lo`). @internal */
export function range(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let i = lo; i < hi; i++) out.push(i);
  return out;
}
