/**
 * The library's error types. Every message names the op, shows the values it
 * saw and, where there is one, says the fix:
 * `add(): cannot broadcast shapes [2,3] and [4] (axis -1: 3 vs 4)`.
 *
 * @module
 */

/**
 * A shape does not fit an op (broadcasting, matmul inner sizes, reshape
 * sizes, out-of-range axes).
 *
 * @example
 * ```ts
 * import { add, ones, ShapeError } from "@gradus/core";
 * try {
 *   add(ones([2, 3]), ones([4]));
 * } catch (e) {
 *   console.log(e instanceof ShapeError); // true
 * }
 * ```
 */
export class ShapeError extends Error {
  /**
   * Makes the error.
   *
   * @param message The full message, starting with the op name.
   */
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

/**
 * A dtype does not fit an op (mixing dtypes without a cast, float ops on
 * integers, float64 on a backend without it, differentiating an int input).
 *
 * @example
 * ```ts
 * import { add, DTypeError, ones } from "@gradus/core";
 * try {
 *   add(ones([2]), ones([2], { dtype: "int32" }));
 * } catch (e) {
 *   console.log(e instanceof DTypeError); // true
 * }
 * ```
 */
export class DTypeError extends Error {
  /**
   * Makes the error.
   *
   * @param message The full message, starting with the op name.
   */
  constructor(message: string) {
    super(message);
    this.name = "DTypeError";
  }
}

/**
 * The error for a value of the wrong shape or dtype: a ShapeError when the
 * shapes differ, else a DTypeError (so each can be caught by type). @internal
 */
export function mismatchError(
  got: { readonly shape: readonly number[] },
  want: { readonly shape: readonly number[] },
  message: string,
): ShapeError | DTypeError {
  const same = got.shape.length === want.shape.length &&
    got.shape.every((d, i) => d === want.shape[i]);
  return same ? new DTypeError(message) : new ShapeError(message);
}

/** Formats a shape the way error messages show it: `[2,3]`. @internal */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** The int32 range, for messages. @internal */
export const INT32_RANGE = "-2147483648..2147483647";

/**
 * The error for a JS number that does not fit int32 where a tensor is made
 * or combined with an int32 tensor (NumPy raises too; storing it would wrap).
 * @internal
 */
export function int32RangeError(op: string, value: number | bigint, where = ""): RangeError {
  return new RangeError(
    `${op}(): the value ${value}${where} is out of range for int32 (${INT32_RANGE}); ` +
      `use dtype float32 or float64 for values this large`,
  );
}

/**
 * Thrown by the allocators (`allocArray`, the backends' `alloc`) when memory
 * for a buffer cannot be had; `detail` says why. The ops layer turns it into
 * a RangeError naming the op, the shape and the bytes (see
 * {@linkcode allocationError}).
 * @internal
 */
export class AllocationError extends RangeError {
  /** Why the memory could not be had (the engine's message, a backend's limit). */
  readonly detail: string;

  /**
   * Makes the error.
   *
   * @param message The full message.
   * @param detail Why the memory could not be had.
   */
  constructor(message: string, detail: string) {
    super(message);
    this.name = "RangeError";
    this.detail = detail;
  }
}

/**
 * Whether `e` is a failure to get memory: an {@linkcode AllocationError}, or
 * the engine's own RangeError for a typed array or buffer it cannot make.
 * @internal
 */
export function isAllocationFailure(e: unknown): e is RangeError {
  return e instanceof AllocationError ||
    (e instanceof RangeError &&
      /allocation failed|invalid (typed )?array( buffer)? length|array buffer length/i.test(
        e.message,
      ));
}

/** Bytes for people: `4000000000000 bytes (3.64 TiB)`. @internal */
export function fmtBytes(bytes: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let v = bytes, u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u < 0 ? `${bytes} bytes` : `${bytes} bytes (${v.toPrecision(3)} ${units[u]})`;
}

/** Bytes per element of each dtype. @internal */
const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  float32: 4,
  float64: 8,
  int32: 4,
  bool: 1,
};

/** What out-of-memory messages say about a backend. @internal */
export interface MemoryDescribed {
  /** The backend's name. */
  readonly name: string;
  /** Its memory limit and use, where it has one of its own (see `Backend.memoryInfo`). */
  memoryInfo?(): string;
}

/**
 * The RangeError for memory that could not be had while `op` made a
 * `dtype` tensor of `shape` on `backend`: names the op, the shape, the
 * bytes, the backend's own limit where it has one, and why (the engine's
 * refusal).
 * @internal
 */
export function allocationError(
  op: string,
  shape: readonly number[],
  dtype: string,
  backend: MemoryDescribed,
  cause: RangeError,
): AllocationError {
  let size = 1;
  for (const d of shape) size *= d;
  const detail = cause instanceof AllocationError ? cause.detail : cause.message;
  const info = backend.memoryInfo?.();
  return new AllocationError(
    `${op}(): out of memory for ${/^[aeiou]/.test(dtype) ? "an" : "a"} ${dtype} tensor of ` +
      `shape ${fmtShape(shape)} ` +
      `(${size} elements, ${fmtBytes(size * (ELEMENT_BYTES[dtype] ?? 4))}) on the ` +
      `${backend.name} backend${info ? ` (${info})` : ""}: ${detail}; use a smaller shape or ` +
      `process the data in batches, and free tensors no longer needed (dispose, tidy)`,
    detail,
  );
}

/**
 * Runs `body`, turning a failure to get memory into {@linkcode allocationError}
 * for `op` making a `dtype` tensor of `shape` (the outermost op names it).
 * @internal
 */
export function guardAlloc<R>(
  op: string,
  shape: readonly number[],
  dtype: string,
  backend: MemoryDescribed,
  body: () => R,
): R {
  try {
    return body();
  } catch (e) {
    throw isAllocationFailure(e) ? allocationError(op, shape, dtype, backend, e) : e;
  }
}
