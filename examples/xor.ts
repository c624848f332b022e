/**
 * A 2-10-10-10-1 sigmoid MLP learns XOR: binary cross entropy on the
 * logits, plain SGD with learning rate 1 on the four points, full batch.
 * Prints the loss every 1000 steps and the final predictions [0, 1, 1, 0].
 *
 * Run: `deno run examples/xor.ts` (or `deno task example:xor`).
 *
 * @module
 */

import { nn, optim, random, setBackend, type Tensor, tensor, valueAndGrad } from "@gradus/core";
import { commandFlags } from "./_flags.ts";

/** What {@linkcode main} returns. */
export interface XorResult {
  /** `[step, loss]` every 1000 steps and at the end. */
  readonly losses: [step: number, loss: number][];
  /** Predicted probabilities for (0,0), (0,1), (1,0), (1,1). */
  readonly probabilities: number[];
  /** The thresholded predictions (0 or 1). */
  readonly predictions: number[];
}

/**
 * Trains the network.
 *
 * @param opts `steps` (default 5000), `seed` (default 0), `log` (default false).
 * @returns The loss history and the final predictions.
 */
export async function main(
  opts: { steps?: number; seed?: number; log?: boolean } = {},
): Promise<XorResult> {
  const { steps = 5000, seed = 0, log = false } = opts;
  const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
  const t = tensor([[0], [1], [1], [0]]);

  const net = nn.mlp({
    inputSize: 2,
    hiddenSizes: [10, 10, 10],
    outputSize: 1,
    activation: "sigmoid",
  });
  let { params, state } = net.init(random.key(seed), [2]);
  const loss = (p: typeof params) => nn.sigmoidBinaryCrossEntropy(net.apply(p, state, x)[0], t);
  const step = valueAndGrad(loss);
  const opt = optim.sgd(1);
  let optState = opt.init(params);

  const losses: [number, number][] = [];
  for (let i = 1; i <= steps; i++) {
    const [value, grads] = step(params);
    const [updates, nextOptState] = opt.update(grads, optState, params);
    params = optim.applyUpdates(params, updates);
    optState = nextOptState;
    if (i % 1000 === 0 || i === steps) {
      const v = await value.item();
      losses.push([i, v]);
      if (log) console.log(`step ${String(i).padStart(5)}: loss ${v.toFixed(6)}`);
    }
  }
  let logits: Tensor;
  [logits, state] = net.apply(params, state, x);
  const probabilities = [...(await nn.sigmoid(logits).data())];
  const predictions = probabilities.map((p) => (p > 0.5 ? 1 : 0));
  if (log) {
    console.log("inputs       :", "(0,0) (0,1) (1,0) (1,1)");
    console.log("probabilities:", probabilities.map((p) => p.toFixed(3)).join(" "));
    console.log("predictions  :", JSON.stringify(predictions)); // [0,1,1,0]
  }
  return { losses, probabilities, predictions };
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  await main({ log: true });
}
