/**
 * Plots and reports: dependency-free SVG charts of training runs and
 * models. Every chart is an async function from data — number arrays,
 * typed arrays or tensors, wherever it takes numbers — to a standalone SVG
 * document that opens in any browser: a title, axes with "nice" ticks (1,
 * 2, 5 × 10^k), gridlines, axis labels, a legend where there are several
 * series, the colour-blind-friendly Okabe–Ito palette and the platform's
 * UI font. {@linkcode save} writes one to a file, and takes the promise a
 * chart returns as it is.
 *
 * Why async: a tensor's values come back with `await t.data()`, the one
 * read that works on every backend (WebGPU cannot read synchronously), so
 * `plot.lineChart({ series: [{ y: losses }] })` works the same with an
 * array or a tensor on any backend. Only what is drawn is read.
 *
 * - {@linkcode lineChart}: loss per iteration, accuracy per epoch, several series.
 * - {@linkcode histogram}, {@linkcode histograms}: value distributions, one
 *   or several side by side over the same bins (activations per layer).
 *   ({@linkcode histogramBins}, the counting helper, is synchronous and
 *   takes host numbers.)
 * - {@linkcode decisionBoundary}: the regions a 2-D classifier assigns to
 *   each class, with the data points; it takes the model as a `predict`
 *   function and evaluates it once on a grid.
 * - {@linkcode imageGrid}: a batch of images with true and predicted
 *   labels, wrong ones in red.
 * - {@linkcode confusionMatrix}: a heat map of a confusion matrix (e.g. the
 *   tensor `metrics.confusionMatrix` returns).
 *
 * @example
 * ```ts
 * import { plot } from "@gradus/core";
 *
 * const dir = await Deno.makeTempDir();
 * const loss = [2.3, 1.1, 0.7, 0.52, 0.45, 0.41];
 * await plot.save(
 *   `${dir}/loss.svg`,
 *   plot.lineChart({ title: "Loss", xLabel: "epoch", yLabel: "loss", series: [{ y: loss }] }),
 * );
 * const svg = await plot.lineChart({ series: [{ y: loss }] }); // the document itself
 * console.log(svg.startsWith("<svg")); // true
 * ```
 *
 * @example From this entry point (`@gradus/core/plot`)
 * ```ts
 * import { histogram, lineChart } from "@gradus/core/plot";
 *
 * const loss = await lineChart({ series: [{ name: "train", y: [1, 0.5, 0.3] }] });
 * const weights = await histogram({ values: [0.1, -0.2, 0.05, 0.3], bins: 4 });
 * console.log(loss.startsWith("<svg"), weights.startsWith("<svg")); // true true
 * ```
 *
 * @module
 */

// Whole files are re-exported: `deno doc` (and so JSR) lists the members of
// the `export * as` namespaces in mod.ts only when they come through
// `export *`. What is not public lives in `_`-prefixed files.
import "../ops/tensor_methods.ts"; // installs Tensor's methods (x.add(y), x.sum(), …)

export * from "./line_chart.ts";
export * from "./histogram.ts";
export * from "./decision_boundary.ts";
export * from "./image_grid.ts";
export * from "./confusion_matrix.ts";
export * from "./save.ts";
