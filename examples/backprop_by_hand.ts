/**
 * One step of backpropagation on the classic 2-2-2 network, the one worked
 * through by hand in many tutorials, checked against `grad`.
 *
 * ```
 * hidden layer:  z1 = w1·x1 + w2·x2    h1 = σ(z1)
 *                z2 = w3·x1 + w4·x2    h2 = σ(z2)
 * output layer:  z3 = w5·h1 + w6·h2    o1 = σ(z3)
 *                z4 = w7·h1 + w8·h2    o2 = σ(z4)
 * loss:          L  = ½((t1 - o1)² + (t2 - o2)²)
 * ```
 *
 * Inputs x = (0.1, 0.2), targets t = (0.4, 0.6), no biases, sigmoid on both
 * layers, learning rate 0.5. Everything is float64 so the printed weights
 * agree with the hand computation to all 8 decimals.
 *
 * Run: `deno run examples/backprop_by_hand.ts` (or `deno task example:backprop`).
 *
 * @module
 */

import { div, exp, grad, square, type Tensor, tensor, tree } from "@gradus/core";
import { commandFlags } from "./_flags.ts";

/** The eight weights, one scalar tensor each, named as in the hand derivation. */
export type Weights = Record<"w1" | "w2" | "w3" | "w4" | "w5" | "w6" | "w7" | "w8", Tensor>;

/** What {@linkcode main} returns. */
export interface BackpropResult {
  /** The gradient ∂L/∂wi of each weight before the update, in order w1 … w8. */
  readonly grads: number[];
  /** The updated weights w1 … w8. */
  readonly weights: number[];
  /** The loss before the update. */
  readonly lossBefore: number;
  /** The loss after the update. */
  readonly lossAfter: number;
}

const f64 = (v: number): Tensor => tensor(v, { dtype: "float64" });

/** σ(z) = 1 / (1 + e^(-z)); its derivative σ(z)(1 - σ(z)) is what `grad` uses. */
function sigmoid(z: Tensor): Tensor {
  return div(1, exp(z.neg()).add(1));
}

const x1 = f64(0.1), x2 = f64(0.2);
const t1 = f64(0.4), t2 = f64(0.6);

/** The forward pass: the network's two outputs for input (x1, x2). */
function forward(w: Weights): [o1: Tensor, o2: Tensor] {
  const h1 = sigmoid(w.w1.mul(x1).add(w.w2.mul(x2))); // z1 = w1·x1 + w2·x2
  const h2 = sigmoid(w.w3.mul(x1).add(w.w4.mul(x2))); // z2 = w3·x1 + w4·x2
  const o1 = sigmoid(w.w5.mul(h1).add(w.w6.mul(h2))); // z3 = w5·h1 + w6·h2
  const o2 = sigmoid(w.w7.mul(h1).add(w.w8.mul(h2))); // z4 = w7·h1 + w8·h2
  return [o1, o2];
}

/** L = ½((t1 - o1)² + (t2 - o2)²). */
function loss(w: Weights): Tensor {
  const [o1, o2] = forward(w);
  return square(t1.sub(o1)).add(square(t2.sub(o2))).mul(0.5);
}

/**
 * Takes one gradient step and returns the gradients, new weights and losses.
 *
 * @param opts `lr` (default 0.5) and `log` (default false: print the results).
 * @returns The numbers of the hand derivation.
 */
export function main(opts: { lr?: number; log?: boolean } = {}): BackpropResult {
  const { lr = 0.5, log = false } = opts;
  const w: Weights = {
    w1: f64(0.3),
    w2: f64(0.25),
    w3: f64(0.4),
    w4: f64(0.35),
    w5: f64(0.45),
    w6: f64(0.4),
    w7: f64(0.7),
    w8: f64(0.6),
  };

  // By hand, the chain rule gives for an output weight, e.g. w5:
  //   ∂L/∂w5 = ∂L/∂o1 · ∂o1/∂z3 · ∂z3/∂w5 = -(t1 - o1) · o1(1 - o1) · h1
  // and for a hidden weight, e.g. w1, both outputs contribute through h1:
  //   ∂L/∂w1 = [δ1·w5 + δ2·w7] · h1(1 - h1) · x1,  with δk = -(tk - ok) · ok(1 - ok).
  // grad(loss) records the forward pass and applies exactly these rules backwards.
  const g = grad(loss)(w); // same structure as w: { w1: ∂L/∂w1, …, w8: ∂L/∂w8 }

  // wi ← wi - lr · ∂L/∂wi, for all eight weights at once.
  const updated: Weights = tree.map((wi: Tensor, gi: Tensor) => wi.sub(gi.mul(lr)), w, g);

  const names = Object.keys(w) as (keyof Weights)[];
  const result: BackpropResult = {
    grads: names.map((k) => g[k].itemSync()),
    weights: names.map((k) => updated[k].itemSync()),
    lossBefore: loss(w).itemSync(),
    lossAfter: loss(updated).itemSync(),
  };

  if (log) {
    const [o1, o2] = forward(w);
    console.log(
      `outputs before: o1 = ${o1.itemSync().toFixed(8)}, o2 = ${o2.itemSync().toFixed(8)}`,
    );
    for (const [i, k] of names.entries()) {
      console.log(
        `${k}: ${w[k].itemSync().toFixed(8)} - ${lr} · (${
          result.grads[i].toFixed(8).padStart(11)
        }) = ${result.weights[i].toFixed(8)}`,
      );
    }
    console.log(
      `loss: ${result.lossBefore.toFixed(8)} → ${result.lossAfter.toFixed(8)}`,
    );
  }
  return result;
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  main({ log: true });
}
