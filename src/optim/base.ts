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
 * Any optimizer's state, as `update` accepts it: states are tuples (from
 * `chain`) or records of tensors and counts. `update` takes its own state
 * type `S` *or* this, so that a record of different optimizers can be
 * looped over without casts (see {@linkcode GradientTransformation}); a
 * state of the wrong optimizer is caught at run time, with an error that
 * says which state was expected.
 *
 * @example
 * ```ts
 * import { grad, optim, square, sum, type Tensor, tensor } from "@gradus/core";
 *
 * const f = (p: { x: Tensor }) => sum(square(p.x));
 * const optimizers = { sgd: optim.sgd(0.1), adam: optim.adam(0.1) };
 * const params = { x: tensor([1]) };
 * // The states of several optimizers in one record (to checkpoint them together).
 * const states: Record<string, optim.OptState> = {};
 * for (const [name, opt] of Object.entries(optimizers)) {
 *   states[name] = opt.update(grad(f)(params), states[name] ?? opt.init(params), params)[1];
 * }
 * console.log(Object.keys(states)); // [ "sgd", "adam" ]
 * ```
 */
export type OptState = object;

/**
 * A gradient transformation: `init(params)` makes the state; `update(grads,
 * state, params?)` returns `[updates, newState]`, where `updates` has the
 * structure of `grads`. Pure: neither function changes its arguments.
 *
 * The state is typed: `optim.adam(lr).init(params)` is
 * `[ScaleByAdamState, ScaleByScheduleState]`, and `update` returns the same
 * type. `update` also accepts any {@linkcode OptState}, which is what lets
 * a loop over several optimizers type-check as written (TypeScript calls a
 * union of methods with the intersection of their parameter types, which
 * two different state types alone would make `never`).
 *
 * @typeParam S The state's type.
 * @example Comparing optimizers in one loop (the book's chapter 6)
 * ```ts
 * import { grad, optim, square, sum, type Tensor, tensor } from "@gradus/core";
 *
 * const f = (p: { x: Tensor }) => sum(square(p.x));
 * const optimizers = { SGD: optim.sgd(0.1), Momentum: optim.momentum(0.1), Adam: optim.adam(0.3) };
 * for (const [name, opt] of Object.entries(optimizers)) {
 *   let params = { x: tensor([-7, 2]) };
 *   let state = opt.init(params);
 *   for (let i = 0; i < 30; i++) {
 *     const [updates, next] = opt.update(grad(f)(params), state, params);
 *     params = optim.applyUpdates(params, updates);
 *     state = next;
 *   }
 *   console.log(name, params.x.arraySync());
 * }
 * ```
 */
export interface GradientTransformation<S> {
  /** Makes the initial state for `params` (a pytree of tensors). */
  init(params: unknown): S;
  /**
   * Transforms `grads` (a pytree of tensors) into updates of the same
   * structure and returns the new state. `state` is the one `init` or the
   * previous `update` returned.
   */
  update<P>(grads: P, state: S | OptState, params?: P): [P, S];
}

/**
 * The state type of an optimizer type: `OptimizerState<typeof opt>`. For a
 * union of optimizers (the values of a record of them) it is the union of
 * their states.
 *
 * @typeParam O A `GradientTransformation` type.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const opt = optim.adam(0.01);
 * // [ScaleByAdamState, ScaleByLearningRateState]
 * type AdamState = optim.OptimizerState<typeof opt>;
 * const params = { w: tensor([1]) };
 * const state: AdamState = opt.init(params);
 * console.log(state[0].count.itemSync(), state[1].count.itemSync()); // 0 0
 * ```
 */
export type OptimizerState<O> = O extends GradientTransformation<infer S> ? S : never;

/**
 * A learning-rate schedule: step count (0 for the first update) → rate.
 * Anywhere a learning rate is taken, a number or a schedule works.
 *
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * // Halve the rate every 10 steps, by hand; any (step) => number works.
 * const halving: optim.Schedule = (step) => 0.1 * 0.5 ** Math.floor(step / 10);
 * const opt = optim.sgd(halving);
 * console.log(halving(0), halving(25), typeof opt.update); // 0.1 0.025 function
 * ```
 */
export type Schedule = (step: number) => number;

/**
 * A schedule that also takes the optimizer's step count as an int32 scalar
 * tensor and then returns a scalar tensor (or a number): every schedule of
 * `optim` is one, so a `jit`ted step with a schedule is traced once. It is a
 * {@linkcode Schedule} too (a number in, a number out). A function of your
 * own gets the count as a number where it is known on the host (eager
 * cpu/wasm); under `jit` it gets the count as a scalar tensor of the default
 * float dtype, so build it from gradus ops (which take tensors as well as
 * numbers: `(s) => div(0.1, add(s, 1))`) or from optim's schedules.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const s: optim.CountSchedule = optim.linearSchedule({ init: 1, end: 0, transitionSteps: 4 });
 * const v = s(tensor(1, { dtype: "int32" }));
 * console.log(s(1), typeof v === "number" ? v : v.itemSync()); // 0.75 0.75
 * ```
 */
export interface CountSchedule {
  /** The rate at a step given as a number. */
  (step: number): number;
  /** The rate at a step given as an int32 scalar tensor (a scalar tensor, or a number). */
  (step: Tensor): Tensor | number;
}

/**
 * A learning rate: a constant or a schedule.
 *
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const constant: optim.LearningRate = 0.01;
 * const decaying: optim.LearningRate = optim.exponentialDecay({
 *   init: 0.01,
 *   decayRate: 0.5,
 *   transitionSteps: 1000,
 * });
 * const opts = [optim.sgd(constant), optim.sgd(decaying)];
 * console.log(opts.length, typeof decaying === "function" ? decaying(2000) : decaying); // 2 0.0025
 * ```
 */
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
