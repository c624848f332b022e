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
 * Every key of an options type, each marked `true`, or `"boolean"` for a
 * boolean option (its value is checked to be one: `{ keepdims: "false" }`
 * would otherwise keep the axis): a `Record` over `keyof T`, so a key the
 * type gains and the table lacks, or a boolean option not marked so, is a
 * type error.
 * @internal
 */
export type OptionKeys<T> = {
  readonly [K in keyof Required<T>]: Required<T>[K] extends boolean ? "boolean" : true;
};

/**
 * Throws a `TypeError` unless `opts` is `undefined` or an object whose own
 * keys are all in `keys`; `example` shows the object `op` takes, e.g.
 * `{ keepdims: true }`. The known key nearest to an unknown one (ignoring
 * case and underscores, at most two letters apart) is named as its likely
 * meaning: `keepDims` → `keepdims`, `strides` → `stride`, `shufle` →
 * `shuffle`. With `required`, `undefined` throws too.
 * @internal
 */
export function checkOptions<T>(
  op: string,
  opts: T | undefined,
  keys: OptionKeys<T>,
  example: string,
  required = false,
): void {
  if (opts === undefined && !required) return;
  if (opts === null || typeof opts !== "object" || Array.isArray(opts)) {
    throw new TypeError(
      `${op}(): expected an options object such as ${example} here, got ${describe(opts)}; ` +
        `options are named, not positional`,
    );
  }
  for (const key of Object.keys(opts)) {
    if (Object.hasOwn(keys, key)) {
      const kind = (keys as Record<string, unknown>)[key];
      const value = (opts as Record<string, unknown>)[key];
      if (kind === "boolean" && value !== undefined && typeof value !== "boolean") {
        throw new TypeError(
          `${op}(): option "${key}" must be true or false, got ${describe(value)}`,
        );
      }
      continue;
    }
    const known = Object.keys(keys);
    const near = closest(key, known);
    throw new TypeError(
      `${op}(): unknown option "${key}"` + (near ? ` (did you mean "${near}"?)` : "") +
        `; the options are ${known.map((k) => `"${k}"`).join(", ")}, e.g. ${example}`,
    );
  }
}

/** The key of `known` nearest to `key` (case and underscores ignored; at most 2 edits), if any. */
function closest(key: string, known: readonly string[]): string | undefined {
  const fold = (k: string) => k.toLowerCase().replaceAll("_", "");
  const a = fold(key);
  let best: string | undefined;
  let bound = Math.min(2, a.length - 1) + 1; // distances below this count
  for (const k of known) {
    const d = editDistance(a, fold(k));
    if (d < bound) [best, bound] = [k, d];
  }
  return best;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}
