/**
 * Helpers for the primitives' batching rules (`vmap`, see
 * `../autodiff/vmap.ts`): a batched value carries the batch as its axis 0.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { broadcastTo, reshape, transpose } from "./movement.ts";
import type { BatchArgs } from "./primitive.ts";

/** `x` (batched) with 1s inserted after the batch axis up to `rank` example axes. */
export function padBatched(x: Tensor, rank: number): Tensor {
  const inner = x.ndim - 1;
  if (inner >= rank) return x;
  return reshape(x, [x.shape[0], ...new Array<number>(rank - inner).fill(1), ...x.shape.slice(1)]);
}

/** `x` with its axis `from` moved to position `to` (the others keep their order). */
export function moveAxis(x: Tensor, from: number, to: number): Tensor {
  if (from === to) return x;
  const perm = [...x.shape.keys()].filter((i) => i !== from);
  perm.splice(to, 0, from);
  return transpose(x, perm);
}

/** `x` as a batched value: as it is when `batched`, else broadcast to `[size, ...x.shape]`. */
export function withBatch(x: Tensor, batched: boolean, size: number): Tensor {
  return batched ? x : broadcastTo(x, [size, ...x.shape]);
}

/**
 * The rule of elementwise ops with NumPy broadcasting: batched operands get
 * 1s after their batch axis up to the output's rank, so broadcasting lines
 * every operand up behind the batch axis.
 *
 * @param args The rule's arguments.
 * @returns The batched output.
 */
export function elementwiseBatch<P>(args: BatchArgs<P>): Tensor {
  const { inputs, batched, params, out, self } = args;
  const rank = out.shape.length;
  return self(inputs.map((x, i) => batched[i] ? padBatched(x, rank) : x), params);
}

/** The rule of one-input ops with an `axis` param: the axis moves up by one. */
export function axisBatch<P extends { readonly axis: number }>(args: BatchArgs<P>): Tensor {
  const { inputs, params, self } = args;
  return self(inputs, { ...params, axis: params.axis + 1 });
}

/** The rule of one-input ops with an `axes` param: every axis moves up by one. */
export function axesBatch<P extends { readonly axes: readonly number[] }>(
  args: BatchArgs<P>,
): Tensor {
  const { inputs, params, self } = args;
  return self(inputs, { ...params, axes: params.axes.map((a) => a + 1) });
}
