"""The Dask adapter: relukit on Dask arrays, lazily, chunk by chunk.

``relukit._api`` hands every call with a Dask input to :func:`apply` before
it validates anything else. This module checks what can be checked from the
graph alone (dtypes, shapes, ``out``, the backend against the chunk type),
so a bad call raises before a graph exists, then adds one blockwise layer
whose tasks call the public relukit function on each chunk. That call
dispatches again by chunk type: NumPy chunks go to Numba, CuPy chunks to
CuPy, so a Dask array keeps whatever device its chunks live on.

Dask is imported here, and this module only when a Dask array arrives.
"""

from __future__ import annotations

import math

from . import _api, _backends


def _chunk(*blocks, function, params, backend):
    """One task of the graph: the public function on one block (or pair)."""
    # Looked up by name when the task runs, so a task pickles as a reference
    # to this module-level function, a name and a small tuple.
    return getattr(_api, function)(*blocks, **params._asdict(), backend=backend)


def _same_shape(a, b):
    """Equal shapes, where a dimension of unknown length (NaN) matches any."""
    return len(a) == len(b) and all(
        m == n or math.isnan(m) or math.isnan(n) for m, n in zip(a, b)
    )


def _as_dask(func, inputs, da):
    """Dask arrays for ``inputs``; a non-Dask one is chunked like its Dask partner."""
    partner = next(a for a in inputs if isinstance(a, da.Array))
    arrays = []
    for a in inputs:
        if not isinstance(a, da.Array):
            library = _backends.array_library(a)
            if any(math.isnan(n) for n in partner.shape):
                raise ValueError(
                    f"{func}(): a Dask array of unknown chunk sizes cannot be paired with a "
                    f"{library} array; call its compute_chunk_sizes() method first"
                )
            a = _api._as_array(a, library)
            # The partner's blocks, so that nothing is rechunked; a shape
            # mismatch is left to the caller's shape check.
            a = da.from_array(a, chunks=partner.chunks if a.shape == partner.shape else "auto")
        arrays.append(a)
    return arrays


def apply(func, inputs, out, params, backend):
    """Build the lazy graph of ``func`` over Dask arrays.

    Parameters
    ----------
    func : {"relu", "relu_grad", "relu_backward"}
        Name of the public function.
    inputs : list
        ``[x]`` or ``[dy, x]``; at least one is a Dask array. A NumPy (or
        CuPy) partner of a Dask array is wrapped with
        :func:`dask.array.from_array`, chunked like the Dask one.
    out : None
        Anything else raises: Dask arrays are immutable.
    params : relukit._params.ReluParams
        Validated Keras parameters.
    backend : {None, "numpy", "numba", "cupy"}
        Passed to every chunk's call; checked here against the chunk type.

    Returns
    -------
    dask.array.Array
        Lazy result: chunks of the inputs (their common refinement for two
        Dask arrays), the dtype the eager function would give, and a meta
        of the inputs' chunk type.

    Raises
    ------
    TypeError
        If `out` is given, a dtype is unsupported, the chunks of `dy` and
        `x` live in different array libraries, or `backend` does not
        compute on the chunk type.
    ValueError
        If `dy` and `x` differ in shape, or `backend` is unknown.
    """
    import dask.array as da
    from dask.array.utils import meta_from_array

    if out is not None:
        raise TypeError(
            f"{func}(): out= is not supported with Dask arrays, which are immutable; "
            "use the returned array (dask.array.store writes it into an existing one)"
        )
    arrays = _as_dask(func, inputs, da)
    names = ("x",) if len(arrays) == 1 else ("dy", "x")
    for name, a in zip(names, arrays):
        _api._check_dtype(func, name, a.dtype, int_ok=params.is_plain and name == "x")
    if len(arrays) == 2 and not _same_shape(arrays[0].shape, arrays[1].shape):
        raise ValueError(
            f"{func}(): dy and x must have the same shape, "
            f"got {arrays[0].shape} and {arrays[1].shape}"
        )
    # The metas stand in for the chunks: this checks that dy's and x's chunks
    # come from one library and that the backend computes on it, and loads
    # that backend now, so a missing one fails here rather than in a worker.
    _api._resolve(func, [a._meta for a in arrays], backend)
    # relu and relu_grad keep x's dtype, relu_backward dy's; native byte order.
    source = arrays[0]
    dtype = source.dtype.newbyteorder("=")
    meta = meta_from_array(source._meta, ndim=source.ndim, dtype=dtype)
    index = tuple(range(source.ndim))
    pairs = [item for a in arrays for item in (a, index)]
    return da.blockwise(
        _chunk,
        index,
        *pairs,
        token=func,
        dtype=dtype,
        meta=meta,
        align_arrays=True,
        function=func,
        params=params,
        backend=backend,
    )
