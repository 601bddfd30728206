"""
How fast is relukit here?
=========================

How long do :func:`relukit.relu`, :func:`relukit.relu_grad` and
:func:`relukit.relu_backward` take on this machine compared with the NumPy
one-liners and a common Numba recipe, from a thousand to thirty million
elements? This example times them all in one process, and draws the floor
that main-memory bandwidth sets for arrays too large for the caches. For
the full comparison (more sizes, dtypes, PyTorch) run ``python -m relukit
bench``.
"""

# %%
# The machine
# -----------
# Timings describe the machine that built these pages, printed here.
import glob
import os
import time

import matplotlib.pyplot as plt
import numba
import numpy as np
from matplotlib import ticker

import relukit as rk


config = rk.show_config(mode="dicts")
versions = config["versions"]
threads = config["threads"]
print(config["cpu_model"])
print(
    f"{config['cpu_count']} cores; relukit uses {threads['threads']} "
    f"threads from {threads['parallel_min_bytes'] / 2**20:g} MiB of output"
)
print(
    f"relukit {rk.__version__}, NumPy {versions['numpy']}, "
    f"Numba {versions['numba']}"
)
# Other programs share the cores: the load average says how much.
print("load average (1, 5, 15 min): %.1f %.1f %.1f" % os.getloadavg())

DTYPE = np.dtype(np.float32)
SIZES = [10**3, 10**4, 10**5, 10**6, 10**7, 3 * 10**7]


# %%
# The implementations
# -------------------
# Each function is compared with the ways people write it without relukit.
# The Numba recipe is ``np.maximum(x, np.zeros_like(x))`` compiled with
# ``numba.njit``; in-place variants are left out, as they change their
# input (the allocation example covers them).
@numba.njit(cache=False)
def numba_recipe(x):
    return np.maximum(x, np.zeros_like(x))


FUNCTIONS = {
    "relu": {
        "relukit": rk.relu,
        "np.maximum(x, 0)": lambda x: np.maximum(x, 0),
        "Numba recipe": numba_recipe,
    },
    "relu_grad": {
        "relukit": rk.relu_grad,
        "np.greater(x, 0).astype": lambda x: np.greater(x, 0).astype(x.dtype),
    },
    "relu_backward": {
        "relukit": rk.relu_backward,
        "np.where(x > 0, dy, 0)": lambda dy, x: np.where(x > 0, dy, 0),
        "dy * (x > 0)": lambda dy, x: dy * (x > 0),
    },
}
ARITY = {"relu": 1, "relu_grad": 1, "relu_backward": 2}


# %%
# A timer
# -------
# Each sample lasts at least 2 ms, so the clock's resolution does not
# matter, and every implementation is sampled in turn, so that a burst of
# load from other programs hits all of them alike. We keep the best sample:
# on a shared machine noise only ever adds time.
def best_times(calls, samples=3, min_sample=2e-3):
    loops = {}
    for label, call in calls.items():
        call()  # compile and warm up
        start = time.perf_counter()
        call()
        elapsed = max(time.perf_counter() - start, 1e-9)
        loops[label] = max(1, int(min_sample / elapsed))
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(samples):
        for label, call in calls.items():
            start = time.perf_counter()
            for _ in range(loops[label]):
                call()
            elapsed = (time.perf_counter() - start) / loops[label]
            best[label] = min(best[label], elapsed)
    return best


# %%
# The main-memory floor
# ---------------------
# Once the arrays are too large for the caches, no elementwise function can
# beat the time its bytes take to come from and go to main memory (DRAM).
# Reading a large array on every thread (a parallel sum, which writes
# nothing) measures how fast this machine streams memory. A function's
# floor is then the bytes it must move per element (each input read once,
# the result written once) over that bandwidth. fastmath lets Numba reorder
# the additions into vector lanes; without it the sum is bound by the
# latency of one add after another, not by memory.
@numba.njit(parallel=True, fastmath=True, cache=False)
def parallel_sum(a):
    total = 0.0
    for i in numba.prange(a.size):
        total += a[i]
    return total


big = np.ones(2**25, dtype=DTYPE)  # 128 MiB, far beyond any cache
seconds = best_times({"sum": lambda: parallel_sum(big)})["sum"]
read_bandwidth = big.nbytes / seconds
del big
print(f"read bandwidth: {read_bandwidth / 1e9:.1f} GB/s")


def last_level_cache():
    """Bytes of the largest CPU cache, or None where the OS does not say.

    Linux lists the caches of each core under /sys; elsewhere the floor is
    drawn over every size and its label says where it applies.
    """
    sizes = []
    for path in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"):
        with open(path) as text:
            value = text.read().strip()
        unit = {"K": 2**10, "M": 2**20, "G": 2**30}.get(value[-1:], 1)
        sizes.append(int(value.rstrip("KMG")) * unit)
    return max(sizes, default=None)


cache = last_level_cache()
if cache:
    print(f"last-level cache: {cache / 2**20:.0f} MiB")

# %%
# Time everything
# ---------------
rng = np.random.default_rng(0)
results = {}  # function -> label -> seconds per element, by size
bytes_per_element = {}
for name, implementations in FUNCTIONS.items():
    for size in SIZES:
        inputs = [
            rng.standard_normal(size, dtype=DTYPE) for _ in range(ARITY[name])
        ]
        calls = {
            label: (lambda f=function: f(*inputs))
            for label, function in implementations.items()
        }
        for label, seconds in best_times(calls).items():
            results.setdefault(name, {}).setdefault(label, []).append(
                seconds / size
            )
    result = implementations["relukit"](*inputs)
    moved = sum(a.nbytes for a in inputs) + result.nbytes
    bytes_per_element[name] = moved / size
    floor = bytes_per_element[name] / read_bandwidth * 1e9
    print(f"{name} at {SIZES[-1]:.0e} elements, ns per element:")
    for label, per_element in results[name].items():
        print(f"    {label:26s} {per_element[-1] * 1e9:6.2f}")
    print(f"    {'DRAM floor':26s} {floor:6.2f}")


# %%
# Plot time per element against size
# ----------------------------------
# Small arrays are dominated by the fixed cost of a call; large ones by
# memory traffic. The dashed floor is drawn only where the arrays a call
# touches no longer fit in the last-level cache: below that, data comes
# from the caches, which are faster than main memory, so a curve may pass
# under the line's level there. From the dotted line on, the result is
# large enough for relukit to split the work over its threads (the
# threshold :func:`relukit.show_config` reports above); how much that
# gains depends on how many cores other programs leave free (see the load
# average). Lower is better.
def size_label(value, _position=None):
    for scale, suffix in ((10**6, "M"), (10**3, "k")):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def plot(name):
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    for label, per_element in results[name].items():
        style = {"lw": 3, "color": "k"} if label == "relukit" else {"lw": 1.8}
        ax.loglog(SIZES, np.array(per_element) * 1e9, marker="o", label=label,
                  **style)
    floor = bytes_per_element[name] / read_bandwidth * 1e9
    # From the size whose arrays together outgrow the last-level cache.
    start = cache / bytes_per_element[name] if cache else SIZES[0]
    if start < SIZES[-1]:
        label = "DRAM bandwidth floor\n(arrays beyond the caches)"
        ax.hlines(floor, max(start, SIZES[0]), SIZES[-1], linestyles="--",
                  colors="C3", lw=2, label=label)
    if threads["threads"] > 1:
        first_pooled = threads["parallel_min_bytes"] / DTYPE.itemsize
        ax.axvline(
            first_pooled, color="0.5", ls=":", lw=1.5, label="threads from here"
        )
    ax.set_title(f"{name}, {DTYPE} (lower is better)")
    ax.set_xlabel("elements")
    ax.set_ylabel("time per element (ns)")
    ax.xaxis.set_major_locator(ticker.FixedLocator(SIZES))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(size_label))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    plt.show()


plot("relu")

# %%
# The gradient: NumPy builds a boolean mask, then converts it.
plot("relu_grad")

# %%
# The backward pass reads two arrays and writes one.
plot("relu_backward")

# sphinx_gallery_thumbnail_number = 1
