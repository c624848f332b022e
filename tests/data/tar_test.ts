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

Deno.test("readTar stops at the end-of-archive blocks and also without them", () => {
  const withEnd = handTar([{ name: "x", body: enc.encode("1") }]);
  const trailing = new Uint8Array(withEnd.length + 512).fill(0x41);
  trailing.set(withEnd);
  assert.equal(data.readTar(trailing).length, 1);
  assert.equal(data.readTar(handTar([{ name: "x" }], { end: false })).length, 1);
  assert.deepEqual(data.readTar(new Uint8Array(0)), []);
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
    /cut\.tar is truncated: the entry "data\.bin" at byte 0 needs 2000 bytes of data, found 1024/,
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
