/**
 * Writing charts to files.
 *
 * @module
 */

import { fsError } from "../core/_files.ts";

/**
 * Writes an SVG document (or any text) to `path` as UTF-8, creating the
 * parent directories first (`out/plots/loss.svg` works in a fresh
 * checkout). Needs `--allow-write`. It takes the document or the promise a
 * chart function returns, so `await plot.save(path, plot.lineChart(…))`
 * needs no inner `await`.
 *
 * @param path The file to write, a path or a `file:` URL.
 * @param svg The document, or a promise of it (as the chart functions return it).
 * @returns A promise that resolves once the file is written.
 * @throws {Error} When the file cannot be written: Deno's error class
 * (`NotCapable` without `--allow-write`, …) with a message naming `save()`
 * and the path. The folder is created only when it is missing, so
 * `--allow-write=out/loss.svg` suffices for a file in an existing `out/`.
 * @example
 * ```ts
 * import { plot } from "@gradus/core";
 *
 * const dir = await Deno.makeTempDir();
 * await plot.save(
 *   `${dir}/out/loss.svg`,
 *   plot.lineChart({ title: "Loss", series: [{ y: [3, 2, 1.5, 1.2] }] }),
 * );
 * console.log((await Deno.readTextFile(`${dir}/out/loss.svg`)).startsWith("<svg")); // true
 * ```
 */
export async function save(path: string | URL, svg: string | Promise<string>): Promise<void> {
  const text = await svg;
  if (typeof text !== "string") {
    throw new TypeError(
      `save(): svg must be a string (or a promise of one, as the chart functions return), got ${typeof text}`,
    );
  }
  try {
    await Deno.writeTextFile(path, text);
  } catch (e) {
    // The folder is made only when missing: `--allow-write=out/loss.svg` is enough for a file in an
    // existing folder.
    const parent = parentOf(path);
    if (!(e instanceof Deno.errors.NotFound) || parent === undefined) {
      throw fsError("save()", "write", fsPath(path), "--allow-write", e);
    }
    try {
      await Deno.mkdir(parent, { recursive: true });
      await Deno.writeTextFile(path, text);
    } catch (e2) {
      throw fsError("save()", "write", fsPath(path), "--allow-write", e2);
    }
  }
}

/** A path to show in messages. */
function fsPath(path: string | URL): string {
  return path instanceof URL ? decodeURIComponent(path.pathname) : path;
}

/** The parent directory of `path`, or undefined for a bare file name. */
function parentOf(path: string | URL): string | URL | undefined {
  if (path instanceof URL) return new URL(".", path);
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  if (cut < 0) return undefined;
  if (cut === 0) return path.slice(0, 1);
  // A drive root such as `C:\`.
  if (cut === 2 && path[1] === ":") return path.slice(0, 3);
  return path.slice(0, cut);
}
