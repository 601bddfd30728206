"""relukit against PyTorch, JAX and Keras 3, by running them (see ``frameworks.py``).

Inputs: every float16 bit pattern, and a dense float32/float64 sample with
the special values and the floats around every parameter. For each
framework that can express a parameter set, relukit (default backend and
``backend="numpy"`` for relu, ``backend="numpy"`` for the rest of the
family, see ``test_every_family_disagreement_is_recorded``) must equal the framework's result bit for bit (+0 and
-0 equal, any NaN equal to any NaN), or within the ulps a
``frameworks.TOLERANCES`` entry allows where the framework rounds twice,
except on inputs a ``frameworks.DIFFERENCES`` record covers; and every
record must still show on its example. A test skips, with the reason,
when its framework is not installed; the tests of relukit against the
decided semantics need no framework.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import relukit as rk
from frameworks import (
    DIFFERENCES,
    FAMILY,
    FRAMEWORKS,
    FUNCTIONS,
    PARAMETER_SETS,
    REQUIRES,
    agree,
    decided,
    family_inputs,
    operation_of,
    oracle,
    parameter_sets,
    prepare,
    sample_inputs,
    spelling,
    upstream,
)

FLOATS = ("float16", "float32", "float64")
BACKENDS = pytest.mark.parametrize("backend", [None, "numpy"], ids=["default", "numpy"])
#: (framework, parameter set) for every set the framework has a function for.
CASES = [
    pytest.param(framework, name, id=f"{framework}-{name}")
    for framework in FRAMEWORKS
    for name, params in PARAMETER_SETS.items()
    if spelling(framework, params) is not None
]
#: (framework, function, parameter set) for the rest of the family.
FAMILY_CASES = [
    pytest.param(framework, f"{op}{suffix}", name, id=f"{framework}-{op}{suffix}-{name}")
    for op in FAMILY
    for suffix in ("", "_grad", "_backward")
    for framework in FRAMEWORKS
    for name, params in parameter_sets(op).items()
    if spelling(framework, params, op) is not None
]


def require(framework):
    prepare(framework)
    for module in REQUIRES[framework]:
        pytest.importorskip(module, reason=f"{framework} is not installed ({module} missing)")


@functools.lru_cache(maxsize=None)
def inputs(function, dtype):
    """The sample for ``function``: relu's, or the family's (around its kinks)."""
    x = sample_inputs(dtype) if operation_of(function) == "relu" else family_inputs(dtype)
    x.flags.writeable = False
    if not function.endswith("_backward"):
        return x, None
    dy = upstream(x)
    dy.flags.writeable = False
    return x, dy


@functools.lru_cache(maxsize=None)
def framework_result(framework, function, params_name, dtype):
    x, dy = inputs(function, dtype)
    params = parameter_sets(operation_of(function))[params_name]
    return oracle(framework, function, params, x, dy)


def call(function, params, x, dy, backend):
    """relukit's ``function`` on the inputs (``dy`` only for relu_backward)."""
    args = (x,) if dy is None else (dy, x)
    return getattr(rk, function)(*args, backend=backend, **params)


def same(a, b, ulps=0):
    """Elementwise: equal (+0 == -0, NaN == NaN), or within ``ulps`` of ``a``'s dtype."""
    # NaNs (signalling ones too) raise "invalid" in the casts and in spacing,
    # and the spacing of the largest finite value overflows.
    with np.errstate(invalid="ignore", over="ignore"):
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        equal = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
        if ulps:
            spacing = np.spacing(np.maximum(np.abs(a), np.abs(b))).astype(np.float64)
            equal |= np.abs(a64 - b64) <= ulps * spacing
    return equal


def describe(where, x, dy, got, expected):
    rows = [
        f"x={x[i]}" + ("" if dy is None else f" dy={dy[i]}") + f": {got[i]} vs {expected[i]}"
        for i in where[:6]
    ]
    return "\n".join(rows)


def check_disagreements(framework, function, params_name, dtype, backend):
    """Fail on an input where relukit and ``framework`` disagree beyond the tolerances, unrecorded."""
    require(framework)
    operation = operation_of(function)
    params = parameter_sets(operation)[params_name]
    x, dy = inputs(function, dtype)
    expected = framework_result(framework, function, params_name, dtype)
    result = call(function, params, x, dy, backend)
    assert result.dtype == (x if dy is None else dy).dtype
    agreeing = agree(framework, function, params, x, dy, result, expected)
    covered = np.zeros(x.shape, dtype=bool)
    for difference in DIFFERENCES:
        covered |= difference.covers(framework, function, params, x, dy)
    unexplained = np.flatnonzero(~agreeing & ~covered)
    assert unexplained.size == 0, (
        f"{unexplained.size} inputs where relukit and {framework} disagree and no DIFFERENCES "
        f"record covers it (relukit vs {spelling(framework, params, operation)}):\n"
        + describe(unexplained, x, dy, result, expected)
    )


@BACKENDS
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("framework, params_name", CASES)
def test_every_disagreement_is_recorded(framework, params_name, function, dtype, backend):
    check_disagreements(framework, function, params_name, dtype, backend)


# The family runs on the NumPy backend only. The default (Numba) backend
# compiles every function for every dtype (81 compilations of several
# seconds each, most of this file's run time) and would add nothing here:
# tests/test_reference_agreement.py checks every backend against the NumPy
# reference for every operation, parameter set and dtype, and relu's
# functions above still run on both backends against the frameworks.
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("framework, function, params_name", FAMILY_CASES)
def test_every_family_disagreement_is_recorded(framework, function, params_name, dtype):
    check_disagreements(framework, function, params_name, dtype, "numpy")


def _record_id(difference):
    return f"{'+'.join(difference.frameworks)}-{difference.example}"


RECORDS = [pytest.param(d, id=_record_id(d)) for d in DIFFERENCES]
RECORDS_BY_FRAMEWORK = [
    pytest.param(d, framework, id=f"{framework}-{d.example}")
    for d in DIFFERENCES
    for framework in d.frameworks
]


def _same_value(a, b):
    return bool(same(np.array([a], dtype=np.float64), np.array([b], dtype=np.float64))[0])


@pytest.mark.parametrize("difference", RECORDS)
def test_every_record_covers_its_example(difference):
    example = difference.example
    x, dy = example.inputs()
    assert example.function in difference.functions
    assert example.dtype in difference.dtypes
    assert difference.applies(example.params)
    assert difference.mask(example.function, example.params, x, dy)[0]
    assert _same_value(decided(example.function, example.params, x, dy)[0], difference.relukit_gives)


@pytest.mark.parametrize("difference, framework", RECORDS_BY_FRAMEWORK)
def test_every_record_still_differs(difference, framework):
    require(framework)
    example = difference.example
    x, dy = example.inputs()
    got = oracle(framework, example.function, example.params, x, dy)
    assert got is not None, f"{framework} cannot express {example.params}"
    assert _same_value(got[0], difference.framework_gives), (
        f"{framework} now gives {got[0]!r} for {example}, not {difference.framework_gives!r}: "
        "update or remove the record"
    )
    assert not _same_value(difference.framework_gives, difference.relukit_gives)


#: Each record with the backends its example runs on: both for relu's, the
#: NumPy backend for the family's (as in test_every_family_disagreement_is_recorded).
RECORD_CALLS = [
    pytest.param(d, backend, id=f"{_record_id(d)}-{backend or 'default'}")
    for d in DIFFERENCES
    for backend in ((None, "numpy") if operation_of(d.example.function) == "relu" else ("numpy",))
]


@pytest.mark.parametrize("difference, backend", RECORD_CALLS)
def test_relukit_gives_what_the_records_say(difference, backend):
    example = difference.example
    x, dy = example.inputs()
    got = call(example.function, example.params, x, dy, backend)[0]
    assert _same_value(got, difference.relukit_gives), f"{example} gives {got!r}"


# --- relukit against its decided semantics (no framework needed) -----------------


@BACKENDS
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("params_name", PARAMETER_SETS)
def test_relukit_follows_the_decided_semantics(params_name, function, dtype, backend):
    params = PARAMETER_SETS[params_name]
    x, dy = inputs(function, dtype)
    result = call(function, params, x, dy, backend)
    expected = decided(function, params, x, dy)
    wrong = np.flatnonzero(~same(result, expected))
    assert wrong.size == 0, f"{wrong.size} inputs differ (relukit vs decided):\n" + describe(
        wrong, x, dy, result, expected
    )


def relu(x, backend, dtype=np.float64, **params):
    return rk.relu(np.asarray(x, dtype=dtype), backend=backend, **params)


def grad(x, backend, dtype=np.float64, **params):
    return rk.relu_grad(np.asarray(x, dtype=dtype), backend=backend, **params)


ABOVE_MAX = PARAMETER_SETS["threshold_above_max"]


@BACKENDS
def test_pieces_when_threshold_is_above_max_value(backend):
    # Keras gives [-0.1, -0.05, 0.0, 6.0] here too.
    np.testing.assert_array_equal(relu([6.0, 6.5, 7.0, 8.0], backend, **ABOVE_MAX), [-0.1, -0.05, 0.0, 6.0])
    np.testing.assert_array_equal(grad([6.0, 7.0, 8.0], backend, **ABOVE_MAX), [0.1, 0.1, 0.0])


@BACKENDS
def test_zero_slope_gives_zero_at_minus_inf(backend):
    assert relu(-np.inf, backend, threshold=1.0) == 0


@BACKENDS
def test_comparisons_are_made_in_the_dtype_of_x(backend):
    # float32(0.1) > 0.1, but it is the threshold once 0.1 is rounded to float32.
    assert relu(0.1, backend, np.float32, threshold=0.1) == 0
    assert grad(0.1, backend, np.float32, negative_slope=0.5, threshold=0.1) == 0.5


@BACKENDS
def test_float16_is_rounded_once(backend):
    # The exact piece is -0.0099601741...; rounding it to float32 first lands
    # on a float16 tie, which goes to -0.0099640 instead of -0.0099564.
    x = np.array([0x0DBA], dtype=np.uint16).view(np.float16)
    y = rk.relu(x, backend=backend, **PARAMETER_SETS["all"])
    assert y.view(np.uint16)[0] == 0xA119


@BACKENDS
@pytest.mark.parametrize("params_name", PARAMETER_SETS)
def test_nan_and_kink(params_name, backend):
    params = PARAMETER_SETS[params_name]
    assert np.isnan(relu(np.nan, backend, **params))
    assert grad(np.nan, backend, **params) == 0
    assert grad(params["threshold"], backend, **params) == params["negative_slope"]


@BACKENDS
def test_negative_threshold_keeps_x_below_zero(backend):
    params = PARAMETER_SETS["clip_threshold_-0.5"]
    assert relu(-0.25, backend, **params) == -0.25
    assert grad(-0.25, backend, **params) == 1
    assert grad(0.0, backend, **params) == 1


@BACKENDS
def test_backward_is_a_select(backend):
    x = np.array([7.0, np.nan, -1.0, 6.0])
    dy = np.array([np.inf, np.nan, np.inf, np.nan])
    np.testing.assert_array_equal(
        rk.relu_backward(dy, x, max_value=6.0, backend=backend), [0.0, 0.0, 0.0, 0.0]
    )
