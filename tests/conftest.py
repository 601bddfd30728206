"""Shared fixtures and the hypothesis profile."""

from __future__ import annotations

import os

# The suite tests the compiled kernels through every path, so its calls
# compile what they need in the caller; tests/test_background.py tests
# compiling in the background (the default for users) in fresh processes.
# Set in the environment too, for the suite's own subprocesses.
os.environ["RELUKIT_BACKGROUND_COMPILE"] = "0"

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

import relukit  # noqa: E402
from relukit import _numba  # noqa: E402

relukit.set_background_compile(False)

settings.register_profile(
    "relukit", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("relukit")


def _force_path(monkeypatch, path):
    if path in ("parallel", "streamed"):
        # Pooled, in chunks of one cache line: many chunk boundaries.
        monkeypatch.setattr(_numba, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(_numba, "TASKS_MIN_BYTES", 0)
        monkeypatch.setattr(_numba, "CHUNK_MIN_BYTES", 64)
    if path == "streamed":
        monkeypatch.setattr(_numba, "STREAM_MIN_BYTES", 0)


@pytest.fixture(params=["serial", "parallel", "streamed"])
def numba_path(request, monkeypatch):
    """Force the Numba backend down each of its execution paths, even on small arrays."""
    _force_path(monkeypatch, request.param)
    return request.param


@pytest.fixture(params=["numpy", "numba-serial", "numba-parallel", "numba-streamed"])
def backend_path(request, monkeypatch):
    """A CPU backend, and for Numba each of its execution paths: the backend's name.

    The paths exist only in the Numba backend; crossing ``numba_path`` with
    every backend would run the NumPy backend three times over.
    """
    backend, _, path = request.param.partition("-")
    _force_path(monkeypatch, path)
    return backend
