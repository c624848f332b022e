/**
 * `einsum`: Einstein summation with NumPy's and JAX's subscript syntax,
 * lowered to `matmul` (batched, operands read transposed where they lie so)
 * and to `mul`/`sum`/`take`/`transpose`, so it is as fast as the equivalent
 * hand-written ops and differentiable through them.
 *
 * @module
 */

import { DTypeError, fmtShape, ShapeError } from "../core/errors.ts";
import type { Shape } from "../core/shape.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { asTensors } from "./convert.ts";
import { mul } from "./elementwise.ts";
import { matmul } from "./matmul.ts";
import { broadcastTo, reshape, transpose } from "./movement.ts";
import { take } from "./take.ts";
import { sum } from "./reduce.ts";

/**
 * A label: a letter, or `"@k"` for the k-th axis of the broadcast ellipsis
 * (right-aligned across operands).
 */
type Label = string;

/** An operand on its way through the contraction: a tensor and one label per axis. */
interface Term {
  readonly t: Tensor;
  readonly labels: readonly Label[];
}

const LETTER = /^[a-zA-Z]$/;

/** Splits one operand's subscripts into letters and at most one `"..."`. */
function tokenize(err: (msg: string) => never, term: string, what: string): (Label | "...")[] {
  const out: (Label | "...")[] = [];
  for (let i = 0; i < term.length;) {
    if (term.startsWith("...", i)) {
      if (out.includes("...")) err(`${what} "${term}" has more than one "..."`);
      out.push("...");
      i += 3;
    } else if (LETTER.test(term[i])) {
      out.push(term[i++]);
    } else {
      err(
        `invalid character ${JSON.stringify(term[i])} in ${what} "${term}"; ` +
          `subscripts are letters a-z, A-Z and "..."`,
      );
    }
  }
  return out;
}

/** The greatest common size of the broadcast ellipsis axes, or an error naming both operands. */
function broadcastSize(err: (msg: string) => never, a: number, b: number, where: string): number {
  if (a === b || b === 1) return a;
  if (a === 1) return b;
  return err(`the "..." axes do not broadcast: ${where} (${a} vs ${b})`);
}

/**
 * Einstein summation, as NumPy's and JAX's `einsum`: `subscripts` names the
 * axes of each operand with letters, comma-separated; a letter shared by
 * several operands multiplies along that axis, and a letter missing from the
 * output is summed over.
 *
 * - Output: explicit after `->` (`"ij,jk->ik"`), or implicit (`"ij,jk"`):
 *   the ellipsis axes, then the letters used exactly once, in alphabetical
 *   order (uppercase first), as in NumPy.
 * - `...` stands for any number of leading, middle or trailing axes; those
 *   of different operands broadcast against each other (right-aligned). An
 *   explicit output must keep them (`"...ij->...i"`), as in NumPy.
 * - A letter repeated within one operand takes the diagonal: `"ii->i"` is
 *   the diagonal, `"ii->"` (or `"ii"`) the trace.
 * - A letter's sizes must agree across operands, except that an axis of
 *   size 1 broadcasts (`"ij,j->i"` with `[2, 1]` and `[3]`), as in NumPy.
 * - Two operands are contracted with one (batched) `matmul`, reading an
 *   operand transposed instead of copying it where its axes allow
 *   (`"bij,bjk->bik"`, `"ij,kj->ik"`); products without a summed letter use
 *   broadcasting `mul`. Three or more operands are contracted two at a time,
 *   each time the pair with the smallest result (ties: the leftmost pair),
 *   so `"ij,jk,k->i"` never forms an `i×k` matrix from an outer product.
 * - Spaces are ignored. The gradient flows through the ops it lowers to.
 *
 * @param subscripts The subscripts, e.g. `"ij,jk->ik"`.
 * @param operands One tensor per comma-separated term (of one dtype, not bool).
 * @returns The result.
 * @example
 * ```ts
 * import { einsum, tensor } from "@gradus/core";
 * const a = tensor([[1, 2], [3, 4]]);
 * const b = tensor([[5, 6], [7, 8]]);
 * console.log(einsum("ij,jk->ik", a, b).arraySync()); // [[19, 22], [43, 50]]
 * console.log(einsum("ij,jk", a, b).arraySync()); // [[19, 22], [43, 50]]
 * console.log(einsum("ii", a).arraySync()); // 5 (the trace)
 * console.log(einsum("ii->i", a).arraySync()); // [1, 4]
 * console.log(einsum("ij->ji", a).arraySync()); // [[1, 3], [2, 4]]
 * console.log(einsum("i,j->ij", tensor([1, 2]), tensor([3, 4])).arraySync()); // [[3, 4], [6, 8]]
 * console.log(einsum("...ij,...j->...i", a, tensor([1, 1])).arraySync()); // [3, 7]
 * ```
 */
export function einsum(subscripts: string, ...operands: TensorLike[]): Tensor {
  const op = `einsum(${JSON.stringify(subscripts)})`;
  const err = (msg: string): never => {
    throw new ShapeError(`${op}: ${msg}`);
  };
  if (typeof subscripts !== "string") {
    throw new TypeError(`einsum(): subscripts must be a string like "ij,jk->ik"`);
  }
  if (operands.length === 0) err(`needs at least one operand`);
  const spec = subscripts.replace(/\s+/g, "");
  const arrow = spec.split("->");
  if (arrow.length > 2) err(`has more than one "->"`);
  const inputs = arrow[0].split(",");
  if (inputs.length !== operands.length) {
    err(
      `names ${inputs.length} operand${inputs.length === 1 ? "" : "s"} but ${operands.length} ` +
        `${operands.length === 1 ? "was" : "were"} given`,
    );
  }
  const ts = asTensors("einsum", operands);
  const dtype = ts[0].dtype;
  if (ts.some((t) => t.dtype !== dtype)) {
    // As sameDType's message, with the subscripts inside the parentheses.
    throw new DTypeError(
      `${op}: dtype mismatch: ${ts.map((t) => t.dtype).join(" and ")}; cast one first, e.g. ` +
        `cast(x, "${dtype}")`,
    );
  }
  if (dtype === "bool") {
    throw new DTypeError(`${op}: bool operands are not supported; cast them to float32 or int32`);
  }

  // ---- labels per operand, with the ellipsis expanded (right-aligned)
  const tokens = inputs.map((term, i) => tokenize(err, term, `the subscripts of operand ${i}`));
  const ellDims = tokens.map((tok, i) => {
    const named = tok.filter((l) => l !== "...").length;
    const nd = ts[i].ndim;
    if (tok.includes("...")) {
      if (named > nd) {
        err(
          `operand ${i} has ${nd} axes (shape ${fmtShape(ts[i].shape)}) but "${
            inputs[i]
          }" names ${named}`,
        );
      }
      return nd - named;
    }
    if (named !== nd) {
      err(
        `operand ${i} has ${nd} axes (shape ${fmtShape(ts[i].shape)}) but "${
          inputs[i]
        }" names ${named}; use "..." for the rest`,
      );
    }
    return 0;
  });
  const maxEll = Math.max(0, ...ellDims);
  const ellLabels = Array.from({ length: maxEll }, (_, k) => `@${k}`);
  const labelsOf: Label[][] = tokens.map((tok, i) =>
    tok.flatMap((l) => l === "..." ? ellLabels.slice(maxEll - ellDims[i]) : [l])
  );

  // ---- sizes: letters must agree, ellipsis axes broadcast
  const size = new Map<Label, number>();
  const seenAt = new Map<Label, string>();
  labelsOf.forEach((ls, i) => {
    ls.forEach((l, ax) => {
      const n = ts[i].shape[ax];
      const where = `operand ${i} (axis ${ax})`;
      const before = size.get(l);
      if (before === undefined) {
        size.set(l, n);
        seenAt.set(l, where);
      } else if (l.startsWith("@")) {
        size.set(l, broadcastSize(err, before, n, `${seenAt.get(l)} vs ${where}`));
      } else if (before !== n) {
        // A size-1 axis broadcasts, as in NumPy.
        if (before !== 1 && n !== 1) {
          err(`label "${l}" has size ${before} in ${seenAt.get(l)} but ${n} in ${where}`);
        }
        if (before === 1) {
          size.set(l, n);
          seenAt.set(l, where);
        }
      }
    });
  });
  // Size-1 axes of lettered labels, broadcast to the label's size.
  labelsOf.forEach((ls, i) => {
    const full = ls.map((l, ax) => (l.startsWith("@") ? ts[i].shape[ax] : size.get(l)!));
    if (full.some((n, ax) => n !== ts[i].shape[ax])) ts[i] = broadcastTo(ts[i], full);
  });

  // ---- output labels
  let out: Label[];
  if (arrow.length === 2) {
    const tok = tokenize(err, arrow[1], "the output subscripts");
    if (tok.includes("...") && maxEll === 0 && !tokens.some((t) => t.includes("..."))) {
      err(`the output has "..." but no operand does`);
    }
    if (!tok.includes("...") && maxEll > 0) {
      err(
        `the operands have ${maxEll} axes under "..." but the output has no "..."; ` +
          `add "..." to the output and sum those axes afterwards (as NumPy requires)`,
      );
    }
    out = tok.flatMap((l) => l === "..." ? ellLabels : [l]);
    const seen = new Set<Label>();
    for (const l of out) {
      if (seen.has(l)) err(`output label "${l}" appears more than once`);
      seen.add(l);
      if (!size.has(l)) err(`output label "${l}" does not appear in any operand`);
    }
  } else {
    const count = new Map<Label, number>();
    for (const ls of labelsOf) {
      for (const l of ls) if (!l.startsWith("@")) count.set(l, (count.get(l) ?? 0) + 1);
    }
    const once = [...count].filter(([, c]) => c === 1).map(([l]) => l);
    out = [...ellLabels, ...once.sort()];
  }

  // ---- each operand: diagonals of repeated labels
  let terms: Term[] = ts.map((t, i) => diagonals(t, labelsOf[i]));

  // ---- contract
  const keepFor = (skip: readonly number[]): Set<Label> => {
    const keep = new Set<Label>(out);
    terms.forEach((tm, i) => {
      if (!skip.includes(i)) { for (const l of tm.labels) keep.add(l); }
    });
    return keep;
  };
  // Sum out the labels only one operand has and the output drops.
  terms = terms.map((tm, i) => sumOut(tm, keepFor([i])));
  while (terms.length > 1) {
    let best: [number, number] = [0, 1];
    let bestSize = Infinity;
    for (let i = 0; i < terms.length; i++) {
      for (let j = i + 1; j < terms.length; j++) {
        const keep = keepFor([i, j]);
        let n = 1;
        for (const l of new Set([...terms[i].labels, ...terms[j].labels])) {
          if (keep.has(l)) n *= size.get(l)!;
        }
        if (n < bestSize) [best, bestSize] = [[i, j], n];
      }
    }
    const [i, j] = best;
    const r = contract(terms[i], terms[j], keepFor([i, j]), size);
    terms = terms.filter((_, k) => k !== j).map((tm, k) => k === i ? r : tm);
  }
  const last = sumOut(terms[0], new Set(out));
  const perm = out.map((l) => last.labels.indexOf(l));
  return perm.every((p, k) => p === k) ? last.t : transpose(last.t, perm);
}

/** Takes the diagonal over every label that names several axes of one operand. */
function diagonals(t: Tensor, labels: readonly Label[]): Term {
  let cur = t;
  let ls = [...labels];
  for (;;) {
    const rep = ls.find((l, k) => ls.indexOf(l) !== k);
    if (rep === undefined) return { t: cur, labels: ls };
    const at = ls.flatMap((l, k) => l === rep ? [k] : []);
    const rest = ls.flatMap((l, k) => l === rep ? [] : [k]);
    const n = cur.shape[at[0]];
    const moved = transpose(cur, [...rest, ...at]);
    const flat = reshape(moved, [...rest.map((k) => cur.shape[k]), n ** at.length]);
    // Element (i, i, …, i) of the repeated axes sits at i·(1 + n + … + n^(k-1)).
    let step = 0;
    for (let e = 0; e < at.length; e++) step += n ** e;
    const idx = Array.from({ length: n }, (_, i) => i * step);
    cur = take(flat, idx, rest.length);
    ls = [...rest.map((k) => ls[k]), rep];
  }
}

/** Sums the axes whose labels are not in `keep`. */
function sumOut(tm: Term, keep: ReadonlySet<Label>): Term {
  const axes = tm.labels.flatMap((l, k) => keep.has(l) ? [] : [k]);
  if (axes.length === 0) return tm;
  return { t: sum(tm.t, axes), labels: tm.labels.filter((l) => keep.has(l)) };
}

/** `x` with its axes in the order of `want` (labels), reshaped to `shape`. */
function arrange(tm: Term, want: readonly Label[], shape: Shape): Tensor {
  const perm = want.map((l) => tm.labels.indexOf(l));
  const moved = perm.every((p, k) => p === k) ? tm.t : transpose(tm.t, perm);
  return reshape(moved, shape);
}

function isOrder(tm: Term, want: readonly Label[]): boolean {
  return want.length === tm.labels.length && want.every((l, k) => tm.labels[k] === l);
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/**
 * Contracts two operands over their shared labels, keeping the labels in
 * `keep`: batch labels (shared, kept), the free labels of each, and the
 * summed ones (shared, dropped) become one batched matmul; with no summed
 * label a broadcasting multiply; with no free label a multiply and a sum.
 */
function contract(
  a0: Term,
  b0: Term,
  keep: ReadonlySet<Label>,
  size: ReadonlyMap<Label, number>,
): Term {
  let a = sumOut(a0, new Set([...keep, ...b0.labels]));
  let b = sumOut(b0, new Set([...keep, ...a0.labels]));
  const inB = new Set(b.labels);
  const batch = a.labels.filter((l) => inB.has(l) && keep.has(l));
  const summed = a.labels.filter((l) => inB.has(l) && !keep.has(l));
  // A summed ellipsis axis of size 1 on one side: Σ_k a·b_k = a·Σ_k b_k.
  for (const l of summed) {
    const na = a.t.shape[a.labels.indexOf(l)], nb = b.t.shape[b.labels.indexOf(l)];
    if (na === 1 && nb !== 1) {
      b = { t: sum(b.t, b.labels.indexOf(l), { keepdims: true }), labels: b.labels };
    }
    if (nb === 1 && na !== 1) {
      a = { t: sum(a.t, a.labels.indexOf(l), { keepdims: true }), labels: a.labels };
    }
  }
  const freeA = a.labels.filter((l) => !inB.has(l));
  const freeB = b.labels.filter((l) => !a.labels.includes(l));
  const dimsOf = (tm: Term, ls: readonly Label[]) =>
    ls.map((l) => tm.t.shape[tm.labels.indexOf(l)]);
  const bA = dimsOf(a, batch), bB = dimsOf(b, batch);
  const fA = dimsOf(a, freeA), fB = dimsOf(b, freeB);
  const labels = [...batch, ...freeA, ...freeB];
  const outShape = [...batch.map((l) => size.get(l)!), ...fA, ...fB];
  const bShape = batch.map((l) => size.get(l)!);

  if (summed.length === 0) {
    // An outer product over the free labels, batched: broadcasting mul.
    const x = arrange(a, [...batch, ...freeA], [...bA, ...fA, ...fB.map(() => 1)]);
    const y = arrange(b, [...batch, ...freeB], [...bB, ...fA.map(() => 1), ...fB]);
    return { t: reshape(mul(x, y), outShape), labels };
  }
  const k = prod(dimsOf(a, summed));
  if (freeA.length === 0 && freeB.length === 0) {
    // Batched inner products: a multiply and a sum beat matmuls of 1×k by k×1.
    const x = arrange(a, [...batch, ...summed], [...bA, k]);
    const y = arrange(b, [...batch, ...summed], [...bB, k]);
    return { t: reshape(sum(mul(x, y), -1), bShape), labels };
  }
  const m = prod(fA), n = prod(fB);
  // Read an operand transposed where its axes already lie as [batch, k, m] / [batch, n, k].
  const transA = !isOrder(a, [...batch, ...freeA, ...summed]) &&
    isOrder(a, [...batch, ...summed, ...freeA]);
  const transB = !isOrder(b, [...batch, ...summed, ...freeB]) &&
    isOrder(b, [...batch, ...freeB, ...summed]);
  const x = transA
    ? reshape(a.t, [...bA, k, m])
    : arrange(a, [...batch, ...freeA, ...summed], [...bA, m, k]);
  const y = transB
    ? reshape(b.t, [...bB, n, k])
    : arrange(b, [...batch, ...summed, ...freeB], [...bB, k, n]);
  const r = matmul(x, y, { transposeA: transA, transposeB: transB });
  return { t: reshape(r, outShape), labels };
}
