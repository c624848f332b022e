/**
 * The memory of `lax.scan`'s steps. On a backend that reserves memory
 * (`wasm`) one block holds a copy of the xs (each step reads views of its
 * rows: no kernel per row), two buffers per carry that the steps write in
 * turn (a carry that is also a y is written at that y's row instead), and
 * the ys, which each step writes at its row: a step makes no new buffer.
 * Inside a jitted program the block is kept from call to call (keyed by
 * the call's params, freed with them); an eager scan gives it back when it
 * returns. Elsewhere rows are sliced per step and the ys stacked at the end.
 *
 * @module
 */

import { BYTES } from "../core/dtype.ts";
import { sizeOf } from "../core/shape.ts";
import { makeTensor, type Tensor, withoutCollecting } from "../core/tensor.ts";
import { reshape, slice } from "../ops/movement.ts";
import type { Aval } from "../ops/primitive.ts";
import type { Backend, Reservation } from "../backend/backend.ts";
import type { Program } from "../jit/program.ts";
import { copyOf, outAvals } from "./_control.ts";

/** The params of the scan primitive. */
export interface ScanParams {
  /** Inputs `[carry…, x…, consts…]`, outputs `[carry…, y…]`. */
  readonly body: Program;
  readonly numCarry: number;
  readonly numXs: number;
  readonly length: number;
  readonly reverse: boolean;
}

/** Row `t` of `x` along axis 0 (a new buffer). */
function row(x: Tensor, t: number): Tensor {
  const s = slice(x, [t], [t + 1]);
  const r = reshape(s, x.shape.slice(1));
  // The whole axis (length 1) is `x` itself: the caller's, never freed here.
  if (s !== x) s.dispose();
  return r;
}

/** The buffers a scan's steps read and write (see {@linkcode scanMemory}). */
export interface ScanMemory {
  /** Every row tensor (never freed one by one). */
  readonly rows: readonly Tensor[];
  /** The rows of step `t`, one per x. */
  row(t: number): Tensor[];
  /** Called once step `t`'s rows were used (`held`: what the step kept of them). */
  rowDone(rows: readonly Tensor[], held: (x: Tensor) => boolean): void;
  /**
   * Where step `t` writes its outputs: per carry, one of its two buffers
   * that holds none of `carry` (else null: a new buffer), then row `t` of
   * each y.
   */
  into(carry: readonly Tensor[], t: number): (Tensor | null)[] | undefined;
  /** Whether `x` is a buffer of the block (a carry buffer or a row of the ys). */
  inBlock(x: Tensor): boolean;
  /**
   * Step `t`'s y number `j`: written into its block already (null: nothing
   * to keep), or the tensor to keep for stacking (copied if in `kept`).
   */
  keepY(j: number, t: number, y: Tensor, kept: ReadonlySet<Tensor>): Tensor | null;
  /** Per y, its whole block `[length, …]` (where the ys are written in place). */
  readonly ys: readonly (Tensor | undefined)[];
  /** Gives everything back. */
  free(): void;
}

/**
 * The memory of one scan. On a backend that reserves memory (`wasm`), one
 * block holds a copy of the xs (each step reads views of its rows: no
 * kernel per row), two buffers per carry that the steps write in turn, and
 * the ys, which each step writes at its row: a step makes no new buffer.
 * Elsewhere rows are sliced per step, outputs are new buffers and the ys
 * are stacked at the end.
 */
export function scanMemory(
  carry: readonly Tensor[],
  xs: readonly Tensor[],
  p: ScanParams,
  inProgram: boolean,
): ScanMemory {
  const { length } = p;
  const yAvals = outAvals(p.body).slice(p.numCarry);
  const keep = inProgram ? p : null;
  const twins = twinsOf(p.body, p.numCarry);
  const twinned = new Set(twins.filter((i) => i >= 0));
  const sliced: ScanMemory = {
    rows: [],
    row: (t) => xs.map((x) => row(x, t)),
    rowDone: (rows, held) => rows.forEach((x) => held(x) || x.dispose()),
    into: () => undefined,
    inBlock: () => false,
    keepY: (_j, _t, y, kept) => (kept.has(y) ? copyOf(y) : y),
    ys: [],
    free: () => {},
  };
  const backend = [...carry, ...xs][0]?._backend ?? null;
  const into = backend?.writeInto?.bind(backend);
  if (backend === null || into === undefined || length === 0) return sliced;
  let block = keep === null ? undefined : blocks.get(keep);
  if (block?.backend !== backend) {
    if (block !== undefined) {
      blockRegistry.unregister(block);
      block.r.free();
    }
    block = makeBlock(backend, carry, xs, yAvals, length) ?? undefined;
    if (block === undefined) return sliced;
    if (keep !== null) {
      blocks.set(keep, block);
      blockRegistry.register(keep, block.r, block);
    }
  }
  const b = block;
  const free = () => (keep === null ? b.r.free() : undefined);
  // The xs copied in (a kernel that cannot write there: slices instead).
  const copied = withoutCollecting(() =>
    xs.every((x, i) => {
      const whole = b.xViews[i].whole;
      const c = into(whole._data, () => copyOf(x));
      if (c === whole || c._data === whole._data) return true;
      c.dispose();
      return false;
    })
  );
  if (!copied) {
    free();
    return sliced;
  }
  // Where each step writes its outputs (filled in by `into`, step by step).
  const targets = new Array<Tensor | null>(b.cViews.length + b.yViews.length).fill(null);
  return {
    rows: b.rows,
    row: (t) => b.xViews.map((v) => v.each[t]),
    rowDone: () => {},
    // A carry that is also a y (the same value: `[h, h]`) is written at that
    // y's row, which the next step reads as its carry; others take turns
    // in their two buffers. A buffer that holds any of this step's carries
    // is never written: a body that permutes its carries (`[c1, c0]`)
    // moves one into another's buffer, which the step still reads (or
    // returns as is). With both buffers held, the step makes a new one.
    into: (c, t) => {
      b.cViews.forEach((v, j) => {
        targets[j] = twins[j] >= 0
          ? b.yViews[twins[j]].each[t]
          : v.each.find((buffer) => !c.includes(buffer)) ?? null;
      });
      b.yViews.forEach((
        v,
        i,
      ) => (targets[b.cViews.length + i] = twinned.has(i) ? null : v.each[t]));
      return targets;
    },
    inBlock: (x) => b.views.has(x),
    keepY: (j, t, y) => {
      const slot = b.yViews[j].each[t];
      if (y === slot) return null;
      // Computed elsewhere (an alias, a carry, an input): copied into its row.
      withoutCollecting(() => into(slot._data, () => copyOf(y)));
      return null;
    },
    ys: b.yViews.map((v) => v.whole),
    free,
  };
}

/**
 * Per carry output of a body, the first y output that is the same value
 * (`return [h, h]`), or -1.
 */
export function twinsOf(body: Program, numCarry: number): number[] {
  const outs = body.outputs;
  return outs.slice(0, numCarry).map((v) => {
    const at = outs.indexOf(v, numCarry);
    return at < 0 ? -1 : at - numCarry;
  });
}

/** A scan's reserved block and the tensors viewing its parts. */
interface Block {
  readonly backend: Backend;
  readonly r: Reservation;
  readonly xViews: readonly Views[];
  readonly cViews: readonly Views[];
  readonly yViews: readonly Views[];
  readonly rows: readonly Tensor[];
  /** Every tensor over the block but the xs rows: carry buffers and ys rows. */
  readonly views: ReadonlySet<Tensor>;
}

/** One part of a block: the whole `[count, …]` and each row. */
interface Views {
  readonly whole: Tensor;
  readonly each: readonly Tensor[];
}

/** The blocks of scans inside programs, kept from call to call (freed with the program). */
const blocks = new WeakMap<ScanParams, Block>();
const blockRegistry = new FinalizationRegistry<Reservation>((r) => r.free());

/** Reserves a scan's block: xs, two buffers per carry, the ys, each part 64-byte aligned. */
function makeBlock(
  backend: Backend,
  carry: readonly Tensor[],
  xs: readonly Tensor[],
  yAvals: readonly Aval[],
  length: number,
): Block | null {
  const parts: { shape: readonly number[]; dtype: Aval["dtype"]; count: number }[] = [
    ...xs.map((x) => ({ shape: x.shape.slice(1), dtype: x.dtype, count: length })),
    ...carry.map((c) => ({ shape: c.shape, dtype: c.dtype, count: 2 })),
    ...yAvals.map((a) => ({ shape: a.shape, dtype: a.dtype, count: length })),
  ];
  const starts: number[] = [];
  let bytes = 0;
  for (const part of parts) {
    starts.push(bytes);
    bytes += Math.ceil((part.count * sizeOf(part.shape) * BYTES[part.dtype]) / 64) * 64;
  }
  const r = bytes > 0 ? backend.reserve?.(bytes) ?? null : null;
  if (r === null) return null;
  // Tensors over the block (never tracked, never returned: copied out at the end of a run).
  const views = withoutCollecting(() =>
    parts.map((part, i): Views => {
      const size = sizeOf(part.shape);
      const whole = makeTensor(
        backend,
        r.view(starts[i], part.dtype, part.count * size),
        [part.count, ...part.shape],
        part.dtype,
      );
      const each = Array.from({ length: part.count }, (_, t) =>
        makeTensor(
          backend,
          r.view(starts[i] + t * size * BYTES[part.dtype], part.dtype, size),
          part.shape.slice(),
          part.dtype,
        ));
      return { whole, each };
    })
  );
  const xViews = views.slice(0, xs.length);
  const cViews = views.slice(xs.length, xs.length + carry.length);
  const yViews = views.slice(xs.length + carry.length);
  return {
    backend,
    r,
    xViews,
    cViews,
    yViews,
    rows: xViews.flatMap((v) => v.each),
    views: new Set([...cViews, ...yViews].flatMap((v) => v.each)),
  };
}
