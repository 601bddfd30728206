"""relukit: ReLU, its gradient and the fused backward pass, as fast as memory allows.

Public API
----------
relu, relu_grad, relu_backward
    The activation, its derivative and ``dy * relu_grad(x)`` in one pass,
    for NumPy arrays (Numba kernels), CuPy arrays and Dask arrays.
show_config
    Versions, backends, threading and GPU information.

Importing relukit imports neither Numba nor CuPy nor Dask: each backend
loads on first use.
"""

from ._api import relu, relu_backward, relu_grad
from ._config import show_config
from ._version import __version__

__all__ = ["relu", "relu_grad", "relu_backward", "show_config", "__version__"]
