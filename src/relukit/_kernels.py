"""Elementwise Numba kernels on 1-D contiguous arrays, and their parallel drivers.

Every kernel has the same signature, ``kernel(x, out, slope, cap, thresh)``
(``kernel(dy, x, out, ...)`` for the backward pass), so that one parallel
driver per arity serves them all. ``cap`` is NaN when there is no
``max_value``: every comparison with NaN is False, so no branch is needed.

The Keras-style kernels evaluate in float64 and round once into ``out``.
float16, which Numba cannot compute with, reaches the plain kernels as
uint16 bit patterns (a ReLU on float16 only ever selects bits) and the
Keras kernels as float32 buffers (see ``relukit._numba``).

Nothing is compiled at import: Numba compiles a kernel for a dtype on its
first call and caches the machine code on disk where it can.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from ._streaming import store_fence, stream_copy

# Kernel ids for the parallel drivers: an integer tested once per chunk.
RELU, RELU_F16, RELU_KERAS, GRAD, GRAD_F16, GRAD_KERAS = range(6)
BACKWARD, BACKWARD_XF16, BACKWARD_KERAS = range(3)

# float16 bit patterns: sign bit, +inf, and 1.0.
_F16_SIGN = 0x8000
_F16_NEG_INF = 0xFC00
_F16_POS_INF = 0x7C00
_F16_ONE = 0x3C00

#: Elements per block in the streaming path: small enough for L1.
_BLOCK = 2048


def jit(**options):
    """``numba.njit`` with an on-disk cache where the install allows one.

    Numba refuses ``cache=True`` outright when neither the package folder
    nor a user cache folder is writable (a read-only install): compile in
    memory instead of failing.
    """

    def decorate(function):
        try:
            return numba.njit(cache=True, nogil=True, **options)(function)
        except RuntimeError:
            return numba.njit(cache=False, nogil=True, **options)(function)

    return decorate


# --- forward ---------------------------------------------------------------
# Kernels are inlined into the drivers so that, in place, LLVM sees one
# array: two arguments that alias make it fall back to a scalar loop. Where a
# kernel may store back the value it loaded, ``+ zero`` keeps LLVM from
# turning the select into a masked store (three times slower on x86); it
# only changes -0.0 into +0.0.


@jit(inline="always")
def relu_plain(x, out, slope, cap, thresh):
    zero = out.dtype.type(0)
    for i in range(x.size):
        v = x[i]
        # ``v < 0`` is False for NaN, which therefore passes through.
        out[i] = (zero if v < 0 else v) + zero


@jit(inline="always")
def relu_f16_bits(x, out, slope, cap, thresh):
    for i in range(x.size):
        b = x[i]
        # Negative numbers, -0.0 and -inf become +0.0; -NaN stays NaN.
        out[i] = 0 if (b >= _F16_SIGN and b <= _F16_NEG_INF) else b


@jit(inline="always")
def relu_keras(x, out, slope, cap, thresh):
    for i in range(x.size):
        v = np.float64(x[i])
        # A zero slope gives exactly 0 on the negative piece, even at -inf.
        r = slope * (v - thresh) if slope != 0.0 else 0.0
        r = v if v > thresh else r
        r = cap if v >= cap else r
        out[i] = v if v != v else r


# --- gradient --------------------------------------------------------------


@jit(inline="always")
def grad_plain(x, out, slope, cap, thresh):
    for i in range(x.size):
        out[i] = 1 if x[i] > 0 else 0


@jit(inline="always")
def grad_f16_bits(x, out, slope, cap, thresh):
    for i in range(x.size):
        b = x[i]
        out[i] = _F16_ONE if (b >= 1 and b <= _F16_POS_INF) else 0


@jit(inline="always")
def grad_keras(x, out, slope, cap, thresh):
    for i in range(x.size):
        v = np.float64(x[i])
        g = slope if v <= thresh else 0.0
        g = 1.0 if v > thresh else g
        out[i] = 0.0 if v >= cap else g


# --- backward: dx = dy * relu'(x), as a select ----------------------------


@jit(inline="always")
def backward_plain(dy, x, out, slope, cap, thresh):
    zero = out.dtype.type(0)
    for i in range(x.size):
        out[i] = (dy[i] if x[i] > 0 else zero) + zero


@jit(inline="always")
def backward_x_f16_bits(dy, x, out, slope, cap, thresh):
    for i in range(x.size):
        b = x[i]
        out[i] = dy[i] if (b >= 1 and b <= _F16_POS_INF) else 0


@jit(inline="always")
def backward_keras(dy, x, out, slope, cap, thresh):
    for i in range(x.size):
        v = np.float64(x[i])
        d = np.float64(dy[i])
        r = slope * d if (slope != 0.0 and v <= thresh) else 0.0
        r = d if v > thresh else r
        out[i] = 0.0 if v >= cap else r


# --- drivers ---------------------------------------------------------------


@jit(inline="always")
def unary(kernel, x, out, slope, cap, thresh):
    """Run unary kernel number ``kernel`` over all of ``x``."""
    if kernel == RELU:
        relu_plain(x, out, slope, cap, thresh)
    elif kernel == RELU_F16:
        relu_f16_bits(x, out, slope, cap, thresh)
    elif kernel == RELU_KERAS:
        relu_keras(x, out, slope, cap, thresh)
    elif kernel == GRAD:
        grad_plain(x, out, slope, cap, thresh)
    elif kernel == GRAD_F16:
        grad_f16_bits(x, out, slope, cap, thresh)
    else:
        grad_keras(x, out, slope, cap, thresh)


@jit(inline="always")
def binary(kernel, dy, x, out, slope, cap, thresh):
    """Run backward kernel number ``kernel`` over all of ``x``."""
    if kernel == BACKWARD:
        backward_plain(dy, x, out, slope, cap, thresh)
    elif kernel == BACKWARD_XF16:
        backward_x_f16_bits(dy, x, out, slope, cap, thresh)
    else:
        backward_keras(dy, x, out, slope, cap, thresh)


# How a driver writes ``out``. DIRECT: out is a separate array. STREAMED: the
# kernel fills an L1-sized buffer that reaches ``out`` through non-temporal
# stores, saving the read of ``out`` (see _streaming); for arrays far larger
# than the caches. IN_PLACE (unary: out is x), OUT_IS_DY, OUT_IS_X (backward):
# the driver passes one array twice, so that LLVM knows they are the same.
DIRECT, STREAMED, IN_PLACE, OUT_IS_DY, OUT_IS_X = range(5)


@jit()
def unary_range(kernel, x, out, slope, cap, thresh, lo, hi, mode):
    """:func:`unary` on ``x[lo:hi]`` into ``out[lo:hi]``, written per ``mode``."""
    if x.ctypes.data == out.ctypes.data:
        mode = IN_PLACE  # one flat array: same elements, same dtype
    if mode == IN_PLACE:
        part = out[lo:hi]
        unary(kernel, part, part, slope, cap, thresh)
    elif mode == STREAMED:
        buf = np.empty(_BLOCK, dtype=out.dtype)
        for start in range(lo, hi, _BLOCK):
            part = buf[: min(_BLOCK, hi - start)]
            unary(kernel, x[start : start + part.size], part, slope, cap, thresh)
            stream_copy(out, start, part)
        store_fence()
    else:
        unary(kernel, x[lo:hi], out[lo:hi], slope, cap, thresh)


@jit()
def binary_range(kernel, dy, x, out, slope, cap, thresh, lo, hi, mode):
    """:func:`binary` on ``[lo:hi]``, written per ``mode``."""
    if dy.ctypes.data == out.ctypes.data:
        mode = OUT_IS_DY
    elif x.ctypes.data == out.ctypes.data:
        mode = OUT_IS_X
    if mode == OUT_IS_DY:
        part = out[lo:hi]
        binary(kernel, part, x[lo:hi], part, slope, cap, thresh)
    elif mode == OUT_IS_X:
        part = out[lo:hi]
        binary(kernel, dy[lo:hi], part, part, slope, cap, thresh)
    elif mode == STREAMED:
        buf = np.empty(_BLOCK, dtype=out.dtype)
        for start in range(lo, hi, _BLOCK):
            part = buf[: min(_BLOCK, hi - start)]
            stop = start + part.size
            binary(kernel, dy[start:stop], x[start:stop], part, slope, cap, thresh)
            stream_copy(out, start, part)
        store_fence()
    else:
        binary(kernel, dy[lo:hi], x[lo:hi], out[lo:hi], slope, cap, thresh)


@jit(parallel=True)
def unary_parallel(kernel, x, out, slope, cap, thresh, mode, chunks):
    """:func:`unary_range` split into ``chunks`` pieces over Numba's threads."""
    n = x.size
    for c in prange(chunks):
        lo, hi = c * n // chunks, (c + 1) * n // chunks
        unary_range(kernel, x, out, slope, cap, thresh, lo, hi, mode)


@jit(parallel=True)
def binary_parallel(kernel, dy, x, out, slope, cap, thresh, mode, chunks):
    """:func:`binary_range` split into ``chunks`` pieces over Numba's threads."""
    n = x.size
    for c in prange(chunks):
        lo, hi = c * n // chunks, (c + 1) * n // chunks
        binary_range(kernel, dy, x, out, slope, cap, thresh, lo, hi, mode)


# --- the small-call fast path (see relukit._fastpath) ----------------------


@jit()
def relu_small(x, out):
    """Plain ReLU of a C-contiguous array of any shape, serially."""
    relu_plain(x.reshape(x.size), out.reshape(out.size), 0.0, 0.0, 0.0)


@jit()
def grad_small(x, out):
    """Plain ReLU gradient of a C-contiguous array of any shape, serially."""
    grad_plain(x.reshape(x.size), out.reshape(out.size), 0.0, 0.0, 0.0)


@jit()
def backward_small(dy, x, out):
    """Plain ReLU backward of C-contiguous arrays of any shape, serially."""
    backward_plain(dy.reshape(dy.size), x.reshape(x.size), out.reshape(out.size), 0.0, 0.0, 0.0)
