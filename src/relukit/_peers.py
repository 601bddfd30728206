"""Implementations relukit is measured against: NumPy, the seed's Numba code, PyTorch.

Each peer is ``make(function_name, backend_args) -> callable or None``:
``None`` when the peer does not exist here (PyTorch not installed) or has
no counterpart for that function. Used by the ``bench`` command and asv.
"""

from __future__ import annotations

import numpy as np


def _seed_numba():
    """The seed project's Numba ReLU: zeros, then maximum, both allocating."""
    import numba

    @numba.njit(cache=False)
    def seed_relu(x):
        return np.maximum(x, np.zeros_like(x))

    return seed_relu


def numpy_peers(function: str) -> dict:
    """``label -> callable(*inputs)`` for the one-line NumPy idioms."""
    if function == "relu":
        return {"np.maximum(x, 0)": lambda x: np.maximum(x, 0)}
    if function == "relu_grad":
        return {"np.greater(x, 0).astype": lambda x: np.greater(x, 0).astype(x.dtype)}
    return {"dy * (x > 0)": lambda dy, x: dy * (x > 0)}


def seed_peers(function: str) -> dict:
    if function != "relu":
        return {}
    try:
        seed = _seed_numba()
    except ImportError:
        return {}
    return {"seed numba": seed}


def torch_peers(function: str) -> dict:
    """PyTorch's CPU kernels on zero-copy views of the NumPy inputs."""
    try:
        import torch
    except ImportError:
        return {}
    if function == "relu":
        return {
            "torch.relu": lambda x: torch.relu(torch.from_numpy(x)),
            "torch.relu_ (in place)": lambda x: torch.relu_(torch.from_numpy(x)),
        }
    if function == "relu_backward":
        backward = torch.ops.aten.threshold_backward
        return {
            "torch threshold_backward": lambda dy, x: backward(
                torch.from_numpy(dy), torch.from_numpy(x), 0
            )
        }
    return {}


def all_peers(function: str) -> dict:
    """Every peer available here for ``function``."""
    return {**numpy_peers(function), **seed_peers(function), **torch_peers(function)}
