"""
ReLU on the GPU
===============

How does relukit on a CuPy array compare with CuPy's own ``cupy.maximum``?
Where CuPy and a CUDA device are available when these pages are built, this
example times both over sizes on that device. Elsewhere it plots GPU
measurements committed to the repository (JSON files named ``gpu*.json``
under ``docs/``), labelled with their card, date and source file; when
there are none either, it says so and draws nothing, because a figure
needs a measurement behind it.
"""

# %%
# What is available here?
# -----------------------
# :func:`relukit.show_config` reports whether CuPy sees a usable device.
import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import relukit as rk

gpu = rk.show_config(mode="dicts")["gpu"]
print("GPU:", gpu["name"] if gpu["available"] else f"none ({gpu['reason']})")


# %%
# Time on the device, if there is one
# -----------------------------------
# GPU calls return before the kernel finishes, so each timing synchronizes
# the device before reading the clock.
def time_on_device(call, cupy, samples=20):
    call()
    cupy.cuda.Device().synchronize()
    best = float("inf")
    for _ in range(samples):
        start = time.perf_counter()
        call()
        cupy.cuda.Device().synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def measure_here(sizes=(10**4, 10**5, 10**6, 10**7, 10**8)):
    import cupy

    series = {"relukit": [], "cupy.maximum(x, 0)": []}
    for size in sizes:
        x = cupy.random.standard_normal(size, dtype=cupy.float32)
        series["relukit"].append(time_on_device(lambda: rk.relu(x), cupy))
        series["cupy.maximum(x, 0)"].append(time_on_device(lambda: cupy.maximum(x, 0), cupy))
        del x
    title = f"{gpu['name']}, measured while building these docs ({time.strftime('%Y-%m-%d')})"
    return [(title, "relu", sizes, series)]


# %%
# Otherwise, read committed measurements
# --------------------------------------
# The files are JSON as written by ``python -m relukit bench --json``: a
# ``machine`` description and ``rows`` of ``function``, ``dtype``, ``size``,
# ``label`` and ``seconds``. Only rows whose label names the GPU are used.
def committed_measurements():
    docs = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
    while docs.name and docs.name != "docs":
        docs = docs.parent
    found = []
    for path in sorted(docs.rglob("gpu*.json")):
        if "_build" in path.parts or "auto_examples" in path.parts:
            continue
        data = json.loads(path.read_text())
        machine = data.get("machine", {})
        card = machine.get("gpu") or machine.get("device") or "GPU"
        rows = [r for r in data.get("rows", []) if r.get("function") == "relu"
                and ("cupy" in r["label"] or "gpu" in r["label"].lower())]
        series, sizes = {}, sorted({r["size"] for r in rows})
        for r in rows:
            series.setdefault(f"{r['label']} ({r['dtype']})", {})[r["size"]] = r["seconds"]
        if series:
            series = {k: [v.get(s, np.nan) for s in sizes] for k, v in series.items()}
            title = f"{card}, {machine.get('date', 'date not recorded')}, from docs/{path.relative_to(docs)}"
            found.append((title, "relu", sizes, series))
    return found


if gpu["available"]:
    figures = measure_here()
else:
    figures = committed_measurements()

# %%
# Plot, or say why not
# --------------------
if not figures:
    print(
        "No CUDA device here and no committed GPU measurements in docs/: "
        "GPU performance is not measured in this build, so there is no figure."
    )
for title, function, sizes, series in figures:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, seconds in series.items():
        ax.loglog(sizes, np.array(seconds) * 1e6, marker="o", label=label)
    ax.set_xlabel("elements")
    ax.set_ylabel("time per call (µs)")
    ax.set_title(f"{function}: {title}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
plt.show()
