/**
 * Optimizers with Optax's design. A {@linkcode GradientTransformation} is a
 * pure pair `{init, update}`: `init(params)` makes the state, and
 * `update(grads, state, params?)` returns `[updates, newState]`;
 * {@linkcode applyUpdates} adds the updates to the params. Optimizers are
 * chains of small transformations ending in `scaleByLearningRate(lr)`, the
 * only place where the sign flips:
 *
 * - aliases: `sgd`, `momentum`, `adagrad`, `rmsprop`, `adam`, `adamw`;
 * - transformations: `scaleByLearningRate`, `scaleBySchedule`, `scale`,
 *   `trace`, `scaleByRss`, `scaleByRms`, `scaleByAdam`, `addDecayedWeights`,
 *   `clipByGlobalNorm`, `clip`, composed with `chain`;
 * - schedules, accepted wherever a learning rate is: `constantSchedule`,
 *   `exponentialDecay`, `stepSchedule`, `piecewiseConstantSchedule`,
 *   `cosineDecaySchedule`, `linearSchedule`, `warmupCosineDecaySchedule`,
 *   `linearWarmup`, `joinSchedules`.
 *
 * States are pytrees (step counts are plain numbers, moment estimates are
 * tensors mirroring the params), so they can be checkpointed; nothing is
 * read back from the device.
 *
 * @example A training step
 * ```ts
 * import { grad, mul, optim, sum, type Tensor, tensor } from "@gradus/core";
 *
 * const loss = (p: { w: Tensor }) => sum(mul(p.w, p.w));
 * const opt = optim.adam(0.1);
 * let params = { w: tensor([1, -2]) };
 * let state = opt.init(params);
 * for (let step = 0; step < 100; step++) {
 *   const [updates, next] = opt.update(grad(loss)(params), state, params);
 *   params = optim.applyUpdates(params, updates);
 *   state = next;
 * }
 * console.log(params.w.arraySync()); // ≈ [0.003, 0.008], close to the minimum at [0, 0]
 * ```
 *
 * @module
 */

export {
  applyUpdates,
  type GradientTransformation,
  type LearningRate,
  type OptimizerState,
  type OptState,
  type Schedule,
} from "./base.ts";
export { chain, type StatesOf } from "./chain.ts";
export {
  addDecayedWeights,
  type AddDecayedWeightsOptions,
  clip,
  clipByGlobalNorm,
  type EmptyState,
  globalNorm,
  type MaskTree,
  scale,
  scaleByAdam,
  type ScaleByAdamOptions,
  type ScaleByAdamState,
  scaleByLearningRate,
  type ScaleByLearningRateState,
  scaleByRms,
  type ScaleByRmsOptions,
  type ScaleByRmsState,
  scaleByRss,
  type ScaleByRssOptions,
  type ScaleByRssState,
  scaleBySchedule,
  type ScaleByScheduleState,
  trace,
  type TraceOptions,
  type TraceState,
} from "./transforms.ts";
export {
  adagrad,
  type AdagradOptions,
  adam,
  type AdamOptions,
  adamw,
  type AdamwOptions,
  momentum,
  type MomentumOptions,
  rmsprop,
  type RmspropOptions,
  sgd,
} from "./aliases.ts";
export {
  constantSchedule,
  cosineDecaySchedule,
  type CosineDecayScheduleOptions,
  exponentialDecay,
  type ExponentialDecayOptions,
  joinSchedules,
  linearSchedule,
  type LinearScheduleOptions,
  linearWarmup,
  type LinearWarmupOptions,
  piecewiseConstantSchedule,
  type PiecewiseConstantScheduleOptions,
  stepSchedule,
  type StepScheduleOptions,
  warmupCosineDecaySchedule,
  type WarmupCosineDecayScheduleOptions,
} from "./schedules.ts";
