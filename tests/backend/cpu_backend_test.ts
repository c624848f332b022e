import assert from "node:assert/strict";
import { CpuBackend } from "../../src/backend/cpu/cpu_backend.ts";
import { randomBitsInto, threefry2x32 } from "../../src/backend/cpu/threefry.ts";
import {
  type BinaryOp,
  COMPARISONS,
  type MatmulSpec,
  type ReduceOp,
  UNARY_OPS,
  type UnaryOp,
} from "../../src/backend/backend.ts";
import { erf, erfc } from "../../src/backend/cpu/erf.ts";
import { allocArray, type DType, type TypedArray } from "../../src/core/dtype.ts";
import { broadcastStrides, sizeOf } from "../../src/core/shape.ts";
import { lcg, randomArray } from "../_helpers.ts";

const cpu = new CpuBackend();

// ---------------------------------------------------------------- helpers

/** Every multi-index of `shape` in row-major order. */
function allIndices(shape: readonly number[]): number[][] {
  let out: number[][] = [[]];
  for (const len of shape) {
    const next: number[][] = [];
    for (const prefix of out) for (let i = 0; i < len; i++) next.push([...prefix, i]);
    out = next;
  }
  return out;
}

function at(idx: readonly number[], strides: readonly number[], offset = 0): number {
  let p = offset;
  for (let d = 0; d < idx.length; d++) p += idx[d] * strides[d];
  return p;
}

function same(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/** Same array type, same length, elementwise equal (NaN equals NaN, ±0 equal). */
function assertArrayEqual(actual: unknown, expected: TypedArray, msg = ""): void {
  assert.ok(
    actual instanceof expected.constructor,
    `${msg}: expected a ${expected.constructor.name}, got ${
      String((actual as object)?.constructor?.name)
    }`,
  );
  const a = actual as TypedArray;
  assert.equal(a.length, expected.length, `${msg}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!same(a[i], expected[i])) {
      assert.fail(`${msg}: index ${i}: got ${a[i]}, expected ${expected[i]}`);
    }
  }
}

/** Same array type and length, `|actual - expected| <= tol[i]`. */
function assertArrayClose(
  actual: unknown,
  expected: TypedArray,
  tol: ArrayLike<number>,
  msg = "",
): void {
  assert.ok(actual instanceof expected.constructor, `${msg}: array type`);
  const a = actual as TypedArray;
  assert.equal(a.length, expected.length, `${msg}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - expected[i]) <= tol[i])) {
      assert.fail(`${msg}: index ${i}: got ${a[i]}, expected ${expected[i]} ± ${tol[i]}`);
    }
  }
}

const FLOATS: readonly DType[] = ["float32", "float64"];
const NUMERIC: readonly DType[] = ["float32", "float64", "int32"];
const ALL: readonly DType[] = ["float32", "float64", "int32", "bool"];

// ---------------------------------------------------------------- references

function refUnary(op: UnaryOp, x: number, dtype: DType): number {
  const int = dtype === "int32";
  switch (op) {
    case "neg":
      return int ? -x | 0 : -x;
    case "exp":
      return Math.exp(x);
    case "log":
      return Math.log(x);
    case "log1p":
      return Math.log1p(x);
    case "expm1":
      return Math.expm1(x);
    case "sqrt":
      return Math.sqrt(x);
    case "sin":
      return Math.sin(x);
    case "cos":
      return Math.cos(x);
    case "tanh":
      return Math.tanh(x);
    case "sigmoid":
      return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    case "erf": // the kernel's own algorithm; tests/ops/erf_test.ts checks it against mpmath
      return erf(x);
    case "erfc":
      return erfc(x);
    case "abs":
      return int ? Math.abs(x) | 0 : Math.abs(x);
    case "sign":
      return x !== x ? NaN : x > 0 ? 1 : x < 0 ? -1 : 0;
    case "square":
      return int ? Math.imul(x, x) : x * x;
    case "floor":
      return Math.floor(x);
    case "ceil":
      return Math.ceil(x);
    case "round": {
      const f = Math.floor(x), d = x - f;
      return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
    }
    case "logicalNot":
      return x ? 0 : 1;
  }
}

function refBinary(op: BinaryOp, a: number, b: number, dtype: DType): number {
  const int = dtype === "int32";
  switch (op) {
    case "add":
      return int ? (a + b) | 0 : a + b;
    case "sub":
      return int ? (a - b) | 0 : a - b;
    case "mul":
      return int ? Math.imul(a, b) : a * b;
    case "div":
      return a / b;
    case "pow":
      return int ? Math.pow(a, b) | 0 : Math.pow(a, b);
    case "maximum":
      return a !== a || b !== b ? NaN : a >= b ? a : b;
    case "minimum":
      return a !== a || b !== b ? NaN : a <= b ? a : b;
    case "equal":
      return a === b ? 1 : 0;
    case "notEqual":
      return a === b ? 0 : 1;
    case "greater":
      return a > b ? 1 : 0;
    case "greaterEqual":
      return a >= b ? 1 : 0;
    case "less":
      return a < b ? 1 : 0;
    case "lessEqual":
      return a <= b ? 1 : 0;
    case "logicalAnd":
      return a && b ? 1 : 0;
    case "logicalOr":
      return a || b ? 1 : 0;
  }
}

const ARITH: readonly BinaryOp[] = ["add", "sub", "mul", "div", "pow", "maximum", "minimum"];
const COMPARE: readonly BinaryOp[] = [...COMPARISONS];

/** The (op, dtype) pairs the ops layer may send to `binary`. */
function binaryCases(): [BinaryOp, DType][] {
  const out: [BinaryOp, DType][] = [];
  for (const dtype of NUMERIC) {
    for (const op of ARITH) if (!(op === "div" && dtype === "int32")) out.push([op, dtype]);
  }
  for (const dtype of ALL) for (const op of COMPARE) out.push([op, dtype]);
  out.push(["logicalAnd", "bool"], ["logicalOr", "bool"]);
  return out;
}

function refStrided(
  x: TypedArray,
  offset: number,
  strides: readonly number[],
  outShape: readonly number[],
  dtype: DType,
): TypedArray {
  const out = allocArray(dtype, sizeOf(outShape));
  allIndices(outShape).forEach((idx, i) => (out[i] = x[at(idx, strides, offset)]));
  return out;
}

// ---------------------------------------------------------------- basics

Deno.test("cpu: metadata", () => {
  assert.equal(cpu.name, "cpu");
  assert.deepEqual([...cpu.dtypes], ["float32", "float64", "int32", "bool"]);
  assert.equal(cpu.canReadSync, true);
});

Deno.test("cpu: upload keeps the array; read/readSync return fresh copies", async () => {
  const values = new Float32Array([1, 2, 3]);
  const h = cpu.upload(values, "float32");
  assert.equal(h, values);
  const r1 = cpu.readSync(h, "float32", 3);
  assert.notEqual(r1, values);
  assertArrayEqual(r1, new Float32Array([1, 2, 3]), "readSync");
  r1[0] = 99;
  const r2 = await cpu.read(h, "float32", 3);
  assert.notEqual(r2, values);
  assertArrayEqual(r2, new Float32Array([1, 2, 3]), "read");
  cpu.dispose(h);
});

Deno.test("cpu: fill casts the value to the dtype", () => {
  assertArrayEqual(cpu.fill(3, 1.5, "float32"), new Float32Array([1.5, 1.5, 1.5]), "f32");
  assertArrayEqual(cpu.fill(2, 0.1, "float64"), new Float64Array([0.1, 0.1]), "f64");
  assertArrayEqual(cpu.fill(2, -2.7, "int32"), new Int32Array([-2, -2]), "i32");
  assertArrayEqual(cpu.fill(1, 3e9, "int32"), new Int32Array([2147483647]), "i32 saturates");
  assertArrayEqual(cpu.fill(1, -3e9, "int32"), new Int32Array([-2147483648]), "i32 saturates");
  assertArrayEqual(cpu.fill(1, NaN, "int32"), new Int32Array([0]), "i32 NaN");
  assertArrayEqual(cpu.fill(2, 0.5, "bool"), new Uint8Array([1, 1]), "bool");
  assertArrayEqual(cpu.fill(2, NaN, "bool"), new Uint8Array([1, 1]), "bool NaN");
  assertArrayEqual(cpu.fill(2, 0, "bool"), new Uint8Array([0, 0]), "bool 0");
  assertArrayEqual(cpu.fill(0, 1, "float32"), new Float32Array(0), "empty");
});

// ---------------------------------------------------------------- unary

Deno.test("cpu: unary ops match references on random data", () => {
  const rng = lcg(1);
  const floatOps = UNARY_OPS.filter((op) => op !== "logicalNot"); // every float opcode
  for (const dtype of FLOATS) {
    const x = randomArray(dtype, 257, rng);
    x[0] = NaN;
    x[1] = 0;
    x[2] = 2.5;
    x[3] = -0.5;
    for (const op of floatOps) {
      const expected = allocArray(dtype, x.length);
      x.forEach((v, i) => (expected[i] = refUnary(op, v, dtype)));
      assertArrayEqual(cpu.unary({ op, x, size: x.length, dtype }), expected, `${op} ${dtype}`);
    }
  }
  const xi = new Int32Array([0, 1, -1, 7, -9, 46341, 2147483647, -2147483648]);
  for (const op of ["neg", "abs", "sign", "square"] as UnaryOp[]) {
    const expected = allocArray("int32", xi.length);
    xi.forEach((v, i) => (expected[i] = refUnary(op, v, "int32")));
    assertArrayEqual(
      cpu.unary({ op, x: xi, size: xi.length, dtype: "int32" }),
      expected,
      `${op} int32`,
    );
  }
  assertArrayEqual(
    cpu.unary({ op: "logicalNot", x: new Uint8Array([0, 1, 1, 0]), size: 4, dtype: "bool" }),
    new Uint8Array([1, 0, 0, 1]),
    "logicalNot",
  );
});

Deno.test("cpu: unary edge cases (round half to even, sign, int wrap)", () => {
  const x = new Float64Array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6, 1e300, NaN]);
  assertArrayEqual(
    cpu.unary({ op: "round", x, size: x.length, dtype: "float64" }),
    new Float64Array([0, 2, 2, -0, -2, -2, 2, 3, -3, 1e300, NaN]),
    "round",
  );
  const s = cpu.unary({
    op: "sign",
    x: new Float32Array([0, -3, 2, NaN]),
    size: 4,
    dtype: "float32",
  }) as Float32Array;
  assert.ok(Object.is(s[0], 0));
  assert.deepEqual([s[1], s[2]], [-1, 1]);
  assert.ok(Number.isNaN(s[3]));
  assertArrayEqual(
    cpu.unary({ op: "neg", x: new Int32Array([-2147483648]), size: 1, dtype: "int32" }),
    new Int32Array([-2147483648]),
    "neg wraps",
  );
  assertArrayEqual(
    cpu.unary({ op: "square", x: new Int32Array([65536]), size: 1, dtype: "int32" }),
    new Int32Array([0]),
    "square wraps",
  );
  assertArrayEqual(
    cpu.unary({ op: "exp", x: new Float32Array(0), size: 0, dtype: "float32" }),
    new Float32Array(0),
    "empty",
  );
});

// ---------------------------------------------------------------- binary

/** Broadcasting layouts: [outShape, aShape, bShape]. */
const LAYOUTS: [string, number[], number[], number[]][] = [
  ["same shape", [3, 4], [3, 4], [3, 4]],
  ["scalar b", [3, 4], [3, 4], []],
  ["scalar a", [3, 4], [], [3, 4]],
  ["broadcast row", [3, 4], [3, 4], [4]],
  ["broadcast col", [3, 4], [3, 4], [3, 1]],
  ["outer", [3, 4], [3, 1], [1, 4]],
  ["0-d", [], [], []],
  ["4-d", [2, 3, 4, 5], [2, 1, 4, 5], [3, 1, 5]],
  ["middle broadcast", [2, 3, 5], [2, 3, 5], [2, 1, 5]],
  ["size-1 axes", [1, 3, 1], [1, 3, 1], [1]],
  ["empty", [0, 3], [0, 3], [3]],
  ["long", [1031], [1031], [1031]],
];

Deno.test("cpu: binary ops on every broadcasting path match references", () => {
  const rng = lcg(2);
  for (const [name, outShape, aShape, bShape] of LAYOUTS) {
    const aStrides = broadcastStrides(aShape, outShape);
    const bStrides = broadcastStrides(bShape, outShape);
    for (const [op, dtype] of binaryCases()) {
      const a = randomArray(dtype, sizeOf(aShape), rng);
      const b = randomArray(dtype, sizeOf(bShape), rng);
      if (dtype !== "bool" && a.length > 2) b[0] = a[0]; // exercise equality
      const outDtype = COMPARE.includes(op) ? "bool" : dtype;
      const expected = allocArray(outDtype, sizeOf(outShape));
      allIndices(outShape).forEach((idx, i) => {
        expected[i] = refBinary(op, a[at(idx, aStrides)], b[at(idx, bStrides)], dtype);
      });
      const got = cpu.binary({ op, a, aStrides, b, bStrides, outShape, dtype });
      assertArrayEqual(got, expected, `${name}: ${op} ${dtype}`);
    }
  }
});

Deno.test("cpu: binary with transposed and zero strides", () => {
  const rng = lcg(3);
  // a is a [4, 3] buffer read as its transpose [3, 4]; b repeats one row of 4.
  for (const dtype of NUMERIC) {
    const a = randomArray(dtype, 12, rng);
    const b = randomArray(dtype, 4, rng);
    const aStrides = [1, 3], bStrides = [0, 1];
    const expected = allocArray(dtype, 12);
    allIndices([3, 4]).forEach((idx, i) => {
      expected[i] = refBinary("sub", a[at(idx, aStrides)], b[at(idx, bStrides)], dtype);
    });
    assertArrayEqual(
      cpu.binary({ op: "sub", a, aStrides, b, bStrides, outShape: [3, 4], dtype }),
      expected,
      dtype,
    );
  }
  // 3-d with a transposed inner pair and a broadcast outer axis.
  const a = randomArray("float64", 20, rng), b = randomArray("float64", 40, rng);
  const shape = [2, 5, 4], aStrides = [0, 1, 5], bStrides = [20, 4, 1];
  const expected = allocArray("float64", 40);
  allIndices(shape).forEach((
    idx,
    i,
  ) => (expected[i] = a[at(idx, aStrides)] * b[at(idx, bStrides)]));
  assertArrayEqual(
    cpu.binary({ op: "mul", a, aStrides, b, bStrides, outShape: shape, dtype: "float64" }),
    expected,
    "3-d",
  );
});

Deno.test("cpu: binary NaN semantics and int32 wraparound", () => {
  const a = new Float32Array([NaN, 1, NaN, 2]);
  const b = new Float32Array([1, NaN, NaN, 2]);
  const run = (op: BinaryOp) =>
    cpu.binary({ op, a, aStrides: [1], b, bStrides: [1], outShape: [4], dtype: "float32" });
  assertArrayEqual(run("maximum"), new Float32Array([NaN, NaN, NaN, 2]), "maximum");
  assertArrayEqual(run("minimum"), new Float32Array([NaN, NaN, NaN, 2]), "minimum");
  assertArrayEqual(run("equal"), new Uint8Array([0, 0, 0, 1]), "equal");
  assertArrayEqual(run("notEqual"), new Uint8Array([1, 1, 1, 0]), "notEqual");
  assertArrayEqual(run("greater"), new Uint8Array([0, 0, 0, 0]), "greater");
  assertArrayEqual(run("greaterEqual"), new Uint8Array([0, 0, 0, 1]), "greaterEqual");
  assertArrayEqual(run("less"), new Uint8Array([0, 0, 0, 0]), "less");
  assertArrayEqual(run("lessEqual"), new Uint8Array([0, 0, 0, 1]), "lessEqual");

  const i = new Int32Array([2147483647, -2147483648, 65536, 2]);
  const j = new Int32Array([1, 1, 65536, 31]);
  const runI = (op: BinaryOp) =>
    cpu.binary({ op, a: i, aStrides: [1], b: j, bStrides: [1], outShape: [4], dtype: "int32" });
  assertArrayEqual(
    runI("add"),
    new Int32Array([-2147483648, -2147483647, 131072, 33]),
    "add wraps",
  );
  assertArrayEqual(runI("sub"), new Int32Array([2147483646, 2147483647, 0, -29]), "sub wraps");
  assertArrayEqual(runI("mul"), new Int32Array([2147483647, -2147483648, 0, 62]), "mul wraps");
  assertArrayEqual(runI("pow"), new Int32Array([2147483647, -2147483648, 0, -2147483648]), "pow");
  assertArrayEqual(
    cpu.binary({
      op: "pow",
      a: new Int32Array([2, 3]),
      aStrides: [1],
      b: new Int32Array([-1, 2]),
      bStrides: [1],
      outShape: [2],
      dtype: "int32",
    }),
    new Int32Array([0, 9]),
    "pow negative exponent truncates",
  );
  // Exact powers modulo 2³² (Math.pow loses low bits past 2⁵³):
  // np.array([3, 3, -3, 7, 1, -1, -1], np.int32) ** np.array([40, 33, 33, 12, -5, -5, -4], ...)
  // for the non-negative exponents; trunc(1/aⁿ) for the negative ones.
  assertArrayEqual(
    cpu.binary({
      op: "pow",
      a: new Int32Array([3, 3, -3, 7, 1, -1, -1]),
      aStrides: [1],
      b: new Int32Array([40, 33, 33, 12, -5, -5, -4]),
      bStrides: [1],
      outShape: [7],
      dtype: "int32",
    }),
    new Int32Array([689956897, -1504003197, 1504003197, 956385313, 1, -1, 1]),
    "pow exact",
  );
});

Deno.test("cpu: binary kernels stay separate per dtype", () => {
  // The same expression text for float32 and float64 must not share a loop.
  const add = (a: TypedArray, b: TypedArray, dtype: DType) =>
    cpu.binary({ op: "add", a, aStrides: [1], b, bStrides: [1], outShape: [1], dtype });
  const f32 = add(new Float32Array([0.1]), new Float32Array([0.2]), "float32");
  const f64 = add(new Float64Array([0.1]), new Float64Array([0.2]), "float64");
  assertArrayEqual(
    f32,
    new Float32Array([Math.fround(Math.fround(0.1) + Math.fround(0.2))]),
    "f32",
  );
  assertArrayEqual(f64, new Float64Array([0.1 + 0.2]), "f64");
});

// ---------------------------------------------------------------- where

Deno.test("cpu: where on every broadcasting path", () => {
  const rng = lcg(4);
  const layouts: [number[], number[], number[], number[]][] = [
    [[3, 4], [3, 4], [3, 4], [3, 4]],
    [[3, 4], [3, 1], [], [3, 4]],
    [[3, 4], [4], [3, 4], []],
    [[], [], [], []],
    [[2, 3, 4, 5], [3, 1, 5], [2, 1, 4, 5], [5]],
    [[0, 2], [2], [0, 2], [2]],
  ];
  for (const [outShape, cShape, aShape, bShape] of layouts) {
    const cs = broadcastStrides(cShape, outShape);
    const as = broadcastStrides(aShape, outShape);
    const bs = broadcastStrides(bShape, outShape);
    for (const dtype of ALL) {
      const c = randomArray("bool", sizeOf(cShape), rng);
      const a = randomArray(dtype, sizeOf(aShape), rng);
      const b = randomArray(dtype, sizeOf(bShape), rng);
      const expected = allocArray(dtype, sizeOf(outShape));
      allIndices(outShape).forEach((idx, i) => {
        expected[i] = c[at(idx, cs)] ? a[at(idx, as)] : b[at(idx, bs)];
      });
      assertArrayEqual(
        cpu.where({ cond: c, condStrides: cs, a, aStrides: as, b, bStrides: bs, outShape, dtype }),
        expected,
        `where ${JSON.stringify(outShape)} ${dtype}`,
      );
    }
  }
});

// ---------------------------------------------------------------- cast

Deno.test("cpu: cast edge cases", () => {
  const src = [NaN, -1.7, -0.5, 0, 0.5, 1.5, 2.9, -3, 0.1];
  const f64 = new Float64Array(src);
  assertArrayEqual(
    cpu.cast({ x: f64, size: 9, from: "float64", to: "int32" }),
    new Int32Array([0, -1, 0, 0, 0, 1, 2, -3, 0]),
    "f64→i32",
  );
  assertArrayEqual(
    cpu.cast({ x: f64, size: 9, from: "float64", to: "bool" }),
    new Uint8Array([1, 1, 1, 0, 1, 1, 1, 1, 1]),
    "f64→bool",
  );
  assertArrayEqual(
    cpu.cast({ x: f64, size: 9, from: "float64", to: "float32" }),
    new Float32Array(src),
    "f64→f32 rounds",
  );
  assert.equal(
    (cpu.cast({ x: f64, size: 9, from: "float64", to: "float32" }) as Float32Array)[8],
    Math.fround(0.1),
  );
  const cast = (x: TypedArray, from: DType, to: DType) => cpu.cast({ x, size: x.length, from, to });
  const f32 = new Float32Array(src);
  assertArrayEqual(cast(f32, "float32", "float64"), new Float64Array(f32), "f32→f64 exact");
  assertArrayEqual(
    cast(f32, "float32", "int32"),
    new Int32Array([0, -1, 0, 0, 0, 1, 2, -3, 0]),
    "f32→i32",
  );
  // Beyond the int32 range: XLA's saturation, never a wrap modulo 2³² (3e9 would wrap to -1294967296).
  const wide = [3e9, -3e9, Infinity, -Infinity, 2147483647.5, -2147483648.5, 2 ** 40, -(2 ** 40)];
  const sat = [2147483647, -2147483648, 2147483647, -2147483648, 2147483647, -2147483648];
  assertArrayEqual(
    cast(new Float64Array(wide), "float64", "int32"),
    new Int32Array([...sat, 2147483647, -2147483648]),
    "f64→i32 saturates",
  );
  assertArrayEqual(
    cast(new Float32Array(wide), "float32", "int32"),
    new Int32Array([...sat, 2147483647, -2147483648]),
    "f32→i32 saturates",
  );
  const b = new Uint8Array([0, 1, 1]);
  assertArrayEqual(cast(b, "bool", "float32"), new Float32Array([0, 1, 1]), "bool→f32");
  assertArrayEqual(cast(b, "bool", "int32"), new Int32Array([0, 1, 1]), "bool→i32");
  const i = new Int32Array([-2, 0, 16777217]);
  assertArrayEqual(cast(i, "int32", "bool"), new Uint8Array([1, 0, 1]), "i32→bool");
  assertArrayEqual(cast(i, "int32", "float32"), new Float32Array([-2, 0, 16777216]), "i32→f32");
  assertArrayEqual(cast(i, "int32", "float64"), new Float64Array([-2, 0, 16777217]), "i32→f64");
  const same = cpu.cast({ x: i, size: 3, from: "int32", to: "int32" });
  assert.notEqual(same, i);
  assertArrayEqual(same, i, "i32→i32 copies");
});

// ---------------------------------------------------------------- reduce

function refReduce(
  op: ReduceOp,
  x: TypedArray,
  outer: number,
  n: number,
  inner: number,
  dtype: DType,
): TypedArray {
  const isArg = op === "argmax" || op === "argmin";
  const outDtype = isArg || (op === "sum" && dtype === "bool") ? "int32" : dtype;
  const out = allocArray(outDtype, outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const vals: number[] = [];
      for (let j = 0; j < n; j++) vals.push(x[(o * n + j) * inner + i]);
      let r: number;
      if (op === "sum") {
        r = 0;
        for (const v of vals) r = dtype === "int32" ? (r + v) | 0 : r + v;
      } else {
        const nanAt = vals.findIndex((v) => Number.isNaN(v));
        const best = op === "max" || op === "argmax" ? Math.max(...vals) : Math.min(...vals);
        if (isArg) r = nanAt >= 0 ? nanAt : vals.indexOf(best);
        else r = best;
      }
      out[o * inner + i] = r;
    }
  }
  return out;
}

Deno.test("cpu: reduce ops match references (inner == 1 and inner > 1)", () => {
  const rng = lcg(5);
  const shapes: [number, number, number][] = [
    [1, 7, 1],
    [3, 5, 1],
    [2, 6, 4],
    [1, 1, 3],
    [4, 1, 1],
    [3, 9, 17],
    [1, 300, 1],
  ];
  const ops: ReduceOp[] = ["sum", "max", "min", "argmax", "argmin"];
  for (const [outer, n, inner] of shapes) {
    for (const dtype of ALL) {
      for (const op of ops) {
        if (dtype === "bool" && op !== "sum") continue;
        const x = randomArray(dtype, outer * n * inner, rng);
        assertArrayEqual(
          cpu.reduce({ op, x, outer, n, inner, dtype }),
          refReduce(op, x, outer, n, inner, dtype),
          `${op} ${dtype} [${outer},${n},${inner}]`,
        );
      }
    }
  }
});

Deno.test("cpu: reduce NaN handling, first index of the extreme, n = 0", () => {
  const x = new Float32Array([1, 3, NaN, 3, NaN, 0]);
  const x2 = new Float32Array([1, 5, 3, 5, NaN, 2, 3, NaN, NaN, 1, 0, 5]); // [6, 2]
  for (const [inner, data] of [[1, x], [2, x2]] as const) {
    const n = 6;
    for (const op of ["max", "min", "argmax", "argmin"] as ReduceOp[]) {
      assertArrayEqual(
        cpu.reduce({ op, x: data, outer: 1, n, inner, dtype: "float32" }),
        refReduce(op, data, 1, n, inner, "float32"),
        `${op} inner=${inner}`,
      );
    }
  }
  assertArrayEqual(
    cpu.reduce({ op: "max", x, outer: 1, n: 6, inner: 1, dtype: "float32" }),
    new Float32Array([NaN]),
    "max NaN",
  );
  assertArrayEqual(
    cpu.reduce({ op: "argmax", x, outer: 1, n: 6, inner: 1, dtype: "float32" }),
    new Int32Array([2]),
    "argmax first NaN",
  );
  assertArrayEqual(
    cpu.reduce({ op: "argmin", x, outer: 1, n: 6, inner: 1, dtype: "float32" }),
    new Int32Array([2]),
    "argmin first NaN",
  );
  const ties = new Float64Array([2, 7, 1, 7, 1]);
  assertArrayEqual(
    cpu.reduce({ op: "argmax", x: ties, outer: 1, n: 5, inner: 1, dtype: "float64" }),
    new Int32Array([1]),
    "argmax first tie",
  );
  assertArrayEqual(
    cpu.reduce({ op: "argmin", x: ties, outer: 1, n: 5, inner: 1, dtype: "float64" }),
    new Int32Array([2]),
    "argmin first tie",
  );
  const cols = new Float64Array([2, 9, 7, 9, 7, 1]); // [3, 2]: columns [2,7,7] and [9,9,1]
  assertArrayEqual(
    cpu.reduce({ op: "argmax", x: cols, outer: 1, n: 3, inner: 2, dtype: "float64" }),
    new Int32Array([1, 0]),
    "argmax cols",
  );
  assertArrayEqual(
    cpu.reduce({ op: "sum", x: new Float32Array(0), outer: 2, n: 0, inner: 3, dtype: "float32" }),
    new Float32Array(6),
    "n=0 sum",
  );
  assertArrayEqual(
    cpu.reduce({ op: "sum", x: new Uint8Array(0), outer: 2, n: 0, inner: 1, dtype: "bool" }),
    new Int32Array(2),
    "n=0 bool sum",
  );
  assertArrayEqual(
    cpu.reduce({
      op: "sum",
      x: new Uint8Array([1, 1, 0, 1, 0, 0]),
      outer: 2,
      n: 3,
      inner: 1,
      dtype: "bool",
    }),
    new Int32Array([2, 1]),
    "bool sum counts",
  );
  assertArrayEqual(
    cpu.reduce({
      op: "sum",
      x: new Int32Array([2147483647, 1, 5]),
      outer: 1,
      n: 3,
      inner: 1,
      dtype: "int32",
    }),
    new Int32Array([-2147483643]),
    "int32 sum wraps",
  );
});

Deno.test("cpu: float32 sum accumulates in double", () => {
  // 1 + 2^-24 added 2^12 times: float32 accumulation would stay at 1.
  const n = 4097;
  for (const inner of [1, 2]) {
    const x = new Float32Array(n * inner).fill(2 ** -24);
    for (let i = 0; i < inner; i++) x[i] = 1;
    const got = cpu.reduce({ op: "sum", x, outer: 1, n, inner, dtype: "float32" }) as Float32Array;
    for (let i = 0; i < inner; i++) {
      assert.equal(got[i], Math.fround(1 + 4096 * 2 ** -24), `inner=${inner}`);
    }
  }
});

// ---------------------------------------------------------------- matmul

function refMatmul(
  a: TypedArray,
  b: TypedArray,
  spec: MatmulSpec,
  dtype: DType,
): [TypedArray, Float64Array] {
  const { batchShape, aBatchStrides, bBatchStrides, m, k, n } = spec;
  const out = allocArray(dtype, sizeOf(batchShape) * m * n);
  const mag = new Float64Array(out.length); // Σ|a·b|, for tolerances
  allIndices(batchShape).forEach((idx, t) => {
    const aO = at(idx, aBatchStrides) * m * k, bO = at(idx, bBatchStrides) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, g = 0;
        for (let p = 0; p < k; p++) {
          const x = a[aO + i * k + p], y = b[bO + p * n + j];
          s = dtype === "int32" ? (s + Math.imul(x, y)) | 0 : s + x * y;
          g += Math.abs(x * y);
        }
        out[t * m * n + i * n + j] = s;
        mag[t * m * n + i * n + j] = g;
      }
    }
  });
  return [out, mag];
}

function checkMatmul(
  spec: MatmulSpec,
  aMats: number,
  bMats: number,
  dtype: DType,
  rng: () => number,
): void {
  const a = randomArray(dtype, aMats * spec.m * spec.k, rng);
  const b = randomArray(dtype, bMats * spec.k * spec.n, rng);
  const [expected, mag] = refMatmul(a, b, spec, dtype);
  const got = cpu.matmul(a, b, spec, dtype);
  const label = `matmul ${dtype} ${JSON.stringify(spec)}`;
  if (dtype === "int32") return assertArrayEqual(got, expected, label);
  const eps = dtype === "float32" ? 2 ** -23 : 2 ** -52;
  const tol = mag.map((g) => 4 * eps * (g + 1e-30));
  assertArrayClose(got, expected, tol, label);
}

const mm = (m: number, k: number, n: number): MatmulSpec => ({
  batchShape: [],
  aBatchStrides: [],
  bBatchStrides: [],
  m,
  k,
  n,
});

Deno.test("cpu: matmul of single matrices matches the naive product", () => {
  const rng = lcg(6);
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [4, 4, 4],
    [37, 53, 29],
    [2, 3, 1],
    [1, 8, 9],
    [5, 300, 7],
    [9, 600, 13],
    [3, 1, 5],
    [8, 16, 12],
  ];
  for (const dtype of NUMERIC) {
    for (const [m, k, n] of shapes) checkMatmul(mm(m, k, n), 1, 1, dtype, rng);
  }
});

Deno.test("cpu: matmul with broadcast batch strides", () => {
  const rng = lcg(7);
  for (const dtype of NUMERIC) {
    // a: [2, 3, m, k]; b: [3, k, n] broadcast over the first batch axis.
    checkMatmul(
      { batchShape: [2, 3], aBatchStrides: [3, 1], bBatchStrides: [0, 1], m: 5, k: 6, n: 7 },
      6,
      3,
      dtype,
      rng,
    );
    // a: [1, m, k] broadcast against b: [4, k, n].
    checkMatmul(
      { batchShape: [4], aBatchStrides: [0], bBatchStrides: [1], m: 3, k: 9, n: 5 },
      1,
      4,
      dtype,
      rng,
    );
    // a: [2, 1, m, k], b: [1, 3, k, n].
    checkMatmul(
      { batchShape: [2, 3], aBatchStrides: [1, 0], bBatchStrides: [0, 1], m: 6, k: 4, n: 8 },
      2,
      3,
      dtype,
      rng,
    );
  }
});

Deno.test("cpu: matmul edge cases (k = 0, empty, int32 overflow)", () => {
  assertArrayEqual(
    cpu.matmul(new Float32Array(0), new Float32Array(0), mm(2, 0, 3), "float32"),
    new Float32Array(6),
    "k=0",
  );
  assertArrayEqual(
    cpu.matmul(new Float32Array(0), new Float32Array(12), mm(0, 4, 3), "float32"),
    new Float32Array(0),
    "m=0",
  );
  const a = new Int32Array([100000, 3]), b = new Int32Array([100000, 7]);
  const expected = new Int32Array([(Math.imul(100000, 100000) + 21) | 0]);
  assertArrayEqual(cpu.matmul(a, b, mm(1, 2, 1), "int32"), expected, "int32 wraps");
});

// ---------------------------------------------------------------- strided / scatterStrided

Deno.test("cpu: strided gathers (transpose, broadcast, negative steps, rank 0)", () => {
  const rng = lcg(8);
  const cases: [string, number, number, number[], number[]][] = [
    // name, buffer size, offset, strides, outShape
    ["transpose", 12, 0, [1, 4], [4, 3]],
    ["broadcast", 3, 0, [0, 1], [2, 3]],
    ["scalar broadcast", 3, 2, [0, 0], [2, 3]],
    ["negative step slice", 10, 9, [-2], [5]],
    ["reverse rows", 12, 8, [-4, 1], [3, 4]],
    ["reverse both", 12, 11, [-4, -1], [3, 4]],
    ["contiguous slice", 10, 3, [1], [4]],
    ["contiguous 2-d block", 24, 4, [4, 1], [3, 4]],
    ["rank 0", 10, 5, [], []],
    ["4-d permutation", 120, 0, [1, 2, 6, 30], [2, 3, 5, 4]],
    ["stepped columns", 20, 1, [5, 2], [4, 2]],
    ["empty", 4, 0, [1, 0], [0, 3]],
  ];
  for (const dtype of ALL) {
    for (const [name, bufSize, offset, strides, outShape] of cases) {
      const x = randomArray(dtype, bufSize, rng);
      const got = cpu.strided({ x, offset, strides, outShape, dtype });
      assert.notEqual(got, x);
      assertArrayEqual(got, refStrided(x, offset, strides, outShape, dtype), `${name} ${dtype}`);
    }
  }
  const x = new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assertArrayEqual(
    cpu.strided({ x, offset: 9, strides: [-2], outShape: [5], dtype: "float32" }),
    new Float32Array([9, 7, 5, 3, 1]),
    "explicit",
  );
  assertArrayEqual(
    cpu.strided({ x, offset: 4, strides: [], outShape: [], dtype: "float32" }),
    new Float32Array([4]),
    "rank 0 explicit",
  );
});

Deno.test("cpu: scatterStrided places values into zeros", () => {
  const rng = lcg(9);
  const cases: [string, number[], number, number[], number][] = [
    // name, xShape, offset, strides, outSize
    ["slice gradient", [2, 2], 6, [5, 2], 20],
    ["negative step", [5], 9, [-2], 10],
    ["contiguous", [4], 3, [1], 10],
    ["rank 0", [], 5, [], 8],
    ["transpose", [4, 3], 0, [1, 4], 12],
    ["3-d", [2, 2, 3], 1, [12, -3, 2], 30],
    ["empty", [0, 2], 0, [2, 1], 4],
  ];
  for (const dtype of ALL) {
    for (const [name, xShape, offset, strides, outSize] of cases) {
      const x = randomArray(dtype, sizeOf(xShape), rng);
      const expected = allocArray(dtype, outSize);
      allIndices(xShape).forEach((idx, i) => (expected[at(idx, strides, offset)] = x[i]));
      assertArrayEqual(
        cpu.scatterStrided({ x, xShape, offset, strides, outSize, dtype }),
        expected,
        `${name} ${dtype}`,
      );
    }
  }
});

// ---------------------------------------------------------------- concat

Deno.test("cpu: concat along columns", () => {
  const rng = lcg(10);
  const layouts: [cols: number[], outer: number][] = [
    [[2, 0, 17], 3],
    [[1, 1], 4],
    [[5, 20], 1],
    [[3], 2],
    [[16, 16, 2], 5],
    [[2, 3], 0],
  ];
  for (const dtype of ALL) {
    for (const [cols, outer] of layouts) {
      const xs = cols.map((c) => randomArray(dtype, outer * c, rng));
      const total = cols.reduce((a, b) => a + b, 0);
      const expected = allocArray(dtype, outer * total);
      for (let o = 0; o < outer; o++) {
        let col = 0;
        xs.forEach((x, i) => {
          for (let j = 0; j < cols[i]; j++) expected[o * total + col + j] = x[o * cols[i] + j];
          col += cols[i];
        });
      }
      assertArrayEqual(
        cpu.concat({ xs, cols, outer, dtype }),
        expected,
        `concat ${JSON.stringify(cols)}×${outer} ${dtype}`,
      );
    }
  }
});

// ---------------------------------------------------------------- gather / scatterAdd

Deno.test("cpu: gather along the middle axis with negative indices", () => {
  const rng = lcg(11);
  for (const dtype of ALL) {
    for (const [outer, n, inner] of [[2, 5, 3], [1, 4, 1], [3, 6, 20]]) {
      const x = randomArray(dtype, outer * n * inner, rng);
      const indices = new Int32Array([0, -1, 2, 2, -n, n - 1]);
      const count = indices.length;
      const expected = allocArray(dtype, outer * count * inner);
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < count; c++) {
          const r = indices[c] < 0 ? indices[c] + n : indices[c];
          for (let i = 0; i < inner; i++) {
            expected[(o * count + c) * inner + i] = x[(o * n + r) * inner + i];
          }
        }
      }
      assertArrayEqual(
        cpu.gather({ x, indices, outer, n, inner, count, dtype }),
        expected,
        `gather ${dtype}`,
      );
    }
  }
});

Deno.test("cpu: gather and scatterAdd reject out-of-range indices", () => {
  const x = new Float32Array(10);
  assert.throws(
    () =>
      cpu.gather({
        x,
        indices: new Int32Array([3, 12]),
        outer: 1,
        n: 10,
        inner: 1,
        count: 2,
        dtype: "float32",
      }),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message === "take(): index 12 is out of bounds for an axis of size 10 (valid: -10..9)",
  );
  assert.throws(
    () =>
      cpu.gather({
        x,
        indices: new Int32Array([-11]),
        outer: 1,
        n: 10,
        inner: 1,
        count: 1,
        dtype: "float32",
      }),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message === "take(): index -11 is out of bounds for an axis of size 10 (valid: -10..9)",
  );
  assert.throws(
    () =>
      cpu.scatterAdd({
        g: new Float32Array(2),
        indices: new Int32Array([12, 0]),
        outer: 1,
        n: 10,
        inner: 1,
        count: 2,
        dtype: "float32",
      }),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message ===
        "scatterAdd(): index 12 is out of bounds for an axis of size 10 (valid: -10..9)",
  );
});

Deno.test("cpu: scatterAdd accumulates repeated indices", () => {
  const rng = lcg(12);
  for (const dtype of NUMERIC) {
    for (const [outer, n, inner] of [[2, 5, 3], [1, 4, 1]]) {
      const indices = new Int32Array([1, -1, 1, 0, 1]);
      const count = indices.length;
      const g = randomArray(dtype, outer * count * inner, rng);
      const acc = new Float64Array(outer * n * inner);
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < count; c++) {
          const r = indices[c] < 0 ? indices[c] + n : indices[c];
          for (let i = 0; i < inner; i++) {
            acc[(o * n + r) * inner + i] += g[(o * count + c) * inner + i];
          }
        }
      }
      const expected = allocArray(dtype, acc.length);
      expected.set(acc);
      assertArrayEqual(
        cpu.scatterAdd({ g, indices, outer, n, inner, count, dtype }),
        expected,
        `scatterAdd ${dtype}`,
      );
    }
  }
  assertArrayEqual(
    cpu.scatterAdd({
      g: new Int32Array([2147483647, 1]),
      indices: new Int32Array([0, 0]),
      outer: 1,
      n: 1,
      inner: 1,
      count: 2,
      dtype: "int32",
    }),
    new Int32Array([-2147483648]),
    "int32 wraps",
  );
});

// ---------------------------------------------------------------- random bits

Deno.test("threefry2x32: Random123 known-answer tests", () => {
  assert.deepEqual(threefry2x32(0, 0, 0, 0), [0x6b200159, 0x99ba4efe]);
  assert.deepEqual(threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff), [
    0x1cb996fc,
    0xbb002be7,
  ]);
  assert.deepEqual(threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3), [
    0xc4923a9c,
    0x483df7a0,
  ]);
});

Deno.test("cpu: randomBits layout matches threefry2x32", () => {
  for (const [k0, k1] of [[0, 0], [-1, 42], [0x13198a2e, -2023406815]]) {
    const key = new Int32Array([k0, k1]);
    for (const count of [0, 1, 2, 5, 8]) {
      const expected = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        expected[i] = threefry2x32(k0 >>> 0, k1 >>> 0, 0, Math.floor(i / 2))[i % 2] | 0;
      }
      assertArrayEqual(cpu.randomBits(key, count), expected, `key ${k0},${k1} count ${count}`);
    }
  }
  const out = new Int32Array(3);
  randomBitsInto(out, 0, 0);
  assert.deepEqual([...out], [0x6b200159 | 0, 0x99ba4efe | 0, threefry2x32(0, 0, 0, 1)[0] | 0]);
});

Deno.test("cpu: randomUniform maps the randomBits stream into [0, 1)", () => {
  const key = new Int32Array([-5, 123456789]);
  const count = 1001;
  const f32 = cpu.randomUniform({ key, count, dtype: "float32" }) as Float32Array;
  const words32 = cpu.randomBits(key, count) as Int32Array;
  const expected32 = new Float32Array(count);
  words32.forEach((w, i) => (expected32[i] = (w >>> 8) / 16777216));
  assertArrayEqual(f32, expected32, "float32");
  const f64 = cpu.randomUniform({ key, count, dtype: "float64" }) as Float64Array;
  const words64 = cpu.randomBits(key, 2 * count) as Int32Array;
  const expected64 = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const hi = words64[2 * i] >>> 5, lo = words64[2 * i + 1] >>> 6;
    expected64[i] = (hi * 2 ** 26 + lo) / 2 ** 53;
  }
  assertArrayEqual(f64, expected64, "float64");
  for (const u of [...f32, ...f64]) assert.ok(u >= 0 && u < 1, `${u} outside [0, 1)`);
  const mean = f64.reduce((a, b) => a + b, 0) / count;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  assertArrayEqual(
    cpu.randomUniform({ key, count: 0, dtype: "float32" }),
    new Float32Array(0),
    "empty",
  );
});

// ---------------------------------------------------------------- argsort

function refArgsort(x: TypedArray, outer: number, n: number): Int32Array {
  const out = new Int32Array(outer * n);
  for (let o = 0; o < outer; o++) {
    const row = Array.from(x.subarray(o * n, o * n + n));
    // Insertion sort: stable by construction.
    const perm: number[] = [];
    // Whether `a` sorts strictly after `b` (NaN after every number).
    const isAfter = (a: number, b: number) =>
      Number.isNaN(b) ? false : Number.isNaN(a) ? true : a > b;
    for (let j = 0; j < n; j++) {
      let pos = perm.length;
      while (pos > 0 && isAfter(row[perm[pos - 1]], row[j])) pos--;
      perm.splice(pos, 0, j);
    }
    out.set(perm, o * n);
  }
  return out;
}

Deno.test("cpu: argsort is stable, ascending, NaN last", () => {
  const x = new Float32Array([3, NaN, 1, 3, -0, 0, NaN, -2, 1]);
  assertArrayEqual(
    cpu.argsort({ x, outer: 1, n: 9, dtype: "float32" }),
    new Int32Array([7, 4, 5, 2, 8, 0, 3, 1, 6]),
    "explicit",
  );
  const rng = lcg(13);
  for (const dtype of ALL) {
    const data = randomArray(dtype, 4 * 25, rng);
    if (dtype !== "int32" && dtype !== "bool") data[7] = data[30] = data[31] = NaN;
    assertArrayEqual(
      cpu.argsort({ x: data, outer: 4, n: 25, dtype }),
      refArgsort(data, 4, 25),
      `argsort ${dtype}`,
    );
  }
  assertArrayEqual(
    cpu.argsort({ x: new Float32Array(0), outer: 3, n: 0, dtype: "float32" }),
    new Int32Array(0),
    "n=0",
  );
});

// ---------------------------------------------------------------- immutability

Deno.test("cpu: no kernel mutates its inputs", () => {
  const rng = lcg(14);
  const f = randomArray("float32", 24, rng), g = randomArray("float32", 24, rng);
  const i = new Int32Array([0, 2, -1, 1]), c = randomArray("bool", 24, rng);
  const key = new Int32Array([7, 9]);
  const inputs: TypedArray[] = [f, g, i, c, key];
  const snapshots = inputs.map((a) => a.slice());
  const outputs: unknown[] = [
    cpu.unary({ op: "exp", x: f, size: 24, dtype: "float32" }),
    cpu.binary({
      op: "add",
      a: f,
      aStrides: [6, 1],
      b: g,
      bStrides: [0, 1],
      outShape: [4, 6],
      dtype: "float32",
    }),
    cpu.binary({
      op: "less",
      a: f,
      aStrides: [1],
      b: g,
      bStrides: [1],
      outShape: [24],
      dtype: "float32",
    }),
    cpu.where({
      cond: c,
      condStrides: [1],
      a: f,
      aStrides: [1],
      b: g,
      bStrides: [1],
      outShape: [24],
      dtype: "float32",
    }),
    cpu.cast({ x: f, size: 24, from: "float32", to: "int32" }),
    cpu.cast({ x: f, size: 24, from: "float32", to: "float32" }),
    cpu.reduce({ op: "sum", x: f, outer: 2, n: 3, inner: 4, dtype: "float32" }),
    cpu.reduce({ op: "argmax", x: f, outer: 4, n: 6, inner: 1, dtype: "float32" }),
    cpu.matmul(f, g, mm(4, 6, 4), "float32"),
    cpu.strided({ x: f, offset: 0, strides: [1, 6], outShape: [6, 4], dtype: "float32" }),
    cpu.strided({ x: f, offset: 0, strides: [1], outShape: [24], dtype: "float32" }),
    cpu.scatterStrided({
      x: f,
      xShape: [24],
      offset: 0,
      strides: [1],
      outSize: 24,
      dtype: "float32",
    }),
    cpu.concat({ xs: [f, g], cols: [6, 6], outer: 4, dtype: "float32" }),
    cpu.gather({ x: f, indices: i, outer: 2, n: 4, inner: 3, count: 4, dtype: "float32" }),
    cpu.scatterAdd({ g: f, indices: i, outer: 2, n: 4, inner: 3, count: 4, dtype: "float32" }),
    cpu.randomBits(key, 10),
    cpu.randomUniform({ key, count: 10, dtype: "float64" }),
    cpu.argsort({ x: f, outer: 4, n: 6, dtype: "float32" }),
  ];
  inputs.forEach((a, k) => assertArrayEqual(a, snapshots[k], `input ${k}`));
  for (const out of outputs) {
    assert.ok(!inputs.some((a) => a === out), "an output aliases an input");
    // Writing to an output leaves the inputs alone too.
    (out as TypedArray).fill(0);
  }
  inputs.forEach((a, k) => assertArrayEqual(a, snapshots[k], `input ${k} after writing outputs`));
});
