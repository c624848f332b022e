/**
 * What an initializer is: {@linkcode Initializer}, a function
 * `(key, shape, dtype?) => Tensor`, and the ways to name one
 * ({@linkcode InitializerName}, {@linkcode InitializerSpec}) that
 * `getInitializer` and the layers' `init` options accept. Exported by `nn`
 * and by `nn.init`.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const spec: nn.InitializerSpec = "glorot_uniform";
 * const init: nn.Initializer = nn.getInitializer(spec);
 * console.log(init(random.key(0), [3, 2]).shape); // [3, 2]
 * ```
 *
 * @module
 */

import type { DType } from "../core/dtype.ts";
import type { Tensor } from "../core/tensor.ts";
import type { PRNGKey } from "../random/random.ts";

/**
 * An initializer: makes a tensor of `shape` (of the default dtype, float32
 * unless `setDefaultDType` changed it, when `dtype` is not given) from a
 * key. Pure: the same key gives the same tensor.
 *
 * @example A custom initializer, usable wherever a name is
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const lecunUniform: nn.Initializer = (key, shape, dtype) => {
 *   const [fanIn] = nn.init.computeFans(shape);
 *   const limit = Math.sqrt(3 / fanIn);
 *   return random.uniform(key, shape, { min: -limit, max: limit, dtype });
 * };
 * const layer = nn.layers.dense(10, { init: lecunUniform });
 * console.log(layer.init(random.key(0), [20]).params.w.shape); // [20, 10]
 * ```
 */
export type Initializer = (key: PRNGKey, shape: readonly number[], dtype?: DType) => Tensor;

/**
 * The names `getInitializer` accepts.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const names: nn.InitializerName[] = ["he", "xavier", "glorot_uniform"];
 * for (const name of names) {
 *   console.log(name, nn.getInitializer(name)(random.key(0), [2, 2]).shape); // [2, 2]
 * }
 * ```
 */
export type InitializerName =
  | "normal"
  | "xavier"
  | "glorot_normal"
  | "glorot_uniform"
  | "he"
  | "he_normal"
  | "zeros"
  | "ones";

/**
 * An initializer given by name, by standard deviation (a normal with that
 * std) or as a function: what `getInitializer` and the layers' `init`
 * options accept.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * // A name, a standard deviation or a function.
 * const specs: nn.InitializerSpec[] = ["he", 0.01, nn.init.zeros];
 * for (const init of specs) {
 *   const { params } = nn.layers.dense(2, { init }).init(random.key(0), [3]);
 *   console.log(params.w.shape); // [3, 2]
 * }
 * ```
 */
export type InitializerSpec = InitializerName | Initializer | number;
