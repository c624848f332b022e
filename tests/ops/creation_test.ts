/**
 * Creating tensors: `tensor()` from numbers, nested arrays, booleans and
 * typed arrays (dtype inference, the shape option, copies and errors), and
 * `zeros`/`ones`/`full`/`arange`/`linspace`/`eye`/`zerosLike`/`onesLike`.
 *
 * Expected values were computed with NumPy 2.4 and pasted in; each constant
 * shows the expression that produced it.
 */

import assert from "node:assert/strict";
import {
  arange,
  broadcastTo,
  cast,
  CpuBackend,
  DTypeError,
  eye,
  full,
  getBackend,
  linspace,
  mul,
  oneHot,
  ones,
  onesLike,
  reshape,
  ShapeError,
  tensor,
  zeros,
  zerosLike,
} from "../../mod.ts";
import { assertTensor, assertThrowsMatch, F32 } from "./_helpers.ts";
import { onBackend } from "../_helpers.ts";

// ---------------------------------------------------------------- tensor()

Deno.test("tensor() from numbers and nested arrays is float32 by default", () => {
  assertTensor(tensor(2.5), 2.5, "float32");
  assertTensor(tensor([1, 2, 3]), [1, 2, 3], "float32");
  assertTensor(tensor([[1, 2, 3], [4, 5, 6]]), [[1, 2, 3], [4, 5, 6]], "float32");
  assertTensor(tensor([[[1], [2]], [[3], [4]]]), [[[1], [2]], [[3], [4]]], "float32");
  // np.array([0.1], np.float32) rounds; float64 keeps the double
  assertTensor(tensor([0.1]), [0.1], "float32");
  assert.equal(tensor([0.1]).dataSync()[0], Math.fround(0.1));
  assertTensor(tensor([0.1], { dtype: "float64" }), [0.1], "float64");
  assert.equal(tensor([0.1], { dtype: "float64" }).dataSync()[0], 0.1);
  // NaN and infinities are kept
  assertTensor(tensor([NaN, Infinity, -Infinity]), [NaN, Infinity, -Infinity], "float32");
  // empty arrays: np.array([]).shape == (0,), np.array([[]]).shape == (1, 0)
  assertTensor(tensor([]), [], "float32");
  assertTensor(tensor([[]]), [[]], "float32");
  assertTensor(tensor([[], []], { dtype: "int32" }), [[], []], "int32");
});

Deno.test("tensor() from booleans is bool; mixed booleans and numbers are numbers", () => {
  assertTensor(tensor(true), true, "bool");
  assertTensor(tensor([true, false]), [true, false], "bool");
  assertTensor(tensor([[true], [false]]), [[true], [false]], "bool");
  assertTensor(tensor([true, 2]), [1, 2], "float32");
  // with a numeric dtype, booleans read as 1/0; numbers to bool are x != 0
  assertTensor(tensor([true, false], { dtype: "int32" }), [1, 0], "int32");
  assertTensor(tensor([0, 2, -1, 0.5], { dtype: "bool" }), [false, true, true, true], "bool");
  // np.array([np.nan, -0.0, np.inf], dtype=bool): NaN is nonzero, as cast() has it
  assertTensor(tensor([NaN, -0, Infinity], { dtype: "bool" }), [true, false, true], "bool");
  assertTensor(tensor(new Float32Array([NaN]), { dtype: "bool" }), [true], "bool");
  assertTensor(cast(tensor([NaN, -0]), "bool"), [true, false], "bool");
});

Deno.test("tensor() with an explicit dtype", () => {
  assertTensor(tensor([1, -2], { dtype: "int32" }), [1, -2], "int32");
  assertTensor(tensor([[1.5]], { dtype: "float64" }), [[1.5]], "float64");
  assertTensor(tensor(7, { dtype: "int32" }), 7, "int32");
  assertThrowsMatch(
    () => tensor([1], { dtype: "float16" as never }),
    DTypeError,
    /^tensor\(\): unknown dtype "float16"; use float32, float64, int32 or bool$/,
  );
});

Deno.test("tensor() infers the dtype of typed arrays", () => {
  assertTensor(tensor(new Float64Array([0.1, 2])), [0.1, 2], "float64");
  assertTensor(tensor(new Int32Array([1, -2, 3])), [1, -2, 3], "int32");
  assertTensor(tensor(new Float32Array([0.5, 1])), [0.5, 1], "float32");
  // Uint8Array (and other typed arrays) become float32, not bool
  assertTensor(tensor(new Uint8Array([0, 1, 255])), [0, 1, 255], "float32");
  assertTensor(tensor(new Int16Array([-3, 4])), [-3, 4], "float32");
  // ... unless a dtype is given
  assertTensor(tensor(new Uint8Array([0, 1, 2]), { dtype: "bool" }), [false, true, true], "bool");
  assertTensor(tensor(new Float64Array([1, 2]), { dtype: "int32" }), [1, 2], "int32");
  assertTensor(tensor(new Int32Array([1, 2]), { dtype: "float64" }), [1, 2], "float64");
  // a view reads only its own elements
  const buf = new Float64Array([9, 1, 2, 3, 9]);
  assertTensor(tensor(buf.subarray(1, 4)), [1, 2, 3], "float64");
});

Deno.test("tensor() takes a shape for flat values", () => {
  assertTensor(tensor(new Float64Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] }), [[1, 2, 3], [
    4,
    5,
    6,
  ]], "float64");
  assertTensor(tensor([1, 2, 3, 4], { shape: [2, 2] }), [[1, 2], [3, 4]], "float32");
  assertTensor(tensor([[1, 2], [3, 4]], { shape: [4] }), [1, 2, 3, 4], "float32");
  assertTensor(tensor(3, { shape: [1, 1] }), [[3]], "float32");
  assertTensor(tensor(new Int32Array(0), { shape: [2, 0] }), [[], []], "int32");
  assertThrowsMatch(
    () => tensor([1, 2, 3], { shape: [2, 2] }),
    ShapeError,
    /^tensor\(\): shape \[2,2\] needs 4 values, got 3$/,
  );
  assertThrowsMatch(
    () => tensor(new Float32Array(5), { shape: [2, 2] }),
    ShapeError,
    /^tensor\(\): shape \[2,2\] needs 4 values, got 5$/,
  );
  assertThrowsMatch(
    () => tensor(1, { shape: [2] }),
    ShapeError,
    /^tensor\(\): shape \[2\] needs 2 values, got 1$/,
  );
  assertThrowsMatch(
    () => tensor([1, 2], { shape: [-1, 2] }),
    ShapeError,
    /must contain non-negative integers/,
  );
});

Deno.test("tensor() rejects ragged nested arrays, naming the path", () => {
  assertThrowsMatch(
    () => tensor([[1, 2], [3]]),
    ShapeError,
    /^tensor\(\): ragged nested array: at values\[1\] expected length 2, got length 1$/,
  );
  assertThrowsMatch(
    () => tensor([[1, 2], 3] as never),
    ShapeError,
    /^tensor\(\): ragged nested array: at values\[1\] expected length 2, got number$/,
  );
  assertThrowsMatch(
    () => tensor([[[1], [2]], [[1], [2, 3]]]),
    ShapeError,
    /^tensor\(\): ragged nested array: at values\[1\]\[1\] expected length 1, got length 2$/,
  );
  // deeper than the first element says
  assertThrowsMatch(
    () => tensor([1, [2]] as never),
    ShapeError,
    /^tensor\(\): ragged nested array: at values\[1\] expected a number or boolean, got an array of length 1$/,
  );
  // not numbers at all
  assert.throws(
    () => tensor([["a"]] as never),
    (e: unknown) =>
      e instanceof TypeError &&
      /^tensor\(\): expected a number or boolean at values\[0\]\[0\], got string$/.test(e.message),
  );
  assert.throws(() => tensor("1" as never), TypeError);
  assert.throws(() => tensor(new DataView(new ArrayBuffer(4))), /DataView has no element type/);
});

Deno.test("tensor() with int32 rejects non-integers, naming the value and index", () => {
  assertThrowsMatch(
    () => tensor([1, 2.5], { dtype: "int32" }),
    DTypeError,
    /^tensor\(\): value 2\.5 at flat index 1 is not an integer, but the dtype is int32; round the values first \(Math\.round\), or use dtype float32$/,
  );
  assertThrowsMatch(
    () => tensor([[1, 2], [3, NaN]], { dtype: "int32" }),
    DTypeError,
    /value NaN at flat index 3/,
  );
  assertThrowsMatch(
    () => tensor(new Float32Array([0.5]), { dtype: "int32" }),
    DTypeError,
    /value 0\.5 at flat index 0/,
  );
});

Deno.test("tensor() copies its source: later changes to the source do not show", () => {
  const f = new Float32Array([1, 2, 3]);
  const tf = tensor(f);
  f[0] = 99;
  assertTensor(tf, [1, 2, 3], "float32");

  const i = new Int32Array([4, 5]);
  const ti = tensor(i);
  i[1] = -1;
  assertTensor(ti, [4, 5], "int32");

  const d = new Float64Array([1, 2, 3, 4]);
  const td = tensor(d, { shape: [2, 2] });
  d.fill(0);
  assertTensor(td, [[1, 2], [3, 4]], "float64");

  const nested = [[1, 2], [3, 4]];
  const tn = tensor(nested);
  nested[0][0] = 100;
  nested[1] = [7, 7];
  assertTensor(tn, [[1, 2], [3, 4]], "float32");

  const bools = [true, false];
  const tb = tensor(bools);
  bools[0] = false;
  assertTensor(tb, [true, false], "bool");
});

// ---------------------------------------------------------------- filled

Deno.test("zeros, ones and full with dtypes", () => {
  assertTensor(zeros([2, 3]), [[0, 0, 0], [0, 0, 0]], "float32");
  assertTensor(zeros([]), 0, "float32");
  assertTensor(zeros([0, 2]), [], "float32", { shape: [0, 2] });
  assertTensor(ones([2], { dtype: "int32" }), [1, 1], "int32");
  assertTensor(ones([1, 2], { dtype: "float64" }), [[1, 1]], "float64");
  assertTensor(ones([2], { dtype: "bool" }), [true, true], "bool");
  assertTensor(full([2], 7), [7, 7], "float32");
  assertTensor(full([2, 1], -1.5, { dtype: "float64" }), [[-1.5], [-1.5]], "float64");
  assertTensor(full([3], true), [true, true, true], "bool");
  assertTensor(full([2], 4, { dtype: "int32" }), [4, 4], "int32");
  assertTensor(full([2], NaN), [NaN, NaN], "float32");
  assertThrowsMatch(
    () => full([2], 1.5, { dtype: "int32" }),
    DTypeError,
    /^full\(\): fill value 1\.5 is not an integer, but the dtype is int32; round it first \(Math\.round\), or use dtype float32$/,
  );
  assertThrowsMatch(
    () => zeros([2, -1]),
    ShapeError,
    /^zeros\(\): shape \[2,-1\] must contain non-negative integers$/,
  );
  assertThrowsMatch(() => ones([1.5]), ShapeError, /^ones\(\): shape \[1\.5\] must contain/);
  assertThrowsMatch(
    () => zeros([NaN, "2"] as never),
    ShapeError,
    /^zeros\(\): shape \[NaN,"2"\] must/,
  );
  // An options object where a number goes (JavaScript, or `as never` here) names the form.
  assertThrowsMatch(
    () => arange(5, { dtype: "float32" } as never),
    TypeError,
    /^arange\(\): stop must be a number, got an object with keys \[dtype\]; the options come last: arange\(start, stop, step, \{ dtype \}\)$/,
  );
  assertThrowsMatch(
    () => arange(0, 5, {} as never),
    TypeError,
    /^arange\(\): step must be a number/,
  );
  assertThrowsMatch(
    () => linspace(0, 1, { dtype: "float64" } as never),
    TypeError,
    /^linspace\(\): num must be a number, .* linspace\(start, stop, num, \{ dtype \}\)$/,
  );
  assertThrowsMatch(
    () => zeros([2], { dtype: "int8" as never }),
    DTypeError,
    /^zeros\(\): unknown dtype "int8"/,
  );
});

Deno.test("zerosLike and onesLike copy shape and dtype (unless given)", () => {
  const x = tensor([[1, 2, 3]], { dtype: "int32" });
  assertTensor(zerosLike(x), [[0, 0, 0]], "int32");
  assertTensor(onesLike(x), [[1, 1, 1]], "int32");
  assertTensor(zerosLike(x, { dtype: "float64" }), [[0, 0, 0]], "float64");
  assertTensor(onesLike(x, { dtype: "bool" }), [[true, true, true]], "bool");
  assertTensor(onesLike(tensor(3)), 1, "float32");
});

// ---------------------------------------------------------------- ranges

Deno.test("arange: int32 for integer arguments, float32 otherwise", () => {
  assertTensor(arange(5), [0, 1, 2, 3, 4], "int32"); // np.arange(5)
  assertTensor(arange(-3, 4, 3), [-3, 0, 3], "int32"); // np.arange(-3, 4, 3)
  assertTensor(arange(1, 2, 0.25), [1, 1.25, 1.5, 1.75], "float32"); // np.arange(1, 2, 0.25)
  assertTensor(arange(0.5), [0], "float32"); // np.arange(0.5)
  assertTensor(arange(4, undefined, 1, { dtype: "float64" }), [0, 1, 2, 3], "float64");
  // int32 with a fractional stop is fine (the values are integers); a fractional value is the
  // DTypeError `tensor` and `linspace` give (it was truncated to [0, 1, 2]).
  assertTensor(arange(0, 2.5, 1, { dtype: "int32" }), [0, 1, 2], "int32");
  assertThrowsMatch(
    () => arange(0.5, 3, 1, { dtype: "int32" }),
    DTypeError,
    /^arange\(\): value 0.5 at flat index 0 is not an integer, but the dtype is int32/,
  );
  assertThrowsMatch(
    () => arange(0, 2, 0.5, { dtype: "int32" }),
    DTypeError,
    /value 0.5 at flat index 1/,
  );
  // np.arange(0, 1, 0.1)
  assertTensor(
    arange(0, 1, 0.1),
    [0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6000000000000001, 0.7000000000000001, 0.8, 0.9],
    "float32",
    F32,
  );
});

Deno.test("arange: negative steps and empty ranges", () => {
  assertTensor(arange(5, 0, -1), [5, 4, 3, 2, 1], "int32"); // np.arange(5, 0, -1)
  assertTensor(arange(10, 0, -3), [10, 7, 4, 1], "int32"); // np.arange(10, 0, -3)
  assertTensor(arange(0, -1, -0.25), [0, -0.25, -0.5, -0.75], "float32"); // np.arange(0, -1, -0.25)
  assertTensor(arange(3, 1), [], "int32"); // np.arange(3, 1)
  assertTensor(arange(0), [], "int32");
  assertTensor(arange(1, 5, -1), [], "int32");
  assertThrowsMatch(
    () => arange(0, 1, 0),
    ShapeError,
    /^arange\(\): step must be a finite non-zero number, got 0$/,
  );
  assertThrowsMatch(() => arange(0, Infinity), ShapeError, /^arange\(\): bounds must be finite/);
});

Deno.test("linspace matches np.linspace in float64", () => {
  // np.linspace(0, 1, 7)
  assertTensor(
    linspace(0, 1, 7, { dtype: "float64" }),
    [0, 0.16666666666666666, 0.3333333333333333, 0.5, 0.6666666666666666, 0.8333333333333333, 1],
    "float64",
  );
  // np.linspace(-2.5, 3.7, 11)
  assertTensor(linspace(-2.5, 3.7, 11, { dtype: "float64" }), [
    -2.5,
    -1.88,
    -1.26,
    -0.6400000000000001,
    -0.020000000000000018,
    0.6000000000000001,
    1.2199999999999998,
    1.8399999999999999,
    2.46,
    3.08,
    3.7,
  ], "float64");
  // np.linspace(1, 0, 4)
  assertTensor(
    linspace(1, 0, 4, { dtype: "float64" }),
    [1, 0.6666666666666667, 0.33333333333333337, 0],
    "float64",
  );
  // np.linspace(0.1, 0.7, 3)
  assertTensor(linspace(0.1, 0.7, 3, { dtype: "float64" }), [0.1, 0.4, 0.7], "float64");
  // np.linspace(-1, 1, 50)[[0, 1, 24, 25, 48, 49]] (50 is the default num)
  const l = linspace(-1, 1, undefined, { dtype: "float64" }).dataSync();
  assert.equal(l.length, 50);
  assert.deepEqual(
    [0, 1, 24, 25, 48, 49].map((i) => l[i]),
    [-1, -0.9591836734693877, -0.020408163265306145, 0.020408163265306145, 0.9591836734693877, 1],
  );
  // np.linspace(5, 5, 1), np.linspace(0, 1, 0)
  assertTensor(linspace(5, 5, 1, { dtype: "float64" }), [5], "float64");
  assertTensor(linspace(0, 1, 0), [], "float32");
  // float32 by default: np.linspace(0, 1, 7).astype(np.float32)
  assertTensor(
    linspace(0, 1, 7),
    [0, 0.16666667, 0.33333334, 0.5, 0.6666667, 0.8333333, 1],
    "float32",
  );
  assertThrowsMatch(
    () => linspace(0, 1, -1),
    ShapeError,
    /^linspace\(\): num must be a non-negative integer, got -1$/,
  );
});

Deno.test("eye: square and rectangular identity matrices", () => {
  assertTensor(eye(2), [[1, 0], [0, 1]], "float32");
  assertTensor(eye(2, 3), [[1, 0, 0], [0, 1, 0]], "float32"); // np.eye(2, 3)
  assertTensor(eye(3, 2), [[1, 0], [0, 1], [0, 0]], "float32"); // np.eye(3, 2)
  // np.eye(3, dtype=np.int32)
  assertTensor(eye(3, 3, { dtype: "int32" }), [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "int32");
  assertTensor(eye(2, 2, { dtype: "bool" }), [[true, false], [false, true]], "bool");
  assertTensor(eye(0), [], "float32", { shape: [0, 0] }); // np.eye(0).shape == (0, 0)
  assertThrowsMatch(
    () => eye(-1),
    ShapeError,
    /^eye\(\): shape \[-1,-1\] must contain non-negative integers$/,
  );
});

// ---------------------------------------------------------------- int32 range

const INT32_OUT =
  /is out of range for int32 \(-2147483648\.\.2147483647\); use dtype float32 or float64/;

Deno.test("int32 creation from numbers outside the int32 range raises (NumPy too), never wraps", () => {
  // NumPy 2.4: np.array([3e9], dtype=np.int32) and np.full([2], 3000000000, dtype=np.int32)
  // raise OverflowError("Python integer 3000000000 out of bounds for int32").
  assertThrowsMatch(
    () => tensor([3e9], { dtype: "int32" }),
    RangeError,
    /^tensor\(\): the value 3000000000 at flat index 0 is out of range for int32/,
  );
  assertThrowsMatch(
    () => tensor(-3e9, { dtype: "int32" }),
    RangeError,
    /^tensor\(\): the value -3000000000 is out/,
  );
  assertThrowsMatch(
    () => tensor([[0, 1], [2, -2147483649]], { dtype: "int32" }),
    RangeError,
    /-2147483649 at flat index 3/,
  );
  assertThrowsMatch(
    () => tensor(new Float64Array([1, 2 ** 31]), { dtype: "int32" }),
    RangeError,
    INT32_OUT,
  );
  assertThrowsMatch(
    () => tensor(new Uint32Array([0, 2 ** 32 - 1]), { dtype: "int32" }),
    RangeError,
    /4294967295 at flat index 1/,
  );
  assertThrowsMatch(
    () => full([2], 3e9, { dtype: "int32" }),
    RangeError,
    /^full\(\): the value 3000000000 \(the fill value\) is out of range for int32/,
  );
  // np.arange(2147483646, 2147483649) is int64 in NumPy; as int32 its last value would wrap.
  assertThrowsMatch(
    () => arange(2147483646, 2147483649),
    RangeError,
    /^arange\(\): the value 2147483648 is out/,
  );
  assertThrowsMatch(
    () => arange(0, -2147483650, -1),
    RangeError,
    /^arange\(\): the value -2147483649 is out/,
  );
  assertThrowsMatch(
    () => arange(3e9, 3e9 + 2),
    RangeError,
    /^arange\(\): the value 3000000000 is out/,
  );
  assertThrowsMatch(
    () => linspace(0, 3e9, 2, { dtype: "int32" }),
    RangeError,
    /^linspace\(\): the value 3000000000 at flat index 1/,
  );
  // The edges themselves fit.
  assertTensor(
    tensor([2147483647, -2147483648], { dtype: "int32" }),
    [2147483647, -2147483648],
    "int32",
  );
  assertTensor(full([1], -2147483648, { dtype: "int32" }), [-2147483648], "int32");
  assertTensor(arange(2147483645, 2147483648), [2147483645, 2147483646, 2147483647], "int32");
  // Larger values are fine in float dtypes.
  assertTensor(arange(2147483646, 2147483649, 1, { dtype: "float64" }), [
    2147483646,
    2147483647,
    2147483648,
  ], "float64");
  assertTensor(tensor([3e9]), [3e9], "float32");
});

Deno.test("tensor() from BigInt64Array/BigUint64Array: int32 by default, range-checked", () => {
  assertTensor(tensor(new BigInt64Array(1)), [0], "int32");
  assertTensor(tensor(new BigInt64Array([1n, -2n, 2147483647n])), [1, -2, 2147483647], "int32");
  assertTensor(tensor(new BigUint64Array([3n, 4n]), { shape: [2, 1] }), [[3], [4]], "int32");
  assertTensor(tensor(new BigInt64Array([2n ** 40n]), { dtype: "float64" }), [2 ** 40], "float64");
  assertTensor(tensor(new BigInt64Array([5n]), { dtype: "float32" }), [5], "float32");
  assertThrowsMatch(
    () => tensor(new BigUint64Array([2n ** 40n])),
    RangeError,
    /^tensor\(\): the value 1099511627776 at flat index 0 is out of range for int32/,
  );
  // The value as given, not rounded to a double (2⁵³ + 1 read 9007199254740992).
  assertThrowsMatch(
    () => tensor(new BigInt64Array([0n, -(2n ** 53n) - 1n])),
    RangeError,
    /^tensor\(\): the value -9007199254740993 at flat index 1 is out of range for int32/,
  );
  assertThrowsMatch(
    () => tensor(new BigInt64Array([1n]), { shape: [2] }),
    ShapeError,
    /needs 2 values, got 1/,
  );
});

Deno.test("tensor() of nested arrays: at most 64 levels (NumPy's limit), a clear error beyond", () => {
  const nest = (depth: number): unknown => {
    let a: unknown = 1;
    for (let i = 0; i < depth; i++) a = [a];
    return a;
  };
  assertTensor(tensor(nest(64) as number[]), nest(64) as number[], "float32");
  assert.equal(tensor(nest(64) as number[]).ndim, 64);
  for (const depth of [65, 20000]) {
    assertThrowsMatch(
      () => tensor(nest(depth) as number[]),
      ShapeError,
      /^tensor\(\): the nested array is more than 64 levels deep; .*flatten the values and pass \{ shape \}$/,
    );
  }
});

// ---------------------------------------------------------------- allocation failures

/**
 * The message for a tensor that cannot be allocated: op, dtype, shape, elements and bytes, the
 * backend, and on wasm its memory limit (these sizes, > 2⁵⁰ bytes, exceed any address space).
 */
function oom(op: string, dtype: string, shape: string, count: string, bytes: string): RegExp {
  const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const head = `${op}(): out of memory for ${/^[aeiou]/.test(dtype) ? "an" : "a"} ${dtype} ` +
    `tensor of shape [${shape}] (${count} elements, ${bytes} bytes (`;
  const wasm = getBackend() === "wasm"
    ? esc(" (WebAssembly memory limit 1073741824 bytes (1.00 GiB), ") + "\\d+ bytes in use; .+\\)"
    : "";
  return new RegExp(
    `^${esc(head)}.+\\)\\) on the ${getBackend()} backend${wasm}: .+; use a smaller shape`,
  );
}

Deno.test("creation that cannot get memory names the op, the shape, the bytes (and the wasm limit)", () => {
  const E15 = "1000000000000000";
  assertThrowsMatch(
    () => zeros([1e15]),
    RangeError,
    oom("zeros", "float32", E15, E15, "4000000000000000"),
  );
  assertThrowsMatch(
    () => zeros([1e6, 1e9], { dtype: "bool" }),
    RangeError,
    oom("zeros", "bool", "1000000,1000000000", E15, E15),
  );
  assertThrowsMatch(
    () => ones([1e300]),
    RangeError,
    oom("ones", "float32", "1e+300", "1e+300", "4e+300"),
  );
  assertThrowsMatch(
    () => full([1e15], 2, { dtype: "int32" }),
    RangeError,
    oom("full", "int32", E15, E15, "4000000000000000"),
  );
  assertThrowsMatch(
    () => arange(0, 1e15, 1, { dtype: "float64" }),
    RangeError,
    oom("arange", "float64", E15, E15, "8000000000000000"),
  );
  assertThrowsMatch(
    () => linspace(0, 1, 1e15),
    RangeError,
    oom("linspace", "float32", E15, E15, "4000000000000000"),
  );
  assertThrowsMatch(
    () => eye(1e8),
    RangeError,
    oom("eye", "float32", "100000000,100000000", "10000000000000000", "40000000000000000"),
  );
  // One that fits still works afterwards.
  assertTensor(zeros([2]), [0, 0], "float32");
});

Deno.test("ops whose result cannot get memory name the op, the shape and the bytes", async () => {
  const E15 = "1000000000000000";
  const one = tensor([1]);
  assertThrowsMatch(
    () => broadcastTo(one, [1e6, 1e9]),
    RangeError,
    oom("broadcastTo", "float32", "1000000,1000000000", E15, "4000000000000000"),
  );
  assertThrowsMatch(
    () => oneHot([0, 1], 1e15),
    RangeError,
    /^oneHot\(\): the value 1000000000000000 \(depth; indices are int32\) is out of range/,
  );
  // Whatever allocation fails inside an op's kernel, the error names the op and its result.
  const starved = new (class extends CpuBackend {
    override readonly name = "starved";
    override binary(): never {
      throw new RangeError("Array buffer allocation failed");
    }
  })();
  await onBackend("starved", starved, () => {
    assertThrowsMatch(
      () => mul(tensor([[1], [2]]), tensor([1, 2, 3], { dtype: "float32" })),
      RangeError,
      /^mul\(\): out of memory for a float32 tensor of shape \[2,3\] \(6 elements, 24 bytes\) on the starved backend: Array buffer allocation failed; use a smaller shape/,
    );
  });
  // reshape never allocates: a size mismatch is a ShapeError, a size-0 reshape is fine
  assertThrowsMatch(() => reshape(one, [1e15]), ShapeError, /^reshape\(\): cannot reshape \[1\]/);
  assert.deepEqual([...reshape(zeros([0]), [1e15, 0]).shape], [1e15, 0]);
  // An axis of 0 beside axes whose product overflows to Infinity: still 0 elements (not NaN).
  const empty = zeros([1e300, 1e300, 0]);
  assert.equal(empty.size, 0);
  assert.equal(empty.dataSync().length, 0);
});
