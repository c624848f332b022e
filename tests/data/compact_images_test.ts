import assert from "node:assert/strict";
import {
  batches,
  data,
  numExamples,
  random,
  randomBatch,
  take,
  type Tensor,
  tensor,
  trainValidSplit,
} from "../../mod.ts";
import { randintOnHost } from "../../src/random/_keys.ts";
import { rowsRaw, rowsUnitByDivision, rowsUnitByTable } from "../../src/data/_compact_decode.ts";
import { lcg } from "../_helpers.ts";
import { withTempDir, writeFakeCifar, writeFakeMnist } from "./_fixtures.ts";
import { gpuTest } from "../backend/_webgpu.ts";

/** `n` images of `shape` with pseudo-random bytes (every value 0..255 appears for n·size ≥ 2560). */
function bytesOf(size: number, seed: number): Uint8Array {
  const rng = lcg(seed);
  return Uint8Array.from({ length: size }, () => Math.floor(rng() * 256));
}

/** The float32 images the non-compact loaders make: float32(byte / 255), or the byte. */
function reference(bytes: Uint8Array, shape: number[], normalize = true): Tensor {
  return tensor(Float32Array.from(bytes, (b) => normalize ? b / 255 : b), { shape });
}

function assertSameTensor(actual: Tensor, expected: Tensor): void {
  assert.equal(actual.dtype, "float32");
  assert.deepEqual(actual.shape, expected.shape);
  assert.deepEqual(actual.dataSync(), expected.dataSync());
}

Deno.test("CompactImages: every byte value decodes to float32(byte / 255) exactly, and to the byte", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  // Rows of 1, 2 and 3 bytes per stored value: 256 rows of 1, 128 of 2, 64 of 4, 32 of 8, 16 of 3·…
  for (const shape of [[256], [128, 2], [64, 4], [16, 16], [4, 64], [2, 128], [1, 256]]) {
    const images = data.CompactImages.fromBytes(all, shape);
    assertSameTensor(images.toTensor(), reference(all, shape));
    const raw = data.CompactImages.fromBytes(all, shape, { normalize: false });
    assertSameTensor(raw.toTensor(), reference(all, shape, false));
  }
  // Odd rows (one byte per value) and rows divisible by 3 (three per value).
  const bytes = bytesOf(3000, 1);
  for (const shape of [[600, 5], [100, 30], [250, 3, 2, 2], [1000, 3]]) {
    assertSameTensor(
      data.CompactImages.fromBytes(bytes, shape).toTensor(),
      reference(bytes, shape),
    );
  }
});

Deno.test("both decoders give float32(byte / 255) exactly for every byte (division, and the table used where division is not exact)", () => {
  // 128 rows of one float32 each holding two bytes: 2i and 2i + 1.
  const packed = tensor(Float32Array.from({ length: 128 }, (_, i) => 2 * i + 256 * (2 * i + 1)), {
    shape: [128, 1],
  });
  const hi = tensor(Float32Array.of(1, 1 / 256), { shape: [2, 1] });
  const next = tensor(Float32Array.of(1 / 256, 1 / 65536), { shape: [2, 1] });
  const idx = tensor(Int32Array.from({ length: 128 }, (_, i) => i));
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (const decode of [rowsUnitByDivision, rowsUnitByTable]) {
    assert.deepEqual(decode(packed, idx, hi, next).dataSync(), reference(all, [256]).dataSync());
  }
  assert.deepEqual(rowsRaw(packed, idx, hi, next).dataSync(), Float32Array.from(all));
});

Deno.test("CompactImages: MNIST-shaped rows (784 = 2 · 392) and CIFAR-shaped ones (3 · 1024)", () => {
  const mnist = bytesOf(5 * 784, 2);
  const a = data.CompactImages.fromBytes(mnist, [5, 784]);
  assertSameTensor(a.take([4, 0, 4, -1]), take(reference(mnist, [5, 784]), [4, 0, 4, 4]));
  const cifar = bytesOf(3 * 3072, 3);
  const b = data.CompactImages.fromBytes(cifar, [3, 3, 32, 32]);
  assert.deepEqual(b.shape, [3, 3, 32, 32]);
  assertSameTensor(b.slice(1), reference(cifar.subarray(3072), [2, 3, 32, 32]));
});

Deno.test("CompactImages: batches of more rows than the kernel widens per block (32), each packing", () => {
  // Rows of 3, 2 and 1 bytes per packed value (a row length divisible by 3, by 2 only, by neither);
  // 70 picks cross two block boundaries and end in a partial block, repeats and the last row included.
  for (const row of [12, 10, 7]) {
    const n = 9;
    const bytes = bytesOf(n * row, row);
    const images = data.CompactImages.fromBytes(bytes, [n, row]);
    const picks = Array.from({ length: 70 }, (_, i) => (i * 5) % n);
    assertSameTensor(images.take(picks), take(reference(bytes, [n, row]), picks));
    assertSameTensor(
      images.take(picks.slice(0, 32)),
      take(reference(bytes, [n, row]), picks.slice(0, 32)),
    );
  }
});

Deno.test("CompactImages: take, slice, subset and length", () => {
  const bytes = bytesOf(10 * 6, 4);
  const ref = reference(bytes, [10, 6]);
  const images = data.CompactImages.fromBytes(bytes, [10, 6]);
  assert.equal(images.length, 10);
  assert.equal(images.normalized, true);
  const idx = tensor([9, 0, 3, 3], { dtype: "int32" });
  assertSameTensor(images.take(idx), take(ref, idx));
  assert.deepEqual(Array.from(idx.dataSync()), [9, 0, 3, 3], "the caller's indices stay usable");
  assertSameTensor(images.slice(2, 5), take(ref, [2, 3, 4]));
  assertSameTensor(images.slice(-3), take(ref, [7, 8, 9]));
  assertSameTensor(images.slice(8, 100), take(ref, [8, 9]));
  assert.deepEqual(images.slice(5, 2).shape, [0, 6]);
  const sub = images.subset([1, 8]);
  assert.ok(sub instanceof data.CompactImages);
  assert.deepEqual(sub.shape, [2, 6]);
  assertSameTensor(sub.toTensor(), take(ref, [1, 8]));
  assert.deepEqual(Object.isFrozen(images.shape), true);
});

Deno.test("CompactImages: the caller's bytes are copied, never changed", () => {
  const bytes = bytesOf(40, 5);
  const before = bytes.slice();
  const images = data.CompactImages.fromBytes(bytes, [4, 10]);
  assert.deepEqual(bytes, before);
  bytes.fill(0);
  assertSameTensor(images.toTensor(), reference(before, [4, 10]));
});

Deno.test("CompactImages: clear errors", () => {
  const images = data.CompactImages.fromBytes(new Uint8Array(6), [3, 2]);
  assert.throws(
    () => data.CompactImages.fromBytes(new Uint8Array(6), [4, 2]),
    /CompactImages\.fromBytes\(\): shape \[4, 2\] has 8 values but bytes has 6/,
  );
  assert.throws(
    () => data.CompactImages.fromBytes(new Uint8Array(6), []),
    /shape must be \[N, \.\.\.\] of non-negative integers, got \[\]/,
  );
  assert.throws(
    () => data.CompactImages.fromBytes([1, 2] as unknown as Uint8Array, [2]),
    /bytes must be a Uint8Array/,
  );
  assert.throws(
    () => images.take([3]),
    /^RangeError: CompactImages\.take\(\): index 3 is out of bounds/,
  );
  assert.throws(
    () => images.take(tensor([-4], { dtype: "int32" })),
    /^RangeError: CompactImages\.take\(\): index -4 is out of bounds/,
  );
  assert.throws(() => images.slice(0.5), /start and stop must be integers/);
  // 2-D indices: an error (take used the first row's count of them; subset scrambled pixels).
  const idx = tensor([[2, 1], [0, 2]], { dtype: "int32" });
  for (const f of [() => images.take(idx), () => images.subset(idx)]) {
    assert.throws(
      f,
      /^ShapeError: CompactImages\.(take|subset)\(\): indices must be 1-D \(one image index each\), got shape \[2,2\]/,
    );
  }
});

Deno.test("randomBatch on compact images: the float32 dataset's batch, bit for bit", () => {
  const n = 50;
  const bytes = bytesOf(n * 12, 6);
  const y = tensor(Int32Array.from({ length: n }, (_, i) => i));
  const compact = { x: data.CompactImages.fromBytes(bytes, [n, 3, 4]), y };
  const plain = { x: reference(bytes, [n, 3, 4]), y };
  for (let s = 0; s < 5; s++) {
    const key = random.key(s);
    const a: { x: Tensor; y: Tensor } = randomBatch(key, compact, 16);
    const b = randomBatch(key, plain, 16);
    assertSameTensor(a.x, b.x);
    assert.deepEqual(a.y.dataSync(), b.y.dataSync());
    // …and the rows picked are np.random.choice's: random.choice with the same key.
    assert.deepEqual(a.y.dataSync(), random.choice(key, n, 16).dataSync());
  }
});

Deno.test("randomBatch's picks equal random.choice's for every range (computed on the host)", () => {
  // Ranges where float32 rounding of u · range decides some picks (2^24 - 1,
  // 60 000, 3·7·11·13), powers of two, and 1.
  const ranges = [1, 2, 3, 10, 60000, 3 * 7 * 11 * 13 * 1000, 2 ** 24 - 1, 2 ** 24];
  const keys = random.split(random.key(7), 8);
  for (const range of ranges) {
    for (const key of keys) {
      const host = randintOnHost(key, 2001, 0, range);
      assert.ok(host !== null);
      assert.deepEqual(host, random.choice(key, range, 2001).dataSync(), `range ${range}`);
    }
  }
  const [k] = random.split(random.key(1));
  assert.deepEqual(randintOnHost(k, 300, -5, 17), random.randint(k, [300], -5, 17).dataSync());
});

Deno.test("batches and trainValidSplit on compact images: as on the float32 images", () => {
  const n = 23;
  const bytes = bytesOf(n * 8, 8);
  const y = tensor(Int32Array.from({ length: n }, (_, i) => i));
  const compact = { x: data.CompactImages.fromBytes(bytes, [n, 8]), y };
  const plain = { x: reference(bytes, [n, 8]), y };
  assert.equal(numExamples(compact), n);
  for (const options of [{ batchSize: 5 }, { batchSize: 6, key: random.key(2), dropLast: true }]) {
    const a = [...batches(compact, options)];
    const b = [...batches(plain, options)];
    assert.equal(a.length, b.length);
    a.forEach((batch, i) => {
      assertSameTensor(batch.x, b[i].x);
      assert.deepEqual(batch.y.dataSync(), b[i].y.dataSync());
    });
  }
  const options = { validFraction: 0.3, key: random.key(4) };
  const [train, valid] = trainValidSplit(compact, options);
  const [trainRef, validRef] = trainValidSplit(plain, options);
  assert.ok(train.x instanceof data.CompactImages && valid.x instanceof data.CompactImages);
  assertSameTensor(train.x.toTensor(), trainRef.x);
  assertSameTensor(valid.x.toTensor(), validRef.x);
  assert.throws(
    () => numExamples({ x: new Uint8Array(3) }),
    /numExamples\(\): data\.x must be a tensor or data\.CompactImages, got/,
  );
});

Deno.test("mnist({ compact: true }): the float32 loader's images, kept compact, and its labels", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const images = bytesOf(7 * 784, 9);
    const labels = new Uint8Array([7, 2, 1, 0, 4, 1, 9]);
    for (const split of ["train", "t10k"]) {
      await Deno.writeFile(
        `${dir}/${split}-images-idx3-ubyte`,
        data.encodeIdx(images, [7, 28, 28]),
      );
      await Deno.writeFile(`${dir}/${split}-labels-idx1-ubyte`, data.encodeIdx(labels, [7]));
    }
    for (const options of [{}, { flatten: false }, { normalize: false }]) {
      const plain = await data.mnist({ dir, download: false, ...options });
      const compact = await data.mnist({ dir, download: false, compact: true, ...options });
      for (const split of ["train", "test"] as const) {
        assert.ok(compact[split].x instanceof data.CompactImages);
        assertSameTensor(compact[split].x.toTensor(), plain[split].x);
        assert.deepEqual(compact[split].y.dataSync(), plain[split].y.dataSync());
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mnist and cifar10 with compact: true from gzipped and batch files equal the float32 loaders", async () => {
  const offline = { download: false, quiet: true } as const;
  await withTempDir(async (dir) => {
    await writeFakeMnist(`${dir}/mnist`, { gz: true, nTrain: 5, nTest: 3 });
    await writeFakeCifar(`${dir}/cifar-10-batches-bin`, 2);
    const pairs = [
      [await data.mnist({ dir, ...offline }), await data.mnist({ dir, compact: true, ...offline })],
      [
        await data.cifar10({ dir, flatten: false, ...offline }),
        await data.cifar10({ dir, flatten: false, compact: true, ...offline }),
      ],
    ] as const;
    for (const [plain, compact] of pairs) {
      for (const split of ["train", "test"] as const) {
        assertSameTensor(compact[split].x.toTensor(), plain[split].x);
        assert.deepEqual(compact[split].y.dataSync(), plain[split].y.dataSync());
      }
    }
  });
});

gpuTest(
  "CompactImages on webgpu (a table of the exact values) equals the float32 images",
  async () => {
    // the program a traced call runs (a table lookup): every byte, exactly
    const packed = tensor(Float32Array.from({ length: 128 }, (_, i) => 2 * i + 256 * (2 * i + 1)), {
      shape: [128, 1],
    });
    const hi = tensor(Float32Array.of(1, 1 / 256), { shape: [2, 1] });
    const next = tensor(Float32Array.of(1 / 256, 1 / 65536), { shape: [2, 1] });
    const all = tensor(Int32Array.from({ length: 128 }, (_, i) => i));
    const every = Float32Array.from({ length: 256 }, (_, b) => b / 255);
    assert.deepEqual(await rowsUnitByTable(packed, all, hi, next).data(), every);
    const bytes = bytesOf(3 * 2 * 784 + 3 * 30, 6);
    for (const [shape, n] of [[[6, 784], 6 * 784], [[3, 30], 90]] as const) {
      const part = bytes.subarray(0, n);
      const images = data.CompactImages.fromBytes(part, [...shape]);
      const idx = tensor([shape[0] - 1, 0, 1, 1], { dtype: "int32" });
      const want = take(reference(part, [...shape]), idx);
      assert.deepEqual(await images.take(idx).data(), await want.data());
      const raw = data.CompactImages.fromBytes(part, [...shape], { normalize: false });
      assert.deepEqual(
        await raw.slice(1).data(),
        await take(
          reference(part, [...shape], false),
          Array.from({ length: shape[0] - 1 }, (_, i) => i + 1),
        ).data(),
      );
    }
  },
);
