"""The NumPy reference backend: the definition of correct.

Every other backend is tested against these functions. They favour plain,
obviously right NumPy over speed: the Keras parameters are evaluated in
float64 and rounded once into the result dtype.

Each function writes its result into ``out`` (already validated by
``relukit._api``) and returns it.
"""

from __future__ import annotations

import numpy as np

from ._params import ReluParams

xp = np


def _regions(x, params: ReluParams):
    """Masks of the linear, negative and saturated pieces, NaN in none."""
    xd = np.asarray(x, dtype=np.float64)
    saturated = np.zeros(xd.shape, dtype=bool)
    if params.max_value is not None:
        saturated = xd >= params.max_value
    linear = (xd > params.threshold) & ~saturated
    negative = (xd <= params.threshold) & ~saturated
    return xd, linear, negative, saturated


def relu(x, out, params: ReluParams, fresh: bool = False):
    if params.is_plain:
        # np.maximum propagates NaN, unlike ``x * (x > 0)``.
        return np.maximum(x, 0, out=out)
    xd, linear, negative, saturated = _regions(x, params)
    y = np.where(linear, xd, 0.0)
    if params.negative_slope != 0:
        # With a zero slope the negative piece is exactly 0, even at -inf.
        y = np.where(negative, params.negative_slope * (xd - params.threshold), y)
    if params.max_value is not None:
        y = np.where(saturated, params.max_value, y)
    y = np.where(np.isnan(xd), xd, y)
    np.copyto(out, y, casting="unsafe")
    return out


def relu_grad(x, out, params: ReluParams, fresh: bool = False):
    if params.is_plain:
        # Comparisons with NaN are False: the gradient is 0 there.
        np.copyto(out, np.greater(x, 0), casting="unsafe")
        return out
    _, linear, negative, _ = _regions(x, params)
    g = np.where(linear, 1.0, np.where(negative, params.negative_slope, 0.0))
    np.copyto(out, g, casting="unsafe")
    return out


def relu_backward(dy, x, out, params: ReluParams, fresh: bool = False):
    dy = np.asarray(dy)
    zero = np.zeros((), dtype=out.dtype)
    if params.is_plain:
        np.copyto(out, np.where(np.greater(x, 0), dy, zero), casting="unsafe")
        return out
    _, linear, negative, _ = _regions(x, params)
    dyd = dy.astype(np.float64)
    # A select, not a product: where the gradient is 0 the result is 0 even
    # when dy is inf or NaN (as in PyTorch's threshold_backward and JAX).
    dx = np.where(linear, dyd, 0.0)
    if params.negative_slope != 0:
        dx = np.where(negative, params.negative_slope * dyd, dx)
    np.copyto(out, dx, casting="unsafe")
    return out
