/**
 * The WebAssembly binary format's building blocks (core specification §5):
 * LEB128 integers, names, vectors, sections, and the encoding of a whole
 * module from already-encoded function bodies, for the typed assembler
 * ({@link ./module.ts}).
 *
 * @module
 */

/**
 * Unsigned LEB128 encoding of an integer in `0 … 2³² − 1`.
 *
 * @example
 * ```ts
 * import { uleb } from "./binary.ts";
 *
 * if (uleb(624485).join() !== "229,142,38") throw new Error("uleb");
 * ```
 *
 * @param value A non-negative integer below 2³².
 * @returns The encoded bytes (1 to 5).
 */
export function uleb(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`uleb(): expected an integer in 0 … 2³² − 1, got ${value}`);
  }
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/**
 * Signed LEB128 encoding of a 32-bit integer (values in `2³¹ … 2³² − 1` are
 * taken as their two's-complement `i32`, as `i32.const` reads them).
 *
 * @example
 * ```ts
 * import { sleb } from "./binary.ts";
 *
 * if (sleb(-123456).join() !== "192,187,120") throw new Error("sleb");
 * ```
 *
 * @param value An integer in `−2³¹ … 2³² − 1`.
 * @returns The encoded bytes (1 to 5).
 */
export function sleb(value: number): number[] {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
    throw new RangeError(`sleb(): expected an integer in −2³¹ … 2³² − 1, got ${value}`);
  }
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/**
 * Signed LEB128 encoding of a 64-bit integer (for `i64.const`; values in
 * `2⁶³ … 2⁶⁴ − 1` are taken as their two's-complement `i64`).
 *
 * @example
 * ```ts
 * import { sleb64 } from "./binary.ts";
 *
 * if (sleb64(-1n).join() !== "127") throw new Error("sleb64");
 * ```
 *
 * @param value An integer in `−2⁶³ … 2⁶⁴ − 1`.
 * @returns The encoded bytes (1 to 10).
 */
export function sleb64(value: bigint): number[] {
  if (value < -(2n ** 63n) || value >= 2n ** 64n) {
    throw new RangeError(`sleb64(): expected an integer in −2⁶³ … 2⁶⁴ − 1, got ${value}`);
  }
  const out: number[] = [];
  let v = BigInt.asIntN(64, value);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** The UTF-8 bytes of a name, preceded by their count. */
export function encodeName(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/** A vector: element count then the concatenated elements. */
export function vec(items: readonly (readonly number[])[]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** One section: id, byte size, contents (nothing for an empty one). */
function section(id: number, contents: readonly number[]): number[] {
  return contents.length === 0 ? [] : [id, ...uleb(contents.length), ...contents];
}

/**
 * The memory a module imports as `module.field`: at least `minPages` 64 KiB
 * pages, at most `maxPages` where given, shared between threads where
 * `shared` (which needs `maxPages`).
 */
export interface MemoryImport {
  /** Import module name, e.g. `"env"`. */
  readonly module: string;
  /** Import field name, e.g. `"memory"`. */
  readonly field: string;
  /** Initial size in 64 KiB pages. */
  readonly minPages: number;
  /** Maximum size in pages; required when `shared`. */
  readonly maxPages?: number;
  /** Whether the memory is a shared one (threads proposal). */
  readonly shared?: boolean;
}

/**
 * Function types, each stored once, numbered in order of first use: the
 * type section of a module.
 */
export class TypeTable {
  readonly #keys = new Map<string, number>();
  /** The encoded types, in index order. */
  readonly entries: (readonly number[])[] = [];

  /**
   * The index of the type `[params] → [results]`, added if new.
   *
   * @param params Parameter value types.
   * @param results Result value types.
   * @returns The type index.
   */
  index(params: readonly number[], results: readonly number[]): number {
    const bytes = [0x60, ...vec(params.map((t) => [t])), ...vec(results.map((t) => [t]))];
    const key = bytes.join(",");
    let i = this.#keys.get(key);
    if (i === undefined) {
      i = this.entries.push(bytes) - 1;
      this.#keys.set(key, i);
    }
    return i;
  }
}

/**
 * A growable byte buffer the encoders write into (one copy at the end, not
 * one per nesting level as arrays spread into arrays would make).
 *
 * @example
 * ```ts
 * import { ByteWriter } from "./binary.ts";
 *
 * const w = new ByteWriter();
 * w.byte(0x41);
 * w.sleb(-1);
 * if (w.finish().join() !== "65,127") throw new Error("ByteWriter");
 * ```
 */
export class ByteWriter {
  #buf = new Uint8Array(256);
  /** How many bytes were written. */
  length = 0;

  #room(n: number): Uint8Array {
    if (this.length + n > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < this.length + n) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#buf.subarray(0, this.length));
      this.#buf = grown;
    }
    return this.#buf;
  }

  /** Appends one byte. */
  byte(b: number): void {
    this.#room(1)[this.length++] = b;
  }

  /** Appends bytes. */
  bytes(bs: ArrayLike<number>): void {
    const buf = this.#room(bs.length);
    for (let i = 0; i < bs.length; i++) buf[this.length++] = bs[i];
  }

  /** Appends what another writer holds. */
  append(w: ByteWriter): void {
    this.#room(w.length).set(w.#buf.subarray(0, w.length), this.length);
    this.length += w.length;
  }

  /** Appends the unsigned LEB128 encoding of `value` (as {@link uleb}). */
  uleb(value: number): void {
    if (value >= 0 && value < 0x80 && Number.isInteger(value)) this.byte(value);
    else this.bytes(uleb(value));
  }

  /** Appends the signed LEB128 encoding of `value` (as {@link sleb}). */
  sleb(value: number): void {
    if (value >= -64 && value < 64 && Number.isInteger(value)) this.byte(value & 0x7f);
    else this.bytes(sleb(value));
  }

  /** The bytes written. */
  finish(): Uint8Array<ArrayBuffer> {
    return this.#buf.slice(0, this.length);
  }
}

/** One function, encoded. */
export interface EncodedFunction {
  /** Index of its type in the module's {@link TypeTable}. */
  readonly typeIndex: number;
  /** Types of the locals after the parameters, in index order. */
  readonly locals: readonly number[];
  /** The instructions, without the final `end`. */
  readonly body: ByteWriter;
  /** Export name; unexported when absent. */
  readonly export?: string;
  /** Name for the name section (only written when names are asked for). */
  readonly name?: string;
  /** Local names by index, params first (only written when names are asked for). */
  readonly localNames?: readonly string[];
}

/** The memory import's `limits` (flags: bit 0 a maximum follows, bit 1 shared). */
function limits(m: MemoryImport): number[] {
  if (m.shared && m.maxPages === undefined) {
    throw new RangeError(`memory import ${m.module}.${m.field}: a shared memory needs maxPages`);
  }
  return m.maxPages === undefined
    ? [0x00, ...uleb(m.minPages)]
    : [m.shared ? 0x03 : 0x01, ...uleb(m.minPages), ...uleb(m.maxPages)];
}

/**
 * Encodes a module of `funcs` (function `i` has index `i`) with the type
 * section `types` and, if given, one imported memory.
 *
 * @param funcs The functions in index order.
 * @param types The type section (every `typeIndex`, and every block type
 *   the bodies refer to, is an index into it).
 * @param opts `memory`: the memory import; `names`: also write a `name`
 *   custom section (function and local names).
 * @returns The module's bytes.
 */
export function encodeModule(
  funcs: readonly EncodedFunction[],
  types: TypeTable,
  opts: { readonly memory?: MemoryImport; readonly names?: boolean } = {},
): Uint8Array<ArrayBuffer> {
  const m = opts.memory;
  const out = new ByteWriter();
  out.bytes([0x00, 0x61, 0x73, 0x6d]); // magic "\0asm"
  out.bytes([0x01, 0x00, 0x00, 0x00]); // version 1
  /** A section: id, byte size, contents (nothing for an empty one). */
  const put = (id: number, write: (w: ByteWriter) => void): void => {
    const w = new ByteWriter();
    write(w);
    if (w.length === 0) return;
    out.byte(id);
    out.uleb(w.length);
    out.append(w);
  };
  put(1, (w) => {
    w.uleb(types.entries.length);
    for (const e of types.entries) w.bytes(e);
  });
  put(2, (w) => {
    if (m === undefined) return;
    w.byte(1);
    w.bytes(encodeName(m.module));
    w.bytes(encodeName(m.field));
    w.byte(0x02);
    w.bytes(limits(m));
  });
  put(3, (w) => {
    w.uleb(funcs.length);
    for (const f of funcs) w.uleb(f.typeIndex);
  });
  put(7, (w) => {
    w.uleb(funcs.filter((f) => f.export !== undefined).length);
    funcs.forEach((f, i) => {
      if (f.export === undefined) return;
      w.bytes(encodeName(f.export));
      w.byte(0x00);
      w.uleb(i);
    });
  });
  put(10, (w) => {
    w.uleb(funcs.length);
    for (const f of funcs) {
      // Locals are declared as runs of equal types.
      const runs: number[][] = [];
      for (const t of f.locals) {
        const last = runs[runs.length - 1];
        if (last !== undefined && last[1] === t) last[0]++;
        else runs.push([1, t]);
      }
      const body = new ByteWriter();
      body.uleb(runs.length);
      for (const [count, t] of runs) {
        body.uleb(count);
        body.byte(t);
      }
      body.append(f.body);
      body.byte(0x0b);
      w.uleb(body.length);
      w.append(body);
    }
  });
  if (opts.names) out.bytes(nameSection(funcs));
  return out.finish();
}

/** The `name` custom section: function names (subsection 1) and local names (2). */
function nameSection(funcs: readonly EncodedFunction[]): number[] {
  const fnNames = vec(funcs.map((f, i) => [...uleb(i), ...encodeName(f.name ?? `f${i}`)]));
  const localNames = vec(funcs.map((f, i) => [
    ...uleb(i),
    ...vec((f.localNames ?? []).map((n, j) => [...uleb(j), ...encodeName(n)])),
  ]));
  const sub = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
  return section(0, [...encodeName("name"), ...sub(1, fnNames), ...sub(2, localNames)]);
}
