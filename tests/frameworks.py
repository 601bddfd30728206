"""What PyTorch, JAX and Keras 3 compute for relukit's functions, found by running them.

Three parts, all data a test or the docs can read:

* :data:`PARAMETER_SETS` and :func:`decided`: the parameter sets the
  comparison sweeps and relukit's decided semantics, computed here in
  float64 NumPy independently of ``src/`` (the piece in float64 from the
  parameters rounded to ``x``'s dtype, rounded once into the result dtype).
* :func:`spelling` and :func:`oracle`: how each framework writes a
  parameter set (``None`` when it cannot), and the framework's result for
  ``relu``, ``relu_grad`` or ``relu_backward`` on NumPy inputs. Gradients
  come from the framework's own differentiation: ``torch.autograd.grad``
  (and ``torch.ops.aten.threshold_backward``, the kernel autograd calls
  for ``relu`` and ``threshold``), ``jax.vjp`` for JAX and for Keras
  (``keras.activations.relu`` on the JAX backend).
* :data:`TOLERANCES` and :data:`DIFFERENCES`: where a comparison allows
  rounding, and every deliberate difference between a framework and
  relukit, with the inputs it covers and an example that shows it.
  ``tests/test_frameworks.py`` fails on a disagreement no record covers and
  on a record whose example no longer differs; the docs' semantics page
  renders both lists.

Importing this module imports NumPy only: the frameworks load on first use,
so the docs build without them.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from typing import Callable, NamedTuple, Optional, Tuple

import numpy as np

FUNCTIONS = ("relu", "relu_grad", "relu_backward")
#: The rest of the rectifier family, each with ``_grad`` and ``_backward``.
FAMILY = ("elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "hardswish", "squared_relu")
FAMILY_FUNCTIONS = tuple(f"{op}{suffix}" for op in FAMILY for suffix in ("", "_grad", "_backward"))
FRAMEWORKS = ("PyTorch", "JAX", "Keras")
#: The modules a framework's oracle needs, for ``pytest.importorskip``.
REQUIRES = {"PyTorch": ("torch",), "JAX": ("jax",), "Keras": ("jax", "keras")}


def parameters(negative_slope=0.0, max_value=None, threshold=0.0):
    return {"negative_slope": negative_slope, "max_value": max_value, "threshold": threshold}


PARAMETER_SETS = {
    "plain": parameters(),
    "leaky_0.1": parameters(negative_slope=0.1),
    "leaky_0.55": parameters(negative_slope=0.55),
    "relu6": parameters(max_value=6.0),
    "threshold_0.1": parameters(threshold=0.1),
    "threshold_1": parameters(threshold=1.0),
    "threshold_-0.5": parameters(threshold=-0.5),
    # float16(0.7) > 0.7: where comparing in float16 and in float32 differ.
    "threshold_0.7": parameters(threshold=0.7),
    "clip_threshold_-0.5": parameters(max_value=6.0, threshold=-0.5),
    "all": parameters(negative_slope=0.1, max_value=6.0, threshold=0.1),
    "threshold_above_max": parameters(negative_slope=0.1, max_value=6.0, threshold=7.0),
}


#: The defaults of each family operation, which every parameter set completes.
FAMILY_DEFAULTS = {
    "elu": {"alpha": 1.0},
    "celu": {"alpha": 1.0},
    "gelu": {"approximate": "none"},
    "softplus": {"beta": 1.0, "threshold": 20.0},
}

#: Parameter sets of the family, by operation: values every dtype holds
#: exactly, and one each for elu (alpha 0.3) and softplus (beta 0.7) that
#: float16 and float32 cannot hold, where relukit must round the parameter
#: to the dtype first as the frameworks convert a Python float.
FAMILY_PARAMETER_SETS = {
    op: {name: {**FAMILY_DEFAULTS.get(op, {}), **values} for name, values in sets.items()}
    for op, sets in {
        "elu": {"plain": {}, "alpha_0.5": {"alpha": 0.5}, "alpha_0.3": {"alpha": 0.3}},
        "selu": {"plain": {}},
        "celu": {"plain": {}, "alpha_2": {"alpha": 2.0}},
        "gelu": {"plain": {}, "tanh": {"approximate": "tanh"}},
        "silu": {"plain": {}},
        "mish": {"plain": {}},
        "softplus": {
            "plain": {},
            "beta_2": {"beta": 2.0, "threshold": 10.0},
            "beta_0.7": {"beta": 0.7},
        },
        "hardswish": {"plain": {}},
        "squared_relu": {"plain": {}},
    }.items()
}

#: Where the family's pieces meet or its formulas change: the kinks (0,
#: +-3), softplus' switches (threshold / beta: 20, 5, 20 / 0.7), the zeros of the derivatives
#: of gelu (erf and tanh), silu and mish, where 1 + erf and 1 + tanh
#: cancel in float32, and where exp, x**2 and x**3 overflow in each dtype.
FAMILY_POINTS = (
    3.0, 5.0, 6.0, 10.0, 14.0, 20.0, 0.7517916, 0.7522, 1.2784645, 1.1924,
    88.72283, 709.7827, 11.089866, 1.8446744e19, 1.3407807929942596e154, 2.6e-08,
    20 / 0.7,
)


def operation_of(function: str) -> str:
    """The operation a function belongs to: ``"gelu"`` for ``gelu_backward``."""
    for suffix in ("_grad", "_backward"):
        if function.endswith(suffix):
            return function[: -len(suffix)]
    return function


def parameter_sets(operation: str) -> dict:
    """The named parameter sets the comparison sweeps for ``operation``."""
    return PARAMETER_SETS if operation == "relu" else FAMILY_PARAMETER_SETS[operation]


def defaults(operation: str) -> dict:
    return parameters() if operation == "relu" else dict(FAMILY_DEFAULTS.get(operation, {}))


# --- the inputs ------------------------------------------------------------------


def _neighbours(value, dtype, count):
    """``value`` rounded to ``dtype`` and ``count`` floats on each side of it."""
    with np.errstate(over="ignore"):  # past the largest finite value: inf
        v = np.dtype(dtype).type(value)
        up = down = v
        found = [v]
        for _ in range(count):
            up, down = np.nextafter(up, np.inf, dtype=dtype), np.nextafter(down, -np.inf, dtype=dtype)
            found += [up, down]
    return found


def sample_inputs(dtype, around=(), seed=0, wide=0, count=20_000):
    """Values of ``x`` to compare on: every float16, or a dense sample of float32/float64.

    The sample has NaN, +-inf, +-0, the subnormals and the largest finite
    values, 8 floats on each side of +-each of ``around`` and of every
    threshold and max_value of :data:`PARAMETER_SETS` (rounded to
    ``dtype``), ``count`` random bit patterns (every exponent) and
    ``count`` uniform values in [-8, 8] (the pieces around the parameters), then
    ``wide`` uniform values in [-100, 100] (where the exponentials of the
    family underflow, overflow or switch formula).
    """
    dtype = np.dtype(dtype)
    if dtype == np.float16:
        return np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    info = np.finfo(dtype)
    points = {0.0, float(info.smallest_subnormal), float(info.smallest_normal), 1.0, float(info.max)}
    points.update(float(v) for v in around)
    for params in PARAMETER_SETS.values():
        points.update(v for v in (params["threshold"], params["max_value"]) if v is not None)
    near = [v for p in sorted(points) for sign in (1, -1) for v in _neighbours(sign * p, dtype, 8)]
    rng = np.random.default_rng(seed)
    bits = np.dtype(f"u{dtype.itemsize}")
    patterns = rng.integers(0, np.iinfo(bits).max, count, dtype=bits, endpoint=True).view(dtype)
    specials = np.array([np.nan, -np.nan, np.inf, -np.inf], dtype=dtype)
    uniform = rng.uniform(-8, 8, count).astype(dtype)
    # Drawn after the others, so the relu sample does not depend on ``wide``.
    spread = rng.uniform(-100, 100, wide).astype(dtype)
    return np.concatenate([specials, np.array(near, dtype=dtype), patterns, uniform, spread])


def family_inputs(dtype):
    """The sample for the family: :func:`sample_inputs` around :data:`FAMILY_POINTS`.

    About 14,000 values: every special value and neighbourhood, and fewer
    random ones than relu's sample, because 27 functions (and the JAX
    oracle's per-call cost) multiply it; the neighbourhoods are where the
    family's pieces and formulas change.
    """
    return sample_inputs(dtype, around=FAMILY_POINTS, wide=3_000, count=5_000)


def upstream(x, seed=1):
    """A ``dy`` for ``x``: normal values, a fifth of them special (+-inf, NaN, 0, extremes)."""
    dtype = x.dtype
    info = np.finfo(dtype)
    rng = np.random.default_rng(seed)
    dy = (rng.standard_normal(x.size) * 4).astype(dtype)
    specials = np.array(
        [np.nan, np.inf, -np.inf, 0.0, -0.0, info.max, info.smallest_subnormal, info.smallest_normal],
        dtype=dtype,
    )
    picks = rng.random(x.size) < 0.2
    dy[picks] = rng.choice(specials, picks.sum())
    return dy.reshape(x.shape)


# --- relukit's decided semantics ---------------------------------------------


def in_dtype(value: float, dtype) -> float:
    """``value`` rounded to ``dtype``, as a Python float (inf if it overflows)."""
    with np.errstate(over="ignore"):
        return float(np.dtype(dtype).type(value))


def _pieces(x, params):
    """``x`` in float64, the parameters rounded to its dtype, and the masks."""
    slope = in_dtype(params["negative_slope"], x.dtype)
    threshold = in_dtype(params["threshold"], x.dtype)
    cap = params["max_value"]
    xd = x.astype(np.float64)
    below = xd <= threshold  # NaN in neither piece
    linear = xd > threshold
    if cap is None:
        cap = np.inf  # no clip: +inf is on the linear piece
    else:
        cap = in_dtype(cap, x.dtype)
        linear &= xd < cap
    return xd, slope, threshold, cap, below, linear


#: decided()'s recent results, by (function, parameters, dtypes, shapes,
#: input bytes): the records' masks and the tolerances' floors ask for the
#: same call several times per comparison, and the float64 erfc of gelu's
#: reference runs in Python, one element at a time. Bounded, as the inputs
#: are large.
_DECIDED_CACHE: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
_DECIDED_CACHE_SIZE = 32


def decided(function: str, params: dict, x: np.ndarray, dy: Optional[np.ndarray] = None):
    """What relukit has decided ``function(x)`` (or ``(dy, x)``) returns (read-only).

    Cached by value, so the inputs may be any arrays; the result must not
    be written to.
    """
    key = (
        function,
        tuple(sorted(params.items())),
        x.dtype.str,
        x.shape,
        x.tobytes(),
        None if dy is None else (dy.dtype.str, dy.shape, dy.tobytes()),
    )
    found = _DECIDED_CACHE.get(key)
    if found is not None:
        _DECIDED_CACHE.move_to_end(key)
        return found
    found = _decided(function, params, x, dy)
    found.flags.writeable = False
    _DECIDED_CACHE[key] = found
    if len(_DECIDED_CACHE) > _DECIDED_CACHE_SIZE:
        _DECIDED_CACHE.popitem(last=False)
    return found


def _decided(function: str, params: dict, x: np.ndarray, dy: Optional[np.ndarray] = None):
    """What relukit has decided ``function(x)`` (or ``(dy, x)``) returns.

    Keras' pieces: ``negative_slope * (x - threshold)`` where
    ``x <= threshold`` (exactly 0 when the slope is 0), ``min(x, max_value)``
    where ``x > threshold``; NaN stays NaN. The gradient is the slope, 1 and
    0 on the three pieces and 0 at NaN; the backward pass is ``dy`` times the
    gradient, exactly 0 where the gradient is 0.
    """
    if operation_of(function) != "relu":
        return decided_family(function, params, x, dy)
    # Signalling NaNs raise "invalid" when widened; inf * 0 is selected away.
    with np.errstate(invalid="ignore", over="ignore"):
        xd, slope, threshold, cap, below, linear = _pieces(x, params)
        if function == "relu":
            negative = slope * (xd - threshold) if slope else 0.0
            return np.where(below, negative, np.minimum(xd, cap)).astype(x.dtype)
        grad = np.where(below, slope, np.where(linear, 1.0, 0.0))
        if function == "relu_grad":
            return grad.astype(x.dtype)
        dx = np.where(grad == 0, 0.0, dy.astype(np.float64) * grad)
        return dx.astype(dy.dtype)


SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _sigmoid(v):
    # exp of -|v| only: no overflow, and 1 - sigmoid is no difference.
    e = np.exp(-np.abs(v))
    return np.where(v >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _limits(v, value, at_minus_inf, at_plus_inf):
    """``value`` with its limits at -inf and +inf put in (the formulas give NaN there)."""
    return np.where(v == -np.inf, at_minus_inf, np.where(v == np.inf, at_plus_inf, value))


def _family_forward(op, p, v):
    """``op`` of float64 ``v`` in float64, from textbook formulas and their limits."""
    if op == "elu":
        return np.where(v > 0, v, p["alpha"] * np.expm1(v))
    if op == "selu":
        return SELU_SCALE * np.where(v > 0, v, SELU_ALPHA * np.expm1(v))
    if op == "celu":
        return np.where(v > 0, v, p["alpha"] * np.expm1(v / p["alpha"]))
    if op == "gelu" and p["approximate"] == "none":
        return _limits(v, 0.5 * v * _erfc(-v / math.sqrt(2)), 0.0, np.inf)
    if op == "gelu":
        u = math.sqrt(2 / math.pi) * (v + 0.044715 * v**3)
        return _limits(v, v * _sigmoid(2 * u), 0.0, np.inf)  # 0.5 * (1 + tanh(u))
    if op == "silu":
        return _limits(v, v * _sigmoid(v), 0.0, np.inf)
    if op == "mish":
        return _limits(v, v * np.tanh(np.logaddexp(v, 0.0)), 0.0, np.inf)
    if op == "softplus":
        bv = p["beta"] * v
        return np.where(bv > p["threshold"], v, np.logaddexp(bv, 0.0) / p["beta"])
    if op == "hardswish":
        return np.where(v <= -3, 0.0, np.where(v >= 3, v, v * (v + 3) / 6))
    if op == "squared_relu":
        return np.where(v <= 0, 0.0, v * v)
    raise ValueError(f"unknown operation {op!r}")


def _family_derivative(op, p, v):
    """The derivative of ``op`` at float64 ``v``, in float64, NaN at NaN."""
    if op == "elu":
        return np.where(v > 0, 1.0, p["alpha"] * np.exp(v))
    if op == "selu":
        return np.where(v > 0, SELU_SCALE, SELU_SCALE * SELU_ALPHA * np.exp(v))
    if op == "celu":
        return np.where(v > 0, 1.0, np.exp(v / p["alpha"]))
    if op == "gelu" and p["approximate"] == "none":
        density = v * np.exp(-0.5 * v * v) / math.sqrt(2 * math.pi)
        return _limits(v, 0.5 * _erfc(-v / math.sqrt(2)) + density, 0.0, 1.0)
    if op == "gelu":
        c = math.sqrt(2 / math.pi)
        s = _sigmoid(2 * c * (v + 0.044715 * v**3))
        value = s + v * 2 * c * (1 + 3 * 0.044715 * v * v) * s * (1 - s)
        return _limits(v, np.where(np.abs(v) > 40, v > 0, value), 0.0, 1.0)
    if op == "silu":
        s = _sigmoid(v)
        return _limits(v, s * (1 + v * (1 - s)), 0.0, 1.0)
    if op == "mish":
        t = np.tanh(np.logaddexp(v, 0.0))
        value = t + v * (1 - t * t) * _sigmoid(v)
        return _limits(v, np.where(v > 40, 1.0, value), 0.0, 1.0)
    if op == "softplus":
        bv = p["beta"] * v
        return np.where(bv > p["threshold"], 1.0, _sigmoid(bv))
    if op == "hardswish":
        # At the kinks the flat pieces' derivatives (0 at -3, 1 at 3), as
        # the three frameworks give; NaN stays NaN.
        return np.where(v <= -3, 0.0, np.where(v < 3, v / 3 + 0.5, np.where(v >= 3, 1.0, v)))
    if op == "squared_relu":
        return np.where(v <= 0, 0.0, 2 * v)
    raise ValueError(f"unknown operation {op!r}")


def _family_rounded(params: dict, x_dtype, result_dtype) -> dict:
    """The family's parameters as relukit uses them: rounded to the dtype they compute in."""
    rounded = dict(params)
    if "alpha" in rounded:
        rounded["alpha"] = in_dtype(rounded["alpha"], result_dtype)
    for name in ("beta", "threshold"):
        if name in rounded:
            rounded[name] = in_dtype(rounded[name], x_dtype)
    return rounded


def decided_family(
    function: str, params: dict, x: np.ndarray, dy: Optional[np.ndarray] = None, parameters_in=None
):
    """What relukit has decided for a family function, to a few float64 ulps.

    Evaluated in float64 from the widened ``x`` (textbook formulas, limits
    at +-inf put in) and rounded once into the result dtype; the backward
    pass is exactly 0 where the derivative is. The parameters are rounded
    first, as relu's: alpha to the result's dtype, softplus' beta and
    threshold to ``x``'s (all to ``parameters_in`` when given: what a
    framework that rounds them otherwise would give, rounded once). The masks and the records'
    examples use it; the few float64 ulps between its libm calls and
    relukit's never show at those examples.
    """
    op = operation_of(function)
    result_dtype = (x if dy is None else dy).dtype
    params = _family_rounded(
        {**defaults(op), **params}, parameters_in or x.dtype, parameters_in or result_dtype
    )
    with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
        v = x.astype(np.float64)
        if function == op:
            return _family_forward(op, params, v).astype(x.dtype)
        d = _family_derivative(op, params, v).astype(np.float64)
        if function.endswith("_grad"):
            return d.astype(x.dtype)
        return np.where(d == 0, 0.0, dy.astype(np.float64) * d).astype(dy.dtype)


# --- the frameworks ------------------------------------------------------------


class Spelling(NamedTuple):
    """A framework function that computes a parameter set: ``module.name(x, *args, **kwargs)``."""

    module: str
    name: str
    args: tuple = ()
    kwargs: Tuple[Tuple[str, object], ...] = ()
    #: The function's result squared: squared ReLU, which no framework has.
    squared: bool = False

    def __str__(self):
        arguments = ["x", *map(repr, self.args), *(f"{k}={v!r}" for k, v in self.kwargs)]
        call = f"{self.module}.{self.name}({', '.join(arguments)})"
        return f"{call}**2" if self.squared else call

    def function(self, module):
        """The spelled function of one argument, from the imported ``module``."""
        named = getattr(module, self.name)
        kwargs = dict(self.kwargs)
        if self.squared:
            return lambda v: named(v, *self.args, **kwargs) ** 2
        return lambda v: named(v, *self.args, **kwargs)


#: Each framework's function for each family operation: ``(module, name,
#: the parameters it takes under its own names)``; an operation missing has
#: none. Keras 3 and JAX take ``approximate`` as a bool, and neither has
#: softplus' beta and threshold (see :func:`family_spelling`).
_FAMILY_NAMES = {
    "PyTorch": {
        op: ("torch.nn.functional", op, tuple(FAMILY_DEFAULTS.get(op, {})))
        for op in FAMILY
        if op != "squared_relu"
    },
    "JAX": {
        **{op: ("jax.nn", op, ("alpha",) if op in ("elu", "celu") else ()) for op in
           ("elu", "selu", "celu", "gelu", "silu", "mish", "softplus")},
        "hardswish": ("jax.nn", "hard_swish", ()),
    },
    "Keras": {
        **{op: ("keras.activations", op, ("alpha",) if op in ("elu", "celu") else ()) for op in
           ("elu", "selu", "celu", "gelu", "silu", "mish", "softplus")},
        "hardswish": ("keras.activations", "hard_swish", ()),
    },
}


def family_spelling(framework: str, operation: str, params: dict) -> Optional[Spelling]:
    """The framework's function for a family operation with ``params``, or None.

    PyTorch has every one but squared ReLU, spelled ``torch.relu(x)**2``
    (the square is exact in float64 and rounds once, as relukit does, so it
    tests ``relu`` and the rounding of one product). JAX's and Keras'
    softplus has no beta and no threshold: they spell only beta 1, and are
    compared where relukit's linear piece (``beta * x > threshold``) is
    inactive, a record covering the rest.
    """
    params = {**defaults(operation), **params}
    if framework == "PyTorch" and operation == "squared_relu":
        return Spelling("torch", "relu", squared=True)
    found = _FAMILY_NAMES[framework].get(operation)
    if found is None:
        return None
    module, name, taken = found
    if operation == "softplus" and framework != "PyTorch" and params["beta"] != 1:
        return None
    kwargs = [(k, params[k]) for k in taken]
    if operation == "gelu" and framework != "PyTorch":
        kwargs = [("approximate", params["approximate"] == "tanh")]
    return Spelling(module, name, (), tuple(kwargs))


def spelling(framework: str, params: dict, operation: str = "relu") -> Optional[Spelling]:
    """The one framework function that computes ``params``, or None if there is none.

    Only functions the framework provides count: composing several would
    test our composition, not the framework.
    """
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}")
    if operation != "relu":
        return family_spelling(framework, operation, params)
    slope, cap, threshold = params["negative_slope"], params["max_value"], params["threshold"]
    if framework == "Keras":
        kwargs = (("negative_slope", slope), ("max_value", cap), ("threshold", threshold))
        return Spelling("keras.activations", "relu", (), kwargs)
    if framework == "PyTorch":
        module = "torch.nn.functional"
        if cap is None and threshold == 0:
            return Spelling(module, "relu") if slope == 0 else Spelling(module, "leaky_relu", (slope,))
        if slope == 0 and threshold == 0:
            return Spelling(module, "relu6") if cap == 6 else Spelling(module, "hardtanh", (0.0, cap))
        if slope == 0 and cap is None:
            return Spelling(module, "threshold", (threshold, 0.0))
        return None
    if framework == "JAX":
        if threshold != 0:
            return None
        if cap is None:
            return Spelling("jax.nn", "relu") if slope == 0 else Spelling("jax.nn", "leaky_relu", (slope,))
        if slope == 0 and cap == 6:
            return Spelling("jax.nn", "relu6")
        return None
    raise ValueError(f"unknown framework {framework!r}")


def prepare(framework: str):
    """Set what ``framework`` reads when it is imported; call before importing it."""
    if framework == "Keras":
        # Keras picks its backend once, at import (TensorFlow by default).
        os.environ["KERAS_BACKEND"] = "jax"


def _load_jax():
    import jax

    # Without x64 JAX silently computes float64 inputs in float32.
    jax.config.update("jax_enable_x64", True)
    return jax


def _load_keras():
    prepare("Keras")
    _load_jax()
    import keras

    if keras.backend.backend() != "jax":
        raise RuntimeError(
            f"keras was imported with the {keras.backend.backend()} backend before this module"
        )
    return keras


def _torch_oracle(function, spelled, x, dy):
    import torch
    import torch.nn.functional as F

    forward = spelled.function(torch if spelled.module == "torch" else F)
    xt = torch.from_numpy(x.copy())
    if function == operation_of(function):
        return forward(xt).numpy()
    dyt = torch.ones_like(xt) if function.endswith("_grad") else torch.from_numpy(dy.copy())
    if function == "relu_backward" and spelled.name in ("relu", "threshold"):
        # The kernel autograd runs for relu and threshold, called directly.
        threshold = spelled.args[0] if spelled.args else 0.0
        return torch.ops.aten.threshold_backward(dyt, xt, threshold).numpy()
    xt.requires_grad_(True)
    (grad,) = torch.autograd.grad(forward(xt), xt, dyt)
    return grad.numpy()


def _jax_oracle(function, forward, x, dy):
    jax = _load_jax()
    import jax.numpy as jnp

    xj = jnp.asarray(x)
    if function == operation_of(function):
        return np.asarray(forward(xj))
    y, vjp = jax.vjp(forward, xj)
    cotangent = jnp.ones_like(y) if function.endswith("_grad") else jnp.asarray(dy)
    return np.asarray(vjp(cotangent)[0])


def oracle(framework: str, function: str, params: dict, x: np.ndarray, dy=None):
    """``framework``'s result for ``function`` on NumPy inputs, or None if it cannot express ``params``."""
    spelled = spelling(framework, params, operation_of(function))
    if spelled is None:
        return None
    if framework == "PyTorch":
        return _torch_oracle(function, spelled, x, dy)
    module = _load_jax().nn if framework == "JAX" else _load_keras().activations
    return _jax_oracle(function, spelled.function(module), x, dy)


# --- where a comparison allows rounding ------------------------------------------


def _rounded(params, dtype):
    """``(slope, threshold, max_value)`` rounded to ``dtype`` (max_value may be None)."""
    cap = params["max_value"]
    return (
        in_dtype(params["negative_slope"], dtype),
        in_dtype(params["threshold"], dtype),
        None if cap is None else in_dtype(cap, dtype),
    )


def leaky_only(params):
    """What ``leaky_relu`` computes (Keras calls it then): a slope, no clip, threshold 0."""
    return params["negative_slope"] != 0 and params["max_value"] is None and params["threshold"] == 0


def keras_composite(params):
    """Keras builds the slope from ``relu(threshold - x)`` instead of calling ``leaky_relu``."""
    return params["negative_slope"] != 0 and not leaky_only(params)


def keras_clips(params):
    """Keras applies ``clip(x, 0, max_value)`` (it calls ``relu6`` only for 6 with threshold 0)."""
    cap, threshold = params["max_value"], params["threshold"]
    return cap is not None and (threshold != 0 or cap != 6)


class Tolerance(NamedTuple):
    """Where a framework rounds more than once, so a comparison allows ``ulps``."""

    frameworks: Tuple[str, ...]
    functions: Tuple[str, ...]
    dtypes: Tuple[str, ...]
    parameters: str
    applies: Callable[[dict], bool]
    ulps: int
    why: str
    #: ``floor(x, dy, params) -> magnitudes``: where the result is smaller, the ulps
    #: are those of this magnitude (an absolute bound: the size of the terms
    #: the framework cancels, or of the underflow it rounds into); None: the
    #: ulps of the result itself.
    floor: Optional[Callable] = None
    #: What the ulps are of, in words, for the docs.
    of: str = "the result"

    def allows(self, framework, function, params, dtype) -> bool:
        return (
            framework in self.frameworks
            and function in self.functions
            and np.dtype(dtype).name in self.dtypes
            and self.applies(params)
        )

    def within(self, x, dy, result, expected, params):
        """Where ``result`` and ``expected`` are within this tolerance of each other."""
        dtype = result.dtype
        with np.errstate(invalid="ignore", over="ignore"):
            a, b = result.astype(np.float64), expected.astype(np.float64)
            size = np.maximum(np.abs(a), np.abs(b))
            if self.floor is not None:
                size = np.fmax(size, np.asarray(self.floor(x, dy, params), dtype=np.float64))
            spacing = np.spacing(size.astype(dtype)).astype(np.float64)
            return np.abs(a - b) <= self.ulps * spacing


TOLERANCES = [
    Tolerance(
        ("PyTorch",),
        ("relu", "relu_backward"),
        ("float16",),
        "leaky_relu (a slope, threshold 0, no max_value)",
        leaky_only,
        1,
        "PyTorch computes float16 in float32 with the slope rounded to float32 and rounds "
        "twice (to float32, then to float16); relukit rounds once, from the slope rounded to "
        "float16. Every float16 input stays within 1 ulp.",
    ),
    Tolerance(
        ("Keras",),
        ("relu",),
        ("float16", "float32"),
        "a slope with a threshold or a max_value",
        keras_composite,
        1,
        "Keras computes negative_slope * relu(threshold - x) in x's dtype, two roundings where "
        "relukit rounds once (float64 has the same two roundings on both sides, so it is "
        "compared exactly). The error bound allows 2 ulps for some slopes; every parameter "
        "set here stays within 1 (float16 exhaustively).",
    ),
]


def agree(framework: str, function: str, params: dict, x, dy, result, expected):
    """Where relukit's ``result`` agrees with the framework's: equal or within a tolerance.

    Equal means ``+0 == -0`` and any NaN equal to any NaN; each tolerance
    that applies to the call may accept more.
    """
    with np.errstate(invalid="ignore"):  # signalling NaNs in the casts
        a, b = result.astype(np.float64), expected.astype(np.float64)
        found = (a == b) | (np.isnan(a) & np.isnan(b))
    for t in TOLERANCES:
        if t.allows(framework, function, params, x.dtype):
            found |= t.within(x, dy, result, expected, params)
    return found


def tolerance(framework: str, function: str, params: dict, dtype) -> int:
    """The ulps a comparison of ``framework`` with relukit allows (0: exact)."""
    name = np.dtype(dtype).name
    return max(
        [
            t.ulps
            for t in TOLERANCES
            if framework in t.frameworks
            and function in t.functions
            and name in t.dtypes
            and t.applies(params)
        ],
        default=0,
    )


# --- the deliberate differences --------------------------------------------------


class Example(NamedTuple):
    """One call that shows a difference."""

    function: str
    params: dict
    x: float
    dy: Optional[float] = None
    dtype: str = "float64"

    def inputs(self):
        """``(x, dy)`` as 1-element arrays (``dy`` None for relu and relu_grad)."""
        x = np.array([self.x], dtype=self.dtype)
        dy = None if self.dy is None else np.array([self.dy], dtype=self.dtype)
        return x, dy

    def __str__(self):
        def number(v):
            shown = str(np.dtype(self.dtype).type(v))
            return shown if self.dtype == "float64" else f"{self.dtype}({shown})"

        arguments = [number(v) for v in (self.dy, self.x) if v is not None]
        usual = defaults(operation_of(self.function))
        arguments += [f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}"
                      for k, v in self.params.items() if v != usual.get(k)]
        return f"{self.function}({', '.join(arguments)})"


class Difference(NamedTuple):
    """A deliberate difference between a framework and relukit.

    ``mask(function, params, x, dy)`` marks the inputs the record covers
    (it may cover more than those that differ); ``applies(params)`` says for
    which parameter sets, ``functions`` and ``dtypes`` for which calls.
    ``example`` must show ``framework_gives`` for every framework named and
    ``relukit_gives`` for relukit.
    """

    frameworks: Tuple[str, ...]
    functions: Tuple[str, ...]
    dtypes: Tuple[str, ...]
    parameters: str
    applies: Callable[[dict], bool]
    inputs: str
    mask: Callable
    example: Example
    framework_gives: float
    relukit_gives: float
    why: str

    def covers(self, framework, function, params, x, dy):
        """The inputs of this call the record covers (all False when it does not apply)."""
        if (
            framework in self.frameworks
            and function in self.functions
            and x.dtype.name in self.dtypes
            and self.applies(params)
        ):
            return self.mask(function, params, x, dy)
        return np.zeros(x.shape, dtype=bool)


FLOATS = ("float16", "float32", "float64")
GRADIENTS = ("relu_grad", "relu_backward")
NAN = float("nan")
INF = float("inf")


def _nan_x(function, params, x, dy):
    return np.isnan(x)


def _subnormal(a):
    a = np.asarray(a)
    return (a != 0) & (np.abs(a) < np.finfo(a.dtype).smallest_normal)


def _flushed(function, params, x, dy):
    mask = _subnormal(x) | _subnormal(decided(function, params, x, dy))
    return mask if dy is None else mask | _subnormal(dy)


def _float32_comparison(function, params, x, dy):
    """Where comparing float16 ``x`` with a parameter in float32 and in float16 disagree."""
    with np.errstate(invalid="ignore"):  # signalling NaNs
        xd = x.astype(np.float64)
    t16, t32 = in_dtype(params["threshold"], np.float16), in_dtype(params["threshold"], np.float32)
    mask = (xd > t16) != (xd > t32)
    if params["max_value"] is not None:
        m16, m32 = in_dtype(params["max_value"], np.float16), in_dtype(params["max_value"], np.float32)
        mask |= (xd >= m16) != (xd >= m32)
    return mask


def _at_zero(function, params, x, dy):
    return x == 0


def _at_threshold(function, params, x, dy):
    return x == in_dtype(params["threshold"], x.dtype)


def _at_max_value(function, params, x, dy):
    _, threshold, cap = _rounded(params, x.dtype)
    return (x == cap) & (x > threshold)


def _clipped_at_zero(function, params, x, dy):
    _, threshold, _ = _rounded(params, x.dtype)
    return (x > threshold) & (x <= 0)


def _saturated_times_nonfinite(function, params, x, dy):
    _, threshold, cap = _rounded(params, x.dtype)
    return (x > threshold) & (x > cap) & ~np.isfinite(dy)


_LEAKY = parameters(negative_slope=0.1)
_NAN_WHY = (
    "NaN compares false with every threshold, so it lies on no piece and its gradient is 0 "
    "(as in JAX's relu and relu6); the forward pass already returns NaN there."
)

DIFFERENCES = [
    Difference(
        ("PyTorch",),
        GRADIENTS,
        FLOATS,
        "no slope: relu, threshold, relu6, hardtanh",
        lambda p: p["negative_slope"] == 0,
        "x is NaN",
        _nan_x,
        Example("relu_grad", parameters(), NAN),
        1.0,
        0.0,
        "threshold_backward and hardtanh_backward pass dy through where x is NaN. " + _NAN_WHY,
    ),
    Difference(
        FRAMEWORKS,
        GRADIENTS,
        FLOATS,
        "leaky_relu (a slope, threshold 0, no max_value)",
        leaky_only,
        "x is NaN",
        _nan_x,
        Example("relu_grad", _LEAKY, NAN),
        0.1,
        0.0,
        "leaky_relu's gradient is the slope wherever x > 0 (PyTorch) or x >= 0 (JAX) is false, "
        "NaN included. " + _NAN_WHY,
    ),
    Difference(
        ("PyTorch",),
        FUNCTIONS,
        ("float16",),
        "a threshold or max_value that float16 cannot hold exactly",
        lambda p: True,
        "x between the parameter rounded to float16 and to float32",
        _float32_comparison,
        Example("relu", parameters(threshold=0.7), 0.7, dtype="float16"),
        in_dtype(0.7, np.float16),
        0.0,
        "PyTorch compares float16 inputs with the parameters in float32: float16(0.7) is above "
        "0.7 there. relukit rounds the parameters to x's dtype first, as Keras and JAX do "
        "(and PyTorch for float32 and float64).",
    ),
    Difference(
        ("JAX", "Keras"),
        FUNCTIONS + FAMILY_FUNCTIONS,
        ("float32", "float64"),
        "any",
        lambda p: True,
        "x, dy or the result subnormal",
        _flushed,
        Example("relu", parameters(), float(np.finfo(np.float32).smallest_subnormal), dtype="float32"),
        0.0,
        float(np.finfo(np.float32).smallest_subnormal),
        "XLA's CPU backend flushes subnormal inputs and results to zero, a speed setting; relukit "
        "keeps IEEE gradual underflow, as NumPy and PyTorch do. (float16 is computed in float32 "
        "there, where its subnormals are normal.)",
    ),
    Difference(
        ("JAX", "Keras"),
        GRADIENTS,
        FLOATS,
        "leaky_relu (a slope, threshold 0, no max_value)",
        leaky_only,
        "x == 0",
        _at_zero,
        Example("relu_grad", _LEAKY, 0.0),
        1.0,
        0.1,
        "JAX's leaky_relu puts 0 on the identity piece (x >= 0). In Keras' definition the kink "
        "x == threshold belongs to the negative piece, so relukit's gradient there is the "
        "slope, as PyTorch's leaky_relu gives.",
    ),
    Difference(
        ("Keras",),
        GRADIENTS,
        FLOATS,
        "a slope with a threshold or a max_value",
        keras_composite,
        "x == threshold",
        _at_threshold,
        Example("relu_grad", parameters(negative_slope=0.1, max_value=6.0, threshold=7.0), 7.0),
        0.0,
        0.1,
        "Keras differentiates relu(threshold - x), whose gradient at 0 is 0, so its gradient at "
        "the kink is 0 here but 1 on its leaky_relu path. relukit gives the negative piece's "
        "slope for every parameter set, since x <= threshold is that piece.",
    ),
    Difference(
        ("Keras",),
        ("relu",),
        FLOATS,
        "no slope, a threshold",
        lambda p: p["negative_slope"] == 0 and p["threshold"] != 0,
        "x is NaN",
        _nan_x,
        Example("relu", parameters(threshold=0.1), NAN),
        0.0,
        NAN,
        "Keras selects where(x > threshold, x, 0), which turns NaN into 0. relukit returns NaN "
        "for every parameter set, as Keras itself does without a threshold: a NaN must not "
        "disappear in the forward pass.",
    ),
    Difference(
        ("Keras",),
        FUNCTIONS,
        FLOATS,
        "a max_value and a negative threshold",
        lambda p: p["max_value"] is not None and p["threshold"] < 0,
        "threshold < x <= 0",
        _clipped_at_zero,
        Example("relu", parameters(max_value=6.0, threshold=-0.5), -0.25),
        0.0,
        -0.25,
        "Keras clips the middle piece with clip(x, 0, max_value), so with a negative threshold "
        "it is 0 (gradient 0, 0.5 at x == 0) on (threshold, 0], although its definition, and "
        "Keras itself without max_value, give x. relukit keeps x on threshold < x < max_value.",
    ),
    Difference(
        ("Keras",),
        GRADIENTS,
        FLOATS,
        "a max_value, except 6 with threshold 0",
        keras_clips,
        "x == max_value (above the threshold)",
        _at_max_value,
        Example("relu_grad", parameters(max_value=6.0, threshold=0.1), 6.0),
        0.5,
        0.0,
        "Keras' clip(x, 0, max_value) is differentiated as minimum(x, max_value), which splits "
        "the gradient of a tie in two. x >= max_value is the saturated piece, whose gradient "
        "is 0, as Keras' own relu6 path, JAX's relu6 and PyTorch's hardtanh give.",
    ),
    Difference(
        ("Keras",),
        ("relu_backward",),
        FLOATS,
        "a max_value, except 6 with threshold 0",
        keras_clips,
        "x > max_value (above the threshold), dy inf or NaN",
        _saturated_times_nonfinite,
        Example("relu_backward", parameters(max_value=6.0, threshold=0.1), 7.0, dy=INF),
        NAN,
        0.0,
        "The clip's backward multiplies dy by 0, which gives NaN for an infinite or NaN dy. "
        "relukit's backward is a select, as JAX's relu and relu6 and PyTorch's kernels are: a "
        "saturated unit passes no gradient, not even an infinite one.",
    ),
]


# --- the family: tolerances ---------------------------------------------------------

XLA = ("JAX", "Keras")  # Keras 3 on JAX calls jax.nn: the same numbers, the same records


def _of(ops, suffixes=("", "_grad", "_backward")):
    return tuple(f"{op}{suffix}" for op in ops for suffix in suffixes)


def _any(params):
    return True


def _times_dy(magnitude, dy):
    """A bound on a derivative turned into one on the backward pass: times ``|dy|``."""
    if dy is None:
        return magnitude
    with np.errstate(invalid="ignore", over="ignore"):
        return magnitude * np.abs(dy.astype(np.float64))


def _underflow_floor(x, dy, params):
    """The smallest normal, times ``max(1, |x|)`` (and ``|dy|``): what a subnormal intermediate is off by."""
    with np.errstate(invalid="ignore", over="ignore"):
        xd = np.abs(x.astype(np.float64))
        tiny = float(np.finfo(x.dtype).smallest_normal)
        bound = tiny * np.fmax(1.0, xd)
        return bound if dy is None else bound * np.fmax(1.0, np.abs(dy.astype(np.float64)))


def _constant_floor(value):
    def floor(x, dy, params):
        return _times_dy(np.full(x.shape, value), dy)

    return floor


def _moderate_x_floor(x, dy, params):
    """``|x|`` clipped to [1, 64], times ``|dy|``: the size of the terms a derivative cancels."""
    with np.errstate(invalid="ignore"):
        return _times_dy(np.clip(np.abs(x.astype(np.float64)), 1.0, 64.0), dy)


def _abs_x_floor(x, dy, params):
    with np.errstate(invalid="ignore"):
        return np.abs(x.astype(np.float64))


_DERIVATIVES = ("_grad", "_backward")

TOLERANCES += [
    Tolerance(
        ("PyTorch",),
        FAMILY_FUNCTIONS,
        ("float16",),
        "any",
        _any,
        1,
        "PyTorch computes float16 in float32 and rounds the float32 result to float16: two "
        "roundings where relukit has one.",
        _underflow_floor,
        "the result, at least the smallest normal times max(1, |x|) (times |dy|)",
    ),
    Tolerance(
        FRAMEWORKS,
        FAMILY_FUNCTIONS,
        ("float32", "float64"),
        "any",
        _any,
        8,
        "The frameworks evaluate each formula in x's dtype with that dtype's exp, erf, tanh and "
        "log1p, rounding every step (mish composes three functions, selu three products); relukit evaluates it in float64 and rounds once (float64 "
        "inputs: its own libm, a few float64 ulps). A subnormal intermediate is off by up to "
        "the smallest subnormal, times what multiplies it.",
        _underflow_floor,
        "the result, at least the smallest normal times max(1, |x|) (times |dy|)",
    ),
    Tolerance(
        XLA,
        FAMILY_FUNCTIONS,
        ("float16",),
        "any",
        _any,
        4,
        "XLA evaluates float16 step by step in float16 (each step widened to float32 and "
        "rounded back): several roundings where relukit has one.",
        _underflow_floor,
        "the result, at least the smallest normal times max(1, |x|) (times |dy|)",
    ),
    Tolerance(
        XLA,
        _of(("elu", "celu"), _DERIVATIVES),
        FLOATS,
        "any",
        _any,
        2,
        "JAX differentiates expm1 as expm1(x) + 1, which cancels for x < 0: the derivative is "
        "only accurate to an ulp of 1 (of alpha), and 0 where e**x < eps / 2 (x < -17 in "
        "float32, -37 in float64).",
        _constant_floor(1.0),
        "1 (times |dy|)",
    ),
    Tolerance(
        XLA,
        _of(("selu",), _DERIVATIVES),
        FLOATS,
        "any",
        _any,
        2,
        "As for elu: expm1(x) + 1 cancels for x < 0, so the derivative is accurate to an ulp of "
        "scale * alpha.",
        _constant_floor(SELU_SCALE * SELU_ALPHA),
        "scale * alpha = 1.7581 (times |dy|)",
    ),
    Tolerance(
        FRAMEWORKS,
        ("gelu",),
        FLOATS,
        "any",
        _any,
        6,
        "The frameworks compute 0.5 * x * (1 + erf(x / sqrt(2))) (or 1 + tanh): for x < 0 the "
        "sum cancels, so the result is accurate to ulps of |x| only, and 0 below about -5.5 "
        "(float32). relukit uses erfc (and a sigmoid for tanh), which keeps the tail. How many "
        "ulps depends on the machine: PyTorch 2.13's float32 gelu was off by up to 4.63 ulps "
        "of |x| (at x = 3.478, in a sweep of [-40, 40]) on an AMD EPYC Zen 4, whichever kernel "
        "ATEN_CPU_CAPABILITY chose; the same test inputs agreed within 4 on a Zen 3.",
        _abs_x_floor,
        "|x|",
    ),
    Tolerance(
        FRAMEWORKS,
        _of(("silu", "mish", "hardswish"), _DERIVATIVES),
        FLOATS,
        "any",
        _any,
        4,
        "The derivative is a sum of terms as large as max(1, |x|) (Phi(x) + x * phi(x), "
        "s * (1 + x * (1 - s)), x / 3 + 0.5, ...) that cancel near its zero (about -0.75, "
        "-1.28, -1.19, -1.5), at negative x and above 1 for large x (1 - s is a difference): "
        "the frameworks' sums are accurate to ulps of those terms, not of the result. The "
        "terms with x vanish beyond |x| = 64, hence the clip.",
        _moderate_x_floor,
        "|x| clipped to [1, 64] (times |dy|)",
    ),
]


# --- the family: deliberate differences ------------------------------------------------


def _grad_of(function):
    return f"{operation_of(function)}_grad"


def _derivative_may_be_zero(framework):
    """Where ``framework``'s derivative may be 0: 0 in x's dtype, or within its tolerance of 0."""

    def mask(function, params, x, dy):
        g = decided(_grad_of(function), params, x)
        return agree(framework, _grad_of(function), params, x, None, np.zeros_like(g), g)

    return mask


def _nonfinite_dy_times_zero(framework):
    def mask(function, params, x, dy):
        return ~np.isfinite(dy) & _derivative_may_be_zero(framework)(function, params, x, dy)

    return mask


def _infinite_x(function, params, x, dy):
    return np.isinf(x)


def _linear_softplus(function, params, x, dy):
    # beta * x in float64 from beta rounded to x's dtype, as relukit decides.
    beta, threshold = in_dtype(params["beta"], x.dtype), in_dtype(params["threshold"], x.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        return beta * x.astype(np.float64) > threshold


def _flushed_intermediate(function, params, x, dy):
    """Where a value that multiplies ``x`` (or the derivative itself) is below the smallest normal."""
    g = decided(function if dy is None else _grad_of(function), params, x)
    tiny = float(np.finfo(x.dtype).smallest_normal)
    with np.errstate(invalid="ignore", over="ignore"):
        mask = np.abs(g.astype(np.float64)) <= 2 * tiny * (1 + np.abs(x.astype(np.float64)))
        if dy is not None:
            # The vjp's products of dy with factors below 1 are subnormal first.
            mask |= np.abs(dy.astype(np.float64)) <= 64 * tiny
        return mask


def _near_overflow(function, params, x, dy):
    """``x``, ``dy`` or the result within a factor 16 of the largest finite value."""
    big = float(np.finfo(x.dtype).max) / 16
    with np.errstate(invalid="ignore", over="ignore"):
        mask = np.abs(x.astype(np.float64)) >= big
        if dy is not None:
            mask |= np.abs(dy.astype(np.float64)) >= big
        return mask | (np.abs(decided(function, params, x, dy).astype(np.float64)) >= big)


def _cube_overflows(function, params, x, dy):
    with np.errstate(invalid="ignore", over="ignore"):
        return np.abs(x.astype(np.float64)) >= np.cbrt(float(np.finfo(x.dtype).max)) / 2


DIFFERENCES += [
    Difference(
        ("PyTorch",),
        _of(FAMILY, ("_backward",)),
        FLOATS,
        "any",
        _any,
        "dy inf or NaN where PyTorch's derivative is 0 in x's dtype",
        _nonfinite_dy_times_zero("PyTorch"),
        Example("elu_backward", {"alpha": 1.0}, -120.0, dy=INF, dtype="float32"),
        NAN,
        INF,
        "PyTorch multiplies dy by a derivative that underflowed to 0 in x's dtype (e**-120 in "
        "float32): inf * 0 is NaN. relukit multiplies dy by the float64 derivative (7.7e-53 "
        "here), and gives exactly 0 only where that is 0, as relu_backward does.",
    ),
    Difference(
        XLA,
        _of(FAMILY, ("_backward",)),
        FLOATS,
        "any",
        _any,
        "dy inf or NaN where JAX's derivative is 0 in x's dtype (or cancels to 0)",
        _nonfinite_dy_times_zero("JAX"),
        Example("elu_backward", {"alpha": 1.0}, -20.0, dy=INF, dtype="float32"),
        NAN,
        INF,
        "jax.vjp multiplies dy by a derivative that is 0 in x's dtype (underflow, or expm1(x) "
        "+ 1 cancelling to 0 for elu at x < -17 in float32): inf * 0 is NaN. relukit multiplies "
        "by the float64 derivative (2.1e-9 here).",
    ),
    Difference(
        ("PyTorch",),
        _of(("gelu",)) + ("hardswish", "silu", "mish") + _of(("silu", "mish"), _DERIVATIVES),
        FLOATS,
        "any",
        _any,
        "x is +-inf",
        _infinite_x,
        Example("gelu", {"approximate": "none"}, -INF),
        NAN,
        0.0,
        "PyTorch evaluates the formula at +-inf: 0.5 * x * (1 + erf) is -inf * 0 at -inf, "
        "and x * relu6(x + 3) / 6 and the derivatives' x * phi(x) are inf * 0 too. relukit "
        "gives the limits (gelu(-inf) = 0, gelu'(+-inf) = 1 and 0), which its docs promise.",
    ),
    Difference(
        XLA,
        FAMILY_FUNCTIONS,
        FLOATS,
        "any",
        _any,
        "x is +-inf",
        _infinite_x,
        Example("silu_grad", {}, INF),
        NAN,
        1.0,
        "JAX differentiates x * sigmoid(x) (and gelu, mish, hard_swish) by the product rule, "
        "which is inf * 0 at +-inf; some forward formulas are too. relukit gives the limits.",
    ),
    Difference(
        XLA,
        _of(("softplus",)),
        FLOATS,
        "beta 1 (JAX and Keras have no beta and no threshold)",
        lambda p: p["beta"] == 1,
        "beta * x > threshold",
        _linear_softplus,
        Example("softplus", {"beta": 1.0, "threshold": 20.0}, 30.0),
        30.000000000000092,
        30.0,
        "relukit's softplus, as PyTorch's, is x itself (derivative 1) above the threshold; "
        "JAX's and Keras' softplus has no threshold and keeps log1p(exp(-x)) (9.4e-14 at 30), "
        "so they are compared only below it.",
    ),
    Difference(
        FRAMEWORKS,
        FAMILY_FUNCTIONS,
        FLOATS,
        "any",
        _any,
        "the result (the derivative, for a backward pass) below 2 * (1 + |x|) times the "
        "smallest normal, or |dy| below 64 times it",
        _flushed_intermediate,
        Example("silu", {}, -100.0, dtype="float32"),
        0.0,
        # -100 * sigmoid(-100) = -3.7200760e-42, rounded once to the float32 subnormals.
        float(np.float32(-100 / (1 + math.exp(100)))),
        "XLA's CPU backend flushes subnormal intermediates to 0 (sigmoid(-100) here), and "
        "the frameworks' sigmoid 1 / (1 + exp(-x)) is 0 once exp(-x) overflows (x < -88.7 in "
        "float32, -11.1 in float16); relukit computes in float64 and rounds once, keeping gradual underflow.",
    ),
    Difference(
        FRAMEWORKS,
        FAMILY_FUNCTIONS,
        FLOATS,
        "any",
        _any,
        "x, dy or the result within a factor 16 of the largest finite value",
        _near_overflow,
        Example("selu_backward", {}, -3.0, dy=float(np.finfo(np.float32).max), dtype="float32"),
        INF,
        # dy * scale * alpha * e**-3 in float64, rounded once to float32.
        float(np.float32(float(np.finfo(np.float32).max) * SELU_SCALE * SELU_ALPHA * math.exp(-3))),
        "The frameworks' intermediate products overflow in x's dtype before a factor below 1 "
        "brings them back (dy * scale * alpha * exp(x) for selu, x * relu6(x + 3) for "
        "hardswish, 2 * x * dy for squared ReLU); relukit's float64 intermediates do not.",
    ),
    Difference(
        FRAMEWORKS,
        _of(("gelu",)),
        FLOATS,
        "approximate='tanh'",
        lambda p: p["approximate"] == "tanh",
        "|x| above half the cube root of the largest finite value",
        _cube_overflows,
        Example("gelu_grad", {"approximate": "tanh"}, 1e155),
        NAN,
        1.0,
        "The derivative's term x * (1 + 3 * 0.044715 * x**2) * (1 - tanh(u)**2) overflows to "
        "inf times 0 = NaN in x's dtype once x**2 does (from about the square root of the "
        "largest finite value; x**3 already overflows in u, harmlessly, from half its cube "
        "root); relukit clamps the factor that multiplies the vanishing term.",
    ),
]


def _cubic_floor(x, dy, params):
    """``|x|**3`` clipped to [1, 1000], times ``|dy|``: the size of the tanh derivative's terms."""
    with np.errstate(invalid="ignore", over="ignore"):
        return _times_dy(np.clip(np.abs(x.astype(np.float64)) ** 3, 1.0, 1000.0), dy)


def _softplus_floor(x, dy, params):
    """The derivative times ``max(1, |x|)`` (times ``|dy|``)."""
    g = decided("softplus_grad", params, x)
    with np.errstate(invalid="ignore", over="ignore"):
        size = np.abs(g.astype(np.float64)) * np.fmax(1.0, np.abs(x.astype(np.float64)))
        return _times_dy(size, dy)


TOLERANCES += [
    Tolerance(
        FRAMEWORKS,
        _of(("gelu",), _DERIVATIVES),
        FLOATS,
        "approximate='none'",
        lambda p: p["approximate"] == "none",
        4,
        "Phi(x) + x * phi(x) is a sum of terms as large as max(1, |x|) that cancel near the "
        "derivative's zero (about -0.75) and at negative x (1 + erf): accurate to ulps of "
        "those terms, not of the result.",
        _moderate_x_floor,
        "|x| clipped to [1, 64] (times |dy|)",
    ),
    Tolerance(
        FRAMEWORKS,
        _of(("gelu",), _DERIVATIVES),
        FLOATS,
        "approximate='tanh'",
        lambda p: p["approximate"] == "tanh",
        4,
        "The tanh approximation's derivative has the term x * (1 - tanh(u)**2) * du/dx, as large "
        "as |x|**3 / 10, with 1 - tanh**2 and 1 + tanh computed by cancellation: accurate to "
        "ulps of |x|**3 (until tanh saturates, |x| < 10), not of the result.",
        _cubic_floor,
        "|x|**3 clipped to [1, 1000] (times |dy|)",
    ),
    Tolerance(
        XLA,
        _of(("softplus",), _DERIVATIVES),
        FLOATS,
        "beta 1",
        lambda p: p["beta"] == 1,
        4,
        "JAX's derivative of logaddexp(x, 0) is exp(x - logaddexp(x, 0)): the difference in "
        "the exponent carries an error of ulps of |x|, a relative error of |x| ulps.",
        _softplus_floor,
        "the derivative times max(1, |x|) (times |dy|)",
    ),
]


def _shifted_kink(function, params, x, dy):
    """``x`` where ``x + 3`` rounded to x's dtype lies on another piece than ``x + 3``."""
    with np.errstate(invalid="ignore", over="ignore"):
        # -3 < x < 3 is 0 < x + 3 < 6 exactly (in float64, x + 3 rounds too).
        rounded = (x + x.dtype.type(3)).astype(np.float64)
        return ((x > -3) & (x < 3)) != ((rounded > 0) & (rounded < 6))


DIFFERENCES += [
    Difference(
        XLA,
        _of(("hardswish",), _DERIVATIVES),
        FLOATS,
        "any",
        _any,
        "x an ulp below 3, where x + 3 rounds to 6 in x's dtype",
        _shifted_kink,
        Example("hardswish_grad", {}, 2.998, dtype="float16"),
        1.0,
        # relukit's result is float16: the piece x / 3 + 0.5 rounded once.
        float(np.float16(float(np.float16(2.998)) / 3 + 0.5)),
        "JAX computes relu6(x + 3) with x + 3 rounded to x's dtype (float16 step by step), "
        "which moves the kink at 3 down by an ulp (2.9999998 in float32); relukit compares x "
        "itself with -3 and 3, as PyTorch does.",
    ),
]


def _square_floor(x, dy, params):
    """``x**2`` clipped to [1, 4096], times ``|dy|``."""
    with np.errstate(invalid="ignore", over="ignore"):
        return _times_dy(np.clip(x.astype(np.float64) ** 2, 1.0, 4096.0), dy)


TOLERANCES += [
    Tolerance(
        XLA,
        _of(("mish",), _DERIVATIVES),
        FLOATS,
        "any",
        _any,
        4,
        "JAX's mish derivative goes through softplus' derivative exp(x - logaddexp(x, 0)), off "
        "by |x| ulps, which the product rule multiplies by x: ulps of x**2 (the terms vanish "
        "beyond |x| = 64).",
        _square_floor,
        "x**2 clipped to [1, 4096] (times |dy|)",
    ),
]


def _beta_rounds(params):
    """beta is not a power of 2, so ``beta * x`` rounds in x's dtype."""
    return math.frexp(params["beta"])[0] != 0.5


def _softplus_exponent_floor(x, dy, params):
    """The derivative times ``max(1, |beta * x|)`` (times ``|dy|``): the error exp carries."""
    g = decided("softplus_grad", params, x)
    with np.errstate(invalid="ignore", over="ignore"):
        bx = np.abs(params["beta"] * x.astype(np.float64))
        return _times_dy(np.abs(g.astype(np.float64)) * np.fmax(1.0, bx), dy)


TOLERANCES += [
    Tolerance(
        ("PyTorch",),
        _of(("softplus",)),
        ("float32",),
        "beta not a power of 2",
        _beta_rounds,
        4,
        "PyTorch rounds beta * x to float32 before exp(beta * x), an error of half an ulp of "
        "beta * x in the exponent, so a relative error of |beta * x| ulps in the result and the "
        "derivative (relukit forms beta * x exactly in float64; in float64 both round it "
        "alike).",
        _softplus_exponent_floor,
        "the derivative times max(1, |beta * x|) (times |dy|)",
    ),
]


def _float16_parameter_inexact(params):
    return any(
        in_dtype(params[name], np.float16) != in_dtype(params[name], np.float32)
        for name in ("alpha", "beta", "threshold")
        if name in params
    )


def _float32_parameters(function, params, x, dy):
    """float16 ``x`` where the parameters rounded to float32 give another result than to float16."""
    if x.dtype != np.float16:
        return np.zeros(x.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        as16 = decided(function, params, x, dy).astype(np.float64)
        as32 = decided_family(function, params, x, dy, parameters_in=np.float32).astype(np.float64)
        return (as16 != as32) & ~(np.isnan(as16) & np.isnan(as32))


DIFFERENCES += [
    Difference(
        ("PyTorch",),
        FAMILY_FUNCTIONS,
        ("float16",),
        "alpha or beta that float16 cannot hold exactly (alpha=0.3, beta=0.7)",
        _float16_parameter_inexact,
        "x where the parameters rounded to float32 and to float16 give different float16 results",
        _float32_parameters,
        Example("softplus", {"beta": 0.7, "threshold": 20.0}, -2.3671875, dtype="float16"),
        0.2493896484375,
        0.2491455078125,
        "PyTorch computes float16 in float32 with the parameters rounded to float32 (beta "
        "0.69999999 here); relukit rounds them to float16 first (0.7002), as JAX and Keras "
        "convert them and as relu's parameters, so where exp(beta * x) magnifies the "
        "difference the float16 results differ by an ulp or two.",
    ),
]
