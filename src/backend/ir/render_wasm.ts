/**
 * The WebAssembly SIMD renderer of the kernel IR: an elementwise kernel
 * becomes one function of a module built with the typed assembler
 * (`../wasm/asm/`), `name(p₀, …, pₖ₋₁, out, n)`, which runs the whole graph
 * — however many ops — in one loop over `n` elements, four lanes
 * (`f32x4`/`i32x4`) per step; the last `n mod 4` elements go through the
 * same code one at a time in lane 0 (the other lanes compute on zeros and
 * are dropped: SIMD arithmetic never traps). Pointers are byte addresses in
 * the imported memory; operand `k` is either contiguous or a scalar
 * broadcast to every element (read once, before the loop).
 *
 * Types: `f32`, `i32`, `u32` are 4-byte elements; `bool` is one byte per
 * element in memory (0 or 1) and a lane mask (all ones or zero) inside.
 * `f64` has no SIMD form here (the IR's math is float32).
 *
 * The IR's semantics map onto single instructions almost everywhere:
 * `f32x4.min`/`max` propagate NaN and order `−0 < +0`, `f32x4.nearest`
 * rounds half to even, `i32x4.trunc_sat_f32x4_s` is XLA's saturating
 * float → int32 conversion (NaN → 0), `f32x4.convert_i32x4_s` rounds to
 * nearest. Shifts by a constant are one instruction; shifts by a per-element
 * amount go lane by lane. `fma` is `f32x4.relaxed_madd` with `contractFma`
 * (which needs relaxed SIMD), else a multiply and an add — so without it the
 * results are bit-identical to the JS renderer's.
 *
 * @module
 */

import { type Expr, type ScalarType, topoOrder } from "./expr.ts";
import type { TypedArray } from "../../core/dtype.ts";
import type { ElementwiseKernel } from "./kernel.ts";
import {
  I32,
  type Local,
  type PlainOp,
  V128,
  type WasmFunction,
  WasmModule,
} from "../wasm/asm/mod.ts";

/** Options of the WASM renderer. @internal */
export interface WasmRenderOptions {
  /** Multiply-adds with `f32x4.relaxed_madd` (needs relaxed SIMD; default false). */
  readonly contractFma?: boolean;
}

/** How an operand is read: element by element, or one value for every element. @internal */
export type WasmLayout = "contiguous" | "scalar";

/** Bytes per element in memory. */
const sizeOf = (t: ScalarType): number => (t === "bool" ? 1 : 4);

/** The instruction prefix of a type's lanes. */
const lanes = (t: ScalarType): "f32x4" | "i32x4" => (t === "f32" ? "f32x4" : "i32x4");

/** Plain SIMD instructions of the binary nodes, by operand type. */
function binaryOp(op: string, t: ScalarType): PlainOp | null {
  const f = t === "f32", u = t === "u32", b = t === "bool";
  switch (op) {
    case "add":
    case "sub":
    case "mul":
      return `${lanes(t)}.${op}` as PlainOp;
    case "div":
      return f ? "f32x4.div" : null;
    case "min":
    case "max":
      return (f ? `f32x4.${op}` : `i32x4.${op}_${u ? "u" : "s"}`) as PlainOp;
    case "eq":
    case "ne":
      return `${lanes(t)}.${op}` as PlainOp;
    case "lt":
    case "le":
    case "gt":
    case "ge":
      // bool masks: false = 0 < true = all ones, unsigned
      return (f ? `f32x4.${op}` : `i32x4.${op}_${u || b ? "u" : "s"}`) as PlainOp;
    case "and":
    case "bitAnd":
      return "v128.and";
    case "or":
    case "bitOr":
      return "v128.or";
    case "bitXor":
      return "v128.xor";
  }
  return null;
}

/** Emits the nodes of a graph on a function, each into a v128 local. */
class Emitter {
  readonly #fn: WasmFunction;
  readonly #opts: WasmRenderOptions;
  readonly #values = new Map<Expr, Local>();
  #count = 0;

  constructor(fn: WasmFunction, opts: WasmRenderOptions) {
    this.#fn = fn;
    this.#opts = opts;
  }

  /** Binds a load's operand to a local holding its vector. */
  bind(n: Expr, v: Local): void {
    this.#values.set(n, v);
  }

  /** Pushes the value of an evaluated node. */
  get(n: Expr): void {
    this.#fn.get(this.#values.get(n)!);
  }

  /** A vector constant (hoisted: set once before the loop). */
  #constant(value: number, t: ScalarType): Local {
    if (t === "f32") return this.#fn.hoistF32x4(value);
    if (t === "bool") return this.#fn.hoistI32x4(value ? -1 : 0);
    return this.#fn.hoistI32x4(value | 0);
  }

  /** Emits every node of `root` not yet evaluated; returns the local of its value. */
  emit(root: Expr): Local {
    for (const n of topoOrder([root])) {
      if (this.#values.has(n)) continue;
      if (n.op === "const") {
        this.#values.set(n, this.#constant(n.value, n.type));
        continue;
      }
      if (n.op === "load") throw new Error(`render_wasm: operand ${n.value} is not bound`);
      this.#node(n);
      const v = this.#fn.local(`v${this.#count++}`, V128);
      this.#fn.set(v);
      this.#values.set(n, v);
    }
    return this.#values.get(root)!;
  }

  /** Pushes one node's value (its arguments are evaluated). */
  #node(n: Expr): void {
    const fn = this.#fn;
    const [a, b, c] = n.args;
    const t = a.type;
    const unsupported = () => new TypeError(`render_wasm: ${n.op} on ${t} has no SIMD form here`);
    if (n.type === "f64" || t === "f64") throw unsupported();
    switch (n.op) {
      case "fma":
        this.get(a);
        this.get(b);
        if (this.#opts.contractFma) {
          this.get(c);
          fn.op("f32x4.relaxed_madd");
        } else {
          fn.op("f32x4.mul");
          this.get(c);
          fn.op("f32x4.add");
        }
        return;
      case "neg":
      case "abs":
        this.get(a);
        fn.op(`${lanes(t)}.${n.op}` as PlainOp);
        return;
      case "sqrt":
      case "floor":
      case "ceil":
      case "trunc":
        this.get(a);
        fn.op(`f32x4.${n.op}` as PlainOp);
        return;
      case "roundEven":
        this.get(a);
        fn.op("f32x4.nearest");
        return;
      case "not":
      case "bitNot":
        this.get(a);
        fn.op("v128.not");
        return;
      case "select":
        this.get(b);
        this.get(c);
        this.get(a);
        fn.op("v128.bitselect");
        return;
      case "shl":
      case "shr":
        return this.#shift(n);
      case "bitcast":
        this.get(a);
        return;
      case "convert":
        return this.#convert(a, n.type);
    }
    const op = binaryOp(n.op, t);
    if (op === null) throw unsupported();
    this.get(a);
    this.get(b);
    fn.op(op);
  }

  /** A shift: one instruction for a constant amount, lane by lane otherwise. */
  #shift(n: Expr): void {
    const fn = this.#fn;
    const [x, k] = n.args;
    const vector = n.op === "shl" ? "i32x4.shl" : n.type === "u32" ? "i32x4.shr_u" : "i32x4.shr_s";
    if (k.op === "const") {
      this.get(x);
      fn.i32(k.value & 31).op(vector);
      return;
    }
    const scalar = n.op === "shl" ? "i32.shl" : n.type === "u32" ? "i32.shr_u" : "i32.shr_s";
    this.get(x);
    for (let lane = 0; lane < 4; lane++) {
      this.get(x);
      fn.lane("i32x4.extract_lane", lane);
      this.get(k);
      fn.lane("i32x4.extract_lane", lane).op(scalar).lane("i32x4.replace_lane", lane);
    }
  }

  /** A conversion (the rules of expr.ts). */
  #convert(a: Expr, to: ScalarType): void {
    const fn = this.#fn;
    const from = a.type;
    this.get(a);
    if (to === "bool") {
      if (from === "bool") return;
      fn.get(this.#constant(0, from)).op(from === "f32" ? "f32x4.ne" : "i32x4.ne");
      return;
    }
    if (from === "bool") {
      fn.get(this.#constant(1, to)).op("v128.and");
      return;
    }
    if (from === "f32" && to !== "f32") {
      fn.op(to === "i32" ? "i32x4.trunc_sat_f32x4_s" : "i32x4.trunc_sat_f32x4_u");
    } else if (to === "f32" && from !== "f32") {
      fn.op(from === "i32" ? "f32x4.convert_i32x4_s" : "f32x4.convert_i32x4_u");
    } // i32 ↔ u32: the same bits
  }
}

/**
 * Adds to `mod` the function `name(p₀, …, pₖ₋₁, out, n)` computing
 * `kernel` over `n` elements (see the module doc): operand `k` at byte
 * address `pₖ`, contiguous or a broadcast scalar per `layouts[k]`; the
 * result written contiguously at `out`.
 *
 * @param mod The module (it must import a memory).
 * @param name The function's (exported) name.
 * @param kernel The elementwise kernel.
 * @param layouts Per operand, how it is read (default: all contiguous).
 * @param opts Renderer options.
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
 * renderWasm(mod, "axpb", elementwiseKernel(a.mul(2).add(b)), ["contiguous", "scalar"]);
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const { axpb } = new WebAssembly.Instance(mod.compile(), { env: { memory } }).exports as {
 *   axpb(a: number, b: number, out: number, n: number): void;
 * };
 * const f = new Float32Array(memory.buffer);
 * f.set([1, 2, 3, 4, 5], 0);
 * f[8] = 10;
 * axpb(0, 32, 64, 5);
 * console.log(f.slice(16, 21)); // Float32Array(5) [ 12, 14, 16, 18, 20 ]
 * ```
 * @internal
 */
export function renderWasm(
  mod: WasmModule,
  name: string,
  kernel: ElementwiseKernel,
  layouts: readonly WasmLayout[] = kernel.inputs.map(() => "contiguous"),
  opts: WasmRenderOptions = {},
): WasmFunction {
  const types = kernel.inputs;
  const params: Record<string, typeof I32> = {};
  types.forEach((_, k) => (params[`p${k}`] = I32));
  params.out = I32;
  params.n = I32;
  const outType = kernel.output.type;
  return mod.func(name, { params, export: true }, (fn) => {
    const args = fn.args as Record<string, Local>;
    const { i, full, at, bytes } = fn.locals({ i: I32, full: I32, at: I32, bytes: V128 });
    const e = new Emitter(fn, opts);
    const loads = new Map<number, Expr>();
    for (const n of topoOrder([kernel.output])) if (n.op === "load") loads.set(n.value, n);
    const vecs = types.map((_, k) => fn.local(`x${k}`, V128));
    const zero = fn.hoistI32x4(0);
    // scalars: read once
    types.forEach((t, k) => {
      if (layouts[k] !== "scalar") return;
      fn.get(args[`p${k}`]);
      if (t === "bool") fn.mem("i32.load8_u").op("i32x4.splat").get(zero).op("i32x4.ne");
      else fn.mem("v128.load32_splat");
      fn.set(vecs[k]);
    });
    const addr = (p: Local, size: number) => {
      fn.get(p).get(i);
      if (size > 1) fn.i32(size).op("i32.mul");
      fn.op("i32.add").set(at);
    };
    fn.block((exit) => {
      fn.loop((top) => {
        fn.get(i).get(args.n).op("i32.ge_u").brIf(exit);
        fn.get(args.n).get(i).op("i32.sub").i32(4).op("i32.ge_u").set(full);
        types.forEach((t, k) => {
          if (layouts[k] === "scalar") return;
          addr(args[`p${k}`], sizeOf(t));
          fn.get(full).if([V128], () => {
            fn.get(at);
            if (t === "bool") {
              fn.mem("v128.load32_zero").op("i16x8.extend_low_i8x16_u").op(
                "i32x4.extend_low_i16x8_u",
              );
            } else fn.mem("v128.load");
          }, () => {
            fn.get(at);
            if (t === "bool") fn.mem("i32.load8_u").op("i32x4.splat");
            else fn.mem("v128.load32_zero");
          });
          if (t === "bool") fn.get(zero).op("i32x4.ne");
          fn.set(vecs[k]);
        });
        types.forEach((_, k) => {
          const n = loads.get(k);
          if (n !== undefined) e.bind(n, vecs[k]);
        });
        const r = e.emit(kernel.output);
        addr(args.out, sizeOf(outType));
        if (outType === "bool") {
          // masks → 0/1 → bytes in lanes 0…3 (narrowed twice, saturating 0/1 unchanged)
          fn.get(r).get(fn.hoistI32x4(1)).op("v128.and").tee(bytes).get(bytes);
          fn.op("i16x8.narrow_i32x4_u").tee(bytes).get(bytes).op("i8x16.narrow_i16x8_u");
        } else fn.get(r);
        fn.set(bytes);
        fn.get(full).if(() => {
          fn.get(at).get(bytes);
          if (outType === "bool") fn.v128StoreLane(32, 0, 0);
          else fn.v128Store();
        }, () => {
          fn.get(at).get(bytes).v128StoreLane(outType === "bool" ? 8 : 32, 0, 0);
        });
        fn.i32(4).i32(1).get(full).select().get(i).op("i32.add").set(i);
        fn.br(top);
      });
    });
  });
}

/**
 * A host-side evaluator of a kernel through the WASM renderer, for tests
 * and measurements: copies the operands into a private memory, runs the
 * rendered function, copies the result out. An operand of one element is
 * read as a broadcast scalar; the others must have `out.length` elements.
 * Bool arrays hold 0/1 bytes.
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
  const compiled = new Map<string, (...args: number[]) => void>();
  const memory = new WebAssembly.Memory({ initial: 1 });
  return (ins, out) => {
    const n = out.length;
    const layouts: WasmLayout[] = ins.map((
      x,
    ) => (x.length === 1 && n !== 1 ? "scalar" : "contiguous"));
    const key = layouts.join(",");
    let run = compiled.get(key);
    if (run === undefined) {
      const mod = new WasmModule({ memoryImport: { module: "env", field: "memory", minPages: 1 } });
      renderWasm(mod, "kernel", kernel, layouts, opts);
      const inst = new WebAssembly.Instance(mod.compile(), { env: { memory } });
      run = inst.exports.kernel as (...args: number[]) => void;
      compiled.set(key, run);
    }
    const sizes = elementBytes(kernel);
    const offsets: number[] = [];
    let end = 0;
    for (const [k, x] of [...ins, out].entries()) {
      offsets.push(end);
      end += Math.ceil((x.length * sizes[k] + 16) / 16) * 16; // room for a full last vector
    }
    const pages = Math.ceil(end / 65536) - memory.buffer.byteLength / 65536;
    if (pages > 0) memory.grow(pages);
    ins.forEach((x, k) => {
      const view = sizes[k] === 1
        ? new Uint8Array(memory.buffer, offsets[k], x.length)
        : kernel.inputs[k] === "f32"
        ? new Float32Array(memory.buffer, offsets[k], x.length)
        : new Int32Array(memory.buffer, offsets[k], x.length);
      view.set(x);
    });
    run(...offsets, n);
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
