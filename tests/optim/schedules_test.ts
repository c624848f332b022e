/**
 * Schedules against the closed forms of Optax's definitions, at several
 * steps, and their argument checks.
 */

import assert from "node:assert/strict";
import { add, div, jit, mul, optim, pow, type Tensor, tensor } from "../../mod.ts";
import { assertClose } from "../_helpers.ts";

const TOL = { atol: 1e-15, rtol: 1e-14 };

function at(s: optim.Schedule, steps: number[]): number[] {
  return steps.map((k) => s(k));
}

Deno.test("constantSchedule", () => {
  assert.deepEqual(at(optim.constantSchedule(0.3), [0, 1, 1e6]), [0.3, 0.3, 0.3]);
  assert.throws(
    () => optim.constantSchedule(NaN),
    /^RangeError: optim\.constantSchedule\(\): value must be a finite number, got number NaN$/,
  );
});

Deno.test("exponentialDecay: init·rate^(k/T), staircase, transitionBegin, endValue", () => {
  const steps = [0, 1, 5, 10, 15, 20, 37];
  const smooth = optim.exponentialDecay({ init: 0.2, decayRate: 0.5, transitionSteps: 10 });
  assertClose(at(smooth, steps), steps.map((k) => 0.2 * 0.5 ** (k / 10)), TOL);
  const stairs = optim.exponentialDecay({
    init: 0.2,
    decayRate: 0.5,
    transitionSteps: 10,
    staircase: true,
  });
  assertClose(at(stairs, steps), [0.2, 0.2, 0.2, 0.1, 0.1, 0.05, 0.025], TOL);
  const delayed = optim.exponentialDecay({
    init: 1,
    decayRate: 0.1,
    transitionSteps: 4,
    transitionBegin: 6,
  });
  assertClose(at(delayed, [0, 6, 8, 10, 14]), [1, 1, 0.1 ** 0.5, 0.1, 0.01], TOL);
  const floored = optim.exponentialDecay({
    init: 1,
    decayRate: 0.5,
    transitionSteps: 1,
    endValue: 0.2,
  });
  assertClose(at(floored, [0, 1, 2, 3, 100]), [1, 0.5, 0.25, 0.2, 0.2], TOL);
  const growing = optim.exponentialDecay({
    init: 1,
    decayRate: 2,
    transitionSteps: 1,
    endValue: 5,
  });
  assertClose(at(growing, [0, 2, 3, 10]), [1, 4, 5, 5], TOL);
  assert.throws(
    () => optim.exponentialDecay({ init: 1, decayRate: 0.5, transitionSteps: 0 }),
    /^RangeError: optim\.exponentialDecay\(\): transitionSteps must be an integer >= 1, got number 0$/,
  );
  assert.throws(
    () => optim.exponentialDecay({ init: 1, decayRate: 0, transitionSteps: 1 }),
    /decayRate must be > 0, got 0/,
  );
});

Deno.test("piecewiseConstantSchedule: scales multiply from each boundary on (inclusive)", () => {
  const s = optim.piecewiseConstantSchedule({
    init: 0.1,
    boundariesAndScales: { 200: 0.5, 100: 0.1 },
  });
  assertClose(at(s, [0, 99, 100, 150, 199, 200, 1000]), [
    0.1,
    0.1,
    0.01,
    0.01,
    0.01,
    0.005,
    0.005,
  ], TOL);
  assert.equal(optim.piecewiseConstantSchedule({ init: 2, boundariesAndScales: {} })(50), 2);
  assert.throws(
    () => optim.piecewiseConstantSchedule({ init: 1, boundariesAndScales: { 10: -1 } }),
    /^RangeError: optim\.piecewiseConstantSchedule\(\): the scale at step 10 must be >= 0, got -1$/,
  );
  assert.throws(
    () => optim.piecewiseConstantSchedule({ init: 1, boundariesAndScales: { 1.5: 2 } }),
    /boundary "1\.5" must be an integer >= 0/,
  );
});

Deno.test("stepSchedule: init·gamma^floor(step/stepSize)", () => {
  const s = optim.stepSchedule({ init: 0.1, stepSize: 3 });
  const steps = [0, 2, 3, 5, 6, 9];
  assertClose(at(s, steps), steps.map((k) => 0.1 * 0.1 ** Math.floor(k / 3)), TOL);
  const half = optim.stepSchedule({ init: 1, stepSize: 2, gamma: 0.5 });
  assertClose(at(half, [0, 1, 2, 4, 5]), [1, 1, 0.5, 0.25, 0.25], TOL);
  assert.throws(
    () => optim.stepSchedule({ init: 1, stepSize: 0 }),
    /stepSize must be an integer >= 1/,
  );
});

Deno.test("cosineDecaySchedule: init·((1 − α)·½(1 + cos(πk/K)) + α), then α·init", () => {
  const K = 40;
  const closed = (k: number, alpha: number, exponent = 1) =>
    0.5 * ((1 - alpha) * (0.5 * (1 + Math.cos(Math.PI * Math.min(k, K) / K))) ** exponent + alpha);
  const steps = [0, 1, 10, 20, 39, 40, 41, 500];
  for (const alpha of [0, 0.1]) {
    const s = optim.cosineDecaySchedule({ init: 0.5, decaySteps: K, alpha });
    assertClose(at(s, steps), steps.map((k) => closed(k, alpha)), TOL);
    assert.equal(s(0), 0.5);
    assertClose(s(K), 0.5 * alpha, TOL);
    assertClose(s(10 * K), 0.5 * alpha, TOL);
  }
  const squared = optim.cosineDecaySchedule({ init: 0.5, decaySteps: K, exponent: 2 });
  assertClose(at(squared, steps), steps.map((k) => closed(k, 0, 2)), TOL);
  assertClose(optim.cosineDecaySchedule({ init: 1, decaySteps: 2 })(1), 0.5, TOL);
  assert.throws(
    () => optim.cosineDecaySchedule({ init: 1, decaySteps: 0 }),
    /decaySteps must be an integer >= 1/,
  );
});

Deno.test("linearSchedule: init → end over transitionSteps, after transitionBegin", () => {
  const s = optim.linearSchedule({ init: 1, end: 0.2, transitionSteps: 8 });
  const steps = [0, 1, 4, 8, 9, 100];
  assertClose(at(s, steps), steps.map((k) => 1 + (0.2 - 1) * Math.min(k, 8) / 8), TOL);
  const late = optim.linearSchedule({ init: 0, end: 1, transitionSteps: 4, transitionBegin: 2 });
  assertClose(at(late, [0, 2, 3, 6, 7]), [0, 0, 0.25, 1, 1], TOL);
  assert.throws(
    () => optim.linearSchedule({ init: 0, end: 1, transitionSteps: 0 }),
    /transitionSteps must be an integer >= 1/,
  );
});

Deno.test("joinSchedules: each piece starts from its own step 0", () => {
  const s = optim.joinSchedules(
    [optim.constantSchedule(3), (k) => 100 + k, (k) => -k],
    [2, 5],
  );
  assert.deepEqual(at(s, [0, 1, 2, 3, 4, 5, 6]), [3, 3, 100, 101, 102, -0, -1]);
  assert.throws(
    () => optim.joinSchedules([optim.constantSchedule(1)], [3]),
    /^RangeError: optim\.joinSchedules\(\): 1 schedules need 0 boundaries, got an array of length 1$/,
  );
  assert.throws(
    () => optim.joinSchedules([(k) => k, (k) => k, (k) => k], [5, 5]),
    /boundaries must be strictly increasing, got \[5, 5\]/,
  );
});

Deno.test("linearWarmup: from init to schedule(0) in warmupSteps, then the schedule", () => {
  const decay = optim.cosineDecaySchedule({ init: 0.4, decaySteps: 10 });
  const s = optim.linearWarmup(decay, { warmupSteps: 4, init: 0.1 });
  assertClose(at(s, [0, 1, 2, 3]), [0.1, 0.175, 0.25, 0.325], TOL);
  assert.equal(s(4), 0.4); // ends exactly at the peak
  assertClose(at(s, [5, 9, 14, 20]), at(decay, [1, 5, 10, 16]), TOL);
  assert.equal(optim.linearWarmup(decay, { warmupSteps: 0 }), decay);
  assert.equal(optim.linearWarmup(decay, { warmupSteps: 2 })(0), 0);
});

Deno.test("warmupCosineDecaySchedule: linear to peak, cosine to end, Optax's definition", () => {
  const opts = { init: 0.01, peak: 1, warmupSteps: 10, decaySteps: 50, end: 0.05 };
  const s = optim.warmupCosineDecaySchedule(opts);
  const closed = (k: number): number => {
    if (k < 10) return 0.01 + (1 - 0.01) * k / 10;
    const c = 0.5 * (1 + Math.cos(Math.PI * Math.min(k - 10, 40) / 40));
    const alpha = 0.05 / 1;
    return 1 * ((1 - alpha) * c + alpha);
  };
  const steps = [0, 1, 5, 9, 10, 11, 30, 49, 50, 51, 1000];
  assertClose(at(s, steps), steps.map(closed), TOL);
  assert.equal(s(0), 0.01);
  assert.equal(s(10), 1); // warmup ends exactly at the peak
  assertClose(s(50), 0.05, TOL); // and the cosine ends at `end`
  assertClose(s(1000), 0.05, TOL);
  const noWarmup = optim.warmupCosineDecaySchedule({ ...opts, warmupSteps: 0 });
  assert.equal(noWarmup(0), 1);
  assertClose(noWarmup(50), 0.05, TOL);
  assert.equal(optim.warmupCosineDecaySchedule({ ...opts, end: undefined })(50), 0);
  assert.throws(
    () => optim.warmupCosineDecaySchedule({ ...opts, decaySteps: 10 }),
    /^RangeError: optim\.warmupCosineDecaySchedule\(\): decaySteps \(10\) is the total length, warmup included, and must be greater than warmupSteps \(10\)$/,
  );
});

Deno.test("every schedule given the count tensor equals its number formula bit for bit", () => {
  const cosine = optim.cosineDecaySchedule({ init: 0.4, decaySteps: 10, alpha: 0.1, exponent: 2 });
  const schedules: [string, optim.CountSchedule][] = [
    ["constant", optim.constantSchedule(0.3)],
    ["exponential", optim.exponentialDecay({ init: 0.2, decayRate: 0.5, transitionSteps: 10 })],
    [
      "exponential staircase, begin, end",
      optim.exponentialDecay({
        init: 0.2,
        decayRate: 0.5,
        transitionSteps: 3,
        transitionBegin: 2,
        staircase: true,
        endValue: 0.03,
      }),
    ],
    ["step", optim.stepSchedule({ init: 1, stepSize: 4, gamma: 0.3 })],
    [
      "piecewise",
      optim.piecewiseConstantSchedule({ init: 0.7, boundariesAndScales: { 3: 0.1, 9: 0.3 } }),
    ],
    ["cosine", cosine],
    [
      "linear",
      optim.linearSchedule({ init: 0.1, end: 0.7, transitionSteps: 7, transitionBegin: 2 }),
    ],
    ["join", optim.joinSchedules([optim.constantSchedule(1), cosine], [5])],
    ["warmup", optim.linearWarmup(cosine, { warmupSteps: 3, init: 0.05 })],
    [
      "warmup cosine",
      optim.warmupCosineDecaySchedule({
        init: 0.01,
        peak: 1,
        warmupSteps: 4,
        decaySteps: 15,
        end: 0.05,
      }),
    ],
  ];
  for (const [name, s] of schedules) {
    for (let k = 0; k <= 20; k++) {
      const v = s(tensor(k, { dtype: "int32" }));
      const got = typeof v === "number" ? v : v.itemSync();
      assert.ok(Object.is(got, s(k)), `${name} at step ${k}: ${got} vs ${s(k)}`);
    }
  }
});

Deno.test("a schedule of one's own that only takes numbers is a clear error inside joinSchedules at a tensor count", () => {
  const s = optim.joinSchedules([optim.constantSchedule(1), (step: number) => 1 / (step + 1)], [2]);
  assert.equal(s(3), 0.5);
  assert.throws(
    () => s(tensor(3, { dtype: "int32" })),
    /^TypeError: optim\.joinSchedules\(\): schedules\[1\] is a function of a number, and the step count is only known on the device here \(under jit\)/,
  );
});

Deno.test("a schedule of one's own written with gradus ops runs under jit as eagerly (README's)", () => {
  // Under jit it got the int32 count, which refuses fractions: div(0.1, …) threw a DTypeError.
  for (const lr of [(s: Tensor) => div(0.1, add(s, 1)), (s: Tensor) => mul(0.1, pow(0.9, s))]) {
    const opt = optim.sgd(lr as unknown as optim.Schedule);
    const step = (p: { w: Tensor }, st: ReturnType<typeof opt.init>) => {
      const [u, next] = opt.update({ w: tensor([1]) }, st, p);
      return [optim.applyUpdates(p, u), next] as const;
    };
    const run = (f: typeof step) => {
      let p = { w: tensor([1]) }, st = opt.init(p);
      for (let i = 0; i < 3; i++) [p, st] = f(p, st);
      return p.w.dataSync()[0];
    };
    assert.equal(run(jit(step)), run(step));
  }
  const eager = 1 - 0.1 - 0.05 - 0.1 / 3;
  const opt = optim.sgd(((s: Tensor) => div(0.1, add(s, 1))) as unknown as optim.Schedule);
  let p = { w: tensor([1]) }, st = opt.init(p);
  const f = jit((p: { w: Tensor }, st: ReturnType<typeof opt.init>) => {
    const [u, next] = opt.update({ w: tensor([1]) }, st, p);
    return [optim.applyUpdates(p, u), next] as const;
  });
  for (let i = 0; i < 3; i++) [p, st] = f(p, st);
  assertClose(p.w.dataSync()[0], eager);
});
