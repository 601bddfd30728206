"""relu, relu_grad, relu_backward and in-place relu on NumPy arrays (CPU backends)."""

import numpy as np

from ._common import (
    BACKENDS,
    DTYPES,
    FUNCTIONS,
    LARGEST,
    PARAMETER_SETS,
    SIZES,
    Prepared,
    inputs,
    keyword_arguments,
    spec_of,
)


class _Function(Prepared):
    """One public function, called as users call it: allocating its result."""

    function = None
    params = [SIZES, DTYPES, BACKENDS, PARAMETER_SETS]
    param_names = ["size", "dtype", "backend", "params"]

    def prepare(self, size, dtype, backend, parameter_set):
        spec = spec_of(self.function)
        self.func = spec.func
        self.args = inputs(spec.arity, size, dtype)
        self.kwargs = keyword_arguments(parameter_set, backend)
        self.func(*self.args, **self.kwargs)

    def _call(self):
        self.func(*self.args, **self.kwargs)


class TimeRelu(_Function):
    function = "relu"

    def time_relu(self, *params):
        self._call()


class TimeReluGrad(_Function):
    function = "relu_grad"

    def time_relu_grad(self, *params):
        self._call()


class TimeReluBackward(_Function):
    function = "relu_backward"

    def time_relu_backward(self, *params):
        self._call()


class TimeReluInPlace(_Function):
    """``relu(x, out=x)``: no allocation, one read and one write per element."""

    function = "relu"

    def prepare(self, *params):
        super().prepare(*params)
        self.kwargs["out"] = self.args[0]

    def time_relu_in_place(self, *params):
        self._call()


class PeakMem(Prepared):
    """Peak memory of the process around one call on ``LARGEST`` float64 elements.

    Every case holds the same arrays before the call (the inputs and one
    preallocated output), so ``peakmem_out`` should equal ``peakmem_baseline``
    (nothing allocated) and ``peakmem_allocating`` should exceed it by one
    result (8 bytes per element); anything more is a temporary the backend
    allocates.
    """

    params = [FUNCTIONS, BACKENDS]
    param_names = ["function", "backend"]

    def prepare(self, function, backend):
        spec = spec_of(function)
        self.func = spec.func
        self.args = inputs(spec.arity, LARGEST, "float64")
        self.out = np.ones_like(self.args[-1])  # ones: touch every page now
        self.kwargs = keyword_arguments("plain", backend)
        if backend == "numba":
            # Compile (or load) the drivers that large calls take, writing
            # into out= so that no result raises the high-water mark. The
            # NumPy backend compiles nothing: a warm-up call would only hide
            # its temporaries in the baseline.
            self.func(*self.args, out=self.out, **self.kwargs)

    def peakmem_baseline(self, function, backend):
        pass

    def peakmem_out(self, function, backend):
        self.func(*self.args, out=self.out, **self.kwargs)

    def peakmem_allocating(self, function, backend):
        self.func(*self.args, **self.kwargs)
