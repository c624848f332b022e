/**
 * 2-D convolutions with PyTorch's semantics on `lax.convGeneralDilated`:
 * `conv2d` (NCHW input, OIHW weights, or NHWC/HWIO) and `convTranspose2d`
 * (IOHW weights, the gradient of `conv2d` with respect to its input).
 * Neither adds a bias: add it yourself, e.g.
 * `conv2d(x, w).add(b.reshape([1, -1, 1, 1]))` (NCHW).
 *
 * @module
 */

import { fmtShape, ShapeError } from "../core/errors.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensor } from "../ops/convert.ts";
import { expandDims, reshape, squeeze, transpose } from "../ops/movement.ts";
import { take } from "../ops/take.ts";
import { convGeneralDilated } from "../lax/conv.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";
import { CONV2D_KEYS } from "./_option_keys.ts";

/**
 * Options of {@linkcode conv2d}. Sizes are a number (both axes) or an
 * `[h, w]` pair.
 *
 * @example
 * ```ts
 * import { nn, ones } from "@gradus/core";
 *
 * const options: nn.Conv2dOptions = { stride: 2, padding: 1 };
 * console.log(nn.conv2d(ones([1, 3, 8, 8]), ones([4, 3, 3, 3]), options).shape); // [1, 4, 4, 4]
 * ```
 */
export interface Conv2dOptions {
  /** Step between windows (default 1). */
  readonly stride?: number | readonly [number, number];
  /**
   * Zeros added on both sides of each spatial axis: a number, an `[h, w]`
   * pair, `"valid"` (none, the default) or `"same"` (output size = input
   * size; stride 1 only, as in PyTorch; an odd total puts the extra zero at
   * the end).
   */
  readonly padding?: number | readonly [number, number] | "same" | "valid";
  /** Spacing between kernel taps (atrous convolution; default 1). */
  readonly dilation?: number | readonly [number, number];
  /** Channel groups (default 1): `in` and `out` channels must be divisible by it; `in` for depthwise. */
  readonly groups?: number;
  /** `"NCHW"` (the default, weights OIHW) or `"NHWC"` (weights HWIO, as TF/JAX/Flax). */
  readonly layout?: "NCHW" | "NHWC";
}

function pair(op: string, name: string, v: number | readonly number[], min: number): number[] {
  const p = typeof v === "number" ? [v, v] : [...v];
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new ShapeError(
      `${op}(): ${name} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(v)}`,
    );
  }
  return p;
}

/** `x` with a batch axis (PyTorch's unbatched `[C, H, W]`), and whether one was added. */
function batched(op: string, x: Tensor, w: Tensor): [Tensor, boolean] {
  if (w.ndim !== 4) {
    throw new ShapeError(`${op}(): the weights must have 4 axes, got ${fmtShape(w.shape)}`);
  }
  if (x.ndim === 3) return [expandDims(x, 0), true];
  if (x.ndim !== 4) {
    throw new ShapeError(
      `${op}(): the input must be [N, C, H, W] (or unbatched [C, H, W]; NHWC with layout "NHWC"), ` +
        `got ${fmtShape(x.shape)}`,
    );
  }
  return [x, false];
}

/**
 * A 2-D convolution (cross-correlation) with PyTorch's `F.conv2d`
 * semantics, without a bias (add it after: `y.add(b.reshape([1, -1, 1,
 * 1]))`). NCHW input with OIHW weights `[out, in / groups, kH, kW]` by
 * default, or NHWC input with HWIO weights `[kH, kW, in / groups, out]`
 * (`layout: "NHWC"`). Output size per axis:
 * `floor((in + 2·padding − dilation·(k − 1) − 1) / stride) + 1`.
 *
 * @param x Input `[N, C, H, W]` (or `[C, H, W]`; `[N, H, W, C]` with layout NHWC).
 * @param w Weights `[O, C / groups, kH, kW]` (`[kH, kW, C / groups, O]` with layout NHWC).
 * @param options `stride`, `padding`, `dilation`, `groups`, `layout`.
 * @returns The output `[N, O, H', W']` (`[N, H', W', O]` with layout NHWC).
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 *
 * const x = tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]); // [1, 1, 3, 3]
 * const w = tensor([[[[1, 0], [0, -1]]]]); // [1, 1, 2, 2]
 * console.log(nn.conv2d(x, w).arraySync()); // [[[[-4, -4], [-4, -4]]]]
 * console.log(nn.conv2d(x, w, { padding: "same" }).shape); // [1, 1, 3, 3]
 * ```
 */
export function conv2d(x: TensorLike, w: TensorLike, options: Conv2dOptions = {}): Tensor {
  checkOptions("conv2d", options, CONV2D_KEYS, "{ stride: 2, padding: 1 }");
  const op = "conv2d";
  const wt = asTensor(op, w);
  const [xb, unbatched] = batched(op, asTensor(op, x), wt);
  const layout = options.layout ?? "NCHW";
  if (layout !== "NCHW" && layout !== "NHWC") {
    throw new ShapeError(`${op}(): layout must be "NCHW" or "NHWC", got ${JSON.stringify(layout)}`);
  }
  const stride = pair(op, "stride", options.stride ?? 1, 1);
  const dilation = pair(op, "dilation", options.dilation ?? 1, 1);
  const kernel = layout === "NCHW" ? wt.shape.slice(2) : wt.shape.slice(0, 2);
  const p = options.padding ?? "valid";
  let padding: [number, number][];
  if (p === "valid") padding = [[0, 0], [0, 0]];
  else if (p === "same") {
    if (stride.some((s) => s !== 1)) {
      throw new ShapeError(
        `${op}(): padding "same" needs stride 1 (as in PyTorch), got stride ${
          JSON.stringify(options.stride)
        }; give the padding as numbers`,
      );
    }
    padding = kernel.map((k, a) => {
      const total = dilation[a] * (k - 1);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
  } else if (typeof p === "string") {
    throw new ShapeError(
      `${op}(): padding must be a number, an [h, w] pair, "same" or "valid", got "${p}"` +
        (p === "SAME" || p === "VALID"
          ? ` (PyTorch's lowercase forms here; JAX's "${p}" is lax.convGeneralDilated's and pooling's)`
          : ""),
    );
  } else padding = pair(op, "padding", p, 0).map((v) => [v, v]);
  const y = convGeneralDilated(xb, wt, {
    windowStrides: stride,
    padding,
    rhsDilation: dilation,
    featureGroupCount: options.groups ?? 1,
    dimensionNumbers: layout === "NCHW" ? ["NCHW", "OIHW", "NCHW"] : ["NHWC", "HWIO", "NHWC"],
  });
  return unbatched ? squeeze(y, 0) : y;
}

/**
 * Options of {@linkcode convTranspose2d}. Sizes are a number (both axes) or
 * an `[h, w]` pair.
 *
 * @example
 * ```ts
 * import { nn, ones } from "@gradus/core";
 *
 * const options: nn.ConvTranspose2dOptions = { stride: 2, padding: 1, outputPadding: 1 };
 * console.log(nn.convTranspose2d(ones([1, 4, 4, 4]), ones([4, 3, 3, 3]), options).shape);
 * // [1, 3, 8, 8]
 * ```
 */
export interface ConvTranspose2dOptions {
  /** The stride of the convolution this transposes (default 1). */
  readonly stride?: number | readonly [number, number];
  /** The padding of the convolution this transposes: removed from the output's borders (default 0). */
  readonly padding?: number | readonly [number, number];
  /** Extra rows/columns at the end of the output (default 0; less than stride or dilation). */
  readonly outputPadding?: number | readonly [number, number];
  /** Spacing between kernel taps (default 1). */
  readonly dilation?: number | readonly [number, number];
  /** Channel groups (default 1). */
  readonly groups?: number;
}

const CONV_TRANSPOSE2D_KEYS: OptionKeys<ConvTranspose2dOptions> = {
  stride: true,
  padding: true,
  outputPadding: true,
  dilation: true,
  groups: true,
};

/**
 * A 2-D transposed convolution ("deconvolution") with PyTorch's
 * `F.conv_transpose2d` semantics, without a bias: the gradient of
 * {@linkcode conv2d} with respect to its input, used to upsample. Weights
 * are `[in, out / groups, kH, kW]` (PyTorch's layout). Output size per axis:
 * `(in − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1`.
 *
 * Computed as `convGeneralDilated` with `lhsDilation` = stride, padding
 * `dilation·(k − 1) − padding` (plus `outputPadding` at the end) and the
 * kernel flipped and transposed to OIHW.
 *
 * @param x Input `[N, C_in, H, W]` (or `[C_in, H, W]`).
 * @param w Weights `[C_in, C_out / groups, kH, kW]`.
 * @param options `stride`, `padding`, `outputPadding`, `dilation`, `groups`.
 * @returns The output `[N, C_out, H', W']`.
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 *
 * const x = tensor([[[[1, 2], [3, 4]]]]); // [1, 1, 2, 2]
 * const w = tensor([[[[1, 1], [1, 1]]]]); // [1, 1, 2, 2]
 * console.log(nn.convTranspose2d(x, w, { stride: 2 }).arraySync());
 * // [[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]]
 * ```
 */
export function convTranspose2d(
  x: TensorLike,
  w: TensorLike,
  options: ConvTranspose2dOptions = {},
): Tensor {
  checkOptions("convTranspose2d", options, CONV_TRANSPOSE2D_KEYS, "{ stride: 2, padding: 1 }");
  const op = "convTranspose2d";
  const wt = asTensor(op, w);
  const [xb, unbatched] = batched(op, asTensor(op, x), wt);
  const stride = pair(op, "stride", options.stride ?? 1, 1);
  const dilation = pair(op, "dilation", options.dilation ?? 1, 1);
  const padding = pair(op, "padding", options.padding ?? 0, 0);
  const outPad = pair(op, "outputPadding", options.outputPadding ?? 0, 0);
  outPad.forEach((v, a) => {
    if (v >= stride[a] && v >= dilation[a]) {
      throw new ShapeError(
        `${op}(): outputPadding ${JSON.stringify(options.outputPadding)} must be smaller than ` +
          `the stride or the dilation on each axis (axis ${a}: ${v} vs stride ${stride[a]}, ` +
          `dilation ${dilation[a]})`,
      );
    }
  });
  const groups = options.groups ?? 1;
  const [cin, coutG, kh, kw] = wt.shape;
  if (!Number.isInteger(groups) || groups < 1 || cin % groups !== 0) {
    throw new ShapeError(
      `${op}(): groups ${groups} must be a positive integer dividing the weights' input ` +
        `channels (${cin}, weights ${fmtShape(wt.shape)})`,
    );
  }
  if (xb.shape[1] !== cin) {
    throw new ShapeError(
      `${op}(): the input ${fmtShape(xb.shape)} has ${xb.shape[1]} channels but the weights ` +
        `${fmtShape(wt.shape)} expect ${cin} (weights are [in, out / groups, kH, kW])`,
    );
  }
  [kh, kw].forEach((k, a) => {
    const n = xb.shape[2 + a];
    const size = (n - 1) * stride[a] - 2 * padding[a] + dilation[a] * (k - 1) + outPad[a] + 1;
    if (n > 0 && size < 1) {
      throw new ShapeError(
        `${op}(): the output would have ${size} rows on spatial axis ${a} ((in − 1)·stride − ` +
          `2·padding + dilation·(kernel − 1) + outputPadding + 1 with in ${n}, stride ${
            stride[a]
          }, ` +
          `padding ${padding[a]}, kernel ${k}); use less padding`,
      );
    }
  });
  // [G·I, O/G, kh, kw] -> [G, O/G, I, kh·kw] (OIHW per group), taps reversed (the flip).
  const cinG = cin / groups;
  const perGroup = reshape(wt, [groups, cinG, coutG, kh * kw]);
  const flipped = take(
    transpose(perGroup, [0, 2, 1, 3]),
    Array.from({ length: kh * kw }, (_, t) => kh * kw - 1 - t),
    3,
  );
  const kernel = reshape(flipped, [groups * coutG, cinG, kh, kw]);
  const y = convGeneralDilated(xb, kernel, {
    padding: [kh, kw].map((k, a): [number, number] => {
      const edge = dilation[a] * (k - 1) - padding[a];
      return [edge, edge + outPad[a]];
    }),
    lhsDilation: stride,
    rhsDilation: dilation,
    featureGroupCount: groups,
  });
  return unbatched ? squeeze(y, 0) : y;
}
