"""NumPy's conventions for array-likes, and errors that name the argument."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import relukit as rk

from helpers import CPU_BACKENDS, OPERATIONS, public
from helpers import FUNCTIONS as EVERY_OPERATION

BACKENDS = pytest.mark.parametrize("backend", CPU_BACKENDS)
#: Every operation that returns one array. prelu_backward returns two
#: (dx, dweight), which NumPy's ufunc protocol for array-likes cannot
#: carry: it converts them with np.asarray (its docstring says so; tested
#: below).
FUNCTIONS = pytest.mark.parametrize(
    "spec", [p for p in EVERY_OPERATION if p.values[0].channel_gradient is None]
)


def _call(spec, x, **kwargs):
    """``spec`` with ``x`` as every sample input of its declaration (x, and dy)."""
    return public(spec)(*spec.make_inputs(lambda k: x), **kwargs)


@FUNCTIONS
@BACKENDS
def test_masked_array_keeps_its_mask_and_masked_entries(spec, backend):
    x = np.ma.array([-2.0, 3.0, -1.0, 4.0], mask=[False, True, False, False])
    result = _call(spec, x, backend=backend)
    assert isinstance(result, np.ma.MaskedArray)
    np.testing.assert_array_equal(result.mask, x.mask)
    assert result.data[1] == 3.0, "a masked entry was computed"
    expected = _call(spec, x.data, backend=backend)
    np.testing.assert_array_equal(result.data[~x.mask], expected[~x.mask])


def test_masked_array_in_place_leaves_masked_entries_alone():
    x = np.ma.array([-2.0, -3.0, 5.0], mask=[False, True, False])
    assert rk.relu(x, out=x) is x
    np.testing.assert_array_equal(x.data, [0.0, -3.0, 5.0])
    np.testing.assert_array_equal(x.mask, [False, True, False])


def test_masked_array_on_the_first_call_of_a_process():
    """The same answer on the first call of a process as on the hundredth."""
    code = """
        import numpy as np, relukit as rk
        x = np.ma.array([-1.0, 2.0], mask=[True, False])
        r = rk.relu(x)
        print(type(r).__name__, r.data.tolist(), r.mask.tolist())
    """
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "MaskedArray [-1.0, 2.0] [True, False]"


@FUNCTIONS
@BACKENDS
def test_matrix_stays_a_matrix(spec, backend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        m = np.matrix([[-1.0, 2.0], [3.0, -4.0]])
    result = _call(spec, m, backend=backend)
    assert type(result) is np.matrix
    np.testing.assert_array_equal(np.asarray(result), _call(spec, np.asarray(m), backend=backend))


@FUNCTIONS
def test_pandas_keeps_its_labels(spec):
    pd = pytest.importorskip("pandas")
    s = pd.Series([-1.0, 2.0, np.nan], index=["a", "b", "c"], name="z")
    result = _call(spec, s)
    assert isinstance(result, pd.Series)
    assert list(result.index) == ["a", "b", "c"] and result.name == "z"
    np.testing.assert_array_equal(result.to_numpy(), _call(spec, s.to_numpy()))
    frame = pd.DataFrame({"p": [-1.0, 1.0], "q": [2.0, -2.0]})
    assert list(_call(spec, frame).columns) == ["p", "q"]


@FUNCTIONS
def test_xarray_keeps_its_coordinates(spec):
    xr = pytest.importorskip("xarray")
    a = xr.DataArray([[-1.0, 2.0]], dims=("row", "col"), coords={"col": [10, 20]}, name="v")
    result = _call(spec, a)
    assert isinstance(result, xr.DataArray)
    assert result.dims == ("row", "col") and list(result.col.values) == [10, 20]
    np.testing.assert_array_equal(result.values, _call(spec, a.values))


def test_an_object_that_refuses_ufuncs():
    class NoUfuncs:
        __array_ufunc__ = None

        def __array__(self, dtype=None, copy=None):
            return np.ones(2)

    with pytest.raises(TypeError, match="NoUfuncs does not support NumPy ufuncs"):
        rk.relu(NoUfuncs())


def test_a_foreign_object_is_named():
    with pytest.raises(TypeError, match="x is a builtins.object"):
        rk.relu(object())
    with pytest.raises(TypeError, match="x is a builtins.str"):
        rk.relu("1.0")


#: Values no real-valued parameter accepts, with the end of the message.
NOT_REAL = [
    (np.array([0.1, 0.2]), r"must be a real number, got an array of shape \(2,\)"),
    (False, "must be a real number, got bool"),
    (True, "must be a real number, got bool"),
    (np.bool_(True), "must be a real number"),
    ([0.5], "must be a real number, got list"),
]


def _naming_cases():
    for op in OPERATIONS:
        for p in op.parameters:
            if isinstance(p.default, str) or p.name == "axis":
                continue  # not a real number: approximate (test_errors.py), prelu's axis
            for value, match in NOT_REAL:
                yield pytest.param(op, {p.name: value}, f"{p.name} {match}", id=f"{op.name}-{p.name}={value!r}")


@pytest.mark.parametrize("spec, kwargs, match", list(_naming_cases()))
def test_parameters_are_named(spec, kwargs, match):
    x = np.array([-1.0, 2.0])
    with pytest.raises(TypeError, match=f"{spec.name}\\(\\): {match}"):
        _call(spec, x, **kwargs)


def test_out_of_another_library_is_named():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="out must be a numpy array like the inputs, got torch.Tensor"):
        rk.relu(np.ones(3), out=torch.zeros(3, dtype=torch.float64))


@pytest.mark.parametrize("spec", [op for op in OPERATIONS if "dy" in op.inputs], ids=lambda s: s.name)
def test_integer_dy_is_named_with_default_parameters(spec):
    message = rf"{spec.name}\(\): dy has dtype int64, which is not supported; use float16"
    with pytest.raises(TypeError, match=message):
        public(spec)(*spec.make_inputs(lambda k: np.array([1, 2]) if k == 1 else np.array([1.0, -1.0])))


@pytest.mark.parametrize(
    "function, kwargs, x, expected",
    [
        ("relu", {"negative_slope": 1.5}, -65504.0, -np.inf),
        ("squared_relu", {}, 300.0, np.inf),
        ("selu", {}, 65504.0, np.inf),
        ("elu", {"alpha": 1e5}, -65504.0, -np.inf),
        ("squared_relu_grad", {}, 40000.0, np.inf),
    ],
)
def test_float16_overflow_is_silent_on_the_reference_backend(function, kwargs, x, expected):
    """A float64 value beyond float16's range rounds to inf without a warning."""
    x = np.array([x], dtype=np.float16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for backend in CPU_BACKENDS:
            assert getattr(rk, function)(x, backend=backend, **kwargs)[0] == expected


@BACKENDS
def test_parameters_compare_in_the_dtype_of_x(backend):
    # 0.1 rounded to float32 is above 0.1 in float64: x == threshold there.
    assert rk.relu(np.float32(0.1), threshold=0.1, backend=backend) == 0
    assert rk.relu_grad(np.float32(0.1), threshold=0.1, negative_slope=0.5, backend=backend) == 0.5


@BACKENDS
def test_threshold_above_max_value_takes_the_negative_piece(backend):
    x = np.array([5.0, 6.0, 6.5, 7.0, 8.0])
    kwargs = dict(negative_slope=0.1, max_value=6.0, threshold=7.0, backend=backend)
    np.testing.assert_allclose(rk.relu(x, **kwargs), [-0.2, -0.1, -0.05, 0.0, 6.0], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(rk.relu_grad(x, **kwargs), [0.1, 0.1, 0.1, 0.1, 0.0])
    dy = np.full(5, 10.0)
    np.testing.assert_allclose(rk.relu_backward(dy, x, **kwargs), [1.0, 1.0, 1.0, 1.0, 0.0])


@BACKENDS
def test_float16_is_rounded_once(backend):
    """The two cases found rounded twice (through float32) before: the
    piece, from the parameters rounded to float16, rounded once."""
    slope = np.float64(np.float16(0.7))
    x = np.array([6.98e-05], dtype=np.float16)
    once = np.float16(slope * (np.float64(x[0]) - 1.0))
    result = rk.relu(x, negative_slope=0.7, threshold=1.0, backend=backend)[0]
    assert result.view(np.uint16) == once.view(np.uint16)
    slope = np.float64(np.float16(0.55))
    dy = np.array([-1.382], np.float16)
    once = np.float16(slope * np.float64(dy[0]))
    dx = rk.relu_backward(dy, np.array([-1.0], np.float16), negative_slope=0.55, backend=backend)
    assert dx[0].view(np.uint16) == once.view(np.uint16)


def test_prelu_backward_converts_array_likes():
    import pandas as pd

    x = pd.Series([-2.0, 3.0, -1.0])
    dx, dweight = rk.prelu_backward(pd.Series([1.0, 1.0, 1.0]), x, [0.5])
    assert type(dx) is np.ndarray and type(dweight) is np.ndarray
    np.testing.assert_array_equal(dx, [0.5, 1.0, 0.5])
    np.testing.assert_array_equal(dweight, [-3.0])
