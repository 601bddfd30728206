"""out=, in place and overlapping memory."""

from __future__ import annotations

import numpy as np
import pytest


from helpers import (
    BY_NAME,
    CPU_BACKENDS,
    FLOAT_DTYPES,
    OPERATIONS,
    assert_matches_reference,
    kwargs_of,
    make_array,
    public,
    reference,
)

FUNCTIONS = pytest.mark.parametrize("spec", OPERATIONS, ids=lambda s: s.name)
BACKENDS = pytest.mark.parametrize("backend", CPU_BACKENDS)
PARAMS = pytest.mark.parametrize("params_name", ["plain", "all"])
FLOATS = pytest.mark.parametrize("dtype", FLOAT_DTYPES)


def _inputs(spec, x, seed=5):
    if spec.arity == 1:
        return (x,)
    return (make_array(x.shape, x.dtype, "C", seed=seed), x)


@FUNCTIONS
@BACKENDS
@PARAMS
@FLOATS
def test_out_is_returned_and_filled(spec, backend, params_name, dtype, numba_path):
    x = make_array((40, 30), dtype, "C")
    inputs = _inputs(spec, x)
    expected = reference(spec, inputs, params_name)
    out = np.empty_like(expected)
    result = public(spec)(*inputs, out=out, backend=backend, **kwargs_of(spec, params_name))
    assert result is out
    assert_matches_reference(out, expected)


@FUNCTIONS
@BACKENDS
@PARAMS
@FLOATS
@pytest.mark.parametrize("layout", ["C", "F", "strided", "reversed", "byteswapped"])
def test_in_place_on_x(spec, backend, params_name, dtype, layout, numba_path):
    x = make_array((40, 30), dtype, layout)
    inputs = _inputs(spec, x)
    expected = reference(spec, inputs, params_name)
    result = public(spec)(*inputs, out=x, backend=backend, **kwargs_of(spec, params_name))
    assert result is x
    assert_matches_reference(x, expected)


@BACKENDS
@PARAMS
@FLOATS
def test_backward_in_place_on_dy(backend, params_name, dtype, numba_path):
    spec = BY_NAME["relu_backward"]
    dy = make_array((50, 7), dtype, "C", seed=8)
    x = make_array((50, 7), dtype, "C", seed=9)
    expected = reference(spec, (dy, x), params_name)
    result = public(spec)(dy, x, out=dy, backend=backend, **kwargs_of(spec, params_name))
    assert result is dy
    assert_matches_reference(dy, expected)


@FUNCTIONS
@BACKENDS
@pytest.mark.parametrize("shift", [1, -1, 3])
def test_partial_overlap_gives_the_right_answer(spec, backend, shift, numba_path):
    buffer = make_array((1000,), "float64", "C", seed=11)
    x = buffer[100:900]
    out = buffer[100 + shift : 900 + shift]
    inputs = _inputs(spec, x.copy())
    inputs = inputs[:-1] + (x,)
    expected = reference(spec, inputs, "plain")
    public(spec)(*inputs, out=out, backend=backend)
    np.testing.assert_array_equal(out, expected)


@FUNCTIONS
@BACKENDS
def test_reversed_view_as_out(spec, backend):
    x = make_array((301,), "float32", "C", seed=12)
    expected = reference(spec, _inputs(spec, x.copy()), "plain")
    inputs = _inputs(spec, x)
    public(spec)(*inputs, out=x[::-1], backend=backend)
    np.testing.assert_array_equal(x[::-1], expected)


@BACKENDS
def test_out_byte_order_may_differ(backend):
    x = np.array([-1.0, 2.0], dtype="<f4")
    out = np.empty(2, dtype=">f4")
    spec = BY_NAME["relu"]
    public(spec)(x, out=out, backend=backend)
    np.testing.assert_array_equal(out, [0.0, 2.0])
