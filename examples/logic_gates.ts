/**
 * Perceptrons as logic gates (chapter 2 of *Deep Learning from Scratch*):
 * AND, NAND and OR are single perceptrons `step(w·x + b)` with hand-picked
 * weights; XOR is not linearly separable, but composing NAND, OR and AND
 * (a two-layer perceptron) computes it. Finally a single-layer perceptron
 * (a sigmoid unit trained with gradient descent) is trained on XOR and
 * fails: no line separates the classes, so at most 3 of 4 points come out
 * right.
 *
 * Run: `deno run examples/logic_gates.ts` (or `deno task example:gates`).
 *
 * @module
 */

import {
  add,
  matmul,
  nn,
  random,
  setBackend,
  stack,
  type Tensor,
  tensor,
  tree,
  valueAndGrad,
} from "@gradus/core";
import { commandFlags } from "./_flags.ts";

/** The four inputs (0,0), (1,0), (0,1), (1,1), made on the current backend. */
const inputs = (): Tensor => tensor([[0, 0], [1, 0], [0, 1], [1, 1]]);

/** A perceptron: step(x·w + b) for each row of x. */
function perceptron(w: [number, number], b: number): (x: Tensor) => Tensor {
  return (x) => nn.step(add(matmul(x, tensor(w)), b));
}

/** The book's weights: AND (0.5, 0.5, −0.7), NAND (−0.5, −0.5, 0.7), OR (0.5, 0.5, −0.2). */
export const AND: (x: Tensor) => Tensor = perceptron([0.5, 0.5], -0.7);
/** NAND: the AND perceptron with every sign flipped. */
export const NAND: (x: Tensor) => Tensor = perceptron([-0.5, -0.5], 0.7);
/** OR: like AND with a smaller threshold. */
export const OR: (x: Tensor) => Tensor = perceptron([0.5, 0.5], -0.2);

/** XOR = AND(NAND(x), OR(x)): a two-layer perceptron (NAND and OR are the hidden layer). */
export function XOR(x: Tensor): Tensor {
  const hidden = stack([NAND(x), OR(x)], 1); // [4, 2]: (s1, s2) per input
  return AND(hidden);
}

/** What {@linkcode main} returns. */
export interface GatesResult {
  /** Truth tables (outputs for (0,0), (1,0), (0,1), (1,1)). */
  readonly tables: Record<"AND" | "NAND" | "OR" | "XOR", number[]>;
  /** Predictions of the single-layer perceptron trained on XOR, and how many are right. */
  readonly singleLayer: { predictions: number[]; correct: number; loss: number };
}

/**
 * Prints the truth tables and the failed single-layer training.
 *
 * @param opts `log` (default false), `steps` for the single-layer training (default 2000).
 * @returns The truth tables and the single-layer result.
 */
export async function main(
  opts: { log?: boolean; steps?: number } = {},
): Promise<GatesResult> {
  const { log = false, steps = 2000 } = opts;
  const INPUTS = inputs();
  const table = async (f: (x: Tensor) => Tensor) => [...(await f(INPUTS).data())];
  const tables = {
    AND: await table(AND),
    NAND: await table(NAND),
    OR: await table(OR),
    XOR: await table(XOR),
  };
  if (log) {
    console.log("x1 x2 | AND NAND OR | XOR = AND(NAND, OR)");
    const xs = (await INPUTS.array()) as number[][];
    xs.forEach(([a, b], i) => {
      console.log(
        ` ${a}  ${b} |  ${tables.AND[i]}    ${tables.NAND[i]}   ${tables.OR[i]} |  ${
          tables.XOR[i]
        }`,
      );
    });
  }

  // A single-layer perceptron (one sigmoid unit) trained on XOR by gradient descent.
  const t = tensor([[0], [1], [1], [0]]);
  type P = { w: Tensor; b: Tensor };
  let p: P = { w: random.normal(random.key(0), [2, 1], { std: 0.5 }), b: tensor([0]) };
  const loss = (p: P) => nn.sigmoidBinaryCrossEntropy(add(matmul(INPUTS, p.w), p.b), t);
  const step = valueAndGrad(loss);
  let value = 0;
  for (let i = 0; i < steps; i++) {
    const [l, g] = step(p);
    value = await l.item();
    p = tree.map((v: Tensor, d: Tensor) => v.sub(d.mul(1)), p, g);
  }
  const probs = nn.sigmoid(add(matmul(INPUTS, p.w), p.b));
  const predictions = [...(await probs.data())].map((v) => (v > 0.5 ? 1 : 0));
  const correct = predictions.filter((v, i) => v === [0, 1, 1, 0][i]).length;
  if (log) {
    console.log(
      `\nsingle-layer perceptron trained on XOR for ${steps} steps: loss ${value.toFixed(4)} ` +
        `(stuck near ln 2 = 0.6931), predictions ${JSON.stringify(predictions)}, ` +
        `${correct}/4 correct: a single line cannot separate XOR.`,
    );
  }
  return { tables, singleLayer: { predictions, correct, loss: value } };
}

if (import.meta.main) {
  commandFlags(); // it takes none: a flag given is an error, not ignored
  await setBackend("wasm"); // the one line to change: "webgpu" for the GPU, "cpu" for plain JS
  await main({ log: true });
}
