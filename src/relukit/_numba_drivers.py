"""Templates of the Numba drivers, specialised per kernel body.

Each template below is plain Python with a free name, ``kernel`` (one
element of an operation, from the operation table), or ``body`` (the
driver that the small-call entry points wrap, with the operation's
default scalars ``A, B, C`` as compiled-in constants). :func:`specialise` makes a copy of a
template whose globals bind them, and compiles it with a qualified name
that carries a hash of the kernel's code, so that Numba's on-disk cache
keeps one entry per kernel and drops it when the kernel changes (Numba
checks only the stamp of the file that holds the template).

Every driver works on 1-D arrays over ``[lo, hi)``, through slices whose
loop index starts at 0: indexing ``x[i]`` with ``i`` from ``range(lo,
hi)`` makes Numba handle negative indices, which stops LLVM from
vectorizing the loop (measured: 4x slower). ``a, b, c`` are the
operation's kernel scalars. How ``out`` is written:

- ``direct``: ``out`` is a separate array;
- ``in_place`` (unary: out is x), ``out_is_dy``, ``out_is_x`` (binary):
  the driver reads and writes the one array, so LLVM sees no aliasing
  (two aliasing arguments make it fall back to a scalar loop), and
  ``+ zero`` keeps it from turning the select into a masked store, three
  times slower on x86 (it only changes -0.0 into +0.0);
- ``streamed``: the kernel fills an L1-sized buffer that reaches ``out``
  through non-temporal stores (see ``relukit._streaming``).

A pooled call runs ``chunk``, a C-callable function around one of these
drivers, on each chunk that a thread of the pool claims in compiled code
(``relukit._team``). Where the pool cannot do that (no clock for its
compiled waits), each thread runs ``claimed`` instead, which claims chunks
from a shared counter itself, so that a thread returns to Python (and the
GIL) only when no chunk is left.
"""

from __future__ import annotations

import hashlib
import marshal
import types

import numba
import numpy as np
from numba.extending import overload

from . import _numba_math
from ._atomics import fetch_add
from ._ops import _elements
from ._ops._family import ChainRule
from ._streaming import store_fence, stream_copy
from ._version import __version__

#: Elements per block of the streaming drivers: small enough for L1.
_BLOCK = 2048

kernel = body = derivative = term = None  # bound per specialisation
A = B = C = None  # the small-call kernels' scalars, bound per specialisation
D0 = D1 = D2 = None  # a chunk function's dtypes, bound per specialisation


@overload(_elements.zero_of, inline="always")
def _zero_of(x):
    zero = x  # the Numba type of x, which casts like the NumPy scalar type

    def implementation(x):
        return zero(0)

    return implementation


def _compile_as_written(helper):
    """Let kernels call ``helper`` (a float64 function of one float64), inlined."""

    def typer(v):
        return helper

    overload(helper, inline="always")(typer)


for _helper in _elements.JITABLE:
    _compile_as_written(_helper)

# exp, expm1, log1p, erfc: relukit's vectorizable implementations.
_numba_math.register()


def chain_rule(dy, x, a, b, c):
    """The element of a backward pass: see ``relukit._ops._family.ChainRule``."""
    d = derivative(x, a, b, c)
    return 0.0 if d == 0.0 else d * np.float64(dy)


def unary_direct(x, out, a, b, c, lo, hi):
    xs, os = x[lo:hi], out[lo:hi]
    for i in range(os.size):
        os[i] = kernel(xs[i], a, b, c)


def unary_in_place(x, out, a, b, c, lo, hi):
    zero = out.dtype.type(0)
    os = out[lo:hi]
    for i in range(os.size):
        os[i] = kernel(os[i], a, b, c) + zero


def unary_streamed(x, out, a, b, c, lo, hi):
    buf = np.empty(_BLOCK, dtype=out.dtype)
    for start in range(lo, hi, _BLOCK):
        n = min(_BLOCK, hi - start)
        xs = x[start : start + n]
        for i in range(n):
            buf[i] = kernel(xs[i], a, b, c)
        stream_copy(out, start, buf[:n])
    store_fence()


def unary_claimed(x, out, a, b, c, claims, step):
    # claims = [next chunk, chunks]; every thread of the call adds to the
    # first slot, so each chunk runs exactly once. Claiming each chunk in
    # Python instead, a thread waited for the GIL between chunks (measured
    # on the performance page, "pooled calls claim their chunks").
    k = fetch_add(claims, 0, 1)
    while k < claims[1]:
        body(x, out, a, b, c, k * step, min(out.size, (k + 1) * step))
        k = fetch_add(claims, 0, 1)


def unary_chunk(p0, p1, p2, p3, size, lo, hi, a, b, c):
    # Compiled with relukit._team.CHUNK_SIGNATURE: p0 is x, p1 out.
    body(numba.carray(p0, size, D0), numba.carray(p1, size, D1), a, b, c, lo, hi)


def binary_chunk(p0, p1, p2, p3, size, lo, hi, a, b, c):
    dy, x = numba.carray(p0, size, D0), numba.carray(p1, size, D1)
    body(dy, x, numba.carray(p2, size, D2), a, b, c, lo, hi)


def binary_claimed(dy, x, out, a, b, c, claims, step):
    k = fetch_add(claims, 0, 1)
    while k < claims[1]:
        body(dy, x, out, a, b, c, k * step, min(out.size, (k + 1) * step))
        k = fetch_add(claims, 0, 1)


@numba.njit(inline="always")
def overlaps(a, b):
    """Whether two C-contiguous arrays share a byte."""
    start_a, start_b = a.ctypes.data, b.ctypes.data
    return start_a < start_b + b.nbytes and start_b < start_a + a.nbytes


def unary_small(x, out):
    body(x.reshape(x.size), out.reshape(out.size), A, B, C, 0, x.size)
    return True


def unary_small_into(x, out):
    # These checks cost nanoseconds here, against about 0.4 us for
    # comparing shapes and np.may_share_memory in Python (a third of a
    # 1e3 call).
    if out.shape != x.shape or overlaps(out, x):
        return False
    body(x.reshape(x.size), out.reshape(out.size), A, B, C, 0, x.size)
    return True


def binary_direct(dy, x, out, a, b, c, lo, hi):
    ds, xs, os = dy[lo:hi], x[lo:hi], out[lo:hi]
    for i in range(os.size):
        os[i] = kernel(ds[i], xs[i], a, b, c)


def binary_out_is_dy(dy, x, out, a, b, c, lo, hi):
    zero = out.dtype.type(0)
    xs, os = x[lo:hi], out[lo:hi]
    for i in range(os.size):
        os[i] = kernel(os[i], xs[i], a, b, c) + zero


def binary_out_is_x(dy, x, out, a, b, c, lo, hi):
    zero = out.dtype.type(0)
    ds, os = dy[lo:hi], out[lo:hi]
    for i in range(os.size):
        os[i] = kernel(ds[i], os[i], a, b, c) + zero


def binary_streamed(dy, x, out, a, b, c, lo, hi):
    buf = np.empty(_BLOCK, dtype=out.dtype)
    for start in range(lo, hi, _BLOCK):
        n = min(_BLOCK, hi - start)
        ds, xs = dy[start : start + n], x[start : start + n]
        for i in range(n):
            buf[i] = kernel(ds[i], xs[i], a, b, c)
        stream_copy(out, start, buf[:n])
    store_fence()


def ternary_direct(i0, i1, i2, out, a, b, c, lo, hi):
    # Only operations with a channel input have three inputs; odd layouts
    # run this on the buffered iterator's chunks.
    s0, s1, s2, os = i0[lo:hi], i1[lo:hi], i2[lo:hi], out[lo:hi]
    for i in range(os.size):
        os[i] = kernel(s0[i], s1[i], s2[i], a, b, c)


# Channel drivers (PReLU): the arrays are 2-D C-contiguous views, ``w`` the
# float64 slopes. "rows": each row is one channel's run of elements (row r
# has slope w[r % channels]), so the inner loop has one slope and
# vectorizes; "cols": the channel is the last axis, one slope per column.


def binary_channel_rows(x, w, out, a, b, c, lo, hi):
    channels = w.size
    for r in range(lo, hi):
        s = w[r % channels]
        xs, os = x[r], out[r]
        for i in range(os.size):
            os[i] = kernel(xs[i], s, a, b, c)


def binary_channel_cols(x, w, out, a, b, c, lo, hi):
    for r in range(lo, hi):
        xs, os = x[r], out[r]
        for i in range(os.size):
            os[i] = kernel(xs[i], w[i], a, b, c)


def ternary_channel_rows(dy, x, w, out, a, b, c, lo, hi):
    channels = w.size
    for r in range(lo, hi):
        s = w[r % channels]
        ds, xs, os = dy[r], x[r], out[r]
        for i in range(os.size):
            os[i] = kernel(ds[i], xs[i], s, a, b, c)


def ternary_channel_cols(dy, x, w, out, a, b, c, lo, hi):
    for r in range(lo, hi):
        ds, xs, os = dy[r], x[r], out[r]
        for i in range(os.size):
            os[i] = kernel(ds[i], xs[i], w[i], a, b, c)


# The same, also summing the channel input's gradient terms (``term``) in
# the same pass: "rows" into ``acc[r]`` per row, "cols" into ``acc[i]``
# per column (the caller hands each chunk its own ``acc``). Compiled with
# reassociation allowed, so that the row sums vectorize.


def ternary_channel_rows_sum(dy, x, w, out, acc, a, b, c, lo, hi):
    channels = w.size
    for r in range(lo, hi):
        s = w[r % channels]
        ds, xs, os = dy[r], x[r], out[r]
        total = 0.0
        for i in range(os.size):
            os[i] = kernel(ds[i], xs[i], s, a, b, c)
            total += term(ds[i], xs[i])
        acc[r] = total


def ternary_channel_cols_sum(dy, x, w, out, acc, a, b, c, lo, hi):
    for r in range(lo, hi):
        ds, xs, os = dy[r], x[r], out[r]
        for i in range(os.size):
            os[i] = kernel(ds[i], xs[i], w[i], a, b, c)
            acc[i] += term(ds[i], xs[i])


def binary_small(dy, x, out):
    # The caller has checked that dy, x (and out, when it is dy) have one shape.
    size = x.size
    body(dy.reshape(size), x.reshape(size), out.reshape(size), A, B, C, 0, size)
    return True


def binary_small_into(dy, x, out):
    if out.shape != x.shape or overlaps(out, dy) or overlaps(out, x):
        return False
    size = x.size
    body(dy.reshape(size), x.reshape(size), out.reshape(size), A, B, C, 0, size)
    return True


def jit(function, **options):
    """``numba.njit`` with an on-disk cache where the install allows one.

    Numba refuses ``cache=True`` outright when neither the package folder
    nor a user cache folder is writable (a read-only install): compile in
    memory instead of failing.
    """
    try:
        return numba.njit(cache=True, nogil=True, **options)(function)
    except RuntimeError:
        return numba.njit(cache=False, nogil=True, **options)(function)


def code_hash(element) -> str:
    """A short hash of an element function's code, the helpers it may call and relukit's version."""
    codes = [element.derivative.__code__, chain_rule.__code__] if isinstance(element, ChainRule) else [
        element.__code__
    ]
    codes += [helper.__code__ for helper in _elements.JITABLE]
    codes += [function.__code__ for function in _numba_math.COMPILED]
    digest = hashlib.sha256(b"".join(marshal.dumps(c) for c in codes) + __version__.encode())
    return digest.hexdigest()[:12]


def _bound(template, name: str, bindings):
    """A copy of ``template`` named ``name``, whose globals bind ``bindings``."""
    namespace = dict(template.__globals__)
    namespace.update(bindings)
    function = types.FunctionType(template.__code__, namespace, name)
    function.__qualname__ = name
    function.__doc__ = template.__doc__
    return function


def specialise(template, name: str, options=None, **bindings):
    """Compile a copy of ``template`` whose globals bind ``bindings``, with Numba ``options``."""
    return jit(_bound(template, name, bindings), **(options or {}))


def specialise_chunk(template, name: str, signature, **bindings):
    """Compile a copy of a ``*_chunk`` template as a C-callable function of ``signature``."""
    function = _bound(template, name, bindings)
    try:
        return numba.cfunc(signature, cache=True)(function)
    except RuntimeError:  # a read-only install: see jit
        return numba.cfunc(signature, cache=False)(function)


def inline_kernel(element):
    """The operation's element function, compiled to be inlined into drivers.

    A :class:`ChainRule` becomes :func:`chain_rule` bound to its derivative's
    compiled body.
    """
    if isinstance(element, ChainRule):
        namespace = dict(chain_rule.__globals__, derivative=inline_kernel(element.derivative))
        element = types.FunctionType(chain_rule.__code__, namespace, "chain_rule")
    return numba.njit(inline="always")(element)
