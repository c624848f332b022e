/**
 * The optimizers against the update formulas of the book's optimizer
 * classes (SGD, Momentum, AdaGrad, RMSprop, Adam), written out below with
 * plain JS numbers, step by step, in float64; AdamW against Optax's
 * formula; schedules inside an optimizer; and the book's optimizer
 * comparison on f(x, y) = x²/20 + y² from (−7, 2).
 */

import assert from "node:assert/strict";
import { grad, mul, optim, type Tensor, tensor } from "../../mod.ts";
import { assertClose } from "../_helpers.ts";

const f64 = (v: number[]): Tensor => tensor(v, { dtype: "float64" });
const vals = (t: Tensor): number[] => [...t.dataSync()];
const EXACT = { atol: 1e-13, rtol: 1e-13 };

type P = { w: Tensor };

/**
 * Runs `opt` for `gs.length` steps from `w0` with the given gradients and
 * returns the params after each step.
 */
function trajectory<S>(
  opt: optim.GradientTransformation<S>,
  w0: number[],
  gs: number[][],
): number[][] {
  let params: P = { w: f64(w0) };
  let state = opt.init(params);
  const out: number[][] = [];
  for (const g of gs) {
    const [updates, next] = opt.update({ w: f64(g) }, state, params);
    params = optim.applyUpdates(params, updates);
    state = next;
    out.push(vals(params.w));
  }
  return out;
}

const W0 = [1, -2, 0.5];
const GS = [[0.5, -1, 2], [-0.3, 0.8, 2], [0.1, 0.1, -4], [1, -1, 0.01]];

// ---------------------------------------------------------------- the book's classes

/** The book's SGD: W -= lr·g. */
function bookSgd(lr: number, w0: number[], gs: number[][]): number[][] {
  const w = [...w0];
  return gs.map((g) => w.map((_, i) => (w[i] -= lr * g[i])));
}

/** The book's Momentum: v = α·v − lr·g; W += v. */
function bookMomentum(lr: number, alpha: number, w0: number[], gs: number[][]): number[][] {
  const w = [...w0];
  const v = w0.map(() => 0);
  return gs.map((g) =>
    w.map((_, i) => {
      v[i] = alpha * v[i] - lr * g[i];
      return (w[i] += v[i]);
    })
  );
}

/** The book's AdaGrad: h += g²; W -= lr·g / (√h + 1e-7). */
function bookAdagrad(lr: number, w0: number[], gs: number[][]): number[][] {
  const w = [...w0];
  const h = w0.map(() => 0);
  return gs.map((g) =>
    w.map((_, i) => {
      h[i] += g[i] * g[i];
      return (w[i] -= lr * g[i] / (Math.sqrt(h[i]) + 1e-7));
    })
  );
}

/** The book's RMSprop: h = decay·h + (1 − decay)·g²; W -= lr·g / (√h + 1e-7). */
function bookRmsprop(lr: number, decay: number, w0: number[], gs: number[][]): number[][] {
  const w = [...w0];
  const h = w0.map(() => 0);
  return gs.map((g) =>
    w.map((_, i) => {
      h[i] = decay * h[i] + (1 - decay) * g[i] * g[i];
      return (w[i] -= lr * g[i] / (Math.sqrt(h[i]) + 1e-7));
    })
  );
}

/**
 * The book's Adam: lr_t = lr·√(1 − b2ᵗ)/(1 − b1ᵗ); m += (1 − b1)(g − m);
 * v += (1 − b2)(g² − v); W -= lr_t·m / (√v + 1e-7).
 */
function bookAdam(lr: number, b1: number, b2: number, w0: number[], gs: number[][]): number[][] {
  const w = [...w0];
  const m = w0.map(() => 0);
  const v = w0.map(() => 0);
  return gs.map((g, k) => {
    const t = k + 1;
    const lrT = lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
    return w.map((_, i) => {
      m[i] += (1 - b1) * (g[i] - m[i]);
      v[i] += (1 - b2) * (g[i] ** 2 - v[i]);
      return (w[i] -= lrT * m[i] / (Math.sqrt(v[i]) + 1e-7));
    });
  });
}

/** Optax's Adam(W): m̂ = m/(1 − b1ᵗ), v̂ = v/(1 − b2ᵗ), W -= lr·(m̂/(√v̂ + eps) + wd·W). */
function optaxAdamw(
  lr: number,
  { b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0 },
  w0: number[],
  gs: number[][],
): number[][] {
  const w = [...w0];
  const m = w0.map(() => 0);
  const v = w0.map(() => 0);
  return gs.map((g, k) => {
    const t = k + 1;
    return w.map((_, i) => {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2;
      const mHat = m[i] / (1 - b1 ** t);
      const vHat = v[i] / (1 - b2 ** t);
      return (w[i] -= lr * (mHat / (Math.sqrt(vHat) + eps) + wd * w[i]));
    });
  });
}

function assertTrajectory(got: number[][], want: number[][], tol = EXACT): void {
  assert.equal(got.length, want.length);
  got.forEach((g, k) => {
    try {
      assertClose(g, want[k], tol);
    } catch (e) {
      throw new Error(`step ${k + 1}: ${(e as Error).message}`);
    }
  });
}

// ---------------------------------------------------------------- step by step

Deno.test("sgd: W -= lr·g, step by step", () => {
  assertTrajectory(trajectory(optim.sgd(0.1), W0, GS), bookSgd(0.1, W0, GS));
});

Deno.test("momentum: the book's v = αv − lr·g; W += v, first and second step", () => {
  const lr = 0.01, alpha = 0.9;
  const got = trajectory(optim.momentum(lr, { beta: alpha }), W0, GS);
  // First step: v = −lr·g.
  assertClose(got[0], W0.map((w, i) => w - lr * GS[0][i]), EXACT);
  // Second step: v = α(−lr·g₁) − lr·g₂.
  assertClose(
    got[1],
    got[0].map((w, i) => w + alpha * (-lr * GS[0][i]) - lr * GS[1][i]),
    EXACT,
  );
  assertTrajectory(got, bookMomentum(lr, alpha, W0, GS));
  // Default beta is 0.9.
  assertTrajectory(trajectory(optim.momentum(lr), W0, GS), bookMomentum(lr, 0.9, W0, GS));
});

Deno.test("momentum: nesterov uses g + β·t", () => {
  const lr = 0.1, beta = 0.5;
  const w = [...W0];
  const t = W0.map(() => 0);
  const want = GS.map((g) =>
    w.map((_, i) => {
      t[i] = g[i] + beta * t[i];
      return (w[i] -= lr * (g[i] + beta * t[i]));
    })
  );
  assertTrajectory(trajectory(optim.momentum(lr, { beta, nesterov: true }), W0, GS), want);
});

Deno.test("adagrad: the book's h += g²; W -= lr·g/(√h + 1e-7)", () => {
  assertTrajectory(trajectory(optim.adagrad(0.5), W0, GS), bookAdagrad(0.5, W0, GS));
});

Deno.test("adagrad: on a constant gradient the steps shrink, lr·g/(√(k·g²) + 1e-7) at step k", () => {
  const lr = 1.5, g = 0.8;
  const ws = trajectory(optim.adagrad(lr), [0], Array.from({ length: 8 }, () => [g]));
  let prev = 0, prevSize = Infinity;
  ws.forEach(([w], i) => {
    const k = i + 1;
    const size = prev - w;
    assertClose(size, lr * g / (Math.sqrt(k * g * g) + 1e-7), EXACT);
    assert.ok(
      size < prevSize,
      `step ${k} (${size}) is not smaller than step ${k - 1} (${prevSize})`,
    );
    prev = w;
    prevSize = size;
  });
});

Deno.test("rmsprop: the book's h = decay·h + (1 − decay)·g²; W -= lr·g/(√h + 1e-7)", () => {
  assertTrajectory(trajectory(optim.rmsprop(0.01), W0, GS), bookRmsprop(0.01, 0.99, W0, GS));
  assertTrajectory(
    trajectory(optim.rmsprop(0.1, { decay: 0.9 }), W0, GS),
    bookRmsprop(0.1, 0.9, W0, GS),
  );
});

Deno.test("adam: the first step is −lr·sign(g)", () => {
  const lr = 0.3;
  const g = [0.5, -1, 2, -1e-3, 40];
  const opt = optim.adam(lr);
  const [u] = opt.update({ w: f64(g) }, opt.init({ w: f64(g.map(() => 0)) }));
  vals(u.w).forEach((d, i) => {
    assert.ok(Math.abs(Math.abs(d) - lr) <= lr * 1e-5, `|Δ${i}| = ${Math.abs(d)}, want ≈ ${lr}`);
    assert.equal(Math.sign(d), -Math.sign(g[i]));
    // Exactly −lr·g/(|g| + eps).
    assertClose(d, -lr * g[i] / (Math.abs(g[i]) + 1e-8), EXACT);
  });
});

Deno.test("adam: three steps against Optax's formula and the book's", () => {
  const gs = GS.slice(0, 3);
  const got = trajectory(optim.adam(0.01), W0, gs);
  assertTrajectory(got, optaxAdamw(0.01, {}, W0, gs));
  // The book folds the bias corrections into lr_t and adds 1e-7 to the uncorrected √v: the
  // same up to eps (1e-7/√(1 − b2ᵗ) ≈ 3e-6 on the first step, relative to |g|).
  assertTrajectory(got, bookAdam(0.01, 0.9, 0.999, W0, gs), { atol: 1e-6, rtol: 0 });
  const custom = trajectory(optim.adam(0.05, { b1: 0.5, b2: 0.9, eps: 1e-3 }), W0, gs);
  assertTrajectory(custom, optaxAdamw(0.05, { b1: 0.5, b2: 0.9, eps: 1e-3 }, W0, gs));
});

Deno.test("adamw: decoupled weight decay, W -= lr·(m̂/(√v̂ + eps) + wd·W)", () => {
  const lr = 0.01, wd = 0.1;
  const got = trajectory(optim.adamw(lr, { weightDecay: wd }), W0, GS);
  assertTrajectory(got, optaxAdamw(lr, { wd }, W0, GS));
  // Decoupled: with a zero gradient, Adam's part is 0 and W shrinks by exactly lr·wd·W.
  const zero = trajectory(optim.adamw(lr, { weightDecay: wd }), W0, [[0, 0, 0], [0, 0, 0]]);
  assertClose(zero[0], W0.map((w) => w * (1 - lr * wd)), EXACT);
  assertClose(zero[1], W0.map((w) => w * (1 - lr * wd) ** 2), EXACT);
  // Not the same as L2 regularisation through the gradient (Adam on g + wd·W).
  const l2 = trajectory(optim.adam(lr), W0, [GS[0].map((g, i) => g + wd * W0[i])]);
  assert.ok(Math.abs(l2[0][0] - got[0][0]) > 1e-4);
  // The default weight decay is Optax's 1e-4; a mask turns it off per leaf.
  assertTrajectory(trajectory(optim.adamw(lr), W0, GS), optaxAdamw(lr, { wd: 1e-4 }, W0, GS));
  assertTrajectory(
    trajectory(optim.adamw(lr, { weightDecay: wd, mask: { w: false } }), W0, GS),
    optaxAdamw(lr, {}, W0, GS),
  );
});

Deno.test("adamw: update needs params", () => {
  const opt = optim.adamw(0.1);
  const p = { w: f64([1]) };
  assert.throws(
    () => opt.update(p, opt.init(p)),
    /^TypeError: optim\.addDecayedWeights\(\): update\(\) needs params; call opt\.update\(grads, state, params\)$/,
  );
});

// ---------------------------------------------------------------- schedules

Deno.test("a schedule inside an optimizer: the rate changes with the step", () => {
  const schedule = optim.exponentialDecay({ init: 0.1, decayRate: 0.5, transitionSteps: 1 });
  const ones = Array.from({ length: 4 }, () => [1]);
  const ws = trajectory(optim.sgd(schedule), [0], ones);
  assertClose(ws.map(([w]) => w), [-0.1, -0.15, -0.175, -0.1875], EXACT);

  const warm = optim.linearWarmup(optim.constantSchedule(0.2), { warmupSteps: 2 });
  const steps = trajectory(optim.momentum(warm, { beta: 0 }), [0], ones);
  assertClose(steps.map(([w]) => w), [0, -0.1, -0.3, -0.5], EXACT);

  // Adam: every step is about −lr(step) on a constant gradient.
  const adamSteps = trajectory(optim.adam(schedule), [0], ones);
  assertClose(adamSteps.map(([w]) => w), [-0.1, -0.15, -0.175, -0.1875], { atol: 1e-7, rtol: 0 });
});

// ---------------------------------------------------------------- the book's comparison

const f = (x: number, y: number): number => x * x / 20 + y * y;
const loss = (p: { xy: Tensor }): Tensor => {
  const sq = mul(p.xy, p.xy);
  return mul(sq, f64([1 / 20, 1])).sum();
};

Deno.test("minimising x²/20 + y² from (−7, 2) with the book's learning rates", () => {
  const f0 = f(-7, 2);
  const cases: [string, optim.GradientTransformation<unknown>, number][] = [
    ["SGD 0.95", optim.sgd(0.95), 0.02],
    ["Momentum 0.1", optim.momentum(0.1), 0.02],
    ["AdaGrad 1.5", optim.adagrad(1.5), 0.02],
    ["RMSprop 0.1", optim.rmsprop(0.1), 0.02],
    ["Adam 0.3", optim.adam(0.3), 0.02],
  ];
  for (const [name, opt, frac30] of cases) {
    let params = { xy: f64([-7, 2]) };
    let state = opt.init(params);
    const fs: number[] = [];
    for (let step = 0; step < 100; step++) {
      const g = grad(loss)(params);
      const [updates, next] = opt.update(g, state, params);
      params = optim.applyUpdates(params, updates);
      state = next;
      const [x, y] = vals(params.xy);
      fs.push(f(x, y));
    }
    assert.ok(
      fs[29] < frac30 * f0,
      `${name}: f after 30 steps is ${fs[29]}, want < ${frac30 * f0}`,
    );
    assert.ok(fs[99] < 1e-4, `${name}: f after 100 steps is ${fs[99]}`);
  }
});

Deno.test("the comparison's trajectories follow the book's formulas step by step", () => {
  const gradF = ([x, y]: number[]): number[] => [x / 10, 2 * y];
  /** Runs a book optimizer on f with gradients computed from its own trajectory. */
  function bookRun(update: (w: number[], g: number[], t: number) => number[]): number[][] {
    let w = [-7, 2];
    const out: number[][] = [];
    for (let t = 1; t <= 30; t++) {
      w = update(w, gradF(w), t);
      out.push(w);
    }
    return out;
  }
  function ours(opt: optim.GradientTransformation<unknown>): number[][] {
    let params = { xy: f64([-7, 2]) };
    let state = opt.init(params);
    const out: number[][] = [];
    for (let t = 0; t < 30; t++) {
      const [updates, next] = opt.update(grad(loss)(params), state, params);
      params = optim.applyUpdates(params, updates);
      state = next;
      out.push(vals(params.xy));
    }
    return out;
  }
  const tol = { atol: 1e-10, rtol: 1e-10 };
  assertTrajectory(
    ours(optim.sgd(0.95)),
    bookRun((w, g) => w.map((wi, i) => wi - 0.95 * g[i])),
    tol,
  );
  {
    const v = [0, 0];
    const want = bookRun((w, g) =>
      w.map((wi, i) => {
        v[i] = 0.9 * v[i] - 0.1 * g[i];
        return wi + v[i];
      })
    );
    assertTrajectory(ours(optim.momentum(0.1)), want, tol);
  }
  {
    const h = [0, 0];
    const want = bookRun((w, g) =>
      w.map((wi, i) => {
        h[i] += g[i] * g[i];
        return wi - 1.5 * g[i] / (Math.sqrt(h[i]) + 1e-7);
      })
    );
    assertTrajectory(ours(optim.adagrad(1.5)), want, tol);
  }
  {
    const h = [0, 0];
    const want = bookRun((w, g) =>
      w.map((wi, i) => {
        h[i] = 0.99 * h[i] + 0.01 * g[i] * g[i];
        return wi - 0.1 * g[i] / (Math.sqrt(h[i]) + 1e-7);
      })
    );
    assertTrajectory(ours(optim.rmsprop(0.1)), want, tol);
  }
  {
    const m = [0, 0], v = [0, 0];
    const want = bookRun((w, g, t) => {
      const lrT = 0.3 * Math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t);
      return w.map((wi, i) => {
        m[i] += 0.1 * (g[i] - m[i]);
        v[i] += 0.001 * (g[i] ** 2 - v[i]);
        return wi - lrT * m[i] / (Math.sqrt(v[i]) + 1e-7);
      });
    });
    // Equal up to where eps sits (1e-8 inside vs 1e-7 outside the corrections).
    assertTrajectory(ours(optim.adam(0.3)), want, { atol: 1e-5, rtol: 1e-5 });
  }
});
