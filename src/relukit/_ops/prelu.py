"""PReLU: ReLU with a learnable slope per channel (prelu, prelu_grad, prelu_backward).

PyTorch's layout: ``weight`` holds one slope, or one per entry of the
channel axis of ``x`` (``axis``, default 1; ``axis=None``: one slope per
element, ``weight`` shaped like ``x``). The dispatch broadcasts ``weight``
along that axis (``Operation.channel_inputs``), so every backend sees
same-shaped inputs and the kernels below are elementwise:

- ``x`` where ``x > 0``, else ``weight * x`` (exactly 0 where the slope is
  0, even at -inf, as ``relu``'s zero slope);
- the derivative: 1 where ``x > 0``, else the slope (PyTorch's choice at 0
  and at NaN);
- the backward pass returns ``dy`` times that, a select as in
  ``relu_backward``, and the weight's gradient: the sum of ``x * dy`` where
  ``x <= 0`` over every axis but the channel (``Operation.channel_gradient``).

Products are formed in float64 from the exact values of both operands and
rounded once into the result's dtype.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._declare import ChannelGradient, Doc, Operation, Parameter, Variant

# --- the parameter ---------------------------------------------------------------


def _check_axis(function, value):
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{function}(): axis must be an int or None, got {type(value).__name__} {value!r}")
    return int(value)


AXIS = Parameter(
    "axis",
    1,
    "int or None, default 1",
    "The channel axis of `x` that `weight` runs along (PyTorch's layout: 1);\n"
    "``None``: `weight` has the shape of `x`, one slope per element.",
    _check_axis,
)


def _scalars(values, x_dtype, result_dtype):
    return 0.0, 0.0, 0.0


def _choose(values):
    return "plain"


# --- kernel bodies: see relu.py for the conventions --------------------------------


def prelu(x, w, a, b, c):
    v = np.float64(x)
    if v > 0.0:
        return v
    s = np.float64(w)
    return s * v if s != 0.0 else 0.0


def prelu_grad(x, w, a, b, c):
    return 1.0 if np.float64(x) > 0.0 else np.float64(w)


def prelu_backward(dy, x, w, a, b, c):
    if np.float64(x) > 0.0:
        return np.float64(dy)
    s = np.float64(w)
    return s * np.float64(dy) if s != 0.0 else 0.0


def _ref_prelu(x, w, a, b, c):
    v, s = x.astype(np.float64), w.astype(np.float64)
    with np.errstate(invalid="ignore"):
        negative = np.where(s != 0.0, s * v, 0.0)
    return np.where(v > 0, v, negative)


def _ref_prelu_grad(x, w, a, b, c):
    return np.where(x.astype(np.float64) > 0, 1.0, w.astype(np.float64))


def _ref_prelu_backward(dy, x, w, a, b, c):
    d, s = dy.astype(np.float64), w.astype(np.float64)
    with np.errstate(invalid="ignore"):
        negative = np.where(s != 0.0, s * d, 0.0)
    return np.where(x.astype(np.float64) > 0, d, negative)


def weight_term(dy, x):
    """One element's contribution to the weight's gradient."""
    v = np.float64(x)
    return 0.0 if v > 0.0 else v * np.float64(dy)


def _ref_weight_terms(dy, x, xp):
    v = x.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # inf * 0, as the kernels
        return xp.where(v > 0, 0.0, v * dy.astype(np.float64))


_CUDA_PRELU = """
    const double v = relukit_widen(x);
    const double s = relukit_widen(weight);
    out = relukit_round<T>(v > 0.0 ? v : relukit_scale(s, v))
"""
_CUDA_GRAD = "out = relukit_round<T>(relukit_widen(x) > 0.0 ? 1.0 : relukit_widen(weight))"
_CUDA_BACKWARD = """
    const double d = relukit_widen(dy);
    out = relukit_round<D>(relukit_widen(x) > 0.0 ? d : relukit_scale(relukit_widen(weight), d))
"""

# --- docs ----------------------------------------------------------------------------

_WEIGHT = """weight : array_like
    The slopes: one (a scalar or 1 element), or one per entry of `x` along
    `axis` (a 1-D array of length ``x.shape[axis]``); with ``axis=None``,
    an array of the shape of `x`. float16, float32 or float64."""

_X = """x : array_like
    Input: a NumPy array (or anything ``np.asarray`` accepts), a CuPy
    array or a Dask array; float16, float32 or float64."""

_NOTES = """Where `x` is NaN the result is NaN; a slope of exactly 0 gives 0 even at
-inf (as ``relu``). The product is formed in float64 from the exact values
of `x` and the slope and rounded once to the dtype of `x`, whatever the
dtype of `weight`."""

PRELU_DOC = Doc(
    summary="Parametric ReLU: `x` where ``x > 0``, else ``weight * x`` per channel.",
    inputs=_X + "\n" + _WEIGHT,
    returns="""ndarray
    `out` if given, else a new array with the shape and dtype of `x`.""",
    raises="""ValueError
    If `weight` has neither 1 element nor ``x.shape[axis]`` (or the shape
    of `x` with ``axis=None``), or `axis` is out of range for `x`.""",
    see_also="""prelu_grad : The derivative with respect to `x`.
prelu_backward : The gradients with respect to `x` and `weight`.
relu : With one fixed slope (``negative_slope``).""",
    notes="""As ``torch.nn.functional.prelu``, with the channel axis as a parameter:
for an `x` of fewer than ``axis + 1`` dimensions `weight` must have one
element, as PyTorch requires for 1-D inputs.

""" + _NOTES,
    examples=""">>> import numpy as np
>>> import relukit as rk
>>> x = np.array([[-2.0, 3.0], [-4.0, -1.0]])
>>> rk.prelu(x, np.array([0.25]))
array([[-0.5 ,  3.  ],
       [-1.  , -0.25]])
>>> rk.prelu(x, np.array([0.1, 0.5]))  # a slope per column (axis 1)
array([[-0.2,  3. ],
       [-0.4, -0.5]])
>>> rk.prelu(x, np.array([0.1, 0.5]), axis=0)  # a slope per row
array([[-0.2,  3. ],
       [-2. , -0.5]])""",
)

PRELU_GRAD_DOC = Doc(
    summary="Derivative of :func:`prelu` with respect to `x`.",
    inputs=_X.replace("Input:", "The input of the forward pass:") + "\n" + _WEIGHT,
    returns="""ndarray
    1 where ``x > 0``, else the slope of the element's channel (also at 0
    and NaN, as PyTorch), in the dtype of `x`.""",
    raises=PRELU_DOC.raises,
    see_also="""prelu : The function itself.
prelu_backward : Both gradients in one call.""",
    notes=_NOTES,
    examples=""">>> import numpy as np
>>> import relukit as rk
>>> rk.prelu_grad(np.array([[-2.0, 3.0], [0.0, 1.0]]), np.array([0.1, 0.5]))
array([[0.1, 1. ],
       [0.1, 1. ]])""",
)

PRELU_BACKWARD_DOC = Doc(
    summary="Backward pass of :func:`prelu`: the gradients with respect to `x` and `weight`.",
    inputs="""dy : array_like
    Gradient of the loss with respect to the output of :func:`prelu`;
    float16, float32 or float64.
""" + _X.replace("Input:", "The input of the forward pass, same shape as `dy`:") + "\n" + _WEIGHT,
    returns="""dx : ndarray
    ``dy`` where ``x > 0``, else ``weight * dy`` (0 where the slope is 0,
    even where `dy` is inf or NaN), in the dtype of `dy`; written into
    `out` if given.
dweight : ndarray
    The sum of ``x * dy`` over the elements with ``x <= 0`` of each
    channel, accumulated in float64, with the shape and dtype of `weight`.""",
    raises=PRELU_DOC.raises,
    see_also="""prelu : The forward function.
prelu_grad : The derivative alone.""",
    notes="""`out` receives `dx` only. Array-likes are converted with ``np.asarray``
(two results do not fit NumPy's ufunc protocol, through which
:func:`prelu` keeps pandas labels and masks). The weight's gradient is a float64 sum of
per-element terms over every axis but the channel (NumPy's pairwise
summation on the CPU, the array library's own reduction on CuPy and
Dask): a second pass over `x` and `dy`, not fused with the first.

""" + _NOTES,
    examples=""">>> import numpy as np
>>> import relukit as rk
>>> x = np.array([[-2.0, 3.0], [-4.0, -1.0]])
>>> dx, dweight = rk.prelu_backward(np.ones_like(x), x, np.array([0.1, 0.5]))
>>> dx
array([[0.1, 1. ],
       [0.1, 0.5]])
>>> dweight  # column sums of x where x <= 0
array([-6., -1.])""",
)

# --- peers -------------------------------------------------------------------------------


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _prelu_peers(mode):
    torch = _torch()
    if mode != "allocating":
        return {}
    peers = {"np.where(x > 0, x, w * x)": lambda x, w: np.where(x > 0, x, w.reshape(1, -1) * x)}
    if torch:
        peers["torch prelu"] = lambda x, w: torch.nn.functional.prelu(torch.from_numpy(x), torch.from_numpy(w))
    return peers


def _grad_peers(mode):
    if mode != "allocating":
        return {}
    return {"np.where(x > 0, 1, w)": lambda x, w: np.where(x > 0, 1.0, w.reshape(1, -1)).astype(x.dtype)}


def _backward_peers(mode):
    torch = _torch()
    if mode != "allocating" or torch is None:
        return {}
    kernel = torch.ops.aten._prelu_kernel_backward
    return {
        "torch _prelu_kernel_backward": lambda dy, x, w: kernel(
            torch.from_numpy(dy), torch.from_numpy(x), torch.from_numpy(w).reshape(1, -1)
        )
    }


def _inputs(make):
    # Sample arrays are 2-D (rows, channels) or 1-D; one slope per channel.
    x = make(0)
    channels = x.shape[1] if x.ndim > 1 else 1
    # np.asarray: the sample may be an array-like (a DataFrame has dtypes).
    return x, np.linspace(0.05, 0.5, channels).astype(np.asarray(x).dtype)


def _backward_inputs(make):
    x, w = _inputs(make)
    return make(1), x, w


#: Only the default axis: the sample inputs have one slope per column
#: (``_inputs``); tests/test_prelu.py covers the other axes.
PARAMETER_SETS = {"plain": {}}

_COMMON = dict(
    parameters=(AXIS,),
    choose=_choose,
    scalars=_scalars,
    parameter_sets=PARAMETER_SETS,
    channel_inputs=("weight",),
)

PRELU = Operation(
    name="prelu",
    inputs=("x", "weight"),
    result_like="x",
    variants={"plain": Variant(_ref_prelu, prelu, _CUDA_PRELU)},
    traffic=2,
    doc=PRELU_DOC,
    peers=_prelu_peers,
    make_inputs=_inputs,
    **_COMMON,
)

PRELU_GRAD = Operation(
    name="prelu_grad",
    inputs=("x", "weight"),
    result_like="x",
    variants={"plain": Variant(_ref_prelu_grad, prelu_grad, _CUDA_GRAD)},
    traffic=2,
    doc=PRELU_GRAD_DOC,
    peers=_grad_peers,
    make_inputs=_inputs,
    **_COMMON,
)

PRELU_BACKWARD = Operation(
    name="prelu_backward",
    inputs=("dy", "x", "weight"),
    result_like="dy",
    variants={"plain": Variant(_ref_prelu_backward, prelu_backward, _CUDA_BACKWARD)},
    traffic=3,
    doc=PRELU_BACKWARD_DOC,
    peers=_backward_peers,
    make_inputs=_backward_inputs,
    channel_gradient=ChannelGradient(_ref_weight_terms, weight_term),
    **_COMMON,
)

OPERATIONS = (PRELU, PRELU_GRAD, PRELU_BACKWARD)
