/**
 * gradus against other JavaScript array libraries on the same workloads:
 * float32 matmul 256², 512², 1024², `exp` over 1e6 elements, and one eager
 * training step of a 784-100-10 MLP (sigmoid, softmax cross entropy, batch
 * 100, SGD) on synthetic data. Each group's baseline is gradus on its
 * default backend, `wasm` (tensors in WebAssembly memory, SIMD kernels,
 * big products on two threads); the peers are
 *
 * - gradus `cpu` (every kernel in plain JS, the reference backend),
 * - TensorFlow.js 4.22.0, `cpu` backend (plain JS kernels),
 * - TensorFlow.js 4.22.0, `wasm` backend (XNNPACK, WebAssembly SIMD),
 * - jax-js 0.1.25, `wasm` device (kernels generated at run time; the MLP
 *   step both eager and under `jit`),
 * - gradus `wasm` with the MLP step under `jit` (parameters donated).
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
}

/** Fixed counts for the big products: Deno's default sampling would take minutes on the slow ones. */
function iterations(group: string, peer: Peer): { n: number; warmup: number } | object {
  const slow = peer.slowMatmul ?? false;
  if (group === GROUPS.matmul(1024)) return slow ? { n: 3, warmup: 1 } : { n: 10, warmup: 3 };
  if (group === GROUPS.matmul(512)) return slow ? { n: 5, warmup: 1 } : { n: 30, warmup: 3 };
  return {};
}

type Workload = "matmul" | "exp" | "mlp";

const WORKLOADS: [string, Workload, (p: Peer) => (() => unknown) | undefined][] = [
  ...MATMUL_SIZES.map((n): (typeof WORKLOADS)[number] => [
    GROUPS.matmul(n),
    "matmul",
    (p) => p.matmul?.(n),
  ]),
  [GROUPS.exp, "exp", (p) => p.exp?.()],
  [GROUPS.mlp, "mlp", (p) => p.mlp?.()],
];

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
  for (const peer of peers) {
    if (peer.skip !== undefined) continue;
    await peer.select();
    for (const [group, , make] of WORKLOADS) {
      const run = make(peer);
      if (run !== undefined) runs.set(`${group}\0${peer.name}`, run);
    }
  }
  for (const [group, workload] of WORKLOADS) {
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

function tfPeer(backend: "cpu" | "wasm", name: string): Peer {
  const f32 = (values: Float32Array, shape: number[]) => tf.tensor(values, shape, "float32");
  return {
    name,
    slowMatmul: backend === "cpu",
    async select() {
      if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) {
        throw new Error(`TF.js: backend ${backend} failed to initialise`);
      }
    },
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
  };
  if (opts.jit) return peer; // the MLP step is the one workload jit can fuse
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

await register([
  // The baseline: gradus's default backend.
  gradusPeer("wasm", "gradus wasm (SIMD, matmul on 2 threads)", { baseline: true }),
  gradusPeer("wasm", "gradus wasm (SIMD, matmul on 2 threads), jit", { jit: true }),
  gradusPeer("cpu", "gradus cpu (plain JS kernels)", { slowMatmul: true }),
  tfPeer("cpu", "TF.js 4.22.0 cpu, JS kernels"),
  tfPeer("wasm", "TF.js 4.22.0 wasm (SIMD, 1 thread)"),
  jaxPeer(`jax-js 0.1.25 wasm (${threads} workers)`),
  jaxPeer(`jax-js 0.1.25 wasm (${threads} workers), jit`, { jit: true }),
]);
