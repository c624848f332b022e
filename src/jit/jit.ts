/**
 * `jit` and `makeJaxpr`: trace a function once per signature into a
 * `Program` (abstract values only, no kernel runs), cache it, and run it.
 *
 * Tracing happens at its own level (constants, static arguments, the errors
 * for reading traced values and for escaped tracers); each jitted function
 * keeps a bounded cache of programs. A program runs through the backend
 * kernels (bit-identical to eager) after merging common subexpressions,
 * skipping dead code and fusing chains of elementwise ops into one kernel
 * each on backends with the `fused` hook (`wasm`, `webgpu`; see
 * `fuse.ts`), with its intermediates placed by a memory plan made once per
 * program and donated arguments' buffers reused for outputs (see
 * `memory_plan.ts` and `interpret.ts`).
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import { currentBackend, selectedBackendName } from "../backend/registry.ts";
import { concreteOf, disposeDonated, Tensor, withoutCollecting } from "../core/tensor.ts";
import { checkFunction, describe } from "../ops/convert.ts";
import { flatten, flattenWithPath, unflatten } from "../tree/tree.ts";
import { nextLevel, withTrace } from "../autodiff/trace.ts";
import { Executable } from "./interpret.ts";
import type { Program, Var } from "./program.ts";
import { foldOuterProductNorms, foldReshapedReductions, mergeCommon } from "./passes.ts";
import { fuseElementwise } from "./fuse.ts";
import { fuseSequences } from "./fuse_sequence.ts";
import { fuseMatmulEpilogues } from "./fuse_matmul.ts";
import { JitTrace, OuterTracer } from "./trace.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";
import { getDefaultDType } from "../ops/default_dtype.ts";
import { hostKeyOnCurrentBackend } from "../random/_keys.ts";
import { castPrim } from "../ops/elementwise.ts";
import { bind } from "../ops/primitive.ts";

/**
 * Options of `jit` and `makeJaxpr`.
 *
 * @example
 * ```ts
 * import { jit, type JitOptions, reshape, tensor } from "@gradus/core";
 * const opts: JitOptions = { staticArgnums: [1] };
 * const f = jit((x, shape: number[]) => reshape(x, shape), opts);
 * console.log(f(tensor([1, 2, 3, 4]), [2, 2]).shape); // [2, 2]
 * ```
 */
export interface JitOptions {
  /**
   * Positions of arguments that are static: plain JS values (numbers,
   * strings, booleans, arrays/objects of them; other objects by identity)
   * that become part of the cache key, so a new value traces again.
   * Negative positions count from the end.
   */
  readonly staticArgnums?: readonly number[];
  /**
   * Positions of arguments (pytrees of tensors) whose buffers the caller
   * gives up, as in JAX: an output of the same shape and dtype is written
   * into a donated tensor's buffer where the program allows it (on `wasm`:
   * a jitted `w - lr * g` updates `w` in place, no new buffer), and every
   * donated tensor is disposed after the call (on every backend, whether
   * its buffer was reused or not, and also when the program fails while
   * running, as an index out of range does), unless the function returned it
   * as it is; using it afterwards is an error. Negative positions count from the
   * end. A buffer that another tensor shares (a reshape of it, the same
   * tensor passed twice) is never written over.
   */
  readonly donateArgnums?: readonly number[];
}

/**
 * How many programs a jitted function keeps (least recently used dropped first).
 *
 * @example
 * ```ts
 * import { JIT_CACHE_SIZE } from "@gradus/core";
 * console.log(JIT_CACHE_SIZE); // 64
 * ```
 */
export const JIT_CACHE_SIZE = 64;

interface Split {
  /** The tensor leaves of the non-static arguments, in order. */
  readonly tensors: Tensor[];
  /** Per tensor leaf, the position of the argument it is in. */
  readonly argOf: number[];
  /** The cache key: backend, structures, shapes, dtypes, static values. */
  readonly key: string;
  /** Rebuilds the arguments with these tensors in place of the tensor leaves. */
  readonly rebuild: (tensors: readonly Tensor[]) => unknown[];
}

interface Traced {
  readonly program: Program;
  readonly rebuildOut: (tensors: readonly Tensor[]) => unknown;
}

interface Entry extends Traced {
  readonly executable: Executable;
  /**
   * Per output, whether the program holds it as a constant (it depends on no
   * argument: a zero gradient). Such an output is copied on every call, as
   * eager code makes it anew: freeing or donating one call's result must not
   * touch the next's.
   */
  readonly constOut: readonly boolean[];
}

const JIT_KEYS: OptionKeys<JitOptions> = { staticArgnums: true, donateArgnums: true };

/**
 * Compiles `f`: the first call with a given signature (pytree structure,
 * shapes and dtypes of the tensor arguments, static values, backend) traces
 * `f` once with abstract values into a program; every call runs the cached
 * program. Up to `JIT_CACHE_SIZE` (64) programs are kept per jitted function.
 *
 * Inside `f`, reading a traced value (`dataSync`, `await x.data()`,
 * `itemSync`, `Number(x)`, `x > 0`…) is an error naming the fix; side
 * effects such as `console.log` run at trace time only. Tensors `f` closes
 * over or creates become constants of the program; ops whose inputs are
 * all constants run while tracing (their results are constants too).
 * Non-tensor leaves of the arguments (numbers, strings, booleans, such as
 * an optimizer state's step count; functions by identity) are static
 * values: part of the cache key, so a new value traces again. Other
 * objects there (class instances, Maps, typed arrays) are a TypeError:
 * keyed by identity, their tensors would be constants of the program and
 * later changes ignored; pass their tensors in plain objects and arrays, or
 * list the argument in `staticArgnums`. Non-tensor leaves of the result are
 * returned as they were at trace time. Called with tracers of an
 * outer transformation (`valueAndGrad(jit(f))`, `jvp(jit(f))`, a nested
 * `jit`), or when `f` closes over such tracers, it runs `f` inline so that
 * transformation sees every op. `jit(valueAndGrad(f))` traces the
 * gradient computation into the program.
 *
 * Before running, repeated computations (same op, same inputs, same
 * params) are merged, ops no result depends on are skipped, and on the
 * `wasm` and `webgpu` backends maximal chains of elementwise ops (unary
 * and binary ops, `where`, `cast`; inputs may broadcast) whose
 * intermediates nothing else reads become one kernel each, built from the
 * same kernel expressions as the eager ops: results stay bit-identical to
 * eager execution (see `fuse.ts` for WebGPU's one caveat). Other ops
 * run one by one through the backend kernels. `makeJaxpr` shows the
 * program as traced; `makeJaxpr(f, { optimized: true })` the program that
 * runs.
 *
 * Memory: on `wasm` a program reserves one block for its intermediates on
 * its first call, places each at an offset planned from their lifetimes
 * (values alive at once never share bytes), and reuses the block on every
 * call; only the outputs are new buffers, so a jitted training loop leaves
 * nothing per step for the garbage collector. The block is given back when
 * the program leaves the cache or the jitted function is collected. With
 * `donateArgnums`, outputs take the donated arguments' buffers.
 *
 * @param f A function of pytrees of tensors (and static values) returning a pytree of tensors.
 * @param opts `staticArgnums`, `donateArgnums` (see {@linkcode JitOptions}).
 * @returns A function with `f`'s signature.
 * @example
 * ```ts
 * import { jit, mul, sum, tensor } from "@gradus/core";
 * const f = jit((x) => sum(mul(x, x)));
 * console.log(f(tensor([1, 2, 3])).itemSync()); // 14 (traced once, then cached)
 * ```
 * @example
 * ```ts
 * import { jit, mul, sub, type Tensor, tensor } from "@gradus/core";
 * // An SGD update that writes the new weights over the old ones.
 * const update = jit((w: Tensor, g: Tensor) => sub(w, mul(g, 0.1)), { donateArgnums: [0] });
 * let w = tensor([1, 2, 3]);
 * w = update(w, tensor([10, 10, 10])); // the old `w` is given up (disposed)
 * console.log(w.arraySync()); // [0, 1, 2]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function jit<F extends (...args: any[]) => any>(f: F, opts: JitOptions = {}): F {
  checkFunction("jit()", f, "trace");
  checkOptions("jit", opts, JIT_KEYS, "{ donateArgnums: [0], staticArgnums: [2] }");
  checkArgnums("jit()", "staticArgnums", opts.staticArgnums);
  checkArgnums("jit()", "donateArgnums", opts.donateArgnums);
  const cache = new Map<string, Entry>();
  const jitted = (...args: unknown[]): unknown => {
    const split = splitArgs("jit()", args, opts.staticArgnums ?? []);
    if (split.tensors.some((t) => t._trace !== null)) return f(...args);
    const donate = new Set((opts.donateArgnums ?? []).map((i) => (i < 0 ? i + args.length : i)));
    for (const i of donate) {
      if (i < 0 || i >= args.length) {
        throw new RangeError(
          `jit(): donateArgnums has ${i} but the function got ${args.length} arguments; ` +
            `give positions of arguments that are passed`,
        );
      }
    }
    let entry = cache.get(split.key);
    if (entry === undefined) {
      try {
        const traced = traceEntry("jit()", f, split);
        const program = optimize(traced.program, split);
        const donated = split.argOf.flatMap((a, k) => (donate.has(a) ? [k] : []));
        const constOut = program.outputs.map((v) => program.constVars.includes(v));
        entry = { ...traced, program, executable: new Executable(program, donated), constOut };
      } catch (e) {
        if (e instanceof OuterTracer) return f(...args);
        throw e;
      }
      if (cache.size >= JIT_CACHE_SIZE) {
        const oldest = cache.keys().next().value!;
        cache.get(oldest)!.executable.free();
        cache.delete(oldest);
      }
    } else {
      cache.delete(split.key);
    }
    cache.set(split.key, entry);
    let ran: Tensor[];
    try {
      ran = entry.executable.run(split.tensors);
    } catch (e) {
      // A step that failed (an index out of range) may come after others
      // that wrote into donated buffers: those are given up all the same.
      split.tensors.forEach((t, k) => {
        if (donate.has(split.argOf[k])) disposeDonated(t);
      });
      throw e;
    }
    const { constOut } = entry;
    const outs = ran.map((o, k) => (constOut[k] ? bind(castPrim, [o], { dtype: o.dtype }) : o));
    if (donate.size > 0) {
      // Donated arguments are given up: disposed, unless returned as they are.
      const kept = new Set(outs);
      split.tensors.forEach((t, k) => {
        if (donate.has(split.argOf[k]) && !kept.has(t)) disposeDonated(t);
      });
    }
    return entry.rebuildOut(outs);
  };
  return jitted as F;
}

const MAKE_JAXPR_KEYS: OptionKeys<
  Pick<JitOptions, "staticArgnums"> & { readonly optimized?: boolean }
> = { staticArgnums: true, optimized: "boolean" };

/**
 * Traces `f` on the given arguments (abstract values only: no kernel runs)
 * and returns the program, like `jax.make_jaxpr`. Print it with
 * `toString()`. With `optimized: true`, the program `jit` runs instead:
 * common subexpressions merged, dead code dropped and, on backends that
 * fuse (`wasm`, `webgpu`), elementwise chains as `fused[ops=[…]]` equations.
 *
 * @param f A function of pytrees of tensors (and static values) returning a pytree of tensors.
 * @param opts `staticArgnums` as for `jit`; `optimized` for the program as `jit` runs it.
 * @returns A function taking `f`'s arguments and returning the `Program`.
 * @example
 * ```ts
 * import { makeJaxpr, matmul, tanh, tensor, zeros } from "@gradus/core";
 * const p = makeJaxpr((x, w) => tanh(matmul(x, w)))(zeros([2, 3]), zeros([3, 4]));
 * console.log(p.toString());
 * // { lambda ; a:f32[2,3] b:f32[3,4]. let
 * //     c:f32[2,4] = matmul[transA=false transB=false] a b
 * //     d:f32[2,4] = tanh c
 * //   in (d) }
 * ```
 * @example
 * ```ts
 * import { add, exp, makeJaxpr, mul, neg, type Tensor, zeros } from "@gradus/core";
 * const f = (a: Tensor, b: Tensor, c: Tensor) => exp(neg(add(mul(a, b), c)));
 * const p = makeJaxpr(f, { optimized: true })(zeros([2, 3]), zeros([3]), zeros([2, 3]));
 * console.log(p.equations.map((e) => e.prim.name)); // [ "fused" ] on wasm, four ops on cpu
 * ```
 */
// deno-lint-ignore no-explicit-any
export function makeJaxpr<A extends any[]>(
  // deno-lint-ignore no-explicit-any
  f: (...args: A) => any,
  opts: Pick<JitOptions, "staticArgnums"> & { readonly optimized?: boolean } = {},
): (...args: A) => Program {
  checkFunction("makeJaxpr()", f, "trace");
  checkOptions("makeJaxpr", opts, MAKE_JAXPR_KEYS, "{ optimized: true }");
  checkArgnums("makeJaxpr()", "staticArgnums", opts.staticArgnums);
  return (...args: A): Program => {
    const split = splitArgs("makeJaxpr()", args, opts.staticArgnums ?? []);
    try {
      const program = traceEntry("makeJaxpr()", f, split).program;
      return opts.optimized ? optimize(program, split) : program;
    } catch (e) {
      if (e instanceof OuterTracer) {
        throw new Error(
          "makeJaxpr(): the function closes over a value traced by an outer transformation " +
            "(grad, vjp, jvp); pass it as an argument instead",
        );
      }
      throw e;
    }
  };
}

/** The program `jit` runs: common subexpressions merged, elementwise chains fused. */
function optimize(program: Program, split: Split): Program {
  return optimizeFor(program, backendOf(split));
}

/**
 * The program as `jit` runs it on `backend` (common subexpressions merged,
 * elementwise chains and product epilogues fused).
 * @internal
 */
export function optimizeFor(
  program: Program,
  backend: Backend,
  { sequences = true }: { readonly sequences?: boolean } = {},
): Program {
  const merged = foldReshapedReductions(foldOuterProductNorms(mergeCommon(program)));
  const fused = fuseMatmulEpilogues(fuseElementwise(merged, backend), backend);
  return sequences ? fuseSequences(fused, backend) : fused;
}

function backendOf(split: Split): Backend {
  return split.tensors.length > 0 ? concreteOf(split.tensors[0])._backend! : currentBackend();
}

function traceEntry(op: string, f: (...args: never[]) => unknown, split: Split): Traced {
  const backend = backendOf(split);
  const trace = new JitTrace(nextLevel(), backend);
  return withoutCollecting(() =>
    withTrace(trace, () => {
      const tracers = split.tensors.map((t) => trace.input({ shape: t.shape, dtype: t.dtype }));
      const result = (f as (...args: unknown[]) => unknown)(...split.rebuild(tracers));
      const [leaves, def] = flatten(result);
      const at: number[] = [];
      const outs: Var[] = [];
      leaves.forEach((leaf, i) => {
        if (leaf instanceof Tensor) {
          at.push(i);
          outs.push(trace.varOf(leaf));
        } else if (leaf instanceof Promise) {
          throw new TypeError(
            `${op}: the function returned a Promise; jit traces synchronous functions ` +
              `(read values with await outside the jitted function)`,
          );
        } else if (leaf !== null && typeof leaf === "object" || typeof leaf === "function") {
          const path = flattenWithPath(result, "output")[0][i][0];
          throw new TypeError(
            `${op}: the function must return tensors (or a pytree of them, with plain ` +
              `numbers, strings or booleans as static leaves), but ${path} is ${describe(leaf)}`,
          );
        }
      });
      return {
        program: trace.program(outs),
        rebuildOut: (tensors: readonly Tensor[]) => {
          const out = leaves.slice();
          at.forEach((j, k) => out[j] = tensors[k]);
          return unflatten(def, out);
        },
      };
    })
  );
}

function splitArgs(op: string, args: readonly unknown[], staticArgnums: readonly number[]): Split {
  const isStatic = new Set(staticArgnums.map((i) => (i < 0 ? i + args.length : i)));
  for (const i of isStatic) {
    if (i < 0 || i >= args.length) {
      throw new RangeError(
        `${op}: staticArgnums has ${i} but the function got ${args.length} arguments; ` +
          `give positions of arguments that are passed`,
      );
    }
  }
  const tensors: Tensor[] = [];
  const argOf: number[] = [];
  // New tensors a trace makes (zeros, random draws) take the default dtype.
  const parts: string[] = [selectedBackendName(), getDefaultDType()];
  const dynamic: {
    index: number;
    leaves: unknown[];
    at: number[];
    def: ReturnType<typeof flatten>[1];
  }[] = [];
  args.forEach((a, i) => {
    if (isStatic.has(i)) {
      parts.push(`s${i}:${staticKey(a)}`);
      return;
    }
    const [leaves, def] = flatten(a);
    const at: number[] = [];
    const leafKeys = leaves.map((l, j) => {
      if (l instanceof Tensor) {
        at.push(j);
        // A random key made before setBackend is used on the current backend, as eagerly.
        const t = hostKeyOnCurrentBackend(l);
        tensors.push(t);
        argOf.push(i);
        return `${t.dtype}[${t.shape.join(",")}]@${backendName(t)}`;
      }
      if (typeof l === "object" && l !== null) throw objectLeaf(op, a, i, j);
      return staticKey(l);
    });
    parts.push(`d${i}:${def.toString()}:${leafKeys.join(";")}`);
    dynamic.push({ index: i, leaves, at, def });
  });
  const rebuild = (ts: readonly Tensor[]): unknown[] => {
    const out = args.slice();
    let k = 0;
    for (const d of dynamic) {
      const leaves = d.leaves.slice();
      for (const j of d.at) leaves[j] = ts[k++];
      out[d.index] = unflatten(d.def, leaves);
    }
    return out;
  };
  return { tensors, argOf, key: parts.join("|"), rebuild };
}

/**
 * The error for an object leaf (a class instance, Map, typed array) of a
 * non-static argument: keyed by identity, its tensors would be constants of
 * the program, and changing them later would silently not count (JAX
 * refuses such an argument too).
 */
function objectLeaf(op: string, arg: unknown, i: number, j: number): TypeError {
  const [path, leaf] = flattenWithPath(arg, `args[${i}]`)[0][j];
  const name = (leaf as object).constructor?.name ?? "object without a prototype";
  return new TypeError(
    `${op}: ${path} is a ${name}: an argument's leaves must be tensors or plain values ` +
      `(numbers, strings, booleans); a ${name} would be keyed by identity and its tensors ` +
      `baked into the program, so changing them later would be ignored. Pass its tensors in ` +
      `a plain object or array, or mark the argument static (staticArgnums: [${i}]): keyed ` +
      `by identity, its tensors constants`,
  );
}

function backendName(t: Tensor): string {
  return t._trace === null ? t._backend!.name : "traced";
}

const ids = new WeakMap<object, number>();
const symbolIds = new Map<symbol, number>();
let nextId = 0;

/** A string equal for equal static values (objects that are not plain data: by identity). */
function staticKey(v: unknown): string {
  if (v === null || v === undefined || typeof v === "boolean") return String(v);
  if (typeof v === "number") return Object.is(v, -0) ? "n:-0" : `n:${v}`;
  if (typeof v === "string") return `s:${JSON.stringify(v)}`;
  if (typeof v === "bigint") return `b:${v}`;
  if (Array.isArray(v)) return `[${v.map(staticKey).join(",")}]`;
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const keys = Object.keys(v).sort();
    return `{${
      keys.map((k) => `${JSON.stringify(k)}:${staticKey((v as Record<string, unknown>)[k])}`).join(
        ",",
      )
    }}`;
  }
  if (typeof v === "object" || typeof v === "function") {
    let id = ids.get(v as object);
    if (id === undefined) ids.set(v as object, id = nextId++);
    return `#${id}`;
  }
  if (typeof v === "symbol") {
    // By identity: two symbols may have the same description.
    let id = symbolIds.get(v);
    if (id === undefined) symbolIds.set(v, id = nextId++);
    return `y${id}`;
  }
  return `${typeof v}:${String(v)}`;
}

function checkArgnums(op: string, name: string, nums: readonly number[] | undefined): void {
  if (nums === undefined) return;
  if (!Array.isArray(nums) || nums.some((n) => !Number.isInteger(n))) {
    throw new TypeError(
      `${op}: ${name} must be an array of integer argument positions, got ${describe(nums)}; ` +
        `e.g. { ${name}: [1] }`,
    );
  }
}
