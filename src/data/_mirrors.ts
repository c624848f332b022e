/**
 * The last source of a dataset's files: its canonical mirrors, file by
 * file, each download checked against its published size and SHA-256 and
 * saved to the cache as it arrives (so an interrupted run keeps what it
 * got; files already in the cache are not downloaded again).
 *
 * @module
 */

import { errorMessage } from "./_util.ts";
import { type Ctx, fetchVerified, saveFile, write } from "./_download.ts";
import type { PartialFind } from "./_local_files.ts";
import type { DataSetSpec, ResolvedFiles } from "./source_specs.ts";

/**
 * Gets every file of `spec` from `cached` (some files already in the cache
 * directory) or its mirrors, in order. Returns the files, or why one of
 * them could not be had.
 */
export async function downloadFromMirrors(
  ctx: Ctx,
  spec: DataSetSpec,
  cached: PartialFind | undefined,
  cacheDir: string | undefined,
  cacheWhy: string | undefined,
): Promise<ResolvedFiles | string> {
  const op = ctx.op;
  const mirrors = spec.mirrors ?? [];
  const files = new Map<string, Uint8Array>();
  for (const f of spec.files) {
    const have = cached?.found.get(f.name);
    if (have !== undefined) {
      try {
        files.set(f.name, await Deno.readFile(have));
        continue;
      } catch {
        // download it instead
      }
    }
    if (f.remote === undefined) return `${f.name}: no mirror serves it`;
    const errors: string[] = [];
    for (const m of mirrors) {
      const url = m + f.remote.file;
      write(ctx, `${op}: downloading ${url}\n`);
      try {
        const bytes = await fetchVerified(ctx, url, f.remote.file, f.remote);
        files.set(f.name, bytes);
        if (cacheDir !== undefined) {
          const why = await saveFile(cacheDir, f.remote.file, bytes);
          if (why !== undefined) write(ctx, `${op}: not cached: ${why}\n`);
        }
        break;
      } catch (e) {
        errors.push(`${url}: ${errorMessage(e)}`);
        write(ctx, `  failed: ${errorMessage(e)}\n`);
      }
    }
    if (!files.has(f.name)) return errors.join("; ");
  }
  if (cacheDir === undefined) {
    write(ctx, `${op}: not cached: the cache directory is ${cacheWhy}\n`);
  } else {
    write(ctx, `${op}: ${spec.title} saved to ${cacheDir}\n`);
  }
  return { files, source: `mirrors ${mirrors.join(", ")}` };
}
