"""
Training a small network with relu, gelu and silu
=================================================

Can relukit's forward and backward passes train a real model, and does the
choice of activation matter? This example builds a network with two hidden
layers from NumPy matrix products and relukit's activations and their
``_backward`` functions, checks its gradients against finite differences,
then trains it three times on the handwritten digits that ship with
scikit-learn (:func:`sklearn.datasets.load_digits`, no download), once
with each of :func:`~relukit.relu`, :func:`~relukit.gelu` and
:func:`~relukit.silu`, from the same initial weights and on the same
batches. It draws the training loss, the test accuracy and the time of
each epoch.
"""

# %%
# The data
# --------
# 1,797 images of 8 x 8 pixels (values 0 to 16) of the digits 0 to 9. A
# quarter is held out as the test set, in the same proportions of each
# digit; pixels are scaled to [0, 1].
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import relukit as rk

digits = load_digits()
X_train, X_test, y_train, y_test = train_test_split(
    (digits.data / 16.0).astype(np.float32),
    digits.target,
    test_size=0.25,
    stratify=digits.target,
    random_state=0,
)
print(f"{len(X_train)} training images, {len(X_test)} test images, "
      f"{X_train.shape[1]} pixels each")

# %%
# The network
# -----------
# ``64 pixels -> 64 units -> 64 units -> 10 logits`` with a softmax and the
# cross-entropy loss. The forward pass keeps each layer's input to the
# activation, ``z``, because the backward pass of a smooth activation
# needs it: ``activation_backward(dh, z)`` is ``dh * activation_grad(z)``
# in one pass.
SIZES = (64, 64, 64, 10)
ACTIVATIONS = ("relu", "gelu", "silu")


def init(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        # He initialisation: keeps the scale of the signal through
        # rectifier layers.
        scale = np.sqrt(2.0 / fan_in)
        params[f"W{layer}"] = (rng.standard_normal((fan_in, fan_out)) * scale).astype(dtype)
        params[f"b{layer}"] = np.zeros(fan_out, dtype=dtype)
    return params


def forward(params, X, activation):
    """The logits, the input of every linear layer and every ``z``."""
    f = getattr(rk, activation)
    hidden = len(SIZES) - 2
    inputs, pre_activations = [], []
    h = X
    for layer in range(hidden):
        inputs.append(h)
        z = h @ params[f"W{layer}"] + params[f"b{layer}"]
        pre_activations.append(z)
        h = f(z)
    inputs.append(h)
    logits = h @ params[f"W{hidden}"] + params[f"b{hidden}"]
    return logits, inputs, pre_activations


def loss_and_grads(params, X, labels, activation):
    backward = getattr(rk, f"{activation}_backward")
    logits, inputs, pre_activations = forward(params, X, activation)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(X))
    loss = -log_p[rows, labels].mean()
    # The gradient of the mean cross-entropy with respect to the logits.
    delta = np.exp(log_p)
    delta[rows, labels] -= 1.0
    delta /= len(X)
    grads = {}
    for layer in reversed(range(len(SIZES) - 1)):
        grads[f"W{layer}"] = inputs[layer].T @ delta
        grads[f"b{layer}"] = delta.sum(axis=0)
        if layer:
            dh = delta @ params[f"W{layer}"].T
            delta = backward(dh, pre_activations[layer - 1])
    return loss, grads


# %%
# Check the gradients
# -------------------
# Before training, the analytic gradient of a few weights is compared with
# central differences of the loss, in float64 on 100 images, for each
# activation. Agreement to many digits says the backward pass is right.
check_params = init(dtype=np.float64)
X_check, y_check = X_train[:100].astype(np.float64), y_train[:100]
eps = 1e-6
for activation in ACTIVATIONS:
    _, grads = loss_and_grads(check_params, X_check, y_check, activation)
    worst = 0.0
    for name, index in [("W0", (10, 3)), ("b0", (7,)), ("W1", (5, 9)), ("W2", (2, 4))]:
        saved = check_params[name][index]
        check_params[name][index] = saved + eps
        plus, _ = loss_and_grads(check_params, X_check, y_check, activation)
        check_params[name][index] = saved - eps
        minus, _ = loss_and_grads(check_params, X_check, y_check, activation)
        check_params[name][index] = saved
        numeric = (plus - minus) / (2 * eps)
        worst = max(worst, abs(numeric - grads[name][index]) / max(abs(numeric), 1e-12))
    print(f"{activation}: largest relative difference {worst:.1e}")

# %%
# Train
# -----
# Mini-batch gradient descent with momentum, 32 images a batch, for a fixed
# number of epochs. Each activation starts from the same weights and sees
# the same batches in the same order, so the curves differ only by the
# activation. Each function is called once before training, so that the
# first epoch does not include compiling relukit's kernels.
EPOCHS, BATCH, LEARNING_RATE, MOMENTUM = 20, 32, 0.05, 0.9


def accuracy(params, X, labels, activation):
    logits, _, _ = forward(params, X, activation)
    return np.mean(logits.argmax(axis=1) == labels)


def train(activation):
    params = init(seed=0)
    velocity = {name: np.zeros_like(value) for name, value in params.items()}
    order = np.random.default_rng(1)
    history = {"loss": [], "test accuracy": [], "seconds": []}
    for epoch in range(EPOCHS):
        start = time.perf_counter()
        permutation = order.permutation(len(X_train))
        losses = []
        for first in range(0, len(X_train), BATCH):
            batch = permutation[first:first + BATCH]
            loss, grads = loss_and_grads(params, X_train[batch], y_train[batch], activation)
            losses.append(loss)
            for name in params:
                velocity[name] = MOMENTUM * velocity[name] - LEARNING_RATE * grads[name]
                params[name] += velocity[name]
        history["seconds"].append(time.perf_counter() - start)
        history["loss"].append(float(np.mean(losses)))
        history["test accuracy"].append(accuracy(params, X_test, y_test, activation))
    return history


for activation in ACTIVATIONS:
    warm = np.ones((BATCH, 64), dtype=np.float32)
    getattr(rk, activation)(warm)
    getattr(rk, f"{activation}_backward")(warm, warm)

results = {activation: train(activation) for activation in ACTIVATIONS}
print(f"{'':6s}{'final loss':>12s}{'test accuracy':>15s}{'median ms/epoch':>17s}")
for activation, history in results.items():
    print(
        f"{activation:6s}{history['loss'][-1]:12.4f}"
        f"{history['test accuracy'][-1]:15.1%}"
        f"{np.median(history['seconds']) * 1e3:17.1f}"
    )

# %%
# Learning curves
# ---------------
# The mean training loss over each epoch's batches (log scale) and the
# accuracy on the held-out images after each epoch.
epochs = np.arange(1, EPOCHS + 1)
fig, (left, right) = plt.subplots(1, 2, figsize=(7.5, 3.6), layout="constrained")
for activation, history in results.items():
    left.semilogy(epochs, history["loss"], lw=2, label=activation)
    right.plot(epochs, np.array(history["test accuracy"]) * 100, lw=2, label=activation)
left.set_title("training loss")
left.set_ylabel("cross-entropy")
right.set_title("test accuracy")
right.set_ylabel("%")
for ax in (left, right):
    ax.set_xlabel("epoch")
    ax.grid(True, which="both", alpha=0.3)
right.legend()
plt.show()

# %%
# Time per epoch
# --------------
# Wall-clock time of each epoch on the machine that built this page: the
# matrix products, the loss and the updates as well as the activations.
# With matrices this small, Python's overhead per call is a large part of
# it, and other programs on the machine add noise.
fig, ax = plt.subplots(figsize=(7.5, 3.2), layout="constrained")
for activation, history in results.items():
    ax.plot(epochs, np.array(history["seconds"]) * 1e3, marker="o", ms=3, lw=1.5,
            label=activation)
ax.set_xlabel("epoch")
ax.set_ylabel("ms per epoch")
ax.set_ylim(bottom=0)
ax.grid(True, alpha=0.3)
ax.legend()
plt.show()

# sphinx_gallery_thumbnail_number = 1
