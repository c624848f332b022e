/**
 * Neural-network building blocks, all plain functions over tensors and
 * pytrees (they never read values back to the host):
 *
 * - activations: `step`, `sigmoid`, `tanh`, `relu`, `leakyRelu`, `elu`,
 *   `gelu`, `softplus`, `softmax`, `logSoftmax`;
 * - losses: `sumSquaredError`, `meanSquaredError`, `meanAbsoluteError`,
 *   `crossEntropy`, `softmaxCrossEntropy`, `binaryCrossEntropy`,
 *   `sigmoidBinaryCrossEntropy`, and the penalties `l1Penalty`, `l2Penalty`;
 * - initializers in `nn.init` (`normal`, `xavier`, `glorotNormal`,
 *   `glorotUniform`, `he`, `zeros`, `ones`) and `getInitializer`;
 * - layers as pure init/apply pairs in `nn.layers` (`dense`, activation
 *   layers, `dropout`, `batchNorm`, `flatten`, `sequential`), and `mlp`.
 *
 * Layers are optional: a model can just as well be a params object and a
 * `predict(params, x)` function, trained with `grad`.
 *
 * @example
 * ```ts
 * import { grad, matmul, nn, random, type Tensor, tensor, tree } from "@gradus/core";
 *
 * type Params = { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor };
 * const [k1, k2] = random.split(random.key(0));
 * let params: Params = {
 *   W1: nn.init.normal(0.01)(k1, [2, 8]),
 *   b1: nn.init.zeros(k1, [8]),
 *   W2: nn.init.normal(0.01)(k2, [8, 2]),
 *   b2: nn.init.zeros(k2, [2]),
 * };
 * const predict = (p: Params, x: Tensor) =>
 *   nn.softmax(matmul(nn.sigmoid(matmul(x, p.W1).add(p.b1)), p.W2).add(p.b2));
 * const loss = (p: Params, x: Tensor, t: Tensor) => nn.crossEntropy(predict(p, x), t);
 *
 * const x = tensor([[0, 0], [1, 1]]);
 * const t = tensor([0, 1], { dtype: "int32" });
 * const g = grad(loss)(params, x, t);
 * params = tree.map((p: Tensor, d: Tensor) => p.sub(d.mul(0.1)), params, g);
 * console.log(params.W1.shape); // [2, 8]
 * ```
 *
 * @module
 */

export {
  elu,
  gelu,
  type GeluOptions,
  leakyRelu,
  logSoftmax,
  relu,
  sigmoid,
  softmax,
  softplus,
  step,
  tanh,
} from "./activations.ts";
export {
  binaryCrossEntropy,
  type BinaryCrossEntropyOptions,
  crossEntropy,
  l1Penalty,
  l2Penalty,
  meanAbsoluteError,
  meanSquaredError,
  type PenaltyOptions,
  sigmoidBinaryCrossEntropy,
  softmaxCrossEntropy,
  sumSquaredError,
} from "./losses.ts";
export * as init from "./init.ts";
export {
  getInitializer,
  type Initializer,
  type InitializerName,
  type InitializerSpec,
} from "./init.ts";
export * as layers from "./layers.ts";
export type {
  ApplyContext,
  BatchNormOptions,
  BatchNormParams,
  BatchNormState,
  DenseOptions,
  DenseParams,
  Layer,
  LayerInit,
  ParamsOf,
  StateOf,
} from "./layers.ts";
export {
  type ActivationName,
  mlp,
  type MlpDenseParams,
  type MlpOptions,
  type MlpParams,
  type MlpParamsOf,
  type MlpState,
  type MlpStateOf,
} from "./mlp.ts";
