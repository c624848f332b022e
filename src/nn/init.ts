/**
 * Weight initializers: functions `(key, shape, dtype?) => Tensor`, keyed
 * like everything random in gradus (the same key gives the same weights).
 * `zeros` and `ones` are initializers; the others are factories that take
 * their settings and return one (`normal(0.01)`, `he()`), as in JAX's
 * `jax.nn.initializers`. `getInitializer` also takes names.
 *
 * Fan-in and fan-out come from the shape (see `computeFans`): for a dense
 * weight `[in, out]`, `fanIn = shape[0]` and `fanOut = shape[1]`.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const w = nn.init.he()(random.key(0), [784, 100]); // std √(2/784)
 * const b = nn.init.zeros(random.key(1), [100]);
 * console.log(w.shape, b.shape); // [784, 100] [100]
 * ```
 *
 * @module
 */

// nn.init is this file's namespace. Whole files are re-exported: inside a
// namespace, deno doc lists only what comes through `export *`.
export * from "./initializer.ts";
export * from "./initializers.ts";
export * from "./get_initializer.ts";
