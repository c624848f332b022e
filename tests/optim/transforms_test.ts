/**
 * The gradient transformations one by one: formulas with plain JS numbers,
 * state handling, dtype preservation, pytree structure, non-mutation and
 * error messages.
 */

import assert from "node:assert/strict";
import { optim, type Tensor, tensor, tree } from "../../mod.ts";
import { assertClose } from "../_helpers.ts";

const f64 = (v: number[] | number[][]): Tensor => tensor(v, { dtype: "float64" });
const vals = (t: unknown): number[] => [...(t as Tensor).dataSync()];
const EXACT = { atol: 1e-14, rtol: 1e-14 };

/** Reads every leaf of a pytree of tensors into plain arrays (for before/after comparisons). */
function snapshot(t: unknown): unknown {
  return tree.map(
    (x: Tensor | number) =>
      typeof x === "number" ? x : { dtype: x.dtype, shape: [...x.shape], values: vals(x) },
    t,
  );
}

// ---------------------------------------------------------------- chain typing

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true
  : false;

Deno.test("chain: the state type is the tuple of the inner state types, without casts", () => {
  const opt = optim.chain(optim.trace({ decay: 0.9 }), optim.scaleByAdam(), optim.scale(2));
  const ok: Equals<
    typeof opt,
    optim.GradientTransformation<[optim.TraceState, optim.ScaleByAdamState, optim.EmptyState]>
  > = true;
  assert.ok(ok);
  const params = { w: f64([1]) };
  const state = opt.init(params);
  assert.equal(state.length, 3);
  assert.equal(state[1].count.itemSync(), 0); // typed access, no cast
  const [, next] = opt.update({ w: f64([1]) }, state);
  assert.equal(next[1].count.itemSync(), 1);
  const adamOk: Equals<
    ReturnType<typeof optim.adam>,
    optim.GradientTransformation<[optim.ScaleByAdamState, optim.ScaleByLearningRateState]>
  > = true;
  assert.ok(adamOk);
});

Deno.test("chain: transformations apply left to right, each state in its slot", () => {
  const g = { w: f64([3, -0.2]) };
  const clipThenScale = optim.chain(optim.clip(1), optim.scale(2));
  const scaleThenClip = optim.chain(optim.scale(2), optim.clip(1));
  assertClose(clipThenScale.update(g, clipThenScale.init(g))[0].w, [2, -0.4], EXACT);
  assertClose(scaleThenClip.update(g, scaleThenClip.init(g))[0].w, [1, -0.4], EXACT);

  const opt = optim.chain(optim.trace({ decay: 0.5 }), optim.scaleByLearningRate(0.1));
  const [u1, s1] = opt.update(g, opt.init(g));
  assertClose(u1.w, [-0.3, 0.02], EXACT);
  assertClose((s1[0].trace as { w: Tensor }).w, [3, -0.2], EXACT);
  assert.equal(s1[1].count.itemSync(), 1);
  const [u2] = opt.update(g, s1);
  assertClose(u2.w, [-0.45, 0.03], EXACT);
});

Deno.test("chain: an empty chain is the identity", () => {
  const opt = optim.chain();
  const g = { w: f64([1, 2]) };
  const state = opt.init(g);
  assert.deepEqual(state, []);
  const [u, s] = opt.update(g, state);
  assert.equal(u, g);
  assert.deepEqual(s, []);
});

Deno.test("chain: errors for a non-transformation and for a wrong state", () => {
  assert.throws(
    // deno-lint-ignore no-explicit-any -- deliberately wrong argument
    () => optim.chain(optim.scale(1), (() => 1) as any),
    /^TypeError: optim\.chain\(\): argument 1 is not a gradient transformation/,
  );
  const opt = optim.chain(optim.scale(1), optim.scale(2));
  assert.throws(
    // deno-lint-ignore no-explicit-any -- deliberately wrong state
    () => opt.update({ w: f64([1]) }, [{}] as any),
    /^TypeError: optim\.chain\(\): expected a state of 2 inner states \(one per transformation\), got an array of length 1; pass the state returned by init\(\)/,
  );
});

// ---------------------------------------------------------------- scaling

Deno.test("scaleByLearningRate: multiplies by −lr; a schedule gets 0, 1, 2, … and the count is an int32 scalar tensor", () => {
  const seen: number[] = [];
  const t = optim.scaleByLearningRate((step) => {
    seen.push(step);
    return 0.5 / (step + 1);
  });
  const g = { w: f64([2, -4]) };
  let state = t.init(g);
  assert.equal(state.count.itemSync(), 0);
  const want = [[-1, 2], [-0.5, 1], [-1 / 3, 2 / 3]];
  for (let k = 0; k < 3; k++) {
    const [u, next] = t.update(g, state);
    assertClose(u.w, want[k], EXACT);
    assert.equal(next.count.itemSync(), k + 1);
    assert.equal(next.count.dtype, "int32");
    assert.deepEqual(next.count.shape, []);
    state = next;
  }
  assert.deepEqual(seen, [0, 1, 2]);
  const c = optim.scaleByLearningRate(0.25);
  assertClose(c.update(g, c.init(g))[0].w, [-0.5, 1], EXACT);
});

Deno.test("scaleByLearningRate: bad learning rates and schedules are clear errors", () => {
  assert.throws(
    () => optim.scaleByLearningRate(NaN),
    /^TypeError: optim\.scaleByLearningRate\(\): the learning rate must be a finite number or a schedule/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any -- deliberately wrong argument
    () => optim.scaleByLearningRate("0.1" as any),
    /got string 0\.1/,
  );
  const t = optim.scaleByLearningRate((step) => (step === 1 ? NaN : 0.1));
  const g = f64([1]);
  const [, s1] = t.update(g, t.init(g));
  assert.throws(
    () => t.update(g, s1),
    /^RangeError: optim\.scaleByLearningRate\(\): the learning-rate schedule returned number NaN at step 1/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any -- deliberately wrong state
    () => t.update(g, { mu: 1 } as any),
    /^TypeError: optim\.scaleByLearningRate\(\): expected a state with keys \[count\], got an object with keys \[mu\]/,
  );
});

Deno.test("scaleBySchedule and scale: no sign flip", () => {
  const g = f64([1, -3]);
  const t = optim.scaleBySchedule((step) => step + 2);
  const [u1, s1] = t.update(g, t.init(g));
  const [u2] = t.update(g, s1);
  assertClose(u1, [2, -6], EXACT);
  assertClose(u2, [3, -9], EXACT);
  const s = optim.scale(-0.5);
  assert.deepEqual(s.init(g), {});
  assertClose(s.update(g, s.init(g))[0], [-0.5, 1.5], EXACT);
  assert.throws(
    () => optim.scale(Infinity),
    /^RangeError: optim\.scale\(\): factor must be a finite number, got number Infinity$/,
  );
});

// ---------------------------------------------------------------- trace

Deno.test("trace: t = g + decay·t_prev; nesterov outputs g + decay·t", () => {
  const gs = [[1, -2], [0.5, 3], [-1, 1]];
  const decay = 0.9;
  for (const nesterov of [false, true]) {
    const tr = optim.trace({ decay, nesterov });
    let state = tr.init({ w: f64([0, 0]) });
    let t = [0, 0];
    for (const g of gs) {
      const [u, next] = tr.update({ w: f64(g) }, state);
      t = t.map((ti, i) => g[i] + decay * ti);
      const want = nesterov ? t.map((ti, i) => g[i] + decay * ti) : t;
      assertClose(u.w, want, EXACT);
      assertClose((next.trace as { w: Tensor }).w, t, EXACT);
      state = next;
    }
  }
});

// ---------------------------------------------------------------- adaptive

Deno.test("scaleByRss: h += g², g/(√h + eps), from initialAccumulatorValue", () => {
  const gs = [[2, -1], [0.5, 4], [-3, 0]];
  for (const [h0, eps] of [[0, 1e-7], [0.1, 1e-3]]) {
    const t = optim.scaleByRss({ initialAccumulatorValue: h0, eps });
    let state = t.init([f64([0, 0])]);
    assertClose((state.sumOfSquares as Tensor[])[0], [h0, h0], EXACT);
    const h = [h0, h0];
    for (const g of gs) {
      const [u, next] = t.update([f64(g)], state);
      const want = g.map((gi, i) => {
        h[i] += gi * gi;
        return gi / (Math.sqrt(h[i]) + eps);
      });
      assertClose(u[0], want, EXACT);
      assertClose((next.sumOfSquares as Tensor[])[0], h, EXACT);
      state = next;
    }
  }
});

Deno.test("scaleByRms: h = decay·h + (1−decay)·g², g/(√h + eps); defaults are the book's (0.99, 1e-7)", () => {
  const gs = [[2, -1], [0.5, 4], [-3, 0]];
  const cases: [optim.ScaleByRmsOptions, number, number, number][] = [
    [{}, 0.99, 1e-7, 0],
    [{ decay: 0.9, eps: 1e-4, initialScale: 0.5 }, 0.9, 1e-4, 0.5],
  ];
  for (const [opts, decay, eps, h0] of cases) {
    const t = optim.scaleByRms(opts);
    let state = t.init({ w: f64([0, 0]) });
    const h = [h0, h0];
    for (const g of gs) {
      const [u, next] = t.update({ w: f64(g) }, state);
      const want = g.map((gi, i) => {
        h[i] = decay * h[i] + (1 - decay) * gi * gi;
        return gi / (Math.sqrt(h[i]) + eps);
      });
      assertClose(u.w, want, EXACT);
      state = next;
    }
  }
});

Deno.test("scaleByAdam: Optax's bias-corrected formula for three steps", () => {
  const gs = [[0.5, -2, 1e-3], [-1, 0.3, 2], [0.25, 0.25, -4]];
  const b1 = 0.8, b2 = 0.95, eps = 1e-6;
  const t = optim.scaleByAdam({ b1, b2, eps });
  let state = t.init({ w: f64([0, 0, 0]) });
  assert.equal(state.count.itemSync(), 0);
  const m = [0, 0, 0], v = [0, 0, 0];
  for (let step = 1; step <= 3; step++) {
    const g = gs[step - 1];
    const [u, next] = t.update({ w: f64(g) }, state);
    const want = g.map((gi, i) => {
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      const mHat = m[i] / (1 - b1 ** step);
      const vHat = v[i] / (1 - b2 ** step);
      return mHat / (Math.sqrt(vHat) + eps);
    });
    assertClose(u.w, want, EXACT);
    assert.equal(next.count.itemSync(), step);
    assertClose((next.mu as { w: Tensor }).w, m, EXACT);
    assertClose((next.nu as { w: Tensor }).w, v, EXACT);
    state = next;
  }
});

Deno.test("scaleByAdam: epsRoot goes inside the root", () => {
  const t = optim.scaleByAdam({ eps: 0, epsRoot: 1 });
  const [u] = t.update(f64([2]), t.init(f64([0])));
  assertClose(u, [2 / Math.sqrt(4 + 1)], EXACT);
});

Deno.test("adaptive transformations: option validation", () => {
  assert.throws(
    () => optim.scaleByAdam({ b1: 1 }),
    /^RangeError: optim\.scaleByAdam\(\): b1 must be in \[0, 1\), got 1$/,
  );
  assert.throws(() => optim.scaleByAdam({ b2: -0.1 }), /b2 must be in \[0, 1\), got -0\.1/);
  assert.throws(
    () => optim.scaleByAdam({ eps: -1 }),
    /^RangeError: optim\.scaleByAdam\(\): eps must be >= 0, got -1$/,
  );
  assert.throws(
    () => optim.scaleByRms({ decay: 1.5 }),
    /^RangeError: optim\.scaleByRms\(\): decay must be in \[0, 1\], got 1\.5$/,
  );
  assert.throws(
    () => optim.scaleByRss({ initialAccumulatorValue: -1 }),
    /initialAccumulatorValue must be >= 0/,
  );
  assert.throws(
    () => optim.trace({ decay: NaN }),
    /^RangeError: optim\.trace\(\): decay must be a finite number/,
  );
});

// ---------------------------------------------------------------- weight decay

Deno.test("addDecayedWeights: u + wd·params, with a mask tree or a mask function", () => {
  const params = { w: f64([10, -20]), b: f64([4]) };
  const grads = { w: f64([1, 1]), b: f64([1]) };
  const t = optim.addDecayedWeights(0.1);
  assert.deepEqual(t.init(params), {});
  const [u] = t.update(grads, t.init(params), params);
  assertClose(u.w, [2, -1], EXACT);
  assertClose(u.b, [1.4], EXACT);

  const masked = optim.addDecayedWeights(0.1, { mask: { w: true, b: false } });
  const [um] = masked.update(grads, masked.init(params), params);
  assertClose(um.w, [2, -1], EXACT);
  assert.equal(um.b, grads.b); // untouched leaf passed through

  const byRank = optim.addDecayedWeights<typeof params>(0.1, {
    mask: (p) => tree.map((x: Tensor) => x.ndim > 0 && x.shape[0] > 1, p),
  });
  const [uf] = byRank.update(grads, byRank.init(params), params);
  assertClose(uf.w, [2, -1], EXACT);
  assertClose(uf.b, [1], EXACT);
});

Deno.test("addDecayedWeights: clear errors for missing params and bad masks", () => {
  const params = { w: f64([1]), b: f64([1]) };
  const t = optim.addDecayedWeights(0.1);
  assert.throws(
    () => t.update(params, t.init(params)),
    /^TypeError: optim\.addDecayedWeights\(\): update\(\) needs params; call opt\.update\(grads, state, params\)$/,
  );
  assert.throws(
    () => t.update(params, t.init(params), { w: f64([1]) } as typeof params),
    /^Error: optim\.addDecayedWeights\(\): structure mismatch at params: expected keys \[b, w\], got \[w\]; params must have the structure of the grads$/,
  );
  const bad = optim.addDecayedWeights(0.1, { mask: { w: true } });
  assert.throws(
    () => bad.update(params, bad.init(params), params),
    /^Error: optim\.addDecayedWeights\(\): structure mismatch at mask: .*; the mask must have the structure of the params$/,
  );
  // deno-lint-ignore no-explicit-any -- deliberately wrong mask leaf
  const notBool = optim.addDecayedWeights(0.1, { mask: { w: true, b: 1 as any } });
  assert.throws(
    () => notBool.update(params, notBool.init(params), params),
    /^TypeError: optim\.addDecayedWeights\(\): mask leaves must be booleans, got number 1 at mask\.b$/,
  );
  assert.throws(() => optim.addDecayedWeights(-1), /weightDecay must be >= 0, got -1/);
});

// ---------------------------------------------------------------- clipping

Deno.test("globalNorm: over all leaves of the tree, as a tensor", () => {
  const g = { a: f64([3, 0]), b: [f64([[4]]), f64([12])] };
  const n = optim.globalNorm(g);
  assert.equal(n.ndim, 0);
  assert.equal(n.dtype, "float64");
  assertClose(n, [13], EXACT);
  // Mixed dtypes are summed in float64.
  const mixed = optim.globalNorm({ a: tensor([3]), b: f64([4]) });
  assert.equal(mixed.dtype, "float64");
  assertClose(mixed, [5], EXACT);
  assertClose(optim.globalNorm({}), [0]);
  assert.throws(
    () => optim.globalNorm({ a: 3 }),
    /^TypeError: optim\.globalNorm\(\): expected a pytree of tensors, got number 3 as leaf 0$/,
  );
});

Deno.test("clipByGlobalNorm: scales every leaf by maxNorm/‖g‖ over the whole tree; under the limit unchanged", () => {
  const g = { a: f64([3, 0]), b: [f64([[4]]), f64([12])] }; // ‖g‖ = 13
  const t = optim.clipByGlobalNorm(6.5);
  assert.deepEqual(t.init(g), {});
  const [u] = t.update(g, t.init(g));
  assertClose(u.a, [1.5, 0], EXACT);
  assertClose(u.b[0], [2], EXACT);
  assertClose(u.b[1], [6], EXACT);
  assertClose(optim.globalNorm(u), [6.5], EXACT);
  assert.equal(u.b[0].dtype, "float64");
  assert.deepEqual(u.b[0].shape, [1, 1]);

  for (const limit of [13, 100]) {
    const c = optim.clipByGlobalNorm(limit);
    const [same] = c.update(g, c.init(g));
    assert.deepEqual(vals(same.a), [3, 0]);
    assert.deepEqual(vals(same.b[0]), [4]);
    assert.deepEqual(vals(same.b[1]), [12]);
  }
  const zeros = { a: f64([0, 0]) };
  assert.deepEqual(vals(t.update(zeros, t.init(zeros))[0].a), [0, 0]);
  // float32 leaves stay float32 next to float64 ones.
  const mixed = { a: tensor([30]), b: f64([40]) };
  const [um] = optim.clipByGlobalNorm(5).update(mixed, {});
  assert.equal(um.a.dtype, "float32");
  assert.equal(um.b.dtype, "float64");
  assertClose(um.a, [3], { atol: 1e-6, rtol: 1e-6 });
  assertClose(um.b, [4], EXACT);
  assert.throws(
    () => optim.clipByGlobalNorm(0),
    /^RangeError: optim\.clipByGlobalNorm\(\): maxNorm must be > 0, got 0$/,
  );
});

Deno.test("clip: elementwise to ±maxDelta", () => {
  const t = optim.clip(0.5);
  const [u] = t.update({ w: f64([[-2, 0.3], [0.5, 7]]) }, t.init({}));
  assertClose(u.w, [-0.5, 0.3, 0.5, 0.5], EXACT);
  assert.deepEqual(u.w.shape, [2, 2]);
  assert.throws(
    () => optim.clip(-1),
    /^RangeError: optim\.clip\(\): maxDelta must be >= 0, got -1$/,
  );
});

// ---------------------------------------------------------------- shared behaviour

/** One of each transformation, all chained, with a state for every kind. */
function everything(): optim.GradientTransformation<unknown[]> {
  return optim.chain(
    optim.clipByGlobalNorm(10),
    optim.clip(5),
    optim.trace({ decay: 0.9, nesterov: true }),
    optim.scaleByRss({ initialAccumulatorValue: 0.1 }),
    optim.scaleByRms(),
    optim.scaleByAdam(),
    optim.addDecayedWeights(0.01),
    optim.scale(2),
    optim.scaleByLearningRate(
      optim.exponentialDecay({ init: 0.1, decayRate: 0.5, transitionSteps: 2 }),
    ),
  );
}

function nestedParams(dtype: "float32" | "float64"): unknown {
  return {
    layers: [
      { w: tensor([[0.5, -1], [2, 0.25]], { dtype }), b: tensor([0.1, -0.1], { dtype }) },
      { w: tensor([[1], [-1]], { dtype }), b: tensor([0], { dtype }) },
    ],
    scale: tensor(1.5, { dtype }),
    frozen: null,
  };
}

function nestedGrads(dtype: "float32" | "float64"): unknown {
  return {
    layers: [
      { w: tensor([[0.3, 2], [-1, 0]], { dtype }), b: tensor([-0.5, 0.5], { dtype }) },
      { w: tensor([[4], [0.01]], { dtype }), b: tensor([-2], { dtype }) },
    ],
    scale: tensor(-0.7, { dtype }),
    frozen: null,
  };
}

Deno.test("pytree params (nested objects and arrays) keep their structure, shapes and dtypes", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const opt = everything();
    const params = nestedParams(dtype);
    let state = opt.init(params);
    let p = params;
    for (let k = 0; k < 3; k++) {
      const [u, next] = opt.update(nestedGrads(dtype), state, p);
      assert.ok(tree.structure(u).equals(tree.structure(params)), tree.structure(u).toString());
      tree.map(
        (x: Tensor, ref: Tensor) => {
          assert.equal(x.dtype, dtype);
          assert.deepEqual(x.shape, ref.shape);
        },
        u,
        params,
      );
      p = optim.applyUpdates(p, u);
      assert.ok(tree.structure(next).equals(tree.structure(state)));
      state = next;
    }
    // Moment trees mirror the params; counts are int32 scalar tensors.
    const adamState = state[5] as optim.ScaleByAdamState;
    assert.equal(adamState.count.itemSync(), 3);
    assert.ok(tree.structure(adamState.mu).equals(tree.structure(params)));
    for (const leaf of tree.leaves(state)) {
      const t = leaf as Tensor;
      assert.ok(t.dtype === dtype || (t.dtype === "int32" && t.ndim === 0), `${t.dtype}`);
    }
  }
});

Deno.test("update never mutates grads, state or params", () => {
  const opt = everything();
  const params = nestedParams("float64");
  const grads = nestedGrads("float64");
  const [, state1] = opt.update(grads, opt.init(params), params);
  const before = [snapshot(grads), snapshot(state1), snapshot(params)];
  const refs = [tree.leaves(grads), tree.leaves(state1), tree.leaves(params)];
  const json = JSON.stringify([tree.structure(grads), tree.structure(state1)].map(String));
  const [u, state2] = opt.update(grads, state1, params);
  assert.notEqual(state2, state1);
  assert.deepEqual([snapshot(grads), snapshot(state1), snapshot(params)], before);
  assert.deepEqual([tree.leaves(grads), tree.leaves(state1), tree.leaves(params)], refs);
  assert.equal(JSON.stringify([tree.structure(grads), tree.structure(state1)].map(String)), json);
  // A second update from the same state gives the same result (pure).
  const [u2] = opt.update(grads, state1, params);
  assert.deepEqual(snapshot(u2), snapshot(u));
});

Deno.test("init rejects non-tensor leaves; grads/state mismatches name the key path", () => {
  assert.throws(
    () => optim.adam(0.1).init({ layers: [{ w: f64([1]) }, { w: 3 }] }),
    /^TypeError: optim\.scaleByAdam\(\): init\(\) expects a pytree of tensors, got number 3 at params\.layers\[1\]\.w$/,
  );
  const opt = optim.momentum(0.1);
  const state = opt.init({ layers: [{ w: f64([1]), b: f64([1]) }] });
  assert.throws(
    () => opt.update({ layers: [{ w: f64([1]) }] }, state),
    /^Error: optim\.trace\(\): structure mismatch at grads\.layers\[0\]: expected keys \[b, w\], got \[w\]; grads must have the structure of the params given to init\(\)$/,
  );
  const adam = optim.adam(0.1);
  assert.throws(
    () => adam.update({ w: [f64([1])] }, adam.init({ w: [f64([1]), f64([2])] })),
    /^Error: optim\.scaleByAdam\(\): structure mismatch at grads\.w: expected an array of 2, got an array of 1/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any -- a state from another optimizer
    () => adam.update({ w: f64([1]) }, optim.sgd(0.1).init({ w: f64([1]) }) as any),
    /^TypeError: optim\.chain\(\): expected a state of 2 inner states/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any -- a state from another transformation
    () => optim.scaleByAdam().update({ w: f64([1]) }, { trace: {} } as any),
    /^TypeError: optim\.scaleByAdam\(\): expected a state with keys \[count, mu, nu\], got an object with keys \[trace\]/,
  );
});

Deno.test("states are pytrees of tensors (checkpointable)", () => {
  const opt = optim.adamw(optim.cosineDecaySchedule({ init: 0.1, decaySteps: 10 }));
  const params = { w: f64([1, 2]) };
  const [, state] = opt.update({ w: f64([1, 1]) }, opt.init(params), params);
  const [pairs] = tree.flattenWithPath(state, "state");
  assert.deepEqual(pairs.map(([path]) => path), [
    "state[0].count",
    "state[0].mu.w",
    "state[0].nu.w",
    "state[2].count",
  ]);
  assert.equal((pairs[0][1] as Tensor).itemSync(), 1);
  assert.equal((pairs[3][1] as Tensor).itemSync(), 1);
  // A state rebuilt from its leaves works the same.
  const [leaves, def] = tree.flatten(state);
  const rebuilt = tree.unflatten<typeof state>(def, leaves);
  const g = { w: f64([0.5, -0.5]) };
  assert.deepEqual(
    snapshot(opt.update(g, rebuilt, params)[0]),
    snapshot(opt.update(g, state, params)[0]),
  );
});

Deno.test("a state saved with a number count (older checkpoints) still updates, and its count becomes a tensor", () => {
  const opt = optim.adam(0.1);
  const params = { w: f64([1, -2]) };
  const g = { w: f64([0.5, 0.25]) };
  let state = opt.init(params);
  for (let k = 0; k < 2; k++) state = opt.update(g, state, params)[1];
  const legacy = [
    { ...state[0], count: 2 },
    { count: 2 },
  ] as unknown as typeof state;
  const [u, next] = opt.update(g, legacy, params);
  const [want, wantNext] = opt.update(g, state, params);
  assert.deepEqual([...u.w.dataSync()], [...want.w.dataSync()]);
  assert.equal(next[0].count.itemSync(), 3);
  assert.equal(next[1].count.itemSync(), wantNext[1].count.itemSync());
  assert.throws(
    () => opt.update(g, [{ ...state[0], count: 1.5 }, state[1]] as unknown as typeof state),
    /^TypeError: optim\.scaleByAdam\(\): state\.count must be an int32 scalar tensor \(or a non-negative integer\), got number 1\.5/,
  );
});
