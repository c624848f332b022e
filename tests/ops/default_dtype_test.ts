/**
 * setDefaultDType / getDefaultDType: every creation path and plain-number
 * conversion that defaulted to float32 follows the default; explicit dtypes,
 * integer ranges, booleans and typed arrays with a dtype of their own do
 * not; the book's float64 gradient descent comes out of plain `tensor()`;
 * backends that cannot store the default say so. Every test restores the
 * default in a `finally` block.
 */

import assert from "node:assert/strict";
import {
  add,
  arange,
  cast,
  CpuBackend,
  deserializeSafetensors,
  type DType,
  DTypeError,
  eye,
  full,
  getDefaultDType,
  grad,
  jit,
  linspace,
  mean,
  nn,
  oneHot,
  ones,
  random,
  serializeSafetensors,
  setDefaultDType,
  sum,
  type Tensor,
  tensor,
  zeros,
} from "../../mod.ts";
import { main as gradientDescent } from "../../examples/gradient_descent.ts";
import { onBackend } from "../_helpers.ts";
import { assertThrowsMatch } from "./_helpers.ts";

function withDefault<R>(dtype: "float32" | "float64", body: () => R): R {
  const before = setDefaultDType(dtype);
  try {
    return body();
  } finally {
    setDefaultDType(before);
  }
}

/** Every creation path that takes its float dtype from the default. */
function made(): Record<string, Tensor> {
  const k = random.key(0);
  const dense = nn.layers.dense(3).init(k, [2]).params;
  const net = nn.mlp({ inputSize: 2, hiddenSizes: [3], outputSize: 1, batchNorm: true }).init(k, [
    2,
  ]);
  return {
    "tensor(number)": tensor(1.5),
    "tensor(nested)": tensor([[1, 2], [3, 4]]),
    "tensor(Uint8Array)": tensor(new Uint8Array([1, 2])),
    zeros: zeros([2]),
    ones: ones([2]),
    full: full([2], 0.1),
    "arange(floats)": arange(0, 1, 0.25),
    linspace: linspace(0, 1, 3),
    eye: eye(2),
    oneHot: oneHot([0, 1], 2),
    "add(number, number)": add(1, 0.1),
    "random.uniform": random.uniform(k, [2]),
    "random.normal": random.normal(k, [2]),
    "random.bernoulli": random.bernoulli(k, 0.5, [2]).cast(getDefaultDType()),
    "nn.init.he": nn.init.he()(k, [2, 2]),
    "nn.init.zeros": nn.init.zeros(k, [2]),
    "nn.layers.dense w": dense.w,
    "nn.mlp w": net.params[0].w,
    "nn.mlp batchNorm": net.params[1].gamma,
    "nn.mlp running mean": net.state[1].mean,
  };
}

Deno.test("the default dtype starts as float32 and setDefaultDType returns the previous one", () => {
  assert.equal(getDefaultDType(), "float32");
  const before = setDefaultDType("float64");
  try {
    assert.equal(before, "float32");
    assert.equal(getDefaultDType(), "float64");
    assert.equal(setDefaultDType("float64"), "float64");
  } finally {
    setDefaultDType(before);
  }
  assert.equal(getDefaultDType(), "float32");
});

Deno.test("creation functions, plain numbers, random, nn.init and layers follow the default", () => {
  for (const [name, t] of Object.entries(made())) assert.equal(t.dtype, "float32", name);
  withDefault("float64", () => {
    for (const [name, t] of Object.entries(made())) assert.equal(t.dtype, "float64", name);
    // float64 keeps what float32 would round: 0.1 and 1/3 exactly as JS numbers
    assert.deepEqual([...tensor([0.1, 1 / 3]).dataSync()], [0.1, 1 / 3]);
    assert.equal(full([1], 0.1).dataSync()[0], 0.1);
    assert.equal(mean(linspace(0, 1, 4)).dataSync()[0], 0.5);
  });
});

Deno.test("explicit dtypes, integer ranges, booleans and typed arrays keep their own dtype", () => {
  withDefault("float64", () => {
    const cases: [Tensor, DType][] = [
      [tensor([1, 2], { dtype: "float32" }), "float32"],
      [zeros([2], { dtype: "int32" }), "int32"],
      [arange(4), "int32"],
      [tensor([true, false]), "bool"],
      [full([1], true), "bool"],
      [tensor(new Float32Array([1])), "float32"],
      [tensor(new Int32Array([1])), "int32"],
      [random.normal(random.key(0), [2], { dtype: "float32" }), "float32"],
      [add(tensor([1], { dtype: "float32" }), 0.1), "float32"], // a number takes the tensor's dtype
    ];
    cases.forEach(([t, want], i) => assert.equal(t.dtype, want, `case ${i}`));
  });
});

Deno.test("setDefaultDType('float64') gives the book's gradient descent numbers without dtype arguments", () => {
  // The example passes { dtype: "float64" } explicitly; its end point is the book's
  // NumPy result, x = (-3, 4)·0.8¹⁰⁰ = [-6.111107929003464e-10, 8.148143905337951e-10].
  const book = gradientDescent();
  assert.deepEqual(book.final, [-6.111107929003464e-10, 8.148143905337951e-10]);
  const run = () => {
    const df = grad((x: Tensor) => sum(x.square()));
    let x = tensor([-3, 4]); // no dtype
    for (let i = 0; i < 100; i++) x = x.sub(df(x).mul(0.1));
    return { dtype: x.dtype, final: [...x.dataSync()] };
  };
  const f32 = run();
  assert.equal(f32.dtype, "float32");
  // NumPy in float32 ends at [-6.111108286077638e-10, 8.148147156994412e-10]: not the book's
  assert.notDeepEqual(f32.final, book.final);
  const f64 = withDefault("float64", run);
  assert.equal(f64.dtype, "float64");
  assert.deepEqual(f64.final, book.final);
});

/** The CPU kernels on a backend that stores no float64 (as WebGPU). */
class NoFloat64Backend extends CpuBackend {
  override readonly name = "nofloat64";
  override readonly dtypes: readonly DType[] = ["float32", "int32", "bool"];
}

Deno.test("a backend without float64 refuses it as the default, and says where it came from", async () => {
  assertThrowsMatch(
    () => setDefaultDType("int32" as "float32"),
    DTypeError,
    /setDefaultDType\(\): the default dtype must be "float32" or "float64", got "int32"/,
  );
  await onBackend("nofloat64", new NoFloat64Backend(), () => {
    assertThrowsMatch(
      () => setDefaultDType("float64"),
      DTypeError,
      /setDefaultDType\(\): the current backend \(nofloat64\) cannot store float64 .*setBackend\("cpu"\)/,
    );
    assert.equal(getDefaultDType(), "float32");
  });
  // set on a backend that has float64, then switch to one that has not
  const before = setDefaultDType("float64");
  try {
    await onBackend("nofloat64", new NoFloat64Backend(), () => {
      assertThrowsMatch(
        () => zeros([2]),
        DTypeError,
        /zeros\(\): the nofloat64 backend does not support float64 .*float64 is the default dtype, set by setDefaultDType\("float64"\)/,
      );
      assertThrowsMatch(
        () => add(1, 2),
        DTypeError,
        /add\(\): the nofloat64 backend cannot store the number 1 as float64 .*setDefaultDType\("float64"\)/,
      );
      assert.equal(zeros([2], { dtype: "float32" }).dtype, "float32");
    });
  } finally {
    setDefaultDType(before);
  }
});

Deno.test("a backend without float64: cast, the random samplers and a template-less checkpoint read name the op", async () => {
  const bytes = await serializeSafetensors({ w: tensor([1, 2]), step: 10 });
  await onBackend("nofloat64", new NoFloat64Backend(), () => {
    const x = tensor([1, 2]);
    for (
      const [f, op] of [
        [() => cast(x, "float64"), "cast"],
        [() => jit((y: Tensor) => cast(y, "float64"))(x), "cast"],
        [() => random.normal(random.key(0), [2], { dtype: "float64" }), "random\\.normal"],
        [() => random.uniform(random.key(0), [2], { dtype: "float64" }), "random\\.uniform"],
      ] as const
    ) {
      assertThrowsMatch(
        f,
        DTypeError,
        new RegExp(
          `^${op}\\(\\): the nofloat64 backend does not support float64 \\(it supports float32, int32, bool\\); ` +
            `use float32, or setBackend\\("wasm"\\) or setBackend\\("cpu"\\) for float64$`,
        ),
      );
    }
    // The number leaf is stored as F64: without a template it is an error naming the entry…
    assertThrowsMatch(
      () => deserializeSafetensors(bytes),
      DTypeError,
      /^deserializeSafetensors\(\): entry "step" of the data is F64 \(float64\), which the nofloat64 backend cannot hold .*read it with a template/,
    );
    // …and with one it reads back.
    const back = deserializeSafetensors(bytes, { w: tensor([0, 0]), step: 0 });
    assert.deepEqual([back.w.arraySync(), back.step], [[1, 2], 10]);
  });
});
