/**
 * `lax`: lower-level array ops after JAX's `jax.lax`, with JAX's names,
 * shapes and padding rules — the building blocks of `nn`'s convolutions and
 * pooling:
 *
 * - `convGeneralDilated`: N-d convolutions with strides, `"SAME"`/`"VALID"`/
 *   explicit padding, input (transposed) and kernel (atrous) dilation, feature
 *   groups and any layout (`dimensionNumbers`, default NCHW/OIHW);
 * - `reduceWindow`: max, min and sum windows (pooling) with strides,
 *   padding and dilations; max/min gradients go to each window's first
 *   extreme.
 *
 * Each is a composite of core primitives (windows gathered by `take`,
 * contracted by `matmul`), so `grad`, `vjp`, `jvp`, `jit` and every backend
 * work on it.
 *
 * And control flow on traced values: `scan` (and `map`), `foriLoop`,
 * `whileLoop`, `cond`, `switch` — bodies traced once, each call one
 * primitive (one node under `jit`, whatever the trip count) with `jvp`,
 * `vjp` (not for `whileLoop`) and `vmap` rules.
 *
 * @example
 * ```ts
 * import { lax, random } from "@gradus/core";
 *
 * const x = random.normal(random.key(0), [2, 3, 8, 8]); // NCHW
 * const w = random.normal(random.key(1), [16, 3, 3, 3]); // OIHW
 * const y = lax.convGeneralDilated(x, w, { windowStrides: [2, 2], padding: "SAME" });
 * console.log(y.shape); // [2, 16, 4, 4]
 * ```
 *
 * @module
 */

import "../ops/tensor_methods.ts"; // installs Tensor's methods (x.add(y), x.sum(), …)

export * from "./padding.ts";
export * from "./conv.ts";
export * from "./reduce_window.ts";
export * from "./scan.ts";
export * from "./cond.ts";
export * from "./while_loop.ts";
