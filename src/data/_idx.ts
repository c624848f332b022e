/**
 * The IDX decoder behind `parseIdx`, and the loaders' variant of it that
 * does not copy (private: `idx.ts` is re-exported whole).
 *
 * @module
 */

import { hexStart } from "./_util.ts";
import { DataFormatError } from "./errors.ts";
import { gunzip, isGzip } from "./gzip.ts";
import type { IdxArray, IdxData, IdxType, ParseIdxOptions } from "./idx_types.ts";

/** An IDX element type and its size in bytes. */
export interface TypeInfo {
  readonly type: IdxType;
  readonly size: number;
}

/** The IDX type codes. */
export const TYPES: Readonly<Record<number, TypeInfo>> = {
  0x08: { type: "ubyte", size: 1 },
  0x09: { type: "byte", size: 1 },
  0x0b: { type: "short", size: 2 },
  0x0c: { type: "int", size: 4 },
  0x0d: { type: "float", size: 4 },
  0x0e: { type: "double", size: 8 },
};

/**
 * `parseIdx` for bytes the caller owns and gives up (a file it
 * just read): byte values are a view into them (or into their decompressed
 * copy), not a copy. For the dataset loaders.
 *
 * @param bytes The file's bytes, gzipped or not.
 * @param options As for `parseIdx`.
 * @returns The parsed file; for `ubyte` and `byte` data, `data` views `bytes`.
 */
export async function parseOwnedIdx(
  bytes: Uint8Array,
  options: ParseIdxOptions = {},
): Promise<IdxData> {
  const name = options.name ?? "data";
  const raw = isGzip(bytes) ? await gunzip(bytes, { name, maxBytes: options.maxBytes }) : bytes;
  return decodeIdx(raw, name, false);
}

/**
 * Parses uncompressed IDX bytes.
 *
 * @param bytes The file's bytes.
 * @param name The file's name for error messages.
 * @param copy Copy byte values (else they view `bytes`).
 * @returns The parsed file.
 * @throws {DataFormatError} As `parseIdx`.
 */
export function decodeIdx(bytes: Uint8Array, name: string, copy: boolean): IdxData {
  const op = "parseIdx()";
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataFormatError(
      `${op}: ${name} is not an IDX file: bad magic number (expected 00 00 <type> <ndims>, found ${
        hexStart(bytes)
      }${bytes.length < 4 ? `; only ${bytes.length} bytes` : ""})`,
    );
  }
  const info = TYPES[bytes[2]];
  if (info === undefined) {
    throw new DataFormatError(
      `${op}: ${name} has an unknown IDX type code 0x${
        bytes[2].toString(16).padStart(2, "0")
      } (expected 08 ubyte, 09 byte, 0b short, 0c int, 0d float or 0e double)`,
    );
  }
  const ndims = bytes[3];
  const headerSize = 4 + 4 * ndims;
  if (bytes.length < headerSize) {
    throw new DataFormatError(
      `${op}: ${name} is truncated: its header declares ${ndims} dimensions, which need a ` +
        `${headerSize}-byte header, but the file has only ${bytes.length} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const expected = count * info.size;
  const found = bytes.length - headerSize;
  if (found !== expected) {
    throw new DataFormatError(
      `${op}: ${name} is ${found < expected ? "truncated" : "longer than its header says"}: ` +
        `dims [${dims.join(", ")}] of ${info.type} need ${expected} bytes of data after the ` +
        `${headerSize}-byte header, found ${found}`,
    );
  }
  return { dims, type: info.type, data: readValues(view, headerSize, count, info.type, copy) };
}

function readValues(
  view: DataView,
  off: number,
  n: number,
  type: IdxType,
  copy: boolean,
): IdxArray {
  switch (type) {
    case "ubyte": {
      const a = new Uint8Array(view.buffer, view.byteOffset + off, n);
      return copy ? a.slice() : a;
    }
    case "byte": {
      const a = new Int8Array(view.buffer, view.byteOffset + off, n);
      return copy ? a.slice() : a;
    }
    case "short": {
      const a = new Int16Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getInt16(off + 2 * i, false);
      return a;
    }
    case "int": {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getInt32(off + 4 * i, false);
      return a;
    }
    case "float": {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getFloat32(off + 4 * i, false);
      return a;
    }
    case "double": {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getFloat64(off + 8 * i, false);
      return a;
    }
  }
}
