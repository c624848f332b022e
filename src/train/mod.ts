/**
 * Training utilities: minibatching and splits, a Keras-like `fit` over pure
 * functions, a terminal progress bar, and random hyperparameter search.
 *
 * @module
 */

// `fit`'s options name the optimizer types; re-exported here so that it is
// public at the top level (it is otherwise only reachable as
// `optim.GradientTransformation`, which `deno doc --lint` counts as private).
export type { GradientTransformation, OptimizerState, OptState } from "../optim/base.ts";

export {
  batches,
  type BatchOptions,
  numBatches,
  numExamples,
  type NumExamplesOptions,
  randomBatch,
  trainValidSplit,
  type TrainValidSplitOptions,
} from "../data/batching.ts";
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
