"""Dask arrays: lazy, chunk-wise, and equal to the reference under every scheduler."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
import dask  # noqa: E402

import relukit as rk  # noqa: E402
from relukit import _api, _numba  # noqa: E402

from helpers import (  # noqa: E402
    BY_NAME,
    FLOAT_DTYPES,
    FUNCTIONS,
    OP_PARAMS,
    OP_PLAIN_AND_RICHEST,
    REPRESENTATIVE,
    assert_matches_reference,
    int_ok,
    kwargs_of,
    make_array,
    make_inputs,
    plain_and_richest,
    public,
    reference,
)

BACKWARD = BY_NAME["relu_backward"]
BACKWARDS = [p for p in FUNCTIONS if "dy" in p.values[0].inputs]
#: Where tasks and threads, not kernels, are under test: the representative
#: operations (helpers.REPRESENTATIVE) stand for the rest, since the Dask
#: adapter and relukit's pool treat every operation alike.
TASK_FUNCTIONS = [p for p in FUNCTIONS if p.values[0].name in REPRESENTATIVE]

#: Chunks of this many float64 elements are big enough for Numba's thread
#: pool (twice its threshold, to stay clear of small-call shortcuts), so
#: concurrent tasks contend for it.
PARALLEL_CHUNK = 2 * _numba.PARALLEL_MIN_BYTES // 8


def _numpy_inputs(spec, shape, dtype, seed=0):
    return list(make_inputs(spec, shape, dtype, seed=seed + 1, dy_dtype=None if dtype in FLOAT_DTYPES else "float32"))


def _dask_inputs(arrays, chunks):
    """Dask arrays of ``arrays``, the i-th chunked as ``chunks[i]``.

    A per-channel input (another shape: PReLU's weight) stays a NumPy
    array, as users pass it.
    """
    shape, chunks = arrays[0].shape, iter(chunks)
    return [da.from_array(a, chunks=next(chunks)) if a.shape == shape else a for a in arrays]


def _boundaries(chunks):
    """Per axis, the offsets where one block ends and the next begins."""
    return [set(itertools.accumulate(axis)) for axis in chunks]


def _check(spec, params_name, result, numpy_inputs, **compute):
    """A lazy result that computes to the reference, and to the eager call exactly."""
    kwargs = kwargs_of(spec, params_name)
    expected = reference(spec, numpy_inputs, params_name)
    assert isinstance(result, da.Array)
    assert result.dtype == expected.dtype
    assert type(result._meta) is np.ndarray
    computed = result.compute(**compute)
    assert_matches_reference(computed, expected, spec.ulps)
    # Chunking changes nothing: the same values as one eager call.
    np.testing.assert_array_equal(computed, public(spec)(*numpy_inputs, **kwargs))


def _forbid_compute(*args, **kwargs):
    raise AssertionError("something was computed while the graph was being built")


# -- values, chunks, dtype and meta ---------------------------------------------


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("spec, params_name", OP_PARAMS)
def test_matches_reference(spec, dtype, params_name):
    arrays = _numpy_inputs(spec, (37, 23), dtype)
    # dy and x chunked differently, so relu_backward has to align them.
    inputs = _dask_inputs(arrays, [(8, 9), (10, 7)][-spec.arity :])
    result = public(spec)(*inputs, **kwargs_of(spec, params_name))
    assert result.shape == arrays[spec.inputs.index(spec.result_like)].shape
    assert _boundaries(result.chunks) == [
        set.union(*axes)
        for axes in zip(*(_boundaries(a.chunks) for a in inputs if isinstance(a, da.Array)))
    ]
    _check(spec, params_name, result, arrays, scheduler="sync")


# Two of the integer dtypes: the adapter treats them all alike, and each new
# one costs a Numba compilation (test_reference_agreement covers them all).
@pytest.mark.parametrize("dtype", ["int32", "uint8"])
@pytest.mark.parametrize("spec", [p for p in FUNCTIONS if int_ok(p.values[0])])
def test_integers_plain(spec, dtype):
    arrays = _numpy_inputs(spec, (50,), dtype)
    result = public(spec)(*_dask_inputs(arrays, [7, 7]))
    assert result.chunks == ((7,) * 7 + (1,),)
    _check(spec, "plain", result, arrays, scheduler="sync")


@pytest.mark.parametrize("shape", [(), (0,), (5, 0)], ids=str)
@pytest.mark.parametrize("spec", FUNCTIONS)
def test_empty_and_zero_dimensional(spec, shape):
    arrays = _numpy_inputs(spec, shape, "float32")
    result = public(spec)(*_dask_inputs(arrays, ["auto", "auto"]))
    assert result.shape == shape
    _check(spec, "plain", result, arrays, scheduler="sync")


@pytest.mark.parametrize("dask_operand", ["dy", "x"])
@pytest.mark.parametrize("spec, params_name", [p for p in OP_PLAIN_AND_RICHEST if "dy" in p.values[0].inputs])
def test_backward_with_a_numpy_partner(spec, params_name, dask_operand):
    """A NumPy dy or x is cut into the Dask operand's blocks."""
    arrays = _numpy_inputs(spec, (41, 6), "float32")
    position = spec.inputs.index(dask_operand)
    inputs = list(arrays)
    inputs[position] = da.from_array(arrays[position], chunks=(10, 4))
    result = public(spec)(*inputs, **kwargs_of(spec, params_name))
    assert result.chunks == inputs[position].chunks
    _check(spec, params_name, result, arrays, scheduler="sync")


def test_backward_of_mixed_dtypes():
    """The result has dy's dtype, as in the eager function."""
    arrays = [make_array((30,), "float16", "C", seed=1), make_array((30,), "float64", "C", seed=2)]
    result = rk.relu_backward(*_dask_inputs(arrays, [4, 6]))
    assert result.dtype == np.float16
    _check(BACKWARD, "plain", result, arrays, scheduler="sync")


def test_backward_of_a_byteswapped_input():
    """The result is in native byte order, as in the eager function."""
    dy = make_array((20,), "float32", "byteswapped", seed=3)
    x = make_array((20,), "float32", "C", seed=4)
    result = rk.relu_backward(*_dask_inputs([dy, x], [5, 5]))
    assert result.dtype.isnative
    _check(BACKWARD, "plain", result, [dy, x], scheduler="sync")


def test_unknown_chunk_sizes():
    x = make_array((60,), "float64", "C")
    lazy = da.from_array(x, chunks=8)
    kept = lazy[lazy > 0]  # chunk sizes unknown until computed
    assert np.isnan(kept.shape[0])
    np.testing.assert_array_equal(
        rk.relu(kept).compute(scheduler="sync"), rk.relu(x[x > 0])
    )
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        rk.relu_backward(np.ones(3), kept)


# -- errors: raised while building, before anything runs ---------------------------


def _error_cases():
    x = da.from_array(np.linspace(-1, 1, 12), chunks=5)
    return [
        ("out=dask", TypeError, "immutable", lambda: rk.relu(x, out=x)),
        ("out=numpy", TypeError, "immutable", lambda: rk.relu(x, out=np.empty(12))),
        ("bool", TypeError, "bool", lambda: rk.relu(x > 0)),
        ("int dy", TypeError, "dy has dtype int64", lambda: rk.relu_backward(x.astype(int), x)),
        ("keras int", TypeError, "integer inputs need the default parameters", lambda: rk.relu(x.astype(int), threshold=1)),
        ("smooth int", TypeError, "elu\\(\\): x has dtype int64, which is not supported", lambda: rk.elu(x.astype(int))),
        ("smooth int x", TypeError, "x has dtype int64", lambda: rk.silu_backward(x, x.astype(int))),
        ("bad alpha", ValueError, "alpha must be > 0", lambda: rk.celu(x, alpha=0.0)),
        ("bad approximate", ValueError, "approximate must be", lambda: rk.gelu(x, approximate="erf")),
        ("shapes", ValueError, "same shape", lambda: rk.relu_backward(x, x[:-1])),
        ("numpy shape", ValueError, "same shape", lambda: rk.relu_backward(x, np.ones(11))),
        ("bad backend", ValueError, "unknown backend", lambda: rk.relu(x, backend="torch")),
        ("bad slope", ValueError, "NaN", lambda: rk.relu(x, negative_slope=np.nan)),
    ]


@pytest.mark.parametrize("case", range(len(_error_cases())))
def test_errors_raise_before_the_graph_runs(case):
    name, error, match, call = _error_cases()[case]
    with dask.config.set(scheduler=_forbid_compute):
        with pytest.raises(error, match=match):
            call()


def test_backend_must_compute_on_the_chunks():
    x = da.from_array(np.ones(4), chunks=2)
    # ImportError where CuPy is missing, TypeError where it is installed.
    with pytest.raises((TypeError, ImportError), match="cupy"):
        rk.relu(x, backend="cupy")
    np.testing.assert_array_equal(rk.relu(x, backend="numpy").compute(), np.ones(4))


# -- laziness ----------------------------------------------------------------------


@pytest.mark.parametrize("spec", FUNCTIONS)
def test_nothing_runs_before_compute(spec, monkeypatch):
    upstream, chunk_calls = [], []

    def produce(block):
        upstream.append(block.shape)
        return block

    def counted(op, inputs, *args, **kwargs):
        if not any(isinstance(a, da.Array) for a in inputs):
            chunk_calls.append(1)
        return original_call(op, inputs, *args, **kwargs)

    # The dispatch hands itself to the graph, by its module-level name.
    original_call = _api.call
    monkeypatch.setattr(_api, "call", counted)
    original = public(spec)
    arrays = _numpy_inputs(spec, (30, 30), "float64")
    inputs = [
        a.map_blocks(produce, meta=np.empty((0, 0))) if isinstance(a, da.Array) else a
        for a in _dask_inputs(arrays, [10, 10])
    ]
    with dask.config.set(scheduler=_forbid_compute):
        result = original(*inputs)
    assert upstream == [] and chunk_calls == []
    computed = result.compute(scheduler="sync")
    assert len(chunk_calls) == result.npartitions == 9
    assert len(upstream) == 9 * (spec.arity - len(spec.channel_inputs))
    assert_matches_reference(computed, reference(spec, arrays, "plain"), spec.ulps)


# -- schedulers --------------------------------------------------------------------


class _CountingLock:
    """Numba's pool lock, counting the calls that found it taken."""

    def __init__(self):
        self._lock = threading.Lock()
        self.taken = 0
        self.busy = 0

    def acquire(self, blocking=True):
        got = self._lock.acquire(blocking)
        if got:
            self.taken += 1
        else:
            self.busy += 1
        return got

    def release(self):
        self._lock.release()


@pytest.mark.parametrize("spec", TASK_FUNCTIONS)
def test_threaded_scheduler_many_chunks(spec, monkeypatch):
    """Hundreds of pool-sized chunks on eight threads: some calls must find
    relukit's pool busy and run serially, and every value must be right."""
    lock = _CountingLock()
    monkeypatch.setattr(_numba._pool, "_busy", lock)
    blocks = 200
    arrays = _numpy_inputs(spec, (blocks * PARALLEL_CHUNK,), "float64")
    result = public(spec)(*_dask_inputs(arrays, [PARALLEL_CHUNK, PARALLEL_CHUNK]))
    assert result.npartitions == blocks
    computed = result.compute(scheduler="threads", num_workers=8)
    assert lock.taken > 0, "no chunk used relukit's thread pool"
    assert lock.busy > 0, "no two chunks ever ran at once"
    # The eager call is checked against the reference elsewhere; at this
    # size the full reference comparison would dominate the test.
    np.testing.assert_array_equal(computed, public(spec)(*arrays))


_LAYER_SCRIPT = """
import numpy as np, dask, dask.array as da, numba, relukit as rk
from relukit import _numba
n = 2 * _numba.PARALLEL_MIN_BYTES // 8
x = np.random.default_rng(0).standard_normal(200 * n)
y = rk.relu(da.from_array(x, chunks=n)).compute(scheduler="threads", num_workers=8)
assert np.array_equal(y, np.maximum(x, 0)), "wrong values"
try:
    layer = numba.threading_layer()
except ValueError:
    layer = None
assert layer is None, f"relukit started Numba's {layer} threading layer"
"""


@pytest.mark.parametrize("layer", ["workqueue", "omp", "tbb"])
def test_threaded_scheduler_whatever_numba_layer_is_set(layer):
    """relukit's pool never starts a Numba threading layer, whichever one
    NUMBA_THREADING_LAYER names (workqueue aborts the process if two
    threads enter a parallel region at once; tbb may not be installed)."""
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer)
    run = subprocess.run(
        [sys.executable, "-c", _LAYER_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.parametrize("context", ["spawn", "fork"])
def test_processes_scheduler(context):
    """Worker processes, spawned fresh or forked from a parent whose Numba
    thread pool has already run (GNU OpenMP aborts such a child if it
    touches the pool)."""
    arrays = _numpy_inputs(BACKWARD, (40 * PARALLEL_CHUNK,), "float32")
    rk.relu(arrays[1])  # start the pool before any fork
    inputs = _dask_inputs(arrays, [PARALLEL_CHUNK, 3 * PARALLEL_CHUNK])
    result = rk.relu_backward(*inputs, **kwargs_of(BACKWARD, "all"))
    with dask.config.set({"multiprocessing.context": context}):
        _check(BACKWARD, "all", result, arrays, scheduler="processes", num_workers=2)


@pytest.fixture(scope="module")
def cluster_client():
    """Two single-threaded worker processes on the loopback interface."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        host="127.0.0.1",
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",  # any free loopback port: 8787 may be taken
        scheduler_port=0,
    ) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.mark.parametrize("spec", TASK_FUNCTIONS)
def test_distributed_cluster(spec, cluster_client):
    # One parameter set keeps this short: tasks, not kernels, are under test.
    params_name = plain_and_richest(spec)[-1]
    workers = cluster_client.scheduler_info()["workers"]
    assert len(workers) == 2
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
    # Small: the NumPy inputs travel inside the graph, and Dask warns (an
    # error here) above 10 MB; tasks, not kernels, are under test.
    arrays = _numpy_inputs(spec, (24, 8192), "float64")
    inputs = _dask_inputs(arrays, [(5, 1000), (6, 4096)])
    result = public(spec)(*inputs, **kwargs_of(spec, params_name))
    # The client is the default scheduler while it is open.
    _check(spec, params_name, result, arrays)
    ran_on = cluster_client.run(lambda: "relukit._numba" in sys.modules)
    assert ran_on and all(ran_on.values()), "the workers never ran relukit's Numba backend"


# -- imports -------------------------------------------------------------------------


def test_dask_is_imported_only_for_dask_arrays():
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import relukit as rk
        x = np.linspace(-1, 1, 1000)
        rk.relu(x), rk.relu_grad(x), rk.relu_backward(x, x, max_value=6)
        assert not any(m == "dask" or m.startswith("dask.") for m in sys.modules)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


# -- CuPy-backed Dask arrays -----------------------------------------------------------


@pytest.fixture
def cupy():
    cupy = pytest.importorskip("cupy")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device")
    except cupy.cuda.runtime.CUDARuntimeError as error:
        pytest.skip(f"no usable CUDA device: {error}")
    return cupy


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("spec, params_name", OP_PLAIN_AND_RICHEST)
def test_cupy_chunks(spec, params_name, dtype, cupy):
    arrays = _numpy_inputs(spec, (300, 70), dtype)
    chunks = [(64, 70), (100, 30)][-spec.arity :]
    inputs = [da.from_array(cupy.asarray(a), chunks=c) for a, c in zip(arrays, chunks)]
    result = public(spec)(*inputs, **kwargs_of(spec, params_name))
    assert type(result._meta) is cupy.ndarray
    computed = result.compute(scheduler="threads")
    assert type(computed) is cupy.ndarray
    expected = reference(spec, arrays, params_name)
    assert_matches_reference(cupy.asnumpy(computed), expected, spec.ulps)


@pytest.mark.gpu
def test_cupy_chunks_with_a_cupy_partner(cupy):
    arrays = _numpy_inputs(BACKWARD, (1000,), "float32")
    dy = da.from_array(cupy.asarray(arrays[0]), chunks=128)
    result = rk.relu_backward(dy, cupy.asarray(arrays[1]))
    assert type(result._meta) is cupy.ndarray and result.chunks == dy.chunks
    np.testing.assert_array_equal(
        cupy.asnumpy(result.compute()), reference(BACKWARD, arrays, "plain")
    )


@pytest.mark.gpu
def test_cupy_chunks_never_meet_numpy(cupy):
    x = da.from_array(cupy.linspace(-1, 1, 10), chunks=5)
    with dask.config.set(scheduler=_forbid_compute):
        with pytest.raises(TypeError, match="different libraries"):
            rk.relu_backward(x, np.ones(10))
        with pytest.raises(TypeError, match="backend 'numba'"):
            rk.relu(x, backend="numba")
