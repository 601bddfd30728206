"""Input factories over dtype, shape and layout, the table seen by the tests, and the
rule for comparing with the reference."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

import pytest

import relukit
from relukit._ops import BY_NAME, CPU_BACKENDS, FLOAT_DTYPES, INT_DTYPES, OPERATIONS
from relukit._ops.relu import OPERATIONS as RELU_OPERATIONS
from relukit._ops.smooth import OPERATIONS as SMOOTH_OPERATIONS

__all__ = [
    "BY_NAME",
    "CPU_BACKENDS",
    "FLOAT_DTYPES",
    "INT_DTYPES",
    "OPERATIONS",
    "RELU_OPERATIONS",
    "SMOOTH_OPERATIONS",
]


def public(op):
    """The public function generated for operation ``op``.

    For a backward pass that also returns its channel input's gradient
    (``prelu_backward``: ``(dx, dweight)``), a function that returns ``dx``
    only, so that the tests of every operation's main result apply to it;
    ``tests/test_prelu.py`` checks the pair.
    """
    function = getattr(relukit, op.name)
    if op.channel_gradient is None:
        return function

    def main_result(*args, **kwargs):
        return function(*args, **kwargs)[0]

    return main_result


def kwargs_of(op, params_name):
    """The keyword arguments of ``op``'s parameter set ``params_name``.

    Parameters
    ----------
    op : Operation
    params_name : str
        A key of ``op.parameter_sets``; every operation has ``"plain"``
        (its defaults).

    Returns
    -------
    dict
    """
    if params_name not in op.parameter_sets:
        # Not a skip: a test asking for a set the table does not declare is
        # a test that has not been generalized from relu.
        raise KeyError(f"{op.name} has no parameter set {params_name!r}")
    return op.parameter_sets[params_name]


def int_ok(op) -> bool:
    """True when some variant of ``op`` accepts integer ``x`` (plain ReLU only)."""
    return any(v.int_ok for v in op.variants.values())


def richest_parameter_set(op) -> str:
    """The name of ``op``'s parameter set that sets the most parameters.

    Tests that afford only two parameter sets per operation take ``"plain"``
    and this one: for relu it is ``"all"`` (every parameter set), for gelu
    ``"tanh"`` (the other formula), for ops without parameters ``"plain"``.
    """
    return max(op.parameter_sets, key=lambda name: len(op.parameter_sets[name]))


def plain_and_richest(op):
    """``["plain"]`` plus :func:`richest_parameter_set` where it differs."""
    richest = richest_parameter_set(op)
    return ["plain"] if richest == "plain" else ["plain", richest]


#: The operations that stand for their kind where a test runs a full cross
#: product on a subset: relu's three (select bodies, float16 bit patterns,
#: integers, six parameter sets) and gelu's three (widening bodies through
#: libm, two formulas). What the other operations add is their formula,
#: which the thinner sweeps still run on every dtype and backend.
REPRESENTATIVE = ("relu", "relu_grad", "relu_backward", "gelu", "gelu_grad", "gelu_backward")

#: Every operation, as pytest params.
FUNCTIONS = [pytest.param(op, id=op.name) for op in OPERATIONS]

#: Every operation with each of its own parameter sets, as pytest params.
OP_PARAMS = [
    pytest.param(op, name, id=f"{op.name}-{name}")
    for op in OPERATIONS
    for name in op.parameter_sets
]

#: Every operation with "plain" and its richest parameter set.
OP_PLAIN_AND_RICHEST = [
    pytest.param(op, name, id=f"{op.name}-{name}")
    for op in OPERATIONS
    for name in plain_and_richest(op)
]

SHAPES = [(), (0,), (1,), (7,), (3, 5), (2, 3, 4), (64, 33)]
LAYOUTS = ["C", "F", "strided", "reversed", "byteswapped"]

#: Values every input contains some of: the special floats, relu's kinks
#: (0, the parameter sets' 0.5 and 6), hardswish's (+-3), softplus'
#: thresholds (beta * x == threshold at 20 and at 5 for beta=2, threshold=10),
#: where exp(x) underflows in the negative pieces (-40 below float32's
#: range, -750 below float64's) and where squares overflow float16 (1e4).
SPECIALS = [
    np.nan, -np.nan, np.inf, -np.inf, -0.0, 0.0, 0.5, -0.5, 6.0, 1e-3, -1e-3,
    3.0, -3.0, 5.0, 20.0, -40.0, 750.0, -750.0, 1e4, -1e4,
]


def make_array(shape, dtype, layout, seed=0):
    """An array of ``shape``/``dtype`` laid out as ``layout``, with special values.

    Parameters
    ----------
    shape : tuple of int
    dtype : dtype-like
        Floating arrays mix normal samples (scale 4) with :data:`SPECIALS`;
        integer arrays hold values in [-1000, 1000] and the type's extremes.
    layout : {"C", "F", "strided", "reversed", "byteswapped"}
    seed : int

    Returns
    -------
    numpy.ndarray
    """
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    # Build a bigger parent so that the strided/reversed views have ``shape``.
    parent_shape = list(shape)
    if layout == "strided" and shape:
        parent_shape[-1] *= 2
    size = int(np.prod(parent_shape))
    if dtype.kind == "f":
        values = rng.standard_normal(size) * 4
        specials = np.array(SPECIALS)
        picks = rng.random(size) < 0.3
        values[picks] = rng.choice(specials, picks.sum())
    else:
        info = np.iinfo(dtype)
        values = rng.integers(max(info.min, -1000), min(info.max, 1000), size, endpoint=True)
        values = values.astype(dtype)
        if size:  # the extremes of the type, where a sign test could overflow
            values[: min(size, 2)] = np.array([info.min, info.max], dtype=dtype)[: min(size, 2)]
    with np.errstate(over="ignore"):  # 750 and 1e4 are inf in float16, as intended
        parent = values.astype(dtype).reshape(parent_shape)
    # copy(order=...) keeps 0-d arrays 0-d (np.ascontiguousarray would not).
    if layout == "C":
        return parent.copy(order="C")
    if layout == "F":
        return parent.copy(order="F")
    if layout == "strided":
        return parent[..., ::2] if shape else parent
    if layout == "reversed":
        return parent[::-1] if shape else parent
    if layout == "byteswapped":
        return parent.astype(dtype.newbyteorder(">" if dtype.isnative and np.little_endian else "<"))
    raise ValueError(layout)


def make_inputs(op, shape, dtype, layout="C", *, seed=1, dy_dtype=None, device=None):
    """The array inputs of a call of ``op``, in call order: the one builder of the tests.

    The operation's own ``make_inputs`` says which inputs there are and how
    they are made from sample arrays (one seed per input), so a new kind of
    operation needs no new builder here.

    Parameters
    ----------
    op : Operation
    shape, dtype, layout
        Of every sample array (see :func:`make_array`); ``dtype`` is ``x``'s.
    seed : int, default 1
        Input ``k`` of the declaration's factory gets ``seed + k``.
    dy_dtype : dtype-like, optional
        ``dy``'s dtype, where there is one; default ``dtype`` when it is
        floating, else float64 (``dy`` is never an integer array).
    device : callable, optional
        Applied to every input: e.g. ``(array, layout) -> device array`` for
        the GPU tests, which build on the host with ``layout="C"``.

    Returns
    -------
    tuple of arrays
    """
    inputs = list(op.make_inputs(lambda k: make_array(shape, dtype, layout, seed=seed + k)))
    if "dy" in op.inputs:
        if dy_dtype is None:
            dy_dtype = dtype if np.dtype(dtype).kind == "f" else "float64"
        position = op.inputs.index("dy")
        if inputs[position].dtype.newbyteorder("=") != np.dtype(dy_dtype):
            inputs[position] = make_array(shape, dy_dtype, layout, seed=seed + 100)
    if device is not None:
        inputs = [device(a) for a in inputs]
    return tuple(inputs)


def assert_matches_reference(result, expected, ulps=0):
    """Within ``ulps`` units in the last place of the reference, NaN where it is NaN.

    Parameters
    ----------
    result, expected : array_like
        Same shape and dtype (up to byte order).
    ulps : int, default 0
        The operation's ``Operation.ulps``: 0 where every backend selects
        and rounds once the same float64 value (then the values must be
        equal, up to the sign of zero and NaN's payload), a few where each
        backend calls its own libm before the one rounding.

    Notes
    -----
    The unit is ``np.spacing(|expected|)`` in the result dtype. Near 0 it
    is floored at the spacing of the smallest normal number (which IEEE
    makes the spacing of every subnormal too), so a 0 in the reference may
    meet a subnormal of at most ``ulps`` steps, and a subnormal is judged
    on the same absolute grid as its neighbours: a one-step libm
    difference in float64 becomes at most one step after the rounding,
    never a relative error. Infinities must match exactly (``spacing(inf)``
    is NaN, and an overflow on one backend only is a bug).
    """
    floor = np.broadcast_to(getattr(expected, "floor", 0.0), np.shape(expected))
    result, expected = np.asarray(result), np.asarray(expected)
    assert result.shape == expected.shape
    assert result.dtype.newbyteorder("=") == expected.dtype.newbyteorder("=")
    if result.dtype.kind != "f":
        np.testing.assert_array_equal(result, expected)
        return
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(result), nan, err_msg="NaN positions differ")
    got, want, floor = result[~nan], expected[~nan], floor[~nan]
    infinite = np.isinf(want)
    np.testing.assert_array_equal(got[infinite], want[infinite], err_msg="infinities differ")
    if ulps == 0:
        differ = np.flatnonzero(got != want)
    else:
        dtype = want.dtype.newbyteorder("=")
        tiny = np.finfo(dtype).tiny
        magnitude = np.where(infinite, tiny, np.abs(want.astype(dtype)))
        with np.errstate(invalid="ignore", over="ignore"):
            magnitude = np.maximum(np.maximum(magnitude, dtype.type(tiny)), floor.astype(dtype))
            unit = np.spacing(magnitude)
            # spacing() of the largest finite number overflows: take the step below it.
            unit = np.where(np.isinf(unit), magnitude - np.nextafter(magnitude, 0), unit).astype(np.float64)
            # In float64: the difference of two float16 or float32 values is exact there.
            gap = np.abs(got.astype(np.float64) - want.astype(np.float64))
        differ = np.flatnonzero(~infinite & ~(gap <= ulps * unit))
    assert differ.size == 0, (
        f"{differ.size} of {want.size} values differ from the reference by more than "
        f"{ulps} ulps, e.g. at {differ[:5]}: {got[differ[:5]].tolist()} vs {want[differ[:5]].tolist()}"
    )


class Expected(np.ndarray):
    """A reference result that carries the magnitude its ulps are counted of.

    ``floor`` is 0, or for operations whose terms cancel
    (``Operation.cancels``) the size of those terms: 1, times ``|dy|`` for
    a backward pass. :func:`assert_matches_reference` reads it.
    """

    floor = 0.0


def reference(op, inputs, params_name):
    """The NumPy reference backend's result for ``op`` on ``inputs``, as :class:`Expected`."""
    kwargs = kwargs_of(op, params_name)
    expected = np.asarray(public(op)(*inputs, backend="numpy", **kwargs)).view(Expected)
    if op.cancels:
        floor = 1.0
        if "dy" in op.inputs:
            dy = np.asarray(inputs[op.inputs.index("dy")], dtype=np.float64)
            with np.errstate(invalid="ignore"):
                floor = np.where(np.isfinite(dy), np.abs(dy), 0.0)
        expected.floor = np.broadcast_to(floor, expected.shape)
    return expected


def run_read_only_install(tmp_path, code, env_extra=None, timeout=300):
    """Run ``code`` against a copy of relukit with no writable Numba cache anywhere.

    The package is copied under ``tmp_path/site``; a file stands where the
    package's ``__pycache__`` and the user cache folders must go (which
    works even for root, who ignores permission bits). ``code`` must print
    ``ok`` and ``relukit.__file__``; both are checked.
    """
    source = Path(relukit.__file__).resolve().parent
    package = tmp_path / "site" / "relukit"
    shutil.copytree(source, package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "__pycache__").write_text("not a folder")
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    env = {**os.environ, "NUMBA_CACHE_DIR": "", "HOME": str(blocker),
           "XDG_CACHE_HOME": str(blocker / "cache"), "PYTHONPATH": str(tmp_path / "site"),
           **(env_extra or {})}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            capture_output=True, text=True, timeout=timeout, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ok" in result.stdout and str(tmp_path) in result.stdout
