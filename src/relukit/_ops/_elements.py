"""Helpers that kernel bodies in the operation table may call.

Each works in plain Python on NumPy scalars (so a kernel body can be read
and tried without Numba) and is given a compiled implementation by the
Numba backend (``relukit._numba_drivers``), which registers it before any
kernel is compiled.
"""

from __future__ import annotations


def zero_of(x):
    """0 in the type of ``x``.

    ``0 if x < 0 else x`` would unify a Python int with ``x``'s type, and
    for uint64 that unification is float64, which loses the low bits.
    """
    return type(x)(0)
