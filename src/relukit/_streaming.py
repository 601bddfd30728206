"""Non-temporal ("streaming") stores for Numba kernels.

An ordinary store first reads the destination cache line from memory (a
read-for-ownership), so ``y[i] = f(x[i])`` moves three bytes for every two
it needs. A non-temporal store writes a whole cache line straight to memory
without reading it. LLVM emits one (``vmovntps`` on x86, ``stnp`` on Arm)
for a vector store that carries ``!nontemporal`` metadata and is aligned,
which Numba cannot express, hence this small intrinsic.
"""

from __future__ import annotations

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

#: Bytes written by one non-temporal store: one cache line.
LINE = 64


@intrinsic
def _store_line_nt(typingctx, dst, dst_index, src, src_index):
    """Copy one cache line of elements from ``src`` to ``dst`` non-temporally.

    ``dst[dst_index]`` must be 64-byte aligned; ``src`` may be unaligned.
    """
    if not (isinstance(dst, types.Array) and isinstance(src, types.Array)):
        return None
    if dst.dtype != src.dtype:
        return None
    sig = types.void(dst, dst_index, src, src_index)

    def codegen(context, builder, sig, args):
        dst_ty, _, src_ty, _ = sig.args
        item = context.get_value_type(dst_ty.dtype)
        itemsize = context.get_abi_sizeof(item)
        vec = ir.VectorType(item, LINE // itemsize)
        dst_arr = context.make_array(dst_ty)(context, builder, args[0])
        src_arr = context.make_array(src_ty)(context, builder, args[2])
        dst_ptr = cgutils.get_item_pointer(
            context, builder, dst_ty, dst_arr, [args[1]], wraparound=False
        )
        src_ptr = cgutils.get_item_pointer(
            context, builder, src_ty, src_arr, [args[3]], wraparound=False
        )
        value = builder.load(builder.bitcast(src_ptr, vec.as_pointer()), align=itemsize)
        store = builder.store(value, builder.bitcast(dst_ptr, vec.as_pointer()), align=LINE)
        one = builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)])
        store.set_metadata("nontemporal", one)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def store_fence(typingctx):
    """Order earlier non-temporal stores before anything that follows."""
    sig = types.void()

    def codegen(context, builder, sig, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(inline="always")
def stream_copy(dst, start, src):
    """``dst[start:start + src.size] = src``, streaming the aligned middle."""
    n = src.size
    per_line = LINE // dst.itemsize
    address = dst.ctypes.data + start * dst.itemsize
    head = ((LINE - address % LINE) % LINE) // dst.itemsize
    if head > n:
        head = n
    for j in range(head):
        dst[start + j] = src[j]
    j = head
    while j + per_line <= n:
        _store_line_nt(dst, start + j, src, j)
        j += per_line
    for k in range(j, n):
        dst[start + k] = src[k]
