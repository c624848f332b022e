/**
 * Gradient clipping (Optax's `clip` and `clip_by_global_norm`, and the
 * `global_norm` they share): transformations that bound the updates, by
 * value or by the L2 norm of the whole tree, without a host read.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const opt = optim.chain(optim.clipByGlobalNorm(1), optim.sgd(0.1));
 * const grads = { w: tensor([30, 40]) }; // norm 50, scaled down to 1
 * const [u] = opt.update(grads, opt.init(grads));
 * console.log(u.w.arraySync()); // [-0.06, -0.08]
 * ```
 *
 * @module
 */

import { Tensor } from "../core/tensor.ts";
import type { DType } from "../core/dtype.ts";
import { clip as clipOp } from "../ops/composite.ts";
import { describe } from "../ops/convert.ts";
import { add, cast, div, minimum, mul, sqrt, square } from "../ops/elementwise.ts";
import { sum } from "../ops/reduce.ts";
import { leaves, map } from "../tree/tree.ts";
import type { GradientTransformation } from "./base.ts";
import { checkNonNegative, leafwise } from "./_util.ts";
import type { EmptyState } from "./transforms.ts";
function widest(dtypes: readonly DType[]): DType {
  if (dtypes.every((d) => d === dtypes[0])) return dtypes[0];
  return dtypes.includes("float64") ? "float64" : "float32";
}

/**
 * The global L2 norm of a pytree of tensors, `√(Σ over all leaves of Σ x²)`,
 * as a scalar tensor on the device (no host read). Leaves of different
 * dtypes are summed in float64 if any is float64, else in float32.
 *
 * @param tree A pytree of tensors.
 * @returns A scalar tensor (0 for a tree without leaves).
 * @throws {TypeError} When a leaf is not a tensor.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * console.log(optim.globalNorm({ a: tensor([3]), b: [tensor([[4]])] }).arraySync()); // 5
 * ```
 */
export function globalNorm(tree: unknown): Tensor {
  const ls = leaves(tree);
  if (ls.length === 0) return sqrt(0);
  const tensors = ls.map((x, i) => {
    if (!(x instanceof Tensor)) {
      throw new TypeError(
        `optim.globalNorm(): expected a pytree of tensors, got ${describe(x)} as leaf ${i}`,
      );
    }
    return x;
  });
  const dtype = widest(tensors.map((t) => t.dtype));
  let total: Tensor | undefined;
  for (const t of tensors) {
    let s = sum(square(t));
    if (s.dtype !== dtype) s = cast(s, dtype);
    total = total === undefined ? s : add(total, s);
  }
  return sqrt(total!);
}

/**
 * Clips by global norm (Optax's `clip_by_global_norm`): scales every leaf by
 * `min(1, maxNorm / ‖g‖₂)`, where `‖g‖₂` is {@linkcode globalNorm} over all
 * leaves together. Under the limit the updates are unchanged. Computed with
 * tensor ops only: nothing is read back to the host.
 *
 * @param maxNorm The largest allowed global norm (> 0).
 * @returns A stateless transformation.
 * @throws {RangeError} When `maxNorm` is not a positive finite number.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const t = optim.clipByGlobalNorm(1);
 * const [u] = t.update({ a: tensor([3]), b: tensor([4]) }, t.init({}));
 * console.log(u.a.arraySync(), u.b.arraySync()); // ≈ [0.6] [0.8]
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<EmptyState> {
  const op = "optim.clipByGlobalNorm()";
  checkNonNegative(op, "maxNorm", maxNorm, true);
  return {
    init(_params: unknown): EmptyState {
      return {};
    },
    update<P>(grads: P, state: EmptyState, _params?: P): [P, EmptyState] {
      if (leaves(grads).length === 0) return [grads, state];
      const norm = globalNorm(grads);
      // maxNorm / 0 = Infinity, so a zero gradient is left as it is.
      const factor = minimum(div(maxNorm, norm), 1);
      const updates = map(
        (g: Tensor) => mul(g, g.dtype === factor.dtype ? factor : cast(factor, g.dtype)),
        grads,
      );
      return [updates, state];
    },
  };
}

/**
 * Clips every element of the updates to `[−maxDelta, maxDelta]` (Optax's `clip`).
 *
 * @param maxDelta The largest allowed magnitude (≥ 0).
 * @returns A stateless transformation.
 * @throws {RangeError} When `maxDelta` is negative or not finite.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const t = optim.clip(1);
 * const [u] = t.update(tensor([-3, 0.5, 2]), t.init({}));
 * console.log(u.arraySync()); // [-1, 0.5, 1]
 * ```
 */
export function clip(maxDelta: number): GradientTransformation<EmptyState> {
  checkNonNegative("optim.clip()", "maxDelta", maxDelta);
  return leafwise((g) => clipOp(g, -maxDelta, maxDelta));
}
