/**
 * The published API, as `deno doc` (and so JSR) sees it: every area has its
 * own entry point in deno.json; every entry point has a module doc with an
 * example; every exported symbol, namespace members included
 * (`nn.softmaxCrossEntropy`, `nn.init.he`), has JSDoc with an `@example`;
 * the namespaces of mod.ts (`nn`, `optim`, …) list the same members as the
 * area entry points; `deno doc --filter nn.softmaxCrossEntropy mod.ts` finds
 * the function; `deno doc --lint` is clean.
 *
 * Runs `deno doc` as a subprocess: needs `--allow-run` (`deno task test`
 * grants it).
 *
 * @module
 */

import assert from "node:assert/strict";
import * as root from "../mod.ts";

const ROOT = new URL("../", import.meta.url);

/** The areas that mod.ts exports as namespaces, by entry point. */
const NAMESPACES: Record<string, string> = {
  "./nn": "nn",
  "./optim": "optim",
  "./data": "data",
  "./metrics": "metrics",
  "./plot": "plot",
  "./random": "random",
  "./tree": "tree",
  "./lax": "lax",
};
/** The areas whose members mod.ts exports at its top level. */
const FLAT = ["./train", "./checkpoint"];

/** Members that users looked for and `deno doc --filter … mod.ts` did not find. */
const REPORTED = [
  "nn.softmaxCrossEntropy",
  "nn.getInitializer",
  "nn.init.he",
  "nn.layers.dense",
  "optim.adam",
  "data.mnist",
  "plot.lineChart",
  "metrics.accuracy",
  "random.normal",
  "tree.map",
];

// ---------------------------------------------------------------- deno doc JSON

interface JsDoc {
  doc?: string;
  tags?: { kind: string }[];
}
interface Declaration {
  kind: string;
  location: { filename: string; line: number };
  jsDoc?: JsDoc;
  // deno-lint-ignore no-explicit-any
  def?: any;
}
interface DocSymbol {
  name: string;
  declarations: Declaration[];
}
interface DocModule {
  module_doc?: JsDoc;
  symbols: DocSymbol[];
}

function denoJson(): { exports: Record<string, string>; tasks: Record<string, string> } {
  return JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
}

async function deno(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  if (Deno.permissions.querySync({ name: "run", command: Deno.execPath() }).state !== "granted") {
    throw new Error(
      "tests/docs_test.ts runs `deno doc`: run it with --allow-run (`deno task test` does)",
    );
  }
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, out: text.decode(stdout) + text.decode(stderr) };
}

/** The entry points' files, as given in deno.json (`"./nn": "./src/nn/mod.ts"`). */
function entryFiles(): Map<string, string> {
  return new Map(Object.entries(denoJson().exports));
}

let docCache: Promise<Record<string, DocModule>> | undefined;
/** `deno doc --json` of every entry point, keyed by entry point name. */
function docs(): Promise<Record<string, DocModule>> {
  docCache ??= (async () => {
    const entries = entryFiles();
    const { code, out } = await deno(["doc", "--json", ...entries.values()]);
    assert.equal(code, 0, out);
    const nodes = (JSON.parse(out) as { nodes: Record<string, DocModule> }).nodes;
    const byEntry: Record<string, DocModule> = {};
    for (const [name, file] of entries) {
      const url = new URL(file, ROOT).href;
      assert.ok(nodes[url], `deno doc printed nothing for ${name} (${file})`);
      byEntry[name] = nodes[url];
    }
    return byEntry;
  })();
  return docCache;
}

let modCache: Promise<DocModule> | undefined;
/**
 * `deno doc --json mod.ts` alone: what `deno doc mod.ts` shows. (Given the
 * area entry points as well, deno doc also fills mod.ts's namespaces from
 * them, which would hide a namespace that mod.ts alone leaves empty.)
 */
function modDoc(): Promise<DocModule> {
  modCache ??= (async () => {
    const { code, out } = await deno(["doc", "--json", "mod.ts"]);
    assert.equal(code, 0, out);
    return (JSON.parse(out) as { nodes: Record<string, DocModule> }).nodes[
      new URL("mod.ts", ROOT).href
    ];
  })();
  return modCache;
}

/** A symbol's own declarations: no overload implementation signatures, no references. */
function ownDeclarations(sym: DocSymbol): Declaration[] {
  const fns = sym.declarations.filter((d) => d.kind === "function");
  return sym.declarations.filter((d) =>
    d.kind !== "reference" && !(fns.length > 1 && d.kind === "function" && d.def?.hasBody)
  );
}

/** Every symbol, namespace members included, with its dotted path. */
function* walk(symbols: DocSymbol[], prefix = ""): Generator<[string, DocSymbol]> {
  for (const sym of symbols) {
    yield [prefix + sym.name, sym];
    for (const d of sym.declarations) {
      if (d.kind === "namespace") yield* walk(d.def.elements, `${prefix}${sym.name}.`);
    }
  }
}

function namespaceMembers(mod: DocModule, name: string): DocSymbol[] {
  const sym = mod.symbols.find((s) => s.name === name);
  assert.ok(sym, `mod.ts has no symbol ${name}`);
  const ns = sym.declarations.find((d) => d.kind === "namespace");
  assert.ok(ns, `mod.ts: ${name} is not a namespace`);
  return ns.def.elements;
}

const where = (d: Declaration): string =>
  `${d.location.filename.replace(ROOT.href, "")}:${d.location.line}`;

// ---------------------------------------------------------------- tests

Deno.test("deno.json: one entry point per area, each a file in the published set", () => {
  const entries = entryFiles();
  for (const name of [".", ...Object.keys(NAMESPACES), ...FLAT]) {
    const file = entries.get(name);
    assert.ok(file, `deno.json "exports" has no ${JSON.stringify(name)}`);
    assert.ok(Deno.statSync(new URL(file, ROOT)).isFile, `${name}: ${file} is not a file`);
    assert.ok(file.startsWith("./src/") || file === "./mod.ts", `${name}: ${file}`);
  }
});

Deno.test("every entry point has a module doc with an example", async () => {
  const missing = Object.entries(await docs()).filter(([, mod]) =>
    !mod.module_doc?.doc?.trim() || !mod.module_doc.tags?.some((t) => t.kind === "example")
  ).map(([name]) => name);
  assert.deepEqual(missing, [], "entry points without a @module doc that has an @example");
});

Deno.test("every exported symbol, namespace members included, has JSDoc with an @example", async () => {
  const all = await docs();
  const seen = new Set<string>();
  const references: [string, Declaration][] = [];
  const problems: string[] = [];
  for (const [entry, mod] of Object.entries(all)) {
    for (const [path, sym] of walk(mod.symbols)) {
      for (const d of sym.declarations) {
        if (d.kind === "reference") references.push([`${entry} ${path}`, d]);
      }
      for (const d of ownDeclarations(sym)) {
        seen.add(where(d));
        const tags = d.jsDoc?.tags?.map((t) => t.kind) ?? [];
        if (!d.jsDoc?.doc?.trim()) problems.push(`${path} (${where(d)}): no JSDoc summary`);
        else if (!tags.includes("example")) problems.push(`${path} (${where(d)}): no @example`);
      }
    }
  }
  // A reference (a name re-exported next to its namespace) is checked where it points.
  for (const [name, d] of references) {
    const target = d.def.target as { filename: string; line: number };
    const at = `${target.filename.replace(ROOT.href, "")}:${target.line}`;
    if (!seen.has(at)) problems.push(`${name} refers to ${at}, which no entry point documents`);
  }
  assert.ok(seen.size > 300, `only ${seen.size} declarations seen`);
  assert.deepEqual([...new Set(problems)].sort(), []);
});

Deno.test("mod.ts's namespaces list every member of their entry points", async () => {
  const all = await docs();
  const mod = await modDoc();
  const names = (symbols: DocSymbol[]) => symbols.map((s) => s.name).sort();
  for (const [entry, ns] of Object.entries(NAMESPACES)) {
    assert.deepEqual(
      names(namespaceMembers(mod, ns)),
      names(all[entry].symbols),
      `deno doc's ${ns} namespace in mod.ts vs the ${entry} entry point`,
    );
  }
  const top = new Set(names(mod.symbols));
  for (const entry of FLAT) {
    const missing = names(all[entry].symbols).filter((n) => !top.has(n));
    assert.deepEqual(missing, [], `${entry} members missing from mod.ts's top level`);
  }
});

Deno.test("every value an entry point exports at run time is in its docs", async () => {
  const all = await docs();
  const documented = (symbols: DocSymbol[]) => new Set(symbols.map((s) => s.name));
  for (const [entry, file] of entryFiles()) {
    const mod = await import(new URL(file, ROOT).href);
    const names = documented(all[entry].symbols);
    const hidden = Object.keys(mod).filter((k) => !names.has(k));
    assert.deepEqual(hidden, [], `${entry}: exported but not in deno doc`);
  }
  const mod = await modDoc();
  for (const ns of Object.values(NAMESPACES)) {
    const names = documented(namespaceMembers(mod, ns));
    const value = (root as unknown as Record<string, Record<string, unknown>>)[ns];
    const hidden = Object.keys(value).filter((k) => !names.has(k));
    assert.deepEqual(hidden, [], `mod.ts ${ns}: exported but not in deno doc`);
  }
});

Deno.test("deno doc --filter finds namespace members through mod.ts", async () => {
  const results = await Promise.all(
    REPORTED.map((name) => deno(["doc", "--filter", name, "mod.ts"])),
  );
  REPORTED.forEach((name, i) => {
    const { code, out } = results[i];
    assert.equal(code, 0, `deno doc --filter ${name} mod.ts:\n${out}`);
    // Found: "Defined in file:///…/src/nn/losses.ts:219:1", then the declaration.
    const last = name.split(".").at(-1)!;
    const found = new RegExp(
      String.raw`Defined in file:///\S+/src/\S+\n\n[a-z ]*\b${last}\b`,
    );
    assert.match(out, found, `deno doc --filter ${name} mod.ts did not print ${name}`);
  });
});

Deno.test("deno doc --lint is clean on all entry points", async () => {
  const { code, out } = await deno(["doc", "--lint", ...entryFiles().values()]);
  assert.equal(code, 0, out);
});

Deno.test("deno task test grants what this file needs", () => {
  const { tasks } = denoJson();
  for (const task of ["test", "test:cpu"]) {
    assert.match(tasks[task], /deno test [^&]*--allow-run/, `task ${task}: ${tasks[task]}`);
  }
});
