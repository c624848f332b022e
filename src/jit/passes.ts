/**
 * Rewrites of a traced program that keep its results bit for bit: merging
 * common subexpressions, and folding a reshape that only drops the kept
 * axes of a reduction into the reduction. (Dead code is skipped by the
 * interpreter's plan; fusion and memory planning build on these next.)
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { knownValues } from "../ops/convert.ts";
import { type Equation, Program, type Var } from "./program.ts";

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
  const uses = new Map<Var, number>();
  for (const eq of program.equations) {
    for (const v of eq.inputs) uses.set(v, (uses.get(v) ?? 0) + 1);
  }
  for (const v of program.outputs) uses.set(v, (uses.get(v) ?? 0) + 1);
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
