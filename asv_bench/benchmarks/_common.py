"""What every suite shares: the registry (or its absence), inputs, warm-up.

asv imports this benchmark code from the working tree but runs it against
the relukit installed from each commit it measures. Commits older than the
registry have none, so everything that reads it is guarded here and a suite
that needs it raises ``NotImplementedError`` in ``setup`` (asv: skipped).

The grids are the registry's lists, thinned where the full product would
make one run over a commit take more than a few minutes on two cores.
asv identifies a parameter combination by its position in the grid: if a
registry list changes, benchmark older commits again rather than mixing
results (see docs/user_guide/benchmarking.rst).
"""

import numpy as np

try:
    # Imported here so that asv's forkserver pays for it once, not once per
    # benchmark. Numba starts no threads at import, so forking stays safe.
    import numba  # noqa: F401
except ImportError:
    pass

try:
    from relukit import _registry as registry
except ImportError:  # a commit from before the registry
    registry = None

#: Placeholder grid value when the installed relukit has no registry.
MISSING = "(no registry)"


if registry is not None:
    FUNCTIONS = [spec.name for spec in registry.FUNCTIONS]
    # The ends of the registry's sweep: call overhead (1e3) and memory bound
    # (1e7). Every size in between costs a minute per commit on two cores.
    SIZES = [min(registry.BENCH_SIZES), max(registry.BENCH_SIZES)]
    LARGEST = max(registry.BENCH_SIZES)
    DTYPES = list(registry.FLOAT_DTYPES)
    BACKENDS = list(registry.CPU_BACKENDS)
    # The Numba backend has one kernel for plain ReLU and one for the whole
    # Keras family, so one Keras set covers it: "all" sets every parameter.
    PARAMETER_SETS = [name for name in registry.PARAMETER_SETS if name in ("plain", "all")]
else:
    FUNCTIONS = SIZES = DTYPES = BACKENDS = PARAMETER_SETS = [MISSING]
    LARGEST = MISSING


def require_registry():
    """Skip (``NotImplementedError``) on commits without the registry."""
    if registry is None:
        raise NotImplementedError("this relukit commit has no relukit._registry")
    return registry


def spec_of(function):
    return require_registry().BY_NAME[function]


def keyword_arguments(parameter_set, backend=None):
    kwargs = dict(require_registry().PARAMETER_SETS[parameter_set])
    if backend is not None:
        kwargs["backend"] = backend
    return kwargs


def inputs(arity, size, dtype):
    """``arity`` arrays of ``size`` values spread around the kink.

    Both signs, zeros and values above ``max_value`` occur, so every piece
    of every kernel runs. The kernels are branch-free selects, so timings
    do not depend on the values, and in-place calls may change them.
    """
    rng = np.random.default_rng(20240601)
    arrays = []
    for _ in range(arity):
        # In place, no temporaries: the peakmem benchmarks count on the
        # setup never holding more memory than the arrays it returns.
        a = rng.standard_normal(size, dtype=np.float32 if dtype == "float16" else dtype)
        a *= 4.0
        arrays.append(a.astype(dtype, copy=False))
    return arrays


class Prepared:
    """Base for suites whose ``prepare`` is costly: run it once per parameters.

    This asv runner re-runs ``setup`` before every timed call. ``prepare``
    makes the inputs and calls the function once untimed, since Numba
    compiles (or loads from its cache) on first use, for each driver: small
    and large calls take different ones.
    """

    _prepared_for = None
    # Two cores and a 96-case grid: one process per case, at least three
    # samples, at most about a second of sampling each.
    rounds = 1
    repeat = (3, 10, 1.0)

    def setup(self, *params):
        if self._prepared_for != params:
            self.prepare(*params)
            self._prepared_for = params

    def prepare(self, *params):
        raise NotImplementedError
