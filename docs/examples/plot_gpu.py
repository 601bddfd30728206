"""
ReLU on the GPU: the bytes each call moves
==========================================

What does relukit save on CuPy arrays over CuPy's own idioms? ReLU does
almost no arithmetic, so on arrays too large for the GPU's caches its time
is set by the bytes it reads and writes in device memory. Those bytes
follow from the code alone, so this example counts them, per element, for
relukit and for the common CuPy spellings of the same three functions.
GPU timings are not measured on these pages: :doc:`/user_guide/gpu` says
how to measure them on your card.
"""

# %%
# Is there a GPU here?
# --------------------
# :func:`relukit.show_config` reports whether CuPy sees a usable device.
# Nothing below needs one: the counts are the same on every card.
import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import MultipleLocator

import relukit as rk

gpu = rk.show_config(mode="dicts")["gpu"]
if gpu["available"]:
    seen = f"GPU: {gpu['name']}."
else:
    seen = f"No usable GPU where these pages were built: {gpu['reason']}."
print(textwrap.fill(seen, 70))
print(textwrap.fill("GPU timings: not measured in these pages.", 70))

# %%
# Count the passes
# ----------------
# Every CuPy operation that returns an array is one pass over memory: it
# reads its array inputs and writes its result. ``cupy.zeros_like(x)``
# writes a whole array of zeros; ``x > 0`` writes a boolean mask, one
# byte per element, that the next operation reads back. A Python scalar
# such as the ``0`` in ``cupy.maximum(x, 0)`` travels as a kernel
# argument and costs no memory traffic. relukit computes each function
# in one kernel: it reads its inputs once and writes the result once.
#
# Each pass below is (what it does, bytes read, bytes written) per
# element, for float32 inputs.
F = np.dtype(np.float32).itemsize
B = np.dtype(np.bool_).itemsize

PASSES = {
    "relu": {
        "relukit.relu(x)": [("relu", F, F)],
        "cupy.maximum(x, 0)": [("maximum", F, F)],
        "cupy.maximum(x, cupy.zeros_like(x))": [
            ("zeros_like", 0, F),
            ("maximum", 2 * F, F),
        ],
    },
    "relu_grad": {
        "relukit.relu_grad(x)": [("relu_grad", F, F)],
        "cupy.greater(x, 0).astype(x.dtype)": [
            ("greater", F, B),
            ("astype", B, F),
        ],
    },
    "relu_backward": {
        "relukit.relu_backward(dy, x)": [("relu_backward", 2 * F, F)],
        "cupy.where(x > 0, dy, 0)": [("x > 0", F, B), ("where", B + F, F)],
        "dy * (x > 0)": [("x > 0", F, B), ("multiply", B + F, F)],
    },
}

for function, implementations in PASSES.items():
    print(f"\n{function}, float32 (bytes per element)")
    for label, passes in implementations.items():
        moved = sum(read + written for _, read, written in passes)
        count = f"{len(passes)} pass{'es' if len(passes) > 1 else ''}"
        print(f"  {label:37s} {moved:3d} B  {count}")

# %%
# Draw them
# ---------
# One bar per implementation, one segment per pass, split into the bytes
# it reads (dark) and writes (light). relukit's bars are outlined.
rows = [
    (function, label, passes)
    for function, implementations in PASSES.items()
    for label, passes in implementations.items()
]
READ, WRITTEN = "C0", "#9ecae1"
fig, ax = plt.subplots(figsize=(7.0, 4.8), layout="constrained")
for y, (function, label, passes) in enumerate(rows):
    left = 0
    ours = label.startswith("relukit")
    for _, read, written in passes:
        for width, shade in ((read, READ), (written, WRITTEN)):
            if width:
                ax.barh(y, width, left=left, color=shade, edgecolor="white")
                left += width
    if ours:
        ax.barh(y, left, fill=False, edgecolor="k", lw=2)
    passes_text = f"{len(passes)} pass{'es' if len(passes) > 1 else ''}"
    ax.text(left + 0.3, y, f"{left} B, {passes_text}", va="center")
ax.set_yticks(range(len(rows)), [label for _, label, _ in rows])
ax.invert_yaxis()
ax.set_xlim(0, 23)
ax.set_xlabel("bytes moved per element, float32 (fewer is better)")
ax.set_title("Device-memory traffic per call (counted, not timed)")
ax.xaxis.set_major_locator(MultipleLocator(2))
ax.legend(
    handles=[
        Patch(color=READ, label="read"),
        Patch(color=WRITTEN, label="written"),
    ],
    loc="upper right",
)
# A line between the three functions.
for boundary in np.cumsum([len(v) for v in PASSES.values()])[:-1]:
    ax.axhline(boundary - 0.5, color="0.6", lw=0.8)
plt.show()

# %%
# What this does and does not tell
# --------------------------------
# For arrays much larger than the GPU's L2 cache, a pass runs at roughly
# the card's memory bandwidth, so the time of a call is close to its bytes
# divided by that bandwidth: the two-pass idioms should take up to twice
# as long as relukit (16 B against 8 B for ``relu``, 10 against 8 for the
# gradient, 14 against 12 for the backward pass), and
# ``cupy.maximum(x, 0)`` should take as long as relukit. PyTorch's
# ``torch.relu`` and its ``threshold_backward`` are single kernels too.
#
# Small arrays are another matter: there the cost of launching a kernel
# from Python dominates, which bytes do not show. Neither regime has been
# measured on a GPU for these pages, and no timing should be read into
# this figure. ``tools/gpu_check.py`` in the repository measures both on
# any CUDA card; :doc:`/user_guide/gpu` describes it.
