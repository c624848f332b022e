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

Deno.test("an optimizer state saved with a number count restores into today's int32 count", async () => {
  const params = { w: random.normal(random.key(0), [3]) };
  const opt = optim.adam(1e-2);
  const state = opt.init(params);
  const leaves = tree.leaves(state) as Tensor[];
  const counts = leaves.filter((t) => t.dtype === "int32");
  assert.ok(counts.length >= 1, "adam keeps int32 counts");
  // How such a file looked before counts were tensors: the count a plain number.
  const asNumbers = tree.map((t: Tensor) => (t.dtype === "int32" ? 7 : t), state);
  const dir = await Deno.makeTempDir();
  try {
    await saveSafetensors(`${dir}/old.safetensors`, asNumbers);
    const restored = await loadSafetensors(`${dir}/old.safetensors`, state);
    const restoredCounts = (tree.leaves(restored) as Tensor[]).filter((t) => t.dtype === "int32");
    assert.equal(restoredCounts.length, counts.length);
    for (const count of restoredCounts) {
      assert.equal(count.shape.length, 0);
      assert.equal(count.itemSync(), 7);
    }
    // A non-integer number cannot fill an int32 leaf.
    const bad = tree.map((t: Tensor) => (t.dtype === "int32" ? 7.5 : t), state);
    await saveSafetensors(`${dir}/bad.safetensors`, bad);
    await assert.rejects(loadSafetensors(`${dir}/bad.safetensors`, state), /7\.5.*not an int32/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
