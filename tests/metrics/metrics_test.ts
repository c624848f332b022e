import assert from "node:assert/strict";
import {
  accuracy,
  confusionMatrix,
  f1,
  formatConfusionMatrix,
  precision,
  recall,
} from "../../src/metrics/mod.ts";
import { cast, full, greater, oneHot, reshape, tensor, zeros } from "../../src/ops/mod.ts";
import type { Tensor } from "../../src/core/tensor.ts";
import { DTypeError, ShapeError } from "../../src/core/errors.ts";
import { assertClose, onHostlessBackend, peek } from "../_helpers.ts";

const int = (xs: number[]): Tensor => tensor(xs, { dtype: "int32" });

// A 6-class problem: class 4 is predicted once but never true, class 5 never
// appears at all (it is left out of macro averages, like scikit-learn's
// default labels = unique(y_true ∪ y_pred)).
const Y_TRUE = [0, 1, 2, 2, 1, 0, 2, 3, 3, 1, 0, 2];
const Y_PRED = [0, 2, 2, 2, 1, 0, 1, 3, 0, 1, 4, 2];
// NumPy: cm = zeros((6, 6), int); for t, p in zip(y_true, y_pred): cm[t, p] += 1
const CM = [
  [2, 0, 0, 0, 1, 0],
  [0, 2, 1, 0, 0, 0],
  [0, 1, 3, 0, 0, 0],
  [1, 0, 0, 1, 0, 0],
  [0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 0],
];
// NumPy, with sd(a, b) = where(b > 0, a / where(b > 0, b, 1), 0), tp = diag(cm),
// pred = cm.sum(0), sup = cm.sum(1), present = (sup + pred) > 0:
// P = sd(tp, pred), R = sd(tp, sup), F = sd(2 tp, sup + pred);
// macro = v[present].mean(), weighted = (v * sup).sum() / sup.sum()
const P = [2 / 3, 2 / 3, 0.75, 1, 0, 0];
const R = [2 / 3, 2 / 3, 0.75, 0.5, 0, 0];
const F = [2 / 3, 2 / 3, 0.75, 2 / 3, 0, 0];
const P_MACRO = 0.6166666666666666, P_WEIGHTED = 0.75;
const R_MACRO = 0.5166666666666666, R_WEIGHTED = 0.6666666666666666;
const F_MACRO = 0.5499999999999999, F_WEIGHTED = 0.6944444444444445;
const TOL = { atol: 1e-6, rtol: 1e-6 };

/** Scores whose argmax is `labels` (a different maximum value per row). */
function scoresFor(labels: number[], c: number): Tensor {
  return tensor(labels.map((l, i) => Array.from({ length: c }, (_, j) => (j === l ? 2 + i : -i))));
}

Deno.test("accuracy: logits, probabilities, indices, one-hot and bool inputs", async () => {
  const logits = tensor([[2, 1, 0], [0, 3, 1], [1, 0, 4], [5, 1, 0]]);
  const labels = int([0, 1, 1, 0]);
  const acc = accuracy(logits, labels);
  assert.deepEqual(acc.shape, []);
  assert.equal(acc.dtype, "float32");
  assert.equal(await acc.item(), 0.75);
  // probabilities against one-hot float targets
  const probs = tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]);
  assert.equal(await accuracy(probs, tensor([[1, 0, 0], [0, 1, 0]])).item(), 0.5);
  // one-hot int32 targets
  assert.equal(await accuracy(probs, oneHot([0, 2], 3, { dtype: "int32" })).item(), 1);
  // class indices on both sides
  assert.equal(await accuracy(int(Y_PRED), int(Y_TRUE)).item(), Math.fround(8 / 12));
  // bool predictions for two classes
  assert.equal(
    await accuracy(tensor([true, false, true]), int([1, 0, 0])).item(),
    Math.fround(2 / 3),
  );
  // ties go to the first maximum (argmax)
  assert.equal(await accuracy(tensor([[1, 1], [0, 0]]), int([0, 1])).item(), 0.5);
  // no examples: NaN
  assert.ok(Number.isNaN(await accuracy(zeros([0, 3]), int([])).item()));
  // inputs untouched
  assert.deepEqual(await labels.array(), [0, 1, 1, 0]);
});

Deno.test("accuracy: clear errors for mismatched or malformed inputs", () => {
  assert.throws(
    () => accuracy(tensor([[1, 0], [0, 1]]), int([0, 1, 1])),
    (e: Error) =>
      e instanceof ShapeError &&
      e.message ===
        "accuracy(): predictions [2,2] and targets [3] have different numbers of examples (2 vs 3)",
  );
  assert.throws(
    () => accuracy(tensor([[1, 0], [0, 1]]), tensor([[1, 0, 0], [0, 1, 0]])),
    /different numbers of classes \(2 vs 3\)/,
  );
  assert.throws(
    () => accuracy(tensor([0.2, 0.9]), int([0, 1])),
    (e: Error) =>
      e instanceof DTypeError &&
      /^accuracy\(\): 1-D predictions must be int32 class indices, got float32 \[2\]/.test(
        e.message,
      ),
  );
  assert.throws(() => accuracy(zeros([2, 2, 2]), int([0, 1])), /got shape \[2,2,2\]/);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => accuracy([0, 1] as any, int([0, 1])),
    /^TypeError: accuracy\(\): predictions must be a Tensor, got an array of length 2/,
  );
});

Deno.test("confusionMatrix: rows are true classes, columns predicted (NumPy reference)", async () => {
  const cm = confusionMatrix(int(Y_PRED), int(Y_TRUE), { numClasses: 6 });
  assert.equal(cm.dtype, "int32");
  assert.deepEqual(cm.shape, [6, 6]);
  assert.deepEqual(await cm.array(), CM);
  // scores and one-hot rows give the same matrix, with C taken from their shape
  const fromScores = confusionMatrix(scoresFor(Y_PRED, 6), oneHot(Y_TRUE, 6));
  assert.deepEqual(await fromScores.array(), CM);
  // no examples: all zeros
  assert.deepEqual(await confusionMatrix(int([]), int([]), { numClasses: 2 }).array(), [
    [0, 0],
    [0, 0],
  ]);
});

Deno.test("confusionMatrix: numClasses errors", () => {
  assert.throws(
    () => confusionMatrix(int([0, 1]), int([1, 0])),
    /^ShapeError: confusionMatrix\(\): cannot tell the number of classes .* pass \{ numClasses \}$/,
  );
  assert.throws(
    () => confusionMatrix(zeros([2, 3]), int([1, 0]), { numClasses: 4 }),
    /numClasses is 4 but the predictions have 3 classes \(shape \[2,3\]\)/,
  );
  assert.throws(
    () => confusionMatrix(int([0]), int([0]), { numClasses: 0 }),
    /numClasses must be a positive integer, got 0/,
  );
});

Deno.test("precision / recall / f1: per class, macro and weighted (sklearn zero_division=0)", () => {
  const p = int(Y_PRED), t = int(Y_TRUE);
  const cm = tensor(CM, { dtype: "int32" });
  const cases: [typeof precision, number[], number, number][] = [
    [precision, P, P_MACRO, P_WEIGHTED],
    [recall, R, R_MACRO, R_WEIGHTED],
    [f1, F, F_MACRO, F_WEIGHTED],
  ];
  for (const [fn, perClass, macro, weighted] of cases) {
    const none = fn(p, t, { numClasses: 6 });
    assert.equal(none.dtype, "float32");
    assert.deepEqual(none.shape, [6]);
    assertClose(none, perClass, TOL);
    assertClose(fn(p, t, { numClasses: 6, average: "none" }), perClass, TOL);
    assertClose(fn(cm), perClass, TOL);
    assertClose(fn(scoresFor(Y_PRED, 6), t), perClass, TOL);
    const m = fn(p, t, { numClasses: 6, average: "macro" });
    assert.deepEqual(m.shape, []);
    assertClose(m, macro, TOL);
    assertClose(fn(cm, { average: "macro" }), macro, TOL);
    assertClose(fn(p, t, { numClasses: 6, average: "weighted" }), weighted, TOL);
    assertClose(fn(cm, { average: "weighted" }), weighted, TOL);
  }
});

Deno.test("precision / recall / f1: edge cases", async () => {
  // perfect predictions
  assert.deepEqual(await f1(int([0, 1, 2]), int([0, 1, 2]), { numClasses: 3 }).array(), [1, 1, 1]);
  // everything wrong: all zero, no NaN
  const wrong = [precision, recall, f1].map((fn) =>
    fn(int([1, 0]), int([0, 1]), { numClasses: 2 })
  );
  for (const w of wrong) assert.deepEqual(await w.array(), [0, 0]);
  // no examples: per class 0, averages 0
  for (const fn of [precision, recall, f1]) {
    assert.deepEqual(await fn(int([]), int([]), { numClasses: 2 }).array(), [0, 0]);
    assert.equal(await fn(int([]), int([]), { numClasses: 2, average: "macro" }).item(), 0);
    assert.equal(await fn(int([]), int([]), { numClasses: 2, average: "weighted" }).item(), 0);
  }
  // a float (normalized) confusion matrix works too
  assertClose(recall(tensor([[0.25, 0.25], [0, 0.5]])), [0.5, 1], TOL);
  // f1 is 2pr/(p+r) per class
  const cm = tensor([[3, 1], [2, 4]], { dtype: "int32" });
  const [pp, rr, ff] = await Promise.all([precision(cm), recall(cm), f1(cm)].map((x) => x.data()));
  for (let i = 0; i < 2; i++) assertClose(ff[i], 2 * pp[i] * rr[i] / (pp[i] + rr[i]), TOL);
});

Deno.test("precision / recall / f1: argument errors", () => {
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => precision(tensor([[1, 0], [0, 1]]), { average: "micro" as any }),
    /^RangeError: precision\(\): average must be "none", "macro" or "weighted", got "micro"$/,
  );
  assert.throws(() => recall(zeros([2, 3])), /must be square \[C, C\], got shape \[2,3\]/);
  assert.throws(() => f1(int([0, 1]), int([0])), /different numbers of examples \(2 vs 1\)/);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => (f1 as any)(zeros([2, 2]), {}, {}),
    /f1\(\): the second argument must be the targets tensor/,
  );
});

Deno.test("class indices outside [0, C) are a RangeError naming the first one, never dropped", () => {
  // An off-by-one in the labels (1-based, 1…C) used to train and score on nothing.
  const scores = scoresFor([0, 1, 2], 3);
  assert.throws(
    () => accuracy(scores, int([1, 2, 3])),
    (e: Error) =>
      e instanceof RangeError &&
      e.message.startsWith(
        "accuracy(): label 3 at index [2] is out of range for 3 classes (valid: 0 … 2; " +
          "1 of 3 labels out of range); class labels are 0-based: if yours start at 1, subtract 1",
      ),
  );
  assert.throws(() => accuracy(scores, int([0, -1, 2])), /label -1 at index \[1\] is out of range/);
  // Two 1-D inputs: the classes are unknown, but a negative index is still caught.
  assert.throws(
    () => accuracy(int([0, 1]), int([-2, 1])),
    /^RangeError: accuracy\(\): label -2 at index \[0\] is negative/,
  );
  // Predicted indices given by the caller are checked too (argmax results are in range).
  assert.throws(
    () => confusionMatrix(int([0, 1, 5, -1]), int([0, 1, 1, 0]), { numClasses: 2 }),
    /^RangeError: confusionMatrix\(\): predicted class 5 at index \[2\] is out of range for 2 classes \(valid: 0 … 1; 2 of 4 predicted classes out of range\)/,
  );
  assert.throws(
    () => confusionMatrix(scores, int([0, 3, 1])),
    /confusionMatrix\(\): label 3 at index \[1\] is out of range for 3 classes/,
  );
  for (const fn of [precision, recall, f1]) {
    assert.throws(
      () => fn(int([0, 1]), int([0, 2]), { numClasses: 2, average: "macro" }),
      new RegExp(`^RangeError: ${fn.name}\\(\\): label 2 at index \\[1\\] is out of range for 2`),
    );
  }
  // the last class is in range
  assert.doesNotThrow(() => confusionMatrix(int([1, 1]), int([0, 1]), { numClasses: 2 }));
});

Deno.test("metrics: float labels [N] get a hint to cast them to int32", () => {
  assert.throws(
    () => accuracy(scoresFor([0, 1], 2), tensor([0, 1])),
    /1-D targets must be int32 class indices, got float32 \[2\]; cast float class labels to int32 \(cast\(x, "int32"\)\)/,
  );
});

Deno.test("metrics on a backend without synchronous reads: out-of-range indices give NaN (a −1 matrix)", async () => {
  const [bad, good] = await onHostlessBackend(() => {
    const scores = scoresFor(Y_PRED, 6);
    const badT = int([...Y_TRUE.slice(0, -1), 6]);
    return [
      [
        accuracy(scores, badT),
        confusionMatrix(scores, badT),
        precision(scores, badT),
        recall(int(Y_PRED), badT, { numClasses: 6, average: "macro" }),
        f1(int([...Y_PRED.slice(0, -1), -1]), int(Y_TRUE), { numClasses: 6, average: "weighted" }),
        accuracy(int([0, 1]), int([-2, 1])),
      ],
      [accuracy(scores, int(Y_TRUE)), confusionMatrix(scores, int(Y_TRUE))],
    ];
  });
  assert.ok(Number.isNaN(peek(bad[0])[0]));
  assert.deepEqual(peek(bad[1]), new Array(36).fill(-1));
  assert.ok(peek(bad[2]).length === 6 && peek(bad[2]).every(Number.isNaN));
  assert.ok(Number.isNaN(peek(bad[3])[0]));
  assert.ok(Number.isNaN(peek(bad[4])[0]));
  assert.ok(Number.isNaN(peek(bad[5])[0]));
  assertClose(peek(good[0]), [8 / 12], TOL);
  assert.deepEqual(peek(good[1]), CM.flat());
});

Deno.test("formatConfusionMatrix: aligned table with totals, recall, precision, accuracy", async () => {
  const cm = tensor([[5, 1, 0], [0, 3, 1], [0, 0, 2]], { dtype: "int32" });
  const want = [
    "true \\ predicted     cat    dog   bird | total  recall",
    "cat                    5      1      0 |     6   83.3%",
    "dog                    0      3      1 |     4   75.0%",
    "bird                   0      0      2 |     2  100.0%",
    "------------------------------------------------------",
    "total                  5      4      3 |    12",
    "precision         100.0%  75.0%  66.7%",
    "accuracy: 83.3% (10 of 12)",
  ].join("\n");
  assert.equal(await formatConfusionMatrix(cm, { labels: ["cat", "dog", "bird"] }), want);
  // default labels are indices; undefined ratios print as "-"
  const sparse = await formatConfusionMatrix(tensor([[2, 0], [0, 0]], { dtype: "int32" }));
  assert.equal(
    sparse,
    [
      "true \\ predicted       0  1 | total  recall",
      "0                      2  0 |     2  100.0%",
      "1                      0  0 |     0       -",
      "-------------------------------------------",
      "total                  2  0 |     2",
      "precision         100.0%  -",
      "accuracy: 100.0% (2 of 2)",
    ].join("\n"),
  );
  // long labels widen their column
  const long = await formatConfusionMatrix(tensor([[1, 0], [0, 1]], { dtype: "int32" }), {
    labels: ["a", "a very long class name"],
  });
  assert.ok(long.split("\n")[0].endsWith("a  a very long class name | total  recall"));
  await assert.rejects(
    () => formatConfusionMatrix(cm, { labels: ["a", "b"] }),
    /got 2 labels for a 3-class confusion matrix/,
  );
  await assert.rejects(
    () => formatConfusionMatrix(cm, { classNames: ["a", "b", "c"] } as never),
    /formatConfusionMatrix\(\): unknown option "classNames"; the options are "labels"/,
  );
  await assert.rejects(() => formatConfusionMatrix(zeros([2, 3])), /must be square/);
});

Deno.test("metrics never read values back to the host", async () => {
  const results = await onHostlessBackend(async () => {
    const p = int(Y_PRED), t = int(Y_TRUE), scores = scoresFor(Y_PRED, 6);
    const cm = confusionMatrix(p, t, { numClasses: 6 });
    const results = [
      accuracy(scores, t),
      cm,
      precision(p, t, { numClasses: 6, average: "macro" }),
      recall(cm, { average: "weighted" }),
      f1(scores, oneHot(t, 6)),
    ];
    await assert.rejects(() => results[0].data(), /host read attempted/);
    return results;
  });
  assertClose(peek(results[0]), [8 / 12], TOL);
  assert.deepEqual(peek(results[1]), CM.flat());
  assertClose(peek(results[2]), [P_MACRO], TOL);
  assertClose(peek(results[3]), [R_WEIGHTED], TOL);
  assertClose(peek(results[4]), F, TOL);
});

Deno.test("metrics: a positional value or an unknown key where the options go throws", () => {
  const p = int(Y_PRED), t = int(Y_TRUE);
  // deno-lint-ignore no-explicit-any
  const loose = (v: unknown): any => v;
  assert.throws(
    () => precision(p, t, loose("macro")),
    /^TypeError: precision\(\): expected an options object such as \{ average: "macro", numClasses: 10 \} here, got string macro/,
  );
  assert.throws(
    () => recall(p, t, loose({ avg: "macro", numClasses: 6 })),
    /^TypeError: recall\(\): unknown option "avg"; the options are "average", "numClasses"/,
  );
  const cm = confusionMatrix(p, t, { numClasses: 6 });
  assert.throws(() => f1(cm, loose({ averag: "macro" })), /did you mean "average"/);
  assert.throws(
    () => confusionMatrix(p, t, loose({ num_classes: 6 })),
    /^TypeError: confusionMatrix\(\): unknown option "num_classes" \(did you mean "numClasses"\?\)/,
  );
});

Deno.test("precision/recall/f1 of confusionMatrix's sentinel (every entry -1) are NaN, as from the labels", () => {
  const sentinel = full([3, 3], -1, { dtype: "int32" });
  for (
    const r of [
      precision(sentinel, { average: "macro" }),
      recall(sentinel),
      f1(sentinel, { average: "weighted" }),
    ]
  ) {
    assert.ok(Array.from(r.dataSync()).every(Number.isNaN), String(r));
  }
  // A real matrix is unchanged: [[2, 0], [1, 1]] → recall [1, 0.5].
  assert.deepEqual(
    recall(tensor([[2, 0], [1, 1]], { dtype: "int32" })).arraySync(),
    [1, 0.5],
  );
});

Deno.test("confusionMatrix with a numClasses no memory holds fails at once, naming it", () => {
  const labels = tensor([1, 0, 2], { dtype: "int32" });
  assert.throws(
    () => confusionMatrix(labels, labels, { numClasses: 2e7 }),
    /^RangeError: confusionMatrix\(\): numClasses 20000000 needs \[20000000, 20000000\] int32 counts \(1\.60e\+15 bytes, over 2 GiB\)/,
  );
  assert.throws(
    () => recall(labels, labels, { numClasses: 1e9 }),
    /^RangeError: recall\(\): numClasses 1000000000 needs/,
  );
  assert.deepEqual(confusionMatrix(labels, labels, { numClasses: 3 }).arraySync(), [[1, 0, 0], [
    0,
    1,
    0,
  ], [0, 0, 1]]);
});

Deno.test("metrics refuse one-column outputs (a sigmoid's): their argmax is always 0, so every example counted as right", () => {
  const logits = tensor([[5], [5], [-5], [-5]]), targets = tensor([[0], [1], [1], [0]]);
  for (
    const f of [
      () => accuracy(logits, targets),
      () => confusionMatrix(logits, targets),
      () => recall(logits, targets),
    ]
  ) {
    assert.throws(
      f,
      /^ShapeError: \w+\(\): predictions have one column \(\[4,1\]\), so they hold no class scores .* threshold it first/,
    );
  }
  // Thresholded, as the message says: [1, 1, 0, 0] against [0, 1, 1, 0].
  const p = cast(greater(reshape(logits, [-1]), 0), "int32"),
    t = cast(reshape(targets, [-1]), "int32");
  assert.equal(accuracy(p, t).arraySync(), 0.5);
});
