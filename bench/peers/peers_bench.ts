/**
 * gradus against other JavaScript array libraries on the same workloads:
 * float32 matmul 256², 512², 1024², `exp` over 1e6 elements, one eager
 * training step of a 784-100-10 MLP (sigmoid, softmax cross entropy, batch
 * 100, SGD) on synthetic data, and `conv`: forward and backward (the
 * gradients of the kernel and the bias) of the first layers of the book's
 * SimpleConvNet, `sum(maxPool2x2(relu(conv(x, w) + b)))` with x 100×1×28×28
 * and 30 filters 5×5 (stride 1, no padding; pooling 2×2, stride 2). Each group's baseline is gradus on its
 * default backend, `wasm` (tensors in WebAssembly memory, SIMD kernels,
 * big products on two threads); the peers are
 *
 * - gradus `cpu` (every kernel in plain JS, the reference backend),
 * - TensorFlow.js 4.22.0, `cpu` backend (plain JS kernels),
 * - TensorFlow.js 4.22.0, `wasm` backend (XNNPACK, WebAssembly SIMD),
 * - jax-js 0.1.25, `wasm` device (kernels generated at run time; the MLP
 *   step and the conv both eager and under `jit`),
 * - gradus `wasm` with the MLP step (parameters donated) and the conv's
 *   `valueAndGrad` under `jit`,
 * - gradus `wasm` with its products in a native BLAS (eager and `jit`), where
 *   `blasInfo()` finds one (the task runs with `--allow-ffi`; the baseline
 *   keeps them in the WebAssembly GEMM: `new WasmBackend({ blas: false })`).
 *
 * The conv runs in each library's own layout: NCHW/OIHW for gradus
 * (`nn.conv2d`, `nn.maxPool2d`) and jax-js (`lax.convGeneralDilated`,
 * `lax.reduceWindow` with `np.max`), NHWC/HWIO for TF.js (`tf.conv2d`,
 * `tf.maxPool`, `tf.valueAndGrads`; with one input channel NHWC and NCHW
 * hold the same values, and the kernel is the same values transposed).
 * `bench/numpy_conv_reference.py` times the book's im2col layers on it.
 *
 * The peers come from npm, pinned in this folder's `deno.json` and locked in
 * its `deno.lock`: they are not dependencies of gradus. Every input is made from the same seeded values,
 * every call forces its work to finish (gradus and TF.js read one element of
 * the result back; jax-js, which is lazy, awaits `blockUntilReady()`), and
 * each bench selects its backend before starting the timer, so no bench
 * pays for another's backend switch or data move. Every library frees its
 * results and replaced parameters as it goes (TF.js with `tidy`/`dispose`,
 * jax-js by ownership, gradus with `tidy`, `tree.dispose` and `dispose`).
 *
 * Threads: gradus runs matrix products of 128³ and more on two threads
 * (elementwise work on one), TF.js on one thread, jax-js on a pool of
 * `navigator.hardwareConcurrency` workers over a shared memory. TF.js wasm
 * works in Deno offline (once the package is cached): its Node build (what Deno loads) reads
 * `tfjs-backend-wasm-simd.wasm` with `fs.readFileSync` from beside its own
 * module in Deno's npm cache, so no `setWasmPaths` is needed, only
 * `--allow-read`. It picks that single-threaded binary because it sees Node
 * (`IS_NODE`), where it reports no thread support; forcing
 * `WASM_HAS_MULTITHREAD_SUPPORT` fails to initialise in Deno 2.9
 * (`ERR_WORKER_PATH`: TF.js gives Emscripten a `blob:` URL for the pthread
 * worker, which `node:worker_threads` rejects).
 *
 * Run: `deno task bench:peers` (from the repository root; the same as
 * `deno bench --allow-read` in `bench/peers/`), or `deno task bench:report`
 * for a table of ratios. `bench/numpy_reference.py` times the same workloads
 * with NumPy. The first run downloads the peers (TF.js installs `core-js`,
 * whose build script Deno does not run: the warning about it is harmless).
 *
 * @module
 */

// The peers are pinned in this folder's own deno.json (with its own
// deno.lock), never in the library's: the library's tasks (`deno task mnist`,
// `test`, `check`) install nothing, and only this bench downloads the peers.
// TF.js: the umbrella package, not tfjs-core + tfjs-backend-cpu alone. Deno
// loads tfjs-core through its CommonJS bundle (`main`), which registers no
// gradients; they live in `dist/register_all_gradients.js`, an ES module
// whose extensionless relative imports ("./gradients/Abs_grad") Deno does not
// resolve. The umbrella's bundle carries the gradients (and tfjs-backend-cpu),
// sharing tfjs-core's global kernel and gradient registries.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import * as jax from "@jax-js/jax";
import * as gd from "@gradus/core";
import { WasmBackend } from "../../src/backend/wasm/wasm_backend.ts";

// ---------------------------------------------------------------- shared inputs

/** Deterministic float32 values uniform in [lo, hi) from a 32-bit LCG. */
function uniform(size: number, seed: number, lo = -1, hi = 1): Float32Array<ArrayBuffer> {
  let s = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (hi - lo) * (s / 4294967296);
  }
  return out;
}

/** Deterministic normal values (Box–Muller over {@linkcode uniform}) times `std`. */
function normal(size: number, seed: number, std: number): Float32Array<ArrayBuffer> {
  const u = uniform(2 * size, seed, 0, 1);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    out[i] = std * Math.sqrt(-2 * Math.log(1 - u[2 * i])) * Math.cos(2 * Math.PI * u[2 * i + 1]);
  }
  return out;
}

const MATMUL_SIZES = [256, 512, 1024] as const;
const EXP_SIZE = 1_000_000;
const BATCH = 100;
const LR = 0.1;

const matmulData = new Map(
  MATMUL_SIZES.map((n) => [n, { a: uniform(n * n, 1 + n), b: uniform(n * n, 2 + n) }]),
);
const expData = uniform(EXP_SIZE, 3, -4, 4);
const labels = Array.from(uniform(BATCH, 4, 0, 10), (v) => Math.floor(v));
const CONV = { n: 100, h: 28, w: 28, o: 30, k: 5 } as const;
const convData = {
  x: uniform(CONV.n * CONV.h * CONV.w, 8, 0, 1),
  w: normal(CONV.o * CONV.k * CONV.k, 9, 0.01), // OIHW (I = 1)
  b: new Float32Array(CONV.o),
};
const mlpData = {
  x: uniform(BATCH * 784, 5, 0, 1),
  t: Float32Array.from(
    { length: BATCH * 10 },
    (_, i) => labels[Math.floor(i / 10)] === i % 10 ? 1 : 0,
  ),
  w1: normal(784 * 100, 6, 0.01),
  b1: new Float32Array(100),
  w2: normal(100 * 10, 7, 0.01),
  b2: new Float32Array(10),
};

// ---------------------------------------------------------------- the benches

const GROUPS = {
  matmul: (n: number) => `matmul ${n}`,
  exp: "exp 1e6",
  mlp: "mlp step 784-100-10 b100",
  conv: "conv 100x1x28x28 k30x5x5 + relu + pool2",
};

/** One library on one backend: makes each group's workload, then times it. */
interface Peer {
  /** The bench name (library, version, backend, threads). */
  readonly name: string;
  /** Whether this peer is each group's baseline. */
  readonly baseline?: boolean;
  /** Why the peer is skipped, if it is. */
  readonly skip?: string;
  /** Whether its large products take long enough (≥ 0.1 s) to time only a few. */
  readonly slowMatmul?: boolean;
  /** Selects the peer's backend; called before every timed call. */
  select(): Promise<void>;
  /**
   * Each workload makes its inputs and returns the function to time, which
   * returns (or resolves) once the result is ready. A peer without one is
   * left out of that group.
   */
  matmul?(n: number): () => unknown;
  exp?(): () => unknown;
  mlp?(): () => unknown;
  conv?(): () => unknown;
}

/** Fixed counts for the big products: Deno's default sampling would take minutes on the slow ones. */
function iterations(group: string, peer: Peer): { n: number; warmup: number } | object {
  const slow = peer.slowMatmul ?? false;
  if (group === GROUPS.matmul(1024)) return slow ? { n: 3, warmup: 1 } : { n: 10, warmup: 3 };
  if (group === GROUPS.matmul(512)) return slow ? { n: 5, warmup: 1 } : { n: 30, warmup: 3 };
  if (group === GROUPS.conv) return slow ? { n: 3, warmup: 1 } : { n: 50, warmup: 10 };
  return {};
}

type Workload = "matmul" | "exp" | "mlp" | "conv";

const WORKLOADS: [string, Workload, (p: Peer) => (() => unknown) | undefined][] = [
  ...MATMUL_SIZES.map((n): (typeof WORKLOADS)[number] => [
    GROUPS.matmul(n),
    "matmul",
    (p) => p.matmul?.(n),
  ]),
  [GROUPS.exp, "exp", (p) => p.exp?.()],
  [GROUPS.mlp, "mlp", (p) => p.mlp?.()],
  [GROUPS.conv, "conv", (p) => p.conv?.()],
];

/**
 * `--group=TEXT` after `--` (`deno bench … peers_bench.ts -- --group=conv`,
 * or `bench/report.ts --group=conv`) keeps the groups whose name contains
 * TEXT (`deno bench --filter` matches bench names, which repeat across groups).
 */
const GROUP_FILTER = Deno.args.filter((a) => a.startsWith("--group=")).map((a) => a.slice(8));

/**
 * Makes every peer's inputs up front, each on its own backend, then
 * registers the benches. (Up front matters for jax-js: with its inputs made
 * lazily, just before each group ran, after earlier kernels had allocated
 * and freed, its 512² and 1024² products often ran at ~14 GFLOP/s instead of
 * ~55 for the whole run — bimodal from run to run; made up front they were
 * fast in every run.)
 */
async function register(peers: Peer[]): Promise<void> {
  const runs = new Map<string, () => unknown>();
  const workloads = WORKLOADS.filter(([group]) => GROUP_FILTER.every((f) => group.includes(f)));
  for (const peer of peers) {
    if (peer.skip !== undefined) continue;
    await peer.select();
    for (const [group, , make] of workloads) {
      const run = make(peer);
      if (run !== undefined) runs.set(`${group}\0${peer.name}`, run);
    }
  }
  for (const [group, workload] of workloads) {
    for (const peer of peers) {
      if (peer[workload] === undefined) continue;
      Deno.bench({
        name: peer.name,
        group,
        baseline: peer.baseline ?? false,
        ignore: peer.skip !== undefined,
        ...iterations(group, peer),
        async fn(b) {
          const run = runs.get(`${group}\0${peer.name}`)!;
          await peer.select();
          b.start();
          await run();
          b.end();
        },
      });
    }
  }
}

// ---------------------------------------------------------------- gradus

/**
 * Reads the first element back to JS: forces the work without copying the
 * whole result. It awaits the read, as a training loop would: on `wasm`
 * that is where the event loop may turn to free collected tensors' memory.
 */
async function gdReadFirst(t: gd.Tensor): Promise<number> {
  const flat = gd.reshape(t, [-1]), first = gd.slice(flat, [0], [1]);
  const v = (await first.data())[0];
  flat.dispose();
  first.dispose();
  return v;
}

/** Reads the first element of `t`, then frees `t` (as the TF.js and jax-js runs free theirs). */
async function gdReadAndFree(t: gd.Tensor): Promise<number> {
  const v = await gdReadFirst(t);
  t.dispose();
  return v;
}

type GdParams = { w1: gd.Tensor; b1: gd.Tensor; w2: gd.Tensor; b2: gd.Tensor };

/** Softmax cross entropy of a sigmoid MLP, averaged over the batch. */
function gdLoss(p: GdParams, x: gd.Tensor, t: gd.Tensor): gd.Tensor {
  const h = gd.div(1, gd.exp(gd.matmul(x, p.w1).add(p.b1).neg()).add(1));
  const logits = gd.matmul(h, p.w2).add(p.b2);
  return gd.mean(gd.logsumexp(logits, -1).sub(gd.sum(logits.mul(t), -1)));
}

const gdF32 = (values: Float32Array, shape: number[]) => gd.tensor(values, { shape });

/** The MLP's batch and one-hot targets on the current backend. */
function gdMlpInputs(): { x: gd.Tensor; t: gd.Tensor } {
  return { x: gdF32(mlpData.x, [BATCH, 784]), t: gdF32(mlpData.t, [BATCH, 10]) };
}

/** The MLP's initial parameters on the current backend. */
function gdMlpParams(): GdParams {
  return {
    w1: gdF32(mlpData.w1, [784, 100]),
    b1: gdF32(mlpData.b1, [100]),
    w2: gdF32(mlpData.w2, [100, 10]),
    b2: gdF32(mlpData.b2, [10]),
  };
}

type GdConvParams = { w: gd.Tensor; b: gd.Tensor };

/** The conv workload's loss: `sum(maxPool2x2(relu(conv(x, w) + b)))`, NCHW. */
function gdConvLoss(p: GdConvParams, x: gd.Tensor): gd.Tensor {
  const y = gd.nn.conv2d(x, p.w).add(p.b.reshape([1, CONV.o, 1, 1]));
  return gd.sum(gd.nn.maxPool2d(gd.nn.relu(y), { window: 2 }));
}

/** The conv workload's `valueAndGrad` (eager or under `jit`), reading the loss and dW back. */
function gdConv(jit: boolean): () => Promise<number> {
  const x = gdF32(convData.x, [CONV.n, 1, CONV.h, CONV.w]);
  const p = {
    w: gdF32(convData.w, [CONV.o, 1, CONV.k, CONV.k]),
    b: gdF32(convData.b, [CONV.o]),
  };
  const vg = gd.valueAndGrad(gdConvLoss);
  const f = jit ? gd.jit(vg) : vg;
  return async () => {
    const [l, g] = f(p, x);
    await gdReadFirst(g.w);
    gd.tree.dispose(g);
    return gdReadAndFree(l);
  };
}

/** One SGD step: a pure function of (params, x, t), so `jit` can trace it. */
function gdStep(p: GdParams, x: gd.Tensor, t: gd.Tensor): [gd.Tensor, GdParams] {
  const [l, g] = gd.valueAndGrad(gdLoss)(p, x, t);
  return [l, gd.tree.map((w: gd.Tensor, d: gd.Tensor) => w.sub(d.mul(LR)), p, g)];
}

function gradusPeer(
  backend: string,
  name: string,
  extra: Partial<Peer> & { jit?: boolean } = {},
): Peer {
  const f32 = gdF32;
  const select = () => gd.setBackend(backend);
  if (extra.jit) {
    // The MLP step under `jit`, the parameters donated (updated in place).
    return {
      name,
      select,
      mlp() {
        const { x, t } = gdMlpInputs();
        let params = gdMlpParams();
        const step = gd.jit(gdStep, { donateArgnums: [0] });
        return async () => {
          const [l, next] = step(params, x, t);
          params = next;
          await gdReadFirst(params.w1);
          return gdReadAndFree(l);
        };
      },
      conv: () => gdConv(true),
    };
  }
  return {
    name,
    ...extra,
    select,
    matmul(n) {
      const { a, b } = matmulData.get(n as 256)!;
      const ta = f32(a, [n, n]), tb = f32(b, [n, n]);
      return () => gdReadAndFree(gd.matmul(ta, tb));
    },
    exp() {
      const x = f32(expData, [EXP_SIZE]);
      return () => gdReadAndFree(gd.exp(x));
    },
    mlp() {
      const { x, t } = gdMlpInputs();
      let params = gdMlpParams();
      const lossAndGrad = gd.valueAndGrad(gdLoss);
      return async () => {
        const [l, g] = lossAndGrad(params, x, t);
        const next = gd.tidy(() =>
          gd.tree.map((p: gd.Tensor, d: gd.Tensor) => p.sub(d.mul(LR)), params, g)
        );
        gd.tree.dispose([params, g]);
        params = next;
        await gdReadFirst(params.w1);
        return gdReadAndFree(l);
      };
    },
    conv: () => gdConv(false),
  };
}

// ---------------------------------------------------------------- TensorFlow.js

// Production mode skips TF.js's debug checks and its "use tfjs-node" notice.
tf.enableProdMode();

/** Reads the first element back to JS (the cpu and wasm backends run each op when it is called). */
function tfReadFirst(t: tf.Tensor): number {
  const first = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), [0], [1]));
  const v = first.dataSync()[0];
  first.dispose();
  return v;
}

function tfLoss(x: tf.Tensor, t: tf.Tensor) {
  return (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor): tf.Scalar => {
    const h = tf.sigmoid(tf.add(tf.matMul(x, w1), b1));
    const logits = tf.add(tf.matMul(h, w2), b2);
    return tf.mean(tf.sub(tf.logSumExp(logits, -1), tf.sum(tf.mul(logits, t), -1)));
  };
}

/**
 * TF.js on `backend`. TF.js 4.22.0's wasm backend has no
 * `Conv2DBackpropFilter` kernel (the kernel's gradient throws "not
 * registered"), so on wasm the conv workload runs as two separate peers:
 * forward only (`conv: "forward"`), and forward + backward with the kernel's
 * gradient written as a `conv2d` of the input by the output's gradient in a
 * `tf.customGrad` (`conv: "customGrad"`, what a TF.js user on wasm would do:
 * `dW[kh, kw, i, o] = Σ x[n, p + k, i] · dy[n, p, o]` is `conv2d` of the input
 * as `[I, H, W, N]` by `dy` as a `[OH, OW, N, O]` kernel).
 */
function tfPeer(
  backend: "cpu" | "wasm",
  name: string,
  opts: { conv?: "forward" | "customGrad" } = {},
): Peer {
  const f32 = (values: Float32Array, shape: number[]) => tf.tensor(values, shape, "float32");
  const select = async () => {
    if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) {
      throw new Error(`TF.js: backend ${backend} failed to initialise`);
    }
  };
  const convInputs = () => ({
    x: f32(convData.x, [CONV.n, CONV.h, CONV.w, 1]) as tf.Tensor4D, // NHWC (C = 1: NCHW's values)
    w: tf.tidy(() =>
      tf.transpose(f32(convData.w, [CONV.o, 1, CONV.k, CONV.k]), [2, 3, 1, 0])
    ) as tf.Tensor4D, // HWIO
    b: f32(convData.b, [CONV.o]),
  });
  const convLoss = (x: tf.Tensor4D) => (w: tf.Tensor, b: tf.Tensor): tf.Scalar => {
    const y = tf.relu(tf.add(tf.conv2d(x, w as tf.Tensor4D, 1, "valid"), b)) as tf.Tensor4D;
    return tf.sum(tf.maxPool(y, 2, 2, "valid"));
  };
  if (opts.conv === "customGrad") {
    return {
      name,
      select,
      conv() {
        const { x, w, b } = convInputs();
        const xT = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D; // [I, H, W, N]
        // conv2d(x, w) whose gradient in w is a conv2d (x is a constant here)
        const conv = tf.customGrad(
          ((w: tf.Tensor) => {
            return {
              value: tf.conv2d(x, w as tf.Tensor4D, 1, "valid"),
              gradFunc: (dy: tf.Tensor) => {
                const k = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [OH, OW, N, O]
                return [tf.transpose(tf.conv2d(xT, k, 1, "valid"), [1, 2, 0, 3])]; // HWIO
              },
            };
          }) as Parameters<typeof tf.customGrad>[0],
        );
        const lossAndGrads = tf.valueAndGrads((w: tf.Tensor, b: tf.Tensor): tf.Scalar => {
          const y = tf.relu(tf.add(conv(w), b)) as tf.Tensor4D;
          return tf.sum(tf.maxPool(y, 2, 2, "valid"));
        });
        return () => {
          const { value, grads } = lossAndGrads([w, b]);
          tfReadFirst(grads[0]);
          const loss = value.dataSync()[0];
          tf.dispose([value, ...grads]);
          return loss;
        };
      },
    };
  }
  if (opts.conv === "forward") {
    return {
      name,
      select,
      conv() {
        const { x, w, b } = convInputs();
        const loss = convLoss(x);
        return () => {
          const l = tf.tidy(() => loss(w, b));
          const v = l.dataSync()[0];
          l.dispose();
          return v;
        };
      },
    };
  }
  return {
    name,
    slowMatmul: backend === "cpu",
    select,
    matmul(n) {
      const { a, b } = matmulData.get(n as 256)!;
      const ta = f32(a, [n, n]), tb = f32(b, [n, n]);
      return () => {
        const c = tf.matMul(ta, tb);
        const v = tfReadFirst(c);
        c.dispose();
        return v;
      };
    },
    exp() {
      const x = f32(expData, [EXP_SIZE]);
      return () => {
        const y = tf.exp(x);
        const v = tfReadFirst(y);
        y.dispose();
        return v;
      };
    },
    mlp() {
      const x = f32(mlpData.x, [BATCH, 784]);
      const t = f32(mlpData.t, [BATCH, 10]);
      let params = [
        f32(mlpData.w1, [784, 100]),
        f32(mlpData.b1, [100]),
        f32(mlpData.w2, [100, 10]),
        f32(mlpData.b2, [10]),
      ];
      const lossAndGrads = tf.valueAndGrads(tfLoss(x, t));
      return () => {
        const [l, ...next] = tf.tidy(() => {
          const { value, grads } = lossAndGrads(params);
          return [value, ...params.map((p, i) => tf.sub(p, tf.mul(grads[i], LR)))];
        });
        tf.dispose(params);
        params = next;
        tfReadFirst(params[0]);
        const loss = l.dataSync()[0];
        l.dispose();
        return loss;
      };
    },
    ...(backend === "wasm" ? {} : {
      conv() {
        const { x, w, b } = convInputs();
        const params = [w, b];
        const lossAndGrads = tf.valueAndGrads(convLoss(x));
        return () => {
          const { value, grads } = lossAndGrads(params);
          tfReadFirst(grads[0]);
          const loss = value.dataSync()[0];
          tf.dispose([value, ...grads]);
          return loss;
        };
      },
    }),
  };
}

// ---------------------------------------------------------------- jax-js

const np = jax.numpy;
type JxParams = { w1: jax.Array; b1: jax.Array; w2: jax.Array; b2: jax.Array };

/**
 * Softmax cross entropy of a sigmoid MLP. jax-js functions take ownership of
 * their array arguments, so an array used twice is passed once as `.ref`.
 */
function jxLoss(p: JxParams, x: jax.Array, t: jax.Array): jax.Array {
  const h = jax.nn.sigmoid(np.matmul(x, p.w1).add(p.b1));
  const logits = np.matmul(h, p.w2).add(p.b2);
  return np.mean(jax.nn.logsumexp(logits.ref, -1).sub(np.sum(logits.mul(t), -1)));
}

const jxSgd = (p: jax.Array, d: jax.Array) => p.sub(d.mul(LR));

/** One SGD step: a pure function of (params, x, t), so `jit` can trace it. */
function jxStep(p: JxParams, x: jax.Array, t: jax.Array): [jax.Array, JxParams] {
  const [l, g] = jax.valueAndGrad(jxLoss)(jax.tree.ref(p), x, t);
  return [l, jax.tree.map(jxSgd, p, g) as JxParams];
}

type JxConvParams = { w: jax.Array; b: jax.Array };

/** The conv workload's loss, NCHW/OIHW (`reduceWindow` pools the last two axes). */
function jxConvLoss(p: JxConvParams, x: jax.Array): jax.Array {
  const y = jax.lax.convGeneralDilated(x, p.w, [1, 1], "VALID")
    .add(p.b.reshape([1, CONV.o, 1, 1]));
  const pooled = jax.lax.reduceWindow(jax.nn.relu(y), (v: jax.Array) => np.max(v), [2, 2], [2, 2]);
  return np.sum(pooled);
}

const jaxDevices = await jax.init("wasm");

function jaxPeer(name: string, opts: { jit?: boolean } = {}): Peer {
  const f32 = (values: Float32Array<ArrayBuffer>, shape: number[]) =>
    np.array(values, { shape, dtype: np.float32, device: "wasm" });
  const mlp = () => {
    const x = f32(mlpData.x, [BATCH, 784]);
    const t = f32(mlpData.t, [BATCH, 10]);
    let params: JxParams = {
      w1: f32(mlpData.w1, [784, 100]),
      b1: f32(mlpData.b1, [100]),
      w2: f32(mlpData.w2, [100, 10]),
      b2: f32(mlpData.b2, [10]),
    };
    const step = opts.jit ? jax.jit(jxStep) : jxStep;
    return async () => {
      const [l, next] = step(params, x.ref, t.ref);
      params = next;
      await params.w1.blockUntilReady();
      return (await l.data())[0]; // data() consumes l
    };
  };
  const peer: Peer = {
    name,
    ...(jaxDevices.includes("wasm") ? {} : { skip: "jax-js: no wasm device" }),
    select: () => {
      jax.defaultDevice("wasm");
      return Promise.resolve();
    },
    mlp,
    conv() {
      const x = f32(convData.x, [CONV.n, 1, CONV.h, CONV.w]);
      const p: JxConvParams = {
        w: f32(convData.w, [CONV.o, 1, CONV.k, CONV.k]),
        b: f32(convData.b, [CONV.o]),
      };
      const vg = jax.valueAndGrad(jxConvLoss);
      const f = opts.jit ? jax.jit(vg) : vg;
      return async () => {
        const [l, g] = f(jax.tree.ref(p), x.ref);
        await g.w.blockUntilReady();
        jax.tree.dispose(g);
        return (await l.data())[0];
      };
    },
  };
  if (opts.jit) return peer; // the MLP step and the conv are the workloads jit can fuse
  return {
    ...peer,
    matmul(n) {
      const { a, b } = matmulData.get(n as 256)!;
      const ja = f32(a, [n, n]), jb = f32(b, [n, n]);
      return async () => {
        const c = await np.matmul(ja.ref, jb.ref).blockUntilReady();
        c.dispose();
      };
    },
    exp() {
      const x = f32(expData, [EXP_SIZE]);
      return async () => {
        const y = await np.exp(x.ref).blockUntilReady();
        y.dispose();
      };
    },
  };
}

// ---------------------------------------------------------------- registration

const threads = navigator.hardwareConcurrency;

// The `wasm` backend with its products in the WebAssembly GEMM (what runs where no native BLAS
// is found or `--allow-ffi` is not given), and as it runs by default, where `blas.ts` finds one.
gd.registerBackend("wasm-gemm", () => new WasmBackend({ blas: false }));
const blas = gd.blasInfo();
const native = blas.active ? `native ${blas.vendor}, ${blas.threads} threads` : "";

await register([
  // The baseline: gradus's wasm backend with its own GEMM.
  gradusPeer("wasm-gemm", "gradus wasm (SIMD, matmul on 2 threads)", { baseline: true }),
  gradusPeer("wasm-gemm", "gradus wasm (SIMD, matmul on 2 threads), jit", { jit: true }),
  ...(blas.active
    ? [
      gradusPeer("wasm", `gradus wasm (matmul: ${native})`),
      gradusPeer("wasm", `gradus wasm (matmul: ${native}), jit`, { jit: true }),
    ]
    : []),
  gradusPeer("cpu", "gradus cpu (plain JS kernels)", { slowMatmul: true }),
  tfPeer("cpu", "TF.js 4.22.0 cpu, JS kernels"),
  tfPeer("wasm", "TF.js 4.22.0 wasm (SIMD, 1 thread)"),
  tfPeer("wasm", "TF.js 4.22.0 wasm (SIMD, 1 thread), forward only: no Conv2DBackpropFilter", {
    conv: "forward",
  }),
  tfPeer("wasm", "TF.js 4.22.0 wasm (SIMD, 1 thread), kernel gradient as a conv2d (customGrad)", {
    conv: "customGrad",
  }),
  jaxPeer(`jax-js 0.1.25 wasm (${threads} workers)`),
  jaxPeer(`jax-js 0.1.25 wasm (${threads} workers), jit`, { jit: true }),
]);
