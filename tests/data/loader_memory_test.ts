/**
 * The loaders' memory, measured where it counts: the resident set of a
 * fresh process that has just loaded a full-size MNIST (60 000 + 10 000
 * images, 219 MB as float32). Runs `deno eval`: needs `--allow-run`
 * (`deno task test` has it).
 *
 * @module
 */

import assert from "node:assert/strict";
import { currentBackend } from "../../src/backend/registry.ts";
import { withTempDir, writeFakeMnist } from "./_fixtures.ts";

const MiB = 2 ** 20;

Deno.test({
  name: "mnist(): a full-size MNIST leaves a fresh process under 400 MiB RSS (needs --allow-run)",
  ignore: Deno.permissions.querySync({ name: "run", command: Deno.execPath() }).state !== "granted",
  async fn() {
    await withTempDir(async (dir) => {
      await writeFakeMnist(dir, { nTrain: 60000, nTest: 10000 });
      const mod = new URL("../../mod.ts", import.meta.url).href;
      const code = `import { data, setBackend } from ${JSON.stringify(mod)};
await setBackend(${JSON.stringify(currentBackend().name)});
const { train, test } = await data.mnist({ dir: ${
        JSON.stringify(dir)
      }, download: false, quiet: true });
console.log(JSON.stringify({
  rss: Deno.memoryUsage().rss,
  shapes: [train.x.shape, test.x.shape],
  last: [train.y.dataSync()[59999], test.x.dataSync()[9999 * 784 + 783]],
}));`;
      const { code: rc, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["eval", code],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(rc, 0, new TextDecoder().decode(stderr));
      const got = JSON.parse(new TextDecoder().decode(stdout));
      assert.deepEqual(got.shapes, [[60000, 784], [10000, 784]]);
      // fakeLabel(59999) and fakePixel(9999, 783) / 255, as float32
      assert.deepEqual(got.last, [59999 % 10, Math.fround(((9999 * 7 + 783) % 256) / 255)]);
      // 219 MB of float32 data, the runtime, the library: about 280 MiB when
      // the loader frees its temporaries at once (620 MiB when it did not).
      assert.ok(got.rss < 400 * MiB, `RSS ${(got.rss / MiB).toFixed(0)} MiB`);
    });
  },
});
