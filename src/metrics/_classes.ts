/**
 * Shared input handling of the metrics: turning predictions and targets into
 * int32 class indices, and the per-class counts of a confusion matrix.
 *
 * @module
 */

import { DTypeError, fmtShape, ShapeError } from "../core/errors.ts";
import { Tensor } from "../core/tensor.ts";
import {
  cast,
  div,
  equal,
  greater,
  logicalAnd,
  logicalNot,
  mul,
  where,
} from "../ops/elementwise.ts";
import { argmax, sum } from "../ops/reduce.ts";
import { describe } from "../ops/convert.ts";
import { transpose } from "../ops/movement.ts";
import { matmul } from "../ops/matmul.ts";
import { oneHot } from "../ops/composite.ts";
import { eye } from "../ops/creation.ts";
import { checkLabels } from "../nn/_labels.ts";

/** Checks that `x` is a tensor, naming the argument otherwise. */
export function requireTensor(op: string, what: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) {
    throw new TypeError(
      `${op}: ${what} must be a Tensor, got ${describe(x)}; wrap arrays with tensor(...)`,
    );
  }
  return x;
}

/**
 * Class indices `[N]` (int32) from predictions or targets: int32 or bool
 * `[N]` are already indices; `[N, C]` scores, probabilities or one-hot rows
 * become `argmax(x, -1)`.
 */
export function classIndices(op: string, what: string, x: unknown): Tensor {
  const t = requireTensor(op, what, x);
  if (t.ndim === 1) {
    if (t.dtype === "int32") return t;
    if (t.dtype === "bool") return cast(t, "int32");
    throw new DTypeError(
      `${op}: 1-D ${what} must be int32 class indices, got ${t.dtype} ${fmtShape(t.shape)}; ` +
        `cast float class labels to int32 (cast(x, "int32")), pass scores as [N, C], ` +
        `or threshold binary probabilities first, e.g. cast(greater(p, 0.5), "int32")`,
    );
  }
  if (t.ndim === 2 && t.shape[1] === 1) {
    // argmax of one column is always 0: every example would count as right.
    throw new ShapeError(
      `${op}: ${what} have one column (${fmtShape(t.shape)}), so they hold no class scores ` +
        `to take the argmax of; for a binary output (sigmoid) threshold it first, e.g. ` +
        `cast(greater(reshape(logits, [-1]), 0), "int32") (probabilities: 0.5), and give ` +
        `targets as int32 [N] the same way`,
    );
  }
  if (t.ndim === 2) return argmax(t, -1);
  throw new ShapeError(
    `${op}: ${what} must be class indices [N] or scores / one-hot rows [N, C], ` +
      `got shape ${fmtShape(t.shape)}`,
  );
}

/** Throws unless predictions and targets describe the same number of examples (and classes). */
export function checkPair(op: string, p: Tensor, t: Tensor): void {
  if (p.shape[0] !== t.shape[0]) {
    throw new ShapeError(
      `${op}: predictions ${fmtShape(p.shape)} and targets ${fmtShape(t.shape)} ` +
        `have different numbers of examples (${p.shape[0]} vs ${t.shape[0]})`,
    );
  }
  if (p.ndim === 2 && t.ndim === 2 && p.shape[1] !== t.shape[1]) {
    throw new ShapeError(
      `${op}: predictions ${fmtShape(p.shape)} and targets ${fmtShape(t.shape)} ` +
        `have different numbers of classes (${p.shape[1]} vs ${t.shape[1]})`,
    );
  }
}

/**
 * The number of classes: `numClasses` when given, else the last axis of a
 * 2-D input; checked against the 2-D inputs.
 */
export function resolveNumClasses(
  op: string,
  p: Tensor,
  t: Tensor,
  numClasses: number | undefined,
): number {
  const fromShape = p.ndim === 2 ? p.shape[1] : t.ndim === 2 ? t.shape[1] : undefined;
  if (numClasses === undefined) {
    if (fromShape === undefined) {
      throw new ShapeError(
        `${op}: cannot tell the number of classes from 1-D class indices without reading them; ` +
          `pass { numClasses }`,
      );
    }
    return fromShape;
  }
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`${op}: numClasses must be a positive integer, got ${numClasses}`);
  }
  // The counts are a [C, C] int32 matrix from [N, C] one-hots: refuse sizes no memory holds
  // before building them (2e7 classes ground for seconds through gigabytes first).
  const n = p.ndim >= 1 ? p.shape[0] : 1;
  const bytes = 4 * numClasses * Math.max(numClasses, n);
  if (bytes > 2 ** 31) {
    throw new RangeError(
      `${op}: numClasses ${numClasses} needs [${Math.max(numClasses, n)}, ${numClasses}] ` +
        `int32 counts (${bytes.toExponential(2)} bytes, over 2 GiB); pass the number of classes`,
    );
  }
  if (fromShape !== undefined && fromShape !== numClasses) {
    throw new ShapeError(
      `${op}: numClasses is ${numClasses} but the ${
        p.ndim === 2 ? "predictions" : "targets"
      } have ${fromShape} classes (shape ${fmtShape(p.ndim === 2 ? p.shape : t.shape)})`,
    );
  }
  return numClasses;
}

/** Class indices of both inputs, and whether the ones given as indices are in range. */
export interface CheckedIndices {
  /** The predicted classes `[N]`. */
  readonly predicted: Tensor;
  /** The true classes `[N]`. */
  readonly actual: Tensor;
  /**
   * `null` when every index given as an int32/bool `[N]` input was read and
   * is in `[0, C)`; otherwise (a backend without synchronous reads) a bool
   * scalar, true when all are in range, for the caller to turn into NaN.
   */
  readonly valid: Tensor | null;
}

/**
 * Class indices of predictions and targets (as {@linkcode classIndices}),
 * with the indices the caller gave (1-D inputs; argmax results are in range
 * by construction) checked against `[0, numClasses)` — or only `≥ 0` when
 * the number of classes is unknown. A bad index is a RangeError where the
 * backend reads synchronously (see `checkLabels`). `classes` gives the
 * number of classes once the inputs' dtypes and shapes are checked.
 */
export function checkedIndices(
  op: string,
  predictions: Tensor,
  targets: Tensor,
  classes: () => number | undefined,
): CheckedIndices {
  const predicted = classIndices(op, "predictions", predictions);
  const actual = classIndices(op, "targets", targets);
  checkPair(op, predictions, targets);
  const numClasses = classes();
  const masks: Tensor[] = [];
  if (targets.ndim === 1) {
    const m = checkLabels(op, "label", actual, numClasses);
    if (m !== null) masks.push(m);
  }
  if (predictions.ndim === 1) {
    const m = checkLabels(op, "predicted class", predicted, numClasses);
    if (m !== null) masks.push(m);
  }
  let valid: Tensor | null = null;
  for (const m of masks) {
    const all = equal(sum(cast(logicalNot(m), "int32")), 0);
    valid = valid === null ? all : logicalAnd(valid, all);
  }
  return { predicted, actual, valid };
}

/**
 * The confusion matrix as int32 `[C, C]`: `oneHot(targets)ᵀ @ oneHot(predictions)`.
 * Indices outside `[0, C)` would give all-zero one-hot rows (not counted):
 * check them first with {@linkcode checkedIndices}.
 */
export function confusionFromIndices(p: Tensor, t: Tensor, numClasses: number): Tensor {
  const pt = oneHot(p, numClasses, { dtype: "int32" });
  const tt = oneHot(t, numClasses, { dtype: "int32" });
  return matmul(transpose(tt), pt);
}

/** Per-class counts of a confusion matrix, as float32 `[C]` tensors. */
export interface ClassCounts {
  /** The diagonal: examples of class c predicted as c. */
  readonly truePositives: Tensor;
  /** Column sums: examples predicted as class c. */
  readonly predicted: Tensor;
  /** Row sums: examples whose true class is c (the support). */
  readonly support: Tensor;
}

/** Validates a confusion matrix and returns its per-class counts. */
export function classCounts(op: string, cm: unknown): ClassCounts {
  const m = requireTensor(op, "the confusion matrix", cm);
  if (m.ndim !== 2 || m.shape[0] !== m.shape[1]) {
    throw new ShapeError(
      `${op}: a confusion matrix must be square [C, C], got shape ${fmtShape(m.shape)}`,
    );
  }
  if (m.dtype === "bool") {
    throw new DTypeError(`${op}: a confusion matrix holds counts, got a bool tensor`);
  }
  const f = cast(m, "float32");
  return {
    truePositives: sum(mul(f, eye(m.shape[0])), 1),
    predicted: sum(f, 0),
    support: sum(f, 1),
  };
}

/** `num / den` where `den > 0`, else 0 (scikit-learn's `zero_division=0`). */
export function safeDivide(num: Tensor, den: Tensor): Tensor {
  const pos = greater(den, 0);
  return where(pos, div(num, where(pos, den, 1)), 0);
}
