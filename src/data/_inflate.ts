/**
 * A gzip decoder in plain TypeScript (RFC 1952 members holding RFC 1951
 * DEFLATE data), for what the web platform's `DecompressionStream` cannot
 * do: it rejects every byte after the first member, so it can neither read
 * multi-member files (`cat a.gz b.gz`) nor say where a member ends, and its
 * errors do not say what is wrong or where. This decoder reads member after
 * member into one growable buffer with a hard size cap, checks each
 * member's CRC-32 and size, and reports truncation and corruption with byte
 * offsets. `gzip.ts` uses it when `DecompressionStream` fails.
 *
 * This file is the member framing (RFC 1952: headers, CRC-32, sizes,
 * members one after another); the DEFLATE data inside each member is
 * decoded by `_deflate.ts`, into a {@linkcode ByteSink}.
 *
 * @module
 */

import type { ByteSink } from "./_byte_sink.ts";
import { type DeflateErrors, inflateRaw } from "./_deflate.ts";

/** Where a member's bytes went wrong: thrown by {@linkcode inflateGzip}. */
export class GzipDataError extends Error {
  /**
   * @param kind `"truncated"`, `"corrupt"` or `"trailing"` (bytes after the last member).
   * @param message What is wrong and where.
   * @param end For `"trailing"`: the byte where the last complete member ends.
   */
  constructor(
    readonly kind: "truncated" | "corrupt" | "trailing",
    message: string,
    readonly end = 0,
  ) {
    super(message);
  }
}

/** CRC-32 tables for slicing by 8 (table k: the CRC of a byte followed by k zero bytes). */
const CRC_TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) {
      t[k * 256 + n] = t[t[(k - 1) * 256 + n] & 0xff] ^ (t[(k - 1) * 256 + n] >>> 8);
    }
  }
  return t;
})();

/** CRC-32 (the gzip polynomial) of `bytes[from, to)`, as an unsigned number. */
export function crc32(bytes: Uint8Array, from = 0, to = bytes.length): number {
  const t = CRC_TABLES;
  let c = -1;
  let i = from;
  for (; i + 8 <= to; i += 8) {
    const a = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^ t[768 + bytes[i + 4]] ^ t[512 + bytes[i + 5]] ^
      t[256 + bytes[i + 6]] ^ t[bytes[i + 7]];
  }
  for (; i < to; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** What a member is, for messages: `"the gzip data"` for the first, `"gzip member 2 (from byte 512)"` after it. */
function memberName(index: number, start: number): string {
  return index === 0 ? `the gzip data` : `gzip member ${index + 1} (from byte ${start})`;
}

/** The errors of the DEFLATE data of member `what` of an input of `end` bytes. */
function deflateErrors(what: string, end: number): DeflateErrors {
  return {
    truncated: () =>
      new GzipDataError(
        "truncated",
        `the data ends (at byte ${end}) inside the compressed data of ${what}`,
      ),
    corrupt: (detail, at) => new GzipDataError("corrupt", `${what}: ${detail} (near byte ${at})`),
  };
}

/**
 * Decodes every gzip member in `src` into `sink`, checking each member's
 * CRC-32 and size. Zero bytes after the last member are ignored (padding,
 * as gzip(1) does); any other trailing bytes are a
 * {@linkcode GzipDataError} of kind `"trailing"`.
 *
 * @param src The gzip bytes (starting with `1f 8b`).
 * @param sink Where the output goes (its cap throws {@linkcode OverCapError}).
 * @returns The number of members.
 * @throws {GzipDataError} On truncated or corrupt data, or trailing bytes.
 */
export function inflateGzip(src: Uint8Array, sink: ByteSink): number {
  const end = src.length;
  let p = 0;
  let members = 0;
  for (;;) {
    const start = p;
    const what = memberName(members, start);
    const truncated = (inside: string): GzipDataError =>
      new GzipDataError(
        "truncated",
        `the data ends (at byte ${end}) inside the ${inside} of ${what}`,
      );
    // Header (RFC 1952, 2.3).
    if (end - p < 10) throw truncated("10-byte header");
    if (src[p + 2] !== 8) {
      throw new GzipDataError(
        "corrupt",
        `${what} uses compression method ${src[p + 2]} (only 8, deflate, exists)`,
      );
    }
    const flags = src[p + 3];
    if (flags & 0xe0) {
      throw new GzipDataError(
        "corrupt",
        `${what} has reserved header flags set (0x${flags.toString(16)})`,
      );
    }
    p += 10;
    if (flags & 4) {
      if (end - p < 2) throw truncated("header's extra field");
      p += 2 + (src[p] | (src[p + 1] << 8));
      if (p > end) throw truncated("header's extra field");
    }
    for (const bit of [8, 16]) {
      if (!(flags & bit)) continue;
      while (p < end && src[p] !== 0) p++;
      if (p >= end) throw truncated(bit === 8 ? "header's file name" : "header's comment");
      p++;
    }
    if (flags & 2) {
      if (end - p < 2) throw truncated("header's CRC-16");
      const want = src[p] | (src[p + 1] << 8);
      const got = crc32(src, start, p) & 0xffff;
      if (want !== got) {
        throw new GzipDataError(
          "corrupt",
          `${what} has a bad header CRC-16 (stored 0x${want.toString(16)}, computed 0x${
            got.toString(16)
          })`,
        );
      }
      p += 2;
    }
    const outStart = sink.n;
    p = inflateRaw(src, p, sink, outStart, deflateErrors(what, end));
    if (end - p < 8) throw truncated("8-byte trailer (CRC-32 and size)");
    const view = new DataView(src.buffer, src.byteOffset + p, 8);
    const wantCrc = view.getUint32(0, true);
    const wantSize = view.getUint32(4, true);
    const size = sink.n - outStart;
    const gotCrc = crc32(sink.buf, outStart, sink.n);
    if (wantCrc !== gotCrc) {
      throw new GzipDataError(
        "corrupt",
        `${what}: CRC-32 mismatch (the trailer at byte ${p} says 0x${
          wantCrc.toString(16).padStart(8, "0")
        }, the ${size} decompressed bytes give 0x${gotCrc.toString(16).padStart(8, "0")})`,
      );
    }
    if (wantSize !== size % 2 ** 32) {
      throw new GzipDataError(
        "corrupt",
        `${what}: size mismatch (the trailer at byte ${
          p + 4
        } says ${wantSize} bytes, decompressed ${size})`,
      );
    }
    p += 8;
    members++;
    if (p === end) return members;
    if (src[p] === 0x1f && (p + 1 >= end || src[p + 1] === 0x8b)) continue;
    let zeros = p;
    while (zeros < end && src[zeros] === 0) zeros++;
    if (zeros === end) return members;
    throw new GzipDataError(
      "trailing",
      `${end - p} bytes follow the end of the last gzip member at byte ${p}, and they are not ` +
        `a gzip member (they start with ${hex(src, p)})`,
      p,
    );
  }
}

function hex(b: Uint8Array, at: number): string {
  return Array.from(b.subarray(at, at + 4), (x) => x.toString(16).padStart(2, "0")).join(" ");
}
