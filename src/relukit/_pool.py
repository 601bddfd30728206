"""A thread pool for the CPU drivers that a busy core cannot stall.

A call is cut into chunks that the worker threads *and the calling thread*
claim one at a time until none is left. When another process keeps a
worker's core busy, that worker claims nothing (or one chunk) and the
caller does the rest instead of waiting for it: the caller only ever waits
for chunks a worker has already started. A fork-join region that splits
the work evenly in advance (Numba's ``parallel=True``) waits for its slowest
thread instead, which on a loaded machine is one without a core, for a
scheduler time slice or more.

The drivers are compiled with ``nogil=True``, so the threads compute in
parallel. A task is claimed with one ``next()`` on an ``itertools.count``,
atomic under the GIL; the flat drivers go further and hand each thread one
task, a compiled loop that claims the chunks themselves with an atomic add
(``claimed`` in ``relukit._numba_drivers``), so that no thread waits for
the GIL between chunks.

One job runs at a time: a call that finds the pool busy (another Python
thread is using it, as under Dask's threaded scheduler) computes serially
in its own thread rather than wait. After ``fork`` the child starts a pool
of its own on first use.
"""

from __future__ import annotations

import itertools
import os
import threading


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
        self._generation = 0
        self._job = None
        self._workers = []

    def _start(self) -> None:
        for index in range(self.threads - 1):
            worker = threading.Thread(
                target=self._serve, name=f"relukit-worker-{index}", daemon=True
            )
            worker.start()
            self._workers.append(worker)

    def _serve(self) -> None:
        seen = 0
        while True:
            with self._wake:
                while self._generation == seen:
                    self._wake.wait()
                seen = self._generation
                job = self._job
            if job is not None:
                job.work()

    @property
    def started(self) -> bool:
        return bool(self._workers)

    def run(self, task, chunks: int) -> bool:
        """Run ``task(k)`` for every chunk ``k``; False (nothing run) if the pool is busy."""
        if not self._busy.acquire(blocking=False):
            return False
        try:
            if not self._workers:
                self._start()
            job = _Job(task, chunks)
            with self._wake:
                self._job = job
                self._generation += 1
                self._wake.notify_all()
            job.work()
            job.wait()
            with self._wake:
                self._job = None
            if job.error is not None:
                raise job.error
            return True
        finally:
            self._busy.release()
