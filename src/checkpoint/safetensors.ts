/**
 * Serializing pytrees of tensors to and from safetensors bytes: the public
 * types, writing (storage dtypes, the header, the data), and reading with or
 * without a template (matching names, shapes and dtypes). Parsing and
 * validating the header is in `_header.ts`, the dtype codecs in `_dtypes.ts`.
 *
 * @module
 */

import { currentBackend } from "../backend/registry.ts";
import type { DType, TypedArray } from "../core/dtype.ts";
import { DTypeError, fmtShape } from "../core/errors.ts";
import { Tensor } from "../core/tensor.ts";
import { tensor } from "../ops/creation.ts";
import { describe } from "../ops/convert.ts";
import { unflatten } from "../tree/tree.ts";
import { compatible, decode, encode, type SafetensorsDType, STORAGE } from "./_dtypes.ts";
import { type InEntry, parseHeader, setOwn } from "./_header.ts";
import { duplicateNames, namedLeaves } from "./_names.ts";
import { checkOptions, type OptionKeys } from "../ops/_options.ts";

export type { SafetensorsDType } from "./_dtypes.ts";

/** The `__metadata__` key under which gradus lists the names of leaves that were plain numbers (a JSON array). */
const NUMBERS_KEY = "gradus.numbers";
/** How many problems a mismatch error lists before summarizing the rest. */
const MAX_LISTED = 20;

/**
 * Options of {@linkcode serializeSafetensors} and `saveSafetensors`.
 *
 * @example
 * ```ts
 * import {
 *   readSafetensorsHeader,
 *   type SerializeOptions,
 *   serializeSafetensors,
 *   zeros,
 * } from "@gradus/core";
 *
 * const options: SerializeOptions = { dtype: "float16", metadata: { epoch: "3" } };
 * const bytes = await serializeSafetensors({ w: zeros([256, 256]) }, options);
 * const header = readSafetensorsHeader(bytes);
 * console.log(header.tensors.w.dtype, header.metadata.epoch); // "F16" "3"
 * console.log(bytes.length < 256 * 256 * 4); // true: half the size of float32
 * ```
 */
export interface SerializeOptions {
  /**
   * Storage type of float tensors. Default: keep each tensor's own
   * (float32 → `F32`, float64 → `F64`). `"float32"` stores float64 tensors
   * as `F32` too; `"float16"` stores every float tensor as `F16`, half the
   * size of float32 (rounded to nearest, ties to even: relative error at most
   * 2⁻¹¹; magnitudes of 65520 and above become ±Infinity, those between
   * 65504 and 65520 round to ±65504, below about 3·10⁻⁸ become 0). int32 and bool tensors, and number leaves, are always stored
   * exactly.
   */
  readonly dtype?: "float32" | "float16";
  /** String key/value pairs stored in the header's `__metadata__`. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * One tensor entry of a safetensors header.
 *
 * @example
 * ```ts
 * import {
 *   readSafetensorsHeader,
 *   type SafetensorsTensorInfo,
 *   serializeSafetensors,
 *   zeros,
 * } from "@gradus/core";
 *
 * const bytes = await serializeSafetensors({ w: zeros([3, 4]) });
 * const info: SafetensorsTensorInfo = readSafetensorsHeader(bytes).tensors.w;
 * console.log(info.dtype, info.shape, info.dataOffsets); // "F32" [3, 4] [0, 48]
 * ```
 */
export interface SafetensorsTensorInfo {
  /** The storage type, e.g. `"F32"`. */
  readonly dtype: SafetensorsDType;
  /** The shape. */
  readonly shape: readonly number[];
  /** `[begin, end)` byte offsets into the data that follows the header. */
  readonly dataOffsets: readonly [number, number];
}

/**
 * A validated safetensors header: what {@linkcode readSafetensorsHeader} returns.
 *
 * @example
 * ```ts
 * import {
 *   readSafetensorsHeader,
 *   type SafetensorsHeader,
 *   serializeSafetensors,
 *   zeros,
 * } from "@gradus/core";
 *
 * const bytes = await serializeSafetensors({ w: zeros([3, 4]) }, { metadata: { note: "demo" } });
 * const header: SafetensorsHeader = readSafetensorsHeader(bytes);
 * console.log(Object.keys(header.tensors), header.metadata); // [ "w" ] { note: "demo" }
 * ```
 */
export interface SafetensorsHeader {
  /** One entry per tensor, by name. */
  readonly tensors: Readonly<Record<string, SafetensorsTensorInfo>>;
  /** The `__metadata__` pairs (empty when there are none). */
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * The contents of a safetensors file read without a template.
 *
 * @example
 * ```ts
 * import {
 *   deserializeSafetensors,
 *   type SafetensorsContents,
 *   serializeSafetensors,
 *   tensor,
 * } from "@gradus/core";
 *
 * const bytes = await serializeSafetensors({ layers: [{ w: tensor([[1, 2]]) }] });
 * const contents: SafetensorsContents = deserializeSafetensors(bytes); // no template
 * console.log(Object.keys(contents.tensors)); // [ "layers.0.w" ]
 * console.log(contents.tensors["layers.0.w"].arraySync()); // [[1, 2]]
 * ```
 */
export interface SafetensorsContents {
  /**
   * Every tensor by name: F16, BF16 and F32 load as float32, F64 as float64,
   * the integer types as int32, BOOL as bool. Number leaves saved by gradus
   * come back as 0-d float64 tensors (their names are listed in
   * `metadata["gradus.numbers"]`).
   */
  readonly tensors: Readonly<Record<string, Tensor>>;
  /** The `__metadata__` pairs (empty when there are none). */
  readonly metadata: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------------------
// Writing

interface OutEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

function storageOf(leaf: Tensor | number, float: SerializeOptions["dtype"]): SafetensorsDType {
  if (typeof leaf === "number") return "F64";
  switch (leaf.dtype) {
    case "float32":
      return float === "float16" ? "F16" : "F32";
    case "float64":
      return float === "float16" ? "F16" : float === "float32" ? "F32" : "F64";
    case "int32":
      return "I32";
    case "bool":
      return "BOOL";
  }
}

/** A leaf that is neither a tensor nor a number, for error messages: `a string ("relu")`. */
function describeBadLeaf(x: unknown): string {
  switch (typeof x) {
    case "string":
      return `a string (${JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)})`;
    case "boolean":
      return `a boolean (${x})`;
    case "bigint":
      return `a bigint (${x}n; convert it with Number())`;
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    default:
      return describe(x);
  }
}

function listProblems(head: string, problems: readonly string[], hint = ""): Error {
  const shown = problems.slice(0, MAX_LISTED).map((p) => `  - ${p}`);
  if (problems.length > MAX_LISTED) shown.push(`  … and ${problems.length - MAX_LISTED} more`);
  const n = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return new Error(`${head} (${n}):\n${shown.join("\n")}${hint ? `\n${hint}` : ""}`);
}

const SERIALIZE_KEYS: OptionKeys<SerializeOptions> = { dtype: true, metadata: true };

/** `serializeSafetensors` under the name of its caller. @internal */
export async function serializeImpl(
  op: string,
  tree: unknown,
  opts: SerializeOptions,
): Promise<Uint8Array> {
  checkOptions(
    op.slice(0, -2),
    opts,
    SERIALIZE_KEYS,
    '{ dtype: "float16", metadata: { epoch: "3" } }',
  );
  const float = opts.dtype;
  if (float !== undefined && float !== "float32" && float !== "float16") {
    throw new RangeError(
      `${op}: dtype must be "float32" or "float16" (the storage of float tensors), got ${
        JSON.stringify(float)
      }`,
    );
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.metadata ?? {})) {
    if (typeof v !== "string") {
      throw new TypeError(
        `${op}: metadata values must be strings, got ${describe(v)} for ${JSON.stringify(k)}; ` +
          `convert it first, e.g. String(x) or JSON.stringify(x)`,
      );
    }
    // Written by this function: a value read back from a file (to save it again) is replaced.
    if (k !== NUMBERS_KEY) setOwn(metadata, k, v);
  }

  const { names, leaves } = namedLeaves(op, tree);
  const problems: string[] = [];
  names.forEach((name, i) => {
    const leaf = leaves[i];
    if (!(leaf instanceof Tensor) && typeof leaf !== "number") {
      problems.push(
        `${JSON.stringify(name)} is ${
          describeBadLeaf(leaf)
        }; only tensors and numbers can be stored ` +
          `(null and undefined subtrees are skipped)`,
      );
    }
  });
  for (const name of duplicateNames(names)) {
    problems.push(
      `the name ${JSON.stringify(name)} is given to more than one leaf (keys with dots?)`,
    );
  }
  if (names.includes("__metadata__")) {
    problems.push(`"__metadata__" is reserved by the format; rename that key`);
  }
  if (problems.length > 0) throw listProblems(`${op}: cannot store this tree`, problems);

  const numbers = names.filter((_, i) => typeof leaves[i] === "number");
  if (numbers.length > 0) metadata[NUMBERS_KEY] = JSON.stringify(numbers);

  const values: TypedArray[] = await Promise.all(
    leaves.map((leaf) =>
      leaf instanceof Tensor ? leaf.data() : Promise.resolve(new Float64Array([leaf as number]))
    ),
  );
  const entries: OutEntry[] = names.map((name, i) => {
    const leaf = leaves[i] as Tensor | number;
    const dtype = storageOf(leaf, float);
    return {
      name,
      dtype,
      shape: typeof leaf === "number" ? [] : [...leaf.shape],
      bytes: encode(values[i], dtype),
    };
  });
  // Widest elements first, then by name: every tensor starts aligned to its
  // element size (the data section starts 8-byte aligned), as the reference
  // implementation lays them out.
  entries.sort((a, b) =>
    STORAGE[b.dtype].size - STORAGE[a.dtype].size ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );

  const headerPairs: [string, unknown][] = [];
  if (Object.keys(metadata).length > 0) headerPairs.push(["__metadata__", metadata]);
  let offset = 0;
  for (const e of entries) {
    const end = offset + e.bytes.length;
    headerPairs.push([e.name, { dtype: e.dtype, shape: e.shape, data_offsets: [offset, end] }]);
    offset = end;
  }
  // Object.fromEntries defines own properties, so even a "__proto__" name is kept.
  let json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(headerPairs)));
  const pad = (8 - (json.length % 8)) % 8;
  if (pad > 0) {
    const padded = new Uint8Array(json.length + pad).fill(0x20); // spaces
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const e of entries) {
    out.set(e.bytes, pos);
    pos += e.bytes.length;
  }
  return out;
}

/**
 * Serializes a pytree of tensors to safetensors bytes, the format PyTorch,
 * JAX and Hugging Face read.
 *
 * Tensor names are the key paths joined with dots, PyTorch style, without the
 * root: `{layers: [{w, b}]}` gives `layers.0.w` and `layers.0.b`. Number
 * leaves (an optimizer's step count, say) are stored as 0-d `F64` tensors and
 * listed in `__metadata__["gradus.numbers"]`; `null` and `undefined`
 * subtrees are skipped. Any other leaf (a string, a boolean, …) is an error
 * naming it. Tensors are written little-endian and row-major, widest
 * element type first; the header is padded with spaces to 8-byte alignment.
 *
 * Reads every tensor with `await t.data()`, so it works on every backend.
 *
 * @param tree An object or array whose leaves are tensors or numbers.
 * @param opts `dtype`: storage of float tensors (default: keep float32 and
 * float64; `"float16"` halves the size); `metadata`: string pairs for the
 * header (the key `"gradus.numbers"` is managed by gradus).
 * @returns The file's bytes.
 * @throws {Error} Listing every leaf that cannot be stored, or names given to
 * two leaves (keys `"a.b"` and `a: {b}`).
 * @example
 * ```ts
 * import { deserializeSafetensors, serializeSafetensors, tensor } from "@gradus/core";
 *
 * const params = { layers: [{ w: tensor([[1, 2], [3, 4]]), b: tensor([0.5, -0.5]) }] };
 * const bytes = await serializeSafetensors(params, { metadata: { epoch: "3" } });
 * const { tensors, metadata } = deserializeSafetensors(bytes);
 * console.log(Object.keys(tensors).sort()); // ["layers.0.b", "layers.0.w"]
 * console.log(metadata.epoch, await tensors["layers.0.w"].array()); // "3" [[1, 2], [3, 4]]
 * ```
 */
export function serializeSafetensors(
  tree: unknown,
  opts: SerializeOptions = {},
): Promise<Uint8Array> {
  return serializeImpl("serializeSafetensors()", tree, opts);
}

// ---------------------------------------------------------------------------
// Reading

function valuesOf(bytes: Uint8Array, start: number, e: InEntry): ArrayLike<number> {
  return decode(bytes.subarray(start + e.begin, start + e.end), e.dtype);
}

/** The names of the leaves saved as plain numbers (`__metadata__["gradus.numbers"]`). */
function numberNames(metadata: Readonly<Record<string, string>>): Set<string> {
  try {
    const list: unknown = JSON.parse(metadata[NUMBERS_KEY] ?? "[]");
    return new Set(Array.isArray(list) ? list.filter((n) => typeof n === "string") : []);
  } catch {
    return new Set();
  }
}

function describeLeaf(leaf: Tensor | number): string {
  return typeof leaf === "number" ? "a number" : `${leaf.dtype} ${fmtShape(leaf.shape)}`;
}

/** `deserializeSafetensors` under the name of its caller. @internal */
export function deserializeImpl(
  op: string,
  what: string,
  bytes: Uint8Array,
  template: unknown,
): unknown {
  const { entries, metadata, dataStart } = parseHeader(op, what, bytes);
  // `what` without the path, for the lines of a mismatch list.
  const src = what.startsWith("the file") ? "the file" : what;
  if (template === undefined) {
    const backend = currentBackend();
    for (const e of entries.values()) {
      const dtype = STORAGE[e.dtype].dtype;
      if (!backend.dtypes.includes(dtype)) {
        throw new DTypeError(
          `${op}: entry ${JSON.stringify(e.name)} of ${src} is ${e.dtype} (${dtype}), which the ` +
            `${backend.name} backend cannot hold (it supports ${backend.dtypes.join(", ")}); ` +
            `read it with a template (its leaves give the dtypes: a number leaf reads back a ` +
            `number, a float32 tensor float32), or on the wasm or cpu backend`,
        );
      }
    }
    const tensors = Object.fromEntries(
      [...entries.values()].map((e) => [
        e.name,
        tensor(valuesOf(bytes, dataStart, e) as TypedArray, {
          shape: e.shape,
          dtype: STORAGE[e.dtype].dtype,
        }),
      ]),
    );
    return { tensors, metadata } satisfies SafetensorsContents;
  }

  const { names, leaves, def } = namedLeaves(op, template);
  const problems: string[] = [];
  const wanted = new Set(names);
  const savedNumbers = numberNames(metadata);
  names.forEach((name, i) => {
    const leaf = leaves[i];
    const q = JSON.stringify(name);
    if (!(leaf instanceof Tensor) && typeof leaf !== "number") {
      problems.push(
        `template leaf ${q} is ${describeBadLeaf(leaf)}; expected a tensor or a number`,
      );
      return;
    }
    const e = entries.get(name);
    if (e === undefined) {
      problems.push(`missing from ${src}: ${q} (the template has ${describeLeaf(leaf)})`);
      return;
    }
    const shape = typeof leaf === "number" ? [] : leaf.shape;
    if (fmtShape(shape) !== fmtShape(e.shape)) {
      problems.push(
        `shape mismatch: ${q} is ${fmtShape(e.shape)} in ${src}, ${
          typeof leaf === "number"
            ? "but the template has a number ([])"
            : `${fmtShape(shape)} in the template`
        }`,
      );
    }
    const dtype: DType | "number" = typeof leaf === "number" ? "number" : leaf.dtype;
    if (dtype === "int32" && savedNumbers.has(name) && e.shape.length === 0) {
      // A count saved as a number (optimizer states before counts were
      // int32 tensors) restores into an int32 scalar when it is one.
      const v = Number(valuesOf(bytes, dataStart, e)[0]);
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
        problems.push(`${q} is the number ${v} in ${src}, not an int32 for the template's int32`);
      }
    } else if (!compatible(e.dtype, dtype)) {
      problems.push(
        `dtype mismatch: ${q} is ${e.dtype} in ${src}, the template has ${
          dtype === "number" ? "a number" : dtype
        }`,
      );
    }
  });
  for (const name of duplicateNames(names)) {
    problems.push(`the template gives the name ${JSON.stringify(name)} to more than one leaf`);
  }
  const extra = [...entries.keys()].filter((name) => !wanted.has(name)).sort();
  for (const name of extra) {
    const e = entries.get(name)!;
    problems.push(
      `unexpected in ${src}: ${JSON.stringify(name)} (${e.dtype} ${
        fmtShape(e.shape)
      }) is not in the template`,
    );
  }
  if (problems.length > 0) {
    throw listProblems(
      `${op}: ${what} does not match the template`,
      problems,
      `Names are key paths joined with dots (layers.0.w); ` +
        `read it without a template to see what it holds.`,
    );
  }

  const restored = names.map((name, i) => {
    const leaf = leaves[i] as Tensor | number;
    const e = entries.get(name)!;
    const values = valuesOf(bytes, dataStart, e);
    if (typeof leaf === "number") return Number(values[0]);
    return tensor(values as TypedArray, { shape: leaf.shape, dtype: leaf.dtype });
  });
  return unflatten(def, restored);
}

/**
 * Reads safetensors bytes with no template: every tensor by name, and the
 * metadata.
 *
 * @param bytes The file's bytes.
 * @returns `{tensors, metadata}` (see {@linkcode SafetensorsContents} for the
 * dtypes).
 * @throws {Error} When the bytes are truncated or corrupt (bad header length,
 * invalid JSON, unknown dtype, offsets out of range or overlapping).
 * @throws {DTypeError} When an entry's dtype is one the current backend
 * cannot hold (F64 on webgpu: read with a template there).
 * @example
 * ```ts
 * import { deserializeSafetensors, serializeSafetensors, tensor } from "@gradus/core";
 *
 * const bytes = await serializeSafetensors({ w: tensor([1, 2, 3]), step: 10 });
 * const { tensors, metadata } = deserializeSafetensors(bytes);
 * console.log(tensors.w.dtype, await tensors.step.item()); // "float32" 10
 * console.log(metadata["gradus.numbers"]); // '["step"]'
 * ```
 */
export function deserializeSafetensors(bytes: Uint8Array): SafetensorsContents;
/**
 * Restores a pytree from safetensors bytes, using a template of the same
 * structure (freshly initialized params, or optimizer state from
 * `opt.init(params)`): every tensor leaf is replaced by the stored tensor of
 * the same name (key paths joined with dots), converted to the template's
 * dtype, and every number leaf by the stored number.
 *
 * Float storage (F16, BF16, F32, F64) fills float32 and float64 leaves;
 * integer storage fills int32 leaves; BOOL fills bool leaves. Shapes must
 * match exactly. Any problem — a missing or unexpected name, a shape or dtype
 * mismatch — is reported in one error that lists them all, and nothing is
 * returned: never a half-loaded model.
 *
 * @typeParam T The template's type, also the result's.
 * @param bytes The file's bytes.
 * @param template A pytree of tensors and numbers with the expected structure,
 * shapes and dtypes (its values are not used).
 * @returns A new pytree of the template's structure with the stored values.
 * @throws {Error} When the bytes are truncated or corrupt, or do not match the
 * template.
 * @example
 * ```ts
 * import { deserializeSafetensors, serializeSafetensors, tensor, zeros } from "@gradus/core";
 *
 * const trained = { w: tensor([[1, 2], [3, 4]]), step: 100 };
 * const bytes = await serializeSafetensors(trained, { dtype: "float16" });
 * const restored = deserializeSafetensors(bytes, { w: zeros([2, 2]), step: 0 });
 * console.log(await restored.w.array(), restored.step); // [[1, 2], [3, 4]] 100
 * ```
 */
export function deserializeSafetensors<T>(bytes: Uint8Array, template: T): T;
export function deserializeSafetensors(bytes: Uint8Array, template?: unknown): unknown {
  return deserializeImpl("deserializeSafetensors()", "the data", bytes, template);
}

/**
 * Reads and validates the header of safetensors bytes without making any
 * tensors: names, dtypes, shapes, offsets and the metadata. Useful to see
 * what a file holds, or to read its metadata next to a templated load.
 *
 * @param bytes The file's bytes (all of them: the layout of the data is
 * checked too).
 * @returns The tensor entries by name, and the metadata.
 * @throws {Error} When the bytes are truncated or corrupt.
 * @example
 * ```ts
 * import { readSafetensorsHeader, serializeSafetensors, tensor } from "@gradus/core";
 *
 * const bytes = await serializeSafetensors({ w: tensor([[1, 2]]) }, { metadata: { epoch: "7" } });
 * const header = readSafetensorsHeader(bytes);
 * console.log(header.tensors.w); // { dtype: "F32", shape: [1, 2], dataOffsets: [0, 8] }
 * console.log(header.metadata); // { epoch: "7" }
 * ```
 */
export function readSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  const { entries, metadata } = parseHeader("readSafetensorsHeader()", "the data", bytes);
  const tensors = Object.fromEntries(
    [...entries.values()].map((e) => [
      e.name,
      { dtype: e.dtype, shape: e.shape, dataOffsets: [e.begin, e.end] as const },
    ]),
  );
  return { tensors, metadata };
}
