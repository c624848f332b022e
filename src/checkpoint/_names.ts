/**
 * Tensor names from key paths: `{layers: [{w}, {b}]}` → `layers.0.w`,
 * `layers.1.b` (PyTorch's `state_dict` style).
 *
 * @module
 */

import { flatten, type TreeDef } from "../tree/tree.ts";

/** The leaves of a pytree, their dotted names, and its structure. */
export interface NamedLeaves {
  readonly names: readonly string[];
  readonly leaves: readonly unknown[];
  readonly def: TreeDef;
}

/** Flattens `tree` and names each leaf by its key path joined with dots (the root is not named). */
export function namedLeaves(op: string, tree: unknown): NamedLeaves {
  const [leaves, def] = flatten(tree);
  if (def.kind === "leaf") {
    throw new TypeError(
      `${op}: expected an object or array of tensors (their key paths become the tensor names), ` +
        `got a single leaf; wrap it, e.g. { weight: t }`,
    );
  }
  const names: string[] = [];
  const walk = (d: TreeDef, path: readonly string[]): void => {
    switch (d.kind) {
      case "leaf":
        names.push(path.join("."));
        return;
      case "array":
        d.children.forEach((c, i) => walk(c, [...path, String(i)]));
        return;
      case "object":
        d.children.forEach((c, i) => walk(c, [...path, d.keys[i]]));
        return;
      default:
        return; // null and undefined: no leaves
    }
  };
  walk(def, []);
  return { names, leaves, def };
}

/** Names given to more than one leaf (e.g. by keys `"a.b"` and `a: {b}`). */
export function duplicateNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) dup.add(n);
    seen.add(n);
  }
  return [...dup];
}
