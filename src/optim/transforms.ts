/**
 * Gradient transformations, the building blocks of the optimizers (Optax's
 * `scale_by_*`, `trace`, `add_decayed_weights`; the `clip*` ones are in
 * `clipping.ts`). Each is a pure `{init, update}` pair; its state type is
 * exported next to its factory.
 *
 * Conventions shared by all of them:
 * - Step counts are int32 scalar tensors (Optax's `count`), updated with
 *   tensor ops, so a `jit`ted training step keeps one signature (traced
 *   once). Schedules and bias corrections compute from the count in float64
 *   (float32 on WebGPU) and never read a value back from the device; where
 *   the count is known on the host they compute with the number, as before.
 *   A state saved with a number count (older checkpoints) is still accepted.
 * - Moment estimates are pytrees of tensors mirroring the params, created
 *   with `zerosLike` (same shape, dtype and backend).
 * - Every state is a pytree (objects, arrays, numbers, tensors), so it can be
 *   checkpointed like the params.
 * - Updates keep each leaf's dtype: tensors are only combined with plain
 *   numbers, which take the tensor's dtype.
 * - Only {@linkcode scaleByLearningRate} flips the sign.
 *
 * Past ~600 lines because more than half of it is documentation: its eight
 * transformations are small (a few dozen lines of code each, with their
 * options and state types) and share these conventions, so like Optax's
 * `transform.py` they stay in one file.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { describe, knownValues } from "../ops/convert.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";
import { add, cast, div, expm1, mul, neg, pow, sqrt, square, sub } from "../ops/elementwise.ts";
import { map, mapWithPath } from "../tree/tree.ts";
import type { GradientTransformation, LearningRate, Schedule } from "./base.ts";
import {
  asSchedule,
  checkCount,
  checkFinite,
  checkNonNegative,
  checkRange,
  checkState,
  checkStructure,
  countAsFloat,
  GRADS_HINT,
  initCount,
  leafwise,
  type ScheduleAt,
  zerosTree,
} from "./_util.ts";
import { ADAM_KEYS, DECAY_KEYS, RMS_KEYS, RSS_KEYS } from "./_option_keys.ts";

/**
 * The state of a transformation that keeps none: an empty object.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const t = optim.clipByGlobalNorm(1);
 * const state: optim.EmptyState = t.init({ w: tensor([3, 4]) });
 * console.log(state); // {}
 * ```
 */
export type EmptyState = Record<string, never>;

// ---------------------------------------------------------------- scaling

/**
 * The state of {@linkcode scaleBySchedule}: how many updates have been made.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const t = optim.scaleBySchedule((step) => 0.5 ** step);
 * const g = tensor([1]);
 * let state: optim.ScaleByScheduleState = t.init(g);
 * for (let i = 0; i < 3; i++) state = t.update(g, state)[1];
 * console.log(state.count.itemSync()); // 3
 * ```
 */
export interface ScaleByScheduleState {
  /** The number of updates made so far (0 before the first): an int32 scalar tensor. */
  readonly count: Tensor;
}

/**
 * The state of {@linkcode scaleByLearningRate}: how many updates have been made.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const t = optim.scaleByLearningRate(0.1);
 * const g = { w: tensor([2]) };
 * const [updates, state]: [typeof g, optim.ScaleByLearningRateState] = t.update(g, t.init(g));
 * console.log(updates.w.arraySync(), state.count.itemSync()); // ≈ [-0.2] 1
 * ```
 */
export type ScaleByLearningRateState = ScaleByScheduleState;

function scheduled(
  op: string,
  schedule: ScheduleAt,
  sign: 1 | -1,
): GradientTransformation<ScaleByScheduleState> {
  return {
    init(params: unknown): ScaleByScheduleState {
      return { count: initCount(params) };
    },
    update<P>(grads: P, state: ScaleByScheduleState, _params?: P): [P, ScaleByScheduleState] {
      checkState(op, state, ["count"]);
      const count = checkCount(op, state.count, grads);
      const v = schedule(count);
      const scale = (g: Tensor): Tensor =>
        typeof v === "number"
          ? mul(g, sign * v)
          : mul(g, cast(sign === 1 ? v : mul(v, -1), g.dtype));
      return [map(scale, grads), { count: add(count, 1) }];
    },
  };
}

/**
 * Options of {@linkcode scaleByLearningRate}.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const options: optim.ScaleByLearningRateOptions = { flipSign: false };
 * const t = optim.scaleByLearningRate(0.1, options);
 * const g = { w: tensor([1, -2]) };
 * console.log(t.update(g, t.init(g))[0].w.arraySync()); // [0.1, -0.2]
 * ```
 */
export interface ScaleByLearningRateOptions {
  /** Multiply by `−lr` (default true: descent); false multiplies by `lr` (Optax's `flip_sign`). */
  readonly flipSign?: boolean;
}

const SCALE_BY_LR_KEYS: OptionKeys<ScaleByLearningRateOptions> = { flipSign: "boolean" };

/**
 * Multiplies the updates by `−lr`: the last link of every optimizer, and the
 * only place in this module where the sign flips (so the updates are added
 * to the params by {@linkcode applyUpdates}). A schedule receives the
 * number of updates made before this one: 0 on the first update.
 *
 * @param lr A constant learning rate or a schedule `(step) => rate`.
 * @param options `flipSign` (default true; false scales by `+lr`, as Optax's
 * `flip_sign=False`).
 * @returns A transformation whose state is `{count}` (an int32 scalar tensor).
 * @throws {TypeError} When `lr` is neither a finite number nor a function;
 * `update()` throws a RangeError when a schedule returns a non-finite value.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const t = optim.scaleByLearningRate((step) => 0.1 / (step + 1));
 * const g = { w: tensor([1, -2]) };
 * const [u1, s1] = t.update(g, t.init(g));
 * const [u2] = t.update(g, s1);
 * console.log(u1.w.arraySync(), u2.w.arraySync()); // [-0.1, 0.2] [-0.05, 0.1]
 * ```
 */
export function scaleByLearningRate(
  lr: LearningRate,
  options: ScaleByLearningRateOptions = {},
): GradientTransformation<ScaleByLearningRateState> {
  const op = "optim.scaleByLearningRate()";
  checkOptions("optim.scaleByLearningRate", options, SCALE_BY_LR_KEYS, "{ flipSign: false }");
  return scheduled(op, asSchedule(op, lr), options.flipSign === false ? 1 : -1);
}

/**
 * Multiplies the updates by `schedule(step)`, without flipping the sign
 * (Optax's `scale_by_schedule`); `step` is 0 on the first update.
 *
 * @param schedule The factor at each step.
 * @returns A transformation whose state is `{count}` (an int32 scalar tensor).
 * @throws {TypeError} When `schedule` is not a function.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const t = optim.scaleBySchedule((step) => 2 ** step);
 * const g = tensor([1, 1]);
 * const [u1, s1] = t.update(g, t.init(g));
 * const [u2] = t.update(g, s1);
 * console.log(u1.arraySync(), u2.arraySync()); // [1, 1] [2, 2]
 * ```
 */
export function scaleBySchedule(schedule: Schedule): GradientTransformation<ScaleByScheduleState> {
  const op = "optim.scaleBySchedule()";
  if (typeof schedule !== "function") {
    throw new TypeError(`${op}: expected a function (step) => number, got ${describe(schedule)}`);
  }
  return scheduled(op, asSchedule(op, schedule), 1);
}

/**
 * Multiplies the updates by a constant `factor` (no sign flip).
 *
 * @param factor The factor.
 * @returns A stateless transformation.
 * @throws {RangeError} When `factor` is not a finite number.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const t = optim.scale(0.5);
 * const [u] = t.update({ w: tensor([2, -4]) }, t.init({}));
 * console.log(u.w.arraySync()); // [1, -2]
 * ```
 */
export function scale(factor: number): GradientTransformation<EmptyState> {
  checkFinite("optim.scale()", "factor", factor);
  return leafwise((g) => mul(g, factor));
}

// ---------------------------------------------------------------- momentum

/**
 * Options of {@linkcode trace}.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const options: optim.TraceOptions = { decay: 0.5, nesterov: true };
 * const t = optim.trace(options);
 * const g = tensor([1], { dtype: "float64" });
 * const [u] = t.update(g, t.init(g));
 * console.log(u.arraySync()); // [1.5] (g + decay·t, t = g)
 * ```
 */
export interface TraceOptions {
  /** The decay of the trace (the momentum coefficient β, e.g. 0.9). */
  readonly decay: number;
  /** Nesterov momentum: the update is `g + decay·t` instead of `t`. Default: `false`. */
  readonly nesterov?: boolean;
}

const TRACE_KEYS: OptionKeys<TraceOptions> = { decay: true, nesterov: "boolean" };

/**
 * The state of {@linkcode trace}.
 *
 * @example
 * ```ts
 * import { optim, type Tensor, tensor } from "@gradus/core";
 *
 * const t = optim.trace({ decay: 0.5 });
 * const g = { w: tensor([2], { dtype: "float64" }) };
 * let state: optim.TraceState = t.init(g);
 * for (let i = 0; i < 2; i++) state = t.update(g, state)[1];
 * console.log((state.trace as { w: Tensor }).w.arraySync()); // [3] (2, then 2 + 0.5·2)
 * ```
 */
export interface TraceState {
  /** The trace `t` (a pytree of tensors mirroring the params; zeros at first). */
  readonly trace: unknown;
}

/**
 * Momentum (Optax's `trace`): keeps `t ← g + decay·t` and outputs `t`, or
 * `g + decay·t` (with the new `t`) for Nesterov momentum.
 *
 * Followed by `scaleByLearningRate(lr)` this is the book's Momentum
 * (`v ← αv − lr·g; W ← W + v`) with `v = −lr·t` for a constant `lr`.
 *
 * @param options `decay` (required), `nesterov` (default `false`).
 * @returns A transformation whose state is `{trace}`.
 * @throws {RangeError} When `decay` is not a finite number.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const t = optim.trace({ decay: 0.9 });
 * const g = { w: tensor([1]) };
 * const [u1, s1] = t.update(g, t.init(g));
 * const [u2] = t.update(g, s1);
 * console.log(u1.w.arraySync(), u2.w.arraySync()); // [1] ≈[1.9] (float32)
 * ```
 */
export function trace(options: TraceOptions): GradientTransformation<TraceState> {
  const op = "optim.trace()";
  checkOptions("optim.trace", options, TRACE_KEYS, "{ decay: 0.9, nesterov: true }");
  const { decay, nesterov = false } = options ?? ({} as TraceOptions);
  checkFinite(op, "decay", decay);
  return {
    init(params: unknown): TraceState {
      return { trace: zerosTree(op, params) };
    },
    update<P>(grads: P, state: TraceState, _params?: P): [P, TraceState] {
      checkState(op, state, ["trace"]);
      checkStructure(op, state.trace, grads, "grads", GRADS_HINT);
      const f = (g: Tensor, t: Tensor): Tensor => add(g, mul(t, decay));
      const next = map(f, grads, state.trace);
      const updates = nesterov ? map(f, grads, next) : next;
      return [updates, { trace: next }];
    },
  };
}

// ---------------------------------------------------------------- adaptive

/**
 * Options of {@linkcode scaleByRss}.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const options: optim.ScaleByRssOptions = { initialAccumulatorValue: 5, eps: 0 };
 * const t = optim.scaleByRss(options);
 * const g = tensor([2], { dtype: "float64" });
 * const [u] = t.update(g, t.init(g));
 * console.log(u.arraySync()); // [0.6666666666666666] (2 / √(5 + 2²))
 * ```
 */
export interface ScaleByRssOptions {
  /** The starting value of the accumulator `h`. Default: `0` (the book; Optax uses 0.1). */
  readonly initialAccumulatorValue?: number;
  /** Added to `√h` in the denominator. Default: `1e-7` (the book's AdaGrad). */
  readonly eps?: number;
}

/**
 * The state of {@linkcode scaleByRss}.
 *
 * @example
 * ```ts
 * import { optim, type Tensor, tensor } from "@gradus/core";
 *
 * const t = optim.scaleByRss();
 * const g = tensor([1, 2], { dtype: "float64" });
 * const [, state]: [Tensor, optim.ScaleByRssState] = t.update(g, t.init(g));
 * console.log((state.sumOfSquares as Tensor).arraySync()); // [1, 4]
 * ```
 */
export interface ScaleByRssState {
  /** The sum of squared gradients `h` (a pytree mirroring the params). */
  readonly sumOfSquares: unknown;
}

/**
 * AdaGrad's scaling by the root of the sum of squares: `h ← h + g²`, output
 * `g / (√h + eps)`, as in the book's AdaGrad (`lr·g / (√h + 1e-7)` once
 * scaled by the learning rate). Optax's `scale_by_rss` puts `eps` inside the
 * root instead (`g / √(h + eps)`); the difference only matters for tiny `h`.
 *
 * @param options `initialAccumulatorValue` (default 0), `eps` (default 1e-7).
 * @returns A transformation whose state is `{sumOfSquares}`.
 * @throws {RangeError} When an option is negative or not finite.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const t = optim.scaleByRss();
 * const g = tensor([2], { dtype: "float64" });
 * const [u1, s1] = t.update(g, t.init(g));
 * const [u2] = t.update(g, s1);
 * console.log(u1.arraySync(), u2.arraySync()); // ≈ [1] [0.7071] (g/√(g²), g/√(2g²))
 * ```
 */
export function scaleByRss(
  options: ScaleByRssOptions = {},
): GradientTransformation<ScaleByRssState> {
  const op = "optim.scaleByRss()";
  checkOptions("optim.scaleByRss", options, RSS_KEYS, "{ eps: 1e-7 }");
  const { initialAccumulatorValue = 0, eps = 1e-7 } = options;
  checkNonNegative(op, "initialAccumulatorValue", initialAccumulatorValue);
  checkNonNegative(op, "eps", eps);
  return {
    init(params: unknown): ScaleByRssState {
      const zeros = zerosTree(op, params);
      return {
        sumOfSquares: initialAccumulatorValue === 0
          ? zeros
          : map((z: Tensor) => add(z, initialAccumulatorValue), zeros),
      };
    },
    update<P>(grads: P, state: ScaleByRssState, _params?: P): [P, ScaleByRssState] {
      checkState(op, state, ["sumOfSquares"]);
      checkStructure(op, state.sumOfSquares, grads, "grads", GRADS_HINT);
      const h = map((g: Tensor, h: Tensor) => add(h, square(g)), grads, state.sumOfSquares);
      const updates = map((g: Tensor, h: Tensor) => div(g, add(sqrt(h), eps)), grads, h);
      return [updates, { sumOfSquares: h }];
    },
  };
}

/**
 * Options of {@linkcode scaleByRms}.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const options: optim.ScaleByRmsOptions = { decay: 0.9, eps: 0, initialScale: 0 };
 * const t = optim.scaleByRms(options);
 * const g = tensor([3], { dtype: "float64" });
 * const [u] = t.update(g, t.init(g));
 * console.log(u.arraySync()); // ≈ [3.1623] (3 / √(0.1·3²))
 * ```
 */
export interface ScaleByRmsOptions {
  /** The decay of the moving average of squared gradients. Default: `0.99` (the book). */
  readonly decay?: number;
  /** Added to `√h` in the denominator. Default: `1e-7` (the book's RMSprop). */
  readonly eps?: number;
  /** The starting value of `h`. Default: `0`. */
  readonly initialScale?: number;
}

/**
 * The state of {@linkcode scaleByRms}.
 *
 * @example
 * ```ts
 * import { optim, type Tensor, tensor } from "@gradus/core";
 *
 * const t = optim.scaleByRms({ decay: 0.9 });
 * const g = tensor([3], { dtype: "float64" });
 * const [, state]: [Tensor, optim.ScaleByRmsState] = t.update(g, t.init(g));
 * console.log((state.nu as Tensor).arraySync()); // ≈ [0.9] (0.1·3²)
 * ```
 */
export interface ScaleByRmsState {
  /** The moving average of squared gradients `h` (a pytree mirroring the params). */
  readonly nu: unknown;
}

/**
 * RMSProp's scaling: `h ← decay·h + (1 − decay)·g²`, output `g / (√h + eps)`,
 * as in the book's RMSprop (decay 0.99, `1e-7` in the denominator). Optax's
 * `scale_by_rms` defaults to decay 0.9 and puts `eps` inside the root.
 *
 * @param options `decay` (default 0.99), `eps` (default 1e-7), `initialScale` (default 0).
 * @returns A transformation whose state is `{nu}`.
 * @throws {RangeError} When `decay` is outside [0, 1] or another option is negative.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const t = optim.scaleByRms({ decay: 0.75 });
 * const g = tensor([2], { dtype: "float64" });
 * const [u] = t.update(g, t.init(g));
 * console.log(u.arraySync()); // ≈ [2] (g / √(0.25·g²))
 * ```
 */
export function scaleByRms(
  options: ScaleByRmsOptions = {},
): GradientTransformation<ScaleByRmsState> {
  const op = "optim.scaleByRms()";
  checkOptions("optim.scaleByRms", options, RMS_KEYS, "{ decay: 0.9 }");
  const { decay = 0.99, eps = 1e-7, initialScale = 0 } = options;
  checkRange(op, "decay", decay, 0, 1);
  checkNonNegative(op, "eps", eps);
  checkNonNegative(op, "initialScale", initialScale);
  return {
    init(params: unknown): ScaleByRmsState {
      const zeros = zerosTree(op, params);
      return {
        nu: initialScale === 0 ? zeros : map((z: Tensor) => add(z, initialScale), zeros),
      };
    },
    update<P>(grads: P, state: ScaleByRmsState, _params?: P): [P, ScaleByRmsState] {
      checkState(op, state, ["nu"]);
      checkStructure(op, state.nu, grads, "grads", GRADS_HINT);
      const nu = map(
        (g: Tensor, h: Tensor) => add(mul(h, decay), mul(square(g), 1 - decay)),
        grads,
        state.nu,
      );
      const updates = map((g: Tensor, h: Tensor) => div(g, add(sqrt(h), eps)), grads, nu);
      return [updates, { nu }];
    },
  };
}

/**
 * Options of {@linkcode scaleByAdam}.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const options: optim.ScaleByAdamOptions = { b1: 0.9, b2: 0.99, eps: 1e-8, epsRoot: 0 };
 * const t = optim.scaleByAdam(options);
 * const g = tensor([0.5, -4]);
 * const [u] = t.update(g, t.init(g));
 * console.log(u.arraySync()); // ≈ [1, -1] (the first step is about sign(g))
 * ```
 */
export interface ScaleByAdamOptions {
  /** Decay of the first moment (the mean of the gradients). Default: `0.9`. */
  readonly b1?: number;
  /** Decay of the second moment (the mean of the squared gradients). Default: `0.999`. */
  readonly b2?: number;
  /** Added to `√v̂` in the denominator. Default: `1e-8`. */
  readonly eps?: number;
  /** Added to `v̂` inside the root (Optax's `eps_root`). Default: `0`. */
  readonly epsRoot?: number;
}

/**
 * The state of {@linkcode scaleByAdam}.
 *
 * @example
 * ```ts
 * import { optim, type Tensor, tensor } from "@gradus/core";
 *
 * const t = optim.scaleByAdam();
 * const g = { w: tensor([2], { dtype: "float64" }) };
 * const [, state]: [typeof g, optim.ScaleByAdamState] = t.update(g, t.init(g));
 * const { mu, nu } = state as unknown as { mu: { w: Tensor }; nu: { w: Tensor } };
 * console.log(state.count.itemSync(), mu.w.arraySync(), nu.w.arraySync()); // 1 ≈ [0.2] ≈ [0.004]
 * ```
 */
export interface ScaleByAdamState {
  /** The number of updates made so far (0 before the first): an int32 scalar tensor. */
  readonly count: Tensor;
  /** The first moment `m` (a pytree mirroring the params). */
  readonly mu: unknown;
  /** The second moment `v` (a pytree mirroring the params). */
  readonly nu: unknown;
}

/**
 * Adam's scaling with bias correction, as in Optax's `scale_by_adam`:
 * `m ← b1·m + (1 − b1)·g`, `v ← b2·v + (1 − b2)·g²`, then with `t` the new
 * count, `m̂ = m / (1 − b1ᵗ)`, `v̂ = v / (1 − b2ᵗ)` and the output is
 * `m̂ / (√(v̂ + epsRoot) + eps)`. The first output is `g / (|g| + eps)`,
 * i.e. about `sign(g)`.
 *
 * The book's Adam folds the corrections into the learning rate
 * (`lr·√(1 − b2ᵗ)/(1 − b1ᵗ)·m / (√v + 1e-7)`): the same up to where `eps` sits.
 *
 * @param options `b1` (default 0.9), `b2` (default 0.999), `eps` (default
 * 1e-8), `epsRoot` (default 0).
 * @returns A transformation whose state is `{count, mu, nu}`.
 * @throws {RangeError} When `b1` or `b2` is outside [0, 1), or `eps`/`epsRoot` is negative.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const t = optim.scaleByAdam();
 * const g = { w: tensor([0.3, -20]) };
 * const [u, s] = t.update(g, t.init(g));
 * console.log(u.w.arraySync(), s.count.itemSync()); // ≈ [1, -1] 1
 * ```
 */
export function scaleByAdam(
  options: ScaleByAdamOptions = {},
): GradientTransformation<ScaleByAdamState> {
  const op = "optim.scaleByAdam()";
  checkOptions("optim.scaleByAdam", options, ADAM_KEYS, "{ b1: 0.9, b2: 0.999 }");
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0 } = options;
  checkRange(op, "b1", b1, 0, 1, true);
  checkRange(op, "b2", b2, 0, 1, true);
  checkNonNegative(op, "eps", eps);
  checkNonNegative(op, "epsRoot", epsRoot);
  return {
    init(params: unknown): ScaleByAdamState {
      return { count: initCount(params), mu: zerosTree(op, params), nu: zerosTree(op, params) };
    },
    update<P>(grads: P, state: ScaleByAdamState, _params?: P): [P, ScaleByAdamState] {
      checkState(op, state, ["count", "mu", "nu"]);
      const count = checkCount(op, state.count, grads);
      checkStructure(op, state.mu, grads, "grads", GRADS_HINT);
      checkStructure(op, state.nu, grads, "grads", GRADS_HINT);
      const mu = map(
        (g: Tensor, m: Tensor) => add(mul(m, b1), mul(g, 1 - b1)),
        grads,
        state.mu,
      );
      const nu = map(
        (g: Tensor, v: Tensor) => add(mul(v, b2), mul(square(g), 1 - b2)),
        grads,
        state.nu,
      );
      const t = add(count, 1);
      // The corrections 1 − βᵗ: numbers where the count is known on the host,
      // else computed the same way in float64 (Math.pow on the host), so
      // both round to the same value of the moments' dtype.
      const known = knownValues(count);
      let c1: number | Tensor, c2: number | Tensor;
      if (known !== null) {
        c1 = 1 - b1 ** (known[0] + 1);
        c2 = 1 - b2 ** (known[0] + 1);
      } else {
        const tf = countAsFloat(t);
        // In float32 (WebGPU) 1 − βᵗ cancels (β near 1): −expm1(t·ln β) keeps it accurate.
        const f32 = tf.dtype === "float32";
        c1 = f32 ? neg(expm1(mul(tf, Math.log(b1)))) : sub(1, pow(b1, tf));
        c2 = f32 ? neg(expm1(mul(tf, Math.log(b2)))) : sub(1, pow(b2, tf));
      }
      const like = (c: number | Tensor, x: Tensor): number | Tensor =>
        typeof c === "number" ? c : cast(c, x.dtype);
      const updates = map(
        (m: Tensor, v: Tensor) => {
          const vHat = div(v, like(c2, v));
          const root = sqrt(epsRoot === 0 ? vHat : add(vHat, epsRoot));
          return div(div(m, like(c1, m)), add(root, eps));
        },
        mu as P,
        nu,
      );
      return [updates, { count: t, mu, nu }];
    },
  };
}

// ---------------------------------------------------------------- weight decay

/**
 * A pytree of booleans saying which params get weight decay (`true`: decay).
 * `null` and `undefined` are empty subtrees, as everywhere in `tree`.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * // Decay the weights, never the biases.
 * const mask: optim.MaskTree = { layers: [{ w: true, b: false }] };
 * const params = { layers: [{ w: tensor([10]), b: tensor([10]) }] };
 * const t = optim.addDecayedWeights(0.1, { mask });
 * const [u] = t.update({ layers: [{ w: tensor([0]), b: tensor([0]) }] }, t.init(params), params);
 * console.log(u.layers[0].w.arraySync(), u.layers[0].b.arraySync()); // [1] [0]
 * ```
 */
export type MaskTree =
  | boolean
  | null
  | undefined
  | readonly MaskTree[]
  | { readonly [key: string]: MaskTree };

/**
 * Options of {@linkcode addDecayedWeights}.
 *
 * @example
 * ```ts
 * import { optim, type Tensor, tensor, tree } from "@gradus/core";
 *
 * type Params = { w: Tensor; b: Tensor };
 * // The mask as a function of the params: decay matrices, not vectors.
 * const options: optim.AddDecayedWeightsOptions<Params> = {
 *   mask: (p) => tree.map((x: Tensor) => x.ndim > 1, p),
 * };
 * const params: Params = { w: tensor([[10]]), b: tensor([10]) };
 * const t = optim.addDecayedWeights<Params>(0.1, options);
 * const [u] = t.update({ w: tensor([[0]]), b: tensor([0]) }, t.init(params), params);
 * console.log(u.w.arraySync(), u.b.arraySync()); // [[1]] [0]
 * ```
 */
export interface AddDecayedWeightsOptions<P = unknown> {
  /**
   * Which params are decayed: a {@linkcode MaskTree} with the structure of the
   * params, or a function of the params returning one (e.g. built with
   * `tree.map`). Default: all.
   */
  readonly mask?: MaskTree | ((params: P) => unknown);
}

/**
 * Decoupled weight decay (Optax's `add_decayed_weights`): adds
 * `weightDecay·params` to the updates. Needs the params:
 * `opt.update(grads, state, params)`. Placed before `scaleByLearningRate`,
 * the decay is scaled by the learning rate too, as in AdamW.
 *
 * @typeParam P The params type the `mask` function takes.
 * @param weightDecay The factor (≥ 0).
 * @param options `mask`: which leaves are decayed (default: all).
 * @returns A stateless transformation.
 * @throws {RangeError} When `weightDecay` is negative or not finite;
 * `update()` throws when the params are missing or do not match the grads or
 * the mask.
 * @example
 * ```ts
 * import { optim, tensor } from "@gradus/core";
 *
 * const params = { w: tensor([10, 20]), b: tensor([10]) };
 * const grads = { w: tensor([1, 1]), b: tensor([1]) };
 * const t = optim.addDecayedWeights(0.1, { mask: { w: true, b: false } });
 * const [u] = t.update(grads, t.init(params), params);
 * console.log(u.w.arraySync(), u.b.arraySync()); // [2, 3] [1]
 * ```
 */
export function addDecayedWeights<P = unknown>(
  weightDecay: number,
  options: AddDecayedWeightsOptions<P> = {},
): GradientTransformation<EmptyState> {
  const op = "optim.addDecayedWeights()";
  checkNonNegative(op, "weightDecay", weightDecay);
  checkOptions("optim.addDecayedWeights", options, DECAY_KEYS, "{ mask }");
  const { mask } = options;
  return {
    init(_params: unknown): EmptyState {
      return {};
    },
    update<G>(grads: G, state: EmptyState, params?: G): [G, EmptyState] {
      if (params === undefined) {
        throw new TypeError(`${op}: update() needs params; call opt.update(grads, state, params)`);
      }
      checkStructure(
        op,
        grads,
        params,
        "params",
        "params must have the structure of the grads",
      );
      if (mask === undefined) {
        return [map((u: Tensor, p: Tensor) => add(u, mul(p, weightDecay)), grads, params), state];
      }
      const m = typeof mask === "function" ? mask(params as unknown as P) : mask;
      checkStructure(op, params, m, "mask", "the mask must have the structure of the params");
      const updates = mapWithPath(
        (path: string, u: Tensor, p: Tensor, keep: unknown) => {
          if (typeof keep !== "boolean") {
            throw new TypeError(
              `${op}: mask leaves must be booleans, got ${describe(keep)} at ${
                path.replace(/^tree/, "mask")
              }`,
            );
          }
          return keep ? add(u, mul(p, weightDecay)) : u;
        },
        grads,
        params,
        m,
      );
      return [updates, state];
    },
  };
}
