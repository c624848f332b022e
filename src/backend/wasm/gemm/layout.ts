/**
 * The control block of the GEMM's two-thread path, as one definition of
 * named slots that the driver (`driver.ts`, `threads.ts`) and the worker
 * (whose source is generated from it, `threads.ts`) both read: an
 * `Int32Array` over a `SharedArrayBuffer`.
 *
 * A job (one matrix product) is a list of tasks: first packing tasks (a
 * range of A's row panels, or of B's column panels), then computing tasks (a
 * strip of C's columns, or of its rows), each claimed by one thread with a
 * compare-and-swap. Packing tasks are claimed in order by both threads;
 * computing tasks from both ends, the main thread from the front and the
 * worker from the back, so each thread's strips are contiguous and the two
 * share at most one boundary (which C's layout keeps on a cache-line
 * boundary). The main thread publishes a job and runs tasks itself, so it
 * never depends on the worker being awake: a late or busy worker just
 * claims fewer tasks.
 *
 * @module
 */

/**
 * Slot indices of the control block. The job parameters (`aRaw` … `transB`)
 * are what every task of a job reads; offsets and sizes in floats.
 */
export const CTRL = {
  /** Job number (1 … 32767, then 1 again), changed to publish a job; the worker waits on it. */
  job: 0,
  /** Packing claims: `job << 8 | index of the next unclaimed packing task`. */
  nextPack: 1,
  /** Tasks finished in the current job. */
  done: 2,
  /** Packing tasks finished in the current job (computing tasks wait for all of them). */
  packed: 3,
  /** Tasks in the current job. */
  nTasks: 4,
  /** Packing tasks in the current job (they come first). */
  nPack: 5,
  /** Index in `VARIANTS` of the module the job runs. */
  variant: 6,
  /** Set to 1 to make the worker leave its loop (and end). */
  quit: 7,
  /** 0 while the worker starts, 1 once it waits for jobs, 2 if it could not instantiate. */
  ready: 8,
  /** Set by the worker when a task threw; the main thread then throws too. */
  failed: 9,
  /** Tasks the worker has run, in all (statistics). */
  workerTasks: 10,
  /**
   * Computing claims: `job << 16 | lo << 8 | hi`, the unclaimed computing
   * tasks being `lo … hi - 1` (counted from the first computing task).
   */
  computeRange: 11,
  /** 1 while the worker is blocked until notified. */
  asleep: 12,
  /** Float offset of the current A matrix as stored. */
  aRaw: 16,
  /** Float offset of the current B matrix as stored. */
  bRaw: 17,
  /** Float offset of packed A. */
  aPack: 18,
  /** Float offset of packed B. */
  bPack: 19,
  /** Float offset of C. */
  cOff: 20,
  /** Rows of A and C. */
  m: 21,
  /** Columns of A, rows of B. */
  k: 22,
  /** Columns of B and C. */
  n: 23,
  /** `m` rounded up to whole row panels. */
  mPad: 24,
  /** `n` rounded up to whole column panels. */
  nPad: 25,
  /** Depth of the blocks of `k`. */
  kb: 26,
  /** Row stride of C (floats). */
  ldc: 27,
  /** 1 where A is stored transposed (`k × m`). */
  transA: 28,
  /** 1 where B is stored transposed (`n × k`). */
  transB: 29,
  /** The first task; task `i` occupies `TASK.size` slots from `tasks + i · TASK.size`. */
  tasks: 32,
} as const;

/** The job parameters, in the order the control block holds them. */
export const JOB_PARAMS = [
  "aRaw",
  "bRaw",
  "aPack",
  "bPack",
  "cOff",
  "m",
  "k",
  "n",
  "mPad",
  "nPad",
  "kb",
  "ldc",
  "transA",
  "transB",
] as const;

/** The parameters of one job (see {@link CTRL}). */
export type JobParams = Record<(typeof JOB_PARAMS)[number], number>;

/** Slots of one task, relative to its start. */
export const TASK = {
  /** {@link TASK_KIND}. */
  kind: 0,
  /** First row (a multiple of the row panel). */
  r0: 1,
  /** Row past the last. */
  r1: 2,
  /** First column (a multiple of the column panel, or of a cache line). */
  c0: 3,
  /** Column past the last. */
  c1: 4,
  /** Slots per task. */
  size: 5,
} as const;

/** What a task does. */
export const TASK_KIND = { packA: 0, packB: 1, compute: 2 } as const;

/** At most this many tasks of each sort per job (claims keep indices in 8 bits). */
export const MAX_TASKS = 255;

/** Ints in the control block. */
export const CTRL_INTS: number = CTRL.tasks + TASK.size * 2 * MAX_TASKS;

/** The whole layout, as the worker receives it (its source embeds this as JSON). */
export const LAYOUT = { ctrl: CTRL, task: TASK, kind: TASK_KIND } as const;

/** The type of {@link LAYOUT}. */
export type Layout = typeof LAYOUT;
