/**
 * Checkpoints in the **safetensors** format, which PyTorch, JAX and Hugging
 * Face read: save a params pytree — or a whole training state
 * `{params, optState, step}` — and load it back into a template of the same
 * structure.
 *
 * - {@linkcode saveSafetensors} / {@linkcode loadSafetensors}: files (written
 *   atomically and durably through a temporary file of their own, fsynced,
 *   then renamed).
 * - {@linkcode serializeSafetensors} / {@linkcode deserializeSafetensors}: the
 *   same, to and from bytes.
 * - {@linkcode readSafetensorsHeader}: what a file holds, without loading it.
 *
 * The format: an 8-byte little-endian unsigned length `N`, `N` bytes of UTF-8
 * JSON header — `{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets":
 * [begin, end]}, …, "__metadata__": {"key": "value"}}` — then the tensor data,
 * little-endian and row-major, the offsets counting from the end of the
 * header.
 *
 * Names are key paths joined with dots, without the root (PyTorch's
 * `state_dict` style): `{layers: [{w, b}]}` gives `layers.0.w`, `layers.0.b`.
 * Number leaves (step counts) are stored as 0-d F64 tensors and restored as
 * numbers where the template has a number, or as an int32 scalar where it
 * has one (optimizer states saved when their step counts were numbers load
 * into today's, whose counts are int32 tensors); `null`/`undefined`
 * subtrees are skipped. Float tensors can be stored as float16 to halve the size.
 *
 * Loading checks everything before making any tensor: a truncated or corrupt
 * file, or one that does not match the template, gives one clear error and
 * never a half-loaded model.
 *
 * A checkpoint needs no functions of its own: save `{params, optState,
 * step}` and load it with a template built the same way
 * (`{params: init(key), optState: opt.init(params0), step: 0}`).
 *
 * @example
 * ```ts
 * import { loadSafetensors, saveSafetensors, tensor, zeros } from "@gradus/core";
 *
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/ckpt.safetensors`;
 * const params = { w: tensor([[0.5, -1], [2, 0]]), b: tensor([0.1, 0.2]) };
 * await saveSafetensors(path, { params, step: 1200 }, { metadata: { note: "epoch 3" } });
 *
 * const template = { params: { w: zeros([2, 2]), b: zeros([2]) }, step: 0 };
 * const { params: restored, step } = await loadSafetensors(path, template);
 * console.log(step, await restored.w.array()); // 1200 [[0.5, -1], [2, 0]]
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @example From this entry point (`@gradus/core/checkpoint`)
 * ```ts
 * import { deserializeSafetensors, serializeSafetensors } from "@gradus/core/checkpoint";
 * import { tensor, zeros } from "@gradus/core";
 *
 * const bytes = await serializeSafetensors({ w: tensor([1, 2]), step: 7 });
 * const restored = deserializeSafetensors(bytes, { w: zeros([2]), step: 0 });
 * console.log(restored.w.arraySync(), restored.step); // [1, 2] 7
 * ```
 *
 * @module
 */

import "../ops/tensor_methods.ts"; // installs Tensor's methods (x.add(y), x.sum(), …)

export {
  deserializeSafetensors,
  readSafetensorsHeader,
  type SafetensorsContents,
  type SafetensorsDType,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  type SerializeOptions,
  serializeSafetensors,
} from "./safetensors.ts";
export { loadSafetensors, saveSafetensors } from "./file.ts";
