import assert from "node:assert/strict";
import {
  loadSafetensors,
  readSafetensorsHeader,
  saveSafetensors,
  serializeSafetensors,
} from "../../src/checkpoint/mod.ts";
import { tensor, zeros } from "../../src/ops/mod.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gradus_checkpoint_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("saveSafetensors / loadSafetensors: round trip through a file, no temp file left", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/model.safetensors`;
    const state = {
      params: { w: tensor([[1, 2], [3, 4]]), b: tensor([0.5, -0.5]) },
      optState: { count: 7, mu: { w: tensor([[0.1, 0.2], [0.3, 0.4]]), b: zeros([2]) } },
      step: 1200,
    };
    await saveSafetensors(path, state, { metadata: { epoch: "3" } });
    assert.deepEqual(await listDir(dir), ["model.safetensors"]);
    const bytes = await Deno.readFile(path);
    assert.equal(readSafetensorsHeader(bytes).metadata.epoch, "3");

    const template = {
      params: { w: zeros([2, 2]), b: zeros([2]) },
      optState: { count: 0, mu: { w: zeros([2, 2]), b: zeros([2]) } },
      step: 0,
    };
    const restored = await loadSafetensors(path, template);
    assert.equal(restored.step, 1200);
    assert.equal(restored.optState.count, 7);
    assert.deepEqual(await restored.params.w.array(), [[1, 2], [3, 4]]);
    assert.deepEqual(
      await restored.optState.mu.w.array(),
      await state.optState.mu.w.array(),
    );
    const { tensors, metadata } = await loadSafetensors(path);
    assert.equal(metadata.epoch, "3");
    assert.deepEqual(Object.keys(tensors).sort(), [
      "optState.count",
      "optState.mu.b",
      "optState.mu.w",
      "params.b",
      "params.w",
      "step",
    ]);

    // overwriting replaces the file atomically; float16 halves the data
    await saveSafetensors(path, state, { dtype: "float16" });
    assert.deepEqual(await listDir(dir), ["model.safetensors"]);
    const half = readSafetensorsHeader(await Deno.readFile(path));
    assert.equal(half.tensors["params.w"].dtype, "F16");
    assert.equal(half.tensors.step.dtype, "F64"); // numbers stay exact
    assert.deepEqual(await (await loadSafetensors(path, template)).params.b.array(), [0.5, -0.5]);
  });
});

Deno.test("saveSafetensors: a tree that cannot be stored writes nothing", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/bad.safetensors`;
    await assert.rejects(
      () => saveSafetensors(path, { w: tensor([1]), name: "model" }),
      /^Error: saveSafetensors\(\): cannot store this tree \(1 problem\):\n {2}- "name" is a string \("model"\)/,
    );
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("saveSafetensors: a missing directory is an error naming the function and the path", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/missing/m.safetensors`;
    await assert.rejects(
      () => saveSafetensors(path, { w: tensor([1]) }),
      (e: Error) => {
        assert.ok(e instanceof Deno.errors.NotFound); // Deno's class is kept
        assert.ok(
          e.message.startsWith(
            `saveSafetensors(): cannot write ${path}: the directory ${dir}/missing does not exist (create it first; `,
          ),
          e.message,
        );
        assert.ok(e.cause instanceof Deno.errors.NotFound);
        return true;
      },
    );
    assert.deepEqual(await listDir(dir), []);
    await assert.rejects(
      () => loadSafetensors(`${dir}/nope.safetensors`),
      (e: Error) => {
        assert.ok(e instanceof Deno.errors.NotFound);
        assert.match(
          e.message,
          /^loadSafetensors\(\): cannot read .*\/nope\.safetensors: the file does not exist \(/,
        );
        return true;
      },
    );
  });
});

Deno.test("saveSafetensors: concurrent saves to one path both resolve; the file is one whole checkpoint", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/m.safetensors`;
    // big enough (4 MB each) that the two writes overlap
    const a = { w: zeros([1 << 20]), step: 1 };
    const b = { w: tensor(new Float32Array(1 << 20).fill(2)), step: 2 };
    const bytesA = await serializeSafetensors(a);
    const bytesB = await serializeSafetensors(b);
    for (let round = 0; round < 4; round++) {
      await Promise.all([saveSafetensors(path, a), saveSafetensors(path, b)]);
      const got = await Deno.readFile(path);
      assert.ok(
        sameBytes(got, bytesA) || sameBytes(got, bytesB),
        `round ${round}: the file (${got.length} bytes) is neither checkpoint`,
      );
      assert.deepEqual(await listDir(dir), ["m.safetensors"]);
    }
    const restored = await loadSafetensors(path, { w: zeros([1 << 20]), step: 0 });
    assert.ok(restored.step === 1 || restored.step === 2);
  });
});

Deno.test("saveSafetensors: never touches an existing <path>.tmp, on success or failure", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/m.safetensors`;
    // a directory named <path>.tmp (empty: the old code removed it on failure)
    await Deno.mkdir(`${path}.tmp`);
    await saveSafetensors(path, { w: tensor([1, 2]) });
    assert.ok((await Deno.stat(`${path}.tmp`)).isDirectory);
    assert.deepEqual(await listDir(`${path}.tmp`), []);
    assert.deepEqual(await listDir(dir), ["m.safetensors", "m.safetensors.tmp"]);
    await Deno.remove(`${path}.tmp`);
    // a file named <path>.tmp keeps its contents
    await Deno.writeTextFile(`${path}.tmp`, "not mine");
    await saveSafetensors(path, { w: tensor([3, 4]) });
    assert.equal(await Deno.readTextFile(`${path}.tmp`), "not mine");
    assert.deepEqual(await (await loadSafetensors(path, { w: zeros([2]) })).w.array(), [3, 4]);

    // a failed save (the target is a directory): the error names the function
    // and the path; its own temp file is gone, the other files untouched
    const target = `${dir}/adir.safetensors`;
    await Deno.mkdir(target);
    await Deno.mkdir(`${target}.tmp`);
    await assert.rejects(
      () => saveSafetensors(target, { w: tensor([1]) }),
      (e: Error) => {
        assert.ok(e.message.startsWith(`saveSafetensors(): cannot write ${target}: `), e.message);
        return true;
      },
    );
    assert.deepEqual(await listDir(dir), [
      "adir.safetensors",
      "adir.safetensors.tmp",
      "m.safetensors",
      "m.safetensors.tmp",
    ]);
    assert.deepEqual(await listDir(target), []);
    assert.deepEqual(await listDir(`${target}.tmp`), []);
    assert.equal(await Deno.readTextFile(`${path}.tmp`), "not mine");
  });
});

Deno.test("saveSafetensors: flushes the new file to disk (fsync) before renaming it into place", async () => {
  const calls: string[] = [];
  const sync = Deno.FsFile.prototype.sync;
  const rename = Deno.rename;
  Deno.FsFile.prototype.sync = function (this: Deno.FsFile) {
    calls.push("sync");
    return sync.call(this);
  };
  Deno.rename = (from: string | URL, to: string | URL) => {
    calls.push(`rename to ${String(to).split("/").pop()}`);
    return rename(from, to);
  };
  try {
    await withTempDir(async (dir) => {
      await saveSafetensors(`${dir}/m.safetensors`, { w: tensor([1]) });
    });
  } finally {
    Deno.FsFile.prototype.sync = sync;
    Deno.rename = rename;
  }
  // the file, then the rename, then (where the system allows) the directory
  assert.deepEqual(calls.slice(0, 2), ["sync", "rename to m.safetensors"]);
});

// A directory this process may not write to: Deno's permissions (which hold
// for root too) are restricted for the test below; it is made here, with the
// permissions of the whole run, and removed by the test after it (or at
// exit, when a filter skipped that test).
const readOnlyDir = Deno.makeTempDirSync({ prefix: "gradus_checkpoint_ro_" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(readOnlyDir, { recursive: true });
  } catch {
    // already removed
  }
});

Deno.test({
  name:
    "saveSafetensors: without write permission the error names the function, the path and the flag",
  permissions: { read: true, write: false },
  fn: async () => {
    const path = `${readOnlyDir}/m.safetensors`;
    await assert.rejects(
      () => saveSafetensors(path, { w: tensor([1]) }),
      (e: Error) => {
        assert.ok(e instanceof Deno.errors.NotCapable);
        assert.ok(
          e.message.startsWith(
            `saveSafetensors(): cannot write ${path}: no permission (run with --allow-write=${readOnlyDir} or --allow-write; `,
          ),
          e.message,
        );
        return true;
      },
    );
    assert.deepEqual(await listDir(readOnlyDir), []);
  },
});

Deno.test("saveSafetensors: a read-only directory is an error naming the function and the path", async () => {
  try {
    await Deno.chmod(readOnlyDir, 0o555);
    // root ignores the mode: there the test above (Deno's permissions) covers this case
    const probe = `${readOnlyDir}/probe`;
    const writable = await Deno.writeFile(probe, new Uint8Array(0)).then(() => true, () => false);
    if (writable) {
      await Deno.remove(probe);
      return;
    }
    const path = `${readOnlyDir}/m.safetensors`;
    await assert.rejects(
      () => saveSafetensors(path, { w: tensor([1]) }),
      (e: Error) => {
        assert.ok(e instanceof Deno.errors.PermissionDenied);
        assert.ok(
          e.message.startsWith(
            `saveSafetensors(): cannot write ${path}: the operating system refused access (`,
          ),
          e.message,
        );
        return true;
      },
    );
    assert.deepEqual(await listDir(readOnlyDir), []);
  } finally {
    await Deno.chmod(readOnlyDir, 0o755);
    await Deno.remove(readOnlyDir, { recursive: true });
  }
});

Deno.test("loadSafetensors: truncated or mismatched files name the file and load nothing", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/m.safetensors`;
    await saveSafetensors(path, { w: zeros([250]), b: zeros([10]) });
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 40));
    await assert.rejects(
      () => loadSafetensors(path, { w: zeros([250]), b: zeros([10]) }),
      (e: Error) => {
        assert.equal(
          e.message,
          `loadSafetensors(): the file ${path} is truncated: the header says 1040 bytes of tensor data, found 1000`,
        );
        return true;
      },
    );
    await Deno.writeFile(path, bytes);
    await assert.rejects(
      () => loadSafetensors(path, { w: zeros([25, 10]), c: zeros([10]) }),
      (e: Error) => {
        assert.equal(
          e.message,
          [
            `loadSafetensors(): the file ${path} does not match the template (3 problems):`,
            `  - missing from the file: "c" (the template has float32 [10])`,
            `  - shape mismatch: "w" is [250] in the file, [25,10] in the template`,
            `  - unexpected in the file: "b" (F32 [10]) is not in the template`,
            "Names are key paths joined with dots (layers.0.w); read it without a template to see what it holds.",
          ].join("\n"),
        );
        return true;
      },
    );
  });
});
