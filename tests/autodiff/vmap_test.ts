/**
 * `vmap` against the loop it replaces: every primitive's cases from the
 * shared table (tests/_op_cases.ts, typed over all primitive names) run on a
 * batch of three perturbed examples, mapped over axis 0, over another axis,
 * and with only the first argument mapped; the batched gathers and scatters
 * and per-key random draws; composition with grad, jvp, jit and vmap itself;
 * the axes options and the errors.
 *
 * Tolerance: batching changes no arithmetic for elementwise ops, reductions
 * or data movement, but a product of a batch may sum in another blocking
 * than one product: 1e-12 relative for float64, 1e-5 for float32.
 */

import assert from "node:assert/strict";
import {
  add,
  grad,
  jit,
  jvp,
  matmul,
  nn,
  pow,
  random,
  reshape,
  slice,
  stack,
  sum,
  take,
  type Tensor,
  tensor,
  transpose,
  vmap,
} from "../../mod.ts";
import type { PrimitiveName } from "../../src/ops/registry.ts";
import { bind } from "../../src/ops/primitive.ts";
import { scatterAddPrim } from "../../src/ops/take.ts";
import { make, OP_CASES } from "../_op_cases.ts";
import { assertClose } from "../_helpers.ts";

const B = 3;

/** Example `b` of a batch (its axis 0). */
function row(t: Tensor, b: number): Tensor {
  return reshape(slice(t, [b], [b + 1]), t.shape.slice(1));
}

/** Example `b` of a batch: float inputs scaled by 1 + b/10 (signs and domains kept), others as they are. */
function example(x: Tensor, b: number): Tensor {
  return x.dtype === "float32" || x.dtype === "float64" ? x.mul(1 + b / 10) : x;
}

/** Asserts `got` equals `want` (same shape; exact for int and bool, close for floats). */
function same(got: Tensor, want: Tensor, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  assert.equal(got.dtype, want.dtype, `${what}: dtype`);
  const tol = want.dtype === "float64" ? 1e-12 : 1e-5;
  if (want.dtype === "float32" || want.dtype === "float64") {
    assertClose(got, want.dataSync(), { atol: tol, rtol: tol });
  } else {
    assert.deepEqual([...got.dataSync()], [...want.dataSync()], what);
  }
}

/** `f` on a batch three ways against the loop over examples. */
function checkCase(name: string, f: (...xs: Tensor[]) => Tensor, args: Tensor[]): void {
  if (args.length === 0) return; // nothing to map (the random draws: see their own test)
  const examples = Array.from({ length: B }, (_, b) => args.map((x) => example(x, b)));
  // All arguments mapped over axis 0.
  const want = stack(examples.map((ex) => f(...ex)));
  const batched = args.map((_, i) => stack(examples.map((ex) => ex[i])));
  same(vmap(f)(...batched), want, `${name}: inAxes 0`);
  // Mapped over the last axis of each argument, the batch put last in the output.
  const last = batched.map((x) => transpose(x, [...x.shape.keys()].slice(1).concat(0)));
  const got = vmap(f, { inAxes: -1, outAxes: -1 })(...last);
  same(
    transpose(got, [got.ndim - 1, ...[...got.shape.keys()].slice(0, -1)]),
    want,
    `${name}: axis -1`,
  );
  // Only the first argument mapped; the others shared (example 0's).
  if (args.length > 1) {
    const want1 = stack(examples.map((ex) => f(ex[0], ...examples[0].slice(1))));
    const inAxes = [0, ...args.slice(1).map(() => null)];
    same(vmap(f, { inAxes })(batched[0], ...examples[0].slice(1)), want1, `${name}: first only`);
    // And only the last one.
    const want2 = stack(examples.map((ex) => f(...examples[0].slice(0, -1), ex[args.length - 1])));
    const inAxes2 = [...args.slice(1).map(() => null), 0];
    same(
      vmap(f, { inAxes: inAxes2 })(...examples[0].slice(0, -1), batched[args.length - 1]),
      want2,
      `${name}: last only`,
    );
  }
}

for (const name of Object.keys(OP_CASES) as PrimitiveName[]) {
  Deno.test(`vmap ${name}: the table's cases equal the loop over examples`, () => {
    const cases = OP_CASES[name];
    let checked = 0;
    cases.grad.forEach((c, i) => {
      if (c.kind !== "diff") return;
      checkCase(`${name} grad[${i}]`, c.f, c.args());
      checked++;
    });
    for (const [label, c] of Object.entries(cases.backends)) {
      checkCase(`${name} ${label}`, c.f, c.args.map(make));
      checked++;
    }
    assert.ok(checked > 0 || name === "randomBits" || name === "randomUniform", `${name}: no case`);
  });
}

Deno.test("vmap take: batched indices into a shared or a batched tensor, any axis", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]); // [2, 3]
  const idx = tensor([[2, -1], [0, 1], [-3, 2]], { dtype: "int32" }); // a batch of 3
  for (const axis of [0, 1]) {
    const i = axis === 0 ? tensor([[1, -1], [0, 1], [-2, 0]], { dtype: "int32" }) : idx;
    same(
      vmap((j: Tensor) => take(x, j, axis))(i),
      stack([0, 1, 2].map((b) => take(x, row(i, b), axis))),
      `shared x, axis ${axis}`,
    );
    const xs = stack([x, x.mul(10), x.mul(100)]);
    same(
      vmap((y: Tensor, j: Tensor) => take(y, j, axis))(xs, i),
      stack([0, 1, 2].map((b) => take(x.mul(10 ** b), row(i, b), axis))),
      `batched x, axis ${axis}`,
    );
  }
  // An index out of range for one example stays an error, never another example's row.
  // The error names the index and its axis (it named the sentinel: "index 9 … of size 9").
  const bad = tensor([[0, 3], [0, 1], [0, 1]], { dtype: "int32" });
  const takeRows = (y: Tensor, j: Tensor) => take(y, j, 1);
  assert.throws(
    () => vmap(takeRows)(stack([x, x, x]), bad).dataSync(),
    /^RangeError: take\(\): index 3 is out of bounds for an axis of size 3 \(valid: -3\.\.2\)$/,
  );
  // Under jit the values are not at hand while tracing: the kernel says what happened.
  assert.throws(
    () => jit(vmap(takeRows))(stack([x, x, x]), bad).dataSync(),
    /^RangeError: take\(\): an index is out of bounds for its axis \(an index of a vmap'ed take under jit/,
  );
});

Deno.test("vmap scatterAdd (take's gradient): batched indices, per-example gradients", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const idx = tensor([[2, 2], [0, 1], [1, -1]], { dtype: "int32" });
  for (const axis of [0, 1]) {
    const i = axis === 0 ? tensor([[1, 1], [0, 1], [-1, 0]], { dtype: "int32" }) : idx;
    const f = (y: Tensor, j: Tensor) => sum(take(y, j, axis).square());
    const xs = stack([x, x.mul(2), x.mul(3)]);
    same(
      vmap(grad(f))(xs, i),
      stack([0, 1, 2].map((b) => grad(f)(x.mul(b + 1), row(i, b)))),
      `grad, axis ${axis}`,
    );
    // The primitive itself, with a shared cotangent and batched indices.
    const g = tensor([[1, 2], [3, 4]]);
    const j2 = tensor([[0, 0], [1, 2], [2, 1]], { dtype: "int32" });
    const scatter = (jj: Tensor) =>
      bind(scatterAddPrim, [g, jj], { axis: 1, size: 3, indexRank: 1 });
    same(
      vmap(scatter)(j2),
      stack([0, 1, 2].map((b) => scatter(row(j2, b)))),
      "scatterAdd, shared g",
    );
  }
});

Deno.test("vmap random: one draw per key, as the loop over keys", () => {
  const keys = random.split(random.key(5), 4);
  const draw = (k: Tensor) => random.normal(k, [3]);
  same(vmap(draw)(stack(keys)), stack(keys.map(draw)), "normal");
  const ints = (k: Tensor) => random.randint(k, [2], 0, 100);
  same(vmap(ints)(stack(keys)), stack(keys.map(ints)), "randint");
});

Deno.test("vmap composes: per-example gradients, jit, jvp, nesting, grad of vmap", () => {
  const w = tensor([[0.5, -1], [2, 0.25], [1, 1]], { dtype: "float64" }); // [3, 2]
  const xs = tensor([[1, 2, 3], [0, -1, 2], [4, 0, 1], [1, 1, 1]], { dtype: "float64" });
  const loss = (w: Tensor, x: Tensor) => sum(matmul(x, w).tanh().square());
  const loop = stack([0, 1, 2, 3].map((b) => grad(loss)(w, row(xs, b))));
  const perExample = vmap(grad(loss), { inAxes: [null, 0] });
  same(perExample(w, xs), loop, "vmap(grad)");
  same(jit(perExample)(w, xs), loop, "jit(vmap(grad))");
  same(vmap(jit(grad(loss)), { inAxes: [null, 0] })(w, xs), loop, "vmap(jit(grad))");
  // grad of a vmapped sum: the sum of the per-example gradients.
  const total = (w: Tensor) => sum(vmap((x: Tensor) => loss(w, x))(xs));
  same(grad(total)(w), sum(loop, 0), "grad(vmap)");
  // jvp inside and outside.
  const v = tensor([[1, 0], [0, 1], [1, -1]], { dtype: "float64" });
  const tangentOf = (x: Tensor) => jvp((ww: Tensor) => loss(ww, x), [w], [v])[1];
  const tLoop = stack([0, 1, 2, 3].map((b) => tangentOf(row(xs, b))));
  same(vmap(tangentOf)(xs), tLoop, "vmap(jvp)");
  const [, tOut] = jvp((ww: Tensor) => vmap((x: Tensor) => loss(ww, x))(xs), [w], [v]);
  same(tOut, tLoop, "jvp(vmap)");
  // Nested: a batch of batches.
  const xss = stack([xs, xs.mul(2)]);
  const nested = vmap(vmap((x: Tensor) => loss(w, x)))(xss);
  const flat = stack(
    [xs, xs.mul(2)].map((x) => stack([0, 1, 2, 3].map((b) => loss(w, row(x, b))))),
  );
  same(nested, flat, "vmap(vmap)");
});

Deno.test("vmap options: pytree in axes, out axes, axisSize, unmapped outputs", () => {
  const params = { w: tensor([1, 2]), b: tensor(3) };
  const batch = { x: tensor([[1, 1], [2, 0], [0, 5]]) };
  const f = (p: { w: Tensor; b: Tensor }, d: { x: Tensor }) => ({
    y: add(sum(p.w.mul(d.x)), p.b),
    c: p.b.mul(2), // the same for every example
  });
  const out = vmap(f, { inAxes: [null, { x: 0 }] })(params, batch);
  assert.deepEqual(out.y.arraySync(), [6, 5, 13]);
  assert.deepEqual(out.c.arraySync(), [6, 6, 6]);
  const kept = vmap(f, { inAxes: [null, 0], outAxes: { y: 0, c: null } })(params, batch);
  assert.deepEqual(kept.c.arraySync(), 6);
  // No mapped argument: axisSize gives the batch.
  assert.deepEqual(vmap(() => tensor([1, 2]), { axisSize: 2, inAxes: [] })().arraySync(), [[1, 2], [
    1,
    2,
  ]]);
});

Deno.test("vmap errors name the arguments, the sizes and the fix; nothing is read inside", () => {
  const f = (a: Tensor, b: Tensor) => add(a, b);
  assert.throws(
    () => vmap(f)(tensor([[1, 2], [3, 4], [5, 6]]), tensor([[1], [2]])),
    /vmap\(\): mapped axes have different sizes: args\[0\] has size 3 along axis 0, but args\[1\] has size 2 along axis 0/,
  );
  assert.throws(() => vmap(f, { inAxes: [null, null] })(tensor([1]), tensor([2])), /give axisSize/);
  assert.throws(
    () => vmap((x: Tensor) => x, { inAxes: 2 })(tensor([1, 2])),
    /axis 2 is out of range/,
  );
  assert.throws(
    () => vmap((x: number) => tensor(x))(3 as never),
    /args\[0\] is .*only tensors are mapped/,
  );
  assert.throws(
    () => vmap((x: Tensor) => x, { outAxes: null })(tensor([1, 2])),
    /output differs per example, but its out axis is null/,
  );
  assert.throws(
    () => vmap((x: Tensor) => tensor(x.sum().itemSync()))(tensor([[1, 2], [3, 4]])),
    /itemSync\(\): this float32 tensor of shape \[\] is one example inside vmap/,
  );
  assert.throws(
    () => vmap(f, { inAxes: [0] })(tensor([1]), tensor([2])),
    /the axes at args are an array of 1, but args is an array of 2/,
  );
  // Inputs are left alone.
  const x = tensor([[1, 2], [3, 4]]);
  vmap((r: Tensor) => r.mul(2), { inAxes: 1 })(x);
  assert.deepEqual(x.arraySync(), [[1, 2], [3, 4]]);
});

Deno.test("vmap of a loss with int labels: per-example losses (the labels' range is checked where readable)", () => {
  const logits = tensor([[1, 2, 3], [0, 1, 0]]);
  const labels = tensor([2, 1], { dtype: "int32" });
  const one = (l: Tensor, y: Tensor) => nn.softmaxCrossEntropy(reshape(l, [1, 3]), reshape(y, [1]));
  const loop = [0, 1].map((i) => one(take(logits, i, 0), take(labels, i, 0)).itemSync());
  assert.deepEqual([...vmap(one)(logits, labels).dataSync()], loop);
  assert.deepEqual([...jit(vmap(one))(logits, labels).dataSync()], loop);
  // One example's label cannot be read inside vmap: out of range is NaN, as under jit.
  const bad = vmap(one)(logits, tensor([2, 7], { dtype: "int32" })).dataSync();
  assert.equal(bad[0], loop[0]);
  assert.ok(Number.isNaN(bad[1]));
  assert.deepEqual(
    vmap((x: Tensor, n: Tensor) => pow(x, n))(
      tensor([[2, 3]], { dtype: "int32" }),
      tensor([[2, 3]], { dtype: "int32" }),
    ).arraySync(),
    [[4, 27]],
  );
});
