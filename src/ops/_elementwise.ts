/**
 * The parts of an elementwise primitive that do not involve derivatives:
 * the dtype rule of each kind of op, the kernel call (the primitive's name
 * is its backend opcode), and the door for binary ops that broadcast. Both
 * elementwise.ts (arithmetic and math, with derivatives) and compare.ts
 * (comparisons and logical ops, without) build their primitives here.
 *
 * @module
 */

import type { BinaryOp, UnaryOp } from "../backend/backend.ts";
import { isFloat } from "../core/dtype.ts";
import { DTypeError } from "../core/errors.ts";
import { broadcastShapes, broadcastStrides, sizeOf } from "../core/shape.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensors, requireFloat, sameDType } from "./convert.ts";
import { elementwiseBatch } from "./_batching.ts";
import {
  type Aval,
  bind,
  definePrimitive,
  type JvpRule,
  type Primitive,
  type VjpRule,
} from "./primitive.ts";

/** What a unary op accepts: float dtypes, any number (float or int32), or bool. @internal */
export type UnaryKind = "float" | "number" | "bool";

/**
 * What a binary op accepts and gives: arithmetic (numbers), float only,
 * comparison (→ bool), logic (bool).
 * @internal
 */
export type BinaryKind = "arith" | "float" | "compare" | "logic";

/** The vjp and jvp rules of a primitive, or null when its derivative is zero everywhere. @internal */
export type Rules = { readonly vjp: VjpRule<null>; readonly jvp: JvpRule<null> } | null;

/** An elementwise unary primitive: same shape and dtype out, the `op` kernel. @internal */
export function unaryPrimitive(op: UnaryOp, kind: UnaryKind, rules: Rules): Primitive<null> {
  return definePrimitive<null>({
    name: op,
    abstract: ([x]) => {
      if (kind === "float") requireFloat(op, x.dtype);
      else if (kind === "number" && x.dtype === "bool") {
        throw new DTypeError(
          `${op}(): expects a numeric tensor, got bool; cast it first, e.g. cast(x, "float32")`,
        );
      } else if (kind === "bool" && x.dtype !== "bool") {
        throw new DTypeError(`${op}(): expects a bool tensor, got ${x.dtype}`);
      }
      return x;
    },
    impl: (b, [x], _p, out) => b.unary({ op, x: x._data, size: sizeOf(out.shape), dtype: x.dtype }),
    vjp: rules?.vjp ?? null,
    jvp: rules?.jvp ?? null,
    batch: elementwiseBatch,
  });
}

function binaryAbstract(name: string, kind: BinaryKind) {
  return ([a, b]: readonly Aval[]): Aval => {
    const shape = broadcastShapes(name, a.shape, b.shape);
    const dtype = sameDType(name, [a.dtype, b.dtype]);
    if ((kind === "arith" || kind === "float") && dtype === "bool") {
      throw new DTypeError(
        `${name}(): arithmetic on bool tensors is not defined; cast them first, e.g. cast(x, "float32")`,
      );
    }
    if (kind === "float" && !isFloat(dtype)) {
      throw new DTypeError(
        `${name}(): expects float tensors, got ${dtype}; cast them first, e.g. cast(x, "float32")`,
      );
    }
    if (kind === "logic" && dtype !== "bool") {
      throw new DTypeError(`${name}(): expects bool tensors, got ${dtype}`);
    }
    return { shape, dtype: kind === "compare" || kind === "logic" ? "bool" : dtype };
  };
}

/** An elementwise binary primitive with NumPy broadcasting, the `op` kernel. @internal */
export function binaryPrimitive(op: BinaryOp, kind: BinaryKind, rules: Rules): Primitive<null> {
  return definePrimitive<null>({
    name: op,
    abstract: binaryAbstract(op, kind),
    impl: (be, [a, b], _p, out) =>
      be.binary({
        op,
        a: a._data,
        aStrides: broadcastStrides(a.shape, out.shape),
        b: b._data,
        bStrides: broadcastStrides(b.shape, out.shape),
        outShape: out.shape,
        dtype: a.dtype,
      }),
    vjp: rules?.vjp ?? null,
    jvp: rules?.jvp ?? null,
    batch: elementwiseBatch,
  });
}

/** Applies a binary primitive to tensors or numbers (a number takes the other input's dtype). @internal */
export function bindBinary(prim: Primitive<null>, a: TensorLike, b: TensorLike): Tensor {
  return bind(prim, asTensors(prim.name, [a, b]), null);
}
