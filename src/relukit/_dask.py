"""The Dask adapter: relukit on Dask arrays, lazily, chunk by chunk.

The dispatch (``relukit._api.call``) hands every call with a Dask input to
:func:`apply` once the parameters are checked. This module checks what can
be checked from the graph alone (dtypes, shapes, ``out``, the backend
against the chunk type), so a bad call raises before a graph exists, then
adds one blockwise layer whose tasks call the same dispatch on each chunk.
That call dispatches again by chunk type: NumPy chunks go to Numba, CuPy
chunks to CuPy, so a Dask array keeps whatever device its chunks live on.

Dask is imported here, and this module only when a Dask array arrives.
"""

from __future__ import annotations

import math

from . import _backends, _channels, _checks
from ._ops import BY_NAME


def _chunk(*blocks, operation, values, backend, call):
    """One task of the graph: the operation on one block (or pair)."""
    # The operation travels by name, so a task pickles as a reference to
    # this module-level function, a name, a small dict and ``call``.
    return call(BY_NAME[operation], list(blocks), None, backend, values, channel_gradient=False)


def _same_shape(a, b):
    """Equal shapes, where a dimension of unknown length (NaN) matches any."""
    return len(a) == len(b) and all(
        m == n or math.isnan(m) or math.isnan(n) for m, n in zip(a, b)
    )


def _as_dask(op, inputs, da):
    """Dask arrays for ``inputs``; a non-Dask one is chunked like its Dask partner."""
    import numpy as np

    partner = next(a for a in inputs if isinstance(a, da.Array))
    arrays = []
    for a in inputs:
        if not isinstance(a, da.Array):
            library = _backends.array_library(a)
            if any(math.isnan(n) for n in partner.shape):
                raise ValueError(
                    f"{op.name}(): a Dask array of unknown chunk sizes cannot be paired with a "
                    f"{library} array; call its compute_chunk_sizes() method first"
                )
            if library == "numpy":
                a = np.asarray(a)
            # The partner's blocks, so that nothing is rechunked; a shape
            # mismatch is left to the shape check.
            a = da.from_array(a, chunks=partner.chunks if a.shape == partner.shape else "auto")
        arrays.append(a)
    return arrays


def apply(op, inputs, out, backend, values, call):
    """Build the lazy graph of ``op`` over Dask arrays.

    Parameters
    ----------
    op : relukit._ops.Operation
        The operation.
    inputs : list
        Its array inputs; at least one is a Dask array. A NumPy (or CuPy)
        partner of a Dask array is wrapped with
        :func:`dask.array.from_array`, chunked like the Dask one.
    out : None
        Anything else raises: Dask arrays are immutable.
    backend : {None, "numpy", "numba", "cupy"}
        Passed to every chunk's call; checked here against the chunk type.
    values : dict
        The checked parameter values.
    call : callable
        The eager dispatch, ``call(op, inputs, out, backend, values)``.

    Returns
    -------
    dask.array.Array
        Lazy result: chunks of the inputs (their common refinement for two
        Dask arrays), the dtype the eager function would give, and a meta
        of the inputs' chunk type.

    Raises
    ------
    TypeError
        If `out` is given, a dtype is unsupported, the chunks of the inputs
        live in different array libraries, or `backend` does not compute
        on the chunk type.
    ValueError
        If the inputs differ in shape, or `backend` is unknown.
    """
    import dask.array as da
    from dask.array.utils import meta_from_array

    if out is not None:
        raise TypeError(
            f"{op.name}(): out= is not supported with Dask arrays, which are immutable; "
            "use the returned array (dask.array.store writes it into an existing one)"
        )
    weights = {}
    if op.channel_inputs:
        inputs, weights, values = _broadcast_channels(op, inputs, values, da)
    arrays = _as_dask(op, inputs, da)
    _checks.check_dtypes(op, arrays, values)
    _checks.check_same_shape(op, arrays, same=_same_shape)
    # The metas stand in for the chunks: this checks that the inputs' chunks
    # come from one library and that the backend computes on it, and loads
    # that backend now, so a missing one fails here rather than in a worker.
    _checks.resolve(op, [a._meta for a in arrays], backend)
    dtype = _checks.result_dtype(op, arrays)
    source = arrays[op.inputs.index(op.result_like)]
    meta = meta_from_array(source._meta, ndim=source.ndim, dtype=dtype)
    index = tuple(range(source.ndim))
    pairs = [item for a in arrays for item in (a, index)]
    result = da.blockwise(
        _chunk,
        index,
        *pairs,
        token=op.name,
        dtype=dtype,
        meta=meta,
        align_arrays=True,
        operation=op.name,
        values=values,
        backend=backend,
        call=call,
    )
    if op.channel_gradient is None:
        return result
    (name, (weight, axis)), = weights.items()
    return result, _channels.gradient(op, arrays, weight, axis, da)


def _broadcast_channels(op, inputs, values, da):
    """Channel inputs as Dask arrays of ``x``'s shape and chunks, for blockwise.

    The chunks' calls then see one slope per element: ``axis=None``.
    """
    import numpy as np

    # The chunks to follow: x's, or those of the Dask array beside it (dy).
    x = next(
        (a for name, a in zip(op.inputs, inputs) if isinstance(a, da.Array) and name not in op.channel_inputs),
        None,
    )
    if x is None:
        raise TypeError(
            f"{op.name}(): {op.channel_inputs[0]} is a Dask array but {op.inputs[0]} is not: "
            "pass the data as a Dask array (a small per-channel input may stay a NumPy array)"
        )
    inputs, weights = list(inputs), {}
    for name in op.channel_inputs:
        index = op.inputs.index(name)
        weight = inputs[index]
        if not isinstance(weight, da.Array):
            weight = np.asarray(weight)
        weights[name] = (weight, values["axis"])
        shape = _channels.layout(op, x.shape, weight, values["axis"])
        # Chunked like x along the channel axis, so that broadcasting only
        # adds the other dimensions' chunks.
        chunks = tuple(c if n != 1 else (1,) for c, n in zip(x.chunks, shape))
        weight = da.asarray(weight).reshape(shape).rechunk(chunks)
        inputs[index] = da.broadcast_to(weight, x.shape, chunks=x.chunks)
    return inputs, weights, {**values, "axis": None}
