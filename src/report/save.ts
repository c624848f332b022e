/**
 * Writing charts to files.
 *
 * @module
 */

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
  const parent = parentOf(path);
  if (parent !== undefined) await Deno.mkdir(parent, { recursive: true });
  await Deno.writeTextFile(path, text);
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
