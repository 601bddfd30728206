"""
ReLU on the GPU
===============

How does relukit on CuPy arrays compare with CuPy's own idioms, the seed's
GPU code and PyTorch? Where CuPy and a CUDA device are available when these
pages are built, this example times relu, relu_grad and relu_backward on
that device. Elsewhere it plots the measurements committed to the
repository by ``tools/gpu_check.py`` (``docs/gpu_check.json``), labelled
with their card, date and command; when there are none either, it says so
and draws nothing, because a figure needs a measurement behind it.
"""

# %%
# What is available here?
# -----------------------
# :func:`relukit.show_config` reports whether CuPy sees a usable device.
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import relukit as rk

gpu = rk.show_config(mode="dicts")["gpu"]
print("GPU:", gpu["name"] if gpu["available"] else f"none ({gpu['reason']})")


# %%
# Measure here, or read what was committed
# ----------------------------------------
# On a device, the timings come from the same code as the GPU check
# (CUDA events around each call, inputs rotated to defeat the L2 cache).
# Otherwise every ``gpu*.json`` under ``docs/`` written by
# ``tools/gpu_check.py`` is read: a ``gpu`` description, a ``date``, the
# ``command`` that made it and ``rows`` of ``function``, ``dtype``,
# ``size``, ``label`` and ``seconds``.
def measure_here():
    from relukit import _bench_gpu

    sizes = [2**k for k in range(12, 27, 2)]
    rows = _bench_gpu.gpu_rows(sizes, ["float32"], 10)
    return [(f"{gpu['name']}, measured while building these docs", rows)]


def committed():
    here = (
        Path(__file__).resolve()
        if "__file__" in globals()
        else Path.cwd() / "x"
    )
    docs = next((p for p in here.parents if p.name == "docs"), None)
    if docs is None:
        return []
    found = []
    for path in sorted(docs.glob("**/gpu*.json")):
        if {"_build", "auto_examples"} & set(path.parts):
            continue
        record = json.loads(path.read_text())
        card = record.get("gpu", {}).get("name", "unknown GPU")
        where = path.relative_to(docs).as_posix()
        source = f"docs/{where}, {record.get('date', 'undated')}"
        found.append(
            (
                f"{card}; {source}; {record.get('command', '')}",
                record.get("rows", []),
            )
        )
    return found


measurements = measure_here() if gpu["available"] else committed()

# %%
# Plot, or say why not
# --------------------
# One panel per function, float32, time per call against size.
if not measurements:
    print(
        "No CUDA device here and no GPU measurements committed under docs/: "
        "GPU performance is not measured in this build, so there is no figure."
    )
functions = ("relu", "relu_grad", "relu_backward")
for title, rows in measurements:
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=True)
    for ax, function in zip(axes, functions):
        series = {}
        for row in rows:
            if row["function"] == function and row["dtype"] == "float32":
                series.setdefault(row["label"], []).append(
                    (row["size"], row["seconds"])
                )
        for label, points in sorted(series.items()):
            sizes, seconds = zip(*sorted(points))
            style = (
                {"lw": 2.5, "color": "k"}
                if label.startswith("relukit")
                else {}
            )
            ax.loglog(
                sizes,
                np.array(seconds) * 1e6,
                marker="o",
                label=label,
                **style,
            )
        ax.set_title(f"{function} (float32)")
        ax.set_xlabel("elements")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("time per call (µs)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
plt.show()
