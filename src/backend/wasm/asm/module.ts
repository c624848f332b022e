/**
 * A WebAssembly module under assembly: it hands out functions (which are
 * their own call handles), imports one memory if asked, and builds the
 * binary with every index (functions, locals, block types) assigned then.
 * {@link WasmModule.compile} validates the result and turns a failure into
 * an {@link AsmError} naming the function; {@link WasmModule.toWat} prints
 * the text format.
 *
 * @module
 */

import {
  ByteWriter,
  type EncodedFunction,
  encodeModule,
  type MemoryImport,
  TypeTable,
} from "./binary.ts";
import { WasmFunction } from "./function.ts";
import type { ValType } from "./opcodes.ts";
import { AsmError, BlockType, type Instr, Local } from "./types.ts";
import { moduleWat } from "./wat.ts";

/** A function's declaration for {@link WasmModule.func}. */
export interface FuncSignature<P extends Record<string, ValType>> {
  /** Parameter names → types, in order (more may follow with `param()` until the first call). */
  readonly params?: P;
  /** Result types (default none). */
  readonly results?: readonly ValType[];
  /** Export under this name, or (`true`) under the function's name. Default: not exported. */
  readonly export?: string | boolean;
}

/** Options of {@link WasmModule}. */
export interface WasmModuleOptions {
  /** The memory the module imports; loads and stores need one. */
  readonly memoryImport?: MemoryImport;
}

/** Options of {@link WasmModule.build}. */
export interface BuildOptions {
  /** Also write a `name` section (function and local names, for stack traces). Default false. */
  readonly names?: boolean;
}

/**
 * A module under assembly.
 *
 * @example
 * ```ts
 * import { I32, WasmModule } from "./mod.ts";
 *
 * const mod = new WasmModule();
 * // Functions may call each other in any order: handles, not indices.
 * const sum = mod.func("sum_to", { params: { n: I32 }, results: [I32], export: true });
 * const step = mod.func("step", { params: { acc: I32, i: I32 }, results: [I32] });
 * step.get(step.args.acc).get(step.args.i).op("i32.add");
 * const { n } = sum.args;
 * const { i, acc } = sum.locals({ i: I32, acc: I32 });
 * sum.forLoop(i, { from: 1, to: n }, () => {
 *   sum.get(acc).get(i).call(step).set(acc);
 * });
 * sum.get(acc);
 * const ex = new WebAssembly.Instance(mod.compile()).exports as { sum_to(n: number): number };
 * if (ex.sum_to(5) !== 10) throw new Error("1 + 2 + 3 + 4");
 * ```
 */
export class WasmModule {
  /** The imported memory, if any. */
  readonly memoryImport: MemoryImport | undefined;
  readonly #funcs: WasmFunction[] = [];

  /**
   * An empty module.
   *
   * @param opts `memoryImport`: the memory to import (none by default).
   */
  constructor(opts: WasmModuleOptions = {}) {
    this.memoryImport = opts.memoryImport;
    if (this.memoryImport?.shared && this.memoryImport.maxPages === undefined) {
      throw new AsmError("asm: a shared memory import needs maxPages");
    }
  }

  /** Whether the module imports a memory. */
  get hasMemory(): boolean {
    return this.memoryImport !== undefined;
  }

  /** The functions, in index order (the order of declaration). */
  get functions(): readonly WasmFunction[] {
    return this.#funcs;
  }

  /**
   * Declares a function; its index is its place in declaration order. Emit
   * its body on the returned handle, now or later (other functions may
   * `call` it before its body exists).
   *
   * @param name A name unique in the module (letters, digits, `_`, `.`).
   * @param sig Params, results and export.
   * @param body If given, emits the body at once and ends the function.
   * @returns The function (its own call handle).
   */
  func<P extends Record<string, ValType> = Record<string, never>>(
    name: string,
    sig: FuncSignature<P> = {},
    body?: (f: WasmFunction<P>) => void,
  ): WasmFunction<P> {
    if (this.#funcs.some((f) => f.name === name)) {
      throw new AsmError(`asm: a function "${name}" exists already`);
    }
    const exportName = sig.export === true ? name : sig.export || undefined;
    if (exportName !== undefined && this.#funcs.some((f) => f.exportName === exportName)) {
      throw new AsmError(`asm: ${name}: the export name "${exportName}" is taken`);
    }
    const f = new WasmFunction<P>(
      name,
      sig.params ?? ({} as P),
      sig.results ?? [],
      exportName,
      this,
    );
    this.#funcs.push(f as unknown as WasmFunction);
    if (body !== undefined) {
      body(f);
      f.end();
    }
    return f;
  }

  /**
   * The binary module. Ends the functions not ended yet (which throws, naming
   * the function, where one does not leave exactly its results).
   *
   * @param opts `names`: also write the `name` section.
   * @returns The module's bytes.
   */
  build(opts: BuildOptions = {}): Uint8Array<ArrayBuffer> {
    for (const f of this.#funcs) f.end();
    const types = new TypeTable();
    const typeIndex = this.#funcs.map((f) => types.index(f.params, f.results));
    const funcs: EncodedFunction[] = this.#funcs.map((f, i) => {
      const { params, locals, body } = f.listing();
      return {
        typeIndex: typeIndex[i],
        locals: locals.map((l) => l.type),
        body: this.#encode(f, body, types),
        export: f.exportName,
        name: f.name,
        localNames: [...params, ...locals].map((l) => l.name),
      };
    });
    return encodeModule(funcs, types, { memory: this.memoryImport, names: opts.names });
  }

  /** A body's bytes, with local, function and block-type references resolved. */
  #encode(f: WasmFunction, body: readonly Instr[], types: TypeTable): ByteWriter {
    const out = new ByteWriter();
    for (const ins of body) {
      for (const c of ins.code) {
        if (typeof c === "number") out.byte(c);
        else if (c instanceof Local) out.uleb(f.indexOf(c));
        else if (c instanceof BlockType) out.sleb(types.index([], c.results));
        else {
          const i = this.#funcs.indexOf(c as WasmFunction);
          if (i < 0) throw new AsmError(`asm: ${f.name}: call $${c.name}: not in this module`);
          out.uleb(i);
        }
      }
    }
    return out;
  }

  /**
   * Builds and compiles the module. A module that does not validate is an
   * assembler bug, or a feature this runtime lacks (see `wasmFeatures`):
   * either way an {@link AsmError} naming the function, never a silent
   * `false`.
   *
   * @param opts As for {@link WasmModule.build}.
   * @returns The compiled module.
   */
  compile(opts: BuildOptions = {}): WebAssembly.Module {
    return compileChecked(this.build(opts), this.#funcs.map((f) => f.name));
  }

  /**
   * The module in the WebAssembly text format, with the declared names.
   *
   * @returns The text.
   */
  toWat(): string {
    return moduleWat(this.#funcs, this.memoryImport);
  }
}

/**
 * Compiles module bytes, turning a validation failure into an
 * {@link AsmError} that names the failing function (`names[i]` for
 * function index `i`, as the engine reports it).
 *
 * @example
 * ```ts
 * import { compileChecked, WasmModule } from "./mod.ts";
 *
 * const bytes = new WasmModule().build();
 * compileChecked(bytes, []); // an empty module compiles
 * ```
 *
 * @param bytes The module's binary.
 * @param names Function names by index.
 * @returns The compiled module.
 */
export function compileChecked(
  bytes: Uint8Array<ArrayBuffer>,
  names: readonly string[],
): WebAssembly.Module {
  if (WebAssembly.validate(bytes)) return new WebAssembly.Module(bytes);
  let message = "WebAssembly.validate returned false";
  try {
    new WebAssembly.Module(bytes);
  } catch (e) {
    message = e instanceof Error ? e.message : String(e);
  }
  const at = /function #(\d+)/.exec(message);
  const where = at === null ? "" : ` in function ${names[Number(at[1])] ?? "?"} (#${at[1]})`;
  throw new AsmError(
    `asm: the module does not validate${where}: ${message} (an assembler bug, or a feature this runtime lacks: check wasmFeatures())`,
  );
}
