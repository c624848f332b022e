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
 * - convolutions: `conv2d`, `convTranspose2d` (NCHW/OIHW or NHWC/HWIO, no bias;
 *   on `lax.convGeneralDilated`);
 * - pooling: `maxPool2d`, `avgPool2d`, `globalAvgPool2d` (NCHW or NHWC);
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
 * @example From this entry point (`@gradus/core/nn`, the same functions as `nn.*`)
 * ```ts
 * import { layers, softmaxCrossEntropy } from "@gradus/core/nn";
 * import { random, tensor } from "@gradus/core";
 *
 * const net = layers.sequential(layers.dense(16), layers.relu, layers.dense(3));
 * const { params, state } = net.init(random.key(0), [4]);
 * const [logits] = net.apply(params, state, random.normal(random.key(1), [2, 4]));
 * const loss = softmaxCrossEntropy(logits, tensor([0, 2], { dtype: "int32" }));
 * console.log(logits.shape, loss.shape); // [2, 3] []
 * ```
 *
 * @module
 */

// Whole files are re-exported: `deno doc` (and so JSR) lists the members of
// the `export * as nn` namespace in mod.ts only when they come through
// `export *`. What is not public lives in `_`-prefixed files.
import "../ops/tensor_methods.ts"; // installs Tensor's methods (x.add(y), x.sum(), …)

export * from "./activations.ts";
export * from "./conv.ts";
export * from "./losses.ts";
export * as init from "./init.ts";
export * from "./initializer.ts";
export * from "./get_initializer.ts";
export * as layers from "./layers.ts";
export * from "./layer_types.ts";
export * from "./mlp.ts";
export * from "./pooling.ts";
