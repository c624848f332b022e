/**
 * {@linkcode getInitializer}: an initializer from a name, a standard
 * deviation or a function. Exported by `nn` and by `nn.init`.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const w = nn.getInitializer("xavier")(random.key(0), [100, 10]);
 * console.log(w.shape); // [100, 10]
 * ```
 *
 * @module
 */

import type { Initializer, InitializerName, InitializerSpec } from "./initializer.ts";
import {
  glorotNormal,
  glorotUniform,
  he,
  heNormal,
  normal,
  ones,
  xavier,
  zeros,
} from "./initializers.ts";

const BY_NAME: Record<InitializerName, () => Initializer> = {
  normal: () => normal(),
  xavier,
  glorot_normal: glorotNormal,
  glorot_uniform: glorotUniform,
  he,
  he_normal: heNormal,
  zeros: () => zeros,
  ones: () => ones,
};

/**
 * Resolves an initializer given by name, by number or as a function:
 * - a name: `"normal"` (std 0.01), `"xavier"` (std 1/√fanIn),
 *   `"glorot_normal"`, `"glorot_uniform"`, `"he"` / `"he_normal"`
 *   (std √(2/fanIn)), `"zeros"`, `"ones"`;
 * - a number: a normal with that std (the book's `weight_init_std = 0.01`);
 * - a function: returned as it is.
 *
 * @param init A name, a standard deviation or an initializer.
 * @returns The initializer.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const he = nn.getInitializer("he");
 * const small = nn.getInitializer(0.01);
 * console.log(he(random.key(0), [4, 2]).shape, small(random.key(1), [2]).shape); // [4, 2] [2]
 * ```
 */
export function getInitializer(init: InitializerSpec): Initializer {
  if (typeof init === "function") return init;
  if (typeof init === "number") return normal(init);
  if (typeof init === "string" && Object.hasOwn(BY_NAME, init)) {
    return BY_NAME[init as InitializerName]();
  }
  throw new TypeError(
    `nn.getInitializer(): unknown initializer ${JSON.stringify(init)}; use one of ${
      Object.keys(BY_NAME).map((n) => JSON.stringify(n)).join(", ")
    }, a standard deviation (number) or a function (key, shape, dtype) => Tensor`,
  );
}
