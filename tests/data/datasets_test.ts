import assert from "node:assert/strict";
import { data } from "../../mod.ts";
import { currentBackend } from "../../src/backend/registry.ts";
import {
  CIFAR_FILES,
  fakeCifarBatch,
  fakeIdx,
  fakeLabel,
  fakePixel,
  gzip,
  withoutDataDirEnv,
  withTempDir,
  writeFakeCifar,
  writeFakeMnist,
} from "./_fixtures.ts";

const offline = { download: false, quiet: true } as const;

Deno.test("mnist({dir}): default is normalized float32 [N, 784] and int32 [N] labels", async () => {
  await withTempDir(async (dir) => {
    await writeFakeMnist(dir, { nTrain: 6, nTest: 4 });
    const { train, test } = await data.mnist({ dir, cacheDir: dir, ...offline });
    assert.deepEqual(train.x.shape, [6, 784]);
    assert.deepEqual(test.x.shape, [4, 784]);
    assert.equal(train.x.dtype, "float32");
    assert.deepEqual(train.y.shape, [6]);
    assert.equal(train.y.dtype, "int32");
    const x = train.x.dataSync();
    for (const [k, p] of [[0, 0], [1, 5], [5, 783], [3, 400]]) {
      assert.equal(x[k * 784 + p], Math.fround(fakePixel(k, p) / 255));
    }
    assert.ok(x.every((v) => v >= 0 && v <= 1));
    assert.deepEqual(Array.from(train.y.dataSync()), [0, 1, 2, 3, 4, 5].map((k) => fakeLabel(k)));
    assert.deepEqual(Array.from(test.y.dataSync()), [0, 1, 2, 3]);
  });
});

Deno.test("mnist({dir}): normalize false, flatten false, oneHot true", async () => {
  await withTempDir(async (dir) => {
    await writeFakeMnist(dir, { nTrain: 3, nTest: 2 });
    const { train, test } = await data.mnist({
      dir,
      normalize: false,
      flatten: false,
      oneHot: true,
      ...offline,
    });
    assert.deepEqual(train.x.shape, [3, 1, 28, 28]);
    assert.deepEqual(test.x.shape, [2, 1, 28, 28]);
    assert.equal(train.x.dtype, "float32");
    const x = train.x.dataSync();
    assert.equal(x[2 * 784 + 100], fakePixel(2, 100));
    assert.equal(Math.max(...x), 255);
    assert.deepEqual(train.y.shape, [3, 10]);
    assert.equal(train.y.dtype, "float32");
    assert.deepEqual(test.y.arraySync(), [
      [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      [0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    ]);
  });
});

Deno.test("mnist({dir}) reads gzipped files, subfolders and torchvision's layout", async () => {
  await withTempDir(async (root) => {
    await writeFakeMnist(`${root}/gz`, { gz: true, salt: 1 });
    await writeFakeMnist(`${root}/sub/mnist`, { salt: 2 });
    await writeFakeMnist(`${root}/tv/MNIST/raw`, { salt: 3 });
    for (const [dir, salt] of [[`${root}/gz`, 1], [`${root}/sub`, 2], [`${root}/tv`, 3]] as const) {
      const { train } = await data.mnist({ dir, ...offline });
      assert.equal(train.y.dataSync()[0], fakeLabel(0, salt), dir);
    }
  });
});

Deno.test("mnist() accepts the dotted names (train-images.idx3-ubyte)", async () => {
  await withTempDir(async (dir) => {
    for (const split of ["train", "t10k"]) {
      const { images, labels } = fakeIdx(2);
      await Deno.writeFile(`${dir}/${split}-images.idx3-ubyte`, images);
      await Deno.writeFile(`${dir}/${split}-labels.idx1-ubyte.gz`, await gzip(labels));
    }
    const { test } = await data.mnist({ dir, ...offline });
    assert.deepEqual(test.x.shape, [2, 784]);
  });
});

Deno.test("mnist(): files of the wrong kind give clear errors", async () => {
  await withTempDir(async (dir) => {
    await writeFakeMnist(dir, { nTrain: 4, nTest: 2 });
    // Labels for 3 images, but 4 images.
    await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, data.encodeIdx(new Uint8Array(3), [3]));
    await assert.rejects(
      () => data.mnist({ dir, ...offline }),
      (e: unknown) => {
        assert.ok(e instanceof data.DataFormatError);
        assert.match(
          e.message,
          /mnist\(\): train-labels-idx1-ubyte has 3 labels but train-images-idx3-ubyte has 4 images/,
        );
        return true;
      },
    );
    // Images of the wrong size.
    await writeFakeMnist(dir, { nTrain: 4, nTest: 2 });
    await Deno.writeFile(
      `${dir}/t10k-images-idx3-ubyte`,
      data.encodeIdx(new Uint8Array(2 * 32 * 32), [2, 32, 32]),
    );
    await assert.rejects(
      () => data.mnist({ dir, ...offline }),
      /t10k-images-idx3-ubyte holds ubyte values of dims \[2, 32, 32\], but images must be ubyte \[N, 28, 28\]/,
    );
    // Labels and images swapped.
    await writeFakeMnist(dir, { nTrain: 4, nTest: 2 });
    const { images } = fakeIdx(4);
    await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, images);
    await assert.rejects(
      () => data.mnist({ dir, ...offline }),
      /train-labels-idx1-ubyte holds ubyte values of dims \[4, 28, 28\], but labels must be ubyte \[N\]/,
    );
    // A label out of range.
    await writeFakeMnist(dir, { nTrain: 4, nTest: 2 });
    await Deno.writeFile(
      `${dir}/t10k-labels-idx1-ubyte`,
      data.encodeIdx(new Uint8Array([1, 12]), [2]),
    );
    await assert.rejects(() => data.mnist({ dir, ...offline }), /label 1 is 12, expected 0–9/);
    // A truncated file names the file.
    await writeFakeMnist(dir, { nTrain: 4, nTest: 2 });
    const full = await Deno.readFile(`${dir}/train-images-idx3-ubyte`);
    await Deno.writeFile(`${dir}/train-images-idx3-ubyte`, full.subarray(0, 500));
    await assert.rejects(
      () => data.mnist({ dir, ...offline }),
      /parseIdx\(\): train-images-idx3-ubyte \(from dir option .*\) is truncated: dims \[4, 28, 28\] of ubyte need 3136 bytes/,
    );
  });
});

Deno.test("mnist(): a gzipped file may not decompress past the file's exact size", async () => {
  await withTempDir(async (dir) => {
    await writeFakeMnist(dir, { nTrain: 4, nTest: 2 });
    await Deno.remove(`${dir}/t10k-labels-idx1-ubyte`);
    // 10 008 bytes is the size of MNIST's test labels; this file inflates to 1 MiB.
    await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte.gz`, await gzip(new Uint8Array(1 << 20)));
    await assert.rejects(
      () => withoutDataDirEnv(() => data.mnist({ dir, ...offline })),
      (e: unknown) => {
        assert.ok(e instanceof data.DataFormatError);
        assert.match(
          e.message,
          /^gunzip\(\): t10k-labels-idx1-ubyte \(from dir option .*\) decompresses to more than maxBytes = 10008 bytes; it is not the expected file/,
        );
        return true;
      },
    );
  });
});

Deno.test("mnist(): the files' bytes and the arrays handed to the backend are freed at once", async () => {
  await withTempDir(async (dir) => {
    // 30 training images (94 KB as float32): large enough for the backend to free at once.
    await writeFakeMnist(dir, { nTrain: 30, nTest: 4 });
    await writeFakeMnist(`${dir}/gz`, { nTrain: 30, nTest: 4, gz: true });
    const backend = currentBackend();
    const uploaded: ArrayBufferView[] = [], uploadedBytes: number[] = [];
    const read: Uint8Array[] = [];
    const upload = backend.upload;
    const readFile = Deno.readFile;
    backend.upload = function (values, dtype) {
      uploaded.push(values);
      uploadedBytes.push(values.byteLength);
      return upload.call(this, values, dtype);
    };
    Deno.readFile = async (path, options) => {
      const bytes = await readFile(path, options);
      read.push(bytes);
      return bytes;
    };
    try {
      for (const d of [dir, `${dir}/gz`]) {
        read.length = 0;
        uploaded.length = 0;
        uploadedBytes.length = 0;
        const { train, test } = await withoutDataDirEnv(() => data.mnist({ dir: d, ...offline }));
        assert.equal(read.length, 4);
        // Freed now (detached), not at the next garbage collection.
        for (const bytes of read) assert.equal(bytes.buffer.byteLength, 0);
        assert.equal(uploaded.length, 4); // one array per tensor: no defensive copy
        uploaded.forEach((a, i) => {
          // The wasm backend copied it into its memory and freed it if large (64 KiB or
          // more: the training images); the cpu backend keeps it as the storage.
          const freed = backend.name === "wasm" && uploadedBytes[i] >= 65536;
          assert.equal(a.buffer.byteLength === 0, freed, `${backend.name} ${uploadedBytes[i]}`);
        });
        if (backend.name === "wasm") assert.ok(uploaded.some((a) => a.buffer.byteLength === 0));
        const x = train.x.dataSync();
        assert.equal(x[5 * 784 + 783], Math.fround(fakePixel(5, 783) / 255));
        assert.deepEqual(Array.from(test.y.dataSync()), [0, 1, 2, 3]);
      }
    } finally {
      delete (backend as { upload?: unknown }).upload;
      if (backend.upload !== upload) backend.upload = upload;
      Deno.readFile = readFile;
    }
  });
});

Deno.test("fashionMnist({dir}) reads the same format; class names", async () => {
  await withTempDir(async (dir) => {
    await writeFakeMnist(`${dir}/fashion-mnist`, { nTrain: 2, nTest: 2, gz: true });
    const { train } = await data.fashionMnist({ dir, oneHot: true, ...offline });
    assert.deepEqual(train.x.shape, [2, 784]);
    assert.deepEqual(train.y.shape, [2, 10]);
  });
  assert.equal(data.FASHION_MNIST_CLASSES.length, 10);
  assert.equal(data.FASHION_MNIST_CLASSES[9], "Ankle boot");
  assert.equal(data.CIFAR10_CLASSES[3], "cat");
});

Deno.test({
  name: "fashionMnist() rejects MNIST's files in a folder both search (raw or gzipped)",
  // Needs MNIST's real files: the cache, or a download (the main test run allows both).
  ignore: Deno.permissions.querySync({ name: "net" }).state !== "granted",
  fn: async () => {
    const { files } = await data.resolveFiles(data.MNIST_SPEC, { quiet: true });
    await withTempDir(async (dir) => {
      for (const [name, bytes] of files) await Deno.writeFile(`${dir}/${name}`, bytes);
      await assert.rejects(
        () => data.fashionMnist({ dir, ...offline }),
        (e: Error) =>
          e instanceof data.DataFormatError &&
          e.message.startsWith(
            `fashionMnist(): train-labels-idx1-ubyte (from dir option ${dir}) is MNIST's ` +
              "train-labels-idx1-ubyte (its SHA-256 matches), not Fashion-MNIST's.",
          ) && e.message.includes("own subfolder (fashion-mnist/, mnist/)"),
      );
      // The same files load as MNIST; gzipped, they are recognised too.
      assert.deepEqual((await data.mnist({ dir, ...offline })).test.y.shape, [10000]);
      for (const name of ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"]) {
        await Deno.writeFile(`${dir}/${name}.gz`, await gzip(files.get(name)!));
        await Deno.remove(`${dir}/${name}`);
      }
      await assert.rejects(() => data.fashionMnist({ dir, ...offline }), /is MNIST's/);
    });
    // Files of a dataset of one's own, in the same format, still load.
    await withTempDir(async (dir) => {
      await writeFakeMnist(dir, { nTrain: 2, nTest: 2 });
      assert.deepEqual((await data.fashionMnist({ dir, ...offline })).train.x.shape, [2, 784]);
    });
  },
});

Deno.test("parseCifar10 splits records into labels and CHW images", () => {
  const bytes = fakeCifarBatch(3, 0);
  const batch = data.parseCifar10(bytes);
  assert.equal(batch.count, 3);
  assert.deepEqual(Array.from(batch.labels), [0, 1, 2]);
  assert.equal(batch.images.length, 3 * 3072);
  assert.equal(batch.images[2 * 3072 + 1024], (2 * 3 + 1024) % 256); // image 2, green channel, pixel 0
  assert.deepEqual(batch.images.subarray(3072, 2 * 3072), bytes.subarray(3074, 2 * 3073));
});

Deno.test("parseCifar10: bad lengths and labels are clear errors", () => {
  assert.throws(
    () => data.parseCifar10(new Uint8Array(3073 + 100), { name: "data_batch_1.bin" }),
    (e: unknown) => {
      assert.ok(e instanceof data.DataFormatError);
      assert.match(
        e.message,
        /data_batch_1\.bin has 3173 bytes, which is not a whole, non-zero number of 3073-byte records .*1 records and 100 bytes left over; is it truncated\?/,
      );
      return true;
    },
  );
  assert.throws(() => data.parseCifar10(new Uint8Array(0)), /not a whole, non-zero number/);
  const bad = fakeCifarBatch(2);
  bad[3073] = 42;
  assert.throws(() => data.parseCifar10(bad), /record 1 \(byte 3073\) has label 42, expected 0–9/);
});

Deno.test("cifar10({dir}) from extracted batch files: shapes, order and values", async () => {
  await withTempDir(async (dir) => {
    await writeFakeCifar(`${dir}/cifar-10-batches-bin`, 2);
    const { train, test } = await data.cifar10({ dir, ...offline });
    assert.deepEqual(train.x.shape, [10, 3072]);
    assert.deepEqual(test.x.shape, [2, 3072]);
    // Batches in order: batch i (salt i) gives labels (k + i) % 10.
    assert.deepEqual(Array.from(train.y.dataSync()), [0, 1, 1, 2, 2, 3, 3, 4, 4, 5]);
    assert.deepEqual(Array.from(test.y.dataSync()), [5, 6]);
    const x = train.x.dataSync();
    // Example 3 = batch 2 (salt 1), record 1: pixel p = (3 + p + 1) % 256.
    assert.equal(x[3 * 3072 + 10], Math.fround(((3 + 10 + 1) % 256) / 255));
    const raw = await data.cifar10({
      dir,
      flatten: false,
      normalize: false,
      oneHot: true,
      ...offline,
    });
    assert.deepEqual(raw.train.x.shape, [10, 3, 32, 32]);
    assert.deepEqual(raw.test.y.shape, [2, 10]);
    assert.equal(raw.test.x.dataSync()[1 * 3072 + 2 * 1024 + 5], (1 * 3 + 2048 + 5 + 5) % 256);
  });
});

Deno.test("cifar10({dir}) straight from cifar-10-binary.tar.gz", async () => {
  await withTempDir(async (dir) => {
    const tar = data.createTar([
      {
        name: "cifar-10-batches-bin/batches.meta.txt",
        data: new TextEncoder().encode("airplane\n"),
      },
      ...CIFAR_FILES.map((name, i) => ({
        name: `cifar-10-batches-bin/${name}`,
        data: fakeCifarBatch(1, i),
      })),
    ]);
    await Deno.writeFile(`${dir}/cifar-10-binary.tar.gz`, await gzip(tar));
    const { train, test } = await data.cifar10({ dir, ...offline });
    assert.deepEqual(train.x.shape, [5, 3072]);
    assert.deepEqual(Array.from(train.y.dataSync()), [0, 1, 2, 3, 4]);
    assert.deepEqual(Array.from(test.y.dataSync()), [5]);
  });
});

Deno.test("cifar10(): an archive without the batch files says what is missing", async () => {
  await withTempDir(async (dir) => {
    const tar = data.createTar([{
      name: "cifar-10-batches-bin/data_batch_1.bin",
      data: fakeCifarBatch(1),
    }]);
    await Deno.writeFile(`${dir}/cifar-10-binary.tar.gz`, await gzip(tar));
    await assert.rejects(
      () => withoutDataDirEnv(() => data.cifar10({ dir, cacheDir: dir, ...offline })),
      /cifar-10-binary\.tar\.gz does not hold cifar-10-batches-bin\/data_batch_2\.bin/,
    );
  });
});
