"""Root pytest configuration: skip doctest collection of modules whose
optional dependency is missing (their own tests skip with a reason)."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("cupy") is None:
    collect_ignore += ["src/relukit/_cupy.py", "src/relukit/_bench_gpu.py"]
if importlib.util.find_spec("dask") is None:
    collect_ignore += ["src/relukit/_dask.py"]
