/**
 * The WebAssembly SIMD renderer of the kernel IR: an elementwise kernel
 * becomes one function of a module built with the typed assembler
 * (`../wasm/asm/`), `name(p₀, r₀, c₀, …, pₖ₋₁, rₖ₋₁, cₖ₋₁, out, rows, cols)`,
 * which runs the whole graph — however many ops — over a `rows × cols`
 * output written contiguously at `out`: element `(r, c)` of operand `k` is at
 * byte address `pₖ + size·(r·rₖ + c·cₖ)` with `cₖ ∈ {0, 1}` (a row broadcast,
 * a column broadcast, a scalar or contiguous data). Each combination of the
 * `cₖ` gets its own loop nest, chosen once per call; rows that are
 * contiguous (or constant) for every operand are fused into one; a row
 * where every operand is broadcast is computed once and stored. The inner
 * loop runs four lanes (`f32x4`/`i32x4`) per vector, two vectors per step
 * (four for bool outputs, stored as 16 bytes), then single vectors; the
 * last `cols mod 4` elements are loaded lane by lane and go through the
 * same vector code (the unused lanes compute on copies and are not stored:
 * SIMD arithmetic never traps).
 *
 * Types: `f32`, `i32`, `u32` are 4-byte elements; `bool` is one byte per
 * element in memory (0 or 1; any non-zero byte reads as true) and a lane
 * mask (all ones or zero) inside. `f64` has no SIMD form here (the IR's math
 * is float32).
 *
 * The IR's semantics map onto single instructions almost everywhere:
 * `f32x4.min`/`max` propagate NaN and order `−0 < +0`, `f32x4.nearest`
 * rounds half to even, `i32x4.trunc_sat_f32x4_s` is XLA's saturating
 * float → int32 conversion (NaN → 0), `f32x4.convert_i32x4_s` rounds to
 * nearest. Shifts by a constant are one instruction; shifts by a per-element
 * amount go lane by lane. `fma` is `f32x4.relaxed_madd` with `contractFma`
 * (which needs relaxed SIMD), else a multiply and an add — so without it the
 * results are bit-identical to the JS renderer's. `min`/`max` against a
 * constant other than ±0 and NaN is `f32x4.pmin`/`pmax` (one instruction
 * on x86, where `f32x4.min`/`max` take several; the same results there).
 * Constants are `v128`
 * locals set once before the loops ({@linkcode WasmFunction.hoist}).
 *
 * The graph itself is emitted by `wasm_emitter.ts` (shared with the
 * reduction renderer of the `wasm` backend, `../wasm/kernels/reduce.ts`),
 * for the two (four) vectors of an unrolled step together: a
 * `guard(cond, fast, full)` takes its fast arm for a step whose lanes all
 * satisfy `cond` and the full arm otherwise.
 *
 * @module
 */

import { type ScalarType, topoOrder } from "./expr.ts";
import type { TypedArray } from "../../core/dtype.ts";
import type { ElementwiseKernel } from "./kernel.ts";
import { I32, type Local, V128, type WasmFunction, WasmModule } from "../wasm/asm/mod.ts";
import { WasmEmitter, type WasmRenderOptions } from "./wasm_emitter.ts";

export type { WasmRenderOptions } from "./wasm_emitter.ts";

/** Bytes per element in memory. */
const sizeOf = (t: ScalarType): number => (t === "bool" ? 1 : 4);

/**
 * Pushes the vector of four elements of type `t` at the address on top of
 * the stack plus `offset` elements (bool bytes become lane masks).
 *
 * @param fn The function.
 * @param t The element type.
 * @param offset Element offset (a multiple of 4 in the loops).
 * @internal
 */
export function loadVector(fn: WasmFunction, t: ScalarType, offset = 0): void {
  if (t !== "bool") {
    fn.v128Load(4 * offset);
    return;
  }
  fn.mem("v128.load32_zero", offset).get(fn.hoistI32x4(0)).op("i8x16.ne");
  fn.op("i16x8.extend_low_i8x16_s").op("i32x4.extend_low_i16x8_s");
}

/**
 * Pushes the element of type `t` at address `p` in every lane (bool: a mask).
 *
 * @param fn The function.
 * @param t The element type.
 * @param p The local holding the address.
 * @internal
 */
export function splatVector(fn: WasmFunction, t: ScalarType, p: Local): void {
  fn.get(p);
  if (t === "bool") fn.mem("i32.load8_u").op("i32x4.splat").get(fn.hoistI32x4(0)).op("i32x4.ne");
  else fn.v128Load32Splat();
}

/**
 * Sets local `v` to a vector whose lanes `l < count` (1 ≤ count ≤ 3) hold
 * the elements of type `t` at `p + l·size`; the other lanes copy lane 0.
 *
 * @param fn The function.
 * @param t The element type.
 * @param p The local holding the address.
 * @param count The local holding how many lanes to read.
 * @param v The `v128` local to set.
 * @internal
 */
export function loadPartial(
  fn: WasmFunction,
  t: ScalarType,
  p: Local,
  count: Local,
  v: Local,
): void {
  splatVector(fn, t, p);
  fn.set(v);
  for (const l of [1, 2]) {
    fn.get(count).i32(l).op("i32.gt_u").if(() => {
      if (t === "bool") {
        fn.get(v).i32(0).get(p).mem("i32.load8_u", l).i32(0).op("i32.ne").op("i32.sub");
        fn.lane("i32x4.replace_lane", l);
      } else fn.get(p).get(v).v128LoadLane(32, 4 * l, l);
      fn.set(v);
    });
  }
}

/**
 * Stores the lanes `l < count` (1 ≤ count ≤ 3) of local `v` (of type `t`) at
 * `p + l·size`.
 *
 * @param fn The function.
 * @param t The element type.
 * @param p The local holding the address.
 * @param count The local holding how many lanes to write.
 * @param v The local holding the vector (bool: masks).
 * @internal
 */
export function storePartial(
  fn: WasmFunction,
  t: ScalarType,
  p: Local,
  count: Local,
  v: Local,
): void {
  if (t === "bool") {
    fn.get(v).get(v).op("i16x8.narrow_i32x4_s").tee(v).get(v).op("i8x16.narrow_i16x8_s");
    fn.op("i8x16.neg").set(v);
  }
  const bits = t === "bool" ? 8 : 32, size = sizeOf(t);
  fn.get(p).get(v).v128StoreLane(bits, 0, 0);
  for (const l of [1, 2]) {
    fn.get(count).i32(l).op("i32.gt_u").if(() => {
      fn.get(p).get(v).v128StoreLane(bits, size * l, l);
    });
  }
}

/** Nodes past which a graph runs one vector per step (see `renderWasm`). */
const LONG_GRAPH = 256;

/** The most operands of a rendered elementwise kernel (2^k loop nests). @internal */
export const MAX_OPERANDS = 6;

/**
 * Adds to `mod` the function `name(p₀, r₀, c₀, …, out, rows, cols)`
 * computing `kernel` over a `rows × cols` output (see the module doc):
 * operand `k` at byte address `pₖ`, row stride `rₖ` elements, column
 * stride `cₖ` ∈ {0, 1}; the result written contiguously at `out`.
 *
 * @param mod The module (it must import a memory).
 * @param name The function's (exported) name.
 * @param kernel The elementwise kernel (at most 6 operands).
 * @param opts Renderer options.
 * @param columns Only the loop nest for these column strides (bit `k` set:
 *   `cₖ = 1`), for kernels of many operands: one nest instead of `2^k`
 *   (other strides trap). Default: every nest.
 * @returns The function.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { elementwiseKernel } from "./kernel.ts";
 * import { renderWasm } from "./render_wasm.ts";
 * import { WasmModule } from "../wasm/asm/mod.ts";
 *
 * const mod = new WasmModule({ memoryImport: { module: "env", field: "memory", minPages: 1 } });
 * const a = load(0, "f32"), b = load(1, "f32");
 * renderWasm(mod, "axpb", elementwiseKernel(a.mul(2).add(b)));
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const { axpb } = new WebAssembly.Instance(mod.compile(), { env: { memory } }).exports as {
 *   axpb(...args: number[]): void;
 * };
 * const f = new Float32Array(memory.buffer);
 * f.set([1, 2, 3, 4, 5, 6], 0); // a: 2 × 3
 * f.set([10, 20, 30], 8); // b: one row, broadcast down the rows
 * axpb(0, 3, 1, 32, 0, 1, 64, 2, 3);
 * console.log(f.slice(16, 22)); // Float32Array(6) [ 12, 24, 36, 18, 30, 42 ]
 * ```
 * @internal
 */
export function renderWasm(
  mod: WasmModule,
  name: string,
  kernel: ElementwiseKernel,
  opts: WasmRenderOptions = {},
  columns?: number,
): WasmFunction {
  const types = kernel.inputs, k = types.length;
  if (k > MAX_OPERANDS) {
    throw new RangeError(
      `render_wasm: ${name} has ${k} operands; at most ${MAX_OPERANDS} (split the graph)`,
    );
  }
  const params: Record<string, typeof I32> = {};
  types.forEach((_, i) =>
    Object.assign(params, { [`p${i}`]: I32, [`r${i}`]: I32, [`c${i}`]: I32 })
  );
  Object.assign(params, { out: I32, rows: I32, cols: I32 });
  const outType = kernel.output.type, outSize = sizeOf(outType);
  // Two vectors per step (four bool ones, one 16-byte store) for short
  // graphs; one for long ones (a fused chain), whose own instructions are
  // independent enough, and which would otherwise be emitted twice more.
  const unroll = outType === "bool" ? 4 : topoOrder([kernel.output]).length > LONG_GRAPH ? 1 : 2;
  return mod.func(name, { params, export: true }, (fn) => {
    const args = fn.args as Record<string, Local>;
    const { out, rows, cols } = args;
    const p = types.map((_, i) => args[`p${i}`]), r = types.map((_, i) => args[`r${i}`]);
    const c = types.map((_, i) => args[`c${i}`]);
    const ptr = types.map((_, i) => fn.local(`ptr${i}`, I32));
    const vec = Array.from(
      { length: unroll },
      (_, u) => types.map((_, i) => fn.local(`x${i}_${u}`, V128)),
    );
    const { j, which, res, tmp } = fn.locals({ j: I32, which: I32, res: V128, tmp: V128 });
    for (const ci of c) fn.get(ci).i32(0).op("i32.ne").set(ci);
    // fuse the rows when every operand is contiguous (r = cols) or constant (r = 0) along all of them
    fn.get(rows).i32(1).op("i32.gt_u");
    types.forEach((_, i) => {
      fn.get(r[i]).get(cols).i32(0).get(c[i]).select().op("i32.eq").op("i32.and");
    });
    fn.if(() => void fn.get(cols).get(rows).op("i32.mul").set(cols).i32(1).set(rows));
    types.forEach((t, i) => {
      if (sizeOf(t) > 1) fn.get(r[i]).i32(sizeOf(t)).op("i32.mul").set(r[i]);
    });
    fn.i32(0).set(which);
    c.forEach((ci, i) => fn.get(which).get(ci).i32(i).op("i32.shl").op("i32.or").set(which));

    for (let m = 0; m < 1 << k; m++) {
      if (columns !== undefined && m !== columns) continue;
      const contiguous = (i: number): boolean => ((m >> i) & 1) === 1;
      /** The locals of the operands' vectors for vector `u`, loaded (contiguous ones). */
      const operands = (u: number): Local[] =>
        types.map((t, i) => {
          if (!contiguous(i)) return vec[0][i];
          fn.get(ptr[i]);
          loadVector(fn, t, 4 * u);
          fn.set(vec[u][i]);
          return vec[u][i];
        });
      /** The results' locals for `u` vectors (one group: guards branch once for all). */
      const values = (u: number): Local[] => {
        if (m === 0) return Array(u).fill(res);
        const ins = Array.from({ length: u }, (_, q) => operands(q));
        return new WasmEmitter(fn, opts, u).runGroup(kernel.output, ins);
      };
      /** Advances the pointers by `count` elements. */
      const advance = (count: number): void => {
        types.forEach((t, i) => {
          if (contiguous(i)) fn.get(ptr[i]).i32(count * sizeOf(t)).op("i32.add").set(ptr[i]);
        });
        fn.get(out).i32(count * outSize).op("i32.add").set(out);
        fn.get(j).i32(count).op("i32.sub").set(j);
      };
      /** `u` vectors per step while at least `4u` elements are left. */
      const vectors = (u: number): void => {
        fn.loopUntil(() => void fn.get(j).i32(4 * u).op("i32.lt_u"), () => {
          const vs = values(u);
          if (outType === "bool" && u === 4) {
            fn.get(out).get(vs[0]).get(vs[1]).op("i16x8.narrow_i32x4_s");
            fn.get(vs[2]).get(vs[3]).op("i16x8.narrow_i32x4_s");
            fn.op("i8x16.narrow_i16x8_s").op("i8x16.neg").v128Store();
          } else if (outType === "bool") {
            fn.get(vs[0]).get(vs[0]).op("i16x8.narrow_i32x4_s").tee(tmp).get(tmp);
            fn.op("i8x16.narrow_i16x8_s").op("i8x16.neg").set(tmp);
            fn.get(out).get(tmp).v128StoreLane(32, 0, 0);
          } else vs.forEach((v, q) => fn.get(out).get(v).v128Store(16 * q));
          advance(4 * u);
        });
      };
      fn.get(which).i32(m).op("i32.eq").if(() => {
        fn.loopUntil(() => void fn.get(rows).op("i32.eqz"), () => {
          types.forEach((t, i) => {
            if (contiguous(i)) fn.get(p[i]).set(ptr[i]);
            else {
              splatVector(fn, t, p[i]);
              fn.set(vec[0][i]);
            }
          });
          if (m === 0) fn.get(new WasmEmitter(fn, opts).run(kernel.output, vec[0])).set(res);
          fn.get(cols).set(j);
          if (unroll > 1) vectors(unroll);
          vectors(1);
          fn.get(j).if(() => {
            const vs = types.map((t, i) => {
              if (!contiguous(i)) return vec[0][i];
              loadPartial(fn, t, ptr[i], j, vec[0][i]);
              return vec[0][i];
            });
            const v = m === 0 ? res : new WasmEmitter(fn, opts).run(kernel.output, vs);
            fn.get(v).set(tmp);
            storePartial(fn, outType, out, j, tmp);
            fn.get(out).get(j).i32(outSize).op("i32.mul").op("i32.add").set(out);
          });
          types.forEach((_, i) => fn.get(p[i]).get(r[i]).op("i32.add").set(p[i]));
          fn.get(rows).i32(1).op("i32.sub").set(rows);
        });
        fn.return();
      });
    }
    if (columns !== undefined) fn.unreachable(); // called with other column strides
  });
}

/**
 * A host-side evaluator of a kernel through the WASM renderer, for tests
 * and measurements: copies the operands into a private memory, runs the
 * rendered function over one row, copies the result out. An operand of one
 * element is read as a broadcast scalar; the others must have `out.length`
 * elements. Bool arrays hold 0/1 bytes.
 *
 * @param kernel The elementwise kernel.
 * @param opts Renderer options (`contractFma` needs relaxed SIMD).
 * @returns `run(ins, out)`.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { elementwiseKernel } from "./kernel.ts";
 * import { wasmEvaluator } from "./render_wasm.ts";
 *
 * const less = wasmEvaluator(elementwiseKernel(load(0, "f32").lt(load(1, "f32"))));
 * const out = new Uint8Array(5);
 * less([new Float32Array([1, 5, 2, 8, 3]), new Float32Array([4])], out);
 * console.log(out); // Uint8Array(5) [ 1, 0, 1, 0, 1 ]
 * ```
 * @internal
 */
export function wasmEvaluator(
  kernel: ElementwiseKernel,
  opts: WasmRenderOptions = {},
): (ins: readonly ArrayLike<number>[], out: TypedArray) => void {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const mod = new WasmModule({ memoryImport: { module: "env", field: "memory", minPages: 1 } });
  renderWasm(mod, "kernel", kernel, opts);
  const inst = new WebAssembly.Instance(mod.compile(), { env: { memory } });
  const run = inst.exports.kernel as (...args: number[]) => void;
  const sizes = elementBytes(kernel);
  return (ins, out) => {
    const n = out.length;
    const offsets: number[] = [];
    let end = 0;
    for (const [k, x] of [...ins, out].entries()) {
      offsets.push(end);
      end += Math.ceil((x.length * sizes[k] + 16) / 16) * 16;
    }
    const pages = Math.ceil(end / 65536) - memory.buffer.byteLength / 65536;
    if (pages > 0) memory.grow(pages);
    const args: number[] = [];
    ins.forEach((x, k) => {
      const view = sizes[k] === 1
        ? new Uint8Array(memory.buffer, offsets[k], x.length)
        : kernel.inputs[k] === "f32"
        ? new Float32Array(memory.buffer, offsets[k], x.length)
        : new Int32Array(memory.buffer, offsets[k], x.length);
      view.set(x);
      args.push(offsets[k], 0, x.length === 1 && n !== 1 ? 0 : 1);
    });
    run(...args, offsets[ins.length], 1, n);
    const bytes = new Uint8Array(memory.buffer, offsets[ins.length], n * sizes[ins.length]);
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  };
}

/**
 * Bytes per element of a kernel's operands and output in memory (bool: 1).
 *
 * @param kernel The kernel.
 * @returns Bytes per element of each operand, then of the output.
 *
 * @example
 * ```ts
 * import { load } from "./expr.ts";
 * import { elementwiseKernel } from "./kernel.ts";
 * import { elementBytes } from "./render_wasm.ts";
 *
 * console.log(elementBytes(elementwiseKernel(load(0, "f32").lt(0)))); // [ 4, 1 ]
 * ```
 * @internal
 */
export function elementBytes(kernel: ElementwiseKernel): number[] {
  return [...kernel.inputs.map(sizeOf), sizeOf(kernel.output.type)];
}
