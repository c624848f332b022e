/**
 * The structure of a pytree without its leaves ({@linkcode TreeDef}), and
 * the kinds of its nodes. What counts as a node and what as a leaf is
 * described in `tree.ts`, which re-exports both.
 *
 * @example
 * ```ts
 * import { tree, TreeDef } from "@gradus/core";
 *
 * const def = tree.structure({ w: [1, 2], b: 3 });
 * console.log(def instanceof TreeDef, def.toString()); // true "{b: *, w: [*, *]}"
 * ```
 *
 * @module
 */

import { formatKey, formatKeys } from "./_paths.ts";

/**
 * The kind of one node of a {@linkcode TreeDef}: a leaf, an empty subtree
 * (`"null"` or `"undefined"`), an array or a plain object.
 *
 * @example
 * ```ts
 * import { tree, type TreeDefKind } from "@gradus/core";
 *
 * const def = tree.structure({ w: [1, 2], b: null });
 * const kinds: TreeDefKind[] = [def.kind, ...def.children.map((c) => c.kind)];
 * console.log(kinds); // [ "object", "null", "array" ] (keys sorted: b, w)
 * ```
 */
export type TreeDefKind = "leaf" | "null" | "undefined" | "array" | "object";

/**
 * The structure of a pytree, without its leaves: what {@linkcode flatten}
 * returns next to the leaves and what {@linkcode unflatten} needs to rebuild
 * the tree. Immutable.
 *
 * Usually obtained from {@linkcode structure} or {@linkcode flatten} rather than
 * built by hand.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tree } from "@gradus/core";
 *
 * const def = tree.structure({ a: 1, b: [2, 3], c: null });
 * assert.equal(def.toString(), "{a: *, b: [*, *], c: null}");
 * assert.equal(def.numLeaves, 3);
 * assert.equal(def.kind, "object");
 * assert.deepEqual(def.keys, ["a", "b", "c"]);
 * ```
 */
export class TreeDef {
  /** What this node is. */
  readonly kind: TreeDefKind;
  /** The sorted keys of an `"object"` node (one per child); empty otherwise. */
  readonly keys: readonly string[];
  /**
   * The children of an `"array"` node (by index) or of an `"object"` node (in
   * the order of {@linkcode TreeDef.keys}); empty for the other kinds.
   */
  readonly children: readonly TreeDef[];
  /** How many leaves a tree of this structure has. */
  readonly numLeaves: number;

  /**
   * Builds a structure node. Prefer {@linkcode structure} or
   * {@linkcode flatten}; this is for the rare case of building one by hand.
   *
   * @param kind What the node is.
   * @param children The children, for `"array"` and `"object"` nodes only.
   * @param keys The keys of an `"object"` node, strictly increasing in sort
   * order, one per child; empty for the other kinds.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { tree, TreeDef } from "@gradus/core";
   *
   * const leaf = new TreeDef("leaf");
   * const def = new TreeDef("object", [leaf, new TreeDef("array", [leaf])], ["a", "b"]);
   * assert.deepEqual(tree.unflatten(def, [1, 2]), { a: 1, b: [2] });
   * ```
   */
  constructor(
    kind: TreeDefKind,
    children: readonly TreeDef[] = [],
    keys: readonly string[] = [],
  ) {
    if (kind !== "array" && kind !== "object" && children.length > 0) {
      throw new Error(
        `TreeDef(): a "${kind}" node has no children, got ${children.length}`,
      );
    }
    if (kind === "object") {
      if (keys.length !== children.length) {
        throw new Error(
          `TreeDef(): an object node needs one key per child, got ${keys.length} keys and ${children.length} children`,
        );
      }
      for (let i = 1; i < keys.length; i++) {
        if (!(keys[i - 1] < keys[i])) {
          throw new Error(
            `TreeDef(): object keys must be sorted and unique, got ${formatKeys(keys)}`,
          );
        }
      }
    } else if (keys.length > 0) {
      throw new Error(`TreeDef(): only an object node has keys`);
    }
    this.kind = kind;
    this.children = Object.freeze([...children]);
    this.keys = Object.freeze([...keys]);
    let n = kind === "leaf" ? 1 : 0;
    for (const c of children) n += c.numLeaves;
    this.numLeaves = n;
    Object.freeze(this);
  }

  /**
   * Whether `other` describes the same structure (same kinds, same array
   * lengths, same object keys, all the way down).
   *
   * @param other Another structure.
   * @returns `true` when the two structures are identical.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { tree } from "@gradus/core";
   *
   * const a = tree.structure({ x: 1, y: [2] });
   * assert.ok(a.equals(tree.structure({ y: ["two"], x: "one" })));
   * assert.ok(!a.equals(tree.structure({ x: 1, y: [2, 3] })));
   * ```
   */
  equals(other: TreeDef): boolean {
    if (this === other) return true;
    if (
      this.kind !== other.kind ||
      this.children.length !== other.children.length ||
      this.numLeaves !== other.numLeaves
    ) {
      return false;
    }
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] !== other.keys[i]) return false;
    }
    for (let i = 0; i < this.children.length; i++) {
      if (!this.children[i].equals(other.children[i])) return false;
    }
    return true;
  }

  /**
   * A compact picture of the structure: `*` for a leaf, `null`, `undefined`,
   * `[…]` for arrays and `{key: …}` for objects (non-identifier keys
   * JSON-quoted).
   *
   * @returns For example `{a: *, b: [*, *], c: null}`.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { tree } from "@gradus/core";
   *
   * assert.equal(tree.structure({ "my key": [1, {}], z: [] }).toString(), '{"my key": [*, {}], z: []}');
   * ```
   */
  toString(): string {
    switch (this.kind) {
      case "leaf":
        return "*";
      case "null":
        return "null";
      case "undefined":
        return "undefined";
      case "array":
        return `[${this.children.map((c) => c.toString()).join(", ")}]`;
      case "object":
        return `{${
          this.children
            .map((c, i) => `${formatKey(this.keys[i])}: ${c.toString()}`)
            .join(", ")
        }}`;
    }
  }
}
