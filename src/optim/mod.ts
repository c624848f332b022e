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
 * States are pytrees of tensors (step counts are int32 scalar tensors,
 * moment estimates mirror the params), so they can be checkpointed and a
 * `jit`ted training step keeps one signature (traced once); nothing is read
 * back from the device.
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
 * @example From this entry point (`@gradus/core/optim`, the same functions as `optim.*`)
 * ```ts
 * import {
 *   applyUpdates,
 *   chain,
 *   clipByGlobalNorm,
 *   scaleByAdam,
 *   scaleByLearningRate,
 * } from "@gradus/core/optim";
 * import { tensor } from "@gradus/core";
 *
 * const opt = chain(clipByGlobalNorm(1), scaleByAdam(), scaleByLearningRate(0.01));
 * const params = { w: tensor([1, 2]) };
 * const [updates] = opt.update({ w: tensor([30, -40]) }, opt.init(params), params);
 * console.log(applyUpdates(params, updates).w.arraySync()); // ≈ [0.99, 2.01]
 * ```
 *
 * @module
 */

// Whole files are re-exported: `deno doc` (and so JSR) lists the members of
// the `export * as` namespaces in mod.ts only when they come through
// `export *`. What is not public lives in `_`-prefixed files.
import "../ops/tensor_methods.ts"; // installs Tensor's methods (x.add(y), x.sum(), …)

export * from "./base.ts";
export * from "./chain.ts";
export * from "./transforms.ts";
export * from "./clipping.ts";
export * from "./aliases.ts";
export * from "./schedules.ts";
