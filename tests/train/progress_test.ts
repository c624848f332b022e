import assert from "node:assert/strict";
import { ProgressBar, type ProgressWriter } from "../../mod.ts";

/** A writer that records what was written (in chunks of at most `chunk` bytes, to test partial writes). */
function recorder(isTerminal?: boolean, chunk = Infinity): ProgressWriter & { text: () => string } {
  const parts: Uint8Array[] = [];
  const decoder = new TextDecoder();
  return {
    writeSync(p: Uint8Array): number {
      const n = Math.min(p.length, chunk);
      parts.push(p.slice(0, n));
      return n;
    },
    ...(isTerminal === undefined ? {} : { isTerminal: () => isTerminal }),
    text: () => parts.map((p) => decoder.decode(p)).join(""),
  };
}

/** A fake clock in milliseconds. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

Deno.test("ProgressBar: plain (non-TTY) mode writes one line per epoch, no control characters", () => {
  const w = recorder(false);
  const clock = fakeClock();
  const bar = new ProgressBar({ steps: 4, epochs: 2, writer: w, clock: clock.now });
  for (const epoch of [1, 2]) {
    bar.start(epoch);
    for (let i = 1; i <= 4; i++) {
      clock.advance(250);
      bar.update(i, { loss: 1 / i });
    }
    bar.end({ loss: 0.5208333, val_loss: 0.25, val_acc: 0.9 });
  }
  bar.close();
  assert.equal(
    w.text(),
    "epoch 1/2 4/4 loss 0.5208 val_loss 0.2500 val_acc 0.9000 · 4.0 it/s · 1.0s\n" +
      "epoch 2/2 4/4 loss 0.5208 val_loss 0.2500 val_acc 0.9000 · 4.0 it/s · 1.0s\n",
  );
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\r\x1b]/.test(w.text()));
});

Deno.test("ProgressBar: plain mode also writes a line every logEveryMs (default 10 s) within an epoch", () => {
  // 10 steps of 3 s: 12 s in, at step 4, then 12 s later, at step 8; step 10 is the summary.
  const w = recorder(false);
  const clock = fakeClock();
  const bar = new ProgressBar({ steps: 10, epochs: 2, writer: w, clock: clock.now });
  bar.start(1);
  for (let i = 1; i <= 10; i++) {
    clock.advance(3000);
    bar.update(i, { loss: 1 / i });
  }
  bar.end({ loss: 0.3 });
  assert.equal(
    w.text(),
    "epoch 1/2 4/10 loss 0.2500 · 3.00 s/it · ETA 0:18\n" +
      "epoch 1/2 8/10 loss 0.1250 · 3.00 s/it · ETA 0:06\n" +
      "epoch 1/2 10/10 loss 0.3000 · 3.00 s/it · 30.0s\n",
  );
  // A new epoch starts its own 10 s; Infinity writes epoch lines only.
  const quiet = recorder(false);
  const once = new ProgressBar({
    steps: 10,
    writer: quiet,
    clock: clock.now,
    logEveryMs: Infinity,
  });
  once.start(1);
  for (let i = 1; i <= 10; i++) {
    clock.advance(3000);
    once.update(i);
  }
  once.end();
  assert.equal(quiet.text(), "epoch 1 10/10 · 3.00 s/it · 30.0s\n");
  assert.throws(
    () => new ProgressBar({ steps: 1, logEveryMs: -1, quiet: true }),
    /^RangeError: ProgressBar\(\): logEveryMs must be a number of milliseconds ≥ 0/,
  );
});

Deno.test("ProgressBar: TTY mode redraws one line with rate and ETA, then ends it", () => {
  const w = recorder(true);
  const clock = fakeClock();
  const bar = new ProgressBar({
    steps: 4,
    epochs: 10,
    writer: w,
    clock: clock.now,
    width: 8,
    redrawMs: 0,
  });
  bar.start(3);
  clock.advance(500);
  bar.update(1, { loss: 0.1234 });
  clock.advance(500);
  bar.update(2, { loss: 0.1 });
  clock.advance(1000);
  bar.update(4, { loss: 0.05 });
  bar.end({ loss: 0.08, val_loss: 0.2 });
  const frames = w.text().split("\r").slice(1);
  assert.equal(w.text()[0], "\r");
  assert.deepEqual(frames, [
    "epoch 3/10 [==>     ] 1/4 loss 0.1234 · 2.0 it/s · ETA 0:02\x1b[K",
    "epoch 3/10 [====>   ] 2/4 loss 0.1000 · 2.0 it/s · ETA 0:01\x1b[K",
    "epoch 3/10 [========] 4/4 loss 0.0500 · 2.0 it/s\x1b[K",
    "epoch 3/10 [========] 4/4 loss 0.0800 val_loss 0.2000 · 2.0 it/s · 2.0s\x1b[K\n",
  ]);
});

Deno.test("ProgressBar: TTY mode shows the issue's example line", () => {
  const w = recorder(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ steps: 600, epochs: 10, writer: w, clock: clock.now, width: 10 });
  bar.start(3);
  clock.advance(120 / 85.2 * 1000);
  bar.update(120, { loss: 0.1234 });
  assert.equal(
    w.text(),
    "\repoch 3/10 [==>       ] 120/600 loss 0.1234 · 85.2 it/s · ETA 0:06\x1b[K",
  );
});

Deno.test("ProgressBar: TTY redraws are throttled to redrawMs, the last step always draws", () => {
  const w = recorder(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ steps: 10, writer: w, clock: clock.now, redrawMs: 100 });
  bar.start(1);
  for (let i = 1; i <= 10; i++) {
    clock.advance(30);
    bar.update(i);
  }
  // Drawn at steps 1, 5 (120 ms later), 9 (240 ms) and 10 (the last).
  const counts = w.text().split("\r").slice(1).map((f) => f.match(/ (\d+)\/10/)![1]);
  assert.deepEqual(counts, ["1", "5", "9", "10"]);
  assert.match(w.text(), /^\repoch 1 \[/);
});

Deno.test("ProgressBar: slow steps show s/it, long ETAs h:mm:ss, long epochs m:ss", () => {
  const w = recorder(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ steps: 2000, epochs: 1, writer: w, clock: clock.now, width: 4 });
  bar.start(1);
  clock.advance(2500);
  bar.update(1);
  // deno-lint-ignore no-control-regex
  assert.match(w.text(), / 1\/2000 · 2\.50 s\/it · ETA 1:23:18\x1b\[K$/);
  const plain = recorder();
  const bar2 = new ProgressBar({ steps: 2, writer: plain, clock: clock.now });
  bar2.start(1);
  clock.advance(75_000);
  bar2.update(2);
  bar2.end({ loss: 12345.6, acc: 1e-5, x: NaN });
  assert.equal(plain.text(), "epoch 1 2/2 loss 1.235e+4 acc 1.000e-5 x nan · 37.50 s/it · 1:15\n");
});

Deno.test("ProgressBar: no rate before time has passed; tty defaults to writer.isTerminal()", () => {
  const w = recorder(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ steps: 3, epochs: 1, writer: w, clock: clock.now, width: 3 });
  bar.start(1);
  bar.update(1);
  assert.equal(w.text(), "\repoch 1/1 [=> ] 1/3\x1b[K");
  bar.close();
  assert.equal(w.text(), "\repoch 1/1 [=> ] 1/3\x1b[K\n");
  bar.close(); // nothing more
  assert.equal(w.text(), "\repoch 1/1 [=> ] 1/3\x1b[K\n");
});

Deno.test("ProgressBar: partial writes are completed", () => {
  const w = recorder(false, 3);
  const clock = fakeClock();
  const bar = new ProgressBar({ steps: 1, writer: w, clock: clock.now });
  bar.start(1);
  clock.advance(100);
  bar.update(1);
  bar.end({ loss: 1 });
  assert.equal(w.text(), "epoch 1 1/1 loss 1.0000 · 10.0 it/s · 0.1s\n");
});

Deno.test("ProgressBar: quiet writes nothing", () => {
  for (const tty of [true, false]) {
    const w = recorder(tty);
    const bar = new ProgressBar({ steps: 2, epochs: 1, writer: w, quiet: true, redrawMs: 0 });
    bar.start(1);
    bar.update(1, { loss: 1 });
    bar.update(2, { loss: 1 });
    bar.end({ loss: 1 });
    bar.close();
    assert.equal(w.text(), "");
  }
});

Deno.test("ProgressBar: bad options are clear errors", () => {
  assert.throws(
    () => new ProgressBar({ steps: -1, quiet: true }),
    /steps must be a non-negative integer/,
  );
  assert.throws(
    () => new ProgressBar({ steps: 1, width: 0, quiet: true }),
    /width must be a positive integer/,
  );
});
