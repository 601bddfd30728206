"""Kernels for the common small call, looked up by dtype before any validation.

At 1e3 elements the Python work around a kernel (validation, dispatch,
allocation) is the whole cost of a call, so ``relukit._api`` first checks
for the plainest case: one C-contiguous NumPy array of a native dtype that
is in these tables, default parameters, no ``out``, automatic backend. The
tables are empty until the Numba backend loads and fills them; a dtype
absent from them takes the general path.
"""

#: Arrays up to this many elements take the fast path; larger ones go
#: through the general path, whose overhead they no longer notice and which
#: can use the thread pool.
MAX_SIZE = 1 << 15

#: dtype -> ``kernel(x, out)`` for relu and relu_grad; ``kernel(dy, x, out)``
#: for relu_backward (dy and x of that same dtype).
relu: dict = {}
relu_grad: dict = {}
relu_backward: dict = {}
