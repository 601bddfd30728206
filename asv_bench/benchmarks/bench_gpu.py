"""relu, relu_grad and relu_backward on CuPy arrays, with GPU peers.

Skipped (``NotImplementedError`` in ``setup``) where CuPy, a CUDA device
or relukit's CuPy backend is missing. Kernel launches return before the
GPU is done, so every timed call ends by synchronizing the device.
"""

from ._common import (
    DTYPES,
    FUNCTIONS,
    PARAMETER_SETS,
    SIZES,
    Prepared,
    keyword_arguments,
    registry,
    spec_of,
)

# 1e8 elements too: the size where a GPU pays off.
GPU_SIZES = [*SIZES, max(registry.BENCH_SIZES_FULL)] if registry is not None else SIZES


def _cupy_or_skip():
    try:
        import cupy
    except ImportError:
        raise NotImplementedError("cupy is not installed") from None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise NotImplementedError("no CUDA device")
    except cupy.cuda.runtime.CUDARuntimeError as error:
        raise NotImplementedError(f"no usable CUDA device: {error}") from None
    return cupy


def _device_inputs(cupy, arity, size, dtype):
    rng = cupy.random.default_rng(20240601)
    return [(rng.standard_normal(size) * 4.0).astype(dtype) for _ in range(arity)]


class _Gpu(Prepared):
    def _bind(self, func, args, kwargs=None):
        self.func, self.args, self.kwargs = func, args, kwargs or {}
        self.func(*self.args, **self.kwargs)  # compiles the kernel
        self.synchronize()

    def _call(self):
        self.func(*self.args, **self.kwargs)
        self.synchronize()


class GpuRelukit(_Gpu):
    """relukit's CuPy backend, allocating its result as users call it."""

    params = [FUNCTIONS, GPU_SIZES, DTYPES, PARAMETER_SETS]
    param_names = ["function", "size", "dtype", "params"]

    def prepare(self, function, size, dtype, parameter_set):
        cupy = _cupy_or_skip()
        from relukit import _backends

        try:
            _backends.load("cupy")
        except (ImportError, ValueError) as error:
            raise NotImplementedError(f"this relukit has no CuPy backend: {error}") from None
        spec = spec_of(function)
        self.synchronize = cupy.cuda.runtime.deviceSynchronize
        kwargs = keyword_arguments(parameter_set, "cupy")
        self._bind(spec.func, _device_inputs(cupy, spec.arity, size, dtype), kwargs)

    def time_gpu(self, *params):
        self._call()


def _torch_or_skip():
    try:
        import torch
    except ImportError:
        raise NotImplementedError("torch is not installed") from None
    if not torch.cuda.is_available():
        raise NotImplementedError("this torch has no CUDA device")
    return torch


def _aten_threshold_backward(torch):
    return lambda dy, x: torch.ops.aten.threshold_backward(dy, x, 0)


# label -> (array library the peer takes, maker(module) -> callable).
_GPU_PEERS = {
    "relu": {
        "cupy.maximum(x, 0)": ("cupy", lambda cp: lambda x: cp.maximum(x, 0)),
        "torch.relu": ("torch", lambda torch: torch.relu),
        "torch.relu_ (in place)": ("torch", lambda torch: torch.relu_),
    },
    "relu_grad": {
        "cupy.greater(x, 0).astype": (
            "cupy",
            lambda cp: lambda x: cp.greater(x, 0).astype(x.dtype),
        ),
    },
    "relu_backward": {
        "dy * (x > 0)": ("cupy", lambda cp: lambda dy, x: dy * (x > 0)),
        "torch threshold_backward": ("torch", _aten_threshold_backward),
    },
}


class _GpuPeers(_Gpu):
    """CuPy's one-liners and PyTorch's CUDA kernels (on zero-copy views)."""

    function = None
    param_names = ["implementation", "size", "dtype"]

    def prepare(self, implementation, size, dtype):
        cupy = _cupy_or_skip()
        library, make = _GPU_PEERS[self.function][implementation]
        args = _device_inputs(cupy, spec_of(self.function).arity, size, dtype)
        if library == "torch":
            torch = _torch_or_skip()
            args = [torch.from_dlpack(a) for a in args]
            func = make(torch)
        else:
            func = make(cupy)
        self.synchronize = cupy.cuda.runtime.deviceSynchronize
        self._bind(func, args)


class GpuPeersRelu(_GpuPeers):
    function = "relu"
    params = [list(_GPU_PEERS["relu"]), GPU_SIZES, DTYPES]

    def time_relu(self, *params):
        self._call()


class GpuPeersReluGrad(_GpuPeers):
    function = "relu_grad"
    params = [list(_GPU_PEERS["relu_grad"]), GPU_SIZES, DTYPES]

    def time_relu_grad(self, *params):
        self._call()


class GpuPeersReluBackward(_GpuPeers):
    function = "relu_backward"
    params = [list(_GPU_PEERS["relu_backward"]), GPU_SIZES, DTYPES]

    def time_relu_backward(self, *params):
        self._call()
