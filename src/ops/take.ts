/**
 * Gathering along an axis: the `take` primitive (NumPy's `take`) and its
 * transpose `scatterAdd`, each the other's vjp; and the conversion of
 * indices to an int32 tensor that `take` and `oneHot` share.
 *
 * @module
 */

import { DTypeError, int32RangeError, ShapeError } from "../core/errors.ts";
import { normAxis, range, sizeOf } from "../core/shape.ts";
import { makeTensor, Tensor, type TensorLike } from "../core/tensor.ts";
import { asTensor, backendOf, describe, knownValues } from "./convert.ts";
import { OUT_OF_RANGE } from "../backend/_host.ts";
import { bind, definePrimitive, type Primitive } from "./primitive.ts";
import { moveAxis, withBatch } from "./_batching.ts";
import { reshape, transpose } from "./movement.ts";
import { add, mul, where } from "./elementwise.ts";
import { greaterEqual, less, logicalAnd } from "./compare.ts";
import { arange } from "./creation.ts";

interface GatherParams {
  readonly axis: number;
}

interface ScatterParams {
  readonly axis: number;
  /** Size of `axis` in the output. */
  readonly size: number;
  /** Rank of the indices tensor. */
  readonly indexRank: number;
}

/** take(x, indices, axis): gather along one axis. @internal */
export const takePrim: Primitive<GatherParams> = definePrimitive<GatherParams>({
  name: "take",
  abstract: ([x, idx], { axis }) => ({
    shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)],
    dtype: x.dtype,
  }),
  impl: (be, [x, idx], { axis }) =>
    be.gather({
      x: x._data,
      indices: idx._data,
      outer: sizeOf(x.shape.slice(0, axis)),
      n: x.shape[axis],
      inner: sizeOf(x.shape.slice(axis + 1)),
      count: sizeOf(idx.shape),
      dtype: x.dtype,
    }),
  vjp: (g, [x, idx], _o, { axis }) => [
    bind(scatterAddPrim, [g, idx], { axis, size: x.shape[axis], indexRank: idx.ndim }),
    null,
  ],
  jvp: ([t], [_x, idx], _o, p) => bind(takePrim, [t!, idx], p),
  batch: ({ inputs: [x, idx], batched: [bx, bi], params: { axis }, size, self }) => {
    if (!bi) return self([x, idx], { axis: axis + 1 });
    // Batched indices into an unbatched x: the batch lands where the gathered axis was.
    if (!bx) return moveAxis(self([x, idx], { axis }), axis, 0);
    // Both: one gather from x with the batch and the axis merged, indices offset by b·n.
    const n = x.shape[axis + 1], ir = idx.ndim - 1;
    const xt = moveAxis(x, axis + 1, 1);
    const flat = reshape(xt, [size * n, ...xt.shape.slice(2)]);
    const g = self([flat, batchOffsets("take()", idx, n, size)], { axis: 0 }); // [B, ...idx, ...pre, ...post]
    const perm = [0, ...range(ir + 1, ir + 1 + axis), ...range(1, ir + 1)];
    return transpose(g, [...perm, ...range(perm.length, g.ndim)]);
  },
});

/** The transpose of take: adds slices of `g` into zeros at `indices`. @internal */
export const scatterAddPrim: Primitive<ScatterParams> = definePrimitive<ScatterParams>({
  name: "scatterAdd",
  abstract: ([g], { axis, size, indexRank }) => ({
    shape: [...g.shape.slice(0, axis), size, ...g.shape.slice(axis + indexRank)],
    dtype: g.dtype,
  }),
  impl: (be, [g, idx], { axis, size, indexRank }) =>
    be.scatterAdd({
      g: g._data,
      indices: idx._data,
      outer: sizeOf(g.shape.slice(0, axis)),
      n: size,
      inner: sizeOf(g.shape.slice(axis + indexRank)),
      count: sizeOf(idx.shape),
      dtype: g.dtype,
    }),
  vjp: (ct, [_g, idx], _o, { axis }) => [bind(takePrim, [ct, idx], { axis }), null],
  jvp: ([t], [_g, idx], _o, p) => bind(scatterAddPrim, [t!, idx], p),
  batch: (
    { inputs: [g, idx], batched: [bg, bi], params: { axis, size, indexRank }, self, ...a },
  ) => {
    if (!bi) return self([g, idx], { axis: axis + 1, size, indexRank });
    // Batched indices: scatter into the batch and the axis merged, indices offset by b·size.
    const gb = withBatch(g, bg, a.size), ir = idx.ndim - 1;
    // [B, ...pre, ...idx, ...post] → [B, ...idx, ...pre, ...post]
    const head = [0, ...range(axis + 1, axis + 1 + ir), ...range(1, axis + 1)];
    const g2 = transpose(gb, [...head, ...range(head.length, gb.ndim)]);
    const s = self([g2, batchOffsets("scatterAdd()", idx, size, a.size)], {
      axis: 0,
      size: a.size * size,
      indexRank: ir + 1,
    }); // [B·size, ...pre, ...post]
    const split = reshape(s, [a.size, size, ...s.shape.slice(1)]);
    return moveAxis(split, 1, axis + 1);
  },
});

/**
 * Batched indices `[B, ...]` into an axis of size `n`, made indices into the
 * batch and axis merged (`b·n + i`, negative ones counted from the end);
 * one outside `[-n, n)` becomes `OUT_OF_RANGE` (−2³¹), outside the merged
 * axis too, so the gather or scatter still rejects it (and says so).
 */
function batchOffsets(op: string, idx: Tensor, n: number, size: number): Tensor {
  // Checked here where the values are at hand (eager vmap): past this point
  // a bad index is the sentinel, and the error would name it, not the index.
  const known = knownValues(idx);
  if (known !== null) {
    for (const v of known) {
      if (v < -n || v >= n) {
        throw new RangeError(
          `${op}: index ${v} is out of bounds for an axis of size ${n} ${
            n === 0 ? "(it has no elements)" : `(valid: -${n}..${n - 1})`
          }`,
        );
      }
    }
  }
  const base = reshape(
    mul(arange(0, size, 1, { dtype: "int32" }), n),
    [size, ...new Array<number>(idx.ndim - 1).fill(1)],
  );
  const inRange = logicalAnd(greaterEqual(idx, -n), less(idx, n));
  const i = where(less(idx, 0), add(idx, n), idx);
  return where(inRange, add(i, base), OUT_OF_RANGE);
}

/**
 * Gathers slices along `axis` at int32 `indices` (NumPy's `take`): the
 * result has shape `x.shape[:axis] + indices.shape + x.shape[axis+1:]`.
 * The gradient adds back into the gathered positions (repeated indices
 * accumulate).
 *
 * Indices lie in `[-n, n)` for an axis of size `n`; negative ones count from
 * the end. An index outside is never clamped or wrapped: it is a RangeError
 * naming the index and `n` wherever the indices can be checked without
 * waiting for the device — always for a number array, always on `cpu` and
 * `wasm`, and on `webgpu` for index tensors made from host values. Indices
 * computed on the GPU (e.g. by `argmax` or arithmetic) are not read back to
 * be checked: an out-of-range one gathers NaN (int32: −2³¹, bool: `true`,
 * JAX's `mode="fill"`) and receives no gradient.
 *
 * @param x A tensor.
 * @param indices int32 indices (a tensor or a number array).
 * @param axis The axis to gather along (default 0).
 * @returns The gathered tensor.
 * @example
 * ```ts
 * import { take, tensor } from "@gradus/core";
 * const x = tensor([[1, 2], [3, 4], [5, 6]]);
 * console.log(take(x, [2, 0]).arraySync()); // [[5, 6], [1, 2]]
 * console.log(take(x, [1], 1).arraySync()); // [[2], [4], [6]]
 * ```
 */
export function take(
  x: TensorLike,
  indices: Tensor | readonly number[] | number,
  axis = 0,
): Tensor {
  const t = asTensor("take", x);
  if (t.ndim === 0) throw new ShapeError("take(): cannot index a scalar; reshape it first");
  const ax = normAxis("take", axis, t.ndim);
  const idx = indexTensor("take", indices, backendOf(t), t.shape[ax]);
  return bind(takePrim, [t, idx], { axis: ax });
}

/**
 * Converts indices to an int32 tensor, with a clear error for other dtypes.
 * Numbers given as JS values are checked against `[-n, n)` when `n` is
 * given, and against the int32 range always.
 * @internal
 */
export function indexTensor(
  op: string,
  indices: Tensor | readonly number[] | number,
  backend: ReturnType<typeof backendOf>,
  n?: number,
): Tensor {
  if (indices instanceof Tensor) {
    if (indices.dtype !== "int32") {
      throw new DTypeError(
        `${op}(): indices must be int32, got ${indices.dtype}; cast them first, e.g. cast(i, "int32")`,
      );
    }
    return indices;
  }
  const list = typeof indices === "number" ? [indices] : indices;
  if (!Array.isArray(list)) {
    throw new TypeError(
      `${op}(): indices must be an int32 tensor, an array of integers or an integer, got ${
        describe(indices)
      }`,
    );
  }
  for (const v of list) {
    if (!Number.isInteger(v)) {
      throw new DTypeError(`${op}(): indices must be integers, got ${v}`);
    }
    if (n !== undefined && (v < -n || v >= n)) {
      throw new RangeError(
        `${op}(): index ${v} is out of bounds for an axis of size ${n} ${
          n === 0 ? "(it has no elements)" : `(valid: -${n}..${n - 1})`
        }`,
      );
    }
    if (v < -2147483648 || v > 2147483647) throw int32RangeError(op, v, " (indices are int32)");
  }
  const data = Int32Array.from(list);
  return makeTensor(
    backend,
    backend.upload(data, "int32"),
    typeof indices === "number" ? [] : [list.length],
    "int32",
  );
}
