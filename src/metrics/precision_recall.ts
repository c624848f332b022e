/**
 * Per-class precision, recall and F1 score, and their macro and weighted
 * averages.
 *
 * @module
 */

import { Tensor } from "../core/tensor.ts";
import { add, cast, div, greater, maximum, mul, where } from "../ops/elementwise.ts";
import { equal, less } from "../ops/compare.ts";
import { sum } from "../ops/reduce.ts";
import {
  checkedIndices,
  type ClassCounts,
  classCounts,
  confusionFromIndices,
  requireTensor,
  resolveNumClasses,
  safeDivide,
} from "./_classes.ts";
import type { ConfusionMatrixOptions } from "./confusion_matrix.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * How per-class scores are combined:
 * - `"none"`: no averaging; one score per class, `[C]`.
 * - `"macro"`: the unweighted mean over the classes that occur in the
 *   targets or the predictions (scikit-learn's default set of labels; classes
 *   that appear in neither do not pull the mean down).
 * - `"weighted"`: the mean over classes weighted by their support (the number
 *   of true examples of each class).
 *
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const cm = tensor([[3, 1], [0, 1]], { dtype: "int32" }); // rows: true class, columns: predicted
 * for (const average of ["none", "macro", "weighted"] as metrics.Average[]) {
 *   console.log(average, metrics.recall(cm, { average }).arraySync());
 * }
 * // none [0.75, 1]; macro 0.875; weighted ≈ 0.8 ((4·0.75 + 1·1) / 5, by support)
 * ```
 */
export type Average = "none" | "macro" | "weighted";

/**
 * Options of {@linkcode precision}, {@linkcode recall} and {@linkcode f1} given a confusion matrix.
 *
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const cm = tensor([[3, 1], [0, 1]], { dtype: "int32" });
 * const options: metrics.AverageOptions = { average: "macro" };
 * console.log(metrics.precision(cm, options).arraySync()); // 0.75 (the mean of 1 and 0.5)
 * ```
 */
export interface AverageOptions {
  /** How to combine the per-class scores (default `"none"`: one score per class). */
  readonly average?: Average;
}

/**
 * Options of {@linkcode precision}, {@linkcode recall} and {@linkcode f1} given predictions and targets.
 *
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const predicted = tensor([0, 0, 1, 1], { dtype: "int32" });
 * const labels = tensor([0, 1, 1, 1], { dtype: "int32" });
 * const options: metrics.ClassificationMetricOptions = { numClasses: 2, average: "none" };
 * console.log(metrics.f1(predicted, labels, options).arraySync()); // ≈ [0.6667, 0.8]
 * ```
 */
export interface ClassificationMetricOptions extends AverageOptions, ConfusionMatrixOptions {}

type Score = "precision" | "recall" | "f1";

function perClass(score: Score, c: ClassCounts): Tensor {
  switch (score) {
    case "precision":
      return safeDivide(c.truePositives, c.predicted);
    case "recall":
      return safeDivide(c.truePositives, c.support);
    case "f1":
      // 2·tp / (2·tp + fp + fn) = 2·tp / (support + predicted): the harmonic
      // mean of precision and recall, and 0 where both are 0 or undefined.
      return safeDivide(mul(c.truePositives, 2), add(c.support, c.predicted));
  }
}

function averaged(op: string, scores: Tensor, c: ClassCounts, average: Average): Tensor {
  switch (average) {
    case "none":
      return scores;
    case "macro": {
      const present = cast(greater(add(c.support, c.predicted), 0), "float32");
      return div(sum(scores), maximum(sum(present), 1));
    }
    case "weighted":
      return safeDivide(sum(mul(scores, c.support)), sum(c.support));
  }
  throw new RangeError(
    `${op}: average must be "none", "macro" or "weighted", got ${JSON.stringify(average)}`,
  );
}

const AVERAGE_KEYS: OptionKeys<AverageOptions> = { average: true };
const METRIC_KEYS: OptionKeys<ClassificationMetricOptions> = { average: true, numClasses: true };

function classificationScore(
  score: Score,
  a: Tensor,
  b: Tensor | ClassificationMetricOptions | undefined,
  c: ClassificationMetricOptions | undefined,
): Tensor {
  const op = `${score}()`;
  let counts: ClassCounts;
  let opts: ClassificationMetricOptions;
  let valid: Tensor | null = null;
  if (b instanceof Tensor) {
    opts = c ?? {};
    checkOptions(score, opts, METRIC_KEYS, '{ average: "macro", numClasses: 10 }');
    const p = requireTensor(op, "predictions", a);
    let n = 0;
    const { predicted, actual, valid: v } = checkedIndices(
      op,
      p,
      b,
      () => n = resolveNumClasses(op, p, b, opts.numClasses),
    );
    counts = classCounts(op, confusionFromIndices(predicted, actual, n));
    valid = v;
  } else {
    if (c !== undefined) {
      throw new TypeError(
        `${op}: the second argument must be the targets tensor, got ${typeof b}; ` +
          `call ${op.slice(0, -2)}(predictions, targets, opts) or ${
            op.slice(0, -2)
          }(confusion, opts)`,
      );
    }
    opts = b ?? {};
    checkOptions(score, opts, AVERAGE_KEYS, '{ average: "macro" }');
    counts = classCounts(op, a);
    // confusionMatrix's sentinel for labels out of range (every entry -1): NaN, as from the
    // labels themselves (counted as they are, the -1s gave 0).
    valid = equal(sum(cast(less(a, 0), "int32")), 0);
  }
  checkOptions(
    score,
    opts,
    b instanceof Tensor ? METRIC_KEYS : AVERAGE_KEYS,
    '{ average: "macro" }',
  );
  const result = averaged(op, perClass(score, counts), counts, opts.average ?? "none");
  return valid === null ? result : where(valid, result, NaN);
}

/**
 * Precision of each class: of the examples predicted as class c, the fraction
 * that truly are c — `tp / (tp + fp)`, the diagonal of the confusion matrix
 * over its column sums. A class that is never predicted gets 0 (scikit-learn's
 * `zero_division=0`).
 *
 * Call it with predictions and targets (read as in {@linkcode accuracy}:
 * scores or one-hot `[N, C]`, or int32 indices `[N]`), or with a confusion
 * matrix `[C, C]` from {@linkcode confusionMatrix} (rows true, columns
 * predicted). The result stays on the device. Class indices outside
 * `[0, C)` are a `RangeError` on the cpu and wasm backends and give NaN on
 * WebGPU (as in {@linkcode accuracy}).
 *
 * @param predictions Scores `[N, C]` or class indices `[N]`.
 * @param targets Labels `[N]` (int32) or one-hot rows `[N, C]`.
 * @param opts `average` (default `"none"`, see {@linkcode Average}) and
 * `numClasses` (required when both inputs are 1-D indices).
 * @returns float32: `[C]` per class, or a scalar when averaged.
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const predicted = tensor([0, 0, 1, 1, 1], { dtype: "int32" });
 * const labels = tensor([0, 1, 1, 1, 0], { dtype: "int32" });
 * const p = metrics.precision(predicted, labels, { numClasses: 2 });
 * console.log(await p.array()); // [0.5, 0.6666666865348816]
 * ```
 */
export function precision(
  predictions: Tensor,
  targets: Tensor,
  opts?: ClassificationMetricOptions,
): Tensor;
/**
 * Precision of each class from a confusion matrix (rows true, columns
 * predicted): the diagonal over the column sums, 0 for a class never
 * predicted.
 *
 * @param confusion A confusion matrix `[C, C]` (any numeric dtype).
 * @param opts `average` (default `"none"`, see {@linkcode Average}).
 * @returns float32: `[C]` per class, or a scalar when averaged.
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const cm = tensor([[1, 1], [1, 2]], { dtype: "int32" });
 * console.log(await metrics.precision(cm, { average: "macro" }).item()); // 0.5833333730697632
 * ```
 */
export function precision(confusion: Tensor, opts?: AverageOptions): Tensor;
export function precision(
  a: Tensor,
  b?: Tensor | ClassificationMetricOptions,
  c?: ClassificationMetricOptions,
): Tensor {
  return classificationScore("precision", a, b, c);
}

/**
 * Recall of each class: of the examples of class c, the fraction predicted as
 * c — `tp / (tp + fn)`, the diagonal of the confusion matrix over its row
 * sums. A class with no examples (no support) gets 0 (scikit-learn's
 * `zero_division=0`).
 *
 * Call it with predictions and targets (read as in {@linkcode accuracy}), or
 * with a confusion matrix `[C, C]` from {@linkcode confusionMatrix}. The
 * result stays on the device.
 *
 * @param predictions Scores `[N, C]` or class indices `[N]`.
 * @param targets Labels `[N]` (int32) or one-hot rows `[N, C]`.
 * @param opts `average` (default `"none"`, see {@linkcode Average}) and
 * `numClasses` (required when both inputs are 1-D indices).
 * @returns float32: `[C]` per class, or a scalar when averaged.
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const logits = tensor([[3, 1], [2, 0], [0, 1], [1, 2]]);
 * const labels = tensor([0, 1, 1, 1], { dtype: "int32" });
 * console.log(await metrics.recall(logits, labels).array()); // [1, 0.6666666865348816]
 * ```
 */
export function recall(
  predictions: Tensor,
  targets: Tensor,
  opts?: ClassificationMetricOptions,
): Tensor;
/**
 * Recall of each class from a confusion matrix (rows true, columns
 * predicted): the diagonal over the row sums, 0 for a class with no support.
 *
 * @param confusion A confusion matrix `[C, C]` (any numeric dtype).
 * @param opts `average` (default `"none"`, see {@linkcode Average}).
 * @returns float32: `[C]` per class, or a scalar when averaged.
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const cm = tensor([[3, 1], [0, 4]], { dtype: "int32" });
 * console.log(await metrics.recall(cm).array()); // [0.75, 1]
 * ```
 */
export function recall(confusion: Tensor, opts?: AverageOptions): Tensor;
export function recall(
  a: Tensor,
  b?: Tensor | ClassificationMetricOptions,
  c?: ClassificationMetricOptions,
): Tensor {
  return classificationScore("recall", a, b, c);
}

/**
 * F1 score of each class: the harmonic mean of precision and recall,
 * computed as `2·tp / (2·tp + fp + fn)`. A class with neither examples nor
 * predictions gets 0 (scikit-learn's `zero_division=0`). The macro average
 * is the mean of the per-class F1 scores (not the F1 of the macro precision
 * and recall), as in scikit-learn.
 *
 * Call it with predictions and targets (read as in {@linkcode accuracy}), or
 * with a confusion matrix `[C, C]` from {@linkcode confusionMatrix}. The
 * result stays on the device.
 *
 * @param predictions Scores `[N, C]` or class indices `[N]`.
 * @param targets Labels `[N]` (int32) or one-hot rows `[N, C]`.
 * @param opts `average` (default `"none"`, see {@linkcode Average}) and
 * `numClasses` (required when both inputs are 1-D indices).
 * @returns float32: `[C]` per class, or a scalar when averaged.
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const predicted = tensor([0, 0, 1, 1, 1], { dtype: "int32" });
 * const labels = tensor([0, 1, 1, 1, 0], { dtype: "int32" });
 * const f = metrics.f1(predicted, labels, { numClasses: 2, average: "macro" });
 * console.log(await f.item()); // 0.5833333730697632
 * ```
 */
export function f1(
  predictions: Tensor,
  targets: Tensor,
  opts?: ClassificationMetricOptions,
): Tensor;
/**
 * F1 score of each class from a confusion matrix (rows true, columns
 * predicted): `2·tp / (row sum + column sum)`, 0 where both sums are 0.
 *
 * @param confusion A confusion matrix `[C, C]` (any numeric dtype).
 * @param opts `average` (default `"none"`, see {@linkcode Average}).
 * @returns float32: `[C]` per class, or a scalar when averaged.
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const cm = tensor([[3, 1], [0, 4]], { dtype: "int32" });
 * console.log(await metrics.f1(cm).array()); // [0.8571428656578064, 0.8888888955116272]
 * ```
 */
export function f1(confusion: Tensor, opts?: AverageOptions): Tensor;
export function f1(
  a: Tensor,
  b?: Tensor | ClassificationMetricOptions,
  c?: ClassificationMetricOptions,
): Tensor {
  return classificationScore("f1", a, b, c);
}
