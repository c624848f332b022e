/**
 * The CPU backend: buffers are plain typed arrays, kernels are JS loops.
 *
 * Elementwise and reduction kernels are generated from an opcode →
 * expression table (`kernels.ts`); matrix products use a cache-blocked
 * kernel specialized per dtype (`gemm.ts`). No WebAssembly here: this
 * backend is the plain-JS float64 reference the others are checked against
 * (the `wasm` backend extends it and overrides the hot kernels).
 *
 * @module
 */

import { simplifyStrides } from "../_geometry.ts";
import { normalizeIndices } from "../_host.ts";
import type * as be from "../backend.ts";
import { COMPARISONS } from "../backend.ts";
import { allocArray, type DType, toInt32Saturating, type TypedArray } from "../../core/dtype.ts";
import { sizeOf } from "../../core/shape.ts";
import { matmulInto } from "./gemm.ts";
import { binaryExpr, elementwise, reduction, unaryExpr } from "./kernels.ts";
import { randomBitsInto } from "./threefry.ts";

/**
 * Writes `src` converted to `out`'s dtype into `out`: float → int32 by
 * XLA's rule (NaN → 0, saturating at the int32 bounds, else truncating
 * toward zero; typed-array assignment would wrap modulo 2³²), float32 rounds
 * to nearest; a bool `out` gets `src != 0`.
 */
function castInto(src: TypedArray, out: TypedArray): TypedArray {
  if (out instanceof Uint8Array) {
    for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
  } else if (
    out instanceof Int32Array && (src instanceof Float32Array || src instanceof Float64Array)
  ) {
    for (let i = 0; i < src.length; i++) out[i] = toInt32Saturating(src[i]);
  } else out.set(src);
  return out;
}

/**
 * The reference backend: typed arrays as buffers, JS loops as kernels.
 * Handles are the typed arrays themselves; every kernel returns a new array.
 *
 * @example
 * ```ts
 * import { CpuBackend } from "./cpu_backend.ts";
 * const cpu = new CpuBackend();
 * const a = cpu.upload(new Float32Array([1, 2, 3]), "float32");
 * const b = cpu.fill(1, 10, "float32");
 * const c = cpu.binary({
 *   op: "add",
 *   a,
 *   aStrides: [1],
 *   b,
 *   bStrides: [0],
 *   outShape: [3],
 *   dtype: "float32",
 * });
 * console.log(cpu.readSync(c, "float32", 3)); // Float32Array(3) [ 11, 12, 13 ]
 * ```
 */
export class CpuBackend implements be.Backend {
  /** Always `"cpu"`. */
  readonly name: string = "cpu";
  /** Every dtype. */
  readonly dtypes: readonly DType[] = ["float32", "float64", "int32", "bool"];
  /** Always `true`. */
  readonly canReadSync: boolean = true;
  /** `matmul` reads transposed operands (it transposes them first; the `wasm` GEMM packs them as they lie). */
  readonly matmulTransposes: boolean = true;

  /**
   * A new zeroed array for an output: subclasses that keep buffers
   * elsewhere (the `wasm` backend) override this, `arr` and `wrap`, and
   * every kernel here then works on their memory. With `zeroed` false the
   * caller writes every element, so the contents may be left as they are.
   */
  protected alloc(dtype: DType, size: number, _zeroed = true): TypedArray {
    return allocArray(dtype, size);
  }

  /** The array behind a handle (here the handle is the array). */
  protected arr(x: be.DataHandle): TypedArray {
    return x as TypedArray;
  }

  /** The handle for an array `alloc` returned (here the array itself). */
  protected wrap(out: TypedArray): be.DataHandle {
    return out;
  }

  /** Keeps `values` as the buffer (ownership passes to the backend). */
  upload(values: TypedArray, _dtype: DType): be.DataHandle {
    return values;
  }

  /** Resolves to a fresh copy of the buffer. */
  read(x: be.DataHandle, dtype: DType, size: number): Promise<TypedArray> {
    return Promise.resolve(this.readSync(x, dtype, size));
  }

  /** A fresh copy of the buffer. */
  readSync(x: be.DataHandle, _dtype: DType, size: number): TypedArray {
    return this.arr(x).slice(0, size);
  }

  /** Does nothing: typed arrays are garbage collected. */
  dispose(_x: be.DataHandle): void {}

  /** A new array of `size` copies of `value` cast to `dtype`. */
  fill(size: number, value: number, dtype: DType): be.DataHandle {
    const v = dtype === "bool"
      ? (value !== 0 ? 1 : 0)
      : dtype === "int32"
      ? toInt32Saturating(value)
      : value;
    return this.wrap(this.alloc(dtype, size, false).fill(v));
  }

  /** `out[i] = op(x[i])`. */
  unary({ op, x, size, dtype }: be.UnarySpec): be.DataHandle {
    const out = this.alloc(op === "logicalNot" ? "bool" : dtype, size, false);
    const ins = [this.arr(x)];
    return this.wrap(elementwise(dtype, ["a"], unaryExpr(op, dtype), out, ins, [0], [size], [[1]]));
  }

  /** `out[idx] = op(a[Σ idx·aStrides], b[Σ idx·bStrides])`. */
  binary({ op, a, aStrides, b, bStrides, outShape, dtype }: be.BinarySpec): be.DataHandle {
    const out = this.alloc(COMPARISONS.has(op) ? "bool" : dtype, sizeOf(outShape), false);
    const ins = [this.arr(a), this.arr(b)];
    const strides = [aStrides, bStrides];
    const expr = binaryExpr(op, dtype);
    return this.wrap(elementwise(dtype, ["a", "b"], expr, out, ins, [0, 0], outShape, strides));
  }

  /** `out[idx] = cond[…] ? a[…] : b[…]`. */
  where(
    { cond, condStrides, a, aStrides, b, bStrides, outShape, dtype }: be.WhereSpec,
  ): be.DataHandle {
    const out = this.alloc(dtype, sizeOf(outShape), false);
    const ins = [this.arr(cond), this.arr(a), this.arr(b)];
    const strides = [condStrides, aStrides, bStrides];
    return this.wrap(
      elementwise(dtype, ["c", "a", "b"], "c ? a : b", out, ins, [0, 0, 0], outShape, strides),
    );
  }

  /** Converts dtypes (float → int32 by XLA's saturating rule; see `castInto`). */
  cast({ x, size, to }: be.CastSpec): be.DataHandle {
    return this.wrap(castInto(this.arr(x).subarray(0, size), this.alloc(to, size, false)));
  }

  /** Reduces the middle axis of `[outer, n, inner]`. */
  reduce({ op, x, outer, n, inner, dtype }: be.ReduceSpec): be.DataHandle {
    const outDtype = op === "argmax" || op === "argmin" || (op === "sum" && dtype === "bool")
      ? "int32"
      : dtype;
    const out = this.alloc(outDtype, outer * inner, n === 0);
    if (out.length === 0 || (n === 0 && op === "sum")) return this.wrap(out);
    reduction(op, dtype, inner === 1)(this.arr(x), out, outer, n, inner);
    return this.wrap(out);
  }

  /**
   * `log Σ exp` over the middle axis of `[outer, n, inner]`, in float64
   * (one rounding for float32): the maximum, then the shifted sum.
   */
  logsumexp({ x, outer, n, inner, dtype }: be.LogsumexpSpec): be.DataHandle {
    const src = this.arr(x), out = this.alloc(dtype, outer * inner, false);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        let m = -Infinity;
        for (let j = 0; j < n; j++) {
          const v = src[base + j * inner];
          if (v > m || v !== v) m = v;
          if (m !== m) break;
        }
        const shift = m - m === 0 ? m : 0; // ±∞ and NaN maxima shift by 0
        let s = 0;
        for (let j = 0; j < n; j++) s += Math.exp(src[base + j * inner] - shift);
        out[o * inner + i] = Math.log(s) + shift;
      }
    }
    return this.wrap(out);
  }

  /** Batched matrix product with broadcast batch strides. */
  matmul(a: be.DataHandle, b: be.DataHandle, spec: be.MatmulSpec, dtype: DType): be.DataHandle {
    const { batchShape, m, k, n } = spec;
    if (dtype === "bool") {
      throw new TypeError("matmul(): dtype bool is not supported; cast to int32 or float32 first");
    }
    const out = this.alloc(dtype, sizeOf(batchShape) * m * n);
    if (out.length === 0 || k === 0) return this.wrap(out);
    matmulInto(out, this.arr(a), this.arr(b), spec, dtype);
    return this.wrap(out);
  }

  /** `out[idx] = x[offset + Σ idx_d·strides_d]` (transpose, broadcast, slice). */
  strided({ x, offset, strides, outShape, dtype }: be.StridedSpec): be.DataHandle {
    const src = this.arr(x);
    const size = sizeOf(outShape);
    const out = this.alloc(dtype, size, false);
    const s = simplifyStrides(outShape, [strides]);
    if (s.shape.length <= 1 && (s.shape.length === 0 || s.strides[0][0] === 1)) {
      out.set(src.subarray(offset, offset + size)); // a contiguous copy
      return this.wrap(out);
    }
    return this.wrap(elementwise(dtype, ["a"], "a", out, [src], [offset], outShape, [strides]));
  }

  /** A zero buffer with `out[offset + Σ idx_d·strides_d] = x[idx]`. */
  scatterStrided(
    { x, xShape, offset, strides, outSize, dtype }: be.ScatterStridedSpec,
  ): be.DataHandle {
    const src = this.arr(x);
    const out = this.alloc(dtype, outSize);
    const size = sizeOf(xShape);
    if (size === 0) return this.wrap(out);
    const s = simplifyStrides(xShape, [strides]);
    const r = s.shape.length;
    if (r === 0 || (r === 1 && s.strides[0][0] === 1)) {
      out.set(src.subarray(0, size), offset);
      return this.wrap(out);
    }
    const shape = s.shape, st = s.strides[0];
    const last = r - 1, len = shape[last], inc = st[last];
    const idx = new Int32Array(last);
    let p = offset, q = 0;
    for (let row = 0; row < size / len; row++) {
      for (let j = 0, i = p; j < len; j++, i += inc) out[i] = src[q++];
      for (let d = last - 1; d >= 0; d--) {
        p += st[d];
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
        p -= st[d] * shape[d];
      }
    }
    return this.wrap(out);
  }

  /** Concatenates `[outer, cols[i]]` inputs along the columns. */
  concat({ xs, cols, outer, dtype }: be.ConcatSpec): be.DataHandle {
    let total = 0;
    for (const c of cols) total += c;
    const out = this.alloc(dtype, outer * total, false);
    let col = 0;
    xs.forEach((x, i) => {
      const src = this.arr(x), c = cols[i];
      if (outer === 1 || c === total) {
        out.set(src.subarray(0, outer * c), col);
      } else if (c >= 16) {
        for (let o = 0; o < outer; o++) out.set(src.subarray(o * c, o * c + c), o * total + col);
      } else {
        for (let o = 0; o < outer; o++) {
          for (let j = 0; j < c; j++) out[o * total + col + j] = src[o * c + j];
        }
      }
      col += c;
    });
    return this.wrap(out);
  }

  /** `out[o, c, i] = x[o, indices[c], i]`; throws a RangeError for an out-of-range index. */
  gather({ x, indices, outer, n, inner, count, dtype }: be.GatherSpec): be.DataHandle {
    const src = this.arr(x);
    const idx = normalizeIndices("take()", this.arr(indices) as Int32Array, count, n);
    const out = this.alloc(dtype, outer * count * inner, false);
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < count; c++) {
        const from = (o * n + idx[c]) * inner, to = (o * count + c) * inner;
        if (inner >= 16) out.set(src.subarray(from, from + inner), to);
        else for (let i = 0; i < inner; i++) out[to + i] = src[from + i];
      }
    }
    return this.wrap(out);
  }

  /** Rows of packed bytes widened to float32 (see `Backend.unpackBytes`). */
  unpackBytes({ x, indices, n, w, k, count, divisor }: be.UnpackBytesSpec): be.DataHandle {
    const src = this.arr(x) as Float32Array;
    const idx = normalizeIndices("CompactImages.take()", this.arr(indices) as Int32Array, count, n);
    const out = this.alloc("float32", count * k * w, false) as Float32Array;
    for (let c = 0; c < count; c++) {
      const from = idx[c] * w;
      for (let j = 0, to = c * k * w, shift = 1; j < k; j++, to += w, shift *= 256) {
        for (let i = 0; i < w; i++) {
          out[to + i] = Math.fround(Math.floor(src[from + i] / shift) % 256 / divisor);
        }
      }
    }
    return this.wrap(out);
  }

  /** Zeros `[outer, n, inner]` with `out[o, indices[c], i] += g[o, c, i]`. */
  scatterAdd({ g, indices, outer, n, inner, count, dtype }: be.ScatterAddSpec): be.DataHandle {
    const src = this.arr(g);
    const idx = normalizeIndices("scatterAdd()", this.arr(indices) as Int32Array, count, n);
    const size = outer * n * inner;
    // float32 accumulates in doubles; int32 wraps on store; bool means "any".
    const acc = dtype === "float32" || dtype === "bool"
      ? new Float64Array(size)
      : this.alloc(dtype, size);
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < count; c++) {
        const to = (o * n + idx[c]) * inner, from = (o * count + c) * inner;
        for (let i = 0; i < inner; i++) acc[to + i] += src[from + i];
      }
    }
    if (dtype === "float32" || dtype === "bool") {
      return this.wrap(castInto(acc, this.alloc(dtype, size, false)));
    }
    return this.wrap(acc);
  }

  /** `count` Threefry-2x32 words from the int32 `[2]` key, from block `offset`. */
  randomBits(key: be.DataHandle, count: number, offset = 0): be.DataHandle {
    const k = this.arr(key) as Int32Array;
    const out = this.alloc("int32", count, false) as Int32Array;
    randomBitsInto(out, k[0] >>> 0, k[1] >>> 0, offset);
    return this.wrap(out);
  }

  /**
   * `count` uniform floats in `[0, 1)` from the `randomBits` stream: float32
   * uses the top 24 bits of word `i`; float64 takes 27 + 26 bits from words
   * `2i` and `2i + 1`.
   */
  randomUniform({ key, count, dtype }: be.RandomUniformSpec): be.DataHandle {
    const k = this.arr(key) as Int32Array;
    const wide = dtype === "float64";
    const words = new Int32Array(wide ? 2 * count : count);
    randomBitsInto(words, k[0] >>> 0, k[1] >>> 0);
    const out = this.alloc(dtype, count, false);
    if (wide) {
      for (let i = 0; i < count; i++) {
        out[i] = ((words[2 * i] >>> 5) * 67108864 + (words[2 * i + 1] >>> 6)) * 2 ** -53;
      }
    } else {
      for (let i = 0; i < count; i++) out[i] = (words[i] >>> 8) * 2 ** -24;
    }
    return this.wrap(out);
  }

  /** Stable ascending argsort of each row of `[outer, n]`, NaN last. */
  argsort({ x, outer, n }: be.ArgsortSpec): be.DataHandle {
    const src = this.arr(x);
    const out = this.alloc("int32", outer * n, false);
    const vals = new Float64Array(n);
    const cmp = (i: number, j: number): number => {
      const a = vals[i], b = vals[j];
      if (a < b) return -1;
      if (a > b) return 1;
      const aNaN = a !== a, bNaN = b !== b;
      if (aNaN !== bNaN) return aNaN ? 1 : -1;
      return i - j;
    };
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < n; j++) vals[j] = src[o * n + j];
      const perm = Array.from({ length: n }, (_, j) => j).sort(cmp);
      out.set(perm, o * n);
    }
    return this.wrap(out);
  }
}
