"""What a benchmark run prints: its rows, the legend, the table, the caveats.

Shared by ``python -m relukit bench`` (``relukit._bench``) and the GPU
check (``relukit._bench_gpu``, ``tools/gpu_check.py``): one row format and
one layout of 80 columns. The targets and their checking are
``relukit._bench_targets``. Nothing here times anything or imports more
than the standard library.
"""

from __future__ import annotations

import math
import textwrap
from typing import Dict, NamedTuple, Optional, Tuple

#: Every line printed fits this many columns.
WIDTH = 80
#: The three ways of calling the same operation, compared like with like.
MODES = ("allocating", "out", "in_place")
MODE_TITLES = {
    "allocating": "allocating (a new result each call)",
    "out": "out=y (into a preallocated array)",
    "in_place": "in place (the result overwrites an input)",
}
MODE_SHORT = {"allocating": "allocating", "out": "out=y", "in_place": "in place"}
#: A row whose slowest sample took this many times its fastest was disturbed.
SPREAD_LIMIT = 1.5
#: ``Row.library`` of relukit called as users call it (no ``backend=``).
RELUKIT = "relukit"
#: ``Row.library`` of a bandwidth reference (a plain copy): never a peer.
REFERENCE = "reference"

#: What each library of a peer is, for the legend; callers may add versions.
LIBRARY_TEXT = {
    "numpy": "NumPy, its ufuncs on one thread",
    "numba": "NumPy code compiled with numba.njit, the common recipe",
    "torch": "PyTorch on the same memory (zero-copy views)",
    "cupy": "CuPy's own functions on the same device arrays",
    REFERENCE: "a plain copy of the same number of bytes: the bandwidth reference",
}


class Row(NamedTuple):
    """One implementation of one job, timed: an operation, mode, dtype and size."""

    function: str
    mode: str
    dtype: str
    size: int
    label: str
    #: ``"relukit"``; ``"relukit [numpy]"`` for a forced backend; else the
    #: library a peer computes with (``"numpy"``, ``"torch"``, ...).
    library: str
    ours: bool
    #: Median seconds per call.
    seconds: float
    #: Bytes the job reads and writes per call over ``seconds``, in GB/s.
    gbps: float
    #: Seconds per call of every sample, in the order taken.
    samples: Tuple[float, ...] = ()
    device: str = "cpu"
    #: Further measurements (GPU: host time, latency, copy bandwidth...).
    extra: Optional[dict] = None

    @property
    def spread(self) -> float:
        """Slowest sample over fastest (1.0 with fewer than two).

        From ten samples on, the slowest and fastest tenths are left out:
        single GPU calls vary more than CPU samples that last milliseconds.
        """
        ordered = sorted(self.samples)
        cut = len(ordered) // 10
        kept = ordered[cut : len(ordered) - cut]
        return kept[-1] / kept[0] if len(kept) > 1 and kept[0] > 0 else 1.0

    @property
    def disturbed(self) -> bool:
        return self.spread > SPREAD_LIMIT

    def as_json(self) -> dict:
        record = self._asdict()
        record["samples"] = list(self.samples)
        record.update(record.pop("extra") or {})
        return record

def relukit_label(op, mode: str, suffix: str = "") -> str:
    """``relukit``, ``relukit out=y`` or ``relukit out=<input>`` (in place)."""
    where = {"allocating": "", "out": " out=y"}.get(mode, f" out={op.result_like}")
    return f"relukit{where}{suffix}"


# --- plain words for numbers -----------------------------------------------------


def size_text(n: int) -> str:
    """``1e6`` for powers of ten, ``2**20`` for powers of two, else ``1.5e3``."""
    exponent = round(math.log10(n)) if n > 0 else 0
    if n == 10**exponent:
        return f"1e{exponent}"
    if n >= 1024 and n & (n - 1) == 0:
        return f"2**{n.bit_length() - 1}"
    return f"{n:.3g}".replace("e+0", "e").replace("e+", "e")


def time_text(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def ratio_text(ratio: float) -> str:
    """``2.10x``, or ``0.73x SLOWER`` where relukit takes longer."""
    if not math.isfinite(ratio):
        return "-"
    text = f"{ratio:.2f}x"
    return text + " SLOWER" if round(ratio, 2) < 1.0 else text


def wrap(text: str, indent: str = "  ", hang: str = "    ") -> str:
    return textwrap.fill(
        text, WIDTH, initial_indent=indent, subsequent_indent=hang, break_on_hyphens=False
    )


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."

# --- the table ----------------------------------------------------------------------

_LABEL = 35


def format_table(rows) -> str:
    """Per operation, dtype and mode: every implementation at every size.

    The last column is relukit's speed-up over the row: the row's time over
    relukit's default call in the same job.
    """
    blocks: Dict[tuple, Dict[int, list]] = {}
    for row in rows:
        block = blocks.setdefault((row.device, row.function, row.dtype, row.mode), {})
        block.setdefault(row.size, []).append(row)
    lines = []
    header = f"  {'n':>6s}  {'implementation':{_LABEL}s} {'median':>8s} {'GB/s':>7s}  relukit speed-up"
    for (device, function, dtype, mode), by_size in blocks.items():
        where = "" if device == "cpu" else f" [{device}]"
        lines += ["", f"{function}{where}, {dtype}, {MODE_TITLES[mode]}", header]
        for size, group in by_size.items():
            ours = next((r for r in group if r.library == RELUKIT), None)
            for index, r in enumerate(group):
                n = size_text(size) if index == 0 else ""
                speedup = "" if ours is None or r is ours else ratio_text(r.seconds / ours.seconds)
                mark = " ~" if r.disturbed else ""
                lines.append(
                    f"  {n:>6s}  {clip(r.label, _LABEL):{_LABEL}s} {time_text(r.seconds):>8s} "
                    f"{r.gbps:7.2f}  {speedup}{mark}".rstrip()
                )
    return "\n".join(lines)


#: How the CPU bench samples, for the legend.
CPU_SAMPLING = (
    "each sample long enough for the clock, every implementation of a job "
    "sampled in turn in one process"
)


def format_legend(rows, repeat: int, libraries: Optional[dict] = None, sampling: str = CPU_SAMPLING) -> str:
    """Every label of the table explained once."""
    texts = dict(LIBRARY_TEXT, **(libraries or {}))
    lines = [
        "",
        "How to read the tables",
        wrap(
            "relukit: the public function called as users call it (it picks the "
            "Numba kernels on NumPy arrays, CuPy's on CuPy arrays)."
        ),
    ]
    forced = sorted({r.library for r in rows if r.ours and r.library != RELUKIT})
    for library in forced:
        backend = library.split("[", 1)[1].rstrip("]")
        what = "its NumPy reference backend" if backend == "numpy" else f"the {backend} backend"
        lines.append(wrap(f'{library}: relukit forced onto {what} (backend="{backend}").'))
    names = sorted({r.label.split("out=", 1)[1].split()[0] for r in rows if r.ours and "out=" in r.label})
    if names:
        lines.append(
            wrap(
                "out=y: the result goes into a preallocated array y; "
                + ", ".join(f"out={n}" for n in names if n != "y")
                + ": in place, the result overwrites that input."
            )
        )
    lines += [
        wrap(f"median: of {repeat} samples per figure, {sampling}."),
        wrap("GB/s: the bytes a job must read and write, over the median time."),
        wrap(
            "relukit speed-up: the row's time over relukit's in the same job; "
            "below 1x, relukit is SLOWER."
        ),
        wrap(
            f"~: the row's slowest sample took over {SPREAD_LIMIT}x its fastest "
            "(past ten samples, the outer tenths left out): disturbed."
        ),
        "Peers, the same jobs written with other libraries, by library:",
    ]
    peers: Dict[str, dict] = {}
    for r in rows:
        if not r.ours:
            peers.setdefault(r.library, {})[r.label] = None
    for library, labels in peers.items():
        lines.append(wrap(texts.get(library, library) + ":"))
        # No-break spaces keep each label on one line (textwrap splits only
        # on ASCII whitespace).
        listed = wrap("; ".join(label.replace(" ", "\xa0") for label in labels), "    ", "    ")
        lines.append(listed.replace("\xa0", " "))
    return "\n".join(lines)


def format_disturbances(rows, load_notes=(), mention_busy: bool = True) -> str:
    """Which measurements look disturbed, and what to do; empty when none."""
    noisy = [r for r in rows if r.disturbed]
    if not noisy and not load_notes:
        return ""
    lines = ["", "Disturbed measurements"]
    lines += [wrap(note) for note in load_notes]
    if noisy:
        def job(r):
            return (r.function, MODE_SHORT[r.mode], size_text(r.size), r.dtype)

        jobs = list(dict.fromkeys(job(r) for r in noisy))
        where = (
            ": " + ", ".join(" ".join(j) for j in jobs)
            if len(jobs) <= 6
            else f" {len(jobs)} of the {len({job(r) for r in rows})} jobs"
        )
        lines.append(
            wrap(
                f"{len(noisy)} row{'s' * (len(noisy) > 1)} (marked ~) had samples spread over {SPREAD_LIMIT}x, "
                f"in{where}."
            )
        )
    advice = "Close other programs and rerun"
    advice += "; to measure a busy machine on purpose, use --busy." if mention_busy else "."
    lines.append(wrap(advice))
    return "\n".join(lines)
