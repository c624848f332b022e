/**
 * Tensors from arrays the loaders have just filled. `tensor()` copies its
 * input (the caller may change it later) and the backend copies again into
 * its own memory: for MNIST's 188 MB of float32 training images that is two
 * extra copies, held until the next garbage collection. The loaders own
 * their arrays and never touch them again, so they hand them to the
 * backend's `upload`, which takes ownership: the cpu backend uses the array
 * as the tensor's storage; wasm and webgpu copy it into their memory and
 * free it at once.
 *
 * @module
 */

import { currentBackend } from "../backend/registry.ts";
import type { Tensor } from "../core/tensor.ts";
import { makeTensor } from "../core/tensor.ts";
import { tensor } from "../ops/creation.ts";

/**
 * A tensor holding `values`, which the caller gives up (see
 * `Backend.upload`).
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
  return makeTensor(backend, backend.upload(values, dtype), shape, dtype);
}
