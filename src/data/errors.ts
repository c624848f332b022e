/**
 * The two errors of the dataset loaders: {@linkcode DataFormatError} for
 * bytes that are not what they claim to be (a bad IDX header, a truncated
 * file, a tar with a broken header, labels out of range) and
 * {@linkcode DatasetUnavailableError} when the files of a dataset can be
 * neither found nor downloaded; its message lists what was tried and how to
 * get the files.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * try {
 *   await data.parseIdx(new Uint8Array([1, 2, 3, 4]));
 * } catch (e) {
 *   console.log(e instanceof data.DataFormatError); // true
 * }
 * ```
 *
 * @module
 */

/**
 * Bytes that do not follow the expected file format (IDX, CIFAR-10 binary,
 * tar, gzip), or hold values a dataset cannot have. The message names the
 * function and the file, and says what was expected and what was found.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const err = new data.DataFormatError("parseIdx(): bad magic");
 * console.log(err.name, err.message); // "DataFormatError" "parseIdx(): bad magic"
 * ```
 */
export class DataFormatError extends Error {
  /**
   * Makes the error.
   *
   * @param message What was expected and what was found.
   * @example
   * ```ts
   * import { data } from "@gradus/core";
   * const err = new data.DataFormatError("parseCifar10(): 3 bytes is not a whole number of records");
   * console.log(err instanceof Error); // true
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "DataFormatError";
  }
}

/**
 * The files of a dataset were neither found (in the `dir` option,
 * `GRADUS_DATA_DIR` or the cache) nor downloaded. The message lists every
 * place and source that was tried, with the reason it failed, and then
 * exactly how to get the files: the URLs, their checksums, the file names,
 * and where to put them.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const dir = await Deno.makeTempDir();
 * try {
 *   await data.cifar10({ dir, cacheDir: dir, download: false });
 * } catch (e) {
 *   if (!(e instanceof data.DatasetUnavailableError)) throw e;
 *   console.log(e.dataset); // "cifar-10"
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export class DatasetUnavailableError extends Error {
  /** The dataset's id: `"mnist"`, `"fashion-mnist"` or `"cifar-10"`. */
  readonly dataset: string;
  /** One line per place or source tried, in order, with why it failed. */
  readonly tried: readonly string[];

  /**
   * Makes the error.
   *
   * @param dataset The dataset's id.
   * @param message The full message (what was tried, how to get the files).
   * @param tried One line per place or source tried.
   * @example
   * ```ts
   * import { data } from "@gradus/core";
   * const e = new data.DatasetUnavailableError("mnist", "no files", ["dir option: not given"]);
   * console.log(e.tried.length); // 1
   * ```
   */
  constructor(dataset: string, message: string, tried: readonly string[] = []) {
    super(message);
    this.name = "DatasetUnavailableError";
    this.dataset = dataset;
    this.tried = [...tried];
  }
}
