"""
How fast is relukit here?
=========================

How long do :func:`relukit.relu`, :func:`relukit.relu_grad` and
:func:`relukit.relu_backward` take on this machine compared with the NumPy
one-liners and the seed's Numba function, from a thousand to ten million
elements? This example times them all in one process and draws the
memory-bandwidth floor: the time the bytes each function must read and
write take at the read bandwidth measured on the same machine. For the
full comparison (more sizes, dtypes, PyTorch) run ``python -m relukit
bench``.
"""

# %%
# The machine
# -----------
# Timings describe the machine that built these pages, printed here.
import os
import time

import matplotlib.pyplot as plt
import numba
import numpy as np

import relukit as rk
from relukit._bench import machine_description
from relukit._peers import all_peers
from relukit._registry import BENCH_SIZES, FUNCTIONS

DTYPE = np.dtype(np.float32)
machine = machine_description()
print(
    f"{machine['cpu']}, {machine['cores']} cores, "
    f"numba threads: {machine['numba_threads']}, numpy {machine['numpy']}, "
    f"relukit {rk.__version__}, {machine['date']}"
)
# Other programs share the cores: the load average says how much.
print("load average (1, 5, 15 min): %.1f %.1f %.1f" % os.getloadavg())


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
        loops[label] = max(
            1, int(min_sample / max(time.perf_counter() - start, 1e-9))
        )
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(samples):
        for label, call in calls.items():
            start = time.perf_counter()
            for _ in range(loops[label]):
                call()
            best[label] = min(
                best[label], (time.perf_counter() - start) / loops[label]
            )
    return best


# %%
# The memory-bandwidth floor
# --------------------------
# No elementwise function can beat the time its bytes take to move. Reading
# a large array on every thread (a parallel sum, which writes nothing)
# measures how fast this machine streams memory. The floor of a function
# is then ``traffic * itemsize / bandwidth`` per element, with ``traffic``
# from relukit's registry: 2 itemsizes per element for ``relu`` and
# ``relu_grad`` (read ``x``, write the result), 3 for ``relu_backward``.
# fastmath lets Numba reorder the additions into vector lanes; without it the
# sum is bound by the latency of one add after another, not by memory.
@numba.njit(parallel=True, fastmath=True, cache=False)
def parallel_sum(a):
    total = 0.0
    for i in numba.prange(a.size):
        total += a[i]
    return total


big = np.ones(2**25, dtype=DTYPE)  # 128 MiB, far beyond any cache
read_bandwidth = (
    big.nbytes / best_times({"sum": lambda: parallel_sum(big)})["sum"]
)
del big
print(f"read bandwidth: {read_bandwidth / 1e9:.1f} GB/s")

# %%
# Time everything
# ---------------
# In-place peers are left out: they change their input, and the allocation
# example covers them.
rng = np.random.default_rng(0)
results = {}
for spec in FUNCTIONS:
    implementations = {"relukit": spec.func}
    implementations.update(
        (label, peer)
        for label, peer in all_peers(spec.name).items()
        if "in place" not in label
    )
    for size in BENCH_SIZES:
        inputs = [
            rng.standard_normal(size, dtype=DTYPE) for _ in range(spec.arity)
        ]
        calls = {
            label: (lambda f=func: f(*inputs))
            for label, func in implementations.items()
        }
        for label, seconds in best_times(calls).items():
            results.setdefault(spec.name, {}).setdefault(label, []).append(
                seconds / size
            )
    floor = spec.traffic * DTYPE.itemsize / read_bandwidth
    results[spec.name]["floor"] = floor
    largest = {
        label: per[-1] * 1e9
        for label, per in results[spec.name].items()
        if label != "floor"
    }
    print(
        f"{spec.name} at n={BENCH_SIZES[-1]:.0e} (ns/element): "
        + ", ".join(f"{k} {v:.2f}" for k, v in largest.items())
        + f"; floor {floor * 1e9:.2f}"
    )

# %%
# Plot time per element against size
# ----------------------------------
# Small arrays are dominated by the fixed cost of a call; large ones by
# memory traffic, where the curves meet the floor (dashed). Lower is better.
# From 256 KiB of output relukit runs on Numba's thread pool: when other
# programs keep the cores busy (see the load average above), those calls
# wait for a core, and the sizes in between caches and memory can suffer.
fig, axes = plt.subplots(1, len(FUNCTIONS), figsize=(12, 5), sharey=True)
for ax, spec in zip(axes, FUNCTIONS):
    for label, per_element in results[spec.name].items():
        if label == "floor":
            continue
        style = {"lw": 2.5, "color": "k"} if label == "relukit" else {}
        ax.loglog(
            BENCH_SIZES,
            np.array(per_element) * 1e9,
            marker="o",
            label=label,
            **style,
        )
    ax.axhline(
        results[spec.name]["floor"] * 1e9,
        ls="--",
        color="C3",
        label="memory-bandwidth floor",
    )
    ax.set_title(f"{spec.name} ({DTYPE})")
    ax.set_xlabel("elements")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
axes[0].set_ylabel("time per element (ns)")
fig.tight_layout()
plt.show()
