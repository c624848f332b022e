/**
 * The WebGPU backend and the factory the registry calls (it imports this
 * module lazily, on the first `setBackend("webgpu")`; nothing here imports
 * the registry back). To register it under another name:
 * `registerBackend(name, webgpuBackend)`.
 *
 * @module
 */

import { WebGpuBackend } from "./webgpu_backend.ts";

export { type GpuHandle, WebGpuBackend } from "./webgpu_backend.ts";

/**
 * Makes the WebGPU backend (a factory for `registerBackend`).
 *
 * @returns The backend, once a device was obtained.
 * @throws Error when `navigator.gpu` or a GPU adapter is unavailable.
 * @internal
 */
export async function webgpuBackend(): Promise<WebGpuBackend> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new Error(
      'setBackend("webgpu"): WebGPU is unavailable (navigator.gpu is missing); ' +
        'use a runtime with WebGPU (Deno 2 has it) or stay on "cpu"',
    );
  }
  const backend = await WebGpuBackend.create();
  if (backend === null) {
    throw new Error(
      'setBackend("webgpu"): navigator.gpu found no GPU adapter; ' +
        'check the GPU drivers (a software adapter such as llvmpipe also works) or stay on "cpu"',
    );
  }
  return backend;
}
