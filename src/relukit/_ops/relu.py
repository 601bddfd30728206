"""ReLU and Keras' variants of it: relu, relu_grad and relu_backward.

Three operations share one parameter list (``negative_slope``,
``max_value``, ``threshold``, with the defaults of
``keras.activations.relu``) and two variants each: "plain", ``max(x, 0)``
itself (integers allowed), and "keras", Keras' piecewise definition:

- ``negative_slope * (x - threshold)`` where ``x <= threshold`` (exactly 0
  when the slope is 0, even at -inf);
- ``min(x, max_value)`` where ``x > threshold``;
- NaN where ``x`` is NaN.

So when ``threshold > max_value``, inputs in ``[max_value, threshold]`` take
the negative piece, as in Keras. ``x`` is compared with the parameters
rounded to ``x``'s dtype (as Keras, PyTorch and JAX compare), and a piece
is evaluated in float64 from parameters rounded to the result dtype, then
rounded once into the result.
"""

from __future__ import annotations

import math

import numpy as np

from ._declare import Operation, Parameter, Variant, finite_real, in_dtype, nonnegative_or_none
from ._elements import zero_of
from .relu_doc import BACKWARD_DOC, GRAD_DOC, RELU_DOC

# --- parameters ----------------------------------------------------------------

PARAMETERS = (
    Parameter(
        "negative_slope",
        0.0,
        "float, default 0.0",
        "Slope of the piece at and below `threshold` (leaky ReLU).",
        finite_real("negative_slope"),
    ),
    Parameter(
        "max_value",
        None,
        "float or None, default None",
        "Upper clip above `threshold` (``6.0`` gives ReLU6); must be >= 0.",
        nonnegative_or_none("max_value"),
    ),
    Parameter(
        "threshold",
        0.0,
        "float, default 0.0",
        "Inputs at or below it take the negative piece (thresholded ReLU).",
        finite_real("threshold"),
    ),
)

#: Parameter sets the tests and benchmarks sweep.
PARAMETER_SETS = {
    "plain": {},
    "leaky": {"negative_slope": 0.1},
    "relu6": {"max_value": 6.0},
    "thresholded": {"threshold": 0.5},
    "all": {"negative_slope": 0.2, "max_value": 6.0, "threshold": -0.5},
    "threshold_above_max": {"negative_slope": 0.1, "max_value": 6.0, "threshold": 7.0},
}


def _choose(values: dict) -> str:
    plain = (
        values["negative_slope"] == 0.0
        and values["max_value"] is None
        and values["threshold"] == 0.0
    )
    return "plain" if plain else "keras"


def _scalars(values: dict, x_dtype: np.dtype, result_dtype: np.dtype):
    """(slope, cap, threshold): the slope in the result dtype, the bounds in x's.

    ``cap`` is NaN without ``max_value``: every comparison with NaN is False,
    so the kernels need no branch for it.
    """
    cap = values["max_value"]
    return (
        in_dtype(values["negative_slope"], result_dtype),
        math.nan if cap is None else in_dtype(cap, x_dtype),
        in_dtype(values["threshold"], x_dtype),
    )


# --- kernel bodies -------------------------------------------------------------
# One element each; Numba compiles them into the CPU drivers. ``a, b, c`` are
# (slope, cap, threshold) from _scalars. The Keras bodies widen to float64 and
# leave the one rounding to the store.


def relu_plain(x, a, b, c):
    # ``x < 0`` is False for NaN, which therefore passes through.
    return zero_of(x) if x < 0 else x


def relu_plain_f16_bits(x, a, b, c):
    # Negative numbers, -0.0 and -inf become +0.0; -NaN (above 0xFC00) stays.
    return zero_of(x) if (x >= 0x8000 and x <= 0xFC00) else x


def relu_keras(x, a, b, c):
    v = np.float64(x)
    if v > c:
        return b if v >= b else v
    if v <= c:
        return a * (v - c) if a != 0.0 else 0.0
    return v  # NaN


def grad_plain(x, a, b, c):
    return 1 if x > 0 else 0


def grad_plain_f16_bits(x, a, b, c):
    # From the smallest positive subnormal up to +inf: 1.0 (0x3C00).
    return 0x3C00 if (x >= 1 and x <= 0x7C00) else 0


def grad_keras(x, a, b, c):
    v = np.float64(x)
    if v <= c:
        return a
    if v > c and not v >= b:
        return 1.0
    return 0.0  # saturated, or NaN


def backward_plain(dy, x, a, b, c):
    # A select, not a product: 0 where the gradient is 0, even if dy is inf.
    return dy if x > 0 else zero_of(dy)


def backward_plain_f16_bits(dy, x, a, b, c):
    return dy if (x >= 1 and x <= 0x7C00) else zero_of(dy)


def backward_keras(dy, x, a, b, c):
    v = np.float64(x)
    if v <= c:
        return a * np.float64(dy) if a != 0.0 else 0.0
    if v > c and not v >= b:
        return np.float64(dy)
    return 0.0


# --- NumPy references ----------------------------------------------------------


def _ref_relu_plain(x, a, b, c):
    # np.maximum propagates NaN, unlike ``x * (x > 0)``.
    return np.maximum(x, np.zeros((), x.dtype))


def _ref_relu_keras(x, a, b, c):
    v = x.astype(np.float64)
    y = np.where((v > c) & (v >= b), b, v)
    with np.errstate(invalid="ignore", over="ignore"):
        negative = a * (v - c) if a != 0.0 else np.zeros_like(v)
    return np.where(v <= c, negative, y)


def _ref_grad_plain(x, a, b, c):
    return np.greater(x, 0)


def _ref_grad_keras(x, a, b, c):
    v = x.astype(np.float64)
    linear = (v > c) & ~(v >= b)
    return np.where(v <= c, a, np.where(linear, 1.0, 0.0))


def _ref_backward_plain(dy, x, a, b, c):
    return np.where(np.greater(x, 0), dy, np.zeros((), dy.dtype))


def _ref_backward_keras(dy, x, a, b, c):
    v = x.astype(np.float64)
    d = dy.astype(np.float64)
    linear = (v > c) & ~(v >= b)
    with np.errstate(invalid="ignore", over="ignore"):
        negative = a * d if a != 0.0 else np.zeros_like(d)
    return np.where(v <= c, negative, np.where(linear, d, 0.0))


# --- CUDA snippets (see relukit._cupy for the helpers) -------------------------

_CUDA_RELU_PLAIN = "out = (relukit_positive(x) || relukit_isnan(x)) ? x : T(0)"
_CUDA_RELU_KERAS = """
    const double v = relukit_widen(x);
    out = relukit_round<T>(v > c ? (v >= b ? b : v) : v <= c ? relukit_scale(a, v - c) : v)
"""
_CUDA_GRAD_PLAIN = "out = relukit_positive(x) ? T(1) : T(0)"
_CUDA_GRAD_KERAS = """
    const double v = relukit_widen(x);
    out = relukit_round<T>(v <= c ? a : (v > c && !(v >= b)) ? 1.0 : 0.0)
"""
_CUDA_BACKWARD_PLAIN = "out = relukit_positive(x) ? dy : D(0)"
_CUDA_BACKWARD_KERAS = """
    const double v = relukit_widen(x);
    out = (v > c && !(v >= b)) ? dy
        : v <= c ? relukit_round<D>(relukit_scale(a, relukit_widen(dy)))
        : D(0)
"""

# --- peers: the best spellings of the same job elsewhere -----------------------


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _common_numba_recipe():
    """``np.maximum(x, np.zeros_like(x))`` under ``numba.njit``: what users write."""
    import numba

    @numba.njit(cache=False)
    def relu_recipe(x):
        return np.maximum(x, np.zeros_like(x))

    return relu_recipe


def _relu_peers(mode: str) -> dict:
    torch = _torch()
    t = torch.from_numpy if torch else None
    if mode == "allocating":
        peers = {"np.maximum(x, 0)": lambda x: np.maximum(x, 0)}
        try:
            peers["np.zeros + np.maximum, numba.njit"] = _common_numba_recipe()
        except ImportError:
            pass
        if torch:
            peers["torch.relu(x)"] = lambda x: torch.relu(t(x))
        return peers
    if mode == "out":
        peers = {"np.maximum(x, 0, out=y)": lambda x, out: np.maximum(x, 0, out=out)}
        if torch:
            peers["torch.clamp_min(x, 0, out=y)"] = lambda x, out: torch.clamp_min(t(x), 0, out=t(out))
        return peers
    peers = {"np.maximum(x, 0, out=x)": lambda x: np.maximum(x, 0, out=x)}
    if torch:
        peers["torch.relu_(x)"] = lambda x: torch.relu_(t(x))
    return peers


def _grad_peers(mode: str) -> dict:
    torch = _torch()
    if mode == "allocating":
        peers = {"np.greater(x, 0).astype(x.dtype)": lambda x: np.greater(x, 0).astype(x.dtype)}
        if torch:
            peers["(t > 0).to(t.dtype)"] = lambda x: (torch.from_numpy(x) > 0).to(torch.from_numpy(x).dtype)
        return peers
    if mode == "out":
        return {"np.greater(x, 0, out=y)": lambda x, out: np.greater(x, 0, out=out)}
    return {"np.greater(x, 0, out=x)": lambda x: np.greater(x, 0, out=x)}


def _backward_peers(mode: str) -> dict:
    torch = _torch()
    if mode == "allocating":
        peers = {
            "np.where(x > 0, dy, 0)": lambda dy, x: np.where(x > 0, dy, 0),
            "dy * (x > 0)": lambda dy, x: dy * (x > 0),
        }
        if torch:
            tb = torch.ops.aten.threshold_backward
            peers["torch threshold_backward"] = lambda dy, x: tb(
                torch.from_numpy(dy), torch.from_numpy(x), 0
            )
        return peers
    if mode == "out":
        peers = {"np.multiply(dy, x > 0, out=y)": lambda dy, x, out: np.multiply(dy, x > 0, out=out)}
        if torch:
            tbo = torch.ops.aten.threshold_backward.grad_input
            peers["torch threshold_backward(out=y)"] = lambda dy, x, out: tbo(
                torch.from_numpy(dy), torch.from_numpy(x), 0, grad_input=torch.from_numpy(out)
            )
        return peers
    return {"np.multiply(dy, x > 0, out=dy)": lambda dy, x: np.multiply(dy, x > 0, out=dy)}


def _unary_inputs(make):
    return (make(0),)


def _backward_inputs(make):
    return (make(1), make(0))


# --- the declarations ------------------------------------------------------------

RELU = Operation(
    name="relu",
    inputs=("x",),
    result_like="x",
    parameters=PARAMETERS,
    variants={
        "plain": Variant(_ref_relu_plain, relu_plain, _CUDA_RELU_PLAIN, True, relu_plain_f16_bits),
        "keras": Variant(_ref_relu_keras, relu_keras, _CUDA_RELU_KERAS),
    },
    choose=_choose,
    scalars=_scalars,
    traffic=2,
    doc=RELU_DOC,
    parameter_sets=PARAMETER_SETS,
    peers=_relu_peers,
    make_inputs=_unary_inputs,
)

RELU_GRAD = Operation(
    name="relu_grad",
    inputs=("x",),
    result_like="x",
    parameters=PARAMETERS,
    variants={
        "plain": Variant(_ref_grad_plain, grad_plain, _CUDA_GRAD_PLAIN, True, grad_plain_f16_bits),
        "keras": Variant(_ref_grad_keras, grad_keras, _CUDA_GRAD_KERAS),
    },
    choose=_choose,
    scalars=_scalars,
    traffic=2,
    doc=GRAD_DOC,
    parameter_sets=PARAMETER_SETS,
    peers=_grad_peers,
    make_inputs=_unary_inputs,
)

RELU_BACKWARD = Operation(
    name="relu_backward",
    inputs=("dy", "x"),
    result_like="dy",
    parameters=PARAMETERS,
    variants={
        "plain": Variant(
            _ref_backward_plain, backward_plain, _CUDA_BACKWARD_PLAIN, True, backward_plain_f16_bits
        ),
        "keras": Variant(_ref_backward_keras, backward_keras, _CUDA_BACKWARD_KERAS),
    },
    choose=_choose,
    scalars=_scalars,
    traffic=3,
    doc=BACKWARD_DOC,
    parameter_sets=PARAMETER_SETS,
    peers=_backward_peers,
    make_inputs=_backward_inputs,
)

OPERATIONS = (RELU, RELU_GRAD, RELU_BACKWARD)
