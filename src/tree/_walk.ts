/**
 * The walks behind the pytree functions of `tree.ts`: flattening (with key
 * paths and cycle detection), matching a tree against a structure (the
 * first difference, for messages), and rebuilding a tree from leaves.
 *
 * @module
 */

import { formatKeys, formatPath, type Segment } from "./_paths.ts";
import { TreeDef, type TreeDefKind } from "./treedef.ts";

const LEAF = new TreeDef("leaf");
const NULL = new TreeDef("null");
const UNDEFINED = new TreeDef("undefined");

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

/** The leaves of `t` (with their paths when asked for) and its structure; `op` and `root` name them in errors. */
export function flattenImpl(
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
export function matchNode(
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

/** The error for the first difference found by {@linkcode matchNode}. */
export function mismatchError(op: string, root: string, m: Mismatch): Error {
  return new Error(
    `${op}: structure mismatch at ${
      formatPath(root, m.segments)
    }: expected ${m.expected}, got ${m.got}`,
  );
}

/** The leaves of `x`, which must have the structure `def`; throws a mismatch error otherwise. */
export function leavesMatching(
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

/** A new tree of structure `def` holding `leaves`; `op` names the caller in errors. */
export function unflattenImpl(
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
