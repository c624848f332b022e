import assert from "node:assert/strict";
import {
  add,
  argmax,
  cast,
  data,
  equal,
  fit,
  full,
  greater,
  logsumexp,
  matmul,
  mean,
  mul,
  NonFiniteLossError,
  optim,
  type ProgressWriter,
  random,
  reshape,
  square,
  sub,
  sum,
  take,
  Tensor,
  tensor,
  tree,
  zeros,
} from "../../mod.ts";
import { assertClose, onBackend } from "../_helpers.ts";
import { WasmBackend } from "../../src/backend/wasm/wasm_backend.ts";

/** Plain SGD, written here so these tests do not depend on optim's aliases. */
function sgd(lr: number): optim.GradientTransformation<{ count: number }> {
  return {
    init: () => ({ count: 0 }),
    update: <P>(grads: P, state: { count: number }): [P, { count: number }] => [
      tree.map((g: Tensor) => mul(g, -lr), grads),
      { count: state.count + 1 },
    ],
  };
}

// ---- a tiny linear regression: y = x·[1, -2, 0.5] + 0.3 + noise

type Linear = { w: Tensor; b: Tensor };
type XY = { x: Tensor; y: Tensor };

function regression(seed: number, n: number): XY {
  const [kx, kn] = random.split(random.key(seed));
  const x = random.normal(kx, [n, 3]);
  const y = add(
    add(matmul(x, tensor([[1], [-2], [0.5]])), 0.3),
    random.normal(kn, [n, 1], { std: 0.01 }),
  );
  return { x, y };
}

const mse = (p: Linear, batch: XY): Tensor =>
  mean(square(sub(add(matmul(batch.x, p.w), p.b), batch.y)));

const zeroLinear = (): Linear => ({ w: zeros([3, 1]), b: zeros([1]) });

Deno.test("fit: linear regression, the loss goes down; history lengths and fields", async () => {
  const data = regression(0, 64);
  const params = zeroLinear();
  const steps: number[] = [];
  const epochs: number[] = [];
  const result = await fit({
    params,
    optimizer: sgd(0.1),
    loss: mse,
    data,
    epochs: 8,
    batchSize: 16,
    key: random.key(1),
    quiet: true,
    onStep: (e) => void steps.push(e.step),
    onEpoch: (e) => void epochs.push(e.epoch),
  });
  const h = result.history;
  assert.equal(h.steps.length, 8 * 4);
  assert.equal(h.epochs.length, 8);
  assert.equal(h.evals.length, 0);
  assert.deepEqual(h.steps.map((s) => s.step), Array.from({ length: 32 }, (_, i) => i + 1));
  assert.deepEqual(
    h.steps.map((s) => s.epoch),
    Array.from({ length: 32 }, (_, i) => 1 + Math.floor(i / 4)),
  );
  assert.deepEqual(steps, h.steps.map((s) => s.step));
  assert.deepEqual(epochs, [1, 2, 3, 4, 5, 6, 7, 8]);
  // The epoch loss is the mean of the step losses.
  const firstFour = h.steps.slice(0, 4).reduce((a, s) => a + s.loss, 0) / 4;
  assertClose(h.epochs[0].loss, firstFour, { atol: 1e-9 });
  assert.ok(h.epochs[7].loss < h.epochs[0].loss / 100, `${h.epochs[0].loss} → ${h.epochs[7].loss}`);
  for (const e of h.epochs) assert.ok(e.time >= 0 && e.val_loss === undefined);
  assertClose(result.params.w, [1, -2, 0.5], { atol: 0.02 });
  assertClose(result.params.b, [0.3], { atol: 0.02 });
  assert.equal(result.optState.count, 32);
  assert.equal(result.stoppedEarly, false);
  assert.equal(result.bestEpoch, undefined);
  assert.equal(result.modelState, undefined);
  // Inputs untouched.
  assert.deepEqual(params.w.arraySync(), [[0], [0], [0]]);
});

Deno.test("fit: deterministic for a key; another key shuffles differently", async () => {
  const data = regression(2, 24);
  const run = async (seed: number) =>
    (await fit({
      params: zeroLinear(),
      optimizer: sgd(0.05),
      loss: mse,
      data,
      epochs: 2,
      batchSize: 5,
      key: random.key(seed),
      quiet: true,
    })).history.steps.map((s) => s.loss);
  const a = await run(7);
  assert.equal(a.length, 2 * 5);
  assert.deepEqual(await run(7), a);
  assert.notDeepEqual(await run(8), a);
});

Deno.test("fit: works with optim.adam, and the optimizer state type flows through", async () => {
  const result = await fit({
    params: zeroLinear(),
    optimizer: optim.adam(0.05),
    loss: mse,
    data: regression(3, 32),
    epochs: 10,
    batchSize: 8,
    dropLast: true,
    key: random.key(0),
    quiet: true,
  });
  assert.equal(result.history.steps.length, 40);
  const first = result.history.epochs[0].loss;
  const last = result.history.epochs[9].loss;
  assert.ok(last < first / 10, `${first} → ${last}`);
  assert.equal(result.params.w.shape.length, 2);
});

// ---- a 2-class problem with validation metrics

type Logistic = { w: Tensor; b: Tensor };
type Labeled = { x: Tensor; label: Tensor };

function twoBlobs(seed: number, n: number): Labeled {
  const [kx, kl] = random.split(random.key(seed));
  const label = random.randint(kl, [n], 0, 2);
  const centers = tensor([[-1, -1], [1, 1]]);
  const x = add(take(centers, label), random.normal(kx, [n, 2], { std: 0.5 }));
  return { x, label };
}

const logits = (p: Logistic, x: Tensor): Tensor => add(matmul(x, p.w), p.b);

const xent = (p: Logistic, batch: Labeled): Tensor => {
  const z = logits(p, batch.x);
  const picked = sum(
    mul(
      z,
      cast(equal(reshape(batch.label, [-1, 1]), tensor([[0, 1]], { dtype: "int32" })), "float32"),
    ),
    -1,
  );
  return mean(sub(logsumexp(z, -1), picked));
};

const accuracy = (p: Logistic, batch: Labeled): Tensor => {
  const z = logits(p, batch.x);
  const pred = cast(greater(take(z, [1], 1), take(z, [0], 1)), "int32");
  return mean(cast(equal(reshape(pred, [-1]), batch.label), "float32"));
};

Deno.test("fit: validation loss and metrics per epoch, in eval mode", async () => {
  const train = twoBlobs(0, 40);
  const valid = twoBlobs(1, 21);
  const modes: boolean[] = [];
  const metricModes: boolean[] = [];
  const result = await fit({
    params: { w: zeros([2, 2]), b: zeros([2]) },
    optimizer: sgd(0.5),
    loss: (p, batch, ctx) => {
      modes.push(ctx.training);
      return xent(p, batch);
    },
    data: train,
    epochs: 5,
    batchSize: 10,
    key: random.key(0),
    validation: {
      data: valid,
      batchSize: 8,
      metrics: {
        acc: (p, batch, ctx) => {
          metricModes.push(ctx.training);
          return accuracy(p, batch);
        },
      },
    },
    quiet: true,
  });
  const h = result.history;
  assert.equal(h.epochs.length, 5);
  assert.equal(h.evals.length, 5);
  for (const e of h.epochs) {
    assert.equal(typeof e.val_loss, "number");
    assert.equal(typeof e.val_acc, "number");
  }
  assert.deepEqual(h.evals.map((e) => e.step), [4, 8, 12, 16, 20]);
  assert.equal(h.evals[4].val_acc, h.epochs[4].val_acc);
  assert.ok(h.epochs[4].val_loss! < h.epochs[0].val_loss!);
  assert.ok(h.epochs[4].val_acc! > 0.85, `val_acc ${h.epochs[4].val_acc}`);
  // 4 training steps then 3 validation batches (8 + 8 + 5) per epoch.
  assert.deepEqual(modes, Array(5).fill([true, true, true, true, false, false, false]).flat());
  assert.deepEqual(metricModes, Array(15).fill(false));
  // val_loss is the loss over the whole validation set.
  assertClose(h.epochs[4].val_loss!, xent(result.params, valid).itemSync(), { atol: 1e-5 });
  assertClose(h.epochs[4].val_acc!, accuracy(result.params, valid).itemSync(), { atol: 1e-6 });
});

Deno.test("fit: validation values are averaged weighted by batch size", async () => {
  // A metric = the mean of x in the batch: weighted by size it is the mean of all x.
  const valid = { x: tensor([1, 2, 3, 4, 10]) };
  const result = await fit({
    params: { w: tensor(0) },
    optimizer: sgd(0),
    loss: (p: { w: Tensor }, batch: { x: Tensor }) => add(mean(batch.x), mul(p.w, 0)),
    data: { x: zeros([2]) },
    epochs: 1,
    batchSize: 2,
    key: random.key(0),
    validation: {
      data: valid,
      batchSize: 2,
      metrics: { count: () => tensor(3, { dtype: "int32" }) },
    },
    quiet: true,
  });
  assertClose(result.history.epochs[0].val_loss!, 4, { atol: 1e-6 }); // not (1.5 + 3.5 + 10) / 3
  assert.equal(result.history.epochs[0].val_count, 3); // int metrics are averaged as floats
});

Deno.test("fit: ctx.key is a fresh key per step", async () => {
  const keys: string[] = [];
  await fit({
    params: { w: tensor(1) },
    optimizer: sgd(0.1),
    loss: (p: { w: Tensor }, _b: { x: Tensor }, ctx) => {
      keys.push(String(ctx.key.dataSync()));
      return square(p.w);
    },
    data: { x: zeros([6]) },
    epochs: 2,
    batchSize: 2,
    key: random.key(0),
    quiet: true,
  });
  assert.equal(keys.length, 6);
  assert.equal(new Set(keys).size, 6);
});

Deno.test("fit: evalEvery adds evaluations between epoch ends", async () => {
  const run = async (evalEvery: number) =>
    (await fit({
      params: { w: tensor(1) },
      optimizer: sgd(0.1),
      loss: (p: { w: Tensor }, _b: { x: Tensor }) => square(p.w),
      data: { x: zeros([8]) },
      validation: { data: { x: zeros([3]) } },
      epochs: 2,
      batchSize: 2,
      key: random.key(0),
      evalEvery,
      quiet: true,
    })).history;
  const h3 = await run(3);
  assert.deepEqual(h3.evals.map((e) => [e.step, e.epoch]), [[3, 1], [4, 1], [6, 2], [8, 2]]);
  const h2 = await run(2);
  assert.deepEqual(h2.evals.map((e) => e.step), [2, 4, 6, 8]); // epoch ends reuse step 4 and 8
  assert.equal(h2.epochs[1].val_loss, h2.evals[3].val_loss);
  // The validation loss follows w: (1 - 0.2)^steps squared.
  assertClose(h2.evals.map((e) => e.val_loss), [2, 4, 6, 8].map((s) => 0.8 ** (2 * s)), {
    atol: 1e-6,
  });
});

// ---- early stopping

Deno.test("fit: early stopping on val_loss stops and restores the best parameters", async () => {
  // Training pulls w from 0 towards 3; validation wants w = 1. With one step per
  // epoch and lr 0.1, w = 3(1 - 0.8^k): 0.6, 1.08, 1.464, 1.771, … so val_loss is
  // best after epoch 2 and rises afterwards.
  const loss = (p: { w: Tensor }, batch: { t: Tensor }) => mean(square(sub(p.w, batch.t)));
  const result = await fit({
    params: { w: tensor(0) },
    optimizer: sgd(0.1),
    loss,
    data: { t: full([4], 3) },
    validation: { data: { t: full([4], 1) } },
    epochs: 20,
    batchSize: 4,
    key: random.key(0),
    earlyStopping: { patience: 2 },
    quiet: true,
  });
  assert.equal(result.stoppedEarly, true);
  assert.equal(result.bestEpoch, 2);
  assert.equal(result.history.epochs.length, 4); // epochs 3 and 4 without improvement
  assertClose(result.params.w, 1.08, { atol: 1e-6 });
  assert.equal(result.optState.count, 2); // the optimizer state of the best epoch
  assertClose(
    result.history.epochs.map((e) => e.val_loss!),
    [1, 2, 3, 4].map((k) => (3 * (1 - 0.8 ** k) - 1) ** 2),
    {
      atol: 1e-5,
    },
  );

  const kept = await fit({
    params: { w: tensor(0) },
    optimizer: sgd(0.1),
    loss,
    data: { t: full([4], 3) },
    validation: { data: { t: full([4], 1) } },
    epochs: 20,
    batchSize: 4,
    key: random.key(0),
    earlyStopping: { patience: 2, restoreBest: false },
    quiet: true,
  });
  assert.equal(kept.bestEpoch, 2);
  assertClose(kept.params.w, 3 * (1 - 0.8 ** 4), { atol: 1e-6 });
});

Deno.test("fit: early stopping on a metric with mode max, minDelta, and restoreBest", async () => {
  // A fake metric sequence: one value per evaluation, recording the params it saw.
  const scores = [0.5, 0.7, 0.6, 0.705, 0.69, 0.95, 0.99];
  const seen: number[] = [];
  let calls = 0;
  const result = await fit({
    params: { w: tensor(0) },
    optimizer: sgd(0.1),
    loss: (p: { w: Tensor }, _b: { x: Tensor }) => square(sub(p.w, 5)),
    data: { x: zeros([2]) },
    validation: {
      data: { x: zeros([1]) },
      metrics: {
        score: (p) => {
          seen.push(p.w.itemSync());
          return tensor(scores[calls++]);
        },
      },
    },
    epochs: 10,
    batchSize: 2,
    key: random.key(0),
    earlyStopping: { monitor: "val_score", patience: 3, minDelta: 0.01 },
    quiet: true,
  });
  // 0.705 is not better than 0.7 by minDelta: epochs 3, 4, 5 do not improve.
  assert.equal(result.history.epochs.length, 5);
  assert.equal(result.bestEpoch, 2);
  assert.equal(result.stoppedEarly, true);
  assertClose(result.params.w, seen[1], { atol: 0 });
});

Deno.test("fit: early stopping replaces a NaN first value", async () => {
  const scores = [NaN, 0.5, 0.4, 0.3, 0.2];
  let calls = 0;
  const result = await fit({
    params: { w: tensor(0) },
    optimizer: sgd(0.1),
    loss: (p: { w: Tensor }, _b: { x: Tensor }) => square(sub(p.w, 5)),
    data: { x: zeros([2]) },
    validation: { data: { x: zeros([1]) }, metrics: { score: () => tensor(scores[calls++]) } },
    epochs: 10,
    batchSize: 2,
    key: random.key(0),
    earlyStopping: { monitor: "val_score", patience: 2 },
    quiet: true,
  });
  assert.equal(result.bestEpoch, 2);
  assert.equal(result.history.epochs.length, 4);
});

Deno.test("fit: early stopping that never triggers still returns the best epoch", async () => {
  const result = await fit({
    params: { w: tensor(2) },
    optimizer: sgd(0.1),
    loss: (p: { w: Tensor }, _b: { x: Tensor }) => square(p.w),
    data: { x: zeros([2]) },
    epochs: 3,
    batchSize: 2,
    key: random.key(0),
    earlyStopping: { monitor: "loss", patience: 1 },
    quiet: true,
  });
  assert.equal(result.stoppedEarly, false);
  assert.equal(result.bestEpoch, 3);
  assertClose(result.params.w, 2 * 0.8 ** 3, { atol: 1e-6 });
});

// ---- gradient clipping

Deno.test("fit: maxGradNorm clips the gradient's global norm before the optimizer", async () => {
  // The gradient is {a: [3], b: [4]}, global norm 5.
  const loss = (p: { a: Tensor; b: Tensor }, _batch: { x: Tensor }) =>
    add(sum(mul(p.a, 3)), sum(mul(p.b, 4)));
  const run = async (maxGradNorm?: number) =>
    (await fit({
      params: { a: tensor([0]), b: tensor([0]) },
      optimizer: sgd(1),
      loss,
      data: { x: zeros([1]) },
      epochs: 1,
      batchSize: 1,
      key: random.key(0),
      maxGradNorm,
      quiet: true,
    })).params;
  const clipped = await run(1);
  assertClose(clipped.a, [-0.6], { atol: 1e-6 });
  assertClose(clipped.b, [-0.8], { atol: 1e-6 });
  const within = await run(10);
  assertClose(within.a, [-3], { atol: 1e-6 });
  assertClose(within.b, [-4], { atol: 1e-6 });
  const none = await run();
  assertClose(none.b, [-4], { atol: 1e-6 });
});

// ---- model state

Deno.test("fit: modelState is threaded through the steps and seen by evaluation", async () => {
  type State = { count: Tensor };
  const evalStates: number[] = [];
  const result = await fit({
    params: { w: tensor(1) },
    optimizer: sgd(0.1),
    loss: (p: { w: Tensor }, _b: { x: Tensor }, ctx): [Tensor, State] => {
      if (!ctx.training) evalStates.push(ctx.state.count.itemSync());
      return [square(p.w), { count: add(ctx.state.count, 1) }];
    },
    modelState: { count: tensor(0) },
    data: { x: zeros([6]) },
    validation: { data: { x: zeros([2]) } },
    epochs: 3,
    batchSize: 2,
    key: random.key(0),
    quiet: true,
  });
  assert.equal(result.modelState.count.itemSync(), 9); // 3 steps per epoch, 3 epochs
  assert.deepEqual(evalStates, [3, 6, 9]); // evaluation sees the state and does not advance it
  assertClose(result.params.w, 0.8 ** 9, { atol: 1e-6 });
});

Deno.test("fit: restoring the best epoch restores its model state too", async () => {
  const result = await fit({
    params: { w: tensor(0) },
    optimizer: sgd(0.1),
    loss: (p: { w: Tensor }, batch: { t: Tensor }, ctx): [Tensor, number] => [
      mean(square(sub(p.w, batch.t))),
      ctx.state + 1,
    ],
    modelState: 0,
    data: { t: full([4], 3) },
    validation: { data: { t: full([4], 1) } },
    epochs: 20,
    batchSize: 4,
    key: random.key(0),
    earlyStopping: { patience: 1 },
    quiet: true,
  });
  assert.equal(result.history.epochs.length, 3);
  assert.equal(result.bestEpoch, 2);
  assert.equal(result.modelState, 2);
});

// ---- output

function recorder(isTerminal: boolean): ProgressWriter & { text: string } {
  const w = {
    text: "",
    isTerminal: () => isTerminal,
    writeSync(p: Uint8Array): number {
      w.text += new TextDecoder().decode(p);
      return p.length;
    },
  };
  return w;
}

Deno.test("fit: progress goes to the injected writer; quiet prints nothing", async () => {
  const opts = {
    params: { w: tensor(1) },
    optimizer: sgd(0.1),
    loss: (p: { w: Tensor }, _b: { x: Tensor }) => square(p.w),
    data: { x: zeros([4]) },
    validation: { data: { x: zeros([2]) } },
    epochs: 2,
    batchSize: 2,
    key: random.key(0),
  };
  let t = 0;
  const clock = () => (t += 100);
  const plain = recorder(false);
  const result = await fit({ ...opts, progress: { writer: plain, clock } });
  const lines = plain.text.split("\n");
  assert.equal(lines.length, 3);
  assert.equal(lines[2], "");
  assert.match(
    lines[0],
    /^epoch 1\/2 2\/2 loss 0\.8200 val_loss 0\.4096 · [\d.]+ it\/s · [\d.]+s$/,
  );
  assert.match(lines[1], /^epoch 2\/2 2\/2 loss /);
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\r\x1b]/.test(plain.text));
  // The same clock times the epochs.
  assert.ok(result.history.epochs.every((e) => e.time > 0));

  const tty = recorder(true);
  await fit({ ...opts, progress: { writer: tty, clock, redrawMs: 0 } });
  assert.match(
    tty.text,
    // deno-lint-ignore no-control-regex
    /^\repoch 1\/2 \[=+>? *\] 1\/2 loss 1\.0000 · [\d.]+ it\/s · ETA \d+:\d\d\x1b\[K\r/,
  );
  assert.equal(tty.text.split("\n").length, 3);

  const quiet = recorder(true);
  await fit({ ...opts, quiet: true, progress: { writer: quiet, clock } });
  assert.equal(quiet.text, "");
});

// ---- errors

Deno.test("fit: clear errors for bad options, before training", async () => {
  const base = {
    params: { w: tensor(1) },
    optimizer: sgd(0.1),
    loss: (p: { w: Tensor }, _b: { x: Tensor }) => square(p.w),
    data: { x: zeros([4]) },
    epochs: 1,
    batchSize: 2,
    key: random.key(0),
    quiet: true,
  };
  await assert.rejects(
    () => fit({ ...base, epochs: 0 }),
    /fit\(\): epochs must be a positive integer, got 0/,
  );
  await assert.rejects(
    () =>
      fit({
        ...base,
        validation: { data: { x: zeros([2]), y: zeros([1]) } as unknown as { x: Tensor } },
      }),
    /fit\(\): leading \(example\) axes differ: validation\.data\.x has 2 examples but validation\.data\.y has 1/,
  );
  await assert.rejects(
    () => fit({ ...base, batchSize: 8, dropLast: true }),
    /4 examples give no batch of 8/,
  );
  await assert.rejects(
    () => fit({ ...base, data: { x: zeros([4]), y: zeros([3]) } as unknown as { x: Tensor } }),
    /fit\(\): leading \(example\) axes differ: data\.x has 4 examples but data\.y has 3/,
  );
  await assert.rejects(
    () => fit({ ...base, earlyStopping: { patience: 1 } }),
    /earlyStopping\.monitor "val_loss" is not recorded; available: loss \(val_\* needs validation data\)/,
  );
  await assert.rejects(
    () =>
      fit({
        ...base,
        validation: { data: { x: zeros([2]) }, metrics: { acc: () => tensor(1) } },
        earlyStopping: { patience: 1, monitor: "val_accuracy" },
      }),
    /available: loss, val_loss, val_acc/,
  );
  await assert.rejects(
    () =>
      fit({ ...base, validation: { data: { x: zeros([2]) }, metrics: { loss: () => tensor(1) } } }),
    /may not be called "loss"/,
  );
  await assert.rejects(
    () => fit({ ...base, maxGradNorm: 0 }),
    /maxGradNorm must be a positive number/,
  );
  await assert.rejects(
    () => fit({ ...base, evalEvery: 1.5 }),
    /evalEvery must be a positive integer/,
  );
  await assert.rejects(
    () => fit({ ...base, evalEvery: 2 }),
    /^TypeError: fit\(\): evalEvery says how often to evaluate the validation data, but there is no validation/,
  );
  await assert.rejects(
    () =>
      fit({
        ...base,
        validation: { data: { x: zeros([2]) }, metrics: { m: () => tensor([1, 2]) } },
      }),
    /validation metric "m" must return a scalar tensor, got shape \[2\]/,
  );
  await assert.rejects(
    () => fit({ ...base, modelState: 0 } as unknown as typeof base),
    /with modelState the loss must return \[loss, newModelState\], got a Tensor/,
  );
  await assert.rejects(
    () =>
      fit(
        {
          ...base,
          loss: (p: { w: Tensor }) => [square(p.w), 0],
        } as unknown as typeof base,
      ),
    /the loss returned an array; return a scalar tensor, or pass modelState/,
  );
  await assert.rejects(
    () => fit({ ...base, optimizer: {} as optim.GradientTransformation<null> }),
    /optimizer must be a gradient transformation/,
  );
  // What a JavaScript caller can get wrong: no options, a misspelt or missing key.
  // deno-lint-ignore no-explicit-any
  const loose = fit as (o: unknown) => Promise<any>;
  await assert.rejects(
    () => loose(undefined),
    /^TypeError: fit\(\): expected an options object such as \{ params, .*got undefined/,
  );
  await assert.rejects(
    () => loose({ ...base, epoch: 3 }),
    /^TypeError: fit\(\): unknown option "epoch" \(did you mean "epochs"\?\)/,
  );
  await assert.rejects(
    () => loose({ ...base, earlyStopping: { patiance: 2 } }),
    /^TypeError: fit\(\): unknown option "patiance" \(did you mean "patience"\?\)/,
  );
  await assert.rejects(
    () => loose({ ...base, validation: { data: base.data, metric: {} } }),
    /^TypeError: fit\(\): unknown option "metric" \(did you mean "metrics"\?\)/,
  );
  await assert.rejects(
    () => loose({ ...base, progress: { logEvery: 1 } }),
    /^TypeError: fit\(\): unknown option "logEvery" \(did you mean "logEveryMs"\?\)/,
  );
  await assert.rejects(
    () => loose({ ...base, key: undefined }),
    /^TypeError: fit\(\): key is missing: .*key: random\.key\(0\)/,
  );
});

// ---- non-finite losses

Deno.test("fit: a non-finite training loss stops with an error naming step, epoch, value and causes", async () => {
  // loss w⁴ from w = 1 with lr 10: w goes 1, −39, 2372721, ≈ −5.3e20; the 4th loss overflows.
  const opts = {
    params: { w: tensor(1) },
    optimizer: sgd(10),
    loss: (p: { w: Tensor }, _b: { x: Tensor }) => square(square(p.w)),
    data: { x: zeros([2]) },
    epochs: 3,
    batchSize: 1,
    key: random.key(0),
    quiet: true,
  };
  await assert.rejects(() => fit(opts), (e: unknown) => {
    assert.ok(e instanceof NonFiniteLossError);
    assert.equal(
      e.message,
      "fit(): the training loss is Infinity at step 4 (epoch 2, batch 2 of 2); training " +
        "stopped. Usual causes: a learning rate too high (try one 10× smaller, or clip " +
        "gradients with maxGradNorm); class labels out of range for the model's outputs " +
        "(under jit, the default, and on WebGPU they give NaN instead of an error: run with " +
        "jit: false to have the loss name the label); log or division by 0 in a hand-written " +
        'loss. Pass nonFinite: "continue" to train on anyway',
    );
    assert.deepEqual([e.what, e.step, e.epoch, e.value], ["loss", 4, 2, Infinity]);
    assert.deepEqual(e.history.steps.map((s) => s.loss).slice(0, 2), [1, 39 ** 4]);
    assert.equal(e.history.steps.length, 4);
    return true;
  });
  // nonFinite: "continue" trains on and records the values (as before).
  const result = await fit({ ...opts, nonFinite: "continue" });
  assert.equal(result.history.steps.length, 6);
  assert.ok(!Number.isFinite(result.history.steps[5].loss));
});

Deno.test("fit: a NaN val_loss stops too (e.g. validation labels out of range on WebGPU)", async () => {
  let calls = 0;
  const opts = {
    params: { w: tensor(1) },
    optimizer: sgd(0.1),
    loss: (p: { w: Tensor }, _b: { x: Tensor }, ctx: { training: boolean }) =>
      ctx.training ? square(p.w) : (calls++, tensor(NaN)),
    data: { x: zeros([4]) },
    validation: { data: { x: zeros([2]) } },
    epochs: 2,
    batchSize: 2,
    key: random.key(0),
    quiet: true,
  };
  await assert.rejects(
    () => fit(opts),
    (e: unknown) =>
      e instanceof NonFiniteLossError && e.what === "val_loss" && e.step === 2 &&
      e.epoch === 1 &&
      /^fit\(\): val_loss is NaN after step 2 \(epoch 1\); training stopped\. Usual causes/.test(
        e.message,
      ),
  );
  assert.equal(calls, 1);
  await assert.rejects(
    () => fit({ ...opts, nonFinite: "stop" as "error" }),
    /^TypeError: fit\(\): nonFinite must be "error" or "continue", got "stop"$/,
  );
});

// ---- callbacks

Deno.test("fit: callbacks receive the current params, optimizer state and model state", async () => {
  // loss w² with lr 0.1: each step multiplies w by 0.8; 2 steps per epoch.
  const seen: { where: string; step: number; w: number; count: number; m: number }[] = [];
  const record = (where: string, step: number) =>
  async (
    _e: unknown,
    s: { params: { w: Tensor }; optState: { count: number }; modelState: number },
  ) => {
    seen.push({
      where,
      step,
      w: await s.params.w.item(),
      count: s.optState.count,
      m: s.modelState,
    });
  };
  let step = 0;
  const result = await fit({
    params: { w: tensor(1) },
    optimizer: sgd(0.1),
    loss: (p: { w: Tensor }, _b: { x: Tensor }, ctx): [Tensor, number] => [
      square(p.w),
      ctx.training ? ctx.state + 1 : ctx.state,
    ],
    modelState: 0,
    data: { x: zeros([4]) },
    validation: { data: { x: zeros([2]) } },
    epochs: 2,
    batchSize: 2,
    key: random.key(0),
    quiet: true,
    onStep: (e, s) => record("step", ++step)(e, s),
    onEval: (e, s) => record("eval", e.step)(e, s),
    onEpoch: (e, s) => record("epoch", e.epoch * 2)(e, s),
  });
  // each callback sees the values after `step` updates: w = 0.8^step, count = step, state = step
  assert.deepEqual(seen.map((x) => [x.where, x.step, x.count, x.m]), [
    ["step", 1, 1, 1],
    ["step", 2, 2, 2],
    ["eval", 2, 2, 2],
    ["epoch", 2, 2, 2],
    ["step", 3, 3, 3],
    ["step", 4, 4, 4],
    ["eval", 4, 4, 4],
    ["epoch", 4, 4, 4],
  ]);
  assertClose(seen.map((x) => x.w), seen.map((x) => 0.8 ** x.step), { atol: 1e-6 });
  assertClose(result.params.w, 0.8 ** 4, { atol: 1e-6 });
});

Deno.test("fit: frees what each step replaces, never what the caller passed in (jitted and eager)", async () => {
  for (const jit of [true, false]) {
    // a backend of its own, so nothing else's garbage shows in its counters
    await onBackend("wasm-fit", new WasmBackend(), async (be) => {
      const data = regression(5, 64);
      // a 256×256 weight: a step that leaked params, grads or Adam moments would leak megabytes
      const params = { ...zeroLinear(), big: full([256, 256], 0.5) };
      const loss = (p: typeof params, batch: XY) =>
        add(mse(p, batch), mul(mean(square(p.big)), 1e-3));
      const optimizer = optim.adam(0.05);
      const optState = optimizer.init(params);
      // measured within one run: a jitted step's program keeps its constants
      // (here a 256×256 one) until the jitted function is collected
      const used = new Map<number, number>();
      const result = await fit({
        params,
        optState,
        optimizer,
        loss,
        data,
        epochs: 20,
        batchSize: 16,
        validation: { data },
        earlyStopping: { patience: 100 },
        key: random.key(1),
        quiet: true,
        jit,
        onEpoch: (e) => void used.set(e.epoch, be.memoryStats().usedBytes),
      });
      // the result (the best epoch early stopping kept) is readable; then it is freed here
      assert.ok(Number.isFinite(await mean(result.params.big).item()));
      tree.dispose([result.params, result.optState], [params, optState]);
      // 72 more steps; small bookkeeping (keys, shuffles) is left to the garbage collector
      const grew = used.get(20)! - used.get(2)!;
      assert.ok(grew < 2 ** 18, `jit: ${jit}: arena grew by ${grew} bytes over 72 more steps`);
      // the caller's tensors are untouched and alive
      assert.deepEqual([...params.w.dataSync()], [0, 0, 0]);
      for (const leaf of tree.leaves(optState)) if (leaf instanceof Tensor) await leaf.data();
      assert.equal((await data.x.data()).length, 64 * 3);
    });
  }
});

Deno.test("fit: the jitted step (default) gives the eager history bit for bit, traced once", async () => {
  const data = regression(11, 40);
  const run = async (jit: boolean) => {
    let traces = 0;
    const result = await fit({
      params: { w: tensor([[0.1], [0.2], [-0.1]]), b: tensor([0]) },
      optimizer: optim.adamw(optim.warmupCosineDecaySchedule({
        init: 0,
        peak: 0.1,
        warmupSteps: 3,
        decaySteps: 30,
      })),
      // a model state of tensors: how many training steps the loss saw
      modelState: { seen: tensor(0, { dtype: "int32" }) },
      loss: (p: Linear, batch: XY, ctx) => {
        if (ctx.training) traces++;
        const seen = ctx.training ? add(ctx.state.seen, 1) : ctx.state.seen;
        return [mse(p, batch), { seen }];
      },
      data,
      epochs: 3,
      batchSize: 8,
      maxGradNorm: 1,
      validation: { data },
      key: random.key(4),
      quiet: true,
      jit,
    });
    return { result, traces };
  };
  const jitted = await run(true), eager = await run(false);
  assert.deepEqual(jitted.result.history.steps, eager.result.history.steps);
  assert.deepEqual(
    jitted.result.history.epochs.map(({ time: _, ...e }) => e),
    eager.result.history.epochs.map(({ time: _, ...e }) => e),
  );
  assert.deepEqual([...jitted.result.params.w.dataSync()], [...eager.result.params.w.dataSync()]);
  assert.equal(jitted.result.modelState.seen.itemSync(), 15);
  assert.equal(jitted.result.optState[2].count.itemSync(), 15);
  assert.equal(jitted.traces, 1); // one batch shape, a fixed signature
  assert.equal(eager.traces, 15);
});

Deno.test("fit: validation runs jitted with the step: traced once per batch shape, the eager values", async () => {
  const train = regression(12, 40), valid = regression(13, 25);
  const run = async (jit: boolean, metric: (p: Linear, b: XY) => Tensor) => {
    let traces = 0;
    const result = await fit({
      params: zeroLinear(),
      optimizer: optim.sgd(0.1),
      loss: (p: Linear, batch: XY, ctx) => {
        if (!ctx.training) traces++;
        return mse(p, batch);
      },
      data: train,
      epochs: 3,
      batchSize: 8,
      // batches of 10, 10 and 5: two shapes
      validation: { data: valid, batchSize: 10, metrics: { m: metric } },
      key: random.key(2),
      quiet: true,
      jit,
    });
    return { epochs: result.history.epochs.map(({ time: _, ...e }) => e), traces, result };
  };
  const meanAbs = (p: Linear, b: XY) => mean(square(sub(add(matmul(b.x, p.w), p.b), b.y)));
  const jitted = await run(true, meanAbs), eager = await run(false, meanAbs);
  assert.deepEqual(jitted.epochs, eager.epochs);
  assert.equal(jitted.traces, 2); // one trace per validation batch shape
  assert.equal(eager.traces, 9); // three batches, three epochs
  // A metric that reads a value on the host cannot be traced: it evaluates eagerly, same values.
  const onHost = (p: Linear, b: XY) => tensor(meanAbs(p, b).itemSync());
  const fallback = await run(true, onHost);
  assert.deepEqual(fallback.epochs, eager.epochs);
  // A metric that returns a parameter passes it through the program as itself: never freed.
  const withScale = await fit({
    params: { ...zeroLinear(), s: tensor(0.5) },
    optimizer: optim.sgd(0.1),
    loss: (p: Linear & { s: Tensor }, batch: XY) => mse(p, batch),
    data: train,
    epochs: 2,
    batchSize: 8,
    validation: { data: valid, metrics: { s: (p: Linear & { s: Tensor }) => p.s } },
    key: random.key(2),
    quiet: true,
  });
  assert.deepEqual(withScale.history.epochs.map((e) => e.val_s), [0.5, 0.5]);
  assert.equal(await withScale.params.s.item(), 0.5);
});

Deno.test("fit: a loss that reads values on the host cannot be jitted; the error says to pass jit: false", async () => {
  const options = {
    params: { w: tensor([[0], [0], [0]]), b: tensor([0]) },
    optimizer: optim.sgd(0.1),
    loss: (p: Linear, batch: XY) => {
      const l = mse(p, batch);
      return l.itemSync() > 1e6 ? mul(l, 0) : l;
    },
    data: regression(2, 8),
    epochs: 1,
    batchSize: 8,
    key: random.key(0),
    quiet: true,
  };
  await assert.rejects(
    () => fit(options),
    /^Error: fit\(\): the training step is jitted and could not be traced: .*cannot read.*Pass \{ jit: false \} to fit\(\) to run the step eagerly$/s,
  );
  const eager = await fit({ ...options, jit: false });
  assert.equal(eager.history.steps.length, 1);
});

Deno.test("fit: compact images train as their float32 tensor would; loss and metrics get float32 batches", async () => {
  const bytes = Uint8Array.from({ length: 64 * 6 }, (_, i) => (i * 37 + (i >> 3)) % 256);
  const images = data.CompactImages.fromBytes(bytes, [64, 6]);
  const y = tensor(Array.from({ length: 64 }, (_, i) => (bytes[6 * i] > 127 ? 1 : 0)), {
    dtype: "int32",
  });
  const run = <D extends { x: data.CompactImages | Tensor; y: Tensor }>(ds: D) =>
    fit({
      params: { w: zeros([6, 2]) },
      optimizer: optim.sgd(0.5),
      // The batch is float32 whatever the dataset holds (data.Batch<D>): b.x is a Tensor.
      loss: (p, b) => {
        const logits = matmul(b.x, p.w);
        return mean(sub(logsumexp(logits, 1), sum(mul(logits, oneHot2(b.y)), 1)));
      },
      data: ds,
      epochs: 3,
      batchSize: 16,
      key: random.key(3),
      quiet: true,
      validation: {
        data: ds,
        metrics: {
          hits: (p, b) => mean(cast(equal(argmax(matmul(b.x, p.w), 1), b.y), "float32")),
        },
      },
    });
  const compact = await run({ x: images, y });
  const plain = await run({ x: images.toTensor(), y });
  assert.deepEqual(
    compact.history.epochs.map((e) => [e.loss, e.val_hits]),
    plain.history.epochs.map((e) => [e.loss, e.val_hits]),
  );
  assert.ok(compact.history.epochs[2].loss < compact.history.epochs[0].loss);
});

/** One-hot rows of 0/1 labels (float32 [N, 2]). */
function oneHot2(y: Tensor): Tensor {
  const one = cast(y, "float32").reshape([y.shape[0], 1]);
  return reshape(tensor([1, 0]), [1, 2]).mul(sub(1, one)).add(
    reshape(tensor([0, 1]), [1, 2]).mul(one),
  );
}
