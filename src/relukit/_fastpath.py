"""Kernels for the common small call, looked up by dtype before any validation.

At 1e3 elements the Python work around a kernel (validation, dispatch,
allocation) is the whole cost of a call, so ``relukit._api`` first checks
for the plainest case: C-contiguous NumPy arrays of a native dtype that is
in these tables, default parameters, no ``out``, automatic backend. It then
calls the compiled kernel's entry point directly, skipping Numba's
argument-type dispatch (a third of the remaining cost); that is safe only
because the table is keyed by the exact dtype and dimension the kernel was
compiled for, and the caller has checked the layout.

The tables are empty until the Numba backend loads and registers its
kernels; a dtype absent from them takes the general path.
"""

#: Arrays up to this many elements call the serial kernel's entry point;
#: larger ones call ``Slots.large``, which may use the thread pool.
MAX_SIZE = 1 << 15

#: Most dimensions NumPy allows (entries beyond compile nothing).
_MAX_NDIM = 64


class Slots(list):
    """Entry points of one kernel for one dtype, indexed by ``ndim``.

    ``large(*inputs)`` computes the same function for arrays above
    :data:`MAX_SIZE`, allocating the result and using the thread pool.
    """

    def __init__(self, compile_for, large):
        super().__init__([None] * (_MAX_NDIM + 1))
        self._compile_for = compile_for
        self.large = large

    def fill(self, ndim):
        """Compile (or load from cache) the kernel for ``ndim`` dimensions."""
        self[ndim] = self._compile_for(ndim)
        return self[ndim]


#: dtype -> Slots of ``kernel(x, out)`` for relu and relu_grad, and of
#: ``kernel(dy, x, out)`` for relu_backward (dy and x of that dtype).
relu: dict = {}
relu_grad: dict = {}
relu_backward: dict = {}


_load_tried = False


def load_numba_once():
    """Load the Numba backend, which fills the tables, on the first call.

    Without this the very first call would take the general path and load
    the larger general-purpose kernel from Numba's cache as well.
    """
    global _load_tried
    if _load_tried:
        return
    _load_tried = True
    from . import _backends

    try:
        _backends.load("numba")
    except ImportError:
        pass  # the general path will use the NumPy reference backend
