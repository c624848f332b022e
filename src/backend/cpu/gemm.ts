/**
 * The CPU backend's matrix product in plain JS: a cache-blocked kernel with a
 * 4×4 register tile for floats (a separately compiled copy per dtype, so
 * each sees one array type) and a wrapping int32 loop.
 *
 * @module
 */

import { batchMatrices } from "../_geometry.ts";
import type { MatmulSpec } from "../backend.ts";
import { allocArray, type DType, type TypedArray } from "../../core/dtype.ts";

type FloatArray = Float32Array | Float64Array;

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
 * `out = a @ b` for a batch of products with broadcast batch strides
 * (`spec`); `out` holds `batch·m·n` zeros on entry.
 *
 * @param out The zeroed output.
 * @param A The left operands' matrices.
 * @param B The right operands' matrices.
 * @param spec The geometry (batch strides, `m`, `k`, `n`, transposed operands).
 * @param dtype float32, float64 or int32.
 * @internal
 */
export function matmulInto(
  out: TypedArray,
  A: TypedArray,
  B: TypedArray,
  spec: MatmulSpec,
  dtype: "float32" | "float64" | "int32",
): void {
  const { m, k, n } = spec;
  const batch = out.length / (m * n);
  if (dtype !== "int32" && k <= 256 && m * k * n <= SMALL_PRODUCT) {
    smallProduct(out as FloatArray, A as FloatArray, B as FloatArray, spec, batch);
    return;
  }
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
}

/**
 * Products of at most this many multiply-adds (per matrix) run as plain
 * loops: no packing, no transposed copies, no scratch (their setup would
 * cost more than the product).
 */
const SMALL_PRODUCT = 4096;

/**
 * A small product straight from the operands (transposed ones read with
 * their strides): each element summed in float64 in `p` order, exactly as
 * the blocked kernels do for `k ≤ 256`, so results are the same bits.
 */
function smallProduct(
  out: FloatArray,
  A: FloatArray,
  B: FloatArray,
  spec: MatmulSpec,
  batch: number,
): void {
  const { m, k, n, transA, transB } = spec;
  const mats = spec.batchShape.length === 0 ? ONE_MATRIX : batchMatrices(spec);
  const kernel = out instanceof Float32Array ? SMALL_F32 : SMALL_F64;
  if (smallRow.length < n) smallRow = new Float64Array(n);
  kernel(
    out,
    A,
    B,
    mats,
    batch,
    m,
    k,
    n,
    transA ? 1 : k,
    transA ? m : 1,
    transB ? k : 1,
    transB ? 1 : n,
    smallRow,
  );
}

type SmallKernel = typeof smallKernel;

/**
 * `out = A·B` with A's element (i, p) at `i·ai + p·ap`, B's (p, j) at
 * `p·bp + j·bj`: row by row, each row's sums in `acc` (float64) over `p` in
 * order, the inner loop along the row.
 */
function smallKernel(
  out: FloatArray,
  A: FloatArray,
  B: FloatArray,
  mats: Int32Array,
  batch: number,
  m: number,
  k: number,
  n: number,
  ai: number,
  ap: number,
  bj: number,
  bp: number,
  acc: Float64Array,
): void {
  for (let t = 0; t < batch; t++) {
    const aOff = mats[2 * t] * m * k, bOff = mats[2 * t + 1] * k * n;
    for (let i = 0, c = t * m * n; i < m; i++, c += n) {
      for (let j = 0; j < n; j++) acc[j] = 0;
      for (let p = 0, a = aOff + i * ai, b = bOff; p < k; p++, a += ap, b += bp) {
        const x = A[a];
        for (let j = 0, q = b; j < n; j++, q += bj) acc[j] += x * B[q];
      }
      for (let j = 0; j < n; j++) out[c + j] = 0 + acc[j]; // 0 + s: a -0 sum stores +0, as the blocked kernels do
    }
  }
}

// One compiled copy per array type, so each stays monomorphic.
const SMALL_F32: SmallKernel = specialize(smallKernel, "small f32");
const SMALL_F64: SmallKernel = specialize(smallKernel, "small f64");

const ONE_MATRIX = new Int32Array(2);
/** The row of sums `smallKernel` accumulates in (grown as needed). */
let smallRow = new Float64Array(64);
