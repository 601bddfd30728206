"""Helpers that kernel bodies in the operation table may call.

Each works in plain Python on NumPy scalars (so a kernel body can be read
and tried without Numba) and is compiled into the kernels by the Numba
backend (``relukit._numba_drivers``), which registers every function of
:data:`JITABLE` and gives :func:`zero_of` its own implementation before any
kernel is compiled. The elementary functions are NumPy's ufuncs (or
``math``'s where NumPy has none), which Numba compiles to calls of the
C library's double-precision functions.
"""

from __future__ import annotations

import math

import numpy as np

exp = np.exp
expm1 = np.expm1
log1p = np.log1p
erfc = math.erfc


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
    p = 1.0 / (1.0 + e)
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
        return (1.0 + 2.0 * e) / d, 2.0 * e * e / d, 1.0 / (1.0 + e)
    n = e * (e + 2.0)
    return n / (n + 2.0), 2.0 / (n + 2.0), e / (1.0 + e)


#: The helpers above that the Numba backend compiles as they are.
JITABLE = (clamp, sigmoids, mish_parts)
