/**
 * The "how to get the files" part of `DatasetUnavailableError`'s
 * message: the hosts to allow, the commands that download the archives or
 * files by hand with their sizes and checksums, and where to put them.
 *
 * @module
 */

import { resolveUrl } from "./_env.ts";
import { unique } from "./_local_files.ts";
import type { DataSetSpec, ResolveOptions } from "./source_specs.ts";

function hostsOf(spec: DataSetSpec, opts: ResolveOptions): string[] {
  const urls = [spec, ...(spec.fallback ? [spec.fallback] : [])].flatMap((s) => [
    ...(s.archives ?? []).flatMap((a) => a.urls.map((u) => resolveUrl(u, opts))),
    ...(s.mirrors ?? []),
  ]);
  return unique(urls.map((u) => new URL(u).host));
}

/** The lines of a dataset's fallback: how to get it, and what it is. */
function fallbackLines(spec: DataSetSpec, opts: ResolveOptions): string[] {
  const f = spec.fallback;
  if (f === undefined) return [];
  const lines = [`  c. Or, where the files above cannot be had, the ${f.title}:`];
  for (const a of f.archives ?? []) {
    const url = resolveUrl(a.urls[0], opts);
    const sums = a.sha1 ? `, SHA-1 ${a.sha1}` : "";
    lines.push(
      `       ${a.manual ?? `curl -LO ${url}`}   (gives ${a.name}: ${a.size} bytes${sums})`,
      `     and put ${a.name} into D as above (or let gradus download it: ${url}).`,
    );
  }
  if (f.note !== undefined) lines.push(`     Note: ${f.note}`);
  return lines;
}

function fileList(spec: DataSetSpec): string {
  return spec.files.map((f) => {
    const gz = f.aliases?.includes(`${f.name}.gz`) ? "[.gz]" : "";
    return `${f.name}${gz}`;
  }).join(", ");
}

/** The "how to get the files" part of the error message. */
export function howTo(
  spec: DataSetSpec,
  opts: ResolveOptions,
  cacheDir: string | undefined,
): string {
  const hosts = hostsOf(spec, opts);
  const lines = [
    `How to get the ${spec.title} files (one of):`,
    `  a. Let gradus download them once (they are cached): keep download: true (the default) and run with`,
    `       --allow-net=${hosts.join(",")} --allow-read --allow-write --allow-env`,
    `  b. Download them yourself:`,
  ];
  for (const a of spec.archives ?? []) {
    const url = resolveUrl(a.urls[0], opts);
    const sums = a.sha256 ? `, SHA-256 ${a.sha256}` : a.sha1 ? `, SHA-1 ${a.sha1}` : "";
    lines.push(
      `       ${a.manual ?? `curl -LO ${url}`}   (gives ${a.name}: ${a.size} bytes${sums})`,
    );
  }
  const mirrors = spec.mirrors ?? [];
  if (mirrors.length > 0) {
    if ((spec.archives ?? []).length > 0) lines.push(`     or the files one by one:`);
    for (const f of spec.files) {
      if (f.remote === undefined) continue;
      lines.push(
        `       ${
          mirrors[0]
        }${f.remote.file}   (${f.remote.size} bytes, SHA-256 ${f.remote.sha256})`,
      );
    }
    if (mirrors.length > 1) {
      lines.push(`     (the same files are at ${mirrors.slice(1).join(", ")})`);
    }
  }
  const archives = (spec.archives ?? []).map((a) => a.name);
  const what = archives.length > 0
    ? `${archives.join(" or ")} itself, or the files ${fileList(spec)}`
    : `the files ${fileList(spec)}`;
  const where = (spec.folders ?? []).length > 0
    ? ` (directly or in ${spec.folders!.join("/")}/)`
    : "";
  lines.push(
    `     and put ${what}${
      mirrors.length > 0 ? " (gzipped or not)" : ""
    }${where} into a directory D; then`,
    `       - pass { dir: "D" }, or`,
    `       - set GRADUS_DATA_DIR=D (and run with --allow-env; D/${spec.id}/ also works), or`,
    `       - use the cache directory ${cacheDir ?? `<cache>/${spec.id}`} as D` +
      (cacheDir ? "" : " (<cache>: the cacheDir option, GRADUS_CACHE_DIR or ~/.cache/gradus)"),
    ...fallbackLines(spec, opts),
  );
  return lines.join("\n");
}
