/**
 * The types of layers: the contract every layer meets ({@linkcode Layer},
 * {@linkcode LayerInit}, {@linkcode ApplyContext}, {@linkcode ParamsOf},
 * {@linkcode StateOf}) and the options, params and state of the built-in
 * `dense`, `batchNorm` and `conv2d` layers. `nn` exports them, and so does
 * `nn.layers` (layers.ts re-exports this file).
 *
 * They live apart from layers.ts so that both namespaces can re-export them
 * whole: inside a namespace (`export * as nn` in mod.ts), `deno doc` lists
 * what comes through `export *`, not names re-exported one by one.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const layer: nn.Layer<nn.DenseParams, null> = nn.layers.dense(4);
 * const init: nn.LayerInit<nn.DenseParams, null> = layer.init(random.key(0), [3]);
 * console.log(init.params.w.shape, init.outputShape); // [3, 4] [4]
 * ```
 *
 * @module
 */

import type { DType } from "../core/dtype.ts";
import type { Tensor } from "../core/tensor.ts";
import type { PRNGKey } from "../random/random.ts";
import type { InitializerSpec } from "./initializer.ts";
import type { Conv2dOptions } from "./conv.ts";

/**
 * How a layer is applied: training or evaluation mode, and a key for randomness.
 * `fit`'s `TrainContext` (which also carries `state`) can be passed as it is;
 * any other key is an error (a misspelt `training` would mean evaluation).
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const drop = nn.layers.dropout(0.5);
 * const x = random.normal(random.key(0), [2, 4]);
 * const train: nn.ApplyContext = { training: true, key: random.key(1) };
 * const [y] = drop.apply(null, null, x, train); // about half the values zeroed, the rest doubled
 * const [same] = drop.apply(null, null, x); // evaluation (the default): the identity
 * console.log(y.shape, same.arraySync().toString() === x.arraySync().toString()); // [2, 4] true
 * ```
 */
export interface ApplyContext {
  /** Training mode (default false: evaluation). Dropout and batch norm behave differently in it. */
  readonly training?: boolean;
  /** A PRNG key; dropout needs one in training mode. `sequential` splits it per layer. */
  readonly key?: PRNGKey;
}

/**
 * What `Layer.init` returns.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const bn = nn.layers.batchNorm();
 * const init: nn.LayerInit<nn.BatchNormParams, nn.BatchNormState> = bn.init(random.key(0), [3]);
 * console.log(init.params.gamma.shape, init.state.mean.shape, init.outputShape); // [3] [3] [3]
 * ```
 */
export interface LayerInit<P, S> {
  /** The trainable parameters (a pytree of tensors; `null` for none). */
  readonly params: P;
  /** The non-trainable state, such as running statistics (`null` for none). */
  readonly state: S;
  /** The output shape, without the batch axis. */
  readonly outputShape: number[];
}

/**
 * A layer: a pure pair of functions. `P` is the type of its params, `S`
 * the type of its state. Any object of this shape works with `sequential`,
 * so a custom layer is a few lines.
 *
 * @example A custom layer: a learned elementwise scale
 * ```ts
 * import { mul, nn, ones, random, type Tensor } from "@gradus/core";
 *
 * const scale: nn.Layer<{ s: Tensor }, null> = {
 *   name: "scale",
 *   init: (_key, inputShape) => ({
 *     params: { s: ones([...inputShape]) },
 *     state: null,
 *     outputShape: [...inputShape],
 *   }),
 *   apply: (params, state, x) => [mul(x, params.s), state],
 * };
 * const net = nn.layers.sequential(nn.layers.dense(4), scale, nn.layers.relu);
 * const { params, state } = net.init(random.key(0), [3]);
 * console.log(params[1].s.shape); // [4]
 * ```
 */
export interface Layer<P = unknown, S = unknown> {
  /** A readable name, e.g. `dense(10)`. */
  readonly name: string;
  /**
   * Makes params, state and the output shape.
   *
   * @param key The key for random initial values.
   * @param inputShape The input shape without the batch axis.
   */
  init(key: PRNGKey, inputShape: readonly number[]): LayerInit<P, S>;
  /**
   * Runs the layer on a batch.
   *
   * @param params Params from `init` (or trained ones).
   * @param state State from `init` or from the previous `apply`.
   * @param x The input batch.
   * @param ctx Training mode and key (default: evaluation, no key).
   */
  apply(params: P, state: S, x: Tensor, ctx?: ApplyContext): [Tensor, S];
}

/**
 * The params type of a layer type.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const net = nn.layers.sequential(nn.layers.dense(8), nn.layers.relu, nn.layers.dense(2));
 * // [DenseParams, null, DenseParams]
 * type Params = nn.ParamsOf<typeof net>;
 * const params: Params = net.init(random.key(0), [4]).params;
 * console.log(params[0].w.shape, params[1], params[2].w.shape); // [4, 8] null [8, 2]
 * ```
 */
export type ParamsOf<L> = L extends Layer<infer P, infer _S> ? P : never;
/**
 * The state type of a layer type.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const net = nn.layers.sequential(nn.layers.dense(8), nn.layers.batchNorm());
 * // [null, BatchNormState]
 * type State = nn.StateOf<typeof net>;
 * const state: State = net.init(random.key(0), [4]).state;
 * console.log(state[0], state[1].var.shape); // null [8]
 * ```
 */
export type StateOf<L> = L extends Layer<infer _P, infer S> ? S : never;

// ---------------------------------------------------------------- dense

/**
 * Options of `dense`.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const options: nn.DenseOptions = { init: "glorot_uniform", bias: false, dtype: "float64" };
 * const { params } = nn.layers.dense(3, options).init(random.key(0), [5]);
 * console.log(params.w.shape, params.w.dtype, params.b); // [5, 3] "float64" null
 * ```
 */
export interface DenseOptions {
  /**
   * The weight initializer: a name, a std, or a function (default `"he"`,
   * std √(2/fanIn), the book's choice for ReLU networks; Keras uses
   * `"glorot_uniform"`).
   */
  readonly init?: InitializerSpec;
  /** Whether to add a bias (default true). */
  readonly bias?: boolean;
  /** The bias initializer (default `"zeros"`). */
  readonly biasInit?: InitializerSpec;
  /** The dtype of the params (default: the default dtype when the layer is made, see `setDefaultDType`). */
  readonly dtype?: DType;
}

/**
 * Params of a `dense` layer: `w` is `[in, units]`, `b` is `[units]` (null without bias).
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 *
 * // Hand-made params work as well as init's.
 * const params: nn.DenseParams = { w: tensor([[1, 0], [0, 2]]), b: tensor([0.5, 0.5]) };
 * const [y] = nn.layers.dense(2).apply(params, null, tensor([[3, 4]]));
 * console.log(y.arraySync()); // [[3.5, 8.5]]
 * ```
 */
export interface DenseParams {
  /** The weights, `[in, units]`. */
  readonly w: Tensor;
  /** The bias, `[units]`, or null when the layer has none. */
  readonly b: Tensor | null;
}

// ---------------------------------------------------------------- batch norm

/**
 * Options of `batchNorm`.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * // Per channel over [N, C, H, W] images, with a slower running average.
 * const options: nn.BatchNormOptions = { momentum: 0.99, eps: 1e-3, axis: [0, 2, 3] };
 * const bn = nn.layers.batchNorm(options);
 * const { params } = bn.init(random.key(0), [3, 8, 8]);
 * console.log(params.gamma.shape); // [3, 1, 1]
 * ```
 */
export interface BatchNormOptions {
  /**
   * Weight of the old running statistics in each update:
   * `running = momentum·running + (1 − momentum)·batch` (default 0.9, as in the book).
   */
  readonly momentum?: number;
  /**
   * Added to the variance inside the square root (default 1e-5, as in
   * PyTorch and Flax; the book writes `10e-7`, i.e. 1e-6).
   */
  readonly eps?: number;
  /**
   * The axis or axes of the full input (batch axis = 0) to compute the
   * statistics over (default 0: per feature over the batch). Must include
   * 0; e.g. `[0, 2, 3]` normalizes `[N, C, H, W]` images per channel.
   */
  readonly axis?: number | readonly number[];
  /** The dtype of params and state (default: the default dtype when the layer is made, see `setDefaultDType`). */
  readonly dtype?: DType;
}

/**
 * Params of `batchNorm`: the scale `gamma` (init 1) and shift `beta` (init 0).
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "@gradus/core";
 *
 * const bn = nn.layers.batchNorm();
 * const { state } = bn.init(random.key(0), [2]);
 * // Scale by 2 and shift by 1 after normalizing (evaluation mode: running mean 0, variance 1).
 * const params: nn.BatchNormParams = { gamma: tensor([2, 2]), beta: tensor([1, 1]) };
 * const [y] = bn.apply(params, state, tensor([[1, -1]]));
 * console.log(y.arraySync()); // ≈ [[3, -1]]
 * ```
 */
export interface BatchNormParams {
  /** The scale, init 1. */
  readonly gamma: Tensor;
  /** The shift, init 0. */
  readonly beta: Tensor;
}

/**
 * State of `batchNorm`: running mean (init 0) and running variance (init 1).
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const bn = nn.layers.batchNorm({ momentum: 0.5 });
 * const { params, state } = bn.init(random.key(0), [1]);
 * const x = random.normal(random.key(1), [1000, 1], { mean: 4 });
 * const [, next]: [unknown, nn.BatchNormState] = bn.apply(params, state, x, { training: true });
 * console.log(next.mean.arraySync()); // ≈ [2] (0.5·0 + 0.5·4)
 * ```
 */
export interface BatchNormState {
  /** The running mean, init 0. */
  readonly mean: Tensor;
  /** The running (biased) variance, init 1. */
  readonly var: Tensor;
}

// ---------------------------------------------------------------- conv2d

/**
 * Options of the `conv2d` layer: the output channels and kernel size, the
 * options of the functional `nn.conv2d` (`stride`, `padding`, `dilation`,
 * `groups`, `layout`), and how params are made.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const options: nn.Conv2dLayerOptions = { outChannels: 8, kernelSize: 3, padding: "same" };
 * const { params, outputShape } = nn.layers.conv2d(options).init(random.key(0), [3, 32, 32]);
 * console.log(params.w.shape, outputShape); // [8, 3, 3, 3] [8, 32, 32]
 * ```
 */
export interface Conv2dLayerOptions extends Conv2dOptions {
  /** The number of filters (output channels). */
  readonly outChannels: number;
  /** The filter height and width (one number for a square filter). */
  readonly kernelSize: number | readonly [number, number];
  /**
   * The weight initializer: a name, a std, or a function (default `"he"`:
   * normal with std `√(2/fanIn)`, `fanIn = in/groups · kH · kW`, the book's
   * choice for ReLU networks; the book's SimpleConvNet uses `0.01`;
   * PyTorch uses uniform `±1/√fanIn`). It is called with the OIHW shape
   * (so fans are computed from it) and the result is transposed to HWIO for
   * `layout: "NHWC"`.
   */
  readonly init?: InitializerSpec;
  /** Whether to add a bias, one per output channel (default true). */
  readonly bias?: boolean;
  /** The bias initializer (default `"zeros"`, as the book). */
  readonly biasInit?: InitializerSpec;
  /** The dtype of the params (default: the default dtype when the layer is made, see `setDefaultDType`). */
  readonly dtype?: DType;
}

/**
 * Params of a `conv2d` layer: `w` is OIHW `[out, in / groups, kH, kW]`
 * (HWIO `[kH, kW, in / groups, out]` with `layout: "NHWC"`), `b` is `[out]`
 * (null without bias).
 *
 * @example
 * ```ts
 * import { nn, ones, tensor } from "@gradus/core";
 *
 * // One 1×1 filter that doubles its input, plus 1.
 * const params: nn.Conv2dParams = { w: tensor([[[[2]]]]), b: tensor([1]) };
 * const [y] = nn.layers.conv2d({ outChannels: 1, kernelSize: 1 }).apply(params, null, ones([1, 1, 2, 2]));
 * console.log(y.arraySync()); // [[[[3, 3], [3, 3]]]]
 * ```
 */
export interface Conv2dParams {
  /** The filters, OIHW (HWIO with `layout: "NHWC"`). */
  readonly w: Tensor;
  /** The bias, `[out]`, or null when the layer has none. */
  readonly b: Tensor | null;
}
