/**
 * Learning-rate schedules, with Optax's definitions: functions from the step
 * count (0 on the first update) to the rate. Given a number they compute
 * with plain numbers on the host; given the optimizer's count tensor (under
 * `jit`, where the count is only known on the device) they compute the same
 * formula with tensor ops in float64 (float32 on WebGPU) and return a
 * scalar tensor, so a jitted step with a schedule is traced once and gives
 * the eager numbers. Any of them works wherever a learning rate is taken
 * (`optim.adam(optim.cosineDecaySchedule(…))`).
 *
 * Past ~600 lines because most of it is documentation (options and examples
 * of nine schedules); each schedule's two formulas (numbers, count tensor)
 * sit side by side so they are checked against each other at a glance.
 *
 * @module
 */

import { backendOfTensor, Tensor } from "../core/tensor.ts";
import { greaterEqual, lessEqual } from "../ops/compare.ts";
import { describe, scalarOn } from "../ops/convert.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";
import {
  add,
  cast,
  cos,
  div,
  floor,
  maximum,
  minimum,
  mul,
  pow,
  sub,
  where,
} from "../ops/elementwise.ts";
import type { CountSchedule, Schedule } from "./base.ts";
import {
  checkFinite,
  checkNonNegative,
  countAsFloat,
  countAware,
  countFloat,
  isCountAware,
} from "./_util.ts";

/** A schedule from its number formula and the same formula on a count tensor. */
function both(num: (step: number) => number, ten: (step: Tensor) => Tensor): CountSchedule {
  const f = (step: number | Tensor): number | Tensor =>
    step instanceof Tensor ? ten(step) : num(step);
  return countAware(f as CountSchedule);
}

/** `v` as a scalar tensor of the count's float dtype, on its backend. */
function constant(count: Tensor, v: number): Tensor {
  return scalarOn(backendOfTensor(count), v, countFloat(count));
}

/** A schedule's value at a count tensor, as a float tensor. */
function valueAt(op: string, s: Schedule, count: Tensor, i: number): Tensor {
  if (!isCountAware(s)) {
    throw new TypeError(
      `${op}: schedules[${i}] is a function of a number, and the step count is only known ` +
        `on the device here (under jit); use optim's schedules, which take the count tensor`,
    );
  }
  const v = (s as CountSchedule)(count);
  return v instanceof Tensor ? cast(v, countFloat(count)) : constant(count, v);
}

function checkInteger(op: string, name: string, x: unknown, min: number): void {
  if (typeof x !== "number" || !Number.isInteger(x) || x < min) {
    throw new RangeError(`${op}: ${name} must be an integer >= ${min}, got ${describe(x)}`);
  }
}

/**
 * The same value at every step.
 *
 * @param value The value.
 * @returns `(step) => value`.
 * @throws {RangeError} When `value` is not a finite number.
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const s = optim.constantSchedule(0.1);
 * console.log(s(0), s(1000)); // 0.1 0.1
 * ```
 */
export function constantSchedule(value: number): CountSchedule {
  checkFinite("optim.constantSchedule()", "value", value);
  return both(() => value, (step) => constant(step, value));
}

/**
 * Options of {@linkcode exponentialDecay}.
 *
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const options: optim.ExponentialDecayOptions = {
 *   init: 1,
 *   decayRate: 0.5,
 *   transitionSteps: 10,
 *   transitionBegin: 5,
 *   staircase: true,
 *   endValue: 0.2,
 * };
 * const lr = optim.exponentialDecay(options);
 * console.log([0, 5, 14, 15, 25, 100].map(lr)); // [1, 1, 1, 0.5, 0.25, 0.2]
 * ```
 */
export interface ExponentialDecayOptions {
  /** The value before and at `transitionBegin`. */
  readonly init: number;
  /** The factor applied every `transitionSteps` steps (> 0). */
  readonly decayRate: number;
  /** How many steps one factor of `decayRate` takes (an integer > 0). */
  readonly transitionSteps: number;
  /** The step at which decay starts. Default: `0`. */
  readonly transitionBegin?: number;
  /** Decay in whole jumps (`floor` of the exponent), as a step schedule. Default: `false`. */
  readonly staircase?: boolean;
  /**
   * A bound the value never passes: a lower bound when `decayRate < 1`, an
   * upper bound when `decayRate > 1`. Default: none.
   */
  readonly endValue?: number;
}

const EXPONENTIAL_DECAY_KEYS: OptionKeys<ExponentialDecayOptions> = {
  init: true,
  decayRate: true,
  transitionSteps: true,
  transitionBegin: true,
  staircase: "boolean",
  endValue: true,
};

/**
 * Exponential decay (Optax's `exponential_decay`): with
 * `k = step − transitionBegin`, the value is `init` for `k ≤ 0` and
 * `init · decayRate^(k / transitionSteps)` after (the exponent floored when
 * `staircase`), clipped at `endValue` if given.
 *
 * @param options `init`, `decayRate`, `transitionSteps`, `transitionBegin`
 * (default 0), `staircase` (default false), `endValue` (default none).
 * @returns The schedule.
 * @throws {RangeError} When `transitionSteps` is not a positive integer,
 * `decayRate` is not positive, or a value is not finite.
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const smooth = optim.exponentialDecay({ init: 1, decayRate: 0.5, transitionSteps: 10 });
 * const stairs = optim.exponentialDecay({ init: 1, decayRate: 0.5, transitionSteps: 10, staircase: true });
 * console.log(smooth(5), stairs(5), stairs(10)); // ≈ 0.7071 1 0.5
 * ```
 */
export function exponentialDecay(options: ExponentialDecayOptions): CountSchedule {
  const op = "optim.exponentialDecay()";
  checkOptions(
    "optim.exponentialDecay",
    options,
    EXPONENTIAL_DECAY_KEYS,
    "{ init: 0.1, decayRate: 0.5, transitionSteps: 1000 }",
  );
  const {
    init,
    decayRate,
    transitionSteps,
    transitionBegin = 0,
    staircase = false,
    endValue,
  } = options;
  checkFinite(op, "init", init);
  checkNonNegative(op, "decayRate", decayRate, true);
  checkInteger(op, "transitionSteps", transitionSteps, 1);
  checkInteger(op, "transitionBegin", transitionBegin, 0);
  if (endValue !== undefined) checkFinite(op, "endValue", endValue);
  return both((step: number): number => {
    const k = step - transitionBegin;
    if (k <= 0) return endValue === undefined ? init : bound(init);
    let p = k / transitionSteps;
    if (staircase) p = Math.floor(p);
    const v = init * decayRate ** p;
    return endValue === undefined ? v : bound(v);
  }, (step: Tensor): Tensor => {
    const k = sub(countAsFloat(step), transitionBegin);
    let p = div(k, transitionSteps);
    if (staircase) p = floor(p);
    let v = mul(init, pow(decayRate, p));
    if (endValue !== undefined) v = decayRate < 1 ? maximum(v, endValue) : minimum(v, endValue);
    const first = constant(step, endValue === undefined ? init : bound(init));
    return where(lessEqual(k, 0), first, v);
  });
  function bound(v: number): number {
    return decayRate < 1 ? Math.max(v, endValue!) : Math.min(v, endValue!);
  }
}

/**
 * Options of {@linkcode piecewiseConstantSchedule}.
 *
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const options: optim.PiecewiseConstantScheduleOptions = {
 *   init: 0.1,
 *   boundariesAndScales: { 100: 0.1, 200: 0.5 },
 * };
 * const lr = optim.piecewiseConstantSchedule(options);
 * console.log([0, 99, 100, 200].map(lr)); // ≈ [0.1, 0.1, 0.01, 0.005]
 * ```
 */
export interface PiecewiseConstantScheduleOptions {
  /** The value before the first boundary. */
  readonly init: number;
  /**
   * `{step: scale}`: from `step` on (inclusive), the value is multiplied by
   * `scale`; scales accumulate (`{100: 0.1, 200: 0.1}` gives `init`,
   * `init/10`, `init/100`).
   */
  readonly boundariesAndScales: Readonly<Record<number, number>>;
}

const PIECEWISE_CONSTANT_SCHEDULE_KEYS: OptionKeys<PiecewiseConstantScheduleOptions> = {
  init: true,
  boundariesAndScales: true,
};

/**
 * A piecewise constant schedule (Optax's `piecewise_constant_schedule`):
 * `init` times the product of the scales of all boundaries `≤ step`.
 *
 * @param options `init` and `boundariesAndScales`.
 * @returns The schedule.
 * @throws {RangeError} When a boundary is not a non-negative integer or a
 * scale is negative or not finite.
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const s = optim.piecewiseConstantSchedule({ init: 0.1, boundariesAndScales: { 100: 0.1, 200: 0.5 } });
 * console.log(s(99), s(100), s(200)); // 0.1 ≈0.01 ≈0.005
 * ```
 */
export function piecewiseConstantSchedule(
  options: PiecewiseConstantScheduleOptions,
): CountSchedule {
  const op = "optim.piecewiseConstantSchedule()";
  checkOptions(
    "optim.piecewiseConstantSchedule",
    options,
    PIECEWISE_CONSTANT_SCHEDULE_KEYS,
    "{ init: 0.1, boundariesAndScales: { 1000: 0.1 } }",
  );
  const { init, boundariesAndScales } = options;
  checkFinite(op, "init", init);
  if (typeof boundariesAndScales !== "object" || boundariesAndScales === null) {
    throw new TypeError(
      `${op}: boundariesAndScales must be an object {step: scale}, got ${
        describe(boundariesAndScales)
      }`,
    );
  }
  const pairs = Object.entries(boundariesAndScales).map(([k, s]): [number, number] => {
    const b = Number(k);
    checkInteger(op, `boundary "${k}"`, b, 0);
    checkNonNegative(op, `the scale at step ${k}`, s);
    return [b, s];
  }).sort((a, b) => a[0] - b[0]);
  return both((step: number): number => {
    let v = init;
    for (const [b, s] of pairs) {
      if (step < b) break;
      v *= s;
    }
    return v;
  }, (step: Tensor): Tensor => {
    let v = constant(step, init);
    for (const [b, s] of pairs) v = where(greaterEqual(step, b), mul(v, s), v);
    return v;
  });
}

/**
 * Options of {@linkcode stepSchedule}.
 *
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const options: optim.StepScheduleOptions = { init: 0.1, stepSize: 30, gamma: 0.5 };
 * const lr = optim.stepSchedule(options);
 * console.log([0, 29, 30, 60].map(lr)); // [0.1, 0.1, 0.05, 0.025]
 * ```
 */
export interface StepScheduleOptions {
  /** The value for the first `stepSize` steps. */
  readonly init: number;
  /** How many steps each value lasts (an integer > 0). */
  readonly stepSize: number;
  /** The factor applied every `stepSize` steps. Default: `0.1`. */
  readonly gamma?: number;
}

const STEP_SCHEDULE_KEYS: OptionKeys<StepScheduleOptions> = {
  init: true,
  stepSize: true,
  gamma: true,
};

/**
 * Step decay (PyTorch's `StepLR`): `init · gamma^floor(step / stepSize)`.
 * The same as `exponentialDecay({init, decayRate: gamma, transitionSteps:
 * stepSize, staircase: true})`; for uneven steps use
 * {@linkcode piecewiseConstantSchedule}.
 *
 * @param options `init`, `stepSize`, `gamma` (default 0.1).
 * @returns The schedule.
 * @throws {RangeError} When `stepSize` is not a positive integer or `gamma` is not positive.
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const s = optim.stepSchedule({ init: 1, stepSize: 30, gamma: 0.5 });
 * console.log(s(29), s(30), s(60)); // 1 0.5 0.25
 * ```
 */
export function stepSchedule(options: StepScheduleOptions): CountSchedule {
  const op = "optim.stepSchedule()";
  checkOptions(
    "optim.stepSchedule",
    options,
    STEP_SCHEDULE_KEYS,
    "{ init: 0.1, stepSize: 1000, gamma: 0.1 }",
  );
  const { init, stepSize, gamma = 0.1 } = options;
  checkFinite(op, "init", init);
  checkInteger(op, "stepSize", stepSize, 1);
  checkNonNegative(op, "gamma", gamma, true);
  return exponentialDecay({ init, decayRate: gamma, transitionSteps: stepSize, staircase: true });
}

/**
 * Options of {@linkcode cosineDecaySchedule}.
 *
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const options: optim.CosineDecayScheduleOptions = { init: 1, decaySteps: 100, alpha: 0.1 };
 * const lr = optim.cosineDecaySchedule(options);
 * console.log([0, 50, 100, 200].map(lr)); // ≈ [1, 0.55, 0.1, 0.1]
 * ```
 */
export interface CosineDecayScheduleOptions {
  /** The value at step 0. */
  readonly init: number;
  /** The step at which the decay ends (an integer > 0); the value stays at `alpha·init` after. */
  readonly decaySteps: number;
  /** The final value as a fraction of `init`. Default: `0`. */
  readonly alpha?: number;
  /** The power of the cosine factor. Default: `1`. */
  readonly exponent?: number;
}

const COSINE_DECAY_SCHEDULE_KEYS: OptionKeys<CosineDecayScheduleOptions> = {
  init: true,
  decaySteps: true,
  alpha: true,
  exponent: true,
};

/**
 * Cosine decay (Optax's `cosine_decay_schedule`): with
 * `c = ½(1 + cos(π·min(step, decaySteps)/decaySteps))`, the value is
 * `init · ((1 − alpha)·c^exponent + alpha)`: `init` at step 0, `alpha·init`
 * from `decaySteps` on.
 *
 * @param options `init`, `decaySteps`, `alpha` (default 0), `exponent` (default 1).
 * @returns The schedule.
 * @throws {RangeError} When `decaySteps` is not a positive integer or a value is not finite.
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const s = optim.cosineDecaySchedule({ init: 1, decaySteps: 100, alpha: 0.1 });
 * console.log(s(0), s(50), s(100), s(1000)); // 1 ≈0.55 ≈0.1 ≈0.1
 * ```
 */
export function cosineDecaySchedule(options: CosineDecayScheduleOptions): CountSchedule {
  const op = "optim.cosineDecaySchedule()";
  checkOptions(
    "optim.cosineDecaySchedule",
    options,
    COSINE_DECAY_SCHEDULE_KEYS,
    "{ init: 0.1, decaySteps: 1000 }",
  );
  const { init, decaySteps, alpha = 0, exponent = 1 } = options;
  checkFinite(op, "init", init);
  checkInteger(op, "decaySteps", decaySteps, 1);
  checkFinite(op, "alpha", alpha);
  checkFinite(op, "exponent", exponent);
  return both((step: number): number => {
    const k = Math.min(step, decaySteps);
    const c = 0.5 * (1 + Math.cos(Math.PI * k / decaySteps));
    return init * ((1 - alpha) * c ** exponent + alpha);
  }, (step: Tensor): Tensor => {
    const k = minimum(countAsFloat(step), decaySteps);
    const c = mul(0.5, add(1, cos(div(mul(Math.PI, k), decaySteps))));
    return mul(init, add(mul(1 - alpha, pow(c, exponent)), alpha));
  });
}

/**
 * Options of {@linkcode linearSchedule}.
 *
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const options: optim.LinearScheduleOptions = {
 *   init: 1,
 *   end: 0,
 *   transitionSteps: 4,
 *   transitionBegin: 2,
 * };
 * const lr = optim.linearSchedule(options);
 * console.log([0, 2, 3, 6, 10].map(lr)); // [1, 1, 0.75, 0, 0]
 * ```
 */
export interface LinearScheduleOptions {
  /** The value up to `transitionBegin`. */
  readonly init: number;
  /** The value from `transitionBegin + transitionSteps` on. */
  readonly end: number;
  /** How many steps the change takes (an integer > 0). */
  readonly transitionSteps: number;
  /** The step at which the change starts. Default: `0`. */
  readonly transitionBegin?: number;
}

const LINEAR_SCHEDULE_KEYS: OptionKeys<LinearScheduleOptions> = {
  init: true,
  end: true,
  transitionSteps: true,
  transitionBegin: true,
};

/**
 * A linear ramp (Optax's `linear_schedule`): `init` until
 * `transitionBegin`, then linearly to `end` over `transitionSteps` steps
 * (`(init − end)·(1 − k/transitionSteps) + end`), then `end`; exactly `init`
 * and `end` at the two ends.
 *
 * @param options `init`, `end`, `transitionSteps`, `transitionBegin` (default 0).
 * @returns The schedule.
 * @throws {RangeError} When `transitionSteps` is not a positive integer or a value is not finite.
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const s = optim.linearSchedule({ init: 0, end: 1, transitionSteps: 4 });
 * console.log(s(0), s(1), s(4), s(10)); // 0 0.25 1 1
 * ```
 */
export function linearSchedule(options: LinearScheduleOptions): CountSchedule {
  const op = "optim.linearSchedule()";
  checkOptions(
    "optim.linearSchedule",
    options,
    LINEAR_SCHEDULE_KEYS,
    "{ init: 0.1, end: 0, transitionSteps: 1000 }",
  );
  const { init, end, transitionSteps, transitionBegin = 0 } = options;
  checkFinite(op, "init", init);
  checkFinite(op, "end", end);
  checkInteger(op, "transitionSteps", transitionSteps, 1);
  checkInteger(op, "transitionBegin", transitionBegin, 0);
  return both((step: number): number => {
    const k = step - transitionBegin;
    // Exact at both ends (the formula alone can be off by an ulp at k = 0).
    if (k <= 0) return init;
    if (k >= transitionSteps) return end;
    return (init - end) * (1 - k / transitionSteps) + end;
  }, (step: Tensor): Tensor => {
    const k = sub(countAsFloat(step), transitionBegin);
    const v = add(mul(init - end, sub(1, div(k, transitionSteps))), end);
    const ends = where(lessEqual(k, 0), constant(step, init), constant(step, end));
    return where(lessEqual(k, 0), ends, where(greaterEqual(k, transitionSteps), ends, v));
  });
}

/**
 * Runs schedules one after another (Optax's `join_schedules`): before
 * `boundaries[0]` the value is `schedules[0](step)`; from `boundaries[i]`
 * on it is `schedules[i + 1](step − boundaries[i])`, so each schedule starts
 * from its own step 0.
 *
 * @param schedules One more schedule than boundaries.
 * @param boundaries Strictly increasing steps (non-negative integers).
 * @returns The joined schedule.
 * @throws {RangeError} When the counts do not match or the boundaries are not increasing.
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const s = optim.joinSchedules(
 *   [optim.constantSchedule(1), optim.linearSchedule({ init: 1, end: 0, transitionSteps: 10 })],
 *   [5],
 * );
 * console.log(s(4), s(5), s(10), s(15)); // 1 1 0.5 0
 * ```
 */
export function joinSchedules(
  schedules: readonly Schedule[],
  boundaries: readonly number[],
): CountSchedule {
  const op = "optim.joinSchedules()";
  if (!Array.isArray(schedules) || schedules.length === 0) {
    throw new RangeError(`${op}: expected at least one schedule, got ${describe(schedules)}`);
  }
  schedules.forEach((s, i) => {
    if (typeof s !== "function") {
      throw new TypeError(`${op}: schedules[${i}] is not a function, got ${describe(s)}`);
    }
  });
  if (!Array.isArray(boundaries) || boundaries.length !== schedules.length - 1) {
    throw new RangeError(
      `${op}: ${schedules.length} schedules need ${schedules.length - 1} boundaries, got ${
        describe(boundaries)
      }`,
    );
  }
  boundaries.forEach((b, i) => {
    checkInteger(op, `boundaries[${i}]`, b, 0);
    if (i > 0 && !(b > boundaries[i - 1])) {
      throw new RangeError(
        `${op}: boundaries must be strictly increasing, got [${boundaries.join(", ")}]`,
      );
    }
  });
  const bs = [...boundaries];
  const ss = [...schedules];
  return both((step: number): number => {
    let i = 0;
    while (i < bs.length && step >= bs[i]) i++;
    return i === 0 ? ss[0](step) : ss[i](step - bs[i - 1]);
  }, (step: Tensor): Tensor => {
    let v = valueAt(op, ss[0], step, 0);
    bs.forEach((b, i) => {
      const next = valueAt(op, ss[i + 1], sub(step, b), i + 1);
      v = where(greaterEqual(step, b), next, v);
    });
    return v;
  });
}

/**
 * Options of {@linkcode linearWarmup}.
 *
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const options: optim.LinearWarmupOptions = { warmupSteps: 4, init: 0 };
 * const lr = optim.linearWarmup(optim.constantSchedule(0.1), options);
 * console.log([0, 2, 4, 100].map(lr)); // ≈ [0, 0.05, 0.1, 0.1]
 * ```
 */
export interface LinearWarmupOptions {
  /** How many steps the warmup takes (an integer ≥ 0; 0 means none). */
  readonly warmupSteps: number;
  /** The value at step 0. Default: `0`. */
  readonly init?: number;
}

const LINEAR_WARMUP_KEYS: OptionKeys<LinearWarmupOptions> = { warmupSteps: true, init: true };

/**
 * Prepends a linear warmup to a schedule: from `init` at step 0 to
 * `schedule(0)` at step `warmupSteps`, after which the value is
 * `schedule(step − warmupSteps)` (the schedule starts when the warmup ends,
 * as with {@linkcode joinSchedules}).
 *
 * @param schedule The schedule after the warmup.
 * @param options `warmupSteps`, `init` (default 0).
 * @returns The schedule with warmup.
 * @throws {RangeError} When `warmupSteps` is not a non-negative integer.
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const s = optim.linearWarmup(optim.exponentialDecay({ init: 1, decayRate: 0.5, transitionSteps: 10 }), {
 *   warmupSteps: 4,
 * });
 * console.log(s(0), s(2), s(4), s(14)); // 0 0.5 1 0.5
 * ```
 */
export function linearWarmup(schedule: Schedule, options: LinearWarmupOptions): CountSchedule {
  const op = "optim.linearWarmup()";
  checkOptions("optim.linearWarmup", options, LINEAR_WARMUP_KEYS, "{ warmupSteps: 100 }");
  if (typeof schedule !== "function") {
    throw new TypeError(`${op}: expected a schedule (step) => number, got ${describe(schedule)}`);
  }
  const { warmupSteps, init = 0 } = options;
  checkInteger(op, "warmupSteps", warmupSteps, 0);
  checkFinite(op, "init", init);
  if (warmupSteps === 0) {
    return isCountAware(schedule) ? schedule as CountSchedule : joinSchedules([schedule], []);
  }
  const peak = schedule(0);
  checkFinite(op, "schedule(0)", peak);
  return joinSchedules(
    [linearSchedule({ init, end: peak, transitionSteps: warmupSteps }), schedule],
    [warmupSteps],
  );
}

/**
 * Options of {@linkcode warmupCosineDecaySchedule}.
 *
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const options: optim.WarmupCosineDecayScheduleOptions = {
 *   init: 0,
 *   peak: 1,
 *   warmupSteps: 10,
 *   decaySteps: 110,
 *   end: 0.1,
 * };
 * const lr = optim.warmupCosineDecaySchedule(options);
 * console.log([0, 5, 10, 60, 110].map(lr)); // ≈ [0, 0.5, 1, 0.55, 0.1]
 * ```
 */
export interface WarmupCosineDecayScheduleOptions {
  /** The value at step 0. */
  readonly init: number;
  /** The value at the end of the warmup. */
  readonly peak: number;
  /** How many steps the linear warmup takes (an integer ≥ 0). */
  readonly warmupSteps: number;
  /** The total length, warmup included (an integer > `warmupSteps`). */
  readonly decaySteps: number;
  /** The value from `decaySteps` on. Default: `0`. */
  readonly end?: number;
  /** The power of the cosine factor. Default: `1`. */
  readonly exponent?: number;
}

const WARMUP_COSINE_DECAY_SCHEDULE_KEYS: OptionKeys<WarmupCosineDecayScheduleOptions> = {
  init: true,
  peak: true,
  warmupSteps: true,
  decaySteps: true,
  end: true,
  exponent: true,
};

/**
 * Linear warmup then cosine decay (Optax's `warmup_cosine_decay_schedule`):
 * from `init` linearly to `peak` over `warmupSteps` steps, then a cosine
 * decay from `peak` to `end` over the remaining `decaySteps − warmupSteps`
 * steps, then `end`.
 *
 * @param options `init`, `peak`, `warmupSteps`, `decaySteps` (total, warmup
 * included), `end` (default 0), `exponent` (default 1).
 * @returns The schedule.
 * @throws {RangeError} When `decaySteps ≤ warmupSteps` or a value is invalid.
 * @example
 * ```ts
 * import { optim } from "@gradus/core";
 *
 * const s = optim.warmupCosineDecaySchedule({ init: 0, peak: 1, warmupSteps: 10, decaySteps: 110, end: 0.1 });
 * console.log(s(0), s(5), s(10), s(60), s(110)); // 0 0.5 1 ≈0.55 ≈0.1
 * ```
 */
export function warmupCosineDecaySchedule(
  options: WarmupCosineDecayScheduleOptions,
): CountSchedule {
  const op = "optim.warmupCosineDecaySchedule()";
  checkOptions(
    "optim.warmupCosineDecaySchedule",
    options,
    WARMUP_COSINE_DECAY_SCHEDULE_KEYS,
    "{ init: 0, peak: 0.1, warmupSteps: 100, decaySteps: 1000 }",
  );
  const { init, peak, warmupSteps, decaySteps, end = 0, exponent = 1 } = options;
  checkFinite(op, "init", init);
  checkFinite(op, "peak", peak);
  checkFinite(op, "end", end);
  checkInteger(op, "warmupSteps", warmupSteps, 0);
  checkInteger(op, "decaySteps", decaySteps, 1);
  if (!(decaySteps > warmupSteps)) {
    throw new RangeError(
      `${op}: decaySteps (${decaySteps}) is the total length, warmup included, and must be ` +
        `greater than warmupSteps (${warmupSteps})`,
    );
  }
  const alpha = peak === 0 ? 0 : end / peak;
  const cosine = cosineDecaySchedule({
    init: peak,
    decaySteps: decaySteps - warmupSteps,
    alpha,
    exponent,
  });
  if (warmupSteps === 0) return cosine;
  return joinSchedules(
    [linearSchedule({ init, end: peak, transitionSteps: warmupSteps }), cosine],
    [warmupSteps],
  );
}
