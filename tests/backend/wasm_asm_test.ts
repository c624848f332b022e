/**
 * The typed WebAssembly assembler (src/backend/wasm/asm/): type errors at
 * the emitting instruction, function and block results, calls by handle,
 * structured control flow run against closed forms, the WAT dump, validation
 * failures as errors, and LEB128 corners (expected bytes from the
 * specification's encoding rule, worked by hand: 624485 = 0b100110_0001110_1100101
 * → E5 8E 26; −123456 → C0 BB 78, the classic examples).
 *
 * Independent check of the signature rules: every instruction of the
 * opcode tables is emitted with operands of the types its rule derives,
 * and the engine's own validator (`WebAssembly.validate`) must accept the
 * module, while the same instruction with one operand of a wrong type must
 * be rejected by the assembler.
 */

import assert from "node:assert/strict";
import {
  AsmError,
  compileChecked,
  F32,
  F64,
  I32,
  I64,
  type Label,
  type PlainOp,
  sleb,
  sleb64,
  uleb,
  V128,
  type ValType,
  wasmFeatures,
  type WasmFunction,
  WasmModule,
} from "../../src/backend/wasm/asm/mod.ts";
import { LANE_OPS, MEM_OPS, PLAIN_OPS } from "../../src/backend/wasm/asm/opcodes.ts";
import { laneSignature, memType, numericSignature } from "../../src/backend/wasm/asm/signatures.ts";

const memoryImport = { module: "env", field: "memory", minPages: 1 };

/** Pushes a zero of type `t`. */
function zero(f: WasmFunction, t: ValType): void {
  if (t === I32) f.i32(0);
  else if (t === I64) f.i64(0n);
  else if (t === F32) f.f32(0);
  else if (t === F64) f.f64(0);
  else f.v128Const(new Uint8Array(16));
}

Deno.test("asm: a type error throws at the emitting instruction, naming function, instruction, types", () => {
  const mod = new WasmModule();
  const f = mod.func("pack_a", { params: { k: I32 } });
  const acc = f.local("acc", V128);
  f.get(f.args.k).get(acc);
  assert.throws(
    () => f.op("f32x4.add"),
    (e: unknown) =>
      e instanceof AsmError &&
      e.message === "asm: pack_a: f32x4.add needs [v128, v128], stack has [i32, v128]",
  );
  // Deeper stacks are elided at the bottom.
  f.get(f.args.k).get(acc);
  assert.throws(
    () => f.op("f32x4.add"),
    { message: "asm: pack_a: f32x4.add needs [v128, v128], stack has [… i32, v128]" },
  );
  assert.throws(() => f.set(acc).op("i32.add"), {
    message: "asm: pack_a: i32.add needs [i32, i32], stack has [… v128, i32]",
  });
  // The stack trace's top frame in this file is the emitting line.
  let stack = "";
  const g = mod.func("g", {});
  try {
    g.f32(1).i32(2).op("f32.mul"); // <- line of the error
  } catch (e) {
    stack = (e as Error).stack ?? "";
  }
  const line = stack.split("\n").find((l) => l.includes("wasm_asm_test.ts")) ?? "";
  const src = Deno.readTextFileSync(new URL(import.meta.url)).split("\n");
  const at = Number(/wasm_asm_test\.ts:(\d+):/.exec(line)?.[1]);
  assert.ok(src[at - 1]?.includes("<- line of the error"), `top frame ${line}`);
  // Wrong local types, locals of other functions, loads without a memory.
  const h = mod.func("h", { params: { x: F32 } });
  assert.throws(() => h.i32(1).set(h.args.x), {
    message: "asm: h: local.set needs [f32], stack has [i32]",
  });
  assert.throws(() => h.get(f.args.k), {
    message: "asm: h: local.get $k: that local belongs to pack_a",
  });
  assert.throws(() => h.i32(0).f32Load(), {
    message: "asm: h: f32.load needs a memory (the module imports none)",
  });
  assert.throws(() => h.lane("f32x4.extract_lane", 4), /lane 4: expected 0 … 3/);
  assert.throws(
    () => h.f32(1).i32(1).i32(0).select(),
    {
      message:
        "asm: h: select needs [t, t, i32] (two operands of one type), stack has [… f32, i32, i32]",
    },
  );
});

Deno.test("asm: functions and blocks must end with exactly their results", () => {
  const mod = new WasmModule();
  const f = mod.func("f", { results: [F32] });
  f.i32(1);
  assert.throws(() => f.end(), {
    message: "asm: f: the function ends with [i32], expected its results [f32]",
  });
  // build() ends unended functions, so the same check names the function there.
  assert.throws(() => mod.build(), /asm: f: the function ends with \[i32\]/);
  const g = new WasmModule().func("g", { results: [I32] });
  assert.throws(() => g.block([I32], () => void g.i32(1).i32(2)), {
    message: "asm: g: block $b0 ends with [i32, i32], expected [i32]",
  });
  const h = new WasmModule().func("h", { results: [I32] });
  assert.throws(() => h.i32(1).if([I32], () => void h.i32(2)), /needs an else branch/);
  // After `unreachable` (or a branch) the rest of the block is polymorphic.
  const u = new WasmModule().func("u", { results: [F32] });
  u.unreachable().op("f32x4.add").drop();
  u.end();
  // Anything after end is an error.
  assert.throws(() => u.i32(0), { message: "asm: u: i32.const after the function's end" });
});

Deno.test("asm: calls by handle work across functions declared in any order", () => {
  const mod = new WasmModule();
  const main = mod.func("main", { params: { x: I32 }, results: [I32], export: true });
  const later = mod.func("later", { params: { a: I32, b: I32 }, results: [I32] });
  const sq = mod.func("sq", { params: { v: I32 }, results: [I32] });
  // main(x) = later(sq(x), 3) = x² − 3; later is declared before its body, sq after later.
  main.get(main.args.x).call(sq).i32(3).call(later);
  later.get(later.args.a).get(later.args.b).op("i32.sub");
  sq.get(sq.args.v).get(sq.args.v).op("i32.mul");
  const ex = new WebAssembly.Instance(mod.compile()).exports as { main(x: number): number };
  assert.equal(ex.main(7), 46);
  assert.equal(ex.main(-5), 22);
  // A called function's signature is fixed: no params after the first call.
  assert.throws(() => later.param("c", I32), /after the signature was used/);
  // Arguments are type-checked against the callee.
  const bad = mod.func("bad", {});
  assert.throws(() => bad.f32(1).call(sq), {
    message: "asm: bad: call needs [i32], stack has [f32]",
  });
});

Deno.test("asm: a module with loops, blocks, if/else, br_table and hoisted constants gives right numbers", () => {
  const mod = new WasmModule({ memoryImport });
  // oddSquares(n) = Σ_{i < n, i odd} i² (closed form for n = 2m: (4m³ − m)/3)
  const odd = mod.func("oddSquares", { params: { n: I32 }, results: [I32], export: true });
  const { i, s } = odd.locals({ i: I32, s: I32 });
  odd.forLoop(i, { from: 0, to: odd.args.n }, () => {
    odd.get(i).i32(1).op("i32.and");
    odd.if(() => void odd.get(s).get(i).get(i).op("i32.mul").op("i32.add").set(s));
  });
  odd.get(s);
  // classify(x): 10 for x < 0, else a switch: 0 → 20, 1 → 21, others → 29 (br_table).
  const cls = mod.func("classify", { params: { x: I32 }, results: [I32], export: true });
  const { x } = cls.args;
  cls.get(x).i32(0).op("i32.lt_s");
  cls.if([I32], () => void cls.i32(10), () => {
    cls.block([I32], (out: Label) => {
      cls.block((other) =>
        cls.block((one) =>
          cls.block((zeroL) => cls.get(x).brTable([zeroL, one], other)).i32(20).br(out)
        ).i32(21).br(out)
      ).i32(29);
    });
  });
  // countdown(n): loopUntil with an explicit exit; returns the steps (= n).
  const down = mod.func("countdown", { params: { n: I32 }, results: [I32], export: true });
  const steps = down.local("steps", I32);
  down.loopUntil(() => void down.get(down.args.n).op("i32.eqz"), () => {
    down.get(down.args.n).i32(1).op("i32.sub").set(down.args.n);
    down.get(steps).i32(1).op("i32.add").set(steps);
  });
  down.get(steps);
  // axpy(p, n): y[j] = 2.5·x[j] + 1 in f32x4 over n floats (x at p, y at p + 4n),
  // with two equal hoisted constants sharing one local.
  const axpy = mod.func("axpy", { params: { p: I32, n: I32 }, export: true });
  const j = axpy.local("j", I32);
  const a = axpy.hoistF32x4(2.5), one = axpy.hoistF32x4(1), a2 = axpy.hoistF32x4(2.5);
  assert.equal(a, a2, "equal constants share a local");
  axpy.forLoop(j, { from: 0, to: axpy.args.n, step: 4 }, () => {
    const addr = (): WasmFunction =>
      axpy.get(axpy.args.p).get(j).i32(4).op("i32.mul").op("i32.add");
    addr().get(axpy.args.n).i32(4).op("i32.mul").op("i32.add");
    addr().v128Load().get(a).op("f32x4.mul").get(one).op("f32x4.add").v128Store();
  });
  // pair(): a multi-value block [i32, i32] → their difference.
  const pair = mod.func("pair", { results: [I32], export: true });
  pair.block([I32, I32], () => void pair.i32(50).i32(8)).op("i32.sub");
  const memory = new WebAssembly.Memory({ initial: 1 });
  const ex = new WebAssembly.Instance(mod.compile(), { env: { memory } }).exports as {
    oddSquares(n: number): number;
    classify(x: number): number;
    countdown(n: number): number;
    axpy(p: number, n: number): void;
    pair(): number;
  };
  for (const m of [0, 1, 5, 40]) {
    assert.equal(ex.oddSquares(2 * m), (4 * m ** 3 - m) / 3);
  }
  assert.deepEqual([-3, 0, 1, 2, 77].map(ex.classify), [10, 20, 21, 29, 29]);
  assert.equal(ex.countdown(13), 13);
  assert.equal(ex.pair(), 42);
  const heap = new Float32Array(memory.buffer);
  heap.set([1, 2, 3, 4, -1, 0.5, 8, 100], 4);
  ex.axpy(16, 8);
  assert.deepEqual([...heap.subarray(12, 20)], [3.5, 6, 8.5, 11, -1.5, 2.25, 21, 251]);
});

Deno.test("asm: labels are valid only inside their block", () => {
  const f = new WasmModule().func("f", {});
  let saved: Label | undefined;
  f.block((l) => void (saved = l));
  assert.throws(() => f.br(saved as Label), { message: "asm: f: br $b0: not inside that block" });
  f.block([I32], (l) => {
    f.i32(1);
    f.i32(1).brIf(l); // carries the block's i32
    f.drop().f32(2);
    assert.throws(() => f.br(l), { message: "asm: f: br needs [i32], stack has [f32]" });
    f.drop().i32(3);
  });
  f.drop();
  assert.throws(() => f.local("x", I32) && f.local("x", F32), /a local "x" exists already/);
});

Deno.test("asm: toWat names functions, exports, params, locals, labels and calls", () => {
  const mod = new WasmModule({ memoryImport: { ...memoryImport, maxPages: 4, shared: true } });
  const kernel = mod.func("kernel", { params: { ap: I32, kc: I32 } });
  const pack = mod.func("pack_a", { params: { src: I32, k: I32 }, results: [], export: "packA" });
  const acc = pack.local("acc", V128);
  const c = pack.hoistF32x4(0.5);
  pack.forLoop(pack.local("row", I32), { to: pack.args.k }, () => {
    pack.get(pack.args.src).v128Load(16).get(c).op("f32x4.mul").set(acc);
    pack.get(pack.args.src).get(pack.args.k).call(kernel);
  });
  kernel.get(kernel.args.ap).get(kernel.args.kc).op("i32.add").drop();
  const wat = mod.toWat();
  for (
    const want of [
      '(import "env" "memory" (memory 1 4 shared))',
      "(func $kernel (param $ap i32) (param $kc i32)",
      '(func $pack_a (export "packA") (param $src i32) (param $k i32)',
      "(local $acc v128)",
      "(local $row i32)",
      "v128.const f32x4 0.5 ×4",
      "local.set $const0",
      "block $b0",
      "loop $l1",
      "br_if $b0",
      "v128.load offset=16",
      "call $kernel",
      "local.get $k",
    ]
  ) assert.ok(wat.includes(want), `WAT lacks ${want}:\n${wat}`);
  // Instructions inside the loop are indented deeper than the block.
  const lines = wat.split("\n");
  const indent = (s: string): number => (lines.find((l) => l.includes(s)) ?? "").search(/\S/);
  assert.ok(
    indent("call $kernel") > indent("loop $l1") && indent("loop $l1") > indent("block $b0"),
  );
  // The name section carries the same names.
  const m = new WebAssembly.Module(mod.build({ names: true }));
  assert.equal(WebAssembly.Module.customSections(m, "name").length, 1);
  assert.equal(WebAssembly.Module.customSections(mod.compile(), "name").length, 0);
});

Deno.test("asm: a module that fails to validate is an AsmError naming the function", () => {
  const mod = new WasmModule();
  mod.func("ok", {}, (f) => void f.i32(1).drop());
  mod.func("bad", {}, (f) => void f.op("nop"));
  const bytes = mod.build();
  // The last body is [locals 0x00, nop 0x01, end 0x0b]: make the nop an i32.add
  // on an empty stack, which the engine must reject.
  assert.deepEqual([...bytes.slice(-3)], [0x00, 0x01, 0x0b]);
  bytes[bytes.length - 2] = 0x6a;
  assert.throws(
    () => compileChecked(bytes, mod.functions.map((f) => f.name)),
    (e: unknown) =>
      e instanceof AsmError && /does not validate in function bad \(#1\)/.test(e.message),
  );
});

Deno.test("asm: LEB128 corners", () => {
  assert.deepEqual(uleb(0), [0x00]);
  assert.deepEqual(uleb(127), [0x7f]);
  assert.deepEqual(uleb(128), [0x80, 0x01]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(uleb(2 ** 32 - 1), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  for (const bad of [-1, 2 ** 32, 1.5, NaN]) assert.throws(() => uleb(bad), RangeError);
  assert.deepEqual(sleb(0), [0x00]);
  assert.deepEqual(sleb(63), [0x3f]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.deepEqual(sleb(-64), [0x40]);
  assert.deepEqual(sleb(-65), [0xbf, 0x7f]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
  assert.deepEqual(sleb(2 ** 31 - 1), [0xff, 0xff, 0xff, 0xff, 0x07]);
  assert.deepEqual(sleb(-(2 ** 31)), [0x80, 0x80, 0x80, 0x80, 0x78]);
  assert.deepEqual(sleb(2 ** 32 - 1), [0x7f], "read as the i32 −1");
  for (const bad of [2 ** 32, -(2 ** 31) - 1, 0.5]) assert.throws(() => sleb(bad), RangeError);
  assert.deepEqual(sleb64(-1n), [0x7f]);
  assert.deepEqual(sleb64(2n ** 63n - 1n), [...Array(8).fill(0xff), 0xff, 0x00]);
  assert.deepEqual(sleb64(-(2n ** 63n)), [...Array(9).fill(0x80), 0x7f]);
  assert.throws(() => sleb64(2n ** 64n), RangeError);
  // Round trips through the engine: constants at the corners come back as written.
  const mod = new WasmModule();
  const i32s = [0, 63, 64, -64, -65, 2 ** 31 - 1, -(2 ** 31)];
  i32s.forEach((v, k) => mod.func(`c${k}`, { results: [I32], export: true }, (f) => void f.i32(v)));
  const i64s = [2n ** 63n - 1n, -(2n ** 63n), -1n, 1n << 40n];
  i64s.forEach((v, k) => mod.func(`d${k}`, { results: [I64], export: true }, (f) => void f.i64(v)));
  const ex = new WebAssembly.Instance(mod.compile()).exports as Record<
    string,
    () => number | bigint
  >;
  assert.deepEqual(i32s.map((_, k) => ex[`c${k}`]()), i32s);
  assert.deepEqual(i64s.map((_, k) => ex[`d${k}`]()), i64s);
});

Deno.test("asm: every instruction's derived signature is what the engine validates", () => {
  const features = wasmFeatures();
  assert.ok(features.simd && features.relaxedSimd, "Deno 2 has SIMD and relaxed SIMD");
  const mod = new WasmModule({ memoryImport });
  const control = new Set(["unreachable", "nop", "return", "drop", "select"]);
  let count = 0;
  for (const op of Object.keys(PLAIN_OPS) as PlainOp[]) {
    if (control.has(op)) continue;
    const { pops, pushes } = numericSignature(op);
    mod.func(`op_${count++}_${op}`, {}, (f) => {
      for (const t of pops) zero(f, t);
      f.op(op);
      for (let i = 0; i < pushes.length; i++) f.drop();
    });
    // One operand of a wrong type is caught by the assembler.
    const wrong = new WasmModule().func("w", {});
    for (const [k, t] of pops.entries()) {
      zero(wrong, k === pops.length - 1 ? (t === I32 ? F64 : I32) : t);
    }
    assert.throws(() => wrong.op(op), AsmError, op);
  }
  for (const op of Object.keys(MEM_OPS) as (keyof typeof MEM_OPS)[]) {
    const { type, store } = memType(op);
    mod.func(`mem_${count++}_${op}`, {}, (f) => {
      f.i32(0);
      if (store) zero(f, type);
      f.mem(op, 8);
      if (!store) f.drop();
    });
  }
  for (const op of Object.keys(LANE_OPS) as (keyof typeof LANE_OPS)[]) {
    const { pops, lanes } = laneSignature(op);
    mod.func(`lane_${count++}_${op}`, {}, (f) => {
      for (const t of pops) zero(f, t);
      f.lane(op, lanes - 1).drop();
    });
  }
  for (const bits of [8, 16, 32, 64] as const) {
    mod.func(`lanemem_${count++}_${bits}`, {}, (f) => {
      f.i32(0).i32(0);
      zero(f, V128);
      f.v128LoadLane(bits, 4, 128 / bits - 1).v128StoreLane(bits, 4, 0);
    });
  }
  assert.ok(count > 400, `${count} instructions`);
  mod.compile(); // throws, naming the function, if any rule were wrong
});
