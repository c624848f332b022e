/**
 * A real training state (mlp params with batch norm, its running
 * statistics, AdamW state with step counts) round-trips through a
 * safetensors file and training resumes identically.
 */

import assert from "node:assert/strict";
import {
  loadSafetensors,
  nn,
  optim,
  random,
  saveSafetensors,
  type Tensor,
  tree,
  valueAndGrad,
} from "../../mod.ts";

Deno.test("mlp + batchNorm state + AdamW state: save, load, resume", async () => {
  const net = nn.mlp({ inputSize: 4, hiddenSizes: [8], outputSize: 3, batchNorm: true });
  const { params, state } = net.init(random.key(0), [4]);
  const x = random.normal(random.key(1), [16, 4]);
  const y = random.randint(random.key(2), [16], 0, 3);
  const opt = optim.adamw(1e-2);
  type P = typeof params;
  type S = typeof state;
  const lossFn = valueAndGrad(
    (p: P, s: S): [Tensor, S] => {
      const [logits, next] = net.apply(p, s, x, { training: true });
      return [nn.softmaxCrossEntropy(logits, y), next];
    },
    { hasAux: true },
  );
  const trainStep = (ck: { params: P; state: S; opt: ReturnType<typeof opt.init> }) => {
    const [[, nextState], g] = lossFn(ck.params, ck.state);
    const [u, nextOpt] = opt.update(g, ck.opt, ck.params);
    return { params: optim.applyUpdates(ck.params, u), state: nextState, opt: nextOpt };
  };
  let ck = { params, state, opt: opt.init(params) };
  for (let i = 0; i < 3; i++) ck = trainStep(ck);

  const path = `${await Deno.makeTempDir()}/ck.safetensors`;
  await saveSafetensors(path, ck);
  const restored = await loadSafetensors(path, { params, state, opt: opt.init(params) });
  assert.ok(tree.equalStructure(restored, ck));
  assert.equal(restored.opt[0].count.itemSync(), 3);
  const values = (t: unknown) =>
    tree.leaves(t).map((l) => (typeof l === "number" ? l : [...(l as Tensor).dataSync()]));
  assert.deepEqual(values(restored), values(ck));
  // Resuming from the file gives exactly what continuing in memory gives.
  assert.deepEqual(values(trainStep(restored)), values(trainStep(ck)));
  await Deno.remove(path);
});
