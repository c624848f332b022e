/**
 * Helpers for the data tests: temp directories, gzip, and small fake
 * datasets written to disk.
 *
 * @module
 */

import { data } from "../../mod.ts";

/** Gzips bytes. */
export const gzip: (bytes: Uint8Array) => Promise<Uint8Array> = data.gzip;

/** Runs `fn` with a fresh temp directory, removed afterwards. */
export async function withTempDir<R>(fn: (dir: string) => Promise<R>): Promise<R> {
  const dir = await Deno.makeTempDir({ prefix: "gradus_data_test_" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The pixel value of fake image `k`, pixel `p`: every image is different. */
export function fakePixel(k: number, p: number, salt = 0): number {
  return (k * 7 + p + salt) % 256;
}

/** The label of fake example `k`. */
export function fakeLabel(k: number, salt = 0): number {
  return (k + salt) % 10;
}

/** Images `[n, 28, 28]` and labels `[n]` as IDX bytes. */
export function fakeIdx(n: number, salt = 0): { images: Uint8Array; labels: Uint8Array } {
  const px = new Uint8Array(n * 784);
  for (let k = 0; k < n; k++) for (let p = 0; p < 784; p++) px[k * 784 + p] = fakePixel(k, p, salt);
  const lb = new Uint8Array(n);
  for (let k = 0; k < n; k++) lb[k] = fakeLabel(k, salt);
  return { images: data.encodeIdx(px, [n, 28, 28]), labels: data.encodeIdx(lb, [n]) };
}

/** Options of {@linkcode writeFakeMnist}. */
export interface FakeMnistOptions {
  readonly nTrain?: number;
  readonly nTest?: number;
  /** Gzip the files (names end in `.gz`). */
  readonly gz?: boolean;
  /** Added to pixels and labels, to tell sets apart. */
  readonly salt?: number;
}

/** Writes a tiny fake MNIST (4 IDX files) into `dir` (created if needed). */
export async function writeFakeMnist(dir: string, opts: FakeMnistOptions = {}): Promise<void> {
  const { nTrain = 6, nTest = 4, gz = false, salt = 0 } = opts;
  await Deno.mkdir(dir, { recursive: true });
  for (const [split, n] of [["train", nTrain], ["t10k", nTest]] as const) {
    const { images, labels } = fakeIdx(n, salt);
    const write = async (name: string, bytes: Uint8Array) =>
      gz
        ? await Deno.writeFile(`${dir}/${name}.gz`, await gzip(bytes))
        : await Deno.writeFile(`${dir}/${name}`, bytes);
    await write(`${split}-images-idx3-ubyte`, images);
    await write(`${split}-labels-idx1-ubyte`, labels);
  }
}

/** A CIFAR-10 batch of `n` records: label `(k + salt) % 10`, pixel p = `(k * 3 + p + salt) % 256`. */
export function fakeCifarBatch(n: number, salt = 0): Uint8Array {
  const out = new Uint8Array(n * 3073);
  for (let k = 0; k < n; k++) {
    out[k * 3073] = (k + salt) % 10;
    for (let p = 0; p < 3072; p++) out[k * 3073 + 1 + p] = (k * 3 + p + salt) % 256;
  }
  return out;
}

/** Names of the CIFAR-10 batch files, training first. */
export const CIFAR_FILES: readonly string[] = [
  "data_batch_1.bin",
  "data_batch_2.bin",
  "data_batch_3.bin",
  "data_batch_4.bin",
  "data_batch_5.bin",
  "test_batch.bin",
];

/** Writes a tiny fake CIFAR-10 (each batch file `perBatch` records; salt = file index). */
export async function writeFakeCifar(dir: string, perBatch = 2): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [i, name] of CIFAR_FILES.entries()) {
    await Deno.writeFile(`${dir}/${name}`, fakeCifarBatch(perBatch, i));
  }
}

/** Sets environment variables for the duration of `fn` (needs --allow-env), then restores them. */
export async function withEnv<R>(
  vars: Record<string, string | undefined>,
  fn: () => Promise<R>,
): Promise<R> {
  const old = new Map(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const set = (k: string, v: string | undefined) =>
    v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  for (const [k, v] of Object.entries(vars)) set(k, v);
  try {
    return await fn();
  } finally {
    for (const [k, v] of old) set(k, v);
  }
}

/** Whether this test run may read and write environment variables. */
export const ENV_GRANTED: boolean = Deno.permissions.querySync({ name: "env" }).state === "granted";

/**
 * Runs `fn` with GRADUS_DATA_DIR unset when the environment is accessible
 * (a developer's own setting must not leak into the tests); without
 * --allow-env the loaders cannot read it anyway.
 */
export function withoutDataDirEnv<R>(fn: () => Promise<R>): Promise<R> {
  return ENV_GRANTED ? withEnv({ GRADUS_DATA_DIR: undefined }, fn) : fn();
}

/** A fake web server's `fetch` and the URLs it was asked for. */
export interface Served {
  readonly calls: string[];
  readonly fetch: (url: string) => Promise<Response>;
}

/** A fake `fetch` serving `files` by URL (a number: that HTTP status); 404 for others. */
export function serve(files: Record<string, Uint8Array | number>): Served {
  const calls: string[] = [];
  return {
    calls,
    fetch: (url: string) => {
      calls.push(url);
      const body = files[url];
      if (body === undefined) {
        return Promise.resolve(new Response("nope", { status: 404, statusText: "Not Found" }));
      }
      if (typeof body === "number") return Promise.resolve(new Response("", { status: body }));
      return Promise.resolve(new Response(body as Uint8Array<ArrayBuffer>));
    },
  };
}

/** A progress writer that keeps what is written. */
export function captured(): { writer: { writeSync(p: Uint8Array): number }; text: () => string } {
  let text = "";
  return {
    writer: { writeSync: (p: Uint8Array) => (text += new TextDecoder().decode(p), p.length) },
    text: () => text,
  };
}
