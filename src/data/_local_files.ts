/**
 * Finding a dataset's files on disk: the search through a directory's
 * subfolders for the files (under any of their names) or an archive, and
 * messages for file-system calls Deno or the operating system refused.
 *
 * @module
 */

import { errorMessage, joinPath } from "./_util.ts";
import type { ArchiveSpec, DataSetSpec } from "./source_specs.ts";

/** Whether Deno refused a call for lack of a permission flag. */
export function isPermissionError(e: unknown): boolean {
  return e instanceof Deno.errors.NotCapable;
}

/** A message for a failed file-system call: names the flag when Deno refused. */
export function fsReason(e: unknown, flag: string, path: string): string {
  if (isPermissionError(e)) {
    // Deno's rename (the atomic write into the cache) needs read access as well as write access.
    const needed = /requires read access/i.test(errorMessage(e)) ? "--allow-read" : flag;
    return `no permission (run with ${needed}=${path} or ${needed})`;
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return `the operating system refused access (${errorMessage(e)})`;
  }
  return errorMessage(e);
}

/** Deno refused an operation; the message names the flag. */
export class NeedsPermission extends Error {}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return false;
    if (isPermissionError(e)) throw new NeedsPermission(fsReason(e, "--allow-read", path));
    throw e;
  }
}

export function unique(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}

export interface PartialFind {
  readonly dir: string;
  readonly found: ReadonlyMap<string, string>;
}

export type Search =
  | { readonly kind: "files"; readonly dir: string; readonly paths: ReadonlyMap<string, string> }
  | { readonly kind: "archive"; readonly archive: ArchiveSpec; readonly path: string }
  | {
    readonly kind: "miss";
    readonly why: string;
    readonly partial?: PartialFind;
    /** `base` itself does not exist or is not a directory. */
    readonly absent?: boolean;
  };

/** Looks for the files (or an archive) in `base`/`sub`/`folder` for each sub and folder. */
export async function search(
  spec: DataSetSpec,
  base: string,
  subdirs: readonly string[],
): Promise<Search> {
  try {
    const st = await Deno.stat(base);
    if (!st.isDirectory) return { kind: "miss", why: "is not a directory", absent: true };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { kind: "miss", why: "does not exist", absent: true };
    }
    return { kind: "miss", why: fsReason(e, "--allow-read", base) };
  }
  const dirs = unique(
    subdirs.flatMap((s) => ["", ...(spec.folders ?? [])].map((f) => joinPath(base, s, f))),
  );
  let best: PartialFind | undefined;
  try {
    for (const dir of dirs) {
      const found = new Map<string, string>();
      for (const f of spec.files) {
        for (const n of [f.name, ...(f.aliases ?? [])]) {
          const p = joinPath(dir, n);
          if (await isFile(p)) {
            found.set(f.name, p);
            break;
          }
        }
      }
      if (found.size === spec.files.length) return { kind: "files", dir, paths: found };
      if (found.size > 0 && (best === undefined || found.size > best.found.size)) {
        best = { dir, found };
      }
    }
    for (const sub of subdirs) {
      for (const a of spec.archives ?? []) {
        const p = joinPath(base, sub, a.name);
        if (await isFile(p)) return { kind: "archive", archive: a, path: p };
      }
    }
  } catch (e) {
    if (e instanceof NeedsPermission) return { kind: "miss", why: e.message };
    throw e;
  }
  if (best !== undefined) {
    const missing = spec.files.filter((f) => !best.found.has(f.name)).map((f) => f.name);
    return {
      kind: "miss",
      why: `found only ${best.found.size} of ${spec.files.length} files in ${best.dir} (missing ${
        missing.join(", ")
      })`,
      partial: best,
    };
  }
  const shown = dirs.length > 3 ? `${dirs.slice(0, 3).join(", ")}, …` : dirs.join(", ");
  return { kind: "miss", why: `no ${spec.title} files (looked in ${shown})` };
}

export async function readAll(
  paths: ReadonlyMap<string, string>,
): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const [name, path] of paths) {
    try {
      out.set(name, await Deno.readFile(path));
    } catch (e) {
      throw new NeedsPermission(`cannot read ${path}: ${fsReason(e, "--allow-read", path)}`);
    }
  }
  return out;
}
