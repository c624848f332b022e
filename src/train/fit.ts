/**
 * `fit`: a Keras-like training loop over pure functions — epochs of shuffled
 * minibatches, validation, early stopping, gradient clipping, a history and
 * a progress bar — built from the same pieces as a hand-written loop
 * (`valueAndGrad`, `optimizer.update`, `applyUpdates`). The options are
 * checked up front in `_fit_checks.ts`; their types are in `fit_options.ts`.
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import { fmtShape, ShapeError } from "../core/errors.ts";
import { Tensor } from "../core/tensor.ts";
import { valueAndGrad } from "../autodiff/grad.ts";
import { tidy } from "../autodiff/tidy.ts";
import { jit } from "../jit/jit.ts";
import { dispose as disposeTree, leaves } from "../tree/tree.ts";
import { describe } from "../ops/convert.ts";
import { add, cast, div, mul } from "../ops/elementwise.ts";
import { applyUpdates, type GradientTransformation, type OptimizerState } from "../optim/base.ts";
import { type PRNGKey, split } from "../random/random.ts";
import { batches, numExamples } from "../data/batching.ts";
import { ProgressBar } from "../report/progress.ts";
import { type AnyLoss, checkFitOptions } from "./_fit_checks.ts";
import type {
  EpochLog,
  EvalLog,
  FitCommonOptions,
  FitOptions,
  FitResult,
  FitState,
  History,
  StatefulFitOptions,
  StepLog,
  TrainContext,
} from "./fit_options.ts";

/** Whether `e` is jit's error for a value read on the host while tracing. */
function isTraceError(e: unknown): e is Error {
  return e instanceof Error && /while jit traces/.test(e.message);
}

/** Runs a jitted step; a value read while tracing gets a hint to pass `jit: false`. */
function jitStepOrExplain<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (isTraceError(e)) {
      throw new Error(
        `fit(): the training step is jitted and could not be traced: ${e.message}. ` +
          `Pass { jit: false } to fit() to run the step eagerly`,
        { cause: e },
      );
    }
    throw e;
  }
}

/**
 * `fit` stopped because a loss was NaN or ±Infinity (with the default
 * `nonFinite: "error"`). It says where, and carries the history up to that
 * point, e.g. to plot how the loss diverged.
 *
 * @example
 * ```ts
 * import { fit, NonFiniteLossError, optim, random, square, type Tensor, tensor, zeros } from "@gradus/core";
 *
 * try {
 *   await fit({
 *     params: { w: tensor(1) },
 *     optimizer: optim.sgd(10), // far too high: the loss blows up
 *     loss: (p: { w: Tensor }) => square(square(p.w)),
 *     data: { x: zeros([4, 1]) },
 *     epochs: 5,
 *     batchSize: 1,
 *     key: random.key(0),
 *     quiet: true,
 *   });
 * } catch (e) {
 *   if (!(e instanceof NonFiniteLossError)) throw e;
 *   console.log(e.what, e.step, e.value); // "loss" 4 Infinity
 * }
 * ```
 */
export class NonFiniteLossError extends Error {
  /** Which value: the training `"loss"` of a step, or an evaluation's `"val_loss"`. */
  readonly what: "loss" | "val_loss";
  /** The step (updates applied so far, from 1) at which it was seen. */
  readonly step: number;
  /** The epoch, from 1. */
  readonly epoch: number;
  /** The value: NaN, Infinity or -Infinity. */
  readonly value: number;
  /** What `fit` recorded up to and including the bad value. */
  readonly history: History;

  /**
   * Makes the error.
   *
   * @param message The full message.
   * @param info Where it happened and the history so far.
   */
  constructor(
    message: string,
    info: {
      what: "loss" | "val_loss";
      step: number;
      epoch: number;
      value: number;
      history: History;
    },
  ) {
    super(message);
    this.name = "NonFiniteLossError";
    this.what = info.what;
    this.step = info.step;
    this.epoch = info.epoch;
    this.value = info.value;
    this.history = info.history;
  }
}

const NON_FINITE_CAUSES = "Usual causes: a learning rate too high (try one 10× smaller, or clip " +
  "gradients with maxGradNorm); class labels out of range for the model's outputs (under jit, " +
  "the default, and on WebGPU they give NaN instead of an error: run with jit: false to have " +
  "the loss name the label); log or division by 0 in a hand-written loss. Pass " +
  `nonFinite: "continue" to train on anyway`;

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
 * A loss that is NaN or ±Infinity (a step's, or `val_loss`) stops training
 * with a {@linkcode NonFiniteLossError} naming the step, the epoch and the
 * usual causes, unless `nonFinite: "continue"`.
 *
 * Callbacks: `onStep`, `onEval` and `onEpoch` get their log entry and the
 * current `{ params, optState, modelState }` (a {@linkcode FitState}), so
 * anything can be evaluated per epoch without a hand-written loop — the
 * third example computes the test accuracy after every epoch.
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
 * `nonFinite`, `quiet`, `progress`, `onStep`, `onEval`, `onEpoch`.
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
 * @example Test accuracy after every epoch (the book's overfitting plot)
 * ```ts
 * import { fit, matmul, metrics, nn, optim, random, type Tensor, tidy } from "@gradus/core";
 *
 * const [kx, kt, kw] = random.split(random.key(0), 3);
 * const make = (k: typeof kx) => {
 *   const x = random.normal(k, [64, 2]);
 *   return { x, y: x.sum(1).greater(0).cast("int32") }; // class 1 where x₁ + x₂ > 0
 * };
 * const train = make(kx), test = make(kt);
 * const logits = (p: { w: Tensor }, x: Tensor) => matmul(x, p.w);
 * const trainAcc: number[] = [], testAcc: number[] = [];
 * await fit({
 *   params: { w: random.normal(kw, [2, 2]) },
 *   optimizer: optim.sgd(0.5),
 *   loss: (p, b) => nn.softmaxCrossEntropy(logits(p, b.x), b.y),
 *   data: train,
 *   epochs: 5,
 *   batchSize: 16,
 *   key: random.key(1),
 *   quiet: true,
 *   onEpoch: async (_entry, { params }) => {
 *     const acc = (d: typeof train) => tidy(() => metrics.accuracy(logits(params, d.x), d.y));
 *     trainAcc.push(await acc(train).item());
 *     testAcc.push(await acc(test).item());
 *   },
 * });
 * console.log(trainAcc.length, testAcc.length); // 5 5
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
  // ---- checks, before any work
  const { clipper, stepsPerEpoch, metrics, valBatchSize, monitor, better } = checkFitOptions(
    options,
  );
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
    quiet = false,
    nonFinite = "error",
    jit: jitStep = true,
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
  /** One training step, as a hand-written loop does it (jitted unless `jit: false`). */
  const trainStep = (
    p: P,
    s: S,
    batch: unknown,
    ctx: TrainContext<unknown>,
  ): [Tensor, M | undefined, P, S] => {
    const [out, rawGrads] = valueAndGradFn(p, batch, ctx);
    const [value, nextModelState] = hasState ? out as [Tensor, M] : [out as Tensor, ctx.state as M];
    const grads = clipper === undefined ? rawGrads : clipper.update(rawGrads, {})[0];
    const [updates, nextOpt] = optimizer.update(grads, s, p);
    return [value, nextModelState, applyUpdates(p, updates), nextOpt];
  };
  // Only states that are pytrees of tensors keep one signature from step to
  // step (a number leaf is a static value: every new value would be traced
  // again), so a step with another state runs eagerly.
  const tensorsOnly = (t: unknown): boolean => leaves(t).every((x) => x instanceof Tensor);
  const jitted = jitStep && tensorsOnly([optState, modelState]) ? jit(trainStep) : undefined;
  const [evalKey, firstLoopKey] = split(key);
  let loopKey = firstLoopKey;

  // Both forms' callbacks take the state as M (undefined without modelState).
  const callbacks = options as FitCommonOptions<P, D, S, M>;
  /** The current values, for the callbacks. */
  const current = (): FitState<P, S, M> => ({
    params,
    optState,
    modelState: modelState as M,
  });

  /** One validation batch's loss and metrics, float scalars in the order of `names`. */
  const evalBatch = (p: P, batch: unknown, ctx: TrainContext<unknown>): Tensor[] => {
    const out = loss(p, batch, ctx);
    const values = [checkScalar("loss", hasState ? (out as [Tensor, M])[0] : out)];
    for (const [name, fn] of metrics) {
      values.push(checkScalar(`validation metric "${name}"`, fn(p, batch, ctx)));
    }
    return values.map((t) => isFloat(t.dtype) ? t : cast(t, "float32"));
  };
  const names = ["val_loss", ...metrics.map(([name]) => `val_${name}`)];
  // Jitted with the step: one program per batch shape, its temporaries in
  // buffers planned once (eagerly, a CNN's activations for a batch of 1 000
  // are allocated afresh on every batch). A loss or metric that cannot be
  // traced (it reads values on the host) evaluates eagerly, as before.
  let jittedEval = jitted === undefined ? undefined : jit(evalBatch);

  const evaluate = async (epoch: number): Promise<ValValues> => {
    const ctx: TrainContext<unknown> = { key: evalKey, training: false, state: modelState };
    let sums: Tensor[] = [];
    let total = 0;
    for (const batch of batches(validation!.data, { batchSize: valBatchSize, shuffle: false })) {
      const size = numExamples(batch, { op: "fit()", root: "validation.data" });
      total += size;
      let values: Tensor[] | undefined;
      if (jittedEval !== undefined) {
        try {
          values = jittedEval(params, batch, ctx);
        } catch (e) {
          if (!isTraceError(e)) throw e;
          jittedEval = undefined;
        }
      }
      const before = sums;
      // the forward passes' temporaries, and the sums this batch replaces, are freed at once
      sums = tidy(() => {
        const now = values ?? evalBatch(params, batch, ctx);
        return now.map((t, i) => i < before.length ? add(before[i], mul(t, size)) : mul(t, size));
      });
      // (a jitted function returns an input it passes through as itself: kept)
      disposeTree([before, batch, values], [sums, given, params, modelState, ctx.key]);
    }
    const values: Record<string, number> = {};
    for (const [i, s] of sums.entries()) values[names[i]] = await div(s, total).item();
    const valLoss = values.val_loss; // always there: the loss runs on every batch
    if (nonFinite === "error" && !Number.isFinite(valLoss)) {
      throw new NonFiniteLossError(
        `fit(): val_loss is ${valLoss} after step ${step} (epoch ${epoch}); training stopped. ` +
          NON_FINITE_CAUSES,
        { what: "val_loss", step, epoch, value: valLoss, history },
      );
    }
    return values as ValValues;
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
        // The step's temporaries (gradients, moments' intermediates…) are freed at once.
        const [value, nextModelState, nextParams, nextOptState] = jitted === undefined
          ? tidy(() => trainStep(params, optState, batch, ctx))
          : jitStepOrExplain(() => jitted(params, optState, batch, ctx));
        // So are the values this step replaced, except what the caller passed
        // in, what early stopping keeps and what the new values still share.
        disposeTree([params, optState, modelState, batch], [
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
        if (nonFinite === "error" && !Number.isFinite(lossValue)) {
          throw new NonFiniteLossError(
            `fit(): the training loss is ${lossValue} at step ${step} (epoch ${epoch}, batch ${i} ` +
              `of ${stepsPerEpoch}); training stopped. ${NON_FINITE_CAUSES}`,
            { what: "loss", step, epoch, value: lossValue, history },
          );
        }
        await callbacks.onStep?.(entry, current());
        if (validation !== undefined && evalEvery !== undefined && step % evalEvery === 0) {
          lastEval = { step, values: await evaluate(epoch) };
          const evalEntry: EvalLog = { step, epoch, ...lastEval.values };
          history.evals.push(evalEntry);
          await callbacks.onEval?.(evalEntry, current());
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
          valValues = await evaluate(epoch);
          const evalEntry: EvalLog = { step, epoch, ...valValues };
          history.evals.push(evalEntry);
          await callbacks.onEval?.(evalEntry, current());
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
      await callbacks.onEpoch?.(epochEntry, current());

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
