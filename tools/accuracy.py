"""How far relukit's results are from the exact functions, in ulps of the result's dtype.

Usage, from the repository root (needs mpmath: ``pip install -e .[accuracy]``)::

    python tools/accuracy.py                      # everything, writes docs/_data/accuracy.json
    python tools/accuracy.py --ops gelu silu --dtypes float32 --float32-points 20000
    python tools/accuracy.py --ops elu --dtypes float32 --float32-points 300 \\
        --processes 1 --json accuracy-quick.json   # a quick look

For every activation of the operation table (``relukit._ops.OPERATIONS``)
and every parameter set it declares, the forward operation, its derivative
(``_grad``) and its backward pass (``_backward``, on a few values of
``dy``) are computed by relukit, with the default backend (Numba) and with
``backend="numpy"``, and compared with the exact value of the mathematical
definition, evaluated with mpmath at 60 significant digits and rounded
correctly into the dtype. The definitions below are written from the
mathematics (and from relukit's documented conventions at kinks, NaN and
infinities), not from relukit's formulas, so the comparison is independent.

Inputs: every one of the 65,536 float16 bit patterns; for float32 and
float64 a sweep of evenly spaced bit patterns over the whole range (so each
binade gets its share, subnormals and infinities included), uniform samples
where the functions bend (``|x| <= 40``), log-uniform samples of moderate
magnitudes, special values, and every bit pattern in windows around 0, the
kinks, the points where relukit's formulas switch branches and the points
where the result changes class (zero, subnormal, normal, infinite, sign),
which are located by bisection on relukit's own results.

The error of a result ``r`` is measured along the float grid of its dtype:
``|ord(r) - pos(exact)|``, where ``ord`` numbers the floats consecutively
(``-0`` and ``+0`` share 0, subnormals are spaced like the smallest normal
binade, ``+-inf`` comes right after ``+-max``) and ``pos(exact)`` is the
exact value's place on that grid (the correctly rounded float's number
plus the signed remainder in units of the spacing there). The "worst ulp"
published is the distance in floats from the correctly rounded result
(``|ord(r) - ord(correctly rounded)|``; 0 means correctly rounded); the JSON
also has the error from the exact value itself. Where the exact value is
NaN, infinite (or so large that it rounds to infinity beyond the grid's one
extra step), or mathematically exactly 0, the result must be exactly that
(a zero of either sign); any other result there, and a NaN anywhere else,
is a failure, counted apart from the ulps.

Results go to ``docs/_data/accuracy.json``, which the ``relukit-accuracy``
Sphinx directive (``docs/_ext/relukit_accuracy.py``) renders on the
semantics page.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import math
import multiprocessing
import os
import platform
import shlex
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_JSON = REPO / "docs" / "_data" / "accuracy.json"

#: Significant digits of the mpmath evaluations: some 200 bits, so that even
#: where two terms cancel (the derivatives' roots) well over 100 bits remain
#: after the float64 input's 53 bits have cancelled.
DIGITS = 60

#: ``(precision p with the implicit bit, emin, emax, unsigned view)`` per dtype.
FORMATS = {
    "float16": (11, -14, 15, np.uint16),
    "float32": (24, -126, 127, np.uint32),
    "float64": (53, -1022, 1023, np.uint64),
}
ALL_DTYPES = tuple(FORMATS)
#: relukit's CPU backends: the default (Numba) first.
BACKENDS = ("numba", "numpy")

#: Default numbers of inputs per (operation, parameter set); float16 is
#: always every bit pattern unless ``--float16-points`` asks for fewer.
DEFAULT_POINTS = {"float32": 200_000, "float64": 20_000}

#: Classes of an exact value. ORDINARY is measured in ulps; the others must
#: be matched exactly.
ORDINARY, NAN, ZERO, INF = 0, 1, 2, 3

#: Beyond this |x| (or |beta * x| and the like) the exponentially small terms
#: are below 2**-2900 in absolute value (below 2**-2900 relative to the
#: result where they are added to x or 1): they are replaced by TINY (or
#: dropped), which rounds identically in every dtype even after a product
#: with any finite ``dy`` and changes the error by far less than 1e-300 ulp.
#: mpmath would otherwise take up to a second per point at |x| ~ 1e308.
BIG = 2048
TINY_EXPONENT = -6000


# --- the exact definitions ---------------------------------------------------------
# Each family's ``pair(x, p, dtype)`` returns (f(x), f'(x)) for a finite
# float x given as an mpf; ``at_inf(sign, p, dtype)`` the limits at +-inf;
# NaN gives (nan, nan) unless the family says otherwise. Values are mpf,
# or the Python floats nan and +-inf. An mpf that is exactly 0 means the
# function is exactly 0 there (mpmath does not underflow).


@functools.lru_cache(maxsize=None)
def _mp():
    import mpmath

    return mpmath.mp, mpmath.mpf


@functools.lru_cache(maxsize=None)
def _tiny(sign):
    mp, mpf = _mp()
    return mp.ldexp(mpf(sign), TINY_EXPONENT)


@functools.lru_cache(maxsize=None)
def _const(value):
    """``value`` (a float or a decimal string) as an mpf, converted once:
    the conversions would otherwise cost as much as the functions."""
    _, mpf = _mp()
    return mpf(value)


def _sigmoid(t):
    # 1 / (1 + exp(-t)) directly, never 1 - sigmoid(-t): mpmath's exponent
    # range is unbounded, so nothing overflows, and nothing cancels.
    mp, mpf = _mp()
    return 1 / (1 + mp.exp(-t))


def _in_dtype(value, dtype):
    """A parameter rounded to the dtype, as relukit documents (and as the
    frameworks convert a Python float for a tensor of that dtype)."""
    return _const(float(np.dtype(dtype).type(value)))


def _elu(x, p, dtype):
    mp, mpf = _mp()
    alpha = _in_dtype(p.get("alpha", 1.0), dtype)
    if x > 0:
        return x, mpf(1)
    if x <= -BIG:
        return -alpha, alpha * _tiny(1)
    return alpha * mp.expm1(x), alpha * mp.exp(x)


def _elu_inf(sign, p, dtype):
    _, mpf = _mp()
    alpha = _in_dtype(p.get("alpha", 1.0), dtype)
    return (math.inf, mpf(1)) if sign > 0 else (-alpha, mpf(0))


#: SELU's constants, to the 32 digits PyTorch and JAX write them
#: (Klambauer et al. 2017 give them as the solution of their fixed-point
#: equations); the exact function uses these, relukit their float64 roundings.
SELU_SCALE = "1.0507009873554804934193349852946"
SELU_ALPHA = "1.6732632423543772848170429916717"


def _selu(x, p, dtype):
    mp, mpf = _mp()
    scale, alpha = _const(SELU_SCALE), _const(SELU_ALPHA)
    if x > 0:
        return scale * x, scale
    if x <= -BIG:
        return -scale * alpha, _tiny(1)
    return scale * alpha * mp.expm1(x), scale * alpha * mp.exp(x)


def _selu_inf(sign, p, dtype):
    _, mpf = _mp()
    scale, alpha = _const(SELU_SCALE), _const(SELU_ALPHA)
    return (math.inf, scale) if sign > 0 else (-scale * alpha, mpf(0))


def _celu(x, p, dtype):
    mp, mpf = _mp()
    alpha = _in_dtype(p.get("alpha", 1.0), dtype)
    if x > 0:
        return x, mpf(1)
    if x / alpha <= -BIG:
        return -alpha, _tiny(1)
    return alpha * mp.expm1(x / alpha), mp.exp(x / alpha)


_celu_inf = _elu_inf


def _gelu(x, p, dtype):
    mp, mpf = _mp()
    if p.get("approximate", "none") == "tanh":
        return _gelu_tanh(x)
    # Phi(x) = erfc(-x / sqrt 2) / 2; for |x| >= 64 the tail of Phi is
    # below exp(-2048) (see BIG).
    if x >= 64:
        return x, mpf(1)
    if x <= -64:
        return -_tiny(1), -_tiny(1)
    phi_big = mp.erfc(-x / mp.sqrt(2)) / 2
    density = mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)
    return x * phi_big, phi_big + x * density


#: The cubic coefficient of the tanh approximation, exactly as published.
GELU_CUBIC = "0.044715"


def _gelu_tanh(x):
    # x/2 * (1 + tanh(u)) = x * sigmoid(2u), and its derivative
    # sigmoid(2u) + x * 2 * sigmoid(2u) * sigmoid(-2u) * u'  (sech^2 u =
    # 4 sigmoid(2u) sigmoid(-2u)): the same function without 1 + tanh(u)'s
    # cancellation for u << 0.
    mp, mpf = _mp()
    if x >= BIG:
        return x, mpf(1)
    if x <= -BIG:
        return -_tiny(1), -_tiny(1)
    c = _const(GELU_CUBIC)
    k = mp.sqrt(2 / mp.pi)
    u = k * (x + c * x**3)
    s, s_minus = _sigmoid(2 * u), _sigmoid(-2 * u)
    du = k * (1 + 3 * c * x * x)
    return x * s, s + 2 * x * s * s_minus * du


def _zero_one_inf(sign, p, dtype):
    # The limits of gelu, silu and mish: 0 and 0 at -inf, inf and 1 at +inf.
    _, mpf = _mp()
    return (math.inf, mpf(1)) if sign > 0 else (mpf(0), mpf(0))


def _silu(x, p, dtype):
    mp, mpf = _mp()
    if x >= BIG:
        return x, mpf(1)
    if x <= -BIG:
        return -_tiny(1), -_tiny(1)
    s, s_minus = _sigmoid(x), _sigmoid(-x)
    return x * s, s + x * s * s_minus


def _softplus_smooth(t):
    # log(1 + exp(t)), as t + log1p(exp(-t)) for t > 0 (the same number,
    # without exp of a huge argument).
    mp, _ = _mp()
    return t + mp.log1p(mp.exp(-t)) if t > 0 else mp.log1p(mp.exp(t))


def _mish(x, p, dtype):
    mp, mpf = _mp()
    if x >= BIG:
        return x, mpf(1)
    if x <= -BIG:
        return -_tiny(1), -_tiny(1)
    sp = _softplus_smooth(x)
    t = mp.tanh(sp)
    return x * t, t + x * mp.sech(sp) ** 2 * _sigmoid(x)


def _softplus(x, p, dtype):
    # PyTorch's definition: x itself where beta * x > threshold.
    _, mpf = _mp()
    beta, threshold = _in_dtype(p.get("beta", 1.0), dtype), _in_dtype(p.get("threshold", 20.0), dtype)
    if beta * x > threshold:
        return x, mpf(1)
    return _softplus_smooth_pair(x, p, dtype)


def _softplus_smooth_pair(x, p, dtype):
    """The smooth softplus, ``log1p(exp(beta x)) / beta``, everywhere."""
    _, mpf = _mp()
    beta = _in_dtype(p.get("beta", 1.0), dtype)
    t = beta * x
    if t >= BIG:
        return x, mpf(1)
    if t <= -BIG:
        return _tiny(1), _tiny(1)
    return _softplus_smooth(t) / beta, _sigmoid(t)


_softplus_inf = _zero_one_inf


def _hardswish(x, p, dtype):
    # At the kinks the derivative is the flat pieces': 0 at -3 and 1 at 3
    # (relukit's documented choice, that of PyTorch, JAX and Keras).
    _, mpf = _mp()
    f = mpf(0) if x <= -3 else x if x >= 3 else x * (x + 3) / 6
    d = mpf(0) if x <= -3 else x / 3 + mpf(1) / 2 if x < 3 else mpf(1)
    return f, d


_hardswish_inf = _zero_one_inf


def _squared_relu(x, p, dtype):
    _, mpf = _mp()
    return (x * x, 2 * x) if x > 0 else (mpf(0), mpf(0))


def _squared_relu_inf(sign, p, dtype):
    _, mpf = _mp()
    return (math.inf, math.inf) if sign > 0 else (mpf(0), mpf(0))


def _relu_parameters(p, dtype):
    # relukit's documented semantics (those of Keras, PyTorch and JAX):
    # threshold and max_value rounded to x's dtype, the slope to the
    # result's (the same dtype here).
    t = np.dtype(dtype).type
    cap = p.get("max_value")
    return _relu_constants(float(t(p.get("negative_slope", 0.0))), None if cap is None else float(t(cap)),
                           float(t(p.get("threshold", 0.0))))


@functools.lru_cache(maxsize=None)
def _relu_constants(slope, cap, threshold):
    return _const(slope), None if cap is None else _const(cap), _const(threshold)


def _relu(x, p, dtype):
    _, mpf = _mp()
    slope, cap, threshold = _relu_parameters(p, dtype)
    if x > threshold:
        if cap is not None and x >= cap:
            return cap, mpf(0)
        return x, mpf(1)
    return slope * (x - threshold), slope


def _relu_inf(sign, p, dtype):
    _, mpf = _mp()
    slope, cap, threshold = _relu_parameters(p, dtype)
    if sign > 0:
        return (math.inf, mpf(1)) if cap is None else (cap, mpf(0))
    # Exactly 0 with a zero slope, as documented (not 0 * -inf).
    return (-math.inf if slope > 0 else mpf(0)), slope


def _relu_nan(p, dtype):
    # NaN propagates; the derivative (and so the backward pass) is 0 there.
    _, mpf = _mp()
    return math.nan, mpf(0)


class Family(NamedTuple):
    """The exact definition of one activation and where to look closely."""

    pair: Callable
    at_inf: Callable
    #: ``points(p) -> [float]``: kinks and the points where relukit's
    #: formulas switch branches, sampled densely in float32 and float64.
    points: Callable
    at_nan: Optional[Callable] = None
    #: For softplus: the smooth function, to say how far the switch to x is.
    smooth: Optional[Callable] = None


#: relukit clamps a factor at +-800 (``_elements.clamp``) and switches its
#: sigmoids at 0: branch points of the formulas, worth a dense look.
_CLAMP = [-800.0, 800.0]
#: The interval edges of the C library's erfc (fdlibm's rational
#: approximations switch at |z| = 0.84375, 1.25, 1/0.35, 6 and 28), mapped to
#: x through z = -x / sqrt(2): where libm's error may jump.
_ERFC_EDGES = [s * z * math.sqrt(2) for z in (0.84375, 1.25, 1 / 0.35, 6.0, 28.0) for s in (-1, 1)]


def _gelu_points(p):
    return [0.0] + _CLAMP + ([] if p.get("approximate", "none") == "tanh" else _ERFC_EDGES)


def _softplus_points(p):
    beta, threshold = p.get("beta", 1.0), p.get("threshold", 20.0)
    return [0.0, threshold / beta]


def _relu_points(p):
    points = [0.0, p.get("threshold", 0.0)]
    if p.get("max_value") is not None:
        points.append(p["max_value"])
    return points


FAMILIES: Dict[str, Family] = {
    "relu": Family(_relu, _relu_inf, _relu_points, at_nan=_relu_nan),
    "elu": Family(_elu, _elu_inf, lambda p: [0.0]),
    "selu": Family(_selu, _selu_inf, lambda p: [0.0]),
    "celu": Family(_celu, _celu_inf, lambda p: [0.0]),
    "gelu": Family(_gelu, _zero_one_inf, _gelu_points),
    "silu": Family(_silu, _zero_one_inf, lambda p: [0.0] + _CLAMP),
    "mish": Family(_mish, _zero_one_inf, lambda p: [0.0] + _CLAMP),
    "softplus": Family(_softplus, _softplus_inf, _softplus_points, smooth=_softplus_smooth_pair),
    "hardswish": Family(_hardswish, _hardswish_inf, lambda p: [-3.0, -1.5, 0.0, 3.0]),
    "squared_relu": Family(_squared_relu, _squared_relu_inf, lambda p: [0.0]),
}


# --- rounding the exact value into a dtype ------------------------------------------


def round_exact(value, dtype: str) -> Tuple[float, float, int]:
    """The exact value rounded to nearest-even into ``dtype``.

    Parameters
    ----------
    value : mpmath.mpf or float
        An exact value (a finite mpf), or one of the Python floats nan, +-inf.
    dtype : str
        ``"float16"``, ``"float32"`` or ``"float64"``.

    Returns
    -------
    rounded : float
        The correctly rounded value (a float64 that the dtype holds
        exactly); +-inf where the value rounds past the largest float.
    remainder : float
        ``(value - rounded) / spacing`` with the spacing of the floats
        around ``value`` (at most 0.5 in magnitude; for a value that
        rounds up to inf, measured from ``2**(emax + 1)``).
    klass : int
        ORDINARY, or NAN / ZERO / INF where the result must be exactly that.
    """
    if isinstance(value, float):
        if math.isnan(value):
            return math.nan, 0.0, NAN
        if math.isinf(value):
            return value, 0.0, INF
    p, emin, emax, _ = FORMATS[dtype]
    # mpmath keeps a finite mpf as (sign, odd mantissa, exponent, bit count).
    sign, man, exp, bc = value._mpf_
    if man == 0:
        return 0.0, 0.0, ZERO
    e = exp + bc - 1  # |value| in [2**e, 2**(e + 1))
    if e > emax:
        # Beyond the step after the largest float: only inf is right.
        return (-math.inf if sign else math.inf), 0.0, INF
    k = max(e, emin) - p + 1  # the spacing there is 2**k
    shift = k - exp
    if shift <= 0:
        n, remainder = man << -shift, 0.0
    elif shift > bc + 1:
        # Below a quarter of the spacing: rounds to 0.
        n, remainder = 0, math.ldexp(float(man), -shift)
    else:
        n = man >> shift
        rest = man - (n << shift)
        half = 1 << (shift - 1)
        if rest > half or (rest == half and n & 1):
            n += 1
            rest -= 1 << shift
        remainder = math.ldexp(float(rest), -shift)
    if n >> p and e == emax:
        # Rounded up to 2**(emax + 1): inf, one step after the largest float.
        rounded = math.inf
    else:
        rounded = math.ldexp(float(n), k)
    if sign:
        rounded, remainder = -rounded, -remainder
    return rounded, remainder, ORDINARY


# --- the worker: exact values for a chunk of inputs -------------------------------------


def _init_worker(digits):
    mp, _ = _mp()
    mp.dps = digits
    # The float16 parameter roundings need no warnings here either.
    warnings.simplefilter("ignore")


def exact_chunk(task):
    """Exact values, correctly rounded, for one chunk of inputs.

    Parameters
    ----------
    task : tuple
        ``(family, parameters, dtype, xs, dys, smooth)``: ``xs`` a float64
        array of inputs (values of ``dtype``), ``dys`` the ``dy`` values of
        the backward passes, ``smooth`` whether to also give the smooth
        softplus.

    Returns
    -------
    numpy.ndarray
        Shape ``(3, kinds, len(xs))``: the rounded values, the remainders
        and the classes (see :func:`round_exact`), for the kinds forward,
        derivative, one backward per ``dy`` and, with ``smooth``, the
        smooth forward and derivative.
    """
    family_name, p, dtype, xs, dys, smooth = task
    mp, mpf = _mp()
    family = FAMILIES[family_name]
    kinds = 2 + len(dys) + (2 if smooth else 0)
    out = np.zeros((3, kinds, len(xs)))
    dys_mp = [_const(dy) for dy in dys]
    for i, xv in enumerate(xs):
        xv = float(xv)
        if math.isnan(xv):
            pairs = [family.at_nan(p, dtype) if family.at_nan else (math.nan, math.nan)]
            if smooth:
                pairs.append((math.nan, math.nan))
        elif math.isinf(xv):
            pairs = [family.at_inf(1 if xv > 0 else -1, p, dtype)]
            if smooth:
                pairs.append(family.at_inf(1 if xv > 0 else -1, p, dtype))
        else:
            x = mpf(xv)
            pairs = [family.pair(x, p, dtype)]
            if smooth:
                pairs.append(family.smooth(x, p, dtype))
        f, d = pairs[0]
        values = [f, d] + [_backward_exact(dy, d) for dy in dys_mp]
        if smooth:
            values += list(pairs[1])
        for j, v in enumerate(values):
            out[:, j, i] = round_exact(v, dtype)
    return out


def _backward_exact(dy, d):
    """dy * f'(x): exactly 0 where f'(x) is exactly 0, whatever dy (a select)."""
    if isinstance(d, float):
        if math.isnan(d):
            return math.nan
        return math.copysign(math.inf, d * float(dy))  # d is +-inf, dy finite and nonzero
    if not d:
        return d
    return dy * d


# --- inputs ---------------------------------------------------------------------------


def to_ords(x: np.ndarray) -> np.ndarray:
    """Consecutive numbers of floats: ... -1 for -tiniest, 0 for +-0, 1 for +tiniest.

    +-inf get the number after +-max; NaN gets a meaningless number (callers
    leave NaN out).
    """
    width = x.dtype.itemsize * 8
    bits = x.view(FORMATS[x.dtype.name][3]).astype(np.uint64)
    magnitude = (bits & np.uint64((1 << (width - 1)) - 1)).astype(np.int64)
    negative = (bits >> np.uint64(width - 1)).astype(bool)
    return np.where(negative, -magnitude, magnitude)


def from_ords(ords: np.ndarray, dtype: str) -> np.ndarray:
    """The floats with these consecutive numbers (inverse of :func:`to_ords`)."""
    width = np.dtype(dtype).itemsize * 8
    ords = np.asarray(ords, dtype=np.int64)
    magnitude = np.abs(ords).astype(np.uint64)
    bits = np.where(ords < 0, magnitude | np.uint64(1 << (width - 1)), magnitude)
    return bits.astype(FORMATS[dtype][3]).view(dtype)


def _specials(dtype: str) -> np.ndarray:
    info = np.finfo(dtype)
    values = [0.0, 1.0, info.max, info.tiny, info.smallest_subnormal, 2.0, 0.5]
    values = values + [-v for v in values] + [math.inf, -math.inf, math.nan]
    with np.errstate(over="ignore"):
        return np.array(values, dtype=dtype)


def _classes(y: np.ndarray) -> np.ndarray:
    """-3..3 for -inf, -normal, -subnormal, 0, ...; 9 for NaN."""
    a = np.abs(y.astype(np.float64))
    tiny = float(np.finfo(y.dtype).tiny)
    size = np.where(a == 0, 0, np.where(a < tiny, 1, np.where(np.isinf(a), 3, 2)))
    return np.where(np.isnan(y), 9, np.sign(y.astype(np.float64)).astype(np.int64) * size)


def _edges(call: Callable, xs: np.ndarray, dtype: str, limit: int = 48) -> List[int]:
    """Ords where relukit's result changes class (sign, zero, subnormal, inf).

    Each change between neighbours of the sorted sample is narrowed down by
    bisection on the float grid, calling relukit (the NumPy backend) on one
    element at a time.
    """
    finite = np.sort(to_ords(xs[~np.isnan(xs)]))
    finite = np.unique(finite)
    classes = _classes(call(from_ords(finite, dtype)))
    changes = np.nonzero(classes[1:] != classes[:-1])[0]
    if len(changes) > limit:
        # Keep a spread of them: the first, the last and evenly between.
        changes = changes[np.linspace(0, len(changes) - 1, limit).astype(int)]
    edges = []
    for i in changes:
        lo, hi = int(finite[i]), int(finite[i + 1])
        c_lo = classes[i]
        while hi - lo > 1:
            mid = lo + (hi - lo) // 2
            if _classes(call(from_ords([mid], dtype)))[0] == c_lo:
                lo = mid
            else:
                hi = mid
        edges.append(hi)
    return edges


def make_inputs(
    dtype: str, points: Optional[int], family: Family, p: dict, calls: Sequence[Callable], seed: int
) -> np.ndarray:
    """The inputs for one (activation, parameter set, dtype), unique and sorted.

    ``points`` None means every bit pattern (float16 only). Otherwise about
    ``points`` inputs: 40 % evenly spaced bit patterns over the whole range,
    25 % uniform in [-40, 40], 15 % log-uniform magnitudes in [2**-30, 2**12]
    with both signs, the special values, and 20 % in windows of consecutive
    floats around 0, the family's points and the class changes of
    relukit's results (``calls``: the forward and derivative, NumPy backend).
    """
    if points is None:
        width = np.dtype(dtype).itemsize * 8
        return np.arange(1 << width, dtype=np.uint64).astype(FORMATS[dtype][3]).view(dtype)
    rng = np.random.default_rng(seed)
    top = int(to_ords(np.array([np.inf], dtype=dtype))[0])
    stride = from_ords(np.unique(np.linspace(-top, top, max(int(0.4 * points), 2)).round()), dtype)
    uniform = rng.uniform(-40.0, 40.0, int(0.25 * points)).astype(dtype)
    magnitudes = np.exp2(rng.uniform(-30.0, 12.0, int(0.15 * points)))
    logs = (magnitudes * rng.choice([-1.0, 1.0], len(magnitudes))).astype(dtype)
    base = np.concatenate([_specials(dtype), stride, uniform, logs])
    centres = set()
    with np.errstate(over="ignore"):
        for point in family.points(p):
            centres.add(int(to_ords(np.array([point], dtype=dtype))[0]))
    for call in calls:
        centres.update(_edges(call, base, dtype))
    centres = sorted(centres)
    half = max(8, int(0.2 * points) // (2 * max(len(centres), 1)))
    windows = [np.arange(c - half, c + half + 1) for c in centres]
    window_ords = np.clip(np.concatenate(windows), -top, top) if windows else np.zeros(0, np.int64)
    x = np.concatenate([base, from_ords(window_ords, dtype)])
    # Unique by bit pattern (NaN included once), in the grid's order.
    ords = to_ords(x)
    nan = np.isnan(x)
    keep = np.unique(ords[~nan])
    return np.concatenate([from_ords(keep, dtype), x[nan][:1]])


# --- comparing --------------------------------------------------------------------------


def dy_values(dtype: str) -> List[float]:
    """The ``dy`` of the backward passes: a sign flip, a non-dyadic 3 and 1/3,
    and a large value (a third of the largest float) that makes products overflow."""
    t = np.dtype(dtype).type
    return [float(t(v)) for v in (-0.75, 3.0, 1 / 3, float(np.finfo(dtype).max) / 3)]


def compare(r: np.ndarray, rounded: np.ndarray, remainder: np.ndarray, klass: np.ndarray) -> dict:
    """Errors of the results ``r`` against the exact values (see :func:`round_exact`).

    Returns
    -------
    dict
        ``fail`` (bool mask), ``ulp`` (distance in floats from the correctly
        rounded value; NaN where not measured), ``error`` (distance from the
        exact value, in ulps).
    """
    dtype = r.dtype.name
    R = rounded.astype(dtype)
    r_nan = np.isnan(r)
    fail = (klass == NAN) & ~r_nan
    fail |= (klass == ZERO) & ~(r == 0)
    fail |= (klass == INF) & ~(r == R)
    ordinary = (klass == ORDINARY) & ~np.isnan(R)
    fail |= ordinary & r_nan
    measured = ordinary & ~r_nan
    o_r = np.where(measured, to_ords(np.where(measured, r, 0).astype(dtype)), 0)
    o_R = np.where(measured, to_ords(np.where(measured, R, 0).astype(dtype)), 0)
    # Ords of float64 reach 2**63 - 2**52: the difference of two of opposite
    # signs would wrap in int64, but is then huge and float64 is exact enough.
    small = (np.abs(o_r) < (1 << 62)) & (np.abs(o_R) < (1 << 62))
    same = (o_r >= 0) == (o_R >= 0)
    d = np.where(small | same, (o_r - o_R).astype(np.float64), o_r.astype(np.float64) - o_R.astype(np.float64))
    ulp = np.where(measured, np.abs(d), np.nan)
    error = np.where(measured, np.abs(d - remainder), np.nan)
    return {"fail": fail, "ulp": ulp, "error": error}


def _show(v) -> str:
    v = float(v)
    return repr(v) if math.isfinite(v) or math.isnan(v) else ("inf" if v > 0 else "-inf")


class Accumulator:
    """The worst error and the failures of one (operation, set, dtype, backend)."""

    def __init__(self):
        self.points = 0
        self.ulp = -1.0
        self.error = -1.0
        self.at: dict = {}
        self.error_at: dict = {}
        self.counts = {"0": 0, "1": 0, "2": 0, "more": 0}
        self.failures = 0
        self.examples: List[dict] = []

    def add(self, c: dict, x, r, rounded, dy=None):
        ulp, error = c["ulp"], c["error"]
        self.points += len(x)
        ok = ~np.isnan(ulp)
        u = ulp[ok]
        self.counts["0"] += int(np.sum(u == 0))
        self.counts["1"] += int(np.sum(u == 1))
        self.counts["2"] += int(np.sum(u == 2))
        self.counts["more"] += int(np.sum(u > 2))

        def where(i):
            place = {"x": _show(x[i]), "result": _show(r[i]), "correctly_rounded": _show(rounded[i])}
            if dy is not None:
                place = {"dy": _show(dy), **place}
            return place

        if ok.any():
            i = int(np.nanargmax(np.where(ok, ulp, -1.0)))
            if ulp[i] > self.ulp:
                self.ulp, self.at = float(ulp[i]), where(i)
            j = int(np.nanargmax(np.where(ok, error, -1.0)))
            if error[j] > self.error:
                self.error, self.error_at = float(error[j]), where(j)
        failed = np.nonzero(c["fail"])[0]
        self.failures += len(failed)
        for i in failed[: max(0, 5 - len(self.examples))]:
            self.examples.append(where(i))

    def result(self) -> dict:
        return {
            "points": self.points,
            "worst_ulp": None if self.ulp < 0 else int(self.ulp),
            "at": self.at,
            "worst_error": None if self.error < 0 else round(self.error, 4),
            "error_at": self.error_at,
            "ulp_counts": self.counts,
            "failures": self.failures,
            "failure_examples": self.examples,
        }


# --- driving ----------------------------------------------------------------------------


class Unit(NamedTuple):
    """One activation with one parameter set, in one dtype."""

    family: str
    parameter_set: str
    parameters: dict
    dtype: str


def activations(names: Optional[Sequence[str]] = None):
    """``(family, parameter sets, operations, unmeasured)`` from relukit's table."""
    from relukit._ops import OPERATIONS

    families: Dict[str, dict] = {}
    unmeasured = []
    for op in OPERATIONS:
        family = op.name
        for suffix in ("_grad", "_backward"):
            if family.endswith(suffix):
                family = family[: -len(suffix)]
        if names and family not in names and op.name not in names:
            continue
        if family not in FAMILIES:
            unmeasured.append(op.name)
            continue
        families.setdefault(family, {"sets": op.parameter_sets, "ops": []})["ops"].append(op.name)
    return families, unmeasured


def relukit_results(unit: Unit, x: np.ndarray, dys: Sequence[float], backend: str) -> dict:
    """relukit's forward, derivative and backward passes on ``x`` (one backend)."""
    import relukit

    p = unit.parameters
    out = {}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["forward"] = getattr(relukit, unit.family)(x, **p, backend=backend)
        out["grad"] = getattr(relukit, unit.family + "_grad")(x, **p, backend=backend)
        backward = getattr(relukit, unit.family + "_backward")
        out["backward"] = [backward(np.full_like(x, dy), x, **p, backend=backend) for dy in dys]
    return out


def _git_source() -> dict:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        return {"commit": commit, "src_modified": bool(dirty)}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "src_modified": None}


def _machine() -> dict:
    try:
        from relukit._machine import cpu_model

        cpu = cpu_model()
    except ImportError:
        cpu = platform.processor() or platform.machine()
    return {"cpu": cpu, "system": f"{platform.system()} {platform.machine()}", "cores": os.cpu_count()}


def _versions() -> dict:
    import mpmath
    import numba

    import relukit

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "mpmath": mpmath.__version__,
        "relukit": relukit.__version__,
    }


def method_text(points: dict, digits: int, other_sets: float) -> List[str]:
    """The method, as the docs print it (one paragraph per string)."""
    counts = []
    for dtype, n in points.items():
        if dtype == "float16" and n is None:
            counts.append("every one of the 65,536 float16 bit patterns")
        else:
            counts.append(
                f"about {n:,} {dtype} inputs per operation with the default parameters and "
                f"{int(n * other_sets):,} with each other parameter set"
            )
    if other_sets < 1 and points.get("float16", 0) is None:
        counts[list(points).index("float16")] += (
            f" with the default parameters, about {int(65536 * other_sets):,} (sampled like "
            "float32) with each other parameter set"
        )
    return [
        "Every operation of the table with each of its parameter sets is computed by relukit "
        "with the default backend (Numba) and with ``backend=\"numpy\"``: the function, its "
        "derivative (``_grad``) and its backward pass (``_backward``, with ``dy`` = -0.75, 3, "
        "1/3 and a third of the dtype's largest float, each rounded to the dtype). Each result "
        "is compared with the exact value of the mathematical definition, evaluated with "
        f"mpmath at {digits} significant digits and correctly rounded (to nearest, ties to "
        "even) into the dtype. The definitions are written apart from relukit's formulas; at "
        "kinks, NaN and infinities they follow relukit's documented conventions (those of "
        "PyTorch, JAX and Keras), parameters are rounded to the dtype as relukit documents, "
        "and softplus is PyTorch's: ``x`` itself where ``beta * x > threshold``.",
        "Inputs: " + "; ".join(counts) + ". The float32 and float64 inputs are evenly spaced "
        "bit patterns over the whole range (each binade gets its share, subnormals and "
        "infinities included), uniform samples in [-40, 40], log-uniform magnitudes from "
        "2**-30 to 2**12 with both signs, special values (0, +-1, the smallest subnormal and "
        "normal, the largest float, +-inf, NaN), and every float in windows around 0, the "
        "kinks, the points where relukit's formulas switch branches (the clamp at +-800, "
        "the edges of the C library's erfc intervals, softplus' threshold) and the points "
        "where relukit's result changes sign or class (zero, subnormal, normal, infinite), "
        "located by bisection.",
        "The error is counted in floats of the result's dtype: the worst ulp is the number "
        "of floats between relukit's result and the correctly rounded exact value (0: "
        "correctly rounded). Subnormals are counted like any other float (their spacing is "
        "that of the smallest normal binade), +0 and -0 are the same float, and infinity "
        "counts as the float right after the largest one, so a result that overflows one "
        "float too early is 1 ulp off. Where the exact value is NaN, infinite (or rounds "
        "to infinity), or exactly 0 (not merely underflowing), the result must be exactly "
        "that, a zero of either sign; a mismatch there, or a NaN anywhere else, is a "
        "failure and is listed apart. The JSON also gives the error from the exact value "
        "itself (worst_error, in ulps of the spacing around the exact value).",
    ]


def run(
    names: Optional[Sequence[str]] = None,
    dtypes: Sequence[str] = ALL_DTYPES,
    points: Optional[dict] = None,
    processes: int = 2,
    digits: int = DIGITS,
    seed: int = 0,
    chunk: int = 1000,
    progress: bool = True,
    other_sets: float = 0.25,
    backends: Sequence[str] = BACKENDS,
) -> dict:
    """Measure, and return the report (the content of the JSON).

    Parameters
    ----------
    names : sequence of str, optional
        Activations (``"gelu"``) or operations (``"gelu_grad"``: its whole
        activation is measured); default every one in the table.
    dtypes : sequence of str
        Among float16, float32, float64.
    points : dict, optional
        Inputs per (activation, parameter set) for each dtype; None for
        float16 means all 65,536 bit patterns. Defaults: DEFAULT_POINTS.
    processes : int
        Worker processes for the mpmath evaluations (1: none, in-process).
    digits : int
        Significant digits of the mpmath evaluations.
    seed : int
        Seed of the random samples.
    chunk : int
        Inputs per task of a worker.
    other_sets : float
        The share of the float32 and float64 points that parameter sets
        other than the defaults get.
    backends : sequence of str
        relukit's backends to measure (default: Numba, the default, and NumPy).
    progress : bool
        Print progress to stderr.

    Returns
    -------
    dict
        The report: metadata, method, results, the softplus switch and the
        operations not measured.
    """
    start = time.perf_counter()
    # The source as the run starts: relukit is imported now, so later edits
    # to src/ do not change what is measured.
    source = _git_source()
    wanted = {"float16": None, **DEFAULT_POINTS, **(points or {})}
    points = {dtype: wanted[dtype] for dtype in dtypes}
    families, unmeasured = activations(names)
    if not families:
        raise SystemExit(f"no measurable operation among {names}")
    import relukit

    units: List[Unit] = []
    inputs: List[np.ndarray] = []
    for family_name, info in families.items():
        for number, (set_name, p) in enumerate(info["sets"].items()):
            for dtype in dtypes:
                # The first set is the defaults; the others change a few
                # things and get a share of the points (of float16's
                # 65,536 too, sampled like float32; 1.0: all of them).
                n_points = points[dtype]
                if number and other_sets < 1:
                    n_points = max(1, int((65536 if n_points is None else n_points) * other_sets))
                unit = Unit(family_name, set_name, dict(p), dtype)
                f = getattr(relukit, family_name)
                g = getattr(relukit, family_name + "_grad")

                def calls(fn):
                    def call(v, fn=fn):
                        with np.errstate(all="ignore"), warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            return np.asarray(fn(v, **p, backend="numpy"))

                    return call

                units.append(unit)
                inputs.append(
                    make_inputs(dtype, n_points, FAMILIES[family_name], p, [calls(f), calls(g)], seed)
                )
    tasks = []
    for n, unit in enumerate(units):
        x = inputs[n]
        smooth = FAMILIES[unit.family].smooth is not None
        for s in range(0, len(x), chunk):
            tasks.append(
                ((n, s), (unit.family, unit.parameters, unit.dtype, x[s : s + chunk].astype(np.float64),
                          dy_values(unit.dtype), smooth))
            )
    total = sum(len(x) for x in inputs)
    if progress:
        print(f"{len(units)} units, {total:,} inputs, {len(tasks)} tasks, {processes} process(es)",
              file=sys.stderr)
    exact: Dict[Tuple[int, int], np.ndarray] = {}
    done = 0
    if processes > 1:
        # spawn: the workers import only this module and mpmath, not the
        # parent's Numba threads (forking a threaded process is unsafe).
        context = multiprocessing.get_context("spawn")
        with context.Pool(processes, initializer=_init_worker, initargs=(digits,)) as pool:
            keys = [k for k, _ in tasks]
            results = pool.imap(exact_chunk, [t for _, t in tasks], chunksize=1)
            # Numba compiles each kernel on first use (seconds each): done
            # here while the workers run.
            for unit in units:
                for backend in backends:
                    relukit_results(unit, np.zeros(4, unit.dtype), [1.0], backend)
            for key, result in zip(keys, results):
                exact[key] = result
                done += result.shape[2]
                _progress(progress, done, total, start)
    else:
        _init_worker(digits)
        warnings.resetwarnings()
        for key, task in tasks:
            exact[key] = exact_chunk(task)
            done += exact[key].shape[2]
            _progress(progress, done, total, start)
    if progress:
        print("\ncomparing", file=sys.stderr)

    results, switch = [], []
    for n, unit in enumerate(units):
        x = inputs[n]
        starts = range(0, len(x), chunk)
        e = np.concatenate([exact[(n, s)] for s in starts], axis=2)
        rounded, remainder, klass = e[0], e[1], e[2].astype(np.int64)
        dys = dy_values(unit.dtype)
        for backend in backends:
            got = relukit_results(unit, x, dys, backend)
            kinds = [("", got["forward"], 0, None), ("_grad", got["grad"], 1, None)]
            kinds += [("_backward", b, 2 + j, dys[j]) for j, b in enumerate(got["backward"])]
            accumulators: Dict[str, Accumulator] = {}
            by_dy = []
            for suffix, r, k, dy in kinds:
                acc = accumulators.setdefault(suffix, Accumulator())
                c = compare(r, rounded[k], remainder[k], klass[k])
                acc.add(c, x, r, rounded[k], dy)
                if dy is not None:
                    # Each dy apart too: a huge dy times a derivative that
                    # underflows in float64 is a different story from dy = 3.
                    one = Accumulator()
                    one.add(c, x, r, rounded[k], dy)
                    res = one.result()
                    by_dy.append({"dy": _show(dy), "worst_ulp": res["worst_ulp"], "at": res["at"],
                                  "failures": res["failures"]})
            for suffix, acc in accumulators.items():
                results.append(
                    {
                        "operation": unit.family + suffix,
                        "parameter_set": unit.parameter_set,
                        "parameters": unit.parameters,
                        "dtype": unit.dtype,
                        "backend": backend,
                        **acc.result(),
                        **({"by_dy": by_dy} if suffix == "_backward" else {}),
                    }
                )
            if FAMILIES[unit.family].smooth is not None:
                switch += _switch(unit, x, got, rounded, remainder, klass, len(dys), backend)
    seconds = time.perf_counter() - start
    return {
        "date": datetime.date.today().isoformat(),
        "seconds": round(seconds, 1),
        "machine": _machine(),
        "processes": processes,
        "versions": _versions(),
        "source": source,
        "digits": digits,
        "points": {d: (65536 if n is None else n) for d, n in points.items()},
        "other_sets_share": other_sets,
        "inputs_per_unit": {
            d: [min(sizes), max(sizes)]
            for d in dtypes
            for sizes in [[len(x) for u, x in zip(units, inputs) if u.dtype == d]]
        },
        "dy": {d: dy_values(d) for d in dtypes},
        "method": method_text(points, digits, other_sets),
        "results": results,
        "softplus_switch": switch,
        "not_measured": [
            {"operation": name, "why": "no exact definition in tools/accuracy.py"} for name in unmeasured
        ],
    }


def _switch(unit, x, got, rounded, remainder, klass, n_dys, backend) -> List[dict]:
    """How far softplus' switch to x (beta * x > threshold) is from the smooth function."""
    p = {"beta": 1.0, "threshold": 20.0, **unit.parameters}
    t = np.dtype(unit.dtype).type
    with np.errstate(all="ignore"):
        above = (float(t(p["beta"])) * x.astype(np.float64) > float(t(p["threshold"]))) & np.isfinite(x)
    out = []
    for suffix, r, k in (("", got["forward"], 2 + n_dys), ("_grad", got["grad"], 3 + n_dys)):
        acc = Accumulator()
        c = compare(r[above], rounded[k][above], remainder[k][above], klass[k][above])
        acc.add(c, x[above], r[above], rounded[k][above])
        res = acc.result()
        out.append(
            {
                "operation": "softplus" + suffix,
                "parameter_set": unit.parameter_set,
                "parameters": unit.parameters,
                "dtype": unit.dtype,
                "backend": backend,
                "points": res["points"],
                "worst_ulp_from_smooth": res["worst_ulp"],
                "at": res["at"],
            }
        )
    return out


def _progress(show, done, total, start):
    if show:
        elapsed = time.perf_counter() - start
        left = elapsed / done * (total - done) if done else 0.0
        print(f"\r{done:,}/{total:,} inputs, {elapsed:.0f} s, about {left:.0f} s left   ",
              end="", file=sys.stderr)


def _command(argv: Sequence[str]) -> str:
    # The command as typed from the repository root, without this machine's paths.
    return " ".join(["python", "tools/accuracy.py"] + [shlex.quote(a) for a in argv])


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", nargs="+", help="activations or operations (default: all)")
    parser.add_argument("--dtypes", nargs="+", choices=ALL_DTYPES, default=list(ALL_DTYPES))
    parser.add_argument("--float16-points", type=int, default=None,
                        help="a sample of this many float16 inputs instead of all 65,536")
    parser.add_argument("--float32-points", type=int, default=DEFAULT_POINTS["float32"])
    parser.add_argument("--float64-points", type=int, default=DEFAULT_POINTS["float64"])
    parser.add_argument("--processes", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--other-sets", type=float, default=0.25,
                        help="share of the float32/float64 points for non-default parameter sets")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--digits", type=int, default=DIGITS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=str(DEFAULT_JSON), help="output (default docs/_data/accuracy.json)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    points = {
        "float16": args.float16_points,
        "float32": args.float32_points,
        "float64": args.float64_points,
    }
    report = run(
        args.ops, args.dtypes, points, processes=max(1, args.processes), digits=args.digits,
        seed=args.seed, progress=not args.quiet, other_sets=args.other_sets, backends=args.backends,
    )
    report = {"command": _command(argv), **report}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    if not args.quiet:
        print_summary(report)
    return 0


def print_summary(report: dict) -> None:
    """Worst ulp per operation and dtype (both backends) on stdout."""
    table: Dict[str, Dict[str, str]] = {}
    for r in report["results"]:
        row = r["operation"] + ("" if r["parameter_set"] == "plain" else f" [{r['parameter_set']}]")
        cell = table.setdefault(row, {})
        worst = "-" if r["worst_ulp"] is None else str(r["worst_ulp"])
        fail = f" F{r['failures']}" if r["failures"] else ""
        cell[r["dtype"]] = (cell.get(r["dtype"], "") + "/" if r["dtype"] in cell else "") + worst + fail
    dtypes = list(report["points"])
    print(f"{'operation':40s}" + "".join(f"{d:>20s}" for d in dtypes) + "   (numba/numpy)")
    for row, cells in table.items():
        print(f"{row:40s}" + "".join(f"{cells.get(d, ''):>20s}" for d in dtypes))
    for s in report["softplus_switch"]:
        print(f"switch {s['operation']} [{s['parameter_set']}] {s['dtype']} {s['backend']}: "
              f"{s['worst_ulp_from_smooth']} ulp from the smooth function at {s['at']}")
    print(f"{report['seconds']} s")


if __name__ == "__main__":
    sys.exit(main())
