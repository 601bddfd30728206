"""
How big should Dask chunks be, and do more workers help?
========================================================

relukit runs on a Dask array one chunk at a time, and every chunk is one
task for Dask's scheduler. Small chunks spend their time in the scheduler;
large chunks leave workers idle while one finishes. This example measures
the throughput of :func:`relukit.relu` on a 32 MiB float32 Dask array on
the machine that built these docs, for chunk sizes from 128 KiB to the
whole array and for one and two threads of Dask's threaded scheduler, next
to Dask's own ``da.maximum(x, 0)`` on the same scheduler.
"""

# %%
# The input, held in memory
# -------------------------
# The input is computed once and persisted, so that every timing below
# measures the ReLU tasks and nothing upstream of them. Each timing persists
# the result too (it stays as chunks in memory): calling ``compute`` would
# add a copy of everything into one NumPy array.

import os
import time

import dask
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np

import relukit as rk

N = 2**23  # float32 elements: 32 MiB
CHUNKS = [2**k for k in range(15, 24, 2)]  # 32 Ki elements ... the whole array
WORKERS = [1, 2]
REPEATS = 3

source = np.random.default_rng(0).standard_normal(N, dtype=np.float32)


def best_time(make, x, workers):
    """Fastest of a few runs of building and persisting ``make(x)``."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        make(x).persist(scheduler="threads", num_workers=workers)
        times.append(time.perf_counter() - start)
    return min(times)


# %%
# Measure
# -------
# Throughput counts the bytes each element moves: one read and one write.

implementations = {
    "relukit.relu": rk.relu,
    "da.maximum(x, 0)": lambda x: da.maximum(x, 0),
}
rk.relu(source[:1000])  # load relukit's kernels before any timing
throughput = {}
for chunk in CHUNKS:
    x = da.from_array(source, chunks=chunk).persist(scheduler="threads")
    for workers in WORKERS:
        for label, make in implementations.items():
            seconds = best_time(make, x, workers)
            gbps = 2 * source.nbytes / seconds / 1e9
            throughput[label, workers, chunk] = gbps


def size_label(elements):
    kib = elements * 4 // 1024
    return f"{kib} KiB" if kib < 1024 else f"{kib // 1024} MiB"


load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
print(f"{os.cpu_count()} CPU cores, load average {load}")
print(f"Dask {dask.__version__}, relukit {rk.__version__}")
header = "".join(f"{label:>20}" for label in implementations)
print(f"{'chunk':>8} {'threads':>8}{header}")
for chunk in CHUNKS:
    for workers in WORKERS:
        cells = [throughput[k, workers, chunk] for k in implementations]
        row = "".join(f"{value:15.2f} GB/s" for value in cells)
        print(f"{size_label(chunk):>8} {workers:>8}{row}")
for label in implementations:
    keys = [key for key in throughput if key[0] == label]
    _, workers, chunk = max(keys, key=throughput.get)
    print(
        f"fastest {label}: chunks of {size_label(chunk)}, {workers} thread(s)"
    )

# %%
# Plot
# ----
# Solid lines are relukit, dashed lines Dask's ``maximum``; colour is the
# number of scheduler threads.

fig, ax = plt.subplots(figsize=(6.4, 4.6), layout="constrained")
colours = dict(zip(WORKERS, ["tab:blue", "tab:orange"]))
for (label, make), style in zip(implementations.items(), ["-", "--"]):
    for workers in WORKERS:
        ax.plot(
            [c * 4 for c in CHUNKS],
            [throughput[label, workers, c] for c in CHUNKS],
            style,
            marker="o",
            color=colours[workers],
            label=f"{label}, {workers} thread{'s' if workers > 1 else ''}",
        )
ax.set_xscale("log", base=2)
ax.set_xticks([c * 4 for c in CHUNKS])
ax.set_xticklabels([size_label(c) for c in CHUNKS])
ax.set_xlabel("chunk size (float32)")
ax.set_ylabel("throughput, GB/s (read + write)")
ax.set_ylim(bottom=0)
ax.set_title(f"ReLU of a 32 MiB Dask array, {os.cpu_count()} cores")
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %%
# Reading the figure
# ------------------
# At the smallest chunks, every task costs the scheduler about as much as
# the arithmetic inside it, whichever function runs there: all lines start
# low. As chunks grow, the arithmetic takes over. Two things set relukit
# apart from ``da.maximum`` there. A chunk too large for a core's L2 cache
# is split by relukit over the machine's cores (:func:`relukit.show_config`
# reports the threshold and the thread count), so a single Dask thread can
# already keep every core busy, where NumPy's ``maximum`` uses one core per
# task. And when two tasks run at once, the second relukit call finds
# relukit's thread pool taken and runs serially in its own thread, so Dask's
# threads and relukit's never oversubscribe the cores. With a single chunk
# for the whole array, a second Dask thread has nothing to do.
#
# The figure is one measurement on the machine that built this page, and
# a machine shared with other work distorts it: Dask's threads and
# relukit's compete with other programs for the cores. Run this script
# on your own machine before choosing a chunk size. Dask's ``"auto"``
# chunks (the ``array.chunk-size`` setting, 128 MiB by default) are large
# enough for relukit to split each chunk over the cores itself; much
# smaller chunks only pay off when there are more cores than chunks.
