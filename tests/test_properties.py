"""Property tests: every backend equals the reference on arbitrary arrays."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


from helpers import (
    BY_NAME,
    CPU_BACKENDS,
    FLOAT_DTYPES,
    OPERATIONS,
    RELU_OPERATIONS,
    assert_matches_reference,
    make_inputs,
    public,
    reference,
)

float_dtypes = st.sampled_from([np.dtype(d) for d in FLOAT_DTYPES]).flatmap(
    lambda d: st.sampled_from([d, d.newbyteorder(">" if np.little_endian else "<")])
)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9)


@st.composite
def arrays(draw, dtype=None, shape=None):
    """Arrays with NaN, inf, -0.0 and subnormals, seen through odd strides."""
    dtype = draw(float_dtypes) if dtype is None else dtype
    shape = draw(shapes) if shape is None else shape
    base = draw(hnp.arrays(dtype, tuple(2 * s for s in shape), elements=hnp.from_dtype(dtype)))
    steps = draw(st.lists(st.sampled_from([1, 2, -1, -2]), min_size=len(shape), max_size=len(shape)))
    view = base[tuple(slice(None, None, step) for step in steps)]
    return view[tuple(slice(0, s) for s in shape)]


#: relu's parameters, drawn over their whole range (the other operations'
#: are drawn in test_family.py).
relu_params = st.fixed_dictionaries(
    {},
    optional={
        "negative_slope": st.floats(-2, 2, allow_nan=False),
        "max_value": st.floats(0, 100, allow_nan=False),
        "threshold": st.floats(-5, 5, allow_nan=False),
    },
)


def _check(spec, inputs, kwargs, backend):
    expected = public(spec)(*inputs, backend="numpy", **kwargs)
    result = public(spec)(*inputs, backend=backend, **kwargs)
    assert_matches_reference(result, expected, spec.ulps)


@given(x=arrays(), kwargs=relu_params, backend=st.sampled_from(CPU_BACKENDS))
def test_relu_and_grad(x, kwargs, backend):
    for name in ("relu", "relu_grad"):
        _check(BY_NAME[name], (x,), kwargs, backend)


@given(data=st.data(), kwargs=relu_params, backend=st.sampled_from(CPU_BACKENDS))
def test_relu_backward(data, kwargs, backend):
    x = data.draw(arrays())
    dy = data.draw(arrays(shape=x.shape))
    _check(BY_NAME["relu_backward"], (dy, x), kwargs, backend)


@given(data=st.data(), backend=st.sampled_from(CPU_BACKENDS))
def test_every_operation(data, backend):
    """Any operation of the table, any of its parameter sets, arbitrary float arrays."""
    op = data.draw(st.sampled_from([op for op in OPERATIONS if op not in RELU_OPERATIONS]))
    params_name = data.draw(st.sampled_from(sorted(op.parameter_sets)))
    x = data.draw(arrays())
    # The declaration says which inputs there are; each array input that
    # has x's shape is drawn (dy), the others are the declaration's own.
    template = make_inputs(op, x.shape, "float64")
    inputs = [
        x if name == "x" else data.draw(arrays(shape=x.shape)) if t.shape == x.shape else t
        for name, t in zip(op.inputs, template)
    ]
    _check(op, inputs, op.parameter_sets[params_name], backend)


@given(x=arrays(dtype=np.dtype(np.float32)), backend=st.sampled_from(CPU_BACKENDS))
def test_relu_is_idempotent_and_nonnegative(x, backend):
    spec = BY_NAME["relu"]
    y = public(spec)(x, backend=backend)
    assert not (y < 0).any()
    np.testing.assert_array_equal(public(spec)(y, backend=backend), y)
    np.testing.assert_array_equal(reference(spec, (x,), "plain"), y)
