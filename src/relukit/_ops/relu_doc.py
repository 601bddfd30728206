"""The docstring pieces of relu, relu_grad and relu_backward (see ``relu.py``)."""

from __future__ import annotations

from ._declare import Doc

_X = """x : array_like
    Input: a NumPy array (or anything ``np.asarray`` accepts), a CuPy
    array or a Dask array; float16, float32, float64, or any integer dtype
    with the default parameters."""

_KERAS_NOTES = """With the Keras parameters, as ``keras.activations.relu`` computes:

- ``negative_slope * (x - threshold)`` where ``x <= threshold`` (exactly 0
  when the slope is 0, even at -inf);
- ``min(x, max_value)`` where ``x > threshold``;

so when ``threshold > max_value``, inputs in ``[max_value, threshold]``
take the negative piece. `x` is compared with `threshold` and `max_value`
rounded to `x`'s dtype, as Keras, PyTorch and JAX compare. The pieces are
evaluated in float64 from the parameters rounded to the result dtype and
rounded once to the result dtype (float16 is never rounded twice)."""

RELU_DOC = Doc(
    summary="Rectified linear unit, ``max(x, 0)``, and its Keras variants.",
    inputs=_X,
    returns="""ndarray
    `out` if given, else a new array with the shape and dtype of `x`, laid
    out in memory like NumPy's elementwise results (following `x`). A NumPy
    scalar when `x` is 0-d (or a Python scalar) and `out` is not given, as
    with NumPy's ufuncs.""",
    raises="",
    see_also="""relu_grad : The derivative.
relu_backward : The fused backward pass, ``dy * relu_grad(x)``.""",
    notes="""With the default parameters the result is ``max(x, 0)`` elementwise:
``relu(nan)`` is NaN (NumPy, PyTorch and JAX agree; the formula
``x * (x > 0)`` gets this wrong), ``relu(inf)`` is inf, ``relu(-inf)`` is 0
and ``relu(-0.0) == 0`` (the sign of a zero result is not specified).

""" + _KERAS_NOTES + """ NaN stays NaN.""",
    examples=""">>> import numpy as np
>>> import relukit as rk
>>> rk.relu(np.array([-2.0, -0.5, 0.0, 1.5, np.nan]))
array([0. , 0. , 0. , 1.5, nan])
>>> rk.relu(np.array([-2.0, 3.0, 8.0]), negative_slope=0.1, max_value=6.0)
array([-0.2,  3. ,  6. ])
>>> rk.relu(np.array([6.0, 6.5, 7.0]), negative_slope=0.1, max_value=6.0, threshold=7.0)
array([-0.1 , -0.05,  0.  ])
>>> x = np.array([-1, 2, -3], dtype=np.int32)
>>> rk.relu(x, out=x)
array([0, 2, 0], dtype=int32)
>>> print(rk.relu(-3.5))  # a scalar in, a NumPy scalar out
0.0""",
)

GRAD_DOC = Doc(
    summary="Derivative of :func:`relu` with respect to its input.",
    inputs=_X.replace("Input:", "The input of the forward pass:"),
    returns="""ndarray
    `negative_slope` where ``x <= threshold``; where ``x > threshold``, 1
    below `max_value` and 0 from `max_value` up; 0 at NaN; in the dtype of
    `x`.""",
    raises="",
    see_also="""relu : The function itself.
relu_backward : ``dy * relu_grad(x)`` in one pass.""",
    notes="""The gradient at the kink ``x == threshold`` is `negative_slope` (0 for
plain ReLU: the subgradient chosen by NumPy's ``np.greater(x, 0)``,
TensorFlow, JAX and PyTorch). The gradient at NaN is 0, as in TensorFlow
and JAX; PyTorch's ``threshold_backward`` passes the incoming gradient
through at NaN instead.""",
    examples=""">>> import numpy as np
>>> import relukit as rk
>>> rk.relu_grad(np.array([-1.0, 0.0, 2.0, np.nan]))
array([0., 0., 1., 0.])
>>> rk.relu_grad(np.array([-1.0, 3.0, 7.0]), negative_slope=0.1, max_value=6.0)
array([0.1, 1. , 0. ])""",
)

BACKWARD_DOC = Doc(
    summary="Backward pass of :func:`relu`: ``dy * relu_grad(x)`` in one fused pass.",
    inputs="""dy : array_like
    Gradient of the loss with respect to the output of :func:`relu`;
    float16, float32 or float64.
x : array_like
    The input of the forward pass, same shape as `dy`. Where the forward
    output ``y = relu(x)`` orders like `x` around the kinks, it may be
    passed instead (see Notes), so a network need not keep `x`.""",
    returns="""ndarray
    The gradient with respect to `x`, in the dtype of `dy`.""",
    raises="",
    see_also="""relu : The forward function.
relu_grad : The derivative alone.""",
    notes="""The result is a select, not a product: ``dy`` where the gradient is 1,
``negative_slope * dy`` on the negative piece, and exactly 0 where the
gradient is 0 (at and below the kink for plain ReLU, from `max_value` up,
at NaN in `x`), even where `dy` is inf or NaN. PyTorch's
``threshold_backward`` selects the same way (but passes `dy` through where
`x` is NaN).

With ``threshold == 0``, passing ``y = relu(x)`` for `x` gives the same
result for every `x` and `dy` exactly when ``negative_slope >= 0`` and,
if there is both a slope and a `max_value`, ``max_value > 0`` (in `x`'s
dtype): then ``y > 0`` exactly where ``x > 0``, ``y <= 0`` exactly where
``x <= 0`` (a product that underflows to -0.0 still compares ``<= 0``)
and ``y >= max_value`` exactly where ``x >= max_value``. The tests pin
this condition.""",
    examples=""">>> import numpy as np
>>> import relukit as rk
>>> x = np.array([-1.0, 0.0, 2.0, 3.0])
>>> dy = np.array([10.0, 10.0, 10.0, np.inf])
>>> rk.relu_backward(dy, x)
array([ 0.,  0., 10., inf])
>>> rk.relu_backward(dy, rk.relu(x))  # the forward output works too
array([ 0.,  0., 10., inf])""",
)

