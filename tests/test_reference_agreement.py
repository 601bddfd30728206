"""Every backend agrees with the NumPy reference over dtype x shape x layout x parameters."""

from __future__ import annotations

import re

import numpy as np
import pytest


from helpers import (
    CPU_BACKENDS,
    FLOAT_DTYPES,
    FUNCTIONS,
    INT_DTYPES,
    LAYOUTS,
    OP_PARAMS,
    REPRESENTATIVE,
    SHAPES,
    assert_matches_reference,
    int_ok,
    kwargs_of,
    make_inputs,
    public,
    reference,
)

# The full cross product (shape x layout x dtype x backend, 210 cases per
# parameter set) runs for a representative subset only. Layouts, shapes,
# byte order and the choice between the flat and the buffered-iterator
# drivers are handled by code that every operation shares (the dispatch and
# the driver templates of relukit._numba_drivers), and the element bodies
# come in two kinds: relu's, which select (with float16 bit-pattern and
# integer variants, one per parameter set), and the smooth ones, which all
# widen to float64 and round once. So: relu's three operations with every
# parameter set, and gelu's three with both formulas, stand for their kind.
# Every other (operation, parameter set) -- where only the formula differs
# -- runs every dtype and backend on a thinner sweep of (shape, layout)
# pairs that still visits every shape, every layout, both drivers, the 0-d
# and the empty case (about a fifth of the cases).
FULL_SWEEP = REPRESENTATIVE
THIN_SWEEP = [
    ((64, 33), "C"),
    ((3, 5), "F"),
    ((2, 3, 4), "strided"),
    ((7,), "reversed"),
    ((1,), "byteswapped"),
    ((), "C"),
    ((0,), "C"),
]
assert {s for s, _ in THIN_SWEEP} == set(SHAPES) and {la for _, la in THIN_SWEEP} == set(LAYOUTS)


def _cases():
    for param in OP_PARAMS:
        op, params_name = param.values
        if op.name in FULL_SWEEP:
            pairs = [(shape, layout) for shape in SHAPES for layout in LAYOUTS]
        else:
            pairs = THIN_SWEEP
        for shape, layout in pairs:
            yield pytest.param(op, params_name, shape, layout, id=f"{param.id}-{shape}-{layout}")


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("spec, params_name, shape, layout", list(_cases()))
def test_matches_reference(spec, params_name, shape, layout, dtype, backend):
    inputs = make_inputs(spec, shape, dtype, layout)
    before = [a.copy() for a in inputs]
    expected = reference(spec, inputs, params_name)
    result = public(spec)(*inputs, backend=backend, **kwargs_of(spec, params_name))
    assert_matches_reference(result, expected, spec.ulps)
    for a, b in zip(inputs, before):  # inputs are never modified
        np.testing.assert_array_equal(a, b)


INT_OPS = [p for p in FUNCTIONS if int_ok(p.values[0])]
FLOAT_ONLY_OPS = [p for p in FUNCTIONS if not int_ok(p.values[0])]


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("layout", ["C", "strided", "byteswapped"])
@pytest.mark.parametrize("spec", INT_OPS)
def test_integers_plain(spec, dtype, layout):
    inputs = make_inputs(spec, (5, 9), dtype, layout, dy_dtype="float32")
    expected = reference(spec, inputs, "plain")
    result = public(spec)(*inputs)
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("spec", FLOAT_ONLY_OPS)
def test_integers_refused(spec, dtype, backend):
    """Operations without an integer variant name x's dtype and the accepted ones."""
    inputs = make_inputs(spec, (5,), dtype, dy_dtype="float32")
    message = f"{spec.name}(): x has dtype {dtype}, which is not supported; use float16, float32 or float64"
    with pytest.raises(TypeError, match=re.escape(message)):
        public(spec)(*inputs, backend=backend)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("spec, params_name", OP_PARAMS)
def test_numba_paths(spec, dtype, params_name, numba_path):
    """Serial, parallel and streaming paths, on sizes and offsets that leave
    unaligned heads and tails in every chunk."""
    kwargs = kwargs_of(spec, params_name)
    for size, offset in [(1, 0), (37, 1), (4099, 3), (20_000, 5)]:
        inputs = make_inputs(spec, (size + offset,), dtype, seed=size)
        # Unaligned starts: every sample array begins ``offset`` elements in.
        inputs = tuple(a[offset:] if a.shape == (size + offset,) else a for a in inputs)
        expected = reference(spec, inputs, params_name)
        result = public(spec)(*inputs, backend="numba", **kwargs)
        assert_matches_reference(result, expected, spec.ulps)
        out = np.full_like(expected, 42)
        public(spec)(*inputs, out=out, backend="numba", **kwargs)
        assert_matches_reference(out, expected, spec.ulps)


BACKWARD = [p for p in OP_PARAMS if "dy" in p.values[0].inputs]


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("spec, params_name", BACKWARD)
def test_mixed_dtypes_backward(spec, params_name, dtype, backend):
    """dy and x of different dtypes: the result takes dy's."""
    x_dtypes = FLOAT_DTYPES + (("int32",) if int_ok(spec) and params_name == "plain" else ())
    for x_dtype in x_dtypes:
        inputs = make_inputs(spec, (33,), x_dtype, seed=3, dy_dtype=dtype)
        expected = reference(spec, inputs, params_name)
        result = public(spec)(*inputs, backend=backend, **kwargs_of(spec, params_name))
        assert result.dtype == np.dtype(dtype)
        assert_matches_reference(result, expected, spec.ulps)


def _fast_path_cases():
    for param in FUNCTIONS:
        op = param.values[0]
        dtypes = FLOAT_DTYPES + (("int32", "uint8") if int_ok(op) else ())
        for dtype in dtypes:
            yield pytest.param(op, dtype, id=f"{op.name}-{dtype}")


@pytest.mark.parametrize("shape", [(1,), (1000,), (3, 5), (2, 3, 4), (1, 1, 1, 1, 9)], ids=str)
@pytest.mark.parametrize("spec, dtype", list(_fast_path_cases()))
def test_default_call_fast_path(spec, dtype, shape):
    """backend=None, no out, default parameters: the small-call fast path."""
    inputs = make_inputs(spec, shape, dtype, seed=3, dy_dtype=None if dtype in FLOAT_DTYPES else "float32")
    expected = reference(spec, inputs, "plain")
    for _ in range(2):  # the first call may compile, the second takes the entry point
        result = public(spec)(*inputs)
        assert type(result) is np.ndarray and result.flags.c_contiguous
        assert_matches_reference(result, expected, spec.ulps)


@pytest.mark.parametrize("shape", [(1,), (1000,), (3, 5), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("spec, dtype", list(_fast_path_cases()))
def test_default_call_fast_path_into_out_and_in_place(spec, dtype, shape, monkeypatch):
    """backend=None, default parameters, out= a fresh array or the input the
    result is like: the fast path answers without the general dispatch; an
    out that partly overlaps an input goes to the dispatch, which copes."""
    _check_fast_path_out(spec, dtype, shape, monkeypatch)


@pytest.mark.parametrize("spec, dtype", list(_fast_path_cases()))
def test_default_call_fast_path_above_the_small_size(spec, dtype, numba_path, monkeypatch):
    """The same above ``_fastpath.MAX_SIZE``, where the fast path calls its
    kernels while the call stays on one core and otherwise the pool (and
    streaming stores into out), forced here on a small array."""
    from relukit import _fastpath

    shape = (2, _fastpath.MAX_SIZE // 2 + 8)
    inputs = make_inputs(spec, shape, dtype, seed=5, dy_dtype=None if dtype in FLOAT_DTYPES else "float32")
    if inputs[0].dtype == inputs[-1].dtype:
        result = public(spec)(*inputs)
        assert type(result) is np.ndarray and result.shape == shape
        assert_matches_reference(result, reference(spec, inputs, "plain"), spec.ulps)
    _check_fast_path_out(spec, dtype, shape, monkeypatch)


def _check_fast_path_out(spec, dtype, shape, monkeypatch):
    from relukit import _fastpath, _functions

    inputs = make_inputs(spec, shape, dtype, seed=4, dy_dtype=None if dtype in FLOAT_DTYPES else "float32")
    if inputs[0].dtype != inputs[-1].dtype:
        pytest.skip("mixed dtypes never take the fast path")
    expected = reference(spec, inputs, "plain")
    general = _functions._call
    calls = []
    monkeypatch.setattr(_functions, "_call", lambda *a: calls.append(a) or general(*a))
    like = spec.inputs.index(spec.result_like)
    for _ in range(2):  # the first call may compile, the second takes the entry point
        out = np.empty(shape, dtype)
        assert public(spec)(*inputs, out=out) is out
        assert_matches_reference(out, expected, spec.ulps)
        same = [a.copy() for a in inputs]
        assert public(spec)(*same, out=same[like]) is same[like]
        assert_matches_reference(same[like], expected, spec.ulps)
    # No fast path for float16, nor for PReLU (its weight has another shape).
    fast = not spec.channel_inputs and np.dtype(dtype) in _fastpath.TABLES.get(spec.name, {})
    assert len(calls) == (0 if fast else 4)
    calls.clear()
    # out shifted by one element over each input in turn.
    size = int(np.prod(shape))
    if size == 1:
        return  # nothing to overlap
    positions = [p for p, a in enumerate(inputs) if a.shape == shape]
    for position in positions:
        buffer = np.zeros(size + 1, dtype)
        case = list(inputs)
        buffer[1:] = case[position].reshape(-1)
        case[position] = buffer[1:].reshape(shape)
        out = buffer[:-1].reshape(shape)
        assert public(spec)(*case, out=out) is out
        assert_matches_reference(out, expected, spec.ulps)
    assert len(calls) == len(positions)
