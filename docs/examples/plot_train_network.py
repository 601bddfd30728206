"""
Training a small neural network with relukit
============================================

Can relukit's forward and backward passes train a real model? This example
builds a two-layer network from NumPy matrix products and relukit's
:func:`~relukit.relu` and :func:`~relukit.relu_backward`, checks its
gradients against finite differences, trains it with plain gradient descent
on two interleaving half-moons, and draws the loss curve and the decision
boundary it learned.
"""

# %%
# Synthetic data
# --------------
# Two noisy half-moons, 400 points, made with NumPy alone.
import matplotlib.pyplot as plt
import numpy as np

import relukit as rk

rng = np.random.default_rng(1)
n = 200
angle = rng.uniform(0.0, np.pi, size=n)
upper = np.column_stack([np.cos(angle), np.sin(angle)])
lower = np.column_stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)])
X = np.vstack([upper, lower]) + rng.normal(scale=0.12, size=(2 * n, 2))
labels = np.concatenate([np.zeros(n), np.ones(n)])[:, None]


# %%
# The network
# -----------
# ``logit = relu(X W1 + b1) W2 + b2`` with a logistic loss. The backward
# pass hands relukit the forward *output* ``h``: for plain ReLU it marks the
# same elements as the input would, so ``z1`` need not be kept.
def init(hidden=32):
    return {
        "W1": rng.normal(scale=1.0, size=(2, hidden)),
        "b1": np.zeros(hidden),
        "W2": rng.normal(scale=1.0 / np.sqrt(hidden), size=(hidden, 1)),
        "b2": np.zeros(1),
    }


def forward(params, X):
    h = rk.relu(X @ params["W1"] + params["b1"])
    return h, h @ params["W2"] + params["b2"]


def loss_and_grads(params, X, t):
    h, logit = forward(params, X)
    p = 1.0 / (1.0 + np.exp(-logit))
    # logaddexp keeps the loss finite when a prediction saturates.
    loss = np.mean(np.logaddexp(0.0, logit) - t * logit)
    dlogit = (p - t) / len(X)
    dh = dlogit @ params["W2"].T
    dz1 = rk.relu_backward(dh, h)
    grads = {
        "W2": h.T @ dlogit,
        "b2": dlogit.sum(axis=0),
        "W1": X.T @ dz1,
        "b1": dz1.sum(axis=0),
    }
    return loss, grads


# %%
# Check the gradients
# -------------------
# Central differences on a few weights agree with the analytic gradient to
# many digits, so the backward pass is right before any training starts.
params = init()
_, grads = loss_and_grads(params, X, labels)
eps = 1e-6
for name, index in [
    ("W1", (0, 3)),
    ("W1", (1, 7)),
    ("b1", (5,)),
    ("W2", (2, 0)),
]:
    saved = params[name][index]
    params[name][index] = saved + eps
    plus, _ = loss_and_grads(params, X, labels)
    params[name][index] = saved - eps
    minus, _ = loss_and_grads(params, X, labels)
    params[name][index] = saved
    numeric = (plus - minus) / (2 * eps)
    print(
        f"{name}{list(index)}: analytic {grads[name][index]:+.8f}, "
        f"numeric {numeric:+.8f}"
    )

# %%
# Train
# -----
# Full-batch gradient descent with a fixed step.
steps, learning_rate = 3000, 0.5
history = []
for step in range(steps):
    loss, grads = loss_and_grads(params, X, labels)
    history.append(loss)
    for name in params:
        params[name] -= learning_rate * grads[name]
_, logit = forward(params, X)
accuracy = np.mean((logit > 0) == (labels > 0.5))
print(f"final loss {history[-1]:.4f}, training accuracy {accuracy:.1%}")

# %%
# The loss curve
# --------------
fig, ax = plt.subplots(figsize=(7.5, 3.6), layout="constrained")
ax.semilogy(history, lw=2)
ax.set_xlabel("gradient descent step")
ax.set_ylabel("logistic loss")
ax.set_title("Training loss")
ax.grid(True, which="both", alpha=0.3)
plt.show()

# %%
# The decision boundary
# ---------------------
# The boundary is the zero level of the logit, evaluated on a grid with the
# same relukit forward pass.
gx, gy = np.meshgrid(np.linspace(-1.6, 2.6, 300), np.linspace(-1.2, 1.7, 240))
_, grid_logit = forward(params, np.column_stack([gx.ravel(), gy.ravel()]))
grid_p = 1.0 / (1.0 + np.exp(-grid_logit.reshape(gx.shape)))

fig, ax = plt.subplots(figsize=(6.4, 4.6), layout="constrained")
ax.contourf(gx, gy, grid_p, levels=20, cmap="RdBu_r", alpha=0.6)
ax.contour(gx, gy, grid_p, levels=[0.5], colors="k", linewidths=2)
ax.scatter(
    X[:, 0], X[:, 1], c=labels.ravel(), cmap="RdBu_r", edgecolors="k", s=18
)
ax.set_title(f"Decision boundary (training accuracy {accuracy:.1%})")
ax.set_aspect("equal")
plt.show()

# sphinx_gallery_thumbnail_number = 2
