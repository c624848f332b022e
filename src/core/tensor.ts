/**
 * The immutable `Tensor`: a shape, a dtype, and either a buffer on a backend
 * (a concrete tensor) or a value being traced by a transformation (`grad`,
 * `vjp`, `jvp`).
 *
 * @module
 */

import type { Backend, DataHandle } from "../backend/backend.ts";
import type { DType, TypedArray } from "./dtype.ts";
import type { Shape } from "./shape.ts";
import { sizeOf } from "./shape.ts";
import { formatTensor } from "./format.ts";
import type { CumsumOptions, ReduceOptions, VarianceOptions } from "./op_options.ts";

/**
 * A number, or nested arrays of numbers: what `array()` returns (bool reads as 0/1).
 *
 * @example
 * ```ts
 * import { type NestedArray, tensor } from "@gradus/core";
 *
 * const rows: NestedArray = tensor([[1, 2], [3, 4]]).arraySync();
 * console.log(rows); // [ [ 1, 2 ], [ 3, 4 ] ]
 * ```
 */
export type NestedArray = number | NestedArray[];

/**
 * Something an op accepts where a tensor goes: a tensor or a plain JS
 * number/boolean (it takes the other input's dtype).
 *
 * @example
 * ```ts
 * import { add, type Tensor, type TensorLike, tensor } from "@gradus/core";
 *
 * // A function that, like the ops, takes tensors or plain numbers.
 * const addOne = (x: TensorLike): Tensor => add(x, 1);
 * console.log(addOne(2).arraySync(), addOne(tensor([1, 2])).arraySync()); // 3 [2, 3]
 * ```
 */
export type TensorLike = Tensor | number | boolean;

/**
 * What a tracer knows of the transformation tracing it (JVP or VJP): its
 * level and whether it has returned. Levels nest: the innermost
 * transformation has the highest level. The part that processes ops,
 * `Transformation`, lives with the primitives (src/ops/primitive.ts), so
 * this layer does not depend on them.
 * @internal
 */
export interface Trace {
  /** Nesting depth; higher is more inner. */
  readonly level: number;
  /** Set when the transformation returned; its tracers then act as their primal values. */
  done: boolean;
  /**
   * For transformations whose tracers carry no value (`jit`'s abstract
   * tracers, `_primal === null`): the error for reading one with `op`.
   */
  abstractError?(op: string, shape: Shape, dtype: DType): Error;
  /**
   * Whether this transformation's tracers stand for more than their value
   * one level down (`vmap`: the primal holds the whole batch): reading one
   * is then the `abstractError` too.
   */
  readonly opaque?: boolean;
}

/**
 * An immutable n-dimensional array.
 *
 * Make tensors with `tensor`, `zeros`, `ones`, `arange`, … and combine them
 * with ops (`add(a, b)` or `a.add(b)`). No op ever changes a tensor: every op
 * returns a new one. Values come back to JS only when asked for, with
 * `await t.data()`, `await t.array()` or `await t.item()` (or the `…Sync`
 * variants on backends that allow synchronous reads, like the CPU).
 *
 * @example
 * ```ts
 * import { tensor } from "@gradus/core";
 * const x = tensor([[1, 2], [3, 4]]);
 * const y = x.mul(2).add(1);
 * console.log(y.shape, y.dtype); // [2, 2] "float32"
 * console.log(await y.array()); // [[3, 5], [7, 9]]
 * console.log(y.toString()); // [[3. 5.]\n [7. 9.]]
 * ```
 */
export class Tensor {
  /**
   * The size of each axis; `[]` for a scalar. A frozen array of the tensor's
   * own: no other tensor and no array a caller passed in shares it, and
   * changing it throws (in strict mode) or does nothing.
   */
  readonly shape: Shape;
  /** The element type. */
  readonly dtype: DType;
  /** @internal The backend holding the buffer (concrete tensors only). */
  readonly _backend: Backend | null;
  /** @internal The backend's buffer (concrete tensors only). */
  readonly _data: DataHandle;
  /** @internal The transformation tracing this value, or null for a concrete tensor. */
  readonly _trace: Trace | null;
  /** @internal For tracers: the value one level down. */
  readonly _primal: Tensor | null;
  /** @internal For JVP tracers: the tangent (null means zero). */
  readonly _tangent: Tensor | null;
  /** @internal For VJP tracers: the slot on the tape. */
  readonly _id: number;
  #disposed = false;

  /** @internal Use `tensor()`, `zeros()`, … to make tensors. */
  constructor(
    shape: Shape,
    dtype: DType,
    backend: Backend | null,
    data: DataHandle,
    trace: Trace | null,
    primal: Tensor | null,
    tangent: Tensor | null,
    id: number,
  ) {
    this.shape = Object.freeze(shape.slice());
    this.dtype = dtype;
    this._backend = backend;
    this._data = data;
    this._trace = trace;
    this._primal = primal;
    this._tangent = tangent;
    this._id = id;
  }

  /** Number of axes. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** The name of the backend this tensor's value lives on. */
  get backend(): string {
    return backendOfTensor(this).name;
  }

  /**
   * A fresh typed-array copy of the values (row-major). Inside `grad`/`vjp`/
   * `jvp` this reads the value being traced.
   *
   * @returns Float32Array, Float64Array, Int32Array or Uint8Array (bool).
   * @example
   * ```ts
   * import { tensor } from "@gradus/core";
   * console.log(await tensor([1, 2, 3]).data()); // Float32Array [1, 2, 3]
   * ```
   */
  data(): Promise<TypedArray> {
    // A value jit is tracing throws at once (tracing is synchronous).
    const c = concreteOf(this, "data");
    return c.#read();
  }

  /**
   * Synchronous `data()`; throws on backends that cannot read synchronously
   * (WebGPU).
   *
   * @returns A fresh typed-array copy of the values.
   * @example
   * ```ts
   * import { tensor } from "@gradus/core";
   * console.log(tensor([1, 2]).dataSync()); // Float32Array [1, 2]
   * ```
   */
  dataSync(): TypedArray {
    const c = concreteOf(this, "dataSync");
    c.#checkAlive("dataSync");
    const b = c._backend!;
    if (!b.canReadSync) {
      throw new Error(
        `dataSync(): the ${b.name} backend cannot read values synchronously; use await t.data()`,
      );
    }
    return b.readSync(c._data, c.dtype, c.size);
  }

  /**
   * The values as nested JS arrays (a number for a scalar; bool reads as 0/1).
   *
   * @returns Nested arrays mirroring the shape.
   * @example
   * ```ts
   * import { tensor } from "@gradus/core";
   * console.log(await tensor([[1, 2], [3, 4]]).array()); // [[1, 2], [3, 4]]
   * ```
   */
  array(): Promise<NestedArray> {
    concreteOf(this, "array");
    return this.data().then((d) => nest(d, this.shape));
  }

  /**
   * Synchronous `array()` (CPU backends).
   *
   * @returns Nested arrays mirroring the shape.
   * @example
   * ```ts
   * import { eye } from "@gradus/core";
   * console.log(eye(2).arraySync()); // [[1, 0], [0, 1]]
   * ```
   */
  arraySync(): NestedArray {
    concreteOf(this, "arraySync");
    return nest(this.dataSync(), this.shape);
  }

  /**
   * The single value of a one-element tensor.
   *
   * @returns The value as a number (bool reads as 0/1).
   * @example
   * ```ts
   * import { sum, tensor } from "@gradus/core";
   * console.log(await sum(tensor([1, 2, 3])).item()); // 6
   * ```
   */
  item(): Promise<number> {
    concreteOf(this, "item");
    return (async () => {
      this.#checkOne("item");
      return (await this.data())[0];
    })();
  }

  /**
   * Synchronous `item()` (CPU backends).
   *
   * @returns The value as a number (bool reads as 0/1).
   * @example
   * ```ts
   * import { tensor } from "@gradus/core";
   * console.log(tensor(2.5).itemSync()); // 2.5
   * ```
   */
  itemSync(): number {
    concreteOf(this, "itemSync");
    this.#checkOne("itemSync");
    return this.dataSync()[0];
  }

  /**
   * Releases the backend buffer now instead of waiting for garbage
   * collection. Optional: memory is reclaimed without it. Reading a disposed
   * tensor is an error; tensors made from it before stay valid.
   *
   * @example
   * ```ts
   * import { ones } from "@gradus/core";
   * const t = ones([1000]);
   * t.dispose();
   * ```
   */
  dispose(): void {
    if (this._trace !== null || this.#disposed) return;
    this.#disposed = true;
    this._backend!.dispose(this._data, this);
  }

  /**
   * Prints like NumPy: `[[1. 2.]\n [3. 4.]]`. Needs a synchronous read; on
   * backends without one it prints the shape and dtype instead.
   *
   * @returns The formatted values.
   * @example
   * ```ts
   * import { tensor } from "@gradus/core";
   * console.log(tensor([0.5, 1, 2]).toString()); // [0.5 1.  2. ]
   * ```
   */
  toString(): string {
    if (isAbstract(this)) return `Traced<${this.dtype}[${this.shape.join(",")}]>`;
    const c = concreteOf(this);
    if (c.#disposed) {
      return `Tensor(disposed, shape=[${this.shape.join(", ")}], dtype=${this.dtype})`;
    }
    if (!c._backend!.canReadSync) {
      return `Tensor(shape=[${this.shape.join(", ")}], dtype=${this.dtype}, backend=${
        c._backend!.name
      })`;
    }
    return formatTensor(c.dataSync(), this.shape, this.dtype);
  }

  /**
   * @internal A one-element tensor converts to its number where JS asks for
   * one (`Number(t)`, `+t`, `t > 0`; bool reads as 0/1), as `itemSync()`;
   * other conversions print it (`${t}`, `"loss " + t`). Converting to a
   * number any other tensor, one on a backend that reads asynchronously, or
   * a value `jit` is tracing (any conversion but printing) throws an error
   * naming the fix.
   */
  [Symbol.toPrimitive](hint: string): string | number {
    if (hint !== "string" && isAbstract(this)) {
      concreteOf(this, hint === "number" ? "Number" : "valueOf");
    }
    if (hint !== "number") return this.toString();
    this.#checkOne("Number");
    const c = concreteOf(this);
    c.#checkAlive("Number");
    if (!c._backend!.canReadSync) {
      throw new TypeError(
        `Number(): the ${c._backend!.name} backend cannot read values synchronously; ` +
          `use await t.item()`,
      );
    }
    return this.itemSync();
  }

  /** @internal How Deno's `console.log` shows a tensor. */
  [Symbol.for("Deno.customInspect")](): string {
    const body = this.toString();
    const pad = body.includes("\n") ? body.replaceAll("\n", "\n       ") : body;
    const traced = this._trace !== null ? ", traced" : "";
    return `tensor(${pad}, dtype=${this.dtype}${traced})`;
  }

  /** @internal Whether `dispose` released this tensor. */
  get _disposed(): boolean {
    return this.#disposed;
  }

  async #read(): Promise<TypedArray> {
    this.#checkAlive("data");
    return await this._backend!.read(this._data, this.dtype, this.size);
  }

  #checkAlive(op: string): void {
    if (this.#disposed && donated.has(this)) {
      throw new Error(`${op}(): ${DONATED}`);
    }
    if (this.#disposed) {
      throw new Error(
        `${op}(): this tensor was disposed; keep a reference to it only while in use ` +
          `(a value computed inside grad/valueAndGrad is freed when the transformation ` +
          `returns: return it through hasAux instead of keeping it from inside the function)`,
      );
    }
  }

  #checkOne(op: string): void {
    if (this.size !== 1) {
      throw new Error(
        `${op}(): needs a tensor with exactly one element, got shape [${this.shape.join(",")}]` +
          ` (${this.size} elements); use data() or array(), or reduce it first (sum, mean)`,
      );
    }
  }

  // ---- chaining: the common ops as methods (each calls the top-level op) ----

  /** `add(this, y)`. @param y Tensor or number. @returns The sum. @example `x.add(1)` */
  add(y: TensorLike): Tensor {
    return op("add")(this, y);
  }
  /** `sub(this, y)`. @param y Tensor or number. @returns The difference. @example `x.sub(1)` */
  sub(y: TensorLike): Tensor {
    return op("sub")(this, y);
  }
  /** `mul(this, y)`. @param y Tensor or number. @returns The product. @example `x.mul(2)` */
  mul(y: TensorLike): Tensor {
    return op("mul")(this, y);
  }
  /** `div(this, y)`. @param y Tensor or number. @returns The quotient. @example `x.div(2)` */
  div(y: TensorLike): Tensor {
    return op("div")(this, y);
  }
  /** `pow(this, y)`. @param y Exponent. @returns `this ** y`. @example `x.pow(2)` */
  pow(y: TensorLike): Tensor {
    return op("pow")(this, y);
  }
  /** `neg(this)`. @returns `-this`. @example `x.neg()` */
  neg(): Tensor {
    return op("neg")(this);
  }
  /** `square(this)`. @returns `this²`. @example `x.square()` */
  square(): Tensor {
    return op("square")(this);
  }
  /** `sqrt(this)`. @returns `√this`. @example `x.sqrt()` */
  sqrt(): Tensor {
    return op("sqrt")(this);
  }
  /** `exp(this)`. @returns `e^this`. @example `x.exp()` */
  exp(): Tensor {
    return op("exp")(this);
  }
  /** `log(this)`. @returns The natural log. @example `x.log()` */
  log(): Tensor {
    return op("log")(this);
  }
  /** `abs(this)`. @returns `|this|`. @example `x.abs()` */
  abs(): Tensor {
    return op("abs")(this);
  }
  /** `tanh(this)`. @returns The hyperbolic tangent. @example `x.tanh()` */
  tanh(): Tensor {
    return op("tanh")(this);
  }
  /** `matmul(this, y)`. @param y Right operand. @returns The matrix product. @example `x.matmul(w)` */
  matmul(y: TensorLike): Tensor {
    return op("matmul")(this, y);
  }
  /** `dot(this, y)`. @param y Right operand. @returns NumPy's dot. @example `x.dot(w)` */
  dot(y: TensorLike): Tensor {
    return op("dot")(this, y);
  }
  /** `reshape(this, shape)`. @param shape New shape (one `-1` allowed). @returns A reshaped tensor. @example `x.reshape([-1, 2])` */
  reshape(shape: readonly number[]): Tensor {
    return op("reshape")(this, shape);
  }
  /** `transpose(this, axes)`. @param axes Permutation (default: reversed). @returns The transposed tensor. @example `x.transpose()` */
  transpose(axes?: readonly number[]): Tensor {
    return op("transpose")(this, axes);
  }
  /** The transpose (axes reversed), like NumPy's `.T`. */
  get T(): Tensor {
    return op("transpose", "T")(this);
  }
  /** `sum(this, axis, opts)`. @param axis Axis or axes (default all). @param opts `{keepdims}`. @returns The sum. @example `x.sum(0)` */
  sum(axis?: number | readonly number[] | null, opts?: ReduceOptions): Tensor {
    return op("sum")(this, axis, opts);
  }
  /** `mean(this, axis, opts)`. @param axis Axis or axes (default all). @param opts `{keepdims}`. @returns The mean. @example `x.mean()` */
  mean(axis?: number | readonly number[] | null, opts?: ReduceOptions): Tensor {
    return op("mean")(this, axis, opts);
  }
  /** `max(this, axis, opts)`. @param axis Axis or axes (default all). @param opts `{keepdims}`. @returns The maximum. @example `x.max(-1)` */
  max(axis?: number | readonly number[] | null, opts?: ReduceOptions): Tensor {
    return op("max")(this, axis, opts);
  }
  /** `min(this, axis, opts)`. @param axis Axis or axes (default all). @param opts `{keepdims}`. @returns The minimum. @example `x.min(-1)` */
  min(axis?: number | readonly number[] | null, opts?: ReduceOptions): Tensor {
    return op("min")(this, axis, opts);
  }
  /**
   * `variance(this, axis, opts)`: NumPy's `x.var()` (a method may be named
   * `var`; the function is `variance`, as `var` cannot be imported).
   * @param axis Axis or axes (default all). @param opts `{keepdims, ddof}` (ddof default 0).
   * @returns The variance. @example `x.var(0, { ddof: 1 })`
   */
  var(axis?: number | readonly number[] | null, opts?: VarianceOptions): Tensor {
    return op("variance", "var")(this, axis, opts);
  }
  /** `std(this, axis, opts)`. @param axis Axis or axes (default all). @param opts `{keepdims, ddof}` (ddof default 0). @returns The standard deviation. @example `x.std()` */
  std(axis?: number | readonly number[] | null, opts?: VarianceOptions): Tensor {
    return op("std")(this, axis, opts);
  }
  /** `cumsum(this, axis, opts)`. @param axis Axis (default: flattened). @param opts `{reverse, exclusive}`. @returns The cumulative sums. @example `x.cumsum(-1)` */
  cumsum(axis?: number | null, opts?: CumsumOptions): Tensor {
    return op("cumsum")(this, axis, opts);
  }
  /** `argmax(this, axis, opts)`. @param axis Axis (default: flattened). @param opts `{keepdims}`. @returns int32 indices. @example `x.argmax(-1)` */
  argmax(axis?: number | null, opts?: ReduceOptions): Tensor {
    return op("argmax")(this, axis, opts);
  }
  /** `argmin(this, axis, opts)`. @param axis Axis (default: flattened). @param opts `{keepdims}`. @returns int32 indices. @example `x.argmin(-1)` */
  argmin(axis?: number | null, opts?: ReduceOptions): Tensor {
    return op("argmin")(this, axis, opts);
  }
  /** `cast(this, dtype)`. @param dtype Target dtype. @returns The converted tensor. @example `x.cast("int32")` */
  cast(dtype: DType): Tensor {
    return op("cast")(this, dtype);
  }
  /** `expandDims(this, axis)`. @param axis Where the new axis goes. @returns A tensor with one more axis. @example `x.expandDims(0)` */
  expandDims(axis: number): Tensor {
    return op("expandDims")(this, axis);
  }
  /** `squeeze(this, axis)`. @param axis Axis or axes of size 1 (default all). @returns The squeezed tensor. @example `x.squeeze()` */
  squeeze(axis?: number | readonly number[]): Tensor {
    return op("squeeze")(this, axis);
  }
  /** `broadcastTo(this, shape)`. @param shape Target shape. @returns The broadcast tensor. @example `x.broadcastTo([3, 2])` */
  broadcastTo(shape: readonly number[]): Tensor {
    return op("broadcastTo")(this, shape);
  }
  /** `equal(this, y)`. @param y Tensor or number. @returns A bool tensor. @example `x.equal(0)` */
  equal(y: TensorLike): Tensor {
    return op("equal")(this, y);
  }
  /** `greater(this, y)`. @param y Tensor or number. @returns A bool tensor. @example `x.greater(0)` */
  greater(y: TensorLike): Tensor {
    return op("greater")(this, y);
  }
  /** `less(this, y)`. @param y Tensor or number. @returns A bool tensor. @example `x.less(0)` */
  less(y: TensorLike): Tensor {
    return op("less")(this, y);
  }
}

/**
 * The ops behind `Tensor`'s methods. This layer declares the methods (so
 * they are documented and typed on the class) and calls the functions that
 * src/ops/tensor_methods.ts installs, so it never imports the ops.
 * @internal
 */
export interface TensorMethods {
  add(a: TensorLike, b: TensorLike): Tensor;
  sub(a: TensorLike, b: TensorLike): Tensor;
  mul(a: TensorLike, b: TensorLike): Tensor;
  div(a: TensorLike, b: TensorLike): Tensor;
  pow(a: TensorLike, b: TensorLike): Tensor;
  neg(x: TensorLike): Tensor;
  square(x: TensorLike): Tensor;
  sqrt(x: TensorLike): Tensor;
  exp(x: TensorLike): Tensor;
  log(x: TensorLike): Tensor;
  abs(x: TensorLike): Tensor;
  tanh(x: TensorLike): Tensor;
  matmul(a: TensorLike, b: TensorLike): Tensor;
  dot(a: TensorLike, b: TensorLike): Tensor;
  reshape(x: TensorLike, shape: readonly number[]): Tensor;
  transpose(x: TensorLike, axes?: readonly number[]): Tensor;
  sum(x: TensorLike, axis?: number | readonly number[] | null, opts?: ReduceOptions): Tensor;
  mean(x: TensorLike, axis?: number | readonly number[] | null, opts?: ReduceOptions): Tensor;
  max(x: TensorLike, axis?: number | readonly number[] | null, opts?: ReduceOptions): Tensor;
  min(x: TensorLike, axis?: number | readonly number[] | null, opts?: ReduceOptions): Tensor;
  variance(
    x: TensorLike,
    axis?: number | readonly number[] | null,
    opts?: VarianceOptions,
  ): Tensor;
  std(x: TensorLike, axis?: number | readonly number[] | null, opts?: VarianceOptions): Tensor;
  cumsum(x: TensorLike, axis?: number | null, opts?: CumsumOptions): Tensor;
  argmax(x: TensorLike, axis?: number | null, opts?: ReduceOptions): Tensor;
  argmin(x: TensorLike, axis?: number | null, opts?: ReduceOptions): Tensor;
  cast(x: TensorLike, dtype: DType): Tensor;
  expandDims(x: TensorLike, axis: number): Tensor;
  squeeze(x: TensorLike, axis?: number | readonly number[]): Tensor;
  broadcastTo(x: TensorLike, shape: readonly number[]): Tensor;
  equal(a: TensorLike, b: TensorLike): Tensor;
  greater(a: TensorLike, b: TensorLike): Tensor;
  less(a: TensorLike, b: TensorLike): Tensor;
}

let installed: TensorMethods | null = null;

/** Installs the functions behind `Tensor`'s methods (src/ops/tensor_methods.ts calls it once). @internal */
export function installTensorMethods(methods: TensorMethods): void {
  installed = methods;
}

/** The installed op `name`; `method` is the method's name for the error. */
function op<K extends keyof TensorMethods>(name: K, method: string = name): TensorMethods[K] {
  if (installed === null) {
    throw new Error(
      `Tensor.${method}(): the tensor methods are not installed; they come with the ops: ` +
        `import from "@gradus/core" (or one of its entry points), or call ${name}() directly`,
    );
  }
  return installed[name];
}

/**
 * Makes a concrete tensor around a backend buffer and registers it with
 * `backend.track` (when the backend has it) as an owner of the buffer.
 * @internal
 */
export function makeTensor(backend: Backend, data: DataHandle, shape: Shape, dtype: DType): Tensor {
  const t = new Tensor(shape, dtype, backend, data, null, null, null, -1);
  backend.track?.(t, data);
  if (made !== null) made.push(t);
  return t;
}

/** Tensors given up to a jitted call (`donateArgnums`), for the errors of later uses. */
const donated = new WeakSet<Tensor>();

/** What a use of a donated tensor is told. */
const DONATED = "this tensor was donated to a jitted call (donateArgnums) and disposed by it; " +
  "use the call's result instead, or leave the argument out of donateArgnums";

/**
 * Disposes `t` as a donated argument: a later use says so (not just "disposed").
 * @internal
 */
export function disposeDonated(t: Tensor): void {
  donated.add(t);
  t.dispose();
}

/**
 * Why a disposed tensor cannot be used, when it was donated; else null.
 * @internal
 */
export function donatedReason(t: Tensor): string | null {
  return donated.has(t) ? DONATED : null;
}

/** Where `collectMade` is recording the tensors `makeTensor` makes, or null. */
let made: Tensor[] | null = null;

/**
 * Runs `body` and appends every concrete tensor made meanwhile to `into`
 * (the pullback and `tidy` use this to free their temporaries). Nests: an
 * enclosing collection also receives what an inner one recorded, so the
 * tensors an inner `tidy` keeps are still freed by an outer one that does
 * not return them (disposing twice is harmless).
 * @internal
 */
export function collectMade<R>(into: Tensor[], body: () => R): R {
  const outer = made;
  made = into;
  try {
    return body();
  } finally {
    made = outer;
    if (outer !== null) { for (let i = 0; i < into.length; i++) outer.push(into[i]); }
  }
}

/**
 * The concrete value under any number of tracers; for a tracer with no value
 * (`jit`), throws its transformation's error for `op`. @internal
 */
export function concreteOf(x: Tensor, op = "reading a value"): Tensor {
  let t = x;
  while (t._trace !== null) {
    if (t._primal === null || t._trace.opaque) {
      const trace = t._trace;
      throw trace.abstractError?.(op, t.shape, t.dtype) ??
        new Error(`${op}(): this tensor is traced and has no value`);
    }
    t = t._primal;
  }
  return t;
}

/** Whether `x` is (or wraps) a tracer with no value (`jit`'s abstract tracers). @internal */
export function isAbstract(x: Tensor): boolean {
  let t = x;
  while (t._primal !== null) t = t._primal;
  return t._trace !== null;
}

/** The backend of a tensor or tracer (abstract tracers know theirs). @internal */
export function backendOfTensor(x: Tensor): Backend {
  let t = x;
  while (t._primal !== null) t = t._primal;
  return t._backend!;
}

/**
 * Runs `body` without recording the tensors it makes in an enclosing
 * `collectMade` (`jit` keeps the constants it traces past any `tidy`).
 * @internal
 */
export function withoutCollecting<R>(body: () => R): R {
  const outer = made;
  made = null;
  try {
    return body();
  } finally {
    made = outer;
  }
}

function nest(data: TypedArray, shape: Shape): NestedArray {
  if (shape.length === 0) return data[0];
  let pos = 0;
  const build = (axis: number): NestedArray[] => {
    const n = shape[axis];
    const out: NestedArray[] = new Array(n);
    if (axis === shape.length - 1) {
      for (let i = 0; i < n; i++) out[i] = data[pos++];
    } else {
      for (let i = 0; i < n; i++) out[i] = build(axis + 1);
    }
    return out;
  };
  return build(0);
}
