"""Every operation of the table on CuPy arrays, and its peers there.

``GpuRelukit.time_gpu``: relukit's CuPy backend allocating its result, over
operation x size x dtype x parameter set. ``GpuPeers<Op>``,
``GpuPeers<Op>Out`` and ``GpuPeers<Op>InPlace``: relukit and the table's
peers in the same mode (allocating, ``out=y``, in place), like
``bench_peers`` on the CPU. The peers spelled with NumPy functions run on
CuPy arrays (CuPy implements NumPy's ufunc and function protocols); those
that take only NumPy arrays report skipped.

Skipped (``NotImplementedError`` in ``setup``) where CuPy, a CUDA device
or relukit's CuPy backend is missing. Kernel launches return before the
GPU is done, so every timed call ends by synchronizing the device.
"""

from ._common import (
    DTYPES,
    FUNCTIONS,
    LARGE,
    MISSING,
    MODES,
    OPERATIONS,
    RELUKIT,
    SIZES,
    Prepared,
    camel,
    generate,
    implementations,
    keyword_arguments,
    operation,
    parameter_sets,
    peer_call,
    relukit_call,
)

# 1e8 elements too: the size where a GPU pays off.
GPU_SIZES = [*SIZES, LARGE]
#: Every parameter set some operation benchmarks, in table order.
PARAMETER_SETS = [
    *dict.fromkeys(name for op in OPERATIONS for name in parameter_sets(op))
] or [MISSING]


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
    from relukit import _backends

    try:
        _backends.load("cupy")
    except (ImportError, ValueError) as error:
        raise NotImplementedError(f"this relukit has no CuPy backend: {error}") from None
    return cupy


def _device_inputs(cupy, op, size, dtype):
    def make(seed):
        a = cupy.random.default_rng(seed).standard_normal(size, dtype=dtype)
        a *= 4.0
        return a

    return op.make_inputs(make)


class _Gpu(Prepared):
    def _bind(self, cupy, call):
        self.call, self.synchronize = call, cupy.cuda.runtime.deviceSynchronize
        result = call()  # compiles the kernel
        self.synchronize()
        return result

    def _call(self):
        self.call()
        self.synchronize()


class GpuRelukit(_Gpu):
    """relukit's CuPy backend, allocating its result as users call it."""

    params = [FUNCTIONS, GPU_SIZES, DTYPES, PARAMETER_SETS]
    param_names = ["function", "size", "dtype", "params"]

    def prepare(self, function, size, dtype, parameter_set):
        cupy = _cupy_or_skip()
        op = operation(function)
        if parameter_set not in op.parameter_sets:
            raise NotImplementedError(f"{function} has no parameter set {parameter_set!r}")
        args = _device_inputs(cupy, op, size, dtype)
        kwargs = {**keyword_arguments(op, parameter_set), "backend": "cupy"}
        self._bind(cupy, relukit_call(op, "allocating", args, kwargs))

    def time_gpu(self, *params):
        self._call()


class _GpuPeers(_Gpu):
    function = None
    mode = None
    param_names = ["implementation", "size", "dtype"]

    def prepare(self, implementation, size, dtype):
        cupy = _cupy_or_skip()
        op = operation(self.function)
        args = _device_inputs(cupy, op, size, dtype)
        if implementation == RELUKIT:
            self._bind(cupy, relukit_call(op, self.mode, args, {}))
            return
        call = peer_call(op, self.mode, implementation, args)
        try:
            result = self._bind(cupy, call)
        except Exception as error:
            raise NotImplementedError(
                f"{implementation} does not run on CuPy arrays: {error!r}"
            ) from None
        if self.mode == "allocating" and not isinstance(result, cupy.ndarray):
            raise NotImplementedError(f"{implementation} does not return a CuPy array")


for _op in OPERATIONS:
    for _mode, (_class_suffix, _method_suffix) in MODES.items():
        generate(
            globals(),
            _GpuPeers,
            f"GpuPeers{camel(_op.name)}{_class_suffix}",
            f"time_{_op.name}{_method_suffix}",
            function=_op.name,
            mode=_mode,
            params=[implementations(_op, _mode), GPU_SIZES, DTYPES],
        )
