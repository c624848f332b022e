/**
 * The library never reads tensor values back to the host by itself: a whole
 * training step (init, forward, loss, grad, SGD update) runs on a backend
 * whose reads throw.
 */

import assert from "node:assert/strict";
import {
  add,
  getBackend,
  logsumexp,
  matmul,
  mean,
  mul,
  oneHot,
  random,
  setBackend,
  sub,
  sum,
  tanh,
  type Tensor,
  tree,
  valueAndGrad,
} from "../../mod.ts";
import { onHostlessBackend, peek } from "../_helpers.ts";

type Params = { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor };

function step(params: Params, x: Tensor, labels: Tensor): [Tensor, Params] {
  const loss = (p: Params) => {
    const h = tanh(add(matmul(x, p.w1), p.b1));
    const logits = add(matmul(h, p.w2), p.b2);
    const logp = sub(logits, logsumexp(logits, -1, { keepdims: true }));
    return mean(mul(sum(mul(oneHot(labels, 3), logp), -1), -1));
  };
  const [value, grads] = valueAndGrad(loss)(params);
  return [value, tree.map((p: Tensor, g: Tensor) => sub(p, mul(g, 0.1)), params, grads)];
}

function init(): [Params, Tensor, Tensor] {
  const [k1, k2, k3, k4] = random.split(random.key(0), 4);
  const params = {
    w1: random.normal(k1, [4, 8], { std: 0.5 }),
    b1: random.normal(k2, [8], { std: 0.1 }),
    w2: random.normal(k3, [8, 3], { std: 0.5 }),
    b2: random.normal(k4, [3], { std: 0.1 }),
  };
  const [kx, ky] = random.split(random.key(1));
  return [params, random.normal(kx, [16, 4]), random.randint(ky, [16], 0, 3)];
}

Deno.test("a full grad step never reads values back to the host", async () => {
  const [loss, updated] = await onHostlessBackend(async (): Promise<[Tensor, Params]> => {
    const [params, x, labels] = init();
    let [loss, updated] = step(params, x, labels);
    [loss, updated] = step(updated, x, labels);
    assert.throws(() => loss.dataSync(), /cannot read values synchronously/);
    await assert.rejects(() => loss.data(), /host read attempted/);
    return [loss, updated];
  });
  // Same computation on the CPU backend (whose kernels the hostless one wraps)
  // gives the same values (read from the wrapped buffers directly).
  const before = getBackend();
  await setBackend("cpu");
  try {
    const [p0, x0, l0] = init();
    let [cpuLoss, cpuParams] = step(p0, x0, l0);
    [cpuLoss, cpuParams] = step(cpuParams, x0, l0);
    assert.deepEqual(peek(loss), [...cpuLoss.dataSync()]);
    assert.deepEqual(peek(updated.w1), [...cpuParams.w1.dataSync()]);
  } finally {
    await setBackend(before);
  }
});
