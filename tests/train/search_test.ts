import assert from "node:assert/strict";
import {
  fit,
  intRange,
  logUniform,
  mean,
  oneOf,
  optim,
  random,
  randomSearch,
  square,
  sub,
  type Tensor,
  tensor,
  uniformRange,
  zeros,
} from "../../mod.ts";

const bookSpace = { lr: logUniform(1e-6, 1e-2), weightDecay: logUniform(1e-8, 1e-4) };

Deno.test("randomSearch: the book's space, samples within the log ranges", async () => {
  const trials = await randomSearch({
    space: bookSpace,
    trials: 200,
    key: random.key(0),
    objective: ({ lr }) => lr,
  });
  assert.equal(trials.length, 200);
  const lrExp = trials.map((t) => Math.log10(t.params.lr));
  const wdExp = trials.map((t) => Math.log10(t.params.weightDecay));
  assert.ok(
    lrExp.every((e) => e >= -6 - 1e-12 && e < -2),
    `lr exponents ${Math.min(...lrExp)}…${Math.max(...lrExp)}`,
  );
  assert.ok(wdExp.every((e) => e >= -8 - 1e-12 && e < -4));
  // Log-uniform: every decade gets a share (≈ 50 of 200 each).
  for (let d = -6; d < -2; d++) {
    const count = lrExp.filter((e) => e >= d && e < d + 1).length;
    assert.ok(count > 25 && count < 75, `decade 1e${d}: ${count}`);
  }
  // The two hyperparameters are sampled independently.
  assert.notDeepEqual(lrExp.map((e) => e + 6), wdExp.map((e) => e + 8));
});

Deno.test("randomSearch: deterministic for a key, different for another", async () => {
  const run = async (seed: number) =>
    (await randomSearch({
      space: bookSpace,
      trials: 6,
      key: random.key(seed),
      objective: () => 0,
    })).map((t) => t.params);
  assert.deepEqual(await run(3), await run(3));
  assert.notDeepEqual(await run(3), await run(4));
});

Deno.test("randomSearch: sorted best first (max and min), NaN last, index kept", async () => {
  const scores = [0.3, NaN, 0.9, 0.1, 0.9, 0.5];
  const seen: number[] = [];
  const run = (mode?: "max" | "min") =>
    randomSearch({
      space: { x: uniformRange(0, 1) },
      trials: scores.length,
      key: random.key(1),
      objective: (_h, _k, index) => scores[index],
      onTrial: (t) => void seen.push(t.index),
      ...(mode === undefined ? {} : { mode }),
    });
  const best = await run();
  assert.deepEqual(best.map((t) => t.index), [2, 4, 5, 0, 3, 1]);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]); // onTrial in sampling order
  assert.ok(Number.isNaN(best[5].score));
  const lowest = await run("min");
  assert.deepEqual(lowest.map((t) => t.index), [3, 0, 5, 2, 4, 1]);
  // The same key samples the same hyperparameters whatever the mode.
  assert.deepEqual(
    best.find((t) => t.index === 3)!.params,
    lowest.find((t) => t.index === 3)!.params,
  );
});

Deno.test("randomSearch: each trial gets its own key; async objectives are awaited", async () => {
  const keys: string[] = [];
  const trials = await randomSearch({
    space: {},
    trials: 4,
    key: random.key(0),
    objective: async (_h, key, index) => {
      keys.push(String(await key.data()));
      await new Promise((r) => setTimeout(r, 1));
      return index;
    },
  });
  assert.equal(new Set(keys).size, 4);
  assert.deepEqual(trials.map((t) => t.score), [3, 2, 1, 0]);
  assert.deepEqual(trials[0].params, {});
});

Deno.test("samplers: uniformRange, oneOf and intRange stay in range and cover it", async () => {
  const trials = await randomSearch({
    space: {
      dropout: uniformRange(0.1, 0.5),
      activation: oneOf(["relu", "tanh", "sigmoid"]),
      layers: intRange(1, 3),
    },
    trials: 120,
    key: random.key(9),
    objective: () => 0,
  });
  const d = trials.map((t) => t.params.dropout);
  assert.ok(d.every((v) => v >= 0.1 && v < 0.5));
  const acts: ("relu" | "tanh" | "sigmoid")[] = trials.map((t) => t.params.activation);
  assert.deepEqual(new Set(acts), new Set(["relu", "tanh", "sigmoid"]));
  const layers = trials.map((t) => t.params.layers);
  assert.ok(layers.every((v) => Number.isInteger(v)));
  assert.deepEqual(new Set(layers), new Set([1, 2, 3]));
});

Deno.test("samplers: edges of u and descriptions", () => {
  const lr = logUniform(1e-6, 1e-2);
  assert.ok(Math.abs(lr.sample(0) - 1e-6) < 1e-18);
  assert.ok(lr.sample(1 - 2 ** -32) <= 1e-2);
  assert.ok(Math.abs(Math.log10(lr.sample(0.5)) + 4) < 1e-12);
  assert.equal(uniformRange(2, 4).sample(0.25), 2.5);
  assert.equal(intRange(-2, 2).sample(0), -2);
  assert.equal(intRange(-2, 2).sample(0.9999), 2);
  assert.equal(intRange(5, 5).sample(0.7), 5);
  assert.equal(oneOf([1, 2]).sample(0.4999), 1);
  assert.equal(oneOf([1, 2]).sample(0.5), 2);
  assert.equal(lr.description, "logUniform(0.000001, 0.01)");
  // [lo, hi) even where the power or the product rounds onto a bound.
  assert.equal(logUniform(0.3, 0.7).sample(0), 0.3); // 10^log10(0.3) is 0.29999999999999993
  const top = 1 - 2 ** -32;
  assert.ok(logUniform(1, 1 + 1e-12).sample(top) < 1 + 1e-12);
  assert.ok(uniformRange(1, 1 + 1e-9).sample(top) < 1 + 1e-9);
  assert.equal(oneOf(["a", 1]).description, 'oneOf(["a",1])');
});

Deno.test("samplers and randomSearch: clear errors", async () => {
  assert.throws(() => logUniform(0, 1), /logUniform\(\): needs lo > 0, got 0/);
  assert.throws(() => logUniform(1e-2, 1e-6), /logUniform\(\): needs finite lo < hi/);
  assert.throws(
    () => uniformRange(1, 1),
    /uniformRange\(\): needs finite lo < hi, got lo 1 and hi 1/,
  );
  assert.throws(() => intRange(3, 2), /intRange\(\): needs integers lo ≤ hi/);
  assert.throws(() => intRange(0.5, 2), /intRange\(\): needs integers/);
  assert.throws(() => oneOf([]), /oneOf\(\): needs a non-empty array/);
  const base = { space: bookSpace, trials: 2, key: random.key(0), objective: () => 1 };
  await assert.rejects(
    () => randomSearch({ ...base, trials: 0 }),
    /trials must be a positive integer, got 0/,
  );
  await assert.rejects(
    () => randomSearch({ ...base, space: { lr: 0.1 } as unknown as typeof bookSpace }),
    /space\.lr must be a sampler/,
  );
  await assert.rejects(
    () => randomSearch({ ...base, objective: () => tensor(1) as unknown as number }),
    /the objective must return a number, got object \(trial 0\)/,
  );
});

Deno.test("randomSearch never calls Math.random", async () => {
  const original = Math.random;
  Math.random = () => {
    throw new Error("Math.random called");
  };
  try {
    await randomSearch({ space: bookSpace, trials: 3, key: random.key(0), objective: () => 0 });
  } finally {
    Math.random = original;
  }
});

Deno.test("randomSearch + fit: pick a learning rate by validation loss", async () => {
  const loss = (p: { w: Tensor }, batch: { t: Tensor }) => mean(square(sub(p.w, batch.t)));
  const trials = await randomSearch({
    space: { lr: logUniform(1e-4, 0.5) },
    trials: 4,
    key: random.key(0),
    mode: "min",
    objective: async ({ lr }, key) => {
      const result = await fit({
        params: { w: tensor(0) },
        optimizer: optim.sgd(lr),
        loss,
        data: { t: zeros([4]).add(1) },
        validation: { data: { t: zeros([2]).add(1) } },
        epochs: 3,
        batchSize: 2,
        key,
        quiet: true,
      });
      return result.history.epochs[2].val_loss!;
    },
  });
  assert.equal(trials.length, 4);
  // Below 0.5 the largest learning rate converges fastest on this problem.
  const lrs = trials.map((t) => t.params.lr);
  assert.equal(lrs[0], Math.max(...lrs));
});

Deno.test("randomSearch: missing options or an unknown key throw", async () => {
  // deno-lint-ignore no-explicit-any
  const loose = randomSearch as (o: unknown) => Promise<any>;
  await assert.rejects(() => loose(undefined), /^TypeError: randomSearch\(\): .*got undefined/);
  await assert.rejects(
    () => loose({ space: {}, trials: 1, key: random.key(0), objective: () => 0, direction: "min" }),
    /^TypeError: randomSearch\(\): unknown option "direction"; the options are .*"mode"/,
  );
});

Deno.test("uniformRange spans bounds whose difference overflows (it gave NaN and a constant)", () => {
  const s = uniformRange(-1.7e308, 1.7e308);
  const xs = [0, 0.25, 0.5, 0.75].map((u) => s.sample(u));
  assert.ok(xs.every(Number.isFinite), String(xs));
  assert.equal(xs[0], -1.7e308);
  assert.equal(xs[2], 0);
  for (const [got, want] of [[xs[1], -0.85e308], [xs[3], 0.85e308]]) {
    assert.ok(Math.abs(got - want) <= 1e-15 * Math.abs(want), `${got} vs ${want}`);
  }
  assert.equal(uniformRange(0, 0.5).sample(0.5), 0.25);
});
