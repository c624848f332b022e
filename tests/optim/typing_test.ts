/**
 * Typing of optimizers, checked by `deno check` (this file is part of the
 * type-checked test suite): the book's chapter-6 comparison loops over a
 * record of different optimizers as written, without casts, while a single
 * optimizer keeps its typed state. At run time, the loop's SGD and Momentum
 * paths follow the book's update formulas written out in plain JS.
 */

import assert from "node:assert/strict";
import { fit, grad, optim, random, type Tensor, tensor, zeros } from "../../mod.ts";
import { assertClose } from "../_helpers.ts";

type XY = { x: Tensor; y: Tensor };
const f64 = { dtype: "float64" } as const;
/** The book's f(x, y) = x²/20 + y². */
const f = (p: XY): Tensor => p.x.square().div(20).add(p.y.square());

Deno.test("the book's chapter-6 loop over {SGD, Momentum, AdaGrad, Adam} type-checks and runs", () => {
  // Exactly the book's loop: no annotation on the record, no casts.
  const optimizers = {
    SGD: optim.sgd(0.95),
    Momentum: optim.momentum(0.1),
    AdaGrad: optim.adagrad(1.5),
    Adam: optim.adam(0.3),
  };
  const final: Record<string, [number, number]> = {};
  for (const [name, optimizer] of Object.entries(optimizers)) {
    let params: XY = { x: tensor(-7, f64), y: tensor(2, f64) };
    let state = optimizer.init(params);
    for (let i = 0; i < 30; i++) {
      const grads = grad(f)(params);
      const [updates, next] = optimizer.update(grads, state, params);
      params = optim.applyUpdates(params, updates);
      state = next;
    }
    final[name] = [params.x.itemSync(), params.y.itemSync()];
  }
  // The book's SGD (W -= lr·g) and Momentum (v = 0.9·v − lr·g; W += v), in plain JS.
  let [x, y] = [-7, 2];
  for (let i = 0; i < 30; i++) [x, y] = [x - 0.95 * x / 10, y - 0.95 * 2 * y];
  assertClose(final.SGD, [x, y], { atol: 1e-12, rtol: 1e-12 });
  let [mx, my, vx, vy] = [-7, 2, 0, 0];
  for (let i = 0; i < 30; i++) {
    [vx, vy] = [0.9 * vx - 0.1 * mx / 10, 0.9 * vy - 0.1 * 2 * my];
    [mx, my] = [mx + vx, my + vy];
  }
  assertClose(final.Momentum, [mx, my], { atol: 1e-12, rtol: 1e-12 });
  // Every optimizer got far below f(−7, 2) = 6.45.
  for (const [name, [fx, fy]] of Object.entries(final)) {
    assert.ok(fx * fx / 20 + fy * fy < 0.2, `${name}: ended at (${fx}, ${fy})`);
  }
});

Deno.test("a single optimizer keeps its typed state; a union of them works with fit", async () => {
  const adam = optim.adam(0.1);
  const params = { w: tensor([1, 2]) };
  const state = adam.init(params);
  // Typed: the Adam state's fields are reachable without casts.
  const count: number = state[0].count.itemSync();
  const mu: Tensor = (state[0].mu as { w: Tensor }).w;
  const [, next] = adam.update({ w: tensor([0.5, -1]) }, state, params);
  const nextCount: number = next[0].count.itemSync();
  assert.equal(count, 0);
  assert.equal(nextCount, 1);
  assert.deepEqual(mu.shape, [2]);
  // @ts-expect-error: a state must be an optimizer state, not a number.
  assert.throws(() => adam.update({ w: tensor([1, 1]) }, 3, params), TypeError);
  // The wrong optimizer's state type-checks (it is an OptState) but fails at run time.
  assert.throws(
    () => adam.update({ w: tensor([1, 1]) }, optim.sgd(0.1).init(params), params),
    /expected a state of 2 inner states/,
  );

  // A record's entries passed to fit: S is inferred as the union of the states.
  const choices = { SGD: optim.sgd(0.1), Adam: optim.adam(0.1) };
  for (const optimizer of Object.values(choices)) {
    const result = await fit({
      params: { w: tensor([3]) },
      optimizer,
      loss: (p: { w: Tensor }) => p.w.square().sum(),
      data: { x: zeros([4, 1]) },
      epochs: 2,
      batchSize: 2,
      key: random.key(0),
      quiet: true,
    });
    assert.ok(Math.abs(result.params.w.itemSync()) < 3);
    assert.equal(result.history.steps.length, 4);
  }
});
