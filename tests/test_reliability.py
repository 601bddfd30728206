"""Threads, fork, threading layers, read-only installs, import cost, huge arrays."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import relukit as rk
from relukit import _numba

from helpers import run_read_only_install

SRC = Path(rk.__file__).resolve().parent.parent


def run_python(code, env_extra=None, cwd=None, timeout=300):
    env = {**os.environ, **(env_extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )


def test_many_threads_at_once():
    """Threads racing on large arrays: one gets the pool, the others run serially."""
    size = (_numba.PARALLEL_MIN_BYTES // 4) * 8
    x = np.random.default_rng(0).standard_normal(size).astype(np.float32)
    expected = np.maximum(x, 0)
    errors = []
    barrier = threading.Barrier(8)

    def work():
        try:
            barrier.wait()
            for _ in range(20):
                np.testing.assert_array_equal(rk.relu(x), expected)
                np.testing.assert_array_equal(rk.relu_grad(x), (x > 0).astype(np.float32))
        except Exception as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert errors == []


FORK = """
    import multiprocessing as mp, numpy as np, relukit as rk
    x = np.random.default_rng(0).standard_normal(2_000_000).astype(np.float32)
    rk.relu(x)  # the parent starts the thread pool
    def child(q):
        q.put(bool(np.array_equal(rk.relu(x), np.maximum(x, 0))))
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=child, args=(q,)) for _ in range(2)]
    [p.start() for p in procs]
    results = [q.get(timeout=120) for _ in procs]
    [p.join(timeout=120) for p in procs]
    print("children", results, [p.exitcode for p in procs])
"""


def test_fork_after_parallel_use():
    """A child forked after the pool ran starts a pool of its own."""
    result = run_python(FORK, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "children [True, True] [0, 0]" in result.stdout


def test_caller_does_the_work_when_workers_never_run(monkeypatch):
    """A worker without a core (here: never started) stalls nothing: the
    calling thread claims every chunk itself."""
    from relukit._pool import Pool

    pool = Pool(4)
    monkeypatch.setattr(pool, "_start", lambda: pool._workers.append("never scheduled"))
    seen = []
    assert pool.run(seen.append, 37)
    assert sorted(seen) == list(range(37))


@pytest.mark.parametrize("threads", [2, 4])
def test_claimed_chunks_each_run_once(monkeypatch, threads):
    """Pooled flat calls are handed out and claimed in compiled code: every
    chunk runs once, whether the workers help or never run at all."""
    from relukit import _numba
    from relukit._pool import Pool

    monkeypatch.setattr(_numba, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(_numba, "CHUNK_MIN_BYTES", 64)
    x = np.random.default_rng(0).standard_normal(100_003)
    for stalled in (False, True):
        pool = Pool(threads)
        if stalled:
            monkeypatch.setattr(pool, "_start", lambda: pool._workers.append("never scheduled"))
        monkeypatch.setattr(_numba, "_pool", pool)
        # In place with a slope, which is not idempotent: a chunk run twice
        # scales its negatives twice, a skipped one keeps them.
        expected = np.where(x > 0, x, 0.5 * x)
        for _ in range(20):
            y = x.copy()
            rk.relu(y, negative_slope=0.5, out=y)
            np.testing.assert_array_equal(y, expected)


def test_workers_that_went_to_sleep_are_woken(monkeypatch):
    """A worker watches for the next job only for a while, then sleeps on a
    futex; posting a job wakes it, and every call is right throughout."""
    from relukit import _numba, _pool, _team

    if not _team.AVAILABLE:
        pytest.skip("no compiled waits on this platform: workers always sleep")
    monkeypatch.setattr(_numba, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(_numba, "CHUNK_MIN_BYTES", 64)
    monkeypatch.setattr(_pool, "SPIN_NS", 20_000)  # 20 us
    pool = _pool.Pool(3)
    monkeypatch.setattr(_numba, "_pool", pool)
    x = np.random.default_rng(2).standard_normal(50_001)
    expected = np.where(x > 0, x, 0.25 * x)
    for _ in range(5):
        y = x.copy()
        rk.relu(y, negative_slope=0.25, out=y)
        np.testing.assert_array_equal(y, expected)
        deadline = time.monotonic() + 60
        while pool.sleeping() < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.sleeping() == 2, "the workers never went to sleep"
    # A job of Python tasks wakes them too, and they run it.
    ran = set()
    assert pool.run(lambda k: (ran.add(threading.get_ident()), time.sleep(0.01)), 40)
    assert len(ran) == 3, "a sleeping worker missed a job of Python tasks"
    np.testing.assert_array_equal(rk.relu(x, negative_slope=0.25), expected)


def test_a_job_held_up_by_a_worker_sends_calls_to_one_core_for_a_while(monkeypatch):
    """When the caller waited for a worker that had lost its core, the next
    calls run serially (run_compiled declines them) until the pause ends."""
    from relukit import _pool, _team

    if not _team.AVAILABLE:
        pytest.skip("no compiled jobs on this platform")
    pool = _pool.Pool(2)
    outcomes = [_team.LATE, _team.IN_TIME, _team.IN_TIME]
    entered = []

    def entry(*args):
        entered.append(1)
        return outcomes[len(entered) - 1]

    x = np.zeros(8)
    job = (entry, (x, x), 0, (0.0, 0.0, 0.0), 4, 2)
    monkeypatch.setattr(_pool, "STALLED_SERIAL_S", 0.2)
    assert pool.run_compiled(*job)  # written, but late
    assert not pool.run_compiled(*job)  # declined: the caller computes it alone
    assert len(entered) == 1
    time.sleep(0.25)
    assert pool.run_compiled(*job) and pool.run_compiled(*job)  # in time again
    assert len(entered) == 3


def test_python_and_compiled_jobs_share_the_workers(monkeypatch):
    """PReLU's channel layouts hand the pool Python tasks, the flat drivers
    compiled jobs: alternating them, the same workers serve both."""
    from relukit import _numba, _pool

    for name in ("PARALLEL_MIN_BYTES", "TASKS_MIN_BYTES"):
        monkeypatch.setattr(_numba, name, 0)
    monkeypatch.setattr(_numba, "CHUNK_MIN_BYTES", 64)
    pool = _pool.Pool(3)
    monkeypatch.setattr(_numba, "_pool", pool)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 5, 301))
    w = rng.uniform(0.1, 0.9, 5)
    expected_prelu = np.where(x > 0, x, w[:, None] * x)
    for _ in range(30):
        np.testing.assert_array_equal(rk.prelu(x, w), expected_prelu)
        np.testing.assert_array_equal(rk.relu(x), np.maximum(x, 0))


def test_pool_runs_every_chunk_once_with_workers():
    from relukit._pool import Pool

    pool = Pool(3)
    seen = []
    lock = threading.Lock()

    def task(k):
        with lock:
            seen.append(k)

    for _ in range(50):
        seen.clear()
        assert pool.run(task, 101)
        assert sorted(seen) == list(range(101))


def test_pool_reports_a_task_error_in_the_caller():
    from relukit._pool import Pool

    def task(k):
        if k == 5:
            raise RuntimeError("chunk 5 failed")

    with pytest.raises(RuntimeError, match="chunk 5 failed"):
        Pool(2).run(task, 9)


# JAX, when the differential tests have imported it into this process,
# warns from an at-fork hook that it is multithreaded: not relukit's concern.
@pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_fork_context_in_this_process():
    x = np.random.default_rng(1).standard_normal(1_000_000).astype(np.float32)
    rk.relu(x)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map(rk.relu_grad, [x, -x])
    np.testing.assert_array_equal(results[0], (x > 0).astype(np.float32))
    np.testing.assert_array_equal(results[1], (-x > 0).astype(np.float32))


def test_import_loads_no_backend():
    result = run_python(
        """
        import sys, relukit
        print(sorted(m for m in ("numba", "cupy", "dask", "llvmlite") if m in sys.modules))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_read_only_install(tmp_path):
    """No writable cache anywhere: Numba compiles in memory and relukit works."""
    code = """
        import numpy as np, relukit as rk
        x = np.linspace(-1, 1, 1_000_001, dtype=np.float32)
        assert np.array_equal(rk.relu(x), np.maximum(x, 0))
        assert np.array_equal(rk.relu_grad(x), (x > 0).astype(np.float32))
        print("ok", rk.__file__)
    """
    run_read_only_install(tmp_path, code)


@pytest.mark.slow
def test_more_than_2_31_elements():
    n = 2**31 + 77
    x = np.empty(n, dtype=np.int8)
    x[:] = -3
    x[-5:] = [1, -1, 2, -2, 3]
    y = rk.relu(x)
    assert y[0] == 0 and y[2**31] == 0
    np.testing.assert_array_equal(y[-5:], [1, 0, 2, 0, 3])
    assert int(y.sum(dtype=np.int64)) == 6
    rk.relu(x, out=x)
    np.testing.assert_array_equal(x[-5:], [1, 0, 2, 0, 3])
    assert int(x[: 2**31 + 72].max()) == 0


def test_one_thread_from_the_environment():
    """RELUKIT_NUM_THREADS=1: serial results, and show_config says so."""
    result = run_python(
        """
        import numpy as np, relukit as rk
        x = np.linspace(-1, 1, 1_000_001)
        assert np.array_equal(rk.relu(x), np.maximum(x, 0))
        print("threads", rk.show_config(mode="dicts")["threads"]["threads"])
        """,
        {"RELUKIT_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "threads 1" in result.stdout
