/**
 * The types of `fit`'s options, callbacks, logs and result (kept apart from
 * the loop in `fit.ts`).
 *
 * Past ~600 lines because it is almost all documentation (about 700 of its
 * lines are JSDoc with runnable examples, 115 are code): one coherent
 * thing, `fit`'s interface, so it stays one file.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import type { Batch } from "../data/batching.ts";
import type { GradientTransformation } from "../optim/base.ts";
import type { PRNGKey } from "../random/random.ts";
import type { ProgressDisplayOptions } from "../report/progress.ts";

/**
 * What `fit` passes as the third argument of the loss and of the metrics.
 *
 * @typeParam M The model state's type (`undefined` without `modelState`).
 *
 * @example
 * ```ts
 * import {
 *   fit,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   sub,
 *   tensor,
 *   type Tensor,
 *   type TrainContext,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * const modes: boolean[] = [];
 * // ctx.training: true in training steps (dropout on), false in evaluation.
 * const loss = (p: Params, b: Batch, ctx: TrainContext) => {
 *   modes.push(ctx.training);
 *   return mse(p, b);
 * };
 * await fit({
 *   loss,
 *   validation: { data, batchSize: 4 },
 *   epochs: 1,
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * // Under jit (the default) the loss runs once per program it is traced into: one training
 * // step (replayed for the second batch), then the evaluation. With jit: false, once per batch.
 * console.log(modes); // [ true, false ]
 * ```
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
 *
 * @example
 * ```ts
 * import {
 *   fit,
 *   type LossFn,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   sub,
 *   tensor,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * const loss: LossFn<Params, Batch> = (p, b) => mse(p, b);
 * const { params } = await fit({
 *   loss,
 *   epochs: 50,
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * console.log(params.w.arraySync()); // ≈ [[2]]
 * ```
 */
export type LossFn<P, D> = (params: P, batch: D, ctx: TrainContext) => Tensor;

/**
 * A loss for `fit` with a model state: returns `[loss, newModelState]`. In
 * evaluation (`ctx.training === false`) the new state is ignored.
 *
 * @typeParam P The parameters' type.
 * @typeParam D The dataset's (and each batch's) type.
 * @typeParam M The model state's type.
 *
 * @example
 * ```ts
 * import {
 *   fit,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   type StatefulLossFn,
 *   sub,
 *   tensor,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * // The model state counts the examples seen in training.
 * const loss: StatefulLossFn<Params, Batch, number> = (p, b, ctx) => [
 *   mse(p, b),
 *   ctx.state + b.x.shape[0],
 * ];
 * const result = await fit({
 *   loss,
 *   modelState: 0,
 *   epochs: 3,
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * console.log(result.modelState); // 12
 * ```
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
 *
 * @example
 * ```ts
 * import {
 *   abs,
 *   fit,
 *   matmul,
 *   mean,
 *   type MetricFn,
 *   optim,
 *   random,
 *   square,
 *   sub,
 *   tensor,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * const mae: MetricFn<Params, Batch> = (p, b) => mean(abs(sub(matmul(b.x, p.w), b.y)));
 * const { history } = await fit({
 *   loss: mse,
 *   validation: { data, metrics: { mae } },
 *   epochs: 2,
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * console.log(Object.keys(history.evals[0])); // [ "step", "epoch", "val_loss", "val_mae" ]
 * ```
 */
export type MetricFn<P, D, M = undefined> = (
  params: P,
  batch: D,
  ctx: TrainContext<M>,
) => Tensor;

/**
 * Validation settings of `fit`.
 *
 * @example
 * ```ts
 * import {
 *   fit,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   sub,
 *   tensor,
 *   type Tensor,
 *   type ValidationOptions,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * const validation: ValidationOptions<Params, Batch> = {
 *   data: { x: tensor([[5]]), y: tensor([[10]]) },
 *   metrics: { err: (p, b) => sub(matmul(b.x, p.w), b.y).sum() },
 *   batchSize: 1,
 * };
 * const { history } = await fit({
 *   loss: mse,
 *   validation,
 *   epochs: 2,
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * console.log(history.epochs.map((e) => typeof e.val_err)); // [ "number", "number" ]
 * ```
 */
export interface ValidationOptions<P, D, M = undefined> {
  /** The validation set: the same structure as the training data. */
  readonly data: D;
  /** Metrics by name; each shows up as `val_<name>` in the history. */
  readonly metrics?: Readonly<Record<string, MetricFn<P, Batch<D>, M>>>;
  /** Batch size for evaluation (default: the training `batchSize`). */
  readonly batchSize?: number;
}

/**
 * Early-stopping settings of `fit`; checked at the end of every epoch.
 *
 * @example
 * ```ts
 * import {
 *   type EarlyStoppingOptions,
 *   fit,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   sub,
 *   tensor,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * const earlyStopping: EarlyStoppingOptions = {
 *   patience: 2,
 *   monitor: "loss",
 *   mode: "min",
 *   minDelta: 1e-3,
 *   restoreBest: true,
 * };
 * const result = await fit({
 *   loss: mse,
 *   earlyStopping,
 *   epochs: 500,
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * console.log(result.stoppedEarly, result.bestEpoch! < 500); // true true
 * ```
 */
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

/**
 * One training step in the history.
 *
 * @example
 * ```ts
 * import {
 *   fit,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   type StepLog,
 *   sub,
 *   tensor,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * const steps: StepLog[] = [];
 * await fit({
 *   loss: mse,
 *   epochs: 2,
 *   onStep: (entry) => {
 *     steps.push(entry);
 *   },
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * console.log(steps.map((s) => [s.epoch, s.step])); // [[1, 1], [1, 2], [2, 3], [2, 4]]
 * ```
 */
export interface StepLog {
  /** The number of updates applied so far, over all epochs (1 after the first). */
  readonly step: number;
  /** The epoch, from 1. */
  readonly epoch: number;
  /** The loss on this step's batch (before the update). */
  readonly loss: number;
}

/**
 * One evaluation on the validation set.
 *
 * @example
 * ```ts
 * import {
 *   type EvalLog,
 *   fit,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   sub,
 *   tensor,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * const evals: EvalLog[] = [];
 * // Evaluates every step here, and at the end of each epoch.
 * await fit({
 *   loss: mse,
 *   validation: { data },
 *   evalEvery: 1,
 *   epochs: 1,
 *   onEval: (entry) => {
 *     evals.push(entry);
 *   },
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * console.log(evals.map((e) => e.step)); // [ 1, 2 ]
 * ```
 */
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

/**
 * One epoch in the history.
 *
 * @example
 * ```ts
 * import {
 *   type EpochLog,
 *   fit,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   sub,
 *   tensor,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * const epochs: EpochLog[] = [];
 * await fit({
 *   loss: mse,
 *   validation: { data },
 *   epochs: 3,
 *   onEpoch: (entry) => {
 *     epochs.push(entry);
 *   },
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * console.log(epochs.map((e) => e.epoch), epochs[2].loss < epochs[0].loss); // [ 1, 2, 3 ] true
 * ```
 */
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

/**
 * What `fit` recorded.
 *
 * @example
 * ```ts
 * import {
 *   fit,
 *   type History,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   sub,
 *   tensor,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * const result = await fit({
 *   loss: mse,
 *   validation: { data },
 *   epochs: 3,
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * const { steps, epochs, evals }: History = result.history;
 * console.log(steps.length, epochs.length, evals.length); // 6 3 3
 * ```
 */
export interface History {
  /** One entry per training step. */
  readonly steps: StepLog[];
  /** One entry per finished epoch. */
  readonly epochs: EpochLog[];
  /** One entry per evaluation (every `evalEvery` steps and at the end of each epoch). */
  readonly evals: EvalLog[];
}

/**
 * The options of `fit` shared by the stateless and the stateful form.
 *
 * @example
 * ```ts
 * import {
 *   fit,
 *   type FitCommonOptions,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   sub,
 *   tensor,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * // The options every form of fit takes; the loss (and model state) come on top.
 * const common: FitCommonOptions<Params, Batch, [optim.ScaleByLearningRateState], undefined> = {
 *   epochs: 50,
 *   shuffle: false,
 *   maxGradNorm: 10,
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * };
 * const { params } = await fit({ ...common, loss: mse });
 * console.log(params.w.arraySync()); // ≈ [[2]]
 * ```
 */
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
  /**
   * Also evaluate the validation data every this many steps (default: only
   * at the end of each epoch); needs `validation`.
   */
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
  /**
   * Run each training step (loss, gradients, clipping, optimizer update) as
   * one `jit`ted program, traced once per batch shape (default `true`); the
   * results are the same as eager, bit for bit. The step runs eagerly with
   * `false`, or when the optimizer state or `modelState` has leaves other
   * than tensors (a number leaf would be traced again at every new value).
   * Pass `false` when the loss reads values on the host (`itemSync()`,
   * branching on a tensor's value), which cannot be traced. Each validation
   * batch's loss and metrics run jitted too when the step does (eagerly
   * with `false`, or where a metric cannot be traced), with the same
   * values.
   */
  readonly jit?: boolean;
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
 *
 * @example
 * ```ts
 * import {
 *   fit,
 *   type FitState,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   sub,
 *   tensor,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * const snapshots: number[] = [];
 * const record = async (state: FitState<Params, unknown>) => {
 *   snapshots.push(await state.params.w.item()); // read it now: fit frees it later
 * };
 * await fit({
 *   loss: mse,
 *   epochs: 3,
 *   onEpoch: (_entry, state) => record(state),
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * console.log(snapshots.length); // 3: w after each epoch
 * ```
 */
export interface FitState<P, S, M = undefined> {
  /** The parameters. */
  readonly params: P;
  /** The optimizer state. */
  readonly optState: S;
  /** The model state (`undefined` without `modelState`). */
  readonly modelState: M;
}

/**
 * Options of `fit` without a model state.
 *
 * @example
 * ```ts
 * import {
 *   fit,
 *   type FitOptions,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   sub,
 *   tensor,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * const options: FitOptions<Params, Batch, [optim.ScaleByLearningRateState]> = {
 *   loss: mse,
 *   epochs: 50,
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * };
 * const { params } = await fit(options);
 * console.log(params.w.arraySync()); // ≈ [[2]]
 * ```
 */
export interface FitOptions<P, D, S> extends FitCommonOptions<P, D, S, undefined> {
  /** The loss: `(params, batch, ctx) => scalar tensor`. */
  readonly loss: LossFn<P, Batch<D>>;
  /** No model state. */
  readonly modelState?: undefined;
}

/**
 * Options of `fit` with a model state (e.g. batch-norm running statistics).
 *
 * @example
 * ```ts
 * import {
 *   fit,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   type StatefulFitOptions,
 *   sub,
 *   tensor,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * type S = [optim.ScaleByLearningRateState];
 * // The model state counts the training steps.
 * const options: StatefulFitOptions<Params, Batch, S, number> = {
 *   loss: (p, b, ctx) => [mse(p, b), ctx.state + 1],
 *   modelState: 0,
 *   epochs: 2,
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * };
 * const { modelState } = await fit(options);
 * console.log(modelState); // 4: 2 epochs of 2 batches
 * ```
 */
export interface StatefulFitOptions<P, D, S, M> extends FitCommonOptions<P, D, S, M> {
  /** The loss: `(params, batch, ctx) => [scalar tensor, newModelState]`; `ctx.state` is the current state. */
  readonly loss: StatefulLossFn<P, Batch<D>, M>;
  /** The initial model state, threaded through the training steps. */
  readonly modelState: M;
}

/**
 * What `fit` returns.
 *
 * @example
 * ```ts
 * import {
 *   fit,
 *   type FitResult,
 *   matmul,
 *   mean,
 *   optim,
 *   random,
 *   square,
 *   sub,
 *   tensor,
 *   type Tensor,
 * } from "@gradus/core";
 *
 * // y = 2x, one weight.
 * const data = { x: tensor([[1], [2], [3], [4]]), y: tensor([[2], [4], [6], [8]]) };
 * type Batch = typeof data;
 * type Params = { w: Tensor };
 * const mse = (p: Params, b: Batch) => mean(square(sub(matmul(b.x, p.w), b.y)));
 * const result: FitResult<Params, [optim.ScaleByLearningRateState], undefined> = await fit({
 *   loss: mse,
 *   epochs: 2,
 *   params: { w: tensor([[0]]) },
 *   optimizer: optim.sgd(0.01),
 *   data,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * console.log(result.optState[0].count.itemSync(), result.history.steps.length); // 4 4
 * console.log(result.stoppedEarly, result.bestEpoch); // false undefined (no earlyStopping)
 * ```
 */
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
