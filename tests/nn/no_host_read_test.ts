/**
 * The nn module never reads values back to the host: activations, losses
 * (with int labels too), penalties, initializers and a training step of an
 * mlp with batch norm and dropout all run on a backend whose reads throw.
 */

import assert from "node:assert/strict";
import { nn, random, type Tensor, tensor, tree, valueAndGrad } from "../../mod.ts";
import { onHostlessBackend } from "../_helpers.ts";

Deno.test("nn: activations, losses, init, layers and a training step never read values to the host", async () => {
  await onHostlessBackend(async () => {
    let loss!: Tensor;
    const x = random.normal(random.key(0), [6, 4]);
    const labels = random.randint(random.key(1), [6], 0, 3);
    for (
      const f of [
        nn.step,
        nn.sigmoid,
        nn.tanh,
        nn.relu,
        nn.leakyRelu,
        nn.elu,
        nn.gelu,
        (x: Tensor) => nn.gelu(x, { approximate: false }),
        nn.softplus,
        nn.softmax,
        nn.logSoftmax,
      ]
    ) f(x);
    const p = nn.softmax(x);
    nn.crossEntropy(p, random.randint(random.key(2), [6], 0, 4));
    nn.binaryCrossEntropy(nn.sigmoid(x), tensor(new Float32Array(24)).reshape([6, 4]));
    nn.sigmoidBinaryCrossEntropy(x, nn.step(x));
    nn.meanSquaredError(x, x.mul(2));
    nn.meanAbsoluteError(x, x.mul(2));
    nn.sumSquaredError(x, x.mul(2));
    for (const name of ["normal", "xavier", "glorot_normal", "glorot_uniform", "he"] as const) {
      nn.getInitializer(name)(random.key(3), [4, 3]);
    }

    const net = nn.mlp({
      inputSize: 4,
      hiddenSizes: [8],
      outputSize: 3,
      batchNorm: true,
      dropout: 0.2,
    });
    let { params, state } = net.init(random.key(4), [4]);
    const lossFn = (q: typeof params, s: typeof state): [Tensor, typeof state] => {
      const [logits, s2] = net.apply(q, s, x, { training: true, key: random.key(5) });
      return [nn.softmaxCrossEntropy(logits, labels).add(nn.l2Penalty(q).mul(1e-3)), s2];
    };
    for (let i = 0; i < 2; i++) {
      const [[l, s2], g] = valueAndGrad(lossFn, { hasAux: true })(params, state);
      params = tree.map((w: Tensor, d: Tensor) => w.sub(d.mul(0.1)), params, g);
      state = s2;
      loss = l;
    }
    net.apply(params, state, x);
    await assert.rejects(() => loss.data(), /host read attempted/);
  });
});
