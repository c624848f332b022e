/**
 * The checks `fit` makes on its options before any work, with the errors
 * they throw, and what it derives from them (steps per epoch, the gradient
 * clipper, the validation metrics, early stopping's comparison).
 *
 * @module
 */

import { describe } from "../ops/convert.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";
import type { GradientTransformation } from "../optim/base.ts";
import { clipByGlobalNorm } from "../optim/clipping.ts";
import type { EmptyState } from "../optim/transforms.ts";
import { numBatches, numExamples } from "../data/batching.ts";
import { PROGRESS_DISPLAY_KEYS } from "../report/progress.ts";
import type {
  EarlyStoppingOptions,
  FitOptions,
  StatefulFitOptions,
  TrainContext,
  ValidationOptions,
} from "./fit_options.ts";

/** A loss or metric as `fit` calls it. */
export type AnyLoss = (params: unknown, batch: unknown, ctx: TrainContext<unknown>) => unknown;

const FIT_KEYS: OptionKeys<StatefulFitOptions<unknown, unknown, unknown, unknown>> = {
  params: true,
  optimizer: true,
  optState: true,
  data: true,
  epochs: true,
  batchSize: true,
  key: true,
  shuffle: "boolean",
  dropLast: "boolean",
  validation: true,
  evalEvery: true,
  earlyStopping: true,
  maxGradNorm: true,
  nonFinite: true,
  jit: "boolean",
  quiet: "boolean",
  progress: true,
  onStep: true,
  onEval: true,
  onEpoch: true,
  loss: true,
  modelState: true,
};
const VALIDATION_KEYS: OptionKeys<ValidationOptions<unknown, unknown, unknown>> = {
  data: true,
  metrics: true,
  batchSize: true,
};
const EARLY_STOPPING_KEYS: OptionKeys<EarlyStoppingOptions> = {
  patience: true,
  monitor: true,
  mode: true,
  restoreBest: "boolean",
  minDelta: true,
};

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`fit(): ${name} must be a positive integer, got ${v}`);
  }
}

/** What `fit` derives from its options. */
export interface CheckedFitOptions {
  /** `maxGradNorm` as a transformation, when given. */
  readonly clipper: GradientTransformation<EmptyState> | undefined;
  readonly stepsPerEpoch: number;
  /** The validation metrics by name. */
  readonly metrics: readonly [string, AnyLoss][];
  readonly valBatchSize: number;
  /** What early stopping watches (`"val_loss"` by default). */
  readonly monitor: string;
  /** Whether a value of `monitor` improves on another (always false without early stopping). */
  readonly better: (a: number, b: number) => boolean;
}

/** Checks `fit`'s options (throwing its errors) and derives what the loop needs. */
export function checkFitOptions<P, D, S, M>(
  options: FitOptions<P, D, S> | StatefulFitOptions<P, D, S, M>,
): CheckedFitOptions {
  const example =
    "{ params, optimizer, loss, data, epochs: 10, batchSize: 100, key: random.key(0) }";
  checkOptions<StatefulFitOptions<unknown, unknown, unknown, unknown>>(
    "fit",
    options as StatefulFitOptions<unknown, unknown, unknown, unknown>,
    FIT_KEYS,
    example,
    true,
  );
  if (options.key === undefined) {
    throw new TypeError(
      "fit(): key is missing: fit needs one to shuffle each epoch and to make ctx.key, e.g. " +
        "key: random.key(0)",
    );
  }
  checkOptions<ValidationOptions<unknown, unknown, unknown>>(
    "fit",
    options.validation as ValidationOptions<unknown, unknown, unknown> | undefined,
    VALIDATION_KEYS,
    "{ validation: { data, metrics } }",
  );
  checkOptions(
    "fit",
    options.earlyStopping,
    EARLY_STOPPING_KEYS,
    "{ earlyStopping: { patience: 4 } }",
  );
  checkOptions("fit", options.progress, PROGRESS_DISPLAY_KEYS, "{ progress: { width: 40 } }");
  const {
    optimizer,
    data,
    epochs,
    batchSize,
    dropLast = false,
    validation,
    evalEvery,
    earlyStopping,
    maxGradNorm,
    nonFinite = "error",
  } = options;
  const userLoss = options.loss as AnyLoss;
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
  if (nonFinite !== "error" && nonFinite !== "continue") {
    throw new TypeError(
      `fit(): nonFinite must be "error" or "continue", got ${JSON.stringify(nonFinite)}`,
    );
  }
  checkPositiveInt("epochs", epochs);
  checkPositiveInt("batchSize", batchSize);
  if (evalEvery !== undefined) {
    checkPositiveInt("evalEvery", evalEvery);
    if (validation === undefined) {
      throw new TypeError(
        `fit(): evalEvery says how often to evaluate the validation data, but there is no ` +
          `validation; add validation: { data, metrics } or leave evalEvery out`,
      );
    }
  }
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
  return { clipper, stepsPerEpoch, metrics, valBatchSize, monitor, better };
}
