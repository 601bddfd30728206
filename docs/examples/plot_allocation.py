"""
What does allocation cost?
==========================

Is it worth passing ``out=``? This example times :func:`relukit.relu` on
ten million float32 elements three ways (a new result each call, into a
preallocated array, and in place) next to ``np.maximum`` with and without
``out=``, and measures the peak memory each call adds with
:mod:`tracemalloc`, which sees every array NumPy and relukit allocate.
"""

# %%
# The variants
# ------------
import os
import time
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np

import relukit as rk


config = rk.show_config(mode="dicts")
print(config["cpu_model"])
print(
    f"{config['cpu_count']} cores, "
    f"relukit threads: {config['threads']['threads']}"
)
# Other programs share the cores: the load average says how much.
print("load average (1, 5, 15 min): %.1f %.1f %.1f" % os.getloadavg())

n = 10_000_000
x = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
y = np.empty_like(x)
scratch = x.copy()  # the in-place variants overwrite their input

variants = {
    "rk.relu(x)": lambda: rk.relu(x),
    "rk.relu(x, out=y)": lambda: rk.relu(x, out=y),
    "rk.relu(x, out=x)": lambda: rk.relu(scratch, out=scratch),
    "np.maximum(x, 0)": lambda: np.maximum(x, 0),
    "np.maximum(x, 0, out=y)": lambda: np.maximum(x, 0, out=y),
}


# %%
# Time and peak memory
# --------------------
# Times are the best of seven calls; peak memory is what one call adds on
# top of what was already allocated.
def best_time(call, samples=7):
    call()
    best = float("inf")
    for _ in range(samples):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def peak_bytes(call):
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


times = {label: best_time(call) for label, call in variants.items()}
peaks = {label: peak_bytes(call) for label, call in variants.items()}
for label in variants:
    print(
        f"{label:26s} {times[label] * 1e3:7.2f} ms  "
        f"{peaks[label] / 2**20:6.1f} MiB"
    )

# %%
# Time per call
# -------------
# A new 40 MB result is fresh memory each time: large blocks are returned to
# the operating system when freed, and the next one is handed over page by
# page, zeroed, on first touch. The gap between the first two bars is that
# price; reusing ``y`` or writing in place does not pay it.
labels = list(variants)
colours = ["C0" if label.startswith("rk") else "C7" for label in labels]


def bars(values, unit, xlabel, title):
    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    drawn = ax.barh(labels, values, color=colours)
    ax.bar_label(drawn, fmt=f"%.1f {unit}", padding=4)
    ax.margins(x=0.15)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    plt.show()


bars(
    [times[k] * 1e3 for k in labels],
    "ms",
    "best time per call (ms, shorter is better)",
    f"relu on {n:,} float32 elements ({x.nbytes / 2**20:.0f} MiB)",
)

# %%
# Memory per call
# ---------------
# Only the allocating calls add memory: one result array each. ``out=``
# and in place add nothing.
bars(
    [peaks[k] / 2**20 for k in labels],
    "MiB",
    "peak memory added by one call (MiB)",
    "memory a call allocates",
)

# sphinx_gallery_thumbnail_number = 1
