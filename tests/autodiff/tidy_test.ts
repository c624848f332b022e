/**
 * tidy: frees what the function made except what it returns, never the
 * tensors that existed before, and stays out of the way inside
 * transformations.
 */

import assert from "node:assert/strict";
import {
  add,
  exp,
  grad,
  mul,
  ones,
  optim,
  sub,
  sum,
  type Tensor,
  tensor,
  tidy,
  tree,
  valueAndGrad,
} from "../../mod.ts";
import { assertClose } from "../_helpers.ts";
import { collectMade } from "../../src/core/tensor.ts";

Deno.test("tidy frees temporaries, keeps the returned pytree and the inputs", () => {
  const x = tensor([1, 2, 3]);
  let temp: Tensor | null = null;
  const out = tidy(() => {
    temp = mul(x, 2);
    return { a: add(temp, 1), b: [exp(x)], n: 3 };
  });
  assert.throws(() => temp!.dataSync(), /disposed/);
  assertClose(out.a, [3, 5, 7]);
  assertClose(out.b[0], [Math.E, Math.E ** 2, Math.E ** 3], { rtol: 1e-6 });
  assert.equal(out.n, 3);
  assertClose(x, [1, 2, 3]);
  // returning an input keeps it, and nested tidies free only their own
  const same = tidy(() => {
    const inner = tidy(() => add(x, 1));
    return tidy(() => x) === x ? inner : null;
  });
  assertClose(same!, [2, 3, 4]);
});

Deno.test("an outer tidy frees what an inner tidy kept, unless the outer returns it", () => {
  const x = tensor([1, 2, 3]);
  let kept: Tensor | null = null;
  const out = tidy(() => {
    kept = tidy(() => mul(add(x, 1), 2)); // the inner tidy keeps its result…
    return exp(kept);
  });
  assert.throws(() => kept!.dataSync(), /disposed/); // …the outer one did not return it
  assertClose(out, [Math.exp(4), Math.exp(6), Math.exp(8)], { rtol: 1e-6 });
  const both = tidy(() => {
    const inner = tidy(() => add(x, 1));
    return { inner };
  });
  assertClose(both.inner, [2, 3, 4]);
});

Deno.test("optim.chain frees the updates passed between its links", () => {
  const params = { w: tensor([1, 2]) }, grads = { w: tensor([0.5, -1]) };
  const opt = optim.adam(0.1);
  const initial = opt.init(params);
  const made: Tensor[] = [];
  const [updates, state] = collectMade(made, () => opt.update(grads, initial, params));
  const returned = new Set(tree.leaves([updates, state]));
  const alive = made.filter((t) => !t._disposed);
  assert.ok(
    alive.length > 0 && alive.every((t) => returned.has(t)),
    "only what update returns lives",
  );
  assert.ok(made.length > alive.length, "temporaries were made and freed");
  assertClose(updates.w, [-0.1, 0.1], { rtol: 1e-5 }); // Adam's first step: −lr·sign(g)
});

Deno.test("tidy around a training step's update; grad inside and around it", () => {
  const params = { w: tensor([1, 2]), b: tensor(0.5) };
  const loss = (p: typeof params) => sum(mul(add(p.w, p.b), p.w));
  const [value, g] = tidy(() => valueAndGrad(loss)(params));
  assertClose(value, 1.5 + 5); // (1.5)·1 + (2.5)·2
  assertClose(g.w, [2 * 1 + 0.5, 2 * 2 + 0.5]); // d/dw (w+b)·w = 2w + b
  const next = tidy(() => tree.map((p: Tensor, d: Tensor) => sub(p, mul(d, 0.1)), params, g));
  assertClose(next.w, [0.75, 1.55]);
  // inside a transformation tidy only runs fn: the tape keeps its values
  const d = grad((w: Tensor) => tidy(() => sum(exp(mul(w, w)))))(tensor([0.5, 1]));
  assertClose(d, [2 * 0.5 * Math.exp(0.25), 2 * Math.exp(1)], { rtol: 1e-6 });
});

Deno.test("tidy refuses an async function", () => {
  assert.throws(
    () => tidy(() => Promise.resolve(ones([1]))),
    /^TypeError: tidy\(\): fn returned a promise; tidy needs a synchronous function/,
  );
});
