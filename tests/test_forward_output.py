"""When the forward output may replace ``x`` in ``relu_backward``.

The gradient at ``y = relu(x)`` must equal the gradient at ``x`` for every
``x``. With ``s``, ``t`` and ``m`` the slope, threshold and max_value
rounded to ``x``'s dtype (``m`` None without a clip), relu maps the linear
piece onto itself, the saturated piece to ``m`` and the negative piece
``x <= t`` to ``s * (x - t)``, which lies in [-inf, 0] for ``s >= 0``
(an underflow to -0.0 included) and reaches +inf at ``x = -inf`` for
``s < 0``. So the forward output suffices exactly when ``s >= 0`` and

* ``t >= 0`` and (``s == 0`` or ``m`` is None or ``m > t``): every image
  stays on its own piece; or
* ``t < 0`` and ``s == 0`` and ``m == 0``: the negative piece maps to 0,
  which is then saturated, gradient 0 either way; or
* ``t < 0`` and ``s == 1`` and (``m`` is None or ``m > 0``): the negative
  piece maps into the linear one, gradient 1 either way.

For ``threshold == 0`` (the documented family: ReLU, ReLU6, leaky ReLU):
``s >= 0``, and ``m > 0`` when there is both a slope and a max_value.
Checked on every float16 and on float32/float64 samples, for relukit's
decided semantics (``frameworks.decided``) and for relukit itself.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

import relukit as rk
from frameworks import decided, in_dtype, parameters, sample_inputs

SLOPES = (0.0, 0.1, 1.0, -0.1, 1e-9, 1.0001)  # 1e-9 is 0 and 1.0001 is 1 in float16
MAX_VALUES = (None, 0.0, 1e-9, 6.0)  # 1e-9 is 0 in float16
THRESHOLDS = (0.0, 0.1, -0.5, 6.0, 7.0, 1e-9)
GRID = [
    pytest.param(parameters(s, m, t), id=f"slope={s}-max={m}-threshold={t}")
    for s, m, t in itertools.product(SLOPES, MAX_VALUES, THRESHOLDS)
]


def forward_output_suffices(params, dtype) -> bool:
    """True when ``relu_backward(dy, relu(x)) == relu_backward(dy, x)`` for all ``x`` and ``dy``."""
    s = in_dtype(params["negative_slope"], dtype)
    t = in_dtype(params["threshold"], dtype)
    m = None if params["max_value"] is None else in_dtype(params["max_value"], dtype)
    if s < 0:
        return False
    if t >= 0:
        return s == 0 or m is None or m > t
    return (s == 0 and m == 0) or (s == 1 and (m is None or m > 0))


@functools.lru_cache(maxsize=None)
def samples(dtype):
    around = [v for v in MAX_VALUES + THRESHOLDS if v is not None]
    x = sample_inputs(dtype, around=around)
    x.flags.writeable = False
    return x


def _relukit(backend):
    def run(function, params, x, dy=None):
        args = (x,) if dy is None else (dy, x)
        return getattr(rk, function)(*args, backend=backend, **params)

    return run


IMPLEMENTATIONS = {"decided": decided, "default": _relukit(None), "numpy": _relukit("numpy")}


def counterexamples(implementation, params, x):
    """The ``x`` where the backward pass from ``relu(x)`` differs from the one from ``x``."""
    dy = np.ones_like(x)  # the backward pass is a select: dy = 1 shows every gradient
    y = implementation("relu", params, x)
    from_y = implementation("relu_backward", params, y, dy)
    from_x = implementation("relu_backward", params, x, dy)
    return x[from_y != from_x]  # NaN never occurs: the gradient at NaN is 0


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("params", GRID)
def test_forward_output_suffices_exactly_when_predicted(params, dtype):
    x = samples(dtype)
    expected = forward_output_suffices(params, dtype)
    found = {name: counterexamples(run, params, x)[:4] for name, run in IMPLEMENTATIONS.items()}
    holds = {name: cx.size == 0 for name, cx in found.items()}
    assert holds == dict.fromkeys(IMPLEMENTATIONS, expected), f"predicted {expected}; counterexamples {found}"


@pytest.mark.parametrize("backend", [None, "numpy"], ids=["default", "numpy"])
def test_underflow_to_minus_zero_keeps_the_slope(backend):
    # 0.01 * -5e-324 rounds to -0.0, which is still on the negative piece x <= 0.
    x = np.array([-5e-324, -1e-322])
    y = rk.relu(x, negative_slope=0.01, backend=backend)
    assert (y == 0).all() and np.signbit(y).all()
    np.testing.assert_array_equal(
        rk.relu_backward(np.ones(2), y, negative_slope=0.01, backend=backend), [0.01, 0.01]
    )


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_documented_family_qualifies(dtype):
    for slope in (0.0, 0.01, 0.1, 0.55, 1.0, 3.0):
        for cap in (None, 6.0, 1.0):
            assert forward_output_suffices(parameters(slope, cap, 0.0), dtype)
    # ...but not a slope with max_value 0 (relu(x > 0) == 0 lands on the negative piece).
    assert not forward_output_suffices(parameters(0.1, 0.0, 0.0), dtype)
