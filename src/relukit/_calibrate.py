"""Strategy settings of the CPU backend, measured on the running machine.

Two choices depend on the CPU more than on anything relukit can know in
advance: whether non-temporal (streaming) stores into an existing ``out``
beat ordinary ones (on one AMD EPYC VM they did by a quarter; on an Intel
Xeon VM they lost a third), and from what size the thread pool pays for
itself. :func:`measure` times both, side by side and interleaved, in well
under a second; the result is kept in a small JSON file per CPU model,
relukit/Numba/NumPy version and strategy revision, in the user's cache
folder, and applied when the Numba backend loads. Without one, relukit
uses ordinary stores and a 1 MiB pool threshold, and ``show_config`` says
that nothing was measured.

``python -m relukit calibrate`` runs it (the bench does too).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from ._machine import cpu_model

#: Bytes of output from which the thread pool is used until a calibration
#: replaces it.
DEFAULT_PARALLEL_MIN_BYTES = 1 << 20
#: Bytes of output from which streaming stores are used into an existing
#: ``out``, where a calibration found that they pay (never otherwise).
STREAMING_FROM_BYTES = 1 << 25
#: Output sizes (bytes) tried for the pool threshold.
_POOL_SIZES = (1 << 18, 1 << 19, 1 << 20, 1 << 21, 1 << 22, 1 << 23, 1 << 24)
#: Output size (bytes) for the streaming trial: far beyond any L3 here.
_STREAM_BYTES = 1 << 26
#: A strategy must win by this factor to be chosen over the simpler one.
_MARGIN = 1.1
#: Raised whenever the pool or the drivers change in a way that can move
#: the thresholds above, so that a calibration measured with the old code
#: is not applied to the new (relukit's version does not change between
#: releases). 2: pooled calls claim their chunks in compiled code. 3: pooled
#: calls are handed to workers that watch for them in compiled code, and
#: jobs of Python tasks have a threshold of their own.
STRATEGY_REVISION = 3


def _versions() -> dict:
    import numba

    from ._version import __version__

    return {
        "relukit": __version__,
        "strategy": STRATEGY_REVISION,
        "numba": numba.__version__,
        "numpy": np.__version__,
    }


def cache_path() -> Path:
    """Where the measured settings of this machine are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "relukit" / "calibration.json"


def enabled() -> bool:
    """False under ``RELUKIT_CALIBRATION=off``: the defaults, whatever is saved.

    The test suite sets it, so that its sizes do not depend on the
    machine's calibration.
    """
    return os.environ.get("RELUKIT_CALIBRATION", "").lower() != "off"


def load():
    """The settings measured for this CPU and these versions, or None (see :func:`enabled`)."""
    if not enabled():
        return None
    try:
        saved = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if saved.get("cpu") != cpu_model() or saved.get("versions") != _versions():
        return None
    return saved


def _medians(functions, repeat):
    """Medians of the times of ``functions``, timed in turn."""
    times = [[] for _ in functions]
    for _ in range(repeat):
        for f, samples in zip(functions, times):
            start = time.perf_counter()
            f()
            samples.append(time.perf_counter() - start)
    return [statistics.median(samples) for samples in times]


def measure(backend, repeat: int = 7) -> dict:
    """Time the strategies of ``backend`` (the Numba backend module) here.

    Returns the settings they choose, with what was measured. The drivers
    it times are compiled in this thread: with background compiling on, a
    pooled call would otherwise run serially (or not at all) until the
    background thread had compiled them.
    """
    from . import _background

    with _background.synchronous():
        return _measure(backend, repeat)


def _measure(backend, repeat: int) -> dict:
    from ._ops import BY_NAME

    _numba = backend

    units = _numba.drivers(BY_NAME["relu"], "plain")
    scalars = (0.0, 0.0, 0.0)
    rng = np.random.default_rng(0)

    big = rng.standard_normal(_STREAM_BYTES // 4).astype(np.float32)
    out = np.empty_like(big)
    direct, streamed = units["direct"], units["streamed"]
    direct(big, out, *scalars, 0, big.size)  # compile, and touch every page
    streamed(big, out, *scalars, 0, big.size)
    t_direct, t_streamed = _medians(
        (
            lambda: direct(big, out, *scalars, 0, big.size),
            lambda: streamed(big, out, *scalars, 0, big.size),
        ),
        repeat,
    )

    # The pool, handed compiled jobs and Python tasks (relukit._pool), each
    # against one core.
    kinds = ("pooled_s", "tasks_s") if _numba.COMPILED_JOBS else ("tasks_s",)
    pool_from = dict.fromkeys(kinds)
    trials = {}
    saved = _numba.PARALLEL_MIN_BYTES, _numba.TASKS_MIN_BYTES, _numba.COMPILED_JOBS
    _numba.PARALLEL_MIN_BYTES = _numba.TASKS_MIN_BYTES = 0
    try:
        for nbytes in _POOL_SIZES:
            x = rng.standard_normal(nbytes // 4).astype(np.float32)
            y = np.empty_like(x)

            def pooled(compiled):
                _numba.COMPILED_JOBS = compiled
                _numba._pool.try_workers_now()  # time the workers, not a pause
                _numba._run_flat(units, "direct", (x, y), scalars)

            ways = {
                "serial_s": lambda: direct(x, y, *scalars, 0, x.size),
                "pooled_s": lambda: pooled(True),
                "tasks_s": lambda: pooled(False),
            }
            for kind in kinds:
                ways[kind]()  # compile, start the workers
            names = ("serial_s", *kinds)
            # Each way's better median of two rounds: a disturbance on this
            # shared VM once cost the pool a whole range of sizes.
            rounds = [_medians([ways[n] for n in names], 2 * repeat) for _ in range(2)]
            trials[nbytes] = {n: min(first, second) for n, first, second in zip(names, *rounds)}
            for kind in kinds:
                if trials[nbytes]["serial_s"] >= _MARGIN * trials[nbytes][kind]:
                    pool_from[kind] = pool_from[kind] or nbytes
                else:
                    pool_from[kind] = None  # must pay at every larger size too
    finally:
        _numba.PARALLEL_MIN_BYTES, _numba.TASKS_MIN_BYTES, _numba.COMPILED_JOBS = saved
    never = 2 * _POOL_SIZES[-1]
    tasks_from = pool_from["tasks_s"] or never
    return {
        "cpu": cpu_model(),
        "versions": _versions(),
        "threads": _numba._pool.threads,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "loadavg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "stream": t_direct >= _MARGIN * t_streamed,
        "stream_trial": {"bytes": _STREAM_BYTES, "direct_s": t_direct, "streamed_s": t_streamed},
        "parallel_min_bytes": pool_from.get("pooled_s", tasks_from) or never,
        "tasks_min_bytes": tasks_from,
        "pool_trials": trials,
    }


def save(settings: dict) -> Path:
    path = cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=1), encoding="utf-8")
    return path


def describe(settings) -> list:
    """Lines for show_config and the bench: what is used, and why."""
    if settings is None:
        defaults = f"ordinary stores, pool from {DEFAULT_PARALLEL_MIN_BYTES >> 10} KiB"
        if not enabled():
            return [f"RELUKIT_CALIBRATION=off: {defaults}"]
        return [
            f"not measured on this machine: {defaults}",
            "(python -m relukit calibrate measures both)",
        ]
    trial = settings["stream_trial"]
    mib = trial["bytes"] >> 20
    stores = "streaming" if settings["stream"] else "ordinary"
    return [
        f"{stores} stores into out= from {STREAMING_FROM_BYTES >> 20} MiB: "
        f"{trial['direct_s'] * 1e3:.1f} ms ordinary, "
        f"{trial['streamed_s'] * 1e3:.1f} ms streaming at {mib} MiB",
        f"pool from {settings['parallel_min_bytes'] >> 10} KiB of output, "
        f"{settings['tasks_min_bytes'] >> 10} KiB for Python tasks "
        f"(measured {settings['when']}, load {settings['loadavg']:.1f})",
    ]
