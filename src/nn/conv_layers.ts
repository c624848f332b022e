/**
 * Convolution and pooling layers for `nn.layers.sequential`: `conv2d`,
 * `maxPool2d`, `avgPool2d` and `globalAvgPool2d`, on the functional
 * `nn.conv2d` and pooling ops (so gradients, `jit` and every backend come
 * with them).
 *
 * Inputs are `[N, C, H, W]` (the default, the book's and PyTorch's) or
 * `[N, H, W, C]` with `layout: "NHWC"`; `init`'s input shape leaves out
 * the batch axis (`[1, 28, 28]` for MNIST). Each layer infers its output
 * shape by tracing its op on abstract values (`makeJaxpr`: no kernel
 * runs), so the shapes and errors are exactly those of the op, and `init`
 * rejects a bad combination (channels, window larger than the input, groups
 * that do not divide) before any training starts.
 *
 * @example The book's SimpleConvNet
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const { conv2d, dense, flatten, maxPool2d, relu, sequential } = nn.layers;
 * const net = sequential(
 *   conv2d({ outChannels: 30, kernelSize: 5, init: 0.01 }),
 *   relu,
 *   maxPool2d({ window: 2 }),
 *   flatten,
 *   dense(100, { init: 0.01 }),
 *   relu,
 *   dense(10, { init: 0.01 }),
 * );
 * const { params, outputShape } = net.init(random.key(0), [1, 28, 28]);
 * console.log(params[0].w.shape, params[4].w.shape, outputShape); // [30, 1, 5, 5] [4320, 100] [10]
 * ```
 *
 * @module
 */

import { fmtShape, ShapeError } from "../core/errors.ts";
import { Tensor } from "../core/tensor.ts";
import { add } from "../ops/elementwise.ts";
import { reshape, transpose } from "../ops/movement.ts";
import { zeros } from "../ops/creation.ts";
import { type FloatDType, getDefaultDType } from "../ops/default_dtype.ts";
import { makeJaxpr } from "../jit/jit.ts";
import { split } from "../random/random.ts";
import { conv2d as conv2dOp } from "./conv.ts";
import {
  avgPool2d as avgPool2dOp,
  type AvgPool2dOptions,
  globalAvgPool2d as globalAvgPool2dOp,
  type GlobalPool2dOptions,
  maxPool2d as maxPool2dOp,
  type Pool2dOptions,
} from "./pooling.ts";
import { getInitializer } from "./get_initializer.ts";
import type { Conv2dLayerOptions, Conv2dParams, Layer } from "./layer_types.ts";
import { requireFloat } from "../ops/convert.ts";
import { requireParamsDType } from "./_util.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";
import { AVG_POOL_KEYS, CONV2D_KEYS, GLOBAL_POOL_KEYS, POOL_KEYS } from "./_option_keys.ts";

/** Checks an image input shape without the batch axis: `[C, H, W]` (`[H, W, C]` for NHWC). */
function checkImageShape(name: string, shape: readonly number[], layout: string): void {
  const ok = Array.isArray(shape) && shape.length === 3 &&
    shape.every((d) => Number.isInteger(d) && d >= 0);
  if (!ok) {
    const want = layout === "NHWC" ? "[H, W, C]" : "[C, H, W]";
    throw new ShapeError(
      `${name}.init(): inputShape must be ${want} (three non-negative integers, without the ` +
        `batch axis; layout ${layout}), got ${JSON.stringify(shape)}`,
    );
  }
}

/**
 * The output shape (without the batch axis) of `f` on a batch of one input
 * of `inputShape`, traced on abstract values; errors are the op's, prefixed
 * with the layer's name.
 */
function inferShape(
  name: string,
  inputShape: readonly number[],
  dtype: FloatDType,
  f: (x: Tensor) => Tensor,
): number[] {
  const x = zeros([1, ...inputShape], { dtype });
  try {
    return makeJaxpr(f)(x).outputs[0].aval.shape.slice(1);
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    throw new ShapeError(
      `${name}.init(): for inputShape ${
        fmtShape(inputShape)
      } (traced with a batch of 1): ${e.message}`,
    );
  } finally {
    x.dispose();
  }
}

function positiveInt(op: string, what: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new RangeError(`${op}(): ${what} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

// ---------------------------------------------------------------- conv2d

const CONV2D_LAYER_KEYS: OptionKeys<Conv2dLayerOptions> = {
  ...CONV2D_KEYS,
  outChannels: true,
  kernelSize: true,
  init: true,
  bias: "boolean",
  biasInit: true,
  dtype: true,
};

/**
 * A 2-D convolution layer (the book's `Convolution`, PyTorch's `Conv2d`):
 * `nn.conv2d(x, w, …)` plus a bias per output channel. Params
 * `{w: [out, in / groups, kH, kW], b: [out]}` (OIHW; HWIO
 * `[kH, kW, in / groups, out]` with `layout: "NHWC"`; `b: null` with
 * `bias: false`); no state. The input channels come from `init`'s input
 * shape, as `dense` takes its input size.
 *
 * Defaults: stride 1, no padding (`"valid"`), dilation 1, 1 group, He
 * normal weights (std `√(2/fanIn)`, `fanIn = in/groups · kH · kW`, the
 * book's initializer for ReLU networks; PyTorch's default is uniform
 * `±1/√fanIn`, the book's SimpleConvNet uses std `0.01`), zero bias.
 *
 * @param opts `outChannels` and `kernelSize` (required); `stride`,
 * `padding` (a number, `[h, w]`, `"valid"` or `"same"`), `dilation`,
 * `groups`, `layout` as for `nn.conv2d`; `init`, `bias`, `biasInit`,
 * `dtype` as for `dense`.
 * @returns The layer.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const layer = nn.layers.conv2d({ outChannels: 30, kernelSize: 5 });
 * const { params, state, outputShape } = layer.init(random.key(0), [1, 28, 28]);
 * console.log(params.w.shape, params.b?.shape, outputShape); // [30, 1, 5, 5] [30] [30, 24, 24]
 * const [y] = layer.apply(params, state, random.normal(random.key(1), [2, 1, 28, 28]));
 * console.log(y.shape); // [2, 30, 24, 24]
 * ```
 * @example Channels last, stride 2 with padding
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const layer = nn.layers.conv2d({ outChannels: 16, kernelSize: 3, stride: 2, padding: 1, layout: "NHWC" });
 * const { params, outputShape } = layer.init(random.key(0), [32, 32, 3]);
 * console.log(params.w.shape, outputShape); // [3, 3, 3, 16] [16, 16, 16]
 * ```
 */
export function conv2d(opts: Conv2dLayerOptions): Layer<Conv2dParams, null> {
  if (opts === undefined) {
    throw new TypeError(
      `conv2d(): needs options with outChannels and kernelSize, e.g. { outChannels: 30, kernelSize: 5 }`,
    );
  }
  checkOptions("conv2d", opts, CONV2D_LAYER_KEYS, "{ outChannels: 30, kernelSize: 5 }");
  const out = positiveInt("conv2d", "outChannels", opts.outChannels);
  const ks = typeof opts.kernelSize === "number" ? [opts.kernelSize, opts.kernelSize] : [
    ...(opts.kernelSize ?? []),
  ];
  if (ks.length !== 2 || !ks.every((k) => Number.isInteger(k) && k >= 1)) {
    throw new RangeError(
      `conv2d(): kernelSize must be a positive integer or a pair [kH, kW] of them, got ${
        JSON.stringify(opts.kernelSize)
      }`,
    );
  }
  const [kh, kw] = ks;
  const groups = positiveInt("conv2d", "groups", opts.groups ?? 1);
  if (out % groups !== 0) {
    throw new RangeError(
      `conv2d(): outChannels ${out} must be divisible by groups ${groups}; pick a multiple of ${groups}`,
    );
  }
  const layout = opts.layout ?? "NCHW";
  if (layout !== "NCHW" && layout !== "NHWC") {
    throw new RangeError(
      `conv2d(): layout must be "NCHW" or "NHWC", got ${JSON.stringify(layout)}`,
    );
  }
  const wInit = getInitializer(opts.init ?? "he");
  const bInit = getInitializer(opts.biasInit ?? "zeros");
  const useBias = opts.bias ?? true;
  const dtype = opts.dtype ?? getDefaultDType();
  const convOpts = {
    stride: opts.stride,
    padding: opts.padding,
    dilation: opts.dilation,
    groups,
    layout,
  };
  const name = `conv2d(${out}, ${kh}×${kw})`;
  const forward = (w: Tensor, b: Tensor | null, x: Tensor): Tensor => {
    const y = conv2dOp(x, w, convOpts);
    if (b === null) return y;
    return add(y, layout === "NCHW" ? reshape(b, [b.shape[0], 1, 1]) : b);
  };
  return {
    name,
    init(key, inputShape) {
      checkImageShape(name, inputShape, layout);
      const cin = layout === "NCHW" ? inputShape[0] : inputShape[2];
      if (cin % groups !== 0) {
        throw new ShapeError(
          `${name}.init(): the input's ${cin} channels (inputShape ${
            fmtShape(inputShape)
          }, layout ${layout}) are not divisible by groups ${groups}; use groups that divide ` +
            `both the input channels and outChannels (${out})`,
        );
      }
      const [kWeight, kBias] = split(key);
      const oihw = wInit(kWeight, [out, cin / groups, kh, kw], dtype);
      const params: Conv2dParams = {
        w: layout === "NCHW" ? oihw : transpose(oihw, [2, 3, 1, 0]),
        b: useBias ? bInit(kBias, [out], dtype) : null,
      };
      // Traced on stand-ins of the params' shapes, so that init also works under a transformation.
      const t = params.w.dtype as FloatDType;
      const w = zeros(params.w.shape, { dtype: t }), b = zeros([out], { dtype: t });
      const outputShape = inferShape(name, inputShape, t, (x) => forward(w, useBias ? b : null, x));
      w.dispose();
      b.dispose();
      return { params, state: null, outputShape };
    },
    apply(params, state, x) {
      if (
        params === null || typeof params !== "object" || !(params.w instanceof Tensor) ||
        !(params.b === null || params.b instanceof Tensor)
      ) {
        throw new TypeError(`${name}.apply(): params must be {w, b} from init`);
      }
      if (!(x instanceof Tensor) || x.ndim !== 4) {
        throw new ShapeError(
          `${name}.apply(): expected a batch of images ${
            layout === "NCHW" ? "[N, C, H, W]" : "[N, H, W, C]"
          }, got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`,
        );
      }
      requireFloat(`${name}.apply`, x.dtype);
      requireParamsDType(`${name}.apply()`, x, params.w);
      const cin = params.w.shape[layout === "NCHW" ? 1 : 2] * groups;
      const got = x.shape[layout === "NCHW" ? 1 : 3];
      if (got !== cin) {
        throw new ShapeError(
          `${name}.apply(): the input ${fmtShape(x.shape)} has ${got} channels but the layer ` +
            `takes ${cin} (w ${fmtShape(params.w.shape)}, groups ${groups}, layout ${layout}); ` +
            `init it with the input's shape`,
        );
      }
      return [forward(params.w, params.b, x), state];
    },
  };
}

// ---------------------------------------------------------------- pooling

/** A layer without params or state that applies `f` to `[N, …]` images. */
function poolLayer(name: string, layout: string, f: (x: Tensor) => Tensor): Layer<null, null> {
  return {
    name,
    init(_key, inputShape) {
      checkImageShape(name, inputShape, layout);
      return {
        params: null,
        state: null,
        outputShape: inferShape(name, inputShape, getDefaultDType(), f),
      };
    },
    apply(_params, state, x) {
      if (!(x instanceof Tensor) || x.ndim !== 4) {
        throw new ShapeError(
          `${name}.apply(): expected a batch of images ${
            layout === "NHWC" ? "[N, H, W, C]" : "[N, C, H, W]"
          }, got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`,
        );
      }
      return [f(x), state];
    },
  };
}

function poolName(op: string, opts: AvgPool2dOptions | undefined): string {
  // countIncludePad is avgPool2d's alone: maxPool2d names it when built, not at init.
  if (opts !== undefined) {
    if (op === "avgPool2d") checkOptions(op, opts, AVG_POOL_KEYS, "{ window: 2 }");
    else checkOptions(op, opts as Pool2dOptions, POOL_KEYS, "{ window: 2 }");
  }
  if (opts === null || typeof opts !== "object" || opts.window === undefined) {
    throw new TypeError(`${op}(): needs options with a window, e.g. { window: 2 }`);
  }
  return `${op}(${JSON.stringify(opts.window)})`;
}

/**
 * A max-pooling layer (`nn.maxPool2d`; the book's `Pooling`): the maximum
 * of each window, per channel. The stride defaults to the window, as in
 * PyTorch and the book. No params, no state.
 *
 * @param opts `window` (required), `stride`, `padding`, `layout`, as for `nn.maxPool2d`.
 * @returns The layer.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const pool = nn.layers.maxPool2d({ window: 2 });
 * const { outputShape } = pool.init(random.key(0), [30, 24, 24]);
 * const [y] = pool.apply(null, null, random.normal(random.key(1), [5, 30, 24, 24]));
 * console.log(outputShape, y.shape); // [30, 12, 12] [5, 30, 12, 12]
 * ```
 */
export function maxPool2d(opts: Pool2dOptions): Layer<null, null> {
  const name = poolName("maxPool2d", opts);
  const o = { ...opts };
  return poolLayer(name, o.layout ?? "NCHW", (x) => maxPool2dOp(x, o));
}

/**
 * An average-pooling layer (`nn.avgPool2d`): the mean of each window, per
 * channel. The stride defaults to the window. No params, no state.
 *
 * @param opts `window` (required), `stride`, `padding`, `countIncludePad`, `layout`, as for `nn.avgPool2d`.
 * @returns The layer.
 * @example
 * ```ts
 * import { nn, ones, random } from "@gradus/core";
 * const pool = nn.layers.avgPool2d({ window: 3, stride: 1, padding: 1 });
 * const { outputShape } = pool.init(random.key(0), [4, 8, 8]);
 * const [y] = pool.apply(null, null, ones([2, 4, 8, 8]));
 * console.log(outputShape, y.shape); // [4, 8, 8] [2, 4, 8, 8]
 * ```
 */
export function avgPool2d(opts: AvgPool2dOptions): Layer<null, null> {
  const name = poolName("avgPool2d", opts);
  const o = { ...opts };
  return poolLayer(name, o.layout ?? "NCHW", (x) => avgPool2dOp(x, o));
}

/**
 * A global average-pooling layer (`nn.globalAvgPool2d`): the mean over
 * height and width, `[N, C, H, W]` → `[N, C]` (so `dense` can follow
 * without `flatten`), or `[N, C, 1, 1]` with `keepdims`. No params, no
 * state.
 *
 * @param opts `layout` (default `"NCHW"`), `keepdims` (default false).
 * @returns The layer.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const { conv2d, dense, globalAvgPool2d, relu, sequential } = nn.layers;
 * const net = sequential(conv2d({ outChannels: 8, kernelSize: 3 }), relu, globalAvgPool2d(), dense(10));
 * const { params, state, outputShape } = net.init(random.key(0), [3, 16, 16]);
 * const [logits] = net.apply(params, state, random.normal(random.key(1), [4, 3, 16, 16]));
 * console.log(params[3].w.shape, outputShape, logits.shape); // [8, 10] [10] [4, 10]
 * ```
 */
export function globalAvgPool2d(opts: GlobalPool2dOptions = {}): Layer<null, null> {
  checkOptions("globalAvgPool2d", opts, GLOBAL_POOL_KEYS, "{ keepdims: true }");
  const o = { ...opts };
  return poolLayer("globalAvgPool2d", o.layout ?? "NCHW", (x) => globalAvgPool2dOp(x, o));
}
