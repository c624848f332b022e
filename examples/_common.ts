/**
 * Pieces shared by the book's MNIST experiments in this folder: a training
 * loop in the book's style (a random minibatch per iteration), accuracy in
 * chunks, subsets and smoothing for plots.
 *
 * @module
 */

import {
  add,
  argmax,
  equal,
  fit,
  type GradientTransformation,
  metrics,
  nn,
  numBatches,
  optim,
  plot,
  type PRNGKey,
  random,
  randomBatch,
  slice,
  sum,
  type Tensor,
  tidy,
  trainValidSplit,
  tree,
  valueAndGrad,
} from "@gradus/core";

/** A dataset split: inputs `[N, …]` and int32 labels `[N]`. */
export type Split = { x: Tensor; y: Tensor };

/** A model as `nn` builds it. */
export type Model<P, S> = nn.Layer<P, S>;

/** The first `n` examples of a split. */
export function subset(split: Split, n: number): Split {
  return { x: slice(split.x, [0], [n]), y: slice(split.y, [0], [n]) };
}

/** Accuracy of a classifier over a whole split, evaluated in chunks (evaluation mode). */
export async function accuracy<P, S>(
  model: Model<P, S>,
  params: P,
  state: S,
  split: Split,
  chunk = 10000,
): Promise<number> {
  const n = split.x.shape[0];
  let correct = 0;
  for (let i = 0; i < n; i += chunk) {
    const [logits] = model.apply(params, state, slice(split.x, [i], [i + chunk]));
    correct += await sum(equal(argmax(logits, -1), slice(split.y, [i], [i + chunk]))).item();
  }
  return correct / n;
}

/** Options of {@linkcode train}. */
export interface TrainOptions<P, S, O> {
  readonly model: Model<P, S>;
  readonly params: P;
  readonly state: S;
  readonly optimizer: GradientTransformation<O>;
  readonly train: Split;
  readonly iters: number;
  readonly batchSize: number;
  readonly key: PRNGKey;
  /** λ of the book's weight decay: adds ½λΣW² over the weight matrices to the loss. */
  readonly weightDecay?: number;
  /** Called after every iteration (e.g. to evaluate once per epoch); `params` and `state` are valid during the call (the next step frees them). */
  readonly onStep?: (i: number, params: P, state: S) => void | Promise<void>;
}

/**
 * The book's training loop: each iteration draws a random minibatch
 * (`randomBatch`, like `np.random.choice`), takes one optimizer step on the
 * softmax cross entropy (+ weight decay), and records the loss.
 */
export async function train<P, S, O>(
  opts: TrainOptions<P, S, O>,
): Promise<{ params: P; state: S; losses: number[] }> {
  const { model, optimizer, iters, batchSize, weightDecay = 0 } = opts;
  let { params, state } = opts;
  let optState = optimizer.init(params);
  const first = [opts.params, opts.state]; // the caller's: never freed here
  const lossFn = (p: P, s: S, x: Tensor, y: Tensor, key: PRNGKey): [Tensor, S] => {
    const [logits, next] = model.apply(p, s, x, { training: true, key });
    let loss = nn.softmaxCrossEntropy(logits, y);
    if (weightDecay > 0) loss = add(loss, l2(p).mul(weightDecay));
    return [loss, next];
  };
  const step = valueAndGrad(lossFn, { hasAux: true });
  const keys = random.split(opts.key, iters * 2);
  const losses: number[] = [];
  for (let i = 0; i < iters; i++) {
    const batch = randomBatch(keys[2 * i], opts.train, batchSize);
    const [[loss, nextState], g] = step(params, state, batch.x, batch.y, keys[2 * i + 1]);
    const grads = g as P; // GradOf<P> is P for a pytree of tensors
    const [nextParams, nextOpt] = tidy(() => {
      const [updates, nextOpt] = optimizer.update(grads, optState, params);
      return [optim.applyUpdates(params, updates), nextOpt] as const;
    });
    // Optional: free what this step replaced now rather than at the next
    // garbage collection (keeping what the new state still shares).
    tree.dispose([params, optState, state, grads, batch], [nextParams, nextOpt, nextState, first]);
    params = nextParams;
    optState = nextOpt;
    state = nextState;
    losses.push(await loss.item());
    loss.dispose();
    await opts.onStep?.(i, params, state);
  }
  return { params, state, losses };
}

/** ½ΣW² over weight matrices only (the book decays weights, not biases or BN parameters). */
function l2(params: unknown): Tensor {
  return nn.l2Penalty(params, { filter: (path) => path.endsWith(".w") });
}

/** A moving average over `window` points (for noisy minibatch losses). */
export function smooth(values: readonly number[], window = 10): number[] {
  const out: number[] = [];
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    acc += values[i];
    if (i >= window) acc -= values[i - window];
    out.push(acc / Math.min(i + 1, window));
  }
  return out;
}

/** Options of {@linkcode fitClassifier}. */
export interface FitClassifierOptions {
  /** Name used in messages and plot file names, e.g. "mnist_mlp_adam". */
  readonly name: string;
  /** Title for plots, e.g. "MNIST". */
  readonly title: string;
  /** Train and test splits (inputs flattened, int32 labels). */
  readonly dataset: { train: Split; test: Split };
  /** Hidden layer sizes. */
  readonly hiddenSizes: readonly number[];
  /** Class names for the confusion matrix (default 0…9). */
  readonly classNames?: readonly string[];
  /** Maximum epochs (default 15). */
  readonly epochs?: number;
  /** Minibatch size (default 128). */
  readonly batchSize?: number;
  /** Peak Adam learning rate (default 1e-3), cosine-decayed to 0 over `epochs`. */
  readonly lr?: number;
  /** Early-stopping patience in epochs (default 4). */
  readonly patience?: number;
  /** Where plots go (default "out"; null: none). */
  readonly outDir?: string | null;
  /** Print progress (default true). */
  readonly log?: boolean;
}

/** What {@linkcode fitClassifier} returns. */
export interface FitClassifierResult {
  /** Test accuracy of the restored best model. */
  readonly testAccuracy: number;
  /** The epoch whose parameters were kept. */
  readonly bestEpoch: number | undefined;
  /** Epochs run. */
  readonly epochs: number;
  /** Seconds of training. */
  readonly seconds: number;
}

/**
 * A LeakyReLU MLP trained with Adam (cosine learning-rate decay) on an 80/20 train/validation split,
 * with early stopping on validation accuracy (best parameters restored),
 * then evaluated on the test set with a confusion matrix.
 */
export async function fitClassifier(opts: FitClassifierOptions): Promise<FitClassifierResult> {
  const { dataset, epochs = 15, batchSize = 128, lr = 1e-3, patience = 4, outDir = "out" } = opts;
  const log = opts.log ?? true;
  const [kSplit, kInit, kFit] = random.split(random.key(0), 3);
  const [trainSplit, validSplit] = trainValidSplit(dataset.train, {
    validFraction: 0.2,
    key: kSplit,
  });
  const inputSize = dataset.train.x.shape[1];
  const model = nn.mlp({
    inputSize,
    hiddenSizes: [...opts.hiddenSizes],
    outputSize: 10,
    activation: "leakyRelu",
  });
  const { params, state } = model.init(kInit, [inputSize]);
  type P = typeof params;
  const logits = (p: P, x: Tensor) => model.apply(p, state, x)[0];
  const t0 = performance.now();
  const result = await fit({
    params,
    // Cosine decay of the learning rate over the planned epochs settles the noisy late epochs.
    optimizer: optim.adam(
      optim.cosineDecaySchedule({
        init: lr,
        decaySteps: epochs * numBatches(trainSplit.x.shape[0], batchSize),
      }),
    ),
    loss: (p, b: Split) => nn.softmaxCrossEntropy(logits(p, b.x), b.y),
    data: trainSplit,
    epochs,
    batchSize,
    key: kFit,
    validation: {
      data: validSplit,
      metrics: { acc: (p, b: Split) => metrics.accuracy(logits(p, b.x), b.y) },
      batchSize: 2000,
    },
    earlyStopping: { monitor: "val_acc", patience, restoreBest: true },
    quiet: !log,
  });
  const seconds = (performance.now() - t0) / 1000;
  const testLogits = logits(result.params, dataset.test.x);
  const testAccuracy = await metrics.accuracy(testLogits, dataset.test.y).item();
  const cm = metrics.confusionMatrix(testLogits, dataset.test.y);
  const labels = [...(opts.classNames ?? Array.from({ length: 10 }, (_, i) => String(i)))];
  if (log) {
    console.log(await metrics.formatConfusionMatrix(cm, { labels }));
    console.log(
      `${opts.title}: test accuracy ${
        testAccuracy.toFixed(4)
      } (best epoch ${result.bestEpoch} of ${result.history.epochs.length}, ${
        seconds.toFixed(0)
      } s${result.stoppedEarly ? ", stopped early" : ""})`,
    );
  }
  if (outDir !== null) {
    const ep = result.history.epochs;
    await plot.save(
      `${outDir}/${opts.name}_accuracy.svg`,
      plot.lineChart({
        title: `${opts.title}: accuracy per epoch (best epoch restored; test ${
          (testAccuracy * 100).toFixed(2)
        }%)`,
        xLabel: "epoch",
        yLabel: "accuracy",
        markers: true,
        series: [{
          name: "validation",
          x: ep.map((e) => e.epoch),
          y: ep.map((e) => e["val_acc"] ?? NaN),
        }],
      }),
    );
    await plot.save(
      `${outDir}/${opts.name}_loss.svg`,
      plot.lineChart({
        title: `${opts.title}: loss per epoch`,
        xLabel: "epoch",
        yLabel: "loss",
        markers: true,
        series: [
          { name: "train", x: ep.map((e) => e.epoch), y: ep.map((e) => e.loss) },
          {
            name: "validation",
            x: ep.map((e) => e.epoch),
            y: ep.map((e) => e["val_loss"] ?? NaN),
            dashed: true,
          },
        ],
      }),
    );
    await saveConfusion(`${outDir}/${opts.name}_confusion.svg`, opts.title, cm, labels);
    if (log) console.log(`plots written to ${outDir}/${opts.name}_{accuracy,loss,confusion}.svg`);
  }
  return {
    testAccuracy,
    bestEpoch: result.bestEpoch,
    epochs: result.history.epochs.length,
    seconds,
  };
}

/** Writes a test-set confusion matrix (`metrics.confusionMatrix`) as an SVG plot. */
export async function saveConfusion(
  path: string,
  title: string,
  cm: Tensor,
  labels: readonly string[],
): Promise<void> {
  await plot.save(
    path,
    plot.confusionMatrix({
      title: `${title}: confusion matrix on the test set`,
      matrix: (await cm.array()) as number[][],
      labels: [...labels],
    }),
  );
}

/**
 * Runs an example on a dataset that may not be available here: when
 * loading fails, prints the loader's message (what was tried and how to get
 * the files) and exits with status 1.
 */
export async function runWhenAvailable<D>(
  load: () => Promise<D>,
  run: (dataset: D) => Promise<unknown>,
): Promise<void> {
  let dataset: D;
  try {
    dataset = await load();
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
  await run(dataset);
}
