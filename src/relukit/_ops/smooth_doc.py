"""The docstring pieces of the smooth rectifiers (see ``smooth.py``).

What the nine activations share (inputs, returns, the rounding rule, the
backward pass's select) is written once in :func:`_docs`; each activation
gives its definition, notes and examples.
"""

from __future__ import annotations

from ._declare import Doc

_X = """x : array_like
    Input: a NumPy array (or anything ``np.asarray`` accepts), a CuPy
    array or a Dask array; float16, float32 or float64."""

_DY_X = """dy : array_like
    Gradient of the loss with respect to the output of :func:`{name}`;
    float16, float32 or float64.
x : array_like
    The input of the forward pass, same shape as `dy`."""

_ROUNDING = """Computed in float64 from the exactly widened input and rounded once to the
result dtype (float16 is never rounded twice). Parameters are first
rounded to the dtype (`alpha` to the result's, `beta` and `threshold` to
`x`'s), as :func:`relu`'s and as the frameworks convert them. The worst error measured
against an exact evaluation is listed per operation in the user guide's
semantics page."""


def _docs(name, summary, definition, limits, grad_notes, examples):
    """``(forward, derivative, backward)`` docs of activation ``name``.

    ``examples`` holds the three doctest blocks, without the imports.
    """
    imports = ">>> import numpy as np\n>>> import relukit as rk\n"
    forward = Doc(
        summary=summary,
        inputs=_X,
        returns="""ndarray
    `out` if given, else a new array with the shape and dtype of `x`. A
    NumPy scalar when `x` is 0-d (or a Python scalar) and `out` is not
    given, as with NumPy's ufuncs.""",
        raises="",
        see_also=f"""{name}_grad : The derivative.
{name}_backward : The fused backward pass, ``dy * {name}_grad(x)``.""",
        notes=f"{definition}\n\n{limits}\n\n{_ROUNDING}",
        examples=imports + examples[0],
    )
    grad = Doc(
        summary=f"Derivative of :func:`{name}` with respect to its input.",
        inputs=_X.replace("Input:", "The input of the forward pass:"),
        returns="""ndarray
    The derivative at each element of `x`, in the dtype of `x`.""",
        raises="",
        see_also=f"""{name} : The function itself.
{name}_backward : ``dy * {name}_grad(x)`` in one pass.""",
        notes=f"{grad_notes}\n\n{_ROUNDING}",
        examples=imports + examples[1],
    )
    backward = Doc(
        summary=f"Backward pass of :func:`{name}`: ``dy * {name}_grad(x)`` in one fused pass.",
        inputs=_DY_X.format(name=name),
        returns="""ndarray
    The gradient with respect to `x`, in the dtype of `dy`.""",
        raises="",
        see_also=f"""{name} : The forward function.
{name}_grad : The derivative alone.""",
        notes=f"""The product ``dy * {name}_grad(x)`` is formed in float64 and rounded
once, with one exception, as in :func:`relu_backward`: where the
derivative is exactly 0 the result is 0, even where `dy` is inf or NaN.
NaN in `x` gives NaN.""",
        examples=imports + examples[2],
    )
    return forward, grad, backward


ELU = _docs(
    "elu",
    "Exponential linear unit: `x` where ``x > 0``, else ``alpha * (exp(x) - 1)``.",
    """``elu(x) = x`` for ``x > 0`` and ``alpha * expm1(x)`` otherwise (Clevert et
al., 2015), with PyTorch's, Keras' and JAX's default ``alpha = 1``.""",
    """``elu(-inf) = -alpha``, ``elu(inf) = inf``, NaN stays NaN. ``expm1`` keeps
full relative accuracy near 0, where ``exp(x) - 1`` loses it.""",
    """1 where ``x > 0``, else ``alpha * exp(x)`` (so ``alpha`` at 0, the
left-hand derivative, as PyTorch and JAX choose). 0 at -inf.""",
    (
        """>>> rk.elu(np.array([-np.inf, -1.0, 0.0, 2.0, np.nan]))
array([-1.        , -0.63212056,  0.        ,  2.        ,         nan])
>>> rk.elu(np.array([-1.0, 2.0]), alpha=0.5)
array([-0.31606028,  2.        ])""",
        """>>> rk.elu_grad(np.array([-np.inf, -1.0, 0.0, 2.0]))
array([0.        , 0.36787944, 1.        , 1.        ])""",
        """>>> rk.elu_backward(np.array([2.0, 2.0, 2.0]), np.array([-1.0, 0.0, 3.0]))
array([0.73575888, 2.        , 2.        ])""",
    ),
)

SELU = _docs(
    "selu",
    "Scaled exponential linear unit: ``scale * elu(x, alpha)`` with fixed constants.",
    """``selu(x) = scale * x`` for ``x > 0`` and ``scale * alpha * expm1(x)``
otherwise, with ``alpha = 1.6732632423543772848170429916717`` and ``scale =
1.0507009873554804934193349852946`` (Klambauer et al., 2017), as PyTorch,
JAX and Keras write them.""",
    """``selu(-inf) = -scale * alpha``, ``selu(inf) = inf``, NaN stays NaN.""",
    """``scale`` where ``x > 0``, else ``scale * alpha * exp(x)``; 0 at -inf.""",
    (
        """>>> rk.selu(np.array([-np.inf, -1.0, 0.0, 2.0]))
array([-1.75809934, -1.11133074,  0.        ,  2.10140197])""",
        """>>> rk.selu_grad(np.array([-1.0, 2.0]))
array([0.6467686 , 1.05070099])""",
        """>>> rk.selu_backward(np.array([1.0, 1.0]), np.array([-1.0, 2.0]))
array([0.6467686 , 1.05070099])""",
    ),
)

CELU = _docs(
    "celu",
    "Continuously differentiable ELU: `x` where ``x > 0``, else ``alpha * (exp(x / alpha) - 1)``.",
    """``celu(x) = x`` for ``x > 0`` and ``alpha * expm1(x / alpha)`` otherwise
(Barron, 2017): its derivative is 1 at 0 for every `alpha`. ``alpha`` must
be > 0 (PyTorch also accepts a negative one).""",
    """``celu(-inf) = -alpha``, ``celu(inf) = inf``, NaN stays NaN.""",
    """1 where ``x > 0``, else ``exp(x / alpha)``; 0 at -inf.""",
    (
        """>>> rk.celu(np.array([-np.inf, -1.0, 2.0]), alpha=2.0)
array([-2.        , -0.78693868,  2.        ])""",
        """>>> rk.celu_grad(np.array([-1.0, 0.0, 2.0]), alpha=2.0)
array([0.60653066, 1.        , 1.        ])""",
        """>>> rk.celu_backward(np.array([3.0, 3.0]), np.array([-1.0, 2.0]))
array([1.10363832, 3.        ])""",
    ),
)

GELU = _docs(
    "gelu",
    "Gaussian error linear unit: ``x * Phi(x)``, or its tanh approximation.",
    """With ``approximate='none'``, ``gelu(x) = x * Phi(x)``, ``Phi`` the standard
normal distribution function, evaluated as ``0.5 * x * erfc(-x / sqrt(2))``
(``1 + erf(.)`` loses every digit below -6). With ``approximate='tanh'``,
``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))`` (Hendrycks
and Gimpel, 2016), evaluated as ``x * sigmoid(2 * u)``, which does not
cancel. The names and default are PyTorch's; JAX's ``jax.nn.gelu``
defaults to the approximation.""",
    """``gelu(-inf) = 0`` (the naive formulas give ``-inf * 0 = NaN``),
``gelu(inf) = inf``, NaN stays NaN.""",
    """``Phi(x) + x * phi(x)`` (``phi`` the normal density), or the
derivative of the tanh approximation; 0 at -inf and 1 at inf.""",
    (
        """>>> rk.gelu(np.array([-np.inf, -1.0, 0.0, 1.0, np.inf]))
array([ 0.        , -0.15865525,  0.        ,  0.84134475,         inf])
>>> rk.gelu(np.array([-1.0, 1.0]), approximate="tanh")
array([-0.15880801,  0.84119199])""",
        """>>> rk.gelu_grad(np.array([-np.inf, -1.0, 0.0, 1.0, np.inf]))
array([ 0.        , -0.08331547,  0.5       ,  1.08331547,  1.        ])""",
        """>>> rk.gelu_backward(np.array([2.0, 2.0]), np.array([0.0, 1.0]))
array([1.        , 2.16663094])""",
    ),
)

SILU = _docs(
    "silu",
    "Sigmoid-weighted linear unit (swish): ``x * sigmoid(x)``.",
    """``silu(x) = x / (1 + exp(-x))`` (Elfwing et al., 2017; swish with
``beta = 1``), evaluated from ``exp(-|x|)`` so that nothing overflows.""",
    """``silu(-inf) = 0`` (not ``-inf * 0 = NaN``), ``silu(inf) = inf``, NaN
stays NaN.""",
    """``s * (1 + x * (1 - s))`` with ``s = sigmoid(x)``: 0 at -inf and 1 at
inf (where the naive product is ``inf * 0``).""",
    (
        """>>> rk.silu(np.array([-np.inf, -1.0, 0.0, 1.0, np.inf]))
array([ 0.        , -0.26894142,  0.        ,  0.73105858,         inf])""",
        """>>> rk.silu_grad(np.array([-np.inf, 0.0, 1.0, np.inf]))
array([0.        , 0.5       , 0.92767051, 1.        ])""",
        """>>> rk.silu_backward(np.array([2.0, 2.0]), np.array([0.0, 1.0]))
array([1.        , 1.85534102])""",
    ),
)

MISH = _docs(
    "mish",
    "Mish: ``x * tanh(softplus(x))``.",
    """``mish(x) = x * tanh(log(1 + exp(x)))`` (Misra, 2019), evaluated as a
ratio of polynomials in ``exp(-|x|)``, which neither overflows nor
cancels.""",
    """``mish(-inf) = 0``, ``mish(inf) = inf``, NaN stays NaN.""",
    """``t + x * (1 - t**2) * sigmoid(x)`` with ``t = tanh(softplus(x))``: 0 at
-inf and 1 at inf.""",
    (
        """>>> rk.mish(np.array([-np.inf, -1.0, 0.0, 1.0, np.inf]))
array([ 0.        , -0.30340146,  0.        ,  0.86509839,         inf])""",
        """>>> rk.mish_grad(np.array([-np.inf, 0.0, 1.0, np.inf]))
array([0.        , 0.6       , 1.04903622, 1.        ])""",
        """>>> rk.mish_backward(np.array([2.0, 2.0]), np.array([0.0, 1.0]))
array([1.2       , 2.09807244])""",
    ),
)

SOFTPLUS = _docs(
    "softplus",
    "Softplus: ``log(1 + exp(beta * x)) / beta``, linear above a threshold.",
    """``softplus(x) = log1p(exp(beta * x)) / beta``, and `x` itself where
``beta * x > threshold``, with PyTorch's parameters and defaults (``beta =
1``, ``threshold = 20``; JAX and Keras have neither: their softplus is
the smooth formula everywhere). The smooth part is evaluated as
``(max(bx, 0) + log1p(exp(-|bx|))) / beta``, which does not overflow
whatever `threshold` is.""",
    """``softplus(-inf) = 0``, ``softplus(inf) = inf``, NaN stays NaN.""",
    """``sigmoid(beta * x)``, and 1 where ``beta * x > threshold``.""",
    (
        """>>> rk.softplus(np.array([-np.inf, -1.0, 0.0, 1.0, 30.0, np.inf]))
array([ 0.        ,  0.31326169,  0.69314718,  1.31326169, 30.        ,
               inf])""",
        """>>> rk.softplus_grad(np.array([-np.inf, 0.0, 1.0, 30.0]))
array([0.        , 0.5       , 0.73105858, 1.        ])""",
        """>>> rk.softplus_backward(np.array([2.0, 2.0]), np.array([0.0, 1.0]))
array([1.        , 1.46211716])""",
    ),
)

HARDSWISH = _docs(
    "hardswish",
    "Hard swish: ``x * relu6(x + 3) / 6``.",
    """``hardswish(x) = 0`` for ``x <= -3``, `x` for ``x >= 3`` and ``x * (x +
3) / 6`` between (Howard et al., 2019, MobileNetV3).""",
    """``hardswish(-inf) = 0`` (PyTorch's ``x * min(max(x + 3, 0), 6) / 6``
gives NaN there), ``hardswish(inf) = inf``, NaN stays NaN.""",
    """0 up to -3, ``x / 3 + 0.5`` between -3 and 3, 1 from 3 up: at the kinks
the derivative of the flat piece, as PyTorch, JAX and Keras give.""",
    (
        """>>> rk.hardswish(np.array([-np.inf, -3.0, -1.0, 0.0, 1.0, 3.0, np.inf]))
array([ 0.        ,  0.        , -0.33333333,  0.        ,  0.66666667,
        3.        ,         inf])""",
        """>>> rk.hardswish_grad(np.array([-4.0, -3.0, 0.0, 3.0, 4.0]))
array([0. , 0. , 0.5, 1. , 1. ])""",
        """>>> rk.hardswish_backward(np.array([2.0, 2.0, np.inf]), np.array([0.0, 4.0, -5.0]))
array([1., 2., 0.])""",
    ),
)

SQUARED_RELU = _docs(
    "squared_relu",
    "Squared ReLU: ``relu(x) ** 2``.",
    """``squared_relu(x) = x**2`` for ``x > 0`` and 0 otherwise (So et al.,
2021, "Primer"; used in the feed-forward blocks of current language
models).""",
    """``squared_relu(-inf) = 0``, ``squared_relu(inf) = inf``, NaN stays NaN; it
overflows to inf from ``sqrt`` of the dtype's largest value.""",
    """``2 * x`` for ``x > 0`` and 0 otherwise (0 at the kink).""",
    (
        """>>> rk.squared_relu(np.array([-2.0, 0.0, 1.5, np.inf, np.nan]))
array([0.  , 0.  , 2.25,  inf,  nan])""",
        """>>> rk.squared_relu_grad(np.array([-2.0, 0.0, 1.5]))
array([0., 0., 3.])""",
        """>>> rk.squared_relu_backward(np.array([1.0, np.inf]), np.array([1.5, -1.0]))
array([3., 0.])""",
    ),
)
