/**
 * WebGPU vs CPU: matmul, an elementwise chain and an MLP training step,
 * each measured on both backends in the same run (`baseline: true` marks
 * the CPU). On a software adapter (llvmpipe) WebGPU is expected to be
 * slower; the numbers matter on a real GPU. Then, on WebGPU only, the MLP
 * SGD step eager vs under `jit` (one program: fused kernels, one submit per
 * call). Skipped without an adapter.
 *
 * Run: `deno bench --allow-read bench/webgpu_bench.ts`.
 *
 * @module
 */

import {
  add,
  exp,
  jit,
  matmul,
  mul,
  nn,
  optim,
  random,
  setBackend,
  type Tensor,
  valueAndGrad,
} from "../mod.ts";

async function hasWebGpu(): Promise<boolean> {
  try {
    await setBackend("webgpu");
    return true;
  } catch {
    return false;
  } finally {
    await setBackend("cpu");
  }
}

const gpu = await hasWebGpu();

/** Builds inputs on a backend and returns the function to time (which waits for its result). */
type Workload = () => () => Promise<unknown>;

const workloads: Record<string, Workload> = {
  "matmul 256×256": () => {
    const a = random.uniform(random.key(1), [256, 256]);
    const b = random.uniform(random.key(2), [256, 256]);
    return () => matmul(a, b).data();
  },
  "matmul 1024×1024": () => {
    const a = random.uniform(random.key(1), [1024, 1024]);
    const b = random.uniform(random.key(2), [1024, 1024]);
    return () => matmul(a, b).data();
  },
  "elementwise exp(x)·x + x over 1e6": () => {
    const x = random.uniform(random.key(3), [1000000]);
    return () => add(mul(exp(x), x), x).data();
  },
  "784-100-10 MLP step, batch 100": () => {
    const net = nn.mlp({
      inputSize: 784,
      hiddenSizes: [100],
      outputSize: 10,
      activation: "sigmoid",
    });
    let { params } = net.init(random.key(0), [784]);
    const { state } = net.init(random.key(0), [784]);
    const x = random.uniform(random.key(1), [100, 784]);
    const y = random.randint(random.key(2), [100], 0, 10);
    const opt = optim.sgd(0.1);
    let s = opt.init(params);
    const step = valueAndGrad((p: typeof params) =>
      nn.softmaxCrossEntropy(net.apply(p, state, x)[0] as Tensor, y)
    );
    return async () => {
      const [loss, g] = step(params);
      const [u, next] = opt.update(g, s, params);
      params = optim.applyUpdates(params, u);
      s = next;
      await loss.data();
    };
  },
};

for (const [name, make] of Object.entries(workloads)) {
  for (const backend of ["cpu", "webgpu"]) {
    Deno.bench({
      name: `${name} (${backend})`,
      group: name,
      baseline: backend === "cpu",
      ignore: backend === "webgpu" && !gpu,
      async fn(b) {
        await setBackend(backend);
        const run = make();
        await run(); // warm up: compile pipelines, fill pools
        b.start();
        await run();
        b.end();
        await setBackend("cpu");
      },
    });
  }
}

/** The 784-100-10 sigmoid MLP's SGD step at batch 100 (loss, new parameters), eager or jitted. */
function mlpSgdStep(useJit: boolean, steps = 1): () => Promise<unknown> {
  const net = nn.mlp({ inputSize: 784, hiddenSizes: [100], outputSize: 10, activation: "sigmoid" });
  const init = net.init(random.key(0), [784]);
  let params = init.params;
  const x = random.uniform(random.key(1), [100, 784]);
  const y = random.randint(random.key(2), [100], 0, 10);
  const opt = optim.sgd(0.1);
  const state = opt.init(params); // SGD's state is empty: the same every step
  const step = (p: typeof params, xb: Tensor, yb: Tensor) => {
    const [loss, g] = valueAndGrad((q: typeof params) =>
      nn.softmaxCrossEntropy(net.apply(q, init.state, xb)[0] as Tensor, yb)
    )(p);
    const [u] = opt.update(g, state, p);
    return { loss, params: optim.applyUpdates(p, u) };
  };
  const run = useJit ? jit(step) : step;
  return async () => {
    let loss: Tensor | null = null;
    for (let i = 0; i < steps; i++) {
      loss?.dispose();
      const r = run(params, x, y);
      params = r.params;
      loss = r.loss;
    }
    await loss!.data(); // the step's values are read back: the device work is done
  };
}

// Reading the loss back after every step (as the MNIST example's loop does) costs Deno's
// ~10 ms wait for any GPU read on llvmpipe; a loop that logs every 10 steps pays it once.
for (const mode of ["eager", "jit"]) {
  Deno.bench({
    name: `784-100-10 MLP SGD step, batch 100, webgpu (${mode}), 10 steps, loss read once`,
    group: "MLP step on webgpu, 10 steps per read: eager vs jit",
    baseline: mode === "eager",
    ignore: !gpu,
    n: 10,
    warmup: 2,
    async fn(b) {
      await setBackend("webgpu");
      const run = mlpSgdStep(mode === "jit", 10);
      await run(); // warm up: trace, compile pipelines, fill pools
      b.start();
      await run();
      b.end();
      await setBackend("cpu");
    },
  });
}

for (const mode of ["eager", "jit"]) {
  Deno.bench({
    name: `784-100-10 MLP SGD step, batch 100, webgpu (${mode})`,
    group: "MLP step on webgpu: eager vs jit",
    baseline: mode === "eager",
    ignore: !gpu,
    async fn(b) {
      await setBackend("webgpu");
      const run = mlpSgdStep(mode === "jit");
      for (let i = 0; i < 3; i++) await run(); // warm up: trace, compile pipelines, fill pools
      b.start();
      await run();
      b.end();
      await setBackend("cpu");
    },
  });
}
