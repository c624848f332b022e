/**
 * Tensors from arrays the loaders have just filled. `tensor()` copies its
 * input (the caller may change it later) and the backend copies again into
 * its own memory: for MNIST's 188 MB of float32 training images that is two
 * extra copies, held until the next garbage collection. The loaders own
 * their arrays and never touch them again, so they hand them to the
 * backend's `upload` (which takes ownership) and, on the wasm backend,
 * whose `upload` copies them into its WebAssembly memory, free them at
 * once. (Other backends may keep the array — the cpu backend uses it as the
 * tensor's storage — so there it is left to the garbage collector. A flag
 * in the backend contract saying whether `upload` copies would let every
 * backend do this.)
 *
 * @module
 */

import { currentBackend } from "../backend/registry.ts";
import type { Tensor } from "../core/tensor.ts";
import { makeTensor } from "../core/tensor.ts";
import { tensor } from "../ops/creation.ts";
import { release } from "./_util.ts";

/**
 * A tensor holding `values`, which the caller gives up: on the cpu backend
 * it becomes the tensor's storage; on the wasm backend it is freed once
 * copied into the WebAssembly memory.
 *
 * @param values A fresh array nobody else holds; the caller never uses it again.
 * @param shape The shape (its size is `values.length`).
 * @param dtype `"float32"` for a Float32Array, `"int32"` for an Int32Array.
 * @returns The tensor, on the current backend.
 */
export function ownedTensor(
  values: Float32Array | Int32Array,
  shape: number[],
  dtype: "float32" | "int32",
): Tensor {
  const backend = currentBackend();
  // A backend without the dtype: tensor() says so in its usual words.
  if (!backend.dtypes.includes(dtype)) return tensor(values, { shape, dtype });
  const handle = backend.upload(values, dtype);
  // WasmBackend.upload copies into its arena and keeps no reference.
  if (backend.name === "wasm") release(values);
  return makeTensor(backend, handle, shape, dtype);
}
