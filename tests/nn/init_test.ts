/**
 * Initializers: sample statistics of large weights, fan-in/fan-out rules,
 * determinism, dtypes and `getInitializer` names.
 */

import assert from "node:assert/strict";
import { nn, random, type Tensor } from "../../mod.ts";
import { assertTensor, assertThrowsMatch } from "../ops/_helpers.ts";

/** Sample mean and standard deviation, read back on the host (tests only). */
function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const v = t.dataSync();
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of v) {
    s += x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = s / v.length;
  let q = 0;
  for (const x of v) q += (x - mean) ** 2;
  return { mean, std: Math.sqrt(q / v.length), min, max };
}

// A non-square weight tells fan-in from fan-out rules apart.
const SHAPE = [500, 300];
const FAN_IN = 500;
const FAN_OUT = 300;

const NORMAL_CASES: Array<[string, nn.Initializer, number]> = [
  ["normal(0.01)", nn.init.normal(0.01), 0.01],
  ["normal() (default 0.01)", nn.init.normal(), 0.01],
  ["xavier: 1/√fanIn", nn.init.xavier(), 1 / Math.sqrt(FAN_IN)],
  ["glorotNormal: √(2/(fanIn+fanOut))", nn.init.glorotNormal(), Math.sqrt(2 / (FAN_IN + FAN_OUT))],
  ["he: √(2/fanIn)", nn.init.he(), Math.sqrt(2 / FAN_IN)],
  ["heNormal: √(2/fanIn)", nn.init.heNormal(), Math.sqrt(2 / FAN_IN)],
];

for (const [name, init, std] of NORMAL_CASES) {
  Deno.test(`init ${name}: std within 2% and mean ≈ 0 for a [500, 300] weight`, () => {
    const w = init(random.key(7), SHAPE);
    assert.deepEqual(w.shape, SHAPE);
    assert.equal(w.dtype, "float32");
    const s = stats(w);
    // With 150 000 samples the std's relative standard error is ≈ 0.18%.
    assert.ok(Math.abs(s.std / std - 1) < 0.02, `std ${s.std}, want ${std}`);
    assert.ok(Math.abs(s.mean) < 5 * std / Math.sqrt(150000), `mean ${s.mean}`);
  });
}

Deno.test("init glorotUniform: inside ±√(6/(fanIn+fanOut)) with the matching std", () => {
  const limit = Math.sqrt(6 / (FAN_IN + FAN_OUT));
  const s = stats(nn.init.glorotUniform()(random.key(3), SHAPE));
  assert.ok(s.min >= -limit && s.max < limit, `range [${s.min}, ${s.max}] vs ±${limit}`);
  assert.ok(s.min < -0.99 * limit && s.max > 0.99 * limit, "uses the whole range");
  assert.ok(Math.abs(s.std / (limit / Math.sqrt(3)) - 1) < 0.02, `std ${s.std}`);
});

Deno.test("init: the 500×500 book case (xavier and he), std within 2%", () => {
  const w1 = nn.init.xavier()(random.key(0), [500, 500]);
  const w2 = nn.init.he()(random.key(0), [500, 500]);
  assert.ok(Math.abs(stats(w1).std * Math.sqrt(500) - 1) < 0.02);
  assert.ok(Math.abs(stats(w2).std / Math.sqrt(2 / 500) - 1) < 0.02);
});

Deno.test("init.computeFans: dense [in, out], vectors, scalars and [out, in, ...kernel] filters", () => {
  assert.deepEqual(nn.init.computeFans([784, 100]), [784, 100]);
  assert.deepEqual(nn.init.computeFans([10]), [10, 10]);
  assert.deepEqual(nn.init.computeFans([]), [1, 1]);
  // The book's conv filter (FN, C, FH, FW) = (30, 1, 5, 5): fanIn = C·FH·FW = 25.
  assert.deepEqual(nn.init.computeFans([30, 1, 5, 5]), [25, 750]);
  // He on a conv filter: std √(2/25).
  const s = stats(nn.init.he()(random.key(1), [400, 3, 5, 5]));
  assert.ok(Math.abs(s.std / Math.sqrt(2 / 75) - 1) < 0.02, `std ${s.std}`);
});

Deno.test("init: deterministic for a key, different across keys, dtype follows the argument", () => {
  for (const init of [nn.init.normal(), nn.init.xavier(), nn.init.glorotUniform(), nn.init.he()]) {
    const a = init(random.key(5), [4, 3]);
    const b = init(random.key(5), [4, 3]);
    const c = init(random.key(6), [4, 3]);
    assert.deepEqual([...a.dataSync()], [...b.dataSync()]);
    assert.notDeepEqual([...a.dataSync()], [...c.dataSync()]);
    assert.equal(init(random.key(5), [4, 3], "float64").dtype, "float64");
  }
  assertTensor(nn.init.zeros(random.key(0), [2, 2]), [[0, 0], [0, 0]], "float32");
  assertTensor(nn.init.ones(random.key(0), [3], "float64"), [1, 1, 1], "float64");
});

Deno.test("getInitializer: names, numbers (std) and functions", () => {
  const k = random.key(9);
  const same = (a: nn.Initializer, b: nn.Initializer) =>
    assert.deepEqual([...a(k, [50, 20]).dataSync()], [...b(k, [50, 20]).dataSync()]);
  same(nn.getInitializer("normal"), nn.init.normal(0.01));
  same(nn.getInitializer("xavier"), nn.init.xavier());
  same(nn.getInitializer("glorot_normal"), nn.init.glorotNormal());
  same(nn.getInitializer("glorot_uniform"), nn.init.glorotUniform());
  same(nn.getInitializer("he"), nn.init.he());
  same(nn.getInitializer("he_normal"), nn.init.he());
  same(nn.getInitializer("zeros"), nn.init.zeros);
  same(nn.getInitializer("ones"), nn.init.ones);
  same(nn.getInitializer(0.05), nn.init.normal(0.05));
  const custom: nn.Initializer = nn.init.zeros;
  assert.equal(nn.getInitializer(custom), custom);
  assertThrowsMatch(
    () => nn.getInitializer("kaiming" as nn.InitializerName),
    TypeError,
    /^nn\.getInitializer\(\): unknown initializer "kaiming"; use one of "normal", "xavier", "glorot_normal", "glorot_uniform", "he", "he_normal", "zeros", "ones"/,
  );
  assertThrowsMatch(() => nn.init.normal(-1), RangeError, /std must be a finite number ≥ 0/);
  assertThrowsMatch(() => nn.init.he()(k, [0, 3]), Error, /nn\.init\.he\(\): cannot scale/);
});
