/**
 * The CPU backend: buffers are plain typed arrays, kernels are JS loops.
 *
 * Elementwise and reduction kernels are generated with `new Function` from an
 * opcode → expression table and cached per (op, dtype, access pattern), so
 * each generated loop sees a single typed-array type and no per-element
 * dispatch. Matrix multiplication uses a cache-blocked kernel with a 4×4
 * register tile, specialized per dtype the same way. No WebAssembly here:
 * this backend is the plain-JS float64 reference the others are checked
 * against (the `wasm` backend extends it and overrides the hot kernels).
 *
 * @module
 */

import { batchMatrices, simplifyStrides } from "../_geometry.ts";
import {
  type ArgsortSpec,
  type Backend,
  type BinaryOp,
  type BinarySpec,
  type CastSpec,
  COMPARISONS,
  type ConcatSpec,
  type DataHandle,
  type GatherSpec,
  type LogsumexpSpec,
  type MatmulSpec,
  type RandomUniformSpec,
  type ReduceOp,
  type ReduceSpec,
  type ScatterAddSpec,
  type ScatterStridedSpec,
  type StridedSpec,
  type UnaryOp,
  type UnarySpec,
  type WhereSpec,
} from "../backend.ts";
import { allocArray, type DType, toInt32Saturating, type TypedArray } from "../../core/dtype.ts";
import { sizeOf } from "../../core/shape.ts";
import { randomBitsInto } from "./threefry.ts";

type FloatArray = Float32Array | Float64Array;

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

/** Helpers that generated kernels may call by name. */
const HELPERS = { roundHalfEven, ipow };

/** Unary expressions over `a`: `[float, int32]` (the int32 form defaults to the float one). */
const UNARY: Record<UnaryOp, readonly [string, string?]> = {
  neg: ["-a", "-a | 0"],
  exp: ["Math.exp(a)"],
  log: ["Math.log(a)"],
  log1p: ["Math.log1p(a)"],
  expm1: ["Math.expm1(a)"],
  sqrt: ["Math.sqrt(a)"],
  sin: ["Math.sin(a)"],
  cos: ["Math.cos(a)"],
  tanh: ["Math.tanh(a)"],
  abs: ["Math.abs(a)", "Math.abs(a) | 0"],
  sign: ["Math.sign(a)"],
  square: ["a * a", "Math.imul(a, a)"],
  floor: ["Math.floor(a)"],
  ceil: ["Math.ceil(a)"],
  round: ["roundHalfEven(a)"],
  logicalNot: ["a ? 0 : 1"],
};

/** Binary expressions over `a`, `b`: `[float, int32/bool]` (the second defaults to the first). */
const BINARY: Record<BinaryOp, readonly [string, string?]> = {
  add: ["a + b", "(a + b) | 0"],
  sub: ["a - b", "(a - b) | 0"],
  mul: ["a * b", "Math.imul(a, b)"],
  div: ["a / b"],
  pow: ["Math.pow(a, b)", "ipow(a, b)"],
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

/**
 * Makes a fresh, independently optimized copy of a self-contained function
 * (one that uses only its parameters and globals), so that each dtype gets
 * monomorphic typed-array accesses.
 */
function specialize<F>(f: F, tag: string): F {
  // The tag makes the source unique: V8 shares compiled code between identical
  // `new Function` sources, which would defeat the specialization.
  return new Function(`"use strict"; // ${tag}\nreturn (${String(f)});`)() as F;
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
 * Runs `out[idx] = expr(...)` over `shape` with the fastest applicable loop.
 * `key` must identify the dtypes involved (generated loops are monomorphic).
 */
function elementwise(
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

/** A generated reduction over the middle axis of `[outer, n, inner]`. */
type Reduction = (
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
    : `if (v ${cmp} acc || v !== v) acc = v;`;
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

/** `C[m×n] += A[m×k] · B[k×n]` on raw arrays; offsets are in elements and `C` starts zeroed. */
type Gemm<T extends TypedArray> = (
  A: T,
  aO: number,
  B: T,
  bO: number,
  C: T,
  cO: number,
  m: number,
  k: number,
  n: number,
  scratch: T,
) => void;

/** The scratch size `Gemm` needs for the packed panels of B. */
function gemmScratch(k: number, n: number): number {
  return Math.min(k, 256) * (n - (n % 4));
}

/**
 * Builds the float GEMM: blocked over k (256), B packed into 4-column panels,
 * a 4×4 register tile (16 double accumulators) per panel, then leftover rows
 * as 1×4 tiles and leftover columns as dot products. Small functions keep V8
 * from relying on on-stack replacement. Self-contained (no module scope): it
 * is copied per dtype with `specialize`.
 */
function makeGemmFloat(): Gemm<FloatArray> {
  const KB = 256;
  /** Bp[jb·kb + (p - p0)·4 + jj] = B[p, jb + jj] for p in [p0, p1), jb < n4. */
  function pack(
    B: FloatArray,
    bO: number,
    n: number,
    n4: number,
    p0: number,
    p1: number,
    Bp: FloatArray,
  ) {
    const kb = p1 - p0;
    for (let jb = 0; jb < n4; jb += 4) {
      for (let p = p0, q = jb * kb; p < p1; p++, q += 4) {
        const s = bO + p * n + jb;
        Bp[q] = B[s], Bp[q + 1] = B[s + 1], Bp[q + 2] = B[s + 2], Bp[q + 3] = B[s + 3];
      }
    }
  }
  /** C[r0.., 4 rows × 4 cols] += A[a0.., 4 rows × kb] · panel at Bp[q..]. */
  function tile4(
    A: FloatArray,
    a0: number,
    k: number,
    kb: number,
    Bp: FloatArray,
    q: number,
    C: FloatArray,
    r0: number,
    n: number,
  ) {
    const a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
    let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
    let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
    for (let p = 0; p < kb; p++, q += 4) {
      const b0 = Bp[q], b1 = Bp[q + 1], b2 = Bp[q + 2], b3 = Bp[q + 3];
      const x0 = A[a0 + p], x1 = A[a1 + p], x2 = A[a2 + p], x3 = A[a3 + p];
      c00 += x0 * b0, c01 += x0 * b1, c02 += x0 * b2, c03 += x0 * b3;
      c10 += x1 * b0, c11 += x1 * b1, c12 += x1 * b2, c13 += x1 * b3;
      c20 += x2 * b0, c21 += x2 * b1, c22 += x2 * b2, c23 += x2 * b3;
      c30 += x3 * b0, c31 += x3 * b1, c32 += x3 * b2, c33 += x3 * b3;
    }
    const r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
    C[r0] += c00, C[r0 + 1] += c01, C[r0 + 2] += c02, C[r0 + 3] += c03;
    C[r1] += c10, C[r1 + 1] += c11, C[r1 + 2] += c12, C[r1 + 3] += c13;
    C[r2] += c20, C[r2 + 1] += c21, C[r2 + 2] += c22, C[r2 + 3] += c23;
    C[r3] += c30, C[r3 + 1] += c31, C[r3 + 2] += c32, C[r3 + 3] += c33;
  }
  /** One row: C[r0.., 4 cols] += A[a0.., kb] · panel at Bp[q..]. */
  function tile1(
    A: FloatArray,
    a0: number,
    kb: number,
    Bp: FloatArray,
    q: number,
    C: FloatArray,
    r0: number,
  ) {
    let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    for (let p = 0; p < kb; p++, q += 4) {
      const x = A[a0 + p];
      c0 += x * Bp[q], c1 += x * Bp[q + 1], c2 += x * Bp[q + 2], c3 += x * Bp[q + 3];
    }
    C[r0] += c0, C[r0 + 1] += c1, C[r0 + 2] += c2, C[r0 + 3] += c3;
  }
  /** Column j of C (rows 0..m) += A[:, p0:p1] · B[p0:p1, j]. */
  function column(
    A: FloatArray,
    aO: number,
    B: FloatArray,
    bO: number,
    C: FloatArray,
    cO: number,
    m: number,
    k: number,
    n: number,
    p0: number,
    p1: number,
    j: number,
  ) {
    for (let r = 0; r < m; r++) {
      const a0 = aO + r * k;
      let s = 0;
      for (let p = p0; p < p1; p++) s += A[a0 + p] * B[bO + p * n + j];
      C[cO + r * n + j] += s;
    }
  }
  // `Bp` (scratch) holds at least `min(k, 256) · (n - n % 4)` elements.
  return function gemm(A, aO, B, bO, C, cO, m, k, n, Bp) {
    const n4 = n - (n % 4);
    for (let p0 = 0; p0 < k; p0 += KB) {
      const p1 = Math.min(p0 + KB, k), kb = p1 - p0;
      pack(B, bO, n, n4, p0, p1, Bp);
      let i = 0;
      for (; i + 4 <= m; i += 4) {
        for (let jb = 0; jb < n4; jb += 4) {
          tile4(A, aO + i * k + p0, k, kb, Bp, jb * kb, C, cO + i * n + jb, n);
        }
      }
      for (; i < m; i++) {
        for (let jb = 0; jb < n4; jb += 4) {
          tile1(A, aO + i * k + p0, kb, Bp, jb * kb, C, cO + i * n + jb);
        }
      }
      for (let j = n4; j < n; j++) column(A, aO, B, bO, C, cO, m, k, n, p0, p1, j);
    }
  };
}

/** `C[m×n] += A[m×k] · B[k×n]` with int32 wraparound. Self-contained (see `makeGemmFloat`). */
function makeGemmInt(): Gemm<Int32Array> {
  return function gemm(A, aO, B, bO, C, cO, m, k, n) {
    for (let i = 0; i < m; i++) {
      const c = cO + i * n;
      for (let p = 0; p < k; p++) {
        const x = A[aO + i * k + p];
        const b = bO + p * n;
        for (let j = 0; j < n; j++) C[c + j] = (C[c + j] + Math.imul(x, B[b + j])) | 0;
      }
    }
  };
}

/** One GEMM per dtype, each a separately compiled copy (so each sees one array type). */
const GEMM: { readonly [D in "float32" | "float64" | "int32"]: Gemm<TypedArray> } = {
  float32: specialize(makeGemmFloat, "float32")() as Gemm<TypedArray>,
  float64: specialize(makeGemmFloat, "float64")() as Gemm<TypedArray>,
  int32: specialize(makeGemmInt, "int32")() as Gemm<TypedArray>,
};

/** Checks and normalizes gather/scatter indices into `[0, n)`. @internal
 */
export function normalizeIndices(
  opName: string,
  indices: Int32Array,
  count: number,
  n: number,
): Int32Array {
  const idx = new Int32Array(count);
  for (let c = 0; c < count; c++) {
    const v = indices[c];
    if (v < -n || v >= n) {
      throw new RangeError(
        `${opName}: index ${v} is out of bounds for an axis of size ${n} (valid: -${n}..${n - 1})`,
      );
    }
    idx[c] = v < 0 ? v + n : v;
  }
  return idx;
}

/**
 * Writes `src` converted to `out`'s dtype into `out`: float → int32 by
 * XLA's rule (NaN → 0, saturating at the int32 bounds, else truncating
 * toward zero; typed-array assignment would wrap modulo 2³²), float32 rounds
 * to nearest; a bool `out` gets `src != 0`.
 */
function castInto(src: TypedArray, out: TypedArray): TypedArray {
  if (out instanceof Uint8Array) {
    for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
  } else if (
    out instanceof Int32Array && (src instanceof Float32Array || src instanceof Float64Array)
  ) {
    for (let i = 0; i < src.length; i++) out[i] = toInt32Saturating(src[i]);
  } else out.set(src);
  return out;
}

/** A copy of the `rows × cols` matrices packed in `x`, each transposed. */
function transposeMatrices(x: TypedArray, rows: number, cols: number, dtype: DType): TypedArray {
  const out = allocArray(dtype, x.length), size = rows * cols;
  for (let off = 0; off + size <= x.length; off += size) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[off + c * rows + r] = x[off + r * cols + c];
    }
  }
  return out;
}

/**
 * The reference backend: typed arrays as buffers, JS loops as kernels.
 * Handles are the typed arrays themselves; every kernel returns a new array.
 *
 * @example
 * ```ts
 * import { CpuBackend } from "./cpu_backend.ts";
 * const cpu = new CpuBackend();
 * const a = cpu.upload(new Float32Array([1, 2, 3]), "float32");
 * const b = cpu.fill(1, 10, "float32");
 * const c = cpu.binary({
 *   op: "add",
 *   a,
 *   aStrides: [1],
 *   b,
 *   bStrides: [0],
 *   outShape: [3],
 *   dtype: "float32",
 * });
 * console.log(cpu.readSync(c, "float32", 3)); // Float32Array(3) [ 11, 12, 13 ]
 * ```
 */
export class CpuBackend implements Backend {
  /** Always `"cpu"`. */
  readonly name: string = "cpu";
  /** Every dtype. */
  readonly dtypes: readonly DType[] = ["float32", "float64", "int32", "bool"];
  /** Always `true`. */
  readonly canReadSync: boolean = true;
  /** `matmul` reads transposed operands (it transposes them first; the `wasm` GEMM packs them as they lie). */
  readonly matmulTransposes: boolean = true;

  /**
   * A new zeroed array for an output: subclasses that keep buffers
   * elsewhere (the `wasm` backend) override this, `arr` and `wrap`, and
   * every kernel here then works on their memory. With `zeroed` false the
   * caller writes every element, so the contents may be left as they are.
   */
  protected alloc(dtype: DType, size: number, _zeroed = true): TypedArray {
    return allocArray(dtype, size);
  }

  /** The array behind a handle (here the handle is the array). */
  protected arr(x: DataHandle): TypedArray {
    return x as TypedArray;
  }

  /** The handle for an array `alloc` returned (here the array itself). */
  protected wrap(out: TypedArray): DataHandle {
    return out;
  }

  /** Keeps `values` as the buffer (ownership passes to the backend). */
  upload(values: TypedArray, _dtype: DType): DataHandle {
    return values;
  }

  /** Resolves to a fresh copy of the buffer. */
  read(x: DataHandle, dtype: DType, size: number): Promise<TypedArray> {
    return Promise.resolve(this.readSync(x, dtype, size));
  }

  /** A fresh copy of the buffer. */
  readSync(x: DataHandle, _dtype: DType, size: number): TypedArray {
    return this.arr(x).slice(0, size);
  }

  /** Does nothing: typed arrays are garbage collected. */
  dispose(_x: DataHandle): void {}

  /** A new array of `size` copies of `value` cast to `dtype`. */
  fill(size: number, value: number, dtype: DType): DataHandle {
    const v = dtype === "bool"
      ? (value !== 0 ? 1 : 0)
      : dtype === "int32"
      ? toInt32Saturating(value)
      : value;
    return this.wrap(this.alloc(dtype, size, false).fill(v));
  }

  /** `out[i] = op(x[i])`. */
  unary({ op, x, size, dtype }: UnarySpec): DataHandle {
    const out = this.alloc(op === "logicalNot" ? "bool" : dtype, size, false);
    const ins = [this.arr(x)];
    return this.wrap(
      elementwise(dtype, ["a"], pick(UNARY[op], dtype), out, ins, [0], [size], [[1]]),
    );
  }

  /** `out[idx] = op(a[Σ idx·aStrides], b[Σ idx·bStrides])`. */
  binary({ op, a, aStrides, b, bStrides, outShape, dtype }: BinarySpec): DataHandle {
    const out = this.alloc(COMPARISONS.has(op) ? "bool" : dtype, sizeOf(outShape), false);
    const ins = [this.arr(a), this.arr(b)];
    const strides = [aStrides, bStrides];
    const expr = pick(BINARY[op], dtype);
    return this.wrap(elementwise(dtype, ["a", "b"], expr, out, ins, [0, 0], outShape, strides));
  }

  /** `out[idx] = cond[…] ? a[…] : b[…]`. */
  where({ cond, condStrides, a, aStrides, b, bStrides, outShape, dtype }: WhereSpec): DataHandle {
    const out = this.alloc(dtype, sizeOf(outShape), false);
    const ins = [this.arr(cond), this.arr(a), this.arr(b)];
    const strides = [condStrides, aStrides, bStrides];
    return this.wrap(
      elementwise(dtype, ["c", "a", "b"], "c ? a : b", out, ins, [0, 0, 0], outShape, strides),
    );
  }

  /** Converts dtypes (float → int32 by XLA's saturating rule; see `castInto`). */
  cast({ x, size, to }: CastSpec): DataHandle {
    return this.wrap(castInto(this.arr(x).subarray(0, size), this.alloc(to, size, false)));
  }

  /** Reduces the middle axis of `[outer, n, inner]`. */
  reduce({ op, x, outer, n, inner, dtype }: ReduceSpec): DataHandle {
    const outDtype = op === "argmax" || op === "argmin" || (op === "sum" && dtype === "bool")
      ? "int32"
      : dtype;
    const out = this.alloc(outDtype, outer * inner, n === 0);
    if (out.length === 0 || (n === 0 && op === "sum")) return this.wrap(out);
    const key = `${op}|${dtype}|${inner === 1}`;
    let kernel = reduceCache.get(key);
    if (kernel === undefined) {
      kernel = compile(
        key,
        "x, out, outer, n, inner",
        reduceSource(op, dtype, inner === 1),
      ) as Reduction;
      reduceCache.set(key, kernel);
    }
    kernel(this.arr(x), out, outer, n, inner);
    return this.wrap(out);
  }

  /**
   * `log Σ exp` over the middle axis of `[outer, n, inner]`, in float64
   * (one rounding for float32): the maximum, then the shifted sum.
   */
  logsumexp({ x, outer, n, inner, dtype }: LogsumexpSpec): DataHandle {
    const src = this.arr(x), out = this.alloc(dtype, outer * inner, false);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        let m = -Infinity;
        for (let j = 0; j < n; j++) {
          const v = src[base + j * inner];
          if (v > m || v !== v) m = v;
          if (m !== m) break;
        }
        const shift = m - m === 0 ? m : 0; // ±∞ and NaN maxima shift by 0
        let s = 0;
        for (let j = 0; j < n; j++) s += Math.exp(src[base + j * inner] - shift);
        out[o * inner + i] = Math.log(s) + shift;
      }
    }
    return this.wrap(out);
  }

  /** Batched matrix product with broadcast batch strides. */
  matmul(a: DataHandle, b: DataHandle, spec: MatmulSpec, dtype: DType): DataHandle {
    const { batchShape, m, k, n } = spec;
    const batch = sizeOf(batchShape);
    if (dtype === "bool") {
      throw new TypeError("matmul(): dtype bool is not supported; cast to int32 or float32 first");
    }
    const out = this.alloc(dtype, batch * m * n);
    if (out.length === 0 || k === 0) return this.wrap(out);
    const A = this.arr(a), B = this.arr(b);
    const gemm = GEMM[dtype];
    const scratch = allocArray(dtype, dtype === "int32" ? 0 : gemmScratch(k, n));
    const mats = batchMatrices(spec);
    // The JS kernels read row-major operands: transpose flagged ones first.
    const aMats = spec.transA ? transposeMatrices(A, k, m, dtype) : A;
    const bMats = spec.transB ? transposeMatrices(B, n, k, dtype) : B;
    for (let t = 0; t < batch; t++) {
      const aOff = mats[2 * t] * m * k, bOff = mats[2 * t + 1] * k * n;
      gemm(aMats, aOff, bMats, bOff, out, t * m * n, m, k, n, scratch);
    }
    return this.wrap(out);
  }

  /** `out[idx] = x[offset + Σ idx_d·strides_d]` (transpose, broadcast, slice). */
  strided({ x, offset, strides, outShape, dtype }: StridedSpec): DataHandle {
    const src = this.arr(x);
    const size = sizeOf(outShape);
    const out = this.alloc(dtype, size, false);
    const s = simplifyStrides(outShape, [strides]);
    if (s.shape.length <= 1 && (s.shape.length === 0 || s.strides[0][0] === 1)) {
      out.set(src.subarray(offset, offset + size)); // a contiguous copy
      return this.wrap(out);
    }
    return this.wrap(elementwise(dtype, ["a"], "a", out, [src], [offset], outShape, [strides]));
  }

  /** A zero buffer with `out[offset + Σ idx_d·strides_d] = x[idx]`. */
  scatterStrided({ x, xShape, offset, strides, outSize, dtype }: ScatterStridedSpec): DataHandle {
    const src = this.arr(x);
    const out = this.alloc(dtype, outSize);
    const size = sizeOf(xShape);
    if (size === 0) return this.wrap(out);
    const s = simplifyStrides(xShape, [strides]);
    const r = s.shape.length;
    if (r === 0 || (r === 1 && s.strides[0][0] === 1)) {
      out.set(src.subarray(0, size), offset);
      return this.wrap(out);
    }
    const shape = s.shape, st = s.strides[0];
    const last = r - 1, len = shape[last], inc = st[last];
    const idx = new Int32Array(last);
    let p = offset, q = 0;
    for (let row = 0; row < size / len; row++) {
      for (let j = 0, i = p; j < len; j++, i += inc) out[i] = src[q++];
      for (let d = last - 1; d >= 0; d--) {
        p += st[d];
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
        p -= st[d] * shape[d];
      }
    }
    return this.wrap(out);
  }

  /** Concatenates `[outer, cols[i]]` inputs along the columns. */
  concat({ xs, cols, outer, dtype }: ConcatSpec): DataHandle {
    let total = 0;
    for (const c of cols) total += c;
    const out = this.alloc(dtype, outer * total, false);
    let col = 0;
    xs.forEach((x, i) => {
      const src = this.arr(x), c = cols[i];
      if (outer === 1 || c === total) {
        out.set(src.subarray(0, outer * c), col);
      } else if (c >= 16) {
        for (let o = 0; o < outer; o++) out.set(src.subarray(o * c, o * c + c), o * total + col);
      } else {
        for (let o = 0; o < outer; o++) {
          for (let j = 0; j < c; j++) out[o * total + col + j] = src[o * c + j];
        }
      }
      col += c;
    });
    return this.wrap(out);
  }

  /** `out[o, c, i] = x[o, indices[c], i]`; throws a RangeError for an out-of-range index. */
  gather({ x, indices, outer, n, inner, count, dtype }: GatherSpec): DataHandle {
    const src = this.arr(x);
    const idx = normalizeIndices("take()", this.arr(indices) as Int32Array, count, n);
    const out = this.alloc(dtype, outer * count * inner, false);
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < count; c++) {
        const from = (o * n + idx[c]) * inner, to = (o * count + c) * inner;
        if (inner >= 16) out.set(src.subarray(from, from + inner), to);
        else for (let i = 0; i < inner; i++) out[to + i] = src[from + i];
      }
    }
    return this.wrap(out);
  }

  /** Zeros `[outer, n, inner]` with `out[o, indices[c], i] += g[o, c, i]`. */
  scatterAdd({ g, indices, outer, n, inner, count, dtype }: ScatterAddSpec): DataHandle {
    const src = this.arr(g);
    const idx = normalizeIndices("scatterAdd()", this.arr(indices) as Int32Array, count, n);
    const size = outer * n * inner;
    // float32 accumulates in doubles; int32 wraps on store; bool means "any".
    const acc = dtype === "float32" || dtype === "bool"
      ? new Float64Array(size)
      : this.alloc(dtype, size);
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < count; c++) {
        const to = (o * n + idx[c]) * inner, from = (o * count + c) * inner;
        for (let i = 0; i < inner; i++) acc[to + i] += src[from + i];
      }
    }
    if (dtype === "float32" || dtype === "bool") {
      return this.wrap(castInto(acc, this.alloc(dtype, size, false)));
    }
    return this.wrap(acc);
  }

  /** `count` Threefry-2x32 words from the int32 `[2]` key. */
  randomBits(key: DataHandle, count: number): DataHandle {
    const k = this.arr(key) as Int32Array;
    const out = this.alloc("int32", count, false) as Int32Array;
    randomBitsInto(out, k[0] >>> 0, k[1] >>> 0);
    return this.wrap(out);
  }

  /**
   * `count` uniform floats in `[0, 1)` from the `randomBits` stream: float32
   * uses the top 24 bits of word `i`; float64 takes 27 + 26 bits from words
   * `2i` and `2i + 1`.
   */
  randomUniform({ key, count, dtype }: RandomUniformSpec): DataHandle {
    const k = this.arr(key) as Int32Array;
    const wide = dtype === "float64";
    const words = new Int32Array(wide ? 2 * count : count);
    randomBitsInto(words, k[0] >>> 0, k[1] >>> 0);
    const out = this.alloc(dtype, count, false);
    if (wide) {
      for (let i = 0; i < count; i++) {
        out[i] = ((words[2 * i] >>> 5) * 67108864 + (words[2 * i + 1] >>> 6)) * 2 ** -53;
      }
    } else {
      for (let i = 0; i < count; i++) out[i] = (words[i] >>> 8) * 2 ** -24;
    }
    return this.wrap(out);
  }

  /** Stable ascending argsort of each row of `[outer, n]`, NaN last. */
  argsort({ x, outer, n }: ArgsortSpec): DataHandle {
    const src = this.arr(x);
    const out = this.alloc("int32", outer * n, false);
    const vals = new Float64Array(n);
    const cmp = (i: number, j: number): number => {
      const a = vals[i], b = vals[j];
      if (a < b) return -1;
      if (a > b) return 1;
      const aNaN = a !== a, bNaN = b !== b;
      if (aNaN !== bNaN) return aNaN ? 1 : -1;
      return i - j;
    };
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < n; j++) vals[j] = src[o * n + j];
      const perm = Array.from({ length: n }, (_, j) => j).sort(cmp);
      out.set(perm, o * n);
    }
    return this.wrap(out);
  }
}
