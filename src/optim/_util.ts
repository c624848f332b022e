/**
 * Private helpers of the optim module: checking states and structures,
 * zero-initialised moment trees, learning-rate validation.
 *
 * @module
 */

import { currentBackend } from "../backend/registry.ts";
import type { DType } from "../core/dtype.ts";
import { backendOfTensor, Tensor } from "../core/tensor.ts";
import { describe, knownValues, scalarOn } from "../ops/convert.ts";
import { zerosLike } from "../ops/creation.ts";
import { cast } from "../ops/elementwise.ts";
import { getDefaultDType } from "../ops/default_dtype.ts";
import { assertSameStructure, leaves, map, mapWithPath } from "../tree/tree.ts";
import type { GradientTransformation, LearningRate } from "./base.ts";

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

/** The schedules of this module, which take a count tensor as well as a number. */
const COUNT_SCHEDULES = new WeakSet<object>();

/** Marks `fn` as a schedule that computes with a count tensor (returns `fn`). */
export function countAware<F extends object>(fn: F): F {
  COUNT_SCHEDULES.add(fn);
  return fn;
}

/** Whether `fn` is a schedule of this module (it takes a count tensor as well as a number). */
export function isCountAware(fn: unknown): boolean {
  return typeof fn === "function" && COUNT_SCHEDULES.has(fn);
}

/**
 * A schedule's value at `step`: a number, or a scalar tensor when the
 * count is only known on the device (under `jit`, on a backend without
 * synchronous reads). A schedule of this module computes with the count
 * tensor then; one of the user's gets the count as a number whenever it is
 * known on the host (so `(step) => 0.1 / (step + 1)` keeps working eagerly),
 * else the tensor cast to the default float dtype.
 */
export type ScheduleAt = (step: Tensor) => number | Tensor;

/**
 * Turns a learning rate (number or schedule) into a function of the count
 * tensor, checking a constant now and a schedule's value at each step
 * (when it is a number).
 */
export function asSchedule(op: string, lr: LearningRate): ScheduleAt {
  if (typeof lr === "function") {
    const fn = lr as (step: number | Tensor) => unknown;
    const aware = COUNT_SCHEDULES.has(lr);
    return (count: Tensor): number | Tensor => {
      const known = knownValues(count);
      // A function of the user's gets the count as a float tensor where it is not known on
      // the host (under jit): `div(0.1, add(s, 1))` combines it with fractions, as JAX's
      // promotion would (int32 refuses them). Exact up to 2^24 steps in float32.
      const step = known !== null ? known[0] : aware ? count : cast(count, getDefaultDType());
      const v = fn(step);
      if (v instanceof Tensor) {
        if (v.size !== 1) {
          throw new RangeError(
            `${op}: the learning-rate schedule returned a tensor of shape [${v.shape}]; ` +
              `a schedule must return a number or a scalar tensor`,
          );
        }
        return v;
      }
      if (typeof v !== "number" || !Number.isFinite(v)) {
        const at = known === null ? "a step count only known on the device" : `step ${step}`;
        const hint = known === null && !aware
          ? "; under jit a schedule gets the count as a float scalar tensor: build it from " +
            "optim's schedules or with gradus ops, which take tensors as well as numbers"
          : "";
        throw new RangeError(
          `${op}: the learning-rate schedule returned ${describe(v)} at ${at}; ` +
            `a schedule must return a finite number${hint}`,
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

/**
 * The step count a state starts with: an int32 scalar tensor 0 on the
 * backend of the first tensor of `params` (the current backend if none).
 */
export function initCount(params: unknown, value = 0): Tensor {
  const first = leaves(params).find((x): x is Tensor => x instanceof Tensor);
  const be = first === undefined ? currentBackend() : backendOfTensor(first);
  return scalarOn(be, value, "int32");
}

/**
 * Checks a state's step count: an int32 scalar tensor, or a non-negative
 * integer (a state saved when counts were numbers), which becomes one on
 * the backend of `like`.
 */
export function checkCount(op: string, count: unknown, like: unknown): Tensor {
  if (count instanceof Tensor) {
    if (count.dtype === "int32" && count.ndim === 0) return count;
  } else if (typeof count === "number" && Number.isInteger(count) && count >= 0) {
    return initCount(like, count);
  }
  throw new TypeError(
    `${op}: state.count must be an int32 scalar tensor (or a non-negative integer), got ${
      describe(count)
    }; pass the state returned by init() or by the previous update()`,
  );
}

/** The widest float dtype the backend of `count` has: float64, else float32 (WebGPU). */
export function countFloat(count: Tensor): DType {
  return backendOfTensor(count).dtypes.includes("float64") ? "float64" : "float32";
}

/** `count` as a float tensor of {@linkcode countFloat} (where schedules compute). */
export function countAsFloat(count: Tensor): Tensor {
  return cast(count, countFloat(count));
}
