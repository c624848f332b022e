/**
 * Turning op arguments into tensors: plain JS numbers and booleans take the
 * dtype of the tensor they are combined with ("weak" scalars, as in JAX).
 *
 * @module
 */

import { currentBackend } from "../backend/registry.ts";
import type { Backend } from "../backend/backend.ts";
import { allocArray, type DType, isFloat, type TypedArray } from "../core/dtype.ts";
import { DTypeError } from "../core/errors.ts";
import { backendOfTensor, makeTensor, Tensor, type TensorLike } from "../core/tensor.ts";
import { defaultDTypeHint, getDefaultDType } from "./default_dtype.ts";

/** A scalar tensor of `dtype` on `backend`. @internal */
export function scalarOn(backend: Backend, value: number, dtype: DType): Tensor {
  const a = allocArray(dtype, 1);
  a[0] = value;
  return makeTensor(backend, backend.upload(a, dtype), [], dtype);
}

/**
 * A tensor's values when they can be had without waiting for a device: a
 * synchronous read (cpu, wasm) or a copy the backend kept on the host
 * (`Backend.hostValues`); null otherwise (and for disposed tensors). Used
 * to check arguments (labels, indices, exponents) where that costs no
 * device round trip. The array must not be modified.
 * @internal
 */
export function knownValues(x: Tensor): TypedArray | null {
  // The value under the tracers; none under jit's (abstract), and none for
  // one example inside vmap (opaque: its value is not one array).
  let c = x;
  for (; c._trace !== null; c = c._primal) {
    if (c._primal === null || c._trace.opaque) return null;
  }
  const be = c._backend!;
  if (c._disposed) return null;
  if (be.canReadSync) return be.readSync(c._data, c.dtype, c.size);
  return be.hostValues?.(c._data, c.dtype, c.size) ?? null;
}

/**
 * Throws a DTypeError naming `op` when `backend` cannot store `dtype`
 * (float64 on WebGPU), with the backends that can. @internal
 */
export function checkBackendDType(op: string, dtype: DType, backend: Backend): void {
  if (backend.dtypes.includes(dtype)) return;
  throw new DTypeError(
    `${op}(): the ${backend.name} backend does not support ${dtype} ` +
      `(it supports ${backend.dtypes.join(", ")}); use float32, ` +
      `or setBackend("wasm") or setBackend("cpu") for float64${defaultDTypeHint(dtype)}`,
  );
}

/** The backend a tensor's value lives on. @internal */
export function backendOf(x: Tensor): Backend {
  return backendOfTensor(x);
}

function checkNumber(op: string, v: number | boolean, dtype: DType): number {
  const n = typeof v === "boolean" ? (v ? 1 : 0) : v;
  if (dtype === "int32" && !Number.isInteger(n)) {
    throw new DTypeError(
      `${op}(): cannot combine the non-integer ${n} with an int32 tensor; ` +
        `cast the tensor first, e.g. cast(x, "float32")`,
    );
  }
  // Storing these would wrap silently (2 ** 40 → 0 in int32, 257 → 1 in bool).
  if (dtype === "int32" && (n < -2147483648 || n > 2147483647)) {
    throw new RangeError(
      `${op}(): the number ${n} is out of range for an int32 tensor ` +
        `(-2147483648..2147483647); cast the tensor first, e.g. cast(x, "float64")`,
    );
  }
  if (dtype === "bool" && n !== 0 && n !== 1) {
    throw new DTypeError(
      `${op}(): cannot combine the number ${n} with a bool tensor; ` +
        `use true/false, or cast the tensor first, e.g. cast(x, "float32")`,
    );
  }
  return n;
}

/**
 * Converts one op argument to a tensor; numbers become `dtype` (default:
 * the default dtype, see `setDefaultDType`) on `backend` (default: the
 * current backend).
 * @internal
 */
export function asTensor(
  op: string,
  x: TensorLike,
  dtype?: DType,
  backend?: Backend,
): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === "number" || typeof x === "boolean") {
    const dt = dtype ?? (typeof x === "boolean" ? "bool" : getDefaultDType());
    const be = backend ?? currentBackend();
    if (!be.dtypes.includes(dt)) {
      throw new DTypeError(
        `${op}(): the ${be.name} backend cannot store the number ${x} as ${dt} ` +
          `(it supports ${be.dtypes.join(", ")})${defaultDTypeHint(dt)}`,
      );
    }
    return scalarOn(be, checkNumber(op, x, dt), dt);
  }
  throw new TypeError(
    `${op}(): expected a Tensor or a number, got ${describe(x)}; wrap arrays with tensor(...)`,
  );
}

/** Converts op arguments, giving plain numbers the dtype and backend of the first tensor among them. @internal */
export function asTensors(op: string, xs: readonly TensorLike[]): Tensor[] {
  const first = xs.find((x): x is Tensor => x instanceof Tensor);
  if (first === undefined) return xs.map((x) => asTensor(op, x));
  const b = backendOf(first);
  return xs.map((x) => asTensor(op, x, first.dtype, b));
}

/** Throws unless every input has the same dtype. @internal */
export function sameDType(op: string, dtypes: readonly DType[]): DType {
  for (let i = 1; i < dtypes.length; i++) {
    if (dtypes[i] !== dtypes[0]) {
      throw new DTypeError(
        `${op}(): dtype mismatch: ${dtypes.join(" and ")}; ` +
          `cast one first, e.g. cast(x, "${dtypes[0]}")`,
      );
    }
  }
  return dtypes[0];
}

/** Throws unless `dtype` is a float type. @internal */
export function requireFloat(op: string, dtype: DType): void {
  if (!isFloat(dtype)) {
    throw new DTypeError(
      `${op}(): expects a float32 or float64 tensor, got ${dtype}; cast it first, e.g. cast(x, "float32")`,
    );
  }
}

/**
 * A short description of a value for error messages (the one definition:
 * ops, autodiff, optim, data and train errors all say "got …" with it):
 * `null`, `undefined`, `an array of length 3`, `a Tensor`, `an object with
 * keys [a, b]` or `an empty object` (plain objects), `an object
 * (Float32Array)` (other objects), `the function relu`, `number NaN`,
 * `string x`.
 * @internal
 */
export function describe(x: unknown): string {
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (x instanceof Tensor) return "a Tensor";
  if (typeof x === "object") {
    const proto = Object.getPrototypeOf(x);
    if (proto === Object.prototype || proto === null) {
      const keys = Object.keys(x).sort();
      return keys.length === 0 ? "an empty object" : `an object with keys [${keys.join(", ")}]`;
    }
    return `an object (${(x as object).constructor?.name ?? "Object"})`;
  }
  // Its name, not its source text.
  if (typeof x === "function") return x.name ? `the function ${x.name}` : "a function";
  return `${typeof x} ${String(x)}`;
}

/**
 * Throws a TypeError naming `op` unless `f` is a function (the first
 * argument of a transformation: "grad(): expected the function to
 * differentiate, got number 3"). @internal
 */
export function checkFunction(op: string, f: unknown, role: string): void {
  if (typeof f !== "function") {
    throw new TypeError(`${op}: expected the function to ${role}, got ${describe(f)}`);
  }
}
