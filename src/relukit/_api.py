"""The one place where dispatch happens: check, convert, pick a backend, run.

Every public function (generated in ``relukit._functions`` from the
operation table) calls :func:`call` unless its small-call fast path
applies. Everything a backend receives has been checked here first, so a
bad argument raises before anything is written.
"""

from __future__ import annotations

import contextlib

import numpy as np

from . import _background, _backends, _channels, _checks, _wrappers
from ._ops import Operation


_NOTHING = contextlib.nullcontext()


def _pointer(a):
    interface = getattr(a, "__cuda_array_interface__", None) or a.__array_interface__
    return interface["data"][0]


def _same_memory(a, b):
    """True when ``a`` and ``b`` are the very same elements (in place)."""
    return a.strides == b.strides and a.itemsize == b.itemsize and _pointer(a) == _pointer(b)


def _detach_inputs(inputs, out, xp):
    """Copy any input that overlaps ``out`` without being exactly ``out``."""
    return [
        a.copy() if xp.may_share_memory(a, out) and not _same_memory(a, out) else a
        for a in inputs
    ]


def _check_out(op: Operation, out, shape, dtype, library, xp):
    if not isinstance(out, xp.ndarray):
        raise TypeError(
            f"{op.name}(): out must be a {library} array like the inputs, "
            f"got {type(out).__module__}.{type(out).__name__}"
        )
    if out.shape != shape:
        raise ValueError(f"{op.name}(): out has shape {out.shape}, expected {shape}")
    if out.dtype.newbyteorder("=") != dtype:
        raise TypeError(f"{op.name}(): out has dtype {out.dtype}, expected {dtype}")
    flags = getattr(out, "flags", None)
    if flags is not None and not getattr(flags, "writeable", True):
        raise ValueError(f"{op.name}(): out is read-only")


def call(op: Operation, inputs, out, backend, values: dict, channel_gradient: bool = True):
    """Compute ``op`` on ``inputs`` with parameter ``values`` (as passed by the user).

    For a backward pass with a channel input (PReLU's) the result is the
    pair ``(gradient of the result_like input's partner, gradient of the
    channel input)``, unless ``channel_gradient`` is False (Dask's chunks).
    """
    values = op.check(values)
    libraries = {_backends.array_library(a) for a in inputs}
    if "dask" in libraries:
        from . import _dask

        return _dask.apply(op, inputs, out, backend, values, call)
    if "numpy" in libraries and op.channel_gradient is None:
        result = _wrappers.dispatch(op, inputs, out, backend, values, call)
        if result is not NotImplemented:
            return result
    inputs = [_as_array(op, name, a) for name, a in zip(op.inputs, inputs)]
    module, library = _checks.resolve(op, inputs, backend)
    _checks.check_dtypes(op, inputs, values)
    given = inputs
    if op.channel_inputs:
        inputs = _channels.broadcast(op, inputs, values["axis"], module.xp)
    _checks.check_same_shape(op, inputs)
    x = inputs[op.inputs.index("x")]
    dtype = _checks.result_dtype(op, inputs)
    variant = op.choose(values)
    scalars = op.scalars(values, x.dtype, dtype)
    fresh = out is None
    if fresh:
        out = module.xp.empty_like(x, dtype=dtype)
    else:
        _check_out(op, out, x.shape, dtype, library, module.xp)
        inputs = _detach_inputs(inputs, out, module.xp)
    with_gradient = op.channel_gradient is not None and channel_gradient
    sums = None
    try:
        # A backend asked for by name compiles what it needs right here.
        with _background.synchronous() if backend is not None else _NOTHING:
            if with_gradient and hasattr(module, "run_with_channel_gradient"):
                sums = module.run_with_channel_gradient(op, variant, inputs, out, scalars)
            if sums is None:
                module.run(op, variant, inputs, out, scalars, fresh)
    except _background.NotReady:
        # Raised before anything was written: the reference computes the
        # same result while the kernel is prepared in the background.
        _backends.load("numpy").run(op, variant, inputs, out, scalars, fresh)
    result = out[()] if fresh and library == "numpy" and x.ndim == 0 else out
    if with_gradient:
        (name,) = op.channel_inputs
        weight = given[op.inputs.index(name)]
        if sums is not None:
            return result, _channels.shaped(sums, weight)
        return result, _channels.gradient(op, inputs, weight, values["axis"], module.xp)
    return result


def _as_array(op: Operation, name: str, a):
    """NumPy's conversion of an array-like, refusing what it cannot compute on."""
    if _backends.array_library(a) != "numpy" or type(a) is np.ndarray:
        return a
    try:
        converted = np.asarray(a)
    except Exception as error:  # ragged lists and the like
        raise TypeError(
            f"{op.name}(): {name} is a {type(a).__name__} that NumPy cannot convert "
            f"to an array ({error})"
        ) from error
    if converted.dtype.kind in "OSUV" and not isinstance(a, np.ndarray):
        raise TypeError(
            f"{op.name}(): {name} is a {type(a).__module__}.{type(a).__name__}, which NumPy "
            f"converts to dtype {converted.dtype}; pass numbers"
        )
    return converted
