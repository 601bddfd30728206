"""Shared fixtures and the hypothesis profile."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from relukit import _numba

settings.register_profile(
    "relukit", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("relukit")


@pytest.fixture(params=["serial", "parallel", "streamed"])
def numba_path(request, monkeypatch):
    """Force the Numba backend down each of its execution paths, even on small arrays."""
    if request.param in ("parallel", "streamed"):
        # Pooled, in chunks of one cache line: many chunk boundaries.
        monkeypatch.setattr(_numba, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(_numba, "CHUNK_MIN_BYTES", 64)
    if request.param == "streamed":
        monkeypatch.setattr(_numba, "STREAM_MIN_BYTES", 0)
    return request.param
