/**
 * `lax.reduceWindow` against a direct-loop reference written here in
 * float64 JS (one loop over output positions and window offsets, JAX's
 * semantics: padding and dilation holes are `init`, the result folds
 * `init` in), over 1-D, 2-D and 3-D windows, strides, `"SAME"`/`"VALID"`/
 * explicit padding, base and window dilations and non-identity inits: the
 * values, the gradient (the reference sends a max/min window's cotangent to
 * its first extreme in row-major window order, and nowhere when `init`
 * wins), the jvp (the same rule forwards), central differences
 * (`checkGrads`, float64), `jit` against eager, and the errors.
 */

import assert from "node:assert/strict";
import {
  add,
  checkGrads,
  DTypeError,
  grad,
  jit,
  jvp,
  lax,
  max,
  maximum,
  mul,
  ShapeError,
  sum,
  type Tensor,
  tensor,
} from "../../mod.ts";
import { lcg } from "../_helpers.ts";
import { assertTensor, assertThrowsMatch } from "../ops/_helpers.ts";

type Op = "max" | "min" | "sum";
type Pads = [number, number][];

interface Case {
  name: string;
  shape: number[];
  init: number;
  op: Op;
  window: number[];
  strides?: number[];
  padding?: "SAME" | "VALID" | Pads;
  baseDilation?: number[];
  windowDilation?: number[];
  /** Values: "ties" draws integers 0..3 (many ties), otherwise uniform [-4, 4). */
  values?: "ties";
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** XLA's SAME padding, written out again for the reference. */
function samePads(shape: number[], window: number[], strides: number[], wd: number[]): Pads {
  return shape.map((n, i) => {
    const span = (window[i] - 1) * wd[i] + 1;
    const total = Math.max(0, (Math.ceil(n / strides[i]) - 1) * strides[i] + span - n);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  });
}

interface Ref {
  shape: number[];
  out: number[];
  /** Per output: the flat input indices the cotangent goes to. */
  sources: number[][];
}

/** The direct loop: every output position, every window offset. */
function reference(c: Case, x: Float64Array): Ref {
  const r = c.shape.length;
  const strides = c.strides ?? c.shape.map(() => 1);
  const bd = c.baseDilation ?? c.shape.map(() => 1);
  const wd = c.windowDilation ?? c.shape.map(() => 1);
  const pads: Pads = c.padding === "SAME"
    ? samePads(c.shape, c.window, strides, wd)
    : c.padding === undefined || c.padding === "VALID"
    ? c.shape.map(() => [0, 0])
    : c.padding;
  const outShape = c.shape.map((n, i) => {
    const padded = (n - 1) * bd[i] + 1 + pads[i][0] + pads[i][1];
    return Math.floor((padded - ((c.window[i] - 1) * wd[i] + 1)) / strides[i]) + 1;
  });
  const unravel = (f: number, s: number[]) => {
    const idx = new Array<number>(s.length);
    for (let d = s.length - 1; d >= 0; d--) {
      idx[d] = f % s[d];
      f = Math.floor(f / s[d]);
    }
    return idx;
  };
  const out: number[] = [], sources: number[][] = [];
  for (let o = 0; o < size(outShape); o++) {
    const oi = unravel(o, outShape);
    const vals: number[] = [], srcs: number[] = [];
    for (let k = 0; k < size(c.window); k++) {
      const ki = unravel(k, c.window);
      let flat = 0;
      for (let d = 0; d < r && flat >= 0; d++) {
        const p = oi[d] * strides[d] + ki[d] * wd[d] - pads[d][0];
        if (p < 0 || p % bd[d] !== 0 || p / bd[d] >= c.shape[d]) flat = -1;
        else flat = flat * c.shape[d] + p / bd[d];
      }
      vals.push(flat < 0 ? c.init : x[flat]);
      srcs.push(flat);
    }
    if (c.op === "sum") {
      out.push(vals.reduce((a, b) => a + b, c.init));
      sources.push(srcs.filter((s) => s >= 0));
      continue;
    }
    const better = (a: number, b: number) => (c.op === "max" ? a > b : a < b);
    let best = 0;
    for (let k = 1; k < vals.length; k++) {
      if (Number.isNaN(vals[best])) break;
      if (better(vals[k], vals[best]) || Number.isNaN(vals[k])) best = k;
    }
    if (better(c.init, vals[best])) {
      out.push(c.init);
      sources.push([]);
    } else {
      out.push(vals[best]);
      sources.push(srcs[best] >= 0 ? [srcs[best]] : []);
    }
  }
  return { shape: outShape, out, sources };
}

function values(c: Case, seed: number): Float64Array {
  const rng = lcg(seed);
  return Float64Array.from(
    { length: size(c.shape) },
    () => c.values === "ties" ? Math.floor(rng() * 4) : rng() * 8 - 4,
  );
}

const run = (c: Case) => (x: Tensor): Tensor =>
  lax.reduceWindow(x, c.init, c.op, c.window, c.strides, c.padding, {
    baseDilation: c.baseDilation,
    windowDilation: c.windowDilation,
  });

/** A case: name, input shape, op, init, window, then the optional parts. */
const rw = (
  name: string,
  shape: number[],
  op: Op,
  init: number,
  window: number[],
  rest: Partial<Case> = {},
): Case => ({ name, shape, op, init, window, ...rest });

const CASES: Case[] = [
  rw("1-D max, stride 2, VALID", [9], "max", -Infinity, [3], { strides: [2] }),
  rw("1-D max, SAME, ties", [9], "max", -Infinity, [4], { padding: "SAME", values: "ties" }),
  rw("1-D min, pairs, ties", [8], "min", Infinity, [3], { padding: [[2, 1]], values: "ties" }),
  rw("1-D sum, SAME, stride 3", [10], "sum", 0, [4], { strides: [3], padding: "SAME" }),
  rw("2-D NCHW max pool 2x2/2 (the book's), ties", [2, 3, 6, 6], "max", -Infinity, [1, 1, 2, 2], {
    strides: [1, 1, 2, 2],
    values: "ties",
  }),
  // odd sizes: SAME puts the extra padding at the end
  rw("2-D NCHW max 3x3/2 SAME", [1, 2, 7, 6], "max", -Infinity, [1, 1, 3, 3], {
    strides: [1, 1, 2, 2],
    padding: "SAME",
  }),
  rw("2-D NHWC sum 2x3, pairs", [2, 5, 4, 3], "sum", 0, [1, 2, 3, 1], {
    strides: [1, 2, 1, 1],
    padding: [[0, 0], [1, 0], [2, 1], [0, 0]],
  }),
  rw("2-D max, window and base dilation, ties", [6, 5], "max", -Infinity, [2, 3], {
    strides: [1, 2],
    padding: [[1, 0], [2, 1]],
    baseDilation: [1, 2],
    windowDilation: [2, 1],
    values: "ties",
  }),
  rw("3-D max, [D, H, W], SAME", [1, 2, 4, 5, 3], "max", -Infinity, [1, 1, 2, 3, 2], {
    strides: [1, 1, 1, 2, 1],
    padding: "SAME",
  }),
  rw("3-D sum, window dilation", [5, 4, 6], "sum", 0, [2, 2, 3], {
    strides: [2, 1, 1],
    windowDilation: [1, 2, 2],
  }),
  rw("max with init 0 (init wins on negatives)", [3, 6], "max", 0, [2, 2], { strides: [1, 2] }),
  rw("min with init 0 and padding, ties", [3, 6], "min", 0, [2, 3], {
    padding: "SAME",
    values: "ties",
  }),
  rw("sum with init 1.5 and padding", [4, 4], "sum", 1.5, [3, 2], { padding: [[1, 1], [0, 1]] }),
  rw("no windows (all 1): max with init", [2, 3], "max", 0.5, [1, 1]),
];

Deno.test("reduceWindow: values, gradient and jvp match the direct loop", () => {
  CASES.forEach((c, n) => {
    const xv = values(c, 100 + n);
    const ref = reference(c, xv);
    const x = tensor(xv, { shape: c.shape, dtype: "float64" });
    const f = run(c);
    const y = f(x);
    assert.deepEqual([...y.shape], ref.shape, c.name);
    assertTensor(y, ref.out, "float64", { atol: 1e-12, shape: ref.shape });
    // vjp: a random cotangent u goes to each output's sources
    const uv = values({ ...c, shape: ref.shape, values: undefined }, 200 + n);
    const u = tensor(uv, { shape: ref.shape, dtype: "float64" });
    const want = new Array<number>(xv.length).fill(0);
    ref.sources.forEach((srcs, o) => srcs.forEach((s) => (want[s] += uv[o])));
    const g = grad((x: Tensor) => sum(mul(f(x), u)))(x);
    assertTensor(g, want, "float64", { atol: 1e-12, shape: c.shape });
    // jvp: the tangent of each output sums the tangents of its sources
    const tv = values({ ...c, values: undefined }, 300 + n);
    const [, dy] = jvp(f, [x], [tensor(tv, { shape: c.shape, dtype: "float64" })]);
    const wantT = ref.sources.map((srcs) => srcs.reduce((a, s) => a + tv[s], 0));
    assertTensor(dy, wantT, "float64", { atol: 1e-12, shape: ref.shape });
  });
});

Deno.test("reduceWindow: gradients against central differences (float64, both modes)", () => {
  for (const c of CASES.filter((c) => c.values !== "ties")) {
    const x = tensor(values(c, 7), { shape: c.shape, dtype: "float64" });
    checkGrads(run(c), [x], { order: c.op === "sum" ? 2 : 1 });
  }
});

Deno.test("reduceWindow: jit gives eager's values and gradients", () => {
  for (const c of CASES.slice(4, 9)) {
    const x = tensor(values(c, 11), { shape: c.shape, dtype: "float64" });
    const f = run(c);
    const loss = (x: Tensor) => sum(mul(f(x), f(x)));
    assert.deepEqual(jit(f)(x).arraySync(), f(x).arraySync(), c.name);
    assert.deepEqual(jit(grad(loss))(x).arraySync(), grad(loss)(x).arraySync(), c.name);
  }
});

Deno.test("reduceWindow: ties go to the first extreme in the window, ties with init to the element", () => {
  const x = tensor([[2, 2], [2, 1]], { dtype: "float64" });
  const g = grad((x: Tensor) =>
    sum(lax.reduceWindow(x, -Infinity, "max", [2, 2], [1, 1], "VALID"))
  );
  assertTensor(g(x), [[1, 0], [0, 0]], "float64");
  // overlapping windows [3, 3], [3, 1]: both firsts are element 0 or 1
  const y = tensor([1, 3, 3, 1], { dtype: "float64" });
  const gy = grad((y: Tensor) => sum(lax.reduceWindow(y, -Infinity, "max", [2], [1], "VALID")));
  assertTensor(gy(y), [0, 2, 1, 0], "float64");
  // init equal to the maximum: the element keeps the gradient
  const gi = grad((y: Tensor) => sum(lax.reduceWindow(y, 3, "max", [2], [2], "VALID")));
  assertTensor(gi(y), [0, 1, 1, 0], "float64");
  // min windows: the first minimum
  const gm = grad((y: Tensor) => sum(lax.reduceWindow(y, Infinity, "min", [4], [1], "VALID")));
  assertTensor(gm(y), [1, 0, 0, 0], "float64");
});

Deno.test("reduceWindow: ops as functions, int32 and float32 inputs, NaN", () => {
  const x = tensor([[1, 5, 2, 0], [3, 4, 8, 1]]);
  const want = [[5, 8]];
  assertTensor(lax.reduceWindow(x, -Infinity, maximum, [2, 2], [2, 2], "VALID"), want, "float32");
  assertTensor(lax.reduceWindow(x, -Infinity, max, [2, 2], [2, 2], "VALID"), want, "float32");
  assertTensor(lax.reduceWindow(x, 0, add, [2, 2], [2, 2], "VALID"), [[13, 11]], "float32");
  const xi = tensor([[1, 5, 2, 0], [3, 4, 8, 1]], { dtype: "int32" });
  assertTensor(lax.reduceWindow(xi, -Infinity, "max", [2, 2], [2, 2], "SAME"), want, "int32");
  assertTensor(lax.reduceWindow(xi, Infinity, "min", [1, 3], [1, 1], [[0, 0], [1, 1]]), [
    [1, 1, 0, 0],
    [3, 3, 1, 1],
  ], "int32");
  assertTensor(lax.reduceWindow(xi, 0, "sum", [2, 1], [1, 1], "VALID"), [[4, 9, 10, 1]], "int32");
  const n = tensor([1, NaN, 0, 2]);
  assertTensor(lax.reduceWindow(n, -Infinity, "max", [2], [1], "VALID"), [NaN, NaN, 2], "float32");
  assertTensor(lax.reduceWindow(n, Infinity, "min", [2], [2], "VALID"), [NaN, 0], "float32");
  // a scalar with no axes: init folds in
  assertTensor(lax.reduceWindow(tensor(-2), 0, "max", []), 0, "float32");
});

Deno.test("reduceWindow: errors name the op, the shapes and the fix", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  assertThrowsMatch(
    () => lax.reduceWindow(x, 0, "sum", [3, 2]),
    ShapeError,
    /reduceWindow\(\): the window \[3,2\].*larger than the padded input \[2,3\].*smaller window or more padding/,
  );
  assertThrowsMatch(
    () => lax.reduceWindow(x, 0, "sum", [2]),
    ShapeError,
    /windowDimensions needs one entry per axis of the input \[2,3\] \(2\).*give 1 for axes not pooled/,
  );
  assertThrowsMatch(
    () => lax.reduceWindow(x, 0, "sum", [1, 2], [1, 1], "same" as "SAME"),
    ShapeError,
    /padding must be "SAME", "VALID" or \[lo, hi\] pairs, got "same"/,
  );
  assertThrowsMatch(
    () => lax.reduceWindow(x, 0, "sum", [1, 2], [1, 1], [[0, 0], [-1, 0]]),
    ShapeError,
    /padding needs 2 \[lo, hi\] pairs of non-negative integers/,
  );
  assertThrowsMatch(
    () => lax.reduceWindow(x, 0, "sum", [1, 2], [1, 0]),
    ShapeError,
    /the strides must be positive integers, got \[1,0\]/,
  );
  assertThrowsMatch(
    () => lax.reduceWindow(x, 0, "prod" as "sum", [1, 2]),
    ShapeError,
    /op must be "max", "min", "sum" or one of the functions maximum, minimum, add; got prod/,
  );
  assertThrowsMatch(
    () => lax.reduceWindow(tensor([true, false]), 0, "max", [1]),
    DTypeError,
    /expects a numeric tensor, got bool/,
  );
  assertThrowsMatch(
    () => lax.reduceWindow(tensor([1, 2], { dtype: "int32" }), 0.5, "sum", [1]),
    DTypeError,
    /init 0.5 is not an int32 value/,
  );
});

Deno.test("reduceWindow: the input is not changed", () => {
  const x = tensor([[1, 5, 2], [3, 4, 8]]);
  lax.reduceWindow(x, 0, "sum", [2, 2], [1, 1], "SAME");
  grad((x: Tensor) => sum(lax.reduceWindow(x, -Infinity, "max", [2, 2], [1, 1], "SAME")))(x);
  assert.deepEqual(x.arraySync(), [[1, 5, 2], [3, 4, 8]]);
});
