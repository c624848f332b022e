"""NumPy timings of the workloads in bench/core_bench.ts and bench/peers/peers_bench.ts.

Run by hand: `python3 bench/numpy_reference.py` (needs only NumPy). Not a
dependency of gradus. With `--json` it prints one JSON object instead of the
text lines (`deno run -A bench/report.ts --numpy` reads it and adds NumPy to
the groups of the same name).

Workloads (all float32), grouped as in bench/peers/peers_bench.ts:
  matmul n                 n x n @ n x n for n = 64, 128, 256, 512, 1024
  exp 1e6                  np.exp over 1e6 elements
  conv 100x1x28x28 ...     forward + backward of the book's Convolution,
                           Relu and Pooling layers (im2col/col2im) on the
                           SimpleConvNet's first-layer shapes: see
                           bench/numpy_conv_reference.py, run from here.
  mlp step 784-100-10 b100 one training step of a 784-100-10 MLP (sigmoid
                           hidden layer, softmax cross entropy, batch 100),
                           with the backward pass written by hand as in the
                           book *Deep Learning from Scratch*
                           (TwoLayerNet.gradient), plus the loss and an SGD
                           update.

Each line shows the mean and the minimum time per call. NumPy's matmul runs
on its BLAS library, which may use several threads.
"""

import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy_conv_reference  # noqa: E402


JSON = "--json" in sys.argv[1:]
RESULTS = []
GROUP = None


def group(name):
    global GROUP
    GROUP = name
    if not JSON:
        print(f"\ngroup {name}")


def bench(name, fn, min_time=0.5, min_runs=5):
    for _ in range(2):  # warm up
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    mean = sum(times) / len(times)
    RESULTS.append(
        {"group": GROUP, "name": name, "n": len(times), "avg_s": mean, "min_s": min(times)}
    )
    if not JSON:
        print(f"{name:<58} {fmt(mean):>10} mean  {fmt(min(times)):>10} min  ({len(times)} runs)")


def fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(x)
    return e / np.sum(e, axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    return -np.sum(t * np.log(y + np.float32(1e-7))) / y.shape[0]


def mlp_step(params, x, t, lr=np.float32(0.1)):
    """Forward, loss, hand-written backward (TwoLayerNet.gradient), SGD update."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    batch_num = x.shape[0]

    a1 = x @ W1 + b1
    z1 = sigmoid(a1)
    a2 = z1 @ W2 + b2
    y = softmax(a2)
    loss = cross_entropy_error(y, t)

    dy = (y - t) / np.float32(batch_num)
    grads = {"W2": z1.T @ dy, "b2": np.sum(dy, axis=0)}
    da1 = dy @ W2.T
    dz1 = (1 - z1) * z1 * da1  # sigmoid_grad(a1) * da1
    grads["W1"] = x.T @ dz1
    grads["b1"] = np.sum(dz1, axis=0)

    for k in params:
        params[k] = params[k] - lr * grads[k]
    return loss


def main():
    runtime = f"NumPy {np.__version__}, Python {platform.python_version()}, {platform.machine()}"
    if not JSON:
        print(f"{runtime}, {os.cpu_count()} CPUs")
    rng = np.random.default_rng(0)

    for n in (64, 128, 256, 512, 1024):
        group(f"matmul {n}")
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        bench(f"NumPy matmul float32 {n}x{n}", lambda a=a, b=b: a @ b)

    group("exp 1e6")
    x = rng.uniform(-4, 4, 1_000_000).astype(np.float32)
    bench("NumPy np.exp(x), float32", lambda: np.exp(x))

    group("mlp step 784-100-10 b100")
    params = {
        "W1": (0.01 * rng.standard_normal((784, 100))).astype(np.float32),
        "b1": np.zeros(100, dtype=np.float32),
        "W2": (0.01 * rng.standard_normal((100, 10))).astype(np.float32),
        "b2": np.zeros(10, dtype=np.float32),
    }
    xb = rng.uniform(0, 1, (100, 784)).astype(np.float32)
    tb = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 100)]
    loss = mlp_step(params, xb, tb)
    assert loss.dtype == np.float32 and all(p.dtype == np.float32 for p in params.values())
    bench("NumPy hand-written backprop + SGD update", lambda: mlp_step(params, xb, tb))

    numpy_conv_reference.register(bench, group)

    if JSON:
        print(json.dumps({"runtime": runtime, "cpus": os.cpu_count(), "benches": RESULTS}))


def group_and_bench_only(register):
    """Runs one workload's `register(bench, group)` alone, printed as main() prints."""
    runtime = f"NumPy {np.__version__}, Python {platform.python_version()}, {platform.machine()}"
    if not JSON:
        print(f"{runtime}, {os.cpu_count()} CPUs")
    register(bench, group)
    if JSON:
        print(json.dumps({"runtime": runtime, "cpus": os.cpu_count(), "benches": RESULTS}))


if __name__ == "__main__":
    main()
