import assert from "node:assert/strict";
import { data } from "../../mod.ts";
import { gzip } from "./_fixtures.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

interface HandEntry {
  name: string;
  body?: Uint8Array;
  flag?: string;
  prefix?: string;
  /** Write the size in GNU base-256 instead of octal. */
  base256?: boolean;
  /** Corrupt the checksum. */
  badSum?: boolean;
}

/** A tar archive built by hand (independently of createTar). */
function handTar(entries: HandEntry[], { end = true } = {}): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const e of entries) {
    const body = e.body ?? new Uint8Array(0);
    const h = new Uint8Array(512);
    h.set(enc.encode(e.name).subarray(0, 100), 0);
    h.set(enc.encode("0000644\0"), 100);
    h.set(enc.encode("0000000\0"), 108);
    h.set(enc.encode("0000000\0"), 116);
    if (e.base256) {
      h[124] = 0x80;
      let v = body.length;
      for (let i = 135; i > 124; i--) {
        h[i] = v & 255;
        v = Math.floor(v / 256);
      }
    } else {
      h.set(enc.encode(body.length.toString(8).padStart(11, "0") + "\0"), 124);
    }
    h.set(enc.encode("00000000000\0"), 136);
    h[156] = (e.flag ?? "0").charCodeAt(0);
    h.set(enc.encode("ustar\0"), 257);
    h.set(enc.encode("00"), 263);
    if (e.prefix) h.set(enc.encode(e.prefix), 345);
    h.fill(0x20, 148, 156);
    let sum = h.reduce((a, b) => a + b, 0);
    if (e.badSum) sum += 1;
    h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    blocks.push(h);
    const padded = new Uint8Array(Math.ceil(body.length / 512) * 512);
    padded.set(body);
    blocks.push(padded);
  }
  if (end) blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((s, b) => s + b.length, 0));
  let off = 0;
  for (const b of blocks) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

Deno.test("readTar reads files, directories, ustar prefixes and sizes across blocks", () => {
  const big = new Uint8Array(1300).map((_, i) => i % 251);
  const tar = handTar([
    { name: "pkg/", flag: "5" },
    { name: "a.txt", body: enc.encode("hello"), prefix: "pkg" },
    { name: "pkg/big.bin", body: big },
    { name: "pkg/empty", body: new Uint8Array(0) },
    { name: "link", flag: "2" },
  ]);
  const entries = data.readTar(tar);
  assert.deepEqual(entries.map((e) => [e.name, e.type, e.size]), [
    ["pkg/", "directory", 0],
    ["pkg/a.txt", "file", 5],
    ["pkg/big.bin", "file", 1300],
    ["pkg/empty", "file", 0],
    ["link", "other", 0],
  ]);
  assert.equal(dec.decode(entries[1].data), "hello");
  assert.deepEqual(entries[2].data, big);
});

Deno.test("readTar applies GNU long names, pax paths and base-256 sizes", () => {
  const long = `${"d".repeat(120)}/${"f".repeat(110)}.bin`;
  const paxPath = `${"p".repeat(150)}/x.bin`;
  const rec = ` path=${paxPath}\n`;
  let len = rec.length + 3;
  if (`${len}${rec}`.length !== len) len = `${len}${rec}`.length;
  const pax = enc.encode(`${len}${rec}`);
  const tar = handTar([
    { name: "././@LongLink", flag: "L", body: enc.encode(long + "\0") },
    { name: long.slice(0, 100), body: enc.encode("long") },
    { name: "PaxHeaders/x", flag: "x", body: pax },
    { name: "truncated-name", body: enc.encode("pax") },
    { name: "b256.bin", body: enc.encode("base256"), base256: true },
    { name: "plain.txt", body: enc.encode("plain") },
  ]);
  const entries = data.readTar(tar);
  assert.deepEqual(entries.map((e) => e.name), [long, paxPath, "b256.bin", "plain.txt"]);
  assert.deepEqual(entries.map((e) => dec.decode(e.data)), ["long", "pax", "base256", "plain"]);
});

Deno.test("readTar stops at the end-of-archive marker; without it the archive is truncated", () => {
  const withEnd = handTar([{ name: "x", body: enc.encode("1") }]);
  const trailing = new Uint8Array(withEnd.length + 512).fill(0x41);
  trailing.set(withEnd);
  assert.equal(data.readTar(trailing).length, 1); // bytes after the marker are ignored
  assert.deepEqual(data.readTar(new Uint8Array(1024)), []); // an empty archive
  assert.throws(
    () => data.readTar(handTar([{ name: "x" }], { end: false }), { name: "x.tar" }),
    /^DataFormatError: readTar\(\): x\.tar is truncated at byte 512: it ends after the entry "x" without the end-of-archive marker \(two zero blocks\)$/,
  );
  assert.throws(
    () => data.readTar(new Uint8Array(0), { name: "empty.tar" }),
    /^DataFormatError: readTar\(\): empty\.tar is empty \(0 bytes\)/,
  );
});

Deno.test("readTar: a cut at any byte is an error naming the entry and the offset", () => {
  const long = `${"d".repeat(120)}/${"f".repeat(110)}.bin`;
  const paxPath = `${"p".repeat(150)}/x.bin`;
  const rec = ` path=${paxPath}\n`;
  const paxLen = `${rec.length + 3}${rec}`.length;
  const specs: HandEntry[] = [
    { name: "pkg/", flag: "5" },
    { name: "a.txt", body: enc.encode("hello"), prefix: "pkg" },
    { name: "pkg/big.bin", body: new Uint8Array(1300).map((_, i) => i % 251) },
    { name: "pkg/empty", body: new Uint8Array(0) },
    { name: "././@LongLink", flag: "L", body: enc.encode(long + "\0") },
    { name: long.slice(0, 100), body: enc.encode("long") },
    { name: "PaxHeaders/x", flag: "x", body: enc.encode(`${paxLen}${rec}`) },
    { name: "short", body: new Uint8Array(512).fill(7) },
  ];
  const tar = handTar(specs);
  // The layout, worked out from the sizes: each record is a 512-byte header
  // and its data padded to whole blocks; the names the entries get.
  const names = [
    "pkg/",
    "pkg/a.txt",
    "pkg/big.bin",
    "pkg/empty",
    "././@LongLink",
    long,
    "PaxHeaders/x",
    paxPath,
  ];
  const records: { off: number; size: number; name: string; after?: string }[] = [];
  let off = 0;
  let lastEntry: string | undefined;
  specs.forEach((e, i) => {
    const size = e.body?.length ?? 0;
    records.push({ off, size, name: names[i], after: lastEntry });
    if (e.flag !== "L" && e.flag !== "x") lastEntry = names[i];
    off += 512 + Math.ceil(size / 512) * 512;
  });
  const endOff = off;
  assert.equal(tar.length, endOff + 1024);
  assert.deepEqual(data.readTar(tar).map((e) => e.name), [
    "pkg/",
    "pkg/a.txt",
    "pkg/big.bin",
    "pkg/empty",
    long,
    paxPath,
  ]);
  for (let cut = 0; cut < tar.length; cut++) {
    let want: string;
    if (cut === 0) {
      want = "readTar(): t.tar is empty (0 bytes)";
    } else if (cut >= endOff) {
      want = cut === endOff
        ? `readTar(): t.tar is truncated at byte ${cut}: it ends after the entry "${lastEntry}" without the end-of-archive marker (two zero blocks)`
        : `readTar(): t.tar is truncated at byte ${cut}: the end-of-archive marker (two zero blocks) at byte ${endOff}, after the entry "${lastEntry}", has only ${
          cut - endOff
        } of its 1024 bytes`;
    } else {
      const r = records.findLast((r) => r.off <= cut)!;
      if (cut === r.off) {
        // a cut between records: the previous one is whole, so this is where the marker is missing
        want =
          `readTar(): t.tar is truncated at byte ${cut}: it ends after the entry "${r.after}" without the end-of-archive marker (two zero blocks)`;
      } else if (cut < r.off + 512) {
        want = `readTar(): t.tar is truncated at byte ${cut}: the header at byte ${r.off} (of the ${
          r.after === undefined ? "first entry" : `entry after "${r.after}"`
        }) has only ${cut - r.off} of its 512 bytes`;
      } else {
        const padded = Math.ceil(r.size / 512) * 512;
        want =
          `readTar(): t.tar is truncated at byte ${cut}: the entry "${r.name}" at byte ${r.off} needs ${r.size} bytes of data` +
          (padded !== r.size ? ` (${padded} with the padding to whole 512-byte blocks)` : "") +
          `, found ${cut - r.off - 512}`;
      }
    }
    assert.throws(
      () => data.readTar(tar.subarray(0, cut), { name: "t.tar" }),
      (e: unknown) => {
        assert.ok(e instanceof data.DataFormatError, `cut ${cut}: ${e}`);
        assert.ok(e.message.startsWith(want), `cut ${cut}:\n  got  ${e.message}\n  want ${want}`);
        return true;
      },
    );
  }
});

Deno.test("readTar: corrupt headers, truncation and gzip input are clear errors", async () => {
  assert.throws(
    () => data.readTar(new Uint8Array(512).fill(0x41), { name: "junk.tar" }),
    (e: unknown) => {
      assert.ok(e instanceof data.DataFormatError);
      assert.match(e.message, /junk\.tar has a bad tar header at byte 0 .*not a tar archive/);
      return true;
    },
  );
  const bad = handTar([{ name: "a", body: enc.encode("x") }, { name: "b", badSum: true }]);
  assert.throws(() => data.readTar(bad), /bad tar header at byte 1024 .*corrupt/);
  const full = handTar([{ name: "data.bin", body: new Uint8Array(2000) }], { end: false });
  assert.throws(
    () => data.readTar(full.subarray(0, 1536), { name: "cut.tar" }),
    /cut\.tar is truncated at byte 1536: the entry "data\.bin" at byte 0 needs 2000 bytes of data \(2048 with the padding to whole 512-byte blocks\), found 1024$/,
  );
  const gz = await gzip(full);
  assert.throws(() => data.readTar(gz), /gzip-compressed; use readTarGz\(\)/);
});

Deno.test("readTarGz reads gzipped and plain archives", async () => {
  const tar = handTar([{ name: "dir/f.txt", body: enc.encode("zipped") }]);
  for (const bytes of [tar, await gzip(tar)]) {
    const [e] = await data.readTarGz(bytes);
    assert.equal(e.name, "dir/f.txt");
    assert.equal(dec.decode(e.data), "zipped");
  }
});

Deno.test("readTarGz: maxBytes caps the decompressed tar; a truncated .tar.gz is an error", async () => {
  const tar = handTar([{ name: "f.bin", body: new Uint8Array(5000) }]);
  const tgz = await gzip(tar);
  assert.equal((await data.readTarGz(tgz, { maxBytes: tar.length }))[0].size, 5000);
  await assert.rejects(
    () => data.readTarGz(tgz, { name: "f.tgz", maxBytes: tar.length - 1 }),
    new RegExp(
      `^DataFormatError: gunzip\\(\\): f\\.tgz decompresses to more than maxBytes = ${
        tar.length - 1
      } bytes`,
    ),
  );
  await assert.rejects(
    () => data.readTarGz(tgz.subarray(0, tgz.length - 3), { name: "f.tgz" }),
    /gunzip\(\): f\.tgz is truncated gzip data/,
  );
  // a .tar.gz of a cut tar: the gzip is whole, the tar inside is not
  await assert.rejects(
    async () => data.readTarGz(await gzip(tar.subarray(0, 3000)), { name: "f.tgz" }),
    /readTar\(\): f\.tgz is truncated at byte 3000: the entry "f\.bin" at byte 0 needs 5000 bytes/,
  );
});

Deno.test("createTar round-trips through readTar, splitting long names at a slash", () => {
  const long = `${"a".repeat(90)}/${"b".repeat(40)}/c.bin`;
  const files = [
    { name: "x.txt", data: enc.encode("x") },
    { name: long, data: new Uint8Array(513).fill(9) },
    { name: "empty", data: new Uint8Array(0) },
  ];
  const tar = data.createTar(files);
  assert.equal(tar.length % 512, 0);
  const back = data.readTar(tar);
  assert.deepEqual(back.map((e) => e.name), files.map((f) => f.name));
  back.forEach((e, i) => assert.deepEqual(e.data, files[i].data));
  assert.throws(
    () => data.createTar([{ name: "n".repeat(101), data: new Uint8Array(1) }]),
    /too long/,
  );
});
