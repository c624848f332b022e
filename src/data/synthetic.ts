/**
 * Small synthetic datasets: the book's spiral (three interleaved arms, a
 * classic that a linear model cannot separate) and the XOR truth table.
 *
 * @example
 * ```ts
 * import { data, random } from "@gradus/core";
 * const { x, y } = data.spiral({ key: random.key(1984) });
 * console.log(x.shape, y.shape, y.dtype); // [300, 2] [300] "int32"
 * ```
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { tensor } from "../ops/creation.ts";
import { add, cos, mul, sin } from "../ops/elementwise.ts";
import { stack } from "../ops/movement.ts";
import { normal, type PRNGKey } from "../random/random.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * Options of {@linkcode spiral}.
 *
 * @example
 * ```ts
 * import { data, random } from "@gradus/core";
 *
 * const options: data.SpiralOptions = {
 *   pointsPerClass: 50,
 *   classes: 2,
 *   key: random.key(0),
 *   noise: 0.1,
 * };
 * const { x, y } = data.spiral(options);
 * console.log(x.shape, y.shape, y.dtype); // [100, 2] [100] "int32"
 * ```
 */
export interface SpiralOptions {
  /** Points per class (default 100). */
  readonly pointsPerClass?: number;
  /** Number of classes, i.e. arms of the spiral (default 3). */
  readonly classes?: number;
  /** The key for the angle noise; needed unless `noise` is 0. */
  readonly key?: PRNGKey;
  /** Standard deviation of the angle noise, in radians (default 0.2). */
  readonly noise?: number;
}

/**
 * Inputs and labels of a small dataset.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const { x, y }: data.XY = data.xor();
 * console.log(x.arraySync()); // [[0, 0], [0, 1], [1, 0], [1, 1]]
 * console.log(y.arraySync()); // [[0], [1], [1], [0]]
 * ```
 */
export interface XY {
  /** Inputs, float32 `[N, 2]`. */
  readonly x: Tensor;
  /** Labels: int32 `[N]` for {@linkcode spiral}, float32 `[N, 1]` for {@linkcode xor}. */
  readonly y: Tensor;
}

const SPIRAL_KEYS: OptionKeys<SpiralOptions> = {
  pointsPerClass: true,
  classes: true,
  key: true,
  noise: true,
};

/**
 * The spiral dataset of *Deep Learning from Scratch 2* (`dataset/spiral.py`):
 * for class `j` and point `i` of `N = pointsPerClass`, with `rate = i / N`,
 * the point is `(r·sin θ, r·cos θ)` where `r = rate` and
 * `θ = 4j + 4·rate + noise·ε`, `ε ~ N(0, 1)` drawn from `key`. Points are
 * ordered by class (all of class 0, then class 1, …). Radii lie in
 * `[0, 1 - 1/N]`. The same key gives the same points.
 *
 * @param options `pointsPerClass` (default 100), `classes` (default 3),
 * `key` (needed unless `noise` is 0), `noise` (default 0.2).
 * @returns `x`: float32 `[classes·N, 2]`; `y`: int32 `[classes·N]` class labels.
 * @throws {TypeError} When a key is needed but missing.
 * @throws {RangeError} When `pointsPerClass` or `classes` is not a positive integer, or
 * `noise` is negative.
 * @example
 * ```ts
 * import { data, random } from "@gradus/core";
 * const { x, y } = data.spiral({ pointsPerClass: 50, classes: 4, key: random.key(0) });
 * console.log(x.shape, y.shape); // [200, 2] [200]
 * console.log(Array.from(data.spiral({ pointsPerClass: 2, classes: 1, noise: 0 }).x.dataSync())); // [0, 0, 0.4546…, -0.2081…]
 * ```
 */
export function spiral(options: SpiralOptions = {}): XY {
  const op = "spiral()";
  checkOptions("spiral", options, SPIRAL_KEYS, "{ pointsPerClass: 100, classes: 3, key }");
  const { pointsPerClass = 100, classes = 3, key, noise = 0.2 } = options;
  if (!Number.isInteger(pointsPerClass) || pointsPerClass < 1) {
    throw new RangeError(`${op}: pointsPerClass must be a positive integer, got ${pointsPerClass}`);
  }
  if (!Number.isInteger(classes) || classes < 1) {
    throw new RangeError(`${op}: classes must be a positive integer, got ${classes}`);
  }
  if (typeof noise !== "number" || !(noise >= 0) || noise === Infinity) {
    throw new RangeError(`${op}: noise must be a finite number >= 0, got ${noise}`);
  }
  if (noise > 0 && key === undefined) {
    throw new TypeError(
      `${op}: needs a key for the angle noise; pass { key: random.key(0) } (or noise: 0)`,
    );
  }
  const n = pointsPerClass * classes;
  const radius = new Float32Array(n);
  const angle = new Float32Array(n);
  const labels = new Int32Array(n);
  for (let j = 0; j < classes; j++) {
    for (let i = 0; i < pointsPerClass; i++) {
      const rate = i / pointsPerClass;
      const k = j * pointsPerClass + i;
      radius[k] = rate;
      angle[k] = 4 * j + 4 * rate;
      labels[k] = j;
    }
  }
  const r = tensor(radius, { shape: [n] });
  let theta = tensor(angle, { shape: [n] });
  if (noise > 0) theta = add(theta, mul(normal(key!, [n]), noise));
  return {
    x: stack([mul(r, sin(theta)), mul(r, cos(theta))], 1),
    y: tensor(labels, { shape: [n], dtype: "int32" }),
  };
}

/**
 * The XOR truth table: inputs `[[0, 0], [0, 1], [1, 0], [1, 1]]` and
 * targets `[[0], [1], [1], [0]]`, both float32 (the targets fit a sigmoid
 * output and binary cross-entropy).
 *
 * @returns `x`: float32 `[4, 2]`; `y`: float32 `[4, 1]`.
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const { x, y } = data.xor();
 * console.log(x.arraySync(), y.arraySync()); // [[0, 0], [0, 1], [1, 0], [1, 1]] [[0], [1], [1], [0]]
 * ```
 */
export function xor(): XY {
  return {
    x: tensor([[0, 0], [0, 1], [1, 0], [1, 1]]),
    y: tensor([[0], [1], [1], [0]]),
  };
}
