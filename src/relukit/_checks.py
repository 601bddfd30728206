"""Argument checks shared by the eager dispatch and the Dask adapter.

Every check raises before anything is computed or written, with a message
that names the function and the argument.
"""

from __future__ import annotations

from . import _backends
from ._ops import Operation

_FLOATS = "float16, float32 or float64"


def check_dtype(op: Operation, name: str, dtype, int_ok: bool) -> None:
    """Raise ``TypeError`` unless input ``name`` of ``op`` may have ``dtype``."""
    if dtype.kind == "f" and dtype.itemsize in (2, 4, 8):
        return
    takes_ints = name == "x" and any(v.int_ok for v in op.variants.values())
    if dtype.kind in "iu" and takes_ints:
        if int_ok:
            return
        raise TypeError(
            f"{op.name}(): x has dtype {dtype}; integer inputs need the default parameters "
            f"(the others compute in floating point): use {_FLOATS}"
        )
    if takes_ints:
        accepted = f"{_FLOATS} (or an integer dtype with the default parameters)"
    else:
        accepted = _FLOATS
    raise TypeError(f"{op.name}(): {name} has dtype {dtype}, which is not supported; use {accepted}")


def check_dtypes(op: Operation, arrays, values: dict) -> None:
    int_ok = op.int_ok(values)
    for name, a in zip(op.inputs, arrays):
        check_dtype(op, name, a.dtype, int_ok)


def check_same_shape(op: Operation, arrays, same=lambda a, b: a == b) -> None:
    for name, a in zip(op.inputs[1:], arrays[1:]):
        if not same(arrays[0].shape, a.shape):
            raise ValueError(
                f"{op.name}(): {op.inputs[0]} and {name} must have the same shape, "
                f"got {arrays[0].shape} and {a.shape}"
            )


def resolve(op: Operation, arrays, backend):
    """The backend module for ``arrays`` (all of one array library) and that library."""
    libraries = {_backends.array_library(a) for a in arrays}
    if len(libraries) > 1:
        raise TypeError(
            f"{op.name}(): arrays from different libraries ({', '.join(sorted(libraries))}); "
            "relukit never copies between host and device: convert them first"
        )
    library = libraries.pop()
    name = _backends.for_call(library) if backend is None else backend
    module = _backends.load(name)
    if _backends.ARRAY_LIBRARY[name] != library:
        raise TypeError(
            f"{op.name}(): backend {name!r} computes on {_backends.ARRAY_LIBRARY[name]} arrays, "
            f"got a {type(arrays[0]).__module__}.{type(arrays[0]).__name__}; "
            "pass backend=None to choose by array type"
        )
    return module, library


def result_dtype(op: Operation, arrays):
    """The result's dtype: that of ``op.result_like``, in native byte order."""
    return arrays[op.inputs.index(op.result_like)].dtype.newbyteorder("=")
