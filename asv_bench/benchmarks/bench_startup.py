"""What a user waits for before the first result: import, then the first call.

Each sample runs in a fresh interpreter (asv's ``timeraw_``), since both
costs are paid once per process.
"""

import subprocess
import sys

from ._common import FUNCTIONS, Prepared, operation


def timeraw_import_relukit():
    # Importing relukit must not import Numba, CuPy or Dask (see _backends).
    return "import relukit"


timeraw_import_relukit.repeat = (3, 10, 5.0)


_FIRST_CALL_SETUP = """
import atexit, os, shutil, tempfile
{cache}
import numpy as np
import relukit
arrays = [np.linspace(-1.0, 1.0, 1000) for _ in range({arity})]
"""

# An empty cache folder of its own: Numba compiles instead of loading.
_COLD_CACHE = """
cache = tempfile.mkdtemp(prefix="relukit-asv-")
atexit.register(shutil.rmtree, cache, True)
os.environ["NUMBA_CACHE_DIR"] = cache
"""


class TimerawFirstCall(Prepared):
    """The first ``relukit.<function>(x)`` of a process, float64, 1000 elements.

    ``cold``: nothing cached on disk, so Numba compiles the kernel (a new
    install, or a new dtype). ``cached``: compiled machine code is loaded
    from Numba's on-disk cache (every later session).
    """

    params = [FUNCTIONS, ["cold", "cached"]]
    param_names = ["function", "cache"]
    # One sample and no warm-up: a cold first call compiles for seconds,
    # and every extra sample compiles again.
    repeat = 1
    rounds = 1
    warmup_time = 0.0

    def prepare(self, function, cache):
        setup = _FIRST_CALL_SETUP.format(
            cache=_COLD_CACHE if cache == "cold" else "", arity=len(operation(function).inputs)
        )
        call = f"relukit.{function}(*arrays)"
        if cache == "cached":
            # Fill the default cache in a throwaway process first.
            subprocess.run([sys.executable, "-c", setup + call], check=True)
        self.code = (call, setup)

    def timeraw_first_call(self, function, cache):
        return self.code
