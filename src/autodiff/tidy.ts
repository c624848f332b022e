/**
 * `tidy`: frees the tensors a function made, except those it returns, as
 * TF.js's `tf.tidy` does. Optional: memory is reclaimed without it once
 * tensors are garbage-collected; it only makes the release immediate.
 *
 * @module
 */

import { collectMade, type Tensor } from "../core/tensor.ts";
import { leaves } from "../tree/tree.ts";
import { nextLevel } from "./trace.ts";

/** Disposes each tensor in `tensors` that is not a leaf of one of the pytrees in `keep`. @internal */
export function disposeAllBut(tensors: readonly Tensor[], keep: readonly unknown[]): void {
  if (tensors.length === 0) return;
  const kept = new Set<unknown>();
  for (const k of keep) {
    for (const leaf of leaves(k)) kept.add(leaf);
  }
  for (const t of tensors) if (!kept.has(t)) t.dispose();
}

/**
 * Runs `fn` and then frees every tensor made while it ran, except the
 * tensors in what it returns (a tensor or a pytree of them). Tensors that
 * existed before are never touched. Inside `grad`/`vjp`/`jvp` it just runs
 * `fn`: the transformation owns the values it traces.
 *
 * Use it around a training step's bookkeeping (an optimizer update, a
 * metric) so its temporaries go back to the backend at once instead of at
 * the next garbage collection. A tensor made inside and kept elsewhere
 * (not returned) is freed too: reading it afterwards is an error.
 *
 * @param fn A synchronous function.
 * @returns What `fn` returned.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mul, ones, sub, tidy, tree } from "@gradus/core";
 *
 * const params = { w: ones([3]) }, grads = { w: ones([3]) };
 * // the scaled gradients are temporaries: freed when tidy returns
 * const next = tidy(() => tree.map((p, g) => sub(p, mul(g, 0.1)), params, grads));
 * assert.deepEqual(next.w.arraySync(), [0.8999999761581421, 0.8999999761581421, 0.8999999761581421]);
 * ```
 */
export function tidy<T>(fn: () => T): T {
  if (nextLevel() !== 1) return fn();
  const made: Tensor[] = [];
  const result = collectMade(made, fn);
  if (result instanceof Promise) {
    throw new TypeError(
      "tidy(): fn returned a promise; tidy needs a synchronous function (await outside it)",
    );
  }
  disposeAllBut(made, [result]);
  return result;
}
