"""Compile the common CPU kernels ahead of time, and say what is ready.

Numba compiles a driver the first time it meets a dtype and keeps the
machine code in its on-disk cache (next to the package, or in the user's
cache folder when the package folder is read-only). ``python -m relukit
warmup`` fills that cache for the operations, dtypes and write modes of
the table that users call most, so that a fresh environment, a Docker
image or a Dask worker starts warm.
"""

from __future__ import annotations

import os
import time

import numpy as np

#: What ``warmup`` compiles by default.
DEFAULT_DTYPES = ("float32", "float64")


def _inputs(op, dtype, size):
    x = np.linspace(-1, 1, size, dtype=dtype)
    return op.make_inputs(lambda seed: x.copy())


def warmup(operations=None, dtypes=DEFAULT_DTYPES, report=print) -> dict:
    """Compile (or load from Numba's cache) every driver a common call uses.

    Parameters
    ----------
    operations : list of str, optional
        Operation names; all of the table by default.
    dtypes : sequence of str
        Dtypes to compile for.
    report : callable or None
        Called with one line per operation and dtype.

    Returns
    -------
    dict
        ``(operation, dtype) -> seconds`` it took.
    """
    from . import _background

    # The point is to compile: in this thread, not in the background while
    # the NumPy reference computes the calls.
    with _background.synchronous():
        return _warmup(operations, dtypes, report)


def _warmup(operations, dtypes, report) -> dict:
    from . import _backends
    from ._functions import PUBLIC
    from ._ops import BY_NAME, OPERATIONS

    _numba = _backends.load("numba")

    chosen = [BY_NAME[name] for name in operations] if operations else list(OPERATIONS)
    took = {}
    for op in chosen:
        function = PUBLIC[op.name]
        for dtype in dtypes:
            start = time.perf_counter()
            if op.channel_inputs:
                # Always the general path: the buffered iterator's driver.
                x = np.linspace(-1, 1, 64, dtype=dtype).reshape(8, 8)
                function(*op.make_inputs(lambda seed: x.copy()))
                took[op.name, dtype] = time.perf_counter() - start
                if report:
                    report(f"  {op.name:<16} {dtype:<8} {took[op.name, dtype]:6.2f} s")
                continue
            for shape in ((64,), (8, 8)):  # the fast path's entry points by ndim
                inputs = _inputs(op, dtype, int(np.prod(shape)))
                inputs = [a.reshape(shape) for a in inputs]
                function(*inputs)
                function(*inputs, out=np.empty_like(inputs[0]))
                function(*inputs, out=inputs[0])
            # The flat drivers of large calls, each write mode, and the
            # general path's drivers for the other variants.
            units = _numba.drivers(op, op.choose(op.defaults))
            flat = list(_inputs(op, dtype, 256))
            scalars = op.scalars(op.defaults, np.dtype(dtype), np.dtype(dtype))
            modes = ("direct", "in_place", "streamed") if op.arity == 1 else (
                "direct", "out_is_dy", "out_is_x", "streamed")
            for mode in modes:
                units[mode](*flat, np.empty_like(flat[0]), *scalars, 0, 256)
            for variant in op.variants:
                if variant != op.choose(op.defaults):
                    _numba.drivers(op, variant)["direct"](
                        *flat, np.empty_like(flat[0]), *scalars, 0, 256
                    )
            took[op.name, dtype] = time.perf_counter() - start
            if report:
                report(f"  {op.name:<16} {dtype:<8} {took[op.name, dtype]:6.2f} s")
    return took


def cache_status() -> dict:
    """Where Numba caches relukit's kernels, and whether it can write there."""
    package = os.path.dirname(os.path.abspath(__file__))
    override = os.environ.get("NUMBA_CACHE_DIR")
    folder = override or os.path.join(package, "__pycache__")
    probe = folder if os.path.isdir(folder) else os.path.dirname(folder)
    writable = os.access(probe, os.W_OK)
    files = 0
    if os.path.isdir(folder):
        files = sum(name.endswith(".nbc") for name in os.listdir(folder))
    return {"folder": folder, "writable": writable, "cached_kernels": files}


def compiled_units() -> list:
    """``operation/variant/mode`` of every driver compiled or loaded in this process."""
    from . import _backends

    ready = []
    for (name, variant, bits), units in sorted(_backends.load("numba")._drivers.items()):
        for mode in units.built():
            ready.append(f"{name}/{variant}{'/f16bits' if bits else ''}/{mode}")
    return ready
