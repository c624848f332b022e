/**
 * A program's memory plan, made once per program: which equations run, what
 * to free after each, and where each intermediate lives.
 *
 * - **Liveness.** An equation runs when an output depends on it; a value
 *   lives from the equation that defines it to its last use. Values that
 *   share a buffer (the result of a `reshape` or `stopGradient` is its
 *   input's buffer) form one *alias class* living as long as its longest
 *   member.
 * - **Placement.** Every class of intermediates (not an input, a constant
 *   or an output, and not an alias of one) gets a byte range of one block
 *   reserved once per program: ranges overlap only when lifetimes do not
 *   (closed intervals, so an equation's output never shares bytes with its
 *   inputs). Classes are placed largest first, each at the lowest offset
 *   free of every placed class it overlaps in time (the "greedy by size"
 *   assignment of TensorFlow Lite's arena planner), 64-byte aligned.
 * - Outputs of control-flow calls (`multi.ts`) are new buffers, never placed.
 * - **Donation.** A donated input's buffer becomes the buffer of an output
 *   of the same dtype and shape whose equation runs after the input's last
 *   use, or at it when the equation is elementwise and reads the input at
 *   the output's own indices (each element is read before it is written):
 *   a jitted `w - lr * g` updates `w` in place.
 *
 * @module
 */

import { BINARY_OPS, UNARY_OPS } from "../backend/backend.ts";
import { BYTES } from "../core/dtype.ts";
import { sizeOf } from "../core/shape.ts";
import { fusedInfo } from "./fuse.ts";
import { type Equation, multiInfo, type Program, type Var } from "./program.ts";

/** Alignment of planned buffers: one cache line. */
const ALIGN = 64;

/** Primitives whose result is their input's buffer (never a new one). @internal */
export const ALIASING: ReadonlySet<string> = new Set(["reshape", "stopGradient"]);

/** Primitives that compute each output element from the operands' elements at its index. @internal */
export const ELEMENTWISE: ReadonlySet<string> = new Set<string>([
  ...UNARY_OPS,
  ...BINARY_OPS,
  "where",
  "cast",
]);

/**
 * The plan of one program.
 * @internal
 */
export interface MemoryPlan {
  /** Whether equation `i` contributes to an output. */
  readonly live: readonly boolean[];
  /** Per equation: the values whose last use it is (freed after it). */
  readonly free: readonly (readonly Var[])[];
  /** Per equation: the byte offset of its output in the block, or -1 (a new buffer). */
  readonly offset: readonly number[];
  /** Bytes of the block the placed intermediates need. */
  readonly bytes: number;
  /** Per equation: the input position whose donated buffer its output takes, or -1. */
  readonly donor: readonly number[];
}

/** Bytes of a value. */
function bytesOf(v: Var): number {
  return sizeOf(v.aval.shape) * BYTES[v.aval.dtype];
}

/**
 * Plans `program` (see the module documentation).
 *
 * @param program The program.
 * @param donated Positions of program inputs whose buffers the caller gives up.
 * @returns The plan.
 * @internal
 */
export function planMemory(program: Program, donated: readonly number[] = []): MemoryPlan {
  const eqs = program.equations;
  const n = eqs.length;
  const outputs = new Set(program.outputs);
  // Liveness: equations an output depends on.
  const needed = new Set(program.outputs);
  const live = eqs.map(() => false);
  for (let i = n - 1; i >= 0; i--) {
    if (!needed.has(eqs[i].out)) continue;
    live[i] = true;
    for (const v of eqs[i].inputs) needed.add(v);
  }
  const def = new Map<Var, number>();
  const last = new Map<Var, number>();
  eqs.forEach((eq, i) => {
    if (!live[i]) return;
    def.set(eq.out, i);
    for (const v of eq.inputs) last.set(v, i);
  });
  // Free each intermediate after its last use (aliases keep their buffer through owner counts).
  const free: Var[][] = eqs.map(() => []);
  eqs.forEach((eq, i) => {
    if (live[i] && !outputs.has(eq.out)) free[last.get(eq.out) ?? i].push(eq.out);
  });

  // Alias classes: a value and the values that are its buffer.
  const root = new Map<Var, Var>();
  const rootOf = (v: Var): Var => root.get(v) ?? v;
  eqs.forEach((eq, i) => {
    if (live[i] && ALIASING.has(eq.prim.name)) root.set(eq.out, rootOf(eq.inputs[0]));
  });
  const end = new Map<Var, number>(); // per class root: its last use
  const escapes = new Set<Var>(); // class roots with an input, constant or output in them
  for (const v of [...program.inputs, ...program.constVars, ...program.outputs]) {
    escapes.add(rootOf(v));
  }
  for (const [v, i] of last) {
    const r = rootOf(v);
    end.set(r, Math.max(end.get(r) ?? -1, i));
  }

  // Placement, largest first.
  const offset = eqs.map(() => -1);
  const placed: { start: number; stop: number; lo: number; hi: number }[] = [];
  const classes = eqs
    .map((eq, i) => ({ eq, i }))
    .filter(({ eq, i }) =>
      live[i] && !ALIASING.has(eq.prim.name) && rootOf(eq.out) === eq.out &&
      !escapes.has(eq.out) && bytesOf(eq.out) > 0 && multiInfo(eq) === undefined
    )
    .map(({ eq, i }) => ({ i, start: i, stop: end.get(eq.out) ?? i, size: bytesOf(eq.out) }))
    .sort((a, b) => b.size - a.size || a.start - b.start);
  let bytes = 0;
  for (const c of classes) {
    const busy = placed
      .filter((p) => p.start <= c.stop && c.start <= p.stop)
      .sort((a, b) => a.lo - b.lo);
    let at = 0;
    for (const p of busy) {
      if (at + c.size <= p.lo) break;
      at = Math.max(at, Math.ceil(p.hi / ALIGN) * ALIGN);
    }
    placed.push({ start: c.start, stop: c.stop, lo: at, hi: at + c.size });
    offset[c.i] = at;
    bytes = Math.max(bytes, at + c.size);
  }

  // Donation: each donated input to at most one output defined once it is no longer read.
  const donor = eqs.map(() => -1);
  for (const pos of donated) {
    const input = program.inputs[pos];
    if (input === undefined || outputs.has(input)) continue;
    const lastUse = end.get(rootOf(input)) ?? -1;
    const target = eqs.findIndex((eq, i) =>
      live[i] && donor[i] === -1 && outputs.has(eq.out) && def.get(eq.out) === i &&
      multiInfo(eq) === undefined &&
      !ALIASING.has(eq.prim.name) && rootOf(eq.out) === eq.out &&
      program.outputs.indexOf(eq.out) === program.outputs.lastIndexOf(eq.out) &&
      eq.out.aval.dtype === input.aval.dtype && sameShape(eq.out, input) &&
      (lastUse < i || (lastUse === i && readsInPlace(eq, input)))
    );
    if (target >= 0) donor[target] = pos;
  }
  return { live, free, offset, bytes, donor };
}

function sameShape(a: Var, b: Var): boolean {
  const [s, t] = [a.aval.shape, b.aval.shape];
  return s.length === t.length && s.every((d, i) => d === t[i]);
}

/**
 * Whether `eq` computes output element `j` from `v`'s element `j` only
 * (an elementwise op or fused elementwise kernel reading `v` unbroadcast),
 * so it may write its output over `v`.
 */
function readsInPlace(eq: Equation, v: Var): boolean {
  if (!sameShape(eq.out, v)) return false;
  if (ELEMENTWISE.has(eq.prim.name)) return true;
  const info = fusedInfo(eq);
  return info !== undefined && info.kernel.kind === "elementwise";
}
