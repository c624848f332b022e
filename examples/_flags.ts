/**
 * Command-line flags of the examples: `--name=value` or `--name value`.
 * A flag an example does not take (misspelt, or meant for another one) is
 * an error listing those it takes (the process exits with status 2, as
 * command-line tools do on a usage error), instead of a run with the
 * defaults that may last many minutes.
 *
 * @module
 */

import { parseArgs } from "node:util";

/**
 * The values of the flags `names` in `Deno.args` (undefined when not given).
 *
 * @param names The flags the example takes, without the dashes.
 * @returns Each flag's value as written.
 */
export function commandFlags<N extends string>(
  names: readonly N[] = [],
): Readonly<Record<N, string | undefined>> {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: Object.fromEntries(names.map((n) => [n, { type: "string" as const }])),
      strict: true,
      allowPositionals: false,
    });
    return values as Record<N, string | undefined>;
  } catch (e) {
    const takes = names.length === 0
      ? "no flags"
      : `only ${names.map((n) => `--${n}=…`).join(", ")}`;
    console.error(`error: ${(e as Error).message.split(". ")[0]}: this example takes ${takes}`);
    Deno.exit(2);
  }
}

/**
 * A flag's value as a positive integer, or `fallback` when it is not given.
 *
 * @param value The flag's value as written (undefined: not given).
 * @param name The flag, for the error.
 * @param fallback The default.
 * @returns The number.
 */
export function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (value.trim() === "" || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`--${name} must be a positive integer, got "${value}"`);
  }
  return v;
}
