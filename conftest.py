"""Root pytest configuration: skip doctest collection of modules whose
optional dependency is missing (their own tests skip with a reason)."""

import importlib.util
import os

# Before relukit's Numba backend loads (the doctests import it too): the
# tests' array sizes follow the default pool threshold, not what
# `python -m relukit calibrate` measured on this machine (a larger
# threshold made some Dask tests allocate gigabytes).
os.environ["RELUKIT_CALIBRATION"] = "off"

collect_ignore = []
if importlib.util.find_spec("cupy") is None:
    collect_ignore += ["src/relukit/_cupy.py", "src/relukit/_bench_gpu.py"]
if importlib.util.find_spec("dask") is None:
    collect_ignore += ["src/relukit/_dask.py"]
