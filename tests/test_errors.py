"""Bad input: a clear error naming the problem, raised before anything is written."""

from __future__ import annotations

import re

import numpy as np
import pytest

import relukit as rk

from helpers import OPERATIONS, RELU_OPERATIONS, public
from helpers import FUNCTIONS as EVERY_OPERATION

FUNCTIONS = pytest.mark.parametrize("spec", EVERY_OPERATION)
BACKWARD = pytest.mark.parametrize("spec", [op for op in OPERATIONS if "dy" in op.inputs], ids=lambda s: s.name)


def call(spec, x, **kwargs):
    """``spec`` on ``x``, with a float64 ``dy`` of ones (or ``x`` itself when it is not numeric)."""
    x = np.asarray(x)
    other = np.ones(x.shape, dtype=np.float64) if x.dtype.kind in "fiu" else x
    return public(spec)(*spec.make_inputs(lambda k: x if k == 0 else other), **kwargs)


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


@pytest.mark.parametrize("spec", RELU_OPERATIONS, ids=lambda s: s.name)
def test_integers_need_plain_parameters(spec):
    # relu's plain variant takes integers, its Keras variant does not. The
    # operations without an integer variant refuse integers whatever the
    # parameters (test_reference_agreement.py::test_integers_refused).
    with pytest.raises(TypeError, match="integer inputs need the default parameters"):
        call(spec, np.array([1, -1]), negative_slope=0.1)


@BACKWARD
def test_backward_dy_must_be_floating(spec):
    with pytest.raises(TypeError, match=re.escape(f"{spec.name}(): dy has dtype int64")):
        public(spec)(*spec.make_inputs(lambda k: np.array([1]) if k == 1 else np.array([1.0])))


@BACKWARD
def test_backward_shapes_must_match(spec):
    with pytest.raises(ValueError, match=r"same shape, got \(3,\) and \(2,\)"):
        public(spec)(*spec.make_inputs(lambda k: np.ones(3) if k == 1 else np.ones(2)))


#: Invalid values of each parameter of the table, by parameter name:
#: (value, exception, message).
INVALID = {
    "negative_slope": [
        (np.nan, ValueError, "negative_slope must not be NaN"),
        (np.inf, ValueError, "negative_slope must be finite"),
        ("0.1", TypeError, "negative_slope must be a real number"),
    ],
    "max_value": [
        (np.nan, ValueError, "max_value must not be NaN"),
        (-1.0, ValueError, "max_value must be >= 0"),
        (1j, TypeError, "max_value must be a real number"),
    ],
    "threshold": [
        (np.nan, ValueError, "threshold must not be NaN"),
        (-np.inf, ValueError, "threshold must be finite"),
    ],
    "alpha": [
        (np.nan, ValueError, "alpha must not be NaN"),
        (np.inf, ValueError, "alpha must be finite"),
        ("1", TypeError, "alpha must be a real number"),
    ],
    "beta": [
        (np.nan, ValueError, "beta must not be NaN"),
        (0.0, ValueError, "beta must be > 0"),
        (-1.0, ValueError, "beta must be > 0"),
    ],
    "approximate": [
        ("exact", ValueError, "approximate must be 'none' or 'tanh', got 'exact'"),
        (None, ValueError, "approximate must be 'none' or 'tanh', got None"),
    ],
}
#: Values that only some operations refuse (celu divides by alpha; elu
#: accepts any finite alpha, as PyTorch).
INVALID_FOR = {"celu": {"alpha": [(0.0, ValueError, "alpha must be > 0"), (-2.0, ValueError, "alpha must be > 0")]}}


def _invalid_cases():
    for op in OPERATIONS:
        family = op.name.split("_")[0]
        for p in op.parameters:
            for value, error, match in INVALID.get(p.name, []) + INVALID_FOR.get(family, {}).get(p.name, []):
                yield pytest.param(op, {p.name: value}, error, match, id=f"{op.name}-{p.name}={value!r}")


@pytest.mark.parametrize("spec, kwargs, error, match", list(_invalid_cases()))
def test_invalid_parameters(spec, kwargs, error, match):
    with pytest.raises(error, match=re.escape(f"{spec.name}(): {match}")):
        call(spec, np.ones(3), **kwargs)


@FUNCTIONS
def test_unknown_parameter(spec):
    # relu's parameters mean nothing to the others, and the reverse.
    other = "negative_slope" if "negative_slope" not in {p.name for p in spec.parameters} else "alpha"
    with pytest.raises(TypeError, match=other):
        call(spec, np.ones(3), **{other: 0.5})


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


def _first_bad_parameter():
    for op in OPERATIONS:
        for p in op.parameters:
            cases = [c for c in INVALID.get(p.name, []) if c[1] is ValueError]
            if cases:
                yield pytest.param(op, {p.name: cases[0][0]}, id=op.name)
                break


@pytest.mark.parametrize("spec, kwargs", list(_first_bad_parameter()))
def test_error_before_write_on_bad_parameters(spec, kwargs):
    x = np.array([-1.0, 2.0])
    out = np.full(2, 7.0)
    with pytest.raises(ValueError):
        call(spec, x, out=out, **kwargs)
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
    with pytest.raises(TypeError):
        rk.celu(np.ones(2), 0.5)  # alpha is keyword-only too
