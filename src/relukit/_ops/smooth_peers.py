"""What relukit's smooth rectifiers are compared with: the best spellings elsewhere.

For each activation, ``(forward, derivative, backward)`` peer factories,
each ``peers(mode) -> {label: callable}`` as ``Operation.peers`` expects:
the NumPy (SciPy where it has the function) formulation a NumPy user
writes, and PyTorch's own kernels (``torch.nn.functional`` and the ATen
backward operators), with their ``out=`` and in-place forms where PyTorch
has them. All with the operations' default parameters.
"""

from __future__ import annotations

import math

import numpy as np

SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _scipy_special():
    try:
        import scipy.special
    except ImportError:
        return None
    return scipy.special


def _sigmoid():
    special = _scipy_special()
    if special is not None:
        return special.expit
    return lambda x: 1.0 / (1.0 + np.exp(-x))


def _erf():
    special = _scipy_special()
    if special is not None:
        return special.erf
    return np.vectorize(math.erf, otypes=[np.float64])


def _ones_like(torch):
    """A cached tensor of ones like ``t``: the derivative as a backward pass of ones."""
    cache = {}

    def ones(t):
        key = (t.shape, t.dtype)
        if key not in cache:
            cache.clear()
            cache[key] = torch.ones_like(t)
        return cache[key]

    return ones


def _family(numpy_forward, numpy_grad, numpy_backward, torch_forward=None, torch_backward=None):
    """The three peer factories from NumPy formulas and PyTorch's operators.

    ``torch_forward(torch) -> (allocating, out, in_place)`` calls on
    tensors (None where PyTorch has no such form); ``torch_backward(torch)
    -> (allocating, out)`` calls ``(dy, x[, out])``.
    """

    def forward(mode):
        torch = _torch()
        peers = {}
        if mode == "allocating":
            peers[numpy_forward[0]] = numpy_forward[1]
        if torch and torch_forward:
            t = torch.from_numpy
            allocating, into, in_place = torch_forward(torch)
            if mode == "allocating":
                peers["torch (allocating)"] = lambda x: allocating(t(x))
            elif mode == "out" and into:
                peers["torch (out=y)"] = lambda x, out: into(t(x), t(out))
            elif mode == "in_place" and in_place:
                peers["torch (in place)"] = lambda x: in_place(t(x))
        return peers

    def grad(mode):
        torch = _torch()
        peers = {}
        if mode == "allocating":
            peers[numpy_grad[0]] = numpy_grad[1]
            if torch and torch_backward:
                t, ones = torch.from_numpy, _ones_like(torch)
                allocating, _ = torch_backward(torch)
                peers["torch backward(ones, x)"] = lambda x: allocating(ones(t(x)), t(x))
        return peers

    def backward(mode):
        torch = _torch()
        peers = {}
        if mode == "allocating":
            peers[numpy_backward[0]] = numpy_backward[1]
        if torch and torch_backward:
            t = torch.from_numpy
            allocating, into = torch_backward(torch)
            if mode == "allocating":
                peers["torch backward"] = lambda dy, x: allocating(t(dy), t(x))
            elif mode == "out" and into:
                peers["torch backward(out=y)"] = lambda dy, x, out: into(t(dy), t(x), t(out))
        return peers

    return forward, grad, backward


def _aten(torch, name):
    return getattr(torch.ops.aten, name)


# --- ELU, SELU, CELU: PyTorch computes all three with its elu kernel ------------


def _elu_like(alpha, scale, input_scale):
    def torch_forward(torch):
        elu = _aten(torch, "elu")
        return (
            lambda t: elu(t, alpha, scale, input_scale),
            lambda t, out: elu.out(t, alpha, scale, input_scale, out=out),
            lambda t: _aten(torch, "elu_")(t, alpha, scale, input_scale),
        )

    def torch_backward(torch):
        backward = _aten(torch, "elu_backward")
        return (
            lambda dy, x: backward(dy, alpha, scale, input_scale, False, x),
            lambda dy, x, out: backward.grad_input(
                dy, alpha, scale, input_scale, False, x, grad_input=out
            ),
        )

    return torch_forward, torch_backward


def _elu_numpy(alpha, scale, input_scale):
    def forward(x):
        return scale * np.where(x > 0, x, alpha * np.expm1(input_scale * x))

    def grad(x):
        return np.where(x > 0, scale, scale * alpha * input_scale * np.exp(input_scale * x))

    return forward, grad, lambda dy, x: dy * grad(x)


def _elu_family(alpha, scale, input_scale, spelled):
    forward, grad, backward = _elu_numpy(alpha, scale, input_scale)
    return _family(
        (f"np.where(x > 0, x, {spelled})", forward),
        ("np.where(x > 0, 1, exp(x)) formula", grad),
        ("dy * derivative formula", backward),
        *_elu_like(alpha, scale, input_scale),
    )


ELU = _elu_family(1.0, 1.0, 1.0, "np.expm1(x))")
SELU = _elu_family(SELU_ALPHA, SELU_SCALE, 1.0, "alpha * np.expm1(x)) * scale")
CELU = _elu_family(1.0, 1.0, 1.0, "alpha * np.expm1(x / alpha))")


# --- GELU -----------------------------------------------------------------------------


def _gelu_numpy():
    erf = _erf()

    def forward(x):
        return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))

    def grad(x):
        return 0.5 * (1.0 + erf(x / np.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)

    return forward, grad


def _gelu_torch_forward(torch):
    gelu = _aten(torch, "gelu")
    return gelu, lambda t, out: gelu.out(t, out=out), _aten(torch, "gelu_")


def _gelu_torch_backward(torch):
    backward = _aten(torch, "gelu_backward")
    return backward, lambda dy, x, out: backward.grad_input(dy, x, grad_input=out)


_gelu_forward, _gelu_grad = _gelu_numpy()
GELU = _family(
    ("0.5 * x * (1 + erf(x / sqrt(2)))", _gelu_forward),
    ("Phi(x) + x * phi(x) formula", _gelu_grad),
    ("dy * derivative formula", lambda dy, x: dy * _gelu_grad(x)),
    _gelu_torch_forward,
    _gelu_torch_backward,
)


# --- SiLU, Mish, Softplus ---------------------------------------------------------------


def _silu_forward(x):
    return x * _sigmoid()(x)


def _silu_grad(x):
    s = _sigmoid()(x)
    return s * (1.0 + x * (1.0 - s))


SILU = _family(
    ("x * expit(x)", _silu_forward),
    ("s * (1 + x * (1 - s)), s = expit(x)", _silu_grad),
    ("dy * derivative formula", lambda dy, x: dy * _silu_grad(x)),
    lambda torch: (
        _aten(torch, "silu"),
        lambda t, out: _aten(torch, "silu").out(t, out=out),
        _aten(torch, "silu_"),
    ),
    lambda torch: (
        _aten(torch, "silu_backward"),
        lambda dy, x, out: _aten(torch, "silu_backward").grad_input(dy, x, grad_input=out),
    ),
)


def _mish_forward(x):
    return x * np.tanh(np.logaddexp(x, 0.0))


def _mish_grad(x):
    t = np.tanh(np.logaddexp(x, 0.0))
    return t + x * (1.0 - t * t) * _sigmoid()(x)


MISH = _family(
    ("x * tanh(logaddexp(x, 0))", _mish_forward),
    ("t + x * (1 - t**2) * expit(x)", _mish_grad),
    ("dy * derivative formula", lambda dy, x: dy * _mish_grad(x)),
    lambda torch: (
        _aten(torch, "mish"),
        lambda t, out: _aten(torch, "mish").out(t, out=out),
        _aten(torch, "mish_"),
    ),
    lambda torch: (_aten(torch, "mish_backward"), None),
)


def _softplus_forward(x):
    return np.where(x > 20.0, x, np.logaddexp(x, 0.0))


def _softplus_grad(x):
    return np.where(x > 20.0, 1.0, _sigmoid()(x))


SOFTPLUS = _family(
    ("np.logaddexp(x, 0) (linear above 20)", _softplus_forward),
    ("expit(x) (1 above 20)", _softplus_grad),
    ("dy * derivative formula", lambda dy, x: dy * _softplus_grad(x)),
    lambda torch: (
        lambda t: _aten(torch, "softplus")(t, 1.0, 20.0),
        lambda t, out: _aten(torch, "softplus").out(t, 1.0, 20.0, out=out),
        None,
    ),
    lambda torch: (
        lambda dy, x: _aten(torch, "softplus_backward")(dy, x, 1.0, 20.0),
        lambda dy, x, out: _aten(torch, "softplus_backward").grad_input(
            dy, x, 1.0, 20.0, grad_input=out
        ),
    ),
)


# --- Hardswish, squared ReLU ---------------------------------------------------------------


def _hardswish_forward(x):
    return x * np.clip(x + 3.0, 0.0, 6.0) / 6.0


def _hardswish_grad(x):
    return np.where(x < -3.0, 0.0, np.where(x <= 3.0, x / 3.0 + 0.5, 1.0))


HARDSWISH = _family(
    ("x * clip(x + 3, 0, 6) / 6", _hardswish_forward),
    ("np.where piecewise", _hardswish_grad),
    ("dy * derivative formula", lambda dy, x: dy * _hardswish_grad(x)),
    lambda torch: (
        _aten(torch, "hardswish"),
        lambda t, out: _aten(torch, "hardswish").out(t, out=out),
        _aten(torch, "hardswish_"),
    ),
    lambda torch: (_aten(torch, "hardswish_backward"), None),
)


def _squared_relu_forward(x):
    return np.square(np.maximum(x, 0))


def _squared_relu_grad(x):
    return 2 * np.maximum(x, 0)


SQUARED_RELU = _family(
    ("np.square(np.maximum(x, 0))", _squared_relu_forward),
    ("2 * np.maximum(x, 0)", _squared_relu_grad),
    ("dy * 2 * np.maximum(x, 0)", lambda dy, x: dy * _squared_relu_grad(x)),
    lambda torch: (
        lambda t: torch.square(torch.relu(t)),
        lambda t, out: torch.square(torch.relu(t), out=out),
        lambda t: torch.relu_(t).square_(),
    ),
    lambda torch: (lambda dy, x: dy * 2 * torch.relu(x), None),
)
