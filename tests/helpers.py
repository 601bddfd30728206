"""Input factories over dtype, shape and layout, and the rule for comparing with the reference."""

from __future__ import annotations

import numpy as np

from relukit import _registry

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


def assert_matches_reference(result, expected, plain):
    """The project's rule: bit for bit up to the sign of zero for plain ReLU,
    within one rounding of the result dtype for the Keras parameters."""
    result, expected = np.asarray(result), np.asarray(expected)
    assert result.shape == expected.shape
    assert result.dtype.newbyteorder("=") == expected.dtype.newbyteorder("=")
    if result.dtype.kind != "f":
        np.testing.assert_array_equal(result, expected)
        return
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(result), nan)
    if plain:
        np.testing.assert_array_equal(result[~nan], expected[~nan])
        return
    r = result[~nan].astype(np.float64)
    e = expected[~nan].astype(np.float64)
    same = r == e  # covers the infinities
    magnitude = np.maximum(np.abs(r[~same]), np.abs(e[~same])).astype(result.dtype.newbyteorder("="))
    ulp = np.spacing(magnitude).astype(np.float64)
    same[~same] = np.abs(r[~same] - e[~same]) <= ulp
    assert same.all(), f"differs beyond one rounding at {np.flatnonzero(~same)[:5]}: {r[~same][:5]} vs {e[~same][:5]}"


def reference(spec, inputs, params_name):
    """The NumPy reference result for ``spec`` on ``inputs``."""
    params = _registry.params_of(params_name)
    dtype = inputs[0].dtype.newbyteorder("=")
    out = np.empty(inputs[-1].shape, dtype=dtype)
    spec.reference(*inputs, out, params)
    return out


