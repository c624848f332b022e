/**
 * Making tensors: from JS values (`tensor`), filled (`zeros`, `ones`,
 * `full`, `…Like`), ranges (`arange`, `linspace`) and `eye`. New tensors go
 * to the current backend (see `setBackend`).
 *
 * @module
 */

import { currentBackend } from "../backend/registry.ts";
import type { Backend } from "../backend/backend.ts";
import { allocArray, type DType, dtypeOfArray, isDType, type TypedArray } from "../core/dtype.ts";
import { DTypeError, fmtShape, guardAlloc, int32RangeError, ShapeError } from "../core/errors.ts";
import { checkShape, type Shape, sizeOf } from "../core/shape.ts";
import {
  makeTensor,
  type NestedArray,
  type Tensor,
  Tensor as TensorClass,
} from "../core/tensor.ts";
import { backendOf, checkBackendDType, describe } from "./convert.ts";
import { getDefaultDType } from "./default_dtype.ts";
import { checkOptions, type OptionKeys } from "./_options.ts";

/**
 * Options of creation functions.
 *
 * @example
 * ```ts
 * import { type CreationOptions, ones, zeros } from "@gradus/core";
 *
 * const options: CreationOptions = { dtype: "float64" };
 * console.log(zeros([2], options).dtype); // "float64"
 * console.log(ones([2, 2], { dtype: "bool" }).dtype); // "bool"
 * ```
 */
export interface CreationOptions {
  /** Element type (default: the default dtype, float32 unless `setDefaultDType` changed it, or the dtype implied by the values). */
  readonly dtype?: DType;
}

/**
 * Options of `tensor()`.
 *
 * @example
 * ```ts
 * import { tensor, type TensorOptions } from "@gradus/core";
 *
 * // Flat values with a shape, as from a file or a typed array.
 * const options: TensorOptions = { shape: [2, 3], dtype: "float32" };
 * console.log(tensor([1, 2, 3, 4, 5, 6], options).arraySync()); // [[1, 2, 3], [4, 5, 6]]
 * ```
 */
export interface TensorOptions extends CreationOptions {
  /** Shape for flat values (a typed array or flat array); default: inferred from nesting. */
  readonly shape?: readonly number[];
}

const CREATION_KEYS: OptionKeys<CreationOptions> = { dtype: true };
const TENSOR_KEYS: OptionKeys<TensorOptions> = { shape: true, dtype: true };

/** Checks a creation op's options (see `checkOptions`). */
function checkCreation(op: string, opts: CreationOptions): void {
  checkOptions(op, opts, CREATION_KEYS, '{ dtype: "int32" }');
}

/**
 * Values `tensor()` accepts.
 *
 * @example
 * ```ts
 * import { tensor, type TensorValues } from "@gradus/core";
 *
 * const values: TensorValues[] = [3, [1, 2], [[true, false]], new Int32Array([4, 5])];
 * console.log(values.map((v) => tensor(v).dtype)); // [ "float32", "float32", "bool", "int32" ]
 * ```
 */
export type TensorValues =
  | number
  | boolean
  | NestedArray
  | readonly (number | boolean | readonly unknown[])[]
  | ArrayBufferView;

function checkDType(op: string, dtype: DType, backend: Backend): void {
  if (!isDType(dtype)) {
    throw new DTypeError(
      `${op}(): unknown dtype ${JSON.stringify(dtype)}; use float32, float64, int32 or bool`,
    );
  }
  checkBackendDType(op, dtype, backend);
}

/**
 * Stores `values` as `dtype`. int32 takes integers only (NumPy would
 * truncate 1.5; a fraction here is more likely a mistake) and only those in
 * the int32 range (NumPy raises too; storing them would wrap).
 */
function fromValues(op: string, values: ArrayLike<number>, shape: Shape, dtype: DType): Tensor {
  const backend = currentBackend();
  checkDType(op, dtype, backend);
  return guardAlloc(op, shape, dtype, backend, () => {
    const size = sizeOf(shape);
    const a = allocArray(dtype, size);
    if (dtype === "bool") {
      // x != 0, as cast() and NumPy have it: NaN is true.
      for (let i = 0; i < size; i++) a[i] = values[i] === 0 ? 0 : 1;
    } else if (dtype === "int32") {
      for (let i = 0; i < size; i++) {
        const v = values[i];
        if (!Number.isInteger(v)) {
          throw new DTypeError(
            `${op}(): value ${v} at flat index ${i} is not an integer, but the dtype is int32; ` +
              `round the values first (Math.round), or use dtype float32`,
          );
        }
        if (v < -2147483648 || v > 2147483647) {
          throw int32RangeError(op, v, shape.length === 0 ? "" : ` at flat index ${i}`);
        }
        a[i] = v;
      }
    } else {
      a.set(values);
    }
    return makeTensor(backend, backend.upload(a, dtype), shape, dtype);
  });
}

/** The most axes a tensor made from nested arrays may have (NumPy's limit too). */
const MAX_NESTING = 64;

function inferShape(values: unknown): number[] {
  const shape: number[] = [];
  let v = values;
  while (Array.isArray(v)) {
    if (shape.length === MAX_NESTING) {
      throw new ShapeError(
        `tensor(): the nested array is more than ${MAX_NESTING} levels deep; a tensor made ` +
          `from nested arrays has at most ${MAX_NESTING} axes (NumPy's limit too); ` +
          `flatten the values and pass { shape }`,
      );
    }
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  return shape;
}

function flattenNested(values: unknown, shape: Shape): { flat: number[]; bool: boolean } {
  const flat: number[] = [];
  let bool = true;
  let any = false;
  const walk = (v: unknown, axis: number, path: string) => {
    if (axis === shape.length) {
      if (typeof v === "number") {
        bool = false;
        flat.push(v);
      } else if (typeof v === "boolean") {
        flat.push(v ? 1 : 0);
      } else if (Array.isArray(v)) {
        throw new ShapeError(
          `tensor(): ragged nested array: at values${path} expected a number or boolean, ` +
            `got an array of length ${v.length}`,
        );
      } else {
        throw new TypeError(
          `tensor(): expected a number or boolean at values${path}, got ${typeof v}`,
        );
      }
      any = true;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[axis]) {
      const got = Array.isArray(v) ? `length ${v.length}` : typeof v;
      throw new ShapeError(
        `tensor(): ragged nested array: at values${path} expected length ${
          shape[axis]
        }, got ${got}`,
      );
    }
    for (let i = 0; i < v.length; i++) walk(v[i], axis + 1, `${path}[${i}]`);
  };
  walk(values, 0, "");
  return { flat, bool: bool && any };
}

/**
 * Makes a tensor from a number, a boolean, nested arrays or a typed array.
 * The dtype is `opts.dtype` if given; otherwise the default dtype
 * (float32 unless `setDefaultDType` changed it) for numbers, bool
 * for booleans, and the array's own type for Float32Array, Float64Array and
 * Int32Array (other typed arrays get the default dtype; BigInt64Array and
 * BigUint64Array become int32, there being no int64). The values are copied:
 * changing the source afterwards does not change the tensor.
 *
 * int32 takes integers from -2147483648 to 2147483647 only: a value outside
 * that range is a RangeError (NumPy raises too; storing it would wrap), and
 * a fraction a DTypeError (NumPy would truncate 1.5 to 1; round the values
 * first, or keep a float dtype).
 *
 * @param values The values.
 * @param opts `dtype`, and `shape` for flat values.
 * @returns A new tensor on the current backend.
 * @example
 * ```ts
 * import { tensor } from "@gradus/core";
 * const a = tensor([[1, 2, 3], [4, 5, 6]]);
 * const b = tensor(new Float64Array([1, 2, 3, 4]), { shape: [2, 2] });
 * const c = tensor([0, 2, 1], { dtype: "int32" });
 * console.log(a.shape, b.dtype, c.dtype); // [2, 3] "float64" "int32"
 * ```
 */
export function tensor(values: TensorValues, opts: TensorOptions = {}): Tensor {
  checkOptions("tensor", opts, TENSOR_KEYS, '{ shape: [2, 3], dtype: "int32" }');
  if (ArrayBuffer.isView(values)) {
    if (values instanceof DataView) {
      throw new TypeError("tensor(): a DataView has no element type; pass a typed array");
    }
    if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
      // No int64 here: the integers become int32 (or the dtype asked for).
      const big = values;
      if ((opts.dtype ?? "int32") === "int32") {
        // Checked as integers: Number() would round 2⁵³ + 1 before the message shows it.
        const i = big.findIndex((v) => v < -2147483648n || v > 2147483647n);
        if (i >= 0) throw int32RangeError("tensor", big[i], ` at flat index ${i}`);
      }
      const nums = guardAlloc("tensor", [big.length], "float64", currentBackend(), () => {
        const a = allocArray("float64", big.length);
        for (let i = 0; i < big.length; i++) a[i] = Number(big[i]);
        return a;
      });
      return tensor(nums, { shape: opts.shape ?? [big.length], dtype: opts.dtype ?? "int32" });
    }
    const arr = values as unknown as TypedArray;
    const own = dtypeOfArray(arr);
    const dtype = opts.dtype ?? (own === "bool" || own === null ? getDefaultDType() : own);
    const shape = opts.shape ? [...checkShape("tensor", opts.shape)] : [arr.length];
    if (sizeOf(shape) !== arr.length) {
      throw new ShapeError(
        `tensor(): shape ${fmtShape(shape)} needs ${sizeOf(shape)} values, got ${arr.length}`,
      );
    }
    return fromValues("tensor", arr, shape, dtype);
  }
  if (typeof values === "number" || typeof values === "boolean") {
    const dtype = opts.dtype ?? (typeof values === "boolean" ? "bool" : getDefaultDType());
    const shape = opts.shape ? [...checkShape("tensor", opts.shape)] : [];
    if (sizeOf(shape) !== 1) {
      throw new ShapeError(
        `tensor(): shape ${fmtShape(shape)} needs ${sizeOf(shape)} values, got 1`,
      );
    }
    return fromValues("tensor", [Number(values)], shape, dtype);
  }
  if (!Array.isArray(values)) {
    throw new TypeError(
      `tensor(): expected a number, boolean, nested array or typed array, got ${typeof values}`,
    );
  }
  const nestedShape = inferShape(values);
  const { flat, bool } = flattenNested(values, nestedShape);
  const dtype = opts.dtype ?? (bool ? "bool" : getDefaultDType());
  let shape: Shape = nestedShape;
  if (opts.shape) {
    shape = [...checkShape("tensor", opts.shape)];
    if (sizeOf(shape) !== flat.length) {
      throw new ShapeError(
        `tensor(): shape ${fmtShape(shape)} needs ${sizeOf(shape)} values, got ${flat.length}`,
      );
    }
  }
  return fromValues("tensor", flat, shape, dtype);
}

function filled(op: string, shape: readonly number[], value: number, dtype: DType): Tensor {
  const backend = currentBackend();
  checkShape(op, shape);
  checkDType(op, dtype, backend);
  if (dtype === "int32" && !Number.isInteger(value)) {
    throw new DTypeError(
      `${op}(): fill value ${value} is not an integer, but the dtype is int32; ` +
        `round it first (Math.round), or use dtype float32`,
    );
  }
  if (dtype === "int32" && (value < -2147483648 || value > 2147483647)) {
    throw int32RangeError(op, value, " (the fill value)");
  }
  return guardAlloc(
    op,
    shape,
    dtype,
    backend,
    () => makeTensor(backend, backend.fill(sizeOf(shape), value, dtype), shape, dtype),
  );
}

/**
 * A tensor of zeros.
 *
 * @param shape The shape.
 * @param opts `dtype` (default: the default dtype, float32 unless `setDefaultDType` changed it).
 * @returns Zeros.
 * @example
 * ```ts
 * import { zeros } from "@gradus/core";
 * console.log(zeros([2, 2]).arraySync()); // [[0, 0], [0, 0]]
 * ```
 */
export function zeros(shape: readonly number[], opts: CreationOptions = {}): Tensor {
  checkCreation("zeros", opts);
  return filled("zeros", shape, 0, opts.dtype ?? getDefaultDType());
}

/**
 * A tensor of ones.
 *
 * @param shape The shape.
 * @param opts `dtype` (default: the default dtype, float32 unless `setDefaultDType` changed it).
 * @returns Ones.
 * @example
 * ```ts
 * import { ones } from "@gradus/core";
 * console.log(ones([3], { dtype: "int32" }).arraySync()); // [1, 1, 1]
 * ```
 */
export function ones(shape: readonly number[], opts: CreationOptions = {}): Tensor {
  checkCreation("ones", opts);
  return filled("ones", shape, 1, opts.dtype ?? getDefaultDType());
}

/**
 * A tensor filled with one value.
 *
 * @param shape The shape.
 * @param value The fill value.
 * @param opts `dtype` (default: the default dtype, see `setDefaultDType`, or bool for a boolean value).
 *   For int32 the value must be an integer in the int32 range (else a
 *   DTypeError or RangeError, as in `tensor`).
 * @returns The filled tensor.
 * @example
 * ```ts
 * import { full } from "@gradus/core";
 * console.log(full([2], 7).arraySync()); // [7, 7]
 * ```
 */
export function full(
  shape: readonly number[],
  value: number | boolean,
  opts: CreationOptions = {},
): Tensor {
  checkCreation("full", opts);
  if (typeof value !== "number" && typeof value !== "boolean") {
    // Number() would make "a" NaN, null 0 and "3" 3; tensor() refuses these too.
    throw new TypeError(
      `full(): the fill value must be a number or a boolean, got ${describe(value)}`,
    );
  }
  const dtype = opts.dtype ?? (typeof value === "boolean" ? "bool" : getDefaultDType());
  return filled("full", shape, Number(value), dtype);
}

function likeBackend(x: Tensor, op: string, value: number, asked?: DType): Tensor {
  if (!(x instanceof TensorClass)) {
    throw new TypeError(
      `${op}(): expected a Tensor to take the shape and dtype of, got ${describe(x)}; ` +
        `for a shape use ${op === "onesLike" ? "ones" : "zeros"}(shape)`,
    );
  }
  const dtype = asked ?? x.dtype;
  const backend = backendOf(x);
  checkDType(op, dtype, backend);
  return guardAlloc(
    op,
    x.shape,
    dtype,
    backend,
    () => makeTensor(backend, backend.fill(x.size, value, dtype), x.shape, dtype),
  );
}

/** Zeros with the shape, dtype and backend of `x` (never traced). @internal */
export function zerosLikeTensor(x: Tensor): Tensor {
  return likeBackend(x, "zerosLike", 0, x.dtype);
}

/**
 * Zeros with the shape and dtype (unless given) of `x`, on its backend.
 *
 * @param x A tensor.
 * @param opts `dtype` (default: `x.dtype`).
 * @returns Zeros.
 * @example
 * ```ts
 * import { tensor, zerosLike } from "@gradus/core";
 * console.log(zerosLike(tensor([1, 2])).arraySync()); // [0, 0]
 * ```
 */
export function zerosLike(x: Tensor, opts: CreationOptions = {}): Tensor {
  checkCreation("zerosLike", opts);
  return likeBackend(x, "zerosLike", 0, opts.dtype);
}

/**
 * Ones with the shape and dtype (unless given) of `x`, on its backend.
 *
 * @param x A tensor.
 * @param opts `dtype` (default: `x.dtype`).
 * @returns Ones.
 * @example
 * ```ts
 * import { onesLike, tensor } from "@gradus/core";
 * console.log(onesLike(tensor([[1, 2]])).arraySync()); // [[1, 1]]
 * ```
 */
export function onesLike(x: Tensor, opts: CreationOptions = {}): Tensor {
  checkCreation("onesLike", opts);
  return likeBackend(x, "onesLike", 1, opts.dtype);
}

/**
 * Throws a `TypeError` for an argument that is not a number (`undefined`:
 * omitted), such as an options object passed where a position is
 * (`arange(5, { dtype })`); `form` shows the call.
 */
function numbers(op: string, args: readonly [string, unknown][], form: string): void {
  for (const [name, v] of args) {
    if (v !== undefined && typeof v !== "number") {
      throw new TypeError(
        `${op}(): ${name} must be a number, got ${describe(v)}; the options come last: ${form}`,
      );
    }
  }
}

/**
 * Evenly spaced values in `[start, stop)`, like NumPy's `arange`. With one
 * argument it counts from 0: `arange(5)` is `[0, 1, 2, 3, 4]`. The dtype
 * defaults to int32 when all arguments are integers, else the default dtype
 * (float32 unless `setDefaultDType` changed it).
 *
 * @param start The first value (or the stop when `stop` is omitted).
 * @param stop The end, exclusive.
 * @param step The spacing (default 1, never 0).
 * @param opts `dtype`.
 * @returns A 1-D tensor.
 * @example
 * ```ts
 * import { arange } from "@gradus/core";
 * console.log(arange(4).arraySync(), arange(1, 2, 0.25).arraySync());
 * // [0, 1, 2, 3] [1, 1.25, 1.5, 1.75]
 * ```
 */
export function arange(
  start: number,
  stop?: number,
  step = 1,
  opts: CreationOptions = {},
): Tensor {
  checkCreation("arange", opts);
  const form = "arange(start, stop, step, { dtype })";
  numbers("arange", [["start", start], ["stop", stop], ["step", step]], form);
  const [a, b] = stop === undefined ? [0, start] : [start, stop];
  if (step === 0 || !Number.isFinite(step)) {
    throw new ShapeError(`arange(): step must be a finite non-zero number, got ${step}`);
  }
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    throw new ShapeError(`arange(): bounds must be finite, got ${a} and ${b}`);
  }
  const n = Math.max(0, Math.ceil((b - a) / step));
  const ints = Number.isInteger(a) && Number.isInteger(b) && Number.isInteger(step);
  const dtype = opts.dtype ?? (ints ? "int32" : getDefaultDType());
  if (dtype === "int32" && n > 0) {
    // The values are monotone: checking both ends is enough (and fails before allocating).
    for (const v of [Math.trunc(a), Math.trunc(a + (n - 1) * step)]) {
      if (v < -2147483648 || v > 2147483647) throw int32RangeError("arange", v);
    }
  }
  const vals = guardAlloc("arange", [n], dtype, currentBackend(), () => {
    const v = allocArray("float64", n);
    for (let i = 0; i < n; i++) v[i] = a + i * step;
    // int32 with a fractional value (`arange(0.5, 3, 1, { dtype: "int32" })`) is the same
    // DTypeError as in `tensor` and `linspace`, not a silent truncation.
    return v;
  });
  return fromValues("arange", vals, [n], dtype);
}

/**
 * `num` evenly spaced values from `start` to `stop` inclusive, like NumPy's
 * `linspace` (computed in float64, then stored as `dtype`).
 *
 * @param start The first value.
 * @param stop The last value.
 * @param num How many values (default 50).
 * @param opts `dtype` (default: the default dtype, float32 unless `setDefaultDType` changed it).
 * @returns A 1-D tensor.
 * @example
 * ```ts
 * import { linspace } from "@gradus/core";
 * console.log(linspace(0, 1, 5).arraySync()); // [0, 0.25, 0.5, 0.75, 1]
 * ```
 */
export function linspace(
  start: number,
  stop: number,
  num = 50,
  opts: CreationOptions = {},
): Tensor {
  checkCreation("linspace", opts);
  numbers(
    "linspace",
    [["start", start], ["stop", stop], ["num", num]],
    "linspace(start, stop, num, { dtype })",
  );
  if (!Number.isInteger(num) || num < 0) {
    throw new ShapeError(`linspace(): num must be a non-negative integer, got ${num}`);
  }
  const dtype = opts.dtype ?? getDefaultDType();
  const vals = guardAlloc("linspace", [num], dtype, currentBackend(), () => {
    return allocArray("float64", num);
  });
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  for (let i = 0; i < num; i++) vals[i] = start + i * step;
  if (num > 1) vals[num - 1] = stop;
  return fromValues("linspace", vals, [num], dtype);
}

/**
 * An identity matrix (ones on the diagonal), `n × m`.
 *
 * @param n Rows.
 * @param m Columns (default `n`).
 * @param opts `dtype` (default: the default dtype, float32 unless `setDefaultDType` changed it).
 * @returns The matrix.
 * @example
 * ```ts
 * import { eye } from "@gradus/core";
 * console.log(eye(2).arraySync()); // [[1, 0], [0, 1]]
 * ```
 */
export function eye(n: number, m = n, opts: CreationOptions = {}): Tensor {
  checkCreation("eye", opts);
  if (typeof m !== "number") {
    throw new TypeError(
      `eye(): the number of columns must be a number, got ${describe(m)}; options come third, ` +
        `e.g. eye(3, 3, { dtype: "int32" })`,
    );
  }
  checkShape("eye", [n, m]);
  const dtype = opts.dtype ?? getDefaultDType();
  const vals = guardAlloc("eye", [n, m], dtype, currentBackend(), () => {
    return allocArray("float64", n * m);
  });
  for (let i = 0; i < Math.min(n, m); i++) vals[i * m + i] = 1;
  return fromValues("eye", vals, [n, m], dtype);
}
