/**
 * `lax.scan` and `lax.foriLoop`: loops whose body is traced once into a
 * program and run as one primitive — one node under `jit` whatever the trip
 * count, differentiable in forward and reverse mode, batched by `vmap`.
 *
 * Reverse mode keeps each step's carry and products (JAX's
 * `checkpoint_dots`) and recomputes the elementwise rest in the backward
 * loop, a scan the other way. How steps use memory: `_scan_memory.ts`.
 *
 * @module
 */

import { ShapeError } from "../core/errors.ts";
import { isFloat } from "../core/dtype.ts";
import { Tensor } from "../core/tensor.ts";
import { zeros, zerosLikeTensor } from "../ops/creation.ts";
import { add } from "../ops/elementwise.ts";
import { broadcastTo, concat, reshape, slice, stack } from "../ops/movement.ts";
import { moveAxis } from "../ops/_batching.ts";
import type { Aval } from "../ops/primitive.ts";
import { describe } from "../ops/convert.ts";
import { type TreeDef, unflatten } from "../tree/tree.ts";
import type { Program } from "../jit/program.ts";
import { scanMemory, type ScanParams, twinsOf } from "./_scan_memory.ts";
import {
  avalOf,
  backendOfAll,
  bindMulti,
  checkSameAvals,
  type ControlPrimitive,
  copyOf,
  evalProgram,
  freshOutputs,
  jvpOf,
  outAvals,
  releaseProgram,
  runProgram,
  savedEquations,
  tensorLeaves,
  traceClosed,
  traceFlat,
  vjpOf,
  vmapOf,
} from "./_control.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

const scanPrim: ControlPrimitive<ScanParams> = {
  name: "scan",

  avals(_inputs, p) {
    const outs = outAvals(p.body);
    return outs.map((
      a,
      k,
    ) => (k < p.numCarry ? a : { shape: [p.length, ...a.shape], dtype: a.dtype }));
  },

  run(inputs, p, inProgram = false) {
    const { numCarry: nc, numXs: nx, length, reverse } = p;
    const xs = inputs.slice(nc, nc + nx);
    const consts = inputs.slice(nc + nx);
    const yAvals = outAvals(p.body).slice(nc);
    const mem = scanMemory(inputs.slice(0, nc), xs, p, inProgram);
    // Never freed here, and copied when a step returns them: inputs, constants, rows.
    const kept = new Set<Tensor>([...inputs, ...p.body.consts, ...mem.rows]);
    const ys: Tensor[][] = yAvals.map(() => new Array(length));
    const yParts = new Set<Tensor>();
    let carry = inputs.slice(0, nc);
    // One step's inputs: the carry, its rows of the xs, the constants.
    const ins = [...carry, ...xs, ...consts];
    try {
      for (let s = 0; s < length; s++) {
        const t = reverse ? length - 1 - s : s;
        const xt = mem.row(t);
        for (let j = 0; j < nc; j++) ins[j] = carry[j];
        for (let i = 0; i < nx; i++) ins[nc + i] = xt[i];
        const outs = runProgram(p.body, ins, mem.into(carry, t));
        // The carry gets buffers of its own; a y may share one until it is stacked.
        const next = new Array<Tensor>(nc);
        for (let j = 0; j < nc; j++) {
          const c = outs[j];
          next[j] = mem.inBlock(c) || !kept.has(c) && outs.indexOf(c) === j ? c : copyOf(c);
        }
        for (let j = 0; j < outs.length - nc; j++) {
          const part = mem.keepY(j, t, outs[nc + j], kept);
          if (part !== null) {
            ys[j][t] = part;
            yParts.add(part);
          }
        }
        const held = (x: Tensor) => next.includes(x) || yParts.has(x);
        for (const c of carry) {
          if (!mem.inBlock(c) && !kept.has(c) && !held(c)) c.dispose();
        }
        mem.rowDone(xt, held);
        carry = next;
      }
      const stacked = ys.map((parts, j) => {
        const whole = mem.ys[j];
        if (whole !== undefined) return copyOf(whole);
        return length === 0
          ? zeros([0, ...yAvals[j].shape], { dtype: yAvals[j].dtype })
          : stack(parts, 0);
      });
      const views = carry.filter((c) => mem.inBlock(c));
      const out = freshOutputs(carry, new Set([...kept, ...views]));
      for (const y of yParts) if (!out.includes(y)) y.dispose();
      return [...out, ...stacked];
    } finally {
      mem.free();
      if (!inProgram) releaseProgram(p.body);
    }
  },

  bind(inputs, p) {
    return bindMulti(scanPrim, inputs, p);
  },

  describe(p) {
    return {
      plain: { length: p.length, reverse: p.reverse, carry: p.numCarry, xs: p.numXs },
      programs: [["jaxpr", p.body]],
    };
  },

  jvp(primals, tangents, p) {
    const { numCarry: nc, numXs: nx } = p;
    const ny = p.body.outputs.length - nc;
    const backend = backendOfAll(primals);
    // Every float carry gets a tangent (a zero one may become nonzero in the loop).
    const carryT = primals.slice(0, nc).map((c, j) =>
      isFloat(c.dtype) ? tangents[j] ?? zerosLikeTensor(c) : null
    );
    const restT = tangents.slice(nc);
    const dcAt = indicesOf(carryT);
    const dxAt = indicesOf(restT.slice(0, nx));
    const dkAt = indicesOf(restT.slice(nx));
    const yAvals = outAvals(p.body).slice(nc);
    const dyAt = yAvals.flatMap((a, j) => (isFloat(a.dtype) ? [j] : []));
    const c = primals.slice(0, nc);
    const x = primals.slice(nc, nc + nx);
    const k = primals.slice(nc + nx);
    const dc = dcAt.map((j) => carryT[j]!);
    const dx = dxAt.map((j) => restT[j]!);
    const dk = dkAt.map((j) => restT[nx + j]!);
    const nk = k.length;
    const body = traceFlat(
      "scan()",
      (ins) => {
        let at = 0;
        const take = (n: number) => ins.slice(at, at += n);
        const [ci, dci, xi, dxi, ki, dki] = [
          take(nc),
          take(dc.length),
          take(nx),
          take(dx.length),
          take(nk),
          take(dk.length),
        ];
        const tan: (Tensor | null)[] = [
          ...spread(nc, dcAt, dci),
          ...spread(nx, dxAt, dxi),
          ...spread(nk, dkAt, dki),
        ];
        const r = jvpOf((a) => evalProgram(p.body, a), [...ci, ...xi, ...ki], tan);
        const outs = r.outs;
        const zeroIfNull = (i: number) => r.tangents[i] ?? zerosLikeTensor(outs[i]);
        return [
          ...outs.slice(0, nc),
          ...dcAt.map(zeroIfNull),
          ...outs.slice(nc),
          ...dyAt.map((j) => zeroIfNull(nc + j)),
        ];
      },
      [...c, ...dc, ...stepAvals(x), ...stepAvals(dx), ...k, ...dk].map(avalLike),
      backend,
    );
    const outs = bindMulti(scanPrim, [...c, ...dc, ...x, ...dx, ...k, ...dk], {
      body,
      numCarry: nc + dc.length,
      numXs: nx + dx.length,
      length: p.length,
      reverse: p.reverse,
    });
    const nd = dc.length;
    const carryOut = outs.slice(0, nc);
    const dcOut = outs.slice(nc, nc + nd);
    const ysOut = outs.slice(nc + nd, nc + nd + ny);
    const dyOut = outs.slice(nc + nd + ny);
    return {
      outs: [...carryOut, ...ysOut],
      tangents: [...spread(nc, dcAt, dcOut), ...spread(ny, dyAt, dyOut)],
    };
  },

  vjp(primals, needs, p) {
    const { numCarry: nc, numXs: nx, length } = p;
    const ny = p.body.outputs.length - nc;
    const backend = backendOfAll(primals);
    const c0 = primals.slice(0, nc);
    const xs = primals.slice(nc, nc + nx);
    const k = primals.slice(nc + nx);
    // Forward, keeping each step's carry and intermediates (JAX's default:
    // the backward pass recomputes only aliases and loop invariants).
    const savedAt = savedEquations(p.body, nc + nx);
    // The carries after each step: a y already where the body returns its
    // carry as a y (`[h, h]`), else an extra y (written in place, see `scanMemory`).
    const twins = twinsOf(p.body, nc);
    const extra = twins.flatMap((i, j) => (i < 0 ? [j] : []));
    const fwdBody = traceFlat(
      "scan()",
      (ins) => {
        const save = { at: savedAt, values: [] as Tensor[] };
        const outs = evalProgram(p.body, ins, undefined, save);
        return [...outs, ...extra.map((j) => outs[j]), ...save.values];
      },
      [...c0, ...stepAvals(xs), ...k].map(avalLike),
      backend,
    );
    const fwd = bindMulti(scanPrim, primals, { ...p, body: fwdBody });
    const outs = fwd.slice(0, nc + ny);
    const after = fwd.slice(nc + ny, nc + ny + extra.length);
    const res = fwd.slice(nc + ny + extra.length);
    // The carry each step starts from: the initial one, then the one after the step before.
    const cs = c0.map((c, j) => {
      const hist = twins[j] >= 0 ? outs[nc + twins[j]] : after[extra.indexOf(j)];
      if (length <= 1) return length === 0 ? hist : reshape(c, [1, ...c.shape]);
      const first = reshape(c, [1, ...c.shape]);
      return p.reverse
        ? concat([slice(hist, [1], [length]), first], 0)
        : concat([first, slice(hist, [0], [length - 1])], 0);
    });
    const yAvals = outAvals(p.body).slice(nc);
    const fc = indicesOf(c0.map((c) => (isFloat(c.dtype) ? c : null)));
    const fy = yAvals.flatMap((a, j) => (isFloat(a.dtype) ? [j] : []));
    const dxAt = xs.flatMap((x, i) => (needs[nc + i] && isFloat(x.dtype) ? [i] : []));
    const dkAt = k.flatMap((c, i) => (needs[nc + nx + i] && isFloat(c.dtype) ? [i] : []));
    const pullback = (cts: readonly (Tensor | null)[]): (Tensor | null)[] => {
      const ctC = fc.map((j) => cts[j] ?? zerosLikeTensor(outs[j]));
      const ctY = fy.map((j) => cts[nc + j] ?? zerosLikeTensor(outs[nc + j]));
      const acc0 = dkAt.map((i) => zerosLikeTensor(k[i]));
      // Backward: a scan the other way over (carry before the step, x, y cotangent).
      const diff = [
        ...c0.map((c) => isFloat(c.dtype)),
        ...xs.map((_, i) => dxAt.includes(i)),
        ...k.map((_, i) => dkAt.includes(i)),
      ];
      const bwdBody = traceFlat(
        "scan()",
        (ins) => {
          let at = 0;
          const take = (n: number) => ins.slice(at, at += n);
          const [ctc, acc, ct, xt, cty, rt, kt] = [
            take(fc.length),
            take(dkAt.length),
            take(nc),
            take(nx),
            take(fy.length),
            take(res.length),
            take(k.length),
          ];
          const known = new Map(savedAt.map((e, n) => [e, rt[n]]));
          const g = vjpOf(
            (a) => evalProgram(p.body, a, known),
            [...ct, ...xt, ...kt],
            diff,
            [...spread(nc, fc, ctc), ...spread(ny, fy, cty)],
          );
          const gz = (i: number, like: Tensor) => g[i] ?? zerosLikeTensor(like);
          return [
            ...fc.map((j) => gz(j, ct[j])),
            ...dkAt.map((i, n) => {
              const d = g[nc + nx + i];
              return d === null ? acc[n] : add(acc[n], d);
            }),
            ...dxAt.map((i) => gz(nc + i, xt[i])),
          ];
        },
        [
          ...ctC,
          ...acc0,
          ...stepAvals(cs),
          ...stepAvals(xs),
          ...stepAvals(ctY),
          ...stepAvals(res),
          ...k,
        ].map(avalLike),
        backend,
      );
      const r = bindMulti(scanPrim, [...ctC, ...acc0, ...cs, ...xs, ...ctY, ...res, ...k], {
        body: bwdBody,
        numCarry: fc.length + dkAt.length,
        numXs: nc + nx + fy.length + res.length,
        length,
        reverse: !p.reverse,
      });
      const dc = r.slice(0, fc.length);
      const dk = r.slice(fc.length, fc.length + dkAt.length);
      const dx = r.slice(fc.length + dkAt.length);
      return [...spread(nc, fc, dc), ...spread(nx, dxAt, dx), ...spread(k.length, dkAt, dk)];
    };
    return { outs, pullback };
  },

  batch(values, batched, size, p) {
    const { numCarry: nc, numXs: nx } = p;
    const backend = backendOfAll(values);
    // The scan axis first, then the batch: xs [B, T, …] → [T, B, …].
    const ins = values.map((
      v,
      i,
    ) => (batched[i] && i >= nc && i < nc + nx ? moveAxis(v, 0, 1) : v));
    const stepBatched = batched.slice();
    // A carry is batched if it starts batched or the body makes it so (a fixpoint).
    let carryB = batched.slice(0, nc);
    let body!: Program;
    let outB: boolean[] = [];
    for (;;) {
      const cb = carryB;
      const avals = ins.map((v, i) => {
        if (i < nc) return cb[i] && !batched[i] ? { shape: [size, ...v.shape], dtype: v.dtype } : v;
        if (i < nc + nx) return { shape: v.shape.slice(1), dtype: v.dtype };
        return v;
      });
      body = traceFlat(
        "scan()",
        (a) => {
          const flags = [...cb, ...stepBatched.slice(nc)];
          const r = vmapOf((z) => evalProgram(p.body, z), a, flags, size);
          outB = r.batched;
          return r.outs.map((o, k) =>
            k < nc && cb[k] && !r.batched[k] ? broadcastTo(o, [size, ...o.shape]) : o
          );
        },
        avals.map(avalLike),
        backend,
      );
      const grow = outB.slice(0, nc).some((b, j) => b && !cb[j]);
      if (!grow) break;
      carryB = cb.map((b, j) => b || outB[j]);
    }
    const carryIn = ins.slice(0, nc).map((c, j) =>
      carryB[j] && !batched[j] ? broadcastTo(c, [size, ...c.shape]) : c
    );
    const outs = bindMulti(scanPrim, [...carryIn, ...ins.slice(nc)], { ...p, body });
    const yB = outB.slice(nc);
    return {
      outs: outs.map((o, k) => (k >= nc && yB[k - nc] ? moveAxis(o, 1, 0) : o)),
      batched: [...carryB, ...yB],
    };
  },
};

/** Positions of the non-null entries. */
function indicesOf(xs: readonly (Tensor | null)[]): number[] {
  return xs.flatMap((x, i) => (x === null ? [] : [i]));
}

/** A list of `n` with `values[k]` at `at[k]`, null elsewhere. */
function spread(n: number, at: readonly number[], values: readonly Tensor[]): (Tensor | null)[] {
  const out: (Tensor | null)[] = new Array(n).fill(null);
  at.forEach((i, k) => (out[i] = values[k]));
  return out;
}

/** One step's view of stacked values: axis 0 dropped. */
function stepAvals(xs: readonly Tensor[]): Aval[] {
  return xs.map((x) => ({ shape: x.shape.slice(1), dtype: x.dtype }));
}

function avalLike(x: Aval | Tensor): Aval {
  return x instanceof Tensor ? avalOf(x) : x;
}

/**
 * Options of {@linkcode scan}.
 *
 * @example
 * ```ts
 * import { lax, type Tensor, tensor } from "@gradus/core";
 * const opts: lax.ScanOptions = { length: 3 };
 * const [n] = lax.scan((c: Tensor) => [c.add(1), null], tensor(0), null, opts);
 * console.log(n.itemSync()); // 3
 * ```
 */
export interface ScanOptions {
  /** The number of steps; needed when `xs` has no leaves, checked against them otherwise. */
  readonly length?: number;
  /** Run from the last step to the first (`ys` still line up with `xs`). Default false. */
  readonly reverse?: boolean;
}

const SCAN_KEYS: OptionKeys<ScanOptions> = { length: true, reverse: "boolean" };

/**
 * Loops `f` over the leading axis of `xs`, threading a carry, JAX's
 * `jax.lax.scan`: `f(carry, x)` returns `[newCarry, y]`; the result is the
 * final carry and the `y`s stacked along a new leading axis. The carry keeps
 * its pytree structure, shapes and dtypes from step to step.
 *
 * `f` is traced once (abstract values, no kernel runs), so it must not
 * read values (`itemSync`…); a scan is a single primitive: one node under
 * `jit` whatever the length (compile time does not grow with it), and
 * `grad`, `jvp` and `vmap` transform the body once. Eagerly the traced body
 * runs as a compiled program per step. Reverse mode keeps one carry per
 * step and recomputes each step's intermediates in the backward loop.
 *
 * @typeParam C The carry's type (a pytree of tensors).
 * @typeParam Y The type of each step's output (a pytree of tensors, or null).
 * @param f The step: `(carry, x) => [carry, y]`.
 * @param init The initial carry.
 * @param xs A pytree of tensors sharing a leading axis (the steps), or null with `length`.
 * @param opts `length`, `reverse`.
 * @returns `[finalCarry, ys]`.
 * @example
 * ```ts
 * import { lax, type Tensor, tensor } from "@gradus/core";
 * // A cumulative sum: the carry is the running total, y each partial sum.
 * const [total, partial] = lax.scan(
 *   (c: Tensor, x: Tensor) => { const s = c.add(x); return [s, s]; },
 *   tensor(0),
 *   tensor([1, 2, 3, 4]),
 * );
 * console.log(total.itemSync(), partial.arraySync()); // 10 [1, 3, 6, 10]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function scan<C, X = any, Y = any>(
  f: (carry: C, x: X) => [C, Y],
  init: C,
  xs: X,
  opts: ScanOptions = {},
): [C, Y] {
  checkOptions("lax.scan", opts, SCAN_KEYS, "{ length: 10, reverse: true }");
  const op = "lax.scan()";
  if (typeof f !== "function") {
    throw new TypeError(`${op}: f must be a function, got ${describe(f)}`);
  }
  const carry = tensorLeaves(op, init, "init");
  const x = tensorLeaves(op, xs, "xs");
  const length = scanLength(op, x.leaves, x.paths, opts.length);
  const reverse = opts.reverse ?? false;
  const backend = backendOfAll([...carry.leaves, ...x.leaves]);
  let yDef: TreeDef | null = null;
  const nc = carry.leaves.length;
  const closed = traceClosed(
    op,
    "f",
    (ins) => {
      const c = unflatten(carry.def, ins.slice(0, nc)) as C;
      const xt = unflatten(x.def, ins.slice(nc)) as X;
      const out = f(c, xt);
      if (!Array.isArray(out) || out.length !== 2) {
        throw new TypeError(`${op}: f must return [carry, y], got ${describe(out)}`);
      }
      const c2 = tensorLeaves(op, out[0], "carry");
      if (c2.def.toString() !== carry.def.toString()) {
        throw new ShapeError(
          `${op}: f's carry output has structure ${c2.def.toString()}, but init has ` +
            `${carry.def.toString()}; the carry must keep its structure`,
        );
      }
      checkSameAvals(op, "f returns", c2.leaves.map(avalOf), carry.leaves.map(avalOf), c2.paths);
      const y = tensorLeaves(op, out[1], "f's y");
      yDef = y.def;
      return [...c2.leaves, ...y.leaves];
    },
    [...carry.leaves.map(avalOf), ...stepAvals(x.leaves)],
    backend,
  );
  const outs = bindMulti(scanPrim, [...carry.leaves, ...x.leaves, ...closed.captured], {
    body: closed.program,
    numCarry: nc,
    numXs: x.leaves.length,
    length,
    reverse,
  });
  return [
    unflatten(carry.def, outs.slice(0, nc)) as C,
    unflatten(yDef!, outs.slice(nc)) as Y,
  ];
}

/** The scan length: the xs' common leading size, or `length`. */
function scanLength(
  op: string,
  xs: readonly Tensor[],
  paths: readonly string[],
  length: number | undefined,
): number {
  if (length !== undefined && (!Number.isInteger(length) || length < 0)) {
    throw new RangeError(`${op}: length must be a non-negative integer, got ${length}`);
  }
  let n = length;
  let from = length === undefined ? "" : `length is ${length}`;
  xs.forEach((x, i) => {
    if (x.ndim === 0) {
      throw new ShapeError(
        `${op}: ${paths[i]} is a scalar; every leaf of xs needs a leading axis to scan over`,
      );
    }
    if (n === undefined) {
      n = x.shape[0];
      from = `${paths[i]} has ${n} rows`;
    } else if (x.shape[0] !== n) {
      throw new ShapeError(
        `${op}: ${from}, but ${paths[i]} has ${x.shape[0]}; every leaf of xs must have the same ` +
          `leading size (the number of steps)`,
      );
    }
  });
  if (n === undefined) {
    throw new ShapeError(
      `${op}: xs has no tensors, so the number of steps is unknown; give { length }`,
    );
  }
  return n;
}

/**
 * `f` applied to each slice of `xs` along its leading axis, the results
 * stacked: JAX's `jax.lax.map`, a {@linkcode scan} without a carry. Like
 * `vmap` it maps over examples, but one at a time (memory of one example's
 * intermediates, not the batch's); `f` is traced once.
 *
 * @typeParam X The type of each slice (a pytree of tensors).
 * @typeParam Y The type of each result (a pytree of tensors).
 * @param f The function of one slice.
 * @param xs A pytree of tensors sharing a leading axis.
 * @returns The results stacked along a new leading axis.
 * @example
 * ```ts
 * import { lax, type Tensor, tensor } from "@gradus/core";
 * const norms = lax.map((row: Tensor) => row.square().sum().sqrt(), tensor([[3, 4], [6, 8]]));
 * console.log(norms.arraySync()); // [5, 10]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function map<X = any, Y = any>(f: (x: X) => Y, xs: X): Y {
  if (typeof f !== "function") {
    throw new TypeError(`lax.map(): f must be a function, got ${describe(f)}`);
  }
  return scan((_: null, x: X) => [null, f(x)] as [null, Y], null, xs)[1];
}
