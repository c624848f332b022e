/**
 * The CIFAR-10 binary format (`cifar-10-binary.tar.gz`, folder
 * `cifar-10-batches-bin/`): each file (`data_batch_1.bin` …
 * `data_batch_5.bin`, `test_batch.bin`) is a sequence of 3073-byte records,
 * one label byte (0–9) followed by a 32×32 colour image as 3072 bytes in
 * channel-major (CHW) order: 1024 red, then 1024 green, then 1024 blue
 * values, each channel row by row. `batches.meta.txt` lists the class names.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const record = new Uint8Array(data.CIFAR10_RECORD_BYTES);
 * record[0] = 3; // "cat"
 * record[1] = 255; // red value of the top-left pixel
 * const batch = data.parseCifar10(record);
 * console.log(batch.count, batch.labels, batch.images[0]); // 1 Uint8Array(1) [3] 255
 * ```
 *
 * @module
 */

import { checkCifar10, copyCifar10, IMAGE_BYTES, RECORD_BYTES } from "./_cifar.ts";

/**
 * Bytes per CIFAR-10 image: 3 channels × 32 × 32.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * console.log(data.CIFAR10_IMAGE_BYTES === 3 * 32 * 32); // true
 * ```
 */
export const CIFAR10_IMAGE_BYTES: 3072 = IMAGE_BYTES;
/**
 * Bytes per CIFAR-10 record: one label byte and an image.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * // A batch file of 10 000 records.
 * console.log(10000 * data.CIFAR10_RECORD_BYTES); // 30730000
 * ```
 */
export const CIFAR10_RECORD_BYTES: 3073 = RECORD_BYTES;

/**
 * A parsed CIFAR-10 binary batch file.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * // Two records: a label byte, then 3072 pixel bytes.
 * const bytes = new Uint8Array(2 * data.CIFAR10_RECORD_BYTES);
 * bytes[0] = 3; // cat
 * bytes[data.CIFAR10_RECORD_BYTES] = 5; // dog
 * const batch: data.Cifar10Batch = data.parseCifar10(bytes);
 * console.log(batch.count, batch.labels, batch.images.length); // 2 Uint8Array(2) [ 3, 5 ] 6144
 * ```
 */
export interface Cifar10Batch {
  /** The number of images. */
  readonly count: number;
  /** The images, `count × 3072` bytes, each in CHW order. */
  readonly images: Uint8Array;
  /** The labels, one byte (0–9) per image. */
  readonly labels: Uint8Array;
}

/**
 * Options of {@linkcode parseCifar10}.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const options: data.ParseCifar10Options = { name: "data_batch_1.bin" };
 * try {
 *   data.parseCifar10(new Uint8Array(100), options); // not a whole number of records
 * } catch (e) {
 *   console.log((e as Error).message.includes("data_batch_1.bin")); // true: the error names it
 * }
 * ```
 */
export interface ParseCifar10Options {
  /** The file's name, used in error messages (default `"data"`). */
  readonly name?: string;
}

/**
 * Parses a CIFAR-10 binary batch file (or several concatenated).
 *
 * @param bytes The file's bytes: records of 1 label byte + 3072 pixel bytes.
 * @param options `name`: the file's name for error messages.
 * @returns The images (CHW bytes) and labels, as fresh arrays.
 * @throws {DataFormatError} When the length is not a whole number of records
 * or a label is not in 0–9.
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const bytes = new Uint8Array(2 * data.CIFAR10_RECORD_BYTES);
 * bytes[data.CIFAR10_RECORD_BYTES] = 9; // the second record's label: "truck"
 * const { count, labels, images } = data.parseCifar10(bytes, { name: "test_batch.bin" });
 * console.log(count, Array.from(labels), images.length); // 2 [0, 9] 6144
 * ```
 */
export function parseCifar10(bytes: Uint8Array, options: ParseCifar10Options = {}): Cifar10Batch {
  const count = checkCifar10(bytes, options.name ?? "data");
  const images = new Uint8Array(count * CIFAR10_IMAGE_BYTES);
  const labels = new Uint8Array(count);
  copyCifar10(bytes, images, labels, 0);
  return { count, images, labels };
}
