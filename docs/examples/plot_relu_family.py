"""
The ReLU family and its derivatives
===================================

What do relukit's activations look like, and their derivatives? This
example evaluates each public function on a grid: first
:func:`relukit.relu` and :func:`relukit.relu_grad` with the defaults and
with the Keras parameters (``negative_slope``, ``max_value``,
``threshold``), then the smooth rectifiers (:func:`~relukit.elu`,
:func:`~relukit.selu`, :func:`~relukit.celu`, :func:`~relukit.gelu`,
:func:`~relukit.silu`, :func:`~relukit.mish`, :func:`~relukit.softplus`,
:func:`~relukit.hardswish` and :func:`~relukit.squared_relu`), each drawn
with its ``_grad`` and the limits relukit returns at the infinities. It
ends by checking every derivative against finite differences of the
function and every ``_backward`` against ``dy * _grad(x)``.
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

# %%
# The smooth rectifiers
# ---------------------
# Each panel draws one activation (blue), its derivative from the matching
# ``_grad`` function (red, dashed) and plain ReLU (grey) for comparison.
# The dotted lines are the limits, read by calling relukit at ``-inf`` and
# ``+inf`` (it returns the limit there, not NaN): the value the function
# tends to on the left, where it is not 0, and the slope it tends to on the
# right. A dot marks the minimum of the functions that dip below zero.
smooth = {
    "elu": {},
    "selu": {},
    "celu": {"alpha": 2.0},
    "gelu": {},
    "silu": {},
    "mish": {},
    "softplus": {},
    "hardswish": {},
    "squared_relu": {},
}


def functions(name):
    """The public function, its derivative and its backward pass."""
    return getattr(rk, name), getattr(rk, f"{name}_grad"), getattr(rk, f"{name}_backward")


x = np.linspace(-5.0, 4.0, 1801)
infinities = np.array([-np.inf, np.inf])
family = {}
for name, params in smooth.items():
    f, grad, _ = functions(name)
    family[name] = {
        "y": f(x, **params),
        "g": grad(x, **params),
        "at_inf": f(infinities, **params),
        "grad_at_inf": grad(infinities, **params),
    }

print(f"{'':22s}{'f(-inf)':>10s}{'f(+inf)':>10s}{'grad(-inf)':>12s}{'grad(+inf)':>12s}")
for name, params in smooth.items():
    label = name + "".join(f", {k}={v}" for k, v in params.items())
    (low, high), (g_low, g_high) = family[name]["at_inf"], family[name]["grad_at_inf"]
    print(f"{label:22s}{low:10.4f}{high:10.4g}{g_low:12.4g}{g_high:12.4g}")


def minimum(name):
    """Where the derivative changes sign from - to +, on the grid."""
    g = family[name]["g"]
    turns = np.flatnonzero((g[:-1] < 0) & (g[1:] >= 0))
    return turns[0] if turns.size else None


fig, axes = plt.subplots(
    3, 3, figsize=(7.5, 7.8), sharex=True, sharey=True, layout="constrained"
)
for ax, (name, params) in zip(axes.flat, smooth.items()):
    curve = family[name]
    ax.axhline(0, color="0.85", lw=0.8, zorder=0)
    ax.axvline(0, color="0.85", lw=0.8, zorder=0)
    ax.plot(x, rk.relu(x), color="0.6", lw=1, label="relu")
    ax.plot(x, curve["y"], color="C0", lw=2, label="f(x)")
    ax.plot(x, curve["g"], color="C3", lw=1.8, ls="--", label="f_grad(x)")
    left = curve["at_inf"][0]
    if np.isfinite(left) and left != 0:
        ax.axhline(left, color="C0", lw=1, ls=":")
        ax.annotate(f"f(-∞) = {left:.3g}", (x[0], left), xytext=(2, -9),
                    textcoords="offset points", fontsize=7, color="C0")
    slope = curve["grad_at_inf"][1]
    if np.isfinite(slope):
        ax.axhline(slope, color="C3", lw=1, ls=":")
        ax.annotate(f"f'(+∞) = {slope:.3g}", (x[-1], slope), xytext=(-2, -9),
                    textcoords="offset points", fontsize=7, color="C3", ha="right")
    turn = minimum(name)
    if turn is not None:
        ax.plot(x[turn], curve["y"][turn], "o", color="C0", ms=4)
    arguments = ", ".join(f"{k}={v}" for k, v in params.items())
    ax.set_title(f"{name}({arguments})" if arguments else name, fontsize=10)
    ax.grid(True, alpha=0.25)
axes[0, 0].set_ylim(-2.6, 4.2)
axes[0, 0].legend(loc="upper left", fontsize=7)
for ax in axes[-1]:
    ax.set_xlabel("x")
plt.show()

# %%
# Below zero, up close
# --------------------
# GELU, SiLU and Mish are not monotonic: they dip below zero before rising,
# and their derivative is negative there. GELU's tanh approximation
# (``approximate="tanh"``) lies on top of the exact curve at this scale; the
# numbers below say by how much they differ.
close = np.linspace(-4.0, 1.0, 1001)
dips = {
    "gelu": ("gelu", {}),
    'gelu, approximate="tanh"': ("gelu", {"approximate": "tanh"}),
    "silu": ("silu", {}),
    "mish": ("mish", {}),
}
fig, (left, right) = plt.subplots(1, 2, figsize=(7.5, 3.4), layout="constrained")
for (label, (name, params)), style in zip(dips.items(), ["-", "--", "-", "-"]):
    f, grad, _ = functions(name)
    y, g = f(close, **params), grad(close, **params)
    left.plot(close, y, ls=style, lw=1.8, label=label)
    right.plot(close, g, ls=style, lw=1.8, label=label)
    lowest = np.argmin(y)
    print(f"{label:26s} minimum {y[lowest]:+.4f} at x = {close[lowest]:+.3f}")
for ax, title in ((left, "f(x)"), (right, "f_grad(x)")):
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.set_xlabel("x")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
left.set_ylim(-0.45, 1.0)
right.legend(fontsize=8)
plt.show()

exact = rk.gelu(close), rk.gelu_grad(close)
tanh = rk.gelu(close, approximate="tanh"), rk.gelu_grad(close, approximate="tanh")
print(
    "largest |tanh approximation - exact| on [-4, 1]: "
    f"gelu {np.max(np.abs(tanh[0] - exact[0])):.1e}, "
    f"gelu_grad {np.max(np.abs(tanh[1] - exact[1])):.1e}"
)

# %%
# Checking the derivatives
# ------------------------
# Each ``_grad`` against the central difference of its function, in
# float64, on points that keep a step away from the kinks (0 and +-3); and
# each ``_backward(dy, x)`` against ``dy * _grad(x)`` for a random ``dy``.
# Central differences with a step of 1e-6 are good to about 1e-9 here, so
# agreement to that level says the formulas match.
rng = np.random.default_rng(0)
points = np.linspace(-5.0, 4.0, 901) + 0.0005
step = 1e-6
dy = rng.standard_normal(points.size)
print(f"{'':22s}{'|grad - difference|':>22s}{'|backward - dy*grad|':>22s}")
for name, params in smooth.items():
    f, grad, backward = functions(name)
    difference = (f(points + step, **params) - f(points - step, **params)) / (2 * step)
    g = grad(points, **params)
    label = name + "".join(f", {k}={v}" for k, v in params.items())
    print(
        f"{label:22s}{np.max(np.abs(g - difference)):22.1e}"
        f"{np.max(np.abs(backward(dy, points, **params) - dy * g)):22.1e}"
    )

# sphinx_gallery_thumbnail_number = 4
