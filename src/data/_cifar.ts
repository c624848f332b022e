/**
 * Checking and copying CIFAR-10 binary records without intermediate
 * arrays, for `parseCifar10` and the `cifar10()` loader (private: `cifar.ts`
 * is re-exported whole).
 *
 * @module
 */

import { DataFormatError } from "./errors.ts";

/** Bytes per image: 3 channels × 32 × 32. */
export const IMAGE_BYTES = 3072;
/** Bytes per record: one label byte and an image. */
export const RECORD_BYTES = 3073;

/**
 * Checks a CIFAR-10 binary batch (a whole, non-zero number of records, every
 * label in 0–9) without copying it.
 *
 * @param bytes The file's bytes.
 * @param name The file's name for error messages.
 * @returns The number of records.
 * @throws {DataFormatError} As `parseCifar10`.
 */
export function checkCifar10(bytes: Uint8Array, name: string): number {
  const op = "parseCifar10()";
  if (bytes.length === 0 || bytes.length % RECORD_BYTES !== 0) {
    const whole = Math.floor(bytes.length / RECORD_BYTES);
    throw new DataFormatError(
      `${op}: ${name} has ${bytes.length} bytes, which is not a whole, non-zero number of ` +
        `${RECORD_BYTES}-byte records (1 label byte + 3072 pixel bytes): ${whole} records ` +
        `and ${bytes.length - whole * RECORD_BYTES} bytes left over` +
        (bytes.length > 0 && bytes.length < RECORD_BYTES * 10000 ? "; is it truncated?" : ""),
    );
  }
  const count = bytes.length / RECORD_BYTES;
  for (let i = 0; i < count; i++) {
    const off = i * RECORD_BYTES;
    const label = bytes[off];
    if (label > 9) {
      throw new DataFormatError(
        `${op}: ${name}: record ${i} (byte ${off}) has label ${label}, expected 0–9; ` +
          "is this a CIFAR-10 binary file (not CIFAR-100 or the Python version)?",
      );
    }
  }
  return count;
}

/**
 * Copies the records of a batch checked by {@linkcode checkCifar10} into
 * `images` and `labels`, starting at record `at` of those.
 *
 * @param bytes The batch's bytes.
 * @param images Where the images go (3072 bytes each).
 * @param labels Where the labels go.
 * @param at The index of the first record in `images` and `labels`.
 */
export function copyCifar10(
  bytes: Uint8Array,
  images: Uint8Array,
  labels: Uint8Array,
  at: number,
): void {
  const count = bytes.length / RECORD_BYTES;
  for (let i = 0; i < count; i++) {
    const off = i * RECORD_BYTES;
    labels[at + i] = bytes[off];
    images.set(bytes.subarray(off + 1, off + RECORD_BYTES), (at + i) * IMAGE_BYTES);
  }
}
