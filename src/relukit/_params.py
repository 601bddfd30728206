"""Validation of the Keras-style parameters shared by every backend."""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple, Optional

import numpy as np


class ReluParams(NamedTuple):
    """The piecewise-linear ReLU family, already validated.

    ``max_value`` is ``None`` when there is no upper clip.
    """

    negative_slope: float = 0.0
    max_value: Optional[float] = None
    threshold: float = 0.0

    @property
    def is_plain(self) -> bool:
        """True for ``max(x, 0)`` itself: no slope, no clip, no threshold."""
        return self == PLAIN


PLAIN = ReluParams()


def _as_real(name: str, value) -> float:
    # numbers.Real admits Python and NumPy ints and floats, but not strings,
    # complex numbers or bools (a bool slope is almost surely a mistake).
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{name} must not be NaN")
    return number


def make_params(negative_slope=0.0, max_value=None, threshold=0.0) -> ReluParams:
    """Check the Keras parameters and return them as a :class:`ReluParams`.

    Raises
    ------
    TypeError
        If a parameter is not a real number.
    ValueError
        If a parameter is NaN, ``negative_slope`` or ``threshold`` is
        infinite, or ``max_value`` is negative.
    """
    slope = _as_real("negative_slope", negative_slope)
    thresh = _as_real("threshold", threshold)
    for name, number in (("negative_slope", slope), ("threshold", thresh)):
        if math.isinf(number):
            raise ValueError(f"{name} must be finite, got {number}")
    cap = None
    if max_value is not None:
        cap = _as_real("max_value", max_value)
        if cap < 0:
            raise ValueError(f"max_value must be >= 0 (or None), got {cap}")
    return ReluParams(slope, cap, thresh)
