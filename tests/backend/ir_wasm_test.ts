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
import { constant, load } from "../../src/backend/ir/expr.ts";
import { type ElementwiseKernel, elementwiseKernel } from "../../src/backend/ir/kernel.ts";
import {
  binaryOpKernel,
  castOpKernel,
  unaryOpKernel,
  whereOpKernel,
} from "../../src/backend/ir/ops.ts";
import { compileJsElementwise } from "../../src/backend/ir/render_js.ts";
import { wasmEvaluator } from "../../src/backend/ir/render_wasm.ts";
import { wasmFeatures } from "../../src/backend/wasm/asm/mod.ts";
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
