/**
 * A readable text table of a confusion matrix.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { fmtShape, ShapeError } from "../core/errors.ts";
import { requireTensor } from "./_classes.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/**
 * Options of {@linkcode formatConfusionMatrix}.
 *
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const cm = tensor([[5, 1], [2, 7]], { dtype: "int32" });
 * const options: metrics.FormatConfusionMatrixOptions = { labels: ["cat", "dog"] };
 * console.log(await metrics.formatConfusionMatrix(cm, options)); // rows and columns named cat, dog
 * ```
 */
export interface FormatConfusionMatrixOptions {
  /** Class names, one per class (default: the class indices `0 … C-1`). */
  readonly labels?: readonly string[];
}

const FORMAT_KEYS: OptionKeys<FormatConfusionMatrixOptions> = { labels: true };

function percent(num: number, den: number): string {
  return den > 0 ? `${(100 * num / den).toFixed(1)}%` : "-";
}

function count(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}

/**
 * Formats a confusion matrix as an aligned text table: one row per true
 * class, one column per predicted class (the layout of
 * {@linkcode confusionMatrix}), then each row's total and recall, a row of
 * column totals, a row of per-class precision, and the overall accuracy.
 * Precision and recall print as `-` where they are undefined (a class never
 * predicted, or with no examples), where {@linkcode precision} and
 * {@linkcode recall} return 0.
 *
 * This is the one metrics function that reads values back to the host (it
 * awaits `cm.data()`).
 *
 * @param cm A confusion matrix `[C, C]` (rows true, columns predicted).
 * @param opts `labels`: class names (default `0 … C-1`).
 * @returns The table, lines separated by `\n` (no trailing newline).
 * @throws {ShapeError} When `cm` is not square or `labels` has the wrong length.
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const cm = tensor([[5, 1, 0], [0, 3, 1], [0, 0, 2]], { dtype: "int32" });
 * console.log(await metrics.formatConfusionMatrix(cm, { labels: ["cat", "dog", "bird"] }));
 * // true \ predicted     cat    dog   bird | total  recall
 * // cat                    5      1      0 |     6   83.3%
 * // dog                    0      3      1 |     4   75.0%
 * // bird                   0      0      2 |     2  100.0%
 * // ------------------------------------------------------
 * // total                  5      4      3 |    12
 * // precision         100.0%  75.0%  66.7%
 * // accuracy: 83.3% (10 of 12)
 * ```
 */
export async function formatConfusionMatrix(
  cm: Tensor,
  opts: FormatConfusionMatrixOptions = {},
): Promise<string> {
  const op = "formatConfusionMatrix()";
  checkOptions("formatConfusionMatrix", opts, FORMAT_KEYS, '{ labels: ["cat", "dog"] }');
  const m = requireTensor(op, "the confusion matrix", cm);
  if (m.ndim !== 2 || m.shape[0] !== m.shape[1]) {
    throw new ShapeError(
      `${op}: a confusion matrix must be square [C, C], got shape ${fmtShape(m.shape)}`,
    );
  }
  const c = m.shape[0];
  const labels = opts.labels ?? Array.from({ length: c }, (_, i) => String(i));
  if (labels.length !== c) {
    throw new ShapeError(
      `${op}: got ${labels.length} labels for a ${c}-class confusion matrix; pass one per class`,
    );
  }
  const v = Array.from(await m.data(), Number);
  const at = (i: number, j: number) => v[i * c + j];
  const rowSum = labels.map((_, i) => labels.reduce((s, _l, j) => s + at(i, j), 0));
  const colSum = labels.map((_, j) => labels.reduce((s, _l, i) => s + at(i, j), 0));
  const total = rowSum.reduce((s, x) => s + x, 0);
  const correct = labels.reduce((s, _l, i) => s + at(i, i), 0);

  const corner = "true \\ predicted";
  const cells = labels.map((_, i) => labels.map((_l, j) => count(at(i, j))));
  const precisionRow = labels.map((_, j) => percent(at(j, j), colSum[j]));
  const totalRow = colSum.map(count);
  const headW = Math.max(corner.length, "precision".length, ...labels.map((l) => l.length));
  const colW = labels.map((l, j) =>
    Math.max(
      l.length,
      precisionRow[j].length,
      totalRow[j].length,
      ...cells.map((row) => row[j].length),
    )
  );
  const totW = Math.max("total".length, ...rowSum.map((x) => count(x).length), count(total).length);
  const recW = "recall".length + 1;

  const line = (head: string, values: readonly string[]) =>
    head.padEnd(headW) + values.map((s, j) => "  " + s.padStart(colW[j])).join("");
  const lines: string[] = [];
  lines.push(`${line(corner, labels)} | ${"total".padStart(totW)} ${"recall".padStart(recW)}`);
  for (let i = 0; i < c; i++) {
    lines.push(
      `${line(labels[i], cells[i])} | ${count(rowSum[i]).padStart(totW)} ${
        percent(at(i, i), rowSum[i]).padStart(recW)
      }`,
    );
  }
  lines.push("-".repeat(lines[0].length));
  lines.push(`${line("total", totalRow)} | ${count(total).padStart(totW)}`);
  lines.push(line("precision", precisionRow));
  lines.push(`accuracy: ${percent(correct, total)} (${count(correct)} of ${count(total)})`);
  return lines.join("\n");
}
