/**
 * Argument checks on WebGPU, which cannot read synchronously: values that
 * are still on the host (small int32 uploads) are checked like on cpu and
 * wasm; values computed on the GPU follow the documented no-read rules.
 *
 * Out-of-range class labels: labels uploaded from host values are
 * checked like on cpu and wasm (a RangeError, tests/nn/losses_test.ts);
 * labels computed on the GPU cannot be checked without reading the device:
 * losses, their gradients and metrics come out NaN (`confusionMatrix` −1),
 * and `fit` stops with a `NonFiniteLossError` — never the silent finite loss
 * of 0 that an off-by-one in labels used to give.
 * Skipped where no WebGPU adapter exists.
 */

import assert from "node:assert/strict";
import {
  add,
  fit,
  grad,
  metrics,
  nn,
  NonFiniteLossError,
  optim,
  pow,
  random,
  type Tensor,
  tensor,
} from "../../mod.ts";
import { withBackend } from "../_helpers.ts";

const adapter = await navigator.gpu?.requestAdapter().catch(() => null);

function gpuTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: `webgpu checks: ${name}`,
    ignore: adapter === null || adapter === undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => withBackend("webgpu", fn),
  });
}

const logits = () => tensor([[1, 0, -1], [0.5, 0.25, 0]]);

gpuTest("labels known on the host are checked: a RangeError, as on cpu and wasm", () => {
  // Uploaded from JS values, the labels' values are still on the host: no device read needed.
  assert.throws(
    () => nn.softmaxCrossEntropy(logits(), tensor([3, 1], { dtype: "int32" })),
    /^RangeError: nn\.softmaxCrossEntropy\(\): label 3 at index \[0\] is out of range for 3 classes/,
  );
  assert.throws(() => metrics.accuracy(logits(), tensor([0, -1], { dtype: "int32" })), RangeError);
  return Promise.resolve();
});

gpuTest("an int32 power with a negative exponent known on the host throws like NumPy", async () => {
  const two = tensor([2, 3], { dtype: "int32" });
  assert.throws(
    () => pow(two, tensor([1, -1], { dtype: "int32" })),
    /^RangeError: pow\(\): integers to negative integer powers are not allowed \(exponent -1 at flat index 1/,
  );
  // Computed on the GPU: not read back; the documented result is trunc(1/aⁿ).
  const e = add(tensor([1, 0], { dtype: "int32" }), tensor([1, -1], { dtype: "int32" }));
  assert.deepEqual(await pow(two, e).data(), Int32Array.of(4, 0));
});

gpuTest(
  "a label computed on the GPU out of range makes the loss and its row's gradient NaN",
  async () => {
    for (const bad of [3, -1]) {
      // Computed on the device (as a minibatch gathered there is): checking would need a read.
      const y = add(tensor([bad - 1, 0], { dtype: "int32" }), 1);
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
  },
);

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
