/**
 * `customVjp` and `customJvp`: the user's rules are what `grad`, `jvp`,
 * `jit` and `vmap(grad(…))` use (a gradient-clipping op and a
 * straight-through estimator, the examples); a rule that is the
 * true derivative gives the plain function's derivatives to second order
 * and passes `checkGrads` against central differences; the errors name
 * the argument path and the fix.
 */

import assert from "node:assert/strict";
import {
  add,
  cast,
  checkGrads,
  checkpoint,
  clip,
  cos,
  customJvp,
  customVjp,
  grad,
  greater,
  hessian,
  jit,
  jvp,
  lax,
  makeJaxpr,
  mul,
  round,
  sin,
  sum,
  type Tensor,
  tensor,
  vjp,
  vmap,
} from "../../mod.ts";
import { assertClose } from "../_helpers.ts";

const f64 = (v: number | number[]) => tensor(v, { dtype: "float64" });

const clipGrad = customVjp((x: Tensor) => x, {
  fwd: (x: Tensor) => [x, null],
  bwd: (_res: null, g: Tensor) => [clip(g, -1, 1)],
});

Deno.test("customVjp: a gradient-clipping op under grad, jit, vmap(grad); the value is f's", () => {
  const loss = (x: Tensor) => sum(clipGrad(x).mul(tensor([3, 0.5, -2])));
  const x = tensor([1, 2, 3]);
  for (const g of [grad(loss), jit(grad(loss)), grad(jit(loss))]) {
    assert.deepEqual(g(x).arraySync(), [1, 0.5, -1]);
  }
  const xs = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(vmap(grad(loss))(xs).arraySync(), [[1, 0.5, -1], [1, 0.5, -1]]);
  assert.deepEqual(clipGrad(x).arraySync(), [1, 2, 3]);
  // fwd returned the argument itself: grad must not have freed the caller's tensor.
  assert.deepEqual(grad(loss)(x).arraySync(), [1, 0.5, -1]);
  assert.deepEqual(x.arraySync(), [1, 2, 3]);
});

Deno.test("customVjp: pytree arguments and residuals, a null cotangent for an argument", () => {
  const f = customVjp(
    (p: { a: Tensor; b: Tensor }, scale: Tensor) => p.a.mul(p.b).mul(scale),
    {
      fwd: (p: { a: Tensor; b: Tensor }, scale: Tensor) => [p.a.mul(p.b).mul(scale), { p, scale }],
      // The true derivative for a and b, and none for scale (a constant here).
      bwd: (r: { p: { a: Tensor; b: Tensor }; scale: Tensor }, g: Tensor) => [
        { a: g.mul(r.p.b).mul(r.scale), b: g.mul(r.p.a).mul(r.scale) },
        null,
      ],
    },
  );
  const p = { a: tensor([1, 2], { dtype: "float64" }), b: tensor([3, -1], { dtype: "float64" }) };
  const s = tensor(2, { dtype: "float64" });
  const g = grad((q: typeof p, t: Tensor) => sum(f(q, t)), { argnums: [0, 1] })(p, s);
  assert.deepEqual(g[0].a.arraySync(), [6, -2]);
  assert.deepEqual(g[0].b.arraySync(), [2, 4]);
  assert.deepEqual(g[1].arraySync(), 0);
});

Deno.test("customVjp with several outputs: bwd runs once, on the whole cotangent (a global-norm clip)", () => {
  let calls = 0;
  // The cotangent scaled to unit length across both outputs: not linear in it, so calling bwd
  // once per output (the others zeroed) and summing gives [1] [1] instead of [0.6] [0.8].
  const pair = customVjp((x: Tensor, y: Tensor) => ({ a: x.mul(1), b: y.mul(1) }), {
    fwd: (x: Tensor, y: Tensor) => [{ a: x.mul(1), b: y.mul(1) }, null],
    bwd: (_r: null, ct: { a: Tensor; b: Tensor }) => {
      calls++;
      const n = ct.a.square().sum().add(ct.b.square().sum()).sqrt();
      return [ct.a.div(n), ct.b.div(n)];
    },
  });
  const [, pb] = vjp(pair, tensor([1]), tensor([1]));
  const [dx, dy] = pb({ a: tensor([3]), b: tensor([4]) });
  assertClose(dx, [0.6], { atol: 1e-7 });
  assertClose(dy, [0.8], { atol: 1e-7 });
  assert.equal(calls, 1);
  const loss = (x: Tensor, y: Tensor) => {
    const o = pair(x, y);
    return sum(o.a.mul(3).add(o.b.mul(4)));
  };
  for (const g of [grad(loss, { argnums: [0, 1] }), jit(grad(loss, { argnums: [0, 1] }))]) {
    calls = 0;
    const [gx, gy] = g(tensor([1]), tensor([1]));
    assertClose(gx, [0.6], { atol: 1e-7 });
    assertClose(gy, [0.8], { atol: 1e-7 });
    assert.equal(calls, 1);
  }
  // Only one output reached: bwd gets zeros for the other.
  const onlyA = grad((x: Tensor, y: Tensor) => sum(pair(x, y).a.mul(-2)), { argnums: [0, 1] });
  const [ax, ay] = onlyA(tensor([1]), tensor([1]));
  assert.deepEqual([ax.arraySync(), ay.arraySync()], [[-1], [0]]);
  // In a lax.scan body the rule's derivative is the same.
  const inScan = (x: Tensor) =>
    sum(
      lax.scan(
        (c: Tensor) => {
          const o = pair(c, c);
          return [c, sum(o.a.mul(3).add(o.b.mul(4)))];
        },
        x,
        null,
        { length: 1 },
      )[1],
    );
  assertClose(grad(inScan)(tensor([1])), [1.4], { atol: 1e-6 });
});

Deno.test("customJvp with several outputs (one of them int32): reverse mode transposes the rule once", () => {
  let calls = 0;
  const fwd = (x: Tensor): Tensor[] => [sin(x), x.mul(x), cast(round(x), "int32")];
  const f = customJvp(fwd, ([x]: Tensor[], [t]: Tensor[]): [Tensor[], Tensor[]] => {
    calls++;
    return [fwd(x), [t.mul(cos(x)), t.mul(x).mul(2), cast(round(x), "int32").mul(0)]];
  });
  const x = f64([0.5, -1.25]);
  const loss = (y: Tensor) => {
    const [s, q] = f(y);
    return sum(s.mul(3).add(q));
  };
  calls = 0;
  const g = grad(loss)(x);
  // d/dx (3 sin x + x²) = 3 cos x + 2x.
  assertClose(g, [3 * Math.cos(0.5) + 1, 3 * Math.cos(-1.25) - 2.5], { atol: 1e-12 });
  // Traced once by the transpose (it was once per float output).
  assert.equal(calls, 1);
});

Deno.test("customJvp: a straight-through estimator rounds forward and passes gradients through", () => {
  const ste = customJvp((x: Tensor) => round(x), ([x]: Tensor[], [t]: Tensor[]) => [round(x), t]);
  const x = tensor([0.3, 1.7, -2.2]);
  assert.deepEqual(ste(x).arraySync(), [0, 2, -2]);
  assert.deepEqual(grad((y: Tensor) => sum(ste(y).mul(2)))(x).arraySync(), [2, 2, 2]);
  assert.deepEqual(jit(grad((y: Tensor) => sum(ste(y).mul(2))))(x).arraySync(), [2, 2, 2]);
  const [y, t] = jvp(ste, [x], [tensor([1, 5, -1])]);
  assert.deepEqual([y.arraySync(), t.arraySync()], [[0, 2, -2], [1, 5, -1]]);
  // round itself has a zero derivative:
  assert.deepEqual(grad((y: Tensor) => sum(round(y)))(x).arraySync(), [0, 0, 0]);
});

Deno.test("customJvp with the true derivative: grad, second order and jvp equal the plain function's", () => {
  // log(1 + eˣ) with the stable derivative sigmoid(x), written as the rule.
  const softplus = (x: Tensor) => x.exp().add(1).log();
  const sig = (x: Tensor) => tensor(1, { dtype: x.dtype }).div(x.neg().exp().add(1));
  const custom = customJvp(
    softplus,
    ([x]: Tensor[], [t]: Tensor[]) => [softplus(x), t.mul(sig(x))],
  );
  const x = tensor([-1.5, 0.25, 2], { dtype: "float64" });
  const g1 = grad((y: Tensor) => sum(custom(y)))(x), g0 = grad((y: Tensor) => sum(softplus(y)))(x);
  g0.dataSync().forEach((v, i) => assert.ok(Math.abs(g1.dataSync()[i] - v) < 1e-15));
  const h = (f: (y: Tensor) => Tensor) =>
    grad((y: Tensor) => sum(grad((z: Tensor) => sum(f(z)))(y)))(x);
  const h1 = h(custom), h0 = h(softplus);
  h0.dataSync().forEach((v, i) => assert.ok(Math.abs(h1.dataSync()[i] - v) < 1e-14));
  // Against central differences, both modes, second order.
  checkGrads((y: Tensor) => sum(custom(y).square()), [x], { order: 2 });
});

Deno.test("custom rules: errors name the argument path and the fix", () => {
  const mul2 = customVjp((x: Tensor, y: Tensor) => x.mul(y), {
    fwd: (x: Tensor, y: Tensor) => [x.mul(y), [x, y]],
    bwd: (r: Tensor[], g: Tensor) => [g.mul(r[1])],
  });
  assert.throws(
    () => grad(mul2)(tensor(2), tensor(3)),
    /customVjp\(\): bwd must return an array with one cotangent per argument \(2\)/,
  );
  const badShape = customVjp((x: Tensor) => x, {
    fwd: (x: Tensor) => [x, null],
    bwd: (_r: null, g: Tensor) => [sum(g)],
  });
  assert.throws(
    () => grad((x: Tensor) => sum(badShape(x)))(tensor([1, 2])),
    /customVjp\(\): bwd output\[0\] has shape \[\] and dtype float32, but it must match its primal: shape \[2\], float32/,
  );
  const badTree = customVjp((p: { w: Tensor }) => p.w, {
    fwd: (p: { w: Tensor }) => [p.w, null],
    bwd: (_r: null, g: Tensor) => [{ v: g }],
  });
  assert.throws(
    () => grad((p: { w: Tensor }) => sum(badTree(p)))({ w: tensor([1]) }),
    /bwd output\[0\] must have the structure of argument 0 \(leaves bwd output\[0\]\.w\), got leaves bwd output\[0\]\.v/,
  );
  assert.throws(
    () => jvp((x: Tensor) => clipGrad(x), [tensor([1])], [tensor([1])]),
    /jvp \(forward mode\) of a function with a custom vjp is not defined; give it a forward rule with customJvp/,
  );
  // A jvp rule returning only the tangent (not [out, tangentOut]), in both modes.
  const onlyTangent = customJvp(
    (x: Tensor) => x.mul(2),
    ((_p: Tensor[], [t]: Tensor[]) => t.mul(2)) as unknown as (
      p: Tensor[],
      t: Tensor[],
    ) => [Tensor, Tensor],
  );
  for (
    const run of [
      () => jvp(onlyTangent, [tensor([1])], [tensor([1])]),
      () => grad((x: Tensor) => sum(onlyTangent(x)))(tensor([1])),
    ]
  ) {
    assert.throws(
      run,
      /^TypeError: customJvp\(\): the rule must return \[out, tangentOut\] \(the output and its tangent\), got a Tensor/,
    );
  }
});

Deno.test("custom rules under vmap over grad: the rule batched, shared arguments' cotangents summed", () => {
  const w = tensor([[3, -0.5, 2], [0.25, 4, -3]]);
  const viaVmap = grad((x: Tensor) => sum(vmap(clipGrad)(x).mul(w)))(
    tensor([[1, 2, 3], [4, 5, 6]]),
  );
  assert.deepEqual(viaVmap.arraySync(), [[1, -0.5, 1], [0.25, 1, -1]]);
  // y shared by the examples: its cotangent is the sum over them.
  const mul = customVjp((x: Tensor, y: Tensor) => x.mul(y), {
    fwd: (x: Tensor, y: Tensor) => [x.mul(y), [x, y]],
    bwd: (r: Tensor[], g: Tensor) => [g.mul(r[1]), g.mul(r[0]).mul(10)], // y's scaled: the rule, not f
  });
  const xs = tensor([[1, 2], [3, 4], [5, 6]]), y = tensor([1, 1]);
  const [gx, gy] = grad(
    (a: Tensor, b: Tensor) => sum(vmap(mul, { inAxes: [0, null] })(a, b)),
    { argnums: [0, 1] },
  )(xs, y);
  assert.deepEqual(gx.arraySync(), [[1, 1], [1, 1], [1, 1]]);
  assert.deepEqual(gy.arraySync(), [90, 120]);
  const ste = customJvp((x: Tensor) => round(x), ([x]: Tensor[], [t]: Tensor[]) => [round(x), t]);
  assert.deepEqual(
    grad((x: Tensor) => sum(vmap(ste)(x).mul(2)))(tensor([[0.3, 1.7], [2.2, -0.6]])).arraySync(),
    [[2, 2], [2, 2]],
  );
  assert.deepEqual(
    jvp((x: Tensor) => vmap(ste)(x), [tensor([[0.3], [1.7]])], [tensor([[5], [7]])])[1].arraySync(),
    [[5], [7]],
  );
});

Deno.test("custom rules inside lax.scan, cond, switch and checkpoint bodies: the rule, not f's derivative", () => {
  // The rules give 2× the true derivative, so using f's own derivative would show.
  const f = customJvp(
    (x: Tensor, w: Tensor) => sin(mul(x, w)),
    ([x, w]: Tensor[], [tx, tw]: Tensor[]) => [
      sin(mul(x, w)),
      mul(mul(cos(mul(x, w)), add(mul(tx, w), mul(tw, x))), 2),
    ],
  );
  const x0 = 0.3, w0 = 1.7;
  const ruled = (x: number, w: number) => 2 * Math.cos(x * w) * x; // d/dw by the rule
  const step = (w: Tensor) => (c: Tensor, _x: null): [Tensor, null] => [f(c, w), null];
  // w is closed over by the body and passed to f as an argument.
  const loss = (w: Tensor) => lax.scan(step(w), f64(x0), null, { length: 1 })[0];
  const want = ruled(x0, w0);
  for (const d of [grad(loss), jit(grad(loss))]) {
    assertClose(d(f64(w0)), want, { atol: 0, rtol: 1e-12 });
  }
  assertClose(jvp(loss, [f64(w0)], [f64(1)])[1], want, { atol: 0, rtol: 1e-12 });
  // -2 sin(xw) x²: the rule's own output differentiated again.
  assertClose(hessian(loss)(f64(w0)), -2 * Math.sin(x0 * w0) * x0 * x0, { atol: 0, rtol: 1e-12 });
  assertClose(
    vmap(grad(loss))(f64([w0, 0.4])),
    [want, ruled(x0, 0.4)],
    { atol: 0, rtol: 1e-12 },
  );
  // Two steps: the chain rule through the rule.
  const y1 = Math.sin(x0 * w0);
  const two = (reverse: boolean) => (w: Tensor) =>
    lax.scan(step(w), f64(x0), null, { length: 2, reverse })[0];
  const want2 = 2 * Math.cos(y1 * w0) * (w0 * want + y1);
  assertClose(grad(two(false))(f64(w0)), want2, { atol: 0, rtol: 1e-12 });
  assertClose(grad(two(true))(f64(w0)), want2, { atol: 0, rtol: 1e-12 });
  // customVjp in cond, switch and checkpoint bodies.
  const body = (v: Tensor) => mul(clipGrad(v), 5);
  const x = tensor(2);
  assert.equal(
    grad((v: Tensor) => lax.cond(greater(v, 0), body, (u: Tensor) => u, v))(x).itemSync(),
    1,
  );
  assert.equal(
    grad((v: Tensor) => lax.switch(tensor(0, { dtype: "int32" }), [body], v))(x).itemSync(),
    1,
  );
  assert.equal(grad(checkpoint(body))(x).itemSync(), 1);
  assert.equal(jit(grad(checkpoint(body)))(x).itemSync(), 1);
  // The body's value is f's, and the program shows one call node.
  assert.equal(loss(f64(w0)).itemSync(), Math.sin(x0 * w0));
  assert.match(makeJaxpr(loss)(f64(w0)).toString(), /= custom_call\[rule=customJvp/);
  // jvp of a customVjp stays an error inside a body, as outside.
  assert.throws(
    () => jvp((v: Tensor) => lax.cond(greater(v, 0), body, (u: Tensor) => u, v), [x], [tensor(1)]),
    /customVjp\(\): jvp \(forward mode\) of a function with a custom vjp is not defined/,
  );
});

Deno.test("custom rules in a body, closing over a value the body made: runs; differentiating it is an error", () => {
  const run = (w: Tensor) =>
    lax.scan(
      (c: Tensor, _x: null): [Tensor, null] => {
        const times = customVjp((v: Tensor) => mul(v, c), {
          fwd: (v: Tensor) => [mul(v, c), null],
          bwd: (_r: null, ct: Tensor) => [ct],
        });
        return [times(add(w, c)), null];
      },
      tensor(2),
      null,
      { length: 1 },
    )[0];
  assert.equal(run(tensor(3)).itemSync(), 10);
  assert.deepEqual(vmap(run)(tensor([3, 4])).arraySync(), [10, 12]);
  const message =
    /customVjp\(\): the function closes over a traced value .* pass that value as an argument/;
  assert.throws(() => grad(run)(tensor(3)), message);
  assert.throws(() => vmap(grad(run))(tensor([3, 4])), message);
});
