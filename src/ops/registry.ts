/**
 * Every primitive, keyed by name. The tests type a table over these names,
 * so a primitive without a gradient check fails `deno check`.
 *
 * @module
 */

import { stopGradientPrim } from "../autodiff/stop_gradient.ts";
import { randomBitsPrim, randomUniformPrim } from "../random/prims.ts";
import { binaryPrims, castPrim, unaryPrims, wherePrim } from "./elementwise.ts";
import { matmulPrim } from "./matmul.ts";
import {
  broadcastPrim,
  concatPrim,
  reshapePrim,
  slicePrim,
  transposePrim,
  unslicePrim,
} from "./movement.ts";
import { scatterAddPrim, takePrim } from "./take.ts";
import { argPrims, logsumexpPrim, reducePrims } from "./reduce.ts";
import { argsortPrim } from "./sort.ts";
import { cumsumPrim } from "./cumsum.ts";

/** All primitives by name. @internal */
export const PRIMITIVES = {
  ...unaryPrims,
  ...binaryPrims,
  where: wherePrim,
  cast: castPrim,
  ...reducePrims,
  ...argPrims,
  logsumexp: logsumexpPrim,
  reshape: reshapePrim,
  transpose: transposePrim,
  broadcastTo: broadcastPrim,
  slice: slicePrim,
  unslice: unslicePrim,
  concat: concatPrim,
  take: takePrim,
  scatterAdd: scatterAddPrim,
  matmul: matmulPrim,
  argsort: argsortPrim,
  cumsum: cumsumPrim,
  stopGradient: stopGradientPrim,
  randomBits: randomBitsPrim,
  randomUniform: randomUniformPrim,
} as const;

/** The name of a primitive. @internal */
export type PrimitiveName = keyof typeof PRIMITIVES;
