"""The book's TwoLayerNet MNIST training in NumPy, timed: the reference for
`deno task mnist` (examples/mnist_two_layer.ts).

Deep Learning from Scratch, chapter 4 (`two_layer_net.py` with its fast
`gradient()`, and `train_neuralnet.py`): a 784-50-10 network, sigmoid hidden
layer, softmax + cross entropy, weights N(0, 0.01²), 10 000 SGD steps of
batch 100 at learning rate 0.1, train and test accuracy after every epoch
(600 steps). float32 throughout, like gradus (the book's code runs in
float64; `--float64` does that).

Run: `python3 bench/numpy_two_layer_net.py [MNIST_DIR]` where MNIST_DIR holds
the four uncompressed IDX files (default: `$GRADUS_DATA_DIR/mnist`, else
`~/.cache/gradus/mnist`, where `deno task mnist` stores them). Needs only
NumPy; not a dependency of gradus. Prints the accuracies and the wall time
of the training loop (data loading excluded, as in the gradus example).
"""

import os
import sys
import time

import numpy as np


def load_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x, axis=1, keepdims=True)
    e = np.exp(x)
    return e / np.sum(e, axis=1, keepdims=True)


def cross_entropy(y, t):
    return -np.sum(t * np.log(y + 1e-7)) / y.shape[0]


class TwoLayerNet:
    def __init__(self, rng, dtype):
        self.p = {
            "W1": (0.01 * rng.standard_normal((784, 50))).astype(dtype),
            "b1": np.zeros(50, dtype),
            "W2": (0.01 * rng.standard_normal((50, 10))).astype(dtype),
            "b2": np.zeros(10, dtype),
        }

    def predict(self, x):
        p = self.p
        return softmax(sigmoid(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"])

    def accuracy(self, x, t):
        return float(np.mean(np.argmax(self.predict(x), axis=1) == np.argmax(t, axis=1)))

    def gradient(self, x, t):
        """The book's fast gradient: forward, then the hand-written backward pass."""
        p = self.p
        n = x.shape[0]
        a1 = x @ p["W1"] + p["b1"]
        z1 = sigmoid(a1)
        y = softmax(z1 @ p["W2"] + p["b2"])
        loss = cross_entropy(y, t)
        dy = (y - t) / n
        grads = {"W2": z1.T @ dy, "b2": np.sum(dy, axis=0)}
        dz1 = dy @ p["W2"].T
        da1 = (1.0 - z1) * z1 * dz1
        grads["W1"] = x.T @ da1
        grads["b1"] = np.sum(da1, axis=0)
        return loss, grads


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    dtype = np.float64 if "--float64" in sys.argv else np.float32
    default = os.path.join(
        os.environ.get("GRADUS_DATA_DIR", os.path.expanduser("~/.cache/gradus")), "mnist"
    )
    root = args[0] if args else default
    x_train = load_idx(os.path.join(root, "train-images-idx3-ubyte")).reshape(-1, 784)
    y_train = load_idx(os.path.join(root, "train-labels-idx1-ubyte"))
    x_test = load_idx(os.path.join(root, "t10k-images-idx3-ubyte")).reshape(-1, 784)
    y_test = load_idx(os.path.join(root, "t10k-labels-idx1-ubyte"))
    x_train = (x_train / 255.0).astype(dtype)
    x_test = (x_test / 255.0).astype(dtype)
    t_train = np.eye(10, dtype=dtype)[y_train]
    t_test = np.eye(10, dtype=dtype)[y_test]

    rng = np.random.default_rng(0)
    net = TwoLayerNet(rng, dtype)
    iters, batch, lr = 10000, 100, 0.1
    per_epoch = x_train.shape[0] // batch
    start = time.perf_counter()
    for i in range(iters):
        mask = rng.choice(x_train.shape[0], batch)
        loss, grads = net.gradient(x_train[mask], t_train[mask])
        for k in net.p:
            net.p[k] -= lr * grads[k]
        if (i + 1) % per_epoch == 0 or i == iters - 1:
            tr, te = net.accuracy(x_train, t_train), net.accuracy(x_test, t_test)
            print(f"iter {i + 1:5d}  train acc {tr:.4f}  test acc {te:.4f}")
    seconds = time.perf_counter() - start
    print(f"NumPy {np.__version__} ({np.dtype(dtype).name}): {iters} steps in {seconds:.1f} s")


if __name__ == "__main__":
    main()
