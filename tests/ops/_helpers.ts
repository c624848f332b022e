/**
 * Assertions shared by the op and core tests: compare a tensor with
 * expected values written as nested arrays (as NumPy's `tolist()` prints
 * them), checking dtype and shape too.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DType, Tensor } from "../../mod.ts";

/** Expected values: a number/boolean or nested arrays of them (booleans read as 1/0). */
export type Want = number | boolean | readonly Want[];

/** Tolerances; both default to 0 (exact, with NaN equal to NaN). */
export interface Tol {
  /** Absolute tolerance. */
  readonly atol?: number;
  /** Relative tolerance (of the expected value). */
  readonly rtol?: number;
  /** The expected shape, when the nesting cannot say it (e.g. `[0, 3]`). */
  readonly shape?: readonly number[];
}

/** Tolerance for float32 transcendental functions against NumPy's float32 kernels. */
export const F32: Tol = { atol: 1e-7, rtol: 1e-6 };
/** Tolerance for float64 transcendental functions against NumPy (different libm). */
export const F64: Tol = { atol: 1e-15, rtol: 1e-14 };

function shapeOf(w: Want): number[] {
  if (!Array.isArray(w)) return [];
  if (w.length === 0) return [0];
  return [w.length, ...shapeOf(w[0])];
}

function flat(w: Want, out: number[] = []): number[] {
  if (Array.isArray(w)) { for (const v of w) flat(v, out); }
  else out.push(typeof w === "boolean" ? (w ? 1 : 0) : w as number);
  return out;
}

/**
 * Asserts `t` has `dtype`, the shape of `want`'s nesting, and `want`'s
 * values. Expected floats are rounded to float32 first for float32 tensors,
 * so NumPy's shortest float32 digits (`0.1`) compare exactly.
 */
export function assertTensor(t: Tensor, want: Want, dtype: DType, tol: Tol = {}): void {
  assert.equal(t.dtype, dtype, `dtype: got ${t.dtype}, want ${dtype}`);
  const shape = tol.shape ?? shapeOf(want);
  assert.deepEqual([...t.shape], [...shape], `shape: got [${t.shape}], want [${shape}]`);
  const got = t.dataSync();
  const w = flat(want);
  assert.equal(got.length, w.length, `size: got ${got.length}, want ${w.length}`);
  const atol = tol.atol ?? 0;
  const rtol = tol.rtol ?? 0;
  for (let i = 0; i < w.length; i++) {
    const g = got[i];
    const e = dtype === "float32" ? Math.fround(w[i]) : w[i];
    const ok = g === e || (Number.isNaN(g) && Number.isNaN(e)) ||
      Math.abs(g - e) <= atol + rtol * Math.abs(e);
    if (!ok) {
      assert.fail(
        `flat index ${i}: got ${g}, want ${e} (atol ${atol}, rtol ${rtol})\n` +
          `got:  [${[...got].join(", ")}]\nwant: [${w.join(", ")}]`,
      );
    }
  }
}

/** Asserts `f` throws an instance of `cls` whose message matches `re`. */
export function assertThrowsMatch(
  f: () => unknown,
  // deno-lint-ignore no-explicit-any
  cls: new (...args: any[]) => Error,
  re: RegExp,
): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    assert.match((e as Error).message, re);
    return true;
  });
}
