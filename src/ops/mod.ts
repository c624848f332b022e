/**
 * All ops, re-exported in one place.
 *
 * @module
 */

import "./tensor_methods.ts";

export * from "./elementwise.ts";
export * from "./reduce.ts";
export * from "./movement.ts";
export * from "./pad.ts";
export * from "./matmul.ts";
export * from "./creation.ts";
export * from "./composite.ts";
export * from "./sort.ts";
export * from "./cumsum.ts";
export * from "./einsum.ts";
export * from "./default_dtype.ts";
