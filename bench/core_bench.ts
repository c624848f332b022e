/**
 * Baseline timings of the CPU backend: float32 matmul, a large elementwise
 * `exp`, and one training step of a 784-100-10 MLP (forward, backward,
 * SGD update). Run with `deno task bench` (or `deno bench bench/`).
 *
 * Every bench reads a value of its result back to JS, so the time includes
 * everything a user would wait for (the CPU backend computes eagerly; on an
 * asynchronous backend the read is what waits for the work).
 *
 * `bench/numpy_reference.py` times the same workloads with NumPy.
 *
 * @module
 */

import {
  div,
  exp,
  logsumexp,
  matmul,
  mean,
  oneHot,
  random,
  reshape,
  slice,
  sum,
  type Tensor,
  tidy,
  tree,
  valueAndGrad,
  zeros,
} from "@gradus/core";

/** Reads the first element back to JS: forces the work without copying the whole result. */
function readFirst(t: Tensor): number {
  return slice(reshape(t, [-1]), [0], [1]).dataSync()[0];
}

// ---------------------------------------------------------------- matmul

const SIZES = [64, 128, 256, 512, 1024];
const matmulKeys = random.split(random.key(1), SIZES.length);

for (const [i, n] of SIZES.entries()) {
  const [ka, kb] = random.split(matmulKeys[i]);
  const a = random.normal(ka, [n, n]);
  const b = random.normal(kb, [n, n]);
  Deno.bench({
    name: `matmul float32 ${n}×${n}`,
    group: "matmul",
    baseline: n === 64,
    // The large sizes take long enough per call that a few runs suffice.
    ...(n >= 512 ? { n: n === 1024 ? 5 : 20, warmup: 2 } : {}),
    fn() {
      tidy(() => readFirst(matmul(a, b))); // frees the product at once
    },
  });
}

// ---------------------------------------------------------------- exp 1e6

const EXP_SIZE = 1_000_000;
const expInput = random.uniform(random.key(2), [EXP_SIZE], { min: -4, max: 4 });
const expInputJs = expInput.dataSync() as Float32Array;

Deno.bench({
  name: "plain JS Math.exp loop over a Float32Array",
  group: "exp 1e6",
  baseline: true,
  fn() {
    const out = new Float32Array(EXP_SIZE);
    for (let i = 0; i < EXP_SIZE; i++) out[i] = Math.exp(expInputJs[i]);
    if (Number.isNaN(out[0])) throw new Error("unreachable");
  },
});

Deno.bench({
  name: "exp(x), float32",
  group: "exp 1e6",
  fn() {
    tidy(() => readFirst(exp(expInput)));
  },
});

// ---------------------------------------------------------------- mlp step

type MlpParams = { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor };

const BATCH = 100;
const [kw1, kw2, kx, kt] = random.split(random.key(3), 4);
const x = random.uniform(kx, [BATCH, 784]);
const t = oneHot(random.randint(kt, [BATCH], 0, 10), 10);
let params: MlpParams = {
  w1: random.normal(kw1, [784, 100], { std: 0.01 }),
  b1: zeros([100]),
  w2: random.normal(kw2, [100, 10], { std: 0.01 }),
  b2: zeros([10]),
};

function sigmoid(z: Tensor): Tensor {
  return div(1, exp(z.neg()).add(1));
}

/** Softmax cross entropy, averaged over the batch: mean(logsumexp(y) - Σ t·y). */
function loss(p: MlpParams, x: Tensor, t: Tensor): Tensor {
  const h = sigmoid(matmul(x, p.w1).add(p.b1));
  const logits = matmul(h, p.w2).add(p.b2);
  return mean(logsumexp(logits, -1).sub(sum(logits.mul(t), -1)));
}

const lossAndGrad = valueAndGrad(loss);
const LR = 0.1;

Deno.bench({
  name: "784-100-10 MLP, batch 100: valueAndGrad + SGD update (tree.map)",
  group: "mlp step",
  baseline: true,
  fn() {
    const [l, g] = lossAndGrad(params, x, t);
    params = tree.map((p: Tensor, d: Tensor) => p.sub(d.mul(LR)), params, g);
    l.dataSync();
    readFirst(params.w1);
  },
});

let tidyParams: MlpParams = tree.map((p: Tensor) => p.add(0), params); // its own copy

Deno.bench({
  name: "784-100-10 MLP, the same, freeing each step at once (tidy + tree.dispose)",
  group: "mlp step",
  fn() {
    const [l, g] = lossAndGrad(tidyParams, x, t);
    const next = tidy(() => tree.map((p: Tensor, d: Tensor) => p.sub(d.mul(LR)), tidyParams, g));
    tree.dispose([tidyParams, g], next);
    tidyParams = next;
    l.dataSync();
    l.dispose();
    tidy(() => readFirst(tidyParams.w1));
  },
});

// ---------------------------------------------------------------- per-op overhead

const small = random.uniform(random.key(4), [100]);
const smallToo = random.uniform(random.key(5), [100]);

Deno.bench({
  name: "add of two 100-element float32 tensors (per-op overhead)",
  group: "per-op overhead",
  baseline: true,
  fn() {
    small.add(smallToo).dispose(); // freed at once, as a training loop frees its temporaries
  },
});

Deno.bench({
  name: "the same, the result left to the garbage collector (a loop that never awaits)",
  group: "per-op overhead",
  fn() {
    small.add(smallToo);
  },
});
