/**
 * Tests of the wasm backend's kernels (`src/backend/wasm/kernels/`): the
 * elementwise and reduction kernels the kernel IR renders to WebAssembly
 * SIMD, and the gather/scatter-add/fill kernels, for both variants
 * (`"relaxed"` is skipped where the runtime rejects it), on a shared
 * `WebAssembly.Memory`, against float64 JavaScript references. Inputs come
 * from a seeded LCG. The kernels are reached through the names the
 * hand-written kernels had (`exp`, `add_i32`, `sum_rows`, …; see `byName`).
 *
 * Tolerances:
 * - neg, abs, square, sqrt, floor, ceil, round (half to even), sign, the
 *   int32 ops, every binary op, comparisons, where, max/min reductions and
 *   fill32: exact (`Math.fround` of the float64 result; any NaN matches any
 *   NaN; the sign of zero must match).
 * - exp, log, tanh, expm1, log1p: at most 2 ulp from `Math.fround(Math.f(x))`
 *   (distance between float32 bit patterns), exact for special results
 *   (NaN, ±Inf, ±0, ±1 at saturation).
 * - sum_rows / sum_cols: at most 1 ulp from a sequential float64 sum rounded
 *   to float32.
 * - gather32 and scatter_add_f32: bit-exact (compared as uint32 words) with
 *   the CPU backend's loops (scatter-add: a `Float64Array` accumulation in
 *   the order o, c, i, rounded once).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  compiledModules,
  type KernelVariant,
  WasmKernels,
} from "../../src/backend/wasm/kernels/module.ts";
import type { BinaryOp, UnaryOp } from "../../src/backend/backend.ts";
import {
  binaryOpKernel,
  reduceOpKernel,
  unaryOpKernel,
  whereOpKernel,
} from "../../src/backend/ir/ops.ts";
import { load } from "../../src/backend/ir/expr.ts";
import { elementwiseKernel, reduceKernel } from "../../src/backend/ir/kernel.ts";
import { exp } from "../../src/backend/ir/math.ts";

const PAGES = 128; // 8 MiB
const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
const f32 = new Float32Array(memory.buffer);
const i32 = new Int32Array(memory.buffer);
const u8 = new Uint8Array(memory.buffer);

/** Kernels by the names of the tests' tables; every argument is an i32. */
type KernelExports = Readonly<Record<string, (...args: number[]) => void>>;

/** `Σ exp(x − shift)` along rows: the IR's exp as a reduction prologue, shift broadcast along the axis. */
const SUMEXP = reduceKernel("sum", exp(load(0, "f32").sub(load(1, "f32"))), ["f32", "f32"]);

/** The kernels under the names the tests use: IR kernels by opcode and dtype, and the index kernels. */
function byName(k: WasmKernels): KernelExports {
  const out: Record<string, (...args: number[]) => void> = {};
  const unary: [string, UnaryOp, "float32" | "int32"][] = [
    ...(["neg", "abs", "square", "sqrt", "floor", "ceil", "round", "sign"] as const).map((
      op,
    ) => [op, op, "float32"] as [string, UnaryOp, "float32"]),
    ...(["exp", "log", "tanh", "expm1", "log1p"] as const).map((
      op,
    ) => [op, op, "float32"] as [string, UnaryOp, "float32"]),
    ["neg_i32", "neg", "int32"],
    ["abs_i32", "abs", "int32"],
    ["square_i32", "square", "int32"],
  ];
  for (const [name, op, dtype] of unary) {
    const f = k.elementwise(unaryOpKernel(op, dtype));
    out[name] = (x, o, n) => f(x, 0, 1, o, 1, n);
  }
  const f32Ops: BinaryOp[] = ["add", "sub", "mul", "div", "maximum", "minimum"];
  const cmps: BinaryOp[] = ["equal", "notEqual", "greater", "greaterEqual", "less", "lessEqual"];
  for (const op of [...f32Ops, ...cmps]) out[op] = k.elementwise(binaryOpKernel(op, "float32"));
  for (const op of [...cmps, "add", "sub", "mul", "maximum", "minimum"] as BinaryOp[]) {
    out[`${op}_i32`] = k.elementwise(binaryOpKernel(op, "int32"));
  }
  out.and_u8 = k.elementwise(binaryOpKernel("logicalAnd", "bool"));
  out.or_u8 = k.elementwise(binaryOpKernel("logicalOr", "bool"));
  out.where_f32 = k.elementwise(whereOpKernel("float32"));
  for (const op of ["sum", "max", "min"] as const) {
    // The backend's way: one function for rows (inner = 1), one for columns.
    const rows = k.reduce(reduceOpKernel(op, "float32"), ["full"], "rows");
    const cols = k.reduce(reduceOpKernel(op, "float32"), ["full"], "columns");
    out[`${op}_rows`] = (x, o, outer, n) => rows(x, o, outer, n, 1);
    out[`${op}_cols`] = (x, o, outer, n, inner) =>
      (inner === 1 ? rows : cols)(x, o, outer, n, inner);
    out[`${op}_both`] = k.reduce(reduceOpKernel(op, "float32"), ["full"]);
  }
  const sumexp = k.reduce(SUMEXP, ["full", "axis"], "rows");
  out.sumexp_rows = (x, shift, o, rows, n) => sumexp(x, shift, o, rows, n, 1);
  out.gather32 = k.index.gather32 as (...args: number[]) => void;
  out.scatter_add_f32 = k.index.scatter_add_f32 as (...args: number[]) => void;
  out.fill32 = k.index.fill32;
  return out;
}

/** The variants this runtime accepts, with their kernels on `memory`. */
const VARIANTS: readonly { variant: KernelVariant; k: KernelExports }[] = (
  ["relaxed", "simd"] as const
).flatMap((variant) => {
  const got = WasmKernels.create(memory, { shared: true, maxPages: PAGES, variant });
  return got === null ? [] : [{ variant, k: byName(got) }];
});

/** A seeded LCG: uniform in [0, 1) and raw 32-bit words. */
function lcg(seed: number): { next: () => number; bits: () => number } {
  let s = seed >>> 0;
  const bits = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  return { bits, next: () => bits() / 2 ** 32 };
}

/** Bump allocation of 16-byte aligned byte addresses, restarted per test. */
function allocator(): (bytes: number) => number {
  let top = 64;
  return (bytes) => {
    const p = top;
    top = (top + bytes + 15) & ~15;
    if (top > memory.buffer.byteLength) throw new RangeError("test memory exhausted");
    return p;
  };
}

const SENTINEL = 0x7fa5a5a5 | 0; // a NaN payload no kernel produces

/** Float32 bits mapped to a monotonic integer line (−0 and +0 both 0). */
function ordinal(x: number): number {
  const b = new Int32Array(new Float32Array([x]).buffer)[0];
  return b < 0 ? -(b & 0x7fffffff) : b;
}

/** Distance in float32 ulps; 0 when both are NaN, Infinity when only one is. */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  return Math.abs(ordinal(a) - ordinal(b));
}

/** Same float (any NaN matches any NaN; ±0 distinguished). */
function same(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

/** Round half to even, keeping the sign of zero (f32x4.nearest). */
function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x), d = x - f;
  const r = d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  return r === 0 ? (x < 0 || Object.is(x, -0) ? -0 : 0) : r;
}

/** Special and boundary float32 inputs for the unary ops. */
const SPECIAL = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  1.5,
  2.5,
  -2.5,
  Infinity,
  -Infinity,
  NaN,
  1e-45,
  -1e-45,
  1e-40,
  -1e-40,
  1.1754942e-38,
  1.1754944e-38,
  -1.1754944e-38,
  3.4028235e38,
  -3.4028235e38,
  88.72,
  88.7228,
  88.7229,
  89,
  -87.33,
  -87.34,
  -100,
  -103.97,
  -103.98,
  -104,
  -105,
  86,
  -86,
  0.55,
  -0.55,
  0.5499,
  9,
  -9,
  10,
  20,
  1e-7,
  -1e-7,
  1e-20,
  2 ** -12,
  0.9999999,
  1.0000001,
  -0.9999999,
  -0.99999994,
  -1.0000001,
  1e30,
  8388607.5,
  8388608.5,
  0.34657359,
  -0.34657359,
  0.70710677,
  1.4142135,
].map(Math.fround);

/** The sweep of unary inputs: specials, a linear range, log-spaced magnitudes, random bits. */
function unaryInputs(): Float32Array {
  const r = lcg(7);
  const out: number[] = [...SPECIAL];
  for (let i = 0; i < 4000; i++) out.push(-110 + 220 * r.next());
  for (let i = 0; i < 4000; i++) out.push(-2 + 4 * r.next());
  for (let i = 0; i < 4000; i++) {
    out.push((r.next() < 0.5 ? -1 : 1) * 2 ** (-149 + 277 * r.next()));
  }
  const w = new Int32Array(1), wf = new Float32Array(w.buffer);
  for (let i = 0; i < 6000; i++) {
    w[0] = r.bits() | 0;
    out.push(wf[0]);
  }
  return new Float32Array(out);
}
const INPUTS = unaryInputs();

type Ref = (x: number) => number;
const EXACT: readonly [keyof KernelExports, Ref][] = [
  ["neg", (x) => -x],
  ["abs", Math.abs],
  ["square", (x) => x * x],
  ["sqrt", Math.sqrt],
  ["floor", Math.floor],
  ["ceil", Math.ceil],
  ["round", roundHalfEven],
  ["sign", Math.sign],
];
const APPROX: readonly [keyof KernelExports, Ref][] = [
  ["exp", Math.exp],
  ["log", Math.log],
  ["tanh", Math.tanh],
  ["expm1", Math.expm1],
  ["log1p", Math.log1p],
];

/** Runs a unary kernel on `xs` at a byte offset `shift` past 16-byte alignment; checks the sentinel after. */
function runUnary(
  k: KernelExports,
  name: keyof KernelExports,
  xs: Float32Array | Int32Array,
  shift = 0,
) {
  const alloc = allocator();
  const x = alloc(4 * xs.length + 16) + shift, out = alloc(4 * xs.length + 32) + shift;
  if (xs instanceof Float32Array) f32.set(xs, x / 4);
  else i32.set(xs, x / 4);
  i32.fill(SENTINEL, out / 4, out / 4 + xs.length + 4);
  (k[name] as (x: number, out: number, n: number) => void)(x, out, xs.length);
  for (let i = 0; i < 4; i++) {
    assert.equal(i32[out / 4 + xs.length + i], SENTINEL, `${name}: wrote past n = ${xs.length}`);
  }
  return { f: f32.slice(out / 4, out / 4 + xs.length), i: i32.slice(out / 4, out / 4 + xs.length) };
}

const TAILS = [0, 1, 3, 4, 5, 17, 1000];

for (const { variant, k } of VARIANTS) {
  Deno.test(`wasm kernels (${variant}): unary exact ops`, () => {
    for (const [name, ref] of EXACT) {
      for (const n of TAILS) {
        const xs = INPUTS.subarray(0, n);
        const { f } = runUnary(k, name, xs, n % 3 === 1 ? 4 : 0);
        for (let i = 0; i < n; i++) {
          const want = Math.fround(ref(xs[i]));
          assert.ok(same(f[i], want), `${name}(${xs[i]}) = ${f[i]}, want ${want} (n = ${n})`);
        }
      }
      const { f } = runUnary(k, name, INPUTS);
      for (let i = 0; i < INPUTS.length; i++) {
        const want = Math.fround(ref(INPUTS[i]));
        assert.ok(same(f[i], want), `${name}(${INPUTS[i]}) = ${f[i]}, want ${want}`);
      }
    }
  });

  Deno.test(`wasm kernels (${variant}): exp, log, tanh, expm1, log1p within 2 ulp`, () => {
    for (const [name, ref] of APPROX) {
      for (const n of TAILS) {
        const xs = INPUTS.subarray(0, n);
        const { f } = runUnary(k, name, xs, n % 3 === 1 ? 8 : 0);
        for (let i = 0; i < n; i++) {
          const want = Math.fround(ref(xs[i]));
          assert.ok(ulps(f[i], want) <= 2, `${name}(${xs[i]}) = ${f[i]}, want ${want} (n = ${n})`);
        }
      }
      // a dense sweep as well as the mixed inputs
      const dense = new Float32Array(20000);
      const [lo, hi] = name === "log" || name === "log1p" ? [-1, 4] : [-12, 12];
      for (let i = 0; i < dense.length; i++) dense[i] = lo + (hi - lo) * i / dense.length;
      for (const xs of [INPUTS, dense]) {
        const { f } = runUnary(k, name, xs);
        let worst = 0;
        for (let i = 0; i < xs.length; i++) {
          const want = Math.fround(ref(xs[i]));
          const d = ulps(f[i], want);
          worst = Math.max(worst, d);
          assert.ok(d <= 2, `${name}(${xs[i]}) = ${f[i]}, want ${want}: ${d} ulp`);
          // special results are exact
          if (!Number.isFinite(want) || want === 0 || Math.abs(want) === 1) {
            assert.ok(same(f[i], want), `${name}(${xs[i]}) = ${f[i]}, want exactly ${want}`);
          }
        }
      }
    }
  });

  Deno.test(`wasm kernels (${variant}): exp specials and subnormal results`, () => {
    const xs = new Float32Array([-Infinity, Infinity, NaN, 88.73, 1000, -1000, -103.28, -100, -90]);
    const { f } = runUnary(k, "exp", xs);
    assert.deepEqual([...f.slice(0, 3)], [0, Infinity, NaN]);
    assert.equal(f[3], Infinity);
    assert.equal(f[4], Infinity);
    assert.equal(f[5], 0);
    for (let i = 6; i < xs.length; i++) {
      const want = Math.fround(Math.exp(xs[i]));
      assert.ok(want > 0 && want < 1.1754943508222875e-38, "subnormal reference");
      assert.ok(ulps(f[i], want) <= 1, `exp(${xs[i]}) = ${f[i]}, want ${want}`);
    }
    const logs = runUnary(k, "log", new Float32Array([0, -0, -1, -Infinity, Infinity, NaN, 1])).f;
    assert.deepEqual([...logs], [-Infinity, -Infinity, NaN, NaN, Infinity, NaN, 0]);
    const th =
      runUnary(k, "tanh", new Float32Array([-0, 0, 50, -50, Infinity, -Infinity, 1e-30])).f;
    assert.ok(Object.is(th[0], -0) && Object.is(th[1], 0));
    assert.deepEqual([...th.slice(2)], [1, -1, 1, -1, Math.fround(1e-30)]);
  });

  Deno.test(`wasm kernels (${variant}): int32 unary ops wrap`, () => {
    const r = lcg(11);
    const xs = new Int32Array(1003);
    for (let i = 0; i < xs.length; i++) xs[i] = r.bits() | 0;
    xs.set([0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 46341, -46341]);
    const refs: [keyof KernelExports, (x: number) => number][] = [
      ["neg_i32", (x) => -x | 0],
      ["abs_i32", (x) => Math.abs(x) | 0],
      ["square_i32", (x) => Math.imul(x, x)],
    ];
    for (const [name, ref] of refs) {
      for (const n of [...TAILS, 1003]) {
        const { i } = runUnary(k, name, xs.subarray(0, n), 4 * (n % 2));
        for (let e = 0; e < n; e++) assert.equal(i[e], ref(xs[e]), `${name}(${xs[e]})`);
      }
    }
  });
}

// ---------------------------------------------------------------------------
// Binary ops with 2-D broadcasting.

type Binary = (
  a: number,
  aRow: number,
  aCol: number,
  b: number,
  bRow: number,
  bCol: number,
  out: number,
  rows: number,
  cols: number,
) => void;

/** A 2-D view: element (r, c) at index r·row + c·col. */
interface View {
  readonly row: number;
  readonly col: 0 | 1;
}

/** The (row, col) strides tried for an operand: every col flag with a broadcast, a padded and a contiguous row. */
function views(cols: number): View[] {
  return [
    { row: 0, col: 0 },
    { row: 1, col: 0 },
    { row: 3, col: 0 },
    { row: 0, col: 1 },
    { row: cols, col: 1 },
    { row: cols + 3, col: 1 },
  ];
}

/** Number of elements a view needs for `rows × cols`. */
function extent(v: View, rows: number, cols: number): number {
  return rows === 0 || cols === 0 ? 1 : (rows - 1) * v.row + (cols - 1) * v.col + 1;
}

const SHAPES: readonly [number, number][] = [
  [1, 1],
  [1, 5],
  [3, 17],
  [2, 40],
  [4, 3],
  [1, 0],
  [
    0,
    4,
  ],
  [5, 1],
  [2, 37],
];

/** float32 values with specials mixed in. */
function floatData(r: ReturnType<typeof lcg>, n: number): Float32Array {
  const out = new Float32Array(n);
  const specials = [0, -0, NaN, Infinity, -Infinity, 1, -1];
  for (let i = 0; i < n; i++) {
    const u = r.next();
    out[i] = u < 0.15
      ? specials[Math.floor(r.next() * specials.length)]
      : u < 0.3
      ? Math.round(r.next() * 4 - 2)
      : (r.next() - 0.5) * 10 ** (r.next() * 6 - 3);
  }
  return out;
}

/** int32 values: small, extreme and random words. */
function intData(r: ReturnType<typeof lcg>, n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r.next();
    out[i] = u < 0.4
      ? Math.floor(r.next() * 7) - 3
      : u < 0.5
      ? (r.next() < 0.5 ? 2 ** 31 - 1 : -(2 ** 31))
      : r.bits();
  }
  return out;
}

/**
 * Runs `fn` for every shape and pair of views against `ref(a, b)` at each
 * element; `kind` picks the element types of the inputs and output.
 */
function checkBinary(
  label: string,
  fn: Binary,
  kind: "f32" | "i32" | "f32cmp" | "i32cmp" | "u8",
  ref: (a: number, b: number) => number,
  seed: number,
): void {
  const r = lcg(seed);
  const inSize = kind === "u8" ? 1 : 4;
  const outSize = kind === "f32" || kind === "i32" ? 4 : 1;
  for (const [rows, cols] of SHAPES) {
    for (const va of views(cols)) {
      for (const vb of views(cols)) {
        const alloc = allocator();
        const na = extent(va, rows, cols), nb = extent(vb, rows, cols);
        const a = alloc(inSize * na),
          b = alloc(inSize * nb),
          out = alloc(outSize * rows * cols + 16);
        let av: ArrayLike<number>, bv: ArrayLike<number>;
        if (kind === "u8") {
          const pick = [0, 1, 1, 0, 2, 255];
          const ab = Uint8Array.from(
            { length: na },
            () => pick[Math.floor(r.next() * pick.length)],
          );
          const bb = Uint8Array.from(
            { length: nb },
            () => pick[Math.floor(r.next() * pick.length)],
          );
          u8.set(ab, a);
          u8.set(bb, b);
          [av, bv] = [ab, bb];
        } else if (kind === "i32" || kind === "i32cmp") {
          const ai = intData(r, na), bi = intData(r, nb);
          i32.set(ai, a / 4);
          i32.set(bi, b / 4);
          [av, bv] = [ai, bi];
        } else {
          const af = floatData(r, na), bf = floatData(r, nb);
          f32.set(af, a / 4);
          f32.set(bf, b / 4);
          [av, bv] = [af, bf];
        }
        u8.fill(0xa5, out, out + outSize * rows * cols + 16);
        fn(a, va.row, va.col, b, vb.row, vb.col, out, rows, cols);
        const where = `${label} ${rows}×${cols} a(${va.row},${va.col}) b(${vb.row},${vb.col})`;
        for (let e = 0; e < rows * cols; e++) {
          const rr = Math.floor(e / cols), cc = e % cols;
          const x = av[rr * va.row + cc * va.col], y = bv[rr * vb.row + cc * vb.col];
          const want = ref(x, y);
          const got = outSize === 1
            ? u8[out + e]
            : kind === "f32"
            ? f32[out / 4 + e]
            : i32[out / 4 + e];
          assert.ok(
            same(got, want),
            `${where} [${rr},${cc}]: op(${x}, ${y}) = ${got}, want ${want}`,
          );
        }
        for (let e = 0; e < 16; e++) {
          assert.equal(u8[out + outSize * rows * cols + e], 0xa5, `${where}: wrote past the end`);
        }
      }
    }
  }
}

for (const { variant, k } of VARIANTS) {
  Deno.test(`wasm kernels (${variant}): float32 binary ops, every broadcast case`, () => {
    const ops: [keyof KernelExports, (a: number, b: number) => number][] = [
      ["add", (a, b) => a + b],
      ["sub", (a, b) => a - b],
      ["mul", (a, b) => a * b],
      ["div", (a, b) => a / b],
      ["maximum", Math.max],
      ["minimum", Math.min],
    ];
    for (const [name, ref] of ops) {
      checkBinary(name, k[name] as Binary, "f32", (a, b) => Math.fround(ref(a, b)), 100);
    }
  });

  Deno.test(`wasm kernels (${variant}): comparisons write bytes`, () => {
    const cmps: [string, (a: number, b: number) => boolean][] = [
      ["equal", (a, b) => a === b],
      ["notEqual", (a, b) => a !== b],
      ["greater", (a, b) => a > b],
      ["greaterEqual", (a, b) => a >= b],
      ["less", (a, b) => a < b],
      ["lessEqual", (a, b) => a <= b],
    ];
    for (const [name, ref] of cmps) {
      const k32 = k[name as keyof KernelExports] as Binary;
      const ki = k[`${name}_i32` as keyof KernelExports] as Binary;
      checkBinary(name, k32, "f32cmp", (a, b) => ref(a, b) ? 1 : 0, 200);
      checkBinary(`${name}_i32`, ki, "i32cmp", (a, b) => ref(a, b) ? 1 : 0, 300);
    }
  });

  Deno.test(`wasm kernels (${variant}): int32 binary ops wrap, bool and/or`, () => {
    const ops: [keyof KernelExports, (a: number, b: number) => number][] = [
      ["add_i32", (a, b) => (a + b) | 0],
      ["sub_i32", (a, b) => (a - b) | 0],
      ["mul_i32", Math.imul],
      ["maximum_i32", Math.max],
      ["minimum_i32", Math.min],
    ];
    for (const [name, ref] of ops) checkBinary(name, k[name] as Binary, "i32", ref, 400);
    checkBinary("and_u8", k.and_u8, "u8", (a, b) => (a !== 0 && b !== 0 ? 1 : 0), 500);
    checkBinary("or_u8", k.or_u8, "u8", (a, b) => (a !== 0 || b !== 0 ? 1 : 0), 600);
  });

  Deno.test(`wasm kernels (${variant}): where_f32, every broadcast case`, () => {
    const r = lcg(700);
    for (const [rows, cols] of SHAPES) {
      for (const vc of views(cols)) {
        for (const va of views(cols).filter((_, i) => i % 2 === 0 || cols > 3)) {
          for (const vb of [views(cols)[1], views(cols)[5]]) {
            const alloc = allocator();
            const nc = extent(vc, rows, cols), na = extent(va, rows, cols);
            const nb = extent(vb, rows, cols);
            const c = alloc(nc),
              a = alloc(4 * na),
              b = alloc(4 * nb),
              out = alloc(4 * rows * cols + 16);
            for (let e = 0; e < nc; e++) u8[c + e] = r.next() < 0.5 ? 0 : r.next() < 0.8 ? 1 : 7;
            for (let e = 0; e < na; e++) i32[a / 4 + e] = r.bits() | 0; // any bits, NaN payloads too
            for (let e = 0; e < nb; e++) i32[b / 4 + e] = r.bits() | 0;
            i32.fill(SENTINEL, out / 4, out / 4 + rows * cols + 4);
            k.where_f32(c, vc.row, vc.col, a, va.row, va.col, b, vb.row, vb.col, out, rows, cols);
            for (let e = 0; e < rows * cols; e++) {
              const rr = Math.floor(e / cols), cc = e % cols;
              const cond = u8[c + rr * vc.row + cc * vc.col] !== 0;
              const want = cond
                ? i32[a / 4 + rr * va.row + cc * va.col]
                : i32[b / 4 + rr * vb.row + cc * vb.col];
              assert.equal(i32[out / 4 + e], want, `where ${rows}×${cols} [${rr},${cc}]`);
            }
            assert.equal(i32[out / 4 + rows * cols], SENTINEL);
          }
        }
      }
    }
  });
}

// ---------------------------------------------------------------------------
// Reductions and fill.

/** Values spanning magnitudes so a float32 accumulator would visibly differ from float64. */
function sumData(r: ReturnType<typeof lcg>, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = r.next() < 0.1 ? (r.next() - 0.5) * 1e7 : (r.next() - 0.3) * 3;
  }
  return out;
}

for (const { variant, k } of VARIANTS) {
  Deno.test(`wasm kernels (${variant}): sum_rows / sum_cols accumulate in float64`, () => {
    const r = lcg(800);
    for (const outer of [1, 3]) {
      for (const n of [1, 2, 3, 7, 8, 9, 17, 100, 1001]) {
        const alloc = allocator();
        const data = sumData(r, outer * n);
        const x = alloc(4 * data.length + 16) + 4 * (n % 2), out = alloc(4 * outer + 16);
        f32.set(data, x / 4);
        i32.fill(SENTINEL, out / 4, out / 4 + outer + 1);
        k.sum_rows(x, out, outer, n);
        for (let o = 0; o < outer; o++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += data[o * n + j];
          const want = Math.fround(s);
          assert.ok(
            ulps(f32[out / 4 + o], want) <= 1,
            `sum_rows n=${n}: ${f32[out / 4 + o]} vs ${want}`,
          );
        }
        assert.equal(i32[out / 4 + outer], SENTINEL);
      }
    }
    for (const outer of [1, 2]) {
      for (const n of [1, 3, 10]) {
        for (const inner of [1, 2, 3, 4, 5, 7, 16, 17, 21, 33, 40]) {
          const alloc = allocator();
          const data = sumData(r, outer * n * inner);
          const x = alloc(4 * data.length), out = alloc(4 * outer * inner + 16);
          f32.set(data, x / 4);
          i32.fill(SENTINEL, out / 4, out / 4 + outer * inner + 1);
          k.sum_cols(x, out, outer, n, inner);
          for (let o = 0; o < outer; o++) {
            for (let c = 0; c < inner; c++) {
              let s = 0;
              for (let j = 0; j < n; j++) s += data[(o * n + j) * inner + c];
              const got = f32[out / 4 + o * inner + c], want = Math.fround(s);
              assert.ok(
                ulps(got, want) <= 1,
                `sum_cols [${outer},${n},${inner}] (${o},${c}): ${got} vs ${want}`,
              );
            }
          }
          assert.equal(i32[out / 4 + outer * inner], SENTINEL);
        }
      }
    }
    // float64 accumulation: 1e8 + 1 + 1 + … − 1e8 keeps the ones.
    const alloc = allocator();
    const x = alloc(4 * 102), out = alloc(16);
    f32.fill(1, x / 4, x / 4 + 102);
    f32[x / 4] = 1e8;
    f32[x / 4 + 101] = -1e8;
    k.sum_rows(x, out, 1, 102);
    assert.equal(f32[out / 4], 100);
    k.sum_cols(x, out, 1, 102, 1);
    assert.equal(f32[out / 4], 100);
    // The function rendered for both parts gives the same bits as the specialised ones.
    const data = sumData(r, 2 * 9 * 21);
    const y = alloc(4 * data.length), o1 = alloc(4 * 42), o2 = alloc(4 * 42);
    f32.set(data, y / 4);
    for (const inner of [1, 21]) {
      k.sum_cols(y, o1, 2, 9, inner);
      k.sum_both(y, o2, 2, 9, inner);
      assert.deepEqual(
        f32.slice(o1 / 4, o1 / 4 + 2 * inner),
        f32.slice(o2 / 4, o2 / 4 + 2 * inner),
      );
    }
  });

  Deno.test(`wasm kernels (${variant}): a reduction rendered for rows traps on columns`, () => {
    const got = WasmKernels.create(memory, { shared: true, maxPages: PAGES, variant })!;
    const f = got.reduce(reduceOpKernel("sum", "float32"), ["full"], "rows");
    const alloc = allocator();
    const x = alloc(4 * 64), out = alloc(4 * 16);
    assert.throws(() => f(x, out, 1, 4, 8), WebAssembly.RuntimeError);
  });

  Deno.test(`wasm kernels (${variant}): max/min reductions propagate NaN, order -0 < +0`, () => {
    const r = lcg(900);
    const pick = (n: number, mode: number): Float32Array => {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        a[i] = mode === 0
          ? (r.next() - 0.5) * 100
          : mode === 1
          ? (r.next() < 0.5 ? -0 : 0)
          : (r.next() < 0.02 ? NaN : r.next() - 0.5);
      }
      if (mode === 3) a.fill(-0);
      if (mode === 4) a.fill(-Infinity);
      return a;
    };
    const refs: ["max" | "min", (a: number, b: number) => number][] = [["max", Math.max], [
      "min",
      Math.min,
    ]];
    for (const [kind, ref] of refs) {
      const rowsK = k[`${kind}_rows`], colsK = k[`${kind}_cols`];
      for (let mode = 0; mode < 5; mode++) {
        for (const n of [1, 2, 3, 4, 5, 15, 16, 17, 33, 100]) {
          const alloc = allocator();
          const outer = 2;
          const data = pick(outer * n, mode);
          const x = alloc(4 * data.length + 16) + 4 * (n % 3), out = alloc(4 * outer + 16);
          f32.set(data, x / 4);
          rowsK(x, out, outer, n);
          for (let o = 0; o < outer; o++) {
            const want = data.subarray(o * n, o * n + n).reduce(
              (s, v) => ref(s, v),
              kind === "max" ? -Infinity : Infinity,
            );
            assert.ok(
              same(f32[out / 4 + o], want),
              `${kind}_rows mode ${mode} n=${n}: ${f32[out / 4 + o]} vs ${want}`,
            );
          }
        }
        for (const inner of [1, 2, 3, 4, 6, 16, 19, 37]) {
          for (const n of [1, 2, 7]) {
            const alloc = allocator();
            const outer = 2;
            const data = pick(outer * n * inner, mode);
            const x = alloc(4 * data.length), out = alloc(4 * outer * inner + 16);
            f32.set(data, x / 4);
            i32.fill(SENTINEL, out / 4, out / 4 + outer * inner + 1);
            colsK(x, out, outer, n, inner);
            for (let o = 0; o < outer; o++) {
              for (let c = 0; c < inner; c++) {
                let want = kind === "max" ? -Infinity : Infinity;
                for (let j = 0; j < n; j++) want = ref(want, data[(o * n + j) * inner + c]);
                const got = f32[out / 4 + o * inner + c];
                assert.ok(
                  same(got, want),
                  `${kind}_cols mode ${mode} [${n},${inner}] (${o},${c}): ${got} vs ${want}`,
                );
              }
            }
            assert.equal(i32[out / 4 + outer * inner], SENTINEL);
          }
        }
      }
    }
  });

  Deno.test(`wasm kernels (${variant}): sumexp_rows`, () => {
    const r = lcg(1000);
    /** Runs sumexp_rows on `data` (rows × n) with `shift`, NaN around x and shift, canaries around out. */
    const run = (data: Float32Array, shift: Float32Array, n: number, misalign: number) => {
      const rows = shift.length;
      const alloc = allocator();
      const x = alloc(4 * data.length + 64) + 16 + misalign;
      const sh = alloc(4 * rows + 64) + 16 + misalign;
      const out = alloc(4 * rows + 64) + 16 + misalign;
      // a read outside x or shift would bring a NaN into the sum
      f32.fill(NaN, x / 4 - 4, x / 4 + data.length + 4);
      f32.fill(NaN, sh / 4 - 4, sh / 4 + rows + 4);
      f32.set(data, x / 4);
      f32.set(shift, sh / 4);
      u8.fill(0xa5, out - 16, out + 4 * rows + 16);
      k.sumexp_rows(x, sh, out, rows, n);
      for (let b = 1; b <= 16; b++) {
        assert.equal(u8[out - b], 0xa5, `sumexp_rows ${rows}×${n}: wrote before out`);
        assert.equal(u8[out + 4 * rows + b - 1], 0xa5, `sumexp_rows ${rows}×${n}: wrote past out`);
      }
      assert.deepEqual(f32.slice(x / 4, x / 4 + data.length), data, "x unchanged");
      assert.deepEqual(f32.slice(sh / 4, sh / 4 + rows), shift, "shift unchanged");
      return f32.slice(out / 4, out / 4 + rows);
    };
    /** float64 sum of e^(float32 x − shift), rounded to float32. */
    const ref = (data: Float32Array, shift: Float32Array, n: number, row: number): number => {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += Math.exp(Math.fround(data[row * n + j] - shift[row]));
      return Math.fround(sum);
    };
    let worst = 0;
    const shapes = [[1, 1], [1, 3], [3, 4], [5, 7], [2, 1000], [100, 10], [7, 33], [2, 9]];
    for (const [rows, n] of shapes) {
      for (const misalign of [0, 4, 8]) {
        const data = new Float32Array(rows * n);
        for (let i = 0; i < data.length; i++) data[i] = -20 + 40 * r.next();
        const shift = new Float32Array(rows);
        for (let o = 0; o < rows; o++) {
          shift[o] = data.subarray(o * n, o * n + n).reduce((a, b) => Math.max(a, b), -Infinity);
        }
        const got = run(data, shift, n, misalign);
        for (let o = 0; o < rows; o++) {
          const want = ref(data, shift, n, o), d = ulps(got[o], want);
          worst = Math.max(worst, d);
          assert.ok(d <= 3, `sumexp_rows ${rows}×${n} row ${o}: ${got[o]} vs ${want} (${d} ulp)`);
          assert.ok(got[o] >= 1, "the maximum contributes e^0 = 1");
        }
      }
    }
    assert.ok(worst <= 3);
    // special values, at every position of rows that cover the main loops and the tail
    for (const n of [1, 2, 3, 4, 5, 8, 9, 12, 13]) {
      const cases: [string, number, number, (j: number) => number][] = [
        ["all −Inf", -Infinity, 0, () => 0],
        ["NaN", NaN, 0, () => NaN],
        ["+Inf", Infinity, 0, () => Infinity],
        ["huge negative", -3.4028235e38, 0, () => 0],
      ];
      for (const [label, special, s, want] of cases) {
        const rows = n;
        const data = new Float32Array(rows * n);
        for (let o = 0; o < rows; o++) {
          for (let j = 0; j < n; j++) {
            data[o * n + j] = label === "all −Inf" ? -Infinity : j === o ? special : -1000 - j;
          }
        }
        // row o has the special at column o (the others −1000 − j: e^… = 0)
        const got = run(data, new Float32Array(rows).fill(s), n, 4 * (n % 3));
        for (let o = 0; o < rows; o++) {
          assert.ok(same(got[o], want(o)), `sumexp_rows ${label} n=${n} at ${o}: ${got[o]}`);
        }
      }
    }
    // overflow to +Inf; underflow to 0 without NaN
    const big = run(new Float32Array([-1e30, -5e3, 0, 88, 89]), new Float32Array([0]), 5, 0);
    assert.equal(big[0], Infinity);
    const small = run(new Float32Array([-1e30, -5e3, -104, -200]), new Float32Array([0]), 4, 0);
    assert.equal(small[0], 0);
    // float64 accumulation: 1 + 4095·e^−20 = 1.0000084…, where float32 would stay at 1
    const many = new Float32Array(4096).fill(-20);
    many[0] = 0;
    const acc = run(many, new Float32Array([0]), many.length, 0)[0];
    assert.ok(acc > 1.000008, `${acc}`);
    assert.ok(ulps(acc, ref(many, new Float32Array([0]), many.length, 0)) <= 3, `${acc}`);
  });

  Deno.test(`wasm kernels (${variant}): fill32`, () => {
    for (const n of [...TAILS, 64, 67]) {
      const alloc = allocator();
      const out = alloc(4 * n + 16) + 4 * (n % 3);
      i32.fill(SENTINEL, out / 4, out / 4 + n + 4);
      const bits = (0x3fc00000 + n) | 0;
      k.fill32(out, n, bits);
      for (let e = 0; e < n; e++) assert.equal(i32[out / 4 + e], bits);
      assert.equal(i32[out / 4 + n], SENTINEL);
    }
  });
}

// ---------------------------------------------------------------------------
// Gather and scatter-add.

/** `[outer, n, inner, count]` shapes of the gather/scatter tests. */
const TAKE_SHAPES: readonly (readonly [number, number, number, number])[] = [
  [1, 5, 1, 3],
  [2, 7, 3, 5],
  [3, 10, 4, 6],
  [1, 60, 784, 10],
  [2, 9, 13, 9],
];

/** `count` indices in `[0, n)`, with repeats: idx[1] = idx[0] and, for count 9, a fixed pattern. */
function takeIndices(r: ReturnType<typeof lcg>, n: number, count: number): Int32Array {
  if (count === 9 && n === 9) return new Int32Array([0, 3, 3, 8, 0, 3, 1, 8, 8]);
  const idx = new Int32Array(count);
  for (let c = 0; c < count; c++) idx[c] = Math.floor(r.next() * n);
  if (count > 1) idx[1] = idx[0];
  return idx;
}

/** float32 bit patterns: random words (all kinds of NaN among them) and the specials. */
function bitData(r: ReturnType<typeof lcg>, len: number): Uint32Array {
  const specials = [
    0x7fc00000, // NaN
    0x7f800001, // signalling NaN
    0xffc00001, // negative NaN with payload
    0x80000000, // −0
    0x7f800000, // +Inf
    0xff800000, // −Inf
    0x00000001, // smallest subnormal
  ];
  const out = new Uint32Array(len);
  for (let i = 0; i < len; i++) {
    out[i] = r.next() < 0.3 ? specials[Math.floor(r.next() * specials.length)] : r.bits();
  }
  return out;
}

/** float32 values of magnitudes 1e-3 … 1e3, signs mixed. */
function mixedData(r: ReturnType<typeof lcg>, len: number): Float32Array {
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    out[i] = (r.next() < 0.5 ? -1 : 1) * 10 ** (6 * r.next() - 3) * (1 + r.next());
  }
  return out;
}

/** The CPU backend's gather loop. */
function gatherRef(
  x: Uint32Array,
  idx: Int32Array,
  outer: number,
  n: number,
  inner: number,
): Uint32Array {
  const count = idx.length, out = new Uint32Array(outer * count * inner);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < count; c++) {
      const from = (o * n + idx[c]) * inner;
      out.set(x.subarray(from, from + inner), (o * count + c) * inner);
    }
  }
  return out;
}

/** The CPU backend's float32 scatter-add: float64 accumulation in order o, c, i, rounded once. */
function scatterAddRef(
  g: Float32Array,
  idx: Int32Array,
  outer: number,
  n: number,
  inner: number,
): Float32Array {
  const count = idx.length, acc = new Float64Array(outer * n * inner);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < count; c++) {
      const to = (o * n + idx[c]) * inner, from = (o * count + c) * inner;
      for (let i = 0; i < inner; i++) acc[to + i] += g[from + i];
    }
  }
  return new Float32Array(acc);
}

/** Asserts the 16 bytes before `p` and after `p + bytes` still hold the canary 0xa5. */
function checkCanaries(p: number, bytes: number, what: string): void {
  for (let b = 1; b <= 16; b++) {
    assert.equal(u8[p - b], 0xa5, `${what}: wrote before`);
    assert.equal(u8[p + bytes + b - 1], 0xa5, `${what}: wrote past`);
  }
}

for (const { variant, k } of VARIANTS) {
  const u32 = new Uint32Array(memory.buffer);

  /** Runs gather32 on the words `data` (misaligned by `mis` bytes), checks it bit for bit. */
  const gatherCase = (
    data: Uint32Array,
    idx: Int32Array,
    shape: readonly [number, number, number],
    mis: number,
    what: string,
  ): void => {
    const [outer, n, inner] = shape, count = idx.length, len = outer * count * inner;
    const alloc = allocator();
    const x = alloc(4 * data.length + 16) + mis, ip = alloc(4 * count + 16) + mis;
    const out = alloc(4 * len + 64) + 16 + mis;
    u32.set(data, x / 4);
    i32.set(idx, ip / 4);
    u8.fill(0xa5, out - 16, out + 4 * len + 16);
    k.gather32(x, ip, out, outer, n, inner, count);
    const label = `gather32 ${what} [${outer},${n},${inner}] count ${count}`;
    checkCanaries(out, 4 * len, label);
    assert.deepEqual(
      u32.slice(out / 4, out / 4 + len),
      gatherRef(data, idx, outer, n, inner),
      label,
    );
    assert.deepEqual(u32.slice(x / 4, x / 4 + data.length), data, `${label}: x unchanged`);
    assert.deepEqual(i32.slice(ip / 4, ip / 4 + count), idx, `${label}: idx unchanged`);
  };

  /** Runs scatter_add_f32 (g misaligned by `mis` bytes, acc full of NaN), checks it bit for bit. */
  const scatterCase = (
    g: Float32Array,
    idx: Int32Array,
    shape: readonly [number, number, number],
    mis: number,
  ): Float32Array => {
    const [outer, n, inner] = shape, count = idx.length, size = outer * n * inner;
    const alloc = allocator();
    const gp = alloc(4 * g.length + 16) + mis, ip = alloc(4 * count + 16) + mis;
    const acc = alloc(8 * size + 64) + 16 + 2 * mis; // 8-byte aligned
    const out = alloc(4 * size + 64) + 16 + mis;
    f32.set(g, gp / 4);
    i32.set(idx, ip / 4);
    u8.fill(0xa5, acc - 16, acc + 8 * size + 16);
    u8.fill(0xff, acc, acc + 8 * size); // NaN: the kernel must zero it first
    u8.fill(0xa5, out - 16, out + 4 * size + 16);
    k.scatter_add_f32(gp, ip, acc, out, outer, n, inner, count);
    const label = `scatter_add_f32 [${outer},${n},${inner}] count ${count}`;
    checkCanaries(out, 4 * size, `${label} out`);
    checkCanaries(acc, 8 * size, `${label} acc`);
    const want = scatterAddRef(g, idx, outer, n, inner);
    assert.deepEqual(
      u32.slice(out / 4, out / 4 + size),
      new Uint32Array(want.buffer),
      label,
    );
    assert.deepEqual(f32.slice(gp / 4, gp / 4 + g.length), g, `${label}: g unchanged`);
    assert.deepEqual(i32.slice(ip / 4, ip / 4 + count), idx, `${label}: idx unchanged`);
    return f32.slice(out / 4, out / 4 + size);
  };

  Deno.test(`wasm kernels (${variant}): gather32 copies rows bit for bit`, () => {
    const r = lcg(1100);
    for (const [outer, n, inner, count] of TAKE_SHAPES) {
      for (const mis of [0, 4]) {
        const idx = takeIndices(r, n, count);
        gatherCase(bitData(r, outer * n * inner), idx, [outer, n, inner], mis, "float32 bits");
        const ints = new Int32Array(outer * n * inner);
        for (let i = 0; i < ints.length; i++) ints[i] = (r.bits() | 0) >> (r.bits() & 31);
        gatherCase(new Uint32Array(ints.buffer), idx, [outer, n, inner], mis, "int32");
      }
    }
    // every tail of the 16- and 4-element steps, first and last rows
    for (let inner = 0; inner <= 37; inner++) {
      const idx = new Int32Array([3, 0, 3, 2, 1, 3]);
      gatherCase(bitData(r, 2 * 4 * inner), idx, [2, 4, inner], 4 * (inner % 3), "tails");
    }
    gatherCase(bitData(r, 12), new Int32Array(0), [2, 3, 2], 0, "count 0");
  });

  Deno.test(`wasm kernels (${variant}): scatter_add_f32 matches the float64 loop bit for bit`, () => {
    const r = lcg(1200);
    for (const [outer, n, inner, count] of TAKE_SHAPES) {
      for (const mis of [0, 4]) {
        scatterCase(mixedData(r, outer * count * inner), takeIndices(r, n, count), [
          outer,
          n,
          inner,
        ], mis);
      }
    }
    // every tail of the 4- and 2-element steps; many repeats of few indices
    for (let inner = 0; inner <= 19; inner++) {
      const idx = new Int32Array(Array.from({ length: 11 }, () => Math.floor(r.next() * 3)));
      scatterCase(mixedData(r, 2 * 11 * inner), idx, [2, 4, inner], 4 * (inner % 2));
    }
    // count 0: all zeros (+0)
    const zeros = scatterCase(new Float32Array(0), new Int32Array(0), [2, 3, 5], 0);
    assert.ok(zeros.every((v) => Object.is(v, 0)));
    // float64 accumulation: 1e8 + 1 + … + 1 − 1e8 keeps the ones (float32 would lose them)
    for (const inner of [1, 5]) {
      const count = 102, g = new Float32Array(count * inner).fill(1);
      g.fill(1e8, 0, inner);
      g.fill(-1e8, (count - 1) * inner);
      const got = scatterCase(g, new Int32Array(count).fill(1), [1, 3, inner], 0);
      for (let i = 0; i < inner; i++) {
        assert.equal(got[i], 0);
        assert.equal(got[inner + i], 100);
        assert.equal(got[2 * inner + i], 0);
      }
    }
  });
}

Deno.test("wasm kernels: modules compile, unshared memory links, variants are picked", () => {
  assert.ok(VARIANTS.length > 0, "this runtime has WebAssembly SIMD");
  const plain = new WebAssembly.Memory({ initial: 1 });
  const got = WasmKernels.create(plain, { shared: false, maxPages: 0 });
  assert.ok(got !== null);
  assert.equal(got.variant, VARIANTS[0].variant);
  const view = new Float32Array(plain.buffer);
  view.set([1, 2, 3, 4, 5], 0);
  got.elementwise(binaryOpKernel("add", "float32"))(0, 0, 1, 0, 0, 1, 64, 1, 5);
  assert.deepEqual([...view.subarray(16, 21)], [2, 4, 6, 8, 10]);
  // equal graphs built separately share one compiled kernel
  const again = got.elementwise(binaryOpKernel("add", "float32"));
  assert.equal(again, got.elementwise(binaryOpKernel("add", "float32")));
});

Deno.test("wasm kernels: the compiled kernels kept are bounded (a constant that changes every call)", () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const k = WasmKernels.create(memory, { shared: false, maxPages: 0 })!;
  const view = new Float32Array(memory.buffer);
  // x · c for 1 100 values of c: a kernel each (a learning rate baked into a jitted step).
  for (let i = 0; i < 1100; i++) {
    const c = 1 + i / 1024;
    view[0] = 2;
    k.elementwise(elementwiseKernel(load(0, "f32").mul(c)))(0, 0, 1, 64, 1, 1);
    assert.equal(view[16], Math.fround(2 * c));
  }
  assert.ok(compiledModules() <= 1024, `${compiledModules()} modules kept`);
});
