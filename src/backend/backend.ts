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
 * @module
 */

import type { DType, TypedArray } from "../core/dtype.ts";

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
 * Elementwise unary opcodes. Float ops (`exp`, `log`, `log1p`, `expm1`,
 * `sqrt`, `sin`, `cos`, `tanh`, `floor`, `ceil`, `round`) only ever see float
 * dtypes; `neg`, `abs`, `sign` and `square` also see int32; `not` sees bool.
 * `round` rounds half to even, like NumPy.
 *
 * @example
 * ```ts
 * import { CpuBackend, type UnaryOp } from "@gradus/core";
 *
 * const backend = new CpuBackend();
 * const x = backend.upload(new Float32Array([-1.5, 2.5]), "float32");
 * for (const op of ["abs", "round", "neg"] as UnaryOp[]) {
 *   console.log(op, backend.readSync(backend.unary(op, x, 2, "float32"), "float32", 2));
 * }
 * // abs [1.5, 2.5]; round [-2, 2] (half to even); neg [1.5, -2.5]
 * ```
 */
export type UnaryOp =
  | "neg"
  | "exp"
  | "log"
  | "log1p"
  | "expm1"
  | "sqrt"
  | "sin"
  | "cos"
  | "tanh"
  | "abs"
  | "sign"
  | "square"
  | "floor"
  | "ceil"
  | "round"
  | "not";

/**
 * Elementwise binary opcodes. Arithmetic ops see float32, float64 and int32
 * (int32 results wrap modulo 2³²: `add`, `sub`, `mul`, and `pow`, which is
 * the exact power modulo 2³², with `trunc(1 / aⁿ)` for a negative exponent;
 * `div` is never sent with int32). Comparisons see every dtype and produce
 * bool. `and`/`or` see bool only.
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
 * const out = backend.binary(op, a, [1], b, [0], [3], "float32");
 * console.log(backend.readSync(out, "float32", 3)); // Float32Array(3) [ 11, 12, 13 ]
 * ```
 */
export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "maximum"
  | "minimum"
  | "equal"
  | "notEqual"
  | "greater"
  | "greaterEqual"
  | "less"
  | "lessEqual"
  | "and"
  | "or";

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
 * const out = backend.reduce(op, x, 2, 3, 1, "float32");
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
 * A compute backend. Implementations: `cpu` (typed arrays, the reference);
 * later `wasm` and `webgpu`. Sizes are element counts; all buffers are
 * row-major. A backend may assume that the ops layer validated every
 * argument (shapes agree, dtypes are supported by the op).
 *
 * @example
 * ```ts
 * import { type Backend, CpuBackend } from "@gradus/core";
 *
 * // The contract every backend meets; CpuBackend is the reference implementation.
 * const backend: Backend = new CpuBackend();
 * const x = backend.upload(new Float64Array([0, 1]), "float64");
 * const y = backend.unary("exp", x, 2, "float64");
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
  /** `out[i] = op(x[i])`, `outDtype` is `dtype` except for `not` (bool). */
  unary(op: UnaryOp, x: DataHandle, size: number, dtype: DType): DataHandle;
  /**
   * `out[idx] = op(a[Σ idx·aStrides], b[Σ idx·bStrides])` over every index of
   * `outShape`. `dtype` is the inputs' dtype; comparisons produce bool.
   */
  binary(
    op: BinaryOp,
    a: DataHandle,
    aStrides: readonly number[],
    b: DataHandle,
    bStrides: readonly number[],
    outShape: readonly number[],
    dtype: DType,
  ): DataHandle;
  /** `out[idx] = cond[…] ? a[…] : b[…]` with broadcast strides as in `binary`. `cond` is bool. */
  where(
    cond: DataHandle,
    condStrides: readonly number[],
    a: DataHandle,
    aStrides: readonly number[],
    b: DataHandle,
    bStrides: readonly number[],
    outShape: readonly number[],
    dtype: DType,
  ): DataHandle;
  /**
   * Converts dtypes. Float → int32 follows XLA's rule, the same on every
   * backend: NaN → 0; values at or beyond the int32 bounds (±∞ included)
   * saturate to -2147483648 or 2147483647; everything else truncates toward
   * zero (never a wrap modulo 2³²). Anything → bool is `x != 0`; bool →
   * number is 0 or 1; float64 → float32 rounds to nearest.
   */
  cast(x: DataHandle, size: number, from: DType, to: DType): DataHandle;
  /**
   * Optional fused `log Σ exp` over the middle axis of `x` viewed as
   * `[outer, n, inner]` (float dtypes, `n ≥ 1`), giving `[outer, inner]`:
   * shifted by the maximum, a non-finite maximum replaced by 0. Without it
   * the ops layer composes it from `reduce` and elementwise kernels.
   */
  logsumexp?(x: DataHandle, outer: number, n: number, inner: number, dtype: DType): DataHandle;
  /**
   * Reduces the middle axis of `x` viewed as `[outer, n, inner]`, giving
   * `[outer, inner]`. Output dtype: `dtype` for `sum`/`max`/`min` (int32 for
   * `sum` of bool), int32 for `argmax`/`argmin`. `n` is at least 1 for
   * `max`/`min`/`arg*`; `sum` over `n = 0` gives zeros.
   */
  reduce(
    op: ReduceOp,
    x: DataHandle,
    outer: number,
    n: number,
    inner: number,
    dtype: DType,
  ): DataHandle;
  /** Batched `a @ b`: `a` is `[...aBatch, m, k]`, `b` is `[...bBatch, k, n]`, output `[...batchShape, m, n]`. */
  matmul(a: DataHandle, b: DataHandle, spec: MatmulSpec, dtype: DType): DataHandle;
  /**
   * A strided gather that implements transpose, broadcast and slice:
   * `out[idx] = x[offset + Σ idx_d·strides_d]` for every index of `outShape`.
   * Strides may be 0 (broadcast) or negative (reversed slice).
   */
  strided(
    x: DataHandle,
    offset: number,
    strides: readonly number[],
    outShape: readonly number[],
    dtype: DType,
  ): DataHandle;
  /**
   * The inverse of `strided` for distinct positions: a zero buffer of
   * `outSize` elements with `out[offset + Σ idx_d·strides_d] = x[idx]` for
   * every index of `xShape` (used for the gradient of a slice).
   */
  scatterStrided(
    x: DataHandle,
    xShape: readonly number[],
    offset: number,
    strides: readonly number[],
    outSize: number,
    dtype: DType,
  ): DataHandle;
  /**
   * Concatenates along the column axis: input `i` is viewed as
   * `[outer, cols[i]]`, the output is `[outer, Σ cols]`.
   */
  concat(
    xs: readonly DataHandle[],
    cols: readonly number[],
    outer: number,
    dtype: DType,
  ): DataHandle;
  /**
   * Gather along the middle axis: `x` is `[outer, n, inner]`, `indices` is
   * int32 `[count]` (negative values count from the end), output
   * `[outer, count, inner]`. An index outside `[-n, n)` is never clamped or
   * wrapped: it throws a RangeError wherever the backend knows the indices
   * on the host, and otherwise (indices computed on a device) gathers a
   * fill value: NaN for floats, −2³¹ for int32, `true` for bool.
   */
  gather(
    x: DataHandle,
    indices: DataHandle,
    outer: number,
    n: number,
    inner: number,
    count: number,
    dtype: DType,
  ): DataHandle;
  /**
   * The transpose of `gather`: `g` is `[outer, count, inner]`, output
   * `[outer, n, inner]` zeros with `out[o, indices[c], i] += g[o, c, i]`
   * (repeated indices accumulate). Out-of-range indices as in `gather`: a
   * RangeError where known on the host, otherwise they add nothing.
   */
  scatterAdd(
    g: DataHandle,
    indices: DataHandle,
    outer: number,
    n: number,
    inner: number,
    count: number,
    dtype: DType,
  ): DataHandle;
  /**
   * `count` pseudo-random 32-bit words (stored as int32) from a Threefry-2x32
   * key (`key` is int32 `[2]`). Word `i` is word `i % 2` of
   * `threefry2x32(key, [0, floor(i / 2)])`, so results never depend on call
   * order and every backend produces the same bits.
   */
  randomBits(key: DataHandle, count: number): DataHandle;
  /**
   * `count` uniform floats in `[0, 1)` from the same stream as `randomBits`:
   * float32 element `i` is `(word_i >>> 8) · 2⁻²⁴`; float64 element `i` uses
   * words `2i` and `2i+1`: `((w₀ >>> 5) · 2²⁶ + (w₁ >>> 6)) · 2⁻⁵³`.
   */
  randomUniform(key: DataHandle, count: number, dtype: DType): DataHandle;
  /**
   * Stable ascending argsort of each row of `x` viewed as `[outer, n]`;
   * output int32 `[outer, n]`. NaN sorts last.
   */
  argsort(x: DataHandle, outer: number, n: number, dtype: DType): DataHandle;
}
