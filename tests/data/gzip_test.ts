import assert from "node:assert/strict";
import { data } from "../../mod.ts";
import { ByteSink, OverCapError } from "../../src/data/_byte_sink.ts";
import { inflateGzip } from "../../src/data/_inflate.ts";
import { gzip } from "./_fixtures.ts";

const enc = new TextEncoder();

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Deterministic bytes: `kind` "random" (incompressible: stored blocks) or "text" (dynamic Huffman). */
function payload(n: number, kind: "random" | "text", seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  const words = ["gradus", " tensor", " grad", " vjp", " jvp", "\n", " pytree", " optax"];
  for (let i = 0; i < n;) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    if (kind === "random") out[i++] = s >>> 24;
    else {
      for (const c of enc.encode(words[s >>> 29])) if (i < n) out[i++] = c;
    }
  }
  return out;
}

/**
 * Four gzip members written by Python's zlib (an independent encoder), as in
 * `cat m1.gz m2.gz m3.gz m4.gz`:
 *  1. "gradus\n" × 3, level 9, with every optional header field: FTEXT,
 *     FHCRC (CRC-16 of the header), FEXTRA (`AB`, 2 bytes "hi"), FNAME
 *     "gradus.txt", FCOMMENT "made by zlib";
 *  2. the bytes 0..63, level 0 (a stored block);
 *  3. nothing (an empty member);
 *  4. "abc" × 150, strategy Z_FIXED (fixed Huffman codes).
 * Made with `zlib.compressobj(level, DEFLATED, -15, 8, strategy)` plus the
 * RFC 1952 header and trailer (`struct.pack('<II', zlib.crc32(p), len(p))`);
 * `gzip.decompress` gives the concatenated payloads.
 */
const PYTHON_MEMBERS = hexBytes(
  "1f8b081f0000000000ff06004142020068696772616475732e747874006d616465206279207a6c69620060984b2f4a4c" +
    "292de64a47a1001956ac99150000001f8b08000000000000ff014000bfff000102030405060708090a0b0c0d0e0f1011" +
    "12131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f8cce" +
    "0e10400000001f8b08000000000000ff030000000000000000001f8b08000000000000ff4b4c4a4e1c45431901001795" +
    "a389c2010000",
);
const PYTHON_PAYLOAD = concat(
  enc.encode("gradus\n".repeat(3)),
  Uint8Array.from({ length: 64 }, (_, i) => i),
  enc.encode("abc".repeat(150)),
);
/** Where members 2, 3 and 4 start in PYTHON_MEMBERS. */
const PYTHON_STARTS = [63, 150, 170];

Deno.test("gunzip: multi-member data (cat a.gz b.gz) decompresses to the concatenation", async () => {
  assert.deepEqual(await data.gunzip(PYTHON_MEMBERS), PYTHON_PAYLOAD);
  const a = enc.encode("hello, ");
  const b = enc.encode("world");
  assert.equal(
    new TextDecoder().decode(await data.gunzip(concat(await gzip(a), await gzip(b)))),
    "hello, world",
  );
  // bigger members of every block kind, made by CompressionStream
  const parts = [
    payload(200_000, "text", 1),
    payload(70_000, "random", 2),
    new Uint8Array(0),
    payload(100_000, "text", 3),
    new Uint8Array(300_000),
  ];
  const members = await Promise.all(parts.map((p) => gzip(p)));
  assert.deepEqual(await data.gunzip(concat(...members)), concat(...parts));
  // each member alone (the DecompressionStream path)
  for (const [i, m] of members.entries()) assert.deepEqual(await data.gunzip(m), parts[i]);
});

Deno.test("gunzip: zero padding after the last member is ignored, other trailing bytes are an error", async () => {
  const gz = await gzip(enc.encode("payload"));
  const padded = concat(gz, new Uint8Array(1000));
  assert.equal(new TextDecoder().decode(await data.gunzip(padded)), "payload");
  const garbage = concat(gz, enc.encode("GARBAGE"));
  await assert.rejects(
    () => data.gunzip(garbage, { name: "g.gz" }),
    (e: unknown) => {
      assert.ok(e instanceof data.DataFormatError);
      assert.equal(
        e.message,
        `gunzip(): g.gz has trailing bytes: 7 bytes follow the end of the last gzip member at ` +
          `byte ${gz.length}, and they are not a gzip member (they start with 47 41 52 42); ` +
          `to read the gzip data before them, pass bytes.subarray(0, ${gz.length})`,
      );
      return true;
    },
  );
  // the fix the message names works
  assert.equal(
    new TextDecoder().decode(await data.gunzip(garbage.subarray(0, gz.length))),
    "payload",
  );
  // zeros, then garbage: still an error
  await assert.rejects(
    () => data.gunzip(concat(gz, new Uint8Array(3), enc.encode("x"))),
    /4 bytes follow the end of the last gzip member/,
  );
});

Deno.test("gunzip: a cut at any byte is an error, never shorter output", async () => {
  const gz = PYTHON_MEMBERS;
  const ends = [...PYTHON_STARTS, gz.length];
  for (let cut = 2; cut < gz.length; cut++) {
    if (ends.includes(cut)) {
      // cut at a member boundary: the members before it are a whole gzip file
      const got = await data.gunzip(gz.subarray(0, cut));
      assert.ok(got.length <= PYTHON_PAYLOAD.length);
      continue;
    }
    await assert.rejects(
      () => data.gunzip(gz.subarray(0, cut), { name: "cut.gz" }),
      (e: unknown) => {
        assert.ok(e instanceof data.DataFormatError, `cut ${cut}: ${e}`);
        assert.ok(
          e.message.startsWith(
            `gunzip(): cut.gz is truncated gzip data (${cut} bytes): the data ends (at byte ${cut}) inside the `,
          ),
          `cut ${cut}: ${e.message}`,
        );
        return true;
      },
    );
  }
  // where: the header, the compressed data, the trailer; and which member
  await assert.rejects(
    () => data.gunzip(gz.subarray(0, 5)),
    /the data ends \(at byte 5\) inside the 10-byte header of the gzip data$/,
  );
  await assert.rejects(
    () => data.gunzip(gz.subarray(0, 30)),
    /the data ends \(at byte 30\) inside the header's comment of the gzip data$/,
  );
  await assert.rejects(
    () => data.gunzip(gz.subarray(0, 100)),
    /inside the compressed data of gzip member 2 \(from byte 63\)$/,
  );
  await assert.rejects(
    () => data.gunzip(gz.subarray(0, 145)),
    /inside the 8-byte trailer \(CRC-32 and size\) of gzip member 2 \(from byte 63\)$/,
  );
});

Deno.test("gunzip: corrupt data names what is wrong and where", async () => {
  const gz = await gzip(payload(5000, "text"));
  const badCrc = gz.slice();
  badCrc[gz.length - 8] ^= 1;
  await assert.rejects(
    () => data.gunzip(badCrc, { name: "c.gz" }),
    (e: unknown) => {
      assert.ok(e instanceof data.DataFormatError);
      assert.match(
        e.message,
        new RegExp(
          `^gunzip\\(\\): c\\.gz is corrupt gzip data \\(${gz.length} bytes\\): the gzip data: ` +
            `CRC-32 mismatch \\(the trailer at byte ${gz.length - 8} says 0x[0-9a-f]{8}, ` +
            `the 5000 decompressed bytes give 0x[0-9a-f]{8}\\)$`,
        ),
      );
      return true;
    },
  );
  const badSize = gz.slice();
  badSize[gz.length - 4] ^= 1;
  await assert.rejects(
    () => data.gunzip(badSize),
    /size mismatch \(the trailer at byte \d+ says 5001 bytes, decompressed 5000\)/,
  );
  const badType = gz.slice();
  badType[10] |= 6; // block type 3
  await assert.rejects(
    () => data.gunzip(badType),
    /corrupt gzip data .*an invalid block type \(3\)/,
  );
  const badMethod = gz.slice();
  badMethod[2] = 7;
  await assert.rejects(
    () => data.gunzip(badMethod),
    /uses compression method 7 \(only 8, deflate, exists\)/,
  );
  const badHeaderCrc = PYTHON_MEMBERS.slice();
  badHeaderCrc[42] ^= 1; // the first member's CRC-16 (after 10 + 2 + 6 + 11 + 13 header bytes)
  await assert.rejects(() => data.gunzip(badHeaderCrc), /bad header CRC-16/);
  await assert.rejects(() => data.gunzip(new Uint8Array([1, 2, 3])), /not gzip data/);
});

Deno.test("gunzip: maxBytes stops as soon as the output would pass it", async () => {
  const zeros = new Uint8Array(1 << 20);
  const gz = await gzip(zeros); // about 1 kB
  assert.ok(gz.length < 2000);
  assert.equal((await data.gunzip(gz, { maxBytes: 1 << 20 })).length, 1 << 20);
  for (const input of [gz, concat(gz, gz)]) {
    await assert.rejects(
      () => data.gunzip(input, { name: "zeros.gz", maxBytes: (1 << 20) - 1 }),
      (e: unknown) => {
        assert.ok(e instanceof data.DataFormatError);
        assert.equal(
          e.message,
          `gunzip(): zeros.gz decompresses to more than maxBytes = ${(1 << 20) - 1} bytes; ` +
            "it is not the expected file (or raise maxBytes)",
        );
        return true;
      },
    );
  }
  // two members: the second passes the cap
  await assert.rejects(
    () => data.gunzip(concat(gz, gz), { maxBytes: 1.5 * (1 << 20) }),
    /maxBytes/,
  );
  await assert.rejects(() => data.gunzip(gz, { maxBytes: -1 }), RangeError);
  // the decoder never holds more than the cap: it stops at the first symbol past it
  const sink = new ByteSink(0, 5000);
  assert.throws(() => inflateGzip(concat(gz, gz), sink), (e: unknown) => {
    assert.ok(e instanceof OverCapError);
    assert.ok(e.needed > 5000 && e.needed <= 5000 + 258, `needed ${e.needed}`);
    return true;
  });
  assert.ok(sink.buf.length <= 5000);
});

Deno.test("gunzip: the output is a fresh array of the exact length; the input is untouched", async () => {
  const p = payload(100_000, "text");
  for (const gz of [await gzip(p), concat(await gzip(p), await gzip(p))]) {
    const copy = gz.slice();
    const out = await data.gunzip(gz);
    assert.equal(out.byteOffset, 0);
    assert.equal(out.buffer.byteLength, out.length);
    assert.deepEqual(gz, copy);
    out.fill(0);
    assert.deepEqual(gz, copy);
  }
});

Deno.test("gzip/gunzip: bytes that are not a Uint8Array are a TypeError (a number array never settled)", async () => {
  const gz = Array.from(await data.gzip(new TextEncoder().encode("hello")));
  await assert.rejects(
    () => data.gunzip(gz as unknown as Uint8Array),
    /^TypeError: gunzip\(\): expected the bytes as a Uint8Array, got an array of length \d+; wrap an array of numbers with new Uint8Array\(array\)$/,
  );
  await assert.rejects(
    () => data.gzip("hello" as unknown as Uint8Array),
    /^TypeError: gzip\(\): expected the bytes as a Uint8Array, got string/,
  );
  assert.equal(new TextDecoder().decode(await data.gunzip(new Uint8Array(gz))), "hello");
});
