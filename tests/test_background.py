"""Compiling in the background: first calls served by the NumPy reference.

Each test runs a fresh interpreter with an empty Numba cache, since what is
tested is the first minute of a process: calls made while Numba is still
being imported and kernels compiled must give the reference's results,
through every path a call can take, and must go over to the compiled kernels
once they are ready.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import relukit
from helpers import run_read_only_install

SRC = Path(relukit.__file__).resolve().parent.parent

# The calls of every path a call can take: the small-call fast path (two
# dimensionalities), large calls (the pool), out=, in place, a strided view
# (the buffered iterator), Fortran order, float16, a backward pass, a
# parametrised variant, an operation with a ulp tolerance, and PReLU's
# weight gradient. Run three times: while Numba is imported, while the
# kernels compile, and after ``wait_for_kernels``.
CALLS = """
import json, os, sys, numpy as np, relukit as rk
from relukit import _background
from relukit._ops import BY_NAME

rng = np.random.default_rng(0)
def values(n, dtype):
    v = rng.standard_normal(n) * 4
    v[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, 3.0]
    return v.astype(dtype)

x = values(1000, np.float32)
x2 = x.reshape(20, 50)
big = values(300_000, np.float32)
dy = values(300_000, np.float32)
xf = np.asfortranarray(values(600, np.float64).reshape(20, 30))
h = values(500, np.float16)
w = np.array([0.25, -0.5, 2.0], np.float32)
xc = values(3 * 4000, np.float32).reshape(4, 3, 1000)
dc = values(3 * 4000, np.float32).reshape(4, 3, 1000)

def calls():
    yield "relu", rk.relu(x)
    yield "relu 2d", rk.relu(x2)
    yield "relu large", rk.relu(big)
    yield "relu out", rk.relu(big, out=np.empty_like(big))
    s = x.copy(); rk.relu(s, out=s); yield "relu in place", s
    b = big.copy(); rk.relu(b, out=b); yield "relu in place large", b
    s = x.copy(); rk.relu_grad(s, out=s); yield "relu_grad in place", s
    yield "relu strided", rk.relu(big[::3])
    yield "relu fortran", rk.relu(xf)
    yield "relu float16", rk.relu(h)
    yield "relu leaky", rk.relu(x, negative_slope=0.1, max_value=6.0)
    yield "relu_backward", rk.relu_backward(dy, big)
    yield "gelu", rk.gelu(x)
    yield "gelu_backward large", rk.gelu_backward(dy, big)
    dx, dw = rk.prelu_backward(dc, xc, w)
    yield "prelu_backward dx", dx
    yield "prelu_backward dweight", dw

def snapshot():
    return {name: np.asarray(r).copy() for name, r in calls()}

rounds = [snapshot()]
_background.wait_for_kernels(600)
rounds.append(snapshot())
_background.wait_for_kernels(600)
status_before = _background.status()
rounds.append(snapshot())
status_after = _background.status()

def ulps(a, b):
    a = a.astype(np.float64); b = b.astype(np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    if same.all():
        return 0.0
    spacing = np.spacing(np.abs(b).astype(np.float32) if b.dtype != np.float64 else np.abs(b))
    return float(np.max(np.where(same, 0, np.abs(a - b) / np.abs(spacing))))

report = {
    "first_status": FIRST_STATUS,
    "status_before": status_before,
    "status_after": status_after,
    "compiled": len(__import__("relukit._warmup", fromlist=["x"]).compiled_units()),
    "ulps": {name: [ulps(r[name], rounds[0][name]) for r in rounds[1:]] for name in rounds[0]},
}
print(json.dumps(report))
"""


def run_fresh(code, tmp_path, background="1", timeout=900):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"),
           "RELUKIT_BACKGROUND_COMPILE": background}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_first_calls_are_the_references_then_the_kernels_take_over(tmp_path):
    code = CALLS.replace(
        "rounds = [snapshot()]",
        "rounds = [snapshot()]\nFIRST_STATUS = _background.status()",
    )
    report = json.loads(run_fresh(code, tmp_path).stdout.splitlines()[-1])
    # The first round did not wait for Numba: it was still being imported.
    assert report["first_status"]["preparing"] == ["import/numba"]
    assert report["first_status"]["prepared"] == 0
    # The second round requested the kernels; the third found them all ready
    # and asked for nothing more.
    assert report["status_before"]["preparing"] == []
    assert report["status_after"] == report["status_before"]
    assert report["status_before"]["prepared"] > 10
    assert report["status_before"]["failed"] == {}
    assert report["compiled"] > 10
    # Reference (first round) and kernels agree: bit for bit for relu's
    # operations and PReLU's slopes, within the table's tolerance for GELU.
    tolerance = {name: relukit._ops.BY_NAME[name.split()[0]].ulps for name in report["ulps"]}
    for name, (second, third) in report["ulps"].items():
        limit = tolerance[name] if name.startswith("gelu") else 0
        if name == "prelu_backward dweight":
            limit = 1  # float64 sums in another order
        assert second <= limit and third <= limit, (name, second, third)


def test_switched_off_by_the_environment(tmp_path):
    code = """
        import numpy as np, relukit as rk
        from relukit import _background, _warmup
        x = np.linspace(-1, 1, 1000, dtype=np.float32)
        rk.relu(x)
        print(_background.status()["prepared"], len(_warmup.compiled_units()) > 0)
    """
    assert run_fresh(code, tmp_path, background="0").stdout.split() == ["0", "True"]


def test_a_backend_asked_for_by_name_compiles_in_the_caller(tmp_path):
    code = """
        import numpy as np, relukit as rk
        from relukit import _background, _warmup
        x = np.linspace(-1, 1, 1000, dtype=np.float32)
        rk.relu(x, backend="numba")
        print(_background.status()["preparing"], len(_warmup.compiled_units()) > 0)
    """
    assert run_fresh(code, tmp_path).stdout.split() == ["[]", "True"]


def test_fork_while_compiling_and_while_idle(tmp_path):
    """Children forked mid-compile and idle compute right, and neither hangs.

    Forked mid-compile, a child may hold copies of locks of a thread it does
    not have: it keeps to the reference. Forked idle, it compiles.
    """
    code = """
        import multiprocessing as mp, numpy as np, relukit as rk
        from relukit import _background
        x = np.linspace(-2, 2, 100_000, dtype=np.float32)
        expected = np.maximum(x, 0)

        def child(queue):
            first = rk.relu(x)
            _background.wait_for_kernels(600)
            rk.relu(x)
            _background.wait_for_kernels(600)
            again = rk.relu(x)
            status = _background.status()
            queue.put((bool(np.array_equal(first, expected) and np.array_equal(again, expected)),
                       status["reference_only"], status["prepared"]))

        def fork():
            context = mp.get_context("fork")
            queue = context.Queue()
            process = context.Process(target=child, args=(queue,))
            process.start()
            result = queue.get(timeout=600)
            process.join(60)
            return (*result, process.exitcode)

        rk.relu(x)  # starts importing Numba in the background
        _background.wait_for_kernels(600)
        rk.gelu(x)  # requests kernels: the thread is busy compiling now
        busy = fork()
        _background.wait_for_kernels(600)
        idle = fork()
        print(busy, idle)
        ok, reference_only, _, code = busy
        assert ok and reference_only and code == 0, busy
        ok, reference_only, prepared, code = idle
        assert ok and not reference_only and code == 0, idle
        assert prepared > _background.status()["prepared"], idle  # it compiled relu's
    """
    run_fresh(code, tmp_path)


def test_threaded_dask_scheduler(tmp_path):
    pytest.importorskip("dask.array")
    code = """
        import dask, dask.array as da, numpy as np, relukit as rk
        x = np.linspace(-2, 2, 400_000).astype(np.float32)
        lazy = rk.gelu(da.from_array(x, chunks=25_000))
        with dask.config.set(scheduler="threads", num_workers=4):
            result = lazy.compute()
        expected = rk.gelu(x, backend="numpy")
        print(bool(np.allclose(result, expected, rtol=4e-7, atol=0)))
    """
    assert run_fresh(code, tmp_path).stdout.split() == ["True"]


def test_read_only_install(tmp_path):
    """No writable cache anywhere: the reference answers, the thread compiles in memory."""
    code = """
        import numpy as np, relukit as rk
        from relukit import _background
        x = np.linspace(-1, 1, 1_000_001, dtype=np.float32)
        for _ in range(3):
            assert np.array_equal(rk.relu(x), np.maximum(x, 0))
            assert np.array_equal(rk.relu_grad(x), (x > 0).astype(np.float32))
            rk.wait_for_kernels(600)
        status = _background.status()
        assert status["failed"] == {} and status["prepared"] > 2, status
        print("ok", rk.__file__)
    """
    run_read_only_install(tmp_path, code, {"RELUKIT_BACKGROUND_COMPILE": "1"}, timeout=900)
