/**
 * The WebGPU backend and its registration helpers.
 *
 * @module
 */

import { registerBackend } from "../registry.ts";
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

/**
 * Registers the WebGPU backend under `name`, so `await setBackend(name)`
 * selects it (the device is requested on first selection).
 *
 * @param name The name `setBackend` takes (default `"webgpu"`).
 * @internal
 */
export function registerWebGpuBackend(name = "webgpu"): void {
  registerBackend(name, webgpuBackend);
}
