/**
 * The usual optimizers, each a `chain` of transformations ending in
 * `scaleByLearningRate(lr)` (Optax's aliases). `lr` may be a number or a
 * schedule everywhere.
 *
 * @module
 */

import type { GradientTransformation, LearningRate } from "./base.ts";
import { chain } from "./chain.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";
import {
  addDecayedWeights,
  type AddDecayedWeightsOptions,
  type EmptyState,
  scaleByAdam,
  type ScaleByAdamOptions,
  type ScaleByAdamState,
  scaleByLearningRate,
  type ScaleByLearningRateState,
  scaleByRms,
  type ScaleByRmsState,
  scaleByRss,
  type ScaleByRssState,
  trace,
  type TraceState,
} from "./transforms.ts";
import { ADAM_KEYS, DECAY_KEYS, RMS_KEYS, RSS_KEYS } from "./_option_keys.ts";

/**
 * Stochastic gradient descent: `W ← W − lr·g` (the book's SGD).
 *
 * @param lr The learning rate: a number or a schedule.
 * @returns `chain(scaleByLearningRate(lr))`.
 * @throws {TypeError} When given a second argument: momentum is
 * {@linkcode momentum}.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const opt = optim.sgd(0.1);
 * const params = { w: tensor([1, 2]) };
 * const [updates] = opt.update({ w: tensor([10, -10]) }, opt.init(params));
 * console.log(optim.applyUpdates(params, updates).w.arraySync()); // [0, 3]
 * ```
 */
export function sgd(lr: LearningRate): GradientTransformation<[ScaleByLearningRateState]> {
  // Optax's sgd(lr, momentum) is optim.momentum here: a second argument must not be ignored.
  if (arguments.length > 1) {
    throw new TypeError(
      `optim.sgd(): takes only the learning rate, got ${arguments.length} arguments; for ` +
        `momentum (Optax's sgd(lr, momentum)) use optim.momentum(lr, { beta: 0.9, nesterov })`,
    );
  }
  return chain(scaleByLearningRate(lr));
}

/**
 * Options of {@linkcode momentum}.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const options: optim.MomentumOptions = { beta: 0.5, nesterov: false };
 * const opt = optim.momentum(0.1, options);
 * const g = { w: tensor([1], { dtype: "float64" }) };
 * let state = opt.init(g);
 * const steps = [];
 * for (let i = 0; i < 3; i++) {
 *   const [u, next] = opt.update(g, state);
 *   steps.push((await u.w.data())[0]);
 *   state = next;
 * }
 * console.log(steps); // ≈ [-0.1, -0.15, -0.175] (velocities 1, 1.5, 1.75)
 * ```
 */
export interface MomentumOptions {
  /** The momentum coefficient (the book's α). Default: `0.9`. */
  readonly beta?: number;
  /** Nesterov momentum. Default: `false`. */
  readonly nesterov?: boolean;
}

const MOMENTUM_KEYS: OptionKeys<MomentumOptions> = { beta: true, nesterov: "boolean" };

/**
 * SGD with momentum (Optax's `sgd(lr, momentum)`): `t ← g + β·t`,
 * `W ← W − lr·t`. For a constant `lr` this is exactly the book's Momentum
 * (`v ← αv − lr·g; W ← W + v`, with `α = β` and `v = −lr·t`); with a
 * schedule, Optax's form scales the whole trace by the current rate.
 *
 * @param lr The learning rate: a number or a schedule.
 * @param options `beta` (default 0.9), `nesterov` (default false).
 * @returns `chain(trace({decay: beta, nesterov}), scaleByLearningRate(lr))`.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const opt = optim.momentum(0.1, { beta: 0.9 });
 * let params = { w: tensor([0]) };
 * let state = opt.init(params);
 * for (let i = 0; i < 2; i++) {
 *   const [updates, next] = opt.update({ w: tensor([1]) }, state);
 *   [params, state] = [optim.applyUpdates(params, updates), next];
 * }
 * console.log(params.w.arraySync()); // ≈ [-0.29] (−0.1, then −0.19)
 * ```
 */
export function momentum(
  lr: LearningRate,
  options: MomentumOptions = {},
): GradientTransformation<[TraceState, ScaleByLearningRateState]> {
  checkOptions("optim.momentum", options, MOMENTUM_KEYS, "{ beta: 0.9, nesterov: true }");
  const { beta = 0.9, nesterov = false } = options;
  return chain(trace({ decay: beta, nesterov }), scaleByLearningRate(lr));
}

/**
 * Options of {@linkcode adagrad}.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const options: optim.AdagradOptions = { initialAccumulatorValue: 0.1, eps: 1e-7 };
 * const opt = optim.adagrad(0.01, options);
 * const params = { w: tensor([1], { dtype: "float64" }) };
 * const [u] = opt.update({ w: tensor([0.3], { dtype: "float64" }) }, opt.init(params));
 * console.log(u.w.arraySync()); // ≈ [-0.00688] (−0.01·0.3/√(0.1 + 0.3²))
 * ```
 */
export interface AdagradOptions {
  /** The starting value of the sum of squares. Default: `0` (the book; Optax uses 0.1). */
  readonly initialAccumulatorValue?: number;
  /** Added to `√h` in the denominator. Default: `1e-7` (the book). */
  readonly eps?: number;
}

/**
 * AdaGrad as in the book: `h ← h + g²`, `W ← W − lr·g / (√h + eps)`.
 *
 * @param lr The learning rate: a number or a schedule.
 * @param options `initialAccumulatorValue` (default 0), `eps` (default 1e-7).
 * @returns `chain(scaleByRss(options), scaleByLearningRate(lr))`.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const opt = optim.adagrad(1.5);
 * const params = { w: tensor([1]) };
 * const [updates] = opt.update({ w: tensor([4]) }, opt.init(params));
 * console.log(updates.w.arraySync()); // ≈ [-1.5]
 * ```
 */
export function adagrad(
  lr: LearningRate,
  options: AdagradOptions = {},
): GradientTransformation<[ScaleByRssState, ScaleByLearningRateState]> {
  checkOptions("optim.adagrad", options, RSS_KEYS, "{ eps: 1e-7 }");
  return chain(scaleByRss(options), scaleByLearningRate(lr));
}

/**
 * Options of {@linkcode rmsprop}.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const options: optim.RmspropOptions = { decay: 0.9, eps: 1e-7 };
 * const opt = optim.rmsprop(0.01, options);
 * const params = { w: tensor([1], { dtype: "float64" }) };
 * const [u] = opt.update({ w: tensor([2], { dtype: "float64" }) }, opt.init(params));
 * console.log(u.w.arraySync()); // ≈ [-0.0316] (−0.01·2/√(0.1·2²))
 * ```
 */
export interface RmspropOptions {
  /** The decay of the average of squared gradients. Default: `0.99` (the book). */
  readonly decay?: number;
  /** Added to `√h` in the denominator. Default: `1e-7` (the book). */
  readonly eps?: number;
  /** The starting value of `h`. Default: `0`. */
  readonly initialScale?: number;
}

/**
 * RMSprop as in the book: `h ← decay·h + (1 − decay)·g²`,
 * `W ← W − lr·g / (√h + eps)`.
 *
 * @param lr The learning rate: a number or a schedule.
 * @param options `decay` (default 0.99), `eps` (default 1e-7), `initialScale` (default 0).
 * @returns `chain(scaleByRms(options), scaleByLearningRate(lr))`.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const opt = optim.rmsprop(0.01);
 * const params = { w: tensor([1]) };
 * const [updates] = opt.update({ w: tensor([2]) }, opt.init(params));
 * console.log(updates.w.arraySync()); // ≈ [-0.1] (−0.01·2/√(0.01·4))
 * ```
 */
export function rmsprop(
  lr: LearningRate,
  options: RmspropOptions = {},
): GradientTransformation<[ScaleByRmsState, ScaleByLearningRateState]> {
  checkOptions("optim.rmsprop", options, RMS_KEYS, "{ decay: 0.9 }");
  return chain(scaleByRms(options), scaleByLearningRate(lr));
}

/**
 * Options of {@linkcode adam}: those of `scaleByAdam`.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const options: optim.AdamOptions = { b1: 0.8, b2: 0.99 };
 * const opt = optim.adam(0.01, options);
 * const params = { w: tensor([1, 1]) };
 * const [u] = opt.update({ w: tensor([3, -0.2]) }, opt.init(params));
 * console.log(u.w.arraySync()); // ≈ [-0.01, 0.01] (the first step is −lr·sign(g))
 * ```
 */
export type AdamOptions = ScaleByAdamOptions;

/**
 * Adam (Optax's `adam`): bias-corrected moment estimates, then `−lr`. The
 * first step moves each parameter by about `−lr·sign(g)`.
 *
 * @param lr The learning rate: a number or a schedule.
 * @param options `b1` (default 0.9), `b2` (default 0.999), `eps` (default 1e-8), `epsRoot` (default 0).
 * @returns `chain(scaleByAdam(options), scaleByLearningRate(lr))`.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const opt = optim.adam(1e-3);
 * const params = { w: tensor([1, 1]) };
 * const [updates] = opt.update({ w: tensor([0.01, -5]) }, opt.init(params));
 * console.log(updates.w.arraySync()); // ≈ [-0.001, 0.001]
 * ```
 */
export function adam(
  lr: LearningRate,
  options: AdamOptions = {},
): GradientTransformation<[ScaleByAdamState, ScaleByLearningRateState]> {
  checkOptions("optim.adam", options, ADAM_KEYS, "{ b1: 0.9, b2: 0.999 }");
  return chain(scaleByAdam(options), scaleByLearningRate(lr));
}

/**
 * Options of {@linkcode adamw}.
 *
 * @example
 * ```ts
 * import { optim, type Tensor, tensor } from "@gradus/core";
 *
 * type Params = { w: Tensor; b: Tensor };
 * const options: optim.AdamwOptions<Params> = { weightDecay: 0.5, mask: { w: true, b: false } };
 * const opt = optim.adamw<Params>(0.1, options);
 * const params: Params = { w: tensor([2]), b: tensor([2]) };
 * const [u] = opt.update({ w: tensor([1]), b: tensor([1]) }, opt.init(params), params);
 * console.log(u.w.arraySync(), u.b.arraySync()); // ≈ [-0.2] ≈ [-0.1] (b is not decayed)
 * ```
 */
export interface AdamwOptions<P = unknown> extends ScaleByAdamOptions, AddDecayedWeightsOptions<P> {
  /** The decoupled weight decay factor. Default: `1e-4` (Optax's default). */
  readonly weightDecay?: number;
}

const ADAMW_KEYS: OptionKeys<AdamwOptions<unknown>> = {
  ...ADAM_KEYS,
  weightDecay: true,
  ...DECAY_KEYS,
};

/**
 * AdamW (Optax's `adamw`): Adam's update plus `weightDecay·params`, all
 * scaled by `−lr`, i.e. `W ← W − lr·(m̂/(√v̂ + eps) + wd·W)`. The decay is
 * decoupled from the gradient: it does not pass through the moment
 * estimates. `update` needs the params.
 *
 * @typeParam P The params type the `mask` function takes.
 * @param lr The learning rate: a number or a schedule.
 * @param options Adam's `b1`, `b2`, `eps`, `epsRoot`; `weightDecay`
 * (default 1e-4); `mask` (which params are decayed; default all).
 * @returns `chain(scaleByAdam(…), addDecayedWeights(weightDecay, {mask}), scaleByLearningRate(lr))`.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const opt = optim.adamw(0.1, { weightDecay: 0.5 });
 * const params = { w: tensor([2]) };
 * const [updates] = opt.update({ w: tensor([3]) }, opt.init(params), params);
 * console.log(updates.w.arraySync()); // ≈ [-0.2] (−0.1·(1 + 0.5·2))
 * ```
 */
export function adamw<P = unknown>(
  lr: LearningRate,
  options: AdamwOptions<P> = {},
): GradientTransformation<[ScaleByAdamState, EmptyState, ScaleByLearningRateState]> {
  checkOptions("optim.adamw", options, ADAMW_KEYS, "{ weightDecay: 0.01 }");
  const { weightDecay = 1e-4, mask, ...adamOptions } = options;
  return chain(
    scaleByAdam(adamOptions),
    addDecayedWeights<P>(weightDecay, { mask }),
    scaleByLearningRate(lr),
  );
}
