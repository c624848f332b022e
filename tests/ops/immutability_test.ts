/**
 * No op mutates its inputs. Every export of mod.ts that comes from the core
 * layers (src/core, src/ops, src/autodiff, src/random, src/tree,
 * src/backend) is listed here, either with a case that runs it on watched
 * inputs (tensors, plain arrays and pytrees, snapshotted with `dataSync()`
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
import {
  abs,
  add,
  arange,
  argmax,
  argmin,
  argsort,
  broadcastTo,
  cast,
  ceil,
  checkGrads,
  clip,
  concat,
  cos,
  cumsum,
  div,
  dot,
  einsum,
  equal,
  exp,
  expandDims,
  expm1,
  floor,
  grad,
  greater,
  greaterEqual,
  jvp,
  less,
  lessEqual,
  log,
  log1p,
  logicalAnd,
  logicalNot,
  logicalOr,
  logsumexp,
  matmul,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  neg,
  notEqual,
  numericalGradient,
  oneHot,
  onesLike,
  pow,
  random,
  reshape,
  round,
  sign,
  sin,
  slice,
  split,
  sqrt,
  square,
  squeeze,
  stack,
  std,
  stopGradient,
  sub,
  sum,
  take,
  tanh,
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

// Fresh inputs for every case, with negatives, fractions, zeros and a NaN-free range.
const F = () => tensor([[1.5, -2, 0.25], [3, 0, -0.5]]);
const P = () => tensor([[1.5, 2, 0.25], [3, 0.5, 4]]); // positive
const ROW = () => tensor([2, -1, 0.5]);
const D = () => tensor([[0.3, -1.2, 2], [0.7, 0.1, -0.4]], { dtype: "float64" });
const I = () => tensor([[3, -1, 0], [2, 7, -4]], { dtype: "int32" });
const B = () => tensor([[true, false, true], [false, false, true]]);
const IDX = () => tensor([1, 0, 1], { dtype: "int32" });
const KEY = () => random.key(7);

type Case = (w: Watch) => unknown;

/** One case per export that takes tensors (or JS values it could alias). */
const CASES: Record<string, Case> = {
  // creation from values / tensors
  tensor: (w) => {
    tensor(w.in(new Float64Array([1, 2, 3, 4])), { shape: w.in([2, 2]) });
    return tensor(w.in([[1, 2], [3, 4]]));
  },
  zerosLike: (w) => zerosLike(w.in(F()), { dtype: "int32" }),
  onesLike: (w) => onesLike(w.in(I())),
  // elementwise unary
  abs: (w) => abs(w.in(F())),
  neg: (w) => neg(w.in(I())),
  exp: (w) => exp(w.in(F())),
  expm1: (w) => expm1(w.in(D())),
  log: (w) => log(w.in(P())),
  log1p: (w) => log1p(w.in(P())),
  sqrt: (w) => sqrt(w.in(P())),
  sin: (w) => sin(w.in(F())),
  cos: (w) => cos(w.in(D())),
  tanh: (w) => tanh(w.in(F())),
  square: (w) => square(w.in(F())),
  sign: (w) => sign(w.in(F())),
  floor: (w) => floor(w.in(F())),
  ceil: (w) => ceil(w.in(F())),
  round: (w) => round(w.in(F())),
  logicalNot: (w) => logicalNot(w.in(B())),
  cast: (w) => [cast(w.in(F()), "int32"), cast(w.in(B()), "float32"), cast(w.in(D()), "bool")],
  // elementwise binary (with broadcasting and plain numbers)
  add: (w) => [add(w.in(F()), w.in(ROW())), add(w.in(I()), 1)],
  sub: (w) => sub(1, w.in(F())),
  mul: (w) => mul(w.in(F()), w.in(ROW())),
  div: (w) => div(w.in(P()), w.in(ROW())),
  pow: (w) => pow(w.in(P()), w.in(ROW())),
  maximum: (w) => maximum(w.in(F()), w.in(ROW())),
  minimum: (w) => minimum(w.in(I()), 0),
  equal: (w) => equal(w.in(F()), w.in(ROW())),
  notEqual: (w) => notEqual(w.in(B()), w.in(B())),
  greater: (w) => greater(w.in(F()), 0),
  greaterEqual: (w) => greaterEqual(w.in(I()), w.in(I())),
  less: (w) => less(w.in(F()), w.in(ROW())),
  lessEqual: (w) => lessEqual(w.in(D()), 0),
  logicalAnd: (w) => logicalAnd(w.in(B()), w.in(tensor([true, false, false]))),
  logicalOr: (w) => logicalOr(w.in(B()), true),
  where: (w) => where(w.in(B()), w.in(F()), w.in(ROW())),
  clip: (w) => clip(w.in(F()), w.in(tensor(-1)), 1),
  // reductions
  sum: (w) => [sum(w.in(F()), w.in([0, 1])), sum(w.in(B()), 0)],
  mean: (w) => mean(w.in(D()), -1, { keepdims: true }),
  max: (w) => max(w.in(F()), w.in([-1])),
  min: (w) => min(w.in(I())),
  argmax: (w) => argmax(w.in(F()), 1),
  argmin: (w) => argmin(w.in(F())),
  logsumexp: (w) => logsumexp(w.in(F()), 1),
  variance: (w) => variance(w.in(D()), w.in([0, 1]), w.in({ ddof: 1 })),
  std: (w) => std(w.in(F()), 0, w.in({ keepdims: true })),
  cumsum: (w) => [
    cumsum(w.in(F()), 1, w.in({ reverse: true })),
    cumsum(w.in(I())),
    cumsum(w.in(B())),
  ],
  argsort: (w) => argsort(w.in(F()), 0),
  // movement
  reshape: (w) => reshape(w.in(F()), w.in([3, -1])),
  transpose: (w) => transpose(w.in(F()), w.in([1, 0])),
  expandDims: (w) => expandDims(w.in(F()), 1),
  squeeze: (w) => squeeze(w.in(tensor([[[1], [2]]])), w.in([0, 2])),
  broadcastTo: (w) => broadcastTo(w.in(ROW()), w.in([4, 3])),
  slice: (w) => slice(w.in(F()), w.in([null, -1]), w.in([null, 0]), w.in([-1, -1])),
  concat: (w) => concat(w.in([F(), F()]), 1),
  stack: (w) => stack(w.in([ROW(), ROW()]), -1),
  split: (w) => split(w.in(F()), w.in([1, 2]), 1),
  take: (w) => [take(w.in(F()), w.in(IDX()), 1), take(w.in(F()), w.in([1, -1]))],
  oneHot: (w) => [oneHot(w.in(IDX()), 3), oneHot(w.in([0, 2]), 3)],
  // linear algebra
  matmul: (w) => matmul(w.in(F()), w.in(F().T)),
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
  stopGradient: (w) => stopGradient(w.in({ x: F(), y: [I()] })),
  checkGrads: (w) => checkGrads((x: Tensor, y: Tensor) => sum(mul(sin(x), y)), w.in([D(), D()])),
  numericalGradient: (w) => numericalGradient((x: Tensor) => sum(square(x)), w.in(D())),
};

/** Namespaced functions that take tensors (keys) or pytrees holding tensors. */
const NAMESPACE_CASES: Record<string, Case> = {
  "random.split": (w) => random.split(w.in(KEY()), 3),
  "random.foldIn": (w) => random.foldIn(w.in(KEY()), 5),
  "random.bits": (w) => random.bits(w.in(KEY()), w.in([2, 2])),
  "random.uniform": (w) => random.uniform(w.in(KEY()), w.in([3])),
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
  const stale = [...Object.keys(CASES), ...Object.keys(NO_TENSOR_INPUTS)].filter((n) =>
    !n.includes(".") && !(n in gradus)
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
