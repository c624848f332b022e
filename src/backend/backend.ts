/**
 * The backend interface: a backend owns buffers and kernels, and nothing else.
 *
 * Backends know nothing of autodiff, broadcasting rules or shape checking: the
 * ops layer validates shapes and dtypes, computes broadcast strides, and hands
 * a backend plain sizes, strides and opcodes. Every kernel returns a new
 * buffer; no kernel ever writes to an input buffer.
 *
 * Layout: every buffer is dense and row-major (C order). A "strides" array
 * lists, per output axis, how many elements to step in the input buffer; a
 * stride of 0 repeats (broadcasts) an axis.
 *
 * Kernels with more than a few arguments take one record (a `*Spec` type
 * below), so a call names what it passes and backends share one signature.
 * The whole contract stays in this one file (opcode lists, records, the
 * interface) although it runs past 600 lines: most of them are the runnable
 * examples of each record, and a reader sees every rule in one place.
 *
 * @module
 */

import type { DType, TypedArray } from "../core/dtype.ts";
import type { ElementwiseKernel, ReduceKernel } from "./ir/kernel.ts";

/**
 * An opaque reference to a buffer owned by a backend (a typed array on the
 * CPU, a GPU buffer on WebGPU).
 *
 * @example
 * ```ts
 * import { CpuBackend, type DataHandle } from "@gradus/core";
 *
 * // What a backend hands out for a buffer; only the backend knows what is inside.
 * const backend = new CpuBackend();
 * const handle: DataHandle = backend.upload(new Float32Array([1, 2, 3]), "float32");
 * console.log(backend.readSync(handle, "float32", 3)); // Float32Array(3) [ 1, 2, 3 ]
 * ```
 */
export type DataHandle = unknown;

/**
 * Every elementwise unary opcode, in one list (the {@linkcode UnaryOp} type
 * is made from it, and tests check that each backend's table covers it).
 *
 * @example
 * ```ts
 * import { UNARY_OPS } from "@gradus/core";
 *
 * console.log(UNARY_OPS.includes("exp"), UNARY_OPS.length); // true 19
 * ```
 */
export const UNARY_OPS = [
  "neg",
  "exp",
  "log",
  "log1p",
  "expm1",
  "sqrt",
  "sin",
  "cos",
  "tanh",
  "sigmoid",
  "erf",
  "erfc",
  "abs",
  "sign",
  "square",
  "floor",
  "ceil",
  "round",
  "logicalNot",
] as const;

/**
 * Elementwise unary opcodes (each is the name of its primitive). Float ops
 * (`exp`, `log`, `log1p`, `expm1`, `sqrt`, `sin`, `cos`, `tanh`, `sigmoid`,
 * `erf`, `erfc`, `floor`, `ceil`, `round`) only ever see float dtypes; `neg`,
 * `abs`, `sign` and `square` also see int32; `logicalNot` sees bool.
 * `round` rounds half to even, like NumPy.
 *
 * @example
 * ```ts
 * import { CpuBackend, type UnaryOp } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const x = backend.upload(new Float32Array([-1.5, 2.5]), "float32");
 * for (const op of ["abs", "round", "neg"] as UnaryOp[]) {
 *   const y = backend.unary({ op, x, size: 2, dtype: "float32" });
 *   console.log(op, backend.readSync(y, "float32", 2));
 * }
 * // abs [1.5, 2.5]; round [-2, 2] (half to even); neg [1.5, -2.5]
 * ```
 */
export type UnaryOp = typeof UNARY_OPS[number];

/** The comparison opcodes (see {@linkcode COMPARISONS}). */
const COMPARISON_OPS = [
  "equal",
  "notEqual",
  "greater",
  "greaterEqual",
  "less",
  "lessEqual",
] as const;

/**
 * Every elementwise binary opcode, in one list (the {@linkcode BinaryOp}
 * type is made from it).
 *
 * @example
 * ```ts
 * import { BINARY_OPS } from "@gradus/core";
 *
 * console.log(BINARY_OPS.includes("pow"), BINARY_OPS.length); // true 15
 * ```
 */
export const BINARY_OPS = [
  "add",
  "sub",
  "mul",
  "div",
  "pow",
  "maximum",
  "minimum",
  ...COMPARISON_OPS,
  "logicalAnd",
  "logicalOr",
] as const;

/**
 * Elementwise binary opcodes (each is the name of its primitive).
 * Arithmetic ops see float32, float64 and int32 (int32 results wrap modulo
 * 2³²: `add`, `sub`, `mul`, and `pow`, which is the exact power modulo 2³²,
 * with `trunc(1 / aⁿ)` for a negative exponent; `div` is never sent with
 * int32). Comparisons see every dtype and produce bool. `logicalAnd` and
 * `logicalOr` see bool only.
 *
 * @example
 * ```ts
 * import { type BinaryOp, CpuBackend } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const a = backend.upload(new Float32Array([1, 2, 3]), "float32");
 * const b = backend.upload(new Float32Array([10]), "float32");
 * // b broadcasts along the axis: stride 0.
 * const op: BinaryOp = "add";
 * const out = backend.binary({
 *   op,
 *   a,
 *   aStrides: [1],
 *   b,
 *   bStrides: [0],
 *   outShape: [3],
 *   dtype: "float32",
 * });
 * console.log(backend.readSync(out, "float32", 3)); // Float32Array(3) [ 11, 12, 13 ]
 * ```
 */
export type BinaryOp = typeof BINARY_OPS[number];

/**
 * The binary opcodes whose result is bool, whatever the inputs' dtype.
 *
 * @example
 * ```ts
 * import { COMPARISONS } from "@gradus/core";
 *
 * console.log(COMPARISONS.has("less"), COMPARISONS.has("add")); // true false
 * ```
 */
export const COMPARISONS: ReadonlySet<BinaryOp> = new Set<BinaryOp>(COMPARISON_OPS);

/**
 * Reduction opcodes over the middle axis of an `[outer, n, inner]` view.
 * `sum` of bool counts (output int32); `argmax`/`argmin` return the first
 * index of the extreme value as int32. `max`/`min` propagate NaN.
 *
 * @example
 * ```ts
 * import { CpuBackend, type ReduceOp } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * // A [2, 3] matrix seen as [outer 2, n 3, inner 1]: reduce each row.
 * const x = backend.upload(new Float32Array([1, 5, 2, 7, 0, 3]), "float32");
 * const op: ReduceOp = "argmax";
 * const out = backend.reduce({ op, x, outer: 2, n: 3, inner: 1, dtype: "float32" });
 * console.log(backend.readSync(out, "int32", 2)); // Int32Array(2) [ 1, 0 ]
 * ```
 */
export type ReduceOp = "sum" | "max" | "min" | "argmax" | "argmin";

/**
 * Geometry of a batched matrix product, already broadcast by the ops layer.
 *
 * @example
 * ```ts
 * import { CpuBackend, type MatmulSpec } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const a = backend.upload(new Float32Array([1, 2, 3, 4]), "float32"); // [[1, 2], [3, 4]]
 * const b = backend.upload(new Float32Array([1, 0, 0, 1]), "float32"); // the identity
 * // One 2×2 product, no batch axes.
 * const spec: MatmulSpec = {
 *   batchShape: [],
 *   aBatchStrides: [],
 *   bBatchStrides: [],
 *   m: 2,
 *   k: 2,
 *   n: 2,
 * };
 * const out = backend.matmul(a, b, spec, "float32");
 * console.log(backend.readSync(out, "float32", 4)); // Float32Array(4) [ 1, 2, 3, 4 ]
 * ```
 */
export interface MatmulSpec {
  /** Broadcast batch shape of the output (may be empty). */
  readonly batchShape: readonly number[];
  /** Per batch axis, the step in whole `m×k` matrices of `a` (0 = broadcast). */
  readonly aBatchStrides: readonly number[];
  /** Per batch axis, the step in whole `k×n` matrices of `b` (0 = broadcast). */
  readonly bBatchStrides: readonly number[];
  /** Rows of `a` and of the output. */
  readonly m: number;
  /** Columns of `a`, rows of `b`. */
  readonly k: number;
  /** Columns of `b` and of the output. */
  readonly n: number;
  /**
   * `a`'s matrices are stored transposed, row-major `k × m`, and used as
   * their transposes (default false). Backends that do not set
   * {@linkcode Backend.matmulTransposes} never see it set.
   */
  readonly transA?: boolean;
  /** `b`'s matrices are stored transposed, row-major `n × k` (default false); see `transA`. */
  readonly transB?: boolean;
}

/**
 * Arguments of {@linkcode Backend.unary}: `out[i] = op(x[i])` for `i < size`.
 *
 * @example
 * ```ts
 * import { CpuBackend, type UnarySpec } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const x = backend.upload(new Float64Array([0, 1]), "float64");
 * const spec: UnarySpec = { op: "exp", x, size: 2, dtype: "float64" };
 * console.log(backend.readSync(backend.unary(spec), "float64", 2));
 * // Float64Array(2) [ 1, 2.718281828459045 ]
 * ```
 */
export interface UnarySpec {
  /** The opcode. */
  readonly op: UnaryOp;
  /** The input buffer. */
  readonly x: DataHandle;
  /** How many elements. */
  readonly size: number;
  /** The input's dtype; the output's too, except bool for `logicalNot`. */
  readonly dtype: DType;
}

/**
 * Arguments of {@linkcode Backend.binary}:
 * `out[idx] = op(a[Σ idx·aStrides], b[Σ idx·bStrides])` over every index of
 * `outShape` (a stride of 0 broadcasts an axis).
 *
 * @example
 * ```ts
 * import { type BinarySpec, CpuBackend } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const a = backend.upload(new Int32Array([1, 2, 3, 4]), "int32"); // [[1, 2], [3, 4]]
 * const b = backend.upload(new Int32Array([10, 20]), "int32"); // a row, broadcast down
 * const spec: BinarySpec = {
 *   op: "mul",
 *   a,
 *   aStrides: [2, 1],
 *   b,
 *   bStrides: [0, 1],
 *   outShape: [2, 2],
 *   dtype: "int32",
 * };
 * console.log(backend.readSync(backend.binary(spec), "int32", 4));
 * // Int32Array(4) [ 10, 40, 30, 80 ]
 * ```
 */
export interface BinarySpec {
  /** The opcode. */
  readonly op: BinaryOp;
  /** The left operand. */
  readonly a: DataHandle;
  /** Per output axis, the step in `a` (0 = broadcast). */
  readonly aStrides: readonly number[];
  /** The right operand. */
  readonly b: DataHandle;
  /** Per output axis, the step in `b` (0 = broadcast). */
  readonly bStrides: readonly number[];
  /** The output's shape. */
  readonly outShape: readonly number[];
  /** The inputs' dtype (the output's too, except bool for comparisons). */
  readonly dtype: DType;
}

/**
 * Arguments of {@linkcode Backend.where}: `out[idx] = cond[…] ? a[…] : b[…]`
 * with broadcast strides as in {@linkcode BinarySpec}; `cond` is bool.
 *
 * @example
 * ```ts
 * import { CpuBackend, type WhereSpec } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const cond = backend.upload(new Uint8Array([1, 0, 1]), "bool");
 * const a = backend.upload(new Float32Array([1, 2, 3]), "float32");
 * const b = backend.upload(new Float32Array([0]), "float32"); // a scalar
 * const spec: WhereSpec = {
 *   cond,
 *   condStrides: [1],
 *   a,
 *   aStrides: [1],
 *   b,
 *   bStrides: [0],
 *   outShape: [3],
 *   dtype: "float32",
 * };
 * console.log(backend.readSync(backend.where(spec), "float32", 3));
 * // Float32Array(3) [ 1, 0, 3 ]
 * ```
 */
export interface WhereSpec extends Omit<BinarySpec, "op"> {
  /** The bool condition: where true the output takes `a`'s element, else `b`'s. */
  readonly cond: DataHandle;
  /** Per output axis, the step in `cond`. */
  readonly condStrides: readonly number[];
}

/**
 * Arguments of {@linkcode Backend.cast}: `size` elements converted from
 * `from` to `to`.
 *
 * @example
 * ```ts
 * import { type CastSpec, CpuBackend } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const x = backend.upload(new Float32Array([-1.7, NaN, 3e9]), "float32");
 * const spec: CastSpec = { x, size: 3, from: "float32", to: "int32" };
 * console.log(backend.readSync(backend.cast(spec), "int32", 3));
 * // Int32Array(3) [ -1, 0, 2147483647 ] (truncates; NaN → 0; saturates)
 * ```
 */
export interface CastSpec {
  /** The input buffer. */
  readonly x: DataHandle;
  /** How many elements. */
  readonly size: number;
  /** The input's dtype. */
  readonly from: DType;
  /** The output's dtype. */
  readonly to: DType;
}

/**
 * Arguments of {@linkcode Backend.reduce} and {@linkcode Backend.logsumexp}
 * (which leaves out `op`): `x` viewed as `[outer, n, inner]`, reduced over
 * its middle axis to `[outer, inner]`.
 *
 * @example
 * ```ts
 * import { CpuBackend, type ReduceSpec } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * // A [2, 2] matrix seen as [outer 1, n 2, inner 2]: sum each column.
 * const x = backend.upload(new Float32Array([1, 2, 3, 4]), "float32");
 * const spec: ReduceSpec = { op: "sum", x, outer: 1, n: 2, inner: 2, dtype: "float32" };
 * console.log(backend.readSync(backend.reduce(spec), "float32", 2));
 * // Float32Array(2) [ 4, 6 ]
 * ```
 */
export interface ReduceSpec {
  /** The opcode. */
  readonly op: ReduceOp;
  /** The input buffer. */
  readonly x: DataHandle;
  /** Product of the axes before the reduced ones. */
  readonly outer: number;
  /** Product of the reduced axes. */
  readonly n: number;
  /** Product of the axes after the reduced ones. */
  readonly inner: number;
  /** The input's dtype. */
  readonly dtype: DType;
}

/**
 * Arguments of {@linkcode Backend.logsumexp}: as {@linkcode ReduceSpec},
 * without an opcode.
 *
 * @example
 * ```ts
 * import { CpuBackend, type LogsumexpSpec } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const x = backend.upload(new Float64Array([0, 0]), "float64");
 * const spec: LogsumexpSpec = { x, outer: 1, n: 2, inner: 1, dtype: "float64" };
 * console.log(backend.readSync(backend.logsumexp!(spec), "float64", 1));
 * // Float64Array(1) [ 0.6931471805599453 ] (log 2)
 * ```
 */
export type LogsumexpSpec = Omit<ReduceSpec, "op">;

/**
 * Arguments of {@linkcode Backend.strided}:
 * `out[idx] = x[offset + Σ idx_d·strides_d]` for every index of `outShape`.
 *
 * @example
 * ```ts
 * import { CpuBackend, type StridedSpec } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const x = backend.upload(new Float32Array([1, 2, 3, 4, 5, 6]), "float32"); // [2, 3]
 * // The transpose: [3, 2], stepping 1 along the new rows and 3 along the new columns.
 * const spec: StridedSpec = { x, offset: 0, strides: [1, 3], outShape: [3, 2], dtype: "float32" };
 * console.log(backend.readSync(backend.strided(spec), "float32", 6));
 * // Float32Array(6) [ 1, 4, 2, 5, 3, 6 ]
 * ```
 */
export interface StridedSpec {
  /** The input buffer. */
  readonly x: DataHandle;
  /** Element offset of the output's first element in `x`. */
  readonly offset: number;
  /** Per output axis, the step in `x` (0 broadcasts, negative reverses). */
  readonly strides: readonly number[];
  /** The output's shape. */
  readonly outShape: readonly number[];
  /** The dtype of `x` and the output. */
  readonly dtype: DType;
}

/**
 * Arguments of {@linkcode Backend.scatterStrided}: zeros of `outSize`
 * elements with `out[offset + Σ idx_d·strides_d] = x[idx]` for every index
 * of `xShape`.
 *
 * @example
 * ```ts
 * import { CpuBackend, type ScatterStridedSpec } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const x = backend.upload(new Float32Array([7, 8]), "float32");
 * // Every other element of 5, from the second: the gradient of x[1::2].
 * const spec: ScatterStridedSpec = {
 *   x,
 *   xShape: [2],
 *   offset: 1,
 *   strides: [2],
 *   outSize: 5,
 *   dtype: "float32",
 * };
 * console.log(backend.readSync(backend.scatterStrided(spec), "float32", 5));
 * // Float32Array(5) [ 0, 7, 0, 8, 0 ]
 * ```
 */
export interface ScatterStridedSpec {
  /** The values to place. */
  readonly x: DataHandle;
  /** The shape of `x`. */
  readonly xShape: readonly number[];
  /** Element offset of `x`'s first element in the output. */
  readonly offset: number;
  /** Per axis of `x`, the step in the output (distinct positions). */
  readonly strides: readonly number[];
  /** How many elements the output has. */
  readonly outSize: number;
  /** The dtype of `x` and the output. */
  readonly dtype: DType;
}

/**
 * Arguments of {@linkcode Backend.concat}: input `i` viewed as
 * `[outer, cols[i]]`, the output `[outer, Σ cols]`.
 *
 * @example
 * ```ts
 * import { type ConcatSpec, CpuBackend } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const a = backend.upload(new Int32Array([1, 2]), "int32"); // [2, 1]
 * const b = backend.upload(new Int32Array([3, 4, 5, 6]), "int32"); // [2, 2]
 * const spec: ConcatSpec = { xs: [a, b], cols: [1, 2], outer: 2, dtype: "int32" };
 * console.log(backend.readSync(backend.concat(spec), "int32", 6));
 * // Int32Array(6) [ 1, 3, 4, 2, 5, 6 ]
 * ```
 */
export interface ConcatSpec {
  /** The inputs. */
  readonly xs: readonly DataHandle[];
  /** Per input, its number of columns. */
  readonly cols: readonly number[];
  /** The number of rows of every input and of the output. */
  readonly outer: number;
  /** The dtype of every input and of the output. */
  readonly dtype: DType;
}

/**
 * Arguments of {@linkcode Backend.gather}: `x` is `[outer, n, inner]`,
 * `indices` int32 `[count]`, the output `[outer, count, inner]`.
 *
 * @example
 * ```ts
 * import { CpuBackend, type GatherSpec } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const x = backend.upload(new Float32Array([10, 11, 12]), "float32");
 * const indices = backend.upload(new Int32Array([2, -3, 2]), "int32"); // -3 counts from the end
 * const spec: GatherSpec = { x, indices, outer: 1, n: 3, inner: 1, count: 3, dtype: "float32" };
 * console.log(backend.readSync(backend.gather(spec), "float32", 3));
 * // Float32Array(3) [ 12, 10, 12 ]
 * ```
 */
export interface GatherSpec {
  /** The values, `[outer, n, inner]`. */
  readonly x: DataHandle;
  /** int32 `[count]`, each in `[-n, n)`. */
  readonly indices: DataHandle;
  /** Product of the axes before the indexed one. */
  readonly outer: number;
  /** Length of the indexed axis. */
  readonly n: number;
  /** Product of the axes after the indexed one. */
  readonly inner: number;
  /** How many indices. */
  readonly count: number;
  /** The dtype of `x` and the output. */
  readonly dtype: DType;
}

/**
 * Arguments of {@linkcode Backend.unpackBytes}: rows of 8-bit values
 * stored `k` per float32 (value `c` of a row is `b₀ + 256·b₁ + 65536·b₂`,
 * an integer below 2²⁴ — the storage of `data.CompactImages`), gathered
 * and widened to float32 `[count, k, w]`: plane `j` holds byte `j` of each
 * value, divided by `divisor`.
 *
 * @example
 * ```ts
 * import { CpuBackend, type UnpackBytesSpec } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const x = backend.upload(new Float32Array([7 + 256 * 255, 1]), "float32"); // 2 rows of 1 value
 * const indices = backend.upload(new Int32Array([0]), "int32");
 * const spec: UnpackBytesSpec = { x, indices, n: 2, w: 1, k: 2, count: 1, divisor: 1 };
 * console.log(backend.readSync(backend.unpackBytes!(spec)!, "float32", 2));
 * // Float32Array(2) [ 7, 255 ]
 * ```
 */
export interface UnpackBytesSpec {
  /** float32 `[n, w]`: `k` bytes in each value. */
  readonly x: DataHandle;
  /** int32 `[count]`, each in `[0, n)`. */
  readonly indices: DataHandle;
  /** Rows of `x`. */
  readonly n: number;
  /** Values per row of `x`. */
  readonly w: number;
  /** Bytes per value. */
  readonly k: 1 | 2 | 3;
  /** How many rows to take. */
  readonly count: number;
  /** 255 (bytes to 0..1, `float32(b / 255)`, correctly rounded) or 1 (0..255). */
  readonly divisor: 255 | 1;
}

/**
 * Arguments of {@linkcode Backend.scatterAdd}, the transpose of a gather:
 * `g` is `[outer, count, inner]`, the output `[outer, n, inner]`.
 *
 * @example
 * ```ts
 * import { CpuBackend, type ScatterAddSpec } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const g = backend.upload(new Float32Array([1, 2, 3]), "float32");
 * const indices = backend.upload(new Int32Array([2, 0, 2]), "int32"); // 2 twice: they add up
 * const spec: ScatterAddSpec = { g, indices, outer: 1, n: 3, inner: 1, count: 3, dtype: "float32" };
 * console.log(backend.readSync(backend.scatterAdd(spec), "float32", 3));
 * // Float32Array(3) [ 2, 0, 4 ]
 * ```
 */
export interface ScatterAddSpec extends Omit<GatherSpec, "x"> {
  /** The values to add, `[outer, count, inner]` (`n` is the output's indexed axis). */
  readonly g: DataHandle;
}

/**
 * Arguments of {@linkcode Backend.randomUniform}: `count` floats of `dtype`
 * from the Threefry-2x32 key `key` (int32 `[2]`).
 *
 * @example
 * ```ts
 * import { CpuBackend, type RandomUniformSpec } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const key = backend.upload(new Int32Array([0, 42]), "int32");
 * const spec: RandomUniformSpec = { key, count: 3, dtype: "float32" };
 * const u = backend.readSync(backend.randomUniform(spec), "float32", 3);
 * console.log(u.every((v) => v >= 0 && v < 1)); // true
 * ```
 */
export interface RandomUniformSpec {
  /** The int32 `[2]` key. */
  readonly key: DataHandle;
  /** How many values. */
  readonly count: number;
  /** float32 or float64. */
  readonly dtype: DType;
}

/**
 * Arguments of {@linkcode Backend.argsort}: each row of `x` viewed as
 * `[outer, n]`.
 *
 * @example
 * ```ts
 * import { type ArgsortSpec, CpuBackend } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const x = backend.upload(new Float32Array([3, NaN, 1, 2]), "float32");
 * const spec: ArgsortSpec = { x, outer: 1, n: 4, dtype: "float32" };
 * console.log(backend.readSync(backend.argsort(spec), "int32", 4));
 * // Int32Array(4) [ 2, 3, 0, 1 ] (NaN last)
 * ```
 */
export interface ArgsortSpec {
  /** The values, `[outer, n]`. */
  readonly x: DataHandle;
  /** How many rows. */
  readonly outer: number;
  /** The length of each row. */
  readonly n: number;
  /** The dtype of `x`. */
  readonly dtype: DType;
}

/**
 * Arguments of {@linkcode Backend.fused}: one IR elementwise kernel (a chain
 * of elementwise ops `jit` fused) over every index of `outShape`, operand
 * `k` read at `Σ idx·strides[k]` (0 broadcasts an axis).
 *
 * @example
 * ```ts
 * import type { FusedSpec } from "@gradus/core";
 *
 * // What jit hands a backend for `a * b + c`, `b` a row broadcast down:
 * const spec: Omit<FusedSpec, "kernel" | "inputs"> = {
 *   strides: [[3, 1], [0, 1], [3, 1]],
 *   outShape: [2, 3],
 *   dtype: "float32",
 * };
 * console.log(spec.strides.length); // 3
 * ```
 */
export interface FusedSpec {
  /** The kernel: its operand `k` is `inputs[k]`. */
  readonly kernel: ElementwiseKernel;
  /** The operands. */
  readonly inputs: readonly DataHandle[];
  /** Per operand, per output axis, its step (0 = broadcast). */
  readonly strides: readonly (readonly number[])[];
  /** The output's shape. */
  readonly outShape: readonly number[];
  /** The output's dtype (the kernel's output type). */
  readonly dtype: DType;
}

/**
 * A block of backend memory reserved for one program's intermediates
 * ({@linkcode Backend.reserve}); `jit` places each intermediate at the byte
 * offset its memory plan gives, reusing the block on every call.
 *
 * @example
 * ```ts
 * import { getBackend, type Reservation } from "@gradus/core";
 *
 * // How a jitted program uses one (the wasm backend makes them):
 * function place(r: Reservation): void {
 *   const a = r.view(0, "float32", 16); // 64 bytes at offset 0
 *   const b = r.view(64, "int32", 4); // another value at offset 64
 *   console.log(a !== b, r.bytes >= 80);
 *   r.free(); // when the program is dropped
 * }
 * console.log(typeof place, getBackend()); // "function" "wasm"
 * ```
 */
export interface Reservation {
  /** Its size in bytes. */
  readonly bytes: number;
  /**
   * A buffer of `size` `dtype` elements at byte `offset` of the block, for
   * `writeInto`; it has no owner to count and is never freed on its own.
   */
  view(offset: number, dtype: DType, size: number): DataHandle;
  /** Gives the block back (once); its buffers must not be used after. */
  free(): void;
}

/**
 * Arguments of {@linkcode Backend.fusedReduce}: one IR reduction kernel (a
 * `sum`, `max` or `min` with the elementwise ops `jit` fused into its
 * prologue) over the middle axis of an `[outer, n, inner]` view, giving a
 * new contiguous `[outer, inner]` buffer; operand `k` is read at
 * `o·s₀ + j·s₁ + i·s₂` with `[s₀, s₁, s₂] = strides[k]`. `jit` only hands
 * over operands that are full (`[n·inner, inner, 1]`), the same along the
 * axis (`[inner, 0, 1]`) or scalars (`[0, 0, 0]`), and `n ≥ 1`.
 *
 * @example
 * ```ts
 * import type { FusedReduceSpec } from "@gradus/core";
 *
 * // What jit hands a backend for `sum(x * y, 1)` on [2, 3] and `y` [2, 1]:
 * const spec: Omit<FusedReduceSpec, "kernel" | "inputs"> = {
 *   strides: [[3, 1, 1], [1, 0, 1]],
 *   outer: 2,
 *   n: 3,
 *   inner: 1,
 *   dtype: "float32",
 * };
 * console.log(spec.strides.length); // 2
 * ```
 */
export interface FusedReduceSpec {
  /** The kernel: its operand `k` is `inputs[k]`. */
  readonly kernel: ReduceKernel;
  /** The operands. */
  readonly inputs: readonly DataHandle[];
  /** Per operand, its steps along the outer, reduced and inner axes. */
  readonly strides: readonly (readonly [number, number, number])[];
  /** Product of the axes before the reduced ones. */
  readonly outer: number;
  /** Product of the reduced axes (at least 1). */
  readonly n: number;
  /** Product of the axes after the reduced ones. */
  readonly inner: number;
  /** The output's dtype (the kernel's output type). */
  readonly dtype: DType;
}

/**
 * Where a stage of a {@linkcode FusedSequenceSpec} reads an operand: one of
 * the sequence's inputs, or the result of an earlier stage.
 *
 * @example
 * ```ts
 * import type { SequenceRef } from "@gradus/core";
 *
 * const refs: SequenceRef[] = [{ input: 0 }, { stage: 1 }];
 * console.log(refs.length); // 2
 * ```
 */
export type SequenceRef = { readonly input: number } | { readonly stage: number };

/**
 * One stage of a {@linkcode FusedSequenceSpec}: an IR elementwise kernel over
 * `outShape` (operand `k` read at `Σ idx·strides[k]`), or an IR reduction
 * kernel over the middle axis of `[outer, n, inner]` (operand `k` read at
 * `o·s₀ + j·s₁ + i·s₂`, any steps).
 *
 * @example
 * ```ts
 * import type { SequenceStage } from "@gradus/core";
 *
 * const kinds: SequenceStage["kind"][] = ["elementwise", "reduce"];
 * console.log(kinds.length); // 2
 * ```
 */
export type SequenceStage =
  | {
    /** An elementwise stage. */
    readonly kind: "elementwise";
    /** The kernel: its operand `k` is `operands[k]`. */
    readonly kernel: ElementwiseKernel;
    /** Where each operand comes from. */
    readonly operands: readonly SequenceRef[];
    /** Per operand, its strides over `outShape`. */
    readonly strides: readonly (readonly number[])[];
    /** The output's shape. */
    readonly outShape: readonly number[];
    /** The output's dtype. */
    readonly dtype: DType;
  }
  | {
    /** A reduction stage. */
    readonly kind: "reduce";
    /** The kernel: its operand `k` is `operands[k]`. */
    readonly kernel: ReduceKernel;
    /** Where each operand comes from. */
    readonly operands: readonly SequenceRef[];
    /** Per operand, its steps along the outer, reduced and inner axes. */
    readonly strides: readonly (readonly [number, number, number])[];
    /** Product of the axes before the reduced ones. */
    readonly outer: number;
    /** Product of the reduced axes (at least 1). */
    readonly n: number;
    /** Product of the axes after the reduced ones. */
    readonly inner: number;
    /** The output's dtype. */
    readonly dtype: DType;
  };

/**
 * Arguments of {@linkcode Backend.fusedSequence}: small kernels that `jit`
 * found one after the other in a program, to run as one launch, in order,
 * each stage seeing the results of the stages before it. `outputs` lists the
 * stages whose results the program reads afterwards; the others are the
 * sequence's own.
 *
 * @example
 * ```ts
 * import type { FusedSequenceSpec } from "@gradus/core";
 *
 * const spec: Omit<FusedSequenceSpec, "inputs" | "stages"> = { outputs: [1, 3] };
 * console.log(spec.outputs); // [ 1, 3 ]
 * ```
 */
export interface FusedSequenceSpec {
  /** The buffers the stages read from outside the sequence. */
  readonly inputs: readonly DataHandle[];
  /** The stages, in order. */
  readonly stages: readonly SequenceStage[];
  /** The stages whose results are returned, in this order. */
  readonly outputs: readonly number[];
}

/**
 * One kernel call as {@linkcode Backend.record} saw it: the buffers it read
 * and the one it wrote, and the same call again. A program's executor runs a
 * recorded equation with `again`, skipping the primitive's checks, specs and
 * kernel lookups (they depend only on shapes, which a program fixes).
 *
 * @example
 * ```ts
 * import type { Backend, DataHandle, KernelLaunch } from "@gradus/core";
 *
 * // How a program's executor uses one (the wasm backend records them):
 * function twice(backend: Backend, body: () => DataHandle): DataHandle | null {
 *   const { value, launches } = backend.record!(body);
 *   if (launches?.length !== 1) return value; // not one replayable kernel
 *   const launch: KernelLaunch = launches[0];
 *   return launch.again(launch.reads, null); // the same kernel, a new output
 * }
 * console.log(typeof twice); // "function"
 * ```
 */
export interface KernelLaunch {
  /** The buffers the kernel read, in the order `again` takes them. */
  readonly reads: readonly DataHandle[];
  /** The buffer it wrote. */
  readonly wrote: DataHandle;
  /**
   * Runs the same kernel on `reads` (buffers of the recorded ones' dtypes
   * and sizes) and returns the buffer written: `into` where it fits (as
   * `Backend.writeInto` places it), else a new one; null when it cannot run
   * now (the caller then runs the primitive).
   */
  again(reads: readonly DataHandle[], into: DataHandle | null): DataHandle | null;
}

/**
 * Arguments of {@linkcode Backend.matmulEpilogue}: the float32 product
 * `a @ b` of `matmul` (same geometry), each element `c` of it stored as
 * `kernel(c, inputs[0][…], inputs[1][…], …)` (the kernel's operand 0 is the
 * product's element, operand `k + 1` is `inputs[k]`), read at
 * `Σ idx·strides[k]` over the output's shape `[...batchShape, m, n]`.
 *
 * @example
 * ```ts
 * import type { MatmulEpilogueSpec } from "@gradus/core";
 *
 * // What jit hands a backend for `tanh(x @ w + b)`, x [8, 4], w [4, 3], b [3]:
 * const spec: Omit<MatmulEpilogueSpec, "kernel" | "a" | "b" | "inputs"> = {
 *   matmul: { batchShape: [], aBatchStrides: [], bBatchStrides: [], m: 8, k: 4, n: 3 },
 *   strides: [[0, 1]], // b: one row, broadcast down the rows
 *   dtype: "float32",
 * };
 * console.log(spec.matmul.m * spec.matmul.n); // 24
 * ```
 */
export interface MatmulEpilogueSpec {
  /** The left operand (as for `matmul`). */
  readonly a: DataHandle;
  /** The right operand. */
  readonly b: DataHandle;
  /** The product's geometry. */
  readonly matmul: MatmulSpec;
  /** The epilogue: operand 0 the product's element (f32), operand `k + 1` is `inputs[k]`. */
  readonly kernel: ElementwiseKernel;
  /** The epilogue's other operands. */
  readonly inputs: readonly DataHandle[];
  /** Per input, per output axis, its step (0 = broadcast). */
  readonly strides: readonly (readonly number[])[];
  /** The output's dtype (the kernel's output type). */
  readonly dtype: DType;
}

/**
 * An op as `jit`'s fusion pass asks a backend about it
 * ({@linkcode Backend.fusible}): `op` is a unary or binary opcode, `"where"`,
 * `"cast"`, or a reduction (`"sum"`, `"max"`, `"min"`, asked only of a
 * backend with `fusedReduce`); `dtype` is its (value) operands' dtype, `to`
 * a cast's target.
 *
 * @example
 * ```ts
 * import type { FusibleOp } from "@gradus/core";
 *
 * const op: FusibleOp = { op: "cast", dtype: "float32", to: "int32" };
 * console.log(op.op); // "cast"
 * ```
 */
export interface FusibleOp {
  /** A unary or binary opcode, `"where"`, `"cast"` or a reduction. */
  readonly op: UnaryOp | BinaryOp | "where" | "cast" | "sum" | "max" | "min";
  /** The dtype of its operands (the values for `where`). */
  readonly dtype: DType;
  /** A cast's target dtype. */
  readonly to?: DType;
}

/**
 * A compute backend. Implementations: `cpu` (typed arrays and JS loops, the
 * reference), `wasm` and `webgpu`. Kernels with more than a few arguments
 * take one record (`unary({ op, x, size, dtype })`, …; see the `*Spec`
 * types). Sizes are element counts; all buffers are row-major. A backend
 * may assume that the ops layer validated every argument (shapes agree,
 * dtypes are supported by the op).
 *
 * @example
 * ```ts
 * import { type Backend, CpuBackend } from "@gradus/core";
 *
 * // The contract every backend meets; CpuBackend is the reference implementation.
 * const backend: Backend = new CpuBackend();
 * const x = backend.upload(new Float64Array([0, 1]), "float64");
 * const y = backend.unary({ op: "exp", x, size: 2, dtype: "float64" });
 * console.log(backend.name, backend.dtypes, await backend.read(y, "float64", 2));
 * // "cpu" [ "float32", "float64", "int32", "bool" ] Float64Array(2) [ 1, 2.718281828459045 ]
 * ```
 */
export interface Backend {
  /** The name used by `setBackend`. */
  readonly name: string;
  /** The dtypes this backend can store and compute with. */
  readonly dtypes: readonly DType[];
  /** Whether `readSync` works (false on WebGPU). */
  readonly canReadSync: boolean;
  /**
   * Whether `matmul` reads operands stored transposed (`MatmulSpec.transA`
   * and `transB`). Without it the ops layer transposes such operands first.
   */
  readonly matmulTransposes?: boolean;

  /**
   * Takes ownership of `values` (the caller never touches it again) and
   * returns a handle to a buffer holding them. A backend may keep the array
   * as the buffer (cpu), or copy it and free its memory at once (wasm and
   * webgpu detach large arrays, leaving them empty).
   */
  upload(values: TypedArray, dtype: DType): DataHandle;
  /** Copies a buffer back to the host. The returned array is fresh: callers may keep or mutate it. */
  read(x: DataHandle, dtype: DType, size: number): Promise<TypedArray>;
  /** Like `read`, synchronously; throws on backends where `canReadSync` is false. */
  readSync(x: DataHandle, dtype: DType, size: number): TypedArray;
  /**
   * Optional, for backends that cannot read synchronously: the values of a
   * buffer when the backend still has them on the host (e.g. small int32
   * uploads, such as labels and indices), so the ops layer can check them
   * without a device round trip; else null. The array must not be modified.
   */
  hostValues?(x: DataHandle, dtype: DType, size: number): TypedArray | null;
  /**
   * Releases a buffer early. Using the handle afterwards is an error. Optional to call.
   * `owner` is the tensor giving up the buffer (`Tensor.dispose` passes
   * itself), for backends that share one buffer between several tensors
   * (see `track`): such a backend releases the buffer once its last owner is
   * gone.
   */
  dispose(x: DataHandle, owner?: object): void;
  /**
   * Optional. Called by the core for every tensor made around a handle
   * (`owner` is the tensor; several tensors may share one handle, e.g. after
   * `reshape`), so the backend can release the buffer when all of its owners
   * were garbage-collected or disposed (typically with a
   * `FinalizationRegistry` keyed by the owner). Backends whose buffers are
   * plain garbage-collected memory leave it out.
   */
  track?(owner: object, handle: DataHandle): void;
  /**
   * Optional. The backend's own memory limit and use in a few words (e.g.
   * the `wasm` backend's WebAssembly memory), which out-of-memory errors
   * quote after the op, shape and bytes.
   */
  memoryInfo?(): string;

  /** A new buffer of `size` elements, all equal to `value` (cast to `dtype` as `cast` does). */
  fill(size: number, value: number, dtype: DType): DataHandle;
  /** `out[i] = op(x[i])`; the output dtype is `dtype`, except bool for `logicalNot`. */
  unary(spec: UnarySpec): DataHandle;
  /**
   * `out[idx] = op(a[Σ idx·aStrides], b[Σ idx·bStrides])` over every index of
   * `outShape`. `dtype` is the inputs' dtype; comparisons produce bool.
   */
  binary(spec: BinarySpec): DataHandle;
  /** `out[idx] = cond[…] ? a[…] : b[…]` with broadcast strides as in `binary`. `cond` is bool. */
  where(spec: WhereSpec): DataHandle;
  /**
   * Converts dtypes. Float → int32 follows XLA's rule, the same on every
   * backend: NaN → 0; values at or beyond the int32 bounds (±∞ included)
   * saturate to -2147483648 or 2147483647; everything else truncates toward
   * zero (never a wrap modulo 2³²). Anything → bool is `x != 0`; bool →
   * number is 0 or 1; float64 → float32 rounds to nearest.
   */
  cast(spec: CastSpec): DataHandle;
  /**
   * Optional fused `log Σ exp` over the middle axis of `x` viewed as
   * `[outer, n, inner]` (float dtypes, `n ≥ 1`), giving `[outer, inner]`:
   * shifted by the maximum, a non-finite maximum replaced by 0. Without it
   * the ops layer composes it from `reduce` and elementwise kernels.
   */
  logsumexp?(spec: LogsumexpSpec): DataHandle;
  /**
   * Optional, with `fused`: whether this backend's eager kernel for `op` is
   * the IR kernel of `src/backend/ir/ops.ts`, so that fusing it into a
   * bigger IR kernel gives bit-identical results.
   */
  fusible?(op: FusibleOp): boolean;
  /** Optional, with `fused`: the most operands one fused kernel may load. */
  readonly maxFusedInputs?: number;
  /**
   * Optional, with `fusedReduce`: whether one fused reduction can load
   * operands of these element counts and write an output of `outSize`
   * elements (WebGPU binds every segment of each, and a device allows only
   * so many bindings); absent, any that `maxFusedInputs` allows.
   */
  fusedReduceFits?(operandSizes: readonly number[], outSize: number): boolean;
  /**
   * Optional, with `fused`: true when a kernel launch costs more than
   * recomputing a few elementwise ops (a GPU, where each launch is a
   * dispatch), so `jit` fuses an elementwise result into every kernel that
   * reads it, recomputing it there, rather than storing it once for all.
   */
  readonly fusionRecomputes?: boolean;
  /**
   * Optional: runs one IR elementwise kernel (ops `jit` fused); null when it
   * cannot here and now (the caller then runs the ops one by one).
   */
  fused?(spec: FusedSpec): DataHandle | null;
  /**
   * Optional: runs `body` — any synchronous sequence of calls on this
   * backend — as one unit of device work and returns its result. Results
   * are the same as without it; only when the work is handed to the device
   * changes. `webgpu` records every dispatch inside into one command
   * encoder and submits it once when `body` returns or throws (earlier
   * when a read inside needs the results); buffers released inside are
   * reused by later kernels but never overwritten by an upload before the
   * pending work ran. Nested calls join the outermost one. `jit` runs a
   * whole program inside one call. Backends that run kernels at once (cpu,
   * wasm) leave it out; callers write `backend.batch ? backend.batch(f) : f()`.
   *
   * @param body The kernel calls.
   * @returns What `body` returns.
   *
   * @example
   * ```ts
   * import { type Backend, CpuBackend } from "@gradus/core";
   *
   * const inOneUnit = <T>(b: Backend, f: () => T): T => b.batch ? b.batch(f) : f();
   * const backend: Backend = new CpuBackend();
   * const x = backend.upload(new Float32Array([1, 4]), "float32");
   * const y = inOneUnit(backend, () => {
   *   const s = backend.unary({ op: "sqrt", x, size: 2, dtype: "float32" });
   *   return backend.binary({
   *     op: "add", a: s, aStrides: [1], b: s, bStrides: [1], outShape: [2], dtype: "float32",
   *   });
   * });
   * console.log(await backend.read(y, "float32", 2)); // Float32Array(2) [ 2, 4 ]
   * ```
   */
  batch?<T>(body: () => T): T;
  /**
   * Optional: runs one IR reduction kernel (a reduction with the
   * elementwise ops `jit` fused into it; `fusible` says which reductions);
   * null when it cannot here and now (the caller then runs the ops one by
   * one).
   */
  fusedReduce?(spec: FusedReduceSpec): DataHandle | null;
  /**
   * Optional, with `fusedReduce`: the dtypes the operands of a fused
   * reduction may have (every dtype when absent).
   */
  readonly fusedReduceLoads?: readonly DType[];
  /**
   * Optional: runs small kernels (see {@linkcode FusedSequenceSpec}) as one
   * launch, where each launch costs much more than the work (a software
   * adapter runs a dispatch in some 0.15 ms); gives the `outputs` stages'
   * results, or null when it cannot here and now (the caller then runs the
   * equations one by one). `jit` forms sequences only on a backend with
   * this hook, and only of kernels up to `SEQUENCE_LIMITS` in size.
   */
  fusedSequence?(spec: FusedSequenceSpec): DataHandle[] | null;
  /**
   * Optional, with `fusedSequence`: the most buffers one sequence may bind
   * (its inputs, its outputs and one for the rest).
   */
  readonly sequenceBindings?: number;
  /**
   * Optional: a float32 matrix product whose elements go through an IR
   * elementwise kernel before they are stored (a bias add, an activation:
   * what `jit` fused after the product), in one kernel; null when it cannot
   * here and now (the caller then runs the product and the ops after it).
   */
  matmulEpilogue?(spec: MatmulEpilogueSpec): DataHandle | null;
  /**
   * Optional (`jit`'s memory plan): reserves `bytes` for one program's
   * intermediates, kept until the reservation's `free()`; null when it
   * cannot (the program then allocates as eager code does).
   */
  reserve?(bytes: number): Reservation | null;
  /**
   * Optional, with `reserve`: runs `body` (one primitive's kernels) so that
   * the new buffer its kernel makes is `out` — a buffer of a reservation, or
   * a donated tensor's buffer that no other tensor owns — when dtype and
   * size match; else the kernel makes a new one as usual. Returns what
   * `body` returns.
   */
  writeInto?<T>(out: DataHandle, body: () => T): T;
  /**
   * Optional, with `writeInto`: runs `body` (one primitive's kernels) and
   * records the kernels it ran, so that a program can run them again on
   * other buffers without going through the primitive (see
   * {@linkcode KernelLaunch}). `launches` is null when something in `body`
   * cannot be replayed that way: a kernel that checks its operands' values
   * on the host (indices), or one that is not the backend's own.
   */
  record?<T>(body: () => T): { value: T; launches: readonly KernelLaunch[] | null };
  /**
   * Reduces the middle axis of `x` viewed as `[outer, n, inner]`, giving
   * `[outer, inner]`. Output dtype: `dtype` for `sum`/`max`/`min` (int32 for
   * `sum` of bool), int32 for `argmax`/`argmin`. `n` is at least 1 for
   * `max`/`min`/`arg*`; `sum` over `n = 0` gives zeros.
   */
  reduce(spec: ReduceSpec): DataHandle;
  /** Batched `a @ b`: `a` is `[...aBatch, m, k]`, `b` is `[...bBatch, k, n]`, output `[...batchShape, m, n]`. */
  matmul(a: DataHandle, b: DataHandle, spec: MatmulSpec, dtype: DType): DataHandle;
  /**
   * A strided gather that implements transpose, broadcast and slice:
   * `out[idx] = x[offset + Σ idx_d·strides_d]` for every index of `outShape`.
   * Strides may be 0 (broadcast) or negative (reversed slice).
   */
  strided(spec: StridedSpec): DataHandle;
  /**
   * The inverse of `strided` for distinct positions: a zero buffer of
   * `outSize` elements with `out[offset + Σ idx_d·strides_d] = x[idx]` for
   * every index of `xShape` (used for the gradient of a slice).
   */
  scatterStrided(spec: ScatterStridedSpec): DataHandle;
  /**
   * Concatenates along the column axis: input `i` is viewed as
   * `[outer, cols[i]]`, the output is `[outer, Σ cols]`.
   */
  concat(spec: ConcatSpec): DataHandle;
  /**
   * Gather along the middle axis: `x` is `[outer, n, inner]`, `indices` is
   * int32 `[count]` (negative values count from the end), output
   * `[outer, count, inner]`. An index outside `[-n, n)` is never clamped or
   * wrapped: it throws a RangeError wherever the backend knows the indices
   * on the host, and otherwise (indices computed on a device) gathers a
   * fill value: NaN for floats, −2³¹ for int32, `true` for bool.
   */
  gather(spec: GatherSpec): DataHandle;
  /**
   * Optional: packed bytes gathered and widened to float32 in one pass
   * (see {@linkcode UnpackBytesSpec}), what `data.CompactImages` makes
   * every batch with; null when it cannot here (the caller then runs the
   * same as a program of ops).
   */
  unpackBytes?(spec: UnpackBytesSpec): DataHandle | null;
  /**
   * The transpose of `gather`: `g` is `[outer, count, inner]`, output
   * `[outer, n, inner]` zeros with `out[o, indices[c], i] += g[o, c, i]`
   * (repeated indices accumulate). Out-of-range indices as in `gather`: a
   * RangeError where known on the host, otherwise they add nothing.
   */
  scatterAdd(spec: ScatterAddSpec): DataHandle;
  /**
   * `count` pseudo-random 32-bit words (stored as int32) from a Threefry-2x32
   * key (`key` is int32 `[2]`). Word `i` is word `i % 2` of
   * `threefry2x32(key, [0, offset + floor(i / 2)])` (`offset` defaults to 0;
   * the blocks stay below 2³²), so results never depend on call order and
   * every backend produces the same bits.
   */
  randomBits(key: DataHandle, count: number, offset?: number): DataHandle;
  /**
   * `count` uniform floats in `[0, 1)` from the same stream as `randomBits`:
   * float32 element `i` is `(word_i >>> 8) · 2⁻²⁴`; float64 element `i` uses
   * words `2i` and `2i+1`: `((w₀ >>> 5) · 2²⁶ + (w₁ >>> 6)) · 2⁻⁵³`.
   */
  randomUniform(spec: RandomUniformSpec): DataHandle;
  /**
   * Stable ascending argsort of each row of `x` viewed as `[outer, n]`;
   * output int32 `[outer, n]`. NaN sorts last.
   */
  argsort(spec: ArgsortSpec): DataHandle;
}
