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
 * @module
 */

import { release } from "./_util.ts";

/** Thrown by {@linkcode ByteSink} when the output would pass its cap. */
export class OverCapError extends Error {
  /**
   * @param needed The output size that was about to be reached.
   */
  constructor(readonly needed: number) {
    super(`output would reach ${needed} bytes`);
  }
}

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

/**
 * A growable output buffer with a cap: starts at a size hint, doubles when
 * full (never past the cap), and hands back an array of the exact length.
 */
export class ByteSink {
  /** The buffer; bytes `[0, n)` are the output so far. */
  buf: Uint8Array;
  /** Bytes written. */
  n = 0;
  /** The most bytes allowed. */
  readonly max: number;

  /**
   * @param hint Expected size (the first allocation; clamped to `[0, max]`).
   * @param max The cap (`Infinity` for none).
   */
  constructor(hint: number, max: number) {
    this.max = max;
    this.buf = new Uint8Array(Math.max(0, Math.min(hint, max)));
  }

  /** Makes room for `need` bytes in total, or throws {@linkcode OverCapError}. */
  grow(need: number): void {
    if (need <= this.buf.length) return;
    if (need > this.max) throw new OverCapError(need);
    const size = Math.min(Math.max(need, 2 * this.buf.length, 1 << 16), this.max);
    const bigger = new Uint8Array(size);
    bigger.set(this.buf.subarray(0, this.n));
    release(this.buf);
    this.buf = bigger;
  }

  /** Appends `chunk`. */
  push(chunk: Uint8Array): void {
    this.grow(this.n + chunk.length);
    this.buf.set(chunk, this.n);
    this.n += chunk.length;
  }

  /** The output, exactly `n` bytes long (the buffer is shrunk in place where possible). */
  finish(): Uint8Array {
    if (this.n === this.buf.length) return this.buf;
    const buf = this.buf.buffer as ArrayBuffer;
    if (typeof buf.transfer === "function") return new Uint8Array(buf.transfer(this.n));
    return this.buf.slice(0, this.n);
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

// Length and distance codes (RFC 1951, 3.2.5).
const LEN_BASE = Uint16Array.of(
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
);
const LEN_EXTRA = Uint8Array.of(
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
);
const DIST_BASE = Uint16Array.of(
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
);
const DIST_EXTRA = Uint8Array.of(
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
);
/** The order in which code-length code lengths are stored. */
const CL_ORDER = Uint8Array.of(16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15);

/** A Huffman decoding table: indexed by the next `bits` input bits, entry = symbol << 4 | length (0: no code). */
interface Huffman {
  readonly table: Int32Array;
  readonly bits: number;
}

/** Builds the table of canonical Huffman code `lengths`; undefined when the lengths are over-subscribed. */
function huffman(lengths: Uint8Array, n: number): Huffman | undefined {
  let bits = 0;
  const count = new Uint16Array(16);
  for (let i = 0; i < n; i++) {
    count[lengths[i]]++;
    if (lengths[i] > bits) bits = lengths[i];
  }
  count[0] = 0;
  let left = 1;
  for (let len = 1; len <= 15; len++) {
    left = 2 * left - count[len];
    if (left < 0) return undefined;
  }
  const next = new Uint16Array(16);
  for (let len = 1, code = 0; len <= 15; len++) {
    code = (code + count[len - 1]) << 1;
    next[len] = code;
  }
  const size = 1 << bits;
  const table = new Int32Array(size);
  for (let sym = 0; sym < n; sym++) {
    const len = lengths[sym];
    if (len === 0) continue;
    const code = next[len]++;
    let rev = 0;
    for (let i = 0; i < len; i++) rev |= ((code >> i) & 1) << (len - 1 - i);
    const entry = (sym << 4) | len;
    for (let j = rev; j < size; j += 1 << len) table[j] = entry;
  }
  return { table, bits };
}

const FIXED = (() => {
  const l = new Uint8Array(288);
  l.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
  const d = new Uint8Array(30).fill(5);
  return { lit: huffman(l, 288)!, dist: huffman(d, 30)! };
})();

/** What a member is, for messages: `"the gzip data"` for the first, `"gzip member 2 (from byte 512)"` after it. */
function memberName(index: number, start: number): string {
  return index === 0 ? `the gzip data` : `gzip member ${index + 1} (from byte ${start})`;
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
    p = inflateRaw(src, p, sink, outStart, what);
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

/** The bit reader's state between blocks: the next byte, and bits read ahead. */
interface BitState {
  p: number;
  buf: number;
  cnt: number;
}

/** Whether bits past the end of the input (read as zeros) were used. */
function pastEnd(st: BitState, end: number): boolean {
  return st.p > end && st.p * 8 - st.cnt > end * 8;
}

/** The next `k` bits (k ≤ 16); past the end, zero bytes are read (see {@linkcode pastEnd}). */
function readBits(src: Uint8Array, st: BitState, k: number): number {
  while (st.cnt < k) {
    st.buf |= (st.p < src.length ? src[st.p] : 0) << st.cnt;
    st.p++;
    st.cnt += 8;
  }
  const v = st.buf & ((1 << k) - 1);
  st.buf >>>= k;
  st.cnt -= k;
  return v;
}

/** One symbol of `h`, or -1 for a bit pattern that is no code. */
function readSymbol(src: Uint8Array, st: BitState, h: Huffman): number {
  while (st.cnt < h.bits) {
    st.buf |= (st.p < src.length ? src[st.p] : 0) << st.cnt;
    st.p++;
    st.cnt += 8;
  }
  const e = h.table[st.buf & ((1 << h.bits) - 1)];
  const len = e & 15;
  if (len === 0) return -1;
  st.buf >>>= len;
  st.cnt -= len;
  return e >> 4;
}

/** Messages of one member's errors. */
class Failures {
  constructor(readonly what: string, readonly end: number) {}
  truncated(): GzipDataError {
    return new GzipDataError(
      "truncated",
      `the data ends (at byte ${this.end}) inside the compressed data of ${this.what}`,
    );
  }
  corrupt(detail: string, st: BitState): GzipDataError {
    return new GzipDataError(
      "corrupt",
      `${this.what}: ${detail} (near byte ${Math.min(st.p, this.end)})`,
    );
  }
  /** For a symbol that is no code: truncated if the bits came from past the end, else corrupt. */
  badCode(st: BitState): GzipDataError {
    return pastEnd(st, this.end) ? this.truncated() : this.corrupt("an invalid Huffman code", st);
  }
}

/** Reads a dynamic block's code tables (RFC 1951, 3.2.7). */
function dynamicTables(
  src: Uint8Array,
  st: BitState,
  fail: Failures,
): { lit: Huffman; dist: Huffman } {
  const nlit = readBits(src, st, 5) + 257;
  const ndist = readBits(src, st, 5) + 1;
  const ncl = readBits(src, st, 4) + 4;
  if (nlit > 286 || ndist > 30) {
    throw fail.corrupt(`too many length or distance codes (${nlit}, ${ndist})`, st);
  }
  const cl = new Uint8Array(19);
  for (let i = 0; i < ncl; i++) cl[CL_ORDER[i]] = readBits(src, st, 3);
  if (pastEnd(st, fail.end)) throw fail.truncated();
  const clh = huffman(cl, 19);
  if (clh === undefined) throw fail.corrupt("over-subscribed code-length codes", st);
  const lengths = new Uint8Array(nlit + ndist);
  for (let i = 0; i < nlit + ndist;) {
    const sym = readSymbol(src, st, clh);
    if (sym < 0) throw fail.badCode(st);
    if (sym < 16) {
      lengths[i++] = sym;
      continue;
    }
    let rep: number;
    let v = 0;
    if (sym === 16) {
      if (i === 0) throw fail.corrupt("a repeated code length with nothing to repeat", st);
      v = lengths[i - 1];
      rep = 3 + readBits(src, st, 2);
    } else if (sym === 17) rep = 3 + readBits(src, st, 3);
    else rep = 11 + readBits(src, st, 7);
    if (i + rep > nlit + ndist) throw fail.corrupt("code lengths overflow their table", st);
    lengths.fill(v, i, i + rep);
    i += rep;
  }
  if (pastEnd(st, fail.end)) throw fail.truncated();
  if (lengths[256] === 0) throw fail.corrupt("a block without an end-of-block code", st);
  const lit = huffman(lengths.subarray(0, nlit), nlit);
  const dist = huffman(lengths.subarray(nlit), ndist);
  if (lit === undefined || dist === undefined) {
    throw fail.corrupt("an over-subscribed Huffman code", st);
  }
  return { lit, dist };
}

/**
 * Decodes one raw DEFLATE stream starting at byte `p` into `sink`; returns
 * the byte after its end (the final block's last byte, rounded up).
 */
function inflateRaw(
  src: Uint8Array,
  p: number,
  sink: ByteSink,
  outStart: number,
  what: string,
): number {
  const end = src.length;
  const fail = new Failures(what, end);
  const st: BitState = { p, buf: 0, cnt: 0 };
  for (;;) {
    const final = readBits(src, st, 1);
    const type = readBits(src, st, 2);
    if (pastEnd(st, end)) throw fail.truncated();
    if (type === 0) {
      // A stored block: drop to a byte boundary, give back the whole bytes read ahead.
      st.p -= st.cnt >> 3;
      st.buf = 0;
      st.cnt = 0;
      const q = st.p;
      if (end - q < 4) throw fail.truncated();
      const len = src[q] | (src[q + 1] << 8);
      const nlen = src[q + 2] | (src[q + 3] << 8);
      if ((len ^ 0xffff) !== nlen) {
        throw fail.corrupt(
          `a stored block's length ${len} does not match its check value ${nlen}`,
          st,
        );
      }
      if (end - q - 4 < len) throw fail.truncated();
      sink.push(src.subarray(q + 4, q + 4 + len));
      st.p = q + 4 + len;
    } else if (type === 3) {
      throw fail.corrupt("an invalid block type (3)", st);
    } else {
      const { lit, dist } = type === 1 ? FIXED : dynamicTables(src, st, fail);
      inflateBlock(src, st, sink, outStart, lit, dist, fail);
    }
    if (final) break;
  }
  if (pastEnd(st, end)) throw fail.truncated();
  // The trailer starts at the next whole byte.
  return st.p - (st.cnt >> 3);
}

/** Writes the hot loop's local state back (before a growth, an error or the end). */
function store(
  st: BitState,
  sink: ByteSink,
  p: number,
  buf: number,
  cnt: number,
  n: number,
): BitState {
  st.p = p;
  st.buf = buf;
  st.cnt = cnt;
  sink.n = n;
  return st;
}

/**
 * The symbols of one Huffman-coded block, up to its end-of-block code: the
 * hot loop, with the reader's state in local variables (no closures).
 */
function inflateBlock(
  src: Uint8Array,
  st: BitState,
  sink: ByteSink,
  outStart: number,
  lit: Huffman,
  dist: Huffman,
  fail: Failures,
): void {
  const end = src.length;
  const ltab = lit.table;
  const lbits = lit.bits;
  const lmask = (1 << lbits) - 1;
  const dtab = dist.table;
  const dbits = dist.bits;
  const dmask = (1 << dbits) - 1;
  let p = st.p;
  let bitbuf = st.buf;
  let bitcnt = st.cnt;
  let out = sink.buf;
  let cap = out.length;
  let n = sink.n;
  for (;;) {
    while (bitcnt < lbits) {
      bitbuf |= (p < end ? src[p] : 0) << bitcnt;
      p++;
      bitcnt += 8;
    }
    const e = ltab[bitbuf & lmask];
    const elen = e & 15;
    if (elen === 0) throw fail.badCode(store(st, sink, p, bitbuf, bitcnt, n));
    bitbuf >>>= elen;
    bitcnt -= elen;
    if (p > end && p * 8 - bitcnt > end * 8) throw fail.truncated();
    const sym = e >> 4;
    if (sym < 256) {
      if (n >= cap) {
        store(st, sink, p, bitbuf, bitcnt, n);
        sink.grow(n + 1);
        out = sink.buf;
        cap = out.length;
      }
      out[n++] = sym;
      continue;
    }
    if (sym === 256) break;
    const li = sym - 257;
    if (li >= 29) {
      throw fail.corrupt(`an invalid length code ${sym}`, store(st, sink, p, bitbuf, bitcnt, n));
    }
    let len = LEN_BASE[li];
    const lx = LEN_EXTRA[li];
    while (bitcnt < lx + dbits) {
      bitbuf |= (p < end ? src[p] : 0) << bitcnt;
      p++;
      bitcnt += 8;
    }
    len += bitbuf & ((1 << lx) - 1);
    bitbuf >>>= lx;
    bitcnt -= lx;
    const de = dtab[bitbuf & dmask];
    const dlen = de & 15;
    if (dlen === 0) throw fail.badCode(store(st, sink, p, bitbuf, bitcnt, n));
    bitbuf >>>= dlen;
    bitcnt -= dlen;
    const di = de >> 4;
    if (di >= 30) {
      throw fail.corrupt(`an invalid distance code ${di}`, store(st, sink, p, bitbuf, bitcnt, n));
    }
    const dx = DIST_EXTRA[di];
    while (bitcnt < dx) {
      bitbuf |= (p < end ? src[p] : 0) << bitcnt;
      p++;
      bitcnt += 8;
    }
    const d = DIST_BASE[di] + (bitbuf & ((1 << dx) - 1));
    bitbuf >>>= dx;
    bitcnt -= dx;
    if (p > end && p * 8 - bitcnt > end * 8) throw fail.truncated();
    if (d > n - outStart) {
      throw fail.corrupt(
        `a distance of ${d} bytes reaches before the start of the data (${
          n - outStart
        } bytes decompressed)`,
        store(st, sink, p, bitbuf, bitcnt, n),
      );
    }
    if (n + len > cap) {
      store(st, sink, p, bitbuf, bitcnt, n);
      sink.grow(n + len);
      out = sink.buf;
      cap = out.length;
    }
    if (len > 32 && d >= len) {
      out.copyWithin(n, n - d, n - d + len);
      n += len;
    } else {
      for (const stop = n + len; n < stop; n++) out[n] = out[n - d];
    }
  }
  store(st, sink, p, bitbuf, bitcnt, n);
}
