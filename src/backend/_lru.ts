/**
 * A map that keeps its `limit` most recently used entries: the caches of
 * compiled kernels, whose keys carry the constants baked into a kernel (a
 * learning rate that changes every step makes a new kernel each time), so
 * an unbounded map would grow for as long as the process runs.
 *
 * @module
 */

/**
 * A `Map` bounded to its `limit` most recently used entries (`get` and
 * `set` count as uses; the least recently used entry goes first).
 *
 * @example
 * ```ts
 * import { LruMap } from "./_lru.ts";
 *
 * const m = new LruMap<string, number>(2);
 * m.set("a", 1);
 * m.set("b", 2);
 * m.get("a"); // "a" is now the most recent
 * m.set("c", 3); // "b" goes
 * console.log([...m.keys()]); // ["a", "c"]
 * ```
 * @internal
 */
export class LruMap<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(readonly limit: number) {}

  /** How many entries are kept. */
  get size(): number {
    return this.#entries.size;
  }

  /** The value under `key` (now the most recently used), if any. */
  get(key: K): V | undefined {
    const v = this.#entries.get(key);
    if (v !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, v);
    }
    return v;
  }

  /** Sets `key` (the most recently used); drops the least recently used beyond the limit. */
  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.limit) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /** The keys, least recently used first. */
  keys(): IterableIterator<K> {
    return this.#entries.keys();
  }
}
