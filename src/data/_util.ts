/**
 * Small private helpers of the dataset loaders: byte formatting and paths.
 *
 * @module
 */

/** The first bytes in hex, for error messages: `"00 00 08 03"`. */
export function hexStart(bytes: Uint8Array, n = 4): string {
  if (bytes.length === 0) return "no bytes (an empty file)";
  return Array.from(bytes.subarray(0, n), (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** A byte count for people: `"9.9 MB"`, `"28.9 kB"`, `"512 bytes"`. */
export function fmtBytes(n: number): string {
  if (n < 1000) return `${n} bytes`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** Joins path parts with `/` (which Deno accepts on every OS), skipping empty parts. */
export function joinPath(...parts: string[]): string {
  let out = "";
  for (const p of parts) {
    if (p === "") continue;
    if (out === "") {
      out = p;
      continue;
    }
    const left = out.replace(/[\\/]+$/, "");
    out = `${left}/${p.replace(/^[\\/]+/, "")}`;
  }
  return out.replace(/(.)[\\/]+$/, "$1") || ".";
}

/** Hex of a digest. */
export function toHex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The message of an unknown thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Frees an array's memory now, by detaching its buffer
 * (`ArrayBuffer.prototype.transfer(0)`), instead of leaving it to the next
 * garbage collection: the loaders go through hundreds of megabytes of
 * temporary arrays. Only for arrays nobody else holds; a no-op for views
 * into a larger buffer, shared memory, buffers already freed, and where
 * `transfer` is missing.
 */
export function release(a: ArrayBufferView): void {
  const buf = a.buffer;
  if (
    buf instanceof ArrayBuffer && !buf.detached && a.byteOffset === 0 &&
    a.byteLength === buf.byteLength && typeof buf.transfer === "function"
  ) buf.transfer(0);
}

/**
 * Frees the whole buffers under `views` (each once), views into a larger
 * buffer included: only for buffers the caller made and nobody else holds,
 * such as files it read and the archive their entries view.
 */
export function releaseBuffers(views: Iterable<ArrayBufferView>): void {
  const seen = new Set<ArrayBufferLike>();
  for (const v of views) {
    const buf = v.buffer;
    if (seen.has(buf)) continue;
    seen.add(buf);
    if (buf instanceof ArrayBuffer && !buf.detached && typeof buf.transfer === "function") {
      buf.transfer(0);
    }
  }
}
