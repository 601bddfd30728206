"""NumPy's conventions for array-likes that are not plain arrays.

relukit's functions behave as NumPy ufuncs do with the objects NumPy users
pass them:

- an object that overrides ``__array_ufunc__`` (pandas, xarray, and any
  other duck array) gets the call, with a ufunc-like stand-in for the
  operation, and returns what it likes (pandas and xarray keep their
  labels);
- ``np.ma.MaskedArray`` keeps its mask, and masked entries are left alone
  (they keep the input's data, as NumPy's masked ufuncs do on their domain);
- any other ``np.ndarray`` subclass (``np.matrix``, ...) is computed on a
  plain view and the result wrapped back with ``__array_wrap__``, as a
  ufunc would.

Anything else is converted by ``np.asarray`` in the dispatch.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

_NDARRAY_UFUNC = np.ndarray.__array_ufunc__


class OperationUfunc:
    """A ufunc-like stand-in for one operation with fixed parameters.

    ``__array_ufunc__`` implementations (pandas, xarray) unwrap their
    operands, call this object on the plain arrays and wrap the result.
    """

    nout = 1
    signature = None

    def __init__(self, op, values, backend, call):
        self.__name__ = op.name
        self.nin = op.arity
        self._op, self._values, self._backend, self._call = op, values, backend, call

    def __call__(self, *inputs, out=None, **kwargs):
        if kwargs:
            raise TypeError(f"{self.__name__}(): unsupported ufunc arguments {sorted(kwargs)}")
        if isinstance(out, tuple):
            (out,) = out
        return self._call(self._op, list(inputs), out, self._backend, self._values)

    def __repr__(self):
        return f"<relukit operation {self.__name__}>"


def _overrides(a) -> bool:
    method = getattr(type(a), "__array_ufunc__", _NDARRAY_UFUNC)
    return method is not _NDARRAY_UFUNC


def dispatch(op, inputs, out, backend, values, call: Callable):
    """The result for array-likes that need NumPy's conventions, or NotImplemented."""
    operands = list(inputs) + ([out] if out is not None else [])
    overriding = [a for a in operands if _overrides(a)]
    if overriding:
        return _defer(op, inputs, out, backend, values, call, overriding)
    if any(isinstance(a, np.ma.MaskedArray) for a in operands):
        return _masked(op, inputs, out, backend, values, call)
    subclassed = [a for a in operands if isinstance(a, np.ndarray) and type(a) is not np.ndarray]
    if subclassed:
        plain = [a.view(np.ndarray) if isinstance(a, np.ndarray) else a for a in inputs]
        target = out.view(np.ndarray) if out is not None else None
        result = call(op, plain, target, backend, values)
        if out is not None:
            return out
        return _wrap(subclassed[0], result)
    return NotImplemented


def _defer(op, inputs, out, backend, values, call, overriding):
    ufunc = OperationUfunc(op, values, backend, call)
    kwargs = {} if out is None else {"out": (out,)}
    for a in overriding:
        if type(a).__array_ufunc__ is None:
            raise TypeError(f"{op.name}(): {type(a).__name__} does not support NumPy ufuncs")
        result = type(a).__array_ufunc__(a, ufunc, "__call__", *inputs, **kwargs)
        if result is not NotImplemented:
            return result
    names = ", ".join(sorted({type(a).__name__ for a in overriding}))
    raise TypeError(f"{op.name}(): operand types {names} do not support this operation")


def _masked(op, inputs, out, backend, values, call):
    datas = [np.ma.getdata(a) for a in inputs]
    mask = np.zeros(np.shape(datas[-1]), dtype=bool)
    for a in inputs:
        mask = mask | np.ma.getmaskarray(a)
    if out is None:
        computed = call(op, datas, None, backend, values)
        keep = datas[op.inputs.index(op.result_like)]
        data = np.array(keep, dtype=np.asarray(computed).dtype, copy=True)
        np.copyto(data, computed, where=~mask)
        return np.ma.MaskedArray(data, mask=mask)
    target = np.ma.getdata(out)
    if not target.flags.writeable:
        raise ValueError(f"{op.name}(): out is read-only")
    # Into a scratch array like ``out``, which checks its shape and dtype.
    computed = call(op, datas, np.empty_like(target), backend, values)
    np.copyto(target, computed, where=~mask)
    if isinstance(out, np.ma.MaskedArray):
        out.mask = np.ma.getmaskarray(out) | mask
    return out


def _wrap(template, result):
    wrap = getattr(template, "__array_wrap__", None)
    if wrap is None or not isinstance(result, np.ndarray):
        return result
    try:
        return wrap(result, None, False)
    except TypeError:  # an older signature without return_scalar
        return wrap(result)
