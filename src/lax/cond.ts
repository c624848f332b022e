/**
 * `lax.cond` and `lax.switch`: branches traced once each into programs and
 * chosen at run time by one primitive — one node under `jit`,
 * differentiable in forward and reverse mode (the chosen branch only),
 * batched by `vmap` (a per-example index computes every branch and
 * selects, as JAX does).
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import { fmtShape, mismatchError, ShapeError } from "../core/errors.ts";
import { sameShape } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";
import { zerosLikeTensor } from "../ops/creation.ts";
import { cast, where } from "../ops/elementwise.ts";
import { clip } from "../ops/composite.ts";
import { equal } from "../ops/compare.ts";
import { broadcastTo, reshape } from "../ops/movement.ts";
import { describe } from "../ops/convert.ts";
import { type TreeDef, unflatten } from "../tree/tree.ts";
import type { Program } from "../jit/program.ts";
import {
  avalOf,
  backendOfAll,
  bindMulti,
  type Closed,
  type ControlPrimitive,
  evalProgram,
  freshOutputs,
  jvpOf,
  outAvals,
  releaseProgram,
  runProgram,
  tensorLeaves,
  traceClosed,
  traceFlat,
  vjpOf,
  vmapOf,
} from "./_control.ts";

/** Inputs `[index, operands…]`; every branch takes the operands and returns the same avals. */
interface SwitchParams {
  readonly branches: readonly Program[];
}

/** The index clamped to the branches, as JAX's `switch` does. */
function clampIndex(index: Tensor, n: number): Tensor {
  return clip(index, 0, n - 1);
}

/** Per output, the branches' values selected by `index` (batched: `[B]`, else a scalar). */
function select(
  index: Tensor,
  branchOuts: readonly Tensor[][],
  batchSize: number | null,
): Tensor[] {
  const n = branchOuts.length;
  const idx = clampIndex(index, n);
  return branchOuts[0].map((_, j) => {
    let acc = branchOuts[n - 1][j];
    for (let i = n - 2; i >= 0; i--) {
      const o = branchOuts[i][j];
      let pick = equal(idx, i);
      if (batchSize !== null) pick = reshape(pick, [batchSize, ...o.shape.slice(1).map(() => 1)]);
      acc = where(pick, o, acc);
    }
    return acc;
  });
}

const switchPrim: ControlPrimitive<SwitchParams> = {
  name: "switch",

  avals(_inputs, p) {
    return outAvals(p.branches[0]);
  },

  run(inputs, p, inProgram = false) {
    try {
      return runSwitch(inputs, p);
    } finally {
      if (!inProgram) p.branches.forEach(releaseProgram);
    }
  },

  bind(inputs, p) {
    return bindMulti(switchPrim, inputs, p);
  },

  describe(p) {
    return { plain: {}, programs: p.branches.map((b, i) => [`branch${i}`, b]) };
  },

  jvp(primals, tangents, p) {
    const [index, ...ops] = primals;
    const tan = tangents.slice(1);
    const at = tan.flatMap((t, i) => (t === null ? [] : [i]));
    const d = at.map((i) => tan[i]!);
    const avals = outAvals(p.branches[0]);
    const fo = avals.flatMap((a, j) => (isFloat(a.dtype) ? [j] : []));
    const backend = backendOfAll(primals);
    const branches = p.branches.map((b) =>
      traceFlat(
        "lax.switch()",
        (ins) => {
          const o = ins.slice(0, ops.length);
          const t: (Tensor | null)[] = o.map(() => null);
          at.forEach((i, k) => (t[i] = ins[ops.length + k]));
          const r = jvpOf((a) => evalProgram(b, a), o, t);
          return [...r.outs, ...fo.map((j) => r.tangents[j] ?? zerosLikeTensor(r.outs[j]))];
        },
        [...ops, ...d].map(avalOf),
        backend,
      )
    );
    const outs = bindMulti(switchPrim, [index, ...ops, ...d], { branches });
    const m = avals.length;
    const tangentsOut: (Tensor | null)[] = avals.map(() => null);
    fo.forEach((j, k) => (tangentsOut[j] = outs[m + k]));
    return { outs: outs.slice(0, m), tangents: tangentsOut };
  },

  vjp(primals, needs, p) {
    const [index, ...ops] = primals;
    const outs = bindMulti(switchPrim, primals, p);
    const avals = outAvals(p.branches[0]);
    const fo = avals.flatMap((a, j) => (isFloat(a.dtype) ? [j] : []));
    const dAt = ops.flatMap((o, i) => (needs[i + 1] && isFloat(o.dtype) ? [i] : []));
    const diff = ops.map((_, i) => dAt.includes(i));
    const backend = backendOfAll(primals);
    const pullback = (cts: readonly (Tensor | null)[]): (Tensor | null)[] => {
      const ct = fo.map((j) => cts[j] ?? zerosLikeTensor(outs[j]));
      // The chosen branch's vjp (its forward recomputed).
      const branches = p.branches.map((b) =>
        traceFlat(
          "lax.switch()",
          (ins) => {
            const o = ins.slice(0, ops.length);
            const c: (Tensor | null)[] = avals.map(() => null);
            fo.forEach((j, k) => (c[j] = ins[ops.length + k]));
            const g = vjpOf((a) => evalProgram(b, a), o, diff, c);
            return dAt.map((i) => g[i] ?? zerosLikeTensor(o[i]));
          },
          [...ops, ...ct].map(avalOf),
          backend,
        )
      );
      const g = bindMulti(switchPrim, [index, ...ops, ...ct], { branches });
      const res: (Tensor | null)[] = primals.map(() => null);
      dAt.forEach((i, k) => (res[i + 1] = g[k]));
      return res;
    };
    return { outs, pullback };
  },

  batch(values, batched, size, p) {
    const [index, ...ops] = values;
    const opsB = batched.slice(1);
    const backend = backendOfAll(values);
    if (batched[0]) {
      // A per-example index: every branch on the whole batch, then a per-example select.
      const outs = p.branches.map((b) => {
        const r = vmapOf((a) => evalProgram(b, a), ops, opsB, size);
        return r.outs.map((o, j) => (r.batched[j] ? o : broadcastTo(o, [size, ...o.shape])));
      });
      return { outs: select(index, outs, size), batched: outs[0].map(() => true) };
    }
    // A shared index: each branch batched; an output batched in any branch is batched in all.
    const avals = ops.map(avalOf);
    const flags = p.branches.map((b) => {
      let f: boolean[] = [];
      traceFlat(
        "lax.switch()",
        (ins) => {
          const r = vmapOf((a) => evalProgram(b, a), ins, opsB, size);
          f = r.batched;
          return r.outs;
        },
        avals,
        backend,
      );
      return f;
    });
    const outB = flags[0].map((_, j) => flags.some((f) => f[j]));
    const branches = p.branches.map((b) =>
      traceFlat(
        "lax.switch()",
        (ins) => {
          const r = vmapOf((a) => evalProgram(b, a), ins, opsB, size);
          return r.outs.map((o, j) =>
            outB[j] && !r.batched[j] ? broadcastTo(o, [size, ...o.shape]) : o
          );
        },
        avals,
        backend,
      )
    );
    return { outs: bindMulti(switchPrim, [index, ...ops], { branches }), batched: outB };
  },
};

/** The call on concrete tensors. */
function runSwitch(inputs: readonly Tensor[], p: SwitchParams): Tensor[] {
  const [index, ...ops] = inputs;
  const kept = new Set<Tensor>([...inputs, ...p.branches.flatMap((b) => b.consts)]);
  const n = p.branches.length;
  const backend = index._backend!;
  if (!backend.canReadSync) {
    // The index cannot be read here (WebGPU): every branch, then a select.
    const outs = p.branches.map((b) => runProgram(b, ops));
    const picked = select(index, outs, null);
    for (const o of outs.flat()) if (!picked.includes(o) && !kept.has(o)) o.dispose();
    return freshOutputs(picked, kept);
  }
  const i = Math.min(Math.max(index.itemSync(), 0), n - 1);
  return freshOutputs(runProgram(p.branches[i], ops), kept);
}

/**
 * Calls one of `branches` on `operands`, chosen by `index`, JAX's
 * `jax.lax.switch`: an index below 0 picks the first branch, one past the
 * end the last. Every branch must return the same pytree structure,
 * shapes and dtypes.
 *
 * With a JS number as the index, the branch is simply called. With an
 * int32 scalar tensor, each branch is traced once and the choice is one
 * primitive: one node under `jit` (no value is read while tracing),
 * differentiable (the chosen branch's derivative; the index gets none),
 * and under `vmap` with a per-example index every branch runs on the
 * batch and each example takes its own branch's result. On WebGPU, which
 * cannot read the index synchronously, every branch runs and the result is
 * selected.
 *
 * @typeParam A The operands' types.
 * @typeParam R The result's type.
 * @param index The branch to run: an int32 scalar tensor, or a number.
 * @param branches The functions, each taking `operands`.
 * @param operands The branches' arguments (pytrees of tensors).
 * @returns The chosen branch's result.
 * @example
 * ```ts
 * import { lax, type Tensor, tensor } from "@gradus/core";
 * const f = (i: Tensor, x: Tensor) =>
 *   lax.switch(i, [(v: Tensor) => v.neg(), (v: Tensor) => v.square(), (v: Tensor) => v.exp()], x);
 * console.log(f(tensor(1, { dtype: "int32" }), tensor([3])).arraySync()); // [9]
 * ```
 */
// deno-lint-ignore no-explicit-any
function switchBranch<A extends any[], R>(
  index: Tensor | number,
  branches: readonly ((...operands: A) => R)[],
  ...operands: A
): R {
  return switchCall("lax.switch()", index, branches, operands);
}

export { switchBranch as switch };

function switchCall<A extends unknown[], R>(
  op: string,
  index: Tensor | number,
  branches: readonly ((...operands: A) => R)[],
  operands: A,
  givenNames?: readonly string[],
): R {
  if (!Array.isArray(branches) || branches.length === 0) {
    throw new TypeError(
      `${op}: branches must be a non-empty array of functions, got ${describe(branches)}`,
    );
  }
  const names = givenNames ?? branches.map((_, i) => `branch ${i}`);
  branches.forEach((b, i) => {
    if (typeof b !== "function") {
      throw new TypeError(`${op}: branches[${i}] must be a function, got ${describe(b)}`);
    }
  });
  if (typeof index === "number") {
    if (!Number.isInteger(index)) {
      throw new TypeError(`${op}: the index must be an integer, got ${index}`);
    }
    return branches[Math.min(Math.max(index, 0), branches.length - 1)](...operands);
  }
  if (!(index instanceof Tensor)) {
    throw new TypeError(
      `${op}: the index must be an int32 scalar tensor or a number, got ${describe(index)}`,
    );
  }
  if (index.ndim !== 0 || index.dtype !== "int32") {
    throw mismatchError(
      index,
      { shape: [] },
      `${op}: the index must be an int32 scalar tensor, got ${index.dtype} of shape ` +
        `${fmtShape(index.shape)}; cast it (cast(i, "int32")) or reshape it to []`,
    );
  }
  const ops = tensorLeaves(op, operands, "operands");
  const backend = backendOfAll([index, ...ops.leaves]);
  const avals = ops.leaves.map(avalOf);
  const rebuild = (ins: Tensor[]) => unflatten(ops.def, ins) as A;
  let outDef: TreeDef | null = null;
  const closed: Closed[] = branches.map((b, i) =>
    traceClosed(op, names[i], (ins) => b(...rebuild(ins)), avals, backend)
  );
  closed.forEach((c, i) => checkBranch(op, c, closed[0], names[i], names[0]));
  outDef = closed[0].outDef;
  // Every branch takes the operands and every branch's captured values.
  const captured = [...new Set(closed.flatMap((c) => c.captured))];
  const all = [...ops.leaves, ...captured];
  const programs = closed.map((c) =>
    traceFlat(
      op,
      (ins) => {
        const mine = c.captured.map((t) => ins[ops.leaves.length + captured.indexOf(t)]);
        return evalProgram(c.program, [...ins.slice(0, ops.leaves.length), ...mine]);
      },
      all.map(avalOf),
      backend,
    )
  );
  const outs = bindMulti(switchPrim, [index, ...all], { branches: programs });
  return unflatten(outDef, outs) as R;
}

/** Branch `c` (`name`) must return what the first one (`firstName`) does. */
function checkBranch(op: string, c: Closed, first: Closed, name: string, firstName: string): void {
  if (c.outDef.toString() !== first.outDef.toString()) {
    throw new ShapeError(
      `${op}: ${name} returns ${c.outDef.toString()}, but ${firstName} returns ` +
        `${first.outDef.toString()}; every branch must return the same structure`,
    );
  }
  const [a, b] = [outAvals(c.program), outAvals(first.program)];
  a.forEach((v, j) => {
    if (!sameShape(v.shape, b[j].shape) || v.dtype !== b[j].dtype) {
      throw mismatchError(
        v,
        b[j],
        `${op}: output leaf ${j} of ${name} has shape ${fmtShape(v.shape)} and dtype ` +
          `${v.dtype}, but ${firstName}'s has shape ${fmtShape(b[j].shape)} and dtype ` +
          `${b[j].dtype}; every branch must return the same shapes and dtypes`,
      );
    }
  });
}

/**
 * `trueFn(...operands)` if `pred` holds, else `falseFn(...operands)`, JAX's
 * `jax.lax.cond`. With a JS boolean the function is simply called; with a
 * scalar tensor (bool, or a number: nonzero is true) both functions are
 * traced once and the choice is one primitive — one node under `jit`,
 * differentiable, batched by `vmap` (see `lax.switch`). Both must
 * return the same pytree structure, shapes and dtypes.
 *
 * @typeParam A The operands' types.
 * @typeParam R The result's type.
 * @param pred The condition: a scalar tensor or a boolean.
 * @param trueFn Called when `pred` holds.
 * @param falseFn Called otherwise.
 * @param operands The functions' arguments (pytrees of tensors).
 * @returns The chosen function's result.
 * @example
 * ```ts
 * import { jit, lax, type Tensor, tensor } from "@gradus/core";
 * // |x| without reading x: one program whatever the sign.
 * const abs = jit((x: Tensor) => lax.cond(x.sum().greater(0), (v: Tensor) => v, (v: Tensor) => v.neg(), x));
 * console.log(abs(tensor([-2])).arraySync(), abs(tensor([3])).arraySync()); // [2] [3]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function cond<A extends any[], R>(
  pred: Tensor | boolean,
  trueFn: (...operands: A) => R,
  falseFn: (...operands: A) => R,
  ...operands: A
): R {
  const op = "lax.cond()";
  for (const [name, fn] of [["trueFn", trueFn], ["falseFn", falseFn]] as const) {
    if (typeof fn !== "function") {
      throw new TypeError(`${op}: ${name} must be a function, got ${describe(fn)}`);
    }
  }
  if (typeof pred === "boolean") return pred ? trueFn(...operands) : falseFn(...operands);
  if (!(pred instanceof Tensor)) {
    throw new TypeError(`${op}: pred must be a scalar tensor or a boolean, got ${describe(pred)}`);
  }
  if (pred.ndim !== 0) {
    throw new ShapeError(
      `${op}: pred must be a scalar, got shape ${fmtShape(pred.shape)}; reduce it (e.g. all/any ` +
        `via min/max) or use where() for an elementwise choice`,
    );
  }
  const index = cast(pred.dtype === "bool" ? pred : cast(pred, "bool"), "int32");
  return switchCall(op, index, [falseFn, trueFn], operands, ["falseFn", "trueFn"]);
}
