"""NumPy timing of the `conv` workload of bench/peers/peers_bench.ts, as the book does it.

The book *Deep Learning from Scratch* (ch. 7) builds its CNN layers on
im2col/col2im (its `common/util.py`) and one matrix product per layer. This
file writes those layers from the book's description (not copied): the
`Convolution` layer (im2col, `col @ W.reshape(FN, -1).T + b`, backward
`col.T @ dout` and, for the input, col2im), `Relu`, and the `Pooling` layer
(im2col, max with argmax, backward scatters each window's gradient to its
argmax, col2im). Float32 throughout (the book's im2col allocates float64 by
default; here the buffers follow the input's dtype).

Workload `conv 100x1x28x28 k30x5x5 + relu + pool2`: the first layers of the
book's SimpleConvNet on an MNIST batch (batch 100, 1x28x28 input, 30 filters
5x5, stride 1, pad 0, then ReLU and 2x2 max pooling, stride 2): forward and
backward with the upstream gradient all ones (the gradient of
`sum(pool(relu(conv(x))))`), giving dW and db. Two rows:

  - "book layers, dW db" skips the input's gradient (col2im of the
    convolution), as gradus, TF.js and jax-js do when only the weights are
    differentiated (the first layer of a network needs no dx);
  - "book layers, dW db dx" runs the book's `Convolution.backward` as written,
    col2im of the input's gradient included.

Run by hand: `python3 bench/numpy_conv_reference.py` (needs only NumPy), or
through `python3 bench/numpy_reference.py`, which runs it as one of its
groups (and so `deno run -A bench/report.ts --numpy` shows it).
"""

import numpy as np

GROUP = "conv 100x1x28x28 k30x5x5 + relu + pool2"


def out_size(size, k, stride, pad):
    return (size + 2 * pad - k) // stride + 1


def im2col(x, fh, fw, stride=1, pad=0):
    """[N, C, H, W] -> [N*OH*OW, C*FH*FW]: one row per output position."""
    n, c, h, w = x.shape
    oh, ow = out_size(h, fh, stride, pad), out_size(w, fw, stride, pad)
    img = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)]) if pad else x
    col = np.empty((n, c, fh, fw, oh, ow), dtype=x.dtype)
    for i in range(fh):
        for j in range(fw):
            col[:, :, i, j] = img[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, -1)


def col2im(col, shape, fh, fw, stride=1, pad=0):
    """The adjoint of im2col: adds each row's entries back to their input positions."""
    n, c, h, w = shape
    oh, ow = out_size(h, fh, stride, pad), out_size(w, fw, stride, pad)
    col = col.reshape(n, oh, ow, c, fh, fw).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((n, c, h + 2 * pad + stride - 1, w + 2 * pad + stride - 1), dtype=col.dtype)
    for i in range(fh):
        for j in range(fw):
            img[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += col[:, :, i, j]
    return img[:, :, pad:h + pad, pad:w + pad]


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        fn, _, fh, fw = self.W.shape
        n, _, h, w = x.shape
        oh, ow = out_size(h, fh, self.stride, self.pad), out_size(w, fw, self.stride, self.pad)
        self.x = x
        self.col = im2col(x, fh, fw, self.stride, self.pad)
        self.col_W = self.W.reshape(fn, -1).T
        out = self.col @ self.col_W + self.b
        return out.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)

    def backward(self, dout, need_dx=True):
        fn, c, fh, fw = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
        self.db = np.sum(dout, axis=0)
        self.dW = (self.col.T @ dout).transpose(1, 0).reshape(fn, c, fh, fw)
        if not need_dx:
            return None
        dcol = dout @ self.col_W.T
        return col2im(dcol, self.x.shape, fh, fw, self.stride, self.pad)


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout = dout.copy()
        dout[self.mask] = 0
        return dout


class Pooling:
    def __init__(self, ph, pw, stride=1, pad=0):
        self.ph, self.pw, self.stride, self.pad = ph, pw, stride, pad

    def forward(self, x):
        n, c, h, w = x.shape
        oh = out_size(h, self.ph, self.stride, self.pad)
        ow = out_size(w, self.pw, self.stride, self.pad)
        col = im2col(x, self.ph, self.pw, self.stride, self.pad).reshape(-1, self.ph * self.pw)
        self.x, self.arg_max = x, np.argmax(col, axis=1)
        return np.max(col, axis=1).reshape(n, oh, ow, c).transpose(0, 3, 1, 2)

    def backward(self, dout):
        dout = dout.transpose(0, 2, 3, 1)
        size = self.ph * self.pw
        dmax = np.zeros((dout.size, size), dtype=dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dcol = dmax.reshape(-1, dout.shape[3] * size)
        return col2im(dcol, self.x.shape, self.ph, self.pw, self.stride, self.pad)


def make_inputs(rng):
    x = rng.uniform(0, 1, (100, 1, 28, 28)).astype(np.float32)
    W = (0.01 * rng.standard_normal((30, 1, 5, 5))).astype(np.float32)
    b = np.zeros(30, dtype=np.float32)
    return x, W, b


def conv_step(x, W, b, need_dx):
    """Forward and backward of conv -> relu -> 2x2 max pool; returns (dW, db[, dx])."""
    conv, relu, pool = Convolution(W, b), Relu(), Pooling(2, 2, stride=2)
    y = pool.forward(relu.forward(conv.forward(x)))
    dy = np.ones_like(y)
    dx = conv.backward(relu.backward(pool.backward(dy)), need_dx)
    return conv.dW, conv.db, dx


def check(x, W, b):
    """Checks the layers against a direct loop on a small case (float64)."""
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((2, 2, 6, 6))
    Ws = rng.standard_normal((3, 2, 3, 3))
    bs = rng.standard_normal(3)
    y = Convolution(Ws, bs, stride=1, pad=1).forward(xs)
    ref = np.zeros((2, 3, 6, 6))
    xp = np.pad(xs, [(0, 0), (0, 0), (1, 1), (1, 1)])
    for i in range(6):
        for j in range(6):
            ref[:, :, i, j] = np.einsum("nchw,ochw->no", xp[:, :, i:i + 3, j:j + 3], Ws) + bs
    assert np.allclose(y, ref)
    dW, db, dx = conv_step(x, W, b, True)
    assert dW.dtype == np.float32 and db.dtype == np.float32 and dx.dtype == np.float32
    assert dx.shape == x.shape and dW.shape == W.shape


def register(bench, group):
    """Adds this workload's group to numpy_reference.py's run."""
    rng = np.random.default_rng(0)
    x, W, b = make_inputs(rng)
    check(x, W, b)
    group(GROUP)
    bench("NumPy book layers (im2col), dW db", lambda: conv_step(x, W, b, False))
    bench("NumPy book layers (im2col), dW db dx", lambda: conv_step(x, W, b, True))


if __name__ == "__main__":
    import numpy_reference

    numpy_reference.group_and_bench_only(register)
