/**
 * The types of the IDX reader (`parseIdx`), in a file of their own so that
 * the public `idx.ts` and its private decoder `_idx.ts` both import them
 * without importing each other. `idx.ts` re-exports them.
 *
 * @module
 */

/**
 * The element types of IDX files.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const bytes = data.encodeIdx(new Float32Array([0.5, 1.5]), [2]);
 * const type: data.IdxType = (await data.parseIdx(bytes)).type;
 * console.log(type); // "float"
 * ```
 */
export type IdxType = "ubyte" | "byte" | "short" | "int" | "float" | "double";

/**
 * The typed arrays IDX values are read into.
 *
 * @example
 * ```ts
 * import { data, tensor } from "@gradus/core";
 *
 * const values: data.IdxArray = new Uint8Array([0, 255, 128, 64]);
 * const { data: pixels, dims } = await data.parseIdx(data.encodeIdx(values, [2, 2]));
 * const x = tensor(pixels, { shape: dims, dtype: "float32" });
 * console.log(x.arraySync()); // [[0, 255], [128, 64]]
 * ```
 */
export type IdxArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array;

/**
 * A parsed IDX file.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const idx: data.IdxData = await data.parseIdx(data.encodeIdx(new Int32Array([7, 8, 9]), [3]));
 * console.log(idx.dims, idx.type, idx.data); // [3] "int" Int32Array(3) [ 7, 8, 9 ]
 * ```
 */
export interface IdxData {
  /** The dimensions, e.g. `[60000, 28, 28]` for MNIST's training images. */
  readonly dims: readonly number[];
  /** The element type. */
  readonly type: IdxType;
  /** The values in row-major order (a fresh array, `dims` multiplied together long). */
  readonly data: IdxArray;
}

/**
 * Options of {@linkcode parseIdx}.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const gz = await data.gzip(data.encodeIdx(new Uint8Array(100), [10, 10]));
 * const options: data.ParseIdxOptions = { name: "images.gz", maxBytes: 16 + 100 };
 * console.log((await data.parseIdx(gz, options)).dims); // [10, 10]
 * try {
 *   await data.parseIdx(gz, { name: "images.gz", maxBytes: 50 }); // a limit too small
 * } catch (e) {
 *   console.log((e as Error).message.includes("images.gz")); // true: the error names the file
 * }
 * ```
 */
export interface ParseIdxOptions {
  /** The file's name, used in error messages (default `"data"`). */
  readonly name?: string;
  /**
   * For gzipped input: the most bytes it may decompress to (default: no
   * limit); see {@linkcode gunzip}'s `maxBytes`. The MNIST loaders pass
   * each file's exact size (47 040 016 bytes for the training images).
   */
  readonly maxBytes?: number;
}
