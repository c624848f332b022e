/**
 * The option keys of the gradient transformations that the aliases
 * (`adagrad`, `rmsprop`, `adam`, `adamw`) take too (see `checkOptions`).
 * Plain tables: each place that checks with one types it against its
 * options type, so a key that type has and the table lacks fails
 * `deno check` there.
 *
 * @module
 */

/** `scaleByRss`'s (and `adagrad`'s) option keys. @internal */
export const RSS_KEYS = { initialAccumulatorValue: true, eps: true } as const;

/** `scaleByRms`'s (and `rmsprop`'s) option keys. @internal */
export const RMS_KEYS = { decay: true, eps: true, initialScale: true } as const;

/** `scaleByAdam`'s (and `adam`'s) option keys. @internal */
export const ADAM_KEYS = { b1: true, b2: true, eps: true, epsRoot: true } as const;

/** `addDecayedWeights`'s option keys. @internal */
export const DECAY_KEYS = { mask: true } as const;
