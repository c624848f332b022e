/**
 * Training utilities: minibatching and splits, a Keras-like `fit` over pure
 * functions, a terminal progress bar, and random hyperparameter search.
 * `@gradus/core` exports all of them at its top level too.
 *
 * @example From this entry point (`@gradus/core/train`)
 * ```ts
 * import { fit, trainValidSplit } from "@gradus/core/train";
 * import { matmul, mean, optim, random, square, sub, type Tensor, tensor } from "@gradus/core";
 *
 * // y = 3x on 8 points; 2 of them held out.
 * const x = tensor([[1], [2], [3], [4], [5], [6], [7], [8]]);
 * const [train, valid] = trainValidSplit({ x, y: x.mul(3) }, {
 *   validFraction: 0.25,
 *   key: random.key(0),
 * });
 * const { params, history } = await fit({
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.005),
 *   loss: (p: { w: Tensor }, b: typeof train) => mean(square(sub(matmul(b.x, p.w), b.y))),
 *   data: train,
 *   validation: { data: valid },
 *   epochs: 30,
 *   batchSize: 2,
 *   key: random.key(1),
 *   quiet: true,
 * });
 * console.log(params.w.arraySync(), history.epochs.length); // ≈ [[3]] 30
 * ```
 *
 * @module
 */

// `fit`'s options name the optimizer types; re-exported here so that it is
// public at the top level (it is otherwise only reachable as
// `optim.GradientTransformation`, which `deno doc --lint` counts as private).
import "../ops/tensor_methods.ts"; // installs Tensor's methods (x.add(y), x.sum(), …)

export type { GradientTransformation, OptimizerState, OptState } from "../optim/base.ts";

export {
  type Batch,
  batches,
  type BatchOptions,
  type HasCompact,
  numBatches,
  numExamples,
  type NumExamplesOptions,
  randomBatch,
  trainValidSplit,
  type TrainValidSplitOptions,
  type WithCompact,
} from "../data/batching.ts";
// Named by the batching types above (compact images become float32 batches).
export type { CompactImages } from "../data/compact_images.ts";
export { fit, NonFiniteLossError } from "./fit.ts";
export type {
  EarlyStoppingOptions,
  EpochLog,
  EvalLog,
  FitCommonOptions,
  FitOptions,
  FitResult,
  FitState,
  History,
  LossFn,
  MetricFn,
  StatefulFitOptions,
  StatefulLossFn,
  StepLog,
  TrainContext,
  ValidationOptions,
} from "./fit_options.ts";
export {
  ProgressBar,
  type ProgressBarOptions,
  type ProgressDisplayOptions,
  type ProgressWriter,
} from "../report/progress.ts";
export {
  type HParams,
  intRange,
  logUniform,
  oneOf,
  randomSearch,
  type RandomSearchOptions,
  type Sampler,
  type SearchSpace,
  type Trial,
  uniformRange,
} from "./search.ts";
