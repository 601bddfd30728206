"""Fit the polynomial coefficients of ``relukit._numba_math`` and print them.

The Numba kernels evaluate exp, expm1, log1p and erfc with relukit's own
vectorizable float64 code (``src/relukit/_numba_math.py``); its constants
come from here, so that they can be checked and re-derived: each is a
least-squares fit at Chebyshev nodes (close to the minimax polynomial) to
values computed with mpmath at 60 digits, converted to monomial form.

Run: ``python tools/fit_elementary.py`` (needs mpmath). The last column of
each table is the largest relative error of the fitted polynomial itself,
in float64 ulps of the quantity it approximates, on a dense grid.
"""

from __future__ import annotations

import mpmath

mpmath.mp.dps = 60


def fit(function, lo, hi, terms):
    """Monomial coefficients (low to high) of a near-minimax fit, and its error.

    mpmath's Chebyshev fit in 60-digit arithmetic; the error is the largest
    absolute one of the polynomial before its coefficients are rounded to
    float64.
    """
    poly, error = mpmath.chebyfit(function, [mpmath.mpf(lo), mpmath.mpf(hi)], terms, error=True)
    return [float(c) for c in reversed(poly)], error


def show(name, coeffs, error, unit):
    print(f"# {name}: max error of the polynomial {float(error / unit):.4f} ulp")
    print(f"{name} = (")
    for c in coeffs:
        print(f"    {c!r},")
    print(")")


def exp_q(r):
    # (exp(r) - 1 - r) / r**2, its limit 1/2 at 0.
    if abs(r) < mpmath.mpf(10) ** -20:
        return mpmath.mpf(0.5) + r / 6
    return (mpmath.expm1(r) - r) / r**2


def log_p(z):
    # log1p(f) = 2 atanh(s) = 2 s + s * z * P(z), z = s**2.
    if z < mpmath.mpf(10) ** -30:
        return mpmath.mpf(2) / 3 + 2 * z / 5
    s = mpmath.sqrt(z)
    return (2 * mpmath.atanh(s) - 2 * s) / (s * z)


def erf_y(w):
    # erf(z) = z + z * Y(z**2): Y is E - 1 of erf(z) = z * E(z**2), so that z
    # is added exactly and only the smaller z * Y rounds.
    if w < mpmath.mpf(10) ** -30:
        return 2 / mpmath.sqrt(mpmath.pi) * (1 - w / 3) - 1
    z = mpmath.sqrt(w)
    return mpmath.erf(z) / z - 1


#: erfc(a) = exp(-a**2) * G(t) / (1 + 2a) for a >= ERFC_SPLIT, t = (a - K) / (a + K):
#: a form of the Chebyshev expansion of Shepherd and Laframboise (1981); G is
#: within [1, 1.13] and smooth in t, so one polynomial covers the whole range.
ERFC_SPLIT = mpmath.mpf(27) / 32
ERFC_K = mpmath.mpf(4)
ERFC_MAX = mpmath.mpf(28)


def erfc_g(t):
    a = ERFC_K * (1 + t) / (1 - t)
    return (1 + 2 * a) * mpmath.exp(a * a) * mpmath.erfc(a)


def main():
    ln2 = mpmath.log(2)
    # ln2 rounded down to 32 significant bits: k * LN2_HI is exact for |k| < 2**21.
    hi = float(mpmath.ldexp(mpmath.floor(mpmath.ldexp(ln2, 32)), -32))
    lo = float(ln2 - hi)
    print(f"LN2_HI = {hi!r}\nLN2_LO = {lo!r}\nLOG2E = {float(1 / ln2)!r}")
    # exp(r) = 1 + r + r**2 * Q(r), |r| <= ln2 / 2: Q's error is in ulps of
    # Q (about 1/2) and reaches the result scaled by r**2 <= 0.12.
    half = ln2 / 2 * (1 + mpmath.mpf(2) ** -40)
    coeffs, error = fit(exp_q, -half, half, 11)
    show("EXP_Q", coeffs, error, mpmath.mpf(2) ** -54)
    # log1p(f) = 2 s + s * z * P(z), s = f / (2 + f), z = s**2, with 1 + f in
    # [sqrt(2)/2, sqrt(2)): |s| <= 3 - 2 sqrt(2). P (about 2/3) reaches the
    # result scaled by z / 2 <= 0.015.
    zmax = (3 - 2 * mpmath.sqrt(2)) ** 2 * (1 + mpmath.mpf(2) ** -40)
    coeffs, error = fit(log_p, 0, zmax, 7)
    show("LOG_P", coeffs, error, mpmath.mpf(2) ** -53)
    # |z| < 27/32: erf(z) = z + z * Y(z**2); Y is about 0.13, its error in ulps of 0.13.
    coeffs, error = fit(erf_y, 0, ERFC_SPLIT**2 * (1 + mpmath.mpf(2) ** -40), 12)
    show("ERF_Y", coeffs, error, mpmath.mpf(2) ** -56)
    t0 = (ERFC_SPLIT - ERFC_K) / (ERFC_SPLIT + ERFC_K)
    t1 = (ERFC_MAX - ERFC_K) / (ERFC_MAX + ERFC_K)
    coeffs, error = fit(erfc_g, t0, t1, 21)
    show("ERFC_G", coeffs, error, mpmath.mpf(2) ** -52)


if __name__ == "__main__":
    main()
