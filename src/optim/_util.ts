/**
 * Private helpers of the optim module: checking states and structures,
 * zero-initialised moment trees, learning-rate validation.
 *
 * @module
 */

import { Tensor } from "../core/tensor.ts";
import { describe } from "../ops/convert.ts";
import { zerosLike } from "../ops/creation.ts";
import { assertSameStructure, map, mapWithPath } from "../tree/tree.ts";
import type { GradientTransformation, LearningRate, Schedule } from "./base.ts";

/**
 * A transformation without state (its state is `{}`, `EmptyState`) that
 * maps every leaf of the grads with `fn`.
 */
export function leafwise(
  fn: (g: Tensor) => Tensor,
): GradientTransformation<Record<string, never>> {
  return {
    init(_params: unknown): Record<string, never> {
      return {};
    },
    update<P>(grads: P, state: Record<string, never>, _params?: P): [P, Record<string, never>] {
      return [map(fn, grads), state];
    },
  };
}

/**
 * A tree of zeros (same shape, dtype and backend) mirroring `params`;
 * every leaf must be a tensor.
 */
export function zerosTree(op: string, params: unknown): unknown {
  return mapWithPath((path: string, p: unknown) => {
    if (!(p instanceof Tensor)) {
      throw new TypeError(
        `${op}: init() expects a pytree of tensors, got ${describe(p)} at ${
          path.replace(/^tree/, "params")
        }`,
      );
    }
    return zerosLike(p);
  }, params);
}

/**
 * Throws unless `state` is an object with all of `keys`: the usual mistake
 * is passing another transformation's state.
 */
export function checkState(op: string, state: unknown, keys: readonly string[]): void {
  const ok = typeof state === "object" && state !== null && !Array.isArray(state) &&
    keys.every((k) => k in state);
  if (!ok) {
    throw new TypeError(
      `${op}: expected a state with keys [${keys.join(", ")}], got ${describe(state)}; ` +
        `pass the state returned by init() or by the previous update()`,
    );
  }
}

/**
 * Throws, naming the key path of the first difference, unless `got` has the
 * structure of `expected`; `hint` says how to fix it.
 */
export function checkStructure(
  op: string,
  expected: unknown,
  got: unknown,
  root: string,
  hint: string,
): void {
  try {
    assertSameStructure(expected, got, { op, root });
  } catch (e) {
    if (e instanceof Error && e.message.startsWith(op)) {
      throw new Error(`${e.message}; ${hint}`, { cause: e });
    }
    throw e;
  }
}

/** The hint of a grads/state structure mismatch. */
export const GRADS_HINT = "grads must have the structure of the params given to init()";

/** Throws unless `x` is a finite number. */
export function checkFinite(op: string, name: string, x: unknown): void {
  if (typeof x !== "number" || !Number.isFinite(x)) {
    throw new RangeError(`${op}: ${name} must be a finite number, got ${describe(x)}`);
  }
}

/** Throws unless `x` is a finite number in `[lo, hi]` (`hiOpen`: `[lo, hi)`). */
export function checkRange(
  op: string,
  name: string,
  x: unknown,
  lo: number,
  hi: number,
  hiOpen = false,
): void {
  checkFinite(op, name, x);
  const v = x as number;
  if (v < lo || v > hi || (hiOpen && v === hi)) {
    throw new RangeError(
      `${op}: ${name} must be in [${lo}, ${hi}${hiOpen ? ")" : "]"}, got ${v}`,
    );
  }
}

/** Throws unless `x` is a finite number ≥ 0 (`strict`: > 0). */
export function checkNonNegative(op: string, name: string, x: unknown, strict = false): void {
  checkFinite(op, name, x);
  const v = x as number;
  if (strict ? !(v > 0) : !(v >= 0)) {
    throw new RangeError(`${op}: ${name} must be ${strict ? "> 0" : ">= 0"}, got ${v}`);
  }
}

/**
 * Turns a learning rate (number or schedule) into a schedule, checking a
 * constant now and a schedule's value at each step.
 */
export function asSchedule(op: string, lr: LearningRate): Schedule {
  if (typeof lr === "function") {
    return (step: number): number => {
      const v = lr(step);
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new RangeError(
          `${op}: the learning-rate schedule returned ${describe(v)} at step ${step}; ` +
            `a schedule must return a finite number`,
        );
      }
      return v;
    };
  }
  if (typeof lr !== "number" || !Number.isFinite(lr)) {
    throw new TypeError(
      `${op}: the learning rate must be a finite number or a schedule (step) => number, got ${
        describe(lr)
      }`,
    );
  }
  return () => lr;
}
