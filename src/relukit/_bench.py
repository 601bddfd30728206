"""The ``bench`` command: every operation of the table against its peers.

Every operation in ``relukit._ops.OPERATIONS`` is timed three ways, each
against the peers its declaration names for that way (``op.peers(mode)``):
allocating a new result, writing into ``out=y``, and in place. Everything
is measured in one process, implementations of the same job sampled in
turn, so that the ratios hold on a noisy machine even when the absolute
times wander. Each figure is the median of ``repeat`` samples; a sample
times enough calls to last at least a few milliseconds.

The printing is ``relukit._bench_report``, the targets' checking
``relukit._bench_targets`` and the figure ``relukit._bench_plot``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import subprocess
import sys
import time

import numpy as np

from . import _background, _backends
from ._bench_report import MODE_SHORT, MODES, RELUKIT, Row, relukit_label, size_text
from ._bench_targets import Target
from ._machine import cpu_model
from ._ops import OPERATIONS

#: Each sample lasts at least this long (seconds), so timer noise stays small.
MIN_SAMPLE = 0.005
#: A warm-up longer than this gets a line of its own: a first call compiled.
COMPILE_NOTICE_AFTER = 0.5
#: Single-threaded NumPy may be up to this much faster under --busy.
BUSY_ALLOWANCE = 0.10
#: Before each sample, the process sleeps in steps of this many seconds
#: until one passes in which it used almost no CPU (see :func:`settle`) ...
SETTLE_STEP = 0.002
#: ... or until this many seconds have passed.
SETTLE_LIMIT = 1.0

_BOTH = ("float32", "float64")

#: The operations of the first ReLU targets (and of relu_baseline below).
RELU_TRIO = ("relu", "relu_grad", "relu_backward")
#: The smooth rectifiers whose kernels call exp, expm1, log1p or erfc; the
#: rest of the family (hardswish, squared_relu) only multiply and select.
TRANSCENDENTAL = ("elu", "selu", "celu", "gelu", "silu", "mish", "softplus")


def _trios(names):
    return tuple(f"{name}{role}" for name in names for role in ("", "_grad", "_backward"))


def smooth_names():
    """The names of the smooth rectifiers' operations, as the table declares them."""
    from ._ops import smooth

    return tuple(op.name for op in smooth.OPERATIONS)


#: Where the smooth family's targets are set: in and past the caches,
#: allocating and into out= (in place, PyTorch lacks half the forms).
_FAMILY_SIZES = (10**5, 10**6, 10**7)
_FAMILY_MODES = ("allocating", "out")

#: The speed targets. Ratios are a peer's time over relukit's, like with like.
TARGETS = (
    Target(1.0, RELU_TRIO, sizes=(10**3, 10**5, 10**6, 10**7, 10**8), dtypes=_BOTH),
    Target(1.5, ("relu",), ("allocating",), (10**3,), _BOTH, peer="np.maximum(x, 0)"),
    Target(0.95, ("relu",), ("in_place",), (10**8,), _BOTH, peer="torch.relu_(x)"),
    Target(
        1 / (1 + BUSY_ALLOWANCE),
        library="numpy",
        busy=True,
        note="With the other cores busy, never slower than NumPy's single "
        f"thread ({BUSY_ALLOWANCE:.0%} allowance).",
    ),
    Target(
        1.0,
        smooth_names(),
        _FAMILY_MODES,
        _FAMILY_SIZES,
        library="torch",
        scope="every smooth rectifier, its _grad and _backward",
        note="PyTorch's own CPU kernels on as many threads as relukit's pool.",
    ),
    Target(
        1.0,
        smooth_names(),
        _FAMILY_MODES,
        _FAMILY_SIZES,
        library="numpy",
        scope="every smooth rectifier, its _grad and _backward",
        note="The formula as NumPy (and SciPy) ufuncs with out=.",
    ),
    Target(
        1 / 1.5,
        _trios(TRANSCENDENTAL),
        _FAMILY_MODES,
        (10**7,),
        baseline="relu",
        scope="the transcendental ones (" + " ".join(TRANSCENDENTAL) + "), _grad, _backward",
        note="Their exp or erfc should cost little beside the memory traffic "
        "that bounds relu at this size.",
    ),
)

#: What ``--ops`` accepts besides operation and activation names.
GROUPS = {
    "all": "every operation of the table",
    "smooth": "the smooth rectifiers (elu ... squared_relu), each with _grad and _backward",
}
#: The default ``--ops``: relu's three memory-bound kernels, where the
#: bandwidth targets are set, and gelu's, the costliest of the smooth ones
#: (erfc), where the formulations differ most. The whole table takes
#: about ten times as long.
DEFAULT_OPS = ("relu", "gelu")


def select_operations(names, table=OPERATIONS):
    """The operations ``names`` select, in table order; ValueError naming a bad one.

    A name is a group of :data:`GROUPS`, an activation (``gelu``: gelu,
    gelu_grad and gelu_backward) or one operation (``gelu_grad``).
    """
    by_name = {op.name: op for op in table}
    chosen = set()
    for name in names:
        if name == "all":
            chosen.update(by_name)
        elif name == "smooth":
            chosen.update(n for n in smooth_names() if n in by_name)
        elif name in by_name:
            trio = [n for n in (name, f"{name}_grad", f"{name}_backward") if n in by_name]
            # An activation brings its derivative and backward pass; a
            # _grad or _backward name is that operation alone.
            chosen.update(trio if not name.endswith(("_grad", "_backward")) else [name])
        else:
            raise ValueError(
                f"{name!r} is neither an operation nor one of {', '.join(GROUPS)}"
                f" (operations: {', '.join(_activations(table))}, each also with _grad, _backward)"
            )
    return [op for op in table if op.name in chosen]


def _activations(table):
    names = [op.name for op in table]
    return [n for n in names if not n.endswith(("_grad", "_backward"))]


# --- the strategy timed -------------------------------------------------------------


def strategy(measure_if_missing: bool = True, announce=None) -> list:
    """Lines on what the Numba backend uses on this machine, and why.

    The figures depend on two settings that ``python -m relukit calibrate``
    measures per machine: from what size the thread pool is used, and
    whether stores into ``out=`` stream. Where nothing is saved for this
    CPU and these versions, the bench measures them first (after calling
    ``announce()``), saves them as ``calibrate`` does and applies them to
    its own process, so that it times relukit as tuned for the machine
    rather than the defaults. ``RELUKIT_CALIBRATION=off`` keeps the
    defaults. No lines without Numba.
    """
    from . import _calibrate

    try:
        backend = _backends.load("numba")
    except ImportError:
        return []
    lines = []
    if backend.CALIBRATION is None and _calibrate.enabled() and measure_if_missing:
        if announce is not None:
            announce()
        settings = _calibrate.measure(backend)
        backend.use_calibration(settings)
        try:
            _calibrate.save(settings)
            lines.append("(measured now, saved for later processes)")
        except OSError as error:
            lines.append(f"(measured now, not saved: {error.strerror})")
    found = _calibrate.describe(backend.CALIBRATION)
    return [f"strategy: {line}" for line in found] + lines


# --- timing ------------------------------------------------------------------------


def settle(step: float = SETTLE_STEP, limit: float = SETTLE_LIMIT) -> float:
    """Wait until no other thread of this process is computing; return the seconds waited.

    PyTorch's OpenMP threads spin for a few milliseconds after each call
    before they sleep, and while they spin they hold a core: an
    implementation timed next lost that core for the first calls of its
    sample (the performance page gives the measurement). So every sample
    starts from a quiet process: it sleeps in steps of ``step`` seconds
    until it spends under a tenth of a step on the CPU while sleeping, or
    ``limit`` seconds have passed. Other processes (``--busy``'s) do not
    count.
    """
    start = time.perf_counter()
    while True:
        cpu, begun = time.process_time(), time.perf_counter()
        time.sleep(step)
        now = time.perf_counter()
        if time.process_time() - cpu < 0.1 * (now - begun) or now - start >= limit:
            return now - start


def sample_interleaved(calls: dict, repeat: int) -> dict:
    """``label -> samples`` (seconds per call), implementations taken in turn.

    Each call runs once untimed first (it may compile or fault pages in),
    then three times timed, the fastest choosing how many calls make one
    sample last :data:`MIN_SAMPLE`: the first call after :func:`settle`
    can take several times as long as the next (an idle core, a sleeping
    worker thread; 277 against 57 us for ``torch.relu_`` on 1e6 float32),
    and a count taken from it made samples of a few calls that this one
    call dominated. The rounds rotate the starting implementation, so
    that none always follows the same neighbour, and each timing starts
    after :func:`settle`, so that none pays for threads a peer left
    spinning.
    """
    loops = {}
    for label, call in calls.items():
        call()
        settle()
        once = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            call()
            once = min(once, time.perf_counter() - start)
        loops[label] = max(1, int(MIN_SAMPLE / max(once, 1e-9)))
    labels = list(calls)
    samples = {label: [] for label in labels}
    for round_ in range(repeat):
        shift = round_ % len(labels)
        for label in labels[shift:] + labels[:shift]:
            call, count = calls[label], loops[label]
            settle()
            start = time.perf_counter()
            for _ in range(count):
                call()
            samples[label].append((time.perf_counter() - start) / count)
    return samples


def sample_values(size: int, dtype: str):
    """``make(seed)``: one array of standard normal samples, for ``op.make_inputs``."""

    def make(seed):
        rng = np.random.default_rng(seed)
        native = dtype if dtype in _BOTH else "float32"
        return rng.standard_normal(size, dtype=native).astype(dtype, copy=False)

    return make


def relukit_calls(op, mode: str, inputs, out, backends) -> dict:
    """``label -> (library, call)`` for relukit, one per backend, in ``mode``.

    The automatic backend is called without ``backend=``, as users call it,
    so that its rows include the small-call fast path.
    """
    import relukit

    func = getattr(relukit, op.name)
    automatic = _backends.default_for("numpy")
    target = op.inputs.index(op.result_like)
    calls = {}
    for backend in backends:
        default = backend == automatic
        options = {} if default else {"backend": backend}
        library = RELUKIT if default else f"relukit [{backend}]"
        label = relukit_label(op, mode, "" if default else f" [{backend}]")
        if mode == "allocating":
            calls[label] = (library, lambda o=options: func(*inputs, **o))
        elif mode == "out":
            calls[label] = (library, lambda o=options: func(*inputs, out=out, **o))
        else:
            own = list(inputs)
            own[target] = inputs[target].copy()
            calls[label] = (library, lambda o=options, a=own: func(*a, out=a[target], **o))
    return calls


def peer_calls(op, mode: str, inputs, out) -> dict:
    """``label -> (peer, call)`` for the peers the table names; in place on own copies."""
    target = op.inputs.index(op.result_like)
    calls = {}
    for label, peer in op.peers(mode).items():
        if mode == "allocating":
            call = lambda p=peer: p(*inputs)  # noqa: E731
        elif mode == "out":
            call = lambda p=peer: p(*inputs, out)  # noqa: E731
        else:
            own = list(inputs)
            own[target] = inputs[target].copy()
            call = lambda p=peer, a=own: p(*a)  # noqa: E731
        calls[label] = (peer, call)
    return calls


def library_of(peer, result) -> str:
    """The library a peer computes with, from what it is and what it returns."""
    if type(peer).__module__.startswith("numba"):
        return "numba"
    return type(result).__module__.partition(".")[0]


def _automatic_first(backends):
    automatic = _backends.default_for("numpy")
    return sorted(backends, key=lambda b: b != automatic)


def run(sizes, dtypes, backends, repeat, progress=None, notes=None, operations=OPERATIONS, modes=MODES):
    """Time every operation, mode, size and dtype; return the rows.

    Parameters
    ----------
    sizes : sequence of int
        Elements per input.
    dtypes : sequence of str
        Floating dtypes, e.g. ``("float32",)``.
    backends : sequence of str
        relukit CPU backends to time; the automatic one is called without
        ``backend=``, the others with it.
    repeat : int
        Samples per figure; the median is reported.
    progress : callable, optional
        Called with a short message before each job.
    notes : list, optional
        Peers that failed are dropped, with a line appended here.
    operations : sequence of Operation
        By default the whole table.
    modes : sequence of str
        Of ``MODES``; by default all three.

    Returns
    -------
    list of Row
    """
    backends = _automatic_first(backends)
    jobs = [(op, size, dtype) for op in operations for size in sizes for dtype in dtypes]
    rows = []
    for index, (op, size, dtype) in enumerate(jobs, 1):
        inputs = op.make_inputs(sample_values(size, dtype))
        out = np.empty_like(inputs[op.inputs.index(op.result_like)])
        nbytes = op.traffic * size * np.dtype(dtype).itemsize
        for mode in modes:
            if progress is not None:
                progress(f"[{index}/{len(jobs)}] {op.name} {MODE_SHORT[mode]} {size_text(size)} {dtype}")
            ours = relukit_calls(op, mode, inputs, out, backends)
            calls = {label: call for label, (_, call) in ours.items()}
            libraries = {label: library for label, (library, _) in ours.items()}
            for label, (peer, call) in peer_calls(op, mode, inputs, out).items():
                try:
                    libraries[label] = library_of(peer, call())
                except Exception as error:  # a peer that cannot do this dtype
                    if notes is not None:
                        notes.append(f"{label} failed on {dtype} and was left out: {error}")
                    continue
                calls[label] = call
            for label, samples in sample_interleaved(calls, repeat).items():
                seconds = float(np.median(samples))
                rows.append(
                    Row(op.name, mode, dtype, size, label, libraries[label], label in ours,
                        seconds, nbytes / seconds / 1e9, tuple(samples))
                )
            del calls, ours
        del inputs, out
    return rows


def warm_up(dtypes, backends, sizes, operations=OPERATIONS, modes=MODES) -> float:
    """Call every relukit path the run will take once; return the seconds spent.

    The first call of a Numba kernel compiles it (seconds on a cold cache,
    milliseconds once cached), and which kernel runs depends on the size:
    serial, threaded, streaming. Sizes past the streaming threshold take
    no new path, so they are warmed at that threshold instead.
    """
    # Only the automatic backend compiles; the others have nothing to warm.
    backends = _automatic_first(backends)[:1]
    start = time.perf_counter()
    # Compile in this thread rather than in the background while the NumPy
    # reference serves the calls: every timed call must find its kernel.
    with _background.synchronous():
        _warm_up(dtypes, backends, sizes, operations, modes)
    return time.perf_counter() - start


def _warm_up(dtypes, backends, sizes, operations, modes):
    from . import _numba

    for dtype in dtypes:
        limit = 2 * getattr(_numba, "STREAM_MIN_BYTES", 1 << 25) // np.dtype(dtype).itemsize
        for size in sorted({min(size, limit) for size in sizes}):
            for op in operations:
                inputs = op.make_inputs(sample_values(size, dtype))
                out = np.empty_like(inputs[op.inputs.index(op.result_like)])
                for mode in modes:
                    for _, call in relukit_calls(op, mode, inputs, out, backends).values():
                        call()


# --- a busy machine --------------------------------------------------------------

_SPIN = "import sys; sys.stdout.write('ready\\n'); sys.stdout.flush()\nwhile True: pass"


@contextlib.contextmanager
def busy_cores(count: int):
    """Keep ``count`` cores busy with busy-loop processes for the ``with`` block."""
    spinners = []
    try:
        for _ in range(count):
            spinners.append(
                subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.PIPE, text=True)
            )
        for spinner in spinners:
            spinner.stdout.readline()  # it runs
        yield spinners
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()
            spinner.stdout.close()


# --- the machine --------------------------------------------------------------------


def load_average():
    """The 1-minute load average, or None where the system does not tell."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def load_note(when: str, busy_processes: int = 0):
    """A sentence when other programs kept the cores busy, else None."""
    load, cores = load_average(), os.cpu_count() or 1
    # Our own busy loops and the bench's own thread count as expected load.
    allowed = cores - 0.5 + (busy_processes + 1 if busy_processes else 0)
    if load is None or load <= allowed:
        return None
    return (
        f"The 1-minute load average was {load:.1f} {when} on {cores} cores: "
        "other programs were running, so every figure may be slower than "
        "this machine can do."
    )


def machine_description():
    """A short description of this machine for reports."""
    try:
        import numba

        threads = numba.get_num_threads()
    except ImportError:
        threads = None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "numba_threads": threads,
        "torch_threads": _torch_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def _torch_threads():
    if "torch" not in sys.modules and importlib.util.find_spec("torch") is None:
        return None
    import torch

    return torch.get_num_threads()


def relukit_threads() -> int:
    """The threads relukit's pool computes with (``RELUKIT_NUM_THREADS`` or the CPUs)."""
    from ._pool import default_threads

    return default_threads()


def match_torch_threads():
    """Give PyTorch as many threads as relukit's pool; a sentence when that changed them.

    The targets compare with PyTorch "on the same thread count": PyTorch
    picks its own count (physical cores, or ``OMP_NUM_THREADS``), which
    may differ from relukit's. Does nothing without PyTorch.
    """
    if _torch_threads() is None:
        return None
    import torch

    ours, theirs = relukit_threads(), torch.get_num_threads()
    if ours == theirs:
        return None
    torch.set_num_threads(ours)
    return f"PyTorch set to {ours} threads, as relukit's pool (it chose {theirs})."


def peer_libraries() -> dict:
    """Legend text for the peers' libraries, with versions and threads."""
    numpy = f"NumPy {np.__version__}"
    if "scipy" in sys.modules:  # a peer used scipy.special
        import scipy

        numpy += f" (and SciPy {scipy.__version__}'s special functions where named)"
    texts = {"numpy": f"{numpy}, its ufuncs on one thread"}
    threads = _torch_threads()
    if threads is not None:
        import torch

        texts["torch"] = (
            f"PyTorch {torch.__version__} on the CPU, {threads} threads, "
            "on the same memory (zero-copy views)"
        )
    return texts


def peer_hint(target, wanted: str):
    """How to get a missing peer, where we know."""
    if "torch" in wanted and importlib.util.find_spec("torch") is None:
        return "needs PyTorch: pip install torch"
    return None
