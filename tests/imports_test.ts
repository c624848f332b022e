/**
 * The import graph of `src/`: no cycles (type-only and dynamic imports
 * count too, so layers only ever import downward), and every public entry
 * point loads the module that installs the `Tensor` methods.
 *
 * Imports are read from the source text: top-level `import … from "…"`,
 * `export … from "…"`, `import "…"` and `import("…")` with a relative
 * specifier (JSDoc examples are indented under ` * ` and never match).
 */

import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));

/** Every `.ts` file under `dir`, as paths relative to the repository root. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...sourceFiles(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out.sort();
}

const STATIC = /^(?:import|export)\b[^;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']/gm;
const BARE = /^import\s*["'](\.{1,2}\/[^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

/** The relative imports of one file's source text (specifiers as written). @internal */
export function importsOf(source: string): string[] {
  const specs: string[] = [];
  for (const re of [STATIC, BARE, DYNAMIC]) {
    for (const m of source.matchAll(re)) {
      // A dynamic import inside a JSDoc line is an example, not an import.
      const lineStart = source.lastIndexOf("\n", m.index) + 1;
      if (/^\s*\*/.test(source.slice(lineStart, m.index))) continue;
      specs.push(m[1]);
    }
  }
  return specs;
}

/** `file → files it imports`, all relative to the repository root. */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = Deno.readTextFileSync(join(ROOT, f));
    const deps = importsOf(text).map((s) => relative(ROOT, join(ROOT, dirname(f), s)));
    graph.set(f, [...new Set(deps)].sort());
  }
  return graph;
}

/** One cycle through each strongly connected component with more than one file (or a self-import). @internal */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's algorithm, iterative enough for the graph sizes here.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const comps: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) comps.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  // Print a concrete cycle per component: a shortest path back to its first file.
  return comps.map((comp) => {
    const inComp = new Set(comp);
    const start = comp[0];
    const prev = new Map<string, string>();
    const queue = [start];
    let end: string | null = null;
    while (queue.length > 0 && end === null) {
      const v = queue.shift()!;
      for (const w of graph.get(v) ?? []) {
        if (!inComp.has(w)) continue;
        if (w === start) {
          end = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = end!; v !== start; v = prev.get(v)!) path.splice(1, 0, v);
    return [...path, start];
  });
}

/** Every file reachable from `entry`. */
function closure(graph: ReadonlyMap<string, readonly string[]>, entry: string): Set<string> {
  const seen = new Set<string>([entry]);
  const todo = [entry];
  while (todo.length > 0) {
    for (const w of graph.get(todo.pop()!) ?? []) {
      if (!seen.has(w)) {
        seen.add(w);
        todo.push(w);
      }
    }
  }
  return seen;
}

const SRC = sourceFiles("src");
const GRAPH = importGraph(["mod.ts", ...SRC]);

Deno.test("src/ has no import cycles (type-only and dynamic imports included)", () => {
  const cycles = findCycles(GRAPH);
  assert.deepEqual(
    cycles.map((c) => c.join(" → ")),
    [],
    `import cycles in src/:\n${cycles.map((c) => "  " + c.join(" → ")).join("\n")}`,
  );
});

Deno.test("the import reader sees every form of import and skips JSDoc examples", () => {
  const text = [
    `import { a } from "./a.ts";`,
    `import type {`,
    `  B,`,
    `} from "../b.ts";`,
    `export * from "./c.ts";`,
    `import "./d.ts";`,
    `const e = await import("./e.ts");`,
    `/**`,
    ` * import { f } from "./f.ts";`,
    ` * const g = await import("./g.ts");`,
    ` */`,
    `import { h } from "node:path";`,
  ].join("\n");
  assert.deepEqual(importsOf(text), ["./a.ts", "../b.ts", "./c.ts", "./d.ts", "./e.ts"]);
});

Deno.test("the cycle finder reports a cycle as a closed path and passes a DAG", () => {
  const g = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts"]],
    ["c.ts", ["a.ts", "d.ts"]],
    ["d.ts", []],
    ["e.ts", ["e.ts"]],
  ]);
  assert.deepEqual(findCycles(g), [["a.ts", "b.ts", "c.ts", "a.ts"], ["e.ts", "e.ts"]]);
  assert.deepEqual(findCycles(new Map([["a.ts", ["b.ts"]], ["b.ts", []]])), []);
});

Deno.test("core/ imports nothing above it (no ops, autodiff, nn …)", () => {
  const upward = SRC.filter((f) => f.startsWith("src/core/")).flatMap((f) =>
    GRAPH.get(f)!.filter((d) => !d.startsWith("src/core/") && d !== "src/backend/backend.ts")
      .map((d) => `${f} → ${d}`)
  );
  assert.deepEqual(upward, []);
});

Deno.test("every entry point that reaches the ops also loads the module installing its methods", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const entries = Object.values(config.exports as Record<string, string>).map((p) =>
    normalize(p).replace(/^\.\//, "")
  );
  const missing = entries.filter((e) => {
    const reach = closure(GRAPH, e);
    return [...reach].some((f) => f.startsWith("src/ops/")) &&
      !reach.has("src/ops/tensor_methods.ts");
  });
  assert.deepEqual(missing, [], "import src/ops/tensor_methods.ts from these entry points");
});
