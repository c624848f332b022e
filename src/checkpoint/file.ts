/**
 * Saving and loading safetensors files.
 *
 * @module
 */

import { readFileNamed, writeFileAtomic } from "../core/_files.ts";
import {
  deserializeImpl,
  type SafetensorsContents,
  serializeImpl,
  type SerializeOptions,
} from "./safetensors.ts";

/**
 * Saves a pytree of tensors (and numbers) as a safetensors file — see
 * {@linkcode serializeSafetensors} for the names and storage types. The file
 * is replaced atomically and durably: the bytes go to a new temporary file
 * next to it (`<path>.<16 random hex digits>.tmp`, never an existing file),
 * which is flushed to disk (fsync) and then renamed to `path`. A crash never
 * leaves a half-written checkpoint behind; concurrent saves to one path each
 * write their own temporary file, and the file is one complete checkpoint
 * (the last to finish); a failed save removes only its own temporary file.
 * A whole training state is just a bigger tree: `{params, optState, step}`.
 *
 * Needs `--allow-write` and `--allow-read` (Deno's rename checks both).
 *
 * @param path The file to write (conventionally `*.safetensors`).
 * @param tree An object or array whose leaves are tensors or numbers.
 * @param opts `dtype` (`"float16"` halves the size of float tensors) and
 * `metadata` (see {@linkcode SerializeOptions}).
 * @returns A promise that resolves once the file is in place.
 * @throws {Error} When a leaf cannot be stored (nothing is written then), or
 * the file cannot be written: then Deno's error class (`Deno.errors.NotFound`
 * for a missing directory, `NotCapable` without `--allow-write`, …) with a
 * message naming the function and the path (`saveSafetensors(): cannot write
 * runs/m.safetensors: the directory runs does not exist (create it first; …)`).
 * @example
 * ```ts
 * import { loadSafetensors, saveSafetensors, tensor, zeros } from "@gradus/core";
 *
 * const dir = await Deno.makeTempDir();
 * const params = { layers: [{ w: tensor([[1, 2], [3, 4]]), b: tensor([0, 1]) }] };
 * await saveSafetensors(`${dir}/model.safetensors`, params, { dtype: "float16" });
 * const template = { layers: [{ w: zeros([2, 2]), b: zeros([2]) }] };
 * const loaded = await loadSafetensors(`${dir}/model.safetensors`, template);
 * console.log(await loaded.layers[0].w.array()); // [[1, 2], [3, 4]]
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveSafetensors(
  path: string,
  tree: unknown,
  opts: SerializeOptions = {},
): Promise<void> {
  const bytes = await serializeImpl("saveSafetensors()", tree, opts);
  await writeFileAtomic("saveSafetensors()", path, bytes);
}

/**
 * Reads a safetensors file without a template: every tensor by name, and the
 * metadata (see {@linkcode SafetensorsContents}).
 *
 * Needs `--allow-read`.
 *
 * @param path The file to read.
 * @returns `{tensors, metadata}`.
 * @throws {Error} When the file is missing or unreadable (Deno's error
 * class, e.g. `Deno.errors.NotFound`, with a message naming the function and
 * the path), truncated or corrupt (`loadSafetensors(): the file
 * m.safetensors is truncated: the header says 1234 bytes of tensor data,
 * found 1000`).
 * @example
 * ```ts
 * import { loadSafetensors, saveSafetensors, tensor } from "@gradus/core";
 *
 * const dir = await Deno.makeTempDir();
 * await saveSafetensors(`${dir}/w.safetensors`, { w: tensor([1, 2]) }, { metadata: { note: "hi" } });
 * const { tensors, metadata } = await loadSafetensors(`${dir}/w.safetensors`);
 * console.log(await tensors.w.array(), metadata.note); // [1, 2] "hi"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function loadSafetensors(path: string): Promise<SafetensorsContents>;
/**
 * Restores a pytree saved with {@linkcode saveSafetensors} (or any
 * safetensors file whose names follow the key paths), using a template of
 * the same structure — freshly initialized params, or a whole training state
 * `{params, optState: opt.init(params), step: 0}`. Tensors take the
 * template's dtype (float16 storage is upcast); shapes must match exactly.
 * Every missing or unexpected name and every shape or dtype mismatch is
 * listed in one error, and nothing is returned: never a half-loaded model.
 *
 * Needs `--allow-read`.
 *
 * @typeParam T The template's type, also the result's.
 * @param path The file to read.
 * @param template A pytree of tensors and numbers with the expected
 * structure, shapes and dtypes (its values are not used).
 * @returns A new pytree of the template's structure with the stored values.
 * @throws {Error} When the file is missing, truncated or corrupt, or does not
 * match the template.
 * @example
 * ```ts
 * import { loadSafetensors, saveSafetensors, tensor, zeros } from "@gradus/core";
 *
 * const dir = await Deno.makeTempDir();
 * const state = { params: { w: tensor([1, 2]) }, optState: { count: 5, mu: { w: tensor([0.1, 0.2]) } } };
 * await saveSafetensors(`${dir}/ckpt.safetensors`, state);
 * const template = { params: { w: zeros([2]) }, optState: { count: 0, mu: { w: zeros([2]) } } };
 * const restored = await loadSafetensors(`${dir}/ckpt.safetensors`, template);
 * console.log(restored.optState.count); // 5
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function loadSafetensors<T>(path: string, template: T): Promise<T>;
export async function loadSafetensors(path: string, template?: unknown): Promise<unknown> {
  const bytes = await readFileNamed("loadSafetensors()", path);
  return deserializeImpl("loadSafetensors()", `the file ${path}`, bytes, template);
}
