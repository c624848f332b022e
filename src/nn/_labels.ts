/**
 * Range checks of integer class labels, shared by the losses and the
 * metrics (private).
 *
 * A label outside `[0, C)` would otherwise become an all-zero one-hot row
 * and silently contribute nothing. Where the labels can be had without a
 * device round trip — a backend that reads synchronously (cpu, wasm), or
 * labels uploaded from host values on WebGPU — they are checked at once,
 * and a bad label is a `RangeError` naming it. Labels computed on a GPU
 * (a minibatch gathered there) would need a read, so the caller gets a bool
 * mask of the labels in range instead and builds NaN into its result with
 * `where` — no read needed.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { knownValues } from "../ops/convert.ts";
import { greaterEqual, less, logicalAnd } from "../ops/elementwise.ts";

/** `[i, j]` of flat index `flat` in `shape`. */
function indexOf(flat: number, shape: readonly number[]): string {
  const idx: number[] = new Array(shape.length);
  let rest = flat;
  for (let a = shape.length - 1; a >= 0; a--) {
    idx[a] = rest % shape[a];
    rest = Math.floor(rest / shape[a]);
  }
  return `[${idx.join(",")}]`;
}

/**
 * Checks int32 class indices against `[0, numClasses)` (or only `≥ 0` when
 * `numClasses` is undefined: the classes are not known).
 *
 * Where the values are known without a device round trip (see
 * `knownValues`) they are checked: a bad one throws a `RangeError`
 * (`op(): label 3 at index [0] is out of range for 3 classes …`) and the
 * result is `null`, meaning all are in range. Otherwise nothing is read and
 * the result is a bool mask, `true` where the index is in range, for the
 * caller to turn into NaN.
 *
 * @param op The calling function, as errors name it (`nn.softmaxCrossEntropy()`).
 * @param what What the values are, for the message (`label`, `predicted class`).
 * @param labels int32 class indices, any shape.
 * @param numClasses The number of classes `C`, or undefined when not known.
 * @returns `null` when checked (all in range), else the bool in-range mask.
 */
export function checkLabels(
  op: string,
  what: string,
  labels: Tensor,
  numClasses: number | undefined,
): Tensor | null {
  const values = knownValues(labels);
  if (values === null) {
    const nonNegative = greaterEqual(labels, 0);
    return numClasses === undefined
      ? nonNegative
      : logicalAnd(nonNegative, less(labels, numClasses));
  }
  let first = -1;
  let bad = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < 0 || (numClasses !== undefined && v >= numClasses)) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (first < 0) return null;
  const v = values[first];
  const at = `${what} ${v} at index ${indexOf(first, labels.shape)}`;
  const plural = what.endsWith("s") ? `${what}es` : `${what}s`;
  const count = `${bad} of ${values.length} ${plural} out of range`;
  if (numClasses === undefined) {
    throw new RangeError(
      `${op}: ${at} is negative (${count}); class labels are 0-based indices 0, 1, …, C−1`,
    );
  }
  throw new RangeError(
    `${op}: ${at} is out of range for ${numClasses} classes (valid: 0 … ${
      numClasses - 1
    }; ${count}); class labels are 0-based: if yours start at 1, subtract 1, otherwise give ` +
      `the model one output per class`,
  );
}
