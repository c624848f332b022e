/**
 * PRNG: determinism, independence from call order, the documented stream
 * layout (checked against an independent computation from the Threefry
 * function), sample moments and validation.
 */

import assert from "node:assert/strict";
import {
  DTypeError,
  getBackend,
  jit,
  mean,
  random,
  setBackend,
  square,
  sub,
  type Tensor,
  tensor,
} from "../../mod.ts";
import { threefry2x32 } from "../../src/backend/cpu/threefry.ts";
import { assertClose, HostlessBackend, onBackend, peek } from "../_helpers.ts";

const values = (t: Tensor) => [...t.dataSync()];

Deno.test("key(seed) holds the seed's high and low words", () => {
  assert.deepEqual(values(random.key(42)), [0, 42]);
  assert.deepEqual(values(random.key(2 ** 32 + 5)), [1, 5]);
  assert.deepEqual(values(random.key(-1)), [-1, -1]); // 64-bit two's complement
  assert.throws(() => random.key(1.5), /seed must be a safe integer/);
});

Deno.test("the stream is threefry2x32(key, [0, i]) words, as documented", () => {
  const k = random.key(7);
  const bits = values(random.bits(k, [5])).map((v) => v >>> 0);
  const want: number[] = [];
  for (let i = 0; i < 3; i++) want.push(...threefry2x32(0, 7, 0, i));
  assert.deepEqual(bits, want.slice(0, 5));
  // split(key, n) = consecutive word pairs
  const keys = random.split(k, 3).map((kk) => values(kk).map((v) => v >>> 0));
  assert.deepEqual(keys, [0, 1, 2].map((i) => threefry2x32(0, 7, 0, i)));
  // uniform float32 = (word >>> 8)·2⁻²⁴, exactly
  const u = values(random.uniform(k, [5]));
  assert.deepEqual(u, want.slice(0, 5).map((w) => (w >>> 8) * 2 ** -24));
  // uniform float64 uses two words per value
  const u64 = values(random.uniform(k, [2], { dtype: "float64" }));
  assert.deepEqual(
    u64,
    [0, 1].map((i) => {
      const [w0, w1] = threefry2x32(0, 7, 0, i);
      return ((w0 >>> 5) * 2 ** 26 + (w1 >>> 6)) * 2 ** -53;
    }),
  );
});

Deno.test("randint = floor((a·2²⁴ + b)·range / 2⁴⁸) of words 2i and 2i + 1, exactly (BigInt)", () => {
  const k = random.key(11);
  for (const [low, high] of [[0, 10], [-3, 60000], [0, 3 * 2 ** 22], [0, 2 ** 24]]) {
    const got = values(random.randint(k, [64], low, high));
    const want = Array.from({ length: 64 }, (_, i) => {
      const [a, b] = threefry2x32(0, 11, 0, i).map((w) => BigInt(w >>> 8));
      return Number((((a << 24n) + b) * BigInt(high - low)) >> 48n) + low;
    });
    assert.deepEqual(got, want, `[${low}, ${high})`);
  }
  // Uniform where floor(u·range) of one 24-bit u was not: residues mod 3 of [0, 3·2²²)
  // came out 0.333 / 0.375 / 0.292 (the standard error here is 0.0009; 5 of them allowed).
  const r = values(random.randint(random.key(0), [300000], 0, 3 * 2 ** 22));
  const counts = [0, 0, 0];
  for (const v of r) counts[v % 3]++;
  for (const c of counts) assertClose(c / r.length, 1 / 3, { atol: 0.0043 });
});

Deno.test("same key, same numbers; results never depend on call order", () => {
  const k = random.key(3);
  const a = values(random.normal(k, [4]));
  random.uniform(random.key(99), [1000]); // unrelated work in between
  assert.deepEqual(values(random.normal(k, [4])), a);
  const [k1, k2] = random.split(k);
  assert.notDeepEqual(values(random.normal(k1, [4])), values(random.normal(k2, [4])));
  assert.notDeepEqual(values(random.normal(k1, [4])), a);
});

Deno.test("normal: Box–Muller of two uniform streams, checked independently", () => {
  const k = random.key(11);
  const [k1, k2] = random.split(k).map((kk) => values(kk).map((v) => v >>> 0));
  const u = (key: number[], i: number) =>
    (threefry2x32(key[0], key[1], 0, i >> 1)[i & 1] >>> 8) * 2 ** -24;
  const want = [0, 1, 2, 3].map((i) =>
    Math.sqrt(-2 * Math.log(1 - u(k1, i))) * Math.cos(2 * Math.PI * u(k2, i))
  );
  assertClose(random.normal(k, [4]), want, { atol: 1e-5, rtol: 1e-5 });
});

Deno.test("sample moments (n = 100 000, tolerances ≈ 5 standard errors)", () => {
  const n = 100_000;
  const z = random.normal(random.key(0), [n], { mean: 2, std: 3 });
  assertClose(mean(z), 2, { atol: 5 * 3 / Math.sqrt(n) });
  assertClose(mean(square(sub(z, 2))), 9, { atol: 5 * 9 * Math.sqrt(2 / n) });
  const u = random.uniform(random.key(1), [n], { min: -1, max: 3 });
  const uv = u.dataSync();
  assert.ok(uv.every((v) => v >= -1 && v < 3));
  assertClose(mean(u), 1, { atol: 5 * 4 / Math.sqrt(12 * n) });
  const b = random.bernoulli(random.key(2), 0.3, [n]);
  assert.equal(b.dtype, "bool");
  // p is a probability: an int32 or bool p is an error naming bernoulli (as JAX's TypeError).
  assert.throws(
    () => random.bernoulli(random.key(2), tensor([1, 0], { dtype: "int32" })),
    /^DTypeError: random\.bernoulli\(\): p must be a float tensor \(a probability\), got int32/,
  );
  const ones = Array.from(b.dataSync()).reduce((s, v) => s + v, 0);
  assertClose(ones / n, 0.3, { atol: 5 * Math.sqrt(0.21 / n) });
  const r = random.randint(random.key(3), [n], -2, 3);
  assert.equal(r.dtype, "int32");
  const counts = new Map<number, number>();
  for (const v of r.dataSync()) counts.set(v, (counts.get(v) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort(), [-1, -2, 0, 1, 2].sort());
  for (const c of counts.values()) assertClose(c / n, 0.2, { atol: 5 * Math.sqrt(0.16 / n) });
  const z64 = random.normal(random.key(4), [n], { dtype: "float64" });
  assert.equal(z64.dtype, "float64");
  assertClose(mean(z64), 0, { atol: 5 / Math.sqrt(n) });
});

Deno.test("uniform never returns max, where rounding of u·(max − min) + min reaches it", () => {
  // A unit interval far from 0: most of its float32 spacing rounds up (31 005 of 10⁶ before).
  for (
    const [min, max, dtype] of [[1e6, 1e6 + 1, "float32"], [1, 1.0000001, "float32"], [
      1e15,
      1e15 + 1,
      "float64",
    ]] as const
  ) {
    const u = values(random.uniform(random.key(0), [200000], { min, max, dtype }));
    let top = -Infinity;
    for (const v of u) top = Math.max(top, v);
    assert.ok(top < max, `[${min}, ${max}) ${dtype}: largest sample ${top}`);
    assert.ok(u.every((v) => v >= min));
  }
});

Deno.test("permutation and choice", () => {
  const p = values(random.permutation(random.key(0), 1000));
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  assert.notDeepEqual(p.slice(0, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const rows = random.permutation(random.key(1), random.uniform(random.key(2), [5, 2]));
  assert.deepEqual(rows.shape, [5, 2]);
  const c = values(random.choice(random.key(3), 60000, 100));
  assert.equal(c.length, 100);
  assert.ok(c.every((v) => v >= 0 && v < 60000));
  const nr = values(random.choice(random.key(4), 10, [2, 5], { replace: false }));
  assert.equal(new Set(nr).size, 10);
  assert.throws(
    () => random.choice(random.key(4), 3, 5, { replace: false }),
    /cannot take 5 samples without replacement from 3/,
  );
});

Deno.test("bad keys and arguments give clear errors", () => {
  assert.throws(
    () => random.normal(random.uniform(random.key(0), [2]), [3]),
    /random\.normal\(\): key must be an int32 tensor of shape \[2\].*got a float32 tensor of shape \[2\]/,
  );
  assert.throws(() => random.uniform(random.key(0), [2], { min: 1, max: 1 }), /needs min < max/);
  assert.throws(() => random.randint(random.key(0), [2], 3, 3), /needs integers low < high/);
  assert.throws(
    () => random.normal(random.key(0), [2], { dtype: "int32" }),
    /dtype must be float32 or float64/,
  );
  assert.throws(() => random.split(random.key(0), 0), /n must be a positive integer/);
});

/**
 * What the random functions draw from `k`, on the current backend: `[exact, float]`, where
 * the float draws (uniform scaling, Box–Muller) may differ between backends in the last bit.
 */
function draws(k: Tensor): [number[][], number[]] {
  const [k1, k2] = random.split(k);
  const exact = [
    ...random.split(k, 3).map(values),
    values(random.bits(k1, [5])),
    values(random.uniform(k2, [5])),
    values(random.bernoulli(k1, 0.5, [6])),
    values(random.randint(k2, [6], -3, 4)),
    values(random.permutation(k, 7)),
    values(random.choice(k1, 9, 4, { replace: false })),
  ];
  const float = [
    ...values(random.uniform(k2, [5], { min: -1, max: 2 })),
    ...values(random.normal(k, [6])),
  ];
  return [exact, float];
}

/** Asserts two `draws` agree: exactly, and within float32 rounding. */
function assertSameDraws(got: [number[][], number[]], want: [number[][], number[]], what: string) {
  assert.deepEqual(got[0], want[0], what);
  assertClose(got[1], want[1], { atol: 1e-6, rtol: 1e-6 });
}

Deno.test("a key made before setBackend works after it, both ways, with the same numbers", async () => {
  const here = getBackend(); // wasm, or cpu in the second run of the suite
  const other = here === "cpu" ? "wasm" : "cpu";
  const kHere = random.key(5);
  const userKey = tensor([0, 5], { dtype: "int32" }); // a key made by hand, readable on the host
  const want = draws(kHere);
  const [, kHereSplit] = random.split(kHere);
  const wantSplit = values(random.bits(kHereSplit, [3]));
  let kOther: Tensor;
  await setBackend(other);
  try {
    assert.equal(random.normal(kHere, [2]).backend, other, "results go to the current backend");
    assertSameDraws(draws(kHere), want, `a ${here} key used on ${other}`);
    assertSameDraws(draws(userKey), want, `a hand-made ${here} key used on ${other}`);
    assert.deepEqual(values(random.bits(kHereSplit, [3])), wantSplit);
    kOther = random.key(5);
    assertSameDraws(draws(kOther), want, `${other} agrees with ${here}`);
    // Under jit too (the key reached the program on its old backend, next to constants
    // made on the current one: "inputs live on different backends").
    const shifted = jit((k: Tensor) => random.uniform(k, [3]).add(tensor([1, 2, 3])));
    const eager = random.uniform(kHere, [3]).add(tensor([1, 2, 3]));
    assert.deepEqual(values(shifted(kHere)), values(eager));
    assert.equal(shifted(kHere).backend, other);
    assert.equal(jit((k: Tensor) => random.bernoulli(k, 0.5, [3]))(kHere).backend, other);
  } finally {
    await setBackend(here);
  }
  assertSameDraws(draws(kOther), want, `a ${other} key used on ${here}`);
  assert.equal(random.split(kOther)[0].backend, here);
});

Deno.test("keys made on a backend without synchronous reads work elsewhere without a read", async () => {
  const want = draws(random.key(8));
  const same = (k: Tensor) => assertSameDraws(draws(k), want, "hostless key");
  // On the hostless backend (every read throws) keys are made and split; back on this
  // backend they are used: their words were kept on the host.
  const [k, k2, computed] = await onBackend("hostless", new HostlessBackend(), () => {
    const k = random.key(8);
    const [, k2] = random.split(k);
    return [k, k2, random.bits(k2, [2])];
  });
  same(k);
  assert.deepEqual(peek(computed), values(random.bits(k2, [2])));
  // A key computed on such a backend (here: random bits) has no host copy: a clear error.
  assert.throws(
    () => random.normal(computed, [2]),
    (e: unknown) =>
      e instanceof DTypeError &&
      /^random\.normal\(\): the key lives on the hostless backend, which cannot read it synchronously, and the current backend is (cpu|wasm); use keys made by random\.key or random\.split/
        .test(e.message),
  );
});

Deno.test("random draws that cannot get memory name the function, the shape and the bytes", () => {
  const k = random.key(0);
  const cases: [() => unknown, RegExp][] = [
    [
      () => random.normal(k, [1e15]),
      /^random\.normal\(\): out of memory for a float32 tensor of shape \[1000000000000000\] \(1000000000000000 elements, 4000000000000000 bytes \(/,
    ],
    [
      () => random.uniform(k, [1e6, 1e9], { dtype: "float64" }),
      /^random\.uniform\(\): out of memory for a float64 tensor of shape \[1000000,1000000000\] \(1000000000000000 elements, 8000000000000000 bytes/,
    ],
    [
      () => random.bits(k, [1e15]),
      /^random\.bits\(\): out of memory for an int32 tensor of shape \[1000000000000000\]/,
    ],
    [
      () => random.randint(k, [1e15], 0, 10),
      /^random\.randint\(\): out of memory for a float32 tensor/,
    ],
    [
      () => random.split(k, 1e15),
      /^random\.split\(\): out of memory for an int32 tensor of shape \[1000000000000000,2\]/,
    ],
    [
      () => random.permutation(k, 1e15),
      /^random\.permutation\(\): out of memory for an int32 tensor of shape \[1000000000000000\]/,
    ],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => e instanceof RangeError && re.test(e.message), String(re));
  }
});

Deno.test("randint bounds must fit int32 (high exclusive, up to 2^31)", () => {
  assert.throws(
    () => random.randint(random.key(0), [2], 3e9, 3e9 + 5),
    (e: unknown) =>
      e instanceof RangeError &&
      /^random\.randint\(\): the samples are int32, so low ≥ -2\^31 and high ≤ 2\^31 \(exclusive\); got low 3000000000 and high 3000000005; shift the range/
        .test(e.message),
  );
  assert.throws(
    () => random.randint(random.key(0), [2], -(2 ** 31) - 1, 0),
    /random\.randint\(\): the samples are int32, .*got low -2147483649 and high 0/,
  );
  const lo = random.randint(random.key(0), [50], -(2 ** 31), -(2 ** 31) + 4);
  const hi = random.randint(random.key(0), [50], 2 ** 31 - 4, 2 ** 31);
  assert.ok(values(lo).every((v) => v >= -(2 ** 31) && v < -(2 ** 31) + 4));
  assert.ok(values(hi).every((v) => v >= 2 ** 31 - 4 && v <= 2 ** 31 - 1));
  assert.deepEqual(values(hi), values(lo).map((v) => v + 2 ** 32 - 4)); // same draws, shifted
});

Deno.test("no Math.random anywhere in src/", async () => {
  const stack = [new URL("../../src/", import.meta.url)];
  while (stack.length) {
    const dir = stack.pop()!;
    for await (const e of Deno.readDir(dir)) {
      const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) stack.push(u);
      else if (e.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(u);
        assert.ok(!text.includes("Math.random"), `${u.pathname} uses Math.random`);
      }
    }
  }
});
