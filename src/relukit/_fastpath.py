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

#: Arrays up to this many elements call the serial kernels directly;
#: larger ones call the ``Slots.*_large`` methods, which call the same
#: kernels where the call stays on one core and otherwise hand the arrays
#: to the thread pool.
MAX_SIZE = 1 << 15

#: Most dimensions NumPy allows (entries beyond compile nothing).
_MAX_NDIM = 64

#: operation name -> {dtype: Slots}; filled by the Numba backend.
TABLES: dict = {}


class Slots(list):
    """Small-call kernels of one operation's default call for one dtype, by ``ndim``.

    The generated functions call them directly, on inputs they have checked
    (C-contiguous, this dtype and ``ndim``), with the default scalars
    compiled in:

    - ``slots[ndim](*inputs, out)`` computes into a fresh ``out``;
    - ``slots.into_kernels[ndim](*inputs, out)`` into a separate ``out``;
    - ``slots.same_kernels[ndim](*inputs, out)`` over the input the result
      is like.

    The last two check the rest themselves: each answers False, writing
    nothing, when ``out`` has another shape than ``x`` or overlaps an
    input, and the call then takes the general dispatch. The ``fill_*``
    methods compile a missing kernel. Arrays of more than :data:`MAX_SIZE`
    elements take :meth:`new_large`, :meth:`into_large` or
    :meth:`same_large` instead. Where ``serial(nbytes, job)`` says that
    the backend would run the job on one core with ordinary stores, they
    call the same kernels (a Python overlap check beside a 1e5-element
    call measured more than its own cost: about 10 us of 60); otherwise
    they hand the arrays to ``run_large(arrays, job)``, which may use the
    thread pool and streaming stores.
    """

    def __init__(self, compile_for, run_large, serial, dtype):
        super().__init__([None] * (_MAX_NDIM + 1))
        self.into_kernels = [None] * (_MAX_NDIM + 1)
        self.same_kernels = [None] * (_MAX_NDIM + 1)
        self._tables = {"new": self, "into": self.into_kernels, "same": self.same_kernels}
        self._compile_for = compile_for
        self._run_large = run_large
        self._serial = serial
        self._dtype = dtype

    def _fill(self, job, ndim):
        """Compile (or load from cache) ``job``'s kernel for ``ndim``; None while it is not ready."""
        try:
            kernel = self._compile_for(job, ndim)
        except NotReady:
            return None
        self._tables[job][ndim] = kernel
        return kernel

    def fill(self, ndim):
        return self._fill("new", ndim)

    def fill_into(self, ndim):
        return self._fill("into", ndim)

    def fill_same(self, ndim):
        return self._fill("same", ndim)

    def new_large(self, *inputs):
        x = inputs[-1]
        return self._large("new", inputs + (np.empty(x.shape, self._dtype),))

    def into_large(self, *arrays):
        return self._large("into", arrays)

    def same_large(self, *arrays):
        # out is one of the inputs, whose shapes the caller has compared.
        return self._large("same", arrays)

    def _large(self, job, arrays):
        """Write ``job`` into ``arrays[-1]`` and return it; None when the general path must."""
        out = arrays[-1]
        if self._serial(out.nbytes, job):
            # The kernel compares shapes and checks overlap itself.
            kernel = self._tables[job][out.ndim] or self._fill(job, out.ndim)
            return out if kernel is not None and kernel(*arrays) else None
        if job == "into":
            # The caller has compared the inputs' shapes with each other.
            inputs = arrays[:-1]
            if out.shape != inputs[-1].shape or any(np.may_share_memory(out, a) for a in inputs):
                return None
        try:
            self._run_large(arrays, job)
        except NotReady:
            return None
        return out


def register(name: str, dtype, slots: Slots) -> None:
    TABLES.setdefault(name, {})[dtype] = slots
