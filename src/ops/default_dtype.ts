/**
 * The default floating-point dtype: what creation functions and plain JS
 * numbers become when no dtype is given (PyTorch's
 * `torch.set_default_dtype`; JAX's `jax_enable_x64` flag is the analogue).
 * float32 unless changed; float64 for numerical work that needs its
 * precision (the book's NumPy outputs digit for digit, gradient checks).
 *
 * What follows it: `tensor` (JS numbers, and typed arrays without a float
 * dtype of their own), `zeros`, `ones`, `full`, `arange` with non-integer
 * arguments, `linspace`, `eye`, `oneHot`, plain numbers combined only with
 * other plain numbers (`add(1, 2)`), `random.uniform`, `random.normal`,
 * `random.bernoulli` with a number probability, and `nn.init` and the `nn`
 * layers' parameters. Tensors that already exist keep their dtype, and a
 * number combined with a tensor still takes the tensor's dtype.
 *
 * @module
 */

import { currentBackend } from "../backend/registry.ts";
import type { DType } from "../core/dtype.ts";
import { DTypeError } from "../core/errors.ts";

/**
 * The floating-point dtypes that can be the default.
 *
 * @example
 * ```ts
 * import { type FloatDType, getDefaultDType, setDefaultDType, tensor } from "@gradus/core";
 *
 * const previous: FloatDType = setDefaultDType("float64");
 * try {
 *   console.log(getDefaultDType(), tensor([0.1]).dtype); // "float64" "float64"
 * } finally {
 *   setDefaultDType(previous);
 * }
 * ```
 */
export type FloatDType = "float32" | "float64";

let defaultFloat: FloatDType = "float32";

/**
 * Sets the dtype that creation functions and plain JS numbers use when no
 * dtype is given (float32 at start). float64 needs a backend that stores it
 * (`cpu` and `wasm`; not `webgpu`).
 *
 * Global state, like PyTorch's `torch.set_default_dtype`: set it once at the
 * start of a program, or restore the previous value (returned) in a
 * `finally` block.
 *
 * @param dtype `"float32"` or `"float64"`.
 * @returns The previous default.
 * @example
 * ```ts
 * import { setDefaultDType, tensor, zeros } from "@gradus/core";
 * const before = setDefaultDType("float64");
 * try {
 *   console.log(tensor([0.1]).dtype, zeros([2]).dtype); // "float64" "float64"
 *   console.log(tensor([0.1]).arraySync()); // [0.1]
 * } finally {
 *   setDefaultDType(before);
 * }
 * console.log(tensor([0.1]).dtype); // "float32"
 * ```
 */
export function setDefaultDType(dtype: FloatDType): FloatDType {
  if (dtype !== "float32" && dtype !== "float64") {
    throw new DTypeError(
      `setDefaultDType(): the default dtype must be "float32" or "float64", got ${
        JSON.stringify(dtype)
      } (int32 and bool tensors are made with an explicit dtype)`,
    );
  }
  const backend = currentBackend();
  if (!backend.dtypes.includes(dtype)) {
    throw new DTypeError(
      `setDefaultDType(): the current backend (${backend.name}) cannot store ${dtype} ` +
        `(it supports ${backend.dtypes.join(", ")}); setBackend("cpu") or setBackend("wasm") ` +
        `first for ${dtype}`,
    );
  }
  const before = defaultFloat;
  defaultFloat = dtype;
  return before;
}

/**
 * The dtype creation functions and plain JS numbers use when no dtype is
 * given (see {@linkcode setDefaultDType}).
 *
 * @returns `"float32"` (the initial default) or `"float64"`.
 * @example
 * ```ts
 * import { getDefaultDType } from "@gradus/core";
 * console.log(getDefaultDType()); // "float32"
 * ```
 */
export function getDefaultDType(): FloatDType {
  return defaultFloat;
}

/**
 * The text a creation error adds when the dtype a backend lacks is a
 * default set by `setDefaultDType` (empty otherwise). @internal
 */
export function defaultDTypeHint(dtype: DType): string {
  return dtype === defaultFloat && dtype !== "float32"
    ? ` (${dtype} is the default dtype, set by setDefaultDType("${dtype}"); ` +
      `pass { dtype: "float32" }, or setDefaultDType("float32") while on this backend)`
    : "";
}
