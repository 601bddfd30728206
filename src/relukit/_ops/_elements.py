"""Helpers that kernel bodies in the operation table may call.

Each works in plain Python on NumPy scalars (so a kernel body can be read
and tried without Numba) and is compiled into the kernels by the Numba
backend (``relukit._numba_drivers``), which registers every function of
:data:`JITABLE` and gives :func:`zero_of` its own implementation before any
kernel is compiled. The elementary functions :func:`exp`, :func:`expm1`,
:func:`log1p` and :func:`erfc` call NumPy's ufuncs (or ``math``'s where
NumPy has none) here, and the Numba backend compiles relukit's own
vectorizable float64 implementations in their place
(``relukit._numba_math``): the C library's, one call per element, would
keep every loop that uses them scalar.
"""

from __future__ import annotations

import math

import numpy as np

def exp(x):
    """``e**x`` in float64."""
    return np.exp(x)


def expm1(x):
    """``e**x - 1`` in float64, accurate near 0."""
    return np.expm1(x)


def log1p(x):
    """``log(1 + x)`` in float64, accurate near 0."""
    return np.log1p(x)


def erfc(x):
    """The complementary error function ``1 - erf(x)``, accurate where it is small."""
    return math.erfc(x)


def ratio(n, d):
    """``n / d`` as IEEE 754 divides.

    The Numba backend compiles it without the zero-divisor check of
    Numba's ``/`` (a branch that raises, which keeps the loop around it
    from vectorizing); every divisor the helpers below pass is >= 1, and
    the kernels only divide by parameters checked to be > 0.
    """
    return n / d


def zero_of(x):
    """0 in the type of ``x``.

    ``0 if x < 0 else x`` would unify a Python int with ``x``'s type, and
    for uint64 that unification is float64, which loses the low bits.
    """
    return type(x)(0)


def clamp(v):
    """``v`` where ``|v| <= 800``, else +-800 (inf included).

    A factor that multiplies a term which underflows to 0 long before
    ``|v| = 800`` (``exp(-800) == 0``): with ``v = +-inf`` itself the product
    would be ``inf * 0 = NaN``.
    """
    return v if abs(v) <= 800.0 else math.copysign(800.0, v)


def sigmoids(v):
    """``(sigmoid(v), 1 - sigmoid(v))``, neither by cancellation, for float64 ``v``.

    ``exp(-|v|)`` never overflows; NaN gives NaN twice.
    """
    e = exp(-abs(v))
    p = ratio(1.0, 1.0 + e)
    q = e * p
    if v >= 0.0:
        return p, q
    return q, p


def mish_parts(v):
    """``(t, 1 - t, sigmoid(v))`` with ``t = tanh(softplus(v))``, without overflow.

    With ``E = exp(v)``, ``t = (E**2 + 2E) / (E**2 + 2E + 2)``; written in
    ``e = exp(-|v|)`` on each side of 0 so that nothing overflows and
    ``1 - t`` is not a difference of nearby numbers.
    """
    e = exp(-abs(v))
    if v >= 0.0:
        d = 1.0 + 2.0 * e + 2.0 * e * e
        return ratio(1.0 + 2.0 * e, d), ratio(2.0 * e * e, d), ratio(1.0, 1.0 + e)
    n = e * (e + 2.0)
    return ratio(n, n + 2.0), ratio(2.0, n + 2.0), ratio(e, 1.0 + e)


#: The helpers above that the Numba backend compiles as they are.
JITABLE = (clamp, sigmoids, mish_parts)
