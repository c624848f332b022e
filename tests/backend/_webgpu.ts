/**
 * Shared by the WebGPU tests that compare `jit` with eager execution: bit
 * equality of pytrees of tensors read asynchronously, and a test that runs
 * on the `webgpu` backend (ignored where no adapter exists).
 *
 * @module
 */

import assert from "node:assert/strict";
import { setBackend, type Tensor, tensor, tree } from "../../mod.ts";

/** Whether a WebGPU adapter exists here. */
export const hasGpu: boolean = (await navigator.gpu?.requestAdapter()) != null;

/** Bit equality of two pytrees of tensors (NaN and -0 included), read asynchronously. */
export async function assertSame(got: unknown, want: unknown, what: string): Promise<void> {
  assert.ok(tree.equalStructure(got, want), `${what}: structure`);
  const g = tree.leaves(got) as Tensor[], w = tree.leaves(want) as Tensor[];
  for (let i = 0; i < w.length; i++) {
    assert.deepEqual(g[i].shape, w[i].shape, `${what} leaf ${i}: shape`);
    const gd = await g[i].data(), wd = await w[i].data();
    for (let k = 0; k < wd.length; k++) {
      assert.ok(Object.is(gd[k], wd[k]), `${what} leaf ${i}[${k}]: ${gd[k]} vs ${wd[k]}`);
    }
  }
}

/** Registers `fn` as a test named `name` on the webgpu backend (ignored without an adapter). */
export function gpuTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: !hasGpu,
    fn: async () => {
      await setBackend("webgpu");
      try {
        await fn();
      } finally {
        await setBackend("cpu");
      }
    },
  });
}

/** Deterministic values in about [-4, 4] (a hash of the index), edge values sprinkled in. */
export function values(seed: number, shape: number[], edges = true): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: size }, (_, i) => {
    const h = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453;
    return 8 * (h - Math.floor(h)) - 4;
  });
  if (edges) {
    const EDGES = [0, -0, 1e-30, -3e38, 88.5, -104, Infinity, -Infinity, NaN];
    EDGES.forEach((v, i) => (data[(i * 7919) % size] = v));
  }
  return tensor(data).reshape(shape);
}
