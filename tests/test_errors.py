"""Bad input: a clear error naming the problem, raised before anything is written."""

from __future__ import annotations

import re

import numpy as np
import pytest

import relukit as rk

from helpers import OPERATIONS, public

FUNCTIONS = pytest.mark.parametrize("spec", OPERATIONS, ids=lambda s: s.name)


def call(spec, x, **kwargs):
    if spec.arity == 1:
        return public(spec)(x, **kwargs)
    dy = np.ones(np.shape(x), dtype=np.float64) if np.asarray(x).dtype.kind in "fiu" else x
    return public(spec)(dy, x, **kwargs)


@FUNCTIONS
@pytest.mark.parametrize(
    "x, dtype_name",
    [
        (np.array([True, False]), "bool"),
        (np.array([1 + 2j]), "complex128"),
        (np.array([1.0], dtype=object), "object"),
        (np.array(["a"]), "<U1"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), "datetime64[D]"),
        (np.array([1], dtype=np.longdouble), str(np.dtype(np.longdouble))),
    ],
    ids=["bool", "complex", "object", "str", "datetime", "longdouble"],
)
def test_unsupported_dtypes(spec, x, dtype_name):
    if np.dtype(np.longdouble).itemsize == 8 and dtype_name == "float64":
        pytest.skip("long double is float64 on this platform")
    with pytest.raises(TypeError, match=f"dtype {re.escape(dtype_name)}.*not supported.*float16, float32"):
        public(spec)(*([x] * spec.arity))


@FUNCTIONS
def test_integers_need_plain_parameters(spec):
    with pytest.raises(TypeError, match="integer inputs need the default parameters"):
        call(spec, np.array([1, -1]), negative_slope=0.1)


def test_backward_dy_must_be_floating():
    with pytest.raises(TypeError, match="dy has dtype int64"):
        rk.relu_backward(np.array([1]), np.array([1.0]))


def test_backward_shapes_must_match():
    with pytest.raises(ValueError, match=r"same shape, got \(3,\) and \(2,\)"):
        rk.relu_backward(np.ones(3), np.ones(2))


@FUNCTIONS
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"negative_slope": np.nan}, ValueError, "negative_slope must not be NaN"),
        ({"threshold": np.nan}, ValueError, "threshold must not be NaN"),
        ({"max_value": np.nan}, ValueError, "max_value must not be NaN"),
        ({"max_value": -1.0}, ValueError, "max_value must be >= 0"),
        ({"negative_slope": np.inf}, ValueError, "negative_slope must be finite"),
        ({"threshold": -np.inf}, ValueError, "threshold must be finite"),
        ({"negative_slope": "0.1"}, TypeError, "negative_slope must be a real number"),
        ({"max_value": 1j}, TypeError, "max_value must be a real number"),
    ],
)
def test_invalid_parameters(spec, kwargs, error, match):
    with pytest.raises(error, match=match):
        call(spec, np.ones(3), **kwargs)


@FUNCTIONS
@pytest.mark.parametrize(
    "out, error, match",
    [
        (np.zeros(4), ValueError, r"out has shape \(4,\), expected \(3,\)"),
        (np.zeros(3, dtype=np.float32), TypeError, "out has dtype float32, expected float64"),
        ([0.0, 0.0, 0.0], TypeError, "out must be a numpy array"),
    ],
)
def test_bad_out(spec, out, error, match):
    x = np.array([-1.0, 0.5, 2.0])
    before = x.copy()
    with pytest.raises(error, match=match):
        call(spec, x, out=out)
    np.testing.assert_array_equal(x, before)
    if isinstance(out, np.ndarray):
        assert not out.any(), "out was written before the error"


@FUNCTIONS
def test_read_only_out(spec):
    out = np.zeros(3)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        call(spec, np.ones(3), out=out)


@FUNCTIONS
def test_error_before_write_on_bad_parameters(spec):
    x = np.array([-1.0, 2.0])
    out = np.full(2, 7.0)
    with pytest.raises(ValueError):
        call(spec, x, out=out, max_value=-2)
    np.testing.assert_array_equal(out, [7.0, 7.0])


@FUNCTIONS
def test_unknown_backend(spec):
    with pytest.raises(ValueError, match="unknown backend 'torch'"):
        call(spec, np.ones(2), backend="torch")


@FUNCTIONS
def test_cupy_backend_rejects_numpy_arrays(spec):
    try:
        call(spec, np.ones(2), backend="cupy")
    except ImportError as error:  # no CuPy here: the message says why
        assert "backend 'cupy' is not available" in str(error)
    except TypeError as error:
        assert "computes on cupy arrays" in str(error)
    else:
        pytest.fail("a NumPy array was accepted by the CuPy backend")


def test_positional_only_and_keyword_only():
    with pytest.raises(TypeError):
        rk.relu(x=np.ones(2))
    with pytest.raises(TypeError):
        rk.relu(np.ones(2), None, 0.1)
