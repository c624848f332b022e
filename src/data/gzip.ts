/**
 * Gzip detection, compression and decompression with the web platform's
 * `CompressionStream("gzip")` and `DecompressionStream("gzip")` (and, for
 * multi-member data, trailing bytes and precise errors, a small decoder of
 * our own): no dependencies.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const packed = await data.gzip(new Uint8Array([1, 2, 3]));
 * console.log(data.isGzip(packed), await data.gunzip(packed)); // true Uint8Array(3) [1, 2, 3]
 * ```
 *
 * @module
 */

import { ByteSink, OverCapError } from "./_byte_sink.ts";
import { GzipDataError, inflateGzip } from "./_inflate.ts";
import { hexStart, release } from "./_util.ts";
import { DataFormatError } from "./errors.ts";
import { describe } from "../ops/convert.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

const GUNZIP_KEYS: OptionKeys<GunzipOptions> = { name: true, maxBytes: true };

/** Throws unless `bytes` is a Uint8Array (a number array never settled in gunzip). */
function checkBytes(op: string, bytes: unknown): void {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `${op}(): expected the bytes as a Uint8Array, got ${describe(bytes)}; ` +
        `wrap an array of numbers with new Uint8Array(array)`,
    );
  }
}

/**
 * Whether `bytes` start with the gzip magic number `1f 8b`.
 *
 * @param bytes Any bytes.
 * @returns True for gzip data.
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * console.log(data.isGzip(new Uint8Array([0x1f, 0x8b, 8])), data.isGzip(new Uint8Array([0, 0, 8, 1]))); // true false
 * ```
 */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Options of {@linkcode gunzip}.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const gz = await data.gzip(new Uint8Array(5000));
 * const opts: data.GunzipOptions = { name: "zeros.gz", maxBytes: 5000 };
 * console.log((await data.gunzip(gz, opts)).length); // 5000
 * ```
 */
export interface GunzipOptions {
  /** A file name for error messages (default `"data"`). */
  readonly name?: string;
  /**
   * The most bytes the output may have (default: no limit). Decompression
   * stops with a {@linkcode DataFormatError} as soon as the output would
   * pass it, so a small file cannot inflate into gigabytes (the platform
   * decoder may have produced up to 16.5 MB more by then, which is
   * dropped). The dataset loaders pass each file's exact expected size.
   */
  readonly maxBytes?: number;
}

/**
 * Compressed bytes handed to `DecompressionStream` per write. Its output
 * per write is at most ~1032× this (deflate's largest ratio): 16.5 MB, which
 * bounds how far past `maxBytes` the platform decoder gets before the check
 * stops it (our own decoder stops at the exact byte).
 */
const NATIVE_CHUNK = 1 << 14;

/**
 * Decompresses gzip data: one member, or several concatenated
 * (`cat a.gz b.gz > ab.gz` decompresses to the concatenation, as with
 * gzip(1)). Each member's CRC-32 and size are checked. Zero bytes after the
 * last member are ignored (padding, as gzip(1) does); any other trailing
 * bytes are an error — gzip(1) only warns about them — whose message says
 * where the last member ends, so `bytes.subarray(0, end)` reads what is
 * there.
 *
 * Single-member data (nearly all files) is decompressed by the platform's
 * `DecompressionStream`. Deno's (2.9) rejects every byte after the first
 * member — another member, zeros or garbage alike — and loses the output of
 * the write that held the member's end, so when it fails the data is
 * decoded again by a small decoder of our own, which reads member after
 * member and says exactly what is wrong and where.
 *
 * The output is allocated once at its expected size (the size in the last
 * member's trailer, at most `maxBytes`), not gathered in chunks and copied.
 *
 * @param bytes Gzip data (a `.gz` file's bytes); never modified.
 * @param options `name` for error messages; `maxBytes`, a cap on the output size.
 * @returns The decompressed bytes (a fresh array).
 * @throws {DataFormatError} When the data is not gzip, is truncated or
 * corrupt (the message gives the byte offset), has trailing bytes that are
 * not a gzip member, or would decompress to more than `maxBytes` bytes.
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const gz = await data.gzip(new TextEncoder().encode("hello"));
 * console.log(new TextDecoder().decode(await data.gunzip(gz))); // "hello"
 * ```
 * @example Several members, and a cap on the size
 * ```ts
 * import { data } from "@gradus/core";
 * const enc = new TextEncoder();
 * const a = await data.gzip(enc.encode("hello, "));
 * const b = await data.gzip(enc.encode("world"));
 * const ab = new Uint8Array([...a, ...b]); // like `cat a.gz b.gz`
 * console.log(new TextDecoder().decode(await data.gunzip(ab))); // "hello, world"
 * const bomb = await data.gzip(new Uint8Array(1 << 20)); // 1 MiB of zeros in about 1 kB
 * await data.gunzip(bomb, { name: "small.gz", maxBytes: 1000 }).catch((e) => console.log(e.message));
 * // "gunzip(): small.gz decompresses to more than maxBytes = 1000 bytes; it is not the expected file (or raise maxBytes)"
 * ```
 */
export async function gunzip(bytes: Uint8Array, options: GunzipOptions = {}): Promise<Uint8Array> {
  checkBytes("gunzip", bytes);
  checkOptions("gunzip", options, GUNZIP_KEYS, "{ maxBytes: 47040016 }");
  const name = options.name ?? "data";
  const maxBytes = options.maxBytes ?? Infinity;
  if (!(maxBytes >= 0)) {
    throw new RangeError(`gunzip(): maxBytes must be a number >= 0, got ${maxBytes}`);
  }
  if (!isGzip(bytes)) {
    throw new DataFormatError(
      `gunzip(): ${name} is not gzip data (expected the bytes 1f 8b at the start, found ${
        hexStart(bytes)
      })`,
    );
  }
  const overCap = () =>
    new DataFormatError(
      `gunzip(): ${name} decompresses to more than maxBytes = ${maxBytes} bytes; ` +
        "it is not the expected file (or raise maxBytes)",
    );
  const sink = new ByteSink(sizeHint(bytes), maxBytes);
  try {
    if (await inflateNative(bytes, sink)) return sink.finish();
  } catch (e) {
    if (e instanceof OverCapError) throw overCap();
    throw e;
  }
  // DecompressionStream failed: several members, trailing bytes, or bad data.
  sink.n = 0;
  try {
    inflateGzip(bytes, sink);
  } catch (e) {
    if (e instanceof OverCapError) throw overCap();
    if (!(e instanceof GzipDataError)) throw e;
    if (e.kind === "trailing") {
      throw new DataFormatError(
        `gunzip(): ${name} has trailing bytes: ${e.message}; to read the gzip data before them, ` +
          `pass bytes.subarray(0, ${e.end})`,
      );
    }
    throw new DataFormatError(
      `gunzip(): ${name} is ${e.kind} gzip data (${bytes.length} bytes): ${e.message}`,
    );
  }
  return sink.finish();
}

/**
 * The output size to allocate first: the last member's trailer holds its
 * size mod 2³², which is the whole output for a single member under 4 GiB;
 * ignored when deflate could not reach it (at most ~1032:1).
 */
function sizeHint(bytes: Uint8Array): number {
  if (bytes.length < 18) return 0;
  const n = bytes.length;
  const isize =
    (bytes[n - 4] | (bytes[n - 3] << 8) | (bytes[n - 2] << 16) | (bytes[n - 1] << 24)) >>>
    0;
  return isize <= 1032 * n + 1024 ? isize : 4 * n;
}

/**
 * Decompresses with the platform's `DecompressionStream`, feeding it
 * `NATIVE_CHUNK` bytes at a time and copying its output into `sink` (whose
 * cap throws {@linkcode OverCapError}). Returns false when the stream fails.
 */
async function inflateNative(bytes: Uint8Array, sink: ByteSink): Promise<boolean> {
  const stream = new DecompressionStream("gzip");
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const writing = (async () => {
    for (let off = 0; off < bytes.length; off += NATIVE_CHUNK) {
      const piece = bytes.subarray(off, off + NATIVE_CHUNK);
      // The stream takes no views of shared memory: copy those pieces.
      await writer.write(
        (piece.buffer instanceof ArrayBuffer ? piece : piece.slice()) as Uint8Array<ArrayBuffer>,
      );
    }
    await writer.close();
  })();
  writing.catch(() => {}); // its failure also fails the reader
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      sink.push(value);
      release(value); // ours alone: free it now, not at the next garbage collection
    }
    await writing;
    return true;
  } catch (e) {
    if (e instanceof OverCapError) {
      await Promise.allSettled([reader.cancel(), writer.abort()]);
      throw e;
    }
    return false;
  }
}

/**
 * Compresses bytes to gzip (e.g. to write a `.gz` file).
 *
 * @param bytes Any bytes.
 * @returns The gzip data; {@linkcode gunzip} gives `bytes` back.
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const gz = await data.gzip(new Uint8Array(1000));
 * console.log(gz.length < 100, (await data.gunzip(gz)).length); // true 1000
 * ```
 */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  checkBytes("gzip", bytes);
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
