/**
 * The wasm backend's data-movement kernels on the typed assembler (no IR:
 * they move bits, they compute nothing elementwise):
 *
 * - `gather32(x, idx, out, outer, n, inner, count)`: `out[o, c, :] = x[o,
 *   idx[c], :]` for 4-byte elements (float32 or int32; bits are copied),
 *   the `count` int32 indices at `idx` already in `[0, n)`; 16 then 4
 *   elements per step and a 2 + 1 tail, a scalar loop for `inner = 1`.
 *   Rows go in blocks of 32, a word of each of a block's cache lines
 *   loaded first (`touchRows`): 100 random rows of float32 MNIST (188 MB)
 *   in about 55 instead of 90 µs.
 * - `scatter_add_f32(g, idx, acc, out, outer, n, inner, count)`: zeroes the
 *   float64 scratch `acc` (`outer·n·inner` doubles), adds `g[o, c, i]` into
 *   `acc[o, idx[c], i]` in the order o, c, i (f64x2 lanes promoted from f32,
 *   which keeps each element's order of additions) and rounds `acc` into
 *   `out` once: bit-identical to a `Float64Array` loop.
 * - `fill32(out, n, bits)`: `n` 32-bit words of `bits`.
 * - `unpack8_k1`, `unpack8_k2`, `unpack8_k3` `(x, idx, out, count, w, d)`:
 *   rows of 8-bit values packed `k` per float32 (value `c` of a row is
 *   `b₀ + 256·b₁ + 65536·b₂`, an integer below 2²⁴), gathered and widened:
 *   `out[c, j, i] = f32(byte j of x[idx[c], i]) / d` for `j < k` (the
 *   `[count, k, w]` float32 planes `CompactImages` stands for; `d` is 255
 *   or 1, and float32 division is correctly rounded, so the values are
 *   exactly `float32(b / d)`). Four values per step (one truncation to
 *   integers, then per plane a shift, a mask, a conversion and a division),
 *   a scalar tail; the indices are in range. Rows go in blocks of 32, a
 *   word of each of a block's cache lines loaded first: those loads do not
 *   depend on each other, so many misses are in flight at once, where
 *   widening row after row waits on memory for each (100 random MNIST rows
 *   of the 94 MB training set: about 45 instead of 75 µs).
 *
 * @module
 */

import { F32, I32, type Local, V128, type WasmFunction, type WasmModule } from "../asm/mod.ts";

/** The exported index kernels (all arguments are i32; pointers are byte addresses). */
export interface IndexKernels {
  /** See the module doc. */
  readonly gather32: (...args: [number, number, number, number, number, number, number]) => void;
  /** See the module doc. */
  readonly scatter_add_f32: (
    ...args: [number, number, number, number, number, number, number, number]
  ) => void;
  /** See the module doc. */
  readonly fill32: (out: number, n: number, bits: number) => void;
  /** See the module doc (`k` = 1). */
  readonly unpack8_k1: Unpack8;
  /** See the module doc (`k` = 2). */
  readonly unpack8_k2: Unpack8;
  /** See the module doc (`k` = 3). */
  readonly unpack8_k3: Unpack8;
}

/** `(x, idx, out, count, w, d)`: see the module doc. */
export type Unpack8 = (
  x: number,
  idx: number,
  out: number,
  count: number,
  w: number,
  d: number,
) => void;

/** Locals of the loops over `outer` and the indices. */
interface IndexLocals {
  base: Local;
  idx: Local;
  count: Local;
  outer: Local;
  rowB: Local;
  sliceB: Local;
  ip: Local;
  cc: Local;
  at: Local;
}

/**
 * The loops over `outer` (counted down) and the `count` indices at `idx`:
 * per index, `at = base + idx[c]·rowB` and `row()` runs; after each `o`,
 * `base` advances by `sliceB`. With `touch`, the indices go in blocks of
 * {@link TOUCH_ROWS} and `touch(block)` runs before each (`ip` at its first
 * index, `block` its length).
 */
function indexLoops(
  fn: WasmFunction,
  l: IndexLocals,
  row: () => void,
  touch?: { readonly block: Local; readonly run: () => void },
): void {
  const one = (): void => {
    fn.get(l.base).get(l.ip).mem("i32.load").get(l.rowB).op("i32.mul").op("i32.add").set(l.at);
    row();
    fn.get(l.ip).i32(4).op("i32.add").set(l.ip).get(l.cc).i32(1).op("i32.sub").set(l.cc);
  };
  fn.loopUntil(() => void fn.get(l.outer).op("i32.eqz"), () => {
    fn.get(l.idx).set(l.ip).get(l.count).set(l.cc);
    fn.loopUntil(() => void fn.get(l.cc).op("i32.eqz"), () => {
      if (touch === undefined) return one();
      const { block } = touch;
      fn.get(l.cc).i32(TOUCH_ROWS).get(l.cc).i32(TOUCH_ROWS).op("i32.lt_u").select().set(block);
      touch.run();
      fn.loopUntil(() => void fn.get(block).op("i32.eqz"), () => {
        one();
        fn.get(block).i32(1).op("i32.sub").set(block);
      });
    });
    fn.get(l.base).get(l.sliceB).op("i32.add").set(l.base);
    fn.get(l.outer).i32(1).op("i32.sub").set(l.outer);
  });
}

/**
 * Rows a gather loads a word of every cache line of before copying or
 * widening them: 32 MNIST rows are 50–100 KB, well within a core's L2.
 */
const TOUCH_ROWS = 32;

/** Locals of {@link touchRows}. */
interface TouchLocals {
  /** The row's address, then each of its cache lines'. */
  readonly p: Local;
  /** The row's end. */
  readonly end: Local;
  /** The OR of the words loaded. */
  readonly seen: Local;
  /** Index pointer and rows left. */
  readonly ip: Local;
  readonly left: Local;
}

/**
 * Loads a word of each cache line of the `n` rows of `rowB` bytes at
 * `base + idx[c]·rowB` (indices from `first`), then stores their OR at
 * `out`, which the kernel overwrites next (a store, so the loads stay).
 * The loads do not depend on each other, so many misses are in flight at
 * once: random rows of a large dataset, copied row after row, wait on
 * memory for each.
 */
function touchRows(
  fn: WasmFunction,
  rows: { base: Local; first: Local; n: Local; rowB: Local; out: Local },
  l: TouchLocals,
): void {
  fn.i32(0).set(l.seen).get(rows.first).set(l.ip).get(rows.n).set(l.left);
  fn.loopUntil(() => void fn.get(l.left).op("i32.eqz"), () => {
    fn.get(rows.base).get(l.ip).mem("i32.load").get(rows.rowB).op("i32.mul").op("i32.add").set(l.p);
    fn.get(l.p).get(rows.rowB).op("i32.add").set(l.end);
    fn.loopUntil(() => void fn.get(l.p).get(l.end).op("i32.ge_u"), () => {
      fn.get(l.seen).get(l.p).mem("i32.load").op("i32.or").set(l.seen);
      advance(fn, [l.p, 64]);
    });
    advance(fn, [l.ip, 4], [l.left, -1]);
  });
  fn.get(rows.out).get(l.seen).mem("i32.store");
}

/** `p += bytes` for each `[p, bytes]`. */
function advance(fn: WasmFunction, ...steps: readonly (readonly [Local, number])[]): void {
  for (const [p, b] of steps) fn.get(p).i32(b).op("i32.add").set(p);
}

/** Copies `kk` 4-byte words from `src` to `dst` (both advance): 16, 4, then 2 + 1. */
function copyWords(fn: WasmFunction, src: Local, dst: Local, kk: Local): void {
  for (const step of [16, 4]) {
    fn.loopUntil(() => void fn.get(kk).i32(step).op("i32.lt_u"), () => {
      for (let q = 0; q < step / 4; q++) fn.get(dst).get(src).v128Load(16 * q).v128Store(16 * q);
      advance(fn, [src, 4 * step], [dst, 4 * step], [kk, -step]);
    });
  }
  fn.get(kk).i32(2).op("i32.and").if(() => {
    fn.get(dst).get(src).mem("i64.load").mem("i64.store");
    advance(fn, [src, 8], [dst, 8]);
  });
  fn.get(kk).i32(1).op("i32.and").if(() => {
    fn.get(dst).get(src).mem("i32.load").mem("i32.store");
    advance(fn, [dst, 4]);
  });
}

/** Adds `gather32` to `mod`. */
function gather32(mod: WasmModule): void {
  const params = { x: I32, idx: I32, out: I32, outer: I32, n: I32, inner: I32, count: I32 };
  mod.func("gather32", { params, export: true }, (fn) => {
    const { x, idx, out, outer, n, inner, count } = fn.args;
    const { rowB, sliceB, ip, cc, src, kk, block, p, end, seen, tip, left } = fn.locals({
      rowB: I32,
      sliceB: I32,
      ip: I32,
      cc: I32,
      src: I32,
      kk: I32,
      block: I32,
      p: I32,
      end: I32,
      seen: I32,
      tip: I32,
      left: I32,
    });
    fn.get(inner).op("i32.eqz").get(count).op("i32.eqz").op("i32.or").if(() => void fn.return());
    fn.get(inner).i32(2).op("i32.shl").set(rowB).get(n).get(rowB).op("i32.mul").set(sliceB);
    const loops = { base: x, idx, count, outer, rowB, sliceB, ip, cc, at: src };
    fn.get(inner).i32(1).op("i32.eq").if(() => {
      indexLoops(fn, loops, () => {
        fn.get(out).get(src).mem("i32.load").mem("i32.store");
        advance(fn, [out, 4]);
      });
    }, () => {
      const rows = { base: x, first: ip, n: block, rowB, out };
      indexLoops(fn, loops, () => {
        fn.get(inner).set(kk);
        copyWords(fn, src, out, kk);
      }, { block, run: () => touchRows(fn, rows, { p, end, seen, ip: tip, left }) });
    });
  });
}

/** Adds `scatter_add_f32` to `mod`. */
function scatterAddF32(mod: WasmModule): void {
  const params = {
    g: I32,
    idx: I32,
    acc: I32,
    out: I32,
    outer: I32,
    n: I32,
    inner: I32,
    count: I32,
  };
  mod.func("scatter_add_f32", { params, export: true }, (fn) => {
    const { g, idx, acc, out, outer, n, inner, count } = fn.args;
    const { total, p, kk, ip, cc, rowB, sliceB, base, v } = fn.locals({
      total: I32,
      p: I32,
      kk: I32,
      ip: I32,
      cc: I32,
      rowB: I32,
      sliceB: I32,
      base: I32,
      v: V128,
    });
    const zero = fn.hoistI32x4(0);
    const HIGH = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
    fn.get(outer).get(n).op("i32.mul").get(inner).op("i32.mul").set(total);
    // acc = 0: eight doubles per step, then two, then one
    fn.get(acc).set(p).get(total).set(kk);
    for (const step of [8, 2]) {
      fn.loopUntil(() => void fn.get(kk).i32(step).op("i32.lt_u"), () => {
        for (let q = 0; q < step / 2; q++) fn.get(p).get(zero).v128Store(16 * q);
        advance(fn, [p, 8 * step], [kk, -step]);
      });
    }
    fn.get(kk).if(() => void fn.get(p).f64(0).mem("f64.store"));
    // accumulate: `base` advances by one [n, inner] slice of acc per o; g is read in order
    fn.get(inner).i32(3).op("i32.shl").set(rowB).get(n).get(rowB).op("i32.mul").set(sliceB);
    const loops = { base, idx, count, outer, rowB, sliceB, ip, cc, at: p };
    /** The double at `p` += the promoted float at `g`; advances `g` by 4. */
    const scalarAdd = (): void => {
      fn.get(p).get(p).mem("f64.load").get(g).f32Load().op("f64.promote_f32").op("f64.add");
      fn.mem("f64.store");
      advance(fn, [g, 4]);
    };
    fn.get(acc).set(base);
    fn.get(inner).i32(1).op("i32.eq").if(() => indexLoops(fn, loops, scalarAdd), () => {
      indexLoops(fn, loops, () => {
        fn.get(inner).set(kk);
        fn.loopUntil(() => void fn.get(kk).i32(4).op("i32.lt_u"), () => {
          fn.get(g).v128Load().set(v);
          fn.get(p).get(p).v128Load().get(v).op("f64x2.promote_low_f32x4").op("f64x2.add");
          fn.v128Store();
          fn.get(p).get(p).v128Load(16).get(v).get(v).shuffle(HIGH).op("f64x2.promote_low_f32x4");
          fn.op("f64x2.add").v128Store(16);
          advance(fn, [g, 16], [p, 32], [kk, -4]);
        });
        fn.get(kk).i32(2).op("i32.and").if(() => {
          fn.get(p).get(p).v128Load().get(g).mem("v128.load64_zero").op("f64x2.promote_low_f32x4");
          fn.op("f64x2.add").v128Store();
          advance(fn, [g, 8], [p, 16]);
        });
        fn.get(kk).i32(1).op("i32.and").if(scalarAdd);
      });
    });
    // out = f32(acc): four per step (two demoted pairs joined), then two, then one
    fn.get(acc).set(p).get(total).set(kk);
    fn.loopUntil(() => void fn.get(kk).i32(4).op("i32.lt_u"), () => {
      fn.get(out).get(p).v128Load().op("f32x4.demote_f64x2_zero");
      fn.get(p).v128Load(16).op("f32x4.demote_f64x2_zero");
      fn.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]).v128Store();
      advance(fn, [p, 32], [out, 16], [kk, -4]);
    });
    fn.get(kk).i32(2).op("i32.and").if(() => {
      fn.get(out).get(p).v128Load().op("f32x4.demote_f64x2_zero").v128StoreLane(64, 0, 0);
      advance(fn, [p, 16], [out, 8]);
    });
    fn.get(kk).i32(1).op("i32.and").if(() => {
      fn.get(out).get(p).mem("f64.load").op("f32.demote_f64").f32Store();
    });
  });
}

/** Adds `fill32` to `mod`: 64 bytes per step, then 16, then words. */
function fill32(mod: WasmModule): void {
  mod.func("fill32", { params: { out: I32, n: I32, bits: I32 }, export: true }, (fn) => {
    const { out, n, bits } = fn.args;
    const { v } = fn.locals({ v: V128 });
    fn.get(bits).op("i32x4.splat").set(v);
    for (const step of [16, 4]) {
      fn.loopUntil(() => void fn.get(n).i32(step).op("i32.lt_u"), () => {
        for (let q = 0; q < step / 4; q++) fn.get(out).get(v).v128Store(16 * q);
        advance(fn, [out, 4 * step], [n, -step]);
      });
    }
    fn.loopUntil(() => void fn.get(n).op("i32.eqz"), () => {
      fn.get(out).get(bits).mem("i32.store");
      advance(fn, [out, 4], [n, -1]);
    });
  });
}

/** Adds `unpack8_k<k>` (see the module doc) to `mod`. */
function unpack8(mod: WasmModule, k: number): void {
  const params = { x: I32, idx: I32, out: I32, count: I32, w: I32, d: F32 };
  mod.func(`unpack8_k${k}`, { params, export: true }, (fn) => {
    const { x, idx, out, count, w, d } = fn.args;
    const { src, dst, kk, planeB, t, ds, u, block, p, end, seen, ip, left } = fn.locals({
      src: I32,
      dst: I32,
      kk: I32,
      planeB: I32,
      t: V128,
      ds: V128,
      u: I32,
      block: I32,
      p: I32,
      end: I32,
      seen: I32,
      ip: I32,
      left: I32,
    });
    // plane j of a row starts `j·planeB` bytes after plane 0
    const offsets = Array.from({ length: k }, (_, j) => fn.local(`plane${j}`, I32));
    fn.get(d).op("f32x4.splat").set(ds);
    fn.get(w).i32(2).op("i32.shl").set(planeB);
    offsets.forEach((o, j) => fn.get(planeB).i32(j).op("i32.mul").set(o));
    const mask = fn.hoistI32x4(255);
    /** Four values (`vector`) or one from `src`, each plane's byte stored at `dst + plane offset`. */
    const values = (vector: boolean): void => {
      const bits = vector ? t : u;
      fn.get(src);
      if (vector) fn.v128Load().op("i32x4.trunc_sat_f32x4_s");
      else fn.f32Load().op("i32.trunc_sat_f32_s");
      fn.set(bits);
      offsets.forEach((o, j) => {
        fn.get(dst).get(o).op("i32.add").get(bits);
        if (j > 0) fn.i32(8 * j).op(vector ? "i32x4.shr_u" : "i32.shr_u");
        if (vector) fn.get(mask).op("v128.and").op("f32x4.convert_i32x4_s").get(ds).op("f32x4.div");
        else fn.i32(255).op("i32.and").op("f32.convert_i32_s").get(d).op("f32.div");
        if (vector) fn.v128Store();
        else fn.f32Store();
      });
      const bytes = vector ? 16 : 4;
      advance(fn, [src, bytes], [dst, bytes], [kk, -bytes / 4]);
    };
    fn.loopUntil(() => void fn.get(count).op("i32.eqz"), () => {
      // A block of rows: `min(count, TOUCH_ROWS)`.
      fn.get(count).i32(TOUCH_ROWS).get(count).i32(TOUCH_ROWS).op("i32.lt_u").select().set(block);
      touchRows(fn, { base: x, first: idx, n: block, rowB: planeB, out }, {
        p,
        end,
        seen,
        ip,
        left,
      });
      fn.loopUntil(() => void fn.get(block).op("i32.eqz"), () => {
        fn.get(x).get(idx).mem("i32.load").get(planeB).op("i32.mul").op("i32.add").set(src);
        fn.get(out).set(dst).get(w).set(kk);
        fn.loopUntil(() => void fn.get(kk).i32(4).op("i32.lt_u"), () => values(true));
        fn.loopUntil(() => void fn.get(kk).op("i32.eqz"), () => values(false));
        fn.get(out).get(planeB).i32(k).op("i32.mul").op("i32.add").set(out);
        advance(fn, [idx, 4], [count, -1], [block, -1]);
      });
    });
  });
}

/**
 * Adds `gather32`, `scatter_add_f32`, `fill32` and the `unpack8` kernels (see the module doc) to `mod`.
 *
 * @param mod The module (it must import a memory).
 *
 * @example
 * ```ts
 * import { addIndexKernels, type IndexKernels } from "./indexing.ts";
 * import { WasmModule } from "../asm/mod.ts";
 *
 * const mod = new WasmModule({ memoryImport: { module: "env", field: "memory", minPages: 1 } });
 * addIndexKernels(mod);
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const k = new WebAssembly.Instance(mod.compile(), { env: { memory } }).exports as unknown as IndexKernels;
 * k.fill32(0, 5, 7);
 * console.log(new Int32Array(memory.buffer, 0, 6)); // Int32Array(6) [ 7, 7, 7, 7, 7, 0 ]
 * ```
 * @internal
 */
export function addIndexKernels(mod: WasmModule): void {
  gather32(mod);
  scatterAddF32(mod);
  fill32(mod);
  for (const k of [1, 2, 3]) unpack8(mod, k);
}
