"""Every backend agrees with the NumPy reference over dtype x shape x layout x parameters."""

from __future__ import annotations

import numpy as np
import pytest


from helpers import (
    BY_NAME,
    CPU_BACKENDS,
    FLOAT_DTYPES,
    INT_DTYPES,
    LAYOUTS,
    OP_PARAMS,
    OPERATIONS,
    SHAPES,
    assert_matches_reference,
    kwargs_of,
    make_array,
    public,
    reference,
)

FUNCTIONS = [pytest.param(spec, id=spec.name) for spec in OPERATIONS]


def _inputs(spec, shape, dtype, layout):
    x = make_array(shape, dtype, layout, seed=1)
    if spec.arity == 1:
        return (x,)
    dy_dtype = dtype if np.dtype(dtype).kind == "f" else "float64"
    return (make_array(shape, dy_dtype, layout, seed=2), x)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("spec, params_name", OP_PARAMS)
def test_matches_reference(spec, params_name, dtype, shape, layout, backend):
    inputs = _inputs(spec, shape, dtype, layout)
    before = [a.copy() for a in inputs]
    expected = reference(spec, inputs, params_name)
    result = public(spec)(*inputs, backend=backend, **kwargs_of(spec, params_name))
    assert_matches_reference(result, expected)
    for a, b in zip(inputs, before):  # inputs are never modified
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("layout", ["C", "strided", "byteswapped"])
@pytest.mark.parametrize("spec", FUNCTIONS)
def test_integers_plain(spec, dtype, layout):
    x = make_array((5, 9), dtype, layout)
    inputs = (x,) if spec.arity == 1 else (make_array((5, 9), "float32", layout), x)
    expected = reference(spec, inputs, "plain")
    result = public(spec)(*inputs)
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("spec, params_name", OP_PARAMS)
def test_numba_paths(spec, dtype, params_name, numba_path):
    """Serial, parallel and streaming paths, on sizes and offsets that leave
    unaligned heads and tails in every chunk."""
    for size, offset in [(1, 0), (37, 1), (4099, 3), (20_000, 5)]:
        base = make_array((size + offset,), dtype, "C", seed=size)
        x = base[offset:]
        inputs = (x,) if spec.arity == 1 else (make_array((size,), dtype, "C", seed=7), x)
        expected = reference(spec, inputs, params_name)
        result = public(spec)(*inputs, backend="numba", **kwargs_of(spec, params_name))
        assert_matches_reference(result, expected)
        out = np.full_like(expected, 42)
        public(spec)(*inputs, out=out, backend="numba", **kwargs_of(spec, params_name))
        assert_matches_reference(out, expected)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_mixed_dtypes_backward(dtype, backend):
    """dy and x of different dtypes: the result takes dy's."""
    spec = BY_NAME["relu_backward"]
    for x_dtype in FLOAT_DTYPES + ("int32",):
        x = make_array((33,), x_dtype, "C", seed=3)
        dy = make_array((33,), dtype, "C", seed=4)
        for params_name in ("plain", "all") if x_dtype != "int32" else ("plain",):
            expected = reference(spec, (dy, x), params_name)
            result = public(spec)(dy, x, backend=backend, **kwargs_of(spec, params_name))
            assert result.dtype == np.dtype(dtype)
            assert_matches_reference(result, expected)


@pytest.mark.parametrize("shape", [(1,), (1000,), (3, 5), (2, 3, 4), (1, 1, 1, 1, 9)], ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + ("int32", "uint8"))
@pytest.mark.parametrize("spec", FUNCTIONS)
def test_default_call_fast_path(spec, dtype, shape):
    """backend=None, no out, default parameters: the small-call fast path."""
    if spec.arity == 2 and np.dtype(dtype).kind != "f":
        x = make_array(shape, dtype, "C", seed=3)
        inputs = (make_array(shape, "float32", "C", seed=4), x)
    else:
        inputs = _inputs(spec, shape, dtype, "C")
    expected = reference(spec, inputs, "plain")
    for _ in range(2):  # the first call may compile, the second takes the entry point
        result = public(spec)(*inputs)
        assert type(result) is np.ndarray and result.flags.c_contiguous
        assert_matches_reference(result, expected)
