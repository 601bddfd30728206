"""Speed targets: what relukit must achieve against its peers, and the check.

A :class:`Target` selects jobs (operation, mode, size, dtype, device) and a
peer, and asks for a minimum ratio of the peer's time over relukit's. The
CPU targets are ``relukit._bench.TARGETS``, the GPU ones
``relukit._bench_gpu.GPU_TARGETS``; both are checked and printed here.
"""

from __future__ import annotations

import itertools
from typing import Callable, Dict, NamedTuple, Optional, Tuple

from ._bench_report import MODE_SHORT, MODES, REFERENCE, RELUKIT, Row, ratio_text, size_text, wrap


class Target(NamedTuple):
    """A speed target: relukit's time against a peer's, for a set of jobs.

    The ratio is the peer's time over relukit's (above 1: relukit faster).
    ``None`` in ``operations``, ``sizes`` or ``dtypes`` means every one
    measured. ``peer`` names one peer by its label; without it the fastest
    peer counts (of ``library`` only, when given).
    """

    ratio: float
    operations: Optional[Tuple[str, ...]] = None
    modes: Tuple[str, ...] = MODES
    sizes: Optional[Tuple[int, ...]] = None
    dtypes: Optional[Tuple[str, ...]] = None
    peer: Optional[str] = None
    library: Optional[str] = None
    #: What is compared: ``"seconds"`` or a key of ``Row.extra``.
    time: str = "seconds"
    #: Only measured with other processes keeping the cores busy.
    busy: bool = False
    device: str = "cpu"
    #: Said after the generated description, e.g. why the ratio.
    note: str = ""
    #: The operations in words, said instead of their list when given.
    scope: str = ""
    #: Compare with relukit's own operation of this name in the same role
    #: (``relu`` for ``gelu``, ``relu_grad`` for ``gelu_grad``...) rather
    #: than with a peer: the ratio is its time over the operation's.
    baseline: Optional[str] = None


class Comparison(NamedTuple):
    row: Row
    peer: Row
    ratio: float


class Check(NamedTuple):
    target: Target
    comparisons: Tuple[Comparison, ...]
    #: Why some of the target's jobs were not measured, each with its remedy.
    not_run: Dict[str, int]

    @property
    def misses(self):
        return [c for c in self.comparisons if c.ratio < self.target.ratio * (1 - 1e-9)]


class Hints(NamedTuple):
    """How to run what a target needs, in the words of the calling command."""

    #: ``size(missing sizes) -> hint``.
    size: Callable[[list], str]
    dtype: Callable[[str], str]
    busy: str = "needs --busy"
    quiet: str = "needs a run without --busy"
    ours: str = "relukit's default call was not timed"
    #: ``operations(names not run) -> hint``; None: "not measured".
    operations: Optional[Callable[[list], str]] = None
    #: ``mode(mode not run) -> hint``; None: "not measured".
    mode: Optional[Callable[[str], str]] = None


def describe(target: Target) -> str:
    """The target in words, from its fields (so the two cannot disagree)."""
    if target.baseline:
        base = target.baseline
        peer = f"relukit's own {base} ({base}_grad, {base}_backward for those)"
    elif target.peer:
        peer = target.peer
    else:
        library = f"{target.library} " if target.library else ""
        peer = f"the fastest {library}peer"
    parts = [f"relukit >= {target.ratio:.2f}x {peer}"]
    if target.scope:
        parts.append(target.scope)
    else:
        parts.append("every operation" if target.operations is None else " ".join(target.operations))
    parts.append(
        "every mode" if tuple(target.modes) == MODES else ", ".join(MODE_SHORT[m] for m in target.modes)
    )
    parts.append("every size" if target.sizes is None else " ".join(map(size_text, target.sizes)))
    parts.append("every dtype" if target.dtypes is None else " ".join(target.dtypes))
    text = "; ".join(parts)
    if target.time != "seconds":
        text += f" (by {target.time})"
    if target.baseline:
        text += f" (within {1 / target.ratio:.2f}x of its time)"
    if target.busy:
        text = "--busy: " + text
    return text + (f". {target.note}" if target.note else "")


def _time(row: Row, which: str) -> float:
    return row.seconds if which == "seconds" else (row.extra or {})[which]


def check_targets(rows, targets, operations, busy: bool, hints: Hints, peer_hint=None):
    """Each target checked against ``rows``: a :class:`Check` per target.

    ``operations`` lists the operation names a ``None`` in a target means;
    ``busy`` says whether ``rows`` were measured beside busy processes.
    ``peer_hint(target, label)`` may say how to get a peer that is missing.
    """
    groups: Dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row.device, row.function, row.mode, row.dtype, row.size), []).append(row)
    sizes = sorted({r.size for r in rows})
    dtypes = list(dict.fromkeys(r.dtype for r in rows))
    functions = {r.function for r in rows}
    modes = {r.mode for r in rows}
    checks = []
    for target in targets:
        comparisons, not_run = [], {}
        wanted = target.sizes or sizes
        missing = [size for size in wanted if size not in sizes]
        size_hint = hints.size(missing) if missing else ""
        unrun = [f for f in target.operations or operations if f not in functions]
        if target.baseline:
            unrun += [
                f for f in dict.fromkeys(_baseline(target, f) for f in target.operations or operations)
                if f not in functions
            ]
        operations_hint = (hints.operations(unrun) if hints.operations else "not measured") if unrun else ""
        jobs = itertools.product(target.operations or operations, target.modes, target.dtypes or dtypes, wanted)
        for function, mode, dtype, size in jobs:
            if target.busy != busy:
                why = hints.busy if target.busy else hints.quiet
            elif function in unrun or (target.baseline and _baseline(target, function) in unrun):
                why = operations_hint
            elif mode not in modes:
                why = hints.mode(mode) if hints.mode else "not measured"
            elif dtype not in dtypes:
                why = hints.dtype(dtype)
            elif size not in sizes:
                why = size_hint
            else:
                group = groups.get((target.device, function, mode, dtype, size), [])
                if target.baseline:
                    base = groups.get((target.device, _baseline(target, function), mode, dtype, size), [])
                    group = [r for r in group if r.library == RELUKIT] + [
                        r._replace(ours=False, library=REFERENCE + " baseline", label=f"{r.function}: {r.label}")
                        for r in base
                        if r.library == RELUKIT
                    ]
                found = _compare(target, group, hints, peer_hint)
                if not isinstance(found, str):
                    comparisons.append(found)
                    continue
                why = found
            not_run[why] = not_run.get(why, 0) + 1
        checks.append(Check(target, tuple(comparisons), not_run))
    return checks


def _baseline(target: Target, function: str) -> str:
    """The operation of ``target.baseline`` in the role ``function`` plays."""
    for role in ("_grad", "_backward"):
        if function.endswith(role):
            return target.baseline + role
    return target.baseline


def _compare(target: Target, group, hints: Hints, peer_hint):
    """A :class:`Comparison` for one job, or why there is none."""
    ours = next((r for r in group if r.library == RELUKIT), None)
    if ours is None:
        return hints.ours if group else "not measured"
    peers = [
        r
        for r in group
        if not r.ours
        and (target.peer is None or r.label == target.peer)
        and (r.library == target.library if target.library else r.library != REFERENCE)
        and (r.library == REFERENCE + " baseline") == bool(target.baseline)
    ]
    if not peers:
        wanted = target.peer or (f"{target.library} peer" if target.library else "peer")
        if target.baseline:
            return f"relukit's {_baseline(target, ours.function)} was not timed"
        hint = peer_hint(target, wanted) if peer_hint else None
        return hint or f"no {wanted} for {ours.function} {MODE_SHORT[ours.mode]}"
    peer = min(peers, key=lambda r: _time(r, target.time))
    return Comparison(ours, peer, _time(peer, target.time) / _time(ours, target.time))


def format_targets(checks, title="Targets") -> str:
    """Every target with its verdict; every miss on a line of its own."""
    lines = [
        "",
        f"{title} (ratio = the peer's time / relukit's, same process, same mode;",
        "a target is met when the ratio is at least its value)",
    ]
    for number, check in enumerate(checks, 1):
        lines.append(wrap(f"{number}. {describe(check.target)}", "", "   "))
        measured, misses = check.comparisons, check.misses
        if measured:
            lowest = min(c.ratio for c in measured)
            jobs = f"{len(measured)} job{'s' * (len(measured) > 1)} measured"
            verdict = f"MISSED at {len(misses)} of {jobs}" if misses else f"met at all {jobs}"
            lines.append(wrap(f"{verdict} (lowest {ratio_text(lowest)})", "   ", "     "))
        by_peer: Dict[tuple, list] = {}
        for miss in misses:
            row, peer = miss.row, miss.peer
            mark = " ~" if row.disturbed or peer.disturbed else ""
            by_peer.setdefault((row.function, row.mode, peer.label), []).append(
                f"{size_text(row.size)} {row.dtype} {ratio_text(miss.ratio)}{mark}"
            )
        for (function, mode, peer), items in by_peer.items():
            text = f"miss: {function} {MODE_SHORT[mode]} vs {peer}: {', '.join(items)}"
            lines.append(wrap(text, "   ", "     "))
        if check.not_run:
            reasons = "; ".join(
                f"{why} ({count} job{'s' * (count > 1)})" for why, count in check.not_run.items()
            )
            lines.append(wrap(f"not run: {reasons}", "   ", "     "))
    return "\n".join(lines)


def targets_json(checks) -> list:
    """Every comparison of every target, for ``--json``."""
    records = []
    for check in checks:
        target = check.target
        for c in check.comparisons:
            records.append(
                {
                    "target": describe(target),
                    "function": c.row.function,
                    "mode": c.row.mode,
                    "dtype": c.row.dtype,
                    "size": c.row.size,
                    "ours": c.row.label,
                    "peer": c.peer.label,
                    "ratio": target.ratio,
                    "measured": c.ratio,
                    "met": c.ratio >= target.ratio * (1 - 1e-9),
                }
            )
        for why, count in check.not_run.items():
            records.append({"target": describe(target), "not_run": why, "jobs": count})
    return records
