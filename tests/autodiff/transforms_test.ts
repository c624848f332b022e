/**
 * grad / valueAndGrad / vjp / jvp behaviour: higher order, pytrees, aux,
 * argnums, nesting, errors.
 */

import assert from "node:assert/strict";
import {
  add,
  cast,
  checkGrads,
  checkpoint,
  cos,
  customJvp,
  customVjp,
  DTypeError,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  lax,
  less,
  linearize,
  logsumexp,
  matmul,
  mean,
  mul,
  nn,
  numericalGradient,
  ones,
  ShapeError,
  sin,
  square,
  stopGradient,
  sum,
  tanh,
  type Tensor,
  tensor,
  tree,
  valueAndGrad,
  vjp,
  vmap,
} from "../../mod.ts";
import { assertClose, randn } from "../_helpers.ts";

const f64 = (v: number | number[] | number[][]) => tensor(v, { dtype: "float64" });

Deno.test("grad of grad: d²/dx² tanh x = −2 tanh x (1 − tanh² x)", () => {
  const d2 = grad(grad((x: Tensor) => tanh(x)));
  for (const x of [-2, -0.5, 0, 0.3, 1.7]) {
    const t = Math.tanh(x);
    assertClose(d2(f64(x)), -2 * t * (1 - t * t), { atol: 1e-14, rtol: 1e-12 });
  }
  // third order: d³/dx³ tanh x = −2 (1 − t²)(1 − 3t²)
  const d3 = grad(grad(grad((x: Tensor) => tanh(x))));
  const t = Math.tanh(0.4);
  assertClose(d3(f64(0.4)), -2 * (1 - t * t) * (1 - 3 * t * t), { atol: 1e-13, rtol: 1e-12 });
});

Deno.test("Hessian-vector product of a quadratic via jvp(grad(f)) and via vjp of grad", () => {
  // f(x) = ½ xᵀ A x + bᵀ x with symmetric A: ∇f = A x + b, H v = A v.
  const A = f64([[4, 1, 0], [1, 3, -1], [0, -1, 2]]);
  const b = f64([1, -2, 0.5]);
  const f = (x: Tensor) => add(mul(0.5, sum(mul(x, matmul(A, x)))), sum(mul(b, x)));
  const x = f64([0.3, -0.7, 1.1]);
  const v = f64([1, 2, -1]);
  const [g, hv] = jvp(grad(f), [x], [v]);
  assertClose(g, [4 * 0.3 - 0.7 + 1, 0.3 - 2.1 - 1.1 - 2, 0.7 + 2.2 + 0.5], { atol: 1e-12 });
  assertClose(hv, [4 + 2, 1 + 6 + 1, -2 - 2], { atol: 1e-12 });
  // reverse-over-reverse gives the same product
  const [, pullback] = vjp(grad(f), x);
  const [hv2] = pullback(v);
  assertClose(hv2, [6, 8, -4], { atol: 1e-12 });
});

Deno.test("nested transformations do not confuse perturbations", () => {
  // d/dx [ x · d/dy (x + y) ] at any x = 1 (the classic perturbation-confusion test)
  const inner = (x: Tensor) => grad((y: Tensor) => add(x, y))(f64(1));
  const outer = grad((x: Tensor) => mul(x, inner(x)));
  assertClose(outer(f64(3)), 1, { atol: 0 });
  // d/dx [ d/dy (x·y) at y=x ] = d/dx x = 1
  const g = grad((x: Tensor) => grad((y: Tensor) => mul(x, y))(x));
  assertClose(g(f64(2)), 1, { atol: 0 });
});

Deno.test("gradients mirror pytree structure exactly", () => {
  const params = {
    layers: [{ w: randn(1, [3, 4]), b: randn(2, [4]) }, { w: randn(3, [4, 2]), b: randn(4, [2]) }],
    scale: f64(1.5),
    empty: null,
  };
  const x = randn(5, [5, 3]);
  const loss = (p: typeof params) => {
    let h = x;
    for (const l of p.layers) h = tanh(add(matmul(h, l.w), l.b));
    return mul(p.scale, mean(square(h)));
  };
  const g = grad(loss)(params);
  assert.ok(tree.equalStructure(g, params));
  assert.equal(g.empty, null);
  tree.map(
    (gl: Tensor, pl: Tensor) => {
      assert.deepEqual(gl.shape, pl.shape);
      assert.equal(gl.dtype, pl.dtype);
    },
    g,
    params,
  );
  // values against central differences on one leaf
  const numeric = numericalGradient(
    (w) => loss({ ...params, layers: [{ ...params.layers[0], w }, params.layers[1]] }),
    params.layers[0].w,
    { h: 1e-6 },
  );
  assertClose(g.layers[0].w, numeric.dataSync(), { atol: 1e-8, rtol: 1e-6 });
  checkGrads(loss, [params], { order: 1 });
});

Deno.test("valueAndGrad with aux and argnums", () => {
  const f = (a: Tensor, b: Tensor): [Tensor, { note: string; sq: Tensor }] => [
    sum(mul(a, b)),
    { note: "hi", sq: square(a) },
  ];
  const [[v, aux], gb] = valueAndGrad(f, { hasAux: true, argnums: 1 })(f64([1, 2]), f64([3, 4]));
  assertClose(v, 11);
  assert.equal(aux.note, "hi");
  assert.equal(aux.sq._trace, null, "aux comes back as plain values");
  assertClose(aux.sq, [1, 4]);
  assertClose(gb, [1, 2]);
  const [ga, gb2] = grad((a: Tensor, b: Tensor) => sum(mul(a, b)), { argnums: [0, 1] })(
    f64([1, 2]),
    f64([3, 4]),
  );
  assertClose(ga, [3, 4]);
  assertClose(gb2, [1, 2]);
});

Deno.test("repeated argnums give the same gradient in each place (as in JAX)", () => {
  // jax.grad(lambda x: jnp.sum(x * x), argnums=(0, 0))(x) == (2x, 2x)
  const x = f64([1, 2]);
  const [g0, g1] = grad((a: Tensor) => sum(mul(a, a)), { argnums: [0, 0] })(x);
  assertClose(g0, [2, 4]);
  assertClose(g1, [2, 4]);
  // f(a, b) = Σ a²·b: ∂a = 2ab = [6, 16], ∂b = a² = [1, 4]
  const f = (a: Tensor, b: Tensor) => sum(mul(mul(a, a), b));
  const a = f64([1, 2]), b = f64([3, 4]);
  const [v, gs] = valueAndGrad(f, { argnums: [1, 0, 1] })(a, b);
  assertClose(v, 19);
  assert.equal(gs.length, 3);
  assertClose(gs[0], [1, 4]);
  assertClose(gs[1], [6, 16]);
  assertClose(gs[2], [1, 4]);
  // with aux, and nested under another grad (d²/da² of Σ a³ = 6a)
  const [[g2a, g2b], aux] = grad(
    (t: Tensor): [Tensor, string] => [sum(mul(t, t)), "aux"],
    { argnums: [0, 0], hasAux: true },
  )(a);
  assertClose(g2a, [2, 4]);
  assertClose(g2b, [2, 4]);
  assert.equal(aux, "aux");
  const second = grad((t: Tensor) => {
    const [p, q] = grad((u: Tensor) => sum(mul(mul(u, u), u)), { argnums: [0, 0] })(t);
    return sum(add(p, q));
  })(a);
  assertClose(second, [12, 24]);
});

Deno.test("vjp with pytree inputs/outputs; pullback reusable; jvp with pytrees", () => {
  const f = (p: { a: Tensor; b: Tensor }) => ({ s: sum(mul(p.a, p.b)), d: mul(p.a, 2) });
  const p = { a: f64([1, 2]), b: f64([3, 4]) };
  const [out, pullback] = vjp(f, p);
  assertClose(out.s, 11);
  const [ct1] = pullback({ s: f64(1), d: f64([0, 0]) });
  assertClose(ct1.a, [3, 4]);
  assertClose(ct1.b, [1, 2]);
  const [ct2] = pullback({ s: f64(0), d: f64([1, 1]) });
  assertClose(ct2.a, [2, 2]);
  assertClose(ct2.b, [0, 0]);
  const [o, t] = jvp(f, [p], [{ a: f64([1, 0]), b: f64([0, 1]) }]);
  assertClose(o.d, [2, 4]);
  assertClose(t.s, 3 + 2);
  assertClose(t.d, [2, 0]);
});

Deno.test("outputs that do not depend on the input get zero cotangents/tangents", () => {
  const c = f64([5, 6]);
  const [, pb] = vjp((_x: Tensor) => c, f64([1, 2]));
  assertClose(pb(f64([1, 1]))[0], [0, 0]);
  const [, t] = jvp((_x: Tensor) => c, [f64([1, 2])], [f64([1, 1])]);
  assertClose(t, [0, 0]);
  assertClose(grad((x: Tensor) => sum(stopGradient(x)))(f64([1, 2])), [0, 0]);
});

Deno.test("logsumexp gradient is the softmax and stays finite at ±1000", () => {
  const x = f64([1000, 1000, -1000]);
  const g = grad((x: Tensor) => logsumexp(x))(x);
  assertClose(g, [0.5, 0.5, 0], { atol: 1e-12 });
  checkGrads((x: Tensor) => logsumexp(x, 1), [randn(9, [2, 5])], { order: 2 });
});

Deno.test("errors: non-scalar grad says to reduce; int input names the path", () => {
  assert.throws(
    () => grad((x: Tensor) => mul(x, 2))(f64([1, 2])),
    (e: Error) =>
      e instanceof ShapeError && /must return a scalar, got shape \[2\]/.test(e.message) &&
      /sum\(\) or mean\(\)/.test(e.message),
  );
  const labels = tensor([1, 0], { dtype: "int32" });
  assert.throws(
    () => grad((p: { w: Tensor; labels: Tensor }) => sum(p.w))({ w: f64([1]), labels }),
    (e: Error) =>
      e instanceof DTypeError && /args\[0\]\.labels/.test(e.message) && /int32/.test(e.message),
  );
  assert.throws(
    () => grad((_a: Tensor, _p: { lr: number }) => sum(_a), { argnums: 1 })(f64([1]), { lr: 0.1 }),
    /args\[1\]\.lr: it is number 0.1, not a tensor/,
  );
  assert.throws(
    () => grad((x: Tensor) => sum(x), { argnums: 3 })(f64([1])),
    /argnums 3 is out of range/,
  );
  assert.throws(
    () => grad((x: Tensor) => sum(x), { argnums: -2 })(f64([1])),
    /^RangeError: grad\(\): argnums -2 is out of range: the function was called with 1 argument/,
  );
  assert.throws(
    () => grad((x: Tensor) => sum(x), { argnums: 0.5 })(f64([1])),
    /^TypeError: grad\(\): argnums must be an integer or an array of integers, got 0\.5/,
  );
  // Negative positions count from the end, as in JAX: d/dy sum(x·y²) = 2xy.
  const xy2 = (x: Tensor, y: Tensor) => sum(mul(x, mul(y, y)));
  const [x0, y0] = [f64([1, 2]), f64([2, 3])];
  assert.deepEqual(grad(xy2, { argnums: -1 })(x0, y0).arraySync(), [4, 12]);
  assert.deepEqual(grad(xy2, { argnums: [-1, 0] })(x0, y0).map((g: Tensor) => g.arraySync()), [[
    4,
    12,
  ], [
    4,
    9,
  ]]);
  assert.deepEqual((jacrev(xy2, { argnums: -1 })(x0, y0) as Tensor).arraySync(), [4, 12]);
  assert.deepEqual((jacfwd(xy2, { argnums: -2 })(x0, y0) as Tensor).arraySync(), [4, 9]);
  const [, pb] = vjp((x: Tensor) => mul(x, 2), f64([1, 2]));
  assert.throws(() => pb(f64([1, 2, 3])), /pullback: cotangent has shape \[3\]/);
  assert.throws(
    () => jvp((x: Tensor) => x, [f64([1, 2])], [f64([1])]),
    /tangents\[0\] has shape \[1\]/,
  );
  assert.throws(
    () => jvp((x: Tensor) => x, [f64([1])], [] as unknown as [Tensor]),
    /1 primals but 0 tangents/,
  );
});

Deno.test("a tracer that escapes vjp acts as its value", () => {
  let leaked: Tensor | null = null;
  vjp((x: Tensor) => {
    leaked = mul(x, 3);
    return sum(x);
  }, f64([1, 2]));
  const y = add(leaked!, 1);
  assert.equal(y._trace, null);
  assertClose(y, [4, 7]);
  // and does not interfere with a later transformation at the same level
  const g = grad((x: Tensor) => sum(mul(x, leaked!)))(f64([1, 1]));
  assertClose(g, [3, 6]);
});

Deno.test("grad frees its intermediates: a value kept from inside is a clear error", () => {
  let leaked: Tensor | null = null;
  const [[value, aux], g] = valueAndGrad((x: Tensor) => {
    leaked = mul(x, 3);
    const kept = mul(x, 4);
    return [sum(kept), kept];
  }, { hasAux: true })(f64([1, 2]));
  // the value, the aux and the gradient stay valid
  assertClose(value, 12);
  assertClose(aux as Tensor, [4, 8]);
  assertClose(g, [4, 4]);
  assert.throws(
    () => add(leaked!, 1),
    /^Error: add\(\): input 0 \(shape \[2\], float64\) was disposed\..*return it through hasAux/,
  );
  assert.throws(() => leaked!.dataSync(), /dataSync\(\): this tensor was disposed.*hasAux/);
});

Deno.test("hasAux: a Map or class instance holding tensors is an error (its tensors came back disposed); other objects pass through", () => {
  class Stats {
    constructor(readonly pred: Tensor, readonly note = "n") {}
  }
  const f = (x: Tensor): [Tensor, unknown] => {
    const pred = mul(x, 2);
    return [sum(pred), { stats: new Stats(pred) }];
  };
  assert.throws(
    () => grad(f, { hasAux: true })(f64([1, 2])),
    /^TypeError: grad\(\): aux\.stats is a Stats holding tensors; .* Return them in a plain object or array$/,
  );
  assert.throws(
    () =>
      valueAndGrad((x: Tensor) => [sum(x), new Map([["k", [mul(x, 2)]]])], { hasAux: true })(
        f64([1]),
      ),
    /^TypeError: valueAndGrad\(\): aux is a Map holding tensors/,
  );
  // Objects without tensors are kept as they are; plain containers of tensors work.
  const when = new Date(0), names = new Map([["a", 1]]);
  const [, aux] = grad((x: Tensor) => {
    const pred = mul(x, 2);
    return [sum(pred), { when, names, pred: [pred] }];
  }, { hasAux: true })(f64([1, 2]));
  assert.equal(aux.when, when);
  assert.equal(aux.names, names);
  assert.deepEqual(aux.pred[0].arraySync(), [2, 4]);
});

Deno.test("grad of the identity returns the seed, which stays valid", () => {
  const [value, g] = valueAndGrad((x: Tensor) => x)(f64(2));
  assertClose(value, 2);
  assertClose(g, 1);
});

Deno.test("grad inside grad frees nothing the outer tape needs", () => {
  // d²/dx² of x³ = 6x; the inner grad runs traced by the outer one
  const d2 = grad((x: Tensor) => grad((y: Tensor) => sum(mul(mul(y, y), y)))(x).sum());
  assertClose(d2(f64([1, 2])), [6, 12]);
  assertClose(d2(f64([1, 2])), [6, 12]);
});

Deno.test("reading values inside grad reads the traced value", () => {
  const seen: number[] = [];
  grad((x: Tensor) => {
    seen.push(...x.dataSync());
    return sum(sin(x));
  })(f64([0.25, 0.5]));
  assert.deepEqual(seen, [0.25, 0.5]);
});

Deno.test("numericalGradient reproduces the book's function_2 gradients", () => {
  // ∇(x0² + x1²) at (3, 4), (0, 2), (3, 0) = (6, 8), (0, 4), (6, 0) (book ch. 4.4)
  const f = (x: Tensor) => sum(square(x));
  assertClose(numericalGradient(f, f64([3, 4])), [6, 8], { atol: 1e-7 });
  assertClose(numericalGradient(f, f64([0, 2])), [0, 4], { atol: 1e-7 });
  assertClose(numericalGradient(f, tensor([3, 0])), [6, 0], { atol: 0.05 });
  const x = f64([3, 4]);
  const snapshot = [...x.dataSync()];
  numericalGradient(f, x);
  assert.deepEqual([...x.dataSync()], snapshot);
});

Deno.test("numericalGradient takes a pytree, like grad: the book's gradient check in one call", () => {
  // f = Σa² + Σsin(c) + Σ(d·e): ∇ = {a: 2a, b: [cos c, null], d: e, e: d}
  const params = {
    a: f64([[0.5, -1.5], [2, 0.25]]),
    b: [f64([0.3, -1.2, 2]), null],
    d: f64(0.7),
    e: f64(-1.1),
  };
  type P = typeof params;
  const f = (p: P) => add(add(sum(square(p.a)), sum(sin(p.b[0]!))), mul(p.d, p.e));
  const numeric = numericalGradient(f, params, { h: 1e-5 });
  assert.ok(tree.equalStructure(numeric, params));
  assert.equal(numeric.b[1], null);
  assertClose(numeric.a, [1, -3, 4, 0.5], { atol: 1e-9 });
  assertClose(numeric.b[0]!, [0.3, -1.2, 2].map(Math.cos), { atol: 1e-9 });
  assertClose(numeric.d, -1.1, { atol: 1e-9 });
  assertClose(numeric.e, 0.7, { atol: 1e-9 });
  // and it agrees with backprop on every leaf
  const g = grad(f)(params);
  tree.map((n: Tensor, b: Tensor) => assertClose(n, b.dataSync(), { atol: 1e-9 }), numeric, g);
  // a float32 leaf gives a float32 gradient; the inputs are unchanged
  const p32 = { w: tensor([1, 2]) };
  const g32 = numericalGradient((p: { w: Tensor }) => sum(square(p.w)), p32, { h: 1e-2 });
  assert.equal(g32.w.dtype, "float32");
  assertClose(g32.w, [2, 4], { atol: 1e-3 });
  assert.deepEqual([...p32.w.dataSync()], [1, 2]);
  // leaves that are not float tensors are named by key path
  assert.throws(
    () => numericalGradient(() => 0, { w: f64([1]), n: tensor([1], { dtype: "int32" }) }),
    /^TypeError: numericalGradient\(\): x\.n must be a float tensor, got a tensor of dtype int32/,
  );
  assert.throws(
    () => numericalGradient(() => 0, { w: f64([1]), lr: 0.1 }),
    /x\.lr must be a float tensor, got/,
  );
});

Deno.test("checkGrads failures mention kinks as a likely cause", () => {
  // relu at 0: autodiff says 0 (or 1), the central difference straddles the kink: ½.
  const relu = (x: Tensor) => nn.relu(x);
  assert.throws(
    () => checkGrads(relu, [f64([0, 1])], { modes: ["fwd"] }),
    /differs from central differences .*A likely cause when f has kinks \(relu, .*max\/min.*\): a point within eps = 0\.000001 of a kink/,
  );
  // away from the kink it passes
  checkGrads(relu, [f64([-0.5, 1])]);
});

Deno.test("checkGrads reports the worst element when a derivative is wrong", () => {
  // A function whose derivative is wrong: stopGradient hides part of it.
  const wrong = (x: Tensor) => mul(x, stopGradient(x));
  assert.throws(
    () => checkGrads(wrong, [f64([1, 2, 3])], { modes: ["fwd"] }),
    /jvp \(order 1\) of output leaf 0 differs from central differences at flat index \d: autodiff/,
  );
  assert.throws(
    () => checkGrads((x: Tensor) => sum(wrong(x)), [f64([1, 2, 3])], { modes: ["rev"] }),
    /vjp \(order 1\)/,
  );
  // float32 inputs use looser defaults and pass
  checkGrads((x: Tensor) => sum(tanh(x)), [tensor([0.1, 0.5])], { order: 2 });
});

Deno.test("grad works with float32 and returns float32", () => {
  const g = grad((x: Tensor) => sum(square(x)))(tensor([1, 2]));
  assert.equal(g.dtype, "float32");
  assertClose(g, [2, 4]);
  assertClose(grad((x: Tensor) => sum(x))(ones([2, 2])), [1, 1, 1, 1]);
});

Deno.test("a value of the wrong dtype is a DTypeError, of the wrong shape a ShapeError (tangents, cotangents, carries, branches, rules)", () => {
  const f32 = tensor([1, 2, 3]), i32 = tensor([1, 2, 3], { dtype: "int32" });
  const f64 = tensor([1, 1, 1], { dtype: "float64" });
  const castBwd = (to: "float64" | "float32", shape?: number[]) =>
    grad((x: Tensor) =>
      sum(
        customVjp((y: Tensor) => y, {
          fwd: (y: Tensor) => [y, null],
          bwd: (_r: null, ct: Tensor) => [shape ? ones(shape) : cast(ct, to)],
        })(x),
      )
    )(f32);
  const cases: [string, () => unknown, typeof DTypeError | typeof ShapeError][] = [
    ["jvp tangent dtype", () => jvp((x: Tensor) => x, [f32], [i32]), DTypeError],
    ["jvp tangent shape", () => jvp((x: Tensor) => x, [f32], [ones([2])]), ShapeError],
    ["vjp cotangent dtype", () => vjp((x: Tensor) => x, f32)[1](f64), DTypeError],
    ["vjp cotangent shape", () => vjp((x: Tensor) => x, f32)[1](ones([4])), ShapeError],
    [
      "cond branch dtypes",
      () => lax.cond(tensor(true), (x: Tensor) => cast(x, "int32"), (x: Tensor) => x, f32),
      DTypeError,
    ],
    [
      "cond branch shapes",
      () => lax.cond(tensor(true), (x: Tensor) => sum(x), (x: Tensor) => x, f32),
      ShapeError,
    ],
    [
      "scan carry dtype",
      () =>
        lax.scan(
          (c: Tensor, x: Tensor) => [cast(c, "float32"), x],
          tensor(0, { dtype: "int32" }),
          f32,
        ),
      DTypeError,
    ],
    [
      "scan carry shape",
      () => lax.scan((_c: Tensor, x: Tensor) => [ones([2]), x], tensor(0), f32),
      ShapeError,
    ],
    ["switch index dtype", () => lax.switch(tensor(0), [(x: Tensor) => x], f32), DTypeError],
    ["switch index shape", () => lax.switch(i32, [(x: Tensor) => x], f32), ShapeError],
    [
      "whileLoop predicate dtype",
      () =>
        lax.whileLoop(
          (v: Tensor) => cast(less(v, 9), "int32"),
          (v: Tensor) => add(v, 1),
          tensor(0, { dtype: "int32" }),
        ),
      DTypeError,
    ],
    ["customVjp bwd dtype", () => castBwd("float64"), DTypeError],
    ["customVjp bwd shape", () => castBwd("float32", [2]), ShapeError],
  ];
  for (const [what, f, cls] of cases) {
    assert.throws(f, (e: unknown) => e instanceof cls, what);
  }
});

Deno.test("every transformation checks it was given a function, naming itself (not 'f is not a function' at call time)", () => {
  const notFn = 3 as unknown as (x: Tensor) => Tensor;
  const x = f64([1]);
  const cases: [string, () => unknown, string][] = [
    ["grad", () => grad(notFn), "differentiate"],
    ["valueAndGrad", () => valueAndGrad(notFn), "differentiate"],
    ["vjp", () => vjp(notFn, x), "differentiate"],
    ["jvp", () => jvp(notFn, [x], [x]), "differentiate"],
    ["vmap", () => vmap(notFn), "map"],
    ["jacrev", () => jacrev(notFn), "differentiate"],
    ["jacfwd", () => jacfwd(notFn), "differentiate"],
    ["hessian", () => hessian(notFn), "differentiate"],
    ["linearize", () => linearize(notFn, x), "differentiate"],
    ["checkpoint", () => checkpoint(notFn), "checkpoint"],
    ["jit", () => jit(notFn), "trace"],
  ];
  for (const [name, f, role] of cases) {
    assert.throws(
      f,
      new RegExp(`^TypeError: ${name}\\(\\): expected the function to ${role}, got number 3$`),
    );
  }
});

Deno.test("checkGrads: modes or an order that would check nothing are errors, not a silent pass", () => {
  // sin with a wrong derivative: every real check fails.
  const bad = customJvp(
    (x: Tensor) => sin(x),
    ([x]: Tensor[], [t]: Tensor[]) => [sin(x), cos(x).mul(2).mul(t)],
  );
  const x = f64([0.3, 0.7]);
  assert.throws(() => checkGrads(bad, [x], { modes: ["rev"] }), /differs/);
  for (const modes of [["reverse"], ["forward", "backward"], []]) {
    assert.throws(
      () => checkGrads(bad, [x], { modes: modes as ("fwd" | "rev")[] }),
      /^TypeError: checkGrads\(\): modes must be a non-empty array of "fwd" and "rev", got /,
    );
  }
  for (const order of [0, -1, 1.5, 3, NaN]) {
    assert.throws(
      () => checkGrads(bad, [x], { order: order as 1 }),
      /^RangeError: checkGrads\(\): order must be 1 or 2, got /,
    );
  }
});
