"""The public functions: validate, pick a backend, call it.

This is the one place where dispatch happens. Everything a backend receives
has been checked here first, so a bad argument raises before anything is
written.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import ArrayLike

from . import _backends, _fastpath
from ._params import PLAIN, make_params

_FLOAT_SIZES = (2, 4, 8)
_ACCEPTED = "float16, float32 or float64 (or an integer dtype for plain ReLU)"


def _check_dtype(func, name, dtype, *, int_ok):
    if dtype.kind == "f" and dtype.itemsize in _FLOAT_SIZES:
        return
    if dtype.kind in "iu":
        if int_ok:
            return
        raise TypeError(
            f"{func}(): {name} has dtype {dtype}; negative_slope, max_value and "
            f"threshold need a floating dtype (float16, float32 or float64)"
        )
    accepted = _ACCEPTED if name == "x" else "float16, float32 or float64"
    raise TypeError(f"{func}(): {name} has dtype {dtype}, which is not supported; use {accepted}")


def _as_array(a, library):
    if library == "numpy" and not isinstance(a, np.ndarray):
        return np.asarray(a)
    return a


def _pointer(a):
    interface = getattr(a, "__cuda_array_interface__", None) or a.__array_interface__
    return interface["data"][0]


def _same_memory(a, b):
    """True when ``a`` and ``b`` are the very same elements (in place)."""
    return a.strides == b.strides and a.itemsize == b.itemsize and _pointer(a) == _pointer(b)


def _detach_inputs(inputs, out, xp):
    """Copy any input that overlaps ``out`` without being exactly ``out``."""
    return [
        a.copy() if xp.may_share_memory(a, out) and not _same_memory(a, out) else a
        for a in inputs
    ]


def _resolve(func, arrays, backend):
    """The backend module for ``arrays``, checking they belong together."""
    libraries = {_backends.array_library(a) for a in arrays}
    if len(libraries) > 1:
        raise TypeError(
            f"{func}(): arrays from different libraries ({', '.join(sorted(libraries))}); "
            "relukit never copies between host and device: convert them first"
        )
    library = libraries.pop()
    name = _backends.default_for(library) if backend is None else backend
    module = _backends.load(name)
    if _backends.ARRAY_LIBRARY[name] != library:
        raise TypeError(
            f"{func}(): backend {name!r} computes on {_backends.ARRAY_LIBRARY[name]} arrays, "
            f"got a {type(arrays[0]).__module__}.{type(arrays[0]).__name__}; "
            "pass backend=None to choose by array type"
        )
    return module, library


def _check_out(func, out, shape, dtype, library):
    if _backends.array_library(out) != library or not hasattr(out, "dtype"):
        raise TypeError(
            f"{func}(): out must be a {library} array like the input, got {type(out).__name__}"
        )
    if out.shape != shape:
        raise ValueError(f"{func}(): out has shape {out.shape}, expected {shape}")
    if out.dtype.newbyteorder("=") != dtype.newbyteorder("="):
        raise TypeError(f"{func}(): out has dtype {out.dtype}, expected {dtype}")
    flags = getattr(out, "flags", None)
    if flags is not None and not getattr(flags, "writeable", True):
        raise ValueError(f"{func}(): out is read-only")


def _call(func, inputs, out, params, backend, result_dtype_of):
    """Shared path of the three public functions once ``params`` is known."""
    library = {_backends.array_library(a) for a in inputs}
    if "dask" in library:
        from . import _dask

        return _dask.apply(func, inputs, out, params, backend)
    library = library.pop() if len(library) == 1 else None
    inputs = [_as_array(a, library or "numpy") for a in inputs]
    module, library = _resolve(func, inputs, backend)
    int_ok = params.is_plain
    names = ("x",) if len(inputs) == 1 else ("dy", "x")
    for name, a in zip(names, inputs):
        _check_dtype(func, name, a.dtype, int_ok=int_ok and name == "x")
    if len(inputs) == 2 and inputs[0].shape != inputs[1].shape:
        raise ValueError(
            f"{func}(): dy and x must have the same shape, got {inputs[0].shape} and {inputs[1].shape}"
        )
    x = inputs[-1]
    dtype = result_dtype_of(inputs).newbyteorder("=")
    unwrap = False
    fresh = out is None
    if fresh:
        out = module.xp.empty_like(x, dtype=dtype)
        unwrap = library == "numpy" and x.ndim == 0
    else:
        _check_out(func, out, x.shape, dtype, library)
        inputs = _detach_inputs(inputs, out, module.xp)
    getattr(module, func)(*inputs, out, params, fresh=fresh)
    return out[()] if unwrap else out


def _is_plain(negative_slope, max_value, threshold):
    return negative_slope == 0.0 and max_value is None and threshold == 0.0


def _params(negative_slope, max_value, threshold):
    if _is_plain(negative_slope, max_value, threshold):
        return PLAIN
    return make_params(negative_slope, max_value, threshold)


def _x_dtype(inputs):
    return inputs[-1].dtype


def _dy_dtype(inputs):
    return inputs[0].dtype


def relu(
    x: ArrayLike,
    /,
    out: Any = None,
    *,
    negative_slope: float = 0.0,
    max_value: Optional[float] = None,
    threshold: float = 0.0,
    backend: Optional[str] = None,
) -> Any:
    """Rectified linear unit, ``max(x, 0)``, and its Keras variants.

    Parameters
    ----------
    x : array_like
        Input: a NumPy array (or anything ``np.asarray`` accepts), a CuPy
        array or a Dask array. dtype float16, float32, float64, or any
        integer dtype for plain ReLU.
    out : ndarray, optional
        Where to write the result: same shape as `x`, dtype of `x` (byte
        order may differ) and writeable. ``out=x`` works in place.
    negative_slope : float, default 0.0
        Slope below `threshold` (leaky ReLU).
    max_value : float or None, default None
        Upper clip (``6.0`` gives ReLU6); must be >= 0.
    threshold : float, default 0.0
        Inputs at or below it take the negative piece (thresholded ReLU).
    backend : {None, "numpy", "numba", "cupy"}, default None
        ``None`` picks by array type: Numba for NumPy arrays (the NumPy
        reference when Numba is missing), CuPy for CuPy arrays.

    Returns
    -------
    ndarray
        `out` if given, else a new array with the shape and dtype of `x`,
        laid out in memory like NumPy's elementwise results (following
        `x`). A NumPy scalar when `x` is 0-d (or a Python scalar) and
        `out` is not given, as with NumPy's ufuncs.

    Raises
    ------
    TypeError
        If `x` has an unsupported dtype (bool, complex, object, strings,
        datetimes), if `out` has the wrong dtype or array type, or if the
        backend does not compute on `x`'s array type.
    ValueError
        If `out` has the wrong shape or is read-only, or a parameter is
        invalid (NaN, negative `max_value`, infinite slope or threshold).

    See Also
    --------
    relu_grad : The derivative.
    relu_backward : The fused backward pass, ``dy * relu_grad(x)``.

    Notes
    -----
    With the default parameters the result is ``max(x, 0)`` elementwise:
    ``relu(nan)`` is NaN (NumPy, PyTorch and JAX agree; the formula
    ``x * (x > 0)`` gets this wrong), ``relu(inf)`` is inf, ``relu(-inf)``
    is 0 and ``relu(-0.0) == 0`` (the sign of a zero result is not
    specified).

    With the Keras parameters, as in ``keras.activations.relu``:

    - ``max_value`` where ``x >= max_value``;
    - ``x`` where ``threshold < x < max_value``;
    - ``negative_slope * (x - threshold)`` where ``x <= threshold``
      (exactly 0 when the slope is 0, even at -inf).

    tf.keras (Keras 2) documented ``threshold <= x`` for the middle piece,
    but Keras keeps ``x`` only strictly above the threshold (its
    implementation, and its own example): relukit follows the
    implementation. The pieces are
    evaluated in float64 and rounded once to the result dtype; float16 is
    computed in float32 or wider and rounded to float16 at the end. NaN
    stays NaN.

    ``out`` may be `x` itself; an `out` that partially overlaps `x` gets
    the right answer (the input is copied first). `x` is never modified
    unless it is `out`.

    With a Dask array the result is a lazy Dask array with the input's
    chunks (the common refinement of both for two Dask arrays), computed
    chunk by chunk through the same dispatch as an eager call; `out`
    cannot be used with Dask arrays (see the user guide's "Scaling out
    with Dask").

    Examples
    --------
    >>> import numpy as np
    >>> import relukit as rk
    >>> rk.relu(np.array([-2.0, -0.5, 0.0, 1.5, np.nan]))
    array([0. , 0. , 0. , 1.5, nan])
    >>> rk.relu(np.array([-2.0, 3.0, 8.0]), negative_slope=0.1, max_value=6.0)
    array([-0.2,  3. ,  6. ])
    >>> x = np.array([-1, 2, -3], dtype=np.int32)
    >>> rk.relu(x, out=x)
    array([0, 2, 0], dtype=int32)
    >>> print(rk.relu(-3.5))  # a scalar in, a NumPy scalar out
    0.0
    """
    if (
        type(x) is np.ndarray
        and out is None
        and backend is None
        and max_value is None
        and negative_slope == 0.0
        and threshold == 0.0
    ):
        if not _fastpath.relu:
            _fastpath.load_numba_once()
        slots = _fastpath.relu.get(x.dtype)
        if slots is not None and x.ndim and x.flags.c_contiguous:
            if x.size > _fastpath.MAX_SIZE:
                return slots.large(x)
            kernel = slots[x.ndim] or slots.fill(x.ndim)
            y = np.empty(x.shape, x.dtype)
            kernel(x, y)
            return y
    params = _params(negative_slope, max_value, threshold)
    return _call("relu", [x], out, params, backend, _x_dtype)


def relu_grad(
    x: ArrayLike,
    /,
    out: Any = None,
    *,
    negative_slope: float = 0.0,
    max_value: Optional[float] = None,
    threshold: float = 0.0,
    backend: Optional[str] = None,
) -> Any:
    """Derivative of :func:`relu` with respect to its input.

    Parameters
    ----------
    x : array_like
        The input of the forward pass: float16, float32, float64, or an
        integer dtype for plain ReLU.
    out : ndarray, optional
        Where to write the result: same shape and dtype as `x`, writeable.
    negative_slope, max_value, threshold : float, optional
        As in :func:`relu`.
    backend : {None, "numpy", "numba", "cupy"}, default None
        As in :func:`relu`.

    Returns
    -------
    ndarray
        1 where ``threshold < x < max_value``, `negative_slope` where
        ``x <= threshold``, 0 where ``x >= max_value`` and 0 at NaN, in
        the dtype of `x`.

    Raises
    ------
    TypeError
        If `x` or `out` has an unsupported dtype or array type.
    ValueError
        If `out` has the wrong shape or is read-only, or a parameter is
        invalid.

    See Also
    --------
    relu : The function itself.
    relu_backward : ``dy * relu_grad(x)`` in one pass.

    Notes
    -----
    The gradient at the kink ``x == 0`` is 0, the subgradient chosen by
    NumPy's ``np.greater(x, 0)``, TensorFlow, JAX and PyTorch. The gradient
    at NaN is 0, as in TensorFlow and JAX; PyTorch's ``threshold_backward``
    passes the incoming gradient through at NaN instead.

    With a Dask array the result is a lazy Dask array with the input's
    chunks (the common refinement of both for two Dask arrays), computed
    chunk by chunk through the same dispatch as an eager call; `out`
    cannot be used with Dask arrays (see the user guide's "Scaling out
    with Dask").

    Examples
    --------
    >>> import numpy as np
    >>> import relukit as rk
    >>> rk.relu_grad(np.array([-1.0, 0.0, 2.0, np.nan]))
    array([0., 0., 1., 0.])
    >>> rk.relu_grad(np.array([-1.0, 3.0, 7.0]), negative_slope=0.1, max_value=6.0)
    array([0.1, 1. , 0. ])
    """
    if (
        type(x) is np.ndarray
        and out is None
        and backend is None
        and max_value is None
        and negative_slope == 0.0
        and threshold == 0.0
    ):
        if not _fastpath.relu_grad:
            _fastpath.load_numba_once()
        slots = _fastpath.relu_grad.get(x.dtype)
        if slots is not None and x.ndim and x.flags.c_contiguous:
            if x.size > _fastpath.MAX_SIZE:
                return slots.large(x)
            kernel = slots[x.ndim] or slots.fill(x.ndim)
            g = np.empty(x.shape, x.dtype)
            kernel(x, g)
            return g
    params = _params(negative_slope, max_value, threshold)
    return _call("relu_grad", [x], out, params, backend, _x_dtype)


def relu_backward(
    dy: ArrayLike,
    x: ArrayLike,
    /,
    out: Any = None,
    *,
    negative_slope: float = 0.0,
    max_value: Optional[float] = None,
    threshold: float = 0.0,
    backend: Optional[str] = None,
) -> Any:
    """Backward pass of :func:`relu`: ``dy * relu_grad(x)`` in one fused pass.

    Parameters
    ----------
    dy : array_like
        Gradient of the loss with respect to the output of :func:`relu`;
        float16, float32 or float64.
    x : array_like
        The input of the forward pass, same shape as `dy`. For plain ReLU,
        ReLU6 (`max_value`) and leaky ReLU with ``negative_slope >= 0`` and
        ``threshold == 0``, the forward *output* ``y = relu(x)`` may be
        passed instead: ``y > 0`` exactly where ``x > 0`` (and
        ``y >= max_value`` where ``x >= max_value``), so a network need not
        keep `x`.
    out : ndarray, optional
        Where to write the result: shape of `x`, dtype of `dy`, writeable.
        ``out=dy`` works in place.
    negative_slope, max_value, threshold : float, optional
        As in :func:`relu`.
    backend : {None, "numpy", "numba", "cupy"}, default None
        As in :func:`relu`.

    Returns
    -------
    ndarray
        The gradient with respect to `x`, in the dtype of `dy`.

    Raises
    ------
    TypeError
        If `dy` is not floating, `x` has an unsupported dtype, or `out` has
        the wrong dtype or array type.
    ValueError
        If `dy` and `x` differ in shape, `out` has the wrong shape or is
        read-only, or a parameter is invalid.

    See Also
    --------
    relu : The forward function.
    relu_grad : The derivative alone.

    Notes
    -----
    The result is a select, not a product: ``dy`` where the gradient is 1,
    ``negative_slope * dy`` on the negative piece, and exactly 0 where the
    gradient is 0 (at and below the kink for plain ReLU, above
    `max_value`, at NaN in `x`), even where `dy` is inf or NaN. PyTorch's
    ``threshold_backward`` selects the same way (but passes `dy` through
    where `x` is NaN).

    With a Dask array the result is a lazy Dask array with the input's
    chunks (the common refinement of both for two Dask arrays), computed
    chunk by chunk through the same dispatch as an eager call; `out`
    cannot be used with Dask arrays (see the user guide's "Scaling out
    with Dask").

    Examples
    --------
    >>> import numpy as np
    >>> import relukit as rk
    >>> x = np.array([-1.0, 0.0, 2.0, 3.0])
    >>> dy = np.array([10.0, 10.0, 10.0, np.inf])
    >>> rk.relu_backward(dy, x)
    array([ 0.,  0., 10., inf])
    >>> rk.relu_backward(dy, rk.relu(x))  # the forward output works too
    array([ 0.,  0., 10., inf])
    """
    if (
        out is None
        and backend is None
        and type(x) is np.ndarray
        and type(dy) is np.ndarray
        and max_value is None
        and negative_slope == 0.0
        and threshold == 0.0
    ):
        if not _fastpath.relu_backward:
            _fastpath.load_numba_once()
        slots = _fastpath.relu_backward.get(x.dtype)
        if (
            slots is not None
            and dy.dtype == x.dtype
            and dy.shape == x.shape
            and x.ndim
            and x.flags.c_contiguous
            and dy.flags.c_contiguous
        ):
            if x.size > _fastpath.MAX_SIZE:
                return slots.large(dy, x)
            kernel = slots[x.ndim] or slots.fill(x.ndim)
            dx = np.empty(x.shape, x.dtype)
            kernel(dy, x, dx)
            return dx
    params = _params(negative_slope, max_value, threshold)
    return _call("relu_backward", [dy, x], out, params, backend, _dy_dtype)
