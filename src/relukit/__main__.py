"""``python -m relukit info`` and ``python -m relukit bench``."""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time

from ._bench_report import MODES
from ._ops import BENCH_SIZES, BENCH_SIZES_FULL, CPU_BACKENDS, FLOAT_DTYPES

_DESCRIPTION = """\
Time relukit's functions (operations of its table, chosen with --ops)
against the best NumPy/SciPy and PyTorch spellings of the same job, in one
process. Each job is compared like with like: allocating a new result,
writing into out=y, and in place. Prints median times, GB/s and relukit's
speed-up, then the speed targets, and says when the machine was too busy
to trust a figure.

By default it times relu and gelu, each with its _grad and _backward:
relu's memory-bound kernels, where the bandwidth targets are set, and
gelu's, the costliest of the smooth rectifiers. With over thirty
operations in the table, timing all of them (--ops all) takes over five
times as long as the default. The smooth family's
targets (at 1e5, 1e6 and 1e7, allocating and out=; within 1.5x of relu at
1e7) are checked with e.g.

  python -m relukit bench --ops relu smooth --sizes 1e5 1e6 1e7
      --dtype float32 --modes allocating out
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m relukit",
        description="relukit: fast ReLU, its gradient and the fused backward pass.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="show versions, backends, threading and GPU (as show_config)")
    warmup = commands.add_parser(
        "warmup",
        help="compile the common CPU kernels into Numba's cache ahead of time",
        description=(
            "Compile (or load) the CPU kernels of every relukit function for the "
            "given dtypes, allocating, into out= and in place, so that later "
            "processes start warm: run it when building an image, a conda "
            "environment or a Dask worker."
        ),
    )
    warmup.add_argument(
        "--dtype", nargs="+", default=["float32", "float64"],
        choices=["float16", "float32", "float64"], help="dtypes (default float32 float64)",
    )
    calibrate = commands.add_parser(
        "calibrate",
        help="measure streaming stores and the thread-pool threshold on this machine",
        description=(
            "Time ordinary against streaming stores and serial against pooled "
            "runs here, and keep the choice for this CPU model and these versions "
            "in the user's cache folder. Run it on a quiet machine."
        ),
    )
    calibrate.add_argument("--dry-run", action="store_true", help="measure and print, save nothing")
    bench = commands.add_parser(
        "bench",
        help="time every relukit function against NumPy and PyTorch",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.set_defaults(error=bench.error)
    bench.add_argument(
        "--quick",
        action="store_true",
        help="sizes 1e3..1e7, float32, 3 samples (without it: up to 1e8, float32 and float64, 5 samples)",
    )
    bench.add_argument(
        "--ops",
        nargs="+",
        metavar="NAME",
        help="what to time: an activation with its _grad and _backward (relu, gelu, ...), "
        "one operation (gelu_grad), 'smooth' (the nine smooth rectifiers) or 'all' "
        "(default: relu gelu; see above)",
    )
    bench.add_argument(
        "--modes",
        nargs="+",
        choices=MODES,
        metavar="M",
        help=f"ways of calling to time, of {', '.join(MODES)} (default: all three)",
    )
    bench.add_argument("--sizes", nargs="+", metavar="N", help="elements per input, e.g. 1e3 1e6 or 2**20")
    bench.add_argument(
        "--dtype",
        nargs="+",
        choices=FLOAT_DTYPES,
        metavar="D",
        help=f"dtypes to time, of {', '.join(FLOAT_DTYPES)}",
    )
    bench.add_argument(
        "--backends",
        nargs="+",
        choices=CPU_BACKENDS,
        metavar="B",
        help=f"relukit backends to time, of {', '.join(CPU_BACKENDS)} (default: those available)",
    )
    bench.add_argument("--repeat", type=int, metavar="N", help="samples per figure (the median is shown)")
    bench.add_argument(
        "--busy",
        action="store_true",
        help="time with all cores but one kept busy by other processes, "
        "against single-threaded NumPy in the same situation",
    )
    bench.add_argument(
        "--startup",
        action="store_true",
        help="time start-up instead: a script of first calls in fresh processes, "
        "NumPy against relukit with an empty and a filled cache (--repeat runs "
        "each, default 5), and how soon a cold process computes at its warm speed",
    )
    bench.add_argument("--plot", metavar="FILE", help="write a figure (.png, .svg, .pdf...; needs matplotlib)")
    bench.add_argument("--json", metavar="FILE", help="write every measurement and target as JSON")
    return parser


# --- checking the options, all before the first timing ---------------------------


def parse_size(text: str) -> int:
    """Elements from ``1e6``, ``1000000`` or ``2**20``; ValueError if none."""
    base, power, exponent = text.partition("**")
    try:
        value = int(base) ** int(exponent) if power else float(text)
    except (ValueError, OverflowError):
        raise ValueError(f"{text!r} is not a number of elements (e.g. 1e6)") from None
    if not math.isfinite(value) or value < 1 or value != int(value):
        raise ValueError(f"{text!r} is not a whole number of elements, at least 1 (e.g. 1e6)")
    return int(value)


def _memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_options(args):
    """The run's settings from ``args``; ``args.error`` (exit 2) on the first bad one."""
    import numpy as np

    from . import _backends, _bench, _bench_plot

    fail = args.error
    try:
        operations = _bench.select_operations(args.ops or _bench.DEFAULT_OPS)
    except ValueError as error:
        fail(f"--ops: {error}")
    modes = [m for m in MODES if m in (args.modes or MODES)]
    sizes = BENCH_SIZES if args.quick else BENCH_SIZES_FULL
    if args.sizes:
        try:
            sizes = list(dict.fromkeys(parse_size(text) for text in args.sizes))
        except ValueError as error:
            fail(f"--sizes: {error}")
    dtypes = list(dict.fromkeys(args.dtype or (["float32"] if args.quick else ["float32", "float64"])))
    # An in-place job holds the inputs, out=y and a copy per implementation.
    widest = max(dtypes, key=lambda d: np.dtype(d).itemsize)
    need = 8 * max(sizes) * np.dtype(widest).itemsize
    memory = _memory_bytes()
    if memory and need > memory:
        fail(
            f"--sizes: {max(sizes):.0e} elements of {widest} need about "
            f"{need / 1e9:.0f} GB; this machine has {memory / 1e9:.0f} GB"
        )
    repeat = (3 if args.quick else 5) if args.repeat is None else args.repeat
    if repeat < 1:
        fail(f"--repeat: {repeat} samples? It takes at least 1")
    available = _backends.available()
    backends = args.backends or [b for b in CPU_BACKENDS if available[b] is True]
    for backend in backends:
        if available[backend] is not True:
            fail(f"--backends: {backend} is not available here ({available[backend]})")
    if args.busy and (os.cpu_count() or 1) < 2:
        fail("--busy: this machine has one core, so there is no other core to keep busy")
    for option, path, check in (
        ("--plot", args.plot, _bench_plot.check_path),
        ("--json", args.json, _bench_plot.writable),
    ):
        problem = path is not None and check(path)
        if problem:
            fail(f"{option}: {problem}")
    return argparse.Namespace(
        sizes=sizes, dtypes=dtypes, repeat=repeat, backends=backends, operations=operations, modes=modes
    )


# --- the run ----------------------------------------------------------------------------


def _progress(message):
    if sys.stderr.isatty():
        sys.stderr.write("\r" + message[:79].ljust(79))
    else:
        sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _compile(settings):
    """Warm every relukit path, saying so when it takes long (a compile)."""
    from . import _bench

    message = "compiling relukit's kernels for this machine (first use only; cached)..."
    said = threading.Event()

    def say():
        print(message, end="", flush=True)
        said.set()

    timer = threading.Timer(_bench.COMPILE_NOTICE_AFTER, say)
    timer.start()
    try:
        # Positional, and only what the settings hold: callers may pass fewer.
        extra = [getattr(settings, k) for k in ("operations", "modes") if hasattr(settings, k)]
        seconds = _bench.warm_up(settings.dtypes, settings.backends, settings.sizes, *extra)
    finally:
        timer.cancel()
        timer.join()
    if said.is_set():
        print(f" {seconds:.1f} s", flush=True)


def _strategy(settings):
    """Print the Numba backend's strategy, measured first where none is saved for this machine."""
    from . import _bench
    from ._bench_report import wrap

    started = []

    def announce():
        print("calibrating relukit for this machine (first bench only)...", end="", flush=True)
        started.append(time.perf_counter())

    lines = _bench.strategy("numba" in settings.backends, announce)
    if started:
        print(f" {time.perf_counter() - started[0]:.1f} s", flush=True)
    for line in lines:
        print(wrap(line, "", "  "))


def _header(machine, settings, busy: int) -> str:
    from . import _bench_report as report
    from ._version import __version__

    cores = machine["cores"]
    lines = [
        f"relukit {__version__} bench on {machine['cpu']}",
        f"{cores} cores, {_threads(machine)}",
        f"sizes {' '.join(map(report.size_text, settings.sizes))}; {' '.join(settings.dtypes)}; "
        f"median of {settings.repeat} samples",
    ]
    names = [op.name for op in settings.operations]
    activations = [n for n in names if not n.endswith(("_grad", "_backward"))]
    trios = all(f"{n}{r}" in names for n in activations for r in ("_grad", "_backward"))
    chosen = f"{' '.join(activations)}, each with _grad and _backward" if trios else " ".join(names)
    lines.append(report.wrap(f"operations: {chosen}; modes: {' '.join(settings.modes)}", "", "  "))
    if busy:
        lines.append(
            report.wrap(
                f"BUSY MODE: {busy} busy-loop process{'es keep' if busy > 1 else ' keeps'} {busy} of "
                f"{cores} cores busy while timing. These figures show relukit on a loaded "
                "machine, not at its best; the --busy target compares it with "
                "single-threaded NumPy in the same situation.",
                "",
                "",
            )
        )
    return "\n".join(lines)


def _threads(machine) -> str:
    torch = machine["torch_threads"]
    return f"numba threads {machine['numba_threads']}" + ("" if torch is None else f", torch threads {torch}")


def _measure(settings, busy: int):
    """The rows, with notes on failed peers and on the load at start and end."""
    from . import _bench

    load_notes = [_bench.load_note("at the start")]
    # Before compiling (the thresholds decide which drivers a call needs)
    # and before any busy loop starts (it times the machine as it is).
    _strategy(settings)
    _compile(settings)
    notes = []
    with _bench.busy_cores(busy):
        rows = _bench.run(
            settings.sizes, settings.dtypes, settings.backends, settings.repeat, _progress, notes,
            settings.operations, settings.modes,
        )
        load_notes.append(_bench.load_note("at the end", busy))
    if sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 79 + "\r")
    return rows, notes, [note for note in load_notes if note]


def _bench(args, argv) -> int:
    if args.startup:
        from . import _bench_startup

        return _bench_startup.main(args.repeat or 5, args.json)
    from . import _backends, _bench, _bench_report as report, _bench_targets as targets

    settings = check_options(args)
    threads_note = _bench.match_torch_threads()
    machine = _bench.machine_description()
    cores = machine["cores"] or 1
    busy = cores - 1 if args.busy else 0
    print(_header(machine, settings, busy))
    if threads_note:
        print(threads_note)
    rows, notes, load_notes = _measure(settings, busy)
    gpu_rows, gpu_targets, gpu_libraries = _gpu(settings)
    rows += gpu_rows

    def size_hint(sizes):
        more = " or no --quick" if args.quick and set(sizes) <= set(BENCH_SIZES_FULL) else ""
        return f"needs --sizes {' '.join(map(report.size_text, sizes))}{more}"

    automatic = _backends.default_for("numpy")
    def operations_hint(names):
        activations = dict.fromkeys(n.replace("_backward", "").replace("_grad", "") for n in names)
        return f"needs --ops {' '.join(activations)}"

    hints = targets.Hints(
        size_hint,
        lambda d: f"needs --dtype {d}",
        ours=f"needs --backends {automatic}",
        operations=operations_hint,
        mode=lambda m: f"needs --modes {m}",
    )
    checks = targets.check_targets(
        rows, _bench.TARGETS + gpu_targets, [op.name for op in settings.operations], args.busy, hints,
        _bench.peer_hint,
    )
    print(report.format_legend(rows, settings.repeat, {**_bench.peer_libraries(), **gpu_libraries}))
    print(report.format_table(rows))
    if busy:
        print(f"\n(all of the above: BUSY MODE, {busy} of {cores} cores kept busy)")
    print(targets.format_targets(checks))
    for note in notes:
        print(report.wrap(note, "", "  "))
    disturbed = report.format_disturbances(rows, load_notes, mention_busy=not args.busy)
    if disturbed:
        print(disturbed)
    if args.json:
        _write_json(args.json, argv, machine, rows, checks, args.busy, load_notes)
        print(f"\nwrote {args.json}")
    if args.plot:
        from . import _bench_plot

        title = f"relukit bench: {machine['cpu']}, {cores} cores, {_threads(machine)}; {', '.join(settings.dtypes)}"
        if busy:
            title += f"; BUSY: {busy} of {cores} cores kept busy"
        _bench_plot.plot(rows, args.plot, title)
        print(f"wrote {args.plot}")
    return 0


def _write_json(path, argv, machine, rows, checks, busy, load_notes):
    import json

    from . import _bench, _bench_targets

    payload = {
        "machine": machine,
        # As printed at the start, where the bench may have measured it.
        "strategy": _bench.strategy(measure_if_missing=False),
        "command": " ".join(["python -m relukit", *argv]),
        "busy": busy,
        "disturbed": load_notes,
        "rows": [r.as_json() for r in rows],
        "targets": _bench_targets.targets_json(checks),
    }
    with open(path, "w") as handle:
        json.dump(payload, handle, indent=1)


def _gpu(settings):
    """GPU rows, targets and legend from the CuPy benchmark, when a device is usable."""
    from ._config import _gpu_info

    if not _gpu_info()["available"]:
        return [], (), {}
    from . import _bench_gpu
    from ._bench_report import MODES

    _progress("timing the GPU")
    rows = _bench_gpu.gpu_rows(settings.sizes, settings.dtypes, settings.repeat, modes=MODES)
    return rows, _bench_gpu.GPU_TARGETS, _bench_gpu.LIBRARY_TEXT


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.command == "info":
        from ._config import show_config

        show_config()
        return 0
    if args.command == "warmup":
        from ._warmup import cache_status, warmup

        status = cache_status()
        where = "writable" if status["writable"] else "read-only: nothing will be kept"
        print(f"Numba cache: {status['folder']} ({where})")
        took = warmup(dtypes=args.dtype)
        print(f"compiled or loaded in {sum(took.values()):.1f} s")
        return 0
    if args.command == "calibrate":
        return _calibrate(args)
    return _bench(args, argv)


def _calibrate(args) -> int:
    import os

    from . import _calibrate as calibration

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    cores = os.cpu_count() or 1
    if load > cores - 0.5:
        print(f"warning: load average {load:.1f} on {cores} cores; other programs will skew this")
    from . import _backends

    settings = calibration.measure(_backends.load("numba"))
    for line in calibration.describe(settings):
        print(line)
    if not args.dry_run:
        print(f"saved to {calibration.save(settings)}; used from the next process on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
