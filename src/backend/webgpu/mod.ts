/**
 * The WebGPU backend (being built).
 *
 * @module
 */

import type { Backend } from "../backend.ts";

/** Makes the WebGPU backend. @internal */
export function webgpuBackend(): Promise<Backend> {
  return Promise.reject(new Error("setBackend(\"webgpu\"): the WebGPU backend is not available yet"));
}
