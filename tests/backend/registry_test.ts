/**
 * `setBackend`: a backend whose factory is synchronous is selected at once
 * (a call someone forgot to await still takes effect); while an async
 * factory runs, making a tensor is an error naming the call, not a tensor
 * on the old backend; the last call wins.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  CpuBackend,
  getBackend,
  jit,
  mul,
  registerBackend,
  setBackend,
  tensor,
} from "../../mod.ts";

/** Registers `name` as an async backend made once the returned function is called. */
function gatedBackend(name: string): () => void {
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  registerBackend(name, async () => {
    await gate;
    return new CpuBackend();
  });
  return () => release();
}

Deno.test("setBackend: synchronous factories select at once; an async one is awaited", async () => {
  const before = getBackend();
  try {
    registerBackend("test-sync", () => new CpuBackend());
    void setBackend("test-sync"); // not awaited: selected all the same
    assert.equal(getBackend(), "test-sync");
    await setBackend(before);
    const release = gatedBackend("test-async");
    const selecting = setBackend("test-async");
    assert.throws(
      () => tensor([1]),
      /^Error: setBackend\("test-async"\) has not finished: await it before making tensors/,
    );
    release();
    await selecting;
    assert.equal(getBackend(), "test-async");
    assert.deepEqual(tensor([1, 2]).arraySync(), [1, 2]);
    // The last call wins, even over an async one that finishes later.
    registerBackend("test-async", async () => {
      await new Promise((r) => setTimeout(r, 10));
      return new CpuBackend();
    });
    const late = setBackend("test-async");
    await setBackend(before);
    await late;
    assert.equal(getBackend(), before);
    // A factory that fails leaves nothing pending.
    registerBackend("test-fails", () => Promise.reject(new Error("no device")));
    await assert.rejects(setBackend("test-fails"), /no device/);
    assert.deepEqual(tensor([3]).arraySync(), [3]);
  } finally {
    await setBackend(before);
  }
});

Deno.test("setBackend: a call that fails at once leaves an earlier pending one to finish", async () => {
  const before = getBackend();
  try {
    registerBackend("test-slow", async () => {
      await new Promise((r) => setTimeout(r, 10));
      return new CpuBackend();
    });
    registerBackend("test-throws", () => {
      throw new Error("no such device");
    });
    const slow = setBackend("test-slow");
    await assert.rejects(setBackend("test-nope"), /unknown backend "test-nope"/);
    await assert.rejects(setBackend("test-throws"), /no such device/);
    await slow;
    assert.equal(getBackend(), "test-slow");
    assert.deepEqual(tensor([1, 2]).arraySync(), [1, 2]);
  } finally {
    await setBackend(before);
  }
});

Deno.test("setBackend: while one is pending, a jitted function traced before runs on existing tensors", async () => {
  const before = getBackend();
  const double = jit((x) => mul(x, 2));
  const x = tensor([1, 2]);
  assert.deepEqual(double(x).arraySync(), [2, 4]);
  const release = gatedBackend("test-gated");
  const selecting = setBackend("test-gated");
  try {
    // It threw "await it before making tensors", though it makes none.
    assert.deepEqual(double(x).arraySync(), [2, 4]);
    // A new trace would make tensors: the usual error.
    assert.throws(() => jit((v) => mul(v, tensor(3)))(x), /has not finished: await it/);
  } finally {
    release();
    await selecting;
    await setBackend(before);
  }
});
