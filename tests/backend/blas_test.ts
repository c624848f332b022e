/**
 * Native matrix products (src/backend/wasm/blas.ts): finding the library
 * without prompting, and products in it against a float64 reference and
 * against the WebAssembly GEMM.
 *
 * Tolerance for float32: the worst-case bound of a float32 dot product of
 * length k in any summation order (Higham, γ_k ≤ 2·k·u for k·u ≤ 1/2),
 * |c − ref| ≤ 2 · k · 2⁻²⁴ · Σₚ |aᵢₚ · bₚⱼ|, ref and Σ|a·b| in float64 from
 * the same float32 inputs; for float64 the same bound with u = 2⁻⁵³.
 *
 * The in-process tests need `--allow-ffi` and a library; `.ci/run`
 * installs OpenBLAS and sets `GRADUS_EXPECT_BLAS=1`, which makes its
 * absence a failure rather than a skip.
 */

import assert from "node:assert/strict";
import type { MatmulSpec } from "../../src/backend/backend.ts";
import { WasmBackend } from "../../src/backend/wasm/wasm_backend.ts";
import { blasInfo, grad, jit, matmul, random, sum, type Tensor, tensor } from "../../mod.ts";
import { lcg, onBackend } from "../_helpers.ts";

const info = blasInfo();
/** An environment variable where the `env` permission is granted (never prompts). */
const envVar = (variable: string): string | undefined =>
  Deno.permissions.querySync({ name: "env", variable }).state === "granted"
    ? Deno.env.get(variable)
    : undefined;
const turnedOff = envVar("GRADUS_BLAS") === "off";

Deno.test("blas: active where CI installed a library, off where GRADUS_BLAS=off", () => {
  if (turnedOff) {
    assert.equal(info.active, false);
    assert.match(info.reason, /turned off by GRADUS_BLAS=off/);
  } else if (envVar("GRADUS_EXPECT_BLAS") === "1") {
    assert.ok(info.active, `expected a native BLAS: ${info.reason}`);
  }
  assert.equal(typeof info.reason, "string");
  if (info.active) {
    assert.ok(info.threads >= 1 && info.threads <= navigator.hardwareConcurrency);
    assert.ok(info.library !== null && info.vendor !== null);
  }
});

/**
 * Runs a script importing mod.ts in a fresh `deno run` with `flags` (stdin
 * closed: a prompt would fail the run); returns blasInfo() there.
 */
async function infoIn(
  flags: string[],
  env: Record<string, string> = {},
): Promise<{ active: boolean; reason: string; tried: string[]; library: string | null }> {
  const mod = new URL("../../mod.ts", import.meta.url).href;
  const dir = await Deno.makeTempDir();
  const script = `${dir}/info.ts`;
  await Deno.writeTextFile(
    script,
    `import { blasInfo } from "${mod}"; console.log(JSON.stringify(blasInfo()));`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--allow-read", "--allow-env", ...flags, script],
    env: { GRADUS_BLAS: "", ...env }, // not this process's setting
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(text);
}

Deno.test("blas: without --allow-ffi nothing is opened and the reason says how to turn it on", async () => {
  const r = await infoIn([]);
  assert.equal(r.active, false);
  assert.match(r.reason, /ffi permission is not granted: run with --allow-ffi/);
  assert.deepEqual(r.tried, []);
});

Deno.test("blas: GRADUS_BLAS=off turns it off; a missing or reference library is named and skipped", async () => {
  const off = await infoIn(["--allow-ffi"], { GRADUS_BLAS: "off" });
  assert.equal(off.active, false);
  assert.match(off.reason, /turned off by GRADUS_BLAS=off/);
  const missing = await infoIn(["--allow-ffi"], { GRADUS_BLAS: "/nonexistent/libnothing.so" });
  assert.equal(missing.active, false);
  assert.match(
    missing.reason,
    /GRADUS_BLAS names \(\/nonexistent\/libnothing\.so\) cannot be used/,
  );
  assert.match(missing.tried[0], /libnothing\.so: cannot be opened/);
  // Debian's netlib reference BLAS (package libblas3), where installed: ~10× slower than WASM.
  const netlib = `/usr/lib/${Deno.build.arch}-linux-gnu/blas/libblas.so.3`;
  if (await Deno.stat(netlib).then(() => true, () => false)) {
    const r = await infoIn(["--allow-ffi"], { GRADUS_BLAS: netlib });
    assert.equal(r.active, false);
    assert.match(r.tried[0], /not faster than WebAssembly \(a reference BLAS\?\); skipped/);
  }
});

Deno.test("blas: a library whose products are wrong is skipped, not used", async () => {
  // A CBLAS that answers 1 everywhere, as a build that misdetects the CPU might answer nonsense.
  const cc = await new Deno.Command("cc", { args: ["--version"], stdout: "null", stderr: "null" })
    .output().then((o) => o.success, () => false);
  if (!cc) return; // no C compiler on this machine: nothing to build the fake library with
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/wrong.c`,
    `void cblas_sgemm(int o, int ta, int tb, int m, int n, int k, float alpha, const float *a,
       int lda, const float *b, int ldb, float beta, float *c, int ldc) {
       for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) c[i * ldc + j] = 1.0f; }`,
  );
  const lib = `${dir}/libwrong.so`;
  const built = await new Deno.Command("cc", {
    args: ["-shared", "-fPIC", "-o", lib, `${dir}/wrong.c`],
  }).output();
  assert.ok(built.success, new TextDecoder().decode(built.stderr));
  const r = await infoIn(["--allow-ffi"], { GRADUS_BLAS: lib });
  await Deno.remove(dir, { recursive: true });
  assert.equal(r.active, false);
  assert.match(
    r.tried[0],
    /libwrong\.so \(other\): its products disagree with a float64 reference/,
  );
});

/** Values uniform in [-2, 2) of `dtype`'s precision. */
function values(size: number, rng: () => number, f64: boolean): Float32Array | Float64Array {
  const out = f64 ? new Float64Array(size) : new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng() * 4 - 2;
  return out;
}

/** The float64 product and Σ|a·b| per element, for the bound in the module doc. */
function reference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  spec: MatmulSpec,
  aMat: number[],
  bMat: number[],
): { ref: Float64Array; abs: Float64Array } {
  const { m, k, n } = spec, batch = aMat.length;
  const ref = new Float64Array(batch * m * n), abs = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, s2 = 0;
        for (let p = 0; p < k; p++) {
          const x = a[aMat[t] * m * k + (spec.transA ? p * m + i : i * k + p)];
          const y = b[bMat[t] * k * n + (spec.transB ? j * k + p : p * n + j)];
          s += x * y;
          s2 += Math.abs(x * y);
        }
        ref[t * m * n + i * n + j] = s;
        abs[t * m * n + i * n + j] = s2;
      }
    }
  }
  return { ref, abs };
}

const CASES: { name: string; spec: MatmulSpec; aMat: number[]; bMat: number[] }[] = [
  { name: "plain", spec: plain(37, 53, 29), aMat: [0], bMat: [0] },
  { name: "transA", spec: { ...plain(33, 70, 21), transA: true }, aMat: [0], bMat: [0] },
  { name: "transB", spec: { ...plain(19, 64, 45), transB: true }, aMat: [0], bMat: [0] },
  {
    name: "both",
    spec: { ...plain(24, 31, 40), transA: true, transB: true },
    aMat: [0],
    bMat: [0],
  },
  {
    // batch [2, 3]: a broadcast over the last axis, b over the first
    name: "batched, broadcast",
    spec: {
      batchShape: [2, 3],
      aBatchStrides: [1, 0],
      bBatchStrides: [0, 1],
      m: 16,
      k: 20,
      n: 24,
    },
    aMat: [0, 0, 0, 1, 1, 1],
    bMat: [0, 1, 2, 0, 1, 2],
  },
  { name: "MLP shape", spec: { ...plain(100, 784, 100) }, aMat: [0], bMat: [0] },
  {
    // a stack of left matrices times one right matrix (vmap of a layer): one product of all rows
    name: "stacked, shared right matrix",
    spec: { batchShape: [5], aBatchStrides: [1], bBatchStrides: [0], m: 3, k: 40, n: 17 },
    aMat: [0, 1, 2, 3, 4],
    bMat: [0, 0, 0, 0, 0],
  },
  {
    // the same with a transposed right matrix
    name: "stacked, shared transposed right matrix",
    spec: {
      batchShape: [2, 3],
      aBatchStrides: [3, 1],
      bBatchStrides: [0, 0],
      m: 1,
      k: 33,
      n: 9,
      transB: true,
    },
    aMat: [0, 1, 2, 3, 4, 5],
    bMat: [0, 0, 0, 0, 0, 0],
  },
];

function plain(m: number, k: number, n: number): MatmulSpec {
  return { batchShape: [], aBatchStrides: [], bBatchStrides: [], m, k, n };
}

for (const dtype of ["float32", "float64"] as const) {
  Deno.test({
    name: `blas: ${dtype} products in the native library within the rounding bound`,
    ignore: !info.active || (dtype === "float64" && !info.float64),
    fn() {
      const native = new WasmBackend(), wasm = new WasmBackend({ blas: false });
      assert.equal(native.nativeBlas?.info.library, info.library);
      assert.equal(wasm.nativeBlas, null);
      const f64 = dtype === "float64", u = f64 ? 2 ** -53 : 2 ** -24;
      const rng = lcg(7);
      for (const { name, spec, aMat, bMat } of CASES) {
        const { m, k, n } = spec;
        const a = values((Math.max(...aMat) + 1) * m * k, rng, f64);
        const b = values((Math.max(...bMat) + 1) * k * n, rng, f64);
        const { ref, abs } = reference(a, b, spec, aMat, bMat);
        const run = (be: WasmBackend): ArrayLike<number> =>
          // (upload takes ownership of its array: give it copies)
          be.readSync(
            be.matmul(be.upload(a.slice(), dtype), be.upload(b.slice(), dtype), spec, dtype),
            dtype,
            ref.length,
          );
        const got = run(native), other = run(wasm);
        for (let i = 0; i < ref.length; i++) {
          const bound = 2 * k * u * abs[i];
          assert.ok(
            Math.abs(got[i] - ref[i]) <= bound,
            `${name} ${dtype} [${i}]: ${got[i]} vs ${ref[i]} (bound ${bound})`,
          );
          // and the WebAssembly path (the CPU loop for float64) within twice the bound of it
          assert.ok(Math.abs(got[i] - other[i]) <= 2 * bound, `${name}: native vs wasm at ${i}`);
        }
      }
    },
  });
}

Deno.test({
  name: "blas: products whose operands or result do not fit the arena are still right",
  ignore: !info.active,
  fn() {
    // A 256 KiB arena: the 96×128 and 128×112 operands (48 + 56 KiB) and the 42 KiB results of
    // six rounds, all kept, do not fit: later ones live in JS memory, and their products copy
    // through transient blocks or fall back to the CPU kernel. Each must equal the unlimited
    // backend's.
    const small = new WasmBackend({ memoryLimit: 4 * 65536 });
    const big = new WasmBackend();
    const rng = lcg(11);
    const spec = plain(96, 128, 112);
    const kept: unknown[] = [];
    for (let round = 0; round < 6; round++) {
      const a = values(96 * 128, rng, false), b = values(128 * 112, rng, false);
      const run = (be: WasmBackend): ArrayLike<number> => {
        const A = be.upload(a.slice(), "float32"), B = be.upload(b.slice(), "float32");
        const out = be.matmul(A, B, spec, "float32");
        kept.push(A, B, out);
        return be.readSync(out, "float32", 96 * 112);
      };
      const x = run(small), y = run(big);
      for (let i = 0; i < x.length; i++) {
        assert.ok(Math.abs(x[i] - y[i]) <= 1e-4 * (1 + Math.abs(y[i])), `round ${round} [${i}]`);
      }
    }
    // Allocations the arena refused went to JS memory.
    assert.ok(small.memoryStats().failed > 0, "the small arena was full");
  },
});

Deno.test({
  name:
    "blas: gradients and jit through native products equal the WebAssembly GEMM's (float32 rounding)",
  ignore: !info.active,
  async fn() {
    const [k1, k2] = random.split(random.key(3));
    const x = random.normal(k1, [64, 96]), w = random.normal(k2, [96, 48]);
    const loss = (w: Tensor, x: Tensor): Tensor => sum(matmul(x, w).tanh().square());
    const results: Float32Array[] = [];
    for (
      const [name, be] of [["wasm-native", new WasmBackend()], [
        "wasm-gemm",
        new WasmBackend({ blas: false }),
      ]] as const
    ) {
      await onBackend(name, be, async () => {
        const xs = tensor(await x.data(), { shape: x.shape });
        const ws = tensor(await w.data(), { shape: w.shape });
        const eager = grad(loss)(ws, xs), jitted = jit(grad(loss))(ws, xs);
        const e = await eager.data() as Float32Array, j = await jitted.data() as Float32Array;
        assert.deepEqual(j, e, `${name}: jit and eager use the same products`);
        results.push(e);
      });
    }
    const [a, b] = results;
    for (let i = 0; i < a.length; i++) {
      assert.ok(Math.abs(a[i] - b[i]) <= 1e-3 * (1 + Math.abs(b[i])), `grad[${i}]`);
    }
  },
});

Deno.test({
  name:
    "blas: a thread count another user of the library set (a Worker) is put back before a product",
  ignore: !info.active || info.vendor !== "openblas",
  fn() {
    // The same library opened a second time shares the process-wide setting.
    const other = Deno.dlopen(info.library!, {
      openblas_set_num_threads: { parameters: ["i32"], result: "void" },
      openblas_get_num_threads: { parameters: [], result: "i32" },
    });
    try {
      const be = new WasmBackend();
      const run = () => {
        const a = be.upload(new Float32Array(64 * 64).fill(0.5), "float32");
        be.dispose(be.matmul(a, a, plain(64, 64, 64), "float32"));
        be.dispose(a);
      };
      run(); // a small product: one thread
      assert.equal(other.symbols.openblas_get_num_threads(), 1);
      other.symbols.openblas_set_num_threads(2); // someone else's setting
      run();
      assert.equal(other.symbols.openblas_get_num_threads(), 1, "set back to one thread");
    } finally {
      other.close();
    }
  },
});

Deno.test({
  name: "blas: the thread count comes from the environment, not what another Worker left set",
  ignore: !info.active || info.vendor !== "openblas",
  async fn() {
    // A Worker detects the library after another one's narrow product left it at one thread:
    // it took that 1 as the library's own setting, for good (its big products on one thread).
    const mod = new URL("../../mod.ts", import.meta.url).href;
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(
        `${dir}/t.ts`,
        `const lib = Deno.dlopen(${JSON.stringify(info.library)}, {
          openblas_set_num_threads: { parameters: ["i32"], result: "void" },
        });
        lib.symbols.openblas_set_num_threads(1);
        const { blasInfo } = await import(${JSON.stringify(mod)});
        console.log(JSON.stringify([blasInfo().threads, navigator.hardwareConcurrency]));`,
      );
      const run = async (env: Record<string, string>) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--no-config", "--allow-read", "--allow-env", "--allow-ffi", `${dir}/t.ts`],
          env: { GRADUS_BLAS: "", OPENBLAS_NUM_THREADS: "", OMP_NUM_THREADS: "", ...env },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        return JSON.parse(new TextDecoder().decode(out.stdout)) as [number, number];
      };
      const [threads, cores] = await run({});
      assert.equal(threads, cores, "every core: no variable limits the library");
      assert.deepEqual(await run({ OPENBLAS_NUM_THREADS: "1" }), [1, cores], "the variable's 1");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
