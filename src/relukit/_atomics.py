"""Atomic operations for Numba code, so that threads can share work without the GIL.

Numba has no atomic operations for CPU code. These emit LLVM's atomic
instructions on one slot of an int64 array, through
``numba.extending.intrinsic``: :func:`fetch_add` and
:func:`compare_exchange` claim chunks from a shared counter,
:func:`load_acquire` and :func:`store_release` publish a job to threads
that watch for it (see ``relukit._team``).
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


@intrinsic
def load_acquire(typingctx, array, index):
    """``array[index]`` read atomically, so that a loop that waits on it sees
    another thread's store (an ordinary load may be hoisted out of the loop).

    ``array`` must be a 1-D int64 array; ``index`` is not checked.
    """
    if not (isinstance(array, types.Array) and array.dtype == types.int64 and array.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        pointer = item_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(pointer, "acquire", 8)

    return types.int64(array, index), codegen


@intrinsic
def store_release(typingctx, array, index, value):
    """Set ``array[index] = value`` atomically, after every earlier store of this thread.

    ``array`` must be a 1-D int64 array; ``index`` is not checked.
    """
    if not (isinstance(array, types.Array) and array.dtype == types.int64 and array.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        pointer = item_pointer(context, builder, signature.args[0], args[0], args[1])
        value = context.cast(builder, args[2], signature.args[2], types.int64)
        builder.store_atomic(value, pointer, "release", 8)
        return context.get_dummy_value()

    return types.void(array, index, value), codegen


@intrinsic
def compare_exchange(typingctx, array, index, expected, new):
    """Set ``array[index] = new`` if it is ``expected``, atomically; whether it was.

    ``array`` must be a 1-D int64 array; ``index`` is not checked.
    """
    if not (isinstance(array, types.Array) and array.dtype == types.int64 and array.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        pointer = item_pointer(context, builder, signature.args[0], args[0], args[1])
        expected, new = (
            context.cast(builder, value, kind, types.int64)
            for value, kind in zip(args[2:], signature.args[2:])
        )
        pair = builder.cmpxchg(pointer, expected, new, "acq_rel", "acquire")
        return builder.extract_value(pair, 1)

    return types.boolean(array, index, expected, new), codegen
