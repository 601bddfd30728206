"""One table of what relukit computes, what defines it, and what it is compared with.

The tests, the ``bench`` command, the asv benchmarks and the docs all read
this module, so adding a function, a dtype or a parameter set here adds its
tests, benchmarks and table rows at once.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from . import _api, _numpy_backend
from ._params import make_params


class FunctionSpec(NamedTuple):
    """A public function and its reference implementation."""

    name: str
    func: Callable
    #: ``reference(*inputs, out, params)`` from the NumPy reference backend.
    reference: Callable
    #: Number of array inputs: 1 for ``(x,)``, 2 for ``(dy, x)``.
    arity: int
    #: Bytes moved per element, in units of the itemsize (reads + writes).
    traffic: int


FUNCTIONS = (
    FunctionSpec("relu", _api.relu, _numpy_backend.relu, 1, 2),
    FunctionSpec("relu_grad", _api.relu_grad, _numpy_backend.relu_grad, 1, 2),
    FunctionSpec("relu_backward", _api.relu_backward, _numpy_backend.relu_backward, 2, 3),
)
BY_NAME = {spec.name: spec for spec in FUNCTIONS}

#: Floating dtypes every function supports.
FLOAT_DTYPES = ("float16", "float32", "float64")
#: Integer dtypes plain ReLU supports.
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")

#: Backends that compute on NumPy arrays (CuPy has its own tests and suites).
CPU_BACKENDS = ("numpy", "numba")

#: Named parameter sets: the plain function and the Keras family.
PARAMETER_SETS = {
    "plain": {},
    "leaky": {"negative_slope": 0.1},
    "relu6": {"max_value": 6.0},
    "thresholded": {"threshold": 0.5},
    "all": {"negative_slope": 0.2, "max_value": 6.0, "threshold": -0.5},
}

#: Sizes the benchmarks sweep (elements).
BENCH_SIZES = (10**3, 10**4, 10**5, 10**6, 10**7)
BENCH_SIZES_FULL = BENCH_SIZES + (10**8,)


def params_of(name: str):
    """The validated :class:`~relukit._params.ReluParams` of a parameter set."""
    return make_params(**PARAMETER_SETS[name])
