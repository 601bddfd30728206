"""The CuPy backend agrees with the NumPy reference, on the GPU.

Every result is copied to the host (``cp.asnumpy``) and compared with the
NumPy reference backend on the same values. The whole module is skipped,
with one reason, where CuPy or a usable CUDA device is missing.

CuPy arrays are always in native byte order, so the byte-swapped layout of
the CPU tests has no GPU counterpart.
"""

from __future__ import annotations

import numpy as np
import pytest

import relukit
from relukit._config import _gpu_info

_GPU = _gpu_info()
if not _GPU["available"]:
    pytest.skip(_GPU["reason"], allow_module_level=True)

import cupy as cp  # noqa: E402  (only once a device is known to exist)

from helpers import (  # noqa: E402
    BY_NAME,
    FLOAT_DTYPES,
    FUNCTIONS,
    INT_DTYPES,
    OP_PARAMS,
    OP_PLAIN_AND_RICHEST,
    OPERATIONS,
    SHAPES,
    assert_matches_reference,
    int_ok,
    kwargs_of,
    make_inputs,
    public,
    reference,
    richest_parameter_set,
)

from relukit import _cupy  # noqa: E402

pytestmark = pytest.mark.gpu

#: CPU layouts that exist on the GPU (no byte-swapped CuPy arrays).
LAYOUTS = ["C", "F", "strided", "reversed"]
#: The operations with an integer variant, and those taking a gradient ``dy``.
INTEGER_FUNCTIONS = [pytest.param(op, id=op.name) for op in OPERATIONS if int_ok(op)]
BACKWARD_PLAIN_AND_RICHEST = [p for p in OP_PLAIN_AND_RICHEST if "dy" in p.values[0].inputs]
#: The operations with relu's Keras parameters, whose float16 slope must be
#: rounded once from float64.
KERAS_FUNCTIONS = [
    pytest.param(op, id=op.name) for op in OPERATIONS if "negative_slope" in {p.name for p in op.parameters}
]


def to_device(host, layout="C"):
    """``host``'s values in a CuPy array laid out as ``layout``."""
    if host.ndim == 0 or layout == "C":
        return cp.asarray(host)
    if layout == "F":
        return cp.asfortranarray(cp.asarray(host))
    if layout == "strided":
        parent = cp.zeros(host.shape[:-1] + (2 * host.shape[-1],), dtype=host.dtype)
        parent[..., ::2] = cp.asarray(host)
        return parent[..., ::2]
    if layout == "reversed":
        return cp.asarray(np.ascontiguousarray(host[::-1]))[::-1]
    raise ValueError(layout)


def host_inputs(spec, shape, dtype, dy_dtype=None):
    """The call's inputs on the host, C-ordered, built as the CPU tests build them."""
    # reshape: make_array gives shape (1,) for shape (); channel inputs
    # (PReLU's weight) keep the shape the declaration gives them.
    inputs = make_inputs(spec, shape, dtype, dy_dtype=dy_dtype)
    return tuple(
        a.reshape(shape) if name in ("x", "dy") else a for name, a in zip(spec.inputs, inputs)
    )


def device_inputs(spec, host, layout="C"):
    """``host`` on the device; the element-wise inputs laid out as ``layout``."""
    return [to_device(a, layout if name in ("x", "dy") else "C") for name, a in zip(spec.inputs, host)]


def assert_bits_equal(result, expected):
    """Equal values and NaN positions, up to the sign of zero: no rounding slack."""
    result, expected = np.asarray(result), np.asarray(expected)
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("spec, params_name", OP_PARAMS)
def test_matches_reference(spec, params_name, dtype, shape, layout):
    host = host_inputs(spec, shape, dtype)
    expected = reference(spec, host, params_name)
    device = device_inputs(spec, host, layout)
    result = public(spec)(*device, **kwargs_of(spec, params_name))
    assert isinstance(result, cp.ndarray)
    assert result.shape == expected.shape
    assert_matches_reference(cp.asnumpy(result), expected, ulps=spec.ulps)
    for d, h in zip(device, host):  # inputs are never modified
        np.testing.assert_array_equal(cp.asnumpy(d), h)


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("layout", ["C", "strided"])
@pytest.mark.parametrize("spec", INTEGER_FUNCTIONS)
def test_integers_plain(spec, dtype, layout):
    host = host_inputs(spec, (5, 9), dtype, dy_dtype="float32")
    expected = reference(spec, host, "plain")
    result = public(spec)(*device_inputs(spec, host, layout))
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(cp.asnumpy(result), expected)


@pytest.mark.parametrize(
    "dy_dtype,x_dtype",
    [(a, b) for a in FLOAT_DTYPES for b in FLOAT_DTYPES if a != b],
)
@pytest.mark.parametrize("spec, params_name", BACKWARD_PLAIN_AND_RICHEST)
def test_backward_mixed_dtypes(spec, params_name, dy_dtype, x_dtype):
    host = host_inputs(spec, (4, 33), x_dtype, dy_dtype=dy_dtype)
    expected = reference(spec, host, params_name)
    result = public(spec)(*device_inputs(spec, host), **kwargs_of(spec, params_name))
    assert result.dtype == np.dtype(dy_dtype)
    assert_matches_reference(cp.asnumpy(result), expected, ulps=spec.ulps)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("spec, params_name", OP_PARAMS)
def test_subnormals_exact(spec, params_name, dtype):
    """CuPy compiles with -ftz=true; subnormal inputs must still not read as 0.

    Exact where the operation only selects and rounds once (``ulps`` 0);
    elsewhere within its ulps, and never 0 where the reference is at least
    two subnormal steps away from it: a flushed input or result would be.
    """
    info = np.finfo(dtype)
    tiny = info.smallest_subnormal
    values = np.array(
        [tiny, -tiny, 3 * tiny, info.tiny / 2, -info.tiny / 2, info.tiny, 0.0, -0.0], dtype=dtype
    )
    host = list(host_inputs(spec, values.shape, dtype))
    host[spec.inputs.index("x")] = values
    if "dy" in spec.inputs:
        host[spec.inputs.index("dy")] = values[::-1].copy()
    expected = reference(spec, host, params_name)
    result = cp.asnumpy(public(spec)(*map(cp.asarray, host), **kwargs_of(spec, params_name)))
    if spec.ulps == 0:
        assert_bits_equal(result, expected)
        return
    assert_matches_reference(result, expected, ulps=spec.ulps)
    clear = np.abs(expected.astype(np.float64)) >= 2 * float(tiny)
    assert not (clear & (result == 0)).any(), f"flushed to 0: {values[clear & (result == 0)]}"


@pytest.mark.parametrize("spec, params_name", OP_PARAMS)
def test_every_float16(spec, params_name):
    """Every float16 value of ``x``: the one rounding from float64 into half
    (relukit_round<float16>), exactly where the operation allows no slack."""
    every = np.arange(2**16, dtype=np.uint16).view(np.float16)
    host = list(host_inputs(spec, every.shape, "float16"))
    host[spec.inputs.index("x")] = every
    expected = reference(spec, host, params_name)
    result = public(spec)(*map(cp.asarray, host), **kwargs_of(spec, params_name))
    assert_matches_reference(cp.asnumpy(result), expected, ulps=spec.ulps)


@pytest.mark.parametrize("spec", KERAS_FUNCTIONS)
def test_float16_keras_rounds_once(spec):
    """float64 -> float16 in one rounding: going through float32 would round
    1 + 2**-11 + 2**-40 to 1 + 2**-11 (a tie) and then down to 1.0."""
    hard = 1 + 2**-11 + 2**-40
    x = np.array([-1.0, -2.0, -0.25], dtype=np.float16)
    # The forward's negative piece is slope * x: slope -hard gives hard at
    # x = -1; the derivative (times dy = 1) is the slope itself.
    slope = hard if spec.name.endswith(("_grad", "_backward")) else -hard
    host = tuple(np.ones(3, dtype=np.float16) if name == "dy" else x for name in spec.inputs)
    out = public(spec)(*host, backend="numpy", negative_slope=slope)
    assert out[0] == np.float16(hard) != np.float16(np.float32(hard))
    result = public(spec)(*map(cp.asarray, host), negative_slope=slope)
    assert_bits_equal(cp.asnumpy(result), out)


@pytest.mark.parametrize("spec", FUNCTIONS)
def test_out_is_written_and_returned(spec):
    params_name = richest_parameter_set(spec)
    host = host_inputs(spec, (6, 7), "float32")
    expected = reference(spec, host, params_name)
    out = cp.full((6, 7), 12345.0, dtype=cp.float32)
    result = public(spec)(*device_inputs(spec, host), out=out, **kwargs_of(spec, params_name))
    assert result is out
    assert_matches_reference(cp.asnumpy(out), expected, ulps=spec.ulps)


@pytest.mark.parametrize("spec, params_name", OP_PLAIN_AND_RICHEST)
def test_in_place(spec, params_name):
    host = host_inputs(spec, (1000,), "float32")
    expected = reference(spec, host, params_name)
    device = device_inputs(spec, host)
    target = device[spec.inputs.index(spec.result_like)]  # x, or dy for a backward pass
    result = public(spec)(*device, out=target, **kwargs_of(spec, params_name))
    assert result is target
    assert_matches_reference(cp.asnumpy(target), expected, ulps=spec.ulps)


@pytest.mark.parametrize("spec", FUNCTIONS)
def test_partial_overlap(spec):
    """An out that overlaps an input without being it sees the original input."""
    host = host_inputs(spec, (100,), "float64")
    expected = reference(spec, host, "plain")
    position = spec.inputs.index(spec.result_like)
    base = cp.asarray(np.concatenate([[1.5], host[position]]))
    device = device_inputs(spec, host)
    device[position] = base[1:]
    result = public(spec)(*device, out=base[:-1])
    assert_matches_reference(cp.asnumpy(result), expected, ulps=spec.ulps)


def _bad_calls(spec):
    """(what, out, call(out), exceptions): calls that must raise without touching out."""
    host = host_inputs(spec, (3, 4), "float32")
    good = device_inputs(spec, host)
    f = public(spec)

    def sentinel(shape=(3, 4), dtype=cp.float32, xp=cp):
        return xp.full(shape, 7, dtype=dtype)

    def replaced(name, value):
        return [value if n == name else a for n, a in zip(spec.inputs, good)]

    ints = cp.arange(12, dtype=cp.int32).reshape(3, 4)
    calls = [
        ("wrong out dtype", sentinel(dtype=cp.float64), lambda out: f(*good, out=out), TypeError),
        ("wrong out shape", sentinel(shape=(4, 3)), lambda out: f(*good, out=out), ValueError),
        ("numpy out", sentinel(xp=np), lambda out: f(*good, out=out), TypeError),
        ("numba backend", sentinel(), lambda out: f(*good, out=out, backend="numba"), TypeError),
    ]
    # A NaN for each parameter: refused by every check (a string or an axis
    # parameter raises TypeError, a number ValueError).
    for parameter in spec.parameters:
        nan = {parameter.name: float("nan")}
        calls.append(
            (f"NaN {parameter.name}", sentinel(), lambda out, nan=nan: f(*good, out=out, **nan),
             (TypeError, ValueError))
        )
    # Integer x where the variant has no integer kernel: every variant of
    # the smooth family, relu's Keras variants.
    refused = [
        name for name, values in spec.parameter_sets.items()
        if not spec.int_ok(spec.check({**spec.defaults, **values}))
    ]
    if refused:
        params = spec.parameter_sets[refused[0]]
        out_dtype = cp.int32 if spec.result_like == "x" else cp.float32
        calls.append(
            (f"integer x, {refused[0]}", sentinel(dtype=out_dtype),
             lambda out: f(*replaced("x", ints), out=out, **params), TypeError)
        )
    if "dy" in spec.inputs:
        x = good[spec.inputs.index("x")]
        calls += [
            ("integer dy", sentinel(dtype=cp.int32), lambda out: f(*replaced("dy", ints), out=out), TypeError),
            ("shape mismatch", sentinel(), lambda out: f(*replaced("x", x[:, :2]), out=out), ValueError),
            ("numpy x", sentinel(), lambda out: f(*replaced("x", cp.asnumpy(x)), out=out), TypeError),
        ]
    return calls


@pytest.mark.parametrize("spec", FUNCTIONS)
def test_errors_before_any_write(spec):
    for what, out, call, error in _bad_calls(spec):
        with pytest.raises(error):
            call(out)
        assert bool((out == 7).all()), f"{what}: out was written before the error"


@pytest.mark.parametrize("spec", FUNCTIONS)
def test_mixing_numpy_and_cupy_raises(spec):
    host = host_inputs(spec, (5,), "float32")
    device = device_inputs(spec, host)
    with pytest.raises(TypeError):
        public(spec)(*device, out=np.empty(5, np.float32))
    with pytest.raises(TypeError):
        public(spec)(*host, out=cp.empty(5, cp.float32))
    with pytest.raises(TypeError):
        public(spec)(*host, backend="cupy")


@pytest.mark.parametrize("spec, params_name", OP_PLAIN_AND_RICHEST)
def test_runs_on_the_current_stream_without_synchronizing(spec, params_name):
    """Captured into a CUDA graph on a non-blocking stream, in global mode:
    a synchronization or a launch on another stream during the capture
    would fail it, and nothing may have run before the graph is launched."""
    params = kwargs_of(spec, params_name)
    host = host_inputs(spec, (4096,), "float32")
    expected = reference(spec, host, params_name)
    device = device_inputs(spec, host)
    out = cp.empty(4096, dtype=cp.float32)
    public(spec)(*device, out=out, **params)  # compile and load outside the capture
    out.fill(-7.0)
    cp.cuda.Device().synchronize()
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture(mode=cp.cuda.runtime.streamCaptureModeGlobal)
        try:
            public(spec)(*device, out=out, **params)
        finally:
            graph = stream.end_capture()
    cp.cuda.Device().synchronize()
    assert bool((out == -7.0).all()), "the kernel ran outside the captured stream"
    graph.launch(stream=stream)
    stream.synchronize()
    assert_matches_reference(cp.asnumpy(out), expected, ulps=spec.ulps)


def test_kernels_are_memoized_and_prefixed():
    assert not any(isinstance(v, cp.ElementwiseKernel) for v in vars(_cupy).values())
    for function, variant in _cupy.SOURCES:
        kernel = _cupy._kernel(function, variant)
        assert kernel is _cupy._kernel(function, variant)
        assert kernel.name.startswith("relukit_")


def test_show_config_names_the_gpu():
    info = relukit.show_config(mode="dicts")["gpu"]
    assert info["available"] is True
    assert info["name"]
    assert info["memory_gib"] > 0


def _need_free_bytes(nbytes):
    free, _ = cp.cuda.Device().mem_info
    if free < nbytes * 1.1:
        pytest.skip(f"needs {nbytes / 2**30:.1f} GiB of free GPU memory, {free / 2**30:.1f} GiB free")


def _mark(x, indices, values):
    x[cp.asarray(indices, dtype=cp.int64)] = cp.asarray(values, dtype=x.dtype)


@pytest.mark.slow
def test_beyond_2_31_elements_contiguous():
    """A flat int8 array past 2**31: a 32-bit index would wrap around."""
    n = 2**31 + 5
    _need_free_bytes(2 * n)
    x = cp.full(n, -1, dtype=cp.int8)
    where = [0, 1, 2**31 - 1, 2**31, 2**31 + 1, n - 1]
    _mark(x, where, [1, 2, 3, 4, 5, 6])
    y = relukit.relu(x)
    assert int(cp.count_nonzero(y)) == len(where)
    np.testing.assert_array_equal(cp.asnumpy(y[cp.asarray(where)]), [1, 2, 3, 4, 5, 6])
    del x, y


@pytest.mark.slow
def test_beyond_2_31_elements_strided():
    """A 2-D non-contiguous view of 3 * 2**30 elements: 64-bit index arithmetic."""
    cols = 2**30
    _need_free_bytes(2 * 3 * (cols + 1))
    parent = cp.full((3, cols + 1), -1, dtype=cp.int8)
    x = parent[:, :-1]
    assert not x.flags.c_contiguous and x.size > 2**31
    rows, columns = [0, 1, 2, 2, 2], [0, 2**29, 0, 2**30 - 2, 2**30 - 1]
    x[cp.asarray(rows), cp.asarray(columns)] = 1
    g = relukit.relu_grad(x)
    assert int(cp.count_nonzero(g)) == len(rows)
    np.testing.assert_array_equal(cp.asnumpy(g[cp.asarray(rows), cp.asarray(columns)]), 1)
    del parent, x, g


@pytest.mark.slow
def test_beyond_2_31_elements_keras_float16():
    """relu_backward with every Keras parameter on float16, past 2**31."""
    n = 2**31 + 5
    _need_free_bytes(3 * 2 * n)
    params = kwargs_of(BY_NAME["relu_backward"], "all")
    x = cp.full(n, 7.0, dtype=cp.float16)  # saturated: gradient 0
    where = [0, 2**31 - 1, 2**31, 2**31 + 1, n - 1]
    values = np.array([1.0, -3.0, 2.0, -0.25, 5.0], dtype=np.float16)
    _mark(x, where, values)
    dy = cp.full(n, 3.0, dtype=cp.float16)
    dx = relukit.relu_backward(dy, x, **params)
    expected = relukit.relu_backward(
        np.full(len(where), 3.0, np.float16), values, backend="numpy", **params
    )
    assert int(cp.count_nonzero(dx)) == int(np.count_nonzero(expected))
    np.testing.assert_array_equal(cp.asnumpy(dx[cp.asarray(where)]), expected)
    del x, dy, dx
