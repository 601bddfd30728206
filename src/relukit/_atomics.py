"""An atomic add for Numba code, so that threads can claim chunks without the GIL.

Numba has no atomic operations for CPU code; :func:`fetch_add` emits
LLVM's ``atomicrmw add`` on one slot of an int64 array, through
``numba.extending.intrinsic``. relukit's pooled drivers use it to claim
chunks from a shared counter (see ``claimed`` in
``relukit._numba_drivers``).
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def item_pointer(context, builder, array_type, array, index):
    """LLVM pointer to ``array[index]`` (one index, no wraparound or bounds check)."""
    array = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, array, [index])


@intrinsic
def fetch_add(typingctx, array, index, value):
    """Add ``value`` to ``array[index]`` atomically and return the slot's previous value.

    ``array`` must be a 1-D int64 array; ``index`` is not checked.
    """
    if not (isinstance(array, types.Array) and array.dtype == types.int64 and array.ndim == 1):
        return None  # Numba then reports that no signature matches

    def codegen(context, builder, signature, args):
        pointer = item_pointer(context, builder, signature.args[0], args[0], args[1])
        increment = context.cast(builder, args[2], signature.args[2], types.int64)
        return builder.atomic_rmw("add", pointer, increment, "acq_rel")

    return types.int64(array, index, value), codegen
