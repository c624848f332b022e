/**
 * Layers as pure `init`/`apply` pairs (like JAX's stax), with explicit
 * state (like Equinox and Haiku):
 *
 * - `init(key, inputShape)` makes `{params, state, outputShape}`;
 *   `inputShape` leaves out the batch axis.
 * - `apply(params, state, x, ctx?)` returns `[y, newState]`. Nothing is
 *   mutated: a layer with running statistics (`batchNorm`) returns new
 *   state, which the caller passes to the next call.
 * - `ctx.training` (default false, evaluation) switches dropout and batch
 *   norm to training mode; `ctx.key` gives dropout its randomness.
 *
 * Params and state are plain pytrees (`null` where a layer has none), so
 * `grad`, `tree.map` and optimizers work on them directly. Layers with
 * settings are factories (`dense(10)`, `dropout(0.5)`, `batchNorm()`);
 * layers without are ready-made values (`relu`, `sigmoid`, `flatten`).
 * They live in the `nn.layers` namespace, apart from the activation
 * functions (`nn.relu(x)` is the function, `nn.layers.relu` the layer).
 *
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const { dense, relu, sequential } = nn.layers;
 * const net = sequential(dense(100), relu, dense(10));
 * const { params, state, outputShape } = net.init(random.key(0), [784]);
 * const x = random.normal(random.key(1), [32, 784]);
 * const [logits] = net.apply(params, state, x);
 * console.log(outputShape, logits.shape); // [10] [32, 10]
 * ```
 *
 * @module
 */

import { fmtShape, ShapeError } from "../core/errors.ts";
import { Tensor } from "../core/tensor.ts";
import { stopGradient } from "../autodiff/stop_gradient.ts";
import { add, cast, div, mul, sqrt, square, sub } from "../ops/elementwise.ts";
import { matmul } from "../ops/matmul.ts";
import { reshape } from "../ops/movement.ts";
import { mean } from "../ops/reduce.ts";
import { ones, zeros } from "../ops/creation.ts";
import { getDefaultDType } from "../ops/default_dtype.ts";
import { bernoulli, split } from "../random/random.ts";
import * as act from "./activations.ts";
import { getInitializer } from "./get_initializer.ts";
import { floatInput, requireParamsDType } from "./_util.ts";
import type {
  ApplyContext,
  BatchNormOptions,
  BatchNormParams,
  BatchNormState,
  DenseOptions,
  DenseParams,
  Layer,
  ParamsOf,
  StateOf,
} from "./layer_types.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";
import { describe } from "../ops/convert.ts";

/** `fit`'s `TrainContext` is passed on as it is: its `state` is not the layers' business. */
const CONTEXT_KEYS: OptionKeys<ApplyContext & { readonly state?: unknown }> = {
  training: "boolean",
  key: true,
  state: true,
};

/** Checks a layer's apply context: a misspelt `training` would silently mean evaluation. */
function checkContext(layer: string, ctx: ApplyContext): void {
  checkOptions(`${layer}.apply`, ctx, CONTEXT_KEYS, "{ training: true, key: random.key(0) }");
}

// The layer types, as nn.layers.Layer, nn.layers.DenseParams, …
export * from "./layer_types.ts";
// conv2d, maxPool2d, avgPool2d, globalAvgPool2d (in their own file for size)
export * from "./conv_layers.ts";

function checkInputShape(name: string, shape: readonly number[], minRank = 0): void {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ShapeError(
      `${name}.init(): inputShape must be an array of non-negative integers (without the batch axis), got ${
        JSON.stringify(shape)
      }`,
    );
  }
  if (shape.length < minRank) {
    throw new ShapeError(
      `${name}.init(): inputShape must have at least ${minRank} axis, got ${fmtShape(shape)}`,
    );
  }
}

// ---------------------------------------------------------------- dense

const DENSE_KEYS: OptionKeys<DenseOptions> = {
  init: true,
  bias: "boolean",
  biasInit: true,
  dtype: true,
};

/**
 * A fully connected layer (the book's `Affine`): `y = x @ w + b` over the
 * last axis of `x`. Params `{w: [in, units], b: [units]}` (`b: null` with
 * `bias: false`); no state.
 *
 * @param units The output size.
 * @param opts `init` (default `"he"`), `bias` (default true), `biasInit`
 * (default `"zeros"`), `dtype` (default: the default dtype, see `setDefaultDType`).
 * @returns The layer.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const layer = nn.layers.dense(3, { init: "xavier" });
 * const { params, state } = layer.init(random.key(0), [4]);
 * console.log(params.w.shape, params.b?.shape); // [4, 3] [3]
 * const [y] = layer.apply(params, state, random.normal(random.key(1), [2, 4]));
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function dense(units: number, opts: DenseOptions = {}): Layer<DenseParams, null> {
  checkOptions("dense", opts, DENSE_KEYS, '{ init: "xavier", bias: false }');
  const name = `dense(${units})`;
  if (!Number.isInteger(units) || units < 1) {
    throw new RangeError(`dense(): units must be a positive integer, got ${units}`);
  }
  const wInit = getInitializer(opts.init ?? "he");
  const bInit = getInitializer(opts.biasInit ?? "zeros");
  const useBias = opts.bias ?? true;
  const dtype = opts.dtype ?? getDefaultDType();
  return {
    name,
    init(key, inputShape) {
      checkInputShape(name, inputShape, 1);
      const fanIn = inputShape[inputShape.length - 1];
      const [kw, kb] = split(key);
      const params: DenseParams = {
        w: wInit(kw, [fanIn, units], dtype),
        b: useBias ? bInit(kb, [units], dtype) : null,
      };
      return { params, state: null, outputShape: [...inputShape.slice(0, -1), units] };
    },
    apply(params, state, x) {
      if (params === null || typeof params !== "object" || !(params.w instanceof Tensor)) {
        throw new TypeError(`${name}.apply(): params must be {w, b} from init`);
      }
      const t = floatInput(`${name}.apply`, x);
      requireParamsDType(`${name}.apply()`, t, params.w);
      const inSize = params.w.shape[0];
      if (t.ndim === 0 || t.shape[t.ndim - 1] !== inSize) {
        throw new ShapeError(
          `${name}.apply(): expected inputs whose last axis has size ${inSize} (w is ${
            fmtShape(params.w.shape)
          }), got shape ${fmtShape(t.shape)}`,
        );
      }
      const y = matmul(t, params.w);
      return [params.b === null ? y : add(y, params.b), state];
    },
  };
}

// ---------------------------------------------------------------- activations

/**
 * Wraps an elementwise (shape-keeping) function as a layer with no params
 * and no state.
 *
 * @param fn The function, e.g. `(x) => nn.leakyRelu(x, 0.2)`.
 * @param name The layer's name (default: the function's name).
 * @returns The layer.
 * @example
 * ```ts
 * import { nn, tensor, type Tensor } from "@gradus/core";
 * const leaky = nn.layers.activation((x: Tensor) => nn.leakyRelu(x, 0.2), "leakyRelu(0.2)");
 * const [y] = leaky.apply(null, null, tensor([[-1, 1]]));
 * console.log(y.arraySync()); // [[-0.2, 1]]
 * ```
 */
export function activation(fn: (x: Tensor) => Tensor, name?: string): Layer<null, null> {
  if (typeof fn !== "function") {
    throw new TypeError(
      `nn.layers.activation(): expected the function to apply (e.g. nn.relu), got ${
        describe(fn)
      }; ` +
        `the built-in ones are layers already (nn.layers.relu)`,
    );
  }
  const layerName = name ?? (fn.name || "activation");
  return {
    name: layerName,
    init(_key, inputShape) {
      checkInputShape(layerName, inputShape);
      return { params: null, state: null, outputShape: [...inputShape] };
    },
    apply(_params, state, x) {
      return [fn(x), state];
    },
  };
}

/**
 * The ReLU layer (`nn.relu`); no params, no state.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.layers.relu.apply(null, null, tensor([[-1, 2]]))[0].arraySync()); // [[0, 2]]
 * ```
 */
export const relu: Layer<null, null> = activation(act.relu, "relu");

/**
 * The sigmoid layer (`nn.sigmoid`); no params, no state.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.layers.sigmoid.apply(null, null, tensor([[0]]))[0].arraySync()); // [[0.5]]
 * ```
 */
export const sigmoid: Layer<null, null> = activation(act.sigmoid, "sigmoid");

/**
 * The tanh layer (`nn.tanh`); no params, no state.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.layers.tanh.apply(null, null, tensor([[0]]))[0].arraySync()); // [[0]]
 * ```
 */
export const tanh: Layer<null, null> = activation(act.tanh, "tanh");

/**
 * The leaky ReLU layer with slope 0.01 (`nn.leakyRelu`); for another slope
 * use `activation((x) => nn.leakyRelu(x, alpha))`.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.layers.leakyRelu.apply(null, null, tensor([[-100]]))[0].arraySync()); // [[-1]]
 * ```
 */
export const leakyRelu: Layer<null, null> = activation((x) => act.leakyRelu(x), "leakyRelu");

/**
 * The ELU layer with alpha 1 (`nn.elu`).
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.layers.elu.apply(null, null, tensor([[-1000, 2]]))[0].arraySync()); // [[-1, 2]]
 * ```
 */
export const elu: Layer<null, null> = activation((x) => act.elu(x), "elu");

/**
 * The GELU layer, tanh approximation (`nn.gelu`).
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.layers.gelu.apply(null, null, tensor([[0]]))[0].arraySync()); // [[0]]
 * ```
 */
export const gelu: Layer<null, null> = activation((x) => act.gelu(x), "gelu");

/**
 * The softplus layer (`nn.softplus`).
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.layers.softplus.apply(null, null, tensor([[1000]]))[0].arraySync()); // [[1000]]
 * ```
 */
export const softplus: Layer<null, null> = activation(act.softplus, "softplus");

/**
 * The softmax layer over the last axis (`nn.softmax`). For training with
 * cross entropy, end the network with logits and use
 * `nn.softmaxCrossEntropy` instead.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.layers.softmax.apply(null, null, tensor([[0, 0]]))[0].arraySync()); // [[0.5, 0.5]]
 * ```
 */
export const softmax: Layer<null, null> = activation((x) => act.softmax(x), "softmax");

/**
 * The log-softmax layer over the last axis (`nn.logSoftmax`).
 *
 * @example
 * ```ts
 * import { nn, tensor } from "@gradus/core";
 * console.log(nn.layers.logSoftmax.apply(null, null, tensor([[0, 1000]]))[0].arraySync()); // [[-1000, 0]]
 * ```
 */
export const logSoftmax: Layer<null, null> = activation((x) => act.logSoftmax(x), "logSoftmax");

// ---------------------------------------------------------------- flatten

/**
 * Flattens every axis but the batch axis: `[N, d1, d2, …]` → `[N, d1·d2·…]`.
 * No params, no state.
 *
 * @example
 * ```ts
 * import { nn, ones, random } from "@gradus/core";
 * const { outputShape } = nn.layers.flatten.init(random.key(0), [1, 28, 28]);
 * const [y] = nn.layers.flatten.apply(null, null, ones([5, 1, 28, 28]));
 * console.log(outputShape, y.shape); // [784] [5, 784]
 * ```
 */
export const flatten: Layer<null, null> = {
  name: "flatten",
  init(_key, inputShape) {
    checkInputShape("flatten", inputShape);
    return { params: null, state: null, outputShape: [inputShape.reduce((a, b) => a * b, 1)] };
  },
  apply(_params, state, x) {
    if (!(x instanceof Tensor) || x.ndim === 0) {
      throw new ShapeError("flatten.apply(): needs a batch axis, got a scalar");
    }
    const rest = x.shape.slice(1).reduce((a, b) => a * b, 1);
    return [reshape(x, [x.shape[0], rest]), state];
  },
};

// ---------------------------------------------------------------- dropout

/**
 * Inverted dropout. In training mode (`ctx.training`) each element is kept
 * with probability `1 − rate` and the kept ones are scaled by
 * `1/(1 − rate)`, so the expected output equals the input; in evaluation
 * mode it is the identity. The book's `Dropout` keeps elements unscaled in
 * training and multiplies by `1 − rate` at evaluation instead: the two are
 * equivalent in expectation (the book's outputs are `1 − rate` times
 * these). Training mode needs a key in `ctx` (an error otherwise, even for
 * `rate = 0`): the same key gives the same mask. No params, no state.
 *
 * @param rate The fraction of elements to drop, in `[0, 1)`.
 * @returns The layer.
 * @example
 * ```ts
 * import { nn, ones, random } from "@gradus/core";
 * const drop = nn.layers.dropout(0.5);
 * const x = ones([2, 4]);
 * console.log(drop.apply(null, null, x)[0].arraySync()); // evaluation: x itself
 * const [y] = drop.apply(null, null, x, { training: true, key: random.key(0) });
 * console.log(y.shape); // [2, 4]: entries 0 or 2
 * ```
 */
export function dropout(rate: number): Layer<null, null> {
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`dropout(): rate must be in [0, 1), got ${rate}`);
  }
  const name = `dropout(${rate})`;
  return {
    name,
    init(_key, inputShape) {
      checkInputShape(name, inputShape);
      return { params: null, state: null, outputShape: [...inputShape] };
    },
    apply(_params, state, x, ctx = {}) {
      checkContext("dropout", ctx);
      if (!ctx.training) return [x, state];
      if (ctx.key === undefined) {
        throw new Error(
          "dropout(): training mode needs a key: apply(params, state, x, {training: true, key})",
        );
      }
      const t = floatInput(`${name}.apply`, x);
      if (rate === 0) return [t, state];
      const keep = 1 - rate;
      const mask = cast(bernoulli(ctx.key, keep, t.shape), t.dtype);
      return [mul(t, mul(mask, 1 / keep)), state];
    },
  };
}

// ---------------------------------------------------------------- batch norm

const BATCH_NORM_KEYS: OptionKeys<BatchNormOptions> = {
  momentum: true,
  eps: true,
  axis: true,
  dtype: true,
};

/**
 * Batch normalization (the book's `BatchNormalization`):
 * `y = gamma·(x − μ)/√(σ² + eps) + beta`. In training mode `μ` and `σ²`
 * are the batch's mean and biased variance over `axis`, and the returned
 * state holds updated running statistics
 * (`running = momentum·running + (1 − momentum)·batch`, with no gradient
 * through them); in evaluation mode (the default) the running statistics
 * are used and the state comes back unchanged. Params `{gamma, beta}` and
 * state `{mean, var}` have the input shape without the batch axis (axes in
 * `axis` become 1). Unlike the book, the running variance starts at 1 (not
 * 0), so an untrained layer is close to the identity in evaluation mode. An
 * empty batch in training mode returns itself and leaves the statistics as
 * they were.
 *
 * @param opts `momentum` (default 0.9), `eps` (default 1e-5), `axis`
 * (default 0), `dtype` (default: the default dtype, see `setDefaultDType`).
 * @returns The layer.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const bn = nn.layers.batchNorm();
 * const { params, state } = bn.init(random.key(0), [3]);
 * const x = random.normal(random.key(1), [64, 3], { mean: 5, std: 2 });
 * const [y, newState] = bn.apply(params, state, x, { training: true });
 * console.log(y.mean(0).shape, newState.mean.shape); // [3] [3]: y has mean ≈ 0 and variance ≈ 1
 * ```
 */
export function batchNorm(
  opts: BatchNormOptions = {},
): Layer<BatchNormParams, BatchNormState> {
  checkOptions("batchNorm", opts, BATCH_NORM_KEYS, "{ momentum: 0.9, eps: 1e-5 }");
  const momentum = opts.momentum ?? 0.9;
  const eps = opts.eps ?? 1e-5;
  const dtype = opts.dtype ?? getDefaultDType();
  const axisOpt = opts.axis ?? 0;
  const axisList = typeof axisOpt === "number" ? [axisOpt] : [...axisOpt];
  if (!(momentum >= 0 && momentum <= 1)) {
    throw new RangeError(`batchNorm(): momentum must be in [0, 1], got ${momentum}`);
  }
  if (!(eps >= 0)) throw new RangeError(`batchNorm(): eps must be ≥ 0, got ${eps}`);
  const name = "batchNorm";

  /** The reduction axes for inputs of rank `rank`, checked. */
  const axesFor = (op: string, rank: number): number[] => {
    const axes = axisList.map((a) => (Number.isInteger(a) && a < 0 ? a + rank : a));
    for (let i = 0; i < axes.length; i++) {
      if (!Number.isInteger(axes[i]) || axes[i] < 0 || axes[i] >= rank) {
        throw new ShapeError(
          `${op}: axis ${
            axisList[i]
          } is out of range for inputs of rank ${rank} (batch axis included)`,
        );
      }
    }
    if (!axes.includes(0)) {
      throw new ShapeError(
        `${op}: axis must include the batch axis 0, got ${JSON.stringify(axisOpt)}`,
      );
    }
    return [...new Set(axes)].sort((a, b) => a - b);
  };

  return {
    name,
    init(_key, inputShape) {
      checkInputShape(name, inputShape);
      const axes = axesFor(`${name}.init()`, inputShape.length + 1);
      const shape = inputShape.map((d, i) => (axes.includes(i + 1) ? 1 : d));
      return {
        params: { gamma: ones(shape, { dtype }), beta: zeros(shape, { dtype }) },
        state: { mean: zeros(shape, { dtype }), var: ones(shape, { dtype }) },
        outputShape: [...inputShape],
      };
    },
    apply(params, state, x, ctx = {}) {
      checkContext("batchNorm", ctx);
      const op = `${name}.apply()`;
      if (params === null || typeof params !== "object" || !(params.gamma instanceof Tensor)) {
        throw new TypeError(`${op}: params must be {gamma, beta} from init`);
      }
      if (state === null || typeof state !== "object" || !(state.mean instanceof Tensor)) {
        throw new TypeError(`${op}: state must be {mean, var} from init (or the last apply)`);
      }
      const t = floatInput(`${name}.apply`, x);
      requireParamsDType(op, t, params.gamma);
      const statShape = state.mean.shape;
      // Only the reduced axes (size 1 in the statistics) may have any size.
      const reduced = t.ndim === statShape.length + 1 ? axesFor(op, t.ndim) : [];
      const fits = t.ndim === statShape.length + 1 &&
        statShape.every((d, i) => d === t.shape[i + 1] || (d === 1 && reduced.includes(i + 1)));
      if (!fits) {
        throw new ShapeError(
          `${op}: expected inputs of shape [N, ${
            statShape.map((d, i) => (reduced.includes(i + 1) ? "any" : String(d))).join(", ")
          }] (as init was given), got ${fmtShape(t.shape)}`,
        );
      }
      if (!ctx.training) {
        const xhat = div(sub(t, state.mean), sqrt(add(state.var, eps)));
        return [add(mul(xhat, params.gamma), params.beta), state];
      }
      const axes = reduced; // checked above
      if (axes.some((a) => t.shape[a] === 0)) {
        // An empty batch has no statistics: the running ones stay as they are (as in
        // PyTorch), not NaN for every later evaluation.
        return [add(mul(t, params.gamma), params.beta), state];
      }
      const mu = mean(t, axes, { keepdims: true });
      const xc = sub(t, mu);
      const v = mean(square(xc), axes, { keepdims: true });
      const xhat = div(xc, sqrt(add(v, eps)));
      const y = add(mul(xhat, params.gamma), params.beta);
      const update = (running: Tensor, batch: Tensor): Tensor =>
        add(mul(running, momentum), mul(reshape(stopGradient(batch), statShape), 1 - momentum));
      return [y, { mean: update(state.mean, mu), var: update(state.var, v) }];
    },
  };
}

// ---------------------------------------------------------------- sequential

/**
 * Chains layers: the output of each is the input of the next. Params and
 * state are arrays with one entry per layer (`null` for layers without).
 * `init` splits its key into one key per layer; `apply` splits `ctx.key`
 * (when given) the same way, so each dropout layer gets its own mask.
 *
 * @param layers The layers, in order.
 * @returns The combined layer; its params and state types are tuples of the layers' types.
 * @example
 * ```ts
 * import { nn, random } from "@gradus/core";
 * const { dense, dropout, relu, sequential } = nn.layers;
 * const net = sequential(dense(16), relu, dropout(0.5), dense(2));
 * const { params, state } = net.init(random.key(0), [8]);
 * console.log(params[0].w.shape, params[1], params[3].w.shape); // [8, 16] null [16, 2]
 * const x = random.normal(random.key(1), [4, 8]);
 * const [y] = net.apply(params, state, x, { training: true, key: random.key(2) });
 * console.log(y.shape); // [4, 2]
 * ```
 */
export function sequential<const L extends readonly Layer[]>(
  ...layers: L
): Layer<
  { -readonly [K in keyof L]: ParamsOf<L[K]> },
  { -readonly [K in keyof L]: StateOf<L[K]> }
> {
  type P = { -readonly [K in keyof L]: ParamsOf<L[K]> };
  type S = { -readonly [K in keyof L]: StateOf<L[K]> };
  layers.forEach((l: unknown, i) => {
    const ok = typeof l === "object" && l !== null &&
      typeof (l as Layer).init === "function" && typeof (l as Layer).apply === "function";
    if (!ok) {
      throw new TypeError(
        `sequential(): argument ${i} is not a layer (an object with init and apply), got ` +
          `${describe(l)}` + (Array.isArray(l)
            ? "; pass the layers as arguments, sequential(a, b), not an array"
            : typeof l === "function"
            ? "; for an activation use its layer, e.g. nn.layers.relu"
            : ""),
      );
    }
  });
  const name = `sequential(${layers.map((l) => l.name).join(", ")})`;
  const n = layers.length;
  const checkArray = (what: string, v: unknown): unknown[] => {
    if (!Array.isArray(v) || v.length !== n) {
      throw new TypeError(
        `sequential.apply(): ${what} must be an array with one entry per layer (${n}), got ${
          Array.isArray(v) ? `an array of ${v.length}` : v === null ? "null" : typeof v
        }`,
      );
    }
    return v;
  };
  return {
    name,
    init(key, inputShape) {
      const keys = n === 0 ? [] : split(key, n);
      let shape: readonly number[] = inputShape;
      const params: unknown[] = [];
      const state: unknown[] = [];
      layers.forEach((layer, i) => {
        const r = layer.init(keys[i], shape);
        params.push(r.params);
        state.push(r.state);
        shape = r.outputShape;
      });
      return { params: params as P, state: state as S, outputShape: [...shape] };
    },
    apply(params, state, x, ctx = {}) {
      checkContext("sequential", ctx);
      const ps = checkArray("params", params);
      const ss = checkArray("state", state);
      const keys = ctx.key !== undefined && n > 0 ? split(ctx.key, n) : null;
      let h = x;
      const newState: unknown[] = [];
      layers.forEach((layer, i) => {
        const sub = keys === null ? ctx : { ...ctx, key: keys[i] };
        const [y, s] = layer.apply(ps[i], ss[i], h, sub);
        h = y;
        newState.push(s);
      });
      return [h, newState as S];
    },
  };
}
