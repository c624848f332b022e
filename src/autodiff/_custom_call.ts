/**
 * A call of a function with a custom derivative, kept as one node of a
 * traced body (JAX's `custom_vjp_call` / `custom_jvp_call`). The body of a
 * `lax.scan`, `lax.cond`/`switch`, `whileLoop` or `checkpoint` is traced
 * into a program before any derivative sees it; its rules then
 * differentiate the program equation by equation. Inlined, a custom
 * function would be differentiated as its plain `f`; as this node, each
 * transformation re-enters the custom function itself, which applies the
 * user's rule (or, under `vmap`, the batched function with its rules
 * batched).
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import type { Tensor } from "../core/tensor.ts";
import { zerosLikeTensor } from "../ops/creation.ts";
import type { Program } from "../jit/program.ts";
import {
  avalOf,
  backendOfAll,
  bindMulti,
  type ControlPrimitive,
  evalProgram,
  freshOutputs,
  jvpOf,
  outAvals,
  releaseProgram,
  runProgram,
  traceClosed,
  traceFlat,
  vmapOf,
} from "../lax/_control.ts";
import { broadcastTo } from "../ops/movement.ts";
import { vjpCore } from "./vjp.ts";

/** The params of a custom call. */
export interface CustomCallParams {
  /** `customVjp()` or `customJvp()`, for errors. */
  readonly op: string;
  /** `f` traced: its inputs are the call's tensor arguments, then the values it closed over. */
  readonly body: Program;
  /**
   * How many of the inputs are arguments; the rest are traced values `f`
   * closed over, with which the rule cannot be used (0: `f` batched).
   */
  readonly numArgs: number;
  /** The custom function on the argument tensors, flat: applies the rule under a derivative. */
  readonly call: (args: Tensor[]) => Tensor[];
  /** The custom function batched over axis 0 of the arguments marked true (its rules batched). */
  readonly batched: (mapped: readonly boolean[]) => (args: Tensor[]) => Tensor[];
}

function closedOver(p: CustomCallParams, what: string): Error {
  return new Error(
    `${p.op}: the function closes over a traced value (made inside the lax.scan, ` +
      `lax.cond/switch, whileLoop or checkpoint body that calls it), so it cannot be ${what} ` +
      `there with its rule; pass that value as an argument instead`,
  );
}

const customCallPrim: ControlPrimitive<CustomCallParams> = {
  name: "custom_call",

  avals(_inputs, p) {
    return outAvals(p.body);
  },

  run(inputs, p, inProgram = false) {
    try {
      const kept = new Set<Tensor>([...inputs, ...p.body.consts]);
      return freshOutputs(runProgram(p.body, inputs), kept);
    } finally {
      if (!inProgram) releaseProgram(p.body);
    }
  },

  bind(inputs, p) {
    return bindMulti(customCallPrim, inputs, p);
  },

  describe(p) {
    return { plain: { rule: p.op.replace("()", "") }, programs: [["f", p.body]] };
  },

  jvp(primals, tangents, p) {
    if (primals.length > p.numArgs) throw closedOver(p, "differentiated");
    // Forward mode of the custom function itself: its rule (customJvp), or its error (customVjp).
    return jvpOf((xs) => p.call(xs), primals, tangents);
  },

  vjp(primals, needs, p) {
    if (primals.length > p.numArgs) throw closedOver(p, "differentiated");
    const at = primals.flatMap((x, i) => (needs[i] && isFloat(x.dtype) ? [i] : []));
    const r = vjpCore(
      p.op,
      (...d: unknown[]) => {
        const xs = primals.slice();
        at.forEach((i, k) => (xs[i] = d[k] as Tensor));
        return p.call(xs);
      },
      at.map((i) => primals[i]),
      "arguments",
    );
    const outs = r.out as Tensor[];
    return {
      outs,
      pullback: (cts) => {
        const grads = r.pullback(cts.map((c, k) => c ?? zerosLikeTensor(outs[k]))) as Tensor[];
        const res: (Tensor | null)[] = primals.map(() => null);
        at.forEach((i, k) => (res[i] = grads[k]));
        return res;
      },
    };
  },

  batch(values, batched, size, p) {
    if (values.length > p.numArgs) {
      // f batched, as a call that no rule can differentiate: only that is the error.
      const body = traceFlat(
        p.op,
        (xs) => {
          const r = vmapOf((ys) => evalProgram(p.body, ys), xs, batched, size);
          return r.outs.map((o, j) => (r.batched[j] ? o : broadcastTo(o, [size, ...o.shape])));
        },
        values.map(avalOf),
        backendOfAll(values),
      );
      const outs = bindMulti(customCallPrim, values, { ...p, body, numArgs: 0 });
      return { outs, batched: outs.map(() => true) };
    }
    const outs = p.batched(batched.slice(0, p.numArgs))(values.slice());
    return { outs, batched: outs.map(() => true) };
  },
};

/**
 * Records a call of a custom function in the body being traced: `f` (on
 * the argument tensors `args`, flat, returning its output tensors) is
 * traced into the call's program; `call` and `batched` re-enter the
 * custom function (see {@linkcode CustomCallParams}).
 */
export function customCall(
  op: string,
  args: readonly Tensor[],
  f: (args: Tensor[]) => Tensor[],
  call: (args: Tensor[]) => Tensor[],
  batched: (mapped: readonly boolean[]) => (args: Tensor[]) => Tensor[],
): Tensor[] {
  const closed = traceClosed(op, "f", f, args.map(avalOf), backendOfAll(args));
  const params: CustomCallParams = {
    op,
    body: closed.program,
    numArgs: args.length,
    call,
    batched,
  };
  return bindMulti(customCallPrim, [...args, ...closed.captured], params);
}
