/**
 * Reductions fused with their elementwise producers under `jit`
 * (src/jit/fuse.ts): on `wasm` a `sum`/`max`/`min` absorbs the elementwise
 * ops only it reads and runs as one IR reduction kernel whose results equal
 * the eager kernels bit for bit (same prologue expressions, same reduce
 * renderer and summation order); on `cpu` (no `fused` hook) nothing changes.
 * The kernel counter of the interpreter shows how many kernels ran.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  add,
  div,
  exp,
  getBackend,
  logsumexp,
  makeJaxpr,
  max,
  mean,
  min,
  mul,
  neg,
  nn,
  random,
  sqrt,
  square,
  sub,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
} from "../../mod.ts";
import { assertSameTree, jitted } from "./_helpers.ts";

const fuses = getBackend() !== "cpu";

/** The optimised program as text. */
function optimized(f: (...a: Tensor[]) => unknown, ...args: Tensor[]): string {
  return makeJaxpr(f, { optimized: true })(...args).toString();
}

/** Normal values with edge values (signed zeros, ±∞, NaN, large magnitudes) spread over the rows. */
function values(seed: number, shape: number[], edges = true): Tensor {
  const x = random.normal(random.key(seed), shape).mul(4);
  if (!edges) return x;
  const data = Array.from(x.dataSync());
  const EDGES = [0, -0, 1e-30, -3e38, 88.5, -104, Infinity, -Infinity, NaN];
  EDGES.forEach((v, i) => (data[(i * 7919) % data.length] = v));
  return tensor(data).reshape(shape);
}

Deno.test("reduce fusion: mean of a square is one reduction kernel, bit for bit", () => {
  const f = (x: Tensor) => mean(square(x), 1);
  const x = values(1, [9, 37], false);
  const [got, runs] = jitted(f, x);
  assertSameTree(got, f(x), "mean(x²)");
  // square, sum and the division by the count: one kernel (the division is its epilogue)
  assert.equal(runs, fuses ? 1 : 3);
  if (fuses) {
    assert.match(
      optimized(f, x),
      /b:f32\[9\] = fused\[ops=\[square,sum,div\] consts=\[37\] axes=\[1\] keepdims=false\] a\n/,
    );
  }
});

Deno.test("reduce fusion: elementwise ops after a reduction become its epilogue", () => {
  const cases: [string, (x: Tensor, m: Tensor) => Tensor | Tensor[], number[], number[], number][] =
    [
      // [name, f, x's shape, m's shape, kernels when fused]
      [
        "rows, an operand per output",
        (x, m) => div(sum(exp(sub(x, m)), 1, { keepdims: true }), m),
        [13, 37],
        [13, 1],
        1,
      ],
      [
        "columns (inner 40), result read twice",
        (x, m) => {
          const s = max(mul(x, m), 0, { keepdims: true });
          return mul(s, add(s, m));
        },
        [11, 40],
        [1, 40],
        1,
      ],
      [
        "columns (inner 6), a scalar",
        (x, m) => neg(sqrt(sum(mul(x, m), 1))),
        [5, 7, 6],
        [5, 1, 6],
        1,
      ],
      [
        "a reduction that is an output too",
        (x, m) => {
          const s = sum(mul(x, m), 1);
          return [s, exp(s)];
        },
        [13, 37],
        [13, 1],
        2,
      ],
      [
        "a consumer of another dtype",
        (x, m) => sum(mul(x, m), 1).cast("int32"),
        [13, 37],
        [13, 1],
        2,
      ],
      [
        "a consumer broadcasting the result up",
        (x, m) => add(min(mul(x, 2), 1, { keepdims: true }), mul(x, m)),
        [13, 37],
        [13, 1],
        2,
      ],
    ];
  for (const [name, f, xs, ms, kernels] of cases) {
    const x = values(11, xs), m = values(12, ms, false);
    const [got, runs] = jitted(f, x, m);
    assertSameTree(got, f(x, m), name);
    assert.equal(runs, fuses ? kernels : makeJaxpr(f)(x, m).equations.length, name);
  }
});

Deno.test("reduce fusion: rows, columns and several contiguous axes, with broadcast operands", () => {
  // operands: whole, the same along the reduced axes ([.., 1, ..]) and scalars
  const cases: [string, (x: Tensor, m: Tensor) => Tensor, number[], number[]][] = [
    ["rows", (x, m) => sum(exp(sub(x, m)), 1, { keepdims: true }), [13, 37], [13, 1]],
    ["columns (inner 37)", (x, m) => sum(mul(neg(x), m), 0), [11, 37], [1, 37]],
    ["columns (inner 3)", (x, m) => max(mul(x, m), 1), [5, 7, 3], [5, 1, 3]],
    ["columns (inner 32)", (x, m) => min(sub(mul(x, 2), m), 1), [2, 9, 32], [2, 1, 32]],
    ["axes [1,2]", (x, m) => sum(mul(x, m), [1, 2]), [4, 5, 6], [4, 1, 1]],
    ["axes [0,1]", (x, m) => sum(mul(sub(x, m), 0.5), [0, 1]), [6, 7, 5], [1, 1, 5]],
    ["all axes", (x, m) => sum(mul(square(x), m)), [8, 9], []],
  ];
  for (const [name, f, xs, ms] of cases) {
    const x = values(2, xs), m = values(3, ms, false);
    const [got, runs] = jitted(f, x, m);
    assertSameTree(got, f(x, m), name);
    const traced = makeJaxpr(f)(x, m).equations.length;
    assert.equal(runs, fuses ? 1 : traced, name);
    if (fuses) {
      assert.match(
        optimized(f, x, m),
        /= fused\[ops=\[.*(sum|max|min)\]( consts=\[[^\]]*\])? axes=/,
        name,
      );
    }
  }
});

Deno.test("reduce fusion: softmax, logsumexp and softmax cross entropy (value and gradient)", () => {
  const logits = values(4, [16, 10]);
  const y = tensor(Array.from({ length: 16 }, (_, i) => (i * 3) % 10), { dtype: "int32" });
  const softmax = (x: Tensor) => nn.softmax(mul(x, 0.5));
  assertSameTree(jitted(softmax, logits)[0], softmax(logits), "softmax");
  const lse = (x: Tensor) => logsumexp(mul(x, 0.5), 1);
  assertSameTree(jitted(lse, logits)[0], lse(logits), "logsumexp");
  const finite = values(5, [16, 10], false);
  const loss = (x: Tensor, t: Tensor) => nn.softmaxCrossEntropy(x, t);
  const step = (x: Tensor, t: Tensor) => valueAndGrad(loss)(x, t);
  const [got, runs] = jitted(step, finite, y);
  assertSameTree(got, step(finite, y), "softmax cross entropy and its gradient");
  const p = makeJaxpr(step, { optimized: true })(finite, y);
  assert.equal(runs, p.equations.length);
  if (fuses) {
    // the row maximum and its finite part (a stopGradient between them): one kernel
    assert.match(
      p.toString(),
      /= fused\[ops=\[max,stopGradient,abs,less,where\] consts=\[Infinity,0\] axes=\[1\] keepdims=true\] c\n/,
    );
    // the label-weighted log-softmax (0 where a label is 0, even at a −∞ logit), then its
    // sum, negated and divided by the batch: one kernel each
    assert.match(
      p.toString(),
      /= fused\[ops=\[mul,where\] consts=\[0\]\] [a-z]+ [a-z]+ [a-z]+\n.*= fused\[ops=\[sum,neg,div\] consts=\[16\] axes=\[0,1\] keepdims=false\] [a-z]+\n/,
    );
  }
});

Deno.test("reduce fusion: a producer read twice, non-contiguous axes and other broadcasts stay unfused", () => {
  const twice = (x: Tensor) => {
    const e = exp(x);
    return [sum(e, 1), mul(e, 2)];
  };
  const gaps = (x: Tensor, m: Tensor) => sum(mul(x, m), [0, 2]);
  const along = (x: Tensor, r: Tensor) => sum(mul(x, r), 1); // r varies along the reduced axis
  const x = values(6, [4, 5, 6]), m = values(7, [4, 5, 6], false);
  const r = values(8, [6], false);
  assertSameTree(jitted(twice, x)[0], twice(x), "producer read twice");
  assertSameTree(jitted(gaps, x, m)[0], gaps(x, m), "axes [0, 2]");
  assertSameTree(jitted(along, x.reshape([20, 6]), r)[0], along(x.reshape([20, 6]), r), "row");
  if (fuses) {
    assert.doesNotMatch(optimized(twice, x), /sum\] axes/);
    assert.match(optimized(twice, x), /= sum\[axes=\[1\]/);
    assert.match(optimized(gaps, x, m), /= mul a b\n.*= sum\[axes=\[0,2\]/);
    assert.match(optimized(along, x.reshape([20, 6]), r), /= mul a b\n.*= sum\[axes=\[1\]/);
  }
});

Deno.test("reduce fusion: int32 and bool reductions stay correct (fused only where the backend's reduce is its IR kernel)", () => {
  const count = (x: Tensor) => sum(mul(x, x).greater(1)); // bool sum: int32 count
  const isum = (x: Tensor) => sum(neg(x.cast("int32")), 0);
  const x = values(9, [7, 9]);
  assertSameTree(jitted(count, x)[0], count(x), "count");
  assertSameTree(jitted(isum, x)[0], isum(x), "int32 sum");
  // int32 operands of a float32 reduction (whole, and one per row)
  const weighted = (v: Tensor, n: Tensor, m: Tensor) => sum(mul(add(n, m).cast("float32"), v), 1);
  const n = tensor(Array.from({ length: 63 }, (_, i) => (i * 7919) % 23 - 11), { dtype: "int32" });
  const m = tensor([3, -7, 46341, 2147483647, -2147483648, 0, 5], { dtype: "int32" });
  const args = [x, n.reshape([7, 9]), m.reshape([7, 1])];
  const [got, runs] = jitted(weighted, ...args);
  assertSameTree(got, weighted(args[0], args[1], args[2]), "int32 operands");
  assert.equal(runs, fuses ? 1 : 4);
  if (getBackend() === "wasm") assert.doesNotMatch(optimized(isum, x), /fused\[ops=\[[a-z,]*sum\]/);
});

Deno.test("wasm logsumexp over columns (inner ≥ 16) matches a float64 reference", () => {
  // The reduce renderer's epilogue once read the operands of the last
  // vector of a 16-column block for its first vector.
  const x = values(10, [3, 40], false);
  const got = Array.from(logsumexp(x, 0).dataSync());
  const want = Array.from(logsumexp(x.cast("float64"), 0).dataSync());
  got.forEach((g, i) =>
    assert.ok(Math.abs(g - want[i]) <= 4e-7 * Math.abs(want[i]) + 1e-6, `${i}`)
  );
});
