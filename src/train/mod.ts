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
export {
  type EarlyStoppingOptions,
  type EpochLog,
  type EvalLog,
  fit,
  type FitCommonOptions,
  type FitOptions,
  type FitResult,
  type History,
  type LossFn,
  type MetricFn,
  type StatefulFitOptions,
  type StatefulLossFn,
  type StepLog,
  type TrainContext,
  type ValidationOptions,
} from "./fit.ts";
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
