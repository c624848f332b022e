/**
 * The CPU backend's kernels: an opcode → JS expression table per kind, and
 * elementwise and reduction loops generated from it with `new Function`,
 * cached per (op, dtype, access pattern), so each generated loop sees a
 * single typed-array type and no per-element dispatch.
 *
 * @module
 */

import { simplifyStrides } from "../_geometry.ts";
import type { BinaryOp, ReduceOp, UnaryOp } from "../backend.ts";
import type { DType, TypedArray } from "../../core/dtype.ts";
import { erf, erfc } from "./erf.ts";

/** Rounds half to even (NumPy's `round`). */
function roundHalfEven(x: number): number {
  const r = Math.round(x); // rounds halves toward +∞
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * int32 power, exact modulo 2³² (what WebGPU's kernel computes; `Math.pow`
 * loses low bits above 2⁵³). A negative exponent gives `trunc(1 / aⁿ)`:
 * 1 for a = 1, ±1 for a = -1, else 0 (the ops layer rejects negative
 * exponents where it can see them, like NumPy).
 */
function ipow(a: number, b: number): number {
  if (b < 0) return a === 1 ? 1 : a === -1 ? (b & 1 ? -1 : 1) : 0;
  let r = 1, base = a, e = b;
  while (e !== 0) {
    if (e & 1) r = Math.imul(r, base);
    base = Math.imul(base, base);
    e >>>= 1;
  }
  return r;
}

/**
 * Float power with C99's special cases (NumPy's and XLA's) where they
 * differ from `Math.pow`: `pow(1, b) = 1` for every `b`, NaN included, and
 * `pow(-1, ±∞) = 1` (`Math.pow` gives NaN for both).
 */
function fpow(a: number, b: number): number {
  return a === 1 || (a === -1 && (b === Infinity || b === -Infinity)) ? 1 : Math.pow(a, b);
}

/** Helpers that generated kernels may call by name. */
const HELPERS = { roundHalfEven, ipow, fpow, erf, erfc };

/**
 * The CPU backend's unary table: per opcode, the JS expression over `a` as
 * `[float, int32]` (the int32 form defaults to the float one). Total: an
 * opcode without a row fails `deno check`.
 * @internal
 */
export const UNARY: Record<UnaryOp, readonly [string, string?]> = {
  neg: ["-a", "-a | 0"],
  exp: ["Math.exp(a)"],
  log: ["Math.log(a)"],
  log1p: ["Math.log1p(a)"],
  expm1: ["Math.expm1(a)"],
  sqrt: ["Math.sqrt(a)"],
  sin: ["Math.sin(a)"],
  cos: ["Math.cos(a)"],
  tanh: ["Math.tanh(a)"],
  // 1 / (1 + e^−|a|) or its complement, e^−|a| / (1 + e^−|a|): no overflow, full precision in the tails
  sigmoid: ["(a >= 0 ? 1 / (1 + Math.exp(-a)) : Math.exp(a) / (1 + Math.exp(a)))"],
  erf: ["erf(a)"], // fdlibm's algorithm in float64 (./erf.ts); float32 rounds its result
  erfc: ["erfc(a)"],
  abs: ["Math.abs(a)", "Math.abs(a) | 0"],
  sign: ["Math.sign(a)"],
  square: ["a * a", "Math.imul(a, a)"],
  floor: ["Math.floor(a)"],
  ceil: ["Math.ceil(a)"],
  round: ["roundHalfEven(a)"],
  logicalNot: ["a ? 0 : 1"],
};

/**
 * The CPU backend's binary table: per opcode, the JS expression over `a`,
 * `b` as `[float, int32/bool]` (the second defaults to the first). Total,
 * as `UNARY`.
 * @internal
 */
export const BINARY: Record<BinaryOp, readonly [string, string?]> = {
  add: ["a + b", "(a + b) | 0"],
  sub: ["a - b", "(a - b) | 0"],
  mul: ["a * b", "Math.imul(a, b)"],
  div: ["a / b"],
  pow: ["fpow(a, b)", "ipow(a, b)"],
  maximum: ["Math.max(a, b)"], // Math.max/min propagate NaN
  minimum: ["Math.min(a, b)"],
  equal: ["a === b ? 1 : 0"],
  notEqual: ["a !== b ? 1 : 0"],
  greater: ["a > b ? 1 : 0"],
  greaterEqual: ["a >= b ? 1 : 0"],
  less: ["a < b ? 1 : 0"],
  lessEqual: ["a <= b ? 1 : 0"],
  logicalAnd: ["a & b"],
  logicalOr: ["a | b"],
};

/** Picks the float or the integer form of an expression for `dtype`. */
function pick(forms: readonly [string, string?], dtype: DType): string {
  return dtype === "int32" || dtype === "bool" ? forms[1] ?? forms[0] : forms[0];
}

/**
 * The JS expression of a unary opcode for inputs of `dtype`.
 *
 * @param op The opcode.
 * @param dtype The input's dtype.
 * @returns An expression over `a`.
 * @internal
 */
export function unaryExpr(op: UnaryOp, dtype: DType): string {
  return pick(UNARY[op], dtype);
}

/**
 * The JS expression of a binary opcode for inputs of `dtype`.
 *
 * @param op The opcode.
 * @param dtype The inputs' dtype.
 * @returns An expression over `a` and `b`.
 * @internal
 */
export function binaryExpr(op: BinaryOp, dtype: DType): string {
  return pick(BINARY[op], dtype);
}

/**
 * Compiles `source` (the body of a function of `params`) with the helpers in
 * scope. `tag` (the cache key) goes into the source as a comment: V8 shares
 * compiled code between identical `new Function` sources, and kernels for
 * different dtypes must stay separate to stay monomorphic.
 */
function compile(tag: string, params: string, source: string): unknown {
  const names = Object.keys(HELPERS);
  return new Function(
    "H",
    `"use strict"; // ${tag}\nconst { ${names.join(", ")} } = H;\n` +
      `return function (${params}) {\n${source}\n};`,
  )(HELPERS);
}

/** A generated elementwise loop: `out[idx] = expr(ins[k][offsets[k] + Σ idx·strides[k]])`. */
type Elementwise = (
  out: TypedArray,
  ins: readonly TypedArray[],
  offsets: readonly number[],
  shape: readonly number[],
  strides: readonly (readonly number[])[],
) => void;

const elementwiseCache = new Map<string, Elementwise>();

/**
 * Source of an elementwise loop. `mode` is `"nd"` (odometer over all but the
 * last axis, inner loop over the last) or one letter per operand for a flat
 * loop: `c` contiguous, `s` scalar (hoisted out of the loop).
 */
function elementwiseSource(
  names: readonly string[],
  expr: string,
  mode: string,
): string {
  const each = (f: (k: number) => string) => names.map((_, k) => f(k)).join(" ");
  if (mode !== "nd") {
    return `const n = out.length;
${
      each((k) =>
        mode[k] === "c"
          ? `const x${k} = ins[${k}], o${k} = offsets[${k}];`
          : `const v${k} = ins[${k}][offsets[${k}]];`
      )
    }
for (let i = 0; i < n; i++) {
  ${each((k) => `const ${names[k]} = ${mode[k] === "c" ? `x${k}[o${k} + i]` : `v${k}`};`)}
  out[i] = ${expr};
}`;
  }
  return `const last = shape.length - 1, len = shape[last], rows = out.length / len;
const idx = new Int32Array(last);
${
    each((k) =>
      `const x${k} = ins[${k}], st${k} = strides[${k}], inc${k} = st${k}[last]; let p${k} = offsets[${k}];`
    )
  }
let q = 0;
for (let row = 0; row < rows; row++) {
  ${each((k) => `let i${k} = p${k};`)}
  for (let j = 0; j < len; j++) {
    ${each((k) => `const ${names[k]} = x${k}[i${k}]; i${k} += inc${k};`)}
    out[q++] = ${expr};
  }
  for (let d = last - 1; d >= 0; d--) {
    ${each((k) => `p${k} += st${k}[d];`)}
    if (++idx[d] < shape[d]) break;
    idx[d] = 0;
    ${each((k) => `p${k} -= st${k}[d] * shape[d];`)}
  }
}`;
}

/**
 * Runs `out[idx] = expr(...)` over `shape` with the fastest applicable loop
 * (a generated one, compiled once per key, expression and access pattern).
 *
 * @param key Identifies the dtypes involved (generated loops are monomorphic).
 * @param names The expression's name for each operand.
 * @param expr The JS expression computing one element.
 * @param out The output, `sizeOf(shape)` elements.
 * @param ins The operands.
 * @param offsets Per operand, the element offset of the first element.
 * @param shape The output's shape.
 * @param strides Per operand, per axis, the step (0 broadcasts).
 * @returns `out`.
 * @internal
 */
export function elementwise(
  key: string,
  names: readonly string[],
  expr: string,
  out: TypedArray,
  ins: readonly TypedArray[],
  offsets: readonly number[],
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): TypedArray {
  if (out.length === 0) return out;
  const s = simplifyStrides(shape, strides);
  let mode = "nd";
  if (s.shape.length === 0) mode = "c".repeat(ins.length);
  else if (s.shape.length === 1 && s.strides.every((st) => st[0] <= 1 && st[0] >= 0)) {
    mode = s.strides.map((st) => st[0] === 1 ? "c" : "s").join("");
  }
  const cacheKey = `${key}|${names.join(",")}|${expr}|${mode}`;
  let kernel = elementwiseCache.get(cacheKey);
  if (kernel === undefined) {
    kernel = compile(
      cacheKey,
      "out, ins, offsets, shape, strides",
      elementwiseSource(names, expr, mode),
    ) as Elementwise;
    elementwiseCache.set(cacheKey, kernel);
  }
  kernel(out, ins, offsets, s.shape, s.strides);
  return out;
}

/** A generated reduction over the middle axis of `[outer, n, inner]`. @internal */
export type Reduction = (
  x: TypedArray,
  out: TypedArray,
  outer: number,
  n: number,
  inner: number,
) => void;

const reduceCache = new Map<string, Reduction>();

/** Source of a reduction: `update` folds `v` (element `j`) into `acc` (and `ai` for arg ops). */
function reduceSource(op: ReduceOp, dtype: DType, inner1: boolean): string {
  const isSum = op === "sum";
  const isArg = op === "argmax" || op === "argmin";
  const cmp = op === "max" || op === "argmax" ? ">" : "<";
  const update = isSum
    ? (dtype === "float32" || dtype === "float64" ? "acc += v;" : "acc = (acc + v) | 0;")
    : isArg
    ? `if (v ${cmp} acc || (v !== v && acc === acc)) { acc = v; ai = j; }`
    // −0 < +0, as in `maximum`/`minimum` and the wasm kernels (max of [−0, 0] is 0, min −0).
    : `if (v ${cmp} acc || v !== v || (v === 0 && acc === 0 && 1 / v ${cmp} 1 / acc)) acc = v;`;
  const start = isSum ? 0 : 1;
  if (inner1) {
    return `for (let o = 0; o < outer; o++) {
  const base = o * n;
  let acc = ${isSum ? "0" : "x[base]"}, ai = 0;
  for (let j = ${start}; j < n; j++) { const v = x[base + j]; ${update} }
  out[o] = ${isArg ? "ai" : "acc"};
}`;
  }
  return `const accs = new Float64Array(inner), ais = new Int32Array(inner);
for (let o = 0; o < outer; o++) {
  const base = o * n * inner, ob = o * inner;
  ${isSum ? "accs.fill(0);" : "for (let i = 0; i < inner; i++) accs[i] = x[base + i];"}
  ${isArg ? "ais.fill(0);" : ""}
  for (let j = ${start}; j < n; j++) {
    const row = base + j * inner;
    for (let i = 0; i < inner; i++) {
      const v = x[row + i];
      let acc = accs[i]${isArg ? ", ai = ais[i]" : ""};
      ${update}
      accs[i] = acc;${isArg ? " ais[i] = ai;" : ""}
    }
  }
  for (let i = 0; i < inner; i++) out[ob + i] = ${isArg ? "ais[i]" : "accs[i]"};
}`;
}

/**
 * The generated reduction for an opcode and dtype, compiled once.
 *
 * @param op The opcode.
 * @param dtype The input's dtype.
 * @param inner1 Whether `inner` is 1 (rows reduce contiguously).
 * @returns The kernel `(x, out, outer, n, inner)`.
 * @internal
 */
export function reduction(op: ReduceOp, dtype: DType, inner1: boolean): Reduction {
  const key = `${op}|${dtype}|${inner1}`;
  let kernel = reduceCache.get(key);
  if (kernel === undefined) {
    kernel = compile(key, "x, out, outer, n, inner", reduceSource(op, dtype, inner1)) as Reduction;
    reduceCache.set(key, kernel);
  }
  return kernel;
}
