"""out=, in place and overlapping memory."""

from __future__ import annotations

import numpy as np
import pytest


from helpers import (
    BY_NAME,
    CPU_BACKENDS,
    FLOAT_DTYPES,
    FUNCTIONS,
    LAYOUTS,
    OP_PLAIN_AND_RICHEST,
    REPRESENTATIVE,
    assert_matches_reference,
    kwargs_of,
    make_array,
    make_inputs,
    public,
    reference,
)

BACKENDS = pytest.mark.parametrize("backend", CPU_BACKENDS)
FLOATS = pytest.mark.parametrize("dtype", FLOAT_DTYPES)

# Writing in place is decided by the dispatch and by driver templates that
# every operation shares (which operand the output aliases, the flat or the
# buffered driver); only the element body differs per operation. So every
# layout runs for relu's operations (select bodies, float16 bit patterns)
# and gelu's (widening bodies), and every other operation runs a contiguous
# layout (its own compiled in-place driver) and a strided one (the buffered
# iterator writing back into x).
FULL_LAYOUTS = REPRESENTATIVE


def _in_place_cases():
    for param in OP_PLAIN_AND_RICHEST:
        op, params_name = param.values
        for layout in LAYOUTS if op.name in FULL_LAYOUTS else ["C", "strided"]:
            yield pytest.param(op, params_name, layout, id=f"{param.id}-{layout}")


@pytest.mark.parametrize("spec, params_name", OP_PLAIN_AND_RICHEST)
@FLOATS
def test_out_is_returned_and_filled(spec, params_name, dtype, backend_path):
    inputs = make_inputs(spec, (40, 30), dtype, seed=0)
    expected = reference(spec, inputs, params_name)
    out = np.empty_like(expected)
    result = public(spec)(*inputs, out=out, backend=backend_path, **kwargs_of(spec, params_name))
    assert result is out
    assert_matches_reference(out, expected, spec.ulps)


@pytest.mark.parametrize("spec, params_name, layout", list(_in_place_cases()))
@FLOATS
def test_in_place_on_x(spec, params_name, layout, dtype, backend_path):
    inputs = make_inputs(spec, (40, 30), dtype, layout, seed=0)
    x = inputs[spec.inputs.index("x")]
    expected = reference(spec, inputs, params_name)
    result = public(spec)(*inputs, out=x, backend=backend_path, **kwargs_of(spec, params_name))
    assert result is x
    assert_matches_reference(x, expected, spec.ulps)


BACKWARD = [p for p in OP_PLAIN_AND_RICHEST if "dy" in p.values[0].inputs]


@pytest.mark.parametrize("spec, params_name", BACKWARD)
@FLOATS
def test_backward_in_place_on_dy(spec, params_name, dtype, backend_path):
    inputs = make_inputs(spec, (50, 7), dtype, seed=8)
    dy = inputs[spec.inputs.index("dy")]
    expected = reference(spec, inputs, params_name)
    result = public(spec)(*inputs, out=dy, backend=backend_path, **kwargs_of(spec, params_name))
    assert result is dy
    assert_matches_reference(dy, expected, spec.ulps)


@pytest.mark.parametrize("spec", FUNCTIONS)
@pytest.mark.parametrize("shift", [1, -1, 3])
def test_partial_overlap_gives_the_right_answer(spec, shift, backend_path):
    # out overlaps each input of x's shape in turn (x, and dy for a backward
    # pass) without being it.
    inputs = list(make_inputs(spec, (800,), "float64", seed=12))
    for position, overlapped in enumerate(inputs):
        if overlapped.shape != (800,):
            continue  # a channel weight
        buffer = make_array((1000,), "float64", "C", seed=11)
        shared = buffer[100:900]
        out = buffer[100 + shift : 900 + shift]
        case = list(inputs)
        case[position] = shared.copy()
        expected = reference(spec, case, "plain")
        case[position] = shared
        public(spec)(*case, out=out, backend=backend_path)
        assert_matches_reference(out, expected, spec.ulps)


@pytest.mark.parametrize("spec", FUNCTIONS)
@BACKENDS
def test_reversed_view_as_out(spec, backend):
    inputs = list(make_inputs(spec, (301,), "float32", seed=12))
    position = spec.inputs.index("x")
    expected = reference(spec, inputs, "plain")
    x = inputs[position] = inputs[position].copy()
    public(spec)(*inputs, out=x[::-1], backend=backend)
    assert_matches_reference(x[::-1], expected, spec.ulps)


@BACKENDS
def test_out_byte_order_may_differ(backend):
    x = np.array([-1.0, 2.0], dtype="<f4")
    out = np.empty(2, dtype=">f4")
    spec = BY_NAME["relu"]
    public(spec)(x, out=out, backend=backend)
    np.testing.assert_array_equal(out, [0.0, 2.0])
