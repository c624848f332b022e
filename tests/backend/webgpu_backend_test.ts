/**
 * The WebGPU backend against the CPU reference: every kernel of
 * `kernels_elementwise.ts` on seeded random inputs plus special values,
 * buffer lifetime (refcounts, dispose, pool reuse) and the sync-read error.
 * Skipped when `navigator.gpu` or an adapter is unavailable.
 *
 * Tolerances: integer, bool and movement kernels, and float32 `neg`, `abs`,
 * `sign`, `square`, `floor`, `ceil`, `round`, `add`, `sub`, `mul`,
 * `maximum`, `minimum`, comparisons and casts must match exactly. `div` may
 * differ by 3 ulp and `sqrt` by 5 (the bounds WGSL grants adapters; both are
 * exact on llvmpipe).
 * Transcendental functions (`exp`, `log`, `log1p`, `expm1`, `tanh`, `sin`,
 * `cos`) may differ by 4 ulp of the CPU result (itself a correctly rounded
 * double result cast to float32), plus 2⁻²⁴ absolute for `sin`/`cos` near
 * their zeros; `pow(a, b)` by 2 + 2·|b·ln|a|| ulp (computed as exp(b·log a)
 * for non-integer b, so the error of the product grows with its size).
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../../src/backend/cpu/cpu_backend.ts";
import {
  type BinaryOp,
  COMPARISONS,
  type DataHandle,
  type UnaryOp,
} from "../../src/backend/backend.ts";
import { type GpuHandle, WebGpuBackend } from "../../src/backend/webgpu/webgpu_backend.ts";
import { webgpuBackend } from "../../src/backend/webgpu/mod.ts";
import { allocArray, type DType, type TypedArray } from "../../src/core/dtype.ts";
import { broadcastStrides, sizeOf } from "../../src/core/shape.ts";
import { makeTensor } from "../../src/core/tensor.ts";
import {
  add,
  cast,
  concat,
  exp,
  greater,
  mul,
  registerBackend,
  reshape,
  setBackend,
  slice,
  tensor,
  transpose,
  where,
} from "../../mod.ts";
import { lcg } from "../_helpers.ts";

const gpu: WebGpuBackend | null = await WebGpuBackend.create().catch(() => null);
const hasGpu = gpu !== null;
const cpu = new CpuBackend();

/** A GPU test: skipped without an adapter; WebGPU keeps async ops and resources alive. */
function gpuTest(name: string, fn: (b: WebGpuBackend) => Promise<void> | void): void {
  Deno.test({
    name: `webgpu: ${name}`,
    ignore: !hasGpu,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => fn(gpu!),
  });
}

// ---------------------------------------------------------------- helpers

const FLOAT_SPECIALS = [0, -0, NaN, Infinity, -Infinity, 0.5, -0.5, 1.5, 2.5, -2.5, 1, -1, 2];
const INT_SPECIALS = [2147483647, -2147483648, 1 << 30, -(1 << 30), 0, 1, -1];

/**
 * Random values of a dtype: floats in [-4, 4) (some of them integers, some
 * special values when `specials`), int32 in [-9, 9] (some extremes when
 * `specials`), bool 0/1.
 */
function randomArray(dtype: DType, size: number, rng: () => number, specials = false): TypedArray {
  const out = allocArray(dtype, size);
  for (let i = 0; i < size; i++) {
    const u = rng(), v = rng();
    if (dtype === "bool") out[i] = u < 0.5 ? 1 : 0;
    else if (dtype === "int32") {
      out[i] = specials && v < 0.15
        ? INT_SPECIALS[Math.floor(u * INT_SPECIALS.length)]
        : Math.floor(u * 19) - 9;
    } else if (specials && v < 0.15) out[i] = FLOAT_SPECIALS[Math.floor(u * FLOAT_SPECIALS.length)];
    else if (v < 0.3) out[i] = Math.round(u * 8 - 4);
    else out[i] = u * 8 - 4;
  }
  return out;
}

/** The spacing of float32 numbers at `x`. */
function ulp(x: number): number {
  const a = Math.abs(x);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

/**
 * Asserts `got[i]` equals `want[i]` within `maxUlp` ulp of `want[i]` plus
 * `atol` (0 and -0 are equal; NaN must match NaN; infinities exactly; a
 * subnormal may come back as 0, since WGSL lets adapters flush them).
 */
function assertUlp(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  what: string,
  maxUlp: number | ((i: number) => number) = 0,
  atol = 0,
  inputs?: readonly ArrayLike<number>[],
): void {
  assert.equal(got.length, want.length, `${what}: length ${got.length} vs ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    if (g === w || (Number.isNaN(g) && Number.isNaN(w))) continue;
    if (g === 0 && Math.abs(w) < 2 ** -126) continue; // adapters may flush subnormals
    const tol = typeof maxUlp === "number" ? maxUlp : maxUlp(i);
    const ok = Number.isFinite(g) && Number.isFinite(w) && Math.abs(g - w) <= tol * ulp(w) + atol;
    if (!ok) {
      const ins = inputs ? ` for inputs (${inputs.map((x) => x[i]).join(", ")})` : "";
      assert.fail(`${what}: element ${i}: got ${g}, want ${w}${ins} (${tol} ulp + ${atol})`);
    }
  }
}

/** Uploads a copy of `values` to both backends. */
function both(values: TypedArray, dtype: DType): [DataHandle, DataHandle] {
  return [gpu!.upload(values.slice(), dtype), cpu.upload(values.slice(), dtype)];
}

/** Reads a GPU handle and the matching CPU handle. */
async function readBoth(
  g: DataHandle,
  c: DataHandle,
  dtype: DType,
  size: number,
): Promise<[TypedArray, TypedArray]> {
  return [await gpu!.read(g, dtype, size), cpu.readSync(c, dtype, size)];
}

// ---------------------------------------------------------------- transfers

gpuTest("upload and read round-trip every dtype; float64 is refused", async (b) => {
  const rng = lcg(1);
  for (const dtype of ["float32", "int32", "bool"] as const) {
    const values = randomArray(dtype, 37, rng, true);
    const h = b.upload(values.slice(), dtype);
    const back = await b.read(h, dtype, 37);
    assert.equal(back.constructor, values.constructor);
    assert.deepEqual(back, values);
    assert.deepEqual(await b.read(h, dtype, 0), allocArray(dtype, 0));
  }
  assert.throws(() => b.upload(new Float64Array(2), "float64"), /float64 is not supported/);
  assert.equal(b.name, "webgpu");
  assert.deepEqual(b.dtypes, ["float32", "int32", "bool"]);
  assert.equal(b.canReadSync, false);
  assert.equal(typeof b.isFallback, "boolean");
  assert.equal(typeof b.description, "string");
});

gpuTest("readSync throws and points to data()", (b) => {
  const h = b.upload(new Float32Array([1]), "float32");
  assert.throws(
    () => b.readSync(h, "float32", 1),
    { message: "readSync(): the webgpu backend cannot read synchronously; use await t.data()" },
  );
});

gpuTest("fill casts the value like the CPU", async (b) => {
  const cases: [number, DType][] = [
    [2.5, "float32"],
    [NaN, "float32"],
    [-Infinity, "float32"],
    [0.1, "float32"],
    [3.7, "int32"],
    [-3.7, "int32"],
    [4294967297, "int32"],
    [NaN, "int32"],
    [-2, "bool"],
    [0, "bool"],
  ];
  for (const [value, dtype] of cases) {
    const [g, c] = await readBoth(b.fill(5, value, dtype), cpu.fill(5, value, dtype), dtype, 5);
    assertUlp(g, c, `fill(${value}, ${dtype})`);
  }
  assert.deepEqual(await b.read(b.fill(0, 1, "float32"), "float32", 0), new Float32Array(0));
});

// ---------------------------------------------------------------- unary

const FLOAT_UNARY: readonly (readonly [UnaryOp, number, number?])[] = [
  ["neg", 0],
  ["abs", 0],
  ["sign", 0],
  ["square", 0],
  ["floor", 0],
  ["ceil", 0],
  ["round", 0],
  ["sqrt", 5], // exact on llvmpipe; WGSL allows the error of 1/inverseSqrt(x)
  ["exp", 4],
  ["log", 4],
  ["log1p", 4],
  ["expm1", 4],
  ["tanh", 4],
  ["sin", 4, 2 ** -24],
  ["cos", 4, 2 ** -24],
];

gpuTest("unary float32 ops match the CPU (random, tiny and special values)", async (b) => {
  const rng = lcg(2);
  const n = 600;
  const x = randomArray("float32", n, rng, true) as Float32Array;
  // tiny magnitudes (log1p/expm1/tanh near 0), |x| > 1 for log, large for exp/tanh overflow
  for (let i = 0; i < 100; i++) x[i] = (rng() * 2 - 1) * 10 ** (-12 + 12 * rng());
  x.set([1e-30, -1e-30, 89, -104, 30, -30, 100, -100, -0.9999999, 0.4142, -0.2929, 0.3], 100);
  for (const [op, maxUlp, atol = 0] of FLOAT_UNARY) {
    const xin = op === "log" || op === "sqrt" ? x.map(Math.abs) : x;
    const [gx, cx] = both(xin, "float32");
    const [g, c] = await readBoth(
      b.unary({ op, x: gx, size: n, dtype: "float32" }),
      cpu.unary({ op, x: cx, size: n, dtype: "float32" }),
      "float32",
      n,
    );
    assertUlp(g, c, `${op}(float32)`, maxUlp, atol, [xin]);
  }
  // the domain errors, with NaN and infinities
  const edge = new Float32Array([-1, -0.5, 0, -0, Infinity, -Infinity, NaN, -2, -1e-30]);
  for (const op of ["log", "log1p", "sqrt"] as const) {
    const [gx, cx] = both(edge, "float32");
    const m = edge.length;
    const [g, c] = await readBoth(
      b.unary({ op, x: gx, size: m, dtype: "float32" }),
      cpu.unary({ op, x: cx, size: m, dtype: "float32" }),
      "float32",
      m,
    );
    assertUlp(g, c, `${op}(edge)`, 4, 0, [edge]);
  }
});

gpuTest("round is half-to-even; sign(NaN) is NaN", async (b) => {
  const x = new Float32Array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 1e7 + 1, 0.49999997, NaN]);
  const r = await b.read(
    b.unary({ op: "round", x: b.upload(x.slice(), "float32"), size: 10, dtype: "float32" }),
    "float32",
    10,
  );
  assertUlp(r, [0, 2, 2, -0, -2, -2, 4, 1e7 + 1, 0, NaN], "round");
  const s = await b.read(
    b.unary({ op: "sign", x: b.upload(x.slice(), "float32"), size: 10, dtype: "float32" }),
    "float32",
    10,
  );
  assertUlp(s, [1, 1, 1, -1, -1, -1, 1, 1, 1, NaN], "sign");
});

gpuTest("unary int32 ops wrap like the CPU; not on bool", async (b) => {
  const rng = lcg(3);
  const n = 200;
  const x = randomArray("int32", n, rng, true);
  for (const op of ["neg", "abs", "sign", "square"] as const) {
    const [gx, cx] = both(x, "int32");
    const [g, c] = await readBoth(
      b.unary({ op, x: gx, size: n, dtype: "int32" }),
      cpu.unary({ op, x: cx, size: n, dtype: "int32" }),
      "int32",
      n,
    );
    assert.deepEqual(g, c, `${op}(int32)`);
  }
  const m = randomArray("bool", n, rng);
  const [gm, cm] = both(m, "bool");
  const [g, c] = await readBoth(
    b.unary({ op: "logicalNot", x: gm, size: n, dtype: "bool" }),
    cpu.unary({ op: "logicalNot", x: cm, size: n, dtype: "bool" }),
    "bool",
    n,
  );
  assert.deepEqual(g, c, "not(bool)");
  assert.throws(
    () => b.unary({ op: "exp", x: gx0(b), size: 1, dtype: "int32" }),
    /exp\(\): dtype int32 is not supported/,
  );
});

function gx0(b: WebGpuBackend): DataHandle {
  return b.upload(new Int32Array([1]), "int32");
}

// ---------------------------------------------------------------- binary

const ARITH: readonly BinaryOp[] = ["add", "sub", "mul", "div", "pow", "maximum", "minimum"];
const COMPARE: readonly BinaryOp[] = [...COMPARISONS];

/** Runs one binary op on both backends over broadcast shapes and compares. */
async function checkBinary(
  op: BinaryOp,
  dtype: DType,
  aShape: readonly number[],
  bShape: readonly number[],
  outShape: readonly number[],
  seed: number,
  specials: boolean,
): Promise<void> {
  const rng = lcg(seed);
  const a = randomArray(dtype, sizeOf(aShape), rng, specials);
  const bv = randomArray(dtype, sizeOf(bShape), rng, specials);
  const as = broadcastStrides(aShape, outShape), bs = broadcastStrides(bShape, outShape);
  const [ga, ca] = both(a, dtype);
  const [gb, cb] = both(bv, dtype);
  const outDtype = COMPARE.includes(op) ? "bool" : dtype;
  const size = sizeOf(outShape);
  const [g, c] = await readBoth(
    gpu!.binary({ op, a: ga, aStrides: as, b: gb, bStrides: bs, outShape, dtype }),
    cpu.binary({ op, a: ca, aStrides: as, b: cb, bStrides: bs, outShape, dtype }),
    outDtype,
    size,
  );
  // the inputs of each output element, for messages
  const ia = new Float64Array(size), ib = new Float64Array(size);
  const idx = new Array<number>(outShape.length).fill(0);
  for (let i = 0; i < size; i++) {
    ia[i] = a[idx.reduce((s, v, d) => s + v * as[d], 0)];
    ib[i] = bv[idx.reduce((s, v, d) => s + v * bs[d], 0)];
    for (let d = outShape.length - 1; d >= 0 && ++idx[d] === outShape[d]; d--) idx[d] = 0;
  }
  // pow(a, b) = exp(b·log a) loses about |b·log a| ulp; every other op is exact
  // and WGSL lets adapters divide within 2.5 ulp (llvmpipe is exact)
  const tol = dtype !== "float32"
    ? 0
    : op === "pow"
    ? (i: number) => 2 + 2 * Math.abs(ib[i] * Math.log(Math.abs(ia[i])))
    : op === "div"
    ? 3
    : 0;
  assertUlp(g, c, `${op}(${dtype}) ${JSON.stringify([aShape, bShape])}`, tol, 0, [ia, ib]);
}

gpuTest("binary float32 ops with broadcasting, NaN, ±0 and infinities", async () => {
  for (const op of [...ARITH, ...COMPARE]) {
    await checkBinary(op, "float32", [3, 1, 4], [5, 1], [3, 5, 4], 10, true);
  }
  // pow on a wider, special-free grid: negative bases with integer exponents, fractional ones
  await checkBinary("pow", "float32", [40, 1], [1, 30], [40, 30], 11, false);
});

gpuTest("binary int32 ops wrap like the CPU", async () => {
  for (const op of ["add", "sub", "mul", "maximum", "minimum", ...COMPARE] as const) {
    await checkBinary(op, "int32", [2, 3, 1, 5], [3, 4, 1], [2, 3, 4, 5], 20, true);
  }
  await checkBinary("pow", "int32", [19, 1], [1, 19], [19, 19], 21, false);
  // the full int32 pow grid [-9, 9]²
  const a = new Int32Array(19 * 19), e = new Int32Array(19 * 19);
  for (let i = 0; i < 19 * 19; i++) [a[i], e[i]] = [Math.floor(i / 19) - 9, (i % 19) - 9];
  const [ga, ca] = both(a, "int32");
  const [ge, ce] = both(e, "int32");
  const [g, c] = await readBoth(
    gpu!.binary({
      op: "pow",
      a: ga,
      aStrides: [1],
      b: ge,
      bStrides: [1],
      outShape: [361],
      dtype: "int32",
    }),
    cpu.binary({
      op: "pow",
      a: ca,
      aStrides: [1],
      b: ce,
      bStrides: [1],
      outShape: [361],
      dtype: "int32",
    }),
    "int32",
    361,
  );
  assert.deepEqual(g, c, "pow(int32) grid");
});

gpuTest("binary bool ops: and, or, comparisons", async () => {
  for (const op of ["logicalAnd", "logicalOr", ...COMPARE] as const) {
    await checkBinary(op, "bool", [4, 1], [1, 6], [4, 6], 30, false);
  }
  assert.throws(
    () =>
      gpu!.binary({
        op: "logicalAnd",
        a: gx0(gpu!),
        aStrides: [0],
        b: gx0(gpu!),
        bStrides: [0],
        outShape: [1],
        dtype: "int32",
      }),
    /logicalAnd\(\): dtype int32 is not supported/,
  );
});

gpuTest("binary on a scalar, on rank 0 and on more than 8 axes of size 1", async () => {
  await checkBinary("add", "float32", [], [], [], 40, false);
  await checkBinary("mul", "float32", [7], [], [7], 41, false);
  const shape = [1, 2, 1, 3, 1, 1, 2, 1, 1, 2];
  await checkBinary("sub", "float32", shape, [2], shape, 42, false);
});

// ---------------------------------------------------------------- where, cast

gpuTest("where broadcasts the condition and both branches", async () => {
  const rng = lcg(50);
  for (const dtype of ["float32", "int32", "bool"] as const) {
    const cShape = [4, 1, 3], aShape = [5, 1], bShape = [2, 1, 1, 1], outShape = [2, 4, 5, 3];
    const cond = randomArray("bool", sizeOf(cShape), rng);
    const a = randomArray(dtype, sizeOf(aShape), rng, true);
    const bv = randomArray(dtype, sizeOf(bShape), rng, true);
    const st = [cShape, aShape, bShape].map((s) => broadcastStrides(s, outShape));
    const [gc, cc] = both(cond, "bool");
    const [ga, ca] = both(a, dtype);
    const [gb, cb] = both(bv, dtype);
    const [g, c] = await readBoth(
      gpu!.where({
        cond: gc,
        condStrides: st[0],
        a: ga,
        aStrides: st[1],
        b: gb,
        bStrides: st[2],
        outShape,
        dtype,
      }),
      cpu.where({
        cond: cc,
        condStrides: st[0],
        a: ca,
        aStrides: st[1],
        b: cb,
        bStrides: st[2],
        outShape,
        dtype,
      }),
      dtype,
      sizeOf(outShape),
    );
    assertUlp(g, c, `where(${dtype})`);
  }
});

gpuTest("cast between every pair of dtypes like the CPU", async (b) => {
  const rng = lcg(60);
  const floats = randomArray("float32", 100, rng, true);
  floats.set([3e9, -3e9, 1e20, -1e20, 2147483648, -2147483648, 2147483520, 16777217, -0.9, 0.9]);
  const ints = randomArray("int32", 100, rng, true);
  ints.set([16777217, -16777217, 2147483647, 2147483583]);
  const bools = randomArray("bool", 100, rng);
  const inputs = { float32: floats, int32: ints, bool: bools } as const;
  for (const from of ["float32", "int32", "bool"] as const) {
    for (const to of ["float32", "int32", "bool"] as const) {
      const [gx, cx] = both(inputs[from], from);
      const [g, c] = await readBoth(
        b.cast({ x: gx, size: 100, from, to }),
        cpu.cast({ x: cx, size: 100, from, to }),
        to,
        100,
      );
      assertUlp(g, c, `cast ${from} → ${to}`, 0, 0, [inputs[from]]);
    }
  }
});

// ---------------------------------------------------------------- movement

gpuTest("strided: transpose, broadcast, reversed and offset slices", async () => {
  const rng = lcg(70);
  const x = randomArray("float32", 120, rng);
  const cases: [number, number[], number[]][] = [
    [0, [1, 4, 20], [4, 5, 6]], // a transpose of [6, 5, 4] … as strides
    [0, [0, 1, 0], [3, 120, 2]], // broadcast
    [119, [-1], [120]], // reversed
    [110, [-20, 2], [5, 4]], // reversed rows, every other column
    [7, [1], [50]], // contiguous window (a copy)
    [3, [0, 0], [2, 2]], // one element everywhere
    [0, [60, 30, 15, 5, 1], [2, 2, 2, 3, 5]], // contiguous 5-d (merges to one axis)
    [0, [1, 2, 4, 8, 16, 32, 64, 0], [2, 2, 2, 2, 2, 1, 1, 3]], // rank 8
    [0, [1], [0]], // empty
  ];
  for (const dtype of ["float32", "int32", "bool"] as const) {
    const xs = dtype === "float32" ? x : randomArray(dtype, 120, rng, true);
    for (const [offset, strides, shape] of cases) {
      const [gx, cx] = both(xs, dtype);
      const [g, c] = await readBoth(
        gpu!.strided({ x: gx, offset, strides, outShape: shape, dtype }),
        cpu.strided({ x: cx, offset, strides, outShape: shape, dtype }),
        dtype,
        sizeOf(shape),
      );
      assertUlp(g, c, `strided(${dtype}) ${JSON.stringify([offset, strides, shape])}`);
    }
  }
  const tooDeep = Array.from({ length: 9 }, (_, d) => 2 ** d); // axes that never merge
  assert.throws(
    () =>
      gpu!.strided({
        x: gpu!.fill(1024, 0, "float32"),
        offset: 0,
        strides: tooDeep,
        outShape: new Array(9).fill(2),
        dtype: "float32",
      }),
    /at most 8 non-mergeable axes/,
  );
});

gpuTest("scatterStrided writes slices into zeros (the gradient of a slice)", async () => {
  const rng = lcg(80);
  const cases: [number[], number, number[], number][] = [
    [[2, 3], 5, [10, 2], 30], // rows 0-1 from 5, every other column
    [[4], 11, [-2], 12], // reversed, step -2
    [[3, 2], 0, [1, 3], 6], // a transpose
    [[6], 2, [1], 10], // contiguous
    [[0, 3], 0, [3, 1], 4], // nothing to write
  ];
  for (const dtype of ["float32", "int32", "bool"] as const) {
    for (const [shape, offset, strides, outSize] of cases) {
      const x = randomArray(dtype, sizeOf(shape), rng, true);
      const [gx, cx] = both(x, dtype);
      // fill the pool with non-zero garbage of the output's size class first
      gpu!.dispose(gpu!.fill(outSize, 7, dtype));
      const [g, c] = await readBoth(
        gpu!.scatterStrided({ x: gx, xShape: shape, offset, strides, outSize, dtype }),
        cpu.scatterStrided({ x: cx, xShape: shape, offset, strides, outSize, dtype }),
        dtype,
        outSize,
      );
      assertUlp(g, c, `scatterStrided(${dtype}) ${JSON.stringify([shape, offset, strides])}`);
    }
  }
});

gpuTest("concat joins columns of several inputs", async () => {
  const rng = lcg(90);
  const cases: [number[], number][] = [[[2, 3, 1], 4], [[5, 0, 2], 3], [[4, 4], 1], [[3], 2]];
  for (const dtype of ["float32", "int32", "bool"] as const) {
    for (const [cols, outer] of cases) {
      const xs = cols.map((c) => randomArray(dtype, outer * c, rng, true));
      const gs = xs.map((x) => gpu!.upload(x.slice(), dtype));
      const cs = xs.map((x) => cpu.upload(x.slice(), dtype));
      const total = cols.reduce((s, c) => s + c, 0);
      const [g, c] = await readBoth(
        gpu!.concat({ xs: gs, cols, outer, dtype }),
        cpu.concat({ xs: cs, cols, outer, dtype }),
        dtype,
        outer * total,
      );
      assertUlp(g, c, `concat(${dtype}) ${JSON.stringify([cols, outer])}`);
    }
  }
});

// ---------------------------------------------------------------- kernels from the other modules

gpuTest("reduce, matmul, gather, scatterAdd, random and argsort are wired in", async (b) => {
  const rng = lcg(100);
  const x = randomArray("float32", 24, rng);
  const [gx, cx] = both(x, "float32");
  let [g, c] = await readBoth(
    b.reduce({ op: "sum", x: gx, outer: 2, n: 3, inner: 4, dtype: "float32" }),
    cpu.reduce({ op: "sum", x: cx, outer: 2, n: 3, inner: 4, dtype: "float32" }),
    "float32",
    8,
  );
  assertUlp(g, c, "reduce sum", 4);
  const spec = { batchShape: [], aBatchStrides: [], bBatchStrides: [], m: 2, k: 3, n: 4 };
  const [gy, cy] = both(x.slice(0, 12), "float32");
  [g, c] = await readBoth(
    b.matmul(gx, gy, spec, "float32"),
    cpu.matmul(cx, cy, spec, "float32"),
    "float32",
    8,
  );
  assertUlp(g, c, "matmul", 4);
  const [gi, ci] = both(new Int32Array([2, -1, 0]), "int32");
  [g, c] = await readBoth(
    b.gather({ x: gx, indices: gi, outer: 2, n: 3, inner: 4, count: 3, dtype: "float32" }),
    cpu.gather({ x: cx, indices: ci, outer: 2, n: 3, inner: 4, count: 3, dtype: "float32" }),
    "float32",
    24,
  );
  assertUlp(g, c, "gather");
  [g, c] = await readBoth(
    b.scatterAdd({ g: gx, indices: gi, outer: 2, n: 3, inner: 4, count: 3, dtype: "float32" }),
    cpu.scatterAdd({ g: cx, indices: ci, outer: 2, n: 3, inner: 4, count: 3, dtype: "float32" }),
    "float32",
    24,
  );
  assertUlp(g, c, "scatterAdd", 1);
  const [gk, ck] = both(new Int32Array([7, -3]), "int32");
  [g, c] = await readBoth(b.randomBits(gk, 9), cpu.randomBits(ck, 9), "int32", 9);
  assert.deepEqual(g, c, "randomBits");
  [g, c] = await readBoth(
    b.randomUniform({ key: gk, count: 9, dtype: "float32" }),
    cpu.randomUniform({ key: ck, count: 9, dtype: "float32" }),
    "float32",
    9,
  );
  assert.deepEqual(g, c, "randomUniform");
  [g, c] = await readBoth(
    b.argsort({ x: gx, outer: 4, n: 6, dtype: "float32" }),
    cpu.argsort({ x: cx, outer: 4, n: 6, dtype: "float32" }),
    "int32",
    24,
  );
  assert.deepEqual(g, c, "argsort");
});

// ---------------------------------------------------------------- buffer lifetime

gpuTest("shared handles are refcounted: the buffer outlives all but its last owner", async (b) => {
  const h = b.upload(new Float32Array([1, 2, 3, 4, 5, 6]), "float32") as GpuHandle;
  const t = makeTensor(b, h, [2, 3], "float32");
  const r = reshape(t, [3, 2]); // shares t's buffer
  assert.equal(r._data, h);
  assert.equal(h.refs, 2);
  t.dispose();
  t.dispose(); // a second dispose is a no-op
  assert.equal(h.refs, 1);
  assert.equal(h.released, false);
  assert.deepEqual(await r.data(), new Float32Array([1, 2, 3, 4, 5, 6]));
  await assert.rejects(t.data(), /disposed/);
  r.dispose();
  assert.equal(h.refs, 0);
  assert.equal(h.released, true);
  await assert.rejects(b.read(h, "float32", 6), /already disposed/);
});

gpuTest("dispose returns buffers to the pool; untracked handles are released directly", (b) => {
  const h = b.fill(1000, 1, "float32") as GpuHandle;
  b.dispose(h); // nobody tracked it
  assert.equal(h.released, true);
  const again = b.fill(1000, 2, "float32") as GpuHandle;
  assert.equal(again.segs[0], h.segs[0], "the pooled buffer is reused");
  const t = makeTensor(b, again, [1000], "float32");
  b.dispose(again); // owned by a tensor: left to the tensor
  assert.equal(again.released, false);
  t.dispose();
  assert.equal(again.released, true);
  assert.throws(
    () => b.unary({ op: "neg", x: again, size: 1000, dtype: "float32" }),
    /already disposed/,
  );
});

gpuTest(
  "garbage-collected tensors release their buffers (needs --v8-flags=--expose-gc)",
  async (b) => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) return; // only meaningful with an exposed collector
    const h = b.fill(64, 1, "float32") as GpuHandle;
    (() => {
      const t = makeTensor(b, h, [64], "float32");
      makeTensor(b, h, [8, 8], "float32");
      assert.equal(t.size, 64);
    })();
    assert.equal(h.refs, 2);
    for (let i = 0; i < 20 && !h.released; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(h.refs, 0);
    assert.equal(h.released, true);
    // a handle no tensor ever owned goes back to the pool when it is collected
    let buffer: GPUBuffer | null = null;
    (() => {
      buffer = (b.fill(3000, 1, "float32") as GpuHandle).segs[0];
    })();
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal((b.fill(3000, 2, "float32") as GpuHandle).segs[0], buffer);
  },
);

// ---------------------------------------------------------------- through the ops layer

gpuTest("ops run end to end on the webgpu backend", async () => {
  registerBackend("webgpu-test", webgpuBackend); // the registry also knows "webgpu" by itself
  await setBackend("webgpu-test");
  try {
    const x = tensor([[1, -2, 3], [4, 5, -6]]);
    assert.equal(x.backend, "webgpu");
    assert.throws(() => x.dataSync(), /cannot read values synchronously/);
    // Not NaN (the printed text of a tensor that cannot be printed): an error naming item().
    assert.throws(
      () => Number(tensor(2)),
      /^TypeError: Number\(\): the webgpu backend cannot read values synchronously; use await t\.item\(\)/,
    );
    const y = add(mul(transpose(x), 2), 1); // [[3, 9], [-3, 11], [7, -11]]
    assert.deepEqual(await y.array(), [[3, 9], [-3, 11], [7, -11]]);
    const m = greater(y, 0);
    assert.deepEqual(await m.array(), [[1, 1], [0, 1], [1, 0]]);
    assert.deepEqual(await where(m, y, 0).array(), [[3, 9], [0, 11], [7, 0]]);
    assert.deepEqual(await cast(y, "int32").array(), [[3, 9], [-3, 11], [7, -11]]);
    assert.deepEqual(await concat([x, x], 1).array(), [[1, -2, 3, 1, -2, 3], [4, 5, -6, 4, 5, -6]]);
    assert.deepEqual(await slice(x, [0, 2], [2, 0], [1, -1]).array(), [[3, -2], [-6, 5]]);
    assertUlp(await exp(tensor([0, 1])).data(), [1, Math.fround(Math.E)], "exp", 1);
    assert.match(x.toString(), /backend=webgpu/);
  } finally {
    await setBackend("cpu");
  }
});

gpuTest("webgpuBackend() says what is missing without navigator.gpu", async () => {
  const desc = Object.getOwnPropertyDescriptor(globalThis, "navigator");
  if (desc === undefined || !desc.configurable) return;
  Object.defineProperty(globalThis, "navigator", { value: {}, configurable: true });
  try {
    await assert.rejects(webgpuBackend(), /WebGPU is unavailable \(navigator\.gpu is missing\)/);
  } finally {
    Object.defineProperty(globalThis, "navigator", desc);
  }
  assert.ok(await webgpuBackend() instanceof WebGpuBackend);
});
