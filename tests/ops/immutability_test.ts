/**
 * No op mutates its inputs. Every export of mod.ts that comes from the core
 * layers (src/core, src/ops, src/autodiff, src/random, src/tree,
 * src/backend) is listed — the primitives' functions in the shared op-case
 * table (tests/_op_cases.ts), composites here — either with a case that
 * runs it on watched inputs (tensors, plain arrays and pytrees, snapshotted with `dataSync()`
 * before and compared after) or in `NO_TENSOR_INPUTS` with the reason it
 * needs none. A new core export in neither list fails the completeness
 * test, so this file keeps up with the API. (Higher layers — nn, optim,
 * metrics, training and data helpers — are not ops and are left to their
 * own suites.)
 */

import assert from "node:assert/strict";
import * as gradus from "../../mod.ts";
import * as opsModule from "../../src/ops/mod.ts";
import * as tensorModule from "../../src/core/tensor.ts";
import * as dtypeModule from "../../src/core/dtype.ts";
import * as errorsModule from "../../src/core/errors.ts";
import * as gradModule from "../../src/autodiff/grad.ts";
import * as vjpModule from "../../src/autodiff/vjp.ts";
import * as jvpModule from "../../src/autodiff/jvp.ts";
import * as stopGradientModule from "../../src/autodiff/stop_gradient.ts";
import * as checkGradsModule from "../../src/autodiff/check_grads.ts";
import * as randomModule from "../../src/random/random.ts";
import * as treeModule from "../../src/tree/tree.ts";
import * as registryModule from "../../src/backend/registry.ts";
import * as cpuModule from "../../src/backend/cpu/cpu_backend.ts";
import { FRESH, OP_CASES } from "../_op_cases.ts";
import {
  add,
  arange,
  argsort,
  broadcastTo,
  cast,
  checkGrads,
  clip,
  concat,
  dot,
  einsum,
  exp,
  expandDims,
  grad,
  greater,
  jvp,
  matmul,
  max,
  mean,
  mul,
  neg,
  numericalGradient,
  oneHot,
  onesLike,
  random,
  reshape,
  sin,
  slice,
  split,
  square,
  squeeze,
  stack,
  std,
  sum,
  take,
  Tensor,
  tensor,
  transpose,
  tree,
  valueAndGrad,
  variance,
  vjp,
  where,
  zerosLike,
} from "../../mod.ts";

// ---------------------------------------------------------------- watching inputs

const ids = new WeakMap<Tensor, number>();
let nextId = 0;

/** A deep, comparable copy of a value: tensors by identity, shape, dtype and values. */
function snapshot(v: unknown): unknown {
  if (v instanceof Tensor) {
    if (!ids.has(v)) ids.set(v, nextId++);
    return { tensor: ids.get(v), shape: [...v.shape], dtype: v.dtype, data: [...v.dataSync()] };
  }
  if (ArrayBuffer.isView(v)) return { typed: Array.from(v as unknown as ArrayLike<number>) };
  if (Array.isArray(v)) return { array: v.map(snapshot) };
  if (v !== null && typeof v === "object") {
    return {
      object: Object.keys(v).sort().map((k) => [k, snapshot((v as Record<string, unknown>)[k])]),
    };
  }
  return v;
}

/** Records inputs with their snapshots; `verify` checks each is unchanged. */
class Watch {
  readonly #seen: { value: unknown; snap: unknown }[] = [];
  /** Watches `value` (a tensor, typed array, plain array or pytree) and returns it. */
  in<T>(value: T): T {
    this.#seen.push({ value, snap: snapshot(value) });
    return value;
  }
  verify(op: string): void {
    assert.ok(this.#seen.length > 0, `${op}: the case watches no inputs`);
    this.#seen.forEach(({ value, snap }, i) => {
      assert.deepEqual(snapshot(value), snap, `${op}() changed its input #${i}`);
    });
  }
}

const { F, ROW, F64: D, I32: I, BOOL: B, IDX, KEY } = FRESH;

type Case = (w: Watch) => unknown;

/** One case per export that takes tensors (or JS values it could alias). */
/** Per-primitive cases from the shared table, then the composite exports. */
const CASES: Record<string, Case> = {
  ...Object.fromEntries(
    Object.values(OP_CASES).flatMap((c) =>
      Object.entries(c.immutable).filter(([name]) => !name.startsWith("random."))
    ),
  ),
  // creation from values / tensors
  tensor: (w) => {
    tensor(w.in(new Float64Array([1, 2, 3, 4])), { shape: w.in([2, 2]) });
    return tensor(w.in([[1, 2], [3, 4]]));
  },
  zerosLike: (w) => zerosLike(w.in(F()), { dtype: "int32" }),
  onesLike: (w) => onesLike(w.in(I())),
  // composites of the primitives
  clip: (w) => clip(w.in(F()), w.in(tensor(-1)), 1),
  mean: (w) => mean(w.in(D()), -1, { keepdims: true }),
  variance: (w) => variance(w.in(D()), w.in([0, 1]), w.in({ ddof: 1 })),
  std: (w) => std(w.in(F()), 0, w.in({ keepdims: true })),
  expandDims: (w) => expandDims(w.in(F()), 1),
  squeeze: (w) => squeeze(w.in(tensor([[[1], [2]]])), w.in([0, 2])),
  stack: (w) => stack(w.in([ROW(), ROW()]), -1),
  split: (w) => split(w.in(F()), w.in([1, 2]), 1),
  oneHot: (w) => [oneHot(w.in(IDX()), 3), oneHot(w.in([0, 2]), 3)],
  dot: (w) => [dot(w.in(ROW()), w.in(ROW())), dot(w.in(F()), w.in(ROW()))],
  einsum: (w) => [
    einsum("ij,kj->ik", w.in(F()), w.in(F())),
    einsum("ii->i", w.in(tensor([[1, 2], [3, 4]]))),
    einsum("...j,j", w.in(F()), w.in(ROW())),
  ],
  // autodiff
  grad: (w) => grad((x: Tensor) => sum(mul(x, x)))(w.in(D())),
  valueAndGrad: (w) => {
    const params = w.in({ a: D(), b: [D(), tensor(2, { dtype: "float64" })] });
    return valueAndGrad((p: typeof params) => sum(mul(add(p.a, p.b[0]), p.b[1])))(params);
  },
  vjp: (w) => {
    const [, pullback] = vjp((x: Tensor) => sin(x), w.in(D()));
    return pullback(w.in(D()));
  },
  jvp: (w) => jvp((x: Tensor) => exp(x), w.in([D()]), w.in([D()])),
  checkGrads: (w) => checkGrads((x: Tensor, y: Tensor) => sum(mul(sin(x), y)), w.in([D(), D()])),
  numericalGradient: (w) => numericalGradient((x: Tensor) => sum(square(x)), w.in(D())),
};

/** Namespaced functions that take tensors (keys) or pytrees holding tensors. */
const NAMESPACE_CASES: Record<string, Case> = {
  ...Object.fromEntries(
    Object.values(OP_CASES).flatMap((c) =>
      Object.entries(c.immutable).filter(([name]) => name.startsWith("random."))
    ),
  ),
  "random.split": (w) => random.split(w.in(KEY()), 3),
  "random.foldIn": (w) => random.foldIn(w.in(KEY()), 5),
  "random.normal": (w) => random.normal(w.in(KEY()), w.in([3]), { dtype: "float64" }),
  "random.bernoulli": (w) => random.bernoulli(w.in(KEY()), w.in(tensor([0.1, 0.9]))),
  "random.randint": (w) => random.randint(w.in(KEY()), w.in([4]), 0, 5),
  "random.permutation": (w) => [random.permutation(w.in(KEY()), w.in(arange(5)))],
  "random.choice": (w) => random.choice(w.in(KEY()), 5, w.in([3]), { replace: false }),
  "tree.flatten": (w) => tree.flatten(w.in({ a: F(), b: [I(), null] })),
  "tree.unflatten": (w) => tree.unflatten(tree.structure({ a: 0, b: [0] }), w.in([F(), I()])),
  "tree.leaves": (w) => tree.leaves(w.in([F(), { x: B() }])),
  "tree.structure": (w) => tree.structure(w.in({ a: F() })),
  "tree.map": (w) =>
    tree.map((x: Tensor, y: Tensor) => add(x, y), w.in({ a: F() }), w.in({ a: F() })),
  "tree.mapWithPath": (w) => tree.mapWithPath((_p: string, x: Tensor) => neg(x), w.in([F(), F()])),
  "tree.flattenWithPath": (w) => tree.flattenWithPath(w.in({ w: F(), b: [ROW()] })),
  "tree.equalStructure": (w) => tree.equalStructure(w.in({ a: F() }), w.in({ a: I() })),
  "tree.assertSameStructure": (w) => tree.assertSameStructure(w.in([F()]), w.in([D()])),
};

/** Exports that take no tensors (or no inputs that an op could change), and why. */
const NO_TENSOR_INPUTS: Record<string, string> = {
  Tensor: "the class; its methods call the ops above (tests/core/tensor_test.ts)",
  TreeDef: "a class describing structure",
  ready: "picks a backend",
  DTYPES: "a constant",
  isDType: "takes a string",
  isFloat: "takes a dtype",
  DTypeError: "an error class",
  ShapeError: "an error class",
  zeros: "takes a shape",
  ones: "takes a shape",
  full: "takes a shape and a number",
  arange: "takes numbers",
  linspace: "takes numbers",
  eye: "takes numbers",
  setDefaultDType: "takes a dtype name",
  getDefaultDType: "takes nothing",
  getBackend: "takes nothing",
  setBackend: "takes a name",
  registerBackend: "takes a name and a factory",
  CpuBackend: "a backend class (tests/backend)",
  random: "a namespace: its functions are in NAMESPACE_CASES",
  tree: "a namespace: its functions are in NAMESPACE_CASES",
  "random.key": "takes a number",
  "tree.dispose": "frees its tensors on purpose (tests/tree/tree_test.ts)",
  tidy: "takes a function; never touches tensors made before it (tests/autodiff/tidy_test.ts)",
};

/** Everything the core layers export (module namespaces included), to pick mod.ts's core exports. */
const CORE_MODULES: readonly object[] = [
  opsModule,
  tensorModule,
  dtypeModule,
  errorsModule,
  gradModule,
  vjpModule,
  jvpModule,
  stopGradientModule,
  checkGradsModule,
  randomModule,
  treeModule,
  registryModule,
  cpuModule,
];
const CORE_VALUES = new Set<unknown>(CORE_MODULES.flatMap((m) => [m, ...Object.values(m)]));

Deno.test("every core export of mod.ts is classified for the immutability tests", () => {
  const all = gradus as unknown as Record<string, unknown>;
  const names = Object.keys(all).filter((n) => CORE_VALUES.has(all[n]));
  for (const ns of ["random", "tree"] as const) {
    for (const k of Object.keys(gradus[ns])) names.push(`${ns}.${k}`);
  }
  const unclassified = names.filter((n) =>
    !(n in CASES) && !(n in NAMESPACE_CASES) && !(n in NO_TENSOR_INPUTS) && n !== "tree.TreeDef"
  );
  assert.deepEqual(
    unclassified,
    [],
    `new exports: add a case to CASES/NAMESPACE_CASES or list them in NO_TENSOR_INPUTS`,
  );
  // Namespaced names ("random.bits") and internal primitives ("bind(unslicePrim)") aside.
  const stale = [...Object.keys(CASES), ...Object.keys(NO_TENSOR_INPUTS)].filter((n) =>
    /^\w+$/.test(n) && !(n in gradus)
  );
  assert.deepEqual(stale, [], "these names are no longer exported");
});

for (const [name, run] of Object.entries({ ...CASES, ...NAMESPACE_CASES })) {
  Deno.test(`${name}() leaves its inputs untouched`, () => {
    const w = new Watch();
    run(w);
    w.verify(name);
  });
}

// ---------------------------------------------------------------- shared buffers

Deno.test("ops on a reshape (which shares the buffer) never change the original", () => {
  const w = new Watch();
  const x = w.in(tensor([[1, -2, 3], [4, 5, -6]]));
  const r = w.in(reshape(x, [3, 2]));
  const flat = w.in(reshape(x, [-1]));
  const e = w.in(expandDims(x, 0));
  const outs = [
    add(r, 1),
    mul(flat, flat),
    neg(e),
    transpose(r),
    slice(flat, [null], [null], [-1]),
    concat([r, r]),
    stack([flat, flat]),
    broadcastTo(e, [2, 2, 3]),
    take(flat, [0, 0, 5]),
    where(greater(r, 0), r, 0),
    cast(r, "float64"),
    sum(r, 0),
    max(flat),
    argsort(flat),
    matmul(r, x),
    clip(flat, 0, 1),
    ...split(flat, 3),
  ];
  // results from the reshape are right, and reading them leaves everything in place
  assert.deepEqual(outs[0].arraySync(), [[2, -1], [4, 5], [6, -5]]);
  for (const o of outs) o.dataSync();
  w.verify("reshape + later ops");
  // the reshape of the reshape still sees the original values
  assert.deepEqual(reshape(r, [2, 3]).arraySync(), [[1, -2, 3], [4, 5, -6]]);
});

Deno.test("identity-like ops may return their input, which stays unchanged", () => {
  const w = new Watch();
  const x = w.in(tensor([1, 2, 3]));
  // these return the same tensor object; using the result must not alter x
  for (const y of [reshape(x, [3]), cast(x, "float32"), transpose(x), slice(x, [0]), concat([x])]) {
    assert.equal(y, x);
  }
  add(reshape(x, [3]), 1);
  w.verify("identity-like ops");
});

Deno.test("a tensor made with a shape option does not share the caller's shape array", () => {
  const shape = [2, 2];
  const t = tensor([1, 2, 3, 4], { shape });
  shape[0] = 4;
  assert.deepEqual(t.shape, [2, 2]);
  const s2 = [2];
  const u = tensor(new Float32Array([1, 2]), { shape: s2 });
  s2.push(1);
  assert.deepEqual(u.shape, [2]);
});

Deno.test("the watcher notices a changed input (a self-check of this file)", () => {
  const w = new Watch();
  const x = w.in(tensor([1, 2]));
  // Reach past the immutability on purpose (a wasm handle keeps its array in `view`).
  const handle = x._data as Float32Array | { view: Float32Array };
  ("view" in handle ? handle.view : handle)[0] = 5;
  assert.throws(() => w.verify("a mutating op"), /a mutating op\(\) changed its input #0/);
  const w2 = new Watch();
  const shape = w2.in([2, 3]);
  shape.reverse();
  assert.throws(() => w2.verify("another"), /changed its input #0/);
});
