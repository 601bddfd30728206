"""Kernels for the common small call, looked up by dtype before any checking.

At 1e3 elements the Python work around a kernel (checks, dispatch,
allocation) is the whole cost of a call, so every public function first
checks for the plainest case: C-contiguous NumPy arrays of one native dtype
that is in its table, default parameters, no ``out``, automatic backend. It
then calls the compiled kernel's entry point directly, skipping Numba's
argument-type dispatch (a third of the remaining cost); that is safe only
because the table is keyed by the exact dtype and dimension the kernel was
compiled for, and the caller has checked the layout.

The tables are empty until the Numba backend loads and registers its
kernels; a dtype absent from them takes the general path. So does a call
whose kernel the background thread is still preparing (see
``relukit._background``): every method below returns None for it.
"""

from __future__ import annotations

import numpy as np

from ._background import NotReady

#: Arrays up to this many elements call the serial kernel's entry point;
#: larger ones call ``Slots.large``, which may use the thread pool.
MAX_SIZE = 1 << 15

#: Most dimensions NumPy allows (entries beyond compile nothing).
_MAX_NDIM = 64

#: operation name -> {dtype: Slots}; filled by the Numba backend.
TABLES: dict = {}


class Slots(list):
    """Small-call kernels of one operation's default call for one dtype, by ``ndim``.

    ``slots[ndim](*inputs, out)`` computes into a fresh ``out`` (the
    generated functions call it directly); the default scalars are compiled
    into every kernel. :meth:`large`, :meth:`into` and :meth:`same` are the
    other jobs: allocate a large result, write into a separate ``out``,
    write over the input the result is like. Each is serial up to
    :data:`MAX_SIZE` elements and handed to ``run_large(arrays, job)``
    beyond, which may use the thread pool and streaming stores.
    """

    def __init__(self, compile_for, run_large, dtype):
        super().__init__([None] * (_MAX_NDIM + 1))
        self._into = [None] * (_MAX_NDIM + 1)
        self._same = [None] * (_MAX_NDIM + 1)
        self._compile_for = compile_for
        self._run_large = run_large
        self._dtype = dtype

    def _kernel(self, table, job, ndim):
        """``table[ndim]``, compiled (or loaded from cache) on first use; None if not ready."""
        kernel = table[ndim]
        if kernel is None:
            try:
                kernel = table[ndim] = self._compile_for(job, ndim)
            except NotReady:
                return None
        return kernel

    def fill(self, ndim):
        """The kernel that allocates its result, for ``ndim`` dimensions, or None."""
        return self._kernel(self, "new", ndim)

    def large(self, *inputs):
        out = np.empty(inputs[-1].shape, self._dtype)
        return out if self._large(inputs + (out,), "new") else None

    def into(self, *arrays):
        out = arrays[-1]
        if out.size > MAX_SIZE:
            if any(np.may_share_memory(out, a) for a in arrays[:-1]):
                return None
            return out if self._large(arrays, "into") else None
        kernel = self._into[out.ndim] or self._kernel(self._into, "into", out.ndim)
        # The kernel writes nothing and answers False if out overlaps an input.
        return out if kernel is not None and kernel(*arrays) else None

    def same(self, *arrays):
        out = arrays[-1]
        if out.size > MAX_SIZE:
            return out if self._large(arrays, "same") else None
        kernel = self._same[out.ndim] or self._kernel(self._same, "same", out.ndim)
        if kernel is None:
            return None
        kernel(*arrays)
        return out

    def _large(self, arrays, job) -> bool:
        try:
            self._run_large(arrays, job)
        except NotReady:
            return False
        return True


def register(name: str, dtype, slots: Slots) -> None:
    TABLES.setdefault(name, {})[dtype] = slots
