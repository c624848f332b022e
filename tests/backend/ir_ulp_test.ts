/**
 * The ulp table of the kernel IR's float32 transcendentals: for each
 * function, the largest error in float32 ulps (of the exact value, so
 * fractional: 0.5 is a correctly rounded result) against float64 references
 * — `Math.*`, and the CPU backend's float64 `erf`/`erfc` — over 2²⁰ inputs
 * (half evenly spaced over the useful range, half every k-th float32 bit
 * pattern of the domain, which reaches tiny, huge and subnormal values) plus
 * the special values (which must match exactly: NaN, ±∞, ±0), per renderer
 * that runs here: the JS renderer with separate and with fused multiply-adds
 * (`contractFma`), WebAssembly SIMD with plain and (where relaxed SIMD
 * exists) `relaxed_madd` multiply-adds, and WGSL on the WebGPU adapter when
 * there is one. The
 * table is printed (it goes in the README) and each row is held to bounds.
 * `pow` is measured on pairs and reported as `max ulp / (1 + |b·ln a|)`
 * too, since `exp(b·log a)` loses about `|b·ln a|` ulp.
 *
 * Renderers are a table: a target that evaluates IR graphs adds a row (the
 * WASM rows run the renderer's own loop; the `wasm` backend's kernels add a
 * row when they come from it).
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../../src/backend/cpu/cpu_backend.ts";
import type { UnaryOp } from "../../src/backend/backend.ts";
import { load } from "../../src/backend/ir/expr.ts";
import {
  BINARY_EXPR,
  binaryOpKernel,
  UNARY_EXPR,
  unaryOpKernel,
} from "../../src/backend/ir/ops.ts";
import { compileJsElementwise, compileJsMap } from "../../src/backend/ir/render_js.ts";
import type { ElementwiseKernel } from "../../src/backend/ir/kernel.ts";
import { wasmEvaluator } from "../../src/backend/ir/render_wasm.ts";
import { wasmFeatures } from "../../src/backend/wasm/asm/mod.ts";
import { GpuContext } from "../../src/backend/webgpu/context.ts";
import { irKernel } from "../../src/backend/webgpu/kernels_elementwise.ts";
import { lcg } from "../_helpers.ts";

const cpu = new CpuBackend();
const ctx: GpuContext | null = await GpuContext.create().catch(() => null);

/** A target that evaluates IR kernels: unary ops over `x`, and binary ops over pairs. */
interface Renderer {
  readonly name: string;
  unary(op: UnaryOp, x: Float32Array): Promise<Float32Array>;
  pow(a: Float32Array, b: Float32Array): Promise<Float32Array>;
}

/** The JS renderer, with or without fused multiply-adds. */
function jsRenderer(contractFma: boolean): Renderer {
  return {
    name: contractFma ? "JS f32, fma fused" : "JS f32",
    unary(op, x) {
      const out = new Float32Array(x.length);
      compileJsMap(UNARY_EXPR[op](load(0, "f32")), { contractFma })(x, out);
      return Promise.resolve(out);
    },
    pow(a, b) {
      const out = new Float32Array(a.length);
      const f = compileJsElementwise(BINARY_EXPR.pow(load(0, "f32"), load(1, "f32")), {
        contractFma,
      });
      f(out, [a, b], [a.length], [[1], [1]]);
      return Promise.resolve(out);
    },
  };
}

/** WGSL through the webgpu kernels (the adapter's compiler decides about fusing). */
function wgslRenderer(gpu: GpuContext): Renderer {
  const run = async (kernel: Parameters<typeof irKernel>[2], ins: Float32Array[]) => {
    const stores = ins.map((x) => gpu.upload("ulp", x));
    const out = irKernel(gpu, "ulp", kernel, stores.map((store) => ({ store, strides: [1] })), [
      ins[0].length,
    ]);
    const data = new Float32Array(await gpu.read(out, ins[0].length * 4));
    for (const s of [...stores, out]) gpu.release(s);
    return data;
  };
  return {
    name: `WGSL (${gpu.description})`,
    unary: (op, x) => run(unaryOpKernel(op, "float32"), [x]),
    pow: (a, b) => run(binaryOpKernel("pow", "float32"), [a, b]),
  };
}

/** The WebAssembly SIMD renderer (four lanes, one loop), with or without `relaxed_madd`. */
function wasmRenderer(contractFma: boolean): Renderer {
  const run = (kernel: ElementwiseKernel, ins: Float32Array[]) => {
    const out = new Float32Array(ins[0].length);
    wasmEvaluator(kernel, { contractFma })(ins, out);
    return Promise.resolve(out);
  };
  return {
    name: contractFma ? "WASM SIMD, relaxed_madd" : "WASM SIMD",
    unary: (op, x) => run(unaryOpKernel(op, "float32"), [x]),
    pow: (a, b) => run(binaryOpKernel("pow", "float32"), [a, b]),
  };
}

const RENDERERS: readonly Renderer[] = [
  jsRenderer(false),
  jsRenderer(true),
  wasmRenderer(false),
  ...(wasmFeatures().relaxedSimd ? [wasmRenderer(true)] : []),
  ...(ctx === null ? [] : [wgslRenderer(ctx)]),
];

/** The ulp of float32 at |v| (2⁻¹⁴⁹ in the subnormal range). */
function ulp32(v: number): number {
  const a = Math.abs(v);
  if (a < 2 ** -126) return 2 ** -149;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  return 2 ** (e - 23);
}

/**
 * Error of `got` against the exact `want` in ulps of `want`; 0 when both are
 * NaN or equal infinities; Infinity where a special value is wrong.
 */
function ulpError(got: number, want: number): number {
  if (Number.isNaN(want) || Number.isNaN(got)) {
    return Number.isNaN(want) && Number.isNaN(got) ? 0 : Infinity;
  }
  const w32 = Math.fround(want);
  if (!Number.isFinite(w32) || !Number.isFinite(got)) {
    // beyond the float32 range: the rounded value must match (±∞ or ±max)
    return Object.is(got, w32)
      ? 0
      : Math.abs(got) === 3.4028234663852886e38 && Math.abs(want) < 3.4028235677973366e38
      ? 1
      : Infinity;
  }
  if (want === 0) return got === 0 ? 0 : Math.abs(got) / 2 ** -149;
  return Math.abs(got - want) / ulp32(want);
}

const N = 1 << 19;

/** `count` evenly spaced float32 values in [lo, hi]. */
function spaced(lo: number, hi: number, count = N): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => lo + ((hi - lo) * i) / (count - 1));
}

/** `count` float32 values of every k-th bit pattern in [lo, hi] (lo, hi ≥ 0 or both ≤ 0). */
function patterns(lo: number, hi: number, count = N): Float32Array {
  const bits = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0];
  const out = new Float32Array(count);
  const u = new Uint32Array(out.buffer);
  const sign = lo < 0 || Object.is(lo, -0) ? 0x80000000 : 0;
  const [a, b] = [bits(Math.abs(lo)) & 0x7fffffff, bits(Math.abs(hi)) & 0x7fffffff].sort((x, y) =>
    x - y
  );
  for (let i = 0; i < count; i++) u[i] = (a + Math.floor(((b - a) * i) / (count - 1))) | sign;
  return out;
}

const SPECIALS = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1e-45,
  -1e-45,
  1e-40,
  3.4028234663852886e38,
  -3.4028234663852886e38,
];

/** Joins arrays into one float32 array. */
const join = (...parts: ArrayLike<number>[]) => {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** float64 reference of a unary op (the CPU backend for erf/erfc, `Math.*` otherwise). */
function reference(op: UnaryOp, x: Float32Array): Float64Array {
  if (op === "erf" || op === "erfc") {
    const h = cpu.unary({
      op,
      x: cpu.upload(Float64Array.from(x), "float64"),
      size: x.length,
      dtype: "float64",
    });
    return cpu.readSync(h, "float64", x.length) as Float64Array;
  }
  const f = {
    exp: Math.exp,
    log: Math.log,
    log1p: Math.log1p,
    expm1: Math.expm1,
    tanh: Math.tanh,
    sin: Math.sin,
    cos: Math.cos,
  }[op as "exp"];
  return Float64Array.from(x, f);
}

/** Per function: the inputs (useful range evenly spaced, then bit patterns of the domain). */
const CASES: readonly [UnaryOp, Float32Array][] = [
  ["exp", join(spaced(-104, 89), patterns(-0, -110, N / 2), patterns(0, 90, N / 2), SPECIALS)],
  ["log", join(spaced(1e-3, 20), patterns(0, 3.4e38), spaced(-5, 0, 64), SPECIALS)],
  ["log1p", join(spaced(-0.999, 5), patterns(0, 3.4e38, N / 2), patterns(-0, -1, N / 2), SPECIALS)],
  ["expm1", join(spaced(-20, 89), patterns(0, 90, N / 2), patterns(-0, -110, N / 2), SPECIALS)],
  ["tanh", join(spaced(-12, 12), patterns(0, 20, N / 2), patterns(-0, -3.4e38, N / 2), SPECIALS)],
  ["sin", join(spaced(-100, 100), patterns(0, 3.4e38, N / 2), patterns(-0, -1e6, N / 2), SPECIALS)],
  ["cos", join(spaced(-100, 100), patterns(0, 3.4e38, N / 2), patterns(-0, -1e6, N / 2), SPECIALS)],
  ["erf", join(spaced(-6, 6), patterns(0, 10, N / 2), patterns(-0, -3.4e38, N / 2), SPECIALS)],
  ["erfc", join(spaced(-6, 10.1), patterns(0, 11, N / 2), patterns(-0, -10, N / 2), SPECIALS)],
];

/** Asserted bounds per function (max ulp over every renderer; measured values are printed). */
const BOUNDS: Readonly<Record<string, number>> = {
  exp: 1.5,
  log: 1,
  log1p: 1,
  expm1: 1.75,
  tanh: 1.75,
  sin: 3,
  cos: 3,
  erf: 1,
  erfc: 3,
  pow: 3, // per (1 + |b·ln a|)
};

Deno.test("ir ulp table: each transcendental against float64, per renderer", async () => {
  const rows: string[] = [];
  const header = ["function", "inputs", ...RENDERERS.map((r) => r.name)];
  const failures: string[] = [];
  for (const [op, x] of CASES) {
    const want = reference(op, x);
    const cells: string[] = [];
    for (const r of RENDERERS) {
      const got = await r.unary(op, x);
      let worst = 0, at = NaN;
      for (let i = 0; i < x.length; i++) {
        const e = ulpError(got[i], want[i]);
        if (e > worst) [worst, at] = [e, x[i]];
      }
      cells.push(worst.toFixed(2));
      if (!(worst <= BOUNDS[op])) failures.push(`${op} on ${r.name}: ${worst} ulp at x = ${at}`);
    }
    rows.push([op, String(x.length), ...cells].join(" | "));
  }
  // pow: positive bases with any exponent, negative bases with integer ones
  const rng = lcg(5);
  const a = join(
    Float32Array.from({ length: N }, () => rng() * 10),
    Float32Array.from({ length: N / 2 }, () => -rng() * 4),
    Float32Array.from({ length: N / 2 }, () => Math.exp((rng() - 0.5) * 160)),
  );
  const b = join(
    Float32Array.from({ length: N }, () => (rng() - 0.5) * 20),
    Float32Array.from({ length: N / 2 }, () => Math.round((rng() - 0.5) * 30)),
    Float32Array.from({ length: N / 2 }, () => (rng() - 0.5) * 2),
  );
  const cells: string[] = [];
  for (const r of RENDERERS) {
    const got = await r.pow(a, b);
    let worst = 0, scaled = 0, at = "";
    for (let i = 0; i < a.length; i++) {
      const e = ulpError(got[i], Math.pow(a[i], b[i]));
      const s = e / (1 + Math.abs(b[i] * Math.log(Math.abs(a[i]))));
      worst = Math.max(worst, e);
      if (s > scaled) [scaled, at] = [s, `pow(${a[i]}, ${b[i]})`];
    }
    cells.push(`${scaled.toFixed(2)} (max ${worst.toFixed(0)})`);
    if (!(scaled <= BOUNDS.pow)) {
      failures.push(`pow on ${r.name}: ${scaled} ulp/(1 + |b ln a|) at ${at}`);
    }
  }
  rows.push(["pow ¹", String(a.length), ...cells].join(" | "));
  console.log(
    [
      `| ${header.join(" | ")} |`,
      `|${header.map(() => " --- ").join("|")}|`,
      ...rows.map((r) => `| ${r} |`),
      "",
      "¹ pow: the largest error divided by 1 + abs(b·ln a), then the largest error itself",
    ].join("\n"),
  );
  assert.deepEqual(failures, []);
});
