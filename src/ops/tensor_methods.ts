/**
 * Installs the functions behind `Tensor`'s methods (`x.add(y)`, `x.sum()`,
 * `x.T`, …). `core/tensor.ts` declares the methods, so they are typed and
 * documented on the class, and calls what this module installs: the core
 * layer never imports the ops, and there is no import cycle between them.
 * Every public entry point imports this module (tests/imports_test.ts
 * checks that).
 *
 * @module
 */

import { installTensorMethods } from "../core/tensor.ts";
import {
  abs,
  add,
  cast,
  div,
  equal,
  exp,
  greater,
  less,
  log,
  mul,
  neg,
  pow,
  sqrt,
  square,
  sub,
  tanh,
} from "./elementwise.ts";
import { argmax, argmin, max, mean, min, std, sum, variance } from "./reduce.ts";
import { broadcastTo, expandDims, reshape, squeeze, transpose } from "./movement.ts";
import { dot, matmul } from "./matmul.ts";
import { cumsum } from "./cumsum.ts";

installTensorMethods({
  add,
  sub,
  mul,
  div,
  pow,
  neg,
  square,
  sqrt,
  exp,
  log,
  abs,
  tanh,
  matmul,
  dot,
  reshape,
  transpose,
  sum,
  mean,
  max,
  min,
  variance,
  std,
  cumsum,
  argmax,
  argmin,
  cast,
  expandDims,
  squeeze,
  broadcastTo,
  equal,
  greater,
  less,
});
