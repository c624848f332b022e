/**
 * Shared test helpers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { allocArray, type DType, type TypedArray } from "../src/core/dtype.ts";
import {
  type Backend,
  CpuBackend,
  getBackend,
  random,
  registerBackend,
  setBackend,
  type Tensor,
} from "../mod.ts";

/** A seeded LCG (Numerical Recipes' constants): uniform numbers in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Random values of a dtype from `rng`: floats in [-4, 4), int32 in [-9, 9] (ties), bool 0/1. */
export function randomArray(dtype: DType, size: number, rng: () => number): TypedArray {
  const out = allocArray(dtype, size);
  for (let i = 0; i < size; i++) {
    const u = rng();
    out[i] = dtype === "bool"
      ? (u < 0.5 ? 1 : 0)
      : dtype === "int32"
      ? Math.floor(u * 19) - 9
      : u * 8 - 4;
  }
  return out;
}

/** Distance in float32 ulps (the float32 values between); 0 when both are NaN, Infinity when only one is. */
export function ulps32(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  const key = (v: number) => {
    const i = new Int32Array(new Float32Array([v]).buffer)[0];
    return i < 0 ? -(i & 0x7fffffff) : i;
  };
  return Math.abs(key(a) - key(b));
}

/** A float64 normal tensor from a fixed seed. */
export function randn(seed: number, shape: readonly number[]): Tensor {
  return random.normal(random.key(seed), shape, { dtype: "float64" });
}

/** A float64 uniform tensor in [lo, hi) from a fixed seed. */
export function randu(seed: number, shape: readonly number[], lo: number, hi: number): Tensor {
  return random.uniform(random.key(seed), shape, { min: lo, max: hi, dtype: "float64" });
}

/** Asserts every element of `got` is within `atol + rtol·|want|` of `want`. */
export function assertClose(
  got: Tensor | ArrayLike<number> | number,
  want: ArrayLike<number> | number,
  { atol = 1e-6, rtol = 1e-6 }: { atol?: number; rtol?: number } = {},
): void {
  const g = typeof got === "number"
    ? [got]
    : "dataSync" in got
    ? [...got.dataSync()]
    : Array.from(got as ArrayLike<number>);
  const w = typeof want === "number" ? [want] : Array.from(want);
  assert.equal(g.length, w.length, `length ${g.length} vs ${w.length}`);
  for (let i = 0; i < g.length; i++) {
    const ok = Math.abs(g[i] - w[i]) <= atol + rtol * Math.abs(w[i]) ||
      (Number.isNaN(g[i]) && Number.isNaN(w[i])) || g[i] === w[i];
    assert.ok(ok, `element ${i}: got ${g[i]}, want ${w[i]} (atol ${atol}, rtol ${rtol})`);
  }
}

/** The CPU kernels, but any read of values throws (name `"hostless"`). */
export class HostlessBackend extends CpuBackend {
  override readonly name = "hostless";
  override readonly canReadSync = false;
  override read(): never {
    throw new Error("host read attempted");
  }
  override readSync(): never {
    throw new Error("host read attempted");
  }
}

/**
 * Runs `fn` with a fresh {@link HostlessBackend} selected as `"hostless"`, and
 * always switches back to the backend selected before afterwards.
 */
export function onHostlessBackend<R>(fn: () => R | Promise<R>): Promise<R> {
  return onBackend("hostless", new HostlessBackend(), fn);
}

/**
 * Runs `fn(backend)` with `backend` registered and selected as `name`, and
 * always switches back to the backend selected before afterwards.
 */
export function onBackend<B extends Backend, R>(
  name: string,
  backend: B,
  fn: (backend: B) => R | Promise<R>,
): Promise<R> {
  registerBackend(name, () => backend);
  return withBackend(name, () => fn(backend));
}

/** Runs `fn` with the registered backend `name` selected, and always switches back afterwards. */
export async function withBackend<R>(name: string, fn: () => R | Promise<R>): Promise<R> {
  const before = getBackend();
  await setBackend(name);
  try {
    return await fn();
  } finally {
    await setBackend(before);
  }
}

const cpu = new CpuBackend();

/** A tensor's values read straight from its buffer with the CPU kernels (works on hostless tensors). */
export function peek(t: Tensor): number[] {
  return [...cpu.readSync(t._data, t.dtype, t.size)];
}
