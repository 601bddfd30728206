"""The documented conventions, value by value, on every CPU backend."""

from __future__ import annotations

import numpy as np
import pytest

import relukit as rk

from helpers import CPU_BACKENDS, FLOAT_DTYPES, SMOOTH_OPERATIONS, public

BACKENDS = pytest.mark.parametrize("backend", CPU_BACKENDS)
FLOATS = pytest.mark.parametrize("dtype", FLOAT_DTYPES)


def arr(values, dtype):
    return np.array(values, dtype=dtype)


@BACKENDS
@FLOATS
def test_relu_special_values(backend, dtype):
    x = arr([np.nan, np.inf, -np.inf, -0.0, 0.0, -2.0, 3.0], dtype)
    y = rk.relu(x, backend=backend)
    assert np.isnan(y[0])
    np.testing.assert_array_equal(y[1:], arr([np.inf, 0, 0, 0, 0, 3], dtype))
    assert y.dtype == np.dtype(dtype)


@BACKENDS
@FLOATS
def test_relu_keeps_negative_nan(backend, dtype):
    x = -arr([np.nan], dtype)
    assert np.signbit(x[0])
    assert np.isnan(rk.relu(x, backend=backend)[0])


@BACKENDS
@FLOATS
def test_grad_conventions(backend, dtype):
    x = arr([np.nan, np.inf, -np.inf, -0.0, 0.0, -2.0, 3.0, 1e-30], dtype)
    g = rk.relu_grad(x, backend=backend)
    # 0 at NaN, at the kink (both zeros) and below it.
    np.testing.assert_array_equal(g, arr([0, 1, 0, 0, 0, 0, 1, float(arr([1e-30], dtype)[0] > 0)], dtype))


@BACKENDS
@FLOATS
def test_backward_is_a_select(backend, dtype):
    x = arr([-1.0, 0.0, 2.0, 2.0, np.nan, -np.inf], dtype)
    dy = arr([np.inf, np.nan, 5.0, np.inf, 7.0, np.nan], dtype)
    dx = rk.relu_backward(dy, x, backend=backend)
    np.testing.assert_array_equal(dx, arr([0, 0, 5, np.inf, 0, 0], dtype))


@BACKENDS
def test_keras_pieces(backend):
    x = np.array([-np.inf, -3.0, 0.5, 0.75, 1.0, 5.99, 6.0, 7.0, np.inf, np.nan])
    y = rk.relu(x, negative_slope=0.5, max_value=6.0, threshold=0.5, backend=backend)
    expected = [-np.inf, -1.75, 0.0, 0.75, 1.0, 5.99, 6.0, 6.0, 6.0, np.nan]
    np.testing.assert_array_equal(y, expected)
    g = rk.relu_grad(x, negative_slope=0.5, max_value=6.0, threshold=0.5, backend=backend)
    np.testing.assert_array_equal(g, [0.5, 0.5, 0.5, 1, 1, 1, 0, 0, 0, 0])


@BACKENDS
def test_threshold_is_strict_like_keras_implementation(backend):
    # keras.activations.relu([.., 5, ..], threshold=5) gives 0 at 5.
    x = np.array([-10.0, -5.0, 0.0, 5.0, 10.0])
    np.testing.assert_array_equal(rk.relu(x, threshold=5.0, backend=backend), [0, 0, 0, 0, 10])


@BACKENDS
def test_zero_slope_negative_infinity_is_zero(backend):
    x = np.array([-np.inf])
    assert rk.relu(x, threshold=1.0, backend=backend)[0] == 0.0
    assert rk.relu(x, max_value=6.0, backend=backend)[0] == 0.0


@BACKENDS
def test_relu6(backend):
    x = np.linspace(-10, 10, 41, dtype=np.float32)
    np.testing.assert_array_equal(rk.relu(x, max_value=6.0, backend=backend), np.clip(x, 0, 6))


@BACKENDS
def test_leaky(backend):
    x = np.linspace(-10, 10, 41)
    np.testing.assert_allclose(rk.relu(x, negative_slope=0.01, backend=backend), np.where(x > 0, x, 0.01 * x))


@BACKENDS
def test_float16_keras_rounds_once(backend):
    # 0.1 * x computed in float16 arithmetic would round twice.
    x = np.arange(-2048, 0, dtype=np.float16)
    y = rk.relu(x, negative_slope=0.1, backend=backend)
    exact = (0.1 * x.astype(np.float64)).astype(np.float16)
    assert (np.abs(y.astype(np.float64) - exact.astype(np.float64)) <= np.spacing(np.abs(exact)).astype(np.float64)).all()


@BACKENDS
@pytest.mark.parametrize(
    "dtype", ["int8", "int16", "int32", "int64", "uint8", "uint64"]
)
def test_integers_keep_dtype(backend, dtype):
    info = np.iinfo(dtype)
    x = np.array([info.min, max(info.min, -1), 0, 1, info.max], dtype=dtype)
    y = rk.relu(x, backend=backend)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(y, np.maximum(x, 0))


@BACKENDS
def test_scalars_and_lists_like_numpy(backend):
    assert rk.relu(-2.5, backend=backend) == 0.0
    assert isinstance(rk.relu(-2.5, backend=backend), np.float64)
    assert rk.relu(3, backend=backend) == 3
    assert isinstance(rk.relu(3, backend=backend), np.int64)
    np.testing.assert_array_equal(rk.relu([[-1.0, 2.0]], backend=backend), [[0.0, 2.0]])
    zero_d = np.array(-1.0, dtype=np.float32)
    assert rk.relu(zero_d, backend=backend).dtype == np.float32
    out = np.empty((), dtype=np.float32)
    assert rk.relu(zero_d, out=out, backend=backend) is out


@BACKENDS
@pytest.mark.parametrize("make", ["C", "F", "transposed", "reversed", "strided"])
def test_result_layout_follows_numpy(backend, make):
    base = np.arange(-30.0, 30.0).reshape(6, 10)
    x = {
        "C": base,
        "F": np.asfortranarray(base),
        "transposed": base.T,
        "reversed": base[::-1],
        "strided": base[:, ::2],
    }[make]
    y = rk.relu(x, backend=backend)
    numpy_y = np.maximum(x, 0)
    assert y.flags.c_contiguous == numpy_y.flags.c_contiguous
    assert y.flags.f_contiguous == numpy_y.flags.f_contiguous


def test_default_backend_is_numba():
    from relukit import _backends

    assert _backends.default_for("numpy") == "numba"


def test_forward_output_in_place_of_x():
    """relu_backward(dy, relu(x)) == relu_backward(dy, x) where documented.

    relu's alone: the smooth activations' derivatives are not functions of
    their output (elu's is, for x <= 0, but not as relu_backward takes it).
    """
    x = np.random.default_rng(0).standard_normal(1000) * 8
    x[:5] = [0.0, -0.0, 6.0, np.inf, -np.inf]
    dy = np.random.default_rng(1).standard_normal(1000)
    for params in ({}, {"max_value": 6.0}, {"negative_slope": 0.1}, {"negative_slope": 0.1, "max_value": 6.0}):
        y = rk.relu(x, **params)
        np.testing.assert_array_equal(rk.relu_backward(dy, y, **params), rk.relu_backward(dy, x, **params))


@BACKENDS
@pytest.mark.parametrize("spec", SMOOTH_OPERATIONS, ids=lambda s: s.name)
def test_smooth_scalars_and_lists_like_numpy(spec, backend):
    """Python floats and lists compute in float64; Python ints are integers, refused."""
    args = spec.make_inputs(lambda k: -2.5)
    result = public(spec)(*args, backend=backend)
    assert isinstance(result, np.float64)
    assert result == public(spec)(*[np.array([a]) for a in args], backend=backend)[0]
    nested = public(spec)(*spec.make_inputs(lambda k: [[-1.0, 2.0]]), backend=backend)
    assert nested.shape == (1, 2) and nested.dtype == np.float64
    with pytest.raises(TypeError, match="x has dtype int64, which is not supported"):
        public(spec)(*spec.make_inputs(lambda k: 3 if k == 0 else 1.0), backend=backend)
