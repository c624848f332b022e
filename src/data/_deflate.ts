/**
 * A DEFLATE decoder (RFC 1951): the bit reader, canonical Huffman tables,
 * and the three block types (stored, fixed and dynamic Huffman codes), with
 * the hot loop keeping its state in local variables. It decodes one raw
 * stream into a {@linkcode ByteSink} and reports what is wrong through the
 * caller's {@linkcode DeflateErrors}: the gzip member framing around it is
 * in `_inflate.ts`.
 *
 * @module
 */

import type { ByteSink } from "./_byte_sink.ts";

/**
 * How the caller words the decoder's errors (the gzip framing names the
 * member in them).
 */
export interface DeflateErrors {
  /** The input ended inside the compressed data. */
  truncated(): Error;
  /** The data is invalid: `detail` says how, near byte `at` of the input. */
  corrupt(detail: string, at: number): Error;
}

// Length and distance codes (RFC 1951, 3.2.5).
// deno-fmt-ignore
const LEN_BASE = Uint16Array.of(
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
  163, 195, 227, 258,
);
// deno-fmt-ignore
const LEN_EXTRA = Uint8Array.of(
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
);
// deno-fmt-ignore
const DIST_BASE = Uint16Array.of(
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
  3073, 4097, 6145, 8193, 12289, 16385, 24577,
);
// deno-fmt-ignore
const DIST_EXTRA = Uint8Array.of(
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
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

/** The errors of one stream, with the reader's position filled in. */
class Failures {
  constructor(readonly errors: DeflateErrors, readonly end: number) {}
  truncated(): Error {
    return this.errors.truncated();
  }
  corrupt(detail: string, st: BitState): Error {
    return this.errors.corrupt(detail, Math.min(st.p, this.end));
  }
  /** For a symbol that is no code: truncated if the bits came from past the end, else corrupt. */
  badCode(st: BitState): Error {
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
 * `outStart` is where the stream's output starts in `sink` (distances may
 * not reach before it); `errors` makes the errors thrown.
 */
export function inflateRaw(
  src: Uint8Array,
  p: number,
  sink: ByteSink,
  outStart: number,
  errors: DeflateErrors,
): number {
  const end = src.length;
  const fail = new Failures(errors, end);
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
