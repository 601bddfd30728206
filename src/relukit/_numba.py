"""The Numba CPU backend: parallel, in place, streaming where it pays.

``relukit._api`` validates arguments, allocates ``out`` and settles overlap
before it calls :func:`relu`, :func:`relu_grad` or :func:`relu_backward`
here. This module only picks the kernel (by dtype and parameters), the
view of the data it runs on (flat when every operand is contiguous in the
same order, chunks of a buffered ``np.nditer`` otherwise) and how to run it
(serial, on Numba's thread pool, with streaming stores).

Threads: a parallel call takes a lock without waiting; if another thread
holds it, this call runs serially instead. Many Python threads calling
relukit at once (Dask's threaded scheduler) therefore never run two
parallel regions together, which Numba's ``workqueue`` layer cannot
survive, and never oversubscribe the cores. In a process forked after the
thread pool started (``multiprocessing`` with the fork start method), the
pool is never used again: GNU OpenMP aborts such a child.
"""

from __future__ import annotations

import os
import threading

import numba
import numpy as np

from . import _fastpath
from . import _kernels as K
from ._params import PLAIN, ReluParams

xp = np

#: Below this many bytes of output, waking the thread pool costs more than it
#: saves; on a loaded machine a parallel region can also wait a scheduler
#: time slice for its second thread, so arrays that fit in L2 stay serial.
PARALLEL_MIN_BYTES = 1 << 20
#: Above this many bytes of output (beyond the caches), stores bypass the cache.
STREAM_MIN_BYTES = 1 << 25
#: Elements per chunk of the ``np.nditer`` path for odd layouts.
_NDITER_BUFFER = 8192

_pool_lock = threading.Lock()
_pool = {"started": False, "forked": False}


def _after_fork_in_child():
    if _pool["started"]:
        _pool["forked"] = True


os.register_at_fork(after_in_child=_after_fork_in_child)


def _entry_points(small, kernel, dtype, arity):
    """Fast-path slots of ``small``'s entry points for C-contiguous ``dtype`` arrays,
    with kernel number ``kernel`` of the drivers for large arrays."""
    element = numba.from_dtype(dtype)

    def compile_for(ndim):
        array = numba.types.Array(element, ndim, "C")
        return small.compile((array,) * (arity + 1))

    serial, parallel = (
        (K.unary_range, K.unary_parallel) if arity == 1 else (K.binary_range, K.binary_parallel)
    )

    def large(*inputs):
        out = np.empty(inputs[-1].shape, dtype)
        flat = [a.reshape(-1) for a in inputs + (out,)]
        _run(serial, parallel, (kernel, *flat, *_scalars(PLAIN), K.DIRECT), flat[-1])
        return out

    return _fastpath.Slots(compile_for, large)


# float16 needs its bit-pattern kernels, so it is left to the general path.
for _name in ("float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
    _dtype = np.dtype(_name)
    _fastpath.relu[_dtype] = _entry_points(K.relu_small, K.RELU, _dtype, 1)
    if _dtype.kind == "f":
        _fastpath.relu_grad[_dtype] = _entry_points(K.grad_small, K.GRAD, _dtype, 1)
        _fastpath.relu_backward[_dtype] = _entry_points(K.backward_small, K.BACKWARD, _dtype, 2)


# numba.get_num_threads() re-checks that the pool is up on every call (2 us
# here, 3% of a 1e6-element call); once it is, the runtime's own per-thread
# counter answers the same question (it honours numba.set_num_threads too).
_raw_thread_count = getattr(numba.np.ufunc.parallel, "_get_num_threads", None)


def threads_for(nbytes: int) -> int:
    """How many chunks to split a call over: 1 means serial."""
    if nbytes < PARALLEL_MIN_BYTES or _pool["forked"] or _pool.get("unavailable"):
        return 1
    if _pool["started"] and _raw_thread_count is not None:
        return _raw_thread_count()
    try:
        return numba.get_num_threads()
    except ValueError as error:
        # No threading layer loads (NUMBA_THREADING_LAYER names one that is
        # not installed): compute serially, and say why in show_config.
        _pool["unavailable"] = " ".join(str(error).split())
        return 1


def _run(serial, parallel, args, out):
    """Run a kernel over the flat ``out`` serially or on the thread pool."""
    mode = args[-1]
    chunks = threads_for(out.nbytes)
    if chunks > 1 and _pool_lock.acquire(blocking=False):
        try:
            _pool["started"] = True
            parallel(*args, chunks)
            return
        finally:
            _pool_lock.release()
    serial(*args[:-1], 0, out.size, mode)


def _scalars(params: ReluParams):
    cap = np.nan if params.max_value is None else params.max_value
    return params.negative_slope, cap, params.threshold


def _flat(*arrays):
    """1-D views of arrays laid out alike in memory, or None."""
    for a in arrays:
        if not (a.dtype.isnative and a.flags.aligned):
            return None
    if all([a.flags.c_contiguous for a in arrays]):
        order = "C"
    elif all([a.flags.f_contiguous for a in arrays]):
        order = "F"
    else:
        return None
    if arrays[0].ndim == 1:
        return arrays
    return [a.reshape(-1, order=order) for a in arrays]


def _mode(out, fresh):
    # Streaming stores pay off into memory that exists already; into pages
    # just allocated they lose (measured: the kernel zeroes each page into
    # the cache on first touch, and the stores then miss it).
    if not fresh and out.nbytes >= STREAM_MIN_BYTES and out.flags.aligned:
        return K.STREAMED
    return K.DIRECT


def _bits(a):
    """float16 as its uint16 bit pattern: ReLU on float16 only selects bits."""
    if a.dtype.kind == "f" and a.itemsize == 2:
        return a.view(np.dtype(np.uint16).newbyteorder(a.dtype.byteorder))
    return a


def _compute_dtype(a, keras):
    if a.dtype.kind == "f" and a.itemsize == 2:
        # Numba cannot compute in float16: the Keras kernels get float32.
        return np.dtype(np.float32) if keras else np.dtype(np.uint16)
    return a.dtype.newbyteorder("=")


def _unary(plain, f16, keras, x, out, params, fresh):
    slope, cap, thresh = _scalars(params)
    is_f16 = x.dtype.kind == "f" and x.itemsize == 2
    if not params.is_plain:
        kernel = keras
    else:
        kernel = f16 if is_f16 else plain
    flat = None if (is_f16 and kernel == keras) else _flat(_bits(x), _bits(out))
    if flat is None:
        _nditer_unary(kernel, x, out, params)
        return out
    xf, of = flat
    mode = _mode(of, fresh)
    _run(K.unary_range, K.unary_parallel, (kernel, xf, of, slope, cap, thresh, mode), of)
    return out


def _nditer_unary(kernel, x, out, params):
    keras = not params.is_plain
    dtypes = [_compute_dtype(x, keras), _compute_dtype(out, keras)]
    slope, cap, thresh = _scalars(params)
    it = np.nditer(
        [_bits(x) if not keras else x, _bits(out) if not keras else out],
        flags=["external_loop", "buffered", "zerosize_ok", "grow_inner"],
        op_flags=[["readonly", "contig"], ["writeonly", "contig"]],
        op_dtypes=dtypes,
        casting="same_kind",
        buffersize=_NDITER_BUFFER,
    )
    with it:
        for xc, oc in it:
            K.unary_range(kernel, xc, oc, slope, cap, thresh, 0, xc.size, K.DIRECT)


def relu(x, out, params: ReluParams, fresh: bool = False):
    return _unary(K.RELU, K.RELU_F16, K.RELU_KERAS, x, out, params, fresh)


def relu_grad(x, out, params: ReluParams, fresh: bool = False):
    return _unary(K.GRAD, K.GRAD_F16, K.GRAD_KERAS, x, out, params, fresh)


def relu_backward(dy, x, out, params: ReluParams, fresh: bool = False):
    slope, cap, thresh = _scalars(params)
    keras = not params.is_plain
    any_f16 = any(a.dtype.kind == "f" and a.itemsize == 2 for a in (dy, x))
    if keras:
        kernel = K.BACKWARD_KERAS
    elif x.dtype.kind == "f" and x.itemsize == 2:
        kernel = K.BACKWARD_XF16
    else:
        kernel = K.BACKWARD
    flat = None if (keras and any_f16) else _flat(_bits(dy), _bits(x), _bits(out))
    if flat is None:
        _nditer_binary(kernel, dy, x, out, params)
        return out
    dyf, xf, of = flat
    mode = _mode(of, fresh)
    _run(K.binary_range, K.binary_parallel, (kernel, dyf, xf, of, slope, cap, thresh, mode), of)
    return out


def _nditer_binary(kernel, dy, x, out, params):
    keras = not params.is_plain
    ops = [dy, x, out] if keras else [_bits(dy), _bits(x), _bits(out)]
    slope, cap, thresh = _scalars(params)
    it = np.nditer(
        ops,
        flags=["external_loop", "buffered", "zerosize_ok", "grow_inner"],
        op_flags=[["readonly", "contig"], ["readonly", "contig"], ["writeonly", "contig"]],
        op_dtypes=[_compute_dtype(a, keras) for a in (dy, x, out)],
        casting="same_kind",
        buffersize=_NDITER_BUFFER,
    )
    with it:
        for dyc, xc, oc in it:
            K.binary_range(kernel, dyc, xc, oc, slope, cap, thresh, 0, xc.size, K.DIRECT)


def threading_info() -> dict:
    """Numba's threading layer and thread count, for ``show_config``."""
    threads_for(PARALLEL_MIN_BYTES)  # starts the pool, as a large call would
    if _pool.get("unavailable"):
        return {"threads": 1, "layer": f"none, relukit runs serially: {_pool['unavailable']}"}
    info = {"threads": numba.get_num_threads(), "layer": None}
    try:
        info["layer"] = numba.threading_layer()
    except ValueError:
        info["layer"] = "not started yet (starts at the first large call)"
    return info
