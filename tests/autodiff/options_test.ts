/**
 * The transformations' options are checked: JAX's positional forms
 * (`grad(f, 1)`, `vmap(f, 1)`) and snake_case names (`has_aux`, `in_axes`,
 * `static_argnums`) throw a `TypeError` naming the transformation and the
 * form it takes; ignored, `grad(f, { argnum: 1 })` would differentiate with
 * respect to the first argument and `vmap(f, { in_axes: 1 })` would map the
 * first axis. So do the data helpers' (`batches`, `trainValidSplit`, the
 * dataset loaders).
 */

import assert from "node:assert/strict";
import {
  batches,
  checkGrads,
  checkpoint,
  data,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  makeJaxpr,
  numericalGradient,
  random,
  type Tensor,
  tensor,
  trainValidSplit,
  valueAndGrad,
  vmap,
  zeros,
} from "../../mod.ts";

// deno-lint-ignore no-explicit-any
const loose = (v: unknown): any => v; // what a JavaScript caller can pass

const f = (a: Tensor, b: Tensor): Tensor => a.mul(b).sum();
const a = tensor([2]), b = tensor([5]);

Deno.test("transformations: a positional value or an unknown key where the options go throws", () => {
  const cases: [() => unknown, RegExp][] = [
    [
      () => grad(f, loose(1)),
      /^grad\(\): expected an options object such as \{ argnums: 1.*got number 1/,
    ],
    [
      () => grad(f, loose({ argnum: 1 })),
      /^grad\(\): unknown option "argnum" \(did you mean "argnums"\?\)/,
    ],
    [() => valueAndGrad(f, loose({ has_aux: true })), /did you mean "hasAux"/],
    [() => vmap(f, loose(1)), /^vmap\(\): .*got number 1/],
    [
      () => vmap(f, loose({ in_axes: 1 })),
      /^vmap\(\): unknown option "in_axes" \(did you mean "inAxes"\?\)/,
    ],
    [() => jit(f, loose([0])), /^jit\(\): .*got an array of length 1/],
    [() => jit(f, loose({ static_argnums: [1] })), /did you mean "staticArgnums"/],
    [() => makeJaxpr(f, loose({ optimize: true })), /^makeJaxpr\(\): .*did you mean "optimized"/],
    [() => jacrev(f, loose(1)), /^jacrev\(\): /],
    [() => jacfwd(f, loose({ argnum: 1 })), /^jacfwd\(\): .*"argnums"/],
    [() => hessian(f, loose(1)), /^hessian\(\): /],
    [
      () => checkpoint(f, loose({ prevent_cse: true })),
      /^checkpoint\(\): unknown option "prevent_cse"/,
    ],
    [() => numericalGradient((x: Tensor) => x.sum(), a, loose(1e-4)), /^numericalGradient\(\): /],
    [() => checkGrads(f, [a, b], loose(2)), /^checkGrads\(\): .*got number 2/],
  ];
  for (const [fn, re] of cases) {
    assert.throws(fn, (e: unknown) => e instanceof TypeError && re.test((e as Error).message));
  }
  // Valid options mean what they did.
  assert.deepEqual(grad(f, { argnums: 1 })(a, b).arraySync(), [2]);
  assert.deepEqual(vmap((x: Tensor) => x.sum(), { inAxes: 1 })(zeros([2, 3])).shape, [3]);
  assert.deepEqual(jit(f, {})(a, b).arraySync(), 10);
});

Deno.test("data helpers and loaders: a positional value or an unknown key throws", async () => {
  const ds = { x: zeros([4, 2]), y: zeros([4]) };
  assert.throws(() => batches(ds, loose(2)), /^TypeError: batches\(\): .*got number 2/);
  assert.throws(
    () => batches(ds, loose({ batchSize: 2, shufle: true })),
    /^TypeError: batches\(\): unknown option "shufle" \(did you mean "shuffle"\?\)/,
  );
  assert.throws(
    () => trainValidSplit(ds, loose({ validFraction: 0.5, seed: 1 })),
    /^TypeError: trainValidSplit\(\): unknown option "seed"/,
  );
  await assert.rejects(
    data.mnist(loose({ compacted: true, download: false })),
    /^TypeError: mnist\(\): unknown option "compacted" \(did you mean "compact"\?\)/,
  );
  await assert.rejects(data.cifar10(loose("compact")), /^TypeError: cifar10\(\): .*got string/);
  assert.equal([...batches(ds, { batchSize: 2, key: random.key(0) })].length, 2);
});
