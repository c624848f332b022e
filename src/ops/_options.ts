/**
 * Checking the options object an op is given. TypeScript rejects a
 * positional value or a misspelt key where an options object goes, but
 * JavaScript callers (and `any`) reach the op with them: `sum(x, 1, true)`
 * or `sum(x, 1, { keepDims: true })` as in TF.js, `matmul(a, b, true)`,
 * `zeros([2], "int32")`, `tensor(v, [2, 3])`. Ignored, each would give a
 * silently different answer (no kept axis, no transpose, float32), so the
 * ops throw instead, naming what they saw and the form they take.
 *
 * @module
 */

import { describe } from "./convert.ts";

/**
 * Every key of an options type, each marked `true`: a `Record` over
 * `keyof T`, so a key the type gains and the table lacks is a type error.
 * @internal
 */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

/**
 * Throws a `TypeError` unless `opts` is `undefined` or an object whose own
 * keys are all in `keys`; `example` shows the object `op` takes, e.g.
 * `{ keepdims: true }`. A key that differs from a known one only in case,
 * underscores or a plural `s` is named as the likely meaning (`keepDims` →
 * `keepdims`, `strides` → `stride`).
 * @internal
 */
export function checkOptions<T>(
  op: string,
  opts: T | undefined,
  keys: OptionKeys<T>,
  example: string,
): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== "object" || Array.isArray(opts)) {
    throw new TypeError(
      `${op}(): expected an options object such as ${example} here, got ${describe(opts)}; ` +
        `options are named, not positional`,
    );
  }
  for (const key of Object.keys(opts)) {
    if (Object.hasOwn(keys, key)) continue;
    const known = Object.keys(keys);
    const fold = (k: string) => k.toLowerCase().replaceAll("_", "");
    const near = known.find((k) =>
      fold(k) === fold(key) || fold(k) + "s" === fold(key) || fold(k) === fold(key) + "s"
    );
    throw new TypeError(
      `${op}(): unknown option "${key}"` + (near ? ` (did you mean "${near}"?)` : "") +
        `; the options are ${known.map((k) => `"${k}"`).join(", ")}, e.g. ${example}`,
    );
  }
}
