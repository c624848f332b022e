/**
 * Images kept compact: 8-bit pixels stored at two or three per float32
 * (exactly: a float32 holds every integer below 2²⁴), a half or a third
 * of the memory of float32 pixels, turned into float32 tensors a batch at
 * a time — what PyTorch's uint8 `dataset.data` and per-batch `ToTensor`
 * do, on every backend and without a uint8 dtype. MNIST's 60 000 training
 * images take 94 MB instead of 188 MB. The loaders give them with
 * `{ compact: true }`; `randomBatch`, `batches` and `trainValidSplit`
 * accept them as leaves and give float32 batches, equal bit for bit to
 * those of the float32 images.
 *
 * @example
 * ```ts
 * import { data, randomBatch, random, tensor } from "@gradus/core";
 *
 * const images = data.CompactImages.fromBytes(new Uint8Array([0, 255, 51, 102]), [2, 2]);
 * const split = { x: images, y: tensor([3, 7], { dtype: "int32" }) };
 * const batch = randomBatch(random.key(0), split, 4); // x: float32 [4, 2]
 * console.log(batch.x.dtype, batch.x.shape); // "float32" [4, 2]
 * console.log(images.slice(1).arraySync()); // [[0.2, 0.4]] (as float32: 0.20000000298…)
 * ```
 *
 * @module
 */

import { ShapeError } from "../core/errors.ts";
import { makeTensor, type Tensor } from "../core/tensor.ts";
import { tidy } from "../autodiff/tidy.ts";
import { tensor } from "../ops/creation.ts";
import { backendOf } from "../ops/convert.ts";
import { reshape } from "../ops/movement.ts";
import { indexTensor, take as takeOp } from "../ops/take.ts";
import { rowsRaw, rowsUnitByDivision, rowsUnitByTable } from "./_compact_decode.ts";
import { ownedTensor } from "./_tensor.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

const COMPACT_KEYS: OptionKeys<CompactImagesOptions> = { normalize: "boolean" };

/** Bytes per float32: 3 when they divide a row evenly, else 2, else 1. */
function bytesPerValue(rowSize: number): number {
  return rowSize % 3 === 0 ? 3 : rowSize % 2 === 0 ? 2 : 1;
}

/**
 * Options of {@linkcode CompactImages.fromBytes}.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const options: data.CompactImagesOptions = { normalize: false };
 * const images = data.CompactImages.fromBytes(new Uint8Array([7, 255]), [1, 2], options);
 * console.log(images.toTensor().arraySync()); // [[7, 255]]
 * ```
 */
export interface CompactImagesOptions {
  /** Batches scaled to 0..1 (default true: `byte / 255` as float32); false keeps 0..255. */
  readonly normalize?: boolean;
}

/**
 * 8-bit images on the current backend at a half or a third of the memory
 * of float32 ones (see the module doc), giving float32 tensors of any of
 * their rows. Immutable; `dispose()` frees the storage at once.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const bytes = new Uint8Array(3 * 4).map((_, i) => i * 20); // 3 images of 2×2
 * const images = data.CompactImages.fromBytes(bytes, [3, 2, 2]);
 * console.log(images.shape, images.length); // [3, 2, 2] 3
 * console.log(images.take([2, 0]).shape); // [2, 2, 2], float32 in 0..1
 * ```
 */
export class CompactImages {
  /** The images' shape, `[N, ...]`, as the float32 tensors made from them have it. */
  readonly shape: readonly number[];
  /** Whether batches are scaled to 0..1 (`byte / 255`); else 0..255. */
  readonly normalized: boolean;
  /** The bytes, `k` per float32 value: `[N, rowSize / k]`. */
  readonly #packed: Tensor;
  /** `256⁻ʲ` and `256⁻⁽ʲ⁺¹⁾` for the planes `j < k`, `[k, 1]`. */
  readonly #hi: Tensor;
  readonly #next: Tensor;

  private constructor(packed: Tensor, shape: readonly number[], normalized: boolean, k: number) {
    this.#packed = packed;
    this.shape = Object.freeze([...shape]);
    this.normalized = normalized;
    const powers = (from: number) =>
      tensor(Float32Array.from({ length: k }, (_, j) => 256 ** -(j + from)), { shape: [k, 1] });
    this.#hi = powers(0);
    this.#next = powers(1);
  }

  /**
   * Compact images from bytes (row-major, one byte per pixel), stored on the
   * current backend. `bytes` is copied, never changed.
   *
   * @param bytes `N·rowSize` pixel values 0..255.
   * @param shape `[N, ...]`: the shape of the float32 tensor they stand for.
   * @param options `normalize` (default true: batches in 0..1).
   * @returns The images.
   * @throws {ShapeError} When `shape` has no example axis or does not match `bytes.length`.
   * @example
   * ```ts
   * import { data } from "@gradus/core";
   *
   * const images = data.CompactImages.fromBytes(new Uint8Array([0, 51, 255, 0]), [2, 2]);
   * console.log(images.toTensor().arraySync()); // [[0, 0.2], [1, 0]] (float32 values)
   * ```
   */
  static fromBytes(
    bytes: Uint8Array,
    shape: readonly number[],
    options: CompactImagesOptions = {},
  ): CompactImages {
    const op = "CompactImages.fromBytes()";
    checkOptions("CompactImages.fromBytes", options, COMPACT_KEYS, "{ normalize: false }");
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`${op}: bytes must be a Uint8Array, got ${typeof bytes}`);
    }
    if (shape.length < 1 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new ShapeError(
        `${op}: shape must be [N, ...] of non-negative integers, got [${shape.join(", ")}]`,
      );
    }
    const n = shape[0], row = shape.slice(1).reduce((a, b) => a * b, 1);
    if (n * row !== bytes.length) {
      throw new ShapeError(
        `${op}: shape [${shape.join(", ")}] has ${n * row} values but bytes has ${bytes.length}`,
      );
    }
    return CompactImages._fromOwnedBytes(bytes, shape, options.normalize ?? true, () => {});
  }

  /**
   * {@linkcode CompactImages.fromBytes} for the loaders: `free` is called
   * once the bytes are packed, before the packed values are uploaded, so
   * that the file's bytes, the packed array and the backend's copy are
   * never all alive at once (the peak memory of loading). Arguments are
   * not checked.
   * @internal
   */
  static _fromOwnedBytes(
    bytes: Uint8Array,
    shape: readonly number[],
    normalize: boolean,
    free: () => void,
  ): CompactImages {
    const n = shape[0], row = shape.slice(1).reduce((a, b) => a * b, 1);
    const k = bytesPerValue(row), w = row / k;
    const packed = new Float32Array(n * w);
    // Value c of row r: byte j (weight 256ʲ) is the row's byte j·w + c.
    if (k === 1) packed.set(bytes);
    for (let r = 0; r < n && k > 1; r++) {
      const src = r * row, dst = r * w;
      if (k === 2) {
        for (let c = 0; c < w; c++) packed[dst + c] = bytes[src + c] + 256 * bytes[src + w + c];
      } else {
        for (let c = 0; c < w; c++) {
          const b0 = bytes[src + c], b1 = bytes[src + w + c], b2 = bytes[src + 2 * w + c];
          packed[dst + c] = b0 + 256 * b1 + 65536 * b2;
        }
      }
    }
    free();
    return new CompactImages(ownedTensor(packed, [n, w], "float32"), shape, normalize, k);
  }

  /** The number of images (`shape[0]`). */
  get length(): number {
    return this.shape[0];
  }

  /**
   * The images at `indices`, as float32.
   *
   * @param indices 1-D int32 indices into the first axis (negative ones
   * count from the end), as a tensor or numbers.
   * @returns float32 `[indices.length, ...shape.slice(1)]`.
   * @throws {RangeError} When an index is out of range.
   * @throws {ShapeError} When the indices are not 1-D.
   * @example
   * ```ts
   * import { data } from "@gradus/core";
   *
   * const images = data.CompactImages.fromBytes(new Uint8Array([10, 20, 30]), [3, 1], {
   *   normalize: false,
   * });
   * console.log(images.take([2, 0, 2]).arraySync()); // [[30], [10], [30]]
   * ```
   */
  take(indices: Tensor | readonly number[]): Tensor {
    const idx = this.#indices("CompactImages.take", indices);
    return this.#rows(idx, idx !== indices);
  }

  /** `indices` as an int32 tensor, which must be 1-D (one image each). */
  #indices(op: string, indices: Tensor | readonly number[]): Tensor {
    const idx = indexTensor(op, indices, backendOf(this.#packed), this.length);
    if (idx.ndim !== 1) {
      throw new ShapeError(
        `${op}(): indices must be 1-D (one image index each), got shape [${
          idx.shape.join(",")
        }]; ` +
          `flatten them (reshape(i, [-1])) and reshape the images after`,
      );
    }
    return idx;
  }

  /**
   * The images `start … stop - 1`, as float32 (bounds as in `slice`:
   * negative ones count from the end, both are clamped).
   *
   * @param start The first image.
   * @param stop One past the last (default: the end).
   * @returns float32 `[count, ...shape.slice(1)]`.
   * @example
   * ```ts
   * import { data } from "@gradus/core";
   *
   * const images = data.CompactImages.fromBytes(new Uint8Array([0, 255, 51]), [3]);
   * console.log(images.slice(1).arraySync(), images.slice(0, 1).arraySync()); // [1, 0.2] [0] (float32)
   * ```
   */
  slice(start: number, stop?: number): Tensor {
    const n = this.length;
    const bound = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
    if (!Number.isInteger(start) || (stop !== undefined && !Number.isInteger(stop))) {
      throw new TypeError(
        `CompactImages.slice(): start and stop must be integers, got ${start} and ${stop}`,
      );
    }
    const a = bound(start), b = Math.max(bound(stop ?? n), a);
    return this.#rows(tensor(Int32Array.from({ length: b - a }, (_, i) => a + i)), true);
  }

  /**
   * All images as one float32 tensor: what the loaders give without
   * `compact` (two or three times the memory).
   *
   * @returns float32 of {@linkcode CompactImages.shape}.
   * @example
   * ```ts
   * import { data } from "@gradus/core";
   *
   * const images = data.CompactImages.fromBytes(new Uint8Array([255, 0]), [2]);
   * console.log(images.toTensor().arraySync()); // [1, 0]
   * ```
   */
  toTensor(): Tensor {
    return this.slice(0);
  }

  /**
   * The images at `indices`, still compact (e.g. a validation split).
   *
   * @param indices 1-D int32 indices into the first axis, as a tensor or numbers.
   * @returns New compact images of `indices.length` images.
   * @example
   * ```ts
   * import { data } from "@gradus/core";
   *
   * const images = data.CompactImages.fromBytes(new Uint8Array([1, 2, 3]), [3], {
   *   normalize: false,
   * });
   * const last2 = images.subset([1, 2]);
   * console.log(last2.length, last2.toTensor().arraySync()); // 2 [2, 3]
   * ```
   */
  subset(indices: Tensor | readonly number[]): CompactImages {
    const idx = this.#indices("CompactImages.subset", indices);
    const packed = takeOp(this.#packed, idx, 0);
    if (idx !== indices) idx.dispose();
    const shape = [packed.shape[0], ...this.shape.slice(1)];
    return new CompactImages(packed, shape, this.normalized, this.#hi.shape[0]);
  }

  /**
   * Frees the storage now rather than at the next garbage collection; the
   * images cannot be used afterwards.
   *
   * @example
   * ```ts
   * import { data } from "@gradus/core";
   *
   * const images = data.CompactImages.fromBytes(new Uint8Array(784), [1, 784]);
   * images.dispose();
   * ```
   */
  dispose(): void {
    for (const t of [this.#packed, this.#hi, this.#next]) t.dispose();
  }

  /**
   * The images at `idx` (int32 `[count]`) as float32; what is made on the
   * way (and `idx` when `own`) is freed at once: a training loop calls this
   * every step.
   */
  #rows(idx: Tensor, own: boolean): Tensor {
    const shape = [idx.shape[0], ...this.shape.slice(1)];
    const [packed, hi, next] = [this.#packed, this.#hi, this.#next];
    // One pass where the backend has it (wasm, cpu) and the values are concrete.
    const be = packed._backend;
    if (be?.unpackBytes !== undefined && isConcrete(idx) && isConcrete(packed)) {
      const [n, w] = packed.shape;
      const data = be.unpackBytes({
        x: packed._data,
        indices: idx._data,
        n,
        w,
        k: hi.shape[0] as 1 | 2 | 3,
        count: idx.shape[0],
        divisor: this.normalized ? 255 : 1,
      });
      if (data !== null) {
        if (own) idx.dispose();
        return makeTensor(be, data, shape, "float32");
      }
    }
    // Traced: division where it is correctly rounded, else a table of the exact values.
    const name = packed._backend?.name;
    const decode = !this.normalized
      ? rowsRaw
      : name === "wasm" || name === "cpu"
      ? rowsUnitByDivision
      : rowsUnitByTable;
    try {
      return tidy(() => reshape(decode(packed, idx, hi, next), shape));
    } finally {
      if (own) idx.dispose();
    }
  }
}

/** Whether `t` is a plain tensor with its value (not traced by a transformation). */
function isConcrete(t: Tensor): boolean {
  return t._trace === null && t._primal === null && !t._disposed && t._backend !== null;
}
