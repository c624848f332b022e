import assert from "node:assert/strict";
import {
  loadSafetensors,
  readSafetensorsHeader,
  saveSafetensors,
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
    // a directory that does not exist: the error propagates, nothing is left behind
    await assert.rejects(
      () => saveSafetensors(`${dir}/missing/m.safetensors`, { w: tensor([1]) }),
      Deno.errors.NotFound,
    );
    assert.deepEqual(await listDir(dir), []);
  });
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
    await assert.rejects(() => loadSafetensors(`${dir}/nope.safetensors`), Deno.errors.NotFound);
  });
});
