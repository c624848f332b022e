/**
 * The program `jit` traces a function into (JAX's closed jaxpr): typed
 * variables, one equation per primitive applied, constants, inputs and
 * outputs, and its printed form in the spirit of `jax.make_jaxpr`:
 *
 * ```text
 * { lambda ; a:f32[2,3] b:f32[3]. let
 *     c:f32[2,3] = add a b
 *     d:f32[2,3] = mul c 2.0:f32[]
 *     e:f32[] = sum[axes=[0,1] keepdims=false] d
 *   in (d) }
 * ```
 *
 * @module
 */

import { type DType, isFloat } from "../core/dtype.ts";
import type { Tensor } from "../core/tensor.ts";
import { knownValues } from "../ops/convert.ts";

/**
 * The abstract value of a program variable: its shape and dtype.
 *
 * @example
 * ```ts
 * import { type AbstractValue, makeJaxpr, neg, zeros } from "@gradus/core";
 * const a: AbstractValue = makeJaxpr(neg)(zeros([2, 3])).inputs[0].aval;
 * console.log(a.shape, a.dtype); // [2, 3] "float32"
 * ```
 */
export interface AbstractValue {
  /** The shape. */
  readonly shape: readonly number[];
  /** The dtype. */
  readonly dtype: DType;
}

/**
 * A value of the program: an input, a constant or an equation's output.
 *
 * @example
 * ```ts
 * import { makeJaxpr, neg, type Var, zeros } from "@gradus/core";
 * const p = makeJaxpr(neg)(zeros([2]));
 * const out: Var = p.outputs[0];
 * console.log(out === p.equations[0].out, out.aval.shape); // true [2]
 * ```
 */
export interface Var {
  /** Creation order within its program (inputs first). */
  readonly id: number;
  /** Its shape and dtype. */
  readonly aval: AbstractValue;
}

/**
 * What a program shows of a primitive: its name. (The equations hold the
 * primitive itself, which the interpreter runs.)
 *
 * @example
 * ```ts
 * import { exp, makeJaxpr, type PrimitiveRef, zeros } from "@gradus/core";
 * const prim: PrimitiveRef = makeJaxpr(exp)(zeros([2])).equations[0].prim;
 * console.log(prim.name); // "exp"
 * ```
 */
export interface PrimitiveRef {
  /** The primitive's name, as the program prints it (`add`, `matmul`…). */
  readonly name: string;
}

/**
 * One primitive applied to variables: `out = prim[params] inputs`.
 *
 * @example
 * ```ts
 * import { type Equation, makeJaxpr, sum, zeros } from "@gradus/core";
 * const eq: Equation = makeJaxpr((x) => sum(x, 0))(zeros([2, 3])).equations[0];
 * console.log(eq.prim.name, eq.params, eq.out.aval.shape); // "sum" { axes: [0], keepdims: false } [3]
 * ```
 */
export interface Equation {
  /** The primitive. */
  readonly prim: PrimitiveRef;
  /** Its inputs, in order. */
  readonly inputs: readonly Var[];
  /** Its parameters, as `bind` received them. */
  readonly params: unknown;
  /** The variable it defines. */
  readonly out: Var;
}

/*
 * Operations with several outputs: the control-flow primitives of `lax`
 * (`scan`, `whileLoop`, `switch`). A call is one node of the program (its
 * sub-programs, loop bodies and branches, are not unrolled), stored as one
 * equation per output, each naming the shared call and its output position
 * (`OutputOf`); the interpreter runs the call once, when the first of its
 * outputs is needed, and the program prints it as one line
 * (`c:f32[] d:f32[5,3] = scan[…] a b`).
 */

/**
 * What a program needs of a primitive with several outputs: its name, how
 * to run it on concrete tensors, and how to print its params.
 * @internal
 */
export interface MultiPrimitive<P> {
  /** The name, as the program prints it. */
  readonly name: string;
  /**
   * Runs the call on concrete tensors (one backend); returns new tensors,
   * one per output. `inProgram`: the call is a node of a program that runs
   * again (memory may be kept from call to call, keyed by `params`).
   */
  run(inputs: readonly Tensor[], params: P, inProgram?: boolean): Tensor[];
  /** Binds the primitive again (through the active transformations). */
  bind(inputs: readonly Tensor[], params: P): Tensor[];
  /** The params to print (plain values) and the sub-programs to print nested, by name. */
  describe(params: P): { plain: Record<string, unknown>; programs: [string, Program][] };
}

/** One call of a primitive with several outputs: shared by its outputs' equations. @internal */
export class MultiCall {
  constructor(
    /** The primitive. */
    readonly prim: MultiPrimitive<unknown>,
    /** Its params. */
    readonly params: unknown,
    /** Its outputs. */
    readonly outs: readonly Var[],
  ) {}
}

/** The params of an equation defining one output of a `MultiCall`. @internal */
export class OutputOf {
  constructor(readonly call: MultiCall, readonly index: number) {}
}

/** The call an equation is an output of, or undefined for an ordinary equation. @internal */
export function multiInfo(eq: { readonly params: unknown }): OutputOf | undefined {
  return eq.params instanceof OutputOf ? eq.params : undefined;
}

const SHORT: Record<DType, string> = { float32: "f32", float64: "f64", int32: "i32", bool: "bool" };

/**
 * A traced program: what `makeJaxpr` returns and what a jitted function runs.
 * Immutable once made.
 *
 * @example
 * ```ts
 * import { makeJaxpr, mul, sum, tensor } from "@gradus/core";
 * const p = makeJaxpr((x) => sum(mul(x, x)))(tensor([1, 2, 3]));
 * console.log(p.equations.length); // 2
 * console.log(p.toString());
 * // { lambda ; a:f32[3]. let
 * //     b:f32[3] = mul a a
 * //     c:f32[] = sum[axes=[0] keepdims=false] b
 * //   in (c) }
 * ```
 */
export class Program {
  /** Variables bound to the constants (tensors closed over or made while tracing). */
  readonly constVars: readonly Var[];
  /** The constants' values, one per `constVars` entry. */
  readonly consts: readonly Tensor[];
  /** The inputs: one per tensor leaf of the non-static arguments, in order. */
  readonly inputs: readonly Var[];
  /** The equations, in order of execution. */
  readonly equations: readonly Equation[];
  /** The outputs: one per tensor leaf of the function's result, in order. */
  readonly outputs: readonly Var[];

  /** @internal Made by `jit`/`makeJaxpr`. */
  constructor(
    constVars: readonly Var[],
    consts: readonly Tensor[],
    inputs: readonly Var[],
    equations: readonly Equation[],
    outputs: readonly Var[],
  ) {
    this.constVars = Object.freeze(constVars.slice());
    this.consts = Object.freeze(consts.slice());
    this.inputs = Object.freeze(inputs.slice());
    this.equations = Object.freeze(equations.slice());
    this.outputs = Object.freeze(outputs.slice());
  }

  /**
   * The program as text: `{ lambda consts ; inputs. let equations in (outputs) }`,
   * one equation per line, variables named `a`, `b`, … in order of
   * definition and typed like `f32[2,3]`; scalar constants print inline as
   * literals (`2.0:f32[]`).
   *
   * @returns The printed program.
   * @example
   * ```ts
   * import { add, makeJaxpr, tensor } from "@gradus/core";
   * console.log(makeJaxpr((x, y) => add(x, y))(tensor([1]), tensor([2])).toString());
   * // { lambda ; a:f32[1] b:f32[1]. let
   * //     c:f32[1] = add a b
   * //   in (c) }
   * ```
   */
  toString(): string {
    const names = new Map<Var, string>();
    const name = (v: Var): string => {
      let n = names.get(v);
      if (n === undefined) {
        n = varName(names.size);
        names.set(v, n);
      }
      return n;
    };
    const typed = (v: Var) => `${name(v)}:${avalString(v.aval)}`;
    // Scalar constants print inline as literals (`mul b 2.0:f32[]`), as in JAX.
    const literals = new Map<Var, string>();
    this.constVars.forEach((v, i) => {
      const known = v.aval.shape.length === 0 ? knownValues(this.consts[i]) : null;
      if (known !== null) {
        literals.set(v, `${literal(known[0], v.aval.dtype)}:${avalString(v.aval)}`);
      }
    });
    const atom = (v: Var) => literals.get(v) ?? name(v);
    const consts = this.constVars.filter((v) => !literals.has(v)).map(typed).join(" ");
    const ins = this.inputs.map(typed).join(" ");
    const printed = new Set<MultiCall>();
    const lines = this.equations.flatMap((e) => {
      const args = e.inputs.map(atom).join(" ");
      const tail = args ? " " + args : "";
      const multi = multiInfo(e);
      if (multi === undefined) {
        return [`    ${typed(e.out)} = ${e.prim.name}${paramString(e.params)}${tail}`];
      }
      // A control-flow call: one line for all its outputs, sub-programs nested.
      if (printed.has(multi.call)) return [];
      printed.add(multi.call);
      const { plain, programs } = multi.call.prim.describe(multi.call.params);
      const nested = programs.map(([k, p]) =>
        `      ${k}=${p.toString().split("\n").join("\n      ")}`
      );
      const head = `    ${multi.call.outs.map(typed).join(" ")} = ${e.prim.name}`;
      const ps = paramString(plain);
      return nested.length === 0
        ? [`${head}${ps}${tail}`]
        : [`${head}${ps.slice(0, -1) || "["}`, ...nested, `    ]${tail}`];
    });
    const outs = this.outputs.map(atom).join(" ");
    const head = `{ lambda ${consts}${consts ? " " : ""}; ${ins}. let`;
    return [head, ...lines, `  in (${outs}) }`].join("\n");
  }
}

/** `a`…`z`, then `ba`, `bb`, … (JAX's names). */
function varName(i: number): string {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  let s = letters[i % 26];
  let n = Math.floor(i / 26);
  while (n > 0) {
    s = letters[n % 26] + s;
    n = Math.floor(n / 26);
  }
  return s;
}

/** `2.0` for a float, `2` for an int, `true` for a bool. */
function literal(x: number, dtype: DType): string {
  if (dtype === "bool") return x ? "true" : "false";
  const s = String(x);
  return isFloat(dtype) && Number.isInteger(x) && !s.includes("e") ? `${s}.0` : s;
}

/** `f32[2,3]`. */
function avalString(a: AbstractValue): string {
  return `${SHORT[a.dtype]}[${a.shape.join(",")}]`;
}

/** `[axis=0 keepdims=true]`, or "" for no params. */
function paramString(params: unknown): string {
  if (params === undefined || params === null) return "";
  if (typeof params !== "object") return `[${valueString(params)}]`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params as Record<string, unknown>)) {
    if (v !== undefined) parts.push(`${k}=${valueString(v)}`);
  }
  return parts.length ? `[${parts.join(" ")}]` : "";
}

function valueString(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(valueString).join(",")}]`;
  if (v !== null && typeof v === "object") {
    if (ArrayBuffer.isView(v)) return `<${v.constructor.name}>`;
    return `{${Object.entries(v).map(([k, x]) => `${k}:${valueString(x)}`).join(",")}}`;
  }
  return String(v);
}

/**
 * How many times `program` reads each variable: once per equation input,
 * once per output.
 * @internal
 */
export function readCounts(program: Program): Map<Var, number> {
  const reads = new Map<Var, number>();
  for (const eq of program.equations) {
    for (const v of eq.inputs) reads.set(v, (reads.get(v) ?? 0) + 1);
  }
  for (const v of program.outputs) reads.set(v, (reads.get(v) ?? 0) + 1);
  return reads;
}
