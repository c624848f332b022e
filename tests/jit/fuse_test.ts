/**
 * Elementwise fusion under `jit` (src/jit/fuse.ts): on `wasm`, chains of
 * elementwise ops run as one IR kernel whose results equal the eager op-by-op
 * kernels bit for bit (the fused expression is made of the same per-op
 * expressions, with no mul+add contraction); on `cpu` (no `fused` hook) the
 * program runs op by op. The kernel counter of the interpreter shows how
 * many kernels actually ran.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  add,
  cast,
  concat,
  div,
  exp,
  getBackend,
  grad,
  greater,
  jit,
  makeJaxpr,
  matmul,
  mul,
  neg,
  nn,
  random,
  square,
  sub,
  sum,
  tanh,
  type Tensor,
  tensor,
  tree,
  valueAndGrad,
  vmap,
  where,
  zeros,
} from "../../mod.ts";
import { Executable, kernelLaunches } from "../../src/jit/interpret.ts";
import { optimizeFor } from "../../src/jit/jit.ts";
import type { Program } from "../../src/jit/program.ts";
import type { Backend } from "../../src/backend/backend.ts";
import { currentBackend } from "../../src/backend/registry.ts";
import { assertSameTree, type MlpParams, mlpProblem } from "./_helpers.ts";
import { assertClose } from "../_helpers.ts";

const fuses = getBackend() !== "cpu";

/** The result of `f()` and how many kernels the program ran for it. */
function counted<T>(f: () => T): [T, number] {
  const before = kernelLaunches();
  const out = f();
  return [out, kernelLaunches() - before];
}

/** The optimised program's equations, by primitive name. */
function ops(f: (...a: Tensor[]) => unknown, ...args: Tensor[]): string[] {
  return makeJaxpr(f, { optimized: true })(...args).equations.map((e) => e.prim.name);
}

// Edge values and a spread of magnitudes (exp overflows past ~88.7).
const EDGES = [0, -0, 1e-8, -1e-8, 0.5, -0.5, 3, -3, 20, -20, 88, -88, 89, -89, 104, -104];
const EDGE_VALUES = [...EDGES, Infinity, -Infinity, NaN];

Deno.test("fusion: sigmoid 1/(1+exp(-x)) is one kernel, bit for bit the eager result", () => {
  const sigmoid = (x: Tensor) => div(1, add(1, exp(neg(x))));
  const values = [...EDGE_VALUES];
  for (let i = 0; i < 1000; i++) values.push((i - 500) * 0.0371);
  const x = tensor(values);
  const f = jit(sigmoid);
  f(x); // trace and compile
  const [got, runs] = counted(() => f(x));
  assertSameTree(got, sigmoid(x), "sigmoid");
  assert.equal(runs, fuses ? 1 : 4);
  if (fuses) {
    const p = makeJaxpr(sigmoid, { optimized: true })(x).toString();
    // the 1.0 (both merged) is a literal of the kernel
    assert.match(p, /b:f32\[1019\] = fused\[ops=\[neg,exp,add,div\] consts=\[1\]\] a\n/);
  }
  assert.equal(makeJaxpr(sigmoid)(x).equations.length, 4, "makeJaxpr shows the traced ops");
});

Deno.test("fusion: a*b+c with broadcasting is one kernel, bit for bit", () => {
  const f = (a: Tensor, b: Tensor, c: Tensor) => add(mul(a, b), c);
  const k = random.split(random.key(3), 3);
  const a = random.normal(k[0], [2, 3, 5]);
  const b = random.normal(k[1], [3, 1]);
  const c = random.normal(k[2], [5]);
  const j = jit(f);
  j(a, b, c);
  const [got, runs] = counted(() => j(a, b, c));
  assertSameTree(got, f(a, b, c), "a*b+c");
  assert.equal(runs, fuses ? 1 : 2);
  // the same kernel with the broadcast operand first, and scalars
  assertSameTree(jit(f)(b, a, tensor(0.25)), f(b, a, tensor(0.25)), "b*a+0.25");
});

Deno.test("fusion: int32 and bool ops, where and cast fuse too", () => {
  const f = (x: Tensor, n: Tensor) => {
    const y = where(greater(x, 0), mul(x, 2), neg(x)); // float32
    return mul(add(cast(y, "int32"), n), 3); // int32, n broadcast
  };
  const rows = [1, 1e7, 3e8, -2e9].flatMap((s) => EDGE_VALUES.map((v) => v * s));
  const x = tensor(rows).reshape([4, EDGE_VALUES.length]);
  const n = tensor([3, -7, 46341, 2147483647], { dtype: "int32" }).reshape([4, 1]);
  const [got, runs] = counted(() => jit(f)(x, n));
  assertSameTree(got, f(x, n), "int32 chain");
  if (fuses) {
    assert.equal(runs, 1);
    assert.deepEqual(ops(f, x, n), ["fused"]);
  }
});

Deno.test("fusion: an intermediate that is an output, or read by a non-elementwise op, is kept", () => {
  const f = (x: Tensor) => {
    const e = exp(x);
    const s = tanh(mul(x, 3));
    return [e, mul(add(e, 1), 2), sum(s), sub(s, 1)];
  };
  const x = tensor([0.5, -2, 3, NaN, -0]);
  if (fuses) {
    // exp is an output: its own kernel; s feeds a sum: its own (fused) kernel
    assert.deepEqual(ops(f, x), ["exp", "fused", "fused", "sum", "sub"]);
  }
  const j = jit(f);
  const out = j(x);
  assertSameTree(out, f(x), "outputs");
  assert.notEqual(out[0], out[1]);
});

Deno.test("fusion: an op on a smaller, broadcast operand is not recomputed per output element", () => {
  const f = (a: Tensor, b: Tensor) => mul(add(a, exp(neg(b))), 2);
  const a = random.normal(random.key(1), [4, 3]);
  const b = tensor([0.5, -1, 2]);
  if (fuses) assert.deepEqual(ops(f, a, b), ["fused", "fused"]); // neg+exp on [3], add+mul on [4,3]
  const [got, runs] = counted(() => jit(f)(a, b));
  assertSameTree(got, f(a, b), "broadcast chain");
  assert.equal(runs, fuses ? 2 : 4);
});

Deno.test("fusion: a chain loading more operands than a kernel takes is split", () => {
  const f = (...xs: Tensor[]) => xs.reduce((acc, x, i) => (i % 2 ? mul(acc, x) : add(acc, x)));
  const xs = Array.from({ length: 9 }, (_, i) => random.normal(random.key(i), [4, 3]));
  const p = makeJaxpr(f, { optimized: true })(...xs);
  for (const e of p.equations) assert.ok(e.inputs.length <= 6, `${e.inputs.length} operands`);
  if (fuses) assert.ok(p.equations.length >= 2 && p.equations.length < 8);
  assertSameTree(jit(f)(...xs), f(...xs), "9-operand chain");
});

Deno.test("fusion: empty tensors and disposed inputs take the op-by-op path", () => {
  const f = (x: Tensor) => exp(neg(x));
  assertSameTree(jit(f)(zeros([0, 3])), f(zeros([0, 3])), "empty");
  const x = tensor([1, 2]);
  const j = jit(f);
  j(x);
  x.dispose();
  assert.throws(() => j(x), /disposed/);
});

Deno.test("fusion: an MLP training step under jit equals eager bit for bit, in fewer kernels", () => {
  const { params, x, labels, loss } = mlpProblem(7);
  const step = (p: MlpParams, xb: Tensor, yb: Tensor) => {
    const [l, g] = valueAndGrad(loss)(p, xb, yb);
    return { params: tree.map((w: Tensor, gw: Tensor) => sub(w, mul(gw, 0.1)), p, g), loss: l };
  };
  const jitted = jit(step);
  let pe = params, pj = params;
  for (let i = 0; i < 3; i++) {
    const e = step(pe, x, labels);
    const [j, runs] = counted(() => jitted(pj, x, labels));
    assertSameTree(j, e, `step ${i}`);
    const optimized = makeJaxpr(step, { optimized: true })(pj, x, labels).equations;
    assert.equal(runs, optimized.length);
    if (fuses) {
      assert.ok(optimized.some((eq) => eq.prim.name === "fused"));
      const traced = makeJaxpr(step)(pj, x, labels).equations.length;
      assert.ok(runs < traced, `${runs} kernels for ${traced} traced ops`);
    }
    [pe, pj] = [e.params, j.params];
  }
});

/**
 * The current backend's fusion hooks, with `fusionRecomputes` set as asked
 * (what a GPU backend declares): a backend to optimize programs for.
 */
function fusionView(recompute: boolean): Backend {
  const be = currentBackend();
  return {
    fused: be.fused?.bind(be),
    fusible: be.fusible?.bind(be),
    fusedReduce: be.fusedReduce?.bind(be),
    fusedReduceLoads: be.fusedReduceLoads,
    maxFusedInputs: be.maxFusedInputs,
    fusionRecomputes: recompute,
  } as unknown as Backend;
}

/** Throws unless every variable `program` reads is defined before it is read. */
function assertWellFormed(program: Program): void {
  const known = new Set([...program.inputs, ...program.constVars]);
  for (const eq of program.equations) {
    for (const v of eq.inputs) assert.ok(known.has(v), `${eq.prim.name} reads an undefined value`);
    known.add(eq.out);
  }
  for (const v of program.outputs) assert.ok(known.has(v), "an output is undefined");
}

Deno.test({
  name:
    "fusion: recomputed where launches cost more, values read by several kernels go inside each",
  ignore: !fuses,
  fn() {
    // a sigmoid layer: its forward values (the sign test, exp, 1 + e, …) are read by the
    // forward output and by several backward kernels; a GPU backend recomputes them in each
    const sigmoid = (z: Tensor) =>
      where(greater(z, 0), div(1, add(1, exp(neg(z)))), div(exp(z), add(1, exp(z))));
    const { params, x, labels } = mlpProblem(5);
    const loss = (p: MlpParams, xb: Tensor, yb: Tensor) => {
      const h = sigmoid(add(matmul(xb, p.w1), p.b1));
      return nn.softmaxCrossEntropy(add(matmul(h, p.w2), p.b2), yb);
    };
    const step = (p: MlpParams, xb: Tensor, yb: Tensor) => {
      const [l, g] = valueAndGrad(loss)(p, xb, yb);
      return { params: tree.map((w: Tensor, gw: Tensor) => sub(w, mul(gw, 0.1)), p, g), loss: l };
    };
    const traced = makeJaxpr(step)(params, x, labels);
    const once = optimizeFor(traced, fusionView(false));
    const each = optimizeFor(traced, fusionView(true));
    assertWellFormed(each);
    const kernels = (p: Program) => p.equations.filter((e) => e.prim.name !== "reshape").length;
    assert.ok(
      kernels(each) <= kernels(once) - 6,
      `${kernels(each)} kernels recomputing, ${kernels(once)} storing\n${each}`,
    );
    // the layer's elementwise work: one kernel forward, one backward (plus its bias gradient)
    const h = each.equations.filter((e) =>
      e.prim.name === "fused" && e.out.aval.shape.join() === "10,16" &&
      (e.params as { ops: string[] }).ops.includes("exp")
    );
    assert.equal(h.length, 2, `${each}`);
    // the same values, bit for bit (recomputing repeats the same operations)
    const args = [...tree.leaves(params), x, labels] as Tensor[];
    const got = new Executable(each).run(args);
    const want = new Executable(once).run(args);
    got.forEach((t, i) => assertSameTree(t, want[i], `output ${i}`));
  },
});

Deno.test({
  name: "fusion: a value stored anyway (a product's operand) is loaded, not recomputed",
  ignore: !fuses,
  fn() {
    // s is a product's operand, so it is in memory whatever fusion does: the other reader
    // loads it, where recomputing tanh(x + 1) would save nothing and repeat the tanh
    const f = (x: Tensor, w: Tensor) => {
      const s = tanh(add(x, 1));
      return [matmul(s, w), mul(s, 2)];
    };
    const x = random.normal(random.key(3), [4, 3]), w = random.normal(random.key(4), [3, 5]);
    const p = optimizeFor(makeJaxpr(f)(x, w), fusionView(true));
    assertWellFormed(p);
    const computesTanh = (e: Program["equations"][number]) =>
      e.prim.name === "tanh" ||
      ((e.params as { ops?: string[] } | null)?.ops ?? []).includes("tanh");
    assert.equal(p.equations.filter(computesTanh).length, 1, `${p}`);
    const got = new Executable(p).run([x, w]);
    assertSameTree(got, f(x, w), "values");
  },
});

Deno.test("fusion: a reshape that drops a reduction's kept axes folds into it", () => {
  // the gradient of a bias added along rows: reshape(sum(g, [0], keepdims)), then the update
  const f = (g: Tensor, b: Tensor) => sub(b, mul(sum(g, 0, { keepdims: true }).reshape([5]), 0.1));
  const g = random.normal(random.key(1), [7, 5]), b = random.normal(random.key(2), [5]);
  const p = makeJaxpr(f, { optimized: true })(g, b);
  assert.ok(!p.equations.some((e) => e.prim.name === "reshape"), `${p}`);
  if (fuses) assert.equal(p.equations.length, 1, `${p}`); // the update is the sum's epilogue
  assertSameTree(jit(f)(g, b), f(g, b), "values");
  // a reshape to another shape, or of a sum read twice, stays
  const h = (
    g: Tensor,
  ) => [sum(g, 0, { keepdims: true }).reshape([5, 1]), sum(g, 1, { keepdims: true })];
  assert.ok(makeJaxpr(h, { optimized: true })(g).equations.some((e) => e.prim.name === "reshape"));
  const twice = (g: Tensor) => {
    const s = sum(g, 0, { keepdims: true });
    return [s.reshape([5]), add(s, 1)];
  };
  assert.ok(
    makeJaxpr(twice, { optimized: true })(g).equations.some((e) => e.prim.name === "reshape"),
  );
  assertSameTree(jit(twice)(g), twice(g), "read twice");
});

/** Σ over the last two axes of (a bᵀ)², in float64 on the host, for stacks `a` `[B, m]` and `b` `[B, n]`. */
function outerNormsF64(a: Float32Array, b: Float32Array, batch: number, m: number, n: number) {
  return Array.from({ length: batch }, (_, t) => {
    let s = 0;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) s += (a[t * m + i] * b[t * n + j]) ** 2;
    return s;
  });
}

Deno.test("norms of outer products: per-example gradient norms never form the [batch, m, n] gradients", () => {
  // one dense layer's per-example gradients are outer products x δᵀ
  const k = random.split(random.key(9), 3);
  const x = random.normal(k[0], [16, 40]), w = random.normal(k[1], [40, 30]);
  const t = random.normal(k[2], [16, 30]);
  const lossOne = (w: Tensor, x: Tensor, t: Tensor) =>
    sum(square(sub(tanh(matmul(x.reshape([1, 40]), w)), t.reshape([1, 30]))));
  const norms = (w: Tensor, x: Tensor, t: Tensor) =>
    vmap((x: Tensor, t: Tensor) => sum(square(grad(lossOne)(w, x, t))))(x, t);
  const p = makeJaxpr(norms, { optimized: true })(w, x, t);
  const biggest = Math.max(...p.equations.map((e) => e.out.aval.shape.reduce((a, d) => a * d, 1)));
  assert.ok(biggest < 16 * 40 * 30, `the largest value has ${biggest} elements\n${p}`);
  // against float64 on the host: the gradient is xᵢ ⊗ δᵢ with δ = 2 (tanh(xW) - t)(1 - tanh²)
  const h = tanh(matmul(x, w));
  const delta = mul(mul(sub(h, t), 2), sub(1, square(h)));
  const want = outerNormsF64(
    x.dataSync() as Float32Array,
    delta.dataSync() as Float32Array,
    16,
    40,
    30,
  );
  assertClose(jit(norms)(w, x, t), want, { rtol: 2e-6, atol: 0 });
  assertClose(norms(w, x, t), want, { rtol: 2e-6, atol: 0 }); // eager forms them: the same values
});

Deno.test("norms of outer products: transposes, a shared operand, keepdims and x * x; other products stay", () => {
  const k = random.split(random.key(4), 2);
  const a = random.normal(k[0], [3, 20, 1]), b = random.normal(k[1], [1, 25]);
  const cases: [string, (a: Tensor, b: Tensor) => Tensor, boolean][] = [
    ["a bᵀ, b shared", (a, b) => sum(square(matmul(a, b)), [1, 2]), true],
    ["keepdims", (a, b) => sum(square(matmul(a, b)), [1, 2], { keepdims: true }), true],
    ["x * x", (a, b) => {
      const c = matmul(a, b);
      return sum(mul(c, c), [-2, -1]);
    }, true],
    ["transposed operands", (a, b) => {
      // stored as [3, 1, 20] and [25, 1]: the product reads them transposed (transA, transB)
      const at = mul(a.transpose([0, 2, 1]), 1), bt = mul(b.transpose(), 1);
      return sum(square(matmul(at.transpose([0, 2, 1]), bt.transpose())), [1, 2]);
    }, true],
    ["one matrix axis only", (a, b) => sum(square(matmul(a, b)), 2), false],
    [
      "k = 2",
      (a, b) => sum(square(matmul(a.reshape([3, 10, 2]), concat([b, b], 0))), [1, 2]),
      false,
    ],
    ["the product read again", (a, b) => {
      const c = matmul(a, b);
      return add(sum(square(c), [1, 2]), sum(c, [1, 2]));
    }, true],
  ];
  for (const [name, f, folds] of cases) {
    const p = makeJaxpr(f, { optimized: true })(a, b);
    const hasProduct = p.equations.some((e) =>
      e.prim.name === "matmul" || (e.params as { ops?: string[] } | null)?.ops?.[0] === "matmul"
    );
    if (name === "the product read again") assert.ok(hasProduct, `${name}\n${p}`);
    else assert.equal(hasProduct, !folds, `${name}\n${p}`);
    assertClose(jit(f)(a, b), f(a, b).dataSync(), { rtol: 2e-6, atol: 1e-6 });
  }
});

Deno.test("norms of outer products: extreme scales, zeros and non-finite values", () => {
  const f = (a: Tensor, b: Tensor) => sum(square(matmul(a, b)), [1, 2]);
  const k = random.split(random.key(5), 2);
  const a0 = random.normal(k[0], [4, 30, 1]), b0 = random.normal(k[1], [4, 1, 20]);
  const av = Float32Array.from(a0.dataSync()), bv = Float32Array.from(b0.dataSync());
  // example 0: |a| ~ 1e20, |b| ~ 1e-20 (Σa² alone would overflow float32); 1: all-zero a;
  // 2: an infinite element; 3: a NaN
  for (let i = 0; i < 30; i++) av[i] *= 1e20;
  for (let j = 0; j < 20; j++) bv[j] *= 1e-20;
  for (let i = 30; i < 60; i++) av[i] = 0;
  av[61] = Infinity;
  av[95] = NaN;
  const a = tensor(av, { shape: [4, 30, 1] }), b = tensor(bv, { shape: [4, 1, 20] });
  const got = jit(f)(a, b).dataSync(), want = f(a, b).dataSync();
  assert.ok(
    Number.isFinite(got[0]) && Math.abs(got[0] / want[0] - 1) < 1e-5,
    `${got[0]} vs ${want[0]}`,
  );
  assert.equal(got[1], 0);
  assert.ok(!Number.isFinite(got[2]) && !Number.isFinite(want[2]), `${got[2]}, eager ${want[2]}`);
  assert.ok(Number.isNaN(got[3]) && Number.isNaN(want[3]));
});
