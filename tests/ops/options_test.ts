/**
 * Options objects are checked: a positional value where an op takes its
 * options (TF.js's `sum(x, axis, keepDims)`, `zeros(shape, dtype)`,
 * `matMul(a, b, transposeA)`; NumPy's `choice(a, size, replace)`), or a key
 * the options do not have (TF.js's `keepDims`), throws a `TypeError` naming
 * the op, what it got and the form it takes, instead of being ignored and
 * giving a different answer. Valid options, `{}` and `undefined` work as
 * before, and the Tensor methods go through the same checks.
 */

import assert from "node:assert/strict";
import {
  arange,
  cumsum,
  data,
  einsum,
  eye,
  full,
  hessian,
  lax,
  logsumexp,
  matmul,
  mean,
  nn,
  oneHot,
  ones,
  onesLike,
  pad,
  random,
  ready,
  split,
  squeeze,
  std,
  sum,
  take,
  type Tensor,
  tensor,
  transpose,
  tree,
  variance,
  zeros,
  zerosLike,
} from "../../mod.ts";
import { assertThrowsMatch } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
const loose = (v: unknown): any => v; // what a JavaScript caller can pass

const x = tensor([[1, 2], [3, 4]]);

Deno.test("a positional value where the options go throws, naming the op and the form", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["sum", () => sum(x, 1, loose(true)), /^sum\(\): .*\{ keepdims: true \}.*got boolean true/],
    ["x.sum", () => x.sum(1, loose(true)), /^sum\(\): .*got boolean true/],
    ["mean", () => mean(x, 1, loose(true)), /^mean\(\): .*got boolean true/],
    ["max", () => x.max(0, loose(true)), /^max\(\): .*got boolean true/],
    ["min", () => x.min(0, loose(false)), /^min\(\): .*got boolean false/],
    ["argmax", () => x.argmax(0, loose(true)), /^argmax\(\): .*got boolean true/],
    ["argmin", () => x.argmin(null, loose(true)), /^argmin\(\): .*got boolean true/],
    ["logsumexp", () => logsumexp(x, 1, loose(true)), /^logsumexp\(\): .*got boolean true/],
    ["variance", () => variance(x, 0, loose(1)), /^variance\(\): .*\{ ddof: 1.*got number 1/],
    ["std", () => std(x, 0, loose(1)), /^std\(\): .*got number 1/],
    ["cumsum", () => cumsum(x, 0, loose(true)), /^cumsum\(\): .*exclusive.*got boolean true/],
    ["matmul", () => matmul(x, x, loose(true)), /^matmul\(\): .*transposeB.*got boolean true/],
    ["tensor dtype", () => tensor([1, 2], loose("int32")), /^tensor\(\): .*got string int32/],
    ["tensor shape", () => tensor([1, 2, 3, 4], loose([2, 2])), /^tensor\(\): .*array of/],
    ["zeros", () => zeros([2], loose("int32")), /^zeros\(\): .*\{ dtype: "int32" \}/],
    ["ones", () => ones([2], loose("int32")), /^ones\(\): .*got string int32/],
    ["full", () => full([2], 1, loose("int32")), /^full\(\): .*got string int32/],
    ["zerosLike", () => zerosLike(x, loose("int32")), /^zerosLike\(\): /],
    ["onesLike", () => onesLike(x, loose("int32")), /^onesLike\(\): /],
    ["arange", () => arange(0, 4, 1, loose("float64")), /^arange\(\): .*got string float64/],
    ["eye", () => eye(2, 2, loose("int32")), /^eye\(\): /],
    ["oneHot", () => oneHot([0, 1], 2, loose("int32")), /^oneHot\(\): /],
    ["gelu", () => nn.gelu(x, loose(false)), /^nn\.gelu\(\): .*approximate.*got boolean false/],
    [
      "normal",
      () => random.normal(random.key(0), [2], loose(5)),
      /^random\.normal\(\): .*std.*got number 5/,
    ],
    [
      "uniform",
      () => random.uniform(random.key(0), [2], loose(-1)),
      /^random\.uniform\(\): .*got number -1/,
    ],
    [
      "choice",
      () => random.choice(random.key(0), 10, 3, loose(false)),
      /^random\.choice\(\): .*\{ replace: false \}.*got boolean false/,
    ],
    ["null", () => sum(x, 0, loose(null)), /^sum\(\): .*got null/],
  ];
  for (const [name, f, re] of cases) {
    try {
      assertThrowsMatch(f, TypeError, re);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    }
  }
});

Deno.test("an unknown option key throws and names the likely one", () => {
  assertThrowsMatch(
    () => sum(x, 1, loose({ keepDims: true })),
    TypeError,
    /^sum\(\): unknown option "keepDims" \(did you mean "keepdims"\?\); the options are "keepdims"/,
  );
  assertThrowsMatch(
    () => matmul(x, x, loose({ transpose_b: true })),
    TypeError,
    /^matmul\(\): unknown option "transpose_b" \(did you mean "transposeB"\?\)/,
  );
  assertThrowsMatch(
    () => random.normal(random.key(0), [2], loose({ stddev: 2 })),
    TypeError,
    /^random\.normal\(\): unknown option "stddev"; the options are "mean", "std", "dtype"/,
  );
  assertThrowsMatch(
    () => tensor([1], loose({ dType: "int32" })),
    TypeError,
    /did you mean "dtype"/,
  );
  assertThrowsMatch(() => variance(x, 0, loose({ correction: 1 })), TypeError, /"ddof"/);
  // Misspelt: the nearest key, at most two letters apart; none when nothing is near.
  assertThrowsMatch(
    () => cumsum(x, 0, loose({ revers: true })),
    TypeError,
    /unknown option "revers" \(did you mean "reverse"\?\)/,
  );
  assertThrowsMatch(
    () => nn.conv2d(zeros([1, 1, 3, 3]), zeros([1, 1, 1, 1]), loose({ dialation: 2 })),
    TypeError,
    /did you mean "dilation"/,
  );
  assertThrowsMatch(() => sum(x, 0, loose({ k: true })), TypeError, /unknown option "k"; the/);
});

Deno.test("valid, empty and omitted options keep their meaning", () => {
  assert.deepEqual(sum(x, 1, { keepdims: true }).shape, [2, 1]);
  assert.deepEqual(x.sum(1, {}).shape, [2]);
  assert.deepEqual(sum(x, 1, undefined).shape, [2]);
  assert.deepEqual(x.argmax(1, { keepdims: true }).arraySync(), [[1], [1]]);
  assert.deepEqual(variance(x, 0, { ddof: 1, keepdims: true }).arraySync(), [[2, 2]]);
  assert.deepEqual(matmul(x, x, { transposeB: true }).arraySync(), [[5, 11], [11, 25]]);
  assert.deepEqual(cumsum(tensor([1, 2, 3]), 0, { exclusive: true }).arraySync(), [0, 1, 3]);
  assert.equal(tensor([1, 2], { dtype: "int32", shape: [2] }).dtype, "int32");
  assert.equal(zeros([1], { dtype: "float64" }).dtype, "float64");
  assert.equal(random.normal(random.key(0), [1], { std: 2, mean: 1 }).shape[0], 1);
  assert.equal(random.choice(random.key(0), 5, 5, { replace: false }).shape[0], 5);
  // A class instance or an object made by Object.create(null) is an options object too.
  assert.equal(zeros([1], Object.assign(Object.create(null), { dtype: "int32" })).dtype, "int32");
});

Deno.test("nn and lax: convolution, pooling, layer and loss options are checked too", () => {
  const img = zeros([1, 1, 5, 5]), k = zeros([1, 1, 3, 3]);
  const cases: [() => unknown, RegExp][] = [
    [() => nn.conv2d(img, k, loose(2)), /^conv2d\(\): .*got number 2/],
    [
      () => nn.conv2d(img, k, loose({ strides: 2 })),
      /^conv2d\(\): unknown option "strides" \(did you mean "stride"\?\)/,
    ],
    [
      () => nn.convTranspose2d(img, k, loose({ output_padding: 1 })),
      /did you mean "outputPadding"/,
    ],
    [() => nn.maxPool2d(img, loose(2)), /^maxPool2d\(\): .*got number 2/],
    [() => nn.maxPool2d(img, loose({ window: 2, strides: 1 })), /did you mean "stride"/],
    [() => nn.avgPool2d(img, loose({ window: 2, count_include_pad: true })), /"countIncludePad"/],
    [() => nn.globalAvgPool2d(img, loose(true)), /^globalAvgPool2d\(\): .*got boolean true/],
    [() => nn.layers.dense(10, loose("relu")), /^dense\(\): .*got string relu/],
    [
      () => nn.layers.batchNorm(loose({ epsilon: 1e-3 })),
      /^batchNorm\(\): unknown option "epsilon"/,
    ],
    [
      () => nn.layers.conv2d(loose({ outChannels: 4, kernelSize: 3, filters: 4 })),
      /^conv2d\(\): unknown option "filters"/,
    ],
    [() => nn.layers.maxPool2d(loose({ window: 2, strides: 2 })), /did you mean "stride"/],
    [
      () => nn.mlp(loose({ inputSize: 4, hiddenSizes: [3], outputSize: 2, activations: "relu" })),
      /^nn\.mlp\(\): unknown option "activations" \(did you mean "activation"\?\)/,
    ],
    [() => nn.l2Penalty({ w: k }, loose(0.5)), /^nn\.l2Penalty\(\): .*got number 0\.5/],
    [() => nn.binaryCrossEntropy(k, k, loose(1e-7)), /^nn\.binaryCrossEntropy\(\): /],
    [() => lax.convGeneralDilated(img, k, loose({ strides: [1, 1] })), /"windowStrides"/],
    [() => lax.reduceWindow(k, 0, "sum", [2, 2], [1, 1], "VALID", loose(2)), /^reduceWindow\(\): /],
    [() => lax.scan((c: number) => [c, c], 0, null, loose(3)), /^lax\.scan\(\): .*got number 3/],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => e instanceof TypeError && re.test((e as Error).message));
  }
  // Valid options as before, layers' options passed on to their ops included.
  assert.deepEqual(nn.conv2d(img, k, { stride: 2, padding: 1 }).shape, [1, 1, 3, 3]);
  assert.deepEqual(nn.maxPool2d(img, { window: 2, stride: 1 }).shape, [1, 1, 4, 4]);
  const conv = nn.layers.conv2d({ outChannels: 2, kernelSize: 3, stride: 2 });
  const { params } = conv.init(random.key(0), [1, 5, 5]);
  assert.deepEqual(conv.apply(params, null, img)[0].shape, [1, 2, 2, 2]);
  const pool = nn.layers.avgPool2d({ window: 2, countIncludePad: false });
  assert.deepEqual(pool.apply(null, null, img)[0].shape, [1, 1, 2, 2]);
});

Deno.test('a boolean option given anything but true or false throws ("false" was truthy: kept the axis, transposed)', () => {
  const a = tensor([[1, 2], [3, 4]]);
  const cases: [string, () => unknown][] = [
    ["sum", () => sum(a, 0, { keepdims: "false" as unknown as boolean })],
    ["cumsum", () => cumsum(a, 0, { reverse: "no" as unknown as boolean })],
    ["matmul", () => matmul(a, a, { transposeA: 1 as unknown as boolean })],
    [
      "random.choice",
      () => random.choice(random.key(0), 4, [2], { replace: "false" as unknown as boolean }),
    ],
    [
      "avgPool2d",
      () =>
        nn.avgPool2d(ones([1, 2, 2, 1]), {
          window: 2,
          countIncludePad: "false" as unknown as boolean,
        }),
    ],
  ];
  for (const [op, f] of cases) {
    assertThrowsMatch(
      f,
      TypeError,
      new RegExp(`^${op.replace(".", "\\.")}\\(\\): option "\\w+" must be true or false, got `),
    );
  }
  // true and false keep their meaning; undefined is the default.
  assert.deepEqual(sum(a, 0, { keepdims: false }).shape, [2]);
  assert.deepEqual(sum(a, 0, { keepdims: undefined }).shape, [2]);
  assert.deepEqual(matmul(a, a, { transposeA: true }).arraySync(), [[10, 14], [14, 20]]);
});

Deno.test("pad, the data readers, tree.assertSameStructure and ready() check their options (a typo disabled gunzip's cap)", async () => {
  const x = tensor([1, 2, 3]);
  assertThrowsMatch(
    () => pad(x, 1, { vaule: 0 } as never),
    TypeError,
    /^pad\(\): unknown option "vaule" \(did you mean "value"\?\)/,
  );
  assertThrowsMatch(
    () => pad(x, 1, "reflect" as never),
    TypeError,
    /^pad\(\): expected an options object/,
  );
  const bomb = await data.gzip(new Uint8Array(1 << 16));
  await assert.rejects(
    () => data.gunzip(bomb, { maxbytes: 1000 } as never),
    /^TypeError: gunzip\(\): unknown option "maxbytes" \(did you mean "maxBytes"\?\)/,
  );
  await assert.rejects(
    () => data.gunzip(bomb, 1000 as never),
    /^TypeError: gunzip\(\): expected an options object/,
  );
  const idx = data.encodeIdx(new Uint8Array([1, 2]), [2]);
  await assert.rejects(
    () => data.parseIdx(idx, { nmae: "x" } as never),
    /^TypeError: parseIdx\(\): unknown option "nmae"/,
  );
  const tar = data.createTar([{ name: "a.txt", data: new Uint8Array([1]) }]);
  assertThrowsMatch(
    () => data.readTar(tar, { names: ["a.txt"] } as never),
    TypeError,
    /^readTar\(\): unknown option "names"/,
  );
  await assert.rejects(
    () => data.readTarGz(tar, { maxbytes: 1 } as never),
    /^TypeError: readTarGz\(\): unknown option "maxbytes"/,
  );
  assertThrowsMatch(
    () => data.CompactImages.fromBytes(new Uint8Array(4), [1, 4], { normalized: false } as never),
    TypeError,
    /^CompactImages\.fromBytes\(\): unknown option "normalized" \(did you mean "normalize"\?\)/,
  );
  assertThrowsMatch(
    () => tree.assertSameStructure([1], [2], { foo: 1 } as never),
    TypeError,
    /^tree\.assertSameStructure\(\): options are \{ op, root \}, got the unknown option "foo"/,
  );
  await assert.rejects(
    () => ready("cpu" as never),
    /^TypeError: ready\(\): expected an options object such as \{ backend: "cpu" \}, got string cpu/,
  );
  await assert.rejects(
    () => ready({ backed: "cpu" } as never),
    /^TypeError: ready\(\): .*the unknown option "backed"/,
  );
  // Valid options still work.
  assert.deepEqual(pad(x, 1, { value: 9 }).arraySync(), [9, 1, 2, 3, 9]);
  assert.equal((await data.gunzip(bomb, { maxBytes: 1 << 16 })).length, 1 << 16);
});

Deno.test("an options object where the axis goes, and full() of a non-number, are TypeErrors naming the op", () => {
  const a = ones([2, 3]);
  assertThrowsMatch(
    () => sum(a, { keepdims: true } as never),
    TypeError,
    /^sum\(\): axis must be a number, an array of numbers or null \(all axes\), got an object; options come after it, e\.g\. sum\(x, null, \{ keepdims: true \}\)$/,
  );
  assertThrowsMatch(() => mean(a, { axis: 0 } as never), TypeError, /^mean\(\): axis must be/);
  assertThrowsMatch(
    () => variance(a, true as never),
    TypeError,
    /^variance\(\): axis must be .* got boolean true/,
  );
  for (const v of ["a", null, undefined, [1, 2], {}, "3"]) {
    assertThrowsMatch(
      () => full([2], v as never),
      TypeError,
      /^full\(\): the fill value must be a number or a boolean, got /,
    );
  }
  assert.deepEqual(full([2], true).arraySync(), [1, 1]);
  assert.deepEqual(sum(a, [0, 1]).arraySync(), 6);
});

Deno.test("arguments of the wrong kind are TypeErrors naming the op (they were JS internals: 'x is not iterable')", () => {
  const a = ones([2, 3]);
  const cases: [RegExp, () => unknown][] = [
    [/^squeeze\(\): axis must be a number or an array/, () => squeeze(a, null as never)],
    [/^transpose\(\): axes must be an array/, () => transpose(a, 1 as never)],
    [
      /^take\(\): indices must be an int32 tensor, an array of integers or an integer, got null/,
      () => take(a, null as never),
    ],
    [
      /^split\(\): expected a number of equal sections or an array of split indices, got null/,
      () => split(a, null as never),
    ],
    [
      /^zerosLike\(\): expected a Tensor .* got an array of length 2; for a shape use zeros\(shape\)/,
      () => zerosLike([1, 2] as never),
    ],
    [
      /^onesLike\(\): expected a Tensor .* got null; for a shape use ones\(shape\)/,
      () => onesLike(null as never),
    ],
    [
      /^random\.choice\(\): size must be a number or a shape array, got undefined/,
      () => (random.choice as (...a: unknown[]) => unknown)(random.key(0), 5),
    ],
    [
      /^lax\.switch\(\): branches must be a non-empty array of functions, got the function f/,
      () => {
        const f = (x: unknown) => x;
        return lax.switch(0, f as never, a);
      },
    ],
    [
      /^nn\.layers\.activation\(\): expected the function to apply .* got string relu/,
      () => nn.layers.activation("relu" as never),
    ],
  ];
  for (const [re, f] of cases) {
    assert.throws(
      f,
      (e: unknown) => e instanceof TypeError && re.test((e as Error).message),
      String(re),
    );
  }
});

Deno.test("errors name the op called, not the one it is built on", () => {
  const a = ones([2, 2]);
  const key = random.key(0);
  const cases: [RegExp, () => unknown][] = [
    [/^pad\(\): value must be a number, got string a$/, () => pad(a, 1, { value: "a" as never })],
    [/^oneHot\(\): unknown dtype "x"/, () => oneHot([0, 1], 2, { dtype: "x" as never })],
    [
      /^nn\.leakyRelu\(\): alpha \(the slope below 0\) must be a number, got string 0\.1/,
      () => nn.leakyRelu(a, "0.1" as never),
    ],
    [
      /^random\.choice\(\): n \(draws are from 0\.\.n-1\) must be a positive integer, got number 0$/,
      () => random.choice(key, 0, [3]),
    ],
    [
      /^random\.bernoulli\(\): p of shape \[2\] does not broadcast to the shape \[3\] asked for$/,
      () => random.bernoulli(key, tensor([0.1, 0.9]), [3]),
    ],
    [
      /^trainValidSplit\(\): key is missing/,
      () => data.trainValidSplit({ x: ones([10, 2]) }, { validFraction: 0.2 } as never),
    ],
    [
      /^hessian\(\): argnums 2 is out of range/,
      () => hessian((x: Tensor, _y: Tensor) => sum(x), { argnums: 2 })(a, a),
    ],
    [
      /^eye\(\): the number of columns must be a number, got an object with keys \[dtype\]; options come third/,
      () => eye(3, { dtype: "int32" } as never),
    ],
    [
      /^einsum\("ij,jk"\): dtype mismatch: float32 and float64;/,
      () => einsum("ij,jk", a, ones([2, 2], { dtype: "float64" })),
    ],
    [
      /^take\(\): index 0 is out of bounds for an axis of size 0 \(it has no elements\)$/,
      () => take(zeros([0, 3]), [0]),
    ],
    [
      /^lax\.cond\(\): trueFn must be a function, got null$/,
      () => lax.cond(tensor(true), null as never, (x: Tensor) => x, a),
    ],
    [
      /^maxPool2d\(\): padding must be a number, .* got "full"$/,
      () => nn.maxPool2d(ones([1, 1, 4, 4]), { window: 2, padding: "full" as never }),
    ],
  ];
  for (const [re, f] of cases) {
    assert.throws(f, (e: unknown) => e instanceof Error && re.test(e.message), String(re));
  }
  // Pooling takes conv2d's lowercase "same" and "valid" too.
  const x = ones([1, 1, 5, 5]);
  assert.deepEqual(
    nn.maxPool2d(x, { window: 2, padding: "same" }).shape,
    nn.maxPool2d(x, { window: 2, padding: "SAME" }).shape,
  );
  assert.deepEqual(nn.avgPool2d(x, { window: 2, padding: "valid" }).shape, [1, 1, 2, 2]);
});
