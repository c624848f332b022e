import assert from "node:assert/strict";
import {
  arange,
  batches,
  cast,
  numBatches,
  numExamples,
  random,
  randomBatch,
  reshape,
  type Tensor,
  tensor,
  trainValidSplit,
  zeros,
} from "../../mod.ts";
import { onHostlessBackend } from "../_helpers.ts";
import { collectMade } from "../../src/core/tensor.ts";

type Data = { x: Tensor; y: Tensor };

/** x[i] = [2i, 2i+1], y[i] = i: every row can be traced back to its example. */
function dataset(n: number): Data {
  return { x: cast(reshape(arange(2 * n), [n, 2]), "float32"), y: arange(n) };
}

function ids(batch: Data): number[] {
  return Array.from(batch.y.dataSync());
}

/** Checks the rows of x still match their labels. */
function assertAligned(batch: Data): void {
  const x = batch.x.dataSync();
  ids(batch).forEach((id, r) => {
    assert.equal(x[2 * r], 2 * id);
    assert.equal(x[2 * r + 1], 2 * id + 1);
  });
}

Deno.test("numBatches: ceil, or floor with dropLast", () => {
  assert.equal(numBatches(10, 3), 4);
  assert.equal(numBatches(10, 3, true), 3);
  assert.equal(numBatches(9, 3), 3);
  assert.equal(numBatches(0, 3), 0);
  assert.throws(() => numBatches(10, 0), /batchSize must be a positive integer, got 0/);
  assert.throws(() => numBatches(-1, 2), /n must be a non-negative integer/);
  // "yes" was truthy: 3 batches of 10 where 4 were asked.
  assert.throws(
    () => numBatches(10, 3, "yes" as never),
    /^TypeError: numBatches\(\): dropLast must be true or false, got string yes/,
  );
  assert.throws(
    () => [...batches({ x: tensor([1, 2]) }, undefined as never)],
    /^TypeError: batches\(\): expected an options object/,
  );
});

Deno.test("batches: in order without a key, last batch smaller", () => {
  const bs = [...batches(dataset(7), { batchSize: 3 })];
  assert.deepEqual(bs.map(ids), [[0, 1, 2], [3, 4, 5], [6]]);
  bs.forEach(assertAligned);
  assert.deepEqual(bs[2].x.shape, [1, 2]);
});

Deno.test("batches: dropLast drops the short batch", () => {
  const bs = [...batches(dataset(7), { batchSize: 3, dropLast: true })];
  assert.deepEqual(bs.map(ids), [[0, 1, 2], [3, 4, 5]]);
  assert.equal([...batches(dataset(2), { batchSize: 3, dropLast: true })].length, 0);
});

Deno.test("batches: shuffled with a key covers every example exactly once", () => {
  const n = 23;
  const bs = [...batches(dataset(n), { batchSize: 5, key: random.key(3) })];
  assert.equal(bs.length, numBatches(n, 5));
  bs.forEach(assertAligned);
  const all = bs.flatMap(ids);
  assert.deepEqual([...all].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
  assert.notDeepEqual(all, Array.from({ length: n }, (_, i) => i), "not shuffled");
});

Deno.test("batches: the same key gives the same order, another key another", () => {
  const order = (seed: number) =>
    [...batches(dataset(20), { batchSize: 4, key: random.key(seed) })].flatMap(ids);
  assert.deepEqual(order(1), order(1));
  assert.notDeepEqual(order(1), order(2));
});

Deno.test("batches: shuffled with dropLast leaves out n % batchSize random examples", () => {
  const bs = [...batches(dataset(10), { batchSize: 4, key: random.key(0), dropLast: true })];
  assert.equal(bs.length, 2);
  assert.equal(new Set(bs.flatMap(ids)).size, 8);
});

Deno.test("batches: shuffle false with a key keeps the order; shuffle without a key is an error", () => {
  const bs = [...batches(dataset(4), { batchSize: 2, key: random.key(0), shuffle: false })];
  assert.deepEqual(bs.map(ids), [[0, 1], [2, 3]]);
  assert.throws(
    () => batches(dataset(4), { batchSize: 2, shuffle: true }),
    /batches\(\): shuffle needs a key/,
  );
});

Deno.test("batches: works on a single tensor and nested trees", () => {
  const single = [...batches(arange(5), { batchSize: 2 })];
  assert.deepEqual(single.map((t) => Array.from(t.dataSync())), [[0, 1], [2, 3], [4]]);
  const nested = [...batches({ a: [zeros([4, 3]), zeros([4])], b: { c: zeros([4, 1, 2]) } }, {
    batchSize: 3,
  })];
  assert.deepEqual(nested[0].a[0].shape, [3, 3]);
  assert.deepEqual(nested[1].b.c.shape, [1, 1, 2]);
});

Deno.test("batches: a leading-axis mismatch names the paths and sizes, before iterating", () => {
  assert.throws(
    () => batches({ x: zeros([10, 3]), y: zeros([9]) }, { batchSize: 2 }),
    /^ShapeError: batches\(\): leading \(example\) axes differ: data\.x has 10 examples but data\.y has 9 \(shape \[9\]\)/,
  );
  assert.throws(
    () => batches({ layers: [{ x: zeros([4]) }, { x: zeros([5, 2]) }] }, { batchSize: 2 }),
    /data\.layers\[0\]\.x has 4 examples but data\.layers\[1\]\.x has 5/,
  );
  assert.throws(() => batches({ x: tensor(1) }, { batchSize: 2 }), /data\.x is a scalar/);
  assert.throws(() => batches({ x: [1, 2] }, { batchSize: 2 }), /data\.x\[0\] must be a tensor/);
  assert.throws(() => batches({}, { batchSize: 2 }), /data has no tensors/);
  assert.throws(
    () => batches(dataset(3), { batchSize: 1.5 }),
    /batchSize must be a positive integer/,
  );
});

Deno.test("numExamples: the common leading size", () => {
  assert.equal(numExamples(dataset(6)), 6);
  assert.throws(() => numExamples({ a: zeros([2]), b: zeros([3]) }), /numExamples\(\): leading/);
  assert.throws(
    () => numExamples([zeros([2]), zeros([3])], { op: "myLoader()", root: "batch" }),
    /^ShapeError: myLoader\(\): leading \(example\) axes differ: batch\[0\] has 2 examples but batch\[1\] has 3/,
  );
});

Deno.test("randomBatch: only the batch is left; the draw's intermediates are freed at once", () => {
  const data = dataset(10);
  const key = random.key(3);
  const made: Tensor[] = [];
  const b = collectMade(made, () => randomBatch(key, data, 4));
  const alive = made.filter((t) => !t._disposed);
  assert.deepEqual(alive, [b.x, b.y]);
  assert.ok(made.length > 2, "the draw made intermediates");
});

Deno.test("randomBatch: shapes, aligned rows, sampled with replacement", () => {
  const data = dataset(10);
  const b = randomBatch(random.key(0), data, 4);
  assert.deepEqual(b.x.shape, [4, 2]);
  assert.deepEqual(b.y.shape, [4]);
  assertAligned(b);
  // Deterministic for a key.
  assert.deepEqual(ids(randomBatch(random.key(0), data, 4)), ids(b));
  // More picks than examples is fine, and repeats must occur.
  const big = ids(randomBatch(random.key(1), data, 50));
  assert.equal(big.length, 50);
  assert.ok(big.every((i) => i >= 0 && i < 10));
  assert.ok(new Set(big).size < 50);
  // With replacement, a batch of 5 from 10 has a repeat for some key.
  let repeats = 0;
  for (let s = 0; s < 20; s++) {
    const picks = ids(randomBatch(random.key(s), data, 5));
    if (new Set(picks).size < 5) repeats++;
  }
  assert.ok(repeats > 0, "never sampled an example twice: not with replacement?");
  assert.throws(() => randomBatch(random.key(0), { x: zeros([0, 2]) }, 2), /0 examples/);
});

Deno.test("trainValidSplit: sizes, disjoint, covering, deterministic", () => {
  const data = dataset(10);
  const [train, valid] = trainValidSplit(data, { validFraction: 0.3, key: random.key(5) });
  assert.deepEqual(train.x.shape, [7, 2]);
  assert.deepEqual(valid.x.shape, [3, 2]);
  assertAligned(train);
  assertAligned(valid);
  const t = ids(train);
  const v = ids(valid);
  assert.equal(new Set([...t, ...v]).size, 10);
  const [train2] = trainValidSplit(data, { validFraction: 0.3, key: random.key(5) });
  assert.deepEqual(ids(train2), t);
  // floor(N · fraction) validation examples, as in the book.
  const [, v2] = trainValidSplit(dataset(9), { validFraction: 0.25, key: random.key(0) });
  assert.equal(v2.y.shape[0], 2);
});

Deno.test("trainValidSplit: clear errors", () => {
  const data = dataset(10);
  for (const f of [0, 1, -0.1, 1.5, NaN]) {
    assert.throws(
      () => trainValidSplit(data, { validFraction: f, key: random.key(0) }),
      /validFraction must be a number strictly between 0 and 1/,
    );
  }
  assert.throws(
    () => trainValidSplit(data, { validFraction: 0.05, key: random.key(0) }),
    /leaves no validation examples/,
  );
  assert.throws(
    () =>
      trainValidSplit({ x: zeros([3]), y: zeros([4]) }, { validFraction: 0.5, key: random.key(0) }),
    /trainValidSplit\(\): leading \(example\) axes differ/,
  );
});

Deno.test("batching never reads values back to the host", async () => {
  await onHostlessBackend(() => {
    const data = dataset(12);
    let count = 0;
    for (const b of batches(data, { batchSize: 5, key: random.key(0) })) {
      assert.equal(b.x.ndim, 2);
      count++;
    }
    assert.equal(count, 3);
    randomBatch(random.key(1), data, 4);
    trainValidSplit(data, { validFraction: 0.25, key: random.key(2) });
  });
});
