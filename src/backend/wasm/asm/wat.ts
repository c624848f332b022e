/**
 * The WebAssembly text format (WAT) of an assembled module, for reading and
 * debugging: function, parameter, local and label names as declared, one
 * instruction per line, indented by block.
 *
 * @module
 */

import type { MemoryImport } from "./binary.ts";
import type { WasmFunction } from "./function.ts";
import { valTypeName } from "./opcodes.ts";

/**
 * The text format of a module's memory import and functions.
 *
 * @example
 * ```ts
 * import { I32, WasmModule } from "./mod.ts";
 *
 * const mod = new WasmModule();
 * const f = mod.func("twice", { params: { x: I32 }, results: [I32], export: true });
 * f.get(f.args.x).get(f.args.x).op("i32.add");
 * if (!mod.toWat().includes("(func $twice (export \"twice\") (param $x i32) (result i32)")) {
 *   throw new Error(mod.toWat());
 * }
 * ```
 *
 * @param funcs The functions, in index order.
 * @param memory The imported memory, if any.
 * @returns The module as text.
 */
export function moduleWat(funcs: readonly WasmFunction[], memory?: MemoryImport): string {
  const lines = ["(module"];
  if (memory !== undefined) {
    const max = memory.maxPages === undefined ? "" : ` ${memory.maxPages}`;
    const shared = memory.shared ? " shared" : "";
    lines.push(
      `  (import "${memory.module}" "${memory.field}" (memory ${memory.minPages}${max}${shared}))`,
    );
  }
  for (const f of funcs) lines.push(...functionWat(f).map((l) => `  ${l}`));
  lines.push(")");
  return lines.join("\n");
}

/** One function: its header, locals, and instructions indented by block. */
function functionWat(f: WasmFunction): string[] {
  const { params, locals, body } = f.listing();
  const head = [`(func $${f.name}`];
  if (f.exportName !== undefined) head.push(`(export "${f.exportName}")`);
  for (const p of params) head.push(`(param $${p.name} ${valTypeName(p.type)})`);
  if (f.results.length > 0) head.push(`(result ${f.results.map(valTypeName).join(" ")})`);
  const out = [head.join(" ")];
  for (const l of locals) out.push(`  (local $${l.name} ${valTypeName(l.type)})`);
  let depth = 1;
  for (const ins of body) {
    if (ins.op === "end" || ins.op === "else") depth--;
    out.push(`${"  ".repeat(depth)}${ins.op}${ins.text === "" ? "" : ` ${ins.text}`}`);
    if (ins.op === "block" || ins.op === "loop" || ins.op === "if" || ins.op === "else") depth++;
  }
  out.push(")");
  return out;
}
