"""Every operation on 1e8-element float32 Dask arrays, next to its peers.

One class per operation of the table, ``TimeDask<Op>.time_<op>``
(``TimeDaskRelu.time_relu``): ``relukit.<op>`` and each allocating peer of
the table that runs chunk-wise on Dask arrays (NumPy's ufuncs and
``np.where`` dispatch to Dask; peers that take only NumPy arrays are left
out). Both run on the same scheduler: Dask's threads, or a
``dask.distributed`` LocalCluster of two single-threaded worker processes
on the loopback interface. The inputs are generated on that scheduler and
held there (persisted) before any timing; each timed call persists the
result too, so what is measured is the tasks and their scheduling, not a
gather of 400 MB into the benchmark process.

Skipped (``NotImplementedError`` in ``setup``) where Dask is missing, and
the distributed case where ``distributed`` is missing.
"""

import atexit
import os

import numpy as np

import relukit

from ._common import OPERATIONS, Prepared, camel, generate, operation, peer_call

try:
    # Imported once in asv's forkserver rather than in every benchmark
    # process (a second or more each); neither starts a thread at import.
    import dask
    import dask.array as da
    from dask.graph_manipulation import clone
except ImportError:
    dask = da = clone = None
try:
    import distributed
except ImportError:
    distributed = None

#: Elements of each input, float32: 400 MB.
SIZE = 10**8
#: Chunk sizes (elements): 4 MB and 40 MB chunks, 100 and 10 tasks.
CHUNKS = [10**6, 10**7]
if os.environ.get("RELUKIT_ASV_SMOKE") == "1":  # CI's smoke test: see _common
    SIZE, CHUNKS = 10**5, [10**4, 10**5]

_cluster = {}


def _client():
    """One LocalCluster per benchmark process, closed when the process exits.

    asv runs ``setup`` and ``teardown`` around every timed sample; starting
    worker processes that often would cost more than the benchmark.
    """
    if distributed is None:
        raise NotImplementedError("distributed is not installed")
    if "client" not in _cluster:
        # Workers forked from this process start in a fraction of a second
        # with NumPy, Dask and relukit's kernels loaded, like workers that
        # have been up for a while; spawned ones take seconds each to
        # import them, in every one of some thirty benchmark processes.
        with dask.config.set({"distributed.worker.multiprocessing-method": "fork"}):
            cluster = distributed.LocalCluster(
                host="127.0.0.1",
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",  # loopback, any free port
            )
        client = distributed.Client(cluster, set_as_default=False)
        _cluster.update(cluster=cluster, client=client)
        atexit.register(cluster.close)
        atexit.register(client.close)  # runs first: atexit is last in, first out
    return _cluster["client"]


def _persist_on(client, y):
    """Return once every chunk of ``y`` exists on a worker.

    The chunks are released as soon as the caller drops the result.
    """
    with client.as_current():  # wait() looks for a current client
        distributed.wait(client.persist(y))


def _relukit_label(op):
    return f"relukit.{op.name}"


def _runs_on_dask(op, label):
    """Whether the allocating peer ``label`` builds a Dask graph (nothing is computed)."""
    tiny = op.make_inputs(lambda seed: da.ones(4, chunks=2))
    try:
        return isinstance(peer_call(op, "allocating", label, tiny)(), da.Array)
    except Exception:  # a peer for NumPy arrays only fails as it likes
        return False


def implementations(op):
    """relukit, then the peers that run on Dask arrays (all of them without Dask: skipped)."""
    peers = op.peers("allocating")
    if da is not None:
        peers = [label for label in peers if _runs_on_dask(op, label)]
    return [_relukit_label(op), *peers]


class _Dask(Prepared):
    """``function`` over every chunk of persisted float32 Dask arrays."""

    function = None
    param_names = ["implementation", "scheduler", "chunk"]
    number = 1
    repeat = (3, 10, 60.0)
    timeout = 600

    def prepare(self, implementation, scheduler, chunk):
        op = operation(self.function)
        if da is None:
            raise NotImplementedError("dask is not installed")
        if implementation == _relukit_label(op):
            self.func = getattr(relukit, op.name)
        elif _runs_on_dask(op, implementation):
            self.func = op.peers("allocating")[implementation]
        else:
            raise NotImplementedError(f"{implementation} does not run on Dask arrays")

        def make(seed):
            rng = da.random.default_rng(seed)
            return rng.standard_normal(SIZE, chunks=chunk, dtype=np.float32)

        args = op.make_inputs(make)
        if scheduler == "threads":
            self.persist = lambda y: y.persist(scheduler="threads")
            self.args = dask.persist(*args, scheduler="threads")
        else:
            client = _client()
            self.persist = lambda y: _persist_on(client, y)
            self.args = client.persist(list(args))
        self.calls = 0
        # Also loads any kernel the tasks still need, wherever they run.
        self._call()

    def _call(self):
        self.persist(self._fresh(self.func(*self.args)))

    def _fresh(self, y):
        """``y`` under keys never used before.

        Dask names a result after its inputs, so every call would reuse the
        same keys; a distributed scheduler that has not yet forgotten the
        previous result would hand it back without computing anything.
        """
        self.calls += 1
        return clone(y, omit=self.args, seed=self.calls)


for _op in OPERATIONS:
    generate(
        globals(),
        _Dask,
        f"TimeDask{camel(_op.name)}",
        f"time_{_op.name}",
        function=_op.name,
        params=[implementations(_op), ["threads", "distributed"], CHUNKS],
    )
