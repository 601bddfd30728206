"""relukit: ReLU, its gradient and the fused backward pass, as fast as memory allows.

Public API
----------
relu, relu_grad, relu_backward
    The activation, its derivative and ``dy * relu_grad(x)`` in one pass,
    for NumPy arrays (Numba kernels), CuPy arrays and Dask arrays.
elu, selu, celu, gelu, silu, mish, softplus, hardswish, squared_relu
    The rest of the rectifier family, each with ``_grad`` and
    ``_backward`` functions named the same way.
show_config
    Versions, backends, threading and GPU information.
set_background_compile, wait_for_kernels
    While a Numba kernel is not compiled yet, calls are computed by the
    NumPy reference and the kernel is compiled in the background: switch
    that off, or wait for the kernels.

Every function is generated from one table of operations
(``relukit._ops``). Importing relukit imports neither Numba nor CuPy nor
Dask: each backend loads on first use.
"""

from ._background import set_background_compile, wait_for_kernels
from ._config import show_config
from ._functions import PUBLIC as _PUBLIC
from ._version import __version__

# relu, relu_grad, relu_backward, elu, ..., one per entry of the table.
globals().update(_PUBLIC)

__all__ = [
    *_PUBLIC, "show_config", "set_background_compile", "wait_for_kernels", "__version__"
]
