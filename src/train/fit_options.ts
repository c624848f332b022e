/**
 * The types of `fit`'s options, callbacks, logs and result (kept apart from
 * the loop in `fit.ts`).
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import type { GradientTransformation } from "../optim/base.ts";
import type { PRNGKey } from "../random/random.ts";
import type { ProgressDisplayOptions } from "../report/progress.ts";

/**
 * What `fit` passes as the third argument of the loss and of the metrics.
 *
 * @typeParam M The model state's type (`undefined` without `modelState`).
 */
export interface TrainContext<M = undefined> {
  /** A key for this call (e.g. for dropout): a fresh one every training step. */
  readonly key: PRNGKey;
  /** `true` in training steps, `false` during evaluation. */
  readonly training: boolean;
  /** The model state (e.g. batch-norm running statistics); `undefined` without `modelState`. */
  readonly state: M;
}

/**
 * A loss for `fit`: a scalar tensor from the parameters, a batch and the
 * context.
 *
 * @typeParam P The parameters' type.
 * @typeParam D The dataset's (and each batch's) type.
 */
export type LossFn<P, D> = (params: P, batch: D, ctx: TrainContext) => Tensor;

/**
 * A loss for `fit` with a model state: returns `[loss, newModelState]`. In
 * evaluation (`ctx.training === false`) the new state is ignored.
 *
 * @typeParam P The parameters' type.
 * @typeParam D The dataset's (and each batch's) type.
 * @typeParam M The model state's type.
 */
export type StatefulLossFn<P, D, M> = (
  params: P,
  batch: D,
  ctx: TrainContext<M>,
) => [Tensor, M];

/**
 * A validation metric: a scalar tensor per batch (e.g. accuracy); `fit`
 * averages it over the validation set weighted by batch size.
 *
 * @typeParam P The parameters' type.
 * @typeParam D The dataset's (and each batch's) type.
 * @typeParam M The model state's type.
 */
export type MetricFn<P, D, M = undefined> = (
  params: P,
  batch: D,
  ctx: TrainContext<M>,
) => Tensor;

/** Validation settings of `fit`. */
export interface ValidationOptions<P, D, M = undefined> {
  /** The validation set: the same structure as the training data. */
  readonly data: D;
  /** Metrics by name; each shows up as `val_<name>` in the history. */
  readonly metrics?: Readonly<Record<string, MetricFn<P, D, M>>>;
  /** Batch size for evaluation (default: the training `batchSize`). */
  readonly batchSize?: number;
}

/** Early-stopping settings of `fit`; checked at the end of every epoch. */
export interface EarlyStoppingOptions {
  /**
   * Stop after this many epochs in a row without improvement (an integer
   * ≥ 0; as in Keras, 0 and 1 both stop at the first epoch that does not
   * improve).
   */
  readonly patience: number;
  /**
   * What to watch: `"val_loss"` (default), `"val_<metric>"` for a validation
   * metric, or `"loss"` (the mean training loss).
   */
  readonly monitor?: string;
  /** Whether smaller or larger is better. Default: `"min"` when `monitor` ends in `loss`, else `"max"`. */
  readonly mode?: "min" | "max";
  /** Return the parameters (and optimizer and model state) of the best epoch (default true). */
  readonly restoreBest?: boolean;
  /** The least change that counts as an improvement (default 0). */
  readonly minDelta?: number;
}

/** One training step in the history. */
export interface StepLog {
  /** The number of updates applied so far, over all epochs (1 after the first). */
  readonly step: number;
  /** The epoch, from 1. */
  readonly epoch: number;
  /** The loss on this step's batch (before the update). */
  readonly loss: number;
}

/** One evaluation on the validation set. */
export interface EvalLog {
  /** The number of updates applied before this evaluation. */
  readonly step: number;
  /** The epoch, from 1. */
  readonly epoch: number;
  /** The validation loss. */
  readonly val_loss: number;
  /** The validation metrics, `val_<name>`. */
  readonly [metric: `val_${string}`]: number;
}

/** One epoch in the history. */
export interface EpochLog {
  /** The epoch, from 1. */
  readonly epoch: number;
  /** The mean training loss over the epoch's steps. */
  readonly loss: number;
  /** Seconds the epoch took, evaluation included. */
  readonly time: number;
  /** The validation loss at the end of the epoch (with `validation`). */
  readonly val_loss?: number;
  /** The validation metrics at the end of the epoch, `val_<name>` (with `validation`). */
  readonly [metric: `val_${string}`]: number | undefined;
}

/** What `fit` recorded. */
export interface History {
  /** One entry per training step. */
  readonly steps: StepLog[];
  /** One entry per finished epoch. */
  readonly epochs: EpochLog[];
  /** One entry per evaluation (every `evalEvery` steps and at the end of each epoch). */
  readonly evals: EvalLog[];
}

/** The options of `fit` shared by the stateless and the stateful form. */
export interface FitCommonOptions<P, D, S, M> {
  /** The initial parameters: a pytree of float tensors. */
  readonly params: P;
  /** The optimizer, e.g. `optim.adam(1e-3)`. */
  readonly optimizer: GradientTransformation<S>;
  /** The optimizer's initial state (default `optimizer.init(params)`); pass one to resume training. */
  readonly optState?: S;
  /** The training set: a pytree of tensors sharing a leading (example) axis. */
  readonly data: D;
  /** How many passes over the data (a positive integer). */
  readonly epochs: number;
  /** Examples per step. */
  readonly batchSize: number;
  /** The key for shuffling each epoch and for `ctx.key` (split per step). */
  readonly key: PRNGKey;
  /** Shuffle the data every epoch (default true). */
  readonly shuffle?: boolean;
  /** Drop a last batch smaller than `batchSize` (default false). */
  readonly dropLast?: boolean;
  /** Validation data and metrics, evaluated in eval mode (`ctx.training === false`). */
  readonly validation?: ValidationOptions<P, D, M>;
  /** Also evaluate every this many steps (default: only at the end of each epoch). */
  readonly evalEvery?: number;
  /** Stop when the monitored value stops improving; restores the best parameters by default. */
  readonly earlyStopping?: EarlyStoppingOptions;
  /** Clip the gradients to this global L2 norm before the optimizer. */
  readonly maxGradNorm?: number;
  /**
   * What to do when a step's training loss, or an evaluation's `val_loss`,
   * is NaN or ±Infinity: `"error"` (default) stops training with a
   * `NonFiniteLossError` naming the step, the epoch, the value and the usual
   * causes (a learning rate too high; class labels out of range, which give
   * NaN on WebGPU); `"continue"` records the value and trains on.
   */
  readonly nonFinite?: "error" | "continue";
  /** Print nothing (default false). */
  readonly quiet?: boolean;
  /**
   * Where and how the progress bar writes (writer, tty, clock, width,
   * `logEveryMs` for a line every 10 s outside a terminal); the clock also
   * times epochs.
   */
  readonly progress?: ProgressDisplayOptions;
  /**
   * Called after every step with its log entry and the current values (the
   * parameters after the update).
   */
  readonly onStep?: (entry: StepLog, state: FitState<P, S, M>) => void | Promise<void>;
  /** Called after every evaluation, with its log entry and the values it evaluated. */
  readonly onEval?: (entry: EvalLog, state: FitState<P, S, M>) => void | Promise<void>;
  /**
   * Called after every epoch, with its log entry and the values at its end:
   * evaluate anything per epoch here, e.g. the accuracy on a test set for
   * an overfitting plot.
   */
  readonly onEpoch?: (entry: EpochLog, state: FitState<P, S, M>) => void | Promise<void>;
}

/**
 * The current values, as `fit`'s callbacks receive them. They are valid
 * while the callback runs (and the callback may await): `fit` frees them
 * when the next step replaces them, so keep a copy of what you want to keep
 * (`tree.map((t) => t.add(0), params)`); what the callback computes from
 * them is its own (wrap it in `tidy` to free temporaries at once).
 *
 * @typeParam P The parameters' type.
 * @typeParam S The optimizer state's type.
 * @typeParam M The model state's type (`undefined` without `modelState`).
 */
export interface FitState<P, S, M = undefined> {
  /** The parameters. */
  readonly params: P;
  /** The optimizer state. */
  readonly optState: S;
  /** The model state (`undefined` without `modelState`). */
  readonly modelState: M;
}

/** Options of `fit` without a model state. */
export interface FitOptions<P, D, S> extends FitCommonOptions<P, D, S, undefined> {
  /** The loss: `(params, batch, ctx) => scalar tensor`. */
  readonly loss: LossFn<P, D>;
  /** No model state. */
  readonly modelState?: undefined;
}

/** Options of `fit` with a model state (e.g. batch-norm running statistics). */
export interface StatefulFitOptions<P, D, S, M> extends FitCommonOptions<P, D, S, M> {
  /** The loss: `(params, batch, ctx) => [scalar tensor, newModelState]`; `ctx.state` is the current state. */
  readonly loss: StatefulLossFn<P, D, M>;
  /** The initial model state, threaded through the training steps. */
  readonly modelState: M;
}

/** What `fit` returns. */
export interface FitResult<P, S, M = undefined> {
  /** The trained parameters (the best epoch's with `earlyStopping.restoreBest`). */
  readonly params: P;
  /** The optimizer state that goes with `params`. */
  readonly optState: S;
  /** The model state that goes with `params` (`undefined` without one). */
  readonly modelState: M;
  /** The recorded losses and metrics. */
  readonly history: History;
  /** With `earlyStopping`: the epoch (from 1) with the best monitored value. */
  readonly bestEpoch?: number;
  /** Whether early stopping ended training before `epochs`. */
  readonly stoppedEarly: boolean;
}
