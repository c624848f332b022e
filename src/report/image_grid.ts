/**
 * Image grids: a batch of images (MNIST digits, CIFAR-10 pictures) with
 * their true and predicted labels.
 *
 * @module
 */

import { Tensor } from "../core/tensor.ts";
import { argmax } from "../ops/reduce.ts";
import { slice } from "../ops/movement.ts";
import { readNumbers, readOptional } from "./_data.ts";
import { base64, encodePng } from "./_png.ts";
import {
  checkPositiveInt,
  checkRange,
  el,
  fitText,
  INK,
  INK_SOFT,
  RED,
  SVG_CLOSE,
  svgOpen,
  text,
  textWidth,
  TITLE_SIZE,
  titleBlock,
} from "./_svg.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

const GRID_KEYS: OptionKeys<ImageGridOptions> = {
  images: true,
  shape: true,
  count: true,
  columns: true,
  labels: true,
  predictions: true,
  classNames: true,
  title: true,
  scale: true,
  range: true,
  invert: "boolean",
};

/**
 * Options of {@linkcode imageGrid}.
 *
 * @example
 * ```ts
 * import { plot, random } from "@gradus/core";
 *
 * // Eight 28×28 grayscale images, as flat rows (MNIST's [N, 784] layout).
 * const images = random.uniform(random.key(0), [8, 784]);
 * const options: plot.ImageGridOptions = {
 *   images,
 *   shape: [28, 28],
 *   labels: [0, 1, 2, 3, 4, 5, 6, 7],
 *   predictions: [0, 1, 2, 3, 4, 5, 6, 1], // the last one is wrong: a red cell
 *   columns: 4,
 *   scale: 1,
 * };
 * console.log((await plot.imageGrid(options)).startsWith("<svg")); // true
 * ```
 */
export interface ImageGridOptions {
  /**
   * The pixels of `N` images, row-major: `N×H×W` (grayscale), `N×C×H×W`
   * or `N×H×W×C` (C = 1 or 3), as `shape` says — a flat array, or a tensor
   * (only the images shown are read back).
   */
  readonly images: ArrayLike<number> | Tensor;
  /**
   * The shape of one image: `[H, W]`, `[C, H, W]` or `[H, W, C]` with
   * C = 1 or 3 (channels first when the first entry is 1 or 3). Default,
   * for an `images` tensor of rank 3 or 4: its shape without the first
   * axis; required otherwise (e.g. `[28, 28]` for flat `[N, 784]` MNIST).
   */
  readonly shape?: readonly [number, number] | readonly [number, number, number];
  /** How many images to show (default: all, at most 100). */
  readonly count?: number;
  /** Images per row (default 10). */
  readonly columns?: number;
  /** True labels, one per image, shown under it: numbers, an int tensor `[N]`, or one-hot rows `[N, C]`. */
  readonly labels?: ArrayLike<number> | Tensor;
  /**
   * Predicted labels, one per image; where they differ from `labels` the
   * cell is red. Numbers, an int tensor `[N]`, or a tensor of scores
   * (logits) `[N, C]`, reduced with argmax.
   */
  readonly predictions?: ArrayLike<number> | Tensor;
  /** Names of the classes, used instead of the numbers. */
  readonly classNames?: readonly string[];
  /** The title at the top. */
  readonly title?: string;
  /** Screen pixels per image pixel, a positive integer (default 2). */
  readonly scale?: number;
  /**
   * The value range that maps to black…white (default: `[0, 1]` when all
   * shown values are in it, else `[0, 255]` when they are in that, else
   * their min and max).
   */
  readonly range?: readonly [number, number];
  /** Show dark strokes on white (default false: as stored, 0 is black). */
  readonly invert?: boolean;
}

/**
 * A grid of images as a standalone SVG string, each image embedded as a PNG
 * data URI (`<image href="data:image/png;base64,…">`), with its true and
 * predicted labels underneath; wrong predictions are red, with a red frame,
 * and a caption counts the correct ones.
 *
 * Async because the PNGs are zlib-compressed with the platform's
 * `CompressionStream("deflate")`: 100 MNIST digits at the default scale
 * take about 80 KB; and tensors are read with `await t.data()` (only the
 * images shown), so it works on every backend. Pixels are upscaled by
 * `scale` inside the PNG, so the digits stay sharp in every viewer.
 *
 * @param opts The images, labels and look (see {@linkcode ImageGridOptions}).
 * @returns A promise of the SVG document.
 * @throws {RangeError} When the pixel count is not a multiple of the image
 * size, the shape, `count`, `columns`, `scale` or `range` is invalid, or
 * `labels`/`predictions` have fewer entries than images shown.
 * @example
 * ```ts
 * import { plot } from "@gradus/core";
 *
 * // Four 8×8 "images": a bright square that moves.
 * const images = new Float32Array(4 * 64);
 * for (let n = 0; n < 4; n++) {
 *   for (let y = 2; y < 5; y++) for (let x = n; x < n + 3; x++) images[n * 64 + y * 8 + x] = 1;
 * }
 * const svg = await plot.imageGrid({
 *   title: "Squares",
 *   images,
 *   shape: [8, 8],
 *   labels: [0, 1, 2, 3],
 *   predictions: [0, 1, 2, 1],
 *   scale: 4,
 * });
 * console.log(svg.match(/<image /g)?.length); // 4
 * ```
 * @example A batch of tensors: images `[N, H, W]` and logits `[N, C]`
 * ```ts
 * import { plot, random, tensor } from "@gradus/core";
 *
 * const images = random.uniform(random.key(0), [6, 8, 8]);
 * const logits = random.normal(random.key(1), [6, 3]);
 * const labels = tensor([0, 1, 2, 0, 1, 2], { dtype: "int32" });
 * const svg = await plot.imageGrid({ images, labels, predictions: logits, scale: 3 });
 * console.log(svg.match(/<image /g)?.length); // 6
 * ```
 */
export async function imageGrid(opts: ImageGridOptions): Promise<string> {
  const op = "imageGrid()";
  checkOptions("imageGrid", opts, GRID_KEYS, "{ images, shape: [28, 28] }", true);
  const { images, labels, predictions } = await readImages(op, opts);
  const shape = opts.shape ?? (opts.images as Tensor).shape.slice(1);
  const { c, h, w, channelsFirst } = readShape(op, shape);
  const size = c * h * w;
  if (images.length % size !== 0 || images.length === 0) {
    throw new RangeError(
      `${op}: ${images.length} values are not a whole number of ${shape.join("×")} images ` +
        `(${size} values each)`,
    );
  }
  const total = images.length / size;
  const count = Math.min(total, checkPositiveInt(op, "count", opts.count ?? Math.min(total, 100)));
  const columns = Math.min(count, checkPositiveInt(op, "columns", opts.columns ?? 10));
  const scale = checkPositiveInt(op, "scale", opts.scale ?? 2);
  for (const [name, arr] of [["labels", labels], ["predictions", predictions]] as const) {
    if (arr !== undefined && arr.length < count) {
      throw new RangeError(`${op}: ${name} has ${arr.length} entries for ${count} images`);
    }
  }

  // The value range.
  let range = checkRange(op, "range", opts.range);
  if (range === undefined) {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < count * size; i++) {
      const v = Number(images[i]);
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo > hi) range = [0, 1];
    else if (lo >= 0 && hi <= 1) range = [0, 1];
    else if (lo >= 0 && hi <= 255) range = [0, 255];
    else range = lo === hi ? [lo - 1, hi] : [lo, hi];
  }
  const [lo, hi] = range;
  const k = 255 / (hi - lo);

  // Captions.
  const name = (v: number): string => opts.classNames?.[v] ?? fmtLabel(v);
  const both = labels !== undefined && predictions !== undefined;
  const lines = both ? 2 : labels !== undefined || predictions !== undefined ? 1 : 0;
  const captions: { lines: string[]; wrong: boolean }[] = [];
  let correct = 0;
  for (let i = 0; i < count; i++) {
    if (both) {
      const t = Number(labels![i]);
      const p = Number(predictions![i]);
      const wrong = t !== p;
      if (!wrong) correct++;
      captions.push({ lines: [`pred ${name(p)}`, `true ${name(t)}`], wrong });
    } else if (labels !== undefined) {
      captions.push({ lines: [name(Number(labels[i]))], wrong: false });
    } else if (predictions !== undefined) {
      captions.push({ lines: [name(Number(predictions[i]))], wrong: false });
    } else captions.push({ lines: [], wrong: false });
  }

  // Layout.
  const CAP = 11;
  const LINE = 13;
  const PAD = 12;
  const GAP = 8;
  const imgW = w * scale;
  const imgH = h * scale;
  const textNeed = captions.reduce(
    (m, cap) => Math.max(m, ...cap.lines.map((l) => textWidth(l, CAP))),
    0,
  );
  const cellW = Math.max(imgW, Math.min(textNeed, 140)) + GAP;
  const cellH = imgH + (lines > 0 ? 4 + lines * LINE : 0) + GAP;
  const rows = Math.ceil(count / columns);
  const caption = both ? `${correct} of ${count} correct · wrong predictions in red` : "";
  const headerW = Math.max(
    opts.title ? textWidth(opts.title, TITLE_SIZE, true) + 24 : 0,
    caption ? textWidth(caption, CAP + 1) + 24 : 0,
  );
  const gridW = columns * cellW - GAP;
  const width = Math.max(gridW + 2 * PAD, Math.min(headerW, 900), 120);
  const title = titleBlock(opts.title, width);
  const top = title.height + (caption ? 20 : 0);
  const height = top + rows * cellH - GAP + PAD;
  const x0 = (width - gridW) / 2;

  let body = title.svg;
  if (caption) {
    body += text(width / 2, top - 12, caption, {
      "text-anchor": "middle",
      "font-size": CAP + 1,
      fill: INK_SOFT,
    });
  }

  const pixels = new Uint8Array(imgW * imgH * c);
  for (let n = 0; n < count; n++) {
    // Scale and upsample one image to 8-bit pixels.
    const base = n * size;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) {
          const src = channelsFirst ? base + ch * h * w + y * w + x : base + (y * w + x) * c + ch;
          const v = Number(images[src]);
          let b = Number.isFinite(v) ? Math.round((v - lo) * k) : 0;
          b = b < 0 ? 0 : b > 255 ? 255 : b;
          if (opts.invert) b = 255 - b;
          for (let sy = 0; sy < scale; sy++) {
            const row = (y * scale + sy) * imgW;
            for (let sx = 0; sx < scale; sx++) pixels[(row + x * scale + sx) * c + ch] = b;
          }
        }
      }
    }
    const png = await encodePng(pixels, imgW, imgH, c as 1 | 3);
    const col = n % columns;
    const row = Math.floor(n / columns);
    const cx = x0 + col * cellW + (cellW - GAP) / 2;
    const ix = cx - imgW / 2;
    const iy = top + row * cellH;
    const cap = captions[n];
    let cell = el("image", {
      x: ix,
      y: iy,
      width: imgW,
      height: imgH,
      href: `data:image/png;base64,${base64(png)}`,
      style: "image-rendering:pixelated",
    });
    if (cap.wrong) {
      cell += el("rect", {
        x: ix - 1.5,
        y: iy - 1.5,
        width: imgW + 3,
        height: imgH + 3,
        fill: "none",
        stroke: RED,
        "stroke-width": 2,
      });
    }
    cap.lines.forEach((l, j) => {
      cell += text(cx, iy + imgH + 4 + j * LINE, fitText(l, cellW - 2, CAP), {
        "text-anchor": "middle",
        dy: "0.85em",
        "font-size": CAP,
        fill: cap.wrong ? RED : j === 0 ? INK : INK_SOFT,
        "font-weight": cap.wrong && j === 0 ? 600 : undefined,
      });
    });
    body += el("g", { class: cap.wrong ? "cell wrong" : "cell" }, cell);
  }
  return svgOpen(width, height, opts.title) + body + SVG_CLOSE;
}

/**
 * The pixels of the images shown (at most `count`, default 100) and the
 * labels, read from tensors where given (sliced on the device first, so
 * only what is shown comes back); 2-D label tensors are reduced with argmax.
 */
async function readImages(op: string, opts: ImageGridOptions): Promise<{
  images: ArrayLike<number>;
  labels: ArrayLike<number> | undefined;
  predictions: ArrayLike<number> | undefined;
}> {
  const limit = opts.count === undefined
    ? 100
    : Number.isInteger(opts.count) && opts.count > 0
    ? opts.count
    : 0;
  const first = (t: Tensor): Tensor =>
    limit > 0 && t.ndim > 0 && t.shape[0] > limit ? slice(t, [0], [limit]) : t;
  let images: ArrayLike<number>;
  if (opts.images instanceof Tensor) {
    if (opts.shape === undefined && opts.images.ndim !== 3 && opts.images.ndim !== 4) {
      throw new RangeError(
        `${op}: cannot tell the image shape of a tensor of shape [${opts.images.shape}]; ` +
          `pass shape, e.g. shape: [28, 28] for flat [N, 784] images`,
      );
    }
    images = await first(opts.images).data();
  } else {
    images = await readNumbers(op, "images", opts.images);
    if (opts.shape === undefined) {
      throw new RangeError(`${op}: shape is required for flat images, e.g. shape: [28, 28]`);
    }
  }
  const labelsOf = async (what: string, x: ArrayLike<number> | Tensor | undefined) => {
    if (!(x instanceof Tensor)) return await readOptional(op, what, x);
    if (x.ndim === 2) return await argmax(first(x), -1).data();
    if (x.ndim !== 1) {
      throw new RangeError(
        `${op}: ${what} must be class indices [N] or scores [N, C], got shape [${x.shape}]`,
      );
    }
    return await first(x).data();
  };
  return {
    images,
    labels: await labelsOf("labels", opts.labels),
    predictions: await labelsOf("predictions", opts.predictions),
  };
}

function fmtLabel(v: number): string {
  return String(v);
}

function readShape(
  op: string,
  shape: readonly number[],
): { c: number; h: number; w: number; channelsFirst: boolean } {
  const ok = Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d > 0);
  if (ok && shape.length === 2) return { c: 1, h: shape[0], w: shape[1], channelsFirst: true };
  if (ok && shape.length === 3) {
    if (shape[0] === 1 || shape[0] === 3) {
      return { c: shape[0], h: shape[1], w: shape[2], channelsFirst: true };
    }
    if (shape[2] === 1 || shape[2] === 3) {
      return { c: shape[2], h: shape[0], w: shape[1], channelsFirst: false };
    }
  }
  throw new RangeError(
    `${op}: shape must be [H, W], [C, H, W] or [H, W, C] with C = 1 or 3, got [${shape}]`,
  );
}
