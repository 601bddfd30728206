"""The CuPy backend: relu, relu_grad and relu_backward as CUDA kernels.

Imported only when a CuPy array arrives or ``backend="cupy"`` is asked for
(``relukit._backends`` loads it lazily), so ``import cupy`` at the top is
fine here; without CuPy this import fails and the backend is reported as
unavailable.

Each function is one ``cupy.ElementwiseKernel``: one read and one write per
element for ``relu`` and ``relu_grad``, two reads and one write for
``relu_backward``, no temporaries. The kernel source is written once with
type placeholders (``T`` for ``x``, ``D`` for ``dy``); CuPy compiles it for
each dtype, dimensionality and device the first time that combination is
called, and caches the result in memory and on disk. The
``ElementwiseKernel`` objects themselves come from a memoized factory, one
per device, so nothing is built at import.

What CuPy's ``ElementwiseKernel`` gives for free, and why it is relied on:

- strides: any layout (non-contiguous, negative strides, 0-d) is indexed
  through the array's strides; contiguous operands are collapsed to one
  dimension first, so the common case is a flat loop;
- 64-bit indexing: the loop index is ``ptrdiff_t``, and CuPy switches its
  index arithmetic to 64 bits for arrays whose size does not fit in 32 bits
  (``CArray``/``CIndexer`` with ``_use_32bit_indexing=false``), so arrays
  beyond 2**31 elements are correct;
- the current device and the current stream: the launch goes to
  ``cupy.cuda.get_current_stream()``, asynchronously; nothing here
  synchronizes or copies to the host (the Keras parameters are passed by
  value as kernel arguments).

CuPy arrays are always in native byte order, so unlike the NumPy backends
there is no byte-swapped case to handle.
"""

from __future__ import annotations

import math

import cupy

from ._params import ReluParams

xp = cupy

#: Shared by every kernel. CuPy compiles every kernel with ``-ftz=true`` (and
#: appends it after any option we pass), which makes float32 comparisons and
#: conversions treat subnormals as zero: ``relu(1e-40)`` would be 0. So the
#: float32 cases below use integer bit tests and explicit PTX conversions
#: without ``.ftz``; double, half (whose subnormals are normal floats) and
#: integers are not affected.
_PREAMBLE = r"""
#include <cupy/float16.cuh>

// x > 0.
template <typename S>
__device__ __forceinline__ bool relukit_positive(S x) {
    return x > 0;
}
// float32 x > 0 on the bits: from the smallest subnormal up to +inf, which
// excludes +0, every negative (sign bit set: b < 0) and NaN (b > +inf).
template <>
__device__ __forceinline__ bool relukit_positive<float>(float x) {
    const int b = __float_as_int(x);
    return b > 0 && b <= 0x7f800000;
}

// NaN tests are exact under -ftz; always false for integers.
template <typename S>
__device__ __forceinline__ bool relukit_isnan(S x) {
    return x != x;
}

// Widen to double exactly.
template <typename S>
__device__ __forceinline__ double relukit_widen(S x) {
    return static_cast<double>(x);
}
template <>
__device__ __forceinline__ double relukit_widen<float>(float x) {
    double d;
    asm("cvt.f64.f32 %0, %1;" : "=d"(d) : "f"(x));
    return d;
}

// Round a double to the storage type S, once, to nearest.
template <typename S>
__device__ __forceinline__ S relukit_round(double d) {
    return static_cast<S>(d);
}
template <>
__device__ __forceinline__ float relukit_round<float>(double d) {
    float f;
    asm("cvt.rn.f32.f64 %0, %1;" : "=f"(f) : "d"(d));
    return f;
}
// CuPy's float16(double) converts through float, which rounds twice. Round
// to float toward zero and set the last bit when inexact ("round to odd"):
// float carries 13 more bits than half, so the one rounding to nearest that
// follows is the correctly rounded double -> half conversion.
template <>
__device__ __forceinline__ float16 relukit_round<float16>(double d) {
    float f;
    asm("cvt.rz.f32.f64 %0, %1;" : "=f"(f) : "d"(d));
    if (relukit_widen(f) != d && d == d) {
        f = __int_as_float(__float_as_int(f) | 1);
    }
    return float16(f);
}

#define RELUKIT_SATURATED 0
#define RELUKIT_LINEAR 1
#define RELUKIT_NEGATIVE 2
#define RELUKIT_NAN 3

// cap is NaN when there is no max_value: v >= NaN is false for every v.
__device__ __forceinline__ int relukit_piece(double v, double cap, double threshold) {
    if (v >= cap) return RELUKIT_SATURATED;
    if (v > threshold) return RELUKIT_LINEAR;
    if (v <= threshold) return RELUKIT_NEGATIVE;
    return RELUKIT_NAN;
}

// With a zero slope the negative piece is exactly 0, even at -inf.
__device__ __forceinline__ double relukit_negative(double slope, double delta) {
    return slope == 0.0 ? 0.0 : slope * delta;
}
"""

_KERAS_SCALARS = "float64 slope, float64 cap, float64 threshold"

#: (function, variant) -> (in_params, out_params, operation).
#: "plain" is max(x, 0) in the storage type (integers included): NaN passes
#: through as with ``np.maximum``, and the gradient is 1 only where x > 0, so
#: 0 at the kink and at NaN. "keras" evaluates the pieces in float64 and
#: rounds once into the result dtype, as the NumPy reference does.
_SOURCES = {
    ("relu", "plain"): ("T x", "T y", "y = (relukit_positive(x) || relukit_isnan(x)) ? x : T(0)"),
    ("relu_grad", "plain"): ("T x", "T y", "y = relukit_positive(x) ? T(1) : T(0)"),
    ("relu_backward", "plain"): ("D dy, T x", "D dx", "dx = relukit_positive(x) ? dy : D(0)"),
    ("relu", "keras"): (
        f"T x, {_KERAS_SCALARS}",
        "T y",
        """
        const double v = relukit_widen(x);
        const int piece = relukit_piece(v, cap, threshold);
        y = relukit_round<T>(
            piece == RELUKIT_SATURATED ? cap
            : piece == RELUKIT_NEGATIVE ? relukit_negative(slope, v - threshold)
            : v)
        """,
    ),
    ("relu_grad", "keras"): (
        f"T x, {_KERAS_SCALARS}",
        "T y",
        """
        const int piece = relukit_piece(relukit_widen(x), cap, threshold);
        y = relukit_round<T>(
            piece == RELUKIT_LINEAR ? 1.0 : piece == RELUKIT_NEGATIVE ? slope : 0.0)
        """,
    ),
    ("relu_backward", "keras"): (
        f"D dy, T x, {_KERAS_SCALARS}",
        "D dx",
        """
        const int piece = relukit_piece(relukit_widen(x), cap, threshold);
        dx = piece == RELUKIT_LINEAR ? dy
            : piece == RELUKIT_NEGATIVE
                ? relukit_round<D>(relukit_negative(slope, relukit_widen(dy)))
            : D(0)
        """,
    ),
}


@cupy.memoize(for_each_device=True)
def _kernel(function: str, variant: str) -> cupy.ElementwiseKernel:
    """The ``ElementwiseKernel`` of ``function`` ("plain" or "keras"), per device.

    CuPy compiles it per dtype (and dimensionality) on first call and
    caches that too, so each dtype is built once per device.
    """
    in_params, out_params, operation = _SOURCES[function, variant]
    return cupy.ElementwiseKernel(
        in_params, out_params, operation, name=f"relukit_{function}_{variant}", preamble=_PREAMBLE
    )


def _keras_scalars(params: ReluParams):
    cap = math.nan if params.max_value is None else params.max_value
    return (params.negative_slope, cap, params.threshold)


def _flat_order(arrays):
    """``arrays``, transposed when all are Fortran-ordered.

    CuPy collapses only C-contiguous operands to one dimension; the
    transposes of Fortran-ordered arrays are C-contiguous and pair the same
    elements, so they get the flat loop too instead of 2-D index arithmetic.
    """
    if all(a.flags.f_contiguous and not a.flags.c_contiguous for a in arrays):
        return [a.T for a in arrays]
    return arrays


def _launch(function, inputs, out, params):
    *inputs, out = _flat_order([*inputs, out])
    if params.is_plain:
        _kernel(function, "plain")(*inputs, out)
    else:
        _kernel(function, "keras")(*inputs, *_keras_scalars(params), out)


def relu(x, out, params: ReluParams, fresh: bool = False):
    """Write ``relu(x)`` into ``out`` on the current stream and return ``out``."""
    _launch("relu", (x,), out, params)
    return out


def relu_grad(x, out, params: ReluParams, fresh: bool = False):
    """Write ``relu_grad(x)`` into ``out`` on the current stream and return ``out``."""
    _launch("relu_grad", (x,), out, params)
    return out


def relu_backward(dy, x, out, params: ReluParams, fresh: bool = False):
    """Write ``dy * relu_grad(x)`` (a select) into ``out`` and return ``out``."""
    _launch("relu_backward", (dy, x), out, params)
    return out
