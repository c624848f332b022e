/**
 * Confusion matrices.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { where } from "../ops/elementwise.ts";
import {
  checkedIndices,
  confusionFromIndices,
  requireTensor,
  resolveNumClasses,
} from "./_classes.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * Options of {@linkcode confusionMatrix}.
 *
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * // Class indices on both sides: the number of classes cannot be read off the shapes.
 * const predicted = tensor([0, 2, 2], { dtype: "int32" });
 * const labels = tensor([0, 1, 2], { dtype: "int32" });
 * const options: metrics.ConfusionMatrixOptions = { numClasses: 3 };
 * console.log(metrics.confusionMatrix(predicted, labels, options).arraySync());
 * // [[1, 0, 0], [0, 0, 1], [0, 0, 1]]
 * ```
 */
export interface ConfusionMatrixOptions {
  /**
   * The number of classes `C`. Required when both inputs are class indices
   * `[N]` (the classes cannot be counted without reading the values); taken
   * from the last axis of `[N, C]` inputs otherwise (and checked against it
   * when given).
   */
  readonly numClasses?: number;
}

const CONFUSION_KEYS: OptionKeys<ConfusionMatrixOptions> = { numClasses: true };

/**
 * The confusion matrix: entry `[i, j]` counts the examples whose true class
 * is `i` and whose predicted class is `j` — rows are true classes, columns
 * predicted classes, as in scikit-learn. Row sums are the support of each
 * class, column sums how often each class was predicted, and the diagonal the
 * correct predictions.
 *
 * Inputs are read as in {@linkcode accuracy}: scores or one-hot rows `[N, C]`
 * are reduced with `argmax`; int32 (or bool) `[N]` are class indices.
 * Built with ops (`oneHot(targets)ᵀ @ oneHot(predictions)`), so it stays on
 * the device. Indices outside `[0, C)` are never silently left out: where
 * they are known without a device read (cpu, wasm; host-made indices on
 * WebGPU) they are a `RangeError` naming the first one; for indices
 * computed on a GPU, where checking would need a device round trip, every
 * entry of the matrix is −1 (no count can be negative).
 *
 * @param predictions Scores `[N, C]` or class indices `[N]`.
 * @param targets Labels `[N]` (int32) or one-hot rows `[N, C]`.
 * @param opts `numClasses` (see {@linkcode ConfusionMatrixOptions}).
 * @returns An int32 tensor `[C, C]`.
 * @throws {ShapeError} When the number of examples or classes differs, or
 * `numClasses` is missing for 1-D inputs.
 * @throws {RangeError} When a class index is out of range (cpu and wasm).
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const predicted = tensor([0, 2, 1, 1, 0], { dtype: "int32" });
 * const labels = tensor([0, 1, 1, 2, 0], { dtype: "int32" });
 * const cm = metrics.confusionMatrix(predicted, labels, { numClasses: 3 });
 * console.log(await cm.array()); // [[2, 0, 0], [0, 1, 1], [0, 1, 0]]
 * ```
 */
export function confusionMatrix(
  predictions: Tensor,
  targets: Tensor,
  opts: ConfusionMatrixOptions = {},
): Tensor {
  const op = "confusionMatrix()";
  checkOptions("confusionMatrix", opts, CONFUSION_KEYS, "{ numClasses: 10 }");
  const p = requireTensor(op, "predictions", predictions);
  const t = requireTensor(op, "targets", targets);
  let c = 0;
  const { predicted, actual, valid } = checkedIndices(
    op,
    p,
    t,
    () => c = resolveNumClasses(op, p, t, opts.numClasses),
  );
  const cm = confusionFromIndices(predicted, actual, c);
  return valid === null ? cm : where(valid, cm, -1);
}
