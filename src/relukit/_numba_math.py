"""exp, expm1 and log1p (and an erfc) in float64 that LLVM can vectorize, for the Numba kernels.

Numba compiles NumPy's and ``math``'s elementary functions to calls of the
C library, one element at a time: a loop that calls them does not
vectorize, and the smooth rectifiers ran many times slower than relu. The
functions here are written with arithmetic, comparisons that become
selects, and integer operations on the bits of doubles only, so that a
driver's loop compiles to packed instructions on any CPU LLVM targets (no
SVML or other runtime needed). ``relukit._numba_drivers`` registers them as
the Numba implementations of ``relukit._ops._elements.exp`` and co; the
NumPy backend and plain-Python kernel bodies keep NumPy's and ``math``'s.

Accuracy, the largest error found in float64 ulps against mpmath on random
sweeps of each range (``tools/fit_elementary.py`` fits the coefficients):
exp 0.63 (1 in the subnormal results), expm1 1.06, log1p 0.79, erfc 3.0
(erfc64 is not registered: see :func:`register`).
The C library's are within about 0.5, 1, 1 and 1, so the Numba and NumPy
backends may differ in the last bits (many more ulps of the result only
where a kernel's own formula cancels, near a derivative's zero).

Special values are those of the C library: exp(-inf) = 0, exp(inf) = inf,
overflow to inf, gradual underflow through the subnormals, NaN in, NaN
out, the sign of zeros kept where the function keeps it.
"""

from __future__ import annotations

import math

from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic, overload, register_jitable

from ._ops import _elements

# --- bits of doubles --------------------------------------------------------------


@intrinsic
def _bits(typingctx, x):
    """The int64 whose bits are those of the float64 ``x`` (a vectorizable bitcast)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _double(typingctx, n):
    """The float64 whose bits are those of the int64 ``n``."""
    if n != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def fdiv(typingctx, n, d):
    """``n / d`` in float64 as IEEE 754 divides (inf or NaN for ``d == 0``).

    Numba's ``/`` checks for a zero divisor to raise ZeroDivisionError, a
    branch out of the loop that stops LLVM from vectorizing it.
    """
    if n != types.float64 or d != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.fdiv(args[0], args[1])

    return types.float64(types.float64, types.float64), codegen


# --- constants (tools/fit_elementary.py) -----------------------------------------

#: ln2 rounded down to 32 bits, so that k * LN2_HI is exact for every k
#: used here; LN2_LO is the rest.
LN2_HI = 0.6931471803691238
LN2_LO = 1.9082149292705877e-10
LOG2E = 1.4426950408889634
#: 1.5 * 2**52: adding it rounds |t| < 2**51 to an integer, which then sits
#: in the low bits of the sum (no float-to-int conversion, which is
#: undefined in LLVM for NaN and would block vectorization guarantees).
SHIFTER = 6755399441055744.0
SHIFTER_BITS = 0x4338000000000000
#: exp(x) overflows above this and is 0 below EXP_MIN (less than half the
#: smallest subnormal); arguments are clamped to just outside both.
EXP_MAX = 709.782712893384
EXP_MIN = -745.1332191019412
EXPONENT_BIAS = 1023

#: exp(r) = 1 + r + r**2 * Q(r) for |r| <= ln2 / 2.
Q0 = 0.5
Q1 = 0.1666666666666667
Q2 = 0.04166666666666667
Q3 = 0.008333333333326141
Q4 = 0.0013888888888883752
Q5 = 0.00019841269874800493
Q6 = 2.4801587325533363e-05
Q7 = 2.7557255425746435e-06
Q8 = 2.7557273661348637e-07
Q9 = 2.5105206373957107e-08
Q10 = 2.0914679376584005e-09

#: log1p(f) = 2 s + s * z * P(z), s = f / (2 + f), z = s**2, |s| <= 3 - 2 sqrt(2).
P0 = 0.666666666666667
P1 = 0.39999999999899505
P2 = 0.28571428625975487
P3 = 0.2222221113479508
P4 = 0.18182889125261725
P5 = 0.15331721600555942
P6 = 0.1461644968504464

#: |z| < ERFC_SPLIT: erf(z) = z + z * Y(z**2).
Y0 = 0.1283791670955126
Y1 = -0.3761263890318375
Y2 = 0.11283791670954745
Y3 = -0.026866170645031
Y4 = 0.005223977624080742
Y5 = -0.000854832691425112
Y6 = 0.00012055327421282683
Y7 = -1.4925463570287673e-05
Y8 = 1.645791434974609e-06
Y9 = -1.630309508468871e-07
Y10 = 1.4205594850503082e-08
Y11 = -8.879702704983243e-10

#: |z| >= ERFC_SPLIT: erfc(|z|) = exp(-z**2) * G(t) / (1 + 2|z|), t = (|z| - K) / (|z| + K)
#: (a Chebyshev form of Shepherd and Laframboise, 1981): G lies in [1, 1.13] and is
#: smooth in t over the whole range, so one polynomial of degree 20 serves.
ERFC_SPLIT = 0.84375
ERFC_K = 4.0
#: erfc is 0 in float64 from about 27.23.
ERFC_MAX = 28.0
G0 = 1.2329951186255526
G1 = -0.1396211168405625
G2 = 0.015379652102621818
G3 = 0.06809705425468868
G4 = -0.10103906603645697
G5 = 0.09373283499857253
G6 = -0.06633036580785234
G7 = 0.037167515531804175
G8 = -0.01619773412132103
G9 = 0.005031970057227564
G10 = -0.0007577727574495145
G11 = -0.00019925735685984868
G12 = 0.0001506189784229502
G13 = -2.4395754658967213e-05
G14 = -1.1213612491171206e-05
G15 = 5.6983268022633355e-06
G16 = 2.7822278343251704e-07
G17 = -8.022932677869837e-07
G18 = 8.977741067767611e-08
G19 = 8.340047662559237e-08
G20 = -2.257524091189377e-08

#: Clears the low 27 bits of a double: the rest squares exactly.
HALF_MASK = -(1 << 27)

#: Bits of sqrt(2)/2 rounded up: mantissas are brought into [sqrt(2)/2, sqrt(2)).
SQRT_HALF_BITS = 0x3FE6A09E667F3BCD
MANTISSA_MASK = 0x000FFFFFFFFFFFFF


# --- shared pieces ------------------------------------------------------------------


@register_jitable(inline="always")
def _exp_reduce(x):
    """``(r, dr, k)`` with ``x = k * ln2 + r + dr``, ``|r| <= ln2 / 2``, for clamped ``x``.

    ``k * LN2_HI`` and ``x - k * LN2_HI`` are exact (the latter by
    Sterbenz); ``dr`` is what rounding ``r`` lost (Fast2Sum), worth 0.5 ulp
    of the result where the polynomial's terms cancel.
    """
    shifted = x * LOG2E + SHIFTER
    k = _bits(shifted) - SHIFTER_BITS
    kf = shifted - SHIFTER
    hi = x - kf * LN2_HI
    lo = kf * LN2_LO
    r = hi - lo
    dr = (hi - r) - lo
    return r, dr, k


@register_jitable(inline="always")
def _exp_poly(r):
    """``exp(r) - 1 - r`` for ``|r| <= ln2 / 2``, in Estrin's form (short dependency chains)."""
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    a = Q0 + Q1 * r
    b = Q2 + Q3 * r
    c = Q4 + Q5 * r
    d = Q6 + Q7 * r
    e = Q8 + Q9 * r
    q = (a + b * r2) + (c + d * r2) * r4 + (e + Q10 * r2) * r8
    return r2 * q


@register_jitable(inline="always")
def _pow2(k):
    """``2.0**k`` for ``-1022 <= k <= 1023``, from the exponent bits."""
    return _double((k + EXPONENT_BIAS) << 52)


@register_jitable(inline="always")
def _clamp(x, lo, hi):
    """``x`` limited to ``[lo, hi]``; NaN stays NaN (both comparisons are false)."""
    if x > hi:
        return hi
    if x < lo:
        return lo
    return x


# --- the functions ----------------------------------------------------------------


@register_jitable(inline="always")
def _exp_finish(r, dr, k):
    """``2**k * exp(r + dr)``, the power of two applied in two halves.

    Two factors keep each a normal number from the first subnormal results
    to overflow, so one multiplication rounds (gradually) to a subnormal
    and the other overflows to inf just where exp does.
    """
    # 1 + r split exactly (Fast2Sum) so that only the last addition rounds
    # at the result's scale: 0.56 ulp at worst instead of 0.83, which keeps
    # the kernels' cancelling sums (derivatives near their zeros) close to
    # NumPy's nearly correctly rounded exp.
    hi = 1.0 + r
    lo = (1.0 - hi) + r
    p = hi + (lo + (_exp_poly(r) + dr))
    k1 = k >> 1
    return p * _pow2(k1) * _pow2(k - k1)


@register_jitable(inline="always")
def exp64(x):
    """``exp(x)``."""
    r, dr, k = _exp_reduce(_clamp(x, EXP_MIN - 1.0, EXP_MAX + 1.0))
    return _exp_finish(r, dr, k)


@register_jitable(inline="always")
def erfc64(x):
    """``erfc(x)``: ``1 - erf(x)``, ``erf(x) = x + x * Y(x**2)``, for ``|x| < 27/32``; else, with ``a = |x|``,

    ``exp(-a**2) * G(t) / (1 + 2a)``, and ``2 - erfc(a)`` for ``x < 0`` (no
    cancellation: erfc(a) < 0.24). ``exp(-a**2)`` magnifies an error in
    ``a**2`` by ``a**2`` (up to 740): ``a**2 = h**2 + (a - h)(a + h)`` with
    ``h`` the upper 26 bits of ``a``, ``h**2`` exact, and the small part
    joins the reduced argument of exp.
    """
    a = _clamp(abs(x), 0.0, ERFC_MAX)
    w = x * x
    y = Y11
    y = Y10 + w * y
    y = Y9 + w * y
    y = Y8 + w * y
    y = Y7 + w * y
    y = Y6 + w * y
    y = Y5 + w * y
    y = Y4 + w * y
    y = Y3 + w * y
    y = Y2 + w * y
    y = Y1 + w * y
    y = Y0 + w * y
    zy = x * y
    # 1/4 <= x: x - 1/2 is exact and 1/2 - (...) cancels less than 1 - erf.
    near = (0.5 - ((x - 0.5) + zy)) if x >= 0.25 else (1.0 - (x + zy))
    h = _double(_bits(a) & HALF_MASK)
    r, dr, k = _exp_reduce(-(h * h))
    small = -((a - h) * (a + h))
    r2 = r + small
    # TwoSum: what rounding r + small lost, exactly.
    rb = r2 - r
    dr2 = dr + ((r - (r2 - rb)) + (small - rb))
    t = fdiv(a - ERFC_K, a + ERFC_K)
    t2 = t * t
    # Even and odd halves: two shorter dependency chains.
    ge = G20
    ge = G18 + t2 * ge
    ge = G16 + t2 * ge
    ge = G14 + t2 * ge
    ge = G12 + t2 * ge
    ge = G10 + t2 * ge
    ge = G8 + t2 * ge
    ge = G6 + t2 * ge
    ge = G4 + t2 * ge
    ge = G2 + t2 * ge
    ge = G0 + t2 * ge
    go = G19
    go = G17 + t2 * go
    go = G15 + t2 * go
    go = G13 + t2 * go
    go = G11 + t2 * go
    go = G9 + t2 * go
    go = G7 + t2 * go
    go = G5 + t2 * go
    go = G3 + t2 * go
    go = G1 + t2 * go
    g = ge + t * go
    # exp(-a**2) = 2**k * (1 + q): q joins g before any rounding of 1 + q,
    # and 1 + 2a is divided with its rounding error dd taken back.
    q = r2 + (_exp_poly(r2) + dr2)
    d = 2.0 * a + 1.0
    dd = 1.0 - (d - 2.0 * a)
    m = fdiv(g + g * q, d)
    m = m - m * fdiv(dd, d)
    k1 = k >> 1
    tail = m * _pow2(k1) * _pow2(k - k1)
    far = 2.0 - tail if x < 0.0 else tail
    return near if abs(x) < ERFC_SPLIT else far


@register_jitable(inline="always")
def expm1_64(x):
    """``exp(x) - 1``, accurate near 0: with ``s = 2**k`` and ``e = expm1(r)``,

    ``k <= 0``: ``(s - 1) + s * e`` (``s - 1`` exact, no cancellation for
    ``x < -ln2 / 2``, and ``e`` itself for ``k = 0``); ``k > 0``:
    ``s * ((1 - 1 / s) + e)``; ``e = r + (exp(r) - 1 - r)`` is added in
    its two parts, ``r`` first: the sum with the constant can cancel (to
    0.2 for ``k = 1``), and one rounding of ``e`` before it cost 2 ulps. Below -60 the result is -1 and beyond
    EXP_MAX inf; ``x`` itself where ``x == 0`` (keeps -0.0).
    """
    v = _clamp(x, -60.0, EXP_MAX + 1.0)
    r, dr, k = _exp_reduce(v)
    # exp(r + dr) - 1 - r = rr + dr * (1 + r) to well below an ulp.
    rr = _exp_poly(r) + (dr + dr * r)
    kp = max(k, 0)
    k1 = kp >> 1
    tail = _pow2(-min(kp, 1000))
    # k = 1: 1/2 + r is exact and may cancel, so r goes first; k >= 2: the
    # sum is >= 0.45 and 1 - 2**-k would round for k > 53, so 2**-k joins
    # the small terms.
    m = ((0.5 + r) + rr) if k == 1 else (1.0 + (r + (rr - tail)))
    up = m * _pow2(k1) * _pow2(kp - k1)
    s = _pow2(min(k, 0))
    down = (s - 1.0) + s * (r + rr)
    result = up if k > 0 else down
    return x if x == 0.0 else result


@register_jitable(inline="always")
def log1p64(x):
    """``log(1 + x)``: ``u = 1 + x`` rounded, ``u = 2**k * (1 + f)`` with

    ``1 + f`` in ``[sqrt(2)/2, sqrt(2))``, ``log1p(f)`` from ``s = f / (2 +
    f)``, plus ``c / u``, ``c = (1 + x) - u`` (exact by Fast2Sum), the part
    of ``x`` that the rounding of ``u`` lost. Written so that the small
    terms are added before the large ones.
    """
    u = 1.0 + x
    c = (x - (u - 1.0)) if x < 1.0 else (1.0 - (u - x))
    hx = _bits(u) + (0x3FF0000000000000 - SQRT_HALF_BITS)
    k = (hx >> 52) - EXPONENT_BIAS
    f = _double((hx & MANTISSA_MASK) + SQRT_HALF_BITS) - 1.0
    s = fdiv(f, 2.0 + f)
    z = s * s
    z2 = z * z
    z4 = z2 * z2
    p = (P0 + P1 * z) + (P2 + P3 * z) * z2 + ((P4 + P5 * z) + P6 * z2) * z4
    hfsq = 0.5 * f * f
    kf = _double(k + SHIFTER_BITS) - SHIFTER  # float(k) without int-to-float conversion
    result = kf * LN2_HI - ((hfsq - (s * (hfsq + z * p) + (kf * LN2_LO + fdiv(c, u)))) - f)
    if x == 0.0 or x != x or x == np_inf:
        return x
    if x == -1.0:
        return -np_inf
    if x < -1.0:
        return np_nan
    return result


@register_jitable(inline="always")
def _libm_erfc(x):
    return math.erfc(x)


np_inf = float("inf")
np_nan = float("nan")


def _float_overload(implementation):
    """An overload that widens any real argument to float64 and calls ``implementation``."""

    def typer(x):
        if isinstance(x, (types.Float, types.Integer, types.Boolean)):

            def call(x):
                return implementation(float(x))

            return call
        return None

    return typer


def register():
    """Make the Numba backend compile ``_elements.exp`` and co to the functions above."""
    overload(_elements.exp, inline="always")(_float_overload(exp64))
    overload(_elements.expm1, inline="always")(_float_overload(expm1_64))
    overload(_elements.log1p, inline="always")(_float_overload(log1p64))
    # erfc stays the C library's (a scalar call per element): erfc64 is 2.6
    # times faster but up to 3 ulps off where libm's is within 1, and GELU's
    # derivative, 0.5 erfc(-v/sqrt 2) + v phi(v), cancels near v = -0.75,
    # which turned those ulps into 8 to 30 of the result, beyond
    # Operation.ulps against the NumPy reference (math.erfc).
    overload(_elements.erfc, inline="always")(_float_overload(_libm_erfc))
    overload(_elements.ratio, inline="always")(_ratio)


def _ratio(n, d):
    if isinstance(n, (types.Float, types.Integer)) and isinstance(d, (types.Float, types.Integer)):

        def call(n, d):
            return fdiv(float(n), float(d))

        return call
    return None


#: The functions whose code the Numba drivers' cache keys include.
COMPILED = (_exp_reduce, _exp_poly, _exp_finish, _pow2, _clamp, exp64, expm1_64, log1p64, _libm_erfc, _ratio)
