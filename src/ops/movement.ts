/**
 * Movement primitives: reshape, transpose, broadcastTo, slice (and its
 * transpose) and concat (take and scatterAdd live in take.ts and are
 * re-exported here); and the composites expandDims, squeeze, stack and split.
 *
 * Every movement primitive is linear: its jvp applies the op itself to the
 * tangent and its vjp is the transpose (reshape back, the inverse
 * permutation, a sum over broadcast axes, unslice for slice, scatterAdd
 * for take), so each states both rules, side by side.
 *
 * @module
 */

import { fmtShape, ShapeError } from "../core/errors.ts";
import {
  broadcastShapes,
  checkShape,
  normAxis,
  sameShape,
  type Shape,
  sizeOf,
  stridesOf,
} from "../core/shape.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensor, describe, sameDType } from "./convert.ts";
import { bind, definePrimitive, type Primitive } from "./primitive.ts";
import { zerosLikeTensor } from "./creation.ts";

// ---------------------------------------------------------------- reshape

interface ShapeParams {
  readonly shape: Shape;
}

/** Reshape: shares the buffer (tensors are immutable and dense). @internal */
export const reshapePrim: Primitive<ShapeParams> = definePrimitive<ShapeParams>({
  name: "reshape",
  abstract: ([x], { shape }) => ({ shape, dtype: x.dtype }),
  impl: (_b, [x]) => x._data,
  vjp: (g, [x]) => [reshape(g, x.shape)],
  jvp: ([t], _x, out) => reshape(t!, out.shape),
  batch: ({ inputs: [x], params: { shape }, self }) => self([x], { shape: [x.shape[0], ...shape] }),
});

/**
 * Gives a tensor a new shape with the same number of elements (row-major
 * order). One axis may be `-1`: it is inferred.
 *
 * @param x A tensor.
 * @param shape The new shape.
 * @returns The reshaped tensor (no copy is made).
 * @example
 * ```ts
 * import { arange, reshape } from "@gradus/core";
 * console.log(reshape(arange(6), [2, -1]).arraySync()); // [[0, 1, 2], [3, 4, 5]]
 * ```
 */
export function reshape(x: TensorLike, shape: readonly number[]): Tensor {
  const t = asTensor("reshape", x);
  const target = resolveShape(t.shape, shape);
  if (sameShape(target, t.shape)) return t;
  return bind(reshapePrim, [t], { shape: target });
}

function resolveShape(from: Shape, shape: readonly number[]): number[] {
  if (!Array.isArray(shape)) {
    throw new ShapeError(`reshape(): shape must be an array, got ${String(shape)}`);
  }
  const size = sizeOf(from);
  let infer = -1;
  let known = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (d === -1) {
      if (infer >= 0) {
        throw new ShapeError(`reshape(): only one -1 is allowed, got ${fmtShape(shape)}`);
      }
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`reshape(): invalid size ${d} in ${fmtShape(shape)}`);
    } else known *= d;
  }
  const out = [...shape];
  if (infer >= 0) {
    if (known === 0 || size % known !== 0) {
      throw new ShapeError(
        `reshape(): cannot reshape ${fmtShape(from)} (${size} elements) into ${fmtShape(shape)}`,
      );
    }
    out[infer] = size / known;
  } else if (known !== size) {
    throw new ShapeError(
      `reshape(): cannot reshape ${fmtShape(from)} (${size} elements) into ${
        fmtShape(shape)
      } (${known} elements)`,
    );
  }
  return out;
}

/**
 * Inserts an axis of size 1 at `axis` (which may be `ndim`, or negative).
 *
 * @param x A tensor.
 * @param axis Position of the new axis in the result.
 * @returns A tensor with one more axis.
 * @example
 * ```ts
 * import { expandDims, tensor } from "@gradus/core";
 * console.log(expandDims(tensor([1, 2]), -1).shape); // [2, 1]
 * ```
 */
export function expandDims(x: TensorLike, axis: number): Tensor {
  const t = asTensor("expandDims", x);
  const ax = normAxis("expandDims", axis, t.ndim + 1);
  const shape = [...t.shape];
  shape.splice(ax, 0, 1);
  return reshape(t, shape);
}

/**
 * Removes axes of size 1: the given ones (an error if one is not of size 1)
 * or all of them.
 *
 * @param x A tensor.
 * @param axis Axis or axes to remove; all size-1 axes when omitted.
 * @returns The squeezed tensor.
 * @example
 * ```ts
 * import { squeeze, zeros } from "@gradus/core";
 * console.log(squeeze(zeros([1, 3, 1])).shape); // [3]
 * ```
 */
export function squeeze(x: TensorLike, axis?: number | readonly number[]): Tensor {
  const t = asTensor("squeeze", x);
  if (axis !== undefined && typeof axis !== "number" && !Array.isArray(axis)) {
    throw new TypeError(
      `squeeze(): axis must be a number or an array of numbers (or left out: every axis of size ` +
        `1), got ${describe(axis)}`,
    );
  }
  let axes: number[];
  if (axis === undefined) {
    axes = t.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  } else {
    axes = (typeof axis === "number" ? [axis] : [...axis]).map((a) =>
      normAxis("squeeze", a, t.ndim)
    );
    for (const a of axes) {
      if (t.shape[a] !== 1) {
        throw new ShapeError(
          `squeeze(): axis ${a} of shape ${fmtShape(t.shape)} has size ${t.shape[a]}, not 1`,
        );
      }
    }
  }
  return reshape(t, t.shape.filter((_, i) => !axes.includes(i)));
}

// ---------------------------------------------------------------- transpose

interface PermParams {
  readonly perm: readonly number[];
}

/** Transpose: a strided copy. @internal */
export const transposePrim: Primitive<PermParams> = definePrimitive<PermParams>({
  name: "transpose",
  abstract: ([x], { perm }) => ({ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }),
  impl: (be, [x], { perm }, out) => {
    const st = stridesOf(x.shape);
    const strides = perm.map((p) => st[p]);
    return be.strided({ x: x._data, offset: 0, strides, outShape: out.shape, dtype: x.dtype });
  },
  vjp: (g, _x, _o, { perm }) => [transpose(g, inversePerm(perm))],
  jvp: ([t], _x, _o, { perm }) => transpose(t!, perm),
  batch: ({ inputs, params: { perm }, self }) =>
    self(inputs, { perm: [0, ...perm.map((p) => p + 1)] }),
});

function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/**
 * Permutes axes: axis `i` of the result is axis `axes[i]` of `x`. Without
 * `axes`, reverses them (a matrix transpose for 2-D).
 *
 * @param x A tensor.
 * @param axes A permutation of `0..ndim-1` (negative axes allowed).
 * @returns The transposed tensor.
 * @example
 * ```ts
 * import { tensor, transpose } from "@gradus/core";
 * console.log(transpose(tensor([[1, 2, 3]])).arraySync()); // [[1], [2], [3]]
 * ```
 */
export function transpose(x: TensorLike, axes?: readonly number[]): Tensor {
  const t = asTensor("transpose", x);
  if (axes !== undefined && !Array.isArray(axes)) {
    throw new TypeError(
      `transpose(): axes must be an array (a permutation, e.g. [1, 0]) or left out (reversed), ` +
        `got ${describe(axes)}`,
    );
  }
  const perm = axes === undefined
    ? t.shape.map((_, i) => t.ndim - 1 - i)
    : axes.map((a) => normAxis("transpose", a, t.ndim));
  const seen = new Set(perm);
  if (perm.length !== t.ndim || seen.size !== t.ndim) {
    throw new ShapeError(
      `transpose(): axes ${JSON.stringify(axes)} are not a permutation of the ${t.ndim} axes of ${
        fmtShape(t.shape)
      }`,
    );
  }
  if (perm.every((p, i) => p === i)) return t;
  return bind(transposePrim, [t], { perm });
}

// ---------------------------------------------------------------- broadcastTo

/** Broadcast to a larger shape (its vjp is the un-broadcast sum done by the autodiff). @internal */
export const broadcastPrim: Primitive<ShapeParams> = definePrimitive<ShapeParams>({
  name: "broadcastTo",
  abstract: ([x], { shape }) => ({ shape, dtype: x.dtype }),
  impl: (be, [x], { shape }) => {
    const st = stridesOf(x.shape);
    const off = shape.length - x.shape.length;
    const strides = shape.map((d, i) => {
      const j = i - off;
      return j < 0 || (x.shape[j] === 1 && d !== 1) ? 0 : st[j];
    });
    return be.strided({ x: x._data, offset: 0, strides, outShape: shape, dtype: x.dtype });
  },
  vjp: (g) => [g],
  jvp: ([t], _x, _o, { shape }) => broadcastTo(t!, shape),
  batch: ({ inputs: [x], params: { shape }, self }) => {
    // 1s after the batch axis up to the target's rank, so the batch stays in front.
    const pad = shape.length - (x.ndim - 1);
    const padded = pad > 0
      ? reshape(x, [x.shape[0], ...new Array<number>(pad).fill(1), ...x.shape.slice(1)])
      : x;
    return self([padded], { shape: [x.shape[0], ...shape] });
  },
});

/**
 * Broadcasts to `shape` with NumPy rules (size-1 and missing leading axes
 * repeat).
 *
 * @param x A tensor.
 * @param shape The target shape.
 * @returns The broadcast tensor.
 * @example
 * ```ts
 * import { broadcastTo, tensor } from "@gradus/core";
 * console.log(broadcastTo(tensor([1, 2]), [2, 2]).arraySync()); // [[1, 2], [1, 2]]
 * ```
 */
export function broadcastTo(x: TensorLike, shape: readonly number[]): Tensor {
  const t = asTensor("broadcastTo", x);
  checkShape("broadcastTo", shape);
  const b = broadcastShapes("broadcastTo", t.shape, shape);
  if (!sameShape(b, shape)) {
    throw new ShapeError(
      `broadcastTo(): cannot broadcast ${fmtShape(t.shape)} to ${fmtShape(shape)}`,
    );
  }
  if (sameShape(t.shape, shape)) return t;
  return bind(broadcastPrim, [t], { shape: [...shape] });
}

// ---------------------------------------------------------------- slice

interface SliceParams {
  /** First index taken on each axis. */
  readonly starts: readonly number[];
  /** Step on each axis (non-zero, may be negative). */
  readonly steps: readonly number[];
  /** Output shape. */
  readonly shape: Shape;
}

interface UnsliceParams extends SliceParams {
  /** Shape of the full tensor the slice came from. */
  readonly full: Shape;
}

function sliceGeometry(full: Shape, p: SliceParams): { offset: number; strides: number[] } {
  const st = stridesOf(full);
  let offset = 0;
  for (let i = 0; i < full.length; i++) offset += p.starts[i] * st[i];
  return { offset, strides: st.map((s, i) => s * p.steps[i]) };
}

/** Strided slice. @internal */
export const slicePrim: Primitive<SliceParams> = definePrimitive<SliceParams>({
  name: "slice",
  abstract: ([x], p) => ({ shape: p.shape, dtype: x.dtype }),
  impl: (be, [x], p) => {
    const { offset, strides } = sliceGeometry(x.shape, p);
    return be.strided({ x: x._data, offset, strides, outShape: p.shape, dtype: x.dtype });
  },
  vjp: (g, [x], _o, p) => [bind(unslicePrim, [g], { ...p, full: x.shape })],
  jvp: ([t], _x, _o, p) => bind(slicePrim, [t!], p),
  batch: ({ inputs: [x], params: p, self }) =>
    self([x], {
      starts: [0, ...p.starts],
      steps: [1, ...p.steps],
      shape: [x.shape[0], ...p.shape],
    }),
});

/** The transpose of slice: places a slice into zeros of the full shape. @internal */
export const unslicePrim: Primitive<UnsliceParams> = definePrimitive<UnsliceParams>({
  name: "unslice",
  abstract: ([g], p) => ({ shape: p.full, dtype: g.dtype }),
  impl: (be, [g], p) => {
    const { offset, strides } = sliceGeometry(p.full, p);
    return be.scatterStrided({
      x: g._data,
      xShape: p.shape,
      offset,
      strides,
      outSize: sizeOf(p.full),
      dtype: g.dtype,
    });
  },
  vjp: (ct, _g, _o, p) => [bind(slicePrim, [ct], p)],
  jvp: ([t], _g, _o, p) => bind(unslicePrim, [t!], p),
  batch: ({ inputs: [g], params: p, self }) =>
    self([g], {
      starts: [0, ...p.starts],
      steps: [1, ...p.steps],
      shape: [g.shape[0], ...p.shape],
      full: [g.shape[0], ...p.full],
    }),
});

/**
 * Python-style slicing per axis: `x[start:stop:step]` on each axis, with
 * negative indices counting from the end, out-of-range bounds clamped and
 * negative steps reversing. Axes past the given lists are taken whole; a
 * `null` entry means the default.
 *
 * @param x A tensor.
 * @param starts Start per axis (default 0, or the end for negative steps).
 * @param stops Stop per axis, exclusive (default: the end, or before 0 for negative steps).
 * @param steps Step per axis (default 1; never 0).
 * @returns The slice (`x` itself when it selects everything in order: tensors
 * are immutable, so only `dispose` or donation can tell).
 * @throws {TypeError} When a bound is not an array (one entry per axis).
 * @example
 * ```ts
 * import { arange, reshape, slice } from "@gradus/core";
 * const x = reshape(arange(12), [3, 4]);
 * console.log(slice(x, [1, 0], [3, 4], [1, 2]).arraySync()); // [[4, 6], [8, 10]]
 * console.log(slice(x, [], [], [1, -1]).arraySync()); // [[3, 2, 1, 0], [7, 6, 5, 4], [11, 10, 9, 8]]
 * ```
 */
export function slice(
  x: TensorLike,
  starts: readonly (number | null)[],
  stops?: readonly (number | null)[],
  steps?: readonly (number | null)[],
): Tensor {
  const t = asTensor("slice", x);
  // One entry per axis (NumPy's x[1:3, ::2] is slice(x, [1, null], [3, null], [1, 2])): a
  // number here (TF.js's slice(x, begin, size)) would otherwise be read as no bounds at all.
  for (const [name, b] of [["starts", starts], ["stops", stops], ["steps", steps]] as const) {
    if (b === undefined && name !== "starts") continue;
    if (!Array.isArray(b) || !b.every((v) => v === null || typeof v === "number")) {
      throw new TypeError(
        `slice(): ${name} must be an array with one number (or null) per axis, got ` +
          `${describe(b)}; e.g. slice(x, [1, 0], [3, null]) for x[1:3, :]`,
      );
    }
  }
  const n = Math.max(starts.length, stops?.length ?? 0, steps?.length ?? 0);
  if (n > t.ndim) {
    throw new ShapeError(
      `slice(): got bounds for ${n} axes but the input ${fmtShape(t.shape)} has ${t.ndim}`,
    );
  }
  const st: number[] = [];
  const sp: number[] = [];
  const shape: number[] = [];
  for (let i = 0; i < t.ndim; i++) {
    const [a, step, count] = sliceAxis(
      t.shape[i],
      starts[i] ?? null,
      stops?.[i] ?? null,
      steps?.[i] ?? null,
      i,
    );
    st.push(a);
    sp.push(step);
    shape.push(count);
  }
  if (sameShape(shape, t.shape) && sp.every((s) => s === 1)) return t;
  return bind(slicePrim, [t], { starts: st, steps: sp, shape });
}

function sliceAxis(
  n: number,
  start: number | null,
  stop: number | null,
  step: number | null,
  axis: number,
): [number, number, number] {
  const s = step ?? 1;
  if (!Number.isInteger(s) || s === 0) {
    throw new ShapeError(`slice(): step on axis ${axis} must be a non-zero integer, got ${s}`);
  }
  for (const v of [start, stop]) {
    if (v !== null && !Number.isInteger(v)) {
      throw new ShapeError(`slice(): bounds on axis ${axis} must be integers, got ${v}`);
    }
  }
  const norm = (v: number, lo: number, hi: number) => {
    const w = v < 0 ? v + n : v;
    return Math.min(Math.max(w, lo), hi);
  };
  let a: number;
  let b: number;
  if (s > 0) {
    a = start === null ? 0 : norm(start, 0, n);
    b = stop === null ? n : norm(stop, 0, n);
  } else {
    a = start === null ? n - 1 : norm(start, -1, n - 1);
    b = stop === null ? -1 : norm(stop, -1, n - 1);
  }
  const count = Math.max(0, Math.ceil((b - a) / s));
  return [count === 0 ? 0 : a, s, count];
}

// ---------------------------------------------------------------- concat

interface AxisParams {
  readonly axis: number;
}

/** Concatenation along an axis. @internal */
export const concatPrim: Primitive<AxisParams> = definePrimitive<AxisParams>({
  name: "concat",
  abstract: (xs, { axis }) => {
    const first = xs[0];
    const dtype = sameDType("concat", xs.map((x) => x.dtype));
    let total = 0;
    for (const x of xs) {
      const ok = x.shape.length === first.shape.length &&
        x.shape.every((d, i) => i === axis || d === first.shape[i]);
      if (!ok) {
        throw new ShapeError(
          `concat(): shapes ${
            xs.map((y) => fmtShape(y.shape)).join(", ")
          } differ outside axis ${axis}`,
        );
      }
      total += x.shape[axis];
    }
    const shape = [...first.shape];
    shape[axis] = total;
    return { shape, dtype };
  },
  impl: (be, xs, { axis }, out) => {
    const outer = sizeOf(out.shape.slice(0, axis));
    const inner = sizeOf(out.shape.slice(axis + 1));
    return be.concat({
      xs: xs.map((x) => x._data),
      cols: xs.map((x) => x.shape[axis] * inner),
      outer,
      dtype: out.dtype,
    });
  },
  vjp: (g, xs, _o, { axis }, needs) => {
    let at = 0;
    return xs.map((x, i) => {
      const from = at;
      at += x.shape[axis];
      if (!needs[i]) return null;
      const starts = g.shape.map((_, j) => (j === axis ? from : 0));
      const shape = g.shape.map((d, j) => (j === axis ? x.shape[axis] : d));
      return bind(slicePrim, [g], { starts, steps: g.shape.map(() => 1), shape });
    });
  },
  jvp: (ts, xs, _o, { axis }) =>
    bind(concatPrim, ts.map((t, i) => t ?? zerosLikeTensor(xs[i])), { axis }),
  batch: ({ inputs, batched, params: { axis }, size, self }) =>
    self(
      inputs.map((x, i) => batched[i] ? x : broadcastTo(x, [size, ...x.shape])),
      { axis: axis + 1 },
    ),
});

/**
 * Joins tensors along an existing axis (all other axes must match).
 *
 * @param xs Tensors of the same dtype.
 * @param axis The axis to join along (default 0).
 * @returns The concatenation.
 * @example
 * ```ts
 * import { concat, tensor } from "@gradus/core";
 * console.log(concat([tensor([[1, 2]]), tensor([[3, 4]])], 0).arraySync()); // [[1, 2], [3, 4]]
 * ```
 */
export function concat(xs: readonly TensorLike[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) {
    throw new ShapeError("concat(): needs a non-empty array of tensors");
  }
  const ts = xs.map((x) => asTensor("concat", x));
  const ax = normAxis("concat", axis, ts[0].ndim);
  if (ts.length === 1) return ts[0];
  return bind(concatPrim, ts, { axis: ax });
}

/**
 * Joins tensors of the same shape along a new axis.
 *
 * @param xs Tensors of the same shape and dtype.
 * @param axis Position of the new axis in the result (default 0).
 * @returns The stacked tensor.
 * @example
 * ```ts
 * import { stack, tensor } from "@gradus/core";
 * console.log(stack([tensor([1, 2]), tensor([3, 4])], 1).arraySync()); // [[1, 3], [2, 4]]
 * ```
 */
export function stack(xs: readonly TensorLike[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) {
    throw new ShapeError("stack(): needs a non-empty array of tensors");
  }
  const ts = xs.map((x) => asTensor("stack", x));
  for (const t of ts) {
    if (!sameShape(t.shape, ts[0].shape)) {
      throw new ShapeError(
        `stack(): all shapes must be equal, got ${ts.map((u) => fmtShape(u.shape)).join(", ")}`,
      );
    }
  }
  const ax = normAxis("stack", axis, ts[0].ndim + 1);
  return concat(ts.map((t) => expandDims(t, ax)), ax);
}

/**
 * Splits along an axis, like NumPy: a number gives that many equal parts
 * (it must divide the axis); an array gives the indices where parts start.
 *
 * @param x A tensor.
 * @param sectionsOrIndices Number of equal parts, or split points.
 * @param axis The axis (default 0).
 * @returns The parts.
 * @example
 * ```ts
 * import { arange, split } from "@gradus/core";
 * const [a, b] = split(arange(6), 2);
 * console.log(a.arraySync(), b.arraySync()); // [0, 1, 2] [3, 4, 5]
 * console.log(split(arange(5), [1, 3]).map((p) => p.arraySync())); // [[0], [1, 2], [3, 4]]
 * ```
 */
export function split(
  x: TensorLike,
  sectionsOrIndices: number | readonly number[],
  axis = 0,
): Tensor[] {
  const t = asTensor("split", x);
  if (typeof sectionsOrIndices !== "number" && !Array.isArray(sectionsOrIndices)) {
    throw new TypeError(
      `split(): expected a number of equal sections or an array of split indices, got ${
        describe(sectionsOrIndices)
      }`,
    );
  }
  const ax = normAxis("split", axis, t.ndim);
  const n = t.shape[ax];
  let points: number[];
  if (typeof sectionsOrIndices === "number") {
    const k = sectionsOrIndices;
    if (!Number.isInteger(k) || k <= 0 || n % k !== 0) {
      throw new ShapeError(
        `split(): axis ${ax} of size ${n} cannot be split into ${k} equal parts; pass split points instead`,
      );
    }
    points = Array.from({ length: k - 1 }, (_, i) => ((i + 1) * n) / k);
  } else {
    points = [...sectionsOrIndices];
  }
  const bounds = [0, ...points, n];
  const parts: Tensor[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const starts = t.shape.map((_, j) => (j === ax ? bounds[i] : null));
    const stops = t.shape.map((_, j) => (j === ax ? bounds[i + 1] : null));
    parts.push(slice(t, starts, stops));
  }
  return parts;
}
