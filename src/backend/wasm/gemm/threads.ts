/**
 * The GEMM's second thread: the worker, its source (generated from the
 * control block's layout, `layout.ts`), and the task runner both threads
 * share.
 *
 * Where the runtime has `node:worker_threads` (reached through
 * `process.getBuiltinModule`: Deno 2, Node ≥ 22.3, Bun), shared WebAssembly
 * memory and a calling thread that may block in `Atomics.wait`, big products
 * share the work with one worker: a module worker from a `data:` URL (no
 * file, no permission; it works when the library is imported from JSR or
 * https) that instantiates the same module on the same shared memory and
 * waits on the control block. The worker is unref'd, so it never keeps the
 * process alive, and started lazily. Each product is cut into tasks (pack
 * parts of A and of B, then compute strips of C: columns in whole cache
 * lines, or rows when C is narrow) that the threads claim with
 * compare-and-swap, the calling thread from the front and the worker from
 * the back; the calling thread never waits for the worker to wake, only for
 * a task the worker has claimed. Every tile of C goes through the same
 * micro-kernel calls in the same order however the strips are shared, so
 * results are bitwise identical to one thread.
 *
 * Waiting. Waking a thread blocked in `Atomics.wait` with `Atomics.notify`
 * costs the notifying thread 10–30 µs here (a 2-vCPU VM), the woken one
 * starts 50–150 µs later, and now and then the kernel runs it on the
 * notifier's CPU, stalling the notifier for up to a millisecond. So threads
 * wait for each other by polling (`Atomics.load` + `Atomics.pause`) and then
 * in short timed naps (`Atomics.wait` with a timeout, woken by their own
 * timer), and `Atomics.notify` is used only to wake a worker that has been
 * idle long enough to block for good, and only for a product big enough to
 * pay for it.
 *
 * @module
 */

import { LINE } from "./geometry.ts";
import {
  CTRL,
  CTRL_INTS,
  JOB_PARAMS,
  type JobParams,
  LAYOUT,
  type Layout,
  TASK,
  TASK_KIND,
} from "./layout.ts";
import { compiledGemm, type GemmExports } from "./module.ts";
import { MR, NR, VARIANTS, type WasmGemmVariant } from "./tiling.ts";

/** Packing of each operand is cut into at most this many tasks. */
const PACK_TASKS = 4;
/** The product is cut into at most this many tasks. */
const COMPUTE_TASKS = 8;
/**
 * How long (ms) a thread that waits for the other one's task polls before
 * it naps (the wait is for one task at most, an eighth of a product).
 */
const POLL_MS = 2;
/** How long (ms) the idle worker polls for the next job before it naps. */
const WORKER_POLL_MS = 1;
/** Length (ms) of one nap (the kernel may add some 50 µs). */
const NAP_MS = 0.1;
/** How long (ms) the idle worker keeps polling and napping before it blocks until notified. */
const WORKER_IDLE_MS = 20;

/**
 * Claims and runs tasks of job `job` from the control block `c` until none
 * is left, taking computing tasks from the back if `back` (the worker) or
 * from the front and then waiting for the job's last task (the main thread);
 * returns how many it ran. Both threads run it: the worker gets it as
 * source text (`runTasks.toString()`; tried under `deno bundle --minify`
 * and Node 20 too), so it uses nothing from outside itself but globals and
 * its arguments; the slots come from the layout `L`. It waits for the other
 * thread by polling for `pollMs`, then napping `napMs` at a time.
 */
function runTasks(
  c: Int32Array,
  ex: GemmExports,
  job: number,
  back: boolean,
  pollMs: number,
  napMs: number,
  L: Layout,
): number {
  const C = L.ctrl, T = L.task;
  let ran = 0;
  /** Waits until `c[i] >= target`. */
  const waitFor = (i: number, target: number): void => {
    const pause = typeof Atomics.pause === "function" ? Atomics.pause : () => {};
    const until = performance.now() + pollMs;
    for (let v = Atomics.load(c, i), s = 0; v < target; v = Atomics.load(c, i), s++) {
      if (c[C.failed] !== 0) throw new Error("wasm gemm: the helper thread failed");
      if ((s & 63) !== 63 || performance.now() < until) pause();
      else Atomics.wait(c, i, v, napMs);
    }
  };
  for (;;) {
    const v = Atomics.load(c, C.nextPack), i = v & 255;
    if (v >>> 8 !== job || i >= c[C.nPack]) break;
    if (Atomics.compareExchange(c, C.nextPack, v, v + 1) !== v) continue;
    // Task i is ours: the job cannot end, nor its parameters change, before we count it done.
    const t = C.tasks + T.size * i;
    if (c[t + T.kind] === L.kind.packA) {
      ex.packAPart(
        c[C.aRaw],
        c[C.aPack],
        c[C.m],
        c[C.k],
        c[C.mPad],
        c[C.kb],
        c[t + T.r0],
        c[t + T.r1],
        c[C.transA],
      );
    } else {
      ex.packBPart(
        c[C.bRaw],
        c[C.bPack],
        c[C.n],
        c[C.k],
        c[C.nPad],
        c[C.kb],
        c[t + T.c0],
        c[t + T.c1],
        c[C.transB],
      );
    }
    Atomics.add(c, C.packed, 1);
    Atomics.add(c, C.done, 1);
    ran++;
  }
  for (;;) {
    const v = Atomics.load(c, C.computeRange), lo = (v >>> 8) & 255, hi = v & 255;
    if (v >>> 16 !== job || lo >= hi) break;
    if (Atomics.compareExchange(c, C.computeRange, v, back ? v - 1 : v + 256) !== v) continue;
    const t = C.tasks + T.size * (c[C.nPack] + (back ? hi - 1 : lo));
    waitFor(C.packed, c[C.nPack]); // every packing task done
    ex.computePart(
      c[C.aPack],
      c[C.bPack],
      c[C.cOff],
      c[C.ldc],
      c[C.k],
      c[C.mPad],
      c[C.nPad],
      c[C.kb],
      c[t + T.r0],
      c[t + T.r1],
      c[t + T.c0],
      c[t + T.c1],
    );
    Atomics.add(c, C.done, 1);
    ran++;
  }
  if (!back) waitFor(C.done, c[C.nTasks]); // the other thread's last task
  return ran;
}

/**
 * The worker: a module (run from a `data:` URL, so it needs no file and no
 * permission) that instantiates the variants' modules on the shared memory,
 * then waits for jobs on the control block, polling a while after each job
 * before it blocks in `Atomics.wait`. The layout is embedded as JSON.
 */
const WORKER_SOURCE = `import { workerData } from "node:worker_threads";
const { ctrl, memory, modules } = workerData;
const L = ${JSON.stringify(LAYOUT)}, C = L.ctrl;
const c = new Int32Array(ctrl);
const runTasks = (${runTasks.toString()});
let ex = null;
try {
  ex = modules.map((m) => m === null ? null : new WebAssembly.Instance(m, { env: { memory } }).exports);
} catch {
  ex = null;
}
Atomics.store(c, C.ready, ex === null ? 2 : 1);
let seen = -1, last = performance.now();
const pause = typeof Atomics.pause === "function" ? Atomics.pause : () => {};
while (ex !== null) {
  let job = Atomics.load(c, C.job);
  if (job === seen) {
    // Idle: poll, then nap, then block until notified.
    const idle = performance.now() - last;
    if (idle < ${WORKER_POLL_MS}) {
      for (let s = 0; s < 64 && job === seen; s++, pause()) job = Atomics.load(c, C.job);
    } else if (idle < ${WORKER_IDLE_MS}) {
      Atomics.wait(c, C.job, seen, ${NAP_MS});
    } else {
      Atomics.store(c, C.asleep, 1);
      if (Atomics.load(c, C.job) === seen) Atomics.wait(c, C.job, seen);
      Atomics.store(c, C.asleep, 0);
    }
    continue;
  }
  seen = job;
  if (Atomics.load(c, C.quit) !== 0) break;
  try {
    Atomics.add(c, C.workerTasks, runTasks(c, ex[c[C.variant]], job, true, ${POLL_MS}, ${NAP_MS}, L));
  } catch {
    Atomics.store(c, C.failed, 1);
    break;
  }
  last = performance.now();
}
`;

/**
 * The worker's source text (for tests: it reads the control block only
 * through the embedded layout).
 *
 * @returns The module source the worker runs.
 */
export function workerSource(): string {
  return WORKER_SOURCE;
}

/** The part of `node:worker_threads` used here. */
interface WorkerThreadsApi {
  readonly Worker: new (url: URL, options: { workerData: unknown }) => ThreadWorker;
}

/** The part of a `node:worker_threads` `Worker` used here. */
interface ThreadWorker {
  unref(): void;
  on(event: "error" | "exit", listener: () => void): unknown;
}

/** The second thread of the two-thread path, with its control block. */
export interface Helper {
  /** The control block (see `layout.ts`). */
  readonly ctrl: Int32Array;
  /** The worker. */
  readonly worker: ThreadWorker;
  /** The last job number published. */
  job: number;
}

let threadsApi: WorkerThreadsApi | null | undefined;

/**
 * `node:worker_threads`, where this thread may block in `Atomics.wait` and
 * the runtime offers it synchronously (`process.getBuiltinModule`: Deno 2,
 * Node ≥ 22.3, Bun); else null (browsers, older runtimes). The first call
 * costs some 20 ms in Deno (its Node globals start lazily).
 *
 * @returns Whether workers can be had.
 */
export function threadsSupported(): boolean {
  if (threadsApi === undefined) {
    threadsApi = null;
    try {
      if (typeof SharedArrayBuffer === "function" && typeof Atomics === "object") {
        // Throws where this thread may not block (a browser's main thread).
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
        const proc = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } })
          .process;
        const api = proc?.getBuiltinModule?.("node:worker_threads") as
          | WorkerThreadsApi
          | undefined;
        if (typeof api?.Worker === "function") threadsApi = api;
      }
    } catch {
      threadsApi = null;
    }
  }
  return threadsApi !== null;
}

/**
 * Starts a worker on the shared `memory` (the `Worker` constructor takes
 * some 30 ms); null where it cannot be started. The worker is unref'd: it
 * never keeps the process alive.
 *
 * @param memory The shared memory the worker's instances use.
 * @param onExit Called once the worker has ended.
 * @returns The helper, or null.
 */
export function startHelper(memory: WebAssembly.Memory, onExit: () => void): Helper | null {
  if (!threadsSupported() || threadsApi == null) return null;
  try {
    const ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_INTS));
    const mods = VARIANTS.map((v) => compiledGemm(v, true));
    const url = new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`);
    const worker = new threadsApi.Worker(url, {
      workerData: { ctrl: ctrl.buffer, memory, modules: mods },
    });
    worker.unref();
    worker.on("error", () => Atomics.store(ctrl, CTRL.ready, 2));
    worker.on("exit", () => {
      Atomics.store(ctrl, CTRL.ready, 2);
      onExit();
    });
    return { ctrl, worker, job: 0 };
  } catch {
    return null;
  }
}

/**
 * Whether the helper can take jobs: started (or starting) and not failed.
 *
 * @param h The helper.
 * @returns False once it ended, could not instantiate, or a task threw.
 */
export function helperAlive(h: Helper): boolean {
  return Atomics.load(h.ctrl, CTRL.ready) !== 2 && Atomics.load(h.ctrl, CTRL.failed) === 0;
}

/**
 * Whether the helper is ready and waiting for jobs (statistics).
 *
 * @param h The helper.
 * @returns True once it waits for jobs.
 */
export function helperReady(h: Helper): boolean {
  return Atomics.load(h.ctrl, CTRL.ready) === 1;
}

/**
 * Whether the helper has idled long enough to block until notified.
 *
 * @param h The helper.
 * @returns True while it is blocked.
 */
export function helperAsleep(h: Helper): boolean {
  return Atomics.load(h.ctrl, CTRL.asleep) !== 0;
}

/**
 * Tasks the helper has run, in all.
 *
 * @param h The helper.
 * @returns The count.
 */
export function helperTasks(h: Helper): number {
  return Atomics.load(h.ctrl, CTRL.workerTasks);
}

/**
 * Tells the helper to end (it then lets go of its memory).
 *
 * @param h The helper.
 */
export function stopHelper(h: Helper): void {
  // A job number the worker has not seen (it may have seen none, or job 0
  // of the fresh control block) makes it look, and find `quit` set.
  Atomics.store(h.ctrl, CTRL.quit, 1);
  Atomics.store(h.ctrl, CTRL.job, h.job = (h.job % 32767) + 1);
  Atomics.notify(h.ctrl, CTRL.job);
}

/**
 * Resolves once the worker `h` waits for jobs (true) or cannot (false; also for null).
 *
 * @param h The helper, or null.
 * @returns Whether it is ready.
 */
export async function helperStarted(h: Helper | null): Promise<boolean> {
  if (h === null) return false;
  for (let i = 0; i < 10_000 && Atomics.load(h.ctrl, CTRL.ready) === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return helperReady(h);
}

/**
 * Appends up to `maxParts` tasks of `kind` that cut `0 … size - 1` into
 * near-equal ranges of whole `unit`s, as rows (`r0, r1`, columns
 * `0 … full - 1`) or as columns (`c0, c1`, rows `0 … full - 1`).
 */
function pushRanges(
  tasks: number[],
  kind: number,
  size: number,
  unit: number,
  maxParts: number,
  rows: boolean,
  full: number,
): void {
  const units = Math.ceil(size / unit), parts = Math.min(maxParts, units);
  for (let i = 0; i < parts; i++) {
    const lo = Math.min(size, Math.floor((i * units) / parts) * unit);
    const hi = Math.min(size, Math.floor(((i + 1) * units) / parts) * unit);
    const task: number[] = Array(TASK.size);
    task[TASK.kind] = kind;
    [task[TASK.r0], task[TASK.r1]] = rows ? [lo, hi] : [0, full];
    [task[TASK.c0], task[TASK.c1]] = rows ? [0, full] : [lo, hi];
    tasks.push(...task);
  }
}

/**
 * Runs one matrix product on two threads: publishes the tasks (pack the
 * operands that changed, then compute C in strips of columns, or of rows
 * when C is narrow) and works through them alongside the worker, then
 * waits for the worker's last task.
 *
 * @param h The helper.
 * @param ex The calling thread's instance.
 * @param variant The module the job runs.
 * @param p The job's parameters.
 * @param split How C is cut.
 * @param packA Whether A changed since the last job (else its packing is kept).
 * @param packB Whether B changed.
 */
export function runShared(
  h: Helper,
  ex: GemmExports,
  variant: WasmGemmVariant,
  p: JobParams,
  split: "columns" | "rows",
  packA: boolean,
  packB: boolean,
): void {
  const { mPad, nPad } = p;
  const tasks: number[] = [];
  if (packA) pushRanges(tasks, TASK_KIND.packA, mPad, MR, PACK_TASKS, true, nPad);
  if (packB) pushRanges(tasks, TASK_KIND.packB, nPad, NR, PACK_TASKS, false, mPad);
  const npack = tasks.length / TASK.size;
  if (split === "columns") {
    pushRanges(tasks, TASK_KIND.compute, nPad, LINE, COMPUTE_TASKS, false, mPad);
  } else pushRanges(tasks, TASK_KIND.compute, mPad, MR, COMPUTE_TASKS, true, nPad);
  const c = h.ctrl, ntasks = tasks.length / TASK.size;
  for (const name of JOB_PARAMS) c[CTRL[name]] = p[name];
  c.set(tasks, CTRL.tasks);
  c[CTRL.nTasks] = ntasks;
  c[CTRL.nPack] = npack;
  c[CTRL.variant] = VARIANTS.indexOf(variant);
  Atomics.store(c, CTRL.done, 0);
  Atomics.store(c, CTRL.packed, 0);
  const job = h.job = (h.job % 32767) + 1;
  Atomics.store(c, CTRL.nextPack, job << 8);
  Atomics.store(c, CTRL.computeRange, (job << 16) | (ntasks - npack));
  Atomics.store(c, CTRL.job, job);
  // The worker may have blocked just before it could see the job: then wake it.
  if (Atomics.load(c, CTRL.asleep) !== 0) Atomics.notify(c, CTRL.job);
  runTasks(c, ex, job, false, POLL_MS, NAP_MS, LAYOUT);
}
