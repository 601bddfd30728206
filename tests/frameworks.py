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

import os
from typing import Callable, NamedTuple, Optional, Tuple

import numpy as np

FUNCTIONS = ("relu", "relu_grad", "relu_backward")
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


# --- the inputs ------------------------------------------------------------------


def _neighbours(value, dtype, count):
    """``value`` rounded to ``dtype`` and ``count`` floats on each side of it."""
    v = np.dtype(dtype).type(value)
    up = down = v
    found = [v]
    with np.errstate(over="ignore"):  # past the largest finite value: inf
        for _ in range(count):
            up, down = np.nextafter(up, np.inf, dtype=dtype), np.nextafter(down, -np.inf, dtype=dtype)
            found += [up, down]
    return found


def sample_inputs(dtype, around=(), seed=0):
    """Values of ``x`` to compare on: every float16, or a dense sample of float32/float64.

    The sample has NaN, +-inf, +-0, the subnormals and the largest finite
    values, 8 floats on each side of +-each of ``around`` and of every
    threshold and max_value of :data:`PARAMETER_SETS` (rounded to
    ``dtype``), 20,000 random bit patterns (every exponent) and 20,000
    uniform values in [-8, 8] (the pieces around the parameters).
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
    patterns = rng.integers(0, np.iinfo(bits).max, 20_000, dtype=bits, endpoint=True).view(dtype)
    specials = np.array([np.nan, -np.nan, np.inf, -np.inf], dtype=dtype)
    uniform = rng.uniform(-8, 8, 20_000).astype(dtype)
    return np.concatenate([specials, np.array(near, dtype=dtype), patterns, uniform])


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


def decided(function: str, params: dict, x: np.ndarray, dy: Optional[np.ndarray] = None):
    """What relukit has decided ``function(x)`` (or ``(dy, x)``) returns.

    Keras' pieces: ``negative_slope * (x - threshold)`` where
    ``x <= threshold`` (exactly 0 when the slope is 0), ``min(x, max_value)``
    where ``x > threshold``; NaN stays NaN. The gradient is the slope, 1 and
    0 on the three pieces and 0 at NaN; the backward pass is ``dy`` times the
    gradient, exactly 0 where the gradient is 0.
    """
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


# --- the frameworks ------------------------------------------------------------


class Spelling(NamedTuple):
    """A framework function that computes a parameter set: ``module.name(x, *args, **kwargs)``."""

    module: str
    name: str
    args: tuple = ()
    kwargs: Tuple[Tuple[str, object], ...] = ()

    def __str__(self):
        arguments = ["x", *map(repr, self.args), *(f"{k}={v!r}" for k, v in self.kwargs)]
        return f"{self.module}.{self.name}({', '.join(arguments)})"


def spelling(framework: str, params: dict) -> Optional[Spelling]:
    """The one framework function that computes ``params``, or None if there is none.

    Only functions the framework provides count: composing several would
    test our composition, not the framework.
    """
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

    forward = getattr(F, spelled.name)
    xt = torch.from_numpy(x.copy())
    if function == "relu":
        return forward(xt, *spelled.args).numpy()
    dyt = torch.ones_like(xt) if function == "relu_grad" else torch.from_numpy(dy.copy())
    if function == "relu_backward" and spelled.name in ("relu", "threshold"):
        # The kernel autograd runs for relu and threshold, called directly.
        threshold = spelled.args[0] if spelled.args else 0.0
        return torch.ops.aten.threshold_backward(dyt, xt, threshold).numpy()
    xt.requires_grad_(True)
    (grad,) = torch.autograd.grad(forward(xt, *spelled.args), xt, dyt)
    return grad.numpy()


def _jax_oracle(function, forward, x, dy):
    jax = _load_jax()
    import jax.numpy as jnp

    xj = jnp.asarray(x)
    if function == "relu":
        return np.asarray(forward(xj))
    y, vjp = jax.vjp(forward, xj)
    cotangent = jnp.ones_like(y) if function == "relu_grad" else jnp.asarray(dy)
    return np.asarray(vjp(cotangent)[0])


def oracle(framework: str, function: str, params: dict, x: np.ndarray, dy=None):
    """``framework``'s result for ``function`` on NumPy inputs, or None if it cannot express ``params``."""
    spelled = spelling(framework, params)
    if spelled is None:
        return None
    if framework == "PyTorch":
        return _torch_oracle(function, spelled, x, dy)
    if framework == "JAX":
        jax = _load_jax()
        forward = getattr(jax.nn, spelled.name)
        return _jax_oracle(function, lambda v: forward(v, *spelled.args), x, dy)
    keras = _load_keras()
    kwargs = dict(spelled.kwargs)
    return _jax_oracle(function, lambda v: keras.activations.relu(v, **kwargs), x, dy)


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
        defaults = parameters()
        arguments += [f"{k}={v}" for k, v in self.params.items() if v != defaults[k]]
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
        FUNCTIONS,
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
