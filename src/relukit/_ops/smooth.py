"""The rest of the rectifier family: ELU, SELU, CELU, GELU, SiLU, Mish, Softplus,
Hardswish and squared ReLU, each with its derivative and backward pass.

Parameters and defaults are those of ``torch.nn.functional``. Every formula
is evaluated in float64 (float16 and float32 inputs widen exactly) and
rounded once into the result. The formulas are chosen so that no
intermediate overflows or cancels where the naive ones do: sigmoids from
``exp(-|v|)``, ``gelu`` from ``erfc`` (``1 + erf(z)`` loses every digit for
``z < -6``), Mish from ``exp(-|v|)``, softplus as ``max(v, 0) +
log1p(exp(-|v|))``; a factor that multiplies a vanishing term is clamped
(``_elements.clamp``) so that ``inf * 0`` never makes a NaN at +-inf.
"""

from __future__ import annotations

import math

import numpy as np

from ._constants import INV_SQRT_2PI, SELU_ALPHA, SELU_SCALE, SQRT_HALF
from ._declare import Parameter, finite_real, in_dtype
from ._elements import clamp, erfc, exp, expm1, log1p, mish_parts, ratio, sigmoids
from ._family import Formula, activation
from . import smooth_doc as docs
from . import smooth_peers as peers

#: sqrt(2/pi), the tanh approximation's constant, correctly rounded (the
#: exact GELU's, sqrt(1/2) and 1/sqrt(2*pi), are in ``_constants``: the
#: peers use them too).
SQRT_2_OVER_PI = 0.7978845608028654
#: The cubic coefficient of GELU's tanh approximation (Hendrycks & Gimpel).
GELU_CUBIC = 0.044715

#: Ulps between the Numba kernels and the NumPy reference (see
#: ``Operation.ulps``): each calls its own exp/expm1/log1p/erfc.
_LIBM_ULPS = 4


def _positive(name):
    """Check for a finite real number > 0."""
    finite = finite_real(name)

    def check(function, value):
        number = finite(function, value)
        if number <= 0:
            raise ValueError(f"{function}(): {name} must be > 0, got {number}")
        return number

    return check


def _widen(x):
    return x.astype(np.float64)


_ref_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _ref_sigmoids(v):
    e = np.exp(-np.abs(v))
    p = 1.0 / (1.0 + e)
    q = e * p
    positive = v >= 0
    return np.where(positive, p, q), np.where(positive, q, p)


def _ref_clamp(v):
    return np.where(np.abs(v) <= 800.0, v, np.copysign(800.0, v))


# --- ELU, SELU, CELU -------------------------------------------------------------


def elu(x, a, b, c):
    v = np.float64(x)
    return v if v > 0.0 else a * expm1(v)


def elu_grad(x, a, b, c):
    v = np.float64(x)
    return 1.0 if v > 0.0 else a * exp(v)


def _ref_elu(x, a, b, c):
    v = _widen(x)
    return np.where(v > 0, v, a * np.expm1(v))


def _ref_elu_grad(x, a, b, c):
    v = _widen(x)
    return np.where(v > 0, 1.0, a * np.exp(v))


def _elu_scalars(values, x_dtype, result_dtype):
    # Rounded to the result's dtype first, as relu's slope and as the
    # frameworks convert a Python float for a float32 or float16 tensor.
    return in_dtype(values["alpha"], result_dtype), 0.0, 0.0


def selu(x, a, b, c):
    v = np.float64(x)
    return SELU_SCALE * (v if v > 0.0 else SELU_ALPHA * expm1(v))


def selu_grad(x, a, b, c):
    v = np.float64(x)
    return SELU_SCALE if v > 0.0 else SELU_SCALE * SELU_ALPHA * exp(v)


def _ref_selu(x, a, b, c):
    v = _widen(x)
    return SELU_SCALE * np.where(v > 0, v, SELU_ALPHA * np.expm1(v))


def _ref_selu_grad(x, a, b, c):
    v = _widen(x)
    return np.where(v > 0, SELU_SCALE, SELU_SCALE * SELU_ALPHA * np.exp(v))


def celu(x, a, b, c):
    v = np.float64(x)
    return v if v > 0.0 else a * expm1(ratio(v, a))


def celu_grad(x, a, b, c):
    v = np.float64(x)
    return 1.0 if v > 0.0 else exp(ratio(v, a))


def _ref_celu(x, a, b, c):
    v = _widen(x)
    return np.where(v > 0, v, a * np.expm1(v / a))


def _ref_celu_grad(x, a, b, c):
    v = _widen(x)
    return np.where(v > 0, 1.0, np.exp(v / a))


# --- GELU ------------------------------------------------------------------------


def gelu(x, a, b, c):
    v = np.float64(x)
    r = 0.5 * v * erfc(-v * SQRT_HALF)
    return 0.0 if v == -np.inf else r


def gelu_grad(x, a, b, c):
    v = np.float64(x)
    return 0.5 * erfc(-v * SQRT_HALF) + clamp(v) * INV_SQRT_2PI * exp(-0.5 * v * v)


def _ref_gelu(x, a, b, c):
    v = _widen(x)
    return np.where(v == -np.inf, 0.0, 0.5 * v * _ref_erfc(-v * SQRT_HALF))


def _ref_gelu_grad(x, a, b, c):
    v = _widen(x)
    return 0.5 * _ref_erfc(-v * SQRT_HALF) + _ref_clamp(v) * INV_SQRT_2PI * np.exp(-0.5 * v * v)


def gelu_tanh(x, a, b, c):
    # 0.5 * (1 + tanh(u)) is sigmoid(2u): no cancellation for v < 0.
    v = np.float64(x)
    s, sm = sigmoids(2.0 * SQRT_2_OVER_PI * (v + GELU_CUBIC * v * v * v))
    return 0.0 if s == 0.0 else v * s


def gelu_tanh_grad(x, a, b, c):
    v = np.float64(x)
    w = clamp(v)
    s, sm = sigmoids(2.0 * SQRT_2_OVER_PI * (v + GELU_CUBIC * v * v * v))
    du = 2.0 * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * w * w)
    return s + w * du * s * sm


def _gelu_tanh_sigmoids(v):
    return _ref_sigmoids(2.0 * SQRT_2_OVER_PI * (v + GELU_CUBIC * v * v * v))


def _ref_gelu_tanh(x, a, b, c):
    v = _widen(x)
    s, _ = _gelu_tanh_sigmoids(v)
    return np.where(s == 0.0, 0.0, v * s)


def _ref_gelu_tanh_grad(x, a, b, c):
    v = _widen(x)
    w = _ref_clamp(v)
    s, sm = _gelu_tanh_sigmoids(v)
    return s + w * (2.0 * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * w * w)) * s * sm


def _gelu_approximate(function, value):
    if value not in ("none", "tanh"):
        raise ValueError(f"{function}(): approximate must be 'none' or 'tanh', got {value!r}")
    return value


def _gelu_choose(values):
    return "erf" if values["approximate"] == "none" else "tanh"


# --- SiLU, Mish --------------------------------------------------------------------


def silu(x, a, b, c):
    v = np.float64(x)
    s, sm = sigmoids(v)
    return 0.0 if s == 0.0 else v * s


def silu_grad(x, a, b, c):
    v = np.float64(x)
    s, sm = sigmoids(v)
    return s + clamp(v) * s * sm


def _ref_silu(x, a, b, c):
    v = _widen(x)
    s, _ = _ref_sigmoids(v)
    return np.where(s == 0.0, 0.0, v * s)


def _ref_silu_grad(x, a, b, c):
    v = _widen(x)
    s, sm = _ref_sigmoids(v)
    return s + _ref_clamp(v) * s * sm


def mish(x, a, b, c):
    v = np.float64(x)
    t, tm, s = mish_parts(v)
    return 0.0 if t == 0.0 else v * t


def mish_grad(x, a, b, c):
    # tanh(sp) + v * sech(sp)**2 * sigmoid(v), sech**2 = (1 - t)(1 + t).
    v = np.float64(x)
    t, tm, s = mish_parts(v)
    return t + clamp(v) * tm * (1.0 + t) * s


def _ref_mish_parts(v):
    e = np.exp(-np.abs(v))
    positive = v >= 0
    d = 1.0 + 2.0 * e + 2.0 * e * e
    n = e * (e + 2.0)
    t = np.where(positive, (1.0 + 2.0 * e) / d, n / (n + 2.0))
    tm = np.where(positive, 2.0 * e * e / d, 2.0 / (n + 2.0))
    s = np.where(positive, 1.0 / (1.0 + e), e / (1.0 + e))
    return t, tm, s


def _ref_mish(x, a, b, c):
    v = _widen(x)
    t, _, _ = _ref_mish_parts(v)
    return np.where(t == 0.0, 0.0, v * t)


def _ref_mish_grad(x, a, b, c):
    v = _widen(x)
    t, tm, s = _ref_mish_parts(v)
    return t + _ref_clamp(v) * tm * (1.0 + t) * s


# --- Softplus ------------------------------------------------------------------------


def softplus(x, a, b, c):
    # a = beta, b = threshold: linear above it, as PyTorch.
    v = np.float64(x)
    bv = a * v
    if bv > b:
        return v
    # ratio(): alpha and beta are checked > 0, so no zero-divisor branch.
    return ratio(max(bv, 0.0) + log1p(exp(-abs(bv))), a)


def softplus_grad(x, a, b, c):
    v = np.float64(x)
    bv = a * v
    if bv > b:
        return 1.0
    s, sm = sigmoids(bv)
    return s


def _ref_softplus(x, a, b, c):
    v = _widen(x)
    bv = a * v
    smooth = (np.maximum(bv, 0.0) + np.log1p(np.exp(-np.abs(bv)))) / a
    return np.where(bv > b, v, smooth)


def _ref_softplus_grad(x, a, b, c):
    v = _widen(x)
    bv = a * v
    s, _ = _ref_sigmoids(bv)
    return np.where(bv > b, 1.0, s)


def _softplus_scalars(values, x_dtype, result_dtype):
    # In x's dtype, as relu's bounds (beta * x and the threshold compare
    # in it in PyTorch).
    return in_dtype(values["beta"], x_dtype), in_dtype(values["threshold"], x_dtype), 0.0


# --- Hardswish, squared ReLU -----------------------------------------------------------


def hardswish(x, a, b, c):
    v = np.float64(x)
    if v <= -3.0:
        return 0.0
    if v >= 3.0:
        return v
    return v * (v + 3.0) / 6.0


def hardswish_grad(x, a, b, c):
    # At the kinks the flat pieces' derivatives, 0 at -3 and 1 at 3, as
    # PyTorch, JAX and Keras give (found by running them); NaN stays NaN.
    v = np.float64(x)
    if v <= -3.0:
        return 0.0
    if v < 3.0:
        return v / 3.0 + 0.5
    if v >= 3.0:
        return 1.0
    return v


def _ref_hardswish(x, a, b, c):
    v = _widen(x)
    return np.where(v <= -3, 0.0, np.where(v >= 3, v, v * (v + 3.0) / 6.0))


def _ref_hardswish_grad(x, a, b, c):
    v = _widen(x)
    return np.where(v <= -3, 0.0, np.where(v < 3, v / 3.0 + 0.5, np.where(v >= 3, 1.0, v)))


def squared_relu(x, a, b, c):
    v = np.float64(x)
    return 0.0 if v <= 0.0 else v * v


def squared_relu_grad(x, a, b, c):
    v = np.float64(x)
    return 0.0 if v <= 0.0 else 2.0 * v


def _ref_squared_relu(x, a, b, c):
    v = _widen(x)
    return np.where(v <= 0, 0.0, v * v)


def _ref_squared_relu_grad(x, a, b, c):
    v = _widen(x)
    return np.where(v <= 0, 0.0, 2.0 * v)


# --- CUDA statements (helpers in relukit._cupy's preamble) --------------------------

_CUDA = {
    "elu": ("r = v > 0.0 ? v : a * expm1(v);", "g = v > 0.0 ? 1.0 : a * exp(v);"),
    "selu": (
        f"r = {SELU_SCALE!r} * (v > 0.0 ? v : {SELU_ALPHA!r} * expm1(v));",
        f"g = v > 0.0 ? {SELU_SCALE!r} : {SELU_SCALE * SELU_ALPHA!r} * exp(v);",
    ),
    "celu": ("r = v > 0.0 ? v : a * expm1(v / a);", "g = v > 0.0 ? 1.0 : exp(v / a);"),
    "gelu": (
        f"r = (isinf(v) && v < 0.0) ? 0.0 : 0.5 * v * erfc(-v * {SQRT_HALF!r});",
        f"g = 0.5 * erfc(-v * {SQRT_HALF!r}) + relukit_clamp(v) * {INV_SQRT_2PI!r} * exp(-0.5 * v * v);",
    ),
    "gelu_tanh": (
        f"""double s, sm;
    relukit_sigmoids(2.0 * {SQRT_2_OVER_PI!r} * (v + {GELU_CUBIC!r} * v * v * v), s, sm);
    r = s == 0.0 ? 0.0 : v * s;""",
        f"""double s, sm;
    const double w = relukit_clamp(v);
    relukit_sigmoids(2.0 * {SQRT_2_OVER_PI!r} * (v + {GELU_CUBIC!r} * v * v * v), s, sm);
    g = s + w * (2.0 * {SQRT_2_OVER_PI!r} * (1.0 + 3.0 * {GELU_CUBIC!r} * w * w)) * s * sm;""",
    ),
    "silu": (
        "double s, sm; relukit_sigmoids(v, s, sm); r = s == 0.0 ? 0.0 : v * s;",
        "double s, sm; relukit_sigmoids(v, s, sm); g = s + relukit_clamp(v) * s * sm;",
    ),
    "mish": (
        "double t, tm, s; relukit_mish_parts(v, t, tm, s); r = t == 0.0 ? 0.0 : v * t;",
        "double t, tm, s; relukit_mish_parts(v, t, tm, s); "
        "g = t + relukit_clamp(v) * tm * (1.0 + t) * s;",
    ),
    "softplus": (
        "const double bv = a * v; "
        "r = bv > b ? v : (fmax(bv, 0.0) + log1p(exp(-fabs(bv)))) / a;",
        "const double bv = a * v; double s, sm; relukit_sigmoids(bv, s, sm); g = bv > b ? 1.0 : s;",
    ),
    "hardswish": (
        "r = v <= -3.0 ? 0.0 : v >= 3.0 ? v : v * (v + 3.0) / 6.0;",
        "g = v <= -3.0 ? 0.0 : v < 3.0 ? v / 3.0 + 0.5 : v >= 3.0 ? 1.0 : v;",
    ),
    "squared_relu": ("r = v <= 0.0 ? 0.0 : v * v;", "g = v <= 0.0 ? 0.0 : 2.0 * v;"),
}


def _formula(key, forward, grad, reference, grad_reference):
    cuda, grad_cuda = _CUDA[key]
    return Formula(reference, forward, cuda, grad_reference, grad, grad_cuda)


# --- the declarations --------------------------------------------------------------------

_ALPHA = Parameter(
    "alpha", 1.0, "float, default 1.0", "Scale of the negative piece: its limit at -inf is ``-alpha``.",
    finite_real("alpha"),
)

ELU = activation(
    "elu",
    parameters=(_ALPHA,),
    formulas={"plain": _formula("elu", elu, elu_grad, _ref_elu, _ref_elu_grad)},
    scalars=_elu_scalars,
    docs=docs.ELU,
    parameter_sets={"plain": {}, "alpha_0.5": {"alpha": 0.5}},
    peers=peers.ELU,
    ulps=_LIBM_ULPS,
)

SELU = activation(
    "selu",
    formulas={"plain": _formula("selu", selu, selu_grad, _ref_selu, _ref_selu_grad)},
    docs=docs.SELU,
    peers=peers.SELU,
    ulps=_LIBM_ULPS,
)

CELU = activation(
    "celu",
    parameters=(
        Parameter(
            "alpha", 1.0, "float, default 1.0",
            "Scale of the negative piece, ``alpha * expm1(x / alpha)``; must be > 0.",
            _positive("alpha"),
        ),
    ),
    formulas={"plain": _formula("celu", celu, celu_grad, _ref_celu, _ref_celu_grad)},
    scalars=_elu_scalars,
    docs=docs.CELU,
    parameter_sets={"plain": {}, "alpha_2": {"alpha": 2.0}},
    peers=peers.CELU,
    ulps=_LIBM_ULPS,
)

GELU = activation(
    "gelu",
    parameters=(
        Parameter(
            "approximate", "none", "{'none', 'tanh'}, default 'none'",
            "``'none'``: the exact ``x * Phi(x)``; ``'tanh'``: the tanh approximation.",
            _gelu_approximate,
        ),
    ),
    formulas={
        "erf": _formula("gelu", gelu, gelu_grad, _ref_gelu, _ref_gelu_grad),
        "tanh": _formula("gelu_tanh", gelu_tanh, gelu_tanh_grad, _ref_gelu_tanh, _ref_gelu_tanh_grad),
    },
    choose=_gelu_choose,
    docs=docs.GELU,
    parameter_sets={"plain": {}, "tanh": {"approximate": "tanh"}},
    peers=peers.GELU,
    ulps=_LIBM_ULPS,
    derivative_cancels=True,
)

SILU = activation(
    "silu",
    formulas={"plain": _formula("silu", silu, silu_grad, _ref_silu, _ref_silu_grad)},
    docs=docs.SILU,
    peers=peers.SILU,
    ulps=_LIBM_ULPS,
    derivative_cancels=True,
)

MISH = activation(
    "mish",
    formulas={"plain": _formula("mish", mish, mish_grad, _ref_mish, _ref_mish_grad)},
    docs=docs.MISH,
    peers=peers.MISH,
    ulps=_LIBM_ULPS,
    derivative_cancels=True,
)

SOFTPLUS = activation(
    "softplus",
    parameters=(
        Parameter(
            "beta", 1.0, "float, default 1.0",
            "Sharpness: ``log1p(exp(beta * x)) / beta``; must be > 0.", _positive("beta"),
        ),
        Parameter(
            "threshold", 20.0, "float, default 20.0",
            "Where ``beta * x > threshold`` the result is `x` itself (as PyTorch).",
            finite_real("threshold"),
        ),
    ),
    formulas={
        "plain": _formula("softplus", softplus, softplus_grad, _ref_softplus, _ref_softplus_grad)
    },
    scalars=_softplus_scalars,
    docs=docs.SOFTPLUS,
    parameter_sets={"plain": {}, "beta_2": {"beta": 2.0, "threshold": 10.0}},
    peers=peers.SOFTPLUS,
    ulps=_LIBM_ULPS,
)

HARDSWISH = activation(
    "hardswish",
    formulas={
        "plain": _formula("hardswish", hardswish, hardswish_grad, _ref_hardswish, _ref_hardswish_grad)
    },
    docs=docs.HARDSWISH,
    peers=peers.HARDSWISH,
    ulps=0,
)

SQUARED_RELU = activation(
    "squared_relu",
    formulas={
        "plain": _formula(
            "squared_relu", squared_relu, squared_relu_grad, _ref_squared_relu, _ref_squared_relu_grad
        )
    },
    docs=docs.SQUARED_RELU,
    peers=peers.SQUARED_RELU,
    ulps=0,
)

OPERATIONS = ELU + SELU + CELU + GELU + SILU + MISH + SOFTPLUS + HARDSWISH + SQUARED_RELU
