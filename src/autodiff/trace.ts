/**
 * The stack of active transformations. Each `vjp`/`jvp` call pushes a trace
 * one level above the current innermost one and pops it when `f` returns;
 * its tracers then act as plain values (so leaked tracers never confuse a
 * later transformation).
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
