/**
 * Loss functions and weight penalties. Each returns a scalar tensor; the
 * JSDoc of each says how it reduces (sum, mean over all elements, or mean
 * over the batch). They never read values back to the host, so they run
 * inside `grad` on any backend.
 *
 * Integer class labels (int32) are turned into one-hot rows on the device
 * with `oneHot`. A label outside `[0, C)` (negative, or `≥ C`) is never
 * silently dropped: where the labels can be read without a device round
 * trip (the cpu and wasm backends, including inside `grad`, where labels are
 * concrete, and labels made from host values on WebGPU) it is a
 * `RangeError` naming the label; for labels computed on a GPU, where reading
 * would stall the device, the loss (and its gradient) comes out NaN instead,
 * which `fit` reports as an error.
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import { DTypeError, fmtShape, ShapeError } from "../core/errors.ts";
import { Tensor, type TensorLike } from "../core/tensor.ts";
import { asTensor, scalarOn } from "../ops/convert.ts";
import { equal } from "../ops/compare.ts";
import { oneHot } from "../ops/composite.ts";
import { abs, add, cast, div, log, mul, neg, square, sub, where } from "../ops/elementwise.ts";
import { expandDims } from "../ops/movement.ts";
import { mean, sum } from "../ops/reduce.ts";
import { currentBackend } from "../backend/registry.ts";
import { flattenWithPath } from "../tree/tree.ts";
import { logSoftmax, softplus } from "./activations.ts";
import { floatInput, requireSameShape } from "./_util.ts";
import { checkLabels } from "./_labels.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/** The book's δ in `cross_entropy_error`: keeps `log` away from `log(0)`. */
const DELTA = 1e-7;

function pair(
  op: string,
  y: TensorLike,
  t: TensorLike,
  names: [string, string],
  binary = false,
): [Tensor, Tensor] {
  const yt = floatInput(op, y);
  let tt = asTensor(op, t, yt.dtype);
  // int32 binary targets are class labels 0/1: anything else is an error (NaN on WebGPU)
  const inRange = binary && tt.dtype === "int32" ? checkLabels(`${op}()`, "target", tt, 2) : null;
  if (!isFloat(tt.dtype)) tt = cast(tt, yt.dtype);
  if (inRange !== null) tt = where(inRange, tt, NaN);
  if (tt.dtype !== yt.dtype) {
    throw new DTypeError(
      `${op}(): ${names[0]} is ${yt.dtype} but ${
        names[1]
      } is ${tt.dtype}; cast one first, e.g. cast(${names[1]}, "${yt.dtype}")`,
    );
  }
  requireSameShape(op, yt, tt, names);
  return [yt, tt];
}

/**
 * Half the sum of squared errors, `½·Σ(y − t)²`, summed over all elements
 * (no mean): the book's `mean_squared_error`.
 *
 * @param y Predictions (a float tensor).
 * @param t Targets of the same shape (int or bool targets are cast to `y`'s dtype).
 * @returns A scalar.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * const t = tensor([0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
 * const y = tensor([0.1, 0.05, 0.6, 0, 0.05, 0.1, 0, 0.1, 0, 0]);
 * console.log(nn.sumSquaredError(y, t).itemSync()); // ≈ 0.0975
 * ```
 */
export function sumSquaredError(y: TensorLike, t: TensorLike): Tensor {
  const [yt, tt] = pair("nn.sumSquaredError", y, t, ["y", "t"]);
  return mul(sum(square(sub(yt, tt))), 0.5);
}

/**
 * The mean squared error `mean((y − t)²)`, averaged over all elements.
 *
 * @param y Predictions (a float tensor).
 * @param t Targets of the same shape.
 * @returns A scalar.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.meanSquaredError(tensor([1, 2]), tensor([1, 4])).itemSync()); // 2
 * ```
 */
export function meanSquaredError(y: TensorLike, t: TensorLike): Tensor {
  const [yt, tt] = pair("nn.meanSquaredError", y, t, ["y", "t"]);
  return mean(square(sub(yt, tt)));
}

/**
 * The mean absolute error `mean(|y − t|)`, averaged over all elements (its
 * derivative at `y = t` is taken as 0).
 *
 * @param y Predictions (a float tensor).
 * @param t Targets of the same shape.
 * @returns A scalar.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.meanAbsoluteError(tensor([1, 2]), tensor([0, 4])).itemSync()); // 1.5
 * ```
 */
export function meanAbsoluteError(y: TensorLike, t: TensorLike): Tensor {
  const [yt, tt] = pair("nn.meanAbsoluteError", y, t, ["y", "t"]);
  return mean(abs(sub(yt, tt)));
}

/**
 * The target as float rows matching `scores` of shape `[..., C]`: float
 * targets must have the same shape; int32 labels have shape `[...]` and
 * become one-hot rows. Labels outside `[0, C)` throw where they can be read
 * synchronously, else give NaN rows (so the loss and its gradient are NaN).
 */
function targetRows(op: string, scores: Tensor, t: TensorLike, what: string): Tensor {
  if (scores.ndim === 0) {
    throw new ShapeError(`${op}(): ${what} must have a class axis, got a scalar`);
  }
  const tt = asTensor(op, t, scores.dtype);
  const labelShape = scores.shape.slice(0, -1);
  const isLabelShape = tt.ndim === labelShape.length &&
    tt.shape.every((d, i) => d === labelShape[i]);
  if (isFloat(tt.dtype)) {
    if (isLabelShape) {
      throw new ShapeError(
        `${op}(): ${what} has shape ${fmtShape(scores.shape)} but t has shape ${
          fmtShape(tt.shape)
        } with dtype ${tt.dtype}: class labels must be int32, e.g. cast(t, "int32") ` +
          `(float targets must be one-hot rows of the same shape as ${what})`,
      );
    }
    requireSameShape(op, scores, tt, [what, "one-hot targets t"]);
    if (tt.dtype !== scores.dtype) {
      throw new DTypeError(
        `${op}(): ${what} is ${scores.dtype} but t is ${tt.dtype}; cast one first, e.g. cast(t, "${scores.dtype}")`,
      );
    }
    return tt;
  }
  if (tt.dtype !== "int32") {
    throw new DTypeError(
      `${op}(): t must be float one-hot targets or int32 class labels, got ${tt.dtype}`,
    );
  }
  if (!isLabelShape) {
    throw new ShapeError(
      `${op}(): int32 labels for ${what} of shape ${fmtShape(scores.shape)} must have shape ${
        fmtShape(labelShape)
      } (one label per row), got ${fmtShape(tt.shape)}`,
    );
  }
  const numClasses = scores.shape[scores.ndim - 1];
  const rows = oneHot(tt, numClasses, { dtype: scores.dtype });
  const inRange = checkLabels(`${op}()`, "label", tt, numClasses);
  return inRange === null ? rows : where(expandDims(inRange, -1), rows, NaN);
}

/** The batch size of `[N, ..., C]` scores: `N`, or 1 for a single `[C]` row. */
function batchSize(scores: Tensor): number {
  return scores.ndim === 1 ? 1 : scores.shape[0];
}

/**
 * The book's batch cross entropy `−Σ t·log(y + 1e−7) / N`: summed over all
 * elements, divided by the batch size `N = probs.shape[0]` (1 for a single
 * 1-D row). The small δ = 1e−7 keeps `log(0)` away. `t` is either float
 * targets of the same shape as `probs` (one-hot, or any distribution) or
 * int32 class labels with one label per row (shape `probs.shape[:-1]`: a
 * 1-D batch for `[N, C]` probabilities, a scalar for 1-D ones). For logits,
 * use the fused and stabler `softmaxCrossEntropy`. A label outside
 * `[0, C)` is an error where the labels are known without a device read
 * (cpu, wasm; host-made labels on WebGPU) and otherwise makes the loss NaN
 * (never a silent 0).
 *
 * @param probs Probabilities `[N, C]` (or `[C]`), e.g. from `softmax`.
 * @param t One-hot float targets of the same shape, or int32 labels.
 * @returns A scalar.
 * @throws {RangeError} When an int32 label is outside `[0, C)` and the
 * labels are known without a device read (labels computed on a GPU give NaN).
 * @throws {ShapeError} When `t` fits neither form, e.g. float labels `[N]`
 * (cast them to int32).
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * const y = tensor([0.1, 0.05, 0.6, 0, 0.05, 0.1, 0, 0.1, 0, 0]);
 * console.log(nn.crossEntropy(y, tensor(2, { dtype: "int32" })).itemSync()); // ≈ 0.510825457
 * const t = tensor([0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
 * console.log(nn.crossEntropy(y, t).itemSync()); // ≈ 0.510825457
 * ```
 */
export function crossEntropy(probs: TensorLike, t: TensorLike): Tensor {
  const op = "nn.crossEntropy";
  const p = floatInput(op, probs);
  const rows = targetRows(op, p, t, "probs");
  return div(neg(sum(mul(rows, log(add(p, DELTA))))), batchSize(p));
}

/**
 * Softmax followed by cross entropy, fused and stable:
 * `−Σ t·logSoftmax(logits) / N`, summed over all elements and divided by
 * the batch size `N = logits.shape[0]` (1 for a single 1-D row). No δ is
 * needed, and large logits give no overflow. Its gradient with respect to
 * the logits is `(softmax(logits) − t) / N`. `t` is one-hot (or soft)
 * float targets of the same shape, or int32 class labels (shape
 * `logits.shape[:-1]`). A logit of −∞ masks its class: where the target
 * is 0 there it adds nothing, and its gradient is 0 (Optax's and PyTorch's
 * integer-label losses do the same). A label outside `[0, C)` is an error
 * where the labels are known without a device read (eagerly on cpu and
 * wasm; host-made labels on WebGPU) and otherwise (labels traced by `jit`,
 * or computed on a GPU) makes the loss and its gradient NaN (never a
 * silent 0).
 *
 * @param logits Unnormalized scores `[N, C]` (or `[C]`); softmax runs over the last axis.
 * @param t One-hot float targets of the same shape, or int32 labels.
 * @returns A scalar.
 * @throws {RangeError} When an int32 label is outside `[0, C)` and the
 * labels are known without a device read (labels computed on a GPU give NaN).
 * @throws {ShapeError} When `t` fits neither form, e.g. float labels `[N]`
 * (cast them to int32).
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * const logits = tensor([[2, 1, 0.1], [0, 0, 1000]]);
 * console.log(nn.softmaxCrossEntropy(logits, tensor([0, 2], { dtype: "int32" })).itemSync());
 * // ≈ 0.2085 = (0.4170 + 0) / 2
 * ```
 */
export function softmaxCrossEntropy(logits: TensorLike, t: TensorLike): Tensor {
  const op = "nn.softmaxCrossEntropy";
  const z = floatInput(op, logits);
  const rows = targetRows(op, z, t, "logits");
  // A class with no target mass adds 0 even where its logit is −∞ (masked):
  // 0 · log 0 is NaN, so those terms are dropped, not multiplied.
  const terms = where(equal(rows, 0), 0, mul(rows, logSoftmax(z, -1)));
  return div(neg(sum(terms)), batchSize(z));
}

/**
 * Options of `binaryCrossEntropy`.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 *
 * const options: nn.BinaryCrossEntropyOptions = { eps: 1e-12 };
 * const p = tensor([1, 0.5], { dtype: "float64" });
 * const t = tensor([1, 1], { dtype: "float64" });
 * // ≈ 0.3466: the mean of −ln 1 and −ln 0.5
 * console.log(await nn.binaryCrossEntropy(p, t, options).item());
 * ```
 */
export interface BinaryCrossEntropyOptions {
  /** Added inside both logs to keep them finite at 0 and 1 (default 1e-7, the book's δ). */
  readonly eps?: number;
}

const BCE_KEYS: OptionKeys<BinaryCrossEntropyOptions> = { eps: true };

/**
 * Binary cross entropy of probabilities,
 * `−mean(t·log(p + ε) + (1 − t)·log(1 − p + ε))`, averaged over all
 * elements. For logits, use the stabler `sigmoidBinaryCrossEntropy`.
 *
 * @param p Probabilities in `[0, 1]` (e.g. from `sigmoid`).
 * @param t Targets in `[0, 1]` of the same shape (float, or int32/bool 0/1, cast to `p`'s dtype;
 * an int32 target other than 0 or 1 is a RangeError where known without a device read, else NaN).
 * @param opts `eps` (default 1e-7).
 * @returns A scalar.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.binaryCrossEntropy(tensor([0.9, 0.2]), tensor([1, 0])).itemSync()); // ≈ 0.1643
 * ```
 */
export function binaryCrossEntropy(
  p: TensorLike,
  t: TensorLike,
  opts: BinaryCrossEntropyOptions = {},
): Tensor {
  checkOptions("nn.binaryCrossEntropy", opts, BCE_KEYS, "{ eps: 1e-7 }");
  const [pt, tt] = pair("nn.binaryCrossEntropy", p, t, ["p", "t"], true);
  const eps = opts.eps ?? DELTA;
  const pos = mul(tt, log(add(pt, eps)));
  const negPart = mul(sub(1, tt), log(add(sub(1, pt), eps)));
  return neg(mean(add(pos, negPart)));
}

/**
 * Binary cross entropy of logits (sigmoid and cross entropy fused), in the
 * stable form `max(x, 0) − x·t + log1p(e^−|x|)`, averaged over all
 * elements. Finite with finite gradients for any logit; its gradient is
 * `(sigmoid(x) − t) / size`.
 *
 * @param logits Unnormalized scores (a float tensor).
 * @param t Targets in `[0, 1]` of the same shape (float, or int32/bool 0/1; an int32 target
 * other than 0 or 1 is a RangeError where known without a device read, else NaN).
 * @returns A scalar.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.sigmoidBinaryCrossEntropy(tensor([1000, -1000]), tensor([1, 0])).itemSync()); // 0
 * ```
 */
export function sigmoidBinaryCrossEntropy(logits: TensorLike, t: TensorLike): Tensor {
  const [x, tt] = pair("nn.sigmoidBinaryCrossEntropy", logits, t, ["logits", "t"], true);
  return mean(sub(softplus(x), mul(x, tt)));
}

/**
 * Options of `l1Penalty` and `l2Penalty`.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 *
 * const params = [{ w: tensor([3, 4]), b: tensor([10]) }];
 * // Decay the weights only, as the book does.
 * const options: nn.PenaltyOptions = { filter: (path) => path.endsWith(".w") };
 * console.log(await nn.l2Penalty(params, options).item()); // 12.5 (½·(3² + 4²))
 * ```
 */
export interface PenaltyOptions {
  /**
   * Which leaves to include, by key path (rooted at `params`, e.g.
   * `params[0].w`) and value. Default: every leaf. The book decays only the
   * weights: `{ filter: (path) => path.endsWith(".w") }`.
   */
  readonly filter?: (path: string, leaf: Tensor) => boolean;
}

function penalty(
  op: string,
  params: unknown,
  opts: PenaltyOptions,
  term: (w: Tensor) => Tensor,
  scale: number,
): Tensor {
  const [pairs] = flattenWithPath(params, "params");
  let total: Tensor | null = null;
  for (const [path, leaf] of pairs) {
    if (!(leaf instanceof Tensor) || !isFloat(leaf.dtype)) {
      const got = leaf instanceof Tensor ? `a ${leaf.dtype} tensor` : typeof leaf;
      throw new TypeError(`${op}(): every leaf must be a float tensor, but ${path} is ${got}`);
    }
    if (opts.filter && !opts.filter(path, leaf)) continue;
    const s = sum(term(leaf));
    total = total === null ? s : add(total, s);
  }
  if (total === null) return scalarOn(currentBackend(), 0, "float32");
  return scale === 1 ? total : mul(total, scale);
}

const PENALTY_KEYS: OptionKeys<PenaltyOptions> = { filter: true };

/**
 * The L1 penalty `Σ|w|` over every float tensor leaf of a params pytree
 * (summed over all elements of all leaves; `null` entries, such as a dense
 * layer's missing bias, have no leaves). Multiply by λ yourself:
 * `add(loss, mul(nn.l1Penalty(params), lambda))`.
 *
 * @param params A pytree of float tensors.
 * @param opts `filter` picks the leaves to include (default all).
 * @returns A scalar (float32 0 for a tree with no leaves).
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * const params = { w: tensor([[1, -2]]), b: tensor([3]) };
 * console.log(nn.l1Penalty(params).itemSync()); // 6
 * console.log(nn.l1Penalty(params, { filter: (path) => path.endsWith(".w") }).itemSync()); // 3
 * ```
 */
export function l1Penalty(params: unknown, opts: PenaltyOptions = {}): Tensor {
  checkOptions("nn.l1Penalty", opts, PENALTY_KEYS, '{ filter: (path) => path.endsWith(".w") }');
  return penalty("nn.l1Penalty", params, opts, abs, 1);
}

/**
 * The L2 penalty `½·Σw²` over every float tensor leaf of a params pytree
 * (summed over all elements of all leaves). The ½ is included, as in the
 * book's weight decay, which adds `½·λ·ΣW²` to the loss (so its gradient
 * is `λ·W`); multiply by λ yourself:
 * `add(loss, mul(nn.l2Penalty(params), lambda))`. The book decays only
 * the weights, not the biases: pass a `filter` for that.
 *
 * @param params A pytree of float tensors.
 * @param opts `filter` picks the leaves to include (default all).
 * @returns A scalar (float32 0 for a tree with no leaves).
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * const params = [{ w: tensor([[1, -2]]), b: tensor([3]) }, null];
 * console.log(nn.l2Penalty(params).itemSync()); // 7 = ½·(1 + 4 + 9)
 * console.log(nn.l2Penalty(params, { filter: (path) => path.endsWith(".w") }).itemSync()); // 2.5
 * ```
 */
export function l2Penalty(params: unknown, opts: PenaltyOptions = {}): Tensor {
  checkOptions("nn.l2Penalty", opts, PENALTY_KEYS, '{ filter: (path) => path.endsWith(".w") }');
  return penalty("nn.l2Penalty", params, opts, square, 0.5);
}
