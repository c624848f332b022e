/**
 * Classification metrics: {@linkcode accuracy}, {@linkcode confusionMatrix},
 * per-class {@linkcode precision}, {@linkcode recall} and {@linkcode f1}
 * (with macro and weighted averages), and a readable printout of a confusion
 * matrix ({@linkcode formatConfusionMatrix}).
 *
 * Every metric is built from ops and returns a tensor, so it stays on the
 * device (a GPU backend included) until you read it: `await acc.item()`.
 * Only `formatConfusionMatrix` reads values back, to print them.
 *
 * Inputs, for all of them:
 * - predictions: scores (logits or probabilities) `[N, C]`, reduced with
 *   `argmax` over the last axis, or class indices `[N]` (int32; bool for two
 *   classes);
 * - targets: int32 labels `[N]` or one-hot rows `[N, C]`.
 *
 * Conventions follow scikit-learn: confusion matrix rows are true classes and
 * columns predicted classes; an undefined precision, recall or F1 (a class
 * never predicted, or with no examples) counts as 0 (`zero_division=0`).
 *
 * @example
 * ```ts
 * import { metrics, tensor } from "@gradus/core";
 *
 * const logits = tensor([[2, 1, 0], [0, 3, 1], [1, 0, 4], [5, 1, 0]]);
 * const labels = tensor([0, 1, 1, 0], { dtype: "int32" });
 * console.log(await metrics.accuracy(logits, labels).item()); // 0.75
 * console.log(await metrics.f1(logits, labels, { average: "macro" }).item()); // 0.5555555820465088 (mean of 1, 2/3, 0)
 * console.log(await metrics.formatConfusionMatrix(metrics.confusionMatrix(logits, labels)));
 * ```
 *
 * @example From this entry point (`@gradus/core/metrics`)
 * ```ts
 * import { accuracy, confusionMatrix } from "@gradus/core/metrics";
 * import { tensor } from "@gradus/core";
 *
 * const logits = tensor([[2, 1], [0, 3], [1, 0]]);
 * const labels = tensor([0, 1, 1], { dtype: "int32" });
 * console.log(await accuracy(logits, labels).item()); // ≈ 0.6667
 * console.log(confusionMatrix(logits, labels).arraySync()); // [[1, 0], [1, 1]]
 * ```
 *
 * @module
 */

// Whole files are re-exported: `deno doc` (and so JSR) lists the members of
// the `export * as` namespaces in mod.ts only when they come through
// `export *`. What is not public lives in `_`-prefixed files.
import "../ops/tensor_methods.ts"; // installs Tensor's methods (x.add(y), x.sum(), …)

export * from "./accuracy.ts";
export * from "./confusion_matrix.ts";
export * from "./precision_recall.ts";
export * from "./format_confusion_matrix.ts";
