/**
 * Key paths of pytrees, for messages and `flattenWithPath`:
 * `params.layers[1].b`, with keys that are not identifiers JSON-quoted
 * (`tree["my key"]`).
 *
 * @module
 */

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** One step of a key path: an object key or an array index. */
export type Segment = string | number;

/** An object key as written in a path or a structure: `w`, or `"my key"`. */
export function formatKey(key: string): string {
  return IDENTIFIER.test(key) ? key : JSON.stringify(key);
}

/** Keys as a list for messages: `[a, "my key"]`. */
export function formatKeys(keys: readonly string[]): string {
  return `[${keys.map(formatKey).join(", ")}]`;
}

/** The key path of `segments` below `root`: `params.layers[1].b`. */
export function formatPath(root: string, segments: readonly Segment[]): string {
  let s = root;
  for (const seg of segments) {
    if (typeof seg === "number") s += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) s += `.${seg}`;
    else s += `[${JSON.stringify(seg)}]`;
  }
  return s;
}
