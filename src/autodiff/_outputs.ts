/**
 * The output check the transformations share: a function's result must be
 * a pytree of tensors.
 *
 * @module
 */

import { Tensor } from "../core/tensor.ts";
import { describe } from "../ops/convert.ts";
import { flattenWithPath, type TreeDef } from "../tree/tree.ts";

/**
 * The tensor leaves of `out` and its structure; a leaf that is not a tensor
 * is a TypeError naming `op` and its path.
 * @internal
 */
export function outputTensors(op: string, out: unknown): { leaves: Tensor[]; def: TreeDef } {
  const [pairs, def] = flattenWithPath(out, "output");
  const leaves = pairs.map(([path, leaf]) => {
    if (!(leaf instanceof Tensor)) {
      throw new TypeError(
        `${op}: the function must return tensors (or a pytree of them), but ${path} is ${
          describe(leaf)
        }`,
      );
    }
    return leaf;
  });
  return { leaves, def };
}
