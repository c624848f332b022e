/**
 * WGSL kernels for the elementwise and movement operations of the WebGPU
 * backend: fill, unary, binary, where, cast, strided gather/scatter and
 * concat.
 *
 * Every kernel is generated from an opcode → WGSL expression table, so the
 * source (and with it the cached pipeline, see `GpuContext.pipeline`) only
 * depends on the opcode and the dtypes. Shapes, strides and sizes travel in
 * the uniform block. Kernels that only move bits (fill, where, strided,
 * scatterStrided, concat) treat every dtype as `u32` words and share one
 * pipeline across dtypes.
 *
 * Semantics follow the CPU backend (`cpu/cpu_backend.ts`), including the
 * corners that WGSL leaves open or that adapters get wrong (llvmpipe: `max`
 * drops NaN, `sign(NaN)` is 0, `x / 0` is 0, `tanh(NaN)` is -1): NaN
 * propagation of `maximum`/`minimum`/`sign`, IEEE division by zero,
 * `Math.pow` semantics (negative bases, exact int32 powers), float → int32
 * conversion that wraps modulo 2³² (NaN and ±∞ → 0). `exp`, `log`, `log1p`,
 * `expm1`, `tanh`, `sin`, `cos` and `pow` are written out (fdlibm/Cephes
 * float algorithms, within a few ulp) instead of relying on builtins whose
 * accuracy varies by adapter (WGSL allows `log` an absolute error of 2⁻²¹
 * and `sin` 2⁻¹¹). Adapters may flush subnormals to zero.
 *
 * @module
 */

import { simplifyStrides } from "../_geometry.ts";
import { type BinaryOp, COMPARISONS, type UnaryOp } from "../backend.ts";
import type { DType } from "../../core/dtype.ts";
import { sizeOf } from "../../core/shape.ts";
import { type GpuContext, groups1d, linearIndex, type Operand, type Store } from "./context.ts";
import { wgslType } from "./kernels_util.ts";

/** The most axes a strided kernel handles (after merging contiguous axes). */
export const MAX_RANK = 8;

/** Workgroup size of every kernel in this file. */
const WG = 64;

// ---------------------------------------------------------------- WGSL helpers

/**
 * WGSL helper functions, included in a kernel when its expression (or an
 * included helper) calls them (`name(`); callees come first.
 */
const HELPERS: readonly (readonly [string, string])[] = [
  ["is_nan", `fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }`],
  [
    "is_inf",
    `fn is_inf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }`,
  ],
  ["sign_bit", `fn sign_bit(x: f32) -> bool { return (bitcast<u32>(x) & 0x80000000u) != 0u; }`],
  ["f_nan", `fn f_nan() -> f32 { return bitcast<f32>(0x7fc00000u); }`],
  ["f_inf", `fn f_inf() -> f32 { return bitcast<f32>(0x7f800000u); }`],
  [
    "log1p_core",
    // log(1 + f) for f in [√½ − 1, √2 − 1], from fdlibm's logf (< 1 ulp):
    // f − f²/2 + s(f²/2 + R(s²)) with s = f/(2 + f).
    `fn log1p_core(f: f32) -> f32 {
  let s = f / (2.0 + f);
  let z = s * s;
  let w = z * z;
  let r = w * (0.40000000596 + w * (0.22222198546 + w * 0.15313838422)) +
    z * (0.66666668653 + w * (0.28571429849 + w * (0.18183572590 + w * 0.14798198640)));
  let hfsq = 0.5 * f * f;
  return f - (hfsq - s * (hfsq + r));
}`,
  ],
  [
    "flog",
    // a = m·2ᵏ with m in [√½, √2): log(a) = k·ln2 + log1p_core(m − 1), ln2 split in hi + lo.
    // (Builtin log is only absolutely accurate on some adapters: ~1e-7 near 1.)
    `fn flog(a: f32) -> f32 {
  if (a < 0.0 || is_nan(a)) { return f_nan(); }
  if (a == 0.0) { return -f_inf(); }
  if (is_inf(a)) { return a; }
  var x = a;
  var k = 0.0;
  if (x < 1.1754944e-38) { x = x * 8388608.0; k = -23.0; }
  let bits = bitcast<u32>(x);
  k = k + f32(i32((bits >> 23u) & 0xffu) - 127);
  var m = bitcast<f32>((bits & 0x7fffffu) | 0x3f800000u);
  if (m > 1.4142135) { m = m * 0.5; k = k + 1.0; }
  return k * 0.69313812256 + (k * 9.0580006145e-6 + log1p_core(m - 1.0));
}`,
  ],
  [
    "flog1p",
    // Near 0 the core series takes a itself (no rounding of 1 + a); elsewhere log(1 + a).
    `fn flog1p(a: f32) -> f32 {
  if (a > -0.29289322 && a < 0.41421356) { return log1p_core(a); }
  return flog(1.0 + a);
}`,
  ],
  [
    "fexp",
    // fdlibm's expf (< 1 ulp): a = k·ln2 + r with |r| ≤ ln2/2 (ln2 split in hi + lo),
    // exp(r) from a rational approximation, then scaled by 2ᵏ in two steps.
    `fn fexp(a: f32) -> f32 {
  if (is_nan(a)) { return a; }
  if (a > 88.72284) { return f_inf(); }
  if (a < -103.97208) { return 0.0; }
  let k = round(a * 1.442695);
  let hi = a - k * 0.693145751953125;
  let lo = k * 1.4286067653e-6;
  let r = hi - lo;
  let t = r * r;
  let c = r - t * (0.16666625440 + t * -0.0027667332906);
  let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
  let ki = i32(k);
  return ldexp(ldexp(y, ki - ki / 2), ki / 2);
}`,
  ],
  [
    "fsqrt",
    `fn fsqrt(a: f32) -> f32 {
  if (a < 0.0) { return f_nan(); }
  return sqrt(a);
}`,
  ],
  [
    "fexpm1",
    // Taylor series (degree 9, error < 3e-10) on |a| < 0.5, exp(a) − 1 outside.
    `fn fexpm1(a: f32) -> f32 {
  if (abs(a) < 0.5) {
    return a * (1.0 + a * (0.5 + a * (0.16666666666666666 + a * (0.041666666666666664 +
      a * (0.008333333333333333 + a * (0.001388888888888889 + a * (0.0001984126984126984 +
      a * (0.0000248015873015873 + a * 0.0000027557319223985893))))))));
  }
  return fexp(a) - 1.0;
}`,
  ],
  [
    "ftanh",
    // tanh(t) = expm1(2t) / (expm1(2t) + 2): accurate near 0, exactly ±1 beyond 9.1.
    `fn ftanh(a: f32) -> f32 {
  let t = abs(a);
  if (t > 9.1) { return select(1.0, -1.0, a < 0.0); }
  let e = fexpm1(2.0 * t);
  let r = e / (e + 2.0);
  return select(r, -r, sign_bit(a));
}`,
  ],
  [
    "ftrig",
    // Cephes' sinf/cosf: reduce by multiples of π/4 (π/4 split in three parts, exact
    // products for |a| ≤ 8192), then the sine or cosine polynomial on [-π/4, π/4].
    // Beyond 8192 the builtin takes over (its accuracy depends on the adapter).
    `fn ftrig(a: f32, cosine: bool) -> f32 {
  if (is_nan(a) || is_inf(a)) { return f_nan(); }
  if (abs(a) > 8192.0) { return select(sin(a), cos(a), cosine); }
  var sgn = 1.0;
  if (a < 0.0 && !cosine) { sgn = -1.0; }
  let x = abs(a);
  var y = floor(x * 1.2732395447351628);
  var j = i32(y);
  if ((j & 1) != 0) { j = j + 1; y = y + 1.0; }
  if (cosine) { j = j + 2; }
  j = j & 7;
  if (j > 3) { sgn = -sgn; j = j - 4; }
  let r = ((x - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8;
  let z = r * r;
  if (j == 2) {
    return sgn * (((2.443315711809948e-5 * z - 1.388731625493765e-3) * z +
      4.166664568298827e-2) * z * z - 0.5 * z + 1.0);
  }
  return sgn * ((((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z) * r + r);
}`,
  ],
  [
    "fsign",
    `fn fsign(a: f32) -> f32 {
  if (is_nan(a) || a == 0.0) { return a; }
  return select(-1.0, 1.0, a > 0.0);
}`,
  ],
  [
    "fdiv",
    // Division by ±0 written out (some adapters return 0): IEEE ±∞, or NaN for 0/0 and NaN/0.
    `fn fdiv(a: f32, b: f32) -> f32 {
  if (b != 0.0) { return a / b; }
  if (a == 0.0 || is_nan(a)) { return f_nan(); }
  return bitcast<f32>(((bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u) | 0x7f800000u);
}`,
  ],
  [
    "fmax",
    `fn fmax(a: f32, b: f32) -> f32 { return select(select(max(a, b), a, is_nan(a)), b, is_nan(b)); }`,
  ],
  [
    "fmin",
    `fn fmin(a: f32, b: f32) -> f32 { return select(select(min(a, b), a, is_nan(a)), b, is_nan(b)); }`,
  ],
  [
    "fpow",
    // Math.pow semantics: pow(x, ±0) = 1, NaN in → NaN out, negative bases with
    // integer exponents, |x| = 1 with an infinite exponent → NaN. Other
    // exponents use exp(b·log m) (the builtin pow is less accurate on some adapters);
    // the error grows with |b·log m|: about 1.5·(1 + |b·log m|) ulp.
    `fn fpow(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (is_nan(a) || is_nan(b)) { return f_nan(); }
  let m = abs(a);
  if (is_inf(b)) {
    if (m == 1.0) { return f_nan(); }
    return select(0.0, f_inf(), (m > 1.0) == (b > 0.0));
  }
  var r: f32;
  if (m == 0.0) {
    r = select(0.0, f_inf(), b < 0.0);
  } else if (is_inf(m)) {
    r = select(0.0, f_inf(), b > 0.0);
  } else if (fract(b) == 0.0 && abs(b) <= 64.0) {
    // small integer exponents by repeated squaring: a few roundings instead of exp(b·log m)
    var e = u32(abs(b));
    var base = m;
    r = 1.0;
    loop {
      if ((e & 1u) != 0u) { r = r * base; }
      e = e >> 1u;
      if (e == 0u) { break; }
      base = base * base;
    }
    if (b < 0.0) { r = fdiv(1.0, r); }
  } else {
    r = fexp(b * flog(m));
  }
  if (sign_bit(a)) {
    if (fract(b) != 0.0) { return select(f_nan(), r, m == 0.0 || is_inf(m)); }
    if (fract(b * 0.5) != 0.0) { return -r; }
  }
  return r;
}`,
  ],
  [
    "ipow",
    // Exact wrapping integer power; negative exponents truncate 1/aⁿ toward 0 (1/0 → 0).
    `fn ipow(a: i32, b: i32) -> i32 {
  if (b < 0) {
    if (a == 1) { return 1; }
    if (a == -1) { return select(1, -1, (b & 1) != 0); }
    return 0;
  }
  var r = 1;
  var base = a;
  var e = u32(b);
  loop {
    if (e == 0u) { break; }
    if ((e & 1u) != 0u) { r = r * base; }
    base = base * base;
    e = e >> 1u;
  }
  return r;
}`,
  ],
  [
    "f2i",
    // XLA's rule, as on the CPU: truncate toward zero, NaN → 0, beyond the
    // int32 range (±∞ too) saturate. NaN is found from the bits (a compiler
    // may assume a == a).
    `fn f2i(a: f32) -> i32 {
  let bits = bitcast<u32>(a);
  if ((bits & 0x7fffffffu) > 0x7f800000u) { return 0; }
  if (abs(a) < 2147483648.0) { return i32(a); }
  return select(2147483647, -2147483647 - 1, (bits & 0x80000000u) != 0u);
}`,
  ],
];

/** The helper definitions `expr` needs, transitively, in dependency order. */
function helpersFor(expr: string): string {
  const needed = new Set<string>();
  const visit = (src: string) => {
    for (const [name, def] of HELPERS) {
      if (!needed.has(name) && new RegExp(`\\b${name}\\(`).test(src)) {
        needed.add(name);
        visit(def.slice(def.indexOf("{")));
      }
    }
  };
  visit(expr);
  return HELPERS.filter(([name]) => needed.has(name)).map(([, def]) => def).join("\n");
}

// ---------------------------------------------------------------- opcode tables

/** Unary expressions over `a`: float32 form and (where supported) int32 form. */
const UNARY: Record<Exclude<UnaryOp, "logicalNot">, readonly [string, string?]> = {
  neg: ["-a", "-a"],
  exp: ["fexp(a)"],
  log: ["flog(a)"],
  log1p: ["flog1p(a)"],
  expm1: ["fexpm1(a)"],
  sqrt: ["fsqrt(a)"],
  sin: ["ftrig(a, false)"],
  cos: ["ftrig(a, true)"],
  tanh: ["ftanh(a)"],
  abs: ["abs(a)", "abs(a)"],
  sign: ["fsign(a)", "sign(a)"],
  square: ["a * a", "a * a"],
  floor: ["floor(a)"],
  ceil: ["ceil(a)"],
  round: ["round(a)"], // WGSL's round is half-to-even
};

/** `select(0u, 1u, cond)`: a comparison result as a bool word. */
const cmp = (cond: string): string => `select(0u, 1u, ${cond})`;

/** Binary expressions over `a`, `b`: `[float32, int32, bool]` forms (absent = unsupported). */
const BINARY: Record<BinaryOp, readonly [string?, string?, string?]> = {
  add: ["a + b", "a + b"],
  sub: ["a - b", "a - b"],
  mul: ["a * b", "a * b"],
  div: ["fdiv(a, b)", "select(a / b, 0, b == 0)"],
  pow: ["fpow(a, b)", "ipow(a, b)"],
  maximum: ["fmax(a, b)", "max(a, b)"],
  minimum: ["fmin(a, b)", "min(a, b)"],
  equal: [cmp("a == b"), cmp("a == b"), cmp("a == b")],
  notEqual: [cmp("a != b"), cmp("a != b"), cmp("a != b")],
  greater: [cmp("a > b"), cmp("a > b"), cmp("a > b")],
  greaterEqual: [cmp("a >= b"), cmp("a >= b"), cmp("a >= b")],
  less: [cmp("a < b"), cmp("a < b"), cmp("a < b")],
  lessEqual: [cmp("a <= b"), cmp("a <= b"), cmp("a <= b")],
  logicalAnd: [undefined, undefined, "a & b"],
  logicalOr: [undefined, undefined, "a | b"],
};

/** Cast expressions over `a`, keyed `from>to` (same-dtype casts are copies). */
const CAST: Readonly<Record<string, string>> = {
  "float32>int32": "f2i(a)",
  "float32>bool": "select(0u, 1u, a != 0.0)", // NaN != 0 → true
  "int32>float32": "f32(a)",
  "int32>bool": "select(0u, 1u, a != 0)",
  "bool>float32": "select(0.0, 1.0, a != 0u)",
  "bool>int32": "select(0, 1, a != 0u)",
};

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

const FLAT_STRUCT = `struct U { size: u32, base: u32 }`;

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

/**
 * `out[i] = op(x[i])` for `i < size`. float32 supports every op but `not`;
 * int32 supports `neg`, `abs`, `sign`, `square`; `not` takes and gives bool.
 * @internal
 */
export function unaryKernel(
  ctx: GpuContext,
  op: UnaryOp,
  x: Store,
  size: number,
  dtype: DType,
): Store {
  const type = wgslType(dtype, `${op}()`);
  let expr: string | undefined;
  if (op === "logicalNot") expr = "select(1u, 0u, a != 0u)";
  else expr = type === "f32" ? UNARY[op][0] : type === "i32" ? UNARY[op][1] : undefined;
  if (expr === undefined || (op === "logicalNot") !== (type === "u32")) {
    throw new TypeError(`${op}(): dtype ${dtype} is not supported by the webgpu backend`);
  }
  const out = ctx.allocStore(`${op}()`, size);
  ctx.runWindows(
    `${op}()`,
    (decls) =>
      shader(FLAT_STRUCT, decls, helpersFor(expr), `  let a = ld_x(j);\n  st_out(j, ${expr});`),
    new Uint32Array(2),
    1,
    { type, store: out },
    [{ name: "x", type, store: x, window: true }],
    groupsFor,
  );
  return out;
}

/**
 * `out[idx] = op(a[Σ idx·aStrides], b[Σ idx·bStrides])` over `outShape`.
 * Comparisons write bool words; the rest write `dtype`. Operands laid out
 * like the output are read at the output's index (no position arithmetic).
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
  const type = wgslType(dtype, `${op}()`);
  const expr = BINARY[op][type === "f32" ? 0 : type === "i32" ? 1 : 2];
  if (expr === undefined) {
    throw new TypeError(`${op}(): dtype ${dtype} is not supported by the webgpu backend`);
  }
  const outType = COMPARISONS.has(op) ? "u32" : type;
  const aw = isAligned(outShape, aStrides), bw = isAligned(outShape, bStrides);
  const positions = aw && bw ? "" : `${ndPositions(2)}\n`;
  const uniforms = ndUniforms(`${op}()`, outShape, [aStrides, bStrides], 0);
  const out = ctx.allocStore(`${op}()`, uniforms[0]);
  ctx.runWindows(
    `${op}()`,
    (decls) =>
      shader(
        ndStruct(2),
        decls,
        helpersFor(expr),
        `${positions}  let a = ld_xa(${aw ? "j" : "u32(p0)"});
  let b = ld_xb(${bw ? "j" : "u32(p1)"});
  st_out(j, ${expr});`,
      ),
    uniforms,
    ND_BASE,
    { type: outType, store: out },
    [{ name: "xa", type, store: a, window: aw }, { name: "xb", type, store: b, window: bw }],
    groupsFor,
  );
  return out;
}

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
  const w = [condStrides, aStrides, bStrides].map((s) => isAligned(outShape, s));
  const at = (k: number) => (w[k] ? "j" : `u32(p${k})`);
  const positions = w.every((x) => x) ? "" : `${ndPositions(3)}\n`;
  const uniforms = ndUniforms("where()", outShape, [condStrides, aStrides, bStrides], 0);
  const out = ctx.allocStore("where()", uniforms[0]);
  ctx.runWindows(
    "where()",
    (decls) =>
      shader(
        ndStruct(3),
        decls,
        "",
        `${positions}  st_out(j, select(ld_xb(${at(2)}), ld_xa(${at(1)}), ld_xc(${at(0)}) != 0u));`,
      ),
    uniforms,
    ND_BASE,
    { type: "u32", store: out },
    [
      { name: "xc", type: "u32", store: cond, window: w[0] },
      { name: "xa", type: "u32", store: a, window: w[1] },
      { name: "xb", type: "u32", store: b, window: w[2] },
    ],
    groupsFor,
  );
  return out;
}

/**
 * Converts `size` elements from `from` to `to` (float32 → int32 as
 * documented on `Backend.cast`, → bool is `x != 0`, bool → number is 0/1).
 * A same-dtype cast is a copy.
 * @internal
 */
export function castKernel(
  ctx: GpuContext,
  x: Store,
  size: number,
  from: DType,
  to: DType,
): Store {
  const inType = wgslType(from, "cast()");
  const outType = wgslType(to, "cast()");
  if (from === to) return ctx.copy("cast()", x, 0, size);
  const expr = CAST[`${from}>${to}`];
  const out = ctx.allocStore("cast()", size);
  ctx.runWindows(
    "cast()",
    (decls) =>
      shader(FLAT_STRUCT, decls, helpersFor(expr), `  let a = ld_x(j);\n  st_out(j, ${expr});`),
    new Uint32Array(2),
    1,
    { type: outType, store: out },
    [{ name: "x", type: inType, store: x, window: true }],
    groupsFor,
  );
  return out;
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
