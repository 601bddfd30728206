"""The Numba CPU backend: parallel, in place, streaming where it pays.

``relukit._api`` checks arguments, allocates ``out`` and settles overlap
before it calls :func:`run`. This module picks the view of the data a
driver runs on (flat when every operand is contiguous in the same order,
chunks of a buffered ``np.nditer`` otherwise, which also widens float16),
how to write ``out`` (see ``relukit._numba_drivers``) and whether to use the
thread pool. Drivers are compiled per operation, variant, write mode and
serial or parallel, on first use, so a call compiles only what it runs.

Threads: a parallel call takes a lock without waiting; if another thread
holds it, this call runs serially instead. Many Python threads calling
relukit at once (Dask's threaded scheduler) therefore never run two
parallel regions together, which Numba's ``workqueue`` layer cannot
survive, and never oversubscribe the cores. In a process forked after the
thread pool started, the pool is never used again: GNU OpenMP aborts such
a child.
"""

from __future__ import annotations

import os
import threading

import numba
import numpy as np

from . import _fastpath
from . import _numba_drivers as D
from ._ops import OPERATIONS

xp = np

#: Below this many bytes of output, waking the thread pool costs more than it
#: saves; on a loaded machine a parallel region can also wait a scheduler
#: time slice for its second thread, so arrays that fit in L2 stay serial.
PARALLEL_MIN_BYTES = 1 << 20
#: Above this many bytes of output (beyond the caches), stores into an
#: existing ``out`` bypass the cache.
STREAM_MIN_BYTES = 1 << 25
#: Elements per chunk of the ``np.nditer`` path for odd layouts and float16.
_NDITER_BUFFER = 8192

_pool_lock = threading.Lock()
_pool = {"started": False, "forked": False}


def _after_fork_in_child():
    if _pool["started"]:
        _pool["forked"] = True


os.register_at_fork(after_in_child=_after_fork_in_child)

# numba.get_num_threads() re-checks that the pool is up on every call (2 us
# here, 3% of a 1e6-element call); once it is, the runtime's own per-thread
# counter answers the same question (it honours numba.set_num_threads too).
# A private name: tests/test_reliability.py fails if it moves.
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


# --- compile units -------------------------------------------------------------


class Drivers:
    """The compiled drivers of one kernel body, each compiled on first use."""

    def __init__(self, prefix: str, element, arity: int):
        self._prefix = prefix
        self._kernel = D.inline_kernel(element)
        self._hash = D.code_hash(element)
        self._kind = "unary" if arity == 1 else "binary"
        self._units: dict = {}
        self._lock = threading.RLock()

    def __getitem__(self, mode: str):
        unit = self._units.get(mode)
        if unit is None:
            with self._lock:
                unit = self._units.get(mode) or self._build(mode)
                self._units[mode] = unit
        return unit

    def _build(self, mode: str):
        name = f"{self._prefix}_{mode}_{self._hash}"
        if mode.endswith("_parallel"):
            body = self[mode[: -len("_parallel")]]
            return D.specialise(getattr(D, f"{self._kind}_parallel"), name, parallel=True, body=body)
        if mode.startswith("small"):
            body = self["direct"] if mode == "small" else self[mode[len("small_") :]]
            return D.specialise(getattr(D, f"{self._kind}_small"), name, body=body)
        return D.specialise(getattr(D, f"{self._kind}_{mode}"), name, kernel=self._kernel)


_drivers: dict = {}


def drivers(op, variant: str, bits: bool = False) -> Drivers:
    """The drivers of ``op``'s ``variant`` (its float16 bit-pattern body if ``bits``)."""
    key = (op.name, variant, bits)
    found = _drivers.get(key)
    if found is None:
        chosen = op.variants[variant]
        element = chosen.cpu_f16_bits if bits else chosen.cpu
        prefix = f"{op.name}_{variant}{'_f16bits' if bits else ''}"
        found = _drivers.setdefault(key, Drivers(prefix, element, op.arity))
    return found


# --- running -------------------------------------------------------------------


def _run_flat(units: Drivers, mode: str, arrays, scalars):
    """Run the ``mode`` driver over flat ``arrays`` (inputs then out)."""
    out = arrays[-1]
    chunks = threads_for(out.nbytes)
    if chunks > 1 and _pool_lock.acquire(blocking=False):
        try:
            _pool["started"] = True
            units[mode + "_parallel"](*arrays, *scalars, chunks)
            return
        finally:
            _pool_lock.release()
    units[mode](*arrays, *scalars, 0, out.size)


def _is_f16(a) -> bool:
    return a.dtype.kind == "f" and a.itemsize == 2


def _bits(a):
    """float16 as its uint16 bit pattern, in the same byte order."""
    if _is_f16(a):
        return a.view(np.dtype(np.uint16).newbyteorder(a.dtype.byteorder))
    return a


def _flat(arrays):
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


def _write_mode(arity: int, flat, fresh: bool) -> str:
    out = flat[-1]
    if not fresh:
        for index, a in enumerate(flat[:-1]):
            if a.ctypes.data == out.ctypes.data:
                if arity == 1:
                    return "in_place"
                return "out_is_dy" if index == 0 else "out_is_x"
        # Streaming stores pay off into memory that exists already; into
        # pages just allocated they lose (the kernel zeroes each page into
        # the cache on first touch, and the stores then miss it).
        if out.nbytes >= STREAM_MIN_BYTES:
            return "streamed"
    return "direct"


def run(op, variant: str, inputs, out, scalars, fresh: bool = False):
    """Write ``op`` (``variant``) of ``inputs`` into ``out`` and return ``out``."""
    arrays = [*inputs, out]
    has_f16 = any(_is_f16(a) for a in arrays)
    # The bit-pattern bodies test x's bits; any other float16 operand (dy,
    # out) is only moved, so it may travel as bits too.
    bits = _is_f16(inputs[-1]) and op.variants[variant].cpu_f16_bits is not None
    units = drivers(op, variant, bits)
    if bits:
        arrays = [_bits(a) for a in arrays]
    flat = None if (has_f16 and not bits) else _flat(arrays)
    if flat is None:
        _run_nditer(units, arrays, scalars, widen=has_f16 and not bits)
    else:
        _run_flat(units, _write_mode(op.arity, flat, fresh), flat, scalars)
    return out


def _compute_dtype(a, is_out: bool, widen: bool):
    if widen and _is_f16(a):
        # Numba cannot compute in float16: inputs widen exactly to float32,
        # and the result stays in float64 until NumPy rounds it once.
        return np.dtype(np.float64 if is_out else np.float32)
    return a.dtype.newbyteorder("=")


def _run_nditer(units: Drivers, arrays, scalars, widen: bool):
    last = len(arrays) - 1
    it = np.nditer(
        arrays,
        flags=["external_loop", "buffered", "zerosize_ok", "grow_inner"],
        op_flags=[["readonly", "contig"]] * last + [["writeonly", "contig"]],
        op_dtypes=[_compute_dtype(a, i == last, widen) for i, a in enumerate(arrays)],
        casting="same_kind",
        buffersize=_NDITER_BUFFER,
    )
    direct = units["direct"]
    with it:
        for chunk in it:
            direct(*chunk, *scalars, 0, chunk[0].size)


# --- the small-call fast path (see relukit._fastpath) --------------------------


def _register_fast_paths():
    for op in OPERATIONS:
        variant = op.choose(op.defaults)
        units = drivers(op, variant)
        dtypes = ("float32", "float64")
        if op.variants[variant].int_ok and op.inputs == ("x",):
            dtypes += ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
        for name in dtypes:
            dtype = np.dtype(name)
            scalars = op.scalars(op.defaults, dtype, dtype)
            _fastpath.register(op.name, dtype, _slots(units, dtype, op.arity, scalars))


def _slots(units: Drivers, dtype, arity, scalars):
    element = numba.from_dtype(dtype)
    # The job "same" writes over the input the result is like: x for a
    # unary operation, dy for a backward pass.
    same_mode = "in_place" if arity == 1 else "out_is_dy"

    def compile_for(job, ndim):
        array = numba.types.Array(element, ndim, "C")
        driver = units["small" if job == "direct" else "small_" + same_mode]
        return driver.compile((array,) * (arity + 1) + (numba.types.float64,) * 3)

    def run_large(arrays, job):
        flat = [a.reshape(-1) for a in arrays]
        if job == "same":
            mode = same_mode
        else:
            mode = _write_mode(arity, flat, fresh=job == "new")
        _run_flat(units, mode, flat, scalars)

    return _fastpath.Slots(compile_for, run_large, dtype, scalars)


_register_fast_paths()


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
