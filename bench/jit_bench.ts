/**
 * `jit` against eager execution on the default backend: a function of 60
 * small elementwise ops on 100-element tensors (dispatch overhead and
 * per-op intermediates dominate), and the sigmoid `1/(1+exp(-x))` on 10⁶
 * elements (memory traffic: one fused kernel reads `x` once and writes the
 * result once, eager writes and reads three intermediates). Run with
 * `deno bench --allow-read bench/jit_bench.ts`.
 *
 * Every bench disposes its result, and the eager ones run in `tidy` (their
 * intermediates freed at once, not left to the garbage collector), so
 * memory management is not what is measured.
 *
 * @module
 */

import { add, div, exp, jit, mul, neg, random, sub, tanh, type Tensor, tidy } from "@gradus/core";

// ---------------------------------------------------------------- 60 small ops

/** 60 elementwise ops: 12 rounds of mul, add, tanh, mul, sub. */
function small(x: Tensor, y: Tensor): Tensor {
  let z = x;
  for (let i = 0; i < 12; i++) z = sub(tanh(add(mul(z, y), 0.5)), mul(x, 0.25));
  return z;
}

const [kx, ky] = random.split(random.key(0), 2);
const x100 = random.normal(kx, [100]);
const y100 = random.normal(ky, [100]);
const smallJit = jit(small);
smallJit(x100, y100).dispose();

Deno.bench("60 elementwise ops on [100]: eager", { group: "small", baseline: true }, () => {
  tidy(() => small(x100, y100)).dispose();
});

Deno.bench("60 elementwise ops on [100]: jit", { group: "small" }, () => {
  smallJit(x100, y100).dispose();
});

// ---------------------------------------------------------------- sigmoid on 1e6

const sigmoid = (x: Tensor): Tensor => div(1, add(1, exp(neg(x))));
const x1m = random.normal(kx, [1_000_000]);
const sigmoidJit = jit(sigmoid);
sigmoidJit(x1m).dispose();

Deno.bench("sigmoid on [1e6]: eager", { group: "sigmoid", baseline: true }, () => {
  tidy(() => sigmoid(x1m)).dispose();
});

Deno.bench("sigmoid on [1e6]: jit", { group: "sigmoid" }, () => {
  sigmoidJit(x1m).dispose();
});
