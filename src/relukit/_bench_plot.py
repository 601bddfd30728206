"""``bench --plot``: time per element against size, one panel per job kind.

One panel per operation (rows) and mode (columns), one colour per
implementation across every panel, one line style per dtype, and a single
legend for the whole figure. matplotlib is imported only when asked for.
"""

from __future__ import annotations

import os

from ._bench_report import MODE_TITLES, MODES, RELUKIT

_STYLES = ("-", "--", ":", "-.")


def check_path(path: str):
    """Why the figure cannot be written to ``path``, or None when it can."""
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        return "needs matplotlib: pip install matplotlib"
    problem = writable(path)
    if problem:
        return problem
    formats = FigureCanvasBase.get_supported_filetypes()
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    if extension not in formats:
        return (
            f"{path!r}: matplotlib cannot write '.{extension}' files; "
            f"use one of {', '.join('.' + f for f in sorted(formats))}"
        )
    return None


def writable(path: str):
    """Why ``path`` cannot be written, or None."""
    if os.path.isdir(path):
        return f"{path!r} is a directory, not a file name"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"the folder {os.path.dirname(path) or '.'!r} does not exist"
    if not os.access(folder, os.W_OK):
        return f"the folder {os.path.dirname(path) or '.'!r} is not writable"
    return None


def _implementation(row) -> str:
    # relukit has one colour whatever the mode; its label names the mode.
    return row.library if row.ours else row.label


def plot(rows, path: str, title: str):
    """Write the figure of ``rows`` (CPU rows only) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r.device == "cpu"]
    functions = list(dict.fromkeys(r.function for r in rows))
    dtypes = list(dict.fromkeys(r.dtype for r in rows))
    names = list(dict.fromkeys(_implementation(r) for r in sorted(rows, key=lambda r: not r.ours)))
    # tab20's strong shades first, then its light ones: the first ten
    # implementations (relukit's and those of the first panels) stand apart.
    palette = plt.get_cmap("tab20")
    order = list(range(0, 20, 2)) + list(range(1, 20, 2))
    colours = {name: palette(order[i % 20]) for i, name in enumerate(names)}
    fig, axes = plt.subplots(
        len(functions), len(MODES), figsize=(4.2 * len(MODES), 3.2 * len(functions)),
        sharex=True, sharey=True, squeeze=False,
    )
    for (i, function), (j, mode) in (
        (f, m) for f in enumerate(functions) for m in enumerate(MODES)
    ):
        ax = axes[i][j]
        series = {}
        for r in rows:
            if r.function == function and r.mode == mode:
                series.setdefault((_implementation(r), r.dtype), []).append(r)
        for (name, dtype), points in series.items():
            points.sort(key=lambda r: r.size)
            ax.loglog(
                [r.size for r in points],
                [r.seconds / r.size * 1e9 for r in points],
                color=colours[name],
                linestyle=_STYLES[dtypes.index(dtype) % len(_STYLES)],
                linewidth=2.5 if name == RELUKIT else 1.4,
                marker="o",
                markersize=3,
            )
        ax.set_title(f"{function}, {MODE_TITLES[mode].split(' (')[0]}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        if i == len(functions) - 1:
            ax.set_xlabel("elements")
        if j == 0:
            ax.set_ylabel("ns per element")
    handles = [plt.Line2D([], [], color=colours[n], lw=2.5 if n == RELUKIT else 1.4) for n in names]
    labels = list(names)
    if len(dtypes) > 1:
        handles += [plt.Line2D([], [], color="grey", linestyle=_STYLES[k]) for k in range(len(dtypes))]
        labels += dtypes
    fig.suptitle(title, fontsize=10)
    fig.legend(handles, labels, loc="center right", fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 0.77, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)
