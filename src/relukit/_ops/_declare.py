"""The vocabulary of the operation table: what declaring an operation means.

An :class:`Operation` is everything relukit knows about one public
function: its inputs, its parameters, the formulas (variants) it computes
with their NumPy reference, Numba kernel body and CUDA snippet, the pieces
of its docstring, how to make inputs for it and what to compare it with.
The public function, every backend's kernels, the Dask wrapper, the tests,
the bench, the asv suites and the docs' tables are all derived from it.

Nothing here imports Numba, CuPy or Dask: the backends compile the kernel
bodies when they first need them.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

import numpy as np

#: Floating dtypes relukit computes on (float16 is computed in float32 or
#: wider and rounded once).
FLOAT_DTYPES = ("float16", "float32", "float64")
#: Integer dtypes, for the variants that accept them.
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


class Parameter(NamedTuple):
    """A keyword parameter of an operation.

    ``check(function, value)`` returns the value as relukit uses it (a
    Python float, or None where allowed) or raises ``TypeError`` /
    ``ValueError`` naming the function and the parameter.
    """

    name: str
    default: Any
    #: numpydoc type line, e.g. ``"float, default 0.0"``.
    doc_type: str
    #: numpydoc description.
    doc: str
    check: Callable[[str, Any], Any]


class Variant(NamedTuple):
    """One formula of an operation; the parameters choose which one runs.

    Kernel conventions, shared by every backend:

    * Unary kernels see ``(x, a, b, c)``, binary ones ``(dy, x, a, b, c)``;
      ``a, b, c`` are the float64 *kernel scalars* the operation derives
      from its parameters for the dtypes of the call (unused ones are 0).
    * ``cpu`` is a plain Python function of one element that Numba compiles
      (``numba.njit(inline="always")``) into every CPU driver.
    * ``cuda`` is the body of a ``cupy.ElementwiseKernel``: inputs ``x``
      (type ``T``), ``dy`` (type ``D``), scalars ``a, b, c`` (double),
      output ``out`` (the result type), with the helpers of the CuPy
      backend's preamble.
    * ``reference(*inputs, a, b, c)`` is plain NumPy, returning the result
      in a dtype at least as wide as the output; the NumPy backend rounds it
      once into ``out``.
    """

    reference: Callable
    cpu: Callable
    cuda: str
    #: True when integer ``x`` is accepted (plain ReLU only).
    int_ok: bool = False
    #: Optional kernel body on float16 *bit patterns* (uint16), for the
    #: variants that only select bits: no widening buffer needed.
    cpu_f16_bits: Optional[Callable] = None


class ChannelGradient(NamedTuple):
    """How a backward pass also gives the gradient of its channel input.

    The gradient is the sum, over every axis but the channel, of a
    per-element term of ``dy`` and ``x``: ``reference(dy, x, xp)`` gives
    the terms as a float64 array (any array library ``xp``), ``cpu(dy, x)``
    one term as a float64, for compiled backends that accumulate it in the
    same pass as the result.
    """

    reference: Callable
    cpu: Callable


class Doc(NamedTuple):
    """The pieces of a numpydoc docstring that are particular to one operation."""

    summary: str
    inputs: str
    returns: str
    raises: str
    see_also: str
    notes: str
    examples: str


class Operation(NamedTuple):
    """One public function of relukit, declared once."""

    name: str
    #: Names of the array inputs, in call order: ``("x",)`` or ``("dy", "x")``.
    inputs: Tuple[str, ...]
    #: The input whose dtype (in native byte order) the result takes.
    result_like: str
    parameters: Tuple[Parameter, ...]
    variants: Dict[str, Variant]
    #: ``choose(values) -> variant name`` from the checked parameter values.
    choose: Callable[[dict], str]
    #: ``scalars(values, x_dtype, result_dtype) -> (a, b, c)`` for the kernels.
    scalars: Callable[[dict, np.dtype, np.dtype], Tuple[float, float, float]]
    #: Bytes moved per element, in units of the itemsize (reads + writes).
    traffic: int
    doc: Doc
    #: Named parameter sets the tests and benchmarks sweep.
    parameter_sets: Dict[str, dict]
    #: ``peers(mode) -> {label: callable}`` for ``mode`` in ``"allocating"``,
    #: ``"out"`` and ``"in_place"``: the best spellings elsewhere (NumPy,
    #: PyTorch when installed) of the same job, for the bench and asv.
    peers: Callable[[str], dict]
    #: ``make_inputs(make) -> inputs``: the call's array inputs, each from
    #: ``make(seed)``, a factory of sample arrays (one seed per input).
    make_inputs: Callable[[np.ndarray], tuple]
    #: How far (in units in the last place of the result) a compiled backend
    #: may land from the NumPy reference: 0 where both only select and round
    #: once, a few where each calls its own libm (exp, erfc, ...) in float64
    #: before the one rounding. The accuracy against the exact function is
    #: measured separately (``tools/accuracy.py``, the semantics page).
    ulps: int = 0
    #: True where the formula's terms cancel near a zero of the result (the
    #: derivatives of gelu, silu and mish): there a one-ulp difference in
    #: exp between backends is many ulps of the result, so ``ulps`` counts
    #: in units of the terms' size (1, times ``|dy|`` for a backward pass).
    cancels: bool = False
    #: Inputs that hold one value per channel (PReLU's ``weight``): 1
    #: element, or one per entry of ``x``'s ``axis`` parameter, broadcast
    #: along it by the dispatch before any backend sees them.
    channel_inputs: Tuple[str, ...] = ()
    #: For a backward pass that also returns the gradient of its channel
    #: input: how (see :class:`ChannelGradient`).
    channel_gradient: Optional[ChannelGradient] = None

    def __repr__(self) -> str:
        return f"<relukit operation {self.name}>"

    @property
    def arity(self) -> int:
        return len(self.inputs)

    @property
    def defaults(self) -> dict:
        return {p.name: p.default for p in self.parameters}

    def check(self, values: dict) -> dict:
        """Every parameter checked, in declaration order."""
        return {p.name: p.check(self.name, values[p.name]) for p in self.parameters}

    def int_ok(self, values: dict) -> bool:
        return self.variants[self.choose(values)].int_ok


# --- parameter checks --------------------------------------------------------


def _real(function: str, name: str, value) -> float:
    # numbers.Real admits Python and NumPy ints and floats, not strings,
    # complex numbers, arrays or bools (True and False are refused alike:
    # a bool slope is almost surely a mistake).
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        shape = getattr(value, "shape", None)
        what = f"an array of shape {shape}" if shape is not None else f"{type(value).__name__} {value!r}"
        raise TypeError(f"{function}(): {name} must be a real number, got {what}")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{function}(): {name} must not be NaN")
    return number


def finite_real(name: str):
    """Check for a finite real number."""

    def check(function, value):
        number = _real(function, name, value)
        if math.isinf(number):
            raise ValueError(f"{function}(): {name} must be finite, got {number}")
        return number

    return check


def nonnegative_or_none(name: str):
    """Check for ``None`` or a real number >= 0 (inf allowed: no clip)."""

    def check(function, value):
        if value is None:
            return None
        number = _real(function, name, value)
        if number < 0:
            raise ValueError(f"{function}(): {name} must be >= 0 (or None), got {number}")
        return number

    return check


def in_dtype(value: float, dtype: np.dtype) -> float:
    """``value`` rounded to ``dtype`` (as the frameworks convert parameters), as a float."""
    if dtype.kind != "f":
        return value
    with np.errstate(over="ignore"):
        return float(dtype.type(value))
