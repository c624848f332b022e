/**
 * The IDX file format of MNIST and Fashion-MNIST: a 4-byte magic number
 * (`00 00`, a type code, the number of dimensions), then each dimension as a
 * big-endian 32-bit integer, then the values in row-major order (multi-byte
 * values big-endian). Gzipped files (`.gz`) are detected and decompressed.
 *
 * | type code | type     | array        |
 * | --------- | -------- | ------------ |
 * | `0x08`    | `ubyte`  | Uint8Array   |
 * | `0x09`    | `byte`   | Int8Array    |
 * | `0x0B`    | `short`  | Int16Array   |
 * | `0x0C`    | `int`    | Int32Array   |
 * | `0x0D`    | `float`  | Float32Array |
 * | `0x0E`    | `double` | Float64Array |
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const bytes = data.encodeIdx(new Uint8Array([0, 255, 7, 9]), [2, 2]);
 * const { dims, type, data: values } = await data.parseIdx(bytes);
 * console.log(dims, type, values); // [2, 2] "ubyte" Uint8Array(4) [0, 255, 7, 9]
 * ```
 *
 * @module
 */

import { decodeIdx, TYPES } from "./_idx.ts";
import { gunzip, isGzip } from "./gzip.ts";
import type { IdxArray, IdxData, IdxType, ParseIdxOptions } from "./idx_types.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

const PARSE_IDX_KEYS: OptionKeys<ParseIdxOptions> = { name: true, maxBytes: true };

export * from "./idx_types.ts";

const CODES: Readonly<Record<IdxType, number>> = {
  ubyte: 0x08,
  byte: 0x09,
  short: 0x0b,
  int: 0x0c,
  float: 0x0d,
  double: 0x0e,
};

/**
 * Parses an IDX file, gzipped or not (gzip is recognised by its first two
 * bytes `1f 8b` and decompressed with {@linkcode gunzip}).
 *
 * @param bytes The file's bytes; never modified, and the result shares no
 * memory with them.
 * @param options `name`: the file's name for error messages; `maxBytes`: a
 * cap on the decompressed size of gzipped input.
 * @returns The dimensions, the element type and the values.
 * @throws {DataFormatError} On a bad magic number, an unknown type code,
 * data shorter or longer than the header says (`expected 47040000 bytes of
 * data after the 16-byte header, found 1000`), or corrupt gzip data or gzip
 * data larger than `maxBytes`.
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const labels = data.encodeIdx(new Uint8Array([5, 0, 4]), [3]);
 * const parsed = await data.parseIdx(labels, { name: "labels" });
 * console.log(parsed.dims, Array.from(parsed.data)); // [3] [5, 0, 4]
 * ```
 */
export async function parseIdx(bytes: Uint8Array, options: ParseIdxOptions = {}): Promise<IdxData> {
  checkOptions("parseIdx", options, PARSE_IDX_KEYS, '{ name: "labels", maxBytes: 10008 }');
  const name = options.name ?? "data";
  if (!isGzip(bytes)) return decodeIdx(bytes, name, true);
  // The decompressed bytes are ours alone: the values can be a view into them.
  return decodeIdx(await gunzip(bytes, { name, maxBytes: options.maxBytes }), name, false);
}

function typeOfArray(values: IdxArray): IdxType {
  if (values instanceof Uint8Array) return "ubyte";
  if (values instanceof Int8Array) return "byte";
  if (values instanceof Int16Array) return "short";
  if (values instanceof Int32Array) return "int";
  if (values instanceof Float32Array) return "float";
  if (values instanceof Float64Array) return "double";
  throw new TypeError(
    "encodeIdx(): values must be a Uint8Array, Int8Array, Int16Array, Int32Array, " +
      `Float32Array or Float64Array, got ${Object.prototype.toString.call(values)}`,
  );
}

/**
 * Writes values as an (uncompressed) IDX file: the inverse of
 * {@linkcode parseIdx}. The element type follows the array's type
 * (Uint8Array → `ubyte`, Int8Array → `byte`, Int16Array → `short`,
 * Int32Array → `int`, Float32Array → `float`, Float64Array → `double`).
 *
 * @param values The values in row-major order.
 * @param dims The dimensions (at most 255 of them); their product must be `values.length`.
 * @returns The file's bytes.
 * @throws {RangeError} When `dims` do not match the number of values.
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const bytes = data.encodeIdx(new Uint8Array(2 * 28 * 28), [2, 28, 28]);
 * console.log(bytes.length, Array.from(bytes.subarray(0, 4))); // 1584 [0, 0, 8, 3]
 * ```
 */
export function encodeIdx(values: IdxArray, dims: readonly number[]): Uint8Array {
  const type = typeOfArray(values);
  if (dims.length > 255) {
    throw new RangeError(`encodeIdx(): at most 255 dimensions, got ${dims.length}`);
  }
  let count = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) {
      throw new RangeError(`encodeIdx(): dims must be non-negative 32-bit integers, got [${dims}]`);
    }
    count *= d;
  }
  if (count !== values.length) {
    throw new RangeError(
      `encodeIdx(): dims [${dims.join(", ")}] need ${count} values, got ${values.length}`,
    );
  }
  const size = TYPES[CODES[type]].size;
  const headerSize = 4 + 4 * dims.length;
  const out = new Uint8Array(headerSize + count * size);
  const view = new DataView(out.buffer);
  out[2] = CODES[type];
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  if (type === "ubyte" || type === "byte") {
    out.set(new Uint8Array(values.buffer, values.byteOffset, count), headerSize);
    return out;
  }
  for (let i = 0; i < count; i++) {
    const off = headerSize + i * size;
    const v = values[i];
    switch (type) {
      case "short":
        view.setInt16(off, v, false);
        break;
      case "int":
        view.setInt32(off, v, false);
        break;
      case "float":
        view.setFloat32(off, v, false);
        break;
      case "double":
        view.setFloat64(off, v, false);
        break;
    }
  }
  return out;
}
