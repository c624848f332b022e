/**
 * Out-of-range class labels on WebGPU, where they cannot be checked without
 * reading the device: losses, their gradients and metrics come out NaN
 * (`confusionMatrix` −1), and `fit` stops with a `NonFiniteLossError` — never
 * the silent finite loss of 0 that an off-by-one in labels used to give. On
 * cpu and wasm the same calls are RangeErrors (tests/nn/losses_test.ts).
 * Skipped where no WebGPU adapter exists.
 */

import assert from "node:assert/strict";
import {
  fit,
  getBackend,
  grad,
  metrics,
  nn,
  NonFiniteLossError,
  optim,
  random,
  setBackend,
  type Tensor,
  tensor,
} from "../../mod.ts";

const adapter = await navigator.gpu?.requestAdapter().catch(() => null);

function gpuTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: `webgpu labels: ${name}`,
    ignore: adapter === null || adapter === undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const before = getBackend();
      await setBackend("webgpu");
      try {
        await fn();
      } finally {
        await setBackend(before);
      }
    },
  });
}

const logits = () => tensor([[1, 0, -1], [0.5, 0.25, 0]]);

gpuTest("a label out of range makes the loss and its row's gradient NaN", async () => {
  for (const bad of [3, -1]) {
    const y = tensor([bad, 1], { dtype: "int32" });
    const loss = nn.softmaxCrossEntropy(logits(), y);
    assert.ok(Number.isNaN((await loss.data())[0]), `label ${bad}: loss`);
    const g = await grad((z: Tensor) => nn.softmaxCrossEntropy(z, y))(logits()).data();
    assert.ok(g.slice(0, 3).every(Number.isNaN), `label ${bad}: gradient of the bad row`);
    const acc = await metrics.accuracy(logits(), y).data();
    assert.ok(Number.isNaN(acc[0]), `label ${bad}: accuracy`);
  }
  // In range: finite, the value the CPU gives (checked against the closed form).
  const ok = await nn.softmaxCrossEntropy(logits(), tensor([0, 2], { dtype: "int32" })).data();
  const lse = (a: number[]) => Math.log(a.reduce((s, v) => s + Math.exp(v), 0));
  const want = ((lse([1, 0, -1]) - 1) + (lse([0.5, 0.25, 0]) - 0)) / 2;
  assert.ok(Math.abs(ok[0] - want) < 1e-6, `${ok[0]} vs ${want}`);
});

gpuTest("fit stops with a NonFiniteLossError instead of training on nothing", async () => {
  const data = {
    x: tensor([[1, 2], [3, 4], [5, 6], [7, 8]]),
    y: tensor([0, 1, 2, 1], { dtype: "int32" }),
  };
  const params = { w: tensor([[0.1, 0.2], [0.3, 0.4]]), b: tensor([0, 0]) }; // 2 classes: label 2 is out
  await assert.rejects(
    fit({
      params,
      optimizer: optim.sgd(0.1),
      loss: (p, b: typeof data) => nn.softmaxCrossEntropy(b.x.matmul(p.w).add(p.b), b.y),
      data,
      epochs: 1,
      batchSize: 4,
      key: random.key(0),
      quiet: true,
    }),
    (e: unknown) => e instanceof NonFiniteLossError && e.step === 1 && Number.isNaN(e.value),
  );
});
