/**
 * random.foldIn: JAX's `fold_in`, `threefry2x32(key, [0, data])`, pinned to
 * words computed by an independent Python implementation of Threefry-2x32
 * (20 rounds, from the Random123 paper), itself checked against Random123's
 * known-answer vectors:
 *
 *   M = 0xffffffff; R = [13, 15, 26, 6, 17, 29, 16, 24]
 *   rotl = lambda x, r: ((x << r) | (x >> (32 - r))) & M
 *   def threefry(k, x):
 *       ks = [k[0], k[1], k[0] ^ k[1] ^ 0x1BD11BDA]
 *       x0 = (x[0] + ks[0]) & M; x1 = (x[1] + ks[1]) & M
 *       for rnd in range(20):
 *           x0 = (x0 + x1) & M; x1 = rotl(x1, R[rnd % 8]) ^ x0
 *           if rnd % 4 == 3:
 *               j = rnd // 4 + 1
 *               x0 = (x0 + ks[j % 3]) & M; x1 = (x1 + ks[(j + 1) % 3] + j) & M
 *       return x0, x1
 *   assert threefry((0, 0), (0, 0)) == (0x6b200159, 0x99ba4efe)           # Random123 KAT
 *   assert threefry((M, M), (M, M)) == (0x1cb996fc, 0xbb002be7)           # Random123 KAT
 *   assert threefry((0x13198a2e, 0x03707344), (0x243f6a88, 0x85a308d3)) \
 *       == (0xc4923a9c, 0x483df7a0)                                        # Random123 KAT
 *   fold_in = lambda key, d: threefry(key, (0, d & M))   # printed as int32 below
 *
 * JAX (whose default Threefry is the partitionable one) gives the same words
 * for `jax.random.split(jax.random.key(0), 3)`: [1797259609, 2579123966],
 * [928981903, 3453687069], [4146024105, 2718843009] — keys 0, 1, 2 of the
 * counter layout foldIn shares with split.
 */

import assert from "node:assert/strict";
import { jit, random, stack, type Tensor, tensor, vmap } from "../../mod.ts";
import { onHostlessBackend, peek } from "../_helpers.ts";
import { gpuTest } from "../backend/_webgpu.ts";
import { threefry2x32 } from "../../src/backend/cpu/threefry.ts";

const words = (t: Tensor) => [...t.dataSync()];

// [key words, data, fold_in(key, data) as int32]
const PINNED: [[number, number], number, [number, number]][] = [
  [[0, 0], 0, [1797259609, -1715843330]],
  [[0, 0], 1, [928981903, -841280227]],
  [[0, 42], 7, [-1747954385, 1371500959]],
  [[0, 42], 2 ** 32 - 1, [-1896430451, -403990582]],
  [[0, 42], -1, [-1896430451, -403990582]],
  [[0x12345678, 0x9abcdef0 | 0], 123456789, [1251036955, 1424597351]],
];

// A key is an int32 [2] tensor of the two words (random.key covers only safe-integer seeds).
const keyOf = ([hi, lo]: [number, number]) => tensor(Int32Array.of(hi, lo));

Deno.test("foldIn(key, data) = threefry2x32(key, [0, data]), pinned to an independent computation", () => {
  for (const [k, d, want] of PINNED) {
    const out = random.foldIn(keyOf(k), d);
    assert.equal(out.dtype, "int32");
    assert.deepEqual([...out.shape], [2]);
    assert.deepEqual(words(out), want, `foldIn([${k}], ${d})`);
  }
});

Deno.test("foldIn is deterministic, gives distinct keys, and agrees with split's counters", () => {
  const k = random.key(2024);
  assert.deepEqual(words(random.foldIn(k, 5)), words(random.foldIn(k, 5)));
  const seen = new Set<string>();
  for (let d = 0; d < 500; d++) seen.add(words(random.foldIn(k, d)).join(","));
  assert.equal(seen.size, 500);
  const split = random.split(k, 6).map(words);
  for (let d = 0; d < 6; d++) assert.deepEqual(words(random.foldIn(k, d)), split[d]);
  // a folded key is a key: it draws samples, and folding again differs from the parent
  assert.deepEqual(random.normal(random.foldIn(k, 3), [4]).shape, [4]);
  assert.notDeepEqual(words(random.foldIn(random.foldIn(k, 3), 3)), words(random.foldIn(k, 3)));
  // the input key is unchanged
  assert.deepEqual(words(k), [0, 2024]);
});

Deno.test("foldIn without the key's words on the host takes the block on the device", async () => {
  await onHostlessBackend(() => {
    // keys uploaded from raw words on a backend that cannot read them back
    // (every pinned case: data up to 2³² − 1 and negative, each one block on the device)
    for (const [k, d, want] of PINNED) {
      assert.deepEqual(peek(random.foldIn(keyOf(k), d)), want);
    }
    // keys from random.key / split / foldIn keep their words: any data, no device read
    const k = random.foldIn(random.key(42), 2 ** 32 - 1);
    assert.deepEqual(peek(k), [-1896430451, -403990582]);
    // fold_in(fold_in((0, 42), -1), 2**31) in the Python above
    assert.deepEqual(peek(random.foldIn(k, 2 ** 31)), [1261499252, -674250524]);
  });
});

Deno.test("foldIn of a key traced by jit or vmap: any data, the eager keys, at one block's cost", () => {
  const k = random.key(7);
  const keys = random.split(k, 2);
  for (const d of [3, 2 ** 24, 2 ** 32 - 1, -1, -(2 ** 31)]) {
    const fold = (key: Tensor) => random.foldIn(key, d);
    assert.deepEqual(jit(fold)(k).arraySync(), fold(k).arraySync(), `jit, data ${d}`);
    assert.deepEqual(
      vmap(fold)(stack(keys)).arraySync(),
      keys.map((key) => fold(key).arraySync()),
      `vmap, data ${d}`,
    );
  }
});

Deno.test("foldIn validates the key and the data", () => {
  const k = random.key(0);
  for (const bad of [1.5, 2 ** 32, -(2 ** 31) - 1, NaN]) {
    assert.throws(
      () => random.foldIn(k, bad),
      (e: unknown) =>
        e instanceof RangeError &&
        e.message.startsWith(`random.foldIn(): data must be an integer in [-2^31, 2^32)`) &&
        e.message.includes(`got ${bad}`),
    );
  }
  assert.throws(
    () => random.foldIn(words(k) as unknown as Tensor, 1),
    /random\.foldIn\(\): key must be/,
  );
});

gpuTest("foldIn of a traced key on webgpu: block data of the stream, computed there", async () => {
  const k = random.key(5);
  for (const d of [1, 2 ** 24, 2 ** 32 - 1]) {
    const want = [...threefry2x32(0, 5, 0, d)].map((w) => w | 0);
    assert.deepEqual(await jit((key: Tensor) => random.foldIn(key, d))(k).array(), want);
  }
});
