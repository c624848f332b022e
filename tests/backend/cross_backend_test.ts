/**
 * The op and autodiff suites, parameterised over backends: every case of
 * the shared op-case table (tests/_op_cases.ts) runs its forward pass, a
 * VJP and a JVP on the plain-JS `cpu` backend (the reference) and on
 * `wasm` and `webgpu` (the software llvmpipe adapter in
 * CI) from the same host inputs, and the results must agree — exactly for
 * integer, bool and data-movement results, within atol 1e-5 + rtol 1e-4 for
 * float32 arithmetic (WebAssembly and WGSL use their own exp/log/tanh, fused
 * multiply-adds and other summation orders). A full MLP training trajectory
 * is compared over several steps. The WebGPU half is skipped where no
 * adapter exists.
 */

import assert from "node:assert/strict";
import {
  argsort,
  getBackend,
  jvp,
  nn,
  optim,
  random,
  setBackend,
  type Tensor,
  tensor,
  valueAndGrad,
  vjp,
} from "../../mod.ts";
import { type BackendCase, f32, make, OP_CASES } from "../_op_cases.ts";

async function probe(): Promise<boolean> {
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) return false;
    await setBackend("webgpu");
    return true;
  } catch {
    return false;
  } finally {
    await setBackend("cpu");
  }
}

const hasGpu = await probe();

/** Every primitive's cross-backend cases, from the shared table, by name. */
const cases: Record<string, BackendCase> = {};
for (const entry of Object.values(OP_CASES)) {
  for (const [name, c] of Object.entries(entry.backends)) {
    if (name in cases) throw new Error(`two cross-backend cases are named ${JSON.stringify(name)}`);
    cases[name] = c;
  }
}

type Result = { values: number[]; dtype: string; shape: readonly number[] };

async function read(t: Tensor): Promise<Result> {
  return { values: Array.from(await t.data()), dtype: t.dtype, shape: t.shape };
}

async function runCase(c: BackendCase): Promise<Result[]> {
  const xs = c.args.map(make);
  const out = c.f(...xs);
  const results = [await read(out)];
  if (c.forwardOnly) return results;
  const ct = make(f32(99, [...out.shape]));
  const [, pullback] = vjp(c.f, ...xs);
  for (const g of pullback(ct)) results.push(await read(g));
  const tangents = c.args.map((a, i) => make(f32(200 + i, a.shape)));
  const [, tOut] = jvp(c.f, xs, tangents);
  results.push(await read(tOut));
  return results;
}

function assertAgree(name: string, cpu: Result[], other: Result[]): void {
  assert.equal(other.length, cpu.length);
  const backend = getBackend();
  cpu.forEach((want, k) => {
    const got = other[k];
    assert.deepEqual(got.shape, want.shape, `${name} #${k}: shape`);
    assert.equal(got.dtype, want.dtype, `${name} #${k}: dtype`);
    for (let i = 0; i < want.values.length; i++) {
      const [g, w] = [got.values[i], want.values[i]];
      const ok = want.dtype === "float32"
        ? Math.abs(g - w) <= 1e-5 + 1e-4 * Math.abs(w) || (Number.isNaN(g) && Number.isNaN(w)) ||
          g === w
        : g === w;
      assert.ok(ok, `${name} #${k} element ${i}: ${backend} ${g}, cpu ${w}`);
    }
  });
}

/** The backends compared with `cpu`, and whether each can run here. */
const OTHERS = [["wasm", true], ["webgpu", hasGpu]] as const;

for (const [other, available] of OTHERS) {
  for (const [name, c] of Object.entries(cases)) {
    Deno.test({
      name: `cpu vs ${other}: ${name}${c.forwardOnly ? "" : " (forward, vjp, jvp)"}`,
      ignore: !available,
      fn: async () => {
        const cpu = await runCase(c);
        await setBackend(other);
        try {
          assertAgree(name, cpu, await runCase(c));
        } finally {
          await setBackend("cpu");
        }
      },
    });
  }

  Deno.test({
    name: `cpu vs ${other}: random bits, uniform, normal, permutation, argsort`,
    ignore: !available,
    fn: async () => {
      const draw = async () => {
        const k = random.key(7);
        return [
          await read(random.bits(k, [9])),
          await read(random.uniform(k, [9])),
          await read(random.normal(k, [9])),
          await read(random.permutation(k, 50)),
          await read(argsort(make(f32(3, [4, 6])), -1)),
        ];
      };
      const cpu = await draw();
      await setBackend(other);
      try {
        assertAgree("random", cpu, await draw());
      } finally {
        await setBackend("cpu");
      }
    },
  });

  Deno.test({
    name: `cpu vs ${other}: keys made before setBackend work after it, both ways`,
    ignore: !available,
    fn: async () => {
      const draw = async (k: Tensor) => {
        const [k1, k2] = random.split(k, 2);
        return [
          await read(random.split(k, 3)[2]),
          await read(random.bits(k1, [9])),
          await read(random.uniform(k2, [9])),
          await read(random.normal(k, [9])),
          await read(random.permutation(k1, 20)),
        ];
      };
      const onCpu = random.key(11);
      const [, onCpuSplit] = random.split(onCpu);
      const cpu = await draw(onCpu);
      const cpuSplit = await read(random.bits(onCpuSplit, [4]));
      let onOther: Tensor;
      await setBackend(other);
      try {
        assertAgree("a cpu key", cpu, await draw(onCpu));
        assertAgree("a split cpu key", [cpuSplit], [await read(random.bits(onCpuSplit, [4]))]);
        assert.equal(random.bits(onCpu, [1]).backend, other);
        onOther = random.key(11);
        random.split(onOther); // made here, used on cpu below
      } finally {
        await setBackend("cpu");
      }
      assertAgree(`a ${other} key`, cpu, await draw(onOther));
    },
  });

  Deno.test({
    name: `cpu vs ${other}: an MNIST-shaped MLP's training trajectory (8 SGD steps) matches`,
    ignore: !available,
    fn: async () => {
      const trajectory = async () => {
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
        const opt = optim.sgd(0.5);
        let s = opt.init(params);
        const step = valueAndGrad((p: typeof params) =>
          nn.softmaxCrossEntropy(net.apply(p, state, x)[0], y)
        );
        const losses: number[] = [];
        for (let i = 0; i < 8; i++) {
          const [loss, g] = step(params);
          const [u, next] = opt.update(g, s, params);
          params = optim.applyUpdates(params, u);
          s = next;
          losses.push(await loss.item());
        }
        return losses;
      };
      const cpu = await trajectory();
      await setBackend(other);
      let gpu: number[];
      try {
        gpu = await trajectory();
      } finally {
        await setBackend("cpu");
      }
      gpu.forEach((l, i) =>
        assert.ok(Math.abs(l - cpu[i]) <= 1e-4 * Math.abs(cpu[i]), `step ${i}: ${l} vs ${cpu[i]}`)
      );
      assert.ok(cpu.at(-1)! < cpu[0]);
    },
  });
}

Deno.test({
  name: "webgpu: float64 is a clear error; values come back only asynchronously",
  ignore: !hasGpu,
  fn: async () => {
    await setBackend("webgpu");
    try {
      assert.throws(
        () => tensor([1], { dtype: "float64" }),
        /webgpu backend does not support float64/,
      );
      const t = tensor([1, 2]);
      assert.throws(() => t.dataSync(), /cannot read values synchronously/);
      assert.deepEqual([...(await t.data())], [1, 2]);
    } finally {
      await setBackend("cpu");
    }
  },
});
