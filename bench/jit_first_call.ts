/**
 * How long the first call of a jitted 784-100-10 MLP SGD step takes (batch
 * 100, on `wasm`): tracing, optimizing and planning the program, building
 * and compiling its kernels, and running it once — against a later call.
 * Each sample is a fresh process (a warm one would have its kernels and
 * JavaScript compiled already); the inputs are made first, so the eager
 * ops that make them compile their own kernels outside the timed call.
 *
 * Run: `deno run --allow-read --allow-run bench/jit_first_call.ts [samples]`
 * (default 7) — prints the median and range of both.
 *
 * @module
 */

import { jit, nn, random, type Tensor, tree, valueAndGrad } from "@gradus/core";

type Params = { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor };

function loss(p: Params, x: Tensor, y: Tensor): Tensor {
  const h = nn.sigmoid(x.matmul(p.w1).add(p.b1));
  return nn.softmaxCrossEntropy(h.matmul(p.w2).add(p.b2), y);
}

function step(p: Params, x: Tensor, y: Tensor): [Tensor, Params] {
  const [l, g] = valueAndGrad(loss)(p, x, y);
  return [l, tree.map((w: Tensor, d: Tensor) => w.sub(d.mul(0.1)), p, g)];
}

/** One sample, in this process: the first and the second call, in ms. */
function sample(): [number, number] {
  const k = random.split(random.key(0), 4);
  const params: Params = {
    w1: random.normal(k[0], [784, 100], { std: 0.01 }),
    b1: random.normal(k[1], [100]).mul(0),
    w2: random.normal(k[2], [100, 10], { std: 0.01 }),
    b2: random.normal(k[3], [10]).mul(0),
  };
  const x = random.uniform(k[0], [100, 784]);
  const y = random.randint(k[1], [100], 0, 10);
  const f = jit(step);
  let t = performance.now();
  f(params, x, y)[0].dataSync();
  const first = performance.now() - t;
  t = performance.now();
  f(params, x, y)[0].dataSync();
  return [first, performance.now() - t];
}

if (Deno.args[0] === "--child") {
  console.log(JSON.stringify(sample()));
} else {
  const n = Number(Deno.args[0] ?? 7);
  if (!Number.isInteger(n) || n < 1 || Deno.args.length > 1) {
    console.error(
      "usage: deno run --allow-read --allow-run bench/jit_first_call.ts [samples (a positive integer, default 7)]",
    );
    Deno.exit(2);
  }
  const firsts: number[] = [], seconds: number[] = [];
  for (let i = 0; i < n; i++) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", import.meta.filename!, "--child"],
    }).output();
    const [a, b] = JSON.parse(new TextDecoder().decode(out.stdout)) as [number, number];
    firsts.push(a);
    seconds.push(b);
  }
  const show = (xs: number[]) => {
    const s = xs.slice().sort((a, b) => a - b);
    return `median ${s[s.length >> 1].toFixed(1)} ms (${s[0].toFixed(1)} … ${
      s.at(-1)!.toFixed(1)
    })`;
  };
  console.log(`first call (trace + compile + run): ${show(firsts)}`);
  console.log(`a later call:                       ${show(seconds)}`);
}
