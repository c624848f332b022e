/**
 * Per-example gradient norms (the DP-SGD pattern) on the MNIST MLP
 * 784-100-10 (sigmoid, softmax cross entropy) at batch 100: one batch
 * gradient (the baseline), `vmap(grad(loss))` and the norms of every
 * example's gradient, both under `jit`, and the JS loop over examples it
 * replaces. Run with `deno bench --allow-read --allow-ffi bench/vmap_bench.ts`.
 *
 * @module
 */

import {
  grad,
  jit,
  nn,
  random,
  slice,
  sqrt,
  sum,
  type Tensor,
  tidy,
  tree,
  vmap,
} from "@gradus/core";

type Params = { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor };

/** The mean loss of a batch (x `[N, 784]`, int32 labels `[N]`). */
function loss(p: Params, x: Tensor, y: Tensor): Tensor {
  const h = nn.sigmoid(x.matmul(p.w1).add(p.b1));
  return nn.softmaxCrossEntropy(h.matmul(p.w2).add(p.b2), y);
}

/** One example's loss (x `[784]`, a scalar label), the batch loss of a batch of one. */
function lossOne(p: Params, x: Tensor, y: Tensor): Tensor {
  return loss(p, x.reshape([1, 784]), y.reshape([1]));
}

/** The L2 norm of one example's whole gradient. */
function gradNorm(p: Params, x: Tensor, y: Tensor): Tensor {
  const g = grad(lossOne)(p, x, y);
  const squares = (tree.leaves(g) as Tensor[]).map((t) => sum(t.square()));
  return sqrt(squares.reduce((a, b) => a.add(b)));
}

const k = random.split(random.key(0), 6);
const params: Params = {
  w1: random.normal(k[0], [784, 100], { std: 0.01 }),
  b1: random.normal(k[1], [100]).mul(0),
  w2: random.normal(k[2], [100, 10], { std: 0.01 }),
  b2: random.normal(k[3], [10]).mul(0),
};
const x = random.uniform(k[4], [100, 784]);
const y = random.randint(k[5], [100], 0, 10);

const batchGrad = jit(grad(loss));
const perExampleNorms = jit(vmap(gradNorm, { inAxes: [null, 0, 0] }));
const rows = Array.from({ length: 100 }, (_, i) => slice(x, [i], [i + 1]).reshape([784]));
const labels = Array.from({ length: 100 }, (_, i) => slice(y, [i], [i + 1]).reshape([]));

const group = "per-example gradient norms, MLP 784-100-10, batch 100";
Deno.bench("one batch gradient (jit)", { group, baseline: true }, async () => {
  const g = batchGrad(params, x, y);
  await g.w1.data();
  tree.dispose(g);
});
Deno.bench("per-example gradient norms: jit(vmap(grad))", { group }, async () => {
  const n = perExampleNorms(params, x, y);
  await n.data();
  n.dispose();
});
Deno.bench("per-example gradient norms: JS loop of grad", { group, n: 20, warmup: 2 }, async () => {
  const norms = tidy(() => rows.map((r, i) => gradNorm(params, r, labels[i])));
  await norms[99].data();
  tree.dispose(norms);
});
