/**
 * Matrix products: `matmul` (batched, broadcasting batch axes, NumPy's `@`)
 * and `dot` (NumPy's `dot`).
 *
 * @module
 */

import { DTypeError, fmtShape, ShapeError } from "../core/errors.ts";
import { broadcastShapes, type Shape, sizeOf } from "../core/shape.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensors, sameDType } from "./convert.ts";
import { add, mul } from "./elementwise.ts";
import { reshape, transpose } from "./movement.ts";
import type { Backend, DataHandle, MatmulSpec } from "../backend/backend.ts";
import { bind, definePrimitive, type Primitive } from "./primitive.ts";
import { padBatched } from "./_batching.ts";
import { sum } from "./reduce.ts";
import { checkOptions, type OptionKeys } from "./_options.ts";

/** No batch axes. */
const NONE: readonly number[] = Object.freeze([]);

function batchStrides(batch: Shape, out: Shape): number[] {
  // strides counted in whole matrices; 0 on broadcast axes
  const st: number[] = new Array(out.length).fill(0);
  let acc = 1;
  for (let i = batch.length - 1; i >= 0; i--) {
    const j = out.length - batch.length + i;
    st[j] = batch[i] === 1 && out[j] !== 1 ? 0 : acc;
    acc *= batch[i];
  }
  return st;
}

/** Which operands the matmul primitive reads transposed (their last two axes swapped). */
interface MatmulParams {
  readonly transA: boolean;
  readonly transB: boolean;
}

/** `[rows, cols]` of the matrices of `shape`, swapped when `trans`. */
function matrixOf(shape: Shape, trans: boolean): [number, number] {
  const r = shape[shape.length - 2], c = shape[shape.length - 1];
  return trans ? [c, r] : [r, c];
}

/** A backend buffer holding the matrices of `x` transposed (for backends that cannot read them so). */
function transposedCopy(be: Backend, x: Tensor): DataHandle {
  const n = x.ndim, [r, c] = [x.shape[n - 2], x.shape[n - 1]];
  const strides = new Array<number>(n);
  for (let i = n - 3, acc = r * c; i >= 0; acc *= x.shape[i--]) strides[i] = acc;
  strides[n - 2] = 1;
  strides[n - 1] = c;
  const outShape = [...x.shape.slice(0, -2), c, r];
  return be.strided({ x: x._data, offset: 0, strides, outShape, dtype: x.dtype });
}

/**
 * Batched matrix product `op(a) @ op(b)` of inputs with at least 2 axes,
 * where `op` swaps the last two axes of an operand flagged in the params.
 * The flags are a primitive's business rather than a transpose before it
 * because the backward pass needs `aᵀ·g` and `g·bᵀ`: backends that read
 * operands transposed (`Backend.matmulTransposes`) then skip the copy.
 * Bilinear, not elementwise: the jvp is `ta·b + a·tb` and the vjp the
 * transposed products `g·bᵀ` and `aᵀ·g`, so it states both rules.
 * @internal
 */
/**
 * The backend geometry of `a @ b` (operands stored transposed where the
 * params say: the spec says so too).
 *
 * @param aShape The left operand's shape.
 * @param bShape The right operand's shape.
 * @param outShape The product's shape.
 * @param params Which operands are stored transposed.
 * @returns The spec `Backend.matmul` takes.
 * @internal
 */
export function matmulSpec(
  aShape: readonly number[],
  bShape: readonly number[],
  outShape: readonly number[],
  { transA, transB }: MatmulParams,
): MatmulSpec {
  const [m, k] = matrixOf(aShape, transA);
  if (outShape.length === 2) {
    // Plain matrices (the common case): no batch axes to work out.
    const n = outShape[1];
    return { batchShape: NONE, aBatchStrides: NONE, bBatchStrides: NONE, m, k, n, transA, transB };
  }
  const batchShape = outShape.slice(0, -2);
  return {
    batchShape,
    aBatchStrides: batchStrides(aShape.slice(0, -2), batchShape),
    bBatchStrides: batchStrides(bShape.slice(0, -2), batchShape),
    m,
    k,
    n: outShape[outShape.length - 1],
    transA,
    transB,
  };
}

export const matmulPrim: Primitive<MatmulParams> = definePrimitive<MatmulParams>({
  name: "matmul",
  abstract: ([a, b], { transA, transB }) => {
    const dtype = sameDType("matmul", [a.dtype, b.dtype]);
    if (dtype === "bool") {
      throw new DTypeError(`matmul(): bool tensors are not supported; cast them first`);
    }
    const [m, k] = matrixOf(a.shape, transA);
    const [k2, n] = matrixOf(b.shape, transB);
    if (k !== k2) {
      const ta = transA ? "ᵀ" : "", tb = transB ? "ᵀ" : "";
      throw new ShapeError(
        `matmul(): inner sizes differ: ${fmtShape(a.shape)}${ta} @ ${
          fmtShape(b.shape)
        }${tb} (${k} vs ${k2}); ` +
          `the last axis of the left operand must equal the second-to-last of the right`,
      );
    }
    let batch: Shape;
    try {
      batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
    } catch {
      throw new ShapeError(
        `matmul(): batch axes of ${fmtShape(a.shape)} and ${fmtShape(b.shape)} do not broadcast ` +
          `(${fmtShape(a.shape.slice(0, -2))} vs ${fmtShape(b.shape.slice(0, -2))})`,
      );
    }
    return { shape: [...batch, m, n], dtype };
  },
  impl: (be, [a, b], { transA, transB }, out) => {
    const reads = be.matmulTransposes === true;
    const aData = transA && !reads ? transposedCopy(be, a) : a._data;
    const bData = transB && !reads ? transposedCopy(be, b) : b._data;
    const spec = matmulSpec(a.shape, b.shape, out.shape, { transA, transB });
    const result = be.matmul(
      aData,
      bData,
      reads ? spec : { ...spec, transA: false, transB: false },
      out.dtype,
    );
    if (aData !== a._data) be.dispose(aData);
    if (bData !== b._data) be.dispose(bData);
    return result;
  },
  // With â = op(a), b̂ = op(b): dâ = g·b̂ᵀ and db̂ = âᵀ·g; a transposed
  // operand takes the transpose of those, (g·b̂ᵀ)ᵀ = b̂·gᵀ and (âᵀ·g)ᵀ = gᵀ·â.
  vjp: (g, [a, b], _o, { transA, transB }, needs) => [
    !needs[0]
      ? null
      : transA
      ? bind(matmulPrim, [b, g], { transA: transB, transB: true })
      : bind(matmulPrim, [g, b], { transA: false, transB: !transB }),
    !needs[1]
      ? null
      : transB
      ? bind(matmulPrim, [g, a], { transA: true, transB: transA })
      : bind(matmulPrim, [a, g], { transA: !transA, transB: false }),
  ],
  jvp: ([ta, tb], [a, b], _o, p) => {
    const l = ta === null ? null : bind(matmulPrim, [ta, b], p);
    const r = tb === null ? null : bind(matmulPrim, [a, tb], p);
    return l === null ? r : r === null ? l : add(l, r);
  },
  // Batched operands get 1s after the batch axis, so their batch axes broadcast behind it.
  batch: ({ inputs: [a, b], batched, params, self }) => {
    const rank = Math.max(a.ndim - (batched[0] ? 1 : 0), b.ndim - (batched[1] ? 1 : 0));
    return self([
      batched[0] ? padBatched(a, rank) : a,
      batched[1] ? padBatched(b, rank) : b,
    ], params);
  },
});

/**
 * Options of {@linkcode matmul}.
 *
 * @example
 * ```ts
 * import { matmul, type MatmulOptions, tensor } from "@gradus/core";
 *
 * const a = tensor([[1, 2], [3, 4]]);
 * const b = tensor([[1, 0], [1, 1]]);
 * const options: MatmulOptions = { transposeB: true }; // a @ bᵀ without making bᵀ
 * console.log(matmul(a, b, options).arraySync()); // [[1, 3], [3, 7]]
 * ```
 */
export interface MatmulOptions {
  /** Use `a` with its last two axes swapped, as TF.js's `matMul(a, b, true)` (default false). */
  readonly transposeA?: boolean;
  /** Use `b` with its last two axes swapped (default false). */
  readonly transposeB?: boolean;
}

const MATMUL_KEYS: OptionKeys<MatmulOptions> = { transposeA: "boolean", transposeB: "boolean" };

/**
 * Matrix product with NumPy's `@` semantics: 2-D × 2-D is the matrix
 * product; leading axes are batch axes that broadcast; a 1-D left operand
 * is a row vector and a 1-D right operand a column vector (that axis is
 * removed from the result). Scalars are not allowed (use `mul`). As in
 * TF.js's `matMul`, an operand of 2 or more axes can be used transposed
 * (its last two axes swapped) without a copy on the CPU backends.
 *
 * @param a Left operand (at least 1-D).
 * @param b Right operand (at least 1-D).
 * @param options `transposeA`, `transposeB` (default false).
 * @returns The product.
 * @example
 * ```ts
 * import { matmul, tensor } from "@gradus/core";
 * const a = tensor([[1, 2], [3, 4]]);
 * console.log(matmul(a, tensor([[1], [1]])).arraySync()); // [[3], [7]]
 * console.log(matmul(a, tensor([1, 1])).arraySync()); // [3, 7]
 * console.log(matmul(a, a, { transposeA: true }).arraySync()); // [[10, 14], [14, 20]]
 * ```
 */
export function matmul(a: TensorLike, b: TensorLike, options: MatmulOptions = {}): Tensor {
  const [x, y] = asTensors("matmul", [a, b]);
  checkOptions("matmul", options, MATMUL_KEYS, "{ transposeB: true }");
  const { transposeA = false, transposeB = false } = options;
  if (x.ndim === 0 || y.ndim === 0) {
    throw new ShapeError(
      `matmul(): operands must have at least 1 axis, got ${fmtShape(x.shape)} and ${
        fmtShape(y.shape)
      }; use mul() for scalars`,
    );
  }
  for (const [t, flag, name] of [[x, transposeA, "A"], [y, transposeB, "B"]] as const) {
    if (flag && t.ndim < 2) {
      throw new ShapeError(
        `matmul(): transpose${name} needs an operand with at least 2 axes, got ${
          fmtShape(t.shape)
        }; reshape it to a matrix first`,
      );
    }
  }
  const xv = x.ndim === 1 ? reshape(x, [1, x.shape[0]]) : x;
  const yv = y.ndim === 1 ? reshape(y, [y.shape[0], 1]) : y;
  const k = matrixOf(xv.shape, transposeA)[1], k2 = matrixOf(yv.shape, transposeB)[0];
  if (k !== k2) {
    const ta = transposeA ? "ᵀ" : "", tb = transposeB ? "ᵀ" : "";
    throw new ShapeError(
      `matmul(): inner sizes differ: ${fmtShape(x.shape)}${ta} @ ${
        fmtShape(y.shape)
      }${tb} (${k} vs ${k2}); the last axis of the left operand must equal the second-to-last of the right`,
    );
  }
  const r = bind(matmulPrim, [xv, yv], { transA: transposeA, transB: transposeB });
  if (x.ndim > 1 && y.ndim > 1) return r;
  const shape = [...r.shape];
  if (y.ndim === 1) shape.splice(shape.length - 1, 1);
  if (x.ndim === 1) shape.splice(shape.length - (y.ndim === 1 ? 1 : 2), 1);
  return reshape(r, shape);
}

/**
 * NumPy's `dot`: scalars multiply; 1-D · 1-D is the inner product; 2-D is
 * the matrix product; N-D · M-D sums over the last axis of `a` and the
 * second-to-last of `b` (the last if `b` is 1-D).
 *
 * @param a Left operand.
 * @param b Right operand.
 * @returns The dot product.
 * @example
 * ```ts
 * import { dot, tensor } from "@gradus/core";
 * console.log(dot(tensor([1, 2, 3]), tensor([4, 5, 6])).arraySync()); // 32
 * ```
 */
export function dot(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = asTensors("dot", [a, b]);
  if (x.ndim === 0 || y.ndim === 0) return mul(x, y);
  if (x.ndim === 1 && y.ndim === 1) {
    if (x.shape[0] !== y.shape[0]) {
      throw new ShapeError(
        `dot(): sizes differ: ${fmtShape(x.shape)} · ${fmtShape(y.shape)}`,
      );
    }
    return sum(mul(x, y));
  }
  if (y.ndim <= 2) return matmul(x, y);
  // a [..., k] · b [..., k, n] -> a.shape[:-1] + b.shape[:-2] + [n]
  const k = x.shape[x.ndim - 1];
  const kb = y.shape[y.ndim - 2];
  if (k !== kb) {
    throw new ShapeError(
      `dot(): sizes differ: ${fmtShape(x.shape)} · ${fmtShape(y.shape)} (${k} vs ${kb})`,
    );
  }
  const perm = [y.ndim - 2, ...y.shape.map((_, i) => i).filter((i) => i !== y.ndim - 2)];
  // Sizes, not -1: with k = 0 the other size is not implied.
  const rows = sizeOf(x.shape.slice(0, -1));
  const cols = sizeOf(y.shape.filter((_, i) => i !== y.ndim - 2));
  const y2 = reshape(transpose(y, perm), [k, cols]);
  const x2 = reshape(x, [rows, k]);
  const r = matmul(x2, y2);
  return reshape(r, [...x.shape.slice(0, -1), ...y.shape.slice(0, -2), y.shape[y.ndim - 1]]);
}
