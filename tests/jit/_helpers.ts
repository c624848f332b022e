/**
 * Shared by the `jit` tests: bit equality of pytrees of tensors, a small
 * MLP classification problem, and the op cases run under `jit` and eagerly.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  add,
  getBackend,
  jit,
  jvp,
  matmul,
  nn,
  random,
  tanh,
  type Tensor,
  tensor,
  tree,
  vjp,
  zeros,
} from "../../mod.ts";
import { kernelLaunches } from "../../src/jit/interpret.ts";
import { type BackendCase, f32, make } from "../_op_cases.ts";

/**
 * The result of `jit(f)(...args)` on its second call (the first traces and
 * compiles) and how many kernels that call ran.
 */
export function jitted<T>(f: (...a: Tensor[]) => T, ...args: Tensor[]): [T, number] {
  const j = jit(f);
  j(...args);
  const before = kernelLaunches();
  const out = j(...args);
  return [out, kernelLaunches() - before];
}

/** Bit equality of two pytrees of tensors (NaN and -0 included). */
export function assertSameTree(got: unknown, want: unknown, what: string): void {
  assert.ok(tree.equalStructure(got, want), `${what}: structure`);
  const g = tree.leaves(got) as Tensor[];
  const w = tree.leaves(want) as Tensor[];
  w.forEach((wt, i) => {
    assert.deepEqual(g[i].shape, wt.shape, `${what} leaf ${i}: shape`);
    assert.equal(g[i].dtype, wt.dtype, `${what} leaf ${i}: dtype`);
    const gd = g[i].dataSync();
    const wd = wt.dataSync();
    for (let k = 0; k < wd.length; k++) {
      assert.ok(Object.is(gd[k], wd[k]), `${what} leaf ${i}[${k}]: ${gd[k]} vs ${wd[k]}`);
    }
  });
}

/** The parameters of the 8-16-3 MLP of {@linkcode mlpProblem}. */
export interface MlpParams {
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
}

/**
 * An 8-16-3 tanh MLP with softmax cross-entropy on 10 examples, from `seed`.
 *
 * @param seed The random key's seed.
 * @returns The parameters, the batch, its labels and the loss.
 */
export function mlpProblem(seed: number): {
  params: MlpParams;
  x: Tensor;
  labels: Tensor;
  loss: (p: MlpParams, xb: Tensor, yb: Tensor) => Tensor;
} {
  const k = random.split(random.key(seed), 4);
  const params = {
    w1: random.normal(k[0], [8, 16]),
    b1: zeros([16]),
    w2: random.normal(k[1], [16, 3]),
    b2: zeros([3]),
  };
  const x = random.normal(k[2], [10, 8]);
  const labels = tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0], { dtype: "int32" });
  const loss = (p: MlpParams, xb: Tensor, yb: Tensor) => {
    const h = tanh(add(matmul(xb, p.w1), p.b1));
    return nn.softmaxCrossEntropy(add(matmul(h, p.w2), p.b2), yb);
  };
  return { params, x, labels, loss };
}

/**
 * An op case run under `jit` and eagerly: `[what, jitted, eager]` for the
 * forward value and, unless the case is forward-only, each cotangent of the
 * vjp (a pullback of a fixed cotangent) and the jvp (fixed tangents).
 *
 * @param name The case's name (labels the results).
 * @param c The case.
 * @returns The pairs to compare.
 */
export function jitAndEager(name: string, c: BackendCase): [string, Tensor, Tensor][] {
  const xs = c.args.map(make);
  const n = xs.length;
  const out: [string, Tensor, Tensor][] = [[
    `${name} forward`,
    twice(c.f, c.args.map(make), xs),
    c.f(...xs),
  ]];
  if (c.forwardOnly) return out;
  const ct = f32(99, [...c.f(...xs).shape]);
  const pull = (...args: Tensor[]) => vjp(c.f, ...args.slice(0, n))[1](args[n]);
  const jitCts = twice(pull, [...c.args.map(make), make(ct)], [...xs, make(ct)]);
  pull(...xs, make(ct)).forEach((w, i) => out.push([`${name} vjp #${i}`, jitCts[i], w]));
  const tangents = () => c.args.map((a, i) => make(f32(200 + i, a.shape)));
  const push = (p: Tensor[], t: Tensor[]) => jvp(c.f, p, t)[1];
  const ts = tangents();
  out.push([`${name} jvp`, twice(push, [c.args.map(make), tangents()], [xs, ts]), push(xs, ts)]);
  return out;
}

/**
 * `jit(f)` called twice: on `first` (the call that traces, and on `wasm`
 * records the kernels) and on `second` (the same values in other buffers),
 * whose result is returned. Between the calls `first`'s buffers are
 * overwritten with garbage on `wasm`, so a replayed kernel that kept the
 * first call's addresses gives wrong numbers.
 */
// deno-lint-ignore no-explicit-any
function twice<A extends any[], R>(f: (...a: A) => R, first: A, second: A): R {
  const j = jit(f);
  j(...first);
  if (getBackend() === "wasm") {
    for (const t of tree.leaves(first) as Tensor[]) {
      const view = (t._data as { view?: Float32Array | Int32Array | Uint8Array }).view;
      view?.fill(t.dtype === "float32" || t.dtype === "float64" ? NaN : 7);
    }
  }
  return j(...second);
}
