"""A thread pool for the CPU drivers that a busy core cannot stall.

A call is cut into chunks that the worker threads *and the calling thread*
claim one at a time until none is left. When another process keeps a
worker's core busy, that worker claims nothing (or one chunk) and the
caller does the rest instead of waiting for it: the caller only ever waits
for chunks a worker has already started. A fork-join region that splits
the work evenly in advance (Numba's ``parallel=True``) waits for its slowest
thread instead, which on a loaded machine is one without a core, for a
scheduler time slice or more.

Two kinds of job:

- :meth:`Pool.run_compiled`, the flat drivers' calls: a chunk function and
  its arrays, published and claimed entirely in compiled code without the
  GIL (``relukit._team``). A worker watches for the next such job for
  :data:`SPIN_NS` before it sleeps on a futex, so back-to-back calls, as
  in a training loop, find it awake: waking a sleeping thread costs tens
  of microseconds on the VMs measured here, more than a whole call on
  1 MB. A lone call costs the machine at most that much CPU time on each
  worker's core after it.
- :meth:`Pool.run`, any other call (PReLU's channel layouts, and every
  call where compiled jobs are not available): Python tasks ``task(k)``,
  claimed with one ``next()`` on an ``itertools.count``, atomic under the
  GIL. The drivers they call release the GIL.

One job runs at a time: a call that finds the pool busy (another Python
thread is using it, as under Dask's threaded scheduler) computes serially
in its own thread rather than wait. After ``fork`` the child starts a pool
of its own on first use.
"""

from __future__ import annotations

import itertools
import os
import threading
import time

import numpy as np

from . import _team

#: How long a worker watches for the next job before it sleeps (ns).
SPIN_NS = 1_000_000
#: How long the caller of a compiled job watches for the workers' last
#: chunks at a time (ns); between two such waits it sleeps for a moment, so
#: that a worker that has lost its core may have the caller's.
WAIT_NS = 1_000_000
#: After a compiled job in which the caller waited for a worker that had
#: lost its core (another process wants it), calls run on the caller's core
#: alone for this long (s) before they try the workers again: on a busy
#: machine a pooled call otherwise waits for a scheduler time slice now and
#: then (relu into out= on 1e7 float64 beside a busy-loop process: 0.70x of
#: NumPy's single thread, 2026-11-29).
STALLED_SERIAL_S = 0.1


def default_threads() -> int:
    """Threads a call may use: ``RELUKIT_NUM_THREADS``, else the CPUs this process may run on."""
    setting = os.environ.get("RELUKIT_NUM_THREADS", "").strip()
    if setting:
        try:
            return max(1, int(setting))
        except ValueError:
            pass  # reported by show_config; fall back to the CPU count
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cache_line_aligned(size: int):
    """A zeroed int64 array of ``size`` that starts on a 64-byte boundary."""
    memory = np.zeros(size + 8, np.int64)
    start = (-memory.ctypes.data % 64) // 8
    return memory[start : start + size]


class _Job:
    """``task(k)`` for ``k in range(chunks)``, claimed by whoever comes first."""

    def __init__(self, task, chunks: int):
        self.task = task
        self.chunks = chunks
        self._claims = itertools.count()
        self._finished = itertools.count(1)
        self._all_done = threading.Event()
        self.error = None

    def work(self) -> None:
        for k in self._claims:
            if k >= self.chunks:
                return
            try:
                self.task(k)
            except BaseException as error:  # kept for the caller to raise
                self.error = error
            if next(self._finished) == self.chunks:
                self._all_done.set()

    def wait(self) -> None:
        self._all_done.wait()


class Pool:
    """Worker threads, started on first use, that help with one job at a time."""

    def __init__(self, threads: int):
        self.threads = threads
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._busy = threading.Lock()
        self._wake = threading.Condition()
        self._calls = 0  # counts the jobs posted, without compiled jobs
        self._serial_until = 0.0  # see STALLED_SERIAL_S
        self._job = None
        self._workers = []
        # Where jobs are published to the workers: see relukit._team.
        self._slot = _cache_line_aligned(_team.SLOT_SIZE)
        self._scalars = np.zeros(3, np.float64)

    def _start(self) -> None:
        for index in range(self.threads - 1):
            worker = threading.Thread(
                target=self._serve, name=f"relukit-worker-{index}", daemon=True
            )
            worker.start()
            self._workers.append(worker)

    def _serve(self) -> None:
        if _team.AVAILABLE:
            slot, scalars, seen = self._slot, self._scalars, 0
            cpus = _team.affinity_words()
            while True:
                # Compiled jobs never come back here; Python tasks do (a
                # job that has ended meanwhile has none left to claim).
                seen = _team.serve(slot, scalars, cpus, seen, SPIN_NS)
                job = self._job
                if job is not None:
                    job.work()
        calls = 0
        while True:
            with self._wake:
                while self._calls == calls:
                    self._wake.wait()
                calls = self._calls
                job = self._job
            if job is not None:
                job.work()

    def _wake_workers(self) -> None:
        if not self._workers:
            self._start()
        if not _team.AVAILABLE:  # otherwise posting a job wakes them
            with self._wake:
                self._calls += 1
                self._wake.notify_all()

    def sleeping(self) -> int:
        """How many workers sleep until the next job (with compiled jobs only)."""
        return int(self._slot[_team.SLEEPERS])

    def try_workers_now(self) -> None:
        """End a pause of :data:`STALLED_SERIAL_S` (calibration times the workers)."""
        self._serial_until = 0.0

    @property
    def started(self) -> bool:
        return bool(self._workers)

    def run(self, task, chunks: int) -> bool:
        """Run ``task(k)`` for every chunk ``k``; False (nothing run) if the pool is busy."""
        if not self._busy.acquire(blocking=False):
            return False
        try:
            job = self._job = _Job(task, chunks)
            self._wake_workers()
            if _team.AVAILABLE:
                _team.post_tasks(self._slot)
            job.work()
            job.wait()
            self._job = None
            if job.error is not None:
                raise job.error
            return True
        finally:
            self._busy.release()

    def run_compiled(self, entry, arrays, address: int, scalars, step: int, chunks: int) -> bool:
        """Write a flat driver's call in ``chunks`` chunks of ``step`` elements.

        ``address`` is the driver's chunk function (``relukit._team``),
        ``arrays`` its inputs then ``out``, and ``entry`` ``relukit._team.run``
        compiled for them. False (nothing written) if the pool is busy or
        cannot take compiled jobs here, or a recent job waited for a worker
        that had lost its core (see :data:`STALLED_SERIAL_S`).
        """
        if not _team.AVAILABLE or chunks > _team.MAX_CHUNKS:
            return False
        if time.monotonic() < self._serial_until:
            return False
        if not self._busy.acquire(blocking=False):
            return False
        try:
            if not self._workers:
                self._start()
            slot = self._slot
            outcome = entry(
                slot, self._scalars, *_team.padded(arrays), address, *scalars, step, chunks, WAIT_NS
            )
            if outcome != _team.IN_TIME:
                self._serial_until = time.monotonic() + STALLED_SERIAL_S
            while outcome == _team.UNFINISHED:
                time.sleep(0)  # a worker without a core has a chunk: let it have this one
                if _team.wait_done(slot, chunks, WAIT_NS):
                    outcome = _team.LATE
            return True
        finally:
            self._busy.release()
