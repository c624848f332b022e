import assert from "node:assert/strict";
import { data, random } from "../../mod.ts";

Deno.test("spiral: shapes, dtypes and labels ordered by class", () => {
  const { x, y } = data.spiral({ key: random.key(1984) });
  assert.deepEqual(x.shape, [300, 2]);
  assert.equal(x.dtype, "float32");
  assert.deepEqual(y.shape, [300]);
  assert.equal(y.dtype, "int32");
  const labels = Array.from(y.dataSync());
  assert.deepEqual(labels, [...Array(300)].map((_, k) => Math.floor(k / 100)));
  const small = data.spiral({ pointsPerClass: 7, classes: 5, key: random.key(0) });
  assert.deepEqual(small.x.shape, [35, 2]);
  assert.deepEqual(Array.from(new Set(small.y.dataSync())), [0, 1, 2, 3, 4]);
});

Deno.test("spiral: radius i/N lies in [0, 1 - 1/N], whatever the noise", () => {
  const n = 50;
  const { x } = data.spiral({ pointsPerClass: n, classes: 3, key: random.key(3), noise: 0.5 });
  const v = x.dataSync();
  for (let k = 0; k < 3 * n; k++) {
    const r = Math.hypot(v[2 * k], v[2 * k + 1]);
    const want = (k % n) / n;
    assert.ok(Math.abs(r - want) < 1e-6, `point ${k}: radius ${r}, want ${want}`);
    assert.ok(r >= 0 && r <= 1 - 1 / n + 1e-6);
  }
});

Deno.test("spiral: without noise the angles are exactly 4j + 4·rate", () => {
  const { x } = data.spiral({ pointsPerClass: 4, classes: 2, noise: 0 });
  const v = x.dataSync();
  for (let j = 0; j < 2; j++) {
    for (let i = 0; i < 4; i++) {
      const rate = i / 4;
      const theta = Math.fround(4 * j + 4 * rate);
      const k = j * 4 + i;
      assert.ok(Math.abs(v[2 * k] - rate * Math.sin(theta)) < 1e-6);
      assert.ok(Math.abs(v[2 * k + 1] - rate * Math.cos(theta)) < 1e-6);
    }
  }
});

Deno.test("spiral: the same key gives the same points; another key other points", () => {
  const a = data.spiral({ key: random.key(7) }).x.dataSync();
  const b = data.spiral({ key: random.key(7) }).x.dataSync();
  const c = data.spiral({ key: random.key(8) }).x.dataSync();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("spiral: a missing key and bad sizes are clear errors", () => {
  assert.throws(
    () => data.spiral(),
    /spiral\(\): needs a key for the angle noise; pass \{ key: random\.key\(0\) \}/,
  );
  for (const noise of [Infinity, -1, NaN, "0.1"]) {
    assert.throws(
      () => data.spiral({ noise: noise as number, key: random.key(0) }),
      /^RangeError: spiral\(\): noise must be a finite number >= 0, got /,
    );
  }
  assert.throws(
    () => data.spiral({ pointsPerClass: 0, key: random.key(0) }),
    /pointsPerClass must be a positive integer, got 0/,
  );
  assert.throws(
    () => data.spiral({ classes: 1.5, key: random.key(0) }),
    /classes must be a positive integer/,
  );
  assert.throws(
    () => data.spiral({ noise: -1, key: random.key(0) }),
    /noise must be a finite number >= 0, got -1/,
  );
});

Deno.test("xor: the truth table as float32", () => {
  const { x, y } = data.xor();
  assert.equal(x.dtype, "float32");
  assert.equal(y.dtype, "float32");
  assert.deepEqual(x.arraySync(), [[0, 0], [0, 1], [1, 0], [1, 1]]);
  assert.deepEqual(y.arraySync(), [[0], [1], [1], [0]]);
});

Deno.test("spiral: an unknown option throws instead of being ignored", () => {
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => data.spiral({ points: 10, key: random.key(0) } as any),
    /^TypeError: spiral\(\): unknown option "points"; the options are "pointsPerClass", "classes", "key", "noise"/,
  );
});
