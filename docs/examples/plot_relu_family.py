"""
ReLU, its derivative and the Keras family
=========================================

What do ``negative_slope``, ``max_value`` and ``threshold`` do to the
function and to its gradient? This example evaluates
:func:`relukit.relu` and :func:`relukit.relu_grad` on a grid, first with
the defaults, then for the common variants (leaky ReLU, ReLU6, thresholded
ReLU, all three parameters at once, and a threshold above ``max_value``),
and draws each function above its derivative.
"""

# %%
# Plain ReLU and its gradient
# ---------------------------
# ``relu(x) = max(x, 0)``; its gradient is 1 where ``x > 0`` and 0
# elsewhere, including the kink ``x == 0`` itself.
import matplotlib.pyplot as plt
import numpy as np

import relukit as rk

x = np.linspace(-3.0, 3.0, 1201)
fig, ax = plt.subplots(figsize=(4.8, 3.4), layout="constrained")
ax.plot(x, rk.relu(x), lw=3, color="C0", label="relu(x)")
ax.plot(
    x, rk.relu_grad(x), lw=3, ls="--", color="C3", drawstyle="steps-post",
    label="relu_grad(x)",
)
ax.axhline(0, color="0.8", lw=0.8, zorder=0)
ax.axvline(0, color="0.8", lw=0.8, zorder=0)
ax.set_xlabel("x")
ax.set_title("ReLU and its gradient")
ax.legend(loc="upper left")
plt.show()

# %%
# The variants, one grid each
# ---------------------------
# Each parameter set is the keyword arguments of one call. A threshold
# above ``max_value`` is legal: as in Keras, the inputs between the two
# then take the negative piece.
variants = {
    "leaky": {"negative_slope": 0.1},
    "ReLU6": {"max_value": 6.0},
    "thresholded": {"threshold": 0.5},
    "all three": {"negative_slope": 0.2, "max_value": 6.0, "threshold": -0.5},
    "threshold > max": {
        "negative_slope": 0.1, "max_value": 6.0, "threshold": 7.0,
    },
}
x = np.linspace(-4.0, 9.0, 2601)
curves = {
    name: (rk.relu(x, **params), rk.relu_grad(x, **params))
    for name, params in variants.items()
}
for name, params in variants.items():
    print(f"{name:16s}", ", ".join(f"{k}={v}" for k, v in params.items()))


# %%
# Plot the functions and their gradients
# --------------------------------------
# The gradient is piecewise constant; a vertical jump marks each kink. At a
# kink relukit takes the value of the piece outside the linear one
# (``negative_slope`` at ``x == threshold``, 0 at ``x == max_value``).
def draw(names):
    fig, axes = plt.subplots(
        2, len(names), figsize=(7.5, 5.0), sharex=True, sharey="row",
        layout="constrained",
    )
    for column, name in enumerate(names):
        y, g = curves[name]
        top, bottom = axes[:, column]
        top.plot(x, y, color="C0", lw=2)
        bottom.plot(x, g, color="C3", lw=2, drawstyle="steps-post")
        arguments = "\n".join(f"{k}={v}" for k, v in variants[name].items())
        top.set_title(f"{name}\n{arguments}", fontsize=9)
        for ax in (top, bottom):
            ax.axhline(0, color="0.8", lw=0.8, zorder=0)
            ax.axvline(0, color="0.8", lw=0.8, zorder=0)
        bottom.set_ylim(-0.15, 1.15)
        bottom.set_xlabel("x")
    axes[0, 0].set_ylabel("relu(x)")
    axes[1, 0].set_ylabel("relu_grad(x)")
    plt.show()


draw(["leaky", "ReLU6", "thresholded"])

# %%
# The last two combine the parameters.
draw(["all three", "threshold > max"])

# %%
# The gradient at the kinks
# -------------------------
# Evaluating exactly at the kinks shows which side's value is taken.
kinks = np.array([-0.5, 0.0, 0.5, 6.0, 7.0])
print(f"x = {kinks}")
for name, params in variants.items():
    print(f"{name:16s} grad = {rk.relu_grad(kinks, **params)}")

# sphinx_gallery_thumbnail_number = 1
