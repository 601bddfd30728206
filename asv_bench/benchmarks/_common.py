"""What every suite shares: the operation table, inputs, calls, warm-up.

Every benchmark is generated from ``relukit._ops.OPERATIONS``: a suite
makes one class per operation (and per mode where it compares modes), named
after the operation, so adding an operation to the table adds its
benchmarks. asv imports this code from the working tree but runs it against
the relukit installed from each commit it measures; a commit without the
table gets none of the generated classes (``tools/asv_history.sh`` only
selects commits that have it).

asv matches a result to the current grid by parameter values, so values
may be added, dropped or reordered without losing history. A benchmark's
*version* is another matter: asv hides every result measured under another
one, and by default it is a hash of the benchmark's source. See
:data:`VERSIONS`.
"""

import os

import numpy as np

try:
    # Imported here so that asv's forkserver pays for it once, not once per
    # benchmark. Numba starts no threads at import, so forking stays safe.
    import numba  # noqa: F401
except ImportError:
    pass

# The suites time compiled kernels, and asv forks each benchmark from this
# process: relukit's calls here compile in the caller rather than in a
# background thread while the NumPy reference answers (relukit's default
# since its start-up work; older commits ignore the variable).
os.environ["RELUKIT_BACKGROUND_COMPILE"] = "0"

import relukit  # noqa: E402

try:
    from relukit import _ops as table
except ImportError:  # a commit from before the operation table
    table = None

#: Placeholder grid value when the installed relukit has no table.
MISSING = "(no operation table)"

#: What the suites compare (the table's other float dtype, float16, is
#: computed in float32 and would add half again to every grid).
DTYPES = ["float32", "float64"]
#: Call overhead (1e3), in cache and serial (1e5), past the thread pool's
#: default threshold of 1 MiB (1e6), memory bound (1e7).
SIZES = [10**3, 10**5, 10**6, 10**7]
#: Where the speed targets are set. Only bench_peers, in the targets' dtype
#: (a run of the rest at 1e8 would take several times longer), and
#: bench_gpu go this far; in bench_peers only for the operations of
#: LARGE_ACTIVATIONS (the smooth family's targets stop at 1e7).
LARGE = 10**8
LARGE_ACTIVATIONS = ("relu",)
LARGE_DTYPE = "float32"
#: ``RELUKIT_ASV_SMOKE=1`` is CI's smoke test (every benchmark runs once to
#: prove it works; nothing is saved): the same code on small arrays. Never
#: record results with it: the grid's values differ.
SMOKE = os.environ.get("RELUKIT_ASV_SMOKE") == "1"
if SMOKE:
    SIZES = [10**3, 10**4]
    LARGE = 10**5
#: The activations (each with its _grad and _backward) the smoke test
#: generates benchmarks for. Every operation's benchmarks come from the
#: same generated classes, so relu's (integer-capable, bit-pattern float16
#: kernels, Keras variant) and gelu's (two smooth variants, a SciPy peer)
#: run every code path of the suites; all thirty-odd operations would
#: make the smoke test ten times longer (CI's time, on two cores) and
#: prove nothing more about the suites. The peers of every operation are
#: not run here: run each once with the bench (``python -m relukit bench
#: --ops all --sizes 1e3 --repeat 1``).
SMOKE_ACTIVATIONS = ("relu", "gelu")
#: Elements of the PeakMem inputs (float64: 80 MB per array).
LARGEST = max(SIZES)

#: mode -> (class name suffix, method name suffix). The allocating mode has
#: none, so its benchmarks keep the names they had before the table.
MODES = {"allocating": ("", ""), "out": ("Out", "_out"), "in_place": ("InPlace", "_in_place")}
#: relukit's value of the ``implementation`` parameter, always the first.
RELUKIT = "relukit"

#: asv versions kept from the suites of ``relukit._registry`` for the
#: benchmarks that still measure the same thing (same name, parameters
#: matched by value), so that their graphs keep the results recorded before
#: the table. Delete a line when its benchmark changes meaning: it then
#: starts a new history under the hash of its code.
VERSIONS = {
    "bench_relu.TimeRelu.time_relu":
        "af269470c937f502fa279346f40cdf8a14c9c3132c3bab7f9aa791f8d3f35fb6",
    "bench_relu.TimeReluGrad.time_relu_grad":
        "666e4ff82e77082db1e2e88c4c7af69c82011bd4fc12fe570d73086fc6a062d3",
    "bench_relu.TimeReluBackward.time_relu_backward":
        "4e1ab05730bfb0bb6c3944132c82f1cbd47c75e5a458ca1b6c63f2c5e8c894ea",
    "bench_relu.TimeReluInPlace.time_relu_in_place":
        "a2ef8c896dbdba9a98fbe390b3669d8c90d6379bf17739d22c1cbce0cd440e13",
    "bench_peers.PeersRelu.time_relu":
        "b6ecad534ff8bdc8efd0bfced95cfbb6873e3c73f8cabfd054be3a0c0058d77e",
    "bench_peers.PeersReluGrad.time_relu_grad":
        "71b0f7c3cef4d681db2f2e7f6d0831b611e4481d4468a0939095c605175da3ea",
    "bench_peers.PeersReluBackward.time_relu_backward":
        "9f7c9f1857f3a8f1e523886fe8f6b59d336c05ee138d1ca5762c5b6a6dee569f",
    "bench_dask.TimeDaskRelu.time_relu":
        "aa700a60ef3d58e65556d6b9e83da9cd00b4673c8eb15666f173d725ef5b17cb",
}


def _activation(name):
    return name.replace("_backward", "").replace("_grad", "")


if table is not None:
    OPERATIONS = table.OPERATIONS
    if SMOKE:
        OPERATIONS = tuple(op for op in OPERATIONS if _activation(op.name) in SMOKE_ACTIVATIONS)
    FUNCTIONS = [op.name for op in OPERATIONS]
else:
    OPERATIONS = ()
    FUNCTIONS = [MISSING]


def require_table():
    """Skip (``NotImplementedError``) on commits without the table."""
    if table is None:
        raise NotImplementedError("this relukit commit has no relukit._ops")
    return table


def operation(name):
    return require_table().BY_NAME[name]


def default_backend():
    """The backend relukit picks for NumPy arrays when the caller names none."""
    from relukit import _backends

    return _backends.default_for("numpy")


def cpu_backends():
    """The table's CPU backends, the default first.

    asv's graph page opens on the first value of every parameter: it should
    show what users run, not the NumPy reference.
    """
    if table is None:
        return [MISSING]
    default = default_backend()
    return sorted(table.CPU_BACKENDS, key=lambda backend: backend != default)


def parameter_sets(op):
    """One parameter set per variant of ``op``: the first that sets the most parameters.

    A variant is one kernel, so one set covers it; the one that sets every
    parameter runs every piece of it.
    """
    chosen = {}
    for name, values in op.parameter_sets.items():
        variant = op.choose(op.check({**op.defaults, **values}))
        if variant not in chosen or len(values) > len(op.parameter_sets[chosen[variant]]):
            chosen[variant] = name
    return [name for name in op.parameter_sets if name in chosen.values()]


def keyword_arguments(op, parameter_set=None, backend=None):
    """The call's keywords (the defaults without ``parameter_set``).

    The default backend is not named, as users do not name it: naming it
    would skip the small-call fast path that ``relukit.relu(x)`` takes.
    """
    kwargs = dict(op.parameter_sets[parameter_set]) if parameter_set else {}
    if backend is not None and backend != default_backend():
        kwargs["backend"] = backend
    return kwargs


def sample(size, dtype, seed, block=10**5):
    """``size`` values spread around the kink, from ``seed``.

    Both signs, zeros and values above ``max_value`` occur, so every piece
    of every kernel runs. The kernels are branch-free selects, so timings
    do not depend on the values, and in-place calls may change them. One
    block of random values is repeated: 1e8 normal draws would take longer
    than the benchmark. In place, no temporaries: the peakmem benchmarks
    count on the setup never holding more memory than the arrays it returns.
    """
    a = np.empty(size, dtype)
    head = a[:block]
    np.random.default_rng(seed).standard_normal(out=head, dtype=a.dtype)
    head *= 4.0
    for start in range(block, size, block):
        a[start : start + block] = head[: size - start]
    return a


def inputs(op, size, dtype):
    """The array inputs of ``op`` (``(x,)`` or ``(dy, x)``), ``size`` elements each."""
    return op.make_inputs(lambda seed: sample(size, dtype, seed))


def _result_like(op, args):
    return args[op.inputs.index(op.result_like)]


def relukit_call(op, mode, args, kwargs):
    """``call()`` running relukit's ``op`` in ``mode`` on ``args``.

    ``out``: into an array allocated here; ``in_place``: into the input the
    result takes its dtype from (``x``, or ``dy`` for ``relu_backward``).
    """
    func = getattr(relukit, op.name)
    if mode == "allocating":
        return lambda: func(*args, **kwargs)
    like = _result_like(op, args)
    out = like if mode == "in_place" else np.empty_like(like)
    return lambda: func(*args, out=out, **kwargs)


def peer_call(op, mode, label, args):
    """``call()`` running the peer ``label`` of ``op`` in ``mode`` on ``args``.

    ``NotImplementedError`` (asv: skipped) when the peer is not installed.
    ``np.empty_like`` makes ``out`` of the inputs' kind (CuPy's for CuPy
    arrays, through NumPy's function protocol).
    """
    peer = op.peers(mode).get(label)
    if peer is None:
        raise NotImplementedError(f"{label} is not available here")
    if mode == "out":
        out = np.empty_like(_result_like(op, args))
        return lambda: peer(*args, out)
    return lambda: peer(*args)


def implementations(op, mode):
    """relukit first, then every peer of ``op`` in ``mode`` found here."""
    return [RELUKIT, *op.peers(mode)]


def camel(name):
    """``relu_grad`` -> ``ReluGrad``."""
    return "".join(part.capitalize() for part in name.split("_"))


def generate(namespace, base, class_name, method_name, **attributes):
    """Define ``class_name(base)`` in ``namespace`` with one ``method_name`` timing ``_call``.

    The method carries its kept version (:data:`VERSIONS`), if it has one.
    """

    # asv's default version of every benchmark made here is a hash of this
    # method's source and of Prepared.setup: edit either, and the results
    # recorded so far vanish from the dashboard.
    def method(self, *params):
        self._call()

    method.__name__, method.__qualname__ = method_name, f"{class_name}.{method_name}"
    suite = namespace["__name__"].rpartition(".")[2]
    version = VERSIONS.get(f"{suite}.{class_name}.{method_name}")
    if version is not None:
        method.version = version
    attributes[method_name] = method
    cls = type(class_name, (base,), {"__module__": namespace["__name__"], **attributes})
    namespace[class_name] = cls
    return cls


def _load_kernels():
    """Load relukit's CPU kernels in asv's forkserver, before it forks.

    Every benchmark runs in a process forked from the one that imported
    this module, so kernels loaded here (from Numba's on-disk cache, or
    compiled) serve all of them; otherwise each of some hundred processes
    loads its own, for about a second on two cores. Small arrays only: they
    run serially, so no thread exists at the fork. A failure is left for the
    benchmarks themselves to report.
    """
    try:
        for op in OPERATIONS:
            for dtype in DTYPES:
                args = inputs(op, 1000, dtype)
                for parameter_set in parameter_sets(op):
                    for mode in MODES:
                        relukit_call(op, mode, args, keyword_arguments(op, parameter_set))()
    except Exception:
        pass


_load_kernels()


class Prepared:
    """Base for suites whose ``prepare`` is costly: run it once per parameters.

    This asv runner re-runs ``setup`` before every timed call. ``prepare``
    makes the inputs and calls the function once untimed, since Numba
    compiles (or loads from its cache) on first use, for each driver: small
    and large calls take different ones.
    """

    _prepared_for = None
    # Two cores and hundreds of cases: one process per case, at least three
    # samples, at most about a second of sampling each.
    rounds = 1
    repeat = (3, 10, 1.0)

    def setup(self, *params):
        if self._prepared_for != params:
            self.prepare(*params)
            self._prepared_for = params

    def prepare(self, *params):
        raise NotImplementedError
