/**
 * The kernel expression IR (`src/backend/ir/`): nodes, hash-consing and
 * canonical keys; the IR's semantics as the JS renderer evaluates them
 * (wrapping, shifts, conversions, NaN rules, fused multiply-add); the opcode
 * tables against the CPU backend (the reference) for every opcode and dtype
 * it takes; kernel specs and the kernel cache; WGSL text (constants that
 * WGSL cannot write, folding); one fused kernel of several ops.
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../../src/backend/cpu/cpu_backend.ts";
import { BINARY_OPS, type BinaryOp, UNARY_OPS, type UnaryOp } from "../../src/backend/backend.ts";
import { allocArray, type DType, type TypedArray } from "../../src/core/dtype.ts";
import {
  canonicalKey,
  constant,
  Expr,
  load,
  operandTypes,
  select,
  topoOrder,
} from "../../src/backend/ir/expr.ts";
import { compileJsElementwise, compileJsScalar } from "../../src/backend/ir/render_js.ts";
import { renderWgsl } from "../../src/backend/ir/render_wgsl.ts";
import { elementwiseKernel, KernelCache, reduceKernel } from "../../src/backend/ir/kernel.ts";
import {
  BINARY_EXPR,
  binaryOpKernel,
  castOpKernel,
  UNARY_EXPR,
  unaryOpKernel,
  whereOpKernel,
} from "../../src/backend/ir/ops.ts";
import { exp } from "../../src/backend/ir/math.ts";
import { lcg, ulps32 } from "../_helpers.ts";

const cpu = new CpuBackend();

// ---------------------------------------------------------------- nodes

Deno.test("ir: nodes are hash-consed; canonical keys depend on structure only", () => {
  const x = load(0, "f32");
  const a = x.mul(x).add(1);
  assert.equal(a, load(0, "f32").mul(load(0, "f32")).add(constant(1, "f32")));
  // built in another order (the other operand first), the key is the same
  const y = load(1, "f32").sub(2);
  const k1 = canonicalKey([y.add(x.mul(x))]);
  const k2 = canonicalKey([load(1, "f32").sub(2).add(load(0, "f32").mul(load(0, "f32")))]);
  assert.equal(k1, k2);
  // constants keyed by their bits: −0 and +0 and NaN payloads are distinct nodes
  assert.notEqual(constant(-0, "f32"), constant(0, "f32"));
  assert.notEqual(canonicalKey([x.add(-0)]), canonicalKey([x.add(0)]));
  assert.equal(constant(0.1, "f32").value, Math.fround(0.1));
  assert.equal(constant(2 ** 32 + 5, "i32").value, 5);
  // shared sub-expressions appear once
  const s = exp(x);
  assert.equal(topoOrder([s.add(s)]).filter((n) => n === s).length, 1);
  assert.throws(() => new (Expr as unknown as new () => Expr)(), TypeError);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.args));
});

Deno.test("ir: types are checked when a node is built", () => {
  const f = load(0, "f32"), i = load(1, "i32"), b = load(2, "bool");
  assert.throws(() => f.add(i), /operand types differ \(f32 and i32\)/);
  assert.throws(() => i.div(i), /div\(\): not defined for i32/);
  assert.throws(() => select(f, f, f), /condition is f32/);
  assert.throws(() => b.add(b), /add\(\): not defined for bool/);
  assert.throws(() => f.bitAnd(f), /bitAnd\(\): not defined for f32/);
  assert.throws(() => load(3, "f32").bitcast("bool"), /bitcast/);
  assert.throws(() => operandTypes([load(0, "f32").add(load(0, "i32").convert("f32"))]), /both/);
  assert.throws(() => exp(i), /exp\(\): the kernel IR's exp is written for f32, got i32/);
  assert.equal(f.lt(0).type, "bool");
  assert.equal(select(f.gt(0), f, 0), select(f.gt(0), f, constant(0, "f32")));
});

// ---------------------------------------------------------------- semantics (JS renderer)

/** A scalar function of the graph `build(x0, x1)` over operands of `types`. */
function fn(
  types: readonly ("f32" | "i32" | "u32" | "bool")[],
  build: (...x: Expr[]) => Expr,
): (a: number, b?: number) => number {
  const f = compileJsScalar(build(...types.map((t, i) => load(i, t))));
  return (a, b) => f(a, b ?? 0);
}

Deno.test("ir: integer semantics — wrapping, shifts modulo 32, arithmetic and logical shr", () => {
  assert.equal(fn(["i32", "i32"], (a, b) => a.add(b))(2147483647, 1), -2147483648);
  assert.equal(fn(["i32", "i32"], (a, b) => a.mul(b))(65536, 65536), 0);
  assert.equal(fn(["u32", "u32"], (a, b) => a.sub(b))(0, 1), 4294967295);
  assert.equal(fn(["i32"], (a) => a.neg())(-2147483648), -2147483648);
  assert.equal(fn(["i32"], (a) => a.abs())(-2147483648), -2147483648);
  assert.equal(fn(["i32", "i32"], (a, b) => a.shl(b))(1, 33), 2);
  assert.equal(fn(["i32", "i32"], (a, b) => a.shr(b))(-8, 1), -4);
  assert.equal(fn(["u32", "u32"], (a, b) => a.shr(b))(0xfffffff8, 1), 0x7ffffffc);
  assert.equal(fn(["u32"], (a) => a.bitNot())(0), 0xffffffff);
  assert.equal(fn(["f32"], (a) => a.bitcast("u32"))(-0), 0x80000000);
  assert.equal(fn(["u32"], (a) => a.bitcast("f32"))(0x3f800000), 1);
  assert.equal(fn(["i32"], (a) => a.bitcast("u32"))(-1), 0xffffffff);
});

Deno.test("ir: conversions follow Backend.cast (XLA's saturating float → int32)", () => {
  const f2i = fn(["f32"], (a) => a.convert("i32"));
  const got = [NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31), 3e9, -2.9, 2.9, -0].map(f2i);
  assert.deepEqual(got, [
    0,
    2147483647,
    -2147483648,
    2147483647,
    -2147483648,
    2147483647,
    -2,
    2,
    0,
  ]);
  const f2u = fn(["f32"], (a) => a.convert("u32"));
  assert.deepEqual([NaN, -1, 5e9, 7.9].map(f2u), [0, 0, 4294967295, 7]);
  // int → f32 rounds to nearest even: 2²⁴ + 1 → 2²⁴, 2²⁴ + 3 → 2²⁴ + 4
  const i2f = fn(["i32"], (a) => a.convert("f32"));
  assert.deepEqual([16777217, 16777219, -16777217].map(i2f), [16777216, 16777220, -16777216]);
  assert.deepEqual([NaN, 0, -0, 2].map(fn(["f32"], (a) => a.convert("bool"))), [1, 0, 0, 1]);
  assert.deepEqual([0, 1].map(fn(["bool"], (a) => a.convert("f32"))), [0, 1]);
});

Deno.test("ir: float semantics — min/max propagate NaN and order −0 < +0; roundEven; fma", () => {
  const max = fn(["f32", "f32"], (a, b) => a.max(b)), min = fn(["f32", "f32"], (a, b) => a.min(b));
  assert.ok(Number.isNaN(max(NaN, 1)) && Number.isNaN(max(1, NaN)) && Number.isNaN(min(NaN, 1)));
  assert.ok(Object.is(max(-0, 0), 0) && Object.is(max(0, -0), 0));
  assert.ok(Object.is(min(-0, 0), -0) && Object.is(min(0, -0), -0));
  const round = fn(["f32"], (a) => a.roundEven());
  assert.deepEqual([0.5, 1.5, 2.5, -2.5, -0.5, 2.4999998].map(round), [0, 2, 2, -2, -0, 2]);
  assert.ok(Object.is(round(-0.5), -0));
  assert.equal(fn(["f32", "f32"], (a, b) => a.div(b))(1, 0), Infinity);
  assert.ok(Number.isNaN(fn(["f32"], (a) => a.sqrt())(-1)));
  assert.ok(Object.is(fn(["f32"], (a) => a.sqrt())(-0), -0));
  // a·a + c with a = 1 + 2⁻¹²: the product rounds away 2⁻²⁴ unless fused
  const a = 1 + 2 ** -12, c = -(1 + 2 ** -11);
  const x = load(0, "f32"), y = load(1, "f32");
  assert.equal(compileJsScalar(x.fma(x, y))(a, c), 0);
  assert.equal(compileJsScalar(x.fma(x, y), { contractFma: true })(a, c), 2 ** -24);
  // every float32 operation rounds: 0.1 + 0.2 in float32
  assert.equal(fn(["f32", "f32"], (p, q) => p.add(q))(0.1, 0.2), Math.fround(0.3));
});

// ---------------------------------------------------------------- tables against the CPU

/** Float32 test values: specials, tiny, huge, and seeded random ones. */
function floatValues(): Float32Array {
  const specials = [
    NaN,
    0,
    -0,
    Infinity,
    -Infinity,
    1,
    -1,
    0.5,
    -0.5,
    1.5,
    2.5,
    -2.5,
    1e-40,
    -1e-40,
  ];
  const rng = lcg(7);
  const out = new Float32Array(400);
  out.set(specials);
  for (let i = specials.length; i < out.length; i++) {
    const u = rng();
    out[i] = i % 3 === 0 ? (u - 0.5) * 1e6 : i % 3 === 1 ? (u - 0.5) * 20 : (u - 0.5) * 1e-3;
  }
  return out;
}

/** Test values of a dtype. */
function valuesOf(dtype: DType): TypedArray {
  if (dtype === "float32") return floatValues();
  if (dtype === "float64") return Float64Array.from(floatValues());
  if (dtype === "bool") return Uint8Array.from({ length: 50 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
  const rng = lcg(11);
  const v = Int32Array.from({ length: 200 }, () => Math.floor(rng() * 19) - 9);
  v.set([2147483647, -2147483648, 65536, -65536, 46341]);
  return v;
}

/** The dtypes a unary opcode takes (backend.ts: float ops, the int-capable ones, bool). */
function unaryDtypes(op: UnaryOp): DType[] {
  if (op === "logicalNot") return ["bool"];
  if (["neg", "abs", "sign", "square"].includes(op)) return ["float32", "int32"];
  return ["float32"];
}

/** Distance in float32 ulps from `b` rounded to float32. */
const ulps = (a: number, b: number): number => ulps32(a, Math.fround(b));

/** Ulp bounds of the transcendental rows (the ulp table test measures them over 10⁶ inputs). */
const UNARY_ULP: Partial<Record<UnaryOp, number>> = {
  exp: 1,
  log: 1,
  log1p: 1,
  expm1: 1,
  tanh: 2,
  sigmoid: 1,
  sin: 3,
  cos: 3,
  erf: 1,
  erfc: 3,
};

/** Runs a kernel spec through the JS renderer over flat operands. */
function runJs(
  output: Expr,
  ins: readonly TypedArray[],
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  outDtype: DType,
): TypedArray {
  let size = 1;
  for (const d of shape) size *= d;
  const out = allocArray(outDtype, size);
  compileJsElementwise(output)(out, ins, shape, strides);
  return out;
}

Deno.test("ir: every unary row matches the CPU backend (exactly, or within its ulp bound)", () => {
  assert.deepEqual(Object.keys(UNARY_EXPR).sort(), [...UNARY_OPS].sort());
  for (const op of UNARY_OPS) {
    for (const dtype of unaryDtypes(op)) {
      const x = valuesOf(dtype);
      const outDtype = op === "logicalNot" ? "bool" : dtype;
      const want = cpu.readSync(
        cpu.unary({ op, x: cpu.upload(x.slice(), dtype), size: x.length, dtype }),
        outDtype,
        x.length,
      );
      const got = runJs(unaryOpKernel(op, dtype).output, [x], [x.length], [[1]], outDtype);
      const bound = UNARY_ULP[op] ?? 0;
      for (let i = 0; i < x.length; i++) {
        const d = ulps(got[i], want[i]);
        if (d > bound || (bound === 0 && !Object.is(got[i], want[i]))) {
          assert.fail(`${op}(${x[i]}) ${dtype}: ${got[i]}, cpu ${want[i]} (${d} ulp > ${bound})`);
        }
      }
    }
  }
  assert.throws(() => unaryOpKernel("exp", "int32"), /exp\(\): dtype int32 is not supported/);
  assert.throws(() => unaryOpKernel("sin", "float64"), /sin\(\): dtype float64/);
});

/** The dtypes a binary opcode takes. */
function binaryDtypes(op: BinaryOp): DType[] {
  if (op === "logicalAnd" || op === "logicalOr") return ["bool"];
  if (op === "div") return ["float32", "float64"];
  if (op === "pow") return ["float32", "int32"];
  if (["add", "sub", "mul", "maximum", "minimum"].includes(op)) {
    return ["float32", "float64", "int32"];
  }
  return ["float32", "float64", "int32", "bool"]; // comparisons
}

Deno.test("ir: every binary row matches the CPU backend, with broadcasting by strides", () => {
  assert.deepEqual(Object.keys(BINARY_EXPR).sort(), [...BINARY_OPS].sort());
  for (const op of BINARY_OPS) {
    for (const dtype of binaryDtypes(op)) {
      // a column against a row: every pair of values meets once
      const a = valuesOf(dtype).slice(0, 40), b = valuesOf(dtype).slice(3, 43);
      const shape = [a.length, b.length], as = [1, 0], bs = [0, 1];
      const outDtype = op === "logicalAnd" || op === "logicalOr" || BINARY_EXPR[op](
            load(0, "f32"),
            load(1, "f32"),
          ).type === "bool"
        ? "bool"
        : dtype;
      const want = cpu.readSync(
        cpu.binary({
          op,
          a: cpu.upload(a.slice(), dtype),
          aStrides: as,
          b: cpu.upload(b.slice(), dtype),
          bStrides: bs,
          outShape: shape,
          dtype,
        }),
        outDtype,
        a.length * b.length,
      );
      const got = runJs(binaryOpKernel(op, dtype).output, [a, b], shape, [as, bs], outDtype);
      for (let i = 0; i < got.length; i++) {
        const x = a[Math.floor(i / b.length)], y = b[i % b.length];
        // pow = exp(b·log|a|) loses about |b·log|a|| ulp (2 + 2·|b·ln|a|| asserted)
        const bound = op === "pow" && dtype === "float32"
          ? 2 + 2 * Math.abs(y * Math.log(Math.abs(x)))
          : 0;
        const d = dtype === "float32" ? ulps(got[i], want[i]) : Object.is(got[i], want[i]) ? 0 : 1;
        if (!(d <= bound) && !(Number.isNaN(bound) && Object.is(got[i], want[i]))) {
          assert.fail(`${op}(${x}, ${y}) ${dtype}: ${got[i]}, cpu ${want[i]}`);
        }
      }
    }
  }
});

Deno.test("ir: where and every cast match the CPU backend", () => {
  const dtypes: DType[] = ["float32", "float64", "int32", "bool"];
  for (const from of dtypes) {
    const x = valuesOf(from);
    for (const to of dtypes) {
      const want = cpu.readSync(
        cpu.cast({ x: cpu.upload(x.slice(), from), size: x.length, from, to }),
        to,
        x.length,
      );
      const got = runJs(castOpKernel(from, to).output, [x], [x.length], [[1]], to);
      for (let i = 0; i < x.length; i++) {
        if (!Object.is(got[i], want[i])) {
          assert.fail(`cast ${from}→${to} of ${x[i]}: ${got[i]}, cpu ${want[i]}`);
        }
      }
    }
    // where: condition a column, a a row, b a scalar
    const c = valuesOf("bool").slice(0, 7), a = x.slice(0, 9), b = x.slice(9, 10);
    const shape = [7, 9], strides = [[1, 0], [0, 1], [0, 0]];
    const want = cpu.readSync(
      cpu.where({
        cond: cpu.upload(c.slice(), "bool"),
        condStrides: strides[0],
        a: cpu.upload(a.slice(), from),
        aStrides: strides[1],
        b: cpu.upload(b.slice(), from),
        bStrides: strides[2],
        outShape: shape,
        dtype: from,
      }),
      from,
      63,
    );
    const got = runJs(whereOpKernel(from).output, [c, a, b], shape, strides, from);
    assert.deepEqual(Array.from(got).map(String), Array.from(want).map(String), `where ${from}`);
  }
});

// ---------------------------------------------------------------- kernels, cache, fusion

Deno.test("ir: kernel specs check operand types; the cache compiles each key once", () => {
  const cache = new KernelCache<number>();
  let compiles = 0;
  const build = () => elementwiseKernel(load(0, "f32").mul(load(1, "f32")).add(load(2, "f32")));
  cache.get(build(), () => ++compiles);
  cache.get(build(), () => ++compiles);
  cache.get(elementwiseKernel(load(0, "f32").mul(load(1, "f32"))), () => ++compiles);
  assert.equal(compiles, 2);
  assert.equal(cache.size, 2);
  assert.equal(unaryOpKernel("exp", "float32"), unaryOpKernel("exp", "float32")); // memoised
  assert.throws(() => elementwiseKernel(load(1, "f32")), /operand 0 is never loaded/);
  assert.throws(() => elementwiseKernel(load(0, "f32"), ["i32"]), /loaded as f32 but declared i32/);
  assert.throws(
    () => reduceKernel("sum", load(0, "f32"), ["f32"], load(0, "i32")),
    /epilogue: operand 0 is loaded as i32 but declared f32/,
  );
  assert.equal(reduceKernel("argmax", load(0, "f32"), ["f32"], load(0, "i32")).combine, "argmax");
});

Deno.test("ir: one fused kernel for a·b + c (broadcast) and the sigmoid equals the ops one by one", () => {
  const rng = lcg(3);
  const a = Float32Array.from({ length: 4 * 5 }, () => rng() * 8 - 4); // [4, 5]
  const b = Float32Array.from({ length: 5 }, () => rng() * 8 - 4); // [5], broadcast over rows
  const c = Float32Array.from({ length: 4 }, () => rng() * 8 - 4); // [4, 1]
  const shape = [4, 5];
  const strides = [[5, 1], [0, 1], [1, 0]];
  const x = (i: number) => load(i, "f32");
  const fused = elementwiseKernel(x(0).mul(x(1)).add(x(2)));
  const got = runJs(fused.output, [a, b, c], shape, strides, "float32");
  const up = (v: Float32Array) => cpu.upload(v.slice(), "float32");
  const ab = cpu.binary({
    op: "mul",
    a: up(a),
    aStrides: [5, 1],
    b: up(b),
    bStrides: [0, 1],
    outShape: shape,
    dtype: "float32",
  });
  const want = cpu.readSync(
    cpu.binary({
      op: "add",
      a: ab,
      aStrides: [5, 1],
      b: up(c),
      bStrides: [1, 0],
      outShape: shape,
      dtype: "float32",
    }),
    "float32",
    20,
  );
  assert.deepEqual(got, want); // two roundings, as op by op
  // sigmoid 1/(1 + e^−x): within 2 ulp of the CPU's op-by-op result
  const sig = elementwiseKernel(constant(1, "f32").div(exp(x(0).neg()).add(1)));
  const xs = Float32Array.from({ length: 200 }, (_, i) => (i - 100) * 0.37);
  const s = runJs(sig.output, [xs], [200], [[1]], "float32");
  const e = cpu.unary({
    op: "exp",
    x: cpu.unary({ op: "neg", x: up(xs), size: 200, dtype: "float32" }),
    size: 200,
    dtype: "float32",
  });
  const den = cpu.binary({
    op: "add",
    a: e,
    aStrides: [1],
    b: up(new Float32Array([1])),
    bStrides: [0],
    outShape: [200],
    dtype: "float32",
  });
  const ref = cpu.readSync(
    cpu.binary({
      op: "div",
      a: up(new Float32Array([1])),
      aStrides: [0],
      b: den,
      bStrides: [1],
      outShape: [200],
      dtype: "float32",
    }),
    "float32",
    200,
  );
  for (let i = 0; i < 200; i++) assert.ok(ulps(s[i], ref[i]) <= 2, `sigmoid(${xs[i]})`);
});

// ---------------------------------------------------------------- WGSL text

Deno.test("ir: WGSL — constants WGSL cannot write are private bit patterns; no constant-only ops", () => {
  const x = load(0, "f32");
  const w = renderWgsl("f", select(x.gt(0), constant(NaN, "f32"), constant(Infinity, "f32").neg()));
  assert.match(w.prelude, /var<private> ir_k7fc00000: u32 = 2143289344u;/);
  assert.match(w.prelude, /var<private> ir_kff800000: u32 = 4286578688u;/); // −∞ folded
  assert.doesNotMatch(w.fn, /-bitcast/);
  // 1/0 without loads is folded on the host, never a const-expression division by zero
  const folded = renderWgsl("g", x.add(constant(1, "f32").div(constant(0, "f32"))));
  assert.match(folded.fn, /x0 \+ bitcast<f32>\(ir_k7f800000\)/);
  assert.doesNotMatch(folded.fn, /ir_div/);
  // division, max, conversions use the helpers that pin their semantics
  const h = renderWgsl("h", x.div(x.max(1)).convert("i32"));
  for (const name of ["ir_div", "ir_max", "ir_f2i", "ir_isnan"]) {
    assert.match(h.prelude, new RegExp(`fn ${name}`));
  }
  assert.equal(renderWgsl("k", load(0, "i32").convert("f32")).fn.includes("ir_i2f"), true);
  assert.throws(() => renderWgsl("d", load(0, "f64").add(1)), /no WGSL form for f64/);
  assert.equal(
    renderWgsl("m", load(0, "i32").add(-2147483648)).fn.includes("i32(-2147483647 - 1)"),
    true,
  );
});

Deno.test("exp: 0 below −150·ln2 (half the smallest subnormal), the smallest subnormal just above", () => {
  const f = compileJsScalar(exp(load(0, "f32")));
  const edge = Math.fround(-150 * Math.LN2);
  assert.equal(f(edge), 2 ** -149); // e^edge is just above 2^-150: rounds up
  for (const x of [nextDown(edge), -104, -1e30, -Infinity]) assert.equal(f(x), 0, String(x));
  assert.ok(Number.isNaN(f(NaN)));
});

/** The float32 just below `x` (a negative float32). */
function nextDown(x: number): number {
  const b = new Float32Array([x]);
  new Uint32Array(b.buffer)[0] += 1;
  return b[0];
}
