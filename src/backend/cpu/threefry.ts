/**
 * Threefry-2x32 (20 rounds), the counter-based PRNG of Random123 and JAX.
 *
 * All words are uint32 values carried in JS numbers; the arithmetic is done
 * on int32 (`| 0`) and converted back with `>>> 0` at the edges.
 *
 * @module
 */

/** Rotation amounts: rounds 1–4 (and 9–12, 17–20) use the first four, rounds 5–8 and 13–16 the last four. */
const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];

/** The key-schedule parity constant of Threefish/Threefry-2x32. */
const PARITY = 0x1bd11bda;

/** The extended key `[k0, k1, k0 ^ k1 ^ PARITY]` as int32 words. */
function keySchedule(k0: number, k1: number): Int32Array {
  return Int32Array.of(k0, k1, k0 ^ k1 ^ PARITY);
}

/** Encrypts the counter `(x0, x1)` under the extended key `ks`; writes the two int32 words to `res`. */
function block(ks: Int32Array, x0: number, x1: number, res: Int32Array): void {
  let a = (x0 + ks[0]) | 0;
  let b = (x1 + ks[1]) | 0;
  for (let g = 0; g < 5; g++) {
    const r = (g & 1) * 4;
    for (let i = 0; i < 4; i++) {
      const s = ROTATIONS[r + i];
      a = (a + b) | 0;
      b = ((b << s) | (b >>> (32 - s))) ^ a;
    }
    // Key injection after every 4 rounds.
    a = (a + ks[(g + 1) % 3]) | 0;
    b = (b + ks[(g + 2) % 3] + g + 1) | 0;
  }
  res[0] = a;
  res[1] = b;
}

/**
 * Threefry-2x32 with 20 rounds, bit-for-bit as Random123 and JAX's
 * `threefry_2x32`.
 *
 * @param k0 First key word (uint32).
 * @param k1 Second key word (uint32).
 * @param x0 First counter word (uint32).
 * @param x1 Second counter word (uint32).
 * @returns The two output words, as uint32 numbers.
 * @example
 * ```ts
 * import { threefry2x32 } from "./threefry.ts";
 * const [y0, y1] = threefry2x32(0, 0, 0, 0);
 * console.log(y0.toString(16), y1.toString(16)); // 6b200159 99ba4efe
 * ```
 */
export function threefry2x32(
  k0: number,
  k1: number,
  x0: number,
  x1: number,
): [number, number] {
  const res = new Int32Array(2);
  block(keySchedule(k0, k1), x0, x1, res);
  return [res[0] >>> 0, res[1] >>> 0];
}

/**
 * Fills `out` with random words from the key `(k0, k1)`: word `i` is word
 * `i % 2` of `threefry2x32(k0, k1, 0, offset + floor(i / 2))`, stored as
 * int32.
 *
 * @param out The array to fill (every element is overwritten).
 * @param k0 First key word (uint32).
 * @param k1 Second key word (uint32).
 * @param offset The first block (default 0; blocks must stay below 2³²).
 * @example
 * ```ts
 * import { randomBitsInto, threefry2x32 } from "./threefry.ts";
 * const out = new Int32Array(3);
 * randomBitsInto(out, 1, 2);
 * console.log(out[2] >>> 0 === threefry2x32(1, 2, 0, 1)[0]); // true
 * ```
 */
export function randomBitsInto(out: Int32Array, k0: number, k1: number, offset = 0): void {
  const ks = keySchedule(k0, k1);
  const res = new Int32Array(2);
  const len = out.length;
  for (let i = 0; i < len; i += 2) {
    block(ks, 0, offset + i / 2, res);
    out[i] = res[0];
    if (i + 1 < len) out[i + 1] = res[1];
  }
}
