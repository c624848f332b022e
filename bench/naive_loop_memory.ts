/**
 * Memory and time of a naive eager training loop: a 784-100-10 MLP (ReLU,
 * softmax cross entropy) trained with Adam (`optim.adam(1e-3)`) on batches
 * of 100 sliced from 2 000 random examples, 1 000 steps of `valueAndGrad` +
 * `opt.update` + `optim.applyUpdates`, with nothing disposed and no `tidy`.
 * It prints the resident set size (`Deno.memoryUsage().rss`), the elapsed
 * time and (on `wasm`) the arena's counters every 100 steps, then the wall
 * and CPU time (`process.cpuUsage()`, all threads) of the loop.
 *
 * Three variants of the same loop:
 *
 * - `naive`: fully synchronous, it never awaits (one task of the event loop
 *   from the first step to the last);
 * - `read`: awaiting `loss.data()` after every step (the backend lets the
 *   event loop turn once per 32 MiB allocated, so finalizers can run);
 * - `await`: awaiting `setTimeout(0)` after every step (a task boundary per
 *   step, and the timer's own delay).
 *
 * Run one variant per process (RSS is per process):
 *
 * ```sh
 * deno run --allow-read bench/naive_loop_memory.ts wasm naive
 * deno run --allow-read bench/naive_loop_memory.ts wasm read
 * deno run --allow-read bench/naive_loop_memory.ts wasm await
 * deno run --allow-read bench/naive_loop_memory.ts cpu naive
 * ```
 *
 * or all of them, each in a fresh process, interleaved, `--repeat` times
 * (default 3), with a summary table:
 *
 * ```sh
 * deno run --allow-read --allow-run bench/naive_loop_memory.ts all --repeat 3
 * ```
 *
 * `--gc-budget-mib N` runs `wasm` on `new WasmBackend({ gcBudget: N MiB })`.
 *
 * This is a script, not a `deno bench` file: the time of a whole loop, with
 * the garbage it leaves, is the quantity measured.
 *
 * @module
 */

import { nn, oneHot, optim, random, setBackend, slice, type Tensor, valueAndGrad } from "../mod.ts";
import process from "node:process";
import { WasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { currentBackend, registerBackend } from "../src/backend/registry.ts";

/** What one run measured. */
interface RunResult {
  readonly backend: string;
  readonly variant: string;
  readonly seconds: number;
  /** CPU seconds of the process (all threads) over the loop. */
  readonly cpuSeconds: number;
  readonly maxRssMiB: number;
  readonly finalRssMiB: number;
  readonly loss: number;
}

const MiB = 2 ** 20;

/**
 * User + system CPU seconds of this process so far, all threads
 * (`process.cpuUsage()`). On a machine shared with other work, CPU time
 * varies less than wall time.
 */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

type Variant = "naive" | "await" | "read";
const STEPS = 1000, BATCH = 100, EXAMPLES = 2000;

/** Trains the MLP for `STEPS` steps, awaiting after each step when `awaitEachStep`. */
async function run(
  backend: string,
  variant: Variant,
  gcBudget: number | undefined,
): Promise<RunResult> {
  if (backend === "wasm" && gcBudget !== undefined) {
    registerBackend("wasm-budget", () => new WasmBackend({ gcBudget }));
    await setBackend("wasm-budget");
  } else await setBackend(backend);
  const [kInit, kx, ky] = random.split(random.key(0), 3);
  const net = nn.mlp({ inputSize: 784, hiddenSizes: [100], outputSize: 10 });
  let { params } = net.init(kInit, [784]);
  const { state } = net.init(kInit, [784]);
  const xs = random.normal(kx, [EXAMPLES, 784]);
  const ys = oneHot(random.randint(ky, [EXAMPLES], 0, 10), 10);
  const opt = optim.adam(1e-3);
  let optState = opt.init(params);
  const lossFn = (p: typeof params, x: Tensor, t: Tensor): Tensor =>
    nn.softmaxCrossEntropy(net.apply(p, state, x)[0], t);
  const step = valueAndGrad(lossFn);
  let maxRss = 0, loss: Tensor | null = null;
  const t0 = performance.now(), cpu0 = cpuSeconds();
  const report = (i: number): void => {
    const rss = Deno.memoryUsage().rss;
    maxRss = Math.max(maxRss, rss);
    const s = ((performance.now() - t0) / 1000).toFixed(2);
    const be = currentBackend();
    const extra = be instanceof WasmBackend ? ` ${JSON.stringify(be.memoryStats())}` : "";
    console.log(
      `${backend} ${variant} step ${i}: rss ${(rss / MiB).toFixed(0)} MiB, ${s} s${extra}`,
    );
  };
  const oneStep = (i: number): void => {
    const at = (i * BATCH) % EXAMPLES;
    const x = slice(xs, [at, 0], [at + BATCH, 784]);
    const t = slice(ys, [at, 0], [at + BATCH, 10]);
    const [value, grads] = step(params, x, t);
    const [updates, next] = opt.update(grads, optState, params);
    params = optim.applyUpdates(params, updates);
    optState = next;
    loss = value;
    if ((i + 1) % 100 === 0) report(i + 1);
  };
  if (variant === "naive") {
    for (let i = 0; i < STEPS; i++) oneStep(i); // one task from start to end
  } else if (variant === "await") {
    for (let i = 0; i < STEPS; i++) {
      oneStep(i);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } else {
    for (let i = 0; i < STEPS; i++) {
      oneStep(i);
      await loss!.data();
    }
  }
  const seconds = (performance.now() - t0) / 1000, cpu = cpuSeconds() - cpu0;
  const lossValue = (loss as Tensor | null)!.dataSync()[0];
  const be = currentBackend();
  if (be instanceof WasmBackend) {
    const stats = be.memoryStats();
    console.log(
      `arena: memory ${(stats.memoryBytes / MiB).toFixed(0)} MiB, ` +
        `used ${(stats.usedBytes / MiB).toFixed(0)} MiB, failed ${stats.failed}, ` +
        `spilled to JS memory ${stats.spilledBuffers}`,
    );
  }
  const finalRss = Deno.memoryUsage().rss;
  return {
    backend,
    variant,
    seconds,
    cpuSeconds: cpu,
    maxRssMiB: Math.round(Math.max(maxRss, finalRss) / MiB),
    finalRssMiB: Math.round(finalRss / MiB),
    loss: lossValue,
  };
}

/** The value after `--name` in the arguments, if any. */
function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

/** Runs the variants the command line asks for (see the module documentation). */
async function main(): Promise<void> {
  const args = Deno.args.filter((a, i) =>
    !a.startsWith("--") && !Deno.args[i - 1]?.startsWith("--")
  );
  const budgetFlag = flag("--gc-budget-mib");
  const gcBudget = budgetFlag === undefined ? undefined : Number(budgetFlag) * MiB;
  if (args[0] === "all") {
    const repeat = Number(flag("--repeat") ?? 3);
    const configs: [string, Variant][] = [
      ["wasm", "naive"],
      ["wasm", "read"],
      ["wasm", "await"],
      ["cpu", "naive"],
    ];
    const extra = budgetFlag === undefined ? [] : ["--gc-budget-mib", budgetFlag];
    const results: RunResult[] = [];
    for (let k = 0; k < repeat; k++) {
      for (const [backend, variant] of configs) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-read",
            import.meta.filename!,
            backend,
            variant,
            "--json",
            ...extra,
          ],
          stderr: "inherit",
        }).output();
        const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
        results.push(JSON.parse(lines[lines.length - 1]));
      }
    }
    console.log(
      "backend variant  wall time (s), each run   CPU time (s), each run    max RSS (MiB)   final loss",
    );
    for (const [backend, variant] of configs) {
      const mine = results.filter((x) => x.backend === backend && x.variant === variant);
      const times = mine.map((x) => x.seconds.toFixed(2)).join(" ");
      const cpus = mine.map((x) => x.cpuSeconds.toFixed(2)).join(" ");
      const rss = mine.map((x) => x.maxRssMiB).join(" ");
      console.log(
        `${backend.padEnd(7)} ${variant.padEnd(8)} ${times.padEnd(25)} ${cpus.padEnd(25)} ${
          rss.padEnd(15)
        } ${mine[0].loss.toFixed(4)}`,
      );
    }
  } else {
    const backend = args[0] ?? "wasm", variant = args[1] ?? "naive";
    if (variant !== "naive" && variant !== "await" && variant !== "read") {
      throw new Error(
        `naive_loop_memory: the variant must be "naive", "read" or "await", got "${variant}"`,
      );
    }
    const result = await run(backend, variant, gcBudget);
    if (Deno.args.includes("--json")) console.log(JSON.stringify(result));
    else {
      console.log(
        `${backend} ${variant}: ${result.seconds.toFixed(2)} s (CPU ${
          result.cpuSeconds.toFixed(2)
        } s), max RSS ${result.maxRssMiB} MiB, ` +
          `loss ${result.loss.toFixed(4)}`,
      );
    }
  }
}

if (import.meta.main) await main();
