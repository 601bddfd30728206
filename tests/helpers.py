"""Input factories over dtype, shape and layout, the table seen by the tests, and the
rule for comparing with the reference."""

from __future__ import annotations

import numpy as np

import pytest

import relukit
from relukit._ops import BY_NAME, CPU_BACKENDS, FLOAT_DTYPES, INT_DTYPES, OPERATIONS

__all__ = ["BY_NAME", "CPU_BACKENDS", "FLOAT_DTYPES", "INT_DTYPES", "OPERATIONS"]


def public(op):
    """The public function generated for operation ``op``."""
    return getattr(relukit, op.name)


def kwargs_of(op, params_name):
    """The keyword arguments of ``op``'s parameter set ``params_name``."""
    if params_name not in op.parameter_sets:
        pytest.skip(f"{op.name} has no parameter set {params_name!r}")
    return op.parameter_sets[params_name]


#: Every operation with each of its own parameter sets, as pytest params.
OP_PARAMS = [
    pytest.param(op, name, id=f"{op.name}-{name}")
    for op in OPERATIONS
    for name in op.parameter_sets
]

SHAPES = [(), (0,), (1,), (7,), (3, 5), (2, 3, 4), (64, 33)]
LAYOUTS = ["C", "F", "strided", "reversed", "byteswapped"]

#: Values every input contains some of: the special floats and the kinks.
SPECIALS = [np.nan, -np.nan, np.inf, -np.inf, -0.0, 0.0, 0.5, -0.5, 6.0, 1e-3, -1e-3]


def make_array(shape, dtype, layout, seed=0):
    """An array of ``shape``/``dtype`` laid out as ``layout``, with special values."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    # Build a bigger parent so that the strided/reversed views have ``shape``.
    parent_shape = list(shape)
    if layout == "strided" and shape:
        parent_shape[-1] *= 2
    size = int(np.prod(parent_shape))
    if dtype.kind == "f":
        values = rng.standard_normal(size) * 4
        specials = np.array(SPECIALS)
        picks = rng.random(size) < 0.3
        values[picks] = rng.choice(specials, picks.sum())
    else:
        info = np.iinfo(dtype)
        values = rng.integers(max(info.min, -1000), min(info.max, 1000), size, endpoint=True)
        values = values.astype(dtype)
        if size:  # the extremes of the type, where a sign test could overflow
            values[: min(size, 2)] = np.array([info.min, info.max], dtype=dtype)[: min(size, 2)]
    parent = values.astype(dtype).reshape(parent_shape)
    # copy(order=...) keeps 0-d arrays 0-d (np.ascontiguousarray would not).
    if layout == "C":
        return parent.copy(order="C")
    if layout == "F":
        return parent.copy(order="F")
    if layout == "strided":
        return parent[..., ::2] if shape else parent
    if layout == "reversed":
        return parent[::-1] if shape else parent
    if layout == "byteswapped":
        return parent.astype(dtype.newbyteorder(">" if dtype.isnative and np.little_endian else "<"))
    raise ValueError(layout)


def assert_matches_reference(result, expected):
    """Equal to the reference bit for bit, up to the sign of zero and NaN's payload.

    Every backend rounds once into the result dtype from the same float64
    evaluation as the reference, so nothing looser is allowed.
    """
    result, expected = np.asarray(result), np.asarray(expected)
    assert result.shape == expected.shape
    assert result.dtype.newbyteorder("=") == expected.dtype.newbyteorder("=")
    if result.dtype.kind != "f":
        np.testing.assert_array_equal(result, expected)
        return
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(result), nan)
    differ = np.flatnonzero(result[~nan] != expected[~nan])
    assert differ.size == 0, (
        f"differs from the reference at {differ[:5]}: "
        f"{result[~nan][differ[:5]]} vs {expected[~nan][differ[:5]]}"
    )


def reference(op, inputs, params_name):
    """The NumPy reference backend's result for ``op`` on ``inputs``."""
    kwargs = kwargs_of(op, params_name)
    return np.asarray(public(op)(*inputs, backend="numpy", **kwargs))
