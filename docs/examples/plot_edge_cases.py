"""
Edge cases: NaN, infinities, -0.0 and the gradient at the kink
==============================================================

What does relukit return for the awkward inputs, and do the NumPy
one-liners people write instead agree? This example feeds NaN, both
infinities, both zeros and the kink itself to :func:`relukit.relu`,
:func:`relukit.relu_grad` and :func:`relukit.relu_backward`, and to
``np.maximum``, ``np.greater``, ``np.where`` and the shortcut
``x * (x > 0)``. Cells that differ from relukit are highlighted.
:doc:`/user_guide/semantics` explains the conventions, and its table of
:ref:`deliberate differences <framework-differences>` lists where PyTorch,
JAX and Keras answer differently, as checked by running them in the test
suite.
"""

# %%
# The inputs and the implementations
# -----------------------------------
# Every implementation gets the same float64 array. The backward pass gets
# an infinite upstream gradient ``dy`` everywhere, which shows whether it
# multiplies (``inf * 0`` is NaN) or selects.
import math

import matplotlib.pyplot as plt
import numpy as np

import relukit as rk

x = np.array([np.nan, -np.inf, -1.0, -0.0, 0.0, 1.0, np.inf])
dy = np.full_like(x, np.inf)

# section -> {label: result}; the first row of each section is relukit.
# The products make NaN from inf * 0 on purpose: silence NumPy's warning.
with np.errstate(invalid="ignore"):
    sections = {
        "relu": {
            "rk.relu(x)": rk.relu(x),
            "np.maximum(x, 0)": np.maximum(x, 0),
            "x * (x > 0)": x * (x > 0),
        },
        "gradient": {
            "rk.relu_grad(x)": rk.relu_grad(x),
            "np.greater(x, 0)": np.greater(x, 0).astype(x.dtype),
        },
        "backward": {
            "rk.relu_backward(dy, x)": rk.relu_backward(dy, x),
            "np.where(x > 0, dy, 0)": np.where(x > 0, dy, 0.0),
            "dy * (x > 0)": dy * (x > 0),
        },
    }


# %%
# Compute every cell
# ------------------
# Zeros are printed with their sign, because ``-0.0 == 0.0`` hides it.
def show(value):
    value = float(value)
    if math.isnan(value):
        return "nan"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    return f"{value:g}"


header = [show(v) for v in x]
print(f"{'x':>24s}" + "".join(f"{h:>6s}" for h in header))
for results in sections.values():
    for label, values in results.items():
        print(f"{label:>24s}" + "".join(f"{show(v):>6s}" for v in values))

# %%
# Draw the table
# --------------
# Within each section the first row is relukit; a cell is orange where an
# implementation disagrees with it, including the sign of a zero.
rows, labels, colours = [], [], []
for results in sections.values():
    reference = None
    for label, values in results.items():
        row = [show(v) for v in values]
        reference = reference or row
        rows.append(row)
        labels.append(label)
        colours.append(
            ["#f6b26b" if c != r else "white" for c, r in zip(row, reference)]
        )

fig, ax = plt.subplots(figsize=(6.0, 0.36 * len(rows) + 0.8))
ax.axis("off")
table = ax.table(
    cellText=rows,
    cellColours=colours,
    rowLabels=labels,
    colLabels=header,
    cellLoc="center",
    # Leave the left part of the axes to the row labels.
    bbox=[0.36, 0.0, 0.64, 1.0],
)
table.auto_set_font_size(False)
table.set_fontsize(10.5)
ax.set_title("orange: differs from relukit", loc="right", fontsize=11)
ax.text(0.36, 1.0, "x =", ha="right", va="bottom", fontsize=11,
        transform=ax.transAxes)
fig.tight_layout()
plt.show()

# %%
# What the table shows
# --------------------
# relukit and ``np.maximum`` keep NaN as NaN and send ``-inf`` to 0;
# ``x * (x > 0)`` makes NaN of ``-inf`` (``-inf * 0``). relukit passes
# ``-0.0`` through where ``np.maximum`` returns ``+0.0``: they compare
# equal, and the sign of a zero result is not part of relukit's contract.
# The gradient at the kink ``x == 0`` is 0, as NumPy's comparison gives,
# and so is the gradient at NaN. The backward pass is a select, not a
# product: where the gradient is 0 the result is exactly 0, even where
# ``dy`` is infinite, which ``dy * (x > 0)`` gets wrong.
#
# The same inputs in PyTorch, JAX and Keras are not computed here, because
# those libraries are not installed where these pages are usually built.
# The test suite runs them on every float16 value and on dense float32 and
# float64 samples; relukit must agree with them bit for bit except where a
# recorded, deliberate difference says otherwise, and the semantics page
# renders those records: :ref:`framework-differences`.
