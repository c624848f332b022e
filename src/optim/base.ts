/**
 * Optimizers as pure state-update functions, with Optax's design: a
 * `GradientTransformation<S>` is a pair `{init, update}`; `update` turns
 * gradients into updates and returns the new state; `applyUpdates` adds the
 * updates to the parameters. Transformations compose with `chain`.
 * Nothing is mutated: every call returns new state.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { add } from "../ops/elementwise.ts";
import { map } from "../tree/tree.ts";

/**
 * A gradient transformation: `init(params)` makes the state; `update(grads,
 * state, params?)` returns `[updates, newState]`, where `updates` has the
 * structure of `grads`. Pure: neither function changes its arguments.
 */
export interface GradientTransformation<S> {
  /** Makes the initial state for `params` (a pytree of tensors). */
  init(params: unknown): S;
  /** Transforms `grads` (a pytree of tensors) into updates of the same structure and returns the new state. */
  update<P>(grads: P, state: S, params?: P): [P, S];
}

/**
 * A learning-rate schedule: step count (0 for the first update) → rate.
 * Anywhere a learning rate is taken, a number or a schedule works.
 */
export type Schedule = (step: number) => number;

/** A learning rate: a constant or a schedule. */
export type LearningRate = number | Schedule;

/**
 * Adds updates to parameters leaf by leaf: `params + updates`.
 *
 * @param params The parameters (a pytree of tensors).
 * @param updates Updates with the same structure (from `update`).
 * @returns New parameters.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 * const p = optim.applyUpdates({ w: tensor([1, 2]) }, { w: tensor([-0.5, 0.5]) });
 * console.log(p.w.arraySync()); // [0.5, 2.5]
 * ```
 */
export function applyUpdates<P>(params: P, updates: P): P {
  return map((p: Tensor, u: Tensor) => add(p, u), params, updates);
}
