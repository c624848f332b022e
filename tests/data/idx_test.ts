import assert from "node:assert/strict";
import { data } from "../../mod.ts";
import { gzip } from "./_fixtures.ts";

/** An IDX file built by hand (independently of encodeIdx): header, then `body`. */
function handIdx(type: number, dims: number[], body: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + body.length);
  out.set([0, 0, type, dims.length]);
  dims.forEach((d, i) => {
    out.set([(d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255], 4 + 4 * i);
  });
  out.set(body, 4 + 4 * dims.length);
  return out;
}

Deno.test("parseIdx reads a ubyte file: dims big-endian, values row-major", async () => {
  const bytes = handIdx(0x08, [2, 3], [1, 2, 3, 4, 5, 255]);
  const got = await data.parseIdx(bytes);
  assert.deepEqual(got.dims, [2, 3]);
  assert.equal(got.type, "ubyte");
  assert.ok(got.data instanceof Uint8Array);
  assert.deepEqual(Array.from(got.data), [1, 2, 3, 4, 5, 255]);
});

Deno.test("parseIdx reads dims above 255 and 65535 (big-endian)", async () => {
  const bytes = handIdx(0x08, [70000, 0], []);
  assert.deepEqual((await data.parseIdx(bytes)).dims, [70000, 0]);
  const b2 = handIdx(0x08, [300], new Array(300).fill(7));
  const got = await data.parseIdx(b2);
  assert.deepEqual(got.dims, [300]);
  assert.equal(got.data.length, 300);
});

Deno.test("parseIdx reads multi-byte types big-endian", async () => {
  // short -2 = ff fe, int 258 = 00 00 01 02, float 1.5 = 3f c0 00 00, double 2 = 40 00 …
  assert.deepEqual(Array.from((await data.parseIdx(handIdx(0x0b, [1], [0xff, 0xfe]))).data), [-2]);
  assert.deepEqual(Array.from((await data.parseIdx(handIdx(0x0c, [1], [0, 0, 1, 2]))).data), [258]);
  const f = await data.parseIdx(handIdx(0x0d, [1], [0x3f, 0xc0, 0, 0]));
  assert.equal(f.type, "float");
  assert.deepEqual(Array.from(f.data), [1.5]);
  const d = await data.parseIdx(handIdx(0x0e, [1], [0x40, 0, 0, 0, 0, 0, 0, 0]));
  assert.equal(d.type, "double");
  assert.deepEqual(Array.from(d.data), [2]);
  const s = await data.parseIdx(handIdx(0x09, [2], [0xff, 0x05]));
  assert.equal(s.type, "byte");
  assert.deepEqual(Array.from(s.data), [-1, 5]);
});

Deno.test("encodeIdx and parseIdx round-trip every type", async () => {
  const cases: data.IdxArray[] = [
    new Uint8Array([0, 1, 255, 128, 7, 9]),
    new Int8Array([-128, 127, 0, -1, 5, 6]),
    new Int16Array([-32768, 32767, 0, -1, 1000, -1000]),
    new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, -1, 123456, 7]),
    new Float32Array([0.5, -1.25, 3e10, 0, -0, 1e-7]),
    new Float64Array([Math.PI, -Math.E, 1e300, 0, 5e-324, 2]),
  ];
  for (const values of cases) {
    const bytes = data.encodeIdx(values, [3, 2]);
    const got = await data.parseIdx(bytes);
    assert.deepEqual(got.dims, [3, 2]);
    assert.equal(got.data.constructor, values.constructor);
    assert.deepEqual(Array.from(got.data), Array.from(values));
  }
});

Deno.test("encodeIdx writes the MNIST header", () => {
  const bytes = data.encodeIdx(new Uint8Array(2 * 784), [2, 28, 28]);
  assert.deepEqual(Array.from(bytes.subarray(0, 16)), [
    0,
    0,
    8,
    3,
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    28,
    0,
    0,
    0,
    28,
  ]);
  assert.equal(bytes.length, 16 + 2 * 784);
  assert.throws(
    () => data.encodeIdx(new Uint8Array(5), [2, 3]),
    /dims \[2, 3\] need 6 values, got 5/,
  );
});

Deno.test("parseIdx decompresses gzipped files (detected by 1f 8b)", async () => {
  const plain = handIdx(0x08, [4], [9, 8, 7, 6]);
  const gz = await gzip(plain);
  assert.ok(data.isGzip(gz));
  assert.ok(!data.isGzip(plain));
  const got = await data.parseIdx(gz);
  assert.deepEqual(got.dims, [4]);
  assert.deepEqual(Array.from(got.data), [9, 8, 7, 6]);
});

Deno.test("parseIdx leaves its input untouched and returns a fresh array", async () => {
  const bytes = handIdx(0x08, [3], [1, 2, 3]);
  const copy = bytes.slice();
  const got = await data.parseIdx(bytes);
  (got.data as Uint8Array)[0] = 99;
  assert.deepEqual(bytes, copy);
});

Deno.test("parseIdx: a bad magic number is a clear error", async () => {
  await assert.rejects(
    () => data.parseIdx(new TextEncoder().encode("hello world"), { name: "notes.txt" }),
    (e: unknown) => {
      assert.ok(e instanceof data.DataFormatError);
      assert.match(e.message, /parseIdx\(\): notes\.txt is not an IDX file: bad magic number/);
      assert.match(e.message, /expected 00 00 <type> <ndims>, found 68 65 6c 6c/);
      return true;
    },
  );
  await assert.rejects(() => data.parseIdx(new Uint8Array(0)), /an empty file/);
  await assert.rejects(
    () => data.parseIdx(handIdx(0x0a, [1], [0])),
    /unknown IDX type code 0x0a/,
  );
});

Deno.test("parseIdx: truncated data says how many bytes the header needs", async () => {
  const full = handIdx(0x08, [2, 28, 28], new Array(2 * 784).fill(1));
  await assert.rejects(
    () => data.parseIdx(full.subarray(0, 1000), { name: "train-images-idx3-ubyte" }),
    (e: unknown) => {
      assert.ok(e instanceof data.DataFormatError);
      assert.match(
        e.message,
        /train-images-idx3-ubyte is truncated: dims \[2, 28, 28\] of ubyte need 1568 bytes of data after the 16-byte header, found 984/,
      );
      return true;
    },
  );
  // A header cut short.
  await assert.rejects(
    () => data.parseIdx(full.subarray(0, 10)),
    /declares 3 dimensions.*16-byte header.*only 10 bytes/,
  );
  // Extra bytes are an error too.
  const long = new Uint8Array(full.length + 3);
  long.set(full);
  await assert.rejects(() => data.parseIdx(long), /longer than its header says.*found 1571/);
});

Deno.test("parseIdx: truncated gzip is a clear error", async () => {
  const gz = await gzip(handIdx(0x08, [1000], new Array(1000).fill(3)));
  await assert.rejects(
    () => data.parseIdx(gz.subarray(0, gz.length - 12), { name: "x.gz" }),
    (e: unknown) => {
      assert.ok(e instanceof data.DataFormatError);
      assert.match(
        e.message,
        new RegExp(
          `^gunzip\\(\\): x\\.gz is truncated gzip data \\(${
            gz.length - 12
          } bytes\\): the data ends ` +
            `\\(at byte ${
              gz.length - 12
            }\\) inside the (compressed data|8-byte trailer \\(CRC-32 and size\\)) of the gzip data$`,
        ),
      );
      return true;
    },
  );
  await assert.rejects(() => data.gunzip(new Uint8Array([1, 2, 3])), /not gzip data/);
});

Deno.test("parseIdx: maxBytes caps what gzipped input decompresses to", async () => {
  const plain = handIdx(0x08, [1000], new Array(1000).fill(3));
  const gz = await gzip(plain);
  assert.equal((await data.parseIdx(gz, { maxBytes: plain.length })).data.length, 1000);
  await assert.rejects(
    () => data.parseIdx(gz, { name: "x.gz", maxBytes: plain.length - 1 }),
    (e: unknown) => {
      assert.ok(e instanceof data.DataFormatError);
      assert.equal(
        e.message,
        `gunzip(): x.gz decompresses to more than maxBytes = ${plain.length - 1} bytes; ` +
          "it is not the expected file (or raise maxBytes)",
      );
      return true;
    },
  );
  // the result of gzipped input shares no memory with the input either
  const got = await data.parseIdx(gz);
  (got.data as Uint8Array).fill(9);
  assert.deepEqual(Array.from((await data.parseIdx(gz)).data).slice(0, 3), [3, 3, 3]);
});
