/**
 * `fit`: a Keras-like training loop over pure functions — epochs of shuffled
 * minibatches, validation, early stopping, gradient clipping, a history and
 * a progress bar — built from the same pieces as a hand-written loop
 * (`valueAndGrad`, `optimizer.update`, `applyUpdates`).
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import { fmtShape, ShapeError } from "../core/errors.ts";
import { Tensor } from "../core/tensor.ts";
import { valueAndGrad } from "../autodiff/grad.ts";
import { tidy } from "../autodiff/tidy.ts";
import { dispose as disposeTree } from "../tree/tree.ts";
import { describe } from "../ops/convert.ts";
import { add, cast, div, mul } from "../ops/elementwise.ts";
import { applyUpdates, type GradientTransformation, type OptimizerState } from "../optim/base.ts";
import { clipByGlobalNorm } from "../optim/transforms.ts";
import { type PRNGKey, split } from "../random/random.ts";
import { batches, numBatches, numExamples } from "../data/batching.ts";
import { ProgressBar, type ProgressDisplayOptions } from "../report/progress.ts";

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
  /** Print nothing (default false). */
  readonly quiet?: boolean;
  /** Where and how the progress bar writes (writer, tty, clock, width); the clock also times epochs. */
  readonly progress?: ProgressDisplayOptions;
  /** Called after every step. */
  readonly onStep?: (entry: StepLog) => void | Promise<void>;
  /** Called after every evaluation. */
  readonly onEval?: (entry: EvalLog) => void | Promise<void>;
  /** Called after every epoch. */
  readonly onEpoch?: (entry: EpochLog) => void | Promise<void>;
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

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`fit(): ${name} must be a positive integer, got ${v}`);
  }
}

function checkScalar(what: string, v: unknown): Tensor {
  if (!(v instanceof Tensor)) {
    throw new TypeError(`fit(): ${what} must return a scalar tensor, got ${describe(v)}`);
  }
  if (v.ndim !== 0) {
    throw new ShapeError(
      `fit(): ${what} must return a scalar tensor, got shape ${
        fmtShape(v.shape)
      }; reduce it first (mean())`,
    );
  }
  return v;
}

type AnyLoss = (params: unknown, batch: unknown, ctx: TrainContext<unknown>) => unknown;

/** The values of one evaluation: `val_loss` and `val_<metric>`. */
type ValValues = { readonly val_loss: number; readonly [metric: `val_${string}`]: number };

/**
 * Trains `params` on `data` with `optimizer`: for each epoch, a fresh
 * shuffle (from `key`), then one step per minibatch. A step is exactly what
 * a hand-written loop does — `valueAndGrad` of the loss, optional clipping
 * to `maxGradNorm`, `optimizer.update`, `applyUpdates` — so `fit` is a
 * convenience, never a requirement: the second example below trains the
 * same model by hand in a dozen lines.
 *
 * The loss is called as `loss(params, batch, ctx)` with `ctx = { key,
 * training, state }`: `ctx.key` is a fresh key per step (split from `key`)
 * for dropout; `ctx.training` is `false` during evaluation. With
 * `modelState`, use the stateful form (see the other overload).
 *
 * Validation (`validation.data`) runs at the end of every epoch (and every
 * `evalEvery` steps) in eval mode, batched: the loss and each metric are
 * averaged over the validation set weighted by batch size, giving
 * `val_loss` and `val_<name>`. Early stopping watches `val_loss` (or
 * `earlyStopping.monitor`) once per epoch and, by default, returns the best
 * epoch's parameters.
 *
 * Host reads: the loss value of every step is read (`await loss.item()`)
 * for the history and the progress bar, plus one read per validation value
 * per evaluation. Everything else stays on the backend.
 *
 * Memory: each step frees at once the values it replaces (the previous
 * parameters, optimizer and model state, gradients, the batch and the
 * update's temporaries), and each evaluation its forward passes; the
 * tensors you pass in (`params`, `optState`, `modelState`, the datasets)
 * are never freed, and the returned ones stay valid.
 *
 * @typeParam P The parameters' type (flows through to the result).
 * @typeParam D The dataset's (and each batch's) type.
 * @typeParam O The optimizer's type; its state type is
 * `OptimizerState<O>` (for a union of optimizers, the union of their states).
 * @param options `params`, `optimizer`, `loss`, `data`, `epochs`,
 * `batchSize`, `key`; optionally `validation`, `evalEvery`,
 * `earlyStopping`, `maxGradNorm`, `shuffle`, `dropLast`, `optState`,
 * `quiet`, `progress`, `onStep`, `onEval`, `onEpoch`.
 * @returns The trained parameters and optimizer state, the history, and
 * early-stopping information.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fit, mean, mul, optim, random, square, sub, tensor } from "@gradus/core";
 *
 * const x = tensor([[0], [1], [2], [3]]);
 * const data = { x, y: mul(x, 2) };
 * const result = await fit({
 *   params: { w: tensor([0]) },
 *   optimizer: optim.sgd(0.1),
 *   loss: (p, batch) => mean(square(sub(mul(batch.x, p.w), batch.y))),
 *   data,
 *   epochs: 20,
 *   batchSize: 2,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * assert.equal(result.history.epochs.length, 20);
 * console.log(result.params.w.arraySync()); // ≈ [2]
 * ```
 * @example The same loop by hand
 * ```ts
 * import { batches, mean, mul, optim, random, square, sub, type Tensor, tensor, valueAndGrad } from "@gradus/core";
 *
 * const x = tensor([[0], [1], [2], [3]]);
 * const data = { x, y: mul(x, 2) };
 * const loss = (p: { w: Tensor }, batch: typeof data) => mean(square(sub(mul(batch.x, p.w), batch.y)));
 * const optimizer = optim.sgd(0.1);
 * let params = { w: tensor([0]) };
 * let optState = optimizer.init(params);
 * let key = random.key(0);
 * for (let epoch = 1; epoch <= 20; epoch++) {
 *   const [next, shuffleKey] = random.split(key);
 *   key = next;
 *   for (const batch of batches(data, { batchSize: 2, key: shuffleKey })) {
 *     const [value, grads] = valueAndGrad(loss)(params, batch);
 *     const [updates, nextState] = optimizer.update(grads, optState, params);
 *     params = optim.applyUpdates(params, updates);
 *     optState = nextState;
 *     if (epoch === 20) console.log(await value.item()); // ≈ 0
 *   }
 * }
 * ```
 */
export function fit<P, D, O extends GradientTransformation<unknown>>(
  options: FitOptions<P, D, OptimizerState<O>> & { readonly optimizer: O },
): Promise<FitResult<P, OptimizerState<O>>>;
/**
 * `fit` with a model state (e.g. batch-norm running statistics): the loss
 * returns `[loss, newModelState]`, receives the current state as
 * `ctx.state`, and the new state is threaded to the next step. Evaluation
 * passes the current state and ignores the returned one.
 *
 * @typeParam P The parameters' type.
 * @typeParam D The dataset's (and each batch's) type.
 * @typeParam O The optimizer's type (see the stateless form).
 * @typeParam M The model state's type.
 * @param options As for the stateless form, plus `modelState`.
 * @returns As for the stateless form, plus the final `modelState`.
 * @example
 * ```ts
 * import { fit, mean, optim, random, square, type Tensor, tensor, zeros } from "@gradus/core";
 *
 * const result = await fit({
 *   params: { w: tensor(0) },
 *   optimizer: optim.sgd(0.1),
 *   // Counts steps in the model state.
 *   loss: (p: { w: Tensor }, batch: { x: Tensor }, ctx): [Tensor, number] => [
 *     mean(square(p.w)),
 *     ctx.state + 1,
 *   ],
 *   modelState: 0,
 *   data: { x: zeros([6, 1]) },
 *   epochs: 2,
 *   batchSize: 3,
 *   key: random.key(0),
 *   quiet: true,
 * });
 * console.log(result.modelState); // 4
 * ```
 */
export function fit<P, D, O extends GradientTransformation<unknown>, M>(
  options: StatefulFitOptions<P, D, OptimizerState<O>, M> & { readonly optimizer: O },
): Promise<FitResult<P, OptimizerState<O>, M>>;
export async function fit<P, D, S, M>(
  options: FitOptions<P, D, S> | StatefulFitOptions<P, D, S, M>,
): Promise<FitResult<P, S, M | undefined>> {
  const {
    optimizer,
    data,
    epochs,
    batchSize,
    key,
    shuffle = true,
    dropLast = false,
    validation,
    evalEvery,
    earlyStopping,
    maxGradNorm,
    quiet = false,
  } = options;
  const hasState = options.modelState !== undefined;
  const userLoss = options.loss as AnyLoss;
  // The loss, checked for the form that goes with `modelState`.
  const loss: AnyLoss = (p, batch, ctx) => {
    const out = userLoss(p, batch, ctx);
    if (hasState && !(Array.isArray(out) && out.length === 2)) {
      throw new TypeError(
        `fit(): with modelState the loss must return [loss, newModelState], got ${describe(out)}`,
      );
    }
    if (!hasState && Array.isArray(out)) {
      throw new TypeError(
        `fit(): the loss returned an array; return a scalar tensor, or pass modelState to return [loss, newModelState]`,
      );
    }
    return out;
  };

  // ---- checks, before any work
  if (typeof userLoss !== "function") {
    throw new TypeError(`fit(): loss must be a function (params, batch, ctx) => scalar tensor`);
  }
  if (
    typeof optimizer !== "object" || optimizer === null ||
    typeof optimizer.init !== "function" || typeof optimizer.update !== "function"
  ) {
    throw new TypeError(
      `fit(): optimizer must be a gradient transformation {init, update}, e.g. optim.sgd(0.1); got ${
        describe(optimizer)
      }`,
    );
  }
  checkPositiveInt("epochs", epochs);
  checkPositiveInt("batchSize", batchSize);
  if (evalEvery !== undefined) checkPositiveInt("evalEvery", evalEvery);
  if (maxGradNorm !== undefined && !(maxGradNorm > 0 && Number.isFinite(maxGradNorm))) {
    throw new RangeError(`fit(): maxGradNorm must be a positive number, got ${maxGradNorm}`);
  }
  const clipper = maxGradNorm === undefined ? undefined : clipByGlobalNorm(maxGradNorm);
  const n = numExamples(data, { op: "fit()" });
  const stepsPerEpoch = numBatches(n, batchSize, dropLast);
  if (stepsPerEpoch === 0) {
    throw new RangeError(
      `fit(): ${n} examples give no batch of ${batchSize}${
        dropLast ? " with dropLast" : ""
      }; use a smaller batchSize`,
    );
  }
  const metrics = Object.entries(validation?.metrics ?? {}) as [string, AnyLoss][];
  const valBatchSize = validation?.batchSize ?? batchSize;
  if (validation !== undefined) {
    checkPositiveInt("validation.batchSize", valBatchSize);
    if (numExamples(validation.data, { op: "fit()", root: "validation.data" }) === 0) {
      throw new RangeError(`fit(): validation.data has no examples`);
    }
    for (const [name, fn] of metrics) {
      if (name === "loss") {
        throw new TypeError(
          `fit(): a validation metric may not be called "loss" (val_loss is always computed with the loss)`,
        );
      }
      if (typeof fn !== "function") {
        throw new TypeError(`fit(): validation metric "${name}" must be a function`);
      }
    }
  }
  let monitor = "val_loss";
  let better: (a: number, b: number) => boolean = () => false;
  if (earlyStopping !== undefined) {
    const { patience, minDelta = 0 } = earlyStopping;
    monitor = earlyStopping.monitor ?? "val_loss";
    if (!Number.isInteger(patience) || patience < 0) {
      throw new RangeError(
        `fit(): earlyStopping.patience must be a non-negative integer, got ${patience}`,
      );
    }
    if (!(minDelta >= 0)) {
      throw new RangeError(`fit(): earlyStopping.minDelta must be ≥ 0, got ${minDelta}`);
    }
    const available = ["loss"];
    if (validation !== undefined) {
      available.push("val_loss", ...metrics.map(([name]) => `val_${name}`));
    }
    if (!available.includes(monitor)) {
      throw new TypeError(
        `fit(): earlyStopping.monitor "${monitor}" is not recorded; available: ${
          available.join(", ")
        }${validation === undefined ? " (val_* needs validation data)" : ""}`,
      );
    }
    const mode = earlyStopping.mode ?? (monitor.endsWith("loss") ? "min" : "max");
    if (mode !== "min" && mode !== "max") {
      throw new TypeError(`fit(): earlyStopping.mode must be "min" or "max", got ${mode}`);
    }
    better = mode === "min" ? (a, b) => a < b - minDelta : (a, b) => a > b + minDelta;
  }

  // ---- state
  let params: P = options.params;
  let optState: S = options.optState ?? optimizer.init(params);
  let modelState = options.modelState as M | undefined;
  /** What the caller passed in: never freed. */
  const given = [
    options.params,
    options.optState,
    options.modelState,
    options.data,
    options.validation?.data,
  ];
  const history: History = { steps: [], epochs: [], evals: [] };
  const clock = options.progress?.clock ?? (() => performance.now());
  const bar = new ProgressBar({
    ...options.progress,
    steps: stepsPerEpoch,
    epochs,
    quiet,
  });
  const valueAndGradFn = valueAndGrad(loss, { hasAux: hasState }) as (
    params: unknown,
    batch: unknown,
    ctx: TrainContext<unknown>,
  ) => [Tensor | [Tensor, M], P];
  const [evalKey, firstLoopKey] = split(key);
  let loopKey = firstLoopKey;

  const evaluate = async (): Promise<ValValues> => {
    const ctx: TrainContext<unknown> = { key: evalKey, training: false, state: modelState };
    const sums = new Map<string, Tensor>();
    const accumulate = (name: string, what: string, v: unknown, size: number) => {
      let t = checkScalar(what, v);
      if (!isFloat(t.dtype)) t = cast(t, "float32");
      const weighted = mul(t, size);
      const prev = sums.get(name);
      sums.set(name, prev === undefined ? weighted : add(prev, weighted));
    };
    let total = 0;
    for (const batch of batches(validation!.data, { batchSize: valBatchSize, shuffle: false })) {
      const size = numExamples(batch, { op: "fit()", root: "validation.data" });
      total += size;
      const before = [...sums.values()];
      // the forward passes' temporaries, and the sums this batch replaces, are freed at once
      const now = tidy(() => {
        const out = loss(params, batch, ctx);
        accumulate("val_loss", "loss", hasState ? (out as [Tensor, M])[0] : out, size);
        for (const [name, fn] of metrics) {
          accumulate(`val_${name}`, `validation metric "${name}"`, fn(params, batch, ctx), size);
        }
        return [...sums.values()];
      });
      disposeTree([before, batch], [now, given]);
    }
    const values: Record<string, number> = {};
    for (const [name, s] of sums) values[name] = await div(s, total).item();
    return values as ValValues; // val_loss is always there: the loss runs on every batch
  };

  let step = 0;
  let stoppedEarly = false;
  let best:
    | { value: number; epoch: number; params: P; optState: S; modelState: M | undefined }
    | undefined;
  let wait = 0;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const epochStart = clock();
      bar.start(epoch);
      let shuffleKey: PRNGKey, stepRoot: PRNGKey;
      [loopKey, shuffleKey, stepRoot] = split(loopKey, 3);
      const stepKeys = split(stepRoot, stepsPerEpoch);
      let lossSum = 0;
      let lastEval: { step: number; values: ValValues } | undefined;
      let i = 0;
      for (const batch of batches(data, { batchSize, dropLast, shuffle, key: shuffleKey })) {
        const ctx: TrainContext<unknown> = { key: stepKeys[i], training: true, state: modelState };
        const [out, rawGrads] = valueAndGradFn(params, batch, ctx);
        const [value, nextModelState] = hasState ? out as [Tensor, M] : [out as Tensor, modelState];
        // The update's temporaries (scaled, clipped gradients…) are freed at once.
        const [nextParams, nextOptState] = tidy(() => {
          const grads = clipper === undefined ? rawGrads : clipper.update(rawGrads, {})[0];
          const [updates, nextOpt] = optimizer.update(grads, optState, params);
          return [applyUpdates(params, updates), nextOpt] as const;
        });
        // So are the values this step replaced, except what the caller passed
        // in, what early stopping keeps and what the new values still share.
        disposeTree([params, optState, modelState, rawGrads, batch], [
          nextParams,
          nextOptState,
          nextModelState,
          given,
          best,
        ]);
        params = nextParams;
        optState = nextOptState;
        modelState = nextModelState;
        step++;
        i++;
        const lossValue = await value.item(); // the one host read per step: the training log
        value.dispose();
        lossSum += lossValue;
        const entry: StepLog = { step, epoch, loss: lossValue };
        history.steps.push(entry);
        await options.onStep?.(entry);
        if (validation !== undefined && evalEvery !== undefined && step % evalEvery === 0) {
          lastEval = { step, values: await evaluate() };
          const evalEntry: EvalLog = { step, epoch, ...lastEval.values };
          history.evals.push(evalEntry);
          await options.onEval?.(evalEntry);
        }
        bar.update(i, {
          loss: lossSum / i,
          ...(lastEval === undefined ? {} : lastEval.values),
        });
      }
      let valValues: ValValues | undefined;
      if (validation !== undefined) {
        if (lastEval !== undefined && lastEval.step === step) {
          valValues = lastEval.values;
        } else {
          valValues = await evaluate();
          const evalEntry: EvalLog = { step, epoch, ...valValues };
          history.evals.push(evalEntry);
          await options.onEval?.(evalEntry);
        }
      }
      const meanLoss = lossSum / stepsPerEpoch;
      const epochEntry: EpochLog = {
        epoch,
        loss: meanLoss,
        ...valValues,
        time: (clock() - epochStart) / 1000,
      };
      history.epochs.push(epochEntry);
      bar.end({ loss: meanLoss, ...valValues });
      await options.onEpoch?.(epochEntry);

      if (earlyStopping !== undefined) {
        const value = epochEntry[monitor as "loss"];
        const replacesNaN = best !== undefined && Number.isNaN(best.value) && !Number.isNaN(value);
        if (best === undefined || replacesNaN || better(value, best.value)) {
          // the previous best is no longer needed, unless it is still current
          if (best !== undefined) disposeTree(best, [params, optState, modelState, given]);
          best = { value, epoch, params, optState, modelState };
          wait = 0;
        } else if (++wait >= earlyStopping.patience) {
          stoppedEarly = epoch < epochs;
          break;
        }
      }
    }
  } finally {
    bar.close();
  }
  if (earlyStopping !== undefined && (earlyStopping.restoreBest ?? true) && best !== undefined) {
    // the last epoch's values give way to the best one's
    disposeTree([params, optState, modelState], [best, given]);
    params = best.params;
    optState = best.optState;
    modelState = best.modelState;
  } else if (best !== undefined) {
    disposeTree(best, [params, optState, modelState, given]);
  }
  return {
    params,
    optState,
    modelState,
    history,
    ...(best === undefined ? {} : { bestEpoch: best.epoch }),
    stoppedEarly,
  };
}
