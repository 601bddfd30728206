"""The smooth rectifiers (elu ... squared_relu): limits, derivatives, the chain rule,
float16 rounded once, and properties of the functions themselves.

The expected values below are derived from the definitions, not read off
relukit: the tests hold the table to mathematics, while the agreement
tests hold the backends to the NumPy reference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from helpers import (
    BY_NAME,
    CPU_BACKENDS,
    FLOAT_DTYPES,
    SMOOTH_OPERATIONS,
    assert_matches_reference,
    make_array,
    public,
)

#: The activations: the smooth operations that are neither a derivative nor
#: a backward pass, each with its derivative and backward pass.
ACTIVATIONS = [op for op in SMOOTH_OPERATIONS if op.inputs == ("x",) and not op.name.endswith("_grad")]
TRIPLES = {op.name: (op, BY_NAME[op.name + "_grad"], BY_NAME[op.name + "_backward"]) for op in ACTIVATIONS}
assert len(TRIPLES) * 3 == len(SMOOTH_OPERATIONS), "an operation of smooth.py is not f, f_grad, f_backward"

ACTIVATION_PARAMS = [
    pytest.param(op.name, name, id=f"{op.name}-{name}") for op in ACTIVATIONS for name in op.parameter_sets
]

BACKENDS = pytest.mark.parametrize("backend", CPU_BACKENDS)
FLOATS = pytest.mark.parametrize("dtype", FLOAT_DTYPES)

#: SELU's constants as published (Klambauer et al., 2017), to 17 digits.
SELU_SCALE = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772


def _parameters(name, params_name):
    """The parameter set's keyword arguments, with every default filled in."""
    op = TRIPLES[name][0]
    return {**op.defaults, **op.parameter_sets[params_name]}


def limits(name, p):
    """``{x: (f(x), f'(x))}`` at -inf, +inf, -0.0 and +0.0, from the definitions.

    At 0, where elu, selu, celu and squared_relu have a kink in f or f',
    the derivative is the one from the left (``x <= 0`` takes the negative
    piece), as PyTorch defines it.
    """
    inf = math.inf
    if name == "elu":
        # alpha * (exp(x) - 1) -> -alpha; derivative alpha * exp(x).
        return {-inf: (-p["alpha"], 0.0), inf: (inf, 1.0), 0.0: (0.0, p["alpha"])}
    if name == "selu":
        return {
            -inf: (-SELU_SCALE * SELU_ALPHA, 0.0),
            inf: (inf, SELU_SCALE),
            0.0: (0.0, SELU_SCALE * SELU_ALPHA),
        }
    if name == "celu":
        # alpha * (exp(x / alpha) - 1) -> -alpha; derivative exp(x / alpha).
        return {-inf: (-p["alpha"], 0.0), inf: (inf, 1.0), 0.0: (0.0, 1.0)}
    if name in ("gelu", "silu", "hardswish"):
        # x * Phi(x), x * sigmoid(x), x * relu6(x + 3) / 6 (and gelu's tanh
        # form, x * sigmoid(2u)): the weight goes from 0 to 1, and is 1/2 at 0.
        return {-inf: (0.0, 0.0), inf: (inf, 1.0), 0.0: (0.0, 0.5)}
    if name == "mish":
        # x * tanh(softplus(x)); at 0 the derivative is tanh(log 2) = 3/5.
        return {-inf: (0.0, 0.0), inf: (inf, 1.0), 0.0: (0.0, 0.6)}
    if name == "softplus":
        # log(1 + exp(beta * x)) / beta: log(2) / beta at 0, slope sigmoid(beta * x).
        return {-inf: (0.0, 0.0), inf: (inf, 1.0), 0.0: (math.log(2.0) / p["beta"], 0.5)}
    if name == "squared_relu":
        # max(x, 0) ** 2; derivative 2 * max(x, 0), unbounded.
        return {-inf: (0.0, 0.0), inf: (inf, inf), 0.0: (0.0, 0.0)}
    raise AssertionError(f"no limits written for {name}: add them when adding the operation")


def test_every_activation_has_its_limits_written():
    for op in ACTIVATIONS:
        for params_name in op.parameter_sets:
            limits(op.name, _parameters(op.name, params_name))


def _expected(values, dtype):
    with np.errstate(over="ignore"):
        return np.array(values, dtype=np.float64).astype(dtype)


@BACKENDS
@FLOATS
@pytest.mark.parametrize("name, params_name", ACTIVATION_PARAMS)
def test_limits_at_infinity_are_exact(name, params_name, dtype, backend):
    f, grad, backward = TRIPLES[name]
    kwargs = f.parameter_sets[params_name]
    table = limits(name, _parameters(name, params_name))
    x = np.array([-np.inf, np.inf], dtype=dtype)
    values = [table[v][0] for v in (-np.inf, np.inf)]
    slopes = [table[v][1] for v in (-np.inf, np.inf)]
    # No ulps: the limits are reached exactly (expm1(-inf) is -1, exp(-inf) 0, ...).
    assert_matches_reference(public(f)(x, backend=backend, **kwargs), _expected(values, dtype))
    assert_matches_reference(public(grad)(x, backend=backend, **kwargs), _expected(slopes, dtype))
    # The chain rule: dy * f'(x), and exactly 0 where f'(x) is 0, whatever dy is.
    for dy_value in (2.0, np.inf, -np.inf, np.nan):
        dy = np.full(2, dy_value, dtype=dtype)
        with np.errstate(invalid="ignore"):
            chained = [0.0 if s == 0.0 else dy_value * s for s in slopes]
        result = public(backward)(dy, x, backend=backend, **kwargs)
        assert_matches_reference(result, _expected(chained, dtype))


@BACKENDS
@FLOATS
@pytest.mark.parametrize("name, params_name", ACTIVATION_PARAMS)
def test_values_at_zero(name, params_name, dtype, backend):
    f, grad, backward = TRIPLES[name]
    kwargs = f.parameter_sets[params_name]
    value, slope = limits(name, _parameters(name, params_name))[0.0]
    for zero in (0.0, -0.0):
        x = np.array([zero], dtype=dtype)
        # Written values are correctly rounded; relukit's may be a libm's.
        assert_matches_reference(public(f)(x, backend=backend, **kwargs), _expected([value], dtype), f.ulps)
        assert_matches_reference(public(grad)(x, backend=backend, **kwargs), _expected([slope], dtype), f.ulps)
        dy = np.array([3.0], dtype=dtype)
        assert_matches_reference(
            public(backward)(dy, x, backend=backend, **kwargs), _expected([3.0 * slope], dtype), f.ulps
        )


@BACKENDS
@FLOATS
@pytest.mark.parametrize("name, params_name", ACTIVATION_PARAMS)
def test_nan_propagates(name, params_name, dtype, backend):
    f, grad, backward = TRIPLES[name]
    kwargs = f.parameter_sets[params_name]
    x = np.array([np.nan, -np.nan, 1.0], dtype=dtype)
    assert np.isnan(public(f)(x, backend=backend, **kwargs)[:2]).all()
    assert np.isnan(public(grad)(x, backend=backend, **kwargs)[:2]).all()
    dy = np.array([1.0, 0.0, np.nan], dtype=dtype)
    # NaN in x: the derivative is NaN, so the product is NaN even for dy = 0;
    # NaN in dy where the derivative is not 0: NaN.
    assert np.isnan(public(backward)(dy, x, backend=backend, **kwargs)).all()


# --- the derivative is the derivative ------------------------------------------------

#: Where f or f' jumps or bends: central differences straddling these
#: measure neither side. (softplus switches to x at beta * x > threshold,
#: with a jump of about exp(-threshold) in f.)
def _kinks(name, p):
    if name == "hardswish":
        return [-3.0, 3.0]
    if name == "softplus":
        return [p["threshold"] / p["beta"]]
    return [0.0]


@BACKENDS
@pytest.mark.parametrize("name, params_name", ACTIVATION_PARAMS)
def test_grad_is_the_derivative(name, params_name, backend):
    """Central differences of f in float64 agree with f_grad on a grid off the kinks."""
    f, grad, _ = TRIPLES[name]
    kwargs = f.parameter_sets[params_name]
    # An offset keeps grid points off 0 and the integers.
    x = np.linspace(-30.0, 30.0, 1201) + 0.0123
    kinks = np.array(_kinks(name, _parameters(name, params_name)))
    h = 1e-5 * np.maximum(1.0, np.abs(x))
    x = x[(np.abs(x[:, None] - kinks[None, :]) > 10 * h[:, None]).all(axis=1)]
    h = 1e-5 * np.maximum(1.0, np.abs(x))
    fx = public(f)
    # Truncation error ~ h**2 * f''' and rounding ~ eps * |f| / h: both
    # below 1e-8 relative to max(1, |f|, |f'|) for these functions.
    above, below = x + h, x - h
    numeric = (fx(above, backend=backend, **kwargs) - fx(below, backend=backend, **kwargs)) / (above - below)
    analytic = public(grad)(x, backend=backend, **kwargs)
    scale = np.maximum(1.0, np.maximum(np.abs(fx(x, backend=backend, **kwargs)), np.abs(analytic)))
    error = np.abs(numeric - analytic) / scale
    worst = np.argmax(error)
    assert error[worst] < 1e-7, f"at x = {x[worst]}: numeric {numeric[worst]}, grad {analytic[worst]}"


# --- the chain rule -------------------------------------------------------------------


@BACKENDS
@pytest.mark.parametrize("dy_dtype", FLOAT_DTYPES)
@FLOATS
@pytest.mark.parametrize("name, params_name", ACTIVATION_PARAMS)
def test_backward_is_dy_times_grad(name, params_name, dtype, dy_dtype, backend):
    """``f_backward(dy, x)`` is ``dy * f_grad(x)``, formed in float64 and rounded once."""
    f, grad, backward = TRIPLES[name]
    kwargs = f.parameter_sets[params_name]
    x = make_array((2000,), dtype, "C", seed=21)
    dy = make_array((2000,), dy_dtype, "C", seed=22)
    # x widens exactly, so the float64 derivative at x is the one the
    # backward pass multiplies by.
    g = public(grad)(x.astype(np.float64), backend=backend, **kwargs)
    with np.errstate(invalid="ignore", over="ignore"):
        expected = np.where(g == 0.0, 0.0, dy.astype(np.float64) * g).astype(dy_dtype)
    result = public(backward)(dy, x, backend=backend, **kwargs)
    assert result.dtype == np.dtype(dy_dtype)
    assert_matches_reference(result, expected, backward.ulps)


@BACKENDS
@FLOATS
@pytest.mark.parametrize("name, params_name", ACTIVATION_PARAMS)
def test_backward_is_zero_where_the_derivative_is(name, params_name, dtype, backend):
    f, grad, backward = TRIPLES[name]
    kwargs = f.parameter_sets[params_name]
    # -inf for all; x <= 0 for squared_relu, x < -3 for hardswish, and the
    # exponential tails where exp(x) underflows to 0 in float64.
    candidates = np.array([-np.inf, -1e4, -2000.0, -800.0, -5.0, -0.0, 0.0], dtype=dtype)
    x = candidates[public(grad)(candidates.astype(np.float64), **kwargs) == 0.0]
    assert x.size >= 1 and np.isneginf(x[0])
    for dy_value in (np.inf, -np.inf, np.nan, 1.0):
        dy = np.full(x.shape, dy_value, dtype=dtype)
        result = public(backward)(dy, x, backend=backend, **kwargs)
        assert (result == 0).all(), f"dy={dy_value}, x={x}: {result}"


# --- float16: computed once, rounded once ----------------------------------------------

ALL_FLOAT16 = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)


def _halfway_slack(result, exact, ulps):
    """True where ``result`` is the other float16 neighbour of ``exact`` and
    ``exact`` lies within ``ulps`` float64 units of their midpoint.

    The float64 value itself may differ by that much between two libms
    (``Operation.ulps``), so which side of a float16 halfway point it falls
    on is rounding noise there; anywhere else exactly one float16 is right.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        correct = exact.astype(np.float16)
        adjacent = np.nextafter(correct, result) == result
        r, c = result.astype(np.float64), correct.astype(np.float64)
        midpoint = (r + c) / 2  # exact in float64: float16 values have 11 bits
        near = np.abs(exact - midpoint) <= ulps * np.spacing(np.abs(exact))
    return np.isfinite(r) & np.isfinite(c) & (result != correct) & adjacent & near


@BACKENDS
@pytest.mark.parametrize("part", ["f", "grad", "backward"])
@pytest.mark.parametrize("name, params_name", ACTIVATION_PARAMS)
def test_float16_is_the_float64_function_rounded_once(name, params_name, part, backend):
    """Every float16 bit pattern: the float16 result is the float64 result rounded once.

    Equality is exact (NaN for NaN) except where the float64 value sits
    within the operation's ulps of a float16 halfway point: there the
    Numba backend's libm may land on the other side (see ``_halfway_slack``;
    the NumPy backend evaluates the same float64 arithmetic on both calls,
    so for it ulps do not enter and equality is exact everywhere).
    """
    f, grad, backward = TRIPLES[name]
    op = {"f": f, "grad": grad, "backward": backward}[part]
    kwargs = op.parameter_sets[params_name]
    x = ALL_FLOAT16
    if part == "backward":
        # Every finite float16 as dy, in another order, so dy * f'(x) rounds everywhere.
        dy = np.random.default_rng(3).permutation(x[np.isfinite(x)])
        dy = np.resize(dy, x.shape)
        inputs, wide = (dy, x), (dy.astype(np.float64), x.astype(np.float64))
    else:
        inputs, wide = (x,), (x.astype(np.float64),)
    result = public(op)(*inputs, backend=backend, **kwargs)
    assert result.dtype == np.float16
    exact = public(op)(*wide, backend="numpy", **kwargs)
    with np.errstate(over="ignore"):
        once = exact.astype(np.float16)
    same = (result.view(np.uint16) == once.view(np.uint16)) | (np.isnan(result) & np.isnan(once))
    same |= result == once  # +-0
    ulps = 0 if backend == "numpy" else op.ulps
    allowed = same | _halfway_slack(result, exact, ulps)
    bad = np.flatnonzero(~allowed)
    assert bad.size == 0, (
        f"{bad.size} float16 inputs not rounded once, e.g. x = {x[bad[:5]]}: "
        f"{result[bad[:5]]} vs {once[bad[:5]]} (float64 {exact[bad[:5]]})"
    )


# --- properties, on arbitrary inputs -------------------------------------------------------

float_dtypes = st.sampled_from([np.dtype(d) for d in FLOAT_DTYPES])


def _arrays(dtype, allow_nan=True):
    elements = hnp.from_dtype(dtype, allow_nan=allow_nan)
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=1, max_side=40), elements=elements)


#: Parameter values drawn for the properties (any the checks accept).
PARAMETER_VALUES = {
    "alpha": st.floats(0.05, 5.0),
    "beta": st.floats(0.1, 10.0),
    "threshold": st.floats(-5.0, 40.0),
    "approximate": st.sampled_from(["none", "tanh"]),
}


@st.composite
def smooth_calls(draw):
    """(operation, inputs, keyword arguments) of any smooth operation."""
    op = draw(st.sampled_from(SMOOTH_OPERATIONS))
    dtype = draw(float_dtypes)
    x = draw(_arrays(dtype))
    inputs = (x,) if op.arity == 1 else (draw(hnp.arrays(draw(float_dtypes), x.shape)), x)
    kwargs = {p.name: draw(PARAMETER_VALUES[p.name]) for p in op.parameters}
    return op, inputs, kwargs


@given(call=smooth_calls())
def test_numba_agrees_with_numpy_within_ulps(call):
    op, inputs, kwargs = call
    expected = public(op)(*inputs, backend="numpy", **kwargs)
    assert_matches_reference(public(op)(*inputs, backend="numba", **kwargs), expected, op.ulps)


MONOTONE = ["softplus", "elu", "selu", "celu"]


@given(
    name=st.sampled_from(MONOTONE),
    data=st.data(),
    backend=st.sampled_from(CPU_BACKENDS),
)
def test_monotone(name, data, backend):
    """Nondecreasing (alpha > 0): rounding once is monotone, so this holds in every dtype."""
    f = TRIPLES[name][0]
    x = np.sort(data.draw(_arrays(data.draw(float_dtypes), allow_nan=False)))
    kwargs = {p.name: data.draw(PARAMETER_VALUES[p.name]) for p in f.parameters}
    if name == "softplus":
        # Where beta * x passes the threshold, softplus switches from the
        # smooth branch to x itself, a step down of log1p(exp(-threshold)) /
        # beta (PyTorch's definition): monotone only where that step is
        # below half the spacing of the values there. At the default
        # threshold 20 it is not in float64 (softplus(20.0) is above
        # softplus(nextafter(20.0, inf))); from 37 on it is in every dtype.
        kwargs["threshold"] = data.draw(st.floats(37.0, 60.0))
    y = public(f)(x, backend=backend, **kwargs)
    assert (y[1:] >= y[:-1]).all(), (x, y)


@given(
    name=st.sampled_from(["silu", "gelu-none", "gelu-tanh"]),
    data=st.data(),
    backend=st.sampled_from(CPU_BACKENDS),
)
def test_odd_part_is_x(name, data, backend):
    """``f(x) - f(-x) == x`` for f(x) = x * w(x) with w(x) + w(-x) = 1 (silu, gelu).

    Each side is rounded once from a float64 value good to a few float64
    ulps, so the identity holds up to a few units of each side's spacing.
    """
    name, _, approximate = name.partition("-")
    f = TRIPLES[name][0]
    kwargs = {"approximate": approximate} if approximate else {}
    dtype = data.draw(float_dtypes)
    x = data.draw(_arrays(dtype, allow_nan=False))
    x = x[np.isfinite(x)]
    plus = public(f)(x, backend=backend, **kwargs).astype(np.float64)
    minus = public(f)(-x, backend=backend, **kwargs).astype(np.float64)
    wide = x.astype(np.float64)
    spacing = lambda v: np.spacing(np.abs(v).astype(dtype)).astype(np.float64)  # noqa: E731
    # Next to the largest finite value, spacing() overflows to inf: no bound there.
    with np.errstate(over="ignore", invalid="ignore"):
        tolerance = (f.ulps + 1) * (spacing(plus) + spacing(minus))
        gap = np.abs((plus - minus) - wide)
    assert (gap <= tolerance).all(), (x[gap > tolerance], plus[gap > tolerance], minus[gap > tolerance])
