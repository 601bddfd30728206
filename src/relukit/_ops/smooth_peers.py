"""What relukit's smooth rectifiers are compared with: the best spellings elsewhere.

For each activation, ``(forward, derivative, backward)`` peer factories,
each ``peers(mode) -> {label: callable}`` as ``Operation.peers`` expects,
with the operations' default parameters, in every mode:

* **NumPy/SciPy**: the formula written as a chain of ufuncs with ``out=``
  (SciPy's ``expit`` and ``erfc`` where SciPy is installed, slower NumPy
  spellings otherwise), so that each call allocates at most a temporary or
  two; every step but the last writes into scratch arrays, so the same
  chain runs allocating (into a new array), into ``out=y`` and in place
  (``out=x``, or ``out=dy`` for a backward pass). The labels name the
  functions that do the work (``np expm1 formula``); the formulas are
  below, one per activation.
* **PyTorch**: its own CPU kernels through ``torch.ops.aten`` (the ones
  ``torch.nn.functional`` and autograd call), on zero-copy views of the
  same arrays, with their ``out=`` and in-place forms where ATen has them.
  A derivative is ATen's backward operator applied to a tensor of ones
  (cached per shape and dtype), the fastest way to get it from PyTorch.

Every formula keeps the dtype of its inputs: constants are Python floats,
which NumPy casts to the array's dtype, so a float32 peer computes in
float32 like PyTorch. They agree with relukit to float32 rounding on
finite inputs, which ``tests`` do not check and the bench's authors did
once by hand; they do not reproduce relukit's care at +-inf or where the
naive formula cancels. One known difference: softplus and its
derivative take no threshold (``logaddexp(x, 0)`` is ``x`` to rounding
above 20).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from ._constants import INV_SQRT_2PI, SELU_ALPHA, SELU_SCALE, SQRT_HALF


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


class _Special(NamedTuple):
    """``expit(x, out=)`` and ``erfc(x, out=)``, and what the labels call them."""

    expit: Callable
    erfc: Callable
    #: Library of the label: ``"scipy"`` or ``"np"``.
    where: str


def _fallback_expit(x, out):
    # 1 / (1 + exp(-x)): exp overflows to inf for x < -88 (float32), which
    # gives the right limit 0.
    with np.errstate(over="ignore"):
        np.negative(x, out=out)
        np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


_vectorized_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _fallback_erfc(x, out):
    out[...] = _vectorized_erfc(x)
    return out


def _special() -> _Special:
    try:
        import scipy.special as special
    except ImportError:
        return _Special(_fallback_expit, _fallback_erfc, "np")
    return _Special(
        lambda x, out: special.expit(x, out=out), lambda x, out: special.erfc(x, out=out), "scipy"
    )


# --- the three modes of one formula ------------------------------------------------


def _numpy_modes(label: str, formula: Callable, mode: str) -> dict:
    """``{label: call}`` for ``mode`` from ``formula(*inputs, out) -> out``.

    ``formula`` reads the inputs before or in the ufunc that writes ``out``
    (its last step), so ``out`` may be the first input: in place.
    """
    if mode == "allocating":
        return {f"{label}": lambda *a: formula(*a, np.empty_like(a[0]))}
    if mode == "out":
        return {f"{label}, out=y": formula}
    target = "dy" if _arity(formula) == 3 else "x"
    return {f"{label}, out={target}": lambda *a: formula(*a, a[0])}


def _arity(formula) -> int:
    return formula.__code__.co_argcount


def _activation(numpy_formulas, torch_calls):
    """The three peer factories of one activation.

    ``numpy_formulas(special) -> ((label, forward), (label, grad))``, each
    ``formula(x, out)``; the backward pass is the derivative into a scratch
    array times ``dy``. ``torch_calls(torch) -> (forward, backward)`` names
    ATen operators: ``forward = (name, allocating, into, in_place)`` on a
    tensor ``t`` (``into(t, out)``; None where ATen has no such form),
    ``backward = (name, allocating, into)`` on ``(dy, t)``
    (``into(dy, t, out)``).
    """

    def forward(mode):
        (label, formula), _ = numpy_formulas(_special())
        peers = _numpy_modes(label, formula, mode)
        torch = _torch()
        if torch is not None:
            (name, allocating, into, in_place), _ = torch_calls(torch)
            t = torch.from_numpy
            if mode == "allocating":
                peers[f"torch {name}(x)"] = lambda x: allocating(t(x))
            elif mode == "out" and into is not None:
                peers[f"torch {name}(x, out=y)"] = lambda x, out: into(t(x), t(out))
            elif mode == "in_place" and in_place is not None:
                peers[f"torch {name}_(x)"] = lambda x: in_place(t(x))
        return peers

    def grad(mode):
        _, (label, formula) = numpy_formulas(_special())
        peers = _numpy_modes(label, formula, mode)
        torch = _torch()
        if torch is not None:
            _, (name, allocating, into) = torch_calls(torch)
            t, ones = torch.from_numpy, _ones_like(torch)
            if mode == "allocating":
                peers[f"torch {name}(1, x)"] = lambda x: allocating(ones(t(x)), t(x))
            elif into is not None:
                where = "y" if mode == "out" else "x"
                peers[f"torch {name}(1,x,out={where})"] = (
                    (lambda x, out: into(ones(t(x)), t(x), t(out)))
                    if mode == "out"
                    else (lambda x: into(ones(t(x)), t(x), t(x)))
                )
        return peers

    def backward(mode):
        _, (label, grad_formula) = numpy_formulas(_special())

        def formula(dy, x, out):
            scratch = grad_formula(x, np.empty_like(x))
            return np.multiply(dy, scratch, out=out)

        peers = _numpy_modes(f"dy*{label}", formula, mode)
        torch = _torch()
        if torch is not None:
            _, (name, allocating, into) = torch_calls(torch)
            t = torch.from_numpy
            if mode == "allocating":
                peers[f"torch {name}(dy, x)"] = lambda dy, x: allocating(t(dy), t(x))
            elif into is not None:
                if mode == "out":
                    peers[f"torch {name}, out=y"] = lambda dy, x, out: into(t(dy), t(x), t(out))
                else:
                    peers[f"torch {name}, out=dy"] = lambda dy, x: into(t(dy), t(x), t(dy))
        return peers

    return forward, grad, backward


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


def _aten(torch, name):
    return getattr(torch.ops.aten, name)


def _aten_forward(torch, name):
    """The forward entry of ``torch_calls`` for an ATen operator without parameters.

    ``(name, allocating, into, in_place)`` from ``aten.name``, its ``.out``
    overload and ``aten.name_``, written once for gelu, silu, mish and
    hardswish, whose operators have all three forms and take the tensor
    alone (ELU's and softplus's take parameters and spell out their own).
    """
    op = _aten(torch, name)
    return (name, op, lambda t, out: op.out(t, out=out), _aten(torch, f"{name}_"))


# --- ELU, SELU, CELU: one formula, max(x, 0) + alpha * expm1(min(x, 0)) ---------------
# scale * (max(x, 0) + alpha * expm1(min(x, 0) * input_scale)): min and max
# split the two pieces without a mask. The derivative exp(min(x, 0) * s)
# is already right for x > 0 (exp(0) = 1) when scale * alpha * s = 1,
# as for ELU and CELU with their default alpha of 1; SELU's needs a mask.


def _elu_like(alpha, scale, input_scale, torch_name):
    def numpy_formulas(special):
        def forward(x, out):
            negative = np.minimum(x, 0.0)
            if input_scale != 1.0:
                negative *= input_scale
            np.expm1(negative, out=negative)
            negative *= alpha * scale
            np.maximum(x, 0.0, out=out)
            if scale != 1.0:
                out *= scale
            return np.add(out, negative, out=out)

        if scale * alpha * input_scale == 1.0:

            def grad(x, out):
                np.minimum(x, 0.0, out=out)
                if input_scale != 1.0:
                    out *= input_scale
                return np.exp(out, out=out)

        else:

            def grad(x, out):
                positive = x > 0
                np.minimum(x, 0.0, out=out)
                if input_scale != 1.0:
                    out *= input_scale
                np.exp(out, out=out)
                out *= scale * alpha * input_scale
                np.copyto(out, scale, where=positive)
                return out

        return ("np expm1 formula", forward), ("np exp formula", grad)

    def torch_calls(torch):
        elu, elu_, backward = _aten(torch, "elu"), _aten(torch, "elu_"), _aten(torch, "elu_backward")
        return (
            (
                torch_name,
                lambda t: elu(t, alpha, scale, input_scale),
                lambda t, out: elu.out(t, alpha, scale, input_scale, out=out),
                lambda t: elu_(t, alpha, scale, input_scale),
            ),
            (
                "elu_backward",
                lambda dy, t: backward(dy, alpha, scale, input_scale, False, t),
                lambda dy, t, out: backward.grad_input(
                    dy, alpha, scale, input_scale, False, t, grad_input=out
                ),
            ),
        )

    return _activation(numpy_formulas, torch_calls)


# PyTorch computes all three with its elu kernel (F.selu and F.celu call it).
ELU = _elu_like(1.0, 1.0, 1.0, "elu")
SELU = _elu_like(SELU_ALPHA, SELU_SCALE, 1.0, "elu[selu]")
CELU = _elu_like(1.0, 1.0, 1.0, "elu[celu]")


# --- GELU: 0.5 * x * erfc(-x / sqrt(2)) ---------------------------------------------------
# erfc(-z), not 1 + erf(z): the same cost, without cancellation for x < 0.
# Derivative: 0.5 * erfc(-x / sqrt(2)) + x * exp(-x**2 / 2) / sqrt(2 * pi).


def _gelu_numpy(special):
    def forward(x, out):
        phi = np.multiply(x, -SQRT_HALF)
        special.erfc(phi, phi)
        phi *= 0.5
        return np.multiply(x, phi, out=out)

    def grad(x, out):
        cdf = np.multiply(x, -SQRT_HALF)
        special.erfc(cdf, cdf)
        cdf *= 0.5
        pdf = np.square(x)
        pdf *= -0.5
        np.exp(pdf, out=pdf)
        pdf *= INV_SQRT_2PI
        pdf *= x
        return np.add(cdf, pdf, out=out)

    return (f"{special.where} erfc formula", forward), (f"{special.where} erfc+exp formula", grad)


def _gelu_torch(torch):
    backward = _aten(torch, "gelu_backward")
    return (
        _aten_forward(torch, "gelu"),
        ("gelu_backward", backward, lambda dy, t, out: backward.grad_input(dy, t, grad_input=out)),
    )


GELU = _activation(_gelu_numpy, _gelu_torch)


# --- SiLU: x * expit(x); derivative s * (1 + x * (1 - s)), s = expit(x) ------------------


def _silu_numpy(special):
    def forward(x, out):
        s = special.expit(x, np.empty_like(x))
        return np.multiply(x, s, out=out)

    def grad(x, out):
        s = special.expit(x, np.empty_like(x))
        u = np.subtract(1.0, s)
        u *= x
        u += 1.0
        return np.multiply(s, u, out=out)

    label = f"{special.where} expit formula"
    return (label, forward), (label, grad)


def _silu_torch(torch):
    backward = _aten(torch, "silu_backward")
    return (
        _aten_forward(torch, "silu"),
        ("silu_backward", backward, lambda dy, t, out: backward.grad_input(dy, t, grad_input=out)),
    )


SILU = _activation(_silu_numpy, _silu_torch)


# --- Mish: x * tanh(logaddexp(x, 0)); derivative t + x * (1 - t**2) * expit(x) ------------


def _mish_numpy(special):
    def forward(x, out):
        t = np.logaddexp(x, 0.0)
        np.tanh(t, out=t)
        return np.multiply(x, t, out=out)

    def grad(x, out):
        t = np.logaddexp(x, 0.0)
        np.tanh(t, out=t)
        u = np.square(t)
        np.subtract(1.0, u, out=u)
        u *= x
        u *= special.expit(x, np.empty_like(x))
        return np.add(t, u, out=out)

    return ("np logaddexp+tanh formula", forward), (f"tanh+{special.where} expit formula", grad)


def _mish_torch(torch):
    # ATen's mish_backward has no out= form.
    return (
        _aten_forward(torch, "mish"),
        ("mish_backward", _aten(torch, "mish_backward"), None),
    )


MISH = _activation(_mish_numpy, _mish_torch)


# --- Softplus: logaddexp(x, 0); derivative expit(x) -----------------------------------------
# Without PyTorch's threshold of 20 above which the result is x: there the
# two differ by under exp(-20), below float32's rounding (and 1e-9 relative
# in float64), so a NumPy user has no reason to pay for a select.


def _softplus_numpy(special):
    def forward(x, out):
        return np.logaddexp(x, 0.0, out=out)

    def grad(x, out):
        return special.expit(x, out)

    expit = "scipy.special.expit(x)" if special.where == "scipy" else "np 1/(1+exp(-x))"
    return ("np.logaddexp(x, 0)", forward), (expit, grad)


def _softplus_torch(torch):
    softplus, backward = _aten(torch, "softplus"), _aten(torch, "softplus_backward")
    # ATen has no in-place softplus.
    return (
        (
            "softplus",
            lambda t: softplus(t, 1.0, 20.0),
            lambda t, out: softplus.out(t, 1.0, 20.0, out=out),
            None,
        ),
        (
            "softplus_backward",
            lambda dy, t: backward(dy, t, 1.0, 20.0),
            lambda dy, t, out: backward.grad_input(dy, t, 1.0, 20.0, grad_input=out),
        ),
    )


SOFTPLUS = _activation(_softplus_numpy, _softplus_torch)


# --- Hardswish: x * clip(x + 3, 0, 6) / 6; derivative x / 3 + 1/2 on (-3, 3) ----------------
# At the kinks the derivative is 0 at -3 and 1 at 3, as PyTorch's kernel.


def _hardswish_numpy(special):
    def forward(x, out):
        ramp = np.add(x, 3.0)
        np.clip(ramp, 0.0, 6.0, out=ramp)
        ramp *= 1.0 / 6.0
        return np.multiply(x, ramp, out=out)

    def grad(x, out):
        g = np.multiply(x, 1.0 / 3.0)
        g += 0.5
        np.copyto(g, 0.0, where=x <= -3.0)
        np.copyto(g, 1.0, where=x >= 3.0)
        np.copyto(out, g)
        return out

    return ("np clip formula", forward), ("np piecewise formula", grad)


def _hardswish_torch(torch):
    backward = _aten(torch, "hardswish_backward")
    return (
        _aten_forward(torch, "hardswish"),
        ("hardswish_backward", backward, lambda dy, t, out: backward.out(dy, t, out=out)),
    )


HARDSWISH = _activation(_hardswish_numpy, _hardswish_torch)


# --- Squared ReLU: max(x, 0)**2; derivative 2 * max(x, 0) -----------------------------------
# PyTorch has no kernel of its own: the fastest spellings are relu then an
# in-place square or doubling.


def _squared_relu_numpy(special):
    def forward(x, out):
        np.maximum(x, 0.0, out=out)
        return np.square(out, out=out)

    def grad(x, out):
        np.maximum(x, 0.0, out=out)
        out *= 2.0
        return out

    return ("np maximum+square", forward), ("np maximum, *2", grad)


def _squared_relu_torch(torch):
    def grad_of(dy, t):
        return torch.relu(t).mul_(2.0).mul_(dy)

    return (
        (
            "relu+square",
            lambda t: torch.relu(t).square_(),
            lambda t, out: torch.square(torch.relu(t), out=out),
            lambda t: torch.relu_(t).square_(),
        ),
        (
            "relu*2*dy",
            grad_of,
            lambda dy, t, out: torch.mul(torch.relu(t).mul_(2.0), dy, out=out),
        ),
    )


SQUARED_RELU = _activation(_squared_relu_numpy, _squared_relu_torch)
