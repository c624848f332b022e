/**
 * `mlp`: the book's `MultiLayerNet` and `MultiLayerNetExtend` as one
 * `sequential` layer.
 *
 * @module
 */

import type { DType } from "../core/dtype.ts";
import type { Tensor } from "../core/tensor.ts";
import * as act from "./activations.ts";
import type { InitializerSpec } from "./init.ts";
import { getDefaultDType } from "../ops/default_dtype.ts";
import {
  activation as activationLayer,
  batchNorm as batchNormLayer,
  type BatchNormOptions,
  type BatchNormParams,
  type BatchNormState,
  dense,
  type DenseParams,
  dropout as dropoutLayer,
  type Layer,
  sequential,
} from "./layers.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * The activation names `mlp` accepts.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const activation: nn.ActivationName = "tanh";
 * const net = nn.mlp({ inputSize: 4, hiddenSizes: [8], outputSize: 2, activation });
 * console.log(net.name); // mlp(4-8-2)
 * console.log(net.init(random.key(0), [4]).outputShape); // [2]
 * ```
 */
export type ActivationName =
  | "relu"
  | "sigmoid"
  | "tanh"
  | "leakyRelu"
  | "elu"
  | "gelu"
  | "softplus";

const ACTIVATIONS: Record<ActivationName, (x: Tensor) => Tensor> = {
  relu: act.relu,
  sigmoid: act.sigmoid,
  tanh: act.tanh,
  leakyRelu: (x) => act.leakyRelu(x),
  elu: (x) => act.elu(x),
  gelu: (x) => act.gelu(x),
  softplus: act.softplus,
};

/** ReLU-like activations get He initialization by default; the others Xavier. */
const RELU_LIKE: readonly string[] = ["relu", "leakyRelu", "elu", "gelu"];

/**
 * Options of `mlp`.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const options: nn.MlpOptions = {
 *   inputSize: 784,
 *   hiddenSizes: [100, 100],
 *   outputSize: 10,
 *   activation: "relu",
 *   init: "he",
 *   batchNorm: true,
 *   dropout: 0.2,
 * };
 * const net = nn.mlp(options);
 * // 9 layers: (dense, batchNorm, relu, dropout) × 2, then dense
 * console.log(net.init(random.key(0), [784]).params.length); // 9
 * ```
 */
export interface MlpOptions {
  /** The number of input features (`init` checks that `inputShape` is `[inputSize]`). */
  readonly inputSize: number;
  /** The width of each hidden layer, e.g. `[100, 100, 100]`. */
  readonly hiddenSizes: readonly number[];
  /** The number of outputs (logits). */
  readonly outputSize: number;
  /** The hidden activation: a name or a function (default `"relu"`). */
  readonly activation?: ActivationName | ((x: Tensor) => Tensor);
  /**
   * The weight initializer of every dense layer: a name, a std (the book's
   * `weight_init_std`) or a function. Default as in the book: `"he"` for
   * ReLU-like activations (relu, leakyRelu, elu, gelu), `"xavier"` (std
   * 1/√fanIn) for the others and for custom functions. Biases start at 0.
   */
  readonly init?: InitializerSpec;
  /** Batch norm after each hidden dense layer (default false); options may be given. */
  readonly batchNorm?: boolean | BatchNormOptions;
  /** The dropout rate after each hidden activation (default 0: no dropout layers). */
  readonly dropout?: number;
  /** The dtype of params and state (default: the default dtype when the model is made, see `setDefaultDType`). */
  readonly dtype?: DType;
}

/**
 * Params of an `mlp`: one entry per layer (`null` for activations and dropout).
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const sizes: number[] = [32, 16]; // not known from the type: params are an MlpParams-like array
 * const net = nn.mlp({ inputSize: 8, hiddenSizes: sizes, outputSize: 3 });
 * const params: nn.MlpParams = net.init(random.key(0), [8]).params;
 * // [[8, 32], null, [32, 16], null, [16, 3]]
 * console.log(params.map((p) => (p && "w" in p ? p.w.shape : p)));
 * ```
 */
export type MlpParams = Array<DenseParams | BatchNormParams | null>;
/**
 * State of an `mlp`: one entry per layer (running statistics for batch norm, else `null`).
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const net = nn.mlp({ inputSize: 8, hiddenSizes: [16], outputSize: 3, batchNorm: true });
 * const state: nn.MlpState = net.init(random.key(0), [8]).state;
 * console.log(state.map((s) => (s ? s.mean.shape : s))); // [null, [16], null, null]
 * ```
 */
export type MlpState = Array<BatchNormState | null>;

/**
 * Params of an `mlp`'s dense layer: `mlp` always gives them a bias.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const net = nn.mlp({ inputSize: 4, hiddenSizes: [5], outputSize: 2 });
 * const first: nn.MlpDenseParams = net.init(random.key(0), [4]).params[0];
 * console.log(first.w.shape, first.b.shape); // [4, 5] [5] (never null: mlp always has biases)
 * ```
 */
export interface MlpDenseParams extends DenseParams {
  /** The bias, `[units]`. */
  readonly b: Tensor;
}

/**
 * The type of option `K` of `O`, or undefined when `O` does not have it.
 *
 * @internal Type-level machinery of {@linkcode MlpParamsOf}.
 */
type OptionOf<O, K extends string> = K extends keyof O ? O[K] : undefined;

/**
 * Whether `O` asks for batch norm: `"on"`, `"off"`, or `"unknown"` (a plain `boolean`).
 *
 * @internal Type-level machinery of {@linkcode MlpParamsOf}.
 */
type BatchNormFlag<O> = [OptionOf<O, "batchNorm">] extends [false | undefined] ? "off"
  : [OptionOf<O, "batchNorm">] extends [true | BatchNormOptions] ? "on"
  : "unknown";

/**
 * Whether `O` asks for dropout layers: a literal rate other than 0 is `"on"`; a plain `number` is `"unknown"`.
 *
 * @internal Type-level machinery of {@linkcode MlpParamsOf}.
 */
type DropoutFlag<O> = [OptionOf<O, "dropout">] extends [0 | undefined] ? "off"
  : number extends OptionOf<O, "dropout"> ? "unknown"
  : 0 extends OptionOf<O, "dropout"> ? "unknown"
  : undefined extends OptionOf<O, "dropout"> ? "unknown"
  : "on";

/**
 * Repeats `Block` once per entry of the tuple `H`.
 *
 * @internal Type-level machinery of {@linkcode MlpParamsOf}.
 */
type Repeat<H extends readonly unknown[], Block extends unknown[]> = H extends
  readonly [unknown, ...infer Rest] ? [...Block, ...Repeat<Rest, Block>] : [];

/**
 * The type of `O`'s `hiddenSizes`.
 *
 * @internal Type-level machinery of {@linkcode MlpParamsOf}.
 */
type HiddenSizesOf<O> = O extends { readonly hiddenSizes: infer H extends readonly number[] } ? H
  : [];

/**
 * Whether the layer layout of `O` is known from its type.
 *
 * @internal Type-level machinery of {@linkcode MlpParamsOf}.
 */
type KnownLayout<O> = O extends { readonly hiddenSizes: infer H extends readonly number[] }
  ? number extends H["length"] ? false
  : BatchNormFlag<O> extends "unknown" ? false
  : DropoutFlag<O> extends "unknown" ? false
  : true
  : false;

/**
 * The params type of `mlp(opts)` for options of type `O`: a tuple with one
 * entry per layer — `MlpDenseParams` for each dense layer,
 * `BatchNormParams` for each batch norm, `null` for activations and
 * dropout — when the layout is known from the options' types (a literal
 * `hiddenSizes` such as `[100, 100]`, a literal `batchNorm` and `dropout`).
 * Otherwise (e.g. `hiddenSizes: number[]`) only the first entry is known to
 * be a dense layer: `[MlpDenseParams, ...(MlpDenseParams | BatchNormParams | null)[]]`.
 *
 * @typeParam O The options' type.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const options = { inputSize: 4, hiddenSizes: [5], outputSize: 2 } as const;
 * // [MlpDenseParams, null, MlpDenseParams]: dense, relu, dense
 * type Params = nn.MlpParamsOf<typeof options>;
 * const params: Params = nn.mlp(options).init(random.key(0), [4]).params;
 * console.log(params[0].w.shape, params[1], params[2].b.shape); // [4, 5] null [2]
 * ```
 */
export type MlpParamsOf<O> = KnownLayout<O> extends true ? [
    ...Repeat<
      HiddenSizesOf<O>,
      [
        MlpDenseParams,
        ...(BatchNormFlag<O> extends "on" ? [BatchNormParams] : []),
        null,
        ...(DropoutFlag<O> extends "on" ? [null] : []),
      ]
    >,
    MlpDenseParams,
  ]
  : [MlpDenseParams, ...(MlpDenseParams | BatchNormParams | null)[]];

/**
 * The state type of `mlp(opts)` for options of type `O`: a tuple with
 * `BatchNormState` for each batch norm and `null` elsewhere when the layout
 * is known (see {@linkcode MlpParamsOf}), else {@linkcode MlpState}.
 *
 * @typeParam O The options' type.
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 *
 * const options = { inputSize: 4, hiddenSizes: [5], outputSize: 2, batchNorm: true } as const;
 * // [null, BatchNormState, null, null]: dense, batchNorm, relu, dense
 * type State = nn.MlpStateOf<typeof options>;
 * const state: State = nn.mlp(options).init(random.key(0), [4]).state;
 * console.log(state[1].mean.shape); // [5]
 * ```
 */
export type MlpStateOf<O> = KnownLayout<O> extends true ? [
    ...Repeat<
      HiddenSizesOf<O>,
      [
        null,
        ...(BatchNormFlag<O> extends "on" ? [BatchNormState] : []),
        null,
        ...(DropoutFlag<O> extends "on" ? [null] : []),
      ]
    >,
    null,
  ]
  : MlpState;

const MLP_KEYS: OptionKeys<MlpOptions> = {
  inputSize: true,
  hiddenSizes: true,
  outputSize: true,
  activation: true,
  init: true,
  batchNorm: true,
  dropout: true,
  dtype: true,
};

/**
 * A multi-layer perceptron, the book's `MultiLayerNet` (and, with
 * `batchNorm`/`dropout`, `MultiLayerNetExtend`): for each hidden size,
 * `dense → [batchNorm] → activation → [dropout]`, then a final `dense` with
 * no activation, so the output is logits (pair it with
 * `nn.softmaxCrossEntropy`). It is a `sequential` layer: params and state
 * are arrays with one entry per layer. Weight decay is not part of the
 * model: add `nn.l2Penalty(params)·λ` to the loss.
 *
 * Params and state are typed per layer from the options (see
 * {@linkcode MlpParamsOf}): with `hiddenSizes: [100, 100]`, `params[0].w`
 * and `params[2].b` type-check as tensors and `params[1]` (the ReLU) is
 * `null`; with `batchNorm: true`, `params[1].gamma` and `state[1].mean`
 * do. When the layout is not known from the types (a `number[]` of sizes,
 * a `boolean` batch norm), `params[0]` is still typed as the first dense
 * layer.
 *
 * @typeParam O The options' type (inferred; it gives the params' type).
 * @param opts `inputSize`, `hiddenSizes`, `outputSize`, `activation`
 * (default `"relu"`), `init` (default by activation, as in the book),
 * `batchNorm` (default false), `dropout` (default 0), `dtype` (default: the
 * default dtype, see `setDefaultDType`).
 * @returns The network as a layer.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const net = nn.mlp({ inputSize: 784, hiddenSizes: [100, 100], outputSize: 10 });
 * const { params, state } = net.init(random.key(0), [784]);
 * console.log(params.length); // 5: dense, relu, dense, relu, dense
 * console.log(params[0].w.shape, params[2].b.shape); // [784, 100] [100]
 * const [logits] = net.apply(params, state, random.normal(random.key(1), [8, 784]));
 * console.log(logits.shape); // [8, 10]
 * ```
 */
export function mlp<const O extends MlpOptions>(
  opts: O,
): Layer<MlpParamsOf<O>, MlpStateOf<O>> {
  checkOptions("nn.mlp", opts, MLP_KEYS, "{ inputSize: 784, hiddenSizes: [100], outputSize: 10 }");
  const { inputSize, hiddenSizes, outputSize } = opts;
  for (const [what, v] of [["inputSize", inputSize], ["outputSize", outputSize]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`nn.mlp(): ${what} must be a positive integer, got ${v}`);
    }
  }
  if (!Array.isArray(hiddenSizes) || !hiddenSizes.every((h) => Number.isInteger(h) && h >= 1)) {
    throw new RangeError(
      `nn.mlp(): hiddenSizes must be an array of positive integers, got ${
        JSON.stringify(hiddenSizes)
      }`,
    );
  }
  const actSpec = opts.activation ?? "relu";
  let actFn: (x: Tensor) => Tensor;
  let actName: string;
  if (typeof actSpec === "function") {
    actFn = actSpec;
    actName = actSpec.name || "activation";
  } else if (Object.hasOwn(ACTIVATIONS, actSpec)) {
    actFn = ACTIVATIONS[actSpec];
    actName = actSpec;
  } else {
    throw new TypeError(
      `nn.mlp(): unknown activation ${JSON.stringify(actSpec)}; use one of ${
        Object.keys(ACTIVATIONS).join(", ")
      } or a function`,
    );
  }
  const init = opts.init ??
    (RELU_LIKE.includes(actName) && typeof actSpec === "string" ? "he" : "xavier");
  const dtype = opts.dtype ?? getDefaultDType();
  const bn = opts.batchNorm ?? false;
  const rate = opts.dropout ?? 0;
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`nn.mlp(): dropout must be a rate in [0, 1), got ${rate}`);
  }
  const layers: Layer[] = [];
  const hiddenAct = activationLayer(actFn, actName);
  for (const h of hiddenSizes) {
    layers.push(dense(h, { init, dtype }));
    if (bn) layers.push(batchNormLayer({ ...(bn === true ? {} : bn), dtype }));
    layers.push(hiddenAct);
    if (rate > 0) layers.push(dropoutLayer(rate));
  }
  layers.push(dense(outputSize, { init, dtype }));
  const net = sequential(...layers);
  const name = `mlp(${[inputSize, ...hiddenSizes, outputSize].join("-")})`;
  const layer: Layer<MlpParams, MlpState> = {
    name,
    init(key, inputShape) {
      if (inputShape.length !== 1 || inputShape[0] !== inputSize) {
        throw new RangeError(
          `${name}.init(): inputShape must be [${inputSize}] (inputSize), got [${
            inputShape.join(", ")
          }]`,
        );
      }
      const r = net.init(key, inputShape);
      return {
        params: r.params as MlpParams,
        state: r.state as MlpState,
        outputShape: r.outputShape,
      };
    },
    apply(params, state, x, ctx) {
      const [y, s] = net.apply(params, state, x, ctx);
      return [y, s as MlpState];
    },
  };
  // The tuple types are what the layers above make, in this order.
  return layer as unknown as Layer<MlpParamsOf<O>, MlpStateOf<O>>;
}
