/**
 * The optimizers' and schedules' options objects are checked: Optax's
 * positional forms (`adam(lr, b1, b2)`, `cosine_decay_schedule(init,
 * steps)`) and its snake_case names (`weight_decay`) throw a `TypeError`
 * naming the optimizer and the form it takes, instead of being ignored
 * (an `adamw` without its weight decay would train, just differently).
 */

import assert from "node:assert/strict";
import { optim, tensor } from "../../mod.ts";

// deno-lint-ignore no-explicit-any
const loose = (v: unknown): any => v; // what a JavaScript caller can pass

Deno.test("optimizers: a positional value or an unknown key where the options go throws", () => {
  const cases: [() => unknown, RegExp][] = [
    [() => optim.adam(1e-3, loose(0.8)), /^TypeError: optim\.adam\(\): .*got number 0\.8/],
    [
      () => optim.adamw(1e-3, loose({ weight_decay: 0.01 })),
      /^TypeError: optim\.adamw\(\): unknown option "weight_decay" \(did you mean "weightDecay"\?\)/,
    ],
    [() => optim.momentum(0.1, loose(0.5)), /^TypeError: optim\.momentum\(\): .*got number 0\.5/],
    [
      () => optim.momentum(0.1, loose({ momentum: 0.5 })),
      /^TypeError: optim\.momentum\(\): unknown option "momentum"; the options are "beta", "nesterov"/,
    ],
    [() => optim.adagrad(0.1, loose(1e-7)), /^TypeError: optim\.adagrad\(\): /],
    [() => optim.rmsprop(0.1, loose({ rho: 0.9 })), /^TypeError: optim\.rmsprop\(\): .*"decay"/],
    [() => optim.scaleByAdam(loose({ beta1: 0.9 })), /^TypeError: optim\.scaleByAdam\(\): /],
    [() => optim.scaleByRss(loose(0.1)), /^TypeError: optim\.scaleByRss\(\): /],
    [() => optim.scaleByRms(loose(0.9)), /^TypeError: optim\.scaleByRms\(\): /],
    [() => optim.trace(loose(0.9)), /^TypeError: optim\.trace\(\): .*got number 0\.9/],
    [() => optim.addDecayedWeights(0.1, loose(true)), /^TypeError: optim\.addDecayedWeights\(\): /],
    [
      () => optim.cosineDecaySchedule(loose(0.1)),
      /^TypeError: optim\.cosineDecaySchedule\(\): expected an options object such as \{ init: 0\.1, decaySteps: 1000 \}/,
    ],
    [
      () => optim.cosineDecaySchedule(loose({ init: 0.1, decaySteps: 10, exponant: 2 })),
      /unknown option "exponant" \(did you mean "exponent"\?\); the options are "init", "decaySteps", "alpha", "exponent"/,
    ],
    [
      () =>
        optim.exponentialDecay(loose({ init: 1, decayRate: 0.5, transitionSteps: 2, stair: 1 })),
      /^TypeError: optim\.exponentialDecay\(\): unknown option "stair"/,
    ],
    [() => optim.stepSchedule(loose(0.1)), /^TypeError: optim\.stepSchedule\(\): /],
    [() => optim.linearSchedule(loose([0.1, 0])), /^TypeError: optim\.linearSchedule\(\): .*array/],
    [
      () => optim.linearWarmup(() => 0.1, loose({ warmup_steps: 10 })),
      /did you mean "warmupSteps"/,
    ],
    [
      () => optim.piecewiseConstantSchedule(loose(0.1)),
      /^TypeError: optim\.piecewiseConstantSchedule\(\): /,
    ],
    [
      () =>
        optim.warmupCosineDecaySchedule(
          loose({ init: 0, peak: 1, warmupSteps: 1, decaySteps: 2, endValue: 0 }),
        ),
      /^TypeError: optim\.warmupCosineDecaySchedule\(\): unknown option "endValue"/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, (e: unknown) => re.test(String(e)));
});

Deno.test("optimizers: valid and omitted options still work", () => {
  assert.equal(typeof optim.adam(1e-3).init, "function");
  assert.equal(typeof optim.adamw(1e-3, { weightDecay: 0.01, b1: 0.8 }).update, "function");
  assert.equal(typeof optim.momentum(0.1, { beta: 0.5, nesterov: true }).init, "function");
  assert.equal(optim.cosineDecaySchedule({ init: 1, decaySteps: 2, alpha: 0 })(2), 0);
  assert.equal(optim.linearWarmup(() => 1, { warmupSteps: 2 })(1), 0.5);
});

Deno.test("optim.sgd refuses a second argument (Optax's momentum: it ran plain SGD); scaleByLearningRate takes flipSign", () => {
  const sgd = optim.sgd as unknown as (...a: unknown[]) => unknown;
  for (const extra of [0.9, { momentum: 0.9 }]) {
    assert.throws(
      () => sgd(0.1, extra),
      /^TypeError: optim\.sgd\(\): takes only the learning rate, got 2 arguments; for momentum .* use optim\.momentum\(lr, \{ beta: 0\.9, nesterov \}\)$/,
    );
  }
  const g = { w: tensor([1, -2]) };
  const up = optim.scaleByLearningRate(0.5, { flipSign: false });
  assert.deepEqual(up.update(g, up.init(g))[0].w.arraySync(), [0.5, -1]);
  const down = optim.scaleByLearningRate(0.5);
  assert.deepEqual(down.update(g, down.init(g))[0].w.arraySync(), [-0.5, 1]);
  assert.throws(
    () => optim.scaleByLearningRate(0.5, { flipsign: false } as never),
    /unknown option "flipsign" \(did you mean "flipSign"\?\)/,
  );
});
