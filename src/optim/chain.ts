/**
 * `chain`: composes gradient transformations, Optax's `optax.chain`.
 *
 * @module
 */

import { tidy } from "../autodiff/tidy.ts";
import { describe } from "../ops/convert.ts";
import type { GradientTransformation } from "./base.ts";

/**
 * The state type of each transformation in a tuple of transformations:
 * `StatesOf<[GradientTransformation<A>, GradientTransformation<B>]>` is `[A, B]`.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const parts = [optim.clipByGlobalNorm(1), optim.trace({ decay: 0.9 })] as const;
 * // [EmptyState, TraceState]
 * type States = optim.StatesOf<[typeof parts[0], typeof parts[1]]>;
 * const opt = optim.chain(...parts);
 * const state: States = opt.init({ w: tensor([1]) });
 * console.log(state.length, Object.keys(state[1])); // 2 [ "trace" ]
 * ```
 */
export type StatesOf<T extends readonly GradientTransformation<unknown>[]> = {
  -readonly [K in keyof T]: T[K] extends GradientTransformation<infer S> ? S : never;
};

/**
 * Composes transformations left to right: the updates of each are the
 * gradients of the next. The state is the tuple of the inner states, in
 * order, so `chain(a, b)` is a `GradientTransformation<[SA, SB]>`. Every
 * inner `update` receives the same `params`.
 *
 * @param transforms The transformations, applied in this order.
 * @returns One transformation whose state is `[state0, state1, …]`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { optim, tensor } from "@gradus/core";
 *
 * // Clip, then Adam, then the learning rate: the usual recipe.
 * const opt = optim.chain(optim.clipByGlobalNorm(1), optim.scaleByAdam(), optim.scaleByLearningRate(1e-3));
 * const params = { w: tensor([1, 2]) };
 * const state = opt.init(params); // [EmptyState, ScaleByAdamState, ScaleByLearningRateState]
 * const [updates, next] = opt.update({ w: tensor([0.5, -3]) }, state, params);
 * assert.equal(next[1].count.itemSync(), 1);
 * console.log(optim.applyUpdates(params, updates).w.arraySync()); // ≈ [0.999, 2.001]
 * ```
 */
export function chain<T extends GradientTransformation<unknown>[]>(
  ...transforms: T
): GradientTransformation<StatesOf<T>> {
  for (let i = 0; i < transforms.length; i++) {
    const t = transforms[i] as unknown;
    if (
      typeof t !== "object" || t === null ||
      typeof (t as GradientTransformation<unknown>).init !== "function" ||
      typeof (t as GradientTransformation<unknown>).update !== "function"
    ) {
      throw new TypeError(
        `optim.chain(): argument ${i} is not a gradient transformation ({init, update}), got ${
          describe(t)
        }`,
      );
    }
  }
  const n = transforms.length;
  return {
    init(params: unknown): StatesOf<T> {
      return transforms.map((t) => t.init(params)) as StatesOf<T>;
    },
    update<P>(grads: P, state: StatesOf<T>, params?: P): [P, StatesOf<T>] {
      const states = state as unknown;
      if (!Array.isArray(states) || states.length !== n) {
        throw new TypeError(
          `optim.chain(): expected a state of ${n} inner state${n === 1 ? "" : "s"} (one per ` +
            `transformation), got ${describe(states)}; pass the state returned by init() or ` +
            `by the previous update()`,
        );
      }
      // The updates passed between links are temporaries: freed at once (no-op under tracing).
      return tidy(() => {
        let updates = grads;
        const next: unknown[] = new Array(n);
        for (let i = 0; i < n; i++) {
          const [u, s] = transforms[i].update(updates, states[i], params);
          updates = u;
          next[i] = s;
        }
        return [updates, next as StatesOf<T>];
      });
    },
  };
}
