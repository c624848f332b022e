import assert from "node:assert/strict";
import {
  deserializeSafetensors,
  readSafetensorsHeader,
  serializeSafetensors,
} from "../../src/checkpoint/mod.ts";
import { tensor, zeros } from "../../src/ops/mod.ts";
import * as random from "../../src/random/random.ts";
import { Tensor } from "../../src/core/tensor.ts";
import * as tree from "../../src/tree/tree.ts";

/** Builds a safetensors file by hand: u64 LE header length, header text, data. */
function build(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Little-endian bytes written one value at a time with a DataView. */
function le(kind: "f32" | "f64" | "i32" | "u16" | "u8", values: number[]): Uint8Array {
  const size = { f32: 4, f64: 8, i32: 4, u16: 2, u8: 1 }[kind];
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (kind === "f32") dv.setFloat32(i * size, v, true);
    else if (kind === "f64") dv.setFloat64(i * size, v, true);
    else if (kind === "i32") dv.setInt32(i * size, v, true);
    else if (kind === "u16") dv.setUint16(i * size, v, true);
    else dv.setUint8(i, v);
  });
  return out;
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function headerOf(bytes: Uint8Array): { n: number; text: string } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { n, text: new TextDecoder().decode(bytes.subarray(8, 8 + n)) };
}

async function assertTensor(t: unknown, dtype: string, shape: number[], values: number[]) {
  assert.ok(t instanceof Tensor, `expected a tensor, got ${typeof t}`);
  assert.equal(t.dtype, dtype);
  assert.deepEqual(t.shape, shape);
  const got = [...await t.data()];
  assert.equal(got.length, values.length);
  for (let i = 0; i < values.length; i++) {
    assert.ok(Object.is(got[i], values[i]), `element ${i}: got ${got[i]}, want ${values[i]}`);
  }
}

const SPECIAL = [
  0,
  -0,
  1.5,
  -2.25,
  Infinity,
  -Infinity,
  3.4028234663852886e38,
  1.401298464324817e-45,
];

Deno.test("safetensors: exact round trip of float32, float64, int32 and bool (with and without template)", async () => {
  const f64 = [1 / 3, -1e300, 5e-324, Math.PI, -0, Infinity];
  const params = {
    f32: tensor(new Float32Array([...SPECIAL, NaN]), { shape: [3, 3] }),
    f64: tensor(new Float64Array(f64), { shape: [2, 3] }),
    i32: tensor([2147483647, -2147483648, 0, 7], { dtype: "int32" }),
    bool: tensor([true, false, true]),
    scalar: tensor(2.5),
    empty: zeros([0, 4]),
  };
  const bytes = await serializeSafetensors(params);
  const header = readSafetensorsHeader(bytes);
  assert.deepEqual(
    Object.fromEntries(Object.entries(header.tensors).map(([k, v]) => [k, [v.dtype, v.shape]])),
    {
      bool: ["BOOL", [3]],
      empty: ["F32", [0, 4]],
      f32: ["F32", [3, 3]],
      f64: ["F64", [2, 3]],
      i32: ["I32", [4]],
      scalar: ["F32", []],
    },
  );
  assert.deepEqual(header.metadata, {});

  const want: [string, string, number[], number[]][] = [
    ["f32", "float32", [3, 3], [...SPECIAL, NaN]],
    ["f64", "float64", [2, 3], f64],
    ["i32", "int32", [4], [2147483647, -2147483648, 0, 7]],
    ["bool", "bool", [3], [1, 0, 1]],
    ["scalar", "float32", [], [2.5]],
    ["empty", "float32", [0, 4], []],
  ];
  const { tensors, metadata } = deserializeSafetensors(bytes);
  assert.deepEqual(metadata, {});
  for (const [name, dtype, shape, values] of want) {
    await assertTensor(tensors[name], dtype, shape, values);
  }
  const template = {
    f32: zeros([3, 3]),
    f64: zeros([2, 3], { dtype: "float64" }),
    i32: zeros([4], { dtype: "int32" }),
    bool: zeros([3], { dtype: "bool" }),
    scalar: zeros([]),
    empty: zeros([0, 4]),
  };
  const restored = deserializeSafetensors(bytes, template);
  for (const [name, dtype, shape, values] of want) {
    await assertTensor(restored[name as keyof typeof restored], dtype, shape, values);
  }
  // the inputs are untouched
  assert.deepEqual([...await params.i32.data()], [2147483647, -2147483648, 0, 7]);
  assert.deepEqual([...await template.i32.data()], [0, 0, 0, 0]);
});

Deno.test("safetensors: layout follows the spec (8-byte aligned data, aligned tensors, no holes)", async () => {
  const bytes = await serializeSafetensors({
    a: tensor([true]),
    b: tensor([1], { dtype: "int32" }),
    c: tensor([1], { dtype: "float64" }),
    d: tensor([1, 2, 3]),
    e: tensor([1], { dtype: "float64" }),
  }, { dtype: undefined });
  const { n, text } = headerOf(bytes);
  assert.equal((8 + n) % 8, 0);
  assert.match(text, /^\{.*\} *$/);
  const header = JSON.parse(text);
  const sizes: Record<string, number> = { F64: 8, F32: 4, I32: 4, BOOL: 1 };
  const spans = Object.entries(header).map(([name, e]) => {
    const { dtype, data_offsets: [b, end] } = e as { dtype: string; data_offsets: number[] };
    assert.equal(b % sizes[dtype], 0, `${name} starts at ${b}`);
    return [b, end];
  }).sort((x, y) => x[0] - y[0]);
  let pos = 0;
  for (const [b, e] of spans) {
    assert.equal(b, pos);
    pos = e;
  }
  assert.equal(bytes.length, 8 + n + pos);
  // widest first, then by name
  assert.deepEqual(header.c.data_offsets, [0, 8]);
  assert.deepEqual(header.e.data_offsets, [8, 16]);
  assert.deepEqual(header.a.data_offsets, [32, 33]);
});

Deno.test("safetensors: float16 storage (round to nearest even, overflow to ±Infinity)", async () => {
  // NumPy: np.array(v, np.float32).astype(np.float16)
  const v = [
    1 / 3,
    0.1,
    65504,
    65519,
    65520,
    70000,
    -70000,
    2049,
    2051,
    1e-8,
    6e-8,
    -0,
    1.00146484375, // halfway between 0x3c01 and 0x3c02: ties to even
    3.14159,
  ];
  const h = [
    0.333251953125,
    0.0999755859375,
    65504,
    65504,
    Infinity,
    Infinity,
    -Infinity,
    2048,
    2052,
    0,
    5.960464477539063e-8,
    -0,
    1.001953125,
    3.140625,
  ];
  // NumPy: .view(np.uint16)
  const bits = [
    0x3555,
    0x2e66,
    0x7bff,
    0x7bff,
    0x7c00,
    0x7c00,
    0xfc00,
    0x6800,
    0x6802,
    0x0000,
    0x0001,
    0x8000,
    0x3c02,
    0x4248,
  ];
  const bytes = await serializeSafetensors({ w: tensor(v) }, { dtype: "float16" });
  const header = readSafetensorsHeader(bytes);
  assert.deepEqual(header.tensors.w, { dtype: "F16", shape: [14], dataOffsets: [0, 28] });
  const { n } = headerOf(bytes);
  assert.deepEqual([...new Uint16Array(bytes.slice(8 + n).buffer)], bits);
  await assertTensor(deserializeSafetensors(bytes).tensors.w, "float32", [14], h);
  // upcast to a float64 template too
  await assertTensor(
    deserializeSafetensors(bytes, { w: zeros([14], { dtype: "float64" }) }).w,
    "float64",
    [14],
    h,
  );
});

Deno.test("safetensors: float16 round trip error is at most 2^-11 relative; half the bytes of float32", async () => {
  const x = random.normal(random.key(7), [64, 32], { std: 3 });
  const y = random.normal(random.key(8), [100], { dtype: "float64" });
  const f16 = await serializeSafetensors({ x, y }, { dtype: "float16" });
  const f32 = await serializeSafetensors({ x, y }, { dtype: "float32" });
  const full = await serializeSafetensors({ x, y });
  assert.equal(readSafetensorsHeader(f16).tensors.y.dtype, "F16");
  assert.equal(readSafetensorsHeader(f32).tensors.y.dtype, "F32");
  assert.equal(readSafetensorsHeader(full).tensors.y.dtype, "F64");
  const dataBytes = (b: Uint8Array) => b.length - 8 - headerOf(b).n;
  assert.equal(dataBytes(f16), (64 * 32 + 100) * 2);
  assert.equal(dataBytes(f32), (64 * 32 + 100) * 4);
  const back = deserializeSafetensors(f16, {
    x: zeros([64, 32]),
    y: zeros([100], { dtype: "float64" }),
  });
  assert.equal(back.y.dtype, "float64");
  for (const [orig, got] of [[x, back.x], [y, back.y]]) {
    const a = await orig.data(), b = await got.data();
    for (let i = 0; i < a.length; i++) {
      const tol = Math.abs(a[i]) >= 6.103515625e-5 ? 2 ** -11 * Math.abs(a[i]) : 2 ** -25;
      assert.ok(Math.abs(a[i] - b[i]) <= tol, `element ${i}: ${a[i]} became ${b[i]}`);
    }
  }
  // int32 and bool are never converted
  const mixed = await serializeSafetensors(
    { i: tensor([70000], { dtype: "int32" }), m: tensor([true]) },
    { dtype: "float16" },
  );
  assert.deepEqual(
    Object.values(readSafetensorsHeader(mixed).tensors).map((e) => e.dtype).sort(),
    ["BOOL", "I32"],
  );
});

Deno.test("safetensors: nested params and optimizer-like state with numbers, names from key paths", async () => {
  const k = random.split(random.key(0), 4);
  const params = {
    layers: [
      { w: random.normal(k[0], [3, 4]), b: zeros([4]) },
      { w: random.normal(k[1], [4, 2]), b: zeros([2]) },
    ],
  };
  const mu = tree.map((p: Tensor) => random.normal(k[2], p.shape), params);
  const nu = tree.map((p: Tensor) => random.normal(k[3], p.shape), params);
  const state = {
    params,
    optState: [{ count: 3, mu, nu }, {}, null, [], undefined],
    step: 1200,
    "my key": { "x.y": tensor([1]) },
  };
  const bytes = await serializeSafetensors(state);
  const header = readSafetensorsHeader(bytes);
  assert.deepEqual(Object.keys(header.tensors).sort(), [
    "my key.x.y",
    "optState.0.count",
    "optState.0.mu.layers.0.b",
    "optState.0.mu.layers.0.w",
    "optState.0.mu.layers.1.b",
    "optState.0.mu.layers.1.w",
    "optState.0.nu.layers.0.b",
    "optState.0.nu.layers.0.w",
    "optState.0.nu.layers.1.b",
    "optState.0.nu.layers.1.w",
    "params.layers.0.b",
    "params.layers.0.w",
    "params.layers.1.b",
    "params.layers.1.w",
    "step",
  ]);
  assert.deepEqual(
    header.tensors.step,
    header.tensors.step.dtype === "F64" ? header.tensors.step : null,
  );
  assert.deepEqual(header.tensors.step.shape, []);
  assert.deepEqual(JSON.parse(header.metadata["gradus.numbers"]).sort(), [
    "optState.0.count",
    "step",
  ]);

  const zerosLike = (t: Tensor) => zeros(t.shape, { dtype: t.dtype });
  const template = {
    params: tree.map(zerosLike, params),
    optState: [
      { count: 0, mu: tree.map(zerosLike, mu), nu: tree.map(zerosLike, nu) },
      {},
      null,
      [],
      undefined,
    ],
    step: 0,
    "my key": { "x.y": zeros([1]) },
  };
  const restored = deserializeSafetensors(bytes, template);
  assert.ok(tree.equalStructure(restored, state));
  assert.equal(restored.step, 1200);
  assert.equal((restored.optState[0] as { count: number }).count, 3);
  const [a] = tree.flatten(state);
  const [b] = tree.flatten(restored);
  for (let i = 0; i < a.length; i++) {
    if (typeof a[i] === "number") assert.equal(b[i], a[i]);
    else assert.deepEqual(await (b[i] as Tensor).array(), await (a[i] as Tensor).array());
  }
});

Deno.test("safetensors: template mismatches give one error listing every problem", async () => {
  const bytes = await serializeSafetensors({
    layers: [{ w: zeros([2, 3]), b: zeros([3]) }, { w: zeros([3, 1]), b: zeros([1]) }],
    step: 5,
    mask: tensor([true, false]),
  });
  const template = {
    layers: [{ w: zeros([2, 4]), b: zeros([3]) }, { w: zeros([3, 1]) }, { w: zeros([1, 1]) }],
    step: zeros([1]),
    mask: zeros([2]),
  };
  assert.throws(
    () => deserializeSafetensors(bytes, template),
    (e: Error) => {
      assert.equal(
        e.message,
        [
          "deserializeSafetensors(): the data does not match the template (5 problems):",
          '  - shape mismatch: "layers.0.w" is [2,3] in the data, [2,4] in the template',
          '  - missing from the data: "layers.2.w" (the template has float32 [1,1])',
          '  - dtype mismatch: "mask" is BOOL in the data, the template has float32',
          '  - shape mismatch: "step" is [] in the data, [1] in the template',
          '  - unexpected in the data: "layers.1.b" (F32 [1]) is not in the template',
          "Names are key paths joined with dots (layers.0.w); read it without a template to see what it holds.",
        ].join("\n"),
      );
      return true;
    },
  );
  // numbers: a number leaf needs a 0-d numeric entry
  const withNumbers = await serializeSafetensors({ a: zeros([2]), m: tensor(true) });
  assert.throws(
    () => deserializeSafetensors(withNumbers, { a: 0, m: 0 }),
    (e: Error) =>
      e.message.includes(
        `shape mismatch: "a" is [2] in the data, but the template has a number ([])`,
      ) &&
      e.message.includes(`dtype mismatch: "m" is BOOL in the data, the template has a number`),
  );
  // a template leaf that is neither a tensor nor a number
  assert.throws(
    () => deserializeSafetensors(withNumbers, { a: zeros([2]), m: "x" }),
    /template leaf "m" is a string \("x"\); expected a tensor or a number/,
  );
  // many problems are summarized
  const many = await serializeSafetensors(
    Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`t${i}`, 1])),
  );
  assert.throws(
    () => deserializeSafetensors(many, { other: 0 }),
    /\(31 problems\):[\s\S]*… and 11 more/,
  );
});

Deno.test("safetensors: serialization rejects what it cannot store", async () => {
  await assert.rejects(
    () => serializeSafetensors({ a: "x", b: [true], c: { d: 1 }, "c.d": 2, ok: tensor([1]) }),
    (e: Error) => {
      assert.equal(
        e.message,
        [
          "serializeSafetensors(): cannot store this tree (3 problems):",
          '  - "a" is a string ("x"); only tensors and numbers can be stored (null and undefined subtrees are skipped)',
          '  - "b.0" is a boolean (true); only tensors and numbers can be stored (null and undefined subtrees are skipped)',
          '  - the name "c.d" is given to more than one leaf (keys with dots?)',
        ].join("\n"),
      );
      return true;
    },
  );
  await assert.rejects(
    () => serializeSafetensors(tensor([1])),
    /got a single leaf; wrap it, e\.g\. \{ weight: t \}/,
  );
  await assert.rejects(
    () => serializeSafetensors({ __metadata__: tensor([1]) }),
    /"__metadata__" is reserved/,
  );
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => serializeSafetensors({ a: tensor([1]) }, { dtype: "bfloat16" as any }),
    /dtype must be "float32" or "float16"/,
  );
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => serializeSafetensors({ a: tensor([1]) }, { metadata: { epoch: 3 as any } }),
    /metadata values must be strings, got number 3 for "epoch"/,
  );
  // an empty tree is a valid (empty) file
  const empty = await serializeSafetensors({ nothing: null });
  assert.deepEqual(deserializeSafetensors(empty), { tensors: {}, metadata: {} });
  assert.deepEqual(deserializeSafetensors(empty, { nothing: null }), { nothing: null });
});

Deno.test("safetensors: metadata round trip", async () => {
  const metadata = { format: "pt", note: 'héllo ✓ "quoted"', "": "empty key", __proto__x: "y" };
  const bytes = await serializeSafetensors({ w: tensor([1]), step: 2 }, { metadata });
  const got = deserializeSafetensors(bytes).metadata;
  assert.deepEqual(got, { ...metadata, "gradus.numbers": '["step"]' });
  assert.deepEqual(readSafetensorsHeader(bytes).metadata, got);
  // gradus.numbers is managed by gradus: a stale value is replaced, or dropped
  const resaved = await serializeSafetensors({ w: tensor([1]) }, { metadata: got });
  assert.equal(readSafetensorsHeader(resaved).metadata["gradus.numbers"], undefined);
  assert.equal(readSafetensorsHeader(resaved).metadata.note, metadata.note);
  // a "__proto__" key is kept as an ordinary key
  const proto = build(
    '{"__metadata__":{"__proto__":"p"},"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
    new Uint8Array([9]),
  );
  const c = deserializeSafetensors(proto);
  assert.deepEqual(Object.keys(c.metadata), ["__proto__"]);
  assert.deepEqual(Object.keys(c.tensors), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(c.tensors), Object.prototype);
});

Deno.test("safetensors: reads a file written by hand from the spec", async () => {
  // Header text as another writer might produce it: other key order, spaces,
  // __metadata__ last, padding with trailing spaces; tensors in any order.
  const data = concatBytes(
    le("f32", [1, -2.5, 3.25, 0.125, 1e-3, -7]), // w: F32 [2, 3], bytes 0–24
    le("u16", [0x3e00, 0xc000, 0x7bff, 0x2e66]), // h: F16 [4] = 1.5, -2, 65504, 0.0999755859375, 24–32
    le("f64", [Math.E]), // s: F64 [], 32–40
    le("i32", [-1, 2, 2147483647]), // i: I32 [3], 40–52
    le("u16", [0x3f80, 0xc020, 0x4049]), // bf: BF16 [3] = 1, -2.5, 3.140625, 52–58
    le("u8", [1, 0, 1, 1]), // m: BOOL [2, 2], 58–62
    le("u8", [255, 0]), // u: U8 [2], 62–64
  );
  const header = `{
    "m": {"shape": [2, 2], "dtype": "BOOL", "data_offsets": [58, 62]},
    "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
    "h": {"dtype": "F16", "shape": [4], "data_offsets": [24, 32]},
    "s": {"dtype": "F64", "shape": [], "data_offsets": [32, 40]},
    "i": {"dtype": "I32", "shape": [3], "data_offsets": [40, 52]},
    "bf": {"dtype": "BF16", "shape": [3], "data_offsets": [52, 58]},
    "u": {"dtype": "U8", "shape": [2], "data_offsets": [62, 64]},
    "__metadata__": {"format": "pt"}
  }       `;
  const bytes = build(header, data);
  const { tensors, metadata } = deserializeSafetensors(bytes);
  assert.deepEqual(metadata, { format: "pt" });
  await assertTensor(tensors.w, "float32", [2, 3], [
    1,
    -2.5,
    3.25,
    Math.fround(0.125),
    Math.fround(1e-3),
    -7,
  ]);
  await assertTensor(tensors.h, "float32", [4], [1.5, -2, 65504, 0.0999755859375]);
  await assertTensor(tensors.s, "float64", [], [Math.E]);
  await assertTensor(tensors.i, "int32", [3], [-1, 2, 2147483647]);
  await assertTensor(tensors.bf, "float32", [3], [1, -2.5, 3.140625]);
  await assertTensor(tensors.m, "bool", [2, 2], [1, 0, 1, 1]);
  await assertTensor(tensors.u, "int32", [2], [255, 0]);
  // with a template: F64 into float32, number leaves from 0-d tensors
  const restored = deserializeSafetensors(bytes, {
    w: zeros([2, 3], { dtype: "float64" }),
    h: zeros([4]),
    s: 0,
    i: zeros([3], { dtype: "int32" }),
    bf: zeros([3]),
    m: zeros([2, 2], { dtype: "bool" }),
    u: zeros([2], { dtype: "int32" }),
  });
  assert.equal(restored.s, Math.E);
  await assertTensor(restored.w, "float64", [2, 3], [
    1,
    -2.5,
    3.25,
    Math.fround(0.125),
    Math.fround(1e-3),
    -7,
  ]);
  // bytes inside a larger buffer at an odd offset work too
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  await assertTensor(deserializeSafetensors(shifted.subarray(3)).tensors.h, "float32", [4], [
    1.5,
    -2,
    65504,
    0.0999755859375,
  ]);
});

Deno.test("safetensors: truncated and corrupt bytes give clear errors", async () => {
  const good = await serializeSafetensors({
    a: tensor([1, 2, 3]),
    b: tensor([4], { dtype: "int32" }),
  });
  const { n } = headerOf(good);
  const op = "deserializeSafetensors(): the data";
  const cases: [Uint8Array, string][] = [
    [
      good.subarray(0, 5),
      `${op} is too short to be safetensors: 5 bytes, but it starts with an 8-byte header length`,
    ],
    [
      good.subarray(0, 8 + n - 4),
      `${op} is truncated: the header length says ${n} bytes, but only ${
        n - 4
      } follow the 8-byte prefix (or it is not a safetensors file)`,
    ],
    [
      good.subarray(0, good.length - 3),
      `${op} is truncated: the header says 16 bytes of tensor data, found 13`,
    ],
    [
      concatBytes(good, new Uint8Array(5)),
      `${op} has 5 unexpected bytes after the tensor data (the header says 16 bytes, found 21); it is corrupt`,
    ],
    [
      concatBytes(le("u8", [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), new Uint8Array(8)),
      `${op} has a bad header length: 9223372036854775807 bytes (expected 2 to 100000000); it is not a safetensors file, or it is corrupt`,
    ],
    [
      // Python: struct.unpack("<Q", b"PK\x03\x04 thi")[0] == 7595448452415441744
      new TextEncoder().encode("PK\x03\x04 this is a zip file"),
      `${op} has a bad header length: 7595448452415441744 bytes (expected 2 to 100000000); it is not a safetensors file, or it is corrupt`,
    ],
    [build('{"a": '), `${op} has an invalid header: not valid JSON (`],
    [
      build("[1, 2]"),
      `${op} has an invalid header: expected a JSON object, got an array of length 2`,
    ],
    [
      concatBytes(le("u8", [2, 0, 0, 0, 0, 0, 0, 0]), new Uint8Array([0xc3, 0x28])),
      `${op} has an invalid header: it is not UTF-8 text`,
    ],
    [
      build('{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', new Uint8Array(1)),
      `${op} has tensor "a" of unknown dtype "F8_E4M3"; gradus reads F16, BF16, F32, F64, I8, U8, I16, U16, I32, BOOL`,
    ],
    [
      build('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', new Uint8Array(4)),
      `${op} has an invalid header: tensor "a" has an invalid shape [-1]`,
    ],
    [
      build('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', new Uint8Array(4)),
      `${op} has an invalid header: tensor "a" has invalid data_offsets [4,0] (expected [begin, end] with 0 <= begin <= end)`,
    ],
    [
      build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', new Uint8Array(4)),
      `${op} has an invalid header: tensor "a" (F32 [2]) needs 8 bytes, but its data_offsets [0, 4] span 4`,
    ],
    [
      build(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        new Uint8Array(8),
      ),
      `${op} has an invalid header: tensors "a" [0, 8] and "b" [4, 8] overlap`,
    ],
    [
      build('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)),
      `${op} has an invalid header: bytes [0, 4) of the tensor data belong to no tensor`,
    ],
    [
      build('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4000]}}', new Uint8Array(8)),
      `${op} has an invalid header: tensor "a" (F32 [1]) needs 4 bytes, but its data_offsets [0, 4000] span 4000`,
    ],
    [
      build('{"a":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}}', new Uint8Array(1000)),
      `${op} is truncated: the header says 4000 bytes of tensor data, found 1000`,
    ],
    [
      build('{"__metadata__":{"epoch":3}}'),
      `${op} has an invalid header: __metadata__ must map strings to strings, but "epoch" is number 3`,
    ],
    [
      build('{"a":[1]}'),
      `${op} has an invalid header: the entry "a" must be an object, got an array of length 1`,
    ],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => deserializeSafetensors(bytes), (e: Error) => {
      assert.ok(e.message.startsWith(message), `got:  ${e.message}\nwant: ${message}`);
      return true;
    });
    // with a template too: the file is checked before the template
    assert.throws(
      () => deserializeSafetensors(bytes, { a: zeros([3]) }),
      (e: Error) => e.message.startsWith(message),
    );
  }
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => deserializeSafetensors([1, 2, 3] as any),
    /^TypeError: deserializeSafetensors\(\): expected the bytes as a Uint8Array, got an array of length 3$/,
  );
});

Deno.test("serializeSafetensors: a positional dtype or a misspelt option throws", async () => {
  // deno-lint-ignore no-explicit-any
  const loose = (v: unknown): any => v;
  await assert.rejects(
    () => serializeSafetensors({ w: zeros([2]) }, loose("float16")),
    /^TypeError: serializeSafetensors\(\): expected an options object such as \{ dtype: "float16"/,
  );
  await assert.rejects(
    () => serializeSafetensors({ w: zeros([2]) }, loose({ dType: "float16" })),
    /unknown option "dType" \(did you mean "dtype"\?\)/,
  );
});
