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
{background}
import numpy as np
import relukit
arrays = [np.linspace(-1.0, 1.0, 1000) for _ in range({arity})]
{channel}
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
            cache=_COLD_CACHE if cache == "cold" else "",
            # The compiled kernel's first call, as this suite always timed
            # it, not the NumPy reference that answers meanwhile by default.
            background='os.environ["RELUKIT_BACKGROUND_COMPILE"] = "0"',
            arity=len(operation(function).inputs),
            # A channel input (PReLU's weight, the last input) of one slope.
            channel="arrays[-1] = np.array([0.25])" if getattr(operation(function), "channel_inputs", ()) else "",
        )
        call = f"relukit.{function}(*arrays)"
        if cache == "cached":
            # Fill the default cache in a throwaway process first.
            subprocess.run([sys.executable, "-c", setup + call], check=True)
        self.code = (call, setup)

    def timeraw_first_call(self, function, cache):
        return self.code


class TimerawStartupScript:
    """A script of first calls, as ``python -m relukit bench --startup`` runs it.

    Import, then relu, relu_grad and relu_backward on 1e3 float32, relu on a
    10x10 float64, relu and relu_grad on 1e7 float32 and relu on a strided
    view, each twice, in a fresh interpreter: written with NumPy, and with
    relukit (its defaults: kernels compiled in the background while the
    NumPy reference answers) with an empty and with a filled Numba cache.
    """

    params = [["numpy", "relukit, empty cache", "relukit, cache filled"]]
    param_names = ["written with"]
    repeat = (3, 5, 60.0)
    rounds = 1
    warmup_time = 0.0

    def setup(self, written_with):
        try:
            from relukit import _bench_startup as startup
        except ImportError:  # a commit from before the start-up bench
            raise NotImplementedError from None
        names = startup.NUMPY if written_with == "numpy" else startup.RELUKIT
        # Without the script's last line, which prints its time: asv reads
        # the time it measures from the process's output.
        code = startup.SCRIPT.format(**names).rstrip().rsplit("\n", 1)[0]
        setup = 'import os\nos.environ.pop("RELUKIT_BACKGROUND_COMPILE", None)\n'
        if written_with == "relukit, empty cache":
            setup = "import atexit, shutil, tempfile\n" + setup + _COLD_CACHE
        elif written_with == "relukit, cache filled":
            subprocess.run([sys.executable, "-c", setup + code], check=True, capture_output=True)
        self.code = (code, setup)

    def timeraw_script(self, written_with):
        return self.code
