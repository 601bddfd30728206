"""Compiling in the background while the NumPy reference serves the calls.

A Numba kernel costs from a tenth of a second (loaded from the on-disk
cache) to seconds (compiled) the first time a process meets it, and
Numba itself a third of a second to import. A call with the automatic
backend never waits for that: when the kernel it needs is not ready, the
call is computed by the NumPy reference backend (the definition of
correct, which the tests hold every kernel to) and the kernel is prepared
by one background thread, which later calls then use.

Why a thread and not a helper process: a helper process cannot hand
compiled code over except through Numba's on-disk cache, which a
read-only install may not have, and loading from that cache costs the
caller the GIL again. The thread's cost to the caller is the GIL while
Numba types and lowers a kernel (LLVM itself runs without it); the
start-up page of the docs gives the measurements.

Only calls that leave the choice of backend to relukit go through here:
``backend="numba"`` compiles in the caller, as before. The background work
is switched off by the environment variable ``RELUKIT_BACKGROUND_COMPILE=0``
or :func:`set_background_compile`, and :func:`wait_for_kernels` waits for
whatever has been requested (benchmarks need that).

Fork safety: a child forked while the background thread was working
might inherit a lock (Numba's compiler lock, an import's module lock) held
by a thread that does not exist in the child, so such a child never
compiles for calls with the automatic backend: what was not ready at the
fork is computed by the NumPy reference there. A child forked while the
thread was idle starts its own thread when it needs one. A fork never
waits: waiting for a job in the fork hook deadlocks against other
libraries' fork hooks (logging's lock, which a compiling Numba may need).
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
import warnings


class NotReady(Exception):
    """Raised inside the Numba backend, before anything is written, when a
    kernel is still being prepared: the dispatch then uses the reference."""


def _enabled_by_environment() -> bool:
    value = os.environ.get("RELUKIT_BACKGROUND_COMPILE", "1").strip().lower()
    return value not in ("0", "false", "no", "off")


_enabled = _enabled_by_environment()
#: In a child forked while a job ran: compile nothing, serve the reference.
_reference_only = False
#: ``compile_here`` is set in a thread that must compile what it calls itself.
_local = threading.local()
#: Guards the fields below.
_state = threading.Condition()
_queue: collections.deque = collections.deque()
_requested: set = set()  # keys queued or running
_done: set = set()  # keys whose job has finished
_failed: dict = {}  # key -> the error its job raised
_labels: dict = {}  # key -> what status() calls it
_running = None  # key of the job in progress
_thread = None


def enabled() -> bool:
    """Whether this call should leave compiling to the background thread."""
    return _enabled and not getattr(_local, "compile_here", False)


def set_background_compile(enabled: bool) -> bool:
    """Switch compiling in the background on or off; return the previous setting.

    Parameters
    ----------
    enabled : bool
        True (the default, unless the environment variable
        ``RELUKIT_BACKGROUND_COMPILE`` is ``0``): a call whose Numba kernel
        is not compiled yet is computed with the NumPy reference backend
        while one background thread prepares the kernel. False: the call
        compiles the kernel itself and waits for it, as ``backend="numba"``
        always does.

    Returns
    -------
    bool
        The setting before this call.

    Examples
    --------
    >>> import relukit
    >>> previous = relukit.set_background_compile(False)
    >>> relukit.set_background_compile(previous)
    False
    """
    global _enabled
    previous, _enabled = _enabled, bool(enabled)
    return previous


@contextlib.contextmanager
def synchronous():
    """Within the block, this thread's calls compile what they need themselves.

    For ``backend="numba"`` (the caller asked for the compiled kernel) and
    for the warm-up command; other threads are not affected.
    """
    previous = getattr(_local, "compile_here", False)
    _local.compile_here = True
    try:
        yield
    finally:
        _local.compile_here = previous


def request(key, job, label: str | None = None) -> None:
    """Run ``job()`` once in the background thread, unless ``key`` was requested.

    ``label`` names the job in :func:`status` (default: ``key``'s parts).
    """
    global _thread
    if _reference_only:
        return
    with _state:
        if key in _requested or key in _done:
            return
        if label is not None:
            _labels[key] = label
        _requested.add(key)
        _queue.append((key, job))
        if _thread is None:
            _thread = threading.Thread(target=_work, name="relukit-compile", daemon=True)
            _thread.start()
        _state.notify_all()


def succeeded(key) -> bool:
    """Whether the job of ``key`` has finished without an error."""
    return key in _done and key not in _failed


def require(key, job, label: str | None = None):
    """Raise :class:`NotReady` for ``key``, after a :func:`request` for its job.

    Callers check :func:`succeeded` first and call this only when it is False.
    """
    request(key, job, label)
    raise NotReady(key)


def _work() -> None:
    global _running
    while True:
        with _state:
            while not _queue:
                _state.wait()
            key, job = _queue.popleft()
            _running = key
        error = None
        try:
            job()
        except Exception as exc:  # reported, and the reference keeps serving
            error = exc
        with _state:
            _running = None
            _requested.discard(key)
            _done.add(key)
            if error is not None:
                _failed[key] = f"{type(error).__name__}: {error}"
            _state.notify_all()
        if error is not None:
            warnings.warn(
                f"relukit could not prepare the kernel {_describe(key)} in the background "
                f"({_failed[key]}); the NumPy reference backend keeps computing these calls",
                RuntimeWarning,
                stacklevel=1,
            )


def wait_for_kernels(timeout: float | None = None) -> bool:
    """Wait until every kernel requested so far is compiled (or loaded from cache).

    Calls with the automatic backend use the NumPy reference while their
    Numba kernel is prepared in the background; benchmarks and tests that
    want the compiled kernels call this after a first call.

    Parameters
    ----------
    timeout : float, optional
        Seconds to wait at most; forever by default.

    Returns
    -------
    bool
        True when nothing is left to prepare, False on timeout.

    Examples
    --------
    >>> import numpy as np
    >>> import relukit
    >>> x = np.linspace(-1.0, 1.0, 5, dtype=np.float32)
    >>> relukit.relu(x)  # the first call may use the NumPy reference
    array([0. , 0. , 0. , 0.5, 1. ], dtype=float32)
    >>> relukit.wait_for_kernels()
    True
    >>> relukit.relu(x)  # now the compiled kernel
    array([0. , 0. , 0. , 0.5, 1. ], dtype=float32)
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    with _state:
        while _requested:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            _state.wait(left)
    return True


def _describe(key) -> str:
    return _labels.get(key) or "/".join(str(part) for part in key)


def status() -> dict:
    """What the background thread has done and is doing, for ``show_config``."""
    with _state:
        return {
            "enabled": _enabled,
            "reference_only": _reference_only,
            "preparing": [_describe(key) for key in _requested],
            "prepared": len(_done) - len(_failed),
            "failed": {_describe(key): error for key, error in _failed.items()},
        }


def _after_fork_in_child() -> None:
    global _thread, _state, _running, _reference_only
    _reference_only = _reference_only or _running is not None
    _thread = None
    _running = None
    _state = threading.Condition()
    _queue.clear()
    _requested.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
