"""The bench's start-up section: what a user waits for in a new process.

``python -m relukit bench --startup`` runs one short script in fresh
interpreters: written with NumPy, and with relukit with an empty Numba
cache (a new install, image or CI job) and with the cache filled, in turn,
and compares the medians. A second script measures how long after its
start a cold process computes relu on 1e6 float32 at its warm speed, and
the longest any call of it waited beyond the NumPy reference's time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

#: The first calls of a session, each made twice: small calls of the three
#: relu operations, a 2-D float64 one, large calls and a strided view.
SCRIPT = """
import time
start = time.perf_counter()
import numpy as np
{imports}
x = np.linspace(-1, 1, 1000, dtype=np.float32)
dy = np.ones_like(x)
m = np.linspace(-1, 1, 100).reshape(10, 10)
big = np.linspace(-1, 1, 10_000_000, dtype=np.float32)
for _ in range(2):
    {relu}(x); {relu_grad}(x); {relu_backward}(dy, x)
    {relu}(m)
    {relu}(big); {relu_grad}(big)
    {relu}(big[::2])
print(time.perf_counter() - start)
"""

NUMPY = {
    "imports": "",
    "relu": "(lambda a: np.maximum(a, 0))",
    "relu_grad": "(lambda a: (a > 0).astype(a.dtype))",
    "relu_backward": "(lambda d, a: np.where(a > 0, d, 0))",
}
RELUKIT = {
    "imports": "import relukit",
    "relu": "relukit.relu",
    "relu_grad": "relukit.relu_grad",
    "relu_backward": "relukit.relu_backward",
}

#: relu on 1e6 float32 in a loop from the start of a cold process.
WARM_SPEED = """
import time
start = time.perf_counter()
import json, numpy as np, relukit
x = np.linspace(-1, 1, 1_000_000, dtype=np.float32)
calls = []
while time.perf_counter() - start < {limit}:
    t = time.perf_counter(); relukit.relu(x); calls.append((t - start, time.perf_counter() - t))
relukit.wait_for_kernels()
relukit.relu(x)
relukit.wait_for_kernels()
def best(f, n=30):
    times = []
    for _ in range(n):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return float(np.median(times))
warm = best(lambda: relukit.relu(x))
reference = best(lambda: relukit.relu(x, backend="numpy"))
print(json.dumps({{"calls": calls, "warm": warm, "reference": reference}}))
"""


def _run(code: str, cache: str | None) -> str:
    env = dict(os.environ)
    env.pop("RELUKIT_BACKGROUND_COMPILE", None)  # what a user gets by default
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = cache
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        raise RuntimeError(f"the start-up script failed:\n{result.stderr[-2000:]}")
    return result.stdout.strip().splitlines()[-1]


def scripts(runs: int = 5) -> dict:
    """Seconds of each script, ``runs`` fresh processes each, in turn."""
    numpy_code = SCRIPT.format(**NUMPY)
    relukit_code = SCRIPT.format(**RELUKIT)
    times = {"numpy": [], "relukit, empty cache": [], "relukit, cache filled": []}
    _run(relukit_code, None)  # fill the default cache once
    for _ in range(runs):
        cold = tempfile.mkdtemp(prefix="relukit-startup-")
        try:
            times["relukit, empty cache"].append(float(_run(relukit_code, cold)))
        finally:
            shutil.rmtree(cold, ignore_errors=True)
        times["numpy"].append(float(_run(numpy_code, None)))
        times["relukit, cache filled"].append(float(_run(relukit_code, None)))
    return times


#: Seconds the loop runs: the target is warm speed within 15 s of the start.
WARM_SPEED_WINDOW = 15.0


def warm_speed(limit: float | None = None) -> dict:
    """When a cold process first computes relu on 1e6 float32 at its warm speed.

    The loop runs for ``limit`` seconds; the warm speed is the median of 30
    calls after ``wait_for_kernels``, and it is reached by the first call of
    the loop that takes at most 1.2 times as long.
    """
    limit = WARM_SPEED_WINDOW if limit is None else limit
    cold = tempfile.mkdtemp(prefix="relukit-startup-")
    try:
        result = json.loads(_run(WARM_SPEED.format(limit=limit), cold))
    finally:
        shutil.rmtree(cold, ignore_errors=True)
    warm, reference = result["warm"], result["reference"]
    reached = next((at for at, took in result["calls"] if took <= 1.2 * warm), None)
    return {
        "warm": warm,
        "reference": reference,
        "reached_warm_speed_after": reached,
        "longest_call": max(took for _, took in result["calls"]),
        "longest_wait_beyond_reference": max(took for _, took in result["calls"]) - reference,
        "calls": len(result["calls"]),
    }


def report(runs: int = 5) -> tuple[str, dict]:
    """The start-up section's text, and its measurements for ``--json``."""
    times = scripts(runs)
    speed = warm_speed()
    medians = {name: float(np.median(values)) for name, values in times.items()}
    lines = [
        "Start-up: a script of first calls (each twice: relu, relu_grad, relu_backward",
        "on 1e3 float32, relu on 10x10 float64, relu and relu_grad on 1e7 float32, relu",
        f"on a strided view), a fresh process each, {runs} runs in turn, medians:",
    ]
    for name, median in medians.items():
        extra = "" if name == "numpy" else f"  {median - medians['numpy']:+.2f} s over NumPy"
        spread = f"{min(times[name]):.2f} to {max(times[name]):.2f}"
        lines.append(f"  {name:<24}{median:6.2f} s ({spread}){extra}")
    reached = speed["reached_warm_speed_after"]
    lines += [
        f"relu on 1e6 float32 in a loop for {WARM_SPEED_WINDOW:g} s in a process with an "
        "empty cache:",
        f"  warm speed {speed['warm'] * 1e3:.2f} ms a call, NumPy reference "
        f"{speed['reference'] * 1e3:.2f} ms",
        "  reached warm speed "
        + (
            f"{reached:.2f} s after the start"
            if reached is not None
            else f"NOT within {WARM_SPEED_WINDOW:g} s"
        ),
        f"  longest call {speed['longest_call'] * 1e3:.1f} ms: "
        f"{speed['longest_wait_beyond_reference'] * 1e3:+.1f} ms beyond the reference's time",
    ]
    return "\n".join(lines), {"scripts": times, "medians": medians, "warm_speed": speed}


def main(runs: int, json_path: str | None = None) -> int:
    text, data = report(runs)
    print(text)
    if json_path:
        with open(json_path, "w") as handle:
            json.dump(data, handle, indent=1)
    return 0

