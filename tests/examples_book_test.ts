/**
 * The book's experiments in examples/ run end to end on small synthetic
 * data (the real runs need MNIST and minutes; their results are in the
 * README). Each writes its plots into a temporary directory.
 */

import assert from "node:assert/strict";
import { cast, data, floor, mul, random, reshape, slice, tensor } from "../mod.ts";
import type { Split } from "../examples/_common.ts";
import { main as mnistTwoLayer } from "../examples/mnist_two_layer.ts";
import { main as mnistMlpAdam } from "../examples/mnist_mlp_adam.ts";
import { main as fashionMlp } from "../examples/fashion_mnist_mlp.ts";
import { main as cifarMlp } from "../examples/cifar10_mlp.ts";
import { main as spiral } from "../examples/spiral.ts";
import { main as weightInit } from "../examples/weight_init.ts";
import { main as optimizers } from "../examples/optimizers.ts";
import { main as batchNorm } from "../examples/batch_norm.ts";
import { main as overfitting } from "../examples/overfitting.ts";
import { main as search } from "../examples/hyperparameter_search.ts";
import { main as simpleConvNet } from "../examples/simple_convnet.ts";
import { main as fashionCnn } from "../examples/fashion_mnist_cnn.ts";
import { main as cifarCnn } from "../examples/cifar10_cnn.ts";

/** Random "images" whose label is decided by the first pixel, so there is something to learn. */
function fake(n: number, features: number, seed: number): Split {
  const x = random.uniform(random.key(seed), [n, features]);
  const y = cast(floor(mul(reshape(slice(x, [0, 0], [n, 1]), [n]), 9.99)), "int32");
  return { x, y };
}

function dataset(features = 784): { train: Split; test: Split } {
  return { train: fake(400, features, 1), test: fake(100, features, 2) };
}

async function svgs(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  for (const n of names) {
    const text = await Deno.readTextFile(`${dir}/${n}`);
    assert.ok(text.startsWith("<svg") && text.trimEnd().endsWith("</svg>"), `${n} is an SVG`);
  }
  return names.sort();
}

Deno.test("examples/mnist_two_layer.ts runs and plots", async () => {
  const outDir = await Deno.makeTempDir();
  const r = await mnistTwoLayer({
    iters: 30,
    batchSize: 20,
    dataset: dataset(),
    outDir,
    log: false,
  });
  assert.equal(r.losses.length, 30);
  assert.equal(r.testAcc.length, 2);
  assert.deepEqual(await svgs(outDir), [
    "mnist_two_layer_accuracy.svg",
    "mnist_two_layer_loss.svg",
  ]);
});

Deno.test("examples/mnist_two_layer.ts: the jitted, donating step gives the eager losses bit for bit", async () => {
  const opts = { iters: 25, batchSize: 20, dataset: dataset(), outDir: null, log: false };
  const jitted = await mnistTwoLayer({ ...opts, jit: true });
  const eager = await mnistTwoLayer({ ...opts, jit: false });
  assert.deepEqual(jitted.losses, eager.losses);
  assert.deepEqual(jitted.testAcc, eager.testAcc);
});

Deno.test("examples/mnist_two_layer.ts: compact images give the float32 images' losses and accuracies bit for bit", async () => {
  const split = (n: number, seed: number) => {
    const bytes = Uint8Array.from({ length: n * 784 }, (_, i) => (i * 2654435761 + seed) % 251);
    const y = tensor(Int32Array.from({ length: n }, (_, i) => bytes[i * 784] % 10));
    const plain = tensor(Float32Array.from(bytes, (b) => b / 255), { shape: [n, 784] });
    return {
      plain: { x: plain, y },
      compact: { x: data.CompactImages.fromBytes(bytes, [n, 784]), y },
    };
  };
  const [train, test] = [split(300, 1), split(50, 2)];
  const opts = { iters: 20, batchSize: 20, outDir: null, log: false };
  const plain = await mnistTwoLayer({ ...opts, dataset: { train: train.plain, test: test.plain } });
  const compact = await mnistTwoLayer({
    ...opts,
    dataset: { train: train.compact, test: test.compact },
  });
  assert.deepEqual(compact.losses, plain.losses);
  assert.deepEqual(compact.trainAcc, plain.trainAcc);
  assert.deepEqual(compact.testAcc, plain.testAcc);
});

Deno.test("examples/mnist_mlp_adam.ts, fashion_mnist_mlp.ts, cifar10_mlp.ts run and plot", async () => {
  for (
    const [run, features, prefix] of [
      [
        (o: Parameters<typeof mnistMlpAdam>[0]) => mnistMlpAdam({ ...o, hiddenSizes: [32, 16] }),
        784,
        "mnist_mlp_adam",
      ],
      [fashionMlp, 784, "fashion_mnist_mlp"],
      [cifarMlp, 3072, "cifar10_mlp"],
    ] as const
  ) {
    const outDir = await Deno.makeTempDir();
    const r = await run({ dataset: dataset(features), epochs: 2, outDir, log: false });
    assert.ok(r.testAccuracy >= 0 && r.testAccuracy <= 1);
    assert.deepEqual(await svgs(outDir), [
      `${prefix}_accuracy.svg`,
      `${prefix}_confusion.svg`,
      `${prefix}_loss.svg`,
    ]);
  }
});

Deno.test("examples/spiral.ts learns the spiral", async () => {
  const outDir = await Deno.makeTempDir();
  const r = await spiral({ epochs: 60, outDir, log: false });
  assert.equal(r.epochLoss.length, 60);
  assert.ok(r.epochLoss.at(-1)! < r.epochLoss[0], "loss goes down");
  assert.deepEqual(await svgs(outDir), ["spiral_decision_boundary.svg", "spiral_loss.svg"]);
});

Deno.test("examples/optimizers.ts: every optimizer approaches the minimum of x²/20 + y²", async () => {
  const outDir = await Deno.makeTempDir();
  const r = await optimizers({ iters: 5, dataset: dataset(), outDir, log: false });
  for (const [name, path] of Object.entries(r.paths)) {
    const [x, y] = path.at(-1)!;
    assert.ok(x * x / 20 + y * y < 0.5, `${name} ends at (${x}, ${y})`);
  }
  assert.deepEqual(await svgs(outDir), ["optimizers_mnist_loss.svg", "optimizers_paths.svg"]);
});

Deno.test("examples/weight_init.ts: std 1 saturates sigmoid, Xavier does not", async () => {
  const outDir = await Deno.makeTempDir();
  const r = await weightInit({ iters: 5, dataset: dataset(), outDir, log: false });
  assert.ok(r.saturation["std 1"] > 0.5, `std 1 saturation ${r.saturation["std 1"]}`);
  assert.ok(r.saturation["Xavier"] < 0.05, `Xavier saturation ${r.saturation["Xavier"]}`);
  assert.equal((await svgs(outDir)).length, 7);
});

Deno.test("examples/batch_norm.ts, overfitting.ts, hyperparameter_search.ts run and plot", async () => {
  let outDir = await Deno.makeTempDir();
  const bn = await batchNorm({
    n: 200,
    epochs: 2,
    scales: [1, 0.01],
    dataset: dataset(),
    outDir,
    log: false,
  });
  assert.equal(bn.length, 2);
  assert.equal(bn[0].batchNorm.length, 2);
  assert.deepEqual(await svgs(outDir), ["batch_norm_curves.svg", "batch_norm_scales.svg"]);

  outDir = await Deno.makeTempDir();
  const of = await overfitting({ epochs: 2, testSize: 50, dataset: dataset(), outDir, log: false });
  assert.deepEqual(Object.keys(of), ["no regularization", "weight decay 0.1", "dropout 0.2"]);
  assert.equal((await svgs(outDir)).length, 4);

  outDir = await Deno.makeTempDir();
  const trials = await search({ trials: 3, epochs: 2, dataset: dataset(), outDir, log: false });
  assert.equal(trials.length, 3);
  assert.ok(trials[0].score >= trials[2].score);
  assert.deepEqual(await svgs(outDir), [
    "hyperparameter_search.svg",
    "hyperparameter_search_scatter.svg",
  ]);
});

/** The fake dataset as images `[N, C, H, W]` (the label still follows the first pixel). */
function images(c: number, h: number, w: number): { train: Split; test: Split } {
  const d = dataset(c * h * w);
  const shaped = (s: Split): Split => ({ x: reshape(s.x, [s.x.shape[0], c, h, w]), y: s.y });
  return { train: shaped(d.train), test: shaped(d.test) };
}

Deno.test("examples/simple_convnet.ts runs, measures test accuracy per epoch, plots the filters", async () => {
  const outDir = await Deno.makeTempDir();
  const r = await simpleConvNet({ dataset: images(1, 28, 28), epochs: 2, outDir, log: false });
  assert.equal(r.testAcc.length, 2);
  assert.equal(r.trainAcc.length, 2);
  assert.equal(r.epochSeconds.length, 2);
  assert.ok(r.testAcc.every((a) => a >= 0 && a <= 1));
  assert.ok(r.losses.every(Number.isFinite));
  assert.deepEqual(await svgs(outDir), [
    "simple_convnet_accuracy.svg",
    "simple_convnet_filters_after.svg",
    "simple_convnet_filters_before.svg",
  ]);
  for (const when of ["before", "after"]) {
    const svg = await Deno.readTextFile(`${outDir}/simple_convnet_filters_${when}.svg`);
    assert.equal(svg.match(/<image /g)?.length, 30, `30 filters ${when}`);
  }
  const before = await Deno.readTextFile(`${outDir}/simple_convnet_filters_before.svg`);
  const after = await Deno.readTextFile(`${outDir}/simple_convnet_filters_after.svg`);
  assert.notEqual(
    before.replace(/before/g, ""),
    after.replace(/after/g, ""),
    "training moved the filters",
  );
});

Deno.test("examples/simple_convnet.ts trains with He init, weight decay and a cosine decay by default", async () => {
  const d = images(1, 28, 28);
  type Opts = Parameters<typeof simpleConvNet>[0];
  const losses = async (o: Opts): Promise<number[]> =>
    (await simpleConvNet({ dataset: d, epochs: 1, outDir: null, log: false, ...o })).losses;
  const byDefault = await losses({});
  const ours = { init: "he", weightDecay: 0.05, lrSchedule: "cosine" } as const;
  assert.deepEqual(await losses(ours), byDefault, "the defaults");
  // Each of the three is in effect: the book's value in its place changes the training.
  for (const book of [{ init: 0.01 }, { weightDecay: 0 }, { lrSchedule: "constant" }] as const) {
    assert.notDeepEqual(await losses({ ...ours, ...book }), byDefault, JSON.stringify(book));
  }
  await assert.rejects(
    // @ts-expect-error: not a schedule the example knows
    () => losses({ lrSchedule: "linear" }),
    (e: Error) => e instanceof RangeError && e.message.includes(`got "linear"`),
  );
});

Deno.test("examples/fashion_mnist_cnn.ts and cifar10_cnn.ts run and plot", async () => {
  let outDir = await Deno.makeTempDir();
  const note = "a fallback with a non-canonical split";
  const f = await fashionCnn({
    dataset: { ...images(1, 12, 12), note },
    epochs: 2,
    outDir,
    log: false,
  });
  assert.equal(f.testAcc.length, 2);
  assert.deepEqual(await svgs(outDir), [
    "fashion_mnist_cnn_accuracy.svg",
    "fashion_mnist_cnn_confusion.svg",
  ]);
  const svg = await Deno.readTextFile(`${outDir}/fashion_mnist_cnn_accuracy.svg`);
  assert.ok(
    svg.includes("non-canonical split"),
    "the plot says the split is not the canonical one",
  );

  outDir = await Deno.makeTempDir();
  const c = await cifarCnn({ dataset: images(3, 8, 8), epochs: 2, width: 4, outDir, log: false });
  assert.equal(c.testAcc.length, 2);
  assert.deepEqual(await svgs(outDir), ["cifar10_cnn_accuracy.svg", "cifar10_cnn_confusion.svg"]);
});
