"""Every operation of the table on NumPy arrays, per CPU backend and mode.

For each operation and mode, one class: ``Time<Op>`` allocates the result
(``TimeRelu.time_relu``), ``Time<Op>Out`` writes into a preallocated
``out=y`` (``TimeReluOut.time_relu_out``) and ``Time<Op>InPlace`` overwrites
its input, ``out=x`` (``out=dy`` for ``relu_backward``;
``TimeReluInPlace.time_relu_in_place``). ``PeakMem`` measures the memory
each mode allocates.
"""

import numpy as np

import relukit

from ._common import (
    DTYPES,
    FUNCTIONS,
    LARGEST,
    MODES,
    OPERATIONS,
    SIZES,
    Prepared,
    camel,
    cpu_backends,
    default_backend,
    generate,
    inputs,
    keyword_arguments,
    operation,
    parameter_sets,
    relukit_call,
)

BACKENDS = cpu_backends()


class _Call(Prepared):
    """One operation in one mode, over size x dtype x backend x parameter set."""

    function = None
    mode = None
    param_names = ["size", "dtype", "backend", "params"]

    def prepare(self, size, dtype, backend, parameter_set):
        op = operation(self.function)
        kwargs = keyword_arguments(op, parameter_set, backend)
        self.call = relukit_call(op, self.mode, inputs(op, size, dtype), kwargs)
        self.call()

    def _call(self):
        self.call()


for _op in OPERATIONS:
    for _mode, (_class_suffix, _method_suffix) in MODES.items():
        generate(
            globals(),
            _Call,
            f"Time{camel(_op.name)}{_class_suffix}",
            f"time_{_op.name}{_method_suffix}",
            function=_op.name,
            mode=_mode,
            params=[SIZES, DTYPES, BACKENDS, parameter_sets(_op)],
        )


class PeakMem(Prepared):
    """Peak memory of the process around one call on ``LARGEST`` float64 elements.

    Every case holds the same arrays before the call (the inputs and one
    preallocated output), so ``peakmem_out`` and ``peakmem_in_place`` should
    equal ``peakmem_baseline`` (nothing allocated) and ``peakmem_allocating``
    should exceed it by one result (8 bytes per element); anything more is a
    temporary the backend allocates.
    """

    params = [FUNCTIONS, BACKENDS]
    param_names = ["function", "backend"]

    def prepare(self, function, backend):
        op = operation(function)
        self.func = getattr(relukit, function)
        self.args = inputs(op, LARGEST, "float64")
        self.in_place = self.args[op.inputs.index(op.result_like)]
        self.out = np.ones_like(self.in_place)  # ones: touch every page now
        self.kwargs = keyword_arguments(op, backend=backend)
        if backend == default_backend():
            # Compile (or load) the drivers that large calls take, writing
            # into out= so that no result raises the high-water mark. The
            # NumPy reference compiles nothing: a warm-up call would only
            # hide its temporaries in the baseline.
            self.func(*self.args, out=self.out, **self.kwargs)
            self.func(*self.args, out=self.in_place, **self.kwargs)

    def peakmem_baseline(self, function, backend):
        pass

    def peakmem_out(self, function, backend):
        self.func(*self.args, out=self.out, **self.kwargs)

    def peakmem_in_place(self, function, backend):
        self.func(*self.args, out=self.in_place, **self.kwargs)

    def peakmem_allocating(self, function, backend):
        self.func(*self.args, **self.kwargs)
