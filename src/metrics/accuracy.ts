/**
 * Classification accuracy.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { cast, equal, where } from "../ops/elementwise.ts";
import { mean } from "../ops/reduce.ts";
import { checkedIndices, requireTensor } from "./_classes.ts";

/**
 * The fraction of examples whose predicted class is the true class.
 *
 * Predictions are scores — logits or probabilities `[N, C]`, reduced with
 * `argmax` over the last axis — or class indices `[N]` (int32, or bool for
 * two classes). Targets are int32 labels `[N]` or one-hot rows `[N, C]`
 * (also reduced with `argmax`). Ties in the scores go to the first maximum.
 * The result stays on the device: nothing is read back to the host until
 * `await acc.item()`. With no examples (`N = 0`) the result is NaN.
 *
 * Class indices given as int32 `[N]` must be in `[0, C)` (`C` from the
 * `[N, C]` input; with two 1-D inputs only `≥ 0` can be checked): where
 * they are known without a device read (cpu, wasm; host-made indices on
 * WebGPU) a bad one is a `RangeError` naming it; for indices computed on a
 * GPU, where checking would need a device round trip, the accuracy is NaN.
 *
 * @param predictions Scores `[N, C]` or class indices `[N]`.
 * @param targets Labels `[N]` (int32) or one-hot rows `[N, C]`.
 * @returns A float32 scalar in `[0, 1]`.
 * @throws {ShapeError} When the number of examples (or classes) differs, or
 * an input is neither `[N]` nor `[N, C]`.
 * @throws {DTypeError} When 1-D inputs are not int32 or bool.
 * @throws {RangeError} When a class index is out of range (cpu and wasm).
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const logits = tensor([[2, 1, 0], [0, 3, 1], [1, 0, 4], [5, 1, 0]]);
 * const labels = tensor([0, 1, 1, 0], { dtype: "int32" });
 * console.log(await metrics.accuracy(logits, labels).item()); // 0.75
 * ```
 */
export function accuracy(predictions: Tensor, targets: Tensor): Tensor {
  const op = "accuracy()";
  const p = requireTensor(op, "predictions", predictions);
  const t = requireTensor(op, "targets", targets);
  const { predicted, actual, valid } = checkedIndices(
    op,
    p,
    t,
    () => p.ndim === 2 ? p.shape[1] : t.ndim === 2 ? t.shape[1] : undefined,
  );
  const acc = mean(cast(equal(predicted, actual), "float32"));
  return valid === null ? acc : where(valid, acc, NaN);
}
