/**
 * WGSL kernels for the elementwise and movement operations of the WebGPU
 * backend: fill, unary, binary, where, cast (and any fused elementwise
 * expression), strided gather/scatter and concat.
 *
 * The elementwise math comes from the kernel IR (`../ir/`): an opcode's
 * expression graph (`ir/ops.ts`, memoised per opcode and dtype) is rendered
 * to a WGSL function once per distinct graph ({@linkcode irKernel}'s cache)
 * and called by a generic kernel that loads the operands — with
 * broadcasting by strides — and stores the result. So these kernels compute
 * exactly what the IR defines (NaN rules, IEEE division, saturating
 * float → int32, the float32 transcendentals of `ir/math.ts`, `ir/trig.ts`
 * and `ir/erf.ts`; their measured errors are in
 * `tests/backend/ir_ulp_test.ts`), and a fused kernel of several ops is one
 * dispatch. Shapes, strides and sizes travel in the uniform block, so the
 * source (and with it the cached pipeline, see `GpuContext.pipeline`) only
 * depends on the graph, the operand layout class (laid out like the output,
 * or strided) and the segment count. Kernels that only move bits (fill,
 * where, strided, scatterStrided, concat) treat every dtype as `u32` words
 * and share one pipeline across dtypes. Adapters may flush subnormals to
 * zero.
 *
 * @module
 */

import { simplifyStrides } from "../_geometry.ts";
import type { BinaryOp, UnaryOp } from "../backend.ts";
import type { DType } from "../../core/dtype.ts";
import { sizeOf } from "../../core/shape.ts";
import { load, select } from "../ir/expr.ts";
import { type ElementwiseKernel, elementwiseKernel, KernelCache } from "../ir/kernel.ts";
import { binaryOpKernel, castOpKernel, unaryOpKernel } from "../ir/ops.ts";
import { renderWgsl, type WgslFunction } from "../ir/render_wgsl.ts";
import { type GpuContext, groups1d, linearIndex, type Operand, type Store } from "./context.ts";
import { storageOf, wgslType } from "./kernels_util.ts";

/** The most axes a strided kernel handles (after merging contiguous axes). */
export const MAX_RANK = 8;

/** Workgroup size of every kernel in this file. */
const WG = 64;

// ---------------------------------------------------------------- shapes and strides

/**
 * The uniform words of an n-d kernel: `[size, rank, offset, base, shape×8,
 * strides₀×8, strides₁×8, …]` after `simplify` (`size` and `base` are set
 * per dispatch by `runWindows`).
 */
function ndUniforms(
  opName: string,
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  offset: number,
): Int32Array {
  const s = simplifyStrides(shape, strides);
  const rank = s.shape.length;
  if (rank > MAX_RANK) {
    throw new RangeError(
      `${opName}: the webgpu backend handles at most ${MAX_RANK} non-mergeable axes, got ${rank} ` +
        `(shape [${shape.join(", ")}]); reshape or make the operands contiguous first`,
    );
  }
  const u = new Int32Array(4 + MAX_RANK * (1 + strides.length));
  u[0] = sizeOf(shape);
  u[1] = rank;
  u[2] = offset;
  u.set(s.shape, 4);
  s.strides.forEach((st, k) => u.set(st, 4 + MAX_RANK * (k + 1)));
  return u;
}

/** Word of `base` (the dispatch's first output index) in an n-d uniform block. */
const ND_BASE = 3;

/** The WGSL uniform struct of an n-d kernel with `operands` stride arrays. */
function ndStruct(operands: number): string {
  const fields = Array.from(
    { length: operands },
    (_, k) => `  s${k}: array<vec4<i32>, 2>,`,
  );
  return `struct U {
  size: u32,
  rank: u32,
  offset: i32,
  base: u32,
  shape: array<vec4<u32>, 2>,
${fields.join("\n")}
}`;
}

/**
 * WGSL that turns the global output index `i` into the operand positions
 * `p0…p(k−1)` (`p0` starts at `u.offset`, the others at 0).
 */
function ndPositions(operands: number): string {
  const ks = Array.from({ length: operands }, (_, k) => k);
  return `  var rem = i;
${ks.map((k) => `  var p${k} = ${k === 0 ? "u.offset" : "0"};`).join("\n")}
  for (var d = i32(u.rank) - 1; d >= 0; d = d - 1) {
    let len = u.shape[d / 4][d % 4];
    let c = i32(rem % len);
    rem = rem / len;
${ks.map((k) => `    p${k} = p${k} + c * u.s${k}[d / 4][d % 4];`).join("\n")}
  }`;
}

/**
 * A compute shader run by `runWindows`: uniform struct, declarations,
 * helpers, and a body run for the local index `j < u.size`, with `i =
 * u.base + j` the global output index.
 */
function shader(struct: string, decls: string, helpers: string, body: string): string {
  return `${struct}
@group(0) @binding(0) var<uniform> u: U;
${decls}
${helpers}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = ${linearIndex(WG)};
  if (j >= u.size) { return; }
  let i = u.base + j;
${body}
}
`;
}

/** Workgroups for `size` invocations. */
const groupsFor = (size: number) => groups1d(size, WG);

/**
 * Whether an operand read with `strides` over `shape` is laid out exactly
 * like the output (so it can be bound segment by segment with it).
 */
function isAligned(shape: readonly number[], strides: readonly number[], offset = 0): boolean {
  if (offset !== 0) return false;
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== acc) return false;
    acc *= shape[d];
  }
  return true;
}

// ---------------------------------------------------------------- kernels

/**
 * New storage of `size` words, each the 32-bit pattern `bits` (the caller
 * encodes the value for the dtype). One pipeline serves every dtype.
 * @internal
 */
export function fillKernel(ctx: GpuContext, op: string, size: number, bits: number): Store {
  const out = ctx.allocStore(op, size);
  ctx.runWindows(
    op,
    (decls) =>
      shader(`struct U { size: u32, base: u32, bits: u32 }`, decls, "", "  st_out(j, u.bits);"),
    new Uint32Array([0, 0, bits >>> 0]),
    1,
    { type: "u32", store: out },
    [],
    groupsFor,
  );
  return out;
}

/** An operand of {@linkcode irKernel}: its storage and, per output axis, its stride. @internal */
export interface IrOperand {
  /** The storage (elements of the kernel's declared type; bool as u32 0/1). */
  readonly store: Store;
  /** Per output axis, the step in elements (0 broadcasts). */
  readonly strides: readonly number[];
  /** Its WGSL name, which binding-limit errors quote (default `x<k>`). */
  readonly name?: string;
}

/** Rendered WGSL functions by kernel key (one rendering per distinct graph). */
const rendered = new KernelCache<WgslFunction>();

/**
 * Runs an elementwise kernel of the IR over `outShape`:
 * `out[idx] = kernel(operand₀[Σ idx·strides₀], …)` into new storage of the
 * result's type (bool as u32 words). Operands laid out like the output are
 * bound per segment and read at the output's index; the others are bound
 * whole and read at their strided position. One dispatch whatever the
 * number of ops in the graph: the building block of fused kernels.
 *
 * @param ctx The GPU context.
 * @param op The op's name, for messages (`"add()"`).
 * @param kernel The kernel spec (f32, i32, u32 or bool operands).
 * @param operands The operands, in the kernel's order.
 * @param outShape The output shape.
 * @returns New storage of `sizeOf(outShape)` elements.
 * @internal
 */
export function irKernel(
  ctx: GpuContext,
  op: string,
  kernel: ElementwiseKernel,
  operands: readonly IrOperand[],
  outShape: readonly number[],
): Store {
  if (operands.length !== kernel.inputs.length) {
    throw new TypeError(
      `${op}: the kernel takes ${kernel.inputs.length} operands, got ${operands.length}`,
    );
  }
  const fn = rendered.get(kernel, (k) => renderWgsl("ir_kernel", k.output, {}, k.inputs));
  const names = operands.map((o, k) => o.name ?? `x${k}`);
  const strides = operands.map((o) => o.strides);
  const aligned = strides.map((st) => isAligned(outShape, st));
  const uniforms = ndUniforms(op, outShape, strides, 0);
  const out = ctx.allocStore(op, uniforms[0]);
  const flat = aligned.every((w) => w);
  const args = kernel.inputs.map((t, k) => {
    const v = `ld_${names[k]}(${aligned[k] ? "j" : `u32(p${k})`})`;
    return t === "bool" ? `(${v} != 0u)` : v;
  });
  const call = `ir_kernel(${args.join(", ")})`;
  const value = kernel.output.type === "bool" ? `select(0u, 1u, ${call})` : call;
  ctx.runWindows(
    op,
    (decls) =>
      shader(
        ndStruct(operands.length),
        decls,
        `${fn.prelude}\n${fn.fn}`,
        `${flat ? "" : `${ndPositions(operands.length)}\n`}  st_out(j, ${value});`,
      ),
    uniforms,
    ND_BASE,
    { type: storageOf(kernel.output.type), store: out },
    operands.map((o, k) => ({
      name: names[k],
      type: storageOf(kernel.inputs[k]),
      store: o.store,
      window: aligned[k],
    })),
    groupsFor,
  );
  return out;
}

/**
 * `out[i] = op(x[i])` for `i < size`, from the IR's row for `op` (float32
 * for every op but `logicalNot`; int32 for `neg`, `abs`, `sign`, `square`;
 * `logicalNot` takes and gives bool).
 * @internal
 */
export function unaryKernel(
  ctx: GpuContext,
  op: UnaryOp,
  x: Store,
  size: number,
  dtype: DType,
): Store {
  wgslType(dtype, `${op}()`);
  const operand = { store: x, strides: [1], name: "x" };
  return irKernel(ctx, `${op}()`, unaryOpKernel(op, dtype), [operand], [size]);
}

/**
 * `out[idx] = op(a[Σ idx·aStrides], b[Σ idx·bStrides])` over `outShape`,
 * from the IR's row for `op`. Comparisons write bool words; the rest write
 * `dtype`.
 * @internal
 */
export function binaryKernel(
  ctx: GpuContext,
  op: BinaryOp,
  a: Store,
  aStrides: readonly number[],
  b: Store,
  bStrides: readonly number[],
  outShape: readonly number[],
  dtype: DType,
): Store {
  wgslType(dtype, `${op}()`);
  return irKernel(ctx, `${op}()`, binaryOpKernel(op, dtype), [
    { store: a, strides: aStrides, name: "xa" },
    { store: b, strides: bStrides, name: "xb" },
  ], outShape);
}

/** `where` on 32-bit words: one kernel (and pipeline per layout) for every dtype. */
const WHERE_BITS = elementwiseKernel(select(load(0, "bool"), load(1, "u32"), load(2, "u32")));

/** `out[idx] = cond[…] ? a[…] : b[…]` (bit copies: one pipeline per layout for every dtype). @internal */
export function whereKernel(
  ctx: GpuContext,
  cond: Store,
  condStrides: readonly number[],
  a: Store,
  aStrides: readonly number[],
  b: Store,
  bStrides: readonly number[],
  outShape: readonly number[],
): Store {
  return irKernel(ctx, "where()", WHERE_BITS, [
    { store: cond, strides: condStrides, name: "xc" },
    { store: a, strides: aStrides, name: "xa" },
    { store: b, strides: bStrides, name: "xb" },
  ], outShape);
}

/**
 * Converts `size` elements from `from` to `to` with the IR's conversion
 * (float32 → int32 as documented on `Backend.cast`, → bool is `x != 0`,
 * bool → number is 0/1). A same-dtype cast is a copy.
 * @internal
 */
export function castKernel(
  ctx: GpuContext,
  x: Store,
  size: number,
  from: DType,
  to: DType,
): Store {
  wgslType(from, "cast()");
  wgslType(to, "cast()");
  if (from === to) return ctx.copy("cast()", x, 0, size);
  const operand = { store: x, strides: [1], name: "x" };
  return irKernel(ctx, "cast()", castOpKernel(from, to), [operand], [size]);
}

/**
 * `out[idx] = x[offset + Σ idx_d·strides_d]` over `outShape` (strides may be
 * 0 or negative); a contiguous window is a plain buffer copy.
 * @internal
 */
export function stridedKernel(
  ctx: GpuContext,
  x: Store,
  offset: number,
  strides: readonly number[],
  outShape: readonly number[],
): Store {
  const s = simplifyStrides(outShape, [strides]);
  const size = sizeOf(outShape);
  if (size > 0 && (s.shape.length === 0 || (s.shape.length === 1 && s.strides[0][0] === 1))) {
    return ctx.copy("strided()", x, offset, size);
  }
  const out = ctx.allocStore("strided()", size);
  ctx.runWindows(
    "strided()",
    (decls) => shader(ndStruct(1), decls, "", `${ndPositions(1)}\n  st_out(j, ld_x(u32(p0)));`),
    ndUniforms("strided()", outShape, [strides], offset),
    ND_BASE,
    { type: "u32", store: out },
    [{ name: "x", type: "u32", store: x, window: false }],
    groupsFor,
  );
  return out;
}

/**
 * Zero storage of `outSize` words with `out[offset + Σ idx_d·strides_d] =
 * x[idx]` over `xShape` (positions must be distinct).
 * @internal
 */
export function scatterStridedKernel(
  ctx: GpuContext,
  x: Store,
  xShape: readonly number[],
  offset: number,
  strides: readonly number[],
  outSize: number,
): Store {
  const out = ctx.zeros("scatterStrided()", outSize);
  const uniforms = ndUniforms("scatterStrided()", xShape, [strides], offset);
  const size = uniforms[0];
  if (size === 0) return out;
  const ops: Operand[] = [
    { name: "x", type: "u32", store: x },
    { name: "out", type: "u32", store: out, write: true },
  ];
  const wgsl = shader(
    ndStruct(1),
    ctx.declare(ops),
    "",
    `${ndPositions(1)}\n  st_out(u32(p0), ld_x(i));`,
  );
  ctx.run("scatterStrided()", wgsl, uniforms, ops, groupsFor(size));
  return out;
}

/**
 * Concatenates `[outer, cols[k]]` inputs along the columns into `[outer, Σ cols]`:
 * one dispatch per input, each writing its own columns.
 * @internal
 */
export function concatKernel(
  ctx: GpuContext,
  xs: readonly Store[],
  cols: readonly number[],
  outer: number,
): Store {
  let total = 0;
  for (const c of cols) total += c;
  const out = ctx.allocStore("concat()", outer * total);
  let col = 0;
  xs.forEach((x, k) => {
    const c = cols[k];
    const size = outer * c;
    if (size > 0) {
      const ops: Operand[] = [
        { name: "x", type: "u32", store: x },
        { name: "out", type: "u32", store: out, write: true },
      ];
      const wgsl = shader(
        `struct U { size: u32, base: u32, cols: u32, total: u32, col: u32 }`,
        ctx.declare(ops),
        "",
        `  let o = i / u.cols;
  st_out(o * u.total + u.col + (i - o * u.cols), ld_x(i));`,
      );
      ctx.run("concat()", wgsl, Uint32Array.of(size, 0, c, total, col), ops, groupsFor(size));
    }
    col += c;
  });
  return out;
}
