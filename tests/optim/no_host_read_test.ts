/**
 * Optimizer updates never read values back to the host: every
 * transformation, with a schedule, runs on a backend whose reads throw, and
 * gives the same values as on the CPU.
 */

import assert from "node:assert/strict";
import { optim, type Tensor, tensor } from "../../mod.ts";
import { onHostlessBackend, peek } from "../_helpers.ts";

type Params = { w: Tensor; b: Tensor[] };

function run(): Params {
  const opt = optim.chain(
    optim.clipByGlobalNorm(1),
    optim.clip(0.4),
    optim.trace({ decay: 0.9, nesterov: true }),
    optim.scaleByRss(),
    optim.scaleByRms(),
    optim.scaleByAdam(),
    optim.addDecayedWeights(0.01, { mask: { w: true, b: [false] } }),
    optim.scaleByLearningRate(
      optim.warmupCosineDecaySchedule({ init: 0, peak: 0.1, warmupSteps: 2, decaySteps: 6 }),
    ),
  );
  let params: Params = { w: tensor([[1, -2], [3, 0.5]]), b: [tensor([0.1, -0.1])] };
  let state = opt.init(params);
  for (let k = 0; k < 4; k++) {
    const grads: Params = { w: params.w.mul(2).add(k), b: [params.b[0].sub(1)] };
    const [updates, next] = opt.update(grads, state, params);
    params = optim.applyUpdates(params, updates);
    state = next;
  }
  return params;
}

Deno.test("optimizer updates never read values back to the host", async () => {
  const params = await onHostlessBackend(() => {
    const params = run();
    assert.throws(() => params.w.dataSync(), /cannot read values synchronously/);
    return params;
  });
  const want = run();
  assert.deepEqual(peek(params.w), [...want.w.dataSync()]);
  assert.deepEqual(peek(params.b[0]), [...want.b[0].dataSync()]);
});
