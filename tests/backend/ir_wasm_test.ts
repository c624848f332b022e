/**
 * The WebAssembly SIMD renderer of the kernel IR (`ir/render_wasm.ts`):
 * without fused multiply-adds it computes bit for bit what the JS renderer
 * computes — for every opcode row, every dtype it takes, lengths with and
 * without a tail, broadcast scalars — and a fused kernel of several ops is
 * one loop. With `f32x4.relaxed_madd` (where relaxed SIMD exists) the
 * transcendentals stay within the ulp bounds of `ir_ulp_test.ts`.
 */

import assert from "node:assert/strict";
import { BINARY_OPS, type BinaryOp, UNARY_OPS, type UnaryOp } from "../../src/backend/backend.ts";
import { allocArray, type DType, type TypedArray } from "../../src/core/dtype.ts";
import {
  constant,
  type Expr,
  guard,
  load,
  topoOrder,
  withoutGuards,
} from "../../src/backend/ir/expr.ts";
import {
  type ElementwiseKernel,
  elementwiseKernel,
  reduceKernel,
} from "../../src/backend/ir/kernel.ts";
import {
  binaryOpKernel,
  castOpKernel,
  logsumexpKernel,
  unaryOpKernel,
  whereOpKernel,
} from "../../src/backend/ir/ops.ts";
import { compileJsElementwise } from "../../src/backend/ir/render_js.ts";
import { renderWasm, wasmEvaluator } from "../../src/backend/ir/render_wasm.ts";
import { wasmFeatures, WasmModule } from "../../src/backend/wasm/asm/mod.ts";
import { WasmKernels } from "../../src/backend/wasm/kernels/module.ts";
import { exp } from "../../src/backend/ir/math.ts";
import { lcg, ulps32 } from "../_helpers.ts";

/** Test values: specials, tiny, huge and random (floats); extremes and small ints; bools. */
function values(dtype: DType, n: number, seed: number): TypedArray {
  const rng = lcg(seed);
  const out = allocArray(dtype, n);
  const specials = dtype === "float32"
    ? [NaN, 0, -0, Infinity, -Infinity, 1, -1, 0.5, 2.5, -2.5, 1e-40, 3e38, 8192.5, -1e30]
    : dtype === "int32"
    ? [2147483647, -2147483648, 0, 1, -1, 65536, 46341, 31, 32]
    : [1, 0];
  for (let i = 0; i < n; i++) {
    const u = rng();
    out[i] = i < specials.length
      ? specials[i]
      : dtype === "bool"
      ? (u < 0.5 ? 1 : 0)
      : dtype === "int32"
      ? Math.floor(u * 41) - 20
      : i % 2
      ? (u - 0.5) * 40
      : (u - 0.5) * 2e5;
  }
  return out;
}

/** The JS renderer's result over flat operands (length-1 operands broadcast). */
function js(kernel: ElementwiseKernel, ins: readonly TypedArray[], out: TypedArray): void {
  const strides = ins.map((x) => [x.length === 1 && out.length !== 1 ? 0 : 1]);
  compileJsElementwise(kernel.output)(out, ins, [out.length], strides);
}

/** Asserts WASM = JS bit for bit on lengths 1, 3, 4, 37 (tails) and with a broadcast scalar. */
function checkSame(what: string, kernel: ElementwiseKernel, dtypes: readonly DType[], out: DType) {
  const wasm = wasmEvaluator(kernel);
  for (const n of [1, 3, 4, 37, 203]) {
    for (const scalar of dtypes.length > 1 ? [-1, 0, dtypes.length - 1] : [-1]) {
      const ins = dtypes.map((d, k) => values(d, k === scalar ? 1 : n, 11 + k));
      const want = allocArray(out, n), got = allocArray(out, n);
      js(kernel, ins, want);
      wasm(ins, got);
      for (let i = 0; i < n; i++) {
        if (!Object.is(got[i], want[i])) {
          const args = ins.map((x) => x[x.length === 1 ? 0 : i]).join(", ");
          assert.fail(`${what}(${args}) [n ${n}]: wasm ${got[i]}, js ${want[i]}`);
        }
      }
    }
  }
}

Deno.test("ir wasm: every unary row is bit-identical to the JS renderer", () => {
  for (const op of UNARY_OPS) {
    const dtypes: DType[] = op === "logicalNot"
      ? ["bool"]
      : ["neg", "abs", "sign", "square"].includes(op)
      ? ["float32", "int32"]
      : ["float32"];
    for (const d of dtypes) {
      checkSame(op, unaryOpKernel(op as UnaryOp, d), [d], op === "logicalNot" ? "bool" : d);
    }
  }
});

Deno.test("ir wasm: every binary row, where and cast are bit-identical to the JS renderer", () => {
  for (const op of BINARY_OPS) {
    const dtypes: DType[] = op === "logicalAnd" || op === "logicalOr"
      ? ["bool"]
      : op === "div"
      ? ["float32"]
      : ["float32", "int32"];
    for (const d of dtypes) {
      const k = binaryOpKernel(op as BinaryOp, d);
      checkSame(op, k, [d, d], k.output.type === "bool" ? "bool" : d);
    }
  }
  for (const d of ["float32", "int32", "bool"] as DType[]) {
    checkSame(`where ${d}`, whereOpKernel(d), ["bool", d, d], d);
    for (const to of ["float32", "int32", "bool"] as DType[]) {
      checkSame(`cast ${d}→${to}`, castOpKernel(d, to), [d], to);
    }
  }
});

Deno.test("ir wasm: a fused a·b + c and a sigmoid are one loop, equal to the JS renderer", () => {
  const x = (i: number) => load(i, "f32");
  checkSame("a·b + c", elementwiseKernel(x(0).mul(x(1)).add(x(2))), [
    "float32",
    "float32",
    "float32",
  ], "float32");
  const sigmoid = elementwiseKernel(constant(1, "f32").div(exp(x(0).neg()).add(1)));
  checkSame("1/(1 + e^−x)", sigmoid, ["float32"], "float32");
});

Deno.test({
  name: "ir wasm: with relaxed_madd the transcendentals stay within a few ulp of the JS renderer",
  ignore: !wasmFeatures().relaxedSimd,
  fn() {
    for (const op of ["exp", "log", "log1p", "expm1", "tanh", "sin", "cos", "erf", "erfc"]) {
      const k = unaryOpKernel(op as UnaryOp, "float32");
      const xs = values("float32", 4001, 5);
      const want = new Float32Array(xs.length), got = new Float32Array(xs.length);
      js(k, [xs], want);
      wasmEvaluator(k, { contractFma: true })([xs], got);
      for (let i = 0; i < xs.length; i++) {
        assert.ok(ulps32(got[i], want[i]) <= 4, `${op}(${xs[i]}): ${got[i]} vs ${want[i]}`);
      }
    }
  },
});

/** Whether a graph has a guard. */
const hasGuard = (root: Expr): boolean => topoOrder([root]).some((n) => n.op === "guard");

/**
 * Guard inputs: 2¹⁸ evenly spaced over [−100, 100] (runs of whole vectors in
 * the fast domains, and their edges ±86, −30), 2¹⁸ every 16381st bit pattern
 * (mostly mixed vectors), and fast-domain values with a slow one (huge,
 * NaN, ±∞, subnormal, ±0, −95) at a lane that moves from vector to vector.
 */
function guardInputs(): Float32Array {
  const n = 1 << 18, out = new Float32Array(3 * n);
  const bits = new Uint32Array(out.buffer, 4 * n, n);
  const slow = [1e3, NaN, Infinity, -Infinity, 1e-40, 0, -0, -95, -3e38];
  const rng = lcg(7);
  for (let i = 0; i < n; i++) {
    out[i] = -100 + (200 * i) / n;
    bits[i] = Math.imul(i, 16381) >>> 0;
    out[2 * n + i] = i % 11 === 3 ? slow[(i / 11 | 0) % slow.length] : (rng() - 0.5) * 160;
  }
  return out;
}

Deno.test("ir wasm: guarded rows equal their full arms bit for bit, in WASM on mixed vectors too", () => {
  const roots: [string, Expr][] = [
    ...["exp", "log", "expm1", "tanh", "erf", "erfc"].map((op): [string, Expr] => [
      op,
      unaryOpKernel(op as UnaryOp, "float32").output,
    ]),
    ["pow", binaryOpKernel("pow", "float32").output],
    ["logsumexp prologue", logsumexpKernel("float32").prologue],
  ];
  const xs = guardInputs();
  // a second operand: exponents for pow, row maxima for the log-sum-exp prologue
  const ys = xs.map((v, i) => (i % 3 === 0 ? v / 7 : i % 3 === 1 ? 2 : -v));
  // with fused multiply-adds too (relaxed_madd where relaxed SIMD exists): the promise holds either way
  const fmas = wasmFeatures().relaxedSimd ? [false, true] : [false];
  for (const [what, root] of roots) {
    assert.ok(hasGuard(root), `${what} has a guarded fast arm`);
    const full = withoutGuards(root);
    assert.ok(!hasGuard(full));
    const binary = topoOrder([root]).some((n) => n.op === "load" && n.value === 1);
    const ins = binary ? [xs, ys] : [xs], types = ins.map(() => "f32" as const);
    const strides = ins.map(() => [1]);
    for (const contractFma of fmas) {
      const want = new Float32Array(xs.length), js = new Float32Array(xs.length);
      const wasm = new Float32Array(xs.length), wasmFull = new Float32Array(xs.length);
      compileJsElementwise(full, { contractFma })(want, ins, [xs.length], strides);
      // the JS renderer's select takes the fast arm wherever its condition holds
      compileJsElementwise(root, { contractFma })(js, ins, [xs.length], strides);
      wasmEvaluator(elementwiseKernel(root, types), { contractFma })(ins, wasm);
      wasmEvaluator(elementwiseKernel(full, types), { contractFma })(ins, wasmFull);
      for (let i = 0; i < xs.length; i++) {
        const at = `${what}(${ins.map((a) => a[i]).join(", ")}) fma ${contractFma}`;
        if (!Object.is(js[i], want[i])) assert.fail(`${at}: fast arm ${js[i]}, full ${want[i]}`);
        if (!Object.is(wasm[i], wasmFull[i])) {
          assert.fail(`${at}: wasm ${wasm[i]}, its full arm ${wasmFull[i]}`);
        }
        if (!contractFma && !Object.is(wasm[i], want[i])) {
          assert.fail(`${at}: wasm ${wasm[i]}, JS ${want[i]}`);
        }
      }
    }
  }
});

/** The groups of one row of `n` elements the renderers branch on: steps of 8, then 4, then the tail. */
function groups(n: number): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  for (; i + 8 <= n; i += 8) out.push([i, i + 8]);
  for (; i + 4 <= n; i += 4) out.push([i, i + 4]);
  if (i < n) out.push([i, n]);
  return out;
}

/** Values positive except at `negatives` (so chosen groups hold a non-positive lane). */
function signed(n: number, negatives: readonly number[]): Float32Array {
  const xs = Float32Array.from({ length: n }, (_, i) => i + 1);
  for (const i of negatives) xs[i] = -xs[i];
  return xs;
}

Deno.test("ir wasm: a guard takes the fast arm per group whose lanes all satisfy it, else the full arm", () => {
  const x = load(0, "f32");
  // a deliberately broken promise makes the branch visible: fast = x + 1 where x > 0
  const g = guard(x.gt(0), x.add(1), x);
  // the arm's x·3 is also used outside the guard, and a nested guard inside the fast arm
  const m3 = x.mul(3);
  const nested = guard(x.gt(0), guard(x.gt(10), m3.add(100), m3.add(1)), m3).add(m3);
  // integer conditions against constants: the group's smallest (largest) value is compared once
  const bits = x.bitcast("i32");
  const above = guard(bits.gt(0), x.add(1), x); // x > 0 as bits
  const below = guard(bits.lt(0x41f00000), x.add(1), x); // bits below those of 30: x < 30
  const n = 37, neg = [9, 20, 33, 36]; // groups [8,16) [16,24) [32,36) [36,37) are mixed
  const xs = signed(n, neg);
  const fastGroup = (lo: number, hi: number) => xs.subarray(lo, hi).every((v) => v > 0);
  const got = new Float32Array(n), got2 = new Float32Array(n), js = new Float32Array(n);
  const gotAbove = new Float32Array(n), gotBelow = new Float32Array(n);
  wasmEvaluator(elementwiseKernel(g))([xs], got);
  wasmEvaluator(elementwiseKernel(nested))([xs], got2);
  wasmEvaluator(elementwiseKernel(above))([xs], gotAbove);
  wasmEvaluator(elementwiseKernel(below))([xs], gotBelow);
  compileJsElementwise(g)(js, [xs], [n], [[1]]);
  for (const [lo, hi] of groups(n)) {
    const fast = fastGroup(lo, hi);
    const big = xs.subarray(lo, hi).every((v) => v > 10);
    const small = xs.subarray(lo, hi).every((v) => v < 30);
    for (let i = lo; i < hi; i++) {
      assert.equal(got[i], fast ? xs[i] + 1 : xs[i], `x[${i}] in [${lo}, ${hi})`);
      assert.equal(gotAbove[i], got[i], `bits > 0: x[${i}]`);
      assert.equal(gotBelow[i], small ? xs[i] + 1 : xs[i], `bits < bits(30): x[${i}]`);
      const inner = big ? 3 * xs[i] + 100 : 3 * xs[i] + 1;
      assert.equal(got2[i], (fast ? inner : 3 * xs[i]) + 3 * xs[i], `nested x[${i}]`);
      assert.equal(js[i], xs[i] > 0 ? xs[i] + 1 : xs[i], "the JS renderer selects per element");
    }
  }
  // the loop branches on whole vectors: all_true of the conditions; for exp's integer
  // comparison |x| ≤ 86 (as bits) the group's largest |x| is compared once, any_true of gt_s
  const wat = (root: Expr) => {
    const mod = new WasmModule({ memoryImport: { module: "env", field: "memory", minPages: 1 } });
    renderWasm(mod, "k", elementwiseKernel(root));
    return mod.toWat();
  };
  assert.match(wat(g), /i32x4\.all_true/);
  assert.match(
    wat(exp(x)),
    /i32x4\.max_s\s+local\.get \S+\s+i32x4\.gt_s\s+v128\.any_true\s+i32\.eqz\s+if/,
  );
});

Deno.test("ir wasm: a reduction's guarded prologue branches per group of rows and columns", () => {
  const x = load(0, "f32");
  const kernel = reduceKernel("sum", guard(x.gt(0), x.add(1), x), ["f32"]);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const k = WasmKernels.create(memory, { shared: false, maxPages: 0, variant: "simd" })!;
  const f = new Float32Array(memory.buffer);
  // rows: [2, 37]; columns: [37, 20] (a block of 16 columns, then one of 4)
  const n = 37, xs = signed(n, [9, 20, 33, 36]);
  f.set(xs, 0);
  f.set(xs.map((v) => v + 100), n); // row 1: every lane positive
  k.reduce(kernel, ["full"])(0, 4 * 1000, 2, n, 1);
  for (const [r, base] of [[0, 0], [1, 100]]) {
    let want = 0;
    for (const [lo, hi] of groups(n)) {
      const fast = xs.subarray(lo, hi).every((v) => v + base > 0);
      for (let i = lo; i < hi; i++) want += xs[i] + base + (fast ? 1 : 0);
    }
    assert.equal(f[1000 + r], want, `row ${r}`);
  }
  const cols = Float32Array.from({ length: n * 20 }, (_, i) => (i % 7 === 5 ? -i : i + 1));
  f.set(cols, 2000);
  k.reduce(kernel, ["full"])(4 * 2000, 4 * 1000, 1, n, 20);
  for (let c = 0; c < 20; c++) {
    const [lo, hi] = c < 16 ? [0, 16] : [16, 20];
    let want = 0;
    for (let j = 0; j < n; j++) {
      const fast = cols.subarray(20 * j + lo, 20 * j + hi).every((v) => v > 0);
      want += cols[20 * j + c] + (fast ? 1 : 0);
    }
    assert.equal(f[1000 + c], want, `column ${c}`);
  }
});
