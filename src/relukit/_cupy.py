"""The CuPy backend: every operation of the table as a CUDA kernel.

Imported only when a CuPy array arrives or ``backend="cupy"`` is asked for
(``relukit._backends`` loads it lazily), so ``import cupy`` at the top is
fine here; without CuPy this import fails and the backend is reported as
unavailable.

Each operation's variant is one ``cupy.ElementwiseKernel`` built from its
CUDA snippet in the operation table: one read per input and one write per
element, no temporaries. The kernel source is written once with type
placeholders (``T`` for ``x``, ``D`` for ``dy``); CuPy compiles it for
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

import cupy

from ._ops import OPERATIONS

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

// a * d, exactly 0 when a is 0 (a zero slope gives 0 even at inf).
__device__ __forceinline__ double relukit_scale(double a, double d) {
    return a == 0.0 ? 0.0 : a * d;
}

// The helpers of the smooth rectifiers, as relukit._ops._elements writes
// them for the CPU: see there for why each is written this way.
__device__ __forceinline__ double relukit_clamp(double v) {
    return fabs(v) <= 800.0 ? v : copysign(800.0, v);
}
__device__ __forceinline__ void relukit_sigmoids(double v, double &s, double &sm) {
    const double e = exp(-fabs(v));
    const double p = 1.0 / (1.0 + e);
    const double q = e * p;
    s = v >= 0.0 ? p : q;
    sm = v >= 0.0 ? q : p;
}
__device__ __forceinline__ void relukit_mish_parts(double v, double &t, double &tm, double &s) {
    const double e = exp(-fabs(v));
    if (v >= 0.0) {
        const double d = 1.0 + 2.0 * e + 2.0 * e * e;
        t = (1.0 + 2.0 * e) / d;
        tm = 2.0 * e * e / d;
        s = 1.0 / (1.0 + e);
    } else {
        const double n = e * (e + 2.0);
        t = n / (n + 2.0);
        tm = 2.0 / (n + 2.0);
        s = e / (1.0 + e);
    }
}
"""

_SCALARS = "float64 a, float64 b, float64 c"


def source(op, variant: str):
    """``(in_params, out_params, operation)`` of ``op``'s ``variant`` kernel.

    ``T`` is the type of ``x``, ``D`` that of ``dy``, ``W`` that of a channel
    input (PReLU's ``weight``, broadcast by the dispatch); the result takes the
    type of the operation's ``result_like`` input. Every variant gets the
    three kernel scalars, used or not, so one launch serves them all.
    """
    types = {"x": "T", "dy": "D", "weight": "W"}
    in_params = ", ".join(f"{types[name]} {name}" for name in op.inputs)
    out_params = f"{types[op.result_like]} out"
    return f"{in_params}, {_SCALARS}", out_params, op.variants[variant].cuda


#: (operation name, variant) -> kernel source pieces, for every operation.
SOURCES = {
    (op.name, variant): source(op, variant) for op in OPERATIONS for variant in op.variants
}


@cupy.memoize(for_each_device=True)
def _kernel(name: str, variant: str) -> cupy.ElementwiseKernel:
    """The ``ElementwiseKernel`` of operation ``name``'s ``variant``, per device.

    CuPy compiles it per dtype (and dimensionality) on first call and
    caches that too, so each dtype is built once per device.
    """
    in_params, out_params, operation = SOURCES[name, variant]
    return cupy.ElementwiseKernel(
        in_params, out_params, operation, name=f"relukit_{name}_{variant}", preamble=_PREAMBLE
    )


def _flat_order(arrays):
    """``arrays``, transposed when all are Fortran-ordered.

    CuPy collapses only C-contiguous operands to one dimension; the
    transposes of Fortran-ordered arrays are C-contiguous and pair the same
    elements, so they get the flat loop too instead of 2-D index arithmetic.
    """
    if all(a.flags.f_contiguous and not a.flags.c_contiguous for a in arrays):
        return [a.T for a in arrays]
    return arrays


def run(op, variant: str, inputs, out, scalars, fresh: bool = False):
    """Launch ``op`` (``variant``) on the current stream, writing ``out``; return ``out``."""
    *inputs, target = _flat_order([*inputs, out])
    _kernel(op.name, variant)(*inputs, *scalars, target)
    return out
