/**
 * Activation functions, composed from existing ops (no primitives of their
 * own), so their gradients of any order come from the ops' rules.
 *
 * Every function is numerically stable for large `|x|`: no NaN at ±1000 in
 * the value or in the gradient. They take float tensors (or plain numbers,
 * which become float32 scalars) and return a tensor of the same shape and
 * dtype.
 *
 * @module
 */

import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensor, describe } from "../ops/convert.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";
import { floatInput } from "./_util.ts";
import {
  abs,
  add,
  cast,
  div,
  erfc,
  exp,
  expm1,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log1p,
  maximum,
  mul,
  neg,
  sigmoid as sigmoidOp,
  square,
  sub,
  tanh as tanhOp,
  where,
} from "../ops/elementwise.ts";
import { logsumexp, max, sum } from "../ops/reduce.ts";
import { stopGradient } from "../autodiff/stop_gradient.ts";
import { normAxis } from "../core/shape.ts";
import { ShapeError } from "../core/errors.ts";

/**
 * The step function of the perceptron: 1 where `x > 0`, else 0. Its
 * gradient is 0 everywhere (the jump at 0 is not differentiated).
 *
 * @param x A numeric tensor or number (bool is accepted too).
 * @returns 0/1 values, in `x`'s dtype when it is a float type, else float32.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.step(tensor([-1, 0, 2])).arraySync()); // [0, 0, 1]
 * ```
 */
export function step(x: TensorLike): Tensor {
  const t = asTensor("nn.step", x);
  if (t.dtype === "bool") return cast(t, "float32");
  return cast(greater(t, 0), t.dtype === "float64" ? "float64" : "float32");
}

/**
 * The logistic sigmoid `1 / (1 + e^−x)`, computed stably with
 * `z = e^−|x|` (never above 1): `1 / (1 + z)` for `x ≥ 0` and `z / (1 + z)`
 * for `x < 0`. Both branches and their derivatives stay finite, so there is
 * no NaN at ±1000, and small values keep full relative precision
 * (`sigmoid(−50) ≈ 1.9e−22`, not 0). One primitive (one kernel, and one in
 * the backward pass): its derivative is `σ(1 − σ)`, computed from the
 * output alone as JAX, PyTorch and TF.js do (so `jit` fuses the sigmoid
 * into the op before it); where `σ` rounds to 1 (`x > 17` in float32) it is
 * 0, an absolute error below 4e−8.
 *
 * @param x A float tensor or number.
 * @returns `σ(x)`, in `(0, 1)` (0 or 1 where it underflows or rounds).
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.sigmoid(tensor([-1000, 0, 1000])).arraySync()); // [0, 0.5, 1]
 * ```
 */
export function sigmoid(x: TensorLike): Tensor {
  return sigmoidOp(floatInput("nn.sigmoid", x));
}

/**
 * The hyperbolic tangent (the `tanh` op, also available here so that all
 * activations live in `nn`). Saturates to ±1; its derivative `1 − tanh²`
 * stays finite.
 *
 * @param x A float tensor or number.
 * @returns `tanh(x)`, in `[−1, 1]`.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.tanh(tensor([-1000, 0, 1000])).arraySync()); // [-1, 0, 1]
 * ```
 */
export function tanh(x: TensorLike): Tensor {
  return tanhOp(floatInput("nn.tanh", x));
}

/**
 * The rectified linear unit `max(x, 0)` (NaN in, NaN out). Its derivative
 * is 1 for `x > 0` and 0 for `x ≤ 0` (0 at `x = 0`, as in JAX and the
 * book's `Relu` layer).
 *
 * @param x A float tensor or number.
 * @returns `max(x, 0)`.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.relu(tensor([-2, 0, 3])).arraySync()); // [0, 0, 3]
 * ```
 */
export function relu(x: TensorLike): Tensor {
  const t = floatInput("nn.relu", x);
  return where(lessEqual(t, 0), 0, t); // NaN stays NaN, as in max(x, 0)
}

/**
 * The leaky ReLU: `x` for `x ≥ 0`, `alpha·x` below.
 *
 * @param x A float tensor or number.
 * @param alpha The slope for negative inputs (default 0.01).
 * @returns `where(x ≥ 0, x, alpha·x)`.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.leakyRelu(tensor([-2, 3]), 0.5).arraySync()); // [-1, 3]
 * ```
 */
export function leakyRelu(x: TensorLike, alpha = 0.01): Tensor {
  const t = floatInput("nn.leakyRelu", x);
  if (typeof alpha !== "number") {
    throw new TypeError(
      `nn.leakyRelu(): alpha (the slope below 0) must be a number, got ${describe(alpha)}; ` +
        `e.g. nn.leakyRelu(x, 0.1)`,
    );
  }
  return where(greaterEqual(t, 0), t, mul(t, alpha));
}

/**
 * The exponential linear unit: `x` for `x > 0`, `alpha·(e^x − 1)` below.
 * The exponential only ever sees non-positive inputs, so large `x` gives
 * no infinity (and no NaN in the gradient).
 *
 * @param x A float tensor or number.
 * @param alpha The scale of the negative part (default 1).
 * @returns `elu(x)`.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.elu(tensor([-1000, 0, 2])).arraySync()); // [-1, 0, 2]
 * ```
 */
export function elu(x: TensorLike, alpha = 1): Tensor {
  const t = floatInput("nn.elu", x);
  const pos = greater(t, 0);
  return where(pos, t, mul(expm1(where(pos, 0, t)), alpha));
}

/**
 * Options of `gelu`.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 *
 * const exact: nn.GeluOptions = { approximate: false };
 * const x = tensor([1], { dtype: "float64" });
 * console.log(nn.gelu(x, exact).arraySync()); // ≈ [0.841345]
 * console.log(nn.gelu(x).arraySync()); // ≈ [0.841192] (the tanh approximation)
 * ```
 */
export interface GeluOptions {
  /**
   * Use the tanh approximation `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`
   * (default true, as in JAX); `false` gives the exact `x·Φ(x)`.
   */
  readonly approximate?: boolean;
}

const GELU_KEYS: OptionKeys<GeluOptions> = { approximate: "boolean" };

// Dekker's exact product x·fl(1/√2): fl(1/√2) split in two 26-bit halves, the
// splitting factor 2²⁷ + 1, and what fl(1/√2) misses of 1/√2 (from mpmath at 50 digits).
const SQRT1_2_HI = 0.7071067839860916;
const SQRT1_2_LO = -2.7995440410322203e-9;
const SPLIT = 134217729;
const SQRT1_2_REST = -4.833646656726457e-17;

/**
 * `2·Φ(x) = erfc(−x/√2)`, where `Φ` is the standard normal CDF. `erfc`
 * keeps relative accuracy in the left tail, where `1 + erf(x/√2)` would
 * cancel to 0. In float64 one more step keeps it to an ulp or two: rounding
 * the argument `x/√2` (by up to half an ulp) moves `erfc` by `2u²` times that
 * relative error (1e−13 at x = −40), so the rounding error `r` of the
 * argument is computed exactly (Dekker's product) and put back to first
 * order: `erfc(u − r) ≈ erfc(u) + 2/√π·e^(−u²)·r`.
 */
function twiceNormalCdf(t: Tensor): Tensor {
  const u = mul(t, -Math.SQRT1_2);
  const y = erfc(u);
  if (t.dtype !== "float64") return y;
  // Where the correction could matter (|x| < 40); beyond, e^(−u²) is 0 and x·SPLIT may overflow.
  const x = where(less(abs(t), 40), t, 0);
  const g = mul(x, SPLIT);
  const hi = sub(g, sub(g, x));
  const lo = sub(x, hi);
  const p = mul(x, Math.SQRT1_2);
  const e = add(
    add(add(sub(mul(hi, SQRT1_2_HI), p), mul(hi, SQRT1_2_LO)), mul(lo, SQRT1_2_HI)),
    mul(lo, SQRT1_2_LO),
  );
  const r = add(e, mul(x, SQRT1_2_REST)); // x/√2 − fl(x·fl(1/√2))
  return add(y, mul(mul(exp(neg(square(u))), 2 / Math.sqrt(Math.PI)), r));
}

/**
 * The Gaussian error linear unit `x·Φ(x)`, where `Φ` is the standard normal
 * CDF. By default the tanh approximation
 * `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (as in JAX and GPT-2). With
 * `approximate: false` it is exact: `0.5·x·erfc(−x/√2)` from the `erfc`
 * primitive (fdlibm's algorithm), so the left tail keeps its relative
 * accuracy — within 1e−15 relative of `x·Φ(x)` in float64 over the whole
 * line (the rounding of `x/√2` is corrected), within float32 rounding in
 * float32. Its derivatives come from `erfc`'s, `Φ(x) + x·φ(x)`.
 *
 * @param x A float tensor or number.
 * @param opts `approximate` (default true).
 * @returns `gelu(x)`.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * const x = tensor([-1, 0, 1]);
 * console.log(nn.gelu(x).arraySync()); // ≈ [-0.1588, 0, 0.8412]
 * console.log(nn.gelu(x, { approximate: false }).arraySync()); // ≈ [-0.1587, 0, 0.8413]
 * const x64 = tensor([-2, 1], { dtype: "float64" });
 * console.log(nn.gelu(x64, { approximate: false }).arraySync());
 * // [-0.04550026389635841, 0.841344746068543]: x·Φ(x) to an ulp
 * ```
 */
export function gelu(x: TensorLike, opts: GeluOptions = {}): Tensor {
  checkOptions("nn.gelu", opts, GELU_KEYS, "{ approximate: false }");
  const t = floatInput("nn.gelu", x);
  if (opts.approximate ?? true) {
    const inner = mul(add(t, mul(mul(mul(t, t), t), 0.044715)), Math.sqrt(2 / Math.PI));
    return mul(mul(t, 0.5), add(tanhOp(inner), 1));
  }
  return mul(mul(t, 0.5), twiceNormalCdf(t));
}

/**
 * The softplus `log(1 + e^x)`, a smooth ReLU, computed stably as
 * `max(x, 0) + log1p(e^−|x|)` (no overflow at large `x`, full precision at
 * very negative `x`). Its derivative is `sigmoid(x)`.
 *
 * @param x A float tensor or number.
 * @returns `softplus(x)`.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.softplus(tensor([-1000, 0, 1000])).arraySync()); // [0, 0.6931471824645996, 1000]
 * ```
 */
export function softplus(x: TensorLike): Tensor {
  const t = floatInput("nn.softplus", x);
  // At x = 0 the derivative pieces are max'(0) = ½ (a tie) and 0 (|x|' = sign(0) = 0): ½ = σ(0).
  return add(maximum(t, 0), log1p(exp(neg(abs(t)))));
}

/**
 * The softmax along `axis`: `e^x / Σ e^x`, computed as
 * `e^(x − m) / Σ e^(x − m)` with `m` the maximum along `axis` (held
 * constant for differentiation: the softmax does not depend on it), so
 * large inputs neither overflow nor lose precision.
 *
 * @param x A float tensor.
 * @param axis The axis that sums to 1 (default -1, the last).
 * @returns Probabilities of the same shape.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.softmax(tensor([1000, 1000])).arraySync()); // [0.5, 0.5]
 * ```
 */
export function softmax(x: TensorLike, axis = -1): Tensor {
  const e = exp(shiftByMax("nn.softmax", x, axis));
  return div(e, sum(e, axis, { keepdims: true }));
}

/**
 * The log of the softmax along `axis`: `x − logsumexp(x)`, computed as
 * `(x − m) − log Σ e^(x − m)` with `m` the maximum along `axis`, stable and
 * accurate for large inputs. Use it (or `softmaxCrossEntropy`) instead of
 * `log(softmax(x))`.
 *
 * @param x A float tensor.
 * @param axis The axis to normalize over (default -1, the last).
 * @returns Log-probabilities of the same shape.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.logSoftmax(tensor([0, 1000])).arraySync()); // [-1000, 0]
 * ```
 */
export function logSoftmax(x: TensorLike, axis = -1): Tensor {
  // Shifted first, so x − max is exact and the logsumexp subtracted is small.
  const shifted = shiftByMax("nn.logSoftmax", x, axis);
  return sub(shifted, logsumexp(shifted, axis, { keepdims: true }));
}

/** `x − max(x, axis)`, the max held constant (and replaced by 0 where it is infinite). */
function shiftByMax(op: string, x: TensorLike, axis: number): Tensor {
  const t = floatInput(op, x);
  if (t.ndim === 0) throw new ShapeError(`${op}(): needs at least one axis, got a scalar`);
  // An empty axis has no maximum (and nothing to normalize): the result is empty too.
  if (t.shape[normAxis(op, axis, t.ndim)] === 0) return sub(t, 0);
  const m = stopGradient(max(t, axis, { keepdims: true }));
  return sub(t, where(less(abs(m), Infinity), m, 0));
}
