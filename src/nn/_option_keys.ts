/**
 * The option keys of the convolution and pooling ops, shared by the ops and
 * the layers that pass their options on (see `checkOptions`). Plain tables:
 * each place that checks with one types it against its options type, so a
 * key that type has and the table lacks fails `deno check` there.
 *
 * @module
 */

/** `nn.conv2d`'s option keys. @internal */
export const CONV2D_KEYS = {
  stride: true,
  padding: true,
  dilation: true,
  groups: true,
  layout: true,
} as const;

/** `nn.maxPool2d`'s option keys. @internal */
export const POOL_KEYS = { window: true, stride: true, padding: true, layout: true } as const;

/** `nn.avgPool2d`'s option keys. @internal */
export const AVG_POOL_KEYS = { ...POOL_KEYS, countIncludePad: "boolean" } as const;

/** `nn.globalAvgPool2d`'s option keys. @internal */
export const GLOBAL_POOL_KEYS = { layout: true, keepdims: "boolean" } as const;
