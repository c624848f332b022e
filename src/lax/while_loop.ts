/**
 * `lax.whileLoop` (a loop whose trip count is known only when it runs) and
 * `lax.foriLoop` (a counted loop: a `scan` when its bounds are numbers, so
 * reverse-differentiable; a `whileLoop` when they are tensors).
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import { fmtShape, mismatchError, ShapeError } from "../core/errors.ts";
import { Tensor } from "../core/tensor.ts";
import { tensor, zerosLikeTensor } from "../ops/creation.ts";
import { add, cast, where } from "../ops/elementwise.ts";
import { less } from "../ops/compare.ts";
import { max } from "../ops/reduce.ts";
import { broadcastTo, reshape } from "../ops/movement.ts";
import { describe } from "../ops/convert.ts";
import { unflatten } from "../tree/tree.ts";
import type { Program } from "../jit/program.ts";
import {
  avalOf,
  backendOfAll,
  bindMulti,
  checkSameAvals,
  type ControlPrimitive,
  evalProgram,
  freshOutputs,
  jvpOf,
  releaseProgram,
  runProgram,
  tensorLeaves,
  traceClosed,
  traceFlat,
  vmapOf,
} from "./_control.ts";
import { scan } from "./scan.ts";

/** Inputs `[carry…, cond consts…, body consts…]`. */
interface WhileParams {
  /** `[carry…, cond consts…]` → a bool scalar. */
  readonly cond: Program;
  /** `[carry…, body consts…]` → the carry. */
  readonly body: Program;
  readonly numCarry: number;
  readonly numCondConsts: number;
}

const whilePrim: ControlPrimitive<WhileParams> = {
  name: "while",

  avals(inputs, p) {
    return inputs.slice(0, p.numCarry).map((a) => ({ shape: a.shape, dtype: a.dtype }));
  },

  run(inputs, p, inProgram = false) {
    try {
      return runWhile(inputs, p);
    } finally {
      if (!inProgram) {
        releaseProgram(p.cond);
        releaseProgram(p.body);
      }
    }
  },

  bind(inputs, p) {
    return bindMulti(whilePrim, inputs, p);
  },

  describe(p) {
    return {
      plain: { carry: p.numCarry },
      programs: [["cond", p.cond], ["body", p.body]],
    };
  },

  jvp(primals, tangents, p) {
    const { numCarry: nc, numCondConsts: ncc } = p;
    const c = primals.slice(0, nc);
    const cc = primals.slice(nc, nc + ncc);
    const bc = primals.slice(nc + ncc);
    const dcAt = c.flatMap((x, j) => (isFloat(x.dtype) ? [j] : []));
    const dc = dcAt.map((j) => tangents[j] ?? zerosLikeTensor(c[j]));
    const bt = tangents.slice(nc + ncc);
    const dbAt = bt.flatMap((t, i) => (t === null ? [] : [i]));
    const db = dbAt.map((i) => bt[i]!);
    const backend = backendOfAll(primals);
    const carryAvals = [...c, ...dc].map(avalOf);
    const cond = traceFlat(
      "lax.whileLoop()",
      (ins) => evalProgram(p.cond, [...ins.slice(0, nc), ...ins.slice(nc + dc.length)]),
      [...carryAvals, ...cc.map(avalOf)],
      backend,
    );
    const body = traceFlat(
      "lax.whileLoop()",
      (ins) => {
        const ci = ins.slice(0, nc);
        const dci = ins.slice(nc, nc + dc.length);
        const bi = ins.slice(nc + dc.length, nc + dc.length + bc.length);
        const dbi = ins.slice(nc + dc.length + bc.length);
        const t: (Tensor | null)[] = [...c.map(() => null), ...bc.map(() => null)];
        dcAt.forEach((j, k) => (t[j] = dci[k]));
        dbAt.forEach((i, k) => (t[nc + i] = dbi[k]));
        const r = jvpOf((a) => evalProgram(p.body, a), [...ci, ...bi], t);
        return [...r.outs, ...dcAt.map((j) => r.tangents[j] ?? zerosLikeTensor(r.outs[j]))];
      },
      [...carryAvals, ...bc.map(avalOf), ...db.map(avalOf)],
      backend,
    );
    const outs = bindMulti(whilePrim, [...c, ...dc, ...cc, ...bc, ...db], {
      cond,
      body,
      numCarry: nc + dc.length,
      numCondConsts: ncc,
    });
    const tangentsOut: (Tensor | null)[] = c.map(() => null);
    dcAt.forEach((j, k) => (tangentsOut[j] = outs[nc + k]));
    return { outs: outs.slice(0, nc), tangents: tangentsOut };
  },

  vjp(primals, needs, p) {
    if (needs.some((n, i) => n && isFloat(primals[i].dtype))) {
      throw new Error(
        "lax.whileLoop(): reverse-mode differentiation (grad, vjp) of a while loop is not " +
          "supported: its trip count is only known when it runs. Use lax.foriLoop with number " +
          "bounds or lax.scan, which are reverse-differentiable (jvp/jacfwd work on whileLoop)",
      );
    }
    return { outs: bindMulti(whilePrim, primals, p), pullback: (cts) => cts.map(() => null) };
  },

  batch(values, batched, size, p) {
    const { numCarry: nc, numCondConsts: ncc } = p;
    const backend = backendOfAll(values);
    const consts = values.slice(nc);
    const constsB = batched.slice(nc);
    const broadcast = (x: Tensor, b: boolean, want: boolean) =>
      want && !b ? broadcastTo(x, [size, ...x.shape]) : x;
    const avalsOf = (cb: readonly boolean[]) =>
      values.slice(0, nc).map((v, j) =>
        cb[j] && !batched[j] ? { shape: [size, ...v.shape], dtype: v.dtype } : avalOf(v)
      );
    // The carry's batching: a fixpoint through the body, and all of it if the condition is batched.
    let cb = batched.slice(0, nc);
    let predB = false;
    for (;;) {
      const now = cb;
      let outB: boolean[] = [];
      traceFlat(
        "lax.whileLoop()",
        (ins) => {
          const r = vmapOf(
            (a) => evalProgram(p.body, a),
            ins,
            [...now, ...constsB.slice(ncc)],
            size,
          );
          outB = r.batched;
          return r.outs;
        },
        [...avalsOf(now), ...consts.slice(ncc).map(avalOf)],
        backend,
      );
      traceFlat(
        "lax.whileLoop()",
        (ins) => {
          const r = vmapOf(
            (a) => evalProgram(p.cond, a),
            ins,
            [...now, ...constsB.slice(0, ncc)],
            size,
          );
          predB = r.batched[0];
          return r.outs;
        },
        [...avalsOf(now), ...consts.slice(0, ncc).map(avalOf)],
        backend,
      );
      const next = predB ? now.map(() => true) : now.map((b, j) => b || outB[j]);
      if (next.every((b, j) => b === now[j])) break;
      cb = next;
    }
    const carryIn = values.slice(0, nc).map((v, j) => broadcast(v, batched[j], cb[j]));
    const carryAvals = carryIn.map(avalOf);
    const mappedCond = (c: Tensor[], k: Tensor[]) =>
      vmapOf((a) => evalProgram(p.cond, a), [...c, ...k], [...cb, ...constsB.slice(0, ncc)], size)
        .outs[0];
    const mappedBody = (c: Tensor[], k: Tensor[]) => {
      const r = vmapOf((a) => evalProgram(p.body, a), [...c, ...k], [
        ...cb,
        ...constsB.slice(ncc),
      ], size);
      return r.outs.map((o, j) => broadcast(o, r.batched[j], cb[j]));
    };
    // A per-example condition: loop while any example goes on; the others keep their carry.
    const cond = traceFlat(
      "lax.whileLoop()",
      (ins) => {
        const pr = mappedCond(ins.slice(0, nc), ins.slice(nc));
        return [predB ? cast(max(cast(pr, "int32")), "bool") : pr];
      },
      [...carryAvals, ...consts.slice(0, ncc).map(avalOf)],
      backend,
    );
    const body = traceFlat(
      "lax.whileLoop()",
      (ins) => {
        const c = ins.slice(0, nc);
        const next = mappedBody(c, ins.slice(nc + ncc));
        if (!predB) return next;
        const pr = mappedCond(c, ins.slice(nc, nc + ncc));
        return next.map((o, j) =>
          where(reshape(pr, [size, ...o.shape.slice(1).map(() => 1)]), o, c[j])
        );
      },
      [...carryAvals, ...consts.map(avalOf)],
      backend,
    );
    // The body reads the condition's consts too when the condition is per example.
    const outs = bindMulti(whilePrim, [...carryIn, ...consts.slice(0, ncc), ...consts], {
      cond,
      body,
      numCarry: nc,
      numCondConsts: ncc,
    });
    return { outs, batched: cb };
  },
};

/** The loop on concrete tensors. */
function runWhile(inputs: readonly Tensor[], p: WhileParams): Tensor[] {
  const { numCarry: nc, numCondConsts: ncc } = p;
  const cc = inputs.slice(nc, nc + ncc);
  const bc = inputs.slice(nc + ncc);
  const kept = new Set<Tensor>([...inputs, ...p.cond.consts, ...p.body.consts]);
  let carry = inputs.slice(0, nc);
  for (;;) {
    const [pred] = runProgram(p.cond, [...carry, ...cc]);
    const backend = pred._backend!;
    if (!backend.canReadSync) {
      throw new Error(
        `lax.whileLoop(): the ${backend.name} backend cannot read the loop condition while ` +
          `the loop runs (no synchronous reads); use lax.foriLoop with number bounds or ` +
          `lax.scan, which need no read, or run the loop on wasm/cpu`,
      );
    }
    const go = pred.itemSync() !== 0;
    if (!kept.has(pred)) pred.dispose();
    if (!go) break;
    const next = freshOutputs(runProgram(p.body, [...carry, ...bc]), kept);
    const held = new Set(next);
    for (const c of carry) if (!kept.has(c) && !held.has(c)) c.dispose();
    carry = next;
  }
  return freshOutputs(carry, kept);
}

/**
 * Repeats `body` while `condFn` holds, JAX's `jax.lax.while_loop`:
 * `condFn(carry)` returns a bool scalar tensor, `body(carry)` the next
 * carry (same structure, shapes and dtypes). Both are traced once; the
 * loop is one primitive (one node under `jit`). Forward-mode
 * differentiable (`jvp`, `jacfwd`); reverse mode is an error, since the
 * trip count is only known at run time — use {@linkcode foriLoop} with
 * number bounds or `lax.scan`. Under `vmap` with a per-example condition
 * the loop runs until every example is done, each keeping its own result.
 * Each step reads the condition, so WebGPU (no synchronous reads) cannot
 * run it.
 *
 * @typeParam C The carry's type (a pytree of tensors).
 * @param condFn `carry => bool scalar tensor`.
 * @param bodyFn `carry => carry`.
 * @param init The initial carry.
 * @returns The final carry.
 * @example
 * ```ts
 * import { lax, type Tensor, tensor } from "@gradus/core";
 * // Doubles x until it reaches 100.
 * const out = lax.whileLoop((x: Tensor) => x.less(100), (x: Tensor) => x.mul(2), tensor(3));
 * console.log(out.itemSync()); // 192
 * ```
 */
export function whileLoop<C>(condFn: (carry: C) => Tensor, bodyFn: (carry: C) => C, init: C): C {
  const op = "lax.whileLoop()";
  for (const [name, fn] of [["condFn", condFn], ["bodyFn", bodyFn]] as const) {
    if (typeof fn !== "function") {
      throw new TypeError(`${op}: ${name} must be a function, got ${describe(fn)}`);
    }
  }
  const carry = tensorLeaves(op, init, "init");
  const backend = backendOfAll(carry.leaves);
  const avals = carry.leaves.map(avalOf);
  const rebuild = (ins: Tensor[]) => unflatten(carry.def, ins.slice(0, carry.leaves.length)) as C;
  const cond = traceClosed(
    op,
    "condFn",
    (ins) => {
      const pred = condFn(rebuild(ins));
      if (!(pred instanceof Tensor) || pred.ndim !== 0 || pred.dtype !== "bool") {
        const message = `${op}: condFn must return a bool scalar tensor, got ${
          pred instanceof Tensor ? `${pred.dtype} of shape ${fmtShape(pred.shape)}` : describe(pred)
        }; compare (less, greater…) and reduce to a scalar`;
        throw pred instanceof Tensor
          ? mismatchError(pred, { shape: [] }, message)
          : new TypeError(message);
      }
      return pred;
    },
    avals,
    backend,
  );
  const body = traceClosed(
    op,
    "bodyFn",
    (ins) => {
      const out = tensorLeaves(op, bodyFn(rebuild(ins)), "carry");
      if (out.def.toString() !== carry.def.toString()) {
        throw new ShapeError(
          `${op}: bodyFn returns ${out.def.toString()}, but init is ${carry.def.toString()}; ` +
            `the carry must keep its structure`,
        );
      }
      checkSameAvals(op, "bodyFn returns", out.leaves.map(avalOf), avals, out.paths);
      return out.leaves;
    },
    avals,
    backend,
  );
  const outs = bindMulti(
    whilePrim,
    [...carry.leaves, ...cond.captured, ...body.captured],
    {
      cond: cond.program,
      body: body.program,
      numCarry: carry.leaves.length,
      numCondConsts: cond.captured.length,
    },
  );
  return unflatten(carry.def, outs) as C;
}

/**
 * `body(i, carry)` for `i` from `lower` up to `upper - 1`, JAX's
 * `jax.lax.fori_loop`; returns the final carry. With number bounds it is a
 * `lax.scan` of `upper - lower` steps (reverse-differentiable, one node
 * under `jit`); with tensor bounds (int32 scalars) a `lax.whileLoop`
 * (forward mode only). `i` is an int32 scalar tensor.
 *
 * @typeParam C The carry's type (a pytree of tensors).
 * @param lower The first index.
 * @param upper One past the last index.
 * @param body `(i, carry) => carry`.
 * @param init The initial carry.
 * @returns The final carry.
 * @example
 * ```ts
 * import { lax, type Tensor, tensor } from "@gradus/core";
 * // 1 + 2 + … + 10
 * const total = lax.foriLoop(1, 11, (i: Tensor, acc: Tensor) => acc.add(i), tensor(0, { dtype: "int32" }));
 * console.log(total.itemSync()); // 55
 * ```
 */
export function foriLoop<C>(
  lower: number | Tensor,
  upper: number | Tensor,
  body: (i: Tensor, carry: C) => C,
  init: C,
): C {
  const op = "lax.foriLoop()";
  if (typeof body !== "function") {
    throw new TypeError(`${op}: body must be a function, got ${describe(body)}`);
  }
  if (typeof lower === "number" && typeof upper === "number") {
    if (!Number.isInteger(lower) || !Number.isInteger(upper)) {
      throw new TypeError(`${op}: number bounds must be integers, got ${lower} and ${upper}`);
    }
    for (const [name, b] of [["lower", lower], ["upper", upper]] as const) {
      if (b < -(2 ** 31) || b > 2 ** 31 - 1) {
        throw new RangeError(
          `${op}: the ${name} bound ${b} is outside int32's range [-2147483648, 2147483647] ` +
            `(the index i is an int32 tensor)`,
        );
      }
    }
    const [[, out]] = scan(
      ([i, c]: [Tensor, C]) => [[add(i, 1), body(i, c)] as [Tensor, C], null],
      [tensor(lower, { dtype: "int32" }), init] as [Tensor, C],
      null,
      { length: Math.max(0, upper - lower) },
    );
    return out;
  }
  const bound = (b: number | Tensor, name: string): Tensor => {
    if (typeof b === "number") return tensor(b, { dtype: "int32" });
    if (!(b instanceof Tensor) || b.ndim !== 0 || b.dtype !== "int32") {
      throw new TypeError(
        `${op}: ${name} must be a number or an int32 scalar tensor, got ${
          b instanceof Tensor ? `${b.dtype} of shape ${fmtShape(b.shape)}` : describe(b)
        }`,
      );
    }
    return b;
  };
  const [, , out] = whileLoop(
    ([i, u]: [Tensor, Tensor, C]) => less(i, u),
    ([i, u, c]: [Tensor, Tensor, C]) => [add(i, 1), u, body(i, c)] as [Tensor, Tensor, C],
    [bound(lower, "lower"), bound(upper, "upper"), init] as [Tensor, Tensor, C],
  );
  return out;
}
