import assert from "node:assert/strict";
import { main as gradientDescent } from "../examples/gradient_descent.ts";
import { main as backpropByHand } from "../examples/backprop_by_hand.ts";
import { main as logicGates } from "../examples/logic_gates.ts";
import { main as xor } from "../examples/xor.ts";
import { main as newtonMethod } from "../examples/newton_method.ts";
import { main as rnnSine } from "../examples/rnn_sine.ts";
import { matmul, random, type Tensor, tensor, tree, valueAndGrad } from "@gradus/core";

function assertClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: expected ${expected} ± ${tol}, got ${actual}`,
  );
}

Deno.test("examples/gradient_descent.ts: 100 steps from (-3, 4) end near (0, 0)", () => {
  const { path, final } = gradientDescent();
  assert.deepEqual(path[0], [0, -3, 4]);
  assert.equal(path.at(-1)![0], 100);
  assertClose(final[0], 0, 1e-6, "x0");
  assertClose(final[1], 0, 1e-6, "x1");
  // Each step multiplies x by 1 - 2·lr = 0.8, so the end point is (-3, 4) · 0.8^100.
  assertClose(final[0], -3 * 0.8 ** 100, 1e-15, "x0 vs closed form");
  assertClose(final[1], 4 * 0.8 ** 100, 1e-15, "x1 vs closed form");
});

Deno.test("examples/backprop_by_hand.ts: one step matches the hand derivation", () => {
  const { weights, lossBefore, lossAfter } = backpropByHand();
  const expected = [
    0.29959556,
    0.24919112,
    0.39964496,
    0.34928991,
    0.43703857,
    0.38685205,
    0.69629578,
    0.59624247,
  ];
  assert.equal(weights.length, 8);
  // The hand values are rounded to 8 decimals: allow half a unit in the last place.
  weights.forEach((w, i) => assertClose(w, expected[i], 5e-9, `w${i + 1}`));
  assertClose(lossBefore, 0.02397190, 5e-9, "loss before");
  assertClose(lossAfter, 0.02323634, 5e-9, "loss after");
});

Deno.test("README: the 30-second linear regression example fits the true weights", () => {
  // Keep this body identical to the example in README.md.
  type Params = { w: Tensor; b: Tensor };
  const [kx, kn, kw] = random.split(random.key(0), 3);
  const x = random.normal(kx, [100, 3]); // 100 samples, 3 features
  const noise = random.normal(kn, [100, 1], { std: 0.1 });
  const y = matmul(x, tensor([[2], [-1], [0.5]])).add(3).add(noise); // y = x·w + b + noise

  const loss = (p: Params, x: Tensor, y: Tensor) => matmul(x, p.w).add(p.b).sub(y).square().mean();
  const lossAndGrad = valueAndGrad(loss); // (params, x, y) → [loss, grads shaped like params]

  let params: Params = { w: random.normal(kw, [3, 1]), b: tensor([0]) };
  for (let step = 0; step < 100; step++) {
    const [l, g] = lossAndGrad(params, x, y);
    params = tree.map((p: Tensor, d: Tensor) => p.sub(d.mul(0.1)), params, g);
    if (step % 25 === 0) console.log(`step ${step}: loss ${l.itemSync().toFixed(4)}`);
  }
  console.log(params.w.arraySync(), params.b.arraySync()); // ≈ [[2], [-1], [0.5]] [3]

  const w = params.w.dataSync();
  [2, -1, 0.5].forEach((v, i) => assertClose(w[i], v, 0.05, `w[${i}]`));
  assertClose(params.b.dataSync()[0], 3, 0.05, "b");
});

Deno.test("examples/logic_gates.ts: gate truth tables; a single layer cannot learn XOR", async () => {
  const { tables, singleLayer } = await logicGates({ steps: 500 });
  assert.deepEqual(tables, {
    AND: [0, 0, 0, 1],
    NAND: [1, 1, 1, 0],
    OR: [0, 1, 1, 1],
    XOR: [0, 1, 1, 0],
  });
  assert.ok(singleLayer.correct < 4, `a single layer solved XOR: ${singleLayer.predictions}`);
  assertClose(singleLayer.loss, Math.LN2, 1e-2, "single-layer loss stuck near ln 2");
});

Deno.test("examples/xor.ts: the 2-10-10-10-1 sigmoid MLP learns XOR", async () => {
  const { losses, predictions } = await xor({ steps: 3000 });
  assert.deepEqual(predictions, [0, 1, 1, 0]);
  assert.equal(losses.length, 3);
  assert.ok(losses[2][1] < 0.01, `final loss ${losses[2][1]}`);
});

Deno.test("examples/newton_method.ts: one step solves the quadratic; quadratic convergence on a logistic regression", () => {
  const { quadratic, gradNorms } = newtonMethod();
  assertClose(quadratic[0], 0, 1e-15, "x0");
  assertClose(quadratic[1], 0, 1e-15, "x1");
  // Quadratic convergence: each gradient norm about the square of the one before (up to a constant).
  assert.ok(gradNorms[1] < 10 * gradNorms[0] ** 2, `${gradNorms}`);
  assert.ok(gradNorms[2] < 10 * gradNorms[1] ** 2, `${gradNorms}`);
  assert.ok(gradNorms[3] < 1e-14, `${gradNorms}`);
});

Deno.test("examples/rnn_sine.ts: lax.scan under jit gives the unrolled eager loop's loss curve, and learns", async () => {
  const opts = { steps: 40, timeSteps: 30, hidden: 16, outDir: null, log: false };
  const scan = await rnnSine({ ...opts, mode: "scan" });
  const unrolled = await rnnSine({ ...opts, mode: "unrolled", steps: 8 });
  // Same math, float32 sums in another order: the curves agree to rounding.
  unrolled.losses.forEach((l, i) => assertClose(scan.losses[i], l, 1e-5 + 1e-4 * l, `loss ${i}`));
  const first = scan.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = scan.losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(last < first / 5, `loss ${first} → ${last}`);
});

Deno.test("examples refuse flags they do not take (a misspelt --epochs ran the full default)", async () => {
  const run = async (file: string, ...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-lock", "--allow-read", "--allow-env", `examples/${file}`, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, err: new TextDecoder().decode(out.stderr) };
  };
  const xor = await run("xor.ts", "--epochs=1");
  assert.equal(xor.code, 2);
  assert.match(xor.err, /^error: Unknown option '--epochs': this example takes no flags$/m);
  const cnn = await run("simple_convnet.ts", "--epoch=1");
  assert.equal(cnn.code, 2);
  assert.match(cnn.err, /Unknown option '--epoch': this example takes only --epochs=…, --init=…/);
  const positional = await run("fashion_mnist_cnn.ts", "1");
  assert.equal(positional.code, 2);
  assert.match(positional.err, /Unexpected argument '1': this example takes only --epochs=…/);
});
