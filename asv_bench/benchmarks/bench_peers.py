"""relukit next to what users would otherwise write, like with like.

For each operation and mode, one graph holds relukit (default backend and
parameters, called as users call it) and every peer that the table's
``op.peers(mode)`` finds here, all doing the same job on the same inputs:
``Peers<Op>`` allocating the result (``PeersRelu.time_relu``),
``Peers<Op>Out`` writing into a preallocated ``out=y``
(``PeersReluOut.time_relu_out``), ``Peers<Op>InPlace`` overwriting ``x``
(``dy`` for ``relu_backward``; ``PeersReluInPlace.time_relu_in_place``).
Up to 1e8 elements for relu's three operations, where their speed targets
are set (float32 only there: the targets' dtype, and half the time of a
run); up to 1e7 for the others, where the smooth family's targets stop.
"""

from ._common import (
    DTYPES,
    LARGE,
    LARGE_ACTIVATIONS,
    LARGE_DTYPE,
    MODES,
    OPERATIONS,
    RELUKIT,
    SIZES,
    SMOKE,
    Prepared,
    camel,
    generate,
    implementations,
    inputs,
    operation,
    peer_call,
    relukit_call,
)


class _Peers(Prepared):
    function = None
    mode = None
    param_names = ["implementation", "size", "dtype"]

    def prepare(self, implementation, size, dtype):
        if size > max(SIZES) and dtype != LARGE_DTYPE:
            raise NotImplementedError(f"{size} elements: {LARGE_DTYPE} only, as the speed targets")
        op = operation(self.function)
        args = inputs(op, size, dtype)
        if implementation == RELUKIT:
            self.call = relukit_call(op, self.mode, args, {})
            self.call()
            return
        self.call = peer_call(op, self.mode, implementation, args)
        try:
            self.call()
        except Exception as error:  # a peer that refuses a dtype, say
            raise NotImplementedError(f"{implementation} fails on {dtype}: {error!r}") from None

    def _call(self):
        self.call()


def _large(op):
    # Smoke test: every operation gets the LARGE size, to run that path.
    wanted = SMOKE or op.name.replace("_backward", "").replace("_grad", "") in LARGE_ACTIVATIONS
    return [LARGE] if wanted else []


for _op in OPERATIONS:
    for _mode, (_class_suffix, _method_suffix) in MODES.items():
        generate(
            globals(),
            _Peers,
            f"Peers{camel(_op.name)}{_class_suffix}",
            f"time_{_op.name}{_method_suffix}",
            function=_op.name,
            mode=_mode,
            params=[implementations(_op, _mode), [*SIZES, *_large(_op)], DTYPES],
        )
