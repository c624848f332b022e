import assert from "node:assert/strict";
import {
  assertSameStructure,
  equalStructure,
  flatten,
  flattenWithPath,
  leaves,
  map,
  mapWithPath,
  structure,
  TreeDef,
  unflatten,
} from "../../src/tree/tree.ts";
import { ones, tree } from "../../mod.ts";

class Box {
  constructor(readonly value: number) {}
}

Deno.test("tree: round-trips nested objects, arrays, null, undefined and empty containers", () => {
  const cases: unknown[] = [
    1,
    "s",
    null,
    undefined,
    [],
    {},
    [[], {}, [[]], { a: {} }],
    { a: 1, b: [2, { c: 3, d: null }], e: undefined, f: [], g: {} },
    [null, undefined, [null], { x: undefined }],
    { nested: { deeper: { deepest: [1, [2, [3, [4]]]] } } },
  ];
  for (const t of cases) {
    const [ls, def] = tree.flatten(t);
    assert.equal(def.numLeaves, ls.length);
    assert.deepEqual(tree.unflatten(def, ls), t);
  }
});

Deno.test("tree: empty containers and null/undefined are kept in the structure", () => {
  const [ls, def] = flatten({ a: [], b: {}, c: null, d: undefined });
  assert.deepEqual(ls, []);
  assert.equal(def.toString(), "{a: [], b: {}, c: null, d: undefined}");
  const back = unflatten<Record<string, unknown>>(def, []);
  assert.deepEqual(back, { a: [], b: {}, c: null, d: undefined });
  assert.ok("d" in back, "undefined-valued keys are kept");
  assert.ok(!equalStructure(null, undefined));
  assert.ok(!equalStructure([], {}));
  assert.ok(!equalStructure({ a: undefined }, {}));
});

Deno.test("tree: leaves are listed depth first, arrays by index, objects by sorted key", () => {
  const t = { z: [1, { y: 2, x: 3 }], a: 4, m: [[5, 6], 7] };
  assert.deepEqual(leaves(t), [4, 5, 6, 7, 1, 3, 2]);
  assert.deepEqual(tree.leaves(t), flatten(t)[0]);
  assert.deepEqual(leaves(42), [42]);
  assert.deepEqual(leaves(null), []);
});

Deno.test("tree: key order does not matter; unflatten rebuilds keys sorted", () => {
  const a = { b: 1, a: 2, c: { e: 3, d: 4 } };
  const b = { c: { d: 40, e: 30 }, a: 20, b: 10 };
  assert.ok(equalStructure(a, b));
  assert.ok(structure(a).equals(structure(b)));
  assert.equal(structure(a).toString(), structure(b).toString());
  assert.deepEqual(leaves(a), [2, 1, 4, 3]);
  assert.deepEqual(leaves(b), [20, 10, 40, 30]);
  const rebuilt = unflatten<typeof a>(structure(a), leaves(a));
  assert.deepEqual(Object.keys(rebuilt), ["a", "b", "c"]);
  assert.deepEqual(Object.keys(rebuilt.c), ["d", "e"]);
  // map keeps values attached to the right keys regardless of insertion order.
  assert.deepEqual(map((x: number, y: number) => x + y, a, b), {
    a: 22,
    b: 11,
    c: { d: 44, e: 33 },
  });
});

Deno.test("tree: null-prototype objects are nodes; rebuilt as ordinary objects", () => {
  const o = Object.create(null) as Record<string, unknown>;
  o.b = 1;
  o.a = [2];
  assert.deepEqual(leaves(o), [2, 1]);
  assert.ok(equalStructure(o, { a: [0], b: 0 }));
  const back = unflatten<object>(structure(o), [2, 1]);
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
});

Deno.test("tree: class instances and other non-plain values are leaves", () => {
  const box = new Box(1);
  const fn = () => 0;
  const typed = new Float32Array([1, 2]);
  const m = new Map([["k", 1]]);
  const date = new Date(0);
  const sym = Symbol("s");
  const t = {
    a: box,
    b: [fn, typed, m, date],
    c: 1n,
    d: true,
    e: "text",
    f: sym,
  };
  const [ls, def] = flatten(t);
  assert.equal(ls.length, 9);
  assert.equal(ls[0], box);
  assert.equal(ls[1], fn);
  assert.equal(ls[2], typed);
  assert.equal(ls[3], m);
  assert.equal(ls[4], date);
  assert.equal(def.toString(), "{a: *, b: [*, *, *, *], c: *, d: *, e: *, f: *}");
  const back = unflatten<typeof t>(def, ls);
  assert.equal(back.a, box, "leaves are placed as they are, not copied");
  assert.equal(back.b[1], typed);
  // A class instance at the root is a single leaf.
  assert.deepEqual(flatten(box)[0], [box]);
  assert.equal(flatten(box)[1].toString(), "*");
});

Deno.test("tree: array subclasses are array nodes, rebuilt as plain arrays", () => {
  class MyArray<T> extends Array<T> {}
  const a = MyArray.from([1, 2]);
  assert.deepEqual(leaves(a), [1, 2]);
  const back = unflatten<unknown[]>(structure(a), [3, 4]);
  assert.equal(Object.getPrototypeOf(back), Array.prototype);
  assert.deepEqual(back, [3, 4]);
});

Deno.test("tree.map: one tree", () => {
  const t = { w: [new Box(1), new Box(2)], b: new Box(3), meta: null };
  const out = map((x: Box) => new Box(x.value * 10), t);
  assert.deepEqual(out, {
    b: new Box(30),
    meta: null,
    w: [new Box(10), new Box(20)],
  });
  assert.ok(out.w[0] instanceof Box);
});

Deno.test("tree.map: several trees, fn receives the corresponding leaves", () => {
  const p = { w: [1, 2], b: 3 };
  const g = { b: 30, w: [10, 20] };
  const m = { w: [100, 200], b: 300 };
  const calls: number[][] = [];
  const out = tree.map(
    (x: number, y: number, z: number) => {
      calls.push([x, y, z]);
      return x + y + z;
    },
    p,
    g,
    m,
  );
  assert.deepEqual(out, { w: [111, 222], b: 333 });
  assert.deepEqual(calls, [[3, 30, 300], [1, 10, 100], [2, 20, 200]]);
});

Deno.test("tree.map: result keeps t's structure even when fn returns containers", () => {
  const out = map((x: number) => [x, x], { a: 1 });
  assert.deepEqual(out, { a: [1, 1] });
});

Deno.test("tree.mapWithPath: paths and several trees", () => {
  const t = { layers: [{ w: 1, b: 2 }], "my key": 3 };
  const u = { layers: [{ w: 10, b: 20 }], "my key": 30 };
  const seen: string[] = [];
  const out = mapWithPath(
    (path: string, x: number, y: number) => {
      seen.push(path);
      return x + y;
    },
    t,
    u,
  );
  assert.deepEqual(seen, [
    "tree.layers[0].b",
    "tree.layers[0].w",
    'tree["my key"]',
  ]);
  assert.deepEqual(out, { layers: [{ w: 11, b: 22 }], "my key": 33 });
});

Deno.test("tree.flattenWithPath: identifier, non-identifier keys and indices", () => {
  const t = {
    params: { layers: [{ w: 1 }, { b: 2 }] },
    "my key": 3,
    "1x": 4,
    $ok_1: 5,
    "": 6,
    'q"uote': 7,
  };
  const [pairs, def] = flattenWithPath(t, "root");
  assert.deepEqual(pairs, [
    ['root[""]', 6],
    ["root.$ok_1", 5],
    ['root["1x"]', 4],
    ['root["my key"]', 3],
    ["root.params.layers[0].w", 1],
    ["root.params.layers[1].b", 2],
    ['root["q\\"uote"]', 7],
  ]);
  assert.equal(def.numLeaves, 7);
  assert.deepEqual(flattenWithPath([1, [2]])[0], [["tree[0]", 1], [
    "tree[1][0]",
    2,
  ]]);
  assert.deepEqual(flattenWithPath(5)[0], [["tree", 5]]);
});

Deno.test("tree: structure mismatch errors name the exact key path", () => {
  const a = { layers: [{ w: 1, b: 2 }, { w: 3, b: 4 }] };
  const b = { layers: [{ w: 1, b: 2 }, { w: 3, b: [4, 5] }] };
  assert.throws(
    () => map((x: number) => x, a, b),
    {
      message:
        "tree.map(): structure mismatch at tree.layers[1].b: expected a leaf, got an array of 2",
    },
  );
  assert.throws(
    () => assertSameStructure(a, b, { op: "grad()", root: "params" }),
    /params\.layers\[1\]\.b/,
  );
  assert.throws(
    () => assertSameStructure(a, b, { op: "grad()", root: "params" }),
    /^Error: grad\(\): structure mismatch at params\.layers\[1\]\.b: expected a leaf, got an array of 2$/,
  );
  assert.throws(
    () => tree.mapWithPath((_p: string, x: number) => x, a, b),
    /^Error: tree\.mapWithPath\(\): structure mismatch at tree\.layers\[1\]\.b/,
  );
});

Deno.test("tree: mismatch messages for keys, lengths, null and kinds", () => {
  const opts = { op: "grad()", root: "params" };
  assert.throws(
    () => assertSameStructure({ w: { a: 1, b: 2 } }, { w: { c: 1, a: 2 } }, opts),
    {
      message: "grad(): structure mismatch at params.w: expected keys [a, b], got [a, c]",
    },
  );
  assert.throws(
    () => assertSameStructure({ w: [1, 2, 3] }, { w: [1, 2] }, opts),
    {
      message: "grad(): structure mismatch at params.w: expected an array of 3, got an array of 2",
    },
  );
  assert.throws(
    () => assertSameStructure({ w: null }, { w: 1 }, opts),
    {
      message: "grad(): structure mismatch at params.w: expected null, got a leaf",
    },
  );
  assert.throws(
    () => assertSameStructure({ w: null }, { w: undefined }, opts),
    { message: /expected null, got undefined$/ },
  );
  assert.throws(
    () => assertSameStructure([1], { a: 1, "my key": 2 }),
    {
      message:
        'tree.assertSameStructure(): structure mismatch at tree: expected an array of 1, got an object with keys [a, "my key"]',
    },
  );
  assert.throws(
    () => assertSameStructure({ "my key": { x: 1 } }, { "my key": [] }),
    {
      message:
        'tree.assertSameStructure(): structure mismatch at tree["my key"]: expected an object with keys [x], got an empty array',
    },
  );
  assert.throws(
    () => map((x: number) => x, [new Box(1)], [{}]),
    { message: "tree.map(): structure mismatch at tree[0]: expected a leaf, got an empty object" },
  );
  // The first tree decides the structure: a leaf in the second where the first has a node fails too.
  assert.throws(
    () => map((x: number) => x, { a: [1] }, { a: new Box(1) }),
    /at tree\.a: expected an array of 1, got a leaf/,
  );
  assertSameStructure({ a: [1, { b: null }] }, { a: ["x", { b: null }] });
});

Deno.test("tree.unflatten: leaf count mismatch", () => {
  const def = structure({ a: 1, b: [2, 3] });
  assert.throws(() => unflatten(def, [1, 2]), {
    message: "tree.unflatten(): the treedef has 3 leaves but 2 were given",
  });
  assert.throws(() => unflatten(structure([1]), []), {
    message: "tree.unflatten(): the treedef has 1 leaf but 0 were given",
  });
  assert.throws(() => unflatten(structure(null), [1]), {
    message: "tree.unflatten(): the treedef has 0 leaves but 1 was given",
  });
  assert.throws(
    () => unflatten({} as TreeDef, []),
    (e: unknown) => e instanceof TypeError && /expected a TreeDef/.test(e.message),
  );
});

Deno.test("tree: cycles are detected with their path; shared references are fine", () => {
  const a: Record<string, unknown> = { x: 1 };
  const inner: Record<string, unknown> = {};
  a.a = { b: inner };
  inner.c = a;
  assert.throws(() => flatten(a), {
    message:
      "tree.flatten(): cycle detected at tree.a.b.c (refers back to tree); a pytree must not contain itself",
  });
  const arr: unknown[] = [1];
  arr.push({ back: arr });
  assert.throws(() => leaves(arr), /^Error: tree\.leaves\(\): cycle detected at tree\[1\]\.back /);
  const selfish: Record<string, unknown> = {};
  selfish.a = { b: selfish };
  assert.throws(() => structure(selfish), /cycle detected at tree\.a\.b /);
  assert.throws(() => map((x: number) => x, a), /^Error: tree\.map\(\): cycle detected/);
  assert.throws(
    () => flattenWithPath(a, "params"),
    /cycle detected at params\.a\.b\.c \(refers back to params\)/,
  );
  assert.throws(
    () => assertSameStructure(a, {}, { op: "grad()", root: "params" }),
    /^Error: grad\(\): cycle detected at params\.a\.b\.c/,
  );
  // A cycle deeper down names the ancestor it refers back to.
  const deep: Record<string, unknown> = {};
  const mid: Record<string, unknown> = { self: null };
  mid.self = mid;
  deep.m = mid;
  assert.throws(() => flatten(deep), /cycle detected at tree\.m\.self \(refers back to tree\.m\)/);

  // The same object twice (no cycle) is visited twice.
  const shared = { w: 1 };
  assert.deepEqual(leaves({ a: shared, b: shared, c: [shared, shared] }), [
    1,
    1,
    1,
    1,
  ]);
  // A cyclic second tree only fails where its structure differs.
  assert.ok(!equalStructure({ a: { c: 1 } }, a));
});

Deno.test("tree: nothing is mutated", () => {
  const box = new Box(1);
  const t = { b: [1, { c: box }], a: null, d: [] as unknown[] };
  const u = { a: null, d: [] as unknown[], b: [2, { c: new Box(2) }] };
  const snapshot = structuredClone({ t, u });
  const keysBefore = Object.keys(t);
  Object.freeze(t);
  Object.freeze(t.b);
  const [ls, def] = flatten(t);
  leaves(t);
  structure(t);
  flattenWithPath(t);
  const mapped = map((x: unknown) => x, t, u);
  mapWithPath((_p: string, x: unknown) => x, t, u);
  equalStructure(t, u);
  assertSameStructure(t, u);
  const back = unflatten<typeof t>(def, ls);
  assert.deepEqual(structuredClone({ t, u }), snapshot);
  assert.deepEqual(Object.keys(t), keysBefore, "insertion order untouched");
  // New containers everywhere, same leaves.
  assert.notEqual(mapped, t);
  assert.notEqual(mapped.b, t.b);
  assert.notEqual(mapped.b[1], t.b[1]);
  assert.notEqual(mapped.d, t.d);
  assert.notEqual(back, t);
  assert.notEqual(back.d, t.d);
  assert.equal((back.b[1] as { c: Box }).c, box);
  // Leaves list is a fresh array each call.
  const ls2 = leaves(t);
  ls2.push(99);
  assert.equal(leaves(t).length, 2);
});

Deno.test("tree: __proto__ as an own key is a key, not a prototype", () => {
  const t = JSON.parse('{"__proto__": [1, 2], "a": 3}');
  assert.deepEqual(leaves(t), [1, 2, 3]);
  const back = unflatten<Record<string, unknown>>(structure(t), [4, 5, 6]);
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.ok(Object.hasOwn(back, "__proto__"));
  assert.deepEqual(Object.getOwnPropertyDescriptor(back, "__proto__")?.value, [4, 5]);
  assert.equal(back.a, 6);
  assert.deepEqual(flattenWithPath(t)[0].map(([p]) => p), [
    "tree.__proto__[0]",
    "tree.__proto__[1]",
    "tree.a",
  ]);
});

Deno.test("TreeDef: toString, numLeaves, kind, equals", () => {
  assert.equal(
    structure({ a: 1, b: [2, 3], c: null }).toString(),
    "{a: *, b: [*, *], c: null}",
  );
  assert.equal(String(structure({ c: null, b: [2, 3], a: 1 })), "{a: *, b: [*, *], c: null}");
  assert.equal(structure(7).toString(), "*");
  assert.equal(structure(null).toString(), "null");
  assert.equal(structure(undefined).toString(), "undefined");
  assert.equal(structure([]).toString(), "[]");
  assert.equal(structure({}).toString(), "{}");
  assert.equal(
    structure({ "my key": [{}, [], [undefined]], ok: new Box(1) }).toString(),
    '{"my key": [{}, [], [undefined]], ok: *}',
  );
  const def = structure({ a: [1, 2], b: { c: 3 } });
  assert.equal(def.numLeaves, 3);
  assert.equal(def.kind, "object");
  assert.deepEqual(def.keys, ["a", "b"]);
  assert.equal(def.children[0].kind, "array");
  assert.equal(def.children[0].numLeaves, 2);
  assert.ok(Object.isFrozen(def));
  assert.ok(def.equals(structure({ b: { c: "x" }, a: ["y", "z"] })));
  assert.ok(!def.equals(structure({ a: [1, 2], b: { d: 3 } })));
  assert.ok(!def.equals(structure({ a: [1, 2, 3], b: { c: 3 } })));
  assert.ok(!structure(null).equals(structure(undefined)));
});

Deno.test("TreeDef: built by hand, validated", () => {
  const leaf = new TreeDef("leaf");
  const def = new TreeDef("object", [leaf, new TreeDef("array", [leaf, leaf])], [
    "a",
    "b",
  ]);
  assert.ok(def.equals(structure({ a: 0, b: [0, 0] })));
  assert.deepEqual(unflatten(def, [1, 2, 3]), { a: 1, b: [2, 3] });
  assert.throws(() => new TreeDef("object", [leaf, leaf], ["b", "a"]), /sorted and unique/);
  assert.throws(() => new TreeDef("object", [leaf], []), /one key per child/);
  assert.throws(() => new TreeDef("leaf", [leaf]), /has no children/);
  assert.throws(() => new TreeDef("array", [leaf], ["a"]), /only an object node has keys/);
});

Deno.test("tree namespace: members are the standalone functions", () => {
  assert.equal(tree.flatten, flatten);
  assert.equal(tree.unflatten, unflatten);
  assert.equal(tree.leaves, leaves);
  assert.equal(tree.structure, structure);
  assert.equal(tree.map, map);
  assert.equal(tree.mapWithPath, mapWithPath);
  assert.equal(tree.flattenWithPath, flattenWithPath);
  assert.equal(tree.equalStructure, equalStructure);
  assert.equal(tree.assertSameStructure, assertSameStructure);
});

Deno.test("tree.dispose frees tensor leaves, spares those of keep, ignores the rest", () => {
  const a = ones([2]), b = ones([3]), c = ones([1]);
  tree.dispose({ a, rest: [b, 3, null, "x", new Box(1)], c }, { c });
  assert.throws(() => a.dataSync(), /disposed/);
  assert.throws(() => b.dataSync(), /disposed/);
  assert.deepEqual([...c.dataSync()], [1]);
  tree.dispose(a); // twice is fine
});
