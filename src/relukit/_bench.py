"""The ``bench`` command: time relukit against NumPy, the seed code and PyTorch.

Everything is measured in one process, side by side, so that the ratios
hold on a noisy machine even when the absolute times wander. Each figure is
the median over ``repeat`` samples; a sample times enough calls to last at
least a few milliseconds.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from typing import NamedTuple

import numpy as np

from . import _backends, _peers, _registry

#: Each sample lasts at least this long (seconds), so timer noise stays small.
_MIN_SAMPLE = 0.005


class Row(NamedTuple):
    """One timed implementation at one size and dtype."""

    function: str
    dtype: str
    size: int
    label: str
    seconds: float
    gbps: float
    #: True for relukit's own rows, False for peers.
    ours: bool


class Target(NamedTuple):
    """A speed target of the core issue: ``ours`` over ``peer`` at ``size``."""

    function: str
    size: int
    ours: str
    peer: str
    ratio: float


#: The speed targets (float32), as ratios ``time(peer) / time(ours)``.
TARGETS = (
    Target("relu", 10**3, "relukit", "np.maximum(x, 0)", 1.5),
    Target("relu", 10**3, "relukit", "torch.relu", 2.0),
    Target("relu", 10**6, "relukit", "torch.relu", 1.2),
    Target("relu", 10**8, "relukit", "torch.relu", 3.0),
    Target("relu", 10**8, "relukit", "np.maximum(x, 0)", 1.8),
    Target("relu", 10**8, "relukit", "seed numba", 10.0),
    Target("relu", 10**8, "relukit out=x (in place)", "torch.relu_ (in place)", 0.9),
    Target("relu", 10**8, "relukit out=y", "torch.relu_ (in place)", 0.85),
    Target("relu_grad", 10**6, "relukit", "np.greater(x, 0).astype", 2.0),
    Target("relu_grad", 10**8, "relukit", "np.greater(x, 0).astype", 1.8),
    Target("relu_backward", 10**6, "relukit", "torch threshold_backward", 1.0),
    Target("relu_backward", 10**8, "relukit", "torch threshold_backward", 3.0),
)


def median_seconds(call, repeat: int) -> float:
    """Median time of one ``call()`` over ``repeat`` samples, after a warm-up."""
    call()
    start = time.perf_counter()
    call()
    once = time.perf_counter() - start
    loops = max(1, int(_MIN_SAMPLE / max(once, 1e-9)))
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(loops):
            call()
        samples.append((time.perf_counter() - start) / loops)
    samples.sort()
    return samples[len(samples) // 2]


def _inputs(spec, size, dtype, rng):
    x = rng.standard_normal(size, dtype=np.float64).astype(dtype)
    if spec.arity == 1:
        return (x,)
    return (rng.standard_normal(size, dtype=np.float64).astype(dtype), x)


def _relukit_variants(spec, inputs, backend):
    """``label -> call`` for relukit on one backend: allocating, out=, in place.

    The automatic backend is called the way users call it, without a
    ``backend`` argument, so that its rows include the small-call fast path.
    """
    default = backend == _backends.default_for("numpy")
    suffix = "" if default else f" [{backend}]"
    options = {} if default else {"backend": backend}
    func = spec.func
    out = np.empty_like(inputs[-1], dtype=inputs[0].dtype)
    variants = {f"relukit{suffix}": lambda: func(*inputs, **options)}
    variants[f"relukit out=y{suffix}"] = lambda: func(*inputs, out=out, **options)
    if spec.name == "relu":
        scratch = inputs[0].copy()
        variants[f"relukit out=x (in place){suffix}"] = lambda: func(scratch, out=scratch, **options)
    return variants


def _peer_variants(spec, inputs):
    variants = {}
    for label, peer in _peers.all_peers(spec.name).items():
        if "in place" in label:
            scratch = [a.copy() for a in inputs]
            variants[label] = lambda peer=peer, scratch=scratch: peer(*scratch)
        else:
            variants[label] = lambda peer=peer: peer(*inputs)
    return variants


def run(sizes, dtypes, backends=("numba", "numpy"), repeat=5, progress=None):
    """Time every function, implementation, size and dtype; return the rows.

    Parameters
    ----------
    sizes : sequence of int
        Number of elements of each input.
    dtypes : sequence of str
        Floating dtypes, e.g. ``("float32",)``.
    backends : sequence of str
        relukit backends to time (those unavailable here are skipped).
    repeat : int
        Samples per figure; the median is reported.
    progress : callable, optional
        Called with a one-line message before each measurement.

    Returns
    -------
    list of Row
    """
    usable = [b for b in backends if b in _backends.available() and _backends.available()[b] is True]
    rng = np.random.default_rng(0)
    rows = []
    steps = [(spec, size, dtype) for spec in _registry.FUNCTIONS for size in sizes for dtype in dtypes]
    for index, (spec, size, dtype) in enumerate(steps, 1):
        if progress is not None:
            progress(f"[{index}/{len(steps)}] {spec.name} {dtype} n={size:.0e}")
        inputs = _inputs(spec, size, dtype, rng)
        variants = {}
        for backend in usable:
            variants.update(_relukit_variants(spec, inputs, backend))
        variants.update(_peer_variants(spec, inputs))
        nbytes = spec.traffic * size * np.dtype(dtype).itemsize
        for label, call in variants.items():
            seconds = median_seconds(call, repeat)
            rows.append(
                Row(spec.name, dtype, size, label, seconds, nbytes / seconds / 1e9, label.startswith("relukit"))
            )
        del inputs, variants
    return rows


def check_targets(rows):
    """``(target, measured ratio or None)`` for every target in :data:`TARGETS`."""
    times = {(r.function, r.dtype, r.size, r.label): r.seconds for r in rows}
    results = []
    for target in TARGETS:
        key = (target.function, "float32", target.size)
        ours, peer = times.get(key + (target.ours,)), times.get(key + (target.peer,))
        results.append((target, None if ours is None or peer is None else peer / ours))
    return results


def _fmt_time(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:8.2f} {unit}"
    return f"{seconds / 1e-9:8.1f} ns"


def format_table(rows):
    """The rows as text: per function, size and dtype, relukit against each peer."""
    lines = []
    groups = {}
    for row in rows:
        groups.setdefault((row.function, row.size, row.dtype), []).append(row)
    for (function, size, dtype), group in groups.items():
        base = next((r for r in group if r.ours and "out=" not in r.label and "[numpy]" not in r.label), None)
        lines.append(f"\n{function}  n={size:.0e}  {dtype}")
        lines.append(f"  {'implementation':34s} {'median':>11s} {'GB/s':>8s} {'relukit speed-up':>17s}")
        for r in group:
            speedup = "" if base is None or r is base or r.ours else f"{r.seconds / base.seconds:15.2f}x"
            lines.append(f"  {r.label:34s} {_fmt_time(r.seconds)} {r.gbps:8.2f} {speedup:>17s}")
    return "\n".join(lines)


def format_targets(results):
    lines = ["\nTargets (float32, ratio = peer time / relukit time, same process)"]
    for target, ratio in results:
        what = f"{target.function} n={target.size:.0e}: {target.ours} vs {target.peer}"
        if ratio is None:
            lines.append(f"  {what:78s} not run (size or peer missing)")
        else:
            verdict = "met" if ratio >= target.ratio else f"MISSED by {target.ratio / ratio:.2f}x"
            lines.append(f"  {what:78s} {ratio:6.2f}x (target {target.ratio}x) {verdict}")
    return "\n".join(lines)


def machine_description():
    """A short description of this machine for reports."""
    try:
        import numba

        threads = numba.get_num_threads()
    except ImportError:
        threads = None
    return {
        "cpu": _cpu_model(),
        "cores": __import__("os").cpu_count(),
        "numba_threads": threads,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def plot(rows, path):
    """Median time against size, one panel per function (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    functions = [spec.name for spec in _registry.FUNCTIONS]
    fig, axes = plt.subplots(1, len(functions), figsize=(5 * len(functions), 4), sharey=True)
    for ax, function in zip(axes, functions):
        series = {}
        for r in rows:
            if r.function == function:
                series.setdefault(f"{r.label} ({r.dtype})", []).append((r.size, r.seconds))
        for label, points in series.items():
            points.sort()
            ax.loglog([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
        ax.set_title(function)
        ax.set_xlabel("elements")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("median time per call (s)")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def to_json(rows, targets, path):
    payload = {
        "machine": machine_description(),
        "command": " ".join(["python -m relukit"] + sys.argv[1:]),
        "rows": [r._asdict() for r in rows],
        "targets": [
            {**t._asdict(), "measured": None if math.isnan(m or math.nan) else m}
            for t, m in targets
        ],
    }
    with open(path, "w") as handle:
        json.dump(payload, handle, indent=1)
