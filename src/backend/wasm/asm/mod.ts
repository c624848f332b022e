/**
 * A typed WebAssembly assembler: build modules in TypeScript at run time,
 * with function handles instead of indices, named locals, and a type stack
 * that throws at the emitting line.
 *
 * ```ts
 * import { F32, I32, WasmModule } from "./mod.ts";
 *
 * const mod = new WasmModule({ memoryImport: { module: "env", field: "memory", minPages: 1 } });
 * const sum = mod.func("sum", { params: { p: I32, n: I32 }, results: [F32], export: true });
 * const { p, n } = sum.args;
 * const { i, acc } = sum.locals({ i: I32, acc: F32 });
 * sum.forLoop(i, { from: 0, to: n }, () => {
 *   sum.get(acc).get(p).get(i).i32(4).op("i32.mul").op("i32.add").f32Load().op("f32.add").set(acc);
 * });
 * sum.get(acc);
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * new Float32Array(memory.buffer).set([1, 2, 3.5]);
 * const ex = new WebAssembly.Instance(mod.compile(), { env: { memory } }).exports as {
 *   sum(p: number, n: number): number;
 * };
 * if (ex.sum(0, 3) !== 6.5) throw new Error("sum");
 * ```
 *
 * The API:
 * - {@link WasmModule}: `new WasmModule({ memoryImport })` (shared or not,
 *   min/max pages); `mod.func(name, { params: { k: I32 }, results, export }, body?)`
 *   returns a {@link WasmFunction}, which is also the handle `call` takes
 *   (indices are assigned by `build()`, so functions call each other in any
 *   order); `build({ names })` → bytes; `compile()` → a
 *   `WebAssembly.Module`, or an {@link AsmError} naming the function that
 *   failed to validate; `toWat()` → the text format with every name.
 * - {@link WasmFunction}: `args` (the params by name), `param(name, t)`,
 *   `local(name, t)`, `locals({ … })`; `get`/`set`/`tee` take handles;
 *   constants `i32`, `i64`, `f32`, `f64`, `v128Const`, `v128ConstF32`/`I32`/`F64`;
 *   hoisted `v128` constants `hoist(bytes)`, `hoistF32x4(v)`, `hoistI32x4`,
 *   `hoistF64x2`, `hoistI64x2` (a local set once in a prologue, shared by
 *   equal constants); `op(name)` for every instruction without immediates
 *   (scalar, SIMD, relaxed SIMD); `mem(op, offset)` and its shortcuts
 *   (`f32Load`, `v128Load`, …), `v128LoadLane`/`v128StoreLane`, `lane(op, i)`,
 *   `shuffle`, `splatLane32`; `call(f)`, `drop`, `select`, `unreachable`,
 *   `return`, `memorySize`, `memoryGrow`.
 * - Control flow with callbacks and typed results: `block([F32]?, (exit) => …)`,
 *   `loop(…)`, `if([F32]?, then, else?)`; `br(label)`, `brIf`, `brTable`
 *   take the {@link Label} handed to the callback; `loopUntil(exit, body)`
 *   and `forLoop(i, { from, to, step }, body)` for counted loops.
 * - Every instruction checks its operand types (derived from its name:
 *   `f32x4.add: [v128 v128] → [v128]`) and throws
 *   `asm: pack_a: f32x4.add needs [v128, v128], stack has [… i32, v128]`;
 *   a block or function that does not end with its results throws too.
 * - {@link wasmFeatures}: SIMD, relaxed SIMD and shared memory, probed once
 *   with tiny modules: the only thing that selects a module variant.
 * - {@link uleb}, {@link sleb}, {@link sleb64}: LEB128.
 *
 * @module
 */

export { type MemoryImport, sleb, sleb64, uleb } from "./binary.ts";
export { type WasmFeatures, wasmFeatures } from "./features.ts";
export { WasmFunction } from "./function.ts";
export {
  type BuildOptions,
  compileChecked,
  type FuncSignature,
  WasmModule,
  type WasmModuleOptions,
} from "./module.ts";
export {
  F32,
  F64,
  I32,
  I64,
  type LaneOp,
  type MemOp,
  type PlainOp,
  V128,
  type ValType,
  valTypeName,
} from "./opcodes.ts";
export { AsmError, Label, Local } from "./types.ts";
