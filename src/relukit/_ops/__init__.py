"""The one table of operations: every public function of relukit, declared once.

Each entry of :data:`OPERATIONS` is an :class:`~relukit._ops._declare.Operation`
(see that module for what a declaration holds). The public functions
(``relukit._functions``), the kernels of every backend, the Dask wrapper,
the tests, the bench, the asv suites and the docs' tables are generated from
this table; adding an operation means adding its declaration to a family
module here (``docs/user_guide/adding_an_operation.rst`` says the rest).
"""

from __future__ import annotations

from ._declare import FLOAT_DTYPES, INT_DTYPES, Doc, Operation, Parameter, Variant
from .prelu import OPERATIONS as _PRELU
from .relu import OPERATIONS as _RELU
from .smooth import OPERATIONS as _SMOOTH

#: Every operation, in the order the docs and the bench list them.
OPERATIONS = _RELU + _PRELU + _SMOOTH
BY_NAME = {op.name: op for op in OPERATIONS}

#: Backends that compute on NumPy arrays.
CPU_BACKENDS = ("numpy", "numba")

#: Sizes the benchmarks sweep (elements).
BENCH_SIZES = (10**3, 10**4, 10**5, 10**6, 10**7)
BENCH_SIZES_FULL = BENCH_SIZES + (10**8,)

__all__ = [
    "BENCH_SIZES",
    "BENCH_SIZES_FULL",
    "BY_NAME",
    "CPU_BACKENDS",
    "Doc",
    "FLOAT_DTYPES",
    "INT_DTYPES",
    "OPERATIONS",
    "Operation",
    "Parameter",
    "Variant",
]
