/**
 * `jit`'s memory plan (`src/jit/memory_plan.ts`) and buffer donation: the
 * placement never lets two values alive at once share bytes, a jitted call
 * in the steady state allocates only its outputs, donated arguments' buffers
 * become outputs' buffers (and the arguments are given up), and every result
 * stays bit-identical to eager execution.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  add,
  concat,
  cumsum,
  exp,
  getBackend,
  jit,
  makeJaxpr,
  max,
  mul,
  neg,
  optim,
  random,
  reshape,
  sub,
  sum,
  take,
  tanh,
  type Tensor,
  tensor,
  tree,
  valueAndGrad,
} from "../../mod.ts";
import { currentBackend } from "../../src/backend/registry.ts";
import { collectMade } from "../../src/core/tensor.ts";
import { WasmBackend, type WasmBuf } from "../../src/backend/wasm/wasm_backend.ts";
import { WASM_PAGE } from "../../src/backend/wasm/arena.ts";
import { onBackend } from "../_helpers.ts";
import { planMemory } from "../../src/jit/memory_plan.ts";
import type { Program } from "../../src/jit/program.ts";
import { assertSameTree, type MlpParams, mlpProblem } from "./_helpers.ts";

const onWasm = getBackend() === "wasm";

/** A wasm tensor's buffer (`ptr` -1: in JS memory). */
const buffer = (t: Tensor): WasmBuf => t._data as WasmBuf;

/** Checks the plan's placement: values alive at once never share bytes. */
function assertDisjoint(program: Program, what: string): void {
  const plan = planMemory(program);
  const eqs = program.equations;
  const lastUse = new Map<unknown, number>();
  eqs.forEach((eq, i) => {
    if (plan.live[i]) eq.inputs.forEach((v) => lastUse.set(v, i));
  });
  // Lifetime of a placed value: from its equation to the last use of it or of a reshape of it.
  const stop = eqs.map((eq, i) => lastUse.get(eq.out) ?? i);
  for (let i = eqs.length - 1; i >= 0; i--) {
    const eq = eqs[i];
    if (plan.live[i] && (eq.prim.name === "reshape" || eq.prim.name === "stopGradient")) {
      const src = eqs.findIndex((e) => e.out === eq.inputs[0]);
      if (src >= 0) stop[src] = Math.max(stop[src], stop[i]);
    }
  }
  const placed = eqs.flatMap((eq, i) => {
    if (plan.offset[i] < 0) return [];
    const n = eq.out.aval.shape.reduce((a, d) => a * d, 1);
    const bytes = n * (eq.out.aval.dtype === "float64" ? 8 : eq.out.aval.dtype === "bool" ? 1 : 4);
    return [{ i, lo: plan.offset[i], hi: plan.offset[i] + bytes, stop: stop[i] }];
  });
  for (const a of placed) {
    assert.ok(a.hi <= plan.bytes, `${what}: eq ${a.i} ends past the block`);
    for (const b of placed) {
      if (a.i >= b.i || b.i > a.stop) continue; // b defined after a's last use: may share
      assert.ok(
        a.hi <= b.lo || b.hi <= a.lo,
        `${what}: eq ${a.i} [${a.lo},${a.hi}) alive at eq ${b.i} [${b.lo},${b.hi})`,
      );
    }
  }
  // No program output and no input is ever placed.
  program.outputs.forEach((v) => {
    const i = eqs.findIndex((e) => e.out === v);
    if (i >= 0) assert.equal(plan.offset[i], -1, `${what}: output placed`);
  });
}

Deno.test("memory plan: a chain reuses bytes, values alive at once never share them", () => {
  // x → a → b → c → d: a and c may share, b and d may not overlap what is alive.
  const f = (x: Tensor) => exp(tanh(exp(tanh(x))));
  const p = makeJaxpr(f)(tensor([1, 2, 3, 4]));
  const plan = planMemory(p);
  assert.deepEqual(plan.offset, [0, 64, 0, -1]);
  assert.equal(plan.bytes, 64 + 16);
  assertDisjoint(p, "chain");
  // The MLP step: the gradient and an optimizer update, with reshapes and stopGradient.
  const { params, x, labels, loss } = mlpProblem(1);
  const opt = optim.adam(1e-2);
  const step = (p: MlpParams, s: optim.OptState, xb: Tensor, yb: Tensor) => {
    const [value, g] = valueAndGrad(loss)(p, xb, yb);
    const [u, s2] = opt.update(g, s, p);
    return [value, optim.applyUpdates(p, u), s2];
  };
  const program = makeJaxpr(step)(params, opt.init(params), x, labels);
  assertDisjoint(program, "mlp step");
  assertDisjoint(makeJaxpr(step, { optimized: true })(params, opt.init(params), x, labels), "opt");
  const planned = planMemory(program);
  const total = program.equations.reduce(
    (a, eq, i) => a + (planned.offset[i] >= 0 ? eq.out.aval.shape.reduce((m, d) => m * d, 4) : 0),
    0,
  );
  assert.ok(planned.bytes < total / 2, `block ${planned.bytes} of ${total} bytes placed`);
});

Deno.test("memory plan: a reshape of an intermediate that is an output is not placed", () => {
  const f = (x: Tensor) => {
    const y = exp(x);
    return [reshape(y, [2, 2]), sum(tanh(y))];
  };
  const p = makeJaxpr(f)(tensor([0, 1, 2, 3]));
  const plan = planMemory(p);
  assert.equal(plan.offset[p.equations.findIndex((e) => e.prim.name === "exp")], -1);
  const x = tensor([0, 1, 2, 3]);
  const g = jit(f);
  const first = g(x);
  const second = g(x); // the second call must not write over the first call's results
  assertSameTree(first, f(x), "first call");
  assertSameTree(second, f(x), "second call");
});

Deno.test("memory plan: the steady state allocates only the outputs", { ignore: !onWasm }, () => {
  const be = currentBackend() as WasmBackend;
  const { params, x, labels, loss } = mlpProblem(2);
  const step = jit((p: MlpParams, xb: Tensor, yb: Tensor) => valueAndGrad(loss)(p, xb, yb));
  tree.dispose(step(params, x, labels)); // traces, reserves the block
  const before = be.memoryStats();
  for (let i = 0; i < 20; i++) tree.dispose(step(params, x, labels));
  const after = be.memoryStats();
  assert.equal(after.usedBytes, before.usedBytes, "arena use after 20 calls");
  assert.equal(after.awaitingGcBytes, before.awaitingGcBytes, "nothing left to the collector");
  // One new buffer per output (the loss and four gradients), none per intermediate.
  assert.equal(after.buffers - before.buffers, 20 * 5, "buffers allocated in 20 calls");
  // …and new tensor objects only for the outputs: the planned intermediates' are made once.
  // 7 = the 5 outputs and 2 reshapes (views) of the labels; every other intermediate
  // (some 20) reuses its object.
  const made: Tensor[] = [];
  tree.dispose(collectMade(made, () => step(params, x, labels)));
  assert.equal(made.length, 7, "tensors made by a call");
  assertSameTree(step(params, x, labels), valueAndGrad(loss)(params, x, labels), "values");
});

Deno.test("donateArgnums: an output takes a donated argument's buffer, the argument is given up", () => {
  const update = (w: Tensor, g: Tensor) => sub(w, mul(g, 0.5));
  const f = jit(update, { donateArgnums: [0] });
  const g = tensor([1, 2, 3, 4, 5, 6, 7, 8]);
  const want = update(tensor([10, 20, 30, 40, 50, 60, 70, 80]), g);
  for (let i = 0; i < 3; i++) {
    const w = tensor([10, 20, 30, 40, 50, 60, 70, 80]);
    const handle = w._data;
    const out = f(w, g);
    assertSameTree(out, want, `call ${i}`);
    assert.ok(w._disposed, "the donated argument is disposed");
    assert.throws(() => w.dataSync(), /donated to a jitted call \(donateArgnums\)/);
    assert.throws(() => mul(w, 1), /mul\(\): input 0: this tensor was donated/);
    if (onWasm) assert.equal(out._data, handle, "updated in place");
    assert.deepEqual(g.arraySync(), [1, 2, 3, 4, 5, 6, 7, 8], "g untouched");
  }
  // Negative positions count from the end; a donated argument read after the
  // output is written (here by the second output) is not written over.
  const h = jit((a: Tensor, b: Tensor) => [add(a, b), mul(exp(a), 2)], { donateArgnums: [-2] });
  const a = tensor([0, 1]), b = tensor([1, 1]);
  assertSameTree(h(a, b), [tensor([1, 2]), mul(exp(tensor([0, 1])), 2)], "read after");
  assert.ok(a._disposed && !b._disposed);
});

Deno.test("donateArgnums: a buffer something else still holds is copied, never overwritten", () => {
  const f = jit((w: Tensor) => mul(w, 2), { donateArgnums: [0] });
  const w = tensor([1, 2, 3, 4]);
  const view = reshape(w, [2, 2]); // shares w's buffer
  const out = f(w);
  assert.deepEqual(out.arraySync(), [2, 4, 6, 8]);
  assert.deepEqual(view.arraySync(), [[1, 2], [3, 4]], "the reshape keeps its values");
  // The same tensor passed at a donated and a kept position.
  const g = jit((p: Tensor, q: Tensor) => [mul(p, 3), add(q, 1)], { donateArgnums: [0] });
  const t = tensor([1, 2]);
  assertSameTree(g(t, t), [tensor([3, 6]), tensor([2, 3])], "aliased arguments");
  // Returned as it is: not disposed.
  const id = jit((p: Tensor) => p, { donateArgnums: [0] });
  const u = tensor([5]);
  assert.equal(id(u), u);
  assert.ok(!u._disposed);
});

Deno.test("donateArgnums: a jitted Adam step updates parameters and state in place", () => {
  const { params, x, labels, loss } = mlpProblem(3);
  const opt = optim.adam(1e-2);
  const step = (p: MlpParams, s: optim.OptState, xb: Tensor, yb: Tensor) => {
    const [value, g] = valueAndGrad(loss)(p, xb, yb);
    const [u, s2] = opt.update(g, s, p);
    return [value, optim.applyUpdates(p, u), s2] as const;
  };
  const donating = jit(step, { donateArgnums: [0, 1] });
  let [pe, se] = [tree.map((t: Tensor) => add(t, 0), params), opt.init(params)];
  let [pj, sj] = [tree.map((t: Tensor) => add(t, 0), params), opt.init(params)];
  let reused = 0;
  for (let i = 0; i < 30; i++) {
    const [, p2, s2] = step(pe, se, x, labels);
    [pe, se] = [p2, s2];
    const handles = new Set((tree.leaves(pj) as Tensor[]).map((t) => t._data));
    const [, p3, s3] = donating(pj, sj, x, labels);
    reused += (tree.leaves(p3) as Tensor[]).filter((t) => handles.has(t._data)).length;
    [pj, sj] = [p3, s3];
  }
  assertSameTree([pj, sj], [pe, se], "30 donated steps");
  if (onWasm) assert.equal(reused, 30 * 4, "every parameter updated in place");
});

// After its first call on `wasm`, a program runs the kernels that call
// recorded (see `Backend.record`), on the buffers of each call's inputs.

Deno.test("replay: each call's inputs are read, whatever their buffers", () => {
  const f = jit((a: Tensor, b: Tensor) => [mul(add(a, b), 2), sum(mul(a, b))]);
  for (let i = 0; i < 4; i++) {
    const a = tensor([1, 2, 3, 4].map((v) => v + i)), b = tensor([4, 3, 2, 1].map((v) => v * i));
    const want = [mul(add(a, b), 2), sum(mul(a, b))];
    assertSameTree(f(a, b), want, `call ${i}`);
    // The same tensor at both positions, then a reshape of another buffer.
    assertSameTree(f(a, a), [mul(add(a, a), 2), sum(mul(a, a))], `call ${i}, aliased`);
  }
});

Deno.test("replay: a first call with one tensor at two positions does not tie them later", () => {
  // Recorded on f(x, x), one buffer is both operands; the next calls pass two.
  const x = tensor([5, 6]), y = tensor([1, 2]);
  const f = jit((a: Tensor, b: Tensor) => sub(a, b));
  assert.deepEqual(f(x, x).arraySync(), [0, 0]);
  assert.deepEqual(f(x, y).arraySync(), [4, 4]);
  assert.deepEqual(f(y, x).arraySync(), [-4, -4]);
  const g = jit((a: Tensor, b: Tensor) => [add(mul(tanh(a), b), a), sum(mul(a, b))]);
  g(x, x);
  assertSameTree(g(y, x), [add(mul(tanh(y), x), y), sum(mul(y, x))], "fused, after an alias");
  // One value at two positions (x * x) is the same buffer on every call.
  const square = jit((a: Tensor) => mul(a, a));
  square(x);
  assert.deepEqual(square(y).arraySync(), [1, 4]);
});

Deno.test("an op that leaves its input as it is gives a new buffer (the plan reuses the input's)", () => {
  // A reduction over no axes and a cumsum over an axis of length 1 are their input; the input's
  // bytes are free after its last read, where the next value goes.
  const x = tensor([[8, 3]]);
  const cases = [
    (t: Tensor) => sum(mul(t, 2), []),
    (t: Tensor) => max(mul(t, 2), []),
    (t: Tensor) => cumsum(mul(t, 2), 0),
    (t: Tensor) => cumsum(mul(t, 2), 0, { reverse: true }),
  ];
  for (const op of cases) {
    const f = (t: Tensor) => {
      const c = op(t);
      return concat([c, mul(neg(c), 3)]);
    };
    for (let i = 0; i < 2; i++) assert.deepEqual(jit(f)(x).arraySync(), [[16, 6], [-48, -18]]);
    const t = mul(x, 2);
    assert.notEqual(op(t)._data, t._data, "eagerly too");
  }
});

Deno.test("replay: a closed-over tensor freed or donated since is the usual error, not a read of its old bytes", () => {
  const c = tensor([10, 20]);
  const f = jit((x: Tensor) => add(x, c));
  assert.deepEqual(f(tensor([1, 1])).arraySync(), [11, 21]);
  assert.deepEqual(f(tensor([2, 2])).arraySync(), [12, 22]);
  c.dispose();
  const reuse = tensor([100, 200]); // may take c's freed bytes
  assert.throws(() => f(tensor([1, 1])), /add\(\): input 1 .* was disposed/);
  const d = tensor([10, 20]);
  const g = jit((x: Tensor) => add(x, d));
  g(tensor([1, 1]));
  g(tensor([1, 1]));
  jit((p: Tensor) => mul(p, 2), { donateArgnums: [0] })(d);
  assert.throws(() => g(tensor([1, 1])), /input 1: this tensor was donated/);
  assert.deepEqual(reuse.arraySync(), [100, 200]);
});

Deno.test("replay: a gather is never replayed, so its index check runs on every call", () => {
  const f = jit((x: Tensor, i: Tensor) => mul(take(x, i, 0), 2));
  const x = tensor([1, 2, 3]);
  const idx = (v: number[]) => tensor(v, { dtype: "int32" });
  assert.deepEqual(f(x, idx([0, 2])).arraySync(), [2, 6]);
  assert.deepEqual(f(x, idx([2, 1])).arraySync(), [6, 4]);
  assert.deepEqual(f(x, idx([-1, 0])).arraySync(), [6, 2], "negative indices wrap");
  assert.throws(() => f(x, idx([3, 0])), /take\(\): index 3 is out of bounds/);
});

Deno.test("replay: after a first call that throws halfway, later calls are right", () => {
  // The gather's index check throws halfway through the first call (after the exp ran).
  const f = jit((x: Tensor, i: Tensor) => add(take(exp(x), i, 0), mul(x, 2)));
  const x = tensor([0, 1, 2]);
  const idx = (v: number[]) => tensor(v, { dtype: "int32" });
  assert.throws(() => f(x, idx([5, 0, 1])), /take\(\): index 5 is out of bounds/);
  for (const [v, y] of [[[2, 0, 1], [1, 2, 3]], [[1, 1, 0], [-1, 0, 4]]]) {
    const ys = tensor(y);
    assertSameTree(f(ys, idx(v)), add(take(exp(ys), idx(v), 0), mul(ys, 2)), `${v}`);
  }
});

Deno.test("replay: a disposed input is the usual error, not a read of a freed buffer", () => {
  const f = jit((a: Tensor) => mul(exp(a), 3));
  f(tensor([1, 2]));
  f(tensor([3, 4]));
  const gone = tensor([5, 6]);
  gone.dispose();
  assert.throws(() => f(gone), /disposed/);
});

Deno.test("replay: inputs in JS memory (past the arena's limit) are read there", async () => {
  await onBackend("wasm-replay-tiny", new WasmBackend({ memoryLimit: 2 * WASM_PAGE }), () => {
    // The reduction's output is planned (a kernel that writes a placed buffer).
    const g = (a: Tensor, b: Tensor) => add(mul(a, sum(mul(a, b))), b);
    const f = jit(g);
    const make = (seed: number) => random.uniform(random.key(seed), [60, 200]); // 48 KB
    const [a, b] = [make(1), make(2)];
    assert.ok(buffer(a).ptr >= 0 && buffer(b).ptr >= 0, "the first call's inputs are in the arena");
    assertSameTree(f(a, b), g(a, b), "first call");
    const more: Tensor[] = [];
    while (more.length < 8 && (more.length === 0 || buffer(more.at(-1)!).ptr >= 0)) {
      more.push(make(3 + more.length));
    }
    const far = more.at(-1)!;
    assert.equal(buffer(far).ptr, -1, "a tensor in JS memory");
    assertSameTree(f(far, b), g(far, b), "JS memory input");
    assertSameTree(f(a, far), g(a, far), "the other input");
  });
});
