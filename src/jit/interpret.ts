/**
 * Runs a program on concrete tensors through the backend kernels
 * (`dispatch`), exactly as eager execution would: results are bit-identical
 * to eager ones. The plan (`memory_plan.ts`, made once per program) says
 * which equations run (dead code is skipped: the traced program is pure),
 * what to free after each, and where intermediates live.
 *
 * On a backend with `reserve`/`writeInto` (`wasm`), the program reserves one
 * block on its first call and every planned intermediate is written at its
 * offset there, on every call: no allocation, no owner counting, no
 * finalizer per intermediate, nothing for the garbage collector. Only the
 * outputs are new buffers, and an output whose equation takes a donated
 * argument's buffer (`jit`'s `donateArgnums`) is written over that
 * argument. Elsewhere intermediates are new buffers disposed right after
 * their last use (buffers shared with a later value, like a reshape's, stay
 * alive through the backend's owner counting).
 *
 * On a backend with `record` (`wasm`), the first call records each
 * equation's kernel, and later calls run it again on that call's buffers
 * (`KernelLaunch.again`), past the primitive's checks, specs and kernel
 * lookups: they depend only on shapes, which the program fixes. Only an
 * equation whose primitive ran exactly one replayable kernel, reading its
 * operands and writing its output, is replayed (a gather is not: it checks
 * its indices on the host); the others run as above. A `fused` equation (see
 * `fuse.ts`) runs as one kernel on a backend with the `fused` hook, else
 * (or when the hook declines) its ops one by one. On a backend with
 * `batch` (`webgpu`), a call is one unit of device work: every dispatch
 * recorded into one command encoder, submitted once. `cpu` runs op by op,
 * the reference. A control-flow call (`multi.ts`) runs once, when its first
 * needed output is reached, and gives new buffers for all its outputs.
 *
 * @module
 */

import type { Backend, DataHandle, KernelLaunch, Reservation } from "../backend/backend.ts";
import { sizeOf } from "../core/shape.ts";
import { makeTensor, type Tensor, withoutCollecting } from "../core/tensor.ts";
import { applyConcrete, type Primitive } from "../ops/primitive.ts";
import { fusedInfo, runFused as runFusedKernel } from "./fuse.ts";
import { matmulEpilogueInfo, runMatmulEpilogue } from "./fuse_matmul.ts";
import { ALIASING, type MemoryPlan, planMemory } from "./memory_plan.ts";
import {
  type Equation,
  type MultiCall,
  multiInfo,
  type OutputOf,
  type Program,
  type Var,
} from "./program.ts";

let launches = 0;

/**
 * How many kernels programs have run so far: one per equation run op by
 * op (through `dispatch`), one per fused equation run as one kernel.
 * @internal
 */
export function kernelLaunches(): number {
  return launches;
}

/** The tensors of programs' planned buffers (never disposed by a call). */
const programOwned = new WeakSet<Tensor>();

/** Gives reservations back when their executable is garbage-collected. */
const reservations = new FinalizationRegistry<Reservation>((r) => r.free());

/**
 * A program made ready to run: its memory plan, and on backends that
 * reserve memory, its block and the buffers placed in it (made on the
 * first call).
 * @internal
 */
export class Executable {
  /** The program. */
  readonly program: Program;
  /** Its plan. */
  readonly plan: MemoryPlan;
  /** The backend the block belongs to, once reserved. */
  #backend: Backend | null = null;
  /** The block, once reserved (null: not yet, or the backend has none). */
  #reservation: Reservation | null = null;
  /** Per equation: the buffer its output is written to, or null (a new buffer). */
  #slots: (DataHandle | null)[] = [];
  /**
   * Per equation with a planned buffer: the tensor holding it, made once
   * (its owner is the program: never disposed, never a result).
   */
  #slotTensors: (Tensor | null)[] = [];
  /** The live equations, in order. */
  readonly #steps: readonly Step[];
  /** The outputs' value indices. */
  readonly #outputs: readonly number[];
  /** Per equation: the position of the first output it defines (not an alias), or -1. */
  readonly #outputOf: readonly number[];
  /**
   * Per step, its kernel as the first call on this backend recorded it
   * (null: the step runs its primitive); null until that call.
   */
  #replays: (Replay | null)[] | null = null;

  /**
   * Plans `program`.
   *
   * @param program The program.
   * @param donated Positions of inputs whose buffers the caller gives up.
   */
  constructor(program: Program, donated: readonly number[] = []) {
    this.program = program;
    this.plan = planMemory(program, donated);
    const { steps, outputs } = stepsOf(program, this.plan);
    this.#steps = steps;
    this.#outputs = outputs;
    this.#outputOf = program.equations.map((eq) =>
      ALIASING.has(eq.prim.name) || multiInfo(eq) !== undefined
        ? -1
        : program.outputs.indexOf(eq.out)
    );
  }

  /** Reserves the block on `backend` (once; again after a backend change). */
  #reserve(backend: Backend): void {
    if (this.#backend === backend) return;
    this.free();
    this.#backend = backend;
    this.#replays = null;
    this.#slots = this.program.equations.map(() => null);
    this.#slotTensors = this.program.equations.map(() => null);
    if (backend.reserve === undefined || backend.writeInto === undefined) return;
    const { offset, bytes } = this.plan;
    if (bytes === 0) return;
    const r = backend.reserve(bytes);
    if (r === null) return;
    this.#reservation = r;
    reservations.register(this, r, this);
    this.program.equations.forEach((eq, i) => {
      const { shape, dtype } = eq.out.aval;
      if (offset[i] < 0) return;
      const slot = this.#slots[i] = r.view(offset[i], dtype, sizeOf(shape));
      // Not recorded by an enclosing tidy: it lives as long as the program.
      const t = withoutCollecting(() => makeTensor(backend, slot, shape, dtype));
      programOwned.add(t);
      this.#slotTensors[i] = t;
    });
  }

  /** Gives the block back (the executable reserves a new one if it runs again). */
  free(): void {
    if (this.#reservation !== null) {
      reservations.unregister(this);
      this.#reservation.free();
      this.#reservation = null;
    }
    this.#backend = null;
  }

  /**
   * Evaluates the program on `inputs` (one concrete tensor per input).
   *
   * @param inputs The inputs' values.
   * @param outInto Per output, a tensor to write it into (a buffer the
   *   caller owns, e.g. a loop's carry written over step after step; on a
   *   backend with `writeInto`), or null for a new buffer. Such an output is
   *   returned as that tensor when its kernel could write there, else as a
   *   new tensor. The tensor must not be one of `inputs`.
   * @returns The outputs' values.
   */
  run(inputs: readonly Tensor[], outInto?: readonly (Tensor | null)[]): Tensor[] {
    const backend = inputs[0]?._backend ?? this.program.consts[0]?._backend ?? null;
    if (backend === null) return this.#run(inputs, null, undefined);
    this.#reserve(backend);
    // One unit of device work where the backend batches (webgpu: one submit).
    return backend.batch
      ? backend.batch(() => this.#run(inputs, backend, outInto))
      : this.#run(inputs, backend, outInto);
  }

  #run(
    inputs: readonly Tensor[],
    backend: Backend | null,
    outInto: readonly (Tensor | null)[] | undefined,
  ): Tensor[] {
    const { program } = this;
    const writeInto = backend?.writeInto?.bind(backend);
    const place: Place = <T>(into: DataHandle | null, body: () => T): T =>
      into === null || writeInto === undefined ? body() : writeInto(into, body);
    // Values by index: constants, inputs, then equations' outputs (see `#steps`).
    const env: Tensor[] = program.consts.concat(inputs);
    // Multi-output calls (control flow) run once, at their first live output.
    const calls = new Map<MultiCall, { outs: Tensor[]; taken: Set<number> }>();
    // The first call on a backend that records kernels records them (kept
    // once the call completes: one that throws records nothing); later calls
    // run the recorded kernels (unless an input is unusable: the primitives
    // then say why).
    const record = backend?.record?.bind(backend);
    const recorded: (Replay | null)[] | null = record !== undefined && this.#replays === null
      ? []
      : null;
    // Inputs and constants (tensors the function closed over, which their
    // owner may have freed or donated since) must still be there to replay.
    const usable = (t: Tensor) => !t._disposed && t._backend === backend;
    const replays = recorded !== null
      ? recorded
      : inputs.every(usable) && program.consts.every(usable)
      ? this.#replays
      : null;
    for (let s = 0; s < this.#steps.length; s++) {
      const { i, eq, args, out, free, multi } = this.#steps[s];
      if (multi !== undefined) {
        let done = calls.get(multi.call);
        if (done === undefined) {
          launches++;
          const outs = multi.call.prim.run(args.map((k) => env[k]), multi.call.params, true);
          calls.set(multi.call, done = { outs, taken: new Set() });
        }
        done.taken.add(multi.index);
        env[out] = done.outs[multi.index];
        for (const k of free) if (!programOwned.has(env[k])) env[k].dispose();
        continue;
      }
      const d = this.plan.donor[i];
      const donated = d >= 0 && !inputs[d]._disposed && inputs[d]._backend === backend &&
        inputs.indexOf(inputs[d]) === inputs.lastIndexOf(inputs[d]);
      const target = outInto === undefined || this.#outputOf[i] < 0
        ? null
        : outInto[this.#outputOf[i]];
      const reuse = donated ? null : target ?? this.#slotTensors[i] ?? null;
      const into = donated ? inputs[d]._data : reuse?._data ?? null;
      const replay = replays?.[s] ?? null;
      const data = replay === null ? null : replay.launch.again(replay.reads(env, args), into);
      if (data !== null) {
        launches++;
        env[out] = reuse !== null && data === reuse._data
          ? reuse
          : makeTensor(backend!, data, eq.out.aval.shape, eq.out.aval.dtype);
      } else if (recorded !== null && record !== undefined) {
        const operands = args.map((k) => env[k]);
        const r = record(() => evaluate(eq, operands, into, place, reuse));
        env[out] = r.value;
        recorded[s] = replayOf(r.launches, operands, args, r.value);
      } else {
        env[out] = evaluate(eq, args.map((k) => env[k]), into, place, reuse);
      }
      for (const k of free) if (!programOwned.has(env[k])) env[k].dispose();
    }
    if (recorded !== null) this.#replays = recorded;
    // Outputs of calls no result needs.
    for (const { outs, taken } of calls.values()) {
      outs.forEach((t, k) => taken.has(k) || t.dispose());
    }
    return this.#outputs.map((k) => env[k]);
  }
}

/** One live equation as `run` steps through it: value indices instead of variables. */
interface Step {
  /** Its position in the program. */
  readonly i: number;
  /** The equation. */
  readonly eq: Equation;
  /** Its inputs' value indices. */
  readonly args: readonly number[];
  /** Its output's value index. */
  readonly out: number;
  /** The value indices to free after it. */
  readonly free: readonly number[];
  /** The control-flow call it is an output of, if any. */
  readonly multi: OutputOf | undefined;
}

/** The live equations of `program` as steps, and the outputs' value indices. */
function stepsOf(program: Program, plan: MemoryPlan): { steps: Step[]; outputs: number[] } {
  const index = new Map<Var, number>();
  for (const v of [...program.constVars, ...program.inputs]) index.set(v, index.size);
  program.equations.forEach((eq) => index.set(eq.out, index.size));
  const at = (v: Var): number => index.get(v)!;
  const steps = program.equations.flatMap((eq, i) =>
    plan.live[i]
      ? [{
        i,
        eq,
        args: eq.inputs.map(at),
        out: at(eq.out),
        free: plan.free[i].map(at),
        multi: multiInfo(eq),
      }]
      : []
  );
  return { steps, outputs: program.outputs.map(at) };
}

/** A step's one kernel, recorded, and which of its operands the kernel read, in order. */
interface Replay {
  readonly launch: KernelLaunch;
  /** The buffers to run it on: per read, the step's operand recorded there. */
  readonly reads: (env: readonly Tensor[], args: readonly number[]) => DataHandle[];
}

/**
 * The replay of a step whose primitive ran exactly one recorded kernel,
 * writing its output and reading only its operands' buffers; else null.
 * A buffer at several operand positions is ambiguous unless every one of
 * them is the same value (`args`: `mul(x, x)`): two values on one buffer
 * this call (`f(x, x)`, or a loop's carry that is also a constant) may be
 * two buffers the next, so such a step is not replayed.
 */
function replayOf(
  launches: readonly KernelLaunch[] | null,
  operands: readonly Tensor[],
  args: readonly number[],
  output: Tensor,
): Replay | null {
  if (launches === null || launches.length !== 1) return null;
  const [launch] = launches;
  if (launch.wrote !== output._data) return null;
  const from: number[] = [];
  for (const r of launch.reads) {
    const at = operands.flatMap((t, i) => t._data === r ? [i] : []);
    if (at.length === 0 || at.some((i) => args[i] !== args[at[0]])) return null;
    from.push(at[0]);
  }
  const reads: DataHandle[] = from.map(() => null); // filled call after call
  return {
    launch,
    reads: (env, args) => {
      for (let r = 0; r < from.length; r++) reads[r] = env[args[from[r]]]._data;
      return reads;
    },
  };
}

/** Runs `body` so that its kernel writes `into` (see `Backend.writeInto`); else just `body`. */
type Place = <T>(into: DataHandle | null, body: () => T) => T;

/** One equation on concrete tensors, its output placed where `place` says. */
function evaluate(
  eq: Equation,
  args: readonly Tensor[],
  into: DataHandle | null,
  place: Place,
  reuse: Tensor | null,
): Tensor {
  const fused = fusedInfo(eq);
  if (fused !== undefined) {
    return runFused(eq, args, into, place, reuse, runFusedKernel, fused);
  }
  const product = matmulEpilogueInfo(eq);
  if (product !== undefined) {
    return runFused(eq, args, into, place, reuse, runMatmulEpilogue, product);
  }
  return place(into, () => run(eq, args, reuse));
}

function run(eq: Equation, args: readonly Tensor[], reuse: Tensor | null = null): Tensor {
  launches++;
  // Sound: equations are only made by JitTrace.process, from primitives, and
  // a program runs on concrete tensors.
  return applyConcrete(eq.prim as Primitive<unknown>, args, eq.params, eq.out.aval, reuse);
}

/** A fused equation: one kernel where the backend can (`kernel`), else `body` op by op. */
function runFused(
  eq: Equation,
  args: readonly Tensor[],
  into: DataHandle | null,
  place: Place,
  reuse: Tensor | null,
  kernel: (backend: Backend, eq: Equation, inputs: readonly DataHandle[]) => DataHandle | null,
  { body, constants }: {
    readonly body: readonly Equation[];
    readonly constants: ReadonlyMap<Var, Tensor>;
  },
): Tensor {
  const backend = args[0]._backend!;
  const { shape, dtype } = eq.out.aval;
  if (args.every((t) => !t._disposed && t._backend === backend)) {
    const data = place(into, () => kernel(backend, eq, args.map((t) => t._data)));
    if (data !== null) {
      launches++;
      return reuse !== null && data === reuse._data
        ? reuse
        : makeTensor(backend, data, shape, dtype);
    }
  }
  // Op by op, on new buffers: the first op must not write over a donated operand the others read.
  const env = new Map<Var, Tensor>(constants);
  eq.inputs.forEach((v, i) => env.set(v, args[i]));
  return evaluateEquations(body, env, [eq.out])[0];
}

/**
 * Runs `eqs` one by one on the tensors `env` gives their inputs (new
 * buffers throughout; fused equations as one kernel where the backend can),
 * and returns `outs`' values; the other values they made are disposed.
 * @internal
 */
export function evaluateEquations(
  eqs: readonly Equation[],
  env: Map<Var, Tensor>,
  outs: readonly Var[],
): Tensor[] {
  const made: Tensor[] = [];
  const place: Place = (_into, body) => body();
  for (const eq of eqs) {
    const t = evaluate(eq, eq.inputs.map((v) => env.get(v)!), null, place, null);
    env.set(eq.out, t);
    made.push(t);
  }
  const result = outs.map((v) => env.get(v)!);
  for (const t of made) if (!result.includes(t)) t.dispose();
  return result;
}
