/**
 * A terminal progress bar for training loops. On a terminal it redraws one
 * line in place (`\r`):
 *
 * ```
 * epoch 3/10 [=====>    ] 120/600 loss 0.1234 · 85.2 it/s · ETA 0:05
 * ```
 *
 * and ends each epoch with its summary on that line. When the output is not
 * a terminal (a file, a pipe, CI logs) it writes plain lines with no control
 * characters: one per epoch, and within an epoch one progress line every
 * 10 seconds (`logEveryMs`), so a long epoch in a log does not look stuck:
 *
 * ```
 * epoch 1/10 212/600 loss 0.3012 · 21.1 it/s · ETA 0:18
 * epoch 1/10 423/600 loss 0.2511 · 21.1 it/s · ETA 0:08
 * epoch 1/10 600/600 loss 0.2230 val_loss 0.1998 · 21.0 it/s · 28.6s
 * ```
 *
 * With `quiet` it writes nothing. The writer and the clock can be
 * injected, which makes the output testable.
 *
 * @example
 * ```ts
 * import { ProgressBar } from "@gradus/core";
 * const bar = new ProgressBar({ steps: 3, epochs: 1, quiet: true });
 * bar.start(1);
 * for (let i = 1; i <= 3; i++) bar.update(i, { loss: 1 / i });
 * bar.end({ loss: 0.61 });
 * ```
 *
 * @module
 */

import { checkOptions, type OptionKeys } from "../ops/_options.ts";

/** The keys of {@linkcode ProgressDisplayOptions} (`fit`'s `progress` checks them too). @internal */
export const PROGRESS_DISPLAY_KEYS: OptionKeys<ProgressDisplayOptions> = {
  writer: true,
  tty: "boolean",
  clock: true,
  width: true,
  redrawMs: true,
  logEveryMs: true,
};

const PROGRESS_KEYS: OptionKeys<ProgressBarOptions> = {
  ...PROGRESS_DISPLAY_KEYS,
  steps: true,
  epochs: true,
  quiet: "boolean",
};

/**
 * Where a progress bar writes: `Deno.stdout`, `Deno.stderr`, or a test double.
 *
 * @example
 * ```ts
 * import { ProgressBar, type ProgressWriter } from "@gradus/core";
 *
 * // Collect the output instead of printing it.
 * const lines: string[] = [];
 * const writer: ProgressWriter = {
 *   writeSync: (p) => (lines.push(new TextDecoder().decode(p)), p.length),
 *   isTerminal: () => false,
 * };
 * const bar = new ProgressBar({ steps: 2, writer });
 * bar.start(1);
 * bar.update(2);
 * bar.end({ loss: 0.1 });
 * console.log(lines.join("").startsWith("epoch 1 2/2 loss 0.1000")); // true
 * ```
 */
export interface ProgressWriter {
  /** Writes some of `p` and returns how many bytes were written. */
  writeSync(p: Uint8Array): number;
  /** Whether the writer is an interactive terminal (optional). */
  isTerminal?(): boolean;
}

/**
 * How a progress bar shows itself: where it writes, its clock and its look.
 *
 * @example
 * ```ts
 * import { ProgressBar, type ProgressDisplayOptions } from "@gradus/core";
 *
 * let now = 0;
 * let text = "";
 * const display: ProgressDisplayOptions = {
 *   writer: { writeSync: (p) => (text += new TextDecoder().decode(p), p.length) },
 *   tty: false, // plain lines, as in a log file
 *   clock: () => now,
 *   logEveryMs: 1000, // a line within the epoch every second
 * };
 * const bar = new ProgressBar({ steps: 10, ...display });
 * bar.start(1);
 * for (let i = 1; i <= 10; i++) {
 *   now += 300;
 *   bar.update(i);
 * }
 * bar.end();
 * console.log(text.trim().split("\n").length); // 3: two lines within the epoch, then its summary
 * ```
 */
export interface ProgressDisplayOptions {
  /** Where to write (default `Deno.stdout`). */
  readonly writer?: ProgressWriter;
  /**
   * Redraw one line in place (terminal mode) or write plain lines (one per
   * epoch, and one every `logEveryMs` within an epoch). Default: `writer.isTerminal()` (false when the writer has no
   * such method).
   */
  readonly tty?: boolean;
  /** The clock, in milliseconds (default `performance.now`); rate and ETA come from it. */
  readonly clock?: () => number;
  /** Width of the bar in characters (default 30). */
  readonly width?: number;
  /** Minimum milliseconds between redraws in terminal mode (default 100); the last step always draws. */
  readonly redrawMs?: number;
  /**
   * Outside a terminal: write a progress line within an epoch once this
   * many milliseconds have passed since the epoch started or since the last
   * such line (default 10 000, i.e. every 10 s; `Infinity` for one line per
   * epoch only). The epoch's last step writes none: its summary follows.
   */
  readonly logEveryMs?: number;
}

/**
 * Options of {@linkcode ProgressBar}.
 *
 * @example
 * ```ts
 * import { ProgressBar, type ProgressBarOptions } from "@gradus/core";
 *
 * const options: ProgressBarOptions = { steps: 600, epochs: 10, quiet: true };
 * const bar = new ProgressBar(options);
 * bar.start(1);
 * bar.update(600, { loss: 0.31 });
 * bar.end({ loss: 0.31, acc: 0.91 }); // quiet: writes nothing
 * console.log("done"); // done
 * ```
 */
export interface ProgressBarOptions extends ProgressDisplayOptions {
  /** Steps per epoch. */
  readonly steps: number;
  /** Total number of epochs, shown as `epoch 3/10` (omit to show `epoch 3`). */
  readonly epochs?: number;
  /** Write nothing at all (default false). */
  readonly quiet?: boolean;
}

const encoder = new TextEncoder();

function writeAll(w: ProgressWriter, text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) {
    const n = w.writeSync(bytes.subarray(off));
    if (!(n > 0)) break;
    off += n;
  }
}

/** Formats a metric value: 4 decimals in [1e-3, 1e4), otherwise 3 significant decimals in exponent form. */
function fmtValue(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  const a = Math.abs(v);
  return a === 0 || (a >= 1e-3 && a < 1e4) ? v.toFixed(4) : v.toExponential(3);
}

/** `m:ss`, or `h:mm:ss` from one hour on. */
function fmtClock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Elapsed time: `7.0s` under a minute, `m:ss` or `h:mm:ss` above. */
function fmtElapsed(seconds: number): string {
  return seconds < 60 ? `${seconds.toFixed(1)}s` : fmtClock(seconds);
}

function fmtRate(done: number, seconds: number): string | undefined {
  if (!(seconds > 0) || done <= 0) return undefined;
  const rate = done / seconds;
  return rate >= 1 ? `${rate.toFixed(1)} it/s` : `${(1 / rate).toFixed(2)} s/it`;
}

function fmtValues(values: Readonly<Record<string, number>> | undefined): string {
  if (values === undefined) return "";
  return Object.entries(values).map(([k, v]) => ` ${k} ${fmtValue(v)}`).join("");
}

/**
 * A progress bar for epochs of a fixed number of steps. Call
 * {@linkcode ProgressBar.start} at the start of each epoch,
 * {@linkcode ProgressBar.update} after each step and
 * {@linkcode ProgressBar.end} when the epoch is over. Terminal mode redraws
 * one line (`\r` then the line, then `ESC[K` to clear what is left of the
 * old one); plain mode writes one line per epoch at `end`, and a progress
 * line every `logEveryMs` (default 10 s) within an epoch; `quiet` writes
 * nothing. Rate (`it/s`, or `s/it` below one step per second) and ETA come
 * from the injected clock.
 *
 * @example
 * ```ts
 * import { ProgressBar } from "@gradus/core";
 * let text = "";
 * let now = 0;
 * const bar = new ProgressBar({
 *   steps: 4,
 *   epochs: 2,
 *   tty: false,
 *   clock: () => now,
 *   writer: { writeSync: (p) => (text += new TextDecoder().decode(p), p.length) },
 * });
 * bar.start(1);
 * for (let i = 1; i <= 4; i++) {
 *   now += 500;
 *   bar.update(i, { loss: 0.5 });
 * }
 * bar.end({ loss: 0.5, val_loss: 0.25 });
 * console.log(text); // "epoch 1/2 4/4 loss 0.5000 val_loss 0.2500 · 2.0 it/s · 2.0s\n"
 * ```
 */
export class ProgressBar {
  readonly #steps: number;
  readonly #epochs: number | undefined;
  readonly #quiet: boolean;
  readonly #writer: ProgressWriter | undefined;
  readonly #tty: boolean;
  readonly #clock: () => number;
  readonly #width: number;
  readonly #redrawMs: number;
  readonly #logEveryMs: number;
  #epoch = 0;
  #startTime = 0;
  #lastDraw = -Infinity;
  #done = 0;
  #lineOpen = false;

  /**
   * Makes a progress bar.
   *
   * @param options `steps` per epoch; optionally `epochs`, `quiet`,
   * `writer` (default `Deno.stdout`), `tty` (default: the writer's
   * `isTerminal()`), `clock` (milliseconds, default `performance.now`),
   * `width` (default 30), `redrawMs` (default 100) and `logEveryMs`
   * (default 10 000).
   * @example
   * ```ts
   * import { ProgressBar } from "@gradus/core";
   * const bar = new ProgressBar({ steps: 600, epochs: 10, quiet: true });
   * bar.start(1);
   * ```
   */
  constructor(options: ProgressBarOptions) {
    checkOptions("ProgressBar", options, PROGRESS_KEYS, "{ steps: 600, epochs: 10 }", true);
    const {
      steps,
      epochs,
      quiet = false,
      width = 30,
      redrawMs = 100,
      logEveryMs = 10_000,
    } = options;
    if (!Number.isInteger(steps) || steps < 0) {
      throw new RangeError(`ProgressBar(): steps must be a non-negative integer, got ${steps}`);
    }
    if (!Number.isInteger(width) || width < 1) {
      throw new RangeError(`ProgressBar(): width must be a positive integer, got ${width}`);
    }
    if (!(logEveryMs >= 0)) {
      throw new RangeError(
        `ProgressBar(): logEveryMs must be a number of milliseconds ≥ 0 (Infinity for none), got ${logEveryMs}`,
      );
    }
    this.#steps = steps;
    this.#epochs = epochs;
    this.#quiet = quiet;
    this.#writer = quiet ? undefined : options.writer ?? Deno.stdout;
    this.#tty = options.tty ?? this.#writer?.isTerminal?.() ?? false;
    this.#clock = options.clock ?? (() => performance.now());
    this.#width = width;
    this.#redrawMs = redrawMs;
    this.#logEveryMs = logEveryMs;
  }

  /**
   * Starts epoch `epoch` (1-based): resets the step count and the timer.
   *
   * @param epoch The epoch number, from 1.
   * @returns Nothing.
   * @example
   * ```ts
   * import { ProgressBar } from "@gradus/core";
   * new ProgressBar({ steps: 10, quiet: true }).start(1);
   * ```
   */
  start(epoch: number): void {
    this.#epoch = epoch;
    this.#done = 0;
    this.#startTime = this.#clock();
    // terminal mode draws the first step at once; plain mode waits logEveryMs
    this.#lastDraw = this.#tty ? -Infinity : this.#startTime;
  }

  /**
   * Reports that `done` steps of the current epoch are finished; in terminal
   * mode redraws the line (at most once per `redrawMs`, and always at the
   * last step); in plain mode writes a progress line when `logEveryMs` have
   * passed since the epoch started or since the last one.
   *
   * @param done Steps finished in this epoch (1 after the first).
   * @param values Values to show, e.g. `{ loss: 0.1234 }`.
   * @returns Nothing.
   * @example
   * ```ts
   * import { ProgressBar } from "@gradus/core";
   * const bar = new ProgressBar({ steps: 10, quiet: true });
   * bar.start(1);
   * bar.update(1, { loss: 2.3 });
   * ```
   */
  update(done: number, values?: Readonly<Record<string, number>>): void {
    this.#done = done;
    if (this.#quiet) return;
    const now = this.#clock();
    if (!this.#tty) {
      // plain mode: a line every logEveryMs within the epoch (end writes the last)
      if (done >= this.#steps || now - this.#lastDraw < this.#logEveryMs) return;
      this.#lastDraw = now;
      writeAll(this.#writer!, `${this.#head(false)}${fmtValues(values)}${this.#tail(now)}\n`);
      return;
    }
    if (done < this.#steps && now - this.#lastDraw < this.#redrawMs) return;
    this.#lastDraw = now;
    this.#draw(`${this.#head(true)}${fmtValues(values)}${this.#tail(now)}`);
  }

  /** ` · rate · ETA m:ss` at `now`, as far as known. */
  #tail(now: number): string {
    const done = this.#done;
    const seconds = (now - this.#startTime) / 1000;
    const rate = fmtRate(done, seconds);
    if (rate === undefined) return "";
    const eta = done < this.#steps
      ? ` · ETA ${fmtClock(((this.#steps - done) * seconds) / done)}`
      : "";
    return ` · ${rate}${eta}`;
  }

  /**
   * Ends the current epoch with its summary: in terminal mode the line is
   * redrawn complete and closed with a newline; in plain mode one line is
   * written.
   *
   * @param values The epoch's values, e.g. `{ loss: 0.12, val_loss: 0.15 }`.
   * @returns Nothing.
   * @example
   * ```ts
   * import { ProgressBar } from "@gradus/core";
   * const bar = new ProgressBar({ steps: 1, quiet: true });
   * bar.start(1);
   * bar.update(1);
   * bar.end({ loss: 0.5 });
   * ```
   */
  end(values?: Readonly<Record<string, number>>): void {
    if (this.#quiet) return;
    const seconds = (this.#clock() - this.#startTime) / 1000;
    const rate = fmtRate(this.#done, seconds);
    const line = `${this.#head(this.#tty)}${fmtValues(values)}${rate ? ` · ${rate}` : ""} · ${
      fmtElapsed(Math.max(0, seconds))
    }`;
    if (this.#tty) {
      this.#draw(line);
      writeAll(this.#writer!, "\n");
      this.#lineOpen = false;
    } else {
      writeAll(this.#writer!, `${line}\n`);
    }
  }

  /**
   * Closes a line left open in terminal mode (e.g. when training stops with
   * an error mid-epoch), so that later output starts on a fresh line.
   *
   * @returns Nothing.
   * @example
   * ```ts
   * import { ProgressBar } from "@gradus/core";
   * new ProgressBar({ steps: 1, quiet: true }).close();
   * ```
   */
  close(): void {
    if (this.#lineOpen) writeAll(this.#writer!, "\n");
    this.#lineOpen = false;
  }

  #head(withBar: boolean): string {
    const epoch = this.#epochs === undefined ? `${this.#epoch}` : `${this.#epoch}/${this.#epochs}`;
    const count = `${this.#done}/${this.#steps}`;
    return withBar ? `epoch ${epoch} ${this.#bar()} ${count}` : `epoch ${epoch} ${count}`;
  }

  #bar(): string {
    const w = this.#width;
    if (this.#steps === 0 || this.#done >= this.#steps) return `[${"=".repeat(w)}]`;
    const filled = Math.min(w - 1, Math.floor((w * Math.max(0, this.#done)) / this.#steps));
    return `[${"=".repeat(filled)}>${" ".repeat(w - filled - 1)}]`;
  }

  #draw(line: string): void {
    writeAll(this.#writer!, `\r${line}\x1b[K`);
    this.#lineOpen = true;
  }
}
