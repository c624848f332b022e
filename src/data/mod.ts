/**
 * Datasets: loaders for MNIST, Fashion-MNIST and CIFAR-10, small synthetic
 * sets, and minibatching.
 *
 * @module
 */

export * from "./batching.ts";
