/**
 * `jit` and `makeJaxpr`: tracing once per signature, static arguments,
 * constants, the printed program, composition with the autodiff
 * transformations, and the errors for reading traced values and for
 * escaped tracers.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  add,
  exp,
  getBackend,
  grad,
  jit,
  JIT_CACHE_SIZE,
  jvp,
  lax,
  makeJaxpr,
  matmul,
  mul,
  optim,
  random,
  reshape,
  setBackend,
  setDefaultDType,
  sin,
  sub,
  sum,
  take,
  tanh,
  Tensor,
  tensor,
  tidy,
  tree,
  valueAndGrad,
  vmap,
  zeros,
} from "../../mod.ts";
import { collectMade } from "../../src/core/tensor.ts";
import { kernelLaunches } from "../../src/jit/interpret.ts";
import { assertSameTree, mlpProblem } from "./_helpers.ts";

Deno.test("makeJaxpr prints the program like jax.make_jaxpr", () => {
  const w = tensor([[1, 2], [3, 4], [5, 6]]);
  const f = (x: Tensor, b: Tensor) => sum(tanh(add(matmul(x, w), b)), 1);
  const p = makeJaxpr(f)(zeros([4, 3]), zeros([2]));
  assert.equal(
    p.toString(),
    [
      "{ lambda a:f32[3,2] ; b:f32[4,3] c:f32[2]. let",
      "    d:f32[4,2] = matmul[transA=false transB=false] b a",
      "    e:f32[4,2] = add d c",
      "    f:f32[4,2] = tanh e",
      "    g:f32[4] = sum[axes=[1] keepdims=false] f",
      "  in (g) }",
    ].join("\n"),
  );
  assert.equal(p.inputs.length, 2);
  assert.equal(p.consts.length, 1);
  assert.equal(p.consts[0], w); // the closed-over tensor itself, not a copy
  assert.deepEqual(p.outputs.map((v) => v.aval.shape), [[4]]);
});

Deno.test("makeJaxpr: dtypes, pytrees, scalar constants as literals, an input returned as is", () => {
  const p = makeJaxpr((
    a: { x: Tensor; n: Tensor },
  ) => [
    mul(a.x, tensor(2, { dtype: "float64" })),
    a.n,
    add(a.n, -3),
  ])({
    x: zeros([2], { dtype: "float64" }),
    n: zeros([3], { dtype: "int32" }),
  });
  assert.equal(
    p.toString(),
    [
      "{ lambda ; a:i32[3] b:f64[2]. let",
      "    c:f64[2] = mul b 2.0:f64[]",
      "    d:i32[3] = add a -3:i32[]",
      "  in (c a d) }",
    ].join("\n"),
  );
});

Deno.test("jit traces once per signature and re-traces on a new one", () => {
  let traces = 0;
  const f = jit((x: Tensor, opts: { scale: number }) => {
    traces++;
    return mul(x, opts.scale);
  });
  const a = f(tensor([1, 2]), { scale: 3 });
  assert.deepEqual(a.arraySync(), [3, 6]);
  assert.deepEqual(f(tensor([5, 7]), { scale: 3 }).arraySync(), [15, 21]);
  assert.equal(traces, 1, "same shapes, dtypes and static values: cached");
  f(tensor([1, 2, 3]), { scale: 3 });
  assert.equal(traces, 2, "new shape");
  f(tensor([1, 2], { dtype: "float64" }), { scale: 3 });
  assert.equal(traces, 3, "new dtype");
  assert.deepEqual(f(tensor([1, 2]), { scale: 4 }).arraySync(), [4, 8]);
  assert.equal(traces, 4, "new static leaf value");
  f(tensor([1, 2]), { scale: 3 });
  f(tensor([1, 2, 3]), { scale: 3 });
  assert.equal(traces, 4, "all earlier signatures still cached");

  let traces2 = 0;
  const g = jit((t: unknown) => {
    traces2++;
    return tree.leaves(t).reduce((s: Tensor, l) => add(s, sum(l as Tensor)), tensor(0));
  });
  g([tensor([1]), tensor([2])]);
  g({ a: tensor([1]), b: tensor([2]) });
  g([tensor([1]), [tensor([2])]]);
  assert.equal(traces2, 3, "new pytree structure");
  assert.equal(g([tensor([4]), [tensor([5])]]).itemSync(), 9);
  assert.equal(traces2, 3);
});

Deno.test("jit: staticArgnums (negative positions too) key the cache by value", () => {
  let traces = 0;
  const f = jit((x: Tensor, shape: number[], power: number) => {
    traces++;
    let y = reshape(x, shape);
    for (let i = 1; i < power; i++) y = mul(y, reshape(x, shape)); // JS control flow on a static
    return y;
  }, { staticArgnums: [1, -1] });
  const x = tensor([1, 2, 3, 4]);
  assert.deepEqual(f(x, [2, 2], 2).arraySync(), [[1, 4], [9, 16]]);
  assert.deepEqual(f(x, [2, 2], 3).arraySync(), [[1, 8], [27, 64]]);
  assert.deepEqual(f(x, [4], 3).arraySync(), [1, 8, 27, 64]);
  assert.deepEqual(f(tensor([2, 2, 2, 2]), [2, 2], 2).arraySync(), [[4, 4], [4, 4]]);
  assert.equal(traces, 3);
  assert.throws(
    () => jit((x: Tensor) => x, { staticArgnums: [2] })(x),
    /jit\(\): staticArgnums has 2 but the function got 1 arguments/,
  );
  assert.throws(
    () => jit((x: Tensor) => x, { donateArgnums: [5] })(x),
    /jit\(\): donateArgnums has 5 but the function got 1 arguments/,
  );
  assert.throws(() => jit(null as never), /jit\(\): expected the function to trace, got null/);
  assert.throws(() => makeJaxpr(3 as never), /makeJaxpr\(\): expected the function to trace/);
  assert.throws(
    () => jit((x: Tensor) => x, { staticArgnums: [0.5] }),
    /jit\(\): staticArgnums must be an array of integer argument positions/,
  );
});

Deno.test("jit: the cache keeps the last JIT_CACHE_SIZE signatures", () => {
  let traces = 0;
  const f = jit((x: Tensor) => {
    traces++;
    return add(x, 1);
  });
  for (let n = 1; n <= JIT_CACHE_SIZE + 1; n++) f(zeros([n]));
  assert.equal(traces, JIT_CACHE_SIZE + 1);
  f(zeros([JIT_CACHE_SIZE + 1]));
  f(zeros([2]));
  assert.equal(traces, JIT_CACHE_SIZE + 1, "recent signatures are hits");
  f(zeros([1]));
  assert.equal(traces, JIT_CACHE_SIZE + 2, "the least recently used was dropped");
});

Deno.test("jit: no kernel runs while tracing; results match eager", () => {
  const f = (x: Tensor) => sum(exp(sin(x)));
  const x = tensor([0.25, -1, 3]);
  const p = makeJaxpr(f)(x);
  assert.deepEqual(p.equations.map((e) => e.prim.name), ["sin", "exp", "sum"]);
  assertSameTree(jit(f)(x), f(x), "forward");
});

Deno.test("jit: reading a traced value is an error naming the fix", () => {
  const fix =
    /cannot read a traced tensor \(float32\[2\]\) while jit traces.*staticArgnums.*where\(\)/;
  const x = tensor([1, 2]);
  const reads: [string, (t: Tensor) => unknown][] = [
    ["dataSync", (t) => t.dataSync()],
    ["arraySync", (t) => t.arraySync()],
    ["itemSync", (t) => sum(t).itemSync()],
    ["Number", (t) => Number(sum(t))],
    ["Number", (t) => (sum(t) as unknown as number) > 0],
    ["valueOf", (t) => (sum(t) as unknown as number) + 1],
  ];
  for (const [op, read] of reads) {
    const f = jit((t: Tensor) => {
      read(t);
      return t;
    });
    const want = op === "itemSync" || op === "Number" || op === "valueOf"
      ? new RegExp(`^Error: ${op}\\(\\): cannot read a traced tensor \\(float32\\[\\]\\)`)
      : fix;
    assert.throws(() => f(x), (e: Error) => want.test(String(e)), op);
  }
  for (const op of ["data", "array", "item"] as const) {
    let caught = "";
    const f = jit(async (t: Tensor) => {
      try {
        await sum(t)[op]();
      } catch (e) {
        caught = String(e); // thrown synchronously, while jit traces
      }
      return t;
    });
    assert.throws(() => f(x), /jit\(\): the function returned a Promise/);
    assert.match(caught, new RegExp(`^Error: ${op}\\(\\): cannot read a traced tensor`), op);
  }
  // Printing shows the abstract value (side effects run at trace time).
  let printed = "";
  jit((t: Tensor) => {
    printed = `${t}`;
    return t;
  })(x);
  assert.equal(printed, "Traced<float32[2]>");
});

Deno.test("jit: a tracer that escapes is an error naming it", () => {
  let kept: Tensor | null = null;
  const f = jit((x: Tensor) => {
    kept = mul(x, 2);
    return x;
  });
  f(tensor([1, 2]));
  const leak = kept as unknown as Tensor;
  assert.throws(() => add(leak, 1), /add\(\): a traced tensor \(float32\[2\]\) escaped jit/);
  assert.throws(() => leak.dataSync(), /dataSync\(\): a traced tensor .* escaped jit/);
  assert.equal(leak.backend, tensor(0).backend);
  assert.throws(() => jit(() => leak)(), /jit\(\): a traced tensor \(float32\[2\]\) escaped jit/);
  // A control-flow body's and vmap's tracers name them, not jit (nobody called jit).
  let body: Tensor | null = null;
  lax.scan(
    (c: Tensor, x: Tensor) => {
      body = add(c, x);
      return [body, x];
    },
    tensor(0),
    tensor([1, 2]),
  );
  assert.throws(
    () => add(body as unknown as Tensor, 1),
    /^Error: add\(\): a traced tensor \(float32\[\]\) escaped a lax\.scan, foriLoop, whileLoop, cond, switch or checkpoint body: it was made while that body was traced/,
  );
  let example: Tensor | null = null;
  vmap((a: Tensor) => (example = mul(a, 2)))(tensor([[1, 2], [3, 4]]));
  assert.throws(
    () => add(example as unknown as Tensor, 1),
    /^Error: add\(\): a float32 tensor of shape \[2\] escaped vmap: it was one example inside the mapped function/,
  );
});

Deno.test("jit: non-tensor results are static; other objects are an error", () => {
  const f = jit((x: Tensor, count: number) => ({ y: add(x, count), count: count + 1, tag: "s" }));
  const r = f(tensor([1]), 4);
  assert.deepEqual([r.y.arraySync(), r.count, r.tag], [[5], 5, "s"]);
  assert.throws(
    () => jit((x: Tensor) => [x, new Map()])(tensor([1])),
    /jit\(\): the function must return tensors .* but output\[1\] is/,
  );
});

Deno.test("jit: an argument holding a class instance, Map or typed array is an error (it was keyed by identity: later changes were ignored)", () => {
  class Model {
    constructor(public w: Tensor) {}
  }
  const m = new Model(tensor([1, 2]));
  const apply = jit((model: Model, x: Tensor) => mul(model.w, x));
  assert.throws(
    () => apply(m, tensor([1, 1])),
    new RegExp(
      "^TypeError: jit\\(\\): args\\[0\\] is a Model: an argument's leaves must be tensors or plain " +
        "values .* ignored\\. Pass its tensors in a plain object or array, or mark the argument " +
        "static \\(staticArgnums: \\[0\\]\\)",
    ),
  );
  const nested = jit((p: { m: Map<string, Tensor> }, x: Tensor) => mul(p.m.get("w")!, x));
  assert.throws(
    () => nested({ m: new Map([["w", tensor([1])]]) }, tensor([1])),
    /args\[0\]\.m is a Map/,
  );
  assert.throws(
    () => jit((a: Float32Array) => tensor(a))(new Float32Array(2)),
    /args\[0\] is a Float32Array/,
  );
  // Static, it is keyed by identity as documented; a plain object of its tensors traces them.
  assert.deepEqual(jit((model: Model) => model.w.mul(2), { staticArgnums: [0] })(m).arraySync(), [
    2,
    4,
  ]);
  const plain = jit((p: { w: Tensor }, x: Tensor) => mul(p.w, x));
  assert.deepEqual(plain({ w: tensor([1, 2]) }, tensor([1, 1])).arraySync(), [1, 2]);
  assert.deepEqual(plain({ w: tensor([10, 20]) }, tensor([1, 1])).arraySync(), [10, 20]);
  // Functions stay allowed (by identity), as do numbers, strings and booleans (by value).
  const withFn = jit((x: Tensor, f: (t: Tensor) => Tensor, k: number, tag: string, on: boolean) =>
    on ? f(x).mul(k).add(tag.length) : x
  );
  assert.deepEqual(withFn(tensor([1]), (t: Tensor) => t.add(1), 3, "ab", true).arraySync(), [8]);
});

Deno.test("jit(valueAndGrad(loss)) and a whole SGD step of an MLP equal eager bit for bit", () => {
  const { params, x, labels, loss } = mlpProblem(0);
  assertSameTree(
    jit(valueAndGrad(loss))(params, x, labels),
    valueAndGrad(loss)(params, x, labels),
    "vg",
  );

  const opt = optim.sgd(0.1);
  const step = (p: typeof params, s: ReturnType<typeof opt.init>, xb: Tensor, yb: Tensor) => {
    const [l, g] = valueAndGrad(loss)(p, xb, yb);
    const [updates, s2] = opt.update(g, s, p);
    return { params: optim.applyUpdates(p, updates), state: s2, loss: l };
  };
  let traces = 0;
  const jitted = jit((...a: Parameters<typeof step>) => {
    traces++;
    return step(...a);
  });
  let pe = params, pj = params, se = opt.init(params), sj = opt.init(params);
  for (let i = 0; i < 3; i++) {
    const e = step(pe, se, x, labels);
    const j = jitted(pj, sj, x, labels);
    assertSameTree([j.params, j.loss], [e.params, e.loss], `step ${i}`);
    const numbers = (t: unknown) => tree.leaves(t).filter((l) => !(l instanceof Tensor));
    assert.deepEqual(numbers(j.state), numbers(e.state), `step ${i}: state`);
    assertSameTree(
      tree.leaves(j.state).filter((l) => l instanceof Tensor),
      tree.leaves(e.state).filter((l) => l instanceof Tensor),
      `step ${i}: state`,
    );
    [pe, se, pj, sj] = [e.params, e.state, j.params, j.state];
  }
  // A step count kept as a number leaf is static (one trace per step); as a tensor, one trace.
  const staticCount = tree.leaves(opt.init(params)).some((l) => typeof l === "number");
  assert.equal(traces, staticCount ? 3 : 1);
});

Deno.test("jit(grad(grad(f))) traces both levels into the program", () => {
  const f = (x: Tensor) => sum(mul(tanh(x), x));
  const g2 = grad((x: Tensor) => grad(f)(x).sum());
  const x = tensor([0.5, -1.25]);
  const p = makeJaxpr(g2)(x);
  assert.ok(p.equations.length > 6);
  assertSameTree(jit(g2)(x), g2(x), "grad of grad");
});

Deno.test("valueAndGrad(jit(f)), jvp(jit(f)) and nested jit run inline and agree with eager", () => {
  const f = (x: Tensor) => sum(mul(sin(x), x));
  const jf = jit(f);
  const x = tensor([0.5, 2, -3]);
  assertSameTree(valueAndGrad(jf)(x), valueAndGrad(f)(x), "valueAndGrad(jit)");
  assertSameTree(jvp(jf, [x], [tensor([1, 0, 2])]), jvp(f, [x], [tensor([1, 0, 2])]), "jvp(jit)");
  const outer = (y: Tensor) => mul(jf(y), 2);
  const p = makeJaxpr(outer)(x);
  assert.deepEqual(p.equations.map((e) => e.prim.name), ["sin", "mul", "sum", "mul"]);
  assertSameTree(jit(outer)(x), outer(x), "nested jit");
  // A jitted function closing over a value another transformation traces.
  const c = tensor([1, 2, 3]);
  const h = (w: Tensor) => jit((y: Tensor) => sum(mul(y, w)))(c);
  assertSameTree(grad(h)(x), c, "closed-over outer tracer");
});

Deno.test("jit: constants survive an enclosing tidy; inputs are never mutated", () => {
  const f = jit((x: Tensor) => add(x, tensor([10, 20])));
  const x = tensor([1, 2]);
  const a = tidy(() => f(x));
  const b = tidy(() => f(x));
  assert.deepEqual(a.arraySync(), [11, 22]);
  assert.deepEqual(b.arraySync(), [11, 22]);
  assert.deepEqual(x.arraySync(), [1, 2]);
});

Deno.test("jit: a call frees its intermediates after their last use, never its results", () => {
  const eager = (x: Tensor) => {
    const y = reshape(exp(x), [2, 2]); // the reshape shares exp's buffer
    return [sum(y), reshape(y, [4]), mul(y, 2)];
  };
  const f = jit(eager);
  const x = tensor([0, 1, 2, 3]);
  f(x);
  const made: Tensor[] = [];
  const out = collectMade(made, () => f(x));
  const results = new Set(tree.leaves(out));
  assert.ok(made.length > results.size);
  for (const t of made) assert.equal(t._disposed, !results.has(t));
  assertSameTree(out, eager(x), "results after freeing");
  assert.deepEqual(x.arraySync(), [0, 1, 2, 3]);
});

Deno.test("jit: equations nothing uses are not run", () => {
  const f = jit((x: Tensor) => {
    exp(x); // dead: its result is dropped
    const y = sin(x);
    mul(y, 3); // dead too, though it uses a live value
    return add(y, 1);
  });
  const x = tensor([0.5, 1]);
  assert.equal(makeJaxpr((x: Tensor) => [exp(x), add(x, 1)])(x).equations.length, 2);
  f(x);
  const made: Tensor[] = [];
  const out = collectMade(made, () => f(x));
  // sin and add only: one fused kernel where the backend fuses, two on cpu
  const live = (x: Tensor) => add(sin(x), 1);
  const runs = makeJaxpr(live, { optimized: true })(x).equations.length;
  assert.equal(runs, getBackend() === "cpu" ? 2 : 1);
  assert.equal(made.length, runs, "sin and add only");
  assertSameTree(out, add(sin(x), 1), "result");
});

Deno.test("jit: a new backend is a new signature", async () => {
  const home = getBackend();
  const other = home === "cpu" ? "wasm" : "cpu";
  let traces = 0;
  const f = jit((x: Tensor) => {
    traces++;
    return add(x, tensor(1));
  });
  assert.equal(f(tensor([1, 2])).backend, home);
  await setBackend(other);
  try {
    const y = f(tensor([1, 2]));
    assert.equal(y.backend, other, "the constant made while tracing is on the new backend too");
    assert.deepEqual(y.arraySync(), [2, 3]);
    assert.equal(traces, 2);
  } finally {
    await setBackend(home);
  }
  f(tensor([1, 2]));
  assert.equal(traces, 2);
});

Deno.test("jit: repeated computations run once; results stay distinct tensors", () => {
  const eager = (x: Tensor) => {
    const a = add(exp(x), exp(x)); // exp(x) twice: one kernel under jit
    const b = sum(x, 0);
    const c = sum(x, 1); // other params: not merged
    return [mul(a, 2), mul(a, 2), add(b, sum(c))]; // outputs are never merged
  };
  const x = tensor([[0.5, 1], [2, -1]]);
  const f = jit(eager);
  assert.equal(makeJaxpr(eager)(x).equations.length, 9, "makeJaxpr shows the program as traced");
  f(x);
  const before = kernelLaunches();
  const out = f(x);
  const optimized = makeJaxpr(eager, { optimized: true })(x).equations;
  assert.equal(kernelLaunches() - before, optimized.length, "one kernel per equation");
  if (getBackend() === "cpu") assert.equal(optimized.length, 8, "one exp fewer");
  else {
    // exp, add, mul fused: a = exp+exp is read by both muls, so it is its own kernel;
    // the last add is the epilogue of b = sum(x, 0), fused with it
    assert.deepEqual(optimized.map((e) => e.prim.name), [
      "fused",
      "sum",
      "mul",
      "mul",
      "sum",
      "fused",
    ]);
  }
  assert.notEqual(out[0], out[1]);
  assertSameTree(out, eager(x), "results");
});

Deno.test("jit: equal scalar constants become one (value, dtype and shape equal; -0, NaN kept apart)", () => {
  const eager = (
    x: Tensor,
  ) => [mul(add(x, 0.5), 0.5), add(x, -0), add(x, 0), mul(x, NaN), sub(x, NaN)];
  const x = tensor([1, 2]);
  const traced = makeJaxpr(eager)(x);
  const optimized = makeJaxpr(eager, { optimized: true })(x);
  const values = (p: typeof traced) =>
    p.consts.map((c) => String(Object.is(c.itemSync(), -0) ? "-0" : c.itemSync()));
  assert.deepEqual(values(traced), ["0.5", "0.5", "-0", "0", "NaN", "NaN"]);
  assert.deepEqual(values(optimized), ["0.5", "-0", "0", "NaN"]);
  assertSameTree(jit(eager)(x), eager(x), "results");
});

Deno.test("jit: an output that depends on no argument is a new tensor each call", () => {
  // The README's loop frees the old gradients; a zero gradient was the
  // program's constant, returned by every call.
  const lossAndGrad = jit(
    valueAndGrad((p: { w: Tensor; unused: Tensor }, x: Tensor) => sum(mul(p.w, x))),
  );
  let params = { w: tensor([1, 2]), unused: tensor([5]) };
  const x = tensor([3, 4]);
  for (let step = 0; step < 3; step++) {
    const [loss, grads] = lossAndGrad(params, x);
    assert.deepEqual(grads.unused.arraySync(), [0]);
    const next = tree.map((p: Tensor, g: Tensor) => sub(p, mul(g, 0.1)), params, grads);
    tree.dispose([params, grads, loss], next);
    params = next;
  }
  assert.deepEqual([...params.w.dataSync()].map((v) => +v.toFixed(4)), [0.1, 0.8]);
  const f = jit((v: Tensor) => ({ y: add(v, 1), z: zeros([2]) }));
  const [a, b] = [f(tensor([1])), f(tensor([1]))];
  assert.notEqual(a.z, b.z);
  a.z.dispose();
  assert.deepEqual(b.z.arraySync(), [0, 0]);
});

Deno.test("jit: a call that fails while running gives up its donated arguments", () => {
  // On wasm `w * 2` was written into w's buffer before take() failed, and
  // w stayed alive holding [2, 4, 6].
  const f = jit((w: Tensor, i: Tensor) => {
    const w2 = mul(w, 2);
    return [w2, take(w2, i)];
  }, { donateArgnums: [0] });
  const w = tensor([1, 2, 3]);
  assert.throws(() => f(w, tensor([7], { dtype: "int32" })), /out of bounds/);
  assert.throws(() => w.arraySync(), /donated to a jitted call/);
  // A failure while tracing (before anything ran) leaves them alone.
  const g = jit((v: Tensor) => add(v, zeros([5])), { donateArgnums: [0] });
  const v = tensor([1, 2, 3]);
  assert.throws(() => g(v));
  assert.deepEqual(v.arraySync(), [1, 2, 3]);
});

Deno.test("jit: the cache tells apart the default dtype and symbols of the same description", () => {
  const key = random.key(0);
  const draw = jit((k: Tensor) => random.normal(k, [2]));
  assert.equal(draw(key).dtype, "float32");
  const before = setDefaultDType("float64");
  try {
    assert.equal(draw(key).dtype, "float64");
    assert.equal(jit(() => zeros([1]))().dtype, "float64");
  } finally {
    setDefaultDType(before);
  }
  assert.equal(draw(key).dtype, "float32");
  const s1 = Symbol("k"), s2 = Symbol("k");
  const f = jit((a: Tensor, s: symbol) => (s === s1 ? mul(a, 2) : mul(a, 3)), {
    staticArgnums: [1],
  });
  assert.deepEqual([f(tensor([1]), s1).arraySync(), f(tensor([1]), s2).arraySync()], [[2], [3]]);
  assert.deepEqual(f(tensor([1]), Symbol.for("k")).arraySync(), [3]);
});
