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
import { bind, definePrimitive, type Primitive } from "./primitive.ts";
import { sum } from "./reduce.ts";

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

/** Swaps the last two axes. */
function mT(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  const n = perm.length;
  [perm[n - 2], perm[n - 1]] = [perm[n - 1], perm[n - 2]];
  return transpose(x, perm);
}

/** Batched matrix product of inputs with at least 2 axes. @internal */
export const matmulPrim: Primitive<null> = definePrimitive<null>({
  name: "matmul",
  abstract: ([a, b]) => {
    const dtype = sameDType("matmul", [a.dtype, b.dtype]);
    if (dtype === "bool") {
      throw new DTypeError(`matmul(): bool tensors are not supported; cast them first`);
    }
    const [m, k] = a.shape.slice(-2);
    const [k2, n] = b.shape.slice(-2);
    if (k !== k2) {
      throw new ShapeError(
        `matmul(): inner sizes differ: ${fmtShape(a.shape)} @ ${
          fmtShape(b.shape)
        } (${k} vs ${k2}); ` +
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
  impl: (be, [a, b], _p, out) => {
    const batchShape = out.shape.slice(0, -2);
    return be.matmul(a._data, b._data, {
      batchShape,
      aBatchStrides: batchStrides(a.shape.slice(0, -2), batchShape),
      bBatchStrides: batchStrides(b.shape.slice(0, -2), batchShape),
      m: a.shape[a.ndim - 2],
      k: a.shape[a.ndim - 1],
      n: b.shape[b.ndim - 1],
    }, out.dtype);
  },
  vjp: (g, [a, b], _o, _p, needs) => [
    needs[0] ? bind(matmulPrim, [g, mT(b)], null) : null,
    needs[1] ? bind(matmulPrim, [mT(a), g], null) : null,
  ],
  jvp: ([ta, tb], [a, b]) => {
    const l = ta === null ? null : bind(matmulPrim, [ta, b], null);
    const r = tb === null ? null : bind(matmulPrim, [a, tb], null);
    return l === null ? r : r === null ? l : add(l, r);
  },
});

/**
 * Matrix product with NumPy's `@` semantics: 2-D × 2-D is the matrix
 * product; leading axes are batch axes that broadcast; a 1-D left operand
 * is a row vector and a 1-D right operand a column vector (that axis is
 * removed from the result). Scalars are not allowed (use `mul`).
 *
 * @param a Left operand (at least 1-D).
 * @param b Right operand (at least 1-D).
 * @returns The product.
 * @example
 * ```ts
 * import { matmul, tensor } from "@gradus/core";
 * const a = tensor([[1, 2], [3, 4]]);
 * console.log(matmul(a, tensor([[1], [1]])).arraySync()); // [[3], [7]]
 * console.log(matmul(a, tensor([1, 1])).arraySync()); // [3, 7]
 * ```
 */
export function matmul(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = asTensors("matmul", [a, b]);
  if (x.ndim === 0 || y.ndim === 0) {
    throw new ShapeError(
      `matmul(): operands must have at least 1 axis, got ${fmtShape(x.shape)} and ${
        fmtShape(y.shape)
      }; use mul() for scalars`,
    );
  }
  const xv = x.ndim === 1 ? reshape(x, [1, x.shape[0]]) : x;
  const yv = y.ndim === 1 ? reshape(y, [y.shape[0], 1]) : y;
  if (xv.shape[xv.ndim - 1] !== yv.shape[yv.ndim - 2]) {
    throw new ShapeError(
      `matmul(): inner sizes differ: ${fmtShape(x.shape)} @ ${fmtShape(y.shape)} (${
        xv.shape[xv.ndim - 1]
      } vs ${
        yv.shape[yv.ndim - 2]
      }); the last axis of the left operand must equal the second-to-last of the right`,
    );
  }
  const r = bind(matmulPrim, [xv, yv], null);
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
  const y2 = reshape(transpose(y, perm), [k, sizeOf(y.shape) / Math.max(k, 1)]);
  const x2 = reshape(x, [-1, k]);
  const r = matmul(x2, y2);
  return reshape(r, [...x.shape.slice(0, -1), ...y.shape.slice(0, -2), y.shape[y.ndim - 1]]);
}
