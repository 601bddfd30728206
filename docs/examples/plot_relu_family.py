"""
ReLU, its derivative and the Keras family
=========================================

What do ``negative_slope``, ``max_value`` and ``threshold`` do to the
function and to its gradient? This example evaluates
:func:`relukit.relu` and :func:`relukit.relu_grad` for each named
parameter set relukit is tested with (plain, leaky, ReLU6, thresholded and
all three at once) and draws them side by side, the function above and its
derivative below.
"""

# %%
# Evaluate every parameter set on one grid
# ----------------------------------------
# The parameter sets come from relukit's registry, the same table that
# drives its tests and benchmarks.
import matplotlib.pyplot as plt
import numpy as np

import relukit as rk
from relukit._registry import PARAMETER_SETS

x = np.linspace(-4.0, 8.0, 2401)
curves = {
    name: (rk.relu(x, **params), rk.relu_grad(x, **params))
    for name, params in PARAMETER_SETS.items()
}
for name, params in PARAMETER_SETS.items():
    print(f"{name:12s} {params}")

# %%
# Plot the function and its gradient
# ----------------------------------
# The gradient is piecewise constant; a vertical jump marks each kink. At a
# kink relukit takes the value of the piece outside the linear one (0 at
# ``x == 0`` for plain ReLU, ``negative_slope`` at ``x == threshold``, 0 at
# ``x == max_value``).
fig, axes = plt.subplots(
    2, len(curves), figsize=(2.6 * len(curves), 6.0), sharex=True
)
for column, (name, (y, g)) in enumerate(curves.items()):
    top, bottom = axes[0, column], axes[1, column]
    top.plot(x, y, color="C0")
    bottom.plot(x, g, color="C3", drawstyle="steps-post")
    args = (
        "\n".join(f"{k}={v}" for k, v in PARAMETER_SETS[name].items())
        or "defaults"
    )
    top.set_title(f"{name}\n{args}", fontsize=9)
    for ax in (top, bottom):
        ax.axhline(0, color="0.8", lw=0.8, zorder=0)
        ax.axvline(0, color="0.8", lw=0.8, zorder=0)
    bottom.set_ylim(-0.15, 1.15)
    bottom.set_xlabel("x")
axes[0, 0].set_ylabel("relu(x)")
axes[1, 0].set_ylabel("relu_grad(x)")
fig.tight_layout()
plt.show()

# %%
# The gradient at the kinks
# -------------------------
# Evaluating exactly at the kinks shows which side's value is taken.
kinks = np.array([-0.5, 0.0, 0.5, 6.0])
for name, params in PARAMETER_SETS.items():
    print(f"{name:12s} x={kinks} grad={rk.relu_grad(kinks, **params)}")
