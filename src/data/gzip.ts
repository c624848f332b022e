/**
 * Gzip detection, compression and decompression with the web platform's
 * `CompressionStream("gzip")` and `DecompressionStream("gzip")`: no
 * dependencies.
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

import { hexStart } from "./_util.ts";
import { DataFormatError } from "./errors.ts";

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
 * Decompresses gzip data.
 *
 * @param bytes Gzip data (a `.gz` file's bytes).
 * @param name A file name for error messages (default `"data"`).
 * @returns The decompressed bytes.
 * @throws {DataFormatError} When the data is not gzip, or is corrupt or truncated.
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const gz = await data.gzip(new TextEncoder().encode("hello"));
 * console.log(new TextDecoder().decode(await data.gunzip(gz))); // "hello"
 * ```
 */
export async function gunzip(bytes: Uint8Array, name = "data"): Promise<Uint8Array> {
  if (!isGzip(bytes)) {
    throw new DataFormatError(
      `gunzip(): ${name} is not gzip data (expected the bytes 1f 8b at the start, found ${
        hexStart(bytes)
      })`,
    );
  }
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    );
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DataFormatError(
      `gunzip(): ${name} is corrupt or truncated gzip data (${bytes.length} bytes): ${
        e instanceof Error ? e.message : String(e)
      }`,
    );
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
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
