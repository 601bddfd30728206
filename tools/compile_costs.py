"""The first-use cost of each kind of compile unit, cold (compiled) and cached (loaded).

Each kind of call a process can make first needs its own compile unit:
Numba itself, the small-call kernel (one per dimensionality), the large
call's entry point, the in-place driver, the driver the buffered iterator
feeds (strided views). This times each first call, in that order, in a
fresh interpreter with background compiling off (so the call waits for its
unit), once with an empty Numba cache and once with the cache that run
filled, ``--runs`` times each in turn, and prints the medians.

    python tools/compile_costs.py --ops relu gelu --runs 3
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

FIRST_CALLS = """
import json, sys, time
import numpy as np
from relukit import _backends
import relukit
op = getattr(relukit, sys.argv[1])
times = {}
def first(label, f):
    t = time.perf_counter(); f(); times[label] = time.perf_counter() - t
small = np.linspace(-1, 1, 1000, dtype=np.float32)
big = np.linspace(-1, 1, 4_000_000, dtype=np.float32)
first("import Numba and relukit's backend", lambda: _backends.load("numba"))
first("small call, 1-D", lambda: op(small))
first("small call, 2-D (another dimensionality)", lambda: op(small.reshape(20, 50)))
first("large call (entry point, pool)", lambda: op(big))
first("large call, in place", lambda: op(big, out=big))
first("strided view (buffered iterator)", lambda: op(big[::2]))
print(json.dumps(times))
"""


def run(name: str, cache: str) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "RELUKIT_BACKGROUND_COMPILE": "0"}
    result = subprocess.run([sys.executable, "-c", FIRST_CALLS, name], env=env,
                            capture_output=True, text=True, check=True, timeout=900)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", nargs="+", default=["relu", "gelu"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for name in args.ops:
        cold, cached = [], []
        for _ in range(args.runs):
            cache = tempfile.mkdtemp(prefix="relukit-units-")
            try:
                cold.append(run(name, cache))
                cached.append(run(name, cache))
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        print(f"{name}, float32: first call of each kind, seconds, median of {args.runs}")
        print(f"  {'':44s}{'cold':>8s}{'cached':>8s}")
        for label in cold[0]:
            a = statistics.median(r[label] for r in cold)
            b = statistics.median(r[label] for r in cached)
            print(f"  {label:44s}{a:8.2f}{b:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
