/**
 * Parsing and validating a safetensors header: the 8-byte little-endian
 * length, the JSON object of tensor entries and `__metadata__`, dtypes,
 * shapes, and a data layout covered exactly by the entries' offsets (no
 * overlaps, no holes, nothing after). Errors name the caller and the file.
 *
 * @module
 */

import { fmtShape } from "../core/errors.ts";
import { describe } from "../ops/convert.ts";
import { isSafetensorsDType, type SafetensorsDType, STORAGE } from "./_dtypes.ts";

/** The largest header accepted (the reference implementation's limit). */
const MAX_HEADER_BYTES = 100_000_000;

/** `obj[key] = value`, also for the key `"__proto__"`. */
export function setOwn(obj: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** One tensor entry of a parsed header. */
export interface InEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A parsed header. */
export interface Parsed {
  readonly entries: Map<string, InEntry>;
  readonly metadata: Record<string, string>;
  /** Where the tensor data starts in the bytes. */
  readonly dataStart: number;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

function showDType(x: unknown): string {
  return typeof x === "string" ? JSON.stringify(x) : describe(x);
}

/**
 * Parses and validates the header and the layout of the data; `op` and
 * `what` (`"the data"`, `"the file model.safetensors"`) start the messages.
 */
export function parseHeader(op: string, what: string, bytes: Uint8Array): Parsed {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`${op}: expected the bytes as a Uint8Array, got ${describe(bytes)}`);
  }
  if (bytes.length < 8) {
    throw new Error(
      `${op}: ${what} is too short to be safetensors: ${bytes.length} bytes, ` +
        `but it starts with an 8-byte header length`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  const after = bytes.length - 8;
  if (n64 < 2n || n64 > BigInt(MAX_HEADER_BYTES)) {
    throw new Error(
      `${op}: ${what} has a bad header length: ${n64} bytes (expected 2 to ${MAX_HEADER_BYTES}); ` +
        `it is not a safetensors file, or it is corrupt`,
    );
  }
  const n = Number(n64);
  if (n > after) {
    throw new Error(
      `${op}: ${what} is truncated: the header length says ${n} bytes, but only ${after} ` +
        `follow the 8-byte prefix (or it is not a safetensors file)`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw new Error(`${op}: ${what} has an invalid header: it is not UTF-8 text`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `${op}: ${what} has an invalid header: not valid JSON (${(e as Error).message})`,
    );
  }
  if (!isPlainObject(header)) {
    throw new Error(
      `${op}: ${what} has an invalid header: expected a JSON object, got ${describe(header)}`,
    );
  }

  const metadata: Record<string, string> = {};
  const entries = new Map<string, InEntry>();
  const bad = (msg: string) => new Error(`${op}: ${what} has an invalid header: ${msg}`);
  for (const [name, value] of Object.entries(header)) {
    const q = JSON.stringify(name);
    if (name === "__metadata__") {
      if (!isPlainObject(value)) {
        throw bad(`__metadata__ must be an object, got ${describe(value)}`);
      }
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== "string") {
          throw bad(
            `__metadata__ must map strings to strings, but ${JSON.stringify(k)} is ${describe(v)}`,
          );
        }
        setOwn(metadata, k, v);
      }
      continue;
    }
    if (!isPlainObject(value)) {
      throw bad(`the entry ${q} must be an object, got ${describe(value)}`);
    }
    const { dtype, shape, data_offsets: offsets } = value;
    if (!isSafetensorsDType(dtype)) {
      throw new Error(
        `${op}: ${what} has tensor ${q} of unknown dtype ${showDType(dtype)}; ` +
          `gradus reads ${Object.keys(STORAGE).join(", ")}`,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw bad(`tensor ${q} has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) ||
      offsets[0] > offsets[1]
    ) {
      throw bad(
        `tensor ${q} has invalid data_offsets ${JSON.stringify(offsets)} ` +
          `(expected [begin, end] with 0 <= begin <= end)`,
      );
    }
    const size = shape.reduce((a: number, b: number) => a * b, 1) * STORAGE[dtype].size;
    const [begin, end] = offsets as [number, number];
    if (!Number.isSafeInteger(size) || size !== end - begin) {
      throw bad(
        `tensor ${q} (${dtype} ${fmtShape(shape)}) needs ${size} bytes, ` +
          `but its data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries.set(name, { name, dtype, shape, begin, end });
  }

  // The data must be covered exactly: no overlaps, no holes, nothing after.
  const sorted = [...entries.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let last: InEntry | undefined;
  for (const e of sorted) {
    if (e.begin < covered) {
      throw bad(
        `tensors ${JSON.stringify(last!.name)} [${last!.begin}, ${last!.end}] and ` +
          `${JSON.stringify(e.name)} [${e.begin}, ${e.end}] overlap`,
      );
    }
    if (e.begin > covered) {
      throw bad(`bytes [${covered}, ${e.begin}) of the tensor data belong to no tensor`);
    }
    covered = e.end;
    last = e;
  }
  const found = after - n;
  if (found < covered) {
    throw new Error(
      `${op}: ${what} is truncated: the header says ${covered} bytes of tensor data, found ${found}`,
    );
  }
  if (found > covered) {
    throw new Error(
      `${op}: ${what} has ${found - covered} unexpected bytes after the tensor data ` +
        `(the header says ${covered} bytes, found ${found}); it is corrupt`,
    );
  }
  return { entries, metadata, dataStart: 8 + n };
}
