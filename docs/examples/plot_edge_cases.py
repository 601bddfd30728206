"""
Edge cases: NaN, infinities, -0.0 and the gradient at the kink
==============================================================

Do different ReLU implementations agree on the awkward inputs? This example
feeds NaN, both infinities, both zeros and the kink itself to relukit, to
the NumPy idioms, to the seed's Numba function and to the shortcut
``x * (x > 0)``, and also to PyTorch and JAX when they are installed where
the docs are built. Cells that differ from relukit are highlighted.
:doc:`/user_guide/semantics` explains the conventions behind the table.
"""

# %%
# The inputs and the implementations
# ----------------------------------
# Every implementation gets the same float64 array. Optional libraries are
# used only if they can be imported here.
import math

import matplotlib.pyplot as plt
import numpy as np

import relukit as rk
from relukit._peers import seed_peers

x = np.array([np.nan, -np.inf, -1.0, -0.0, 0.0, 1.0, np.inf])
dy = np.full_like(x, np.inf)  # an infinite upstream gradient everywhere

forward = {
    "relukit": rk.relu,
    "np.maximum(x, 0)": lambda a: np.maximum(a, 0),
    "x * (x > 0)": lambda a: a * (a > 0),  # inf * 0 below: NaN, as intended
    **seed_peers("relu"),
}
gradient = {
    "relukit": rk.relu_grad,
    "np.greater(x, 0)": lambda a: np.greater(a, 0).astype(a.dtype),
}
backward = {
    "relukit": rk.relu_backward,
    "dy * (x > 0)": lambda d, a: d * (a > 0),
}

try:
    import torch
except ImportError:
    torch = None
if torch is not None:

    def torch_grad(a):
        t = torch.tensor(a, requires_grad=True)
        torch.relu(t).sum().backward()
        return t.grad.numpy()

    forward["torch.relu"] = lambda a: torch.relu(torch.from_numpy(a)).numpy()
    gradient["torch autograd"] = torch_grad
    backward["torch threshold_backward"] = (
        lambda d, a: torch.ops.aten.threshold_backward(
            torch.from_numpy(d), torch.from_numpy(a), 0
        ).numpy()
    )

try:
    import jax
except ImportError:
    jax = None
if jax is not None:
    # Without x64, JAX would silently compute these float64 inputs in float32.
    jax.config.update("jax_enable_x64", True)
    forward["jax.nn.relu"] = lambda a: np.asarray(jax.nn.relu(a))
    gradient["jax.grad"] = lambda a: np.asarray(
        jax.vmap(jax.grad(jax.nn.relu))(a)
    )
    backward["jax.vjp"] = lambda d, a: np.asarray(
        jax.vjp(jax.nn.relu, a)[1](d)[0]
    )

print("torch:", torch.__version__ if torch else "not installed")
print("jax:", jax.__version__ if jax else "not installed")


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


# The products make NaN from inf * 0 on purpose: silence NumPy's warning.
with np.errstate(invalid="ignore"):
    sections = [
        ("relu(x)", {k: f(x.copy()) for k, f in forward.items()}),
        ("relu_grad(x)", {k: f(x.copy()) for k, f in gradient.items()}),
        (
            "backward, dy = inf",
            {k: f(dy.copy(), x.copy()) for k, f in backward.items()},
        ),
    ]
rows, labels, groups = [], [], []
for title, results in sections:
    for label, values in results.items():
        rows.append([show(v) for v in values])
        labels.append(label)
        groups.append(title)
for group, label, row in zip(groups, labels, rows):
    print(f"{group:20s}{label:26s}" + " ".join(f"{c:>5s}" for c in row))

# %%
# Draw the table
# --------------
# Within each section the first row is relukit; a cell is orange where an
# implementation disagrees with it (including the sign of a zero).
header = [show(v) for v in x]
reference = {}
colours = []
for group, row in zip(groups, rows):
    reference.setdefault(group, row)
    colours.append(
        [
            "#f6b26b" if cell != ref else "white"
            for cell, ref in zip(row, reference[group])
        ]
    )

fig, ax = plt.subplots(figsize=(11, 0.3 * len(rows) + 0.9))
ax.axis("off")
table = ax.table(
    cellText=rows,
    cellColours=colours,
    rowLabels=[f"{g}: {l}" for g, l in zip(groups, labels)],
    colLabels=[f"x = {h}" for h in header],
    cellLoc="center",
    # Leave the left third of the axes to the row labels.
    bbox=[0.36, 0.0, 0.64, 1.0],
)
table.auto_set_font_size(False)
table.set_fontsize(9)
ax.set_title(
    "Same inputs, different answers (orange: differs from relukit)", loc="left"
)
fig.tight_layout()
plt.show()
