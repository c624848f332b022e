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
import { flattenImpl, leavesMatching, matchNode, mismatchError, unflattenImpl } from "./_walk.ts";
import type { TreeDef } from "./treedef.ts";

export * from "./treedef.ts";

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
  // Checked here (the tree module sits below the ops' option checks).
  const unknown = Object.keys(options ?? {}).filter((k) => k !== "op" && k !== "root");
  if (typeof options !== "object" || options === null || unknown.length > 0) {
    throw new TypeError(
      `tree.assertSameStructure(): options are { op, root }, got ${
        typeof options === "object" && options !== null
          ? `the unknown option "${unknown[0]}"`
          : String(options)
      }`,
    );
  }
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
