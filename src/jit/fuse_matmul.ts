/**
 * Matrix-product epilogues: a float32 `matmul` whose result only one
 * elementwise equation reads (a bias add, an activation, or a chain of them
 * the elementwise pass fused) becomes one `fused[ops=[matmul,…]]` equation,
 * which a backend with `matmulEpilogue` runs as one kernel: each element of
 * the product goes through the elementwise kernel before it is stored, so
 * the product never reaches memory and a dispatch is saved.
 *
 * Where it pays: on `webgpu` every kernel is a dispatch (on llvmpipe some
 * 0.1–0.3 ms each), and the MLP step's bias adds and activations are
 * dispatches of their own. On `wasm` the epilogue ops of the 784-100-10 MLP
 * step take a few µs of its ~0.6 ms (the products themselves ~0.5 ms) and
 * the GEMM's output tiles are still in cache when the next kernel reads
 * them, so `wasm` has no `matmulEpilogue` and the pass leaves its programs
 * as they are.
 *
 * The epilogue is the same IR kernel the eager ops are made of (the
 * backend says so through `fusible`), reading the product's element where
 * eager reads it back from memory: results are bit-identical to eager
 * (WGSL lets a shader compiler contract a multiply and an add inside the
 * kernel, as for any fused kernel).
 *
 * @module
 */

import {
  type Backend,
  BINARY_OPS,
  type BinaryOp,
  type DataHandle,
  UNARY_OPS,
  type UnaryOp,
} from "../backend/backend.ts";
import { broadcastStrides } from "../core/shape.ts";
import type { Tensor } from "../core/tensor.ts";
import { Expr, load, topoOrder } from "../backend/ir/expr.ts";
import { type ElementwiseKernel, elementwiseKernel } from "../backend/ir/kernel.ts";
import { BINARY_EXPR, scalarType, UNARY_EXPR } from "../backend/ir/ops.ts";
import { matmulSpec } from "../ops/matmul.ts";
import { fusedInfo } from "./fuse.ts";
import { type Equation, type PrimitiveRef, Program, readCounts, type Var } from "./program.ts";

/** The primitive of a product with its epilogue (it prints as `fused[ops=[matmul,…]]`). @internal */
export const FUSED_MATMUL: PrimitiveRef = Object.freeze({ name: "fused" });

/** What the interpreter needs of a product with its epilogue. @internal */
export interface MatmulEpilogueInfo {
  /** The product's equation (its inputs are the fused equation's first two). */
  readonly matmul: Equation;
  /** The epilogue: operand 0 the product's element, operand `k + 1` the fused equation's input `k + 2`. */
  readonly kernel: ElementwiseKernel;
  /** Per epilogue input, its strides over the output's shape. */
  readonly strides: readonly (readonly number[])[];
  /** The equations it replaces, in order: the product, then the epilogue's. */
  readonly body: readonly Equation[];
  /** The constants the epilogue has as literals, for running `body` op by op. */
  readonly constants: ReadonlyMap<Var, Tensor>;
}

const infos = new WeakMap<object, MatmulEpilogueInfo>();

/**
 * The product and epilogue of a fused product, or undefined for any other equation.
 * @internal
 */
export function matmulEpilogueInfo(eq: Equation): MatmulEpilogueInfo | undefined {
  return eq.prim === FUSED_MATMUL ? infos.get(eq.params as object) : undefined;
}

/**
 * Runs a fused product as one kernel on `backend` (`inputs` the data of the
 * equation's inputs); null when the backend declines (the caller then runs
 * the body op by op).
 * @internal
 */
export function runMatmulEpilogue(
  backend: Backend,
  eq: Equation,
  inputs: readonly DataHandle[],
): DataHandle | null {
  const info = matmulEpilogueInfo(eq);
  if (info === undefined || backend.matmulEpilogue === undefined) return null;
  const [a, b] = info.matmul.inputs;
  const params = info.matmul.params as { transA: boolean; transB: boolean };
  return backend.matmulEpilogue({
    a: inputs[0],
    b: inputs[1],
    matmul: matmulSpec(a.aval.shape, b.aval.shape, info.matmul.out.aval.shape, params),
    kernel: info.kernel,
    inputs: inputs.slice(2),
    strides: info.strides,
    dtype: eq.out.aval.dtype,
  });
}

const UNARY = new Set<string>(UNARY_OPS);
const BINARY = new Set<string>(BINARY_OPS);

/**
 * Fuses each float32 product with the one elementwise equation that reads
 * it (see the module documentation); the program itself when the backend
 * has no `matmulEpilogue` or nothing fuses.
 * @internal
 */
export function fuseMatmulEpilogues(program: Program, backend: Backend): Program {
  if (backend.matmulEpilogue === undefined) return program;
  const eqs = program.equations;
  const uses = readCounts(program);
  const defining = new Map<Var, Equation>();
  for (const eq of eqs) defining.set(eq.out, eq);
  const outputs = new Set(program.outputs);
  const replaced = new Map<Equation, Equation | null>(); // null: dropped (the product)
  for (const eq of eqs) {
    const epilogue = epilogueOf(eq, backend);
    if (epilogue === null) continue;
    const at = eq.inputs.findIndex((v) => {
      const m = defining.get(v);
      return m !== undefined && m.prim.name === "matmul" && !replaced.has(m) &&
        v.aval.dtype === "float32" && uses.get(v) === 1 && !outputs.has(v) &&
        sameShape(v.aval.shape, eq.out.aval.shape);
    });
    if (at < 0) continue;
    const m = defining.get(eq.inputs[at])!;
    const fused = fusedEquation(m, eq, at, epilogue);
    if (fused === null) continue;
    replaced.set(m, null);
    replaced.set(eq, fused);
  }
  if (replaced.size === 0) return program;
  const equations: Equation[] = [];
  for (const eq of eqs) {
    const r = replaced.get(eq);
    if (r === undefined) equations.push(eq);
    else if (r !== null) equations.push(r);
  }
  return new Program(program.constVars, program.consts, program.inputs, equations, program.outputs);
}

/** An elementwise equation's kernel (operand `k` its input `k`), or null for any other. */
function epilogueOf(eq: Equation, backend: Backend): ElementwiseKernel | null {
  const info = fusedInfo(eq);
  if (info !== undefined) return info.kernel.kind === "elementwise" ? info.kernel : null;
  const name = eq.prim.name, dtype = eq.inputs[0]?.aval.dtype;
  if (eq.params !== null || dtype === undefined) return null;
  if (eq.inputs.length === 1 && UNARY.has(name)) {
    if (!backend.fusible?.({ op: name as UnaryOp, dtype })) return null;
    return tryKernel(() => UNARY_EXPR[name as UnaryOp](load(0, scalarType(dtype))));
  }
  if (eq.inputs.length === 2 && BINARY.has(name)) {
    if (!backend.fusible?.({ op: name as BinaryOp, dtype })) return null;
    const t = scalarType(dtype);
    return tryKernel(() => BINARY_EXPR[name as BinaryOp](load(0, t), load(1, t)));
  }
  return null;
}

function tryKernel(build: () => Expr): ElementwiseKernel | null {
  try {
    return elementwiseKernel(build());
  } catch {
    return null; // an op the IR does not cover for this dtype
  }
}

/** The product `m` and the epilogue `eq` (reading it as its input `at`) as one equation. */
function fusedEquation(
  m: Equation,
  eq: Equation,
  at: number,
  kernel: ElementwiseKernel,
): Equation | null {
  // Operand `at` becomes 0, the others follow in order.
  const order = [at, ...eq.inputs.map((_, i) => i).filter((i) => i !== at)];
  const index = new Map(order.map((old, i) => [old, i]));
  const map = new Map<Expr, Expr>();
  for (const n of topoOrder([kernel.output])) {
    const args = n.args.map((a) => map.get(a)!);
    map.set(
      n,
      n.op === "load"
        ? load(index.get(n.value)!, n.type)
        : args.every((a, i) => a === n.args[i])
        ? n
        : Expr.make(n.op, n.type, args, n.value),
    );
  }
  let epilogue: ElementwiseKernel;
  try {
    epilogue = elementwiseKernel(map.get(kernel.output)!, order.map((i) => kernel.inputs[i]));
  } catch {
    return null;
  }
  const rest = order.slice(1).map((i) => eq.inputs[i]);
  const shape = eq.out.aval.shape;
  const body = matmulEpilogueBody(m, eq);
  const params = Object.freeze({
    ops: ["matmul", ...body.slice(1).map((e) => e.prim.name)],
    ...(m.params as object),
  });
  infos.set(params, {
    matmul: m,
    kernel: epilogue,
    strides: rest.map((v) => broadcastStrides(v.aval.shape, shape)),
    body,
    constants: fusedInfo(eq)?.constants ?? new Map(),
  });
  return { prim: FUSED_MATMUL, inputs: [...m.inputs, ...rest], params, out: eq.out };
}

/** The equations a fused product replaces: the product, then the epilogue's own. */
function matmulEpilogueBody(m: Equation, eq: Equation): Equation[] {
  const info = fusedInfo(eq);
  return info === undefined ? [m, eq] : [m, ...info.body];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
