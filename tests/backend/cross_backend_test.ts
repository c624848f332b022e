/**
 * The op and autodiff suites, parameterised over backends: every case runs
 * its forward pass, a VJP and a JVP on the plain-JS `cpu` backend (the
 * reference) and on `wasm` and `webgpu` (the software llvmpipe adapter in
 * CI) from the same host inputs, and the results must agree — exactly for
 * integer, bool and data-movement results, within atol 1e-5 + rtol 1e-4 for
 * float32 arithmetic (WebAssembly and WGSL use their own exp/log/tanh, fused
 * multiply-adds and other summation orders). A full MLP training trajectory
 * is compared over several steps. The WebGPU half is skipped where no
 * adapter exists.
 */

import assert from "node:assert/strict";
import {
  abs,
  add,
  argmax,
  argmin,
  argsort,
  broadcastTo,
  cast,
  ceil,
  concat,
  cos,
  div,
  equal,
  exp,
  expandDims,
  expm1,
  floor,
  getBackend,
  greater,
  greaterEqual,
  jvp,
  less,
  lessEqual,
  log,
  log1p,
  logicalAnd,
  logicalNot,
  logicalOr,
  logsumexp,
  matmul,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  neg,
  nn,
  notEqual,
  oneHot,
  optim,
  pow,
  random,
  reshape,
  round,
  setBackend,
  sign,
  sin,
  slice,
  sqrt,
  square,
  stack,
  sub,
  sum,
  take,
  tanh,
  type Tensor,
  tensor,
  transpose,
  valueAndGrad,
  vjp,
  where,
} from "../../mod.ts";
import { lcg } from "../_helpers.ts";

async function probe(): Promise<boolean> {
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) return false;
    await setBackend("webgpu");
    return true;
  } catch {
    return false;
  } finally {
    await setBackend("cpu");
  }
}

const hasGpu = await probe();

/** A host-side input: values, shape, dtype. */
type Input = { values: number[]; shape: number[]; dtype: "float32" | "int32" | "bool" };

const f32 = (seed: number, shape: number[], lo = -2, hi = 2): Input => {
  const r = lcg(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { values: Array.from({ length: n }, () => lo + (hi - lo) * r()), shape, dtype: "float32" };
};
const i32 = (values: number[], shape = [values.length]): Input => ({
  values,
  shape,
  dtype: "int32",
});

const make = (x: Input) => tensor(x.values, { shape: x.shape, dtype: x.dtype });

interface Case {
  /** The function of float32 tensors under test (extra constant inputs are closed over). */
  readonly f: (...xs: Tensor[]) => Tensor;
  /** Its differentiable float32 inputs. */
  readonly args: Input[];
  /** Forward only (non-differentiable outputs). */
  readonly forwardOnly?: boolean;
}

const A = f32(1, [3, 4]);
const B = f32(2, [4]);
const C = f32(3, [3, 1]);
const POS = f32(4, [3, 4], 0.5, 2);

const cases: Record<string, Case> = {
  neg: { f: neg, args: [A] },
  exp: { f: exp, args: [A] },
  log: { f: log, args: [POS] },
  log1p: { f: log1p, args: [POS] },
  expm1: { f: expm1, args: [A] },
  sqrt: { f: sqrt, args: [POS] },
  sin: { f: sin, args: [A] },
  cos: { f: cos, args: [A] },
  tanh: { f: tanh, args: [A] },
  abs: { f: abs, args: [A] },
  square: { f: square, args: [A] },
  "ceil, logical ops, greaterEqual, lessEqual": {
    f: (a, b) =>
      add(
        ceil(a),
        cast(
          logicalOr(logicalAnd(greaterEqual(a, b), logicalNot(lessEqual(b, 0))), equal(a, 0)),
          "float32",
        ),
      ),
    args: [A, B],
    forwardOnly: true,
  },
  "sign, floor, round": {
    f: (x) => add(add(sign(x), floor(x)), round(mul(x, 3))),
    args: [A],
    forwardOnly: true,
  },
  "add (broadcast)": { f: add, args: [A, B] },
  "sub (broadcast both)": { f: sub, args: [C, B] },
  "mul (broadcast)": { f: mul, args: [A, C] },
  "div (broadcast)": { f: div, args: [A, f32(5, [4], 0.5, 2)] },
  pow: { f: pow, args: [POS, f32(6, [4], -1, 2)] },
  maximum: { f: maximum, args: [A, B] },
  minimum: { f: minimum, args: [C, A] },
  comparisons: {
    f: (a, b) =>
      add(cast(greater(a, b), "float32"), cast(notEqual(less(a, 0), equal(b, b)), "float32")),
    args: [A, B],
    forwardOnly: true,
  },
  where: { f: (a, b) => where(greater(a, 0), a, b), args: [A, B] },
  "cast float32 → int32 → float32": {
    f: (x) => cast(cast(mul(x, 10), "int32"), "float32"),
    args: [A],
    forwardOnly: true,
  },
  "cast float32 → int32 at the int32 edges (XLA's rule: NaN → 0, saturate, truncate)": {
    f: (x) => cast(x, "int32"),
    args: [{
      // float32 inputs: 2147483647.5 rounds to 2³¹, 2147483520 is the largest below it
      values: [
        2 ** 31,
        -(2 ** 31),
        2147483647.5,
        2147483520,
        -2147483904,
        3e9,
        -3e9,
        1e20,
        -1e20,
        NaN,
        Infinity,
        -Infinity,
        -0.5,
        0.5,
        -1.5,
        16777217,
      ],
      shape: [16],
      dtype: "float32",
    }],
    forwardOnly: true,
  },
  "int32 pow, exact modulo 2³²": {
    // np.array([3, 3, -3, 7, 2, -1, 1], np.int32) ** np.array([21, 40, 33, 12, 31, 7, 9], np.int32)
    // = [1870418611, 689956897, 1504003197, 956385313, -2147483648, -1, 1]
    f: () => pow(make(i32([3, 3, -3, 7, 2, -1, 1])), make(i32([21, 40, 33, 12, 31, 7, 9]))),
    args: [],
    forwardOnly: true,
  },
  "sum over axes": { f: (x) => sum(x, [0, 2], { keepdims: true }), args: [f32(7, [2, 3, 4])] },
  "sum all": { f: (x) => sum(x), args: [f32(8, [5, 7])] },
  "max, min": { f: (x) => add(max(x, 1), min(x, 1)), args: [A] },
  mean: { f: (x) => mean(x, 0), args: [A] },
  "argmax, argmin": {
    f: (x) => add(cast(argmax(x, -1), "float32"), cast(argmin(x, 0), "float32").sum()),
    args: [A],
    forwardOnly: true,
  },
  logsumexp: { f: (x) => logsumexp(x, -1), args: [f32(9, [3, 5], -50, 50)] },
  "reshape, transpose": { f: (x) => transpose(reshape(x, [2, 2, 3]), [2, 0, 1]), args: [A] },
  broadcastTo: { f: (x) => broadcastTo(x, [2, 3, 4]), args: [C] },
  "slice (negative step)": { f: (x) => slice(x, [2, -1], [0, null], [-1, -2]), args: [A] },
  "concat, stack, expandDims": {
    f: (a, c) => stack([concat([a, c], 1), concat([c, a], 1)], 1).add(expandDims(c, 1)),
    args: [A, C],
  },
  "take (repeated, negative)": { f: (x) => take(x, make(i32([2, 0, 2, -1])), 0), args: [A] },
  "take along axis 1": { f: (x) => take(x, make(i32([3, 3, 0, 1], [2, 2])), 1), args: [A] },
  "matmul (batched broadcast)": {
    f: (a, b) => matmul(a, b),
    args: [f32(10, [2, 3, 5]), f32(11, [5, 4])],
  },
  "matmul (odd sizes)": { f: (a, b) => matmul(a, b), args: [f32(12, [17, 33]), f32(13, [33, 9])] },
  "matmul (transposed operands)": {
    f: (a, b) =>
      add(
        matmul(a, b, { transposeA: true }),
        matmul(b, transpose(a, [0, 2, 1]), { transposeA: true, transposeB: true }),
      ),
    args: [f32(14, [2, 33, 17]), f32(15, [33, 17])],
  },
  "matmul (transposed, big enough for the GEMM)": {
    f: (a, b) => matmul(a, b, { transposeA: true }),
    args: [f32(16, [100, 78]), f32(17, [100, 50])],
  },
  "logsumexp (axis 0)": {
    f: (x) => logsumexp(x, 0),
    args: [f32(18, [4, 3], -50, 50)],
  },
  "logSoftmax, wide rows": { f: (x) => nn.logSoftmax(x), args: [f32(19, [3, 37], -30, 30)] },
  "softmax cross entropy": {
    f: (logits) => nn.softmaxCrossEntropy(logits, make(i32([1, 0, 3]))),
    args: [A],
  },
  oneHot: { f: (x) => mul(x, oneHot(make(i32([0, 3, 1])), 4)), args: [A] },
};

type Result = { values: number[]; dtype: string; shape: readonly number[] };

async function read(t: Tensor): Promise<Result> {
  return { values: Array.from(await t.data()), dtype: t.dtype, shape: t.shape };
}

async function runCase(c: Case): Promise<Result[]> {
  const xs = c.args.map(make);
  const out = c.f(...xs);
  const results = [await read(out)];
  if (c.forwardOnly) return results;
  const ct = make(f32(99, [...out.shape]));
  const [, pullback] = vjp(c.f, ...xs);
  for (const g of pullback(ct)) results.push(await read(g));
  const tangents = c.args.map((a, i) => make(f32(200 + i, a.shape)));
  const [, tOut] = jvp(c.f, xs, tangents);
  results.push(await read(tOut));
  return results;
}

function assertAgree(name: string, cpu: Result[], other: Result[]): void {
  assert.equal(other.length, cpu.length);
  const backend = getBackend();
  cpu.forEach((want, k) => {
    const got = other[k];
    assert.deepEqual(got.shape, want.shape, `${name} #${k}: shape`);
    assert.equal(got.dtype, want.dtype, `${name} #${k}: dtype`);
    for (let i = 0; i < want.values.length; i++) {
      const [g, w] = [got.values[i], want.values[i]];
      const ok = want.dtype === "float32"
        ? Math.abs(g - w) <= 1e-5 + 1e-4 * Math.abs(w) || (Number.isNaN(g) && Number.isNaN(w)) ||
          g === w
        : g === w;
      assert.ok(ok, `${name} #${k} element ${i}: ${backend} ${g}, cpu ${w}`);
    }
  });
}

/** The backends compared with `cpu`, and whether each can run here. */
const OTHERS = [["wasm", true], ["webgpu", hasGpu]] as const;

for (const [other, available] of OTHERS) {
  for (const [name, c] of Object.entries(cases)) {
    Deno.test({
      name: `cpu vs ${other}: ${name}${c.forwardOnly ? "" : " (forward, vjp, jvp)"}`,
      ignore: !available,
      fn: async () => {
        const cpu = await runCase(c);
        await setBackend(other);
        try {
          assertAgree(name, cpu, await runCase(c));
        } finally {
          await setBackend("cpu");
        }
      },
    });
  }

  Deno.test({
    name: `cpu vs ${other}: random bits, uniform, normal, permutation, argsort`,
    ignore: !available,
    fn: async () => {
      const draw = async () => {
        const k = random.key(7);
        return [
          await read(random.bits(k, [9])),
          await read(random.uniform(k, [9])),
          await read(random.normal(k, [9])),
          await read(random.permutation(k, 50)),
          await read(argsort(make(f32(3, [4, 6])), -1)),
        ];
      };
      const cpu = await draw();
      await setBackend(other);
      try {
        assertAgree("random", cpu, await draw());
      } finally {
        await setBackend("cpu");
      }
    },
  });

  Deno.test({
    name: `cpu vs ${other}: keys made before setBackend work after it, both ways`,
    ignore: !available,
    fn: async () => {
      const draw = async (k: Tensor) => {
        const [k1, k2] = random.split(k, 2);
        return [
          await read(random.split(k, 3)[2]),
          await read(random.bits(k1, [9])),
          await read(random.uniform(k2, [9])),
          await read(random.normal(k, [9])),
          await read(random.permutation(k1, 20)),
        ];
      };
      const onCpu = random.key(11);
      const [, onCpuSplit] = random.split(onCpu);
      const cpu = await draw(onCpu);
      const cpuSplit = await read(random.bits(onCpuSplit, [4]));
      let onOther: Tensor;
      await setBackend(other);
      try {
        assertAgree("a cpu key", cpu, await draw(onCpu));
        assertAgree("a split cpu key", [cpuSplit], [await read(random.bits(onCpuSplit, [4]))]);
        assert.equal(random.bits(onCpu, [1]).backend, other);
        onOther = random.key(11);
        random.split(onOther); // made here, used on cpu below
      } finally {
        await setBackend("cpu");
      }
      assertAgree(`a ${other} key`, cpu, await draw(onOther));
    },
  });

  Deno.test({
    name: `cpu vs ${other}: an MNIST-shaped MLP's training trajectory (8 SGD steps) matches`,
    ignore: !available,
    fn: async () => {
      const trajectory = async () => {
        const net = nn.mlp({
          inputSize: 784,
          hiddenSizes: [100],
          outputSize: 10,
          activation: "sigmoid",
        });
        let { params } = net.init(random.key(0), [784]);
        const { state } = net.init(random.key(0), [784]);
        const x = random.uniform(random.key(1), [100, 784]);
        const y = random.randint(random.key(2), [100], 0, 10);
        const opt = optim.sgd(0.5);
        let s = opt.init(params);
        const step = valueAndGrad((p: typeof params) =>
          nn.softmaxCrossEntropy(net.apply(p, state, x)[0], y)
        );
        const losses: number[] = [];
        for (let i = 0; i < 8; i++) {
          const [loss, g] = step(params);
          const [u, next] = opt.update(g, s, params);
          params = optim.applyUpdates(params, u);
          s = next;
          losses.push(await loss.item());
        }
        return losses;
      };
      const cpu = await trajectory();
      await setBackend(other);
      let gpu: number[];
      try {
        gpu = await trajectory();
      } finally {
        await setBackend("cpu");
      }
      gpu.forEach((l, i) =>
        assert.ok(Math.abs(l - cpu[i]) <= 1e-4 * Math.abs(cpu[i]), `step ${i}: ${l} vs ${cpu[i]}`)
      );
      assert.ok(cpu.at(-1)! < cpu[0]);
    },
  });
}

Deno.test({
  name: "webgpu: float64 is a clear error; values come back only asynchronously",
  ignore: !hasGpu,
  fn: async () => {
    await setBackend("webgpu");
    try {
      assert.throws(
        () => tensor([1], { dtype: "float64" }),
        /webgpu backend does not support float64/,
      );
      const t = tensor([1, 2]);
      assert.throws(() => t.dataSync(), /cannot read values synchronously/);
      assert.deepEqual([...(await t.data())], [1, 2]);
    } finally {
      await setBackend("cpu");
    }
  },
});
