/**
 * Movement, indexing and linear-algebra ops against NumPy: reshape,
 * transpose, expandDims/squeeze, broadcastTo, slice (Python semantics),
 * concat/stack/split, take, oneHot, argsort, matmul, dot and clip.
 *
 * Expected values were computed with NumPy 2.4 and pasted in; each constant
 * shows the expression that produced it.
 */

import assert from "node:assert/strict";
import {
  arange,
  argsort,
  broadcastTo,
  clip,
  concat,
  dot,
  DTypeError,
  expandDims,
  matmul,
  oneHot,
  ones,
  reshape,
  ShapeError,
  slice,
  split,
  squeeze,
  stack,
  take,
  tensor,
  transpose,
  zeros,
} from "../../mod.ts";
import { assertTensor, assertThrowsMatch } from "./_helpers.ts";

// ---------------------------------------------------------------- reshape

Deno.test("reshape keeps row-major order and infers one -1", () => {
  const x = arange(6); // np.arange(6, dtype=np.int32)
  assertTensor(reshape(x, [2, -1]), [[0, 1, 2], [3, 4, 5]], "int32"); // x.reshape(2, -1)
  assertTensor(reshape(x, [-1, 2]), [[0, 1], [2, 3], [4, 5]], "int32"); // x.reshape(-1, 2)
  assertTensor(reshape(x, [3, -1, 1]), [[[0], [1]], [[2], [3]], [[4], [5]]], "int32");
  assertTensor(reshape(reshape(x, [2, 3]), [-1]), [0, 1, 2, 3, 4, 5], "int32");
  assertTensor(x.reshape([1, 6]), [[0, 1, 2, 3, 4, 5]], "int32");
  // scalars and size-1 shapes: np.array(5.).reshape(1, 1), np.array([5.]).reshape(())
  assertTensor(reshape(tensor(5), [1, 1]), [[5]], "float32");
  assertTensor(reshape(tensor([5]), []), 5, "float32");
  // empty: np.zeros((0, 3)).reshape(-1) has shape (0,); .reshape(3, 0) has (3, 0)
  assertTensor(reshape(zeros([0, 3]), [-1]), [], "float32");
  assertTensor(reshape(zeros([0, 3]), [3, 0]), [[], [], []], "float32");
  // the same shape gives the same tensor back
  assert.equal(reshape(x, [6]), x);
});

Deno.test("reshape errors name both shapes and sizes", () => {
  const x = ones([2, 3]);
  assertThrowsMatch(
    () => reshape(x, [4, 2]),
    ShapeError,
    /^reshape\(\): cannot reshape \[2,3\] \(6 elements\) into \[4,2\] \(8 elements\)$/,
  );
  assertThrowsMatch(
    () => reshape(x, [4, -1]),
    ShapeError,
    /^reshape\(\): cannot reshape \[2,3\] \(6 elements\) into \[4,-1\]$/,
  );
  assertThrowsMatch(
    () => reshape(x, [-1, -1]),
    ShapeError,
    /^reshape\(\): only one -1 is allowed, got \[-1,-1\]$/,
  );
  assertThrowsMatch(() => reshape(x, [-2, -3]), ShapeError, /^reshape\(\): invalid size -2/);
  assertThrowsMatch(() => reshape(x, [1.5, 4]), ShapeError, /^reshape\(\): invalid size 1\.5/);
  assertThrowsMatch(() => reshape(zeros([3, 0]), [0, -1]), ShapeError, /^reshape\(\): cannot/);
});

// ---------------------------------------------------------------- transpose

Deno.test("transpose reverses axes by default and takes explicit/negative perms", () => {
  // a = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
  const a = reshape(arange(24), [2, 3, 4]);
  // np.transpose(a)
  assertTensor(transpose(a), [
    [[0, 12], [4, 16], [8, 20]],
    [[1, 13], [5, 17], [9, 21]],
    [[2, 14], [6, 18], [10, 22]],
    [[3, 15], [7, 19], [11, 23]],
  ], "int32");
  // np.transpose(a, (1, 0, 2))
  assertTensor(transpose(a, [1, 0, 2]), [
    [[0, 1, 2, 3], [12, 13, 14, 15]],
    [[4, 5, 6, 7], [16, 17, 18, 19]],
    [[8, 9, 10, 11], [20, 21, 22, 23]],
  ], "int32");
  // np.transpose(a, (-1, 0, 1))
  const want = [
    [[0, 4, 8], [12, 16, 20]],
    [[1, 5, 9], [13, 17, 21]],
    [[2, 6, 10], [14, 18, 22]],
    [[3, 7, 11], [15, 19, 23]],
  ];
  assertTensor(transpose(a, [-1, 0, 1]), want, "int32");
  assertTensor(a.transpose([2, 0, 1]), want, "int32");
  // 2-D: .T; 1-D and identity perms give the input back
  assertTensor(tensor([[1, 2, 3]]).T, [[1], [2], [3]], "float32");
  const v = tensor([1, 2]);
  assert.equal(transpose(v), v);
  assert.equal(transpose(a, [0, 1, 2]), a);
});

Deno.test("transpose rejects what is not a permutation", () => {
  const x = ones([2, 3]);
  assertThrowsMatch(
    () => transpose(x, [0, 0]),
    ShapeError,
    /^transpose\(\): axes \[0,0\] are not a permutation of the 2 axes of \[2,3\]$/,
  );
  assertThrowsMatch(() => transpose(x, [0]), ShapeError, /axes \[0\] are not a permutation/);
  assertThrowsMatch(() => transpose(x, [1, 0, 2]), ShapeError, /^transpose\(\): axis 2 is out/);
  assertThrowsMatch(
    () => transpose(x, [0, 2]),
    ShapeError,
    /^transpose\(\): axis 2 is out of range for rank 2 \(valid: -2\.\.1\)$/,
  );
});

// ---------------------------------------------------------------- expandDims / squeeze

Deno.test("expandDims inserts a size-1 axis (ndim and negative axes allowed)", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(expandDims(x, 0).shape, [1, 2, 3]); // np.expand_dims(x, 0).shape
  assert.deepEqual(expandDims(x, 1).shape, [2, 1, 3]);
  assert.deepEqual(expandDims(x, 2).shape, [2, 3, 1]);
  assert.deepEqual(expandDims(x, -1).shape, [2, 3, 1]);
  assert.deepEqual(expandDims(x, -3).shape, [1, 2, 3]);
  assert.deepEqual(expandDims(tensor(1), 0).shape, [1]);
  assertTensor(x.expandDims(1), [[[1, 2, 3]], [[4, 5, 6]]], "float32");
  assertThrowsMatch(
    () => expandDims(x, 3),
    ShapeError,
    /^expandDims\(\): axis 3 is out of range for rank 3 \(valid: -3\.\.2\)$/,
  );
  assertThrowsMatch(() => expandDims(x, -4), ShapeError, /^expandDims\(\): axis -4/);
});

Deno.test("squeeze removes all size-1 axes or the given ones", () => {
  const x = zeros([1, 3, 1, 2]);
  assert.deepEqual(squeeze(x).shape, [3, 2]); // np.squeeze(x).shape
  assert.deepEqual(squeeze(x, 0).shape, [3, 1, 2]); // np.squeeze(x, 0).shape
  assert.deepEqual(squeeze(x, -2).shape, [1, 3, 2]);
  assert.deepEqual(squeeze(x, [0, 2]).shape, [3, 2]);
  assert.deepEqual(squeeze(ones([1, 1])).shape, []);
  assertTensor(tensor([[[7], [8]]]).squeeze(), [7, 8], "float32");
  assertThrowsMatch(
    () => squeeze(x, 1),
    ShapeError,
    /^squeeze\(\): axis 1 of shape \[1,3,1,2\] has size 3, not 1$/,
  );
  assertThrowsMatch(() => squeeze(x, [0, 3]), ShapeError, /axis 3 of shape \[1,3,1,2\] has size 2/);
  assertThrowsMatch(() => squeeze(x, 4), ShapeError, /^squeeze\(\): axis 4 is out of range/);
});

// ---------------------------------------------------------------- broadcastTo

Deno.test("broadcastTo repeats size-1 and missing leading axes", () => {
  // np.broadcast_to([1, 2, 3], (2, 3))
  assertTensor(broadcastTo(tensor([1, 2, 3]), [2, 3]), [[1, 2, 3], [1, 2, 3]], "float32");
  // np.broadcast_to([[1], [2]], (2, 3))
  assertTensor(broadcastTo(tensor([[1], [2]]), [2, 3]), [[1, 1, 1], [2, 2, 2]], "float32");
  // np.broadcast_to(np.array(7, np.int32), (2, 2))
  assertTensor(broadcastTo(tensor(7, { dtype: "int32" }), [2, 2]), [[7, 7], [7, 7]], "int32");
  // np.broadcast_to([[1], [2]], (2, 2, 3))
  assertTensor(broadcastTo(tensor([[1], [2]]), [2, 2, 3]), [
    [[1, 1, 1], [2, 2, 2]],
    [[1, 1, 1], [2, 2, 2]],
  ], "float32");
  assertTensor(broadcastTo(tensor([1]), [0]), [], "float32");
  const x = tensor([1, 2]);
  assert.equal(broadcastTo(x, [2]), x);
});

Deno.test("broadcastTo errors name the shapes", () => {
  assertThrowsMatch(
    () => broadcastTo(ones([2, 3]), [3, 3]),
    ShapeError,
    /^broadcastTo\(\): cannot broadcast shapes \[2,3\] and \[3,3\] \(axis -2: 2 vs 3\)$/,
  );
  // broadcasting may not drop axes or shrink the target
  assertThrowsMatch(
    () => broadcastTo(ones([2, 3]), [3]),
    ShapeError,
    /^broadcastTo\(\): cannot broadcast \[2,3\] to \[3\]$/,
  );
  assertThrowsMatch(() => broadcastTo(ones([3]), [1]), ShapeError, /^broadcastTo\(\)/);
  assertThrowsMatch(() => broadcastTo(ones([3]), [-1, 3]), ShapeError, /^broadcastTo\(\): shape/);
});

// ---------------------------------------------------------------- slice

// x = np.arange(24, dtype=np.int32).reshape(4, 6)
const SLICES: [
  string,
  (number | null)[],
  (number | null)[] | undefined,
  (number | null)[] | undefined,
  number[],
  number[][] | number[],
][] = [
  ["x[1:3]", [1], [3], undefined, [2, 6], [[6, 7, 8, 9, 10, 11], [12, 13, 14, 15, 16, 17]]],
  ["x[-3:-1, 1:-1]", [-3, 1], [-1, -1], undefined, [2, 4], [[7, 8, 9, 10], [13, 14, 15, 16]]],
  ["x[-100:100, 2:100]", [-100, 2], [100, 100], undefined, [4, 4], [
    [2, 3, 4, 5],
    [8, 9, 10, 11],
    [14, 15, 16, 17],
    [20, 21, 22, 23],
  ]],
  ["x[::-1, ::-2]", [null, null], [null, null], [-1, -2], [4, 3], [
    [23, 21, 19],
    [17, 15, 13],
    [11, 9, 7],
    [5, 3, 1],
  ]],
  ["x[3:0:-2, 5:1:-3]", [3, 5], [0, 1], [-2, -3], [2, 2], [[23, 20], [11, 8]]],
  ["x[3:1]", [3], [1], undefined, [0, 6], []],
  ["x[0:, 10:]", [0, 10], undefined, undefined, [4, 0], [[], [], [], []]],
  ["x[2:]", [2], undefined, undefined, [2, 6], [
    [12, 13, 14, 15, 16, 17],
    [18, 19, 20, 21, 22, 23],
  ]],
  ["x[0::3, 1::2]", [0, 1], [null, null], [3, 2], [2, 3], [[1, 3, 5], [19, 21, 23]]],
  ["x[10:-10:-1]", [10], [-10], [-1], [4, 6], [
    [18, 19, 20, 21, 22, 23],
    [12, 13, 14, 15, 16, 17],
    [6, 7, 8, 9, 10, 11],
    [0, 1, 2, 3, 4, 5],
  ]],
  // x[-1:-5:-1, -1:] (NumPy's x[-1:-5:-1, -1] = [23, 17, 11, 5], as a column)
  ["x[-1:-5:-1, -1:]", [-1, -1], [-5, null], [-1], [4, 1], [[23], [17], [11], [5]]],
  ["x[5:0:1, 0:0]", [5, 0], [0, 0], [1, 1], [0, 0], []],
];

for (const [expr, starts, stops, steps, shape, want] of SLICES) {
  Deno.test(`slice matches NumPy's ${expr}`, () => {
    const x = reshape(arange(24), [4, 6]);
    assertTensor(slice(x, starts, stops, steps), want, "int32", { shape });
  });
}

Deno.test("slice on 1-D and 3-D tensors matches NumPy", () => {
  const v = arange(10);
  assertTensor(slice(v, [-2], [null], [-3]), [8, 5, 2], "int32"); // np.arange(10)[-2::-3]
  assertTensor(slice(v, [7], [2], [-2]), [7, 5, 3], "int32"); // np.arange(10)[7:2:-2]
  assertTensor(slice(v, [-1], [-11], [-4]), [9, 5, 1], "int32"); // np.arange(10)[-1:-11:-4]
  // y = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
  const y = reshape(arange(24), [2, 3, 4]);
  // y[:, 1:, -1:0:-1]
  assertTensor(
    slice(y, [null, 1, -1], [null, null, 0], [null, null, -1]),
    [[[7, 6, 5], [11, 10, 9]], [[19, 18, 17], [23, 22, 21]]],
    "int32",
  );
  // y[::-1]
  assertTensor(slice(y, [null], [null], [-1]), [
    [[12, 13, 14, 15], [16, 17, 18, 19], [20, 21, 22, 23]],
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]],
  ], "int32");
  // y[1:, ::2, 1:3]
  assertTensor(slice(y, [1, null, 1], [null, null, 3], [null, 2]), [[[13, 14], [21, 22]]], "int32");
  // the whole tensor comes back as is
  assert.equal(slice(y, []), y);
});

Deno.test("slice errors: too many bounds, zero or fractional steps and bounds", () => {
  const x = ones([2, 3]);
  assertThrowsMatch(
    () => slice(x, [0, 0, 0]),
    ShapeError,
    /^slice\(\): got bounds for 3 axes but the input \[2,3\] has 2$/,
  );
  assertThrowsMatch(() => slice(x, [0], [1], [1, 1, 1]), ShapeError, /bounds for 3 axes/);
  assertThrowsMatch(
    () => slice(x, [0], [2], [0]),
    ShapeError,
    /^slice\(\): step on axis 0 must be a non-zero integer, got 0$/,
  );
  assertThrowsMatch(
    () => slice(x, [0, 0.5]),
    ShapeError,
    /^slice\(\): bounds on axis 1 must be integers, got 0\.5$/,
  );
  assertThrowsMatch(() => slice(x, [0], [1], [null, 1.5]), ShapeError, /step on axis 1/);
  // A number or object where an array of per-axis bounds goes (TF.js's slice(x, begin, size)):
  // it was read as no bounds, giving x whole.
  const bad = (b: unknown) => b as number[];
  for (
    const [f, name] of [
      [() => slice(x, bad(1)), "starts"],
      [() => slice(x, [0], bad(1)), "stops"],
      [() => slice(x, [0], [2], bad(2)), "steps"],
      [() => slice(x, bad({ begin: [1] })), "starts"],
      [() => slice(x, [0], bad(["2"])), "stops"],
    ] as const
  ) {
    assertThrowsMatch(
      f,
      TypeError,
      new RegExp(
        `^slice\\(\\): ${name} must be an array with one number \\(or null\\) per axis, got `,
      ),
    );
  }
});

// ---------------------------------------------------------------- concat / stack / split

Deno.test("concat joins along an existing axis like np.concatenate", () => {
  // np.concatenate([[[1, 2], [3, 4]], [[5, 6]]], 0)
  assertTensor(
    concat([tensor([[1, 2], [3, 4]]), tensor([[5, 6]])], 0),
    [[1, 2], [3, 4], [5, 6]],
    "float32",
  );
  // np.concatenate([[[1, 2], [3, 4]], [[5], [6]], [[7, 8], [9, 10]]], 1)
  const parts = [tensor([[1, 2], [3, 4]]), tensor([[5], [6]]), tensor([[7, 8], [9, 10]])];
  const want = [[1, 2, 5, 7, 8], [3, 4, 6, 9, 10]];
  assertTensor(concat(parts, 1), want, "float32");
  assertTensor(concat(parts, -1), want, "float32");
  // int32, bool and empty parts
  assertTensor(concat([arange(2), arange(0), arange(3)]), [0, 1, 0, 1, 2], "int32");
  assertTensor(concat([tensor([true]), tensor([false])]), [true, false], "bool");
  // default axis 0; a single tensor comes back as is
  assertTensor(concat([tensor([1]), tensor([2])]), [1, 2], "float32");
  const x = tensor([1, 2]);
  assert.equal(concat([x]), x);
});

Deno.test("concat errors: other axes differ, ranks differ, dtypes differ, nothing to join", () => {
  assertThrowsMatch(
    () => concat([ones([2, 3]), ones([2, 4])]),
    ShapeError,
    /^concat\(\): shapes \[2,3\], \[2,4\] differ outside axis 0$/,
  );
  assertThrowsMatch(
    () => concat([ones([2, 3]), ones([3])]),
    ShapeError,
    /^concat\(\): shapes \[2,3\], \[3\]/,
  );
  assertThrowsMatch(
    () => concat([ones([2]), ones([2], { dtype: "int32" })]),
    DTypeError,
    /^concat\(\): dtype mismatch: float32 and int32/,
  );
  assertThrowsMatch(
    () => concat([]),
    ShapeError,
    /^concat\(\): needs a non-empty array of tensors$/,
  );
  assertThrowsMatch(
    () => concat([ones([2]), ones([2])], 1),
    ShapeError,
    /^concat\(\): axis 1 is out of range/,
  );
});

Deno.test("stack joins along a new axis like np.stack", () => {
  // np.stack([[1, 2, 3], [4, 5, 6]], 1)
  assertTensor(
    stack([tensor([1, 2, 3]), tensor([4, 5, 6])], 1),
    [[1, 4], [2, 5], [3, 6]],
    "float32",
  );
  assertTensor(stack([tensor([1, 2, 3]), tensor([4, 5, 6])]), [[1, 2, 3], [4, 5, 6]], "float32");
  // np.stack([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], -1)
  assertTensor(
    stack([tensor([[1, 2], [3, 4]]), tensor([[5, 6], [7, 8]])], -1),
    [[[1, 5], [2, 6]], [[3, 7], [4, 8]]],
    "float32",
  );
  // stacking scalars gives a vector
  assertTensor(
    stack([tensor(1, { dtype: "int32" }), tensor(2, { dtype: "int32" })]),
    [1, 2],
    "int32",
  );
  assertThrowsMatch(
    () => stack([ones([2]), ones([3])]),
    ShapeError,
    /^stack\(\): all shapes must be equal, got \[2\], \[3\]$/,
  );
  assertThrowsMatch(() => stack([]), ShapeError, /^stack\(\): needs a non-empty array/);
  assertThrowsMatch(() => stack([ones([2])], 2), ShapeError, /^stack\(\): axis 2 is out of range/);
});

Deno.test("split follows np.split for sections and split points", () => {
  const parts = (xs: ReturnType<typeof split>) => xs.map((p) => p.arraySync());
  assert.deepEqual(parts(split(arange(6), 3)), [[0, 1], [2, 3], [4, 5]]); // np.split(np.arange(6), 3)
  // np.split(np.arange(6), [1, 4])
  assert.deepEqual(parts(split(arange(6), [1, 4])), [[0], [1, 2, 3], [4, 5]]);
  // np.split(np.arange(5), [-2]): negative points count from the end
  assert.deepEqual(parts(split(arange(5), [-2])), [[0, 1, 2], [3, 4]]);
  // np.split(np.arange(5), [3, 1]): decreasing points give an empty part
  assert.deepEqual(parts(split(arange(5), [3, 1])), [[0, 1, 2], [], [1, 2, 3, 4]]);
  // np.split(np.arange(5), [2, 10]): points past the end clamp
  assert.deepEqual(parts(split(arange(5), [2, 10])), [[0, 1], [2, 3, 4], []]);
  // np.split(np.arange(12).reshape(2, 6), [2], axis=1)
  const [a, b] = split(reshape(arange(12), [2, 6]), [2], 1);
  assertTensor(a, [[0, 1], [6, 7]], "int32");
  assertTensor(b, [[2, 3, 4, 5], [8, 9, 10, 11]], "int32");
  // negative axis, and no split points gives the whole tensor
  assert.deepEqual(parts(split(reshape(arange(4), [2, 2]), 2, -1)), [[[0], [2]], [[1], [3]]]);
  assert.deepEqual(parts(split(arange(3), [])), [[0, 1, 2]]);
});

Deno.test("split errors: unequal sections and bad axes", () => {
  assertThrowsMatch(
    () => split(arange(5), 2),
    ShapeError,
    /^split\(\): axis 0 of size 5 cannot be split into 2 equal parts; pass split points instead$/,
  );
  assertThrowsMatch(() => split(arange(4), 0), ShapeError, /cannot be split into 0 equal parts/);
  assertThrowsMatch(() => split(arange(4), 2, 1), ShapeError, /^split\(\): axis 1 is out of range/);
});

// ---------------------------------------------------------------- take

Deno.test("take gathers along an axis like np.take", () => {
  // x = np.arange(12, dtype=np.float32).reshape(3, 4)
  const x = reshape(arange(12, undefined, 1, { dtype: "float32" }), [3, 4]);
  // np.take(x, [2, 0], axis=0)
  assertTensor(take(x, [2, 0]), [[8, 9, 10, 11], [0, 1, 2, 3]], "float32");
  // np.take(x, [1, -1], axis=1)
  assertTensor(take(x, [1, -1], 1), [[1, 3], [5, 7], [9, 11]], "float32");
  assertTensor(
    take(x, tensor([1, -1], { dtype: "int32" }), -1),
    [[1, 3], [5, 7], [9, 11]],
    "float32",
  );
  // np.take(x, [[0, 1], [2, 0]], axis=0): shape x.shape[:0] + (2, 2) + x.shape[1:]
  assertTensor(
    take(x, tensor([[0, 1], [2, 0]], { dtype: "int32" })),
    [[[0, 1, 2, 3], [4, 5, 6, 7]], [[8, 9, 10, 11], [0, 1, 2, 3]]],
    "float32",
  );
  // np.take(x, [[0], [3]], axis=1): shape (3, 2, 1)
  assertTensor(
    take(x, tensor([[0], [3]], { dtype: "int32" }), 1),
    [[[0], [3]], [[4], [7]], [[8], [11]]],
    "float32",
  );
  // a scalar index removes the axis: np.take(x, 1, axis=0), np.take(x, -1, axis=1)
  assertTensor(take(x, 1), [4, 5, 6, 7], "float32");
  assertTensor(take(x, -1, 1), [3, 7, 11], "float32");
  // np.take(x, [], axis=0).shape == (0, 4); repeated indices repeat rows
  assertTensor(take(x, []), [], "float32", { shape: [0, 4] });
  assertTensor(take(tensor([5, 6], { dtype: "int32" }), [1, 1, 0]), [6, 6, 5], "int32");
});

Deno.test("take errors: out-of-range and non-integer indices, scalars", () => {
  const x = ones([3]);
  assert.throws(
    () => take(x, [3]).dataSync(),
    (e: unknown) =>
      e instanceof RangeError &&
      /^take\(\): index 3 is out of bounds for an axis of size 3 \(valid: -3\.\.2\)$/.test(
        e.message,
      ),
  );
  assert.throws(() => take(x, [-4]).dataSync(), /index -4 is out of bounds/);
  // Huge indices neither wrap (2³² used to read x[0]) nor clamp, as numbers or as tensors.
  for (const bad of [2 ** 32, -(2 ** 32), 2 ** 31, 1000]) {
    assert.throws(() => take(x, [bad]), /^RangeError: take\(\): index -?\d+ is out of bounds/);
  }
  assert.throws(
    () => take(x, tensor([0, 1000], { dtype: "int32" })),
    /index 1000 is out of bounds/,
  );
  assertThrowsMatch(
    () => take(x, tensor([1])),
    DTypeError,
    /^take\(\): indices must be int32, got float32; cast them first, e\.g\. cast\(i, "int32"\)$/,
  );
  assertThrowsMatch(
    () => take(x, [1.5]),
    DTypeError,
    /^take\(\): indices must be integers, got 1\.5$/,
  );
  assertThrowsMatch(() => take(tensor(1), [0]), ShapeError, /^take\(\): cannot index a scalar/);
  assertThrowsMatch(() => take(x, [0], 1), ShapeError, /^take\(\): axis 1 is out of range/);
});

// ---------------------------------------------------------------- oneHot

Deno.test("oneHot: a new last axis; out-of-range indices give a zero row", () => {
  // (np.array([2, 0, 5, -1])[:, None] == np.arange(3)).astype(np.float32)
  assertTensor(oneHot([2, 0, 5, -1], 3), [[0, 0, 1], [1, 0, 0], [0, 0, 0], [0, 0, 0]], "float32");
  // (np.array([[0, 1], [2, 3]])[..., None] == np.arange(3)).astype(np.int32)
  assertTensor(
    oneHot(tensor([[0, 1], [2, 3]], { dtype: "int32" }), 3, { dtype: "int32" }),
    [[[1, 0, 0], [0, 1, 0]], [[0, 0, 1], [0, 0, 0]]],
    "int32",
  );
  assertTensor(oneHot([1], 2, { dtype: "bool" }), [[false, true]], "bool");
  assertTensor(oneHot([0, 1], 0), [[], []], "float32");
  assertThrowsMatch(
    () => oneHot([1], -1),
    ShapeError,
    /^oneHot\(\): depth must be a non-negative integer, got -1$/,
  );
  assertThrowsMatch(
    () => oneHot(tensor([1]), 3),
    DTypeError,
    /^oneHot\(\): indices must be int32, got float32/,
  );
  assertThrowsMatch(() => oneHot([0.5], 3), DTypeError, /^oneHot\(\): indices must be integers/);
});

// ---------------------------------------------------------------- argsort

Deno.test("argsort is stable, puts NaN last and sorts along any axis", () => {
  // np.argsort(np.array([3, 1, 2, 1, 3], np.float32), kind="stable")
  assertTensor(argsort(tensor([3, 1, 2, 1, 3])), [1, 3, 2, 0, 4], "int32");
  // np.argsort(np.array([nan, 2, -1, nan, 0, -inf, inf], np.float32), kind="stable")
  assertTensor(
    argsort(tensor([NaN, 2, -1, NaN, 0, -Infinity, Infinity])),
    [5, 2, 4, 1, 6, 0, 3],
    "int32",
  );
  // np.argsort(np.array([[3, 1, 2], [0, 5, 0]], np.int32), kind="stable")
  assertTensor(
    argsort(tensor([[3, 1, 2], [0, 5, 0]], { dtype: "int32" })),
    [[1, 2, 0], [0, 2, 1]],
    "int32",
  );
  // np.argsort(np.array([[3, 1, 2], [0, 5, 0], [3, 0, 1]], np.float64), axis=0, kind="stable")
  const m = tensor([[3, 1, 2], [0, 5, 0], [3, 0, 1]], { dtype: "float64" });
  assertTensor(argsort(m, 0), [[1, 2, 1], [0, 0, 2], [2, 1, 0]], "int32");
  assertTensor(argsort(m, -2), [[1, 2, 1], [0, 0, 2], [2, 1, 0]], "int32");
  assertTensor(argsort(tensor([true, false, true, false])), [1, 3, 0, 2], "int32");
  assertTensor(argsort(zeros([0])), [], "int32");
});

Deno.test("argsort errors on scalars and bad axes", () => {
  assertThrowsMatch(
    () => argsort(tensor(1)),
    ShapeError,
    /^argsort\(\): cannot sort a scalar; reshape it to \[1\] first$/,
  );
  assertThrowsMatch(
    () => argsort(ones([2]), 1),
    ShapeError,
    /^argsort\(\): axis 1 is out of range/,
  );
});

// ---------------------------------------------------------------- matmul

// A = np.array([[1, 2, -1], [0.5, 3, 2]]); B = np.array([[1, 0, 2, -1], [2, 1, 0, 0.5], [-1, 3, 1, 2]])
const A = [[1, 2, -1], [0.5, 3, 2]];
const B = [[1, 0, 2, -1], [2, 1, 0, 0.5], [-1, 3, 1, 2]];
const AB = [[6, -1, 1, -2], [4.5, 9, 3, 5]]; // A @ B

Deno.test("matmul: 2-D in float32, float64 and int32", () => {
  assertTensor(matmul(tensor(A), tensor(B)), AB, "float32");
  assertTensor(
    matmul(tensor(A, { dtype: "float64" }), tensor(B, { dtype: "float64" })),
    AB,
    "float64",
  );
  assertTensor(tensor(A).matmul(tensor(B)), AB, "float32");
  // np.array([[1, 2], [3, 4]], np.int32) @ np.array([[5, 6], [7, 8]], np.int32)
  const i = (v: number[][]) => tensor(v, { dtype: "int32" });
  assertTensor(matmul(i([[1, 2], [3, 4]]), i([[5, 6], [7, 8]])), [[19, 22], [43, 50]], "int32");
  // empty inner axis: np.zeros((2, 0)) @ np.zeros((0, 3)) is zeros((2, 3))
  assertTensor(matmul(zeros([2, 0]), zeros([0, 3])), [[0, 0, 0], [0, 0, 0]], "float32");
});

Deno.test("matmul: batched and broadcasting batch axes", () => {
  // BA = np.arange(12.).reshape(2, 2, 3) - 4; BB = np.arange(12.).reshape(2, 3, 2) * 0.5; BA @ BB
  const ba = reshape(arange(12, undefined, 1, { dtype: "float32" }), [2, 2, 3]).sub(4);
  const bb = reshape(arange(12, undefined, 1, { dtype: "float32" }), [2, 3, 2]).mul(0.5);
  assertTensor(matmul(ba, bb), [[[-7, -11.5], [2, 2]], [[38, 42.5], [74, 83]]], "float32");
  // P = np.arange(12.).reshape(2, 1, 2, 3); Q = (np.arange(18.) - 9).reshape(3, 3, 2); P @ Q
  const p = reshape(arange(12, undefined, 1, { dtype: "float64" }), [2, 1, 2, 3]);
  const q = reshape(arange(18, undefined, 1, { dtype: "float64" }).sub(9), [3, 3, 2]);
  assertTensor(matmul(p, q), [
    [[[-17, -14], [-80, -68]], [[1, 4], [-8, 4]], [[19, 22], [64, 76]]],
    [[[-143, -122], [-206, -176]], [[-17, 4], [-26, 4]], [[109, 130], [154, 184]]],
  ], "float64");
  // a 2-D operand broadcasts against a batch: A @ np.stack([B, 2 * B])
  assertTensor(matmul(tensor(A), stack([tensor(B), tensor(B).mul(2)])), [
    AB,
    AB.map((r) => r.map((v) => 2 * v)),
  ], "float32");
});

Deno.test("matmul: 1-D operands are a row (left) or column (right), then dropped", () => {
  // np.array([1., -2, 3]) @ B
  assertTensor(matmul(tensor([1, -2, 3]), tensor(B)), [-6, 7, 5, 4], "float32");
  // A @ np.array([1., -2, 3])
  assertTensor(matmul(tensor(A), tensor([1, -2, 3])), [-6, 0.5], "float32");
  // np.array([1., -2, 3]) @ np.array([4., 5, 6])
  assertTensor(matmul(tensor([1, -2, 3]), tensor([4, 5, 6])), 12, "float32");
  // np.array([1., -2, 3]) @ np.arange(24.).reshape(2, 3, 4)
  const c = reshape(arange(24, undefined, 1, { dtype: "float32" }), [2, 3, 4]);
  assertTensor(matmul(tensor([1, -2, 3]), c), [[16, 18, 20, 22], [40, 42, 44, 46]], "float32");
  // np.arange(24.).reshape(2, 3, 4) @ np.array([1., 0, -1, 2])
  assertTensor(matmul(c, tensor([1, 0, -1, 2])), [[4, 12, 20], [28, 36, 44]], "float32");
});

Deno.test("matmul: transposeA / transposeB equal transposing first, in every dtype", () => {
  for (const dtype of ["float32", "float64", "int32"] as const) {
    const a = reshape(arange(24, undefined, 1, { dtype }), [2, 3, 4]).sub(5); // batch of 3×4
    const b = reshape(arange(20, undefined, 1, { dtype }), [4, 5]).mul(2).sub(7); // 4×5
    const aT = transpose(a, [0, 2, 1]), bT = transpose(b, [1, 0]);
    const want = matmul(a, b).arraySync();
    assertTensor(matmul(aT, b, { transposeA: true }), want, dtype);
    assertTensor(matmul(a, bT, { transposeB: true }), want, dtype);
    assertTensor(matmul(aT, bT, { transposeA: true, transposeB: true }), want, dtype);
  }
  // big enough for the WebAssembly GEMM: (xᵀ)ᵀ·w with x 100×784 as in an MLP's backward pass
  const x = reshape(arange(784 * 20, undefined, 1, { dtype: "float32" }), [20, 784]).mul(1e-3);
  const g = reshape(arange(20 * 30, undefined, 1, { dtype: "float32" }), [20, 30]).mul(1e-2);
  const want = matmul(transpose(x, [1, 0]), g).dataSync();
  const got = matmul(x, g, { transposeA: true }).dataSync();
  assert.deepEqual(got, want);
  assertThrowsMatch(
    () => matmul(ones([3]), ones([3, 2]), { transposeA: true }),
    ShapeError,
    /^matmul\(\): transposeA needs an operand with at least 2 axes, got \[3\]; reshape it/,
  );
  assertThrowsMatch(
    () => matmul(ones([2, 3]), ones([2, 3]), { transposeB: false }),
    ShapeError,
    /inner sizes differ: \[2,3\] @ \[2,3\] \(3 vs 2\)/,
  );
  assertThrowsMatch(
    () => matmul(ones([2, 3]), ones([2, 4]), { transposeB: true }),
    ShapeError,
    /inner sizes differ: \[2,3\] @ \[2,4\]ᵀ \(3 vs 4\)/,
  );
});

Deno.test("matmul errors name both shapes", () => {
  assertThrowsMatch(
    () => matmul(ones([2, 3]), ones([4, 5])),
    ShapeError,
    /^matmul\(\): inner sizes differ: \[2,3\] @ \[4,5\] \(3 vs 4\); the last axis of the left operand must equal the second-to-last of the right$/,
  );
  assertThrowsMatch(
    () => matmul(ones([3]), ones([4])),
    ShapeError,
    /inner sizes differ: \[3\] @ \[4\] \(3 vs 4\)/,
  );
  assertThrowsMatch(
    () => matmul(ones([2, 3]), ones([2])),
    ShapeError,
    /inner sizes differ: \[2,3\] @ \[2\]/,
  );
  assertThrowsMatch(
    () => matmul(ones([2, 2, 3]), ones([3, 3, 5])),
    ShapeError,
    /^matmul\(\): batch axes of \[2,2,3\] and \[3,3,5\] do not broadcast \(\[2\] vs \[3\]\)/,
  );
  assertThrowsMatch(
    () => matmul(ones([2]), tensor(1)),
    ShapeError,
    /^matmul\(\): operands must have at least 1 axis, got \[2\] and \[\]; use mul\(\) for scalars$/,
  );
  assertThrowsMatch(
    () => matmul(ones([2, 2]), ones([2, 2], { dtype: "int32" })),
    DTypeError,
    /^matmul\(\): dtype mismatch/,
  );
  assertThrowsMatch(
    () => matmul(tensor([[true]]), tensor([[true]])),
    DTypeError,
    /^matmul\(\): bool tensors/,
  );
});

// ---------------------------------------------------------------- dot

Deno.test("dot follows np.dot for 1-D, 2-D and N-D operands", () => {
  // np.dot([1., 2, 3], [4., 5, 6])
  assertTensor(dot(tensor([1, 2, 3]), tensor([4, 5, 6])), 32, "float32");
  assertTensor(dot(tensor(A), tensor(B)), AB, "float32"); // np.dot(A, B)
  // D1 = np.arange(24.).reshape(2, 3, 4) * 0.5 - 3; D2 = np.arange(20.).reshape(4, 5) - 7; np.dot(D1, D2)
  const d1 = reshape(arange(24, undefined, 1, { dtype: "float64" }), [2, 3, 4]).mul(0.5).sub(3);
  const d2 = reshape(arange(20, undefined, 1, { dtype: "float64" }), [4, 5]).sub(7);
  assertTensor(dot(d1, d2), [
    [[8, -1, -10, -19, -28], [12, 11, 10, 9, 8], [16, 23, 30, 37, 44]],
    [[20, 35, 50, 65, 80], [24, 47, 70, 93, 116], [28, 59, 90, 121, 152]],
  ], "float64");
  // E1 = np.array([[1., -2, 0.5], [3, 0, -1]]); E2 = np.arange(24.).reshape(2, 3, 4) - 10
  const e1 = tensor([[1, -2, 0.5], [3, 0, -1]], { dtype: "float64" });
  const e2 = reshape(arange(24, undefined, 1, { dtype: "float64" }), [2, 3, 4]).sub(10);
  // np.dot(E1, E2): shape (2, 2, 4), summing E1's last axis with E2's second-to-last
  assertTensor(dot(e1, e2), [
    [[1, 0.5, 0, -0.5], [-5, -5.5, -6, -6.5]],
    [[-28, -26, -24, -22], [-4, -2, 0, 2]],
  ], "float64");
  // np.dot([1., -1, 2], E2)
  assertTensor(dot(tensor([1, -1, 2], { dtype: "float64" }), e2), [[-8, -6, -4, -2], [
    16,
    18,
    20,
    22,
  ]], "float64");
  // np.dot(E2, [1., 0, -1, 2])
  assertTensor(
    dot(e2, tensor([1, 0, -1, 2], { dtype: "float64" })),
    [[-16, -8, 0], [8, 16, 24]],
    "float64",
  );
  // np.dot(2., A): a scalar multiplies
  assertTensor(dot(2, tensor(A)), [[2, 4, -2], [1, 6, 4]], "float32");
  assertTensor(tensor([1, 2]).dot(tensor([3, 4])), 11, "float32");
  // np.dot(np.zeros((2, 0)), np.zeros((3, 0, 4))): an empty sum, zeros of shape (2, 3, 4)
  const empty = dot(zeros([2, 0]), zeros([3, 0, 4]));
  assert.deepEqual(empty.shape, [2, 3, 4]);
  assert.ok(empty.dataSync().every((v) => v === 0));
  assert.deepEqual(dot(zeros([0, 3]), zeros([2, 3, 4])).shape, [0, 2, 4]);
});

Deno.test("dot errors name both shapes", () => {
  assertThrowsMatch(
    () => dot(ones([2]), ones([3])),
    ShapeError,
    /^dot\(\): sizes differ: \[2\] · \[3\]$/,
  );
  assertThrowsMatch(
    () => dot(ones([2, 3]), ones([2, 4, 5])),
    ShapeError,
    /^dot\(\): sizes differ: \[2,3\] · \[2,4,5\] \(3 vs 4\)$/,
  );
  assert.throws(() => dot(ones([2, 3]), ones([2, 3])), ShapeError);
});

// ---------------------------------------------------------------- clip

Deno.test("clip matches np.clip (NaN passes through, tensor bounds broadcast)", () => {
  // np.clip(np.array([-2, 0.5, 3, nan], np.float32), 0, 1)
  assertTensor(clip(tensor([-2, 0.5, 3, NaN]), 0, 1), [0, 0.5, 1, NaN], "float32");
  // np.clip(np.array([[-2., 5], [1, 0]]), np.array([-1., 1]), np.array([[0.], [2]]))
  const f64 = { dtype: "float64" } as const;
  assertTensor(
    clip(tensor([[-2, 5], [1, 0]], f64), tensor([-1, 1], f64), tensor([[0], [2]], f64)),
    [[-1, 0], [1, 1]],
    "float64",
  );
  // np.clip(np.array([-5, 0, 7], np.int32), -2, 3)
  assertTensor(clip(tensor([-5, 0, 7], { dtype: "int32" }), -2, 3), [-2, 0, 3], "int32");
  // np.clip(np.array([1., 5]), 3, 2): when lo > hi everything becomes hi
  assertTensor(clip(tensor([1, 5]), 3, 2), [2, 2], "float32");
  // one-sided with ±Infinity
  assertTensor(clip(tensor([-1, 2]), 0, Infinity), [0, 2], "float32");
  assertTensor(clip(tensor([-1, 2]), -Infinity, 1), [-1, 1], "float32");
  // Errors name clip, not the maximum/minimum it is made of.
  assertThrowsMatch(
    () => clip(tensor([1, 2], { dtype: "int32" }), 0.5, 3),
    DTypeError,
    /^clip\(\): cannot combine the non-integer 0\.5 with an int32 tensor/,
  );
  assertThrowsMatch(
    () => clip(tensor([1, 2]), tensor(0, { dtype: "float64" }), 3),
    DTypeError,
    /^clip\(\): dtype mismatch: float32 and float64 and float32/,
  );
});
