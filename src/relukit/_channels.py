"""Per-channel inputs (PReLU's ``weight``): their layout, broadcast and gradient.

An operation's ``channel_inputs`` hold one value, or one per entry of ``x``
along the ``axis`` parameter (PyTorch's layout), or with ``axis=None`` one
per element of ``x``. The dispatch calls :func:`broadcast` so that every
backend sees inputs of ``x``'s shape (a zero-stride view: nothing is
copied), and :func:`gradient` to sum a backward pass's per-element terms
into the shape of the channel input. Array-library agnostic: ``xp`` is
NumPy, CuPy or ``dask.array``.
"""

from __future__ import annotations

import numpy as np


def layout(op, x_shape, weight, axis):
    """The shape ``weight`` is reshaped to before broadcasting against ``x``."""
    ndim = len(x_shape)
    if axis is None:
        if weight.shape != tuple(x_shape) and weight.size != 1:
            raise ValueError(
                f"{op.name}(): with axis=None, weight must have the shape of x {tuple(x_shape)} "
                f"(or 1 element), got shape {weight.shape}"
            )
        return weight.shape if weight.size != 1 else (1,) * ndim
    if weight.size == 1:
        # One slope for every element, whatever the axis (PyTorch allows it
        # for a 1-D x, which has no channel axis).
        return (1,) * ndim
    if weight.ndim != 1:
        raise ValueError(
            f"{op.name}(): weight must be 1-D (one slope per channel), got shape {weight.shape}"
        )
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{op.name}(): weight has {weight.size} slopes, but x has {ndim} dimension(s) and no "
            f"axis {axis} to run them along; one slope (1 element) is allowed"
        )
    axis %= ndim
    if weight.shape[0] != x_shape[axis]:
        raise ValueError(
            f"{op.name}(): weight has {weight.shape[0]} slopes, expected 1 or x.shape[{axis}] = "
            f"{x_shape[axis]}"
        )
    shape = [1] * ndim
    shape[axis] = weight.shape[0]
    return tuple(shape)


def broadcast(op, inputs, axis, xp):
    """``inputs`` with each channel input broadcast to the shape of ``x``."""
    x = inputs[op.inputs.index("x")]
    result = list(inputs)
    for name in op.channel_inputs:
        index = op.inputs.index(name)
        weight = inputs[index]
        shape = layout(op, x.shape, weight, axis)
        result[index] = xp.broadcast_to(weight.reshape(shape), x.shape)
    return result


def gradient(op, inputs, weight, axis, xp):
    """The gradient of channel input ``weight``: the terms summed over the other axes."""
    dy, x = inputs[op.inputs.index("dy")], inputs[op.inputs.index("x")]
    term = op.channel_gradient.reference(dy, x, xp)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, as the kernels
        if axis is None and weight.size != 1:
            total = term
        elif weight.size == 1:
            total = term.sum()
        else:
            axis %= x.ndim
            total = term.sum(axis=tuple(i for i in range(x.ndim) if i != axis))
    return shaped(total, weight)


def shaped(total, weight):
    """The gradient ``total`` in the shape and (native) dtype of ``weight``."""
    with np.errstate(over="ignore"):  # beyond float16's range: inf, as any rounding
        return total.reshape(weight.shape).astype(weight.dtype.newbyteorder("="))
