/**
 * The initializers of `nn.init`: `normal`, `xavier`, `glorotNormal`,
 * `glorotUniform`, `he`, `heNormal`, `zeros`, `ones`, and `computeFans`.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const w = nn.init.glorotUniform()(random.key(0), [4, 6]);
 * console.log(w.shape); // [4, 6]
 * ```
 *
 * @module
 */

import type { DType } from "../core/dtype.ts";
import { ShapeError } from "../core/errors.ts";
import type { Tensor } from "../core/tensor.ts";
import { ones as onesOp, zeros as zerosOp } from "../ops/creation.ts";
import { getDefaultDType } from "../ops/default_dtype.ts";
import {
  normal as randomNormal,
  type PRNGKey,
  uniform as randomUniform,
} from "../random/random.ts";
import type { Initializer } from "./initializer.ts";

/**
 * Fan-in and fan-out of a weight shape:
 * - `[]`: 1 and 1; `[n]`: n and n;
 * - `[in, out]` (a dense weight, `x @ w`): `in` and `out`;
 * - `[out, in, ...kernel]` (a convolution filter in the book's and
 *   PyTorch's `(FN, C, FH, FW)` layout): `in·Πkernel` and `out·Πkernel`.
 *
 * @param shape The weight shape.
 * @returns `[fanIn, fanOut]`.
 * @example
 * ```ts
 * import { nn } from "@gradus/core";
 * console.log(nn.init.computeFans([784, 100])); // [784, 100]
 * console.log(nn.init.computeFans([30, 1, 5, 5])); // [25, 750]
 * ```
 */
export function computeFans(shape: readonly number[]): [fanIn: number, fanOut: number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0], shape[0]];
  if (shape.length === 2) return [shape[0], shape[1]];
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return [shape[1] * receptive, shape[0] * receptive];
}

function positive(op: string, fan: number, shape: readonly number[]): number {
  if (!(fan > 0)) {
    throw new ShapeError(
      `nn.init.${op}(): cannot scale by the fan of shape [${shape.join(",")}] (it is ${fan})`,
    );
  }
  return fan;
}

/**
 * Normal weights with a fixed standard deviation: the book's
 * `weight_init_std * np.random.randn(...)` (default 0.01).
 *
 * @param std The standard deviation (default 0.01).
 * @returns An initializer.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const w = nn.init.normal(0.01)(random.key(0), [784, 50]);
 * console.log(w.shape, w.dtype); // [784, 50] "float32"
 * ```
 */
export function normal(std = 0.01): Initializer {
  if (!(std >= 0) || !Number.isFinite(std)) {
    throw new RangeError(`nn.init.normal(): std must be a finite number ≥ 0, got ${std}`);
  }
  return (key, shape, dtype) =>
    randomNormal(key, shape, { std, dtype: dtype ?? getDefaultDType() });
}

/**
 * The book's "Xavier" initializer: normal with std `1/√fanIn` (also known
 * as LeCun normal). Suits sigmoid and tanh layers. Note that Keras's and
 * JAX's `glorot_normal` uses `√(2/(fanIn + fanOut))` instead (see
 * `glorotNormal`); the two agree for square weights.
 *
 * @returns An initializer.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const w = nn.init.xavier()(random.key(0), [100, 50]); // std 0.1
 * console.log(w.shape); // [100, 50]
 * ```
 */
export function xavier(): Initializer {
  return (key, shape, dtype) => {
    const [fanIn] = computeFans(shape);
    const std = 1 / Math.sqrt(positive("xavier", fanIn, shape));
    return randomNormal(key, shape, { std, dtype: dtype ?? getDefaultDType() });
  };
}

/**
 * Glorot (Xavier) normal as in Glorot & Bengio (2010), Keras and JAX:
 * std `√(2/(fanIn + fanOut))` (an untruncated normal; Keras and JAX
 * truncate at two standard deviations). For the book's variant, std
 * `1/√fanIn`, use `xavier`.
 *
 * @returns An initializer.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const w = nn.init.glorotNormal()(random.key(0), [300, 100]); // std √(2/400)
 * console.log(w.shape); // [300, 100]
 * ```
 */
export function glorotNormal(): Initializer {
  return (key, shape, dtype) => {
    const [fanIn, fanOut] = computeFans(shape);
    const std = Math.sqrt(2 / positive("glorotNormal", fanIn + fanOut, shape));
    return randomNormal(key, shape, { std, dtype: dtype ?? getDefaultDType() });
  };
}

/**
 * Glorot (Xavier) uniform, Keras's and JAX's default for dense layers:
 * uniform in `±√(6/(fanIn + fanOut))` (variance `2/(fanIn + fanOut)`).
 *
 * @returns An initializer.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const w = nn.init.glorotUniform()(random.key(0), [300, 100]); // in ±√(6/400)
 * console.log(w.shape); // [300, 100]
 * ```
 */
export function glorotUniform(): Initializer {
  return (key, shape, dtype) => {
    const [fanIn, fanOut] = computeFans(shape);
    const limit = Math.sqrt(6 / positive("glorotUniform", fanIn + fanOut, shape));
    return randomUniform(key, shape, {
      min: -limit,
      max: limit,
      dtype: dtype ?? getDefaultDType(),
    });
  };
}

/**
 * He (Kaiming) normal: std `√(2/fanIn)`, the book's initializer for ReLU
 * layers.
 *
 * @returns An initializer.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const w = nn.init.he()(random.key(0), [50, 10]); // std 0.2
 * console.log(w.shape); // [50, 10]
 * ```
 */
export function he(): Initializer {
  return (key, shape, dtype) => {
    const [fanIn] = computeFans(shape);
    const std = Math.sqrt(2 / positive("he", fanIn, shape));
    return randomNormal(key, shape, { std, dtype: dtype ?? getDefaultDType() });
  };
}

/**
 * He (Kaiming) normal, std `√(2/fanIn)`: the same as `he`.
 *
 * @returns An initializer.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * console.log(nn.init.heNormal()(random.key(0), [50, 10]).shape); // [50, 10]
 * ```
 */
export function heNormal(): Initializer {
  return he();
}

/**
 * All zeros (the key is ignored): the usual bias initializer.
 *
 * @param _key Ignored (present so that every initializer has one signature).
 * @param shape The shape.
 * @param dtype The dtype (default: the default dtype, see `setDefaultDType`).
 * @returns Zeros.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * console.log(nn.init.zeros(random.key(0), [3]).arraySync()); // [0, 0, 0]
 * ```
 */
export function zeros(_key: PRNGKey, shape: readonly number[], dtype?: DType): Tensor {
  return zerosOp(shape, { dtype: dtype ?? getDefaultDType() });
}

/**
 * All ones (the key is ignored): e.g. batch norm's scale.
 *
 * @param _key Ignored.
 * @param shape The shape.
 * @param dtype The dtype (default: the default dtype, see `setDefaultDType`).
 * @returns Ones.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * console.log(nn.init.ones(random.key(0), [2]).arraySync()); // [1, 1]
 * ```
 */
export function ones(_key: PRNGKey, shape: readonly number[], dtype?: DType): Tensor {
  return onesOp(shape, { dtype: dtype ?? getDefaultDType() });
}
