/**
 * Rewrites of a traced program that keep its results bit for bit: merging
 * common subexpressions, and folding a reshape that only drops the kept
 * axes of a reduction into the reduction. (Dead code is skipped by the
 * interpreter's plan; fusion and memory planning build on these next.)
 *
 * @module
 */

import type { DType } from "../core/dtype.ts";
import type { Tensor } from "../core/tensor.ts";
import { broadcastShapes } from "../core/shape.ts";
import { knownValues } from "../ops/convert.ts";
import { binaryPrims, unaryPrims, wherePrim } from "../ops/elementwise.ts";
import { comparePrims } from "../ops/compare.ts";
import { reshapePrim } from "../ops/movement.ts";
import { reducePrims } from "../ops/reduce.ts";
import { type Equation, Program, readCounts, type Var } from "./program.ts";

/**
 * Merges equations that apply the same primitive with equal params to the
 * same variables (primitives are pure and deterministic, so the merged
 * value is bit-identical), and one-element constants of equal dtype, shape
 * and value. An equation defining a program output is kept,
 * so outputs stay distinct tensors as they are eagerly.
 * @internal
 */
export function mergeCommon(program: Program): Program {
  const outputs = new Set(program.outputs);
  const renamed = new Map<Var, Var>();
  const seen = new Map<string, Var>();
  // Scalar constants with equal dtype, shape and value (each literal of the
  // traced function is a constant of its own) become one.
  const constVars: Var[] = [];
  const consts: Tensor[] = [];
  program.constVars.forEach((v, i) => {
    const key = scalarKey(program.consts[i]);
    const prev = key === null ? undefined : seen.get(key);
    if (prev !== undefined && !outputs.has(v)) {
      renamed.set(v, prev);
      return;
    }
    if (key !== null) seen.set(key, v);
    constVars.push(v);
    consts.push(program.consts[i]);
  });
  const equations: Equation[] = [];
  const r = (v: Var): Var => renamed.get(v) ?? v;
  for (const eq of program.equations) {
    const inputs = eq.inputs.map(r);
    const params = paramsKey(eq.params);
    const key = params === null
      ? null
      : `${eq.prim.name}(${inputs.map((v) => v.id).join(",")})${params}`;
    const prev = key === null ? undefined : seen.get(key);
    if (prev !== undefined && !outputs.has(eq.out)) {
      renamed.set(eq.out, prev);
      continue;
    }
    if (key !== null && prev === undefined) seen.set(key, eq.out);
    equations.push(inputs.every((v, i) => v === eq.inputs[i]) ? eq : { ...eq, inputs });
  }
  if (equations.length === program.equations.length && renamed.size === 0) return program;
  return new Program(
    constVars,
    consts,
    program.inputs,
    equations,
    program.outputs.map(r),
  );
}

/**
 * Folds `reshape(r)` into `r` when `r` is a `sum`, `max` or `min` with
 * `keepdims: true` that only the reshape reads and the reshape only drops
 * the kept axes: the reduction without `keepdims` writes the same values
 * in the same order. (The gradient of a bias added along rows is
 * `reshape(sum(g, [0], keepdims))`; folded, the reduction can take the
 * update that reads it as its epilogue.)
 * @internal
 */
export function foldReshapedReductions(program: Program): Program {
  const uses = readCounts(program);
  const defining = new Map<Var, number>();
  program.equations.forEach((eq, i) => defining.set(eq.out, i));
  const folded = new Set<number>();
  const equations = program.equations.map((eq) => {
    if (eq.prim.name !== "reshape" || eq.inputs.length !== 1) return eq;
    const src = eq.inputs[0];
    const d = defining.get(src);
    if (d === undefined || uses.get(src) !== 1) return eq;
    const red = program.equations[d];
    if (!REDUCTIONS.has(red.prim.name)) return eq;
    const p = red.params as { axes?: readonly number[]; keepdims?: boolean } | null;
    if (p?.keepdims !== true || p.axes === undefined) return eq;
    const dropped = src.aval.shape.filter((_, a) => !p.axes!.includes(a));
    const want = eq.out.aval.shape;
    if (dropped.length !== want.length || dropped.some((n, a) => n !== want[a])) return eq;
    folded.add(d);
    return { ...red, params: { ...p, keepdims: false }, out: eq.out };
  });
  if (folded.size === 0) return program;
  return new Program(
    program.constVars,
    program.consts,
    program.inputs,
    equations.filter((_, i) => !folded.has(i)),
    program.outputs,
  );
}

/**
 * Rewrites the sum of squares of a product over `k = 1` — a stack of outer
 * products `a bᵀ` — over its two matrix axes into `Σa² · Σb²` (the squared
 * Frobenius norm of an outer product is the product of the squared norms).
 * That is what per-example gradient norms of a dense layer are
 * (`vmap(grad(loss))`, then each example's `sum(g * g)`: the gradient of
 * `x W` for one example is `x δᵀ`), as in Goodfellow's "Efficient
 * per-example gradient computations" (2015) and Opacus's ghost clipping:
 * `[batch, m, n]` products are never formed (the MNIST MLP's first layer:
 * 7.8 M values, 31 MB, per batch of 100) and the work is `m + n` per
 * example instead of `m·n`. Each factor is scaled by its largest magnitude
 * first (`Σ(a/‖a‖∞)² · Σ(b/‖b‖∞)² · (‖a‖∞‖b‖∞)²`, as BLAS's `nrm2`
 * scales), so nothing overflows or underflows where the eager sum does
 * not; an all-zero product gives 0, and an infinite or NaN element a
 * non-finite result (Inf where eager may give NaN from `Inf · 0`). Unlike
 * the other passes this changes rounding: the result equals the eager one
 * to a few float32 ulps (relative error about `2⁻²⁴·√(m·n)`, the eager
 * sum's own), not bit for bit; products under 256 elements are left alone.
 * @internal
 */
export function foldOuterProductNorms(program: Program): Program {
  const uses = readCounts(program);
  const defining = new Map<Var, Equation>();
  for (const eq of program.equations) defining.set(eq.out, eq);
  let nextId = 0;
  for (const v of [...program.constVars, ...program.inputs]) nextId = Math.max(nextId, v.id + 1);
  for (const eq of program.equations) nextId = Math.max(nextId, eq.out.id + 1);
  const fresh = (shape: readonly number[], dtype: DType): Var => ({
    id: nextId++,
    aval: Object.freeze({ shape: Object.freeze(shape.slice()), dtype }),
  });
  // the squares and products replaced (a product something else reads stays)
  const dead = new Set<Equation>();
  const equations = program.equations.flatMap((eq): Equation[] => {
    const outer = outerProductOf(eq, defining, uses);
    if (outer === null) return [eq];
    const sq = defining.get(eq.inputs[0])!, mm = defining.get(sq.inputs[0])!;
    dead.add(sq);
    if (uses.get(mm.out) === (sq.inputs.length === 2 ? 2 : 1)) dead.add(mm);
    const { keepdims } = eq.params as { keepdims: boolean };
    const made: Equation[] = [];
    const dtype = eq.out.aval.dtype;
    const emit = (
      prim: Equation["prim"],
      inputs: Var[],
      params: unknown,
      shape: readonly number[],
      type: DType = dtype,
    ): Var => {
      const out = fresh(shape, type);
      made.push({ prim, inputs, params, out });
      return out;
    };
    const kept = (x: Var) => [...x.aval.shape.slice(0, x.aval.shape.length - 2), 1, 1];
    // Per operand x: its largest |x| per matrix (m) and Σ (x / m)², both in the sum's form. The
    // scaling keeps Σx² from overflowing (or underflowing) where the result itself does not.
    const side = (x: Var): [Var, Var] => {
      const rx = x.aval.shape.length, axes = Object.freeze([rx - 2, rx - 1]);
      const m = emit(reducePrims.max, [emit(unaryPrims.abs, [x], null, x.aval.shape)], {
        axes,
        keepdims: true,
      }, kept(x));
      const q = emit(binaryPrims.div, [x, m], null, x.aval.shape);
      const form = keepdims ? kept(x) : x.aval.shape.slice(0, rx - 2);
      const s = emit(reducePrims.sum, [emit(unaryPrims.square, [q], null, x.aval.shape)], {
        axes,
        keepdims,
      }, form);
      const mm = keepdims ? m : emit(reshapePrim, [m], { shape: form }, form);
      return [mm, s];
    };
    const [[ma, sa], [mb, sb]] = [side(outer[0]), side(outer[1])];
    const shape = eq.out.aval.shape;
    const scale = emit(binaryPrims.mul, [ma, mb], null, shape); // max |a_i b_j|
    const sum = emit(binaryPrims.mul, [sa, sb], null, shape);
    const full = emit(
      binaryPrims.mul,
      [sum, emit(unaryPrims.square, [scale], null, shape)],
      null,
      shape,
    );
    // `scale - scale` is 0 where the scale is finite, NaN where not: an all-zero product gives
    // its 0 (Σ (x / m)² is 0/0 there), and an infinite or NaN element makes the result
    // non-finite as eagerly (Inf where eager may give NaN: Inf · 0 inside the products)
    const diff = emit(binaryPrims.sub, [scale, scale], null, shape);
    const zero = emit(comparePrims.equal, [scale, diff], null, shape, "bool");
    const finite = emit(comparePrims.equal, [diff, diff], null, shape, "bool");
    const kept2 = emit(wherePrim, [finite, full, scale], null, shape);
    made.push({ prim: wherePrim, inputs: [zero, scale, kept2], params: null, out: eq.out });
    return made;
  });
  if (dead.size === 0) return program;
  return new Program(
    program.constVars,
    program.consts,
    program.inputs,
    equations.filter((eq) => !dead.has(eq)),
    program.outputs,
  );
}

/**
 * The operands `[a, b]` when `eq` is `sum(square(a @ b))` over the
 * product's two matrix axes with `k = 1` (the square and the product read
 * by nothing else; float dtypes; at least 256 elements per matrix), else null.
 */
function outerProductOf(
  eq: Equation,
  defining: ReadonlyMap<Var, Equation>,
  uses: ReadonlyMap<Var, number>,
): [Var, Var] | null {
  if (eq.prim.name !== "sum" || eq.inputs.length !== 1) return null;
  const sq = defining.get(eq.inputs[0]);
  if (sq === undefined || uses.get(sq.out) !== 1) return null;
  const squared = sq.prim.name === "square" && sq.inputs.length === 1 ||
    sq.prim.name === "mul" && sq.inputs.length === 2 && sq.inputs[0] === sq.inputs[1];
  if (!squared) return null;
  const mm = defining.get(sq.inputs[0]);
  if (mm === undefined || mm.prim.name !== "matmul" || mm.inputs.length !== 2) return null;
  const { shape, dtype } = mm.out.aval;
  const r = shape.length;
  if (dtype !== "float32" && dtype !== "float64" || r < 2) return null;
  const axes = (eq.params as { axes?: readonly number[] } | null)?.axes;
  if (axes === undefined || axes.length !== 2 || axes[0] !== r - 2 || axes[1] !== r - 1) {
    return null;
  }
  if (shape[r - 2] * shape[r - 1] < 256) return null;
  const [a, b] = mm.inputs;
  const { transA, transB } = mm.params as { transA?: boolean; transB?: boolean };
  const ra = a.aval.shape.length, rb = b.aval.shape.length;
  if (ra < 2 || rb < 2) return null;
  const k = transA ? a.aval.shape[ra - 2] : a.aval.shape[ra - 1];
  const kb = transB ? b.aval.shape[rb - 1] : b.aval.shape[rb - 2];
  if (k !== 1 || kb !== 1) return null;
  // the batch axes broadcast as the product's do
  const batch = broadcastShapes(
    "matmul",
    a.aval.shape.slice(0, ra - 2),
    b.aval.shape.slice(0, rb - 2),
  );
  if (batch.length !== r - 2 || batch.some((d, i) => d !== shape[i])) return null;
  return [a, b];
}

/** The reductions `foldReshapedReductions` folds a reshape into. */
const REDUCTIONS = new Set(["sum", "max", "min"]);

/** A key equal for one-element constants of equal dtype, shape and value; null for others. */
function scalarKey(t: Tensor): string | null {
  if (t.size !== 1) return null;
  const v = knownValues(t);
  if (v === null) return null;
  const x = v[0];
  return `const ${t.dtype}[${t.shape.join(",")}] ${Object.is(x, -0) ? "-0" : String(x)}`;
}

/** A string equal for equal params (plain data only), or null when they are not plain data. */
function paramsKey(p: unknown): string | null {
  if (p === undefined) return "u";
  if (p === null || typeof p === "boolean" || typeof p === "string") return JSON.stringify(p);
  if (typeof p === "number") return Object.is(p, -0) ? "-0" : String(p);
  if (Array.isArray(p)) {
    const parts = p.map(paramsKey);
    return parts.includes(null) ? null : `[${parts.join(",")}]`;
  }
  if (typeof p === "object" && Object.getPrototypeOf(p) === Object.prototype) {
    const parts: string[] = [];
    for (const k of Object.keys(p).sort()) {
      const v = paramsKey((p as Record<string, unknown>)[k]);
      if (v === null) return null;
      parts.push(`${JSON.stringify(k)}:${v}`);
    }
    return `{${parts.join(",")}}`;
  }
  return null;
}
