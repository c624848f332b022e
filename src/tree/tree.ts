/**
 * Pytrees: nested objects and arrays whose leaves are tensors (or anything else).
 *
 * Transforms such as `grad()` take a whole pytree of parameters, flatten it to a
 * list of leaves, work on the leaves, and rebuild the same structure. This
 * module does that flattening and rebuilding, and maps functions over one or
 * several trees of the same structure.
 *
 * ## What is a node and what is a leaf
 *
 * - **Objects** whose prototype is `Object.prototype` or `null` (object
 *   literals, `JSON.parse` results, `Object.create(null)`) are nodes. Their own
 *   enumerable string keys (`Object.keys`) are visited in **sorted order**
 *   (`Array.prototype.sort`, i.e. by UTF-16 code units), like JAX dicts, so
 *   `{a, b}` and `{b, a}` have the same structure. Symbol keys and
 *   non-enumerable properties are not part of the structure and are not carried
 *   over. Rebuilt objects are ordinary objects (prototype `Object.prototype`)
 *   whose keys are inserted in sorted order.
 * - **Arrays** (`Array.isArray`) are nodes; their children are the indices
 *   `0 … length-1` (a hole reads as `undefined`). Rebuilt arrays are plain
 *   `Array`s, also for array subclasses.
 * - **`null` and `undefined`** are empty subtrees: they have no leaves and are
 *   kept in the structure as they are (like JAX's `None`). They are two
 *   different structures: `null` does not match `undefined`.
 * - **Everything else is a leaf**: class instances (tensors included, so this
 *   module never needs to know about the Tensor class), numbers, strings,
 *   booleans, bigints, symbols, functions, typed arrays, `Map`s, `Set`s,
 *   `Date`s, and so on.
 *
 * Empty containers (`{}` and `[]`) are kept: they have no leaves but are part
 * of the structure.
 *
 * Leaves are listed depth first: arrays by index, objects by sorted key.
 *
 * ## Key paths
 *
 * Errors and {@linkcode flattenWithPath} name a position in a tree by a key
 * path such as `params.layers[1].b`. The root name is chosen by the caller
 * (`"tree"` by default). Object keys that are ASCII JavaScript identifiers
 * (`/^[A-Za-z_$][A-Za-z0-9_$]*$/`) are written `.key`, other keys `["key"]`
 * (JSON-quoted, e.g. `tree["my key"]`), and array indices `[i]`.
 *
 * ## Errors
 *
 * Structure mismatches name the operation, the key path and what differs, for
 * example `tree.map(): structure mismatch at tree.layers[1].b: expected a leaf,
 * got an array of 2`. A tree that contains itself is rejected:
 * `tree.flatten(): cycle detected at tree.a.b (refers back to tree)`. The
 * same object appearing twice without a cycle is fine: it is visited twice.
 *
 * Nothing is ever mutated: {@linkcode unflatten} and {@linkcode map} build new
 * objects and arrays; leaves are passed through as they are (never copied).
 *
 * @example Flatten, work on the leaves, rebuild
 * ```ts
 * import assert from "node:assert/strict";
 * import { tree } from "@gradus/core";
 *
 * const params = { w: [1, 2], b: 3 };
 * const [leaves, def] = tree.flatten(params);
 * assert.deepEqual(leaves, [3, 1, 2]); // keys sorted: b before w
 * assert.equal(def.toString(), "{b: *, w: [*, *]}");
 * assert.deepEqual(tree.unflatten(def, leaves.map((x) => 10 * (x as number))), {
 *   b: 30,
 *   w: [10, 20],
 * });
 * ```
 *
 * @example From this entry point (`@gradus/core/tree`)
 * ```ts
 * import { leaves, map } from "@gradus/core/tree";
 *
 * const doubled = map((x: number) => 2 * x, { a: 1, b: [2, 3] });
 * console.log(doubled, leaves(doubled)); // { a: 2, b: [ 4, 6 ] } [ 2, 4, 6 ]
 * ```
 *
 * @module
 */

import { Tensor } from "../core/tensor.ts";

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

/**
 * Options of {@linkcode assertSameStructure}.
 *
 * @example
 * ```ts
 * import { tree, type AssertSameStructureOptions } from "@gradus/core";
 *
 * const options: AssertSameStructureOptions = { op: "train()", root: "params" };
 * try {
 *   tree.assertSameStructure({ w: [1, 2] }, { w: [1] }, options);
 * } catch (e) {
 *   console.log((e as Error).message); // train(): structure mismatch at params.w: …
 * }
 * ```
 */
export interface AssertSameStructureOptions {
  /**
   * The operation named at the start of the error message, written as it
   * should appear, e.g. `"grad()"`. Default: `"tree.assertSameStructure()"`.
   */
  op?: string;
  /** The name of the root in key paths, e.g. `"params"`. Default: `"tree"`. */
  root?: string;
}

// ---------------------------------------------------------------------------
// Internals

const LEAF = new TreeDef("leaf");
const NULL = new TreeDef("null");
const UNDEFINED = new TreeDef("undefined");

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

type Segment = string | number;

function formatKey(key: string): string {
  return IDENTIFIER.test(key) ? key : JSON.stringify(key);
}

function formatKeys(keys: readonly string[]): string {
  return `[${keys.map(formatKey).join(", ")}]`;
}

function formatPath(root: string, segments: readonly Segment[]): string {
  let s = root;
  for (const seg of segments) {
    if (typeof seg === "number") s += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) s += `.${seg}`;
    else s += `[${JSON.stringify(seg)}]`;
  }
  return s;
}

function kindOf(x: unknown): TreeDefKind {
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  if (Array.isArray(x)) return "array";
  if (typeof x === "object") {
    const proto = Object.getPrototypeOf(x);
    if (proto === Object.prototype || proto === null) return "object";
  }
  return "leaf";
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function describeDef(def: TreeDef): string {
  switch (def.kind) {
    case "leaf":
      return "a leaf";
    case "null":
    case "undefined":
      return def.kind;
    case "array":
      return def.children.length === 0 ? "an empty array" : `an array of ${def.children.length}`;
    case "object":
      return def.keys.length === 0
        ? "an empty object"
        : `an object with keys ${formatKeys(def.keys)}`;
  }
}

function describeValue(x: unknown): string {
  const kind = kindOf(x);
  switch (kind) {
    case "leaf":
      return "a leaf";
    case "null":
    case "undefined":
      return kind;
    case "array": {
      const n = (x as unknown[]).length;
      return n === 0 ? "an empty array" : `an array of ${n}`;
    }
    case "object": {
      const keys = Object.keys(x as object).sort();
      return keys.length === 0 ? "an empty object" : `an object with keys ${formatKeys(keys)}`;
    }
  }
}

interface FlattenState {
  readonly op: string;
  readonly root: string;
  readonly leaves: unknown[];
  /** Leaf paths, collected only when asked for. */
  readonly paths: string[] | undefined;
  readonly segments: Segment[];
  /** The objects and arrays on the way from the root to the current node, with their depth. */
  readonly ancestors: Map<object, number>;
}

function flattenNode(x: unknown, st: FlattenState): TreeDef {
  const kind = kindOf(x);
  switch (kind) {
    case "leaf":
      st.leaves.push(x);
      st.paths?.push(formatPath(st.root, st.segments));
      return LEAF;
    case "null":
      return NULL;
    case "undefined":
      return UNDEFINED;
  }
  const node = x as object;
  const seenAt = st.ancestors.get(node);
  if (seenAt !== undefined) {
    throw new Error(
      `${st.op}: cycle detected at ${formatPath(st.root, st.segments)} (refers back to ${
        formatPath(st.root, st.segments.slice(0, seenAt))
      }); a pytree must not contain itself`,
    );
  }
  st.ancestors.set(node, st.segments.length);
  let def: TreeDef;
  if (kind === "array") {
    const arr = node as readonly unknown[];
    const children: TreeDef[] = new Array(arr.length);
    for (let i = 0; i < arr.length; i++) {
      st.segments.push(i);
      children[i] = flattenNode(arr[i], st);
      st.segments.pop();
    }
    def = new TreeDef("array", children);
  } else {
    const obj = node as Record<string, unknown>;
    const keys = Object.keys(obj).sort();
    const children: TreeDef[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      st.segments.push(keys[i]);
      children[i] = flattenNode(obj[keys[i]], st);
      st.segments.pop();
    }
    def = new TreeDef("object", children, keys);
  }
  st.ancestors.delete(node);
  return def;
}

function flattenImpl(
  t: unknown,
  op: string,
  root: string,
  withPaths: boolean,
): { leaves: unknown[]; paths: string[] | undefined; def: TreeDef } {
  const st: FlattenState = {
    op,
    root,
    leaves: [],
    paths: withPaths ? [] : undefined,
    segments: [],
    ancestors: new Map(),
  };
  const def = flattenNode(t, st);
  return { leaves: st.leaves, paths: st.paths, def };
}

interface Mismatch {
  readonly segments: readonly Segment[];
  readonly expected: string;
  readonly got: string;
}

/**
 * Walks `x` along `def`, pushing the leaves of `x` into `leaves` (when given).
 * Returns the first mismatch, or `undefined` when `x` has the structure `def`.
 * The walk is bounded by `def`, so a cyclic `x` cannot make it loop.
 */
function matchNode(
  def: TreeDef,
  x: unknown,
  segments: Segment[],
  leaves: unknown[] | undefined,
): Mismatch | undefined {
  const kind = kindOf(x);
  if (kind !== def.kind) {
    return {
      segments: [...segments],
      expected: describeDef(def),
      got: describeValue(x),
    };
  }
  switch (kind) {
    case "leaf":
      leaves?.push(x);
      return undefined;
    case "null":
    case "undefined":
      return undefined;
    case "array": {
      const arr = x as readonly unknown[];
      if (arr.length !== def.children.length) {
        return {
          segments: [...segments],
          expected: describeDef(def),
          got: describeValue(x),
        };
      }
      for (let i = 0; i < arr.length; i++) {
        segments.push(i);
        const m = matchNode(def.children[i], arr[i], segments, leaves);
        segments.pop();
        if (m) return m;
      }
      return undefined;
    }
    case "object": {
      const obj = x as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      const same = keys.length === def.keys.length &&
        keys.every((k, i) => k === def.keys[i]);
      if (!same) {
        return {
          segments: [...segments],
          expected: `keys ${formatKeys(def.keys)}`,
          got: formatKeys(keys),
        };
      }
      for (let i = 0; i < keys.length; i++) {
        segments.push(keys[i]);
        const m = matchNode(def.children[i], obj[keys[i]], segments, leaves);
        segments.pop();
        if (m) return m;
      }
      return undefined;
    }
  }
}

function mismatchError(op: string, root: string, m: Mismatch): Error {
  return new Error(
    `${op}: structure mismatch at ${
      formatPath(root, m.segments)
    }: expected ${m.expected}, got ${m.got}`,
  );
}

/** The leaves of `x`, which must have the structure `def`; throws a mismatch error otherwise. */
function leavesMatching(
  def: TreeDef,
  x: unknown,
  op: string,
  root: string,
): unknown[] {
  const leaves: unknown[] = [];
  const m = matchNode(def, x, [], leaves);
  if (m) throw mismatchError(op, root, m);
  return leaves;
}

function setKey(out: Record<string, unknown>, key: string, value: unknown) {
  if (key === "__proto__") {
    // A plain assignment would change the prototype instead of adding a key.
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    out[key] = value;
  }
}

function unflattenNode(
  def: TreeDef,
  leaves: readonly unknown[],
  pos: { i: number },
): unknown {
  switch (def.kind) {
    case "leaf":
      return leaves[pos.i++];
    case "null":
      return null;
    case "undefined":
      return undefined;
    case "array": {
      const out: unknown[] = new Array(def.children.length);
      for (let i = 0; i < def.children.length; i++) {
        out[i] = unflattenNode(def.children[i], leaves, pos);
      }
      return out;
    }
    case "object": {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < def.children.length; i++) {
        setKey(out, def.keys[i], unflattenNode(def.children[i], leaves, pos));
      }
      return out;
    }
  }
}

function unflattenImpl(
  def: TreeDef,
  leaves: readonly unknown[],
  op: string,
): unknown {
  if (!(def instanceof TreeDef)) {
    throw new TypeError(
      `${op}: expected a TreeDef (from tree.flatten() or tree.structure()), got ${
        def === null ? "null" : typeof def
      }`,
    );
  }
  if (leaves.length !== def.numLeaves) {
    throw new Error(
      `${op}: the treedef has ${plural(def.numLeaves, "leaf", "leaves")} but ${leaves.length} ${
        leaves.length === 1 ? "was" : "were"
      } given`,
    );
  }
  return unflattenNode(def, leaves, { i: 0 });
}

// ---------------------------------------------------------------------------
// Public functions

/**
 * Splits a pytree into its leaves (depth first: arrays by index, objects by
 * sorted key) and its structure.
 *
 * @param t Any value; see the module docs for what counts as a node.
 * @returns `[leaves, treedef]`; `tree.unflatten(treedef, leaves)` rebuilds an
 * equal tree.
 * @throws {Error} When `t` contains itself (`tree.flatten(): cycle detected at …`).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tree } from "@gradus/core";
 *
 * const [leaves, def] = tree.flatten({ layers: [{ w: 1, b: 2 }], extra: null });
 * assert.deepEqual(leaves, [2, 1]);
 * assert.equal(def.toString(), "{extra: null, layers: [{b: *, w: *}]}");
 * ```
 */
export function flatten(t: unknown): [leaves: unknown[], treedef: TreeDef] {
  const { leaves, def } = flattenImpl(t, "tree.flatten()", "tree", false);
  return [leaves, def];
}

/**
 * Rebuilds a pytree of the structure `treedef` from a list of leaves, in the
 * order {@linkcode flatten} lists them. Builds new objects and arrays (objects
 * get their keys in sorted order); the leaves are placed as they are.
 *
 * @typeParam T The type of the rebuilt tree (not checked).
 * @param treedef The structure, from {@linkcode flatten} or {@linkcode structure}.
 * @param leaves Exactly `treedef.numLeaves` leaves.
 * @returns A new tree.
 * @throws {Error} When the number of leaves does not match
 * (`tree.unflatten(): the treedef has 3 leaves but 2 were given`).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tree } from "@gradus/core";
 *
 * const def = tree.structure({ a: [0, 0], b: 0 });
 * assert.deepEqual(tree.unflatten(def, ["x", "y", "z"]), { a: ["x", "y"], b: "z" });
 * ```
 */
export function unflatten<T = unknown>(
  treedef: TreeDef,
  leaves: readonly unknown[],
): T {
  return unflattenImpl(treedef, leaves, "tree.unflatten()") as T;
}

/**
 * The leaves of a pytree, depth first (arrays by index, objects by sorted key).
 *
 * @param t Any value.
 * @returns A new array of the leaves.
 * @throws {Error} When `t` contains itself.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tree } from "@gradus/core";
 *
 * assert.deepEqual(tree.leaves({ b: [1, null, 2], a: 0 }), [0, 1, 2]);
 * ```
 */
export function leaves(t: unknown): unknown[] {
  return flattenImpl(t, "tree.leaves()", "tree", false).leaves;
}

/**
 * The structure of a pytree, without its leaves.
 *
 * @param t Any value.
 * @returns Its {@linkcode TreeDef}.
 * @throws {Error} When `t` contains itself.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tree } from "@gradus/core";
 *
 * assert.equal(tree.structure([1, { a: undefined }]).toString(), "[*, {a: undefined}]");
 * ```
 */
export function structure(t: unknown): TreeDef {
  return flattenImpl(t, "tree.structure()", "tree", false).def;
}

/**
 * Applies `fn` to every leaf of `t` and returns a new tree of the same
 * structure. With more trees, which must all have the structure of `t`, `fn`
 * also receives their leaves at the same position.
 *
 * @typeParam T The type of `t`, also used for the result.
 * @param fn Called as `fn(leafOfT, leafOfRest0, leafOfRest1, …)` for each leaf,
 * in leaf order.
 * @param t The tree whose structure the result keeps.
 * @param rest More trees of the same structure as `t`.
 * @returns A new tree with the values returned by `fn` as leaves.
 * @throws {Error} When a tree in `rest` has another structure
 * (`tree.map(): structure mismatch at tree.layers[1].b: expected a leaf, got an array of 2`)
 * or when `t` contains itself.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tree } from "@gradus/core";
 *
 * const params = { w: [1, 2], b: 3 };
 * const grads = { w: [0.5, 0.5], b: 1 };
 * const next = tree.map((p: number, g: number) => p - 0.1 * g, params, grads);
 * assert.deepEqual(next, { w: [0.95, 1.95], b: 2.9 });
 * ```
 */
export function map<T>(
  // Leaf types are not tracked by the type system: callers annotate `fn`'s parameters.
  // deno-lint-ignore no-explicit-any
  fn: (x: any, ...rest: any[]) => unknown,
  t: T,
  ...rest: unknown[]
): T {
  const op = "tree.map()";
  const { leaves, def } = flattenImpl(t, op, "tree", false);
  const restLeaves = rest.map((r) => leavesMatching(def, r, op, "tree"));
  const out = leaves.map((x, i) => fn(x, ...restLeaves.map((ls) => ls[i])));
  return unflattenImpl(def, out, op) as T;
}

/**
 * Like {@linkcode map}, but `fn` also receives the key path of each leaf
 * (rooted at `"tree"`, e.g. `tree.layers[0].w`).
 *
 * @typeParam T The type of `t`, also used for the result.
 * @param fn Called as `fn(path, leafOfT, leafOfRest0, …)` for each leaf.
 * @param t The tree whose structure the result keeps.
 * @param rest More trees of the same structure as `t`.
 * @returns A new tree with the values returned by `fn` as leaves.
 * @throws {Error} When a tree in `rest` has another structure, or when `t`
 * contains itself.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tree } from "@gradus/core";
 *
 * const named = tree.mapWithPath((path: string) => path, { w: [0, 0], "my key": 0 });
 * assert.deepEqual(named, { "my key": 'tree["my key"]', w: ["tree.w[0]", "tree.w[1]"] });
 * ```
 */
export function mapWithPath<T>(
  // Leaf types are not tracked by the type system: callers annotate `fn`'s parameters.
  // deno-lint-ignore no-explicit-any
  fn: (path: string, x: any, ...rest: any[]) => unknown,
  t: T,
  ...rest: unknown[]
): T {
  const op = "tree.mapWithPath()";
  const { leaves, paths, def } = flattenImpl(t, op, "tree", true);
  const restLeaves = rest.map((r) => leavesMatching(def, r, op, "tree"));
  const out = leaves.map((x, i) => fn(paths![i], x, ...restLeaves.map((ls) => ls[i])));
  return unflattenImpl(def, out, op) as T;
}

/**
 * Like {@linkcode flatten}, but each leaf comes with its key path.
 *
 * @param t Any value.
 * @param root The name of the root in the paths. Default: `"tree"`.
 * @returns `[[path, leaf], …]` in leaf order, and the structure.
 * @throws {Error} When `t` contains itself.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tree } from "@gradus/core";
 *
 * const [pairs, def] = tree.flattenWithPath({ layers: [{ w: 1 }, { w: 2 }] }, "params");
 * assert.deepEqual(pairs, [["params.layers[0].w", 1], ["params.layers[1].w", 2]]);
 * assert.equal(def.numLeaves, 2);
 * ```
 */
export function flattenWithPath(
  t: unknown,
  root: string = "tree",
): [leaves: Array<[path: string, leaf: unknown]>, treedef: TreeDef] {
  const { leaves, paths, def } = flattenImpl(
    t,
    "tree.flattenWithPath()",
    root,
    true,
  );
  return [leaves.map((x, i) => [paths![i], x]), def];
}

/**
 * Whether two pytrees have the same structure (leaves may differ).
 *
 * @param a A tree.
 * @param b Another tree.
 * @returns `true` when `a` and `b` have the same nodes, array lengths and
 * object keys (in any insertion order).
 * @throws {Error} When `a` contains itself.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tree } from "@gradus/core";
 *
 * assert.ok(tree.equalStructure({ a: 1, b: [2] }, { b: ["x"], a: "y" }));
 * assert.ok(!tree.equalStructure({ a: 1 }, { a: [1] }));
 * ```
 */
export function equalStructure(a: unknown, b: unknown): boolean {
  const def = flattenImpl(a, "tree.equalStructure()", "tree", false).def;
  return matchNode(def, b, [], undefined) === undefined;
}

/**
 * Throws a clear error, naming the key path of the first difference, unless
 * `b` has the same structure as `a`. For callers such as `grad()` that check
 * their inputs under their own name.
 *
 * @param a The tree with the expected structure.
 * @param b The tree to check.
 * @param options `op` (default `"tree.assertSameStructure()"`) starts the
 * message; `root` (default `"tree"`) names the root in the key path.
 * @returns Nothing; returns normally when the structures match.
 * @throws {Error} For example
 * `grad(): structure mismatch at params.w: expected keys [a, b], got [a, c]`,
 * or when `a` contains itself.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tree } from "@gradus/core";
 *
 * tree.assertSameStructure({ w: 1 }, { w: 2 }); // fine
 * assert.throws(
 *   () => tree.assertSameStructure({ w: [1, 2] }, { w: [1] }, { op: "grad()", root: "params" }),
 *   /^Error: grad\(\): structure mismatch at params\.w: expected an array of 2, got an array of 1$/,
 * );
 * ```
 */
export function assertSameStructure(
  a: unknown,
  b: unknown,
  options: AssertSameStructureOptions = {},
): void {
  const { op = "tree.assertSameStructure()", root = "tree" } = options;
  const def = flattenImpl(a, op, root, false).def;
  const m = matchNode(def, b, [], undefined);
  if (m) throw mismatchError(op, root, m);
}

/**
 * Frees every tensor leaf of `t` now (see `Tensor.dispose`), except the
 * tensors that are also leaves of `keep`. Optional: memory is reclaimed
 * without it once the tensors are garbage-collected. A training loop that
 * replaces its parameters and optimizer state every step can free the old
 * ones at once, keeping any leaf the new state still shares with the old.
 *
 * @param t A pytree; leaves that are not tensors are ignored.
 * @param keep A pytree whose tensor leaves must stay alive (default none).
 * @returns Nothing.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ones, sub, tree } from "@gradus/core";
 *
 * const params = { w: ones([2]), b: ones([1]) };
 * const next = { w: sub(params.w, 0.5), b: params.b }; // b is shared
 * tree.dispose(params, next);
 * assert.deepEqual(next.w.arraySync(), [0.5, 0.5]);
 * assert.deepEqual(next.b.arraySync(), [1]);
 * assert.throws(() => params.w.dataSync(), /disposed/);
 * ```
 */
export function dispose(t: unknown, keep?: unknown): void {
  const op = "tree.dispose()";
  const kept = new Set(keep === undefined ? [] : flattenImpl(keep, op, "keep", false).leaves);
  for (const leaf of flattenImpl(t, op, "tree", false).leaves) {
    if (leaf instanceof Tensor && !kept.has(leaf)) leaf.dispose();
  }
}
