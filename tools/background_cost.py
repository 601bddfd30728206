"""What compiling beside a caller costs it: a thread in its process, or another process.

A caller runs a NumPy loop (``np.maximum`` on 1e5 float32, over and over)
for a fixed time while relukit's kernels compile with an empty Numba
cache, in one of three ways:

- ``none``: nothing compiles (the baseline);
- ``thread``: relukit's background thread in the caller's process (the
  first ``relukit.gelu`` call starts it, and the loop calls relu on the
  side every 0.2 s, which requests more kernels);
- ``process``: ``python -m relukit warmup --dtype float32`` in another
  process, as a helper process would.

It prints the loop's throughput against the baseline and its longest
iteration. Each way runs in a fresh interpreter, ``--runs`` times in turn.

    python tools/background_cost.py --seconds 8 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

LOOP = """
import json, os, subprocess, sys, time
import numpy as np
way, seconds = sys.argv[1], float(sys.argv[2])
x = np.linspace(-1, 1, 100_000, dtype=np.float32)
out = np.empty_like(x)
helper = None
if way == "thread":
    import relukit
    relukit.gelu(x)
elif way == "process":
    helper = subprocess.Popen([sys.executable, "-m", "relukit", "warmup", "--dtype", "float32"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
start = last_side_call = time.perf_counter()
iterations, longest = 0, 0.0
while True:
    t = time.perf_counter()
    np.maximum(x, 0, out=out)
    took = time.perf_counter() - t
    longest = max(longest, took)
    iterations += 1
    if t - start > seconds:
        break
    if way == "thread" and t - last_side_call > 0.2:
        relukit.relu(x); relukit.relu_grad(x)
        last_side_call = time.perf_counter()
if helper is not None:
    helper.kill()
print(json.dumps({"rate": iterations / (time.perf_counter() - start), "longest": longest}))
"""


def run(way: str, seconds: float) -> dict:
    cache = tempfile.mkdtemp(prefix="relukit-cost-")
    try:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        env.pop("RELUKIT_BACKGROUND_COMPILE", None)
        result = subprocess.run(
            [sys.executable, "-c", LOOP, way, str(seconds)],
            env=env, capture_output=True, text=True, check=True, timeout=600,
        )
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ways = ("none", "thread", "process")
    results = {way: [] for way in ways}
    for _ in range(args.runs):
        for way in ways:
            results[way].append(run(way, args.seconds))
    base = statistics.median(r["rate"] for r in results["none"])
    print(f"NumPy loop beside compiling, {args.seconds:g} s each, {args.runs} runs, medians")
    for way in ways:
        rate = statistics.median(r["rate"] for r in results[way])
        longest = statistics.median(r["longest"] for r in results[way])
        print(f"  {way:<8} {rate / base:6.2f} of the baseline's throughput, "
              f"longest iteration {longest * 1e3:6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
