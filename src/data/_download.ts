/**
 * Downloads of dataset files: a `fetch` with an idle timeout, a size cap
 * and a progress line, checked against the expected size and digests, then
 * saved to the cache directory atomically.
 *
 * @module
 */

import type { ProgressWriter } from "../report/progress.ts";
import { writeFileAtomic } from "../core/_files.ts";
import { errorMessage, fmtBytes, joinPath, toHex } from "./_util.ts";
import { fsReason, isPermissionError } from "./_local_files.ts";
import type { Checksums, DataSetSpec } from "./source_specs.ts";

const IDLE_TIMEOUT_MS = 60_000;

const DIGESTS = [["sha256", "SHA-256"], ["sha512", "SHA-512"], ["sha1", "SHA-1"]] as const;

/** Checks size and digests; returns why they do not match, or undefined. */
export async function mismatch(bytes: Uint8Array, want: Checksums): Promise<string | undefined> {
  if (want.size !== undefined && bytes.length !== want.size) {
    const cut = bytes.length < want.size ? " (truncated)" : "";
    return `size ${bytes.length} bytes, expected ${want.size}${cut}`;
  }
  for (const [key, algo] of DIGESTS) {
    const hex = want[key];
    if (hex === undefined) continue;
    const got = toHex(await crypto.subtle.digest(algo, bytes as Uint8Array<ArrayBuffer>));
    if (got !== hex.toLowerCase()) return `${algo} ${got}, expected ${hex}`;
  }
  return undefined;
}

export interface Ctx {
  readonly op: string;
  readonly quiet: boolean;
  readonly writer?: ProgressWriter;
  readonly tty: boolean;
  readonly fetch: (url: string, init?: RequestInit) => Promise<Response>;
}

const encoder = new TextEncoder();

export function write(ctx: Ctx, text: string): void {
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
export async function fetchVerified(
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
      throw new Error(
        `checksum mismatch (${bad}): a corrupt or changed file, not used; ` +
          `run again to retry, or get the file by hand as said below`,
      );
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
export async function saveFile(
  dir: string,
  name: string,
  bytes: Uint8Array,
): Promise<string | undefined> {
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

export async function saveAll(
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
