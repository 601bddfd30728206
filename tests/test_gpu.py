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
    INT_DTYPES,
    OP_PARAMS,
    OPERATIONS,
    SHAPES,
    assert_matches_reference,
    kwargs_of,
    make_array,
    public,
    reference,
)

from relukit import _cupy  # noqa: E402

pytestmark = pytest.mark.gpu

FUNCTIONS = [pytest.param(spec, id=spec.name) for spec in OPERATIONS]
#: CPU layouts that exist on the GPU (no byte-swapped CuPy arrays).
LAYOUTS = ["C", "F", "strided", "reversed"]


def to_device(host, layout):
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
    # reshape: make_array gives shape (1,) for shape ().
    x = make_array(shape, dtype, "C", seed=1).reshape(shape)
    if spec.arity == 1:
        return (x,)
    if dy_dtype is None:
        dy_dtype = dtype if np.dtype(dtype).kind == "f" else "float64"
    return (make_array(shape, dy_dtype, "C", seed=2).reshape(shape), x)


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
    device = [to_device(a, layout) for a in host]
    result = public(spec)(*device, **kwargs_of(spec, params_name))
    assert isinstance(result, cp.ndarray)
    assert result.shape == expected.shape
    assert_matches_reference(cp.asnumpy(result), expected)
    for d, h in zip(device, host):  # inputs are never modified
        np.testing.assert_array_equal(cp.asnumpy(d), h)


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("layout", ["C", "strided"])
@pytest.mark.parametrize("spec", FUNCTIONS)
def test_integers_plain(spec, dtype, layout):
    host = host_inputs(spec, (5, 9), dtype, dy_dtype="float32")
    expected = reference(spec, host, "plain")
    result = public(spec)(*[to_device(a, layout) for a in host])
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(cp.asnumpy(result), expected)


@pytest.mark.parametrize("params_name", ["plain", "all"])
@pytest.mark.parametrize(
    "dy_dtype,x_dtype",
    [(a, b) for a in FLOAT_DTYPES for b in FLOAT_DTYPES if a != b],
)
def test_backward_mixed_dtypes(dy_dtype, x_dtype, params_name):
    spec = BY_NAME["relu_backward"]
    host = host_inputs(spec, (4, 33), x_dtype, dy_dtype=dy_dtype)
    expected = reference(spec, host, params_name)
    result = public(spec)(*map(cp.asarray, host), **kwargs_of(spec, params_name))
    assert result.dtype == np.dtype(dy_dtype)
    assert_matches_reference(cp.asnumpy(result), expected)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("spec, params_name", OP_PARAMS)
def test_subnormals_exact(spec, params_name, dtype):
    """CuPy compiles with -ftz=true; subnormal inputs must still not read as 0."""
    info = np.finfo(dtype)
    tiny = info.smallest_subnormal
    values = np.array(
        [tiny, -tiny, 3 * tiny, info.tiny / 2, -info.tiny / 2, info.tiny, 0.0, -0.0], dtype=dtype
    )
    host = (values,) if spec.arity == 1 else (values[::-1].copy(), values)
    expected = reference(spec, host, params_name)
    result = public(spec)(*map(cp.asarray, host), **kwargs_of(spec, params_name))
    assert_bits_equal(cp.asnumpy(result), expected)


@pytest.mark.parametrize("spec", FUNCTIONS)
def test_float16_keras_rounds_once(spec):
    """float64 -> float16 in one rounding: going through float32 would round
    1 + 2**-11 + 2**-40 to 1 + 2**-11 (a tie) and then down to 1.0."""
    hard = 1 + 2**-11 + 2**-40
    x = np.array([-1.0, -2.0, -0.25], dtype=np.float16)
    if spec.name == "relu":
        # negative piece: slope * (x - 0) with slope = -hard gives hard at x = -1.
        host, params = (x,), {"negative_slope": -hard}
    elif spec.name == "relu_grad":
        host, params = (x,), {"negative_slope": hard}
    else:
        host, params = (np.ones(3, dtype=np.float16), x), {"negative_slope": hard}
    out = public(spec)(*host, backend="numpy", **params)
    assert out[0] == np.float16(hard) != np.float16(np.float32(hard))
    result = public(spec)(*map(cp.asarray, host), **params)
    assert_bits_equal(cp.asnumpy(result), out)


@pytest.mark.parametrize("spec", FUNCTIONS)
def test_out_is_written_and_returned(spec):
    host = host_inputs(spec, (6, 7), "float32")
    expected = reference(spec, host, "all")
    out = cp.full((6, 7), 12345.0, dtype=cp.float32)
    result = public(spec)(*map(cp.asarray, host), out=out, **kwargs_of(spec, "all"))
    assert result is out
    assert_matches_reference(cp.asnumpy(out), expected)


@pytest.mark.parametrize("params_name", ["plain", "all"])
@pytest.mark.parametrize("spec", FUNCTIONS)
def test_in_place(spec, params_name):
    host = host_inputs(spec, (1000,), "float32")
    expected = reference(spec, host, params_name)
    device = [cp.asarray(a) for a in host]
    target = device[0]  # x for relu/relu_grad, dy for relu_backward
    result = public(spec)(*device, out=target, **kwargs_of(spec, params_name))
    assert result is target
    assert_matches_reference(cp.asnumpy(target), expected)


@pytest.mark.parametrize("spec", FUNCTIONS)
def test_partial_overlap(spec):
    """An out that overlaps an input without being it sees the original input."""
    base_host = make_array((101,), "float64", "C", seed=3)
    host = (base_host[1:],) if spec.arity == 1 else (base_host[:-1][::-1].copy(), base_host[1:])
    expected = reference(spec, host, "plain")
    base = cp.asarray(base_host)
    device = (base[1:],) if spec.arity == 1 else (cp.asarray(host[0]), base[1:])
    result = public(spec)(*device, out=base[:-1])
    assert_matches_reference(cp.asnumpy(result), expected)


def _bad_calls(spec):
    """(what, out, call(out), exception): calls that must raise without touching out."""
    x = cp.linspace(-2, 2, 12, dtype=cp.float32).reshape(3, 4)
    ints = cp.arange(12, dtype=cp.int32).reshape(3, 4)
    head = (x,) if spec.arity == 1 else (x, x)
    f = public(spec)

    def sentinel(shape=(3, 4), dtype=cp.float32, xp=cp):
        return xp.full(shape, 7, dtype=dtype)

    calls = [
        ("wrong out dtype", sentinel(dtype=cp.float64), lambda out: f(*head, out=out), TypeError),
        ("wrong out shape", sentinel(shape=(4, 3)), lambda out: f(*head, out=out), ValueError),
        ("numpy out", sentinel(xp=np), lambda out: f(*head, out=out), TypeError),
        ("negative max_value", sentinel(), lambda out: f(*head, out=out, max_value=-1.0), ValueError),
        ("NaN slope", sentinel(), lambda out: f(*head, out=out, negative_slope=float("nan")), ValueError),
        ("numba backend", sentinel(), lambda out: f(*head, out=out, backend="numba"), TypeError),
    ]
    if spec.arity == 1:
        calls.append(
            ("keras on ints", sentinel(dtype=cp.int32), lambda out: f(ints, out=out, negative_slope=0.1), TypeError)
        )
    else:
        calls += [
            ("integer dy", sentinel(dtype=cp.int32), lambda out: f(ints, x, out=out), TypeError),
            ("shape mismatch", sentinel(), lambda out: f(x, x[:, :2], out=out), ValueError),
            ("numpy x", sentinel(), lambda out: f(x, cp.asnumpy(x), out=out), TypeError),
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
    d, h = cp.ones(5, dtype=cp.float32), np.ones(5, dtype=np.float32)
    head = (lambda a: (a,)) if spec.arity == 1 else (lambda a: (a, a))
    with pytest.raises(TypeError):
        public(spec)(*head(d), out=np.empty(5, np.float32))
    with pytest.raises(TypeError):
        public(spec)(*head(h), out=cp.empty(5, cp.float32))
    with pytest.raises(TypeError):
        public(spec)(*head(h), backend="cupy")


@pytest.mark.parametrize("params_name", ["plain", "all"])
@pytest.mark.parametrize("spec", FUNCTIONS)
def test_runs_on_the_current_stream_without_synchronizing(spec, params_name):
    """Captured into a CUDA graph on a non-blocking stream, in global mode:
    a synchronization or a launch on another stream during the capture
    would fail it, and nothing may have run before the graph is launched."""
    params = kwargs_of(spec, params_name)
    host = host_inputs(spec, (4096,), "float32")
    expected = reference(spec, host, params_name)
    device = [cp.asarray(a) for a in host]
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
    assert_matches_reference(cp.asnumpy(out), expected)


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
