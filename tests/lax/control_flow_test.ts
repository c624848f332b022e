/**
 * `lax.scan`, `lax.foriLoop`, `lax.whileLoop`, `lax.cond` and `lax.switch`:
 * against the JS loops and branches they replace, float64 central
 * differences (`checkGrads`: forward and reverse mode, second order), one
 * program node under `jit` whatever the trip count, `vmap` against a loop
 * over examples, closures over traced values, and the errors.
 */

import assert from "node:assert/strict";
import {
  add,
  checkGrads,
  cos,
  grad,
  greater,
  jacfwd,
  jit,
  jvp,
  lax,
  less,
  makeJaxpr,
  matmul,
  mul,
  reshape,
  sin,
  slice,
  stack,
  sub,
  sum,
  tanh,
  type Tensor,
  tensor,
  tidy,
  valueAndGrad,
  vmap,
  zeros,
} from "../../mod.ts";
import { assertClose, onBackend, onHostlessBackend, randn, withBackend } from "../_helpers.ts";
import { WasmBackend } from "../../src/backend/wasm/wasm_backend.ts";
import { multiInfo, type Program } from "../../src/jit/program.ts";

const f64 = (v: number[] | number[][] | number, shape?: number[]) =>
  tensor(v, { dtype: "float64", shape });
const i32 = (v: number) => tensor(v, { dtype: "int32" });
const row = (x: Tensor, t: number) => reshape(slice(x, [t], [t + 1]), x.shape.slice(1));

/** A small RNN: h ← tanh(h·W + x·U), the sum of the hidden states as output. */
type Rnn = { W: Tensor; U: Tensor };
function rnnScan(p: Rnn, xs: Tensor, h0: Tensor): Tensor {
  const [h, hs] = lax.scan(
    (h: Tensor, x: Tensor) => {
      const n = tanh(add(matmul(h, p.W), matmul(x, p.U)));
      return [n, n];
    },
    h0,
    xs,
  );
  return add(sum(mul(hs, hs)), sum(h));
}
function rnnLoop(p: Rnn, xs: Tensor, h0: Tensor): Tensor {
  let h = h0;
  const hs: Tensor[] = [];
  for (let t = 0; t < xs.shape[0]; t++) {
    h = tanh(add(matmul(h, p.W), matmul(row(xs, t), p.U)));
    hs.push(h);
  }
  const s = stack(hs, 0);
  return add(sum(mul(s, s)), sum(h));
}
const rnnArgs = (dtype: "float32" | "float64" = "float32") => {
  const c = (t: Tensor) => t.cast(dtype);
  return {
    p: { W: c(randn(1, [4, 4]).mul(0.5)), U: c(randn(2, [3, 4]).mul(0.5)) },
    xs: c(randn(3, [6, 2, 3])),
    h0: c(randn(4, [2, 4]).mul(0.1)),
  };
};

Deno.test("scan: cumulative sum, reverse, pytree carry and xs, length without xs", () => {
  const step = (c: Tensor, x: Tensor): [Tensor, Tensor] => {
    const s = add(c, x);
    return [s, s];
  };
  const [total, partial] = lax.scan(step, tensor(0), tensor([1, 2, 3, 4]));
  assert.equal(total.itemSync(), 10);
  assert.deepEqual(partial.arraySync(), [1, 3, 6, 10]);
  // Reverse: from the last step; ys still line up with xs.
  const [rt, rp] = lax.scan(step, tensor(0), tensor([1, 2, 3, 4]), { reverse: true });
  assert.equal(rt.itemSync(), 10);
  assert.deepEqual(rp.arraySync(), [10, 9, 7, 4]);
  // Pytrees: carry {n, s}, xs {a, b}, ys [a·b, n].
  const [c, ys] = lax.scan(
    (c: { n: Tensor; s: Tensor }, x: { a: Tensor; b: Tensor }) =>
      [{ n: add(c.n, 1), s: add(c.s, mul(x.a, x.b)) }, [mul(x.a, x.b), c.n]] as [
        { n: Tensor; s: Tensor },
        [Tensor, Tensor],
      ],
    { n: i32(0), s: zeros([2]) },
    { a: tensor([[1, 2], [3, 4], [5, 6]]), b: tensor([2, 3, 4]) },
  );
  assert.equal(c.n.itemSync(), 3);
  assert.deepEqual(c.s.arraySync(), [2 + 9 + 20, 4 + 12 + 24]);
  assert.deepEqual(ys[0].arraySync(), [[2, 4], [9, 12], [20, 24]]);
  assert.deepEqual(ys[1].arraySync(), [0, 1, 2]);
  assert.equal(ys[1].dtype, "int32");
  // No xs: `length` steps; y null; length 0 returns (a copy of) the init.
  const [p] = lax.scan((c: Tensor) => [mul(c, 2), null], tensor(1), null, { length: 10 });
  assert.equal(p.itemSync(), 1024);
  const init = tensor([7]);
  const [same, none] = lax.scan((c: Tensor, x: Tensor) => [add(c, x), x], init, zeros([0, 1]));
  assert.deepEqual(same.arraySync(), [7]);
  assert.notEqual(same, init);
  assert.deepEqual(none.shape, [0, 1]);
});

Deno.test("scan: a body returning its carry or x unchanged, and a closed-over tensor", () => {
  const k = tensor([10]);
  const [c, ys] = lax.scan(
    (c: Tensor, x: Tensor) => [c, [x, k, c]],
    tensor([1]),
    tensor([[2], [3]]),
  );
  assert.deepEqual(c.arraySync(), [1]);
  assert.deepEqual(ys[0].arraySync(), [[2], [3]]);
  assert.deepEqual(ys[1].arraySync(), [[10], [10]]);
  assert.deepEqual(ys[2].arraySync(), [[1], [1]]);
  // The closed-over tensor and the inputs are intact.
  assert.deepEqual(k.arraySync(), [10]);
});

Deno.test("scan: a body that permutes its carries reads each step's values, not the next's", () => {
  // (a, b, s) -> (b, a·w, s + a): slot 0 takes slot 1's buffer, which the step still reads.
  const js = (w: number) => {
    let [a, b, s] = [1, 1, 0];
    for (let t = 0; t < 6; t++) [a, b, s] = [b, a * w, s + a];
    return [a, b, s];
  };
  const run = (w: Tensor) =>
    lax.scan(
      (c: Tensor[], _x: null) => [[c[1], mul(c[0], w), add(c[2], c[0])], c[0]],
      [f64(1), f64(1), f64(0)],
      null,
      { length: 6 },
    );
  for (const f of [run, jit(run)]) {
    const [c, ys] = f(f64(1.5));
    assert.deepEqual(c.map((t) => t.itemSync()), js(1.5));
    assert.deepEqual(ys.arraySync(), [1, 1, 1.5, 1.5, 2.25, 2.25], "the ys: each step's a");
  }
  // s = 2 + 2w + 2w² after six steps, so ds/dw = 2 + 4w.
  const loss = (w: Tensor) => run(w)[0][2];
  assertClose(grad(loss)(f64(1.5)).itemSync(), 8, { rtol: 1e-12 });
  assertClose(jit(grad(loss))(f64(0.5)).itemSync(), 4, { rtol: 1e-12 });
});

Deno.test("loops whose first carry is also closed over: every step reads both", () => {
  // The first step sees one buffer as the carry and as the constant; later ones two.
  const x = tensor(1);
  assert.equal(lax.foriLoop(0, 5, (_i: Tensor, c: Tensor) => add(c, x), x).itemSync(), 6);
  assert.equal(
    lax.whileLoop((c: Tensor) => less(c, 100), (c: Tensor) => add(c, x), x).itemSync(),
    100,
  );
  const pow4 = (x: Tensor) => lax.foriLoop(1, 4, (_i: Tensor, c: Tensor) => mul(c, x), x);
  assert.equal(pow4(tensor(3)).itemSync(), 81);
  assert.equal(jit(pow4)(tensor(3)).itemSync(), 81);
  assert.equal(grad(pow4)(tensor(3)).itemSync(), 108); // 4x³
  assert.deepEqual(vmap(pow4)(tensor([2, 3])).arraySync(), [16, 81]);
});

Deno.test("scan: an RNN equals its JS loop; gradients equal the unrolled loop's", () => {
  const { p, xs, h0 } = rnnArgs();
  assertClose(rnnScan(p, xs, h0), rnnLoop(p, xs, h0).dataSync(), { atol: 1e-5, rtol: 1e-5 });
  const [v1, g1] = valueAndGrad(rnnScan, { argnums: [0, 1, 2] })(p, xs, h0);
  const [v2, g2] = valueAndGrad(rnnLoop, { argnums: [0, 1, 2] })(p, xs, h0);
  assertClose(v1, v2.dataSync(), { atol: 1e-5, rtol: 1e-5 });
  const flat = (g: unknown) => {
    const [a, b, c] = g as [Rnn, Tensor, Tensor];
    return [a.W, a.U, b, c];
  };
  flat(g1).forEach((g, i) => assertClose(g, flat(g2)[i].dataSync(), { atol: 1e-5, rtol: 1e-4 }));
  // Under jit: the same numbers.
  const [v3, g3] = jit(valueAndGrad(rnnScan, { argnums: [0, 1, 2] }))(p, xs, h0);
  assertClose(v3, v1.dataSync(), { atol: 1e-6, rtol: 1e-6 });
  flat(g3).forEach((g, i) => assertClose(g, flat(g1)[i].dataSync(), { atol: 1e-6, rtol: 1e-5 }));
});

Deno.test("scan: float64 central differences, forward and reverse, second order", () => {
  const { p, xs, h0 } = rnnArgs("float64");
  checkGrads((W: Tensor, U: Tensor, x: Tensor, h: Tensor) => rnnScan({ W, U }, x, h), [
    p.W,
    p.U,
    xs,
    h0,
  ]);
  const f = (x: Tensor) =>
    sum(
      lax.scan((c: Tensor, xi: Tensor) => [sin(mul(c, xi)), c], f64(0.7), x, { reverse: true })[1],
    );
  checkGrads(f, [f64([0.3, -1.2, 0.8, 1.5])], { order: 2 });
});

Deno.test("scan: one program node whatever the length; jit(grad) has no unrolled steps", () => {
  const f = (xs: Tensor) => rnnScan(rnnArgs().p, xs, zeros([2, 4]));
  const small = makeJaxpr(f)(zeros([3, 2, 3]));
  const large = makeJaxpr(f)(zeros([1000, 2, 3]));
  assert.equal(small.equations.length, large.equations.length);
  assert.equal(large.equations.filter((e) => e.prim.name === "scan").length, 2); // carry + ys outputs
  const g = makeJaxpr(grad(f))(zeros([1000, 2, 3]));
  const g3 = makeJaxpr(grad(f))(zeros([3, 2, 3]));
  assert.equal(g.equations.length, g3.equations.length);
  assert.match(g.toString(), /scan\[length=1000 reverse=true/);
  assert.ok(g.equations.length < 40, `${g.equations.length} equations`);
  // Printed as one line per call, with its body nested.
  const p = makeJaxpr((x: Tensor) =>
    lax.scan((c: Tensor, xi: Tensor) => [add(c, xi), c], tensor(0), x)
  )(zeros([5]));
  assert.equal(
    p.toString(),
    [
      "{ lambda ; a:f32[5]. let",
      "    b:f32[] c:f32[5] = scan[length=5 reverse=false carry=1 xs=1",
      "      jaxpr={ lambda ; a:f32[] b:f32[]. let",
      "          c:f32[] = add a b",
      "        in (c a) }",
      "    ] 0.0:f32[] a",
      "  in (b c) }",
    ].join("\n"),
  );
});

Deno.test("scan: jit traces once, closes over traced parameters, and equals eager", () => {
  let traces = 0;
  const { p, xs, h0 } = rnnArgs();
  const step = jit((p: Rnn, xs: Tensor, h0: Tensor) => {
    traces++;
    // The body closes over p (traced by jit and by grad).
    return valueAndGrad((q: Rnn) => rnnScan(q, xs, h0))(p);
  });
  const [v, g] = step(p, xs, h0);
  step(p, xs, h0);
  assert.equal(traces, 1);
  const [ve, ge] = valueAndGrad((q: Rnn) => rnnLoop(q, xs, h0))(p);
  assertClose(v, ve.dataSync(), { atol: 1e-5, rtol: 1e-5 });
  assertClose(g.W, ge.W.dataSync(), { atol: 1e-5, rtol: 1e-4 });
});

Deno.test("scan: jvp and jacfwd equal the loop's", () => {
  const { p, xs, h0 } = rnnArgs("float64");
  const v = randn(9, [6, 2, 3]);
  const [y1, t1] = jvp((x: Tensor) => rnnScan(p, x, h0), [xs], [v]);
  const [y2, t2] = jvp((x: Tensor) => rnnLoop(p, x, h0), [xs], [v]);
  assertClose(y1, y2.dataSync(), { atol: 1e-12, rtol: 1e-12 });
  assertClose(t1, t2.dataSync(), { atol: 1e-10, rtol: 1e-10 });
  const J1 = jacfwd((h: Tensor) => rnnScan(p, xs, h))(h0);
  const J2 = jacfwd((h: Tensor) => rnnLoop(p, xs, h))(h0);
  assertClose(J1, J2.dataSync(), { atol: 1e-10, rtol: 1e-10 });
});

Deno.test("scan: vmap equals a loop over examples; per-example gradients", () => {
  const { p, h0 } = rnnArgs();
  const xs = randn(5, [4, 6, 2, 3]).cast("float32"); // 4 examples of 6 steps
  const batched = vmap((x: Tensor) => rnnScan(p, x, h0))(xs);
  const loop = [0, 1, 2, 3].map((b) => rnnLoop(p, row(xs, b), h0).itemSync());
  assertClose(batched, loop, { atol: 1e-5, rtol: 1e-5 });
  // Only a closed-over per-example value batched: the carry becomes batched in the loop.
  const scales = tensor([1, 2, 3]);
  const out = vmap((s: Tensor) =>
    lax.scan((c: Tensor) => [mul(c, s), c], tensor(1), null, { length: 3 })[1]
  )(scales);
  assert.deepEqual(out.arraySync(), [[1, 1, 1], [1, 2, 4], [1, 3, 9]]);
  // Per-example gradients of the RNN's parameters (the DP-SGD pattern).
  const per = vmap(grad((q: Rnn, x: Tensor) => rnnScan(q, x, h0)), { inAxes: [null, 0] })(p, xs);
  for (let b = 0; b < 4; b++) {
    const want = grad((q: Rnn) => rnnLoop(q, row(xs, b), h0))(p);
    assertClose(row(per.W, b), want.W.dataSync(), { atol: 1e-5, rtol: 1e-4 });
  }
  // grad of a vmapped scan: the per-example gradients summed.
  const total = grad((q: Rnn) => sum(vmap((x: Tensor) => rnnScan(q, x, h0))(xs)))(p);
  const summed = sum(per.W, 0);
  assertClose(total.W, summed.dataSync(), { atol: 1e-5, rtol: 1e-4 });
  // jit(vmap(scan)) equals vmap.
  assertClose(jit(vmap((x: Tensor) => rnnScan(p, x, h0)))(xs), batched.dataSync(), {
    atol: 1e-6,
    rtol: 1e-6,
  });
});

Deno.test("scan: eager calls give their memory back", async () => {
  const be = new WasmBackend({ memoryLimit: 2 ** 28, gcBudget: 2 ** 28 });
  await onBackend("wasm-eager-scan", be, () => {
    const { p, xs, h0 } = rnnArgs();
    const q = {
      W: tensor(p.W.arraySync() as number[][]),
      U: tensor(p.U.arraySync() as number[][]),
    };
    const x = tensor(xs.arraySync() as number[][][]), h = tensor(h0.arraySync() as number[][]);
    const used: number[] = [];
    for (let i = 0; i < 40; i++) {
      tidy(() => rnnScan(q, x, h)).dispose();
      used.push(be.memoryStats().usedBytes);
    }
    assert.equal(used[39], used[4], `bytes in use: ${used[4]} after 5 calls, ${used[39]} after 40`);
  });
});

Deno.test("scan: nested scans and a cond inside, differentiated under jit", () => {
  const f = (x: Tensor) => {
    const [c] = lax.scan(
      (c: Tensor, xi: Tensor) => {
        const [inner] = lax.scan((d: Tensor) => [cos(mul(d, xi)), null], c, null, { length: 3 });
        const next = lax.cond(
          greater(xi, 0),
          (v: Tensor) => mul(v, 2),
          (v: Tensor) => v.neg(),
          inner,
        );
        return [next, null];
      },
      f64(0.5),
      x,
    );
    return c;
  };
  const x = f64([0.3, -0.4, 0.9]);
  checkGrads(f, [x]);
  const loop = (x: Tensor) => {
    let c = f64(0.5);
    for (let t = 0; t < 3; t++) {
      const xi = row(x, t);
      for (let k = 0; k < 3; k++) c = cos(mul(c, xi));
      c = xi.itemSync() > 0 ? mul(c, 2) : c.neg();
    }
    return c;
  };
  assertClose(jit(grad(f))(x), grad(loop)(x).dataSync(), { atol: 1e-12, rtol: 1e-12 });
});

Deno.test("compositions: vmap of a scan with a per-example cond inside, jit(jvp(whileLoop)), vmap(jit(switch))", () => {
  // Each example's running sum flips sign whenever it goes above its own threshold.
  const walk = (x: Tensor, limit: Tensor) =>
    lax.scan(
      (c: Tensor, xi: Tensor) => {
        const s = add(c, xi);
        const n = lax.cond(greater(s, limit), (v: Tensor) => v.neg(), (v: Tensor) => v, s);
        return [n, n];
      },
      tensor(0),
      x,
    )[1];
  const xs = tensor([[1, 2, 3, 4], [0.5, 0.5, 0.5, 0.5], [3, -1, 2, 2]]);
  const limits = tensor([2, 10, 3]);
  const loop = [0, 1, 2].map((b) => {
    const x = (xs.arraySync() as number[][])[b], lim = (limits.arraySync() as number[])[b];
    let c = 0;
    return x.map((xi) => (c = c + xi > lim ? -(c + xi) : c + xi));
  });
  assert.deepEqual(vmap(walk)(xs, limits).arraySync(), loop);
  assert.deepEqual(jit(vmap(walk))(xs, limits).arraySync(), loop);
  // Forward mode through a jitted while loop: d(x·2ⁿ)/dx with n the trips until ≥ 100.
  const dbl = jit((x: Tensor) =>
    jvp(
      (v: Tensor) => lax.whileLoop((u: Tensor) => less(u, 100), (u: Tensor) => mul(u, 2), v),
      [x],
      [tensor(1)],
    )[1]
  );
  assert.equal(dbl(tensor(3)).itemSync(), 64);
  assert.equal(dbl(tensor(30)).itemSync(), 4);
  const sw = vmap(
    jit((i: Tensor, x: Tensor) =>
      lax.switch(i, [(v: Tensor) => v.neg(), (v: Tensor) => mul(v, 10)], x)
    ),
  );
  assert.deepEqual(sw(tensor([1, 0], { dtype: "int32" }), tensor([2, 3])).arraySync(), [20, -3]);
});

Deno.test("lax.map: one slice at a time, stacked; pytrees; differentiable; under jit one node", () => {
  const xs = tensor([[3, 4], [6, 8], [0, 1]]);
  assert.deepEqual(lax.map((r: Tensor) => sum(mul(r, r)), xs).arraySync(), [25, 100, 1]);
  const out = lax.map((p: { a: Tensor; b: Tensor }) => ({ s: add(p.a, p.b), d: sub(p.a, p.b) }), {
    a: tensor([1, 2]),
    b: tensor([10, 20]),
  });
  assert.deepEqual([out.s.arraySync(), out.d.arraySync()], [[11, 22], [-9, -18]]);
  const g = grad((x: Tensor) => sum(lax.map((r: Tensor) => sum(mul(r, r)), x)))(xs);
  assert.deepEqual(g.arraySync(), [[6, 8], [12, 16], [0, 2]]);
  const p = makeJaxpr((x: Tensor) => lax.map((r: Tensor) => sum(r), x))(zeros([100, 3]));
  assert.equal(p.equations.filter((e) => e.prim.name === "scan").length, 1);
});

Deno.test("scan: bad input is an error naming what was seen", () => {
  assert.throws(
    () =>
      lax.scan((c: Tensor, x: Tensor) => [reshape(add(c, x), [1]), x], tensor(0), tensor([1, 2])),
    /lax\.scan\(\): f returns carry with shape \[1\] and dtype float32, but it came in with shape \[\]/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => lax.scan((c: any) => [[c], null], tensor(0) as any, null, { length: 2 }),
    /carry output has structure .* but init has/,
  );
  assert.throws(
    () => lax.scan((c: Tensor, x: Tensor[]) => [c, x], tensor(0), [zeros([2]), zeros([3])]),
    /xs\[0\] has 2 rows, but xs\[1\] has 3/,
  );
  assert.throws(() => lax.scan((c: Tensor) => [c, null], tensor(0), null), /give \{ length \}/);
  assert.throws(() => lax.scan((c: Tensor) => [c, null], tensor(0), tensor(1)), /is a scalar/);
  assert.throws(
    () => lax.scan((c: Tensor) => c as unknown as [Tensor, null], tensor(0), null, { length: 1 }),
    /f must return \[carry, y\]/,
  );
  assert.throws(
    () => lax.scan((c: Tensor) => [c, 3], tensor(0), null, { length: 1 }),
    /wrap numbers/,
  );
  assert.throws(
    () => lax.scan((c: Tensor) => [c, c.itemSync()], tensor(0), null, { length: 1 }),
    /cannot read a traced tensor/,
  );
});

Deno.test("foriLoop: number bounds are a differentiable scan; tensor bounds a whileLoop", () => {
  const pow = (x: Tensor) => lax.foriLoop(0, 5, (_i: Tensor, c: Tensor) => mul(c, x), f64(1));
  assert.equal(pow(f64(2)).itemSync(), 32);
  assert.equal(grad(pow)(f64(2)).itemSync(), 80); // 5x⁴
  assert.equal(jit(grad(pow))(f64(2)).itemSync(), 80);
  assert.equal(jacfwd(grad(pow))(f64(2)).itemSync(), 160); // 20x³
  const sumTo = lax.foriLoop(1, 11, (i: Tensor, acc: Tensor) => add(acc, i), i32(0));
  assert.equal(sumTo.itemSync(), 55);
  assert.equal(lax.foriLoop(3, 1, (i: Tensor, c: Tensor) => add(c, i), i32(7)).itemSync(), 7);
  const dyn = jit((x: Tensor, n: Tensor) =>
    lax.foriLoop(i32(0), n, (_i: Tensor, c: Tensor) => mul(c, x), tensor(1))
  );
  assert.equal(dyn(tensor(2), i32(5)).itemSync(), 32);
  assert.equal(dyn(tensor(2), i32(3)).itemSync(), 8); // same program, another trip count
  assert.throws(
    () =>
      grad((x: Tensor) => lax.foriLoop(i32(0), i32(2), (_i: Tensor, c: Tensor) => mul(c, x), x))(
        tensor(2),
      ),
    /whileLoop\(\): reverse-mode .* lax\.foriLoop with number bounds or lax\.scan/,
  );
  assert.throws(() => lax.foriLoop(0, 2.5, (_i: Tensor, c: Tensor) => c, tensor(0)), /integers/);
  // Number bounds become the int32 index: past its range the index wrapped (2147483647 was
  // followed by -2147483648), and 2⁴⁰ started a scan of 2⁴⁰ steps.
  const count = (lo: number, hi: number) =>
    lax.foriLoop(lo, hi, (_i: Tensor, c: Tensor) => add(c, 1), i32(0));
  assert.equal(count(2147483645, 2147483647).itemSync(), 2);
  for (
    const [lo, hi, name] of [[2147483646, 2147483649, "upper"], [0, 2 ** 40, "upper"], [
      -3e9,
      0,
      "lower",
    ]] as const
  ) {
    assert.throws(
      () => count(lo, hi),
      new RegExp(
        `^RangeError: lax\\.foriLoop\\(\\): the ${name} bound ${
          name === "lower" ? lo : hi
        } is outside int32's range`,
      ),
    );
  }
});

Deno.test("whileLoop: eager, jit, jvp, vmap with a per-example condition, and its errors", () => {
  const dbl = (x: Tensor) =>
    lax.whileLoop((v: Tensor) => less(v, 100), (v: Tensor) => mul(v, 2), x);
  assert.equal(dbl(tensor(3)).itemSync(), 192);
  assert.equal(jit(dbl)(tensor(3)).itemSync(), 192);
  assert.equal(jit(dbl)(tensor(200)).itemSync(), 200); // zero trips
  const [y, t] = jvp(dbl, [tensor(3)], [tensor(1)]);
  assert.deepEqual([y.itemSync(), t.itemSync()], [192, 64]);
  // Each example stops on its own; the loop runs until all have.
  assert.deepEqual(vmap(dbl)(tensor([3, 50, 200, 1])).arraySync(), [192, 100, 200, 128]);
  // A batched body with a shared condition (a counter).
  const scaled = vmap((s: Tensor) =>
    lax.whileLoop(
      ([i]: [Tensor, Tensor]) => less(i, 3),
      ([i, v]: [Tensor, Tensor]) => [add(i, 1), mul(v, s)] as [Tensor, Tensor],
      [i32(0), tensor(1)] as [Tensor, Tensor],
    )[1]
  )(tensor([2, 3]));
  assert.deepEqual(scaled.arraySync(), [8, 27]);
  checkGrads(
    (x: Tensor) =>
      lax.whileLoop(
        ([i]: [Tensor, Tensor]) => less(i, 4),
        ([i, v]: [Tensor, Tensor]) => [add(i, 1), mul(sin(v), x)] as [Tensor, Tensor],
        [i32(0), x] as [Tensor, Tensor],
      )[1],
    [f64(0.8)],
    { modes: ["fwd"] },
  );
  assert.throws(() => grad(dbl)(tensor(3)), /reverse-mode differentiation .* not supported/);
  assert.throws(
    () => lax.whileLoop((v: Tensor) => v, (v: Tensor) => v, tensor(1)),
    /condFn must return a bool scalar tensor, got float32 of shape \[\]/,
  );
  assert.throws(
    () => lax.whileLoop((v: Tensor) => less(v, 1), (v: Tensor) => v.cast("int32"), tensor(0)),
    /lax\.whileLoop\(\): bodyFn returns carry with shape \[\] and dtype int32, but it came in with .* float32/,
  );
});

Deno.test("cond and switch: eager, jit (one program for both branches), grads, clamping", () => {
  const branches = [(v: Tensor) => v.neg(), (v: Tensor) => v.square(), (v: Tensor) => v.exp()];
  let traces = 0;
  const sw = jit((i: Tensor, x: Tensor) => {
    traces++;
    return lax.switch(i, branches, x);
  });
  assert.deepEqual(sw(i32(1), tensor([3])).arraySync(), [9]);
  assert.deepEqual(sw(i32(0), tensor([3])).arraySync(), [-3]);
  assert.deepEqual(sw(i32(7), tensor([0])).arraySync(), [1]); // clamped to the last
  assert.deepEqual(sw(i32(-1), tensor([2])).arraySync(), [-2]); // clamped to the first
  assert.equal(traces, 1);
  assert.deepEqual(lax.switch(1, branches, tensor([4])).arraySync(), [16]); // a number: called
  // Gradients go through the chosen branch only.
  const f = (x: Tensor, i: Tensor) => sum(lax.switch(i, branches, x));
  assert.deepEqual(grad(f)(tensor([3, 4]), i32(1)).arraySync(), [6, 8]);
  assert.deepEqual(jit(grad(f))(tensor([3, 4]), i32(0)).arraySync(), [-1, -1]);
  checkGrads((x: Tensor) => sum(lax.switch(i32(2), branches, x)), [f64([0.1, -0.3])], { order: 2 });
  // cond with a closed-over traced value and a pytree result.
  const g = (x: Tensor, y: Tensor) =>
    lax.cond(
      greater(sum(x), 0),
      (v: Tensor) => ({ a: mul(v, y), b: v }),
      (v: Tensor) => ({ a: v.neg(), b: mul(v, 0) }),
      x,
    ).a;
  assert.deepEqual(g(tensor([2]), tensor([5])).arraySync(), [10]);
  assert.deepEqual(jit(g)(tensor([-2]), tensor([5])).arraySync(), [2]);
  const [gx, gy] = grad((x: Tensor, y: Tensor) => sum(g(x, y)), { argnums: [0, 1] })(
    tensor([2]),
    tensor([5]),
  );
  assert.deepEqual([gx.arraySync(), gy.arraySync()], [[5], [2]]);
  const [yv, yt] = jvp((x: Tensor) => g(x, tensor([5])), [tensor([-2])], [tensor([1])]);
  assert.deepEqual([yv.arraySync(), yt.arraySync()], [[2], [-1]]);
  assert.equal(lax.cond(true, () => tensor(1), () => tensor(2)).itemSync(), 1);
});

Deno.test("cond and switch: vmap with a shared and a per-example index", () => {
  const branches = [(v: Tensor) => v.neg(), (v: Tensor) => v.square(), (v: Tensor) => v.exp()];
  const sw = (i: Tensor, x: Tensor) => lax.switch(i, branches, x);
  assert.deepEqual(
    vmap(sw)(tensor([0, 1, 2], { dtype: "int32" }), tensor([[1], [2], [0]])).arraySync(),
    [
      [-1],
      [4],
      [1],
    ],
  );
  assert.deepEqual(vmap(sw, { inAxes: [null, 0] })(i32(1), tensor([[1], [2]])).arraySync(), [[1], [
    4,
  ]]);
  // Per-example: grads of each example's own branch.
  const per = vmap(grad((x: Tensor, i: Tensor) => sum(sw(i, x))))(
    tensor([[3], [3], [0]]),
    tensor([0, 1, 2], { dtype: "int32" }),
  );
  assert.deepEqual(per.arraySync(), [[-1], [6], [1]]);
  // relu by cond, per example.
  const relu = vmap((x: Tensor) => lax.cond(greater(x, 0), (v: Tensor) => v, () => tensor(0), x));
  assert.deepEqual(relu(tensor([-1, 2, -3, 4])).arraySync(), [0, 2, 0, 4]);
});

Deno.test("cond and switch: errors name the branch and what differs", () => {
  assert.throws(
    () => lax.cond(tensor(true), (v: Tensor) => v, (v: Tensor) => reshape(v, [1]), tensor(1)),
    /lax\.cond\(\): output leaf 0 of trueFn has shape \[\] .* falseFn's has shape \[1\]/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => lax.switch(i32(0), [(v: Tensor): any => v, (v: Tensor) => [v, v]], tensor(1)),
    /branch 1 returns .* but branch 0 returns/,
  );
  assert.throws(
    () => lax.cond(tensor([true, false]), (v: Tensor) => v, (v: Tensor) => v, tensor(1)),
    /pred must be a scalar/,
  );
  assert.throws(
    () => lax.switch(tensor(1), [(v: Tensor) => v], tensor(1)),
    /int32 scalar tensor, got float32/,
  );
  assert.throws(() => lax.switch(i32(0), [], tensor(1)), /non-empty array/);
});

Deno.test("control flow on a backend without synchronous reads: switch selects, whileLoop says why", async () => {
  await onHostlessBackend(() => {
    const sw = (i: Tensor, x: Tensor) =>
      lax.switch(i, [(v: Tensor) => v.neg(), (v: Tensor) => v.square()], x);
    const out = jit(sw)(i32(1), tensor([3]));
    assert.equal(out._backend!.name, "hostless");
    // Scan needs no reads at all.
    const [c] = lax.scan((c: Tensor, x: Tensor) => [add(c, x), null], tensor(0), tensor([1, 2]));
    assert.equal(c._backend!.name, "hostless");
    assert.throws(
      () => lax.whileLoop((v: Tensor) => less(v, 3), (v: Tensor) => add(v, 1), tensor(0)),
      /whileLoop\(\): the hostless backend cannot read the loop condition .* lax\.foriLoop with number bounds/,
    );
  });
});

Deno.test("scan: reverse mode saves the step's products, not its elementwise chain; jitted calls keep memory flat", async () => {
  const { p, xs, h0 } = rnnArgs();
  // The backward scan's body: no product recomputes the forward (x·U, h·W are saved);
  // tanh is recomputed inside the backward's elementwise chain.
  const g = makeJaxpr(grad((q: Rnn) => rnnScan(q, xs, h0)))(p);
  const bodies = g.equations.flatMap((e) => {
    const m = multiInfo(e);
    return m !== undefined && m.index === 0 ? [(m.call.params as { body: Program }).body] : [];
  });
  assert.equal(bodies.length, 2);
  const names = (b: Program) => b.equations.map((e) => e.prim.name);
  assert.equal(names(bodies[0]).filter((n) => n === "matmul").length, 2); // forward: h·W, x·U
  // backward: dh·Wᵀ (the carry), hᵀ·dz (W), xᵀ·dz (U); x is not differentiated
  assert.equal(names(bodies[1]).filter((n) => n === "matmul").length, 3);
  assert.ok(names(bodies[1]).includes("tanh"));
  // 60 calls of the jitted training gradient: the arena's bytes in use do not grow.
  const be = new WasmBackend({ memoryLimit: 2 ** 28, gcBudget: 2 ** 28 });
  await onBackend("wasm-scan-memory", be, () => {
    const q = {
      W: tensor(p.W.arraySync() as number[][]),
      U: tensor(p.U.arraySync() as number[][]),
    };
    const x = tensor(xs.arraySync() as number[][][]), h = tensor(h0.arraySync() as number[][]);
    const step = jit((q: Rnn) => grad((r: Rnn) => rnnScan(r, x, h))(q));
    const used: number[] = [];
    for (let i = 0; i < 60; i++) {
      const out = step(q);
      out.W.dispose();
      out.U.dispose();
      used.push(be.memoryStats().usedBytes);
    }
    assert.equal(
      used[59],
      used[9],
      `bytes in use: ${used[9]} after 10 calls, ${used[59]} after 60`,
    );
  });
});

Deno.test("scan and map over a length-1 axis leave the caller's xs alive (cpu, wasm)", async () => {
  // A row of a length-1 axis is the whole tensor: it was freed with the row.
  for (const name of ["cpu", "wasm"]) {
    await withBackend(name, () => {
      const xs = tensor([5]), xs2 = tensor([[1, 2]]);
      const step = (c: Tensor, x: Tensor): [Tensor, Tensor] => [add(c, x), mul(x, 2)];
      const [c, ys] = lax.scan(step, zeros([]), xs);
      assert.deepEqual([c.arraySync(), ys.arraySync()], [5, [10]], name);
      lax.scan(step, zeros([2]), xs2, { reverse: true });
      assert.deepEqual(lax.map((x: Tensor) => mul(x, 3), xs).arraySync(), [15], name);
      const g = grad((v: Tensor) =>
        lax.scan((c: Tensor, x: Tensor) => [mul(c, x), c], tensor(2), v)[0]
      );
      assert.deepEqual(g(xs).arraySync(), [2], name);
      const f = jit((v: Tensor) => lax.scan(step, zeros([]), v)[0]);
      assert.equal(f(xs).itemSync(), 5, name);
      assert.equal(f(xs).itemSync(), 5, `${name}: a second call on the same input`);
      assert.deepEqual([xs.arraySync(), xs2.arraySync()], [[5], [[1, 2]]], `${name}: xs kept`);
    });
  }
});

Deno.test("reading a value inside a body or branch says so (it said 'while jit traces' eagerly, suggesting lax.cond inside lax.cond)", () => {
  const read = (y: Tensor) => {
    y.dataSync();
    return y;
  };
  assert.throws(
    () => lax.cond(tensor(true), read, (y: Tensor) => y, tensor(1)),
    /^Error: dataSync\(\): cannot read a traced tensor \(float32\[\]\) while a lax\.scan, foriLoop, whileLoop, cond, switch or checkpoint body is traced: .* or read it outside the body$/,
  );
  assert.throws(
    () => lax.scan((c: Tensor, x: Tensor) => [read(c), x], tensor(0), tensor([1, 2])),
    /while a lax\.scan, foriLoop, whileLoop, cond, switch or checkpoint body is traced/,
  );
  // Directly under jit, the jit message.
  assert.throws(() => jit(read)(tensor(1)), /while jit traces the function/);
});
