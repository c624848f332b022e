/**
 * gradus: functional autodiff and deep learning for Deno, in the style of
 * JAX. Pure functions over immutable tensors; `grad`, `valueAndGrad`,
 * `vjp` and `jvp` compose to any order; parameters are plain pytrees;
 * randomness comes from explicit keys.
 *
 * This module exports everything. Each area is also an entry point of its
 * own, with the same members as its namespace here: `@gradus/core/nn`
 * (`nn`), `/optim`, `/data`, `/metrics`, `/plot`, `/random`, `/tree`, and
 * `/train` and `/checkpoint` (whose members this module exports at its top
 * level). `import { adam } from "@gradus/core/optim"` is `optim.adam`.
 *
 * @example
 * ```ts
 * import { grad, matmul, mean, random, square, sub, type Tensor, tensor } from "@gradus/core";
 *
 * const [kw, kx] = random.split(random.key(0));
 * const params = { w: random.normal(kw, [3, 1]), b: tensor([0]) };
 * const x = random.normal(kx, [8, 3]);
 * const y = matmul(x, tensor([[1], [2], [3]]));
 *
 * const loss = (p: { w: Tensor; b: Tensor }) => mean(square(sub(matmul(x, p.w).add(p.b), y)));
 * const g = grad(loss)(params); // { w: Tensor [3, 1], b: Tensor [1] }
 * console.log(g.w.shape, g.b.shape); // [3, 1] [1]
 * ```
 *
 * @module
 */

// Tensors, dtypes, errors
import "./src/ops/tensor_methods.ts"; // installs Tensor's methods (x.add(y), x.sum(), …)
export { type NestedArray, Tensor, type TensorLike } from "./src/core/tensor.ts";
export {
  type DType,
  type DTypeArrayMap,
  DTYPES,
  isDType,
  isFloat,
  type TypedArray,
} from "./src/core/dtype.ts";
export type { Shape } from "./src/core/shape.ts";
export { DTypeError, ShapeError } from "./src/core/errors.ts";

// Creation
export {
  arange,
  type CreationOptions,
  eye,
  full,
  linspace,
  ones,
  onesLike,
  tensor,
  type TensorOptions,
  type TensorValues,
  zeros,
  zerosLike,
} from "./src/ops/creation.ts";
export { type FloatDType, getDefaultDType, setDefaultDType } from "./src/ops/default_dtype.ts";

// Elementwise
export {
  abs,
  add,
  cast,
  ceil,
  cos,
  div,
  equal,
  erf,
  erfc,
  exp,
  expm1,
  floor,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  log1p,
  logicalAnd,
  logicalNot,
  logicalOr,
  maximum,
  minimum,
  mul,
  neg,
  notEqual,
  pow,
  round,
  sign,
  sin,
  sqrt,
  square,
  sub,
  tanh,
  where,
} from "./src/ops/elementwise.ts";

// Reductions
export {
  argmax,
  argmin,
  logsumexp,
  max,
  mean,
  min,
  type ReduceOptions,
  std,
  sum,
  variance,
  type VarianceOptions,
} from "./src/ops/reduce.ts";
export { cumsum, type CumsumOptions } from "./src/ops/cumsum.ts";

// Movement, indexing, linear algebra
export {
  broadcastTo,
  concat,
  expandDims,
  reshape,
  slice,
  split,
  squeeze,
  stack,
  transpose,
} from "./src/ops/movement.ts";
export { take } from "./src/ops/take.ts";
export { pad, type PadMode, type PadOptions, type PadWidths } from "./src/ops/pad.ts";
export { dot, matmul, type MatmulOptions } from "./src/ops/matmul.ts";
export { einsum } from "./src/ops/einsum.ts";
export { clip, oneHot, type OneHotOptions } from "./src/ops/composite.ts";
export { argsort } from "./src/ops/sort.ts";

// Autodiff
export {
  grad,
  type GradOf,
  type GradOptions,
  type GradOptionsAux,
  type GradOptionsN,
  valueAndGrad,
} from "./src/autodiff/grad.ts";
export { vjp } from "./src/autodiff/vjp.ts";
export { jvp } from "./src/autodiff/jvp.ts";
export { vmap, type VmapAxes, type VmapAxis, type VmapOptions } from "./src/autodiff/vmap.ts";
export {
  hessian,
  jacfwd,
  type JacobianOptions,
  jacrev,
  linearize,
} from "./src/autodiff/jacobian.ts";
export {
  checkpoint,
  type CheckpointOptions,
  type CheckpointPolicy,
} from "./src/autodiff/checkpoint.ts";
export { customJvp, customVjp, type CustomVjpRules } from "./src/autodiff/custom.ts";
export { stopGradient } from "./src/autodiff/stop_gradient.ts";
export { tidy } from "./src/autodiff/tidy.ts";
export { jit, JIT_CACHE_SIZE, type JitOptions, makeJaxpr } from "./src/jit/jit.ts";
export {
  type AbstractValue,
  type Equation,
  type PrimitiveRef,
  Program,
  type Var,
} from "./src/jit/program.ts";
export {
  checkGrads,
  type CheckGradsOptions,
  numericalGradient,
  type NumericalGradientOptions,
} from "./src/autodiff/check_grads.ts";

// Pytrees
export * as tree from "./src/tree/tree.ts";
export { type AssertSameStructureOptions, TreeDef, type TreeDefKind } from "./src/tree/tree.ts";

// Random
export * as random from "./src/random/random.ts";
export type { PRNGKey } from "./src/random/random.ts";

// Backends
export {
  type BackendFactory,
  getBackend,
  ready,
  type ReadyOptions,
  registerBackend,
  setBackend,
} from "./src/backend/registry.ts";
export type {
  ArgsortSpec,
  Backend,
  BinaryOp,
  BinarySpec,
  CastSpec,
  ConcatSpec,
  DataHandle,
  FusedReduceSpec,
  FusedSequenceSpec,
  FusedSpec,
  FusibleOp,
  GatherSpec,
  KernelLaunch,
  LogsumexpSpec,
  MatmulEpilogueSpec,
  MatmulSpec,
  RandomUniformSpec,
  ReduceOp,
  ReduceSpec,
  Reservation,
  ScatterAddSpec,
  ScatterStridedSpec,
  SequenceRef,
  SequenceStage,
  StridedSpec,
  UnaryOp,
  UnarySpec,
  UnpackBytesSpec,
  WhereSpec,
} from "./src/backend/backend.ts";
export { BINARY_OPS, COMPARISONS, UNARY_OPS } from "./src/backend/backend.ts";
export { CpuBackend } from "./src/backend/cpu/cpu_backend.ts";
export { BLAS_THREADS_MIN_WORK, type BlasInfo, blasInfo } from "./src/backend/wasm/blas.ts";

// Deep-learning toolkit: the area entry points of deno.json ("./nn", …),
// as namespaces (train and checkpoint flat). `deno doc mod.ts` lists a
// namespace's members only when its module re-exports whole files
// (`export * from`), as the area modules do; tests/docs_test.ts checks it.
export * as nn from "./src/nn/mod.ts";
export * as lax from "./src/lax/mod.ts";
export * as optim from "./src/optim/mod.ts";
export * as metrics from "./src/metrics/mod.ts";
export * from "./src/train/mod.ts";
export * from "./src/checkpoint/mod.ts";
export * as data from "./src/data/mod.ts";
export * as plot from "./src/report/mod.ts";
