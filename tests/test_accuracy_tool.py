"""tools/accuracy.py keeps working: a tiny run on one operation, and its pieces.

The full run (minutes; its results are docs/_data/accuracy.json) is not
repeated here: this runs the same code on a few hundred float32 inputs of
one activation, in-process, and checks the rounding and the ulp counting
on values whose answers are known.
"""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpmath")

TOOL = Path(__file__).resolve().parents[1] / "tools" / "accuracy.py"


@pytest.fixture(scope="module")
def accuracy():
    # Loaded by path: tools/ is not a package.
    spec = importlib.util.spec_from_file_location("relukit_accuracy_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._init_worker(module.DIGITS)
    return module


def test_every_activation_has_a_definition(accuracy):
    families, unmeasured = accuracy.activations()
    # Operations without a definition are reported, never silently skipped;
    # the ones that take only x must all be measured.
    from relukit._ops import BY_NAME

    assert all(len(BY_NAME[name].inputs) > 1 or "_backward" in name for name in unmeasured if name in BY_NAME)
    assert {"relu", "elu", "gelu", "softplus", "squared_relu"} <= set(families)


def test_round_exact(accuracy):
    _, mpf = accuracy._mp()
    # 1 + 2**-24 is the midpoint of 1 and the next float32: ties to even.
    assert accuracy.round_exact(1 + mpf(2) ** -24, "float32") == (1.0, 0.5, accuracy.ORDINARY)
    rounded, remainder, klass = accuracy.round_exact(1 + 3 * mpf(2) ** -25, "float32")
    assert (rounded, remainder) == (1 + 2.0**-23, -0.25)
    # Half the smallest subnormal rounds to 0 (even), a bit more to it.
    tiny = float(np.finfo(np.float16).smallest_subnormal)
    assert accuracy.round_exact(mpf(tiny) / 2, "float16")[0] == 0.0
    assert accuracy.round_exact(mpf(tiny) * 0.51, "float16")[0] == tiny
    # Rounding up past the largest float gives inf, measured from 2**(emax+1).
    big = accuracy.round_exact(mpf(65520), "float16")
    assert big[0] == math.inf and big[1] == -0.5
    assert accuracy.round_exact(mpf(2) ** 16, "float16")[2] == accuracy.INF
    assert accuracy.round_exact(mpf(0), "float64")[2] == accuracy.ZERO
    assert accuracy.round_exact(math.nan, "float64")[2] == accuracy.NAN


def test_compare_counts_floats(accuracy):
    one = np.float32(1)
    values = np.array([one, np.nextafter(one, 2, dtype=np.float32), np.float32(np.inf), np.nan], np.float32)
    rounded = np.array([1.0, 1.0, float(np.finfo(np.float32).max), 0.0])
    remainder = np.zeros(4)
    klass = np.array([accuracy.ORDINARY] * 3 + [accuracy.ZERO])
    c = accuracy.compare(values, rounded, remainder, klass)
    # inf is the float after the largest one; NaN where 0 is exact fails.
    assert c["ulp"][:3].tolist() == [0.0, 1.0, 1.0]
    assert c["fail"].tolist() == [False, False, False, True]
    # Across zero: -tiniest to +tiniest is 2 floats.
    t = np.finfo(np.float32).smallest_subnormal
    c = accuracy.compare(np.array([-t], np.float32), np.array([float(t)]), np.zeros(1), np.zeros(1, int))
    assert c["ulp"].tolist() == [2.0]


def test_tiny_run(accuracy, tmp_path):
    out = tmp_path / "accuracy.json"
    assert accuracy.main(
        # The NumPy backend only: Numba's compilation would take most of
        # the time, and the tool treats both backends alike.
        ["--ops", "elu", "--dtypes", "float32", "--float32-points", "300", "--processes", "1",
         "--other-sets", "0.2", "--backends", "numpy", "--quiet", "--json", str(out)]
    ) == 0
    report = json.loads(out.read_text())
    assert report["command"].startswith("python tools/accuracy.py --ops elu")
    assert report["method"] and report["versions"]["numpy"] == np.__version__
    ops = {(r["operation"], r["parameter_set"], r["backend"]) for r in report["results"]}
    assert ("elu_backward", "alpha_0.5", "numpy") in ops and len(ops) == 6
    for r in report["results"]:
        assert r["points"] > 0 and r["failures"] == 0, r
        # float64 evaluation rounded once: within 2 ulps of float32.
        assert r["worst_ulp"] <= 2, r
