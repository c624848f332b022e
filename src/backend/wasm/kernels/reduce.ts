/**
 * Reductions of the kernel IR in WebAssembly SIMD: a {@linkcode ReduceKernel}
 * (`sum`, `max` or `min` of a float32 prologue, then an optional epilogue)
 * becomes `name(p₀, …, pₖ₋₁, out, outer, n, inner)` over the middle axis of
 * `[outer, n, inner]`. Operand `k` is `"full"` (contiguous
 * `[outer, n, inner]`), `"axis"` (contiguous `[outer, inner]`, the same
 * for every step along the axis — the row maximum a log-sum-exp subtracts)
 * or `"scalar"` (one element for all); operands are float32 or int32 (both
 * read as 32-bit lanes). The output is the contiguous float32
 * `[outer, inner]` at `out`.
 *
 * - `inner = 1` (rows): two vectors of four per step into separate
 *   accumulators, then single vectors; the last `n mod 4` elements are read
 *   lane by lane and the unused lanes replaced by the combine's identity.
 * - `inner > 1` (columns): blocks of 16 and then 4 columns walk the `n`
 *   rows with their accumulators in registers; a last partial block of an
 *   `inner ≥ 4` is redone overlapping the previous one (same values), and an
 *   `inner < 4` is one block read lane by lane.
 *
 * Sums accumulate in float64 (each f32x4 promoted to two f64x2) and round
 * once; `max`/`min` propagate NaN and order `−0 < +0` (`f32x4.max`/`min`).
 * The epilogue sees the reduced value as `load(0)` and operand `k` at
 * `(o, 0, i)` as `load(k + 1)`, computed four outputs at a time.
 *
 * @module
 */

import { type Expr, topoOrder } from "../../ir/expr.ts";
import type { ReduceKernel } from "../../ir/kernel.ts";
import { loadPartial, loadVector, storePartial } from "../../ir/render_wasm.ts";
import { WasmEmitter, type WasmRenderOptions } from "../../ir/wasm_emitter.ts";
import {
  I32,
  type Local,
  type PlainOp,
  V128,
  type WasmFunction,
  type WasmModule,
} from "../asm/mod.ts";

/** How a reduction operand is laid out (see the module doc). */
export type ReduceLayout = "full" | "axis" | "scalar";

/**
 * The layout of an operand read at `o·s₀ + j·s₁ + i·s₂` over
 * `[outer, n, inner]` (steps along axes of size 1 do not matter), or null
 * when it is none of the three.
 *
 * @param strides The steps `[s₀, s₁, s₂]`.
 * @param outer Size of the leading axes.
 * @param n Size of the reduced axis.
 * @param inner Size of the trailing axes.
 * @returns The layout, or null.
 *
 * @example
 * ```ts
 * import { reduceLayout } from "./reduce.ts";
 *
 * console.log(reduceLayout([12, 4, 1], 2, 3, 4), reduceLayout([4, 0, 1], 2, 3, 4)); // "full" "axis"
 * console.log(reduceLayout([0, 0, 0], 2, 3, 4), reduceLayout([0, 4, 1], 2, 3, 4)); // "scalar" null
 * ```
 * @internal
 */
export function reduceLayout(
  strides: readonly [number, number, number],
  outer: number,
  n: number,
  inner: number,
): ReduceLayout | null {
  const sizes = [outer, n, inner];
  const is = (want: readonly number[]) => sizes.every((d, a) => d === 1 || strides[a] === want[a]);
  if (is([0, 0, 0])) return "scalar";
  if (is([n * inner, inner, 1])) return "full";
  return is([inner, 0, 1]) ? "axis" : null;
}

/** The high two f32 lanes moved low (for `f64x2.promote_low_f32x4`). */
const HIGH = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/** Accumulation of one reduction: its accumulators and how a vector enters them. */
class Accumulator {
  readonly #fn: WasmFunction;
  readonly #sum: boolean;
  readonly #op: PlainOp;
  readonly #identity: Local;
  /** Per vector slot, its accumulators (two f64x2 for sums, one f32x4 otherwise). */
  readonly acc: Local[][];

  constructor(fn: WasmFunction, combine: "sum" | "max" | "min", slots: number, tag: string) {
    this.#fn = fn;
    this.#sum = combine === "sum";
    this.#op = combine === "max" ? "f32x4.max" : "f32x4.min";
    this.#identity = this.#sum
      ? fn.hoistI32x4(0)
      : fn.hoistF32x4(combine === "max" ? -Infinity : Infinity);
    this.acc = Array.from(
      { length: slots },
      (_, s) =>
        Array.from({ length: this.#sum ? 2 : 1 }, (_, h) => fn.local(`acc${tag}${s}_${h}`, V128)),
    );
  }

  /** Sets every accumulator to the identity. */
  reset(): void {
    for (const a of this.acc.flat()) this.#fn.get(this.#identity).set(a);
  }

  /** Adds the f32x4 in local `v` into slot `s`. */
  add(s: number, v: Local): void {
    const fn = this.#fn, [a, b] = this.acc[s];
    if (!this.#sum) {
      fn.get(a).get(v).op(this.#op).set(a);
      return;
    }
    fn.get(a).get(v).op("f64x2.promote_low_f32x4").op("f64x2.add").set(a);
    fn.get(b).get(v).get(v).shuffle(HIGH).op("f64x2.promote_low_f32x4").op("f64x2.add").set(b);
  }

  /** Replaces the lanes of local `v` at or past the i32 in local `count` by the identity. */
  mask(v: Local, count: Local): void {
    const fn = this.#fn;
    fn.get(v).get(this.#identity);
    fn.get(fn.hoist(new Uint8Array(new Int32Array([0, 1, 2, 3]).buffer)));
    fn.get(count).op("i32x4.splat").op("i32x4.lt_s").op("v128.bitselect").set(v);
  }

  /** Pushes slot `s` as an f32x4 (sums rounded once per lane). */
  vector(s: number): void {
    const fn = this.#fn, [a, b] = this.acc[s];
    if (!this.#sum) {
      fn.get(a);
      return;
    }
    fn.get(a).op("f32x4.demote_f64x2_zero").get(b).op("f32x4.demote_f64x2_zero");
    fn.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
  }

  /** Combines every slot and lane into lane 0 of every lane of the pushed f32x4. */
  total(t: Local): void {
    const fn = this.#fn;
    const slots = this.acc.length;
    if (this.#sum) {
      const [a0] = this.acc[0];
      fn.get(a0);
      this.acc.flat().slice(1).forEach((a) => fn.get(a).op("f64x2.add"));
      fn.tee(a0).lane("f64x2.extract_lane", 0).get(a0).lane("f64x2.extract_lane", 1);
      fn.op("f64.add").op("f32.demote_f64").op("f32x4.splat").set(t);
      return;
    }
    fn.get(this.acc[0][0]);
    for (let s = 1; s < slots; s++) fn.get(this.acc[s][0]).op(this.#op);
    fn.set(t);
    fn.get(t).get(t).get(t).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]);
    fn.op(this.#op).set(t);
    fn.get(t).get(t).get(t).splatLane32(1).op(this.#op).tee(t).get(t).splatLane32(0).set(t);
  }
}

/**
 * The largest sub-graphs of `prologue` that load no `"full"` operand (only
 * constants and operands the same along the axis, like the shift of a
 * log-sum-exp): computed once per row instead of once per vector.
 */
function invariants(prologue: Expr, full: (i: number) => boolean): Expr[] {
  const varies = new Set<Expr>();
  const order = topoOrder([prologue]);
  for (const n of order) {
    if ((n.op === "load" && full(n.value)) || n.args.some((a) => varies.has(a))) varies.add(n);
  }
  const out = new Set<Expr>();
  for (const n of order) {
    if (!varies.has(n)) continue;
    for (const a of n.args) if (!varies.has(a) && a.op !== "const" && a.op !== "load") out.add(a);
  }
  return [...out];
}

/**
 * Adds to `mod` the function `name(p₀, …, out, outer, n, inner)` computing
 * `kernel` (see the module doc); `n ≥ 1`.
 *
 * @param mod The module (it must import a memory).
 * @param name The function's (exported) name.
 * @param kernel A `sum`, `max` or `min` reduction of float32 operands to float32.
 * @param layouts Per operand, its layout.
 * @param opts Renderer options.
 * @param part Only the code for `inner = 1` (`"rows"`) or `inner > 1`
 *   (`"columns"`); other calls trap. Default: both.
 * @returns The function.
 *
 * @example
 * ```ts
 * import { load } from "../../ir/expr.ts";
 * import { reduceKernel } from "../../ir/kernel.ts";
 * import { renderReduce } from "./reduce.ts";
 * import { WasmModule } from "../asm/mod.ts";
 *
 * const mod = new WasmModule({ memoryImport: { module: "env", field: "memory", minPages: 1 } });
 * const x = load(0, "f32");
 * renderReduce(mod, "sumsq", reduceKernel("sum", x.mul(x), ["f32"]), ["full"]);
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const { sumsq } = new WebAssembly.Instance(mod.compile(), { env: { memory } }).exports as {
 *   sumsq(x: number, out: number, outer: number, n: number, inner: number): void;
 * };
 * const f = new Float32Array(memory.buffer);
 * f.set([1, 2, 3, 4, 5, 6]);
 * sumsq(0, 64, 2, 3, 1); // rows of [2, 3]
 * console.log(f.slice(16, 18)); // Float32Array(2) [ 14, 77 ]
 * ```
 * @internal
 */
export function renderReduce(
  mod: WasmModule,
  name: string,
  kernel: ReduceKernel,
  layouts: readonly ReduceLayout[],
  opts: WasmRenderOptions = {},
  part?: ReducePart,
): WasmFunction {
  const { combine, inputs, prologue, epilogue } = kernel;
  if (
    combine === "argmax" || combine === "argmin" || inputs.some((t) => t !== "f32" && t !== "i32")
  ) {
    throw new TypeError(
      `renderReduce(): ${name}: only sum/max/min of f32 and i32 operands, got ${combine} of ${inputs}`,
    );
  }
  if (prologue.type !== "f32" || (epilogue !== null && epilogue.type !== "f32")) {
    throw new TypeError(`renderReduce(): ${name}: the prologue and epilogue must be f32`);
  }
  const params: Record<string, typeof I32> = {};
  inputs.forEach((_, i) => (params[`p${i}`] = I32));
  Object.assign(params, { out: I32, outer: I32, n: I32, inner: I32 });
  return mod.func(name, { params, export: true }, (fn) => {
    const args = fn.args as Record<string, Local>;
    const { out, outer, n, inner } = args;
    const p = inputs.map((_, i) => args[`p${i}`]);
    const ptr = inputs.map((_, i) => fn.local(`ptr${i}`, I32));
    const vec = [0, 1, 2, 3].map((u) => inputs.map((_, i) => fn.local(`x${i}_${u}`, V128)));
    const { kk, jj, at, stride, t, e } = fn.locals({
      kk: I32,
      jj: I32,
      at: I32,
      stride: I32,
      t: V128,
      e: V128,
    });
    const full = (i: number): boolean => layouts[i] === "full";
    const axis = (i: number): boolean => layouts[i] === "axis";
    /** The prologue's values computed once per row, by node (rows; see `invariants`). */
    let hoisted = new Map<Expr, Local>();
    /** The prologue over slots `0 … u − 1`'s operand vectors (one group); returns their locals. */
    const values = (u: number): Local[] => {
      const em = new WasmEmitter(fn, opts, u);
      hoisted.forEach((v, node) => vec.slice(0, u).forEach((_, q) => em.bind(node, v, q)));
      return em.runGroup(prologue, vec.slice(0, u));
    };
    /** The epilogue of the reduced f32x4 in `t`, the operands at `(o, 0, i)` in `at0` (default slot 3). */
    const finish = (at0: readonly Local[] = vec[3]): Local => {
      if (epilogue === null) return t;
      return new WasmEmitter(fn, opts).run(epilogue, [t, ...at0]);
    };
    // rows: max/min (one instruction sequence per vector, a long latency) keep four vectors in flight
    const rowSteps = combine === "sum" ? [2, 1] : [4, 1];
    const head = inputs.map((_, i) => fn.local(`h${i}`, V128));
    const rows = new Accumulator(fn, combine, rowSteps[0], "r");
    const cols = new Accumulator(fn, combine, 4, "c");
    fn.get(inner).i32(4).op("i32.mul").set(stride);
    const rowsPart = (): void => {
      // rows: full operands advance n elements per row, axis operands one
      inputs.forEach((_, i) => fn.get(p[i]).set(ptr[i]));
      fn.loopUntil(() => void fn.get(outer).op("i32.eqz"), () => {
        inputs.forEach((_, i) => {
          fn.get(ptr[i]).v128Load32Splat().set(head[i]);
          if (!full(i)) [0, 1, 2, 3].forEach((u) => fn.get(head[i]).set(vec[u][i]));
        });
        rows.reset();
        hoisted = new Map(
          invariants(prologue, full).map((
            node,
          ) => [node, new WasmEmitter(fn, opts).run(node, head)]),
        );
        fn.get(n).set(kk);
        for (const u of rowSteps) {
          fn.loopUntil(() => void fn.get(kk).i32(4 * u).op("i32.lt_u"), () => {
            for (let q = 0; q < u; q++) {
              inputs.forEach((_, i) => {
                if (!full(i)) return;
                fn.get(ptr[i]);
                loadVector(fn, "f32", 4 * q);
                fn.set(vec[q][i]);
              });
            }
            values(u).forEach((v, q) => rows.add(q, v));
            inputs.forEach((_, i) => {
              if (full(i)) fn.get(ptr[i]).i32(16 * u).op("i32.add").set(ptr[i]);
            });
            fn.get(kk).i32(4 * u).op("i32.sub").set(kk);
          });
        }
        fn.get(kk).if(() => {
          inputs.forEach((_, i) => {
            if (full(i)) loadPartial(fn, "f32", ptr[i], kk, vec[0][i]);
          });
          fn.get(values(1)[0]).set(e);
          rows.mask(e, kk);
          rows.add(0, e);
          inputs.forEach((_, i) => {
            if (full(i)) fn.get(ptr[i]).get(kk).i32(4).op("i32.mul").op("i32.add").set(ptr[i]);
          });
        });
        rows.total(t);
        hoisted = new Map();
        fn.get(out).get(finish(head)).lane("f32x4.extract_lane", 0).f32Store();
        fn.get(out).i32(4).op("i32.add").set(out);
        inputs.forEach((_, i) => {
          if (axis(i)) fn.get(ptr[i]).i32(4).op("i32.add").set(ptr[i]);
        });
        fn.get(outer).i32(1).op("i32.sub").set(outer);
      });
    };
    const columnsPart = (): void => {
      /** Reduces columns [jj, jj + 4·width) of slice o (width 4 or 1), or the `inner < 4` block. */
      const block = (width: number, partial: boolean): void => {
        cols.reset();
        fn.get(jj).i32(4).op("i32.mul").set(at);
        inputs.forEach((_, i) => {
          if (layouts[i] === "scalar") {
            fn.get(p[i]).v128Load32Splat().set(vec[3][i]);
            for (let q = 0; q < Math.min(width, 3); q++) fn.get(vec[3][i]).set(vec[q][i]);
            return;
          }
          fn.get(p[i]).get(at).op("i32.add").set(ptr[i]);
          if (partial) loadPartial(fn, "f32", ptr[i], inner, vec[3][i]);
          else {
            fn.get(ptr[i]);
            loadVector(fn, "f32");
            fn.set(vec[3][i]);
          }
          if (!full(i)) {
            for (let q = 0; q < width; q++) {
              if (partial || q === 0) fn.get(vec[3][i]).set(vec[q][i]);
              else {
                fn.get(ptr[i]);
                loadVector(fn, "f32", 4 * q);
                fn.set(vec[q][i]);
              }
            }
          }
        });
        fn.get(n).set(kk);
        fn.loopUntil(() => void fn.get(kk).op("i32.eqz"), () => {
          for (let q = 0; q < width; q++) {
            inputs.forEach((_, i) => {
              if (!full(i)) return;
              if (partial) loadPartial(fn, "f32", ptr[i], inner, vec[q][i]);
              else {
                fn.get(ptr[i]);
                loadVector(fn, "f32", 4 * q);
                fn.set(vec[q][i]);
              }
            });
          }
          values(width).forEach((v, q) => cols.add(q, v));
          inputs.forEach((_, i) => {
            if (full(i)) fn.get(ptr[i]).get(stride).op("i32.add").set(ptr[i]);
          });
          fn.get(kk).i32(1).op("i32.sub").set(kk);
        });
        fn.get(out).get(at).op("i32.add").set(at);
        for (let q = 0; q < width; q++) {
          cols.vector(q);
          fn.set(t);
          if (width > 1) {
            // the operands at (o, 0, columns of vector q); slot 3 was overwritten by the loop
            inputs.forEach((_, i) => {
              if (layouts[i] === "scalar") return;
              fn.get(p[i]).get(jj).i32(4).op("i32.mul").op("i32.add");
              loadVector(fn, "f32", 4 * q);
              fn.set(vec[3][i]);
            });
          }
          fn.get(finish()).set(e);
          if (partial) storePartial(fn, "f32", at, inner, e);
          else fn.get(at).get(e).v128Store(16 * q);
        }
      };
      fn.loopUntil(() => void fn.get(outer).op("i32.eqz"), () => {
        fn.i32(0).set(jj);
        fn.get(inner).i32(4).op("i32.ge_u").if(() => {
          fn.loopUntil(
            () => void fn.get(jj).i32(16).op("i32.add").get(inner).op("i32.gt_u"),
            () => {
              block(4, false);
              fn.get(jj).i32(16).op("i32.add").set(jj);
            },
          );
          fn.loopUntil(() => void fn.get(jj).get(inner).op("i32.ge_u"), () => {
            fn.get(jj).i32(4).op("i32.add").get(inner).op("i32.gt_u").if(() => {
              fn.get(inner).i32(4).op("i32.sub").set(jj);
            });
            block(1, false);
            fn.get(jj).i32(4).op("i32.add").set(jj);
          });
        }, () => block(1, true));
        inputs.forEach((_, i) => {
          if (layouts[i] === "scalar") return;
          fn.get(p[i]).get(stride);
          if (full(i)) fn.get(n).op("i32.mul");
          fn.op("i32.add").set(p[i]);
        });
        fn.get(out).get(stride).op("i32.add").set(out);
        fn.get(outer).i32(1).op("i32.sub").set(outer);
      });
    };
    // Called with the other `inner` than its part: trap.
    const other = (): void => void fn.unreachable();
    fn.get(inner).i32(1).op("i32.eq").if(
      part === "columns" ? other : rowsPart,
      part === "rows" ? other : columnsPart,
    );
  });
}

/**
 * Which part of a reduction a function is rendered for: `"rows"` (`inner =
 * 1`) or `"columns"` (`inner > 1`); each is half the code of both.
 */
export type ReducePart = "rows" | "columns";

/**
 * The part a call with this `inner` runs.
 *
 * @param inner Size of the trailing axes.
 * @returns `"rows"` for 1, else `"columns"`.
 */
export function reducePart(inner: number): ReducePart {
  return inner === 1 ? "rows" : "columns";
}
