/**
 * Every backend's opcode tables are total: a `Record<Op, …>` with one row
 * per opcode of `UNARY_OPS` / `BINARY_OPS`, where `"fallback"` (the CPU loop
 * on the same memory) is an explicit value, never an omission. A table
 * missing a row fails `deno check` (the `@ts-expect-error` lines below show
 * it: without the error they expect, `deno check` fails on the unused
 * directive). At run time every row must name something that exists and
 * computes its opcode: a JS expression on `cpu`, an export of the kernel
 * module on `wasm`, a WGSL kernel on `webgpu` (where an adapter exists).
 *
 * Values are compared against the `cpu` backend (the float64 reference,
 * whose results `cpu_backend_test.ts` checks against closed forms): a row
 * that names the wrong kernel (say `sub` for `add`) gives values far
 * outside the tolerance.
 */

import assert from "node:assert/strict";
import {
  type Backend,
  BINARY_OPS,
  type BinaryOp,
  COMPARISONS,
  type DataHandle,
  UNARY_OPS,
  type UnaryOp,
} from "../../src/backend/backend.ts";
import { CpuBackend } from "../../src/backend/cpu/cpu_backend.ts";
import { BINARY as CPU_BINARY, UNARY as CPU_UNARY } from "../../src/backend/cpu/kernels.ts";
import {
  BINARY as WASM_BINARY,
  UNARY as WASM_UNARY,
  WasmBackend,
  type WasmKernel,
} from "../../src/backend/wasm/wasm_backend.ts";
import { WasmKernels } from "../../src/backend/wasm/kernels/module.ts";
import { binaryOpKernel, unaryOpKernel } from "../../src/backend/ir/ops.ts";
import { WebGpuBackend } from "../../src/backend/webgpu/webgpu_backend.ts";
import { allocArray, type DType } from "../../src/core/dtype.ts";

const cpu = new CpuBackend();

/** The dtypes the ops layer sends with a unary opcode (`UnaryOp`'s contract). */
function unaryDtypes(op: UnaryOp): DType[] {
  if (op === "logicalNot") return ["bool"];
  if (op === "neg" || op === "abs" || op === "sign" || op === "square") {
    return ["float32", "float64", "int32"];
  }
  return ["float32", "float64"];
}

/** The dtypes the ops layer sends with a binary opcode (`BinaryOp`'s contract). */
function binaryDtypes(op: BinaryOp): DType[] {
  if (op === "logicalAnd" || op === "logicalOr") return ["bool"];
  if (COMPARISONS.has(op)) return ["float32", "float64", "int32", "bool"];
  if (op === "div") return ["float32", "float64"];
  return ["float32", "float64", "int32"];
}

/** Inputs of each dtype: in every float op's domain somewhere, with both signs. */
const INPUTS: { readonly [D in DType]: readonly (readonly number[])[] } = {
  float32: [[0.3, 1.75, -0.4, 2.5, 0, -3], [0.5, 1.75, -2, 0.25, 3, 2]],
  float64: [[0.3, 1.75, -0.4, 2.5, 0, -3], [0.5, 1.75, -2, 0.25, 3, 2]],
  int32: [[3, -7, 0, 46341, 5, -2], [2, -7, 4, 3, 5, 1]],
  bool: [[1, 0, 1, 0, 1, 1], [1, 1, 0, 0, 0, 1]],
};

/** Runs a unary opcode on `INPUTS[dtype][0]`. */
function unaryOn(b: Backend, op: UnaryOp, dtype: DType): DataHandle {
  const x = b.upload(allocArray(dtype, 6).map((_, i) => INPUTS[dtype][0][i]), dtype);
  return b.unary({ op, x, size: 6, dtype });
}

/** Runs a binary opcode on `INPUTS[dtype]` (both operands contiguous). */
function binaryOn(b: Backend, op: BinaryOp, dtype: DType): DataHandle {
  const [a, c] = INPUTS[dtype].map((v) =>
    b.upload(allocArray(dtype, 6).map((_, i) => v[i]), dtype)
  );
  return b.binary({ op, a, aStrides: [1], b: c, bStrides: [1], outShape: [6], dtype });
}

/** Equal within `rel` of the larger magnitude (float32 ops are within a few ulp), NaN = NaN. */
function assertNear(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, msg: string) {
  assert.equal(got.length, want.length, msg);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (g !== g && w !== w) continue;
    const tol = rel * Math.max(Math.abs(w), 1e-30);
    assert.ok(g === w || Math.abs(g - w) <= tol, `${msg}: element ${i}: got ${g}, want ${w}`);
  }
}

/**
 * Every opcode on every dtype it is sent with (that `b` stores) gives the
 * cpu backend's values: exactly, or within 1e-6 relative for float32.
 */
async function assertEveryOpMatchesCpu(b: Backend): Promise<void> {
  const on = (d: DType) => b.dtypes.includes(d);
  const check = async (y: DataHandle, want: DataHandle, out: DType, msg: string) => {
    const got = await b.read(y, out, 6);
    assertNear(got, cpu.readSync(want, out, 6), out === "float32" ? 1e-6 : 0, msg);
  };
  for (const op of UNARY_OPS) {
    for (const dtype of unaryDtypes(op).filter(on)) {
      const out = op === "logicalNot" ? "bool" : dtype;
      await check(unaryOn(b, op, dtype), unaryOn(cpu, op, dtype), out, `${op}(${dtype})`);
    }
  }
  for (const op of BINARY_OPS) {
    for (const dtype of binaryDtypes(op).filter(on)) {
      const out = COMPARISONS.has(op) ? "bool" : dtype;
      await check(binaryOn(b, op, dtype), binaryOn(cpu, op, dtype), out, `${op}(${dtype})`);
    }
  }
}

/** The cpu backend's values of `run` as an array. */
function cpuValues(run: (b: Backend) => DataHandle, out: DType): number[] {
  return [...cpu.readSync(run(cpu), out, 6)];
}

Deno.test("a table without a row for an opcode, or with a misspelt kernel, fails deno check", () => {
  const { logicalNot: _cpu, ...cpuRest } = CPU_UNARY;
  // @ts-expect-error: no "logicalNot" row, so this is not a Record<UnaryOp, …>
  const cpuMissing: Record<UnaryOp, readonly [string, string?]> = cpuRest;
  const { pow: _wasm, ...wasmRest } = WASM_BINARY;
  // @ts-expect-error: no "pow" row
  const wasmMissing: Record<BinaryOp, readonly [WasmKernel, WasmKernel, WasmKernel]> = wasmRest;
  const wasmUnary: Record<UnaryOp, readonly [WasmKernel, WasmKernel]> = {
    ...WASM_UNARY,
    // @ts-expect-error: "fallback" is written out, never left undefined
    sin: [undefined, "fallback"],
    // @ts-expect-error: a row is "ir" (the opcode's IR kernel) or "fallback"
    cos: ["no_such_kernel", "fallback"],
  };
  assert.equal(Object.keys(cpuMissing).length, UNARY_OPS.length - 1);
  assert.equal(Object.keys(wasmMissing).length, BINARY_OPS.length - 1);
  assert.equal(Object.keys(wasmUnary).length, UNARY_OPS.length);
});

Deno.test("cpu: a row per opcode, and each row computes its opcode", async () => {
  assert.deepEqual(Object.keys(CPU_UNARY).sort(), [...UNARY_OPS].sort());
  assert.deepEqual(Object.keys(CPU_BINARY).sort(), [...BINARY_OPS].sort());
  // Spot values that tell the rows apart (the full checks are in cpu_backend_test.ts).
  assert.deepEqual(cpuValues((b) => unaryOn(b, "neg", "int32"), "int32"), [
    -3,
    7,
    0,
    -46341,
    -5,
    2,
  ]);
  assert.deepEqual(cpuValues((b) => unaryOn(b, "logicalNot", "bool"), "bool"), [0, 1, 0, 1, 0, 0]);
  assert.deepEqual(cpuValues((b) => binaryOn(b, "sub", "int32"), "int32"), [
    1,
    0,
    -4,
    46338,
    0,
    -3,
  ]);
  assert.deepEqual(cpuValues((b) => binaryOn(b, "logicalOr", "bool"), "bool"), [1, 1, 1, 0, 1, 1]);
  assert.deepEqual(cpuValues((b) => binaryOn(b, "greaterEqual", "float64"), "bool"), [
    0,
    1,
    1,
    1,
    0,
    0,
  ]);
  // Every row compiles and runs on every dtype its opcode is sent with.
  await assertEveryOpMatchesCpu(cpu);
});

Deno.test("wasm: a row per opcode; each IR row compiles and computes its opcode", async () => {
  assert.deepEqual(Object.keys(WASM_UNARY).sort(), [...UNARY_OPS].sort());
  assert.deepEqual(Object.keys(WASM_BINARY).sort(), [...BINARY_OPS].sort());
  const memory = new WebAssembly.Memory({ initial: 1 });
  const kernels = WasmKernels.create(memory, { shared: false, maxPages: 0 });
  assert.ok(kernels !== null, "WebAssembly SIMD is available");
  const dtypes = ["float32", "int32", "bool"] as const;
  let compiled = 0;
  for (const [op, row] of Object.entries(WASM_UNARY) as [UnaryOp, readonly WasmKernel[]][]) {
    row.forEach((k, i) => {
      if (k === "ir") {
        compiled += +(typeof kernels.elementwise(unaryOpKernel(op, dtypes[i])) === "function");
      }
    });
  }
  for (const [op, row] of Object.entries(WASM_BINARY) as [BinaryOp, readonly WasmKernel[]][]) {
    row.forEach((k, i) => {
      if (k === "ir") {
        compiled += +(typeof kernels.elementwise(binaryOpKernel(op, dtypes[i])) === "function");
      }
    });
  }
  // At least one opcode per kind runs in WebAssembly, so the loop below compares kernels.
  assert.ok(compiled >= 40, `${compiled} IR rows compiled`);

  await assertEveryOpMatchesCpu(new WasmBackend());
});

const gpu: WebGpuBackend | null = await WebGpuBackend.create().catch(() => null);

Deno.test({
  name: "webgpu: every opcode runs on every dtype it is sent with, and computes its opcode",
  ignore: gpu === null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => assertEveryOpMatchesCpu(gpu!),
});
