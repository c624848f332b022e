/**
 * The tracing level of `jit`: its tracers carry an abstract value (shape,
 * dtype, backend) and no buffer, and every primitive applied to one is
 * recorded as an equation of the program instead of running a kernel.
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import type { DType } from "../core/dtype.ts";
import type { Shape } from "../core/shape.ts";
import { concreteOf, Tensor } from "../core/tensor.ts";
import type { Aval, Primitive, Transformation } from "../ops/primitive.ts";
import {
  type Equation,
  MultiCall,
  type MultiPrimitive,
  OutputOf,
  Program,
  type Var,
} from "./program.ts";

/**
 * Thrown while tracing when an op mixes a `jit` tracer with a tracer of a
 * live outer transformation closed over by the function: `jit` then runs
 * the function inline so that transformation sees its ops.
 * @internal
 */
export class OuterTracer extends Error {}

/** The trace `jit` and `makeJaxpr` record a program with. @internal */
export class JitTrace implements Transformation {
  readonly level: number;
  done = false;
  readonly #backend: Backend;
  readonly #vars: Var[] = [];
  readonly #inputs: Var[] = [];
  readonly #constVars: Var[] = [];
  readonly #consts: Tensor[] = [];
  readonly #constOf = new Map<Tensor, Var>();
  readonly #equations: Equation[] = [];
  /**
   * With `capture`: tracers of live outer transformations the function
   * closes over, each made an input (after the others) instead of making
   * `jit` run inline (tracing a control-flow body).
   */
  readonly #captured: Tensor[] | null;
  readonly #capturedOf = new Map<Tensor, Var>();

  constructor(level: number, backend: Backend, capture = false) {
    this.level = level;
    this.#backend = backend;
    this.#captured = capture ? [] : null;
  }

  /** Whether it traces a body (outer tracers become inputs; see the constructor). */
  get capturing(): boolean {
    return this.#captured !== null;
  }

  /** The outer tracers captured as inputs, in input order (see the constructor). */
  get captured(): readonly Tensor[] {
    return this.#captured ?? [];
  }

  /** A new input variable and its tracer. */
  input(aval: Aval): Tensor {
    const v = this.#newVar(aval);
    this.#inputs.push(v);
    return this.#tracer(v);
  }

  process<P>(prim: Primitive<P>, inputs: readonly Tensor[], params: P, out: Aval): Tensor {
    const vars = inputs.map((x) => this.varOf(x));
    const v = this.#newVar({ shape: out.shape.slice(), dtype: out.dtype });
    this.#equations.push({ prim, inputs: vars, params, out: v });
    return this.#tracer(v);
  }

  abstractError(op: string, shape: Shape, dtype: DType): Error {
    const what = `a traced tensor (${dtype}[${shape.join(",")}])`;
    if (this.done) {
      const [where, made] = this.capturing
        ? [
          "a lax.scan, foriLoop, whileLoop, cond, switch or checkpoint body",
          "that body was traced",
        ]
        : ["jit", "jit traced a function"];
      return new Error(
        `${op}(): ${what} escaped ${where}: it was made while ${made} and used after the trace ` +
          `returned (kept in a variable outside the function or a closure); return it from the ` +
          `function instead`,
      );
    }
    if (this.capturing) {
      // A control-flow body or branch, traced once with abstract values (also outside jit).
      return new Error(
        `${op}(): cannot read ${what} while a lax.scan, foriLoop, whileLoop, cond, switch or ` +
          `checkpoint body is traced: bodies and branches are traced once, with abstract ` +
          `values, to run as one primitive. Compute with where() instead of branching on it, ` +
          `nest lax.cond/lax.whileLoop for control flow, or read it outside the body`,
      );
    }
    return new Error(
      `${op}(): cannot read ${what} while jit traces the function: its value is only known ` +
        `when the program runs. Make the argument it depends on static ` +
        `(jit(f, { staticArgnums: [i] })), compute both branches and pick with where() ` +
        `instead of branching on it, use lax.cond/lax.switch for a branch and ` +
        `lax.foriLoop/lax.whileLoop/lax.scan for a loop, or read it outside the jitted function`,
    );
  }

  /** Records a call of a primitive with several outputs: one equation per output. */
  processMulti<P>(
    prim: MultiPrimitive<P>,
    inputs: readonly Tensor[],
    params: P,
    outs: readonly Aval[],
  ): Tensor[] {
    const vars = inputs.map((x) => this.varOf(x));
    const outVars = outs.map((a) => this.#newVar({ shape: a.shape.slice(), dtype: a.dtype }));
    const call = new MultiCall(prim as MultiPrimitive<unknown>, params, outVars);
    outVars.forEach((v, k) => {
      this.#equations.push({ prim, inputs: vars, params: new OutputOf(call, k), out: v });
    });
    return outVars.map((v) => this.#tracer(v));
  }

  /** The variable of a tracer of this trace, or of a concrete tensor (a constant). */
  varOf(x: Tensor): Var {
    if (x._trace === this) return this.#vars[x._id];
    // A tracer of a transformation that returned acts as its value; one of
    // an earlier jit (no value) escaped: concreteOf throws its error.
    while (x._trace !== null && x._trace.done) x = x._primal ?? concreteOf(x, "jit");
    if (x._trace !== null) {
      if (this.#captured === null) throw new OuterTracer();
      let c = this.#capturedOf.get(x);
      if (c === undefined) {
        c = this.#newVar({ shape: x.shape, dtype: x.dtype });
        this.#capturedOf.set(x, c);
        this.#inputs.push(c);
        this.#captured.push(x);
      }
      return c;
    }
    let v = this.#constOf.get(x);
    if (v === undefined) {
      v = this.#newVar({ shape: x.shape, dtype: x.dtype });
      this.#constOf.set(x, v);
      this.#constVars.push(v);
      this.#consts.push(x);
    }
    return v;
  }

  /** The program recorded so far, with these outputs. */
  program(outputs: readonly Var[]): Program {
    return new Program(this.#constVars, this.#consts, this.#inputs, this.#equations, outputs);
  }

  #newVar(aval: Aval): Var {
    const v: Var = { id: this.#vars.length, aval: Object.freeze(aval) };
    this.#vars.push(v);
    return v;
  }

  #tracer(v: Var): Tensor {
    return new Tensor(v.aval.shape, v.aval.dtype, this.#backend, null, this, null, null, v.id);
  }
}
