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
    """Entry points of one operation's default kernel for one dtype, by ``ndim``.

    ``slots[ndim](*inputs, out, *slots.scalars)`` computes into a separate
    ``out``. :meth:`new`, :meth:`into` and :meth:`same` are the three jobs
    (allocate the result, write into a separate ``out``, write over the
    input the result is like), each serial up to :data:`MAX_SIZE` elements
    and handed to ``run_large(arrays, job)`` beyond, which may use the
    thread pool and streaming stores.
    """

    def __init__(self, compile_for, run_large, dtype, scalars):
        super().__init__([None] * (_MAX_NDIM + 1))
        self._same = [None] * (_MAX_NDIM + 1)
        self._compile_for = compile_for
        self._run_large = run_large
        self._dtype = dtype
        self.scalars = scalars

    def fill(self, ndim):
        """Compile (or load from cache) the kernel for ``ndim`` dimensions, or None."""
        try:
            self[ndim] = self._compile_for("direct", ndim)
        except NotReady:
            return None
        return self[ndim]

    def large(self, *inputs):
        out = np.empty(inputs[-1].shape, self._dtype)
        try:
            self._run_large((*inputs, out), "new")
        except NotReady:
            return None
        return out

    def new(self, *inputs):
        x = inputs[-1]
        if x.size > MAX_SIZE:
            return self.large(*inputs)
        kernel = self[x.ndim] or self.fill(x.ndim)
        if kernel is None:
            return None
        out = np.empty(x.shape, self._dtype)
        kernel(*inputs, out, *self.scalars)
        return out

    def into(self, *arrays):
        out = arrays[-1]
        try:
            if out.size > MAX_SIZE:
                self._run_large(arrays, "into")
            else:
                kernel = self[out.ndim] or self._compile_for("direct", out.ndim)
                self[out.ndim] = kernel
                kernel(*arrays, *self.scalars)
        except NotReady:
            return None
        return out

    def same(self, *arrays):
        out = arrays[-1]
        try:
            if out.size > MAX_SIZE:
                self._run_large(arrays, "same")
                return out
            kernel = self._same[out.ndim]
            if kernel is None:
                kernel = self._same[out.ndim] = self._compile_for("same", out.ndim)
        except NotReady:
            return None
        kernel(*arrays, *self.scalars)
        return out


def register(name: str, dtype, slots: Slots) -> None:
    TABLES.setdefault(name, {})[dtype] = slots
