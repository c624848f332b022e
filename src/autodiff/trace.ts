/**
 * The stack of active transformations. Each `vjp`/`jvp` call pushes a trace
 * one level above the current innermost one and pops it when `f` returns;
 * its tracers then act as plain values (so leaked tracers never confuse a
 * later transformation). A top-level `grad`/`valueAndGrad` frees the values
 * it traced once it has the gradients, so a tracer kept from inside one is
 * an error naming the fix (return it through `hasAux`), much like JAX's
 * leaked-tracer error.
 *
 * @module
 */

import type { Trace } from "../core/tensor.ts";

const stack: Trace[] = [];

/** The level a new trace gets. @internal */
export function nextLevel(): number {
  return stack.length + 1;
}

/**
 * Runs `body` with `trace` active, then marks it done.
 * @internal
 */
export function withTrace<R>(trace: Trace, body: () => R): R {
  stack.push(trace);
  try {
    return body();
  } finally {
    trace.done = true;
    stack.pop();
  }
}

/**
 * The innermost transformation among `leaves` (tensors, or anything else,
 * skipped) that is still running, or null.
 * @internal
 */
export function innermostTrace(leaves: readonly unknown[]): Trace | null {
  let top: Trace | null = null;
  for (const l of leaves) {
    if (typeof l !== "object" || l === null || !("_trace" in l)) continue;
    const t = (l as { _trace: Trace | null })._trace;
    if (t === null || t.done) continue;
    if (top === null || t.level > top.level) top = t;
  }
  return top;
}
