/**
 * A 200-step Adam training run of a small MLP, the whole step (loss,
 * gradients, optimizer update, new parameters) under one `jit`, against the
 * same run eager. The program runs the eager kernels in the eager order, so
 * every step's parameters and loss are bit-identical.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  add,
  jit,
  matmul,
  nn,
  optim,
  random,
  tanh,
  type Tensor,
  tree,
  valueAndGrad,
} from "../../mod.ts";

/**
 * Runs `steps` training steps of `loss` with `opt` eagerly and under one
 * `jit`, failing at the first value (params, loss, optimizer state) that
 * differs in any bit; returns the eager losses and how many times the
 * jitted step was traced.
 */
function eagerVsJit<P, S>(
  loss: (p: P) => Tensor,
  opt: optim.GradientTransformation<S>,
  init: P,
  steps: number,
): { losses: number[]; traces: number; state: S } {
  const step = (p: P, s: S) => {
    const [l, g] = valueAndGrad(loss)(p) as [Tensor, P];
    const [updates, s2] = opt.update(g, s, p);
    return { params: optim.applyUpdates(p, updates), state: s2, loss: l };
  };
  let traces = 0;
  const jitted = jit((p: P, s: S) => {
    traces++;
    return step(p, s);
  });
  let pe = init, se = opt.init(init), pj = init, sj = opt.init(init);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const e = step(pe, se);
    const j = jitted(pj, sj);
    const we = tree.leaves([e.params, e.loss, e.state]) as Tensor[];
    const wj = tree.leaves([j.params, j.loss, j.state]) as Tensor[];
    we.forEach((t, n) => {
      const a = t.dataSync(), b = wj[n].dataSync();
      for (let m = 0; m < a.length; m++) {
        if (!Object.is(a[m], b[m])) assert.fail(`step ${i}, leaf ${n}[${m}]: ${b[m]} vs ${a[m]}`);
      }
    });
    losses.push(e.loss.itemSync());
    [pe, se, pj, sj] = [e.params, e.state, j.params, j.state];
  }
  return { losses, traces, state: se };
}

Deno.test("200 jitted Adam steps equal 200 eager ones bit for bit", () => {
  const k = random.split(random.key(3), 5);
  const init = {
    w1: random.normal(k[0], [6, 12]).mul(0.4),
    b1: random.normal(k[1], [12]).mul(0.1),
    w2: random.normal(k[2], [12, 4]).mul(0.4),
    b2: random.normal(k[3], [4]).mul(0.1),
  };
  type Params = typeof init;
  const x = random.normal(k[4], [32, 6]);
  const labels = random.randint(random.key(9), [32], 0, 4);
  const loss = (p: Params) =>
    nn.softmaxCrossEntropy(add(matmul(tanh(add(matmul(x, p.w1), p.b1)), p.w2), p.b2), labels);
  const { losses, traces } = eagerVsJit(loss, optim.adam(0.01), init, 200);
  const [first, last] = [losses[0], losses.at(-1)!];
  assert.ok(last < 0.5 * first, `training makes progress (${first} → ${last})`);
  // The step counts are int32 scalar tensors, so every step has the
  // signature of the first: traced once.
  assert.equal(traces, 1);
});

Deno.test("a jitted AdamW step with a warmup-cosine schedule is traced once and equals eager", () => {
  const k = random.split(random.key(5), 2);
  const init = { w: random.normal(k[0], [5, 3]), b: random.normal(k[1], [3]) };
  type Params = typeof init;
  const x = random.normal(random.key(6), [8, 5]);
  const y = random.normal(random.key(7), [8, 3]);
  const loss = (p: Params) => nn.meanSquaredError(tanh(add(matmul(x, p.w), p.b)), y);
  const lr = optim.warmupCosineDecaySchedule({
    init: 0,
    peak: 0.05,
    warmupSteps: 3,
    decaySteps: 12,
  });
  const opt = optim.adamw(lr, { weightDecay: 0.01 });
  const { traces, state } = eagerVsJit(loss, opt, init, 15);
  assert.equal(state[0].count.itemSync(), 15);
  assert.equal(traces, 1);
});
