/**
 * One training step (loss, gradient, Adam update) of the sine-wave RNN of
 * `examples/rnn_sine.ts` over 100 time steps, batch 32: the recurrence as
 * a JS loop over time steps run eagerly (the baseline), and as `lax.scan`
 * under `jit` (one program: a forward scan, a backward scan, the update).
 * Two sizes: 32 hidden units (the example) and 8. Run with
 * `deno bench --allow-read --allow-ffi bench/rnn_bench.ts`.
 *
 * @module
 */

import { jit, optim, random, type Tensor, tidy, tree, valueAndGrad } from "@gradus/core";
import {
  initParams,
  lossScan,
  lossUnrolled,
  type Params,
  sineBatch,
} from "../examples/rnn_sine.ts";

for (const hidden of [32, 8]) {
  const opt = optim.adam(0.01);
  const { xs, ys } = sineBatch(random.key(1), 32, 100);
  const stepOf = (loss: typeof lossScan) => (p: Params, s: unknown, x: Tensor, y: Tensor) => {
    const [l, g] = valueAndGrad(loss)(p, x, y);
    const [updates, s2] = opt.update(g, s as ReturnType<typeof opt.init>, p);
    return { params: optim.applyUpdates(p, updates), state: s2, loss: l };
  };
  const params = initParams(random.key(0), hidden);
  const state = opt.init(params);
  const eager = stepOf(lossUnrolled);
  const jitted = jit(stepOf(lossScan));
  const group = `RNN training step, 100 time steps, batch 32, hidden ${hidden}`;
  Deno.bench(
    "eager, JS loop over time steps",
    { group, baseline: true, n: 30, warmup: 3 },
    async () => {
      const out = tidy(() => eager(params, state, xs, ys));
      await out.loss.data();
      tree.dispose(out);
    },
  );
  Deno.bench("lax.scan under jit", { group }, async () => {
    const out = jitted(params, state, xs, ys);
    await out.loss.data();
    tree.dispose(out);
  });
}
