"""The public functions, generated from the operation table.

Each function has the inputs and keyword parameters its declaration lists,
a real signature (``help`` and IDEs show it) and its full docstring. Its
body tries the fast path for default calls on C-contiguous arrays of one
dtype, allocating, into ``out`` or in place (``relukit._fastpath``), and otherwise
hands everything to the one dispatch, :func:`relukit._api.call`. Generated
source rather than a ``**kwargs`` wrapper: at 1e3 elements the Python
around the kernel is most of the cost of a call.
"""

from __future__ import annotations

import numpy as np

from . import _api, _backends, _docstrings, _fastpath
from ._ops import OPERATIONS

_TEMPLATE = '''
def {name}({inputs}, /, out=None, *, {parameters}backend=None):
    if backend is None and {defaults} and {plain_arrays} and x.ndim and {contiguous}:
        if not _FAST_{name}:
            _load_numba()
        slots = _FAST_{name}.get(x.dtype)
        if slots is not None:
            # A kernel is None while the background thread prepares it, and
            # a large job answers None then: the general path below serves
            # the call meanwhile.
            if out is None:
                if x.size <= _MAX_SIZE:
                    kernel = slots[x.ndim] or slots.fill(x.ndim)
                    if kernel is not None:
                        result = _empty(x.shape, x.dtype)
                        kernel({inputs}, result)
                        return result
                else:
                    result = slots.new_large({inputs})
                    if result is not None:
                        return result
            elif (
                type(out) is _ndarray
                and out.dtype is x.dtype
                and out.ndim == x.ndim
                and (flags := out.flags).c_contiguous
                and flags.writeable
            ):
                if x.size <= _MAX_SIZE:
                    # These kernels compare shapes and check overlap
                    # themselves: False means they wrote nothing.
                    if out is {result_like}:
                        kernel = slots.same_kernels[x.ndim] or slots.fill_same(x.ndim)
                    else:
                        kernel = slots.into_kernels[x.ndim] or slots.fill_into(x.ndim)
                    if kernel is not None and kernel({inputs}, out):
                        return out
                elif out is {result_like}:
                    if slots.same_large({inputs}, out) is not None:
                        return out
                elif slots.into_large({inputs}, out) is not None:
                    return out
    return _call(_OP_{name}, [{inputs}], out, backend, {{{values}}})
'''


_TEMPLATE_GENERAL = '''
def {name}({inputs}, /, out=None, *, {parameters}backend=None):
    return _call(_OP_{name}, [{inputs}], out, backend, {{{values}}})
'''


def _source(op) -> str:
    names = op.inputs
    parameters = "".join(f"{p.name}=_DEFAULT_{op.name}_{p.name}, " for p in op.parameters)
    # Identity with the default objects: cheap, and never asks an array for
    # its truth value (a bad parameter reaches the checks in _api instead).
    defaults = " and ".join(
        f"{p.name} is _DEFAULT_{op.name}_{p.name}" for p in op.parameters
    ) or "True"
    plain_arrays = " and ".join(f"type({n}) is _ndarray" for n in names)
    contiguous = " and ".join(f"{n}.flags.c_contiguous" for n in names)
    if len(names) == 2:
        contiguous += f" and {names[0]}.dtype == x.dtype and {names[0]}.shape == x.shape"
    # Inputs of other shapes (channel inputs) never take the fast path.
    template = _TEMPLATE_GENERAL if op.channel_inputs else _TEMPLATE
    return template.format(
        name=op.name,
        inputs=", ".join(names),
        parameters=parameters,
        defaults=defaults,
        plain_arrays=plain_arrays,
        contiguous=contiguous,
        result_like=op.result_like,
        values=", ".join(f"{p.name!r}: {p.name}" for p in op.parameters),
    )


def _generate(op):
    namespace = globals()
    namespace[f"_OP_{op.name}"] = op
    namespace[f"_FAST_{op.name}"] = _fastpath.TABLES.setdefault(op.name, {})
    for p in op.parameters:
        namespace[f"_DEFAULT_{op.name}_{p.name}"] = p.default
    # Executed in this module's namespace so that doctest finds the examples.
    exec(compile(_source(op), f"<relukit.{op.name}>", "exec"), namespace)
    function = namespace[op.name]
    function.__module__ = "relukit"
    function.__doc__ = _docstrings.build(op)
    # As strings, the way ``from __future__ import annotations`` keeps them.
    annotations = {name: "ArrayLike" for name in op.inputs}
    annotations.update({"out": "Any", "backend": "Optional[str]", "return": "Any"})
    for p in op.parameters:
        kind = type(p.default).__name__  # float or str
        annotations[p.name] = "Optional[float]" if p.default is None else kind
    function.__annotations__ = annotations
    return function


def _load_numba():
    """Load the Numba backend, which fills the fast-path tables, on first use.

    Without this the very first call would take the general path and load
    the larger general-purpose drivers from Numba's cache as well. With
    background compiling on, this only asks the background thread to load
    it (see ``relukit._background``); when Numba is missing, the general
    path uses the NumPy reference backend.
    """
    _backends.for_call("numpy")


_ndarray = np.ndarray
_empty = np.empty
_call = _api.call
_MAX_SIZE = _fastpath.MAX_SIZE

PUBLIC = {op.name: _generate(op) for op in OPERATIONS}
